//! The whole screen's truth. Rendering reads it; only `update` writes it.

use super::error::BackendError;
use super::model::{Health, History, Revision, TargetId, TargetInfo};
use super::plan::{PlanId, RollbackPlan};
use super::runbook::Runbook;
use super::verdict::Verdict;
use chrono::{DateTime, Utc};
use std::collections::HashMap;

pub use super::pane::Pane;

/// Which confirm field has the cursor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfirmField {
    Name,
    Reason,
}

/// The typed parts of the confirm dialog.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfirmForm {
    pub name: String,
    pub reason: String,
    pub field: ConfirmField,
    pub error: Option<String>,
}

impl ConfirmForm {
    /// Marks what the operator has not typed yet: the name asked for (to
    /// touch prod), then an override reason of at least 10 characters (to
    /// pass a BLOCK). The same rules for one plan and for a group; true
    /// when the form confirms.
    pub fn complete(&mut self, name: Option<(&str, String)>, needs_override: bool) -> bool {
        if let Some((want, why)) = name
            && self.name.trim() != want
        {
            self.error = Some(why);
            self.field = ConfirmField::Name;
            return false;
        }
        if needs_override && self.reason.trim().len() < 10 {
            self.error =
                Some("a blocking check needs an override reason (at least 10 characters)".into());
            self.field = ConfirmField::Reason;
            return false;
        }
        true
    }
}

/// A popup over the panes; at most one at a time.
#[derive(Debug, Clone, PartialEq)]
pub enum Popup {
    Help,
    /// The plan with its checks and migration verdict.
    Plan,
    /// A plan asked for: its target is being read afresh, or why no plan
    /// came of it. It owns the keys meanwhile (Esc closes), so text typed
    /// ahead never reaches a hotkey.
    Reading {
        target: String,
        error: Option<String>,
    },
    Confirm(ConfirmForm),
    /// The plan of a group: a section per target.
    GroupPlan,
    GroupConfirm(ConfirmForm),
    /// Notes editor; the text lives in the UI layer's textarea.
    Notes,
    /// Evidence line for ticking a checklist step by hand.
    Evidence {
        step: String,
        text: String,
    },
    /// A ready-to-paste status message.
    /// A drafted status message and which template it came from.
    Status(super::comms::Comms, String),
    QuitConfirm,
}

/// A plan asked for, built once the fresh read of its target arrives.
#[derive(Debug, Clone, PartialEq)]
pub struct PendingPlan {
    pub target: String,
    pub to: String,
    /// A follow-up plan that re-enables auto-sync, not a rollback: it stays
    /// one when rebuilt.
    pub reenable: bool,
    /// Restore the template exactly rather than pin the digests that ran.
    pub exact: bool,
    /// The re-tag form (the ECR runbook's option B) instead of a rollback.
    pub retag: bool,
    /// The earlier plan was refused as stale: say so when it is rebuilt.
    pub after_stale: bool,
    /// Only an answer fetched at or after this instant is fresh enough: an
    /// earlier request still in flight must not build the plan.
    pub asked_at: DateTime<Utc>,
}

/// Why and since when the note cannot be written.
#[derive(Debug, Clone, PartialEq)]
pub struct NoteFailure {
    pub error: String,
    pub since: DateTime<Utc>,
    /// When the runtime last tried to write again.
    pub retried_at: DateTime<Utc>,
}

pub use super::run_state::{Doing, Ending, Halt, Outcome, Run, RunState};

pub use super::runbook::StepTick;

/// A short memory of a target's error rate and latency.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Trend {
    pub error_rate: Vec<f64>,
    pub p95_ms: Vec<f64>,
}

impl Trend {
    pub const LEN: usize = 30;
    pub fn push(&mut self, h: &Health) {
        for (v, series) in [
            (h.error_rate, &mut self.error_rate),
            (h.latency_p95_ms, &mut self.p95_ms),
        ] {
            series.push(v.unwrap_or(f64::NAN));
            if series.len() > Self::LEN {
                series.remove(0);
            }
        }
    }
}

pub use super::settings::{Iac, Settings};

