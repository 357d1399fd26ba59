//! Shared watches: one per (namespace, resource) for the five resources
//! that health and history read — Deployments, ReplicaSets, Pods,
//! EndpointSlices and Warning events — feeding every target in that
//! namespace. Per-target LISTs every poll grew with the number of targets
//! (two namespace-wide LISTs per target every 2 s); once these have synced
//! the API server sees no LIST at all, only the watches kube's watcher
//! renews from the last resourceVersion (bookmarks keep it current; a 410
//! Gone re-lists once).
//!
//! The objects are kept by kube-runtime's reflector (`reflector::store`,
//! fed through `.modify()` and `reflector()`), not a store of our own: its
//! Init/InitApply/InitDone buffer swap is where a hand-written copy had a
//! race (a252049). What is ours is what the store does not say: whether
//! each watch has synced or is failing, and which objects it saw deleted.
//!
//! A watch that is open says nothing about whether the server still
//! answers (a graceful shutdown keeps watches open): the backend's probe
//! says that.

use crate::core::error::BackendError;
use futures::StreamExt;
use futures::TryStreamExt;
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind};
use kube::runtime::WatchStreamExt;
use kube::runtime::reflector::{self, Lookup, ObjectRef, Store, store::Writer};
use kube::runtime::watcher::{self, Event};
use serde_json::Value;
use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};
use tokio::sync::mpsc::UnboundedSender;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
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
    fn gvk(self) -> (&'static str, &'static str, &'static str) {
        match self {
            Res::Deployments => ("apps", "v1", "Deployment"),
            Res::ReplicaSets => ("apps", "v1", "ReplicaSet"),
            Res::Pods => ("", "v1", "Pod"),
            Res::EndpointSlices => ("discovery.k8s.io", "v1", "EndpointSlice"),
            Res::Events => ("", "v1", "Event"),
        }
    }
    fn api(self) -> ApiResource {
        let (g, v, k) = self.gvk();
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
/// it, so a namespace is indexed without parsing. The reflector's store
/// holds these, keyed by name through [`Lookup`] (a store per namespace,
/// so no namespace in the key); the reflector clones each object it
/// stores, so the body is shared, not copied.
#[derive(Clone, Debug)]
pub struct Stored {
    name: Arc<str>,
    body: Arc<Body>,
}

#[derive(Debug)]
pub struct Body {
    json: Box<str>,
    /// The controlling owner (a ReplicaSet's Deployment, a pod's ReplicaSet).
    pub owner: Option<Box<str>>,
    /// An EndpointSlice's Service.
    pub service: Option<Box<str>>,
    /// The object an event is about.
    pub involved: Option<Box<str>>,
}

impl std::ops::Deref for Stored {
    type Target = Body;
    fn deref(&self) -> &Body {
        &self.body
    }
}

impl Body {
    pub fn value(&self) -> Value {
        serde_json::from_str(&self.json).unwrap_or_default()
    }
}

impl Lookup for Stored {
    type DynamicType = Res;
    fn kind(dt: &Res) -> Cow<'_, str> {
        dt.gvk().2.into()
    }
    fn group(dt: &Res) -> Cow<'_, str> {
        dt.gvk().0.into()
    }
    fn version(dt: &Res) -> Cow<'_, str> {
        dt.gvk().1.into()
    }
    fn plural(dt: &Res) -> Cow<'_, str> {
        dt.plural().into()
    }
    fn name(&self) -> Option<Cow<'_, str>> {
        Some(Cow::Borrowed(&self.name))
    }
    fn namespace(&self) -> Option<Cow<'_, str>> {
        None
    }
    fn resource_version(&self) -> Option<Cow<'_, str>> {
        None
    }
    fn uid(&self) -> Option<Cow<'_, str>> {
        None
    }
}

/// What the store does not say about a watch.
#[derive(Default)]
struct Feed {
    /// Names of a (re-)list under way: at its end, what is not among them
    /// is gone.
    listing: Option<BTreeSet<String>>,
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
    namespace: String,
    stores: [Store<Stored>; 5],
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
/// A resource's objects are taken from its store once, when first asked.
pub struct View<'a> {
    space: &'a Space,
    feeds: &'a [Feed; 5],
    taken: [std::cell::OnceCell<Vec<Arc<Stored>>>; 5],
}

