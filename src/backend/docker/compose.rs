//! `kind = "compose"`: the containers of one Compose service (grouped by the
//! `com.docker.compose.project` / `.service` labels), rolled back by
//! recreating them on a known-good image — and, where the target names a
//! versioned manifest, swapping that file as a pair, keeping a backup.

use super::compose_inputs::{self, Cli, ComposeError, EditError, Project};
use super::engine::{Engine, GatedHealth, actor_is, engine_error};
use crate::backend::{Backend, BoxFut, StepDone};
use crate::core::action::BackendError;
use crate::core::model::RevisionId;
use crate::core::model::{
    Health, History, ImageRef, Kind, Progress, ProgressPhase, Revision, TargetFacts, TargetInfo,
};
use crate::core::plan::{InputEdit, PlanStep, RollbackPlan};
use bollard::models::{ContainerInspectResponse, ContainerSummary, HealthStatusEnum};
use bollard::query_parameters::{
    CreateContainerOptions, InspectContainerOptions, ListContainersOptions, ListImagesOptions,
    RemoveContainerOptions, RenameContainerOptions, StartContainerOptions, StopContainerOptions,
};
use chrono::{DateTime, Utc};
use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

/// One Compose service target.
#[derive(Debug, Clone)]
pub struct ComposeTarget {
    pub name: String,
    pub project: String,
    pub service: String,
    pub environment: String,
    /// The live manifest and the per-version files (`{tag}`) it is restored from.
    pub manifest: Option<(PathBuf, String)>,
    /// The project's files when the containers' labels do not name them.
    pub compose_files: Vec<PathBuf>,
    /// The variable the compose file reads the version from.
    pub version_var: Option<String>,
    pub env_file: Option<PathBuf>,
}

pub struct ComposeBackend {
    engine: Engine,
    targets: Vec<ComposeTarget>,
    health: GatedHealth,
    /// Found once; `None`: neither CLI runs here.
    /// The Compose CLIs installed here, with their major versions.
    clis: tokio::sync::OnceCell<Vec<(Cli, u32)>>,
}

impl ComposeTarget {
    fn versioned_manifest(&self, tag: &str) -> Option<(PathBuf, PathBuf)> {
        self.manifest
            .as_ref()
            .map(|(live, pattern)| (live.clone(), PathBuf::from(pattern.replace("{tag}", tag))))
    }
}

impl ComposeBackend {
    pub fn new(engine: Engine, targets: Vec<ComposeTarget>) -> ComposeBackend {
        ComposeBackend {
            engine,
            targets,
            health: GatedHealth::default(),
            clis: tokio::sync::OnceCell::new(),
        }
    }

    /// The CLI of the major version that brought the container's project
    /// up (its `com.docker.compose.version` label): v1 and v2 name and
    /// label containers differently, so the other one would take over.
    async fn cli(&self, c: &ContainerSummary) -> Result<&Cli, ComposeError> {
        let installed = self.clis.get_or_init(Cli::installed).await;
        let labels = c.labels.clone().unwrap_or_default();
        let project = labels
            .get("com.docker.compose.project")
            .cloned()
            .unwrap_or_default();
        let service = labels
            .get("com.docker.compose.service")
            .cloned()
            .unwrap_or_default();
        Cli::choose(
            installed,
            labels.get("com.docker.compose.version").map(String::as_str),
            &format!("-p {project} up -d --no-build {service}"),
        )
    }

    /// The project's own inputs, when reachable from here; Err says why not.
    async fn project(
        &self,
        t: &ComposeTarget,
        c: &ContainerSummary,
    ) -> Result<Project, ComposeError> {
        let labels = c.labels.clone().unwrap_or_default();
        let p = Project::discover(
            &t.project,
            &t.service,
            &t.compose_files,
            t.version_var.as_deref(),
            t.env_file.as_deref(),
            &labels,
        )?;
        self.cli(c).await?;
        Ok(p)
    }

    fn manifest_pattern(t: &ComposeTarget) -> Option<(String, String)> {
        t.manifest
            .as_ref()
            .map(|(live, pattern)| (live.display().to_string(), pattern.clone()))
    }

