//! Registry facts against a real registry: Debian's `docker-registry`
//! (the CNCF distribution registry, 2.8), started here as its users start
//! it (a config file, filesystem storage), images pushed to it over the
//! distribution API. A moved `:main` is named with both digests, a missing
//! tag blocks, the retained releases are counted, and a pinned plan says
//! what it pins.
#![allow(clippy::unwrap_used)] // a failed unwrap in a test is a failed test

use rbtui::backend::registry::{Registry, RegistryFacts};
use rbtui::backend::{Backend, BoxFut, StepDone};
use rbtui::core::action::BackendError;
use rbtui::core::model::{
    Health, History, ImageRef, Kind, Progress, Revision, TargetFacts, TargetInfo,
};
use rbtui::core::plan::{self, CheckStatus, PlanInputs, PlanStep, RollbackPlan};
mod common;

use common::registry::{client, push, start};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A platform that only has a history: what the layer adds to it is the
/// subject here.
struct Fixed(Mutex<History>);

impl Backend for Fixed {
    fn name(&self) -> &str {
        "fixed"
    }
    fn targets(&self) -> BoxFut<'_, Result<Vec<TargetInfo>, BackendError>> {
        Box::pin(async { Ok(vec![]) })
    }
    fn health_all(&self) -> BoxFut<'_, Vec<Result<Health, (String, BackendError)>>> {
        Box::pin(async { vec![] })
    }
    fn health<'a>(&'a self, t: &'a str) -> BoxFut<'a, Result<Health, BackendError>> {
        Box::pin(async move { Err(BackendError::NotFound(format!("no health for {t}"))) })
    }
    fn history<'a>(&'a self, _t: &'a str) -> BoxFut<'a, Result<History, BackendError>> {
        Box::pin(async move { Ok(self.0.lock().unwrap().clone()) })
    }
    fn execute<'a>(
        &'a self,
        _p: &'a RollbackPlan,
        _s: &'a PlanStep,
    ) -> BoxFut<'a, Result<StepDone, BackendError>> {
        Box::pin(async { Err(BackendError::Failed("not here".into())) })
    }
    fn progress<'a>(&'a self, _p: &'a RollbackPlan) -> BoxFut<'a, Result<Progress, BackendError>> {
        Box::pin(async { Err(BackendError::Failed("not here".into())) })
    }
    fn poll_interval(&self) -> Duration {
        Duration::from_secs(60)
    }
}

fn revision(id: &str, image: &str, ran: Option<&str>, current: bool) -> Revision {
    let mut i = ImageRef::parse(image);
    i.digest = ran.map(str::to_string);
    Revision {
        id: id.into(),
        deployed_at: Some(chrono::Utc::now()),
        images: vec![i],
        git_sha: None,
        message: format!("deploy {image}"),
        author: None,
        current,
    }
}

fn plan_to(h: &History, kind: Kind, to: &str) -> RollbackPlan {
    let t = TargetInfo {
        name: "web".into(),
        kind,
        environment: "staging".into(),
        location: "test".into(),
        object: Some("web".into()),
        simulated: false,
    };
    plan::build(PlanInputs {
        mutable_tags: &["main".into()],
        rollout_timeout_secs: 60,
        ..PlanInputs::new(&t, h, to, chrono::Utc::now())
    })
    .unwrap()
}

#[test]
#[cfg_attr(
    not(registry_bin),
    ignore = "needs a registry: apt-get install docker-registry (or set REGISTRY_BIN)"
)]
fn the_registry_says_a_tag_moved_or_is_gone_and_how_many_releases_remain() {
    let reg = start();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let c = client(&reg.host);
    let repo = format!("{}/shop/web", reg.host);
    let (d1, d2) = rt.block_on(async {
        let d1 = push(&c, &format!("{repo}:v1"), "one").await;
        let d2 = push(&c, &format!("{repo}:v2"), "two").await;
        // `:main` ran as v1 once, and has since moved to v2.
        push(&c, &format!("{repo}:main"), "two").await;
        (d1, d2)
    });
    assert_ne!(d1, d2);

    let r = Registry::default();
    assert_eq!(
        rt.block_on(r.resolve(&format!("{repo}:main"))),
        Ok(Some(d2.clone()))
    );
    assert_eq!(rt.block_on(r.resolve(&format!("{repo}:gone"))), Ok(None));
    let mut tags = rt.block_on(r.tags(&repo)).unwrap();
    tags.sort();
    assert_eq!(tags, ["main", "v1", "v2"]);

    let h = History {
        target: "web".into(),
        revisions: vec![
            revision("3", &format!("{repo}:v2"), Some(&d2), true),
            revision("2", &format!("{repo}:main"), Some(&d1), false),
            revision("1", &format!("{repo}:gone"), None, false),
        ],
        facts: TargetFacts {
            version: "1".into(),
            ..Default::default()
        },
        fetched_at: chrono::Utc::now(),
        known_bad: vec![],
        last_known_good: None,
    };
    let layer = RegistryFacts::new(
        Arc::new(Fixed(Mutex::new(h))),
        ["web".to_string()].into_iter().collect(),
    );
    let h = rt.block_on(layer.history("web")).unwrap();
    let short = |d: &str| d[..19].to_string();

    // A Swarm or Compose target restores the tag: the move is a warning
    // that names both digests.
    let p = plan_to(&h, Kind::Swarm, "2");
    let c = p.checks.iter().find(|c| c.id == "registry").unwrap();
    assert_eq!(c.status, CheckStatus::Warn, "{}", c.detail);
    assert!(
        c.detail.contains(&format!(
            "{repo}:main moved: it resolves to {} now, but spec 2 ran {}",
            short(&d2),
            short(&d1)
        )),
        "{}",
        c.detail
    );
    // `main` moves: it is no release to fall back on, and not counted.
    let kept = p.checks.iter().find(|c| c.id == "retained").unwrap();
    assert_eq!(kept.status, CheckStatus::Warn, "{}", kept.detail);
    assert!(
        kept.detail
            .contains("retains 2 release tag(s) (v1, v2); mutable tag(s) main not counted"),
        "{}",
        kept.detail
    );

    // Kubernetes pins the digest that ran: the move is no longer a risk.
    let p = plan_to(&h, Kind::Kubernetes, "2");
    assert!(p.pinned());
    let c = p.checks.iter().find(|c| c.id == "registry").unwrap();
    assert_eq!(c.status, CheckStatus::Pass, "{}", c.detail);
    assert!(
        c.detail.contains(&format!("the plan pins {}", short(&d1))),
        "{}",
        c.detail
    );

    // A tag that is gone blocks: there is nothing to pull.
    let p = plan_to(&h, Kind::Swarm, "1");
    let c = p.checks.iter().find(|c| c.id == "registry").unwrap();
    assert_eq!(c.status, CheckStatus::Block, "{}", c.detail);
    assert!(
        c.detail.contains("no such tag in the registry"),
        "{}",
        c.detail
    );
}
