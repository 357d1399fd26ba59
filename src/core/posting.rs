//! Posting a status message, on the operator's key (`w` in the status
//! popup), to the `[comms]` webhook. Nothing is posted without the key; a
//! draft is never recorded as posted: the note says "posted" only with the
//! webhook's answer. "resolved" is not posted before a verified recovery.
//! Part of `update`; pure: the runtime posts (`Effect::PostStatus`).

use super::action::{BackendError, Effect};
use super::comms::Comms;
use super::entry::EntryKind;
use super::record::record;
use super::state::State;

/// Whether the incident has a verified recovery to announce: a covered
/// target whose rollback was verified, and none still failing.
fn recovered(s: &State) -> bool {
    let covered = super::status::covered(s);
    let stories: Vec<_> = covered.iter().filter_map(|t| s.incident.story(&t.name)).collect();
    stories.iter().any(|st| st.last_verified().is_some()) && stories.iter().all(|st| st.open_failure().is_none())
}

/// `w`: asks the runtime to post `text`, or says why it will not.
pub(super) fn post(s: &mut State, which: Comms, text: &str, fx: &mut Vec<Effect>) {
    let Some(host) = s.settings.webhook.clone() else {
        s.flash = Some((true, "no webhook to post to: set [comms] webhook_url in the config".into()));
        return;
    };
    if which == Comms::Resolved && !recovered(s) {
        s.flash = Some((true, "\"resolved\" is posted only after a verified recovery: no covered target's rollback is verified yet".into()));
        return;
    }
    // A drill's message reaches real people: it says it is a drill.
    let text = match s.settings.mode {
        super::model::Mode::Rehearsal => format!("[REHEARSAL: a drill, not a real incident]\n{text}"),
        super::model::Mode::Demo => format!("[rbtui DEMO: simulated, not a real incident]\n{text}"),
        _ => text.to_string(),
    };
    s.flash = Some((false, format!("posting the {} message to {host}…", which.label())));
    fx.push(Effect::PostStatus { which, text: super::redact::redact(&text) });
}

/// The webhook answered (or did not): recorded with its words either way.
pub(super) fn posted(
    s: &mut State,
    which: Comms,
    text: String,
    result: Option<Result<String, BackendError>>,
    fx: &mut Vec<Effect>,
) {
    let host = s.settings.webhook.clone().unwrap_or_else(|| "the webhook".into());
    let (err, said) = match result {
        Some(Ok(answer)) => (false, format!("status message posted ({}) to {host}: it answered {answer}", which.label())),
        Some(Err(e)) => (true, format!("status message NOT posted ({}) to {host}: {e}", which.label())),
        None => (true, format!("status message NOT posted ({}): no webhook configured", which.label())),
    };
    s.flash = Some((err, said.clone()));
    let target = match super::status::covered(s).as_slice() {
        [one] => Some(one.name.clone()),
        _ => None,
    };
    record(s, fx, EntryKind::Status, target, said, text.lines().map(|l| format!("> {l}")).collect(), None);
}
