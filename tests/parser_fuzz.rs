//! Fuzz-style property tests for every parser an operator's input reaches:
//! the note reader (resume, export, postmortem), the config and keymap
//! loaders, the command line (rbtui's arguments and the console's `:`
//! line). Inputs are real texts cut, spliced and salted with the syntax
//! each parser looks for, so the cases land near its edges rather than in
//! plain noise. Each must answer (a value or one-line error) and never
//! panic; cases are bounded so the whole file runs in seconds. The SQL
//! classifier's own is in `migration_sql.rs`.
#![allow(clippy::unwrap_used)] // a failed unwrap in a test is a failed test

mod common;

use clap::Parser;
use common::*;
use proptest::prelude::*;
use rbtui::core::model::Mode;
use std::sync::OnceLock;

/// A real note: the demo incident with a rollback, a status draft and a
/// hand note, written by the console as an operator would leave it.
fn real_note() -> &'static str {
    static NOTE: OnceLock<String> = OnceLock::new();
    NOTE.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("n.md");
        let (mut s, _b) = demo(Mode::Demo, Some(&p));
        plan_to(&mut s, "checkout", "8");
        s.press("<Enter>checkout<Enter>");
        assert!(settle(&mut s, 120_000), "the run ends");
        s.press("<Esc><Esc>s<Esc>");
        drop(s);
        let text = std::fs::read_to_string(&p).unwrap();
        let x = rbtui::note::export::read(&text);
        assert!(
            text.len() > 4000 && text.matches("<!-- rbtui").count() > 10,
            "a real note: {text}"
        );
        assert!(!x.entries.is_empty(), "the seed reads back");
        text
    })
}

const CONFIG: &str = r#"note_dir = "incidents"
[settings]
save_evidence = true
[[target]]
name = "checkout"
kind = "demo"
environment = "prod"
[[target]]
name = "orders"
kind = "kubernetes"
namespace = "shop"
deployment = "orders"
environment = "staging"
[[group]]
name = "shop"
targets = ["checkout", "orders"]
"#;

const KEYS: &str = "quit = [\"x\", \"ctrl-q\"]\nnotes = [\"N\"]\nfilter = [\"/\"]\n";

/// What the parsers look for, so a splice lands on their syntax.
const SALT: &[&str] = &[
    "<!-- rbtui ",
    " -->",
    "{\"",
    "\"}",
    "\n",
    "\r\n",
    "## ",
    "### ",
    "- ",
    "```",
    "```diff\n",
    "\u{0}",
    "\u{1b}[2J",
    "é",
    "\u{200b}",
    "\u{feff}",
    "=",
    " = ",
    "[",
    "]",
    "[[",
    "]]",
    "\"",
    "'''",
    "\"\"\"",
    "#",
    "\\",
    "\\u00",
    "{",
    "}",
    ",",
    ":",
    "0",
    "-1",
    "99999999999999999999",
    "1970-01-01T00:00:00Z",
    "9999-12-31T23:59:59Z",
    "nan",
    "inf",
    "true",
    "target",
    "kind",
    "\"marker\":",
    "\"at\":",
    "ctrl-",
    "space",
    "shift-tab",
];

/// `base` cut at a place, with salt spliced in at places, and its lines
/// shuffled a little: the shapes a torn write, a hand edit or a paste make.
fn mutate(
    base: &str,
    cuts: &[(prop::sample::Index, prop::sample::Index)],
    swap: Option<(usize, usize)>,
) -> String {
    let mut s = base.to_string();
    for (at, salt) in cuts {
        let mut i = at.index(s.len() + 1);
        while !s.is_char_boundary(i) {
            i -= 1;
        }
        s.insert_str(i, SALT[salt.index(SALT.len())]);
    }
    if let Some((a, b)) = swap {
        let mut lines: Vec<&str> = s.lines().collect();
        if !lines.is_empty() {
            let (a, b) = (a % lines.len(), b % lines.len());
            lines.swap(a, b);
        }
        s = lines.join("\n");
    }
    s
}

fn cuts() -> impl Strategy<Value = Vec<(prop::sample::Index, prop::sample::Index)>> {
    prop::collection::vec(
        (any::<prop::sample::Index>(), any::<prop::sample::Index>()),
        0..6,
    )
}

