//! A backend that could not be set up (an engine socket that is missing, a
//! server that refused the first call). Its targets still get their rows,
//! each saying why it cannot be read, so one broken source never hides the
//! others and nothing is ever sent to it.

use super::{Backend, BoxFut, StepDone};
use crate::core::action::BackendError;
use crate::core::model::{Health, History, Progress, TargetInfo};
use crate::core::plan::{PlanStep, RollbackPlan};
use std::time::Duration;

pub struct Unavailable {
    pub name: String,
    pub targets: Vec<TargetInfo>,
    pub error: BackendError,
}

impl Backend for Unavailable {
    fn name(&self) -> &str {
        &self.name
    }
    fn targets(&self) -> BoxFut<'_, Result<Vec<TargetInfo>, BackendError>> {
        Box::pin(async move { Ok(self.targets.clone()) })
    }
    fn health_all(&self) -> BoxFut<'_, Vec<Result<Health, (String, BackendError)>>> {
        Box::pin(async move {
            self.targets
                .iter()
                .map(|t| Err((t.name.clone(), self.error.clone())))
                .collect()
        })
    }
    fn health<'a>(&'a self, _target: &'a str) -> BoxFut<'a, Result<Health, BackendError>> {
        Box::pin(async move { Err(self.error.clone()) })
    }
    fn history<'a>(&'a self, _target: &'a str) -> BoxFut<'a, Result<History, BackendError>> {
        Box::pin(async move { Err(self.error.clone()) })
    }
    fn execute<'a>(
        &'a self,
        _plan: &'a RollbackPlan,
        _step: &'a PlanStep,
    ) -> BoxFut<'a, Result<StepDone, BackendError>> {
        Box::pin(async move { Err(BackendError::NotSent(self.error.to_string())) })
    }
    fn progress<'a>(
        &'a self,
        _plan: &'a RollbackPlan,
    ) -> BoxFut<'a, Result<Progress, BackendError>> {
        Box::pin(async move { Err(self.error.clone()) })
    }
    fn poll_interval(&self) -> Duration {
        Duration::from_secs(30)
    }
}
