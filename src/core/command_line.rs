//! The `:` command line, as k9s has it: `:target NAME`, `:group NAME`,
//! `:rollback REV`, `:note`, `:status`, `:postmortem`, `:help`, `:q`. Tab
//! completes the command, then its argument (target names, group names,
//! the selected target's revisions and `lkg`/`previous`). Every command
//! goes through the same paths as its key: a rollback is still a plan read
//! afresh, then a typed confirm. Part of `update`; pure.

use super::action::{Effect, Key};
use super::state::{Pane, Popup, State};

/// (command, what it takes and does), in the order they are offered.
pub const COMMANDS: [(&str, &str); 9] = [
    ("target", "NAME: select a target"),
    ("group", "NAME: plan a configured group together"),
    (
        "rollback",
        "REV|lkg|previous: plan the selected target's rollback",
    ),
    ("note", "open the notes editor"),
    ("status", "draft a status message"),
    ("postmortem", "write a postmortem draft beside the note"),
    (
        "attach",
        "attach the note to the incident's ticket ([ticket] issue)",
    ),
    ("help", "the keys"),
    ("q", "quit"),
];

pub(super) fn key(s: &mut State, mut text: String, k: Key, fx: &mut Vec<Effect>) {
    match k {
        Key::Esc => s.view.command = None,
        Key::Enter => {
            s.view.command = None;
            run(s, text.trim(), fx);
        }
        Key::Tab => s.view.command = Some(complete(s, &text)),
        Key::Backspace if text.is_empty() => s.view.command = None,
        Key::Backspace => {
            text.pop();
            s.view.command = Some(text);
        }
        Key::Char(c) => {
            text.push(c);
            s.view.command = Some(text);
        }
        _ => {}
    }
}

/// What the word being typed can become.
pub fn candidates(s: &State, text: &str) -> Vec<String> {
    let (cmd, arg) = match text.split_once(' ') {
        None => {
            return COMMANDS
                .iter()
                .map(|(c, _)| c.to_string())
                .filter(|c| c.starts_with(text))
                .collect();
        }
        Some((c, a)) => (c, a.trim_start()),
    };
    let all: Vec<String> = match cmd {
        "target" => s.targets.iter().map(|t| t.name.clone()).collect(),
        "group" => s.settings.groups.iter().map(|g| g.name.clone()).collect(),
        "rollback" => {
            let mut v = vec!["lkg".to_string(), "previous".to_string()];
            if let Some(h) = s.selected_history() {
                v.extend(h.revisions.iter().map(|r| r.id.to_string()));
            }
            v
        }
        _ => vec![],
    };
    all.into_iter().filter(|c| c.starts_with(arg)).collect()
}

/// Extends the word being typed as far as every candidate agrees; a
/// single candidate is completed with a space after a command.
fn complete(s: &State, text: &str) -> String {
    let c = candidates(s, text);
    let Some(first) = c.first() else {
        return text.to_string();
    };
    let common = c.iter().fold(first.clone(), |acc, x| {
        acc.chars()
            .zip(x.chars())
            .take_while(|(a, b)| a == b)
            .map(|(a, _)| a)
            .collect()
    });
    match text.split_once(' ') {
        None if c.len() == 1 => format!("{common} "),
        None => common,
        Some((cmd, _)) => format!("{cmd} {common}"),
    }
}

/// A unique match: the exact name, else the only one starting with it.
fn one_of(all: Vec<String>, asked: &str) -> Result<String, String> {
    if all.iter().any(|a| a == asked) {
        return Ok(asked.to_string());
    }
    let m: Vec<String> = all.into_iter().filter(|a| a.starts_with(asked)).collect();
    match m.len() {
        1 => Ok(m[0].clone()),
        0 => Err(format!("no match for `{asked}`")),
        _ => Err(format!("`{asked}` could be {}", m.join(", "))),
    }
}

fn run(s: &mut State, text: &str, fx: &mut Vec<Effect>) {
    let (cmd, arg) = text
        .split_once(' ')
        .map(|(c, a)| (c, a.trim()))
        .unwrap_or((text, ""));
    let names = |s: &State| s.targets.iter().map(|t| t.name.clone()).collect::<Vec<_>>();
    let r: Result<(), String> = match cmd {
        "" => Ok(()),
        "target" | "t" => one_of(names(s), arg).map(|t| select(s, &t, fx)),
        "group" | "g" => {
            let groups: Vec<String> = s.settings.groups.iter().map(|g| g.name.clone()).collect();
            one_of(groups, arg).map(|name| {
                if let Some(g) = s.settings.groups.iter().find(|g| g.name == name).cloned() {
                    super::group_flow::request(s, &g.name, g.targets, g.order, "lkg", fx);
                }
            })
        }
        "rollback" | "r" => match s.view.selected.clone() {
            None => Err("select a target first (:target NAME)".into()),
            Some(_) if arg.is_empty() => {
                Err("rollback to what? :rollback REV, lkg or previous".into())
            }
            Some(t) => {
                s.view.focus = Pane::History;
                super::reads::request_plan(s, &t, arg, fx);
                Ok(())
            }
        },
        "note" | "notes" => {
            s.view.popup = Some(Popup::Notes);
            Ok(())
        }
        "status" => {
            super::lifecycle::status_message(s, None);
            Ok(())
        }
        "postmortem" => {
            super::lifecycle::postmortem(s, fx);
            Ok(())
        }
        "attach" => {
            super::posting::attach(s, fx);
            Ok(())
        }
        "help" | "h" => {
            s.view.plan_scroll = 0;
            s.view.popup = Some(Popup::Help);
            Ok(())
        }
        "q" | "quit" => {
            super::lifecycle::quit(s, fx);
            Ok(())
        }
        other => Err(format!(
            "unknown command `{other}`: {}",
            COMMANDS
                .iter()
                .map(|(c, _)| *c)
                .collect::<Vec<_>>()
                .join(", ")
        )),
    };
    if let Err(e) = r {
        s.flash = Some((true, format!(":{text}: {e}")));
    }
}

/// Selects a target as moving to it in Health would, and shows its History.
fn select(s: &mut State, name: &str, fx: &mut Vec<Effect>) {
    if !s.order.iter().any(|&i| s.targets[i].name == name) {
        // The filter hides it: a named target is shown, not refused.
        s.view.filter.clear();
        super::targets::reorder(s);
    }
    if s.view.selected.as_deref() != Some(name) {
        s.view.history_cursor = 0;
        s.view.checklist_cursor = 0;
        s.pending_plan.take_if(|p| p.target != name);
    }
    s.view.selected = Some(name.to_string());
    s.view.focus = Pane::History;
    fx.push(Effect::LoadHistory(name.to_string()));
}
