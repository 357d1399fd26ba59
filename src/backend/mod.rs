//! Backends hide each platform behind one trait. The runtime calls them; the
//! core never does. Every backend answers in the core's model types.

pub mod argocd;
pub mod cause;
pub mod clock;
pub mod demo;
pub mod docker;
pub mod drill_faults;
pub mod git_migrations;
pub mod kubernetes;
pub mod layer;
pub mod manifests;
pub mod notes_history;
pub mod registry;
pub mod registry_candidates;
pub mod router;
pub mod signals;
pub mod tasks;
pub mod ticket;
pub mod unavailable;
pub mod webhook;

pub use crate::core::error::BackendError;
use crate::core::migration::MigrationDiff;
use crate::core::model::{EvidenceFile, Health, History, Progress, TargetInfo};
use crate::core::plan::{PlanStep, RollbackPlan};
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

/// A boxed future, so the trait stays object-safe.
pub type BoxFut<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

pub use crate::core::action::{Settled, StepDone};

/// What a platform's watch saw change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// Some target's health may have changed: read health again.
    Health,
    /// This target's revisions (or which one is current) may have changed.
    History(String),
}

/// A revert commit found for a bad one: (its sha, its subject).
pub type Revert = (String, String);

/// One platform. Implementations must be cheap to call concurrently and
/// must never block: the UI keeps drawing while they work.
pub trait Backend: Send + Sync {
    /// A short name for the header ("demo", "kubernetes").
    fn name(&self) -> &str;
    fn targets(&self) -> BoxFut<'_, Result<Vec<TargetInfo>, BackendError>>;
    /// A snapshot of every target; a failing target is reported by name.
    fn health_all(&self) -> BoxFut<'_, Vec<Result<Health, (String, BackendError)>>>;
    fn health<'a>(&'a self, target: &'a str) -> BoxFut<'a, Result<Health, BackendError>>;
    fn history<'a>(&'a self, target: &'a str) -> BoxFut<'a, Result<History, BackendError>>;
    /// Migrations shipped between the plan's target and current revisions.
    /// Platforms know nothing of schemas: without a `repo` (see the router)
    /// the answer is "not checked", never "safe".
    fn migrations<'a>(
        &'a self,
        plan: &'a RollbackPlan,
    ) -> BoxFut<'a, Result<MigrationDiff, BackendError>> {
        Box::pin(
            async move { Ok(plan.migrations_not_checked("no `repo` configured for this target")) },
        )
    }
    /// Performs one mutating step after re-checking `plan.built_from`.
    fn execute<'a>(
        &'a self,
        plan: &'a RollbackPlan,
        step: &'a PlanStep,
    ) -> BoxFut<'a, Result<StepDone, BackendError>>;
    fn progress<'a>(&'a self, plan: &'a RollbackPlan)
    -> BoxFut<'a, Result<Progress, BackendError>>;
    /// After a step's answer was lost: re-read the target and say whether
    /// the step took effect. The default compares fresh history with the
    /// plan; a platform whose history lags its operations (Argo CD) knows
    /// better.
    fn settle<'a>(
        &'a self,
        plan: &'a RollbackPlan,
        step: &'a PlanStep,
    ) -> BoxFut<'a, Result<Settled, BackendError>> {
        Box::pin(async move {
            let h = self.history(&plan.target.name).await?;
            Ok(crate::core::run::settled_from_history(plan, step, &h))
        })
    }
    /// How often the health poller should ask.
    fn poll_interval(&self) -> Duration;
    /// A server-side preview of the rollback that changes nothing (e.g.
    /// Kubernetes `dryRun=All`); `None` where the platform has none that is
    /// free of side effects.
    fn preview<'a>(
        &'a self,
        _plan: &'a RollbackPlan,
    ) -> BoxFut<'a, Option<Result<String, BackendError>>> {
        Box::pin(async { None })
    }
    /// Asks the platform, before the confirm, whether the identity rbtui
    /// acts as may do what the plan does: each right with whether it is
    /// granted (`SelfSubjectAccessReview` on Kubernetes). `None` where the
    /// platform has no such question.
    fn permissions<'a>(
        &'a self,
        _plan: &'a RollbackPlan,
    ) -> BoxFut<'a, Option<Result<crate::core::action::Rights, BackendError>>> {
        Box::pin(async { None })
    }
    /// Posts a status message where the incident's comms go (the
    /// `[comms]` webhook), answering with what the receiver said. `None`
    /// where nothing is configured to post to.
    fn post_status<'a>(
        &'a self,
        _text: &'a str,
    ) -> BoxFut<'a, Option<Result<String, BackendError>>> {
        Box::pin(async { None })
    }
    /// Attaches the note file to the incident's ticket (the `[ticket]`
    /// layer). `None` where no ticket is configured.
    fn attach_note<'a>(
        &'a self,
        _note: &'a str,
    ) -> BoxFut<'a, Option<Result<crate::core::action::Attached, BackendError>>> {
        Box::pin(async { None })
    }
    /// What answers for this target and as whom rbtui asks (`rbtui
    /// check`): the platform's version and where the credentials come
    /// from. `None` where the backend has nothing to say.
    fn about<'a>(&'a self, _target: &'a str) -> BoxFut<'a, Option<Result<About, BackendError>>> {
        Box::pin(async { None })
    }
    /// What the rollback changes, as a unified diff of the platform's own
    /// object (Kubernetes: the pod template now vs the target revision's),
    /// read afresh for the plan. Asked for rollback plans only (the core
    /// and `rbtui plan` check). `None` where the platform has no such
    /// object to compare.
    fn changes<'a>(
        &'a self,
        _plan: &'a RollbackPlan,
    ) -> BoxFut<'a, Option<Result<String, BackendError>>> {
        Box::pin(async { None })
    }
    /// What the failing revision leaves that a rollback destroys: logs of
    /// crashing containers (the previous container's, for a crash loop),
    /// recent events, task errors, pod or container status. Each tail- and
    /// size-limited by the platform's own parameters where it has them.
    /// `None` where the platform keeps nothing worth saving.
    fn evidence<'a>(
        &'a self,
        _target: &'a str,
    ) -> BoxFut<'a, Option<Result<Vec<EvidenceFile>, BackendError>>> {
        Box::pin(async { None })
    }
    /// The commit reverting `bad` in the target's code, where a checkout is
    /// configured (`repo`): `None` when there is none to look in.
    fn find_revert<'a>(
        &'a self,
        _target: &'a str,
        _bad: &'a str,
    ) -> BoxFut<'a, Option<Result<Option<Revert>, BackendError>>> {
        Box::pin(async { None })
    }
    /// Where the platform's watches push what they see change, so the
    /// screen follows at once instead of at the next poll. Platforms
    /// without watches push nothing.
    fn subscribe(&self, _tx: tokio::sync::mpsc::UnboundedSender<Change>) {}
    /// Waits (up to `within`) until every configured probe and metric has
    /// answered or failed once, so a one-shot answer (`rbtui status`) is
    /// not made before they were read; returns the ones still unread.
    fn first_readings(&self, _within: Duration) -> BoxFut<'_, Vec<String>> {
        Box::pin(async { Vec::new() })
    }
}

/// What answers for a target, and with whose credentials.
#[derive(Debug, Clone, PartialEq)]
pub struct About {
    /// The platform and its version in its own words (`Kubernetes v1.30.2`).
    pub version: String,
    /// Where the credentials come from (a kubeconfig's context and user,
    /// `ARGOCD_AUTH_TOKEN`, the Docker socket).
    pub credentials: String,
}
