//! Small builders for the core's own unit tests: a state with targets and
//! their histories, revisions, health readings, and what the effects
//! recorded — so each handler is tested on its own, without a runtime.

use super::action::{Action, Effect, NoteEntry};
use super::model::{Health, History, ImageRef, Kind, Mode, Revision, TargetInfo};
use super::state::{Settings, State};
use chrono::{DateTime, TimeZone, Utc};

pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 22, 3, 0, 0).unwrap()
}

pub fn target(name: &str, kind: Kind, env: &str) -> TargetInfo {
    TargetInfo {
        name: name.into(),
        kind,
        environment: env.into(),
        location: "test".into(),
        object: None,
        simulated: false,
    }
}

/// Revision `id` running `r/<target>:<tag>` at commit `sha`.
pub fn rev(id: &str, image: &str, sha: &str, current: bool) -> Revision {
    Revision {
        id: id.into(),
        deployed_at: Some(t0() - chrono::Duration::hours(1)),
        images: vec![ImageRef::parse(image)],
        git_sha: Some(sha.into()),
        message: format!("revision {id}"),
        author: None,
        current,
    }
}

pub fn history(target: &str, revisions: Vec<Revision>) -> History {
    History {
        target: target.into(),
        revisions,
        facts: super::model::TargetFacts {
            version: "v1".into(),
            ..Default::default()
        },
        fetched_at: t0(),
        known_bad: vec![],
        last_known_good: None,
    }
}

pub fn health(target: &str, ready: u32, desired: u32, image: &str) -> Health {
    Health {
        target: target.into(),
        desired,
        ready,
        ready_on_template: None,
        updated: ready,
        crashlooping: 0,
        new_revision_crashing: 0,
        restarts: 0,
        endpoints: Some(ready),
        error_rate: Some(0.001),
        latency_p95_ms: Some(100.0),
        latency_baseline_ms: Some(100.0),
        probe_ok: None,
        rollout_stuck: false,
        revision: "?".into(),
        images: vec![ImageRef::parse(image)],
        message: None,
        observed_at: t0(),
        signals: vec![],
    }
}

/// A live session on `targets`, their histories read (as the platform
/// answered them) and each answering healthy, no runbooks.
pub fn state(targets: Vec<(TargetInfo, History)>) -> State {
    let mut s = State::new(Settings::new(Mode::Live, "INC-T", "n.md"), vec![], t0());
    s.settings.verify_window_secs = 10;
    let infos = targets.iter().map(|(t, _)| t.clone()).collect();
    super::update(&mut s, Action::TargetsLoaded(Ok(infos)));
    for (t, h) in targets {
        let img = h
            .current()
            .and_then(|c| c.images.first())
            .map(|i| i.full())
            .unwrap_or_default();
        let mut hl = health(&t.name, 3, 3, &img);
        hl.revision = h.current().map(|c| c.id.to_string()).unwrap_or_default();
        super::update(&mut s, Action::HealthUpdated(vec![hl]));
        let row = s.row_mut(&t.name);
        row.platform_history = Some(h.clone());
        row.history = Some(h);
    }
    s
}

/// The entries the effects ask the note to take, in order.
pub fn records(fx: &[Effect]) -> Vec<&NoteEntry> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::Record(n) => Some(n),
            Effect::Execute { announce, .. } => Some(announce),
            _ => None,
        })
        .collect()
}

/// Every entry's text, one string.
pub fn said(fx: &[Effect]) -> String {
    records(fx)
        .iter()
        .map(|e| e.text.as_str())
        .collect::<Vec<_>>()
        .join("\n")
}

/// `web` on staging: revision 2 runs (r/web:b, bbbbbbb), 1 ran before
/// (r/web:a, aaaaaaa).
pub fn web() -> State {
    let h = history(
        "web",
        vec![
            rev("2", "r/web:b", "bbbbbbb", true),
            rev("1", "r/web:a", "aaaaaaa", false),
        ],
    );
    state(vec![(target("web", Kind::Kubernetes, "staging"), h)])
}

/// The plan back to `to` for `web`, built from the state's read.
pub fn plan_back(s: &State, to: &str) -> super::plan::RollbackPlan {
    let t = s.target("web").unwrap().clone();
    let h = s.history("web").unwrap().clone();
    super::plan::build(super::plan::PlanInputs {
        id: s.next_plan_id,
        target: &t,
        mode: Mode::Live,
        history: &h,
        to,
        now: s.now,
        before: s.health("web"),
        mutable_tags: &[],
        rollout_timeout_secs: 60,
        exact_template: false,
    })
    .unwrap()
}
