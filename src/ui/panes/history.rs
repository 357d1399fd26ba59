//! Revisions of the selected target, newest first, with the markers that
//! matter when choosing where to roll back to.

use crate::core::fmt::{ago, ellipsize};
use crate::core::state::{Pane, State};
use crate::ui::{pane_block, theme, window};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

/// The revision rows (under the error and the platform's note), the first
/// shown and how many there are: where a mouse press selects one.
pub fn list(s: &State, area: Rect) -> Option<(Rect, usize, usize)> {
    let inner = ratatui::widgets::Block::bordered().inner(area);
    let t = s.selected_target()?;
    let h = s.history(&t.name)?;
    let head = usize::from(
        s.row(&t.name)
            .is_some_and(|row| row.history_error.is_some()),
    ) + usize::from(h.facts.history_note.is_some());
    let head = (head as u16).min(inner.height);
    let rows = Rect {
        y: inner.y + head,
        height: inner.height - head,
        ..inner
    };
    let first = crate::ui::window(
        s.view.history_cursor,
        h.revisions.len(),
        rows.height as usize,
    );
    Some((rows, first, h.revisions.len()))
}

pub fn render(s: &State, f: &mut Frame, area: Rect) {
    let t = s.selected_target();
    let title = t
        .map(|t| {
            format!(
                "History — {} ({}s, newest first)",
                t.name,
                t.kind.revision_word()
            )
        })
        .unwrap_or_else(|| "History".into());
    let block = pane_block(s, Pane::History, title);
    let inner = block.inner(area);
    f.render_widget(block, area);
    let Some(t) = t else { return };
    let mut lines = Vec::new();
    if let Some(e) = s.row(&t.name).and_then(|row| row.history_error.as_ref()) {
        lines.push(Line::styled(
            format!("cannot read history: {e}"),
            theme::ERROR,
        ));
    }
    let Some(h) = s.history(&t.name) else {
        // An error with nothing read is the whole pane's answer: wrapped
        // to be read whole, and not "loading" under it.
        if lines.is_empty() {
            lines.push(Line::styled("loading history…", theme::DIM));
        }
        f.render_widget(
            Paragraph::new(lines).wrap(ratatui::widgets::Wrap { trim: true }),
            inner,
        );
        return;
    };
    if let Some(n) = &h.facts.history_note {
        lines.push(Line::styled(n.clone(), theme::DIM));
    }
    let head = lines.len();
    let rows = (inner.height as usize).saturating_sub(head);
    let first = window(s.view.history_cursor, h.revisions.len(), rows);
    let prev = h.previous().map(|r| r.id.clone());
    let msg_w = (inner.width as usize).saturating_sub(48).max(10);
    for (i, r) in h.revisions.iter().enumerate().skip(first).take(rows) {
        let lkg = h.last_known_good.as_deref() == Some(r.id.as_str());
        let (mark, ms) = if r.current && lkg {
            // A verified rollback landed it: what runs is the known good.
            ("CUR LKG", theme::OK)
        } else if r.current {
            ("CURRENT", theme::BOLD)
        } else if h.known_bad.contains(&r.id) {
            ("BAD", theme::ERROR)
        } else if h.last_known_good.as_deref() == Some(r.id.as_str()) {
            ("LKG", theme::OK)
        } else if prev.as_ref() == Some(&r.id) {
            ("previous", theme::DIM)
        } else {
            ("", Style::new())
        };
        let img = r.images.first().map(|i| {
            let tag = i.tag.clone().unwrap_or_default();
            let d = i
                .digest
                .as_deref()
                .map(|d| crate::core::model::short_digest(d)[7..].to_string())
                .unwrap_or_else(|| "no-digest".into());
            format!("{tag}@{}", &d[..d.len().min(8)])
        });
        let when = r.deployed_at.map(|d| ago(d, s.now)).unwrap_or_default();
        let cursor = i == s.view.history_cursor;
        let mut line = Line::from(vec![
            Span::raw(if cursor { "▶" } else { " " }),
            Span::styled(format!("{:>4} ", r.id), theme::BOLD),
            Span::styled(format!("{mark:<8} "), ms),
            Span::raw(format!("{:<24} ", ellipsize(&img.unwrap_or_default(), 24))),
            Span::styled(format!("{:>8} ", when), theme::DIM),
            Span::raw(ellipsize(
                &format!("{} — {}", r.message, r.author.as_deref().unwrap_or("?")),
                msg_w,
            )),
        ]);
        if cursor && s.view.focus == Pane::History {
            line = line.style(theme::SELECTED);
        }
        lines.push(line);
    }
    f.render_widget(Paragraph::new(lines), inner);
    if s.view.popup.is_none() {
        crate::ui::more_marker(
            f,
            area,
            first,
            rows.min(h.revisions.len().saturating_sub(first)),
            h.revisions.len(),
        );
    }
}
