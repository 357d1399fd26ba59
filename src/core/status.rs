//! The ready-to-paste status messages, one template per audience and
//! moment (P0, P1, update, resolved). A message covers every target the
//! incident touched (seen failing, or rolled back), each filled from the
//! incident model with the facts' own times, so it never claims more than
//! rbtui saw: "resolved" says RESOLVED only for a verified recovery, a
//! target rolled back only because it is in a group is not called a bad
//! deploy. Drafting never ticks "posted"; the operator does, after posting.

pub use super::comms::Comms;
use super::fmt::hms;
use super::incident::{RunFact, RunResult, Story};
use super::model::{Kind, TargetInfo};
use super::state::State;

/// The message the moment calls for: once anything ran, an update; before
/// that P0 when a touched prod target is critical, P1 otherwise. Declaring
/// the incident resolved is the operator's call (`r`), never rbtui's
/// default.
pub fn default_for(s: &State) -> Comms {
    let targets = covered(s);
    let ran = targets.iter().any(|t| {
        s.incident
            .story(&t.name)
            .is_some_and(|st| !st.runs.is_empty())
    });
    if ran {
        return Comms::Update;
    }
    let critical = targets.iter().any(|t| {
        t.is_prod()
            && s.verdict(&t.name)
                .is_some_and(|v| v.severity == super::verdict::Severity::Critical)
    });
    if critical { Comms::P0 } else { Comms::P1 }
}

/// The targets a message covers: every one the incident touched, prod
/// first, then by name; with none, the selected target.
pub fn covered(s: &State) -> Vec<&TargetInfo> {
    let mut out: Vec<&TargetInfo> = s
        .incident
        .touched()
        .into_iter()
        .filter_map(|(t, _)| s.target(t))
        .collect();
    out.sort_by_key(|t| (!t.is_prod(), t.name.clone()));
    if out.is_empty() {
        out.extend(s.selected_target());
    }
    out
}

pub fn draft(s: &State, which: Comms) -> String {
    let template = s
        .settings
        .comms
        .get(&which)
        .map(String::as_str)
        .unwrap_or(which.builtin());
    let blocks: Vec<String> = covered(s)
        .into_iter()
        .map(|t| fill(template, &vars(s, t)))
        .collect();
    if blocks.is_empty() {
        return fill(template, &[("target", "(no target)".into())]);
    }
    blocks.join("\n\n")
}

/// One target's placeholders, from its story in the incident.
fn vars(s: &State, t: &TargetInfo) -> Vec<(&'static str, String)> {
    let empty = Story::default();
    let story = s.incident.story(&t.name).unwrap_or(&empty);
    let run = story.last_rollback();
    let live = s.run_on(&t.name).filter(|r| r.in_flight());
    let (icon, headline) = headline(t, story, run, live.is_some());
    let followup = story.followup();
    // A failure recorded before History was read knows the revision by id
    // only: History fills in its commit and deploy time.
    let known = |r: super::entry::RevFact| match s.history(&t.name).and_then(|h| h.find(&r.id)) {
        Some(rev) if r.sha.is_none() || r.deployed_at.is_none() => super::entry::RevFact::of(rev),
        _ => r,
    };
    let bad = followup
        .map(|(b, _)| b.clone())
        .or_else(|| run.map(|r| r.from.clone()))
        .or_else(|| story.failures.last().and_then(|f| f.revision.clone()))
        .or_else(|| {
            s.history(&t.name)
                .and_then(|h| h.current())
                .map(super::entry::RevFact::of)
        })
        .map(known);
    let good = followup
        .map(|(_, g)| g.clone())
        .or_else(|| run.map(|r| r.to.clone()));
    let images = |r: &Option<super::entry::RevFact>| {
        r.as_ref()
            .map(|r| super::plan::images_text(&r.revision()))
            .unwrap_or_else(|| "?".into())
    };
    let id = |r: &Option<super::entry::RevFact>| {
        r.as_ref()
            .map(|r| r.id.clone())
            .unwrap_or_else(|| "?".into())
    };
    let outcome = outcome_line(run, live.is_some());
    let verified = verified_line(run, live.is_some());
    vec![
        ("icon", icon.to_string()),
        ("headline", headline),
        ("resolved_headline", resolved_headline(run, &verified)),
        ("verdict", impact(s, t, story, run)),
        (
            "detected",
            story
                .failures
                .first()
                .map(|f| hms(f.at))
                .unwrap_or_else(|| "not seen failing".into()),
        ),
        ("deploy", deploy_line(story, run, &bad)),
        (
            "started",
            run.map(|r| hms(r.started)).unwrap_or_else(|| "—".into()),
        ),
        (
            "rollback_line",
            match run {
                Some(r) => format!(
                    "Rolled back {} → {} ({}); {outcome}",
                    r.from.id,
                    r.to.id,
                    images(&Some(r.to.clone()))
                ),
                None => "No rollback executed.".into(),
            },
        ),
        ("outcome_line", outcome),
        ("verified", verified),
        ("incident", s.settings.incident.clone()),
        ("environment", t.environment.clone()),
        ("target", t.name.clone()),
        ("kind", t.kind.label().to_string()),
        ("from_rev", id(&bad)),
        ("from_images", images(&bad)),
        ("to_rev", id(&good)),
        ("to_images", images(&good)),
        ("health", health_now(s, &t.name)),
        (
            "bad_sha",
            followup
                .and_then(|(b, _)| b.short_sha())
                .unwrap_or_else(|| "—".into()),
        ),
        ("autosync_next", autosync_next(t, s).to_string()),
        ("followups", followups(s, t, story)),
        ("operator", s.settings.operator.clone()),
    ]
}

