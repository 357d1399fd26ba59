//! The whole operator path on the demo backend, keys only, asserting the
//! incident note line by line.
#![allow(clippy::unwrap_used)] // a failed unwrap in a test is a failed test

mod common;

use common::*;
use rbtui::core::model::Mode;
use rbtui::core::plan::{CheckStatus, PlanStep};
use rbtui::core::state::{Outcome, Pane, Popup};
use rbtui::core::verdict::Severity;

#[test]
fn crashlooping_prod_service_rolled_back_end_to_end() {
    let dir = tempfile::tempdir().unwrap();
    let note_path = dir.path().join("incidents/INC-7.md");
    let (mut s, _b) = demo(Mode::Demo, Some(&note_path));

    // Worst first: the crash-looping prod service heads the health pane.
    let first = &s.state.targets[s.state.order[0]];
    assert_eq!(first.name, "checkout");
    assert_eq!(
        s.state.verdict("checkout").unwrap().severity,
        Severity::Critical
    );
    assert_eq!(
        s.state.verdict("orders").unwrap().severity,
        Severity::Serious
    );
    assert_eq!(
        s.state.verdict("catalog").unwrap().severity,
        Severity::Watch
    );

    // Target → history → revision 8 (the last known good) → plan.
    s.press("<Enter>");
    assert_eq!(s.state.view.focus, Pane::History);
    s.press("j<Enter>");
    let plan = s.state.plan.clone().unwrap();
    assert_eq!((plan.from.id.as_str(), plan.to.id.as_str()), ("9", "8"));
    assert_eq!(s.state.view.popup, Some(Popup::Plan));
    assert!(
        plan.checks.iter().all(|c| c.status == CheckStatus::Pass),
        "{:?}",
        plan.checks
    );
    assert_eq!(plan.migration.as_ref().unwrap().files.len(), 1);
    // What changes is read before the confirm and shown with the plan.
    let diff = plan.diff.clone().expect("the plan shows what changes");
    assert!(
        diff.contains("\n-  image: ghcr.io/acme/checkout:git-d8f3c2a"),
        "{diff}"
    );
    assert!(
        diff.contains("\n+  image: ghcr.io/acme/checkout:git-a1b2c3d"),
        "{diff}"
    );

    // Confirm: prod needs the name typed; a wrong name is refused.
    s.press("<Enter>");
    assert!(matches!(s.state.view.popup, Some(Popup::Confirm(_))));
    s.press("checkou<Enter>");
    assert!(
        s.state.runs.is_empty(),
        "a wrong name must not start anything"
    );
    s.press("t<Enter>");
    assert!(s.state.in_flight());

    // Progress, convergence and verification, on simulated time.
    assert!(s.advance_until(60_000, |st| {
        st.runs.last().is_some_and(|r| r.outcome().is_some())
    }));
    assert_eq!(
        s.state.runs.last().unwrap().outcome(),
        Some(Outcome::Succeeded)
    );
    let ticks = &s.state.checklist("checkout").unwrap();
    for step in [
        "assess",
        "verify-cluster",
        "history",
        "schema",
        "rollback",
        "rollout",
        "verify",
        "metrics",
    ] {
        assert!(ticks.contains_key(step), "step {step} ticked");
    }
    assert!(!ticks.contains_key("revert"), "follow-ups stay open");
    assert_eq!(s.state.verdict("checkout").unwrap().severity, Severity::Ok);
    // History now shows the rollback the way kubectl does: 8 became 10.
    let h = &s.state.history("checkout").unwrap();
    assert_eq!(h.current().unwrap().id, "10");
    assert!(h.find("8").is_none());

    // Status message, then quit.
    s.press("s<Esc>q");
    assert!(s.state.quitting);

    let note = std::fs::read_to_string(&note_path).unwrap();
    // The diff is recorded with the plan, before the confirm.
    let what = note
        .find("`changes`: simulated by the demo")
        .expect("diff recorded");
    assert!(note[what..].contains("+  image: ghcr.io/acme/checkout:git-a1b2c3d"));
    assert!(
        what < note.find("**confirm**").unwrap(),
        "recorded before the confirm"
    );
    let lines: Vec<&str> = note.lines().collect();
    let expect_in_order = [
        "# Incident INC-7",
        "- **Operator:** oncall",
        "## Timeline (UTC, 2026-11-22)",
        "- `03:00:00Z` **assess** `checkout` — health critical: roll back now",
        "    - all 3 replicas crash-looping",
        "- `03:00:00Z` **plan** `checkout` — plan #1: roll back checkout 9 → 8",
        "    - 1. Roll back deployment checkout from revision 9 to revision 8 (kubectl rollout undo --to-revision=8 semantics)",
        "    - check PASS `schema`: 1 migration file(s), all backward-compatible",
        "      - db/migrations/V43__orders_gift_note.sql (added): backward-compatible",
        "- `03:00:00Z` **confirm** `checkout` — plan #1 confirmed by oncall",
        "    - typed target name: checkout",
        "- `03:00:00Z` **action** `checkout` — step 1: Roll back deployment checkout from revision 9 to revision 8 (kubectl rollout undo --to-revision=8 semantics)",
        "- `03:00:00Z` **result** `checkout` — step 1 ok: rollback to 8 accepted; now revision 10",
        "- `03:00:00Z` **progress** `checkout` — Waiting for deployment spec update to be observed... (0/3 updated, 0/3 ready, 3 old)",
        "- `03:00:01Z` **progress** `checkout` — Waiting for rollout to finish: 1 out of 3 new replicas have been updated... (1/3 updated, 0/3 ready, 3 old)",
        "- `03:00:08Z` **progress** `checkout` — deployment \"checkout\" successfully rolled out (3/3 updated, 3/3 ready, 0 old)",
        "- `03:00:08Z` **evidence** `checkout` — verified: 3/3 ready on checkout:git-a1b2c3d@sha256:b8170513fff6",
        "    | ready | 0/3 | 3/3 |",
        "    | crash-looping | 3 | 0 |",
        "    | 5xx rate | 100.0% | 55.7% |",
        "**recovered** `checkout` — metrics recovered: 5xx",
        "**done** `checkout` — rollback finished and verified; follow-ups stay open on the checklist",
        "**status** — status message drafted (update, covering checkout, orders; not posted by rbtui)",
        "    - > ✅ ROLLBACK EXECUTED: checkout",
        "**end** — session ended; checklist state at exit",
        "      - [x] 8 of 12 done (each ticked above): assess, verify-cluster, history, schema, rollback, rollout, verify, metrics",
        "      - [ ] Revert the bad change (d8f3c2a) in git",
    ];
    let mut at = 0;
    for want in expect_in_order {
        let found = lines[at..].iter().position(|l| l.contains(want));
        let Some(i) = found else {
            panic!("note is missing (in order) {want:?}\n---\n{note}")
        };
        at += i + 1;
    }
    // Every entry the activity pane showed as recorded is in the file.
    assert_eq!(s.state.activity.len(), s.recorded.len());
    for r in &s.recorded {
        assert!(note.contains(r.as_str()));
    }
}

