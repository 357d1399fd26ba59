//! Several targets rolled back together: one plan with a section per
//! target, one confirm, then runs in parallel or one after another. A
//! member that fails or is refused as stale stops every step not yet
//! started (unless the confirm said "continue on failure"), and the note
//! says per target what ran and what did not. Part of `update`; pure.

use super::action::Effect;
use super::entry::EntryKind;
use super::group::{Group, MemberState, Order};
use super::plan::{PlanId, RollbackPlan};
use super::record::record;
use super::state::{Popup, State};
use chrono::{DateTime, Utc};

/// Asks for a fresh read of every member; each plan is built from its
/// answer (`member_read`), as a single target's is.
pub(super) fn request(
    s: &mut State,
    name: &str,
    members: Vec<String>,
    order: Order,
    to: &str,
    fx: &mut Vec<Effect>,
) {
    if members.iter().any(|m| super::confirm::busy(s, m)) {
        return;
    }
    if let Some(g) = s.group.as_ref().filter(|g| g.running()) {
        s.flash = Some((
            true,
            format!(
                "group {} is still rolling back; plan the next group once it is done",
                g.name
            ),
        ));
        return;
    }
    let unknown: Vec<&String> = members.iter().filter(|m| s.target(m).is_none()).collect();
    if !unknown.is_empty() {
        let names: Vec<&str> = unknown.iter().map(|m| m.as_str()).collect();
        s.flash = Some((
            true,
            format!("group {name}: no target named {}", names.join(", ")),
        ));
        return;
    }
    if members.len() < 2 {
        s.flash = Some((
            true,
            "a group needs at least two targets: mark them with space in Health".into(),
        ));
        return;
    }
    s.plan = None;
    s.pending_plan = None;
    s.view.plan_scroll = 0;
    s.flash = Some((
        false,
        format!(
            "reading {} targets afresh to plan group {name}…",
            members.len()
        ),
    ));
    for m in &members {
        fx.push(Effect::LoadHistory(m.clone()));
    }
    s.group = Some(Group {
        name: name.into(),
        order,
        to: to.into(),
        members,
        plans: vec![],
        unplanned: vec![],
        skipped: vec![],
        asked_at: s.now,
        continue_on_failure: false,
        confirmed: false,
        override_reason: None,
        stopped: None,
        reported: false,
    });
    s.view.popup = Some(Popup::GroupPlan);
}

/// The group planned from the Health pane: the marked targets, else the
/// configured group of the selected target.
pub(super) fn request_from_health(s: &mut State, fx: &mut Vec<Effect>) {
    if !s.view.marked.is_empty() {
        // Listed in the screen's order, so "sequential" means top to
        // bottom; a marked target the filter hides still belongs.
        let mut members: Vec<String> = s
            .order
            .iter()
            .map(|&i| s.targets[i].name.clone())
            .filter(|n| s.view.marked.contains(n))
            .collect();
        let hidden: Vec<String> = s
            .view
            .marked
            .iter()
            .filter(|m| !members.contains(m))
            .cloned()
            .collect();
        members.extend(hidden);
        return request(s, "marked", members, Order::Sequential, "lkg", fx);
    }
    let sel = s.view.selected.clone().unwrap_or_default();
    let Some(g) = s
        .settings
        .groups
        .iter()
        .find(|g| g.targets.contains(&sel))
        .cloned()
    else {
        s.flash = Some((
            true,
            "mark targets with space (or select one in a configured [[group]]), then press R"
                .into(),
        ));
        return;
    };
    request(s, &g.name, g.targets, g.order, "lkg", fx)
}

/// A configured group asked for by name (`:group`, `rbtui plan --group`).
pub(super) fn request_named(s: &mut State, name: &str, to: &str, fx: &mut Vec<Effect>) {
    let Some(g) = s.settings.groups.iter().find(|g| g.name == name).cloned() else {
        let known: Vec<&str> = s.settings.groups.iter().map(|g| g.name.as_str()).collect();
        s.flash = Some((
            true,
            if known.is_empty() {
                format!("unknown group `{name}`: the config has no [[group]]")
            } else {
                format!("unknown group `{name}` (known: {})", known.join(", "))
            },
        ));
        return;
    };
    request(s, &g.name, g.targets, g.order, to, fx)
}

