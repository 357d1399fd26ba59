//! Migration diffs from real temporary git repositories with realistic
//! histories (the runbook's ADD COLUMN / DROP COLUMN examples among them).
#![allow(clippy::unwrap_used)] // a failed unwrap in a test is a failed test

mod common;
use common::rt;

use rbtui::backend::git_migrations::GitMigrations;
use rbtui::core::migration::{MigrationVerdict, SqlVerdict};
use rbtui::core::model::{ImageRef, Revision};
use std::path::Path;
use std::process::Command;

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args([
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@example.com",
            "-c",
            "init.defaultBranch=main",
            "-c",
            "commit.gpgsign=false",
        ])
        .args(args)
        .current_dir(dir)
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn commit(dir: &Path, files: &[(&str, &[u8])], msg: &str) -> String {
    for (p, content) in files {
        let path = dir.join(p);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content).unwrap();
    }
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "-m", msg]);
    git(dir, &["rev-parse", "HEAD"])
}

fn rev(id: &str, sha: &str) -> Revision {
    Revision {
        id: id.into(),
        deployed_at: None,
        images: vec![],
        git_sha: Some(sha.into()),
        message: String::new(),
        author: None,
        current: false,
    }
}

struct Repo {
    _dir: tempfile::TempDir,
    path: std::path::PathBuf,
    c: Vec<String>,
}

/// c0 init, c1 ADD COLUMN, c2 DROP COLUMN + unrelated SQL, c3 rename + binary + latin-1 + down.
fn repo() -> Repo {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().to_path_buf();
    git(&p, &["init", "-q"]);
    let c0 = commit(
        &p,
        &[(
            "app/catalog/migrations/0001_init.up.sql",
            b"CREATE TABLE orders (id bigint PRIMARY KEY, legacy_total numeric(12,2));\n",
        )],
        "init",
    );
    let c1 = commit(
        &p,
        &[
            (
                "app/catalog/migrations/0002_gift.up.sql",
                b"-- gift notes\nALTER TABLE orders ADD COLUMN gift_note text;\n",
            ),
            ("README.md", b"catalog\n"),
        ],
        "gift notes",
    );
    let c2 = commit(
        &p,
        &[
            (
                "app/catalog/migrations/0003_drop_legacy.up.sql",
                b"ALTER TABLE orders DROP COLUMN legacy_total;\n",
            ),
            ("scripts/report.sql", b"DROP TABLE reporting_tmp;\n"),
        ],
        "drop legacy totals",
    );
    git(
        &p,
        &[
            "mv",
            "app/catalog/migrations/0002_gift.up.sql",
            "app/catalog/migrations/0002_gift_note.up.sql",
        ],
    );
    let c3 = commit(
        &p,
        &[
            (
                "app/catalog/migrations/0004_seed.up.sql",
                b"\x00\x01binary\x00",
            ),
            (
                "app/catalog/migrations/0005_latin1.up.sql",
                b"COMMENT ON TABLE orders IS 'caf\xe9';\n",
            ),
            (
                "app/catalog/migrations/0003_drop_legacy.down.sql",
                b"ALTER TABLE orders ADD COLUMN legacy_total numeric(12,2);\n",
            ),
        ],
        "rename, seed, latin-1, down",
    );
    Repo {
        _dir: dir,
        path: p,
        c: vec![c0, c1, c2, c3],
    }
}

#[test]
fn add_column_only_is_backward_compatible() {
    let r = repo();
    let g = GitMigrations::new(r.path.clone(), None, None);
    let d = rt().block_on(g.diff("catalog", &rev("2", &r.c[1]), &rev("1", &r.c[0])));
    assert_eq!(
        d.verdict,
        MigrationVerdict::Found(SqlVerdict::Compatible),
        "{d:?}"
    );
    assert_eq!(d.files.len(), 1);
    assert_eq!(d.files[0].path, "app/catalog/migrations/0002_gift.up.sql");
    assert_eq!(d.files[0].change, "added");
    assert_eq!(
        d.files[0].statements[0].line, 2,
        "the comment line is not the statement"
    );
}

