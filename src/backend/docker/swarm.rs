//! `kind = "swarm"`: services, tasks and `UpdateStatus` through bollard.
//! Swarm keeps one previous spec; the other revisions offered are images of
//! the same repository present on the engine, pinned by digest when known.

use super::engine::{Engine, GatedHealth, actor_is, engine_error, raw_get};
use crate::backend::{Backend, BoxFut, StepDone};
use crate::core::action::BackendError;
use crate::core::model::{
    Health, History, ImageRef, Kind, Progress, ProgressPhase, Revision, RevisionId, TargetFacts,
    TargetInfo,
};
use crate::core::plan::{PlanStep, RollbackPlan};
use bollard::models::{Service, ServiceSpec, Task, TaskState};
use bollard::query_parameters::{
    InspectServiceOptions, ListImagesOptions, ListTasksOptions, UpdateServiceOptions,
};
use chrono::{DateTime, Utc};
use std::collections::HashMap;
use std::time::Duration;

/// One Swarm service target.
#[derive(Debug, Clone)]
pub struct SwarmTarget {
    pub name: String,
    pub service: String,
    pub environment: String,
}

pub struct SwarmBackend {
    engine: Engine,
    targets: Vec<SwarmTarget>,
    health: GatedHealth,
}

/// The id of the entry that means "the engine's own previous spec".
pub const PREVIOUS: &str = "previous";

fn when(s: &Option<String>) -> Option<DateTime<Utc>> {
    s.as_deref()
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map(|d| d.with_timezone(&Utc))
}

/// A task the engine gave up on: it failed, or no node would take it.
fn failed(k: &Task) -> bool {
    matches!(
        k.status.as_ref().and_then(|s| s.state),
        Some(TaskState::FAILED) | Some(TaskState::REJECTED)
    )
}

fn spec_image(spec: &ServiceSpec) -> Option<String> {
    spec.task_template
        .as_ref()?
        .container_spec
        .as_ref()?
        .image
        .clone()
}

fn replicas(spec: &ServiceSpec) -> u32 {
    spec.mode
        .as_ref()
        .and_then(|m| m.replicated.as_ref())
        .and_then(|r| r.replicas)
        .unwrap_or(1)
        .max(0) as u32
}

impl SwarmBackend {
    pub fn new(engine: Engine, targets: Vec<SwarmTarget>) -> SwarmBackend {
        SwarmBackend {
            engine,
            targets,
            health: GatedHealth::default(),
        }
    }

    fn target(&self, name: &str) -> Result<&SwarmTarget, BackendError> {
        self.targets
            .iter()
            .find(|t| t.name == name)
            .ok_or_else(|| BackendError::NotFound(format!("unknown swarm target {name}")))
    }

    fn err(&self, e: &bollard::errors::Error) -> BackendError {
        engine_error(&self.engine.host, e)
    }

    async fn service(&self, t: &SwarmTarget) -> Result<Service, BackendError> {
        self.engine
            .docker
            .inspect_service(&t.service, None::<InspectServiceOptions>)
            .await
            .map_err(|e| self.err(&e))
    }

    async fn tasks(&self, t: &SwarmTarget) -> Result<Vec<Task>, BackendError> {
        let mut f = HashMap::new();
        f.insert("service".to_string(), vec![t.service.clone()]);
        self.engine
            .docker
            .list_tasks(Some(ListTasksOptions { filters: Some(f) }))
            .await
            .map_err(|e| self.err(&e))
    }

    /// The engine's `PreviousSpec`, read raw (bollard's model drops it).
    async fn previous_spec(&self, id: &str) -> Option<ServiceSpec> {
        let v = raw_get(&self.engine.host, &format!("/services/{id}")).await?;
        serde_json::from_value(v.get("PreviousSpec")?.clone()).ok()
    }