fn headline(
    t: &TargetInfo,
    story: &Story,
    run: Option<&RunFact>,
    live: bool,
) -> (&'static str, String) {
    let n = &t.name;
    if live {
        return ("🔙", format!("ROLLBACK IN PROGRESS: {n}"));
    }
    match run.and_then(|r| r.ended.as_ref()).map(|e| e.result) {
        Some(RunResult::Verified) => ("✅", format!("ROLLBACK EXECUTED: {n}")),
        Some(RunResult::Unproven) => ("⚠", format!("ROLLBACK EXECUTED, RECOVERY NOT PROVEN: {n}")),
        Some(RunResult::Failed) => ("❌", format!("ROLLBACK FAILED: {n}")),
        Some(RunResult::DryRun) => ("🧪", format!("DRY RUN ONLY: {n}")),
        Some(RunResult::Finished) | None if run.is_some() => {
            ("🔙", format!("ROLLBACK INTERRUPTED: {n}"))
        }
        _ if story.open_failure().is_some() => ("🔎", "INVESTIGATING".to_string()),
        _ => ("ℹ", format!("NO FAILURE SEEN: {n}")),
    }
}

/// What the failure was when rbtui saw it, with its time; a target never
/// seen failing says so (rolled back with its group, or only looked at).
fn impact(s: &State, t: &TargetInfo, story: &Story, run: Option<&RunFact>) -> String {
    if let Some(f) = story.failures.first() {
        return format!(
            "{} — {} (seen {})",
            f.severity,
            f.reasons.join("; "),
            hms(f.at)
        );
    }
    match run.and_then(|r| r.group.as_deref()) {
        Some(g) => format!(
            "none seen by rbtui: {} was rolled back with group {g}",
            t.name
        ),
        None => s
            .verdict(&t.name)
            .map(|v| format!("{} — {} (now)", v.severity.label(), v.reasons.join("; ")))
            .unwrap_or_else(|| "health unknown".into()),
    }
}

fn deploy_line(
    story: &Story,
    run: Option<&RunFact>,
    bad: &Option<super::entry::RevFact>,
) -> String {
    let failing = story.failures.first().map(|f| hms(f.at));
    match (bad, failing, run.and_then(|r| r.group.as_deref())) {
        (Some(b), Some(f), _) => format!(
            "bad deploy {} at {}, failing since {f}",
            b.id,
            b.deployed_at.map(hms).unwrap_or_else(|| "?".into())
        ),
        (Some(b), None, Some(g)) => {
            format!("no bad deploy seen: {} rolled back with group {g}", b.id)
        }
        (Some(b), None, None) => format!(
            "suspect deploy {} at {} (not seen failing)",
            b.id,
            b.deployed_at.map(hms).unwrap_or_else(|| "?".into())
        ),
        (None, _, _) => "no deploy known".into(),
    }
}

fn outcome_line(run: Option<&RunFact>, live: bool) -> String {
    match (run, live) {
        (_, true) => "not yet converged".into(),
        (None, _) => "no rollback executed yet".into(),
        (Some(r), false) => match &r.ended {
            None => "interrupted: the session that ran it ended first".into(),
            Some(e) if e.result == RunResult::Failed => format!("failed {}: {}", hms(e.at), e.why),
            Some(e) => format!("finished {}", hms(e.at)),
        },
    }
}

fn verified_line(run: Option<&RunFact>, live: bool) -> String {
    let Some(r) = run else {
        return "no rollback executed yet".into();
    };
    match (&r.ended, live) {
        (_, true) | (None, _) => "not verified yet".into(),
        (Some(e), _) => match e.result {
            RunResult::Verified => format!("verified recovered ({}: {})", hms(e.at), e.why),
            RunResult::Failed => format!("NOT verified: the rollback failed: {}", e.why),
            _ => format!("NOT verified: {}", e.why),
        },
    }
}

fn resolved_headline(run: Option<&RunFact>, verified: &str) -> String {
    match run {
        None => "⚠ NOT RESOLVED (no rollback executed)".into(),
        Some(_) if verified.starts_with("verified") => "✅ RESOLVED".into(),
        Some(_) => "⚠ NOT RESOLVED (recovery not verified)".into(),
    }
}

fn health_now(s: &State, t: &str) -> String {
    match s.health(t) {
        Some(h) => {
            let e = h
                .error_rate
                .map(|e| format!(", 5xx {:.1}%", e * 100.0))
                .unwrap_or_default();
            format!(
                "{}/{} ready{e} (read {})",
                h.ready,
                h.desired,
                hms(h.observed_at)
            )
        }
        None => "unknown".into(),
    }
}

/// An Argo CD target whose run turned auto-sync off needs it back on.
fn autosync_next(t: &TargetInfo, s: &State) -> &'static str {
    let disabled = s.runs.iter().any(|r| {
        r.plan.target.name == t.name
            && r.plan
                .steps
                .iter()
                .any(|st| matches!(st, super::plan::PlanStep::DisableAutoSync))
    });
    if t.kind == Kind::Argocd && disabled {
        ", then re-enable auto-sync"
    } else {
        ""
    }
}

/// The follow-ups that apply: only to a bad build rolled back from.
fn followups(s: &State, t: &TargetInfo, story: &Story) -> String {
    match story.followup() {
        Some((bad, _)) => format!(
            "{}{}; root-cause investigation; postmortem",
            bad.revert(),
            autosync_next(t, s)
        ),
        None => "none for this target (no bad build was rolled back from)".into(),
    }
}

fn fill(template: &str, vars: &[(&str, String)]) -> String {
    super::runbook::fill(template, vars).trim_end().to_string()
}
