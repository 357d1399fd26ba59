//! Shared set-up: the embedded demo on a manual clock at a fixed instant.
#![allow(dead_code)]
#![allow(clippy::unwrap_used)] // a failed unwrap in a test is a failed test

pub mod docker;
pub mod http;
pub mod k8s_server;
pub mod registry;

use chrono::{DateTime, TimeZone, Utc};
use rbtui::app::script::Script;
use rbtui::backend::clock::ManualClock;
use rbtui::backend::demo::DemoBackend;
use rbtui::core::model::Mode;
use rbtui::core::state::{Settings, State};
use rbtui::note::{NoteWriter, render};
use std::path::Path;
use std::sync::Arc;

pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 22, 3, 0, 0).unwrap()
}

pub fn settings(mode: Mode, note: &str) -> Settings {
    let mut s = Settings::new(mode, "INC-7", note);
    s.operator = "oncall".into();
    s.verify_window_secs = 30;
    // As `rbtui demo` has them: group shop.
    s.groups = rbtui::backend::demo::scenario::builtin_groups()
        .iter()
        .map(rbtui::config::GroupConfig::def)
        .collect();
    s
}

pub fn header(mode: Mode, note: &str) -> String {
    render::header(&render::Header {
        incident: "INC-7".into(),
        operator: "oncall".into(),
        host: "test-host".into(),
        mode: mode.label().into(),
        version: "test".into(),
        started: t0(),
        note_path: note.into(),
        targets: vec!["(demo targets)".into()],
        rehearsal: mode == Mode::Rehearsal,
        dry_run: false,
    })
}

/// A started script on the demo; `note` is written when given.
pub fn demo(mode: Mode, note: Option<&Path>) -> (Script, Arc<DemoBackend>) {
    demo_with(mode, note, |_| {})
}

/// [`demo`] with settings changed before the session starts.
pub fn demo_with(
    mode: Mode,
    note: Option<&Path>,
    change: impl FnOnce(&mut Settings),
) -> (Script, Arc<DemoBackend>) {
    demo_over(mode, note, change, |b| b)
}

/// [`demo_with`] with layers over the demo backend (a webhook, a drill).
pub fn demo_over(
    mode: Mode,
    note: Option<&Path>,
    change: impl FnOnce(&mut Settings),
    over: impl FnOnce(Arc<dyn rbtui::backend::Backend>) -> Arc<dyn rbtui::backend::Backend>,
) -> (Script, Arc<DemoBackend>) {
    let clock = ManualClock::new(t0());
    let demo = Arc::new(DemoBackend::builtin(Arc::new(clock.clone())));
    let backend = over(demo.clone());
    let path = note
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| "incidents/test.md".into());
    let writer =
        note.map(|p| NoteWriter::open(p, &header(mode, &path), "\n### Resumed\n\n").unwrap());
    let runbooks = rbtui::runbook::load_all(None).unwrap();
    let mut settings = settings(mode, &path);
    change(&mut settings);
    let state = State::new(settings, runbooks, t0());
    let mut s = Script::new(state, backend, clock, writer);
    s.start();
    (s, demo)
}

/// Selects a target by name in the health pane.
pub fn select(s: &mut Script, name: &str) {
    s.press("<Esc><Esc>");
    for _ in 0..20 {
        if s.state.view.selected.as_deref() == Some(name) {
            return;
        }
        s.press("j");
    }
    for _ in 0..20 {
        if s.state.view.selected.as_deref() == Some(name) {
            return;
        }
        s.press("k");
    }
    panic!("target {name} not found");
}

/// From the health pane: open history, move to revision `rev`, build its plan.
pub fn plan_to(s: &mut Script, target: &str, rev: &str) {
    select(s, target);
    s.press("<Enter>");
    let h = s.state.history(target).expect("history loaded").clone();
    let idx = h
        .revisions
        .iter()
        .position(|r| r.id == rev)
        .expect("revision exists");
    s.press("g");
    for _ in 0..idx {
        s.press("j");
    }
    s.press("<Enter>");
    assert!(
        s.state.plan.is_some(),
        "plan built; flash: {:?}",
        s.state.flash
    );
}

pub fn check<'a>(s: &'a Script, id: &str) -> &'a rbtui::core::plan::Check {
    s.state
        .plan
        .as_ref()
        .unwrap()
        .checks
        .iter()
        .find(|c| c.id == id)
        .unwrap()
}

/// The screen as a user sees it, one line per row (trailing blanks cut).
pub fn screen(s: &Script, w: u16, h: u16) -> String {
    let mut t = ratatui::Terminal::new(ratatui::backend::TestBackend::new(w, h)).unwrap();
    let ui = rbtui::ui::Ui::default();
    t.draw(|f| rbtui::ui::render(&s.state, &ui, f)).unwrap();
    let b = t.backend().buffer();
    let mut out = String::new();
    for y in 0..b.area.height {
        let mut line = String::new();
        for x in 0..b.area.width {
            line.push_str(b[(x, y)].symbol());
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// Waits on the scripted clock until no run is in flight (and, for a
/// group, until it reported), at most `ms`.
pub fn settle(s: &mut Script, ms: i64) -> bool {
    s.advance_until(ms, |st| !st.in_flight())
}

/// A current-thread runtime with timers and I/O: how the tests drive a
/// backend's futures.
pub fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}
