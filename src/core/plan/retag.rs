//! Re-tag as an explicit plan: the ECR runbook's option B. The mutable tag
//! the Deployment runs (`:latest`) is pointed at the manifest of a good
//! build (the `:{commit}` image a revision ran), then the Deployment is
//! restarted so its pods pull it. Faster than a revert through CI, and it
//! leaves no git trace: the plan says so loudly, and the revert PR becomes
//! a follow-up due within the hour. Only for targets whose config sets
//! `retag = true`, and only where rbtui knows both digests.

use super::{Check, CheckId, CheckStatus, PlanInputs, PlanStep, RollbackPlan, mode_check};
use crate::core::model::{ImageRef, Kind};

/// The mutable tag the target runs now, and the digest the registry gives
/// it: both must be known before anything is re-tagged.
fn current_tag(i: &PlanInputs<'_>) -> Result<(ImageRef, String), String> {
    let h = i.history;
    let cur = h
        .current()
        .ok_or_else(|| format!("{} has no current revision", i.target.name))?;
    let img = cur
        .images
        .iter()
        .find(|im| im.tag.as_ref().is_some_and(|t| i.mutable_tags.contains(t)))
        .ok_or_else(|| {
            format!(
                "re-tag needs {} to run a mutable tag ({}); it runs {}",
                i.target.name,
                i.mutable_tags.join(", "),
                super::images_text(cur)
            )
        })?;
    let name = format!("{}:{}", img.repository, img.tag.clone().unwrap_or_default());
    let now = h
        .facts
        .registry
        .iter()
        .find(|f| f.revision == cur.id && f.image == name)
        .and_then(|f| f.now.clone().ok().flatten())
        .ok_or_else(|| {
            format!("re-tag needs the registry's answer for {name} (what it resolves to now); it has none")
        })?;
    Ok((img.clone(), now))
}

pub fn build_retag(i: PlanInputs<'_>) -> Result<RollbackPlan, String> {
    if i.target.kind != Kind::Kubernetes {
        return Err(format!(
            "re-tag is the ECR runbook's option for Kubernetes Deployments; {} is {}: roll it back instead",
            i.target.name,
            i.target.kind.label()
        ));
    }
    let h = i.history;
    let from = h
        .current()
        .ok_or_else(|| format!("{} has no current revision", i.target.name))?;
    let to = h.resolve(i.to).ok_or_else(|| {
        format!(
            "unable to find specified revision {} in history of {}",
            i.to, i.target.name
        )
    })?;
    let (img, now) = current_tag(&i)?;
    let good_digest = good_digest(&i, to, &img)?;
    let tag_ref = format!("{}:{}", img.repository, img.tag.clone().unwrap_or_default());
    let checks = retag_checks(&i, to, &tag_ref, &now, &good_digest);
    let mut target_rev = to.clone();
    target_rev.images = vec![ImageRef {
        repository: img.repository.clone(),
        tag: img.tag.clone(),
        digest: Some(good_digest.clone()),
    }];
    let steps = vec![
        PlanStep::Retag {
            image: tag_ref,
            from: now,
            to: good_digest,
        },
        PlanStep::Restart,
        PlanStep::WaitForRollout {
            timeout_secs: i.rollout_timeout_secs,
        },
        PlanStep::Verify,
    ];
    Ok(RollbackPlan::of(
        &i,
        super::PlanKind::Retag,
        from.clone(),
        target_rev,
        steps,
        checks,
    ))
}

/// The digest the good revision's pods ran, else what the registry gives
/// its (immutable) tag now: the re-tag copies exactly that manifest.
fn good_digest(
    i: &PlanInputs<'_>,
    to: &crate::core::model::Revision,
    img: &ImageRef,
) -> Result<String, String> {
    let h = i.history;
    to
        .images
        .iter()
        .filter(|im| im.repository == img.repository)
        .find_map(|im| {
            im.digest.clone().or_else(|| {
                let name = format!("{}:{}", im.repository, im.tag.clone()?);
                h.facts
                    .registry
                    .iter()
                    .find(|f| f.revision == to.id && f.image == name)
                    .and_then(|f| f.now.clone().ok().flatten())
            })
        })
        .ok_or_else(|| {
            format!(
                "revision {} names no build of {} with a known digest (no pod of it seen, no registry answer): re-tag needs the exact build",
                to.id, img.repository
            )
        })
}

/// The mode, whether the revision can be re-tagged to, and the loud
/// NO GIT TRACE warning every re-tag carries.
fn retag_checks(
    i: &PlanInputs<'_>,
    to: &crate::core::model::Revision,
    tag_ref: &str,
    now: &str,
    good_digest: &str,
) -> Vec<Check> {
    let h = i.history;
    let mut checks = vec![mode_check(i.mode, i.target)];
    if to.current {
        checks.push(Check {
            id: CheckId::Revision,
            status: CheckStatus::Block,
            detail: format!("{} is the current revision", to.id),
            overridable: false,
        });
    } else if now == good_digest {
        checks.push(Check {
            id: CheckId::Revision,
            status: CheckStatus::Block,
            detail: format!(
                "{tag_ref} already resolves to {}",
                crate::core::model::short_digest(now)
            ),
            overridable: false,
        });
    } else if h.known_bad.contains(&to.id) {
        checks.push(Check {
            id: CheckId::Revision,
            status: CheckStatus::Block,
            detail: format!("revision {} is known bad", to.id),
            overridable: true,
        });
    }
    checks.push(Check {
        id: CheckId::Retag,
        status: CheckStatus::Warn,
        detail: format!(
            "NO GIT TRACE: {tag_ref} will name revision {}'s build ({}) instead of {}; git and CI still say the bad commit, and its next push re-tags it back. Open the revert PR within the hour",
            to.id,
            crate::core::model::short_digest(good_digest),
            crate::core::model::short_digest(now)
        ),
        overridable: false,
    });
    checks
}
