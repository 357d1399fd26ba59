//! Watching a run after its mutation: the rollout until it converges,
//! fails or times out, then verification — the replicas on the target
//! revision (by digest where the rollback pinned one), and recovery by the
//! target's own criteria. Part of `update`; pure like it.

use super::action::{BackendError, Effect};
use super::checklist::{auto_tick, not_ticked};
use super::entry::EntryKind;
use super::model::{Health, ImageRef, ProgressPhase};
use super::plan::{self, PlanId, PlanStep, RollbackPlan};
use super::record::record;
use super::run::{fail_run, next_step};
use super::runbook::AutoEvent;
use super::state::{Doing, Ending, State};
use super::verdict::{self, Recovery};

pub(super) fn progress_read(
    s: &mut State,
    plan_id: PlanId,
    result: Result<super::model::Progress, BackendError>,
    fx: &mut Vec<Effect>,
) {
    let poll = s.settings.progress_poll_ms;
    let now = s.now;
    let Some(run) = s.run_mut(plan_id) else {
        return;
    };
    let (Some(Doing::Watching { progress, blind }), Some(since)) =
        (run.doing().cloned(), run.step_since())
    else {
        return;
    };
    let Some(PlanStep::WaitForRollout { timeout_secs }) = run.plan.steps.get(run.step()).cloned()
    else {
        return;
    };
    let step = run.step();
    let t = run.plan.target.name.clone();
    let plan = Box::new(run.plan.clone());
    let timed_out = (now - since).num_seconds() > timeout_secs;
    let p = match result {
        Err(e) => return rollout_unreadable(s, plan_id, blind, e, fx),
        Ok(p) => p,
    };
    let changed = progress.as_ref().map(|o| (&o.message, o.phase)) != Some((&p.message, p.phase));
    // The step keeps its start: the timeout counts from it.
    run.state = super::state::RunState::InFlight {
        step,
        since,
        doing: Doing::Watching {
            progress: Some(p.clone()),
            blind: None,
        },
        halt: run.halt().cloned(),
    };
    if let Some((from, _)) = blind {
        let text = format!(
            "{t} answers again (rollout reads failed from {} to {}): the rollout is judged from what it says now",
            super::fmt::hms(from),
            super::fmt::hms(now)
        );
        record(
            s,
            fx,
            EntryKind::Source,
            Some(t.clone()),
            text,
            vec![],
            None,
        );
    }
    if timed_out && !p.phase.is_terminal() {
        let msg = format!(
            "rollout did not converge within {}: {}",
            super::fmt::age(timeout_secs),
            p.message
        );
        return fail_run(s, plan_id, fx, msg);
    }
    if changed {
        let text = format!(
            "{} ({}/{} updated, {}/{} ready, {} old)",
            p.message, p.updated, p.desired, p.ready, p.desired, p.old
        );
        record(
            s,
            fx,
            EntryKind::Progress,
            Some(t.clone()),
            text,
            vec![],
            None,
        );
    }
    match p.phase {
        ProgressPhase::Converged => {
            match &p.unproven {
                None => auto_tick(s, fx, &t, AutoEvent::Converged, Some(p.message.clone())),
                Some(why) => not_ticked(s, fx, &t, AutoEvent::Converged, why.clone()),
            }
            fx.push(Effect::LoadHistory(t));
            next_step(s, plan_id, fx);
        }
        ProgressPhase::Failed => fail_run(s, plan_id, fx, format!("rollout failed: {}", p.message)),
        _ => fx.push(Effect::ReadProgress {
            plan_id,
            plan,
            delay_ms: poll,
        }),
    }
}

