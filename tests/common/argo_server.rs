//! An in-test Argo CD API server: the endpoints rbtui uses, with the
//! swagger's shapes and the real server's status codes and error texts
//! (../shared/reference/argocd-behaviour.md). It records every request.
#![allow(dead_code)]
#![allow(clippy::unwrap_used)] // a failed unwrap in a test is a failed test

pub use crate::common::http::Req;
use crate::common::http::read_req;
use serde_json::{Value, json};
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::AsyncWriteExt;

pub const TOKEN: &str = "eyJhbGciOiJIUzI1NiJ9.test-token-for-rbtui.c2lnbmF0dXJl";
/// A token of account `ci-bot` whose project role may get and update
/// applications but not sync them (`argocd account can-i sync …` → no).
pub const NOSYNC: &str = "eyJhbGciOiJIUzI1NiJ9.ci-bot-no-sync.c2lnbmF0dXJl";
pub const GOOD: &str = "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678";
pub const BAD: &str = "d8f3c2a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3";

/// What to do to the next matching request instead of answering normally.
#[derive(Debug, Clone)]
pub enum Fault {
    Status(u16, String),
    Malformed,
    Hang(Duration),
    /// Like a real server behind a flaky proxy: the request is applied,
    /// then the answer is this status (the client never learns it worked).
    AppliedThen(u16),
}

pub struct State {
    pub app: Value,
    pub version: String,
    pub requests: Vec<Req>,
    /// Reads of the app until a running operation finishes.
    pub op_reads: u32,
    /// How the next operation ends: "Succeeded" or "Failed" with a message.
    pub op_outcome: (String, String),
    pub faults: VecDeque<(String, Fault)>,
    pub images: Value,
    /// Bumping it closes every open application stream.
    pub stream_epoch: u32,
    /// A commit pushed to the app's branch that Argo CD has not compared
    /// yet: like the real server, it shows only after a refresh completes
    /// (asked with `?refresh=normal`, visible on a later read).
    pub pending_head: Option<String>,
    pub refresh_asked: bool,
    /// After its first event the stream stays open and sends nothing more
    /// (a proxy that buffers, a server whose informer stalled).
    pub stream_silent: bool,
}

pub struct FakeArgo {
    pub addr: SocketAddr,
    pub state: Arc<Mutex<State>>,
}

impl FakeArgo {
    pub fn base(&self) -> String {
        format!("http://{}", self.addr)
    }
    pub fn requests(&self) -> Vec<Req> {
        self.state.lock().unwrap().requests.clone()
    }
    pub fn mutating(&self) -> Vec<Req> {
        self.requests()
            .into_iter()
            .filter(|r| r.method != "GET")
            .collect()
    }
    pub fn fault(&self, path_contains: &str, f: Fault) {
        self.state
            .lock()
            .unwrap()
            .faults
            .push_back((path_contains.into(), f));
    }
    pub fn with<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        f(&mut self.state.lock().unwrap())
    }
}

fn hist(id: i64, sha: &str, at: &str, user: Option<&str>) -> Value {
    let mut h = json!({
        "id": id,
        "revision": sha,
        "deployStartedAt": at,
        "deployedAt": at,
        "source": {"repoURL": "https://github.com/acme/shop-config.git", "path": "apps/orders/overlays/prod", "targetRevision": "HEAD"},
        "initiatedBy": {"automated": true}
    });
    if let Some(u) = user {
        h["initiatedBy"] = json!({"username": u});
    }
    h
}

