//! The Kubernetes backend against an in-test API server fed with responses
//! recorded from a real one: history as `kubectl rollout history` shows it,
//! the exact `kubectl rollout undo` patch plus the resourceVersion guard,
//! server-side dry run, rollout status, and the failure answers.
#![allow(unsafe_code)] // test set-up only: mkfifo, set_var before any thread
#![allow(clippy::unwrap_used)] // a failed unwrap in a test is a failed test

mod common;

use common::k8s_server::{self, FakeK8s, fixture};
use rbtui::backend::Backend;
use rbtui::backend::kubernetes::{DeployTarget, KubeBackend};
use rbtui::core::action::BackendError;
use rbtui::core::model::{Mode, ProgressPhase};
use rbtui::core::plan::{self, CheckStatus, PlanInputs, PlanStep, RollbackPlan};
use rbtui::core::verdict::{Severity, Thresholds, evaluate};
use serde_json::{Value, json};

use common::rt;

fn backend(
    fake: &FakeK8s,
    dir: &std::path::Path,
    token: &str,
    deployment: &str,
    rt: &tokio::runtime::Runtime,
) -> KubeBackend {
    backend_in(fake, dir, token, "shop", deployment, rt)
}

fn backend_in(
    fake: &FakeK8s,
    dir: &std::path::Path,
    token: &str,
    namespace: &str,
    deployment: &str,
    rt: &tokio::runtime::Runtime,
) -> KubeBackend {
    // KUBECONFIG with several files: the context lives in the second one.
    let other = dir.join("other.yaml");
    std::fs::write(
        &other,
        "apiVersion: v1\nkind: Config\nclusters: []\nusers: []\ncontexts: []\n",
    )
    .unwrap();
    let kc = fake.kubeconfig(dir, token);
    // KUBECONFIG is process-wide and `cargo test` runs tests on threads.
    let _env = ENV.lock().unwrap_or_else(|e| e.into_inner());
    unsafe {
        std::env::set_var(
            "KUBECONFIG",
            format!("{}:{}", other.display(), kc.display()),
        )
    };
    let (client, location) = rt
        .block_on(KubeBackend::connect(Some("shop-test")))
        .unwrap();
    let mut b = KubeBackend::new(
        client,
        location,
        vec![DeployTarget {
            name: "catalog".into(),
            namespace: namespace.into(),
            deployment: deployment.into(),
            environment: "prod".into(),
        }],
    );
    b.kubeconfig_user = KubeBackend::kubeconfig_user(Some("shop-test"));
    b
}

/// A backend on a runtime that keeps its watches running, once they synced.
fn watched(fake: &FakeK8s, dir: &std::path::Path) -> (tokio::runtime::Runtime, KubeBackend) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let b = backend(fake, dir, "admin-token", "catalog", &rt);
    rt.block_on(b.health_all());
    let t0 = std::time::Instant::now();
    while !b.watching("catalog") {
        assert!(
            t0.elapsed() < std::time::Duration::from_secs(10),
            "watches did not sync"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    (rt, b)
}

/// Held while a test points KUBECONFIG somewhere and connects.
static ENV: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn plan(b: &KubeBackend, rt: &tokio::runtime::Runtime, to: &str) -> RollbackPlan {
    plan_as(b, rt, to, false)
}

fn plan_as(
    b: &KubeBackend,
    rt: &tokio::runtime::Runtime,
    to: &str,
    exact_template: bool,
) -> RollbackPlan {
    let t = rt.block_on(b.targets()).unwrap();
    let h = rt.block_on(b.history("catalog")).unwrap();
    plan::build(PlanInputs {
        mutable_tags: &["main".into(), "latest".into()],
        exact_template,
        ..PlanInputs::new(&t[0], &h, to, chrono::Utc::now())
    })
    .unwrap()
}

#[test]
fn history_health_and_plan_from_the_recorded_cluster() {
    let fake = k8s_server::start();
    let dir = tempfile::tempdir().unwrap();
    let rt = rt();
    let b = backend(&fake, dir.path(), "admin-token", "catalog", &rt);
    let t = rt.block_on(b.targets()).unwrap();
    assert_eq!(
        t[0].location,
        format!("ctx shop-test · {} · ns shop", fake.url)
    );

    let h = rt.block_on(b.history("catalog")).unwrap();
    let ids: Vec<&str> = h.revisions.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, ["4", "3", "2", "1"]);
    assert!(h.revisions[0].current);
    assert_eq!(
        h.revisions[0].message,
        "deploy git-c0d3e5f: switch cache to redis cluster"
    );
    assert_eq!(h.revisions[1].images[0].tag.as_deref(), Some("main"));
    let d = h.revisions[0].images[0].digest.as_deref().unwrap();
    assert!(
        d.starts_with("sha256:") && d.len() == 71,
        "imageID digest seen on the pods: {d}"
    );
    assert_eq!(h.facts.version, "850");
    assert!(!h.facts.paused);

    let health = rt.block_on(b.health("catalog")).unwrap();
    assert_eq!(
        (
            health.desired,
            health.ready,
            health.updated,
            health.crashlooping
        ),
        (3, 0, 3, 3)
    );
    // Every crash-looping pod runs the template's images: the new revision.
    assert_eq!(health.new_revision_crashing, 3);
    assert_eq!(health.restarts, 21);
    assert!(
        health
            .message
            .as_deref()
            .unwrap()
            .contains("CrashLoopBackOff")
    );
    assert!(
        health
            .message
            .as_deref()
            .unwrap()
            .contains("Available=False MinimumReplicasUnavailable")
    );
    assert_eq!(
        health.endpoints,
        Some(0),
        "the one EndpointSlice has 3 endpoints, none ready"
    );
    assert!(
        health
            .message
            .as_deref()
            .unwrap()
            .contains("Warning BackOff pod/catalog-"),
        "{:?}",
        health.message
    );
    assert!(
        fake.requests()
            .iter()
            .any(|r| r.path == "/api/v1/namespaces/shop/events"
                && r.query.contains("fieldSelector=type%3DWarning"))
    );
    let v = evaluate(&health, &Thresholds::default(), health.observed_at);
    assert_eq!(v.severity, Severity::Critical);

    let p3 = plan(&b, &rt, "3");
    let c = p3.checks.iter().find(|c| c.id == "mutable-tag").unwrap();
    assert_eq!(c.status, CheckStatus::Warn);
    assert!(c.detail.contains("uses mutable tag `main`"), "{}", c.detail);
    let d = p3
        .checks
        .iter()
        .find(|c| c.id == "digest")
        .expect("digest check");
    assert_eq!(d.status, CheckStatus::Warn);
    assert!(d.detail.contains("registry.example.com/shop/catalog:main pinned by tag, no digest, and no pod of revision 3 runs anymore"), "{}", d.detail);
    let h = rt.block_on(b.history("catalog")).unwrap();
    let (_, w4) = h.facts.warnings.iter().find(|(r, _)| r == "4").unwrap();
    assert!(
        w4.contains("ran as sha256:")
            && w4.contains("if the tag moved since, the rollback runs a different build"),
        "{w4}"
    );
    let p4 = plan(&b, &rt, "4");
    assert!(
        p4.refusal()
            .unwrap()
            .detail
            .contains("skipped rollback (current template already matches revision 4)")
    );
}

