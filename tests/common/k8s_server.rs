//! An in-test Kubernetes API server, seeded with the responses recorded
//! from a real one (tests/fixtures/k8s, copied from shared/fixtures/k8s),
//! that behaves as the real one does on its own:
//!
//! - one resourceVersion counter: every change gets the next one; a LIST
//!   answers with the current one; a WATCH from a resourceVersion replays
//!   what changed after it and then streams every change as it happens;
//! - `allowWatchBookmarks=true` watches get BOOKMARK events; a watch from
//!   a resourceVersion older than the compaction window gets 410 Gone (as
//!   an ERROR event in a 200 stream, like the real server); the server ends
//!   a watch at its `timeoutSeconds`;
//! - the deployment controller converges a rollback on its own clock,
//!   whether or not anybody reads;
//! - a graceful shutdown keeps the open watches streaming while every new
//!   request is refused with 503 (`--shutdown-delay-duration`);
//! - LISTs can be slow.
//!
//! Tests change the cluster with `edit`, which gives every changed object
//! a new resourceVersion and tells the watches, as an apply would.
#![allow(dead_code)]
#![allow(clippy::unwrap_used)] // a failed unwrap in a test is a failed test

use super::http::{Door, Req, Resp, Stream, serve_with_door, url_decode};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};
use tokio::sync::mpsc::{UnboundedSender, unbounded_channel};

