//! Every pane and popup at 120x40 and 80x24, plus assertions on the cells
//! that carry meaning (prod is red, a blocked check is marked).
#![allow(clippy::unwrap_used)] // a failed unwrap in a test is a failed test

mod common;

use common::*;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::style::Color;
use rbtui::app::script::Script;
use rbtui::core::model::Mode;
use rbtui::ui::Ui;

const SIZES: [(u16, u16); 2] = [(120, 40), (80, 24)];

fn draw(s: &Script, w: u16, h: u16) -> Buffer {
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    let ui = Ui::default();
    t.draw(|f| rbtui::ui::render(&s.state, &ui, f)).unwrap();
    t.backend().buffer().clone()
}

fn text(b: &Buffer) -> String {
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

fn snap(name: &str, s: &Script) {
    for (w, h) in SIZES {
        let mut settings = insta::Settings::clone_current();
        settings.set_snapshot_path("../snapshots");
        settings.set_prepend_module_to_snapshot(false);
        settings.bind(|| insta::assert_snapshot!(format!("{name}_{w}x{h}"), text(&draw(s, w, h))));
    }
}

/// Finds `needle` on screen and returns the cell under its first character.
fn cell_of<'a>(b: &'a Buffer, needle: &str) -> &'a ratatui::buffer::Cell {
    let t = text(b);
    for (y, line) in t.lines().enumerate() {
        if let Some(byte) = line.find(needle) {
            let x = line[..byte].chars().count();
            return &b[(x as u16, y as u16)];
        }
    }
    panic!("{needle:?} not on screen:\n{t}")
}

#[test]
fn main_screen_and_panes() {
    let (mut s, _) = demo(Mode::Demo, None);
    snap("01_start_health", &s);
    s.press("<Enter>");
    snap("02_history", &s);
    s.press("j<Enter><Esc>3");
    snap("03_migrations", &s);
    s.press("4jj");
    snap("04_checklist", &s);
    s.press("5");
    snap("05_activity", &s);
    s.press("1/sta");
    snap("06_filter", &s);
}

#[test]
fn popups() {
    let (mut s, _) = demo(Mode::Demo, None);
    s.press("?");
    snap("10_help", &s);
    s.press("<Esc>");
    plan_to(&mut s, "orders", "41");
    snap("11_plan_blocked", &s);
    s.press("<Enter>ord");
    snap("12_confirm_prod_override", &s);
    s.press("<Esc><Esc>");
    plan_to(&mut s, "checkout", "8");
    snap("13_plan_pass", &s);
    s.press("<Enter>checkout<Enter>");
    s.advance(3000);
    snap("14_rollout_in_progress", &s);
    s.press("q");
    snap("15_quit_confirm", &s);
    s.press("<Esc>");
    s.advance(40_000);
    snap("16_rollback_done", &s);
    s.press("s");
    snap("17_status_message", &s);
    s.press("<Esc>4<Space>");
    snap("18_evidence", &s);
    s.press("<Esc>n");
    snap("19_notes_editor", &s);
}

#[test]
fn read_only_refusal_and_too_small() {
    let (mut s, _) = demo(Mode::ReadOnly, None);
    plan_to(&mut s, "checkout", "8");
    snap("20_plan_read_only", &s);
    let b = draw(&s, 79, 24);
    assert_eq!(
        text(&b).trim(),
        "terminal too small (need 80x24, have 79x24)"
    );
    let b = draw(&s, 200, 10);
    assert!(text(&b).contains("terminal too small (need 80x24, have 200x10)"));
}

#[test]
fn meaningful_cells_are_styled() {
    let (mut s, _) = demo(Mode::Demo, None);
    for (w, h) in SIZES {
        let b = draw(&s, w, h);
        assert_eq!(
            cell_of(&b, " PROD ").bg,
            Color::Red,
            "prod banner is red at {w}x{h}"
        );
        assert_eq!(cell_of(&b, "CRITICAL").bg, Color::Red);
    }
    select(&mut s, "search");
    let b = draw(&s, 120, 40);
    assert_eq!(
        cell_of(&b, " STAGING ").bg,
        Color::Cyan,
        "non-prod is not red"
    );
    plan_to(&mut s, "orders", "41");
    for (w, h) in SIZES {
        let b = draw(&s, w, h);
        let c = cell_of(&b, "BLOCK");
        assert_eq!(
            (c.fg, c.bg),
            (Color::White, Color::Red),
            "blocked check is marked at {w}x{h}"
        );
        assert_eq!(cell_of(&b, "WARN").bg, Color::Yellow);
    }
}

