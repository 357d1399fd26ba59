//! Running a confirmed plan: one step at a time, each mutation sent only
//! after its entry is on disk; a lost answer re-read and decided. The
//! rollout watch and the verification are in `core::watch`. Part of
//! `update`; pure like it.

use super::action::{BackendError, Effect, NoteEntry, Settled, StepDone};
use super::checklist::auto_tick;
use super::entry::{EntryKind, Marker, RevFact};
use super::incident::RunResult;
use super::model::History;
use super::plan::PlanId;
use super::plan::{self, InputEdit, PlanStep, RollbackPlan};
use super::record::record;
use super::runbook::AutoEvent;
use super::state::{Doing, Ending, Run, State};

/// A rehearsal that only sends server-side dry runs.
pub(super) fn dry_run(s: &State) -> bool {
    s.settings.dry_run && s.settings.mode == super::model::Mode::Rehearsal
}

/// The step in hand is done: the next one starts (or the run ends).
pub(super) fn next_step(s: &mut State, id: PlanId, fx: &mut Vec<Effect>) {
    let now = s.now;
    if let Some(r) = s.run_mut(id) {
        let n = r.step() + 1;
        r.enter(n, now, Doing::Sending);
    }
    start_step(s, id, fx);
}

/// A confirmed plan starts: its run (recorded with the incident's marker),
/// then its first step — after the failure's evidence is saved, for a
/// rollback (the rollback replaces what holds it; a bounded wait).
pub(super) fn start_run(
    s: &mut State,
    p: RollbackPlan,
    override_reason: Option<String>,
    group: Option<String>,
    fx: &mut Vec<Effect>,
) {
    let id = p.id;
    let t = p.target.name.clone();
    // Evidence of the failure, where there is one: a healthy target rolled
    // back (with its group) has no failing revision to save.
    let failing = s.incident.story(&t).is_some_and(|st| st.failing_at(s.now));
    let evidence = p.is_rollback() && failing && s.settings.save_evidence && !dry_run(s);
    let marker = Marker::RunStarted {
        target: t.clone(),
        plan: id.0,
        kind: p.kind,
        from: RevFact::of(&p.from),
        to: RevFact::of(&p.to),
        group: group.clone(),
    };
    let text = match &group {
        Some(g) => format!("plan #{id} started ({}), in group {g}", p.title()),
        None => format!("plan #{id} started ({})", p.title()),
    };
    record(
        s,
        fx,
        EntryKind::Action,
        Some(t.clone()),
        text,
        vec![],
        Some(marker),
    );
    let doing = if evidence {
        Doing::SavingEvidence
    } else {
        Doing::Sending
    };
    s.runs.push(Run::new(p, s.now, override_reason, doing));
    if evidence {
        super::evidence::request(s, &t, Some(id), "before the rollback", fx);
        return;
    }
    start_step(s, id, fx);
}

/// Emits the effect for the run's current step, or ends the run.
pub(super) fn start_step(s: &mut State, id: PlanId, fx: &mut Vec<Effect>) {
    let now = s.now;
    let dry = dry_run(s);
    let Some(run) = s.run_mut(id) else { return };
    let n = run.step();
    if let Some(h) = run.halt().cloned() {
        if n < run.plan.steps.len() {
            let msg = format!("plan stopped before step {}: {}", n + 1, h.why());
            let lines = ran_and_not(run);
            fail_run_with(s, id, fx, msg, lines);
            return;
        }
    }
    let Some(step) = run.plan.steps.get(n).cloned() else {
        let ending = if dry {
            Ending::DryRun
        } else {
            Ending::Finished
        };
        return conclude(s, id, ending, fx);
    };
    let plan = Box::new(run.plan.clone());
    let t = plan.target.name.clone();
    match &step {
        s_ if s_.mutates() => {
            run.enter(n, now, Doing::Sending);
            let what = step.words(&plan.target, &plan.from);
            let text = if dry {
                format!("step {} (dry run, nothing is changed): {what}", n + 1)
            } else {
                format!("step {}: {what}", n + 1)
            };
            // The announcement travels inside the effect: the runtime sends
            // nothing unless this entry is on disk.
            s.unrecorded += 1;
            fx.push(Effect::Execute {
                plan,
                step: n,
                announce: NoteEntry {
                    at: now,
                    kind: EntryKind::Action,
                    target: Some(t),
                    text,
                    details: vec![],
                    marker: None,
                },
                dry_run: dry,
            });
        }
        PlanStep::WaitForRollout { .. } | PlanStep::Verify if dry => {
            let text = format!(
                "step {} skipped: a dry run rolled nothing back, so there is nothing to watch or verify",
                n + 1
            );
            record(s, fx, EntryKind::Action, Some(t), text, vec![], None);
            next_step(s, id, fx);
        }
        PlanStep::WaitForRollout { .. } => {
            run.enter(
                n,
                now,
                Doing::Watching {
                    progress: None,
                    blind: None,
                },
            );
            fx.push(Effect::ReadProgress {
                plan_id: id,
                plan,
                delay_ms: 0,
            });
        }
        _ => start_verify(s, id, n, fx),
    }
}

