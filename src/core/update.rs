//! `update(&mut State, Action) -> Vec<Effect>`: every decision rbtui makes,
//! with no I/O, so the whole operator path can be driven by tests.

use super::action::{Action, Effect, NoteEntry};
use super::checklist::*;
use super::entry::EntryKind;
use super::error::BackendError;
use super::fmt;
use super::keys::*;
use super::model::Mode;
use super::plan::{self, CheckStatus, PlanInputs, PlanStep};
use super::reads::*;
use super::run::*;
use super::state::{Popup, State};
use super::verdict::{self, Severity};
use crate::runbook::AutoEvent;

/// Applies one action. Sets `state.dirty` when the screen must be redrawn.
pub fn update(s: &mut State, a: Action) -> Vec<Effect> {
    let mut fx = Vec::new();
    let redraw = match a {
        Action::Tick(now) => tick(s, now, &mut fx),
        Action::Key(k) => {
            key(s, k, &mut fx);
            true
        }
        Action::TargetsLoaded(r) => {
            match r {
                Ok(t) => {
                    s.targets = t;
                    s.targets_error = None;
                    if s.selected.is_none() {
                        s.selected = s.targets.first().map(|t| t.name.clone());
                    }
                }
                Err(e) => s.targets_error = Some(e),
            }
            reorder(s);
            if let Some(t) = s.selected.clone() {
                fx.push(Effect::LoadHistory(t));
            }
            true
        }
        Action::HealthUpdated(hs) => {
            let mut changed = false;
            for h in hs {
                if s.health
                    .get(&h.target)
                    .is_some_and(|old| old.observed_at > h.observed_at)
                {
                    continue;
                }
                if s.health_errors.remove(&h.target).is_some() {
                    changed = true;
                }
                if let Some(since) = s.down_since.remove(&h.target) {
                    record(
                        s,
                        &mut fx,
                        EntryKind::Source,
                        Some(h.target.clone()),
                        format!(
                            "{} answers again (reads failed from {} to {})",
                            h.target,
                            fmt::hms(since),
                            fmt::hms(h.observed_at)
                        ),
                        vec![],
                        None,
                    );
                }
                changed |= rollback_superseded(s, &h, &mut fx);
                if s.health.get(&h.target) != Some(&h) {
                    changed = true;
                    s.trends.entry(h.target.clone()).or_default().push(&h);
                    s.health.insert(h.target.clone(), h);
                }
            }
            if changed {
                reverdict(s);
            }
            changed
        }
        Action::HealthFailed { target, error } => {
            if !s.down_since.contains_key(&target) {
                s.down_since.insert(target.clone(), s.now);
                let last = s
                    .health
                    .get(&target)
                    .map(|h| format!("last answer at {}", fmt::hms(h.observed_at)))
                    .unwrap_or_else(|| "no answer yet this session".into());
                record(
                    s,
                    &mut fx,
                    EntryKind::Source,
                    Some(target.clone()),
                    format!(
                        "reads of {target} fail: {error} ({last}); its data ages until it answers"
                    ),
                    vec![],
                    None,
                );
            }
            s.health_errors.insert(target, error.clone()).as_ref() != Some(&error)
        }
        Action::PostmortemDrafted(r) => {
            let text = match &r {
                Ok(p) => format!("postmortem draft written to {p}"),
                Err(e) => format!("postmortem draft not written: {e}"),
            };
            record(
                s,
                &mut fx,
                EntryKind::Note,
                None,
                text.clone(),
                vec![],
                None,
            );
            s.flash = Some((r.is_err(), text));
            true
        }
        Action::HistoryChanged(target) => {
            history_changed(s, &target, &mut fx);
            false
        }
        Action::HistoryLoaded { target, result } => {
            history_loaded(s, target, result, &mut fx);
            true
        }
        Action::MigrationsLoaded { plan_id, result } => {
            migrations_loaded(s, plan_id, result, &mut fx);
            true
        }
        Action::RevertLooked { target, result } => {
            revert_looked(s, target, result, &mut fx);
            true
        }
        Action::PermissionsRead { plan_id, result } => {
            permissions_read(s, plan_id, result, &mut fx);
            true
        }
        Action::PreviewRead { plan_id, result } => {
            preview_read(s, plan_id, result, &mut fx);
            true
        }
        Action::StepFinished {
            plan_id,
            step,
            result,
        } => {
            step_finished(s, plan_id, step, result, &mut fx);
            true
        }
        Action::StepSettled {
            plan_id,
            step,
            result,
        } => {
            step_settled(s, plan_id, step, result, &mut fx);
            true
        }
        Action::ProgressRead { plan_id, result } => {
            progress_read(s, plan_id, result, &mut fx);
            true
        }
        Action::VerifyRead { plan_id, result } => {
            verify_read(s, plan_id, result, &mut fx);
            true
        }
        Action::Recorded(r) => {
            s.unrecorded = s.unrecorded.saturating_sub(1);
            s.activity.push(r);
            // A whole entry reached the disk: the note works again.
            if s.note_error.take().is_some() {
                s.flash = Some((false, "the note takes writes again".into()));
            }
            true
        }
        Action::RecordFailed { entry, error } => {
            record_failed(s, entry, error);
            true
        }
        Action::Shutdown(why) => {
            s.popup = None;
            record(
                s,
                &mut fx,
                EntryKind::Signal,
                None,
                format!("{why}: ending the session"),
                vec![],
                None,
            );
            finish(s, &mut fx);
            true
        }
        Action::NoteSubmitted(text) => {
            let text = text.trim_end().to_string();
            if !text.is_empty() {
                let mut lines = text.lines().map(str::to_string);
                let first = lines.next().unwrap_or_default();
                record(
                    s,
                    &mut fx,
                    EntryKind::Note,
                    s.selected.clone(),
                    first,
                    lines.collect(),
                    None,
                );
            }
            s.popup = None;
            true
        }
    };
    s.dirty |= redraw;
    fx
}

