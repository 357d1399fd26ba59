//! What the note holds, newest last. Only entries confirmed on disk appear.

use crate::core::fmt::hms;
use crate::core::state::{Pane, State};
use crate::ui::{pane_block, theme};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

pub fn render(s: &State, f: &mut Frame, area: Rect) {
    let block = pane_block(
        s,
        Pane::Activity,
        format!(
            "Activity — {} entries recorded to the note",
            s.activity.len()
        ),
    );
    let inner = block.inner(area);
    f.render_widget(block, area);
    let h = inner.height as usize;
    // Only a search reads every entry; otherwise just the rows shown are
    // made (a long incident's Activity is drawn every tick).
    let q = crate::core::search::current(s).filter(|q| !q.text.is_empty());
    let (all, found) = match q {
        Some(_) => {
            crate::ui::searched::mark(s.activity.iter().map(entry_line).collect(), q, u16::MAX)
        }
        None => (Vec::new(), None),
    };
    let end = match &found {
        // The current match in view, half a page of context before it.
        Some(m) => (m.line.saturating_sub(h / 2) + h).min(s.activity.len()),
        None if s.view.focus == Pane::Activity => (s.view.activity_scroll + 1)
            .min(s.activity.len())
            .max(h.min(s.activity.len())),
        None => s.activity.len(),
    };
    let start = end.saturating_sub(h);
    let lines: Vec<Line> = if q.is_some() {
        all.into_iter().skip(start).take(end - start).collect()
    } else {
        s.activity[start..end].iter().map(entry_line).collect()
    };
    let note = crate::ui::searched::said(crate::core::search::current(s), &found);
    crate::ui::border_note(f, area, note, area.y);
    // Zoomed, an entry is read whole: cut into rows of the pane's width,
    // the newest kept in view.
    if s.view.zoomed {
        let w = (inner.width as usize).max(1);
        let mut rows: Vec<Line> = Vec::new();
        for l in lines {
            let style = l
                .style
                .patch(l.spans.get(1).map(|sp| sp.style).unwrap_or_default());
            let mut text: &[char] = &l
                .spans
                .iter()
                .flat_map(|sp| sp.content.chars())
                .collect::<Vec<_>>();
            while !text.is_empty() {
                // At the last space that fits, else mid-word.
                let cut = if text.len() <= w {
                    text.len()
                } else {
                    text[..=w]
                        .iter()
                        .rposition(|c| *c == ' ')
                        .filter(|&i| i > 0)
                        .unwrap_or(w)
                };
                rows.push(Line::styled(text[..cut].iter().collect::<String>(), style));
                text = &text[cut..];
                if text.first() == Some(&' ') {
                    text = &text[1..];
                }
            }
        }
        let skip = rows.len().saturating_sub(h);
        f.render_widget(
            Paragraph::new(rows.into_iter().skip(skip).collect::<Vec<_>>()),
            inner,
        );
    } else {
        f.render_widget(Paragraph::new(lines), inner);
    }
}

/// One entry as Activity shows it: its time, a tick (on disk), its words.
fn entry_line(r: &crate::core::action::Recorded) -> Line<'static> {
    use crate::core::entry::EntryKind as K;
    let st = if matches!(
        r.kind,
        K::Failed | K::Refused | K::Stale | K::Unknown | K::NotRecovered | K::Crash
    ) {
        theme::ERROR
    } else {
        ratatui::style::Style::new()
    };
    Line::from(vec![
        Span::styled(format!("{} ✓ ", hms(r.at)), theme::DIM),
        Span::styled(r.summary.clone(), st),
    ])
}