/// `v` in the group plan: the other target revision for every member
/// ("lkg" ↔ "previous"), from fresh reads.
pub(super) fn switch_target(s: &mut State, fx: &mut Vec<Effect>) {
    let Some(g) = s.group.as_ref().filter(|g| !g.confirmed) else {
        return;
    };
    let to = if g.to == "lkg" { "previous" } else { "lkg" };
    let (name, members, order) = (g.name.clone(), g.members.clone(), g.order);
    s.group = None;
    request(s, &name, members, order, to, fx);
}

/// A fresh read of a member arrived: its plan is built, with the checks it
/// asks of the platform, exactly as a single target's.
pub(super) fn member_read(
    s: &mut State,
    target: &str,
    fetched: DateTime<Utc>,
    fx: &mut Vec<Effect>,
) {
    let Some(g) = s.group.as_ref() else { return };
    let wanted = !g.confirmed
        && fetched >= g.asked_at
        && g.members.iter().any(|m| m == target)
        && !g.has(target);
    if !wanted {
        return;
    }
    let to = g.to.clone();
    let built = super::plan_flow::make_plan(s, target, &to, false, false, fx);
    let Some(g) = s.group.as_mut() else { return };
    match built {
        Ok(p) => g.plans.push(p),
        Err(super::plan_flow::NoPlan::NothingToDo(why)) => g.skipped.push((target.into(), why)),
        Err(e) => g.unplanned.push((target.into(), e.to_string())),
    }
    if g.read() {
        s.flash = None;
        let Some(g) = s.group.as_ref() else { return };
        let title = g.title();
        let mut lines: Vec<String> = g
            .ordered()
            .iter()
            .map(|p| format!("plan #{}: {}", p.id, p.title()))
            .collect();
        lines.extend(
            g.unplanned
                .iter()
                .map(|(m, why)| format!("{m}: no plan ({why})")),
        );
        lines.extend(
            g.skipped
                .iter()
                .map(|(m, why)| format!("{m}: left out — {why}")),
        );
        record(
            s,
            fx,
            EntryKind::Plan,
            None,
            format!("{title}: one plan per target"),
            lines,
            None,
        );
    }
}

/// A member's read failed: it has no plan, and the group says which.
pub(super) fn member_failed(s: &mut State, target: &str, why: String) {
    if let Some(g) = s
        .group
        .as_mut()
        .filter(|g| !g.confirmed && g.members.iter().any(|m| m == target) && !g.has(target))
    {
        g.unplanned
            .push((target.into(), format!("reading it failed: {why}")));
    }
}

/// Starts what the group's order allows, stops what a failure forbids, and
/// records the before/after table once every member is done. Idempotent:
/// `update` calls it after every action while a group runs.
pub(super) fn advance(s: &mut State, fx: &mut Vec<Effect>) {
    let Some(g) = s.group.clone().filter(Group::running) else {
        return;
    };
    let ids: Vec<PlanId> = g.ordered().iter().map(|p| p.id).collect();
    let states: Vec<MemberState> = ids.iter().map(|&id| s.member_state(id)).collect();
    let failed = ids.iter().zip(&states).find_map(|(id, st)| match st {
        MemberState::Failed(m) => Some((*id, m.clone())),
        _ => None,
    });
    if let (Some((id, why)), None, false) = (&failed, &g.stopped, g.continue_on_failure) {
        let who = g
            .plans
            .iter()
            .find(|p| p.id == *id)
            .map(|p| p.target.name.clone())
            .unwrap_or_default();
        let reason = format!("{who} failed ({why})");
        stop(s, fx, &reason);
    }
    let stopped = s.group.as_ref().and_then(|g| g.stopped.clone());
    let running = states.contains(&MemberState::Running);
    if stopped.is_none() {
        let next = ids
            .iter()
            .zip(&states)
            .filter(|(_, st)| **st == MemberState::NotStarted)
            .map(|(id, _)| *id);
        let start: Vec<PlanId> = match g.order {
            Order::Parallel => next.collect(),
            Order::Sequential if !running => next.take(1).collect(),
            Order::Sequential => vec![],
        };
        for id in start {
            if s.note_error.is_some() {
                stop(s, fx, "the note cannot be written");
                break;
            }
            let Some(p) = g.plans.iter().find(|p| p.id == id).cloned() else {
                continue;
            };
            let reason = p
                .needs_override()
                .then(|| s.group.as_ref().and_then(|g| g.override_reason.clone()))
                .flatten();
            super::run::start_run(s, p, reason, Some(g.name.clone()), fx);
        }
    }
    let states: Vec<MemberState> = ids.iter().map(|&id| s.member_state(id)).collect();
    let stopped = s.group.as_ref().is_some_and(|g| g.stopped.is_some());
    let over = states.iter().all(|st| match st {
        MemberState::Running => false,
        MemberState::NotStarted => stopped,
        _ => true,
    });
    if over {
        report(s, fx);
    }
}

