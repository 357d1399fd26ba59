//! The keymap as data: which keys run which command outside text entry.
//! The defaults are `assets/keys.toml`; a user's `keys.toml` rebinds the
//! commands it names. The help overlay and the footer are drawn from the
//! keymap in force, so they can never disagree with the keys.

use super::action::Key;
use std::collections::BTreeMap;

/// Everything a key can be bound to. Enter, Esc, Ctrl-C and the keys
/// inside dialogs are fixed and not listed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Command {
    Up,
    Down,
    PageUp,
    PageDown,
    Top,
    Bottom,
    NextPane,
    PrevPane,
    Pane1,
    Pane2,
    Pane3,
    Pane4,
    Pane5,
    Filter,
    /// Mark a target in Health; tick a step in Checklist.
    Toggle,
    RollbackTogether,
    /// The focused pane to the whole screen and back.
    Zoom,
    /// The focused item to the clipboard.
    Copy,
    CommandLine,
    Notes,
    Status,
    Postmortem,
    Plan,
    Reenable,
    Help,
    Quit,
}

impl Command {
    pub const ALL: [Command; 26] = [
        Command::Up,
        Command::Down,
        Command::PageUp,
        Command::PageDown,
        Command::Top,
        Command::Bottom,
        Command::NextPane,
        Command::PrevPane,
        Command::Pane1,
        Command::Pane2,
        Command::Pane3,
        Command::Pane4,
        Command::Pane5,
        Command::Filter,
        Command::Toggle,
        Command::RollbackTogether,
        Command::Zoom,
        Command::Copy,
        Command::CommandLine,
        Command::Notes,
        Command::Status,
        Command::Postmortem,
        Command::Plan,
        Command::Reenable,
        Command::Help,
        Command::Quit,
    ];

    /// Its name in keys.toml.
    pub fn name(self) -> &'static str {
        use Command::*;
        match self {
            Up => "up",
            Down => "down",
            PageUp => "page-up",
            PageDown => "page-down",
            Top => "top",
            Bottom => "bottom",
            NextPane => "next-pane",
            PrevPane => "prev-pane",
            Pane1 => "pane-1",
            Pane2 => "pane-2",
            Pane3 => "pane-3",
            Pane4 => "pane-4",
            Pane5 => "pane-5",
            Filter => "filter",
            Toggle => "toggle",
            RollbackTogether => "rollback-together",
            Zoom => "zoom",
            Copy => "copy",
            CommandLine => "command-line",
            Notes => "notes",
            Status => "status",
            Postmortem => "postmortem",
            Plan => "plan",
            Reenable => "reenable",
            Help => "help",
            Quit => "quit",
        }
    }

    /// What it does, for the help overlay.
    pub fn what(self) -> &'static str {
        use Command::*;
        match self {
            Up => "up in the focused pane",
            Down => "down in the focused pane",
            PageUp => "a page up",
            PageDown => "a page down",
            Top => "to the top",
            Bottom => "to the bottom",
            NextPane => "next pane",
            PrevPane => "previous pane",
            Pane1 => "Health pane",
            Pane2 => "History pane",
            Pane3 => "Migrations pane",
            Pane4 => "Checklist pane",
            Pane5 => "Activity pane",
            Filter => "filter targets (name, kind, environment)",
            Toggle => "Health: mark a target; Checklist: tick/untick with evidence",
            RollbackTogether => {
                "roll back the marked targets (or the selected one's group) together"
            }
            Zoom => "zoom the focused pane to the whole screen, and back (long lines wrap there)",
            Copy => {
                "copy the focused item (target, revision's image, step, Activity line; in a popup the plan or the status message) to the clipboard (OSC 52, works over ssh and tmux)"
            }
            CommandLine => "command line: target, group, rollback, note, status, postmortem, q",
            Notes => "notes editor; Ctrl-S appends to the note",
            Status => "draft a status message; 0 1 u r: P0, P1, update, resolved",
            Postmortem => "write a postmortem draft beside the note",
            Plan => "show the current plan again",
            Reenable => "Argo CD: re-enable auto-sync (after the revert)",
            Help => "this help",
            Quit => "quit (asks while a rollback runs); Ctrl-C too",
        }
    }

    fn from_name(n: &str) -> Option<Command> {
        Command::ALL.into_iter().find(|c| c.name() == n)
    }
}

/// Which keys run which command.
#[derive(Debug, Clone, PartialEq)]
pub struct Keymap {
    keys: BTreeMap<Command, Vec<Key>>,
}

/// The embedded defaults.
pub const BUILTIN: &str = include_str!("../../assets/keys.toml");

impl Default for Keymap {
    fn default() -> Self {
        Keymap::builtin()
    }
}