    async fn read_health(&self, t: &SwarmTarget) -> Result<Health, BackendError> {
        let svc = self.service(t).await?;
        let spec = svc.spec.clone().unwrap_or_default();
        let tasks = self.tasks(t).await?;
        let now = Utc::now();
        let desired = replicas(&spec);
        let running = tasks
            .iter()
            .filter(|k| {
                k.desired_state == Some(TaskState::RUNNING)
                    && k.status.as_ref().and_then(|s| s.state) == Some(TaskState::RUNNING)
            })
            .count() as u32;
        let recent_failures: Vec<&Task> = tasks
            .iter()
            .filter(|k| failed(k))
            .filter(|k| {
                when(&k.status.as_ref().and_then(|s| s.timestamp.clone()))
                    .is_some_and(|at| (now - at).num_seconds() < 120)
            })
            .collect();
        let us = svc.update_status.clone();
        let state = us.as_ref().and_then(|u| u.state).map(|s| s.to_string());
        let mut msg = Vec::new();
        if let Some(st) = &state {
            msg.push(format!(
                "UpdateStatus {st}: {}",
                us.as_ref()
                    .and_then(|u| u.message.clone())
                    .unwrap_or_default()
            ));
        }
        if let Some((f, s)) = recent_failures
            .iter()
            .max_by_key(|k| k.status.as_ref().and_then(|s| s.timestamp.clone()))
            .and_then(|f| Some((f, f.status.as_ref()?)))
        {
            let code = s
                .container_status
                .as_ref()
                .and_then(|c| c.exit_code)
                .map(|c| format!(" exit {c}"))
                .unwrap_or_default();
            msg.push(format!(
                "task {}{code}: {}",
                f.id.as_deref()
                    .map(|i| &i[..i.len().min(12)])
                    .unwrap_or("?"),
                s.err.clone().or(s.message.clone()).unwrap_or_default()
            ));
        }
        Ok(Health {
            target: t.name.clone(),
            desired,
            ready: running,
            updated: running,
            ready_on_template: None,
            crashlooping: failing_slots(&tasks, now),
            new_revision_crashing: 0,
            restarts: tasks
                .iter()
                .filter(|k| {
                    matches!(
                        k.status.as_ref().and_then(|s| s.state),
                        Some(TaskState::FAILED)
                    )
                })
                .count() as u32,
            endpoints: None,
            error_rate: None,
            latency_p95_ms: None,
            latency_baseline_ms: None,
            probe_ok: None,
            rollout_stuck: matches!(state.as_deref(), Some("paused") | Some("rollback_paused")),
            revision: svc
                .version
                .as_ref()
                .and_then(|v| v.index)
                .map(|i| format!("spec@{i}"))
                .unwrap_or_default(),
            images: spec_image(&spec)
                .map(|i| vec![ImageRef::parse(&i)])
                .unwrap_or_default(),
            message: (!msg.is_empty()).then(|| msg.join("; ")),
            observed_at: now,
            signals: Vec::new(),
        })
    }

    async fn read_history(&self, t: &SwarmTarget) -> Result<History, BackendError> {
        // Stamped when asked: an answer is at least this fresh.
        let asked = Utc::now();
        let svc = self.service(t).await?;
        let spec = svc.spec.clone().unwrap_or_default();
        let index = svc.version.as_ref().and_then(|v| v.index).unwrap_or(0);
        let current_image = spec_image(&spec).unwrap_or_default();
        let cur_ref = ImageRef::parse(&current_image);
        let mut revisions = vec![Revision {
            id: format!("spec@{index}").into(),
            deployed_at: when(&svc.updated_at),
            images: vec![cur_ref.clone()],
            git_sha: None,
            message: match spec
                .labels
                .as_ref()
                .and_then(|l| l.get("com.docker.stack.namespace"))
            {
                Some(stack) => format!("current spec (stack {stack}, from docker stack deploy)"),
                None => "current spec".into(),
            },
            // Swarm does not record who deployed; a stack is not a person.
            author: None,
            current: true,
        }];
        let prev = match &svc.id {
            Some(id) => self.previous_spec(id).await,
            None => None,
        };
        let mut note = "Swarm keeps only the previous spec; the other entries are images of this repository present on the engine".to_string();
        match prev.as_ref().and_then(spec_image) {
            Some(p) => revisions.push(Revision {
                id: PREVIOUS.into(),
                deployed_at: None,
                images: vec![ImageRef::parse(&p)],
                git_sha: None,
                message: "the engine's PreviousSpec (docker service rollback)".into(),
                author: None,
                current: false,
            }),
            None => {
                note = format!(
                    "{note}; no previous spec is readable, so rollback=previous is unavailable"
                )
            }
        }
        let mut changes: Vec<(RevisionId, String)> = Vec::new();
        if let Some(p) = &prev {
            let d = spec_changes(&spec, p);
            changes.push((
                PREVIOUS.into(),
                if d.is_empty() {
                    "the whole previous spec returns; it differs from the current one only in what is listed under the images".into()
                } else {
                    format!("the whole previous spec returns: {}", d.join("; "))
                },
            ));
        }
        self.engine_images(&cur_ref, index, &mut revisions, &mut changes)
            .await?;
        let (known_bad, bad_why) = bad_revisions(&svc, &revisions, &self.tasks(t).await?);
        let busy = svc
            .update_status
            .as_ref()
            .and_then(|u| u.state)
            .map(|s| s.to_string())
            .filter(|s| s == "updating" || s == "rollback_started");
        Ok(History {
            target: t.name.clone(),
            revisions,
            facts: TargetFacts {
                compose_inputs: None,
                changes,
                bad_why,
                inputs_drift: None,
                head_revision: None,
                head_meta: None,
                version: index.to_string(),
                auto_sync: false,
                paused: false,
                busy: busy.map(|s| format!("UpdateStatus {s}")),
                history_note: Some(note),
                blocked: vec![],
                warnings: vec![],
                ..Default::default()
            },
            fetched_at: asked,
            known_bad,
            last_known_good: None,
        })
    }

