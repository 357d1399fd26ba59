//! A rollback is a typed plan: steps plus pre-flight checks. The confirm
//! dialog, the note entry and the executor all read the same plan, so what is
//! shown is what runs.

mod registry_check;
mod retag;
pub use retag::build_retag;

use super::migration::{MigrationDiff, MigrationVerdict, SqlVerdict};
use super::model::{Health, History, Kind, Mode, Revision, RevisionId, TargetInfo};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// One mutation or watch the executor performs, in order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum PlanStep {
    /// Argo CD: turn auto-sync off so it cannot re-sync the bad HEAD.
    DisableAutoSync,
    /// Argo CD: turn auto-sync back on, once the bad commit is reverted.
    EnableAutoSync,
    /// A file the platform deploys from, changed before the rollback
    /// (backed up first, recorded as its own step).
    EditInput(InputEdit),
    /// The rollback itself; `via` is the platform's own command when it
    /// does the work (Compose recreating from its pinned inputs).
    Rollback {
        to: RevisionId,
        #[serde(default)]
        via: Option<String>,
        /// Images set to the digest the revision's pods ran instead of the
        /// mutable tag its template names (Kubernetes): a tag that moved
        /// since would otherwise deploy another build.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        pin: Vec<ImagePin>,
    },
    /// Re-tag: the mutable tag `image` (`repo:latest`) is pointed at the
    /// manifest `to` in the registry, if it still resolves to `from`.
    Retag {
        image: String,
        from: String,
        to: String,
    },
    /// Restart the workload so it pulls its (re-tagged) image again.
    Restart,
    /// Watch until converged, failed or timed out.
    WaitForRollout { timeout_secs: i64 },
    /// Re-read health and record before/after evidence.
    Verify,
}

/// One image reference the rollback writes instead of the template's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImagePin {
    /// As the revision's template names it (`repo:main`).
    pub from: String,
    /// The digest its pods ran (`repo@sha256:…`).
    pub to: String,
}

/// A change to a deploy input file, as planned.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum InputEdit {
    /// `var=to` in `file` (was `from`).
    PinVar {
        file: String,
        var: String,
        from: Option<String>,
        to: String,
    },
    /// The versioned manifest copied over the live one.
    SwapManifest { live: String, versioned: String },
}

impl InputEdit {
    /// Where its backup goes: beside the file, so the restore is a `cp`.
    pub fn backup_of(file: &str) -> String {
        format!("{file}.rbtui-bak")
    }
}

impl PlanStep {
    /// True for the steps that change the target.
    pub fn mutates(&self) -> bool {
        matches!(
            self,
            PlanStep::DisableAutoSync
                | PlanStep::EnableAutoSync
                | PlanStep::EditInput(_)
                | PlanStep::Rollback { .. }
                | PlanStep::Retag { .. }
                | PlanStep::Restart
        )
    }

