//! A Deployment's health from what was read of it (watches or direct
//! reads alike): counts as kubectl counts them, the new revision's truth
//! beside them, and the Warning events of its objects. Pure: no I/O here.

use super::reads::Sources;
use super::{DeployTarget, images, kubectl};
use crate::core::model::Health;
use serde_json::Value;
use std::sync::Arc;

pub fn health_from(t: &DeployTarget, s: &Sources) -> Health {
    let d = &*s.d;
    let pods: Vec<&Value> = s.pods.iter().map(|p| p.as_ref()).collect();
    let n = |k: &str| d["status"][k].as_u64().unwrap_or(0) as u32;
    let (bad, restarts, why) = crash_loops(&pods);
    let cond = |ty: &str| {
        d["status"]["conditions"]
            .as_array()
            .and_then(|c| c.iter().find(|c| c["type"] == ty))
            .cloned()
    };
    let mut msg = why.into_iter().take(3).collect::<Vec<_>>();
    msg.extend(not_true(&cond));
    // Verification needs every ready pod on the template's images, not
    // just the Deployment's counters.
    let want: Vec<String> = images(&d["spec"]["template"])
        .iter()
        .map(|i| i.full())
        .collect();
    let live: Vec<&Value> = pods
        .iter()
        .filter(|p| p["metadata"]["deletionTimestamp"].is_null())
        .copied()
        .collect();
    let pod_ready = |p: &Value| {
        p["status"]["conditions"].as_array().is_some_and(|c| {
            c.iter()
                .any(|c| c["type"] == "Ready" && c["status"] == "True")
        })
    };
    let pod_images = |p: &Value| images(p).iter().map(|i| i.full()).collect::<Vec<_>>();
    let ready_on_template = live
        .iter()
        .filter(|p| pod_ready(p) && pod_images(p) == want)
        .count() as u32;
    let ready_elsewhere = live
        .iter()
        .filter(|p| pod_ready(p) && pod_images(p) != want)
        .count();
    if ready_elsewhere > 0
        || (ready_on_template as u64) < d["spec"]["replicas"].as_u64().unwrap_or(1)
    {
        msg.push(format!(
            "template revision: {ready_on_template} of {} ready; {ready_elsewhere} ready pod(s) run other images; {bad} pod(s) crash-looping",
            d["spec"]["replicas"].as_u64().unwrap_or(1)
        ));
    }
    msg.extend(
        s.events
            .as_deref()
            .map(|e| warnings(t, e))
            .unwrap_or_default(),
    );
    let stuck = cond("Progressing").is_some_and(|c| c["reason"] == "ProgressDeadlineExceeded");
    // Crash-looping pods that run the template's images: the new revision
    // itself fails, whatever the old pods still serve.
    let crashing = |p: &Value| {
        p["status"]["containerStatuses"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|cs| cs["state"]["waiting"]["reason"] == "CrashLoopBackOff")
    };
    let new_crashing = live
        .iter()
        .filter(|p| pod_images(p) == want && crashing(p))
        .count() as u32;
    // Paused is its own state, not a failing rollout.
    if d["spec"]["paused"] == true {
        msg.push("paused: resume it (kubectl rollout resume) to roll out, or to roll back".into());
    }
    Health {
        target: t.name.clone(),
        desired: d["spec"]["replicas"].as_u64().unwrap_or(1) as u32,
        // As kubectl counts: old pods that are ready are ready.
        ready: n("readyReplicas"),
        ready_on_template: (!live.is_empty()).then_some(ready_on_template),
        updated: n("updatedReplicas"),
        crashlooping: bad,
        new_revision_crashing: new_crashing,
        restarts,
        endpoints: s.endpoints,
        error_rate: None,
        latency_p95_ms: None,
        latency_baseline_ms: None,
        probe_ok: None,
        rollout_stuck: stuck,
        revision: kubectl::annotation(d, kubectl::REVISION)
            .unwrap_or("?")
            .to_string(),
        images: images(&d["spec"]["template"]),
        message: (!msg.is_empty()).then(|| msg.join("; ")),
        observed_at: s.stamp,
        signals: Vec::new(),
    }
}

/// The Deployment's Available and Progressing conditions that are not
/// True, as `kubectl describe` shows them.
fn not_true(cond: &dyn Fn(&str) -> Option<Value>) -> Vec<String> {
    ["Available", "Progressing"]
        .into_iter()
        .filter_map(|ty| {
            let c = cond(ty).filter(|c| c["status"] != "True")?;
            Some(format!(
                "{ty}={} {}",
                c["status"].as_str().unwrap_or("?"),
                c["reason"].as_str().unwrap_or("")
            ))
        })
        .collect()
}

/// Live pods failing as kubectl's eye would see them (crash loops, image
/// pulls, OOM kills, bad config), their containers' restarts, and which
/// pod fails how.
fn crash_loops(pods: &[&Value]) -> (u32, u32, Vec<String>) {
    let bad_reasons = [
        "CrashLoopBackOff",
        "ImagePullBackOff",
        "ErrImagePull",
        "OOMKilled",
        "CreateContainerConfigError",
    ];
    let mut bad = 0;
    let mut restarts = 0;
    let mut why = Vec::new();
    for p in pods
        .iter()
        .filter(|p| p["metadata"]["deletionTimestamp"].is_null())
    {
        let mut pod_bad = false;
        for cs in p["status"]["containerStatuses"]
            .as_array()
            .into_iter()
            .flatten()
        {
            restarts += cs["restartCount"].as_u64().unwrap_or(0) as u32;
            let waiting = cs["state"]["waiting"]["reason"]
                .as_str()
                .unwrap_or_default();
            let last = cs["lastState"]["terminated"]["reason"]
                .as_str()
                .unwrap_or_default();
            if let Some(r) = bad_reasons.iter().find(|r| waiting == **r || last == **r) {
                pod_bad = true;
                why.push(format!(
                    "{} {r}",
                    p["metadata"]["name"].as_str().unwrap_or("?")
                ));
            }
        }
        if pod_bad {
            bad += 1;
        }
    }
    (bad, restarts, why)
}

/// The two newest Warning events of the Deployment, its ReplicaSets and pods.
pub fn warnings(t: &DeployTarget, events: &[Arc<Value>]) -> Vec<String> {
    let prefix = format!("{}-", t.deployment);
    let mut evs: Vec<&Value> = events
        .iter()
        .map(|e| e.as_ref())
        .filter(|e| e["type"] == "Warning")
        .filter(|e| {
            e["involvedObject"]["name"]
                .as_str()
                .is_some_and(|n| n == t.deployment || n.starts_with(&prefix))
        })
        .collect();
    let at = |e: &Value| {
        e["lastTimestamp"]
            .as_str()
            .or(e["eventTime"].as_str())
            .unwrap_or_default()
            .to_string()
    };
    evs.sort_by_key(|e| std::cmp::Reverse(at(e)));
    evs.iter()
        .take(2)
        .map(|e| {
            let count = e["count"]
                .as_u64()
                .filter(|c| *c > 1)
                .map(|c| format!(" (x{c})"))
                .unwrap_or_default();
            format!(
                "Warning {} {}/{}: {}{count}",
                e["reason"].as_str().unwrap_or(""),
                e["involvedObject"]["kind"]
                    .as_str()
                    .unwrap_or("")
                    .to_lowercase(),
                e["involvedObject"]["name"].as_str().unwrap_or(""),
                e["message"].as_str().unwrap_or("").trim()
            )
        })
        .collect()
}
