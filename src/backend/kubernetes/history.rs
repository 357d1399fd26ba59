//! A Deployment's revision history from what was read of it, as
//! `kubectl rollout history` shows it: its own ReplicaSets by revision,
//! the digests their pods ran, and which of them crash-looped. Pure.

use super::reads::Sources;
use super::{DeployTarget, crash_looped, images, kubectl, statuses_of, time};
use crate::backend::git_migrations::{NAMED_TAG_PATTERNS, sha_from_images};
use crate::core::model::{History, Revision, RevisionId, TargetFacts};
use serde_json::Value;

pub fn history_from(t: &DeployTarget, s: &Sources) -> History {
    let d = &*s.d;
    let rss: Vec<Value> = s.rss.iter().map(|r| (**r).clone()).collect();
    let pods: Vec<Value> = s.pods.iter().map(|p| (**p).clone()).collect();
    let current = kubectl::annotation(d, kubectl::REVISION).and_then(|r| r.parse::<i64>().ok());
    let hist = kubectl::owned_history(d, &rss);
    let mut warnings: Vec<(RevisionId, String)> = Vec::new();
    let mut revisions: Vec<Revision> = hist
        .iter()
        .rev()
        .map(|(rev, rs)| revision(*rev, rs, &pods, current, &mut warnings))
        .collect();
    if !revisions.iter().any(|r| r.current) {
        if let Some(r) = revisions.first_mut() {
            r.current = true;
        }
    }
    let events = serde_json::json!({"items": s.events.as_deref().unwrap_or_default().iter().map(|e| (**e).clone()).collect::<Vec<_>>()});
    let bad_why: Vec<(RevisionId, String)> = hist
        .iter()
        .filter(|(rev, _)| Some(*rev) != current)
        .filter_map(|(rev, rs)| {
            crash_looped(rs, &pods, &events).map(|w| (rev.to_string().into(), w))
        })
        .collect();
    let known_bad = bad_why.iter().map(|(id, _)| id.clone()).collect();
    History {
        target: t.name.clone(),
        revisions,
        facts: TargetFacts {
            compose_inputs: None,
            changes: vec![],
            bad_why,
            inputs_drift: None,
            head_revision: None,
            head_meta: None,
            version: d["metadata"]["resourceVersion"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
            auto_sync: false,
            paused: d["spec"]["paused"] == true,
            busy: None,
            history_note: Some(format!(
                "ReplicaSets owned by the Deployment; revisionHistoryLimit {}",
                d["spec"]["revisionHistoryLimit"]
                    .as_i64()
                    .map(|n| n.to_string())
                    .unwrap_or_else(|| "10 (default)".into())
            )),
            blocked: vec![],
            warnings,
            ..Default::default()
        },
        fetched_at: s.stamp,
        known_bad,
        last_known_good: None,
    }
}

/// One ReplicaSet as a revision: its images with the digests its pods ran
/// (where the template pins none, a warning says what ran), kubectl's
/// change-cause, and the commit its image tag names.
fn revision(
    rev: i64,
    rs: &Value,
    pods: &[Value],
    current: Option<i64>,
    warnings: &mut Vec<(RevisionId, String)>,
) -> Revision {
    let hash = rs["metadata"]["labels"][kubectl::HASH_LABEL]
        .as_str()
        .unwrap_or_default();
    // Digests seen on this ReplicaSet's pods (imageID), by image.
    let mut imgs = images(&rs["spec"]["template"]);
    let unpinned: Vec<String> = imgs
        .iter()
        .filter(|i| i.digest.is_none())
        .map(|i| i.full())
        .collect();
    for img in &mut imgs {
        let seen = statuses_of(pods, hash)
            .find(|cs| cs["image"].as_str() == Some(img.full().as_str()))
            .and_then(|cs| {
                cs["imageID"]
                    .as_str()
                    .and_then(|i| i.split_once('@'))
                    .map(|(_, d)| d.to_string())
            });
        if img.digest.is_none() {
            img.digest = seen;
        }
    }
    let mut message = kubectl::annotation(rs, kubectl::CHANGE_CAUSE)
        .unwrap_or("<none>")
        .to_string();
    if let Some(h) = kubectl::annotation(rs, kubectl::REVISION_HISTORY) {
        message.push_str(&format!(" (was revision {h})"));
    }
    // Pinned by tag only: say what ran, since the tag may have moved.
    if !unpinned.is_empty() {
        let ran: Vec<String> = imgs
            .iter()
            .filter_map(|i| {
                i.digest.as_ref().map(|d| {
                    format!(
                        "{} ran as {}",
                        i.full().split('@').next().unwrap_or(""),
                        crate::core::model::short_digest(d)
                    )
                })
            })
            .collect();
        let why = if ran.is_empty() {
            format!(
                "{} pinned by tag, no digest, and no pod of revision {rev} runs anymore: what the tag resolves to now cannot be checked here",
                unpinned.join(", ")
            )
        } else {
            format!(
                "{} pinned by tag, no digest ({}): if the tag moved since, the rollback runs a different build",
                unpinned.join(", "),
                ran.join(", ")
            )
        };
        warnings.push((rev.to_string().into(), why));
    }
    // The commit the image tag names (`git-<sha>`, `v1.2-<sha>`).
    let git_sha = sha_from_images(NAMED_TAG_PATTERNS, &imgs);
    Revision {
        id: rev.to_string().into(),
        deployed_at: time(&rs["metadata"]["creationTimestamp"]),
        images: imgs,
        git_sha,
        message,
        author: None,
        current: Some(rev) == current,
    }
}