    /// The exact words of a step, from the plan's data and the platform's
    /// vocabulary; shared by the confirm dialog and the note.
    pub fn describe(&self, t: &TargetInfo, from: &Revision) -> String {
        match self {
            PlanStep::DisableAutoSync => format!(
                "Disable auto-sync on Argo CD application {} (merge PATCH automated.enabled=false, prune/selfHeal kept; before v3.1 the automated block is removed and saved on the app for re-enable)",
                t.object()
            ),
            PlanStep::EnableAutoSync => format!(
                "Re-enable auto-sync on Argo CD application {} (merge PATCH automated.enabled=true; before v3.1 the saved automated block restored as it was); Argo CD then syncs HEAD",
                t.object()
            ),
            PlanStep::EditInput(InputEdit::PinVar {
                file,
                var,
                from: was,
                to,
            }) => format!(
                "Pin {var}={to} in {file} (was {}; backup {})",
                was.as_deref().unwrap_or("unset"),
                InputEdit::backup_of(file)
            ),
            PlanStep::EditInput(InputEdit::SwapManifest { live, versioned }) => format!(
                "Copy manifest {versioned} over {live} (image and manifest as a pair; backup {})",
                InputEdit::backup_of(live)
            ),
            PlanStep::Rollback {
                to, via: Some(cmd), ..
            } => format!(
                "Run `{cmd}`: Compose recreates {} on {to} from its own files (networks, aliases, health check and volumes as the project defines them)",
                t.object()
            ),
            PlanStep::Rollback { to, pin, .. } if !pin.is_empty() => format!(
                "Roll back deployment {} from revision {} to revision {to}'s template with each mutable tag pinned to the digest its pods ran: {} (a new ReplicaSet and revision number; `kubectl rollout undo` would restore the tags as written)",
                t.object(),
                from.id,
                pin.iter()
                    .map(|p| format!("{} -> {}", p.from, p.to))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            PlanStep::Rollback { to, .. } => match t.kind {
                Kind::Argocd => format!(
                    "Roll back {} to history id {to} (POST /rollback {{id: {to}, prune: false, dryRun: false}})",
                    t.object()
                ),
                Kind::Kubernetes => format!(
                    "Roll back deployment {} from revision {} to revision {to} (kubectl rollout undo --to-revision={to} semantics)",
                    t.object(),
                    from.id
                ),
                Kind::Swarm if to == "previous" => format!(
                    "Roll back service {} to the engine's previous spec (rollback=previous: the whole previous spec returns, image, env and all)",
                    t.object()
                ),
                Kind::Swarm => format!(
                    "Update service {} from spec {}: only the image changes, to the reference of spec {to} (pinned by digest only if that reference carries one)",
                    t.object(),
                    from.id
                ),
                Kind::Compose => format!(
                    "Recreate compose service {} on image {to} from each container's inspected settings (image and manifest as a pair; an image the engine lacks is pulled first and must match the planned digest); Compose's own files are left as they are (see `inputs`)",
                    t.object()
                ),
            },
            PlanStep::Retag { image, from, to } => format!(
                "Re-tag {image} in the registry: point it at {} (was {}), only if it still resolves to {}; NO GIT TRACE",
                crate::core::model::short_digest(to),
                crate::core::model::short_digest(from),
                crate::core::model::short_digest(from)
            ),
            PlanStep::Restart => format!(
                "Restart deployment {} (kubectl rollout restart: a restartedAt annotation on the pod template) so its pods pull the re-tagged image",
                t.object()
            ),
            PlanStep::WaitForRollout { timeout_secs } => {
                format!(
                    "Watch the rollout until it converges, fails or times out ({})",
                    super::fmt::age(*timeout_secs)
                )
            }
            PlanStep::Verify => "Verify: re-read health, record before/after evidence".to_string(),
        }
    }
}

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
    #[serde(default)]
    pub changes: Option<String>,
    /// Built to restore the template exactly, though a pin was possible.
    #[serde(default)]
    pub exact_template: bool,
    /// What the rollback changes in the platform's object, as a unified
    /// diff read afresh before the confirm (`Backend::changes`).
    #[serde(default)]
    pub diff: Option<String>,
}

/// Tags that move: rolling "back" to one deploys whatever it points to now.
pub const DEFAULT_MUTABLE_TAGS: &[&str] =
    &["latest", "main", "master", "develop", "stable", "edge"];

/// Inputs to [`build`], gathered by the caller from state.
pub struct PlanInputs<'a> {
    pub id: PlanId,
    pub target: &'a TargetInfo,
    pub mode: Mode,
    pub history: &'a History,
    pub to: &'a str,
    pub now: DateTime<Utc>,
    pub before: Option<&'a Health>,
    pub mutable_tags: &'a [String],
    pub rollout_timeout_secs: i64,
    /// Restore the revision's template exactly (kubectl's semantics) even
    /// where a mutable tag could be pinned to the digest that ran.
    pub exact_template: bool,
}

/// Read-only refuses everything; rehearsal refuses prod. Never overridable.
fn mode_check(mode: Mode, t: &TargetInfo) -> Check {
    let (status, detail) = match mode {
        Mode::ReadOnly => (
            CheckStatus::Block,
            "read-only mode: rbtui refuses every mutation (started with --read-only)".to_string(),
        ),
        Mode::Rehearsal if t.is_prod() => (
            CheckStatus::Block,
            format!(
                "rehearsal mode never touches prod: {} is environment {}",
                t.name, t.environment
            ),
        ),
        m => (
            CheckStatus::Pass,
            format!("environment {} fits {} mode", t.environment, m.label()),
        ),
    };
    Check {
        id: CheckId::Mode,
        status,
        detail,
        overridable: false,
    }
}

