//! A plan from a fresh read to the confirm: built, then completed by the
//! answers it asked for (migrations, permissions, a dry run), recorded once
//! every check is known.

use super::action::Effect;
use super::checklist::auto_tick;
use super::checklist::not_ticked;
use super::entry::EntryKind;
use super::error::BackendError;
use super::model::Mode;
use super::plan::CheckStatus;
use super::plan::PlanId;
use super::plan::{self, PlanInputs};
use super::record::record;
use super::runbook::AutoEvent;
use super::state::Popup;
use super::state::State;

pub(super) fn build_plan(
    s: &mut State,
    target: &str,
    to: &str,
    exact: bool,
    retag: bool,
    fx: &mut Vec<Effect>,
) {
    if super::confirm::busy(s, target) {
        return;
    }
    match make_plan(s, target, to, exact, retag, fx) {
        Ok(p) => {
            // A group being planned gives way; one that runs goes on.
            s.group.take_if(|g| !g.confirmed);
            s.plan = Some(p);
            s.view.popup = Some(Popup::Plan);
        }
        Err(e) => s.flash = Some((true, e.to_string())),
    }
}

/// Why a request did not become a plan.
#[derive(Debug, Clone, PartialEq)]
pub enum NoPlan {
    /// The target already runs what was asked for, verified by this
    /// incident: there is nothing to roll back (a group leaves it out).
    NothingToDo(String),
    /// The request cannot become a plan (unknown revision, no history).
    Cannot(String),
}

impl std::fmt::Display for NoPlan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NoPlan::NothingToDo(m) | NoPlan::Cannot(m) => f.write_str(m),
        }
    }
}

/// A plan from the target's fresh read, with the questions it asks the
/// platform sent (each a pending check until its answer is folded in by
/// plan id, wherever the plan is kept: alone or in a group). The one
/// pipeline: the console, groups and `rbtui plan` all build here.
pub(super) fn make_plan(
    s: &mut State,
    target: &str,
    to: &str,
    exact: bool,
    retag: bool,
    fx: &mut Vec<Effect>,
) -> Result<plan::RollbackPlan, NoPlan> {
    let (Some(t), Some(h)) = (s.target(target).cloned(), s.history(target).cloned()) else {
        return Err(NoPlan::Cannot(format!(
            "history of {target} not loaded yet"
        )));
    };
    if retag && !s.settings.retag.contains(&t.name) {
        return Err(NoPlan::Cannot(format!(
            "re-tag is not allowed for {}: set retag = true on the target",
            t.name
        )));
    }
    if let Some(why) = nothing_to_roll_back(s, &h, to) {
        return Err(NoPlan::NothingToDo(why));
    }
    let id = s.next_plan_id;
    let inputs = PlanInputs {
        id,
        target: &t,
        mode: s.settings.mode,
        history: &h,
        to,
        now: s.now,
        before: s.health(target),
        mutable_tags: &s.settings.mutable_tags,
        rollout_timeout_secs: s.settings.rollout_timeout_secs,
        exact_template: exact,
    };
    let built = if retag {
        plan::build_retag(inputs)
    } else {
        plan::build(inputs)
    };
    let mut p = built.map_err(NoPlan::Cannot)?;
    if s.settings.read_only_in(&t.environment) {
        plan::refuse_read_only_environment(&mut p);
    }
    s.next_plan_id = s.next_plan_id.next();
    s.view.migration_scroll = 0;
    s.view.plan_scroll = 0;
    fx.push(Effect::LoadMigrations {
        plan_id: id,
        plan: Box::new(p.clone()),
    });
    block_rolled_back_from(s, &mut p);
    // Asked of the platform before anyone types a name: each a pending
    // check, filled when its answer comes back. The platform previews the
    // change where it has a side-effect-free dry run (the same in the
    // console and `rbtui plan`).
    if p.refusal().is_none() {
        type Asked = fn(PlanId, Box<plan::RollbackPlan>) -> Effect;
        let questions: [(plan::CheckId, &str, Asked); 3] = [
            (
                plan::CheckId::Changes,
                "reading what the rollback changes…",
                |plan_id, plan| Effect::ReadChanges { plan_id, plan },
            ),
            (
                plan::CheckId::Permissions,
                "asking the platform whether rbtui may do this…",
                |plan_id, plan| Effect::CheckPermissions { plan_id, plan },
            ),
            (
                plan::CheckId::DryRun,
                "server-side dry run running…",
                |plan_id, plan| Effect::Preview { plan_id, plan },
            ),
        ];
        for (check, detail, effect) in questions {
            if check == plan::CheckId::Changes && !p.is_rollback() {
                continue;
            }
            let e = effect(id, Box::new(p.clone()));
            ask(&mut p, fx, check, detail, e);
        }
    }
    Ok(p)
}