#[test]
fn argocd_plan_disables_auto_sync_first_and_unsafe_schema_needs_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    let note_path = dir.path().join("n.md");
    let (mut s, b) = demo(Mode::Demo, Some(&note_path));
    plan_to(&mut s, "orders", "41");
    let plan = s.state.plan.clone().unwrap();
    assert_eq!(
        plan.steps[0],
        PlanStep::DisableAutoSync,
        "auto-sync off comes first"
    );
    assert_eq!(check(&s, "auto-sync").status, CheckStatus::Warn);
    let schema = check(&s, "schema");
    assert_eq!(schema.status, CheckStatus::Block);
    assert!(
        schema.detail.contains("drops column orders.legacy_total"),
        "{}",
        schema.detail
    );
    let m = plan.migration.as_ref().unwrap();
    assert!(
        m.files.iter().any(|f| f.is_down),
        "down migrations are listed"
    );

    // Name, then a reason too short, then a real one.
    s.press("<Enter>orders<Tab>short<Enter>");
    assert!(s.state.runs.is_empty());
    let Some(Popup::Confirm(f)) = &s.state.view.popup else {
        panic!("still confirming")
    };
    assert!(f.error.as_deref().unwrap().contains("override reason"));
    s.press(" but PITR restore is prepared by DBA on call<Enter>");
    assert!(s.state.in_flight());
    assert!(s.advance_until(60_000, |st| {
        st.runs.last().is_some_and(|r| r.outcome().is_some())
    }));
    assert_eq!(
        s.state.runs.last().unwrap().outcome(),
        Some(Outcome::Succeeded)
    );
    b.with_world(|w, _| {
        let svc = w.service("orders").unwrap();
        assert!(!svc.auto_sync);
        assert_eq!(
            svc.revs.last().unwrap().id,
            43,
            "Argo CD appends history id max+1"
        );
        assert_eq!(svc.revs.last().unwrap().tag, "git-a1b2c3d");
    });
    // Follow-up: re-enable auto-sync as its own plan, gated on the revert.
    s.press("a");
    let p = s.state.plan.clone().expect("re-enable plan");
    assert_eq!(p.steps, vec![PlanStep::EnableAutoSync]);
    let revert = p.checks.iter().find(|c| c.id == "revert").unwrap();
    assert!(revert.status == CheckStatus::Block && revert.overridable);
    assert!(
        revert
            .detail
            .contains("d8f3c2a must be reverted in git first"),
        "{}",
        revert.detail
    );
    s.press("<Enter>orders<Tab>PR #4242 reverts d8f3c2a, merged<Enter>");
    assert!(s.advance_until(5_000, |st| {
        st.runs.last().is_some_and(|r| r.outcome().is_some())
    }));
    assert_eq!(
        s.state.runs.last().unwrap().outcome(),
        Some(Outcome::Succeeded)
    );
    assert!(
        s.state
            .checklist("orders")
            .unwrap()
            .contains_key("reenable-auto-sync")
    );
    b.with_world(|w, _| assert!(w.service("orders").unwrap().auto_sync));
    let note = std::fs::read_to_string(&note_path).unwrap();
    assert!(note.contains("plan #2: re-enable auto-sync on orders"));
    assert!(note.contains("override reason: PR #4242 reverts d8f3c2a, merged"));
    let disable = note
        .find("step 1: Disable auto-sync on Argo CD application orders-prod")
        .expect("auto-sync step recorded");
    let rollback = note
        .find("step 2: Roll back orders-prod to history id 41")
        .expect("rollback recorded");
    assert!(
        disable < rollback,
        "auto-sync is disabled strictly before the rollback"
    );
    assert!(note.contains("override reason: short but PITR restore is prepared by DBA on call"));
    assert!(note.contains("OVERRIDE of BLOCK `schema`: UNSAFE schema change in range"));
    assert!(note.contains("line 1: UNSAFE — drops column orders.legacy_total"));
}

