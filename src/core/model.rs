//! Plain data the core reasons about. Backends translate their APIs into these
//! types so that the plan, the checks and the verdicts never depend on which
//! platform a target lives on.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A revision as its platform names it: a Kubernetes revision number, an
/// Argo CD history id, a Swarm spec version, a Compose image tag. Made by
/// the backend that read the history; only that backend reads its form
/// (`number`) when it acts on it. Serialised as the plain text it always was.
#[derive(
    Debug,
    Clone,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Default,
    serde::Serialize,
    serde::Deserialize,
)]
#[serde(transparent)]
pub struct RevisionId(String);

impl RevisionId {
    pub fn new(id: impl Into<String>) -> RevisionId {
        RevisionId(id.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The revision number or history id that Kubernetes and Argo CD act
    /// on; `None` for a name (a tag, `previous`).
    pub fn number(&self) -> Option<i64> {
        self.0.parse().ok()
    }
}

impl std::ops::Deref for RevisionId {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

/// Honours width and alignment (`{:>4}` in the History pane).
impl std::fmt::Display for RevisionId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(&self.0)
    }
}

impl PartialEq<str> for RevisionId {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for RevisionId {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

impl PartialEq<String> for RevisionId {
    fn eq(&self, other: &String) -> bool {
        &self.0 == other
    }
}

impl From<&str> for RevisionId {
    fn from(s: &str) -> RevisionId {
        RevisionId(s.to_string())
    }
}

impl From<String> for RevisionId {
    fn from(s: String) -> RevisionId {
        RevisionId(s)
    }
}

/// A target's name as the config and the platforms give it: the key of
/// everything rbtui knows about the target.
#[derive(
    Debug,
    Clone,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Default,
    serde::Serialize,
    serde::Deserialize,
)]
pub struct TargetId(pub String);

impl std::borrow::Borrow<str> for TargetId {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl From<&str> for TargetId {
    fn from(s: &str) -> TargetId {
        TargetId(s.to_string())
    }
}

impl std::fmt::Display for TargetId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(&self.0)
    }
}

/// How rbtui was started; it decides which mutations are allowed at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Mode {
    /// Real targets; mutations allowed after confirmation.
    Live,
    /// Tabletop drill: prod targets are refused outright.
    Rehearsal,
    /// The embedded simulated platform.
    Demo,
    /// Everything is shown, nothing is changed.
    ReadOnly,
}

impl Mode {
    pub fn label(self) -> &'static str {
        match self {
            Mode::Live => "LIVE",
            Mode::Rehearsal => "REHEARSAL",
            Mode::Demo => "DEMO",
            Mode::ReadOnly => "READ-ONLY",
        }
    }
}

/// The platform a target runs on; selects the runbook and the vocabulary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Argocd,
    Kubernetes,
    Swarm,
    Compose,
}

impl Kind {
    pub fn label(self) -> &'static str {
        match self {
            Kind::Argocd => "argocd",
            Kind::Kubernetes => "kubernetes",
            Kind::Swarm => "swarm",
            Kind::Compose => "compose",
        }
    }
    /// The kind a backend named by its label serves.
    pub fn from_label(label: &str) -> Option<Kind> {
        [Kind::Argocd, Kind::Kubernetes, Kind::Swarm, Kind::Compose]
            .into_iter()
            .find(|k| k.label() == label)
    }
    /// What the platform calls one entry of its history.
    pub fn revision_word(self) -> &'static str {
        match self {
            Kind::Argocd => "history id",
            Kind::Kubernetes => "revision",
            Kind::Swarm => "spec",
            Kind::Compose => "image",
        }
    }
}

