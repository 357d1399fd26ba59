//! The confirm dialog: the plan's own words, then what must be typed.

use crate::core::state::{ConfirmField, ConfirmForm, State};
use crate::ui::theme;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Wrap};
use ratatui::Frame;

pub fn render(s: &State, form: &ConfirmForm, f: &mut Frame, screen: Rect) {
    let Some(p) = &s.plan else { return };
    let prod = p.target.is_prod();
    let mut lines = Vec::new();
    if prod {
        lines.push(Line::styled(format!(" PRODUCTION · {} · {} ", p.target.name, p.target.location), theme::PROD));
    }
    lines.push(Line::styled("This will be done, in this order:", theme::BOLD));
    lines.extend(p.confirm_lines().into_iter().map(|l| Line::raw(format!("  {l}"))));
    for c in p.checks.iter().filter(|c| c.status >= crate::core::plan::CheckStatus::Warn) {
        lines.push(Line::from(vec![Span::styled(format!(" {} ", c.status.label()), theme::check(c.status)), Span::raw(format!(" {}", c.detail))]));
    }
    lines.push(Line::raw(""));
    let field = |label: String, value: &str, active: bool| {
        let st = if active { Style::new().fg(Color::Black).bg(Color::White).add_modifier(Modifier::BOLD) } else { Style::new().add_modifier(Modifier::UNDERLINED) };
        Line::from(vec![Span::styled(label, theme::BOLD), Span::styled(format!("{value}{}", if active { "▏" } else { "" }), st)])
    };
    if p.needs_typed_name() {
        lines.push(field(format!("Type the target name `{}` to confirm: ", p.target.name), &form.name, form.field == ConfirmField::Name));
    }
    if p.needs_override() {
        lines.push(field("Override reason for the BLOCK (recorded): ".into(), &form.reason, form.field == ConfirmField::Reason));
    }
    if !p.needs_typed_name() && !p.needs_override() {
        lines.push(Line::styled("Press Enter to execute, Esc to go back.", theme::BOLD));
    }
    if let Some(e) = &form.error {
        lines.push(Line::styled(e.clone(), theme::ERROR));
    }
    let border = if prod { theme::ERROR } else { theme::BOLD };
    let area = super::centered(screen, 100, super::plan::wrapped_height(&lines, 98) + 2);
    f.render_widget(Clear, area);
    f.render_widget(
        Paragraph::new(lines).wrap(Wrap { trim: false }).block(Block::bordered().border_style(border).title(format!(" Confirm plan #{} ", p.id))),
        area,
    );
}