#[test]
fn argocd_follow_up_plan() {
    let (mut s, _) = demo(Mode::Demo, None);
    plan_to(&mut s, "orders", "41");
    s.press("<Enter>orders<Tab>PITR restore ready, DBA on call<Enter>");
    s.advance(40_000);
    s.press("a");
    snap("21_reenable_plan", &s);
    s.press("<Enter>orders<Tab>PR #4242 reverts d8f3c2a");
    snap("22_reenable_confirm", &s);
}

/// The run line never says a step is simply "in progress" when its fate
/// is unknown or the plan is stopped: each phase reads as what it is.
#[test]
fn the_run_line_says_when_the_outcome_is_unknown_or_the_plan_stopped() {
    let (mut s, _) = demo(Mode::Demo, None);
    plan_to(&mut s, "checkout", "8");
    s.press("<Enter>checkout<Enter>");
    s.advance(3000);
    let line = |s: &Script| {
        text(&draw(s, 120, 40))
            .lines()
            .find(|l| l.contains("ROLLBACK IN PROGRESS"))
            .unwrap_or_default()
            .to_string()
    };
    assert!(line(&s).contains("watching rollout"), "{}", line(&s));
    use rbtui::core::state::{Doing, Ending, Halt};
    let now = s.state.now;
    let run = s.state.runs.last_mut().unwrap();
    let step = run.step();
    run.enter(
        step,
        now,
        Doing::Watching {
            progress: None,
            blind: Some((now, "connection refused".into())),
        },
    );
    assert!(
        line(&s).contains("rollout: OUTCOME UNKNOWN its state cannot be read since 03:00:0"),
        "{}",
        line(&s)
    );
    let run = s.state.runs.last_mut().unwrap();
    run.enter(step, now, Doing::Settling { rereads: 2 });
    assert!(
        line(&s).contains("step 2/3 OUTCOME UNKNOWN answer lost; re-reading the target (2 failed)"),
        "{}",
        line(&s)
    );
    let run = s.state.runs.last_mut().unwrap();
    run.enter(step, now, Doing::Sending);
    run.halt_with(Halt::Note("No space left on device".into()));
    assert!(
        line(&s).contains("step 2/3 STOPPED note not writable: No space left on device"),
        "{}",
        line(&s)
    );
    // Finished while the note fails: the result says it is not all on disk.
    let run = s.state.runs.last_mut().unwrap();
    run.end(now, Ending::Finished);
    s.state.note_error = Some(rbtui::core::state::NoteFailure {
        error: "No space left on device".into(),
        since: s.state.now,
        retried_at: s.state.now,
    });
    let done = text(&draw(&s, 120, 40))
        .lines()
        .find(|l| l.contains("ROLLBACK DONE"))
        .unwrap_or_default()
        .to_string();
    assert!(
        done.contains("NOT ALL RECORDED (note failing since 03:00:0"),
        "{done}"
    );
}

/// A group: its plan with a section per target, its confirm, and the run
/// lines (the group's, then one per member) while it runs.
#[test]
fn a_group_plan_confirm_and_progress() {
    let (mut s, _) = demo(Mode::Demo, None);
    s.state.settings.groups = vec![rbtui::core::group::GroupDef {
        name: "staging".into(),
        targets: vec!["search".into(), "catalog".into()],
        order: rbtui::core::group::Order::Sequential,
    }];
    select(&mut s, "search");
    s.press("R");
    s.advance(1000);
    snap("30_group_plan", &s);
    s.press("<Enter>");
    snap("31_group_confirm", &s);
    s.press("<Enter>");
    s.advance(3000);
    snap("32_group_in_progress", &s);
}

