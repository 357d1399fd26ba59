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

/// What is confirmed: one plan, or a group's plans.
struct Subject<'a> {
    title: String,
    prod: bool,
    body: Vec<Line<'a>>,
    /// The name to type when prod is touched.
    name: String,
    needs_override: bool,
}

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
    body.extend(steps_and_warnings(p, "  "));
    let subject = Subject {
        title: format!(" Confirm plan #{} ", p.id),
        prod,
        body,
        name: p.target.name.clone(),
        needs_override: p.needs_override(),
    };
    draw(subject, form, s.view.plan_scroll, f, screen);
}

/// The group's confirm: every member's steps and warnings, one typed name.
pub fn render_group(s: &State, form: &ConfirmForm, f: &mut Frame, screen: Rect) {
    let Some(g) = &s.group else { return };
    let prod = g.needs_typed_name();
    let mut body = Vec::new();
    if prod {
        let names: Vec<String> = g
            .plans
            .iter()
            .filter(|p| p.target.is_prod())
            .map(|p| p.target.name.clone())
            .collect();
        body.push(Line::styled(
            format!(" PRODUCTION · {} ", names.join(", ")),
            theme::PROD,
        ));
    }
    body.push(Line::styled(
        format!(
            "{} targets, {}; on a failure: {}",
            g.members.len(),
            g.order.label(),
            if g.continue_on_failure {
                "CONTINUE with the others"
            } else {
                "stop every step not yet started"
            }
        ),
        theme::BOLD,
    ));
    for p in g.ordered() {
        body.push(Line::styled(format!("{}:", p.title()), theme::BOLD));
        body.extend(steps_and_warnings(p, "    "));
    }
    let subject = Subject {
        title: format!(" Confirm group {} ", g.name),
        prod,
        body,
        name: g.name.clone(),
        needs_override: g.needs_override(),
    };
    draw(subject, form, s.view.plan_scroll, f, screen);
}

fn steps_and_warnings<'a>(p: &crate::core::plan::RollbackPlan, indent: &str) -> Vec<Line<'a>> {
    let mut body: Vec<Line> = p
        .confirm_lines()
        .into_iter()
        .skip(1)
        .map(|l| Line::raw(format!("{indent}{l}")))
        .collect();
    for c in p.checks.iter().filter(|c| c.status >= CheckStatus::Warn) {
        body.push(Line::from(vec![
            Span::styled(format!(" {} ", c.status.label()), theme::check(c.status)),
            Span::raw(format!(" {}", c.detail)),
        ]));
    }
    body
}

fn draw(subject: Subject, form: &ConfirmForm, s_scroll: usize, f: &mut Frame, screen: Rect) {
    let Subject {
        title,
        prod,
        mut body,
        name,
        needs_override,
    } = subject;
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
    if prod {
        tail.push(field(
            format!("Type `{name}` to confirm: "),
            &form.name,
            form.field == ConfirmField::Name,
        ));
    }
    if needs_override {
        tail.push(field(
            "Override reason (recorded): ".into(),
            &form.reason,
            form.field == ConfirmField::Reason,
        ));
    }
    if !prod && !needs_override {
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
    let block = Block::bordered().border_style(border).title(title);
    let inner = block.inner(area);
    f.render_widget(block, area);
    let [top, _gap, bottom] = Layout::vertical([
        Constraint::Fill(1),
        Constraint::Length(1),
        Constraint::Length(tail_h),
    ])
    .areas(inner);
    let scroll = s_scroll.min(body_h.saturating_sub(top.height) as usize) as u16;
    if body_h > top.height && scroll > 0 {
        // Scrolled (PgDn): the whole text, from where the operator is.
        f.render_widget(
            Paragraph::new(body)
                .wrap(Wrap { trim: false })
                .scroll((scroll, 0)),
            top,
        );
        f.render_widget(Paragraph::new(tail).wrap(Wrap { trim: false }), bottom);
        return;
    }
    if body_h > top.height {
        body = fit(body, top.height, inner_w);
    }
    f.render_widget(Paragraph::new(body).wrap(Wrap { trim: false }), top);
    f.render_widget(Paragraph::new(tail).wrap(Wrap { trim: false }), bottom);
}

/// The confirm's text cut to `height` rows: every WARN and BLOCK reason
/// stays (the operator confirms against them); steps that do not fit are
/// in the plan, and the last row says how to see them.
fn fit<'a>(body: Vec<Line<'a>>, height: u16, inner_w: u16) -> Vec<Line<'a>> {
    // Every WARN and BLOCK reason stays: the operator confirms
    // against them; steps that do not fit are in the plan.
    let keep = height.saturating_sub(1) as usize;
    let is_check = |l: &Line| {
        l.spans
            .first()
            .is_some_and(|sp| matches!(sp.content.trim(), "BLOCK" | "WARN"))
    };
    let h = |l: &Line| wrapped_height(std::slice::from_ref(l), inner_w) as usize;
    let mut room = keep.saturating_sub(body.iter().filter(|l| is_check(l)).map(h).sum());
    let mut cut: Vec<Line> = Vec::new();
    for l in body {
        if is_check(&l) {
            cut.push(l);
        } else if h(&l) <= room {
            room -= h(&l);
            cut.push(l);
        } else {
            room = 0;
        }
    }
    cut.push(Line::styled(
        "… more: PgDn scrolls here, Esc shows the plan",
        theme::DIM,
    ));
    cut
}
