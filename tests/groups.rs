//! Several targets rolled back together on the demo, keys only: one plan
//! with a section per target, one confirm, the order kept, a failure or a
//! stale target stopping what has not started, and one before/after table.
#![allow(clippy::unwrap_used)] // a failed unwrap in a test is a failed test

mod common;

use common::*;
use rbtui::app::script::Script;
use rbtui::backend::demo::DemoBackend;
use rbtui::backend::demo::scenario::Failure;
use rbtui::core::group::{GroupDef, MemberState, Order};
use rbtui::core::model::Mode;
use rbtui::core::state::{Outcome, Popup};
use std::sync::Arc;

fn with_group(name: &str, targets: &[&str], order: Order) -> (Script, Arc<DemoBackend>) {
    let (mut s, b) = demo(Mode::Demo, None);
    s.state.settings.groups = vec![GroupDef {
        name: name.into(),
        targets: targets.iter().map(|t| t.to_string()).collect(),
        order,
    }];
    (s, b)
}

/// Presses R on the first member and waits for every member's plan.
fn plan_group(s: &mut Script, first: &str) {
    select(s, first);
    s.press("R");
    assert_eq!(
        s.state.view.popup,
        Some(Popup::GroupPlan),
        "{:?}",
        s.state.flash
    );
    assert!(s.advance_until(5_000, |st| {
        st.group
            .as_ref()
            .is_some_and(|g| g.read() && !g.plans.iter().any(|p| p.pending()))
    }));
}

fn index_of(s: &Script, needle: &str) -> usize {
    s.recorded
        .iter()
        .position(|r| r.contains(needle))
        .unwrap_or_else(|| panic!("no entry with {needle:?} in:\n{}", s.recorded.join("")))
}

fn member(s: &Script, target: &str) -> MemberState {
    let g = s.state.group.as_ref().unwrap();
    let p = g.plans.iter().find(|p| p.target.name == target).unwrap();
    s.state.member_state(p.id)
}

#[test]
fn a_prod_group_is_planned_per_target_confirmed_once_by_its_name_and_run_in_order() {
    let (mut s, _b) = with_group(
        "shop",
        &["checkout", "orders", "payments"],
        Order::Sequential,
    );
    plan_group(&mut s, "checkout");
    let g = s.state.group.clone().unwrap();
    let names: Vec<&str> = g.ordered().iter().map(|p| p.target.name.as_str()).collect();
    assert_eq!(names, ["checkout", "orders", "payments"]);
    // Each section is its own plan with its own checks: orders' schema
    // check blocks (a dropped column), so the group needs a reason.
    assert!(
        g.plans
            .iter()
            .all(|p| p.checks.iter().any(|c| c.id == "schema"))
    );
    assert!(g.needs_typed_name() && g.needs_override());

    s.press("<Enter>");
    assert!(matches!(s.state.view.popup, Some(Popup::GroupConfirm(_))));
    // A target's name is not the group's: nothing starts.
    s.press("checkout<Tab>dropped column is unused since 41<Enter>");
    assert!(s.state.runs.is_empty(), "a wrong name starts nothing");
    let Some(Popup::GroupConfirm(f)) = &s.state.view.popup else {
        panic!("still confirming")
    };
    assert!(
        f.error.as_deref().unwrap().contains("`shop`"),
        "{:?}",
        f.error
    );
    // The cursor is back on the name.
    for _ in 0.."checkout".len() {
        s.press("<Backspace>");
    }
    s.press("shop<Enter>");
    assert!(s.state.in_flight(), "{:?}", s.state.flash);
    // Sequential: only the first member runs.
    assert_eq!(s.state.runs.len(), 1);
    assert_eq!(member(&s, "orders"), MemberState::NotStarted);

    assert!(s.advance_until(600_000, |st| st.group.as_ref().is_some_and(|g| g.reported)));
    for t in ["checkout", "orders", "payments"] {
        assert_eq!(member(&s, t), MemberState::Succeeded, "{t}");
    }
    // One confirm entry for the whole group, recorded before any step.
    let confirm = index_of(
        &s,
        "group shop (3 targets, sequential) → lkg confirmed by oncall",
    );
    assert!(s.recorded[confirm].contains("typed group name: shop"));
    assert!(s.recorded[confirm].contains("OVERRIDE of BLOCK `schema`"));
    // The next target starts only once the one before it is verified.
    let checkout_done = index_of(&s, "**done** `checkout`");
    let orders_first = index_of(&s, "**action** `orders`");
    let orders_done = index_of(&s, "**done** `orders`");
    let payments_first = index_of(&s, "**action** `payments`");
    assert!(
        confirm < checkout_done && checkout_done < orders_first,
        "order kept"
    );
    assert!(orders_done < payments_first, "order kept");
    // One before/after table for the group.
    let table = index_of(&s, "group shop ended: 3 of 3 rolled back");
    let t = &s.recorded[table];
    assert!(
        t.contains("| target | from → to | before | after | result |"),
        "{t}"
    );
    assert!(t.contains("| checkout | 9 → 8 |"), "{t}");
    assert!(t.contains("| orders | 42 → 41 |"), "{t}");
    assert_eq!(
        t.matches("| verified |").count() + t.matches("NOT PROVEN").count(),
        3,
        "{t}"
    );
}

