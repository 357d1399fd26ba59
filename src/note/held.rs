//! Entries the note could not take when the session ended: never lost.
//! They go to a file beside the note, rendered as the note would have
//! them (markers included, so appending the file to the note by hand gives
//! `--resume` and export the whole story), and the caller says so on
//! stderr.

use crate::core::action::NoteEntry;
use std::io::Write;
use std::path::{Path, PathBuf};

/// `<note>.held.md` (or `-2`, `-3`… beside an earlier one): never written
/// over.
pub fn path_for(note: &Path, n: usize) -> PathBuf {
    let suffix = if n <= 1 {
        ".held.md".to_string()
    } else {
        format!(".held-{n}.md")
    };
    let mut p = note.as_os_str().to_owned();
    p.push(suffix);
    PathBuf::from(p)
}

/// The entries as the note would have had them.
pub fn render(entries: &[NoteEntry], error: &str) -> String {
    let mut out = format!(
        "# Entries the incident note could not take ({error})\n\nEach below kept its own time; append them to the note once it can be written.\n\n"
    );
    for e in entries {
        out.push_str(&super::render::entry(e));
    }
    out
}

/// Writes them beside the note, fsync'd; returns where.
pub fn keep(note: &Path, entries: &[NoteEntry], error: &str) -> std::io::Result<PathBuf> {
    let text = render(entries, error);
    let mut n = 1;
    loop {
        let p = path_for(note, n);
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&p)
        {
            Ok(mut f) => {
                f.write_all(text.as_bytes())?;
                f.sync_all()?;
                return Ok(p);
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && n < 100 => n += 1,
            Err(e) => return Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn held_entries_go_beside_the_note_and_never_over_an_earlier_file() {
        let dir = tempfile::tempdir().unwrap();
        let note = dir.path().join("INC-7.md");
        let e = NoteEntry {
            at: "2026-11-22T03:00:00Z".parse().unwrap(),
            kind: crate::core::entry::EntryKind::End,
            target: None,
            text: "session ended".into(),
            details: vec![],
            marker: Some(crate::core::entry::Marker::End),
        };
        let a = keep(&note, std::slice::from_ref(&e), "No space left on device").unwrap();
        let b = keep(&note, &[e], "No space left on device").unwrap();
        assert_eq!(a, dir.path().join("INC-7.md.held.md"));
        assert_eq!(b, dir.path().join("INC-7.md.held-2.md"));
        let text = std::fs::read_to_string(&a).unwrap();
        assert!(text.contains("**end** — session ended"), "{text}");
        assert!(text.contains("\"marker\":\"end\""), "{text}");
    }
}
