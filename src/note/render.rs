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

pub fn entry(e: &NoteEntry) -> String {
    let mut s = String::new();
    let target = e
        .target
        .as_deref()
        .map(|t| format!(" `{t}`"))
        .unwrap_or_default();
    s.push_str(&format!(
        "- `{}` **{}**{} — {}\n",
        hms(e.at),
        e.kind,
        target,
        e.text
    ));
    let mut in_table = false;
    for d in &e.details {
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
/// a backend puts one in an error message.
pub fn redact(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for line in s.split_inclusive('\n') {
        out.push_str(&redact_line(line));
    }
    out
}

fn redact_line(line: &str) -> String {
    let mut words: Vec<String> = Vec::new();
    let mut hide_next = false;
    for w in line.split(' ') {
        let lw = w.to_ascii_lowercase();
        if hide_next && (lw == "bearer" || lw == "basic") {
            words.push(w.to_string());
            continue;
        }
        if hide_next && !w.trim().is_empty() {
            let keep_nl = if w.ends_with('\n') { "\n" } else { "" };
            words.push(format!("[REDACTED]{keep_nl}"));
            hide_next = false;
            continue;
        }
        if lw == "bearer"
            || lw == "basic"
            || lw.ends_with("authorization:")
            || lw == "token:"
            || lw == "password:"
        {
            hide_next = true;
            words.push(w.to_string());
            continue;
        }
        let keep_nl = if w.ends_with('\n') { "\n" } else { "" };
        let core = w.trim_matches(|c: char| !c.is_ascii_alphanumeric() && c != '_' && c != '-');
        if looks_like_token(core) {
            words.push(w.replace(core, "[REDACTED]"));
            continue;
        }
        if let Some((k, _v)) = w.split_once('=') {
            let k = k.to_ascii_lowercase();
            if [
                "token",
                "password",
                "passwd",
                "secret",
                "api_key",
                "apikey",
                "auth",
                "credential",
                "private_key",
            ]
            .iter()
            .any(|s| k.contains(s))
            {
                words.push(format!(
                    "{}=[REDACTED]{keep_nl}",
                    &w[..w.find('=').unwrap()]
                ));
                continue;
            }
        }
        words.push(w.to_string());
    }
    words.join(" ")
}

/// Credentials recognisable by their shape alone: JWTs, GitHub and Slack
/// tokens, AWS access key ids.
fn looks_like_token(w: &str) -> bool {
    let upper_alnum = |s: &str| {
        s.chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
    };
    let b64url = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '=')
    };
    let jwt = {
        let parts: Vec<&str> = w.split('.').collect();
        parts.len() == 3 && w.starts_with("eyJ") && parts.iter().all(|p| b64url(p))
    };
    let prefixed = [
        "ghp_",
        "gho_",
        "ghu_",
        "ghs_",
        "ghr_",
        "github_pat_",
        "glpat-",
        "xoxb-",
        "xoxp-",
        "xoxa-",
        "xoxs-",
    ]
    .iter()
    .any(|p| w.starts_with(p) && w.len() >= p.len() + 16);
    let aws = (w.starts_with("AKIA") || w.starts_with("ASIA")) && w.len() == 20 && upper_alnum(w);
    jwt || prefixed || aws
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