    fn target(&self, name: &str) -> Result<&ComposeTarget, BackendError> {
        self.targets
            .iter()
            .find(|t| t.name == name)
            .ok_or_else(|| BackendError::NotFound(format!("unknown compose target {name}")))
    }

    fn err(&self, e: &bollard::errors::Error) -> BackendError {
        engine_error(&self.engine.host, e)
    }

    async fn containers(&self, t: &ComposeTarget) -> Result<Vec<ContainerSummary>, BackendError> {
        let mut f = HashMap::new();
        f.insert(
            "label".to_string(),
            vec![
                format!("com.docker.compose.project={}", t.project),
                format!("com.docker.compose.service={}", t.service),
            ],
        );
        let mut v = self
            .engine
            .docker
            .list_containers(Some(ListContainersOptions {
                all: true,
                filters: Some(f),
                ..Default::default()
            }))
            .await
            .map_err(|e| self.err(&e))?;
        // Containers parked by an interrupted rollback are not the service.
        v.retain(|c| !c.names.iter().flatten().any(|n| n.ends_with("-rbtui-old")));
        v.sort_by(|a, b| a.names.cmp(&b.names));
        if v.is_empty() {
            return Err(BackendError::NotFound(format!(
                "no containers of compose service {}/{} on {}",
                t.project, t.service, self.engine.host
            )));
        }
        Ok(v)
    }

    async fn inspect(&self, id: &str) -> Result<ContainerInspectResponse, BackendError> {
        self.engine
            .docker
            .inspect_container(id, None::<InspectContainerOptions>)
            .await
            .map_err(|e| self.err(&e))
    }

    /// The plan is pinned to which containers run which images.
    fn version_of(cs: &[ContainerSummary]) -> String {
        cs.iter()
            .map(|c| {
                format!(
                    "{}={}",
                    c.id.as_deref()
                        .map(|i| &i[..i.len().min(12)])
                        .unwrap_or("?"),
                    c.image_id.as_deref().unwrap_or("?")
                )
            })
            .collect::<Vec<_>>()
            .join(",")
    }

    async fn read_health(&self, t: &ComposeTarget) -> Result<Health, BackendError> {
        Ok(self.read_health_checked(t).await?.0)
    }

    /// Health, and how many running containers have no health check: those
    /// count as ready (Compose's own view) but prove nothing about health.
    /// Health, and how many containers have no health check, and how many
    /// are down or failing (exited, unhealthy, restarting: not starting).
    async fn read_health_checked(
        &self,
        t: &ComposeTarget,
    ) -> Result<(Health, u32, u32), BackendError> {
        let cs = self.containers(t).await?;
        let mut unchecked = 0;
        let mut ready = 0;
        let mut looping = 0;
        let mut failing = 0;
        let mut restarts = 0;
        let mut msgs = Vec::new();
        for c in &cs {
            let i = self.inspect(c.id.as_deref().unwrap_or_default()).await?;
            let st = i.state.clone().unwrap_or_default();
            let health = st.health.as_ref().and_then(|h| h.status);
            let count = i.restart_count.unwrap_or(0).max(0) as u32;
            restarts += count;
            match (st.running == Some(true), health) {
                (true, Some(HealthStatusEnum::HEALTHY)) => ready += 1,
                (true, None) | (true, Some(HealthStatusEnum::NONE)) => {
                    ready += 1;
                    unchecked += 1;
                }
                (true, Some(HealthStatusEnum::STARTING)) => {}
                _ => {
                    failing += 1;
                    let (said, crashing) = super::engine::container_state(&st, count);
                    if crashing {
                        looping += 1;
                    }
                    let name = i.name.clone().unwrap_or_default();
                    msgs.push(format!("{} {said}", name.trim_start_matches('/')));
                }
            }
        }
        let images: Vec<ImageRef> = cs
            .first()
            .and_then(|c| c.image.clone())
            .map(|i| vec![ImageRef::parse(&i)])
            .unwrap_or_default();
        Ok((
            Health {
                target: t.name.clone(),
                desired: cs.len() as u32,
                ready,
                updated: cs.len() as u32,
                ready_on_template: None,
                crashlooping: looping,
                new_revision_crashing: 0,
                restarts,
                endpoints: None,
                error_rate: None,
                latency_p95_ms: None,
                latency_baseline_ms: None,
                probe_ok: None,
                rollout_stuck: false,
                revision: images
                    .first()
                    .and_then(|i| i.tag.clone())
                    .unwrap_or_default(),
                images,
                message: (!msgs.is_empty()).then(|| msgs.join("; ")),
                observed_at: Utc::now(),
                signals: Vec::new(),
            },
            unchecked,
            failing,
        ))
    }