pub fn fixture(name: &str) -> Value {
    let p = format!("{}/tests/fixtures/k8s/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

/// `(resource, namespace, name)`, e.g. `("deployments", "shop", "catalog")`.
pub type Key = (String, String, String);

pub fn key(res: &str, ns: &str, name: &str) -> Key {
    (res.into(), ns.into(), name.into())
}

struct Watcher {
    res: String,
    ns: String,
    labels: Vec<(String, String)>,
    fields: Vec<(String, String)>,
    bookmarks: bool,
    tx: UnboundedSender<String>,
}

pub struct K8s {
    pub objects: BTreeMap<Key, Value>,
    pub namespaces: BTreeSet<String>,
    rv: u64,
    /// Every change, oldest first, for watches that resume from a version.
    log: Vec<(u64, Key, &'static str, Value)>,
    /// A watch from a resourceVersion below this gets 410 Gone.
    pub compacted_below: u64,
    watchers: Vec<Watcher>,
    /// Someone else changes the Deployment right after the next GET of it.
    pub race_after_get: bool,
    /// Answer every request (other than a GET of a namespace, rbtui's
    /// probe) with this status and raw body instead, until cleared.
    pub fault: Option<(u16, String)>,
    /// RBAC refuses `patch` on Deployments to this identity (reads allowed).
    pub deny_patch: bool,
    /// A graceful shutdown: open watches keep streaming, every new request
    /// is refused with 503.
    pub shutting_down: bool,
    /// How long a LIST takes.
    pub slow_list: Duration,
    /// How long each of the deployment controller's three steps takes.
    pub controller_every: Duration,
    pub bookmark_every: Duration,
    /// The rollback the controller is converging: next step and when.
    rollout: Option<(u32, Instant)>,
    last_bookmark: Instant,
    /// What each (pod, container) wrote before its last crash, one line
    /// per entry; served by `pods/{pod}/log?previous=true` to a pod whose
    /// container has terminated before (as the kubelet keeps it).
    pub previous_logs: BTreeMap<(String, String), Vec<String>>,
    /// Every pod log request, as sent.
    pub log_requests: Vec<String>,
    /// What a node pulling the template's image gets (the tag's digest in
    /// the registry then): the new pods of a restart run it. `None`: the
    /// node keeps its cached image, as with imagePullPolicy IfNotPresent.
    pub pull_digest: Option<String>,
    /// How pods/log answers when the API server cannot reach the kubelet:
    /// `Some(None)` a 500 as the API server sends it (its proxy error),
    /// `Some(Some(d))` an answer that takes `d` (a kubelet that hangs on
    /// TLS).
    pub kubelet: Option<Option<Duration>>,
    /// New watches are refused (503) while plain reads are answered: the
    /// first minutes after an API server restart, as a client whose
    /// watch reconnect is still in its backoff sees them.
    pub refuse_watches: bool,
    /// A server from v1.28 says who the caller is (`SelfSubjectReview`);
    /// `None`: a v1.24 server, which answers that path 404.
    pub ssr_user: Option<String>,
}

impl K8s {
    pub fn rv(&self) -> u64 {
        self.rv
    }
    pub fn get(&self, res: &str, ns: &str, name: &str) -> Option<&Value> {
        self.objects.get(&key(res, ns, name))
    }
    pub fn get_mut(&mut self, res: &str, ns: &str, name: &str) -> Option<&mut Value> {
        self.objects.get_mut(&key(res, ns, name))
    }
    /// The recorded Deployment `shop/catalog`.
    pub fn dep(&mut self) -> &mut Value {
        self.get_mut("deployments", "shop", "catalog").unwrap()
    }
    pub fn deployment(&self) -> Value {
        self.get("deployments", "shop", "catalog").unwrap().clone()
    }
    pub fn of(&self, res: &str, ns: &str) -> Vec<Value> {
        self.objects
            .iter()
            .filter(|((r, n, _), _)| r == res && n == ns)
            .map(|(_, v)| v.clone())
            .collect()
    }
    /// Replaces every object of a resource in a namespace.
    pub fn set_all(&mut self, res: &str, ns: &str, items: Vec<Value>) {
        self.objects.retain(|(r, n, _), _| !(r == res && n == ns));
        for o in items {
            self.put(res, o);
        }
    }
    /// Adds or replaces an object (without telling anyone: use in `edit`).
    pub fn put(&mut self, res: &str, mut o: Value) {
        let ns = o["metadata"]["namespace"]
            .as_str()
            .unwrap_or("shop")
            .to_string();
        let name = o["metadata"]["name"].as_str().unwrap().to_string();
        o["metadata"]["namespace"] = json!(ns);
        self.namespaces.insert(ns.clone());
        self.objects.insert(key(res, &ns, &name), o);
    }

    /// Gives the object the next resourceVersion, stores it (or deletes it)
    /// and streams the change to every watch that selects it.
    fn commit(&mut self, k: Key, obj: Option<Value>) {
        self.rv += 1;
        let (kind, o) = match obj {
            Some(mut o) => {
                o["metadata"]["resourceVersion"] = json!(self.rv.to_string());
                let kind = if self.objects.contains_key(&k) {
                    "MODIFIED"
                } else {
                    "ADDED"
                };
                self.objects.insert(k.clone(), o.clone());
                (kind, o)
            }
            None => {
                let Some(mut o) = self.objects.remove(&k) else {
                    return;
                };
                o["metadata"]["resourceVersion"] = json!(self.rv.to_string());
                ("DELETED", o)
            }
        };
        let line = json!({"type": kind, "object": o}).to_string() + "\n";
        self.watchers.retain(|w| {
            if w.res == k.0 && w.ns == k.1 && selects(&o, &w.labels, &w.fields) {
                w.tx.send(line.clone()).is_ok()
            } else {
                !w.tx.is_closed()
            }
        });
        self.log.push((self.rv, k, kind, o));
    }

    /// `kubectl delete deployment catalog`: the Deployment goes, and the
    /// garbage collector deletes its ReplicaSets and their pods after it
    /// (background propagation), each a DELETED event on the watches.
    pub fn delete_deployment(&mut self) {
        self.commit(key("deployments", "shop", "catalog"), None);
        let owned = |o: &Value, owner: &str| {
            o["metadata"]["ownerReferences"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|r| r["name"] == owner)
        };
        let rss: Vec<String> = self
            .of("replicasets", "shop")
            .iter()
            .filter(|r| owned(r, "catalog"))
            .filter_map(|r| r["metadata"]["name"].as_str().map(str::to_string))
            .collect();
        for rs in &rss {
            let pods: Vec<String> = self
                .of("pods", "shop")
                .iter()
                .filter(|p| owned(p, rs))
                .filter_map(|p| p["metadata"]["name"].as_str().map(str::to_string))
                .collect();
            for p in pods {
                self.commit(key("pods", "shop", &p), None);
            }
            self.commit(key("replicasets", "shop", rs), None);
        }
    }

    /// Ends every open watch and compacts the history they would resume
    /// from: their re-watch gets 410 Gone.
    pub fn compact_and_end_watches(&mut self) {
        self.compacted_below = self.rv + 1;
        self.watchers.clear();
    }

    /// A `kubectl set image` on the Deployment: the controller makes a new
    /// ReplicaSet, the next revision, and its pods.
    pub fn set_image(&mut self, image: &str) {
        let mut d = self.deployment();
        let next = self.max_revision() + 1;
        d["spec"]["template"]["spec"]["containers"][0]["image"] = json!(image);
        d["metadata"]["generation"] = json!(d["metadata"]["generation"].as_i64().unwrap_or(1) + 1);
        d["metadata"]["annotations"]["deployment.kubernetes.io/revision"] = json!(next.to_string());
        let hash = format!("{:010x}", next * 7919);
        let mut rs = self.of("replicasets", "shop")[0].clone();
        rs["metadata"]["name"] = json!(format!("catalog-{hash}"));
        rs["metadata"]["uid"] = json!(format!("rs-{hash}"));
        rs["metadata"]["labels"]["pod-template-hash"] = json!(hash);
        rs["metadata"]["annotations"] =
            json!({"deployment.kubernetes.io/revision": next.to_string()});
        let mut t = d["spec"]["template"].clone();
        t["metadata"]["labels"]["pod-template-hash"] = json!(hash);
        rs["spec"]["template"] = t;
        rs["metadata"]["creationTimestamp"] = json!(chrono::Utc::now().to_rfc3339());
        self.put("replicasets", rs);
        *self.dep() = d;
    }

    /// A ReplicaSet for `template` at `revision`, as the deployment
    /// controller makes one.
    fn new_replicaset(&mut self, template: &Value, revision: i64) {
        let hash = format!("{:010x}", revision * 7919 + 17);
        let mut rs = self.of("replicasets", "shop")[0].clone();
        rs["metadata"]["name"] = json!(format!("catalog-{hash}"));
        rs["metadata"]["uid"] = json!(format!("rs-{hash}"));
        rs["metadata"]["labels"]["pod-template-hash"] = json!(hash);
        rs["metadata"]["annotations"] =
            json!({"deployment.kubernetes.io/revision": revision.to_string()});
        let mut t = template.clone();
        t["metadata"]["labels"]["pod-template-hash"] = json!(hash);
        rs["spec"]["template"] = t;
        rs["spec"]["replicas"] = json!(0);
        rs["metadata"]["creationTimestamp"] = json!(chrono::Utc::now().to_rfc3339());
        self.put("replicasets", rs);
    }

    /// The pods of a restart: one per old pod, owned by the ReplicaSet of
    /// `template`, ready, running what the node pulled for the image
    /// (`pull_digest`), or the old pods' image when it kept its cache.
    fn restarted_pods(&self, template: &Value, old: &[Value]) -> Vec<Value> {
        let rs = self
            .of("replicasets", "shop")
            .into_iter()
            .find(|rs| hashless(&rs["spec"]["template"]) == *template)
            .expect("the controller made it in step 1");
        let hash = rs["metadata"]["labels"]["pod-template-hash"]
            .as_str()
            .unwrap_or("")
            .to_string();
        let image = template["spec"]["containers"][0]["image"]
            .as_str()
            .unwrap_or("")
            .to_string();
        // A reference pinned by digest runs exactly that digest (the kubelet
        // pulls it by digest); a tag runs what the node pulls or cached.
        let pinned = image.split_once('@').map(|_| image.clone());
        let repo = image
            .rsplit_once(':')
            .map(|(r, _)| r)
            .unwrap_or(&image)
            .to_string();
        // As many as the Deployment wants, whatever ran before.
        let replicas = self.deployment()["spec"]["replicas"].as_u64().unwrap_or(3) as usize;
        old.iter()
            .cycle()
            .take(replicas)
            .enumerate()
            .map(|(i, o)| {
                let cached = o["status"]["containerStatuses"][0]["imageID"].clone();
                let id = match (&pinned, &self.pull_digest) {
                    (Some(p), _) => json!(p),
                    (None, Some(d)) => json!(format!("{repo}@{d}")),
                    (None, None) => cached,
                };
                let mut p = o.clone();
                p["spec"] = template["spec"].clone();
                p["metadata"]["name"] = json!(format!("catalog-{hash}-r{i}"));
                p["metadata"]["labels"]["pod-template-hash"] = json!(hash);
                p["metadata"]["ownerReferences"] = json!([{"apiVersion": "apps/v1", "kind": "ReplicaSet",
                    "name": rs["metadata"]["name"], "uid": rs["metadata"]["uid"], "controller": true}]);
                p["status"]["phase"] = json!("Running");
                p["status"]["conditions"] = json!([{"type": "Ready", "status": "True"}]);
                p["status"]["containerStatuses"] = json!([{"name": "catalog", "ready": true, "restartCount": 0,
                    "state": {"running": {"startedAt": chrono::Utc::now().to_rfc3339()}}, "lastState": {},
                    "image": image, "imageID": id, "started": true}]);
                p
            })
            .collect()
    }

    fn max_revision(&self) -> i64 {
        self.of("replicasets", "shop")
            .iter()
            .filter_map(|r| {
                r["metadata"]["annotations"]["deployment.kubernetes.io/revision"]
                    .as_str()?
                    .parse::<i64>()
                    .ok()
            })
            .max()
            .unwrap_or(0)
    }
}

pub struct FakeK8s {
    pub url: String,
    pub state: Arc<Mutex<K8s>>,
    pub seen: Arc<Mutex<Vec<Req>>>,
    /// Closed, the API server refuses new connections while the watches
    /// it already streams stay open.
    pub door: Door,
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
    /// LIST requests (GETs of a collection that are not watches).
    pub fn lists(&self) -> Vec<Req> {
        self.requests()
            .into_iter()
            .filter(|r| r.method == "GET" && is_collection(&r.path) && !is_watch(r))
            .collect()
    }
    pub fn watches(&self) -> Vec<Req> {
        self.requests().into_iter().filter(is_watch).collect()
    }
    /// Changes the cluster as an apply would: every object that differs
    /// afterwards gets a new resourceVersion and its watches hear of it.
    pub fn edit<R>(&self, f: impl FnOnce(&mut K8s) -> R) -> R {
        let mut s = self.state.lock().unwrap();
        let before = s.objects.clone();
        let out = f(&mut s);
        let after = std::mem::replace(&mut s.objects, before.clone());
        for (k, v) in &after {
            if before.get(k).is_none_or(|b| !same(b, v)) {
                s.commit(k.clone(), Some(v.clone()));
            }
        }
        for k in before.keys().filter(|k| !after.contains_key(*k)) {
            s.commit(k.clone(), None);
        }
        out
    }
    /// Changes one object (cheaper than `edit` on a big cluster).
    pub fn modify(&self, res: &str, ns: &str, name: &str, f: impl FnOnce(&mut Value)) {
        let mut s = self.state.lock().unwrap();
        let k = key(res, ns, name);
        let mut o = s.objects[&k].clone();
        f(&mut o);
        s.commit(k, Some(o));
    }
    /// Ends every open watch, as an API server restart does; the clients
    /// re-watch from the last resourceVersion they saw.
    pub fn close_watches(&self) {
        self.state.lock().unwrap().watchers.clear();
    }
    /// A kubeconfig for this server (token `admin-token` unless told).
    pub fn kubeconfig(&self, dir: &std::path::Path, token: &str) -> std::path::PathBuf {
        let p = dir.join(format!("kubeconfig-{token}"));
        std::fs::write(
            &p,
            format!(
                "apiVersion: v1\nkind: Config\nclusters:\n- name: test\n  cluster:\n    server: {}\nusers:\n- name: oncall\n  user:\n    token: {token}\ncontexts:\n- name: shop-test\n  context:\n    cluster: test\n    user: oncall\n    namespace: shop\ncurrent-context: shop-test\n",
                self.url
            ),
        )
        .unwrap();
        p
    }
}

/// Equal but for the resourceVersion.
fn same(a: &Value, b: &Value) -> bool {
    let strip = |v: &Value| {
        let mut v = v.clone();
        if let Some(m) = v["metadata"].as_object_mut() {
            m.remove("resourceVersion");
        }
        v
    };
    strip(a) == strip(b)
}

pub fn is_watch(r: &Req) -> bool {
    r.query
        .split('&')
        .any(|kv| kv == "watch=true" || kv == "watch=1")
}

/// `/api/v1/namespaces/shop/pods`, `/apis/apps/v1/namespaces/shop/deployments`.
pub fn is_collection(path: &str) -> bool {
    parse_path(path).is_some_and(|(_, _, name)| name.is_none())
}

/// `(resource, namespace, name)` of a namespaced path.
fn parse_path(path: &str) -> Option<(String, String, Option<String>)> {
    let rest = path
        .strip_prefix("/api/v1/namespaces/")
        .or_else(|| path.strip_prefix("/apis/apps/v1/namespaces/"))
        .or_else(|| path.strip_prefix("/apis/discovery.k8s.io/v1/namespaces/"))
        .or_else(|| path.strip_prefix("/apis/autoscaling/v2/namespaces/"))?;
    let mut it = rest.split('/');
    let ns = it.next()?.to_string();
    let res = it.next()?.to_string();
    Some((res, ns, it.next().map(str::to_string)))
}

fn param(r: &Req, name: &str) -> Option<String> {
    r.query
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| url_decode(v))
}

fn pairs(sel: Option<String>) -> Vec<(String, String)> {
    sel.unwrap_or_default()
        .split(',')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn field<'a>(o: &'a Value, path: &str) -> &'a Value {
    path.split('.').fold(o, |v, k| &v[k])
}

fn selects(o: &Value, labels: &[(String, String)], fields: &[(String, String)]) -> bool {
    labels
        .iter()
        .all(|(k, v)| o["metadata"]["labels"][k].as_str() == Some(v))
        && fields.iter().all(|(k, v)| field(o, k).as_str() == Some(v))
}

fn status(code: u16, fixture_name: &str) -> Resp {
    Resp::json(code, fixture(fixture_name))
}

fn refusal(code: u16, reason: &str, message: &str) -> Resp {
    Resp::json(
        code,
        json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
               "message": message, "reason": reason, "code": code}),
    )
}

