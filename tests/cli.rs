//! The binary's behaviour before any terminal is taken over: config errors,
//! the missing-config help, and the read-only commands on the demo.
#![allow(unsafe_code)] // test set-up only: mkfifo, set_var before any thread
#![allow(clippy::unwrap_used)] // a failed unwrap in a test is a failed test

use std::process::Command;

fn rbtui(dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_rbtui"))
        .args(args)
        .current_dir(dir)
        .env("XDG_CONFIG_HOME", dir.join("no-xdg"))
        .env("HOME", dir)
        .env_remove("KUBECONFIG")
        .output()
        .unwrap()
}

#[test]
fn malformed_config_is_reported_with_position_before_the_terminal_is_touched() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("bad.toml"),
        "[[target]]\nname = \"checkout\"\nkind = \"demo\"\nenvironment = prod\n",
    )
    .unwrap();
    let out = rbtui(dir.path(), &["--config", "bad.toml"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.starts_with("bad.toml:4:15: "), "{err}");
    assert!(
        out.stdout.is_empty(),
        "no alternate screen, no escape codes on stdout"
    );
    assert!(
        !dir.path().join("incidents").exists(),
        "no note for a session that never started"
    );
}

#[test]
fn unknown_kind_names_the_choices() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("rbtui.toml"),
        "[[target]]\nname = \"x\"\nkind = \"nomad\"\n",
    )
    .unwrap();
    let out = rbtui(dir.path(), &["status"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("rbtui.toml:3:8")
            && err.contains("unknown variant `nomad`")
            && err.contains("kubernetes"),
        "{err}"
    );
}

#[test]
fn no_config_explains_how_to_write_one_and_suggests_the_demo() {
    let dir = tempfile::tempdir().unwrap();
    let out = rbtui(dir.path(), &[]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no config found") && err.contains("rbtui demo") && err.contains("[[target]]"),
        "{err}"
    );
}

#[test]
fn demo_status_history_and_plan_print_and_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = rbtui(dir.path(), &["demo", "status"]);
    assert!(out.status.success());
    let s = String::from_utf8_lossy(&out.stdout);
    let first = s.lines().nth(1).unwrap();
    assert!(
        first.starts_with("checkout") && first.contains("critical"),
        "{s}"
    );

    let out = rbtui(dir.path(), &["demo", "status", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v[0]["target"]["name"], "checkout");
    assert_eq!(v[0]["verdict"]["severity"], "Critical");

    let out = rbtui(dir.path(), &["demo", "history", "orders"]);
    let s = String::from_utf8_lossy(&out.stdout);
    assert!(
        s.contains("42") && s.contains("CURRENT") && s.contains("LKG"),
        "{s}"
    );

    let out = rbtui(dir.path(), &["demo", "plan", "orders", "--to", "41"]);
    assert_eq!(out.status.code(), Some(2), "blocked plans exit 2");
    let s = String::from_utf8_lossy(&out.stdout);
    assert!(
        s.contains("1. Disable auto-sync on Argo CD application orders"),
        "{s}"
    );
    assert!(s.contains("[BLOCK] schema"), "{s}");
    assert!(
        s.contains("!! line 1   ALTER TABLE orders DROP COLUMN legacy_total"),
        "{s}"
    );

    let out = rbtui(
        dir.path(),
        &["demo", "plan", "checkout", "--to", "8", "--json"],
    );
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["to"]["id"], "8");

    let out = rbtui(dir.path(), &["demo", "plan", "checkout", "--to", "99"]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("unable to find specified revision 99 in history of checkout")
    );
    assert!(
        !dir.path().join("incidents").exists(),
        "read-only commands write no note"
    );
}

