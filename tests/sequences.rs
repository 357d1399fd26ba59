//! Sequences, not only paths: random operator actions and platform events
//! (plan, confirm, cancel, a group and its `v`, status messages, a second
//! target, typed-ahead keys, a note that stops taking writes, a lost
//! answer, an API that goes away, a crash and its resume, a quit) drive the
//! console on the scripted runtime over the demo platform, and after every
//! step the incident's trust rules are checked:
//!
//! - nothing mutates unless the entry announcing it is on disk;
//! - what a verified rollback landed is the last known good while it runs;
//! - follow-ups name only revisions the target was rolled back from;
//! - every check a recorded plan asked has its answer;
//! - a plan whose rights the platform refused never sends a step (a
//!   target's rights can be taken away and given back at any moment);
//! - the Activity pane shows exactly what the note holds, and the incident
//!   the screen derives from equals the one the note tells (`--resume`);
//! - at most one run per target is in flight; nothing panics (the screen
//!   is drawn at the end of every sequence).
//!
//! Failing sequences are shrunk by proptest and kept in
//! `tests/sequences.proptest-regressions`, replayed first on every run.
#![allow(clippy::unwrap_used)] // a failed unwrap in a test is a failed test

mod common;

use common::*;
use proptest::prelude::*;
use proptest_state_machine::{ReferenceStateMachine, StateMachineTest, prop_state_machine};
use rbtui::app::script::Script;
use rbtui::backend::Backend;
use rbtui::backend::clock::ManualClock;
use rbtui::core::action::{Action, BackendError};
use rbtui::core::model::Mode;
use rbtui::core::plan::{PlanStep, RollbackPlan};
use rbtui::core::state::{Popup, State};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

const TARGETS: [&str; 6] = [
    "checkout",
    "orders",
    "payments",
    "catalog",
    "search",
    "notifications",
];

/// One operator action or platform event.
#[derive(Debug, Clone)]
enum Op {
    /// Select a target, open its History, pick a revision (0: `lkg`,
    /// 1: `previous`, n: the n-th row) and ask for the plan.
    Plan {
        t: usize,
        pick: u8,
    },
    /// Confirm what is open, as the dialog asks (the name for prod, a
    /// reason for a BLOCK).
    Confirm,
    Cancel,
    /// `R` on checkout: group `shop`.
    Group,
    /// `v` in the group plan.
    Switch,
    /// `f` in the group plan (continue on failure).
    ContinueOnFailure,
    /// `s`, a template (or none), Esc.
    Status(u8),
    Wait(u16),
    NoteFails(bool),
    /// The next mutating step is applied, but its answer is lost.
    LoseNextAnswer,
    /// Reads of a target fail for a while (an API that went away).
    ApiDown(usize),
    /// Text typed ahead of any dialog.
    Keys(String),
    /// kill -9, then `--resume` into the same note.
    Crash,
    /// `q` (and `y` if asked), then `--resume`.
    Quit,
    Select(usize),
    /// The notes editor, and its text saved (Ctrl-S).
    Note,
    /// The platform refuses (or grants again) the rights on a target.
    Rights(usize),
    /// A mouse press (0), wheel down (1) or up (2) anywhere on a 120x40
    /// screen: a click lands wherever the layout put something, or
    /// nowhere, whatever is open. (`z` zoom and `y` copy come as `Keys`.)
    Mouse {
        x: u16,
        y: u16,
        kind: u8,
    },
}

fn op() -> BoxedStrategy<Op> {
    prop_oneof![
        4 => (0..TARGETS.len(), 0u8..6).prop_map(|(t, pick)| Op::Plan { t, pick }),
        4 => Just(Op::Confirm),
        1 => Just(Op::Cancel),
        2 => Just(Op::Group),
        1 => Just(Op::Switch),
        1 => Just(Op::ContinueOnFailure),
        1 => (0u8..6).prop_map(Op::Status),
        4 => prop_oneof![Just(1u16), Just(4), Just(15), Just(45)].prop_map(Op::Wait),
        1 => any::<bool>().prop_map(Op::NoteFails),
        1 => Just(Op::LoseNextAnswer),
        1 => (0..TARGETS.len()).prop_map(Op::ApiDown),
        1 => "[a-z0-9 <>]{1,6}".prop_map(Op::Keys),
        1 => Just(Op::Crash),
        1 => Just(Op::Quit),
        1 => (0..TARGETS.len()).prop_map(Op::Select),
        1 => Just(Op::Note),
        1 => (0..TARGETS.len()).prop_map(Op::Rights),
        1 => (0u16..120, 0u16..40, 0u8..3).prop_map(|(x, y, kind)| Op::Mouse { x, y, kind }),
    ]
    .boxed()
}

