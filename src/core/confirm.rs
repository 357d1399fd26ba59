//! What a confirm proves on its own, per target: that the context answered
//! just now. Shared by a plan's confirm and a group's. Part of `update`.

use super::action::Effect;
use super::checklist::{auto_tick, not_ticked};
use super::plan::CheckStatus;
use super::runbook::AutoEvent;
use super::state::State;

/// While a rollback runs no other is planned: says so and answers true.
pub(super) fn busy(s: &mut State) -> bool {
    if s.in_flight() {
        s.flash = Some((
            true,
            "a rollback is in flight; wait for it to finish before planning another".into(),
        ));
    }
    s.in_flight()
}

/// What stops any confirm whatever the plan: a note that cannot be
/// written (nothing mutates unrecorded), or a run already in flight.
pub(super) fn cannot_confirm(s: &mut State) -> bool {
    let why = if s.note_error.is_some() {
        "the note cannot be written: no mutation until it can (see header)"
    } else if s.in_flight() {
        "a rollback is already in flight"
    } else {
        return false;
    };
    s.flash = Some((true, why.into()));
    true
}

/// What a confirm proves, ticked per target: the context answered now;
/// an overridden schema BLOCK leaves the schema step open.
pub(super) fn confirmed_ticks(
    s: &mut State,
    p: &super::plan::RollbackPlan,
    reason: Option<&str>,
    fx: &mut Vec<Effect>,
) {
    let t = p.target.name.clone();
    // The context is verified by a fresh answer from it, not by the config.
    match context_proof(s, &t) {
        Ok(fact) => auto_tick(
            s,
            fx,
            &t,
            AutoEvent::ContextVerified,
            Some(format!(
                "{} ({}, {}): {fact}",
                t, p.target.environment, p.target.location
            )),
        ),
        Err(why) => not_ticked(s, fx, &t, AutoEvent::ContextVerified, why),
    }
    if let Some(r) = reason.filter(|_| {
        p.checks
            .iter()
            .any(|c| c.id == super::plan::CheckId::Schema && c.status == CheckStatus::Block)
    }) {
        // An override is the operator's decision, not the fact the step
        // states ("no forward-only migration"): the step stays open.
        not_ticked(
            s,
            fx,
            &t,
            AutoEvent::SchemaChecked,
            format!("the schema check BLOCKED and was overridden: {r}"),
        );
    }
}

/// The platform answered for this target recently and without error.
fn context_proof(s: &State, t: &str) -> Result<String, String> {
    if let Some(e) = s.row(t).and_then(|row| row.health_error.as_ref()) {
        return Err(format!("the last read of {t} failed: {e}"));
    }
    let Some(h) = s.health(t) else {
        return Err(format!("{t} has not answered yet"));
    };
    let age = (s.now - h.observed_at).num_seconds();
    if age > s.settings.thresholds.stale_after_secs {
        return Err(format!(
            "{t} last answered {} ago (stale)",
            super::fmt::age(age)
        ));
    }
    Ok(format!(
        "the platform answered at {} (revision {})",
        super::fmt::hms(h.observed_at),
        h.revision
    ))
}

