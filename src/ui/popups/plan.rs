//! The plan: what will be done, the pre-flight checks, the schema verdict.

use crate::core::plan::CheckStatus;
use crate::core::state::State;
use crate::ui::theme;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Wrap};

pub fn render(s: &State, f: &mut Frame, screen: Rect) {
    let Some(p) = &s.plan else { return };
    let border = if p.target.is_prod() {
        theme::ERROR
    } else {
        theme::BOLD
    };
    let title = format!(
        " Plan #{} — {} ({}) ",
        p.id,
        p.title(),
        p.target.environment.to_uppercase()
    );
    let mut lines: Vec<Line> = p.confirm_lines().into_iter().map(Line::raw).collect();
    if p.is_rollback() {
        // How long "verify" may take, and why, before anyone confirms.
        let w = crate::core::verify::window(&s.settings, &p.target.name);
        lines.push(Line::styled(
            format!(
                "   Verify takes up to {} after convergence ({})",
                crate::core::verify::span(w.secs),
                w.why
            ),
            if w.too_short { theme::WARN } else { theme::DIM },
        ));
    }
    lines.push(Line::raw(""));
    lines.push(Line::styled("Pre-flight checks", theme::BOLD));
    for c in &p.checks {
        lines.push(Line::from(vec![
            Span::styled(format!(" {:^7}", c.status.label()), theme::check(c.status)),
            Span::styled(format!(" {:<12}", c.id), theme::BOLD),
            Span::raw(c.detail.clone()),
        ]));
    }
    if let Some(d) = &p.migration {
        lines.push(Line::raw(""));
        let (ok, review, bad) = d.counts();
        lines.push(Line::from(vec![
            Span::styled("Schema: ", theme::BOLD),
            Span::raw(format!(
                "{} — {} file(s), {ok} ok, {review} review, {bad} UNSAFE (see Migrations pane)",
                d.verdict.label(),
                d.files.len()
            )),
        ]));
        for (file, st) in d.unsafe_statements().take(4) {
            lines.push(Line::styled(
                format!("  !! {}:{} {}", file.path, st.line, st.reason),
                theme::ERROR,
            ));
        }
    }
    if let Some(diff) = &p.diff {
        lines.push(Line::raw(""));
        lines.push(Line::styled("What changes (j/k to scroll)", theme::BOLD));
        for l in diff.lines() {
            let style = if l.starts_with("+++") || l.starts_with("---") || l.starts_with("@@") {
                theme::DIM
            } else if l.starts_with('+') {
                theme::OK
            } else if l.starts_with('-') {
                theme::ERROR
            } else {
                ratatui::style::Style::new()
            };
            lines.push(Line::styled(format!("  {l}"), style));
        }
    }
    let footer = if p.pending() {
        Line::styled("Waiting for the pre-flight checks…", theme::DIM)
    } else if let Some(r) = p.refusal() {
        Line::styled(
            format!(
                "REFUSED: {} — nothing can be executed from this plan.",
                r.detail
            ),
            theme::ERROR,
        )
    } else if p.needs_override() {
        Line::styled(
            "BLOCKED: Enter opens the confirm dialog, which needs a typed override reason (recorded).",
            theme::ERROR,
        )
    } else if p.worst() == CheckStatus::Warn {
        Line::styled("Warnings above. Enter: confirm…   Esc: back", theme::WARN)
    } else {
        Line::styled("All checks pass. Enter: confirm…   Esc: back", theme::OK)
    };
    // The verdict line stays visible; the body scrolls (j/k) when it does not fit.
    let mut foot = vec![footer];
    if p.pinned() {
        foot.push(Line::styled(
            "t: restore the template exactly instead (kubectl's semantics: the mutable tag as written)",
            theme::DIM,
        ));
    } else if p.exact_template {
        foot.push(Line::styled(
            "t: pin each mutable tag to the digest its pods ran instead",
            theme::DIM,
        ));
    }
    let foot_h = wrapped_height(&foot, 108);
    let area = super::centered(screen, 110, wrapped_height(&lines, 108) + foot_h + 3);
    f.render_widget(Clear, area);
    let block = Block::bordered().border_style(border).title(title);
    let inner = block.inner(area);
    f.render_widget(block, area);
    let [body, _gap, bottom] = Layout::vertical([
        Constraint::Fill(1),
        Constraint::Length(1),
        Constraint::Length(foot_h),
    ])
    .areas(inner);
    let max_scroll = wrapped_height(&lines, body.width).saturating_sub(body.height);
    let para = Paragraph::new(lines)
        .wrap(Wrap { trim: false })
        .scroll(((s.view.plan_scroll as u16).min(max_scroll), 0));
    f.render_widget(para, body);
    f.render_widget(Paragraph::new(foot).wrap(Wrap { trim: false }), bottom);
}

/// Rows the lines take once wrapped at `width`, so popups fit their text.
pub fn wrapped_height(lines: &[Line], width: u16) -> u16 {
    let w = width.max(1) as usize;
    lines
        .iter()
        .map(|l| l.width().max(1).div_ceil(w) as u16)
        .sum()
}
