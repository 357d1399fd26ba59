//! A drill with injected faults on the demo (`--drill bad-fallback`): the
//! platform refuses the first mutation, the API goes away after the
//! rollback is sent, and the fallback's rollout fails. The note's drill
//! report says which fault was met where and what the operator did next.
#![allow(clippy::unwrap_used)] // a failed unwrap in a test is a failed test

mod common;

use common::*;
use rbtui::backend::Backend;
use rbtui::backend::clock::ManualClock;
use rbtui::backend::demo::DemoBackend;
use rbtui::backend::drill_faults::{DrillFaults, load};
use rbtui::core::model::Mode;
use rbtui::core::state::State;
use std::sync::Arc;

/// A script on the demo with the named drill's faults, in `mode`.
fn drill(
    name: &str,
    mode: Mode,
    note_path: &std::path::Path,
    quota: Option<Arc<std::sync::atomic::AtomicU64>>,
) -> rbtui::app::script::Script {
    let spec = load(None, name).unwrap();
    let clock = ManualClock::new(t0());
    let demo: Arc<dyn Backend> = Arc::new(DemoBackend::builtin(Arc::new(clock.clone())));
    let mut layer = DrillFaults::new(demo, spec.faults.clone(), Arc::new(clock.clone()));
    if let Some(q) = &quota {
        layer = layer.with_quota(q.clone());
    }
    let b: Arc<dyn Backend> = Arc::new(layer);
    let mut settings = settings(mode, "n.md");
    settings.drill = Some(rbtui::core::settings::Drill {
        title: spec.title.clone(),
        faults: spec
            .faults
            .iter()
            .map(|f| rbtui::core::settings::DrillFault {
                what: f.effect(),
                needle: f.needle(),
                target: f.target().map(str::to_string),
            })
            .collect(),
    });
    let writer = rbtui::note::NoteWriter::open(note_path, &header(mode, "n.md"), "").unwrap();
    let writer = match quota {
        None => writer,
        Some(q) => {
            drop(writer);
            let file = std::fs::OpenOptions::new()
                .read(true)
                .append(true)
                .open(note_path)
                .unwrap();
            rbtui::note::NoteWriter::on(
                Box::new(rbtui::note::quota::Quota::drill(file, q)),
                note_path,
            )
            .unwrap()
        }
    };
    let state = State::new(settings, rbtui::runbook::load_all(None).unwrap(), t0());
    let mut s = rbtui::app::script::Script::new(state, b, clock, Some(writer));
    s.start();
    s
}

/// Plans the target back to its last known good and confirms (staging:
/// Enter; a BLOCK needs a reason), then waits for the run's end.
fn confirm_lkg(s: &mut rbtui::app::script::Script, target: &str) {
    s.press("<Esc><Esc>");
    select(s, target);
    s.press("<Enter>");
    let lkg = s
        .state
        .history(target)
        .unwrap()
        .last_known_good
        .clone()
        .unwrap();
    plan_to(s, target, &lkg);
    s.press("<Enter>");
    if s.state.plan.as_ref().is_some_and(|p| p.needs_override()) {
        s.press("drill: overriding as the runbook says");
    }
    s.press("<Enter>");
    assert!(s.advance_until(600_000, |st| {
        st.runs
            .iter()
            .any(|r| r.plan.target.name == target && !r.in_flight())
            && !st.in_flight()
    }));
}