#[test]
fn drop_column_is_unsafe_and_unrelated_sql_is_ignored() {
    let r = repo();
    let g = GitMigrations::new(r.path.clone(), None, None);
    let d = rt().block_on(g.diff("catalog", &rev("3", &r.c[2]), &rev("1", &r.c[0])));
    assert_eq!(d.verdict, MigrationVerdict::Found(SqlVerdict::Unsafe));
    assert!(
        !d.files.iter().any(|f| f.path.starts_with("scripts/")),
        "scripts/report.sql is not a migration"
    );
    let (f, s) = d.unsafe_statements().next().unwrap();
    assert_eq!(f.path, "app/catalog/migrations/0003_drop_legacy.up.sql");
    assert!(s.reason.contains("drops column orders.legacy_total"));
}

#[test]
fn empty_range_means_no_migrations() {
    let r = repo();
    let g = GitMigrations::new(r.path.clone(), None, None);
    let d = rt().block_on(g.diff("catalog", &rev("1", &r.c[0]), &rev("1", &r.c[0])));
    assert_eq!(d.verdict, MigrationVerdict::NoMigrations);
}

#[test]
fn renames_binary_non_utf8_and_down_migrations() {
    let r = repo();
    let g = GitMigrations::new(r.path.clone(), None, None);
    let d = rt().block_on(g.diff("catalog", &rev("4", &r.c[3]), &rev("3", &r.c[2])));
    let by = |p: &str| {
        d.files
            .iter()
            .find(|f| f.path.ends_with(p))
            .unwrap_or_else(|| panic!("{p} listed: {:#?}", d.files))
    };
    assert!(
        by("0002_gift_note.up.sql")
            .change
            .starts_with("renamed from app/catalog/migrations/0002_gift.up.sql")
    );
    assert_eq!(
        by("0004_seed.up.sql").statements[0].reason,
        "binary file: cannot be read as SQL"
    );
    let latin = by("0005_latin1.up.sql");
    assert!(
        latin
            .statements
            .iter()
            .any(|s| s.reason == "app/catalog/migrations/0005_latin1.up.sql:1:32: not valid UTF-8 (byte 31); read it as shown (lossy)"),
        "the bad byte is placed: {:#?}",
        latin.statements
    );
    assert!(by("0003_drop_legacy.down.sql").is_down);
    assert_eq!(d.verdict, MigrationVerdict::Found(SqlVerdict::Review));
}

#[test]
fn a_missing_commit_says_which_and_how_to_fetch_it() {
    let r = repo();
    let g = GitMigrations::new(r.path.clone(), None, None);
    let d = rt().block_on(g.diff("catalog", &rev("9", "deadbeefdeadbeef"), &rev("1", &r.c[0])));
    let MigrationVerdict::Error(e) = &d.verdict else {
        panic!("{:?}", d.verdict)
    };
    assert!(
        e.contains("commit deadbeefdeadbeef is not in") && e.contains("git fetch"),
        "{e}"
    );

    let shallow = tempfile::tempdir().unwrap();
    git(
        shallow.path(),
        &[
            "clone",
            "-q",
            "--depth",
            "1",
            &format!("file://{}", r.path.display()),
            "s",
        ],
    );
    let g = GitMigrations::new(shallow.path().join("s"), None, None);
    let d = rt().block_on(g.diff("catalog", &rev("4", &r.c[3]), &rev("1", &r.c[0])));
    let MigrationVerdict::Error(e) = &d.verdict else {
        panic!("{:?}", d.verdict)
    };
    assert!(
        e.contains(&format!("commit {} is not in", r.c[0])) && e.contains("git fetch --unshallow"),
        "{e}"
    );
}