    /// rbtui recreates the containers itself; Compose's inputs are not
    /// touched, so they still name the image running now.
    fn drift(c: &ContainerSummary, cur_image: &str, why: &str) -> String {
        let label = |k: &str| c.labels.as_ref().and_then(|l| l.get(k)).cloned();
        let files = label("com.docker.compose.project.config_files")
            .unwrap_or_else(|| "the compose file".into());
        let dir = label("com.docker.compose.project.working_dir")
            .map(|d| format!(" in {d}"))
            .unwrap_or_default();
        let v1 = label("com.docker.compose.version").is_some_and(|v| v.starts_with("1."));
        let next = if v1 {
            format!(
                "`docker-compose up -d` (v1, which brought it up) leaves the rolled-back container as it is, but `--force-recreate` or any change to the service redeploys {cur_image}"
            )
        } else {
            format!(
                "the next `docker compose up -d` sees the image differ and redeploys {cur_image}"
            )
        };
        format!(
            "the Compose inputs ({files}{dir}) still name {cur_image}: rbtui recreates the containers itself ({why}), keeping Compose's labels; {next}; pin the version there (the image tag or the variable it reads) before anyone runs it"
        )
    }

    async fn read_history(&self, t: &ComposeTarget) -> Result<History, BackendError> {
        // Stamped when asked: an answer is at least this fresh.
        let asked = Utc::now();
        let cs = self.containers(t).await?;
        let cur_image = cs[0].image.clone().unwrap_or_default();
        let cur_id = cs[0].image_id.clone().unwrap_or_default();
        let repo = ImageRef::parse(&cur_image).repository;
        let mut f = HashMap::new();
        f.insert("reference".to_string(), vec![repo.clone()]);
        let mut imgs = self
            .engine
            .docker
            .list_images(Some(ListImagesOptions {
                filters: Some(f),
                ..Default::default()
            }))
            .await
            .map_err(|e| self.err(&e))?;
        imgs.sort_by_key(|i| std::cmp::Reverse(i.created));
        let (mut revisions, blocked) = tagged_images(t, &imgs, &repo, &cur_image, &cur_id);
        if !revisions.iter().any(|r| r.current) {
            revisions.insert(
                0,
                Revision {
                    id: ImageRef::parse(&cur_image)
                        .tag
                        .unwrap_or_else(|| "running".into())
                        .into(),
                    deployed_at: DateTime::from_timestamp(cs[0].created.unwrap_or(0), 0),
                    images: vec![ImageRef::parse(&cur_image)],
                    git_sha: None,
                    message: format!("running image {}", &cur_id[..cur_id.len().min(19)]),
                    author: None,
                    current: true,
                },
            );
        }
        let (compose_inputs, inputs_drift) = match self.project(t, &cs[0]).await {
            Ok(p) => (
                Some(
                    p.inputs(
                        self.cli(&cs[0])
                            .await
                            .map_err(|e| BackendError::Failed(e.to_string()))?,
                        Self::manifest_pattern(t),
                    ),
                ),
                None,
            ),
            Err(why) => (
                None,
                Some(Self::drift(&cs[0], &cur_image, &why.to_string())),
            ),
        };
        // What ran here is only what runs now: an image on the engine may
        // have been pulled or built and never started in this project.
        let not_run = revisions
            .iter()
            .filter(|r| !r.current)
            .map(|r| r.id.clone())
            .collect();
        Ok(History {
            target: t.name.clone(),
            revisions,
            facts: TargetFacts {
                not_run,
                version: Self::version_of(&cs),
                history_note: Some("Compose keeps no history: entries are the images of this repository present on the engine; only the current one is known to have run here".into()),
                blocked,
                inputs_drift,
                compose_inputs,
                head_revision: None,
                ..Default::default()
            },
            fetched_at: asked,
            known_bad: vec![],
            last_known_good: None,
        })
    }

