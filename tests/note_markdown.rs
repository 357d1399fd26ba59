//! The note is attached to the ticket as it is: read with a CommonMark
//! parser (as GitHub and GitLab render it), a plan's "what changes" diff is
//! a fenced `diff` block whose lines keep their `-`, `+` and leading space
//! (seen: as nested list items, `- image:` and `+ image:` became the same
//! bullet and a context line `- name: checkout` read as a removed line, in
//! the JSON export too).
#![allow(clippy::unwrap_used)] // a failed unwrap in a test is a failed test

mod common;

use common::*;
use rbtui::core::model::Mode;

/// The fenced `diff` blocks a CommonMark renderer (as GitHub's and
/// GitLab's) finds in `md`, with their text as it would show.
fn diff_blocks(md: &str) -> Vec<String> {
    use pulldown_cmark::{CodeBlockKind, Event, Parser, Tag, TagEnd};
    let mut blocks = Vec::new();
    let mut open: Option<String> = None;
    for ev in Parser::new(md) {
        match ev {
            Event::Start(Tag::CodeBlock(CodeBlockKind::Fenced(lang))) if &*lang == "diff" => {
                open = Some(String::new())
            }
            Event::Text(t) => open.iter_mut().for_each(|b| b.push_str(&t)),
            Event::End(TagEnd::CodeBlock) => blocks.extend(open.take()),
            _ => {}
        }
    }
    blocks
}

#[test]
fn a_plans_diff_renders_as_a_diff_block_with_every_line_as_it_is() {
    let dir = tempfile::tempdir().unwrap();
    let note = dir.path().join("n.md");
    let (mut s, _b) = demo(Mode::Demo, Some(&note));
    plan_to(&mut s, "checkout", "8");
    let diff = s
        .state
        .plan
        .as_ref()
        .and_then(|p| p.diff.clone())
        .expect("the demo plan reads what changes");
    assert!(
        diff.lines().any(|l| l.starts_with('-')) && diff.lines().any(|l| l.starts_with(' ')),
        "{diff}"
    );
    drop(s);
    let text = std::fs::read_to_string(&note).unwrap();
    let blocks = diff_blocks(&text);
    assert_eq!(blocks.len(), 1, "one plan, one diff block:\n{text}");
    assert_eq!(
        blocks[0].trim_end_matches('\n'),
        diff.trim_end_matches('\n'),
        "every line as it is"
    );
    // The JSON export keeps them too.
    let x = rbtui::note::export::read(&text);
    let plan = x
        .entries
        .iter()
        .find(|e| e.kind == "plan")
        .expect("a plan entry");
    let at = plan
        .details
        .iter()
        .position(|d| d == "```diff")
        .expect("the fence");
    let lines: Vec<&str> = diff.lines().collect();
    assert_eq!(&plan.details[at + 1..at + 1 + lines.len()], &lines[..]);
}

/// Seen: every `v` in a group plan recorded each member's whole plan again
/// (fifteen plan entries, 53 KB for a 3.5-minute demo). A re-plan records
/// what changed against the target's previous plan; a first plan (and a
/// resumed session's first) records it whole.
#[test]
fn a_replan_records_what_changed_not_the_whole_plan_again() {
    let dir = tempfile::tempdir().unwrap();
    let note = dir.path().join("n.md");
    let (mut s, _b) = demo(Mode::Demo, Some(&note));
    plan_to(&mut s, "checkout", "8");
    let first = std::fs::metadata(&note).unwrap().len();
    s.press("<Esc><Esc>");
    plan_to(&mut s, "checkout", "8");
    let second = std::fs::metadata(&note).unwrap().len() - first;
    s.press("<Esc><Esc>");
    plan_to(&mut s, "checkout", "7");
    drop(s);
    let text = std::fs::read_to_string(&note).unwrap();
    let x = rbtui::note::export::read(&text);
    let plans: Vec<_> = x.entries.iter().filter(|e| e.kind == "plan").collect();
    assert_eq!(plans.len(), 3, "{text}");
    assert!(
        !plans[0].details[0].starts_with("as plan #"),
        "the first whole"
    );
    assert!(
        plans[1].details[0].starts_with("as plan #1 (above)"),
        "{:?}",
        plans[1].details
    );
    assert!(
        plans[1].details.len() <= 2,
        "the same plan again is one line: {:?}",
        plans[1].details
    );
    assert!(
        second < 1200,
        "the repeat cost {second} bytes (the first {first})"
    );
    // Another revision: what differs is there as it is, the rest said once.
    let third = &plans[2].details;
    assert!(third[0].starts_with("as plan #2 (above)"), "{third:?}");
    assert!(third.iter().any(|d| d.contains("revision 7")), "{third:?}");
    assert!(
        third.iter().any(|d| d.starts_with("no longer: ")),
        "{third:?}"
    );
}