/// Seen: a history that could not be read showed its error cut at the
/// pane's edge with "loading history…" still under it. Now the error is
/// the pane's whole answer, wrapped to be read whole; a target never set
/// up is not called "poll failed".
#[test]
fn an_unreadable_history_is_said_whole_and_not_loading() {
    use rbtui::core::Action;
    use rbtui::core::error::BackendError;
    let (mut s, _b) = demo(Mode::Demo, None);
    let why = "rbtui.toml:27:1: target `orders`: no Argo CD token for argocd.example.com: set ARGOCD_AUTH_TOKEN or run `argocd login argocd.example.com`";
    select(&mut s, "orders");
    s.state.row_mut("orders").history = None;
    s.dispatch(Action::HistoryLoaded {
        target: "orders".into(),
        result: Err(BackendError::NotSetUp {
            said: why.into(),
            fix: "set ARGOCD_AUTH_TOKEN".into(),
        }),
    });
    s.dispatch(Action::HealthFailed {
        target: "orders".into(),
        error: BackendError::NotSetUp {
            said: why.into(),
            fix: "set ARGOCD_AUTH_TOKEN".into(),
        },
    });
    for (w, h) in SIZES {
        let t = text(&draw(&s, w, h));
        assert!(!t.contains("loading history"), "{t}");
        assert!(
            t.contains("run `argocd") || w < 100,
            "wrapped, read whole at {w}x{h}:\n{t}"
        );
        assert!(!t.contains("poll failed: not set up"), "{t}");
    }
    let t = text(&draw(&s, 120, 40));
    assert!(
        t.contains("cannot read history: not set up: rbtui.toml:27:1:"),
        "{t}"
    );
    snap("42_error_row", &s);
}

/// Seen: at 80x24 the group confirm cut its BLOCK reason off ("… more in
/// the plan"). Every WARN and BLOCK reason stays on the confirm; the
/// steps that do not fit are left to the plan.
#[test]
fn a_group_confirm_at_80x24_shows_every_block_reason() {
    let (mut s, _b) = demo(Mode::Demo, None);
    select(&mut s, "checkout");
    s.press("R");
    s.press("<Enter>");
    let g = s.state.group.clone().expect("group planned");
    let reasons: Vec<String> = g
        .plans
        .iter()
        .flat_map(|p| p.checks.iter())
        .filter(|c| c.status == rbtui::core::plan::CheckStatus::Block)
        .map(|c| c.detail.clone())
        .collect();
    assert!(!reasons.is_empty(), "shop has a BLOCK (orders' schema)");
    let t = text(&draw(&s, 80, 24));
    let flat: String = t.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(t.contains("BLOCK"), "{t}");
    for r in &reasons {
        let head: String = r.split_whitespace().take(5).collect::<Vec<_>>().join(" ");
        assert!(flat.contains(&head), "{head}:\n{t}");
    }
    // PgDn scrolls the confirm's own text to the steps that did not fit;
    // letters still go to the name being typed.
    assert!(t.contains("PgDn scrolls here"), "{t}");
    let last_step = g.plans.last().map(|p| p.target.name.clone()).unwrap();
    for _ in 0..6 {
        s.dispatch(rbtui::core::Action::Key(rbtui::core::Key::PageDown));
    }
    let t = text(&draw(&s, 80, 24));
    assert!(
        t.contains(&format!("roll back {last_step}")),
        "scrolled to the last member:\n{t}"
    );
    s.press("sh");
    assert!(
        matches!(&s.state.view.popup, Some(rbtui::core::state::Popup::GroupConfirm(f)) if f.name == "sh")
    );
}

/// Seen: at 80x24 Health showed 5 of 6 targets with no hint that more
/// exist. A list that holds more than it shows says so on its border.
#[test]
fn a_list_that_holds_more_says_so_on_its_border() {
    let (s, _b) = demo(Mode::Demo, None);
    let t = text(&draw(&s, 80, 24));
    let health_bottom = t
        .lines()
        .find(|l| l.starts_with('└') && l.contains("↓"))
        .unwrap_or_default();
    assert!(
        health_bottom.starts_with("└") && health_bottom.contains("↓1 more"),
        "{t}"
    );
    let t = text(&draw(&s, 120, 40));
    assert!(
        !t.lines().any(|l| l.contains("↓") && l.contains("Health")),
        "all six fit at 120x40:\n{t}"
    );
}

