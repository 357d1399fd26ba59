//! `?`: every key, grouped by where it works.

use crate::core::state::State;
use crate::ui::theme;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Wrap};

pub const KEYS: &[(&str, &str)] = &[
    ("Everywhere", ""),
    ("Tab, Shift-Tab, 1-5", "move between panes"),
    ("j k ↑ ↓ PgUp PgDn g G", "move in the focused pane"),
    ("Enter", "select: target → history → plan → confirm"),
    ("Esc", "back / close"),
    ("/", "filter targets (name, kind, environment)"),
    ("n", "notes editor; Ctrl-S appends to the note"),
    (
        "s",
        "draft a status message; 0 1 u r: P0, P1, update, resolved",
    ),
    ("p", "show the current plan again"),
    ("P", "write a postmortem draft beside the note"),
    (
        "t (in the plan)",
        "Kubernetes: pin digests / restore exactly",
    ),
    ("a", "Argo CD: re-enable auto-sync (after revert)"),
    ("?", "this help"),
    ("q, Ctrl-C", "quit (asks while a rollback runs)"),
    ("Health pane", ""),
    ("space", "mark a target to roll back with others"),
    (
        "R",
        "roll back together: the marked, or the selected one's [[group]]",
    ),
    ("Group plan", ""),
    ("f / v", "continue on failure / lkg ↔ previous"),
    ("Checklist pane", ""),
    ("space, Enter", "tick/untick, optional evidence line"),
    ("Confirm dialog", ""),
    ("type", "target name (prod), override reason (BLOCK)"),
    ("Tab", "switch between the two fields"),
    ("Enter", "execute the plan exactly as shown"),
];

pub fn render(s: &State, f: &mut Frame, area: Rect) {
    f.render_widget(Clear, area);
    let mut lines = vec![Line::styled(
        format!(
            "rbtui {} — mode {}",
            env!("CARGO_PKG_VERSION"),
            s.settings.mode.label()
        ),
        theme::BOLD,
    )];
    for (k, w) in KEYS {
        if w.is_empty() {
            lines.push(Line::styled(*k, theme::BOLD));
        } else {
            lines.push(Line::from(vec![
                Span::styled(format!("  {k:<24}"), theme::KEY),
                Span::raw(*w),
            ]));
        }
    }
    lines.push(Line::styled("Every plan, confirmation, action and result is fsync'd to the note before Activity shows it.", theme::DIM));
    f.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(Block::bordered().title(" Help — Esc to close ")),
        area,
    );
}