/// "lkg" asked while the target runs what a verified rollback of this
/// incident landed: there is nothing to roll back, and the plan says so
/// instead of reaching further back.
fn nothing_to_roll_back(s: &State, h: &super::model::History, to: &str) -> Option<String> {
    if to != "lkg" {
        return None;
    }
    let story = s.incident.story(&h.target)?;
    let cur = story.lkg_in(h)?;
    let run = story.last_verified()?;
    let at = run
        .ended
        .as_ref()
        .map(|e| super::fmt::hms(e.at))
        .unwrap_or_default();
    let word = s
        .target(&h.target)
        .map(|t| t.kind.revision_word())
        .unwrap_or("revision");
    Some(format!(
        "nothing to roll back: {} runs {word} {}, the last known good (the content of {}, verified by plan #{} at {at})",
        h.target, cur.id, run.to.id, run.plan
    ))
}

/// The plan with this id, alone or in the group being planned.
fn plan_mut(s: &mut State, id: PlanId) -> Option<&mut plan::RollbackPlan> {
    if s.plan.as_ref().is_some_and(|p| p.id == id) {
        return s.plan.as_mut();
    }
    s.group
        .as_mut()
        .filter(|g| !g.confirmed)
        .and_then(|g| g.plan_mut(id))
}

/// A check the platform answers later: pending until its effect returns.
fn ask(
    p: &mut plan::RollbackPlan,
    fx: &mut Vec<Effect>,
    id: plan::CheckId,
    detail: &str,
    effect: Effect,
) {
    p.checks.push(plan::Check {
        id,
        status: CheckStatus::Pending,
        detail: detail.into(),
        overridable: false,
    });
    fx.push(effect);
}

/// A plan back to an image this session rolled the target back from is
/// blocked (a typed reason may override): after a Swarm rollback the
/// engine's "previous" is the bad spec.
pub(super) fn block_rolled_back_from(s: &State, p: &mut plan::RollbackPlan) {
    let Some(story) = s.incident.story(&p.target.name) else {
        return;
    };
    let blocked = p
        .checks
        .iter()
        .any(|c| c.id == super::plan::CheckId::Revision && c.status == CheckStatus::Block);
    if blocked {
        return;
    }
    let hit = story.rolled_back_from().into_iter().find_map(|r| {
        let bad: Vec<super::model::ImageRef> = r
            .from
            .images
            .iter()
            .map(|i| super::model::ImageRef::parse(i))
            .collect();
        p.to.images
            .iter()
            .find_map(|i| bad.iter().find(|b| b.same_build(i)).cloned())
            .map(|b| (b, r))
    });
    if let Some((img, r)) = hit {
        let when = r.sent.map(super::fmt::hms).unwrap_or_default();
        let detail = format!(
            "{} runs {}, which was rolled back from at {when} in this incident (plan #{})",
            p.to.id,
            img.short(),
            r.plan
        );
        p.checks
            .retain(|c| !(c.id == super::plan::CheckId::Revision && c.status == CheckStatus::Pass));
        p.checks.insert(
            0,
            plan::Check {
                id: super::plan::CheckId::Revision,
                status: CheckStatus::Block,
                detail,
                overridable: true,
            },
        );
    }
}

