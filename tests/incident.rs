//! One incident, many actions: what was seen going wrong across a sequence
//! (a rollback, a second plan, a group, status messages, a resume), each a
//! test on the demo that failed before the incident model and passes now.
#![allow(clippy::unwrap_used)] // a failed unwrap in a test is a failed test

mod common;

use common::*;
use rbtui::core::action::Action;
use rbtui::core::model::Mode;
use rbtui::core::state::{Outcome, Popup};
use rbtui::core::verdict::Severity;

/// Plans `rev` for `target` and confirms it as the console asks (the name
/// for prod, a reason for a BLOCK), then waits for the run's end.
fn roll_back(s: &mut rbtui::app::script::Script, target: &str, rev: &str) {
    s.press("<Esc><Esc>");
    plan_to(s, target, rev);
    let p = s.state.plan.clone().unwrap();
    s.press("<Enter>");
    if p.needs_typed_name() {
        s.press(target);
    }
    if p.needs_override() {
        s.press("<Tab>a reason typed for the test");
    }
    s.press("<Enter>");
    assert!(s.state.in_flight(), "{:?}", s.state.flash);
    assert!(settle(s, 120_000), "the run ends");
}

/// Group `shop` (checkout, orders, payments) to lkg, confirmed by its name
/// and a reason (orders' schema BLOCKs), run to its end.
fn roll_back_shop(s: &mut rbtui::app::script::Script) {
    s.press("<Esc><Esc>");
    select(s, "checkout");
    s.press("R");
    assert_eq!(
        s.state.view.popup,
        Some(Popup::GroupPlan),
        "{:?}",
        s.state.flash
    );
    s.press("<Enter>shop<Tab>PITR restore prepared by the DBA on call<Enter>");
    assert!(
        s.state.group.as_ref().is_some_and(|g| g.confirmed),
        "{:?}",
        s.state.flash
    );
    assert!(
        s.advance_until(300_000, |st| st.group.as_ref().is_some_and(|g| g.reported)),
        "the group ends"
    );
}

fn note_text(p: &std::path::Path) -> String {
    std::fs::read_to_string(p).unwrap()
}

/// checkout rolled back 9 → 8 and verified (it lands as revision 10):
/// revision 10 is now the last known good, and the group's "to lkg" leaves
/// checkout out instead of rolling the verified build back to 7.
#[test]
fn a_verified_rollback_is_the_new_last_known_good_and_a_group_leaves_it_alone() {
    let (mut s, _b) = demo(Mode::Demo, None);
    roll_back(&mut s, "checkout", "8");
    assert_eq!(
        s.state.runs.last().unwrap().outcome(),
        Some(Outcome::Succeeded)
    );
    s.press("<Esc><Esc>");
    select(&mut s, "checkout");
    s.press("<Enter>");
    let h = s.state.history("checkout").unwrap();
    assert_eq!(h.current().unwrap().id, "10");
    assert_eq!(
        h.last_known_good.as_deref(),
        Some("10"),
        "the verified landing is LKG"
    );
    assert!(
        h.known_bad.iter().any(|id| id == "9"),
        "what it rolled back from is bad"
    );
    s.press("<Esc>R");
    let g = s.state.group.clone().expect("group shop planned");
    assert!(
        g.plans.iter().all(|p| p.target.name != "checkout"),
        "{:?}",
        g.plans
    );
    let (_, why) = g
        .skipped
        .iter()
        .find(|(t, _)| t == "checkout")
        .expect("left out");
    assert!(
        why.starts_with("nothing to roll back: checkout runs revision 10"),
        "{why}"
    );
    assert!(g.plans.iter().any(|p| p.target.name == "orders"));
    // A single plan to lkg says the same.
    s.press("<Esc>");
    s.dispatch(Action::PlanAsked {
        target: "checkout".into(),
        to: "lkg".into(),
        exact: false,
        retag: false,
    });
    s.run_ready();
    assert!(
        s.state
            .plan
            .as_ref()
            .is_none_or(|p| p.target.name != "checkout")
    );
    match &s.state.view.popup {
        Some(Popup::Reading { error: Some(e), .. }) => {
            assert!(e.starts_with("nothing to roll back"), "{e}")
        }
        p => panic!("{p:?}"),
    }
}

