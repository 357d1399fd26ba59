//! Where a target's objects come from: the namespace's shared watches
//! once they have synced, direct reads until then. Either way the answer
//! is stamped with the moment the API server was last heard to answer a
//! request sent for it (the probe), never with the age of the watch: a
//! watch stays open through a graceful shutdown while nothing else is
//! answered.

use super::cache::{Ready, Res, Stored, View};
use super::{DeployTarget, KubeBackend, request_error, selector, urlencode};
use crate::core::error::BackendError;
use chrono::{DateTime, Utc};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What health and history are computed from.
pub struct Sources {
    pub d: Arc<Value>,
    /// The Deployment's ReplicaSets and their pods: by controller
    /// ownerReference from the watches, by the Deployment's selector when
    /// read directly (history then keeps only those it owns).
    pub rss: Vec<Arc<Value>>,
    pub pods: Vec<Arc<Value>>,
    /// Ready endpoints of the Service named like the Deployment; None when
    /// there is no such Service or they may not be read (nothing to judge,
    /// not "zero").
    pub endpoints: Option<u32>,
    /// Warning events of the namespace; None when they may not be read.
    pub events: Option<Vec<Arc<Value>>>,
    /// When the API server was last heard to answer.
    pub stamp: DateTime<Utc>,
}

/// The last liveness read of the API server: when it was sent and what
/// came back.
pub struct Probe {
    sent: DateTime<Utc>,
    at: Instant,
    answer: Result<(), BackendError>,
}

fn ready_endpoints<'a>(slices: impl Iterator<Item = &'a Value>) -> Option<u32> {
    let mut any = false;
    let mut n = 0;
    for s in slices {
        any = true;
        n += s["endpoints"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|e| e["conditions"]["ready"] == true)
            .count() as u32;
    }
    any.then_some(n)
}

/// A namespace's watched objects by owner, built once per look so that
/// reading every target of the namespace does not scan it per target.
pub struct Index<'a> {
    view: &'a View<'a>,
    /// ReplicaSets by the Deployment that controls them.
    rs_of: HashMap<&'a str, Vec<&'a Stored>>,
    /// Pods by the ReplicaSet that controls them.
    pods_of: HashMap<&'a str, Vec<&'a Stored>>,
    /// EndpointSlices by their Service.
    slices_of: HashMap<&'a str, Vec<&'a Stored>>,
}

impl<'a> Index<'a> {
    pub fn new(view: &'a View<'a>) -> Index<'a> {
        let by = |res, key: fn(&Stored) -> Option<&str>| {
            let mut m: HashMap<&str, Vec<&Stored>> = HashMap::new();
            for o in view.all(res) {
                if let Some(k) = key(o) {
                    m.entry(k).or_default().push(o);
                }
            }
            m
        };
        Index {
            view,
            rs_of: by(Res::ReplicaSets, |o| o.owner.as_deref()),
            pods_of: by(Res::Pods, |o| o.owner.as_deref()),
            slices_of: by(Res::EndpointSlices, |o| o.service.as_deref()),
        }
    }

    /// A target's objects; None when its Deployment is not in the watch.
    pub fn sources(&self, t: &DeployTarget, stamp: DateTime<Utc>) -> Option<Sources> {
        let parse = |o: &Stored| Arc::new(o.value());
        let d = parse(&*self.view.get(Res::Deployments, &t.deployment)?);
        let rss: Vec<Arc<Value>> = self
            .rs_of
            .get(t.deployment.as_str())
            .into_iter()
            .flatten()
            .map(|o| parse(o))
            .collect();
        let pods = rss
            .iter()
            .filter_map(|rs| rs["metadata"]["name"].as_str())
            .flat_map(|n| self.pods_of.get(n).into_iter().flatten())
            .map(|o| parse(o))
            .collect();
        let endpoints = if self.view.readable(Res::EndpointSlices) {
            self.slices_of.get(t.deployment.as_str()).and_then(|s| {
                let slices: Vec<Value> = s.iter().map(|o| o.value()).collect();
                ready_endpoints(slices.iter())
            })
        } else {
            None
        };
        let prefix = format!("{}-", t.deployment);
        let events = self.view.readable(Res::Events).then(|| {
            self.view
                .all(Res::Events)
                .filter(|e| {
                    e.involved
                        .as_deref()
                        .is_some_and(|n| n == t.deployment || n.starts_with(&prefix))
                })
                .map(parse)
                .collect()
        });
        Some(Sources {
            d,
            rss,
            pods,
            endpoints,
            events,
            stamp,
        })
    }
}

