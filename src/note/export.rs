//! `rbtui note export NOTE --json`: the note's timeline as structured data
//! for scripts and ticket systems. The Markdown stays the record; this
//! reads it back as written (entry lines, their detail lines, the hidden
//! markers) and adds nothing that is not in it.

use chrono::{DateTime, NaiveDate, NaiveTime, TimeZone, Utc};
use serde::Serialize;

#[derive(Debug, Serialize, PartialEq)]
pub struct Export {
    pub incident: Option<String>,
    /// The header's `- **Key:** value` lines, as written.
    pub header: std::collections::BTreeMap<String, String>,
    /// The summary on top as it stood (Markdown lines, its heading first):
    /// derived from the entries, kept for a ticket's first screen.
    pub summary: Vec<String>,
    pub entries: Vec<Entry>,
}

#[derive(Debug, Serialize, PartialEq)]
pub struct Entry {
    /// Date from the timeline heading (or a resume heading), time from the
    /// entry; the day rolls over when the time goes back.
    pub at: Option<DateTime<Utc>>,
    pub kind: String,
    pub target: Option<String>,
    pub text: String,
    /// The entry's detail lines and table rows, in order.
    pub details: Vec<String>,
    /// Its hidden marker (the facts later sessions read back), as JSON.
    pub marker: Option<serde_json::Value>,
    /// Files the entry names as evidence (`evidence:` details that are paths).
    pub evidence: Vec<String>,
}

/// `- \`13:41:29Z\` **kind** \`target\` — text`
fn entry_line(line: &str) -> Option<(NaiveTime, String, Option<String>, String)> {
    let rest = line.strip_prefix("- `")?;
    let (time, rest) = rest.split_once("` **")?;
    let t = NaiveTime::parse_from_str(time.trim_end_matches('Z'), "%H:%M:%S").ok()?;
    let (kind, rest) = rest.split_once("**")?;
    let rest = rest.trim_start();
    let (target, rest) = match rest.strip_prefix('`').and_then(|r| r.split_once('`')) {
        Some((t, r)) => (Some(t.to_string()), r.trim_start()),
        None => (None, rest),
    };
    let text = rest.strip_prefix("— ").unwrap_or(rest);
    Some((t, kind.to_string(), target, text.to_string()))
}

fn date_in(line: &str) -> Option<NaiveDate> {
    // `## Timeline (UTC, 2026-12-03)` or `### Resumed 2026-12-04T01:02:03Z by …`
    line.split(|c: char| !(c.is_ascii_digit() || c == '-'))
        .find_map(|w| NaiveDate::parse_from_str(w, "%Y-%m-%d").ok())
}

/// A note file's timeline, or why there is none to read.
pub fn read_file(note: &std::path::Path) -> Result<Export, String> {
    let text = crate::files::read_text(note, "the note", crate::files::NOTE_CAP)?;
    let x = read(&text);
    if x.entries.is_empty() {
        return Err(format!(
            "{} has no timeline entries (not an rbtui note, or nothing recorded yet)",
            note.display()
        ));
    }
    Ok(x)
}

