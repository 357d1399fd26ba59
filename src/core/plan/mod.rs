//! A rollback is a typed plan: steps plus pre-flight checks. The confirm
//! dialog, the note entry and the executor all read the same plan, so what is
//! shown is what runs.

mod registry_check;
mod retag;
pub use retag::build_retag;
mod build;
mod check;
mod step;

use build::mode_check;
pub use build::*;
pub use check::*;
pub use step::*;

use super::migration::{MigrationDiff, MigrationVerdict, SqlVerdict};
use super::model::{Health, History, Kind, Mode, Revision, RevisionId, TargetInfo};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Which plan of the session (`plan #3`): answers that come back for an
/// older plan are told apart from the current one's by it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PlanId(pub u64);

impl PlanId {
    pub fn next(self) -> PlanId {
        PlanId(self.0 + 1)
    }
}

impl std::fmt::Display for PlanId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(&self.0, f)
    }
}

/// What a plan is for. A type, not read off its steps: a re-tag is a
/// rollback (it puts the good build back), re-enabling auto-sync is a
/// follow-up that rolls nothing back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PlanKind {
    /// Back to an earlier revision (pinned or exact template).
    Rollback,
    /// The ECR runbook's option B: a mutable tag re-pointed, then a restart.
    Retag,
    /// Argo CD auto-sync turned back on after the revert.
    Reenable,
}

impl PlanKind {
    /// Puts a good build back (as opposed to a follow-up).
    pub fn rolls_back(self) -> bool {
        matches!(self, PlanKind::Rollback | PlanKind::Retag)
    }
}

/// Everything needed to confirm and run one rollback.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RollbackPlan {
    pub id: PlanId,
    pub kind: PlanKind,
    pub target: TargetInfo,
    pub mode: Mode,
    pub from: Revision,
    pub to: Revision,
    pub steps: Vec<PlanStep>,
    pub checks: Vec<Check>,
    /// The target version the plan was built from; execution refuses if it moved.
    pub built_from: String,
    pub built_at: DateTime<Utc>,
    pub migration: Option<MigrationDiff>,
    /// Health when the plan was built: the "before" evidence.
    pub before: Option<Health>,
    /// What else the rollback changes besides the image, as the platform
    /// knows it (Swarm's previous spec vs a pin of the image only).
    /// (Named `changes` in the plan's JSON, as before.)
    #[serde(default, rename = "changes")]
    pub besides_image: Option<String>,
    /// Built to restore the template exactly, though a pin was possible.
    #[serde(default)]
    pub exact_template: bool,
    /// What the rollback changes in the platform's object, as a unified
    /// diff read afresh before the confirm (`Backend::changes`).
    #[serde(default)]
    pub diff: Option<String>,
}

impl RollbackPlan {
    /// A plan of these steps and checks, as the inputs give it the rest
    /// (the version it was built from, when, the health before); checks
    /// sorted worst first.
    pub(crate) fn of(
        i: &PlanInputs<'_>,
        kind: PlanKind,
        from: Revision,
        to: Revision,
        steps: Vec<PlanStep>,
        checks: Vec<Check>,
    ) -> RollbackPlan {
        let mut plan = RollbackPlan {
            id: i.id,
            kind,
            target: i.target.clone(),
            mode: i.mode,
            from,
            to,
            steps,
            checks,
            besides_image: None,
            built_from: i.history.facts.version.clone(),
            built_at: i.now,
            migration: None,
            before: i.before.cloned(),
            exact_template: false,
            diff: None,
        };
        plan.sort_checks();
        plan
    }

    /// Its migration range, not (or not able to be) looked at, with why.
    pub fn migrations_not_checked(&self, why: &str) -> MigrationDiff {
        MigrationDiff {
            target: self.target.name.clone(),
            from_rev: self.from.id.clone(),
            to_rev: self.to.id.clone(),
            files: vec![],
            verdict: MigrationVerdict::NotChecked(why.into()),
        }
    }

    /// Whether its rollback writes digests in place of mutable tags.
    pub fn pinned(&self) -> bool {
        self.steps
            .iter()
            .any(|s| matches!(s, PlanStep::Rollback { pin, .. } if !pin.is_empty()))
    }

