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
        Effect::ReadChanges { plan_id, plan } => Action::ChangesRead {
            plan_id,
            result: backend.changes(&plan).await,
        },
        Effect::CheckPermissions { plan_id, plan } => Action::PermissionsRead {
            plan_id,
            result: backend.permissions(&plan).await,
        },
        Effect::Preview { plan_id, plan } => Action::PreviewRead {
            plan_id,
            result: backend.preview(&plan).await,
        },
        Effect::Execute {
            plan,
            step,
            dry_run,
            ..
        } => {
            let what = plan.steps.get(step)?;
            let result = if dry_run {
                Ok(dry_run_step(backend, &plan, what).await)
            } else {
                backend.execute(&plan, what).await
            };
            Action::StepFinished {
                plan_id: plan.id,
                step,
                result,
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
        Effect::SaveEvidence {
            target,
            plan,
            why,
            dir,
            stamp,
        } => {
            let result = save_evidence(backend, &target, &dir, &stamp).await;
            Action::EvidenceSaved {
                target,
                plan,
                why,
                result,
            }
        }
        Effect::PostStatus { which, text } => Action::StatusPosted {
            which,
            result: backend.post_status(&text).await,
            text,
        },
        Effect::AttachNote { note } => Action::NoteAttached(backend.attach_note(&note).await),
        Effect::DraftPostmortem { note } => {
            Action::PostmortemDrafted(crate::note::postmortem::write_next_to(
                std::path::Path::new(&note),
                None,
                chrono::Utc::now(),
            ))
        }
    })
}

/// Reads the evidence (bounded: a hung platform must not hold the
/// rollback; the core also stops waiting) and writes it beside the note
/// off the async threads.
async fn save_evidence(
    backend: &dyn Backend,
    target: &str,
    dir: &str,
    stamp: &str,
) -> Option<Result<Vec<crate::core::action::SavedEvidence>, String>> {
    const WITHIN: std::time::Duration = std::time::Duration::from_secs(15);
    let files = match tokio::time::timeout(WITHIN, backend.evidence(target)).await {
        Err(_) => return Some(Err("the platform did not answer within 15 s".into())),
        Ok(None) => return None,
        Ok(Some(Err(e))) => return Some(Err(format!("reading it failed: {e}"))),
        Ok(Some(Ok(f))) => f,
    };
    let (dir, stamp, target) = (dir.to_string(), stamp.to_string(), target.to_string());
    let written = tokio::task::spawn_blocking(move || {
        crate::note::evidence::write(std::path::Path::new(&dir), &stamp, &target, &files)
    })
    .await
    .unwrap_or_else(|e| Err(format!("writing failed: {e}")));
    Some(written.map_err(|e| format!("writing it failed: {e}")))
}

/// A dry-run rehearsal's step: only the rollback is previewed, by the
/// platform's own server-side dry run; every other step is not sent.
async fn dry_run_step(
    backend: &dyn crate::backend::Backend,
    plan: &crate::core::plan::RollbackPlan,
    what: &crate::core::plan::PlanStep,
) -> crate::backend::StepDone {
    use crate::core::plan::PlanStep;
    let summary = match what {
        PlanStep::Rollback { .. } => match backend.preview(plan).await {
            Some(Ok(m)) => format!("dry run only, nothing changed: the server-side dry run answered: {m}"),
            Some(Err(e)) => format!("dry run only, nothing changed: the server-side dry run was refused: {e}"),
            None => "dry run only, nothing changed: not previewed (this platform has no side-effect-free dry run)".into(),
        },
        _ => "dry run only: not sent".into(),
    };
    crate::backend::StepDone {
        summary,
        version: plan.built_from.clone(),
    }
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
    results: Vec<Result<crate::core::model::Health, (String, crate::core::error::BackendError)>>,
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
