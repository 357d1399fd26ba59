//! Running a confirmed plan: one step at a time, progress, verification.
//! Part of `update`; pure like it.

use super::action::{BackendError, Effect, NoteEntry, Settled, StepDone};
use super::checklist::auto_tick;
use super::checklist::not_ticked;
use super::entry::EntryKind;
use super::model::{Health, History, ProgressPhase};
use super::plan::PlanId;
use super::plan::{self, InputEdit, PlanStep, RollbackPlan};
use super::record::record;
use super::runbook::AutoEvent;
use super::state::{Outcome, Run, State};
use super::verdict;

/// A rehearsal that only sends server-side dry runs.
fn dry_run(s: &State) -> bool {
    s.settings.dry_run && s.settings.mode == super::model::Mode::Rehearsal
}

/// The step in hand is done: the next one starts (or the run ends).
fn next_step(s: &mut State, id: PlanId, fx: &mut Vec<Effect>) {
    if let Some(r) = s.run_mut(id) {
        r.step += 1;
    }
    start_step(s, id, fx);
}

/// A confirmed plan starts: its run, and its first step.
pub(super) fn start_run(
    s: &mut State,
    p: RollbackPlan,
    override_reason: Option<String>,
    fx: &mut Vec<Effect>,
) {
    let id = p.id;
    s.runs.push(super::state::Run {
        plan: p,
        step: 0,
        started_at: s.now,
        step_started_at: s.now,
        progress: None,
        after: None,
        outcome: None,
        override_reason,
        verify_until: None,
        verified_replicas: false,
        halted_by_note: None,
        halted_by_group: None,
        awaiting_evidence: None,
        unknown_step: None,
        autosync_fought: false,
        progress_failing: None,
        caveat: None,
        superseded: None,
    });
    // What the failing revision left is saved before the rollback
    // replaces it; the first step waits for it (a bounded wait).
    let rollback = s.runs.last().is_some_and(|r| r.plan.is_rollback());
    if rollback && s.settings.save_evidence && !dry_run(s) {
        let now = s.now;
        let t = s.runs.last().map(|r| r.plan.target.name.clone()).unwrap_or_default();
        if let Some(r) = s.run_mut(id) {
            r.awaiting_evidence = Some(now);
        }
        super::evidence::request(s, &t, Some(id), "before the rollback", fx);
        return;
    }
    start_step(s, id, fx);
}