    /// Recreates every container of the service on `image`, one at a time:
    /// stop, park the old one under a new name, create and start the new
    /// one with the same name, labels, environment and host config, then
    /// remove the parked one. On failure the parked container is restored.
    /// `planned`: the image id the step made sure of; the tag must still
    /// name it, and each new container must run it.
    async fn recreate(
        &self,
        t: &ComposeTarget,
        image: &str,
        planned: Option<&str>,
    ) -> Result<Vec<String>, BackendError> {
        let d = &self.engine.docker;
        let new_id = d
            .inspect_image(image)
            .await
            .map_err(|e| self.err(&e))?
            .id
            .unwrap_or_default();
        if let Some(want) = planned.filter(|w| *w != new_id) {
            return Err(BackendError::Refused(format!(
                "{image} moved on the engine during the step (now {}, checked {}); nothing was recreated — plan again",
                crate::core::model::short_digest(&new_id),
                crate::core::model::short_digest(want)
            )));
        }
        let mut done = Vec::new();
        for c in self.containers(t).await? {
            let id = c.id.clone().unwrap_or_default();
            let old = self.inspect(&id).await?;
            let name = old
                .name
                .clone()
                .unwrap_or_default()
                .trim_start_matches('/')
                .to_string();
            let old_image = match old.image.as_deref() {
                Some(i) => d.inspect_image(i).await.ok().and_then(|i| i.config),
                None => None,
            }
            .unwrap_or_default();
            let body = super::recreate::body(&old, &old_image, image, &new_id);
            let stop_secs = old
                .config
                .as_ref()
                .and_then(|c| c.stop_timeout)
                .unwrap_or(10);
            self.park(&id, stop_secs, &name).await?;
            let created = d
                .create_container(
                    Some(CreateContainerOptions {
                        name: Some(name.clone()),
                        ..Default::default()
                    }),
                    body,
                )
                .await;
            let started = match created {
                Ok(r) => match self.created_on(&r.id, &new_id).await {
                    Ok(()) => d
                        .start_container(&r.id, None::<StartContainerOptions>)
                        .await
                        .map(|_| r.id)
                        .map_err(|e| self.err(&e)),
                    Err(e) => Err(e),
                },
                Err(e) => Err(self.err(&e)),
            };
            match started {
                Ok(nid) => {
                    let _ = d
                        .remove_container(
                            &id,
                            Some(RemoveContainerOptions {
                                force: true,
                                ..Default::default()
                            }),
                        )
                        .await;
                    done.push(format!(
                        "{name} → {} ({})",
                        image,
                        &nid[..nid.len().min(12)]
                    ));
                }
                Err(e) => return Err(self.put_back(&id, &name, image, e, &done).await),
            }
        }
        Ok(done)
    }

    /// Stops the old container (its own stop timeout) and parks it under
    /// `NAME-rbtui-old`, so the new one can take its name.
    async fn park(&self, id: &str, stop_secs: i64, name: &str) -> Result<(), BackendError> {
        let d = &self.engine.docker;
        d.stop_container(
            id,
            Some(StopContainerOptions {
                t: Some(stop_secs as i32),
                ..Default::default()
            }),
        )
        .await
        .map_err(|e| self.err(&e))?;
        d.rename_container(
            id,
            RenameContainerOptions {
                name: format!("{name}-rbtui-old"),
            },
        )
        .await
        .map_err(|e| self.err(&e))
    }

    /// After a failed recreate: the new container removed and the parked
    /// old one renamed back and started; the error says exactly what could
    /// not be put back, and how to do it by hand.
    async fn put_back(
        &self,
        id: &str,
        name: &str,
        image: &str,
        e: BackendError,
        done: &[String],
    ) -> BackendError {
        let d = &self.engine.docker;
        let parked = format!("{name}-rbtui-old");
        let _ = d
            .remove_container(
                name,
                Some(RemoveContainerOptions {
                    force: true,
                    ..Default::default()
                }),
            )
            .await;
        let restored = async {
            d.rename_container(
                id,
                RenameContainerOptions {
                    name: name.to_string(),
                },
            )
            .await?;
            d.start_container(id, None::<StartContainerOptions>).await
        }
        .await;
        let done_text = if done.is_empty() {
            String::new()
        } else {
            format!(" (already recreated: {})", done.join(", "))
        };
        BackendError::Failed(match restored {
            Ok(()) => format!(
                "recreating {name} on {image} failed, the old container was restored and started: {e}{done_text}"
            ),
            Err(r) => format!(
                "recreating {name} on {image} failed ({e}) and the old container could NOT be restored ({}): it is stopped, possibly named {parked}; bring it back with `docker rename {parked} {name} && docker start {name}`{done_text}",
                self.err(&r)
            ),
        })
    }