/// Everything rbtui knows about one target: what its platform last said,
/// what this incident did to it, and what earlier notes say.
#[derive(Debug, Clone, Default)]
pub struct TargetRow {
    /// The last plan recorded for this target (its id and lines): a new
    /// plan records what changed against it, not the whole plan again.
    pub last_plan: Option<(PlanId, Vec<String>)>,
    pub health: Option<Health>,
    /// The last read failed (its health ages meanwhile).
    pub health_error: Option<BackendError>,
    /// Reads fail since then: outages and recoveries go to the note as
    /// they happen.
    pub down_since: Option<DateTime<Utc>>,
    /// The platform no longer has the target's object: since when, and
    /// what said so. Its verdict is that, never its last health.
    pub deleted: Option<(DateTime<Utc>, String)>,
    /// Recent 5xx rate and p95, oldest first, for sparklines.
    pub trend: Trend,
    /// Judged from `health` at the last tick (it ages with the clock).
    pub verdict: Option<Verdict>,
    /// The verdict has been recorded, so it is not repeated.
    pub assessed: bool,
    /// History as shown: the platform's answer with what the incident
    /// knows laid over it (`Incident::overlay`).
    pub history: Option<History>,
    /// The platform's own answer, kept so the overlay is recomputed from it
    /// whenever the incident learns something.
    pub platform_history: Option<History>,
    pub history_error: Option<BackendError>,
    /// Checklist ticks by step id.
    pub checklist: HashMap<String, StepTick>,
    /// When the rollback runbook last worked (earlier notes).
    pub last_worked: super::entry::LastWorked,
    pub revert: RevertLook,
    /// Whether its evidence was saved when it turned critical.
    pub evidence: EvidenceLook,
    /// A re-tag ran: the revert PR is due by then.
    pub retag_due: Option<DateTime<Utc>>,
    /// A run on it was cut short by the end of an earlier session: its
    /// first health read here is recorded as the state it was left in.
    pub after_interruption: bool,
}

/// Whether a target's evidence was asked for when it turned critical.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub enum EvidenceLook {
    #[default]
    NotYet,
    /// Asked at critical; asked again only after the target recovers and
    /// turns critical once more.
    Asked,
}

/// Whether the revert of the target's bad commit is looked for.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub enum RevertLook {
    #[default]
    NotYet,
    AskedAt(DateTime<Utc>),
    /// No checkout to look in, or the revert was found.
    Done,
}

/// Where the operator is looking. Nothing here is a fact about a target:
/// it changes with keys only, and is all a redraw needs besides the facts.
#[derive(Debug, Clone, Default)]
pub struct View {
    pub focus: Pane,
    /// Selected target by name, so re-sorting never moves the cursor to
    /// another target.
    pub selected: Option<String>,
    pub history_cursor: usize,
    pub checklist_cursor: usize,
    pub migration_scroll: usize,
    /// Scroll of the plan popup when it does not fit.
    pub plan_scroll: usize,
    pub activity_scroll: usize,
    pub filter: String,
    pub filtering: bool,
    /// The `:` command line being typed, if open.
    pub command: Option<String>,
    /// Targets marked (space in Health) to be rolled back together.
    pub marked: std::collections::BTreeSet<String>,
    pub popup: Option<Popup>,
    /// The focused pane fills the screen (k9s's and lazygit's zoom).
    pub zoomed: bool,
    /// `/` in the plan, the help or Activity.
    pub search: Option<super::query::Search>,
}

