//! `rbtui demo`: a simulated platform with a scripted incident, served
//! through the same trait as the real backends. Nothing here is special-cased
//! in the UI or the core.

mod evidence;
pub mod scenario;
mod words;
pub mod world;

use super::clock::Clock;
use super::{Backend, BoxFut, StepDone};
use crate::core::action::BackendError;
use crate::core::migration::MigrationDiff;
use crate::core::model::{Health, History, Progress, ProgressPhase, TargetInfo};
use crate::core::plan::{PlanStep, RollbackPlan};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use world::World;

pub struct DemoBackend {
    world: Mutex<World>,
    clock: Arc<dyn Clock>,
    /// Only these targets are served (config `kind = "demo"` entries); all when empty.
    only: Vec<String>,
}

impl DemoBackend {
    /// The embedded scenario, starting "now" on the given clock.
    pub fn builtin(clock: Arc<dyn Clock>) -> DemoBackend {
        let sc = scenario::parse("assets/demo/scenario.toml", scenario::BUILTIN)
            .expect("embedded scenario is valid (tested)");
        Self::from_scenario(&sc, clock)
    }

    pub fn from_scenario(sc: &scenario::Scenario, clock: Arc<dyn Clock>) -> DemoBackend {
        let world = World::from_scenario(sc, clock.now());
        DemoBackend {
            world: Mutex::new(world),
            clock,
            only: Vec::new(),
        }
    }

    pub fn synthetic(n: usize, revs: usize, clock: Arc<dyn Clock>) -> DemoBackend {
        let world = World::synthetic(n, revs, clock.now());
        DemoBackend {
            world: Mutex::new(world),
            clock,
            only: Vec::new(),
        }
    }

    /// Serves only the named targets, each in the environment its config
    /// names (`None`: the scenario's), like any other target.
    pub fn restricted(mut self, targets: Vec<(String, Option<String>)>) -> DemoBackend {
        {
            let w = self
                .world
                .get_mut()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            for (name, env) in &targets {
                if let (Some(env), Ok(s)) = (env, w.service_mut(name)) {
                    s.info.environment = env.clone();
                }
            }
        }
        self.only = targets.into_iter().map(|(n, _)| n).collect();
        self
    }

    /// Runs `f` on the world after moving it to the clock's now. Tests use
    /// it to change a target behind rbtui's back (a concurrent deploy).
    pub fn with_world<T>(
        &self,
        f: impl FnOnce(&mut World, chrono::DateTime<chrono::Utc>) -> T,
    ) -> T {
        let now = self.clock.now();
        let mut w = self
            .world
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        w.advance(now);
        f(&mut w, now)
    }

    fn served(&self, name: &str) -> bool {
        self.only.is_empty() || self.only.iter().any(|n| n == name)
    }
}