/// The note refused an entry: keep it for later, stop the plan at its next
/// step, and give operator text back to the editor.
fn record_failed(s: &mut State, entry: NoteEntry, error: String) {
    s.unrecorded = s.unrecorded.saturating_sub(1);
    let now = s.now;
    match &mut s.note_error {
        Some(f) => f.error = error.clone(),
        None => {
            s.note_error = Some(super::state::NoteFailure {
                error: error.clone(),
                since: now,
                retried_at: now,
            })
        }
    }
    if let Some(run) = s.run.as_mut().filter(|r| r.in_flight()) {
        run.halted_by_note.get_or_insert(error.clone());
    }
    if entry.kind == EntryKind::Note {
        s.popup = Some(Popup::Notes);
        s.flash = Some((
            true,
            format!("note NOT saved ({error}); your text is still in the editor"),
        ));
    }
    if entry.kind != EntryKind::NoteGap {
        s.note_backlog.push(entry);
    }
}

/// While the note fails, tries again every few seconds: a heading that says
/// writes failed, then every entry that missed the note, with its own time.
fn retry_note(s: &mut State, fx: &mut Vec<Effect>) {
    const EVERY_SECS: i64 = 5;
    let now = s.now;
    let Some(f) = s.note_error.as_mut() else {
        return;
    };
    if (now - f.retried_at).num_seconds() < EVERY_SECS {
        return;
    }
    f.retried_at = now;
    let (since, error) = (f.since, f.error.clone());
    let late = std::mem::take(&mut s.note_backlog);
    record(
        s,
        fx,
        EntryKind::NoteGap,
        None,
        format!(
            "the note could not be written from {} ({error}); {} entries below are written late, each with its own time",
            fmt::hms(since),
            late.len()
        ),
        vec![],
        None,
    );
    for e in late {
        s.unrecorded += 1;
        fx.push(Effect::Record(e));
    }
}

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

