//! What the summary on top costs each fact-carrying entry: an append with
//! fsync, then the summary rewritten beside the note, fsync'd and renamed
//! over it. Measured on a note grown to the size of a long incident
//! (400 entries, ~150 KB). Run: `cargo bench --bench note_append`.
//! Budget: p99 ≤ 50 ms per entry (it runs before the next step is sent).
#![allow(clippy::unwrap_used)] // a failed unwrap in a bench is a failed bench

mod common;

use chrono::{Duration, TimeZone, Utc};
use common::pct;
use rbtui::core::action::NoteEntry;
use rbtui::core::entry::{EntryKind, Marker};
use std::time::Instant;

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let note = dir.path().join("INC-BENCH.md");
    let t0 = Utc.with_ymd_and_hms(2026, 11, 22, 3, 0, 0).unwrap();
    let header = format!(
        "# Incident INC-BENCH\n\n{}- **Incident:** INC-BENCH\n\n## Timeline (UTC, 2026-11-22)\n\n",
        rbtui::note::summary::render(&Default::default())
    );
    let mut w = rbtui::note::NoteWriter::open(&note, &header, "").unwrap();
    let (mut plain, mut with_fact) = (Vec::new(), Vec::new());
    for i in 0..400u32 {
        let target = format!("svc-{}", i % 20);
        let fact = i % 2 == 0;
        let e = NoteEntry {
            at: t0 + Duration::seconds(i.into()),
            kind: if fact {
                EntryKind::Failing
            } else {
                EntryKind::Progress
            },
            target: Some(target.clone()),
            text: format!("entry {i}: {}", "x".repeat(200)),
            details: vec!["a detail line".into(); 3],
            marker: fact.then(|| Marker::Failure {
                target,
                severity: "serious".into(),
                reasons: vec![format!("5xx {}% > 5%", i % 50)],
                revision: None,
            }),
        };
        let t = Instant::now();
        w.append(&e).unwrap();
        let took = t.elapsed();
        if fact {
            with_fact.push(took)
        } else {
            plain.push(took)
        }
    }
    assert!(w.summary_error.is_none(), "{:?}", w.summary_error);
    let size = std::fs::metadata(&note).unwrap().len();
    for (what, v) in [
        ("append only", &mut plain),
        ("append + summary rewrite", &mut with_fact),
    ] {
        let n = v.len();
        let (p50, p99) = (pct(v, 0.5), pct(v, 0.99));
        println!("{what:26} p50 {p50:.2?}  p99 {p99:.2?}  (n={n})");
    }
    println!("note at the end: {} KB", size / 1024);
}
