//! `?`: every key, grouped by where it works.

use crate::core::state::State;
use crate::ui::theme;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};
use ratatui::Frame;

pub const KEYS: &[(&str, &str)] = &[
    ("Everywhere", ""),
    ("Tab / Shift-Tab, 1-5", "move between panes"),
    ("j / k, ↑ / ↓, PgUp/PgDn, g/G", "move in the focused pane"),
    ("Enter", "select: target → history → plan → confirm"),
    ("Esc", "back / close"),
    ("/", "filter targets by name, kind or environment"),
    ("n", "notes editor (Ctrl-S appends to the incident note)"),
    ("s", "draft a ready-to-paste status message (recorded)"),
    ("p", "show the current plan again"),
    ("?", "this help"),
    ("q, Ctrl-C", "quit (asks first while a rollback is in flight)"),
    ("Checklist pane", ""),
    ("space / Enter", "tick or untick a step, with an optional evidence line"),
    ("Confirm dialog", ""),
    ("type", "the target name (prod) and/or an override reason (blocked check)"),
    ("Tab", "switch between the two fields"),
    ("Enter", "execute the plan exactly as shown"),
];

pub fn render(s: &State, f: &mut Frame, area: Rect) {
    f.render_widget(Clear, area);
    let mut lines = vec![Line::styled(format!("rbtui {} — mode {}", env!("CARGO_PKG_VERSION"), s.settings.mode.label()), theme::BOLD), Line::raw("")];
    for (k, w) in KEYS {
        if w.is_empty() {
            lines.push(Line::styled(*k, theme::BOLD));
        } else {
            lines.push(Line::from(vec![Span::styled(format!("  {k:<30}"), theme::KEY), Span::raw(*w)]));
        }
    }
    lines.push(Line::raw(""));
    lines.push(Line::styled("Every plan, confirmation, action and result is appended to the note and fsync'd", theme::DIM));
    lines.push(Line::styled("before the Activity pane shows it.", theme::DIM));
    f.render_widget(Paragraph::new(lines).block(Block::bordered().title(" Help — Esc to close ")), area);
}