/// The reference is the operator, not a model of the console: every
/// action may come at any moment, and the console must cope.
struct Operator;

impl ReferenceStateMachine for Operator {
    type State = ();
    type Transition = Op;
    fn init_state() -> BoxedStrategy<()> {
        Just(()).boxed()
    }
    fn transitions(_: &()) -> BoxedStrategy<Op> {
        op()
    }
    fn apply(s: (), _: &Op) {
        s
    }
}

/// The note's disk, in memory: it can stop taking writes (full) and come
/// back, as a real disk does.
#[derive(Clone, Default)]
struct Disk {
    bytes: Arc<Mutex<Vec<u8>>>,
    full: Arc<AtomicBool>,
}

impl Disk {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes.lock().unwrap()).into_owned()
    }
}

struct DiskFile(Disk);

impl rbtui::note::NoteFile for DiskFile {
    fn write_all(&mut self, b: &[u8]) -> std::io::Result<()> {
        if self.0.full.load(Ordering::SeqCst) {
            return Err(std::io::Error::new(
                std::io::ErrorKind::StorageFull,
                "No space left on device (os error 28)",
            ));
        }
        self.0.bytes.lock().unwrap().extend_from_slice(b);
        Ok(())
    }
    fn sync(&mut self) -> std::io::Result<()> {
        Ok(())
    }
    fn truncate(&mut self, len: u64) -> std::io::Result<()> {
        self.0.bytes.lock().unwrap().truncate(len as usize);
        Ok(())
    }
    fn len(&self) -> std::io::Result<u64> {
        Ok(self.0.bytes.lock().unwrap().len() as u64)
    }
    fn read_all(&self) -> std::io::Result<Vec<u8>> {
        Ok(self.0.bytes.lock().unwrap().clone())
    }
    /// The rename of the summary's rewrite: all of it or none of it.
    fn replace(&mut self, _: &std::path::Path, b: &[u8]) -> std::io::Result<()> {
        if self.0.full.load(Ordering::SeqCst) {
            return Err(std::io::Error::new(
                std::io::ErrorKind::StorageFull,
                "No space left on device (os error 28)",
            ));
        }
        *self.0.bytes.lock().unwrap() = b.to_vec();
        Ok(())
    }
}

/// The demo platform, watched: every mutation is checked against the note
/// (its announcement must be on disk first), an answer can be lost after
/// the step took effect, and reads can fail for a while.
struct Platform {
    inner: Arc<dyn Backend>,
    disk: Disk,
    clock: ManualClock,
    lose_next: AtomicBool,
    down: Mutex<Vec<(String, chrono::DateTime<chrono::Utc>)>>,
    /// Targets whose rights the platform refuses now.
    denied: Mutex<std::collections::HashSet<String>>,
    violations: Mutex<Vec<String>>,
}

