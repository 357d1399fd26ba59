//! Shared watches: one per (namespace, resource) for the five resources
//! that health and history read — Deployments, ReplicaSets, Pods,
//! EndpointSlices and Warning events — feeding every target in that
//! namespace. Per-target LISTs every poll grew with the number of targets
//! (two namespace-wide LISTs per target every 2 s); once these have synced
//! the API server sees no LIST at all, only the watches kube's watcher
//! renews from the last resourceVersion (bookmarks keep it current; a 410
//! Gone re-lists once).
//!
//! A watch that is open says nothing about whether the server still
//! answers (a graceful shutdown keeps watches open): the backend's probe
//! says that. What this says is whether each watch has synced and whether
//! it is failing.

use crate::core::error::BackendError;
use futures::StreamExt;
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind};
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, Event};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};
use tokio::sync::mpsc::UnboundedSender;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Res {
    Deployments,
    ReplicaSets,
    Pods,
    EndpointSlices,
    Events,
}

impl Res {
    pub const ALL: [Res; 5] = [
        Res::Deployments,
        Res::ReplicaSets,
        Res::Pods,
        Res::EndpointSlices,
        Res::Events,
    ];
    fn api(self) -> ApiResource {
        let (g, v, k) = match self {
            Res::Deployments => ("apps", "v1", "Deployment"),
            Res::ReplicaSets => ("apps", "v1", "ReplicaSet"),
            Res::Pods => ("", "v1", "Pod"),
            Res::EndpointSlices => ("discovery.k8s.io", "v1", "EndpointSlice"),
            Res::Events => ("", "v1", "Event"),
        };
        ApiResource::from_gvk(&GroupVersionKind::gvk(g, v, k))
    }
    pub fn plural(self) -> &'static str {
        match self {
            Res::Deployments => "deployments",
            Res::ReplicaSets => "replicasets",
            Res::Pods => "pods",
            Res::EndpointSlices => "endpointslices",
            Res::Events => "events",
        }
    }
    /// A target is judged without it when RBAC does not grant it (as
    /// before: no endpoints or events to read is not an outage).
    pub fn optional(self) -> bool {
        matches!(self, Res::EndpointSlices | Res::Events)
    }
}

/// A watch's failure counts until a later event proves it recovered, or
/// for this long (kube's watcher retries at least every 30 s while it
/// fails, and a quiet watch that recovered sends nothing).
const FAILURE_HOLDS: Duration = Duration::from_secs(40);

/// One watched object, kept as compact JSON and parsed when read: as
/// `serde_json::Value`s the objects of 1,000 Deployments took ten times
/// their 11 MB of JSON. What relates objects to each other is kept beside
/// it, so a namespace is indexed without parsing.
pub struct Stored {
    json: Box<str>,
    /// The controlling owner (a ReplicaSet's Deployment, a pod's ReplicaSet).
    pub owner: Option<Box<str>>,
    /// An EndpointSlice's Service.
    pub service: Option<Box<str>>,
    /// The object an event is about.
    pub involved: Option<Box<str>>,
}

impl Stored {
    pub fn value(&self) -> Value {
        serde_json::from_str(&self.json).unwrap_or_default()
    }
}

#[derive(Default)]
struct Feed {
    objects: BTreeMap<String, Arc<Stored>>,
    /// Objects of a (re-)list under way.
    fresh: Option<BTreeMap<String, Arc<Stored>>>,
    synced: bool,
    last_ok: Option<Instant>,
    failing: Option<(Instant, BackendError)>,
    forbidden: Option<BackendError>,
    /// Objects the watch saw deleted, and when (until they reappear).
    deleted: BTreeMap<String, chrono::DateTime<chrono::Utc>>,
}

impl Feed {
    fn failure(&self) -> Option<&BackendError> {
        let (at, why) = self.failing.as_ref()?;
        let recovered = self.last_ok.is_some_and(|ok| ok > *at);
        (!recovered && at.elapsed() < FAILURE_HOLDS).then_some(why)
    }
}

struct Space {
    feeds: Mutex<[Feed; 5]>,
    /// Counts what the watches saw: unchanged, what was computed from the
    /// namespace still holds.
    generation: std::sync::atomic::AtomicU64,
}