/// Seen: Activity showed 6 rows, long lines cut, and nowhere to read them
/// whole. `z` zooms the focused pane to the whole screen (and back), where
/// an entry is read whole.
#[test]
fn zoom_gives_the_focused_pane_the_screen_and_its_lines_whole() {
    let (mut s, _b) = demo(Mode::Demo, None);
    s.dispatch(rbtui::core::Action::NoteSubmitted(format!(
        "a long operator note {}",
        "word ".repeat(60)
    )));
    s.run_ready();
    s.press("5");
    let t = text(&draw(&s, 80, 24));
    assert!(
        t.contains("Health") && t.matches("word").count() < 60,
        "cut when not zoomed:\n{t}"
    );
    s.press("z");
    assert!(s.state.view.zoomed);
    snap("40_zoomed_activity", &s);
    for (w, h) in SIZES {
        let t = text(&draw(&s, w, h));
        assert!(
            !t.contains("1 Health") && t.contains("Activity"),
            "only Activity:\n{t}"
        );
        assert!(
            t.matches("word").count() >= 60,
            "the note's 60 words, whole, at {w}x{h}:\n{t}"
        );
    }
    s.press("z");
    assert!(text(&draw(&s, 80, 24)).contains("Health"), "back");
}

/// Seen: the status popup said "select with the mouse", which picks up
/// box borders and the pane beside it. `y` copies the focused item with
/// the text as the note has it: the status message, the plan, a
/// revision's image, an Activity line.
#[test]
fn y_copies_the_focused_item_as_the_note_has_it() {
    let (mut s, _b) = demo(Mode::Demo, None);
    s.press("s");
    let Some(rbtui::core::state::Popup::Status(_, draft)) = s.state.view.popup.clone() else {
        panic!("status popup: {:?}", s.state.view.popup)
    };
    s.press("y");
    assert_eq!(s.state.clipboard.take().as_deref(), Some(draft.as_str()));
    s.press("<Esc>");
    plan_to(&mut s, "checkout", "8");
    s.press("y");
    let plan = s.state.clipboard.take().expect("the plan copied");
    assert!(plan.contains("revision 8"), "{plan}");
    s.press("<Esc><Esc>2");
    s.press("y");
    let image = s.state.clipboard.take().expect("the revision's image");
    assert!(image.contains("@sha256:") || image.contains(':'), "{image}");
    s.press("5y");
    let line = s.state.clipboard.take().expect("an Activity line");
    assert!(line.starts_with("03:00:"), "{line}");
    let t = text(&draw(&s, 120, 40));
    assert!(t.contains("copied the Activity line"), "{t}");
}

/// k9s's and lazygit's mouse: a click focuses the pane under it and
/// selects the row clicked (read from the same layout the screen was drawn
/// with), the wheel scrolls the pane under it; a click never dismisses a
/// dialog.
#[test]
fn a_click_selects_what_is_under_it_and_the_wheel_scrolls_there() {
    use crossterm::event::{KeyModifiers, MouseButton, MouseEvent, MouseEventKind};
    let (mut s, _b) = demo(Mode::Demo, None);
    let area = ratatui::layout::Rect::new(0, 0, 120, 40);
    let at = |s: &rbtui::app::script::Script, needle: &str| -> (u16, u16) {
        let t = text(&draw(s, 120, 40));
        t.lines()
            .enumerate()
            .find_map(|(y, l)| {
                l.find(needle)
                    .map(|x| (l[..x].chars().count() as u16, y as u16))
            })
            .unwrap_or_else(|| panic!("{needle} on screen:\n{t}"))
    };
    let press = |s: &mut rbtui::app::script::Script, (x, y): (u16, u16), kind| {
        let m = MouseEvent {
            kind,
            column: x,
            row: y,
            modifiers: KeyModifiers::NONE,
        };
        for a in rbtui::app::input::mouse(&s.state, area, m) {
            s.dispatch(a);
        }
        s.run_ready();
    };
    let payments = at(&s, "payments ");
    press(&mut s, payments, MouseEventKind::Down(MouseButton::Left));
    assert_eq!(s.state.view.selected.as_deref(), Some("payments"));
    assert_eq!(s.state.view.focus, rbtui::core::state::Pane::Health);
    // A revision in History: focus moves there, the cursor on it.
    let h = s.state.history("payments").expect("history read").clone();
    let third = &h.revisions[2].id;
    let row = at(&s, &format!("  {third} "));
    press(&mut s, row, MouseEventKind::Down(MouseButton::Left));
    assert_eq!(s.state.view.focus, rbtui::core::state::Pane::History);
    assert_eq!(s.state.view.history_cursor, 2, "{third}");
    // The wheel over Checklist scrolls Checklist.
    let step = at(&s, "[ ]");
    press(&mut s, step, MouseEventKind::ScrollDown);
    assert_eq!(s.state.view.focus, rbtui::core::state::Pane::Checklist);
    assert_eq!(s.state.view.checklist_cursor, 3);
    // With a dialog open a click does nothing.
    s.press("?");
    press(&mut s, payments, MouseEventKind::Down(MouseButton::Left));
    assert_eq!(s.state.view.popup, Some(rbtui::core::state::Popup::Help));
}

