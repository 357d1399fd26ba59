//! Files rbtui reads (config, keys.toml, notes, drills): each must be a
//! regular file (after symlinks) no bigger than a cap named in the
//! message, and UTF-8 with the position of the first bad byte. A FIFO or
//! /dev/zero given as a note would otherwise block or read until memory
//! runs out; a directory named keys.toml was silently ignored.

use std::io::Read;
use std::path::Path;

/// The cap for an incident note read back (resume, export, postmortem).
pub const NOTE_CAP: u64 = 64 * 1024 * 1024;
/// The cap for a small settings file (keys.toml, a drill).
pub const SMALL_CAP: u64 = 1024 * 1024;

/// The text of a file the operator may or may not have put there (a
/// runbook, a template, a drill next to the config): `None` when nothing
/// stands at the name; anything that does stand there is read as
/// [`read_text`] reads it, so a directory or a FIFO is said, never skipped.
pub fn read_optional(path: &Path, what: &str, cap: u64) -> Result<Option<String>, String> {
    if std::fs::symlink_metadata(path).is_err() {
        return Ok(None);
    }
    read_text(path, what, cap).map(Some)
}

/// The text of `path`, `what` naming it in errors ("keys.toml", "the note").
pub fn read_text(path: &Path, what: &str, cap: u64) -> Result<String, String> {
    let origin = path.display();
    let meta = std::fs::metadata(path).map_err(|e| {
        let dangling = std::fs::symlink_metadata(path).is_ok();
        if dangling {
            format!("{origin}: {what} is a symlink to nothing ({e})")
        } else {
            format!("{origin}: cannot read {what}: {e}")
        }
    })?;
    if !meta.is_file() {
        let kind = if meta.is_dir() {
            "a directory"
        } else {
            "not a regular file (a FIFO, socket or device)"
        };
        return Err(format!(
            "{origin}: {what} is {kind}; it must be a regular file"
        ));
    }
    if meta.len() > cap {
        return Err(format!(
            "{origin}: {} bytes is too large for {what} (at most {cap})",
            meta.len()
        ));
    }
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(cap + 1).read_to_end(&mut bytes))
        .map_err(|e| format!("{origin}: cannot read {what}: {e}"))?;
    if bytes.len() as u64 > cap {
        return Err(format!("{origin}: {what} grew past {cap} bytes while read"));
    }
    String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        let (line, col) = position(e.as_bytes(), at);
        format!("{origin}:{line}:{col}: {what} is not UTF-8 text (byte {at})")
    })
}

/// The line and column of byte `at`, where the bytes before it are
/// UTF-8 (as `valid_up_to` promises); git's blobs are placed the same way.
pub fn position(bytes: &[u8], at: usize) -> (usize, usize) {
    let before = std::str::from_utf8(&bytes[..at.min(bytes.len())]).unwrap_or_default();
    crate::core::fmt::line_col(before, before.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A directory, a FIFO, a device, a dangling symlink, a file past its
    /// cap and a bad byte are each one line naming the file; none blocks.
    #[test]
    #[allow(unsafe_code)] // mkfifo(3) to make a FIFO to read.
    fn what_is_not_a_readable_text_file_is_said_never_read() {
        let d = tempfile::tempdir().unwrap();
        let dir = d.path().join("keys.toml");
        std::fs::create_dir(&dir).unwrap();
        assert!(
            read_text(&dir, "keys.toml", SMALL_CAP)
                .unwrap_err()
                .contains("keys.toml is a directory")
        );
        let fifo = d.path().join("note.md");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: mkfifo on a path made here.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        assert!(
            read_text(&fifo, "the note", NOTE_CAP)
                .unwrap_err()
                .contains("not a regular file")
        );
        assert!(
            read_text(Path::new("/dev/zero"), "the note", NOTE_CAP)
                .unwrap_err()
                .contains("not a regular file")
        );
        let link = d.path().join("gone.toml");
        std::os::unix::fs::symlink(d.path().join("nowhere"), &link).unwrap();
        assert!(
            read_text(&link, "keys.toml", SMALL_CAP)
                .unwrap_err()
                .contains("symlink to nothing")
        );
        let big = d.path().join("big.toml");
        std::fs::write(&big, vec![b'a'; 2048]).unwrap();
        assert!(
            read_text(&big, "keys.toml", 1024)
                .unwrap_err()
                .contains("2048 bytes is too large for keys.toml (at most 1024)")
        );
        let bad = d.path().join("bad.md");
        std::fs::write(&bad, b"# Incident\nok \xe2\x82").unwrap();
        let e = read_text(&bad, "the note", NOTE_CAP).unwrap_err();
        assert!(
            e.ends_with("bad.md:2:4: the note is not UTF-8 text (byte 14)"),
            "{e}"
        );
        assert_eq!(
            read_optional(&d.path().join("absent.toml"), "a runbook", SMALL_CAP),
            Ok(None)
        );
        assert!(
            read_optional(&dir, "a runbook", SMALL_CAP)
                .unwrap_err()
                .contains("is a directory")
        );
        assert!(
            read_optional(&link, "a runbook", SMALL_CAP)
                .unwrap_err()
                .contains("symlink to nothing")
        );
    }
}