impl rbtui::backend::layer::Layer for Platform {
    fn inner(&self) -> &Arc<dyn Backend> {
        &self.inner
    }
    fn read_fault(&self, target: &str) -> Option<BackendError> {
        let now = rbtui::backend::clock::Clock::now(&self.clock);
        self.down
            .lock()
            .unwrap()
            .iter()
            .any(|(t, until)| t == target && now < *until)
            .then(|| BackendError::Unreachable("connection refused (sequence test)".into()))
    }
    fn intercept(
        &self,
        plan: &RollbackPlan,
        step: &PlanStep,
    ) -> Option<Result<rbtui::backend::StepDone, BackendError>> {
        let n = plan.steps.iter().position(|s| s == step).unwrap_or(0) + 1;
        let refused = plan
            .checks
            .iter()
            .any(|c| c.id == "permissions" && c.status == rbtui::core::plan::CheckStatus::Block);
        if refused {
            self.violations.lock().unwrap().push(format!(
                "plan #{} step {n} sent although the platform refused its rights",
                plan.id
            ));
        }
        let wanted = format!("**action** `{}` — step {n}", plan.target.name);
        let said = self.disk.text().matches(&wanted).count();
        if said == 0 {
            self.violations.lock().unwrap().push(format!(
                "plan #{} step {n} sent before its entry was on disk",
                plan.id
            ));
        }
        None
    }
    fn rights(
        &self,
        plan: &RollbackPlan,
        r: Option<Result<rbtui::core::action::Rights, BackendError>>,
    ) -> Option<Result<rbtui::core::action::Rights, BackendError>> {
        if !self.denied.lock().unwrap().contains(&plan.target.name) {
            return r;
        }
        Some(Ok(rbtui::core::action::Rights {
            identity: Some("account seq-bot".into()),
            each: vec![(false, format!("roll back {}", plan.target.name))],
        }))
    }
    fn perform<'a>(
        &'a self,
        plan: &'a RollbackPlan,
        step: &'a PlanStep,
    ) -> Option<rbtui::backend::BoxFut<'a, Result<rbtui::backend::StepDone, BackendError>>> {
        if !self.lose_next.swap(false, Ordering::SeqCst) {
            return None;
        }
        Some(Box::pin(async move {
            let _ = self.inner.execute(plan, step).await;
            Err(BackendError::OutcomeUnknown(
                "the answer was lost (sequence test)".into(),
            ))
        }))
    }
}

/// What each sequence starts from, built once: parsing is not the test.
fn runbooks() -> Vec<rbtui::core::runbook::Runbook> {
    static R: OnceLock<Vec<rbtui::core::runbook::Runbook>> = OnceLock::new();
    R.get_or_init(|| rbtui::runbook::load_all(None).unwrap())
        .clone()
}

fn scenario() -> &'static rbtui::backend::demo::scenario::Scenario {
    static S: OnceLock<rbtui::backend::demo::scenario::Scenario> = OnceLock::new();
    S.get_or_init(|| {
        rbtui::backend::demo::scenario::parse(
            "scenario",
            include_str!("../assets/demo/scenario.toml"),
        )
        .unwrap()
    })
}

fn test_settings() -> rbtui::core::settings::Settings {
    static S: OnceLock<rbtui::core::settings::Settings> = OnceLock::new();
    S.get_or_init(|| {
        let mut s = settings(Mode::Demo, "n.md");
        s.verify_window_secs = 5;
        s.save_evidence = false;
        s
    })
    .clone()
}

/// The console under test, with the platform and disk it runs against.
struct Console {
    s: Script,
    platform: Arc<Platform>,
    disk: Disk,
    /// The incident the note tells, read incrementally: (bytes read, it,
    /// the reader that keeps the plans read so far).
    told: std::cell::RefCell<(
        usize,
        rbtui::core::incident::Incident,
        rbtui::note::resume::Markers,
    )>,
}

impl Console {
    fn new() -> Console {
        let clock = ManualClock::new(t0());
        let demo =
            rbtui::backend::demo::DemoBackend::from_scenario(scenario(), Arc::new(clock.clone()));
        let disk = Disk::default();
        // The note as `rbtui` opens it: a title, the summary, the header.
        *disk.bytes.lock().unwrap() = format!(
            "# Incident INC-SEQ\n\n{}## Timeline (UTC, 2026-11-22)\n\n",
            rbtui::note::summary::render(&Default::default())
        )
        .into_bytes();
        let platform = Arc::new(Platform {
            inner: Arc::new(demo),
            disk: disk.clone(),
            clock: clock.clone(),
            lose_next: AtomicBool::new(false),
            down: Mutex::default(),
            denied: Mutex::default(),
            violations: Mutex::default(),
        });
        let s = Console::session(&platform, &disk, clock, None);
        Console {
            s,
            platform,
            disk,
            told: Default::default(),
        }
    }