/// Identity and location of one rollback target, as shown in the header.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetInfo {
    /// Unique name within the session (config `name`).
    pub name: String,
    pub kind: Kind,
    /// `prod`, `staging` or free text from the config.
    pub environment: String,
    /// Cluster context, Argo CD server or Docker engine the target lives on.
    pub location: String,
    /// The platform's own name for it (the Argo CD application, the
    /// Deployment, the service), used in every command and path shown.
    #[serde(default)]
    pub object: Option<String>,
    /// Served by rbtui's embedded simulation (`kind = "demo"`, or `rbtui
    /// demo`), not a real platform: the header says DEMO, never LIVE.
    #[serde(default)]
    pub simulated: bool,
}

impl TargetInfo {
    /// Prod is matched loosely on purpose: `prod`, `production`, `prd` and
    /// `live`, alone or as a word inside the name (`eu-prod`, `prod_eu`,
    /// `live.west`), are prod. A staging target is never prod by accident of
    /// a substring (`product-staging` is not).
    /// The name the platform knows it by (falls back to the config name).
    pub fn object(&self) -> &str {
        self.object.as_deref().unwrap_or(&self.name)
    }

    pub fn is_prod(&self) -> bool {
        is_prod_environment(&self.environment)
    }
}

/// See [`TargetInfo::is_prod`].
pub fn is_prod_environment(env: &str) -> bool {
    env.to_ascii_lowercase()
        .split(|c: char| !c.is_ascii_alphanumeric())
        .any(|w| matches!(w, "prod" | "production" | "prd" | "live"))
}

/// Whether two revisions run the same builds, image for image.
/// In any order: platforms list a revision's images in their own order
/// (Argo CD's rendered manifests vs its status summary).
pub fn same_images(a: &[ImageRef], b: &[ImageRef]) -> bool {
    !a.is_empty()
        && a.iter().all(|x| b.iter().any(|y| x.same_build(y)))
        && b.iter().all(|y| a.iter().any(|x| x.same_build(y)))
}

/// An image reference split into the parts the checks need.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageRef {
    /// Repository without tag or digest, e.g. `ghcr.io/acme/checkout`.
    pub repository: String,
    pub tag: Option<String>,
    /// `sha256:…` when known (from the spec or from what actually ran).
    pub digest: Option<String>,
}

impl ImageRef {
    /// Parses `repo[:tag][@digest]`, taking care that a registry port is not a tag.
    pub fn parse(s: &str) -> ImageRef {
        let (rest, digest) = match s.split_once('@') {
            Some((r, d)) => (r, Some(d.to_string())),
            None => (s, None),
        };
        let slash = rest.rfind('/').map(|i| i + 1).unwrap_or(0);
        match rest[slash..].rfind(':') {
            Some(i) => ImageRef {
                repository: rest[..slash + i].to_string(),
                tag: Some(rest[slash + i + 1..].to_string()),
                digest,
            },
            None => ImageRef {
                repository: rest.to_string(),
                tag: None,
                digest,
            },
        }
    }

    /// `repo:tag@sha256:abcd1234…` with the digest shortened for panes.
    pub fn short(&self) -> String {
        let mut s = self
            .repository
            .rsplit('/')
            .next()
            .unwrap_or(&self.repository)
            .to_string();
        if let Some(t) = &self.tag {
            s.push(':');
            s.push_str(t);
        }
        if let Some(d) = &self.digest {
            s.push('@');
            s.push_str(&short_digest(d));
        }
        s
    }

    /// The full reference, digest included, as a runtime would pull it.
    /// Whether two references name the same build: by digest when both
    /// carry one, else by repository and tag (a tag alone proves less, but
    /// it is what the platform will pull).
    pub fn same_build(&self, other: &ImageRef) -> bool {
        match (&self.digest, &other.digest) {
            (Some(a), Some(b)) => a == b,
            _ => self.repository == other.repository && self.tag.is_some() && self.tag == other.tag,
        }
    }

    pub fn full(&self) -> String {
        let mut s = self.repository.clone();
        if let Some(t) = &self.tag {
            s.push(':');
            s.push_str(t);
        }
        if let Some(d) = &self.digest {
            s.push('@');
            s.push_str(d);
        }
        s
    }
}

