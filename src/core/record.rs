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
            let error = s.note_error.as_ref().map(|f| f.error.clone()).unwrap_or_default();
            s.flash = Some((
                true,
                format!("note NOT saved ({error}); your text is still in the editor"),
            ));
        }
        EntryKind::NoteGap => {}
        _ => s.note_backlog.push(entry),
    }
}
