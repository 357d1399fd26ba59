//! Evidence of a failure, saved before it is gone: when a target turns
//! critical, and again before a rollback's first step (the rollback
//! replaces the pods or containers whose logs explain the failure). The
//! run waits for it, at most [`WAIT_SECS`]; the files are linked from the
//! note and tick the runbook's "saved logs and events" step with their
//! names. Part of `update`; pure.

use super::action::{Effect, SavedEvidence};
use super::checklist::{auto_tick, not_ticked};
use super::entry::EntryKind;
use super::plan::PlanId;
use super::record::record;
use super::runbook::AutoEvent;
use super::state::{Doing, EvidenceLook as Look, State};
use super::verdict::Severity;

/// How long a rollback waits for its evidence before it starts without it.
pub const WAIT_SECS: i64 = 20;

/// The folder beside the note the files go to.
pub fn dir(note: &str) -> String {
    format!("{note}.evidence")
}

/// Asks for the target's evidence; `plan` is the run waiting for it.
pub(super) fn request(
    s: &mut State,
    target: &str,
    plan: Option<PlanId>,
    why: &str,
    fx: &mut Vec<Effect>,
) {
    fx.push(Effect::SaveEvidence {
        target: target.into(),
        plan,
        why: why.into(),
        dir: dir(&s.settings.note_path),
        stamp: s.now.format("%H%M%S").to_string(),
    });
}

/// At most this many targets' evidence is asked for per health update: a
/// fleet-wide outage must not add a burst of log reads to a struggling
/// API server; the rest are asked on the next updates, prod first.
pub const PER_PASS: usize = 3;

/// After a verdict pass: a target that turned critical (on a fresh read)
/// has its evidence saved once; one that recovered may be saved again.
pub(super) fn on_verdicts(s: &mut State, fx: &mut Vec<Effect>) {
    if !s.settings.save_evidence {
        return;
    }
    let mut due = Vec::new();
    for (t, row) in s.table.iter_mut() {
        let fresh = row.verdict.as_ref().filter(|v| !v.stale);
        let critical = fresh.is_some_and(|v| v.severity == Severity::Critical);
        match (critical, row.evidence) {
            (true, Look::NotYet) => due.push(t.to_string()),
            (false, Look::Asked) if fresh.is_some() => row.evidence = Look::NotYet,
            _ => {}
        }
    }
    let prod = |s: &State, t: &str| s.target(t).is_some_and(|t| t.is_prod());
    due.sort_by_key(|t| (!prod(s, t), t.clone()));
    due.truncate(PER_PASS);
    for t in due {
        s.row_mut(&t).evidence = Look::Asked;
        request(s, &t, None, "it turned critical", fx);
    }
}

/// The files were written (or not): recorded with links, the runbook step
/// ticked with their names. Returns the run that waited for them, now free
/// to start its first step.
pub(super) fn saved(
    s: &mut State,
    target: String,
    plan: Option<PlanId>,
    why: String,
    result: Option<Result<Vec<SavedEvidence>, String>>,
    fx: &mut Vec<Effect>,
) -> Option<PlanId> {
    match result {
        // The platform keeps nothing rbtui can save: the step stays the
        // operator's, unsaid.
        None => {}
        Some(Ok(files)) if files.is_empty() => record(
            s,
            fx,
            EntryKind::Evidence,
            Some(target.clone()),
            format!("no evidence to save ({why}): the platform reported no logs, events or status"),
            vec![],
            None,
        ),
        Some(Ok(files)) => record_saved(s, fx, &target, &why, &files),
        Some(Err(e)) => {
            let text = format!("evidence NOT saved ({why}): {e}");
            record(
                s,
                fx,
                EntryKind::Evidence,
                Some(target.clone()),
                text.clone(),
                vec![],
                None,
            );
            not_ticked(s, fx, &target, AutoEvent::EvidenceSaved, text);
        }
    }
    plan.filter(|&id| release(s, id))
}