/// Everything the screen shows.
#[derive(Debug, Clone)]
pub struct State {
    pub settings: Settings,
    pub now: DateTime<Utc>,
    pub targets: Vec<TargetInfo>,
    pub targets_error: Option<BackendError>,
    /// What is known of each target, by name (listed or not yet).
    pub table: HashMap<TargetId, TargetRow>,
    /// Indices into `targets`: filtered, worst first.
    pub order: Vec<usize>,
    /// Where the operator is looking: cursors, scrolls, the filter, the popup.
    pub view: View,
    pub plan: Option<RollbackPlan>,
    /// A plan waiting for a fresh read of its target: every plan is built
    /// from the platform's answer, never from a cached one.
    pub pending_plan: Option<PendingPlan>,
    /// When the selected target's history was last asked for; History
    /// follows changes made by others without a key press.
    pub history_asked_at: Option<DateTime<Utc>>,
    /// When this session started: a drill's times are measured from it.
    pub session_started: DateTime<Utc>,
    /// Runs of this session, oldest first: one per confirmed plan, several
    /// at once for a group rolled back in parallel. A new confirm drops the
    /// finished ones.
    pub runs: Vec<Run>,
    /// The group being planned, confirmed or rolled back together.
    pub group: Option<super::group::Group>,
    /// What happened to each target in this incident (and, resumed, in
    /// the sessions before): every derived fact is read from it.
    pub incident: super::incident::Incident,
    pub runbooks: Vec<Runbook>,
    pub activity: Vec<super::action::Recorded>,
    /// Entries sent to the note but not yet confirmed durable.
    pub unrecorded: usize,
    /// The words (text, then details) of the entry last queued for the
    /// note: a tick whose proof is exactly that entry says so instead of
    /// writing it again.
    pub last_words: String,
    /// The last write to the note failed: mutations are refused until a
    /// write succeeds again.
    pub note_error: Option<NoteFailure>,
    /// Entries the note could not take, oldest first; written late, with a
    /// heading that says so, as soon as the note takes writes again.
    pub note_backlog: Vec<super::action::NoteEntry>,
    /// One-line message in the footer: (is_error, text).
    pub flash: Option<(bool, String)>,
    pub next_plan_id: PlanId,
    pub quitting: bool,
    /// Text the operator asked to copy (`y`): the runtime takes it and
    /// hands it to the terminal's clipboard (OSC 52, which works over ssh
    /// and tmux). Redacted as the note is.
    pub clipboard: Option<String>,
    /// Set by `update` when something visible changed.
    pub dirty: bool,
    /// The age labels the screen shows (`State::ages_on_screen`) as of the
    /// last tick: a tick redraws when one of them would read differently.
    pub shown_ages: Vec<String>,
}

impl State {
    pub fn new(settings: Settings, runbooks: Vec<Runbook>, now: DateTime<Utc>) -> State {
        State {
            settings,
            now,
            targets: Vec::new(),
            targets_error: None,
            table: HashMap::new(),
            order: Vec::new(),
            view: View::default(),
            plan: None,
            pending_plan: None,
            history_asked_at: None,
            session_started: now,
            runs: Vec::new(),
            group: None,
            incident: Default::default(),
            runbooks,
            activity: Vec::new(),
            unrecorded: 0,
            last_words: String::new(),
            note_error: None,
            note_backlog: Vec::new(),
            flash: None,
            next_plan_id: PlanId(1),
            quitting: false,
            clipboard: None,
            dirty: true,
            shown_ages: Vec::new(),
        }
    }

    pub fn row(&self, target: &str) -> Option<&TargetRow> {
        self.table.get(target)
    }

    /// The target's row, made empty when it has none yet. The key is
    /// allocated only then: health polls call this per target.
    pub fn row_mut(&mut self, target: &str) -> &mut TargetRow {
        if !self.table.contains_key(target) {
            self.table
                .insert(TargetId::from(target), TargetRow::default());
        }
        self.table.get_mut(target).expect("inserted above")
    }

    pub fn health(&self, target: &str) -> Option<&Health> {
        self.row(target)?.health.as_ref()
    }

    pub fn history(&self, target: &str) -> Option<&History> {
        self.row(target)?.history.as_ref()
    }

    pub fn verdict(&self, target: &str) -> Option<&Verdict> {
        self.row(target)?.verdict.as_ref()
    }

    pub fn checklist(&self, target: &str) -> Option<&HashMap<String, StepTick>> {
        self.row(target).map(|r| &r.checklist)
    }

    pub fn target(&self, name: &str) -> Option<&TargetInfo> {
        self.targets.iter().find(|t| t.name == name)
    }

    pub fn selected_target(&self) -> Option<&TargetInfo> {
        self.view.selected.as_deref().and_then(|n| self.target(n))
    }

    /// Position of the selection within `order`.
    pub fn selected_pos(&self) -> Option<usize> {
        let name = self.view.selected.as_deref()?;
        self.order
            .iter()
            .position(|&i| self.targets[i].name == name)
    }

    pub fn selected_history(&self) -> Option<&History> {
        self.view.selected.as_deref().and_then(|n| self.history(n))
    }