/// The Verify step starts: health is re-read until the window ends.
fn start_verify(s: &mut State, id: PlanId, step: usize, fx: &mut Vec<Effect>) {
    let now = s.now;
    let Some(run) = s.run_mut(id) else { return };
    let t = run.plan.target.name.clone();
    let w = super::verify::window(&s.settings, &t);
    let until = now + chrono::Duration::seconds(w.secs);
    if let Some(run) = s.run_mut(id) {
        let doing = Doing::Verifying {
            until,
            replicas: None,
            last: None,
        };
        run.enter(step, now, doing);
    }
    let text = format!(
        "verifying: watching health and metrics for up to {} ({})",
        super::verify::span(w.secs),
        w.why
    );
    record(
        s,
        fx,
        EntryKind::Verify,
        Some(t.clone()),
        text,
        vec![],
        None,
    );
    fx.push(Effect::ReadVerify {
        plan_id: id,
        target: t,
        delay_ms: 0,
    });
}

/// The run is over: recorded with how it ended (the incident's marker),
/// and, for a rollback that ran to its end, the runbook worked.
pub(super) fn conclude(s: &mut State, id: PlanId, ending: Ending, fx: &mut Vec<Effect>) {
    let now = s.now;
    let mode = s.settings.mode;
    let Some(run) = s.run_mut(id) else { return };
    let t = run.plan.target.name.clone();
    let rollback = run.plan.is_rollback();
    let landed = run.after().map(|h| h.revision.clone());
    // Follow-ups only where a failing build was rolled back from.
    let follow = s
        .incident
        .story(&t)
        .is_some_and(|st| st.followup().is_some());
    let verified = if follow {
        "rollback finished and verified; follow-ups stay open on the checklist"
    } else {
        "rollback finished and verified"
    };
    let Some(run) = s.run_mut(id) else { return };
    let (result, why, text) = match &ending {
        Ending::Verified { proof, .. } => (RunResult::Verified, proof.clone(), verified.to_string()),
        Ending::Unproven { caveat, .. } => (
            RunResult::Unproven,
            caveat.clone(),
            format!("rollback finished; recovery NOT proven: {caveat}"),
        ),
        Ending::DryRun => (
            RunResult::DryRun,
            "dry run: nothing was changed".to_string(),
            "dry run finished: nothing was changed; it does not count as the runbook having worked (a drill that rolls staging back does)".to_string(),
        ),
        Ending::Finished => (RunResult::Finished, String::new(), "plan finished".to_string()),
        Ending::Failed { why, .. } => (RunResult::Failed, why.clone(), why.clone()),
    };
    run.end(now, ending);
    let worked = rollback && matches!(result, RunResult::Verified | RunResult::Unproven);
    if worked {
        let w = &mut s.row_mut(&t).last_worked;
        match mode {
            super::model::Mode::Live => w.real = Some(now),
            super::model::Mode::Rehearsal => w.drill = Some(now),
            _ => {}
        }
        // The runbook worked: later sessions and `rbtui drills` read it.
        let m = Marker::Worked {
            target: t.clone(),
            mode: mode.label().to_string(),
        };
        record(
            s,
            fx,
            EntryKind::Done,
            Some(t.clone()),
            text,
            vec![],
            Some(m),
        );
    } else if result != RunResult::Failed {
        record(s, fx, EntryKind::Done, Some(t.clone()), text, vec![], None);
    }
    let m = Marker::RunEnded {
        target: t.clone(),
        plan: id.0,
        result,
        why,
        landed: landed.filter(|_| result != RunResult::Failed),
    };
    let line = format!("plan #{id} ended: {}", result.label());
    record(s, fx, EntryKind::Result, Some(t), line, vec![], Some(m));
}

