//! `rbtui status | history | plan`: the console's answers as text or JSON,
//! computed by the same core and backends. None of them mutates anything.

use crate::cli::Read;
use crate::core::fmt::{ago, ellipsize};
use crate::core::model::Health;
use crate::core::verdict;
use crate::session::Session;
use std::process::ExitCode;

/// Appends a line to the output buffer; the whole answer is written at once
/// so a closed pipe (`| head`) ends the command quietly instead of panicking.
macro_rules! outln {
    ($o:expr, $($t:tt)*) => {{
        use std::fmt::Write as _;
        let _ = writeln!($o, $($t)*);
    }};
}

mod attach;
mod check;
mod plan;

pub use attach::attach_note;

/// Writes the whole answer at once; a closed pipe is not an error.
fn emit(out: &str) {
    use std::io::Write as _;
    // What scripts and tickets read is redacted like the note.
    let out = crate::core::redact::redact(out);
    let mut so = std::io::stdout().lock();
    let _ = so.write_all(out.as_bytes()).and_then(|_| so.flush());
}

/// A column as wide as its longest value (at least `min`).
fn width<'a>(values: impl Iterator<Item = &'a str>, min: usize) -> usize {
    values.map(str::len).max().unwrap_or(0).max(min)
}

pub async fn run(cmd: Read, s: &Session) -> ExitCode {
    let mut out = String::new();
    let r = exec(cmd, s, &mut out).await;
    emit(&out);
    match r {
        Ok(code) => code,
        Err(e) => {
            eprintln!("rbtui: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `rbtui migrations`: the gate on a git range, for CI and for the
/// on-call's second screen. Exits 2 on UNSAFE, 1 when the check failed.
pub async fn migrations(
    repo: &std::path::Path,
    from: &str,
    to: &str,
    globs: &[String],
    as_json: bool,
) -> ExitCode {
    use crate::core::migration::{MigrationVerdict, SqlVerdict};
    let g = crate::backend::git_migrations::GitMigrations::new(
        repo.to_path_buf(),
        (!globs.is_empty()).then(|| globs.to_vec()),
        None,
    );
    let rev = |id: &str| crate::core::model::Revision {
        id: id.into(),
        deployed_at: None,
        images: vec![],
        git_sha: Some(id.into()),
        message: String::new(),
        author: None,
        current: false,
    };
    // The diff runs from the rollback target up to what runs now.
    let d = g.diff("repo", &rev(to), &rev(from)).await;
    let mut out = String::new();
    if as_json {
        // Named as on the command line: `from_rev` is --from (the rollback
        // target), `to_rev` is --to (what runs now), as the header `A..B`.
        let mut shown = d.clone();
        std::mem::swap(&mut shown.from_rev, &mut shown.to_rev);
        match json(&shown) {
            Ok(j) => outln!(out, "{j}"),
            Err(e) => eprintln!("rbtui: {e}"),
        }
    } else {
        outln!(
            out,
            "schema gate {from}..{to} in {}: {}",
            repo.display(),
            d.verdict.label()
        );
        for f in &d.files {
            let v = f.verdict_label();
            outln!(out, "{} ({}): {v}", f.path, f.change);
            for st in &f.statements {
                outln!(
                    out,
                    "  {:>4} {:<3} {}",
                    st.line,
                    st.verdict.mark(),
                    st.reason
                );
            }
        }
    }
    emit(&out);
    match &d.verdict {
        MigrationVerdict::Found(SqlVerdict::Unsafe) => ExitCode::from(2),
        MigrationVerdict::Error(e) => {
            eprintln!("rbtui: {e}");
            ExitCode::FAILURE
        }
        _ => ExitCode::SUCCESS,
    }
}

fn json<T: serde::Serialize>(v: &T) -> Result<String, String> {
    serde_json::to_string_pretty(v).map_err(|e| e.to_string())
}

/// A target, its health and verdict, or why it could not be read.
type StatusRow = (
    crate::core::model::TargetInfo,
    Option<Health>,
    Option<verdict::Verdict>,
    Option<String>,
);

async fn exec(cmd: Read, s: &Session, out: &mut String) -> Result<ExitCode, String> {
    let b = &s.backend;
    let targets = b.targets().await.map_err(|e| e.to_string())?;
    let now = chrono::Utc::now();
    match cmd {
        Read::Status { json: as_json } => status(s, targets, as_json, now, out).await,
        Read::History {
            target,
            json: as_json,
        } => history(s, &targets, &target, as_json, now, out).await,
        Read::Check { json: as_json } => check::run(s, &targets, as_json, out).await,
        Read::Drills { json: as_json } => drills(s, &targets, as_json, now, out),
        Read::Plan {
            target,
            group,
            to,
            exact_template,
            retag,
            json: as_json,
        } => match (target, group) {
            (_, Some(g)) => plan::group(s, &g, &to, as_json, now, out).await,
            (Some(t), None) => {
                let form = plan::Form {
                    exact_template,
                    retag,
                };
                plan::one(s, &targets, &t, &to, form, as_json, now, out).await
            }
            (None, None) => Err("name a target, or a group with --group".into()),
        },
    }
}

/// `rbtui status`: every target worst first; exit 3 when one could not be read.
async fn status(
    s: &Session,
    targets: Vec<crate::core::model::TargetInfo>,
    as_json: bool,
    now: chrono::DateTime<chrono::Utc>,
    out: &mut String,
) -> Result<ExitCode, String> {
    let b = &s.backend;
    let mut rows: Vec<StatusRow> = Vec::new();
    // Not before every configured signal was read once (bounded by
    // the signal timeouts): the first answer is the one that counts.
    let unread_signals = b.first_readings(std::time::Duration::from_secs(10)).await;
    let healths = b.health_all().await;
    for t in targets {
        let h = healths.iter().find_map(|r| match r {
            Ok(h) if h.target == t.name => Some(Ok(h.clone())),
            Err((n, e)) if *n == t.name => Some(Err(e.to_string())),
            _ => None,
        });
        let (h, err) = match h {
            Some(Ok(h)) => (Some(h), None),
            Some(Err(e)) => (None, Some(e)),
            None => (None, Some("no data".into())),
        };
        let v = h
            .as_ref()
            .map(|h| verdict::evaluate(h, &s.settings.thresholds, now));
        rows.push((t, h, v, err));
    }
    // Exit 3: printed what could be read, but some targets could
    // not be (a cron job must not read "all fine" from silence).
    let unread = rows.iter().any(|r| r.3.is_some());
    rows.sort_by(|a, b| {
        let sa = a.2.as_ref().map(|v| v.severity);
        let sb = b.2.as_ref().map(|v| v.severity);
        sb.cmp(&sa).then(a.0.name.cmp(&b.0.name))
    });
    if as_json {
        let v: Vec<serde_json::Value> = rows
            .iter()
            .map(|(t, h, v, e)| serde_json::json!({"target": t, "health": h, "verdict": v, "error": e}))
            .collect();
        outln!(out, "{}", json(&v)?);
    } else {
        table(rows, out);
    }
    for m in &unread_signals {
        eprintln!("rbtui: no first reading within 10s: {m}");
    }
    Ok(if unread {
        ExitCode::from(3)
    } else {
        ExitCode::SUCCESS
    })
}

/// `rbtui status` as a table; columns as wide as their longest value.
fn table(rows: Vec<StatusRow>, out: &mut String) {
    // A long name or an environment like `staging (prod)` never shifts
    // the rest.
    let nw = width(rows.iter().map(|r| r.0.name.as_str()), 16);
    let ew = width(rows.iter().map(|r| r.0.environment.as_str()), 10);
    outln!(
        out,
        "{:<nw$} {:<11} {:<ew$} {:<9} {:>7} {:>7} {:>8}  {}",
        "TARGET",
        "KIND",
        "ENV",
        "VERDICT",
        "READY",
        "5XX",
        "P95",
        "WHY"
    );
    for (t, h, v, e) in rows {
        let ready = h
            .as_ref()
            .map(|h| format!("{}/{}", h.ready, h.desired))
            .unwrap_or("-".into());
        let err = h
            .as_ref()
            .and_then(|h| h.error_rate)
            .map(|r| format!("{:.1}%", r * 100.0))
            .unwrap_or("-".into());
        let p95 = h
            .as_ref()
            .and_then(|h| h.latency_p95_ms)
            .map(|l| format!("{l:.0}ms"))
            .unwrap_or("-".into());
        let sev = v.as_ref().map(|v| v.severity.label()).unwrap_or("unknown");
        let why = v
            .as_ref()
            .map(|v| v.reasons.join("; "))
            .or(e)
            .unwrap_or_default();
        outln!(
            out,
            "{:<nw$} {:<11} {:<ew$} {:<9} {:>7} {:>7} {:>8}  {}",
            t.name,
            t.kind.label(),
            t.environment,
            sev,
            ready,
            err,
            p95,
            why
        );
    }
}

/// `rbtui history TARGET`: its revisions, newest first.
async fn history(
    s: &Session,
    targets: &[crate::core::model::TargetInfo],
    target: &str,
    as_json: bool,
    now: chrono::DateTime<chrono::Utc>,
    out: &mut String,
) -> Result<ExitCode, String> {
    let b = &s.backend;
    let t = targets
        .iter()
        .find(|t| t.name == target)
        .ok_or_else(|| format!("unknown target `{target}`"))?;
    let h = b.history(&t.name).await.map_err(|e| e.to_string())?;
    // A registry that did not answer is a failed read (exit 3),
    // with its cause, whatever the format.
    let unread = match &h.facts.retained {
        Some((repo, Err(e))) => Some(format!("the registry of {repo} was not read: {e}")),
        _ => None,
    };
    let code = if unread.is_some() {
        ExitCode::from(3)
    } else {
        ExitCode::SUCCESS
    };
    if let Some(u) = &unread {
        eprintln!("rbtui: {u}");
    }
    if as_json {
        outln!(out, "{}", json(&h)?);
        return Ok(code);
    }
    outln!(
        out,
        "{} ({}, {}) — {}",
        t.name,
        t.kind.label(),
        t.environment,
        t.location
    );
    if let Some(n) = &h.facts.history_note {
        outln!(out, "note: {n}");
    }
    outln!(
        out,
        "{:<10} {:<8} {:<34} {:<9} {:<22} {}",
        t.kind.revision_word().to_uppercase(),
        "MARK",
        "IMAGE (TAG@DIGEST)",
        "SHA",
        "WHO",
        "WHAT"
    );
    for r in &h.revisions {
        let mark = if r.current {
            "CURRENT"
        } else if h.known_bad.contains(&r.id) {
            "BAD"
        } else if h.last_known_good.as_deref() == Some(r.id.as_str()) {
            "LKG"
        } else if h.previous().map(|p| &p.id) == Some(&r.id) {
            "previous"
        } else {
            ""
        };
        let img = r
            .images
            .first()
            .map(|i| {
                format!(
                    "{}@{}",
                    i.tag.as_deref().unwrap_or("-"),
                    i.digest
                        .as_deref()
                        .map(crate::core::model::short_digest)
                        .unwrap_or_else(|| "no-digest".into())
                )
            })
            .unwrap_or_default();
        let when = r.deployed_at.map(|d| ago(d, now)).unwrap_or_default();
        outln!(
            out,
            "{:<10} {:<8} {:<34} {:<9} {:<22} {} ({when})",
            r.id,
            mark,
            ellipsize(&img, 34),
            r.git_sha
                .as_deref()
                .map(|s| &s[..s.len().min(7)])
                .unwrap_or("-"),
            ellipsize(r.author.as_deref().unwrap_or("-"), 22),
            r.message
        );
    }
    Ok(code)
}

/// `rbtui drills`: when each runbook last worked; exit 4 when one is stale.
fn drills(
    s: &Session,
    targets: &[crate::core::model::TargetInfo],
    as_json: bool,
    now: chrono::DateTime<chrono::Utc>,
    out: &mut String,
) -> Result<ExitCode, String> {
    let days = s.settings.drill_stale_days;
    let rows: Vec<_> = targets
        .iter()
        .map(|t| {
            let w = s.last_worked.get(&t.name).copied().unwrap_or_default();
            (t, w, w.stale(now, days))
        })
        .collect();
    let day = |d: Option<chrono::DateTime<chrono::Utc>>| {
        d.map(|d| d.format("%Y-%m-%d").to_string())
            .unwrap_or_else(|| "never".into())
    };
    if as_json {
        let v: Vec<serde_json::Value> = rows
            .iter()
            .map(|(t, w, stale)| {
                serde_json::json!({"target": t.name, "kind": t.kind.label(), "environment": t.environment,
                    "last_drill": w.drill, "last_rollback": w.real, "stale": stale, "stale_after_days": days})
            })
            .collect();
        outln!(out, "{}", json(&v)?);
    } else {
        let nw = width(rows.iter().map(|r| r.0.name.as_str()), 16);
        outln!(
            out,
            "{:<nw$} {:<11} {:<11} {:<13} {}",
            "TARGET",
            "KIND",
            "LAST DRILL",
            "LAST ROLLBACK",
            format!("STATUS (stale after {days} days)")
        );
        for (t, w, stale) in &rows {
            outln!(
                out,
                "{:<nw$} {:<11} {:<11} {:<13} {}",
                t.name,
                t.kind.label(),
                day(w.drill),
                day(w.real),
                if *stale {
                    "STALE: drill it (rbtui --rehearsal)"
                } else {
                    "ok"
                }
            );
        }
    }
    Ok(if rows.iter().any(|r| r.2) {
        ExitCode::from(4)
    } else {
        ExitCode::SUCCESS
    })
}

/// `rbtui postmortem NOTE [--out PATH | --out -]`.
pub fn postmortem(note: &std::path::Path, out: Option<&std::path::Path>) -> ExitCode {
    // `--out -` is standard output, as everywhere else.
    if out.is_some_and(|o| o.as_os_str() == "-") {
        return match crate::note::export::read_file(note) {
            Ok(x) => {
                let now = chrono::Utc::now();
                emit(&crate::note::postmortem::draft(
                    &x,
                    &note.display().to_string(),
                    now,
                ));
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("rbtui: {e}");
                ExitCode::from(2)
            }
        };
    }
    match crate::note::postmortem::write_next_to(note, out, chrono::Utc::now()) {
        Ok(p) => {
            emit(&format!("{p}\n"));
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("rbtui: {e}");
            ExitCode::from(2)
        }
    }
}

/// `rbtui note export NOTE [--json]`. The whole answer is written at once:
/// a reader that stops early (`| head`) ends it quietly, never a panic.
pub fn export_note(note: &std::path::Path, format: crate::cli::ExportFormat) -> ExitCode {
    use crate::cli::ExportFormat as F;
    let json = format == F::Json;
    let x = match crate::note::export::read_file(note) {
        Ok(x) => x,
        Err(e) => {
            eprintln!("rbtui: {e}");
            return ExitCode::from(2);
        }
    };
    let mut out = String::new();
    if json {
        match serde_json::to_string_pretty(&x) {
            Ok(s) => outln!(out, "{s}"),
            Err(e) => {
                eprintln!("rbtui: {e}");
                return ExitCode::FAILURE;
            }
        }
    } else if format == F::Markdown {
        out.push_str(&crate::note::formats::markdown(&x));
    } else if format == F::Jira {
        out.push_str(&crate::note::formats::jira(&x));
    } else {
        for e in &x.entries {
            outln!(
                out,
                "{}  {:<10} {:<14} {}",
                e.at.map(|a| a.format("%Y-%m-%dT%H:%M:%SZ").to_string())
                    .unwrap_or_else(|| "?".into()),
                e.kind,
                e.target.as_deref().unwrap_or("-"),
                e.text
            );
        }
    }
    emit(&out);
    ExitCode::SUCCESS
}
