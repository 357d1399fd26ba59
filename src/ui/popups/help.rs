//! `?`: every key, drawn from the keymap in force (so a remapped key shows
//! as remapped), then the fixed keys of each dialog.

use crate::core::keymap::Command;
use crate::core::state::State;
use crate::ui::theme;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Wrap};

/// Keys no keymap changes: Enter, Esc, Ctrl-C and those inside dialogs.
pub const FIXED: &[(&str, &str)] = &[
    ("Enter", "select: target → history → plan → confirm"),
    ("Esc", "back / close"),
    ("t (plan)", "Kubernetes: pin digests / restore exactly"),
    (
        "r (plan)",
        "re-tag instead, where the config allows it (retag = true)",
    ),
    ("f / v (group plan)", "continue on failure / lkg ↔ previous"),
    ("Tab (confirm)", "switch between the name and the reason"),
    ("Enter (confirm)", "execute the plan exactly as shown"),
    ("Tab (command line)", "complete the command or its argument"),
];

pub fn render(s: &State, f: &mut Frame, area: Rect) {
    f.render_widget(Clear, area);
    let km = &s.settings.keymap;
    let mut lines = vec![Line::styled(
        format!(
            "rbtui {} — mode {}",
            env!("CARGO_PKG_VERSION"),
            s.settings.mode.label()
        ),
        theme::BOLD,
    )];
    let row = |k: String, w: &str| {
        Line::from(vec![
            Span::styled(format!("  {k:<22}"), theme::KEY),
            Span::raw(w.to_string()),
        ])
    };
    lines.push(Line::styled("Keys (keys.toml)", theme::BOLD));
    // The five panes on one line.
    let panes = [
        Command::Pane1,
        Command::Pane2,
        Command::Pane3,
        Command::Pane4,
        Command::Pane5,
    ];
    let joined = panes
        .iter()
        .map(|c| km.label(*c))
        .collect::<Vec<_>>()
        .join(" ");
    lines.push(row(
        joined,
        "Health, History, Migrations, Checklist, Activity",
    ));
    for c in Command::ALL.into_iter().filter(|c| !panes.contains(c)) {
        lines.push(row(km.label(c), c.what()));
    }
    lines.push(Line::styled("Fixed", theme::BOLD));
    for (k, w) in FIXED {
        lines.push(row(k.to_string(), w));
    }
    lines.push(Line::styled(
        "Every plan, confirmation, action and result is fsync'd to the note before Activity shows it.",
        theme::DIM,
    ));
    // Scrolls (the movement keys) where the terminal is too short for it.
    let inner_h = area.height.saturating_sub(2);
    let total = super::plan::wrapped_height(&lines, area.width.saturating_sub(2));
    let q = crate::core::search::current(s);
    let (lines, found) = crate::ui::searched::mark(lines, q, area.width.saturating_sub(2));
    let scroll = found
        .as_ref()
        .map_or(s.view.plan_scroll as u16, |m| {
            m.row.saturating_sub(inner_h / 3)
        })
        .min(total.saturating_sub(inner_h));
    let title = if total > inner_h {
        " Help — ↓/↑ scroll, / search, Esc to close ".to_string()
    } else {
        " Help — / search, Esc to close ".to_string()
    } + &crate::ui::searched::said(q, &found);
    f.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .scroll((scroll, 0))
            .block(Block::bordered().title(title)),
        area,
    );
}