/// The follow-up plan that turns Argo CD auto-sync back on.
pub(super) fn reenable_plan(s: &mut State, target: &str, fx: &mut Vec<Effect>) {
    if super::confirm::busy(s, target) {
        return;
    }
    let Some(t) = s.target(target).cloned() else {
        return;
    };
    let Some(h) = s.history(&t.name).cloned() else {
        s.flash = Some((true, format!("history of {} not loaded yet", t.name)));
        return;
    };
    let rolled_back = s.followup(&t.name);
    let id = s.next_plan_id;
    let r = plan::build_reenable(
        PlanInputs {
            id,
            target: &t,
            mode: s.settings.mode,
            history: &h,
            to: "",
            now: s.now,
            before: s.health(&t.name),
            mutable_tags: &s.settings.mutable_tags,
            rollout_timeout_secs: s.settings.rollout_timeout_secs,
            exact_template: false,
        },
        rolled_back.as_ref().map(|(from, to)| (from, to)),
    );
    match r {
        Ok(mut p) => {
            if s.settings.read_only_in(&t.environment) {
                plan::refuse_read_only_environment(&mut p);
            }
            // The repo's own fact (a revert commit, or HEAD's tree without
            // the change), when one was found, stands beside Argo CD's HEAD.
            let revert = s
                .checklist(&t.name)
                .and_then(|c| c.get("revert"))
                .and_then(|tk| tk.evidence.clone());
            if let Some(c) = p
                .checks
                .iter_mut()
                .find(|c| c.id == plan::CheckId::Revert && c.status == CheckStatus::Pass)
            {
                c.detail = match revert {
                    Some(e) => format!("{}; in the configured repo: {e}", c.detail),
                    None => c.detail.clone(),
                };
            }
            s.next_plan_id = s.next_plan_id.next();
            // A group being planned gives way; one that runs goes on.
            s.group.take_if(|g| !g.confirmed);
            s.plan = Some(p);
            s.view.popup = Some(Popup::Plan);
            plan_ready(s, id, fx);
        }
        Err(e) => s.flash = Some((true, e)),
    }
}

pub(super) fn migrations_loaded(
    s: &mut State,
    plan_id: PlanId,
    result: Result<super::migration::MigrationDiff, BackendError>,
    fx: &mut Vec<Effect>,
) {
    let Some(p) = plan_mut(s, plan_id) else {
        return;
    };
    p.apply_migrations(result);
    plan_ready(s, plan_id, fx);
}

/// Records a plan once every check it asked has its answer (the plan
/// entry carries them all, and the incident's marker), and ticks what it
/// proves. Called after each answer; only the last one records.
pub(super) fn plan_ready(s: &mut State, plan_id: PlanId, fx: &mut Vec<Effect>) {
    let Some(p) = plan_mut(s, plan_id).map(|p| p.clone()) else {
        return;
    };
    if p.pending() {
        return;
    }
    let t = p.target.name.clone();
    let text = format!("plan #{}: {}", p.id, p.title());
    let m = planned_marker(&p);
    // The same plan as the target's last one: recorded by reference.
    let m = match (&m, s.incident.story(&t).and_then(|st| st.plans.last())) {
        (
            super::entry::Marker::Planned {
                kind,
                from,
                to,
                checks,
                ..
            },
            Some(last),
        ) if last.kind == *kind
            && last.from == *from
            && last.to == *to
            && last.checks == *checks =>
        {
            super::entry::Marker::Replanned {
                target: t.clone(),
                plan: p.id.0,
                like: last.id.0,
            }
        }
        _ => m,
    };
    let lines = plan_lines(&p);
    let details = match s.row(&t).and_then(|r| r.last_plan.clone()) {
        Some((before, prev)) => plan_delta(before, &prev, &lines),
        None => lines.clone(),
    };
    s.row_mut(&t).last_plan = Some((p.id, lines));
    record(s, fx, EntryKind::Plan, Some(t), text, details, Some(m));
    plan_ticks(s, &p, fx);
}

/// A re-plan of a target, against its previous plan: the lines that are
/// new or changed as they are (a diff block whole), those gone as "no
/// longer: …", and how many stayed. A `v` toggle or a second look at the
/// same revision recorded the whole plan again and again (a 3.5-minute
/// demo gave a 53 KB note).
fn plan_delta(before: PlanId, prev: &[String], now: &[String]) -> Vec<String> {
    let units = |lines: &[String]| -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        let mut fence: Option<String> = None;
        for l in lines {
            match fence.as_mut() {
                Some(f) => {
                    f.push('\n');
                    f.push_str(l);
                    if l.starts_with("```") {
                        out.extend(fence.take());
                    }
                }
                None if l.starts_with("```") => fence = Some(l.clone()),
                None => out.push(l.clone()),
            }
        }
        out.extend(fence);
        out
    };
    let (prev, now) = (units(prev), units(now));
    let same = now.iter().filter(|u| prev.contains(u)).count();
    let mut out = vec![format!(
        "as plan #{before} (above) but for what follows; {same} line(s) the same"
    )];
    out.extend(
        now.iter()
            .filter(|u| !prev.contains(u))
            .flat_map(|u| u.lines().map(str::to_string).collect::<Vec<_>>()),
    );
    for gone in prev.iter().filter(|u| !now.contains(u)) {
        match gone.lines().next() {
            Some(l) if l.starts_with("```") => {
                out.push("no longer: the earlier diff of what changes".into())
            }
            _ => out.push(format!("no longer: {gone}")),
        }
    }
    out
}

