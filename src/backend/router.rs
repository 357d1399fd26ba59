//! Routes each target to the backend that owns it, so a config can mix kinds.

use super::git_migrations::GitMigrations;
use super::{Backend, BoxFut, StepDone};
use crate::core::action::BackendError;
use crate::core::migration::MigrationDiff;
use crate::core::model::{EvidenceFile, Health, History, Kind, Progress, TargetInfo};
use crate::core::plan::{PlanStep, RollbackPlan};
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

pub struct Router {
    backends: Vec<Arc<dyn Backend>>,
    owner: RwLock<HashMap<String, usize>>,
    /// Backends whose listing failed while others listed: each is an error
    /// row (by row name, with its error), so the failure stays in sight.
    unlisted: RwLock<Vec<(String, BackendError)>>,
    /// Targets whose migrations come from a git checkout rather than the backend.
    git: HashMap<String, GitMigrations>,
}

impl Router {
    pub fn new(backends: Vec<Arc<dyn Backend>>) -> Router {
        Router {
            backends,
            owner: RwLock::new(HashMap::new()),
            unlisted: RwLock::new(Vec::new()),
            git: HashMap::new(),
        }
    }

    pub fn with_git_migrations(mut self, target: &str, g: GitMigrations) -> Router {
        self.git.insert(target.to_string(), g);
        self
    }

    fn of(&self, target: &str) -> Result<&Arc<dyn Backend>, BackendError> {
        if let Some((_, e)) = self
            .unlisted
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .iter()
            .find(|(n, _)| n == target)
        {
            return Err(e.clone());
        }
        let i = self
            .owner
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(target)
            .copied();
        i.map(|i| &self.backends[i])
            .ok_or_else(|| BackendError::NotFound(format!("unknown target {target}")))
    }
}

impl Backend for Router {
    fn name(&self) -> &str {
        self.backends.first().map(|b| b.name()).unwrap_or("none")
    }

