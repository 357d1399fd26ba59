//! The ready-to-paste status message, filled from the run so it never
//! claims more than rbtui saw.

use super::fmt::hms;
use super::model::Kind;
use super::plan::images_text;
use super::state::{Outcome, State};

const TEMPLATE: &str = include_str!("../../assets/templates/status.txt");

pub fn draft(s: &State) -> String {
    let Some(run) = &s.run else {
        let t = s.selected_target();
        let v = t.and_then(|t| s.verdicts.get(&t.name));
        return format!(
            "🔎 INVESTIGATING — incident {}\n{}: {}\nNo rollback executed yet. Owner: {}",
            s.settings.incident,
            t.map(|t| t.name.as_str()).unwrap_or("(no target)"),
            v.map(|v| format!("{} — {}", v.severity.label(), v.reasons.join("; ")))
                .unwrap_or_else(|| "health unknown".into()),
            s.settings.operator
        );
    };
    let p = &run.plan;
    let (icon, headline, outcome_line) = match &run.outcome {
        None => (
            "🔙",
            format!("ROLLBACK IN PROGRESS: {}", p.target.name),
            "not yet converged".to_string(),
        ),
        Some(Outcome::Succeeded) => (
            "✅",
            format!("ROLLBACK EXECUTED: {}", p.target.name),
            format!("finished {}", hms(s.now)),
        ),
        Some(Outcome::Failed(m)) => (
            "❌",
            format!("ROLLBACK FAILED: {}", p.target.name),
            format!("failed: {m}"),
        ),
    };
    let health = match s.health.get(&p.target.name) {
        Some(h) => {
            let e = h
                .error_rate
                .map(|e| format!(", 5xx {:.1}%", e * 100.0))
                .unwrap_or_default();
            format!("{}/{} ready{e}", h.ready, h.desired)
        }
        None => "unknown".into(),
    };
    // A follow-up plan (re-enable) is not what the message is about: the
    // rollback this incident made is.
    let (bad_rev, good_rev) = s
        .followup(&p.target.name)
        .map(|(f, t)| (f.clone(), t.clone()))
        .unwrap_or_else(|| (p.from.clone(), p.to.clone()));
    let detected = bad_rev.deployed_at.map(hms).unwrap_or_else(|| "?".into());
    let bad = bad_rev
        .git_sha
        .as_deref()
        .map(|s| &s[..s.len().min(7)])
        .unwrap_or("the bad change");
    let autosync = if p.target.kind == Kind::Argocd
        && p.steps
            .iter()
            .any(|st| matches!(st, super::plan::PlanStep::DisableAutoSync))
    {
        ", then re-enable auto-sync".to_string()
    } else {
        String::new()
    };
    let vars = [
        ("icon", icon.to_string()),
        ("headline", headline),
        ("incident", s.settings.incident.clone()),
        ("environment", p.target.environment.clone()),
        ("target", p.target.name.clone()),
        ("kind", p.target.kind.label().to_string()),
        ("detected", detected),
        ("started", hms(run.started_at)),
        ("outcome_line", outcome_line),
        ("from_rev", bad_rev.id.clone()),
        ("from_images", images_text(&bad_rev)),
        ("to_rev", good_rev.id.clone()),
        ("to_images", images_text(&good_rev)),
        ("health", health),
        ("bad_sha", bad.to_string()),
        ("autosync_next", autosync),
        ("operator", s.settings.operator.clone()),
    ];
    crate::runbook::fill(
        TEMPLATE,
        &vars
            .iter()
            .map(|(k, v)| (*k, v.clone()))
            .collect::<Vec<_>>(),
    )
    .trim_end()
    .to_string()
}
