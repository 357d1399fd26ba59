//! Decorators over a backend (signals, notes history) change a few answers
//! and pass everything else through. A `Layer` says only what it changes;
//! the forwarding of every other `Backend` method lives here, once, so a
//! new trait method cannot be forgotten in one of them.

use super::{Backend, BoxFut, Settled, StepDone};
use crate::core::action::BackendError;
use crate::core::migration::MigrationDiff;
use crate::core::model::{Health, History, Progress, TargetInfo};
use crate::core::plan::{PlanStep, RollbackPlan};
use std::sync::Arc;
use std::time::Duration;

pub trait Layer: Send + Sync {
    fn inner(&self) -> &Arc<dyn Backend>;
    /// The targets as the inner backend listed them.
    fn listed(&self, _targets: &[TargetInfo]) {}
    /// Before every poll of all targets (start background work here).
    fn polling(&self) {}
    /// One target's health on its way out.
    fn health(&self, h: Health) -> Health {
        h
    }
    /// One target's history on its way out.
    fn history(&self, h: History) -> History {
        h
    }
    /// One target's history on its way out, with facts asked elsewhere
    /// (the image registry).
    fn enrich(&self, h: History) -> BoxFut<'_, History> {
        Box::pin(async move { h })
    }
    fn first_readings(&self, within: Duration) -> BoxFut<'_, Vec<String>> {
        self.inner().first_readings(within)
    }
    /// A read of this target fails with this error instead (a drill's
    /// unreachable API).
    fn read_fault(&self, _target: &str) -> Option<BackendError> {
        None
    }
    /// Answers a step instead of the platform (a drill's refusal).
    fn intercept(
        &self,
        _plan: &RollbackPlan,
        _step: &PlanStep,
    ) -> Option<Result<StepDone, BackendError>> {
        None
    }
    /// Performs a step the layer owns instead of the platform (the
    /// registry layer's re-tag); `None` for every other step.
    fn perform<'a>(
        &'a self,
        _plan: &'a RollbackPlan,
        _step: &'a PlanStep,
    ) -> Option<BoxFut<'a, Result<StepDone, BackendError>>> {
        None
    }
    /// After the platform answered a step.
    fn executed(
        &self,
        _plan: &RollbackPlan,
        _step: &PlanStep,
        _r: &Result<StepDone, BackendError>,
    ) {
    }
    /// A rollout's progress on its way out.
    fn progress(&self, _plan: &RollbackPlan, p: Progress) -> Progress {
        p
    }
    /// Posts a status message itself (the webhook layer); `None` passes
    /// the question on.
    fn post<'a>(&'a self, _text: &'a str) -> Option<BoxFut<'a, Result<String, BackendError>>> {
        None
    }
    /// Attaches the note itself (the ticket layer); `None` passes it on.
    fn attach<'a>(
        &'a self,
        _note: &'a str,
    ) -> Option<BoxFut<'a, Result<crate::core::action::Attached, BackendError>>> {
        None
    }
    /// The platform's answer on rights on its way out (a refused right).
    fn rights(
        &self,
        _plan: &RollbackPlan,
        r: Option<Result<crate::core::action::Rights, BackendError>>,
    ) -> Option<Result<crate::core::action::Rights, BackendError>> {
        r
    }
}