/// After a second rollback (from the verified build) the follow-ups still
/// name the commit that crashed, never the one that fixed it; a target
/// that was only planned gets no follow-ups, in the note or the postmortem.
#[test]
fn follow_ups_name_the_failing_commit_and_only_targets_rolled_back() {
    let dir = tempfile::tempdir().unwrap();
    let note = dir.path().join("n.md");
    let (mut s, _b) = demo(Mode::Demo, Some(&note));
    roll_back(&mut s, "checkout", "8");
    roll_back(&mut s, "checkout", "7");
    let t = s.state.target("checkout").unwrap().clone();
    let vars = s.state.runbook_vars(&t);
    let bad = vars.iter().find(|(k, _)| *k == "bad_sha").unwrap();
    assert_eq!(bad.1, "d8f3c2a", "the crashing build, not a1b2c3d");
    s.press("<Esc><Esc>");
    plan_to(&mut s, "catalog", "7");
    s.press("<Esc><Esc>q");
    let text = note_text(&note);
    assert!(
        text.contains("[ ] Revert the bad change (d8f3c2a) in git"),
        "{text}"
    );
    assert!(!text.contains("Revert the bad change (a1b2c3d)"), "{text}");
    assert!(!text.contains("Revert the bad change (1a2b3c4)"), "{text}");
    assert!(
        text.contains("catalog — no rollback ran here: no follow-ups apply"),
        "{text}"
    );
    let x = rbtui::note::export::read(&text);
    let draft = rbtui::note::postmortem::draft(&x, "n.md", t0());
    let items: Vec<&str> = draft
        .lines()
        .skip_while(|l| *l != "## Action items")
        .take_while(|l| !l.starts_with("## Timeline"))
        .filter(|l| l.starts_with("- [ ]"))
        .collect();
    assert!(!items.is_empty(), "{draft}");
    // The whole incident, target by target: both of checkout's rollbacks.
    let by = draft
        .split("## By target")
        .nth(1)
        .and_then(|r| r.split("\n## ").next())
        .expect("a section per target");
    assert!(by.contains("plan #1 9 → 8") && by.contains("→ 7"), "{by}");
    assert!(by.contains("follow-up: revert d8f3c2a"), "{by}");
    assert!(
        !by.contains("**catalog**"),
        "only planned: not in the story: {by}"
    );
    assert!(items.iter().all(|i| i.contains("checkout:")), "{items:?}");
    assert!(!items.iter().any(|i| i.contains("catalog")), "{items:?}");
}

/// `s` after a group covers every target the incident touched, each with
/// its own facts: payments (healthy, in the group only) is no bad deploy,
/// "finished" is the run's own end time, and Impact is the failure as it
/// was seen. Switching templates records nothing; closing records once.
#[test]
fn a_status_message_after_a_group_covers_every_target_with_its_own_facts() {
    let (mut s, _b) = demo(Mode::Demo, None);
    roll_back_shop(&mut s);
    let ended = s
        .state
        .incident
        .story("payments")
        .and_then(|st| st.runs.last())
        .and_then(|r| r.ended.as_ref())
        .map(|e| rbtui::core::fmt::hms(e.at))
        .expect("payments ran");
    s.advance(90_000);
    s.press("<Esc><Esc>s");
    let Some(Popup::Status(_, text)) = s.state.view.popup.clone() else {
        panic!("{:?}", s.state.view.popup)
    };
    for t in ["checkout", "orders", "payments"] {
        assert!(text.contains(&format!("· {t} (")), "{t} covered: {text}");
    }
    let payments = text
        .split("\n\n")
        .find(|b| b.contains("· payments ("))
        .unwrap();
    assert!(
        !payments.contains("Bad deploy") && !payments.contains("bad deploy 108"),
        "{payments}"
    );
    assert!(
        payments.contains("rolled back with group shop"),
        "{payments}"
    );
    assert!(
        payments.contains(&format!("finished {ended}")),
        "{payments}"
    );
    assert!(!text.contains("Impact: ok —"), "{text}");
    let checkout = text
        .split("\n\n")
        .find(|b| b.contains("· checkout ("))
        .unwrap();
    assert!(
        checkout.contains("Impact: critical — all 3 replicas crash-looping"),
        "{checkout}"
    );
    let before = s.recorded.len();
    s.press("01ur");
    assert_eq!(s.recorded.len(), before, "switching records nothing");
    s.press("<Esc>");
    let drafted: Vec<&String> = s.recorded[before..]
        .iter()
        .filter(|e| e.contains("status message drafted"))
        .collect();
    assert_eq!(drafted.len(), 1, "{drafted:?}");
    assert!(
        drafted[0].contains("(resolved, covering checkout, orders, payments"),
        "{}",
        drafted[0]
    );
}