    /// The runbook of the target's kind, without the steps it has no use
    /// for (an IaC follow-up for a target no stack declares).
    pub fn runbook_for(&self, t: &TargetInfo) -> Option<std::borrow::Cow<'_, Runbook>> {
        let rb = self.runbooks.iter().find(|r| r.kind == t.kind)?;
        let has = |need: &str| match need {
            "iac" => self.settings.iac.contains_key(&t.name),
            "retag" => self.settings.retag.contains(&t.name),
            _ => false,
        };
        if rb
            .steps
            .iter()
            .all(|st| st.needs.as_deref().is_none_or(has))
        {
            return Some(std::borrow::Cow::Borrowed(rb));
        }
        let mut own = rb.clone();
        own.steps.retain(|st| st.needs.as_deref().is_none_or(has));
        Some(std::borrow::Cow::Owned(own))
    }

    /// True while a rollback is being executed or watched, or a group has
    /// members still to start.
    pub fn in_flight(&self) -> bool {
        self.runs.iter().any(Run::in_flight) || self.group.as_ref().is_some_and(|g| g.running())
    }

    /// The run of this plan, while it is in flight.
    pub fn run_mut(&mut self, plan: PlanId) -> Option<&mut Run> {
        self.runs
            .iter_mut()
            .find(|r| r.plan.id == plan && r.in_flight())
    }

    /// What became of a group member's plan, from the runs.
    pub fn member_state(&self, plan: PlanId) -> super::group::MemberState {
        use super::group::MemberState;
        match self.runs.iter().find(|r| r.plan.id == plan) {
            None => MemberState::NotStarted,
            Some(r) => match r.outcome() {
                None => MemberState::Running,
                Some(Outcome::Succeeded) => MemberState::Succeeded,
                Some(Outcome::Failed(m)) => MemberState::Failed(m),
            },
        }
    }

    /// The latest run on this target, finished or not.
    pub fn run_on(&self, target: &str) -> Option<&Run> {
        self.runs
            .iter()
            .rev()
            .find(|r| r.plan.target.name == target)
    }

    /// Every age label the screen shows, as it reads now: the selected
    /// target's data age and its stale signals', its History's "ago"
    /// column, the shown runs' ages. A clock tick redraws when one of these
    /// changes (each second while one is in seconds), and only then.
    pub fn ages_on_screen(&self) -> Vec<String> {
        use super::fmt::{age, ago};
        let secs = |t: DateTime<Utc>| age((self.now - t).num_seconds());
        let mut out = Vec::new();
        if let Some(t) = self.view.selected.as_deref() {
            if let Some(h) = self.health(t) {
                out.push(secs(h.observed_at));
                out.extend(h.signals.iter().map(|g| secs(g.observed_at)));
            }
            if let Some(h) = self.history(t) {
                out.extend(
                    h.revisions
                        .iter()
                        .filter_map(|r| r.deployed_at)
                        .map(|d| ago(d, self.now)),
                );
            }
        }
        out.extend(self.runs.iter().map(|r| secs(r.started_at)));
        out
    }

    /// The run the screen and the status message speak of: the selected
    /// target's, else the latest.
    pub fn shown_run(&self) -> Option<&Run> {
        self.view
            .selected
            .as_deref()
            .and_then(|t| self.run_on(t))
            .or(self.runs.last())
    }

    /// The bad and good revisions the follow-ups are about, from the
    /// incident: the first build rolled back from that the incident had
    /// not verified good, and what the latest rollback put in its place.
    /// A target only planned has none.
    pub fn followup(&self, target: &str) -> Option<(Revision, Revision)> {
        let (bad, good) = self.incident.story(target)?.followup()?;
        Some((bad.revision(), good.revision()))
    }

    /// A run on the target is in flight (a target rolls back one plan at a
    /// time; other targets stay free).
    pub fn busy_on(&self, target: &str) -> bool {
        self.runs
            .iter()
            .any(|r| r.in_flight() && r.plan.target.name == target)
            || self
                .group
                .as_ref()
                .is_some_and(|g| g.running() && g.members.iter().any(|m| m == target))
    }

    /// Values for the runbook placeholders, from [`State::followup`].
    pub fn runbook_vars(&self, t: &TargetInfo) -> Vec<(&'static str, String)> {
        let pair = self.followup(&t.name);
        let plan = pair.as_ref().map(|(a, b)| (a, b));
        let unknown = || "?".to_string();
        let iac = self.settings.iac.get(&t.name);
        let mut v = self.followup_vars(t, plan);
        v.extend([
            (
                "iac_tool",
                iac.map(|i| i.tool.clone()).unwrap_or_else(unknown),
            ),
            (
                "iac_stack",
                iac.map(|i| i.stack.clone()).unwrap_or_else(unknown),
            ),
            (
                "iac_key",
                iac.map(|i| i.key.clone()).unwrap_or_else(unknown),
            ),
            (
                "good_tag",
                plan.and_then(|(_, to)| to.images.first())
                    .and_then(|i| i.tag.clone())
                    .unwrap_or_else(unknown),
            ),
            (
                "retag_due",
                self.row(&t.name)
                    .and_then(|r| r.retag_due)
                    .map(|d| super::fmt::hms(d).to_string())
                    .unwrap_or_else(|| "within the hour of the re-tag".into()),
            ),
        ]);
        v
    }

    /// A multi-source app's bad and good commits, of the sources the
    /// rollback moved only (a rollback of the values repo names the values
    /// commit, not the chart's unchanged one); each named by its source
    /// where more than one moved.
    fn moved_sources(
        &self,
        target: &str,
        from: &Revision,
        to: &Revision,
    ) -> Option<(String, String)> {
        let changed = self.history(target)?.source_changes(&from.id, &to.id);
        let short = |s: &str| s[..s.len().min(7)].to_string();
        let one = changed.len() == 1;
        let name = |sha: String, label: &str| {
            if one { sha } else { format!("{sha} ({label})") }
        };
        let bad: Vec<String> = changed
            .iter()
            .map(|c| name(short(&c.bad), &c.label))
            .collect();
        let good: Vec<String> = changed
            .iter()
            .map(|c| {
                name(
                    c.good.as_deref().map(short).unwrap_or_else(|| "?".into()),
                    &c.label,
                )
            })
            .collect();
        (!changed.is_empty()).then(|| (bad.join(" + "), good.join(" + ")))
    }

    fn followup_vars(
        &self,
        t: &TargetInfo,
        plan: Option<(&Revision, &Revision)>,
    ) -> Vec<(&'static str, String)> {
        let unknown = || "?".to_string();
        let short = |s: &Option<String>| {
            s.as_deref()
                .map(|s| s[..s.len().min(7)].to_string())
                .unwrap_or_else(unknown)
        };
        match plan {
            Some((from, to)) => {
                let (bad, good) = self
                    .moved_sources(&t.name, from, to)
                    .unwrap_or_else(|| (short(&from.git_sha), short(&to.git_sha)));
                vec![
                    ("target", t.name.clone()),
                    ("object", t.object().to_string()),
                    ("bad_rev", from.id.to_string()),
                    ("good_rev", to.id.to_string()),
                    ("bad_sha", bad),
                    ("good_sha", good),
                ]
            }
            None => vec![
                ("target", t.name.clone()),
                ("object", t.object().to_string()),
                ("bad_rev", unknown()),
                ("good_rev", unknown()),
                ("bad_sha", unknown()),
                ("good_sha", unknown()),
            ],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::model::{Kind, Mode};

    fn state_with_swarm(iac: bool) -> (State, TargetInfo) {
        let mut settings = Settings::new(Mode::Live, "INC", "n.md");
        if iac {
            settings.iac.insert(
                "web".into(),
                Iac {
                    tool: "pulumi".into(),
                    stack: "shop-prod".into(),
                    key: "image-tag".into(),
                },
            );
        }
        let s = State::new(
            settings,
            crate::runbook::load_all(None).unwrap(),
            chrono::Utc::now(),
        );
        let t = TargetInfo {
            name: "web".into(),
            kind: Kind::Swarm,
            environment: "prod".into(),
            location: "engine".into(),
            object: None,
            simulated: false,
        };
        (s, t)
    }

    /// A `docker stack deploy` user is not told to align a Pulumi stack;
    /// a target that names its stack gets the commands filled in.
    #[test]
    fn the_iac_follow_up_is_there_only_for_a_target_that_names_its_stack() {
        let (s, t) = state_with_swarm(false);
        let rb = s.runbook_for(&t).unwrap();
        assert!(rb.steps.iter().all(|st| st.id != "align-stack"));
        let (s, t) = state_with_swarm(true);
        let rb = s.runbook_for(&t).unwrap();
        let st = rb.steps.iter().find(|st| st.id == "align-stack").unwrap();
        let vars = s.runbook_vars(&t);
        let detail = crate::core::runbook::fill(st.detail.as_deref().unwrap(), &vars);
        assert!(
            detail.starts_with("pulumi config set image-tag ? --stack shop-prod;"),
            "{detail}"
        );
    }
}
