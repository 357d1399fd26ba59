//! Argo CD's application into rbtui's model. Pure, so the mapping is tested
//! on JSON alone.

use super::api::{Application, Tree};
use crate::core::model::{
    AppSource, Health, History, ImageRef, Progress, ProgressPhase, Revision, RevisionId,
    TargetFacts,
};
use chrono::{DateTime, Utc};

fn time(s: &Option<String>) -> Option<DateTime<Utc>> {
    s.as_deref()
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map(|d| d.with_timezone(&Utc))
}

/// Pod states that mean "not starting", from the resource tree's info.
const BAD_REASONS: &[&str] = &[
    "CrashLoopBackOff",
    "ImagePullBackOff",
    "ErrImagePull",
    "OOMKilled",
    "Error",
    "CreateContainerConfigError",
];

pub fn health(target: &str, app: &Application, tree: Option<&Tree>, now: DateTime<Utc>) -> Health {
    let pods: Vec<_> = tree
        .map(|t| t.nodes.iter().filter(|n| n.kind == "Pod").collect())
        .unwrap_or_default();
    let ready = pods
        .iter()
        .filter(|p| p.health.as_ref().and_then(|h| h.status.as_deref()) == Some("Healthy"))
        .count() as u32;
    let bad = pods
        .iter()
        .filter(|p| {
            p.health.as_ref().and_then(|h| h.status.as_deref()) == Some("Degraded")
                || p.info
                    .iter()
                    .any(|i| BAD_REASONS.iter().any(|r| i.value.contains(r)))
        })
        .count() as u32;
    let restarts = pods
        .iter()
        .flat_map(|p| p.info.iter())
        .filter(|i| i.name == "Restart Count")
        .filter_map(|i| i.value.parse::<u32>().ok())
        .sum();
    let hs = app.health_status();
    let sync = app.sync_status();
    let mut msg = format!("Argo CD: {sync}, {hs}");
    if let Some(m) = app
        .status
        .health
        .message
        .as_deref()
        .filter(|m| !m.is_empty())
    {
        msg.push_str(&format!(" — {m}"));
    }
    if let Some(op) = &app.status.operation_state {
        msg.push_str(&format!(
            "; last operation {}",
            op.phase.clone().unwrap_or_default()
        ));
        if let Some(m) = op.message.as_deref().filter(|m| !m.is_empty()) {
            msg.push_str(&format!(": {m}"));
        }
    }
    Health {
        target: target.into(),
        desired: pods.len() as u32,
        ready,
        updated: pods.len() as u32,
        ready_on_template: None,
        crashlooping: bad,
        new_revision_crashing: 0,
        restarts,
        endpoints: None,
        error_rate: None,
        latency_p95_ms: None,
        latency_baseline_ms: None,
        probe_ok: None,
        rollout_stuck: pods.is_empty() && matches!(hs.as_str(), "Degraded" | "Missing"),
        revision: app
            .current_history()
            .map(|h| h.id.to_string())
            .unwrap_or_else(|| "-".into()),
        images: app
            .status
            .summary
            .images
            .iter()
            .map(|i| ImageRef::parse(i))
            .collect(),
        message: Some(msg),
        observed_at: now,
        signals: Vec::new(),
    }
}

/// Each source of a history entry; a multi-source one pairs every
/// source with the revision it was deployed at (`revisions[i]`).
fn source_text(h: &super::api::RevisionHistory) -> String {
    let srcs: Vec<&super::api::Source> = h.source.iter().chain(h.sources.iter()).collect();
    let multi = !h.sources.is_empty() && h.revisions.len() == h.sources.len();
    srcs.iter()
        .enumerate()
        .map(|(i, s)| {
            let at = if multi {
                format!(" = {}", &h.revisions[i][..h.revisions[i].len().min(7)])
            } else {
                String::new()
            };
            format!("{}{at}", source_label(s))
        })
        .collect::<Vec<_>>()
        .join(" + ")
}

/// `repo/path@targetRevision` (or the chart for a Helm source).
pub fn source_label(s: &super::api::Source) -> String {
    let repo = s.repo_url.as_deref().unwrap_or("?");
    let repo = repo
        .rsplit('/')
        .next()
        .unwrap_or(repo)
        .trim_end_matches(".git");
    let what = s.path.as_deref().or(s.chart.as_deref()).unwrap_or("");
    format!(
        "{repo}/{what}@{}",
        s.target_revision.as_deref().unwrap_or("HEAD")
    )
}

