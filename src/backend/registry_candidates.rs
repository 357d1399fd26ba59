//! Swarm keeps one previous spec and Compose none: a repository's newest
//! release tags are offered as History too, each pinned to the digest the
//! registry gives it now and said to be a registry tag never seen running
//! here. Mutable tags (`latest`, `main`) are never offered: they identify no
//! build. The newest are the highest by version order, then by the image's
//! own creation time where its config says it. Pure: the registry layer
//! (`registry.rs`) asks.

use crate::core::model::{ImageRef, Revision};

/// Tags whose configs are read to order them: each is a manifest GET,
/// which registries like Docker Hub count against their pull limits.
pub const READ: usize = 8;
/// Candidates offered.
pub const OFFERED: usize = 5;

/// Orders "v1.10.0" after "v1.9.2": digit runs compare as numbers.
fn version_key(tag: &str) -> Vec<(u8, u64, String)> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut digits = false;
    let flush = |cur: &mut String, digits: bool, out: &mut Vec<(u8, u64, String)>| {
        if cur.is_empty() {
            return;
        }
        if digits {
            out.push((1, cur.parse().unwrap_or(u64::MAX), String::new()));
        } else {
            out.push((0, 0, cur.clone()));
        }
        cur.clear();
    };
    for c in tag.chars() {
        if c.is_ascii_digit() != digits {
            flush(&mut cur, digits, &mut out);
            digits = c.is_ascii_digit();
        }
        cur.push(c);
    }
    flush(&mut cur, digits, &mut out);
    out
}

/// The tags worth reading: not already in History, not mutable, highest
/// version first, at most [`READ`].
pub fn worth_reading(tags: &[String], known: &[String], mutable: &[String]) -> Vec<String> {
    let mut v: Vec<&String> = tags
        .iter()
        .filter(|t| !known.contains(t) && !mutable.contains(t))
        .collect();
    v.sort_by_key(|t| std::cmp::Reverse(version_key(t)));
    v.into_iter().take(READ).cloned().collect()
}

/// The candidates as revisions, newest first; `read` gives each tag's
/// digest and creation time (None: the registry did not say).
pub fn revisions(
    repository: &str,
    mut read: Vec<(String, String, Option<chrono::DateTime<chrono::Utc>>)>,
) -> Vec<Revision> {
    // Newest built first; those without a time keep their version order.
    read.sort_by_key(|(_, _, at)| std::cmp::Reverse(*at));
    read.into_iter()
        .take(OFFERED)
        .enumerate()
        .map(|(i, (tag, digest, created))| Revision {
            id: format!("reg-{}", i + 1).into(),
            deployed_at: None,
            images: vec![ImageRef {
                repository: repository.to_string(),
                tag: Some(tag.clone()),
                digest: Some(digest.clone()),
            }],
            git_sha: None,
            message: format!(
                "tag {tag} in the registry{}, pinned to {}; never seen running here",
                created
                    .map(|c| format!(" (image built {})", c.format("%Y-%m-%d %H:%M UTC")))
                    .unwrap_or_default(),
                crate::core::model::short_digest(&digest)
            ),
            author: Some("registry".into()),
            current: false,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn release_tags_come_highest_version_first_without_known_or_mutable_ones() {
        let tags: Vec<String> = [
            "v1.9.2",
            "v1.10.0",
            "latest",
            "v1.2.0",
            "v1.10.1-rc1",
            "main",
            "v0.9",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let known = vec!["v1.10.0".to_string()];
        let mutable = vec!["latest".to_string(), "main".to_string()];
        assert_eq!(
            worth_reading(&tags, &known, &mutable),
            ["v1.10.1-rc1", "v1.9.2", "v1.2.0", "v0.9"]
        );
    }

    #[test]
    fn candidates_are_the_newest_built_pinned_and_say_where_they_come_from() {
        let at = |d: u32| {
            chrono::TimeZone::with_ymd_and_hms(&chrono::Utc, 2026, 11, d, 0, 0, 0).single()
        };
        let r = revisions(
            "localhost:5000/web",
            vec![
                ("v1.2.0".into(), "sha256:aaaa".into(), at(1)),
                ("v1.3.0".into(), "sha256:bbbb".into(), at(20)),
                ("v1.1.0".into(), "sha256:cccc".into(), None),
            ],
        );
        let tags: Vec<&str> = r
            .iter()
            .map(|r| r.images[0].tag.as_deref().unwrap())
            .collect();
        assert_eq!(tags, ["v1.3.0", "v1.2.0", "v1.1.0"]);
        assert_eq!(r[0].id.as_str(), "reg-1");
        assert_eq!(r[0].images[0].digest.as_deref(), Some("sha256:bbbb"));
        assert!(r[0].message.contains("never seen running here") && r[0].deployed_at.is_none());
    }
}
