//! The incident note: a Markdown file appended as things happen. Every entry
//! is written, flushed and fsync'd before the screen calls it recorded, so a
//! crash or `kill -9` loses nothing the operator saw as recorded.

pub mod render;
pub mod resume;

use crate::core::action::NoteEntry;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Append-only handle on the note file.
pub struct NoteWriter {
    file: File,
    path: PathBuf,
}

impl NoteWriter {
    /// Opens (creating parents) for appending. A new file gets `header`; an
    /// existing one (a resume) gets `resumed` instead, so nothing is rewritten.
    pub fn open(path: &Path, header: &str, resumed: &str) -> std::io::Result<NoteWriter> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        let existed = path.exists() && std::fs::metadata(path)?.len() > 0;
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        let mut w = NoteWriter {
            file,
            path: path.to_path_buf(),
        };
        w.write_durably(if existed { resumed } else { header })?;
        if !existed {
            // Make the new directory entry itself durable.
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                if let Ok(d) = File::open(dir) {
                    let _ = d.sync_all();
                }
            }
        }
        Ok(w)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn append(&mut self, e: &NoteEntry) -> std::io::Result<()> {
        self.write_durably(&render::entry(e))
    }

    fn write_durably(&mut self, text: &str) -> std::io::Result<()> {
        self.file.write_all(text.as_bytes())?;
        self.file.flush()?;
        self.file.sync_data()
    }
}

/// `./incidents/<UTC-timestamp>-<incident>.md`
pub fn default_path(now: chrono::DateTime<chrono::Utc>, incident: &str) -> PathBuf {
    let safe: String = incident
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    PathBuf::from("incidents").join(format!("{}-{safe}.md", now.format("%Y%m%dT%H%M%SZ")))
}