/// The config makes the target's environment read-only
/// (`[environment.<name>] read_only = true`): the plan is shown, its mode
/// check refuses it, and no reason overrides that.
pub fn refuse_read_only_environment(p: &mut RollbackPlan) {
    let detail = format!(
        "environment {} is read-only in the config (environment.{}.read_only = true): rbtui shows its plans and changes nothing there",
        p.target.environment, p.target.environment
    );
    match p.checks.iter_mut().find(|c| c.id == CheckId::Mode) {
        Some(c) if c.status == CheckStatus::Block => {}
        Some(c) => {
            c.status = CheckStatus::Block;
            c.detail = detail;
            c.overridable = false;
        }
        None => p.checks.insert(
            0,
            Check {
                id: CheckId::Mode,
                status: CheckStatus::Block,
                detail,
                overridable: false,
            },
        ),
    }
    p.sort_checks();
}

/// Builds a plan and its checks. Errors are for requests that cannot become a
/// plan at all (unknown revision, no current revision).
pub fn build(i: PlanInputs<'_>) -> Result<RollbackPlan, String> {
    let h = i.history;
    let (to, from) = revisions(&i)?;
    let possible = pins(&i, to);
    let pinned = if i.exact_template {
        Vec::new()
    } else {
        possible.clone()
    };
    let steps = steps(&i, to, &pinned);
    let mut checks = vec![mode_check(i.mode, i.target)];
    checks.extend(revision_checks(&i, to, from));
    checks.extend(platform_checks(&i, to, &pinned));
    checks.push(mutable_tag_check(&i, to, &pinned, &possible));
    for (id, status, detail, overridable) in
        registry_check::checks(h, to, &pinned, i.target.kind.revision_word())
    {
        checks.push(Check {
            id,
            status,
            detail,
            overridable,
        });
    }
    checks.push(Check {
        id: CheckId::Schema,
        status: CheckStatus::Pending,
        detail: "migration diff loading…".into(),
        overridable: true,
    });
    let mut plan = RollbackPlan::of(&i, PlanKind::Rollback, from.clone(), to.clone(), steps, checks);
    plan.changes = h
        .facts
        .changes
        .iter()
        .find(|(id, _)| *id == to.id)
        .map(|(_, c)| c.clone());
    plan.exact_template = i.exact_template && !possible.is_empty();
    Ok(plan)
}

/// The revision asked for (an id, `lkg` or `previous`) and the current one.
fn revisions<'h>(i: &PlanInputs<'h>) -> Result<(&'h Revision, &'h Revision), String> {
    let h = i.history;
    let to = h.resolve(i.to).ok_or_else(|| match i.to {
        "lkg" => format!(
            "{} has no last known good: no earlier incident recorded a healthy {}; pick one, or roll back to previous",
            i.target.name,
            i.target.kind.revision_word()
        ),
        _ => format!(
            "unable to find specified {} {} in history of {}",
            i.target.kind.revision_word(),
            i.to,
            i.target.name
        ),
    })?;
    let from = h
        .current()
        .ok_or_else(|| format!("{} has no current revision", i.target.name))?;
    Ok((to, from))
}

/// The steps: auto-sync off first where it is on, the rollback (through
/// Compose's own inputs where reachable), then watch and verify.
fn steps(i: &PlanInputs<'_>, to: &Revision, pinned: &[ImagePin]) -> Vec<PlanStep> {
    let h = i.history;
    let mut steps = Vec::new();
    if h.facts.auto_sync {
        steps.push(PlanStep::DisableAutoSync);
    }
    match h.facts.compose_inputs.as_ref().filter(|_| !to.current) {
        Some(ci) => {
            let tag = to
                .images
                .first()
                .and_then(|i| i.tag.clone())
                .unwrap_or_else(|| to.id.to_string());
            steps.push(PlanStep::EditInput(InputEdit::PinVar {
                file: ci.env_file.clone(),
                var: ci.var.clone(),
                from: ci.current.clone(),
                to: tag.clone(),
            }));
            if let Some((live, pattern)) = &ci.manifest {
                steps.push(PlanStep::EditInput(InputEdit::SwapManifest {
                    live: live.clone(),
                    versioned: pattern.replace("{tag}", &tag),
                }));
            }
            steps.push(PlanStep::Rollback {
                to: to.id.clone(),
                via: Some(ci.up.clone()),
                pin: Vec::new(),
            });
        }
        None => steps.push(PlanStep::Rollback {
            to: to.id.clone(),
            via: None,
            pin: pinned.to_vec(),
        }),
    }
    steps.push(PlanStep::WaitForRollout {
        timeout_secs: i.rollout_timeout_secs,
    });
    steps.push(PlanStep::Verify);

    steps
}

