//! `kind = "kubernetes"`: Deployments and their ReplicaSet history through
//! kube-rs. Reads and the rollback patch work on the API's raw JSON so the
//! patch is exactly kubectl's (see `kubectl.rs`); the client (kubeconfig
//! contexts, several KUBECONFIG files, in-cluster config, auth, TLS) is kube's.

mod about;
pub mod cache;
pub mod evidence;
mod health;
mod history;
pub mod kubectl;
mod reads;
mod restart;

use super::{Backend, BoxFut, Change, StepDone};
use crate::core::action::BackendError;
use crate::core::model::{Health, History, ImageRef, Kind, Progress, ProgressPhase, TargetInfo};
use crate::core::plan::{ImagePin, PlanStep, RollbackPlan};
use chrono::{DateTime, Utc};
use kubectl::Undo;
use serde_json::Value;
use std::time::Duration;

/// How old a probe answer may be for a health read (health is read on
/// every change a watch sees; the probe need not be).
const HEALTH_PROBE_REUSE: Duration = Duration::from_secs(1);

/// One Deployment target.
#[derive(Debug, Clone)]
pub struct DeployTarget {
    pub name: String,
    pub namespace: String,
    pub deployment: String,
    pub environment: String,
}

pub struct KubeBackend {
    client: kube::Client,
    /// `ctx <context> · <server>` for the header.
    location: String,
    /// The kubeconfig's user for the context, where the server cannot say
    /// who rbtui is (no SelfSubjectReview before v1.27).
    pub kubeconfig_user: Option<String>,
    /// Who the server said rbtui is, asked once (it does not change
    /// within a session, and old servers answer each ask 404 twice).
    identity: tokio::sync::OnceCell<Option<String>>,
    targets: Vec<DeployTarget>,
    /// `(namespace, label selector, environment)`: every matching Deployment is a target.
    selectors: Vec<(String, String, String)>,
    found: std::sync::Arc<std::sync::Mutex<Vec<DeployTarget>>>,
    caches: cache::Caches,
    probes: std::sync::Mutex<std::collections::HashMap<String, reads::Probe>>,
    /// Health computed from each namespace's watches, by the namespace's
    /// generation: an idle poll re-stamps it instead of recomputing.
    computed: std::sync::Mutex<HashMap<String, Computed>>,
    /// One liveness read in flight.
    probing: std::sync::Mutex<HashMap<String, Gate>>,
    /// Namespaces known to exist (asked once each).
    namespaces_found: std::sync::Mutex<std::collections::HashSet<String>>,
}

type Gate = std::sync::Arc<tokio::sync::Mutex<()>>;
/// A namespace's generation and the health computed at it, by target.
type Computed = (u64, HashMap<String, Health>);

type HashMap<K, V> = std::collections::HashMap<K, V>;

/// A failed API call, in the words an operator needs.
fn request_error(e: &kube::Error, verb: &str, what: &str) -> BackendError {
    match e {
        kube::Error::Api(s) => match s.code {
            401 => BackendError::Unauthorized(format!(
                "credentials expired or invalid (401 {}): refresh your kubeconfig login",
                s.message
            )),
            403 => BackendError::Forbidden(format!(
                "RBAC forbids `{verb}` on {what} (403): {}",
                s.message
            )),
            404 => BackendError::NotFound(format!("{what} not found (404): {}", s.message)),
            409 => BackendError::Conflict(format!("conflict (409): {}", s.message)),
            422 => BackendError::Refused(format!("rejected (422 {}): {}", s.reason, s.message)),
            c if c >= 500 => {
                BackendError::Unavailable(format!("API server error {c}: {}", s.message))
            }
            c => BackendError::Failed(format!(
                "API server refused ({c} {}): {}",
                s.reason, s.message
            )),
        },
        kube::Error::SerdeError(err) => {
            BackendError::Malformed(format!("malformed answer from the API server: {err}"))
        }
        other => BackendError::Unreachable(format!(
            "API server unreachable: {}",
            crate::backend::cause::cause(other)
        )),
    }
}

/// The revision a plan's rollback step undoes to, with its pins; `None`
/// for a plan without one (re-enable) or a revision that is no number.
fn undo_of(plan: &RollbackPlan) -> Option<(i64, &[crate::core::plan::ImagePin])> {
    plan.steps.iter().find_map(|s| match s {
        PlanStep::Rollback { to, pin, .. } => Some((to.number()?, pin.as_slice())),
        _ => None,
    })
}

