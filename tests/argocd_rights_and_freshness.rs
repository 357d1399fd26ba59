//! Argo CD cases that could leave a prod app worse than the operator found
//! it, or show old state as fresh: a token that may update but not sync,
//! a multi-source app's re-enable, a stream that stays open and goes
//! silent, and a one-shot read that must not open a stream. Each against
//! the in-test server, answering as argo-cd's server code does.
#![allow(clippy::unwrap_used)] // a failed unwrap in a test is a failed test

#[path = "common/argo_console.rs"]
mod argo_console;
#[path = "common/argo_server.rs"]
mod argo_server;
mod common;

use argo_console::{backend, console, console_with};
use argo_server::{BAD, GOOD, NOSYNC, TOKEN};
use rbtui::backend::Backend;
use rbtui::core::plan::CheckStatus;
use rbtui::core::state::Outcome;
use serde_json::json;
use std::time::Duration;

const REVERT: &str = "f00dfeedf00dfeedf00dfeedf00dfeedf00dfeed";

/// `argocd account can-i sync applications shop/orders-prod` → no, while
/// update → yes. Argo CD's `CanI` (server/account/account.go) answers a
/// refusal as 200 `{"value":"no"}`; the PATCH would answer 200 and the
/// rollback POST 403. The plan blocks before the confirm, naming the
/// account and the right; the confirm is refused; nothing is sent.
#[test]
fn a_token_that_may_update_but_not_sync_is_blocked_before_anything_is_sent() {
    let fake = argo_server::start();
    let (mut s, dir) = console_with(&fake, NOSYNC);
    s.press("<Enter>j<Enter>");
    let p = s.state.plan.clone().expect("plan");
    assert_eq!(p.to.id, "41");
    let c = common::check(&s, "permissions");
    assert_eq!(c.status, CheckStatus::Block, "{}", c.detail);
    assert!(!c.overridable, "no typed reason gets past a refused right");
    assert!(
        c.detail
            .starts_with("Argo CD account ci-bot may not sync applications shop/orders-prod"),
        "{}",
        c.detail
    );
    // Asked for each action the plan sends, on the RBAC object.
    let asked: Vec<String> = fake
        .requests()
        .iter()
        .filter(|r| r.path.starts_with("/api/v1/account/can-i/"))
        .map(|r| r.path.clone())
        .collect();
    for action in ["update", "sync", "get"] {
        let path = format!("/api/v1/account/can-i/applications/{action}/shop/orders-prod");
        assert!(asked.contains(&path), "{asked:?}");
    }
    // The operator types the name anyway: nothing is started.
    s.press("<Enter>orders<Enter>");
    s.advance_until(5_000, |st| !st.in_flight());
    assert!(fake.mutating().is_empty(), "{:?}", fake.mutating());
    assert!(
        s.state
            .runs
            .iter()
            .all(|r| r.outcome() != Some(Outcome::Succeeded)),
        "no run"
    );
    let auto = fake.with(|st| st.app["spec"]["syncPolicy"]["automated"].clone());
    assert_eq!(auto["enabled"], json!(null), "auto-sync left as it was");
    s.press("q");
    let note = std::fs::read_to_string(dir.path().join("n.md")).unwrap();
    assert!(
        note.contains("Argo CD account ci-bot may not sync applications shop/orders-prod"),
        "the note carries the answer, not only the question:\n{note}"
    );
}

/// The same token with a plan that would not ask (an older plan, a check
/// that could not be answered): the step that turns auto-sync off asks
/// `can-i sync` first and sends nothing.
#[test]
fn the_disable_step_itself_refuses_when_the_rollback_after_it_would_be_refused() {
    let fake = argo_server::start();
    let b = backend(&fake, NOSYNC, None);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let targets = rt.block_on(b.targets()).unwrap();
    let h = rt.block_on(b.history("orders")).unwrap();
    let p = rbtui::core::plan::build(rbtui::core::plan::PlanInputs::new(
        &targets[0],
        &h,
        "41",
        common::t0(),
    ))
    .unwrap();
    let e = rt
        .block_on(b.execute(&p, &rbtui::core::plan::PlanStep::DisableAutoSync))
        .unwrap_err();
    assert!(
        matches!(&e, rbtui::core::action::BackendError::NotSent(m) if m.contains("ci-bot may not sync applications shop/orders-prod")),
        "{e:?}"
    );
    assert!(fake.mutating().is_empty());
}

