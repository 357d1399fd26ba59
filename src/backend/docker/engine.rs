//! Connecting to a Docker engine and reading what bollard's models lack
//! (a service's `PreviousSpec`), plus error texts an operator can act on.

use crate::core::error::BackendError;
use bollard::Docker;
use bollard::errors::Error;

/// Where the engine is, as the header shows it.
#[derive(Debug, Clone)]
pub struct Engine {
    pub docker: Docker,
    pub host: String,
}

/// `DOCKER_HOST` (or the target's `docker_host`): unix, tcp (TLS with
/// `DOCKER_TLS_VERIFY`/`DOCKER_CERT_PATH`), or ssh.
pub fn connect(host: Option<&str>) -> Result<Engine, crate::setup_error::SetupError> {
    use crate::setup_error::SetupError;
    let env_host = std::env::var("DOCKER_HOST").ok();
    let host = host
        .map(str::to_string)
        .or(env_host)
        .unwrap_or_else(|| "unix:///var/run/docker.sock".into());
    let tls = std::env::var("DOCKER_TLS_VERIFY")
        .map(|v| !v.is_empty() && v != "0")
        .unwrap_or(false);
    let docker = if let Some(path) = host.strip_prefix("unix://") {
        Docker::connect_with_unix(path, 30, bollard::API_DEFAULT_VERSION)
    } else if host.starts_with("tcp://")
        || host.starts_with("http://")
        || host.starts_with("https://")
    {
        if tls || host.starts_with("https://") {
            let dir = std::env::var("DOCKER_CERT_PATH")
                .map(std::path::PathBuf::from)
                .unwrap_or_else(|_| {
                    std::path::PathBuf::from(std::env::var("HOME").unwrap_or_default())
                        .join(".docker")
                });
            Docker::connect_with_ssl(
                &host,
                &dir.join("key.pem"),
                &dir.join("cert.pem"),
                &dir.join("ca.pem"),
                30,
                bollard::API_DEFAULT_VERSION,
            )
        } else {
            Docker::connect_with_http(&host, 30, bollard::API_DEFAULT_VERSION)
        }
    } else if host.starts_with("ssh://") {
        // bollard runs the system `ssh` client (keys and agent as for any ssh).
        Docker::connect_with_ssh(&host, 30, bollard::API_DEFAULT_VERSION)
    } else {
        return Err(SetupError::DockerHost(host));
    };
    docker
        .map(|docker| Engine {
            docker,
            host: host.clone(),
        })
        .map_err(|e| {
            SetupError::Client(format!(
                "cannot connect to the Docker engine at {host}: {e}"
            ))
        })
}

/// A revision from an image on the engine: named by its tag, dated by its
/// build, with the digest the registry gave it and the commit its OCI
/// `revision` label names.
pub fn image_revision(
    img: &bollard::models::ImageSummary,
    id: String,
    image: crate::core::model::ImageRef,
    message: String,
    current: bool,
) -> crate::core::model::Revision {
    crate::core::model::Revision {
        id: id.into(),
        deployed_at: chrono::DateTime::from_timestamp(img.created, 0),
        images: vec![image],
        git_sha: img.labels.get("org.opencontainers.image.revision").cloned(),
        message,
        author: None,
        current,
    }
}

/// One error sentence per failure kind, never a Rust debug dump, in the
/// kind the core acts on.
pub fn engine_error(host: &str, e: &Error) -> BackendError {
    match e {
        Error::DockerResponseServerError {
            status_code,
            message,
        } => match status_code {
            404 => BackendError::NotFound(format!("not found on the engine: {message}")),
            409 => BackendError::Conflict(format!("conflict: {message}")),
            s if *s >= 500 => BackendError::Unavailable(format!("engine error {s}: {message}")),
            s => BackendError::from_status(*s, format!("engine refused ({s}): {message}"))
                .unwrap_or_else(|| BackendError::Failed(format!("engine answered {s}: {message}"))),
        },
        Error::RequestTimeoutError => BackendError::Timeout(format!(
            "the Docker engine at {host} did not answer in time (timeout)"
        )),
        Error::SocketNotFoundError(path) => BackendError::Unreachable(format!(
            "no Docker engine at {host}: the socket {path} does not exist (is dockerd running?)"
        )),
        Error::JsonDataError { .. } | Error::JsonSerdeError { .. } => BackendError::Malformed(
            format!("malformed answer from the Docker engine at {host}: {e}"),
        ),
        other => chain_error(host, other),
    }
}