/// The run in flight with this plan, when its step `step` waits for `what`.
fn waiting(s: &mut State, id: PlanId, step: usize, what: fn(&Doing) -> bool) -> Option<&mut Run> {
    s.run_mut(id)
        .filter(|r| r.step() == step && r.doing().is_some_and(what))
}

pub(super) fn step_finished(
    s: &mut State,
    plan_id: PlanId,
    step: usize,
    result: Result<StepDone, BackendError>,
    fx: &mut Vec<Effect>,
) {
    let dry = dry_run(s);
    let grouped = in_group(s, plan_id);
    let now = s.now;
    let Some(run) = waiting(s, plan_id, step, |d| matches!(d, Doing::Sending)) else {
        return;
    };
    let t = run.plan.target.name.clone();
    match result {
        Ok(StepDone { summary, version }) => {
            run.plan.built_from = version;
            if dry {
                let text = format!("step {} (dry run): {summary}", step + 1);
                record(s, fx, EntryKind::Result, Some(t), text, vec![], None);
            } else {
                let text = format!("step {} ok: {summary}", step + 1);
                step_applied(s, plan_id, step, text, summary, fx);
            }
            next_step(s, plan_id, fx);
        }
        Err(e @ BackendError::Stale { .. }) if grouped => {
            // In a group a stale target stops the group: the operator
            // re-plans, no member is rebuilt behind the confirm.
            let msg = format!("step {} not applied: {e}", step + 1);
            let lines = ran_and_not(run);
            fail_run_with(s, plan_id, fx, msg, lines);
        }
        Err(e @ BackendError::Stale { .. }) => replan_stale(s, plan_id, step, e, fx),
        Err(e @ BackendError::NotSent(_)) => {
            let msg = format!("step {} not run: {e}", step + 1);
            let mut lines = ran_and_not(run);
            lines.push(
                "free space for the note (see the header), then plan again: the plan is re-read from the platform"
                    .into(),
            );
            fail_run_with(s, plan_id, fx, msg, lines);
        }
        Err(e @ BackendError::OutcomeUnknown(_)) => {
            run.enter(step, now, Doing::Settling { rereads: 0 });
            let plan = Box::new(run.plan.clone());
            let text = format!("step {}: {e}; re-reading {t} to decide", step + 1);
            record(
                s,
                fx,
                EntryKind::Unknown,
                Some(t.clone()),
                text,
                vec![],
                None,
            );
            s.flash = Some((
                true,
                format!("{t}: step {} outcome unknown; re-reading", step + 1),
            ));
            fx.push(Effect::Settle {
                plan,
                step,
                delay_ms: 1000,
            });
        }
        Err(e) => fail_run(s, plan_id, fx, format!("step {} failed: {e}", step + 1)),
    }
}

/// A mutating step was applied: recorded (a rollback with the marker later
/// sessions and the incident read), its checklist step ticked.
/// `text` is the entry, `summary` the platform's words (the tick's proof).
fn step_applied(
    s: &mut State,
    plan_id: PlanId,
    step: usize,
    text: String,
    summary: String,
    fx: &mut Vec<Effect>,
) {
    let incident = s.settings.incident.clone();
    let Some(run) = s.run_mut(plan_id) else {
        return;
    };
    let what = run.plan.steps[step].clone();
    let p = &run.plan;
    let t = p.target.name.clone();
    // A rollback leaves a marker so later sessions can offer this image
    // again where the platform keeps no history (Swarm, Compose), know the
    // images it replaced as bad, and the incident knows the target left
    // the bad revision.
    let marker = match (&what, p.to.images.first()) {
        (PlanStep::Rollback { .. } | PlanStep::Retag { .. }, Some(img)) => Some(Marker::Deployed {
            target: t.clone(),
            image: img.full(),
            incident,
            from: p.from.images.iter().map(|i| i.full()).collect(),
            from_rev: Some(p.from.id.to_string()),
            to_rev: Some(p.to.id.to_string()),
            from_sha: p.from.git_sha.clone(),
            to_sha: p.to.git_sha.clone(),
            plan: Some(plan_id.0),
        }),
        _ => None,
    };
    record(
        s,
        fx,
        EntryKind::Result,
        Some(t.clone()),
        text,
        vec![],
        marker,
    );
    if let PlanStep::Retag { image, .. } = &what {
        retag_follow_up(s, fx, &t, image);
    }
    let ev = match what {
        PlanStep::DisableAutoSync => Some(AutoEvent::AutoSyncDisabled),
        PlanStep::EnableAutoSync => Some(AutoEvent::AutoSyncEnabled),
        PlanStep::Rollback { .. } => Some(AutoEvent::RollbackStarted),
        PlanStep::EditInput(InputEdit::PinVar { .. }) => Some(AutoEvent::InputsPinned),
        _ => None,
    };
    if let Some(ev) = ev {
        auto_tick(s, fx, &t, ev, Some(summary));
    }
    fx.push(Effect::LoadHistory(t));
}

