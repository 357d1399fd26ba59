//! `rbtui note attach NOTE --to REF`: the note as the incident's comment on
//! its ticket (GitHub, GitLab or Jira), with the evidence files; the same
//! comment updated on a later attach (the note records which it is, and
//! the comment carries a key it is found by). Where it went, and when, is
//! recorded in the note only after the system said it took it.

use crate::backend::ticket::{Client, TicketRef};
use crate::config::{Config, TicketConfig};
use crate::core::action::NoteEntry;
use crate::core::entry::EntryKind;
use std::path::Path;
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
    let label = r.label();
    let client = Client::new(r).map_err(|e| e.to_string())?;
    let done = client.attach_file(note).await.map_err(|e| e.to_string())?;
    let (text, details, marker) = crate::core::posting::attached_entry(&label, &done);
    let entry = NoteEntry {
        at: chrono::Utc::now(),
        kind: EntryKind::Ticket,
        target: None,
        text,
        details,
        marker: Some(marker),
    };
    let unrecorded = |e: std::io::Error| {
        format!(
            "the comment IS on the ticket ({}), but the note {} cannot record it: {e}",
            done.url,
            note.display()
        )
    };
    let mut w = crate::note::NoteWriter::append_only(note).map_err(unrecorded)?;
    w.append(&entry).map_err(unrecorded)?;
    Ok(format!("rbtui: {}", entry.text))
}
