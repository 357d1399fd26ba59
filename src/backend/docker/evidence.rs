//! What a failing Swarm service or Compose service leaves that a rollback
//! replaces: Swarm's tasks with their errors (`docker service ps
//! --no-trunc`) and the service's log through the manager (`docker service
//! logs --tail`); Compose's containers' state and health checks (`docker
//! inspect`) and their logs (`docker logs --tail`).

use super::engine::{Engine, engine_error, raw_get_bytes};
use crate::core::error::BackendError;
use crate::core::model::EvidenceFile;
use bollard::models::{ContainerInspectResponse, Task};
use futures::StreamExt;

/// Lines of each log, as `docker logs --tail`.
pub const TAIL: u32 = 200;
/// Tasks listed: the newest; a crash loop leaves hundreds of dead ones.
const MAX_TASKS: usize = 50;
/// Containers whose logs are read, failing ones first.
const MAX_LOGS: usize = 3;

/// The body of a non-TTY log stream: frames of an 8-byte header (stream,
/// three zero bytes, big-endian length) and their payload, joined.
pub fn demux(bytes: &[u8]) -> String {
    let mut out = Vec::with_capacity(bytes.len());
    let mut rest = bytes;
    while rest.len() >= 8 && rest[0] <= 2 && rest[1..4] == [0, 0, 0] {
        let n = u32::from_be_bytes([rest[4], rest[5], rest[6], rest[7]]) as usize;
        let end = (8 + n).min(rest.len());
        out.extend_from_slice(&rest[8..end]);
        rest = &rest[end..];
    }
    // A TTY service has no frames: what is left is plain text.
    out.extend_from_slice(rest);
    String::from_utf8_lossy(&out).into_owned()
}

/// One line per task, newest first: slot, state, desired state, error.
pub fn tasks_text(tasks: &[Task]) -> String {
    let mut v: Vec<&Task> = tasks.iter().collect();
    v.sort_by(|a, b| b.created_at.cmp(&a.created_at));
    let mut out = String::new();
    for k in v.iter().take(MAX_TASKS) {
        let st = k.status.as_ref();
        let image = k
            .spec
            .as_ref()
            .and_then(|s| s.container_spec.as_ref())
            .and_then(|c| c.image.as_deref())
            .unwrap_or("?");
        out.push_str(&format!(
            "task {} slot {} {} state {} (desired {}) {} image {}{}{}\n",
            k.id.as_deref()
                .map(|i| &i[..i.len().min(12)])
                .unwrap_or("?"),
            k.slot.unwrap_or(0),
            k.created_at.as_deref().unwrap_or("?"),
            st.and_then(|s| s.state)
                .map(|s| s.to_string())
                .unwrap_or("?".into()),
            k.desired_state.map(|s| s.to_string()).unwrap_or("?".into()),
            st.and_then(|s| s.message.as_deref()).unwrap_or(""),
            image,
            st.and_then(|s| s.err.as_deref())
                .map(|e| format!("  error: {e}"))
                .unwrap_or_default(),
            st.and_then(|s| s.container_status.as_ref())
                .and_then(|c| c.exit_code)
                .map(|c| format!("  exit code {c}"))
                .unwrap_or_default(),
        ));
    }
    if v.len() > MAX_TASKS {
        out.push_str(&format!("… and {} older tasks\n", v.len() - MAX_TASKS));
    }
    out
}

/// A Swarm service's tasks and its log through the manager.
pub async fn swarm(engine: &Engine, service: &str, tasks: &[Task]) -> Vec<EvidenceFile> {
    let path = format!("/services/{service}/logs?stdout=1&stderr=1&timestamps=1&tail={TAIL}");
    let (name, what) = (
        format!("logs-{service}.log"),
        format!("the service's log through the manager (last {TAIL} lines per task)"),
    );
    let log = match raw_get_bytes(
        &engine.host,
        &path,
        "application/vnd.docker.multiplexed-stream",
    )
    .await
    {
        Ok(b) => EvidenceFile {
            unread: None,
            name,
            what,
            text: demux(&b),
        },
        Err(e) => EvidenceFile::unread(name, what, e.to_string()),
    };
    vec![
        EvidenceFile {
            unread: None,
            name: "tasks.txt".into(),
            what: format!(
                "the service's tasks and their errors ({} tasks)",
                tasks.len()
            ),
            text: tasks_text(tasks),
        },
        log,
    ]
}

