//! Terminal key events to the core's keys.

use crate::core::Key;
use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

pub fn key(ev: KeyEvent) -> Option<Key> {
    if ev.kind == KeyEventKind::Release {
        return None;
    }
    let ctrl = ev.modifiers.contains(KeyModifiers::CONTROL);
    Some(match ev.code {
        KeyCode::Char(c) if ctrl => Key::Ctrl(c.to_ascii_lowercase()),
        KeyCode::Char(c) => Key::Char(c),
        KeyCode::Enter => Key::Enter,
        KeyCode::Esc => Key::Esc,
        KeyCode::Tab => Key::Tab,
        KeyCode::BackTab => Key::BackTab,
        KeyCode::Up => Key::Up,
        KeyCode::Down => Key::Down,
        KeyCode::Left => Key::Left,
        KeyCode::Right => Key::Right,
        KeyCode::PageUp => Key::PageUp,
        KeyCode::PageDown => Key::PageDown,
        KeyCode::Home => Key::Home,
        KeyCode::End => Key::End,
        KeyCode::Backspace => Key::Backspace,
        _ => return None,
    })
}

/// What a mouse event does, as actions: a left press focuses the pane
/// under it and selects the row (`ui::hit` reads the same layout the
/// screen was drawn with); the wheel scrolls the pane under it (or the
/// open dialog) three rows a notch. Everything else is ignored.
pub fn mouse(
    s: &crate::core::State,
    area: ratatui::layout::Rect,
    m: crossterm::event::MouseEvent,
) -> Vec<crate::core::Action> {
    use crate::core::Action;
    use crossterm::event::{MouseButton, MouseEventKind as K};
    let here = || crate::ui::hit(s, area, m.column, m.row);
    let wheel = |k: Key| {
        let mut v = Vec::new();
        if s.view.popup.is_none() {
            if let Some((pane, _)) = here() {
                v.push(Action::Click { pane, item: None });
            }
        }
        v.extend(std::iter::repeat_n(Action::Key(k), 3));
        v
    };
    match m.kind {
        K::Down(MouseButton::Left) => here()
            .map(|(pane, item)| vec![Action::Click { pane, item }])
            .unwrap_or_default(),
        K::ScrollDown => wheel(Key::Down),
        K::ScrollUp => wheel(Key::Up),
        _ => Vec::new(),
    }
}