/// The plan entry's lines: what will be done, every check with its answer
/// (the diff under `changes`), the migration verdict per file.
pub(super) fn plan_lines(p: &plan::RollbackPlan) -> Vec<String> {
    let mut details: Vec<String> = p.confirm_lines().into_iter().skip(1).collect();
    for c in &p.checks {
        details.push(format!(
            "check {} `{}`: {}",
            c.status.label(),
            c.id,
            c.detail
        ));
        // The diff as a fenced block, each line as it is: as list items a
        // `-` line read as a bullet and a context line lost its space.
        if let (plan::CheckId::Changes, Some(d)) = (c.id, &p.diff) {
            details.push("```diff".into());
            details.extend(d.lines().map(str::to_string));
            details.push("```".into());
        }
    }
    let Some(m) = &p.migration else {
        return details;
    };
    details.push(format!(
        "migrations {}..{}: {}",
        m.to_rev,
        m.from_rev,
        m.verdict.label()
    ));
    for f in &m.files {
        let v = f.verdict_label();
        details.push(format!("  {} ({}): {}", f.path, f.change, v));
        let compatible = super::migration::SqlVerdict::Compatible;
        for st in f.statements.iter().filter(|st| st.verdict != compatible) {
            details.push(format!(
                "    line {}: {} — {}",
                st.line,
                st.verdict.label(),
                st.reason
            ));
        }
    }
    details
}

/// The incident's record of the plan: its revisions and each check's answer.
fn planned_marker(p: &plan::RollbackPlan) -> super::entry::Marker {
    super::entry::Marker::Planned {
        target: p.target.name.clone(),
        plan: p.id.0,
        kind: p.kind,
        from: super::entry::RevFact::of(&p.from),
        to: super::entry::RevFact::of(&p.to),
        checks: p
            .checks
            .iter()
            .map(|c| (c.id.label().to_string(), c.status.label().to_string()))
            .collect(),
    }
}

/// What a complete plan proves for the checklist: a revision was chosen,
/// whether it is the last known good (and by whose word), the schema.
/// A plan that can never run proves nothing.
fn plan_ticks(s: &mut State, p: &plan::RollbackPlan, fx: &mut Vec<Effect>) {
    if !p.is_rollback() || p.refusal().is_some() {
        return;
    }
    let t = p.target.name.clone();
    let word = p.target.kind.revision_word();
    let chosen = Some(format!("{} → {}", p.from.id, p.to.id));
    auto_tick(s, fx, &t, AutoEvent::PlanBuilt, chosen);
    let lkg = s.history(&t).and_then(|h| h.last_known_good.clone());
    let by_incident = s
        .incident
        .story(&t)
        .and_then(|st| st.last_verified())
        .map(|r| r.plan);
    if lkg.as_deref() == Some(p.to.id.as_str()) {
        let whose = match by_incident {
            Some(id) => format!("verified by plan #{id} in this incident"),
            None => "the last one an earlier incident recorded healthy".to_string(),
        };
        let proof = format!("{word} {} is {whose}", p.to.id);
        auto_tick(s, fx, &t, AutoEvent::LastKnownGoodChosen, Some(proof));
    } else {
        let why = match lkg {
            Some(g) => format!("{} is not the last known good ({g})", p.to.id),
            None => format!(
                "no earlier incident recorded a healthy {word}: {} is a pick, not a known good",
                p.to.id
            ),
        };
        not_ticked(s, fx, &t, AutoEvent::LastKnownGoodChosen, why);
    }
    let schema = p
        .checks
        .iter()
        .find(|c| c.id == plan::CheckId::Schema && c.status == CheckStatus::Pass);
    if let Some(c) = schema {
        auto_tick(s, fx, &t, AutoEvent::SchemaChecked, Some(c.detail.clone()));
    }
}