pub fn read(note: &str) -> Export {
    let summary = super::summary::block_in(note)
        .map(|b| {
            b.lines()
                .filter(|l| !l.is_empty() && !l.starts_with("<!--"))
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    // The summary on top is derived from the timeline: read the record.
    let note = &super::summary::without(note);
    let mut out = Export {
        incident: None,
        header: Default::default(),
        summary,
        entries: Vec::new(),
    };
    let mut date: Option<NaiveDate> = None;
    let mut last: Option<NaiveTime> = None;
    let mut in_timeline = false;
    let mut in_fence = false;
    for line in note.lines() {
        if line.starts_with("## Timeline") || line.starts_with("### Resumed") {
            in_timeline = true;
            date = date_in(line).or(date);
            last = None;
            continue;
        }
        if !in_timeline {
            if let Some(kv) = line.strip_prefix("- **")
                && let Some((k, v)) = kv.split_once(":** ")
            {
                if k == "Incident" {
                    out.incident = Some(v.trim().to_string());
                }
                out.header.insert(k.to_string(), v.trim().to_string());
            }
            continue;
        }
        if let Some((t, kind, target, text)) = entry_line(line) {
            if let (Some(d), Some(l)) = (date, last)
                && t < l
            {
                date = d.succ_opt();
            }
            last = Some(t);
            out.entries.push(Entry {
                at: date.map(|d| Utc.from_utc_datetime(&d.and_time(t))),
                kind,
                target,
                text,
                details: Vec::new(),
                marker: None,
                evidence: Vec::new(),
            });
            continue;
        }
        let Some(e) = out.entries.last_mut() else {
            continue;
        };
        let t = line.trim_start();
        // A fenced block's lines are kept exactly (the fence's indent off).
        if t.starts_with("```") {
            in_fence = !in_fence;
            e.details.push(t.to_string());
            continue;
        }
        if in_fence {
            e.details
                .push(line.strip_prefix("    ").unwrap_or(line).to_string());
            continue;
        }
        if let Some(json) = t
            .strip_prefix("<!-- rbtui ")
            .and_then(|r| r.strip_suffix("-->"))
        {
            e.marker = serde_json::from_str(json.trim()).ok();
        } else if let Some(d) = t.strip_prefix("- ") {
            if let Some(p) = d.strip_prefix("evidence: ").and_then(evidence_path) {
                e.evidence.push(p);
            }
            e.details.push(d.to_string());
        } else if t.starts_with('|') {
            e.details.push(t.to_string());
        }
    }
    whole_markers(&mut out);
    out
}

/// Each marker as `--resume` reads it: what a run's markers leave to
/// their plan is filled in from it (`resume::Markers`).
fn whole_markers(x: &mut Export) {
    use crate::core::entry::Stamped;
    let (at, mut stamped): (Vec<usize>, Vec<Stamped>) = x
        .entries
        .iter()
        .enumerate()
        .filter_map(|(i, e)| Some((i, serde_json::from_value(e.marker.clone()?).ok()?)))
        .unzip();
    super::resume::Markers::default().fill(&mut stamped);
    for (i, st) in at.into_iter().zip(stamped) {
        if let Ok(v) = serde_json::to_value(&st) {
            x.entries[i].marker = Some(v);
        }
    }
}

/// The file an `evidence:` detail names: a bare path, or a Markdown link
/// `[name](path) — what` as rbtui writes the files it saved.
fn evidence_path(d: &str) -> Option<String> {
    let p = match d.strip_prefix('[') {
        Some(rest) => rest.split_once("](")?.1.split_once(')')?.0,
        None if !d.contains(' ') => d,
        None => return None,
    };
    (p.contains('/') || p.ends_with(".log") || p.ends_with(".txt")).then(|| p.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_timeline_reads_back_with_dates_targets_details_and_markers() {
        let note = "# Incident INC-7\n\n- **Incident:** INC-7\n- **Operator:** alice\n\n<!-- rbtui {\"marker\":\"header\"} -->\n\n## Timeline (UTC, 2026-12-03)\n\n- `23:59:58Z` **session** — LIVE session started\n- `23:59:59Z` **assess** `catalog` — health critical: roll back now\n    - all 3 replicas crash-looping\n    - evidence: incidents/x.evidence/logs.txt\n  <!-- rbtui {\"marker\":\"tick\",\"target\":\"catalog\",\"step\":\"assess\"} -->\n- `00:00:03Z` **verify** `catalog` — recovered\n\n    | | before | after |\n    |---|---|---|\n";
        let x = read(note);
        assert_eq!(x.incident.as_deref(), Some("INC-7"));
        assert_eq!(x.header["Operator"], "alice");
        assert_eq!(x.entries.len(), 3);
        let a = &x.entries[1];
        assert_eq!(a.kind, "assess");
        assert_eq!(a.target.as_deref(), Some("catalog"));
        assert_eq!(a.text, "health critical: roll back now");
        assert_eq!(a.details[0], "all 3 replicas crash-looping");
        assert_eq!(a.evidence, ["incidents/x.evidence/logs.txt"]);
        assert_eq!(
            evidence_path(
                "[0315-web-pods.txt](INC.md.evidence/0315-web-pods.txt) — pod status (9 bytes)"
            ),
            Some("INC.md.evidence/0315-web-pods.txt".into())
        );
        assert_eq!(a.marker.as_ref().unwrap()["step"], "assess");
        assert_eq!(
            x.entries[2].at.unwrap().to_rfc3339(),
            "2026-12-04T00:00:03+00:00",
            "the day rolls over at midnight"
        );
        assert_eq!(x.entries[2].details.len(), 2, "table rows kept");
    }
}
