//! `render(&State, &Ui, &mut Frame)`: draws, never mutates, never does I/O.

pub mod mask;
pub mod panes;
pub mod popups;
pub mod searched;
pub mod theme;

use crate::core::state::{Pane, State};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Block, Paragraph};
use ratatui_textarea::TextArea;

/// Below this the layout cannot show the panes without lying by omission.
pub const MIN_W: u16 = 80;
pub const MIN_H: u16 = 24;

pub fn render(s: &State, ui: &Ui, f: &mut Frame) {
    let area = f.area();
    if area.width < MIN_W || area.height < MIN_H {
        let msg = format!(
            "terminal too small (need {MIN_W}x{MIN_H}, have {}x{})",
            area.width, area.height
        );
        let y = area.height / 2;
        f.render_widget(
            Paragraph::new(Line::from(msg).style(theme::ERROR)).centered(),
            Rect {
                y,
                height: 1.min(area.height),
                ..area
            },
        );
        return;
    }
    let l = layout(s, area);
    panes::header::render(s, f, l.header);
    if l.run.height > 0 {
        panes::run::render(s, f, l.run);
    }
    for (pane, r) in &l.panes {
        match pane {
            Pane::Health => panes::health::render(s, f, *r),
            Pane::History => panes::history::render(s, f, *r),
            Pane::Migrations => panes::migrations::render(s, f, *r),
            Pane::Checklist => panes::checklist::render(s, f, *r),
            Pane::Activity => panes::activity::render(s, f, *r),
        }
    }
    panes::footer::render(s, f, l.footer);
    popups::render(s, ui, f);
    mask::secrets(f.buffer_mut());
}

/// Where everything is on a screen of `area`: render and the mouse read
/// the same places.
pub struct Screen {
    pub header: Rect,
    pub run: Rect,
    pub footer: Rect,
    /// The panes shown (one when zoomed), with their bordered areas.
    pub panes: Vec<(Pane, Rect)>,
}

pub fn layout(s: &State, area: Rect) -> Screen {
    let run_h = panes::run::height(s);
    let [header, run, body, footer] = Layout::vertical([
        Constraint::Length(2),
        Constraint::Length(run_h),
        Constraint::Min(10),
        Constraint::Length(1),
    ])
    .areas(area);
    if s.view.zoomed {
        // The focused pane alone, the whole body: long lines wrap there.
        return Screen {
            header,
            run,
            footer,
            panes: vec![(s.view.focus, body)],
        };
    }
    let act_h = if body.height >= 30 { 8 } else { 5 };
    let [top, mid, bottom] = Layout::vertical([
        Constraint::Percentage(50),
        Constraint::Fill(1),
        Constraint::Length(act_h),
    ])
    .areas(body);
    let [health, history] =
        Layout::horizontal([Constraint::Percentage(48), Constraint::Fill(1)]).areas(top);
    let [migr, check] =
        Layout::horizontal([Constraint::Percentage(55), Constraint::Fill(1)]).areas(mid);
    Screen {
        header,
        run,
        footer,
        panes: vec![
            (Pane::Health, health),
            (Pane::History, history),
            (Pane::Migrations, migr),
            (Pane::Checklist, check),
            (Pane::Activity, bottom),
        ],
    }
}

/// What a mouse press at (`x`, `y`) on a screen of `area` points at: the
/// pane, and the row of its list (its item index) where it has one.
pub fn hit(s: &State, area: Rect, x: u16, y: u16) -> Option<(Pane, Option<usize>)> {
    if area.width < MIN_W || area.height < MIN_H {
        return None;
    }
    let at = ratatui::layout::Position { x, y };
    let (pane, r) = layout(s, area)
        .panes
        .into_iter()
        .find(|(_, r)| r.contains(at))?;
    let list = match pane {
        Pane::Health => panes::health::list(s, r),
        Pane::History => panes::history::list(s, r),
        Pane::Checklist => panes::checklist::list(s, r),
        Pane::Migrations | Pane::Activity => None,
    };
    let item = list.and_then(|(rows, first, len)| {
        rows.contains(at)
            .then(|| first + usize::from(y - rows.y))
            .filter(|i| *i < len)
    });
    Some((pane, item))
}

/// Rows the lines take once wrapped at `width`, so popups fit their text.
pub fn wrapped_height(lines: &[Line], width: u16) -> u16 {
    let w = width.max(1) as usize;
    lines
        .iter()
        .map(|l| l.width().max(1).div_ceil(w) as u16)
        .sum()
}

/// A bordered block whose border says whether the pane has the keyboard.
pub fn pane_block(s: &State, p: Pane, title: String) -> Block<'static> {
    let n = Pane::ALL.iter().position(|&x| x == p).unwrap_or(0) + 1;
    let focused = s.view.focus == p && s.view.popup.is_none();
    let style = if focused {
        theme::FOCUS_BORDER
    } else {
        theme::BORDER
    };
    let t = if focused {
        format!(" {n} ▸ {title} ")
    } else {
        format!(" {n} {title} ")
    };
    Block::bordered()
        .border_style(style)
        .title(Line::from(t).style(if focused {
            theme::BOLD
        } else {
            ratatui::style::Style::new()
        }))
}

/// First row to show so that `cursor` stays visible in `height` rows.
pub fn window(cursor: usize, len: usize, height: usize) -> usize {
    if height == 0 || len <= height {
        return 0;
    }
    cursor.saturating_sub(height / 2).min(len - height)
}

/// Says a pane's list holds more than it shows, on the pane's own
/// border (no row of data is covered): `↑N` at the right of the top
/// border, `↓N more` at the right of the bottom one, where rows `first ..
/// first + shown` of `len` are on screen. `pane` is the bordered area.
pub fn more_marker(f: &mut Frame, pane: Rect, first: usize, shown: usize, len: usize) {
    let below = len.saturating_sub(first + shown);
    if first > 0 && pane.height > 1 {
        border_note(f, pane, format!(" ↑{first} "), pane.y);
    }
    if below > 0 && pane.height > 1 {
        border_note(f, pane, format!(" ↓{below} more "), pane.bottom() - 1);
    }
}

/// `text` at the right end of row `y` of a bordered area (its top or
/// bottom border): a note that covers no row of data.
pub fn border_note(f: &mut Frame, area: Rect, text: String, y: u16) {
    if text.is_empty() {
        return;
    }
    let w = (text.chars().count() as u16).min(area.width.saturating_sub(2));
    let at = Rect {
        x: area.right().saturating_sub(w + 1),
        y,
        width: w,
        height: 1,
    };
    f.render_widget(Paragraph::new(Line::styled(text, theme::KEY)), at);
}

/// What the UI layer owns besides the core state: the notes editor widget.
pub struct Ui {
    pub editor: TextArea<'static>,
}

impl Default for Ui {
    fn default() -> Self {
        let mut editor = TextArea::default();
        editor.set_placeholder_text("Type a note for the incident record. Ctrl-S appends it to the note, Esc closes (text kept).");
        Ui { editor }
    }
}