    /// A session on the note's disk; resumed from what the note holds.
    fn session(
        platform: &Arc<Platform>,
        disk: &Disk,
        clock: ManualClock,
        resume: Option<Action>,
    ) -> Script {
        let writer = rbtui::note::NoteWriter::on(
            Box::new(DiskFile(disk.clone())),
            std::path::Path::new("n.md"),
        )
        .unwrap();
        let now = rbtui::backend::clock::Clock::now(&clock);
        let state = State::new(test_settings(), runbooks(), now);
        let b: Arc<dyn Backend> = platform.clone();
        let mut s = Script::new(state, b, clock, Some(writer));
        if let Some(a) = resume {
            s.dispatch(a);
        }
        s.start();
        s
    }

    /// The session ends (crash or quit) and the next one resumes the note.
    fn resume(&mut self) {
        self.disk.full.store(false, Ordering::SeqCst);
        let r = rbtui::note::resume::parse(&self.disk.text());
        let a = Action::Resumed {
            incident: r.model,
            checklists: r.checklists,
        };
        self.s = Console::session(&self.platform, &self.disk, self.s.clock.clone(), Some(a));
    }

    fn apply(&mut self, op: Op) {
        let s = &mut self.s;
        match op {
            Op::Plan { t, pick } => {
                s.press("<Esc><Esc>");
                select(s, TARGETS[t]);
                s.press("<Enter>");
                match pick {
                    0 => s.press(":rollback lkg<Enter>"),
                    1 => s.press(":rollback previous<Enter>"),
                    n => {
                        s.press("g");
                        for _ in 0..n {
                            s.press("j");
                        }
                        s.press("<Enter>");
                    }
                }
            }
            Op::Confirm => confirm(s),
            Op::Cancel => s.press("<Esc><Esc>"),
            Op::Group => {
                s.press("<Esc><Esc>");
                select(s, "checkout");
                s.press("R");
            }
            Op::Switch => s.press("v"),
            Op::ContinueOnFailure => s.press("f"),
            Op::Status(n) => {
                s.press("<Esc><Esc>s");
                if let Some(k) = ["0", "1", "u", "r"].get(n as usize) {
                    s.press(k);
                }
                s.press("<Esc>");
            }
            Op::Wait(secs) => {
                s.advance_in(1000, i64::from(secs) * 1000, |_| false);
            }
            Op::NoteFails(f) => self.disk.full.store(f, Ordering::SeqCst),
            Op::LoseNextAnswer => self.platform.lose_next.store(true, Ordering::SeqCst),
            Op::ApiDown(t) => {
                let until =
                    rbtui::backend::clock::Clock::now(&s.clock) + chrono::Duration::seconds(10);
                self.platform
                    .down
                    .lock()
                    .unwrap()
                    .push((TARGETS[t].into(), until));
            }
            Op::Keys(k) => s.press(&k.replace(['<', '>'], "")),
            Op::Crash => self.resume(),
            Op::Quit => {
                s.press("<Esc><Esc>q");
                if s.state.view.popup == Some(Popup::QuitConfirm) {
                    s.press("y");
                }
                self.resume();
            }
            Op::Select(t) => {
                s.press("<Esc><Esc>");
                select(s, TARGETS[t]);
            }
            Op::Mouse { x, y, kind } => {
                use crossterm::event::{
                    KeyModifiers, MouseButton, MouseEvent, MouseEventKind as K,
                };
                let kind = match kind {
                    0 => K::Down(MouseButton::Left),
                    1 => K::ScrollDown,
                    _ => K::ScrollUp,
                };
                let m = MouseEvent {
                    kind,
                    column: x,
                    row: y,
                    modifiers: KeyModifiers::NONE,
                };
                let area = ratatui::layout::Rect::new(0, 0, 120, 40);
                for a in rbtui::app::input::mouse(&s.state, area, m) {
                    s.dispatch(a);
                }
                s.run_ready();
            }
            Op::Rights(t) => {
                let mut d = self.platform.denied.lock().unwrap();
                if !d.remove(TARGETS[t]) {
                    d.insert(TARGETS[t].into());
                }
            }
            Op::Note => {
                s.press("<Esc><Esc>n");
                s.dispatch(Action::NoteSubmitted(
                    "paged the DBA; password = hunter2".into(),
                ));
                // Operator text is never queued behind a failing note: it
                // is on disk or still in the editor.
                assert!(
                    !s.state
                        .note_backlog
                        .iter()
                        .any(|e| e.kind == rbtui::core::entry::EntryKind::Note),
                    "operator text queued"
                );
            }
        }
    }
}

