//! `rbtui plan`: the plan of one target or of a group, with the checks the
//! console asks before its confirm; changes nothing. A group's plan is a
//! section per target, as in the console, and exits 2 when any section
//! blocks.

use super::json;
use crate::app::headless::{Ask, Planned};
use crate::core::fmt::ellipsize;
use crate::core::model::TargetInfo;
use crate::core::plan::{CheckStatus, RollbackPlan};
use crate::session::Session;
use std::process::ExitCode;

/// Which plan for the revision: the rollback (pinned or exact), or a re-tag.
#[derive(Clone, Copy, Default)]
pub(super) struct Form {
    pub exact_template: bool,
    pub retag: bool,
}

/// The plan as the console builds it: the same pipeline, the same checks.
async fn build(
    s: &Session,
    ask: Ask,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Planned, String> {
    crate::app::headless::plan(
        s.backend.as_ref(),
        s.settings.clone(),
        s.runbooks.clone(),
        now,
        ask,
    )
    .await
}

fn to_json(s: &Session, p: &RollbackPlan) -> Result<serde_json::Value, String> {
    let w = crate::core::verify::window(&s.settings, &p.target.name);
    let mut v = serde_json::to_value(p).map_err(|e| e.to_string())?;
    if p.is_rollback() {
        v["verify_window"] = serde_json::json!({"secs": w.secs, "why": w.why});
    }
    Ok(v)
}

fn blocked(p: &RollbackPlan) -> bool {
    p.worst() == CheckStatus::Block
}

#[allow(clippy::too_many_arguments)]
pub(super) async fn one(
    s: &Session,
    targets: &[TargetInfo],
    target: &str,
    to: &str,
    form: Form,
    as_json: bool,
    now: chrono::DateTime<chrono::Utc>,
    out: &mut String,
) -> Result<ExitCode, String> {
    if !targets.iter().any(|t| t.name == target) {
        return Err(format!("unknown target `{target}`"));
    }
    let ask = Ask::One {
        target: target.into(),
        to: to.into(),
        exact: form.exact_template,
        retag: form.retag,
    };
    let p = match build(s, ask, now).await? {
        Planned::One(p) => p,
        Planned::Group(_) => return Err("a group came back for one target".into()),
    };
    if as_json {
        outln!(out, "{}", json(&to_json(s, &p)?)?);
    } else {
        print(s, &p, out);
    }
    Ok(if blocked(&p) {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}

/// Every member's plan, in the group's order, built as the console builds
/// them. A member whose plan cannot be built is said, and makes the group
/// unconfirmable (exit 2), as in the console; one with nothing to roll
/// back is left out.
pub(super) async fn group(
    s: &Session,
    name: &str,
    to: &str,
    as_json: bool,
    now: chrono::DateTime<chrono::Utc>,
    out: &mut String,
) -> Result<ExitCode, String> {
    let ask = Ask::Group {
        name: name.into(),
        to: to.into(),
    };
    let g = match build(s, ask, now).await? {
        Planned::Group(g) => g,
        Planned::One(_) => return Err("one plan came back for a group".into()),
    };
    let unconfirmable = g.not_confirmable();
    let any_blocked = unconfirmable.is_some() || g.plans.iter().any(blocked);
    let prod = g.needs_typed_name();
    if as_json {
        let mut plans = Vec::new();
        for m in &g.members {
            plans.push(match g.plans.iter().find(|p| &p.target.name == m) {
                Some(p) => to_json(s, p)?,
                None => {
                    let why = g
                        .unplanned
                        .iter()
                        .chain(&g.skipped)
                        .find(|(t, _)| t == m)
                        .map(|(_, w)| w.clone())
                        .unwrap_or_default();
                    let left_out = g.skipped.iter().any(|(t, _)| t == m);
                    serde_json::json!({"target": m, "error": (!left_out).then_some(&why), "left_out": left_out.then_some(&why)})
                }
            });
        }
        let v = serde_json::json!({
            "group": g.name, "order": g.order.label(), "to": to,
            "confirm_needs_group_name": prod, "blocked": any_blocked, "plans": plans,
        });
        outln!(out, "{}", json(&v)?);
    } else {
        outln!(
            out,
            "GROUP {} ({} targets, {}) → {to}: one confirm in the console; nothing is changed by this command",
            g.name,
            g.members.len(),
            g.order.label()
        );
        for m in &g.members {
            outln!(out, "");
            outln!(out, "━━ {m}");
            if let Some(p) = g.plans.iter().find(|p| &p.target.name == m) {
                print(s, p, out);
            } else if let Some((_, why)) = g.skipped.iter().find(|(t, _)| t == m) {
                outln!(out, "LEFT OUT: {why}");
            } else if let Some((_, why)) = g.unplanned.iter().find(|(t, _)| t == m) {
                outln!(
                    out,
                    "NO PLAN: {why} — the group cannot be confirmed with it"
                );
            }
        }
        if prod {
            outln!(
                out,
                "Confirmation: the group touches prod — the console asks for the group name `{}` to be typed.",
                g.name
            );
        }
        if any_blocked {
            outln!(
                out,
                "BLOCKED: {}",
                unconfirmable.unwrap_or_else(|| "at least one target above blocks".into())
            );
        }
    }
    Ok(if any_blocked {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}

fn print(s: &Session, p: &RollbackPlan, out: &mut String) {
    let w = crate::core::verify::window(&s.settings, &p.target.name);
    let blocked = blocked(p);
    let dry_run = p
        .checks
        .iter()
        .find(|c| c.id == crate::core::plan::CheckId::DryRun);
    if dry_run.is_some_and(|c| c.status == CheckStatus::Pass) {
        outln!(
            out,
            "PLAN (nothing is deployed by this command; the server-side dry run below is recorded by the platform)"
        );
    } else {
        outln!(out, "PLAN (nothing is changed by this command)");
    }
    for l in p.confirm_lines() {
        outln!(out, "  {l}");
    }
    if p.is_rollback() {
        outln!(
            out,
            "  Verify takes up to {} after convergence ({})",
            crate::core::verify::span(w.secs),
            w.why
        );
    }
    outln!(out, "Pre-flight checks:");
    for c in &p.checks {
        outln!(out, "  [{:<5}] {:<12} {}", c.status.label(), c.id, c.detail);
    }
    if let Some(d) = &p.diff {
        outln!(out, "What changes:");
        for l in d.lines() {
            outln!(out, "  {l}");
        }
    }
    if let Some(d) = &p.migration {
        outln!(
            out,
            "Migrations {}..{}: {}",
            d.to_rev,
            d.from_rev,
            d.verdict.label()
        );
        for f in &d.files {
            outln!(
                out,
                "  {}{} ({})",
                f.path,
                if f.change.is_empty() {
                    String::new()
                } else {
                    format!(" [{}]", f.change)
                },
                if f.is_down {
                    "down migration, listed only".into()
                } else {
                    f.verdict()
                        .map(|v| v.label().to_string())
                        .unwrap_or_default()
                }
            );
            for st in &f.statements {
                outln!(
                    out,
                    "    {} line {:<3} {}  — {}",
                    st.verdict.mark(),
                    st.line,
                    ellipsize(&st.sql.replace('\n', " "), 60),
                    st.reason
                );
            }
        }
    }
    if p.needs_typed_name() {
        outln!(
            out,
            "Confirmation: prod target — the console asks for the target name to be typed."
        );
    }
    if blocked {
        outln!(
            out,
            "BLOCKED: {}",
            p.checks
                .iter()
                .filter(|c| c.status == CheckStatus::Block)
                .map(|c| c.detail.clone())
                .collect::<Vec<_>>()
                .join("; ")
        );
    }
}