    /// A rollback (as opposed to a follow-up such as re-enabling auto-sync);
    /// a re-tag is one too: it puts the good build back.
    pub fn is_rollback(&self) -> bool {
        self.kind.rolls_back()
    }

    /// The ECR runbook's option B: a re-tag and a restart.
    pub fn is_retag(&self) -> bool {
        self.kind == PlanKind::Retag
    }

    /// "roll back orders 42 → 41" or "re-enable auto-sync on orders".
    pub fn title(&self) -> String {
        if self.is_retag() {
            format!(
                "re-tag and restart {} {} → {}",
                self.target.name, self.from.id, self.to.id
            )
        } else if self.is_rollback() {
            format!(
                "roll back {} {} → {}",
                self.target.name, self.from.id, self.to.id
            )
        } else {
            format!("re-enable auto-sync on {}", self.target.name)
        }
    }

    /// Worst first, as the plan popup and the note list them.
    pub fn sort_checks(&mut self) {
        self.checks.sort_by_key(|c| std::cmp::Reverse(c.status));
    }

    /// Folds the migration result into the `schema` check.
    pub fn apply_migrations(&mut self, diff: Result<MigrationDiff, super::error::BackendError>) {
        let (status, detail) = match &diff {
            Err(e) => (CheckStatus::Warn, format!("schema not checked: {e}")),
            Ok(d) => match &d.verdict {
                MigrationVerdict::NoMigrations => (
                    CheckStatus::Pass,
                    "no migrations shipped in the range".to_string(),
                ),
                MigrationVerdict::Found(SqlVerdict::Compatible) => (
                    CheckStatus::Pass,
                    format!(
                        "{} migration file(s), all backward-compatible",
                        d.files.len()
                    ),
                ),
                MigrationVerdict::Found(SqlVerdict::Review) => (
                    CheckStatus::Warn,
                    "migrations need review: the parser could not judge every statement"
                        .to_string(),
                ),
                MigrationVerdict::Found(SqlVerdict::Unsafe) => {
                    let first = d
                        .unsafe_statements()
                        .next()
                        .map(|(f, s)| format!("{}: {}", f.path, s.reason))
                        .unwrap_or_default();
                    (
                        CheckStatus::Block,
                        format!("UNSAFE schema change in range: {first}"),
                    )
                }
                MigrationVerdict::NotChecked(why) => {
                    (CheckStatus::Warn, format!("schema not checked: {why}"))
                }
                MigrationVerdict::Error(e) => {
                    (CheckStatus::Warn, format!("schema check failed: {e}"))
                }
            },
        };
        if let Some(c) = self.checks.iter_mut().find(|c| c.id == CheckId::Schema) {
            c.status = status;
            c.detail = detail;
        }
        self.migration = diff.ok();
        self.sort_checks();
    }

    pub fn worst(&self) -> CheckStatus {
        self.checks
            .iter()
            .map(|c| c.status)
            .max()
            .unwrap_or(CheckStatus::Pass)
    }

    /// A block nobody may override (mode, platform refusal): no confirm at all.
    pub fn refusal(&self) -> Option<&Check> {
        self.checks
            .iter()
            .find(|c| c.status == CheckStatus::Block && !c.overridable)
    }

    /// Blocks that need a typed override reason.
    pub fn needs_override(&self) -> bool {
        self.checks
            .iter()
            .any(|c| c.status == CheckStatus::Block && c.overridable)
    }

    pub fn pending(&self) -> bool {
        self.checks.iter().any(|c| c.status == CheckStatus::Pending)
    }

    /// Prod is confirmed by typing the target's name.
    pub fn needs_typed_name(&self) -> bool {
        self.target.is_prod()
    }

