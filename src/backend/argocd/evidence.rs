//! What a failing Argo CD application leaves that a rollback replaces: its
//! resources that are not Healthy (from the resource tree, with Argo CD's
//! own status reasons and restart counts), the application's events, and
//! the previous log of each degraded pod (`…/logs?previous=true`, the
//! server's own tail), read through Argo CD as `argocd app logs` does.

use super::ArgoBackend;
use super::api::{Node, Tree};
use crate::core::error::BackendError;
use crate::core::model::EvidenceFile;
use reqwest::Method;
use serde_json::Value;

/// Lines of each pod's previous log.
pub const TAIL_LINES: u32 = 200;
/// Degraded pods whose logs are read.
const MAX_LOGS: usize = 3;

fn healthy(n: &Node) -> bool {
    n.health
        .as_ref()
        .and_then(|h| h.status.as_deref())
        .is_none_or(|s| s == "Healthy")
}

/// One line per resource that is not Healthy, with what Argo CD says of it.
pub fn resources_text(tree: &Tree) -> String {
    let bad: Vec<&Node> = tree.nodes.iter().filter(|n| !healthy(n)).collect();
    if bad.is_empty() {
        return "every resource Argo CD tracks reports Healthy\n".into();
    }
    bad.iter()
        .map(|n| {
            let h = n.health.as_ref();
            let info: Vec<String> = n
                .info
                .iter()
                .map(|i| format!("{}: {}", i.name, i.value))
                .collect();
            format!(
                "{}/{} {}{}{}{}\n",
                n.kind,
                n.name,
                h.and_then(|h| h.status.as_deref()).unwrap_or("?"),
                h.and_then(|h| h.message.as_deref())
                    .map(|m| format!(" ({m})"))
                    .unwrap_or_default(),
                if info.is_empty() {
                    String::new()
                } else {
                    format!("  {}", info.join(", "))
                },
                if n.images.is_empty() {
                    String::new()
                } else {
                    format!("  images {}", n.images.join(", "))
                },
            )
        })
        .collect()
}

/// An EventList as lines, oldest first.
pub fn events_text(list: &Value) -> String {
    crate::backend::kubernetes::evidence::event_lines(
        list["items"].as_array().into_iter().flatten(),
    )
}

/// The logs endpoint's stream: one JSON object per line, each a
/// `result` (`content`, `timeStamp`) or an `error`.
pub fn log_text(body: &[u8]) -> String {
    let mut out = String::new();
    for line in String::from_utf8_lossy(body)
        .lines()
        .filter(|l| !l.trim().is_empty())
    {
        match serde_json::from_str::<Value>(line) {
            Ok(v) if v["result"].is_object() => {
                let r = &v["result"];
                if r["last"] == true && r["content"].as_str().is_none_or(str::is_empty) {
                    continue;
                }
                out.push_str(&format!(
                    "{} {}\n",
                    r["timeStampStr"]
                        .as_str()
                        .or(r["timeStamp"].as_str())
                        .unwrap_or(""),
                    r["content"].as_str().unwrap_or("")
                ));
            }
            Ok(v) if !v["error"].is_null() => {
                out.push_str(&format!(
                    "[Argo CD: {}]\n",
                    v["error"]["message"].as_str().unwrap_or("error")
                ));
            }
            _ => out.push_str(&format!("{line}\n")),
        }
    }
    out
}

impl ArgoBackend {
    pub(super) async fn evidence_of(
        &self,
        target: &str,
    ) -> Result<Vec<EvidenceFile>, BackendError> {
        let t = &self.target(target)?;
        let object = Self::object(t);
        let q = Self::query(t);
        let mut out = Vec::new();
        let tree = self.get_tree(t).await?;
        out.push(EvidenceFile {
            unread: None,
            name: "resources.txt".into(),
            what: "resources that are not Healthy, as Argo CD reports them".into(),
            text: tree
                .as_ref()
                .map(resources_text)
                .unwrap_or_else(|| "the resource tree may not be read by rbtui's token\n".into()),
        });
        let events = self
            .client
            .get_json::<Value>(
                &format!("/api/v1/applications/{}/events", t.app),
                &q,
                "get",
                &object,
            )
            .await;
        let what = "the application's events";
        out.push(match events {
            Ok(l) => EvidenceFile {
                unread: None,
                name: "events.txt".into(),
                what: what.into(),
                text: events_text(&l),
            },
            Err(e) => EvidenceFile::unread("events.txt", what, BackendError::from(e).to_string()),
        });
        let pods: Vec<&Node> = tree
            .iter()
            .flat_map(|t| t.nodes.iter())
            .filter(|n| n.kind == "Pod" && !healthy(n))
            .take(MAX_LOGS)
            .collect();
        for p in pods {
            let mut lq = q.clone();
            lq.extend([
                ("podName", p.name.clone()),
                ("namespace", p.namespace.clone()),
                ("previous", "true".into()),
                ("follow", "false".into()),
                ("tailLines", TAIL_LINES.to_string()),
            ]);
            let path = format!("/api/v1/applications/{}/logs", t.app);
            let name = format!("logs-{}-previous.log", p.name);
            let what = format!(
                "previous log of degraded pod {} (last {TAIL_LINES} lines)",
                p.name
            );
            out.push(
                match self
                    .client
                    .call(Method::GET, &path, &lq, None, "get", &object)
                    .await
                {
                    Ok(b) => EvidenceFile {
                        unread: None,
                        name,
                        what,
                        text: log_text(&b),
                    },
                    Err(e) => EvidenceFile::unread(name, what, BackendError::from(e).to_string()),
                },
            );
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_log_stream_becomes_lines_and_errors_are_said() {
        let body = br#"{"result":{"content":"starting","timeStampStr":"2026-12-03T03:00:00Z","podName":"orders-0"}}
{"result":{"content":"panic: nil map","timeStampStr":"2026-12-03T03:00:01Z"}}
{"result":{"content":"","last":true}}
{"error":{"message":"container not found"}}
"#;
        assert_eq!(
            log_text(body),
            "2026-12-03T03:00:00Z starting\n2026-12-03T03:00:01Z panic: nil map\n[Argo CD: container not found]\n"
        );
    }
}
