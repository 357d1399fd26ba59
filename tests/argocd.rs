//! The Argo CD backend against an in-test server that behaves like the real
//! one: the rollback flow with the auto-sync guard, and every failure answer.
#![allow(clippy::unwrap_used)] // a failed unwrap in a test is a failed test

#[path = "common/argo_console.rs"]
mod argo_console;
#[path = "common/argo_server.rs"]
mod argo_server;
mod common;

use argo_console::{backend, backend_in, conn, console};
use argo_server::{BAD, Fault, GOOD, TOKEN};
use rbtui::app::script::Script;
use rbtui::backend::Backend;
use rbtui::backend::argocd::client::Client;
use rbtui::backend::argocd::{AppSpec, AppTarget, ArgoBackend};
use rbtui::backend::clock::ManualClock;
use rbtui::core::action::BackendError;
use rbtui::core::model::{Mode, ProgressPhase};
use rbtui::core::plan::{self, CheckStatus, PlanInputs, PlanStep, RollbackPlan};
use rbtui::core::state::{Outcome, State};
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

use common::rt;

fn plan_for(b: &ArgoBackend, rt: &tokio::runtime::Runtime, to: &str) -> RollbackPlan {
    let targets = rt.block_on(b.targets()).unwrap();
    let h = rt.block_on(b.history("orders")).unwrap();
    plan::build(PlanInputs {
        mutable_tags: &["latest".into()],
        ..PlanInputs::new(&targets[0], &h, to, common::t0())
    })
    .unwrap()
}

#[test]
fn history_is_read_newest_first_with_shas_and_who() {
    let fake = argo_server::start();
    let b = backend(&fake, TOKEN, Some("shop"));
    let rt = rt();
    let t = rt.block_on(b.targets()).unwrap();
    assert_eq!(
        t[0].location,
        format!("{} · app orders-prod (project shop)", fake.addr)
    );
    let h = rt.block_on(b.history("orders")).unwrap();
    let ids: Vec<&str> = h.revisions.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, ["42", "41", "40", "39"]);
    assert!(h.revisions[0].current);
    assert_eq!(h.revisions[1].git_sha.as_deref(), Some(GOOD));
    assert_eq!(h.revisions[2].author.as_deref(), Some("eva.lund"));
    assert_eq!(h.revisions[1].author.as_deref(), Some("automated sync"));
    assert_eq!(
        h.revisions[0].message,
        "shop-config/apps/orders/overlays/prod@HEAD"
    );
    assert!(h.facts.auto_sync);
    let health = rt.block_on(b.health("orders")).unwrap();
    assert_eq!(
        (
            health.desired,
            health.ready,
            health.crashlooping,
            health.restarts
        ),
        (2, 0, 2, 14)
    );
    assert!(health.message.unwrap().contains("Degraded"));
    let r = fake.requests();
    assert!(
        r.iter()
            .all(|r| r.header("authorization") == Some(&format!("Bearer {TOKEN}")))
    );
    assert!(
        r.iter()
            .any(|r| r.path == "/api/v1/applications/orders-prod" && r.query == "project=shop")
    );
}

