//! A note file with a size limit: the disk-full fault, on demand. Drills
//! and tests fill the note's disk with it; the writer must then refuse
//! mutations and keep every entry whole.

use super::NoteFile;
use std::fs::File;
use std::io::{Error, ErrorKind, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Writes to `file` until it would grow past `limit` bytes, then writes
/// what still fits and fails with ENOSPC, as a full disk does.
pub struct Quota {
    pub file: File,
    /// Shared so a test or drill can free space while the writer lives.
    pub limit: Arc<AtomicU64>,
    /// Set in a drill, so the simulated gap in the note says it was
    /// simulated: every injected answer names itself "(drill fault: …)".
    pub fault: Option<&'static str>,
}

impl Quota {
    /// The note of a drill whose `note_disk_full` fault fills the disk.
    pub fn drill(file: File, limit: Arc<AtomicU64>) -> Quota {
        Quota {
            file,
            limit,
            fault: Some("note_disk_full"),
        }
    }
}

impl NoteFile for Quota {
    fn write_all(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        let len = self.file.metadata()?.len();
        let room = self.limit.load(Ordering::SeqCst).saturating_sub(len) as usize;
        if bytes.len() <= room {
            return NoteFile::write_all(&mut self.file, bytes);
        }
        Write::write_all(&mut self.file, &bytes[..room])?;
        self.file.flush()?;
        Err(Error::new(ErrorKind::StorageFull, self.full()))
    }
    fn sync(&mut self) -> std::io::Result<()> {
        self.file.sync_data()
    }
    fn truncate(&mut self, len: u64) -> std::io::Result<()> {
        self.file.set_len(len)
    }
    fn len(&self) -> std::io::Result<u64> {
        Ok(self.file.metadata()?.len())
    }
    fn read_all(&self) -> std::io::Result<Vec<u8>> {
        NoteFile::read_all(&self.file)
    }
    /// The rewrite needs room for the whole new file beside the old one,
    /// as on a real disk.
    fn replace(&mut self, path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
        let len = self.file.metadata()?.len();
        let room = self.limit.load(Ordering::SeqCst).saturating_sub(len);
        if bytes.len() as u64 > room {
            return Err(Error::new(ErrorKind::StorageFull, self.full()));
        }
        NoteFile::replace(&mut self.file, path, bytes)
    }
}

impl Quota {
    fn full(&self) -> String {
        let text = "No space left on device (os error 28)";
        match self.fault {
            Some(f) => format!("{text} (drill fault: {f})"),
            None => text.to_string(),
        }
    }
}
