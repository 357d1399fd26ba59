//! Reads an earlier note back: the incident id and the checklist state, from
//! the hidden `rbtui:` markers the writer left in it.

use crate::core::state::Tick;
use chrono::{DateTime, Utc};
use std::collections::HashMap;

/// What a resumed session continues with.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Resumed {
    pub incident: Option<String>,
    pub checklists: HashMap<String, HashMap<String, Tick>>,
    /// Images rbtui rolled targets back to, as recorded.
    pub deployed: Vec<Deployed>,
}

/// One image a rollback put on a target, read back from a note.
#[derive(Debug, Clone, PartialEq)]
pub struct Deployed {
    pub target: String,
    pub image: String,
    pub incident: String,
    pub at: Option<DateTime<Utc>>,
}

fn field<'a>(m: &'a str, key: &str) -> Option<&'a str> {
    m.split_whitespace()
        .find_map(|kv| kv.strip_prefix(key)?.strip_prefix('='))
}

pub fn parse(text: &str) -> Resumed {
    let mut r = Resumed::default();
    for line in text.lines() {
        let Some(m) = line
            .trim()
            .strip_prefix("<!-- rbtui:")
            .and_then(|m| m.strip_suffix("-->"))
        else {
            continue;
        };
        let m = m.trim();
        let at = field(m, "at")
            .and_then(|a| DateTime::parse_from_rfc3339(a).ok())
            .map(|d| d.with_timezone(&Utc));
        if m.starts_with("header ") {
            r.incident = field(m, "incident").map(str::to_string);
        } else if m.starts_with("deployed ") {
            if let (Some(t), Some(i)) = (field(m, "target"), field(m, "image")) {
                r.deployed.push(Deployed {
                    target: t.into(),
                    image: i.into(),
                    incident: field(m, "incident").unwrap_or("?").into(),
                    at,
                });
            }
        } else if let (Some(t), Some(s)) = (field(m, "target"), field(m, "step")) {
            let list = r.checklists.entry(t.to_string()).or_default();
            if m.starts_with("tick ") {
                let auto = field(m, "by") == Some("auto");
                list.insert(
                    s.to_string(),
                    Tick {
                        at: at.unwrap_or_else(Utc::now),
                        auto,
                        evidence: Some("restored from the note".into()),
                    },
                );
            } else if m.starts_with("untick ") {
                list.remove(s);
            }
        }
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restores_ticks_and_unticks_in_order() {
        let note = "<!-- rbtui:header incident=INC-7 -->\n- x\n  <!-- rbtui:tick target=a step=s1 at=2026-01-01T00:00:00Z -->\n  <!-- rbtui:tick target=a step=s2 at=2026-01-01T00:00:01Z -->\n  <!-- rbtui:untick target=a step=s1 at=2026-01-01T00:00:02Z -->\n";
        let r = parse(note);
        assert_eq!(r.incident.as_deref(), Some("INC-7"));
        let a = &r.checklists["a"];
        assert!(a.contains_key("s2") && !a.contains_key("s1"));
    }
}
