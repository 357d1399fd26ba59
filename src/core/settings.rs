//! What the core is told, from the config and the command line.

use super::comms::Comms;
use super::model::Mode;
use super::verdict::Thresholds;
use std::collections::HashMap;

/// What a target's signals need before a recovery can show.
#[derive(Debug, Clone, PartialEq)]
pub struct VerifyNeed {
    pub secs: i64,
    /// The signal that sets it, in words: "error_rate: 5m + 2m rate window".
    pub why: String,
}

/// A drill's faults as the core reports them.
#[derive(Debug, Clone, PartialEq)]
pub struct Drill {
    pub title: String,
    pub faults: Vec<DrillFault>,
}

/// One injected fault: what it does, the words in the activity that show
/// it was met, and the target it is met on (if it is about one).
#[derive(Debug, Clone, PartialEq)]
pub struct DrillFault {
    pub what: String,
    pub needle: String,
    pub target: Option<String>,
}

/// Where a target's image is declared as code.
#[derive(Debug, Clone, PartialEq)]
pub struct Iac {
    pub tool: String,
    pub stack: String,
    pub key: String,
}

/// Settings the core needs, from config and CLI.
#[derive(Debug, Clone)]
pub struct Settings {
    pub mode: Mode,
    pub incident: String,
    pub note_path: String,
    pub operator: String,
    pub thresholds: Thresholds,
    pub mutable_tags: Vec<String>,
    pub rollout_timeout_secs: i64,
    /// The default verify window, or the operator's when `verify_window_set`.
    pub verify_window_secs: i64,
    pub verify_window_set: bool,
    /// What each target's metric criteria need (see `core::verify`).
    pub verify_needs: HashMap<String, VerifyNeed>,
    /// A rehearsal that sends only server-side dry runs.
    pub dry_run: bool,
    /// The drill being run (`--drill`): its title and injected faults.
    pub drill: Option<Drill>,
    /// Targets whose image an IaC stack declares (tool, stack, key).
    pub iac: HashMap<String, Iac>,
    /// Poll interval while watching a rollout.
    pub progress_poll_ms: u64,
    /// A runbook not exercised (drill or real) for this many days is stale.
    pub drill_stale_days: i64,
    /// Status message templates overridden next to the config (the
    /// built-in ones otherwise).
    pub comms: HashMap<Comms, String>,
    /// The host of the `[comms]` webhook status messages can be posted to
    /// (the URL itself is a secret the core never holds).
    pub webhook: Option<String>,
    /// The incident's ticket (`[ticket] issue`, as `GitHub acme/shop#12`):
    /// where `:attach` puts the note and status messages can be posted.
    pub ticket: Option<String>,
    /// Save what a failing revision left beside the note (at critical and
    /// before a rollback). Off by default for embedders and tests; the
    /// session turns it on unless the config says otherwise.
    pub save_evidence: bool,
    /// Targets whose config allows re-tag plans (`retag = true`).
    pub retag: Vec<String>,
    /// Environments the config makes read-only: plans there are refused.
    pub read_only_environments: Vec<String>,
    /// Which keys run which command (`keys.toml`, defaults embedded).
    pub keymap: super::keymap::Keymap,
    /// Targets rolled back together (`[[group]]`).
    pub groups: Vec<super::group::GroupDef>,
}

impl Settings {
    /// The config made this environment read-only.
    pub fn read_only_in(&self, environment: &str) -> bool {
        self.read_only_environments.iter().any(|e| e == environment)
    }

    pub fn new(mode: Mode, incident: &str, note_path: &str) -> Settings {
        Settings {
            mode,
            incident: incident.into(),
            note_path: note_path.into(),
            operator: "unknown".into(),
            thresholds: Thresholds::default(),
            mutable_tags: super::plan::DEFAULT_MUTABLE_TAGS
                .iter()
                .map(|s| s.to_string())
                .collect(),
            rollout_timeout_secs: 300,
            verify_window_secs: 120,
            verify_window_set: false,
            verify_needs: HashMap::new(),
            iac: HashMap::new(),
            dry_run: false,
            drill: None,
            progress_poll_ms: 1000,
            drill_stale_days: 90,
            comms: HashMap::new(),
            webhook: None,
            ticket: None,
            groups: Vec::new(),
            save_evidence: false,
            read_only_environments: Vec::new(),
            retag: Vec::new(),
            keymap: super::keymap::Keymap::builtin(),
        }
    }
}
