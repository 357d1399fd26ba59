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
pub mod summary;

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
    fn is_empty(&self) -> std::io::Result<bool> {
        Ok(self.len()? == 0)
    }
    /// The file as written so far (the summary is derived from it).
    fn read_all(&self) -> std::io::Result<Vec<u8>> {
        Err(std::io::ErrorKind::Unsupported.into())
    }
    /// Replaces the whole file at once: a reader (or a crash) sees the old
    /// or the new file, never a mix; appends go on to the new one.
    fn replace(&mut self, _path: &Path, _bytes: &[u8]) -> std::io::Result<()> {
        Err(std::io::ErrorKind::Unsupported.into())
    }
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
    fn read_all(&self) -> std::io::Result<Vec<u8>> {
        use std::os::unix::fs::FileExt;
        let mut buf = vec![0; NoteFile::len(self)? as usize];
        self.read_exact_at(&mut buf, 0)?;
        Ok(buf)
    }
    fn replace(&mut self, path: &Path, bytes: &[u8]) -> std::io::Result<()> {
        *self = replaced(path, bytes)?;
        Ok(())
    }
}

/// Writes `bytes` beside `path`, fsyncs, renames it over `path` and
/// returns the handle to append to: the same descriptor, so there is no
/// moment at which appends could go to the unlinked old file.
pub fn replaced(path: &Path, bytes: &[u8]) -> std::io::Result<File> {
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let tmp = path.with_file_name(format!(".{name}.rewrite"));
    let _ = std::fs::remove_file(&tmp);
    let r = (|| {
        let mut f = OpenOptions::new()
            .read(true)
            .append(true)
            .create_new(true)
            .open(&tmp)?;
        if let Ok(m) = std::fs::metadata(path) {
            f.set_permissions(m.permissions())?;
        }
        Write::write_all(&mut f, bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)?;
        sync_dir(path);
        Ok(f)
    })();
    if r.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    r
}

/// Makes a new or renamed directory entry itself durable.
fn sync_dir(path: &Path) {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        if let Ok(d) = File::open(dir) {
            let _ = d.sync_all();
        }
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
    /// What the summary on top is derived from; None where the file cannot
    /// be read back (then the note has no summary, the timeline is whole).
    told: Option<summary::Told>,
    /// The summary block the file holds now.
    shown: String,
    /// Why the last summary rewrite failed (the timeline never depends on
    /// it), and whether that was said yet (`take_summary_failure`).
    pub summary_error: Option<String>,
    summary_unsaid: bool,
}

impl NoteWriter {
    /// Opens (creating parents) for appending. A new file gets `header`; an
    /// existing one (a resume) gets `resumed` instead, so nothing is rewritten.
    pub fn open(path: &Path, header: &str, resumed: &str) -> std::io::Result<NoteWriter> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        let existed = path.exists() && std::fs::metadata(path)?.len() > 0;
        let file = OpenOptions::new()
            .create(true)
            .read(true)
            .append(true)
            .open(path)?;
        let mut w = NoteWriter::on(Box::new(file), path)?;
        w.write_whole(if existed { resumed } else { header })?;
        if !existed {
            sync_dir(path);
        }
        w.seed();
        w.refresh_summary();
        Ok(w)
    }

    /// Appends to an existing note from another process (`rbtui note
    /// attach`) while a console may hold it open: entries only, the summary
    /// never rewritten here — a rename under the console would send its
    /// next appends to the replaced file. The console's next fact rewrites
    /// the summary from the whole note, this entry included.
    pub fn append_only(path: &Path) -> std::io::Result<NoteWriter> {
        let file = OpenOptions::new().append(true).open(path)?;
        let mut w = NoteWriter::on(Box::new(file), path)?;
        w.told = None;
        Ok(w)
    }

    /// A writer on an already opened file (a quota in drills and tests).
    pub fn on(file: Box<dyn NoteFile>, path: &Path) -> std::io::Result<NoteWriter> {
        let whole = file.len()?;
        let mut w = NoteWriter {
            file,
            path: path.to_path_buf(),
            whole,
            torn: false,
            told: None,
            shown: String::new(),
            summary_error: None,
            summary_unsaid: false,
        };
        w.seed();
        Ok(w)
    }

    /// The error of a summary rewrite that just started failing, once: a
    /// stale first screen is said, not left to be read as current.
    pub fn take_summary_failure(&mut self) -> Option<String> {
        if !std::mem::take(&mut self.summary_unsaid) {
            return None;
        }
        self.summary_error.clone()
    }

    /// Reads the note so far: the model the summary is derived from, and
    /// the block it shows now.
    fn seed(&mut self) {
        let Ok(bytes) = self.file.read_all() else {
            return;
        };
        let text = String::from_utf8_lossy(&bytes);
        self.told = Some(summary::Told::read(&text));
        self.shown = summary::block_in(&text).unwrap_or_default().to_string();
    }

    /// Rewrites the summary when what it says changed. A failure leaves
    /// the old summary (and the whole timeline) in place.
    fn refresh_summary(&mut self) {
        let Some(told) = &self.told else {
            return;
        };
        let block = summary::render(told);
        if block == self.shown || self.torn {
            return;
        }
        let r = self.file.read_all().and_then(|bytes| {
            let text = String::from_utf8_lossy(&bytes);
            let new = summary::replaced(&text, &block)
                .ok_or_else(|| std::io::Error::other("the note has no title line"))?;
            self.file.replace(&self.path, new.as_bytes())?;
            Ok(new.len() as u64)
        });
        match r {
            Ok(len) => {
                self.whole = len;
                self.shown = block;
                self.summary_error = None;
            }
            Err(e) => {
                self.summary_unsaid |= self.summary_error.is_none();
                self.summary_error = Some(e.to_string());
            }
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends the entry (all or nothing, fsync'd); then, if it carries a
    /// fact, the summary on top is rewritten from the model it joins.
    pub fn append(&mut self, e: &NoteEntry) -> std::io::Result<()> {
        self.write_whole(&render::entry(e))?;
        if let (Some(m), Some(told)) = (&e.marker, &mut self.told) {
            told.fold(&crate::core::entry::Stamped {
                marker: m.clone(),
                at: e.at,
            });
            self.refresh_summary();
        } else if self.summary_error.is_some() {
            // The last rewrite failed (a full disk): try again now the
            // note takes writes.
            self.refresh_summary();
        }
        Ok(())
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