    /// Images of the service's repository present on the engine, newest
    /// first: candidates to pin (only the image changes), each once.
    async fn engine_images(
        &self,
        cur_ref: &ImageRef,
        index: u64,
        revisions: &mut Vec<Revision>,
        changes: &mut Vec<(RevisionId, String)>,
    ) -> Result<(), BackendError> {
        let mut f = HashMap::new();
        f.insert("reference".to_string(), vec![cur_ref.repository.clone()]);
        let images = self
            .engine
            .docker
            .list_images(Some(ListImagesOptions {
                filters: Some(f),
                ..Default::default()
            }))
            .await
            .map_err(|e| self.err(&e))?;
        let mut imgs: Vec<_> = images.into_iter().collect();
        imgs.sort_by_key(|i| std::cmp::Reverse(i.created));
        for img in imgs {
            let digest = img
                .repo_digests
                .iter()
                .find(|d| d.starts_with(&cur_ref.repository))
                .and_then(|d| d.split_once('@'))
                .map(|(_, d)| d.to_string());
            for tag in img
                .repo_tags
                .iter()
                .filter(|t| t.starts_with(&format!("{}:", cur_ref.repository)))
            {
                let r = ImageRef::parse(tag);
                let t_name = r.tag.clone().unwrap_or_default();
                if revisions.iter().any(|x| x.id == t_name) {
                    continue;
                }
                changes.push((
                    t_name.as_str().into(),
                    format!(
                        "only the image changes; env, command, replicas, mounts and the rest of spec@{index} stay as they are now"
                    ),
                ));
                let message = format!(
                    "image on the engine (id {})",
                    &img.id[..img.id.len().min(19)]
                );
                revisions.push(super::engine::image_revision(
                    &img,
                    t_name,
                    ImageRef {
                        digest: digest.clone(),
                        ..r
                    },
                    message,
                    false,
                ));
            }
        }
        Ok(())
    }

    /// The service spec now against the one the step will leave: the
    /// engine's PreviousSpec for rollback=previous, else this spec with
    /// only the image pinned.
    async fn spec_change(&self, plan: &RollbackPlan) -> Result<String, BackendError> {
        let t = self.target(&plan.target.name)?;
        let svc = self.service(t).await?;
        let now = svc.spec.clone().unwrap_or_default();
        let (label, then) = if plan.to.id == PREVIOUS {
            let id = svc.id.clone().unwrap_or_default();
            let prev = self.previous_spec(&id).await.ok_or_else(|| {
                BackendError::NotFound(format!(
                    "service {} has no readable PreviousSpec",
                    t.service
                ))
            })?;
            ("the engine's PreviousSpec".to_string(), prev)
        } else {
            let img =
                plan.to.images.first().ok_or_else(|| {
                    BackendError::Failed("the chosen revision names no image".into())
                })?;
            let mut then = now.clone();
            if let Some(cs) = then
                .task_template
                .as_mut()
                .and_then(|tt| tt.container_spec.as_mut())
            {
                cs.image = Some(img.full());
            }
            (format!("this spec with the image of {}", plan.to.id), then)
        };
        let yaml = |s: &ServiceSpec| {
            let v = serde_json::to_value(s).unwrap_or_default();
            serde_yaml_ng::to_string(&crate::backend::manifests::hidden(&v)).unwrap_or_default()
        };
        let index = svc.version.as_ref().and_then(|v| v.index).unwrap_or(0);
        Ok(crate::core::change_diff::unified(
            &format!("service spec now (version {index})"),
            &yaml(&now),
            &label,
            &yaml(&then),
        ))
    }