#[test]
fn image_tags_map_to_commits_when_the_revision_has_no_sha() {
    let r = repo();
    let g = GitMigrations::new(r.path.clone(), None, Some(vec!["git-{sha}".into()]));
    let img = |sha: &str| Revision {
        git_sha: None,
        images: vec![ImageRef {
            repository: "ghcr.io/acme/catalog".into(),
            tag: Some(format!("git-{}", &sha[..7])),
            digest: None,
        }],
        ..rev("x", "")
    };
    let d = rt().block_on(g.diff("catalog", &img(&r.c[2]), &img(&r.c[1])));
    assert_eq!(d.verdict, MigrationVerdict::Found(SqlVerdict::Unsafe));
    let nosha = Revision {
        git_sha: None,
        images: vec![ImageRef::parse("ghcr.io/acme/catalog:latest")],
        ..rev("y", "")
    };
    let d = rt().block_on(g.diff("catalog", &nosha, &img(&r.c[1])));
    assert!(
        matches!(d.verdict, MigrationVerdict::NotChecked(_)),
        "never 'safe' when unknown"
    );
}

/// The trap seen on real histories: a formatter run over an old
/// CREATE TABLE (an edit) plus a later column rename. The edit never ran,
/// so it does not make the table "created in this range": the rename is
/// UNSAFE and named; the edit is its own finding.
#[test]
fn an_edited_old_migration_does_not_make_a_later_rename_safe() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().to_path_buf();
    git(&p, &["init", "-q"]);
    let good = commit(
        &p,
        &[(
            "migrations/2020-01-01-000000_create_community/up.sql",
            b"create table community (id serial primary key, published timestamp not null);\n",
        )],
        "create community",
    );
    let bad = commit(
        &p,
        &[
            (
                "migrations/2020-01-01-000000_create_community/up.sql",
                b"CREATE TABLE community (\n    id serial PRIMARY KEY,\n    published timestamp NOT NULL\n);\n",
            ),
            (
                "migrations/2024-05-01-000000_rename_published/up.sql",
                b"ALTER TABLE community RENAME COLUMN published TO published_at;\n",
            ),
            (
                "migrations/2024-05-01-000000_rename_published/down.sql",
                b"ALTER TABLE community RENAME COLUMN published_at TO published;\n",
            ),
        ],
        "format old migration; rename column",
    );
    let g = GitMigrations::new(p.clone(), None, None);
    let d = rt().block_on(g.diff("community", &rev("2", &bad), &rev("1", &good)));
    assert_eq!(
        d.verdict,
        MigrationVerdict::Found(SqlVerdict::Unsafe),
        "{:#?}",
        d.files
    );
    let rename = d
        .unsafe_statements()
        .find(|(f, _)| f.path.contains("rename_published/up.sql"))
        .expect("the rename is UNSAFE");
    assert!(rename.1.reason.contains("published"), "{}", rename.1.reason);
    let edited = d
        .files
        .iter()
        .find(|f| f.path.contains("create_community"))
        .unwrap();
    assert!(edited.change.starts_with("modified"), "{}", edited.change);
    assert_eq!(edited.statements.len(), 1);
    assert!(edited.statements[0].reason.contains("never re-ran"));
    let down = d
        .files
        .iter()
        .find(|f| f.path.ends_with("rename_published/down.sql"))
        .unwrap();
    // The same gate from the command line, for CI: UNSAFE exits 2.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_rbtui"))
        .args(["migrations", "--repo"])
        .arg(&p)
        .args(["--from", &good, "--to", &bad])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(text.contains("UNSAFE"), "{text}");
    assert!(text.contains("rename_published/up.sql (added)"), "{text}");
    assert!(text.contains("create_community/up.sql (modified"), "{text}");
    assert!(
        text.contains("rename_published/down.sql (added): down file"),
        "{text}"
    );
    assert!(
        down.is_down && down.statements.is_empty(),
        "diesel's down.sql is listed, not applied"
    );
    // --json names the revisions as the command line does.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_rbtui"))
        .args(["migrations", "--repo"])
        .arg(&p)
        .args(["--from", &good, "--to", &bad, "--json"])
        .output()
        .unwrap();
    let j: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (j["from_rev"].as_str(), j["to_rev"].as_str()),
        (Some(&good[..7]), Some(&bad[..7])),
        "--from is the rollback target, --to what runs now"
    );
    conforms(&j, &readme_schema(), "$");
}