/// Emits the effect for the run's current step.
pub(super) fn start_step(s: &mut State, id: PlanId, fx: &mut Vec<Effect>) {
    let now = s.now;
    let Some(run) = s.run_mut(id) else { return };
    let halt = match (&run.halted_by_note, &run.halted_by_group) {
        (Some(why), _) => Some(format!("the note could not be written ({why})")),
        (None, Some(why)) => Some(format!("its group stopped: {why}")),
        (None, None) => None,
    };
    if let Some(why) = halt {
        if run.step < run.plan.steps.len() {
            let msg = format!("plan stopped before step {}: {why}", run.step + 1);
            let lines = ran_and_not(run);
            fail_run_with(s, id, fx, msg, lines);
            return;
        }
    }
    run.step_started_at = now;
    let dry_run = dry_run(s);
    let Some(run) = s.run_mut(id) else { return };
    let Some(step) = run.plan.steps.get(run.step).cloned() else {
        run.outcome = Some(Outcome::Succeeded);
        let t = run.plan.target.name.clone();
        if dry_run {
            // Nothing was rolled back: not a drill of the runbook working.
            run.caveat = Some("dry run: nothing was changed".into());
            record(
                s,
                fx,
                EntryKind::Done,
                Some(t),
                "dry run finished: nothing was changed; it does not count as the runbook having worked (a drill that rolls staging back does)".into(),
                vec![],
                None,
            );
            return;
        }
        let rollback = run.plan.is_rollback();
        let text = if rollback {
            "rollback finished; follow-ups stay open on the checklist"
        } else {
            "plan finished"
        };
        // The runbook worked: later sessions and `rbtui drills` read it.
        let marker = rollback.then(|| super::entry::Marker::Worked {
            target: t.clone(),
            mode: s.settings.mode.label().to_string(),
        });
        if rollback {
            let (mode, now) = (s.settings.mode, s.now);
            let w = &mut s.row_mut(&t).last_worked;
            match mode {
                super::model::Mode::Live => w.real = Some(now),
                super::model::Mode::Rehearsal => w.drill = Some(now),
                _ => {}
            }
        }
        record(s, fx, EntryKind::Done, Some(t), text.into(), vec![], marker);
        return;
    };
    let plan = Box::new(run.plan.clone());
    let plan_id = plan.id;
    let t = plan.target.name.clone();
    let n = run.step + 1;
    match &step {
        PlanStep::DisableAutoSync
        | PlanStep::EnableAutoSync
        | PlanStep::EditInput(_)
        | PlanStep::Rollback { .. }
        | PlanStep::Retag { .. }
        | PlanStep::Restart => {
            let text = if dry_run {
                format!(
                    "step {n} (dry run, nothing is changed): {}",
                    step.describe(&plan.target, &plan.from)
                )
            } else {
                format!("step {n}: {}", step.describe(&plan.target, &plan.from))
            };
            // The announcement travels inside the effect: the runtime sends
            // nothing unless this entry is on disk.
            s.unrecorded += 1;
            fx.push(Effect::Execute {
                plan,
                step: n - 1,
                announce: NoteEntry {
                    at: s.now,
                    kind: EntryKind::Action,
                    target: Some(t),
                    text,
                    details: vec![],
                    marker: None,
                },
                dry_run,
            });
        }
        PlanStep::WaitForRollout { .. } | PlanStep::Verify if dry_run => {
            record(
                s,
                fx,
                EntryKind::Action,
                Some(t),
                format!(
                    "step {n} skipped: a dry run rolled nothing back, so there is nothing to watch or verify"
                ),
                vec![],
                None,
            );
            next_step(s, plan_id, fx);
        }
        PlanStep::WaitForRollout { .. } => {
            fx.push(Effect::ReadProgress {
                plan_id,
                plan,
                delay_ms: 0,
            });
        }
        PlanStep::Verify => {
            let w = super::verify::window(&s.settings, &t);
            let until = s.now + chrono::Duration::seconds(w.secs);
            if let Some(r) = s.run_mut(plan_id) {
                r.verify_until = Some(until);
            }
            record(
                s,
                fx,
                EntryKind::Verify,
                Some(t.clone()),
                format!(
                    "verifying: watching health and metrics for up to {} ({})",
                    super::verify::span(w.secs),
                    w.why
                ),
                vec![],
                None,
            );
            fx.push(Effect::ReadVerify {
                plan_id,
                target: t,
                delay_ms: 0,
            });
        }
    }
}

