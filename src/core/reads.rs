//! Reads of the platform the core asks for and what it does with their
//! answers: History follows others' deploys, a plan is built only from a
//! read sent after it was asked for, an older answer never replaces a
//! newer one, and auto-sync turned back on behind the operator is said.
//! Part of `update`; pure like it.

use super::action::Effect;
use super::entry::EntryKind;
use super::fmt;
use super::plan_flow::build_plan;
use super::plan_flow::reenable_plan;
use super::record::record;
use super::state::State;

/// History of the selected target follows changes made by others (a new
/// revision deployed, CURRENT moved) without a key press.
pub(super) fn refresh_history(s: &mut State, fx: &mut Vec<Effect>) {
    const EVERY_SECS: i64 = 10;
    let Some(t) = s.view.selected.clone() else {
        return;
    };
    let due = s
        .history_asked_at
        .is_none_or(|at| (s.now - at).num_seconds() >= EVERY_SECS);
    if due {
        s.history_asked_at = Some(s.now);
        fx.push(Effect::LoadHistory(t));
    }
}

/// A watch saw the target's revisions change: the selected target's
/// History is read again at once (new revisions appear and CURRENT moves
/// without a key press, nor a wait for the next refresh).
pub(super) fn history_changed(s: &mut State, target: &str, fx: &mut Vec<Effect>) {
    if s.view.selected.as_deref() == Some(target) && s.pending_plan.is_none() {
        s.history_asked_at = Some(s.now);
        fx.push(Effect::LoadHistory(target.into()));
    }
}

/// Asks for a fresh read of the target; the plan is built from its answer.
pub(super) fn request_plan(s: &mut State, target: &str, to: &str, fx: &mut Vec<Effect>) {
    request(s, target, to, false, false, false, fx)
}

/// `r` in the plan: the same revision as a re-tag and restart (the ECR
/// runbook's option B), or back to the rollback, from a fresh read; only
/// where the config allows re-tags for the target.
pub(super) fn request_retag_form(s: &mut State, fx: &mut Vec<Effect>) {
    let Some(p) = s.plan.as_ref() else { return };
    if !s.settings.retag.contains(&p.target.name) {
        s.flash = Some((
            false,
            format!(
                "re-tag is not allowed for {}: set retag = true on the target",
                p.target.name
            ),
        ));
        return;
    }
    let (target, to, retag) = (p.target.name.clone(), p.to.id.to_string(), !p.is_retag());
    request(s, &target, &to, false, false, retag, fx)
}

/// `t` in the plan: the same rollback in its other form — the template
/// restored exactly (kubectl's semantics), or with mutable tags pinned to
/// the digests that ran — from a fresh read, as every plan.
pub(super) fn request_other_form(s: &mut State, fx: &mut Vec<Effect>) {
    let Some(p) = s.plan.as_ref() else { return };
    let pinned = p.pinned();
    if !pinned && !p.exact_template {
        s.flash = Some((
            false,
            "this plan has no other form: no mutable tag with a known digest to pin".into(),
        ));
        return;
    }
    let (target, to) = (p.target.name.clone(), p.to.id.clone());
    request(s, &target, &to, false, pinned, false, fx)
}

/// A plan of a given form asked for by name (`rbtui plan`).
pub(super) fn request_form(
    s: &mut State,
    target: &str,
    to: &str,
    exact: bool,
    retag: bool,
    fx: &mut Vec<Effect>,
) {
    request(s, target, to, false, exact, retag, fx)
}

/// `a`: the follow-up plan that turns Argo CD auto-sync back on, from a
/// fresh read (what HEAD is now decides it).
pub(super) fn request_reenable(s: &mut State, fx: &mut Vec<Effect>) {
    let Some(t) = s.view.selected.clone() else {
        return;
    };
    request(s, &t, "", true, false, false, fx)
}

fn request(
    s: &mut State,
    target: &str,
    to: &str,
    reenable: bool,
    exact: bool,
    retag: bool,
    fx: &mut Vec<Effect>,
) {
    use super::state::Popup;
    if let Some(why) = super::confirm::busy_why(s, target) {
        s.view.popup = Some(Popup::Reading {
            target: target.into(),
            error: Some(why),
        });
        return;
    }
    s.view.popup = Some(Popup::Reading {
        target: target.into(),
        error: None,
    });
    s.pending_plan = Some(super::state::PendingPlan {
        target: target.into(),
        to: to.into(),
        reenable,
        exact,
        retag,
        after_stale: false,
        asked_at: s.now,
    });
    s.flash = Some((false, format!("reading {target} afresh to plan…")));
    s.history_asked_at = Some(s.now);
    fx.push(Effect::LoadHistory(target.into()));
}