impl View<'_> {
    /// When the watch saw `name` deleted, if it did (and it is not back).
    pub fn deleted_at(&self, res: Res, name: &str) -> Option<chrono::DateTime<chrono::Utc>> {
        self.feeds[res as usize].deleted.get(name).copied()
    }
    pub fn get(&self, res: Res, name: &str) -> Option<Arc<Stored>> {
        self.space.stores[res as usize].get(&ObjectRef::new_with(name, res))
    }
    pub fn all(&self, res: Res) -> impl Iterator<Item = &Stored> {
        self.taken[res as usize]
            .get_or_init(|| self.space.stores[res as usize].state())
            .iter()
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
            for store in &s.stores {
                let all = store.state();
                n += all.len();
                bytes += all.iter().map(|v| v.json.len()).sum::<usize>();
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
        let (space, writers) = {
            let mut m = self
                .spaces
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if m.contains_key(ns) {
                return;
            }
            let writers = Res::ALL.map(Writer::new);
            let s = Arc::new(Space {
                namespace: ns.to_string(),
                stores: writers.each_ref().map(Writer::as_reader),
                feeds: Mutex::new(Default::default()),
                generation: Default::default(),
            });
            m.insert(ns.to_string(), s.clone());
            (s, writers)
        };
        for (res, writer) in Res::ALL.into_iter().zip(writers) {
            let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), ns, &res.api());
            let mut cfg = watcher::Config::default();
            if res == Res::Events {
                cfg = cfg.fields("type=Warning");
            }
            let events = watcher::watcher(api, cfg)
                .default_backoff()
                .modify(move |o| trim(res, o))
                .map_ok(stored)
                .boxed();
            let fut = feed(
                Arc::downgrade(&space),
                res,
                writer,
                events,
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
        Ready::Ready(f(&View {
            space: &space,
            feeds: &feeds,
            taken: Default::default(),
        }))
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

/// Keeps one resource's store current from its watch (kube-runtime's
/// reflector applies each event), and says what the store does not: the
/// objects seen deleted (noted before the store drops them, so a reader
/// that finds one missing also finds when it went), whether the watch
/// synced or fails, and that something changed.
async fn feed(
    space: Weak<Space>,
    res: Res,
    writer: Writer<Stored>,
    events: futures::stream::BoxStream<'static, Result<Event<Stored>, watcher::Error>>,
    changes: Arc<Mutex<Option<UnboundedSender<Seen>>>>,
) {
    let before = {
        let space = space.clone();
        move |ev: &Result<Event<Stored>, watcher::Error>| {
            if let (Ok(ev), Some(space)) = (ev, space.upgrade()) {
                space.deletions(res, ev);
            }
        }
    };
    let mut events = reflector::reflector(writer, events.inspect(before)).boxed();
    while let Some(ev) = events.next().await {
        let Some(space) = space.upgrade() else { return };
        let seen = space.state(res, ev);
        if let (Some((name, owner)), Some(tx)) = (
            seen,
            changes
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .as_ref(),
        ) {
            let _ = tx.send(Seen {
                namespace: space.namespace.clone(),
                res,
                name,
                owner,
            });
        }
    }
}

impl Space {
    fn feeds(&self) -> std::sync::MutexGuard<'_, [Feed; 5]> {
        self.feeds
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Before the store applies `ev`: what it deletes, and what a re-list
    /// leaves out (gone while the watch was down), noted as deleted now.
    fn deletions(&self, res: Res, ev: &Event<Stored>) {
        let mut feeds = self.feeds();
        let f = &mut feeds[res as usize];
        match ev {
            Event::Init => f.listing = Some(BTreeSet::new()),
            Event::InitApply(o) => {
                f.listing.get_or_insert_default().insert(o.name.to_string());
            }
            Event::InitDone => {
                let listed = f.listing.take().unwrap_or_default();
                let now = chrono::Utc::now();
                for o in self.stores[res as usize].state() {
                    if !listed.contains(&*o.name) {
                        f.deleted.insert(o.name.to_string(), now);
                    }
                }
                f.deleted.retain(|n, _| !listed.contains(n));
            }
            Event::Apply(o) => {
                f.deleted.remove(&*o.name);
            }
            Event::Delete(o) => {
                f.deleted.insert(o.name.to_string(), chrono::Utc::now());
            }
        }
    }

    /// After the store applied `ev` (or the watch failed): the watch's
    /// state, and what changed for subscribers.
    fn state(
        &self,
        res: Res,
        ev: Result<Event<Stored>, watcher::Error>,
    ) -> Option<(String, Option<String>)> {
        let mut feeds = self.feeds();
        let f = &mut feeds[res as usize];
        let seen = match ev {
            Ok(Event::Init | Event::InitApply(_)) => None,
            Ok(Event::InitDone) => {
                f.synced = true;
                f.forbidden = None;
                f.last_ok = Some(Instant::now());
                Some((String::new(), None))
            }
            Ok(Event::Apply(o) | Event::Delete(o)) => {
                f.last_ok = Some(Instant::now());
                Some((o.name.to_string(), o.owner.as_deref().map(str::to_string)))
            }
            // A version compacted away: kube's watcher re-lists. Part of a
            // watch's life, not an outage.
            Err(watcher::Error::WatchError(st)) if st.code == 410 => None,
            Err(e) => {
                let why = watch_error(&e, res, &self.namespace);
                if forbidden(&e) {
                    f.forbidden = Some(why.clone());
                }
                f.failing = Some((Instant::now(), why));
                Some((String::new(), None))
            }
        };
        // Counted once the store has the event, under the feed's lock: a
        // reader that saw the old count recomputes on its next look.
        // Counted before, a reader could cache health from the objects
        // before the event under the count after it, and re-stamp that
        // stale health as fresh until something else changed.
        self.generation
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        seen
    }
}

/// The object as compact JSON, with only what health and history read: a
/// pod's spec, `managedFields` and `last-applied-configuration` are most
/// of the bytes, and at 1,000 Deployments the whole objects took 250 MB.
/// Done in the watch's stream (`.modify()`), before the store takes it.
fn trim(res: Res, o: &mut DynamicObject) {
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
}

/// The watch's event with its object as the store keeps it.
fn stored(ev: Event<DynamicObject>) -> Event<Stored> {
    match ev {
        Event::Apply(o) => Event::Apply(kept(o)),
        Event::Delete(o) => Event::Delete(kept(o)),
        Event::InitApply(o) => Event::InitApply(kept(o)),
        Event::Init => Event::Init,
        Event::InitDone => Event::InitDone,
    }
}

fn kept(o: DynamicObject) -> Stored {
    let text = |x: Option<&str>| x.map(Box::from);
    let body = Body {
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
    Stored {
        name: o.metadata.name.as_deref().unwrap_or_default().into(),
        body: Arc::new(body),
    }
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

fn watch_error(e: &watcher::Error, res: Res, ns: &str) -> BackendError {
    let what = format!("{} in namespace {ns}", res.plural());
    match (api_error(e), e) {
        (Some(k), _) => super::request_error(k, "watch", &what),
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