fn time(v: &Value) -> Option<DateTime<Utc>> {
    v.as_str()
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map(|d| d.with_timezone(&Utc))
}

fn images(template: &Value) -> Vec<ImageRef> {
    template["spec"]["containers"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["image"].as_str())
        .map(ImageRef::parse)
        .collect()
}

fn selector(d: &Value) -> String {
    d["spec"]["selector"]["matchLabels"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
                .collect::<Vec<_>>()
                .join(",")
        })
        .unwrap_or_default()
}

impl KubeBackend {
    pub fn new(client: kube::Client, location: String, targets: Vec<DeployTarget>) -> KubeBackend {
        KubeBackend {
            client,
            location,
            kubeconfig_user: None,
            identity: Default::default(),
            targets,
            selectors: Vec::new(),
            found: Default::default(),
            caches: Default::default(),
            probes: Default::default(),
            probing: Default::default(),
            namespaces_found: Default::default(),
            computed: Default::default(),
        }
    }

    /// Adds a label selector whose matching Deployments become targets.
    pub fn with_selector(
        mut self,
        namespace: &str,
        selector: &str,
        environment: &str,
    ) -> KubeBackend {
        self.selectors
            .push((namespace.into(), selector.into(), environment.into()));
        self
    }

    /// The user entry a kubeconfig context acts as (`users[].name`), as
    /// `kubectl config view` names it.
    pub fn kubeconfig_user(context: Option<&str>) -> Option<String> {
        let kc = kube::config::Kubeconfig::read().ok()?;
        let ctx = context.map(str::to_string).or(kc.current_context.clone())?;
        let named = kc.contexts.iter().find(|c| c.name == ctx)?;
        named.context.as_ref()?.user.clone()
    }

    /// Who the API server says rbtui is (`SelfSubjectReview`, v1 then
    /// v1beta1), else the kubeconfig's user; `None` where neither is known.
    async fn identity(&self) -> Option<String> {
        self.identity
            .get_or_init(|| self.ask_identity())
            .await
            .clone()
    }

    async fn ask_identity(&self) -> Option<String> {
        for v in ["v1", "v1beta1"] {
            let body = serde_json::json!({"apiVersion": format!("authentication.k8s.io/{v}"), "kind": "SelfSubjectReview"});
            let Ok(req) = http::Request::post(format!(
                "/apis/authentication.k8s.io/{v}/selfsubjectreviews"
            ))
            .header("Content-Type", "application/json")
            .body(serde_json::to_vec(&body).unwrap_or_default()) else {
                continue;
            };
            let ans =
                tokio::time::timeout(Duration::from_secs(5), self.client.request::<Value>(req))
                    .await;
            if let Ok(Ok(a)) = ans
                && let Some(u) = a["status"]["userInfo"]["username"].as_str()
            {
                return Some(format!("Kubernetes user {u}"));
            }
        }
        self.kubeconfig_user
            .as_ref()
            .map(|u| format!("kubeconfig user {u}"))
    }

    /// A client for a kubeconfig context (default: the current one), or the
    /// in-cluster config when there is no kubeconfig.
    pub async fn connect(
        context: Option<&str>,
    ) -> Result<(kube::Client, String), crate::setup_error::SetupError> {
        use crate::setup_error::SetupError;
        let opts = kube::config::KubeConfigOptions {
            context: context.map(str::to_string),
            ..Default::default()
        };
        let (config, ctx) = match kube::Config::from_kubeconfig(&opts).await {
            Ok(c) => (
                c,
                context
                    .map(str::to_string)
                    .unwrap_or_else(|| "current-context".into()),
            ),
            Err(kerr) => match kube::Config::incluster() {
                Ok(c) => (c, "in-cluster".into()),
                Err(_) => return Err(SetupError::NoKubeconfig(kerr.to_string())),
            },
        };
        let server = config.cluster_url.to_string();
        // kube retries 429/503/504 up to 15 times with backoff: an outage
        // would look like a slow answer for minutes, and a mutation's fate
        // would be decided out of sight. rbtui says what the server answered
        // and decides itself (Backend::settle).
        let mut config = config;
        config.default_retry = false;
        let client = kube::Client::try_from(config)
            .map_err(|e| SetupError::Client(format!("cannot build the Kubernetes client: {e}")))?;
        Ok((
            client,
            format!("ctx {ctx} · {}", server.trim_end_matches('/')),
        ))
    }