/// The platform does not answer: the rollout goes on without us. Its
/// outcome is unknown, said once; rbtui keeps reading and judges it when
/// the platform answers, even past the timeout (a timeout during an
/// outage proves nothing).
fn rollout_unreadable(
    s: &mut State,
    plan_id: PlanId,
    blind: Option<(chrono::DateTime<chrono::Utc>, String)>,
    e: BackendError,
    fx: &mut Vec<Effect>,
) {
    let (now, poll) = (s.now, s.settings.progress_poll_ms);
    let Some(run) = s.run_mut(plan_id) else {
        return;
    };
    let t = run.plan.target.name.clone();
    let plan = Box::new(run.plan.clone());
    if blind.is_none() {
        if let Some(Doing::Watching { blind, .. }) = run.doing_mut() {
            *blind = Some((now, e.to_string()));
        }
        let text = format!(
            "outcome unknown: the rollout's state cannot be read since {} ({e}); rbtui keeps reading and judges it when {t} answers",
            super::fmt::hms(now)
        );
        record(
            s,
            fx,
            EntryKind::Unknown,
            Some(t.clone()),
            text,
            vec![],
            None,
        );
    }
    s.flash = Some((
        true,
        format!("{t}: rollout state unreadable ({e}); outcome unknown, still reading"),
    ));
    fx.push(Effect::ReadProgress {
        plan_id,
        plan,
        delay_ms: poll * 2,
    });
}

/// The images the run must end on: the revision's, with each pinned tag
/// replaced by the digest the plan wrote.
pub fn expected_images(p: &RollbackPlan) -> Vec<ImageRef> {
    let pins: Vec<&plan::ImagePin> = p
        .steps
        .iter()
        .flat_map(|st| match st {
            PlanStep::Rollback { pin, .. } => pin.iter().collect(),
            _ => vec![],
        })
        .collect();
    p.to.images
        .iter()
        .map(|i| {
            let tagged = format!("{}:{}", i.repository, i.tag.as_deref().unwrap_or_default());
            match pins.iter().find(|pin| pin.from == tagged) {
                Some(pin) => ImageRef::parse(&pin.to),
                None => i.clone(),
            }
        })
        .collect()
}

/// Whether the platform runs the expected images: a pinned one by its
/// digest, any other by repository and tag (what its template names).
pub fn runs_images(want: &[ImageRef], have: &[ImageRef]) -> bool {
    let same = |w: &ImageRef, h: &ImageRef| {
        w.repository == h.repository
            && match (&w.tag, &w.digest) {
                (None, Some(d)) => h.digest.as_ref() == Some(d),
                _ => w.tag.is_some() && w.tag == h.tag,
            }
    };
    !want.is_empty()
        && want.iter().all(|w| have.iter().any(|h| same(w, h)))
        && have.iter().all(|h| want.iter().any(|w| same(w, h)))
}

