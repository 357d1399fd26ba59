//! What a failing Deployment leaves that a rollback destroys: the pods'
//! status (`kubectl get pods -o wide` in words), the Warning events about
//! the Deployment, its ReplicaSets and pods, and the log of each crashed
//! container's previous instance (`kubectl logs --previous`, tail- and
//! byte-limited by the API server). Read afresh, never from the watches'
//! trimmed copies.

use super::{KubeBackend, urlencode};
use crate::core::error::BackendError;
use crate::core::model::EvidenceFile;
use serde_json::Value;
use std::time::Duration;

/// Lines of each previous container's log, as `kubectl logs --tail`.
pub const TAIL_LINES: u32 = 200;
/// Bytes the API server may send per log (`limitBytes`).
pub const LIMIT_BYTES: u32 = 256 * 1024;
/// Each log's own deadline, well inside the core's bound on the whole
/// evidence (the logs are read together).
const LOG_WITHIN: Duration = Duration::from_secs(8);
/// Crashed containers whose logs are read: one tells the story, a few
/// show whether all crash alike; dozens would only slow the rollback.
pub const MAX_LOGS: usize = 3;

/// One line per container of each pod: phase, state, restarts, last exit.
pub fn pods_text(pods: &[&Value]) -> String {
    let mut out = String::new();
    for p in pods {
        let name = p["metadata"]["name"].as_str().unwrap_or("?");
        let phase = p["status"]["phase"].as_str().unwrap_or("?");
        let node = p["spec"]["nodeName"].as_str().unwrap_or("-");
        out.push_str(&format!("pod {name}  phase {phase}  node {node}\n"));
        for c in p["status"]["containerStatuses"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let state = state_text(&c["state"]);
            let last = match state_text(&c["lastState"]) {
                s if s.is_empty() => String::new(),
                s => format!("  last: {s}"),
            };
            out.push_str(&format!(
                "  container {}  image {}  ready {}  restarts {}  {state}{last}\n",
                c["name"].as_str().unwrap_or("?"),
                c["image"].as_str().unwrap_or("?"),
                c["ready"].as_bool().unwrap_or(false),
                c["restartCount"].as_u64().unwrap_or(0),
            ));
        }
    }
    out
}

fn state_text(s: &Value) -> String {
    if let Some(w) = s.get("waiting") {
        return format!(
            "waiting {} {}",
            w["reason"].as_str().unwrap_or(""),
            w["message"].as_str().unwrap_or("")
        )
        .trim_end()
        .to_string();
    }
    if let Some(t) = s.get("terminated") {
        return format!(
            "terminated {} (exit code {}) at {}",
            t["reason"].as_str().unwrap_or(""),
            t["exitCode"].as_i64().unwrap_or(-1),
            t["finishedAt"].as_str().unwrap_or("?")
        );
    }
    if let Some(r) = s.get("running") {
        return format!("running since {}", r["startedAt"].as_str().unwrap_or("?"));
    }
    String::new()
}

/// Warning events about any of `names` (the Deployment, its ReplicaSets
/// and pods), oldest first.
pub fn events_text(events: &[&Value], names: &[&str]) -> String {
    event_lines(events.iter().copied().filter(|e| {
        e["involvedObject"]["name"]
            .as_str()
            .is_some_and(|n| names.contains(&n))
    }))
}

/// Kubernetes Event objects (as the API server or Argo CD lists them) as
/// `kubectl get events` would show them, oldest first.
pub fn event_lines<'a>(events: impl Iterator<Item = &'a Value>) -> String {
    let mut rows: Vec<(String, String)> = events
        .map(|e| {
            let at = e["lastTimestamp"]
                .as_str()
                .or(e["eventTime"].as_str())
                .or(e["firstTimestamp"].as_str())
                .unwrap_or("?")
                .to_string();
            let line = format!(
                "{at} {} {} {}/{}: {} (x{})\n",
                e["type"].as_str().unwrap_or("?"),
                e["reason"].as_str().unwrap_or("?"),
                e["involvedObject"]["kind"].as_str().unwrap_or("?"),
                e["involvedObject"]["name"].as_str().unwrap_or("?"),
                e["message"].as_str().unwrap_or("").trim(),
                e["count"].as_u64().unwrap_or(1)
            );
            (at, line)
        })
        .collect();
    rows.sort();
    rows.into_iter().map(|(_, l)| l).collect()
}

/// (pod, container) pairs whose previous instance crashed: restarted, or
/// waiting in CrashLoopBackOff; the most restarted first.
pub fn crashed(pods: &[&Value]) -> Vec<(String, String)> {
    let mut v: Vec<(u64, String, String)> = pods
        .iter()
        .flat_map(|p| {
            let pod = p["metadata"]["name"].as_str().unwrap_or("").to_string();
            p["status"]["containerStatuses"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|c| {
                    c["restartCount"].as_u64().unwrap_or(0) > 0
                        || c["state"]["waiting"]["reason"].as_str() == Some("CrashLoopBackOff")
                })
                .map(move |c| {
                    (
                        c["restartCount"].as_u64().unwrap_or(0),
                        pod.clone(),
                        c["name"].as_str().unwrap_or("").to_string(),
                    )
                })
                .collect::<Vec<_>>()
        })
        .collect();
    v.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    v.into_iter().map(|(_, p, c)| (p, c)).collect()
}