/// After the group, `:target catalog` shows catalog's Migrations (none
/// planned), never payments' range under catalog's name.
#[test]
fn the_migrations_pane_shows_only_the_selected_targets_range() {
    let (mut s, _b) = demo(Mode::Demo, None);
    roll_back_shop(&mut s);
    s.press("<Esc><Esc>:target catalog<Enter>");
    assert_eq!(s.state.view.selected.as_deref(), Some("catalog"));
    let screen = screen(&s, 120, 40);
    let title = screen.lines().find(|l| l.contains("3 Migrations")).unwrap();
    assert!(!title.contains("payments"), "{title}");
    assert!(
        !title.contains(".."),
        "no range is planned for catalog: {title}"
    );
}

/// Every plan entry carries every check's answer (never "asking the
/// platform…" left unanswered), and the demo answers rights as simulated.
#[test]
fn every_check_a_plan_asks_is_answered_in_the_note() {
    let dir = tempfile::tempdir().unwrap();
    let note = dir.path().join("n.md");
    let (mut s, _b) = demo(Mode::Demo, Some(&note));
    plan_to(&mut s, "checkout", "8");
    s.press("<Esc><Esc>");
    plan_to(&mut s, "payments", "107");
    s.press("<Esc><Esc>q");
    let text = note_text(&note);
    assert!(!text.contains("asking the platform"), "{text}");
    assert!(!text.contains("migration diff loading"), "{text}");
    assert!(
        text.contains("check PASS `permissions`: the platform grants patch deployments.apps/checkout (simulated by the demo)"),
        "{text}"
    );
    // Swarm has no dry run: said, not left out or passed.
    assert!(
        text.contains(
            "check SKIP `dry-run`: not checked — this platform has no side-effect-free dry run"
        ),
        "{text}"
    );
}

/// The CLI builds its plan through the console's pipeline: the same
/// checks, permissions among them.
#[test]
fn rbtui_plan_asks_the_same_checks_as_the_console() {
    let (mut s, _b) = demo(Mode::Demo, None);
    plan_to(&mut s, "orders", "41");
    let mut console: Vec<String> = s
        .state
        .plan
        .as_ref()
        .unwrap()
        .checks
        .iter()
        .map(|c| format!("{} {}", c.id, c.status.label()))
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_rbtui"))
        .args(["demo", "plan", "orders", "--to", "41", "--json"])
        .current_dir(dir.path())
        .env("HOME", dir.path())
        .env("XDG_CONFIG_HOME", dir.path().join("x"))
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    let mut cli: Vec<String> = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let st = match c["status"].as_str().unwrap() {
                "Pass" => "PASS",
                "Skipped" => "SKIP",
                "Warn" => "WARN",
                "Block" => "BLOCK",
                o => panic!("{o}"),
            };
            format!("{} {st}", c["id"].as_str().unwrap())
        })
        .collect();
    console.sort();
    cli.sort();
    assert_eq!(cli, console);
    assert!(cli.iter().any(|c| c.starts_with("permissions")), "{cli:?}");
    assert_eq!(out.status.code(), Some(2), "orders' schema BLOCKs");
}

