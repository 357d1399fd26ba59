//! Small text helpers shared by the panes, the note and the CLI, so that an
//! age or a time reads the same everywhere.

use chrono::{DateTime, Utc};

/// `42s`, `12m`, `3h05m`, `2d4h`.
pub fn age(secs: i64) -> String {
    let s = secs.max(0);
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m", s / 60),
        3600..=86399 => format!("{}h{:02}m", s / 3600, (s % 3600) / 60),
        _ => format!("{}d{}h", s / 86400, (s % 86400) / 3600),
    }
}

/// "deployed 12 min ago" style, from two instants.
pub fn ago(then: DateTime<Utc>, now: DateTime<Utc>) -> String {
    format!("{} ago", age((now - then).num_seconds()))
}

/// `04:12:33Z`, the timeline's stamp.
pub fn hms(t: DateTime<Utc>) -> String {
    t.format("%H:%M:%SZ").to_string()
}

/// The line and column (1-based, in characters) of byte `offset` of
/// `text` (an offset inside a character counts from its start): every
/// file error rbtui gives is placed this way.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let mut at = offset.min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    let before = &text[..at];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

/// Cuts to `max` characters with an ellipsis, by chars not bytes.
pub fn ellipsize(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}
