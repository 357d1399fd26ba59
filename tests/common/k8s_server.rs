//! An in-test Kubernetes API server fed with the responses recorded from a
//! real one (tests/fixtures/k8s, copied from shared/fixtures/k8s). It records
//! every request and simulates the deployment controller's reaction to a
//! rollback: the old ReplicaSet becomes revision max+1, its
//! `revision-history` gains the old number, new pods appear.
#![allow(dead_code)]

use super::http::{Req, Resp, serve};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};

pub fn fixture(name: &str) -> Value {
    let p = format!("{}/tests/fixtures/k8s/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

pub struct K8s {
    pub deployment: Value,
    pub replicasets: Vec<Value>,
    pub pods: Vec<Value>,
    /// Reads of the Deployment since the last real patch (controller steps).
    pub steps: u32,
    pub patched: bool,
    /// Someone else changes the Deployment right after the next GET.
    pub race_after_get: bool,
    /// Answer the next request with this status and raw body instead.
    pub fault: Option<(u16, String)>,
    /// RBAC refuses `patch` on Deployments to this identity (reads allowed).
    pub deny_patch: bool,
    /// A graceful shutdown: watches keep streaming, every other request is
    /// refused with 503 (kube-apiserver's `--shutdown-delay-duration`).
    pub shutting_down: bool,
}

pub struct FakeK8s {
    pub url: String,
    pub state: Arc<Mutex<K8s>>,
    pub seen: Arc<Mutex<Vec<Req>>>,
}

impl FakeK8s {
    pub fn requests(&self) -> Vec<Req> {
        self.seen.lock().unwrap().clone()
    }
    pub fn patches(&self) -> Vec<Req> {
        self.requests()
            .into_iter()
            .filter(|r| r.method == "PATCH")
            .collect()
    }
    /// A kubeconfig for this server (token `admin-token` unless told).
    pub fn kubeconfig(&self, dir: &std::path::Path, token: &str) -> std::path::PathBuf {
        let p = dir.join(format!("kubeconfig-{token}"));
        std::fs::write(
            &p,
            format!(
                "apiVersion: v1\nkind: Config\nclusters:\n- name: test\n  cluster:\n    server: {}\nusers:\n- name: u\n  user:\n    token: {token}\ncontexts:\n- name: shop-test\n  context:\n    cluster: test\n    user: u\n    namespace: shop\ncurrent-context: shop-test\n",
                self.url
            ),
        )
        .unwrap();
        p
    }
}

fn status(code: u16, fixture_name: &str) -> Resp {
    Resp::json(code, fixture(fixture_name))
}

fn hashless(t: &Value) -> Value {
    let mut t = t.clone();
    if let Some(l) = t["metadata"]["labels"].as_object_mut() {
        l.remove("pod-template-hash");
    }
    t
}

pub fn start() -> FakeK8s {
    let state = Arc::new(Mutex::new(K8s {
        deployment: fixture("01-get-deployment-catalog.json"),
        replicasets: fixture("03-list-replicasets-catalog.json")["items"]
            .as_array()
            .unwrap()
            .clone(),
        pods: fixture("04-list-pods-catalog.json")["items"]
            .as_array()
            .unwrap()
            .clone(),
        steps: 0,
        patched: false,
        race_after_get: false,
        fault: None,
        deny_patch: false,
        shutting_down: false,
    }));
    let st = state.clone();
    let (addr, seen) = serve(Arc::new(move |r: &Req| handle(&st, r)));
    FakeK8s {
        url: format!("http://{addr}"),
        state,
        seen,
    }
}

fn watch_events(objs: &[Value]) -> Resp {
    let body: String = objs
        .iter()
        .map(|o| json!({"type": "MODIFIED", "object": o}).to_string() + "\n")
        .collect();
    Resp {
        status: 200,
        content_type: "application/json",
        body,
        delay: std::time::Duration::from_millis(500),
    }
}

fn list(kind: &str, items: &[Value]) -> Resp {
    Resp::json(
        200,
        json!({"kind": kind, "apiVersion": "v1", "metadata": {"resourceVersion": "2000"}, "items": items}),
    )
}

fn handle(st: &Arc<Mutex<K8s>>, r: &Req) -> Resp {
    match r.header("authorization") {
        Some("Bearer admin-token") => {}
        Some("Bearer viewer-none") => {
            return if r.method == "PATCH" {
                status(403, "10-error-403-patch-deployment-sa-without-rbac.json")
            } else {
                status(403, "10-error-403-get-deployment-sa-without-rbac.json")
            };
        }
        _ => return status(401, "10-error-401-bogus-token.json"),
    }
    let mut s = st.lock().unwrap();
    if let Some((code, body)) = s.fault.take() {
        return Resp {
            status: code,
            content_type: "application/json",
            body,
            delay: std::time::Duration::ZERO,
        };
    }
    let p = r.path.as_str();
    let watching = r
        .query
        .split('&')
        .any(|kv| kv == "watch=true" || kv == "watch=1");
    if s.shutting_down && !watching {
        return Resp::json(
            503,
            json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                   "message": "apiserver is shutting down", "reason": "ServiceUnavailable", "code": 503}),
        );
    }
    match (r.method.as_str(), p) {
        // What an identity may do, as the authorizer answers it.
        ("POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews") => {
            let b = r.json();
            let attrs = b["spec"]["resourceAttributes"].clone();
            let allowed = !(s.deny_patch && attrs["verb"] == "patch");
            let mut out = b.clone();
            out["status"] = if allowed {
                json!({"allowed": true, "reason": "RBAC: allowed by RoleBinding \"oncall\" of Role \"deployer\" to User \"oncall\""})
            } else {
                json!({"allowed": false})
            };
            Resp::json(201, out)
        }
        // Watches: the current objects as events, then the stream ends (the
        // client re-watches), so changes reach it within a second.
        ("GET", "/apis/apps/v1/namespaces/shop/deployments") if watching => {
            watch_events(&[s.deployment.clone()])
        }
        ("GET", "/api/v1/namespaces/shop/pods") if watching => watch_events(&s.pods),
        ("GET", "/apis/apps/v1/namespaces/shop/deployments") => {
            let other_name = r.query.contains("fieldSelector=metadata.name")
                && !r.query.contains("metadata.name%3Dcatalog");
            let items = if other_name {
                vec![]
            } else {
                vec![s.deployment.clone()]
            };
            list("DeploymentList", &items)
        }
        ("GET", "/apis/apps/v1/namespaces/shop/deployments/catalog") => {
            controller_step(&mut s);
            let out = s.deployment.clone();
            if s.race_after_get {
                s.race_after_get = false;
                let rv = s.deployment["metadata"]["resourceVersion"]
                    .as_str()
                    .unwrap()
                    .parse::<i64>()
                    .unwrap()
                    + 1;
                s.deployment["metadata"]["resourceVersion"] = json!(rv.to_string());
            }
            Resp::json(200, out)
        }
        ("GET", "/api/v1/namespaces/shop") => Resp::json(
            200,
            json!({"kind": "Namespace", "apiVersion": "v1", "metadata": {"name": "shop"}, "status": {"phase": "Active"}}),
        ),
        ("GET", p) if p.starts_with("/api/v1/namespaces/") && !p[19..].contains('/') => Resp::json(
            404,
            json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                   "message": format!("namespaces \"{}\" not found", &p[19..]), "reason": "NotFound",
                   "details": {"name": &p[19..], "kind": "namespaces"}, "code": 404}),
        ),
        ("GET", p)
            if p.starts_with("/apis/apps/v1/namespaces/")
                && !p.starts_with("/apis/apps/v1/namespaces/shop/") =>
        {
            Resp::json(
                404,
                json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                   "message": "deployments.apps \"catalog\" not found", "reason": "NotFound", "code": 404}),
            )
        }
        ("GET", "/apis/apps/v1/namespaces/shop/deployments/inventory") => {
            status(404, "10-error-404-deployment-not-found.json")
        }
        ("GET", "/apis/apps/v1/namespaces/shop/replicasets") => {
            list("ReplicaSetList", &s.replicasets)
        }
        ("GET", "/api/v1/namespaces/shop/pods") => list("PodList", &s.pods),
        ("GET", "/apis/discovery.k8s.io/v1/namespaces/shop/endpointslices") => {
            if r.query.contains("service-name%3Dcatalog") {
                let mut l = fixture("06-list-endpointslices-catalog.json");
                if s.steps >= 3 {
                    for e in l["items"][0]["endpoints"].as_array_mut().unwrap() {
                        e["conditions"]["ready"] = json!(true);
                    }
                }
                Resp::json(200, l)
            } else {
                list("EndpointSliceList", &[])
            }
        }
        ("GET", "/api/v1/namespaces/shop/events") => {
            let all = fixture("05-list-events-shop.json");
            let warn: Vec<Value> = all["items"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|e| !r.query.contains("type%3DWarning") || e["type"] == "Warning")
                .cloned()
                .collect();
            list("EventList", &warn)
        }
        ("PATCH", "/apis/apps/v1/namespaces/shop/deployments/catalog") => {
            if r.header("content-type") != Some("application/json-patch+json") {
                return Resp::json(
                    415,
                    json!({"kind": "Status", "status": "Failure", "code": 415, "reason": "UnsupportedMediaType", "message": "the body of the request was in an unknown format"}),
                );
            }
            let Ok(ops) = serde_json::from_str::<Vec<Value>>(&r.body) else {
                return status(400, "10-error-400-malformed-patch-body-response.json");
            };
            let mut d = s.deployment.clone();
            for op in &ops {
                match (op["op"].as_str(), op["path"].as_str()) {
                    (Some("test"), Some("/metadata/resourceVersion")) => {
                        if d["metadata"]["resourceVersion"] != op["value"] {
                            return status(422, "09-json-patch-test-rv-stale-response.json");
                        }
                    }
                    (Some("replace"), Some("/spec/template")) => {
                        d["spec"]["template"] = op["value"].clone()
                    }
                    (Some("replace"), Some("/metadata/annotations")) => {
                        d["metadata"]["annotations"] = op["value"].clone()
                    }
                    _ => return status(422, "09-json-patch-test-rv-stale-response.json"),
                }
            }
            d["metadata"]["generation"] =
                json!(d["metadata"]["generation"].as_i64().unwrap_or(0) + 1);
            if r.query.contains("dryRun=All") {
                return Resp::json(200, d);
            }
            let rv = s.deployment["metadata"]["resourceVersion"]
                .as_str()
                .unwrap()
                .parse::<i64>()
                .unwrap()
                + 106;
            d["metadata"]["resourceVersion"] = json!(rv.to_string());
            s.deployment = d.clone();
            s.patched = true;
            s.steps = 0;
            Resp::json(200, d)
        }
        _ => Resp::json(
            404,
            json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "message": "the server could not find the requested resource", "reason": "NotFound", "code": 404}),
        ),
    }
}