/// The demo's group from the command line: a section per target in the
/// group's order, exit 2 because one section blocks, the confirm named.
#[test]
fn demo_group_plan_has_a_section_per_target_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = rbtui(
        dir.path(),
        &["demo", "plan", "--group", "shop", "--to", "lkg"],
    );
    let s = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(2),
        "orders' schema check blocks: {s}"
    );
    let at = |m: &str| {
        s.find(&format!("━━ {m}\n"))
            .unwrap_or_else(|| panic!("{m}: {s}"))
    };
    assert!(
        at("checkout") < at("orders") && at("orders") < at("payments"),
        "{s}"
    );
    assert!(s.contains("To   revision 8: checkout:git-a1b2c3d"), "{s}");
    assert!(s.contains("group name `shop` to be typed"), "{s}");
    let out = rbtui(
        dir.path(),
        &[
            "demo", "plan", "--group", "shop", "--to", "previous", "--json",
        ],
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["order"], "sequential");
    assert_eq!(v["plans"][0]["to"]["id"], "8");
    assert_eq!(v["plans"].as_array().unwrap().len(), 3);
    let out = rbtui(
        dir.path(),
        &["demo", "plan", "--group", "nope", "--to", "lkg"],
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown group `nope` (known: shop)"));
    assert!(!dir.path().join("incidents").exists(), "no note written");
}

#[test]
fn config_with_demo_targets_serves_only_those() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("rbtui.toml"),
        "[[target]]\nname = \"search\"\nkind = \"demo\"\nenvironment = \"staging\"\n",
    )
    .unwrap();
    let out = rbtui(dir.path(), &["status"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let s = String::from_utf8_lossy(&out.stdout);
    assert_eq!(s.lines().count(), 2, "{s}");
    assert!(s.contains("search"));
}

/// `[environment.prod] read_only = true`: prod's plans are shown and
/// refused (no reason overrides it); staging's are not.
#[test]
fn a_read_only_environment_refuses_its_plans() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("rbtui.toml"),
        "[[target]]\nname = \"checkout\"\nkind = \"demo\"\nenvironment = \"prod\"\n\
         [[target]]\nname = \"search\"\nkind = \"demo\"\nenvironment = \"staging\"\n\
         [environment.prod]\nread_only = true\n",
    )
    .unwrap();
    let out = rbtui(dir.path(), &["plan", "checkout", "--to", "8"]);
    let s = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(2), "{s}");
    assert!(
        s.contains("[BLOCK] mode         environment prod is read-only in the config"),
        "{s}"
    );
    let out = rbtui(dir.path(), &["plan", "search", "--to", "17"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn without_a_terminal_the_console_says_so_and_creates_no_note() {
    let dir = tempfile::tempdir().unwrap();
    let out = rbtui(dir.path(), &["demo"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("needs a terminal"), "{err}");
    assert_eq!(err.lines().count(), 1, "one clear line: {err}");
    assert!(!dir.path().join("incidents").exists(), "no note created");
}

#[test]
fn status_prints_what_it_could_read_and_exits_3_when_a_target_could_not_be_read() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("rbtui.toml"),
        "[[target]]\nname = \"payments\"\nkind = \"swarm\"\nenvironment = \"prod\"\ndocker_host = \"unix:///nonexistent/docker.sock\"\n",
    )
    .unwrap();
    let out = rbtui(dir.path(), &["status"]);
    let text = String::from_utf8_lossy(&out.stdout);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "stdout {text}\nstderr {err}");
    assert!(
        text.contains("payments") && text.contains("unknown"),
        "{text}"
    );
}

/// The README's example config is the first thing a newcomer copies.
#[test]
fn the_readmes_example_config_parses() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let start = readme.find("```toml\n").expect("a toml block") + "```toml\n".len();
    let end = start + readme[start..].find("```").unwrap();
    let c = rbtui::config::Config::parse("README.md", &readme[start..end])
        .unwrap_or_else(|e| panic!("the README's example is rejected: {e}"));
    assert!(c.targets.len() >= 5);
}

