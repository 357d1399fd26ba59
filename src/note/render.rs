//! Markdown for the incident note. Pure: the writer only appends what this
//! returns, so tests can assert the exact lines.

use crate::core::action::NoteEntry;
use crate::core::entry::{Marker, Stamped};
use crate::core::fmt::hms;
use chrono::{DateTime, Utc};

/// What the note's header says about the session.
#[derive(Debug, Clone)]
pub struct Header {
    pub incident: String,
    pub operator: String,
    pub host: String,
    pub mode: String,
    pub version: String,
    pub started: DateTime<Utc>,
    pub note_path: String,
    pub targets: Vec<String>,
    pub rehearsal: bool,
    /// A rehearsal with server-side dry runs only.
    pub dry_run: bool,
}

pub fn header(h: &Header) -> String {
    let mut s = String::new();
    let title = if h.rehearsal {
        format!("# REHEARSAL — incident {}\n\n", h.incident)
    } else {
        format!("# Incident {}\n\n", h.incident)
    };
    s.push_str(&title);
    s.push_str(&super::summary::render(&super::summary::Told::default()));
    if h.rehearsal {
        s.push_str(if h.dry_run {
            "> This note records a rehearsal (tabletop drill). No prod target was touched. Dry run: only server-side dry runs were sent; nothing was changed.\n\n"
        } else {
            "> This note records a rehearsal (tabletop drill). No prod target was touched. Staging targets were really rolled back (use --dry-run to change nothing).\n\n"
        });
    }
    s.push_str(&format!("- **Incident:** {}\n", h.incident));
    s.push_str(&format!("- **Operator:** {}\n", h.operator));
    s.push_str(&format!("- **Host:** {}\n", h.host));
    s.push_str(&format!("- **Mode:** {}\n", h.mode));
    s.push_str(&format!("- **rbtui:** {}\n", h.version));
    s.push_str(&format!(
        "- **Started:** {}\n",
        h.started.format("%Y-%m-%dT%H:%M:%SZ")
    ));
    s.push_str(&format!("- **Note:** {}\n", h.note_path));
    s.push_str("- **Targets:**\n");
    for t in &h.targets {
        s.push_str(&format!("  - {t}\n"));
    }
    let marker = Stamped {
        marker: Marker::Header {
            incident: h.incident.clone(),
        },
        at: h.started,
    };
    s.push_str(&format!(
        "\n{}\n\n## Timeline (UTC, {})\n\n",
        marker.to_comment(),
        h.started.format("%Y-%m-%d")
    ));
    redact(&s)
}

/// A resumed session continues the same timeline under its own heading.
pub fn resumed(at: DateTime<Utc>, mode: &str, operator: &str) -> String {
    format!(
        "\n### Resumed {} by {operator} ({mode})\n\n",
        at.format("%Y-%m-%dT%H:%M:%SZ")
    )
}

/// An entry's line, `- \`when\` **kind** \`target\` — text`: the note's
/// (time only, under the day's heading) and a ticket comment's (with the
/// date) are the same line.
pub fn entry_line(when: &str, kind: &str, target: Option<&str>, text: &str) -> String {
    let target = target.map(|t| format!(" `{t}`")).unwrap_or_default();
    format!("- `{when}` **{kind}**{target} — {text}\n")
}

pub fn entry(e: &NoteEntry) -> String {
    let mut s = entry_line(&hms(e.at), e.kind.label(), e.target.as_deref(), &e.text);
    let mut in_table = false;
    let mut in_fence = false;
    for d in &e.details {
        // A fenced block (a diff) inside the entry's item, each line
        // exactly as it is: the fence's indent is taken off again by any
        // CommonMark reader, so `-`, `+` and a leading space survive.
        if d.starts_with("```") {
            if !in_fence {
                s.push('\n');
            }
            s.push_str(&format!("    {d}\n"));
            if in_fence {
                s.push('\n');
            }
            in_fence = !in_fence;
            continue;
        }
        if in_fence {
            s.push_str(&format!("    {d}\n"));
            continue;
        }
        if d.starts_with('|') {
            if !in_table {
                s.push('\n');
                in_table = true;
            }
            s.push_str(&format!("    {d}\n"));
        } else {
            if in_table {
                s.push('\n');
                in_table = false;
            }
            let body = d.trim_start();
            let indent = " ".repeat(d.len() - body.len());
            s.push_str(&format!("    {indent}- {body}\n"));
        }
    }
    if in_table {
        s.push('\n');
    }
    if let Some(m) = &e.marker {
        let stamped = Stamped {
            marker: m.clone(),
            at: e.at,
        };
        s.push_str(&format!("  {}\n", stamped.to_comment()));
    }
    redact(&s)
}

/// Last line of defence: no credential-shaped text reaches the note even if
/// a backend puts one in an error message (`note::redact`).
pub fn redact(s: &str) -> String {
    crate::core::redact::redact(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_reach_the_note() {
        let e = redact(
            "GET failed: Authorization: Bearer eyJhbGciOi.secret.sig was rejected; token=abc123 password=hunter2\n",
        );
        assert!(!e.contains("eyJhbGciOi"));
        assert!(!e.contains("abc123"));
        assert!(!e.contains("hunter2"));
        assert!(e.contains("Bearer [REDACTED]"));
        assert!(e.ends_with('\n'));
    }

    #[test]
    fn token_shapes_are_redacted_wherever_they_stand() {
        let jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhZG1pbiJ9.c2lnbmF0dXJlX2hlcmU";
        let text = format!(
            "pasted {jwt}, then (ghp_0123456789abcdefABCDEF0123) and AKIAIOSFODNN7EXAMPLE; DB_SECRET_KEY=s3cr3t MY_CREDENTIALS=x1 xoxb-1234567890-abcdefghij\n"
        );
        let e = redact(&text);
        for secret in [
            jwt,
            "ghp_0123456789abcdefABCDEF0123",
            "AKIAIOSFODNN7EXAMPLE",
            "s3cr3t",
            "x1",
            "xoxb-1234567890",
        ] {
            assert!(!e.contains(secret), "{secret} leaked: {e}");
        }
        assert!(e.contains("pasted [REDACTED],"), "{e}");
        // Ordinary words and digests stay.
        let plain = redact("image sha256:0123456789abcdef0123456789abcdef AKIA ghp_short\n");
        assert_eq!(
            plain,
            "image sha256:0123456789abcdef0123456789abcdef AKIA ghp_short\n"
        );
    }
}