/// The recorded cluster: namespace `shop` with the Deployment `catalog`,
/// its four ReplicaSets, three crash-looping pods, Warning events and one
/// EndpointSlice.
pub fn start() -> FakeK8s {
    let mut s = empty();
    s.put("deployments", fixture("01-get-deployment-catalog.json"));
    for (res, f) in [
        ("replicasets", "03-list-replicasets-catalog.json"),
        ("pods", "04-list-pods-catalog.json"),
        ("events", "05-list-events-shop.json"),
        ("endpointslices", "06-list-endpointslices-catalog.json"),
    ] {
        for o in fixture(f)["items"].as_array().unwrap() {
            s.put(res, o.clone());
        }
    }
    start_with(s)
}

/// A server with nothing in it: fill it with `put` before `start_with`.
pub fn empty() -> K8s {
    K8s {
        objects: BTreeMap::new(),
        namespaces: BTreeSet::new(),
        rv: 950,
        log: Vec::new(),
        compacted_below: 0,
        watchers: Vec::new(),
        race_after_get: false,
        fault: None,
        deny_patch: false,
        shutting_down: false,
        slow_list: Duration::ZERO,
        controller_every: Duration::from_millis(300),
        bookmark_every: Duration::from_secs(1),
        rollout: None,
        last_bookmark: Instant::now(),
        previous_logs: BTreeMap::new(),
        kubelet: None,
        refuse_watches: false,
        ssr_user: None,
        log_requests: Vec::new(),
        pull_digest: None,
    }
}