/// What a watch saw change: the object and, for ReplicaSets and pods, the
/// Deployment (or ReplicaSet) that owns it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub namespace: String,
    pub res: Res,
    pub name: String,
    pub owner: Option<String>,
}

/// A namespace's watched objects, while every watch it needs has synced.
pub struct View<'a> {
    feeds: &'a [Feed; 5],
}

impl View<'_> {
    /// When the watch saw `name` deleted, if it did (and it is not back).
    pub fn deleted_at(&self, res: Res, name: &str) -> Option<chrono::DateTime<chrono::Utc>> {
        self.feeds[res as usize].deleted.get(name).copied()
    }
    pub fn get(&self, res: Res, name: &str) -> Option<&Stored> {
        self.feeds[res as usize]
            .objects
            .get(name)
            .map(|v| v.as_ref())
    }
    pub fn all(&self, res: Res) -> impl Iterator<Item = &Stored> {
        self.feeds[res as usize]
            .objects
            .values()
            .map(|v| v.as_ref())
    }
    /// False when RBAC does not let this identity watch it.
    pub fn readable(&self, res: Res) -> bool {
        self.feeds[res as usize].forbidden.is_none()
    }
}

pub enum Ready<R> {
    /// Not every watch has listed yet, or RBAC does not let this identity
    /// watch what it needs: read directly.
    NotYet,
    /// A watch is failing: its objects may be old.
    Failing(BackendError),
    Ready(R),
}

#[derive(Default)]
pub struct Caches {
    spaces: Mutex<HashMap<String, Arc<Space>>>,
    tasks: crate::backend::tasks::Owned,
    changes: Arc<Mutex<Option<UnboundedSender<Seen>>>>,
}

impl Caches {
    /// How many objects the watches hold and their size as JSON.
    pub fn footprint(&self) -> (usize, usize) {
        let spaces: Vec<Arc<Space>> = self
            .spaces
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .values()
            .cloned()
            .collect();
        let mut n = 0;
        let mut bytes = 0;
        for s in spaces {
            for f in s
                .feeds
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .iter()
            {
                n += f.objects.len();
                bytes += f.objects.values().map(|v| v.json.len()).sum::<usize>();
            }
        }
        (n, bytes)
    }

    /// Ends this task with the caches.
    pub fn own(&self, task: tokio::task::AbortHandle) {
        self.tasks.own(task);
    }

    /// Where every change a watch sees is sent.
    pub fn subscribe(&self, tx: UnboundedSender<Seen>) {
        *self
            .changes
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(tx);
    }

