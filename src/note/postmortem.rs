//! `rbtui postmortem NOTE`: a Markdown draft of the postmortem from what
//! the note recorded — times, what was rolled back where, migration
//! verdicts, evidence, the runbooks' mandatory questions, an action item
//! per checklist step left open. Every fact in it is quoted from the note
//! with its time; what the note cannot know (when users were first hurt,
//! why CI passed) is asked, never guessed.

use super::export::{Entry, Export};
use chrono::{DateTime, Utc};

fn hms(at: Option<DateTime<Utc>>) -> String {
    at.map(|a| a.format("%Y-%m-%d %H:%M:%SZ").to_string())
        .unwrap_or_else(|| "?".into())
}

fn line(e: &Entry) -> String {
    format!(
        "{} **{}**{} — {}",
        hms(e.at),
        e.kind,
        e.target
            .as_deref()
            .map(|t| format!(" `{t}`"))
            .unwrap_or_default(),
        e.text
    )
}

fn first(x: &Export, f: impl Fn(&Entry) -> bool) -> Option<&Entry> {
    x.entries.iter().find(|e| f(e))
}

fn minutes(a: &Entry, b: &Entry) -> Option<String> {
    let d = b.at? - a.at?;
    Some(format!(
        "{} min {} s",
        d.num_minutes(),
        d.num_seconds() % 60
    ))
}

pub fn draft(x: &Export, note_path: &str, now: DateTime<Utc>) -> String {
    let id = x.incident.as_deref().unwrap_or("(no incident id)");
    let mut s = format!(
        "# Postmortem draft — {id}\n\n_Drafted by rbtui {} from `{note_path}` at {}. Facts and times below are quoted from the note; the questions are for the team._\n\n",
        env!("CARGO_PKG_VERSION"),
        now.format("%Y-%m-%d %H:%M:%SZ")
    );
    s.push_str(&times(x));
    s.push_str(&by_target(x));
    s.push_str("## What was rolled back where\n\n");
    let acts: Vec<&Entry> = x
        .entries
        .iter()
        .filter(|e| {
            matches!(
                e.kind.as_str(),
                "action" | "result" | "failed" | "unknown" | "stale"
            )
        })
        .collect();
    if acts.is_empty() {
        s.push_str("- nothing was executed\n");
    }
    for e in acts {
        s.push_str(&format!("- {}\n", line(e)));
    }

    s.push_str(&overrides(x));
    s.push_str(&schema(x));
    s.push_str(&evidence(x, note_path));

    s.push_str(&questions(x));

    s.push_str("\n## Timeline (from the note)\n\n");
    for e in &x.entries {
        s.push_str(&format!("- {}\n", line(e)));
    }
    s
}

/// The summary (header facts, outcome) and when each phase happened, with
/// the note's own line for each.
fn times(x: &Export) -> String {
    let mut s = String::new();
    s.push_str("## Summary\n\n");
    for k in ["Incident", "Mode", "Operator", "Started"] {
        if let Some(v) = x.header.get(k) {
            s.push_str(&format!("- **{k}:** {v}\n"));
        }
    }
    let detected = first(x, |e| {
        e.kind == "assess" && (e.text.contains("critical") || e.text.contains("serious"))
    });
    let mitigating = first(x, |e| e.kind == "action");
    // The checklist step each runbook ticks when the rollout converged.
    let converged_steps: Vec<String> = crate::runbook::load_all(None)
        .unwrap_or_default()
        .iter()
        .flat_map(|r| r.steps.iter())
        .filter(|st| st.auto == Some(crate::runbook::AutoEvent::Converged))
        .map(|st| st.id.clone())
        .collect();
    let converged = first(x, |e| {
        e.marker.as_ref().is_some_and(|m| {
            m["marker"] == "tick"
                && m["step"]
                    .as_str()
                    .is_some_and(|id| converged_steps.iter().any(|c| c == id))
        })
    });
    let recovered = first(x, |e| e.kind == "recovered");
    let not_recovered = first(x, |e| e.kind == "not-recovered");
    let outcome = match (recovered, not_recovered) {
        (Some(r), _) => format!("recovered ({})", line(r)),
        (None, Some(n)) => format!("NOT recovered ({})", line(n)),
        (None, None) => "no recovery recorded: not proven".into(),
    };
    s.push_str(&format!("- **Outcome:** {outcome}\n\n"));

    s.push_str("## Detection, mitigation, recovery\n\n| | when | from the note |\n|---|---|---|\n");
    for (what, e) in [
        ("Detected by rbtui", detected),
        ("Mitigation started", mitigating),
        ("Rollout converged", converged),
        ("Recovery verified", recovered),
    ] {
        match e {
            Some(e) => s.push_str(&format!(
                "| {what} | {} | {} |\n",
                hms(e.at),
                line(e).replace('|', "\\|")
            )),
            None => s.push_str(&format!("| {what} | — | not in the note |\n")),
        }
    }
    s.push_str(&format!(
        "\nImpact as rbtui saw it: {}. When users were first affected (the alert, the first error) is not in the note: add it.\n\n",
        match (detected, recovered) {
            (Some(d), Some(r)) => minutes(d, r)
                .map(|m| format!("{m} from detection to verified recovery"))
                .unwrap_or_else(|| "unknown".into()),
            (Some(_), None) => "no verified recovery recorded".into(),
            _ => "no detection recorded".into(),
        }
    ));

    s
}