#[test]
fn rollback_disables_auto_sync_first_then_rolls_back_and_converges() {
    let fake = argo_server::start();
    let b = backend(&fake, TOKEN, Some("shop"));
    let rt = rt();
    let mut p = plan_for(&b, &rt, "41");
    assert_eq!(p.steps[0], PlanStep::DisableAutoSync);
    // What the rollback applies: the live revision's rendered manifests
    // against history id 41's, asked of the server before any mutation.
    let before = fake.requests().len();
    let diff = rt.block_on(b.changes(&p)).unwrap().unwrap();
    assert!(
        diff.starts_with("--- manifests of history id 42 ("),
        "{diff}"
    );
    let line = |sign: char, text: &str| {
        diff.lines()
            .any(|l| l.starts_with(sign) && l.contains(text))
    };
    assert!(
        line('-', "image: ghcr.io/acme/orders:git-d8f3c2a"),
        "{diff}"
    );
    assert!(
        line('+', "image: ghcr.io/acme/orders:git-a1b2c3d"),
        "{diff}"
    );
    assert!(
        !line('+', "kind: Service"),
        "unchanged objects are context, not changes: {diff}"
    );
    assert!(
        fake.requests()[before..].iter().all(|r| r.method == "GET"),
        "reading what changes mutates nothing"
    );

    // The server refuses a rollback while auto-sync is on: the guard is real.
    let refused = rt.block_on(b.execute(
        &p,
        &PlanStep::Rollback {
            to: "41".into(),
            via: None,
            pin: vec![],
        },
    ));
    assert_eq!(
        refused,
        Err(BackendError::Refused(
            "rollback cannot be initiated when auto-sync is enabled".into()
        ))
    );

    let done = rt
        .block_on(b.execute(&p, &PlanStep::DisableAutoSync))
        .unwrap();
    assert!(
        done.summary
            .contains(r#"merge PATCH {"spec":{"syncPolicy":{"automated":{"enabled":false}}}}"#),
        "the exact body is recorded: {}",
        done.summary
    );
    p.built_from = done.version;
    let done = rt
        .block_on(b.execute(
            &p,
            &PlanStep::Rollback {
                to: "41".into(),
                via: None,
                pin: vec![],
            },
        ))
        .unwrap();
    p.built_from = done.version;
    let mut phases = Vec::new();
    for _ in 0..10 {
        let pr = rt.block_on(b.progress(&p)).unwrap();
        phases.push(pr.phase);
        if pr.phase.is_terminal() {
            assert!(
                pr.message.contains("rolled back to a1b2c3d"),
                "{}",
                pr.message
            );
            break;
        }
    }
    assert_eq!(phases.first(), Some(&ProgressPhase::Progressing));
    assert_eq!(phases.last(), Some(&ProgressPhase::Converged));

    let m = fake.mutating();
    let (patch, post) = (&m[1], &m[2]);
    assert_eq!(
        m[0].path, "/api/v1/applications/orders-prod/rollback",
        "the refused attempt was sent first"
    );
    assert_eq!(
        (patch.method.as_str(), patch.path.as_str()),
        ("PATCH", "/api/v1/applications/orders-prod")
    );
    assert_eq!(patch.header("content-type"), Some("application/json"));
    let pb = patch.json();
    assert_eq!(pb["patchType"], "merge");
    assert_eq!(pb["project"], "shop");
    let inner: serde_json::Value = serde_json::from_str(pb["patch"].as_str().unwrap()).unwrap();
    assert_eq!(
        inner,
        json!({"spec": {"syncPolicy": {"automated": {"enabled": false}}}})
    );
    assert_eq!(
        (post.method.as_str(), post.path.as_str()),
        ("POST", "/api/v1/applications/orders-prod/rollback")
    );
    assert_eq!(
        post.json(),
        json!({"name": "orders-prod", "id": 41, "prune": false, "dryRun": false, "project": "shop"})
    );
    fake.with(|s| {
        let a = &s.app["spec"]["syncPolicy"]["automated"];
        assert_eq!(
            (
                a["enabled"].clone(),
                a["prune"].clone(),
                a["selfHeal"].clone()
            ),
            (json!(false), json!(true), json!(true)),
            "prune/selfHeal kept"
        );
        let last = s.app["status"]["history"]
            .as_array()
            .unwrap()
            .last()
            .unwrap()
            .clone();
        assert_eq!(
            (last["id"].clone(), last["revision"].clone()),
            (json!(43), json!(GOOD))
        );
    });
}

#[test]
fn reenabling_auto_sync_is_a_patch_with_enabled_true() {
    let fake = argo_server::start();
    fake.with(|s| s.app["spec"]["syncPolicy"]["automated"]["enabled"] = json!(false));
    let b = backend(&fake, TOKEN, None);
    let rt = rt();
    rt.block_on(b.targets()).unwrap();
    let h = rt.block_on(b.history("orders")).unwrap();
    assert!(!h.facts.auto_sync, "enabled: false means off (v3.1+)");
    let targets = rt.block_on(b.targets()).unwrap();
    let p = plan::build_reenable(
        PlanInputs {
            id: plan::PlanId(2),
            ..PlanInputs::new(&targets[0], &h, "", common::t0())
        },
        Some((h.find("42").unwrap(), h.find("41").unwrap())),
    )
    .unwrap();
    let done = rt
        .block_on(b.execute(&p, &PlanStep::EnableAutoSync))
        .unwrap();
    assert!(done.summary.contains("auto-sync re-enabled"));
    let patch = fake.mutating().pop().unwrap();
    let inner: serde_json::Value =
        serde_json::from_str(patch.json()["patch"].as_str().unwrap()).unwrap();
    assert_eq!(
        inner,
        json!({"spec": {"syncPolicy": {"automated": {"enabled": true}}}})
    );
    fake.with(|s| {
        assert_eq!(
            s.app["spec"]["syncPolicy"]["automated"],
            json!({"enabled": true, "prune": true, "selfHeal": true})
        )
    });
}

#[test]
fn servers_before_3_1_get_automated_removed_and_restored_exactly() {
    let fake = argo_server::start();
    fake.with(|s| {
        s.version = "v3.0.12+abc".into();
        s.app["spec"]["syncPolicy"]["automated"] =
            json!({"prune": true, "selfHeal": true, "allowEmpty": true});
    });
    let b = backend(&fake, TOKEN, None);
    let rt = rt();
    let p = plan_for(&b, &rt, "41");
    let done = rt
        .block_on(b.execute(&p, &PlanStep::DisableAutoSync))
        .unwrap();
    let patch = fake
        .mutating()
        .into_iter()
        .find(|r| r.method == "PATCH")
        .unwrap();
    let inner: serde_json::Value =
        serde_json::from_str(patch.json()["patch"].as_str().unwrap()).unwrap();
    assert_eq!(inner["spec"], json!({"syncPolicy": {"automated": null}}));
    assert!(
        done.summary.contains("allowEmpty"),
        "the note says what was removed: {}",
        done.summary
    );
    // A later session (a new backend) re-enables: the block comes back as it was.
    let b2 = backend(&fake, TOKEN, None);
    rt.block_on(b2.targets()).unwrap();
    let h = rt.block_on(b2.history("orders")).unwrap();
    let targets = rt.block_on(b2.targets()).unwrap();
    let p2 = plan::build_reenable(
        PlanInputs {
            id: plan::PlanId(2),
            ..PlanInputs::new(&targets[0], &h, "", common::t0())
        },
        Some((h.find("42").unwrap(), h.find("41").unwrap())),
    )
    .unwrap();
    rt.block_on(b2.execute(&p2, &PlanStep::EnableAutoSync))
        .unwrap();
    fake.with(|s| {
        assert_eq!(
            s.app["spec"]["syncPolicy"]["automated"],
            json!({"prune": true, "selfHeal": true, "allowEmpty": true})
        );
        assert!(
            s.app["metadata"]["annotations"]
                .get(rbtui::backend::argocd::SAVED_AUTOMATED)
                .is_none(),
            "the saved block is cleared"
        );
    });
}

#[test]
fn an_unreadable_version_is_never_guessed_and_is_asked_again() {
    let fake = argo_server::start();
    for _ in 0..3 {
        fake.fault(
            "/api/version",
            argo_server::Fault::Status(500, r#"{"error":"internal","code":13}"#.into()),
        );
    }
    let b = backend(&fake, TOKEN, None);
    let rt = rt();
    let p = plan_for(&b, &rt, "41");
    let r = rt.block_on(b.execute(&p, &PlanStep::DisableAutoSync));
    let Err(BackendError::NotSent(m)) = r else {
        panic!("{r:?}")
    };
    assert!(m.contains("version could not be read"), "{m}");
    assert!(fake.mutating().is_empty(), "nothing sent");
    // The next try reads the version (v3.5): prune/selfHeal are kept.
    rt.block_on(b.execute(&p, &PlanStep::DisableAutoSync))
        .unwrap();
    fake.with(|s| {
        assert_eq!(
            s.app["spec"]["syncPolicy"]["automated"],
            json!({"enabled": false, "prune": true, "selfHeal": true})
        )
    });
}

#[test]
fn a_plan_is_refused_when_the_app_moved_and_nothing_is_sent() {
    let fake = argo_server::start();
    let b = backend(&fake, TOKEN, None);
    let rt = rt();
    let p = plan_for(&b, &rt, "41");
    // A new sync lands after the plan was built.
    fake.with(|s| {
        s.app["status"]["history"]
            .as_array_mut()
            .unwrap()
            .push(json!({"id": 43, "revision": BAD}))
    });
    let r = rt.block_on(b.execute(&p, &PlanStep::DisableAutoSync));
    assert!(matches!(r, Err(BackendError::Stale { .. })), "{r:?}");
    assert!(fake.mutating().is_empty(), "nothing applied");
}

#[test]
fn server_refusals_are_surfaced_verbatim() {
    let fake = argo_server::start();
    fake.with(|s| s.app["spec"]["syncPolicy"] = json!({}));
    let b = backend(&fake, TOKEN, None);
    let rt = rt();
    let p = plan_for(&b, &rt, "41");
    let r = rt.block_on(b.execute(
        &p,
        &PlanStep::Rollback {
            to: "99".into(),
            via: None,
            pin: vec![],
        },
    ));
    assert_eq!(
        r,
        Err(BackendError::Refused(
            "application argocd/orders-prod does not have deployment with id 99".into()
        ))
    );
    rt.block_on(b.execute(
        &p,
        &PlanStep::Rollback {
            to: "41".into(),
            via: None,
            pin: vec![],
        },
    ))
    .unwrap();
    let p2 = plan_for(&b, &rt, "40");
    assert!(
        p2.checks
            .iter()
            .any(|c| c.id == "busy" && c.detail.contains("Running")),
        "mid-operation is a pre-flight block"
    );
    let r = rt.block_on(b.execute(
        &p2,
        &PlanStep::Rollback {
            to: "40".into(),
            via: None,
            pin: vec![],
        },
    ));
    assert_eq!(
        r,
        Err(BackendError::Refused(
            "another operation is already in progress".into()
        ))
    );
}

#[test]
fn failed_operations_report_the_repo_server_error() {
    let fake = argo_server::start();
    fake.with(|s| {
        s.app["spec"]["syncPolicy"] = json!({});
        s.op_outcome = ("Failed".into(), "ComparisonError: rpc error: code = Unknown desc = failed to fetch a1b2c3d: repository not found".into());
    });
    let b = backend(&fake, TOKEN, None);
    let rt = rt();
    let mut p = plan_for(&b, &rt, "41");
    p.built_from = rt
        .block_on(b.execute(
            &p,
            &PlanStep::Rollback {
                to: "41".into(),
                via: None,
                pin: vec![],
            },
        ))
        .unwrap()
        .version;
    let last = (0..10)
        .map(|_| rt.block_on(b.progress(&p)).unwrap())
        .find(|pr| pr.phase.is_terminal())
        .unwrap();
    assert_eq!(last.phase, ProgressPhase::Failed);
    assert!(
        last.message.contains("repository not found"),
        "{}",
        last.message
    );
}

#[test]
fn failure_answers_are_clear_and_never_show_the_token() {
    let fake = argo_server::start();
    let rt = rt();
    let check = |token: &str, project: Option<&str>, want: &str| {
        let b = backend(&fake, token, project);
        rt.block_on(b.targets()).unwrap();
        let e = rt.block_on(b.history("orders")).unwrap_err();
        let e = e.to_string();
        assert!(e.contains(want), "{e}");
        assert!(!e.contains(TOKEN));
    };
    check(
        "expired",
        None,
        "token expired or invalid (401: invalid session: token has invalid claims: token is expired)",
    );
    check(
        "bogus",
        None,
        "401: invalid session: token signature is invalid",
    );
    fake.fault("orders-prod", Fault::Status(500, json!({"error": "etcdserver: leader changed", "code": 2, "message": "etcdserver: leader changed"}).to_string()));
    check(
        TOKEN,
        None,
        "Argo CD server error 500: etcdserver: leader changed",
    );
    fake.fault("orders-prod", Fault::Malformed);
    check(TOKEN, None, "malformed answer from Argo CD");
    fake.fault("orders-prod", Fault::Hang(Duration::from_secs(4)));
    check(TOKEN, None, "did not answer within 2s (timeout)");

    // A missing app: 403 without a project (the server hides existence), 404 with one.
    let app = |p: Option<&str>| {
        let c = conn(fake.base(), TOKEN);
        let t = AppTarget {
            name: "x".into(),
            app: "inventory".into(),
            app_namespace: None,
            project: p.map(str::to_string),
            environment: "prod".into(),
        };
        ArgoBackend::new(Client::new(c).unwrap(), vec![AppSpec::One(t)])
    };
    let b = app(None);
    rt.block_on(b.targets()).unwrap();
    let e = rt.block_on(b.history("x")).unwrap_err();
    assert!(
        e.to_string()
            .contains("lacks the `get` permission on <project>/inventory (403: permission denied)"),
        "{e}"
    );
    let b = app(Some("shop"));
    rt.block_on(b.targets()).unwrap();
    let e = rt.block_on(b.history("x")).unwrap_err();
    assert!(
        e.to_string().contains(
            "shop/inventory: not found (404: applications.argoproj.io \"inventory\" not found)"
        ),
        "{e}"
    );

    // Read-only token: reads work; the step that would turn auto-sync off
    // asks first whether the rollback after it may be sent, and sends
    // nothing, naming the account and the right.
    let b = backend(&fake, "readonly", Some("shop"));
    let p = plan_for(&b, &rt, "41");
    let sent = fake.mutating().len();
    let e = rt
        .block_on(b.execute(&p, &PlanStep::DisableAutoSync))
        .unwrap_err();
    assert!(
        matches!(&e, BackendError::NotSent(m) if m.starts_with("Argo CD account readonly may not sync applications shop/orders-prod")),
        "{e:?}"
    );
    assert_eq!(fake.mutating().len(), sent, "nothing sent");
    // A refused request names the verb the token lacks.
    fake.with(|s| s.app["spec"]["syncPolicy"]["automated"]["enabled"] = json!(false));
    let p = plan_for(&b, &rt, "41");
    let e = rt
        .block_on(b.execute(&p, &PlanStep::EnableAutoSync))
        .unwrap_err();
    assert!(
        e.to_string()
            .contains("lacks the `update` permission on shop/orders-prod"),
        "{e:?}"
    );

    // TLS to a plain-HTTP port: a transport error, not a hang.
    let c = conn(format!("https://{}", fake.addr), TOKEN);
    let t = AppTarget {
        name: "orders".into(),
        app: "orders-prod".into(),
        app_namespace: None,
        project: None,
        environment: "prod".into(),
    };
    let b = ArgoBackend::new(Client::new(c).unwrap(), vec![AppSpec::One(t)]);
    rt.block_on(b.targets()).unwrap();
    let e = rt.block_on(b.history("orders")).unwrap_err();
    assert!(
        e.to_string()
            .starts_with(&format!("cannot reach https://{}", fake.addr)),
        "{e}"
    );
}

#[test]
fn selectors_expand_to_applications() {
    let fake = argo_server::start();
    let c = conn(fake.base(), TOKEN);
    let b = ArgoBackend::new(
        Client::new(c).unwrap(),
        vec![AppSpec::Selector {
            selector: "team=shop".into(),
            project: None,
            app_namespace: None,
            environment: "prod".into(),
            environment_label: Some("env".into()),
        }],
    );
    // The matched app says it is staging: the selector's "prod" does not
    // make it prod.
    fake.with(|s| {
        s.app["metadata"]["labels"] = serde_json::json!({"team": "shop", "env": "staging"})
    });
    let t = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(b.targets())
        .unwrap();
    assert_eq!(
        t.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(),
        ["orders-prod"]
    );
    assert_eq!(t[0].environment, "staging");
    assert!(!t[0].is_prod());
    assert!(fake.requests()[0].query.contains("selector=team%3Dshop"));
}

#[test]
fn the_console_drives_the_argocd_rollback_and_the_note_never_holds_the_token() {
    let fake = argo_server::start();
    let (mut s, dir) = console(&fake);
    let note_path = dir.path().join("n.md");
    s.press("<Enter>j<Enter>");
    let p = s.state.plan.clone().expect("plan");
    assert_eq!(p.to.id, "41");
    assert!(
        p.checks
            .iter()
            .any(|c| c.id == "schema" && c.detail.contains("no `repo` configured")),
        "never 'safe' without a repo"
    );
    s.press("<Enter>orders<Enter>");
    assert!(s.advance_until(120_000, |st| {
        st.runs.last().is_some_and(|r| r.outcome().is_some())
    }));
    assert_eq!(
        s.state.runs.last().unwrap().outcome(),
        Some(Outcome::Succeeded),
        "{:?}",
        s.state.runs.last().unwrap().outcome()
    );
    let ticks = &s.state.checklist("orders").unwrap();
    assert!(
        ticks.contains_key("disable-auto-sync")
            && ticks.contains_key("rollback")
            && ticks.contains_key("synced")
    );
    assert!(
        !ticks.contains_key("reenable-auto-sync"),
        "re-enable stays open until the revert"
    );
    s.press("q");
    let note = std::fs::read_to_string(&note_path).unwrap();
    assert!(
        !note.contains(TOKEN) && !note.contains("eyJhbGciOiJIUzI1NiJ9"),
        "token leaked into the note"
    );
    let i = note.find("auto-sync disabled on orders-prod").unwrap();
    let j = note
        .find("rollback of orders-prod to history id 41 (a1b2c3d) accepted")
        .unwrap();
    assert!(i < j);
    assert!(note.contains("[ ] Re-enable auto-sync ONLY after the revert is merged"));
    assert!(note.contains("[ ] Revert d8f3c2a in git (PR merged)"));
    // Progress from the resource tree's workloads, not empty counts.
    assert!(
        note.contains(
            "Deployment orders Healthy; 2/2 pods healthy (2/2 updated, 2/2 ready, 0 old)"
        ),
        "{note}"
    );
}

#[test]
fn live_updates_come_from_the_stream_with_reconnect_and_polling_fallback() {
    let fake = argo_server::start();
    let b = Arc::new(backend(&fake, TOKEN, None));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let gets = || {
        fake.requests()
            .iter()
            .filter(|r| r.method == "GET" && r.path == "/api/v1/applications/orders-prod")
            .count()
    };
    let wait = |f: &dyn Fn() -> bool| {
        for _ in 0..100 {
            if f() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    };
    rt.block_on(b.targets()).unwrap();
    // The console subscribes; only then are streams opened.
    let (tx, mut changes) = tokio::sync::mpsc::unbounded_channel();
    rt.block_on(async { b.subscribe(tx) });
    rt.block_on(b.health_all());
    assert!(wait(&|| b.streaming("orders")), "stream connects");
    let before = gets();
    fake.with(|s| s.app["status"]["health"] = json!({"status": "Healthy"}));
    std::thread::sleep(Duration::from_millis(300));
    let h = rt.block_on(b.health_all()).remove(0).unwrap();
    assert!(h.message.unwrap().starts_with("Argo CD: Synced, Healthy"));
    assert_eq!(gets(), before, "the streamed state is used, no polling GET");
    // Each event is pushed to the console at once, not at the next poll.
    let mut pushed = Vec::new();
    while let Ok(c) = changes.try_recv() {
        pushed.push(c);
    }
    assert!(
        pushed.contains(&rbtui::backend::Change::History("orders".into())),
        "{pushed:?}"
    );
    let q = fake
        .requests()
        .into_iter()
        .find(|r| r.path == "/api/v1/stream/applications")
        .unwrap()
        .query;
    assert!(q.contains("name=orders-prod"), "{q}");

    // The stream drops: the backend polls, then reconnects by itself.
    fake.with(|s| s.stream_epoch += 1);
    assert!(wait(&|| !b.streaming("orders")));
    rt.block_on(b.health_all());
    assert_eq!(gets(), before + 1, "polling fallback while disconnected");
    assert!(wait(&|| b.streaming("orders")), "reconnected after backoff");
}

#[test]
fn rehearsal_previews_the_rollback_with_a_dry_run_and_waits_for_it() {
    let fake = argo_server::start();
    let b = backend(&fake, TOKEN, None);
    let rt = rt();
    let mut p = plan_for(&b, &rt, "41");
    assert_eq!(
        rt.block_on(b.preview(&p)),
        None,
        "outside rehearsal no dry run is sent: it creates an operation"
    );
    p.mode = Mode::Rehearsal;
    let r = rt.block_on(b.preview(&p)).unwrap();
    assert!(
        r.unwrap_err()
            .to_string()
            .contains("refuses any rollback, dry run included, while auto-sync is on")
    );
    fake.with(|s| s.app["spec"]["syncPolicy"] = json!({}));
    let r = rt.block_on(b.preview(&p)).unwrap().unwrap();
    assert_eq!(
        r,
        "operation Succeeded: successfully synced (all tasks run) (dry run) (nothing deployed; Argo CD keeps this dry run as the app's last operation, replacing status.operationState)"
    );
    let post = fake.mutating().pop().unwrap();
    assert_eq!(post.json()["dryRun"], json!(true));
    fake.with(|s| {
        assert_eq!(
            s.app["status"]["history"].as_array().unwrap().len(),
            4,
            "a dry run adds no history entry"
        )
    });
}

/// A server that applies the rollback and then answers 502 (a proxy that
/// lost the answer): rbtui says "outcome unknown", re-reads the app, finds
/// the rollback applied, records how it decided, and keeps watching.
#[test]
fn a_rollback_whose_answer_was_lost_is_decided_by_re_reading() {
    let fake = argo_server::start();
    let (mut s, dir) = console(&fake);
    let note_path = dir.path().join("n.md");
    s.press("<Enter>j<Enter>");
    fake.fault("/rollback", Fault::AppliedThen(502));
    s.press("<Enter>orders<Enter>");
    assert!(s.advance_until(120_000, |st| {
        st.runs.last().is_some_and(|r| r.outcome().is_some())
    }));
    assert_eq!(
        s.state.runs.last().unwrap().outcome(),
        Some(Outcome::Succeeded),
        "{:?}",
        s.state.runs.last().unwrap().outcome()
    );
    assert_eq!(
        fake.mutating()
            .iter()
            .filter(|r| r.path.ends_with("/rollback"))
            .count(),
        1,
        "never sent twice"
    );
    let note = std::fs::read_to_string(&note_path).unwrap();
    let unknown = note.find("outcome unknown").expect("said as unknown");
    let decided = note
        .find("applied (decided by re-reading")
        .expect("decided from a fresh read");
    assert!(unknown < decided);
}

/// Connection refused before anything was sent: said as "nothing was sent".
#[test]
fn a_refused_connection_is_nothing_sent() {
    let fake = argo_server::start();
    let rt = rt();
    let b = backend(&fake, TOKEN, Some("shop"));
    let p = plan_for(&b, &rt, "41");
    // Same plan, a server that is gone.
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let conn = conn(format!("http://{dead}"), TOKEN);
    let t = AppTarget {
        name: "orders".into(),
        app: "orders-prod".into(),
        app_namespace: None,
        project: Some("shop".into()),
        environment: "prod".into(),
    };
    let gone = ArgoBackend::new(Client::new(conn).unwrap(), vec![AppSpec::One(t)]);
    rt.block_on(gone.targets()).unwrap();
    let r = rt.block_on(gone.execute(
        &p,
        &PlanStep::Rollback {
            to: "41".into(),
            via: None,
            pin: vec![],
        },
    ));
    let Err(e @ BackendError::NotSent(_)) = r else {
        panic!("nothing sent, got {r:?}")
    };
    assert!(
        e.to_string().starts_with("nothing was sent"),
        "{}",
        e.to_string()
    );
}

#[test]
fn an_open_stream_is_no_answer_when_the_server_fails_direct_reads() {
    let fake = argo_server::start();
    let (rt, b) = argo_console::streamed(&fake, None);
    let h = rt.block_on(b.health_all()).remove(0).unwrap();
    let age = chrono::Utc::now() - h.observed_at;
    assert!(
        age >= chrono::Duration::zero() && age < chrono::Duration::seconds(10),
        "stamped with the stream's answer: {age}"
    );
    // The stream stays open; the next direct read fails.
    fake.fault(
        "resource-tree",
        argo_server::Fault::Status(
            503,
            r#"{"error":"upstream connect error","code":14}"#.into(),
        ),
    );
    let r = rt.block_on(b.health_all()).remove(0);
    assert!(b.streaming("orders"), "the stream is still up");
    let (_, e) = r.expect_err("a fresh-looking verdict from the stream alone");
    assert!(
        e.to_string().contains("503") || e.to_string().contains("upstream"),
        "{e}"
    );
}

#[test]
fn a_selector_whose_listing_fails_is_one_error_row_and_the_other_apps_work() {
    let fake = argo_server::start();
    let c = conn(fake.base(), TOKEN);
    let b = ArgoBackend::new(
        Client::new(c).unwrap(),
        vec![
            AppSpec::One(AppTarget {
                name: "orders".into(),
                app: "orders-prod".into(),
                app_namespace: None,
                project: None,
                environment: "prod".into(),
            }),
            AppSpec::Selector {
                selector: "team=payments".into(),
                project: None,
                app_namespace: None,
                environment: "prod".into(),
                environment_label: None,
            },
        ],
    );
    fake.fault(
        "/api/v1/applications",
        argo_server::Fault::Status(
            403,
            r#"{"error":"permission denied","code":7,"message":"permission denied"}"#.into(),
        ),
    );
    let rt = rt();
    let t = rt
        .block_on(b.targets())
        .expect("the listing error is a row, not an exit");
    let names: Vec<&str> = t.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["orders", "selector team=payments"]);
    assert!(t[1].location.contains("not listed"), "{}", t[1].location);
    let h = rt.block_on(b.health_all());
    assert!(
        h.iter()
            .any(|r| r.as_ref().is_ok_and(|h| h.target == "orders")),
        "{h:?}"
    );
    let (_, e) = h
        .iter()
        .find_map(|r| {
            r.as_ref()
                .err()
                .filter(|(n, _)| n == "selector team=payments")
        })
        .expect("an error for the selector row");
    assert!(
        e.to_string().contains("could not be listed")
            && e.to_string().contains("permission denied"),
        "{e}"
    );
    let e = rt
        .block_on(b.history("selector team=payments"))
        .unwrap_err();
    assert!(e.to_string().contains("could not be listed"), "{e}");
}

/// After the rollback, re-enabling is decided by what the app's source
/// points at: blocked (no override) while it is still the bad commit, and
/// the follow-ups keep naming the bad commit whatever plan came last.
#[test]
fn reenable_is_blocked_while_head_is_the_bad_commit_and_follow_ups_name_it() {
    let fake = argo_server::start();
    let (mut s, _dir) = console(&fake);
    s.press("<Enter>j<Enter><Enter>orders<Enter>");
    assert!(s.advance_until(120_000, |st| {
        st.runs.last().is_some_and(|r| r.outcome().is_some())
    }));
    s.press("<Esc>a");
    let p = s.state.plan.clone().expect("re-enable plan");
    assert!(!p.is_rollback());
    let c = p.checks.iter().find(|c| c.id == "revert").unwrap();
    assert_eq!(c.status, CheckStatus::Block);
    assert!(
        !c.overridable,
        "no typed reason gets past HEAD = the bad commit"
    );
    assert!(c.detail.contains("d8f3c2a"), "{}", c.detail);
    // The follow-ups still name the rollback, not the re-enable plan.
    let t = s.state.target("orders").unwrap().clone();
    let vars = s.state.runbook_vars(&t);
    let var = |k: &str| vars.iter().find(|(n, _)| *n == k).unwrap().1.clone();
    assert_eq!(
        (var("bad_sha"), var("good_sha")),
        ("d8f3c2a".into(), "a1b2c3d".into())
    );
    assert_ne!(var("bad_rev"), var("good_rev"));
    // Commands name the application as Argo CD knows it, not the target.
    assert_eq!(
        rbtui::runbook::fill("argocd app rollback {object} {good_rev}", &vars),
        format!("argocd app rollback orders-prod {}", var("good_rev"))
    );
    // The revert lands in git; the double, like Argo CD, shows it only
    // after a refresh it was asked for (on a later read): rbtui asks.
    fake.with(|st| st.pending_head = Some("f00dfeedf00dfeedf00dfeedf00dfeedf00dfeed".into()));
    // What the configured repo showed (the revert watcher's tick).
    s.state.row_mut("orders").checklist.insert(
        "revert".into(),
        rbtui::core::state::StepTick {
            at: common::t0(),
            auto: true,
            evidence: Some("f00dfee Revert \"orders: drop legacy_total\"".into()),
        },
    );
    s.press("<Esc><Esc>a");
    assert!(
        fake.requests()
            .iter()
            .any(|r| r.query.contains("refresh=normal")),
        "rbtui asked Argo CD to compare HEAD"
    );
    let p = s.state.plan.clone().expect("re-enable plan");
    let c = p.checks.iter().find(|c| c.id == "revert").unwrap();
    assert_eq!(c.status, CheckStatus::Pass, "{}", c.detail);
    assert!(c.detail.contains("f00dfee"), "{}", c.detail);
    // HEAD's author and message, so the operator sees it is the revert.
    assert!(
        c.detail.contains(
            "by Alice <alice@acme.net>, 2026-11-22T03:20:00Z: Revert \"orders: drop legacy_total\""
        ),
        "{}",
        c.detail
    );
    assert!(
        c.detail
            .ends_with("; in the configured repo: f00dfee Revert \"orders: drop legacy_total\""),
        "{}",
        c.detail
    );
}

#[test]
fn a_selector_that_matches_nothing_is_an_error_row() {
    let fake = argo_server::start();
    let c = conn(fake.base(), TOKEN);
    let b = ArgoBackend::new(
        Client::new(c).unwrap(),
        vec![AppSpec::Selector {
            selector: "team=nobody".into(),
            project: Some("shop".into()),
            app_namespace: None,
            environment: "prod".into(),
            environment_label: None,
        }],
    );
    let rt = rt();
    let t = rt.block_on(b.targets()).unwrap();
    assert_eq!(t.len(), 1, "{t:?}");
    assert_eq!(t[0].name, "selector team=nobody");
    let h = rt.block_on(b.health_all());
    let Err((_, e)) = &h[0] else { panic!("{h:?}") };
    assert!(
        e.to_string()
            .contains("matches no application in project shop"),
        "{e}"
    );
}

/// Someone turns auto-sync back on during the watch: seen, recorded with
/// its cause, and the "auto-sync disabled" tick is taken back.
#[test]
fn auto_sync_turned_back_on_during_the_watch_is_said_and_unticked() {
    let fake = argo_server::start();
    let (mut s, dir) = console(&fake);
    let note_path = dir.path().join("n.md");
    s.press("<Enter>j<Enter><Enter>orders<Enter>");
    assert!(s.advance_until(10_000, |st| {
        st.checklist("orders")
            .is_some_and(|c| c.contains_key("disable-auto-sync"))
    }));
    fake.with(|st| st.app["spec"]["syncPolicy"]["automated"]["enabled"] = json!(true));
    assert!(
        s.advance_until(30_000, |st| !st
            .checklist("orders")
            .is_some_and(|c| c.contains_key("disable-auto-sync"))),
        "the tick was not taken back"
    );
    let note = std::fs::read_to_string(&note_path).unwrap();
    assert!(
        note.contains("auto-sync was turned back on by someone else after rbtui disabled it"),
        "{note}"
    );
    assert!(
        note.contains("☐ Auto-sync disabled so the rollback sticks: no longer true"),
        "{note}"
    );
    // The double's controller, like Argo CD's, re-syncs HEAD on its own:
    // History follows it to the bad commit again.
    // (Its controller runs on real time; the console on the manual clock.)
    let t0 = std::time::Instant::now();
    let resynced = |st: &State| {
        st.history("orders")
            .and_then(|h| h.current())
            .is_some_and(|r| r.git_sha.as_deref() == Some(argo_server::BAD))
    };
    while !resynced(&s.state) && t0.elapsed() < Duration::from_secs(10) {
        s.advance(5_000);
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        resynced(&s.state),
        "History did not follow Argo CD's own re-sync: {:?}",
        s.state
            .history("orders")
            .map(|h| h.revisions.first().cloned())
    );
}

/// Every history id's images come from its revision's rendered manifests,
/// read once per commit: the mutable-tag check and verification work for
/// every id, not only the current one.
#[test]
fn every_history_id_gets_its_images_from_its_manifests() {
    let fake = argo_server::start();
    let b = backend(&fake, TOKEN, None);
    let rt = rt();
    let targets = rt.block_on(b.targets()).unwrap();
    let h = rt.block_on(b.history("orders")).unwrap();
    let img = |id: &str| {
        h.find(id)
            .unwrap()
            .images
            .iter()
            .map(|i| i.full())
            .collect::<Vec<_>>()
    };
    assert_eq!(img("41"), ["ghcr.io/acme/orders:git-a1b2c3d"]);
    assert_eq!(img("40"), ["ghcr.io/acme/orders:latest"]);
    let p = plan::build(PlanInputs {
        mutable_tags: &["latest".into()],
        ..PlanInputs::new(&targets[0], &h, "40", common::t0())
    })
    .unwrap();
    let c = p.checks.iter().find(|c| c.id == "mutable-tag").unwrap();
    assert_eq!(c.status, CheckStatus::Warn, "{}", c.detail);
    let manifests = || {
        fake.requests()
            .iter()
            .filter(|r| r.path.ends_with("/manifests"))
            .count()
    };
    let first = manifests();
    assert_eq!(first, 3, "one read per non-current id");
    rt.block_on(b.history("orders")).unwrap();
    assert_eq!(manifests(), first, "a commit's manifests are read once");
}

/// A multi-source application (`spec.sources`, `history[].revisions`):
/// History names every source at its revision, and the images of an old
/// entry come from rendering every source at its own revision.
#[test]
fn a_multi_source_app_shows_every_source_and_renders_each_entry() {
    let fake = argo_server::start();
    let src =
        |repo: &str, path: &str| json!({"repoURL": repo, "path": path, "targetRevision": "main"});
    let (chart, values) = (
        src("https://github.com/acme/charts.git", "orders"),
        src("https://github.com/acme/shop-values.git", "prod"),
    );
    fake.with(|st| {
        st.app["spec"].as_object_mut().unwrap().remove("source");
        st.app["spec"]["sources"] = json!([chart, values]);
        for h in st.app["status"]["history"].as_array_mut().unwrap() {
            let rev = h["revision"].as_str().unwrap().to_string();
            let obj = h.as_object_mut().unwrap();
            obj.remove("revision");
            obj.remove("source");
            obj.insert("revisions".into(), json!([rev, "7777777aaaaaaa"]));
            obj.insert("sources".into(), json!([chart, values]));
        }
    });
    let b = backend(&fake, TOKEN, None);
    let rt = rt();
    rt.block_on(b.targets()).unwrap();
    let h = rt.block_on(b.history("orders")).unwrap();
    let r41 = h.find("41").unwrap();
    assert_eq!(
        r41.message,
        "charts/orders@main = a1b2c3d + shop-values/prod@main = 7777777"
    );
    assert_eq!(
        r41.images.iter().map(|i| i.full()).collect::<Vec<_>>(),
        ["ghcr.io/acme/orders:git-a1b2c3d"]
    );
    let asked = fake
        .requests()
        .into_iter()
        .find(|r| r.path.ends_with("/manifests") && r.query.contains(&GOOD[..7]))
        .expect("manifests of entry 41");
    assert!(
        asked.query.contains("sourcePositions=1") && asked.query.contains("sourcePositions=2"),
        "{}",
        asked.query
    );
}

/// `--rehearsal --dry-run`: the whole flow against staging, with only the
/// server's own dry run of the rollback sent; nothing is patched, nothing
/// claims a rollback happened, and the note says so.
#[test]
fn a_dry_run_rehearsal_sends_only_the_servers_dry_run() {
    let fake = argo_server::start();
    // Auto-sync off already: Argo CD refuses even a dry-run rollback otherwise.
    fake.with(|s| s.app["spec"]["syncPolicy"] = json!({}));
    let dir = tempfile::tempdir().unwrap();
    let note_path = dir.path().join("n.md");
    let b: Arc<dyn Backend> = Arc::new(backend_in(&fake, TOKEN, Some("shop"), "staging"));
    let mut settings = common::settings(Mode::Rehearsal, "n.md");
    settings.dry_run = true;
    let writer =
        rbtui::note::NoteWriter::open(&note_path, &common::header(Mode::Rehearsal, "n.md"), "")
            .unwrap();
    let state = State::new(
        settings,
        rbtui::runbook::load_all(None).unwrap(),
        common::t0(),
    );
    let mut s = Script::new(state, b, ManualClock::new(common::t0()), Some(writer));
    s.start();
    s.press("<Enter>j<Enter><Enter><Enter>");
    assert!(s.advance_until(120_000, |st| {
        st.runs.last().is_some_and(|r| r.outcome().is_some())
    }));
    let posts = fake.mutating();
    assert!(
        posts
            .iter()
            .all(|r| r.method == "POST" && r.body.contains("\"dryRun\":true")),
        "only dry runs: {posts:?}"
    );
    assert!(!posts.is_empty(), "the server's dry run was asked");
    let note = std::fs::read_to_string(&note_path).unwrap();
    assert!(
        note.contains("step 1 (dry run, nothing is changed): Roll back orders-prod"),
        "{note}"
    );
    assert!(
        note.contains("step 1 (dry run): dry run only, nothing changed: the server-side dry run answered: operation Succeeded"),
        "{note}"
    );
    assert!(
        note.contains("dry run finished: nothing was changed"),
        "{note}"
    );
    for never in [
        "\"marker\":\"deployed\"",
        "\"marker\":\"worked\"",
        "\"step\":\"rollback\"",
    ] {
        assert!(!note.contains(never), "{never} in a dry run:\n{note}");
    }
}

/// Through Argo CD, as `argocd app logs --previous` and the UI's events
/// tab: the resources that are not Healthy, the application's events and
/// each degraded pod's previous log; only GETs.
#[test]
fn a_degraded_apps_resources_events_and_previous_logs_are_saved_as_evidence() {
    let fake = argo_server::start();
    let b = backend(&fake, TOKEN, Some("shop"));
    let rt = rt();
    rt.block_on(b.targets()).unwrap();
    let files = rt.block_on(b.evidence("orders")).unwrap().unwrap();
    let names: Vec<&str> = files.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "resources.txt",
            "events.txt",
            "logs-orders-0-previous.log",
            "logs-orders-1-previous.log"
        ]
    );
    assert!(
        files[0]
            .text
            .contains("Pod/orders-0 Degraded  Status Reason: CrashLoopBackOff, Restart Count: 7"),
        "{}",
        files[0].text
    );
    assert!(
        files[0].text.contains("Deployment/orders Degraded"),
        "{}",
        files[0].text
    );
    assert!(
        files[1]
            .text
            .contains("Updated health status: Healthy -> Degraded"),
        "{}",
        files[1].text
    );
    assert_eq!(
        files[2].text,
        "2026-11-22T03:41:00Z starting orders\n2026-11-22T03:41:01Z panic: column orders.legacy_total does not exist\n"
    );
    let s = fake.state.lock().unwrap();
    let logs: Vec<&argo_server::Req> = s
        .requests
        .iter()
        .filter(|r| r.path.ends_with("/logs"))
        .collect();
    assert_eq!(logs.len(), 2);
    for k in [
        "podName=orders-0",
        "namespace=shop",
        "previous=true",
        "follow=false",
        "tailLines=200",
        "project=shop",
    ] {
        assert!(logs[0].query.contains(k), "{k}: {}", logs[0].query);
    }
    assert!(
        s.requests.iter().all(|r| r.method == "GET"),
        "reading evidence changes nothing"
    );
}
