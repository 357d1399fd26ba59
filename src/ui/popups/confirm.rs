//! The confirm dialog: the plan's own words, then what must be typed. The
//! input fields always stay visible; on a small terminal the plan text is
//! cut instead (the full plan stays one Esc away).

use super::plan::wrapped_height;
use crate::core::plan::CheckStatus;
use crate::core::state::{ConfirmField, ConfirmForm, State};
use crate::ui::theme;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Wrap};

pub fn render(s: &State, form: &ConfirmForm, f: &mut Frame, screen: Rect) {
    let Some(p) = &s.plan else { return };
    let prod = p.target.is_prod();
    let mut body = Vec::new();
    if prod {
        body.push(Line::styled(
            format!(" PRODUCTION · {} · {} ", p.target.name, p.target.location),
            theme::PROD,
        ));
    }
    body.push(Line::styled(
        "This will be done, in this order:",
        theme::BOLD,
    ));
    body.extend(
        p.confirm_lines()
            .into_iter()
            .skip(1)
            .map(|l| Line::raw(format!("  {l}"))),
    );
    for c in p.checks.iter().filter(|c| c.status >= CheckStatus::Warn) {
        body.push(Line::from(vec![
            Span::styled(format!(" {} ", c.status.label()), theme::check(c.status)),
            Span::raw(format!(" {}", c.detail)),
        ]));
    }
    let field = |label: String, value: &str, active: bool| {
        let st = if active {
            Style::new()
                .fg(Color::Black)
                .bg(Color::White)
                .add_modifier(Modifier::BOLD)
        } else {
            Style::new().add_modifier(Modifier::UNDERLINED)
        };
        Line::from(vec![
            Span::styled(label, theme::BOLD),
            Span::styled(format!("{value}{}", if active { "▏" } else { "" }), st),
        ])
    };
    let mut tail = Vec::new();
    if p.needs_typed_name() {
        tail.push(field(
            format!("Type `{}` to confirm: ", p.target.name),
            &form.name,
            form.field == ConfirmField::Name,
        ));
    }
    if p.needs_override() {
        tail.push(field(
            "Override reason (recorded): ".into(),
            &form.reason,
            form.field == ConfirmField::Reason,
        ));
    }
    if !p.needs_typed_name() && !p.needs_override() {
        tail.push(Line::styled(
            "Press Enter to execute, Esc to go back.",
            theme::BOLD,
        ));
    }
    if let Some(e) = &form.error {
        tail.push(Line::styled(e.clone(), theme::ERROR));
    }
    let inner_w = 98.min(screen.width.saturating_sub(4));
    let tail_h = wrapped_height(&tail, inner_w);
    let body_h = wrapped_height(&body, inner_w);
    let area = super::centered(screen, 100, body_h + tail_h + 3);
    f.render_widget(Clear, area);
    let border = if prod { theme::ERROR } else { theme::BOLD };
    let block = Block::bordered()
        .border_style(border)
        .title(format!(" Confirm plan #{} ", p.id));
    let inner = block.inner(area);
    f.render_widget(block, area);
    let [top, _gap, bottom] = Layout::vertical([
        Constraint::Fill(1),
        Constraint::Length(1),
        Constraint::Length(tail_h),
    ])
    .areas(inner);
    if body_h > top.height {
        let keep = top.height.saturating_sub(1) as usize;
        let mut cut: Vec<Line> = Vec::new();
        let mut used = 0usize;
        for l in body {
            let h = wrapped_height(std::slice::from_ref(&l), inner_w) as usize;
            if used + h > keep {
                break;
            }
            used += h;
            cut.push(l);
        }
        cut.push(Line::styled(
            "… more in the plan (Esc shows it)",
            theme::DIM,
        ));
        body = cut;
    }
    f.render_widget(Paragraph::new(body).wrap(Wrap { trim: false }), top);
    f.render_widget(Paragraph::new(tail).wrap(Wrap { trim: false }), bottom);
}
