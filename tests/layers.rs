//! The layers stay layers: no two sibling modules use each other (directly
//! or round a loop), and the pure core uses nothing outside itself. Read
//! from the `crate::`/`super::` paths in the source, outside its tests.
#![allow(clippy::unwrap_used)] // a failed unwrap in a test is a failed test

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

type Module = Vec<String>;

fn modules(dir: &Path, prefix: &[String], out: &mut BTreeMap<Module, String>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        let name = p.file_stem().unwrap().to_string_lossy().to_string();
        if p.is_dir() {
            let mut m = prefix.to_vec();
            m.push(name);
            modules(&p, &m, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            let mut m = prefix.to_vec();
            if !matches!(name.as_str(), "mod" | "lib" | "main") {
                m.push(name);
            }
            let text = std::fs::read_to_string(&p).unwrap();
            let code = text.split("#[cfg(test)]").next().unwrap_or_default();
            let code: String = code
                .lines()
                .filter(|l| !l.trim_start().starts_with("//"))
                .collect::<Vec<_>>()
                .join("\n");
            out.insert(m, code);
        }
    }
}

/// Every path after `crate::` or `super::`, braces expanded.
fn paths(code: &str) -> Vec<(bool, usize, Vec<String>)> {
    let mut out = Vec::new();
    let b = code.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let at_word = i == 0 || !(b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_');
        let rest = &b[i..];
        if at_word && (rest.starts_with(b"crate::") || rest.starts_with(b"super::")) {
            let crate_root = rest.starts_with(b"crate::");
            let mut j = i;
            let mut ups = 0;
            if crate_root {
                j += "crate::".len();
            } else {
                while b[j..].starts_with(b"super::") {
                    ups += 1;
                    j += "super::".len();
                }
            }
            for p in tree(code, &mut j) {
                out.push((crate_root, ups, p));
            }
            i = j.max(i + 1);
        } else {
            i += 1;
        }
    }
    out
}

/// `a::b::{c, d::e}` from `*j`: each full path.
fn tree(code: &str, j: &mut usize) -> Vec<Vec<String>> {
    let b = code.as_bytes();
    let mut head = Vec::new();
    loop {
        let s = *j;
        while *j < b.len() && (b[*j].is_ascii_alphanumeric() || b[*j] == b'_') {
            *j += 1;
        }
        if *j > s {
            head.push(code[s..*j].to_string());
        }
        if b[*j..].starts_with(b"::{") {
            *j += 3;
            let mut all = Vec::new();
            loop {
                while *j < b.len() && (b[*j] as char).is_whitespace() {
                    *j += 1;
                }
                if *j >= b.len() || b[*j] == b'}' {
                    *j += 1;
                    break;
                }
                for t in tree(code, j) {
                    let mut p = head.clone();
                    p.extend(t);
                    all.push(p);
                }
                while *j < b.len() && b[*j] != b',' && b[*j] != b'}' {
                    *j += 1;
                }
                if *j < b.len() && b[*j] == b',' {
                    *j += 1;
                }
            }
            return all;
        }
        if b[*j..].starts_with(b"::") && *j > s {
            *j += 2;
            continue;
        }
        return vec![head];
    }
}

fn edges(mods: &BTreeMap<Module, String>) -> BTreeSet<(Module, Module)> {
    let mut out = BTreeSet::new();
    for (m, code) in mods {
        for (root, ups, p) in paths(code) {
            let mut full: Module = if root {
                Vec::new()
            } else {
                m[..m.len().saturating_sub(ups)].to_vec()
            };
            full.extend(p);
            // The longest module the path names.
            let Some(target) = (0..=full.len())
                .rev()
                .map(|k| full[..k].to_vec())
                .find(|c| mods.contains_key(c))
            else {
                continue;
            };
            let k = m.iter().zip(&target).take_while(|(a, b)| a == b).count();
            if k < m.len() && k < target.len() {
                out.insert((m[..=k].to_vec(), target[..=k].to_vec()));
            }
        }
    }
    out
}

fn cycle(edges: &BTreeSet<(Module, Module)>) -> Option<Vec<Module>> {
    fn visit(
        n: &Module,
        edges: &BTreeSet<(Module, Module)>,
        path: &mut Vec<Module>,
        done: &mut BTreeSet<Module>,
    ) -> Option<Vec<Module>> {
        if let Some(i) = path.iter().position(|p| p == n) {
            let mut c = path[i..].to_vec();
            c.push(n.clone());
            return Some(c);
        }
        if done.contains(n) {
            return None;
        }
        path.push(n.clone());
        for (_, b) in edges.iter().filter(|(a, _)| a == n) {
            if let Some(c) = visit(b, edges, path, done) {
                return Some(c);
            }
        }
        path.pop();
        done.insert(n.clone());
        None
    }
    let mut done = BTreeSet::new();
    for (a, _) in edges {
        if let Some(c) = visit(a, edges, &mut Vec::new(), &mut done) {
            return Some(c);
        }
    }
    None
}

fn source() -> BTreeMap<Module, String> {
    let mut mods = BTreeMap::new();
    modules(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &[],
        &mut mods,
    );
    mods
}

#[test]
fn no_module_uses_a_sibling_that_uses_it_back() {
    let e = edges(&source());
    assert!(e.len() > 50, "the reader found too few uses: {}", e.len());
    if let Some(c) = cycle(&e) {
        let names: Vec<String> = c.iter().map(|m| m.join("::")).collect();
        panic!("import cycle: {}", names.join(" -> "));
    }
}

#[test]
fn the_core_and_the_screen_use_nothing_with_effects() {
    let e = edges(&source());
    let bad: Vec<String> = e
        .iter()
        .filter(|(a, b)| {
            let (a, b) = (a[0].as_str(), b[0].as_str());
            (a == "core" && b != "core") || (a == "ui" && !matches!(b, "core" | "ui"))
        })
        .map(|(a, b)| format!("{} -> {}", a.join("::"), b.join("::")))
        .collect();
    assert!(bad.is_empty(), "{bad:?}");
}

/// The reader itself: a loop it must find, and braces it must expand.
#[test]
fn the_reader_sees_loops_and_braced_uses() {
    let mut mods = BTreeMap::new();
    mods.insert(
        vec!["a".to_string()],
        "use crate::b::{x, c::Y};".to_string(),
    );
    mods.insert(vec!["b".to_string()], String::new());
    mods.insert(
        vec!["b".to_string(), "c".to_string()],
        "use super::super::a::Z;".to_string(),
    );
    let e = edges(&mods);
    assert!(e.contains(&(vec!["a".into()], vec!["b".into()])), "{e:?}");
    assert!(e.contains(&(vec!["b".into()], vec!["a".into()])), "{e:?}");
    assert!(cycle(&e).is_some());
}
