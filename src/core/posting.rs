//! Posting a status message, on the operator's key (`w` in the status
//! popup), to the `[comms]` webhook. Nothing is posted without the key; a
//! draft is never recorded as posted: the note says "posted" only with the
//! webhook's answer. "resolved" is not posted before a verified recovery.
//! Part of `update`; pure: the runtime posts (`Effect::PostStatus`).

use super::action::{Attached, BackendError, Effect};
use super::comms::Comms;
use super::entry::EntryKind;
use super::entry::Marker;
use super::record::record;
use super::state::State;

/// Whether the incident has a verified recovery to announce: a covered
/// target whose rollback was verified, and none still failing.
fn recovered(s: &State) -> bool {
    let covered = super::status::covered(s);
    let stories: Vec<_> = covered
        .iter()
        .filter_map(|t| s.incident.story(&t.name))
        .collect();
    stories.iter().any(|st| st.last_verified().is_some())
        && stories.iter().all(|st| st.open_failure().is_none())
}

/// Where a status message goes: the webhook's host, the ticket.
fn destinations(s: &State) -> Option<String> {
    let d: Vec<String> = s
        .settings
        .webhook
        .iter()
        .chain(s.settings.ticket.iter())
        .cloned()
        .collect();
    (!d.is_empty()).then(|| d.join(" and "))
}

/// `w`: asks the runtime to post `text`, or says why it will not.
pub(crate) fn post(s: &mut State, which: Comms, text: &str, fx: &mut Vec<Effect>) {
    let Some(host) = destinations(s) else {
        s.flash = Some((
            true,
            "nowhere to post to: set [comms] webhook_url or [ticket] issue in the config".into(),
        ));
        return;
    };
    if which == Comms::Resolved && !recovered(s) {
        s.flash = Some((true, "\"resolved\" is posted only after a verified recovery: no covered target's rollback is verified yet".into()));
        return;
    }
    // A drill's message reaches real people: it says it is a drill.
    let text = match s.settings.mode {
        super::model::Mode::Rehearsal => {
            format!("[REHEARSAL: a drill, not a real incident]\n{text}")
        }
        super::model::Mode::Demo => format!("[rbtui DEMO: simulated, not a real incident]\n{text}"),
        _ => text.to_string(),
    };
    s.flash = Some((
        false,
        format!("posting the {} message to {host}…", which.label()),
    ));
    fx.push(Effect::PostStatus {
        which,
        text: super::redact::redact(&text),
    });
}

/// The webhook answered (or did not): recorded with its words either way.
pub(crate) fn posted(
    s: &mut State,
    which: Comms,
    text: String,
    result: Option<Result<String, BackendError>>,
    fx: &mut Vec<Effect>,
) {
    let host = destinations(s).unwrap_or_else(|| "the webhook".into());
    let (err, said) = match result {
        // Each destination's layer says what it answered.
        Some(Ok(answer)) => (
            false,
            format!(
                "status message posted ({}) to {host}: {answer}",
                which.label()
            ),
        ),
        Some(Err(e)) => (
            true,
            format!(
                "status message NOT posted ({}) to {host}: {e}",
                which.label()
            ),
        ),
        None => (
            true,
            format!(
                "status message NOT posted ({}): nowhere configured",
                which.label()
            ),
        ),
    };
    s.flash = Some((err, said.clone()));
    let target = match super::status::covered(s).as_slice() {
        [one] => Some(one.name.clone()),
        _ => None,
    };
    record(
        s,
        fx,
        EntryKind::Status,
        target,
        said,
        text.lines().map(|l| format!("> {l}")).collect(),
        None,
    );
}

/// `:attach`: asks the runtime to attach the note to the ticket.
pub(crate) fn attach(s: &mut State, fx: &mut Vec<Effect>) {
    let Some(ticket) = s.settings.ticket.clone() else {
        s.flash = Some((true, "no ticket to attach to: set [ticket] issue in the config (or run `rbtui note attach NOTE --to URL`)".into()));
        return;
    };
    s.flash = Some((false, format!("attaching the note to {ticket}…")));
    fx.push(Effect::AttachNote {
        note: s.settings.note_path.clone(),
    });
}

/// The ticket's answer: recorded either way; the comment's record (the
/// marker a later attach updates) only once it was taken.
pub(crate) fn attached(
    s: &mut State,
    result: Option<Result<Attached, BackendError>>,
    fx: &mut Vec<Effect>,
) {
    let ticket = s
        .settings
        .ticket
        .clone()
        .unwrap_or_else(|| "the ticket".into());
    match result {
        Some(Ok(a)) => {
            let (text, details, marker) = attached_entry(&ticket, &a);
            s.flash = Some((false, text.clone()));
            record(s, fx, EntryKind::Ticket, None, text, details, Some(marker));
        }
        Some(Err(e)) => {
            let text = format!("note NOT attached to {ticket}: {e}");
            s.flash = Some((true, text.clone()));
            record(s, fx, EntryKind::Ticket, None, text, vec![], None);
        }
        None => {
            s.flash = Some((
                true,
                "no ticket to attach to: set [ticket] issue in the config".into(),
            ))
        }
    }
}

/// The note's entry for an attach: what went where, the comment's record.
pub fn attached_entry(ticket: &str, a: &Attached) -> (String, Vec<String>, Marker) {
    let mut details = Vec::new();
    if !a.uploaded.is_empty() {
        details.push(format!("uploaded: {}", a.uploaded.join(", ")));
    }
    if !a.already.is_empty() {
        details.push(format!(
            "already on the ticket (not uploaded again): {}",
            a.already.join(", ")
        ));
    }
    if a.cut {
        details.push("the comment was cut at an entry to fit the system's size limit; the whole note stays here".into());
    }
    let text = format!(
        "note attached to {ticket}: comment {} {} — {}",
        a.comment,
        if a.updated {
            "updated in place"
        } else {
            "posted"
        },
        a.url
    );
    let marker = Marker::Attached {
        ticket: ticket.to_string(),
        comment: a.comment.clone(),
        url: a.url.clone(),
    };
    (text, details, marker)
}