impl Backend for DemoBackend {
    fn evidence<'a>(
        &'a self,
        target: &'a str,
    ) -> BoxFut<'a, Option<Result<Vec<crate::core::model::EvidenceFile>, BackendError>>> {
        let r = self.with_world(|w, now| w.service(target).map(|s| evidence::files(s, now)));
        Box::pin(async move { Some(r) })
    }
    fn changes<'a>(
        &'a self,
        plan: &'a RollbackPlan,
    ) -> BoxFut<'a, Option<Result<String, BackendError>>> {
        let r = self.with_world(|w, _| {
            let s = w.service(&plan.target.name)?;
            let (Some(now), Some(to)) = (s.template(&plan.from.id), s.template(&plan.to.id)) else {
                return Err(BackendError::NotFound(format!(
                    "revision {} or {} not in the demo's history",
                    plan.from.id, plan.to.id
                )));
            };
            Ok(crate::core::change_diff::unified(
                &format!("pod template now (revision {}, simulated)", plan.from.id),
                &now,
                &format!("pod template of revision {}", plan.to.id),
                &to,
            ))
        });
        Box::pin(async move { Some(r) })
    }
    fn about<'a>(&'a self, _t: &'a str) -> BoxFut<'a, Option<Result<super::About, BackendError>>> {
        Box::pin(async {
            Some(Ok(super::About {
                version: "rbtui's embedded demo (simulated)".into(),
                credentials: "none needed: nothing leaves this process".into(),
            }))
        })
    }
    /// The rights each platform would be asked for, granted by the
    /// simulation and said to be simulated: a demo plan shows the same
    /// permissions check a real one does.
    fn permissions<'a>(
        &'a self,
        plan: &'a RollbackPlan,
    ) -> BoxFut<'a, Option<Result<crate::core::action::Rights, BackendError>>> {
        use crate::core::model::Kind;
        let o = plan.target.object();
        let rights: Vec<String> = match plan.target.kind {
            Kind::Kubernetes => vec![format!("patch deployments.apps/{o}")],
            Kind::Argocd => {
                let mut v = vec![
                    format!("sync applications/{o}"),
                    format!("get applications/{o}"),
                ];
                if plan.steps.iter().any(|s| {
                    matches!(
                        s,
                        crate::core::plan::PlanStep::DisableAutoSync
                            | crate::core::plan::PlanStep::EnableAutoSync
                    )
                }) {
                    v.insert(0, format!("update applications/{o}"));
                }
                v
            }
            Kind::Swarm => vec![format!("update service {o}")],
            Kind::Compose => vec![format!("recreate the containers of {o}")],
        };
        let r = rights
            .into_iter()
            .map(|w| (true, format!("{w} (simulated by the demo)")))
            .collect();
        let r = crate::core::action::Rights {
            identity: None,
            each: r,
        };
        Box::pin(async move { Some(Ok(r)) })
    }
    /// A dry run where the real platform has one: a Kubernetes
    /// Deployment's server-side dry run, an Argo CD app's in a rehearsal.
    fn preview<'a>(
        &'a self,
        plan: &'a RollbackPlan,
    ) -> BoxFut<'a, Option<Result<String, BackendError>>> {
        use crate::core::model::{Kind, Mode};
        let has = match plan.target.kind {
            Kind::Kubernetes => true,
            Kind::Argocd => plan.mode == Mode::Rehearsal,
            Kind::Swarm | Kind::Compose => false,
        };
        let text = format!(
            "{} {} to {} {} accepted, nothing persisted (simulated by the demo)",
            plan.target.kind.label(),
            plan.target.object(),
            plan.target.kind.revision_word(),
            plan.to.id
        );
        Box::pin(async move { has.then_some(Ok(text)) })
    }
    fn name(&self) -> &str {
        "demo"
    }

    fn targets(&self) -> BoxFut<'_, Result<Vec<TargetInfo>, BackendError>> {
        let r: Vec<TargetInfo> = self.with_world(|w, _| {
            w.services
                .iter()
                .filter(|s| self.served(&s.info.name))
                .map(|s| s.info.clone())
                .collect()
        });
        if !self.only.is_empty() {
            let missing: Vec<&String> = self
                .only
                .iter()
                .filter(|n| !r.iter().any(|t: &TargetInfo| &t.name == *n))
                .collect();
            if !missing.is_empty() {
                let m = missing
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", ");
                return Box::pin(async move {
                    Err(BackendError::NotFound(format!(
                        "demo has no service named {m}"
                    )))
                });
            }
        }
        Box::pin(async move { Ok(r) })
    }

    fn health_all(&self) -> BoxFut<'_, Vec<Result<Health, (String, BackendError)>>> {
        let r = self.with_world(|w, now| {
            w.services
                .iter()
                .filter(|s| self.served(&s.info.name))
                .map(|s| Ok(s.health(now)))
                .collect()
        });
        Box::pin(async move { r })
    }

    fn health<'a>(&'a self, target: &'a str) -> BoxFut<'a, Result<Health, BackendError>> {
        let r = self.with_world(|w, now| w.service(target).map(|s| s.health(now)));
        Box::pin(async move { r })
    }

    fn history<'a>(&'a self, target: &'a str) -> BoxFut<'a, Result<History, BackendError>> {
        let r = self.with_world(|w, now| w.service(target).map(|s| s.history(now)));
        Box::pin(async move { r })
    }

    fn migrations<'a>(
        &'a self,
        plan: &'a RollbackPlan,
    ) -> BoxFut<'a, Result<MigrationDiff, BackendError>> {
        let r = self.with_world(|w, _| {
            w.service(&plan.target.name)?
                .migrations(&plan.from.id, &plan.to.id)
        });
        Box::pin(async move { r })
    }

    fn execute<'a>(
        &'a self,
        plan: &'a RollbackPlan,
        step: &'a PlanStep,
    ) -> BoxFut<'a, Result<StepDone, BackendError>> {
        let r = self.with_world(|w, now| {
            let s = w.service_mut(&plan.target.name)?;
            if s.version.to_string() != plan.built_from {
                return Err(BackendError::Stale {
                    built_from: plan.built_from.clone(),
                    now: s.version.to_string(),
                });
            }
            if s.rollout.is_some() {
                return Err(BackendError::Refused(
                    "another operation is already in progress".into(),
                ));
            }
            let summary = match step {
                PlanStep::DisableAutoSync => {
                    s.auto_sync = false;
                    s.version += 1;
                    format!("auto-sync disabled on {} (simulated PATCH)", s.info.name)
                }
                PlanStep::EnableAutoSync => {
                    s.auto_sync = true;
                    s.version += 1;
                    format!("auto-sync re-enabled on {} (simulated PATCH)", s.info.name)
                }
                PlanStep::Rollback { to, .. } => {
                    if s.auto_sync {
                        return Err(BackendError::Refused(
                            "rollback cannot be initiated when auto-sync is enabled".into(),
                        ));
                    }
                    s.rollback(to, now)?
                }
                other => {
                    return Err(BackendError::Failed(format!(
                        "{other:?} is not a mutating step"
                    )));
                }
            };
            Ok(StepDone {
                summary,
                version: s.version.to_string(),
            })
        });
        Box::pin(async move { r })
    }

    fn progress<'a>(
        &'a self,
        plan: &'a RollbackPlan,
    ) -> BoxFut<'a, Result<Progress, BackendError>> {
        let r = self.with_world(|w, now| {
            let s = w.service(&plan.target.name)?;
            if let Some(r) = &s.rollout {
                return Ok(s.progress_of(r, now));
            }
            // The rollout ended: report how, from what is running now.
            let cur = &s.revs[s.current];
            let d = s.replicas;
            if cur.failure == Some(scenario::Failure::Crashloop) {
                let stub = world::Rollout {
                    to: s.current,
                    from: s.current,
                    started: now - chrono::Duration::seconds(world::DEADLINE_SECS),
                };
                return Ok(s.progress_of(&stub, now));
            }
            Ok(Progress {
                unproven: None,
                phase: ProgressPhase::Converged,
                message: words::say(s.info.kind, &s.info.name, d, words::Stage::Done),
                desired: d,
                updated: d,
                ready: d,
                old: 0,
            })
        });
        Box::pin(async move { r })
    }

    fn poll_interval(&self) -> Duration {
        Duration::from_secs(2)
    }
}