    /// The engine resolved the tag again at create: the new container
    /// must be on the image checked, or it is not started.
    async fn created_on(&self, container: &str, want: &str) -> Result<(), BackendError> {
        let got = self.inspect(container).await?.image.unwrap_or_default();
        if got == want {
            return Ok(());
        }
        Err(BackendError::Failed(format!(
            "the new container was created on image {}, not the planned build {}",
            crate::core::model::short_digest(&got),
            crate::core::model::short_digest(want)
        )))
    }

    async fn execute_step(
        &self,
        plan: &RollbackPlan,
        step: &PlanStep,
    ) -> Result<StepDone, BackendError> {
        let t = self.target(&plan.target.name)?;
        let cs = self.containers(t).await?;
        let now = Self::version_of(&cs);
        if now != plan.built_from {
            return Err(BackendError::Stale {
                built_from: plan.built_from.clone(),
                now,
            });
        }
        let to = match step {
            PlanStep::EditInput(edit) => {
                let summary = compose_inputs::apply(edit).map_err(|e| match e {
                    EditError::Changed(m) => BackendError::Refused(m),
                    EditError::Failed(m) => BackendError::Failed(m),
                })?;
                return Ok(StepDone {
                    summary,
                    version: now,
                });
            }
            PlanStep::Rollback { via: Some(via), .. } => {
                return self.compose_up(t, plan, &cs[0], via).await;
            }
            PlanStep::Rollback { to, via: None, .. } => to,
            other => {
                return Err(BackendError::Failed(format!(
                    "{other:?} does not apply to a Compose service"
                )));
            }
        };
        let img = plan
            .to
            .images
            .first()
            .ok_or_else(|| BackendError::Failed("the chosen revision names no image".into()))?;
        let reference = format!(
            "{}:{}",
            img.repository,
            img.tag.clone().unwrap_or_else(|| to.to_string())
        );
        let mut summary = Vec::new();
        // The tag is resolved now (pulled where the engine lacks it) and
        // must be the build the plan showed, before anything is touched.
        let mut planned_id = None;
        if let Some(tag) = &img.tag {
            let ensured =
                super::pull::ensure(&self.engine, &img.repository, tag, img.digest.as_deref())
                    .await?;
            summary.extend(ensured.said);
            planned_id = Some(ensured.image_id);
        }
        if let Some((live, versioned)) = t.versioned_manifest(to) {
            if !versioned.exists() {
                return Err(BackendError::Refused(format!(
                    "no manifest {} for {to}: image and manifest roll back as a pair",
                    versioned.display()
                )));
            }
            let bak = PathBuf::from(format!("{}.bak", live.display()));
            if live.exists() {
                std::fs::copy(&live, &bak).map_err(|e| {
                    BackendError::Failed(format!(
                        "backup of {} failed, nothing changed: {e}",
                        live.display()
                    ))
                })?;
            }
            std::fs::copy(&versioned, &live).map_err(|e| {
                BackendError::Failed(format!("manifest swap failed, nothing changed: {e}"))
            })?;
            summary.push(format!(
                "manifest {} ← {} (backup {})",
                live.display(),
                versioned.display(),
                bak.display()
            ));
        }
        match self.recreate(t, &reference, planned_id.as_deref()).await {
            Ok(done) => summary.extend(done),
            Err(e) => {
                if let Some((live, _)) = t.versioned_manifest(to) {
                    let bak = PathBuf::from(format!("{}.bak", live.display()));
                    if bak.exists() {
                        let _ = std::fs::copy(&bak, &live);
                    }
                }
                return Err(e);
            }
        }
        let after = self.containers(t).await?;
        Ok(StepDone {
            summary: summary.join("; "),
            version: Self::version_of(&after),
        })
    }

