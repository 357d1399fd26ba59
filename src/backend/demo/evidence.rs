//! What a demo service's failing revision leaves behind, simulated in each
//! platform's own shape (Kubernetes: previous containers' logs, events and
//! pod status; Swarm: task errors and service logs; Compose: container
//! state and logs; Argo CD: events and unhealthy resources), so the demo
//! saves evidence the way a real target does.

use super::scenario::Failure;
use super::world::Service;
use crate::core::model::{EvidenceFile, Kind};
use chrono::{DateTime, Utc};

pub fn files(s: &Service, now: DateTime<Utc>) -> Vec<EvidenceFile> {
    let cur = &s.revs[s.current];
    let name = &s.info.name;
    let image = format!("{}:{}", s.image, cur.tag);
    let ts = |ago: i64| {
        (now - chrono::Duration::seconds(ago))
            .format("%Y-%m-%dT%H:%M:%SZ")
            .to_string()
    };
    let log = log(cur.failure.as_ref(), name, &cur.tag, &ts);
    let why = match cur.failure {
        Some(Failure::Crashloop) => "CrashLoopBackOff (exit code 1)",
        Some(Failure::Flaky) => "OOMKilled (exit code 137)",
        Some(Failure::Errors) => "running, answering 5xx",
        None => "running",
    };
    let pods: Vec<String> = (0..s.replicas)
        .map(|i| {
            format!(
                "{name}-{}-{i}",
                cur.digest
                    .trim_start_matches("sha256:")
                    .chars()
                    .take(10)
                    .collect::<String>()
            )
        })
        .collect();
    let file = |name: String, what: &str, text: String| EvidenceFile {
        unread: None,
        name,
        what: what.into(),
        text,
    };
    let status: String = pods
        .iter()
        .map(|p| format!("{p}  image {image}  {why}\n"))
        .collect();
    let events = events(cur.failure.as_ref(), name, &pods, &ts);
    let crashing = matches!(cur.failure, Some(Failure::Crashloop | Failure::Flaky));
    match s.info.kind {
        Kind::Kubernetes => {
            let mut out = vec![file("pods.txt".into(), "pod status", status)];
            if !events.is_empty() {
                out.push(file(
                    "events.txt".into(),
                    "Warning events of the pods",
                    events,
                ));
            }
            if crashing {
                out.push(file(
                    format!("logs-{}-{name}-previous.log", pods[0]),
                    "the crashed container's log (previous, last 200 lines)",
                    log,
                ));
            }
            out
        }
        Kind::Swarm => vec![
            file("tasks.txt".into(), "tasks and their errors", status),
            file(
                format!("logs-{name}.log"),
                "service log (last 200 lines)",
                log,
            ),
        ],
        Kind::Compose => vec![
            file("containers.txt".into(), "container state", status),
            file(
                format!("logs-{name}.log"),
                "container log (last 200 lines)",
                log,
            ),
        ],
        Kind::Argocd => {
            let mut out = vec![file(
                "resources.txt".into(),
                "resources and their health",
                status,
            )];
            if !events.is_empty() {
                out.push(file(
                    "events.txt".into(),
                    "the application's events",
                    events,
                ));
            }
            out
        }
    }
}

/// The failing container's log, by how the revision fails.
fn log(failure: Option<&Failure>, name: &str, tag: &str, ts: &dyn Fn(i64) -> String) -> String {
    let cur_tag = tag;
    match failure {
        Some(Failure::Crashloop) => format!(
            "{} INFO starting {name} {}\n{} INFO connecting to postgres://{name}-db:5432 (pool size 64)\n{} ERROR pool: acquire timed out after 5s (64/64 in use)\n{} FATAL cannot start: no database connection\n",
            ts(40),
            cur_tag,
            ts(39),
            ts(34),
            ts(34)
        ),
        Some(Failure::Errors) => format!(
            "{} ERROR GET /orders/summary 500: column orders.legacy_total does not exist\n{} ERROR GET /orders/summary 500: column orders.legacy_total does not exist\n",
            ts(20),
            ts(5)
        ),
        Some(Failure::Flaky) => format!(
            "{} INFO warming cache (2.1 GiB)\n{} WARN memory at 97% of limit\n",
            ts(60),
            ts(31)
        ),
        None => format!("{} INFO serving on :8080\n", ts(300)),
    }
}

/// The Warning events a failing revision's pods leave.
fn events(
    failure: Option<&Failure>,
    name: &str,
    pods: &[String],
    ts: &dyn Fn(i64) -> String,
) -> String {
    match failure {
        Some(Failure::Crashloop) => pods
            .iter()
            .map(|p| {
                format!(
                    "{} Warning BackOff pod/{p}: Back-off restarting failed container {name}\n",
                    ts(10)
                )
            })
            .collect(),
        Some(Failure::Flaky) => format!(
            "{} Warning OOMKilling pod/{}: Memory cgroup out of memory\n",
            ts(31),
            pods[0]
        ),
        _ => String::new(),
    }
}