/// `sha256:0123456789ab` — enough to tell digests apart on screen.
pub fn short_digest(d: &str) -> String {
    match d.split_once(':') {
        Some((alg, hex)) => format!("{alg}:{}", &hex[..hex.len().min(12)]),
        None => d[..d.len().min(12)].to_string(),
    }
}

/// One entry of a target's history, newest first in [`History::revisions`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Revision {
    pub id: RevisionId,
    pub deployed_at: Option<DateTime<Utc>>,
    pub images: Vec<ImageRef>,
    pub git_sha: Option<String>,
    /// change-cause, commit subject or deploy message.
    pub message: String,
    /// Who initiated it, when the platform knows.
    pub author: Option<String>,
    pub current: bool,
}

/// What the image registry said of one image of a revision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RegistryFact {
    pub revision: RevisionId,
    /// `repo:tag` as the revision names it.
    pub image: String,
    /// The digest the revision ran, where known.
    pub ran: Option<String>,
    /// What the tag resolves to now: a digest, `None` when the tag is
    /// gone, an error when the registry could not be asked.
    pub now: Result<Option<String>, String>,
    pub asked_at: DateTime<Utc>,
}

/// Facts about a target that the plan checks need beyond its history.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TargetFacts {
    /// Opaque version the plan is pinned to (resourceVersion, Version.Index,
    /// history id + sync revision); the executor refuses if it moved.
    pub version: String,
    /// Argo CD: auto-sync is on and would fight the rollback.
    pub auto_sync: bool,
    /// Kubernetes: `spec.paused`.
    pub paused: bool,
    /// An operation is already running on the target.
    pub busy: Option<String>,
    /// How deep the platform's own history goes, said honestly in the pane.
    pub history_note: Option<String>,
    /// Revisions the platform cannot roll back to, with why (a Compose
    /// image without its versioned manifest).
    #[serde(default)]
    pub blocked: Vec<(RevisionId, String)>,
    /// Revisions the platform has a warning about (an image pinned by tag only).
    #[serde(default)]
    pub warnings: Vec<(RevisionId, String)>,
    /// Where a rollback leaves the platform's own inputs saying otherwise
    /// (Compose files still naming the bad image): the next deploy from
    /// them undoes the rollback.
    #[serde(default)]
    pub inputs_drift: Option<String>,
    /// Argo CD: the commit the app's source points at now (the HEAD of its
    /// target revision, as last compared), which re-enabling auto-sync
    /// would deploy.
    #[serde(default)]
    pub head_revision: Option<String>,
    /// Author, date and first line of HEAD's message, when read.
    #[serde(default)]
    pub head_meta: Option<String>,
    /// Compose: the project's own inputs are reachable, so the rollback
    /// pins the version where Compose reads it and lets Compose recreate.
    #[serde(default)]
    pub compose_inputs: Option<ComposeInputs>,
    /// Per revision: what rolling back to it changes besides the image.
    #[serde(default)]
    pub changes: Vec<(RevisionId, String)>,
    /// Why the platform itself says a revision is bad (Swarm rolled back
    /// from it, its tasks failed); its id is also in `History::known_bad`.
    #[serde(default)]
    pub bad_why: Vec<(RevisionId, String)>,
    /// The registry's answers for the newest revisions' images.
    #[serde(default)]
    pub registry: Vec<RegistryFact>,
    /// The current image's repository and the tags the registry lists.
    #[serde(default)]
    pub retained: Option<(String, Result<Vec<String>, String>)>,
    /// Revisions present on the platform but not known to have run here (a
    /// Compose image pulled or built on the engine, a registry release
    /// tag): never `previous`, and no digest of theirs "ran".
    #[serde(default)]
    pub not_run: Vec<RevisionId>,
    /// Argo CD multi-source apps: each source in `spec.sources` order and
    /// the commit it points at now (`status.sync.revisions[i]`). A single
    /// source app has none here (its HEAD is `head_revision`).
    #[serde(default)]
    pub sources: Vec<AppSource>,
    /// Multi-source apps: each history id's revision per source
    /// (`status.history[].revisions`, in `sources` order).
    #[serde(default)]
    pub source_revisions: Vec<(RevisionId, Vec<String>)>,
}

