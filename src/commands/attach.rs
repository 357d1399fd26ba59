//! `rbtui note attach NOTE --to REF`: the note as the incident's comment on
//! its ticket (GitHub, GitLab or Jira), with the evidence files; the same
//! comment updated on a later attach (the note records which it is, and
//! the comment carries a key it is found by). Where it went, and when, is
//! recorded in the note only after the system said it took it.

use crate::backend::ticket::{Attached, Body, Client, TicketRef};
use crate::config::{Config, TicketConfig, TicketSystem};
use crate::core::action::NoteEntry;
use crate::core::entry::{EntryKind, Marker};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

pub async fn attach_note(note: &Path, to: Option<&str>, config: Option<&Path>) -> ExitCode {
    match attach(note, to, config).await {
        Ok(line) => {
            super::emit(&format!("{line}\n"));
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("rbtui: {e}");
            ExitCode::from(2)
        }
    }
}

async fn attach(note: &Path, to: Option<&str>, config: Option<&Path>) -> Result<String, String> {
    let cfg = match Config::locate(config) {
        Some(p) => Config::load(&p)?.ticket,
        None => TicketConfig::default(),
    };
    let to = to.or(cfg.issue.as_deref()).ok_or(
        "say which ticket: --to with the issue's URL (or owner/repo#N, KEY-N with [ticket] system in the config), or [ticket] issue",
    )?;
    let r = TicketRef::parse(to, &cfg).map_err(|e| e.to_string())?;
    let text = crate::files::read_text(note, "the note", crate::files::NOTE_CAP)?;
    let x = crate::note::export::read(&text);
    if x.entries.is_empty() {
        return Err(format!("{} has no timeline entries (not an rbtui note, or nothing recorded yet)", note.display()));
    }
    let label = r.label();
    let known = crate::note::resume::markers(&text).into_iter().rev().find_map(|m| match m.marker {
        Marker::Attached { ticket, comment, .. } if ticket == label => Some(comment),
        _ => None,
    });
    let body = body(&x, r.system);
    let files = files(note, &x, r.system);
    let client = Client::new(r).map_err(|e| e.to_string())?;
    let done = client.attach(body, known.as_deref(), &files).await.map_err(|e| e.to_string())?;
    let entry = entry(&label, &done);
    let unrecorded = |e: std::io::Error| {
        format!("the comment IS on the ticket ({}), but the note {} cannot record it: {e}", done.url, note.display())
    };
    let mut w = crate::note::NoteWriter::open(note, "", "").map_err(unrecorded)?;
    w.append(&entry).map_err(unrecorded)?;
    Ok(format!("rbtui: {}", entry.text))
}

/// The comment: a GitHub/GitLab Markdown comment opens with a hidden key
/// (an HTML comment both hide); Jira's is found by its title line.
fn body(x: &crate::note::export::Export, system: TicketSystem) -> Body {
    let id = x.incident.as_deref().unwrap_or("(no id)");
    let (text, key) = match system {
        TicketSystem::Jira => {
            let text = crate::note::formats::jira(x);
            let key = text.lines().next().unwrap_or_default().trim_start_matches("h3. ").to_string();
            (text, key)
        }
        _ => {
            let key = format!("<!-- rbtui-incident: {id} -->");
            (format!("{key}\n{}", crate::note::formats::markdown(x)), key)
        }
    };
    Body { text: crate::core::redact::redact(&text), key }
}

/// The evidence files the note names (beside it), and for Jira the note
/// itself; each once, only those that exist.
fn files(note: &Path, x: &crate::note::export::Export, system: TicketSystem) -> Vec<PathBuf> {
    let dir = note.parent().unwrap_or(Path::new(""));
    let mut out: Vec<PathBuf> = Vec::new();
    if system == TicketSystem::Jira {
        out.push(note.to_path_buf());
    }
    for p in x.entries.iter().flat_map(|e| e.evidence.iter()) {
        let p = if Path::new(p).is_absolute() { PathBuf::from(p) } else { dir.join(p) };
        if p.is_file() && !out.contains(&p) {
            out.push(p);
        }
    }
    out
}

fn entry(label: &str, a: &Attached) -> NoteEntry {
    let mut details = Vec::new();
    if !a.uploaded.is_empty() {
        details.push(format!("uploaded: {}", a.uploaded.join(", ")));
    }
    if !a.already.is_empty() {
        details.push(format!("already on the ticket (not uploaded again): {}", a.already.join(", ")));
    }
    if a.cut {
        details.push("the comment was cut at an entry to fit the system's size limit; the whole note stays here".into());
    }
    NoteEntry {
        at: chrono::Utc::now(),
        kind: EntryKind::Ticket,
        target: None,
        text: format!(
            "note attached to {label}: comment {} {} — {}",
            a.comment,
            if a.updated { "updated in place" } else { "posted" },
            a.url
        ),
        details,
        marker: Some(Marker::Attached { ticket: label.to_string(), comment: a.comment.clone(), url: a.url.clone() }),
    }
}