/// Whether the revision may be rolled back to: not the current one, not
/// known bad (overridable), the last known good said as such; for an
/// image-only step, not the same image.
fn revision_checks(i: &PlanInputs<'_>, to: &Revision, from: &Revision) -> Vec<Check> {
    let h = i.history;
    let mut checks = Vec::new();
    let mut check = |id: CheckId, status: CheckStatus, detail: String, overridable: bool| {
        checks.push(Check {
            id,
            status,
            detail,
            overridable,
        })
    };
    if to.current {
        check(
            CheckId::Revision,
            CheckStatus::Block,
            format!(
                "skipped rollback (current template already matches {} {})",
                i.target.kind.revision_word(),
                to.id
            ),
            false,
        );
    } else if h.known_bad.contains(&to.id) {
        let why = h
            .facts
            .bad_why
            .iter()
            .find(|(id, _)| *id == to.id)
            .map(|(_, w)| w.clone())
            .unwrap_or_else(|| {
                "was itself recorded as bad in an earlier incident (a rollback replaced its image)"
                    .into()
            });
        check(
            CheckId::Revision,
            CheckStatus::Block,
            format!(
                "{} {} is known bad: {why}; type a reason to roll back to it anyway",
                i.target.kind.revision_word(),
                to.id
            ),
            true,
        );
    } else if h.last_known_good.as_deref() == Some(to.id.as_str()) {
        check(
            CheckId::Revision,
            CheckStatus::Pass,
            format!(
                "{} is the last known good {}",
                to.id,
                i.target.kind.revision_word()
            ),
            false,
        );
    } else {
        check(
            CheckId::Revision,
            CheckStatus::Pass,
            format!(
                "{} {} exists in history",
                i.target.kind.revision_word(),
                to.id
            ),
            false,
        );
    }
    // Where the step changes only the image (Compose, a Swarm image pin),
    // the same image means no change. A Kubernetes revision, an Argo CD
    // sync or Swarm's previous spec restore a whole spec (env, args…).
    let image_only = match i.target.kind {
        Kind::Compose => true,
        Kind::Swarm => to.id != "previous",
        Kind::Kubernetes | Kind::Argocd => false,
    };
    if image_only && !to.current && super::model::same_images(&to.images, &from.images) {
        check(
            CheckId::Revision,
            CheckStatus::Block,
            format!(
                "{} {} runs the same image as the current {} ({}): rolling back to it changes no image",
                i.target.kind.revision_word(),
                to.id,
                from.id,
                images_text(to)
            ),
            true,
        );
    }
    checks
}

