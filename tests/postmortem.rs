//! The postmortem draft of a whole incident, for real use (seen: the
//! overridden UNSAFE schema BLOCK and its typed reason absent; the schema
//! section repeating every plan, a refused 9 → 9 one and the `v` toggles
//! included; an evidence link without its folder).
#![allow(clippy::unwrap_used)] // a failed unwrap in a test is a failed test

mod common;

use common::*;
use rbtui::core::model::Mode;

/// Two rollbacks: checkout (all checks pass), orders (the UNSAFE schema
/// BLOCK overridden with a typed reason), checkout re-planned twice first.
fn incident(dir: &std::path::Path) -> (std::path::PathBuf, String) {
    let note = dir.join("INC-7.md");
    let (mut s, _b) = demo_with(Mode::Demo, Some(&note), |st| st.save_evidence = true);
    s.advance(2_000);
    plan_to(&mut s, "checkout", "7");
    s.press("<Esc><Esc>");
    plan_to(&mut s, "checkout", "8");
    s.press("<Enter>checkout<Enter>");
    assert!(settle(&mut s, 120_000));
    plan_to(&mut s, "orders", "41");
    s.press("<Enter>orders<Tab>PITR restore is prepared by the DBA on call<Enter>");
    assert!(settle(&mut s, 120_000));
    s.press("q");
    drop(s);
    let x = rbtui::note::export::read_file(&note).unwrap();
    (
        note.clone(),
        rbtui::note::postmortem::draft(&x, &note.display().to_string(), t0()),
    )
}

#[test]
fn the_draft_names_overrides_one_schema_section_per_target_and_links_that_resolve() {
    let dir = tempfile::tempdir().unwrap();
    let (note, d) = incident(dir.path());
    // The override and its reason, with the check it overrode.
    let over = d
        .split("## Overrides")
        .nth(1)
        .unwrap_or_else(|| panic!("no Overrides section:\n{d}"));
    let over = over.split("\n## ").next().unwrap();
    assert!(
        over.contains("`orders`")
            && over.contains("schema")
            && over.contains("PITR restore is prepared by the DBA on call"),
        "{over}"
    );
    assert!(
        !over.contains("`checkout`"),
        "checkout overrode nothing: {over}"
    );
    // Schema: one line per target, from the plan that ran.
    let schema = d
        .split("## Schema and migrations")
        .nth(1)
        .unwrap()
        .split("\n## ")
        .next()
        .unwrap();
    let lines: Vec<&str> = schema.lines().filter(|l| l.starts_with("- ")).collect();
    assert_eq!(lines.len(), 2, "one per target:\n{schema}");
    assert!(
        lines[0].starts_with("- `checkout` (plan #2, 9 → 8): schema PASS — 1 migration file(s)"),
        "the words of the plan that ran: {schema}"
    );
    assert!(
        lines[1].starts_with("- `orders`") && lines[1].contains("UNSAFE"),
        "{schema}"
    );
    // Every evidence link resolves from where the draft is written.
    let base = note.parent().unwrap();
    let ev = d
        .split("## Evidence")
        .nth(1)
        .unwrap()
        .split("\n## ")
        .next()
        .unwrap();
    let links: Vec<&str> = ev
        .lines()
        .filter_map(|l| l.split("](").nth(1))
        .map(|r| r.split(')').next().unwrap())
        .collect();
    assert!(!links.is_empty(), "{ev}");
    for l in links {
        assert!(
            base.join(l).is_file(),
            "the link {l} does not resolve:\n{ev}"
        );
    }
}