/// `orders-prod`, auto-sync on, degraded on history id 42 (the bad sync).
pub fn app() -> Value {
    json!({
        "metadata": {"name": "orders-prod", "namespace": "argocd", "resourceVersion": "7741", "uid": "3c1e"},
        "spec": {
            "project": "shop",
            "source": {"repoURL": "https://github.com/acme/shop-config.git", "path": "apps/orders/overlays/prod", "targetRevision": "HEAD"},
            "destination": {"server": "https://kubernetes.default.svc", "namespace": "shop"},
            "syncPolicy": {"automated": {"prune": true, "selfHeal": true}}
        },
        "status": {
            "sync": {"status": "Synced", "revision": BAD, "comparedTo": {"source": {"repoURL": "https://github.com/acme/shop-config.git"}}},
            "health": {"status": "Degraded", "message": "Deployment \"orders\" exceeded its progress deadline"},
            "history": [
                hist(39, "5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b", "2026-11-19T09:31:55Z", None),
                hist(40, "9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d", "2026-11-19T17:42:09Z", Some("eva.lund")),
                hist(41, GOOD, "2026-11-20T11:08:51Z", None),
                hist(42, BAD, "2026-11-22T02:35:13Z", None)
            ],
            "operationState": {
                "phase": "Succeeded", "message": "successfully synced (all tasks run)",
                "startedAt": "2026-11-22T02:35:10Z", "finishedAt": "2026-11-22T02:35:13Z",
                "syncResult": {"revision": BAD}
            },
            "summary": {"images": ["ghcr.io/acme/orders:git-d8f3c2a"]}
        }
    })
}

pub fn start() -> FakeArgo {
    let state = Arc::new(Mutex::new(State {
        app: app(),
        version: "v3.1.8+e7a1d42".into(),
        requests: Vec::new(),
        op_reads: 0,
        op_outcome: (
            "Succeeded".into(),
            "successfully synced (all tasks run)".into(),
        ),
        faults: VecDeque::new(),
        images: json!(["ghcr.io/acme/orders:git-d8f3c2a"]),
        stream_epoch: 0,
        pending_head: None,
        refresh_asked: false,
        stream_silent: false,
    }));
    let (tx, rx) = std::sync::mpsc::channel();
    let st = state.clone();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            // The application controller acts on its own clock, whether
            // anyone reads the app or not.
            let ctl = st.clone();
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    controller_tick(&mut ctl.lock().unwrap());
                }
            });
            let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(l.local_addr().unwrap()).unwrap();
            loop {
                let Ok((mut sock, _)) = l.accept().await else { return };
                let st = st.clone();
                tokio::spawn(async move {
                    let Some(req) = read_req(&mut sock).await else { return };
                    if req.path == "/api/v1/stream/applications" {
                        st.lock().unwrap().requests.push(req.clone());
                        stream(&st, &req, &mut sock).await;
                        return;
                    }
                    let fault = {
                        let mut s = st.lock().unwrap();
                        s.requests.push(req.clone());
                        let i = s.faults.iter().position(|(p, _)| req.path.contains(p.as_str()));
                        i.and_then(|i| s.faults.remove(i)).map(|(_, f)| f)
                    };
                    let (code, ctype, body) = match fault {
                        Some(Fault::Status(c, b)) => (c, "application/json", b),
                        Some(Fault::Malformed) => (200, "application/json", "{\"metadata\": {\"name\": ".to_string()),
                        Some(Fault::Hang(d)) => {
                            tokio::time::sleep(d).await;
                            (200, "application/json", "{}".into())
                        }
                        Some(Fault::AppliedThen(c)) => {
                            let _ = handle(&st, &req);
                            (c, "text/plain", "upstream connect error or disconnect/reset before headers".to_string())
                        }
                        None => handle(&st, &req),
                    };
                    let resp = format!(
                        "HTTP/1.1 {code} X\r\ncontent-type: {ctype}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = sock.write_all(resp.as_bytes()).await;
                    let _ = sock.shutdown().await;
                });
            }
        });
    });
    FakeArgo {
        addr: rx.recv().unwrap(),
        state,
    }
}