/// The plan says how long verification will wait and which signal needs
/// it: a `for 1m` criterion over a 90 s window needs 2m30s, more than the
/// 120 s default; an operator's shorter window is kept and named as such.
#[test]
fn the_plan_says_how_long_verification_waits_and_why() {
    let dir = tempfile::tempdir().unwrap();
    let target = "[[target]]\nname = \"checkout\"\nkind = \"demo\"\n[target.prometheus]\nurl = \"http://127.0.0.1:9\"\n[[target.prometheus.query]]\nname = \"error_rate\"\ncriterion = \"> 5% for 1m\"\nwindow = \"90s\"\n";
    std::fs::write(dir.path().join("rbtui.toml"), target).unwrap();
    let out = rbtui(dir.path(), &["plan", "checkout", "--to", "8"]);
    let s = String::from_utf8_lossy(&out.stdout);
    assert!(
        s.contains(
            "Verify takes up to 2m30s after convergence (error_rate: 1m + 1m30s rate window)"
        ),
        "{s}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::write(
        dir.path().join("rbtui.toml"),
        format!("[settings]\nverify_window_secs = 60\n{target}"),
    )
    .unwrap();
    let out = rbtui(dir.path(), &["plan", "checkout", "--to", "8", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["verify_window"]["secs"], 60);
    assert_eq!(
        v["verify_window"]["why"],
        "verify_window_secs, under the 2m30s error_rate needs"
    );
}

#[test]
fn config_values_and_files_are_checked_with_positions() {
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&str, &str); 5] = [
        (
            "[[target]]\nname = \"a\"\nkind = \"demo\"\n[target.prometheus]\nurl = \"http://p\"\n[[target.prometheus.query]]\nname = \"error_rate\"\nwindow = \"5 minutes\"\n",
            "t.toml:8:10: target `a`, query `error_rate`: window `5 minutes`: unknown unit",
        ),
        (
            "[thresholds]\nerror_rate = nan\n[[target]]\nname = \"a\"\nkind = \"demo\"\n",
            "t.toml:2:1: thresholds.error_rate must be a fraction",
        ),
        (
            "[thresholds]\nerror_rat = 0.1\n",
            "t.toml:2:1: unknown field `error_rat`",
        ),
        (
            "[settings]\nverify_window_secs = 9223372036854775807\n",
            "t.toml:2:1: settings.verify_window_secs must be between 0 and 86400",
        ),
        (
            "[thresholds]\nstale_after_secs = -5\n",
            "t.toml:2:1: thresholds.stale_after_secs must be between 1 and 86400",
        ),
    ];
    for (text, want) in cases {
        std::fs::write(dir.path().join("t.toml"), text).unwrap();
        let out = rbtui(dir.path(), &["--config", "t.toml", "status"]);
        assert_eq!(out.status.code(), Some(2));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.starts_with(want), "{text:?}: {err}");
    }
    std::fs::write(dir.path().join("empty.toml"), "\n").unwrap();
    let out = rbtui(dir.path(), &["--config", "empty.toml", "status"]);
    assert!(String::from_utf8_lossy(&out.stderr).starts_with("empty.toml: the file is empty"));
    std::fs::write(dir.path().join("bin.toml"), b"name = \"\xff\"\n").unwrap();
    let out = rbtui(dir.path(), &["--config", "bin.toml", "status"]);
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .starts_with("bin.toml:1:9: the config is not UTF-8 text"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Not a regular file: answered at once, never read.
    let out = rbtui(dir.path(), &["--config", "/dev/zero", "status"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("/dev/zero: the config is not a regular file")
    );
}

#[test]
fn prod_true_makes_a_target_prod_and_a_demo_target_keeps_its_configured_environment() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("rbtui.toml"),
        "[[target]]\nname = \"search\"\nkind = \"demo\"\nenvironment = \"staging\"\nprod = true\n\
         [[target]]\nname = \"catalog\"\nkind = \"demo\"\nenvironment = \"eu-live\"\n",
    )
    .unwrap();
    let out = rbtui(dir.path(), &["status"]);
    let s = String::from_utf8_lossy(&out.stdout);
    let row = |n: &str| {
        s.lines()
            .find(|l| l.starts_with(n))
            .unwrap_or_default()
            .to_string()
    };
    assert!(row("search").contains("staging (prod)"), "{s}");
    assert!(
        row("catalog").contains("eu-live"),
        "the scenario's environment was kept: {s}"
    );
    // Prod is never touched in a rehearsal.
    let h = rbtui(dir.path(), &["history", "search"]);
    let hs = String::from_utf8_lossy(&h.stdout);
    let prev = hs
        .lines()
        .find(|l| l.contains("LKG"))
        .and_then(|l| l.split_whitespace().next())
        .unwrap_or_else(|| panic!("no LKG revision: {hs}"))
        .to_string();
    let out = rbtui(
        dir.path(),
        &["--rehearsal", "plan", "search", "--to", &prev],
    );
    let p = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(2), "{p}");
    assert!(p.to_lowercase().contains("prod"), "{p}");

    std::fs::write(
        dir.path().join("rbtui.toml"),
        "[[target]]\nname = \"search\"\nkind = \"demo\"\nenvironment = \"eu-prod\"\nprod = false\n",
    )
    .unwrap();
    let out = rbtui(dir.path(), &["status"]);
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        e.contains("rbtui.toml:2:8") && e.contains("cannot make it otherwise"),
        "{e}"
    );
}

