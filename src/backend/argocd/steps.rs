//! The mutating steps of an Argo CD rollback and how a lost answer is
//! settled: auto-sync off and on (by server version), the rollback POST,
//! the rehearsal's dry run, and the `can-i` asked again before the first.

use super::api::{self, Application};
use super::client::ApiError;
use super::{AppTarget, ArgoBackend, SAVED_AUTOMATED, rights};
use crate::backend::StepDone;
use crate::core::action::BackendError;
use crate::core::plan::{PlanStep, RollbackPlan};
use reqwest::Method;
use std::time::Duration;

impl ArgoBackend {
    /// Whether the server understands `automated.enabled` (v3.1+). Only a
    /// version actually read is remembered: a failed probe is retried, and
    /// if the version cannot be read the caller refuses rather than guess
    /// (the pre-3.1 form removes prune and selfHeal).
    async fn supports_enabled(&self) -> Result<bool, BackendError> {
        if let Some(v) = *self
            .supports_enabled
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
        {
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
                    *self
                        .supports_enabled
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(yes);
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

    pub(super) async fn execute_step(
        &self,
        plan: &RollbackPlan,
        step: &PlanStep,
    ) -> Result<StepDone, BackendError> {
        let t = self.target(&plan.target.name)?;
        // Re-read first: the plan must still describe the app as it is.
        let app = self.get_app(&t).await.map_err(unsent(&t))?;
        let now = app.version_token();
        if now != plan.built_from {
            return Err(BackendError::Stale {
                built_from: plan.built_from.clone(),
                now,
            });
        }
        match step {
            PlanStep::DisableAutoSync => self.disable_auto_sync(plan, &t, &app, now).await,
            PlanStep::EnableAutoSync => self.enable_auto_sync(&t, &app, now).await,
            PlanStep::Rollback { to, .. } => self.roll_back_to(plan, &t, to).await,
            other => Err(BackendError::Failed(format!(
                "{other:?} is not a mutating step"
            ))),
        }
    }

    /// Auto-sync off so the rollback sticks: `enabled: false` from v3.1,
    /// before that the block removed and kept on the app for re-enable.
    async fn disable_auto_sync(
        &self,
        plan: &RollbackPlan,
        t: &AppTarget,
        app: &Application,
        now: String,
    ) -> Result<StepDone, BackendError> {
        if !app.auto_sync() {
            return Ok(StepDone {
                summary: "auto-sync was already off".into(),
                version: now,
            });
        }
        self.may_sync(plan, t).await?;
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
            let (orig, _) = self.automated_raw(t).await.map_err(unsent(t))?;
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
        let after = self.merge_patch(t, &patch).await.map_err(fail)?;
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

    /// Auto-sync back on after the revert, with prune/selfHeal as they were.
    async fn enable_auto_sync(
        &self,
        t: &AppTarget,
        app: &Application,
        now: String,
    ) -> Result<StepDone, BackendError> {
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
            let (_, saved) = self.automated_raw(t).await.map_err(unsent(t))?;
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
                "server before v3.1: the block saved at disable restored exactly".to_string(),
            )
        };
        let after = self.merge_patch(t, &patch).await.map_err(fail)?;
        Ok(StepDone {
            summary: format!(
                "auto-sync re-enabled on {}: merge PATCH {patch} ({how}); Argo CD now follows HEAD",
                t.app
            ),
            version: after.version_token(),
        })
    }

    /// `POST /rollback {id, prune: false, dryRun: false}`.
    async fn roll_back_to(
        &self,
        plan: &RollbackPlan,
        t: &AppTarget,
        to: &crate::core::model::RevisionId,
    ) -> Result<StepDone, BackendError> {
        let path = format!("/api/v1/applications/{}", t.app);
        let id = to
            .number()
            .ok_or_else(|| BackendError::Failed(format!("history id {to} is not a number")))?;
        let mut body =
            serde_json::json!({"name": t.app, "id": id, "prune": false, "dryRun": false});
        for (k, v) in Self::query(t) {
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
                &Self::object(t),
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
}

/// Before anything mutating left, a failure means nothing was sent.
fn unsent(t: &AppTarget) -> impl Fn(ApiError) -> BackendError + '_ {
    move |e: ApiError| {
        BackendError::NotSent(format!("re-reading {} failed: {}", t.app, e.message()))
    }
}

/// Once a mutating request left, a lost answer (5xx, timeout, reset,
/// unreadable body) leaves its outcome unknown until re-read.
fn fail(e: ApiError) -> BackendError {
    match e {
        ApiError::Rejected(m) => BackendError::Refused(m),
        ApiError::Unavailable(m) => BackendError::OutcomeUnknown(m),
        ApiError::Unreachable(m) => BackendError::NotSent(m),
        ApiError::Malformed(m) => BackendError::OutcomeUnknown(format!("unreadable answer: {m}")),
        other => BackendError::Failed(other.message()),
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
    pub(super) fn entry_revisions(
        app: &Application,
        id: &crate::core::model::RevisionId,
    ) -> Vec<String> {
        app.status
            .history
            .iter()
            .find(|e| e.id.to_string() == id.as_str())
            .map(|e| e.revisions.clone())
            .unwrap_or_default()
    }

    pub(super) async fn rights_for(
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
    pub(super) async fn dry_run(&self, plan: &RollbackPlan) -> Result<String, BackendError> {
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
    pub(super) async fn settle_step(
        &self,
        plan: &RollbackPlan,
        step: &PlanStep,
    ) -> Result<crate::backend::Settled, BackendError> {
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
        Ok(crate::backend::Settled {
            applied,
            seen,
            version,
        })
    }
}