#[test]
fn a_failed_member_stops_the_members_not_started_and_says_what_did_not_run() {
    let (mut s, b) = demo(Mode::Demo, None);
    // Marked in Health: checkout and search, rolled back top to bottom.
    select(&mut s, "checkout");
    s.press("<Space>");
    select(&mut s, "search");
    s.press("<Space>");
    assert_eq!(s.state.view.marked.len(), 2);
    // A filter that hides one of them does not drop it from the group.
    s.press("/checkout<Enter>");
    s.press("R");
    assert_eq!(
        s.state.group.as_ref().unwrap().members,
        ["checkout", "search"]
    );
    assert!(s.advance_until(5_000, |st| {
        st.group
            .as_ref()
            .is_some_and(|g| g.read() && !g.plans.iter().any(|p| p.pending()))
    }));
    // checkout's last known good (8) goes bad the way 6 did, unseen.
    b.with_world(|w, _| {
        let svc = w.service_mut("checkout").unwrap();
        svc.revs.iter_mut().find(|r| r.id == 8).unwrap().failure = Some(Failure::Crashloop);
    });
    s.press("<Enter>marked<Enter>");
    assert!(s.state.in_flight(), "{:?}", s.state.flash);
    assert!(
        s.state.view.marked.is_empty(),
        "the marks are spent by the confirm"
    );
    assert!(s.advance_until(900_000, |st| st.group.as_ref().is_some_and(|g| g.reported)));
    assert!(matches!(member(&s, "checkout"), MemberState::Failed(_)));
    assert_eq!(member(&s, "search"), MemberState::NotStarted);
    let stopped = index_of(&s, "not started: the group stopped because checkout failed");
    assert!(
        s.recorded[stopped].contains("NOT run: step 1"),
        "{}",
        s.recorded[stopped]
    );
    b.with_world(|w, _| {
        assert_eq!(
            w.service("search").unwrap().revs[w.service("search").unwrap().current].id,
            18,
            "search untouched"
        );
    });
    let end = index_of(
        &s,
        "group marked ended: 0 of 2 rolled back; stopped because checkout failed",
    );
    assert!(
        s.recorded[end].contains("| search | 18 →"),
        "{}",
        s.recorded[end]
    );
    assert!(
        s.recorded[end].contains("NOT started"),
        "{}",
        s.recorded[end]
    );
}

#[test]
fn continue_on_failure_lets_the_others_finish_in_parallel() {
    let (mut s, b) = with_group("two", &["checkout", "search"], Order::Parallel);
    plan_group(&mut s, "checkout");
    b.with_world(|w, _| {
        let svc = w.service_mut("checkout").unwrap();
        svc.revs.iter_mut().find(|r| r.id == 8).unwrap().failure = Some(Failure::Crashloop);
    });
    s.press("f");
    assert!(s.state.group.as_ref().unwrap().continue_on_failure);
    s.press("<Enter>two<Enter>");
    // Parallel: both start at once.
    assert_eq!(s.state.runs.iter().filter(|r| r.in_flight()).count(), 2);
    let confirm = index_of(&s, "confirmed by oncall");
    assert!(s.recorded[confirm].contains("continue with the other targets (confirmed)"));
    assert!(s.advance_until(900_000, |st| st.group.as_ref().is_some_and(|g| g.reported)));
    assert!(matches!(member(&s, "checkout"), MemberState::Failed(_)));
    assert_eq!(member(&s, "search"), MemberState::Succeeded);
    index_of(&s, "group two ended: 1 of 2 rolled back");
}

