//! `kind = "argocd"`: applications over Argo CD's REST API. The rollback
//! follows the runbook: auto-sync off as its own confirmed step, then
//! `POST …/rollback {id, prune, dryRun}`, then operationState and health.

pub mod api;
pub mod auth;
pub mod client;
pub mod convert;
mod evidence;
pub mod rights;
mod steps;
pub mod stream;

pub use steps::version_at_least;

use super::{Backend, BoxFut, StepDone};
use crate::core::action::BackendError;
use crate::core::model::{Health, History, Kind, Progress, TargetInfo};
use crate::core::plan::{PlanStep, RollbackPlan};
use api::{Application, ApplicationList, Tree};
use client::{ApiError, Client};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Where a disable on a server before v3.1 keeps the automated block it
/// removed (JSON), so that re-enable puts back exactly that.
pub const SAVED_AUTOMATED: &str = "rbtui.io/automated-before-rollback";

/// One application target as configured (or found by a selector).
#[derive(Debug, Clone)]
pub struct AppTarget {
    pub name: String,
    pub app: String,
    pub app_namespace: Option<String>,
    pub project: Option<String>,
    pub environment: String,
}

/// A configured entry: one app, or a label selector over apps.
#[derive(Debug, Clone)]
pub enum AppSpec {
    One(AppTarget),
    Selector {
        selector: String,
        project: Option<String>,
        app_namespace: Option<String>,
        environment: String,
        /// The label (or annotation) naming each app's environment; the
        /// selector's `environment` only where an app has neither.
        environment_label: Option<String>,
    },
}

pub struct ArgoBackend {
    client: Arc<Client>,
    specs: Vec<AppSpec>,
    targets: Mutex<Vec<AppTarget>>,
    /// Selectors whose listing failed, by the name of the row standing in
    /// for them: one broken selector is one error row, not a dead console.
    unlisted: Mutex<Vec<(String, BackendError)>>,
    /// v3.1+ servers understand `automated.enabled: false`.
    supports_enabled: Mutex<Option<bool>>,
    live: Arc<stream::Live>,
    /// The apps whose stream runs; streams start only for a console that
    /// subscribed (one-shot commands read once, directly).
    streamed: Mutex<std::collections::HashSet<String>>,
    changes: Mutex<Option<tokio::sync::mpsc::UnboundedSender<super::Change>>>,
    /// How long a streamed state is trusted without a new event before a
    /// direct GET backs it (tests set it shorter).
    pub stream_quiet: Duration,
    /// The live streams, ended with the backend.
    streams: crate::backend::tasks::Owned,
    /// Images of each revision's rendered manifests, by commit: a commit's
    /// manifests do not change, so each is asked for once.
    images_of: Mutex<std::collections::HashMap<String, Vec<crate::core::model::ImageRef>>>,
    /// When each app was last asked to refresh (`?refresh=normal`), and
    /// how often it may be (a minute; tests set it shorter).
    refreshed: Mutex<std::collections::HashMap<String, std::time::Instant>>,
    pub refresh_every: Duration,
    /// Author, date and message of each commit, read once per commit.
    commit_meta: Mutex<std::collections::HashMap<String, String>>,
}

impl ArgoBackend {
    pub fn new(client: Client, specs: Vec<AppSpec>) -> ArgoBackend {
        ArgoBackend {
            client: Arc::new(client),
            specs,
            targets: Mutex::new(Vec::new()),
            streams: Default::default(),
            unlisted: Mutex::new(Vec::new()),
            supports_enabled: Mutex::new(None),
            live: Arc::new(stream::Live::default()),
            streamed: Mutex::default(),
            changes: Mutex::default(),
            stream_quiet: Duration::from_secs(10),
            images_of: Mutex::default(),
            refreshed: Mutex::default(),
            refresh_every: Duration::from_secs(60),
            commit_meta: Mutex::default(),
        }
    }

    /// The app, refreshed first while auto-sync is off (after a rollback):
    /// whether HEAD moved past the bad commit decides the re-enable, and
    /// Argo CD only compares HEAD on its own ~3 min cycle unless asked.
    /// At most once a minute per app: a refresh makes the repo server work.
    async fn get_app_fresh(&self, t: &AppTarget) -> Result<Application, ApiError> {
        let app = self.get_app(t).await?;
        if app.auto_sync() {
            return Ok(app);
        }
        let due = {
            let mut r = self
                .refreshed
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let due = r
                .get(&t.app)
                .is_none_or(|at| at.elapsed() >= self.refresh_every);
            if due {
                r.insert(t.app.clone(), std::time::Instant::now());
            }
            due
        };
        if !due {
            return Ok(app);
        }
        let mut q = Self::query(t);
        q.push(("refresh", "normal".into()));
        match self
            .client
            .get_json::<Application>(
                &format!("/api/v1/applications/{}", t.app),
                &q,
                "get",
                &Self::object(t),
            )
            .await
        {
            Ok(a) => Ok(a),
            // The plain read stands; the refresh is retried next minute.
            Err(_) => Ok(app),
        }
    }

