//! What the image registry says, as pre-flight facts: whether a revision's
//! tag still exists, what it resolves to now (a moved `:main` deploys
//! another build than the one that ran), and how many releases the
//! repository retains (the compose runbook wants at least three).
//! `oci-client` speaks the distribution API, with anonymous token auth and
//! the credentials `docker login` saved in `~/.docker/config.json`.

use super::BoxFut;
use super::layer::Layer;
use crate::core::error::BackendError;
use crate::core::model::{History, ImageRef, RegistryFact};
use oci_client::client::{ClientConfig, ClientProtocol};
use oci_client::errors::{OciDistributionError, OciErrorCode};
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long an answer is reused: a plan's facts are at most this old, and
/// the check says when the registry answered.
const REUSE: Duration = Duration::from_secs(30);
/// How many of the newest revisions are asked about.
const NEWEST: usize = 10;

/// A registry client per host, with the saved credentials.
pub struct Registry {
    clients: Mutex<HashMap<String, Arc<Client>>>,
    auths: HashMap<String, (String, String)>,
    answers: Mutex<HashMap<String, (Instant, RegistryFact)>>,
    listed: Mutex<HashMap<String, (Instant, Listed)>>,
}

/// A repository's tags as listed (or why not), kept for a while.
type Listed = Result<Vec<String>, RegistryError>;

/// Why a registry question got no answer; the registry's own words where
/// it gave some (they are what the plan's check says).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RegistryError {
    #[error("`{image}` is not an image reference: {why}")]
    BadReference { image: String, why: String },
    #[error("`{0}` is not a repository")]
    NotARepository(String),
    #[error("registry {host} did not answer within 10s")]
    Silent { host: String },
    /// The registry answered with an error (401, 500, a broken manifest).
    #[error("registry {host}: {said}")]
    Answered { host: String, said: String },
}

impl RegistryError {
    /// The error with its causes: "error sending request" alone does not
    /// say whether the registry refused the connection, timed out or
    /// failed TLS.
    fn answered(host: &str, e: OciDistributionError) -> RegistryError {
        let said = crate::backend::cause::cause(&e);
        RegistryError::Answered {
            host: host.to_string(),
            said,
        }
    }
}

/// `docker login`'s saved credentials: `auths.<host>.auth` is base64 of
/// `user:password`. Credential helpers are not run here.
fn docker_auths() -> HashMap<String, (String, String)> {
    let dir = std::env::var_os("DOCKER_CONFIG")
        .map(std::path::PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| std::path::Path::new(&h).join(".docker")));
    let Some(text) = dir.and_then(|d| std::fs::read_to_string(d.join("config.json")).ok()) else {
        return HashMap::new();
    };
    let v: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
    let mut out = HashMap::new();
    for (host, a) in v["auths"].as_object().into_iter().flatten() {
        let Some(b64) = a["auth"].as_str() else {
            continue;
        };
        let Some(plain) = base64_decode(b64) else {
            continue;
        };
        if let Some((u, p)) = plain.split_once(':') {
            let host = host
                .trim_start_matches("https://")
                .trim_start_matches("http://")
                .trim_end_matches("/v1/")
                .trim_end_matches('/');
            out.insert(host.to_string(), (u.to_string(), p.to_string()));
        }
    }
    out
}

fn base64_decode(s: &str) -> Option<String> {
    use base64::Engine;
    let bytes = base64::engine::general_purpose::STANDARD.decode(s).ok()?;
    String::from_utf8(bytes).ok()
}

/// The registry's own word that there is no such manifest or repository
/// (a distribution registry answers 404 with `MANIFEST_UNKNOWN`).
fn gone(e: &OciDistributionError) -> bool {
    match e {
        OciDistributionError::RegistryError { envelope, .. } => envelope.errors.iter().any(|x| {
            matches!(
                x.code,
                OciErrorCode::ManifestUnknown | OciErrorCode::NameUnknown
            )
        }),
        OciDistributionError::ImageManifestNotFoundError(_) => true,
        OciDistributionError::ServerError { code, .. } => *code == 404,
        _ => false,
    }
}

/// A registry on this machine speaks plain HTTP, as docker assumes.
fn local(host: &str) -> bool {
    host.starts_with("localhost") || host.starts_with("127.") || host.starts_with("[::1]")
}

impl Default for Registry {
    fn default() -> Self {
        Registry {
            clients: Default::default(),
            auths: docker_auths(),
            answers: Default::default(),
            listed: Default::default(),
        }
    }
}