/// The platform moved since the plan was built: nothing was applied; the
/// plan is rebuilt from a fresh read and shown again for review.
fn replan_stale(
    s: &mut State,
    plan_id: PlanId,
    step: usize,
    e: BackendError,
    fx: &mut Vec<Effect>,
) {
    let Some(run) = s.run_mut(plan_id) else {
        return;
    };
    let p = &run.plan;
    let t = p.target.name.clone();
    let pending = super::state::PendingPlan {
        target: t.clone(),
        to: p.to.id.to_string(),
        reenable: p.kind == super::plan::PlanKind::Reenable,
        exact: p.exact_template,
        retag: p.is_retag(),
        after_stale: true,
        asked_at: s.now,
    };
    let msg = format!("step {} not applied: {e}; rebuilding the plan", step + 1);
    record(
        s,
        fx,
        EntryKind::Stale,
        Some(t.clone()),
        msg.clone(),
        vec![],
        None,
    );
    conclude(
        s,
        plan_id,
        Ending::Failed {
            why: msg,
            after: None,
            step,
        },
        fx,
    );
    // The incident keeps the run's end; the screen shows the plan rebuilt.
    s.runs.retain(|r| r.plan.id != plan_id);
    s.pending_plan = Some(pending);
    fx.push(Effect::LoadHistory(t));
}

/// A re-tag leaves no git trace: the revert PR is due within the hour,
/// said in the note and on the checklist with its time.
fn retag_follow_up(s: &mut State, fx: &mut Vec<Effect>, t: &str, image: &str) {
    let due = s.now + chrono::Duration::hours(1);
    s.row_mut(t).retag_due = Some(due);
    record(
        s,
        fx,
        EntryKind::Action,
        Some(t.to_string()),
        format!(
            "follow-up: open the revert PR by {} — the re-tag of {image} left no git trace, and the next build of the bad commit re-tags it back",
            super::fmt::hms(due)
        ),
        vec![],
        None,
    );
}

fn in_group(s: &State, id: PlanId) -> bool {
    s.group
        .as_ref()
        .is_some_and(|g| g.confirmed && g.plans.iter().any(|p| p.id == id))
}

/// "ran: step 1 …" and "not run: step 2 …" lines for a plan that stopped.
pub(super) fn ran_and_not(run: &Run) -> Vec<String> {
    let p = &run.plan;
    let at = run.step();
    p.steps
        .iter()
        .enumerate()
        .map(|(i, st)| {
            let state = if i < at { "ran" } else { "NOT run" };
            format!("{state}: step {} {}", i + 1, st.words(&p.target, &p.from))
        })
        .collect()
}

/// How often a lost answer is re-read before rbtui gives up deciding.
const SETTLE_TRIES: u32 = 3;

/// Decides a step whose answer was lost from a fresh read of the target:
/// applied (the plan goes on), not applied, or still unknown.
pub(super) fn step_settled(
    s: &mut State,
    plan_id: PlanId,
    step: usize,
    result: Result<Settled, BackendError>,
    fx: &mut Vec<Effect>,
) {
    let now = s.now;
    let Some(run) = waiting(s, plan_id, step, |d| matches!(d, Doing::Settling { .. })) else {
        return;
    };
    let tries = match run.doing() {
        Some(Doing::Settling { rereads }) => *rereads,
        _ => 0,
    };
    let t = run.plan.target.name.clone();
    let st = match result {
        Ok(st) => st,
        Err(e) if tries + 1 < SETTLE_TRIES => {
            run.enter(step, now, Doing::Settling { rereads: tries + 1 });
            let plan = Box::new(run.plan.clone());
            s.flash = Some((true, format!("{t}: re-read failed ({e}); trying again")));
            fx.push(Effect::Settle {
                plan,
                step,
                delay_ms: 2000,
            });
            return;
        }
        Err(e) => {
            let msg = format!(
                "step {} outcome still unknown: re-reading {t} failed {SETTLE_TRIES} times ({e}); check the platform by hand before acting again",
                step + 1
            );
            return fail_run(s, plan_id, fx, msg);
        }
    };
    let n = step + 1;
    match st.applied {
        Some(true) => {
            run.plan.built_from = st.version.clone();
            run.enter(step, now, Doing::Sending);
            let text = format!("step {n} applied (decided by re-reading: {})", st.seen);
            step_applied(s, plan_id, step, text, st.seen, fx);
            next_step(s, plan_id, fx);
        }
        Some(false) => {
            let msg = format!(
                "step {n} was not applied (decided by re-reading: {}); nothing changed",
                st.seen
            );
            fail_run(s, plan_id, fx, msg)
        }
        None => {
            let msg = format!(
                "step {n} outcome still unknown after re-reading ({}); check the platform by hand before acting again",
                st.seen
            );
            fail_run(s, plan_id, fx, msg)
        }
    }
}