pub fn start_with(s: K8s) -> FakeK8s {
    let state = Arc::new(Mutex::new(s));
    let st = state.clone();
    let (addr, seen, door) = serve_with_door(Arc::new(move |r: &Req| handle(&st, r)));
    let weak = Arc::downgrade(&state);
    std::thread::spawn(move || clock(weak));
    FakeK8s {
        url: format!("http://{addr}"),
        state,
        seen,
        door,
    }
}

/// What the cluster does without being asked: the deployment controller
/// and the watch cache's bookmarks.
fn clock(st: Weak<Mutex<K8s>>) {
    loop {
        std::thread::sleep(Duration::from_millis(25));
        let Some(st) = st.upgrade() else { return };
        let mut s = st.lock().unwrap();
        if let Some((step, at)) = s.rollout
            && Instant::now() >= at
        {
            controller_step(&mut s, step);
            let every = s.controller_every;
            s.rollout = (step < 3).then(|| (step + 1, Instant::now() + every));
        }
        if s.last_bookmark.elapsed() >= s.bookmark_every {
            s.last_bookmark = Instant::now();
            let rv = s.rv.to_string();
            s.watchers.retain(|w| {
                if !w.bookmarks {
                    return !w.tx.is_closed();
                }
                let b = json!({"type": "BOOKMARK", "object": {"kind": kind_of(&w.res), "apiVersion": api_of(&w.res), "metadata": {"resourceVersion": rv}}});
                w.tx.send(b.to_string() + "\n").is_ok()
            });
        }
    }
}