/// No member starts another step: runs in flight stop before their next,
/// members not started never start; each says so in the note.
fn stop(s: &mut State, fx: &mut Vec<Effect>, reason: &str) {
    let Some(g) = s.group.as_mut() else { return };
    g.stopped = Some(reason.to_string());
    let plans = g.ordered().into_iter().cloned().collect::<Vec<_>>();
    for r in s.runs.iter_mut().filter(|r| r.in_flight()) {
        if plans.iter().any(|p| p.id == r.plan.id) {
            r.halt_with(super::state::Halt::Group(reason.to_string()));
        }
    }
    for p in plans {
        if s.member_state(p.id) == MemberState::NotStarted {
            let lines = p
                .steps
                .iter()
                .enumerate()
                .map(|(i, st)| format!("NOT run: step {} {}", i + 1, st.words(&p.target, &p.from)))
                .collect();
            record(
                s,
                fx,
                EntryKind::Failed,
                Some(p.target.name.clone()),
                format!(
                    "plan #{} not started: the group stopped because {reason}",
                    p.id
                ),
                lines,
                None,
            );
        }
    }
    s.flash = Some((true, format!("group stopped: {reason}")));
}

/// The group's one before/after table, and what became of each member.
fn report(s: &mut State, fx: &mut Vec<Effect>) {
    let Some(g) = s.group.as_mut() else { return };
    g.reported = true;
    let g = g.clone();
    let mut lines = vec![
        "| target | from → to | before | after | result |".to_string(),
        "|---|---|---|---|---|".to_string(),
    ];
    let mut ok = 0;
    for p in g.ordered() {
        let run = s.runs.iter().find(|r| r.plan.id == p.id);
        let cell = |h: Option<&super::model::Health>| {
            h.map(|h| {
                format!(
                    "{} {}/{} ready, {}",
                    h.revision,
                    h.ready,
                    h.desired,
                    super::watch::metric_text(h)
                )
            })
            .unwrap_or_else(|| "unknown".into())
        };
        let after = run.and_then(|r| r.after());
        let result = match s.member_state(p.id) {
            MemberState::Succeeded => {
                ok += 1;
                match run.and_then(|r| r.caveat()) {
                    Some(c) => format!("done, NOT PROVEN: {c}"),
                    None => "verified".to_string(),
                }
            }
            MemberState::Failed(m) => format!("FAILED: {m}"),
            MemberState::NotStarted => "NOT started".to_string(),
            MemberState::Running => "still running".to_string(),
        };
        lines.push(format!(
            "| {} | {} → {} | {} | {} | {} |",
            p.target.name,
            p.from.id,
            p.to.id,
            cell(p.before.as_ref()),
            cell(after),
            result
        ));
    }
    let n = g.plans.len();
    let text = match &g.stopped {
        Some(why) => format!(
            "group {} ended: {ok} of {n} rolled back; stopped because {why}",
            g.name
        ),
        None => format!("group {} ended: {ok} of {n} rolled back", g.name),
    };
    record(s, fx, EntryKind::Evidence, None, text.clone(), lines, None);
    s.flash = Some((ok < n, text));
}

