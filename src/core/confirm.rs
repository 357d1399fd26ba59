//! What a confirm proves on its own, per target: that the context answered
//! just now. Shared by a plan's confirm and a group's. Part of `update`.

use super::action::Effect;
use super::checklist::{auto_tick, not_ticked};
use super::plan::CheckStatus;
use super::runbook::AutoEvent;
use super::state::State;

/// A target rolls back one plan at a time: while a run (or a running
/// group) holds it, no other plan is made for it — says so and answers
/// true. Other targets stay free: independent targets are planned and
/// confirmed while another rolls back.
pub(super) fn busy(s: &mut State, target: &str) -> bool {
    let Some(why) = busy_why(s, target) else {
        return false;
    };
    s.flash = Some((true, why));
    true
}

/// Why no plan may be made for the target now, if so.
pub(super) fn busy_why(s: &State, target: &str) -> Option<String> {
    s.busy_on(target).then(|| {
        format!("{target} is rolling back; wait for its run to finish before planning it again")
    })
}

/// What stops a confirm whatever the plan: a note that cannot be written
/// (nothing mutates unrecorded), or a run already in flight on one of its
/// targets.
pub(super) fn cannot_confirm(s: &mut State, targets: &[&str]) -> bool {
    let why = if s.note_error.is_some() {
        "the note cannot be written: no mutation until it can (see header)".to_string()
    } else if let Some(t) = targets.iter().find(|t| s.busy_on(t)) {
        format!("{t} is already rolling back")
    } else {
        return false;
    };
    s.flash = Some((true, why));
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