fn kind_of(res: &str) -> &'static str {
    match res {
        "deployments" => "Deployment",
        "replicasets" => "ReplicaSet",
        "pods" => "Pod",
        "events" => "Event",
        "endpointslices" => "EndpointSlice",
        "horizontalpodautoscalers" => "HorizontalPodAutoscaler",
        _ => "Unknown",
    }
}

fn api_of(res: &str) -> &'static str {
    match res {
        "deployments" | "replicasets" => "apps/v1",
        "endpointslices" => "discovery.k8s.io/v1",
        "horizontalpodautoscalers" => "autoscaling/v2",
        _ => "v1",
    }
}

fn list_or_watch(s: &mut K8s, r: &Req, res: &str, ns: &str) -> Resp {
    let labels = pairs(param(r, "labelSelector"));
    let fields = pairs(param(r, "fieldSelector"));
    if !is_watch(r) {
        // Written item by item: a LIST of thousands of pods is the
        // double's own hot path in the scale benchmark.
        let items: Vec<String> = s
            .objects
            .range(key(res, ns, "")..)
            .take_while(|((r, n, _), _)| r == res && n == ns)
            .map(|(_, o)| o)
            .filter(|o| selects(o, &labels, &fields))
            .map(|o| o.to_string())
            .collect();
        let body = format!(
            "{{\"kind\":\"{}List\",\"apiVersion\":\"{}\",\"metadata\":{{\"resourceVersion\":\"{}\"}},\"items\":[{}]}}",
            kind_of(res),
            api_of(res),
            s.rv,
            items.join(",")
        );
        return Resp {
            status: 200,
            content_type: "application/json",
            body,
            delay: s.slow_list,
            stream: None,
            headers: Vec::new(),
        };
    }
    if s.refuse_watches {
        return refusal(503, "ServiceUnavailable", "the watch cache is not ready");
    }
    let from: u64 = param(r, "resourceVersion")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let until = Duration::from_secs(
        param(r, "timeoutSeconds")
            .and_then(|v| v.parse().ok())
            .unwrap_or(1800),
    );
    let (tx, rx) = unbounded_channel();
    if from > 0 && from < s.compacted_below {
        let gone = json!({"type": "ERROR", "object": {"kind": "Status", "apiVersion": "v1", "metadata": {},
            "status": "Failure", "message": format!("too old resource version: {from} ({})", s.compacted_below),
            "reason": "Expired", "code": 410}});
        let _ = tx.send(gone.to_string() + "\n");
        drop(tx);
        return streaming(rx, until);
    }
    let replay: Vec<String> = if from == 0 {
        s.objects
            .iter()
            .filter(|((r, n, _), o)| r == res && n == ns && selects(o, &labels, &fields))
            .map(|(_, o)| json!({"type": "ADDED", "object": o}).to_string() + "\n")
            .collect()
    } else {
        s.log
            .iter()
            .filter(|(v, (r, n, _), _, o)| {
                *v > from && r == res && n == ns && selects(o, &labels, &fields)
            })
            .map(|(_, _, t, o)| json!({"type": t, "object": o}).to_string() + "\n")
            .collect()
    };
    for l in replay {
        let _ = tx.send(l);
    }
    s.watchers.push(Watcher {
        res: res.into(),
        ns: ns.into(),
        labels,
        fields,
        bookmarks: param(r, "allowWatchBookmarks").as_deref() == Some("true"),
        tx,
    });
    streaming(rx, until)
}

