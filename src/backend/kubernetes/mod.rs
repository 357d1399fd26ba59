//! `kind = "kubernetes"`: Deployments and their ReplicaSet history through
//! kube-rs. Reads and the rollback patch work on the API's raw JSON so the
//! patch is exactly kubectl's (see `kubectl.rs`); the client (kubeconfig
//! contexts, several KUBECONFIG files, in-cluster config, auth, TLS) is kube's.

pub mod kubectl;
pub mod watch;

use super::git_migrations::{NAMED_TAG_PATTERNS, sha_from_images};
use super::{Backend, BoxFut, StepDone};
use crate::core::action::ExecError;
use crate::core::model::{
    Health, History, ImageRef, Kind, Progress, ProgressPhase, Revision, TargetFacts, TargetInfo,
};
use crate::core::plan::{PlanStep, RollbackPlan};
use chrono::{DateTime, Utc};
use kubectl::Undo;
use serde_json::Value;
use std::time::Duration;

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
    targets: Vec<DeployTarget>,
    /// `(namespace, label selector, environment)`: every matching Deployment is a target.
    selectors: Vec<(String, String, String)>,
    found: std::sync::Mutex<Vec<DeployTarget>>,
    watches: std::sync::Arc<watch::Watches>,
}

/// A failed API call, in the words an operator needs.
fn describe(e: &kube::Error, verb: &str, what: &str) -> String {
    match e {
        kube::Error::Api(s) => match s.code {
            401 => format!(
                "credentials expired or invalid (401 {}): refresh your kubeconfig login",
                s.message
            ),
            403 => format!("RBAC forbids `{verb}` on {what} (403): {}", s.message),
            404 => format!("{what} not found (404): {}", s.message),
            409 => format!("conflict (409): {}", s.message),
            422 => format!("rejected (422 {}): {}", s.reason, s.message),
            c if c >= 500 => format!("API server error {c}: {}", s.message),
            c => format!("API server refused ({c} {}): {}", s.reason, s.message),
        },
        kube::Error::SerdeError(err) => format!("malformed answer from the API server: {err}"),
        other => {
            let mut m = other.to_string();
            let mut src = std::error::Error::source(other);
            while let Some(x) = src {
                m.push_str(": ");
                m.push_str(&x.to_string());
                src = x.source();
            }
            format!("API server unreachable: {m}")
        }
    }
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
            targets,
            selectors: Vec::new(),
            found: std::sync::Mutex::new(Vec::new()),
            watches: Default::default(),
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

    /// A client for a kubeconfig context (default: the current one), or the
    /// in-cluster config when there is no kubeconfig.
    pub async fn connect(context: Option<&str>) -> Result<(kube::Client, String), String> {
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
                Err(_) => return Err(format!("no usable kubeconfig or in-cluster config: {kerr}")),
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
            .map_err(|e| format!("cannot build the Kubernetes client: {e}"))?;
        Ok((
            client,
            format!("ctx {ctx} · {}", server.trim_end_matches('/')),
        ))
    }

    fn target(&self, name: &str) -> Result<DeployTarget, String> {
        self.all()
            .into_iter()
            .find(|t| t.name == name)
            .ok_or_else(|| format!("unknown kubernetes target {name}"))
    }

    fn all(&self) -> Vec<DeployTarget> {
        let mut v = self.targets.clone();
        v.extend(self.found.lock().unwrap().iter().cloned());
        v
    }

    async fn get(&self, path: &str, verb: &str, what: &str) -> Result<Value, String> {
        let req = http::Request::get(path)
            .body(Vec::new())
            .map_err(|e| e.to_string())?;
        tokio::time::timeout(Duration::from_secs(15), self.client.request::<Value>(req))
            .await
            .map_err(|_| format!("{what}: the API server did not answer within 15s (timeout)"))?
            .map_err(|e| describe(&e, verb, what))
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
    ) -> Result<Option<Value>, String> {
        let req = http::Request::get(path)
            .body(Vec::new())
            .map_err(|e| e.to_string())?;
        match tokio::time::timeout(Duration::from_secs(15), self.client.request::<Value>(req)).await
        {
            Err(_) => Err(format!(
                "{what}: the API server did not answer within 15s (timeout)"
            )),
            Ok(Ok(v)) => Ok(Some(v)),
            Ok(Err(kube::Error::Api(s))) if s.code == 403 || s.code == 404 => Ok(None),
            Ok(Err(e)) => Err(describe(&e, verb, what)),
        }
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
    async fn deployment(&self, t: &DeployTarget) -> Result<Value, String> {
        match self.get(&Self::deploy_path(t), "get", &Self::what(t)).await {
            Err(e) if e.contains("not found (404)") => {
                let ns = format!("/api/v1/namespaces/{}", t.namespace);
                match self.get_optional(&ns, "get", "namespaces").await {
                    Ok(None) => Err(format!(
                        "namespace {} not found on this cluster (check `namespace` in the config, or the context)",
                        t.namespace
                    )),
                    _ => Err(e),
                }
            }
            r => r,
        }
    }

    async fn replicasets(&self, t: &DeployTarget, d: &Value) -> Result<Vec<Value>, String> {
        let path = format!(
            "/apis/apps/v1/namespaces/{}/replicasets?labelSelector={}",
            t.namespace,
            urlencode(&selector(d))
        );
        let l = self
            .get(
                &path,
                "list",
                &format!("replicasets in namespace {}", t.namespace),
            )
            .await?;
        Ok(l["items"].as_array().cloned().unwrap_or_default())
    }

    async fn pods(&self, t: &DeployTarget, d: &Value) -> Result<Vec<Value>, String> {
        let path = format!(
            "/api/v1/namespaces/{}/pods?labelSelector={}",
            t.namespace,
            urlencode(&selector(d))
        );
        let l = self
            .get(&path, "list", &format!("pods in namespace {}", t.namespace))
            .await?;
        Ok(l["items"].as_array().cloned().unwrap_or_default())
    }

    /// Ready endpoints of the Service named like the Deployment; None when
    /// there is no such Service or they may not be read (nothing to judge,
    /// not "zero").
    async fn ready_endpoints(&self, t: &DeployTarget) -> Result<Option<u32>, String> {
        let path = format!(
            "/apis/discovery.k8s.io/v1/namespaces/{}/endpointslices?labelSelector={}",
            t.namespace,
            urlencode(&format!("kubernetes.io/service-name={}", t.deployment))
        );
        let Some(l) = self.get_optional(&path, "list", "endpointslices").await? else {
            return Ok(None);
        };
        let Some(slices) = l["items"].as_array() else {
            return Err(
                "malformed answer from the API server: endpointslices without items".into(),
            );
        };
        if slices.is_empty() {
            return Ok(None);
        }
        Ok(Some(
            slices
                .iter()
                .flat_map(|s| s["endpoints"].as_array().cloned().unwrap_or_default())
                .filter(|e| e["conditions"]["ready"] == true)
                .count() as u32,
        ))
    }

    /// Warning events in the namespace (None: events are not readable).
    async fn warning_events(&self, t: &DeployTarget) -> Result<Option<Value>, String> {
        let path = format!(
            "/api/v1/namespaces/{}/events?fieldSelector={}",
            t.namespace,
            urlencode("type=Warning")
        );
        self.get_optional(&path, "list", "events").await
    }

    /// Recent Warning events of the Deployment, its ReplicaSets and pods.
    async fn warnings(&self, t: &DeployTarget) -> Result<Vec<String>, String> {
        let Some(l) = self.warning_events(t).await? else {
            return Ok(vec![]);
        };
        let prefix = format!("{}-", t.deployment);
        let mut evs: Vec<&Value> = l["items"]
            .as_array()
            .into_iter()
            .flatten()
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
        Ok(evs
            .iter()
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
            .collect())
    }

    /// Whether the target's Deployment and pods are fed by live watches.
    pub fn watching(&self, target: &str) -> bool {
        self.watches.synced(target)
    }

    async fn read_health(&self, t: &DeployTarget) -> Result<Health, String> {
        // The answer's age is the platform's: stamped when the direct reads
        // below were sent, and only if every one of them answered. A watch
        // that stays open while the server stops answering cannot make old
        // objects look fresh.
        let asked = Utc::now();
        // Watches keep the Deployment and its pods current; GET only until they sync.
        let (d, pods) = match self.watches.snapshot(&t.name) {
            Some(x) => x,
            None => {
                let d = self.deployment(t).await?;
                let pods = self.pods(t, &d).await?;
                self.watches.start(&self.client, t, &selector(&d));
                (d, pods)
            }
        };
        let (endpoints, warnings) = tokio::try_join!(self.ready_endpoints(t), self.warnings(t))?;
        let n = |k: &str| d["status"][k].as_u64().unwrap_or(0) as u32;
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
        let cond = |ty: &str| {
            d["status"]["conditions"]
                .as_array()
                .and_then(|c| c.iter().find(|c| c["type"] == ty))
                .cloned()
        };
        let mut msg = why.into_iter().take(3).collect::<Vec<_>>();
        for ty in ["Available", "Progressing"] {
            if let Some(c) = cond(ty).filter(|c| c["status"] != "True") {
                msg.push(format!(
                    "{ty}={} {}",
                    c["status"].as_str().unwrap_or("?"),
                    c["reason"].as_str().unwrap_or("")
                ));
            }
        }
        // Verification needs every ready pod on the template's images, not
        // just the Deployment's counters.
        let want: Vec<String> = images(&d["spec"]["template"])
            .iter()
            .map(|i| i.full())
            .collect();
        let live: Vec<&Value> = pods
            .iter()
            .filter(|p| p["metadata"]["deletionTimestamp"].is_null())
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
        msg.extend(warnings);
        let stuck = cond("Progressing").is_some_and(|c| c["reason"] == "ProgressDeadlineExceeded");
        // Paused is its own state, not a failing rollout.
        if d["spec"]["paused"] == true {
            msg.push(
                "paused: resume it (kubectl rollout resume) to roll out, or to roll back".into(),
            );
        }
        Ok(Health {
            target: t.name.clone(),
            desired: d["spec"]["replicas"].as_u64().unwrap_or(1) as u32,
            // As kubectl counts: old pods that are ready are ready.
            ready: n("readyReplicas"),
            ready_on_template: (!live.is_empty()).then_some(ready_on_template),
            updated: n("updatedReplicas"),
            crashlooping: bad,
            restarts,
            endpoints,
            error_rate: None,
            latency_p95_ms: None,
            latency_baseline_ms: None,
            probe_ok: None,
            rollout_stuck: stuck,
            revision: kubectl::annotation(&d, kubectl::REVISION)
                .unwrap_or("?")
                .to_string(),
            images: images(&d["spec"]["template"]),
            message: (!msg.is_empty()).then(|| msg.join("; ")),
            observed_at: asked,
            signals: Vec::new(),
        })
    }

    async fn read_history(&self, t: &DeployTarget) -> Result<History, String> {
        // Stamped when asked: an answer is at least this fresh.
        let asked = Utc::now();
        let d = self.deployment(t).await?;
        let rss = self.replicasets(t, &d).await?;
        let pods = self.pods(t, &d).await.unwrap_or_default();
        let current =
            kubectl::annotation(&d, kubectl::REVISION).and_then(|r| r.parse::<i64>().ok());
        let hist = kubectl::owned_history(&d, &rss);
        let mut warnings = Vec::new();
        let mut revisions: Vec<Revision> = hist
            .iter()
            .rev()
            .map(|(rev, rs)| {
                let hash = rs["metadata"]["labels"][kubectl::HASH_LABEL]
                    .as_str()
                    .unwrap_or_default();
                // Digests seen on this ReplicaSet's pods (imageID), by image.
                let mut imgs = images(&rs["spec"]["template"]);
                let unpinned: Vec<String> = imgs.iter().filter(|i| i.digest.is_none()).map(|i| i.full()).collect();
                for img in &mut imgs {
                    let seen = pods
                        .iter()
                        .filter(|p| p["metadata"]["labels"][kubectl::HASH_LABEL] == hash)
                        .flat_map(|p| {
                            p["status"]["containerStatuses"]
                                .as_array()
                                .cloned()
                                .unwrap_or_default()
                        })
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
                    let ran: Vec<String> = imgs.iter().filter_map(|i| i.digest.as_ref().map(|d| format!("{} ran as {}", i.full().split('@').next().unwrap_or(""), crate::core::model::short_digest(d)))).collect();
                    let why = if ran.is_empty() {
                        format!("{} pinned by tag, no digest, and no pod of revision {rev} runs anymore: what the tag resolves to now cannot be checked here", unpinned.join(", "))
                    } else {
                        format!("{} pinned by tag, no digest ({}): if the tag moved since, the rollback runs a different build", unpinned.join(", "), ran.join(", "))
                    };
                    warnings.push((rev.to_string(), why));
                }
                // The commit the image tag names (`git-<sha>`, `v1.2-<sha>`).
                let git_sha = sha_from_images(NAMED_TAG_PATTERNS, &imgs);
                Revision {
                    id: rev.to_string(),
                    deployed_at: time(&rs["metadata"]["creationTimestamp"]),
                    images: imgs,
                    git_sha,
                    message,
                    author: None,
                    current: Some(*rev) == current,
                }
            })
            .collect();
        if !revisions.iter().any(|r| r.current) {
            if let Some(r) = revisions.first_mut() {
                r.current = true;
            }
        }
        let events = self
            .warning_events(t)
            .await
            .ok()
            .flatten()
            .unwrap_or_default();
        let bad_why: Vec<(String, String)> = hist
            .iter()
            .filter(|(rev, _)| Some(*rev) != current)
            .filter_map(|(rev, rs)| crash_looped(rs, &pods, &events).map(|w| (rev.to_string(), w)))
            .collect();
        let known_bad = bad_why.iter().map(|(id, _)| id.clone()).collect();
        Ok(History {
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
            },
            fetched_at: asked,
            known_bad,
            last_known_good: None,
        })
    }

    /// The rollback: kubectl's patch with a `test` of the resourceVersion the
    /// plan was built from. `dry_run` sends `?dryRun=All` (rehearsal previews).
    /// What the rollback needs, asked as the configured identity with a
    /// `SelfSubjectAccessReview` each: patch the Deployment (the undo), and
    /// read its ReplicaSets (the history it restores from).
    async fn access_review(&self, t: &DeployTarget) -> Result<Vec<(bool, String)>, String> {
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
                .map_err(|e| e.to_string())?;
            let what = format!(
                "{verb} {resource}.{group}{} in {}",
                name.map(|n| format!("/{n}")).unwrap_or_default(),
                t.namespace
            );
            let ans =
                tokio::time::timeout(Duration::from_secs(15), self.client.request::<Value>(req))
                    .await
                    .map_err(|_| "the API server did not answer within 15s (timeout)".to_string())?
                    .map_err(|e| describe(&e, "create", "selfsubjectaccessreviews"))?;
            let allowed = ans["status"]["allowed"] == true;
            let why = ans["status"]["reason"]
                .as_str()
                .filter(|r| !r.is_empty() && !allowed)
                .map(|r| format!(" ({r})"))
                .unwrap_or_default();
            out.push((allowed, format!("{what}{why}")));
        }
        Ok(out)
    }

    pub async fn undo(
        &self,
        plan: &RollbackPlan,
        to: i64,
        dry_run: bool,
    ) -> Result<StepDone, ExecError> {
        let t = &self.target(&plan.target.name).map_err(ExecError::Failed)?;
        let d = self.deployment(t).await.map_err(ExecError::NotSent)?;
        let rv = d["metadata"]["resourceVersion"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        if rv != plan.built_from {
            return Err(ExecError::Stale {
                built_from: plan.built_from.clone(),
                now: rv,
            });
        }
        let rss = self.replicasets(t, &d).await.map_err(ExecError::NotSent)?;
        let patch =
            match kubectl::undo(&d, &rss, to, &plan.built_from).map_err(ExecError::Refused)? {
                Undo::Skipped(m) => {
                    return Ok(StepDone {
                        summary: format!("deployment.apps/{} {m}", t.deployment),
                        version: rv,
                    });
                }
                Undo::Patch(p) => p,
            };
        let path = format!(
            "{}{}",
            Self::deploy_path(t),
            if dry_run { "?dryRun=All" } else { "" }
        );
        let req = http::Request::patch(&path)
            .header("Content-Type", "application/json-patch+json")
            .body(serde_json::to_vec(&patch).unwrap_or_default())
            .map_err(|e| ExecError::Failed(e.to_string()))?;
        match self.client.request::<Value>(req).await {
            Ok(after) => {
                let v = after["metadata"]["resourceVersion"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string();
                let what = if dry_run {
                    "server-side dry run accepted (nothing persisted)"
                } else {
                    "rolled back"
                };
                Ok(StepDone {
                    summary: format!(
                        "deployment.apps/{} {what} to revision {to} (JSON patch, resourceVersion {rv} tested)",
                        t.deployment
                    ),
                    version: v,
                })
            }
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
                Err(ExecError::Stale {
                    built_from: plan.built_from.clone(),
                    now,
                })
            }
            Err(e) => {
                let m = describe(&e, "patch", &Self::what(t));
                // The patch left: a 5xx, a reset or an unreadable answer
                // says nothing about whether it was applied.
                Err(match &e {
                    kube::Error::Api(s) if s.code < 500 => ExecError::Failed(m),
                    _ => ExecError::OutcomeUnknown(m),
                })
            }
        }
    }

    async fn read_progress(&self, plan: &RollbackPlan) -> Result<Progress, String> {
        let t = &self.target(&plan.target.name)?;
        // From the watch when it is live; a GET otherwise.
        let d = match self.watches.snapshot(&t.name) {
            Some((d, _)) => d,
            None => self.deployment(t).await?,
        };
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
        Ok(match kubectl::rollout_status(&d) {
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
    fn targets(&self) -> BoxFut<'_, Result<Vec<TargetInfo>, String>> {
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
            *self.found.lock().unwrap() = found;
            Ok(self
                .all()
                .iter()
                .map(|t| TargetInfo {
                    name: t.name.clone(),
                    kind: Kind::Kubernetes,
                    environment: t.environment.clone(),
                    location: format!("{} · ns {}", self.location, t.namespace),
                    object: Some(t.deployment.clone()),
                })
                .collect())
        })
    }
    fn health_all(&self) -> BoxFut<'_, Vec<Result<Health, (String, String)>>> {
        Box::pin(async move {
            let all = self.all();
            let reads = all
                .iter()
                .map(|t| async move { self.read_health(t).await.map_err(|e| (t.name.clone(), e)) });
            futures::future::join_all(reads).await
        })
    }
    fn health<'a>(&'a self, target: &'a str) -> BoxFut<'a, Result<Health, String>> {
        Box::pin(async move { self.read_health(&self.target(target)?).await })
    }
    fn history<'a>(&'a self, target: &'a str) -> BoxFut<'a, Result<History, String>> {
        Box::pin(async move { self.read_history(&self.target(target)?).await })
    }
    fn execute<'a>(
        &'a self,
        plan: &'a RollbackPlan,
        step: &'a PlanStep,
    ) -> BoxFut<'a, Result<StepDone, ExecError>> {
        Box::pin(async move {
            let PlanStep::Rollback { to, .. } = step else {
                return Err(ExecError::Failed(format!(
                    "{step:?} does not apply to a Deployment"
                )));
            };
            let n: i64 = to
                .parse()
                .map_err(|_| ExecError::Failed(format!("revision {to} is not a number")))?;
            self.undo(plan, n, false).await
        })
    }
    fn progress<'a>(&'a self, plan: &'a RollbackPlan) -> BoxFut<'a, Result<Progress, String>> {
        Box::pin(self.read_progress(plan))
    }
    fn poll_interval(&self) -> Duration {
        Duration::from_secs(2)
    }
    fn permissions<'a>(
        &'a self,
        plan: &'a RollbackPlan,
    ) -> BoxFut<'a, Option<Result<Vec<(bool, String)>, String>>> {
        Box::pin(async move {
            let t = match self.target(&plan.target.name) {
                Ok(t) => t,
                Err(e) => return Some(Err(e)),
            };
            Some(self.access_review(&t).await)
        })
    }
    fn preview<'a>(&'a self, plan: &'a RollbackPlan) -> BoxFut<'a, Option<Result<String, String>>> {
        Box::pin(async move {
            let PlanStep::Rollback { to, .. } = plan
                .steps
                .iter()
                .find(|s| matches!(s, PlanStep::Rollback { .. }))?
            else {
                return None;
            };
            let n: i64 = to.parse().ok()?;
            Some(
                self.undo(plan, n, true)
                    .await
                    .map(|d| d.summary)
                    .map_err(|e| e.message()),
            )
        })
    }
}

/// Whether a ReplicaSet's pods crash-looped: a pod of it still waiting in
/// CrashLoopBackOff, or kubelet's BackOff warnings for its pods (events
/// outlive the pods a rollback scaled away, for about an hour).
pub fn crash_looped(rs: &Value, pods: &[Value], events: &Value) -> Option<String> {
    let hash = rs["metadata"]["labels"][kubectl::HASH_LABEL].as_str()?;
    let name = rs["metadata"]["name"].as_str()?;
    let looping = pods
        .iter()
        .filter(|p| p["metadata"]["labels"][kubectl::HASH_LABEL] == hash)
        .flat_map(|p| {
            p["status"]["containerStatuses"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
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
