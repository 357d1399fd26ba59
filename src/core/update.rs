//! `update(&mut State, Action) -> Vec<Effect>`: every decision rbtui makes,
//! with no I/O, so the whole operator path can be driven by tests.

use super::action::{Action, Effect, NoteEntry};
use super::checklist::auto_tick;
use super::entry::EntryKind;
use super::error::BackendError;
use super::fmt;
use super::keys::key;
use super::lifecycle::finish;
use super::plan::PlanStep;
use super::planning::changes_read;
use super::planning::migrations_loaded;
use super::planning::permissions_read;
use super::planning::preview_read;
use super::reads::history_changed;
use super::reads::history_loaded;
use super::reads::refresh_history;
use super::record::record;
use super::run::fail_run;
use super::run::step_finished;
use super::run::step_settled;
use super::watch::progress_read;
use super::watch::verify_read;
use super::state::{RevertLook, State};
use super::targets::reorder;
use super::targets::reverdict;
use super::targets::rollback_superseded;

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
                    let first = s.targets.is_empty();
                    s.targets = t;
                    if first {
                        drill_reach(s, &mut fx);
                    }
                    s.targets_error = None;
                    if s.view.selected.is_none() {
                        s.view.selected = s.targets.first().map(|t| t.name.clone());
                    }
                }
                Err(e) => s.targets_error = Some(e),
            }
            reorder(s);
            if let Some(t) = s.view.selected.clone() {
                fx.push(Effect::LoadHistory(t));
            }
            true
        }
        Action::HealthUpdated(hs) => {
            let mut changed = false;
            for h in hs {
                if s.health(&h.target)
                    .is_some_and(|old| old.observed_at > h.observed_at)
                {
                    continue;
                }
                if s.row_mut(&h.target).health_error.take().is_some() {
                    changed = true;
                }
                if let Some(since) = s.row_mut(&h.target).down_since.take() {
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
                super::lifecycle::after_interruption(s, &h, &mut fx);
                if s.health(&h.target) != Some(&h) {
                    changed = true;
                    let row = s.row_mut(&h.target);
                    row.trend.push(&h);
                    row.health = Some(h);
                }
            }
            if changed {
                reverdict(s);
                super::targets::failures_seen(s, &mut fx);
                super::evidence::on_verdicts(s, &mut fx);
            }
            changed
        }
        Action::EvidenceSaved {
            target,
            plan,
            why,
            result,
        } => {
            if let Some(id) = super::evidence::saved(s, target, plan, why, result, &mut fx) {
                super::run::start_step(s, id, &mut fx);
            }
            true
        }
        Action::HealthFailed { target, error } => {
            if s.row(&target).is_none_or(|row| row.down_since.is_none()) {
                let now = s.now;
                s.row_mut(&target).down_since = Some(now);
                let last = s
                    .health(&target)
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
            s.row_mut(&target)
                .health_error
                .replace(error.clone())
                .as_ref()
                != Some(&error)
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
        Action::ChangesRead { plan_id, result } => {
            changes_read(s, plan_id, result, &mut fx);
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
            // The note works again once every held entry reached the disk
            // (not at the first that did): header and footer agree.
            let caught_up = s.note_backlog.is_empty() && s.unrecorded == 0;
            if caught_up && s.note_error.take().is_some() {
                s.flash = Some((false, "the note takes writes again".into()));
            }
            true
        }
        Action::RecordFailed { entry, error } => {
            record_failed(s, entry, error);
            true
        }
        Action::Shutdown(why) => {
            s.view.popup = None;
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
        Action::PlanAsked {
            target,
            to,
            exact,
            retag,
        } => {
            super::reads::request_form(s, &target, &to, exact, retag, &mut fx);
            true
        }
        Action::GroupAsked { name, to } => {
            super::grouping::request_named(s, &name, &to, &mut fx);
            true
        }
        Action::Resumed {
            incident,
            checklists,
        } => {
            super::lifecycle::resumed(s, incident, checklists, &mut fx);
            true
        }
        Action::NoteSubmitted(text) => {
            note_submitted(s, text, &mut fx);
            true
        }
    };
    if s.group.as_ref().is_some_and(|g| g.running()) {
        super::grouping::advance(s, &mut fx);
    }
    s.dirty |= redraw;
    fx
}

/// A drill whose faults cannot all be met here says so at the start,
/// in the note and on screen, instead of reporting them "not met" at the end.
fn drill_reach(s: &mut State, fx: &mut Vec<Effect>) {
    let lines = super::drill::unreachable(s);
    if lines.is_empty() {
        return;
    }
    let text = format!(
        "drill: {} of its faults cannot be met in this session",
        lines.len()
    );
    s.flash = Some((true, format!("{text}: {}", lines[0])));
    record(s, fx, EntryKind::Drill, None, text, lines, None);
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
    for run in s.runs.iter_mut().filter(|r| r.in_flight()) {
        run.halt_with(super::state::Halt::Note(error.clone()));
    }
    super::record::hold(s, entry);
}

/// The operator's own words: they try the note at once (after what it
/// holds, in order); if it still cannot take them they stay in the editor
/// (`record::hold`), never silently queued.
fn note_submitted(s: &mut State, text: String, fx: &mut Vec<Effect>) {
    s.view.popup = None;
    let text = text.trim_end().to_string();
    if text.is_empty() {
        return;
    }
    if s.note_error.is_some() {
        retry_note(s, fx, true);
    }
    let mut lines = text.lines().map(str::to_string);
    let first = lines.next().unwrap_or_default();
    super::record::write_now(
        s,
        fx,
        NoteEntry {
            at: s.now,
            kind: EntryKind::Note,
            target: s.view.selected.clone(),
            text: first,
            details: lines.collect(),
            marker: None,
        },
    );
}

/// While the note fails, tries again every few seconds (at once when
/// `now`): a heading that says writes failed, then every entry that
/// missed the note, in order, each with its own time.
fn retry_note(s: &mut State, fx: &mut Vec<Effect>, now_please: bool) {
    const EVERY_SECS: i64 = 5;
    let now = s.now;
    let Some(f) = s.note_error.as_mut() else {
        return;
    };
    if !now_please && (now - f.retried_at).num_seconds() < EVERY_SECS {
        return;
    }
    f.retried_at = now;
    let (since, error) = (f.since, f.error.clone());
    let late = std::mem::take(&mut s.note_backlog);
    let gap = NoteEntry {
        at: now,
        kind: EntryKind::NoteGap,
        target: None,
        text: format!(
            "the note could not be written from {} ({error}); {} entries below are written late, each with its own time",
            fmt::hms(since),
            late.len()
        ),
        details: vec![],
        marker: None,
    };
    for e in std::iter::once(gap).chain(late) {
        super::record::write_now(s, fx, e);
    }
}

pub(super) fn tick(
    s: &mut State,
    now: chrono::DateTime<chrono::Utc>,
    fx: &mut Vec<Effect>,
) -> bool {
    let before_minute = s.now.format("%H:%M").to_string();
    s.now = now;
    let mut redraw = before_minute != now.format("%H:%M").to_string();
    retry_note(s, fx, false);
    for id in super::evidence::waited_too_long(s, fx) {
        super::run::start_step(s, id, fx);
    }
    refresh_history(s, fx);
    look_for_reverts(s, fx);
    // Staleness redraws when it changes; by name: two HashMaps iterate in
    // different orders.
    let stale_set = |s: &State| -> std::collections::BTreeSet<String> {
        s.table
            .iter()
            .filter(|(_, r)| r.verdict.as_ref().is_some_and(|v| v.stale))
            .map(|(k, _)| k.to_string())
            .collect()
    };
    let stale_before = stale_set(s);
    reverdict(s);
    let stale_after = stale_set(s);
    redraw |= stale_before != stale_after;
    // An age on screen advances with the clock, even when nothing arrives
    // (a hung server's "data 17s old" must not stay 17s).
    let ages = s.ages_on_screen();
    if ages != s.shown_ages {
        s.shown_ages = ages;
        redraw = true;
    }
    let timed_out: Vec<(super::plan::PlanId, i64)> = s
        .runs
        .iter()
        .filter(|r| r.in_flight())
        .filter_map(|r| match (r.plan.steps.get(r.step()), r.doing(), r.step_since()) {
            // While reads fail the timeout decides nothing: the next answer
            // does (see watch::progress_read).
            (
                Some(PlanStep::WaitForRollout { timeout_secs }),
                Some(super::state::Doing::Watching { blind: None, .. }),
                Some(since),
            ) if (now - since).num_seconds() > *timeout_secs => Some((r.plan.id, *timeout_secs)),
            _ => None,
        })
        .collect();
    redraw |= s.in_flight();
    for (id, secs) in timed_out {
        let msg = format!("rollout did not converge within {}", fmt::age(secs));
        fail_run(s, id, fx, msg);
    }
    redraw
}

/// After a rollback, the follow-up "revert the bad change" is a fact to
/// look for: every 30 s the target's checkout is asked for a commit that
/// reverts the bad one, until found (or there is no checkout).
fn look_for_reverts(s: &mut State, fx: &mut Vec<Effect>) {
    const EVERY_SECS: i64 = 30;
    let now = s.now;
    let due: Vec<(String, String)> = s
        .table
        .iter()
        .filter(|(_, r)| match r.revert {
            RevertLook::NotYet => true,
            RevertLook::Done => false,
            RevertLook::AskedAt(at) => (now - at).num_seconds() >= EVERY_SECS,
        })
        .filter_map(|(t, _)| {
            let (bad, _) = s.incident.story(&t.0)?.followup()?;
            Some((t.to_string(), bad.sha.clone()?))
        })
        .collect();
    for (target, bad) in due {
        s.row_mut(&target).revert = RevertLook::AskedAt(now);
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
            s.row_mut(&target).revert = RevertLook::Done;
        }
        Some(Ok(Some((sha, subject)))) => {
            s.row_mut(&target).revert = RevertLook::Done;
            auto_tick(
                s,
                fx,
                &target,
                super::runbook::AutoEvent::RevertFound,
                Some(format!("{} {subject}", &sha[..sha.len().min(7)])),
            );
        }
        // Not yet, or the look failed: asked again later.
        Some(Ok(None)) | Some(Err(_)) => {}
    }
}
