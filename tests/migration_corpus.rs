//! The schema gate against its corpus (tests/fixtures/migration_corpus.txt):
//! over 300 real-world-shaped statements and ranges, each with the verdict a
//! reviewer gives. Every mismatch is listed at once, so a change to the
//! classifier shows everything it moved. Where squawk is installed (`.ci/run`
//! installs it from PyPI), the corpus is cross-checked against it: rbtui
//! never says ok where squawk reports a rule that breaks existing clients,
//! unless the corpus records why.
#![allow(clippy::unwrap_used)] // a failed unwrap in a test is a failed test

use rbtui::core::migration::{SqlVerdict, classify_statement};
use std::collections::{HashMap, HashSet};

struct Case {
    range: String,
    line: usize,
    want: SqlVerdict,
    sql: String,
    /// squawk rules the corpus explains (rule → why).
    squawk_ok: HashMap<String, String>,
}

/// The cases, and per range the statements its rollback target's
/// migrations ran (`target  SQL` lines).
fn corpus() -> (Vec<Case>, HashMap<String, Vec<String>>) {
    let text = include_str!("fixtures/migration_corpus.txt");
    let mut out: Vec<Case> = Vec::new();
    let mut targets: HashMap<String, Vec<String>> = HashMap::new();
    let mut range = String::from("(none)");
    let mut pending_squawk = HashMap::new();
    for (i, l) in text.lines().enumerate() {
        if let Some(r) = l.strip_prefix("## range: ") {
            range = r.to_string();
        } else if let Some(s) = l.strip_prefix("! squawk ") {
            let (rule, why) = s.split_once(':').expect("`! squawk RULE: why`");
            pending_squawk.insert(rule.trim().to_string(), why.trim().to_string());
        } else if l.starts_with(char::is_whitespace) && !l.trim().is_empty() {
            let c = out.last_mut().expect("a continuation follows a statement");
            c.sql.push('\n');
            c.sql.push_str(l);
        } else if let Some((word, sql)) = l.split_once(char::is_whitespace) {
            if word == "target" {
                targets
                    .entry(range.clone())
                    .or_default()
                    .push(sql.trim().to_string());
                continue;
            }
            let want = match word {
                "ok" => SqlVerdict::Compatible,
                "review" => SqlVerdict::Review,
                "unsafe" => SqlVerdict::Unsafe,
                _ if word.starts_with('#') => continue,
                _ => panic!("corpus line {}: unknown verdict `{word}`", i + 1),
            };
            out.push(Case {
                range: range.clone(),
                line: i + 1,
                want,
                sql: sql.trim().to_string(),
                squawk_ok: std::mem::take(&mut pending_squawk),
            });
        }
    }
    (out, targets)
}

/// Each case with rbtui's verdict and reason, ranges sharing what they
/// created; a range with `target` lines is read knowing what they create.
fn judged() -> Vec<(Case, SqlVerdict, String)> {
    use rbtui::core::migration::{Created, at_target};
    let mut created: HashMap<String, Created> = HashMap::new();
    let (cases, targets) = corpus();
    cases
        .into_iter()
        .map(|c| {
            let set =
                created
                    .entry(c.range.clone())
                    .or_insert_with(|| match targets.get(&c.range) {
                        Some(sqls) => {
                            let text = sqls.join(";\n") + ";\n";
                            Created::knowing_target(at_target([("target/up.sql", text.as_str())]))
                        }
                        None => Created::default(),
                    });
            let (v, r, _) = classify_statement(&c.sql, set);
            (c, v, r)
        })
        .collect()
}

#[test]
fn the_corpus_gets_the_reviewers_verdicts() {
    let all = judged();
    assert!(all.len() >= 300, "{} cases", all.len());
    let wrong: Vec<String> = all
        .iter()
        .filter(|(c, v, _)| *v != c.want)
        .map(|(c, v, r)| {
            format!(
                "line {} [{}]: want {:?}, got {v:?} ({r})\n    {}",
                c.line,
                c.range,
                c.want,
                c.sql.lines().next().unwrap_or("")
            )
        })
        .collect();
    assert!(
        wrong.is_empty(),
        "{} of {} cases differ:\n{}",
        wrong.len(),
        all.len(),
        wrong.join("\n")
    );
    // Every verdict comes with a reason a reviewer can act on.
    assert!(all.iter().all(|(_, _, r)| !r.is_empty()));
}