/// While checkout rolls back, another target is planned and confirmed
/// (independent targets stay independent), and text typed ahead never
/// reaches a hotkey: no status drafts, no stray entries.
#[test]
fn a_second_target_rolls_back_while_the_first_does_and_typed_text_stays_in_its_dialog() {
    let (mut s, _b) = demo(Mode::Demo, None);
    plan_to(&mut s, "checkout", "8");
    s.press("<Enter>checkout<Enter>");
    assert!(s.state.in_flight());
    s.advance(1_000);
    s.press("<Esc><Esc>");
    plan_to(&mut s, "search", "17");
    let before = s.recorded.len();
    // Typed ahead, as an operator does at 3 a.m.: the confirm owns it.
    s.press("<Enter>update P0 search");
    assert!(
        matches!(s.state.view.popup, Some(Popup::Confirm(_))),
        "{:?}",
        s.state.view.popup
    );
    assert!(
        !s.recorded[before..]
            .iter()
            .any(|e| e.contains("status message")),
        "{:?}",
        &s.recorded[before..]
    );
    // Back to a clean confirm of search (staging: Enter).
    s.press("<Esc><Enter><Enter>");
    let flying: Vec<&str> = s
        .state
        .runs
        .iter()
        .filter(|r| r.in_flight())
        .map(|r| r.plan.target.name.as_str())
        .collect();
    assert_eq!(flying, ["checkout", "search"], "{:?}", s.state.flash);
    // The same target twice is refused, and that refusal owns the keys.
    s.press("<Esc><Esc>");
    select(&mut s, "checkout");
    s.press("<Enter>");
    s.press("<Enter>");
    assert!(
        matches!(&s.state.view.popup, Some(Popup::Reading { error: Some(e), .. }) if e.contains("checkout is rolling back")),
        "{:?}",
        s.state.view.popup
    );
    s.press("s1u");
    assert!(
        matches!(s.state.view.popup, Some(Popup::Reading { .. })),
        "keys stay in the dialog"
    );
    assert!(settle(&mut s, 120_000));
    assert!(
        s.state
            .runs
            .iter()
            .all(|r| r.outcome() == Some(Outcome::Succeeded))
    );
}

/// A target configured as healthy stays healthy through its own rollback
/// (old pods serve until new ones are ready), and each platform's
/// progress reads in its own words.
#[test]
fn the_demo_rolls_a_healthy_target_back_without_calling_it_critical() {
    let (mut s, _b) = demo_with(Mode::Demo, None, |st| st.save_evidence = true);
    plan_to(&mut s, "payments", "107");
    s.press("<Enter>payments<Enter>");
    let mut worst = Severity::Ok;
    for _ in 0..40 {
        s.advance(250);
        if let Some(v) = s.state.verdict("payments") {
            worst = worst.max(v.severity);
        }
    }
    assert!(
        worst < Severity::Critical,
        "payments went {worst:?} during its own rollback"
    );
    assert!(settle(&mut s, 120_000));
    let all = s.recorded.join("\n");
    assert!(
        all.contains("**progress** `payments` — UpdateStatus"),
        "{all}"
    );
    assert!(
        !all.contains("**progress** `payments` — Waiting for rollout"),
        "{all}"
    );
    assert!(
        !all.contains("**evidence** `payments` — saved what the failing revision left"),
        "no 'failing revision' evidence for a healthy target: {all}"
    );
}

/// A `kind = "demo"` target in a LIVE session is shown as DEMO, its
/// made-up location said to be simulated; a healthy detail line has no
/// empty reason.
#[test]
fn a_simulated_target_is_never_shown_live() {
    let (mut s, _b) = demo(Mode::Live, None);
    select(&mut s, "checkout");
    let top = screen(&s, 120, 40);
    let header = top.lines().next().unwrap();
    assert!(header.starts_with(" DEMO "), "{header}");
    assert!(header.contains("simulated by rbtui"), "{header}");
    select(&mut s, "payments");
    let top = screen(&s, 120, 40);
    assert!(top.contains("healthy (data"), "{top}");
    assert!(!top.contains("healthy:  ("), "{top}");
}