    /// Compose recreates the service from the inputs the plan pinned. On
    /// failure the inputs are put back and Compose brings the previous
    /// version up again; the error says what each container is doing.
    async fn compose_up(
        &self,
        t: &ComposeTarget,
        plan: &RollbackPlan,
        c: &ContainerSummary,
        via: &str,
    ) -> Result<StepDone, BackendError> {
        let refused = |e: ComposeError| BackendError::Refused(e.to_string());
        let p = self.project(t, c).await.map_err(refused)?;
        let cli = self.cli(c).await.map_err(refused)?;
        let now = p.inputs(cli, Self::manifest_pattern(t));
        if now.up != via {
            return Err(BackendError::Refused(format!(
                "the Compose command is now `{}`, the plan said `{via}`; nothing was run",
                now.up
            )));
        }
        // Pulled and checked against the planned digest here: Compose
        // would pull the tag as it is now, unchecked.
        let edits: Vec<&InputEdit> = plan
            .steps
            .iter()
            .filter_map(|s| match s {
                PlanStep::EditInput(e) => Some(e),
                _ => None,
            })
            .collect();
        let mut pulled = None;
        let mut planned_id = None;
        if let Some(img) = plan.to.images.first()
            && let Some(tag) = &img.tag
        {
            match super::pull::ensure(&self.engine, &img.repository, tag, img.digest.as_deref())
                .await
            {
                Ok(e) => {
                    pulled = e.said;
                    planned_id = Some(e.image_id);
                }
                // Nothing ran: the inputs the plan pinned go back as they were.
                Err(e) => {
                    let back = put_inputs_back(&edits);
                    return Err(
                        e.map_message(|m| format!("{m}; inputs put back: {}", back.join("; ")))
                    );
                }
            }
        }
        let up = self.up(cli, &p).await;
        match up {
            Ok(said) => {
                let after = self.containers(t).await?;
                // Compose resolved the tag itself: the step is done only if
                // it recreated on the build that was checked.
                if let Some(want) = &planned_id
                    && let Err(why) = super::pull::runs_planned(&after, want)
                {
                    return Err(BackendError::Failed(format!(
                        "`{via}` ran, but {why}: the tag moved during the step; the service runs a build nobody planned — roll back again from a fresh plan"
                    )));
                }
                let pulled = pulled.map(|p| format!("{p}; ")).unwrap_or_default();
                Ok(StepDone {
                    summary: format!("{pulled}`{via}`: {said}"),
                    version: Self::version_of(&after),
                })
            }
            Err(e) => Err(self.up_failed(t, cli, &p, &edits, via, e).await),
        }
    }

    /// `up -d` of the project, as its owner runs it (at most 5 minutes).
    async fn up(&self, cli: &Cli, p: &Project) -> Result<String, ComposeError> {
        compose_inputs::run(
            cli,
            &p.up_args(),
            &self.engine.host,
            &p.var,
            Duration::from_secs(300),
        )
        .await
    }

    /// `up` failed: the pinned inputs go back, Compose brings the previous
    /// version up again, and the error says what each container is doing.
    async fn up_failed(
        &self,
        t: &ComposeTarget,
        cli: &Cli,
        p: &Project,
        edits: &[&InputEdit],
        via: &str,
        e: ComposeError,
    ) -> BackendError {
        let mut back = put_inputs_back(edits);
        let again = self.up(cli, p).await;
        back.push(match again {
            Ok(_) => "Compose brought the previous version back up".into(),
            Err(e2) => format!(
                "bringing the previous version back failed too ({e2}): run `{via}` after checking {}",
                p.env_file.display()
            ),
        });
        let state = match self.containers(t).await {
            Ok(cs) => cs
                .iter()
                .map(|c| {
                    format!(
                        "{} {} ({})",
                        c.names
                            .iter()
                            .flatten()
                            .next()
                            .map(|n| n.trim_start_matches('/'))
                            .unwrap_or("?"),
                        c.state.map(|s| s.to_string()).unwrap_or_default(),
                        c.image.clone().unwrap_or_default()
                    )
                })
                .collect::<Vec<_>>()
                .join(", "),
            Err(e) => format!("containers unreadable: {e}"),
        };
        BackendError::Failed(format!("{e}; {}; containers now: {state}", back.join("; ")))
    }

