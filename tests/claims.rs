//! Every automatic tick holds the fact that proves it; without that fact
//! the step stays open and the note says "not checked" and why.
#![allow(clippy::unwrap_used)] // a failed unwrap in a test is a failed test

mod common;

use common::*;
use rbtui::core::action::Action;
use rbtui::core::model::Mode;

fn ticked(s: &rbtui::app::script::Script, target: &str, step: &str) -> bool {
    s.state
        .checklist(target)
        .is_some_and(|c| c.contains_key(step))
}

#[test]
fn a_revision_that_is_only_picked_is_not_the_last_known_good() {
    let dir = tempfile::tempdir().unwrap();
    let note = dir.path().join("n.md");
    let (mut s, _b) = demo(Mode::Demo, Some(&note));
    select(&mut s, "notifications");
    s.press("<Enter>");
    let h = s.state.history("notifications").unwrap().clone();
    // Pick a revision that is not the last known good one.
    let pick = h
        .revisions
        .iter()
        .find(|r| !r.current && h.last_known_good.as_deref() != Some(r.id.as_str()))
        .expect("a non-LKG revision")
        .id
        .clone();
    plan_to(&mut s, "notifications", &pick);
    assert!(
        !ticked(&s, "notifications", "history"),
        "a pick is no proof"
    );
    let text = std::fs::read_to_string(&note).unwrap();
    assert!(
        text.contains("☐ Found the last known good history id: not checked —"),
        "{text}"
    );
}

#[test]
fn drafting_a_status_message_is_not_posting_it() {
    let (mut s, _b) = demo(Mode::Demo, None);
    select(&mut s, "orders");
    s.press("s");
    assert!(
        !s.recorded
            .iter()
            .any(|e| e.contains("status message drafted")),
        "nothing is recorded while the draft is open"
    );
    s.press("<Esc>");
    assert!(
        s.recorded
            .iter()
            .any(|e| e.contains("status message drafted"))
    );
    assert!(!ticked(&s, "orders", "communicate"), "drafted, not posted");
}

/// One template per moment: a critical prod target before any rollback
/// gets the P0 message; the operator can switch to another, and "resolved"
/// says NOT RESOLVED while no verified recovery backs it. The draft kept
/// is recorded once, when the popup closes (switching templates records
/// nothing), and none is marked posted.
#[test]
fn status_templates_fit_the_moment_and_resolved_needs_a_verified_recovery() {
    let (mut s, _b) = demo(Mode::Demo, None);
    select(&mut s, "checkout");
    s.press("s");
    let text = match &s.state.view.popup {
        Some(rbtui::core::state::Popup::Status(w, t)) => {
            assert_eq!(*w, rbtui::core::status::Comms::P0);
            t.clone()
        }
        p => panic!("{p:?}"),
    };
    assert!(text.starts_with("🔴 P0 — checkout (prod)"), "{text}");
    assert!(text.contains("Impact: critical"), "{text}");
    assert!(
        text.contains("bad deploy 9 at "),
        "the running revision is the suspect: {text}"
    );
    s.press("r");
    let text = match &s.state.view.popup {
        Some(rbtui::core::state::Popup::Status(_, t)) => t.clone(),
        p => panic!("{p:?}"),
    };
    assert!(
        text.starts_with("⚠ NOT RESOLVED (no rollback executed)"),
        "{text}"
    );
    s.press("01u<Enter>");
    let drafted: Vec<&String> = s
        .recorded
        .iter()
        .filter(|e| e.contains("status message drafted"))
        .collect();
    assert_eq!(
        drafted.len(),
        1,
        "one entry for the draft kept: {drafted:?}"
    );
    assert!(drafted[0].contains("(update, covering"), "{}", drafted[0]);
    assert!(
        !ticked(&s, "checkout", "communicate"),
        "drafted, not posted"
    );
}

#[test]
fn an_unreachable_context_is_not_verified_at_confirm() {
    let dir = tempfile::tempdir().unwrap();
    let note = dir.path().join("n.md");
    let (mut s, _b) = demo(Mode::Demo, Some(&note));
    select(&mut s, "search");
    s.press("<Enter>");
    let prev = s
        .state
        .history("search")
        .unwrap()
        .previous()
        .unwrap()
        .id
        .clone();
    plan_to(&mut s, "search", &prev);
    s.dispatch(Action::HealthFailed {
        target: "search".into(),
        error: rbtui::core::error::BackendError::Unreachable("connection refused".into()),
    });
    s.press("<Enter>");
    if s.state.plan.as_ref().is_some_and(|p| p.needs_override()) {
        s.press("drill override reason<Enter>");
    } else {
        s.press("<Enter>");
    }
    assert!(
        !s.state.runs.is_empty(),
        "confirmed; flash {:?}",
        s.state.flash
    );
    assert!(!ticked(&s, "search", "verify-cluster"));
    let text = std::fs::read_to_string(&note).unwrap();
    assert!(
        text.contains("not checked — the last read of search failed: connection refused"),
        "{text}"
    );
}

/// After the rollback converged and its verification recovered, the
/// resolved message may say RESOLVED, with what proves it.
#[test]
fn resolved_says_resolved_only_after_a_verified_recovery() {
    let (mut s, _b) = demo(Mode::Demo, None);
    plan_to(&mut s, "checkout", "8");
    s.press("<Enter>checkout<Enter>");
    s.press("sr");
    let text = match &s.state.view.popup {
        Some(rbtui::core::state::Popup::Status(_, t)) => t.clone(),
        p => panic!("{p:?}"),
    };
    assert!(
        text.starts_with("⚠ NOT RESOLVED (recovery not verified)"),
        "{text}"
    );
    s.press("<Esc>");
    assert!(s.advance_until(120_000, |st| {
        st.runs.last().is_some_and(|r| r.outcome().is_some())
    }));
    s.press("s");
    assert!(
        matches!(
            s.state.view.popup,
            Some(rbtui::core::state::Popup::Status(
                rbtui::core::status::Comms::Update,
                _
            ))
        ),
        "declaring it resolved is the operator's call"
    );
    s.press("r");
    let text = match &s.state.view.popup {
        Some(rbtui::core::state::Popup::Status(_, t)) => t.clone(),
        p => panic!("{p:?}"),
    };
    assert!(text.starts_with("✅ RESOLVED — checkout (prod)"), "{text}");
    assert!(text.contains("Rolled back 9 → 8"), "{text}");
    assert!(text.contains("Recovery: verified recovered"), "{text}");
}

/// `P` in the console drafts the postmortem from the note on disk, beside
/// it, and records where; a second press never overwrites the first draft.
#[test]
fn the_console_writes_a_postmortem_draft_beside_the_note() {
    let dir = tempfile::tempdir().unwrap();
    let note = dir.path().join("n.md");
    let (mut s, _b) = demo(Mode::Demo, Some(&note));
    select(&mut s, "checkout");
    s.press("s<Esc>P");
    s.run_ready();
    let draft = dir.path().join("n.postmortem.md");
    let d = std::fs::read_to_string(&draft).expect("draft written");
    assert!(d.contains("# Postmortem draft — INC-7"), "{d}");
    assert!(d.contains("the session has not ended"), "{d}");
    assert!(
        s.recorded
            .iter()
            .any(|e| e.contains("postmortem draft written to") && e.contains("n.postmortem.md"))
    );
    s.press("P");
    s.run_ready();
    assert!(
        s.recorded
            .iter()
            .any(|e| e.contains("postmortem draft not written"))
    );
    assert_eq!(std::fs::read_to_string(&draft).unwrap(), d);
}
