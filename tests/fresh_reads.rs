//! Plans and History come from the platform's latest answer: a plan is
//! built from a fresh read, History follows deploys made by others, the
//! selection follows the revision, an older answer never replaces a newer
//! one, and outages are recorded as they happen.
#![allow(clippy::unwrap_used)] // a failed unwrap in a test is a failed test

mod common;

use common::*;
use rbtui::core::action::Action;
use rbtui::core::error::BackendError;
use rbtui::core::model::Mode;

fn current(s: &rbtui::app::script::Script, target: &str) -> String {
    s.state
        .history(target)
        .unwrap()
        .revisions
        .iter()
        .find(|r| r.current)
        .unwrap()
        .id
        .to_string()
}

fn cursor_id(s: &rbtui::app::script::Script, target: &str) -> String {
    s.state.history(target).unwrap().revisions[s.state.view.history_cursor]
        .id
        .to_string()
}

/// Someone else deploys an older revision of `target` (a new history entry).
fn deploy_behind_our_back(b: &rbtui::backend::demo::DemoBackend, target: &str, to: &str) {
    b.with_world(|w, now| w.service_mut(target).unwrap().rollback(to, now))
        .unwrap();
}

#[test]
fn history_follows_a_deploy_made_by_someone_else_and_the_selection_follows_its_revision() {
    let (mut s, b) = demo(Mode::Demo, None);
    select(&mut s, "search");
    s.press("<Enter>");
    let before = current(&s, "search");
    s.press("gj");
    let picked = cursor_id(&s, "search");
    let oldest = s
        .state
        .history("search")
        .unwrap()
        .revisions
        .last()
        .unwrap()
        .id
        .clone();
    deploy_behind_our_back(&b, "search", &oldest);
    // No key press: the next refresh shows the new CURRENT.
    assert!(
        s.advance_until(15_000, |st| {
            st.history("search")
                .unwrap()
                .revisions
                .iter()
                .any(|r| r.current && r.id != before)
        }),
        "History never showed the deploy"
    );
    assert_eq!(cursor_id(&s, "search"), picked, "▶ stays on its revision");
}

#[test]
fn a_plan_is_built_from_a_fresh_read_not_the_cached_history() {
    let (mut s, b) = demo(Mode::Demo, None);
    select(&mut s, "search");
    s.press("<Enter>");
    let cached = current(&s, "search");
    let prev = s
        .state
        .history("search")
        .unwrap()
        .previous()
        .unwrap()
        .id
        .clone();
    let oldest = s
        .state
        .history("search")
        .unwrap()
        .revisions
        .last()
        .unwrap()
        .id
        .clone();
    assert_ne!(prev, oldest);
    let idx = s
        .state
        .history("search")
        .unwrap()
        .revisions
        .iter()
        .position(|r| r.id == prev)
        .unwrap();
    s.press("g");
    for _ in 0..idx {
        s.press("j");
    }
    deploy_behind_our_back(&b, "search", &oldest);
    s.press("<Enter>");
    let plan = s.state.plan.as_ref().expect("plan built");
    assert_ne!(plan.from.id, cached, "the plan came from the cached read");
    assert_eq!(plan.from.id, current(&s, "search"));
}

#[test]
fn a_failed_fresh_read_builds_no_plan_and_says_how_to_retry() {
    let (mut s, _b) = demo(Mode::Demo, None);
    select(&mut s, "search");
    s.press("<Enter>");
    s.state.pending_plan = Some(rbtui::core::state::PendingPlan {
        target: "search".into(),
        to: "1".into(),
        reenable: false,
        exact: false,
        retag: false,
        after_stale: false,
        asked_at: s.state.now,
    });
    s.dispatch(Action::HistoryLoaded {
        target: "search".into(),
        result: Err(BackendError::Unavailable("503 Service Unavailable".into())),
    });
    assert!(s.state.plan.is_none());
    let (_, flash) = s.state.flash.clone().unwrap();
    assert!(
        flash.contains("no plan") && flash.contains("Enter to try again"),
        "{flash}"
    );
}

#[test]
fn an_older_answer_never_replaces_a_newer_one() {
    let (mut s, _b) = demo(Mode::Demo, None);
    select(&mut s, "search");
    s.press("<Enter>");
    let newer = s.state.history("search").unwrap().clone();
    let mut older = newer.clone();
    older.fetched_at = newer.fetched_at - chrono::Duration::seconds(5);
    older.revisions.truncate(1);
    s.dispatch(Action::HistoryLoaded {
        target: "search".into(),
        result: Ok(older),
    });
    assert_eq!(s.state.history("search").unwrap(), &newer);

    let health = s.state.health("search").unwrap().clone();
    let mut stale = health.clone();
    stale.observed_at = health.observed_at - chrono::Duration::seconds(5);
    stale.ready = 0;
    s.dispatch(Action::HealthUpdated(vec![stale]));
    assert_eq!(s.state.health("search").unwrap(), &health);
}