/// The schema the README documents for `migrations --json`.
fn readme_schema() -> serde_json::Value {
    let readme = include_str!("../README.md");
    let block = readme
        .split("<!-- migrations-json-schema -->\n```json\n")
        .nth(1)
        .and_then(|r| r.split("\n```").next())
        .expect("the README has the schema block");
    serde_json::from_str(block).expect("the README's schema is JSON")
}

/// `v` against the parts of JSON Schema the README's schema uses (type,
/// required, properties, additionalProperties: false, items, enum, const,
/// oneOf, minimum): enough that a renamed, added or dropped field fails.
fn conforms(v: &serde_json::Value, s: &serde_json::Value, at: &str) {
    use serde_json::Value;
    if let Some(alts) = s["oneOf"].as_array() {
        let ok = alts
            .iter()
            .filter(|a| std::panic::catch_unwind(|| conforms(v, a, at)).is_ok())
            .count();
        assert_eq!(ok, 1, "{at}: {v} matches {ok} of oneOf");
        return;
    }
    if let Some(c) = s.get("const") {
        assert_eq!(v, c, "{at}");
    }
    if let Some(e) = s["enum"].as_array() {
        assert!(e.contains(v), "{at}: {v} not in {e:?}");
    }
    match s["type"].as_str() {
        Some("object") => {
            let o = v
                .as_object()
                .unwrap_or_else(|| panic!("{at}: not an object: {v}"));
            for r in s["required"].as_array().into_iter().flatten() {
                assert!(o.contains_key(r.as_str().unwrap()), "{at}: missing {r}");
            }
            for (k, val) in o {
                match s["properties"].get(k) {
                    Some(ps) => conforms(val, ps, &format!("{at}.{k}")),
                    None => assert!(
                        s["additionalProperties"] != Value::Bool(false),
                        "{at}: {k} is not in the schema"
                    ),
                }
            }
        }
        Some("array") => {
            for (i, item) in v
                .as_array()
                .unwrap_or_else(|| panic!("{at}: not an array"))
                .iter()
                .enumerate()
            {
                conforms(item, &s["items"], &format!("{at}[{i}]"));
            }
        }
        Some("string") => assert!(v.is_string(), "{at}: {v}"),
        Some("boolean") => assert!(v.is_boolean(), "{at}: {v}"),
        Some("integer") => {
            let n = v.as_i64().unwrap_or_else(|| panic!("{at}: {v}"));
            assert!(s["minimum"].as_i64().is_none_or(|m| n >= m), "{at}: {n}");
        }
        _ => {}
    }
}

#[test]
fn a_pure_rename_is_not_a_new_migration_and_diesel_down_files_never_block() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().to_path_buf();
    git(&p, &["init", "-q"]);
    let good = commit(
        &p,
        &[(
            "db/old_name/up.sql",
            b"ALTER TABLE orders DROP COLUMN legacy;\n",
        )],
        "old",
    );
    std::fs::create_dir_all(p.join("db/new_name")).unwrap();
    git(&p, &["mv", "db/old_name/up.sql", "db/new_name/up.sql"]);
    let bad = commit(
        &p,
        &[
            (
                "db/2024_add/up.sql",
                b"ALTER TABLE orders ADD COLUMN note text;\n",
            ),
            (
                "db/2024_add/down.sql",
                b"ALTER TABLE orders DROP COLUMN note;\n",
            ),
            ("db/0007_x_down.sql", b"DROP TABLE x;\n"),
        ],
        "rename; additive migration with its down file",
    );
    let g = GitMigrations::new(p.clone(), None, None);
    let d = rt().block_on(g.diff("orders", &rev("2", &bad), &rev("1", &good)));
    assert_eq!(
        d.verdict,
        MigrationVerdict::Found(SqlVerdict::Compatible),
        "{:#?}",
        d.files
    );
    let moved = d
        .files
        .iter()
        .find(|f| f.path == "db/new_name/up.sql")
        .unwrap();
    assert!(moved.change.starts_with("renamed from db/old_name/up.sql"));
    assert!(moved.statements.is_empty());
}

