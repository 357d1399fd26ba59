//! Evidence of the failure, saved before it is gone: on the demo, when a
//! target is critical at start and again before its rollback's first step,
//! written beside the note, linked from it, and ticking the runbook step.
#![allow(clippy::unwrap_used)] // a failed unwrap in a test is a failed test

mod common;

use common::*;
use rbtui::core::model::Mode;
use rbtui::core::state::Outcome;

#[test]
fn crash_logs_are_saved_beside_the_note_before_the_rollback_replaces_them() {
    let dir = tempfile::tempdir().unwrap();
    let note = dir.path().join("INC-7.md");
    let (mut s, _b) = demo_with(Mode::Demo, Some(&note), |st| st.save_evidence = true);
    let ev = dir.path().join("INC-7.md.evidence");
    // checkout is crash-looping at start: saved at once, and only once.
    let at_start: Vec<String> = std::fs::read_dir(&ev)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .collect();
    assert!(
        at_start.iter().any(
            |f| f.starts_with("030000-checkout-logs-checkout-") && f.ends_with("-previous.log")
        ),
        "{at_start:?}"
    );
    assert!(
        at_start.iter().all(|f| f.contains("-checkout-")),
        "only the critical target: {at_start:?}"
    );
    let crashed = at_start
        .iter()
        .find(|f| f.ends_with("-previous.log"))
        .unwrap();
    let log = std::fs::read_to_string(ev.join(crashed)).unwrap();
    assert!(log.contains("FATAL cannot start"), "{log}");
    s.advance(10_000);
    assert_eq!(
        std::fs::read_dir(&ev).unwrap().count(),
        at_start.len(),
        "not again while still critical"
    );

    // The rollback waits for its evidence: the note has the files before step 1.
    plan_to(&mut s, "checkout", "8");
    s.press("<Enter>checkout<Enter>");
    let saved = s
        .recorded
        .iter()
        .position(|r| r.contains("saved what the failing revision left (before the rollback)"))
        .expect("saved before the rollback");
    let step1 = s
        .recorded
        .iter()
        .position(|r| r.contains("**action** `checkout` — step 1"))
        .expect("step 1 ran");
    assert!(saved < step1, "evidence first, then the rollback");
    let entry = &s.recorded[saved];
    assert!(
        entry.contains("evidence: [031") || entry.contains("evidence: [030"),
        "{entry}"
    );
    assert!(
        entry.contains("](INC-7.md.evidence/"),
        "linked relative to the note: {entry}"
    );
    // The runbook step is ticked with the files' names.
    let tick = s
        .state
        .checklist("checkout")
        .unwrap()
        .get("save-logs")
        .cloned()
        .unwrap();
    assert!(
        tick.auto
            && tick
                .evidence
                .as_deref()
                .unwrap()
                .contains("-checkout-pods.txt"),
        "{tick:?}"
    );
    assert!(s.advance_until(120_000, |st| {
        st.runs.last().is_some_and(|r| r.outcome().is_some())
    }));
    assert_eq!(
        s.state.runs.last().unwrap().outcome(),
        Some(Outcome::Succeeded)
    );
    // The export lists every file as evidence.
    let text = std::fs::read_to_string(&note).unwrap();
    let x = rbtui::note::export::read(&text);
    let files: Vec<&String> = x.entries.iter().flat_map(|e| e.evidence.iter()).collect();
    assert!(files.len() >= 4, "{files:?}");
    assert!(
        files.iter().all(|f| dir.path().join(f).exists()),
        "{files:?}"
    );
}

#[test]
fn without_a_note_folder_to_write_to_the_rollback_still_runs_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let note = dir.path().join("INC-8.md");
    let (mut s, _b) = demo_with(Mode::Demo, Some(&note), |st| st.save_evidence = true);
    // The evidence folder cannot be created: a file is in its way.
    let ev = dir.path().join("INC-8.md.evidence");
    std::fs::remove_dir_all(&ev).unwrap();
    std::fs::write(&ev, "not a folder").unwrap();
    // checkout is failing (a healthy target has no failure to keep).
    plan_to(&mut s, "checkout", "8");
    s.press("<Enter>checkout<Enter>");
    let not_saved = s
        .recorded
        .iter()
        .position(|r| r.contains("evidence NOT saved (before the rollback): writing it failed"))
        .unwrap_or_else(|| panic!("{}", s.recorded.join("")));
    let step1 = s
        .recorded
        .iter()
        .position(|r| r.contains("**action** `checkout` — step 1"))
        .expect("the rollback goes on");
    assert!(not_saved < step1);
    assert!(s.advance_until(120_000, |st| {
        st.runs.last().is_some_and(|r| r.outcome().is_some())
    }));
    // The save at critical (before the folder was blocked) is the only
    // proof the tick holds; the failed one added none.
    let tick = s
        .state
        .checklist("checkout")
        .unwrap()
        .get("save-logs")
        .cloned()
        .unwrap();
    assert!(tick.at == t0(), "ticked by the save at critical, {tick:?}");
}

/// A fleet-wide outage: eight targets critical at once. Their evidence is
/// read a few per health update, prod first, not as one burst of log reads
/// against a struggling API server; every one is saved in the end.
#[test]
fn many_critical_targets_are_saved_a_few_at_a_time() {
    use rbtui::app::script::Script;
    use rbtui::backend::clock::ManualClock;
    use rbtui::backend::demo::DemoBackend;
    use std::sync::Arc;
    let dir = tempfile::tempdir().unwrap();
    let note = dir.path().join("INC-9.md");
    let clock = ManualClock::new(t0());
    let backend = Arc::new(DemoBackend::synthetic(400, 3, Arc::new(clock.clone())));
    let path = note.display().to_string();
    let writer = rbtui::note::NoteWriter::open(&note, &header(Mode::Demo, &path), "\n").unwrap();
    let mut settings = settings(Mode::Demo, &path);
    settings.save_evidence = true;
    let state =
        rbtui::core::state::State::new(settings, rbtui::runbook::load_all(None).unwrap(), t0());
    let mut s = Script::new(state, backend, clock, Some(writer));
    s.start();
    let saved = |s: &Script| {
        s.recorded
            .iter()
            .filter(|r| r.contains("saved what the failing revision left (it turned critical)"))
            .count()
    };
    let critical = s
        .state
        .table
        .values()
        .filter(|r| {
            r.verdict
                .as_ref()
                .is_some_and(|v| v.severity == rbtui::core::verdict::Severity::Critical)
        })
        .count();
    assert_eq!(critical, 8);
    assert_eq!(saved(&s), 3, "a few on the first update");
    s.advance(120_000);
    assert_eq!(saved(&s), 8, "the rest on later updates, each once");
}
