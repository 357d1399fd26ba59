//! Popups drawn over the panes; at most one at a time.

pub mod confirm;
pub mod help;
pub mod plan;
pub mod small;

use crate::core::state::{Popup, State};
use crate::ui::Ui;
use ratatui::Frame;
use ratatui::layout::Rect;

pub fn render(s: &State, ui: &Ui, f: &mut Frame) {
    let area = f.area();
    match &s.view.popup {
        None => {}
        Some(Popup::Help) => help::render(s, f, centered(area, 100, 44)),
        Some(Popup::Plan) => plan::render(s, f, area),
        Some(Popup::Reading { target, error }) => {
            small::reading(target, error.as_deref(), f, centered(area, 90, 7))
        }
        Some(Popup::Confirm(form)) => confirm::render(s, form, f, area),
        Some(Popup::GroupPlan) => plan::render_group(s, f, area),
        Some(Popup::GroupConfirm(form)) => confirm::render_group(s, form, f, area),
        Some(Popup::Notes) => small::notes(ui, f, centered(area, 90, 14)),
        Some(Popup::Evidence { step, text }) => {
            small::evidence(s, step, text, f, centered(area, 80, 7))
        }
        Some(Popup::Status(which, text)) => {
            // One block per target the incident touched: as tall as it
            // needs, scrolled when the screen is shorter.
            let h = text.lines().count() as u16 + 4;
            let at = centered(area, 100, h.max(14));
            small::status(*which, text, s.view.plan_scroll, f, at)
        }
        Some(Popup::QuitConfirm) => small::quit(s, f, centered(area, 70, 7)),
    }
}

/// A rectangle of at most `w`×`h` in the middle of `area`.
pub fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width.saturating_sub(2));
    let h = h.min(area.height.saturating_sub(2));
    Rect {
        x: area.x + (area.width - w) / 2,
        y: area.y + (area.height - h) / 2,
        width: w,
        height: h,
    }
}
