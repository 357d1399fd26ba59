//! The note gates the world: no mutating request leaves unless the entry
//! announcing it is on disk, a failed write stops the plan where it is, and
//! the note never holds half an entry. The disk fills through a quota on the
//! note file, as it would on a real full disk (a partial write, then ENOSPC).
#![allow(clippy::unwrap_used)] // a failed unwrap in a test is a failed test

mod common;

use common::*;
use rbtui::app::script::Script;
use rbtui::backend::clock::ManualClock;
use rbtui::backend::demo::DemoBackend;
use rbtui::core::action::{Action, Key};
use rbtui::core::model::Mode;
use rbtui::core::state::{Outcome, Popup, State};
use rbtui::note::NoteWriter;
use rbtui::note::quota::Quota;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// The demo with its note behind a quota that starts with room to spare.
fn demo_on_quota(path: &Path) -> (Script, Arc<DemoBackend>, Arc<AtomicU64>) {
    let limit = Arc::new(AtomicU64::new(u64::MAX));
    std::fs::write(path, header(Mode::Demo, "n.md")).unwrap();
    let file = std::fs::OpenOptions::new().append(true).open(path).unwrap();
    let note = NoteWriter::on(
        Box::new(Quota {
            file,
            limit: limit.clone(),
            fault: None,
        }),
        path,
    )
    .unwrap();
    let clock = ManualClock::new(t0());
    let backend = Arc::new(DemoBackend::builtin(Arc::new(clock.clone())));
    let runbooks = rbtui::runbook::load_all(None).unwrap();
    let state = State::new(settings(Mode::Demo, "n.md"), runbooks, t0());
    let mut s = Script::new(state, backend.clone(), clock, Some(note));
    s.start();
    (s, backend, limit)
}

fn file_len(p: &Path) -> u64 {
    std::fs::metadata(p).unwrap().len()
}

/// Plans `target` back to its previous revision and opens the confirm
/// dialog, typing what it asks for except the final Enter.
fn ready_to_confirm(s: &mut Script, target: &str) {
    select(s, target);
    s.press("<Enter>");
    let prev = s
        .state
        .history(target)
        .unwrap()
        .previous()
        .unwrap()
        .id
        .clone();
    plan_to(s, target, &prev);
    s.press("<Enter>");
    let Some(Popup::Confirm(_)) = &s.state.view.popup else {
        panic!("confirm dialog open; flash {:?}", s.state.flash)
    };
    let p = s.state.plan.clone().unwrap();
    if p.needs_typed_name() {
        s.press(target);
        s.press("<Tab>");
    }
    if p.needs_override() {
        s.press("drill: override for the note gate test");
    }
}

fn lines_are_whole(p: &Path) {
    let text = std::fs::read_to_string(p).unwrap();
    assert!(text.ends_with('\n'), "the note ends on a whole line");
    for line in text.lines() {
        // Two entries glued on one line would hold two timestamps.
        assert!(
            line.matches("- `").count() <= 1 || line.starts_with("    "),
            "entries glued on one line: {line}"
        );
    }
}

