//! Migrations between two revisions, read from a local git checkout with the
//! `git` CLI (run off the UI thread through `tokio::process`). This is the
//! runbook's `git diff LAST_GOOD..CURRENT -- '**/migrations/*.sql'`, made
//! into a verdict.

use crate::core::migration::{
    ClassifiedStatement, FileChange, MigrationDiff, MigrationFile, MigrationVerdict, SqlVerdict,
};
use crate::core::model::{ImageRef, Revision};
use std::path::PathBuf;
use tokio::process::Command;

/// Why reading the migration history failed. The texts are git's own
/// where it gave one: they are what the operator reads on the pane.
#[derive(Debug, thiserror::Error)]
pub enum GitError {
    /// `git` could not be started at all (not installed, not on PATH).
    #[error("cannot run git: {0}")]
    Spawn(std::io::Error),
    /// git ran and said no; its stderr.
    #[error("{0}")]
    Exit(String),
    /// A commit a revision names is not in the local clone.
    #[error("commit {sha} is not in {repo}{hint}")]
    MissingCommit {
        sha: String,
        repo: String,
        hint: &'static str,
    },
    /// The scratch index a revert check works in could not be made.
    #[error("scratch index: {0}")]
    Scratch(std::io::Error),
}

/// Path globs that find migrations by default: Flyway, golang-migrate,
/// dbmate, Rails-style and plain numbered files.
pub const DEFAULT_GLOBS: &[&str] = &[
    "**/migrations/**/*.sql",
    "**/migrate/**/*.sql",
    "db/**/*.sql",
    "**/V*__*.sql",
    "**/*.up.sql",
    "**/*.down.sql",
];

/// Tags that say they carry a commit (`git-3f9a2c1`, `v1.2.3-8b41d07`).
pub const NAMED_TAG_PATTERNS: &[&str] = &["git-{sha}", "v*-{sha}"];
/// Also a bare hex tag: only with a repo to check the commit exists in.
pub const BARE_TAG_PATTERN: &str = "{sha}";

/// The commit the first matching image tag names.
pub fn sha_from_images(patterns: &[&str], images: &[ImageRef]) -> Option<String> {
    images
        .iter()
        .filter_map(|i| i.tag.as_deref())
        .find_map(|tag| patterns.iter().find_map(|p| sha_from_tag(p, tag)))
}

/// Where a target's migrations live and how its revisions map to commits.
#[derive(Debug, Clone)]
pub struct GitMigrations {
    pub repo: PathBuf,
    pub globs: Vec<String>,
    /// Patterns over an image tag that hold the commit, e.g. `git-{sha}`,
    /// `{sha}`, `v*-{sha}`; used when a revision has no git SHA of its own.
    pub tag_patterns: Vec<String>,
}

impl GitMigrations {
    pub fn new(
        repo: PathBuf,
        globs: Option<Vec<String>>,
        tag_patterns: Option<Vec<String>>,
    ) -> GitMigrations {
        GitMigrations {
            repo,
            globs: globs.unwrap_or_else(|| DEFAULT_GLOBS.iter().map(|s| s.to_string()).collect()),
            tag_patterns: tag_patterns.unwrap_or_else(|| {
                NAMED_TAG_PATTERNS
                    .iter()
                    .chain([&BARE_TAG_PATTERN])
                    .map(|p| p.to_string())
                    .collect()
            }),
        }
    }

    /// The commit a revision was built from: its own SHA, else from its image tag.
    pub fn sha_of(&self, r: &Revision) -> Option<String> {
        if let Some(s) = &r.git_sha {
            return Some(s.clone());
        }
        let patterns: Vec<&str> = self.tag_patterns.iter().map(String::as_str).collect();
        sha_from_images(&patterns, &r.images)
    }

