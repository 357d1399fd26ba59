//! Budgets from DESIGN.md, measured (not asserted in tests: shared machines
//! are noisy). Run: `cargo bench --bench frame`.
//!
//! - first frame after start, 1,000 targets × 50 revisions: ≤ 50 ms
//! - key press → next frame (p99), same size: ≤ 16 ms
//! - idle: no redraw when nothing changed
//! - resident memory with 1,000 targets: ≤ 40 MB
#![allow(clippy::unwrap_used)] // a failed unwrap in a test is a failed test

mod common;

use chrono::{TimeZone, Utc};
use common::{pct, rss_mb};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use rbtui::app::script::Script;
use rbtui::backend::clock::{Clock, ManualClock};
use rbtui::backend::demo::DemoBackend;
use rbtui::core::action::{Action, Key};
use rbtui::core::model::Mode;
use rbtui::core::state::{Settings, State};
use rbtui::ui::Ui;
use std::sync::Arc;
use std::time::{Duration, Instant};

const TARGETS: usize = 1000;
const REVS: usize = 50;

fn start() -> (Script, Terminal<TestBackend>, Ui) {
    let clock = ManualClock::new(Utc.with_ymd_and_hms(2026, 11, 22, 3, 0, 0).unwrap());
    let backend = Arc::new(DemoBackend::synthetic(
        TARGETS,
        REVS,
        Arc::new(clock.clone()),
    ));
    let state = State::new(
        Settings::new(Mode::Demo, "BENCH", "bench.md"),
        rbtui::runbook::load_all(None).unwrap(),
        clock.now(),
    );
    let mut s = Script::new(state, backend, clock, None);
    s.start();
    let mut term = Terminal::new(TestBackend::new(120, 40)).unwrap();
    let ui = Ui::default();
    term.draw(|f| rbtui::ui::render(&s.state, &ui, f)).unwrap();
    (s, term, ui)
}