/// Like the real server: no headers until the first matching event, one
/// JSON object per line, identical consecutive states not repeated.
async fn stream(st: &Arc<Mutex<State>>, req: &Req, sock: &mut tokio::net::TcpStream) {
    if req.header("authorization") != Some(&format!("Bearer {TOKEN}")) {
        let body = json!({"error": "no session information", "code": 16, "message": "no session information"}).to_string();
        let _ = sock
            .write_all(
                format!(
                    "HTTP/1.1 401 X\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                )
                .as_bytes(),
            )
            .await;
        return;
    }
    let epoch = st.lock().unwrap().stream_epoch;
    let mut last = String::new();
    let mut first = true;
    loop {
        let (app, now_epoch) = {
            let s = st.lock().unwrap();
            (s.app.clone(), s.stream_epoch)
        };
        if now_epoch != epoch {
            return;
        }
        let wanted = req
            .query
            .split('&')
            .any(|kv| kv == format!("name={}", app["metadata"]["name"].as_str().unwrap()));
        let text = app.to_string();
        let silent = !first && st.lock().unwrap().stream_silent;
        if wanted && text != last && !silent {
            if first
                && sock.write_all(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nconnection: close\r\n\r\n").await.is_err() {
                    return;
                }
            let kind = if first { "ADDED" } else { "MODIFIED" };
            let line = json!({"result": {"type": kind, "application": app}}).to_string() + "\n";
            if sock.write_all(line.as_bytes()).await.is_err() {
                return;
            }
            first = false;
            last = text;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The account a token belongs to and the actions its role grants on
/// applications, as Argo CD's RBAC (Casbin) would decide them.
fn account(auth: &str) -> (&'static str, &'static [&'static str]) {
    match auth.strip_prefix("Bearer ").unwrap_or("") {
        "readonly" => ("readonly", &["get"]),
        NOSYNC => ("ci-bot", &["get", "update"]),
        _ => (
            "admin",
            &[
                "get", "create", "update", "delete", "sync", "override", "action",
            ],
        ),
    }
}

/// `server/account/account.go` CanI: an unknown action or resource is
/// InvalidArgument (`%v does not contain %s`, Go's slice formatting);
/// otherwise the enforcer's answer as `{"value": "yes"|"no"}` with 200 —
/// a refusal is not an error.
fn can_i(auth: &str, rest: &str) -> (u16, &'static str, String) {
    const ACTIONS: &[&str] = &[
        "get", "create", "update", "delete", "sync", "override", "action",
    ];
    const RESOURCES: &[&str] = &[
        "clusters",
        "projects",
        "applications",
        "applicationsets",
        "repositories",
        "certificates",
        "accounts",
        "gpgkeys",
        "logs",
        "exec",
        "extensions",
    ];
    // The route is `{resource}/{action}/{subresource=**}`: the
    // subresource keeps its slashes (`project/app`).
    let mut parts = rest.splitn(3, '/');
    let (res, act) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    if !ACTIONS.contains(&act) {
        return err(
            400,
            3,
            &format!("[{}] does not contain {act}", ACTIONS.join(" ")),
        );
    }
    if !RESOURCES.contains(&res) {
        return err(
            400,
            3,
            &format!("[{}] does not contain {res}", RESOURCES.join(" ")),
        );
    }
    let (_, may) = account(auth);
    let yes = res == "applications" && may.contains(&act);
    (
        200,
        "application/json",
        json!({"value": if yes { "yes" } else { "no" }}).to_string(),
    )
}

/// The 403 text of `enf.EnforceErr`, naming the account as `sub`.
fn denied(auth: &str, action: &str, object: &str) -> (u16, &'static str, String) {
    let (user, _) = account(auth);
    err(
        403,
        7,
        &format!(
            "permission denied: applications, {action}, {object}, sub: {user}, iat: 2026-11-22T01:00:00Z"
        ),
    )
}

fn may(auth: &str, action: &str) -> bool {
    account(auth).1.contains(&action)
}

/// A history entry's (or an operation's) revision, or a multi-source
/// one's first: the double's health and images follow the first source.
fn first_rev(v: &Value) -> Value {
    if v["revisions"].is_array() {
        v["revisions"][0].clone()
    } else {
        v["revision"].clone()
    }
}

/// Turns the app into a multi-source one (`spec.sources`: the chart, then
/// the values repo), as Argo CD holds it: every history entry, the sync
/// status and the last operation carry `revisions[]`/`sources[]` and no
/// `revision`/`source`; `status.sync.revision` is not set.
pub fn make_multi_source(s: &mut State, values_rev: &str) {
    let src =
        |repo: &str, path: &str| json!({"repoURL": repo, "path": path, "targetRevision": "main"});
    let (chart, values) = (
        src(
            "https://github.com/acme/shop-config.git",
            "apps/orders/overlays/prod",
        ),
        src("https://github.com/acme/shop-values.git", "prod"),
    );
    s.app["spec"].as_object_mut().unwrap().remove("source");
    s.app["spec"]["sources"] = json!([chart, values]);
    for h in s.app["status"]["history"].as_array_mut().unwrap() {
        let rev = h["revision"].as_str().unwrap().to_string();
        let obj = h.as_object_mut().unwrap();
        obj.remove("revision");
        obj.remove("source");
        obj.insert("revisions".into(), json!([rev, values_rev]));
        obj.insert("sources".into(), json!([chart, values]));
    }
    let head = s.app["status"]["sync"]["revision"]
        .as_str()
        .unwrap()
        .to_string();
    let sync = s.app["status"]["sync"].as_object_mut().unwrap();
    sync.remove("revision");
    sync.insert("revisions".into(), json!([head, values_rev]));
    sync.insert("comparedTo".into(), json!({"sources": [chart, values]}));
    s.app["status"]["operationState"]["syncResult"] = json!({"revisions": [head, values_rev]});
}

fn err(http: u16, code: i64, msg: &str) -> (u16, &'static str, String) {
    (
        http,
        "application/json",
        json!({"error": msg, "code": code, "message": msg}).to_string(),
    )
}

fn auto_sync_on(app: &Value) -> bool {
    let a = &app["spec"]["syncPolicy"]["automated"];
    !a.is_null() && a["enabled"] != json!(false)
}

/// RFC 7386 JSON merge patch.
fn merge(target: &mut Value, patch: &Value) {
    if let Value::Object(p) = patch {
        if !target.is_object() {
            *target = json!({});
        }
        let t = target.as_object_mut().unwrap();
        for (k, v) in p {
            if v.is_null() {
                t.remove(k);
            } else {
                merge(t.entry(k.clone()).or_insert(Value::Null), v);
            }
        }
    } else {
        *target = patch.clone();
    }
}

fn handle(st: &Arc<Mutex<State>>, req: &Req) -> (u16, &'static str, String) {
    let mut s = st.lock().unwrap();
    let auth = req.header("authorization").unwrap_or("");
    if !req.path.starts_with("/api/") {
        return (404, "text/plain", "Not Found".into());
    }
    if req.path == "/api/version" {
        return (
            200,
            "application/json",
            json!({"Version": s.version}).to_string(),
        );
    }
    match auth.strip_prefix("Bearer ") {
        None => return err(401, 16, "no session information"),
        Some("expired") => {
            return err(
                401,
                16,
                "invalid session: token has invalid claims: token is expired",
            );
        }
        Some(t) if t != TOKEN && t != "readonly" && t != NOSYNC => {
            return err(
                401,
                16,
                "invalid session: token signature is invalid: signature is invalid",
            );
        }
        _ => {}
    }
    if req.path == "/api/v1/session/userinfo" {
        let (user, _) = account(auth);
        return (
            200,
            "application/json",
            json!({"loggedIn": true, "username": user, "iss": "argocd"}).to_string(),
        );
    }
    if let Some(rest) = req.path.strip_prefix("/api/v1/account/can-i/") {
        return can_i(auth, rest);
    }
    if req.method != "GET" && req.header("content-type") != Some("application/json") {
        return (415, "text/plain", "Invalid content type".into());
    }
    let name = s.app["metadata"]["name"].as_str().unwrap().to_string();
    let rest = req.path.trim_start_matches("/api/v1/applications");
    let rest = rest.trim_start_matches('/');
    let (app_name, sub) = rest
        .split_once('/')
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .unwrap_or((rest.to_string(), String::new()));
    if req.path == "/api/v1/applications" {
        let sel_ok =
            req.query.contains("selector=team%3Dshop") || req.query.contains("selector=team=shop");
        let items = if sel_ok { vec![s.app.clone()] } else { vec![] };
        return (
            200,
            "application/json",
            json!({"items": items, "metadata": {}}).to_string(),
        );
    }
    if !req.path.starts_with("/api/v1/applications/") {
        return (404, "text/plain", "Not Found".into());
    }
    if app_name != name {
        return if req.query.contains("project=") {
            err(
                404,
                5,
                &format!("applications.argoproj.io \"{app_name}\" not found"),
            )
        } else {
            err(403, 7, "permission denied")
        };
    }
    match (req.method.as_str(), sub.as_str()) {
        ("GET", "") => {
            advance_operation(&mut s);
            if std::mem::take(&mut s.refresh_asked) {
                if let Some(h) = s.pending_head.take() {
                    if s.app["status"]["sync"]["revisions"].is_array() {
                        s.app["status"]["sync"]["revisions"][0] = json!(h);
                    } else {
                        s.app["status"]["sync"]["revision"] = json!(h);
                    }
                }
            }
            // The refresh runs in the controller: this answer is from before.
            if req.query.contains("refresh=normal") {
                s.refresh_asked = true;
            }
            (200, "application/json", s.app.to_string())
        }
        ("GET", m) if m.starts_with("revisions/") && m.ends_with("/metadata") => {
            let rev = m
                .trim_start_matches("revisions/")
                .trim_end_matches("/metadata");
            let message = if rev.starts_with("f00dfee") {
                format!("Revert \"orders: drop legacy_total\"\n\nThis reverts commit {BAD}.")
            } else {
                "orders: change".to_string()
            };
            (200, "application/json", json!({"author": "Alice <alice@acme.net>", "date": "2026-11-22T03:20:00Z", "message": message}).to_string())
        }
        // The rendered manifests of a revision, as JSON strings (what the
        // repo server answers). One revision (40) was built from `:latest`.
        ("GET", "manifests") => {
            // Multi-source: `revisions=…&sourcePositions=…` per source; the
            // image comes from the first (the chart's values pin it).
            let rev = req
                .query
                .split('&')
                .find_map(|kv| {
                    kv.strip_prefix("revision=")
                        .or(kv.strip_prefix("revisions="))
                })
                .unwrap_or("")
                .to_string();
            if rev.is_empty() || rev.len() < 7 {
                return err(400, 3, "revision is required");
            }
            let image = if rev.starts_with("9e8d7c6") {
                "ghcr.io/acme/orders:latest".to_string()
            } else {
                format!("ghcr.io/acme/orders:git-{}", &rev[..7])
            };
            let deploy = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "orders", "namespace": "shop"},
                "spec": {"template": {"spec": {"initContainers": [{"name": "migrate", "image": image}], "containers": [{"name": "orders", "image": image}]}}}});
            let svc = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "orders"}, "spec": {"ports": [{"port": 80}]}});
            (200, "application/json", json!({"manifests": [deploy.to_string(), svc.to_string()], "revision": rev, "sourceType": "Kustomize"}).to_string())
        }
        ("GET", "events") => {
            // The Application's own events, as the server lists them.
            let degraded = s.app["status"]["health"]["status"] != "Healthy";
            let mut items = vec![
                json!({"type": "Normal", "reason": "ResourceUpdated", "count": 1,
                "involvedObject": {"kind": "Application", "name": name}, "lastTimestamp": "2026-11-22T03:40:00Z",
                "message": "Updated sync status: OutOfSync -> Synced"}),
            ];
            if degraded {
                items.push(json!({"type": "Normal", "reason": "ResourceUpdated", "count": 3,
                    "involvedObject": {"kind": "Application", "name": name}, "lastTimestamp": "2026-11-22T03:41:00Z",
                    "message": "Updated health status: Healthy -> Degraded"}));
            }
            (
                200,
                "application/json",
                json!({"metadata": {}, "items": items}).to_string(),
            )
        }
        ("GET", "logs") => {
            // A finite stream (follow=false): one JSON result per line, a
            // last empty one; a pod with no previous container is an error
            // line, as the server streams it.
            let q = |k: &str| {
                req.query
                    .split('&')
                    .find_map(|kv| kv.strip_prefix(&format!("{k}=")))
                    .unwrap_or("")
                    .to_string()
            };
            let pod = q("podName");
            let healthy = s.app["status"]["health"]["status"] == "Healthy";
            let mut out = String::new();
            if q("previous") == "true" && healthy {
                out.push_str(&json!({"error": {"message": format!("previous terminated container \"orders\" in pod \"{pod}\" not found")}}).to_string());
                out.push('\n');
            } else {
                for (i, l) in [
                    "starting orders",
                    "panic: column orders.legacy_total does not exist",
                ]
                .iter()
                .enumerate()
                {
                    out.push_str(&json!({"result": {"content": l, "timeStampStr": format!("2026-11-22T03:41:0{i}Z"), "podName": pod, "last": false}}).to_string());
                    out.push('\n');
                }
                out.push_str(&json!({"result": {"content": "", "last": true}}).to_string());
                out.push('\n');
            }
            (200, "application/json", out)
        }
        ("GET", "resource-tree") => {
            let healthy = s.app["status"]["health"]["status"] == "Healthy";
            let pod = |i: usize| {
                json!({"kind": "Pod", "name": format!("orders-{i}"), "namespace": "shop", "version": "v1",
                  "health": {"status": if healthy { "Healthy" } else { "Degraded" }},
                  "images": s.images,
                  "info": [{"name": "Status Reason", "value": if healthy { "Running" } else { "CrashLoopBackOff" }}, {"name": "Restart Count", "value": if healthy { "0" } else { "7" }}]})
            };
            (200, "application/json", json!({"nodes": [
                {"kind": "Deployment", "group": "apps", "name": "orders", "namespace": "shop", "info": [{"name": "Revision", "value": "Rev:5"}],
                 "health": {"status": if healthy { "Healthy" } else { "Degraded" }}},
                pod(0), pod(1)
            ]}).to_string())
        }
        ("PATCH", "") => {
            if !may(auth, "update") {
                return denied(auth, "update", &format!("shop/{name}"));
            }
            let b = req.json();
            let Some(patch) = b["patch"].as_str() else {
                return err(400, 3, "patch is required");
            };
            let Ok(p) = serde_json::from_str::<Value>(patch) else {
                return err(500, 2, "error applying patch: invalid character");
            };
            if b["patchType"] != "merge" {
                return err(400, 3, "Patch type 'json' is not supported here");
            }
            merge(&mut s.app, &p);
            (200, "application/json", s.app.to_string())
        }
        ("POST", "rollback") => {
            if !may(auth, "sync") {
                return denied(auth, "sync", &format!("shop/{name}"));
            }
            let b: Value = match serde_json::from_str(&req.body) {
                Ok(v) => v,
                Err(e) => return err(400, 3, &format!("invalid character: {e}")),
            };
            let Some(id) = b["id"].as_i64() else {
                return err(
                    400,
                    3,
                    "json: cannot unmarshal string into Go value of type int64",
                );
            };
            if auto_sync_on(&s.app) {
                return err(
                    400,
                    9,
                    "rollback cannot be initiated when auto-sync is enabled",
                );
            }
            if s.app["status"]["operationState"]["phase"] == "Running" {
                return err(400, 9, "another operation is already in progress");
            }
            let hist = s.app["status"]["history"].as_array().unwrap().clone();
            let Some(h) = hist.iter().find(|h| h["id"] == id) else {
                return err(
                    400,
                    3,
                    &format!("application argocd/{name} does not have deployment with id {id}"),
                );
            };
            let dry = b["dryRun"] == true;
            // server/application Rollback: a multi-source entry syncs
            // `revisions` + `sources`, a single-source one `revision`.
            let (op, result) = if h["revisions"].is_array() {
                (
                    json!({"sync": {"revisions": h["revisions"], "sources": h["sources"], "prune": b["prune"], "dryRun": dry}, "initiatedBy": {"username": "rbtui"}}),
                    json!({"revisions": h["revisions"]}),
                )
            } else {
                (
                    json!({"sync": {"revision": h["revision"], "prune": b["prune"], "dryRun": dry}, "initiatedBy": {"username": "rbtui"}}),
                    json!({"revision": h["revision"]}),
                )
            };
            s.app["operation"] = op.clone();
            s.app["status"]["operationState"] = json!({
                "phase": "Running", "message": if dry { "waiting for completion of hook batch/Job/migrate (dry run)" } else { "waiting for completion of hook batch/Job/migrate" },
                "startedAt": "2026-11-22T03:00:00Z", "operation": op, "syncResult": result
            });
            s.op_reads = 3;
            (200, "application/json", s.app.to_string())
        }
        _ => (404, "text/plain", "Not Found".into()),
    }
}