impl Keymap {
    pub fn builtin() -> Keymap {
        let keys =
            parse("assets/keys.toml", BUILTIN).expect("the embedded keys.toml is valid (tested)");
        Keymap {
            keys: keys.into_iter().collect(),
        }
    }

    /// The defaults with a user's keys.toml over them: each command it
    /// names takes exactly its keys, and those keys leave the commands
    /// that had them by default.
    pub fn with_overrides(origin: &str, text: &str) -> Result<Keymap, String> {
        let mut m = Keymap::builtin();
        let user = parse(origin, text)?;
        for (c, keys) in &user {
            for ks in m.keys.values_mut() {
                ks.retain(|k| !keys.contains(k));
            }
            m.keys.insert(*c, keys.clone());
        }
        Ok(m)
    }

    pub fn command(&self, k: Key) -> Option<Command> {
        if k == Key::Ctrl('c') {
            return Some(Command::Quit);
        }
        self.keys
            .iter()
            .find(|(_, ks)| ks.contains(&k))
            .map(|(c, _)| *c)
    }

    pub fn keys(&self, c: Command) -> &[Key] {
        self.keys.get(&c).map(Vec::as_slice).unwrap_or(&[])
    }

    /// "j, ↓" — how the footer and the help name a command's keys; "-"
    /// for one left without a key.
    pub fn label(&self, c: Command) -> String {
        let v: Vec<String> = self.keys(c).iter().map(|k| label(*k)).collect();
        if v.is_empty() {
            "-".into()
        } else {
            v.join(", ")
        }
    }
}

/// A key as people write it.
pub fn label(k: Key) -> String {
    match k {
        Key::Char(' ') => "space".into(),
        Key::Char(c) => c.to_string(),
        Key::Ctrl(c) => format!("Ctrl-{}", c.to_ascii_uppercase()),
        Key::Enter => "Enter".into(),
        Key::Esc => "Esc".into(),
        Key::Tab => "Tab".into(),
        Key::BackTab => "Shift-Tab".into(),
        Key::Up => "↑".into(),
        Key::Down => "↓".into(),
        Key::Left => "←".into(),
        Key::Right => "→".into(),
        Key::PageUp => "PgUp".into(),
        Key::PageDown => "PgDn".into(),
        Key::Home => "Home".into(),
        Key::End => "End".into(),
        Key::Backspace => "Backspace".into(),
    }
}

fn parse_key(s: &str) -> Result<Key, String> {
    let lower = s.to_ascii_lowercase();
    let k = match lower.as_str() {
        "space" => Key::Char(' '),
        "tab" => Key::Tab,
        "backtab" | "shift-tab" => Key::BackTab,
        "up" => Key::Up,
        "down" => Key::Down,
        "left" => Key::Left,
        "right" => Key::Right,
        "pageup" => Key::PageUp,
        "pagedown" => Key::PageDown,
        "home" => Key::Home,
        "end" => Key::End,
        "enter" | "esc" | "ctrl-c" | "backspace" => {
            return Err(format!("`{s}` is fixed and cannot be bound"));
        }
        l if l.starts_with("ctrl-") && l.chars().count() == 6 => {
            let c = l.chars().last().unwrap_or('?');
            if !c.is_ascii_graphic() {
                return Err(format!("`{}` is not a key rbtui knows", s.escape_debug()));
            }
            Key::Ctrl(c)
        }
        // A control character or a lone combining mark cannot be typed
        // as one key press; accepting it bound a command to nothing.
        _ if s.chars().count() == 1 && s.chars().all(|c| !c.is_control()) => {
            Key::Char(s.chars().next().unwrap_or('?'))
        }
        _ => return Err(format!("`{}` is not a key rbtui knows", s.escape_debug())),
    };
    Ok(k)
}

/// `line:col` of a byte offset, as every file error gives it.
fn line_col(text: &str, offset: usize) -> String {
    let (l, c) = super::fmt::line_col(text, offset);
    format!("{l}:{c}")
}

type Spanned<T> = toml::Spanned<T>;