pub(super) fn tick(
    s: &mut State,
    now: chrono::DateTime<chrono::Utc>,
    fx: &mut Vec<Effect>,
) -> bool {
    let before_minute = s.now.format("%H:%M").to_string();
    s.now = now;
    let mut redraw = before_minute != now.format("%H:%M").to_string();
    retry_note(s, fx);
    refresh_history(s, fx);
    look_for_reverts(s, fx);
    // Ages and staleness are shown per minute, except while a rollout runs.
    // By name: two HashMaps iterate in different orders.
    let stale_set = |s: &State| -> std::collections::BTreeSet<String> {
        s.verdicts
            .iter()
            .filter(|(_, v)| v.stale)
            .map(|(k, _)| k.clone())
            .collect()
    };
    let stale_before = stale_set(s);
    reverdict(s);
    let stale_after = stale_set(s);
    redraw |= stale_before != stale_after;
    if let Some(run) = &s.run {
        if run.in_flight() {
            redraw = true;
            if let Some(PlanStep::WaitForRollout { timeout_secs }) = run.plan.steps.get(run.step) {
                // While reads fail the timeout decides nothing: the next
                // answer does (see run::progress_read).
                if (now - run.step_started_at).num_seconds() > *timeout_secs
                    && run.progress_failing.is_none()
                {
                    let msg = format!(
                        "rollout did not converge within {}",
                        fmt::age(*timeout_secs)
                    );
                    fail_run(s, fx, msg);
                }
            }
        }
    }
    redraw
}

pub(super) fn reverdict(s: &mut State) {
    let t = s.settings.thresholds;
    s.verdicts = s
        .health
        .iter()
        .map(|(k, h)| (k.clone(), verdict::evaluate(h, &t, s.now)))
        .collect();
    reorder(s);
}

/// Filtered, worst first, then by name; the selection follows its target.
pub fn reorder(s: &mut State) {
    let f = s.filter.to_ascii_lowercase();
    let mut order: Vec<usize> = (0..s.targets.len())
        .filter(|&i| {
            let t = &s.targets[i];
            f.is_empty()
                || t.name.to_ascii_lowercase().contains(&f)
                || t.environment.to_ascii_lowercase().contains(&f)
                || t.kind.label().contains(&f)
        })
        .collect();
    let sev = |i: usize| {
        s.verdicts
            .get(&s.targets[i].name)
            .map(|v| v.severity)
            .unwrap_or(Severity::Ok)
    };
    order.sort_by(|&a, &b| {
        sev(b)
            .cmp(&sev(a))
            .then_with(|| s.targets[a].name.cmp(&s.targets[b].name))
    });
    s.order = order;
    if s.selected_pos().is_none() {
        let first = s.order.first().map(|&i| s.targets[i].name.clone());
        if first.is_some() || s.filter.is_empty() {
            s.selected = first.or(s.selected.take());
        }
    }
}

/// Records the verdict the operator looked at; ticks the "assess" step.
pub(super) fn assess(s: &mut State, target: &str, fx: &mut Vec<Effect>) {
    if s.assessed.iter().any(|t| t == target) {
        return;
    }
    let Some(v) = s.verdicts.get(target).cloned() else {
        return;
    };
    // An assessment from old or failing data would be a claim without proof.
    if v.stale || s.health_errors.contains_key(target) {
        s.flash = Some((
            true,
            format!("{target}: health not assessed: its data is stale or its reads fail"),
        ));
        return;
    }
    s.assessed.push(target.to_string());
    let text = format!("health {}: {}", v.severity.label(), v.severity.advice());
    record(
        s,
        fx,
        EntryKind::Assess,
        Some(target.into()),
        text.clone(),
        v.reasons.clone(),
        None,
    );
    if v.severity >= Severity::Serious {
        auto_tick(
            s,
            fx,
            target,
            AutoEvent::HealthAssessed,
            Some(format!("{}: {}", text, v.reasons.join("; "))),
        );
    }
}