impl KubeBackend {
    pub(super) async fn evidence_of(
        &self,
        target: &str,
    ) -> Result<Vec<EvidenceFile>, BackendError> {
        let t = &self.target(target)?;
        let src = self.direct(t).await?;
        let pods: Vec<&Value> = src.pods.iter().map(|p| p.as_ref()).collect();
        let mut names: Vec<&str> = vec![t.deployment.as_str()];
        names.extend(
            src.rss
                .iter()
                .filter_map(|r| r["metadata"]["name"].as_str()),
        );
        names.extend(pods.iter().filter_map(|p| p["metadata"]["name"].as_str()));
        let mut out = vec![EvidenceFile {
            unread: None,
            name: "pods.txt".into(),
            what: format!("status of the {} pod(s)", pods.len()),
            text: pods_text(&pods),
        }];
        match &src.events {
            Some(evs) => {
                let evs: Vec<&Value> = evs.iter().map(|e| e.as_ref()).collect();
                out.push(EvidenceFile {
                    unread: None,
                    name: "events.txt".into(),
                    what: "Warning events of the Deployment, its ReplicaSets and pods".into(),
                    text: events_text(&evs, &names),
                });
            }
            None => out.push(EvidenceFile {
                unread: None,
                name: "events.txt".into(),
                what: "events NOT read".into(),
                text: "rbtui's identity may not list events in this namespace\n".into(),
            }),
        }
        // Together, each under its own deadline: a kubelet that hangs
        // costs one log, not the status and events already read.
        let logs = crashed(&pods).into_iter().take(MAX_LOGS).map(|(pod, c)| async move {
            let path = format!(
                "/api/v1/namespaces/{}/pods/{}/log?container={}&previous=true&tailLines={TAIL_LINES}&limitBytes={LIMIT_BYTES}&timestamps=true",
                t.namespace,
                urlencode(&pod),
                urlencode(&c)
            );
            let name = format!("logs-{pod}-{c}-previous.log");
            let what = format!(
                "log of the crashed {c} container in {pod} (previous instance, last {TAIL_LINES} lines)"
            );
            match self.get_text(&path).await {
                Ok(text) => EvidenceFile {
                    unread: None,
                    name,
                    what,
                    text,
                },
                // An error answer is not a log: said, never saved as one.
                Err(e) => EvidenceFile::unread(name, what, e.to_string()),
            }
        });
        out.extend(futures::future::join_all(logs).await);
        Ok(out)
    }

    async fn get_text(&self, path: &str) -> Result<String, BackendError> {
        let req = http::Request::get(path)
            .body(Vec::new())
            .map_err(|e| BackendError::Failed(e.to_string()))?;
        tokio::time::timeout(LOG_WITHIN, self.client.request_text(req))
            .await
            .map_err(|_| {
                BackendError::Timeout(format!(
                    "the API server did not send the log within {}s (the kubelet did not answer)",
                    LOG_WITHIN.as_secs()
                ))
            })?
            .map_err(|e| super::request_error(&e, "get", "pods/log"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(name: &str, restarts: u64, waiting: Option<&str>) -> Value {
        let state = match waiting {
            Some(r) => json!({"waiting": {"reason": r, "message": "back-off 5m0s"}}),
            None => json!({"running": {"startedAt": "2026-12-03T03:00:00Z"}}),
        };
        json!({"metadata": {"name": name}, "spec": {"nodeName": "n1"}, "status": {"phase": "Running",
            "containerStatuses": [{"name": "app", "image": "shop/app:2", "ready": waiting.is_none(),
              "restartCount": restarts, "state": state,
              "lastState": {"terminated": {"reason": "Error", "exitCode": 1, "finishedAt": "2026-12-03T03:01:00Z"}}}]}})
    }

    #[test]
    fn crashed_containers_come_most_restarted_first_and_status_says_why() {
        let (a, b, c) = (
            pod("web-1", 3, Some("CrashLoopBackOff")),
            pod("web-2", 7, Some("CrashLoopBackOff")),
            pod("web-3", 0, None),
        );
        let pods = [&a, &b, &c];
        assert_eq!(
            crashed(&pods),
            [
                ("web-2".to_string(), "app".to_string()),
                ("web-1".into(), "app".into())
            ]
        );
        let t = pods_text(&pods);
        assert!(t.contains("container app  image shop/app:2  ready false  restarts 7  waiting CrashLoopBackOff back-off 5m0s  last: terminated Error (exit code 1)"), "{t}");
    }

    #[test]
    fn only_events_about_the_deployment_its_sets_and_pods_oldest_first() {
        let ev = |n: &str, at: &str| {
            json!({"type": "Warning", "reason": "BackOff", "count": 4,
            "involvedObject": {"kind": "Pod", "name": n}, "message": "Back-off restarting", "lastTimestamp": at})
        };
        let (a, b, c) = (
            ev("web-2", "2026-12-03T03:02:00Z"),
            ev("other-1", "2026-12-03T03:00:00Z"),
            ev("web-1", "2026-12-03T03:01:00Z"),
        );
        let t = events_text(&[&a, &b, &c], &["web", "web-1", "web-2"]);
        assert_eq!(
            t,
            "2026-12-03T03:01:00Z Warning BackOff Pod/web-1: Back-off restarting (x4)\n2026-12-03T03:02:00Z Warning BackOff Pod/web-2: Back-off restarting (x4)\n"
        );
    }
}
