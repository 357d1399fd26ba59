//! `kind = "argocd"`: applications over Argo CD's REST API. The rollback
//! follows the runbook: auto-sync off as its own confirmed step, then
//! `POST …/rollback {id, prune, dryRun}`, then operationState and health.

pub mod api;
pub mod auth;
pub mod client;
pub mod convert;
mod evidence;
pub mod rights;
pub mod stream;

use super::{Backend, BoxFut, StepDone};
use crate::core::action::BackendError;
use crate::core::model::{Health, History, Kind, Progress, TargetInfo};
use crate::core::plan::{PlanStep, RollbackPlan};
use api::{Application, ApplicationList, Tree};
use client::{ApiError, Client};
use reqwest::Method;
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
            let mut r = self.refreshed.lock().unwrap();
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
        if let Some(m) = self.commit_meta.lock().unwrap().get(rev) {
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
            .unwrap()
            .insert(rev.into(), m.clone());
        Some(m)
    }

    /// Starts one application stream per target not yet streamed (targets
    /// found by a selector arrive later), on the caller's runtime; only
    /// once a console subscribed.
    fn start_streams(&self) {
        let Some(changes) = self.changes.lock().unwrap().clone() else {
            return;
        };
        let mut streamed = self.streamed.lock().unwrap();
        for t in self.targets.lock().unwrap().iter() {
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
            .unwrap()
            .iter()
            .find(|(n, _)| n == name)
        {
            return Err(e.clone());
        }
        self.targets
            .lock()
            .unwrap()
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
            let known = self.images_of.lock().unwrap().get(&key).cloned();
            let images = match known {
                Some(i) => i,
                None => match self.manifests_at(t, &sha, &multi).await {
                    Ok(m) => {
                        let i = convert::manifest_images(&m.manifests);
                        self.images_of.lock().unwrap().insert(key, i.clone());
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

    /// Whether the server understands `automated.enabled` (v3.1+). Only a
    /// version actually read is remembered: a failed probe is retried, and
    /// if the version cannot be read the caller refuses rather than guess
    /// (the pre-3.1 form removes prune and selfHeal).
    async fn supports_enabled(&self) -> Result<bool, BackendError> {
        if let Some(v) = *self.supports_enabled.lock().unwrap() {
            return Ok(v);
        }
        let mut last = String::new();
        for attempt in 1..=3u64 {
            match self
                .client
                .get_json::<api::Version>("/api/version", &[], "get", "version")
                .await
            {
                Ok(v) => {
                    let yes = version_at_least(&v.version, 3, 1);
                    *self.supports_enabled.lock().unwrap() = Some(yes);
                    return Ok(yes);
                }
                Err(e) => last = e.message(),
            }
            tokio::time::sleep(Duration::from_millis(300 * attempt)).await;
        }
        Err(BackendError::Unavailable(format!(
            "Argo CD's version could not be read after 3 tries ({last}): the way auto-sync is switched depends on it (before v3.1 it removes prune/selfHeal), so nothing was sent"
        )))
    }

    /// `spec.syncPolicy.automated` exactly as the server holds it, and the
    /// block saved by an earlier disable on a server before v3.1.
    async fn automated_raw(
        &self,
        t: &AppTarget,
    ) -> Result<(serde_json::Value, Option<serde_json::Value>), ApiError> {
        let app: serde_json::Value = self
            .client
            .get_json(
                &format!("/api/v1/applications/{}", t.app),
                &Self::query(t),
                "get",
                &Self::object(t),
            )
            .await?;
        let saved = app["metadata"]["annotations"][SAVED_AUTOMATED]
            .as_str()
            .and_then(|s| serde_json::from_str(s).ok());
        Ok((app["spec"]["syncPolicy"]["automated"].clone(), saved))
    }

    async fn execute_step(
        &self,
        plan: &RollbackPlan,
        step: &PlanStep,
    ) -> Result<StepDone, BackendError> {
        let t = self.target(&plan.target.name)?;
        // Before anything mutating left, a failure means nothing was sent.
        let unsent = |e: ApiError| {
            BackendError::NotSent(format!("re-reading {} failed: {}", t.app, e.message()))
        };
        // Once a mutating request left, a lost answer (5xx, timeout, reset,
        // unreadable body) leaves its outcome unknown until re-read.
        let fail = |e: ApiError| match e {
            ApiError::Rejected(m) => BackendError::Refused(m),
            ApiError::Unavailable(m) => BackendError::OutcomeUnknown(m),
            ApiError::Unreachable(m) => BackendError::NotSent(m),
            ApiError::Malformed(m) => {
                BackendError::OutcomeUnknown(format!("unreadable answer: {m}"))
            }
            other => BackendError::Failed(other.message()),
        };
        // Re-read first: the plan must still describe the app as it is.
        let app = self.get_app(&t).await.map_err(unsent)?;
        let now = app.version_token();
        if now != plan.built_from {
            return Err(BackendError::Stale {
                built_from: plan.built_from.clone(),
                now,
            });
        }
        let path = format!("/api/v1/applications/{}", t.app);
        match step {
            PlanStep::DisableAutoSync => {
                if !app.auto_sync() {
                    return Ok(StepDone {
                        summary: "auto-sync was already off".into(),
                        version: now,
                    });
                }
                self.may_sync(plan, &t).await?;
                let keep = self
                    .supports_enabled()
                    .await
                    .map_err(|e| BackendError::NotSent(e.to_string()))?;
                let (patch, how) = if keep {
                    (
                        serde_json::json!({"spec": {"syncPolicy": {"automated": {"enabled": false}}}}),
                        "prune/selfHeal kept".to_string(),
                    )
                } else {
                    // Before v3.1 the only off is removing the block: keep it
                    // on the app itself so re-enable restores it exactly,
                    // from this session or any other.
                    let (orig, _) = self.automated_raw(&t).await.map_err(unsent)?;
                    (
                        serde_json::json!({
                            "metadata": {"annotations": {SAVED_AUTOMATED: orig.to_string()}},
                            "spec": {"syncPolicy": {"automated": null}}
                        }),
                        format!(
                            "server before v3.1: the block {orig} is removed and kept in annotation {SAVED_AUTOMATED} for re-enable"
                        ),
                    )
                };
                let after = self.merge_patch(&t, &patch).await.map_err(fail)?;
                if after.auto_sync() {
                    return Err(BackendError::Failed(
                        "PATCH accepted but auto-sync is still on; not rolling back".into(),
                    ));
                }
                Ok(StepDone {
                    summary: format!(
                        "auto-sync disabled on {}: merge PATCH {patch} ({how})",
                        t.app
                    ),
                    version: after.version_token(),
                })
            }
            PlanStep::EnableAutoSync => {
                if app.auto_sync() {
                    return Ok(StepDone {
                        summary: "auto-sync was already on".into(),
                        version: now,
                    });
                }
                let keep = self
                    .supports_enabled()
                    .await
                    .map_err(|e| BackendError::NotSent(e.to_string()))?;
                let (patch, how) = if keep {
                    (
                        serde_json::json!({"spec": {"syncPolicy": {"automated": {"enabled": true}}}}),
                        "prune/selfHeal as they were".to_string(),
                    )
                } else {
                    let (_, saved) = self.automated_raw(&t).await.map_err(unsent)?;
                    let Some(orig) = saved.filter(|v| v.is_object()) else {
                        return Err(BackendError::Refused(format!(
                            "no record of {}'s automated block before the rollback (annotation {SAVED_AUTOMATED} missing): re-enabling with an empty block would drop prune/selfHeal; turn auto-sync on in Argo CD with the settings it had",
                            t.app
                        )));
                    };
                    (
                        serde_json::json!({
                            "metadata": {"annotations": {SAVED_AUTOMATED: null}},
                            "spec": {"syncPolicy": {"automated": orig}}
                        }),
                        "server before v3.1: the block saved at disable restored exactly"
                            .to_string(),
                    )
                };
                let after = self.merge_patch(&t, &patch).await.map_err(fail)?;
                Ok(StepDone {
                    summary: format!(
                        "auto-sync re-enabled on {}: merge PATCH {patch} ({how}); Argo CD now follows HEAD",
                        t.app
                    ),
                    version: after.version_token(),
                })
            }
            PlanStep::Rollback { to, .. } => {
                let id = to.number().ok_or_else(|| {
                    BackendError::Failed(format!("history id {to} is not a number"))
                })?;
                let mut body =
                    serde_json::json!({"name": t.app, "id": id, "prune": false, "dryRun": false});
                for (k, v) in Self::query(&t) {
                    body[k] = serde_json::Value::String(v);
                }
                let out = self
                    .client
                    .call(
                        Method::POST,
                        &format!("{path}/rollback"),
                        &[],
                        Some(&body),
                        "sync",
                        &Self::object(&t),
                    )
                    .await
                    .map_err(fail)?;
                let after: Application = serde_json::from_slice(&out).map_err(|e| {
                    BackendError::OutcomeUnknown(format!("malformed answer to rollback: {e}"))
                })?;
                let sha = plan
                    .to
                    .git_sha
                    .as_deref()
                    .map(|s| &s[..s.len().min(7)])
                    .unwrap_or("?");
                Ok(StepDone {
                    summary: format!(
                        "rollback of {} to history id {id} ({sha}) accepted; operation started",
                        t.app
                    ),
                    version: after.version_token(),
                })
            }
            other => Err(BackendError::Failed(format!(
                "{other:?} is not a mutating step"
            ))),
        }
    }
}

impl ArgoBackend {
    /// The project whose RBAC applies: the configured one, else the app's.
    async fn project_of(&self, t: &AppTarget) -> Result<String, ApiError> {
        if let Some(p) = &t.project {
            return Ok(p.clone());
        }
        let app = self.get_app(t).await?;
        Ok(app.spec.project.unwrap_or_else(|| "default".into()))
    }

    /// A multi-source history entry's revision per source (empty for a
    /// single-source entry or an id no longer in the history).
    fn entry_revisions(app: &Application, id: &crate::core::model::RevisionId) -> Vec<String> {
        app.status
            .history
            .iter()
            .find(|e| e.id.to_string() == id.as_str())
            .map(|e| e.revisions.clone())
            .unwrap_or_default()
    }

    async fn rights_for(
        &self,
        plan: &RollbackPlan,
    ) -> Result<crate::core::action::Rights, BackendError> {
        let t = self.target(&plan.target.name)?;
        let object = rights::rbac_object(&self.project_of(&t).await?, &t);
        Ok(rights::rights(&self.client, plan, &object).await?)
    }

    /// At the step, before auto-sync is turned off: a token refused the
    /// rollback's `sync` would leave the app on the bad id with auto-sync
    /// off. Only an explicit "no" stops here; an unanswered question was
    /// the plan's warning, already confirmed.
    async fn may_sync(&self, plan: &RollbackPlan, t: &AppTarget) -> Result<(), BackendError> {
        if !rights::actions_of(plan).contains(&"sync") {
            return Ok(());
        }
        let Ok(project) = self.project_of(t).await else {
            return Ok(());
        };
        let object = rights::rbac_object(&project, t);
        if let Ok(false) = rights::can_i(&self.client, "sync", &object).await {
            let who = rights::account(&self.client)
                .await
                .unwrap_or_else(|| "the token".into());
            return Err(BackendError::NotSent(format!(
                "{who} may not sync applications {object}: auto-sync left on and nothing sent, so the app is not left unguarded on the bad revision"
            )));
        }
        Ok(())
    }

    /// `PATCH /api/v1/applications/{name}` with a merge patch (the body
    /// carries the patch as a string, as the API wants it).
    async fn merge_patch(
        &self,
        t: &AppTarget,
        patch: &serde_json::Value,
    ) -> Result<Application, ApiError> {
        let mut body =
            serde_json::json!({"name": t.app, "patch": patch.to_string(), "patchType": "merge"});
        for (k, v) in Self::query(t) {
            body[k] = serde_json::Value::String(v);
        }
        let path = format!("/api/v1/applications/{}", t.app);
        let out = self
            .client
            .call(
                Method::PATCH,
                &path,
                &[],
                Some(&body),
                "update",
                &Self::object(t),
            )
            .await?;
        serde_json::from_slice(&out)
            .map_err(|e| ApiError::Malformed(format!("answer to PATCH: {e}")))
    }

    /// Rehearsal preview: `POST …/rollback {dryRun: true}`. A dry run still
    /// runs an operation that blocks others, so this waits for it to end.
    async fn dry_run(&self, plan: &RollbackPlan) -> Result<String, BackendError> {
        let t = self.target(&plan.target.name)?;
        let app = self.get_app(&t).await?;
        if app.auto_sync() {
            return Err(BackendError::Refused("Argo CD refuses any rollback, dry run included, while auto-sync is on; step 1 of the plan turns it off".into()));
        }
        let id = plan.to.id.number().ok_or_else(|| {
            BackendError::NotFound(format!("history id {} is not a number", plan.to.id))
        })?;
        let mut body = serde_json::json!({"name": t.app, "id": id, "prune": false, "dryRun": true});
        for (k, v) in Self::query(&t) {
            body[k] = serde_json::Value::String(v);
        }
        let path = format!("/api/v1/applications/{}/rollback", t.app);
        self.client
            .call(
                Method::POST,
                &path,
                &[],
                Some(&body),
                "sync",
                &Self::object(&t),
            )
            .await?;
        for _ in 0..40 {
            let a = self.get_app(&t).await?;
            let op = a.status.operation_state.clone().unwrap_or_default();
            if op.phase.as_deref() != Some("Running") {
                return Ok(format!(
                    "operation {}: {} (nothing deployed; Argo CD keeps this dry run as the app's last operation, replacing status.operationState)",
                    op.phase.unwrap_or_default(),
                    op.message.unwrap_or_default()
                ));
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        Err(BackendError::Timeout(
            "the dry-run operation is still running after 20s".into(),
        ))
    }
}

/// `v3.1.0+abc` ≥ 3.1
pub fn version_at_least(v: &str, major: u32, minor: u32) -> bool {
    let core = v.trim_start_matches('v');
    let mut it = core
        .split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty())
        .map(|s| s.parse::<u32>().unwrap_or(0));
    let (ma, mi) = (it.next().unwrap_or(0), it.next().unwrap_or(0));
    (ma, mi) >= (major, minor)
}

impl ArgoBackend {
    /// A rollback shows in `status.history` only once its sync finishes, so
    /// a lost answer is decided by the operation the server holds: one
    /// syncing to the target commit, started after the plan, means the
    /// POST arrived.
    async fn settle_step(
        &self,
        plan: &RollbackPlan,
        step: &PlanStep,
    ) -> Result<super::Settled, BackendError> {
        let t = self.target(&plan.target.name)?;
        let app = self.get_app(&t).await?;
        let version = app.version_token();
        let (applied, seen) = match step {
            PlanStep::DisableAutoSync | PlanStep::EnableAutoSync => {
                let on = app.auto_sync();
                (
                    Some(on == matches!(step, PlanStep::EnableAutoSync)),
                    format!(
                        "auto-sync is {} on {}",
                        if on { "on" } else { "off" },
                        t.app
                    ),
                )
            }
            PlanStep::Rollback { .. } => {
                let want = plan.to.git_sha.clone().unwrap_or_default();
                let op = app.status.operation_state.clone().unwrap_or_default();
                // A multi-source operation syncs `revisions`: every source
                // must be at the plan's entry's.
                let want_revs = Self::entry_revisions(&app, &plan.to.id);
                let sync = op.operation.as_ref().map(|o| o["sync"].clone());
                let op_revs: Vec<String> = sync
                    .as_ref()
                    .and_then(|s| s["revisions"].as_array().cloned())
                    .unwrap_or_default()
                    .iter()
                    .filter_map(|r| r.as_str().map(str::to_string))
                    .collect();
                let op_rev = sync
                    .as_ref()
                    .and_then(|s| s["revision"].as_str().map(str::to_string))
                    .or_else(|| op_revs.first().cloned())
                    .unwrap_or_default();
                let all_sources = want_revs.is_empty()
                    || (want_revs.len() == op_revs.len()
                        && want_revs
                            .iter()
                            .zip(&op_revs)
                            .all(|(w, o)| crate::core::model::same_commit(w, o)));
                let started = op
                    .started_at
                    .as_deref()
                    .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
                    .map(|d| d.with_timezone(&chrono::Utc));
                let fresh = started.is_some_and(|s| s >= plan.built_at)
                    || matches!(op.phase.as_deref(), Some("Running"));
                let short = |s: &str| s[..s.len().min(7)].to_string();
                if !want.is_empty()
                    && !op_rev.is_empty()
                    && op_rev.starts_with(&want)
                    && all_sources
                    && fresh
                {
                    (
                        Some(true),
                        format!(
                            "operation {} syncing {} to {}",
                            op.phase.clone().unwrap_or_default(),
                            t.app,
                            short(&op_rev)
                        ),
                    )
                } else if want.is_empty() {
                    (
                        None,
                        format!("the plan's history id {} names no commit", plan.to.id),
                    )
                } else {
                    (
                        Some(false),
                        format!(
                            "no operation syncing {} to {} (last operation: {} {})",
                            t.app,
                            short(&want),
                            op.phase.clone().unwrap_or_else(|| "none".into()),
                            short(&op_rev)
                        ),
                    )
                }
            }
            _ => (None, "not a mutating step".into()),
        };
        Ok(super::Settled {
            applied,
            seen,
            version,
        })
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
            *self.targets.lock().unwrap() = out;
            *self.unlisted.lock().unwrap() = unlisted;
            Ok(infos)
        })
    }

    /// A console follows each app's stream; one-shot commands never call
    /// this, so they read once and open nothing.
    fn subscribe(&self, tx: tokio::sync::mpsc::UnboundedSender<super::Change>) {
        *self.changes.lock().unwrap() = Some(tx);
        self.start_streams();
    }

    fn health_all(&self) -> BoxFut<'_, Vec<Result<Health, (String, BackendError)>>> {
        Box::pin(async move {
            self.start_streams();
            let ts = self.targets.lock().unwrap().clone();
            let reads = ts.iter().map(|t| async move {
                self.read_health(t, true)
                    .await
                    .map_err(|e| (t.name.clone(), e))
            });
            let mut out = futures::future::join_all(reads).await;
            out.extend(self.unlisted.lock().unwrap().iter().cloned().map(Err));
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
