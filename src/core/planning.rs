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
    if super::confirm::busy(s) {
        return;
    }
    match make_plan(s, target, to, exact, retag, fx) {
        Ok(p) => {
            s.group = None;
            s.plan = Some(p);
            s.view.popup = Some(Popup::Plan);
        }
        Err(e) => s.flash = Some((true, e)),
    }
}

/// A plan from the target's fresh read, with the questions it asks the
/// platform sent (each a pending check until its answer is folded in by
/// plan id, wherever the plan is kept: alone or in a group).
pub(super) fn make_plan(
    s: &mut State,
    target: &str,
    to: &str,
    exact: bool,
    retag: bool,
    fx: &mut Vec<Effect>,
) -> Result<plan::RollbackPlan, String> {
    let (Some(t), Some(h)) = (s.target(target).cloned(), s.history(target).cloned()) else {
        return Err(format!("history of {target} not loaded yet"));
    };
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
    let mut p = if retag {
        plan::build_retag(inputs)?
    } else {
        plan::build(inputs)?
    };
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
    // check, filled when its answer comes back.
    let runnable = p.refusal().is_none();
    if runnable && p.is_rollback() {
        let e = Effect::ReadChanges {
            plan_id: id,
            plan: Box::new(p.clone()),
        };
        ask(
            &mut p,
            fx,
            plan::CheckId::Changes,
            "reading what the rollback changes…",
            e,
        );
    }
    if runnable {
        let e = Effect::CheckPermissions {
            plan_id: id,
            plan: Box::new(p.clone()),
        };
        let detail = "asking the platform whether rbtui may do this…";
        ask(&mut p, fx, plan::CheckId::Permissions, detail, e);
    }
    if runnable && s.settings.mode == Mode::Rehearsal {
        // Rehearsal: the platform previews the change first, where it can.
        let e = Effect::Preview {
            plan_id: id,
            plan: Box::new(p.clone()),
        };
        ask(
            &mut p,
            fx,
            plan::CheckId::DryRun,
            "server-side dry run running…",
            e,
        );
    }
    Ok(p)
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
    let Some(bad) = s.row(&p.target.name).map(|row| &row.rolled_back_from) else {
        return;
    };
    let hit = p.to.images.iter().find_map(|i| {
        bad.iter()
            .find(|(b, _)| b.same_build(i))
            .map(|(b, why)| (b, why))
    });
    if let Some((img, why)) = hit {
        let detail = format!("{} runs {}, which was {why}", p.to.id, img.short());
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
    if super::confirm::busy(s) {
        return;
    }
    let Some(t) = s.target(target).cloned() else {
        return;
    };
    let Some(h) = s.history(&t.name).cloned() else {
        s.flash = Some((true, format!("history of {} not loaded yet", t.name)));
        return;
    };
    let bad = s
        .followup(&t.name)
        .and_then(|(from, _)| from.git_sha.clone());
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
        bad.as_deref(),
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
            s.group = None;
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

/// Records a plan once all its checks are known, and ticks what it proves.
pub(super) fn plan_ready(s: &mut State, plan_id: PlanId, fx: &mut Vec<Effect>) {
    let Some(p) = plan_mut(s, plan_id).map(|p| p.clone()) else {
        return;
    };
    let mut details: Vec<String> = p.confirm_lines().into_iter().skip(1).collect();
    for c in &p.checks {
        details.push(format!(
            "check {} `{}`: {}",
            c.status.label(),
            c.id,
            c.detail
        ));
    }
    if let Some(m) = &p.migration {
        details.push(format!(
            "migrations {}..{}: {}",
            m.to_rev,
            m.from_rev,
            m.verdict.label()
        ));
        for f in &m.files {
            let v = if f.is_down {
                "down migration (listed, not applied)".to_string()
            } else {
                f.verdict()
                    .map(|v| v.label().to_string())
                    .unwrap_or("empty".into())
            };
            details.push(format!("  {} ({}): {}", f.path, f.change, v));
            for st in f
                .statements
                .iter()
                .filter(|st| st.verdict != super::migration::SqlVerdict::Compatible)
            {
                details.push(format!(
                    "    line {}: {} — {}",
                    st.line,
                    st.verdict.label(),
                    st.reason
                ));
            }
        }
    }
    let t = p.target.name.clone();
    record(
        s,
        fx,
        EntryKind::Plan,
        Some(t.clone()),
        format!("plan #{}: {}", p.id, p.title()),
        details,
        None,
    );
    // A plan that can never run proves nothing for the checklist.
    if !p.is_rollback() || p.refusal().is_some() {
        return;
    }
    auto_tick(
        s,
        fx,
        &t,
        AutoEvent::PlanBuilt,
        Some(format!("{} → {}", p.from.id, p.to.id)),
    );
    let lkg = s.history(&t).and_then(|h| h.last_known_good.clone());
    if lkg.as_deref() == Some(p.to.id.as_str()) {
        auto_tick(
            s,
            fx,
            &t,
            AutoEvent::LastKnownGoodChosen,
            Some(format!(
                "{} {} is the last one an earlier incident recorded healthy",
                p.target.kind.revision_word(),
                p.to.id
            )),
        );
    } else {
        let why = match lkg {
            Some(g) => format!("{} is not the last known good ({g})", p.to.id),
            None => format!(
                "no earlier incident recorded a healthy {}: {} is a pick, not a known good",
                p.target.kind.revision_word(),
                p.to.id
            ),
        };
        not_ticked(s, fx, &t, AutoEvent::LastKnownGoodChosen, why);
    }
    if p.checks
        .iter()
        .any(|c| c.id == super::plan::CheckId::Schema && c.status == CheckStatus::Pass)
    {
        let d = p
            .checks
            .iter()
            .find(|c| c.id == super::plan::CheckId::Schema)
            .map(|c| c.detail.clone());
        auto_tick(s, fx, &t, AutoEvent::SchemaChecked, d);
    }
}

/// Folds the platform's answer on rights into the plan: a right it
/// refuses blocks (no override: the platform would refuse the step); a
/// platform that cannot be asked leaves no check, and one whose answer
/// failed says so.
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
    let Some(i) = p.checks.iter().position(|c| c.id == plan::CheckId::Changes) else {
        return;
    };
    let (status, detail, lines) = match result {
        None => {
            p.checks.remove(i);
            return;
        }
        Some(Err(e)) => (
            CheckStatus::Warn,
            format!("what changes could not be read ({e}); the plan's steps say what is sent"),
            vec![],
        ),
        Some(Ok(diff)) => {
            let (added, removed) = super::change_diff::counts(&diff);
            let from = if demo {
                "simulated by the demo".to_string()
            } else {
                format!("read from {}", p.target.kind.label())
            };
            let detail = format!("{from}: {added} line(s) added, {removed} removed (below)");
            let lines = diff.lines().map(str::to_string).collect();
            p.diff = Some(diff);
            (CheckStatus::Pass, detail, lines)
        }
    };
    p.checks[i].status = status;
    p.checks[i].detail = detail.clone();
    p.sort_checks();
    let t = p.target.name.clone();
    record(
        s,
        fx,
        EntryKind::Check,
        Some(t),
        format!("plan #{plan_id} what changes: {detail}"),
        lines,
        None,
    );
}

pub(super) fn permissions_read(
    s: &mut State,
    plan_id: PlanId,
    result: Option<Result<Vec<(bool, String)>, BackendError>>,
    fx: &mut Vec<Effect>,
) {
    let Some(p) = plan_mut(s, plan_id) else {
        return;
    };
    let id = super::plan::CheckId::Permissions;
    let Some(i) = p.checks.iter().position(|c| c.id == id) else {
        return;
    };
    let (status, detail) = match result {
        None => {
            p.checks.remove(i);
            return;
        }
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
        Some(Ok(rights)) => {
            let denied: Vec<&String> = rights
                .iter()
                .filter(|(ok, _)| !ok)
                .map(|(_, w)| w)
                .collect();
            if denied.is_empty() {
                (
                    CheckStatus::Pass,
                    format!(
                        "the platform grants {}",
                        rights
                            .iter()
                            .map(|(_, w)| w.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                )
            } else {
                (
                    CheckStatus::Block,
                    format!(
                        "the identity rbtui acts as may not {}: ask for the right or hand over to someone who has it",
                        denied
                            .iter()
                            .map(|w| w.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                )
            }
        }
    };
    p.checks[i].status = status;
    p.checks[i].detail = detail.clone();
    p.sort_checks();
    let target = p.target.name.clone();
    record(
        s,
        fx,
        EntryKind::Check,
        Some(target),
        format!("plan #{plan_id} permissions: {detail}"),
        vec![],
        None,
    );
}

/// Folds a dry-run answer into the plan's `dry-run` check and records it.
pub(super) fn preview_read(
    s: &mut State,
    plan_id: PlanId,
    result: Option<Result<String, BackendError>>,
    fx: &mut Vec<Effect>,
) {
    let Some(p) = plan_mut(s, plan_id) else {
        return;
    };
    let Some(c) = p
        .checks
        .iter_mut()
        .find(|c| c.id == super::plan::CheckId::DryRun)
    else {
        return;
    };
    let (status, detail) = match result {
        // Nothing was previewed: no PASS for a check that did not happen.
        None => (
            CheckStatus::Warn,
            "not previewed: this platform has no side-effect-free dry run".to_string(),
        ),
        Some(Ok(m)) => (CheckStatus::Pass, format!("server-side dry run: {m}")),
        Some(Err(e)) => (
            CheckStatus::Warn,
            format!("server-side dry run refused: {e}"),
        ),
    };
    c.status = status;
    c.detail = detail.clone();
    p.sort_checks();
    let t = p.target.name.clone();
    record(
        s,
        fx,
        EntryKind::Check,
        Some(t),
        format!("plan #{plan_id} {detail}"),
        vec![],
        None,
    );
}