pub(super) fn build_plan(s: &mut State, target: &str, to: &str, exact: bool, fx: &mut Vec<Effect>) {
    if s.in_flight() {
        s.flash = Some((
            true,
            "a rollback is in flight; wait for it to finish before planning another".into(),
        ));
        return;
    }
    let (Some(t), Some(h)) = (s.target(target).cloned(), s.histories.get(target).cloned()) else {
        s.flash = Some((true, format!("history of {target} not loaded yet")));
        return;
    };
    let id = s.next_plan_id;
    let r = plan::build(PlanInputs {
        id,
        target: &t,
        mode: s.settings.mode,
        history: &h,
        to,
        now: s.now,
        before: s.health.get(target),
        mutable_tags: &s.settings.mutable_tags,
        rollout_timeout_secs: s.settings.rollout_timeout_secs,
        exact_template: exact,
    });
    match r {
        Ok(p) => {
            s.next_plan_id += 1;
            s.migration_scroll = 0;
            s.plan_scroll = 0;
            fx.push(Effect::LoadMigrations {
                plan_id: id,
                plan: Box::new(p.clone()),
            });
            let mut p = p;
            block_rolled_back_from(s, &mut p);
            if p.refusal().is_none() {
                // Rights are asked before anyone types a name.
                p.checks.push(plan::Check {
                    id: super::plan::CheckId::Permissions,
                    status: CheckStatus::Pending,
                    detail: "asking the platform whether rbtui may do this…".into(),
                    overridable: false,
                });
                fx.push(Effect::CheckPermissions {
                    plan_id: id,
                    plan: Box::new(p.clone()),
                });
            }
            if s.settings.mode == Mode::Rehearsal && p.refusal().is_none() {
                // Rehearsal: the platform previews the change first, where it can.
                p.checks.push(plan::Check {
                    id: super::plan::CheckId::DryRun,
                    status: CheckStatus::Pending,
                    detail: "server-side dry run running…".into(),
                    overridable: false,
                });
                fx.push(Effect::Preview {
                    plan_id: id,
                    plan: Box::new(p.clone()),
                });
            }
            s.plan = Some(p);
            s.popup = Some(Popup::Plan);
        }
        Err(e) => s.flash = Some((true, e)),
    }
}

