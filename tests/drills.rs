//! A drill with injected faults on the demo (`--drill bad-fallback`): the
//! platform refuses the first mutation, the API goes away after the
//! rollback is sent, and the fallback's rollout fails. The note's drill
//! report says which fault was met where and what the operator did next.

mod common;

use common::*;
use rbtui::backend::Backend;
use rbtui::backend::clock::ManualClock;
use rbtui::backend::demo::DemoBackend;
use rbtui::backend::drill_faults::{DrillFaults, load};
use rbtui::core::model::Mode;
use rbtui::core::state::State;
use std::sync::Arc;

#[test]
fn a_drill_with_three_faults_reports_where_each_was_met() {
    let dir = tempfile::tempdir().unwrap();
    let note_path = dir.path().join("n.md");
    let spec = load(None, "bad-fallback").unwrap();
    let clock = ManualClock::new(t0());
    let demo: Arc<dyn Backend> = Arc::new(DemoBackend::builtin(Arc::new(clock.clone())));
    let b: Arc<dyn Backend> = Arc::new(DrillFaults::new(
        demo,
        spec.faults.clone(),
        Arc::new(clock.clone()),
    ));
    let mut settings = settings(Mode::Demo, "n.md");
    settings.drill = Some((
        spec.title.clone(),
        spec.faults
            .iter()
            .map(|f| (f.describe(), f.needle()))
            .collect(),
    ));
    let writer =
        rbtui::note::NoteWriter::open(&note_path, &header(Mode::Demo, "n.md"), "").unwrap();
    let state = State::new(settings, rbtui::runbook::load_all(None).unwrap(), t0());
    let mut s = rbtui::app::script::Script::new(state, b, clock, Some(writer));
    s.start();
    let confirm = |s: &mut rbtui::app::script::Script| {
        select(s, "checkout");
        s.press("<Enter>");
        let lkg = s
            .state
            .history("checkout")
            .unwrap()
            .last_known_good
            .clone()
            .unwrap();
        plan_to(s, "checkout", &lkg);
        s.press("<Enter>checkout<Enter>");
        assert!(s.advance_until(600_000, |st| {
            st.runs.last().is_some_and(|r| r.outcome().is_some())
        }));
    };
    // 1. The platform refuses the operator's identity.
    confirm(&mut s);
    // 2. Tried again: sent, the API goes away, then the rollout fails.
    s.press("<Esc><Esc>");
    confirm(&mut s);
    s.press("<Esc><Esc>q");
    let note = std::fs::read_to_string(&note_path).unwrap();
    assert!(note.contains("(drill fault: forbidden)"), "{note}");
    assert!(note.contains("(drill fault: api_down"), "{note}");
    assert!(note.contains("(drill fault: rollout_fails)"), "{note}");
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
        "met       checkout: the first mutation answers 403",
        "met       checkout: the first rollback's rollout fails",
        "met       checkout: the API is unreachable for 20 s",
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
