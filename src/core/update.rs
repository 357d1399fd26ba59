//! `update(&mut State, Action) -> Vec<Effect>`: every decision rbtui makes,
//! with no I/O, so the whole operator path can be driven by tests.

use super::action::{Action, Effect};
use super::checklist::auto_tick;
use super::error::BackendError;
use super::fmt;
use super::key_press::key;
use super::plan::PlanStep;
use super::plan_flow::changes_read;
use super::plan_flow::migrations_loaded;
use super::plan_flow::permissions_read;
use super::plan_flow::preview_read;
use super::reads::history_changed;
use super::reads::history_loaded;
use super::reads::refresh_history;
use super::run::fail_run;
use super::run::step_finished;
use super::run::step_settled;
use super::state::{RevertLook, State};
use super::targets::reverdict;
use super::watch::progress_read;
use super::watch::verify_read;
use super::{lifecycle, record, targets};

/// Applies one action. Sets `state.dirty` when the screen must be redrawn.
/// Only dispatches: each handler lives with what it decides.
pub fn update(s: &mut State, a: Action) -> Vec<Effect> {
    let mut fx = Vec::new();
    let f = &mut fx;
    let redraw = match hidden(a) {
        Action::Tick(now) => tick(s, now, f),
        Action::Key(k) => {
            key(s, k, f);
            true
        }
        Action::Click { pane, item } => {
            super::key_press::click(s, pane, item, f);
            true
        }
        Action::TargetsLoaded(r) => targets::targets_loaded(s, r, f),
        Action::HealthUpdated(hs) => targets::health_updated(s, hs, f),
        Action::HealthFailed { target, error } => targets::health_failed(s, target, error, f),
        Action::EvidenceSaved {
            target,
            plan,
            why,
            result,
        } => {
            if let Some(id) = super::evidence::saved(s, target, plan, why, result, f) {
                super::run::start_step(s, id, f);
            }
            true
        }
        Action::HistoryChanged(target) => {
            history_changed(s, &target, f);
            false
        }
        Action::HistoryLoaded { target, result } => {
            history_loaded(s, target, result, f);
            true
        }
        a @ (Action::PostmortemDrafted(_)
        | Action::StatusPosted { .. }
        | Action::NoteAttached(_)
        | Action::Recorded(_)
        | Action::RecordFailed { .. }
        | Action::SummaryStale(_)
        | Action::Shutdown(_)
        | Action::Resumed { .. }
        | Action::NoteSubmitted(_)) => note_and_session(s, a, f),
        a @ (Action::PlanAsked { .. } | Action::GroupAsked { .. }) => {
            asked(s, a, f);
            true
        }
        a @ (Action::MigrationsLoaded { .. }
        | Action::ChangesRead { .. }
        | Action::PermissionsRead { .. }
        | Action::PreviewRead { .. }
        | Action::StepFinished { .. }
        | Action::StepSettled { .. }
        | Action::ProgressRead { .. }
        | Action::VerifyRead { .. }
        | Action::RevertLooked { .. }) => {
            answer(s, a, f);
            true
        }
    };
    if s.group.as_ref().is_some_and(|g| g.running()) {
        super::group_flow::advance(s, &mut fx);
    }
    // A redraw shows the ages as they read now: the next tick redraws only
    // when one of them reads differently.
    if redraw {
        s.shown_ages = s.ages_on_screen();
    }
    s.dirty |= redraw;
    fx
}

/// What the note and the session answer: entries on disk (or refused), the
/// summary gone stale, a post's or an attach's answer, the postmortem, a
/// resume, the end; and the operator's own text.
fn note_and_session(s: &mut State, a: Action, f: &mut Vec<Effect>) -> bool {
    match a {
        Action::PostmortemDrafted(r) => lifecycle::postmortem_drafted(s, r, f),
        Action::StatusPosted {
            which,
            text,
            result,
        } => {
            super::posting::posted(s, which, text, result, f);
            true
        }
        Action::NoteAttached(result) => {
            super::posting::attached(s, result, f);
            true
        }
        Action::Recorded(r) => {
            record::recorded(s, r);
            true
        }
        Action::RecordFailed { entry, error } => {
            record::record_failed(s, entry, error);
            true
        }
        Action::SummaryStale(why) => {
            lifecycle::summary_stale(s, &why, f);
            true
        }
        Action::Shutdown(why) => {
            lifecycle::shutdown(s, why, f);
            true
        }
        Action::Resumed {
            incident,
            checklists,
        } => {
            lifecycle::resumed(s, incident, checklists, f);
            true
        }
        Action::NoteSubmitted(text) => {
            record::note_submitted(s, text, f);
            true
        }
        _ => false,
    }
}

/// A plan or a group plan asked for from the command line (`:plan`, `:group`).
fn asked(s: &mut State, a: Action, f: &mut Vec<Effect>) {
    match a {
        Action::PlanAsked {
            target,
            to,
            exact,
            retag,
        } => {
            super::reads::request_form(s, &target, &to, exact, retag, f);
        }
        Action::GroupAsked { name, to } => {
            super::group_flow::request_named(s, &name, &to, f);
        }
        _ => {}
    }
}