    async fn read_progress(&self, plan: &RollbackPlan) -> Result<Progress, BackendError> {
        let t = self.target(&plan.target.name)?;
        let (h, unchecked, failing) = self.read_health_checked(t).await?;
        let want = plan
            .to
            .images
            .first()
            .map(|i| format!("{}:{}", i.repository, i.tag.clone().unwrap_or_default()))
            .unwrap_or_default();
        let on = h
            .images
            .first()
            .map(|i| format!("{}:{}", i.repository, i.tag.clone().unwrap_or_default()))
            .unwrap_or_default();
        let p = |phase, message: String| Progress {
            unproven: None,
            phase,
            message,
            desired: h.desired,
            updated: h.updated,
            ready: h.ready,
            old: 0,
        };
        Ok(if on != want {
            p(
                ProgressPhase::Progressing,
                format!("containers run {on}, waiting for {want}"),
            )
        } else if failing > 0 {
            p(
                ProgressPhase::Failed,
                format!(
                    "containers on {want} are not healthy: {}",
                    h.message.unwrap_or_default()
                ),
            )
        } else if h.ready == h.desired && unchecked > 0 {
            Progress {
                unproven: Some(format!(
                    "{unchecked} of {} containers have no health check: running, not proven healthy",
                    h.desired
                )),
                ..p(
                    ProgressPhase::Converged,
                    format!(
                        "{}/{} containers running on {want} ({unchecked} without a health check)",
                        h.ready, h.desired
                    ),
                )
            }
        } else if h.ready == h.desired {
            p(
                ProgressPhase::Converged,
                format!(
                    "{}/{} containers healthy on {want} (health checks pass)",
                    h.ready, h.desired
                ),
            )
        } else {
            p(
                ProgressPhase::Progressing,
                format!(
                    "{}/{} containers healthy on {want} (health checks starting)",
                    h.ready, h.desired
                ),
            )
        })
    }
}

/// A deploy input file as the diff shows it: JSON with secret-looking
/// values hidden, anything else only by its size (it may hold secrets).
fn input_text(path: &std::path::Path) -> String {
    match std::fs::read_to_string(path) {
        Ok(text) => match serde_json::from_str::<serde_json::Value>(&text) {
            Ok(v) => {
                serde_yaml_ng::to_string(&crate::backend::manifests::hidden(&v)).unwrap_or_default()
            }
            Err(_) => format!(
                "({} lines, not JSON: contents not shown)\n",
                text.lines().count()
            ),
        },
        Err(e) => format!("(cannot be read: {e})\n"),
    }
}

impl ComposeBackend {
    /// What the plan changes: the image the service runs, the pinned
    /// version variable, and the manifest swapped with it.
    async fn input_change(&self, plan: &RollbackPlan) -> Result<String, BackendError> {
        let t = self.target(&plan.target.name)?;
        let cs = self.containers(t).await?;
        let cur = cs[0].image.clone().unwrap_or_default();
        let to = plan.to.images.first().map(|i| i.full()).unwrap_or_default();
        let mut now = format!("image: {cur}\n");
        let mut then = format!("image: {to}\n");
        let mut swapped = false;
        for step in &plan.steps {
            match step {
                PlanStep::EditInput(InputEdit::PinVar {
                    file,
                    var,
                    from,
                    to,
                }) => {
                    now.push_str(&format!(
                        "{file}: {var}={}\n",
                        from.as_deref().unwrap_or("(unset)")
                    ));
                    then.push_str(&format!("{file}: {var}={to}\n"));
                }
                PlanStep::EditInput(InputEdit::SwapManifest { live, versioned }) => {
                    swapped = true;
                    now.push_str(&format!("{live}:\n{}", input_text(live.as_ref())));
                    then.push_str(&format!(
                        "{live} (from {versioned}):\n{}",
                        input_text(versioned.as_ref())
                    ));
                }
                _ => {}
            }
        }
        if let (false, Some((live, versioned))) = (swapped, t.versioned_manifest(&plan.to.id)) {
            now.push_str(&format!("{}:\n{}", live.display(), input_text(&live)));
            then.push_str(&format!(
                "{} (from {}):\n{}",
                live.display(),
                versioned.display(),
                input_text(&versioned)
            ));
        }
        Ok(crate::core::change_diff::unified(
            &format!("compose service {}/{} now", t.project, t.service),
            &now,
            &format!("after the rollback to {}", plan.to.id),
            &then,
        ))
    }
}