    fn target(&self, name: &str) -> Result<DeployTarget, BackendError> {
        self.all()
            .into_iter()
            .find(|t| t.name == name)
            .ok_or_else(|| BackendError::NotFound(format!("unknown kubernetes target {name}")))
    }

    fn all(&self) -> Vec<DeployTarget> {
        let mut v = self.targets.clone();
        v.extend(
            self.found
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .iter()
                .cloned(),
        );
        v
    }

    async fn get(&self, path: &str, verb: &str, what: &str) -> Result<Value, BackendError> {
        let req = http::Request::get(path)
            .body(Vec::new())
            .map_err(|e| BackendError::Failed(e.to_string()))?;
        tokio::time::timeout(Duration::from_secs(15), self.client.request::<Value>(req))
            .await
            .map_err(|_| {
                BackendError::Timeout(format!(
                    "{what}: the API server did not answer within 15s (timeout)"
                ))
            })?
            .map_err(|e| request_error(&e, verb, what))
    }

    /// A read whose absence is a fact of the set-up, not an outage: a 403
    /// (RBAC does not grant it) or 404 (API not served) is `None`; anything
    /// else (timeout, 5xx, unreachable) is an error, so a partial read
    /// never passes for a whole one.
    async fn get_optional(
        &self,
        path: &str,
        verb: &str,
        what: &str,
    ) -> Result<Option<Value>, BackendError> {
        let req = http::Request::get(path)
            .body(Vec::new())
            .map_err(|e| BackendError::Failed(e.to_string()))?;
        match tokio::time::timeout(Duration::from_secs(15), self.client.request::<Value>(req)).await
        {
            Err(_) => Err(BackendError::Timeout(format!(
                "{what}: the API server did not answer within 15s (timeout)"
            ))),
            Ok(Ok(v)) => Ok(Some(v)),
            Ok(Err(kube::Error::Api(s))) if s.code == 403 || s.code == 404 => Ok(None),
            Ok(Err(e)) => Err(request_error(&e, verb, what)),
        }
    }

    /// The HorizontalPodAutoscaler scaling the Deployment, in words: the
    /// rollback leaves its bounds (and so the replica count) to it. `None`
    /// when none targets it, or RBAC may not read them.
    async fn autoscaler(&self, t: &DeployTarget) -> Result<Option<String>, BackendError> {
        let path = format!(
            "/apis/autoscaling/v2/namespaces/{}/horizontalpodautoscalers",
            t.namespace
        );
        let Some(list) = self
            .get_optional(&path, "list", "horizontalpodautoscalers.autoscaling")
            .await?
        else {
            return Ok(None);
        };
        Ok(list["items"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|h| {
                let r = &h["spec"]["scaleTargetRef"];
                r["kind"] == "Deployment" && r["name"] == t.deployment.as_str()
            })
            .map(|h| {
                format!(
                    "(HorizontalPodAutoscaler {} scales it between {} and {} replicas; the rollback does not change that)",
                    h["metadata"]["name"].as_str().unwrap_or("?"),
                    h["spec"]["minReplicas"].as_i64().unwrap_or(1),
                    h["spec"]["maxReplicas"].as_i64().unwrap_or(0)
                )
            }))
    }

    fn deploy_path(t: &DeployTarget) -> String {
        format!(
            "/apis/apps/v1/namespaces/{}/deployments/{}",
            t.namespace, t.deployment
        )
    }

    fn what(t: &DeployTarget) -> String {
        format!(
            "deployments.apps \"{}\" in namespace {}",
            t.deployment, t.namespace
        )
    }

    /// The Deployment; a 404 says whether the namespace itself is missing
    /// (a typo in the config reads differently from a deleted Deployment).
    async fn deployment(&self, t: &DeployTarget) -> Result<Value, BackendError> {
        match self.get(&Self::deploy_path(t), "get", &Self::what(t)).await {
            Err(e @ BackendError::NotFound(_)) => {
                let ns = format!("/api/v1/namespaces/{}", t.namespace);
                match self.get_optional(&ns, "get", "namespaces").await {
                    Ok(None) => Err(BackendError::NotFound(format!(
                        "namespace {} not found on this cluster (check `namespace` in the config, or the context)",
                        t.namespace
                    ))),
                    _ => Err(e),
                }
            }
            r => r,
        }
    }