#[test]
fn drills_lists_when_each_runbook_last_worked_and_exits_4_when_one_is_stale() {
    let dir = tempfile::tempdir().unwrap();
    let notes = dir.path().join("incidents");
    std::fs::create_dir_all(&notes).unwrap();
    std::fs::write(
        dir.path().join("rbtui.toml"),
        "[settings]\nnote_dir = \"incidents\"\ndrill_stale_after_days = 90\n\
         [[target]]\nname = \"search\"\nkind = \"demo\"\n\
         [[target]]\nname = \"catalog\"\nkind = \"demo\"\n",
    )
    .unwrap();
    let now = chrono::Utc::now();
    let marker = |target: &str, mode: &str, days: i64| {
        rbtui::core::entry::Stamped {
            marker: rbtui::core::entry::Marker::Worked {
                target: target.into(),
                mode: mode.into(),
            },
            at: now - chrono::Duration::days(days),
        }
        .to_comment()
    };
    std::fs::write(
        notes.join("drill.md"),
        format!(
            "# Incident DRILL-1\n- x\n  {}\n",
            marker("search", "REHEARSAL", 10)
        ),
    )
    .unwrap();
    std::fs::write(
        notes.join("real.md"),
        format!(
            "# Incident INC-1\n- x\n  {}\n  {}\n",
            marker("catalog", "LIVE", 200),
            marker("catalog", "DEMO", 1)
        ),
    )
    .unwrap();
    let out = rbtui(dir.path(), &["drills"]);
    let s = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(4), "{s}");
    let row = |n: &str| {
        s.lines()
            .find(|l| l.starts_with(n))
            .unwrap_or_default()
            .to_string()
    };
    assert!(row("search").ends_with("ok"), "{s}");
    assert!(
        row("catalog").contains("STALE"),
        "a demo run is no proof: {s}"
    );
    assert!(
        row("catalog").contains(
            &(now - chrono::Duration::days(200))
                .format("%Y-%m-%d")
                .to_string()
        )
    );
    // Drilled recently everywhere: exit 0.
    std::fs::write(
        notes.join("drill2.md"),
        format!(
            "# Incident DRILL-2\n- x\n  {}\n",
            marker("catalog", "REHEARSAL", 3)
        ),
    )
    .unwrap();
    let out = rbtui(dir.path(), &["drills", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v.as_array().unwrap().len(), 2);
}