/// The questions the runbooks require, answered from the note where it
/// can, and the action items: every step still open at the end.
fn questions(x: &Export) -> String {
    let mut s = String::new();
    let ended = x.entries.iter().rfind(|e| e.kind == "end");
    let open: Vec<String> = ended.map(|e| open_steps(&e.details)).unwrap_or_default();
    let autosync: Vec<&Entry> = x
        .entries
        .iter()
        .filter(|e| e.text.contains("auto-sync"))
        .collect();
    s.push_str("\n## Questions the runbooks require\n\n");
    s.push_str("- **Why did CI pass but production fail?** (a test gap is an action item: add the missing test)\n");
    s.push_str("- **Why was there no automatic rollback?** (no Rollout / analysis threshold not strict enough)\n");
    s.push_str(&format!(
        "- **Was the auto-sync footgun met?** {}\n",
        if autosync.is_empty() {
            "The note has no auto-sync entry.".to_string()
        } else {
            format!(
                "The note mentions auto-sync {} time(s), first: {}",
                autosync.len(),
                line(autosync[0])
            )
        }
    ));
    s.push_str(&format!(
        "- **Which checklist steps stayed open?** {}\n",
        if ended.is_none() {
            "the session has not ended: the note lists the open steps when it does".to_string()
        } else if open.is_empty() {
            "none at the end of the session".to_string()
        } else {
            open.join("; ")
        }
    ));

    s.push_str("\n## Action items\n\n");
    if open.is_empty() {
        s.push_str("- [ ] (add the action items the questions above raise)\n");
    }
    for o in &open {
        s.push_str(&format!(
            "- [ ] {o} (open at the end of the session; owner: ?)\n"
        ));
    }

    s
}

/// Every blocking check a confirm overrode, with the operator's typed
/// reason: the decisions a review must see first.
fn overrides(x: &Export) -> String {
    let mut s = "\n## Overrides\n\n".to_string();
    let mut any = false;
    for e in x.entries.iter().filter(|e| e.kind == "confirm") {
        let blocks: Vec<&str> = e
            .details
            .iter()
            .filter_map(|d| d.strip_prefix("OVERRIDE of BLOCK "))
            .collect();
        if blocks.is_empty() {
            continue;
        }
        any = true;
        let reason = e
            .details
            .iter()
            .find_map(|d| d.strip_prefix("override reason: "))
            .unwrap_or("(none recorded)");
        let target = e
            .target
            .as_deref()
            .map(|t| format!("`{t}` "))
            .unwrap_or_default();
        s.push_str(&format!(
            "- {target}{} at {}: reason given: \"{reason}\"\n",
            e.text,
            hms(e.at)
        ));
        for b in blocks {
            s.push_str(&format!("  - overrode BLOCK {b}\n"));
        }
    }
    if !any {
        s.push_str("- none: no confirmed plan had a blocking check\n");
    }
    s
}