    /// "by alice, 2026-11-22T03:20:00Z: Revert …" for a commit the app
    /// tracks (`…/revisions/{rev}/metadata`); None where not readable.
    async fn commit_meta(&self, t: &AppTarget, rev: &str) -> Option<String> {
        if let Some(m) = self
            .commit_meta
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(rev)
        {
            return Some(m.clone());
        }
        let v: serde_json::Value = self
            .client
            .get_json(
                &format!("/api/v1/applications/{}/revisions/{rev}/metadata", t.app),
                &Self::query(t),
                "get",
                &Self::object(t),
            )
            .await
            .ok()?;
        let msg = v["message"]
            .as_str()?
            .lines()
            .next()
            .unwrap_or("")
            .trim()
            .to_string();
        let m = format!(
            "by {}, {}: {msg}",
            v["author"].as_str().unwrap_or("unknown author"),
            v["date"].as_str().unwrap_or("unknown date")
        );
        self.commit_meta
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(rev.into(), m.clone());
        Some(m)
    }

    /// Starts one application stream per target not yet streamed (targets
    /// found by a selector arrive later), on the caller's runtime; only
    /// once a console subscribed.
    fn start_streams(&self) {
        let Some(changes) = self
            .changes
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
        else {
            return;
        };
        let mut streamed = self
            .streamed
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for t in self
            .targets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .iter()
        {
            if !streamed.insert(t.app.clone()) {
                continue;
            }
            let f = stream::Follow {
                app: t.app.clone(),
                target: t.name.clone(),
                query: Self::query(t),
                changes: Some(changes.clone()),
            };
            let fut = stream::follow(self.client.clone(), Arc::downgrade(&self.live), f);
            self.streams.spawn(fut);
        }
    }

    /// Whether the app's live stream is connected (tests and the header use it).
    pub fn streaming(&self, target: &str) -> bool {
        self.target(target)
            .map(|t| self.live.is_connected(&t.app))
            .unwrap_or(false)
    }

    fn target(&self, name: &str) -> Result<AppTarget, BackendError> {
        if let Some((_, e)) = self
            .unlisted
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .iter()
            .find(|(n, _)| n == name)
        {
            return Err(e.clone());
        }
        self.targets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .iter()
            .find(|t| t.name == name)
            .cloned()
            .ok_or_else(|| BackendError::NotFound(format!("unknown Argo CD target {name}")))
    }

    fn query(t: &AppTarget) -> Vec<(&'static str, String)> {
        let mut q = Vec::new();
        if let Some(n) = &t.app_namespace {
            q.push(("appNamespace", n.clone()));
        }
        if let Some(p) = &t.project {
            q.push(("project", p.clone()));
        }
        q
    }

    fn object(t: &AppTarget) -> String {
        format!("{}/{}", t.project.as_deref().unwrap_or("<project>"), t.app)
    }

    fn info(&self, t: &AppTarget) -> TargetInfo {
        let host = auth::strip_scheme(&self.client.conn.base);
        let proj = t
            .project
            .as_deref()
            .map(|p| format!(" (project {p})"))
            .unwrap_or_default();
        TargetInfo {
            name: t.name.clone(),
            kind: Kind::Argocd,
            environment: t.environment.clone(),
            location: format!("{host} · app {}{proj}", t.app),
            object: Some(t.app.clone()),
            simulated: false,
        }
    }

    pub async fn get_app(&self, t: &AppTarget) -> Result<Application, ApiError> {
        self.client
            .get_json(
                &format!("/api/v1/applications/{}", t.app),
                &Self::query(t),
                "get",
                &Self::object(t),
            )
            .await
    }