/// `/` searches inside the plan, the help and Activity; `n`/`N` move
/// between matches and the view scrolls to the current one; the title
/// says which of how many; Esc clears (and only then closes).
#[test]
fn slash_searches_the_plan_the_help_and_activity() {
    let (mut s, _b) = demo(Mode::Demo, None);
    plan_to(&mut s, "orders", "41");
    s.press("/auto-sync<Enter>");
    let t = text(&draw(&s, 80, 24));
    assert!(t.contains("/auto-sync 1 of"), "{t}");
    s.press("n");
    assert!(
        text(&draw(&s, 80, 24)).contains("/auto-sync 2 of"),
        "n moves on"
    );
    s.press("<Esc>");
    assert_eq!(
        s.state.view.popup,
        Some(rbtui::core::state::Popup::Plan),
        "Esc cleared the search, the plan stays"
    );
    s.press("<Esc><Esc>?/quit<Enter>");
    let t = text(&draw(&s, 80, 24));
    assert!(t.contains("/quit 1 of") && t.contains("Help"), "{t}");
    snap("41_search_help", &s);
    s.press("<Esc><Esc>5/failing orders<Enter>");
    let t = text(&draw(&s, 120, 40));
    assert!(t.contains("/failing orders 1 of 1"), "{t}");
    s.press("/nothing like this<Enter>");
    assert!(text(&draw(&s, 120, 40)).contains("no match"));
}

/// Seen: a refused probe filled three of the detail rows with its error's
/// whole chain and cut the verdict. The pane says the kind of failure; the
/// verdict stays; zoomed, the whole text.
#[test]
fn a_refused_probe_leaves_the_verdict_in_view() {
    use rbtui::core::signals::{Signal, SignalKind};
    let (mut s, _b) = demo(Mode::Demo, None);
    let mut h = s.state.health("checkout").expect("read").clone();
    h.observed_at = s.state.now;
    h.signals.push(Signal {
        name: "probe".into(),
        kind: SignalKind::Probe,
        value: None,
        ok: Some(false),
        display: "connection refused: tcp connect error: Connection refused (os error 111)".into(),
        criterion: None,
        breached: true,
        observed_at: s.state.now,
        error: Some(
            "connection refused: tcp connect error: Connection refused (os error 111)".into(),
        ),
        pending_secs: None,
        clear_secs: None,
        history: vec![],
    });
    s.dispatch(rbtui::core::Action::HealthUpdated(vec![h]));
    select(&mut s, "checkout");
    let t = text(&draw(&s, 80, 24));
    assert!(
        t.contains("probe ✗ connection refused ") && !t.contains("os error 111"),
        "{t}"
    );
    assert!(
        t.contains("old)"),
        "the verdict whole, with its data's age:\n{t}"
    );
    s.press("z");
    let t = text(&draw(&s, 80, 24));
    assert!(
        t.contains("tcp connect error: Connection refused (os error"),
        "zoomed, the whole text:\n{t}"
    );
}