impl<L: Layer> Backend for L {
    fn name(&self) -> &str {
        self.inner().name()
    }
    fn targets(&self) -> BoxFut<'_, Result<Vec<TargetInfo>, BackendError>> {
        Box::pin(async move {
            let t = self.inner().targets().await?;
            self.listed(&t);
            Ok(t)
        })
    }
    fn health_all(&self) -> BoxFut<'_, Vec<Result<Health, (String, BackendError)>>> {
        Box::pin(async move {
            self.polling();
            self.inner()
                .health_all()
                .await
                .into_iter()
                .map(|r| match r {
                    Ok(h) => match self.read_fault(&h.target) {
                        Some(e) => Err((h.target.clone(), e)),
                        None => Ok(Layer::health(self, h)),
                    },
                    Err(e) => Err(e),
                })
                .collect()
        })
    }
    fn health<'a>(&'a self, target: &'a str) -> BoxFut<'a, Result<Health, BackendError>> {
        Box::pin(async move {
            if let Some(e) = self.read_fault(target) {
                return Err(e);
            }
            self.inner()
                .health(target)
                .await
                .map(|h| Layer::health(self, h))
        })
    }
    fn history<'a>(&'a self, target: &'a str) -> BoxFut<'a, Result<History, BackendError>> {
        Box::pin(async move {
            if let Some(e) = self.read_fault(target) {
                return Err(e);
            }
            let h = self.inner().history(target).await?;
            Ok(self.enrich(Layer::history(self, h)).await)
        })
    }
    fn migrations<'a>(
        &'a self,
        plan: &'a RollbackPlan,
    ) -> BoxFut<'a, Result<MigrationDiff, BackendError>> {
        self.inner().migrations(plan)
    }
    fn execute<'a>(
        &'a self,
        plan: &'a RollbackPlan,
        step: &'a PlanStep,
    ) -> BoxFut<'a, Result<StepDone, BackendError>> {
        Box::pin(async move {
            if let Some(r) = self.intercept(plan, step) {
                return r;
            }
            let r = match self.perform(plan, step) {
                Some(f) => f.await,
                None => self.inner().execute(plan, step).await,
            };
            self.executed(plan, step, &r);
            r
        })
    }
    fn progress<'a>(
        &'a self,
        plan: &'a RollbackPlan,
    ) -> BoxFut<'a, Result<Progress, BackendError>> {
        Box::pin(async move {
            if let Some(e) = self.read_fault(&plan.target.name) {
                return Err(e);
            }
            self.inner()
                .progress(plan)
                .await
                .map(|p| Layer::progress(self, plan, p))
        })
    }
    fn settle<'a>(
        &'a self,
        plan: &'a RollbackPlan,
        step: &'a PlanStep,
    ) -> BoxFut<'a, Result<Settled, BackendError>> {
        self.inner().settle(plan, step)
    }
    fn poll_interval(&self) -> Duration {
        self.inner().poll_interval()
    }
    fn preview<'a>(
        &'a self,
        plan: &'a RollbackPlan,
    ) -> BoxFut<'a, Option<Result<String, BackendError>>> {
        self.inner().preview(plan)
    }
    fn about<'a>(
        &'a self,
        target: &'a str,
    ) -> BoxFut<'a, Option<Result<super::About, BackendError>>> {
        self.inner().about(target)
    }
    fn post_status<'a>(
        &'a self,
        text: &'a str,
    ) -> BoxFut<'a, Option<Result<String, BackendError>>> {
        match Layer::post(self, text) {
            Some(f) => Box::pin(async move { Some(f.await) }),
            None => self.inner().post_status(text),
        }
    }
    fn attach_note<'a>(
        &'a self,
        note: &'a str,
    ) -> BoxFut<'a, Option<Result<crate::core::action::Attached, BackendError>>> {
        match Layer::attach(self, note) {
            Some(f) => Box::pin(async move { Some(f.await) }),
            None => self.inner().attach_note(note),
        }
    }
    fn permissions<'a>(
        &'a self,
        plan: &'a RollbackPlan,
    ) -> BoxFut<'a, Option<Result<crate::core::action::Rights, BackendError>>> {
        Box::pin(async move {
            let r = self.inner().permissions(plan).await;
            Layer::rights(self, plan, r)
        })
    }
    fn changes<'a>(
        &'a self,
        plan: &'a RollbackPlan,
    ) -> BoxFut<'a, Option<Result<String, BackendError>>> {
        self.inner().changes(plan)
    }
    fn find_revert<'a>(
        &'a self,
        target: &'a str,
        bad: &'a str,
    ) -> BoxFut<'a, Option<Result<Option<(String, String)>, BackendError>>> {
        self.inner().find_revert(target, bad)
    }
    fn evidence<'a>(
        &'a self,
        target: &'a str,
    ) -> BoxFut<'a, Option<Result<Vec<crate::core::model::EvidenceFile>, BackendError>>> {
        self.inner().evidence(target)
    }
    fn first_readings(&self, within: Duration) -> BoxFut<'_, Vec<String>> {
        Layer::first_readings(self, within)
    }
    fn subscribe(&self, tx: tokio::sync::mpsc::UnboundedSender<super::Change>) {
        self.inner().subscribe(tx)
    }
}