    fn targets(&self) -> BoxFut<'_, Result<Vec<TargetInfo>, BackendError>> {
        Box::pin(async move {
            let mut all = Vec::new();
            let mut errors: Vec<(String, BackendError)> = Vec::new();
            let mut rows = Vec::new();
            let mut unlisted = Vec::new();
            for (i, b) in self.backends.iter().enumerate() {
                match b.targets().await {
                    Ok(ts) => {
                        let mut o = self
                            .owner
                            .write()
                            .unwrap_or_else(std::sync::PoisonError::into_inner);
                        for t in &ts {
                            o.insert(t.name.clone(), i);
                        }
                        all.extend(ts);
                    }
                    Err(e) => {
                        errors.push((b.name().to_string(), e.clone()));
                        if let Some(kind) = Kind::from_label(b.name()) {
                            let name = format!("{} (not listed)", b.name());
                            rows.push(TargetInfo {
                                name: name.clone(),
                                kind,
                                environment: "unknown".into(),
                                location: format!("{} targets could not be listed", b.name()),
                                object: None,
                                simulated: false,
                            });
                            unlisted.push((
                                name,
                                e.context(format!("listing {} targets failed", b.name())),
                            ));
                        }
                    }
                }
            }
            *self
                .unlisted
                .write()
                .unwrap_or_else(std::sync::PoisonError::into_inner) = unlisted;
            if all.is_empty() && rows.is_empty() && !errors.is_empty() {
                // One backend: its own kind; several: each said, the
                // kind of the first.
                let text = errors
                    .iter()
                    .map(|(n, e)| format!("{n}: {e}"))
                    .collect::<Vec<_>>()
                    .join("; ");
                Err(errors.swap_remove(0).1.map_message(|_| text))
            } else {
                all.extend(rows);
                Ok(all)
            }
        })
    }

    fn health_all(&self) -> BoxFut<'_, Vec<Result<Health, (String, BackendError)>>> {
        Box::pin(async move {
            let mut out = Vec::new();
            for b in &self.backends {
                out.extend(b.health_all().await);
            }
            out.extend(
                self.unlisted
                    .read()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .iter()
                    .cloned()
                    .map(Err),
            );
            out
        })
    }

    fn health<'a>(&'a self, target: &'a str) -> BoxFut<'a, Result<Health, BackendError>> {
        Box::pin(async move { self.of(target)?.health(target).await })
    }

    fn history<'a>(&'a self, target: &'a str) -> BoxFut<'a, Result<History, BackendError>> {
        Box::pin(async move { self.of(target)?.history(target).await })
    }

    fn migrations<'a>(
        &'a self,
        plan: &'a RollbackPlan,
    ) -> BoxFut<'a, Result<MigrationDiff, BackendError>> {
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
    ) -> BoxFut<'a, Result<StepDone, BackendError>> {
        Box::pin(async move { self.of(&plan.target.name)?.execute(plan, step).await })
    }

    fn progress<'a>(
        &'a self,
        plan: &'a RollbackPlan,
    ) -> BoxFut<'a, Result<Progress, BackendError>> {
        Box::pin(async move { self.of(&plan.target.name)?.progress(plan).await })
    }

    fn settle<'a>(
        &'a self,
        plan: &'a RollbackPlan,
        step: &'a PlanStep,
    ) -> BoxFut<'a, Result<super::Settled, BackendError>> {
        Box::pin(async move { self.of(&plan.target.name)?.settle(plan, step).await })
    }

    fn poll_interval(&self) -> Duration {
        self.backends
            .iter()
            .map(|b| b.poll_interval())
            .min()
            .unwrap_or(Duration::from_secs(5))
    }

    fn find_revert<'a>(
        &'a self,
        target: &'a str,
        bad: &'a str,
    ) -> BoxFut<'a, Option<Result<Option<(String, String)>, BackendError>>> {
        Box::pin(async move {
            match self.git.get(target) {
                Some(g) => Some(
                    g.find_revert(bad)
                        .await
                        .map_err(|e| BackendError::Failed(e.to_string())),
                ),
                None => self.of(target).ok()?.find_revert(target, bad).await,
            }
        })
    }
    fn subscribe(&self, tx: tokio::sync::mpsc::UnboundedSender<super::Change>) {
        for b in &self.backends {
            b.subscribe(tx.clone());
        }
    }
    fn about<'a>(
        &'a self,
        target: &'a str,
    ) -> BoxFut<'a, Option<Result<super::About, BackendError>>> {
        Box::pin(async move {
            match self.of(target) {
                Ok(b) => b.about(target).await,
                Err(e) => Some(Err(e)),
            }
        })
    }
    fn permissions<'a>(
        &'a self,
        plan: &'a RollbackPlan,
    ) -> BoxFut<'a, Option<Result<crate::core::action::Rights, BackendError>>> {
        Box::pin(async move {
            match self.of(&plan.target.name) {
                Ok(b) => b.permissions(plan).await,
                Err(e) => Some(Err(e)),
            }
        })
    }
    fn changes<'a>(
        &'a self,
        plan: &'a RollbackPlan,
    ) -> BoxFut<'a, Option<Result<String, BackendError>>> {
        Box::pin(async move {
            match self.of(&plan.target.name) {
                Ok(b) => b.changes(plan).await,
                Err(e) => Some(Err(e)),
            }
        })
    }
    fn evidence<'a>(
        &'a self,
        target: &'a str,
    ) -> BoxFut<'a, Option<Result<Vec<EvidenceFile>, BackendError>>> {
        Box::pin(async move {
            match self.of(target) {
                Ok(b) => b.evidence(target).await,
                Err(e) => Some(Err(e)),
            }
        })
    }
    fn preview<'a>(
        &'a self,
        plan: &'a RollbackPlan,
    ) -> BoxFut<'a, Option<Result<String, BackendError>>> {
        Box::pin(async move {
            match self.of(&plan.target.name) {
                Ok(b) => b.preview(plan).await,
                Err(e) => Some(Err(e)),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::unavailable::Unavailable;

    /// A backend whose listing call fails (a server that answers 500).
    struct ListFails(Unavailable);

    impl Backend for ListFails {
        fn name(&self) -> &str {
            "swarm"
        }
        fn targets(&self) -> BoxFut<'_, Result<Vec<TargetInfo>, BackendError>> {
            Box::pin(async move { Err(BackendError::Unavailable("engine answered 500".into())) })
        }
        fn health_all(&self) -> BoxFut<'_, Vec<Result<Health, (String, BackendError)>>> {
            Box::pin(async move { vec![] })
        }
        fn health<'a>(&'a self, t: &'a str) -> BoxFut<'a, Result<Health, BackendError>> {
            self.0.health(t)
        }
        fn history<'a>(&'a self, t: &'a str) -> BoxFut<'a, Result<History, BackendError>> {
            self.0.history(t)
        }
        fn execute<'a>(
            &'a self,
            p: &'a RollbackPlan,
            s: &'a PlanStep,
        ) -> BoxFut<'a, Result<StepDone, BackendError>> {
            self.0.execute(p, s)
        }
        fn progress<'a>(
            &'a self,
            p: &'a RollbackPlan,
        ) -> BoxFut<'a, Result<Progress, BackendError>> {
            self.0.progress(p)
        }
        fn poll_interval(&self) -> Duration {
            Duration::from_secs(1)
        }
    }

    #[test]
    fn a_backend_whose_listing_fails_is_an_error_row_beside_the_others() {
        let ok = Unavailable {
            name: "compose".into(),
            targets: vec![TargetInfo {
                name: "shop".into(),
                kind: Kind::Compose,
                environment: "prod".into(),
                location: "engine".into(),
                object: None,
                simulated: false,
            }],
            error: BackendError::Unreachable("x".into()),
        };
        let failing = ListFails(Unavailable {
            name: "swarm".into(),
            targets: vec![],
            error: BackendError::Unreachable("x".into()),
        });
        let r = Router::new(vec![Arc::new(ok), Arc::new(failing)]);
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let t = rt.block_on(r.targets()).unwrap();
        let names: Vec<&str> = t.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["shop", "swarm (not listed)"]);
        let h = rt.block_on(r.health_all());
        assert!(h.iter().any(|r| matches!(r, Err((n, e))
            if n == "swarm (not listed)" && e.to_string().contains("engine answered 500"))));
        let e = rt.block_on(r.history("swarm (not listed)")).unwrap_err();
        // The engine's kind travels with the row: an outage, not a refusal.
        assert!(e.is_outage(), "{e:?}");
        assert!(
            e.to_string().contains("listing swarm targets failed"),
            "{e}"
        );
    }
}