/// Someone turned auto-sync back on after the run turned it off: Argo CD
/// re-syncs HEAD and undoes the rollback. Said once, with the cause, and
/// the "auto-sync disabled" tick is taken back.
fn autosync_fought(s: &mut State, target: &str, h: &super::model::History, fx: &mut Vec<Effect>) {
    let Some(run) = s
        .runs
        .iter_mut()
        .rev()
        .find(|r| r.plan.target.name == target)
    else {
        return;
    };
    let disabled_at = run
        .plan
        .steps
        .iter()
        .position(|st| matches!(st, super::plan::PlanStep::DisableAutoSync));
    let past_disable = disabled_at.is_some_and(|i| run.step() > i);
    if !past_disable || !h.facts.auto_sync || run.autosync_fought {
        return;
    }
    run.autosync_fought = true;
    let head = h
        .facts
        .head_revision
        .as_deref()
        .map(|r| format!(" ({})", &r[..r.len().min(7)]))
        .unwrap_or_default();
    let why = format!(
        "auto-sync was turned back on by someone else after rbtui disabled it (seen {}): Argo CD re-syncs HEAD{head} and undoes the rollback",
        fmt::hms(s.now)
    );
    record(
        s,
        fx,
        EntryKind::Source,
        Some(target.into()),
        why.clone(),
        vec![
            "turn it off again in Argo CD, or roll back once more after the revert is merged"
                .into(),
        ],
        None,
    );
    s.flash = Some((true, format!("{target}: {why}")));
    super::checklist::auto_untick(
        s,
        fx,
        target,
        super::runbook::AutoEvent::AutoSyncDisabled,
        why,
    );
}

pub(super) fn history_loaded(
    s: &mut State,
    target: String,
    result: Result<super::model::History, super::error::BackendError>,
    fx: &mut Vec<Effect>,
) {
    match result {
        Ok(h) => {
            s.row_mut(&target).history_error = None;
            let older = s
                .history(&target)
                .is_some_and(|old| old.fetched_at > h.fetched_at);
            if older {
                return;
            }
            // The cursor stays on the revision it was on, wherever the
            // list moved it.
            if s.view.selected.as_deref() == Some(target.as_str()) {
                let was = s
                    .history(&target)
                    .and_then(|old| old.revisions.get(s.view.history_cursor))
                    .cloned();
                // By id; else the same deploy renumbered (Kubernetes gives a
                // restored ReplicaSet the next revision number).
                let refs = |r: &super::model::Revision| {
                    r.images
                        .iter()
                        .map(|i| (i.repository.clone(), i.tag.clone()))
                        .collect::<Vec<_>>()
                };
                let same = |r: &super::model::Revision, w: &super::model::Revision| {
                    r.deployed_at.is_some() && r.deployed_at == w.deployed_at && refs(r) == refs(w)
                };
                let found = was.as_ref().and_then(|w| {
                    h.revisions
                        .iter()
                        .position(|r| r.id == w.id)
                        .or_else(|| h.revisions.iter().position(|r| same(r, w)))
                });
                if let Some(i) = found {
                    s.view.history_cursor = i;
                } else {
                    s.view.history_cursor = s
                        .view
                        .history_cursor
                        .min(h.revisions.len().saturating_sub(1));
                }
            }
            let fetched = h.fetched_at;
            let shown = s.incident.overlay(h.clone());
            autosync_fought(s, &target, &shown, fx);
            let row = s.row_mut(&target);
            row.history = Some(shown);
            row.platform_history = Some(h);
            super::group_flow::member_read(s, &target, fetched, fx);
            if let Some(p) = s
                .pending_plan
                .take_if(|p| p.target == target && fetched >= p.asked_at)
            {
                s.flash = None;
                if p.reenable {
                    reenable_plan(s, &p.target, fx);
                } else {
                    build_plan(s, &p.target, &p.to, p.exact, p.retag, fx);
                }
                no_plan_said(s, &p.target);
                if p.after_stale && s.plan.is_some() {
                    s.flash = Some((
                        true,
                        "plan rebuilt: the target changed since the last plan; review it again"
                            .into(),
                    ));
                }
            }
        }
        Err(e) => {
            super::group_flow::member_failed(s, &target, e.to_string());
            if s.pending_plan.take_if(|p| p.target == target).is_some() {
                s.flash = Some((
                    true,
                    format!("no plan: reading {target} failed ({e}); press Enter to try again"),
                ));
                no_plan_said(s, &target);
            }
            s.row_mut(&target).history_error = Some(e);
        }
    }
}

/// A plan asked for did not come (its build refused it, or the read
/// failed): the reading popup says why and keeps the keys until Esc.
fn no_plan_said(s: &mut State, target: &str) {
    use super::state::Popup;
    let waiting =
        matches!(&s.view.popup, Some(Popup::Reading { target: t, error: None }) if t == target);
    if waiting {
        let error = s.flash.as_ref().map(|(_, m)| m.clone());
        s.view.popup = Some(Popup::Reading {
            target: target.into(),
            error: Some(error.unwrap_or_else(|| "no plan was made".into())),
        });
    }
}