impl Registry {
    fn client(&self, host: &str) -> Arc<Client> {
        self.clients
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .entry(host.to_string())
            .or_insert_with(|| {
                let protocol = if local(host) {
                    ClientProtocol::HttpsExcept(vec![host.to_string()])
                } else {
                    ClientProtocol::Https
                };
                Arc::new(Client::new(ClientConfig {
                    protocol,
                    ..Default::default()
                }))
            })
            .clone()
    }

    fn auth(&self, host: &str) -> RegistryAuth {
        match self.auths.get(host) {
            Some((u, p)) => RegistryAuth::Basic(u.clone(), p.clone()),
            None => RegistryAuth::Anonymous,
        }
    }

    /// The reference, its host, and the client and credentials for it.
    fn for_image(
        &self,
        image: &str,
    ) -> Result<(Reference, String, Arc<Client>, RegistryAuth), RegistryError> {
        let r: Reference =
            image
                .parse()
                .map_err(|e: oci_client::ParseError| RegistryError::BadReference {
                    image: image.to_string(),
                    why: e.to_string(),
                })?;
        let host = r.resolve_registry().to_string();
        Ok((r, host.clone(), self.client(&host), self.auth(&host)))
    }

    /// A registry question bounded by 10 s, its failure in the registry's words.
    async fn ask<T>(
        host: &str,
        q: impl std::future::Future<Output = Result<T, OciDistributionError>>,
    ) -> Result<Result<T, OciDistributionError>, RegistryError> {
        tokio::time::timeout(Duration::from_secs(10), q)
            .await
            .map_err(|_| RegistryError::Silent {
                host: host.to_string(),
            })
    }

    /// What `repo:tag` resolves to now: a digest, `None` when the registry
    /// has no such tag, an error when it could not be asked.
    pub async fn resolve(&self, image: &str) -> Result<Option<String>, RegistryError> {
        let (r, host, c, auth) = self.for_image(image)?;
        match Self::ask(&host, c.fetch_manifest_digest(&r, &auth)).await? {
            Ok(d) => Ok(Some(d)),
            Err(e) if gone(&e) => Ok(None),
            Err(e) => Err(RegistryError::answered(&host, e)),
        }
    }

    /// What `repo:tag` is now: its manifest digest and, where the image's
    /// config says it, when it was built.
    pub async fn tag_now(
        &self,
        image: &str,
    ) -> Result<(String, Option<chrono::DateTime<chrono::Utc>>), RegistryError> {
        let (r, host, c, auth) = self.for_image(image)?;
        let (_, digest, config) = Self::ask(&host, c.pull_manifest_and_config(&r, &auth))
            .await?
            .map_err(|e| RegistryError::answered(&host, e))?;
        let created = serde_json::from_str::<serde_json::Value>(&config)
            .ok()
            .and_then(|v| v["created"].as_str().map(str::to_string))
            .and_then(|c| chrono::DateTime::parse_from_rfc3339(&c).ok())
            .map(|c| c.with_timezone(&chrono::Utc));
        Ok((digest, created))
    }

    /// Points `image` (`repo:tag`) at the manifest `to`, if it still
    /// resolves to `from` (else nothing is pushed: the plan is stale). The
    /// manifest is copied as the registry holds it, byte for byte, so the
    /// tag's digest becomes exactly `to`; the tag is read back to say so.
    /// A push whose answer was lost is decided by that read.
    pub async fn retag(&self, image: &str, from: &str, to: &str) -> Result<String, BackendError> {
        let before = self
            .resolve(image)
            .await
            .map_err(|e| BackendError::Unreachable(e.to_string()))?;
        if before.as_deref() != Some(from) {
            return Err(BackendError::Stale {
                built_from: from.to_string(),
                now: before.unwrap_or_else(|| "no such tag".into()),
            });
        }
        let (r, host, c, auth) = self
            .for_image(image)
            .map_err(|e| BackendError::Failed(e.to_string()))?;
        let good = Reference::with_digest(r.registry().into(), r.repository().into(), to.into());
        const TYPES: &[&str] = &[
            "application/vnd.oci.image.manifest.v1+json",
            "application/vnd.docker.distribution.manifest.v2+json",
            "application/vnd.oci.image.index.v1+json",
            "application/vnd.docker.distribution.manifest.list.v2+json",
        ];
        let (bytes, got) = Self::ask(&host, c.pull_manifest_raw(&good, &auth, TYPES))
            .await
            .map_err(|e| BackendError::Timeout(e.to_string()))?
            .map_err(|e| BackendError::Failed(format!("registry {host}: reading {to}: {e}")))?;
        if got != to {
            return Err(BackendError::Failed(format!(
                "registry {host} gave manifest {got} for {to}; nothing was pushed"
            )));
        }
        let media = serde_json::from_slice::<serde_json::Value>(&bytes)
            .ok()
            .and_then(|v| v["mediaType"].as_str().map(str::to_string))
            .unwrap_or_else(|| TYPES[0].to_string());
        let ct = http::HeaderValue::from_str(&media)
            .map_err(|e| BackendError::Failed(format!("manifest media type {media}: {e}")))?;
        let pushed = Self::ask(&host, async {
            c.auth(&r, &auth, oci_client::RegistryOperation::Push)
                .await?;
            c.push_manifest_raw(&r, bytes, ct).await
        })
        .await;
        // Read back: the registry's word on what the tag is now decides.
        let after = self.resolve(image).await;
        let short = crate::core::model::short_digest;
        match (pushed, after) {
            (_, Ok(Some(d))) if d == to => Ok(format!(
                "{image} now resolves to {} (was {}); registry {host}",
                short(to),
                short(from)
            )),
            (Ok(Ok(_)), after) => Err(BackendError::OutcomeUnknown(format!(
                "the registry accepted the push but {image} reads back as {after:?}"
            ))),
            (Ok(Err(e)), Ok(Some(d))) if d == from => Err(BackendError::Failed(format!(
                "registry {host} refused the push ({e}); {image} still resolves to {}",
                short(from)
            ))),
            (Err(e), _) | (Ok(Err(_)), Err(e)) => Err(BackendError::OutcomeUnknown(format!(
                "{e}; what {image} resolves to now could not be read"
            ))),
            (Ok(Err(e)), after) => Err(BackendError::OutcomeUnknown(format!(
                "registry {host} answered {e}, and {image} reads back as {after:?}"
            ))),
        }
    }