#[test]
fn rollout_undo_sends_kubectls_patch_with_the_guard_and_converges() {
    let fake = k8s_server::start();
    let dir = tempfile::tempdir().unwrap();
    let rt = rt();
    let b = backend(&fake, dir.path(), "admin-token", "catalog", &rt);
    let mut p = plan(&b, &rt, "2");

    // Rehearsal preview: server-side dry run, nothing persisted.
    let dry = rt.block_on(b.undo(&p, 2, &[], true)).unwrap();
    assert!(dry.summary.contains("server-side dry run accepted"));
    assert_eq!(fake.patches()[0].query, "dryRun=All");
    assert_eq!(
        fake.state.lock().unwrap().deployment()["metadata"]["resourceVersion"],
        "850"
    );

    let done = rt
        .block_on(b.execute(
            &p,
            &PlanStep::Rollback {
                to: "2".into(),
                via: None,
                pin: vec![],
            },
        ))
        .unwrap();
    assert!(
        done.summary
            .contains("rolled back to revision 2 (JSON patch, resourceVersion 850 tested)"),
        "{}",
        done.summary
    );
    let patch = fake.patches().pop().unwrap();
    assert_eq!(patch.query, "");
    assert_eq!(
        patch.header("content-type"),
        Some("application/json-patch+json")
    );
    let body: Value = serde_json::from_str(&patch.body).unwrap();
    let ops = body.as_array().unwrap();
    assert_eq!(
        ops[0],
        json!({"op": "test", "path": "/metadata/resourceVersion", "value": "850"})
    );
    assert_eq!(
        Value::Array(ops[1..].to_vec()),
        fixture("07-rollout-undo-patch-request.json"),
        "exactly kubectl's patch"
    );
    assert!(!patch.body.contains('\n'), "compact JSON on the wire");

    p.built_from = done.version;
    // The controller converges on its own clock; rbtui only watches.
    let mut messages: Vec<String> = Vec::new();
    let t0 = std::time::Instant::now();
    loop {
        let pr = rt.block_on(b.progress(&p)).unwrap();
        if messages.last() != Some(&pr.message) {
            messages.push(pr.message.clone());
        }
        if pr.phase.is_terminal() {
            assert_eq!(pr.phase, ProgressPhase::Converged);
            break;
        }
        assert!(t0.elapsed().as_secs() < 10, "{messages:?}");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(messages.contains(&"Waiting for deployment \"catalog\" rollout to finish: 1 out of 3 new replicas have been updated...".to_string()), "{messages:?}");
    assert!(messages.contains(&"Waiting for deployment \"catalog\" rollout to finish: 1 old replicas are pending termination...".to_string()));
    assert_eq!(
        messages.last().unwrap(),
        "deployment \"catalog\" successfully rolled out"
    );

    // As `kubectl rollout history` shows it afterwards: 1, 3, 4, 5.
    let h = rt.block_on(b.history("catalog")).unwrap();
    let ids: Vec<&str> = h.revisions.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, ["5", "4", "3", "1"]);
    assert_eq!(
        h.revisions[0].message,
        "deploy git-8b41d07: add search facets (was revision 2)"
    );
    assert!(h.revisions[0].current);
    let health = rt.block_on(b.health("catalog")).unwrap();
    assert_eq!(
        (health.ready, health.desired, health.crashlooping),
        (3, 3, 0)
    );
    assert_eq!(health.images[0].tag.as_deref(), Some("git-8b41d07"));
}

#[test]
fn a_deployment_changed_since_the_plan_is_never_patched() {
    let fake = k8s_server::start();
    let dir = tempfile::tempdir().unwrap();
    let rt = rt();
    let b = backend(&fake, dir.path(), "admin-token", "catalog", &rt);
    let p = plan(&b, &rt, "2");
    // Changed before execution: the pre-read refuses, nothing is sent.
    fake.edit(|s| s.dep()["metadata"]["labels"]["touched-by"] = json!("someone-else"));
    let now = fake.state.lock().unwrap().deployment()["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .to_string();
    let r = rt.block_on(b.execute(
        &p,
        &PlanStep::Rollback {
            to: "2".into(),
            via: None,
            pin: vec![],
        },
    ));
    assert_eq!(
        r,
        Err(BackendError::Stale {
            built_from: "850".into(),
            now: now.clone()
        })
    );
    assert!(fake.patches().is_empty());
    // Changed between our read and our patch: the server's `test` op refuses (422).
    let mut p = p;
    p.built_from = now;
    fake.state.lock().unwrap().race_after_get = true;
    let r = rt.block_on(b.execute(
        &p,
        &PlanStep::Rollback {
            to: "2".into(),
            via: None,
            pin: vec![],
        },
    ));
    assert!(matches!(r, Err(BackendError::Stale { .. })), "{r:?}");
    assert_eq!(fake.patches().len(), 1);
    let s = fake.state.lock().unwrap();
    assert_eq!(
        s.deployment()["metadata"]["annotations"]["deployment.kubernetes.io/revision"],
        "4",
        "nothing applied"
    );
}

#[test]
fn failure_answers_name_the_cause() {
    let fake = k8s_server::start();
    let dir = tempfile::tempdir().unwrap();
    let rt = rt();
    let e = rt
        .block_on(
            backend(&fake, dir.path(), "not-a-valid-token", "catalog", &rt).history("catalog"),
        )
        .unwrap_err();
    assert_eq!(
        e,
        BackendError::Unauthorized(
            "credentials expired or invalid (401 Unauthorized): refresh your kubeconfig login"
                .into()
        )
    );
    let e = rt
        .block_on(backend(&fake, dir.path(), "viewer-none", "catalog", &rt).history("catalog"))
        .unwrap_err();
    assert!(matches!(e, BackendError::Forbidden(_)), "{e:?}");
    let e = e.to_string();
    assert!(
        e.starts_with("RBAC forbids `get` on deployments.apps \"catalog\" in namespace shop (403)"),
        "{e}"
    );
    assert!(
        e.contains("cannot get resource \"deployments\" in API group \"apps\""),
        "{e}"
    );
    let e = rt
        .block_on(backend(&fake, dir.path(), "admin-token", "inventory", &rt).history("catalog"))
        .unwrap_err();
    assert!(matches!(e, BackendError::NotFound(_)), "{e:?}");
    let e = e.to_string();
    assert!(
        e.starts_with("deployments.apps \"inventory\" in namespace shop not found (404)"),
        "{e}"
    );
    // A namespace that does not exist is said as such.
    let e = rt
        .block_on(
            backend_in(&fake, dir.path(), "admin-token", "shpo", "catalog", &rt).history("catalog"),
        )
        .unwrap_err();
    assert!(matches!(e, BackendError::NotFound(_)), "{e:?}");
    let e = e.to_string();
    assert!(
        e.starts_with("namespace shpo not found on this cluster"),
        "{e}"
    );
    // A conflict, a server error and a broken answer, each said plainly,
    // whether a direct read or a watch's LIST met it first.
    let answer = |code: u16, body: String| {
        fake.state.lock().unwrap().fault = Some((code, body));
        let e = rt
            .block_on(backend(&fake, dir.path(), "admin-token", "catalog", &rt).history("catalog"))
            .unwrap_err();
        fake.state.lock().unwrap().fault = None;
        e
    };
    let conflict = fixture("09-merge-patch-stale-rv-response.json").to_string();
    let e = answer(409, conflict);
    assert!(matches!(e, BackendError::Conflict(_)), "{e:?}");
    let e = e.to_string();
    assert!(
        e.starts_with(
            "conflict (409): Operation cannot be fulfilled on deployments.apps \"catalog\""
        ),
        "{e}"
    );
    let etcd = json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "message": "etcdserver: request timed out", "reason": "InternalError", "code": 500});
    let e = answer(500, etcd.to_string());
    assert_eq!(
        e,
        BackendError::Unavailable("API server error 500: etcdserver: request timed out".into())
    );
    let e = answer(200, "{\"kind\": \"Deployment\", \"metadata\": {".into());
    assert!(matches!(e, BackendError::Malformed(_)), "{e:?}");
    let e = e.to_string();
    assert!(e.starts_with("malformed answer from the API server"), "{e}");
    // Nothing listening: unreachable, not a hang.
    let dead = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let kc = dir.path().join("dead.yaml");
    std::fs::write(&kc, format!("apiVersion: v1\nkind: Config\nclusters:\n- name: t\n  cluster:\n    server: http://{dead}\nusers:\n- name: u\n  user:\n    token: x\ncontexts:\n- name: c\n  context:\n    cluster: t\n    user: u\ncurrent-context: c\n")).unwrap();
    let env = ENV.lock().unwrap_or_else(|e| e.into_inner());
    unsafe { std::env::set_var("KUBECONFIG", &kc) };
    let (client, loc) = rt.block_on(KubeBackend::connect(None)).unwrap();
    drop(env);
    let b = KubeBackend::new(
        client,
        loc,
        vec![DeployTarget {
            name: "catalog".into(),
            namespace: "shop".into(),
            deployment: "catalog".into(),
            environment: "prod".into(),
        }],
    );
    let e = rt.block_on(b.history("catalog")).unwrap_err();
    assert!(e.is_outage(), "{e:?}");
    assert!(e.to_string().starts_with("API server unreachable"), "{e}");
}

