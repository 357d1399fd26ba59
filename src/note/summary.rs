//! The summary at the top of the note: what a ticket reader needs on the
//! first screen (impact, what was rolled back and whether it was proven,
//! follow-ups, the times that matter). It is derived only from the
//! incident model the note's own markers build, so it can never tell
//! another story than the timeline below it, which stays the record.

use crate::core::entry::{RevFact, RunResult, Stamped};
use crate::core::fmt::hms;
use crate::core::incident::{Incident, RunFact, Story};
use crate::core::plan::PlanKind;
use chrono::{DateTime, Utc};

/// The block's first line. Not an `rbtui` marker (those start
/// `<!-- rbtui {`), so `--resume` and export never read it as a fact.
pub const BEGIN: &str = "<!-- rbtui-summary: rewritten in place as the incident goes on; the timeline below is the record -->";
pub const END: &str = "<!-- /rbtui-summary -->";
/// Past this many targets a list names the count and points below: the
/// summary must fit a first screen (under 40 lines).
const LIST: usize = 6;

/// What the summary is derived from, kept up to date entry by entry.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Told {
    pub model: Incident,
    /// The time of the latest fact folded in: the summary's "as of".
    pub as_of: Option<DateTime<Utc>>,
}

impl Told {
    /// From a note's text as written so far (a new note's header, or a
    /// resumed note whole).
    pub fn read(text: &str) -> Told {
        let mut t = Told::default();
        for m in super::resume::markers(text) {
            t.fold(&m);
        }
        t
    }

    pub fn fold(&mut self, m: &Stamped) {
        self.model.apply(m.at, &m.marker);
        if m.marker.target().is_some()
            || matches!(m.marker, crate::core::entry::Marker::Group { .. })
        {
            self.as_of = Some(self.as_of.map_or(m.at, |a| a.max(m.at)));
        }
    }
}

/// The block, delimiters included, ending with a blank line.
pub fn render(t: &Told) -> String {
    let mut s = format!("{BEGIN}\n## Summary");
    if let Some(at) = t.as_of {
        s.push_str(&format!(" (as of {})", at.format("%Y-%m-%d %H:%M:%SZ")));
    }
    s.push_str("\n\n");
    let touched = t.model.touched();
    s.push_str(&format!("- **Status:** {}\n", status(&touched)));
    if let Some(sev) = worst(&touched) {
        s.push_str(&format!("- **Severity:** {sev} (the worst seen)\n"));
    }
    list(&mut s, "Impact", impact(&touched), "no target seen failing");
    list(&mut s, "Rolled back", rolled_back(&touched), "nothing");
    list(&mut s, "Follow-ups", followups(&touched), "none open");
    s.push_str(&format!("- **Times:** {}\n", times(&touched)));
    s.push_str(&format!("{END}\n\n"));
    crate::core::redact::redact(&s)
}

fn list(s: &mut String, title: &str, items: Vec<String>, none: &str) {
    if items.is_empty() {
        s.push_str(&format!("- **{title}:** {none}\n"));
        return;
    }
    s.push_str(&format!("- **{title}:**\n"));
    let more = items.len().saturating_sub(LIST);
    for i in items.into_iter().take(LIST) {
        s.push_str(&format!("  - {i}\n"));
    }
    if more > 0 {
        s.push_str(&format!(
            "  - … and {more} more (the timeline below has them)\n"
        ));
    }
}

