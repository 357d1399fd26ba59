//! Performs the core's effects against a backend and turns the results back
//! into actions. Shared by the console runtime and the scripted tests.

use crate::backend::Backend;
use crate::core::action::{Action, Effect};

/// Runs one backend effect. `Record` belongs to the runtime and returns
/// `None` here; `Execute` arrives only after its announcement is on disk.
pub async fn perform(backend: &dyn Backend, effect: Effect) -> Option<Action> {
    Some(match effect {
        Effect::LoadHistory(t) => {
            let result = backend.history(&t).await;
            Action::HistoryLoaded { target: t, result }
        }
        Effect::LoadMigrations { plan_id, plan } => Action::MigrationsLoaded {
            plan_id,
            result: backend.migrations(&plan).await,
        },
        Effect::FindRevert { target, bad } => {
            let result = backend.find_revert(&target, &bad).await;
            Action::RevertLooked { target, result }
        }
        Effect::CheckPermissions { plan_id, plan } => Action::PermissionsRead {
            plan_id,
            result: backend.permissions(&plan).await,
        },
        Effect::Preview { plan_id, plan } => Action::PreviewRead {
            plan_id,
            result: backend.preview(&plan).await,
        },
        Effect::Execute { plan, step, .. } => {
            let Some(what) = plan.steps.get(step) else {
                return None;
            };
            Action::StepFinished {
                plan_id: plan.id,
                step,
                result: backend.execute(&plan, what).await,
            }
        }
        Effect::Settle { plan, step, .. } => {
            let what = plan.steps.get(step)?;
            Action::StepSettled {
                plan_id: plan.id,
                step,
                result: backend.settle(&plan, what).await,
            }
        }
        Effect::ReadProgress { plan_id, plan, .. } => Action::ProgressRead {
            plan_id,
            result: backend.progress(&plan).await,
        },
        Effect::ReadVerify {
            plan_id, target, ..
        } => Action::VerifyRead {
            plan_id,
            result: backend.health(&target).await,
        },
        Effect::Record(_) => return None,
    })
}

/// How long the runtime waits before performing a polling effect.
pub fn delay_ms(effect: &Effect) -> u64 {
    match effect {
        Effect::ReadProgress { delay_ms, .. }
        | Effect::ReadVerify { delay_ms, .. }
        | Effect::Settle { delay_ms, .. } => *delay_ms,
        _ => 0,
    }
}

/// Splits a health poll into the actions the core expects.
pub fn health_actions(
    results: Vec<Result<crate::core::model::Health, (String, String)>>,
) -> Vec<Action> {
    let mut ok = Vec::new();
    let mut out = Vec::new();
    for r in results {
        match r {
            Ok(h) => ok.push(h),
            Err((target, error)) => out.push(Action::HealthFailed { target, error }),
        }
    }
    out.insert(0, Action::HealthUpdated(ok));
    out
}
