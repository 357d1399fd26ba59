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
    s.last_words = words(&text, &details);
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

/// An entry's words as one line: its text, then its details.
pub(super) fn words(text: &str, details: &[String]) -> String {
    if details.is_empty() {
        return text.to_string();
    }
    format!("{text}: {}", details.join("; "))
}

/// Asks the runtime to write an entry now, past the hold: the retry of
/// held entries and the operator's own text (its markers, if any, were
/// applied when it was first recorded).
pub(super) fn write_now(s: &mut State, fx: &mut Vec<Effect>, e: NoteEntry) {
    s.last_words = words(&e.text, &e.details);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::model::Kind;
    use crate::core::testkit::*;

    fn failing() -> State {
        let h = history("web", vec![rev("1", "r/web:a", "aaaaaaa", true)]);
        let mut s = state(vec![(target("web", Kind::Kubernetes, "staging"), h)]);
        s.unrecorded = 0;
        record_failed(&mut s, entry("first"), "No space left on device".into());
        s
    }

    fn entry(text: &str) -> NoteEntry {
        NoteEntry {
            at: t0(),
            kind: EntryKind::Source,
            target: None,
            text: text.into(),
            details: vec![],
            marker: None,
        }
    }

    /// While the note fails, new entries wait behind the held ones, in
    /// order; the retry writes a heading, then them, oldest first.
    #[test]
    fn held_entries_keep_their_order_and_the_retry_heads_them() {
        let mut s = failing();
        let mut fx = vec![];
        record(
            &mut s,
            &mut fx,
            EntryKind::Source,
            None,
            "second".into(),
            vec![],
            None,
        );
        assert!(fx.is_empty(), "nothing is written past the held ones");
        let held: Vec<&str> = s.note_backlog.iter().map(|e| e.text.as_str()).collect();
        assert_eq!(held, ["first", "second"]);
        retry_note(&mut s, &mut fx, true);
        let texts: Vec<&str> = records(&fx).iter().map(|e| e.text.as_str()).collect();
        assert!(
            texts[0].contains("2 entries below are written late"),
            "{texts:?}"
        );
        assert_eq!(&texts[1..], ["first", "second"]);
    }

    /// The note works again only once every held entry is on disk: one
    /// entry landing does not clear the header's failure.
    #[test]
    fn the_failure_clears_only_when_everything_held_is_written() {
        let mut s = failing();
        let mut fx = vec![];
        retry_note(&mut s, &mut fx, true);
        assert_eq!(s.unrecorded, 2, "the heading and the held entry");
        let r = |t: &str| crate::core::action::Recorded {
            at: t0(),
            kind: EntryKind::Source,
            summary: t.into(),
        };
        recorded(&mut s, r("heading"));
        assert!(s.note_error.is_some(), "one of two on disk");
        recorded(&mut s, r("first"));
        assert!(s.note_error.is_none());
        assert!(
            s.flash
                .as_ref()
                .is_some_and(|(_, m)| m.contains("takes writes again"))
        );
    }

    /// Operator text is never queued behind a failing note: it stays in
    /// the editor, and the screen says so.
    #[test]
    fn operator_text_stays_in_its_editor_while_the_note_fails() {
        let mut s = failing();
        hold(
            &mut s,
            NoteEntry {
                kind: EntryKind::Note,
                ..entry("paged the DBA")
            },
        );
        assert!(s.note_backlog.iter().all(|e| e.kind != EntryKind::Note));
        assert_eq!(s.view.popup, Some(super::super::state::Popup::Notes));
    }
}
