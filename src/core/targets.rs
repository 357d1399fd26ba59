//! What the Health pane's order and verdicts rest on: each target judged
//! from its latest reading, worst first.

use super::action::Effect;
use super::checklist::auto_tick;
use super::entry::EntryKind;
use super::record::record;
use super::runbook::AutoEvent;
use super::state::State;
use super::verdict;
use super::verdict::Severity;

pub(super) fn reverdict(s: &mut State) {
    let (t, now) = (s.settings.thresholds, s.now);
    for row in s.table.values_mut() {
        row.verdict = row.health.as_ref().map(|h| verdict::evaluate(h, &t, now));
    }
    reorder(s);
}

/// Filtered, worst first, then by name; the selection follows its target.
pub fn reorder(s: &mut State) {
    let f = s.view.filter.to_ascii_lowercase();
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
        s.verdict(&s.targets[i].name)
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
        if first.is_some() || s.view.filter.is_empty() {
            s.view.selected = first.or(s.view.selected.take());
        }
    }
}

/// Records the verdict the operator looked at; ticks the "assess" step.
pub(super) fn assess(s: &mut State, target: &str, fx: &mut Vec<Effect>) {
    if s.row(target).is_some_and(|r| r.assessed) {
        return;
    }
    let Some(v) = s.verdict(target).cloned() else {
        return;
    };
    // An assessment from old or failing data would be a claim without proof.
    if v.stale || s.row(target).is_some_and(|row| row.health_error.is_some()) {
        s.flash = Some((
            true,
            format!("{target}: health not assessed: its data is stale or its reads fail"),
        ));
        return;
    }
    s.row_mut(target).assessed = true;
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

/// A finished rollback whose target now runs other images than it rolled
/// back to was undone by a later deploy (Compose re-created from its file,
/// Argo CD re-synced): said once, in the note and on the banner.
pub(super) fn rollback_superseded(
    s: &mut State,
    h: &super::model::Health,
    fx: &mut Vec<Effect>,
) -> bool {
    let Some(run) = s.runs.iter_mut().rev().find(|r| {
        r.plan.target.name == h.target
            && r.plan.is_rollback()
            && matches!(
                r.ending(),
                Some(super::state::Ending::Verified { superseded: None, .. })
                    | Some(super::state::Ending::Unproven { superseded: None, .. })
            )
    }) else {
        return false;
    };
    let want = super::watch::expected_images(&run.plan);
    if want.is_empty() || h.images.is_empty() || super::watch::runs_images(&want, &h.images) {
        return false;
    }
    let now: Vec<String> = h.images.iter().map(|i| i.short()).collect();
    let text = format!(
        "{} now runs {} instead of {}: a later deploy undid the rollback",
        h.target,
        now.join(", "),
        super::plan::images_text(&run.plan.to)
    );
    if let Some(super::state::RunState::Ended {
        ending:
            super::state::Ending::Verified { superseded, .. }
            | super::state::Ending::Unproven { superseded, .. },
        ..
    }) = Some(&mut run.state)
    {
        *superseded = Some(text.clone());
    }
    let t = h.target.clone();
    record(s, fx, EntryKind::Source, Some(t), text, vec![], None);
    true
}

/// A target seen failing (serious or worse, on a fresh read, with no run
/// of its own in flight) starts a failure in the incident, once until a
/// verified rollback answers it: recorded with the signals and the
/// revision that ran.
pub(super) fn failures_seen(s: &mut State, fx: &mut Vec<Effect>) {
    let mut seen: Vec<(String, super::verdict::Verdict)> = s
        .table
        .iter()
        .filter(|(_, row)| row.health_error.is_none())
        .filter_map(|(t, row)| Some((t.to_string(), row.verdict.clone()?)))
        .filter(|(_, v)| !v.stale && v.severity >= Severity::Serious)
        .collect();
    seen.retain(|(t, _)| {
        !s.busy_on(t)
            && s.target(t).is_some()
            && s.incident.story(t).is_none_or(|st| st.open_failure().is_none())
    });
    seen.sort_by(|a, b| a.0.cmp(&b.0));
    for (t, v) in seen {
        let revision = s
            .history(&t)
            .and_then(|h| h.current())
            .map(super::entry::RevFact::of)
            .or_else(|| {
                s.health(&t).map(|h| super::entry::RevFact {
                    id: h.revision.clone(),
                    sha: None,
                    images: h.images.iter().map(|i| i.full()).collect(),
                    deployed_at: None,
                })
            });
        let rev = revision
            .as_ref()
            .map(|r| format!(" (running {})", r.id))
            .unwrap_or_default();
        let text = format!("{t} failing: {}{rev}", v.severity.label());
        let m = super::entry::Marker::Failure {
            target: t.clone(),
            severity: v.severity.label().to_string(),
            reasons: v.reasons.clone(),
            revision,
        };
        record(s, fx, EntryKind::Failing, Some(t), text, v.reasons, Some(m));
    }
}

/// The backends listed their targets (or failed to): the first list
/// selects a target and says which drill faults cannot be met here.
pub(super) fn targets_loaded(
    s: &mut State,
    r: Result<Vec<super::model::TargetInfo>, super::error::BackendError>,
    fx: &mut Vec<Effect>,
) -> bool {
    match r {
        Ok(t) => {
            let first = s.targets.is_empty();
            s.targets = t;
            if first {
                super::lifecycle::drill_reach(s, fx);
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

/// A poller's snapshot: newer answers replace older ones, a target that
/// answers again is said to, and the verdicts (failures seen, evidence
/// due) follow. Redraws only when something changed.
pub(super) fn health_updated(s: &mut State, hs: Vec<super::model::Health>, fx: &mut Vec<Effect>) -> bool {
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
            let text = format!(
                "{} answers again (reads failed from {} to {})",
                h.target,
                super::fmt::hms(since),
                super::fmt::hms(h.observed_at)
            );
            record(s, fx, EntryKind::Source, Some(h.target.clone()), text, vec![], None);
        }
        changed |= rollback_superseded(s, &h, fx);
        super::lifecycle::after_interruption(s, &h, fx);
        if s.health(&h.target) != Some(&h) {
            changed = true;
            let row = s.row_mut(&h.target);
            row.trend.push(&h);
            row.health = Some(h);
        }
    }
    if changed {
        reverdict(s);
        failures_seen(s, fx);
        super::evidence::on_verdicts(s, fx);
    }
    changed
}

/// A read failed: its data ages; the outage is recorded once, when it
/// starts (with the last answer's time).
pub(super) fn health_failed(
    s: &mut State,
    target: String,
    error: super::error::BackendError,
    fx: &mut Vec<Effect>,
) -> bool {
    if s.row(&target).is_none_or(|row| row.down_since.is_none()) {
        let now = s.now;
        s.row_mut(&target).down_since = Some(now);
        let last = s
            .health(&target)
            .map(|h| format!("last answer at {}", super::fmt::hms(h.observed_at)))
            .unwrap_or_else(|| "no answer yet this session".into());
        let text = format!("reads of {target} fail: {error} ({last}); its data ages until it answers");
        record(s, fx, EntryKind::Source, Some(target.clone()), text, vec![], None);
    }
    s.row_mut(&target)
        .health_error
        .replace(error.clone())
        .as_ref()
        != Some(&error)
}