/// One source of a multi-source Argo CD application.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct AppSource {
    /// `repo/path@targetRevision`, as the History pane shows it.
    pub label: String,
    /// The commit it points at now, as Argo CD last compared it.
    pub head: Option<String>,
}

/// A source a rollback moved: what it ran in the bad revision, in the
/// one rolled back to, and what it points at now.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceChange {
    pub label: String,
    pub bad: String,
    pub good: Option<String>,
    pub head: Option<String>,
}

impl SourceChange {
    /// Still pointing at the commit rolled back from: re-enabling
    /// auto-sync deploys it again.
    pub fn still_bad(&self) -> bool {
        self.head
            .as_deref()
            .is_some_and(|h| same_commit(h, &self.bad))
    }
}

/// Two commit ids name the same commit (either may be abbreviated).
pub fn same_commit(a: &str, b: &str) -> bool {
    !a.is_empty() && !b.is_empty() && (a.starts_with(b) || b.starts_with(a))
}

/// Where a Compose project reads its version, and how it is brought up.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ComposeInputs {
    /// The env file Compose reads (`.env` in the project directory, or the
    /// target's `env_file`) and the variable the compose file takes the
    /// version from (`version_var`).
    pub env_file: String,
    pub var: String,
    /// Its value now, as read with the history.
    pub current: Option<String>,
    /// The live manifest and its versioned files (`{tag}`), swapped as a pair.
    pub manifest: Option<(String, String)>,
    /// `docker compose -p … -f … up -d --no-build SERVICE`, as it will run.
    pub up: String,
}

/// A target's history plus the facts needed to plan against it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct History {
    pub target: String,
    pub revisions: Vec<Revision>,
    pub facts: TargetFacts,
    pub fetched_at: DateTime<Utc>,
    /// Revision ids an earlier incident recorded as bad, if any.
    pub known_bad: Vec<RevisionId>,
    /// The newest revision known to have been healthy.
    pub last_known_good: Option<String>,
}

impl History {
    /// Multi-source apps: the sources whose revision differs between
    /// `bad` and `good` (every source where `good`'s is not known), each
    /// with where it points now. Empty for a single-source target.
    pub fn source_changes(&self, bad: &RevisionId, good: &RevisionId) -> Vec<SourceChange> {
        let f = &self.facts;
        let of = |id: &RevisionId| {
            f.source_revisions
                .iter()
                .find(|(i, _)| i == id)
                .map(|(_, r)| r)
        };
        let Some(bad_revs) = of(bad) else {
            return Vec::new();
        };
        let good_revs = of(good);
        f.sources
            .iter()
            .zip(bad_revs)
            .enumerate()
            .filter_map(|(i, (src, b))| {
                let g = good_revs.and_then(|g| g.get(i)).cloned();
                if g.as_deref().is_some_and(|g| same_commit(g, b)) {
                    return None;
                }
                Some(SourceChange {
                    label: src.label.clone(),
                    bad: b.clone(),
                    good: g,
                    head: src.head.clone(),
                })
            })
            .collect()
    }

    pub fn current(&self) -> Option<&Revision> {
        self.revisions.iter().find(|r| r.current)
    }
    /// The revision the platform ran before the current one: the next
    /// older one known to have run here.
    pub fn previous(&self) -> Option<&Revision> {
        let i = self.revisions.iter().position(|r| r.current)?;
        self.revisions[i + 1..]
            .iter()
            .find(|r| !self.facts.not_run.contains(&r.id))
    }
    pub fn find(&self, id: &str) -> Option<&Revision> {
        self.revisions.iter().find(|r| r.id == id)
    }