/// A multi-source app rolled back 42 → 41: `status.sync.revision` is not
/// set, `status.sync.revisions[0]` is still the bad commit. The re-enable
/// gate reads every source and blocks with no override; the follow-ups
/// name the moved source's commits; after the revert it passes.
#[test]
fn a_multi_source_apps_reenable_is_blocked_while_a_source_is_on_its_bad_commit() {
    let fake = argo_server::start();
    fake.with(|st| argo_server::make_multi_source(st, "7777777aaaaaaa0000000000000000000000000"));
    let (mut s, _dir) = console(&fake);
    s.press("<Enter>j<Enter>");
    assert_eq!(
        common::check(&s, "permissions").status,
        CheckStatus::Pass,
        "{}",
        common::check(&s, "permissions").detail
    );
    s.press("<Enter>orders<Enter>");
    assert!(s.advance_until(120_000, |st| {
        st.runs.last().is_some_and(|r| r.outcome().is_some())
    }));
    assert_eq!(
        s.state.runs.last().unwrap().outcome(),
        Some(Outcome::Succeeded),
        "verified against every source's revision"
    );
    let rollback = fake
        .requests()
        .into_iter()
        .find(|r| r.path.ends_with("/rollback"))
        .unwrap();
    assert_eq!(rollback.json()["id"], 41);
    s.press("<Esc>a");
    let p = s.state.plan.clone().expect("re-enable plan");
    let c = p.checks.iter().find(|c| c.id == "revert").unwrap();
    assert_eq!(c.status, CheckStatus::Block, "{}", c.detail);
    assert!(!c.overridable, "{}", c.detail);
    assert!(
        c.detail
            .starts_with("shop-config/apps/orders/overlays/prod@main still points at d8f3c2a"),
        "{}",
        c.detail
    );
    assert!(
        !c.detail.contains("shop-values"),
        "the values source did not move"
    );
    let t = s.state.target("orders").unwrap().clone();
    let vars = s.state.runbook_vars(&t);
    let var = |k: &str| vars.iter().find(|(n, _)| *n == k).unwrap().1.clone();
    assert_eq!(
        (var("bad_sha"), var("good_sha")),
        ("d8f3c2a".into(), "a1b2c3d".into())
    );
    // The revert lands; Argo CD shows it after the refresh rbtui asks for.
    fake.with(|st| st.pending_head = Some(REVERT.into()));
    s.press("<Esc><Esc>a");
    s.press("<Esc><Esc>a");
    let p = s.state.plan.clone().expect("re-enable plan");
    let c = p.checks.iter().find(|c| c.id == "revert").unwrap();
    assert_eq!(c.status, CheckStatus::Pass, "{}", c.detail);
    assert!(
        c.detail.contains(
            "shop-config/apps/orders/overlays/prod@main now points at f00dfee (no longer d8f3c2a)"
        ),
        "{}",
        c.detail
    );
}

/// A source other than the first moved: the values repo's commit is the
/// bad one, the chart's is unchanged. The gate and the follow-ups name the
/// values commit, not the chart's.
#[test]
fn the_source_that_moved_is_the_one_named_and_gated() {
    let fake = argo_server::start();
    let (good_values, bad_values) = (
        "1111111bbbbbbb0000000000000000000000000",
        "2222222ccccccc0000000000000000000000000",
    );
    fake.with(|st| {
        argo_server::make_multi_source(st, good_values);
        // 42 changed only the values; the chart stayed at 41's commit.
        let h = st.app["status"]["history"].as_array_mut().unwrap();
        h[3]["revisions"] = json!([GOOD, bad_values]);
        st.app["status"]["sync"]["revisions"] = json!([GOOD, bad_values]);
    });
    let b = backend(&fake, TOKEN, None);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(b.targets()).unwrap();
    let h = rt.block_on(b.history("orders")).unwrap();
    let moved = h.source_changes(&"42".into(), &"41".into());
    assert_eq!(moved.len(), 1, "{moved:?}");
    assert_eq!(moved[0].label, "shop-values/prod@main");
    assert!(moved[0].still_bad());
    assert_eq!(h.facts.head_revision.as_deref(), Some(GOOD), "revisions[0]");
    assert_ne!(h.facts.head_revision.as_deref(), Some(BAD));
}