    /// Every history id's images, from its revision's rendered manifests
    /// (`GET …/manifests?revision=`): the status only knows the current
    /// one's. Where they cannot be read the entry keeps none and the
    /// checks say "not checked"; the history note says how many.
    async fn fill_images(&self, t: &AppTarget, app: &Application, h: &mut History) {
        let mut unread = 0;
        let mut why = String::new();
        for r in h.revisions.iter_mut().filter(|r| r.images.is_empty()) {
            let Some(sha) = r.git_sha.clone() else {
                unread += 1;
                continue;
            };
            // A multi-source entry renders from every source at its own
            // revision (`revisions` + `sourcePositions`, 1-based).
            let multi: Vec<String> = app
                .status
                .history
                .iter()
                .find(|e| r.id == e.id.to_string())
                .map(|e| e.revisions.clone())
                .unwrap_or_default();
            let key = if multi.is_empty() {
                sha.clone()
            } else {
                multi.join("+")
            };
            let known = self
                .images_of
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .get(&key)
                .cloned();
            let images = match known {
                Some(i) => i,
                None => match self.manifests_at(t, &sha, &multi).await {
                    Ok(m) => {
                        let i = convert::manifest_images(&m.manifests);
                        self.images_of
                            .lock()
                            .unwrap_or_else(std::sync::PoisonError::into_inner)
                            .insert(key, i.clone());
                        i
                    }
                    Err(e) => {
                        why = e.message();
                        vec![]
                    }
                },
            };
            if images.is_empty() {
                unread += 1;
            }
            r.images = images;
        }
        if unread > 0 {
            let note = h.facts.history_note.take().unwrap_or_default();
            let cause = if why.is_empty() {
                String::new()
            } else {
                format!(": {why}")
            };
            h.facts.history_note = Some(format!(
                "{note}; images unknown for {unread} history id(s) (manifests not readable{cause})"
            ));
        }
    }

    /// The manifests Argo CD renders for a revision (`GET …/manifests`): one
    /// commit, or each source at its own revision for a multi-source entry.
    async fn manifests_at(
        &self,
        t: &AppTarget,
        sha: &str,
        multi: &[String],
    ) -> Result<api::Manifests, ApiError> {
        let mut q = Self::query(t);
        if multi.is_empty() {
            q.push(("revision", sha.to_string()));
        } else {
            for (i, rev) in multi.iter().enumerate() {
                q.push(("revisions", rev.clone()));
                q.push(("sourcePositions", (i + 1).to_string()));
            }
        }
        self.client
            .get_json::<api::Manifests>(
                &format!("/api/v1/applications/{}/manifests", t.app),
                &q,
                "get",
                &Self::object(t),
            )
            .await
    }

    /// The live revision's rendered manifests against the target
    /// revision's, as a diff: what a rollback to it would apply.
    async fn manifest_change(&self, plan: &RollbackPlan) -> Result<String, BackendError> {
        let t = self.target(&plan.target.name)?;
        let app = self.get_app(&t).await?;
        let sources = |r: &crate::core::model::Revision| -> Vec<String> {
            app.status
                .history
                .iter()
                .find(|e| r.id == e.id.to_string())
                .map(|e| e.revisions.clone())
                .unwrap_or_default()
        };
        let mut rendered = Vec::new();
        for r in [&plan.from, &plan.to] {
            let sha = r.git_sha.clone().ok_or_else(|| {
                BackendError::NotFound(format!("history id {} names no revision to render", r.id))
            })?;
            let m = self.manifests_at(&t, &sha, &sources(r)).await?;
            let objs: Vec<serde_json::Value> = m
                .manifests
                .iter()
                .filter_map(|s| serde_json::from_str(s).ok())
                .collect();
            rendered.push((sha, crate::backend::manifests::yaml_stream(&objs)));
        }
        let short = |s: &str| s[..s.len().min(7)].to_string();
        Ok(crate::core::change_diff::unified(
            &format!(
                "manifests of history id {} ({}, live)",
                plan.from.id,
                short(&rendered[0].0)
            ),
            &rendered[0].1,
            &format!(
                "manifests of history id {} ({})",
                plan.to.id,
                short(&rendered[1].0)
            ),
            &rendered[1].1,
        ))
    }