/// After a rollback, the follow-up "revert the bad change" ticks itself
/// only when a commit that reverts it is in the target's checkout, with
/// that commit as the evidence.
#[test]
fn a_revert_commit_in_the_checkout_ticks_the_follow_up() {
    use rbtui::backend::Backend;
    use std::sync::Arc;
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().to_path_buf();
    git(&p, &["init", "-q"]);
    commit(&p, &[("README", b"shop\n")], "init");
    let t0 = chrono::TimeZone::with_ymd_and_hms(&chrono::Utc, 2026, 11, 22, 3, 0, 0).unwrap();
    let clock = rbtui::backend::clock::ManualClock::new(t0);
    let demo: Arc<dyn Backend> = Arc::new(rbtui::backend::demo::DemoBackend::builtin(Arc::new(
        clock.clone(),
    )));
    let router = rbtui::backend::router::Router::new(vec![demo])
        .with_git_migrations("search", GitMigrations::new(p.clone(), None, None));
    let state = rbtui::core::state::State::new(
        rbtui::core::state::Settings::new(rbtui::core::model::Mode::Demo, "INC-7", "n.md"),
        rbtui::runbook::load_all(None).unwrap(),
        t0,
    );
    let mut s = rbtui::app::script::Script::new(state, Arc::new(router), clock, None);
    s.start();
    for _ in 0..10 {
        if s.state.view.selected.as_deref() == Some("search") {
            break;
        }
        s.press("j");
    }
    s.press("<Enter>");
    let idx = s
        .state
        .history("search")
        .unwrap()
        .revisions
        .iter()
        .position(|r| r.id == "17")
        .unwrap();
    s.press("g");
    for _ in 0..idx {
        s.press("j");
    }
    s.press("<Enter><Enter><Enter>");
    assert!(s.advance_until(60_000, |st| {
        st.runs.last().is_some_and(|r| r.outcome().is_some())
    }));
    let bad = s
        .state
        .followup("search")
        .unwrap()
        .0
        .git_sha
        .clone()
        .expect("the bad commit");
    let ticked = |s: &rbtui::app::script::Script| {
        s.state
            .checklist("search")
            .and_then(|c| c.get("revert"))
            .cloned()
    };
    s.advance(35_000);
    assert!(ticked(&s).is_none(), "no revert yet, no tick");
    std::fs::write(p.join("README"), "shop, reverted\n").unwrap();
    git(&p, &["add", "-A"]);
    git(
        &p,
        &[
            "commit",
            "-q",
            "-m",
            &format!("Revert \"search: bump analyzer\"\n\nThis reverts commit {bad}."),
        ],
    );
    let revert = git(&p, &["rev-parse", "HEAD"]);
    assert!(s.advance_until(40_000, |st| {
        st.checklist("search")
            .is_some_and(|c| c.contains_key("revert"))
    }));
    let t = ticked(&s).unwrap();
    assert!(t.auto);
    assert!(
        t.evidence.as_deref().unwrap().starts_with(&revert[..7]),
        "{:?}",
        t.evidence
    );
    // The note names the commit, as the screen does: no `{bad_sha}` left.
    let line = s
        .recorded
        .iter()
        .find(|l| l.contains("☑ Revert"))
        .expect("the tick recorded");
    assert!(
        line.contains(&bad[..7]) && !line.contains("{bad_sha}"),
        "{line}"
    );
}

