//! The small popups: notes editor, evidence line, status message, quit.

use crate::core::state::State;
use crate::ui::Ui;
use crate::ui::theme;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Block, Clear, Paragraph, Wrap};

pub fn notes(ui: &Ui, f: &mut Frame, area: Rect) {
    f.render_widget(Clear, area);
    let block =
        Block::bordered().title(" Note for the incident record — Ctrl-S append · Esc close ");
    let inner = block.inner(area);
    f.render_widget(block, area);
    f.render_widget(&ui.editor, inner);
}

pub fn evidence(s: &State, step: &str, text: &str, f: &mut Frame, area: Rect) {
    f.render_widget(Clear, area);
    let ticked = s
        .view
        .selected
        .as_ref()
        .and_then(|t| s.checklist(t))
        .is_some_and(|c| c.contains_key(step));
    let verb = if ticked { "Untick" } else { "Tick" };
    let lines = vec![
        Line::styled(format!("{verb} step `{step}`"), theme::BOLD),
        Line::raw(""),
        Line::raw(format!("Evidence (optional): {text}▏")),
        Line::raw(""),
        Line::styled("Enter: record · Esc: cancel", theme::DIM),
    ];
    f.render_widget(
        Paragraph::new(lines).block(Block::bordered().title(" Checklist ")),
        area,
    );
}

/// A plan asked for: its fresh read under way, or why no plan came.
pub fn reading(target: &str, error: Option<&str>, f: &mut Frame, area: Rect) {
    f.render_widget(Clear, area);
    let (line, style) = match error {
        None => (format!("Reading {target} afresh to plan…"), theme::BOLD),
        Some(e) => (format!("No plan for {target}: {e}"), theme::ERROR),
    };
    let lines = vec![
        Line::styled(line, style),
        Line::raw(""),
        Line::styled("Esc: close (keys typed meanwhile go nowhere)", theme::DIM),
    ];
    f.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: true })
            .block(Block::bordered().title(" Plan ")),
        area,
    );
}

/// The draft, scrolled (j/k) when it covers more targets than fit.
pub fn status(
    which: crate::core::status::Comms,
    text: &str,
    scroll: usize,
    f: &mut Frame,
    area: Rect,
) {
    f.render_widget(Clear, area);
    let block = Block::bordered().title(format!(
        " Status message ({}) — recorded to the note when closed, not posted · 0 1 u r: switch · j/k · Esc ",
        which.label()
    ));
    let inner = block.inner(area);
    f.render_widget(block, area);
    let [body, hint] = Layout::vertical([Constraint::Fill(1), Constraint::Length(1)]).areas(inner);
    f.render_widget(
        Paragraph::new(text.to_string())
            .wrap(Wrap { trim: false })
            .scroll((scroll.min(u16::MAX as usize) as u16, 0)),
        body,
    );
    f.render_widget(
        Line::styled(
            "y copies it to the clipboard (OSC 52, over ssh and tmux too); the note keeps it when closed.",
            theme::DIM,
        ),
        hint,
    );
}

pub fn quit(s: &State, f: &mut Frame, area: Rect) {
    f.render_widget(Clear, area);
    let t: Vec<String> = s
        .runs
        .iter()
        .filter(|r| r.in_flight())
        .map(|r| r.plan.target.name.clone())
        .collect();
    let what = match &s.group {
        Some(g) if g.running() => format!("The rollback of group {} is in flight.", g.name),
        _ => format!("A rollback of {} is in flight.", t.join(", ")),
    };
    let lines = vec![
        Line::styled(what, theme::ERROR),
        Line::raw("Quitting stops rbtui watching it; the platform carries on."),
        Line::raw(""),
        Line::styled("y: quit anyway · any other key: stay", theme::BOLD),
    ];
    f.render_widget(
        Paragraph::new(lines).block(
            Block::bordered()
                .border_style(theme::ERROR)
                .title(" Quit? "),
        ),
        area,
    );
}
