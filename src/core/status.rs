//! The ready-to-paste status messages, one template per audience and
//! moment (P0, P1, update, resolved), filled from the run so they never
//! claim more than rbtui saw: "resolved" says RESOLVED only after the
//! verification recovered. Drafting never ticks "posted"; the operator
//! does, after posting.

pub use super::comms::Comms;
use super::fmt::hms;
use super::model::Kind;
use super::plan::images_text;
use super::state::{Outcome, State};

/// The message the moment calls for: before a rollback, P0 for a critical
/// prod target and P1 otherwise; once one ran, an update. Declaring the
/// incident resolved is the operator's call (`r`), never rbtui's default.
pub fn default_for(s: &State) -> Comms {
    match s.shown_run() {
        Some(_) => Comms::Update,
        None => {
            let t = s.selected_target();
            let critical = t
                .and_then(|t| s.verdict(&t.name))
                .is_some_and(|v| v.severity == super::verdict::Severity::Critical);
            if critical && t.is_some_and(|t| t.is_prod()) {
                Comms::P0
            } else {
                Comms::P1
            }
        }
    }
}

pub fn draft(s: &State, which: Comms) -> String {
    let template = s
        .settings
        .comms
        .get(&which)
        .map(String::as_str)
        .unwrap_or(which.builtin());
    let Some(run) = s.shown_run() else {
        let t = s.selected_target();
        let verdict = t
            .and_then(|t| s.verdict(&t.name))
            .map(|v| format!("{} — {}", v.severity.label(), v.reasons.join("; ")))
            .unwrap_or_else(|| "health unknown".into());
        // The revision running now is the suspect.
        let cur = t.and_then(|t| s.history(&t.name)).and_then(|h| h.current());
        let vars = [
            ("icon", "🔎".to_string()),
            ("headline", "INVESTIGATING".to_string()),
            (
                "resolved_headline",
                "⚠ NOT RESOLVED (no rollback executed)".to_string(),
            ),
            ("incident", s.settings.incident.clone()),
            (
                "environment",
                t.map(|t| t.environment.clone()).unwrap_or_default(),
            ),
            (
                "target",
                t.map(|t| t.name.clone())
                    .unwrap_or_else(|| "(no target)".into()),
            ),
            (
                "kind",
                t.map(|t| t.kind.label().to_string()).unwrap_or_default(),
            ),
            ("verdict", verdict),
            (
                "detected",
                cur.and_then(|c| c.deployed_at)
                    .map(hms)
                    .unwrap_or_else(|| "?".into()),
            ),
            ("started", "—".into()),
            ("outcome_line", "no rollback executed yet".into()),
            ("rollback_line", "No rollback executed.".into()),
            ("verified", "no rollback executed yet".into()),
            (
                "from_rev",
                cur.map(|c| c.id.to_string()).unwrap_or_else(|| "?".into()),
            ),
            (
                "from_images",
                cur.map(images_text).unwrap_or_else(|| "?".into()),
            ),
            ("to_rev", "?".into()),
            ("to_images", "?".into()),
            ("health", "see verdict".into()),
            ("bad_sha", "the bad change".into()),
            ("autosync_next", String::new()),
            ("operator", s.settings.operator.clone()),
        ];
        return fill(template, &vars);
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
    let health = match s.health(&p.target.name) {
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
    let verified = match (&run.outcome, &run.caveat) {
        (Some(Outcome::Succeeded), None) => format!("verified recovered ({})", hms(s.now)),
        (_, Some(c)) => format!("NOT verified: {c}"),
        (Some(Outcome::Failed(m)), None) => format!("NOT verified: the rollback failed: {m}"),
        (None, None) => "not verified yet".into(),
    };
    let resolved_headline = if verified.starts_with("verified") {
        "✅ RESOLVED".to_string()
    } else {
        "⚠ NOT RESOLVED (recovery not verified)".to_string()
    };
    let verdict = s
        .verdict(&p.target.name)
        .map(|v| format!("{} — {}", v.severity.label(), v.reasons.join("; ")))
        .unwrap_or_else(|| "health unknown".into());
    let vars = [
        ("icon", icon.to_string()),
        ("headline", headline),
        ("resolved_headline", resolved_headline),
        ("verdict", verdict),
        (
            "rollback_line",
            format!(
                "Rolled back {} → {} ({}); {}",
                bad_rev.id,
                good_rev.id,
                images_text(&good_rev),
                outcome_line
            ),
        ),
        ("verified", verified),
        ("incident", s.settings.incident.clone()),
        ("environment", p.target.environment.clone()),
        ("target", p.target.name.clone()),
        ("kind", p.target.kind.label().to_string()),
        ("detected", detected),
        ("started", hms(run.started_at)),
        ("outcome_line", outcome_line),
        ("from_rev", bad_rev.id.to_string()),
        ("from_images", images_text(&bad_rev)),
        ("to_rev", good_rev.id.to_string()),
        ("to_images", images_text(&good_rev)),
        ("health", health),
        ("bad_sha", bad.to_string()),
        ("autosync_next", autosync),
        ("operator", s.settings.operator.clone()),
    ];
    fill(template, &vars)
}

fn fill(template: &str, vars: &[(&str, String)]) -> String {
    super::runbook::fill(template, vars).trim_end().to_string()
}