/// A prefix of `s` ending on a character boundary: a note cut mid-write.
fn prefix(s: &str, at: prop::sample::Index) -> &str {
    let mut i = at.index(s.len() + 1);
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    &s[..i]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// Resume, export and the postmortem read whatever a note became.
    #[test]
    fn the_note_reader_answers_any_note(
        cut in cuts(),
        swap in proptest::option::of((any::<usize>(), any::<usize>())),
        end in any::<prop::sample::Index>(),
    ) {
        let text = mutate(real_note(), &cut, swap);
        for t in [text.as_str(), prefix(&text, end)] {
            let r = rbtui::note::resume::parse(t);
            let x = rbtui::note::export::read(t);
            let pm = rbtui::note::postmortem::draft(&x, "n.md", common::t0());
            let _ = (rbtui::note::formats::markdown(&x), rbtui::note::formats::jira(&x));
            prop_assert!(!pm.is_empty());
            let _ = (r, serde_json::to_string(&x).unwrap());
        }
    }

    /// The config loader gives a config or one line with a position.
    #[test]
    fn the_config_loader_answers_any_config(cut in cuts(), swap in proptest::option::of((any::<usize>(), any::<usize>()))) {
        let text = mutate(CONFIG, &cut, swap);
        if let Err(e) = rbtui::config::Config::parse("rbtui.toml", &text) {
            prop_assert!(e.starts_with("rbtui.toml"), "{e}");
            prop_assert!(!e.trim_end().contains('\n') || e.contains("^"), "{e}");
        }
    }

    /// The keymap loader gives a keymap or one line with line:col.
    #[test]
    fn the_keymap_loader_answers_any_keys_file(cut in cuts(), swap in proptest::option::of((any::<usize>(), any::<usize>()))) {
        let text = mutate(KEYS, &cut, swap);
        if let Err(e) = rbtui::core::keymap::Keymap::with_overrides("keys.toml", &text) {
            let place = e.strip_prefix("keys.toml:").unwrap_or_default();
            let mut nums = place.split(':').take(2).map(|n| n.parse::<usize>());
            prop_assert!(matches!((nums.next(), nums.next()), (Some(Ok(l)), Some(Ok(c))) if l > 0 && c > 0), "{e}");
            prop_assert!(!e.contains('\n'), "one line: {e:?}");
        }
    }

    /// rbtui's own arguments: parsed or refused by clap, never a panic.
    #[test]
    fn the_command_line_answers_any_arguments(args in prop::collection::vec(prop::sample::select(vec![
        "demo", "status", "history", "plan", "drills", "migrations", "postmortem", "note", "export",
        "--json", "--config", "--note", "--resume", "--rehearsal", "--dry-run", "--read-only", "--drill",
        "--from", "--to", "--repo", "--format", "--out", "-", "--", "x", "", "\u{0}", "=", "--config=",
        "-h", "--help", "-V", "checkout", "lkg", "8", "--incident", "INC-1",
    ]), 0..8)) {
        let _ = rbtui::cli::Cli::try_parse_from(std::iter::once("rbtui").chain(args.iter().copied()));
    }
}

/// The console's `:` line: any text typed, then Tab and Enter, on a live
/// demo state. Pure `update`, so thousands of lines run in a second.
#[test]
fn the_console_command_line_answers_any_text() {
    use rbtui::core::{Action, Key};
    let (s, _b) = demo(Mode::Demo, None);
    let base = s.state.clone();
    let words = [
        "target",
        "group",
        "rollback",
        "note",
        "status",
        "postmortem",
        "help",
        "q",
        " ",
        "  ",
        "checkout",
        "shop",
        "lkg",
        "previous",
        "8",
        "\u{0}",
        "é",
        "\u{1b}",
        ":",
        "-",
        "9999999999",
    ];
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig::with_cases(500));
    runner
        .run(
            &(
                prop::collection::vec(prop::sample::select(words.to_vec()), 0..6),
                any::<bool>(),
            ),
            |(parts, tab)| {
                let mut st = base.clone();
                let text = parts.concat();
                rbtui::core::update(&mut st, Action::Key(Key::Char(':')));
                for c in text.chars() {
                    rbtui::core::update(&mut st, Action::Key(Key::Char(c)));
                }
                if tab {
                    rbtui::core::update(&mut st, Action::Key(Key::Tab));
                }
                rbtui::core::update(&mut st, Action::Key(Key::Enter));
                Ok(())
            },
        )
        .unwrap();
}