fn streaming(lines: tokio::sync::mpsc::UnboundedReceiver<String>, until: Duration) -> Resp {
    Resp {
        status: 200,
        content_type: "application/json",
        body: String::new(),
        delay: Duration::ZERO,
        stream: Some(Stream { lines, until }),
        headers: Vec::new(),
    }
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
    let probe = r.path == "/version"
        || r.path
            .strip_prefix("/api/v1/namespaces/")
            .is_some_and(|n| !n.contains('/'));
    if !probe && let Some((code, body)) = s.fault.clone() {
        return Resp {
            status: code,
            content_type: "application/json",
            body,
            delay: Duration::ZERO,
            stream: None,
            headers: Vec::new(),
        };
    }
    if s.shutting_down {
        return refusal(503, "ServiceUnavailable", "apiserver is shutting down");
    }
    let p = r.path.as_str();
    if r.method == "GET" && p == "/version" {
        // As a v1.24 API server answers it (readable by every identity).
        return Resp::json(
            200,
            json!({"major": "1", "minor": "24", "gitVersion": "v1.24.17", "gitCommit": "22a9682c8fe855c321be75c5faacde343f909b04",
                   "gitTreeState": "clean", "buildDate": "2023-08-23T23:37:25Z", "goVersion": "go1.20.7", "compiler": "gc", "platform": "linux/amd64"}),
        );
    }
    if r.method == "POST" && p == "/apis/authentication.k8s.io/v1/selfsubjectreviews" {
        if let Some(u) = &s.ssr_user {
            let mut out = r.json();
            out["status"] =
                json!({"userInfo": {"username": u, "groups": ["system:authenticated"]}});
            return Resp::json(201, out);
        }
    }
    if r.method == "POST" && p == "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews" {
        // What an identity may do, as the authorizer answers it.
        let b = r.json();
        let attrs = b["spec"]["resourceAttributes"].clone();
        let allowed = !(s.deny_patch && attrs["verb"] == "patch");
        let mut out = b.clone();
        out["status"] = if allowed {
            json!({"allowed": true, "reason": "RBAC: allowed by RoleBinding \"oncall\" of Role \"deployer\" to User \"oncall\""})
        } else {
            json!({"allowed": false})
        };
        return Resp::json(201, out);
    }
    if r.method == "GET"
        && let Some(ns) = p.strip_prefix("/api/v1/namespaces/")
        && !ns.contains('/')
    {
        return if s.namespaces.contains(ns) {
            Resp::json(
                200,
                json!({"kind": "Namespace", "apiVersion": "v1", "metadata": {"name": ns}, "status": {"phase": "Active"}}),
            )
        } else {
            Resp::json(
                404,
                json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                       "message": format!("namespaces \"{ns}\" not found"), "reason": "NotFound",
                       "details": {"name": ns, "kind": "namespaces"}, "code": 404}),
            )
        };
    }
    if r.method == "GET" && p.ends_with("/log") {
        return pod_log(&mut s, r);
    }
    let Some((res, ns, name)) = parse_path(p) else {
        return refusal(
            404,
            "NotFound",
            "the server could not find the requested resource",
        );
    };
    match (r.method.as_str(), name) {
        ("GET", None) => list_or_watch(&mut s, r, &res, &ns),
        ("GET", Some(name)) => {
            let Some(out) = s.get(&res, &ns, &name).cloned() else {
                return if res == "deployments" && name == "inventory" {
                    status(404, "10-error-404-deployment-not-found.json")
                } else {
                    refusal(404, "NotFound", &format!("{res}.apps \"{name}\" not found"))
                };
            };
            if res == "deployments" && s.race_after_get {
                s.race_after_get = false;
                let mut d = out.clone();
                d["metadata"]["labels"]["touched-by"] = json!("someone-else");
                s.commit(key(&res, &ns, &name), Some(d));
            }
            Resp::json(200, out)
        }
        ("PATCH", Some(name)) if res == "deployments" => patch(&mut s, r, &ns, &name),
        _ => refusal(
            405,
            "MethodNotAllowed",
            "the server does not allow this method",
        ),
    }
}

