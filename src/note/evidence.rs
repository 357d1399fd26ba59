//! Evidence files beside the note (`<note>.evidence/`): what a failing
//! revision left — logs, events, status — kept before a rollback replaces
//! the pods or containers that hold it. Redacted like the note, each capped
//! (the tail is kept: a crash's last lines are what explain it), never
//! written over an existing file, and fsync'd before the note links them.

use crate::core::action::SavedEvidence;
use crate::core::model::EvidenceFile;
use std::io::Write;
use std::path::Path;

/// Per file. A crash loop's previous container rarely logs more before it
/// dies; a chatty one is cut to its tail.
pub const MAX_FILE_BYTES: usize = 256 * 1024;

/// Writes each file as `<stamp>-<target>-<name>` in `dir`; paths come back
/// relative to the note's folder (`<note file>.evidence/<file>`).
pub fn write(
    dir: &Path,
    stamp: &str,
    target: &str,
    files: &[EvidenceFile],
) -> Result<Vec<SavedEvidence>, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let folder = dir
        .file_name()
        .map(|f| f.to_string_lossy().to_string())
        .unwrap_or_default();
    let mut out = Vec::new();
    for f in files {
        if let Some(why) = &f.unread {
            out.push(SavedEvidence {
                path: String::new(),
                what: f.what.clone(),
                bytes: 0,
                cut: false,
                unread: Some(why.clone()),
            });
            continue;
        }
        let base = safe(&format!("{stamp}-{target}-{}", f.name));
        let (text, cut) = capped(&crate::note::render::redact(&f.text));
        // Each file on its own: one that cannot be written (a full disk)
        // leaves nothing behind and is said; the ones written are linked.
        let written = create_new(dir, &base).and_then(|(name, mut file)| {
            let path = dir.join(&name);
            match file
                .write_all(text.as_bytes())
                .and_then(|_| file.sync_all())
            {
                Ok(()) => Ok(name),
                Err(e) => {
                    drop(file);
                    let _ = std::fs::remove_file(&path);
                    Err(format!("{}: {e}", path.display()))
                }
            }
        });
        out.push(match written {
            Ok(name) => SavedEvidence {
                path: format!("{folder}/{name}"),
                what: f.what.clone(),
                bytes: text.len(),
                cut,
                unread: None,
            },
            Err(e) => SavedEvidence {
                path: String::new(),
                what: f.what.clone(),
                bytes: 0,
                cut: false,
                unread: Some(format!("could not be written beside the note ({e})")),
            },
        });
    }
    // The folder's entry itself, so the files are found after a crash.
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(out)
}

/// A file that did not exist: `base`, else `base` with `-2`, `-3`… before
/// its extension (two saves in one second never overwrite each other).
fn create_new(dir: &Path, base: &str) -> Result<(String, std::fs::File), String> {
    let (stem, ext) = match base.rsplit_once('.') {
        Some((s, e)) => (s, format!(".{e}")),
        None => (base, String::new()),
    };
    for n in 1..=20 {
        let name = if n == 1 {
            base.to_string()
        } else {
            format!("{stem}-{n}{ext}")
        };
        let path = dir.join(&name);
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
        {
            Ok(f) => return Ok((name, f)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(format!("{}: {e}", path.display())),
        }
    }
    Err(format!(
        "{}: 20 files of that name exist already",
        dir.join(base).display()
    ))
}

/// The last [`MAX_FILE_BYTES`] of `text` (on a line start where one is
/// near), with a first line saying how much was cut.
fn capped(text: &str) -> (String, bool) {
    if text.len() <= MAX_FILE_BYTES {
        return (text.to_string(), false);
    }
    let mut start = text.len() - MAX_FILE_BYTES;
    while !text.is_char_boundary(start) {
        start += 1;
    }
    if let Some(nl) = text[start..].find('\n').filter(|&i| i < 4096) {
        start += nl + 1;
    }
    (
        format!(
            "[rbtui: the first {start} bytes were cut; the last {} are kept]\n{}",
            text.len() - start,
            &text[start..]
        ),
        true,
    )
}

/// A file name from platform names (pods, containers): no path separators,
/// nothing a shell or a Markdown link trips on.
fn safe(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(name: &str, text: &str) -> EvidenceFile {
        EvidenceFile {
            unread: None,
            name: name.into(),
            what: "w".into(),
            text: text.into(),
        }
    }

    #[test]
    fn files_are_redacted_capped_to_their_tail_and_never_overwritten() {
        let d = tempfile::tempdir().unwrap();
        let dir = d.path().join("INC-1.md.evidence");
        let big = format!("{}\nlast line: boom\n", "x".repeat(MAX_FILE_BYTES + 10));
        let saved = write(
            &dir,
            "031500",
            "web",
            &[
                file(
                    "logs-web-1/app-previous.log",
                    "connecting with password=hunter2\n",
                ),
                file("events.txt", &big),
            ],
        )
        .unwrap();
        assert_eq!(
            saved[0].path,
            "INC-1.md.evidence/031500-web-logs-web-1_app-previous.log"
        );
        let text =
            std::fs::read_to_string(dir.join("031500-web-logs-web-1_app-previous.log")).unwrap();
        assert!(
            text.contains("password=[REDACTED]") && !text.contains("hunter2"),
            "{text}"
        );
        let events = std::fs::read_to_string(dir.join("031500-web-events.txt")).unwrap();
        assert!(saved[1].cut && events.len() <= MAX_FILE_BYTES + 100);
        assert!(events.starts_with("[rbtui: the first") && events.ends_with("last line: boom\n"));
        // The same stamp again gets its own name rather than writing over.
        let again = write(&dir, "031500", "web", &[file("events.txt", "new")]).unwrap();
        assert_eq!(again[0].path, "INC-1.md.evidence/031500-web-events-2.txt");
        let first = std::fs::read_to_string(dir.join("031500-web-events.txt")).unwrap();
        assert!(
            first.ends_with("last line: boom\n"),
            "the first file is untouched"
        );
    }

    /// One file that cannot be written does not take the others with it:
    /// they are saved and linked, it is said as not saved, nothing of it
    /// is left behind.
    #[test]
    fn a_file_that_cannot_be_written_is_said_and_the_others_are_kept() {
        let d = tempfile::tempdir().unwrap();
        let dir = d.path().join("INC-1.md.evidence");
        std::fs::create_dir_all(&dir).unwrap();
        // Every name the log could take is taken already.
        std::fs::write(dir.join("031500-web-app.log"), "x").unwrap();
        for n in 2..=20 {
            std::fs::write(dir.join(format!("031500-web-app-{n}.log")), "x").unwrap();
        }
        let before = std::fs::read_dir(&dir).unwrap().count();
        let saved = write(
            &dir,
            "031500",
            "web",
            &[file("app.log", "boom\n"), file("pods.txt", "p\n")],
        )
        .unwrap();
        assert!(
            saved[0]
                .unread
                .as_deref()
                .unwrap()
                .starts_with("could not be written beside the note"),
            "{saved:?}"
        );
        assert!(saved[1].unread.is_none());
        assert_eq!(saved[1].path, "INC-1.md.evidence/031500-web-pods.txt");
        assert_eq!(
            std::fs::read_dir(&dir).unwrap().count(),
            before + 1,
            "only the file written"
        );
    }
}
