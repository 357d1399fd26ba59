//! What flows into and out of the pure core.

use super::migration::MigrationDiff;
use super::model::{Health, History, Progress, TargetInfo};
use super::plan::PlanId;
use super::plan::RollbackPlan;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A key press in the core's own terms, so the core and its tests never
/// depend on the terminal library.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Key {
    Char(char),
    /// Ctrl plus a lower-case letter.
    Ctrl(char),
    Enter,
    Esc,
    Tab,
    BackTab,
    Up,
    Down,
    Left,
    Right,
    PageUp,
    PageDown,
    Home,
    End,
    Backspace,
}

pub use super::error::BackendError;

/// Intents from the operator and facts from the runtime. The core turns
/// each into a state change and a list of effects.
#[derive(Debug, Clone)]
// Actions are built once and moved straight into `update`: boxing the
// large answers would only add an allocation to every read.
#[allow(clippy::large_enum_variant)]
pub enum Action {
    /// The wall clock moved; drives the header clock, ages and timeouts.
    Tick(DateTime<Utc>),
    /// A key press, already translated from the terminal.
    Key(Key),
    /// A mouse press on a pane, and on a row of its list (its item index),
    /// as the screen's layout places them.
    Click {
        pane: super::pane::Pane,
        item: Option<usize>,
    },
    /// The backends listed their targets (or failed to).
    TargetsLoaded(Result<Vec<TargetInfo>, BackendError>),
    /// A poller's latest snapshot for some targets.
    HealthUpdated(Vec<Health>),
    /// A poller could not read a target; its old data goes stale.
    HealthFailed { target: String, error: BackendError },
    /// A watch saw this target's revisions (or which is current) change.
    HistoryChanged(String),
    /// Where the postmortem draft was written, or why it was not.
    PostmortemDrafted(Result<String, String>),
    /// Evidence of a failing revision was read and written beside the
    /// note (`None`: the platform keeps none; `Err`: reading or writing
    /// failed). `plan` is the run waiting for it before its first step.
    EvidenceSaved {
        target: String,
        plan: Option<PlanId>,
        why: String,
        result: Option<Result<Vec<SavedEvidence>, String>>,
    },
    /// History and planning facts for one target.
    HistoryLoaded {
        target: String,
        result: Result<History, BackendError>,
    },
    /// The migration diff for a plan's revision range.
    MigrationsLoaded {
        plan_id: PlanId,
        result: Result<MigrationDiff, BackendError>,
    },
    /// A look for the commit reverting the bad one; `None` where there is
    /// no checkout to look in.
    RevertLooked {
        target: String,
        result: Option<Result<Option<(String, String)>, BackendError>>,
    },
    /// What the rollback changes, read from the platform; `None` where it
    /// has no object to compare.
    ChangesRead {
        plan_id: PlanId,
        result: Option<Result<String, BackendError>>,
    },
    /// The platform's answer on the rights a plan needs; `None` where it
    /// has no such question.
    PermissionsRead {
        plan_id: PlanId,
        result: Option<Result<crate::core::action::Rights, BackendError>>,
    },
    /// A server-side dry run of a plan (rehearsal); `None` when the
    /// platform has no side-effect-free preview.
    PreviewRead {
        plan_id: PlanId,
        result: Option<Result<String, BackendError>>,
    },
    /// A mutating step of a running plan came back.
    StepFinished {
        plan_id: PlanId,
        step: usize,
        result: Result<StepDone, BackendError>,
    },
    /// A re-read that decides a step whose answer was lost.
    StepSettled {
        plan_id: PlanId,
        step: usize,
        result: Result<Settled, BackendError>,
    },
    /// A read of rollout progress for the running plan.
    ProgressRead {
        plan_id: PlanId,
        result: Result<Progress, BackendError>,
    },
    /// A health read for the verification of the running plan.
    VerifyRead {
        plan_id: PlanId,
        result: Result<Health, BackendError>,
    },
    /// The note has the entry on disk (written, flushed, fsync'd).
    Recorded(Recorded),
    /// The note could not take this entry; mutations stop until it can.
    /// The entry is kept and written late, once the note takes writes again.
    RecordFailed { entry: NoteEntry, error: String },
    /// Text from the notes editor, to append to the note.
    NoteSubmitted(String),
    /// The webhook's answer to a status message posted on the operator's
    /// key (`None`: no webhook is configured).
    StatusPosted {
        which: super::comms::Comms,
        text: String,
        result: Option<Result<String, BackendError>>,
    },
    /// The ticket's answer to `:attach` (`None`: no `[ticket] issue`).
    NoteAttached(Option<Result<Attached, BackendError>>),
    /// The summary on top of the note could not be rewritten (the entry
    /// itself was recorded): said, so nobody reads it as current.
    SummaryStale(String),
    /// The process was asked to stop (SIGTERM, SIGHUP): record and quit.
    Shutdown(String),
    /// A plan asked for by name (`rbtui plan`, `:rollback`): built from a
    /// fresh read through the same pipeline as Enter in History.
    PlanAsked {
        target: String,
        to: String,
        exact: bool,
        retag: bool,
    },
    /// A configured group's plan asked for by name (`rbtui plan --group`).
    GroupAsked { name: String, to: String },
    /// A session resumed into an earlier note: the incident as its markers
    /// tell it, and the checklist ticks, continue here.
    Resumed {
        incident: super::incident::Incident,
        checklists: std::collections::HashMap<
            String,
            std::collections::HashMap<String, super::runbook::StepTick>,
        >,
    },
}

