//! Routes each target to the backend that owns it, so a config can mix kinds.

use super::git_migrations::GitMigrations;
use super::{Backend, BoxFut, StepDone};
use crate::core::action::ExecError;
use crate::core::migration::MigrationDiff;
use crate::core::model::{Health, History, Progress, TargetInfo};
use crate::core::plan::{PlanStep, RollbackPlan};
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

pub struct Router {
    backends: Vec<Arc<dyn Backend>>,
    owner: RwLock<HashMap<String, usize>>,
    /// Targets whose migrations come from a git checkout rather than the backend.
    git: HashMap<String, GitMigrations>,
}

impl Router {
    pub fn new(backends: Vec<Arc<dyn Backend>>) -> Router {
        Router {
            backends,
            owner: RwLock::new(HashMap::new()),
            git: HashMap::new(),
        }
    }

    pub fn with_git_migrations(mut self, target: &str, g: GitMigrations) -> Router {
        self.git.insert(target.to_string(), g);
        self
    }

    fn of(&self, target: &str) -> Result<&Arc<dyn Backend>, String> {
        let i = self.owner.read().unwrap().get(target).copied();
        i.map(|i| &self.backends[i])
            .ok_or_else(|| format!("unknown target {target}"))
    }
}

impl Backend for Router {
    fn name(&self) -> &str {
        self.backends.first().map(|b| b.name()).unwrap_or("none")
    }

    fn targets(&self) -> BoxFut<'_, Result<Vec<TargetInfo>, String>> {
        Box::pin(async move {
            let mut all = Vec::new();
            let mut errors = Vec::new();
            for (i, b) in self.backends.iter().enumerate() {
                match b.targets().await {
                    Ok(ts) => {
                        let mut o = self.owner.write().unwrap();
                        for t in &ts {
                            o.insert(t.name.clone(), i);
                        }
                        all.extend(ts);
                    }
                    Err(e) => errors.push(format!("{}: {e}", b.name())),
                }
            }
            if all.is_empty() && !errors.is_empty() {
                Err(errors.join("; "))
            } else {
                Ok(all)
            }
        })
    }

    fn health_all(&self) -> BoxFut<'_, Vec<Result<Health, (String, String)>>> {
        Box::pin(async move {
            let mut out = Vec::new();
            for b in &self.backends {
                out.extend(b.health_all().await);
            }
            out
        })
    }

    fn health<'a>(&'a self, target: &'a str) -> BoxFut<'a, Result<Health, String>> {
        Box::pin(async move { self.of(target)?.health(target).await })
    }

    fn history<'a>(&'a self, target: &'a str) -> BoxFut<'a, Result<History, String>> {
        Box::pin(async move { self.of(target)?.history(target).await })
    }

    fn migrations<'a>(
        &'a self,
        plan: &'a RollbackPlan,
    ) -> BoxFut<'a, Result<MigrationDiff, String>> {
        Box::pin(async move {
            match self.git.get(&plan.target.name) {
                Some(g) => Ok(g.diff(&plan.target.name, &plan.from, &plan.to).await),
                None => self.of(&plan.target.name)?.migrations(plan).await,
            }
        })
    }

    fn execute<'a>(
        &'a self,
        plan: &'a RollbackPlan,
        step: &'a PlanStep,
    ) -> BoxFut<'a, Result<StepDone, ExecError>> {
        Box::pin(async move {
            self.of(&plan.target.name)
                .map_err(ExecError::Failed)?
                .execute(plan, step)
                .await
        })
    }

    fn progress<'a>(&'a self, plan: &'a RollbackPlan) -> BoxFut<'a, Result<Progress, String>> {
        Box::pin(async move { self.of(&plan.target.name)?.progress(plan).await })
    }

    fn settle<'a>(
        &'a self,
        plan: &'a RollbackPlan,
        step: &'a PlanStep,
    ) -> BoxFut<'a, Result<super::Settled, String>> {
        Box::pin(async move { self.of(&plan.target.name)?.settle(plan, step).await })
    }

    fn poll_interval(&self) -> Duration {
        self.backends
            .iter()
            .map(|b| b.poll_interval())
            .min()
            .unwrap_or(Duration::from_secs(5))
    }

    fn preview<'a>(&'a self, plan: &'a RollbackPlan) -> BoxFut<'a, Option<Result<String, String>>> {
        Box::pin(async move {
            match self.of(&plan.target.name) {
                Ok(b) => b.preview(plan).await,
                Err(e) => Some(Err(e)),
            }
        })
    }
}