/// A multi-source app's sources with what each points at now
/// (`status.sync.revisions[i]`), and each history id's revisions.
fn source_facts(app: &Application) -> (Vec<AppSource>, Vec<(RevisionId, Vec<String>)>) {
    if app.spec.sources.is_empty() {
        return (Vec::new(), Vec::new());
    }
    let heads = &app.status.sync.revisions;
    let sources = app
        .spec
        .sources
        .iter()
        .enumerate()
        .map(|(i, s)| AppSource {
            label: source_label(s),
            head: heads.get(i).filter(|r| !r.is_empty()).cloned(),
        })
        .collect();
    let per_id = app
        .status
        .history
        .iter()
        .filter(|h| !h.revisions.is_empty())
        .map(|h| (RevisionId::new(h.id.to_string()), h.revisions.clone()))
        .collect();
    (sources, per_id)
}

pub fn history(target: &str, app: &Application, now: DateTime<Utc>) -> History {
    let current = app.current_history().map(|h| h.id);
    let mut hist: Vec<_> = app.status.history.iter().collect();
    hist.sort_by_key(|h| std::cmp::Reverse(h.id));
    let revisions = hist
        .iter()
        .map(|h| {
            let who = h
                .initiated_by
                .as_ref()
                .map(|i| match (&i.username, i.automated) {
                    (Some(u), _) if !u.is_empty() => u.clone(),
                    (_, Some(true)) => "automated sync".to_string(),
                    _ => "unknown".to_string(),
                });
            let is_current = Some(h.id) == current;
            Revision {
                id: h.id.to_string().into(),
                deployed_at: time(&h.deployed_at).or(time(&h.deploy_started_at)),
                images: if is_current {
                    app.status
                        .summary
                        .images
                        .iter()
                        .map(|i| ImageRef::parse(i))
                        .collect()
                } else {
                    vec![]
                },
                git_sha: h.sha().map(str::to_string),
                message: source_text(h),
                author: who,
                current: is_current,
            }
        })
        .collect();
    let (sources, source_revisions) = source_facts(app);
    History {
        target: target.into(),
        revisions,
        facts: TargetFacts {
            sources,
            source_revisions,
            head_revision: app.head(),
            head_meta: None,
            version: app.version_token(),
            auto_sync: app.auto_sync(),
            paused: false,
            busy: app.op_running(),
            history_note: Some("Argo CD keeps the last revisionHistoryLimit syncs (default 10); images come from each revision's rendered manifests".into()),
            ..Default::default()
        },
        fetched_at: now,
        known_bad: vec![],
        last_known_good: None,
    }
}

/// Rollback progress: the operation's phase, then health at the target SHA.
/// After a rollback the app is OutOfSync with HEAD by design, so sync
/// status is reported, not required.
/// The workloads of the resource tree, in words, and pod counts against
/// the rollback's images: (desired, updated, ready, old, text).
fn workloads(tree: Option<&Tree>, to_images: &[ImageRef]) -> (u32, u32, u32, u32, String) {
    let Some(tree) = tree else {
        return (0, 0, 0, 0, "resource tree not readable".into());
    };
    let health = |n: &super::api::Node| {
        n.health
            .as_ref()
            .and_then(|h| h.status.clone())
            .unwrap_or_else(|| "Unknown".into())
    };
    let wl: Vec<String> = tree
        .nodes
        .iter()
        .filter(|n| {
            ["Deployment", "StatefulSet", "DaemonSet", "Rollout"].contains(&n.kind.as_str())
        })
        .map(|n| format!("{} {} {}", n.kind, n.name, health(n)))
        .collect();
    let pods: Vec<_> = tree.nodes.iter().filter(|n| n.kind == "Pod").collect();
    let ready = pods.iter().filter(|p| health(p) == "Healthy").count() as u32;
    let updated = pods
        .iter()
        .filter(|p| {
            !to_images.is_empty()
                && to_images
                    .iter()
                    .all(|t| p.images.iter().any(|i| ImageRef::parse(i).same_build(t)))
        })
        .count() as u32;
    let n = pods.len() as u32;
    let text = if wl.is_empty() {
        format!("{ready}/{n} pods healthy")
    } else {
        format!("{}; {ready}/{n} pods healthy", wl.join(", "))
    };
    (n, updated, ready, n - updated, text)
}