    /// The tags of a repository, asked at most every 30 s.
    async fn tags_recent(&self, repository: &str) -> Result<Vec<String>, RegistryError> {
        if let Some((at, t)) = self
            .listed
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(repository)
            && at.elapsed() < REUSE
        {
            return t.clone();
        }
        let t = self.tags(repository).await;
        self.listed
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(repository.to_string(), (Instant::now(), t.clone()));
        t
    }

    /// The tags of a repository, as the registry lists them.
    pub async fn tags(&self, repository: &str) -> Result<Vec<String>, RegistryError> {
        let (r, host, c, auth) = self
            .for_image(&format!("{repository}:latest"))
            .map_err(|_| RegistryError::NotARepository(repository.to_string()))?;
        Self::ask(&host, c.list_tags(&r, &auth, None, None))
            .await?
            .map(|t| t.tags)
            .map_err(|e| RegistryError::answered(&host, e))
    }

    /// The fact for one image of one revision, asked at most every 30 s.
    async fn fact(&self, revision: &str, image: &ImageRef) -> Option<RegistryFact> {
        let tag = image.tag.as_ref()?;
        let name = format!("{}:{tag}", image.repository);
        if let Some((at, f)) = self
            .answers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(&name)
            && at.elapsed() < REUSE
        {
            return Some(RegistryFact {
                revision: revision.into(),
                ran: image.digest.clone(),
                ..f.clone()
            });
        }
        let asked_at = chrono::Utc::now();
        let now = self.resolve(&name).await;
        let f = RegistryFact {
            revision: revision.into(),
            image: name.clone(),
            ran: image.digest.clone(),
            now: now.map_err(|e| e.to_string()),
            asked_at,
        };
        self.answers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(name, (Instant::now(), f.clone()));
        Some(f)
    }
}

/// Reads each tag's digest and creation time, concurrently; a tag the
/// registry will not describe is left out.
async fn read_tags(
    registry: &Registry,
    repository: &str,
    tags: Vec<String>,
) -> Vec<(String, String, Option<chrono::DateTime<chrono::Utc>>)> {
    let asks = tags.into_iter().map(|t| async move {
        let (digest, created) = registry.tag_now(&format!("{repository}:{t}")).await.ok()?;
        Some((t, digest, created))
    });
    futures::future::join_all(asks)
        .await
        .into_iter()
        .flatten()
        .collect()
}

/// Adds the registry's facts to the History of the targets that ask for
/// them (`registry = true` in the config).
pub struct RegistryFacts {
    inner: Arc<dyn super::Backend>,
    targets: HashSet<String>,
    registry: Registry,
    /// Tags that move, never offered as a revision.
    mutable: Vec<String>,
    /// Swarm and Compose targets, whose History the registry's newest
    /// release tags complete (from the inner backend's listing).
    short_history: Mutex<HashSet<String>>,
}

impl RegistryFacts {
    pub fn new(inner: Arc<dyn super::Backend>, targets: HashSet<String>) -> RegistryFacts {
        RegistryFacts {
            inner,
            targets,
            registry: Registry::default(),
            mutable: crate::core::plan::DEFAULT_MUTABLE_TAGS
                .iter()
                .map(|s| s.to_string())
                .collect(),
            short_history: Default::default(),
        }
    }