/// squawk's rules that mean "existing clients (the old binary) may break",
/// as opposed to its locking and robustness advice.
const CLIENT_BREAKING: &[&str] = &[
    "ban-drop-column",
    "ban-drop-table",
    "ban-drop-database",
    "renaming-column",
    "renaming-table",
    "changing-column-type",
    "adding-required-field",
    "ban-drop-not-null",
    "ban-truncate-cascade",
];

fn squawk_bin() -> Option<String> {
    if let Ok(b) = std::env::var("SQUAWK_BIN") {
        return Some(b);
    }
    std::env::var_os("PATH").and_then(|p| {
        std::env::split_paths(&p)
            .map(|d| d.join("squawk"))
            .find(|f| f.is_file())
            .map(|f| f.display().to_string())
    })
}

#[test]
#[cfg_attr(
    not(squawk_bin),
    ignore = "needs squawk: pip install squawk-cli (or set SQUAWK_BIN)"
)]
fn rbtui_never_says_ok_where_squawk_sees_a_client_break() {
    let Some(bin) = squawk_bin() else {
        panic!("squawk is missing: .ci/run installs squawk-cli from PyPI")
    };
    let all = judged();
    let dir = tempfile::tempdir().unwrap();
    for (i, (c, _, _)) in all.iter().enumerate() {
        std::fs::write(
            dir.path().join(format!("{i:04}.sql")),
            format!("{};\n", c.sql),
        )
        .unwrap();
    }
    let out = std::process::Command::new(&bin)
        .arg("--reporter")
        .arg("json")
        .arg("--pg-version")
        .arg("15")
        .arg(dir.path().join("*.sql"))
        .output()
        .expect("squawk runs");
    let text = String::from_utf8_lossy(&out.stdout);
    let found: Vec<serde_json::Value> = serde_json::from_str(&text).unwrap_or_else(|e| {
        panic!(
            "squawk's JSON: {e}\n{text}\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    let mut rules: HashMap<usize, HashSet<String>> = HashMap::new();
    for f in &found {
        let file = f["file"].as_str().unwrap_or_default();
        let Some(i) = std::path::Path::new(file)
            .file_stem()
            .and_then(|s| s.to_str())
            .and_then(|s| s.parse::<usize>().ok())
        else {
            continue;
        };
        rules
            .entry(i)
            .or_default()
            .insert(f["rule_name"].as_str().unwrap_or_default().to_string());
    }
    assert!(
        rules.values().any(|r| r.contains("ban-drop-column")),
        "squawk read the corpus: {text}"
    );
    let mut disagree = Vec::new();
    let mut explained = 0;
    for (i, (c, v, r)) in all.iter().enumerate() {
        let Some(rs) = rules.get(&i) else { continue };
        for rule in rs.iter().filter(|r| CLIENT_BREAKING.contains(&r.as_str())) {
            if *v != SqlVerdict::Compatible {
                continue;
            }
            // A change to what this range itself created: squawk reads one
            // statement and cannot know the old code never saw the object.
            if c.squawk_ok.contains_key(rule) || r.contains("in this range") {
                explained += 1;
                continue;
            }
            disagree.push(format!(
                "line {} [{}]: rbtui ok ({r}), squawk {rule}\n    {}",
                c.line,
                c.range,
                c.sql.lines().next().unwrap_or("")
            ));
        }
    }
    eprintln!(
        "squawk flagged {} of {} cases; {explained} client-breaking flags are on objects the range created",
        rules.len(),
        all.len()
    );
    assert!(disagree.is_empty(), "{}", disagree.join("\n"));
}
