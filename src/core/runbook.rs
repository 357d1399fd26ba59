//! A runbook as the core reads it: steps, the facts that tick them, and
//! the placeholders filled from the incident. Loading them (embedded or
//! next to the config) is the job of the loader outside the core.

use super::model::Kind;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Something rbtui does that ticks a step by itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AutoEvent {
    /// Health was looked at and the target's verdict recorded.
    HealthAssessed,
    /// The environment and context were shown and fit the mode.
    ContextVerified,
    /// History was read and a target revision chosen.
    PlanBuilt,
    /// The chosen revision is the last known good one (an earlier incident
    /// recorded it healthy); any other pick ticks nothing.
    LastKnownGoodChosen,
    /// A configured HTTP health probe answered as expected after the rollback.
    ProbeAnswered,
    /// The migration diff was checked and found compatible (or overridden).
    SchemaChecked,
    /// Auto-sync was turned off by the plan.
    AutoSyncDisabled,
    /// Auto-sync was turned back on by its own confirmed plan.
    AutoSyncEnabled,
    /// The rollback API call succeeded.
    RollbackStarted,
    /// The version Compose reads was pinned in its env file and read back.
    InputsPinned,
    /// The rollout converged.
    Converged,
    /// Before/after evidence recorded and replicas verified.
    Verified,
    /// Error rate and latency back under their thresholds.
    MetricsRecovered,
    /// The status message was drafted.
    StatusDrafted,
    /// What the failing revision left (logs, events, status) was saved
    /// beside the note; the file names are the evidence.
    EvidenceSaved,
    /// A commit reverting the bad one is on the checked-out branch of the
    /// target's `repo` (its SHA is the evidence).
    RevertFound,
}

/// One step of a runbook.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Step {
    pub id: String,
    pub title: String,
    /// Longer guidance; may use `{target}`, `{bad_rev}`, `{good_rev}`,
    /// `{bad_sha}`, `{good_sha}` which are filled from the last plan.
    #[serde(default)]
    pub detail: Option<String>,
    #[serde(default)]
    pub auto: Option<AutoEvent>,
    /// How long a drill may take for this step, measured from the previous
    /// tick; the drill report flags the steps over it.
    #[serde(default)]
    pub budget_secs: Option<i64>,
    /// Shown only for targets that have it: `"iac"` (a target naming its
    /// IaC stack with `iac`, `iac_stack`, `iac_key`).
    #[serde(default)]
    pub needs: Option<String>,
}

/// A checklist for one kind of target.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Runbook {
    pub kind: Kind,
    pub title: String,
    #[serde(rename = "step")]
    pub steps: Vec<Step>,
}

/// Fills the `{…}` placeholders of a step detail.
pub fn fill(template: &str, vars: &[(&str, String)]) -> String {
    let mut s = template.to_string();
    for (k, v) in vars {
        s = s.replace(&format!("{{{k}}}"), v);
    }
    s
}

/// A hand or automatic tick of a checklist step.
#[derive(Debug, Clone, PartialEq)]
pub struct StepTick {
    pub at: DateTime<Utc>,
    pub auto: bool,
    pub evidence: Option<String>,
}