/// The stream sends its first event, then stays open and silent while
/// someone else rolls the app back (history id 43, OutOfSync, Healthy).
/// Past the quiet window the app is read directly: the pane shows what
/// GET says, stamped with the time of that answer.
#[test]
fn a_stream_that_goes_silent_is_backed_by_a_direct_read() {
    let fake = argo_server::start();
    let (rt, b) = argo_console::streamed(&fake, Some(Duration::from_millis(600)));
    fake.with(|st| {
        st.stream_silent = true;
        // As `argocd app rollback` leaves it: auto-sync off, OutOfSync.
        st.app["spec"]["syncPolicy"]["automated"]["enabled"] = json!(false);
        let mut e = st.app["status"]["history"][2].clone();
        e["id"] = json!(43);
        e["revision"] = json!(GOOD);
        st.app["status"]["history"].as_array_mut().unwrap().push(e);
        st.app["status"]["sync"]["status"] = json!("OutOfSync");
        st.app["status"]["health"] = json!({"status": "Healthy"});
    });
    std::thread::sleep(Duration::from_millis(900));
    assert!(b.streaming("orders"), "the stream is still open");
    let h = rt.block_on(b.health_all()).remove(0).unwrap();
    let msg = h.message.clone().unwrap();
    assert!(msg.starts_with("Argo CD: OutOfSync, Healthy"), "{msg}");
    assert_eq!(h.revision, "43");
    let age = chrono::Utc::now() - h.observed_at;
    assert!(age < chrono::Duration::milliseconds(900), "{age}");
}

/// `rbtui status --json` reads once: the app and its tree, no stream.
#[test]
fn status_json_reads_once_and_opens_no_stream() {
    let fake = argo_server::start();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("rbtui.toml"),
        format!(
            "[[target]]\nname = \"orders\"\nkind = \"argocd\"\nenvironment = \"prod\"\nserver = \"{}\"\napp = \"orders-prod\"\nproject = \"shop\"\n",
            fake.base()
        ),
    )
    .unwrap();
    let run = |args: &[&str], token: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_rbtui"))
            .args(args)
            .current_dir(dir.path())
            .env("ARGOCD_AUTH_TOKEN", token)
            .env_remove("ARGOCD_SERVER")
            .output()
            .unwrap()
    };
    let out = run(&["status", "--json"], TOKEN);
    assert!(
        out.status.success() || out.status.code() == Some(3),
        "{out:?}"
    );
    let paths: Vec<String> = fake.requests().iter().map(|r| r.path.clone()).collect();
    assert!(
        !paths.iter().any(|p| p.contains("/stream/")),
        "a one-shot read opened a stream: {paths:?}"
    );
    assert_eq!(
        paths,
        [
            "/api/v1/applications/orders-prod",
            "/api/v1/applications/orders-prod/resource-tree"
        ]
    );
    // `rbtui plan` asks the rights as the console does, and blocks on them.
    let out = run(&["plan", "orders", "--to", "41"], NOSYNC);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(
        text.contains("Argo CD account ci-bot may not sync applications shop/orders-prod"),
        "{text}"
    );
    assert!(fake.mutating().is_empty());
    // `rbtui check`: the server's version, where the token came from, and
    // the refused `sync` as a FAIL naming the account; nothing sent.
    let out = run(&["check"], NOSYNC);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(3), "{text}");
    let row = |check: &str| {
        text.lines()
            .find(|l| l.split_whitespace().take(2).eq(["orders", check]))
            .unwrap_or_default()
            .to_string()
    };
    assert!(row("platform").contains(" ok   Argo CD v"), "{text}");
    assert!(
        row("creds").contains("token from ARGOCD_AUTH_TOKEN"),
        "{text}"
    );
    assert!(
        row("rights").contains("FAIL") && row("rights").contains("ci-bot"),
        "{text}"
    );
    let out = run(&["check"], TOKEN);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(fake.mutating().is_empty(), "check sends nothing");
}