/// A group cut short (kill -9 while its second member rolls back) and
/// resumed: the resumed session says which members ran, which was in
/// flight and which never started, and records each interrupted target's
/// state from its first read.
#[test]
fn a_resumed_group_says_what_ran_what_did_not_and_where_each_target_stands() {
    let dir = tempfile::tempdir().unwrap();
    let note = dir.path().join("n.md");
    {
        let (mut s, _b) = demo(Mode::Demo, Some(&note));
        s.press("<Esc><Esc>");
        select(&mut s, "checkout");
        s.press("R<Enter>shop<Tab>PITR restore prepared by the DBA on call<Enter>");
        // Until orders (the second member) is rolling back, then the
        // process dies: nothing after this is recorded.
        assert!(s.advance_until(120_000, |st| {
            st.runs
                .iter()
                .any(|r| r.plan.target.name == "orders" && r.in_flight())
        }));
    }
    let r = rbtui::note::resume::parse(&note_text(&note));
    assert_eq!(r.model.interrupted().len(), 1, "orders was in flight");
    // The resumed session: the note's story first, then the platform.
    let clock = rbtui::backend::clock::ManualClock::new(t0() + chrono::Duration::minutes(5));
    let backend = std::sync::Arc::new(rbtui::backend::demo::DemoBackend::builtin(
        std::sync::Arc::new(clock.clone()),
    ));
    let writer =
        rbtui::note::NoteWriter::open(&note, &header(Mode::Demo, "n.md"), "\n### Resumed\n\n")
            .unwrap();
    let state = rbtui::core::state::State::new(
        settings(Mode::Demo, "n.md"),
        rbtui::runbook::load_all(None).unwrap(),
        t0(),
    );
    let mut s = rbtui::app::script::Script::new(state, backend, clock, Some(writer));
    s.dispatch(Action::Resumed {
        incident: r.model.clone(),
        checklists: r.checklists.clone(),
    });
    s.start();
    s.advance(3_000);
    let all = s.recorded.join("\n");
    for want in [
        "group shop (confirmed 03:00:00Z):",
        "checkout (plan #",
        "orders (plan #",
        "IN FLIGHT at the interruption",
        "payments (plan #",
        "NOT started",
        "**source** `orders` — orders after the interruption: runs",
    ] {
        assert!(all.contains(want), "{want}\n{all}");
    }
    assert!(s.state.next_plan_id.0 >= 4, "plan ids go on counting");
}

/// The note's disk fills and stays full: quitting keeps every entry the
/// note did not take (the end entry among them) for a file beside it, and
/// the header and footer never disagree on whether the note works.
#[test]
fn quitting_while_the_note_cannot_be_written_keeps_what_it_did_not_take() {
    let dir = tempfile::tempdir().unwrap();
    let note = dir.path().join("n.md");
    let (mut s, _b) = demo(Mode::Demo, Some(&note));
    // Replace the writer with one whose disk is full from now on.
    let len = std::fs::metadata(&note).unwrap().len();
    let limit = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(len));
    let file = std::fs::OpenOptions::new()
        .append(true)
        .open(&note)
        .unwrap();
    s.note = Some(
        rbtui::note::NoteWriter::on(
            Box::new(rbtui::note::quota::Quota {
                file,
                limit: limit.clone(),
                fault: None,
            }),
            &note,
        )
        .unwrap(),
    );
    s.press("<Esc><Esc>");
    plan_to(&mut s, "search", "17");
    assert!(s.state.note_error.is_some());
    // Room for one entry only: the retry writes its heading, the rest fail.
    limit.store(len + 400, std::sync::atomic::Ordering::SeqCst);
    s.advance(6_000);
    assert!(s.state.note_error.is_some(), "still failing");
    assert!(
        s.state
            .flash
            .as_ref()
            .is_none_or(|(_, m)| !m.contains("takes writes again")),
        "the footer must not say the note works while the header says it fails: {:?}",
        s.state.flash
    );
    s.press("<Esc><Esc>q");
    assert!(s.state.quitting);
    let held = &s.state.note_backlog;
    assert!(
        held.iter()
            .any(|e| e.kind == rbtui::core::entry::EntryKind::End),
        "{held:?}"
    );
    let kept = rbtui::note::held::keep(&note, held, "No space left on device").unwrap();
    let text = std::fs::read_to_string(kept).unwrap();
    assert!(text.contains("**end** — session ended"), "{text}");
}