pub(super) fn verify_read(
    s: &mut State,
    plan_id: PlanId,
    result: Result<Health, BackendError>,
    fx: &mut Vec<Effect>,
) {
    let now = s.now;
    let Some(run) = s.run_mut(plan_id) else {
        return;
    };
    let Some(Doing::Verifying {
        until, replicas, ..
    }) = run.doing().cloned()
    else {
        return;
    };
    let t = run.plan.target.name.clone();
    let h = match result {
        Ok(h) => h,
        Err(e) => {
            s.flash = Some((true, format!("{t}: health read failed: {e}; retrying")));
            return fx.push(Effect::ReadVerify {
                plan_id,
                target: t,
                delay_ms: 2000,
            });
        }
    };
    let replicas = match replicas {
        Some(r) => Some(r),
        None if replicas_verified(&run.plan, &h) => {
            replicas_proven(s, plan_id, &h, fx);
            Some(h.clone())
        }
        None => None,
    };
    if let Some(Doing::Verifying {
        replicas: r, last, ..
    }) = s.run_mut(plan_id).and_then(|r| r.doing_mut())
    {
        *r = replicas.clone();
        *last = Some(h.clone());
    }
    let rec = verdict::recovered(&h, &s.settings.thresholds, now);
    match (&replicas, rec) {
        (Some(_), Recovery::Recovered(proof)) => recovered(s, plan_id, h, proof, fx),
        _ if now < until => fx.push(Effect::ReadVerify {
            plan_id,
            target: t,
            delay_ms: 2000,
        }),
        (Some(_), rec) => not_proven(s, plan_id, h, rec, fx),
        (None, _) => {
            let msg = format!(
                "not verified: {}/{} ready, images {}",
                h.ready,
                h.desired,
                h.images
                    .iter()
                    .map(|i| i.short())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            fail_run(s, plan_id, fx, msg)
        }
    }
}

/// Ready on the revision rolled back to (during a rollout old pods count
/// as ready, as kubectl counts them), nothing crash-looping, and the
/// expected images running.
fn replicas_verified(p: &RollbackPlan, h: &Health) -> bool {
    let want = expected_images(p);
    let ready = h.ready_on_template.unwrap_or(h.ready);
    ready == h.desired
        && h.desired > 0
        && h.crashlooping == 0
        && (want.is_empty() || runs_images(&want, &h.images))
}

/// The replicas are on the target revision: the before/after evidence,
/// and the ticks it proves (the probe only where one answered).
fn replicas_proven(s: &mut State, plan_id: PlanId, h: &Health, fx: &mut Vec<Effect>) {
    let Some(run) = s.run_mut(plan_id) else {
        return;
    };
    let p = run.plan.clone();
    let t = p.target.name.clone();
    let want = expected_images(&p);
    let ready = h.ready_on_template.unwrap_or(h.ready);
    let rows = evidence_rows(p.before.as_ref(), h, &p);
    let text = if want.is_empty() {
        format!(
            "{ready}/{} ready; images NOT compared: the target revision records none",
            h.desired
        )
    } else {
        let imgs: Vec<String> = want.iter().map(ImageRef::short).collect();
        format!(
            "verified: {ready}/{} ready on {}",
            h.desired,
            imgs.join(", ")
        )
    };
    record(
        s,
        fx,
        EntryKind::Evidence,
        Some(t.clone()),
        text,
        rows,
        None,
    );
    if want.is_empty() {
        let why = "the target revision records no image, so what runs was not compared";
        not_ticked(s, fx, &t, AutoEvent::Verified, why.into());
    } else {
        let read: Vec<String> = h.images.iter().map(|i| i.full()).collect();
        let proof = format!(
            "{ready}/{} ready; the platform reports {}",
            h.desired,
            read.join(", ")
        );
        auto_tick(s, fx, &t, AutoEvent::Verified, Some(proof));
    }
    probe_tick(s, &t, h, fx);
}

fn probe_tick(s: &mut State, t: &str, h: &Health, fx: &mut Vec<Effect>) {
    let probe = h
        .signals
        .iter()
        .find(|g| g.kind == super::signals::SignalKind::Probe);
    let ev = AutoEvent::ProbeAnswered;
    match (h.probe_ok, probe) {
        (Some(true), Some(g)) => auto_tick(
            s,
            fx,
            t,
            ev,
            Some(format!("probe {}: {}", g.name, g.display)),
        ),
        (Some(true), None) => auto_tick(
            s,
            fx,
            t,
            ev,
            Some("the platform's health probe passes".into()),
        ),
        (Some(false), _) => {
            let why = format!(
                "the health probe fails{}",
                probe
                    .map(|g| format!(": {}", g.display))
                    .unwrap_or_default()
            );
            not_ticked(s, fx, t, ev, why)
        }
        (None, _) => not_ticked(
            s,
            fx,
            t,
            ev,
            "no health probe is configured for this target".into(),
        ),
    }
}

/// Every criterion held: recorded with its proof, and the run is verified.
fn recovered(s: &mut State, plan_id: PlanId, h: Health, proof: String, fx: &mut Vec<Effect>) {
    let Some(run) = s.run_mut(plan_id) else {
        return;
    };
    let t = run.plan.target.name.clone();
    let before = run
        .plan
        .before
        .as_ref()
        .map(metric_text)
        .unwrap_or_else(|| "unknown".into());
    let details = vec![
        format!("before: {before}"),
        format!("after: {}", metric_text(&h)),
    ];
    let text = format!("metrics recovered: {proof}");
    record(
        s,
        fx,
        EntryKind::Recovered,
        Some(t.clone()),
        text,
        details,
        None,
    );
    auto_tick(s, fx, &t, AutoEvent::MetricsRecovered, Some(proof.clone()));
    let ending = Ending::Verified {
        after: h,
        proof,
        superseded: None,
    };
    super::run::conclude(s, plan_id, ending, fx);
}

/// The window ended with the replicas verified but recovery not shown.
fn not_proven(s: &mut State, plan_id: PlanId, h: Health, rec: Recovery, fx: &mut Vec<Effect>) {
    let Some(run) = s.run_mut(plan_id) else {
        return;
    };
    let t = run.plan.target.name.clone();
    let caveat = match &rec {
        Recovery::Unproven(why) => format!("replicas verified; recovery not proven: {why}"),
        Recovery::NotYet(why) => format!(
            "metrics not recovered within the window: {}; {why}",
            metric_text(&h)
        ),
        Recovery::Recovered(m) => format!("recovered: {m}"),
    };
    record(
        s,
        fx,
        EntryKind::NotRecovered,
        Some(t.clone()),
        caveat.clone(),
        vec![],
        None,
    );
    not_ticked(s, fx, &t, AutoEvent::MetricsRecovered, caveat.clone());
    let ending = Ending::Unproven {
        after: h,
        caveat,
        superseded: None,
    };
    super::run::conclude(s, plan_id, ending, fx);
}

pub(super) fn metric_text(h: &Health) -> String {
    let e = h
        .error_rate
        .map(|e| format!("5xx {:.1}%", e * 100.0))
        .unwrap_or_else(|| "5xx n/a".into());
    let l = h
        .latency_p95_ms
        .map(|l| format!("p95 {l:.0} ms"))
        .unwrap_or_else(|| "p95 n/a".into());
    format!("{e}, {l}")
}

pub(super) fn evidence_rows(
    before: Option<&Health>,
    after: &Health,
    p: &RollbackPlan,
) -> Vec<String> {
    let cell = |h: Option<&Health>, f: &dyn Fn(&Health) -> String| {
        h.map(f).unwrap_or_else(|| "unknown".into())
    };
    let imgs = |h: &Health| {
        h.images
            .iter()
            .map(|i| i.short())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let pct = |h: &Health| {
        h.error_rate
            .map(|e| format!("{:.1}%", e * 100.0))
            .unwrap_or("n/a".into())
    };
    let ms = |h: &Health| {
        h.latency_p95_ms
            .map(|l| format!("{l:.0} ms"))
            .unwrap_or("n/a".into())
    };
    let rows: Vec<(&str, String, String)> = vec![
        (
            "revision",
            p.from.id.to_string(),
            format!("{} (content of {})", after.revision, p.to.id),
        ),
        ("images", cell(before, &imgs), imgs(after)),
        (
            "ready",
            cell(before, &|h| format!("{}/{}", h.ready, h.desired)),
            format!("{}/{}", after.ready, after.desired),
        ),
        (
            "crash-looping",
            cell(before, &|h| h.crashlooping.to_string()),
            after.crashlooping.to_string(),
        ),
        ("5xx rate", cell(before, &pct), pct(after)),
        ("p95 latency", cell(before, &ms), ms(after)),
    ];
    let mut out = vec![
        "| | before | after |".to_string(),
        "|---|---|---|".to_string(),
    ];
    out.extend(
        rows.into_iter()
            .map(|(k, b, a)| format!("| {k} | {b} | {a} |")),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::model::Progress;
    use crate::core::state::State;
    use crate::core::testkit::*;

    /// web rolled back 2 → 1, its step applied: the run watches the rollout.
    fn watching() -> (State, PlanId) {
        let mut s = web();
        let p = plan_back(&s, "1");
        let id = p.id;
        let mut fx = vec![];
        crate::core::run::start_run(&mut s, p, None, None, &mut fx);
        let done = crate::core::action::StepDone {
            summary: "ok".into(),
            version: "v2".into(),
        };
        crate::core::run::step_finished(&mut s, id, 0, Ok(done), &mut fx);
        (s, id)
    }

    fn converged() -> Progress {
        Progress {
            phase: ProgressPhase::Converged,
            message: "done".into(),
            desired: 3,
            updated: 3,
            ready: 3,
            old: 0,
            unproven: None,
        }
    }

    /// Converged, then a read with the replicas on the target images and
    /// every signal within bounds: verified, with what it landed as.
    #[test]
    fn a_converged_rollout_that_recovers_is_verified_with_its_landing() {
        let (mut s, id) = watching();
        let mut fx = vec![];
        progress_read(&mut s, id, Ok(converged()), &mut fx);
        assert!(matches!(s.runs[0].doing(), Some(Doing::Verifying { .. })));
        let mut h = health("web", 3, 3, "r/web:a");
        h.revision = "3".into();
        verify_read(&mut s, id, Ok(h), &mut fx);
        assert!(
            matches!(s.runs[0].ending(), Some(Ending::Verified { .. })),
            "{:?}",
            s.runs[0].state
        );
        let end = s.incident.story("web").unwrap().runs[0]
            .ended
            .clone()
            .unwrap();
        assert_eq!(end.landed.as_deref(), Some("3"));
        assert!(end.why.contains("5xx 0.1% ≤ 5%"), "{}", end.why);
    }

    /// The window ends with the replicas verified but a metric still over:
    /// done, recovery NOT proven, never "verified".
    #[test]
    fn a_window_that_ends_over_the_threshold_is_not_proven() {
        let (mut s, id) = watching();
        let mut fx = vec![];
        progress_read(&mut s, id, Ok(converged()), &mut fx);
        let mut h = health("web", 3, 3, "r/web:a");
        h.error_rate = Some(0.2);
        verify_read(&mut s, id, Ok(h.clone()), &mut fx);
        assert!(s.runs[0].in_flight(), "within the window it keeps reading");
        s.now += chrono::Duration::seconds(11);
        verify_read(&mut s, id, Ok(h), &mut fx);
        let Some(Ending::Unproven { caveat, .. }) = s.runs[0].ending() else {
            panic!("{:?}", s.runs[0].state)
        };
        assert!(caveat.contains("5xx 20.0% > 5%"), "{caveat}");
    }

    /// A rollout read that fails makes the outcome unknown (said once);
    /// past its timeout it still decides nothing until the platform answers.
    #[test]
    fn an_unreadable_rollout_is_unknown_not_timed_out() {
        let (mut s, id) = watching();
        let mut fx = vec![];
        let down = || Err(BackendError::Unreachable("refused".into()));
        progress_read(&mut s, id, down(), &mut fx);
        progress_read(&mut s, id, down(), &mut fx);
        assert_eq!(
            said(&fx).matches("outcome unknown").count(),
            1,
            "{}",
            said(&fx)
        );
        let later = s.now + chrono::Duration::seconds(120);
        let _ = crate::core::update(&mut s, crate::core::action::Action::Tick(later));
        assert!(
            s.runs[0].in_flight(),
            "a timeout during an outage proves nothing"
        );
        let mut fx = vec![];
        progress_read(&mut s, id, Ok(converged()), &mut fx);
        assert!(said(&fx).contains("answers again"), "{}", said(&fx));
        assert!(matches!(s.runs[0].doing(), Some(Doing::Verifying { .. })));
    }

    /// A rollback pinned to the digest its pods ran lands on an image with
    /// no tag: it is verified by that digest, not by a `repo:tag` it never
    /// names (seen on a real API server: ROLLBACK FAILED after 3/3 ready).
    #[test]
    fn a_pinned_image_is_verified_by_digest() {
        let want = [ImageRef::parse("reg/catalog@sha256:e536")];
        assert!(runs_images(
            &want,
            &[ImageRef::parse("reg/catalog@sha256:e536")]
        ));
        assert!(!runs_images(
            &want,
            &[ImageRef::parse("reg/catalog@sha256:ffff")]
        ));
        assert!(!runs_images(&want, &[ImageRef::parse("reg/catalog:main")]));
        let tagged = [ImageRef::parse("reg/catalog:v1")];
        assert!(runs_images(
            &tagged,
            &[ImageRef::parse("reg/catalog:v1@sha256:aa")]
        ));
        assert!(!runs_images(&tagged, &[]));
    }
}