/// A revert that does not say so (squashed into "fix config"): HEAD's tree
/// no longer holds the bad change, which is what counts. While it still
/// does, nothing is found; the working tree and index are left alone.
#[test]
fn a_silent_revert_is_found_from_heads_tree() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    git(p, &["init", "-q"]);
    commit(
        p,
        &[(
            "values.yaml",
            b"replicas: 3\nimage: orders:git-a1b2c3d\nlog: info\n",
        )],
        "orders: 3 replicas",
    );
    let bad = commit(
        p,
        &[(
            "values.yaml",
            b"replicas: 3\nimage: orders:git-d8f3c2a\nlog: info\n",
        )],
        "orders: bump image",
    );
    commit(p, &[("README", b"shop\n")], "docs");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let g = GitMigrations::new(p.to_path_buf(), None, None);
    assert_eq!(
        rt.block_on(g.find_revert(&bad)).unwrap(),
        None,
        "still there"
    );
    // Undone by hand, with other changes, under a message that says nothing.
    let fix = commit(
        p,
        &[
            (
                "values.yaml",
                b"replicas: 3\nimage: orders:git-a1b2c3d\nlog: info\n",
            ),
            ("README", b"shop v2\n"),
        ],
        "fix config",
    );
    std::fs::write(p.join("README"), "uncommitted edit\n").unwrap();
    let (sha, why) = rt
        .block_on(g.find_revert(&bad))
        .unwrap()
        .expect("found from the tree");
    assert_eq!(sha, fix);
    assert_eq!(
        why,
        format!("HEAD's tree no longer contains the change of {}", &bad[..7])
    );
    assert_eq!(
        std::fs::read_to_string(p.join("README")).unwrap(),
        "uncommitted edit\n"
    );
    assert!(
        git(p, &["status", "--porcelain"]).contains("README"),
        "the real index untouched"
    );
}

/// Seen on a real history: an applied migration renumbered and rewritten
/// in one commit (git: deleted + added) counted its table as "created in
/// this range", so a later RENAME COLUMN on it passed as ok, range exit 0.
/// Matched by content against the target's own migrations, the table
/// existed: the rewrite is its own finding and the rename is UNSAFE.
#[test]
fn a_migration_renumbered_and_rewritten_creates_nothing_new() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().to_path_buf();
    git(&p, &["init", "-q"]);
    let old = commit(
        &p,
        &[(
            "migrations/2019-03-01-000000_create_community/up.sql",
            b"CREATE TABLE community (id serial PRIMARY KEY, name text NOT NULL, published timestamp NOT NULL DEFAULT now());\n",
        )],
        "community",
    );
    git(
        &p,
        &[
            "rm",
            "-q",
            "-r",
            "migrations/2019-03-01-000000_create_community",
        ],
    );
    let new = commit(
        &p,
        &[
            (
                "migrations/2025-08-01-000001_create_community/up.sql",
                b"CREATE TABLE IF NOT EXISTS community (id serial PRIMARY KEY, name text NOT NULL, published timestamp NOT NULL DEFAULT now());\n",
            ),
            (
                "migrations/2025-08-01-000002_published_at/up.sql",
                b"ALTER TABLE community RENAME COLUMN published TO published_at;\n",
            ),
            (
                "migrations/2025-08-01-000003_search/up.sql",
                b"CREATE OR REPLACE FUNCTION community_search(q text) RETURNS int AS $$ SELECT 1 $$ LANGUAGE sql;\n",
            ),
        ],
        "squash and rename",
    );
    let g = GitMigrations::new(p.clone(), None, None);
    let d = rt().block_on(g.diff("shop", &rev("2", &new), &rev("1", &old)));
    let st = |path: &str| {
        d.files
            .iter()
            .find(|f| f.path.ends_with(path))
            .unwrap_or_else(|| panic!("{path}: {:#?}", d.files))
            .statements[0]
            .clone()
    };
    let rewrite = st("000001_create_community/up.sql");
    assert_eq!(rewrite.verdict, SqlVerdict::Review, "{}", rewrite.reason);
    assert!(
        rewrite
            .reason
            .contains("a migration at the rollback target already creates"),
        "{}",
        rewrite.reason
    );
    let rename = st("000002_published_at/up.sql");
    assert_eq!(rename.verdict, SqlVerdict::Unsafe, "{}", rename.reason);
    let function = st("000003_search/up.sql");
    assert_eq!(
        function.verdict,
        SqlVerdict::Compatible,
        "no migration at the target creates it: {}",
        function.reason
    );
    assert_eq!(d.verdict, MigrationVerdict::Found(SqlVerdict::Unsafe));
    // The command line agrees, exit 2.
    let out = Command::new(env!("CARGO_BIN_EXE_rbtui"))
        .args([
            "migrations",
            "--repo",
            p.to_str().unwrap(),
            "--from",
            &old,
            "--to",
            &new,
        ])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}