/// What the platform says of the target: auto-sync, a revision it cannot
/// go back to, a tag-only reference, drifting inputs, paused, busy.
fn platform_checks(i: &PlanInputs<'_>, to: &Revision, pinned: &[ImagePin]) -> Vec<Check> {
    let h = i.history;
    let mut checks = Vec::new();
    let mut check = |id: CheckId, status: CheckStatus, detail: String, overridable: bool| {
        checks.push(Check {
            id,
            status,
            detail,
            overridable,
        })
    };
    if i.target.kind == Kind::Argocd {
        if h.facts.auto_sync {
            check(CheckId::AutoSync, CheckStatus::Warn, "auto-sync is on and would undo the rollback: step 1 disables it; re-enable only after the bad commit is reverted".into(), false);
        } else {
            check(
                CheckId::AutoSync,
                CheckStatus::Pass,
                "auto-sync is off".into(),
                false,
            );
        }
    }
    if let Some((_, why)) = h.facts.blocked.iter().find(|(id, _)| *id == to.id) {
        check(CheckId::Pair, CheckStatus::Block, why.clone(), false);
    }
    // A tag-only reference is a warning unless the plan pins what ran.
    let unpinned_left = to.images.iter().any(|im| {
        im.tag.is_some()
            && !pinned
                .iter()
                .any(|p| p.to.starts_with(&format!("{}@", im.repository)))
    });
    if let Some((_, why)) = h.facts.warnings.iter().find(|(id, _)| *id == to.id)
        && unpinned_left
    {
        check(CheckId::Digest, CheckStatus::Warn, why.clone(), false);
    }
    if let Some(why) = h.facts.inputs_drift.as_ref().filter(|_| !to.current) {
        check(CheckId::Inputs, CheckStatus::Warn, why.clone(), false);
    }
    if h.facts.paused {
        check(CheckId::Paused, CheckStatus::Block, "you cannot rollback a paused deployment; resume it first with 'kubectl rollout resume' and try again".into(), false);
    }
    if let Some(op) = &h.facts.busy {
        check(
            CheckId::Busy,
            CheckStatus::Block,
            format!("another operation is already in progress: {op}"),
            false,
        );
    }
    checks
}

/// Mutable tags of the target revision: PASS where every one is pinned
/// to the digest that ran, WARN otherwise (with how to pin).
fn mutable_tag_check(
    i: &PlanInputs<'_>,
    to: &Revision,
    pinned: &[ImagePin],
    possible: &[ImagePin],
) -> Check {
    let mutable: Vec<(bool, String)> = to
        .images
        .iter()
        .filter(|im| im.tag.as_deref().is_some_and(|t| i.mutable_tags.iter().any(|m| m == t)))
        .map(|im| {
            let tag = im.tag.clone().unwrap_or_default();
            let pin = pinned.iter().find(|p| p.from == format!("{}:{tag}", im.repository));
            if let Some(p) = pin {
                return (
                    true,
                    format!(
                        "{} uses mutable tag `{tag}`: pinned to {}, the digest revision {}'s pods ran (imageID), so the rollback deploys that build whatever `{tag}` resolves to now",
                        im.short(),
                        p.to,
                        to.id
                    ),
                );
            }
            let hint = if possible.is_empty() {
                ""
            } else {
                " (press t in the plan to pin the digest that ran instead)"
            };
            let text = match &im.digest {
                // The rollback restores the reference as recorded; only a
                // reference that carries the digest pins the build.
                Some(d) => format!(
                    "{} uses mutable tag `{tag}`: the rollback restores the reference as recorded; if `{tag}` moved since, another build than {} runs",
                    im.short(),
                    super::model::short_digest(d)
                ),
                None => format!(
                    "{} uses mutable tag `{tag}` and no digest is known: setting the tag back to {tag} does not restore a build",
                    im.short()
                ),
            };
            (false, format!("{text}{hint}"))
        })
        .collect();
    let all_pinned = mutable.iter().all(|(p, _)| *p);
    let mutable: Vec<String> = mutable.into_iter().map(|(_, t)| t).collect();
    let (status, detail) = if to.images.is_empty() {
        (
            CheckStatus::Warn,
            format!(
                "not checked: the images of {} {} are not known to rbtui",
                i.target.kind.revision_word(),
                to.id
            ),
        )
    } else if mutable.is_empty() {
        (
            CheckStatus::Pass,
            "target images use immutable tags or digests".into(),
        )
    } else if all_pinned {
        (CheckStatus::Pass, mutable.join("; "))
    } else {
        (CheckStatus::Warn, mutable.join("; "))
    };
    Check {
        id: CheckId::MutableTag,
        status,
        detail,
        overridable: false,
    }
}

