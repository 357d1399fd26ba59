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
    let lines = body(s, p);
    let footer = verdict_line(p);
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
    if p.is_retag() {
        foot.push(Line::styled(
            "r: roll back instead (a new ReplicaSet from the revision's template, with a git-visible trail)",
            theme::DIM,
        ));
    } else if s.settings.retag.contains(&p.target.name) && p.is_rollback() {
        foot.push(Line::styled(
            "r: re-tag instead (ECR runbook option B: the mutable tag → this build, then restart; NO GIT TRACE)",
            theme::WARN,
        ));
    }
    framed(s, f, screen, border, title, lines, foot);
}

/// A group's plan: a section per target (its steps, checks, schema verdict
/// and diff), one verdict for the whole at the bottom.
pub fn render_group(s: &State, f: &mut Frame, screen: Rect) {
    let Some(g) = &s.group else { return };
    let prod = g.plans.iter().any(|p| p.target.is_prod());
    let border = if prod { theme::ERROR } else { theme::BOLD };
    let title = format!(
        " Plan — {}{} ",
        g.title(),
        if prod { " (PROD)" } else { "" }
    );
    let mut lines = vec![Line::styled(
        format!(
            "One confirm rolls back {} targets {}; on a failure: {} (f toggles)",
            g.members.len(),
            match g.order {
                crate::core::group::Order::Sequential =>
                    "one after another, each verified before the next",
                crate::core::group::Order::Parallel => "at once",
            },
            if g.continue_on_failure {
                "CONTINUE with the others"
            } else {
                "stop every step not yet started"
            }
        ),
        theme::BOLD,
    )];
    for m in &g.members {
        lines.push(Line::raw(""));
        match g.plans.iter().find(|p| &p.target.name == m) {
            Some(p) => {
                lines.push(Line::from(vec![
                    Span::styled(format!("━━ {m} "), theme::BOLD),
                    Span::styled(format!("plan #{} ", p.id), theme::DIM),
                    section_verdict(p),
                ]));
                lines.extend(body(s, p));
            }
            None => {
                let why = g
                    .unplanned
                    .iter()
                    .find(|(u, _)| u == m)
                    .map(|(_, w)| Line::styled(format!("━━ {m}: NO PLAN — {w}"), theme::ERROR))
                    .or_else(|| {
                        let (_, w) = g.skipped.iter().find(|(u, _)| u == m)?;
                        Some(Line::styled(format!("━━ {m}: LEFT OUT — {w}"), theme::OK))
                    })
                    .unwrap_or_else(|| {
                        Line::styled(format!("━━ {m}: reading it afresh…"), theme::DIM)
                    });
                lines.push(why);
            }
        }
    }
    let foot = match g.not_confirmable() {
        Some(why) if g.read() && !g.plans.iter().any(|p| p.pending()) => {
            vec![Line::styled(format!("REFUSED: {why}"), theme::ERROR)]
        }
        Some(why) => vec![Line::styled(why, theme::DIM)],
        None if g.needs_override() => vec![Line::styled(
            "BLOCKED somewhere above: Enter opens the confirm, which needs a typed override reason (recorded).",
            theme::ERROR,
        )],
        None => vec![Line::styled(
            "Enter: confirm all…   f: continue on failure   v: lkg ↔ previous   Esc: back",
            theme::OK,
        )],
    };
    framed(s, f, screen, border, title, lines, foot);
}

/// A group section's verdict, in a few words beside its name.
fn section_verdict(p: &crate::core::plan::RollbackPlan) -> Span<'static> {
    if p.pending() {
        Span::styled("checks running…", theme::DIM)
    } else if let Some(r) = p.refusal() {
        Span::styled(format!("REFUSED: {}", r.detail), theme::ERROR)
    } else if p.needs_override() {
        Span::styled("BLOCKED: needs a typed override reason", theme::ERROR)
    } else if p.worst() == CheckStatus::Warn {
        Span::styled("warnings below", theme::WARN)
    } else {
        Span::styled("all checks pass", theme::OK)
    }
}

/// A plan's verdict in one line: waiting, refused, blocked, warned or clear.
fn verdict_line(p: &crate::core::plan::RollbackPlan) -> Line<'static> {
    if p.pending() {
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
    }
}

/// The plan's steps, checks, schema verdict and diff.
fn body(s: &State, p: &crate::core::plan::RollbackPlan) -> Vec<Line<'static>> {
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
    lines
}

/// The popup's frame: the body scrolls (j/k), the verdict stays in view.
fn framed(
    s: &State,
    f: &mut Frame,
    screen: Rect,
    border: ratatui::style::Style,
    title: String,
    lines: Vec<Line<'static>>,
    foot: Vec<Line>,
) {
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
    // A search scrolls to its current match, a third down the body.
    let q = crate::core::search::current(s);
    let (lines, found) = crate::ui::searched::mark(lines, q, body.width);
    let scroll = match &found {
        Some(m) => m.row.saturating_sub(body.height / 3),
        None => s.view.plan_scroll as u16,
    };
    let para = Paragraph::new(lines)
        .wrap(Wrap { trim: false })
        .scroll((scroll.min(max_scroll), 0));
    f.render_widget(para, body);
    let note = crate::ui::searched::said(q, &found);
    crate::ui::border_note(f, area, note, area.y);
    f.render_widget(Paragraph::new(foot).wrap(Wrap { trim: false }), bottom);
}

pub use crate::ui::wrapped_height;