    /// The namespace's health as last computed, if its watches saw nothing
    /// since (the same count of events): every target of it, or None.
    fn unchanged(
        &self,
        ns: &str,
        generation: Option<u64>,
        mine: &[&DeployTarget],
    ) -> Option<Vec<Health>> {
        self.computed
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(ns)
            .and_then(|(g, hs)| {
                (Some(*g) == generation)
                    .then(|| {
                        mine.iter()
                            .map(|t| hs.get(&t.name).cloned())
                            .collect::<Option<Vec<_>>>()
                    })
                    .flatten()
            })
    }

    /// Keeps the namespace's health computed under this count of events,
    /// when every target of it was in the watches.
    fn remember(&self, ns: &str, g: u64, mine: &[&DeployTarget], hs: &[Option<Health>]) {
        if !hs.iter().all(Option::is_some) {
            return;
        }
        let keep = mine
            .iter()
            .zip(hs)
            .filter_map(|(t, h)| Some((t.name.clone(), h.clone()?)))
            .collect();
        self.computed
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(ns.to_string(), (g, keep));
    }

    /// How many objects the shared watches hold, and their size as JSON.
    pub fn watched_footprint(&self) -> (usize, usize) {
        self.caches.footprint()
    }

    /// Whether the target's namespace is fed by synced watches.
    pub fn watching(&self, target: &str) -> bool {
        self.target(target).is_ok_and(|t| {
            matches!(
                self.caches.with(&t.namespace, |_| ()),
                cache::Ready::Ready(())
            )
        })
    }

    /// The rollback: kubectl's patch with a `test` of the resourceVersion the
    /// plan was built from. `dry_run` sends `?dryRun=All` (rehearsal previews).
    /// What the rollback needs, asked as the configured identity with a
    /// `SelfSubjectAccessReview` each: patch the Deployment (the undo), and
    /// read its ReplicaSets (the history it restores from).
    async fn access_review(
        &self,
        t: &DeployTarget,
    ) -> Result<crate::core::action::Rights, BackendError> {
        let wants = [
            ("patch", "apps", "deployments", Some(t.deployment.as_str())),
            ("get", "apps", "deployments", Some(t.deployment.as_str())),
            ("list", "apps", "replicasets", None),
        ];
        let mut out = Vec::new();
        for (verb, group, resource, name) in wants {
            let mut attrs = serde_json::json!({
                "namespace": t.namespace, "verb": verb, "group": group, "resource": resource
            });
            if let Some(n) = name {
                attrs["name"] = serde_json::json!(n);
            }
            let body = serde_json::json!({
                "apiVersion": "authorization.k8s.io/v1",
                "kind": "SelfSubjectAccessReview",
                "spec": {"resourceAttributes": attrs}
            });
            let req = http::Request::post("/apis/authorization.k8s.io/v1/selfsubjectaccessreviews")
                .header("Content-Type", "application/json")
                .body(serde_json::to_vec(&body).unwrap_or_default())
                .map_err(|e| BackendError::Failed(e.to_string()))?;
            let what = format!(
                "{verb} {resource}.{group}{} in {}",
                name.map(|n| format!("/{n}")).unwrap_or_default(),
                t.namespace
            );
            let ans =
                tokio::time::timeout(Duration::from_secs(15), self.client.request::<Value>(req))
                    .await
                    .map_err(|_| {
                        BackendError::Timeout(
                            "the API server did not answer within 15s (timeout)".to_string(),
                        )
                    })?
                    .map_err(|e| request_error(&e, "create", "selfsubjectaccessreviews"))?;
            let allowed = ans["status"]["allowed"] == true;
            let why = ans["status"]["reason"]
                .as_str()
                .filter(|r| !r.is_empty() && !allowed)
                .map(|r| format!(" ({r})"))
                .unwrap_or_default();
            out.push((allowed, format!("{what}{why}")));
        }
        Ok(crate::core::action::Rights {
            identity: self.identity().await,
            each: out,
        })
    }