/// A finished mutating step: what happened, and the target's new version so
/// the next step of the same plan is checked against rbtui's own change.
#[derive(Debug, Clone, PartialEq)]
pub struct StepDone {
    pub summary: String,
    pub version: String,
}

/// The platform's answer on rights: who rbtui acts as there (an Argo CD
/// account, a Kubernetes user), where it could be read, and each right
/// the plan needs with whether it is granted. A refusal names both.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Rights {
    pub identity: Option<String>,
    pub each: Vec<(bool, String)>,
}

/// What a fresh read says about a step whose answer was lost.
#[derive(Debug, Clone, PartialEq)]
pub struct Settled {
    /// `Some(true)` applied, `Some(false)` not applied, `None` cannot tell.
    pub applied: Option<bool>,
    /// The fact the decision rests on, for the note.
    pub seen: String,
    /// The target's version now, for the next step's guard.
    pub version: String,
}

/// An entry confirmed durable, for the activity pane.
#[derive(Debug, Clone, PartialEq)]
pub struct Recorded {
    pub at: DateTime<Utc>,
    pub kind: super::entry::EntryKind,
    pub summary: String,
}

/// One entry of the incident note, rendered to Markdown by `note`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NoteEntry {
    pub at: DateTime<Utc>,
    pub kind: super::entry::EntryKind,
    pub target: Option<String>,
    pub text: String,
    /// Indented lines under the entry (steps, checks, evidence rows).
    pub details: Vec<String>,
    /// A fact for `--resume` and later sessions, hidden in the note.
    pub marker: Option<super::entry::Marker>,
}

/// Work for the runtime. Results come back as actions.
#[derive(Debug, Clone)]
pub enum Effect {
    LoadHistory(String),
    LoadMigrations {
        plan_id: PlanId,
        plan: Box<RollbackPlan>,
    },
    /// Look for the commit reverting `bad` in the target's code.
    FindRevert {
        target: String,
        bad: String,
    },
    /// Ask the platform whether rbtui's identity may do what the plan does.
    /// Read what the plan's rollback changes (a diff, before the confirm).
    ReadChanges {
        plan_id: PlanId,
        plan: Box<RollbackPlan>,
    },
    CheckPermissions {
        plan_id: PlanId,
        plan: Box<RollbackPlan>,
    },
    /// Ask the platform for a dry run of the plan (rehearsal mode).
    Preview {
        plan_id: PlanId,
        plan: Box<RollbackPlan>,
    },
    /// Perform one mutating step; the backend re-checks `built_from` first.
    /// The runtime writes `announce` to the note first and sends nothing
    /// when that write fails: the gate is part of the effect, not a habit.
    Execute {
        plan: Box<RollbackPlan>,
        step: usize,
        announce: NoteEntry,
        /// A dry-run rehearsal: the platform's server-side dry run of the
        /// rollback, nothing else sent.
        dry_run: bool,
    },
    /// Re-read the target to decide whether a step whose answer was lost
    /// took effect.
    Settle {
        plan: Box<RollbackPlan>,
        step: usize,
        delay_ms: u64,
    },
    ReadProgress {
        plan_id: PlanId,
        plan: Box<RollbackPlan>,
        delay_ms: u64,
    },
    ReadVerify {
        plan_id: PlanId,
        target: String,
        delay_ms: u64,
    },
    /// Append to the note, durably, before anything after it runs.
    Record(NoteEntry),
    /// Post a status message to the `[comms]` webhook (the operator's key).
    PostStatus {
        which: super::comms::Comms,
        text: String,
    },
    /// Attach the note, as it is on disk, to the incident's ticket.
    AttachNote {
        note: String,
    },
    /// Draft the postmortem from the note file as it is on disk, next to it.
    DraftPostmortem {
        note: String,
    },
    /// Read what the failing revision left and write it beside the note,
    /// into `dir`, each file name starting with `stamp`.
    SaveEvidence {
        target: String,
        plan: Option<PlanId>,
        why: String,
        dir: String,
        stamp: String,
    },
}

/// One evidence file written beside the note.
#[derive(Debug, Clone, PartialEq)]
pub struct SavedEvidence {
    /// Relative to the note's folder, for a link from the note.
    pub path: String,
    pub what: String,
    pub bytes: usize,
    /// Only the tail was kept (the file's cap).
    pub cut: bool,
    /// Not saved: the part could not be read, and why (no file written).
    pub unread: Option<String>,
}

/// What attaching the note to the ticket did: the comment (posted or
/// updated in place) and the files it carries.
#[derive(Debug, Clone, PartialEq)]
pub struct Attached {
    pub comment: String,
    pub url: String,
    /// An existing comment was updated (not a new one posted).
    pub updated: bool,
    /// Evidence files uploaded now, and ones already there (not again).
    pub uploaded: Vec<String>,
    pub already: Vec<String>,
    /// The comment had to be cut to the system's size limit.
    pub cut: bool,
}