    async fn git(&self, args: &[&str]) -> Result<Vec<u8>, GitError> {
        let out = Command::new("git")
            .arg("-C")
            .arg(&self.repo)
            .args(args)
            .env("GIT_TERMINAL_PROMPT", "0")
            .output()
            .await
            .map_err(GitError::Spawn)?;
        if out.status.success() {
            Ok(out.stdout)
        } else {
            Err(GitError::Exit(
                String::from_utf8_lossy(&out.stderr).trim().to_string(),
            ))
        }
    }

    async fn resolve(&self, sha: &str) -> Result<String, GitError> {
        match self
            .git(&[
                "rev-parse",
                "--verify",
                "--quiet",
                &format!("{sha}^{{commit}}"),
            ])
            .await
        {
            Ok(out) => Ok(String::from_utf8_lossy(&out).trim().to_string()),
            Err(_) => {
                let shallow = self
                    .git(&["rev-parse", "--is-shallow-repository"])
                    .await
                    .map(|o| o.starts_with(b"true"))
                    .unwrap_or(false);
                let hint = if shallow {
                    "; the clone is shallow: run `git fetch --unshallow`"
                } else {
                    "; run `git fetch` in it"
                };
                Err(GitError::MissingCommit {
                    sha: sha.to_string(),
                    repo: self.repo.display().to_string(),
                    hint,
                })
            }
        }
    }