/// What the console does between having its target list and showing it:
/// state, targets, first frame. Health arrives later from the poller.
fn first_frame(backend: &Arc<DemoBackend>, clock: &ManualClock) -> Duration {
    let t = Instant::now();
    let mut state = State::new(
        Settings::new(Mode::Demo, "BENCH", "bench.md"),
        rbtui::runbook::load_all(None).unwrap(),
        clock.now(),
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let targets = rt.block_on(rbtui::backend::Backend::targets(backend.as_ref()));
    let _ = rbtui::core::update(&mut state, Action::TargetsLoaded(targets));
    let mut term = Terminal::new(TestBackend::new(120, 40)).unwrap();
    term.draw(|f| rbtui::ui::render(&state, &Ui::default(), f))
        .unwrap();
    t.elapsed()
}

fn main() {
    let base = rss_mb();
    let loaded = start();
    println!(
        "resident memory with {TARGETS} targets x {REVS} revisions loaded, health polled, one frame drawn: {:.1} MB (process start {base:.1} MB; budget 40 MB)",
        rss_mb()
    );
    drop(loaded);
    let clock = ManualClock::new(Utc.with_ymd_and_hms(2026, 11, 22, 3, 0, 0).unwrap());
    let t = Instant::now();
    let backend = Arc::new(DemoBackend::synthetic(
        TARGETS,
        REVS,
        Arc::new(clock.clone()),
    ));
    println!(
        "(setup: simulated platform of {TARGETS} x {REVS} generated in {:?}; not part of the budget)",
        t.elapsed()
    );
    let mut firsts: Vec<Duration> = (0..30).map(|_| first_frame(&backend, &clock)).collect();
    println!(
        "first frame ({TARGETS} targets x {REVS} revisions, 120x40): p50 {:?}  max {:?}  (budget 50 ms)",
        pct(&mut firsts, 0.5),
        pct(&mut firsts, 1.0)
    );
    let mut withh = Vec::new();
    for _ in 0..10 {
        let t = Instant::now();
        let _ = start();
        withh.push(t.elapsed());
    }
    println!(
        "start incl. generating the platform, first health poll of all targets and a frame: p50 {:?}",
        pct(&mut withh, 0.5)
    );
    let (mut s, mut term, ui) = start();

    // Key → frame in the health pane (the list re-sorts), then the history pane.
    let mut keys = Vec::new();
    for i in 0..2000 {
        let k = if i % 400 < 200 {
            Key::Char('j')
        } else {
            Key::Char('k')
        };
        let t = Instant::now();
        s.dispatch(Action::Key(k));
        s.run_ready();
        if s.state.dirty {
            term.draw(|f| rbtui::ui::render(&s.state, &ui, f)).unwrap();
            s.state.dirty = false;
        }
        keys.push(t.elapsed());
    }
    s.press("<Enter>");
    for i in 0..1000 {
        let k = if i % 100 < 50 { Key::Down } else { Key::Up };
        let t = Instant::now();
        s.dispatch(Action::Key(k));
        term.draw(|f| rbtui::ui::render(&s.state, &ui, f)).unwrap();
        s.state.dirty = false;
        keys.push(t.elapsed());
    }
    println!(
        "key -> frame: p50 {:?}  p99 {:?}  max {:?}  (budget p99 16 ms)",
        pct(&mut keys, 0.5),
        pct(&mut keys, 0.99),
        pct(&mut keys, 1.0)
    );

    // Ages in seconds advance on screen: one redraw a second, no more.
    s.state.dirty = false;
    let now = s.state.now;
    let mut per_second = 0;
    for i in 1..=100 {
        s.dispatch(Action::Tick(now + chrono::Duration::milliseconds(i * 100)));
        per_second += usize::from(s.state.dirty);
        s.state.dirty = false;
    }
    println!("ages in seconds on screen: {per_second} redraws in 10 s of ticks (budget 10)");
    // Idle: once every age on screen reads in minutes, ticks within the
    // same minute and an unchanged health poll draw nothing.
    let later = now + chrono::Duration::seconds(61);
    s.dispatch(Action::Tick(later));
    s.state.dirty = false;
    let mut redraws = 0;
    for i in 0..100 {
        s.dispatch(Action::Tick(
            later + chrono::Duration::milliseconds(i * 100),
        ));
        if s.state.dirty {
            redraws += 1;
            s.state.dirty = false;
        }
    }
    let h = s
        .state
        .table
        .values()
        .filter_map(|r| r.health.clone())
        .collect::<Vec<_>>();
    s.dispatch(Action::HealthUpdated(h));
    if s.state.dirty {
        redraws += 1;
    }
    println!(
        "idle: {redraws} redraws for 100 ticks in the same minute and an unchanged health poll (budget 0)"
    );
    migrations_scroll();
}

/// The migration pane with a 100,000-line diff: only visible lines are laid out.
fn migrations_scroll() {
    use rbtui::core::migration::MigrationDiff;
    let (mut s, mut term, ui) = start();
    let sql: String = (0..100_000)
        .map(|i| format!("ALTER TABLE t{} ADD COLUMN c{i} text;\n", i % 50))
        .collect();
    let t = Instant::now();
    let diff = MigrationDiff::classify(
        "svc-0000",
        "a",
        "b",
        vec![(
            "db/migrations/V9__big.sql".into(),
            rbtui::core::migration::FileChange::Added,
            sql,
        )],
    );
    let classify = t.elapsed();
    s.press("<Enter>j<Enter>");
    if let Some(p) = s.state.plan.as_mut() {
        p.migration = Some(diff);
    }
    s.press("<Esc>3");
    let mut times = Vec::new();
    for i in 0..400 {
        let k = if i < 300 { Key::PageDown } else { Key::End };
        let t = Instant::now();
        s.dispatch(Action::Key(k));
        term.draw(|f| rbtui::ui::render(&s.state, &ui, f)).unwrap();
        times.push(t.elapsed());
    }
    println!(
        "migrations pane, 100,000-line diff (classified in {classify:?}, off the UI thread in the app): scroll key -> frame p50 {:?} p99 {:?} (budget 16 ms)",
        pct(&mut times, 0.5),
        pct(&mut times, 0.99)
    );
}
