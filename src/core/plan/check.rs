//! A plan's pre-flight checks: which question, its answer, and whether a
//! typed reason may override a block.

use super::*;

/// Outcome of one pre-flight check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum CheckStatus {
    Pass,
    /// Asked, and answered "not checked" with why (the platform has no
    /// such question, or a refusal already stands): no claim either way.
    Skipped,
    /// Still being worked out (the migration diff is loading).
    Pending,
    Warn,
    Block,
}

impl CheckStatus {
    pub fn label(self) -> &'static str {
        match self {
            CheckStatus::Pass => "PASS",
            CheckStatus::Skipped => "SKIP",
            CheckStatus::Pending => "....",
            CheckStatus::Warn => "WARN",
            CheckStatus::Block => "BLOCK",
        }
    }
}

/// A pre-flight check with its answer and the reason for it.
/// Which pre-flight check a [`Check`] is: stable in the note, in `plan
/// --json` (as its kebab-case label) and in code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CheckId {
    Mode,
    Revision,
    AutoSync,
    Busy,
    Pair,
    Digest,
    Paused,
    MutableTag,
    Schema,
    Revert,
    DryRun,
    Inputs,
    Permissions,
    Registry,
    Retained,
    Changes,
    Retag,
}

impl CheckId {
    pub fn label(self) -> &'static str {
        match self {
            CheckId::Mode => "mode",
            CheckId::Revision => "revision",
            CheckId::AutoSync => "auto-sync",
            CheckId::Busy => "busy",
            CheckId::Pair => "pair",
            CheckId::Digest => "digest",
            CheckId::Paused => "paused",
            CheckId::MutableTag => "mutable-tag",
            CheckId::Schema => "schema",
            CheckId::Revert => "revert",
            CheckId::DryRun => "dry-run",
            CheckId::Inputs => "inputs",
            CheckId::Permissions => "permissions",
            CheckId::Registry => "registry",
            CheckId::Retained => "retained",
            CheckId::Changes => "changes",
            CheckId::Retag => "retag",
        }
    }
}

impl std::fmt::Display for CheckId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.label())
    }
}

/// Lets callers outside the core (tests, scripts) name a check by label.
impl PartialEq<&str> for CheckId {
    fn eq(&self, other: &&str) -> bool {
        self.label() == *other
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Check {
    pub id: CheckId,
    pub status: CheckStatus,
    pub detail: String,
    /// A block that a typed reason may override. Mode and platform refusals
    /// are never overridable: the platform would refuse anyway.
    pub overridable: bool,
}

impl Check {
    pub fn new(id: CheckId, status: CheckStatus, detail: String, overridable: bool) -> Check {
        Check {
            id,
            status,
            detail,
            overridable,
        }
    }
}