    /// The config's mutable tags instead of the defaults.
    pub fn with_mutable(mut self, tags: Vec<String>) -> RegistryFacts {
        self.mutable = tags;
        self
    }

    /// The repository's newest release tags not already in History.
    async fn candidates(&self, h: &mut History, repo: &str, tags: &[String]) {
        let known: Vec<String> = h
            .revisions
            .iter()
            .flat_map(|r| r.images.iter())
            .filter(|i| i.repository == repo)
            .filter_map(|i| i.tag.clone())
            .collect();
        let wanted = super::registry_candidates::worth_reading(tags, &known, &self.mutable);
        let asked_at = chrono::Utc::now();
        let read = read_tags(&self.registry, repo, wanted).await;
        let offered = super::registry_candidates::revisions(repo, read);
        if offered.is_empty() {
            return;
        }
        // The registry's answer is each one's fact: what the tag is now.
        for r in &offered {
            let i = &r.images[0];
            h.facts.registry.push(RegistryFact {
                revision: r.id.clone(),
                image: format!("{}:{}", i.repository, i.tag.clone().unwrap_or_default()),
                ran: None,
                now: Ok(i.digest.clone()),
                asked_at,
            });
        }
        h.facts.not_run.extend(offered.iter().map(|r| r.id.clone()));
        let note = h
            .facts
            .history_note
            .take()
            .map(|n| format!("{n}; "))
            .unwrap_or_default();
        h.facts.history_note = Some(format!(
            "{note}{} newest release tag(s) from the registry (reg-N: never seen running here)",
            offered.len()
        ));
        h.revisions.extend(offered);
    }
}

impl Layer for RegistryFacts {
    fn inner(&self) -> &Arc<dyn super::Backend> {
        &self.inner
    }
    fn perform<'a>(
        &'a self,
        plan: &'a crate::core::plan::RollbackPlan,
        step: &'a crate::core::plan::PlanStep,
    ) -> Option<BoxFut<'a, Result<super::StepDone, BackendError>>> {
        let crate::core::plan::PlanStep::Retag { image, from, to } = step else {
            return None;
        };
        Some(Box::pin(async move {
            let summary = self.registry.retag(image, from, to).await?;
            // The workload did not change: the version stays what the
            // restart's guard expects.
            Ok(super::StepDone {
                summary,
                version: plan.built_from.clone(),
            })
        }))
    }
    fn listed(&self, targets: &[crate::core::model::TargetInfo]) {
        use crate::core::model::Kind;
        *self
            .short_history
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = targets
            .iter()
            .filter(|t| matches!(t.kind, Kind::Swarm | Kind::Compose))
            .map(|t| t.name.clone())
            .collect();
    }
    fn enrich(&self, mut h: History) -> BoxFut<'_, History> {
        Box::pin(async move {
            if !self.targets.contains(&h.target) {
                return h;
            }
            let asks: Vec<(crate::core::model::RevisionId, ImageRef)> = h
                .revisions
                .iter()
                .take(NEWEST)
                .flat_map(|r| r.images.iter().map(|i| (r.id.clone(), i.clone())))
                .collect();
            let facts = futures::future::join_all(
                asks.iter().map(|(rev, img)| self.registry.fact(rev, img)),
            )
            .await;
            // A digest "ran" only where the platform saw it run.
            let not_run = h.facts.not_run.clone();
            h.facts.registry = facts
                .into_iter()
                .flatten()
                .map(|mut f| {
                    if not_run.contains(&f.revision) {
                        f.ran = None;
                    }
                    f
                })
                .collect();
            if let Some(repo) = h
                .current()
                .and_then(|c| c.images.first())
                .map(|i| i.repository.clone())
            {
                let tags = self.registry.tags_recent(&repo).await;
                let short = self
                    .short_history
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .contains(&h.target);
                match (short, &tags) {
                    (true, Ok(t)) => self.candidates(&mut h, &repo, t).await,
                    // Said where History is read, not only in --json.
                    (_, Err(e)) => {
                        let note = h
                            .facts
                            .history_note
                            .take()
                            .map(|n| format!("{n}; "))
                            .unwrap_or_default();
                        h.facts.history_note = Some(format!(
                            "{note}REGISTRY NOT READ: {e}{}",
                            if short {
                                " — its release tags are not offered"
                            } else {
                                ""
                            }
                        ));
                    }
                    _ => {}
                }
                h.facts.retained = Some((repo.clone(), tags.map_err(|e| e.to_string())));
            }
            h
        })
    }
}