impl KubeBackend {
    /// Whether the API server answers a request sent now (or at most
    /// `reuse` ago), for a read of namespace `ns`: the namespace is known
    /// to exist (asked once), and the server answered its liveness read.
    pub(super) async fn probe(
        &self,
        ns: &str,
        reuse: Duration,
    ) -> Result<DateTime<Utc>, BackendError> {
        self.namespace_known(ns).await?;
        self.liveness(reuse).await
    }

    /// A missing namespace is said as such (a watch or list of one
    /// answers empty, not 404). Asked until it is found, then never again.
    async fn namespace_known(&self, ns: &str) -> Result<(), BackendError> {
        if self
            .namespaces_found
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .contains(ns)
        {
            return Ok(());
        }
        let missing = format!(
            "namespace {ns} not found on this cluster (check `namespace` in the config, or the context)"
        );
        // May not read namespaces (403): it is not known missing.
        let answer = self
            .answers(
                format!("/api/v1/namespaces/{ns}"),
                "namespaces",
                Some(missing),
            )
            .await;
        if answer.is_ok() {
            self.namespaces_found
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .insert(ns.to_string());
        }
        answer
    }

    /// One cheap read of the API server (`GET /version`, which every
    /// identity may read), shared by every namespace and target of the
    /// cluster: at most one per `reuse`, one in flight. Any answer under
    /// 500 is an answer; a failure counts at once: no grace while the
    /// server is gone.
    async fn liveness(&self, reuse: Duration) -> Result<DateTime<Utc>, BackendError> {
        let asked = Instant::now();
        let gate = self
            .probing
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .entry(String::new())
            .or_default()
            .clone();
        let _one = gate.lock().await;
        if let Some(p) = self
            .probes
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get("")
            && (p.at.elapsed() <= reuse || p.at >= asked)
        {
            return p.answer.clone().map(|_| p.sent);
        }
        let sent = Utc::now();
        let at = Instant::now();
        let answer = self.answers("/version".into(), "version", None).await;
        self.probes
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(
                String::new(),
                Probe {
                    sent,
                    at,
                    answer: answer.clone(),
                },
            );
        answer.map(|_| sent)
    }

    /// Whether a GET of `path` is answered within 5 s: any answer under
    /// 500 is one (403 included); a 404 is `Err(NotFound(missing))` where
    /// given.
    async fn answers(
        &self,
        path: String,
        what: &str,
        missing: Option<String>,
    ) -> Result<(), BackendError> {
        let req = http::Request::get(path)
            .body(Vec::new())
            .map_err(|e| BackendError::Failed(e.to_string()))?;
        match tokio::time::timeout(Duration::from_secs(5), self.client.request::<Value>(req)).await
        {
            Err(_) => Err(BackendError::Timeout(
                "API server unreachable: no answer within 5s (timeout)".to_string(),
            )),
            Ok(Ok(_)) => Ok(()),
            Ok(Err(kube::Error::Api(s))) if s.code == 404 && missing.is_some() => {
                Err(BackendError::NotFound(missing.unwrap_or_default()))
            }
            Ok(Err(kube::Error::Api(s))) if s.code < 500 => Ok(()),
            Ok(Err(e)) => Err(request_error(&e, "get", what)),
        }
    }

