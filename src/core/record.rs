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
    }
    s.unrecorded += 1;
    fx.push(Effect::Record(NoteEntry {
        at: s.now,
        kind,
        target,
        text,
        details,
        marker,
    }));
}