/// Signals laid over the demo's health for one target, as a Prometheus
/// layer would give them: fixed readings, read fresh at every poll.
struct Readings {
    inner: std::sync::Arc<dyn rbtui::backend::Backend>,
    target: &'static str,
    signals: Vec<rbtui::core::signals::Signal>,
}

impl rbtui::backend::layer::Layer for Readings {
    fn inner(&self) -> &std::sync::Arc<dyn rbtui::backend::Backend> {
        &self.inner
    }
    fn health(&self, mut h: rbtui::core::model::Health) -> rbtui::core::model::Health {
        if h.target == self.target {
            let now = h.observed_at;
            h.signals = self
                .signals
                .iter()
                .cloned()
                .map(|mut s| {
                    s.observed_at = now;
                    s
                })
                .collect();
            for s in &h.signals {
                use rbtui::core::signals::SignalKind as K;
                match s.kind {
                    K::ErrorRate => h.error_rate = s.value,
                    K::Latency => h.latency_p95_ms = s.value,
                    _ => {}
                }
            }
        }
        h
    }
}

fn reading(
    name: &str,
    value: f64,
    criterion: &str,
    clear_secs: Option<i64>,
) -> rbtui::core::signals::Signal {
    use rbtui::core::signals::SignalKind as K;
    let kind = match name {
        "error_rate" => K::ErrorRate,
        n if n.starts_with("latency") => K::Latency,
        _ => K::Custom,
    };
    rbtui::core::signals::Signal {
        name: name.into(),
        kind,
        value: Some(value),
        ok: None,
        display: match kind {
            K::Latency => format!("{value:.0} ms"),
            _ => format!("{:.1}%", value * 100.0),
        },
        criterion: Some(criterion.into()),
        breached: false,
        observed_at: t0(),
        error: None,
        pending_secs: None,
        clear_secs,
        history: vec![],
    }
}

/// search rolled back with its own readings laid over the demo's.
fn verify_with(signals: Vec<rbtui::core::signals::Signal>) -> rbtui::app::script::Script {
    let clock = rbtui::backend::clock::ManualClock::new(t0());
    let demo: std::sync::Arc<dyn rbtui::backend::Backend> = std::sync::Arc::new(
        rbtui::backend::demo::DemoBackend::builtin(std::sync::Arc::new(clock.clone())),
    );
    let b = std::sync::Arc::new(Readings {
        inner: demo,
        target: "search",
        signals,
    });
    let state = rbtui::core::state::State::new(
        settings(Mode::Demo, "n.md"),
        rbtui::runbook::load_all(None).unwrap(),
        t0(),
    );
    let mut s = rbtui::app::script::Script::new(state, b, clock, None);
    s.start();
    roll_back(&mut s, "search", "17");
    s
}