/// One line per target: the schema verdict of the plan that ran (else the
/// last one planned), with the words the plan recorded for it.
fn schema(x: &Export) -> String {
    let i = incident(x);
    let mut s = "\n## Schema and migrations\n\n".to_string();
    let mut any = false;
    for (t, story) in &i.stories {
        let ran = story
            .runs
            .iter()
            .rev()
            .find(|r| r.kind.rolls_back())
            .map(|r| r.plan);
        let Some(plan) = ran
            .and_then(|id| story.plans.iter().rfind(|p| p.id == id))
            .or(story.plans.last())
        else {
            continue;
        };
        let Some(status) = plan
            .checks
            .iter()
            .find(|(c, _)| c == "schema")
            .map(|(_, st)| st.clone())
        else {
            continue;
        };
        any = true;
        // The words: the latest schema line this target's plans recorded up
        // to this one (a re-plan records only what changed).
        let words = x
            .entries
            .iter()
            .filter(|e| {
                e.kind == "plan" && e.target.as_deref() == Some(t.as_str()) && e.at <= Some(plan.at)
            })
            .flat_map(|e| e.details.iter())
            .filter(|d| !d.starts_with("no longer: "))
            .filter_map(|d| d.split_once("`schema`: ").map(|(_, w)| w))
            .next_back()
            .unwrap_or("");
        s.push_str(&format!(
            "- `{t}` (plan #{}, {} → {}{}): schema {status} — {words}\n",
            plan.id,
            plan.from.id,
            plan.to.id,
            if ran == Some(plan.id) {
                ""
            } else {
                ", planned, not run"
            }
        ));
    }
    if !any {
        s.push_str("- no plan recorded a schema verdict\n");
    }
    s
}

/// The evidence files, linked as they lie beside the note.
fn evidence(x: &Export, note_path: &str) -> String {
    // rbtui writes evidence into `<note>.evidence/`: a name recorded alone
    // is there (read from the text, so the draft stays pure over it).
    let note = std::path::Path::new(note_path);
    let folder = format!(
        "{}.evidence",
        note.file_name().unwrap_or_default().to_string_lossy()
    );
    let mut s = "\n## Evidence\n\n".to_string();
    let mut seen: Vec<String> = Vec::new();
    for e in &x.entries {
        for p in &e.evidence {
            let link = if p.contains('/') {
                p.clone()
            } else {
                format!("{folder}/{p}")
            };
            if seen.contains(&link) {
                continue;
            }
            let target = e
                .target
                .as_deref()
                .map(|t| format!("`{t}` "))
                .unwrap_or_default();
            s.push_str(&format!("- {target}[{link}]({link}) ({})\n", hms(e.at)));
            seen.push(link);
        }
    }
    for e in x.entries.iter().filter(|e| e.kind == "evidence") {
        s.push_str(&format!("- {}\n", line(e)));
    }
    if seen.is_empty() && !x.entries.iter().any(|e| e.kind == "evidence") {
        s.push_str("- none recorded\n");
    }
    s
}

/// The incident as the note's markers tell it (what `--resume` rebuilds).
fn incident(x: &Export) -> crate::core::incident::Incident {
    let mut i = crate::core::incident::Incident::default();
    for e in &x.entries {
        let stamped = e
            .marker
            .clone()
            .and_then(|m| serde_json::from_value::<crate::core::entry::Stamped>(m).ok());
        if let Some(st) = stamped {
            i.apply(st.at, &st.marker);
        }
    }
    i
}

/// Every target the incident touched, each with its own episodes: when it
/// was seen failing, each run (from → to, how it ended and on what), and
/// the follow-up that applies — the whole incident, not its first
/// rollback.
fn by_target(x: &Export) -> String {
    let i = incident(x);
    let touched = i.touched();
    if touched.is_empty() {
        return String::new();
    }
    let mut s = "## By target\n\n".to_string();
    for (t, story) in touched {
        s.push_str(&format!("- **{t}**\n"));
        for f in &story.failures {
            s.push_str(&format!(
                "  - seen failing {}: {} — {}\n",
                hms(Some(f.at)),
                f.severity,
                f.reasons.join("; ")
            ));
        }
        for r in &story.runs {
            let end = match &r.ended {
                Some(e) => format!("{} at {} ({})", e.result.label(), hms(Some(e.at)), e.why),
                None => "no end recorded (the session ended first)".to_string(),
            };
            let group = r
                .group
                .as_deref()
                .map(|g| format!(", in group {g}"))
                .unwrap_or_default();
            s.push_str(&format!(
                "  - plan #{} {} → {}{group}, started {}: {end}\n",
                r.plan,
                r.from.id,
                r.to.id,
                hms(Some(r.started))
            ));
        }
        match story.followup() {
            Some((bad, _)) => s.push_str(&format!(
                "  - follow-up: {} (revision {})\n",
                bad.revert(),
                bad.id
            )),
            None if !story.runs.is_empty() => {
                s.push_str("  - follow-up: none (no failing build was rolled back from)\n")
            }
            None => {}
        }
    }
    s.push('\n');
    s
}

