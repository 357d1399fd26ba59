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
        row.verdict = match &row.deleted {
            Some((at, why)) => Some(verdict::Verdict {
                severity: Severity::Critical,
                reasons: vec![format!("deleted (at {}: {why})", super::fmt::hms(*at))],
                stale: false,
            }),
            None => row.health.as_ref().map(|h| verdict::evaluate(h, &t, now)),
        };
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
                Some(super::state::Ending::Verified {
                    superseded: None,
                    ..
                }) | Some(super::state::Ending::Unproven {
                    superseded: None,
                    ..
                })
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
            && s.incident
                .story(t)
                .is_none_or(|st| st.open_failure().is_none())
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
pub(super) fn health_updated(
    s: &mut State,
    hs: Vec<super::model::Health>,
    fx: &mut Vec<Effect>,
) -> bool {
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
        if let Some((at, _)) = s.row_mut(&h.target).deleted.take() {
            changed = true;
            let text = format!(
                "{} exists again (deleted at {}, read at {})",
                h.target,
                super::fmt::hms(at),
                super::fmt::hms(h.observed_at)
            );
            record(
                s,
                fx,
                EntryKind::Source,
                Some(h.target.clone()),
                text,
                vec![],
                None,
            );
        }
        if let Some(since) = s.row_mut(&h.target).down_since.take() {
            let text = format!(
                "{} answers again (reads failed from {} to {})",
                h.target,
                super::fmt::hms(since),
                super::fmt::hms(h.observed_at)
            );
            record(
                s,
                fx,
                EntryKind::Source,
                Some(h.target.clone()),
                text,
                vec![],
                None,
            );
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

/// The target's object is gone: said once, at once; its last health is
/// dropped (never shown as current) and its verdict says deleted.
fn deleted(
    s: &mut State,
    target: String,
    error: super::error::BackendError,
    fx: &mut Vec<Effect>,
) -> bool {
    if s.row(&target).is_some_and(|r| r.deleted.is_some()) {
        return false;
    }
    let now = s.now;
    let last = s
        .health(&target)
        .map(|h| {
            format!(
                "; its last health ({}/{} ready at {}) is not current",
                h.ready,
                h.desired,
                super::fmt::hms(h.observed_at)
            )
        })
        .unwrap_or_default();
    let text = format!("{target} was deleted: {error}{last}");
    record(
        s,
        fx,
        EntryKind::Source,
        Some(target.clone()),
        text,
        vec![],
        None,
    );
    let row = s.row_mut(&target);
    row.deleted = Some((now, error.to_string()));
    row.health = None;
    row.health_error = Some(error);
    reverdict(s);
    true
}

/// A read failed: its data ages; the outage is recorded once, when it
/// starts (with the last answer's time).
pub(super) fn health_failed(
    s: &mut State,
    target: String,
    error: super::error::BackendError,
    fx: &mut Vec<Effect>,
) -> bool {
    use super::error::BackendError::{Gone, NotFound};
    // Gone, or not found where it was read before: deleted, not an outage.
    let had = s.health(&target).is_some();
    if matches!(error, Gone(_)) || (had && matches!(error, NotFound(_))) {
        return deleted(s, target, error, fx);
    }
    if s.row(&target).is_none_or(|row| row.down_since.is_none()) {
        let now = s.now;
        s.row_mut(&target).down_since = Some(now);
        let last = s
            .health(&target)
            .map(|h| format!("last answer at {}", super::fmt::hms(h.observed_at)))
            .unwrap_or_else(|| "no answer yet this session".into());
        let text =
            format!("reads of {target} fail: {error} ({last}); its data ages until it answers");
        record(
            s,
            fx,
            EntryKind::Source,
            Some(target.clone()),
            text,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::error::BackendError;
    use crate::core::testkit::{health, said, web};

    /// Deleted is its own verdict, said once and at once; the last health
    /// is never shown as current; the target coming back is said too.
    #[test]
    fn a_deleted_target_is_never_its_last_health() {
        let mut s = web();
        let mut fx = Vec::new();
        let gone = BackendError::Gone(
            "deployments.apps \"web\" deleted at 03:00:05Z (seen by the watch)".into(),
        );
        assert!(health_failed(&mut s, "web".into(), gone.clone(), &mut fx));
        assert!(s.health("web").is_none(), "no OK 3/3 from before");
        let v = s.verdict("web").unwrap();
        assert_eq!(v.severity, Severity::Critical);
        assert!(v.reasons[0].starts_with("deleted (at "), "{:?}", v.reasons);
        assert!(said(&fx).contains("web was deleted: deployments.apps \"web\" deleted at 03:00:05Z (seen by the watch); its last health (3/3 ready at "), "{}", said(&fx));
        let mut fx = Vec::new();
        assert!(
            !health_failed(&mut s, "web".into(), gone, &mut fx),
            "said once"
        );
        assert!(fx.is_empty());
        // A plain 404 where it was read before is deleted too.
        let mut s = web();
        health_failed(
            &mut s,
            "web".into(),
            BackendError::NotFound("not found (404)".into()),
            &mut Vec::new(),
        );
        assert!(s.row("web").unwrap().deleted.is_some());
        // It comes back.
        let mut fx = Vec::new();
        health_updated(&mut s, vec![health("web", 3, 3, "r/web:b")], &mut fx);
        assert!(s.row("web").unwrap().deleted.is_none());
        assert!(said(&fx).contains("web exists again"), "{}", said(&fx));
    }

    /// A probe URL's token or a password in a platform's message is kept
    /// redacted: the Health pane and every other screen show what is kept.
    #[test]
    fn a_readings_secrets_never_reach_the_screen() {
        use crate::core::signals::{Signal, SignalKind};
        let mut s = web();
        let mut h = health("web", 3, 3, "r/web:b");
        h.observed_at += chrono::Duration::seconds(1);
        h.message = Some("dial postgres://app:PASSW0RDx@db:5432 failed".into());
        h.signals.push(Signal {
            name: "probe https://web/health?token=t0k3nvalue".into(),
            kind: SignalKind::Probe,
            value: None,
            ok: Some(false),
            display: "503 from https://web/health?token=t0k3nvalue".into(),
            criterion: None,
            breached: false,
            observed_at: h.observed_at,
            error: Some("GET https://web/health?token=t0k3nvalue: 503".into()),
            pending_secs: None,
            clear_secs: None,
            history: vec![],
        });
        // Through `update`: the state's entry is where a reading is redacted.
        crate::core::update(&mut s, crate::core::Action::HealthUpdated(vec![h]));
        let kept = format!("{:?}", s.health("web").unwrap());
        assert!(
            !kept.contains("t0k3nvalue") && !kept.contains("PASSW0RDx"),
            "{kept}"
        );
        assert!(kept.contains("token=[REDACTED]"), "{kept}");
    }
}