#[test]
fn the_cli_reads_a_config_with_a_kubernetes_target_and_previews_with_a_dry_run() {
    let fake = k8s_server::start();
    let dir = tempfile::tempdir().unwrap();
    let kc = fake.kubeconfig(dir.path(), "admin-token");
    std::fs::write(
        dir.path().join("rbtui.toml"),
        "[[target]]\nname = \"catalog\"\nkind = \"kubernetes\"\nenvironment = \"prod\"\ncontext = \"shop-test\"\nnamespace = \"shop\"\ndeployment = \"catalog\"\n",
    )
    .unwrap();
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_rbtui"))
            .args(args)
            .current_dir(dir.path())
            .env("KUBECONFIG", &kc)
            .output()
            .unwrap()
    };
    let out = run(&["status"]);
    let s = String::from_utf8_lossy(&out.stdout);
    assert!(
        s.contains("catalog") && s.contains("critical") && s.contains("3 replicas crash-looping"),
        "{s}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = run(&["plan", "catalog", "--to", "2"]);
    let s = String::from_utf8_lossy(&out.stdout);
    assert!(s.contains("dry-run      server-side dry run: deployment.apps/catalog server-side dry run accepted (nothing persisted) to revision 2"), "{s}{}", String::from_utf8_lossy(&out.stderr));
    // The same pipeline as the console: the rights are asked too.
    assert!(s.contains("[PASS ] permissions"), "{s}");
    assert!(
        fake.patches().iter().all(|p| p.query == "dryRun=All"),
        "the plan command never mutates"
    );
    assert_eq!(
        fake.state.lock().unwrap().deployment()["metadata"]["resourceVersion"],
        "850"
    );
}