#[test]
fn a_member_changed_behind_the_confirm_is_refused_as_stale_and_stops_the_rest() {
    let (mut s, b) = with_group(
        "shop",
        &["search", "checkout", "catalog"],
        Order::Sequential,
    );
    plan_group(&mut s, "search");
    s.press("<Enter>shop<Enter>");
    assert!(s.state.in_flight(), "{:?}", s.state.flash);
    // Someone deploys checkout while search rolls back.
    b.with_world(|w, _| w.service_mut("checkout").unwrap().version += 1);
    assert!(s.advance_until(600_000, |st| st.group.as_ref().is_some_and(|g| g.reported)));
    assert_eq!(member(&s, "search"), MemberState::Succeeded);
    let MemberState::Failed(why) = member(&s, "checkout") else {
        panic!("checkout must be refused")
    };
    assert!(why.contains("not applied"), "{why}");
    assert_eq!(member(&s, "catalog"), MemberState::NotStarted);
    // Not rebuilt behind the operator's back: the group is re-planned by hand.
    assert!(s.state.plan.is_none());
    b.with_world(|w, _| {
        let c = w.service("checkout").unwrap();
        assert_eq!(c.revs[c.current].id, 9, "checkout untouched");
    });
    let runs: Vec<_> = s.state.runs.iter().map(|r| r.outcome()).collect();
    assert!(
        matches!(
            runs[..],
            [Some(Outcome::Succeeded), Some(Outcome::Failed(_))]
        ),
        "{runs:?}"
    );
}

#[test]
fn in_parallel_a_failure_stops_the_others_before_their_next_step() {
    let (mut s, b) = with_group("two", &["checkout", "search"], Order::Parallel);
    plan_group(&mut s, "checkout");
    // checkout is deployed by someone else: its step is refused as stale
    // at once, while search's rollback is under way.
    b.with_world(|w, _| w.service_mut("checkout").unwrap().version += 1);
    s.press("<Enter>two<Enter>");
    assert!(s.advance_until(900_000, |st| st.group.as_ref().is_some_and(|g| g.reported)));
    assert!(matches!(member(&s, "checkout"), MemberState::Failed(_)));
    // search had started: whatever step it was in was followed to its end,
    // and nothing after it started.
    let MemberState::Failed(why) = member(&s, "search") else {
        panic!("search stops: {:?}", member(&s, "search"))
    };
    assert!(why.contains("its group stopped: checkout failed"), "{why}");
    index_of(&s, "ran: step 1 Roll back deployment search");
    let end = index_of(
        &s,
        "group two ended: 0 of 2 rolled back; stopped because checkout failed",
    );
    assert!(
        s.recorded[end].contains("| search |"),
        "{}",
        s.recorded[end]
    );
}

/// Rehearsal never touches prod, in a group too: a group with a prod
/// member is planned, shown, and refused as a whole; nothing starts.
#[test]
fn a_rehearsal_refuses_a_group_with_a_prod_member() {
    let (mut s, b) = demo(Mode::Rehearsal, None);
    s.state.settings.groups = vec![GroupDef {
        name: "mixed".into(),
        targets: vec!["search".into(), "checkout".into()],
        order: Order::Sequential,
    }];
    plan_group(&mut s, "search");
    let why = s.state.group.as_ref().unwrap().not_confirmable().unwrap();
    assert!(
        why.starts_with("checkout: refused: rehearsal mode never touches prod"),
        "{why}"
    );
    s.press("<Enter>");
    assert!(
        !matches!(s.state.view.popup, Some(Popup::GroupConfirm(_))),
        "no confirm to type into"
    );
    assert!(s.state.runs.is_empty());
    index_of(&s, "group mixed not executed: checkout: refused");
    b.with_world(|w, _| {
        let c = w.service("search").unwrap();
        assert_eq!(
            c.revs[c.current].id, 18,
            "staging untouched too: the group is one plan"
        );
    });
}