#[test]
fn rolling_back_to_a_known_bad_revision_fails_and_leaves_the_checklist_open() {
    let (mut s, _) = demo(Mode::Demo, None);
    plan_to(&mut s, "search", "13");
    let c = check(&s, "revision");
    assert_eq!(c.status, CheckStatus::Block);
    assert!(c.overridable, "a typed reason may override");
    s.press("<Enter>");
    assert!(s.state.plan.as_ref().unwrap().needs_override());
    s.press("drill: known bad on purpose<Enter>");
    assert!(s.state.in_flight(), "{:?}", s.state.flash);
    assert!(s.advance_until(60_000, |st| {
        st.runs.last().is_some_and(|r| r.outcome().is_some())
    }));
    let Some(Outcome::Failed(m)) = s.state.runs.last().unwrap().outcome() else {
        panic!("must fail")
    };
    assert!(m.contains("ProgressDeadlineExceeded"), "{m}");
    let ticks = s.state.checklist("search").cloned().unwrap_or_default();
    assert!(!ticks.contains_key("rollout") && !ticks.contains_key("verify"));
    s.advance(4000);
    assert_eq!(
        s.state.verdict("search").unwrap().severity,
        Severity::Critical
    );
}

#[test]
fn rehearsal_refuses_prod_and_runs_staging() {
    let (mut s, b) = demo(Mode::Rehearsal, None);
    plan_to(&mut s, "checkout", "8");
    let c = check(&s, "mode");
    assert_eq!(c.status, CheckStatus::Block);
    assert!(!c.overridable);
    s.press("<Enter>");
    assert!(s.state.runs.is_empty());
    assert!(
        s.state
            .flash
            .as_ref()
            .unwrap()
            .1
            .contains("rehearsal mode never touches prod")
    );
    assert!(
        s.recorded
            .iter()
            .any(|r| r.contains("**refused** `checkout`"))
    );
    assert!(
        !s.state
            .checklist("checkout")
            .is_some_and(|c| c.contains_key("history")),
        "a plan that can never run ticks nothing"
    );
    b.with_world(|w, _| {
        assert_eq!(
            w.service("checkout").unwrap().revs.last().unwrap().id,
            9,
            "prod untouched"
        )
    });

    s.press("<Esc>");
    plan_to(&mut s, "search", "17");
    let dry = check(&s, "dry-run");
    assert_eq!(
        dry.status,
        CheckStatus::Pass,
        "a Deployment has a server-side dry run"
    );
    s.press("<Esc>");
    plan_to(&mut s, "catalog", "7");
    let dry = check(&s, "dry-run");
    assert_eq!(
        dry.status,
        CheckStatus::Warn,
        "rehearsal asks the platform for a dry run; none means not previewed, not PASS"
    );
    assert!(
        dry.detail.contains("no side-effect-free dry run"),
        "{}",
        dry.detail
    );
    s.press("<Enter><Enter>");
    assert!(s.state.in_flight(), "staging runs in rehearsal");
}

