//! Colours carry meaning: red is prod and blocking, yellow warns, green is
//! healthy. Nothing else is coloured loudly so those stay visible at 3 a.m.

use crate::core::migration::SqlVerdict;
use crate::core::plan::CheckStatus;
use crate::core::verdict::Severity;
use ratatui::style::{Color, Modifier, Style};

pub const PROD: Style = Style::new()
    .fg(Color::White)
    .bg(Color::Red)
    .add_modifier(Modifier::BOLD);
pub const NONPROD: Style = Style::new().fg(Color::Black).bg(Color::Cyan);
/// Something under way or not proven: black on yellow.
pub const WARN_BANNER: Style = Style::new()
    .fg(Color::Black)
    .bg(Color::Yellow)
    .add_modifier(Modifier::BOLD);
/// Done and proven: black on green.
pub const OK_BANNER: Style = Style::new()
    .fg(Color::Black)
    .bg(Color::Green)
    .add_modifier(Modifier::BOLD);
pub const DIM: Style = Style::new().fg(Color::DarkGray);
pub const BOLD: Style = Style::new().add_modifier(Modifier::BOLD);
pub const SELECTED: Style = Style::new()
    .bg(Color::Rgb(40, 48, 64))
    .add_modifier(Modifier::BOLD);
pub const FOCUS_BORDER: Style = Style::new().fg(Color::Yellow);
pub const BORDER: Style = Style::new().fg(Color::DarkGray);
pub const ERROR: Style = Style::new().fg(Color::Red).add_modifier(Modifier::BOLD);
pub const WARN: Style = Style::new().fg(Color::Yellow);
pub const OK: Style = Style::new().fg(Color::Green);
pub const KEY: Style = Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD);

pub fn mode(m: crate::core::model::Mode) -> Style {
    use crate::core::model::Mode::*;
    match m {
        Live => Style::new()
            .fg(Color::Black)
            .bg(Color::LightRed)
            .add_modifier(Modifier::BOLD),
        Rehearsal => Style::new()
            .fg(Color::Black)
            .bg(Color::Magenta)
            .add_modifier(Modifier::BOLD),
        Demo => Style::new()
            .fg(Color::Black)
            .bg(Color::LightBlue)
            .add_modifier(Modifier::BOLD),
        ReadOnly => Style::new()
            .fg(Color::Black)
            .bg(Color::Gray)
            .add_modifier(Modifier::BOLD),
    }
}

pub fn severity(s: Severity) -> Style {
    match s {
        Severity::Critical => Style::new()
            .fg(Color::White)
            .bg(Color::Red)
            .add_modifier(Modifier::BOLD),
        Severity::Serious => Style::new()
            .fg(Color::LightRed)
            .add_modifier(Modifier::BOLD),
        Severity::Watch => WARN,
        Severity::Unknown => WARN,
        Severity::Ok => OK,
    }
}

pub fn check(c: CheckStatus) -> Style {
    match c {
        CheckStatus::Block => Style::new()
            .fg(Color::White)
            .bg(Color::Red)
            .add_modifier(Modifier::BOLD),
        CheckStatus::Warn => Style::new().fg(Color::Black).bg(Color::Yellow),
        CheckStatus::Pending | CheckStatus::Skipped => DIM,
        CheckStatus::Pass => OK,
    }
}

pub fn sql(v: SqlVerdict) -> Style {
    match v {
        SqlVerdict::Unsafe => Style::new()
            .fg(Color::White)
            .bg(Color::Red)
            .add_modifier(Modifier::BOLD),
        SqlVerdict::Review => WARN,
        SqlVerdict::Compatible => OK,
    }
}
