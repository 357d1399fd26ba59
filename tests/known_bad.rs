//! A revision whose image a rollback replaced is known bad: in the same
//! session (after a Swarm rollback the engine's "previous" is the bad spec)
//! and in later ones (read from the note's `deployed` marker). A revision
//! that runs the image running now changes nothing and is blocked too.
#![allow(clippy::unwrap_used)] // a failed unwrap in a test is a failed test

mod common;

use common::*;
use rbtui::backend::Backend;
use rbtui::backend::notes_history::{NotesHistory, read_dir};
use rbtui::core::model::Mode;
use rbtui::core::plan::CheckStatus;

fn roll_back(s: &mut rbtui::app::script::Script, target: &str, to: &str) {
    plan_to(s, target, to);
    s.press("<Enter>");
    let t = s.state.plan.as_ref().unwrap().target.clone();
    if t.is_prod() {
        s.press(&format!("{target}<Enter>"));
    } else {
        s.press("<Enter>");
    }
    assert!(s.state.in_flight(), "{:?}", s.state.flash);
    assert!(s.advance_until(60_000, |st| {
        st.runs.last().is_some_and(|r| r.outcome().is_some())
    }));
}

#[test]
fn the_image_rolled_back_from_is_blocked_in_this_session_and_the_next() {
    let dir = tempfile::tempdir().unwrap();
    let note = dir.path().join("INC-7.md");
    let (mut s, _b) = demo(Mode::Demo, Some(&note));
    select(&mut s, "search");
    s.press("<Enter>");
    let h = s.state.history("search").unwrap().clone();
    let bad = h.current().unwrap().clone();
    let lkg = h.last_known_good.clone().unwrap();
    roll_back(&mut s, "search", &lkg);
    // Back to the revision that ran the bad image: blocked, and why.
    s.press("<Esc><Esc>");
    select(&mut s, "search");
    s.press("<Enter>");
    let again = s
        .state
        .history("search")
        .unwrap()
        .revisions
        .iter()
        .find(|r| {
            !r.current
                && r.images
                    .iter()
                    .any(|i| bad.images.iter().any(|b| b.same_build(i)))
        })
        .map(|r| r.id.clone())
        .expect("a revision still runs the bad image");
    plan_to(&mut s, "search", &again);
    let c = check(&s, "revision");
    assert_eq!(c.status, CheckStatus::Block, "{}", c.detail);
    assert!(c.overridable);
    assert!(
        c.detail.contains("rolled back from at 03:0"),
        "{}",
        c.detail
    );

    // A later session, on the platform as the rollback left it, reads it
    // from the note.
    let (_fresh, b2) = demo(Mode::Demo, None);
    b2.with_world(|w, now| w.service_mut("search").unwrap().rollback(&lkg, now))
        .unwrap();
    let nh = NotesHistory::new(b2.clone(), read_dir(dir.path(), std::path::Path::new("")));
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(nh.targets()).unwrap();
    let h2 = rt.block_on(nh.history("search")).unwrap();
    assert!(
        h2.known_bad.iter().any(|id| {
            h2.find(id).is_some_and(|r| {
                r.images
                    .iter()
                    .any(|i| bad.images.iter().any(|b| b.same_build(i)))
            })
        }),
        "known bad: {:?}",
        h2.known_bad
    );
}

#[test]
fn a_revision_running_the_current_image_changes_nothing_and_is_blocked() {
    let (mut s, _b) = demo(Mode::Demo, None);
    select(&mut s, "catalog");
    s.press("<Enter>");
    // An older entry of a Compose service runs exactly the image running
    // now (a re-tag): recreating on it changes nothing.
    let h = rbtui::core::model::History {
        revisions: {
            let mut r = s.state.history("catalog").unwrap().revisions.clone();
            let mut dup = r.iter().find(|r| r.current).unwrap().clone();
            dup.id = "dup".into();
            dup.current = false;
            r.push(dup);
            r
        },
        ..s.state.history("catalog").unwrap().clone()
    };
    let p = rbtui::core::plan::build(rbtui::core::plan::PlanInputs {
        id: rbtui::core::plan::PlanId(9),
        mode: Mode::Demo,
        rollout_timeout_secs: 60,
        ..rbtui::core::plan::PlanInputs::new(s.state.target("catalog").unwrap(), &h, "dup", t0())
    })
    .unwrap();
    let c = p
        .checks
        .iter()
        .find(|c| c.id == "revision" && c.status == CheckStatus::Block)
        .expect("blocked");
    assert!(c.detail.contains("changes no image"), "{}", c.detail);
    // A Kubernetes revision with the same image restores its whole
    // template (env, args): not blocked for that.
    let (mut s, _b) = demo(Mode::Demo, None);
    select(&mut s, "search");
    s.press("<Enter>");
    let mut hk = s.state.history("search").unwrap().clone();
    let mut dup = hk.current().unwrap().clone();
    dup.id = "99".into();
    dup.current = false;
    hk.revisions.push(dup);
    let p = rbtui::core::plan::build(rbtui::core::plan::PlanInputs {
        id: rbtui::core::plan::PlanId(10),
        mode: Mode::Demo,
        rollout_timeout_secs: 60,
        ..rbtui::core::plan::PlanInputs::new(s.state.target("search").unwrap(), &hk, "99", t0())
    })
    .unwrap();
    assert!(
        !p.checks
            .iter()
            .any(|c| c.detail.contains("changes no image")),
        "{:?}",
        p.checks
    );
}