/// The default decision: does the fresh history show the step's effect?
pub fn settled_from_history(plan: &RollbackPlan, step: &PlanStep, h: &History) -> Settled {
    let applied = match step {
        PlanStep::DisableAutoSync => Some(!h.facts.auto_sync),
        PlanStep::EnableAutoSync => Some(h.facts.auto_sync),
        PlanStep::Rollback { .. } => h.current().and_then(|c| {
            // Still on the revision the plan started from: not applied.
            if c.id == plan.from.id && runs_revision(c, &plan.from) != Some(false) {
                Some(false)
            } else {
                runs_revision(c, &plan.to)
            }
        }),
        _ => None,
    };
    let seen = match (step, h.current()) {
        (PlanStep::DisableAutoSync | PlanStep::EnableAutoSync, _) => format!(
            "auto-sync is {}",
            if h.facts.auto_sync { "on" } else { "off" }
        ),
        (_, Some(c)) => format!(
            "{} runs {} {} ({})",
            plan.target.name,
            plan.target.kind.revision_word(),
            c.id,
            plan::images_text(c)
        ),
        (_, None) => format!("{} shows no current revision", plan.target.name),
    };
    Settled {
        applied,
        seen,
        version: h.facts.version.clone(),
    }
}

/// Whether a revision runs the content of `to`: the same commit where both
/// name one, else the same images; `None` when nothing can tell.
pub fn runs_revision(
    current: &super::model::Revision,
    to: &super::model::Revision,
) -> Option<bool> {
    if let (Some(a), Some(b)) = (&current.git_sha, &to.git_sha) {
        return Some(a == b);
    }
    if to.images.is_empty() || current.images.is_empty() {
        return None;
    }
    let key = |r: &super::model::Revision| {
        let mut v: Vec<String> = r
            .images
            .iter()
            .map(|i| format!("{}:{}", i.repository, i.tag.clone().unwrap_or_default()))
            .collect();
        v.sort();
        v
    };
    Some(key(current) == key(to))
}

pub(super) fn fail_run(s: &mut State, id: PlanId, fx: &mut Vec<Effect>, msg: String) {
    fail_run_with(
        s,
        id,
        fx,
        msg,
        vec!["the checklist stays open; choose another revision or escalate".into()],
    );
}