#[test]
fn a_full_disk_at_confirm_sends_nothing_and_the_entries_are_written_late() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("n.md");
    let (mut s, b, limit) = demo_on_quota(&path);
    ready_to_confirm(&mut s, "notifications");
    let version = b.with_world(|w, _| w.service("notifications").unwrap().version);

    // Room for a few bytes only: the confirm entry is cut part-way.
    let before = file_len(&path);
    limit.store(before + 10, Ordering::SeqCst);
    s.press("<Enter>");

    // Nothing was sent: the world did not move, and the run says so.
    b.with_world(|w, _| {
        let svc = w.service("notifications").unwrap();
        assert_eq!(
            svc.version, version,
            "no mutating request reached the platform"
        );
        assert!(svc.rollout.is_none());
        assert!(svc.auto_sync, "auto-sync untouched");
    });
    let run = s
        .state
        .runs
        .last()
        .cloned()
        .expect("the run exists to say what happened");
    let Some(Outcome::Failed(msg)) = run.outcome() else {
        panic!("run stopped, got {:?}", run.outcome())
    };
    assert!(msg.contains("nothing was sent"), "{msg}");
    assert!(
        s.state.note_error.is_some(),
        "the header says the note fails"
    );
    // The torn entry was cut back: the file holds only whole entries.
    assert_eq!(file_len(&path), before, "no partial entry left behind");
    // And no new plan can be confirmed meanwhile.
    s.press("<Esc>");

    // Space comes back: within seconds the held entries are written, late
    // and said to be late, and the failure clears.
    limit.store(u64::MAX, Ordering::SeqCst);
    s.advance(6_000);
    assert!(
        s.state.note_error.is_none(),
        "cleared by the next successful write"
    );
    assert!(s.state.note_backlog.is_empty());
    let text = std::fs::read_to_string(&path).unwrap();
    let late = text
        .find("**note-gap**")
        .expect("a heading for the late entries");
    let confirm = text
        .find("confirmed by oncall")
        .expect("the confirm entry, written late");
    assert!(late < confirm, "the heading comes before the late entries");
    assert!(text[confirm..].contains("nothing was sent"));
    lines_are_whole(&path);
}

#[test]
fn a_full_disk_between_two_steps_stops_the_plan_after_the_step_that_ran() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("n.md");
    let (mut s, b, limit) = demo_on_quota(&path);
    ready_to_confirm(&mut s, "notifications");
    let steps = s.state.plan.as_ref().unwrap().steps.len();
    assert!(steps >= 3, "auto-sync off, rollback, watch");

    // Confirm without performing anything yet: step 1's announcement and
    // its request are queued.
    s.dispatch(Action::Key(Key::Enter));
    assert!(s.state.in_flight());
    // The disk fills while step 1 (disable auto-sync) is on the wire.
    limit.store(file_len(&path), Ordering::SeqCst);
    s.run_ready();

    b.with_world(|w, _| {
        let svc = w.service("notifications").unwrap();
        assert!(!svc.auto_sync, "step 1 had been sent and ran");
        assert!(svc.rollout.is_none(), "step 2 was never sent");
    });
    let run = s.state.runs.last().cloned().unwrap();
    let Some(Outcome::Failed(msg)) = run.outcome() else {
        panic!("stopped, got {:?}", run.outcome())
    };
    assert!(msg.contains("step 2 not run"), "{msg}");
    limit.store(u64::MAX, Ordering::SeqCst);
    s.advance(6_000);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("ran: step 1 Disable auto-sync"), "{text}");
    assert!(text.contains("NOT run: step 2 Roll back"), "{text}");
    lines_are_whole(&path);
}

#[test]
fn operator_text_whose_save_failed_stays_in_the_editor() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("n.md");
    let (mut s, _b, limit) = demo_on_quota(&path);
    s.press("n");
    assert_eq!(s.state.view.popup, Some(Popup::Notes));
    limit.store(file_len(&path), Ordering::SeqCst);
    let d = s.dispatch(Action::NoteSubmitted("paged the DBA, token=hunter2".into()));
    assert_eq!(d.notes_failed, 1, "the runtime keeps the editor text");
    assert_eq!(
        s.state.view.popup,
        Some(Popup::Notes),
        "the editor stays open"
    );
    assert!(s.state.flash.as_ref().unwrap().1.contains("NOT saved"));
    limit.store(u64::MAX, Ordering::SeqCst);
    let d = s.dispatch(Action::NoteSubmitted("paged the DBA, token=hunter2".into()));
    assert_eq!(d.notes_failed, 0);
    // The activity pane shows exactly what the note got: redacted.
    let last = s.state.activity.last().unwrap();
    assert!(
        last.summary.contains("token=[REDACTED]"),
        "{}",
        last.summary
    );
    assert!(!last.summary.contains("hunter2"));
}