/// `note export --format markdown|jira`: the timeline as a ticket comment.
/// Markdown without the hidden markers (they show as text where comments
/// are not hidden) and with the diff block intact; Jira's wiki markup with
/// the diff in `{noformat}`, no Markdown fences, no comments.
#[test]
fn the_timeline_exports_as_a_github_or_jira_comment() {
    let dir = tempfile::tempdir().unwrap();
    let note = dir.path().join("n.md");
    let (mut s, _b) = demo(Mode::Demo, Some(&note));
    plan_to(&mut s, "checkout", "8");
    let diff = s.state.plan.as_ref().and_then(|p| p.diff.clone()).unwrap();
    drop(s);
    let export = |format: &str| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_rbtui"))
            .args(["note", "export", note.to_str().unwrap(), "--format", format])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let md = export("markdown");
    assert!(
        !md.contains("<!--") && md.contains("**plan** `checkout`"),
        "{md}"
    );
    let got = diff_blocks(&md);
    assert_eq!(got.len(), 1, "{md}");
    assert_eq!(got[0].trim_end(), diff.trim_end());
    let jira = export("jira");
    assert!(!jira.contains("<!--") && !jira.contains("```"), "{jira}");
    let body = jira
        .split("{noformat}\n")
        .nth(1)
        .expect("the diff in {noformat}");
    assert_eq!(body.trim_end(), diff.trim_end());
    assert!(jira.starts_with("h3. Incident "), "{jira}");
}

/// The note opens with a summary that stays current (seen: none; a ticket
/// reader had to read 700 lines). Two rollbacks in one incident: the
/// summary names both with how each ended and what proved it, the
/// follow-up with the bad commit, the times that matter; it is rewritten
/// in place (one block, never a second), the timeline below is what it
/// would have been without it, byte for byte, and `--resume` and export
/// read the same incident from it.
#[test]
fn the_note_opens_with_a_summary_of_the_whole_incident() {
    let dir = tempfile::tempdir().unwrap();
    let note = dir.path().join("n.md");
    let (mut s, _b) = demo(Mode::Demo, Some(&note));
    plan_to(&mut s, "checkout", "8");
    s.press("<Enter>checkout<Enter>");
    assert!(settle(&mut s, 120_000));
    plan_to(&mut s, "orders", "41");
    s.press("<Enter>orders<Tab>PITR restore is prepared by the DBA on call<Enter>");
    assert!(settle(&mut s, 120_000));
    let text = std::fs::read_to_string(&note).unwrap();
    let summary = rbtui::note::summary::block_in(&text).expect("a summary");
    assert!(
        text.find(summary).unwrap() < text.find("- **Incident:**").unwrap(),
        "on top"
    );
    assert_eq!(
        text.matches(rbtui::note::summary::BEGIN).count(),
        1,
        "rewritten, not added"
    );
    assert!(summary.lines().count() < 40, "{summary}");
    assert!(summary.contains("- **Severity:** critical"), "{summary}");
    assert!(
        summary.contains("`checkout` 9 (d8f3c2a) → 8 (a1b2c3d) (plan #1): verified at"),
        "{summary}"
    );
    assert!(summary.contains("`orders` 42"), "{summary}");
    assert!(
        summary.contains("`checkout`: revert d8f3c2a in git"),
        "{summary}"
    );
    assert!(
        summary.contains("detected ") && summary.contains("(first rollback applied)"),
        "{summary}"
    );
    // The summary is what the note's own facts say.
    let told = rbtui::note::summary::Told::read(&text);
    assert_eq!(summary, rbtui::note::summary::render(&told));
    assert_eq!(
        told.model, s.state.incident,
        "the same incident as the screen"
    );
    // The record below it is whole and reads back the same.
    let timeline = rbtui::note::summary::without(&text);
    assert!(!timeline.contains("## Summary"));
    assert_eq!(
        rbtui::note::resume::parse(&text).model,
        rbtui::note::resume::parse(&timeline).model
    );
    let x = rbtui::note::export::read(&text);
    assert!(
        !x.header.contains_key("Status"),
        "summary lines are not header facts"
    );
    assert_eq!(x.entries, rbtui::note::export::read(&timeline).entries);
    // A GitHub comment shows it first.
    let md = rbtui::note::formats::markdown(&x);
    assert!(
        md.find("#### Summary").unwrap() < md.find("#### Timeline").unwrap(),
        "{md}"
    );
}