/// `GET …/pods/{pod}/log` as the API server answers it: a container must
/// be named when the pod has several; `previous=true` only for a container
/// that has terminated before (400 otherwise, in the kubelet's words);
/// `tailLines` and `limitBytes` cut the text; `timestamps` prefixes lines.
fn pod_log(s: &mut K8s, r: &Req) -> Resp {
    s.log_requests.push(format!("{}?{}", r.path, r.query));
    match s.kubelet {
        // The API server proxies logs from the kubelet; without one it
        // answers 500 with the dial error (as a v1.24 server with no node).
        Some(None) => {
            return refusal(
                500,
                "InternalError",
                "Get \"https://node-1:10250/containerLogs/shop/catalog/catalog?previous=true\": dial tcp: lookup node-1 on 10.96.0.10:53: no such host",
            );
        }
        Some(Some(d)) => {
            let mut out = refusal(500, "InternalError", "net/http: TLS handshake timeout");
            out.delay = d;
            return out;
        }
        None => {}
    }
    let Some((_, ns, Some(pod))) = parse_path(r.path.trim_end_matches("/log")) else {
        return refusal(
            404,
            "NotFound",
            "the server could not find the requested resource",
        );
    };
    let Some(p) = s.get("pods", &ns, &pod).cloned() else {
        return refusal(404, "NotFound", &format!("pods \"{pod}\" not found"));
    };
    let statuses = p["status"]["containerStatuses"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let container = match param(r, "container") {
        Some(c) => c,
        None if statuses.len() == 1 => statuses[0]["name"].as_str().unwrap_or("").to_string(),
        None => {
            return refusal(
                400,
                "BadRequest",
                &format!("a container name must be specified for pod {pod}"),
            );
        }
    };
    let Some(c) = statuses.iter().find(|c| c["name"] == container.as_str()) else {
        return refusal(
            400,
            "BadRequest",
            &format!("container {container} is not valid for pod {pod}"),
        );
    };
    let previous = param(r, "previous").as_deref() == Some("true");
    let lines = if previous {
        if c["lastState"]["terminated"].is_null() {
            return refusal(
                400,
                "BadRequest",
                &format!(
                    "previous terminated container \"{container}\" in pod \"{pod}\" not found"
                ),
            );
        }
        s.previous_logs
            .get(&(pod.clone(), container.clone()))
            .cloned()
            .unwrap_or_default()
    } else {
        vec![]
    };
    let tail = param(r, "tailLines")
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(usize::MAX);
    let stamped = param(r, "timestamps").as_deref() == Some("true");
    let mut body: String = lines[lines.len().saturating_sub(tail)..]
        .iter()
        .map(|l| {
            if stamped {
                format!("2026-11-22T03:58:01.123456789Z {l}\n")
            } else {
                format!("{l}\n")
            }
        })
        .collect();
    if let Some(limit) = param(r, "limitBytes").and_then(|v| v.parse::<usize>().ok()) {
        body.truncate(limit.min(body.len()));
    }
    Resp {
        status: 200,
        content_type: "text/plain",
        body,
        delay: Duration::ZERO,
        stream: None,
        headers: Vec::new(),
    }
}

fn patch(s: &mut K8s, r: &Req, ns: &str, name: &str) -> Resp {
    if r.header("content-type") != Some("application/json-patch+json") {
        return refusal(
            415,
            "UnsupportedMediaType",
            "the body of the request was in an unknown format",
        );
    }
    let Ok(ops) = serde_json::from_str::<Vec<Value>>(&r.body) else {
        return status(400, "10-error-400-malformed-patch-body-response.json");
    };
    let Some(mut d) = s.get("deployments", ns, name).cloned() else {
        return status(404, "10-error-404-deployment-not-found.json");
    };
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
            // `kubectl rollout restart`'s annotation, and the map it goes in.
            (Some("add"), Some("/spec/template/metadata/annotations")) => {
                d["spec"]["template"]["metadata"]["annotations"] = op["value"].clone()
            }
            (Some("add"), Some(p)) if p.starts_with("/spec/template/metadata/annotations/") => {
                let k = p["/spec/template/metadata/annotations/".len()..]
                    .replace("~1", "/")
                    .replace("~0", "~");
                if !d["spec"]["template"]["metadata"]["annotations"].is_object() {
                    return status(422, "10-error-422-json-patch-path-missing-response.json");
                }
                d["spec"]["template"]["metadata"]["annotations"][k] = op["value"].clone();
            }
            _ => return status(422, "09-json-patch-test-rv-stale-response.json"),
        }
    }
    d["metadata"]["generation"] = json!(d["metadata"]["generation"].as_i64().unwrap_or(0) + 1);
    if r.query.contains("dryRun=All") {
        return Resp::json(200, d);
    }
    s.commit(key("deployments", ns, name), Some(d));
    s.rollout = Some((1, Instant::now() + s.controller_every));
    Resp::json(200, s.get("deployments", ns, name).unwrap().clone())
}

