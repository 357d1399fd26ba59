//! A group of targets rolled back together: what the config names, and
//! the group being planned, confirmed or run (`group_flow` decides).

use super::plan::{PlanId, RollbackPlan};
use chrono::{DateTime, Utc};

/// How a group's members are rolled back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Order {
    /// One at a time, in the listed order: the next starts once the one
    /// before it is verified.
    #[default]
    Sequential,
    /// All at once.
    Parallel,
}

impl Order {
    pub fn label(self) -> &'static str {
        match self {
            Order::Sequential => "sequential",
            Order::Parallel => "parallel",
        }
    }
}

/// A group named in the config (`[[group]]`).
#[derive(Debug, Clone, PartialEq)]
pub struct GroupDef {
    pub name: String,
    pub targets: Vec<String>,
    pub order: Order,
}

/// What became of one member once the group was confirmed.
#[derive(Debug, Clone, PartialEq)]
pub enum MemberState {
    NotStarted,
    Running,
    Succeeded,
    Failed(String),
}

/// A group being planned, confirmed or rolled back.
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    pub name: String,
    pub order: Order,
    /// What each member is rolled back to: "lkg" or "previous".
    pub to: String,
    pub members: Vec<String>,
    /// Plans built so far, each from a read sent after the group was asked for.
    pub plans: Vec<RollbackPlan>,
    /// Members no plan could be built for, and why.
    pub unplanned: Vec<(String, String)>,
    /// Members with nothing to roll back (they already run what a verified
    /// rollback of this incident landed): left out, and why.
    pub skipped: Vec<(String, String)>,
    pub asked_at: DateTime<Utc>,
    /// Confirmed with "continue on failure": a failed member does not stop
    /// the others.
    pub continue_on_failure: bool,
    pub confirmed: bool,
    /// The reason typed at the confirm for the BLOCKs it overrode.
    pub override_reason: Option<String>,
    /// Why the steps not yet started were stopped.
    pub stopped: Option<String>,
    /// The group's before/after table was recorded: it is over.
    pub reported: bool,
}

impl Group {
    /// Confirmed and not over: members may still start.
    pub fn running(&self) -> bool {
        self.confirmed && !self.reported
    }

    /// Every member has a plan (or is known to have none, or to need none).
    pub fn read(&self) -> bool {
        self.plans.len() + self.unplanned.len() + self.skipped.len() == self.members.len()
    }

    /// The member's read already came back (planned, unplanned or left out).
    pub fn has(&self, target: &str) -> bool {
        self.plans.iter().any(|p| p.target.name == target)
            || self.unplanned.iter().any(|(m, _)| m == target)
            || self.skipped.iter().any(|(m, _)| m == target)
    }

    /// The plans in the group's listed order.
    pub fn ordered(&self) -> Vec<&RollbackPlan> {
        self.members
            .iter()
            .filter_map(|m| self.plans.iter().find(|p| p.target.name == *m))
            .collect()
    }

    pub fn plan_mut(&mut self, id: PlanId) -> Option<&mut RollbackPlan> {
        self.plans.iter_mut().find(|p| p.id == id)
    }

    /// A prod member makes the group's confirm need the group's name typed.
    pub fn needs_typed_name(&self) -> bool {
        self.plans.iter().any(RollbackPlan::needs_typed_name)
    }

    pub fn needs_override(&self) -> bool {
        self.plans.iter().any(RollbackPlan::needs_override)
    }

    /// Why the group cannot be confirmed yet, or at all.
    pub fn not_confirmable(&self) -> Option<String> {
        if let Some((m, why)) = self.unplanned.first() {
            return Some(format!(
                "{m} has no plan ({why}): plan it alone, or leave it out of the group"
            ));
        }
        if !self.read() || self.plans.iter().any(RollbackPlan::pending) {
            return Some("pre-flight checks still running for some targets; wait".into());
        }
        if self.plans.is_empty() {
            return Some(
                "nothing to roll back in this group: every member runs its last known good".into(),
            );
        }
        self.ordered().into_iter().find_map(|p| {
            p.refusal()
                .map(|c| format!("{}: refused: {}", p.target.name, c.detail))
        })
    }

    pub fn title(&self) -> String {
        format!(
            "group {} ({} targets, {}) → {}",
            self.name,
            self.members.len(),
            self.order.label(),
            self.to
        )
    }
}