    /// The target's objects, from the watches when they have synced (and
    /// the server answers), by direct reads otherwise.
    pub(super) async fn sources(
        &self,
        t: &DeployTarget,
        reuse: Duration,
    ) -> Result<Sources, BackendError> {
        self.caches.start(&self.client, &t.namespace);
        let stamp = self.probe(&t.namespace, reuse).await?;
        match self
            .caches
            .with(&t.namespace, |v| Index::new(v).sources(t, stamp))
        {
            Ready::Ready(Some(s)) => Ok(s),
            // Deleted, as the watch saw it go: said so at once.
            Ready::Ready(None)
                if let Ready::Ready(Some(at)) = self.caches.with(&t.namespace, |v| {
                    v.deleted_at(super::cache::Res::Deployments, &t.deployment)
                }) =>
            {
                Err(BackendError::Gone(format!(
                    "{} deleted at {} (seen by the watch)",
                    Self::what(t),
                    at.format("%H:%M:%SZ")
                )))
            }
            // Not in the watch: say whether it or its namespace is missing.
            Ready::Ready(None) => Err(self.deployment(t).await.err().unwrap_or_else(|| {
                BackendError::NotFound(format!(
                    "{} not found (404): not in the watch of its namespace",
                    Self::what(t)
                ))
            })),
            // The probe just answered: the watch's error is from before
            // (its reconnect is refused or still backing off). What the
            // server says now is read directly.
            Ready::Failing(_) | Ready::NotYet => self.direct(t).await,
        }
    }

    /// The ReplicaSets as they are now, for the undo (never from a cache).
    pub(super) async fn replicasets_now(
        &self,
        t: &DeployTarget,
        d: &Value,
    ) -> Result<Vec<Value>, BackendError> {
        let ns = &t.namespace;
        let path = format!(
            "/apis/apps/v1/namespaces/{ns}/replicasets?labelSelector={}",
            urlencode(&selector(d))
        );
        let l = self
            .get(&path, "list", &format!("replicasets in namespace {ns}"))
            .await?;
        Ok(l["items"].as_array().cloned().unwrap_or_default())
    }

    /// Every object read with its own request, stamped when sent.
    pub(super) async fn direct(&self, t: &DeployTarget) -> Result<Sources, BackendError> {
        let asked = Utc::now();
        let d = self.deployment(t).await?;
        let sel = urlencode(&selector(&d));
        let ns = &t.namespace;
        let items = |v: Value| -> Vec<Arc<Value>> {
            v["items"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|o| Arc::new(o.clone()))
                .collect()
        };
        let rs_path = format!("/apis/apps/v1/namespaces/{ns}/replicasets?labelSelector={sel}");
        let pod_path = format!("/api/v1/namespaces/{ns}/pods?labelSelector={sel}");
        let ep_path = format!(
            "/apis/discovery.k8s.io/v1/namespaces/{ns}/endpointslices?labelSelector={}",
            urlencode(&format!("kubernetes.io/service-name={}", t.deployment))
        );
        let ev_path = format!(
            "/api/v1/namespaces/{ns}/events?fieldSelector={}",
            urlencode("type=Warning")
        );
        let (rs_what, pod_what) = (
            format!("replicasets in namespace {ns}"),
            format!("pods in namespace {ns}"),
        );
        let (rss, pods, eps, evs) = tokio::try_join!(
            self.get(&rs_path, "list", &rs_what),
            self.get(&pod_path, "list", &pod_what),
            self.get_optional(&ep_path, "list", "endpointslices"),
            self.get_optional(&ev_path, "list", "events"),
        )?;
        let endpoints = match eps {
            None => None,
            Some(l) => {
                let Some(slices) = l["items"].as_array() else {
                    return Err(BackendError::Malformed(
                        "malformed answer from the API server: endpointslices without items".into(),
                    ));
                };
                ready_endpoints(slices.iter())
            }
        };
        Ok(Sources {
            d: Arc::new(d),
            rss: items(rss),
            pods: items(pods),
            endpoints,
            events: evs.map(items),
            stamp: asked,
        })
    }
}