pub(super) fn fail_run_with(
    s: &mut State,
    id: PlanId,
    fx: &mut Vec<Effect>,
    msg: String,
    details: Vec<String>,
) {
    let Some(run) = s.run_mut(id) else { return };
    let t = run.plan.target.name.clone();
    let after = run.after().cloned();
    let step = run.step();
    record(
        s,
        fx,
        EntryKind::Failed,
        Some(t.clone()),
        msg.clone(),
        details,
        None,
    );
    s.flash = Some((true, format!("{t}: {msg}")));
    conclude(
        s,
        id,
        Ending::Failed {
            why: msg,
            after,
            step,
        },
        fx,
    );
    fx.push(Effect::LoadHistory(t));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::state::{Ending, RunState};
    use crate::core::testkit::*;

    fn started() -> (State, PlanId) {
        let mut s = web();
        let p = plan_back(&s, "1");
        let id = p.id;
        let mut fx = vec![];
        start_run(&mut s, p, None, None, &mut fx);
        (s, id)
    }

    /// A run starts with the incident's marker on its first entry, then
    /// its first mutation, announced in the effect itself.
    #[test]
    fn a_run_starts_recorded_and_sends_its_first_step_announced() {
        let mut s = web();
        let p = plan_back(&s, "1");
        let mut fx = vec![];
        start_run(&mut s, p, None, None, &mut fx);
        let rs = records(&fx);
        assert!(
            matches!(rs[0].marker, Some(Marker::RunStarted { .. })),
            "{rs:?}"
        );
        let Some(Effect::Execute {
            announce, step: 0, ..
        }) = fx.last()
        else {
            panic!("{fx:?}")
        };
        assert!(
            announce
                .text
                .starts_with("step 1: Roll back deployment web"),
            "{}",
            announce.text
        );
        assert_eq!(s.incident.story("web").unwrap().runs.len(), 1);
        assert!(matches!(s.runs[0].doing(), Some(Doing::Sending)));
    }

    /// An applied rollback step says the target left its revision (the
    /// incident's `sent`), and the run goes on to watch the rollout.
    #[test]
    fn an_applied_rollback_is_marked_and_the_rollout_is_watched() {
        let (mut s, id) = started();
        let mut fx = vec![];
        let done = StepDone {
            summary: "rolled back".into(),
            version: "v2".into(),
        };
        step_finished(&mut s, id, 0, Ok(done), &mut fx);
        assert!(s.incident.story("web").unwrap().runs[0].sent.is_some());
        assert!(matches!(s.runs[0].doing(), Some(Doing::Watching { .. })));
        assert!(fx.iter().any(|e| matches!(e, Effect::ReadProgress { .. })));
        assert_eq!(
            s.runs[0].plan.built_from, "v2",
            "the next step is guarded by rbtui's own change"
        );
    }

    /// A lost answer is re-read; "applied" goes on, "not applied" fails
    /// saying nothing changed; a late answer for another step is ignored.
    #[test]
    fn a_lost_answer_is_decided_by_a_re_read() {
        let (mut s, id) = started();
        let mut fx = vec![];
        let lost = Err(BackendError::OutcomeUnknown("cut".into()));
        step_finished(&mut s, id, 0, lost, &mut fx);
        assert!(matches!(
            s.runs[0].doing(),
            Some(Doing::Settling { rereads: 0 })
        ));
        step_finished(
            &mut s,
            id,
            0,
            Ok(StepDone {
                summary: String::new(),
                version: String::new(),
            }),
            &mut fx,
        );
        assert!(
            matches!(s.runs[0].doing(), Some(Doing::Settling { .. })),
            "an answer for a step not awaited is ignored"
        );
        let no = Settled {
            applied: Some(false),
            seen: "web runs revision 2".into(),
            version: "v1".into(),
        };
        let mut fx = vec![];
        step_settled(&mut s, id, 0, Ok(no), &mut fx);
        let Some(Ending::Failed { why, .. }) = s.runs[0].ending() else {
            panic!("{:?}", s.runs[0].state)
        };
        assert!(
            why.contains("was not applied") && why.contains("nothing changed"),
            "{why}"
        );
        assert!(s.incident.story("web").unwrap().runs[0].sent.is_none());
    }

    /// A stale plan applies nothing: the run ends (recorded), leaves the
    /// screen, and the plan is rebuilt from a fresh read.
    #[test]
    fn a_stale_plan_ends_its_run_and_is_rebuilt() {
        let (mut s, id) = started();
        let mut fx = vec![];
        let stale = Err(BackendError::Stale {
            built_from: "v1".into(),
            now: "v9".into(),
        });
        step_finished(&mut s, id, 0, stale, &mut fx);
        assert!(s.runs.is_empty());
        assert!(s.pending_plan.as_ref().is_some_and(|p| p.after_stale));
        let end = s.incident.story("web").unwrap().runs[0]
            .ended
            .clone()
            .unwrap();
        assert_eq!(end.result, RunResult::Failed);
        assert!(said(&fx).contains("rebuilding the plan"));
    }

    /// The note failed while the step was in flight: its answer is still
    /// followed, and no further step starts.
    #[test]
    fn a_halted_run_stops_before_its_next_step() {
        let (mut s, id) = started();
        s.runs[0].halt_with(crate::core::state::Halt::Note("disk full".into()));
        let mut fx = vec![];
        let done = StepDone {
            summary: "rolled back".into(),
            version: "v2".into(),
        };
        step_finished(&mut s, id, 0, Ok(done), &mut fx);
        let Some(Ending::Failed { why, .. }) = s.runs[0].ending() else {
            panic!("{:?}", s.runs[0].state)
        };
        assert!(
            why.starts_with("plan stopped before step 2: the note could not be written"),
            "{why}"
        );
        assert!(!fx.iter().any(|e| matches!(e, Effect::ReadProgress { .. })));
        assert!(matches!(s.runs[0].state, RunState::Ended { .. }));
    }
}