    /// What the migrations present at commit `at` create: their paths
    /// from a diff against the empty tree (it takes the globs as pathspec
    /// magic, `ls-tree` does not), their texts from one `cat-file --batch`.
    async fn at_target(&self, at: &str) -> Result<crate::core::migration::Created, GitError> {
        const EMPTY_TREE: &str = "4b825dc642cb6eb9a060e54bf8d69288fbee4904";
        let mut args: Vec<String> = [
            "diff",
            "--name-only",
            "-z",
            "--no-renames",
            EMPTY_TREE,
            at,
            "--",
        ]
        .map(String::from)
        .to_vec();
        args.extend(self.globs.iter().map(|g| format!(":(glob){g}")));
        let argv: Vec<&str> = args.iter().map(String::as_str).collect();
        let listing = self.git(&argv).await?;
        let paths: Vec<String> = listing
            .split(|b| *b == 0)
            .filter(|p| !p.is_empty())
            .map(|p| String::from_utf8_lossy(p).into_owned())
            .collect();
        let input: String = paths.iter().map(|p| format!("{at}:{p}\n")).collect();
        let mut child = Command::new("git")
            .arg("-C")
            .arg(&self.repo)
            .args(["cat-file", "--batch"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .map_err(GitError::Spawn)?;
        let mut stdin = child
            .stdin
            .take()
            .ok_or_else(|| GitError::Exit("git cat-file has no stdin".into()))?;
        let write = async move {
            use tokio::io::AsyncWriteExt;
            let _ = stdin.write_all(input.as_bytes()).await;
        };
        let (_, out) = tokio::join!(write, child.wait_with_output());
        let out = out.map_err(GitError::Spawn)?;
        if !out.status.success() {
            return Err(GitError::Exit(
                String::from_utf8_lossy(&out.stderr).trim().to_string(),
            ));
        }
        let texts = batch_blobs(&out.stdout);
        Ok(crate::core::migration::at_target(
            paths
                .iter()
                .map(String::as_str)
                .zip(texts.iter().map(String::as_str)),
        ))
    }

    /// The newest commit on the checked-out branch that says it reverts
    /// `bad` (`git revert` writes "This reverts commit <sha>."): its SHA
    /// and subject. Only the local checkout is read (no fetch).
    pub async fn find_revert(&self, bad: &str) -> Result<Option<(String, String)>, GitError> {
        let short = &bad[..bad.len().min(7)];
        let out = self
            .git(&[
                "log",
                "-n",
                "1",
                "-i",
                "--all-match",
                "--grep=revert",
                &format!("--grep={short}"),
                "--format=%H%x00%s",
                "HEAD",
            ])
            .await?;
        let line = String::from_utf8_lossy(&out).trim().to_string();
        if let Some((sha, subject)) = line.split_once('\0') {
            return Ok(Some((sha.to_string(), subject.to_string())));
        }
        self.reverted_in_tree(bad).await
    }

    /// A revert that does not say so (a squash, a hand-made undo): HEAD's
    /// tree no longer holds the bad commit's change when its patch cannot
    /// be taken back out of HEAD but can be put in again. Checked in a
    /// scratch index, so the working tree and the real index are untouched.
    async fn reverted_in_tree(&self, bad: &str) -> Result<Option<(String, String)>, GitError> {
        let Ok(patch) = self
            .git(&["diff", "--binary", &format!("{bad}^"), bad])
            .await
        else {
            return Ok(None);
        };
        if patch.is_empty() {
            return Ok(None);
        }
        let index = tempfile::NamedTempFile::new().map_err(GitError::Scratch)?;
        let idx = index.path().to_path_buf();
        let run = |args: &'static [&'static str], input: Option<Vec<u8>>| {
            let idx = idx.clone();
            let repo = self.repo.clone();
            async move {
                use tokio::io::AsyncWriteExt;
                let mut c = Command::new("git")
                    .arg("-C")
                    .arg(&repo)
                    .args(args)
                    .env("GIT_INDEX_FILE", &idx)
                    .env("GIT_TERMINAL_PROMPT", "0")
                    .stdin(std::process::Stdio::piped())
                    .stdout(std::process::Stdio::null())
                    .stderr(std::process::Stdio::null())
                    .spawn()
                    .map_err(GitError::Spawn)?;
                if let (Some(mut i), Some(data)) = (c.stdin.take(), input) {
                    let _ = i.write_all(&data).await;
                }
                c.wait().await.map(|s| s.success()).map_err(GitError::Spawn)
            }
        };
        if !run(&["read-tree", "HEAD"], None).await? {
            return Ok(None);
        }
        let still_there = run(
            &["apply", "--cached", "--check", "-R", "-"],
            Some(patch.clone()),
        )
        .await?;
        let absent =
            !still_there && run(&["apply", "--cached", "--check", "-"], Some(patch)).await?;
        if !absent {
            return Ok(None);
        }
        let head = self.git(&["rev-parse", "HEAD"]).await?;
        let head = String::from_utf8_lossy(&head).trim().to_string();
        Ok(Some((
            head,
            format!(
                "HEAD's tree no longer contains the change of {}",
                &bad[..bad.len().min(7)]
            ),
        )))
    }

    /// The migration files the range changed (`git diff --name-status -z
    /// -M`, renames found), under the configured globs.
    async fn changed(&self, to_c: &str, from_c: &str) -> Result<Vec<u8>, GitError> {
        let range = format!("{to_c}..{from_c}");
        let mut args: Vec<String> = vec![
            "diff".into(),
            "--name-status".into(),
            "-z".into(),
            "-M".into(),
            "--no-color".into(),
            range,
            "--".into(),
        ];
        args.extend(self.globs.iter().map(|g| format!(":(glob){g}")));
        let argv: Vec<&str> = args.iter().map(String::as_str).collect();
        self.git(&argv).await
    }

    /// Migrations added or changed from `to` (the rollback target) up to
    /// `from` (what runs now), classified.
    pub async fn diff(&self, target: &str, from: &Revision, to: &Revision) -> MigrationDiff {
        let err = |e: GitError| MigrationDiff {
            target: target.into(),
            from_rev: from.id.clone(),
            to_rev: to.id.clone(),
            files: vec![],
            verdict: MigrationVerdict::Error(e.to_string()),
        };
        let (Some(from_sha), Some(to_sha)) = (self.sha_of(from), self.sha_of(to)) else {
            return MigrationDiff {
                target: target.into(),
                from_rev: from.id.clone(),
                to_rev: to.id.clone(),
                files: vec![],
                verdict: MigrationVerdict::NotChecked(
                    "no git SHA known for one of the revisions".into(),
                ),
            };
        };
        let (from_c, to_c) = match (self.resolve(&from_sha).await, self.resolve(&to_sha).await) {
            (Ok(a), Ok(b)) => (a, b),
            (Err(e), _) | (_, Err(e)) => return err(e),
        };
        let listing = match self.changed(&to_c, &from_c).await {
            Ok(o) => o,
            Err(e) => return err(e),
        };
        let mut raw = Vec::new();
        let mut extra: Vec<MigrationFile> = Vec::new();
        for (status, path, old) in parse_name_status(&listing) {
            let change = match (status.chars().next(), old) {
                (Some('A'), _) => FileChange::Added,
                (Some('R'), Some(from)) => FileChange::Renamed {
                    from,
                    // R100: the same bytes under a new name.
                    same_content: status == "R100",
                },
                (Some('D'), _) => {
                    extra.push(review_file(&path, "deleted", "", "a migration file was deleted in the range; the schema may not match either binary"));
                    continue;
                }
                // M, T (type change), C (copy): not a plain new migration.
                _ => FileChange::Modified,
            };
            let bytes = match self.git(&["show", &format!("{from_c}:{path}")]).await {
                Ok(b) => b,
                Err(e) => return err(e),
            };
            if bytes.contains(&0) {
                extra.push(review_file(
                    &path,
                    &change.label(),
                    "(binary file)",
                    "binary file: cannot be read as SQL",
                ));
                continue;
            }
            if bytes.len() as u64 > MIGRATION_CAP {
                let reason = format!(
                    "{} bytes is too large for a migration rbtui reads (at most {MIGRATION_CAP}); read it by hand",
                    bytes.len()
                );
                extra.push(review_file(&path, &change.label(), "(not read)", &reason));
                continue;
            }
            match String::from_utf8(bytes) {
                Ok(text) => raw.push((path, change, text)),
                Err(e) => extra.push(not_utf8(target, path, change, e)),
            }
        }
        // What the target's own migrations create, by content: a
        // migration renumbered and rewritten in the range (deleted +
        // added to git) creates nothing new. Unread, the range is judged
        // as before, without that knowledge.
        let at_target = self.at_target(&to_c).await.ok();
        let mut d = MigrationDiff::classify_knowing(
            target,
            &from_sha[..from_sha.len().min(7)],
            &to_sha[..to_sha.len().min(7)],
            raw,
            at_target,
        );
        d.files.extend(extra);
        d.files.sort_by(|a, b| a.path.cmp(&b.path));
        d.verdict = d
            .files
            .iter()
            .filter_map(MigrationFile::verdict)
            .max()
            .map(MigrationVerdict::Found)
            .unwrap_or(MigrationVerdict::NoMigrations);
        d
    }
}

/// A migration that is not UTF-8: classified as shown (lossy), with the
/// place of the first bad byte on top, so the reviewer can find it.
fn not_utf8(
    target: &str,
    path: String,
    change: FileChange,
    e: std::string::FromUtf8Error,
) -> MigrationFile {
    let at = e.utf8_error().valid_up_to();
    let (line, col) = crate::files::position(e.as_bytes(), at);
    let text = String::from_utf8_lossy(e.as_bytes()).into_owned();
    let mut f = MigrationDiff::classify(target, "", "", vec![(path.clone(), change, text)])
        .files
        .remove(0);
    f.statements.insert(
        0,
        ClassifiedStatement {
            line,
            sql: String::new(),
            verdict: SqlVerdict::Review,
            reason: format!(
                "{path}:{line}:{col}: not valid UTF-8 (byte {at}); read it as shown (lossy)"
            ),
            parsed: false,
        },
    );
    f
}

fn review_file(path: &str, change: &str, text: &str, reason: &str) -> MigrationFile {
    MigrationFile {
        path: path.into(),
        change: change.into(),
        text: text.into(),
        statements: vec![ClassifiedStatement {
            line: 1,
            sql: String::new(),
            verdict: SqlVerdict::Review,
            reason: reason.into(),
            parsed: false,
        }],
        is_down: crate::core::migration::is_down_migration(path),
    }
}

/// The blobs of a `git cat-file --batch` answer, in order, as text
/// (`<oid> blob <size>\n<bytes>\n` each; a missing one, a binary one or
/// one over the cap is empty: it creates nothing rbtui can read).
fn batch_blobs(mut out: &[u8]) -> Vec<String> {
    let mut texts = Vec::new();
    while let Some(nl) = out.iter().position(|b| *b == b'\n') {
        let header = String::from_utf8_lossy(&out[..nl]).into_owned();
        out = &out[nl + 1..];
        let size = header
            .split(' ')
            .nth(2)
            .filter(|_| header.split(' ').nth(1) == Some("blob"))
            .and_then(|n| n.parse::<usize>().ok());
        let Some(size) = size.filter(|n| *n <= out.len()) else {
            texts.push(String::new());
            continue;
        };
        let blob = &out[..size];
        let readable = size as u64 <= MIGRATION_CAP && !blob.contains(&0);
        texts.push(if readable {
            String::from_utf8_lossy(blob).into_owned()
        } else {
            String::new()
        });
        out = out.get(size + 1..).unwrap_or_default();
    }
    texts
}

/// Past this, a migration is not read: a generated dump of this size is
/// reviewed by hand, and reading it would hold it all in memory.
const MIGRATION_CAP: u64 = 16 * 1024 * 1024;

/// `git diff --name-status -z`: status NUL path NUL, or for renames and
/// copies status NUL old NUL new NUL.
fn parse_name_status(out: &[u8]) -> Vec<(String, String, Option<String>)> {
    let parts: Vec<String> = out
        .split(|&b| b == 0)
        .filter(|p| !p.is_empty())
        .map(|p| String::from_utf8_lossy(p).into_owned())
        .collect();
    let mut v = Vec::new();
    let mut i = 0;
    while i < parts.len() {
        let st = parts[i].clone();
        if (st.starts_with('R') || st.starts_with('C')) && i + 2 < parts.len() {
            v.push((st, parts[i + 2].clone(), Some(parts[i + 1].clone())));
            i += 3;
        } else if i + 1 < parts.len() {
            v.push((st, parts[i + 1].clone(), None));
            i += 2;
        } else {
            break;
        }
    }
    v
}

/// `git-{sha}` against `git-3f9a2c1` → `3f9a2c1`. `*` matches any text.
pub fn sha_from_tag(pattern: &str, tag: &str) -> Option<String> {
    let (pre, post) = pattern.split_once("{sha}")?;
    let glob = |p: &str| {
        p.split('*')
            .map(regex::escape)
            .collect::<Vec<_>>()
            .join(".*")
    };
    let re = regex::Regex::new(&format!(
        "^{}([0-9a-fA-F]{{7,40}}){}$",
        glob(pre),
        glob(post)
    ))
    .ok()?;
    Some(re.captures(tag)?[1].to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commit_from_tag_patterns() {
        assert_eq!(
            sha_from_tag("git-{sha}", "git-3f9a2c1").as_deref(),
            Some("3f9a2c1")
        );
        assert_eq!(
            sha_from_tag("v*-{sha}", "v1.2.3-8b41d07").as_deref(),
            Some("8b41d07")
        );
        assert_eq!(
            sha_from_tag("{sha}", "c0d3e5f0a1").as_deref(),
            Some("c0d3e5f0a1")
        );
        assert_eq!(sha_from_tag("git-{sha}", "main"), None);
        assert_eq!(sha_from_tag("{sha}", "latest"), None);
    }

    #[test]
    fn name_status_with_renames() {
        let out = b"A\0db/V1__a.sql\0R100\0db/old.sql\0db/new.sql\0M\0db/V2.sql\0";
        let v = parse_name_status(out);
        assert_eq!(v.len(), 3);
        assert_eq!(
            v[1],
            (
                "R100".into(),
                "db/new.sql".into(),
                Some("db/old.sql".into())
            )
        );
        assert_eq!(v[2].1, "db/V2.sql");
    }
}