/// Mutable tags of the target revision whose digest is known from what its
/// pods ran: the Pulumi/Swarm runbooks' rule is immutable references only,
/// so the pinned form is the default wherever it is possible. Kubernetes
/// only: the other platforms restore their own recorded references.
fn pins(i: &PlanInputs<'_>, to: &Revision) -> Vec<ImagePin> {
    if i.target.kind != Kind::Kubernetes {
        return Vec::new();
    }
    to.images
        .iter()
        .filter(|im| {
            im.tag
                .as_deref()
                .is_some_and(|t| i.mutable_tags.iter().any(|m| m == t))
        })
        .filter_map(|im| {
            let d = im.digest.as_ref()?;
            Some(ImagePin {
                from: format!(
                    "{}:{}",
                    im.repository,
                    im.tag.as_deref().unwrap_or_default()
                ),
                to: format!("{}@{d}", im.repository),
            })
        })
        .collect()
}

/// The follow-up plan that turns Argo CD auto-sync back on. It is blocked
/// until the operator types what reverted the bad commit: re-enabling
/// before the revert re-syncs the bad HEAD at once.
pub fn build_reenable(i: PlanInputs<'_>, bad_sha: Option<&str>) -> Result<RollbackPlan, String> {
    if i.target.kind != Kind::Argocd {
        return Err(format!(
            "{} is not an Argo CD application: there is no auto-sync to re-enable",
            i.target.name
        ));
    }
    let h = i.history;
    let cur = h
        .current()
        .ok_or_else(|| format!("{} has no current revision", i.target.name))?;
    let mut checks = vec![mode_check(i.mode, i.target)];
    if h.facts.auto_sync {
        checks.push(Check {
            id: CheckId::AutoSync,
            status: CheckStatus::Block,
            detail: "auto-sync is already on".into(),
            overridable: false,
        });
    }
    if let Some(op) = &h.facts.busy {
        checks.push(Check {
            id: CheckId::Busy,
            status: CheckStatus::Block,
            detail: format!("another operation is already in progress: {op}"),
            overridable: false,
        });
    }
    let short = |s: &str| s[..s.len().min(7)].to_string();
    let bad = bad_sha
        .map(short)
        .unwrap_or_else(|| "the bad commit".into());
    let same =
        |a: &str, b: &str| !a.is_empty() && !b.is_empty() && (a.starts_with(b) || b.starts_with(a));
    let head = h.facts.head_revision.as_deref();
    match (bad_sha, head) {
        (Some(b), Some(hd)) if same(b, hd) => checks.push(Check {
            id: CheckId::Revert,
            status: CheckStatus::Block,
            detail: format!(
                "the app's source still points at {bad}{}, the commit rolled back from: re-enabling auto-sync would deploy it again at once; revert it in git (rbtui asks Argo CD to refresh at most once a minute), then plan again",
                h.facts
                    .head_meta
                    .as_deref()
                    .map(|m| format!(" ({m})"))
                    .unwrap_or_default()
            ),
            overridable: false,
        }),
        (Some(_), Some(hd)) => checks.push(Check {
            id: CheckId::Revert,
            status: CheckStatus::Pass,
            detail: format!(
                "the app's source now points at {} (no longer {bad}){}; re-enabling deploys {}",
                short(hd),
                h.facts
                    .head_meta
                    .as_deref()
                    .map(|m| format!(", {m}"))
                    .unwrap_or_default(),
                short(hd)
            ),
            overridable: false,
        }),
        _ => checks.push(Check {
            id: CheckId::Revert,
            status: CheckStatus::Block,
            detail: format!("auto-sync re-syncs HEAD at once: {bad} must be reverted in git first; what HEAD is now is not known here, so type the revert PR or commit as the reason"),
            overridable: true,
        }),
    }
    Ok(RollbackPlan::of(
        &i,
        PlanKind::Reenable,
        cur.clone(),
        cur.clone(),
        vec![PlanStep::EnableAutoSync],
        checks,
    ))
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
            changes: None,
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
        self.checks.sort_by(|a, b| b.status.cmp(&a.status));
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
        if let Some(c) = &self.changes {
            v.push(format!("Changes: {c}"));
        }
        for (n, s) in self.steps.iter().enumerate() {
            v.push(format!("{}. {}", n + 1, s.describe(t, &self.from)));
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
        assert!(check(&p, CheckId::Revision).detail.contains("runs the same image"));
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
        assert!(plan(Kind::Kubernetes, &h, "9").unwrap_err().contains("unable to find"));
        assert!(plan(Kind::Kubernetes, &h, "lkg").unwrap_err().contains("no last known good"));
    }
}