#[test]
fn read_only_shows_plans_and_refuses_every_mutation() {
    let (mut s, b) = demo(Mode::ReadOnly, None);
    for (t, rev) in [("checkout", "8"), ("search", "17"), ("orders", "41")] {
        plan_to(&mut s, t, rev);
        assert_eq!(check(&s, "mode").status, CheckStatus::Block);
        s.press("<Enter>");
        assert!(s.state.runs.is_empty());
        assert!(!matches!(s.state.view.popup, Some(Popup::Confirm(_))));
        assert!(s.state.flash.as_ref().unwrap().1.contains("read-only mode"));
        s.press("<Esc>");
    }
    b.with_world(|w, _| assert!(w.services.iter().all(|s| s.version == 1), "nothing changed"));
}

#[test]
fn a_plan_built_before_a_concurrent_change_is_refused_and_rebuilt() {
    let (mut s, b) = demo(Mode::Demo, None);
    plan_to(&mut s, "search", "17");
    let old = s.state.plan.as_ref().unwrap().built_from.clone();
    // Someone else deploys while the operator reads the plan.
    b.with_world(|w, _| w.service_mut("search").unwrap().version += 1);
    s.press("<Enter><Enter>");
    assert!(s.state.runs.is_empty(), "nothing runs on a stale plan");
    assert!(
        s.recorded
            .iter()
            .any(|r| r.contains("**stale** `search`") && r.contains("nothing was applied"))
    );
    let p = s.state.plan.as_ref().expect("plan rebuilt");
    assert_ne!(p.built_from, old);
    assert_eq!(
        s.state.view.popup,
        Some(Popup::Plan),
        "the rebuilt plan is shown again"
    );
    b.with_world(|w, _| {
        assert_eq!(
            w.service("search").unwrap().revs.last().unwrap().id,
            18,
            "no rollback applied"
        )
    });
}