/// The platform's diff of what the rollback changes: shown in the plan and
/// recorded with it. A diff that could not be read is said, never passed
/// off as "nothing changes".
pub(super) fn changes_read(
    s: &mut State,
    plan_id: PlanId,
    result: Option<Result<String, BackendError>>,
    fx: &mut Vec<Effect>,
) {
    let demo = s.settings.mode == Mode::Demo;
    let Some(p) = plan_mut(s, plan_id) else {
        return;
    };
    let (status, detail) = match result {
        None => (
            CheckStatus::Skipped,
            "not checked — this platform has no object rbtui can compare".to_string(),
        ),
        Some(Err(e)) => (
            CheckStatus::Warn,
            format!("what changes could not be read ({e}); the plan's steps say what is sent"),
        ),
        Some(Ok(diff)) => {
            let (added, removed) = super::change_diff::counts(&diff);
            let from = if demo {
                "simulated by the demo".to_string()
            } else {
                format!("read from {}", p.target.kind.label())
            };
            p.diff = Some(diff);
            (
                CheckStatus::Pass,
                format!("{from}: {added} line(s) added, {removed} removed (below)"),
            )
        }
    };
    answer(s, plan_id, plan::CheckId::Changes, status, detail, fx);
}

/// Folds one answer into its pending check, then records the plan if it
/// was the last one awaited.
fn answer(
    s: &mut State,
    plan_id: PlanId,
    id: plan::CheckId,
    status: CheckStatus,
    detail: String,
    fx: &mut Vec<Effect>,
) {
    let Some(p) = plan_mut(s, plan_id) else {
        return;
    };
    let Some(c) = p
        .checks
        .iter_mut()
        .find(|c| c.id == id && c.status == CheckStatus::Pending)
    else {
        return;
    };
    c.status = status;
    c.detail = detail;
    p.sort_checks();
    plan_ready(s, plan_id, fx);
}

/// Folds the platform's answer on rights into the plan: a right it
/// refuses blocks (no override: the platform would refuse the step); a
/// platform that has no such question says "not checked", and one whose
/// answer failed says so.
pub(super) fn permissions_read(
    s: &mut State,
    plan_id: PlanId,
    result: Option<Result<crate::core::action::Rights, BackendError>>,
    fx: &mut Vec<Effect>,
) {
    let (status, detail) = match result {
        None => (
            CheckStatus::Skipped,
            "not checked — this platform has no rights question rbtui can ask".to_string(),
        ),
        // Refused credentials refuse every step too: known now, not at
        // the step.
        Some(Err(e @ BackendError::Unauthorized(_))) => (
            CheckStatus::Block,
            format!("the platform refuses rbtui's credentials ({e}): log in again, then re-plan"),
        ),
        Some(Err(e)) if e.is_outage() => (
            CheckStatus::Warn,
            format!(
                "rights not checked: the platform did not answer ({e}); a refusal would come at the step"
            ),
        ),
        Some(Err(e)) => (
            CheckStatus::Warn,
            format!(
                "rights not checked: the question was refused ({e}); a refusal would come at the step"
            ),
        ),
        Some(Ok(rights)) => rights_answer(&rights),
    };
    answer(s, plan_id, plan::CheckId::Permissions, status, detail, fx);
}

fn rights_answer(answer: &crate::core::action::Rights) -> (CheckStatus, String) {
    let rights = &answer.each;
    let who = answer.identity.as_deref();
    let denied: Vec<&str> = rights
        .iter()
        .filter(|(ok, _)| !ok)
        .map(|(_, w)| w.as_str())
        .collect();
    if denied.is_empty() {
        let all: Vec<&str> = rights.iter().map(|(_, w)| w.as_str()).collect();
        (
            CheckStatus::Pass,
            match who {
                Some(w) => format!("the platform grants {w}: {}", all.join(", ")),
                None => format!("the platform grants {}", all.join(", ")),
            },
        )
    } else {
        (
            CheckStatus::Block,
            format!(
                "{} may not {}: rbtui sends nothing; ask for the right or hand over to someone who has it",
                who.unwrap_or("the identity rbtui acts as"),
                denied.join(", ")
            ),
        )
    }
}