    /// `None` when the tree may not be read (403) or is not there (404):
    /// health then goes without pod detail. Other failures are errors.
    async fn get_tree(&self, t: &AppTarget) -> Result<Option<Tree>, BackendError> {
        match self
            .client
            .get_json(
                &format!("/api/v1/applications/{}/resource-tree", t.app),
                &Self::query(t),
                "get",
                &Self::object(t),
            )
            .await
        {
            Ok(tree) => Ok(Some(tree)),
            Err(ApiError::Forbidden(_) | ApiError::NotFound(_)) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// The resource tree is read on every poll even while the stream is up:
    /// its answer is what proves the server still answers (a stream can stay
    /// open through a shutdown), so a failed tree read is a failed health
    /// read. The app's state comes from the stream only while the stream
    /// was heard from within `stream_quiet`; otherwise it is read directly.
    /// The age shown is that of the app state's answer, never newer.
    async fn read_health(&self, t: &AppTarget, from_stream: bool) -> Result<Health, BackendError> {
        let live = if from_stream {
            self.live.fresh(&t.app, self.stream_quiet)
        } else {
            None
        };
        let (app, at) = match live {
            Some(a) => a,
            None => {
                let asked = chrono::Utc::now();
                let a = self.get_app(t).await?;
                self.live.put(&t.app, a.clone());
                (a, asked)
            }
        };
        let tree = self.get_tree(t).await?;
        Ok(convert::health(&t.name, &app, tree.as_ref(), at))
    }
}

impl Backend for ArgoBackend {
    fn name(&self) -> &str {
        "argocd"
    }

    fn settle<'a>(
        &'a self,
        plan: &'a RollbackPlan,
        step: &'a PlanStep,
    ) -> BoxFut<'a, Result<super::Settled, BackendError>> {
        Box::pin(self.settle_step(plan, step))
    }