/// Confirms whatever plan is open, as its dialog asks.
fn confirm(s: &mut Script) {
    match s.state.view.popup.clone() {
        Some(Popup::Plan) => {
            let Some(p) = s.state.plan.clone() else {
                return;
            };
            s.press("<Enter>");
            if !matches!(s.state.view.popup, Some(Popup::Confirm(_))) {
                return;
            }
            if p.needs_typed_name() {
                s.press(&p.target.name);
            }
            if p.needs_override() {
                s.press("<Tab>sequence test override reason");
            }
            s.press("<Enter>");
        }
        Some(Popup::GroupPlan) => {
            let Some(g) = s.state.group.clone() else {
                return;
            };
            s.press("<Enter>");
            if !matches!(s.state.view.popup, Some(Popup::GroupConfirm(_))) {
                return;
            }
            if g.needs_typed_name() {
                s.press(&g.name);
            }
            if g.needs_override() {
                s.press("<Tab>sequence test override reason");
            }
            s.press("<Enter>");
        }
        _ => s.press("<Enter>"),
    }
}

impl Console {
    fn check(&self) {
        let st = &self.s.state;
        let v = self.platform.violations.lock().unwrap();
        assert!(v.is_empty(), "{v:?}");
        // At most one run in flight per target.
        for t in TARGETS {
            let n = st
                .runs
                .iter()
                .filter(|r| r.in_flight() && r.plan.target.name == t)
                .count();
            assert!(n <= 1, "{n} runs in flight on {t}");
        }
        for (t, story) in &st.incident.stories {
            // A verified landing that still runs is the last known good.
            if let Some(h) = st.history(t)
                && let Some(cur) = story.lkg_in(h)
            {
                assert_eq!(h.last_known_good.as_deref(), Some(cur.id.as_str()), "{t}");
            }
            // Follow-ups name only revisions rolled back from.
            if let Some((bad, _)) = story.followup() {
                assert!(
                    story
                        .runs
                        .iter()
                        .any(|r| r.sent.is_some() && r.from == *bad),
                    "{t}: follow-up names {bad:?}, never rolled back from"
                );
            }
            // Every check a recorded plan asked has its answer.
            for p in &story.plans {
                assert!(
                    p.checks.iter().all(|(_, status)| status != "...."),
                    "{t}: plan #{} recorded with a check unanswered: {:?}",
                    p.id,
                    p.checks
                );
            }
        }
        // The screen shows exactly what the note holds.
        assert_eq!(st.activity.len(), self.s.recorded.len());
        // Every automatic tick says the fact that proves it, on its own
        // line or as the entry just above it, which is there.
        for (i, e) in self.s.recorded.iter().enumerate() {
            let first = e.lines().next().unwrap_or_default();
            if first.contains("**checklist**") && first.contains("(auto)") {
                assert!(
                    first.contains("(auto) — proof: "),
                    "a tick without its proof: {first}"
                );
                assert!(
                    i > 0 || !first.ends_with("proof: the entry above"),
                    "{first}"
                );
            }
        }
        // And the incident the screen derives from is the note's.
        let settled = st.note_backlog.is_empty() && st.note_error.is_none() && st.unrecorded == 0;
        if settled {
            // The summary on top says what the note's own facts say.
            let text = self.disk.text();
            let shown = rbtui::note::summary::block_in(&text).unwrap_or_default();
            let derived = rbtui::note::summary::render(&rbtui::note::summary::Told::read(&text));
            assert_eq!(shown, derived, "the summary is not the note's incident");
            let told = self.told();
            if told != st.incident {
                panic!(
                    "the note tells another incident than the screen:\n{}",
                    differ(&told, &st.incident)
                );
            }
        }
    }
}

impl Console {
    /// The incident as the note's markers tell it (as `--resume` reads
    /// it), read on from where the last call stopped: the note only grows
    /// by whole entries once it settles.
    fn told(&self) -> rbtui::core::incident::Incident {
        let whole = self.disk.text();
        let timeline = rbtui::note::summary::without(&whole);
        let bytes = timeline.as_bytes();
        let mut t = self.told.borrow_mut();
        if bytes.len() < t.0 {
            *t = Default::default();
        }
        let end = bytes
            .iter()
            .rposition(|b| *b == b'\n')
            .map(|i| i + 1)
            .unwrap_or(0);
        if end > t.0 {
            let text = String::from_utf8_lossy(&bytes[t.0..end]);
            for m in t.2.read(&text) {
                t.1.apply(m.at, &m.marker);
            }
            t.0 = end;
        }
        t.1.clone()
    }
}