/// Folds a dry-run answer into the plan's `dry-run` check.
pub(super) fn preview_read(
    s: &mut State,
    plan_id: PlanId,
    result: Option<Result<String, BackendError>>,
    fx: &mut Vec<Effect>,
) {
    // A drill expects its preview: without one, a rehearsal warns.
    let rehearsal = s.settings.mode == Mode::Rehearsal;
    let (status, detail) = match result {
        // Nothing was previewed: no PASS for a check that did not happen.
        None if rehearsal => (
            CheckStatus::Warn,
            "not previewed: this platform has no side-effect-free dry run".to_string(),
        ),
        None => (
            CheckStatus::Skipped,
            "not checked — this platform has no side-effect-free dry run".to_string(),
        ),
        Some(Ok(m)) => (CheckStatus::Pass, format!("server-side dry run: {m}")),
        Some(Err(e)) => (
            CheckStatus::Warn,
            format!("server-side dry run refused: {e}"),
        ),
    };
    answer(s, plan_id, plan::CheckId::DryRun, status, detail, fx);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::action::Action;
    use crate::core::testkit::*;

    /// The plan is recorded once, with the last answer: never while a check
    /// it asked is still out, and a platform with no rights question is
    /// answered "not checked" rather than dropped.
    #[test]
    fn a_plan_is_recorded_only_once_every_check_is_answered() {
        let mut s = web();
        let mut fx = vec![];
        build_plan(&mut s, "web", "1", false, false, &mut fx);
        let id = s.plan.as_ref().unwrap().id;
        let plan = s.plan.clone().unwrap();
        let mut fx = crate::core::update(
            &mut s,
            Action::MigrationsLoaded {
                plan_id: id,
                result: Ok(plan.migrations_not_checked("no repo")),
            },
        );
        fx.extend(crate::core::update(
            &mut s,
            Action::ChangesRead {
                plan_id: id,
                result: None,
            },
        ));
        fx.extend(crate::core::update(
            &mut s,
            Action::PreviewRead {
                plan_id: id,
                result: None,
            },
        ));
        assert!(
            !said(&fx).contains("plan #"),
            "recorded before the last answer"
        );
        fx.extend(crate::core::update(
            &mut s,
            Action::PermissionsRead {
                plan_id: id,
                result: None,
            },
        ));
        let plans: Vec<_> = records(&fx)
            .into_iter()
            .filter(|e| e.text.starts_with("plan #"))
            .collect();
        assert_eq!(plans.len(), 1);
        let lines = plans[0].details.join("\n");
        assert!(
            lines.contains(
                "check SKIP `permissions`: not checked — this platform has no rights question"
            ),
            "{lines}"
        );
        assert!(!s.plan.as_ref().unwrap().pending());
    }

    /// A right the platform refuses blocks (no override); refused
    /// credentials too; an outage warns that the refusal would come late.
    #[test]
    fn rights_are_answered_as_the_platform_gave_them() {
        use crate::core::action::Rights;
        let each = vec![
            (true, "patch deployments".into()),
            (false, "get pods".into()),
        ];
        let (st, d) = rights_answer(&Rights {
            identity: None,
            each,
        });
        assert_eq!(st, CheckStatus::Block);
        assert!(
            d.contains("the identity rbtui acts as may not get pods"),
            "{d}"
        );
        let each = vec![(true, "sync".into()), (false, "update".into())];
        let (_, d) = rights_answer(&Rights {
            identity: Some("account ci-bot".into()),
            each,
        });
        assert!(
            d.starts_with("account ci-bot may not update: rbtui sends nothing"),
            "{d}"
        );
        let each = vec![(true, "patch deployments".into())];
        let (st, _) = rights_answer(&Rights {
            identity: None,
            each,
        });
        assert_eq!(st, CheckStatus::Pass);
    }

    /// "lkg" while the target runs what a verified rollback landed: there
    /// is nothing to roll back, said with the plan that verified it.
    #[test]
    fn lkg_from_a_verified_state_is_nothing_to_roll_back() {
        let mut s = web();
        let fact = |id: &str, sha: &str| crate::core::entry::RevFact {
            id: id.into(),
            sha: Some(sha.into()),
            images: vec![],
            deployed_at: None,
        };
        s.incident.apply(
            t0(),
            &crate::core::entry::Marker::RunStarted {
                target: "web".into(),
                plan: 1,
                kind: plan::PlanKind::Rollback,
                from: fact("1", "aaaaaaa"),
                to: fact("2", "bbbbbbb"),
                group: None,
            },
        );
        s.incident.apply(
            t0(),
            &crate::core::entry::Marker::RunEnded {
                target: "web".into(),
                plan: 1,
                result: crate::core::entry::RunResult::Verified,
                why: "recovered".into(),
                landed: Some("2".into()),
            },
        );
        let h = s.history("web").unwrap().clone();
        let why = nothing_to_roll_back(&s, &h, "lkg").unwrap();
        assert!(
            why.starts_with("nothing to roll back: web runs revision 2"),
            "{why}"
        );
        assert!(why.contains("verified by plan #1"), "{why}");
        assert!(
            nothing_to_roll_back(&s, &h, "1").is_none(),
            "an explicit pick is the operator's"
        );
    }
}