#[test]
fn an_outage_and_its_end_are_recorded_and_nothing_is_assessed_meanwhile() {
    let dir = tempfile::tempdir().unwrap();
    let note = dir.path().join("n.md");
    let (mut s, _b) = demo(Mode::Demo, Some(&note));
    select(&mut s, "search");
    for _ in 0..3 {
        s.dispatch(Action::HealthFailed {
            target: "search".into(),
            error: BackendError::Unreachable("connection refused".into()),
        });
    }
    let n = s.recorded.len();
    s.press("<Enter>");
    assert_eq!(s.recorded.len(), n, "assessed from failing data");
    s.advance(11_000);
    let text = std::fs::read_to_string(&note).unwrap();
    assert_eq!(
        text.matches("reads of search fail: connection refused")
            .count(),
        1,
        "{text}"
    );
    assert!(
        text.contains("search answers again (reads failed from 03:00:00"),
        "{text}"
    );
    assert!(!text.contains("health OK"), "{text}");
}

#[test]
fn a_stale_reenable_plan_is_rebuilt_as_a_reenable_plan() {
    let (mut s, b) = demo(Mode::Demo, None);
    plan_to(&mut s, "orders", "41");
    s.press("<Enter>orders<Tab>PITR restore ready, DBA on call<Enter>");
    s.advance(40_000);
    s.press("a");
    assert!(s.state.plan.as_ref().is_some_and(|p| !p.is_rollback()));
    // Someone changes the app between plan and confirm.
    b.with_world(|w, _| w.service_mut("orders").unwrap().version += 1);
    s.press("<Enter>orders<Tab>PR #4242 reverts d8f3c2a<Enter>");
    let p = s.state.plan.as_ref().expect("rebuilt");
    assert!(!p.is_rollback(), "rebuilt as {:?}", p.steps);
    assert!(
        p.steps
            .contains(&rbtui::core::plan::PlanStep::EnableAutoSync)
    );
    let (_, flash) = s.state.flash.clone().unwrap();
    assert!(flash.contains("plan rebuilt"), "{flash}");
}

#[test]
fn leaving_a_target_drops_the_plan_asked_for_on_it() {
    let (mut s, _b) = demo(Mode::Demo, None);
    select(&mut s, "search");
    s.state.pending_plan = Some(rbtui::core::state::PendingPlan {
        target: "search".into(),
        to: "17".into(),
        reenable: false,
        exact: false,
        retag: false,
        after_stale: false,
        asked_at: s.state.now + chrono::Duration::seconds(3600),
    });
    s.press("k");
    assert_ne!(s.state.view.selected.as_deref(), Some("search"));
    assert!(s.state.pending_plan.is_none());
    // Its answer, arriving late, builds nothing.
    s.press("j");
    s.advance(11_000);
    assert!(s.state.plan.is_none());
}

/// The demo, whose rollout reads fail while `down` is set (an API server
/// that went away mid-rollout).
struct Flaky {
    inner: std::sync::Arc<rbtui::backend::demo::DemoBackend>,
    down: std::sync::Arc<std::sync::atomic::AtomicBool>,
    /// The platform says rbtui's identity may not patch.
    deny: bool,
    /// The token expired: every question is answered 401.
    expired: bool,
}