/// The note's size (seen: 53 KB for a 3.5-minute demo incident): one
/// rollback under 12 KB with its summary, the summary under 40 lines. Two
/// rollbacks, a two-target group and three `v` toggles: the issue's budget
/// is 20 KB and is NOT met yet (38.6 KB: four full runs' plans, ticks and
/// markers); this holds the ground gained (48 KB before identical re-plans
/// were recorded by reference and the exit's checklist named done steps
/// once; 43 KB before a run's markers left the plan's revisions to the
/// plan, the confirm named the plan's steps instead of repeating them and
/// a tick named the entry above as its proof) so it cannot grow back
/// unnoticed.
#[test]
fn the_notes_stay_within_their_size_budgets() {
    let dir = tempfile::tempdir().unwrap();
    let one = dir.path().join("one.md");
    let (mut s, _b) = demo(Mode::Demo, Some(&one));
    plan_to(&mut s, "checkout", "8");
    s.press("<Enter>checkout<Enter>");
    assert!(settle(&mut s, 120_000));
    s.press("q");
    drop(s);
    let single = std::fs::metadata(&one).unwrap().len();

    let two = dir.path().join("two.md");
    let (mut s, _b) = demo(Mode::Demo, Some(&two));
    s.state.settings.groups = vec![rbtui::core::group::GroupDef {
        name: "edge".into(),
        targets: vec!["payments".into(), "search".into()],
        order: rbtui::core::group::Order::Sequential,
    }];
    plan_to(&mut s, "checkout", "8");
    s.press("<Enter>checkout<Enter>");
    assert!(settle(&mut s, 120_000));
    plan_to(&mut s, "orders", "41");
    s.press("<Enter>orders<Tab>PITR restore is prepared by the DBA on call<Enter>");
    assert!(settle(&mut s, 120_000));
    select(&mut s, "payments");
    s.press("R");
    assert!(s.advance_until(5_000, |st| {
        st.group
            .as_ref()
            .is_some_and(|g| g.read() && !g.plans.iter().any(|p| p.pending()))
    }));
    for _ in 0..3 {
        s.press("v");
        s.advance(1_000);
    }
    s.press("<Enter>edge<Enter>");
    assert!(
        s.advance_until(600_000, |st| st.group.as_ref().is_some_and(|g| g.reported)),
        "{:?}",
        s.state.flash
    );
    s.press("q");
    drop(s);
    let text = std::fs::read_to_string(&two).unwrap();
    let summary = rbtui::note::summary::block_in(&text)
        .unwrap()
        .lines()
        .count();
    eprintln!(
        "single {single} B; incident {} B, summary {summary} lines",
        text.len()
    );
    assert!(summary < 40, "{summary} lines");
    assert!(single < 11_000, "one rollback: {single} bytes");
    assert!(
        text.len() < 39_000,
        "two rollbacks and a group: {} bytes",
        text.len()
    );
}

/// A summary that cannot be rewritten (here: no room for the new file
/// beside the note, while the entry itself still fits) is said in the
/// note and on screen, once; it is never left to be read as current.
#[test]
fn a_summary_that_cannot_be_rewritten_is_said_not_left_stale() {
    let dir = tempfile::tempdir().unwrap();
    let note = dir.path().join("n.md");
    let (mut s, _b) = demo(Mode::Demo, Some(&note));
    plan_to(&mut s, "checkout", "8");
    // From here the disk takes 3 KB more: entries fit, a whole second copy
    // of the note beside it does not.
    let len = std::fs::metadata(&note).unwrap().len();
    let limit = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(len + 3_000));
    let file = std::fs::OpenOptions::new()
        .read(true)
        .append(true)
        .open(&note)
        .unwrap();
    s.note = Some(
        rbtui::note::NoteWriter::on(
            Box::new(rbtui::note::quota::Quota {
                file,
                limit,
                fault: None,
            }),
            &note,
        )
        .unwrap(),
    );
    // The confirm starts a run: the summary's "Rolled back" changes.
    s.press("<Enter>checkout<Enter>");
    let on_screen = s
        .state
        .activity
        .iter()
        .any(|a| a.summary.contains("could not be rewritten"));
    drop(s);
    let text = std::fs::read_to_string(&note).unwrap();
    let said = "the summary on top of the note could not be rewritten (No space left on device";
    assert_eq!(text.matches(said).count(), 1, "said once:\n{text}");
    assert!(
        text.contains("**confirm** `checkout` — plan #1 confirmed"),
        "the entry still recorded:\n{text}"
    );
    assert!(on_screen, "the Activity pane says it too");
}
