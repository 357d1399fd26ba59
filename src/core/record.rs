//! The one way an entry reaches the note: queued here as an effect, shown
//! in the Activity pane only once the runtime says it is on disk.

use super::action::{Effect, NoteEntry};
use super::entry::EntryKind;
use super::state::State;

/// Queues a note entry. Only `Recorded` puts it in the activity pane.
pub(super) fn record(
    s: &mut State,
    fx: &mut Vec<Effect>,
    kind: EntryKind,
    target: Option<String>,
    text: String,
    details: Vec<String>,
    marker: Option<super::entry::Marker>,
) {
    // The incident model is built from the same markers the note keeps
    // (and `--resume` replays): what the screen derives is what the note says.
    if let Some(m) = &marker {
        s.incident.apply(s.now, m);
        // What History shows follows at once (a verified landing is the
        // last known good from this entry on, not from the next read).
        if let Some(t) = m.target() {
            let raw = s.row(t).and_then(|r| r.platform_history.clone());
            if let Some(h) = raw {
                let shown = s.incident.overlay(h);
                s.row_mut(t).history = Some(shown);
            }
        }
    }
    let e = NoteEntry {
        at: s.now,
        kind,
        target,
        text,
        details,
        marker,
    };
    // While the note refuses writes, entries wait in order behind the
    // ones already held: the note's order is the incident's order (a
    // newer entry must never land before an older one, or `--resume`
    // would replay another story).
    if s.note_error.is_some() {
        return hold(s, e);
    }
    s.unrecorded += 1;
    fx.push(Effect::Record(e));
}

/// Asks the runtime to write an entry now, past the hold: the retry of
/// held entries and the operator's own text (its markers, if any, were
/// applied when it was first recorded).
pub(super) fn write_now(s: &mut State, fx: &mut Vec<Effect>, e: NoteEntry) {
    s.unrecorded += 1;
    fx.push(Effect::Record(e));
}

/// Keeps an entry the note cannot take now, to be written late in order.
/// Operator text goes back to its editor instead (it is the operator's to
/// save again), and a heading of late entries is made anew at the retry.
pub(super) fn hold(s: &mut State, entry: NoteEntry) {
    match entry.kind {
        EntryKind::Note => {
            s.view.popup = Some(super::state::Popup::Notes);
            let error = s
                .note_error
                .as_ref()
                .map(|f| f.error.clone())
                .unwrap_or_default();
            s.flash = Some((
                true,
                format!("note NOT saved ({error}); your text is still in the editor"),
            ));
        }
        EntryKind::NoteGap => {}
        _ => s.note_backlog.push(entry),
    }
}

/// An entry is on disk: the Activity pane shows it. The note works again
/// once every held entry reached the disk (not at the first that did):
/// header and footer agree.
pub(super) fn recorded(s: &mut State, r: super::action::Recorded) {
    s.unrecorded = s.unrecorded.saturating_sub(1);
    s.activity.push(r);
    let caught_up = s.note_backlog.is_empty() && s.unrecorded == 0;
    if caught_up && s.note_error.take().is_some() {
        s.flash = Some((false, "the note takes writes again".into()));
    }
}

/// The note refused an entry: keep it for later, stop the plan at its next
/// step, and give operator text back to the editor.
pub(super) fn record_failed(s: &mut State, entry: NoteEntry, error: String) {
    s.unrecorded = s.unrecorded.saturating_sub(1);
    let now = s.now;
    match &mut s.note_error {
        Some(f) => f.error = error.clone(),
        None => {
            s.note_error = Some(super::state::NoteFailure {
                error: error.clone(),
                since: now,
                retried_at: now,
            })
        }
    }
    for run in s.runs.iter_mut().filter(|r| r.in_flight()) {
        run.halt_with(super::state::Halt::Note(error.clone()));
    }
    hold(s, entry);
}

/// The operator's own words: they try the note at once (after what it
/// holds, in order); if it still cannot take them they stay in the editor
/// (`record::hold`), never silently queued.
pub(super) fn note_submitted(s: &mut State, text: String, fx: &mut Vec<Effect>) {
    s.view.popup = None;
    let text = text.trim_end().to_string();
    if text.is_empty() {
        return;
    }
    if s.note_error.is_some() {
        retry_note(s, fx, true);
    }
    let mut lines = text.lines().map(str::to_string);
    let first = lines.next().unwrap_or_default();
    write_now(
        s,
        fx,
        NoteEntry {
            at: s.now,
            kind: EntryKind::Note,
            target: s.view.selected.clone(),
            text: first,
            details: lines.collect(),
            marker: None,
        },
    );
}

/// While the note fails, tries again every few seconds (at once when
/// `now`): a heading that says writes failed, then every entry that
/// missed the note, in order, each with its own time.
pub(super) fn retry_note(s: &mut State, fx: &mut Vec<Effect>, now_please: bool) {
    const EVERY_SECS: i64 = 5;
    let now = s.now;
    let Some(f) = s.note_error.as_mut() else {
        return;
    };
    if !now_please && (now - f.retried_at).num_seconds() < EVERY_SECS {
        return;
    }
    f.retried_at = now;
    let (since, error) = (f.since, f.error.clone());
    let late = std::mem::take(&mut s.note_backlog);
    let gap = NoteEntry {
        at: now,
        kind: EntryKind::NoteGap,
        target: None,
        text: format!(
            "the note could not be written from {} ({error}); {} entries below are written late, each with its own time",
            super::fmt::hms(since),
            late.len()
        ),
        details: vec![],
        marker: None,
    };
    for e in std::iter::once(gap).chain(late) {
        write_now(s, fx, e);
    }
}