impl rbtui::backend::Backend for Flaky {
    fn name(&self) -> &str {
        "demo"
    }
    fn targets(
        &self,
    ) -> rbtui::backend::BoxFut<'_, Result<Vec<rbtui::core::model::TargetInfo>, BackendError>> {
        self.inner.targets()
    }
    fn health_all(
        &self,
    ) -> rbtui::backend::BoxFut<'_, Vec<Result<rbtui::core::model::Health, (String, BackendError)>>>
    {
        self.inner.health_all()
    }
    fn health<'a>(
        &'a self,
        t: &'a str,
    ) -> rbtui::backend::BoxFut<'a, Result<rbtui::core::model::Health, BackendError>> {
        self.inner.health(t)
    }
    fn history<'a>(
        &'a self,
        t: &'a str,
    ) -> rbtui::backend::BoxFut<'a, Result<rbtui::core::model::History, BackendError>> {
        self.inner.history(t)
    }
    fn execute<'a>(
        &'a self,
        p: &'a rbtui::core::plan::RollbackPlan,
        st: &'a rbtui::core::plan::PlanStep,
    ) -> rbtui::backend::BoxFut<'a, Result<rbtui::backend::StepDone, BackendError>> {
        self.inner.execute(p, st)
    }
    fn progress<'a>(
        &'a self,
        p: &'a rbtui::core::plan::RollbackPlan,
    ) -> rbtui::backend::BoxFut<'a, Result<rbtui::core::model::Progress, BackendError>> {
        if self.down.load(std::sync::atomic::Ordering::SeqCst) {
            Box::pin(async {
                Err(BackendError::Unreachable(
                    "API server unreachable: connection refused".to_string(),
                ))
            })
        } else {
            self.inner.progress(p)
        }
    }
    fn poll_interval(&self) -> std::time::Duration {
        self.inner.poll_interval()
    }
    fn permissions<'a>(
        &'a self,
        _p: &'a rbtui::core::plan::RollbackPlan,
    ) -> rbtui::backend::BoxFut<'a, Option<Result<rbtui::core::action::Rights, BackendError>>> {
        let rights = vec![
            (
                !self.deny,
                "patch deployments.apps/search in shop".to_string(),
            ),
            (true, "list replicasets.apps in shop".to_string()),
        ];
        if self.expired {
            return Box::pin(async {
                Some(Err(BackendError::Unauthorized(
                    "credentials expired or invalid (401 Unauthorized)".into(),
                )))
            });
        }
        Box::pin(async move {
            Some(Ok(rbtui::core::action::Rights {
                identity: None,
                each: rights,
            }))
        })
    }
}

fn flaky(
    deny: bool,
    note: &std::path::Path,
) -> (
    rbtui::app::script::Script,
    std::sync::Arc<std::sync::atomic::AtomicBool>,
) {
    flaky_as(deny, false, note)
}

fn flaky_as(
    deny: bool,
    expired: bool,
    note: &std::path::Path,
) -> (
    rbtui::app::script::Script,
    std::sync::Arc<std::sync::atomic::AtomicBool>,
) {
    let clock = rbtui::backend::clock::ManualClock::new(t0());
    let inner = std::sync::Arc::new(rbtui::backend::demo::DemoBackend::builtin(
        std::sync::Arc::new(clock.clone()),
    ));
    let down = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let b = std::sync::Arc::new(Flaky {
        inner,
        down: down.clone(),
        deny,
        expired,
    });
    let writer = rbtui::note::NoteWriter::open(note, &header(Mode::Demo, "n.md"), "").unwrap();
    let state = rbtui::core::state::State::new(
        settings(Mode::Demo, "n.md"),
        rbtui::runbook::load_all(None).unwrap(),
        t0(),
    );
    let mut s = rbtui::app::script::Script::new(state, b, clock, Some(writer));
    s.start();
    (s, down)
}

#[test]
fn a_right_the_platform_refuses_blocks_the_plan_before_anyone_types_a_name() {
    let dir = tempfile::tempdir().unwrap();
    let note = dir.path().join("n.md");
    let (mut s, _) = flaky(true, &note);
    plan_to(&mut s, "search", "17");
    let c = check(&s, "permissions");
    assert_eq!(
        c.status,
        rbtui::core::plan::CheckStatus::Block,
        "{}",
        c.detail
    );
    assert!(!c.overridable);
    assert!(
        c.detail
            .contains("may not patch deployments.apps/search in shop"),
        "{}",
        c.detail
    );
    s.press("<Enter>");
    assert!(s.state.runs.is_empty(), "confirmed despite the refusal");
    let (mut s, _) = flaky(false, &dir.path().join("m.md"));
    plan_to(&mut s, "search", "17");
    let c = check(&s, "permissions");
    assert_eq!(
        c.status,
        rbtui::core::plan::CheckStatus::Pass,
        "{}",
        c.detail
    );
    assert!(
        c.detail
            .contains("the platform grants patch deployments.apps/search"),
        "{}",
        c.detail
    );
}

/// Refused credentials would refuse every step: the plan says so before
/// the confirm instead of "not checked".
#[test]
fn expired_credentials_block_the_plan_not_just_warn() {
    let dir = tempfile::tempdir().unwrap();
    let (mut s, _) = flaky_as(false, true, &dir.path().join("n.md"));
    plan_to(&mut s, "search", "17");
    let c = check(&s, "permissions");
    assert_eq!(
        c.status,
        rbtui::core::plan::CheckStatus::Block,
        "{}",
        c.detail
    );
    assert!(
        c.detail
            .contains("refuses rbtui's credentials (credentials expired"),
        "{}",
        c.detail
    );
    s.press("<Enter>");
    assert!(
        s.state.runs.is_empty(),
        "confirmed with refused credentials"
    );
}