    /// Starts the namespace's five watches, once.
    pub fn start(&self, client: &kube::Client, ns: &str) {
        let space = {
            let mut m = self
                .spaces
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if m.contains_key(ns) {
                return;
            }
            let s = Arc::new(Space {
                feeds: Mutex::new(Default::default()),
                generation: Default::default(),
            });
            m.insert(ns.to_string(), s.clone());
            s
        };
        for res in Res::ALL {
            let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), ns, &res.api());
            let mut cfg = watcher::Config::default();
            if res == Res::Events {
                cfg = cfg.fields("type=Warning");
            }
            let fut = feed(
                Arc::downgrade(&space),
                res,
                ns.to_string(),
                watcher::watcher(api, cfg).default_backoff().boxed(),
                self.changes.clone(),
            );
            self.tasks.spawn(fut);
        }
    }

    /// Reads a namespace from its watches when every one has synced.
    pub fn with<R>(&self, ns: &str, f: impl FnOnce(&View<'_>) -> R) -> Ready<R> {
        let Some(space) = self
            .spaces
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(ns)
            .cloned()
        else {
            return Ready::NotYet;
        };
        let feeds = space
            .feeds
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for (res, feed) in Res::ALL.iter().zip(feeds.iter()) {
            match (&feed.forbidden, feed.failure()) {
                (Some(_), _) if res.optional() => {}
                // RBAC may grant `get` but not `watch`: read directly.
                (Some(_), _) => return Ready::NotYet,
                (None, Some(why)) => return Ready::Failing(why.clone()),
                (None, None) if !feed.synced => return Ready::NotYet,
                _ => {}
            }
        }
        Ready::Ready(f(&View { feeds: &feeds }))
    }

    /// Changes whenever a watch of the namespace sees anything.
    pub fn generation(&self, ns: &str) -> Option<u64> {
        let space = self
            .spaces
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(ns)
            .cloned()?;
        Some(space.generation.load(std::sync::atomic::Ordering::SeqCst))
    }

    /// Waits until every watch of these namespaces has listed (or failed),
    /// at most `within`.
    pub async fn settled(&self, namespaces: &[String], within: Duration) {
        let t0 = Instant::now();
        while t0.elapsed() < within {
            let done = namespaces
                .iter()
                .all(|ns| !matches!(self.with(ns, |_| ()), Ready::NotYet));
            if done {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

/// Keeps one feed current from its watch.
async fn feed(
    space: Weak<Space>,
    res: Res,
    ns: String,
    mut events: futures::stream::BoxStream<'static, Result<Event<DynamicObject>, watcher::Error>>,
    changes: Arc<Mutex<Option<UnboundedSender<Seen>>>>,
) {
    while let Some(ev) = events.next().await {
        let Some(space) = space.upgrade() else { return };
        // Parsed and trimmed before the lock: readers never wait on it.
        let ev = ev.map(|e| match e {
            Event::Apply(o) => Event::Apply(keep(res, o)),
            Event::Delete(o) => Event::Delete(keep(res, o)),
            Event::InitApply(o) => Event::InitApply(keep(res, o)),
            Event::Init => Event::Init,
            Event::InitDone => Event::InitDone,
        });
        let mut seen = None;
        {
            let mut feeds = space
                .feeds
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let f = &mut feeds[res as usize];
            match ev {
                Ok(Event::Init) => f.fresh = Some(BTreeMap::new()),
                Ok(Event::InitApply((name, o))) => {
                    f.fresh.get_or_insert_default().insert(name, Arc::new(o));
                }
                Ok(Event::InitDone) => {
                    let objects = f.fresh.take().unwrap_or_default();
                    // Gone during a re-list: deleted too.
                    let now = chrono::Utc::now();
                    for name in f.objects.keys().filter(|n| !objects.contains_key(*n)) {
                        f.deleted.insert(name.clone(), now);
                    }
                    f.deleted.retain(|n, _| !objects.contains_key(n));
                    f.objects = objects;
                    f.synced = true;
                    f.forbidden = None;
                    f.last_ok = Some(Instant::now());
                    seen = Some((String::new(), None));
                }
                Ok(Event::Apply((name, o))) => {
                    f.deleted.remove(&name);
                    let owner = o.owner.as_deref().map(str::to_string);
                    f.objects.insert(name.clone(), Arc::new(o));
                    f.last_ok = Some(Instant::now());
                    seen = Some((name, owner));
                }
                Ok(Event::Delete((name, o))) => {
                    f.objects.remove(&name);
                    f.deleted.insert(name.clone(), chrono::Utc::now());
                    f.last_ok = Some(Instant::now());
                    seen = Some((name, o.owner.as_deref().map(str::to_string)));
                }
                // A version compacted away: kube's watcher re-lists. Part
                // of a watch's life, not an outage.
                Err(watcher::Error::WatchError(st)) if st.code == 410 => {}
                Err(e) => {
                    let why = describe(&e, res, &ns);
                    if forbidden(&e) {
                        f.forbidden = Some(why.clone());
                    }
                    f.failing = Some((Instant::now(), why));
                    seen = Some((String::new(), None));
                }
            }
            // Counted once the event is in, under the same lock: a reader
            // that saw the old count recomputes on its next look. Counted
            // before, a reader could cache health from the objects before
            // the event under the count after it, and re-stamp that stale
            // health as fresh until something else changed.
            space
                .generation
                .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
        if let (Some((name, owner)), Some(tx)) = (
            seen,
            changes
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .as_ref(),
        ) {
            let _ = tx.send(Seen {
                namespace: ns.clone(),
                res,
                name,
                owner,
            });
        }
    }
}

/// The object as compact JSON, with only what health and history read: a
/// pod's spec, `managedFields` and `last-applied-configuration` are most
/// of the bytes, and at 1,000 Deployments the whole objects took 250 MB.
/// Done before the feed's lock is taken, straight from kube's object.
fn keep(res: Res, mut o: DynamicObject) -> (String, Stored) {
    o.metadata.managed_fields = None;
    if let Some(a) = o.metadata.annotations.as_mut() {
        a.remove("kubectl.kubernetes.io/last-applied-configuration");
    }
    let v = &mut o.data;
    match res {
        // The template's images are what health and history read of it;
        // the undo and the dry run read the whole objects afresh.
        Res::Deployments | Res::ReplicaSets => {
            retain(&mut v["spec"]["template"]["spec"], &["containers"]);
            for c in v["spec"]["template"]["spec"]["containers"]
                .as_array_mut()
                .into_iter()
                .flatten()
            {
                retain(c, &["name", "image"]);
            }
        }
        Res::Pods => {
            retain(v, &["spec", "status"]);
            retain(&mut v["spec"], &["containers"]);
            for c in v["spec"]["containers"].as_array_mut().into_iter().flatten() {
                retain(c, &["name", "image"]);
            }
            retain(
                &mut v["status"],
                &["phase", "conditions", "containerStatuses"],
            );
            for c in v["status"]["containerStatuses"]
                .as_array_mut()
                .into_iter()
                .flatten()
            {
                retain(
                    c,
                    &[
                        "name",
                        "image",
                        "imageID",
                        "restartCount",
                        "state",
                        "lastState",
                        "ready",
                    ],
                );
            }
        }
        Res::EndpointSlices => {
            retain(v, &["endpoints"]);
            for e in v["endpoints"].as_array_mut().into_iter().flatten() {
                retain(e, &["conditions"]);
            }
        }
        Res::Events => {
            retain(
                v,
                &[
                    "type",
                    "reason",
                    "message",
                    "count",
                    "lastTimestamp",
                    "eventTime",
                    "involvedObject",
                ],
            );
            retain(&mut v["involvedObject"], &["kind", "name"]);
        }
    }
    let name = o.metadata.name.clone().unwrap_or_default();
    let text = |x: Option<&str>| x.map(Box::from);
    let stored = Stored {
        owner: text(
            o.metadata
                .owner_references
                .iter()
                .flatten()
                .find(|r| r.controller == Some(true))
                .map(|r| r.name.as_str()),
        ),
        service: text(
            o.metadata
                .labels
                .as_ref()
                .and_then(|l| l.get("kubernetes.io/service-name"))
                .map(String::as_str),
        ),
        involved: text(o.data["involvedObject"]["name"].as_str()),
        json: serde_json::to_string(&o).unwrap_or_default().into(),
    };
    (name, stored)
}

fn retain(v: &mut Value, keys: &[&str]) {
    if let Some(m) = v.as_object_mut() {
        m.retain(|k, _| keys.contains(&k.as_str()));
    }
}

fn api_error(e: &watcher::Error) -> Option<&kube::Error> {
    match e {
        watcher::Error::InitialListFailed(k)
        | watcher::Error::WatchStartFailed(k)
        | watcher::Error::WatchFailed(k) => Some(k),
        _ => None,
    }
}

fn forbidden(e: &watcher::Error) -> bool {
    matches!(api_error(e), Some(kube::Error::Api(s)) if s.code == 403 || s.code == 404)
}

fn describe(e: &watcher::Error, res: Res, ns: &str) -> BackendError {
    let what = format!("{} in namespace {ns}", res.plural());
    match (api_error(e), e) {
        (Some(k), _) => super::describe(k, "watch", &what),
        (None, watcher::Error::WatchError(s)) => {
            let m = format!(
                "watch of {what} failed ({} {}): {}",
                s.code, s.reason, s.message
            );
            BackendError::from_status(s.code, m.clone()).unwrap_or(BackendError::Unavailable(m))
        }
        (None, other) => BackendError::Unavailable(format!("watch of {what} failed: {other}")),
    }
}