    /// What the operator asked for: a revision's id, else `lkg` (the last
    /// one an earlier incident recorded healthy) or `previous` (the one the
    /// platform ran before the current). An id wins: Swarm's engine-kept
    /// spec is called `previous`.
    pub fn resolve(&self, asked: &str) -> Option<&Revision> {
        self.find(asked).or_else(|| match asked {
            "lkg" => self.find(self.last_known_good.as_deref()?),
            "previous" => self.previous(),
            // A release tag by its name (`v1.1.0` for `reg-1`), where
            // exactly one revision's image carries it.
            tag => {
                let mut m = self
                    .revisions
                    .iter()
                    .filter(|r| r.images.iter().any(|i| i.tag.as_deref() == Some(tag)));
                let first = m.next();
                if m.next().is_some() { None } else { first }
            }
        })
    }
}

/// One file of evidence a failing revision left, as the platform gave it
/// (redacted and capped when written beside the note).
#[derive(Debug, Clone, PartialEq)]
pub struct EvidenceFile {
    /// A short file name: `logs-<pod>-<container>-previous.log`, `events.txt`.
    pub name: String,
    /// What it holds, in words, for the note.
    pub what: String,
    pub text: String,
    /// A part that could not be read, and why: said in the note, never
    /// written as a file nor counted as evidence (an error answer is not
    /// a log).
    pub unread: Option<String>,
}

impl EvidenceFile {
    /// A part the platform did not give: `what` it would have held, `why`.
    pub fn unread(name: impl Into<String>, what: impl Into<String>, why: String) -> EvidenceFile {
        EvidenceFile {
            name: name.into(),
            what: what.into(),
            text: String::new(),
            unread: Some(format!("not readable: {why}")),
        }
    }
}

/// A health snapshot of one target. Counts are what the platform reports;
/// signals are optional because not every target has probes or metrics.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Health {
    pub target: String,
    pub desired: u32,
    pub ready: u32,
    /// Ready pods that run the template's images, where the platform can
    /// tell it apart from `ready` (Kubernetes counts old pods as ready
    /// during a rollout, as kubectl does): what verification needs.
    #[serde(default)]
    pub ready_on_template: Option<u32>,
    pub updated: u32,
    /// Pods or tasks crash-looping / failing to start.
    pub crashlooping: u32,
    /// Of those, the ones on the revision being rolled out (the template's
    /// images): the runbook's "CrashLoopBackOff on the new revision" — a
    /// reason to roll back, not one failing old pod on a bad node.
    #[serde(default)]
    pub new_revision_crashing: u32,
    pub restarts: u32,
    /// Ready endpoints behind the service, when known.
    pub endpoints: Option<u32>,
    /// Fraction of requests answered 5xx (0.0–1.0), when known.
    pub error_rate: Option<f64>,
    /// p95 latency in milliseconds, when known.
    pub latency_p95_ms: Option<f64>,
    /// The latency the service normally has, for the "2x baseline" criterion.
    pub latency_baseline_ms: Option<f64>,
    /// The HTTP health probe answered as expected.
    pub probe_ok: Option<bool>,
    /// The rollout is stuck (deadline exceeded, update paused).
    pub rollout_stuck: bool,
    /// Revision id now running.
    pub revision: String,
    pub images: Vec<ImageRef>,
    /// Platform words worth showing verbatim (conditions, task errors).
    pub message: Option<String>,
    pub observed_at: DateTime<Utc>,
    /// Probes and metric criteria read for this target, if configured.
    #[serde(default)]
    pub signals: Vec<super::signals::Signal>,
}

/// The state of a rollout while rbtui watches it converge.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Progress {
    pub phase: ProgressPhase,
    /// Human words for the current step: "2 of 3 new replicas updated".
    pub message: String,
    pub desired: u32,
    pub updated: u32,
    pub ready: u32,
    /// Old replicas still terminating.
    pub old: u32,
    /// The rollout converged, but what the runbook calls "healthy" was not
    /// proven (a container with no health check): no tick, and why.
    #[serde(default)]
    pub unproven: Option<String>,
}