    pub async fn undo(
        &self,
        plan: &RollbackPlan,
        to: i64,
        pins: &[ImagePin],
        dry_run: bool,
    ) -> Result<StepDone, BackendError> {
        let t = &self.target(&plan.target.name)?;
        let d = self
            .deployment(t)
            .await
            .map_err(|e| BackendError::NotSent(e.to_string()))?;
        let rv = d["metadata"]["resourceVersion"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        if rv != plan.built_from {
            return Err(BackendError::Stale {
                built_from: plan.built_from.clone(),
                now: rv,
            });
        }
        let rss = self
            .replicasets_now(t, &d)
            .await
            .map_err(|e| BackendError::NotSent(e.to_string()))?;
        let patch = match kubectl::undo(&d, &rss, to, &plan.built_from)? {
            Undo::Skipped(m) => {
                return Ok(StepDone {
                    summary: format!("deployment.apps/{} {m}", t.deployment),
                    version: rv,
                });
            }
            Undo::Patch(p) => kubectl::pinned(p, pins),
        };
        let path = format!(
            "{}{}",
            Self::deploy_path(t),
            if dry_run { "?dryRun=All" } else { "" }
        );
        let after = self.patch_guarded(t, plan, &path, &patch).await?;
        let v = after["metadata"]["resourceVersion"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let what = if dry_run {
            "server-side dry run accepted (nothing persisted)"
        } else {
            "rolled back"
        };
        let pinned = if pins.is_empty() {
            String::new()
        } else {
            format!(
                " with images pinned: {}",
                pins.iter()
                    .map(|p| format!("{} -> {}", p.from, p.to))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        };
        Ok(StepDone {
            summary: format!(
                "deployment.apps/{} {what} to revision {to}{pinned} (JSON patch, resourceVersion {rv} tested)",
                t.deployment
            ),
            version: v,
        })
    }

    /// Sends a JSON patch whose first op tests the resourceVersion the plan
    /// was built from: a failed test is the Deployment having moved
    /// (stale); a lost answer is an unknown outcome, never a failure.
    async fn patch_guarded(
        &self,
        t: &DeployTarget,
        plan: &RollbackPlan,
        path: &str,
        patch: &Value,
    ) -> Result<Value, BackendError> {
        let req = http::Request::patch(path)
            .header("Content-Type", "application/json-patch+json")
            .body(serde_json::to_vec(patch).unwrap_or_default())
            .map_err(|e| BackendError::Failed(e.to_string()))?;
        match self.client.request::<Value>(req).await {
            Ok(after) => Ok(after),
            // A failed `test` op is a 422 with empty details: the Deployment moved.
            Err(kube::Error::Api(s))
                if s.code == 422 && s.details.as_ref().is_none_or(|d| d.causes.is_empty()) =>
            {
                let now = self
                    .deployment(t)
                    .await
                    .ok()
                    .and_then(|d| {
                        d["metadata"]["resourceVersion"]
                            .as_str()
                            .map(str::to_string)
                    })
                    .unwrap_or_else(|| "?".into());
                Err(BackendError::Stale {
                    built_from: plan.built_from.clone(),
                    now,
                })
            }
            Err(e) => {
                let m = request_error(&e, "patch", &Self::what(t));
                // The patch left: a 5xx, a reset or an unreadable answer
                // says nothing about whether it was applied.
                Err(match &e {
                    kube::Error::Api(s) if s.code < 500 => m,
                    _ => BackendError::OutcomeUnknown(m.to_string()),
                })
            }
        }
    }

    async fn read_progress(&self, plan: &RollbackPlan) -> Result<Progress, BackendError> {
        let t = &self.target(&plan.target.name)?;
        // From the watch when it is live and the server answers; a GET
        // otherwise. An unanswered probe is an error here, which the core
        // reads as "outcome unknown" until the API answers again.
        let d = (*self.sources(t, Duration::ZERO).await?.d).clone();
        let n = |k: &str| d["status"][k].as_u64().unwrap_or(0) as u32;
        let desired = d["spec"]["replicas"].as_u64().unwrap_or(1) as u32;
        let (updated, ready, replicas) =
            (n("updatedReplicas"), n("availableReplicas"), n("replicas"));
        let p = |phase, message| Progress {
            unproven: None,
            phase,
            message,
            desired,
            updated,
            ready,
            old: replicas.saturating_sub(updated),
        };
        // A re-tag converges only on pods that run the re-tagged build.
        let retagged = plan.steps.iter().find_map(|s| match s {
            PlanStep::Retag { to, .. } => Some(to.clone()),
            _ => None,
        });
        Ok(match kubectl::rollout_status(&d) {
            Ok((m, true)) if let Some(digest) = retagged => {
                let off = self.off_build(plan, &digest).await?;
                match off.first() {
                    None => p(
                        ProgressPhase::Converged,
                        format!(
                            "{m}; every ready pod runs {} (imageID)",
                            crate::core::model::short_digest(&digest)
                        ),
                    ),
                    Some((pod, id)) => p(
                        ProgressPhase::Failed,
                        format!(
                            "{m}, but pod {pod} runs {id}, not the re-tagged {}: the node kept its cached image (imagePullPolicy IfNotPresent?)",
                            crate::core::model::short_digest(&digest)
                        ),
                    ),
                }
            }
            Ok((m, true)) => p(ProgressPhase::Converged, m),
            Ok((m, false)) => p(ProgressPhase::Progressing, m),
            Err(m) => p(
                ProgressPhase::Failed,
                format!("{m} (ProgressDeadlineExceeded)"),
            ),
        })
    }
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

impl Backend for KubeBackend {
    fn name(&self) -> &str {
        "kubernetes"
    }
    fn targets(&self) -> BoxFut<'_, Result<Vec<TargetInfo>, BackendError>> {
        Box::pin(async move {
            let mut found = Vec::new();
            for (ns, sel, env) in &self.selectors {
                let l = self
                    .get(
                        &format!(
                            "/apis/apps/v1/namespaces/{ns}/deployments?labelSelector={}",
                            urlencode(sel)
                        ),
                        "list",
                        &format!("deployments in namespace {ns}"),
                    )
                    .await?;
                for d in l["items"].as_array().into_iter().flatten() {
                    let name = d["metadata"]["name"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string();
                    found.push(DeployTarget {
                        name: name.clone(),
                        namespace: ns.clone(),
                        deployment: name,
                        environment: env.clone(),
                    });
                }
            }
            *self
                .found
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner) = found;
            Ok(self
                .all()
                .iter()
                .map(|t| TargetInfo {
                    name: t.name.clone(),
                    kind: Kind::Kubernetes,
                    environment: t.environment.clone(),
                    location: format!("{} · ns {}", self.location, t.namespace),
                    object: Some(t.deployment.clone()),
                    simulated: false,
                })
                .collect())
        })
    }
    fn health_all(&self) -> BoxFut<'_, Vec<Result<Health, (String, BackendError)>>> {
        Box::pin(async move {
            let all = self.all();
            // The first time, give the shared watches a moment to list:
            // one LIST per resource and namespace instead of four per target.
            let mut spaces: Vec<String> = all.iter().map(|t| t.namespace.clone()).collect();
            spaces.sort();
            spaces.dedup();
            for ns in &spaces {
                self.caches.start(&self.client, ns);
            }
            self.caches.settled(&spaces, Duration::from_secs(3)).await;
            // One probe per namespace, together; then one look at each
            // namespace's watches for all of its targets.
            let stamps = futures::future::join_all(
                spaces.iter().map(|ns| self.probe(ns, HEALTH_PROBE_REUSE)),
            )
            .await;
            let mut out: std::collections::HashMap<&str, Result<Health, BackendError>> =
                Default::default();
            let mut direct = Vec::new();
            for (ns, stamp) in spaces.iter().zip(stamps) {
                let mine: Vec<&DeployTarget> = all.iter().filter(|t| &t.namespace == ns).collect();
                let stamp = match stamp {
                    Ok(s) => s,
                    Err(e) => {
                        out.extend(mine.iter().map(|t| (t.name.as_str(), Err(e.clone()))));
                        continue;
                    }
                };
                // Unchanged since the last look: the same health, newly stamped.
                let generation = self.caches.generation(ns);
                let known = self.unchanged(ns, generation, &mine);
                if let Some(hs) = known {
                    for (t, mut h) in mine.iter().zip(hs) {
                        h.observed_at = stamp;
                        out.insert(t.name.as_str(), Ok(h));
                    }
                    continue;
                }
                let looked = self.caches.with(ns, |v| {
                    let ix = reads::Index::new(v);
                    mine.iter()
                        .map(|t| ix.sources(t, stamp).map(|s| health::health_from(t, &s)))
                        .collect::<Vec<_>>()
                });
                if let (Some(g), cache::Ready::Ready(hs)) = (generation, &looked) {
                    self.remember(ns, g, &mine, hs);
                }
                match looked {
                    cache::Ready::Ready(hs) => {
                        for (t, h) in mine.iter().zip(hs) {
                            match h {
                                Some(h) => {
                                    out.insert(t.name.as_str(), Ok(h));
                                }
                                // Missing from the watch: a direct read says why.
                                None => direct.push(*t),
                            }
                        }
                    }
                    // The namespace's probe answered: a failing watch's error
                    // is older than that answer; read directly until the
                    // watch is back.
                    cache::Ready::Failing(_) | cache::Ready::NotYet => direct.extend(mine),
                }
            }
            let reads = direct.iter().map(|t| async move {
                let h = self
                    .sources(t, HEALTH_PROBE_REUSE)
                    .await
                    .map(|s| health::health_from(t, &s));
                (t.name.as_str(), h)
            });
            out.extend(futures::future::join_all(reads).await);
            all.iter()
                .map(|t| match out.remove(t.name.as_str()) {
                    Some(Ok(h)) => Ok(h),
                    Some(Err(e)) => Err((t.name.clone(), e)),
                    None => Err((t.name.clone(), BackendError::Failed("not read".into()))),
                })
                .collect()
        })
    }
    fn health<'a>(&'a self, target: &'a str) -> BoxFut<'a, Result<Health, BackendError>> {
        Box::pin(async move {
            let t = self.target(target)?;
            let s = self.sources(&t, Duration::ZERO).await?;
            Ok(health::health_from(&t, &s))
        })
    }
    fn history<'a>(&'a self, target: &'a str) -> BoxFut<'a, Result<History, BackendError>> {
        Box::pin(async move {
            // A probe sent now: a plan is built only from a read sent after
            // it was asked for.
            let t = self.target(target)?;
            let s = self.sources(&t, Duration::ZERO).await?;
            Ok(history::history_from(&t, &s))
        })
    }
    fn subscribe(&self, tx: tokio::sync::mpsc::UnboundedSender<Change>) {
        let (seen_tx, mut seen) = tokio::sync::mpsc::unbounded_channel::<cache::Seen>();
        self.caches.subscribe(seen_tx);
        let (configured, found) = (self.targets.clone(), self.found.clone());
        let task = tokio::spawn(async move {
            while let Some(s) = seen.recv().await {
                if tx.send(Change::Health).is_err() {
                    return;
                }
                // A new ReplicaSet (a revision) or a moved CURRENT.
                let deployment = match s.res {
                    cache::Res::Deployments => Some(s.name.as_str()),
                    cache::Res::ReplicaSets => s.owner.as_deref(),
                    _ => None,
                };
                let found = found
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .clone();
                for t in configured.iter().chain(&found).filter(|t| {
                    t.namespace == s.namespace && deployment == Some(t.deployment.as_str())
                }) {
                    let _ = tx.send(Change::History(t.name.clone()));
                }
            }
        });
        self.caches.own(task.abort_handle());
    }
    fn execute<'a>(
        &'a self,
        plan: &'a RollbackPlan,
        step: &'a PlanStep,
    ) -> BoxFut<'a, Result<StepDone, BackendError>> {
        Box::pin(async move {
            if *step == PlanStep::Restart {
                return self.restart(plan).await;
            }
            let PlanStep::Rollback { to, pin, .. } = step else {
                return Err(BackendError::Failed(format!(
                    "{step:?} does not apply to a Deployment"
                )));
            };
            let n = to
                .number()
                .ok_or_else(|| BackendError::Failed(format!("revision {to} is not a number")))?;
            self.undo(plan, n, pin, false).await
        })
    }
    fn progress<'a>(
        &'a self,
        plan: &'a RollbackPlan,
    ) -> BoxFut<'a, Result<Progress, BackendError>> {
        Box::pin(self.read_progress(plan))
    }
    fn poll_interval(&self) -> Duration {
        Duration::from_secs(2)
    }
    fn evidence<'a>(
        &'a self,
        target: &'a str,
    ) -> BoxFut<'a, Option<Result<Vec<crate::core::model::EvidenceFile>, BackendError>>> {
        Box::pin(async move { Some(self.evidence_of(target).await) })
    }
    fn changes<'a>(
        &'a self,
        plan: &'a RollbackPlan,
    ) -> BoxFut<'a, Option<Result<String, BackendError>>> {
        Box::pin(async move {
            let (n, pin) = undo_of(plan)?;
            Some(
                async {
                    let t = self.target(&plan.target.name)?;
                    let d = self.deployment(&t).await?;
                    let rss = self.replicasets_now(&t, &d).await?;
                    let diff = kubectl::template_change(&d, &rss, n, pin)?;
                    Ok(match self.autoscaler(&t).await? {
                        Some(h) => format!("{diff}\n{h}"),
                        None => diff,
                    })
                }
                .await,
            )
        })
    }
    fn about<'a>(
        &'a self,
        _t: &'a str,
    ) -> BoxFut<'a, Option<Result<crate::backend::About, BackendError>>> {
        Box::pin(async move { Some(self.about_here().await) })
    }
    fn permissions<'a>(
        &'a self,
        plan: &'a RollbackPlan,
    ) -> BoxFut<'a, Option<Result<crate::core::action::Rights, BackendError>>> {
        Box::pin(async move {
            let t = match self.target(&plan.target.name) {
                Ok(t) => t,
                Err(e) => return Some(Err(e)),
            };
            Some(self.access_review(&t).await)
        })
    }
    fn preview<'a>(
        &'a self,
        plan: &'a RollbackPlan,
    ) -> BoxFut<'a, Option<Result<String, BackendError>>> {
        Box::pin(async move {
            let (n, pin) = undo_of(plan)?;
            Some(self.undo(plan, n, pin, true).await.map(|d| d.summary))
        })
    }
}

