//! ARCHITECTURE.md stays true: every file or folder it names in backticks
//! (`core/key_press.rs`, `src/app/`, `assets/keys.toml`, a bare `router.rs`)
//! is in the repository. A rename that leaves the map behind fails here.
#![allow(clippy::unwrap_used)] // a failed unwrap in a test is a failed test

use std::path::{Path, PathBuf};

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        let name = p.file_name().unwrap().to_string_lossy().to_string();
        if name.starts_with('.') || name == "target" {
            continue;
        }
        if p.is_dir() {
            out.push(p.clone());
            files(&p, out);
        } else {
            out.push(p);
        }
    }
}

#[test]
fn every_path_architecture_names_exists() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(root.join("ARCHITECTURE.md")).unwrap();
    let mut all = Vec::new();
    files(root, &mut all);
    let rel: Vec<String> = all
        .iter()
        .map(|p| {
            p.strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/")
        })
        .collect();
    let named: Vec<&str> = text
        .split('`')
        .skip(1)
        .step_by(2)
        .filter(|t| {
            !t.contains(' ')
                && !t.contains('<')
                && (t.ends_with(".rs")
                    || t.ends_with(".toml")
                    || t.ends_with(".md")
                    || (t.ends_with('/') && t.len() > 1))
        })
        .collect();
    assert!(named.len() > 40, "the map names its files: {named:?}");
    let missing: Vec<&&str> = named
        .iter()
        .filter(|t| {
            let t = t.trim_end_matches('/');
            !rel.iter().any(|r| r == t || r.ends_with(&format!("/{t}")))
        })
        .collect();
    assert!(
        missing.is_empty(),
        "ARCHITECTURE.md names what is not there: {missing:?}"
    );
}
