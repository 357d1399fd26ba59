//! The incident note: a Markdown file appended as things happen. Every entry
//! is written, flushed and fsync'd before the screen calls it recorded, so a
//! crash or `kill -9` loses nothing the operator saw as recorded.

pub mod evidence;
pub mod export;
pub mod formats;
pub mod held;
pub mod postmortem;
pub mod quota;
pub mod render;
pub mod resume;

use crate::core::action::NoteEntry;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

/// What the note is written to: a file, or a file behind a quota in drills
/// and tests. Truncation is what keeps entries whole after a failed write.
pub trait NoteFile: Send {
    fn write_all(&mut self, bytes: &[u8]) -> std::io::Result<()>;
    fn sync(&mut self) -> std::io::Result<()>;
    /// Cuts the file back to `len` bytes (the end of the last whole entry).
    fn truncate(&mut self, len: u64) -> std::io::Result<()>;
    fn len(&self) -> std::io::Result<u64>;
}

impl NoteFile for File {
    fn write_all(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        Write::write_all(self, bytes)?;
        self.flush()
    }
    fn sync(&mut self) -> std::io::Result<()> {
        self.sync_data()
    }
    fn truncate(&mut self, len: u64) -> std::io::Result<()> {
        self.set_len(len)
    }
    fn len(&self) -> std::io::Result<u64> {
        Ok(self.metadata()?.len())
    }
}

/// Append-only handle on the note file. Every append is all or nothing: a
/// write that fails part-way (disk full) is cut back off, so the next entry
/// starts on a line of its own and the note never holds half an entry.
pub struct NoteWriter {
    file: Box<dyn NoteFile>,
    path: PathBuf,
    /// End of the last whole entry.
    whole: u64,
    /// A failed write could not be cut back: start the next one on a new line.
    torn: bool,
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
        let mut w = NoteWriter::on(Box::new(file), path)?;
        w.write_whole(if existed { resumed } else { header })?;
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

    /// A writer on an already opened file (a quota in drills and tests).
    pub fn on(file: Box<dyn NoteFile>, path: &Path) -> std::io::Result<NoteWriter> {
        let whole = file.len()?;
        Ok(NoteWriter {
            file,
            path: path.to_path_buf(),
            whole,
            torn: false,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn append(&mut self, e: &NoteEntry) -> std::io::Result<()> {
        self.write_whole(&render::entry(e))
    }

    fn write_whole(&mut self, text: &str) -> std::io::Result<()> {
        let text = if self.torn {
            format!("\n{text}")
        } else {
            text.to_string()
        };
        let r = self
            .file
            .write_all(text.as_bytes())
            .and_then(|()| self.file.sync());
        match r {
            Ok(()) => {
                self.whole += text.len() as u64;
                self.torn = false;
                Ok(())
            }
            Err(e) => {
                self.torn = self
                    .file
                    .truncate(self.whole)
                    .and_then(|()| self.file.sync())
                    .is_err();
                Err(e)
            }
        }
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