fn hashless(t: &Value) -> Value {
    let mut t = t.clone();
    if let Some(l) = t["metadata"]["labels"].as_object_mut() {
        l.remove("pod-template-hash");
    }
    t
}

/// The deployment controller's reaction to a rollback of `shop/catalog`,
/// one step per `controller_every`: the matching ReplicaSet becomes the
/// newest revision, the new pods come up, the old ones go.
fn controller_step(s: &mut K8s, step: u32) {
    let mut d = s.deployment();
    let want = hashless(&d["spec"]["template"]);
    let generation = d["metadata"]["generation"].clone();
    match step {
        1 => {
            let max = s.max_revision();
            if !s
                .of("replicasets", "shop")
                .iter()
                .any(|rs| hashless(&rs["spec"]["template"]) == want)
            {
                // A template no ReplicaSet has (a restart): a new one.
                s.new_replicaset(&d["spec"]["template"], max + 1);
            }
            for mut rs in s.of("replicasets", "shop") {
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
                    let k = key(
                        "replicasets",
                        "shop",
                        rs["metadata"]["name"].as_str().unwrap(),
                    );
                    s.commit(k, Some(rs));
                }
            }
            d["metadata"]["annotations"]["deployment.kubernetes.io/revision"] =
                json!((max + 1).to_string());
            d["status"]["observedGeneration"] = generation;
            d["status"]["updatedReplicas"] = json!(1);
            d["status"]["replicas"] = json!(4);
        }
        2 => {
            d["status"]["updatedReplicas"] = json!(3);
            d["status"]["replicas"] = json!(4);
        }
        _ => {
            // The new pods pass their readiness probes: the Service's
            // endpoints turn ready, as the EndpointSlice controller does.
            for mut sl in s.of("endpointslices", "shop") {
                for e in sl["endpoints"].as_array_mut().into_iter().flatten() {
                    e["conditions"]["ready"] = json!(true);
                }
                let k = key(
                    "endpointslices",
                    "shop",
                    sl["metadata"]["name"].as_str().unwrap(),
                );
                s.commit(k, Some(sl));
            }
            let after = fixture("07-get-deployment-catalog-after-undo.json");
            d["status"] = after["status"].clone();
            d["status"]["observedGeneration"] = generation;
            let old_pods = s.of("pods", "shop");
            for p in &old_pods {
                let k = key("pods", "shop", p["metadata"]["name"].as_str().unwrap());
                s.commit(k, None);
            }
            let restarted = !d["spec"]["template"]["metadata"]["annotations"]
                ["kubectl.kubernetes.io/restartedAt"]
                .is_null();
            let recorded = fixture("07-list-pods-catalog-after-undo.json")["items"]
                .as_array()
                .unwrap()
                .clone();
            // The recorded pods are revision 2's: a template they do not
            // run (pinned by digest, restarted) gets pods of its own.
            let image = &want["spec"]["containers"][0]["image"];
            let runs_it = recorded
                .iter()
                .all(|p| p["spec"]["containers"][0]["image"] == *image);
            let pods = if restarted || !runs_it {
                s.restarted_pods(&want, &old_pods)
            } else {
                recorded
            };
            for mut p in pods {
                p["metadata"]["namespace"] = json!("shop");
                let k = key("pods", "shop", p["metadata"]["name"].as_str().unwrap());
                s.commit(k, Some(p));
            }
        }
    }
    s.commit(key("deployments", "shop", "catalog"), Some(d));
}