    async fn execute_step(
        &self,
        plan: &RollbackPlan,
        step: &PlanStep,
    ) -> Result<StepDone, BackendError> {
        let t = self.target(&plan.target.name)?;
        let PlanStep::Rollback { to, .. } = step else {
            return Err(BackendError::Failed(format!(
                "{step:?} does not apply to a Swarm service"
            )));
        };
        let svc = self.service(t).await?;
        let index = svc.version.as_ref().and_then(|v| v.index).unwrap_or(0);
        if index.to_string() != plan.built_from {
            return Err(BackendError::Stale {
                built_from: plan.built_from.clone(),
                now: index.to_string(),
            });
        }
        let mut spec = svc.spec.clone().unwrap_or_default();
        let (opts, what) = if to == PREVIOUS {
            (
                UpdateServiceOptions {
                    version: index as i32,
                    rollback: Some("previous".into()),
                    ..Default::default()
                },
                "rollback=previous".to_string(),
            )
        } else {
            let img =
                plan.to.images.first().ok_or_else(|| {
                    BackendError::Failed("the chosen revision names no image".into())
                })?;
            let reference = img.full();
            if let Some(cs) = spec
                .task_template
                .as_mut()
                .and_then(|tt| tt.container_spec.as_mut())
            {
                cs.image = Some(reference.clone());
            }
            (
                UpdateServiceOptions {
                    version: index as i32,
                    ..Default::default()
                },
                format!("image pinned to {reference}"),
            )
        };
        match self
            .engine
            .docker
            .update_service(&t.service, spec, opts, None)
            .await
        {
            Ok(r) => {
                let warn = r
                    .warnings
                    .map(|w| w.join("; "))
                    .filter(|w| !w.is_empty())
                    .map(|w| format!(" (engine: {w})"))
                    .unwrap_or_default();
                let after = self.service(t).await?;
                let v = after.version.as_ref().and_then(|v| v.index).unwrap_or(0);
                Ok(StepDone {
                    summary: format!(
                        "service {} updated at version {index}: {what}{warn}",
                        t.service
                    ),
                    version: v.to_string(),
                })
            }
            Err(e) => {
                let m = self.err(&e);
                if m.to_string().contains("update out of sequence") {
                    Err(BackendError::Stale {
                        built_from: plan.built_from.clone(),
                        now: "changed on the engine".into(),
                    })
                } else if m.is_outage() {
                    // The update was sent: a 5xx or a cut connection may
                    // come after the manager applied it.
                    Err(BackendError::OutcomeUnknown(m.to_string()))
                } else {
                    Err(m)
                }
            }
        }
    }

