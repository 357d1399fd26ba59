//! Reads an earlier note back: the incident id and the checklist state, from
//! the hidden `rbtui:` markers the writer left in it.

use crate::core::entry::{Marker, Stamped};
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
    /// The images that rollback replaced (known bad); empty in old notes.
    pub from: Vec<String>,
}

/// Reads the markers of a note, in order. Notes written before markers were
/// JSON (`<!-- rbtui:tick target=… -->`) are read too: an incident note is
/// resumed or consulted long after the version that wrote it.
pub fn markers(text: &str) -> Vec<Stamped> {
    text.lines()
        .filter_map(|l| Stamped::from_comment(l).or_else(|| legacy(l)))
        .collect()
}

pub fn parse(text: &str) -> Resumed {
    let mut r = Resumed::default();
    for Stamped { marker, at } in markers(text) {
        match marker {
            Marker::Header { incident } => r.incident = Some(incident),
            Marker::Deployed {
                target,
                image,
                incident,
                from,
            } => r.deployed.push(Deployed {
                target,
                image,
                incident,
                at: Some(at),
                from,
            }),
            Marker::Tick { target, step, auto } => {
                r.checklists.entry(target).or_default().insert(
                    step,
                    Tick {
                        at,
                        auto,
                        evidence: Some("restored from the note".into()),
                    },
                );
            }
            Marker::Untick { target, step } => {
                r.checklists.entry(target).or_default().remove(&step);
            }
            Marker::End => {}
        }
    }
    r
}

/// The word format of notes written before markers were JSON.
fn legacy(line: &str) -> Option<Stamped> {
    let m = line
        .trim()
        .strip_prefix("<!-- rbtui:")?
        .strip_suffix("-->")?
        .trim();
    let field = |key: &str| {
        m.split_whitespace()
            .find_map(|kv| kv.strip_prefix(key)?.strip_prefix('='))
            .map(str::to_string)
    };
    // The header carried no time; the epoch sorts it first.
    let at = field("at")
        .and_then(|a| DateTime::parse_from_rfc3339(&a).ok())
        .map(|d| d.with_timezone(&Utc))
        .unwrap_or_default();
    let (word, _) = m.split_once(' ').unwrap_or((m, ""));
    let marker = match word {
        "header" => Marker::Header {
            incident: field("incident")?,
        },
        "deployed" => Marker::Deployed {
            target: field("target")?,
            image: field("image")?,
            incident: field("incident").unwrap_or_else(|| "?".into()),
            from: vec![],
        },
        "tick" => Marker::Tick {
            target: field("target")?,
            step: field("step")?,
            auto: field("by").as_deref() == Some("auto"),
        },
        "untick" => Marker::Untick {
            target: field("target")?,
            step: field("step")?,
        },
        "end" => Marker::End,
        _ => return None,
    };
    Some(Stamped { marker, at })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restores_ticks_and_unticks_written_as_json() {
        let at = |s: &str| s.parse().unwrap();
        let note = [
            Stamped {
                marker: Marker::Header {
                    incident: "INC 7 -- db".into(),
                },
                at: at("2026-01-01T00:00:00Z"),
            },
            Stamped {
                marker: Marker::Tick {
                    target: "a b".into(),
                    step: "s1".into(),
                    auto: true,
                },
                at: at("2026-01-01T00:00:01Z"),
            },
            Stamped {
                marker: Marker::Tick {
                    target: "a b".into(),
                    step: "s2".into(),
                    auto: false,
                },
                at: at("2026-01-01T00:00:02Z"),
            },
            Stamped {
                marker: Marker::Untick {
                    target: "a b".into(),
                    step: "s1".into(),
                },
                at: at("2026-01-01T00:00:03Z"),
            },
        ]
        .iter()
        .map(|m| format!("- x\n  {}\n", m.to_comment()))
        .collect::<String>();
        let r = parse(&note);
        assert_eq!(r.incident.as_deref(), Some("INC 7 -- db"));
        let a = &r.checklists["a b"];
        assert!(a.contains_key("s2") && !a.contains_key("s1"));
        assert!(!a["s2"].auto);
    }

    #[test]
    fn restores_ticks_and_unticks_from_notes_written_before_json_markers() {
        let note = "<!-- rbtui:header incident=INC-7 -->\n- x\n  <!-- rbtui:tick target=a step=s1 at=2026-01-01T00:00:00Z -->\n  <!-- rbtui:tick target=a step=s2 at=2026-01-01T00:00:01Z -->\n  <!-- rbtui:untick target=a step=s1 at=2026-01-01T00:00:02Z -->\n";
        let r = parse(note);
        assert_eq!(r.incident.as_deref(), Some("INC-7"));
        let a = &r.checklists["a"];
        assert!(a.contains_key("s2") && !a.contains_key("s1"));
    }
}