/// The container statuses of a ReplicaSet's pods (by pod-template-hash).
fn statuses_of<'a>(pods: &'a [Value], hash: &'a str) -> impl Iterator<Item = &'a Value> {
    pods.iter()
        .filter(move |p| p["metadata"]["labels"][kubectl::HASH_LABEL] == hash)
        .flat_map(|p| {
            p["status"]["containerStatuses"]
                .as_array()
                .into_iter()
                .flatten()
        })
}

/// Whether a ReplicaSet's pods crash-looped: a pod of it still waiting in
/// CrashLoopBackOff, or kubelet's BackOff warnings for its pods (events
/// outlive the pods a rollback scaled away, for about an hour).
pub fn crash_looped(rs: &Value, pods: &[Value], events: &Value) -> Option<String> {
    let hash = rs["metadata"]["labels"][kubectl::HASH_LABEL].as_str()?;
    let name = rs["metadata"]["name"].as_str()?;
    let looping = statuses_of(pods, hash)
        .filter(|cs| cs["state"]["waiting"]["reason"] == "CrashLoopBackOff")
        .count();
    if looping > 0 {
        return Some(format!(
            "{looping} container(s) of ReplicaSet {name} are in CrashLoopBackOff"
        ));
    }
    let prefix = format!("{name}-");
    let backoffs: Vec<&Value> = events["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["reason"] == "BackOff" && e["involvedObject"]["kind"] == "Pod")
        .filter(|e| {
            e["involvedObject"]["name"]
                .as_str()
                .is_some_and(|n| n.starts_with(&prefix))
        })
        .collect();
    let last = backoffs
        .iter()
        .filter_map(|e| e["lastTimestamp"].as_str().or(e["eventTime"].as_str()))
        .max()?;
    Some(format!(
        "pods of ReplicaSet {name} crash-looped ({} BackOff warning(s), last {last}: {})",
        backoffs.len(),
        backoffs[0]["message"].as_str().unwrap_or("").trim()
    ))
}

#[cfg(test)]
mod crash_tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_replicaset_whose_pods_crash_looped_is_bad_even_after_they_are_gone() {
        let rs =
            json!({"metadata": {"name": "checkout-7d9f", "labels": {"pod-template-hash": "7d9f"}}});
        let pod = |reason: &str| {
            json!({
                "metadata": {"labels": {"pod-template-hash": "7d9f"}},
                "status": {"containerStatuses": [{"state": {"waiting": {"reason": reason}}}]}
            })
        };
        let none = json!({"items": []});
        assert!(
            crash_looped(&rs, &[pod("CrashLoopBackOff")], &none)
                .unwrap()
                .contains("CrashLoopBackOff")
        );
        assert_eq!(crash_looped(&rs, &[pod("ContainerCreating")], &none), None);
        // Scaled away by a rollback: only kubelet's events remain.
        let events = json!({"items": [
            {"reason": "BackOff", "involvedObject": {"kind": "Pod", "name": "checkout-7d9f-x2k"},
             "lastTimestamp": "2026-11-22T02:58:00Z", "message": "Back-off restarting failed container app"},
            {"reason": "BackOff", "involvedObject": {"kind": "Pod", "name": "checkout-5c6b-aa1"},
             "lastTimestamp": "2026-11-22T02:59:00Z", "message": "other revision"}
        ]});
        let w = crash_looped(&rs, &[], &events).unwrap();
        assert!(
            w.contains("1 BackOff warning(s), last 2026-11-22T02:58:00Z"),
            "{w}"
        );
    }
}