/// Enter in the group plan: the typed confirm, once every member's plan is
/// complete and none is refused.
pub(super) fn open_confirm(s: &mut State, fx: &mut Vec<Effect>) {
    let Some(g) = s.group.clone().filter(|g| !g.confirmed) else {
        return;
    };
    if let Some(why) = g.not_confirmable() {
        if g.read() && !g.plans.iter().any(RollbackPlan::pending) {
            record(
                s,
                fx,
                EntryKind::Refused,
                None,
                format!("group {} not executed: {why}", g.name),
                vec![],
                None,
            );
        }
        s.flash = Some((true, why));
        return;
    }
    let members: Vec<&str> = g.plans.iter().map(|p| p.target.name.as_str()).collect();
    if super::confirm::cannot_confirm(s, &members) {
        return;
    }
    let field = if g.needs_typed_name() {
        super::state::ConfirmField::Name
    } else {
        super::state::ConfirmField::Reason
    };
    s.view.plan_scroll = 0;
    s.view.popup = Some(Popup::GroupConfirm(super::state::ConfirmForm {
        name: String::new(),
        reason: String::new(),
        field,
        error: None,
    }));
}

/// The group's one confirm: a prod member needs the group's name typed, a
/// BLOCK anywhere a reason. Recorded with every member's plan, then the
/// members start as the order says (`advance`).
pub(super) fn submit_confirm(
    s: &mut State,
    mut f: super::state::ConfirmForm,
    fx: &mut Vec<Effect>,
) {
    let Some(g) = s.group.clone().filter(|g| !g.confirmed) else {
        s.view.popup = None;
        return;
    };
    let name = g.needs_typed_name().then(|| {
        let why = format!(
            "type the group name `{}` exactly to confirm a rollback that touches prod",
            g.name
        );
        (g.name.as_str(), why)
    });
    if !f.complete(name, g.needs_override()) {
        s.view.popup = Some(Popup::GroupConfirm(f));
        return;
    }
    // Asked again at the confirm: a member's pre-flight may have changed.
    if let Some(why) = g.not_confirmable() {
        s.view.popup = Some(Popup::GroupPlan);
        s.flash = Some((true, why));
        return;
    }
    s.view.popup = None;
    let reason = g.needs_override().then(|| f.reason.trim().to_string());
    let mut details = Vec::new();
    if g.needs_typed_name() {
        details.push(format!("typed group name: {}", f.name.trim()));
    }
    details.push(format!(
        "order: {}; on a failure: {}",
        g.order.label(),
        if g.continue_on_failure {
            "continue with the other targets (confirmed)"
        } else {
            "stop every step not yet started"
        }
    ));
    for p in g.ordered() {
        details.push(format!("plan #{}: {}", p.id, p.title()));
        for c in p
            .checks
            .iter()
            .filter(|c| c.status == super::plan::CheckStatus::Block)
        {
            details.push(format!("  OVERRIDE of BLOCK `{}`: {}", c.id, c.detail));
        }
    }
    if let Some(r) = &reason {
        details.push(format!("override reason: {r}"));
    }
    let marker = super::entry::Marker::Group {
        name: g.name.clone(),
        members: g
            .ordered()
            .iter()
            .map(|p| (p.target.name.clone(), p.id.0))
            .collect(),
    };
    record(
        s,
        fx,
        EntryKind::Confirm,
        None,
        format!("{} confirmed by {}", g.title(), s.settings.operator),
        details,
        Some(marker),
    );
    for p in g.ordered() {
        let r = p.needs_override().then_some(reason.as_deref()).flatten();
        super::confirm::confirmed_ticks(s, p, r, fx);
    }
    s.plan = None;
    s.view.marked.clear();
    let members: Vec<String> = g.plans.iter().map(|p| p.target.name.clone()).collect();
    s.runs
        .retain(|r| r.in_flight() || !members.contains(&r.plan.target.name));
    if let Some(g) = s.group.as_mut() {
        g.confirmed = true;
        g.override_reason = reason;
    }
    advance(s, fx);
}