/// Waits (up to 10 s) until `f` holds.
/// Polls `f` for up to 10 s.
fn until(what: &str, mut f: impl FnMut() -> bool) {
    let t0 = std::time::Instant::now();
    while !f() {
        assert!(t0.elapsed() < std::time::Duration::from_secs(10), "{what}");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

#[test]
fn health_is_fed_by_the_namespaces_watches_once_they_sync() {
    let fake = k8s_server::start();
    let dir = tempfile::tempdir().unwrap();
    let (rt, b) = watched(&fake, dir.path());
    let reads = || {
        fake.requests()
            .iter()
            .filter(|r| r.path.contains("/deployments/catalog"))
            .count()
            + fake.lists().len()
    };
    let before = reads();
    // The cluster changes; the watch brings it, no GET or LIST is made.
    fake.edit(|s| s.dep()["status"]["updatedReplicas"] = json!(2));
    until("the watch did not deliver the change", || {
        rt.block_on(b.health_all()).remove(0).unwrap().updated == 2
    });
    assert_eq!(reads(), before, "health came from the watches");
    // One watch per resource for the namespace, each asking for bookmarks.
    let watches = fake.watches();
    for (path, extra) in [
        ("/apis/apps/v1/namespaces/shop/deployments", ""),
        ("/apis/apps/v1/namespaces/shop/replicasets", ""),
        ("/api/v1/namespaces/shop/pods", ""),
        (
            "/apis/discovery.k8s.io/v1/namespaces/shop/endpointslices",
            "",
        ),
        (
            "/api/v1/namespaces/shop/events",
            "fieldSelector=type%3DWarning",
        ),
    ] {
        let w: Vec<_> = watches.iter().filter(|r| r.path == path).collect();
        assert_eq!(w.len(), 1, "{path}: {w:?}");
        assert!(
            w[0].query.contains("allowWatchBookmarks=true"),
            "{:?}",
            w[0]
        );
        assert!(w[0].query.contains(extra), "{:?}", w[0]);
    }
}

/// Idle, rbtui makes no LIST at all once its watches synced: the poll
/// reads the watches, and a probe GET says the server still answers.
#[test]
fn idle_on_synced_watches_there_are_no_lists() {
    let fake = k8s_server::start();
    let dir = tempfile::tempdir().unwrap();
    let (rt, b) = watched(&fake, dir.path());
    let (lists, watches) = (fake.lists().len(), fake.watches().len());
    for _ in 0..20 {
        assert!(rt.block_on(b.health_all()).remove(0).is_ok());
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(fake.lists().len(), lists, "no LIST while idle");
    assert_eq!(fake.watches().len(), watches, "no new watch while idle");
    let reqs = fake.requests();
    let probes = reqs.iter().filter(|r| r.path == "/version").count();
    assert!(
        probes >= 2,
        "the server's answers are what make health fresh"
    );
    // One liveness read per API server, never one per namespace per poll.
    assert!(probes <= 20, "{probes} liveness reads for 20 polls");
    let per_namespace = reqs
        .iter()
        .filter(|r| r.path == "/api/v1/namespaces/shop")
        .count();
    assert_eq!(
        per_namespace, 1,
        "the namespace is asked once, to say if it is missing"
    );
}

/// A watch that ends (an API server restart) is renewed from the last
/// resourceVersion; one whose version was compacted meanwhile gets 410
/// Gone and re-lists once, and no change is lost either way.
#[test]
fn an_ended_watch_resumes_and_a_compacted_one_relists() {
    let fake = k8s_server::start();
    let dir = tempfile::tempdir().unwrap();
    let (rt, b) = watched(&fake, dir.path());
    let lists = fake.lists().len();
    fake.close_watches();
    fake.edit(|s| s.dep()["status"]["updatedReplicas"] = json!(1));
    until("resumed watch", || {
        rt.block_on(b.health_all())
            .remove(0)
            .is_ok_and(|h| h.updated == 1)
    });
    assert_eq!(
        fake.lists().len(),
        lists,
        "resumed from its version, no LIST"
    );
    fake.edit(|s| {
        s.compact_and_end_watches();
        s.dep()["status"]["updatedReplicas"] = json!(2);
    });
    until("re-listed after 410", || {
        rt.block_on(b.health_all())
            .remove(0)
            .is_ok_and(|h| h.updated == 2)
    });
    assert!(fake.lists().len() > lists, "a 410 Gone re-lists");
}

/// `kubectl set image` by someone else: the watch pushes the new
/// ReplicaSet and the moved CURRENT, and History read afterwards has them.
#[test]
fn history_follows_a_new_revision_from_the_watch() {
    let fake = k8s_server::start();
    let dir = tempfile::tempdir().unwrap();
    let (rt, b) = watched(&fake, dir.path());
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    rt.block_on(async { b.subscribe(tx) });
    let lists = fake.lists().len();
    fake.edit(|s| s.set_image("registry.example.com/shop/catalog:git-fe11a9b"));
    let t0 = std::time::Instant::now();
    loop {
        let c = rt
            .block_on(async {
                tokio::time::timeout(std::time::Duration::from_secs(5), rx.recv()).await
            })
            .expect("a change within 5 s")
            .unwrap();
        if c == rbtui::backend::Change::History("catalog".into()) {
            break;
        }
        assert!(t0.elapsed().as_secs() < 5);
    }
    let h = rt.block_on(b.history("catalog")).unwrap();
    assert_eq!(h.revisions[0].id, "5");
    assert!(h.revisions[0].current);
    assert_eq!(h.revisions[0].git_sha.as_deref(), Some("fe11a9b"));
    assert_eq!(fake.lists().len(), lists, "from the watches");
}

#[test]
fn a_server_that_keeps_its_watches_open_but_answers_nothing_else_is_down() {
    let fake = k8s_server::start();
    let dir = tempfile::tempdir().unwrap();
    let (rt, b) = watched(&fake, dir.path());
    // Stamped when the server last answered a request sent for it (a
    // probe at most a second old), never with the watch's age.
    let asked = chrono::Utc::now();
    let h = rt.block_on(b.health_all()).remove(0).unwrap();
    assert!(
        h.observed_at >= asked - chrono::Duration::seconds(1),
        "stamped by the server's last answer"
    );
    let asked = chrono::Utc::now();
    let h = rt.block_on(b.health("catalog")).unwrap();
    assert!(h.observed_at >= asked, "a single read probes anew");
    fake.state.lock().unwrap().shutting_down = true;
    // A probe answer is reused for at most a second.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    assert!(b.watching("catalog"), "the watches are still open");
    // The watch cache alone is not an answer: no fresh-looking health.
    let r = rt.block_on(b.health_all()).remove(0);
    let (name, e) = r.expect_err("a verdict from the watch cache while the server refuses reads");
    assert_eq!(name, "catalog");
    assert!(
        e.to_string().contains("503") && e.to_string().contains("shutting down"),
        "{e}"
    );
}

/// After an outage the server answers again, but the shared watches are
/// still failing (refused, or waiting out their reconnect backoff): their
/// last error is not what the server says now. Health is read directly,
/// at once, and says the server answers.
#[test]
fn a_server_that_answers_again_is_said_at_once_while_its_watches_reconnect() {
    let fake = k8s_server::start();
    let dir = tempfile::tempdir().unwrap();
    let (rt, b) = watched(&fake, dir.path());
    fake.state.lock().unwrap().refuse_watches = true;
    fake.close_watches();
    // The watches see their streams end and their reconnects refused.
    let t0 = std::time::Instant::now();
    while b.watching("catalog") {
        assert!(
            t0.elapsed() < std::time::Duration::from_secs(10),
            "the watch never failed"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let h = rt.block_on(b.health_all()).remove(0);
    let h = h.expect("the server answers: a direct read, not the watch's last error");
    assert_eq!(h.desired, 3, "{h:?}");
    let h = rt.block_on(b.health("catalog")).expect("a single read too");
    assert_eq!(h.desired, 3);
}

/// The API server stops taking connections (its process gone behind a
/// load balancer, a node drained) while the watches it already streams
/// stay open and quiet: the open watches prove nothing, health is an
/// error naming the refusal within a poll, and once it takes connections
/// again health is back on the next poll, from the same watches.
#[test]
fn a_server_that_refuses_new_connections_while_its_watches_stay_open_is_down_then_back() {
    let fake = k8s_server::start();
    let dir = tempfile::tempdir().unwrap();
    let (rt, b) = watched(&fake, dir.path());
    assert!(rt.block_on(b.health_all()).remove(0).is_ok());
    let watches = fake.watches().len();
    fake.door.close();
    // A probe answer is reused for at most a second.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    assert!(b.watching("catalog"), "the watches are still open");
    let (_, e) = rt
        .block_on(b.health_all())
        .remove(0)
        .expect_err("no verdict from open watches of a server that takes no connection");
    assert!(
        e.to_string().to_lowercase().contains("refused"),
        "the refusal named: {e}"
    );
    let single = rt
        .block_on(b.health("catalog"))
        .expect_err("a single read too");
    assert!(
        single.to_string().to_lowercase().contains("refused"),
        "{single}"
    );
    fake.door.open();
    let (asked, t0) = (chrono::Utc::now(), std::time::Instant::now());
    let h = loop {
        match rt.block_on(b.health_all()).remove(0) {
            Ok(h) => break h,
            Err(e) => {
                // Within one poll (2 s) of the server answering.
                assert!(t0.elapsed().as_millis() < 2000, "still down: {e:?}");
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
        }
    };
    assert!(h.observed_at >= asked, "stamped by an answer sent after it");
    assert_eq!(
        fake.watches().len(),
        watches,
        "the same watches, none renewed"
    );
}

/// `kubectl delete deployment`: the watch sees it go, and health says
/// so at once as its own kind (deleted, with when), never the last health.
#[test]
fn a_deleted_deployment_is_said_deleted_at_once() {
    let fake = k8s_server::start();
    let dir = tempfile::tempdir().unwrap();
    let (rt, b) = watched(&fake, dir.path());
    assert!(rt.block_on(b.health_all()).remove(0).is_ok());
    fake.state.lock().unwrap().delete_deployment();
    let t0 = std::time::Instant::now();
    let e = loop {
        match rt.block_on(b.health_all()).remove(0) {
            Err((_, e)) => break e,
            Ok(_) => {
                assert!(
                    t0.elapsed() < std::time::Duration::from_secs(3),
                    "still read as there"
                );
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
        }
    };
    assert!(matches!(e, BackendError::Gone(_)), "{e:?}");
    assert!(
        e.to_string()
            .starts_with("deployments.apps \"catalog\" in namespace shop deleted at ")
            && e.to_string().ends_with("(seen by the watch)"),
        "{e}"
    );
}

/// Deleted while the watches were down and their history compacted: no
/// DELETED event ever comes; the re-list leaves it out, and that is said
/// as a deletion seen by the watch (the reflector's store only drops it).
#[test]
fn a_deployment_gone_while_the_watches_were_down_is_said_deleted_after_the_relist() {
    let fake = k8s_server::start();
    let dir = tempfile::tempdir().unwrap();
    let (rt, b) = watched(&fake, dir.path());
    assert!(rt.block_on(b.health_all()).remove(0).is_ok());
    let lists = fake.lists().len();
    fake.edit(|s| {
        s.compact_and_end_watches();
        s.delete_deployment();
    });
    let t0 = std::time::Instant::now();
    let e = loop {
        match rt.block_on(b.health_all()).remove(0) {
            Err((_, e)) if matches!(e, BackendError::Gone(_)) => break e,
            _ => {
                assert!(
                    t0.elapsed() < std::time::Duration::from_secs(5),
                    "never said deleted"
                );
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
        }
    };
    assert!(fake.lists().len() > lists, "the 410 re-listed");
    assert!(e.to_string().ends_with("(seen by the watch)"), "{e}");
}

#[test]
fn without_a_config_a_kubeconfig_offers_its_current_namespace() {
    let fake = k8s_server::start();
    let dir = tempfile::tempdir().unwrap();
    let kc = fake.kubeconfig(dir.path(), "admin-token");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_rbtui"))
        .arg("status")
        .current_dir(dir.path())
        .env("KUBECONFIG", &kc)
        .env("HOME", dir.path())
        .env("XDG_CONFIG_HOME", dir.path().join("none"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(
            "no config found; offering every Deployment in namespace shop of kube context shop-test"
        ),
        "{err}"
    );
    let s = String::from_utf8_lossy(&out.stdout);
    assert!(
        s.lines()
            .any(|l| l.starts_with("catalog") && l.contains("critical")),
        "{s}"
    );
}

/// During a partial rollout (the old ReplicaSet's 3 pods ready, a new pod
/// crash-looping) ready is what kubectl shows, and the new revision's
/// failure is said beside it, not folded into "0/3".
#[test]
fn a_partial_rollout_counts_as_kubectl_and_names_the_new_revisions_failure() {
    let fake = k8s_server::start();
    fake.edit(|s| {
        let crashing = s.of("pods", "shop")[0].clone();
        let mut old = Vec::new();
        for i in 0..3 {
            let mut p = crashing.clone();
            p["metadata"]["name"] = json!(format!("catalog-old-{i}"));
            p["spec"]["containers"][0]["image"] =
                json!("registry.example.com/shop/catalog:git-a1b2c3d");
            p["status"]["conditions"] = json!([{"type": "Ready", "status": "True"}]);
            p["status"]["containerStatuses"][0]["state"] =
                json!({"running": {"startedAt": "2026-11-22T03:00:00Z"}});
            p["status"]["containerStatuses"][0]["lastState"] = json!({});
            p["status"]["containerStatuses"][0]["image"] =
                json!("registry.example.com/shop/catalog:git-a1b2c3d");
            old.push(p);
        }
        old.push(crashing);
        s.set_all("pods", "shop", old);
        s.dep()["status"]["readyReplicas"] = json!(3);
        s.dep()["status"]["updatedReplicas"] = json!(1);
    });
    let dir = tempfile::tempdir().unwrap();
    let rt = rt();
    let b = backend(&fake, dir.path(), "admin-token", "catalog", &rt);
    let h = rt.block_on(b.health("catalog")).unwrap();
    assert_eq!((h.ready, h.desired), (3, 3), "kubectl's count");
    assert_eq!(
        h.ready_on_template,
        Some(0),
        "none on the template's images"
    );
    let m = h.message.clone().unwrap_or_default();
    assert!(m.contains("template revision: 0 of 3 ready"), "{m}");
    assert!(m.contains("1 pod(s) crash-looping"), "{m}");
    let v = rbtui::core::verdict::evaluate(&h, &Default::default(), chrono::Utc::now());
    assert!(
        !v.reasons.iter().any(|r| r.contains("no ready replicas")),
        "{:?}",
        v.reasons
    );
}

#[test]
fn the_rights_a_rollback_needs_are_asked_before_the_confirm() {
    let fake = k8s_server::start();
    let dir = tempfile::tempdir().unwrap();
    let rt = rt();
    let b = backend(&fake, dir.path(), "admin-token", "catalog", &rt);
    let p = plan(&b, &rt, "2");
    let rights = rt.block_on(b.permissions(&p)).unwrap().unwrap().each;
    assert!(rights.iter().all(|(ok, _)| *ok), "{rights:?}");
    assert_eq!(rights[0].1, "patch deployments.apps/catalog in shop");
    fake.state.lock().unwrap().deny_patch = true;
    // A v1.24 server cannot say who rbtui is: the kubeconfig's user is named.
    let answer = rt.block_on(b.permissions(&p)).unwrap().unwrap();
    assert_eq!(answer.identity.as_deref(), Some("kubeconfig user oncall"));
    // From v1.28 the server says it (SelfSubjectReview), asked once per
    // session: a new session on such a server.
    fake.state.lock().unwrap().ssr_user = Some("system:serviceaccount:shop:deployer".into());
    let b = backend(&fake, dir.path(), "admin-token", "catalog", &rt);
    let answer = rt.block_on(b.permissions(&p)).unwrap().unwrap();
    assert_eq!(
        answer.identity.as_deref(),
        Some("Kubernetes user system:serviceaccount:shop:deployer")
    );
    let rights = answer.each;
    assert_eq!(
        rights[0],
        (false, "patch deployments.apps/catalog in shop".to_string())
    );
    let reviews: Vec<_> = fake
        .requests()
        .into_iter()
        .filter(|r| r.path.ends_with("/selfsubjectaccessreviews"))
        .collect();
    assert_eq!(reviews.len(), 9, "three rights, asked three times");
    assert_eq!(
        reviews[0].json()["spec"]["resourceAttributes"],
        json!({"namespace": "shop", "verb": "patch", "group": "apps", "resource": "deployments", "name": "catalog"})
    );
    assert!(fake.patches().is_empty(), "asking changes nothing");
}

#[test]
fn history_shows_the_commit_an_image_tag_names_without_a_repo() {
    let fake = k8s_server::start();
    let dir = tempfile::tempdir().unwrap();
    let rt = rt();
    let b = backend(&fake, dir.path(), "admin-token", "catalog", &rt);
    let h = rt.block_on(b.history("catalog")).unwrap();
    let cur = h.current().unwrap();
    assert_eq!(cur.images[0].tag.as_deref(), Some("git-c0d3e5f"));
    assert_eq!(cur.git_sha.as_deref(), Some("c0d3e5f"));
}

/// Revision 3 names the mutable tag `main`, and one of its pods still runs
/// (its imageID has the digest). The default plan pins that digest in a
/// step that says so, and the patch carries it; the exact form restores
/// `:main` as kubectl does and says what that risks.
#[test]
fn a_mutable_tag_is_pinned_to_the_digest_that_ran_unless_the_exact_template_is_asked() {
    let fake = k8s_server::start();
    let digest = format!("sha256:{}", "ab12".repeat(16));
    fake.edit(|s| {
        let rs3 = s
            .of("replicasets", "shop")
            .into_iter()
            .find(|r| r["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "3")
            .unwrap();
        let hash = rs3["metadata"]["labels"]["pod-template-hash"]
            .as_str()
            .unwrap()
            .to_string();
        let rs_name = rs3["metadata"]["name"].as_str().unwrap().to_string();
        let mut p = s.of("pods", "shop")[0].clone();
        p["metadata"]["name"] = json!(format!("{rs_name}-old01"));
        p["metadata"]["labels"]["pod-template-hash"] = json!(hash);
        p["metadata"]["ownerReferences"][0]["name"] = json!(rs_name);
        let st = &mut p["status"]["containerStatuses"][0];
        st["image"] = json!("registry.example.com/shop/catalog:main");
        st["imageID"] = json!(format!("registry.example.com/shop/catalog@{digest}"));
        s.put("pods", p);
    });
    let dir = tempfile::tempdir().unwrap();
    let rt = rt();
    let b = backend(&fake, dir.path(), "admin-token", "catalog", &rt);

    let p = plan(&b, &rt, "3");
    let pinned = format!("registry.example.com/shop/catalog@{digest}");
    let c = p.checks.iter().find(|c| c.id == "mutable-tag").unwrap();
    assert_eq!(c.status, CheckStatus::Pass, "{}", c.detail);
    assert!(
        c.detail.contains(&format!(
            "pinned to {pinned}, the digest revision 3's pods ran"
        )),
        "{}",
        c.detail
    );
    assert!(
        p.checks.iter().all(|c| c.id != "digest"),
        "no tag-only warning once pinned"
    );
    let step = p
        .steps
        .iter()
        .find(|s| matches!(s, PlanStep::Rollback { .. }))
        .unwrap();
    let words = step.words(&p.target, &p.from);
    assert!(
        words.contains(&format!(
            "registry.example.com/shop/catalog:main -> {pinned}"
        )) && words.contains("a new ReplicaSet"),
        "{words}"
    );
    // Before the confirm: what changes, from the objects read afresh, with
    // the pin as it will be sent; replicas are said to stay.
    let diff = rt.block_on(b.changes(&p)).unwrap().unwrap();
    let line = |sign: char, text: &str| {
        diff.lines()
            .any(|l| l.starts_with(sign) && l.contains(text))
    };
    assert!(line('+', &format!("image: {pinned}")), "{diff}");
    let im = &p.from.images[0];
    let now_image = format!("{}:{}", im.repository, im.tag.clone().unwrap());
    assert!(line('-', &format!("image: {now_image}")), "{diff}");
    assert!(
        diff.starts_with("--- pod template now (revision "),
        "{diff}"
    );
    assert!(diff.contains("replicas stay"), "{diff}");
    assert!(
        !diff.contains("HorizontalPodAutoscaler"),
        "none targets it yet: {diff}"
    );
    // An HPA on the Deployment owns its replica count: the plan says so.
    fake.edit(|s| {
        s.put(
            "horizontalpodautoscalers",
            json!({"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
                "metadata": {"name": "catalog", "namespace": "shop"},
                "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "catalog"},
                    "minReplicas": 3, "maxReplicas": 12}}),
        )
    });
    let diff = rt.block_on(b.changes(&p)).unwrap().unwrap();
    assert!(
        diff.contains("HorizontalPodAutoscaler catalog scales it between 3 and 12 replicas"),
        "{diff}"
    );
    assert!(
        fake.patches().is_empty(),
        "reading what changes sends nothing"
    );
    let done = rt.block_on(b.execute(&p, step)).unwrap();
    assert!(
        done.summary.contains("with images pinned"),
        "{}",
        done.summary
    );
    let patch: Value = serde_json::from_str(&fake.patches().pop().unwrap().body).unwrap();
    let template = patch
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["path"] == "/spec/template")
        .unwrap();
    assert_eq!(
        template["value"]["spec"]["containers"][0]["image"],
        json!(pinned)
    );

    // The exact form: kubectl's restore of `:main`, warned, and said how to pin.
    let fake = k8s_server::start();
    let b = backend(&fake, dir.path(), "admin-token", "catalog", &rt);
    let e = plan_as(&b, &rt, "3", true);
    assert!(!e.pinned());
    let c = e.checks.iter().find(|c| c.id == "mutable-tag").unwrap();
    assert_eq!(c.status, CheckStatus::Warn);
}

/// Before the rollback replaces them: the crashed containers' previous
/// logs (the API server's own tail and byte limits), the Warning events of
/// the Deployment's pods and the pods' status, read without changing
/// anything.
#[test]
fn the_crash_loops_evidence_is_read_with_the_previous_containers_logs() {
    let fake = k8s_server::start();
    let dir = tempfile::tempdir().unwrap();
    let rt = rt();
    let b = backend(&fake, dir.path(), "admin-token", "catalog", &rt);
    let lines: Vec<String> = (0..300)
        .map(|i| format!("line {i}"))
        .chain(["panic: redis: connection refused".to_string()])
        .collect();
    fake.state
        .lock()
        .unwrap()
        .previous_logs
        .insert(("catalog-7b6656645b-647sj".into(), "catalog".into()), lines);
    let files = rt.block_on(b.evidence("catalog")).unwrap().unwrap();
    let names: Vec<&str> = files.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(
        names[..3],
        [
            "pods.txt",
            "events.txt",
            "logs-catalog-7b6656645b-647sj-catalog-previous.log"
        ]
    );
    assert_eq!(
        files.len(),
        2 + 3,
        "three crashed containers, three logs: {names:?}"
    );
    let log = &files[2].text;
    assert!(
        log.ends_with("Z panic: redis: connection refused\n"),
        "{log}"
    );
    assert_eq!(log.lines().count(), 200, "the server's tail, as asked");
    assert!(
        files[0].text.contains("waiting CrashLoopBackOff"),
        "{}",
        files[0].text
    );
    assert!(
        files[0]
            .text
            .contains("last: terminated Error (exit code 1)"),
        "{}",
        files[0].text
    );
    assert!(
        files[1].text.contains("BackOff Pod/catalog-7b6656645b-"),
        "{}",
        files[1].text
    );
    assert!(
        !files[1].text.contains("Scheduled"),
        "Warning events only: {}",
        files[1].text
    );
    let reqs = fake.state.lock().unwrap().log_requests.clone();
    assert!(
        reqs[0].ends_with("/pods/catalog-7b6656645b-647sj/log?container=catalog&previous=true&tailLines=200&limitBytes=262144&timestamps=true"),
        "{reqs:?}"
    );
    assert!(
        fake.patches().is_empty(),
        "reading evidence changes nothing"
    );
}

/// Without a kubelet the API server answers pods/log with 500 and its
/// dial error: that is no log. Each log is reported as not readable, the
/// status and events are saved; and when the kubelet hangs, each log is
/// given up on its own deadline, the rest kept.
#[test]
fn an_unreadable_log_is_said_never_saved_as_a_log() {
    let fake = k8s_server::start();
    let dir = tempfile::tempdir().unwrap();
    let rt = rt();
    let b = backend(&fake, dir.path(), "admin-token", "catalog", &rt);
    fake.state.lock().unwrap().kubelet = Some(None);
    let files = rt.block_on(b.evidence("catalog")).unwrap().unwrap();
    let (kept, unread): (Vec<_>, Vec<_>) = files.iter().partition(|f| f.unread.is_none());
    let kept: Vec<&str> = kept.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(kept, ["pods.txt", "events.txt"]);
    assert_eq!(unread.len(), 3, "{files:?}");
    for f in &unread {
        assert!(
            f.text.is_empty(),
            "an error answer is not a log: {}",
            f.text
        );
        assert!(
            f.unread.as_deref().unwrap().contains("no such host"),
            "{:?}",
            f.unread
        );
    }

    fake.state.lock().unwrap().kubelet = Some(Some(std::time::Duration::from_secs(30)));
    let t0 = std::time::Instant::now();
    let files = rt.block_on(b.evidence("catalog")).unwrap().unwrap();
    assert!(
        t0.elapsed() < std::time::Duration::from_secs(12),
        "the logs are given up together on their own deadline: {:?}",
        t0.elapsed()
    );
    assert!(
        files
            .iter()
            .any(|f| f.name == "pods.txt" && f.unread.is_none())
    );
    let timed_out = files
        .iter()
        .filter(|f| {
            f.unread
                .as_deref()
                .is_some_and(|w| w.contains("did not send the log within 8s"))
        })
        .count();
    assert_eq!(timed_out, 3, "{files:?}");
}

/// A Deployment running `:latest` from a real registry (Debian's
/// `docker-registry`) through the API double, with the registry layer;
/// the re-tag plan to revision 2's build, and both digests.
struct Retag {
    _reg: common::registry::Served,
    fake: FakeK8s,
    _dir: tempfile::TempDir,
    rt: tokio::runtime::Runtime,
    b: rbtui::backend::registry::RegistryFacts,
    plan: RollbackPlan,
    image: String,
    good: String,
    bad: String,
}

fn retag_setup() -> Retag {
    use rbtui::backend::registry::RegistryFacts;
    use std::sync::Arc;
    let reg = common::registry::start();
    let host = reg.host.clone();
    // Worker threads drive the kube client's own tasks, so the backend also
    // serves a console's runtime (a scripted session has its own).
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let c = common::registry::client(&host);
    let good = rt.block_on(common::registry::push(
        &c,
        &format!("{host}/shop/catalog:git-8b41d07"),
        "good",
    ));
    let bad = rt.block_on(common::registry::push(
        &c,
        &format!("{host}/shop/catalog:latest"),
        "bad",
    ));
    let fake = k8s_server::start();
    // The recorded cluster, its images in this registry, deployed as `:latest`.
    fake.edit(|s| {
        for v in s.objects.values_mut() {
            *v = serde_json::from_str(&v.to_string().replace("registry.example.com", &host))
                .unwrap();
        }
        s.set_image(&format!("{host}/shop/catalog:latest"));
    });
    let dir = tempfile::tempdir().unwrap();
    let kb = backend(&fake, dir.path(), "admin-token", "catalog", &rt);
    let b = RegistryFacts::new(Arc::new(kb), ["catalog".to_string()].into_iter().collect());
    let t = rt.block_on(b.targets()).unwrap();
    let h = rt.block_on(b.history("catalog")).unwrap();
    assert_eq!(
        h.current().unwrap().images[0].tag.as_deref(),
        Some("latest")
    );
    let plan = plan::build_retag(PlanInputs {
        mutable_tags: &["latest".into()],
        rollout_timeout_secs: 60,
        ..PlanInputs::new(&t[0], &h, "2", chrono::Utc::now())
    })
    .unwrap();
    Retag {
        _reg: reg,
        fake,
        _dir: dir,
        rt,
        b,
        plan,
        image: format!("{host}/shop/catalog:latest"),
        good,
        bad,
    }
}

impl Retag {
    fn converge(&self) -> rbtui::core::model::Progress {
        let t0 = std::time::Instant::now();
        loop {
            let pr = self.rt.block_on(self.b.progress(&self.plan)).unwrap();
            if pr.phase.is_terminal() {
                return pr;
            }
            assert!(t0.elapsed() < std::time::Duration::from_secs(20), "{pr:?}");
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    }
}

/// The ECR runbook's option B: `:latest` pointed at revision 2's build
/// (the manifest copied byte for byte, guarded by what `:latest` was), the
/// restart is kubectl's annotation patch with the resourceVersion tested,
/// and the rollout is converged only once the new pods run that digest.
#[test]
#[cfg_attr(not(registry_bin), ignore = "needs Debian's docker-registry")]
fn a_retag_points_the_mutable_tag_at_the_good_build_and_restarts_onto_it() {
    let r = retag_setup();
    let (p, rt, b) = (&r.plan, &r.rt, &r.b);
    assert_eq!(
        p.steps[0],
        PlanStep::Retag {
            image: r.image.clone(),
            from: r.bad.clone(),
            to: r.good.clone()
        }
    );
    let w = p.checks.iter().find(|c| c.id == "retag").unwrap();
    assert_eq!(w.status, CheckStatus::Warn);
    assert!(w.detail.starts_with("NO GIT TRACE"), "{}", w.detail);

    let done = rt.block_on(b.execute(p, &p.steps[0])).unwrap();
    assert!(done.summary.contains("now resolves to"), "{}", done.summary);
    let registry = rbtui::backend::registry::Registry::default();
    let now = rt.block_on(registry.resolve(&r.image)).unwrap();
    assert_eq!(
        now.as_deref(),
        Some(r.good.as_str()),
        "the tag names the good build"
    );
    // Again: `:latest` is no longer what the plan saw; nothing is pushed.
    let again = rt.block_on(b.execute(p, &p.steps[0])).unwrap_err();
    assert!(matches!(again, BackendError::Stale { .. }), "{again:?}");

    r.fake.state.lock().unwrap().pull_digest = Some(r.good.clone());
    let done = rt.block_on(b.execute(p, &p.steps[1])).unwrap();
    assert!(
        done.summary
            .contains("restarted (kubectl.kubernetes.io/restartedAt="),
        "{}",
        done.summary
    );
    let patch: Value = serde_json::from_str(&r.fake.patches().last().unwrap().body).unwrap();
    assert_eq!(patch[0]["op"], "test", "{patch}");
    assert_eq!(
        patch.as_array().unwrap().last().unwrap()["path"],
        "/spec/template/metadata/annotations/kubectl.kubernetes.io~1restartedAt"
    );
    let pr = r.converge();
    assert_eq!(pr.phase, ProgressPhase::Converged, "{pr:?}");
    assert!(
        pr.message.contains("every ready pod runs"),
        "{}",
        pr.message
    );
    let h = rt.block_on(b.health("catalog")).unwrap();
    assert_eq!(
        h.ready_on_template,
        Some(3),
        "the new pods run the template: {h:?}"
    );
}

/// Nodes that keep their cached image (imagePullPolicy IfNotPresent) run
/// the old build after the restart: the rollout is FAILED, never called
/// converged on a tag that proves nothing.
#[test]
#[cfg_attr(not(registry_bin), ignore = "needs Debian's docker-registry")]
fn a_restart_onto_a_cached_image_is_not_converged() {
    let r = retag_setup();
    let (p, rt, b) = (&r.plan, &r.rt, &r.b);
    rt.block_on(b.execute(p, &p.steps[0])).unwrap();
    rt.block_on(b.execute(p, &p.steps[1])).unwrap();
    let pr = r.converge();
    assert_eq!(pr.phase, ProgressPhase::Failed, "{pr:?}");
    assert!(
        pr.message.contains("kept its cached image"),
        "{}",
        pr.message
    );
}

/// The operator's path: `r` turns the rollback plan into the re-tag (from
/// a fresh read), one typed confirm runs it, and the revert PR becomes a
/// follow-up due within the hour, in the note and on the checklist.
#[test]
#[cfg_attr(not(registry_bin), ignore = "needs Debian's docker-registry")]
fn the_retag_is_planned_with_r_confirmed_and_leaves_a_revert_pr_due_within_the_hour() {
    use rbtui::app::script::Script;
    use rbtui::backend::clock::{Clock, ManualClock};
    use rbtui::core::state::{Popup, State};
    use std::sync::Arc;
    let r = retag_setup();
    r.fake.state.lock().unwrap().pull_digest = Some(r.good.clone());
    let Retag {
        b,
        rt: _rt,
        fake: _fake,
        _reg,
        _dir,
        ..
    } = r;
    let clock = ManualClock::new(chrono::Utc::now());
    let mut settings = common::settings(Mode::Live, "n.md");
    settings.retag = vec!["catalog".into()];
    let state = State::new(
        settings,
        rbtui::runbook::load_all(None).unwrap(),
        clock.now(),
    );
    let mut s = Script::new(state, Arc::new(b), clock, None);
    s.start();
    common::plan_to(&mut s, "catalog", "2");
    assert!(!s.state.plan.as_ref().unwrap().is_retag());
    s.press("r");
    let p = s.state.plan.clone().expect("the re-tag form, read afresh");
    assert!(
        p.is_retag() && p.title().starts_with("re-tag and restart catalog"),
        "{}",
        p.title()
    );
    assert_eq!(s.state.view.popup, Some(Popup::Plan));
    s.press("<Enter>catalog<Enter>");
    assert!(s.state.in_flight(), "{:?}", s.state.flash);
    let mut ended = false;
    for _ in 0..200 {
        s.advance(1000);
        if s.state.runs.last().is_some_and(|r| r.outcome().is_some()) {
            ended = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert!(ended, "{:?}", s.state.runs.last().map(|r| r.state.clone()));
    assert_eq!(
        s.state.runs.last().unwrap().outcome(),
        Some(rbtui::core::state::Outcome::Succeeded),
        "{}",
        s.recorded.join("")
    );
    let converged = s
        .state
        .checklist("catalog")
        .unwrap()
        .get("rollout")
        .cloned()
        .unwrap();
    assert!(
        converged
            .evidence
            .unwrap()
            .contains("every ready pod runs sha256:"),
        "the digest is the proof of the rollout"
    );
    let follow = s
        .recorded
        .iter()
        .find(|e| e.contains("follow-up: open the revert PR by"))
        .unwrap_or_else(|| panic!("{}", s.recorded.join("")));
    assert!(follow.contains("left no git trace"), "{follow}");
    let due = s.state.row("catalog").unwrap().retag_due.unwrap();
    let t = s.state.target("catalog").unwrap().clone();
    let rb = s.state.runbook_for(&t).unwrap();
    let step = rb
        .steps
        .iter()
        .find(|st| st.id == "revert-pr")
        .expect("the re-tag's own step");
    let title = rbtui::core::runbook::fill(&step.title, &s.state.runbook_vars(&t));
    assert!(
        title.contains(&rbtui::core::fmt::hms(due).to_string()),
        "{title}"
    );
    assert!(
        !s.state
            .checklist("catalog")
            .unwrap()
            .contains_key("rollback"),
        "'Executed rollout undo' is not ticked by a re-tag"
    );
}

/// The default plan for a `:main` revision pins the digest its pods ran;
/// once the controller converges on `catalog@sha256:…` (no tag) the run is
/// verified by that digest, not failed for lacking a `repo:tag` (seen on a
/// real API server: 3/3 ready, then "failed — not verified").
#[test]
fn a_pinned_rollback_is_verified_by_the_digest_it_pinned() {
    use rbtui::app::script::Script;
    use rbtui::backend::clock::{Clock, ManualClock};
    use rbtui::core::state::State;
    use std::sync::Arc;
    let fake = k8s_server::start();
    let digest = format!("sha256:{}", "ab12".repeat(16));
    fake.edit(|s| {
        let rs3 = s
            .of("replicasets", "shop")
            .into_iter()
            .find(|r| r["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "3")
            .unwrap();
        let hash = rs3["metadata"]["labels"]["pod-template-hash"]
            .as_str()
            .unwrap()
            .to_string();
        let rs_name = rs3["metadata"]["name"].as_str().unwrap().to_string();
        let mut p = s.of("pods", "shop")[0].clone();
        p["metadata"]["name"] = json!(format!("{rs_name}-old01"));
        p["metadata"]["labels"]["pod-template-hash"] = json!(hash);
        p["metadata"]["ownerReferences"][0]["name"] = json!(rs_name);
        let st = &mut p["status"]["containerStatuses"][0];
        st["image"] = json!("registry.example.com/shop/catalog:main");
        st["imageID"] = json!(format!("registry.example.com/shop/catalog@{digest}"));
        // It ran fine: revision 3 is not known bad.
        st["state"] = json!({"running": {"startedAt": "2026-11-20T10:00:00Z"}});
        st["ready"] = json!(true);
        st["restartCount"] = json!(0);
        s.put("pods", p);
    });
    let dir = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let b = backend(&fake, dir.path(), "admin-token", "catalog", &rt);
    let clock = ManualClock::new(chrono::Utc::now());
    let mut settings = common::settings(Mode::Live, "n.md");
    settings.verify_window_secs = 10;
    let state = State::new(
        settings,
        rbtui::runbook::load_all(None).unwrap(),
        clock.now(),
    );
    let mut s = Script::new(state, Arc::new(b), clock, None);
    s.start();
    common::plan_to(&mut s, "catalog", "3");
    assert!(s.state.plan.as_ref().unwrap().pinned(), "pinned by default");
    s.press("<Enter>catalog<Enter>");
    assert!(
        s.state.in_flight(),
        "{:?} {:?} {:#?}",
        s.state.flash,
        s.state.view.popup,
        s.state.plan.as_ref().map(|p| &p.checks)
    );
    for _ in 0..200 {
        s.advance(1000);
        if s.state.runs.last().is_some_and(|r| !r.in_flight()) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let all = s.recorded.join("");
    let run = s.state.runs.last().unwrap();
    assert!(
        !matches!(
            run.outcome(),
            Some(rbtui::core::state::Outcome::Failed(_)) | None
        ),
        "{:#?}",
        run.after()
    );
    let pinned = format!("catalog@{}", rbtui::core::model::short_digest(&digest));
    assert!(
        all.contains(&format!("verified: 3/3 ready on {pinned}")),
        "{:#?}",
        s.state.runs.last().unwrap().after()
    );
}

/// `rbtui check` against the API double: the platform answers, its
/// history is read, the rights a rollback needs are asked through the
/// plan pipeline (SelfSubjectAccessReview), the note directory takes a
/// file; a refused `patch` is a FAIL with its fix and exit 3; an Argo CD
/// target without a token beside it is its own failing row, placed.
#[test]
fn check_asks_what_a_rollback_needs_and_says_each_fix() {
    let fake = k8s_server::start();
    fake.edit(|s| s.ssr_user = Some("alice@example.com".into()));
    let dir = tempfile::tempdir().unwrap();
    let kc = fake.kubeconfig(dir.path(), "admin-token");
    std::fs::write(
        dir.path().join("rbtui.toml"),
        "[[target]]\nname = \"catalog\"\nkind = \"kubernetes\"\nenvironment = \"prod\"\ncontext = \"shop-test\"\nnamespace = \"shop\"\ndeployment = \"catalog\"\n\n[[target]]\nname = \"orders\"\nkind = \"argocd\"\nenvironment = \"prod\"\nserver = \"argocd.invalid\"\napp = \"orders\"\n",
    )
    .unwrap();
    let run = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_rbtui"))
            .args(["check"])
            .current_dir(dir.path())
            .env("KUBECONFIG", &kc)
            .env("HOME", dir.path())
            .env("XDG_CONFIG_HOME", dir.path().join("xdg"))
            .env_remove("ARGOCD_AUTH_TOKEN")
            .output()
            .unwrap()
    };
    let out = run();
    let s = String::from_utf8_lossy(&out.stdout);
    let row = |target: &str, check: &str| {
        s.lines()
            .find(|l| l.split_whitespace().take(2).eq([target, check]))
            .unwrap_or_else(|| panic!("{target} {check}:\n{s}"))
            .to_string()
    };
    assert!(
        row("catalog", "config").contains("rbtui.toml:1:1: kubernetes catalog"),
        "{s}"
    );
    assert!(
        row("catalog", "platform").contains(" ok   Kubernetes v"),
        "the server's version: {s}"
    );
    assert!(
        row("catalog", "creds").contains("kubeconfig")
            && row("catalog", "creds").contains("ctx shop-test"),
        "{s}"
    );
    assert!(row("catalog", "history").contains(" ok "), "{s}");
    let rights = row("catalog", "rights");
    assert!(
        rights.contains(" ok ") && rights.contains("alice@example.com") && rights.contains("patch"),
        "{rights}"
    );
    assert!(
        row("orders", "platform")
            .contains("FAIL not set up: rbtui.toml:9:1: target `orders`: no Argo CD token"),
        "{s}"
    );
    assert!(s.contains("fix: set ARGOCD_AUTH_TOKEN"), "{s}");
    assert!(row("(note)", "note").contains(" ok "), "{s}");
    assert_eq!(out.status.code(), Some(3), "the Argo CD target fails: {s}");
    // Rights refused for one verb: said, with the identity, as a FAIL.
    fake.edit(|st| st.deny_patch = true);
    let s = String::from_utf8_lossy(&run().stdout).to_string();
    let rights = s
        .lines()
        .find(|l| l.starts_with("catalog") && l.contains("rights"))
        .unwrap()
        .to_string();
    assert!(
        rights.contains("FAIL") && rights.contains("alice@example.com"),
        "{s}"
    );
    assert!(
        fake.patches().iter().all(|p| p.query == "dryRun=All"),
        "check never mutates"
    );
}