pub(super) fn current_run(s: &mut State, plan_id: PlanId) -> Option<&mut Run> {
    s.run_mut(plan_id)
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
    let Some(run) = current_run(s, plan_id) else {
        return;
    };
    if run.step != step {
        return;
    }
    let what = run.plan.steps[step].clone();
    let t = run.plan.target.name.clone();
    match result {
        Ok(StepDone { summary, version }) if dry => {
            run.plan.built_from = version;
            record(
                s,
                fx,
                EntryKind::Result,
                Some(t),
                format!("step {} (dry run): {summary}", step + 1),
                vec![],
                None,
            );
            next_step(s, plan_id, fx);
        }
        Ok(StepDone { summary, version }) => {
            run.plan.built_from = version;
            let from_images = run.plan.from.images.clone();
            let to_image = run.plan.to.images.first().cloned();
            let plan_no = run.plan.id;
            let pair = (run.plan.from.clone(), run.plan.to.clone());
            // A rollback leaves a marker so later sessions can offer this
            // image again where the platform keeps no history (Swarm,
            // Compose), and know the images it replaced as bad.
            let marker = match (&what, to_image) {
                (PlanStep::Rollback { .. }, Some(img)) => Some(super::entry::Marker::Deployed {
                    target: t.clone(),
                    image: img.full(),
                    incident: s.settings.incident.clone(),
                    from: from_images.iter().map(|i| i.full()).collect(),
                    from_rev: Some(pair.0.id.to_string()),
                    to_rev: Some(pair.1.id.to_string()),
                    from_sha: pair.0.git_sha.clone(),
                    to_sha: pair.1.git_sha.clone(),
                }),
                _ => None,
            };
            if matches!(what, PlanStep::Rollback { .. }) {
                s.row_mut(&t).rolled_back = Some(pair);
                let why = format!(
                    "rolled back from at {} in this incident (plan #{plan_no})",
                    super::fmt::hms(s.now)
                );
                s.row_mut(&t)
                    .rolled_back_from
                    .extend(from_images.into_iter().map(|i| (i, why.clone())));
            }
            record(
                s,
                fx,
                EntryKind::Result,
                Some(t.clone()),
                format!("step {} ok: {summary}", step + 1),
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
            fx.push(Effect::LoadHistory(t.clone()));
            next_step(s, plan_id, fx);
        }
        Err(e @ BackendError::Stale { .. }) if grouped => {
            // In a group a stale target stops the group: the operator
            // re-plans, no member is rebuilt behind the confirm.
            let msg = format!("step {} not applied: {e}", step + 1);
            let lines = ran_and_not(run);
            fail_run_with(s, plan_id, fx, msg, lines);
        }
        Err(BackendError::Stale { built_from, now }) => {
            let to = run.plan.to.id.clone();
            let reenable = !run.plan.is_rollback();
            let exact = run.plan.exact_template;
            let retag = run.plan.is_retag();
            let msg = BackendError::Stale { built_from, now }.to_string();
            record(
                s,
                fx,
                EntryKind::Stale,
                Some(t.clone()),
                format!("step {} not applied: {msg}; rebuilding the plan", step + 1),
                vec![],
                None,
            );
            s.runs.retain(|r| r.plan.id != plan_id);
            s.pending_plan = Some(super::state::PendingPlan {
                target: t.clone(),
                to: to.to_string(),
                reenable,
                exact,
                retag,
                after_stale: true,
                asked_at: s.now,
            });
            fx.push(Effect::LoadHistory(t));
        }
        Err(e @ BackendError::NotSent(_)) => {
            let msg = format!("step {} not run: {}", step + 1, e);
            let mut lines = ran_and_not(run);
            lines.push(
                "free space for the note (see the header), then plan again: the plan is re-read from the platform"
                    .into(),
            );
            fail_run_with(s, plan_id, fx, msg, lines);
        }
        Err(BackendError::OutcomeUnknown(why)) => {
            run.unknown_step = Some((step, 0));
            let plan = Box::new(run.plan.clone());
            let msg = BackendError::OutcomeUnknown(why).to_string();
            record(
                s,
                fx,
                EntryKind::Unknown,
                Some(t.clone()),
                format!("step {}: {msg}; re-reading {t} to decide", step + 1),
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
        Err(e) => fail_run(s, plan_id, fx, format!("step {} failed: {}", step + 1, e)),
    }
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
fn ran_and_not(run: &super::state::Run) -> Vec<String> {
    let p = &run.plan;
    p.steps
        .iter()
        .enumerate()
        .map(|(i, st)| {
            let state = if i < run.step { "ran" } else { "NOT run" };
            format!(
                "{state}: step {} {}",
                i + 1,
                st.describe(&p.target, &p.from)
            )
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
    let Some(run) = current_run(s, plan_id) else {
        return;
    };
    let Some((pending, tries)) = run.unknown_step else {
        return;
    };
    if pending != step {
        return;
    }
    let t = run.plan.target.name.clone();
    let st = match result {
        Ok(st) => st,
        Err(e) if tries + 1 < SETTLE_TRIES => {
            run.unknown_step = Some((step, tries + 1));
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
            return fail_run(
                s,
                plan_id,
                fx,
                format!(
                    "step {} outcome still unknown: re-reading {t} failed {SETTLE_TRIES} times ({e}); check the platform by hand before acting again",
                    step + 1
                ),
            );
        }
    };
    run.unknown_step = None;
    match st.applied {
        Some(true) => {
            run.plan.built_from = st.version.clone();
            record(
                s,
                fx,
                EntryKind::Result,
                Some(t.clone()),
                format!(
                    "step {} applied (decided by re-reading: {})",
                    step + 1,
                    st.seen
                ),
                vec![],
                None,
            );
            fx.push(Effect::LoadHistory(t));
            next_step(s, plan_id, fx);
        }
        Some(false) => fail_run(
            s,
            plan_id,
            fx,
            format!(
                "step {} was not applied (decided by re-reading: {}); nothing changed",
                step + 1,
                st.seen
            ),
        ),
        None => fail_run(
            s,
            plan_id,
            fx,
            format!(
                "step {} outcome still unknown after re-reading ({}); check the platform by hand before acting again",
                step + 1,
                st.seen
            ),
        ),
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
    run.outcome = Some(Outcome::Failed(msg.clone()));
    let t = run.plan.target.name.clone();
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
    fx.push(Effect::LoadHistory(t));
}

pub(super) fn progress_read(
    s: &mut State,
    plan_id: PlanId,
    result: Result<super::model::Progress, BackendError>,
    fx: &mut Vec<Effect>,
) {
    let poll = s.settings.progress_poll_ms;
    let now = s.now;
    let Some(run) = current_run(s, plan_id) else {
        return;
    };
    if !matches!(
        run.plan.steps.get(run.step),
        Some(PlanStep::WaitForRollout { .. })
    ) {
        return;
    }
    let t = run.plan.target.name.clone();
    let plan = Box::new(run.plan.clone());
    let timeout = match run.plan.steps.get(run.step) {
        Some(PlanStep::WaitForRollout { timeout_secs }) => *timeout_secs,
        _ => 0,
    };
    let timed_out = (now - run.step_started_at).num_seconds() > timeout;
    let recovered = match (&result, run.progress_failing.take()) {
        (Ok(_), Some((since, _))) => Some(since),
        (Err(_), prev) => {
            run.progress_failing = prev;
            None
        }
        _ => None,
    };
    if let Some(since) = recovered {
        record(
            s,
            fx,
            EntryKind::Source,
            Some(t.clone()),
            format!(
                "{t} answers again (rollout reads failed from {} to {}): the rollout is judged from what it says now",
                super::fmt::hms(since),
                super::fmt::hms(s.now)
            ),
            vec![],
            None,
        );
    }
    let Some(run) = current_run(s, plan_id) else {
        return;
    };
    match result {
        Ok(p) if timed_out && !p.phase.is_terminal() => {
            run.progress = Some(p.clone());
            fail_run(
                s,
                plan_id,
                fx,
                format!(
                    "rollout did not converge within {}: {}",
                    super::fmt::age(timeout),
                    p.message
                ),
            );
        }
        Ok(p) => {
            let changed =
                run.progress.as_ref().map(|o| (&o.message, o.phase)) != Some((&p.message, p.phase));
            run.progress = Some(p.clone());
            if changed {
                let text = format!(
                    "{} ({}/{} updated, {}/{} ready, {} old)",
                    p.message, p.updated, p.desired, p.ready, p.desired, p.old
                );
                record(
                    s,
                    fx,
                    EntryKind::Progress,
                    Some(t.clone()),
                    text,
                    vec![],
                    None,
                );
            }
            match p.phase {
                ProgressPhase::Converged => {
                    match &p.unproven {
                        None => auto_tick(s, fx, &t, AutoEvent::Converged, Some(p.message.clone())),
                        Some(why) => not_ticked(s, fx, &t, AutoEvent::Converged, why.clone()),
                    }
                    fx.push(Effect::LoadHistory(t.clone()));
                    next_step(s, plan_id, fx);
                }
                ProgressPhase::Failed => fail_run(s, plan_id, fx, format!("rollout failed: {}", p.message)),
                _ => fx.push(Effect::ReadProgress {
                    plan_id,
                    plan,
                    delay_ms: poll,
                }),
            }
        }
        Err(e) => {
            // The platform does not answer: the rollout goes on without
            // us. Its outcome is unknown, said once; rbtui keeps reading
            // and judges it when the platform answers, even past the
            // timeout (a timeout during an outage proves nothing).
            if run.progress_failing.is_none() {
                run.progress_failing = Some((now, e.to_string()));
                record(
                    s,
                    fx,
                    EntryKind::Unknown,
                    Some(t.clone()),
                    format!(
                        "outcome unknown: the rollout's state cannot be read since {} ({e}); rbtui keeps reading and judges it when {t} answers",
                        super::fmt::hms(now)
                    ),
                    vec![],
                    None,
                );
            }
            s.flash = Some((
                true,
                format!("{t}: rollout state unreadable ({e}); outcome unknown, still reading"),
            ));
            fx.push(Effect::ReadProgress {
                plan_id,
                plan,
                delay_ms: poll * 2,
            });
        }
    }
}

pub(super) fn verify_read(
    s: &mut State,
    plan_id: PlanId,
    result: Result<Health, BackendError>,
    fx: &mut Vec<Effect>,
) {
    let now = s.now;
    let th = s.settings.thresholds;
    let Some(run) = current_run(s, plan_id) else {
        return;
    };
    let t = run.plan.target.name.clone();
    let h = match result {
        Ok(h) => h,
        Err(e) => {
            s.flash = Some((true, format!("{t}: health read failed: {e}; retrying")));
            fx.push(Effect::ReadVerify {
                plan_id,
                target: t,
                delay_ms: 2000,
            });
            return;
        }
    };
    run.after = Some(h.clone());
    let mut want: Vec<String> = run
        .plan
        .to
        .images
        .iter()
        .map(|i| format!("{}:{}", i.repository, i.tag.clone().unwrap_or_default()))
        .collect();
    let mut have: Vec<String> = h
        .images
        .iter()
        .map(|i| format!("{}:{}", i.repository, i.tag.clone().unwrap_or_default()))
        .collect();
    // Compared as sets: platforms list images in their own order.
    want.sort();
    want.dedup();
    have.sort();
    have.dedup();
    // Ready on the revision rolled back to, not ready at all: during a
    // rollout old pods count as ready (as kubectl counts them).
    let ready = h.ready_on_template.unwrap_or(h.ready);
    let replicas_ok = ready == h.desired
        && h.desired > 0
        && h.crashlooping == 0
        && (want.is_empty() || want == have);
    if replicas_ok && !run.verified_replicas {
        run.verified_replicas = true;
        let before = run.plan.before.clone();
        let plan_to = run.plan.to.clone();
        let evidence = evidence_rows(before.as_ref(), &h, &run.plan);
        record(
            s,
            fx,
            EntryKind::Evidence,
            Some(t.clone()),
            if want.is_empty() {
                format!(
                    "{}/{} ready; images NOT compared: the target revision records none",
                    ready, h.desired
                )
            } else {
                format!(
                    "verified: {}/{} ready on {}",
                    ready,
                    h.desired,
                    plan::images_text(&plan_to)
                )
            },
            evidence,
            None,
        );
        if want.is_empty() {
            not_ticked(
                s,
                fx,
                &t,
                AutoEvent::Verified,
                "the target revision records no image, so what runs was not compared".into(),
            );
        } else {
            let read: Vec<String> = h.images.iter().map(|i| i.full()).collect();
            auto_tick(
                s,
                fx,
                &t,
                AutoEvent::Verified,
                Some(format!(
                    "{}/{} ready; the platform reports {}",
                    ready,
                    h.desired,
                    read.join(", ")
                )),
            );
        }
        let probe = h
            .signals
            .iter()
            .find(|g| g.kind == super::signals::SignalKind::Probe);
        match (h.probe_ok, probe) {
            (Some(true), Some(g)) => auto_tick(
                s,
                fx,
                &t,
                AutoEvent::ProbeAnswered,
                Some(format!("probe {}: {}", g.name, g.display)),
            ),
            (Some(true), None) => auto_tick(
                s,
                fx,
                &t,
                AutoEvent::ProbeAnswered,
                Some("the platform's health probe passes".into()),
            ),
            (Some(false), _) => not_ticked(
                s,
                fx,
                &t,
                AutoEvent::ProbeAnswered,
                format!(
                    "the health probe fails{}",
                    probe
                        .map(|g| format!(": {}", g.display))
                        .unwrap_or_default()
                ),
            ),
            (None, _) => not_ticked(
                s,
                fx,
                &t,
                AutoEvent::ProbeAnswered,
                "no health probe is configured for this target".into(),
            ),
        }
    }
    let Some(run) = s.run_mut(plan_id) else {
        return;
    };
    let rec = verdict::recovered(&h, &th, now);
    let metrics_ok = matches!(rec, verdict::Recovery::Recovered(_));
    let until = run.verify_until.unwrap_or(now);
    if run.verified_replicas && metrics_ok {
        let text = format!("metrics recovered: {}", metric_text(&h));
        let before = run
            .plan
            .before
            .as_ref()
            .map(metric_text)
            .unwrap_or_else(|| "unknown".into());
        record(
            s,
            fx,
            EntryKind::Recovered,
            Some(t.clone()),
            text.clone(),
            vec![
                format!("before: {before}"),
                format!("after: {}", metric_text(&h)),
            ],
            None,
        );
        auto_tick(
            s,
            fx,
            &t,
            AutoEvent::MetricsRecovered,
            Some(metric_text(&h)),
        );
        next_step(s, plan_id, fx);
    } else if now >= until {
        let what = if !run.verified_replicas {
            format!(
                "not verified: {}/{} ready, images {}",
                h.ready,
                h.desired,
                plan::images_text(&super::model::Revision {
                    images: h.images.clone(),
                    ..run.plan.to.clone()
                })
            )
        } else {
            match &rec {
                verdict::Recovery::Unproven(why) => {
                    format!("replicas verified; recovery not proven: {why}")
                }
                verdict::Recovery::NotYet(why) => format!(
                    "metrics not recovered within the window: {}; {why}",
                    metric_text(&h)
                ),
                verdict::Recovery::Recovered(m) => format!("metrics recovered: {m}"),
            }
        };
        if run.verified_replicas {
            record(
                s,
                fx,
                EntryKind::NotRecovered,
                Some(t.clone()),
                what.clone(),
                vec![],
                None,
            );
            if let Some(r) = s.run_mut(plan_id) {
                r.caveat = Some(what);
            }
            next_step(s, plan_id, fx);
        } else {
            fail_run(s, plan_id, fx, what);
        }
    } else {
        fx.push(Effect::ReadVerify {
            plan_id,
            target: t,
            delay_ms: 2000,
        });
    }
}

pub(super) fn metric_text(h: &Health) -> String {
    let e = h
        .error_rate
        .map(|e| format!("5xx {:.1}%", e * 100.0))
        .unwrap_or_else(|| "5xx n/a".into());
    let l = h
        .latency_p95_ms
        .map(|l| format!("p95 {l:.0} ms"))
        .unwrap_or_else(|| "p95 n/a".into());
    format!("{e}, {l}")
}

pub(super) fn evidence_rows(
    before: Option<&Health>,
    after: &Health,
    p: &RollbackPlan,
) -> Vec<String> {
    let cell = |h: Option<&Health>, f: &dyn Fn(&Health) -> String| {
        h.map(f).unwrap_or_else(|| "unknown".into())
    };
    let imgs = |h: &Health| {
        h.images
            .iter()
            .map(|i| i.short())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let rows: Vec<(&str, String, String)> = vec![
        (
            "revision",
            p.from.id.to_string(),
            format!("{} (content of {})", after.revision, p.to.id),
        ),
        ("images", cell(before, &imgs), imgs(after)),
        (
            "ready",
            cell(before, &|h| format!("{}/{}", h.ready, h.desired)),
            format!("{}/{}", after.ready, after.desired),
        ),
        (
            "crash-looping",
            cell(before, &|h| h.crashlooping.to_string()),
            after.crashlooping.to_string(),
        ),
        (
            "5xx rate",
            cell(before, &|h| {
                h.error_rate
                    .map(|e| format!("{:.1}%", e * 100.0))
                    .unwrap_or("n/a".into())
            }),
            after
                .error_rate
                .map(|e| format!("{:.1}%", e * 100.0))
                .unwrap_or("n/a".into()),
        ),
        (
            "p95 latency",
            cell(before, &|h| {
                h.latency_p95_ms
                    .map(|l| format!("{l:.0} ms"))
                    .unwrap_or("n/a".into())
            }),
            after
                .latency_p95_ms
                .map(|l| format!("{l:.0} ms"))
                .unwrap_or("n/a".into()),
        ),
    ];
    let mut out = vec![
        "| | before | after |".to_string(),
        "|---|---|---|".to_string(),
    ];
    out.extend(
        rows.into_iter()
            .map(|(k, b, a)| format!("| {k} | {b} | {a} |")),
    );
    out
}