/// Where two incidents differ, in a few lines.
fn differ(
    note: &rbtui::core::incident::Incident,
    screen: &rbtui::core::incident::Incident,
) -> String {
    let ids = |i: &rbtui::core::incident::Incident, t: &str| {
        i.story(t).map(|s| {
            (
                s.failures.len(),
                s.plans.iter().map(|p| p.id.0).collect::<Vec<_>>(),
                s.runs
                    .iter()
                    .map(|r| {
                        (
                            r.plan.0,
                            r.sent.is_some(),
                            r.ended.as_ref().map(|e| e.result),
                        )
                    })
                    .collect::<Vec<_>>(),
            )
        })
    };
    let mut out = Vec::new();
    for t in TARGETS {
        let (a, b) = (ids(note, t), ids(screen, t));
        if a != b {
            out.push(format!("{t}: note {a:?}\n{t}: screen {b:?}"));
        }
    }
    if note.groups != screen.groups {
        out.push(format!(
            "groups: note {:?} screen {:?}",
            note.groups.len(),
            screen.groups.len()
        ));
    }
    out.join("\n")
}

impl StateMachineTest for Console {
    type SystemUnderTest = Console;
    type Reference = Operator;
    fn init_test(_: &()) -> Console {
        Console::new()
    }
    fn apply(mut c: Console, _: &(), op: Op) -> Console {
        c.apply(op);
        c
    }
    fn check_invariants(c: &Console, _: &()) {
        c.check();
    }
    fn teardown(c: Console, _: ()) {
        let _ = screen(&c.s, 80, 24);
    }
}

/// How many sequences each of the four tests runs (10,000 in all by
/// default; `RBTUI_SEQUENCES` sets it per test).
fn cases() -> u32 {
    std::env::var("RBTUI_SEQUENCES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2_500)
}

prop_state_machine! {
    #![proptest_config(ProptestConfig {
        cases: cases(),
        max_shrink_iters: 2_000,
        failure_persistence: Some(Box::new(
            proptest::test_runner::FileFailurePersistence::WithSource("proptest-regressions"),
        )),
        ..ProptestConfig::default()
    })]
    #[test]
    fn operator_sequences_a(sequential 1..24 => Console);
    #[test]
    fn operator_sequences_b(sequential 1..24 => Console);
    #[test]
    fn operator_sequences_c(sequential 1..24 => Console);
    #[test]
    fn operator_sequences_d(sequential 1..24 => Console);
}

/// Runs a fixed sequence, checking the rules after every step.
fn replay(ops: Vec<Op>) {
    let mut c = Console::new();
    c.check();
    for op in ops {
        c.apply(op);
        c.check();
    }
    let _ = screen(&c.s, 80, 24);
}

/// Found by the sequences: a group verified its members, but History kept
/// the LKG it had before the verification (the overlay was laid only when
/// History was read, not when the incident learned of the landing).
#[test]
fn kept_a_verified_group_member_is_lkg_at_once() {
    replay(vec![Op::Group, Op::Confirm, Op::Wait(45)]);
}

/// Found by the sequences: entries held while the note failed were
/// written after newer ones, so `--resume` replayed another order (a run's
/// end before its start, and a run lost).
#[test]
fn kept_held_entries_keep_the_incidents_order() {
    replay(vec![
        Op::NoteFails(true),
        Op::Plan { t: 0, pick: 0 },
        Op::NoteFails(false),
        Op::Group,
        Op::Wait(15),
    ]);
}

/// A group whose member's rights are refused: that member's plan never
/// sends a step, whatever the group's confirm says (found by the rights
/// invariant when a refused right was made overridable).
#[test]
fn kept_a_group_member_whose_rights_are_refused_sends_nothing() {
    replay(vec![Op::Rights(0), Op::Group, Op::Confirm, Op::Wait(45)]);
    replay(vec![Op::Rights(0), Op::Plan { t: 0, pick: 0 }, Op::Confirm]);
}