    async fn read_progress(&self, plan: &RollbackPlan) -> Result<Progress, BackendError> {
        let t = self.target(&plan.target.name)?;
        let svc = self.service(t).await?;
        let spec = svc.spec.clone().unwrap_or_default();
        let tasks = self.tasks(t).await?;
        let desired = replicas(&spec);
        let want = spec_image(&spec).unwrap_or_default();
        let on_target = |k: &&Task| {
            k.spec
                .as_ref()
                .and_then(|s| s.container_spec.as_ref())
                .and_then(|c| c.image.clone())
                .is_some_and(|i| i == want)
        };
        let running: Vec<&Task> = tasks
            .iter()
            .filter(|k| {
                k.desired_state == Some(TaskState::RUNNING)
                    && k.status.as_ref().and_then(|s| s.state) == Some(TaskState::RUNNING)
            })
            .collect();
        let ready = running.iter().copied().filter(on_target).count() as u32;
        let old = running.len() as u32 - ready;
        let us = svc.update_status.clone().unwrap_or_default();
        let state = us.state.map(|s| s.to_string()).unwrap_or_default();
        let errors: Vec<String> = tasks
            .iter()
            .filter(|k| failed(k))
            .filter_map(|k| k.status.as_ref().and_then(|s| s.err.clone()))
            .take(3)
            .collect();
        let p = |phase, message: String| Progress {
            unproven: None,
            phase,
            message,
            desired,
            updated: ready,
            ready,
            old,
        };
        let want_short = ImageRef::parse(&want).short();
        Ok(match state.as_str() {
            "paused" | "rollback_paused" => p(
                ProgressPhase::Failed,
                format!(
                    "UpdateStatus {state}: {}; task errors: {}",
                    us.message.unwrap_or_default(),
                    if errors.is_empty() {
                        "none".into()
                    } else {
                        errors.join(" | ")
                    }
                ),
            ),
            "updating" | "rollback_started" => p(
                ProgressPhase::Progressing,
                format!("UpdateStatus {state}: {ready}/{desired} tasks running {want_short}"),
            ),
            _ if ready >= desired && old == 0 => p(
                ProgressPhase::Converged,
                format!(
                    "service {} converged: {ready}/{desired} tasks running {want_short} ({})",
                    t.service,
                    if state.is_empty() {
                        "no update status".into()
                    } else {
                        state
                    }
                ),
            ),
            _ => p(
                ProgressPhase::Progressing,
                format!("{ready}/{desired} tasks running {want_short}, {old} old"),
            ),
        })
    }
}

/// Revisions the engine itself says are bad: the spec Swarm rolled back
/// from (after an update's rollback, PreviousSpec is the failed one) and
/// images whose tasks failed.
fn bad_revisions(
    svc: &Service,
    revisions: &[Revision],
    tasks: &[Task],
) -> (Vec<RevisionId>, Vec<(RevisionId, String)>) {
    let mut out: Vec<(RevisionId, String)> = Vec::new();
    if let Some(u) = &svc.update_status {
        let st = u.state.map(|s| s.to_string()).unwrap_or_default();
        if st.starts_with("rollback") && revisions.iter().any(|r| r.id == PREVIOUS) {
            out.push((
                PREVIOUS.into(),
                format!(
                    "Swarm rolled back from this spec (UpdateStatus {st}: {})",
                    u.message.clone().unwrap_or_default()
                ),
            ));
        }
    }
    for r in revisions.iter().filter(|r| !r.current) {
        let failures: Vec<&Task> = tasks
            .iter()
            .filter(|k| failed(k))
            .filter(|k| {
                k.spec
                    .as_ref()
                    .and_then(|s| s.container_spec.as_ref())
                    .and_then(|c| c.image.as_deref())
                    .is_some_and(|i| r.images.iter().any(|ri| ri.same_build(&ImageRef::parse(i))))
            })
            .collect();
        if failures.is_empty() || out.iter().any(|(id, _)| *id == r.id) {
            continue;
        }
        let last = failures
            .iter()
            .max_by_key(|k| k.status.as_ref().and_then(|s| s.timestamp.clone()))
            .and_then(|k| k.status.as_ref())
            .map(|s| s.err.clone().or(s.message.clone()).unwrap_or_default())
            .unwrap_or_default();
        out.push((
            r.id.clone(),
            format!(
                "{} task(s) on its image failed on this engine (last: {last})",
                failures.len()
            ),
        ));
    }
    (out.iter().map(|(id, _)| id.clone()).collect(), out)
}