#[test]
fn quit_asks_first_while_a_rollback_is_in_flight() {
    let (mut s, _) = demo(Mode::Demo, None);
    plan_to(&mut s, "search", "17");
    s.press("<Enter><Enter>");
    s.press("q");
    assert_eq!(s.state.view.popup, Some(Popup::QuitConfirm));
    assert!(!s.state.quitting);
    s.press("n");
    assert!(!s.state.quitting && s.state.view.popup.is_none());
    s.press("qy");
    assert!(s.state.quitting);
    assert!(
        s.recorded
            .last()
            .unwrap()
            .contains("a rollback was still in flight at quit")
    );
}

#[test]
fn hand_ticks_with_evidence_and_notes_are_recorded_and_resumable() {
    let dir = tempfile::tempdir().unwrap();
    let note_path = dir.path().join("n.md");
    let (mut s, _) = demo(Mode::Demo, Some(&note_path));
    select(&mut s, "catalog");
    s.press("4jjjjjjjjj<Space>saved logs to S3<Enter>");
    s.dispatch(rbtui::core::Action::NoteSubmitted(
        "DBA paged at 03:02\nwaiting for ack".into(),
    ));
    let ticks = &s.state.checklist("catalog").unwrap();
    let tick = ticks.get("audit").expect("ticked by hand");
    assert_eq!(tick.evidence.as_deref(), Some("saved logs to S3"));
    assert!(!tick.auto);
    let note = std::fs::read_to_string(&note_path).unwrap();
    assert!(note.contains("**note** `catalog` — DBA paged at 03:02"));
    assert!(note.contains("    - waiting for ack"));
    let r = rbtui::note::resume::parse(&note);
    assert_eq!(r.incident.as_deref(), Some("INC-7"));
    assert!(r.checklists["catalog"].contains_key("audit"));
}

#[test]
fn entries_are_on_disk_before_the_screen_calls_them_recorded() {
    // A crash at any point (here: dropping everything mid-rollout) leaves a
    // file holding every entry the activity pane showed.
    let dir = tempfile::tempdir().unwrap();
    let note_path = dir.path().join("n.md");
    let shown;
    {
        let (mut s, _) = demo(Mode::Demo, Some(&note_path));
        plan_to(&mut s, "search", "17");
        s.press("<Enter><Enter>");
        s.advance(3000);
        assert!(s.state.in_flight());
        shown = s.state.activity.clone();
        std::mem::forget(s); // no destructor, no flush: like kill -9
    }
    let note = std::fs::read_to_string(&note_path).unwrap();
    assert!(shown.len() > 5);
    for r in shown {
        let text = r.summary.split_once(": ").map(|x| x.1).unwrap();
        assert!(note.contains(text), "missing {text:?}");
    }
}

#[test]
fn verification_window_records_not_recovered_with_before_and_after() {
    let (mut s, _) = demo(Mode::Demo, None);
    // Stricter than the service's normal 0.2 % 5xx: it can never "recover".
    s.state.settings.thresholds.error_rate = 0.001;
    s.state.settings.verify_window_secs = 20;
    plan_to(&mut s, "search", "17");
    s.press("<Enter><Enter>");
    assert!(s.advance_until(60_000, |st| {
        st.runs.last().is_some_and(|r| r.outcome().is_some())
    }));
    assert_eq!(
        s.state.runs.last().unwrap().outcome(),
        Some(Outcome::Succeeded),
        "the rollout itself converged"
    );
    let ticks = &s.state.checklist("search").unwrap();
    assert!(ticks.contains_key("verify"));
    assert!(
        !ticks.contains_key("metrics"),
        "metrics recovered ticks only on real recovery"
    );
    let nr = s
        .recorded
        .iter()
        .find(|r| r.contains("**not-recovered** `search`"))
        .expect("not-recovered recorded");
    assert!(
        nr.contains("metrics not recovered within the window: 5xx 0.") && nr.contains("> 0%"),
        "{nr}"
    );
    let ev = s
        .recorded
        .iter()
        .find(|r| r.contains("**evidence** `search`"))
        .unwrap();
    assert!(
        ev.contains("| 5xx rate |") && ev.contains("| p95 latency |"),
        "{ev}"
    );
}