/// What Argo CD's controller does unasked: with auto-sync on and the app
/// OutOfSync, it syncs HEAD (`status.sync.revision`) — the bad commit too,
/// if nobody reverted it — and finishes its own operations.
fn controller_tick(s: &mut State) {
    let running = s.app["status"]["operationState"]["phase"] == "Running";
    let automated = s.app["operation"]["initiatedBy"]["automated"] == true;
    if running && automated {
        advance_operation(s);
        return;
    }
    if !running && auto_sync_on(&s.app) && s.app["status"]["sync"]["status"] == "OutOfSync" {
        // Every source at what it points at now.
        let sync = &s.app["status"]["sync"];
        let at = if sync["revisions"].is_array() {
            json!({"revisions": sync["revisions"]})
        } else {
            json!({"revision": sync["revision"]})
        };
        let op = json!({"sync": at, "initiatedBy": {"automated": true}});
        s.app["operation"] = op.clone();
        s.app["status"]["operationState"] = json!({
            "phase": "Running", "message": "auto sync in progress",
            "startedAt": "2026-11-22T03:05:00Z", "operation": op, "syncResult": at
        });
        s.op_reads = 2;
    }
}

/// Running → outcome after a few reads; a successful rollback adds history
/// id max+1 with the target revision, makes the app healthy, and leaves
/// `status.sync.revision` at HEAD (OutOfSync), as the real server does.
fn advance_operation(s: &mut State) {
    if s.app["status"]["operationState"]["phase"] != "Running" {
        return;
    }
    if s.op_reads > 0 {
        s.op_reads -= 1;
        return;
    }
    let automated = s.app["operation"]["initiatedBy"]["automated"] == true;
    let (phase, msg) = if automated {
        (
            "Succeeded".to_string(),
            "successfully synced (auto-sync)".to_string(),
        )
    } else {
        s.op_outcome.clone()
    };
    let dry = s.app["operation"]["sync"]["dryRun"] == true;
    let op_sync = s.app["operation"]["sync"].clone();
    let rev = first_rev(&op_sync);
    s.app["status"]["operationState"]["phase"] = json!(phase);
    s.app["status"]["operationState"]["message"] =
        json!(if dry { format!("{msg} (dry run)") } else { msg });
    s.app["status"]["operationState"]["finishedAt"] = json!("2026-11-22T03:00:09Z");
    s.app.as_object_mut().unwrap().remove("operation");
    if phase == "Succeeded" && !dry {
        let sources = s.app["spec"]["sources"].clone();
        let hist = s.app["status"]["history"].as_array_mut().unwrap();
        let max = hist
            .iter()
            .filter_map(|h| h["id"].as_i64())
            .max()
            .unwrap_or(0);
        let r = rev.as_str().unwrap_or("").to_string();
        let mut entry = hist_entry(max + 1, &r);
        if automated {
            entry["initiatedBy"] = json!({"automated": true});
        }
        if op_sync["revisions"].is_array() {
            let obj = entry.as_object_mut().unwrap();
            obj.remove("revision");
            obj.remove("source");
            obj.insert("revisions".into(), op_sync["revisions"].clone());
            obj.insert("sources".into(), sources);
        }
        hist.push(entry);
        // Synced only when it deployed what every source points at.
        let sync = &s.app["status"]["sync"];
        let synced = if op_sync["revisions"].is_array() {
            sync["revisions"] == op_sync["revisions"]
        } else {
            sync["revision"] == rev
        };
        s.app["status"]["sync"]["status"] = json!(if synced { "Synced" } else { "OutOfSync" });
        s.app["status"]["health"] = if r == BAD {
            json!({"status": "Degraded", "message": "Deployment \"orders\" exceeded its progress deadline"})
        } else {
            json!({"status": "Healthy"})
        };
        s.images = json!([format!("ghcr.io/acme/orders:git-{}", &r[..r.len().min(7)])]);
        s.app["status"]["summary"]["images"] = s.images.clone();
    }
}

fn hist_entry(id: i64, sha: &str) -> Value {
    let mut h = hist(id, sha, "2026-11-22T03:00:09Z", Some("rbtui"));
    h["deployStartedAt"] = json!("2026-11-22T03:00:00Z");
    h
}