/// The answers about plans and runs (and the revert look), each folded in
/// where it belongs; the screen is redrawn after every one.
fn answer(s: &mut State, a: Action, f: &mut Vec<Effect>) {
    match a {
        Action::MigrationsLoaded { plan_id, result } => migrations_loaded(s, plan_id, result, f),
        Action::RevertLooked { target, result } => revert_looked(s, target, result, f),
        Action::ChangesRead { plan_id, result } => changes_read(s, plan_id, result, f),
        Action::PermissionsRead { plan_id, result } => permissions_read(s, plan_id, result, f),
        Action::PreviewRead { plan_id, result } => preview_read(s, plan_id, result, f),
        Action::StepFinished {
            plan_id,
            step,
            result,
        } => step_finished(s, plan_id, step, result, f),
        Action::StepSettled {
            plan_id,
            step,
            result,
        } => step_settled(s, plan_id, step, result, f),
        Action::ProgressRead { plan_id, result } => progress_read(s, plan_id, result, f),
        Action::VerifyRead { plan_id, result } => verify_read(s, plan_id, result, f),
        _ => {}
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
    record::retry_note(s, fx, false);
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
        .filter_map(
            |r| match (r.plan.steps.get(r.step()), r.doing(), r.step_since()) {
                // While reads fail the timeout decides nothing: the next answer
                // does (see watch::progress_read).
                (
                    Some(PlanStep::WaitForRollout { timeout_secs }),
                    Some(super::state::Doing::Watching { blind: None, .. }),
                    Some(since),
                ) if (now - since).num_seconds() > *timeout_secs => {
                    Some((r.plan.id, *timeout_secs))
                }
                _ => None,
            },
        )
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

/// A reading's words redacted: a probe URL's `?token=`, a password in a
/// platform's message.
fn hidden_health(mut h: super::model::Health) -> super::model::Health {
    use super::redact::redact;
    if let Some(m) = h.message.as_mut() {
        *m = redact(m);
    }
    for sig in &mut h.signals {
        sig.name = redact(&sig.name);
        sig.display = redact(&sig.display);
        if let Some(e) = sig.error.as_mut() {
            *e = redact(e);
        }
    }
    h
}

/// A history's words redacted: commit messages, notes, warnings, what
/// each revision changes.
fn hidden_history(mut h: super::model::History) -> super::model::History {
    use super::redact::redact;
    for r in &mut h.revisions {
        r.message = redact(&r.message);
    }
    let f = &mut h.facts;
    for t in [
        &mut f.history_note,
        &mut f.busy,
        &mut f.inputs_drift,
        &mut f.head_meta,
    ]
    .into_iter()
    .flatten()
    {
        *t = redact(t);
    }
    for (_, t) in f
        .blocked
        .iter_mut()
        .chain(&mut f.warnings)
        .chain(&mut f.changes)
    {
        *t = redact(t);
    }
    h
}

/// A platform's words enter the state redacted (`core::redact`): an
/// error's text, a commit message, a history note, a change preview may
/// carry a credential, and every pane, note entry and export is drawn
/// from the state. (The screen masks what is drawn as well: `ui::mask`.)
fn hidden(a: Action) -> Action {
    use super::redact::redact;
    fn err<T>(r: Result<T, super::error::BackendError>) -> Result<T, super::error::BackendError> {
        r.map_err(|e| e.map_message(|m| redact(&m)))
    }
    fn text(
        r: Option<Result<String, super::error::BackendError>>,
    ) -> Option<Result<String, super::error::BackendError>> {
        r.map(|r| err(r).map(|t| redact(&t)))
    }
    match a {
        Action::HealthUpdated(hs) => {
            Action::HealthUpdated(hs.into_iter().map(hidden_health).collect())
        }
        Action::TargetsLoaded(r) => Action::TargetsLoaded(err(r)),
        Action::HealthFailed { target, error } => Action::HealthFailed {
            target,
            error: error.map_message(|m| redact(&m)),
        },
        Action::HistoryLoaded { target, result } => Action::HistoryLoaded {
            target,
            result: err(result).map(hidden_history),
        },
        Action::MigrationsLoaded { plan_id, result } => Action::MigrationsLoaded {
            plan_id,
            result: err(result),
        },
        Action::RevertLooked { target, result } => Action::RevertLooked {
            target,
            result: result.map(err),
        },
        Action::ChangesRead { plan_id, result } => Action::ChangesRead {
            plan_id,
            result: text(result),
        },
        Action::PermissionsRead { plan_id, result } => Action::PermissionsRead {
            plan_id,
            result: result.map(err),
        },
        Action::PreviewRead { plan_id, result } => Action::PreviewRead {
            plan_id,
            result: text(result),
        },
        Action::StepFinished {
            plan_id,
            step,
            result,
        } => Action::StepFinished {
            plan_id,
            step,
            result: err(result),
        },
        Action::StepSettled {
            plan_id,
            step,
            result,
        } => Action::StepSettled {
            plan_id,
            step,
            result: err(result),
        },
        Action::ProgressRead { plan_id, result } => Action::ProgressRead {
            plan_id,
            result: err(result),
        },
        Action::VerifyRead { plan_id, result } => Action::VerifyRead {
            plan_id,
            result: err(result).map(hidden_health),
        },
        other => other,
    }
}