/// The deployment controller, one step per read after a patch.
fn controller_step(s: &mut K8s) {
    if !s.patched {
        return;
    }
    s.steps += 1;
    let want = hashless(&s.deployment["spec"]["template"]);
    let generation = s.deployment["metadata"]["generation"].clone();
    let bump_rv = |d: &mut Value| {
        let rv = d["metadata"]["resourceVersion"]
            .as_str()
            .unwrap()
            .parse::<i64>()
            .unwrap()
            + 1;
        d["metadata"]["resourceVersion"] = json!(rv.to_string());
    };
    match s.steps {
        1 => {
            // The matching ReplicaSet becomes the newest revision.
            let max = s
                .replicasets
                .iter()
                .filter_map(|r| {
                    r["metadata"]["annotations"]["deployment.kubernetes.io/revision"]
                        .as_str()?
                        .parse::<i64>()
                        .ok()
                })
                .max()
                .unwrap_or(0);
            for rs in s.replicasets.iter_mut() {
                if hashless(&rs["spec"]["template"]) == want {
                    let old = rs["metadata"]["annotations"]["deployment.kubernetes.io/revision"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string();
                    rs["metadata"]["annotations"]["deployment.kubernetes.io/revision"] =
                        json!((max + 1).to_string());
                    rs["metadata"]["annotations"]["deployment.kubernetes.io/revision-history"] =
                        json!(old);
                    rs["spec"]["replicas"] = json!(3);
                }
            }
            s.deployment["metadata"]["annotations"]["deployment.kubernetes.io/revision"] =
                json!((max + 1).to_string());
            s.deployment["status"]["observedGeneration"] = generation;
            s.deployment["status"]["updatedReplicas"] = json!(1);
            s.deployment["status"]["replicas"] = json!(4);
            bump_rv(&mut s.deployment);
        }
        2 => {
            s.deployment["status"]["updatedReplicas"] = json!(3);
            s.deployment["status"]["replicas"] = json!(4);
            bump_rv(&mut s.deployment);
        }
        3 => {
            let after = fixture("07-get-deployment-catalog-after-undo.json");
            s.deployment["status"] = after["status"].clone();
            s.deployment["status"]["observedGeneration"] = generation;
            s.pods = fixture("07-list-pods-catalog-after-undo.json")["items"]
                .as_array()
                .unwrap()
                .clone();
            bump_rv(&mut s.deployment);
        }
        _ => {}
    }
}