/// bollard's top-level text for a failed connection is the same for every
/// cause ("client error (Connect)"); the cause is in the source chain.
fn chain_error(host: &str, e: &Error) -> BackendError {
    use std::io::ErrorKind as K;
    let mut chain = vec![e.to_string()];
    let mut io_kind = None;
    let mut src = std::error::Error::source(e);
    while let Some(s) = src {
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            io_kind.get_or_insert(io.kind());
        }
        chain.push(s.to_string());
        src = s.source();
    }
    if let Error::IOError { err } = e {
        io_kind.get_or_insert(err.kind());
    }
    let all = chain.join(": ").to_lowercase();
    let cause = chain.last().cloned().unwrap_or_default();
    match io_kind {
        Some(K::PermissionDenied) => BackendError::Forbidden(format!(
            "permission denied on the Docker socket ({host}): add your user to the docker group (then log in again) or run rbtui with access to it"
        )),
        Some(K::NotFound) => BackendError::Unreachable(format!(
            "no Docker engine at {host}: the socket does not exist (is dockerd running?)"
        )),
        Some(K::ConnectionRefused) => BackendError::Unreachable(format!(
            "no Docker engine at {host}: connection refused (dockerd is not running or not listening there)"
        )),
        Some(K::TimedOut) => BackendError::Timeout(format!(
            "the Docker engine at {host} did not answer in time: {cause}"
        )),
        _ if all.contains("certificate") || all.contains("tls") || all.contains("handshake") => {
            BackendError::Unreachable(format!(
                "TLS error talking to the Docker engine at {host}: {cause}"
            ))
        }
        _ if host.starts_with("ssh://") || all.contains("ssh") => BackendError::Unreachable(
            format!("ssh to the Docker engine at {host} failed: {cause}"),
        ),
        _ => BackendError::Unavailable(format!("Docker engine {host}: {}", chain.join(": "))),
    }
}

#[cfg(test)]
mod engine_error_tests {
    use super::*;

    #[test]
    fn each_cause_reads_differently() {
        let io = |k| Error::IOError {
            err: std::io::Error::from(k),
        };
        let perm = engine_error(
            "unix:///var/run/docker.sock",
            &io(std::io::ErrorKind::PermissionDenied),
        );
        assert!(matches!(perm, BackendError::Forbidden(_)), "{perm:?}");
        let perm = perm.to_string();
        assert!(
            perm.starts_with("permission denied") && perm.contains("docker group"),
            "{perm}"
        );
        let refused = engine_error("tcp://h:2375", &io(std::io::ErrorKind::ConnectionRefused));
        assert!(refused.is_outage(), "{refused:?}");
        let refused = refused.to_string();
        assert!(refused.contains("connection refused"), "{refused}");
        let gone = engine_error(
            "unix:///x.sock",
            &Error::SocketNotFoundError("/x.sock".into()),
        );
        assert!(gone.to_string().contains("does not exist"), "{gone}");
        assert_ne!(perm, refused);
    }

    /// A real connection to a socket path nothing listens on: the cause
    /// from the chain, not "client error (Connect)".
    #[tokio::test]
    async fn a_dead_engine_says_it_is_not_running() {
        let dir = tempfile::tempdir().unwrap();
        let sock = dir.path().join("docker.sock");
        // A socket file whose listener is gone: connection refused.
        drop(std::os::unix::net::UnixListener::bind(&sock).unwrap());
        let host = format!("unix://{}", sock.display());
        let e = connect(Some(&host)).unwrap();
        let err = e.docker.ping().await.unwrap_err();
        let m = engine_error(&host, &err);
        assert!(matches!(m, BackendError::Unreachable(_)), "{m:?}");
        let m = m.to_string();
        assert!(m.contains("connection refused"), "{m}");
        assert!(!m.contains("client error (Connect)"), "{m}");
    }
}

/// `GET path` on the engine's socket, for fields bollard's models drop.
/// Only unix and plain tcp engines; others (TLS, ssh) answer `None` and the
/// history says the previous spec is not readable.
pub async fn raw_get(host: &str, path: &str) -> Option<serde_json::Value> {
    let body = raw_get_bytes(host, path, "application/json").await.ok()?;
    serde_json::from_slice(&body).ok()
}

/// Why a raw engine read got no body; said where the body would be.
#[derive(Debug, thiserror::Error)]
pub enum RawReadError {
    #[error("{host}: not read over TLS or ssh by this path")]
    Transport { host: String },
    #[error("{0}")]
    Request(String),
    #[error("the engine did not answer within 10 s")]
    Silent,
    #[error("the engine did not finish its answer within 10 s")]
    Cut,
    #[error("{status}: {body}")]
    Status {
        status: http::StatusCode,
        body: String,
    },
}