fn status(touched: &[(&str, &Story)]) -> String {
    let failing: Vec<&str> = touched
        .iter()
        .filter(|(_, s)| s.open_failure().is_some())
        .map(|(t, _)| *t)
        .collect();
    let seen = touched
        .iter()
        .filter(|(_, s)| !s.failures.is_empty())
        .count();
    let running = touched
        .iter()
        .filter(|(_, s)| s.runs.iter().any(|r| r.ended.is_none()))
        .count();
    match (failing.len(), seen) {
        (0, 0) if running > 0 => format!("{running} run(s) with no end recorded yet"),
        (0, 0) => "no target seen failing".into(),
        (0, n) => {
            format!("mitigated: every target seen failing ({n}) has a verified rollback since")
        }
        (f, n) => format!(
            "ONGOING: {f} of {n} target(s) seen failing have no verified rollback since ({})",
            failing
                .iter()
                .map(|t| format!("`{t}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

fn worst(touched: &[(&str, &Story)]) -> Option<&'static str> {
    let rank = |s: &str| match s {
        "critical" => 3,
        "serious" => 2,
        "watch" => 1,
        _ => 0,
    };
    touched
        .iter()
        .flat_map(|(_, s)| s.failures.iter())
        .map(|f| rank(&f.severity))
        .max()
        .map(|r| ["unknown", "watch", "serious", "critical"][r])
}

fn impact(touched: &[(&str, &Story)]) -> Vec<String> {
    touched
        .iter()
        .filter_map(|(t, s)| {
            let first = s.failures.first()?;
            let last = s.failures.last()?;
            let why = if last.reasons.is_empty() {
                String::new()
            } else {
                format!(": {}", last.reasons.join("; "))
            };
            // Failing again after a verified rollback: since when again.
            let again = s.runs.iter().any(|r| {
                r.ended
                    .as_ref()
                    .is_some_and(|e| e.result == RunResult::Verified && e.at <= last.at)
            });
            let state = match s.open_failure() {
                Some(_) if again => format!("failing again since {}", hms(last.at)),
                Some(_) => "still failing".to_string(),
                None => "recovered".to_string(),
            };
            Some(format!(
                "`{t}` {} since {} ({state}){why}",
                last.severity,
                hms(first.at)
            ))
        })
        .collect()
}

fn rev(r: &RevFact) -> String {
    match r.short_sha() {
        Some(sha) => format!("{} ({sha})", r.id),
        None => r.id.clone(),
    }
}

fn rolled_back(touched: &[(&str, &Story)]) -> Vec<String> {
    touched
        .iter()
        .flat_map(|(t, s)| s.runs.iter().map(move |r| (*t, r)))
        .filter(|(_, r)| r.kind.rolls_back())
        .map(|(t, r)| {
            let group = r
                .group
                .as_deref()
                .map(|g| format!(" in group `{g}`"))
                .unwrap_or_default();
            let retag = if r.kind == PlanKind::Retag {
                " by re-tag"
            } else {
                ""
            };
            format!(
                "`{t}` {} → {}{retag}{group} (plan #{}): {}",
                rev(&r.from),
                rev(&r.to),
                r.plan,
                outcome(r)
            )
        })
        .collect()
}

fn outcome(r: &RunFact) -> String {
    match &r.ended {
        Some(e) => format!("{} at {} — {}", e.result.label(), hms(e.at), e.why),
        None if r.sent.is_some() => format!(
            "applied at {}, no end recorded (in progress, or the session ended first: check the target)",
            hms(r.sent.unwrap_or(r.started))
        ),
        None => format!(
            "started at {}, no end recorded (check the target)",
            hms(r.started)
        ),
    }
}

fn followups(touched: &[(&str, &Story)]) -> Vec<String> {
    let mut out = Vec::new();
    for (t, s) in touched {
        if let Some((bad, _)) = s.followup() {
            out.push(format!(
                "`{t}`: {}; root-cause investigation; postmortem",
                bad.revert()
            ));
        }
        for r in s.runs.iter().filter(|r| r.kind == PlanKind::Retag) {
            if let Some(sent) = r.sent {
                out.push(format!(
                    "`{t}`: open the revert PR by {} (the re-tag left no git trace)",
                    hms(sent + chrono::Duration::hours(1))
                ));
            }
        }
    }
    out
}

fn times(touched: &[(&str, &Story)]) -> String {
    let detected = touched
        .iter()
        .filter_map(|(_, s)| s.failures.first().map(|f| f.at))
        .min();
    let mitigated = touched
        .iter()
        .flat_map(|(_, s)| s.runs.iter())
        .filter(|r| r.kind.rolls_back())
        .filter_map(|r| r.sent)
        .min();
    let still = touched.iter().any(|(_, s)| s.open_failure().is_some());
    let verified = touched
        .iter()
        .flat_map(|(_, s)| s.runs.iter())
        .filter_map(|r| r.ended.as_ref())
        .filter(|e| e.result == RunResult::Verified)
        .map(|e| e.at)
        .max();
    let at = |t: Option<DateTime<Utc>>, none: &str| t.map(hms).unwrap_or_else(|| none.to_string());
    format!(
        "detected {} · mitigated {} · verified {}",
        at(detected, "— (not seen failing)"),
        mitigated.map_or_else(
            || "— (nothing applied)".to_string(),
            |m| format!("{} (first rollback applied)", hms(m))
        ),
        if still && detected.is_some() {
            "— (not yet)".to_string()
        } else {
            at(verified, "— (nothing verified)")
        }
    )
}

/// `text` with its summary block replaced by `block` (or put after the
/// title line where an older note has none). None when the text has no
/// title to put it under.
pub fn replaced(text: &str, block: &str) -> Option<String> {
    if let Some(old) = block_in(text) {
        return Some(text.replacen(old, block, 1));
    }
    if text.contains(BEGIN) {
        // A block without its end (edited by hand): left as it is.
        return None;
    }
    let title = text.strip_prefix("# ")?.find('\n')? + 3;
    let rest = text[title..].trim_start_matches('\n');
    Some(format!("{}\n{block}{rest}", &text[..title]))
}

/// The note without its summary: the timeline as appended, byte for byte.
pub fn without(text: &str) -> String {
    block_in(text).map_or_else(|| text.to_string(), |b| text.replacen(b, "", 1))
}

/// The summary block a note holds, delimiters and trailing blank line
/// included.
pub fn block_in(text: &str) -> Option<&str> {
    let start = text.find(BEGIN)?;
    let end = text[start..].find(END)? + start + END.len();
    let end = if text[end..].starts_with("\n\n") {
        end + 2
    } else {
        end + usize::from(text[end..].starts_with('\n'))
    };
    Some(&text[start..end])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::entry::Marker;

    fn at(s: u32) -> DateTime<Utc> {
        chrono::TimeZone::with_ymd_and_hms(&Utc, 2026, 11, 22, 3, 0, s).unwrap()
    }

    fn rev(id: &str, sha: &str) -> RevFact {
        RevFact {
            id: id.into(),
            sha: Some(sha.into()),
            images: vec![format!("r/app:git-{sha}")],
            deployed_at: None,
        }
    }

    fn fold(t: &mut Told, s: u32, m: Marker) {
        t.fold(&Stamped {
            marker: m,
            at: at(s),
        });
    }

    fn failing(t: &mut Told, s: u32) {
        fold(
            t,
            s,
            Marker::Failure {
                target: "co".into(),
                severity: "critical".into(),
                reasons: vec!["error rate 12.0% > 5%".into()],
                revision: Some(rev("9", "d8f3c2a11")),
            },
        );
    }

    fn run(t: &mut Told, s: u32, kind: PlanKind) {
        fold(
            t,
            s,
            Marker::RunStarted {
                target: "co".into(),
                plan: 3,
                kind,
                from: rev("9", "d8f3c2a11"),
                to: rev("8", "a1b2c3d44"),
                group: None,
            },
        );
        fold(
            t,
            s + 1,
            Marker::Deployed {
                target: "co".into(),
                image: "r/app:git-a1b2c3d44".into(),
                incident: "INC-7".into(),
                from: vec![],
                from_rev: None,
                to_rev: None,
                from_sha: None,
                to_sha: None,
                plan: Some(3),
            },
        );
    }

    #[test]
    fn the_summary_follows_the_incident_not_the_last_action() {
        let mut t = Told::default();
        failing(&mut t, 1);
        let s = render(&t);
        assert!(s.contains("ONGOING: 1 of 1 target(s)"), "{s}");
        assert!(
            s.contains("`co` critical since 03:00:01Z (still failing): error rate 12.0% > 5%"),
            "{s}"
        );
        assert!(s.contains("verified — (not yet)"), "{s}");
        run(&mut t, 10, PlanKind::Rollback);
        let s = render(&t);
        assert!(
            s.contains(
                "`co` 9 (d8f3c2a) → 8 (a1b2c3d) (plan #3): applied at 03:00:11Z, no end recorded"
            ),
            "{s}"
        );
        assert!(s.contains("mitigated 03:00:11Z"), "{s}");
        fold(
            &mut t,
            40,
            Marker::RunEnded {
                target: "co".into(),
                plan: 3,
                result: RunResult::Verified,
                why: "error rate 0.2% ≤ 5% for 30 s".into(),
                landed: Some("10".into()),
            },
        );
        let s = render(&t);
        assert!(
            s.contains("mitigated: every target seen failing (1)"),
            "{s}"
        );
        assert!(
            s.contains("verified at 03:00:40Z — error rate 0.2% ≤ 5% for 30 s"),
            "{s}"
        );
        assert!(s.contains("`co`: revert d8f3c2a in git"), "{s}");
        assert!(s.contains("verified 03:00:40Z"), "{s}");
        assert!(s.contains("(as of 2026-11-22 03:00:40Z)"), "{s}");
        assert!(s.lines().count() < 40, "{s}");
        // Seen failing again after the verified rollback: ongoing again.
        failing(&mut t, 50);
        let s = render(&t);
        assert!(s.contains("ONGOING"), "{s}");
        assert!(s.contains("(failing again since 03:00:50Z)"), "{s}");
    }

    #[test]
    fn a_retag_names_the_revert_pr_due_time() {
        let mut t = Told::default();
        failing(&mut t, 1);
        run(&mut t, 10, PlanKind::Retag);
        let s = render(&t);
        assert!(s.contains("by re-tag"), "{s}");
        assert!(s.contains("open the revert PR by 04:00:11Z"), "{s}");
    }

    #[test]
    fn the_block_is_replaced_in_place_and_the_timeline_kept_byte_for_byte() {
        let old = "# Incident INC-7\n\n- **Incident:** INC-7\n\n## Timeline (UTC, 2026-11-22)\n\n- `03:00:01Z` **session** — x\n";
        let a = replaced(old, &render(&Told::default())).unwrap();
        assert!(
            a.starts_with(&format!("# Incident INC-7\n\n{BEGIN}\n")),
            "{a}"
        );
        assert_eq!(without(&a), old);
        let mut t = Told::default();
        failing(&mut t, 1);
        let b = replaced(&a, &render(&t)).unwrap();
        assert_eq!(without(&b), old);
        assert_eq!(block_in(&b).unwrap(), render(&t));
        assert_eq!(b.matches(BEGIN).count(), 1);
        assert!(
            crate::note::resume::markers(&b).is_empty(),
            "no fact read from the summary"
        );
    }
}