/// `to_revs`: the target entry's revision per source, for a multi-source
/// app (empty otherwise): the operation must have synced every one of them.
pub fn progress(
    app: &Application,
    to_sha: Option<&str>,
    to_revs: &[String],
    tree: Option<&Tree>,
    to_images: &[ImageRef],
) -> Progress {
    let (desired, updated, ready, old, wl) = workloads(tree, to_images);
    let hs = app.health_status();
    let sync = app.sync_status();
    let op = app.status.operation_state.clone().unwrap_or_default();
    let phase = op.phase.clone().unwrap_or_default();
    let at = op
        .sync_result
        .as_ref()
        .and_then(|r| r.revision.clone().or(r.revisions.first().cloned()));
    let short = |s: &str| s[..s.len().min(7)].to_string();
    let synced_revs = op
        .sync_result
        .as_ref()
        .map(|r| r.revisions.clone())
        .unwrap_or_default();
    let at_target = if !to_revs.is_empty() && !synced_revs.is_empty() {
        to_revs.len() == synced_revs.len()
            && to_revs
                .iter()
                .zip(&synced_revs)
                .all(|(t, a)| crate::core::model::same_commit(t, a))
    } else {
        match (to_sha, at.as_deref()) {
            (Some(t), Some(a)) => a.starts_with(t) || t.starts_with(a),
            _ => true,
        }
    };
    let p = |phase, message: String| Progress {
        unproven: None,
        phase,
        message: format!("{message} — {wl}"),
        desired,
        updated,
        ready,
        old,
    };
    match phase.as_str() {
        "Running" | "Terminating" | "" => p(
            ProgressPhase::Progressing,
            format!(
                "operation {}: {}",
                if phase.is_empty() { "pending" } else { &phase },
                op.message.unwrap_or_default()
            ),
        ),
        "Failed" | "Error" => p(
            ProgressPhase::Failed,
            format!("operation {phase}: {}", op.message.unwrap_or_default()),
        ),
        "Succeeded" if !at_target => p(
            ProgressPhase::Failed,
            format!(
                "last operation Succeeded at {} but the rollback target is {}: another sync replaced it",
                at.as_deref().map(short).unwrap_or_default(),
                to_sha.map(short).unwrap_or_default()
            ),
        ),
        "Succeeded" if hs == "Healthy" => p(
            ProgressPhase::Converged,
            format!(
                "rolled back to {}: {sync}, Healthy",
                at.as_deref().map(short).unwrap_or_default()
            ),
        ),
        "Succeeded" => p(
            ProgressPhase::Progressing,
            format!(
                "operation Succeeded at {}; waiting for Healthy (now {hs})",
                at.as_deref().map(short).unwrap_or_default()
            ),
        ),
        other => p(ProgressPhase::Progressing, format!("operation {other}")),
    }
}

/// The container images named in rendered manifests (any workload kind:
/// every `containers` / `initContainers` list at any depth), in order,
/// without repeats.
pub fn manifest_images(manifests: &[String]) -> Vec<ImageRef> {
    fn walk(v: &serde_json::Value, out: &mut Vec<String>) {
        match v {
            serde_json::Value::Object(m) => {
                for (k, v) in m {
                    if k == "containers" || k == "initContainers" {
                        for c in v.as_array().into_iter().flatten() {
                            if let Some(i) = c["image"].as_str() {
                                if !out.iter().any(|o| o == i) {
                                    out.push(i.to_string());
                                }
                            }
                        }
                    } else {
                        walk(v, out);
                    }
                }
            }
            serde_json::Value::Array(a) => a.iter().for_each(|v| walk(v, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    for m in manifests {
        if let Ok(v) = serde_json::from_str::<serde_json::Value>(m) {
            walk(&v, &mut out);
        }
    }
    out.iter().map(|i| ImageRef::parse(i)).collect()
}
