//! The registry's word on the target revision, as plan checks: a tag that
//! is gone blocks (there is nothing to pull), a tag that now resolves to
//! another digest than the one that ran is named with both digests, and a
//! repository that retains fewer than three releases is said (the compose
//! runbook's rule). Every PASS names the digest and when the registry said
//! it. Pure: the answers were asked by the backend layer.

use super::{CheckId, CheckStatus, ImagePin};
use crate::core::model::{History, Revision, short_digest};

/// The compose runbook: "at least three retained releases".
const RETAINED_AT_LEAST: usize = 3;

pub fn checks(
    h: &History,
    to: &Revision,
    pinned: &[ImagePin],
    word: &str,
    mutable: &[String],
) -> Vec<(CheckId, CheckStatus, String, bool)> {
    let mut out = Vec::new();
    let facts: Vec<_> = h
        .facts
        .registry
        .iter()
        .filter(|f| f.revision == to.id)
        .collect();
    if !facts.is_empty() {
        let judged: Vec<(CheckStatus, String)> =
            facts.iter().map(|f| judge(f, to, pinned, word)).collect();
        let worst = judged
            .iter()
            .map(|(s, _)| *s)
            .max()
            .unwrap_or(CheckStatus::Pass);
        let words: Vec<String> = judged.into_iter().map(|(_, t)| t).collect();
        out.push((CheckId::Registry, worst, words.join("; "), true));
    }
    if let Some((repo, tags)) = &h.facts.retained {
        let (status, text) = retained(repo, tags, mutable);
        out.push((CheckId::Retained, status, text, false));
    }
    out
}

/// One image of the revision against what the registry says of its tag.
fn judge(
    f: &crate::core::model::RegistryFact,
    to: &Revision,
    pinned: &[ImagePin],
    word: &str,
) -> (CheckStatus, String) {
    let at = f.asked_at.format("%H:%M:%SZ");
    let pin = pinned.iter().find(|p| p.from == f.image);
    match (&f.now, &f.ran) {
        (Err(e), _) => (CheckStatus::Warn, format!("{}: not checked: {e}", f.image)),
        (Ok(None), _) if pin.is_some() => (
            CheckStatus::Warn,
            format!(
                "{}: the tag is gone from the registry (asked {at}); the plan pulls the pinned digest, which may be gone too",
                f.image
            ),
        ),
        (Ok(None), _) => (
            CheckStatus::Block,
            format!(
                "{}: no such tag in the registry (asked {at}): there is nothing to roll back to",
                f.image
            ),
        ),
        (Ok(Some(now)), Some(ran)) if now == ran => (
            CheckStatus::Pass,
            format!(
                "{} still resolves to {}, the digest {word} {} ran (registry, {at})",
                f.image,
                short_digest(now),
                to.id
            ),
        ),
        (Ok(Some(now)), Some(ran)) if pin.is_some() => (
            CheckStatus::Pass,
            format!(
                "{} moved: it resolves to {} now, {word} {} ran {}; the plan pins {} (registry, {at})",
                f.image,
                short_digest(now),
                to.id,
                short_digest(ran),
                short_digest(ran)
            ),
        ),
        (Ok(Some(now)), Some(ran)) => (
            CheckStatus::Warn,
            format!(
                "{} moved: it resolves to {} now, but {word} {} ran {}: restoring the tag deploys another build (registry, {at})",
                f.image,
                short_digest(now),
                to.id,
                short_digest(ran)
            ),
        ),
        (Ok(Some(now)), None)
            if to
                .images
                .iter()
                .any(|i| i.digest.as_deref() == Some(now.as_str())) =>
        {
            (
                CheckStatus::Warn,
                format!(
                    "{} resolves to {} (registry, {at}) and the plan deploys exactly that digest; it never ran here, so nothing proves it good",
                    f.image,
                    short_digest(now)
                ),
            )
        }
        (Ok(Some(now)), None) => (
            CheckStatus::Warn,
            format!(
                "{} exists and resolves to {} (registry, {at}); which digest {word} {} ran is not known, so a move cannot be ruled out",
                f.image,
                short_digest(now),
                to.id
            ),
        ),
    }
}

/// How many release tags the repository keeps to fall back on.
/// Only release tags count: a mutable tag (`latest`, `main`) is no
/// release to fall back on, whatever it points at today.
fn retained(
    repo: &str,
    tags: &Result<Vec<String>, String>,
    mutable: &[String],
) -> (CheckStatus, String) {
    let not_counted: Vec<&str> = tags
        .iter()
        .flatten()
        .filter(|t| mutable.contains(t))
        .map(String::as_str)
        .collect();
    let aside = if not_counted.is_empty() {
        String::new()
    } else {
        format!("; mutable tag(s) {} not counted", not_counted.join(", "))
    };
    let tags = tags.as_ref().map(|t| {
        t.iter()
            .filter(|t| !mutable.contains(t))
            .cloned()
            .collect::<Vec<_>>()
    });
    match &tags {
        Err(e) => (
            CheckStatus::Warn,
            format!("releases retained in {repo}: not checked: {e}"),
        ),
        Ok(t) if t.len() < RETAINED_AT_LEAST => (
            CheckStatus::Warn,
            format!(
                "{repo} retains {} release tag(s) ({}){aside}: the runbook wants at least {RETAINED_AT_LEAST} releases to fall back on",
                t.len(),
                t.join(", ")
            ),
        ),
        Ok(t) => (
            CheckStatus::Pass,
            format!(
                "{repo} retains {} release tags (at least {RETAINED_AT_LEAST}){aside}",
                t.len()
            ),
        ),
    }
}