/// The target's own criteria judge the recovery, not the default
/// thresholds: still at 3 % / 400 ms against `> 2 % for 1m` and
/// `> 300ms for 1m` is not recovered (the default 5 % / 500 ms would
/// have called it so).
#[test]
fn recovery_is_judged_by_the_targets_own_criteria() {
    let s = verify_with(vec![
        reading("error_rate", 0.03, "> 2% for 1m", None),
        reading("latency_p95", 400.0, "> 300ms for 1m", None),
    ]);
    let all = s.recorded.join("\n");
    assert!(!all.contains("**recovered**"), "{all}");
    let nr = s
        .recorded
        .iter()
        .find(|r| r.contains("**not-recovered**"))
        .unwrap();
    assert!(
        nr.contains("error_rate 3.0% (criterion `> 2% for 1m`)"),
        "{nr}"
    );
    assert!(
        nr.contains("latency_p95 400 ms (criterion `> 300ms for 1m`)"),
        "{nr}"
    );
    assert!(!s.state.checklist("search").unwrap().contains_key("metrics"));
}

/// A criterion met only just now has not held for its window: not yet.
/// Held for the whole window: recovered, each criterion named in the proof.
#[test]
fn a_recovery_must_hold_for_the_criterions_window() {
    let s = verify_with(vec![reading("error_rate", 0.01, "> 2% for 1m", Some(20))]);
    let nr = s
        .recorded
        .iter()
        .find(|r| r.contains("**not-recovered**"))
        .unwrap();
    assert!(nr.contains("clear of `> 2% for 1m` for 20s of 1m"), "{nr}");
    let s = verify_with(vec![reading("error_rate", 0.01, "> 2% for 1m", Some(60))]);
    let rec = s
        .recorded
        .iter()
        .find(|r| r.contains("**recovered**"))
        .unwrap();
    assert!(
        rec.contains("error_rate 1.0% (clear of `> 2% for 1m` for 1m)"),
        "{rec}"
    );
}

/// A target whose only metric is a named query is judged by it: 20 % on
/// `checkout_errors > 5%` is not recovered, whatever the demo's simulated
/// 5xx says; a ratio that is +Inf (every request failing) is never OK.
#[test]
fn a_named_query_judges_the_recovery_and_a_non_finite_value_is_never_healthy() {
    let s = verify_with(vec![reading("checkout_errors", 0.2, "> 5%", Some(0))]);
    let nr = s
        .recorded
        .iter()
        .find(|r| r.contains("**not-recovered**"))
        .unwrap();
    assert!(
        nr.contains("checkout_errors 20.0% (criterion `> 5%`)"),
        "{nr}"
    );
    let mut h = s.state.health("search").unwrap().clone();
    let mut inf = reading("failed_per_success", f64::INFINITY, "> 0.5", None);
    inf.display = "+Inf (a division by zero, or beyond the largest bucket)".into();
    inf.observed_at = h.observed_at;
    h.signals = vec![inf];
    let v = rbtui::core::verdict::evaluate(&h, &Default::default(), h.observed_at);
    assert_ne!(v.severity, Severity::Ok, "{:?}", v.reasons);
    assert!(
        v.reasons
            .iter()
            .any(|r| r.contains("failed_per_success") && r.contains("+Inf")),
        "{:?}",
        v.reasons
    );
    let r = rbtui::core::verdict::recovered(&h, &Default::default(), h.observed_at);
    assert!(
        matches!(r, rbtui::core::verdict::Recovery::NotYet(ref w) if w.contains("never healthy")),
        "{r:?}"
    );
}

/// A healthy member rolled back with its group has no revert to do: its
/// end-of-session checklist says so instead of leaving it open (and the
/// postmortem makes no action item of it).
#[test]
fn a_healthy_group_member_has_no_revert_left_open() {
    let dir = tempfile::tempdir().unwrap();
    let note = dir.path().join("n.md");
    let (mut s, _b) = demo(Mode::Demo, Some(&note));
    roll_back_shop(&mut s);
    s.press("<Esc><Esc>q");
    let text = note_text(&note);
    let payments: String = text
        .lines()
        .skip_while(|l| !l.contains("payments — Docker Swarm service rollback:"))
        .take(14)
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        payments.contains("[-] Revert or fix forward on main")
            && payments.contains("does not apply"),
        "{payments}"
    );
    assert!(
        text.contains("[ ] Revert the bad change (d8f3c2a) in git"),
        "checkout's stays open"
    );
}