/// What a rollback from `cur` to `prev` changes, by field. Env values are
/// never shown (they hold secrets): only which names come, go or change.
pub fn spec_changes(cur: &ServiceSpec, prev: &ServiceSpec) -> Vec<String> {
    let mut out = Vec::new();
    let cs = |s: &ServiceSpec| {
        s.task_template
            .as_ref()
            .and_then(|t| t.container_spec.clone())
            .unwrap_or_default()
    };
    let (c, p) = (cs(cur), cs(prev));
    if c.image != p.image {
        out.push(format!(
            "image {} → {}",
            c.image.as_deref().unwrap_or("?"),
            p.image.as_deref().unwrap_or("?")
        ));
    }
    let env = |e: &Option<Vec<String>>| -> HashMap<String, String> {
        e.iter()
            .flatten()
            .map(|kv| {
                let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
                (k.to_string(), v.to_string())
            })
            .collect()
    };
    let (ce, pe) = (env(&c.env), env(&p.env));
    let names = |f: &dyn Fn(&String) -> bool, sign: &str, from: &HashMap<String, String>| {
        let mut n: Vec<String> = from
            .keys()
            .filter(|k| f(k))
            .map(|k| format!("{sign}{k}"))
            .collect();
        n.sort();
        n
    };
    let mut ev = names(&|k| !ce.contains_key(k), "+", &pe);
    ev.extend(names(&|k| !pe.contains_key(k), "−", &ce));
    ev.extend(names(&|k| pe.get(k).is_some_and(|v| ce[k] != *v), "~", &ce));
    if !ev.is_empty() {
        out.push(format!("env {} (values not shown)", ev.join(" ")));
    }
    if c.args != p.args || c.command != p.command {
        out.push("command/args".into());
    }
    if c.mounts != p.mounts {
        out.push("mounts".into());
    }
    if c.secrets != p.secrets || c.configs != p.configs {
        out.push("secrets/configs".into());
    }
    let (cr, pr) = (replicas(cur), replicas(prev));
    if cr != pr {
        out.push(format!("replicas {cr} → {pr}"));
    }
    let tt = |s: &ServiceSpec| s.task_template.clone().unwrap_or_default();
    if tt(cur).resources != tt(prev).resources {
        out.push("resources".into());
    }
    if tt(cur).networks != tt(prev).networks || cur.networks != prev.networks {
        out.push("networks".into());
    }
    if cur.endpoint_spec != prev.endpoint_spec {
        out.push("published ports".into());
    }
    if cur.labels != prev.labels {
        out.push("service labels".into());
    }
    out
}

/// Replicas whose newest task is not running after a failure in the last
/// two minutes. Swarm keeps every failed attempt as its own task, so
/// counting failed tasks said "all 3 crash-looping" while two slots ran
/// and one kept failing. A slot is its `Slot` (replicated) or its node
/// (global services).
pub fn failing_slots(tasks: &[Task], now: chrono::DateTime<Utc>) -> u32 {
    let mut slots: HashMap<String, Vec<&Task>> = HashMap::new();
    for k in tasks {
        let key = match (k.slot, &k.node_id) {
            (Some(s), _) => format!("slot {s}"),
            (None, Some(n)) => format!("node {n}"),
            (None, None) => continue,
        };
        slots.entry(key).or_default().push(k);
    }
    let state = |k: &Task| k.status.as_ref().and_then(|s| s.state);
    let at = |k: &Task| when(&k.status.as_ref().and_then(|s| s.timestamp.clone()));
    slots
        .values()
        .filter(|ts| {
            let newest = ts.iter().max_by_key(|k| (at(k), k.created_at.clone()));
            let running = newest.is_some_and(|k| state(k) == Some(TaskState::RUNNING));
            let failed_lately = ts
                .iter()
                .any(|k| failed(k) && at(k).is_some_and(|t| (now - t).num_seconds() < 120));
            !running && failed_lately
        })
        .count() as u32
}

