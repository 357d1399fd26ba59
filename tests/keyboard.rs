//! The k9s keyboard on the demo: the `:` command line with completion, a
//! remapped key that works, and the help and footer that show the remap.
#![allow(clippy::unwrap_used)] // a failed unwrap in a test is a failed test

mod common;

use common::*;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use rbtui::core::keymap::Keymap;
use rbtui::core::model::Mode;
use rbtui::core::state::{Pane, Popup};

fn screen(s: &rbtui::app::script::Script) -> String {
    let mut t = Terminal::new(TestBackend::new(120, 40)).unwrap();
    let ui = rbtui::ui::Ui::default();
    t.draw(|f| rbtui::ui::render(&s.state, &ui, f)).unwrap();
    let b = t.backend().buffer().clone();
    (0..b.area.height)
        .map(|y| {
            (0..b.area.width)
                .map(|x| b[(x, y)].symbol().to_string())
                .collect::<String>()
                + "\n"
        })
        .collect()
}

#[test]
fn the_command_line_completes_selects_plans_and_says_what_it_does_not_know() {
    let (mut s, _) = demo(Mode::Demo, None);
    s.press(":tar<Tab>");
    assert_eq!(s.state.view.command.as_deref(), Some("target "));
    s.press("sea<Tab>");
    assert_eq!(s.state.view.command.as_deref(), Some("target search"));
    assert!(screen(&s).contains(":target search▏"), "the line is shown");
    s.press("<Enter>");
    assert_eq!(s.state.view.command, None);
    assert_eq!(s.state.view.selected.as_deref(), Some("search"));
    assert_eq!(s.state.view.focus, Pane::History);

    // A rollback by revision, or by lkg: the same fresh-read plan as Enter.
    s.press(":rollback l<Tab><Enter>");
    let p = s.state.plan.as_ref().expect("planned");
    assert_eq!((p.target.name.as_str(), p.to.id.as_str()), ("search", "17"));
    assert_eq!(s.state.view.popup, Some(Popup::Plan));
    s.press("<Esc>");

    // Ambiguity and unknown commands are said, nothing happens.
    s.press(":target c<Enter>");
    assert!(
        s.state.flash.as_ref().unwrap().1.contains("could be"),
        "{:?}",
        s.state.flash
    );
    s.press(":deploy<Enter>");
    let f = &s.state.flash.as_ref().unwrap().1;
    assert!(
        f.contains("unknown command `deploy`") && f.contains("rollback"),
        "{f}"
    );
    s.press(":q<Enter>");
    assert!(s.state.quitting, "quit with nothing in flight");
}

#[test]
fn a_remapped_key_works_and_the_help_and_footer_show_it() {
    let km = Keymap::with_overrides("keys.toml", "quit = [\"x\"]\nnotes = [\"q\"]\n").unwrap();
    let (mut s, _) = demo_with(Mode::Demo, None, |st| st.keymap = km);
    assert!(
        screen(&s).contains(" x quit "),
        "the footer names x:\n{}",
        screen(&s)
    );
    s.press("q");
    assert_eq!(
        s.state.view.popup,
        Some(Popup::Notes),
        "q now opens the notes"
    );
    s.press("<Esc>?");
    let help = screen(&s);
    let quit_line = help
        .lines()
        .find(|l| l.contains("quit (asks while"))
        .unwrap();
    assert!(quit_line.contains("  x "), "{quit_line}");
    let notes_line = help.lines().find(|l| l.contains("notes editor")).unwrap();
    assert!(notes_line.contains("  q "), "{notes_line}");
    s.press("<Esc>x");
    assert!(s.state.quitting, "x quits");
}