    /// The confirm dialog's text, derived from the plan alone.
    pub fn confirm_lines(&self) -> Vec<String> {
        let t = &self.target;
        let mut v = vec![format!(
            "Target: {} ({}, environment {}, {})",
            t.name,
            t.kind.label(),
            t.environment,
            t.location
        )];
        if self.is_rollback() {
            v.push(format!(
                "From {} {}: {}",
                t.kind.revision_word(),
                self.from.id,
                images_text(&self.from)
            ));
            v.push(format!(
                "To   {} {}: {}",
                t.kind.revision_word(),
                self.to.id,
                images_text(&self.to)
            ));
        } else {
            v.push(format!(
                "Now at {} {}: {}",
                t.kind.revision_word(),
                self.from.id,
                images_text(&self.from)
            ));
        }
        if let Some(c) = &self.besides_image {
            v.push(format!("Changes: {c}"));
        }
        for (n, s) in self.steps.iter().enumerate() {
            v.push(format!("{}. {}", n + 1, s.words(t, &self.from)));
        }
        v
    }
}

/// `checkout:git-3f9a2c1@sha256:…` for every image of a revision.
pub fn images_text(r: &Revision) -> String {
    if r.images.is_empty() {
        return "(no image recorded)".into();
    }
    r.images
        .iter()
        .map(|i| i.short())
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::testkit::*;

    fn plan(kind: Kind, h: &History, to: &str) -> Result<RollbackPlan, String> {
        let t = target("web", kind, "staging");
        build(PlanInputs {
            id: PlanId(1),
            target: &t,
            mode: Mode::Live,
            history: h,
            to,
            now: t0(),
            before: None,
            mutable_tags: &["main".to_string()],
            rollout_timeout_secs: 60,
            exact_template: false,
        })
    }

    fn check(p: &RollbackPlan, id: CheckId) -> &Check {
        p.checks.iter().find(|c| c.id == id).unwrap()
    }

    fn two() -> History {
        history(
            "web",
            vec![
                rev("2", "r/web:b", "bbbbbbb", true),
                rev("1", "r/web:a", "aaaaaaa", false),
            ],
        )
    }

    /// The current revision is no rollback (refused); a known-bad one needs
    /// a reason; the schema check waits for the migration diff.
    #[test]
    fn the_revision_checks_refuse_the_current_and_ask_a_reason_for_a_bad_one() {
        let h = two();
        let p = plan(Kind::Kubernetes, &h, "2").unwrap();
        let c = check(&p, CheckId::Revision);
        assert_eq!((c.status, c.overridable), (CheckStatus::Block, false));
        let mut h = two();
        h.known_bad.push("1".into());
        let p = plan(Kind::Kubernetes, &h, "1").unwrap();
        let c = check(&p, CheckId::Revision);
        assert_eq!((c.status, c.overridable), (CheckStatus::Block, true));
        assert_eq!(check(&p, CheckId::Schema).status, CheckStatus::Pending);
        assert_eq!(p.kind, PlanKind::Rollback);
        assert_eq!(p.steps.len(), 3);
    }

    /// Compose changes only the image: the same image is no rollback.
    #[test]
    fn an_image_only_rollback_to_the_same_image_is_blocked() {
        let h = history(
            "web",
            vec![
                rev("2", "r/web:a", "bbbbbbb", true),
                rev("1", "r/web:a", "aaaaaaa", false),
            ],
        );
        let p = plan(Kind::Compose, &h, "1").unwrap();
        assert!(
            check(&p, CheckId::Revision)
                .detail
                .contains("runs the same image")
        );
    }

    /// A mutable tag whose digest ran is pinned on Kubernetes (PASS); an
    /// unknown revision, or lkg where none is known, is no plan at all.
    #[test]
    fn a_mutable_tag_is_pinned_where_its_digest_ran() {
        let h = history(
            "web",
            vec![
                rev("2", "r/web:b", "bbbbbbb", true),
                rev("1", "r/web:main@sha256:abc", "aaaaaaa", false),
            ],
        );
        let p = plan(Kind::Kubernetes, &h, "1").unwrap();
        assert!(p.pinned());
        assert_eq!(check(&p, CheckId::MutableTag).status, CheckStatus::Pass);
        assert!(
            plan(Kind::Kubernetes, &h, "9")
                .unwrap_err()
                .contains("unable to find")
        );
        assert!(
            plan(Kind::Kubernetes, &h, "lkg")
                .unwrap_err()
                .contains("no last known good")
        );
    }
}