/// A container's state, restarts and last health-check answers.
pub fn container_text(c: &ContainerInspectResponse) -> String {
    let name = c.name.as_deref().unwrap_or("?").trim_start_matches('/');
    let image = c
        .config
        .as_ref()
        .and_then(|k| k.image.as_deref())
        .unwrap_or("?");
    let st = c.state.as_ref();
    let mut out = format!(
        "container {name}  image {image}  status {}  exit code {}  restarts {}  started {}  finished {}{}\n",
        st.and_then(|s| s.status)
            .map(|s| s.to_string())
            .unwrap_or("?".into()),
        st.and_then(|s| s.exit_code).unwrap_or(0),
        c.restart_count.unwrap_or(0),
        st.and_then(|s| s.started_at.as_deref()).unwrap_or("?"),
        st.and_then(|s| s.finished_at.as_deref()).unwrap_or("?"),
        st.and_then(|s| s.error.as_deref())
            .filter(|e| !e.is_empty())
            .map(|e| format!("  error: {e}"))
            .unwrap_or_default(),
    );
    if st.and_then(|s| s.oom_killed) == Some(true) {
        out.push_str("  OOM killed\n");
    }
    if let Some(h) = st.and_then(|s| s.health.as_ref()) {
        out.push_str(&format!(
            "  health {} (failing streak {})\n",
            h.status.map(|s| s.to_string()).unwrap_or("?".into()),
            h.failing_streak.unwrap_or(0)
        ));
        for l in h.log.iter().flatten().rev().take(3) {
            out.push_str(&format!(
                "    check at {} exit {}: {}\n",
                l.start.as_deref().unwrap_or("?"),
                l.exit_code.unwrap_or(0),
                l.output.as_deref().unwrap_or("").trim()
            ));
        }
    }
    out
}

/// Whether a container is what failed: not running, restarted, or unhealthy.
fn failing(c: &ContainerInspectResponse) -> bool {
    use bollard::models::{ContainerStateStatusEnum as S, HealthStatusEnum as H};
    let st = c.state.as_ref();
    st.and_then(|s| s.status) != Some(S::RUNNING)
        || c.restart_count.unwrap_or(0) > 0
        || st.and_then(|s| s.health.as_ref()).and_then(|h| h.status) == Some(H::UNHEALTHY)
}

/// A Compose service's containers and the logs of (at most three of) them,
/// the failing ones first.
pub async fn compose(
    engine: &Engine,
    containers: &[ContainerInspectResponse],
) -> Result<Vec<EvidenceFile>, BackendError> {
    let mut out = vec![EvidenceFile {
        unread: None,
        name: "containers.txt".into(),
        what: format!("state of the {} container(s)", containers.len()),
        text: containers.iter().map(container_text).collect(),
    }];
    let mut v: Vec<&ContainerInspectResponse> = containers.iter().collect();
    v.sort_by_key(|c| !failing(c));
    for c in v.into_iter().take(MAX_LOGS) {
        let (Some(id), Some(name)) = (c.id.as_deref(), c.name.as_deref()) else {
            continue;
        };
        let name = name.trim_start_matches('/');
        let opts = bollard::query_parameters::LogsOptionsBuilder::default()
            .stdout(true)
            .stderr(true)
            .timestamps(true)
            .tail(&TAIL.to_string())
            .build();
        let mut stream = engine.docker.logs(id, Some(opts));
        let mut text = String::new();
        let read = tokio::time::timeout(std::time::Duration::from_secs(10), async {
            while let Some(chunk) = stream.next().await {
                match chunk {
                    Ok(c) => text.push_str(&String::from_utf8_lossy(&c.into_bytes())),
                    Err(e) => return Err(engine_error(&engine.host, &e)),
                }
            }
            Ok(())
        })
        .await;
        let (file, what) = (
            format!("logs-{name}.log"),
            format!("log of container {name} (last {TAIL} lines)"),
        );
        // Nothing read is no log; a log cut short keeps what came, said.
        let failed = match read {
            Ok(Ok(())) => None,
            Ok(Err(e)) => Some(format!("the log could not be read to its end: {e}")),
            Err(_) => Some("the engine did not send the whole log within 10 s".to_string()),
        };
        out.push(match failed {
            Some(why) if text.is_empty() => EvidenceFile::unread(file, what, why),
            Some(why) => EvidenceFile {
                unread: None,
                name: file,
                what,
                text: format!("{text}\n{why}\n"),
            },
            None => EvidenceFile {
                unread: None,
                name: file,
                what,
                text,
            },
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_joined_and_plain_text_passes() {
        let mut b = vec![1, 0, 0, 0, 0, 0, 0, 6];
        b.extend_from_slice(b"hello\n");
        b.extend_from_slice(&[2, 0, 0, 0, 0, 0, 0, 5]);
        b.extend_from_slice(b"boom\n");
        assert_eq!(demux(&b), "hello\nboom\n");
        assert_eq!(demux(b"plain tty\n"), "plain tty\n");
    }
}