impl Backend for SwarmBackend {
    fn name(&self) -> &str {
        "swarm"
    }
    fn evidence<'a>(
        &'a self,
        target: &'a str,
    ) -> BoxFut<'a, Option<Result<Vec<crate::core::model::EvidenceFile>, BackendError>>> {
        Box::pin(async move {
            let read = async {
                let t = self.target(target)?;
                let tasks = self.tasks(t).await?;
                Ok(super::evidence::swarm(&self.engine, &t.service, &tasks).await)
            };
            Some(read.await)
        })
    }
    fn targets(&self) -> BoxFut<'_, Result<Vec<TargetInfo>, BackendError>> {
        let v = self
            .targets
            .iter()
            .map(|t| TargetInfo {
                name: t.name.clone(),
                kind: Kind::Swarm,
                environment: t.environment.clone(),
                location: format!("engine {} · service {}", self.engine.host, t.service),
                object: Some(t.service.clone()),
                simulated: false,
            })
            .collect();
        Box::pin(async move { Ok(v) })
    }
    /// Cheap between engine events: the cached snapshot is returned until
    /// an event arrives or the slow resync is due.
    fn health_all(&self) -> BoxFut<'_, Vec<Result<Health, (String, BackendError)>>> {
        Box::pin(async move {
            let names: Vec<String> = self.targets.iter().map(|t| t.service.clone()).collect();
            self.health
                .gate
                .start(&self.engine.docker, &["service", "container"], move |ev| {
                    actor_is(ev, &["name", "com.docker.swarm.service.name"], &names)
                });
            let reads = || {
                futures::future::join_all(self.targets.iter().map(|t| async move {
                    self.read_health(t).await.map_err(|e| (t.name.clone(), e))
                }))
            };
            self.health.get(reads).await
        })
    }
    fn health<'a>(&'a self, target: &'a str) -> BoxFut<'a, Result<Health, BackendError>> {
        Box::pin(async move { self.read_health(self.target(target)?).await })
    }
    fn history<'a>(&'a self, target: &'a str) -> BoxFut<'a, Result<History, BackendError>> {
        Box::pin(async move { self.read_history(self.target(target)?).await })
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
        Box::pin(self.read_progress(plan))
    }
    fn changes<'a>(
        &'a self,
        plan: &'a RollbackPlan,
    ) -> BoxFut<'a, Option<Result<String, BackendError>>> {
        Box::pin(async move { Some(self.spec_change(plan).await) })
    }
    /// Polls are cheap (see `health_all`): changes show within a second.
    fn about<'a>(
        &'a self,
        _t: &'a str,
    ) -> BoxFut<'a, Option<Result<crate::backend::About, BackendError>>> {
        Box::pin(async move { Some(super::engine::about(&self.engine).await) })
    }
    fn poll_interval(&self) -> Duration {
        Duration::from_secs(1)
    }
}

#[cfg(test)]
mod slot_tests {
    use super::*;

    fn task(slot: i64, state: &str, secs_ago: i64, now: DateTime<Utc>) -> Task {
        serde_json::from_value(serde_json::json!({
            "Slot": slot,
            "CreatedAt": (now - chrono::Duration::seconds(secs_ago)).to_rfc3339(),
            "DesiredState": "running",
            "Status": {
                "State": state,
                "Timestamp": (now - chrono::Duration::seconds(secs_ago)).to_rfc3339(),
            }
        }))
        .unwrap()
    }

    #[test]
    fn a_previous_spec_names_what_differs_without_env_values() {
        let spec = |img: &str, env: &[&str], n: i64| -> ServiceSpec {
            serde_json::from_value(serde_json::json!({
                "TaskTemplate": {"ContainerSpec": {"Image": img, "Env": env}},
                "Mode": {"Replicated": {"Replicas": n}},
            }))
            .unwrap()
        };
        let d = spec_changes(
            &spec("web:v2", &["A=1", "TOKEN=new-secret", "B=2"], 3),
            &spec("web:v1", &["A=1", "TOKEN=old-secret", "C=3"], 2),
        );
        assert_eq!(
            d,
            [
                "image web:v2 → web:v1",
                "env +C −B ~TOKEN (values not shown)",
                "replicas 3 → 2"
            ]
        );
        assert!(!d.join(" ").contains("secret"));
    }

    /// Two replicas run; slot 3 failed three times and is starting again.
    #[test]
    fn crash_looping_counts_slots_not_failed_attempts() {
        let now = Utc::now();
        let tasks = vec![
            task(1, "running", 300, now),
            task(2, "running", 300, now),
            task(3, "failed", 60, now),
            task(3, "failed", 40, now),
            task(3, "failed", 20, now),
            task(3, "starting", 5, now),
            // Slot 1 failed long ago and has run since.
            task(1, "failed", 400, now),
        ];
        assert_eq!(failing_slots(&tasks, now), 1);
        // Slot 3 comes up: nothing is crash-looping.
        let mut ok = tasks.clone();
        ok.push(task(3, "running", 1, now));
        assert_eq!(failing_slots(&ok, now), 0);
    }
}