#[test]
fn a_rollout_whose_reads_fail_past_its_timeout_is_judged_when_the_api_answers() {
    let dir = tempfile::tempdir().unwrap();
    let note_path = dir.path().join("n.md");
    let (mut s, down) = flaky(false, &note_path);
    plan_to(&mut s, "search", "17");
    down.store(true, std::sync::atomic::Ordering::SeqCst);
    s.press("<Enter><Enter>");
    assert!(s.state.in_flight());
    // Far past the 5 min timeout, the API still away: nothing is decided.
    s.advance(400_000);
    assert!(
        s.state.runs.last().unwrap().outcome().is_none(),
        "decided without a fact"
    );
    down.store(false, std::sync::atomic::Ordering::SeqCst);
    assert!(s.advance_until(60_000, |st| {
        st.runs.last().is_some_and(|r| r.outcome().is_some())
    }));
    assert_eq!(
        s.state.runs.last().unwrap().outcome(),
        Some(rbtui::core::state::Outcome::Succeeded),
        "the rollout had converged meanwhile"
    );
    let note = std::fs::read_to_string(&note_path).unwrap();
    assert!(note.contains("**unknown** `search` — outcome unknown: the rollout's state cannot be read since 03:00:00"), "{note}");
    assert!(
        note.contains("search answers again (rollout reads failed from 03:00:00"),
        "{note}"
    );
    assert!(!note.contains("did not converge"), "{note}");
}

#[test]
fn a_rollback_undone_by_a_later_deploy_is_said_and_not_left_as_done() {
    let dir = tempfile::tempdir().unwrap();
    let note_path = dir.path().join("n.md");
    let (mut s, b) = demo(Mode::Demo, Some(&note_path));
    let bad = {
        select(&mut s, "search");
        s.press("<Enter>");
        s.state
            .history("search")
            .unwrap()
            .current()
            .unwrap()
            .id
            .clone()
    };
    plan_to(&mut s, "search", "17");
    s.press("<Enter><Enter>");
    assert!(s.advance_until(60_000, |st| {
        st.runs.last().is_some_and(|r| r.outcome().is_some())
    }));
    assert!(s.state.runs.last().unwrap().superseded().is_none());
    // Something redeploys the bad build (Compose from its file, a pipeline).
    deploy_behind_our_back(&b, "search", &bad);
    assert!(s.advance_until(30_000, |st| {
        st.runs.last().is_some_and(|r| r.superseded().is_some())
    }));
    let note = std::fs::read_to_string(&note_path).unwrap();
    assert!(note.contains("a later deploy undid the rollback"), "{note}");
}

/// A watch that saw the selected target's revisions change has its History
/// read again at once; another target's change reads nothing.
#[test]
fn a_watched_change_rereads_the_selected_targets_history_at_once() {
    let (mut s, _b) = demo(Mode::Demo, None);
    select(&mut s, "search");
    s.press("<Enter>");
    let fx = rbtui::core::update::update(&mut s.state, Action::HistoryChanged("search".into()));
    assert!(
        fx.iter()
            .any(|e| matches!(e, rbtui::core::action::Effect::LoadHistory(t) if t == "search")),
        "{fx:?}"
    );
    let fx = rbtui::core::update::update(&mut s.state, Action::HistoryChanged("checkout".into()));
    assert!(fx.is_empty(), "{fx:?}");
}

/// Kubernetes gives a restored ReplicaSet the next revision number: the
/// ▶ follows the same deploy under its new number, not the row it was on.
#[test]
fn the_selection_follows_a_revision_that_was_renumbered() {
    let (mut s, _b) = demo(Mode::Demo, None);
    select(&mut s, "search");
    s.press("<Enter>");
    s.press("j");
    let picked = s.state.history("search").unwrap().revisions[s.state.view.history_cursor].clone();
    let mut h = s.state.history("search").unwrap().clone();
    h.revisions.retain(|r| r.id != picked.id);
    let mut moved = picked.clone();
    moved.id = "99".into();
    moved.message = format!("{} (was revision {})", moved.message, picked.id);
    h.revisions.insert(0, moved);
    h.fetched_at += chrono::Duration::seconds(1);
    s.dispatch(Action::HistoryLoaded {
        target: "search".into(),
        result: Ok(h),
    });
    assert_eq!(cursor_id(&s, "search"), "99");
}
