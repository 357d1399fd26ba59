//! `rbtui check`: the first command on a new config, as `flux check` or
//! `brew doctor` are. It asks each target what a rollback will need —
//! the platform answering, its history, the rights (through the same plan
//! pipeline as the console, so the same questions), each metric, the
//! registry — and says each failure with the one thing to do about it.
//! Changes nothing.

use crate::app::headless::{Ask, Planned};
use crate::core::error::BackendError;
use crate::core::model::TargetInfo;
use crate::core::plan::{CheckId, CheckStatus};
use crate::session::Session;
use serde::Serialize;
use std::process::ExitCode;

/// One line of the answer.
#[derive(Debug, Serialize)]
pub struct Line {
    pub target: String,
    pub check: &'static str,
    pub ok: bool,
    /// Not asked (the platform has no such question): not a failure, and
    /// not a claim that it holds.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub skipped: bool,
    pub detail: String,
    /// What to do, when not ok.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

fn line(target: &str, check: &'static str, r: Result<String, (String, String)>) -> Line {
    match r {
        Ok(detail) => Line {
            target: target.into(),
            check,
            ok: true,
            skipped: false,
            detail,
            fix: None,
        },
        Err((detail, fix)) => Line {
            target: target.into(),
            check,
            ok: false,
            skipped: false,
            detail,
            fix: Some(fix),
        },
    }
}

/// The one thing to do about a platform's answer, by its kind.
fn fix_for(e: &BackendError) -> String {
    match e {
        BackendError::NotSetUp { fix, .. } => fix.clone(),
        BackendError::Unauthorized(_) => {
            "the platform refuses the credentials: log in again or renew the token".into()
        }
        BackendError::Forbidden(_) => {
            "grant the identity the right named (read access to the target)".into()
        }
        BackendError::NotFound(_) | BackendError::Gone(_) => {
            "check the target's name, namespace or app in the config".into()
        }
        e if e.is_outage() => "check the address, the network path and that the server runs".into(),
        _ => "read the platform's words above; rbtui could not do more".into(),
    }
}

fn said(e: &BackendError) -> (String, String) {
    (e.to_string(), fix_for(e))
}

/// Every check of one target, in the order an operator would fix them.
async fn target(s: &Session, t: &TargetInfo, now: chrono::DateTime<chrono::Utc>) -> Vec<Line> {
    let name = t.name.as_str();
    let at = s
        .origins
        .get(name)
        .cloned()
        .unwrap_or_else(|| "the embedded demo".into());
    let mut out = vec![line(
        name,
        "config",
        Ok(format!(
            "{at}: {} {}",
            t.kind.label(),
            t.object.as_deref().unwrap_or(name)
        )),
    )];
    let health = s.backend.health(name).await;
    if let Err(e @ BackendError::NotSetUp { .. }) = &health {
        out.push(line(name, "platform", Err(said(e))));
        return out;
    }
    match s.backend.about(name).await {
        Some(Ok(a)) => {
            out.push(line(
                name,
                "platform",
                Ok(format!("{} answers at {}", a.version, t.location)),
            ));
            out.push(line(name, "creds", Ok(a.credentials)));
            // The platform answers, the target's own read may not.
            if let Err(e) = &health {
                out.push(line(name, "target", Err(said(e))));
            }
        }
        Some(Err(e)) => out.push(line(name, "platform", Err(said(&e)))),
        None => out.push(line(
            name,
            "platform",
            health
                .as_ref()
                .map(|_| format!("answers at {}", t.location))
                .map_err(said),
        )),
    }
    if let Ok(h) = &health {
        for sig in &h.signals {
            let r = match (&sig.error, sig.value) {
                (Some(e), _) => Err((
                    format!("{}: {e}", sig.name),
                    "fix the query or the probe's address in the config".into(),
                )),
                (None, Some(v)) if v.is_finite() => Ok(format!("{}: {}", sig.name, sig.display)),
                (None, _) => Err((
                    format!("{}: no finite value ({})", sig.name, sig.display),
                    "the query must answer one finite number for this target".into(),
                )),
            };
            out.push(line(name, "metric", r));
        }
    }
    let history = s.backend.history(name).await;
    out.push(line(
        name,
        "history",
        history
            .as_ref()
            .map(|h| {
                format!(
                    "{} revisions; current {}",
                    h.revisions.len(),
                    h.current().map_or("unknown", |r| r.id.as_str())
                )
            })
            .map_err(said),
    ));
    let Ok(h) = history else { return out };
    for fact in &h.facts.registry {
        let r = match &fact.now {
            Ok(_) => Ok(format!("{} answers for {}", fact.image, fact.revision)),
            Err(e) => Err((
                format!("{}: {e}", fact.image),
                "check the registry's address and the credentials in ~/.docker/config.json".into(),
            )),
        };
        out.push(line(name, "registry", r));
    }
    out.extend(rights(s, name, &h, now).await);
    out
}

/// The rights a rollback needs, asked through the same plan pipeline as
/// the console, of a real plan: to the revision that ran before the
/// current one.
async fn rights(
    s: &Session,
    name: &str,
    h: &crate::core::model::History,
    now: chrono::DateTime<chrono::Utc>,
) -> Option<Line> {
    // The rights are asked of a real plan: to the revision that ran before
    // this one. Without one (a first deploy; Compose's other images never
    // ran here) they are not asked, and said so: not a failure, no claim.
    let Some(prev) = h.previous().map(|r| r.id.to_string()) else {
        let mut l = line(name, "rights", Ok("not asked: no revision known to have run before the current one to plan a rollback to".into()));
        l.skipped = true;
        return Some(l);
    };
    let ask = Ask::One {
        target: name.into(),
        to: prev,
        exact: false,
        retag: false,
    };
    let planned = crate::app::headless::plan(
        s.backend.as_ref(),
        s.settings.clone(),
        s.runbooks.clone(),
        now,
        ask,
    )
    .await;
    let rights = match planned {
        Ok(Planned::One(p)) => p
            .checks
            .into_iter()
            .find(|c| c.id == CheckId::Permissions)
            .map(|c| match c.status {
                CheckStatus::Pass | CheckStatus::Skipped => {
                    Ok((c.status == CheckStatus::Skipped, c.detail))
                }
                _ => Err((
                    c.detail,
                    "grant the rights named, or roll back as an identity that has them".into(),
                )),
            }),
        Ok(Planned::Group(_)) => None,
        Err(e) => Some(Err((
            format!("no plan to ask with: {e}"),
            "see `rbtui plan TARGET --to previous`".into(),
        ))),
    };
    let r = rights?;
    let skipped = r.as_ref().is_ok_and(|(skip, _)| *skip);
    let mut l = line(name, "rights", r.map(|(_, d)| d));
    l.skipped = skipped;
    Some(l)
}

/// Whether the note directory takes a file (the note gates every
/// mutation: a directory that refuses it refuses every rollback). Nothing
/// is created: a directory not there yet is asked of the one that would
/// hold it.
fn note_dir(s: &Session) -> Line {
    let dir = s
        .note_path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    let there = dir
        .ancestors()
        .find(|d| d.as_os_str().is_empty() || d.is_dir())
        .unwrap_or(dir);
    let there = if there.as_os_str().is_empty() {
        std::path::Path::new(".")
    } else {
        there
    };
    let probe = there.join(format!(".rbtui-check-{}", std::process::id()));
    let r = std::fs::write(&probe, b"rbtui check\n").and_then(|_| std::fs::remove_file(&probe));
    let said = if there == dir {
        format!("{} takes files", dir.display())
    } else {
        format!(
            "{} is made at the first start, in {} (takes files)",
            dir.display(),
            there.display()
        )
    };
    line(
        "(note)",
        "note dir",
        r.map(|_| said).map_err(|e| {
            (
                format!("{}: {e}", there.display()),
                "make it writable, or set note_dir in [settings]".into(),
            )
        }),
    )
}

pub(super) async fn run(
    s: &Session,
    targets: &[TargetInfo],
    as_json: bool,
    out: &mut String,
) -> Result<ExitCode, String> {
    let now = chrono::Utc::now();
    // Signals are read by pollers: wait for their first answers, bounded.
    s.backend
        .first_readings(std::time::Duration::from_secs(10))
        .await;
    let mut lines = Vec::new();
    for t in targets {
        lines.extend(target(s, t, now).await);
    }
    lines.push(note_dir(s));
    if as_json {
        outln!(out, "{}", super::json(&lines)?);
    } else {
        let w = super::width(lines.iter().map(|l| l.target.as_str()), 6);
        outln!(out, "{:<w$}  {:<9} {:<4} DETAIL", "TARGET", "CHECK", "OK");
        for l in &lines {
            let ok = match (l.ok, l.skipped) {
                (true, true) => "skip",
                (true, false) => "ok",
                _ => "FAIL",
            };
            outln!(
                out,
                "{:<w$}  {:<9} {:<4} {}",
                l.target,
                l.check,
                ok,
                one_line(&l.detail)
            );
            if let Some(f) = &l.fix {
                outln!(out, "{:<w$}  {:<9} {:<4} fix: {f}", "", "", "");
            }
        }
        let failed = lines.iter().filter(|l| !l.ok).count();
        outln!(out, "{} check(s), {failed} failed", lines.len());
    }
    Ok(if lines.iter().all(|l| l.ok) {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(3)
    })
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}