/// A plan back to an image this session rolled the target back from is
/// blocked (a typed reason may override): after a Swarm rollback the
/// engine's "previous" is the bad spec.
fn block_rolled_back_from(s: &State, p: &mut plan::RollbackPlan) {
    let Some(bad) = s.rolled_back_from.get(&p.target.name) else {
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

/// A finished rollback whose target now runs other images than it rolled
/// back to was undone by a later deploy (Compose re-created from its file,
/// Argo CD re-synced): said once, in the note and on the banner.
fn rollback_superseded(s: &mut State, h: &super::model::Health, fx: &mut Vec<Effect>) -> bool {
    let Some(run) = s.run.as_mut().filter(|r| {
        r.plan.target.name == h.target
            && r.plan.is_rollback()
            && r.outcome == Some(super::state::Outcome::Succeeded)
            && r.superseded.is_none()
    }) else {
        return false;
    };
    let want = &run.plan.to.images;
    if want.is_empty() || h.images.is_empty() || super::model::same_images(&h.images, want) {
        return false;
    }
    let now: Vec<String> = h.images.iter().map(|i| i.short()).collect();
    let text = format!(
        "{} now runs {} instead of {}: a later deploy undid the rollback",
        h.target,
        now.join(", "),
        super::plan::images_text(&run.plan.to)
    );
    run.superseded = Some(text.clone());
    let t = h.target.clone();
    record(s, fx, EntryKind::Source, Some(t), text, vec![], None);
    true
}

/// After a rollback, the follow-up "revert the bad change" is a fact to
/// look for: every 30 s the target's checkout is asked for a commit that
/// reverts the bad one, until found (or there is no checkout).
fn look_for_reverts(s: &mut State, fx: &mut Vec<Effect>) {
    const EVERY_SECS: i64 = 30;
    let now = s.now;
    let due: Vec<(String, String)> = s
        .rolled_back
        .iter()
        .filter_map(|(t, (bad, _))| Some((t.clone(), bad.git_sha.clone()?)))
        .filter(|(t, _)| match s.revert_asked_at.get(t) {
            None => true,
            Some(None) => false,
            Some(Some(at)) => (now - *at).num_seconds() >= EVERY_SECS,
        })
        .collect();
    for (target, bad) in due {
        s.revert_asked_at.insert(target.clone(), Some(now));
        fx.push(Effect::FindRevert { target, bad });
    }
}

fn revert_looked(
    s: &mut State,
    target: String,
    result: Option<Result<Option<(String, String)>, BackendError>>,
    fx: &mut Vec<Effect>,
) {
    match result {
        // Nowhere to look: stop asking; the step stays the operator's.
        None => {
            s.revert_asked_at.insert(target, None);
        }
        Some(Ok(Some((sha, subject)))) => {
            s.revert_asked_at.insert(target.clone(), None);
            auto_tick(
                s,
                fx,
                &target,
                crate::runbook::AutoEvent::RevertFound,
                Some(format!("{} {subject}", &sha[..sha.len().min(7)])),
            );
        }
        // Not yet, or the look failed: asked again later.
        Some(Ok(None)) | Some(Err(_)) => {}
    }
}

/// Folds the platform's answer on rights into the plan: a right it
/// refuses blocks (no override: the platform would refuse the step); a
/// platform that cannot be asked leaves no check, and one whose answer
/// failed says so.
fn permissions_read(
    s: &mut State,
    plan_id: u64,
    result: Option<Result<Vec<(bool, String)>, BackendError>>,
    fx: &mut Vec<Effect>,
) {
    let Some(p) = s.plan.as_mut().filter(|p| p.id == plan_id) else {
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
fn preview_read(
    s: &mut State,
    plan_id: u64,
    result: Option<Result<String, BackendError>>,
    fx: &mut Vec<Effect>,
) {
    let Some(p) = s.plan.as_mut().filter(|p| p.id == plan_id) else {
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

/// The follow-up plan that turns Argo CD auto-sync back on.
pub(super) fn reenable_plan(s: &mut State, target: &str, fx: &mut Vec<Effect>) {
    if s.in_flight() {
        s.flash = Some((
            true,
            "a rollback is in flight; wait for it to finish".into(),
        ));
        return;
    }
    let Some(t) = s.target(target).cloned() else {
        return;
    };
    let Some(h) = s.histories.get(&t.name).cloned() else {
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
            before: s.health.get(&t.name),
            mutable_tags: &s.settings.mutable_tags,
            rollout_timeout_secs: s.settings.rollout_timeout_secs,
            exact_template: false,
        },
        bad.as_deref(),
    );
    match r {
        Ok(mut p) => {
            // The repo's own fact (a revert commit, or HEAD's tree without
            // the change), when one was found, stands beside Argo CD's HEAD.
            let revert = s
                .checklists
                .get(&t.name)
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
            s.next_plan_id += 1;
            s.plan = Some(p);
            s.popup = Some(Popup::Plan);
            plan_ready(s, fx);
        }
        Err(e) => s.flash = Some((true, e)),
    }
}

pub(super) fn migrations_loaded(
    s: &mut State,
    plan_id: u64,
    result: Result<super::migration::MigrationDiff, BackendError>,
    fx: &mut Vec<Effect>,
) {
    let Some(p) = s.plan.as_mut().filter(|p| p.id == plan_id) else {
        return;
    };
    p.apply_migrations(result);
    plan_ready(s, fx);
}

/// Records a plan once all its checks are known, and ticks what it proves.
pub(super) fn plan_ready(s: &mut State, fx: &mut Vec<Effect>) {
    let Some(p) = s.plan.clone() else { return };
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
    let lkg = s.histories.get(&t).and_then(|h| h.last_known_good.clone());
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

/// Drafts the ready-to-paste status message from the run (or the selection).
/// Drafts a status message (`which`, or the one the moment calls for);
/// recorded, never marked as posted.
pub(super) fn status_message(
    s: &mut State,
    which: Option<crate::core::status::Comms>,
    fx: &mut Vec<Effect>,
) {
    let which = which.unwrap_or_else(|| crate::core::status::default_for(s));
    let text = crate::core::status::draft(s, which);
    let t = s
        .run
        .as_ref()
        .map(|r| r.plan.target.name.clone())
        .or(s.selected.clone());
    record(
        s,
        fx,
        EntryKind::Status,
        t.clone(),
        format!(
            "status message drafted ({}; not posted by rbtui)",
            which.label()
        ),
        text.lines().map(|l| format!("> {l}")).collect(),
        None,
    );
    if let Some(t) = t {
        auto_tick(
            s,
            fx,
            &t,
            AutoEvent::StatusDrafted,
            Some("drafted by rbtui (press s)".into()),
        );
    }
    s.popup = Some(Popup::Status(which, text));
}

pub(super) fn quit(s: &mut State, fx: &mut Vec<Effect>) {
    if s.in_flight() {
        s.popup = Some(Popup::QuitConfirm);
    } else {
        finish(s, fx);
    }
}

/// Records the checklist state (a rehearsal also its drill report) and
/// ends the session.
pub(super) fn finish(s: &mut State, fx: &mut Vec<Effect>) {
    let mut lines = Vec::new();
    let mut names: Vec<String> = s.checklists.keys().cloned().collect();
    if let Some(r) = &s.run {
        if !names.contains(&r.plan.target.name) {
            names.push(r.plan.target.name.clone());
        }
    }
    names.sort();
    if let Some(faults) = super::drill::faults_met(s) {
        record(
            s,
            fx,
            EntryKind::Drill,
            None,
            "drill faults: which were met, and what the operator did next".into(),
            faults,
            None,
        );
    }
    if s.settings.mode == Mode::Rehearsal || s.settings.drill.is_some() {
        for n in &names {
            let report = super::drill::report(s, n);
            if !report.is_empty() {
                record(
                    s,
                    fx,
                    EntryKind::Drill,
                    Some(n.clone()),
                    format!("drill report: {n}"),
                    report,
                    None,
                );
            }
        }
    }
    for n in names {
        let Some(t) = s.target(&n).cloned() else {
            continue;
        };
        let Some(rb) = s.runbook_for(&t).map(std::borrow::Cow::into_owned) else {
            continue;
        };
        let vars = s.runbook_vars(&t);
        let vars: Vec<(&str, String)> = vars.iter().map(|(k, v)| (*k, v.clone())).collect();
        lines.push(format!("{n} — {}:", rb.title));
        for st in &rb.steps {
            let tick = s.checklists.get(&n).and_then(|c| c.get(&st.id));
            let mark = if tick.is_some() { "[x]" } else { "[ ]" };
            lines.push(format!(
                "  {mark} {}",
                crate::runbook::fill(&st.title, &vars)
            ));
        }
    }
    if s.in_flight() {
        lines.push("a rollback was still in flight at quit; rbtui stopped watching it".into());
    }
    record(
        s,
        fx,
        EntryKind::End,
        None,
        "session ended; checklist state at exit".into(),
        lines,
        Some(super::entry::Marker::End),
    );
    s.quitting = true;
}
