//! The lines a search runs over, with its matches marked and the current
//! one's place, so the view scrolls to it (`core::search` keeps the words).

use crate::core::search::Search;
use crate::ui::theme;
use ratatui::style::{Modifier, Style};
use ratatui::text::Line;

/// Where the current match is: its line, its row once wrapped at the
/// width, which of how many.
pub struct Found {
    pub line: usize,
    pub row: u16,
    pub nth: usize,
    pub of: usize,
}

/// `lines` with every line holding the words (any case) underlined and
/// the current one highlighted; `None` found when there is no match.
pub fn mark(
    mut lines: Vec<Line<'static>>,
    q: Option<&Search>,
    width: u16,
) -> (Vec<Line<'static>>, Option<Found>) {
    let Some(q) = q.filter(|q| !q.text.is_empty()) else {
        return (lines, None);
    };
    let needle = q.text.to_lowercase();
    let text = |l: &Line| {
        l.spans
            .iter()
            .map(|sp| sp.content.as_ref())
            .collect::<String>()
            .to_lowercase()
    };
    let hits: Vec<usize> = lines
        .iter()
        .enumerate()
        .filter(|(_, l)| text(l).contains(&needle))
        .map(|(i, _)| i)
        .collect();
    if hits.is_empty() {
        return (lines, None);
    }
    let nth = q.hit.rem_euclid(hits.len() as isize) as usize;
    for (k, &i) in hits.iter().enumerate() {
        let st = if k == nth {
            theme::SELECTED
        } else {
            Style::new().add_modifier(Modifier::UNDERLINED)
        };
        lines[i] = std::mem::take(&mut lines[i]).patch_style(st);
    }
    let line = hits[nth];
    let row = crate::ui::wrapped_height(&lines[..line], width);
    (
        lines,
        Some(Found {
            line,
            row,
            nth: nth + 1,
            of: hits.len(),
        }),
    )
}

/// A title's note of the search: `/words 2 of 5`, or `no match`.
pub fn said(q: Option<&Search>, found: &Option<Found>) -> String {
    match (q, found) {
        (Some(q), _) if q.typing => format!(" /{}▏", q.text),
        (Some(q), Some(f)) => format!(" /{} {} of {} (n/N) ", q.text, f.nth, f.of),
        (Some(q), None) if !q.text.is_empty() => format!(" /{} no match ", q.text),
        _ => String::new(),
    }
}
