//! Positions in the config's text: every error says `file:line:column`,
//! whether the TOML parser or rbtui's own checks found it.

/// Where `key = …` stands, inside `[table]` when given (else anywhere).
pub fn table_key_pos(text: &str, table: Option<&str>, key: &str) -> (usize, usize) {
    let start = table
        .and_then(|t| text.find(&format!("[{t}]")))
        .unwrap_or(0);
    key_pos(text, start, text.len(), key).unwrap_or_else(|| line_col(text, start))
}

/// Where `key = …` stands between bytes `start` and `end` (one target's
/// table), at the key.
pub fn key_pos(text: &str, start: usize, end: usize, key: &str) -> Option<(usize, usize)> {
    find_key(text, start, end, key).map(|(at, _)| line_col(text, at))
}

/// Where the value of `key = …` stands between `start` and `end`.
pub fn value_pos(text: &str, start: usize, end: usize, key: &str) -> Option<(usize, usize)> {
    find_key(text, start, end, key).map(|(_, v)| line_col(text, v))
}

/// Byte offsets of the key and of its value.
fn find_key(text: &str, start: usize, end: usize, key: &str) -> Option<(usize, usize)> {
    let mut off = start;
    for line in text.get(start..end.min(text.len()))?.split_inclusive('\n') {
        let trimmed = line.trim_start();
        if let Some(rest) = trimmed.strip_prefix(key) {
            if let Some(v) = rest.trim_start().strip_prefix('=') {
                let at = off + (line.len() - trimmed.len());
                let value = off + line.len() - v.trim_start().len();
                return Some((at, value));
            }
        }
        off += line.len();
    }
    None
}

/// `path:line:col: message`, from a toml error's byte span.
pub fn toml_error(origin: &str, text: &str, e: &toml::de::Error) -> String {
    let msg = e.message().trim().to_string();
    match e.span() {
        Some(sp) => {
            let (line, col) = line_col(text, sp.start);
            format!("{origin}:{line}:{col}: {msg}")
        }
        None => format!("{origin}: {msg}"),
    }
}

pub use crate::core::fmt::line_col;