/// Records what was saved and what could not be read, each on its own
/// line; the step is ticked naming only the files saved, and stays open
/// (said why) when nothing was.
fn record_saved(
    s: &mut State,
    fx: &mut Vec<Effect>,
    target: &str,
    why: &str,
    files: &[SavedEvidence],
) {
    let (kept, unread): (Vec<&SavedEvidence>, Vec<&SavedEvidence>) =
        files.iter().partition(|f| f.unread.is_none());
    let mut lines: Vec<String> = kept
        .iter()
        .map(|f| {
            let name = f.path.rsplit('/').next().unwrap_or(&f.path);
            format!(
                "evidence: [{name}]({}) — {} ({} bytes{})",
                f.path,
                f.what,
                f.bytes,
                if f.cut { ", tail kept" } else { "" }
            )
        })
        .collect();
    lines.extend(unread.iter().map(|f| {
        format!(
            "NOT saved: {} — {}",
            f.what,
            f.unread.as_deref().unwrap_or_default()
        )
    }));
    let missing = if unread.is_empty() {
        String::new()
    } else {
        format!("; {} part(s) NOT saved", unread.len())
    };
    let text = format!(
        "saved what the failing revision left ({why}): {} file(s) beside the note{missing}",
        kept.len()
    );
    record(
        s,
        fx,
        EntryKind::Evidence,
        Some(target.into()),
        text.clone(),
        lines,
        None,
    );
    if kept.is_empty() {
        not_ticked(s, fx, target, AutoEvent::EvidenceSaved, text);
        return;
    }
    let names: Vec<&str> = kept
        .iter()
        .map(|f| f.path.rsplit('/').next().unwrap_or(&f.path))
        .collect();
    auto_tick(
        s,
        fx,
        target,
        AutoEvent::EvidenceSaved,
        Some(names.join(", ")),
    );
}

/// The run stops waiting for its evidence; false if it was not waiting.
/// Its first step starts when the caller says so (`run::start_step`).
fn release(s: &mut State, id: PlanId) -> bool {
    let now = s.now;
    match s.run_mut(id) {
        Some(r) if matches!(r.doing(), Some(Doing::SavingEvidence)) => {
            r.enter(0, now, Doing::Sending);
            true
        }
        _ => false,
    }
}

/// Runs that waited [`WAIT_SECS`] for their evidence start without it:
/// the rollback matters more than the logs. Returns them.
pub(super) fn waited_too_long(s: &mut State, fx: &mut Vec<Effect>) -> Vec<PlanId> {
    let now = s.now;
    let late: Vec<(PlanId, String)> = s
        .runs
        .iter()
        .filter(|r| r.in_flight())
        .filter(|r| {
            matches!(r.doing(), Some(Doing::SavingEvidence))
                && r.step_since()
                    .is_some_and(|at| (now - at).num_seconds() >= WAIT_SECS)
        })
        .map(|r| (r.plan.id, r.plan.target.name.clone()))
        .collect();
    let mut free = Vec::new();
    for (id, t) in late {
        record(
            s,
            fx,
            EntryKind::Evidence,
            Some(t),
            format!("evidence not saved within {WAIT_SECS}s: the rollback starts without it"),
            vec![],
            None,
        );
        if release(s, id) {
            free.push(id);
        }
    }
    free
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::testkit::{said, web};

    fn file(path: &str, unread: Option<&str>) -> SavedEvidence {
        SavedEvidence {
            path: path.into(),
            what: "log of the crashed web container in web-1".into(),
            bytes: if unread.is_some() { 0 } else { 120 },
            cut: false,
            unread: unread.map(str::to_string),
        }
    }

    /// An unreadable part is said on its own line, never counted; the
    /// step is ticked naming only what was saved, and stays open when
    /// nothing was.
    #[test]
    fn what_could_not_be_read_is_said_and_never_ticked() {
        let books = crate::runbook::load_all(None).unwrap();
        let with_books = || {
            let mut s = web();
            s.runbooks = books.clone();
            s
        };
        let mut s = with_books();
        let mut fx = Vec::new();
        let files = vec![
            file("n.md.evidence/pods.txt", None),
            file(
                "",
                Some("not readable: Argo CD server error 500: no such host"),
            ),
        ];
        saved(
            &mut s,
            "web".into(),
            None,
            "before the rollback".into(),
            Some(Ok(files)),
            &mut fx,
        );
        let text = said(&fx);
        assert!(
            text.contains("1 file(s) beside the note; 1 part(s) NOT saved"),
            "{text}"
        );
        let entry = crate::core::testkit::records(&fx)
            .into_iter()
            .find(|e| e.text.starts_with("saved what"))
            .unwrap();
        assert!(
            entry.details.iter().any(|d| d.starts_with("NOT saved: log of the crashed web container in web-1 — not readable: Argo CD server error 500")),
            "{:?}",
            entry.details
        );
        let tick = s
            .checklist("web")
            .and_then(|c| c.values().find(|t| t.auto).cloned());
        assert_eq!(tick.and_then(|t| t.evidence).as_deref(), Some("pods.txt"));

        let mut s = with_books();
        let mut fx = Vec::new();
        saved(
            &mut s,
            "web".into(),
            None,
            "before the rollback".into(),
            Some(Ok(vec![file("", Some("timeout"))])),
            &mut fx,
        );
        assert!(
            s.checklist("web")
                .is_none_or(|c| c.values().all(|t| !t.auto)),
            "nothing saved, nothing ticked"
        );
    }
}
