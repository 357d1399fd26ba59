//! The Swarm backend against an engine API double that does what a real
//! manager can: apply a service update and then answer 500 (the leader
//! changed, the connection to the Raft store closed). rbtui must not call
//! that "failed": the outcome is unknown until the service is read again,
//! and the re-read decides. The real engine paths are in docker_swarm.rs.
#![allow(clippy::unwrap_used)] // a failed unwrap in a test is a failed test

mod common;

use common::http::{Req, Resp, serve};
use rbtui::backend::Backend;
use rbtui::backend::docker::engine;
use rbtui::backend::docker::swarm::{SwarmBackend, SwarmTarget};
use rbtui::core::error::BackendError;
use rbtui::core::plan::{self, PlanInputs, PlanStep};
use serde_json::json;
use std::sync::{Arc, Mutex};

/// One service `web` at spec version `index` running `image`.
struct Manager {
    index: u64,
    image: String,
    /// Apply the next update before answering 500 (else refuse it unapplied).
    apply_then_fail: bool,
}

fn service(m: &Manager) -> serde_json::Value {
    json!({
        "ID": "svc1",
        "Version": {"Index": m.index},
        "UpdatedAt": "2026-12-03T03:00:00Z",
        "Spec": {
            "Name": "web",
            "TaskTemplate": {"ContainerSpec": {"Image": m.image, "Env": ["DB_PASSWORD=hunter2"]}},
            "Mode": {"Replicated": {"Replicas": 1}}
        }
    })
}

fn image(tag: &str, id: &str) -> serde_json::Value {
    json!({
        "Id": id, "ParentId": "", "RepoTags": [format!("rbtui-test/web:{tag}")],
        "RepoDigests": [], "Created": 1764730800, "Size": 1, "SharedSize": -1,
        "Labels": {}, "Containers": -1
    })
}

fn engine_double(m: Arc<Mutex<Manager>>) -> String {
    let (addr, _) = serve(Arc::new(move |r: &Req| {
        let mut m = m.lock().unwrap();
        let path = r.path.as_str();
        if path.ends_with("/services/web/update") && r.method == "POST" {
            if m.apply_then_fail {
                let spec = r.json();
                m.image = spec["TaskTemplate"]["ContainerSpec"]["Image"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string();
                m.index += 1;
            }
            return Resp::json(
                500,
                json!({"message": "rpc error: code = Unavailable desc = transport is closing"}),
            );
        }
        if path.ends_with("/services/web") || path.ends_with("/services/svc1") {
            return Resp::json(200, service(&m));
        }
        if path.ends_with("/tasks") {
            return Resp::json(200, json!([]));
        }
        if path.ends_with("/images/json") {
            return Resp::json(
                200,
                json!([image("v2", "sha256:2222"), image("v1", "sha256:1111")]),
            );
        }
        Resp::json(404, json!({"message": format!("no route {path}")}))
    }));
    format!("tcp://{addr}")
}

fn backend(host: &str) -> SwarmBackend {
    SwarmBackend::new(
        engine::connect(Some(host)).unwrap(),
        vec![SwarmTarget {
            name: "web".into(),
            service: "web".into(),
            environment: "staging".into(),
        }],
    )
}

fn pin_to_v1(
    b: &SwarmBackend,
    rt: &tokio::runtime::Runtime,
) -> (rbtui::core::plan::RollbackPlan, PlanStep) {
    let t = rt.block_on(b.targets()).unwrap();
    let h = rt.block_on(b.history("web")).unwrap();
    let p = plan::build(PlanInputs {
        rollout_timeout_secs: 60,
        ..PlanInputs::new(&t[0], &h, "v1", chrono::Utc::now())
    })
    .unwrap();
    let step = p
        .steps
        .iter()
        .find(|s| matches!(s, PlanStep::Rollback { .. }))
        .cloned()
        .unwrap();
    (p, step)
}

#[test]
fn an_update_answered_500_is_an_unknown_outcome_that_the_re_read_decides() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    for applied in [true, false] {
        let m = Arc::new(Mutex::new(Manager {
            index: 5,
            image: "rbtui-test/web:v2".into(),
            apply_then_fail: applied,
        }));
        let b = backend(&engine_double(m.clone()));
        let (p, step) = pin_to_v1(&b, &rt);
        assert_eq!(p.built_from, "5");
        // Before the confirm: only the image line changes, and the env
        // value around it is never shown.
        let diff = rt.block_on(b.changes(&p)).unwrap().unwrap();
        let line = |sign: char, text: &str| {
            diff.lines()
                .any(|l| l.starts_with(sign) && l.contains(text))
        };
        assert!(line('-', "Image: rbtui-test/web:v2"), "{diff}");
        assert!(line('+', "Image: rbtui-test/web:v1"), "{diff}");
        let changed = diff.lines().filter(|l| {
            l.starts_with(['+', '-']) && !l.starts_with("+++") && !l.starts_with("---")
        });
        assert_eq!(changed.count(), 2, "only the image line changes: {diff}");
        assert!(
            !diff.contains("hunter2") && diff.contains("DB_PASSWORD=(hidden"),
            "{diff}"
        );
        let r = rt.block_on(b.execute(&p, &step));
        let Err(BackendError::OutcomeUnknown(why)) = &r else {
            panic!("a 500 after the update left is not a failure: {r:?}")
        };
        assert!(why.contains("transport is closing"), "{why}");
        let settled = rt.block_on(b.settle(&p, &step)).unwrap();
        assert_eq!(
            settled.applied,
            Some(applied),
            "the manager {} the update: {}",
            if applied { "applied" } else { "did not apply" },
            settled.seen
        );
        let want = if applied { "spec@6" } else { "spec@5" };
        assert!(settled.seen.contains(want), "{}", settled.seen);
    }
}