#[test]
fn rollbacks_leave_a_marker_that_later_sessions_read_as_swarm_history() {
    use rbtui::backend::Backend;
    use rbtui::backend::notes_history::{NotesHistory, read_dir};
    let dir = tempfile::tempdir().unwrap();
    let note_path = dir.path().join("INC-7.md");
    {
        let (mut s, _) = demo(Mode::Demo, Some(&note_path));
        plan_to(&mut s, "payments", "106");
        s.press("<Enter>payments<Enter>");
        assert!(s.advance_until(60_000, |st| {
            st.runs.last().is_some_and(|r| r.outcome().is_some())
        }));
    }
    let note = std::fs::read_to_string(&note_path).unwrap();
    assert!(
        note.contains(
            r#"<!-- rbtui {"marker":"deployed","target":"payments","image":"ghcr.io/acme/payments:git-0d9e8f7@sha256:"#
        ),
        "{note}"
    );
    let deployed = read_dir(dir.path(), std::path::Path::new(""));
    assert_eq!(deployed.len(), 1);
    // A later session, on a platform that forgot that image: it is offered from the note.
    let (fresh, b) = demo(Mode::Demo, None);
    drop(fresh);
    b.with_world(|w, _| {
        w.service_mut("payments")
            .unwrap()
            .revs
            .retain(|r| r.tag != "git-0d9e8f7")
    });
    let nh = NotesHistory::new(b.clone(), deployed);
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(nh.targets()).unwrap();
    let h = rt.block_on(nh.history("payments")).unwrap();
    let e = h
        .revisions
        .iter()
        .find(|r| r.id == "note-1")
        .expect("entry from the note");
    assert_eq!(e.images[0].tag.as_deref(), Some("git-0d9e8f7"));
    assert!(e.message.contains("incident INC-7 (from its note)"));
    assert!(
        h.facts
            .history_note
            .as_deref()
            .unwrap()
            .ends_with("1 entry from earlier rbtui notes")
    );
}

#[test]
fn ticks_with_mixed_stale_and_fresh_targets_do_not_redraw() {
    let (mut s, _) = demo(Mode::Demo, None);
    let mut old = s.state.health("search").unwrap().clone();
    old.observed_at = t0() - chrono::Duration::seconds(300);
    // An older answer never replaces a newer one: start from none.
    s.state.row_mut("search").health.take();
    s.dispatch(rbtui::core::Action::HealthUpdated(vec![old]));
    assert!(
        s.state.verdict("search").unwrap().stale && !s.state.verdict("checkout").unwrap().stale
    );
    // While the selected target's data age reads in seconds, a tick
    // redraws once a second (the age advances with the clock), never more.
    let mut redraws = 0;
    for i in 1..20 {
        s.state.dirty = false;
        s.dispatch(rbtui::core::Action::Tick(
            t0() + chrono::Duration::milliseconds(i * 500),
        ));
        redraws += usize::from(s.state.dirty);
    }
    assert_eq!(redraws, 9, "one redraw per second of 9.5 s");
    // Once every age reads in minutes, ticks within the minute draw nothing.
    s.dispatch(rbtui::core::Action::Tick(
        t0() + chrono::Duration::seconds(61),
    ));
    for i in 1..20 {
        s.state.dirty = false;
        s.dispatch(rbtui::core::Action::Tick(
            t0() + chrono::Duration::seconds(61) + chrono::Duration::milliseconds(i * 500),
        ));
        assert!(!s.state.dirty, "tick {i} redrew with nothing changed");
    }
}