/// `command = ["key", …]` lines, every error with file:line:col taken
/// from the parser's own spans (a table such as `[quit]` has no
/// `quit =` line to find, so searching the text named line 0).
fn parse(origin: &str, text: &str) -> Result<Vec<(Command, Vec<Key>)>, String> {
    let table: BTreeMap<Spanned<String>, Spanned<toml::Value>> =
        toml::from_str(text).map_err(|e| {
            let at = e
                .span()
                .map_or_else(|| "1:1".to_string(), |sp| line_col(text, sp.start));
            format!("{origin}:{at}: {}", e.message().trim_end())
        })?;
    let mut out: Vec<(Command, Vec<Key>)> = Vec::new();
    let mut seen: BTreeMap<Key, Command> = BTreeMap::new();
    // In the file's order, so a clash names the later line.
    let mut entries: Vec<(&Spanned<String>, &Spanned<toml::Value>)> = table.iter().collect();
    entries.sort_by_key(|(n, _)| n.span().start);
    for (spanned, v) in entries {
        let name = spanned.get_ref();
        let at = format!("{origin}:{}", line_col(text, spanned.span().start));
        let c = Command::from_name(name).ok_or_else(|| {
            let all: Vec<&str> = Command::ALL.iter().map(|c| c.name()).collect();
            format!(
                "{at}: unknown command `{}` (commands: {})",
                name.escape_debug(),
                all.join(", ")
            )
        })?;
        let at = format!("{origin}:{}", line_col(text, v.span().start));
        let list = v
            .get_ref()
            .as_array()
            .ok_or_else(|| format!("{at}: `{name}` takes a list of keys, e.g. [\"q\"]"))?;
        let mut keys = Vec::new();
        for k in list {
            let s = k
                .as_str()
                .ok_or_else(|| format!("{at}: `{name}`: a key is a string"))?;
            let key = parse_key(s).map_err(|e| format!("{at}: `{name}`: {e}"))?;
            if let Some(other) = seen.insert(key, c) {
                return Err(format!(
                    "{at}: `{s}` is bound to both `{}` and `{name}`",
                    other.name()
                ));
            }
            keys.push(key);
        }
        out.push((c, keys));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_keys_bind_every_command_once() {
        let m = Keymap::builtin();
        for c in Command::ALL {
            assert!(!m.keys(c).is_empty(), "{} has no key", c.name());
        }
        assert_eq!(m.command(Key::Char('q')), Some(Command::Quit));
        assert_eq!(m.command(Key::Ctrl('c')), Some(Command::Quit));
        assert_eq!(m.command(Key::Char(':')), Some(Command::CommandLine));
        assert_eq!(m.label(Command::Down), "j, ↓");
    }

    #[test]
    fn a_user_binding_takes_its_keys_from_the_defaults() {
        let m = Keymap::with_overrides("keys.toml", "notes = [\"N\"]\nquit = [\"x\", \"n\"]\n")
            .unwrap();
        assert_eq!(m.command(Key::Char('n')), Some(Command::Quit));
        assert_eq!(m.command(Key::Char('N')), Some(Command::Notes));
        assert_eq!(
            m.command(Key::Char('q')),
            None,
            "quit took exactly its keys"
        );
        assert_eq!(m.label(Command::Quit), "x, n");
    }

    #[test]
    fn bad_keys_files_say_where_and_what() {
        let e = Keymap::with_overrides("k.toml", "# c\nquitt = [\"x\"]\n").unwrap_err();
        assert!(e.starts_with("k.toml:2:1: unknown command `quitt`"), "{e}");
        let e = Keymap::with_overrides("k.toml", "quit = [\"enter\"]\n").unwrap_err();
        assert_eq!(
            e,
            "k.toml:1:8: `quit`: `enter` is fixed and cannot be bound"
        );
        let e = Keymap::with_overrides("k.toml", "quit = [\"x\"]\nnotes = [\"x\"]\n").unwrap_err();
        assert_eq!(e, "k.toml:2:9: `x` is bound to both `quit` and `notes`");
        let e = Keymap::with_overrides("k.toml", "quit = \"x\"\n").unwrap_err();
        assert!(e.contains("takes a list of keys"), "{e}");
        let e = Keymap::with_overrides("k.toml", "quit = [\"shift-q\"]\n").unwrap_err();
        assert!(e.contains("not a key rbtui knows"), "{e}");
    }

    /// Seen: `[quit]` was reported at `keys.toml:0:`; `"\u001b"` and
    /// `"\u0000"` were accepted as keys.
    #[test]
    fn tables_and_control_characters_are_placed_and_refused() {
        let e = Keymap::with_overrides("k.toml", "# mine\n\n[quit]\nkeys = [\"x\"]\n").unwrap_err();
        assert!(
            e.starts_with("k.toml:3:1: `quit` takes a list of keys"),
            "{e}"
        );
        assert!(!e.contains(":0:"), "{e}");
        for bad in ["\\u001b", "\\u0000", "\\u007f", "\\t"] {
            let e = Keymap::with_overrides("k.toml", &format!("quit = [\"{bad}\"]\n")).unwrap_err();
            assert!(
                e.starts_with("k.toml:1:8: `quit`:") && e.contains("not a key rbtui knows"),
                "{bad}: {e}"
            );
        }
        let e = Keymap::with_overrides("k.toml", "quit = [\"x\"\n").unwrap_err();
        assert!(
            e.starts_with("k.toml:1:") || e.starts_with("k.toml:2:"),
            "{e}"
        );
        assert!(!e.contains('\n'), "one line: {e}");
    }
}