/// Paths in a target are relative to the config file, like `repo`: the
/// same config finds the same files from any working directory.
#[test]
fn target_paths_are_relative_to_the_config_file() {
    let dir = tempfile::tempdir().unwrap();
    let sub = dir.path().join("ops");
    std::fs::create_dir(&sub).unwrap();
    std::fs::write(
        sub.join("rbtui.toml"),
        "[[target]]\nname = \"web\"\nkind = \"compose\"\nproject = \"shop\"\nmanifest = \"m/app.json\"\nmanifest_versions = \"m/app.{tag}.json\"\ncompose_files = [\"deploy/docker-compose.yml\", \"/abs/x.yml\"]\nenv_file = \"deploy/.env\"\nversion_var = \"WEB_VERSION\"\nrepo = \"../src\"\n",
    )
    .unwrap();
    let c = rbtui::config::Config::load(&sub.join("rbtui.toml")).unwrap();
    let t = &c.targets[0];
    let rbtui::config::Platform::Compose(compose) = &t.platform else {
        panic!("{t:?}")
    };
    assert_eq!(
        compose.manifest.as_deref(),
        Some(sub.join("m/app.json").as_path())
    );
    assert_eq!(
        compose.manifest_versions.as_deref(),
        Some(sub.join("m/app.{tag}.json").display().to_string().as_str())
    );
    assert_eq!(
        compose.compose_files.as_deref(),
        Some(
            [
                sub.join("deploy/docker-compose.yml"),
                std::path::PathBuf::from("/abs/x.yml")
            ]
            .as_slice()
        )
    );
    assert_eq!(
        compose.env_file.as_deref(),
        Some(sub.join("deploy/.env").as_path())
    );
    assert_eq!(t.repo.as_deref(), Some(sub.join("../src").as_path()));
}

/// Faults are for drills: refused on a live session, unknown names listed.
#[test]
fn a_drill_needs_a_rehearsal_or_the_demo_and_a_known_name() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("rbtui.toml"),
        "[[target]]\nname = \"search\"\nkind = \"demo\"\nenvironment = \"staging\"\n",
    )
    .unwrap();
    let out = rbtui(dir.path(), &["--drill", "bad-fallback", "status"]);
    assert_ne!(out.status.code(), Some(0));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("only with --rehearsal or in the demo"),
        "{err}"
    );
    let out = rbtui(dir.path(), &["--rehearsal", "--drill", "nope", "status"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no drill `nope`") && err.contains("bad-fallback"),
        "{err}"
    );
}