impl Backend for ComposeBackend {
    fn evidence<'a>(
        &'a self,
        target: &'a str,
    ) -> BoxFut<'a, Option<Result<Vec<crate::core::model::EvidenceFile>, BackendError>>> {
        Box::pin(async move {
            let read = async {
                let t = self.target(target)?;
                let mut inspected = Vec::new();
                for c in self.containers(t).await? {
                    if let Some(id) = c.id.as_deref() {
                        inspected.push(self.inspect(id).await?);
                    }
                }
                super::evidence::compose(&self.engine, &inspected).await
            };
            Some(read.await)
        })
    }
    fn changes<'a>(
        &'a self,
        plan: &'a RollbackPlan,
    ) -> BoxFut<'a, Option<Result<String, BackendError>>> {
        Box::pin(async move { Some(self.input_change(plan).await) })
    }
    fn name(&self) -> &str {
        "compose"
    }
    fn targets(&self) -> BoxFut<'_, Result<Vec<TargetInfo>, BackendError>> {
        let v = self
            .targets
            .iter()
            .map(|t| TargetInfo {
                name: t.name.clone(),
                kind: Kind::Compose,
                environment: t.environment.clone(),
                location: format!(
                    "engine {} · project {} service {}",
                    self.engine.host, t.project, t.service
                ),
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
            let projects: Vec<String> = self.targets.iter().map(|t| t.project.clone()).collect();
            self.health
                .gate
                .start(&self.engine.docker, &["container"], move |ev| {
                    actor_is(ev, &["com.docker.compose.project"], &projects)
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

/// The images of the repository on the engine, one revision per tag
/// (newest first), and those whose versioned manifest is missing (image and
/// manifest roll back as a pair).
fn tagged_images(
    t: &ComposeTarget,
    imgs: &[bollard::models::ImageSummary],
    repo: &str,
    cur_image: &str,
    cur_id: &str,
) -> (Vec<Revision>, Vec<(RevisionId, String)>) {
    let mut revisions = Vec::new();
    let mut blocked = Vec::new();
    for img in imgs {
        let digest = img
            .repo_digests
            .iter()
            .find_map(|d| d.split_once('@').map(|(_, d)| d.to_string()));
        for tag in img
            .repo_tags
            .iter()
            .filter(|x| x.starts_with(&format!("{repo}:")))
        {
            let r = ImageRef::parse(tag);
            let id = r.tag.clone().unwrap_or_default();
            let current = img.id == cur_id && tag == cur_image
                || (img.id == cur_id && !cur_image.contains(':') && id == "latest");
            if let Some((_, versioned)) = t.versioned_manifest(&id) {
                if !versioned.exists() && !current {
                    blocked.push((
                        RevisionId::from(id.as_str()),
                        format!(
                            "no manifest {} for {id}: image and manifest roll back as a pair",
                            versioned.display()
                        ),
                    ));
                }
            }
            let message = format!(
                "image {} {}",
                &img.id[..img.id.len().min(19)],
                img.labels
                    .get("org.opencontainers.image.version")
                    .cloned()
                    .unwrap_or_default()
            );
            revisions.push(super::engine::image_revision(
                img,
                id,
                ImageRef {
                    digest: digest.clone(),
                    ..r
                },
                message,
                current,
            ));
        }
    }
    (revisions, blocked)
}

/// Puts each input the plan pinned back as it was; what could not be is
/// said as such.
fn put_inputs_back(edits: &[&InputEdit]) -> Vec<String> {
    edits
        .iter()
        .map(|ed| compose_inputs::restore(ed).unwrap_or_else(|r| format!("NOT restored: {r}")))
        .collect()
}