/// The body of `GET path` on the engine (unix or plain tcp), bounded by
/// 10 s: a wedged engine must not hold the read that asked.
pub async fn raw_get_bytes(
    host: &str,
    path: &str,
    accept: &str,
) -> Result<bytes::Bytes, RawReadError> {
    let request = |e: &dyn std::fmt::Display| RawReadError::Request(e.to_string());
    use http_body_util::{BodyExt, Empty};
    use hyper_util::client::legacy::Client;
    use hyper_util::rt::TokioExecutor;
    type Body = Empty<bytes::Bytes>;
    let req = |uri: hyper::Uri| {
        http::Request::get(uri)
            .header("Accept", accept)
            .body(Body::new())
            .map_err(|e| request(&e))
    };
    let answer = async {
        if let Some(p) = host.strip_prefix("unix://") {
            let c: Client<_, Body> =
                Client::builder(TokioExecutor::new()).build(hyperlocal::UnixConnector);
            c.request(req(hyperlocal::Uri::new(p, path).into())?)
                .await
                .map_err(|e| request(&e))
        } else if let Some(a) = host
            .strip_prefix("tcp://")
            .or_else(|| host.strip_prefix("http://"))
        {
            let c: Client<_, Body> = Client::builder(TokioExecutor::new()).build_http();
            let uri = format!("http://{a}{path}")
                .parse()
                .map_err(|e: http::uri::InvalidUri| request(&e))?;
            c.request(req(uri)?).await.map_err(|e| request(&e))
        } else {
            Err(RawReadError::Transport {
                host: host.to_string(),
            })
        }
    };
    let res = tokio::time::timeout(std::time::Duration::from_secs(10), answer)
        .await
        .map_err(|_| RawReadError::Silent)??;
    let status = res.status();
    let body = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        res.into_body().collect(),
    )
    .await
    .map_err(|_| RawReadError::Cut)?
    .map_err(|e| request(&e))?
    .to_bytes();
    if status != http::StatusCode::OK {
        return Err(RawReadError::Status {
            status,
            body: String::from_utf8_lossy(&body).trim().to_string(),
        });
    }
    Ok(body)
}

/// Re-reads only when the engine says something changed (its events
/// stream), plus a slow resync; never a tight poll loop. Reconnects the
/// stream with backoff; while it is down every poll re-reads.
pub struct EventGate {
    dirty: std::sync::atomic::AtomicBool,
    up: std::sync::atomic::AtomicBool,
    started: std::sync::atomic::AtomicBool,
    last_read: std::sync::Mutex<Option<std::time::Instant>>,
    /// The event stream's reader, ended with the gate.
    reader: crate::backend::tasks::Owned,
}

type HealthRead = Result<crate::core::model::Health, (String, BackendError)>;

/// The gate plus the last snapshot: re-reads only when due.
#[derive(Default)]
pub struct GatedHealth {
    pub gate: std::sync::Arc<EventGate>,
    cache: std::sync::Mutex<Vec<HealthRead>>,
}

impl GatedHealth {
    pub async fn get<F: std::future::Future<Output = Vec<HealthRead>>>(
        &self,
        read: impl FnOnce() -> F,
    ) -> Vec<HealthRead> {
        if !self.gate.due() {
            return self
                .cache
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .clone();
        }
        let fresh = read().await;
        self.gate.read_done();
        *self
            .cache
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = fresh.clone();
        fresh
    }
}

/// Whether an event's actor carries one of `values` under one of `keys`.
pub fn actor_is(ev: &bollard::models::EventMessage, keys: &[&str], values: &[String]) -> bool {
    let attrs = ev.actor.as_ref().and_then(|a| a.attributes.as_ref());
    keys.iter().any(|k| {
        attrs
            .and_then(|a| a.get(*k))
            .is_some_and(|v| values.contains(v))
    })
}

/// Lifecycle changes only: health checks exec every second and must not
/// count as changes (`exec_start: …` is filtered here too, in case the
/// engine ignores the server-side filter).
const LIFECYCLE: &[&str] = &[
    "create",
    "update",
    "remove",
    "start",
    "die",
    "destroy",
    "kill",
    "oom",
    "health_status",
];

/// Even with no event, read again this often.
pub const RESYNC: std::time::Duration = std::time::Duration::from_secs(30);

impl Default for EventGate {
    fn default() -> Self {
        EventGate {
            dirty: true.into(),
            up: false.into(),
            started: false.into(),
            last_read: std::sync::Mutex::new(None),
            reader: Default::default(),
        }
    }
}

