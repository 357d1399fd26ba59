//! Building a plan from what the console knows: the revisions, the steps,
//! and the checks the inputs can answer at once (the rest are asked).

use super::*;

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

impl<'a> PlanInputs<'a> {
    /// Plan #1, live, nothing known of health or mutable tags, kubectl's
    /// 5-minute rollout timeout, the pinned (not exact) template: the
    /// start tests and tools change what matters to them from
    /// (`PlanInputs { mode: Mode::Rehearsal, ..PlanInputs::new(…) }`).
    pub fn new(
        target: &'a TargetInfo,
        history: &'a History,
        to: &'a str,
        now: DateTime<Utc>,
    ) -> Self {
        PlanInputs {
            id: PlanId(1),
            target,
            mode: Mode::Live,
            history,
            to,
            now,
            before: None,
            mutable_tags: &[],
            rollout_timeout_secs: 300,
            exact_template: false,
        }
    }
}

/// Read-only refuses everything; rehearsal refuses prod. Never overridable.
pub(super) fn mode_check(mode: Mode, t: &TargetInfo) -> Check {
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
    for (id, status, detail, overridable) in registry_check::checks(
        h,
        to,
        &pinned,
        i.target.kind.revision_word(),
        i.mutable_tags,
    ) {
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
    let mut plan = RollbackPlan::of(
        &i,
        PlanKind::Rollback,
        from.clone(),
        to.clone(),
        steps,
        checks,
    );
    plan.besides_image = h
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
    let mut check =
        |id, status, detail, overridable| checks.push(Check::new(id, status, detail, overridable));
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
    if image_only && !to.current && crate::core::model::same_images(&to.images, &from.images) {
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
    let mut check =
        |id, status, detail, overridable| checks.push(Check::new(id, status, detail, overridable));
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
                    crate::core::model::short_digest(d)
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

/// A multi-source app's re-enable gate: every source the rollback moved
/// must point past its bad commit. One still on it blocks with no
/// override (auto-sync would deploy it at once); one whose HEAD is not
/// known blocks until a typed reason names the revert.
fn sources_reverted(changed: &[crate::core::model::SourceChange]) -> Check {
    let short = |s: &str| s[..s.len().min(7)].to_string();
    let still: Vec<String> = changed
        .iter()
        .filter(|c| c.still_bad())
        .map(|c| format!("{} still points at {}", c.label, short(&c.bad)))
        .collect();
    if !still.is_empty() {
        return Check::new(
            CheckId::Revert,
            CheckStatus::Block,
            format!(
                "{}, the commit rolled back from: re-enabling auto-sync would deploy it again at once; revert it in git (rbtui asks Argo CD to refresh at most once a minute), then plan again",
                still.join("; ")
            ),
            false,
        );
    }
    let unknown: Vec<&str> = changed
        .iter()
        .filter(|c| c.head.is_none())
        .map(|c| c.label.as_str())
        .collect();
    if !unknown.is_empty() {
        return Check::new(
            CheckId::Revert,
            CheckStatus::Block,
            format!(
                "what {} points at now is not known here: type the revert PR or commit as the reason",
                unknown.join(", ")
            ),
            true,
        );
    }
    let now: Vec<String> = changed
        .iter()
        .map(|c| {
            let head = c.head.as_deref().map(short).unwrap_or_default();
            format!(
                "{} now points at {head} (no longer {})",
                c.label,
                short(&c.bad)
            )
        })
        .collect();
    Check::new(
        CheckId::Revert,
        CheckStatus::Pass,
        format!(
            "every source the rollback moved is past its bad commit: {}; re-enabling deploys them",
            now.join("; ")
        ),
        false,
    )
}

/// The follow-up plan that turns Argo CD auto-sync back on. It is blocked
/// until the operator types what reverted the bad commit: re-enabling
/// before the revert re-syncs the bad HEAD at once.
pub fn build_reenable(
    i: PlanInputs<'_>,
    rolled_back: Option<(&Revision, &Revision)>,
) -> Result<RollbackPlan, String> {
    let bad_sha = rolled_back.and_then(|(from, _)| from.git_sha.as_deref());
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
    let changed = rolled_back
        .map(|(from, to)| h.source_changes(&from.id, &to.id))
        .unwrap_or_default();
    if !changed.is_empty() {
        checks.push(sources_reverted(&changed));
        return Ok(RollbackPlan::of(
            &i,
            PlanKind::Reenable,
            cur.clone(),
            cur.clone(),
            vec![PlanStep::EnableAutoSync],
            checks,
        ));
    }
    let short = |s: &str| s[..s.len().min(7)].to_string();
    let bad = bad_sha
        .map(short)
        .unwrap_or_else(|| "the bad commit".into());
    let same = crate::core::model::same_commit;
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