/// The note's timeline for scripts and tickets: structured JSON read back
/// from the Markdown, which stays the record; a file without a timeline is
/// an error, not an empty export.
#[test]
fn note_export_gives_the_timeline_as_json() {
    let dir = tempfile::tempdir().unwrap();
    let note = dir.path().join("n.md");
    std::fs::write(
        &note,
        "# Incident INC-9\n\n- **Incident:** INC-9\n\n## Timeline (UTC, 2026-12-03)\n\n- `03:00:00Z` **session** — DEMO session started\n- `03:01:00Z` **action** `checkout` — step 1: Roll back deployment checkout\n    - rolled back to revision 8\n  <!-- rbtui {\"marker\":\"deployed\",\"target\":\"checkout\"} -->\n",
    )
    .unwrap();
    let out = rbtui(dir.path(), &["note", "export", "n.md", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["incident"], "INC-9");
    assert_eq!(v["entries"][1]["at"], "2026-12-03T03:01:00Z");
    assert_eq!(v["entries"][1]["target"], "checkout");
    assert_eq!(v["entries"][1]["details"][0], "rolled back to revision 8");
    assert_eq!(v["entries"][1]["marker"]["marker"], "deployed");
    std::fs::write(&note, "just text\n").unwrap();
    let out = rbtui(dir.path(), &["note", "export", "n.md"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("has no timeline entries"));
}

/// A postmortem draft from a note: written next to it, quoting the note,
/// and never over a draft that already exists.
#[test]
fn postmortem_drafts_next_to_the_note_and_never_overwrites() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("n.md"),
        "# Incident INC-9\n\n- **Incident:** INC-9\n\n## Timeline (UTC, 2026-12-03)\n\n- `03:00:00Z` **assess** `checkout` — health critical: roll back now\n- `03:01:00Z` **action** `checkout` — step 1: Roll back deployment checkout\n",
    )
    .unwrap();
    let out = rbtui(dir.path(), &["postmortem", "n.md"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let d = std::fs::read_to_string(dir.path().join("n.postmortem.md")).unwrap();
    assert!(d.contains("# Postmortem draft — INC-9"), "{d}");
    assert!(d.contains("step 1: Roll back deployment checkout"), "{d}");
    let again = rbtui(dir.path(), &["postmortem", "n.md"]);
    assert_eq!(again.status.code(), Some(2));
    assert_eq!(
        std::fs::read_to_string(dir.path().join("n.postmortem.md")).unwrap(),
        d
    );
}

/// keys.toml applies to `rbtui demo` from $XDG_CONFIG_HOME/rbtui, and a
/// broken one stops rbtui before the terminal with file:line.
#[test]
fn a_broken_keys_file_is_reported_before_the_terminal_is_touched() {
    let dir = tempfile::tempdir().unwrap();
    let xdg = dir.path().join("no-xdg").join("rbtui");
    std::fs::create_dir_all(&xdg).unwrap();
    std::fs::write(xdg.join("keys.toml"), "quit = [\"x\"]\nnotes = [\"x\"]\n").unwrap();
    let out = rbtui(dir.path(), &["demo"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("rbtui/keys.toml:2:9: `x` is bound to both `quit` and `notes`"),
        "{err}"
    );
    std::fs::write(xdg.join("keys.toml"), "quit = [\"x\"]\n").unwrap();
    let out = rbtui(dir.path(), &["demo", "status"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `rbtui note export NOTE --json | head -1`: a reader that stops early
/// ends the command quietly (it used to panic on the broken pipe); the
/// postmortem goes to standard output with `--out -`, and a second draft
/// over the first is refused with what to do instead.
#[test]
fn export_survives_a_closed_pipe_and_the_postmortem_prints_with_out_dash() {
    use std::io::Read;
    let dir = tempfile::tempdir().unwrap();
    let note = dir.path().join("n.md");
    let mut text = String::from("# Incident INC-7\n\n## Timeline (UTC, 2026-11-22)\n\n");
    for i in 0..3000 {
        text.push_str(&format!(
            "- `03:00:00Z` **note** — line {i} of a long incident\n"
        ));
    }
    std::fs::write(&note, text).unwrap();
    for args in [
        ["note", "export", "n.md", "--json"],
        ["note", "export", "n.md", ""],
    ] {
        let args: Vec<&str> = args.into_iter().filter(|a| !a.is_empty()).collect();
        let mut child = Command::new(env!("CARGO_BIN_EXE_rbtui"))
            .args(&args)
            .current_dir(dir.path())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut first = [0u8; 16];
        child.stdout.take().unwrap().read_exact(&mut first).unwrap();
        // The reader is gone: the pipe is closed under the writer.
        let out = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        assert_eq!(out.status.code(), Some(0), "{args:?}: {err}");
    }
    let out = rbtui(dir.path(), &["postmortem", "n.md", "--out", "-"]);
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("# Postmortem draft"));
    assert!(!dir.path().join("-").exists(), "no file named -");
    assert_eq!(
        rbtui(dir.path(), &["postmortem", "n.md"]).status.code(),
        Some(0)
    );
    let again = rbtui(dir.path(), &["postmortem", "n.md"]);
    let err = String::from_utf8_lossy(&again.stderr);
    assert!(
        err.contains("a draft is never written over") && err.contains("--out -"),
        "{err}"
    );
}

/// A FIFO or a device given as the note never blocks nor reads forever:
/// export, postmortem and --resume each say so in one line (before, a
/// FIFO blocked them and /dev/zero read until memory ran out).
#[test]
fn a_note_that_is_not_a_regular_file_is_refused_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("n.md");
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: mkfifo on a path made here.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    for args in [
        vec!["note", "export", "n.md"],
        vec!["postmortem", "n.md"],
        vec!["note", "export", "/dev/zero"],
        vec!["demo", "--resume", "n.md"],
    ] {
        let t0 = std::time::Instant::now();
        let out = rbtui(dir.path(), &args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            t0.elapsed() < std::time::Duration::from_secs(10),
            "{args:?} blocked"
        );
        assert!(!out.status.success(), "{args:?}: {err}");
        assert!(err.contains("not a regular file"), "{args:?}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{args:?}: {err}");
    }
}

/// Runbooks, status templates and drills next to the config are read as
/// the config is: a directory, a FIFO or a dangling symlink standing at
/// the name is one line naming it (seen: each was silently skipped, and a
/// FIFO runbook would have blocked the start).
#[test]
fn files_beside_the_config_that_are_not_regular_files_are_said() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(
        d.join("rbtui.toml"),
        "[[target]]\nname = \"checkout\"\nkind = \"demo\"\nenvironment = \"staging\"\n",
    )
    .unwrap();
    for sub in ["templates", "runbooks", "drills"] {
        std::fs::create_dir(d.join(sub)).unwrap();
    }
    let said = |args: &[&str], want: &str| {
        let t0 = std::time::Instant::now();
        let out = rbtui(d, args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            t0.elapsed() < std::time::Duration::from_secs(10),
            "{args:?} blocked"
        );
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert_eq!(err.trim(), want);
    };
    std::fs::create_dir(d.join("templates/p0.txt")).unwrap();
    said(
        &["status"],
        "templates/p0.txt: a status template is a directory; it must be a regular file",
    );
    std::fs::remove_dir(d.join("templates/p0.txt")).unwrap();
    let fifo =
        std::ffi::CString::new(d.join("runbooks/kubernetes.toml").to_str().unwrap()).unwrap();
    // SAFETY: mkfifo on a path made here.
    assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0);
    said(
        &["status"],
        "runbooks/kubernetes.toml: a runbook is not a regular file (a FIFO, socket or device); it must be a regular file",
    );
    std::fs::remove_file(d.join("runbooks/kubernetes.toml")).unwrap();
    std::os::unix::fs::symlink("/nowhere", d.join("drills/bad-fallback.toml")).unwrap();
    said(
        &["--rehearsal", "--drill", "bad-fallback", "status"],
        "drills/bad-fallback.toml: the drill is a symlink to nothing (No such file or directory (os error 2))",
    );
}

/// Seen: the README's example config, copied verbatim, died on the first
/// backend without a credential (a missing token, CA file or kubeconfig),
/// one at a time and without a position. Now every target is listed; the
/// ones that cannot be set up are one-line rows naming their place in the
/// file, and `status` exits 3.
#[test]
fn the_readme_config_verbatim_lists_every_target_with_its_errors_placed() {
    let readme = include_str!("../README.md");
    let toml = readme
        .split("```toml\n")
        .nth(1)
        .and_then(|r| r.split("\n```").next())
        .expect("the README's example config");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("rbtui.toml"), toml).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_rbtui"))
        .arg("status")
        .current_dir(dir.path())
        .env("XDG_CONFIG_HOME", dir.path().join("no-xdg"))
        .env("HOME", dir.path())
        .env_remove("KUBECONFIG")
        .env_remove("ARGOCD_AUTH_TOKEN")
        .env_remove("ARGOCD_SERVER")
        .env(
            "DOCKER_HOST",
            format!("unix://{}/no-engine.sock", dir.path().display()),
        )
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(3),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let config = rbtui::config::Config::parse("rbtui.toml", toml).unwrap();
    for t in &config.targets {
        let row = text
            .lines()
            .find(|l| l.split_whitespace().next() == Some(t.name.as_str()))
            .unwrap_or_else(|| panic!("{} listed:\n{text}", t.name));
        if !matches!(t.platform, rbtui::config::Platform::Demo(_)) {
            assert!(
                row.contains(&format!("{}: target `{}`: ", t.at, t.name)),
                "placed: {row}"
            );
        }
    }
    for cause in [
        "no Argo CD token",
        "no usable kubeconfig",
        "cannot connect to the Docker engine",
    ] {
        assert!(text.contains(cause), "{cause}:\n{text}");
    }
}

/// `rbtui check` on the embedded demo, as a newcomer's first run reads it
/// (a snapshot: every target's checks and the note directory's).
#[test]
fn check_on_the_demo_reads_as_a_table() {
    let dir = tempfile::tempdir().unwrap();
    let out = rbtui(dir.path(), &["demo", "check"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path("../snapshots");
    settings.set_prepend_module_to_snapshot(false);
    settings.bind(|| insta::assert_snapshot!("43_check_demo", text));
    let json = rbtui(dir.path(), &["demo", "check", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert!(
        v.as_array()
            .unwrap()
            .iter()
            .all(|l| l["ok"] == true && l["check"].is_string())
    );
}