/// The steps left open at the end, each naming its target (`target: step`):
/// the end entry lists a target's checklist under a `target — title:`
/// line; a target where no rollback ran lists only what was ticked.
fn open_steps(details: &[String]) -> Vec<String> {
    let mut target = String::new();
    let mut out = Vec::new();
    for d in details {
        let d = d.trim();
        if let Some(step) = d.strip_prefix("[ ] ") {
            out.push(if target.is_empty() {
                step.to_string()
            } else {
                format!("{target}: {step}")
            });
        } else if !d.starts_with('[') {
            if let Some((t, _)) = d.split_once(" — ") {
                target = t.to_string();
            }
        }
    }
    out
}

/// Reads the note and writes the draft beside it (`<note>.postmortem.md`,
/// or `out`), never over an existing file; returns where.
pub fn write_next_to(
    note: &std::path::Path,
    out: Option<&std::path::Path>,
    now: DateTime<Utc>,
) -> Result<String, String> {
    let x = super::export::read_file(note)?;
    let out = out
        .map(std::path::Path::to_path_buf)
        .unwrap_or_else(|| note.with_extension("postmortem.md"));
    // A note edited by hand (or older than the redactor) is still an
    // input: the draft leaves redacted, as every exit does.
    let body = crate::core::redact::redact(&draft(&x, &note.display().to_string(), now));
    // Never over a draft someone has started editing.
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&out)
        .and_then(|mut f| {
            use std::io::Write;
            f.write_all(body.as_bytes())?;
            f.sync_all()
        })
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::AlreadyExists => format!(
                "{} exists (a draft is never written over): edit it, move it away, or give another with --out PATH (--out - prints it)",
                out.display()
            ),
            _ => format!("cannot write {}: {e}", out.display()),
        })?;
    Ok(out.display().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_draft_quotes_the_note_and_asks_what_it_cannot_know() {
        let note = "# Incident INC-7\n\n- **Incident:** INC-7\n- **Mode:** LIVE\n\n## Timeline (UTC, 2026-12-03)\n\n- `03:00:00Z` **assess** `checkout` — health critical: roll back now\n- `03:02:00Z` **plan** `checkout` — plan #1\n    - migrations 8..9: 1 file(s), 1 ok, 0 review, 0 UNSAFE\n- `03:03:00Z` **action** `checkout` — step 1: Roll back deployment checkout from revision 9 to revision 8\n- `03:04:00Z` **checklist** `checkout` — ☑ Rollout converged (auto)\n  <!-- rbtui {\"marker\":\"tick\",\"target\":\"checkout\",\"step\":\"converged\",\"auto\":true} -->\n- `03:06:30Z` **recovered** `checkout` — recovered: error_rate 0.2% < 5%\n- `03:10:00Z` **end** — session ended; checklist state at exit\n    - checkout — Kubernetes deployment rollback:\n      - [x] Executed rollout undo\n      - [ ] Revert the bad change (d8f3c2a) in git\n";
        let x = super::super::export::read(note);
        let d = draft(&x, "n.md", chrono::Utc::now());
        assert!(d.contains("# Postmortem draft — INC-7"), "{d}");
        assert!(
            d.contains("6 min 30 s from detection to verified recovery"),
            "{d}"
        );
        assert!(
            d.contains("| Mitigation started | 2026-12-03 03:03:00Z |"),
            "{d}"
        );
        assert!(
            d.contains("| Rollout converged | 2026-12-03 03:04:00Z |"),
            "{d}"
        );
        assert!(
            d.contains("- no plan recorded a schema verdict"),
            "markers, not detail lines: {d}"
        );
        assert!(d.contains("## Overrides\n\n- none"), "{d}");
        assert!(
            d.contains(
                "- [ ] checkout: Revert the bad change (d8f3c2a) in git (open at the end of the session; owner: ?)"
            ),
            "{d}"
        );
        assert!(d.contains("The note has no auto-sync entry."), "{d}");
        assert!(d.contains("is not in the note: add it"), "{d}");
    }

    #[test]
    fn without_a_recovery_the_outcome_is_not_proven() {
        let note =
            "## Timeline (UTC, 2026-12-03)\n\n- `03:00:00Z` **assess** `x` — health critical\n";
        let d = draft(
            &super::super::export::read(note),
            "n.md",
            chrono::Utc::now(),
        );
        assert!(d.contains("no recovery recorded: not proven"), "{d}");
        assert!(d.contains("no verified recovery recorded"), "{d}");
    }
}