    fn targets(&self) -> BoxFut<'_, Result<Vec<TargetInfo>, BackendError>> {
        Box::pin(async move {
            let mut out = Vec::new();
            let mut unlisted = Vec::new();
            let mut rows = Vec::new();
            for s in &self.specs {
                match s {
                    AppSpec::One(t) => out.push(t.clone()),
                    AppSpec::Selector {
                        selector,
                        project,
                        app_namespace,
                        environment,
                        environment_label,
                    } => {
                        let mut q = vec![("selector", selector.clone())];
                        if let Some(p) = project {
                            q.push(("projects", p.clone()));
                        }
                        if let Some(n) = app_namespace {
                            q.push(("appNamespace", n.clone()));
                        }
                        let listed: Result<ApplicationList, BackendError> = match self
                            .client
                            .get_json::<ApplicationList>(
                                "/api/v1/applications",
                                &q,
                                "get",
                                selector,
                            )
                            .await
                        {
                            Ok(l) if l.items.is_empty() => Err(BackendError::NotFound(format!(
                                "selector {selector} matches no application{}: check the labels, and the project and appNamespace it is scoped to",
                                project
                                    .as_deref()
                                    .map(|p| format!(" in project {p}"))
                                    .unwrap_or_default()
                            ))),
                            Ok(l) => Ok(l),
                            Err(e) => Err(BackendError::from(e).context(format!(
                                "the applications of selector {selector} could not be listed"
                            ))),
                        };
                        let list = match listed {
                            Ok(l) => l,
                            Err(error) => {
                                let name = format!("selector {selector}");
                                rows.push(TargetInfo {
                                    name: name.clone(),
                                    kind: Kind::Argocd,
                                    environment: environment.clone(),
                                    location: format!(
                                        "{} · selector {selector} (not listed)",
                                        auth::strip_scheme(&self.client.conn.base)
                                    ),
                                    object: None,
                                    simulated: false,
                                });
                                unlisted.push((name, error));
                                continue;
                            }
                        };
                        for a in list.items {
                            // A staging app matched by a prod selector is
                            // staging: its own label says so.
                            let env = environment_label
                                .as_ref()
                                .and_then(|l| {
                                    a.metadata
                                        .labels
                                        .get(l)
                                        .or_else(|| a.metadata.annotations.get(l))
                                })
                                .cloned()
                                .unwrap_or_else(|| environment.clone());
                            out.push(AppTarget {
                                name: a.metadata.name.clone(),
                                app: a.metadata.name.clone(),
                                app_namespace: app_namespace.clone(),
                                project: project.clone().or(a.spec.project.clone()),
                                environment: env,
                            });
                        }
                    }
                }
            }
            let mut infos: Vec<TargetInfo> = out.iter().map(|t| self.info(t)).collect();
            infos.extend(rows);
            *self
                .targets
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner) = out;
            *self
                .unlisted
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner) = unlisted;
            Ok(infos)
        })
    }

    /// A console follows each app's stream; one-shot commands never call
    /// this, so they read once and open nothing.
    fn subscribe(&self, tx: tokio::sync::mpsc::UnboundedSender<super::Change>) {
        *self
            .changes
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(tx);
        self.start_streams();
    }

    fn health_all(&self) -> BoxFut<'_, Vec<Result<Health, (String, BackendError)>>> {
        Box::pin(async move {
            self.start_streams();
            let ts = self
                .targets
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .clone();
            let reads = ts.iter().map(|t| async move {
                self.read_health(t, true)
                    .await
                    .map_err(|e| (t.name.clone(), e))
            });
            let mut out = futures::future::join_all(reads).await;
            out.extend(
                self.unlisted
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .iter()
                    .cloned()
                    .map(Err),
            );
            out
        })
    }

    /// One target's health is read directly, never from the stream: it is
    /// what verification and plans rest on, and a stream may lag.
    fn health<'a>(&'a self, target: &'a str) -> BoxFut<'a, Result<Health, BackendError>> {
        Box::pin(async move { self.read_health(&self.target(target)?, false).await })
    }

    fn history<'a>(&'a self, target: &'a str) -> BoxFut<'a, Result<History, BackendError>> {
        Box::pin(async move {
            let t = self.target(target)?;
            // Stamped when asked: an answer is at least this fresh.
            let asked = chrono::Utc::now();
            let app = self.get_app_fresh(&t).await?;
            let mut h = convert::history(&t.name, &app, asked);
            self.fill_images(&t, &app, &mut h).await;
            if !h.facts.auto_sync {
                if let Some(head) = h.facts.head_revision.clone() {
                    h.facts.head_meta = self.commit_meta(&t, &head).await;
                }
            }
            Ok(h)
        })
    }

    fn execute<'a>(
        &'a self,
        plan: &'a RollbackPlan,
        step: &'a PlanStep,
    ) -> BoxFut<'a, Result<StepDone, BackendError>> {
        Box::pin(self.execute_step(plan, step))
    }

    fn progress<'a>(
        &'a self,
        plan: &'a RollbackPlan,
    ) -> BoxFut<'a, Result<Progress, BackendError>> {
        Box::pin(async move {
            let t = self.target(&plan.target.name)?;
            let app = self.get_app(&t).await?;
            // The tree says what the workloads do; without it the counts
            // are unknown and the message says so.
            let tree = self.get_tree(&t).await.ok().flatten();
            Ok(convert::progress(
                &app,
                plan.to.git_sha.as_deref(),
                &Self::entry_revisions(&app, &plan.to.id),
                tree.as_ref(),
                &plan.to.images,
            ))
        })
    }

    fn evidence<'a>(
        &'a self,
        target: &'a str,
    ) -> BoxFut<'a, Option<Result<Vec<crate::core::model::EvidenceFile>, BackendError>>> {
        Box::pin(async move { Some(self.evidence_of(target).await) })
    }
    fn about<'a>(
        &'a self,
        _t: &'a str,
    ) -> BoxFut<'a, Option<Result<crate::backend::About, BackendError>>> {
        Box::pin(async move {
            let v: serde_json::Value = match self
                .client
                .get_json("/api/version", &[], "get", "version")
                .await
            {
                Ok(v) => v,
                Err(e) => return Some(Err(e.into())),
            };
            Some(Ok(crate::backend::About {
                version: format!(
                    "Argo CD {}",
                    v["Version"].as_str().unwrap_or("(version not said)")
                ),
                credentials: format!("token from {}", self.client.token_from()),
            }))
        })
    }
    /// `can-i` for each action the plan sends, before the confirm.
    fn permissions<'a>(
        &'a self,
        plan: &'a RollbackPlan,
    ) -> BoxFut<'a, Option<Result<crate::core::action::Rights, BackendError>>> {
        Box::pin(async move { Some(self.rights_for(plan).await) })
    }
    fn changes<'a>(
        &'a self,
        plan: &'a RollbackPlan,
    ) -> BoxFut<'a, Option<Result<String, BackendError>>> {
        Box::pin(async move { Some(self.manifest_change(plan).await) })
    }
    /// Only for rehearsals: a dry run still creates an operation on the server.
    fn preview<'a>(
        &'a self,
        plan: &'a RollbackPlan,
    ) -> BoxFut<'a, Option<Result<String, BackendError>>> {
        Box::pin(async move {
            if plan.mode != crate::core::model::Mode::Rehearsal || !plan.is_rollback() {
                return None;
            }
            Some(self.dry_run(plan).await)
        })
    }

    /// Cheap while streams are heard from (only the resource tree is
    /// fetched); a silent stream costs one GET of the app per poll.
    fn poll_interval(&self) -> Duration {
        Duration::from_secs(3)
    }
}