/// Where a rollout stands; terminal phases end the watch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ProgressPhase {
    Pending,
    Progressing,
    Converged,
    Failed,
}

impl ProgressPhase {
    pub fn is_terminal(self) -> bool {
        matches!(self, ProgressPhase::Converged | ProgressPhase::Failed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A revision id reads and writes as the text it always was (notes
    /// written before it was a type still read back), pads like text on
    /// screen, and is a number only where the platform's id is one.
    #[test]
    fn revision_ids_keep_their_text_and_parse_only_as_asked() {
        let r = RevisionId::new("42");
        assert_eq!(serde_json::to_string(&r).unwrap(), "\"42\"");
        assert_eq!(serde_json::from_str::<RevisionId>("\"42\"").unwrap(), r);
        assert_eq!(format!("[{:>4}]", r), "[  42]");
        assert_eq!(r.number(), Some(42));
        assert_eq!(RevisionId::new("v1.2").number(), None);
        assert_eq!(RevisionId::new("previous").number(), None);
        assert!(r == "42");
    }

    #[test]
    fn parses_image_references_with_ports_tags_and_digests() {
        let r = ImageRef::parse("registry:5000/shop/catalog:git-1@sha256:abcdef0123456789");
        assert_eq!(r.repository, "registry:5000/shop/catalog");
        assert_eq!(r.tag.as_deref(), Some("git-1"));
        assert_eq!(r.digest.as_deref(), Some("sha256:abcdef0123456789"));
        let r = ImageRef::parse("registry:5000/shop/catalog");
        assert_eq!(r.repository, "registry:5000/shop/catalog");
        assert_eq!(r.tag, None);
        assert_eq!(r.short(), "catalog");
    }

    #[test]
    fn the_same_images_in_another_order_are_the_same_images() {
        let a = [ImageRef::parse("r/web:v1"), ImageRef::parse("r/sidecar:2")];
        let b = [ImageRef::parse("r/sidecar:2"), ImageRef::parse("r/web:v1")];
        assert!(same_images(&a, &b));
        assert!(!same_images(&a, &b[..1]));
        assert!(!same_images(&[], &[]), "nothing known is not 'the same'");
    }

    #[test]
    fn prod_is_matched_loosely() {
        let mut t = TargetInfo {
            name: "a".into(),
            kind: Kind::Swarm,
            environment: "production".into(),
            location: String::new(),
            object: None,
            simulated: false,
        };
        assert!(t.is_prod());
        for e in [
            "prod",
            "PRD",
            "live",
            "eu-prod",
            "prod_eu",
            "live.west",
            "Production",
        ] {
            t.environment = e.into();
            assert!(t.is_prod(), "{e} is prod");
        }
        for e in [
            "staging",
            "product-staging",
            "dev",
            "liveness-test",
            "preprod",
        ] {
            t.environment = e.into();
            assert!(!t.is_prod(), "{e} is not prod");
        }
    }

    /// `previous` is only something that ran here; a release tag is found
    /// by its name as well as its id, where exactly one revision has it.
    #[test]
    fn previous_skips_what_never_ran_and_tags_resolve_by_name() {
        use crate::core::testkit::{history, rev};
        let mut h = history(
            "web",
            vec![
                rev("v3", "shop/web:v3", "", true),
                rev("v2", "shop/web:v2", "", false),
                rev("reg-1", "shop/web:v1.1.0", "", false),
            ],
        );
        assert_eq!(h.previous().unwrap().id, "v2");
        h.facts.not_run = vec!["v2".into(), "reg-1".into()];
        assert!(h.previous().is_none(), "nothing older is known to have run");
        assert_eq!(h.resolve("v1.1.0").unwrap().id, "reg-1");
        assert_eq!(h.resolve("reg-1").unwrap().id, "reg-1");
        assert!(h.resolve("v9").is_none());
    }
}
