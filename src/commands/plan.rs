//! `rbtui plan`: the plan of one target or of a group, with the checks the
//! console asks before its confirm; changes nothing. A group's plan is a
//! section per target, as in the console, and exits 2 when any section
//! blocks.

use super::json;
use crate::core::error::BackendError;
use crate::core::fmt::ellipsize;
use crate::core::model::TargetInfo;
use crate::core::plan::{self, CheckStatus, PlanId, PlanInputs, RollbackPlan};
use crate::session::Session;
use std::process::ExitCode;

type Preview = Option<Result<String, BackendError>>;

/// Which plan for the revision: the rollback (pinned or exact), or a re-tag.
#[derive(Clone, Copy, Default)]
pub(super) struct Form {
    pub exact_template: bool,
    pub retag: bool,
}

/// One target's plan, read afresh, with its migrations, dry run (rehearsal
/// platforms that have one) and what changes.
async fn build(
    s: &Session,
    t: &TargetInfo,
    to: &str,
    form: Form,
    id: PlanId,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(RollbackPlan, Preview), String> {
    if form.retag && !s.settings.retag.contains(&t.name) {
        return Err(format!("re-tag is not allowed for {}: set retag = true on the target", t.name));
    }
    let b = &s.backend;
    let h = b.history(&t.name).await.map_err(|e| format!("{}: {e}", t.name))?;
    let health = b.health(&t.name).await.ok();
    let inputs = PlanInputs {
        id,
        target: t,
        mode: s.mode,
        history: &h,
        to,
        now,
        before: health.as_ref(),
        mutable_tags: &s.settings.mutable_tags,
        rollout_timeout_secs: s.settings.rollout_timeout_secs,
        exact_template: form.exact_template,
    };
    let mut p = if form.retag {
        plan::build_retag(inputs)?
    } else {
        plan::build(inputs)?
    };
    if s.settings.read_only_in(&t.environment) {
        plan::refuse_read_only_environment(&mut p);
    }
    let m = b.migrations(&p).await;
    p.apply_migrations(m);
    let preview = if p.refusal().is_none() {
        b.preview(&p).await
    } else {
        None
    };
    if p.is_rollback() && p.refusal().is_none() {
        p.diff = match b.changes(&p).await {
            Some(Ok(d)) => Some(d),
            Some(Err(e)) => Some(format!("(what changes could not be read: {e})")),
            None => None,
        };
    }
    Ok((p, preview))
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
    let t = targets
        .iter()
        .find(|t| t.name == target)
        .ok_or_else(|| format!("unknown target `{target}`"))?;
    let (p, preview) = build(s, t, to, form, PlanId(1), now).await?;
    if as_json {
        outln!(out, "{}", json(&to_json(s, &p)?)?);
    } else {
        print(s, &p, &preview, out);
    }
    Ok(if blocked(&p) {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}

/// Every member's plan, in the group's order. A member whose plan cannot
/// be built is said, and makes the group unconfirmable (exit 2), as in the
/// console.
pub(super) async fn group(
    s: &Session,
    targets: &[TargetInfo],
    name: &str,
    to: &str,
    as_json: bool,
    now: chrono::DateTime<chrono::Utc>,
    out: &mut String,
) -> Result<ExitCode, String> {
    let g = s
        .settings
        .groups
        .iter()
        .find(|g| g.name == name)
        .ok_or_else(|| {
            let known: Vec<&str> = s.settings.groups.iter().map(|g| g.name.as_str()).collect();
            if known.is_empty() {
                format!("unknown group `{name}`: the config has no [[group]]")
            } else {
                format!("unknown group `{name}` (known: {})", known.join(", "))
            }
        })?;
    let mut sections = Vec::new();
    for (i, m) in g.targets.iter().enumerate() {
        let r = match targets.iter().find(|t| &t.name == m) {
            None => Err(format!("unknown target `{m}`")),
            Some(t) => build(s, t, to, Form::default(), PlanId(i as u64 + 1), now).await,
        };
        sections.push((m.clone(), r));
    }
    let any_blocked = sections
        .iter()
        .any(|(_, r)| r.as_ref().map_or(true, |(p, _)| blocked(p)));
    let prod = sections
        .iter()
        .any(|(_, r)| r.as_ref().is_ok_and(|(p, _)| p.needs_typed_name()));
    if as_json {
        let mut plans = Vec::new();
        for (m, r) in &sections {
            plans.push(match r {
                Ok((p, _)) => to_json(s, p)?,
                Err(e) => serde_json::json!({"target": m, "error": e}),
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
            g.targets.len(),
            g.order.label()
        );
        for (m, r) in &sections {
            outln!(out, "");
            outln!(out, "━━ {m}");
            match r {
                Ok((p, preview)) => print(s, p, preview, out),
                Err(e) => outln!(out, "NO PLAN: {e} — the group cannot be confirmed with it"),
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
            outln!(out, "BLOCKED: at least one target above blocks or has no plan");
        }
    }
    Ok(if any_blocked {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}

fn print(s: &Session, p: &RollbackPlan, preview: &Preview, out: &mut String) {
    let w = crate::core::verify::window(&s.settings, &p.target.name);
    let blocked = blocked(p);
        if preview.is_some() {
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
        match &preview {
            Some(Ok(m)) => outln!(out, "Server-side dry run: {m}"),
            Some(Err(e)) => outln!(out, "Server-side dry run FAILED: {e}"),
            None => {}
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