impl EventGate {
    /// Starts following `/events` for the given object types, once; only
    /// events for which `mine` holds (the targets' own objects) count.
    pub fn start(
        self: &std::sync::Arc<Self>,
        docker: &Docker,
        types: &[&str],
        mine: impl Fn(&bollard::models::EventMessage) -> bool + Send + Sync + 'static,
    ) {
        use std::sync::atomic::Ordering::SeqCst;
        if self.started.swap(true, SeqCst) {
            return;
        }
        let gate = std::sync::Arc::downgrade(self);
        let docker = docker.clone();
        let types: Vec<String> = types.iter().map(|s| s.to_string()).collect();
        self.reader.spawn(async move {
            use futures::StreamExt;
            let mut backoff = std::time::Duration::from_secs(1);
            loop {
                let mut f = std::collections::HashMap::new();
                f.insert("type".to_string(), types.clone());
                f.insert(
                    "event".to_string(),
                    LIFECYCLE.iter().map(|s| s.to_string()).collect(),
                );
                let mut s = docker.events(Some(bollard::query_parameters::EventsOptions {
                    filters: Some(f),
                    ..Default::default()
                }));
                // Optimistically up: a refused connection ends the stream at once.
                if let Some(g) = gate.upgrade() {
                    g.up.store(true, SeqCst);
                }
                while let Some(ev) = s.next().await {
                    let Some(g) = gate.upgrade() else { return };
                    match ev {
                        Ok(ev) => {
                            g.up.store(true, SeqCst);
                            let action = ev.action.clone().unwrap_or_default();
                            let lifecycle = LIFECYCLE
                                .iter()
                                .any(|a| action == *a || action.starts_with(&format!("{a}:")));
                            if lifecycle && mine(&ev) {
                                g.dirty.store(true, SeqCst);
                            }
                            backoff = std::time::Duration::from_secs(1);
                        }
                        Err(_) => break,
                    }
                }
                let Some(g) = gate.upgrade() else { return };
                g.up.store(false, SeqCst);
                g.dirty.store(true, SeqCst);
                drop(g);
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(std::time::Duration::from_secs(30));
            }
        });
    }

    /// True when a fresh read is due; the caller then calls `read_done`.
    /// The flag is taken here, so an event during the read marks it again.
    pub fn due(&self) -> bool {
        use std::sync::atomic::Ordering::SeqCst;
        let stale = self
            .last_read
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .is_none_or(|t| t.elapsed() >= RESYNC);
        self.dirty.swap(false, SeqCst) || stale
    }

    /// While the stream is down every poll reads again.
    pub fn read_done(&self) {
        use std::sync::atomic::Ordering::SeqCst;
        if !self.up.load(SeqCst) {
            self.dirty.store(true, SeqCst);
        }
        *self
            .last_read
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(std::time::Instant::now());
    }
}

/// A container that is not running healthy, in `docker ps`'s words, and
/// whether it is crash-looping: restarting, or restarted (`restarts`)
/// and down or failing again. A container stopped on purpose (`docker
/// compose stop`: exited, never restarted) and a running one whose health
/// check fails are not crash loops.
pub fn container_state(st: &bollard::models::ContainerState, restarts: u32) -> (String, bool) {
    use bollard::models::{ContainerStateStatusEnum as S, HealthStatusEnum as H};
    let last_check = st
        .health
        .as_ref()
        .and_then(|h| h.log.as_ref())
        .and_then(|l| l.last())
        .and_then(|l| l.output.clone())
        .map(|o| o.trim().to_string())
        .filter(|o| !o.is_empty())
        .map(|o| format!(": {o}"))
        .unwrap_or_default();
    let code = st.exit_code.unwrap_or(0);
    let counted = if restarts > 0 {
        format!(", {restarts} restart(s)")
    } else {
        String::new()
    };
    match st.status {
        Some(S::RESTARTING) => (format!("Restarting ({code}){counted}: crash-looping"), true),
        Some(S::EXITED) | Some(S::DEAD) => {
            let oom = if st.oom_killed == Some(true) {
                " OOMKilled"
            } else {
                ""
            };
            let why = if restarts > 0 {
                ": crash-looping".to_string()
            } else {
                " (stopped, not restarted)".to_string()
            };
            (format!("Exited ({code}){oom}{counted}{why}"), restarts > 0)
        }
        Some(S::CREATED) => ("Created (never started)".into(), false),
        Some(S::PAUSED) => ("Up (Paused)".into(), false),
        _ if st.health.as_ref().and_then(|h| h.status) == Some(H::UNHEALTHY) => {
            (format!("Up (unhealthy){counted}{last_check}"), restarts > 0)
        }
        _ => (
            format!(
                "{}{counted}",
                st.status
                    .map(|s| s.to_string())
                    .unwrap_or_else(|| "unknown state".into())
            ),
            restarts > 0,
        ),
    }
}

/// The engine's version and the socket rbtui reaches it on (`rbtui check`).
pub async fn about(e: &Engine) -> Result<crate::backend::About, BackendError> {
    let v = e
        .docker
        .version()
        .await
        .map_err(|err| engine_error(&e.host, &err))?;
    Ok(crate::backend::About {
        version: format!(
            "Docker Engine {} (API {})",
            v.version.as_deref().unwrap_or("?"),
            v.api_version.as_deref().unwrap_or("?")
        ),
        credentials: format!("the engine's socket {} (its own access rights)", e.host),
    })
}
