//! The runbook of the selected target's kind, with what is done and how.

use crate::core::fmt::hms;
use crate::core::runbook::fill;
use crate::core::state::{Pane, State};
use crate::ui::{pane_block, theme, window};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

/// The step rows, the first shown and how many there are: where a mouse
/// press selects one.
pub fn list(s: &State, area: Rect) -> Option<(Rect, usize, usize)> {
    let inner = ratatui::widgets::Block::bordered().inner(area);
    let t = s.selected_target()?;
    let n = s.runbook_for(t)?.steps.len();
    let head = u16::from(inner.height >= 6);
    let [_, list, _] = Layout::vertical([
        Constraint::Length(head),
        Constraint::Fill(1),
        Constraint::Length(2),
    ])
    .areas(inner);
    let first = crate::ui::window(s.view.checklist_cursor, n, list.height as usize);
    Some((list, first, n))
}

pub fn render(s: &State, f: &mut Frame, area: Rect) {
    let t = s.selected_target();
    let rb = t.and_then(|t| s.runbook_for(t));
    let ticks = t.and_then(|t| s.checklist(&t.name));
    let done = rb
        .as_ref()
        .map(|r| {
            r.steps
                .iter()
                .filter(|st| ticks.is_some_and(|c| c.contains_key(&st.id)))
                .count()
        })
        .unwrap_or(0);
    let title = rb
        .as_ref()
        .map(|r| format!("Checklist — {} ({done}/{})", r.title, r.steps.len()))
        .unwrap_or_else(|| "Checklist".into());
    let block = pane_block(s, Pane::Checklist, title);
    let inner = block.inner(area);
    f.render_widget(block, area);
    let (Some(t), Some(rb)) = (t, rb.as_deref()) else {
        return;
    };
    let vars = s.runbook_vars(t);
    let vars: Vec<(&str, String)> = vars.iter().map(|(k, v)| (*k, v.clone())).collect();
    // The "last worked" line only where it leaves room for the steps.
    let head = u16::from(inner.height >= 6);
    let [worked, list, detail] = Layout::vertical([
        Constraint::Length(head),
        Constraint::Fill(1),
        Constraint::Length(2),
    ])
    .areas(inner);
    f.render_widget(Paragraph::new(last_worked(s, &t.name)), worked);
    let h = list.height as usize;
    let first = window(s.view.checklist_cursor, rb.steps.len(), h);
    let mut lines = Vec::new();
    for (i, st) in rb.steps.iter().enumerate().skip(first).take(h) {
        let tick = ticks.and_then(|c| c.get(&st.id));
        let (mark, ms) = if tick.is_some() {
            ("[x]", theme::OK)
        } else {
            ("[ ]", theme::DIM)
        };
        let mut spans = vec![
            Span::styled(format!("{mark} "), ms),
            Span::raw(fill(&st.title, &vars)),
        ];
        if let Some(tk) = tick {
            let by = if tk.auto { "auto" } else { "hand" };
            spans.push(Span::styled(format!("  {by} {}", hms(tk.at)), theme::DIM));
        } else if st.auto.is_some() {
            spans.push(Span::styled("  (auto)", theme::DIM));
        }
        let mut line = Line::from(spans);
        if i == s.view.checklist_cursor && s.view.focus == Pane::Checklist {
            line = line.style(theme::SELECTED);
        }
        lines.push(line);
    }
    f.render_widget(Paragraph::new(lines), list);
    if s.view.popup.is_none() {
        crate::ui::more_marker(
            f,
            area,
            first,
            h.min(rb.steps.len().saturating_sub(first)),
            rb.steps.len(),
        );
    }
    let st = rb.steps.get(s.view.checklist_cursor);
    let ev = st
        .and_then(|st| ticks.and_then(|c| c.get(&st.id)))
        .and_then(|t| t.evidence.clone());
    let text = match (st.and_then(|st| st.detail.as_deref()), ev) {
        (_, Some(e)) if s.view.focus == Pane::Checklist => format!("evidence: {e}"),
        (Some(d), _) => fill(d, &vars),
        _ => String::new(),
    };
    f.render_widget(
        Paragraph::new(Line::styled(text, theme::DIM)).wrap(Wrap { trim: true }),
        detail,
    );
}

/// Whether this runbook is known to work here, from earlier notes: the
/// Argo CD runbook's "stale after 90 days without exercise".
fn last_worked(s: &State, target: &str) -> Line<'static> {
    let w = s.row(target).map(|r| r.last_worked).unwrap_or_default();
    let days = s.settings.drill_stale_days;
    let stale = w.stale(s.now, days);
    let when = match w.latest() {
        Some((at, drill)) => format!(
            "last worked {}{}",
            at.format("%Y-%m-%d"),
            if drill { " (drill)" } else { "" }
        ),
        None => "never worked here (no drill or rollback in the notes)".into(),
    };
    if stale {
        Line::styled(format!("STALE ({days}-day rule): {when}"), theme::WARN)
    } else {
        Line::styled(when, theme::DIM)
    }
}