#[test]
fn a_rehearsal_that_ran_to_its_end_is_recorded_as_a_drill() {
    let dir = tempfile::tempdir().unwrap();
    let note_path = dir.path().join("drill.md");
    let (mut s, _) = demo(Mode::Rehearsal, Some(&note_path));
    plan_to(&mut s, "search", "17");
    s.press("<Enter><Enter>");
    assert!(s.advance_until(60_000, |st| {
        st.runs.last().is_some_and(|r| r.outcome().is_some())
    }));
    assert_eq!(
        s.state.runs.last().unwrap().outcome(),
        Some(Outcome::Succeeded)
    );
    let w = rbtui::note::resume::last_worked(dir.path());
    assert!(
        w["search"].drill.is_some() && w["search"].real.is_none(),
        "{w:?}"
    );
    assert!(!w["search"].stale(t0(), 90));
    // At the end, the drill report: each step against its budget.
    s.press("q");
    let note = std::fs::read_to_string(&note_path).unwrap();
    assert!(
        note.contains("**drill** `search` — drill report: search"),
        "{note}"
    );
    assert!(
        note.contains("- done     Executed rollout undo: ") && note.contains("(budget 2m00s)"),
        "{note}"
    );
    assert!(note.contains("- skipped  Postmortem scheduled"), "{note}");
    assert!(
        note.contains("time to mitigate (rollback sent): "),
        "{note}"
    );
    assert!(note.find("**drill**").unwrap() < note.find("**end**").unwrap());
    assert!(
        note.contains("- skipped  Revert the bad change (1b88cc9) in git"),
        "{note}"
    );
}

#[test]
fn a_drill_step_that_took_longer_than_its_budget_is_flagged() {
    let dir = tempfile::tempdir().unwrap();
    let note_path = dir.path().join("drill.md");
    let (mut s, _) = demo(Mode::Rehearsal, Some(&note_path));
    select(&mut s, "search");
    s.advance(75_000);
    // The first step (assess, budget 1m) ticked by hand after 75 s.
    s.press("4<Space>took a while<Enter>");
    s.press("q");
    let note = std::fs::read_to_string(&note_path).unwrap();
    assert!(
        note.contains("- OVER     Confirm the issue is real (crash loop, 0 ready, 5xx, latency): 1m15s (budget 1m00s)"),
        "{note}"
    );
    assert!(note.contains("1 step(s) over budget"), "{note}");
}

/// A read-only environment in the config: the console shows prod's plan,
/// refuses it at the confirm (no reason overrides it), and sends nothing.
#[test]
fn a_read_only_environment_shows_plans_and_refuses_them() {
    let (mut s, b) = demo_with(Mode::Demo, None, |st| {
        st.read_only_environments = vec!["prod".into()]
    });
    select(&mut s, "checkout");
    let mut t = ratatui::Terminal::new(ratatui::backend::TestBackend::new(120, 40)).unwrap();
    t.draw(|f| rbtui::ui::render(&s.state, &rbtui::ui::Ui::default(), f))
        .unwrap();
    let top: String = (0..120)
        .map(|x| t.backend().buffer()[(x, 0)].symbol().to_string())
        .collect();
    assert!(
        top.contains(" PROD  READ-ONLY (config) "),
        "said in the header: {top}"
    );
    plan_to(&mut s, "checkout", "8");
    let c = check(&s, "mode");
    assert_eq!(c.status, CheckStatus::Block);
    assert!(
        !c.overridable && c.detail.contains("read-only in the config"),
        "{c:?}"
    );
    s.press("<Enter>");
    assert!(s.state.runs.is_empty(), "nothing runs");
    assert!(
        s.recorded
            .iter()
            .any(|r| r.contains("not executed: environment prod is read-only"))
    );
    b.with_world(|w, _| assert_eq!(w.service("checkout").unwrap().revs.len(), 9, "untouched"));
    // Staging still rolls back.
    plan_to(&mut s, "search", "17");
    assert_eq!(check(&s, "mode").status, CheckStatus::Pass);
}