/// The built-in drill in a rehearsal (which never touches prod): every
/// fault is on a staging target, so all three are met, and at the end the
/// banner, Health and the note agree that the rollout failed.
#[test]
fn a_drill_with_three_faults_reports_where_each_was_met() {
    let dir = tempfile::tempdir().unwrap();
    let note_path = dir.path().join("n.md");
    let mut s = drill("bad-fallback", Mode::Rehearsal, &note_path, None);
    assert!(
        !s.recorded.iter().any(|r| r.contains("cannot be met")),
        "every fault is reachable in a rehearsal"
    );
    // 1. The platform refuses the operator's identity.
    confirm_lkg(&mut s, "search");
    // 2. Tried again: sent, the API goes away, then the rollout fails.
    confirm_lkg(&mut s, "search");
    s.advance(5_000);
    let run = s
        .state
        .runs
        .iter()
        .rev()
        .find(|r| r.plan.target.name == "search")
        .unwrap();
    assert!(
        matches!(run.outcome(), Some(rbtui::core::state::Outcome::Failed(_))),
        "{:?}",
        run.outcome()
    );
    let v = s.state.verdict("search").unwrap();
    assert_eq!(
        v.severity,
        rbtui::core::verdict::Severity::Critical,
        "Health agrees with the banner: {:?}",
        v.reasons
    );
    s.press("<Esc><Esc>q");
    let note = std::fs::read_to_string(&note_path).unwrap();
    assert!(note.contains("(drill fault: forbidden)"), "{note}");
    assert!(note.contains("(drill fault: api_down"), "{note}");
    assert!(note.contains("(drill fault: rollout_fails)"), "{note}");
    assert!(
        !note.contains("successfully rolled out"),
        "the note never calls the failed rollout a success"
    );
    let report: Vec<&str> = note
        .lines()
        .skip_while(|l| !l.contains("drill faults: which were met"))
        .take(5)
        .collect();
    let report = report.join("\n");
    assert!(
        report.contains("drill: The fallback is bad too, and the API blinks"),
        "{report}"
    );
    for what in [
        "met       search: the first mutation answers 403",
        "met       search: the first rollback's rollout fails",
        "met       search: the API is unreachable for 20 s",
    ] {
        assert!(report.contains(what), "{what}\n{report}");
    }
    // What the operator did after the refusal: planned again.
    assert!(
        report
            .lines()
            .find(|l| l.contains("answers 403"))
            .is_some_and(|l| l.contains("then: ") && l.contains("plan #2")),
        "{report}"
    );
}

/// Auto-sync fights back after the rollback, then the note's disk fills:
/// both faults are met, in that order (the disk no longer fills at the
/// first confirm, before any rollback could be sent).
#[test]
fn auto_sync_fights_then_the_disk_fills_and_both_are_met() {
    let dir = tempfile::tempdir().unwrap();
    let note_path = dir.path().join("n.md");
    let q = Arc::new(std::sync::atomic::AtomicU64::new(u64::MAX));
    let mut s = drill("auto-sync-fights", Mode::Rehearsal, &note_path, Some(q));
    confirm_lkg(&mut s, "notifications");
    s.advance(60_000);
    // The next entry meets the full disk.
    s.press("s<Esc>");
    let seen = |needle: &str| {
        s.state
            .activity
            .iter()
            .position(|r| r.summary.contains(needle))
    };
    let fought = seen("auto-sync was turned back on").expect("auto-sync fault met");
    assert!(
        s.state.note_error.is_some(),
        "the disk filled after the rollback: {:#?}",
        s.state
            .activity
            .iter()
            .map(|r| &r.summary)
            .collect::<Vec<_>>()
    );
    assert!(
        s.state
            .note_error
            .as_ref()
            .unwrap()
            .error
            .contains("No space left on device (os error 28) (drill fault: note_disk_full)"),
        "the simulated gap says it is simulated: {:?}",
        s.state.note_error
    );
    assert!(fought > 0);
}

/// A drill aimed at prod cannot be met in a rehearsal: said at the start,
/// in the note and on screen, not discovered as "not met" at the end.
#[test]
fn a_drill_on_prod_says_at_start_that_a_rehearsal_cannot_meet_it() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("drills");
    std::fs::create_dir_all(&cfg).unwrap();
    std::fs::write(
        cfg.join("prod.toml"),
        "title = \"aimed at prod\"\n[[fault]]\nkind = \"forbidden\"\ntarget = \"checkout\"\n",
    )
    .unwrap();
    let spec = load(Some(dir.path()), "prod").unwrap();
    assert_eq!(spec.faults[0].target(), Some("checkout"));
    let note_path = dir.path().join("n.md");
    let clock = ManualClock::new(t0());
    let demo: Arc<dyn Backend> = Arc::new(DemoBackend::builtin(Arc::new(clock.clone())));
    let mut settings = settings(Mode::Rehearsal, "n.md");
    settings.drill = Some(rbtui::core::settings::Drill {
        title: spec.title.clone(),
        faults: spec
            .faults
            .iter()
            .map(|f| rbtui::core::settings::DrillFault {
                what: f.effect(),
                needle: f.needle(),
                target: f.target().map(str::to_string),
            })
            .collect(),
    });
    let writer =
        rbtui::note::NoteWriter::open(&note_path, &header(Mode::Rehearsal, "n.md"), "").unwrap();
    let state = State::new(settings, rbtui::runbook::load_all(None).unwrap(), t0());
    let mut s = rbtui::app::script::Script::new(state, demo, clock, Some(writer));
    s.start();
    let said = s
        .recorded
        .iter()
        .find(|r| r.contains("of its faults cannot be met"))
        .expect("said at start");
    assert!(
        said.contains("checkout is prod, which a rehearsal never touches"),
        "{said}"
    );
}
