//! The keys that work right now, or the last message.

use crate::core::keymap::Command;
use crate::core::state::{Pane, Popup, State};
use crate::ui::theme;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

/// (key, what) pairs for the current context, the keys named by the
/// keymap in force; the help overlay lists all.
pub fn keys(s: &State) -> Vec<(String, &'static str)> {
    let fixed = |v: Vec<(&'static str, &'static str)>| {
        v.into_iter()
            .map(|(k, w)| (k.to_string(), w))
            .collect::<Vec<_>>()
    };
    let km = &s.settings.keymap;
    // The first key of a command, as the footer has room for one.
    let key = |c: Command| {
        km.keys(c)
            .first()
            .map(|k| crate::core::keymap::label(*k))
            .unwrap_or_else(|| format!(":{}", c.name()))
    };
    let updown = format!("{}/{}", key(Command::Down), key(Command::Up));
    match crate::core::search::current(s) {
        Some(q) if q.typing => {
            return fixed(vec![
                ("type", "search"),
                ("Enter", "keep"),
                ("Esc", "cancel"),
            ]);
        }
        Some(_) => {
            return fixed(vec![
                ("n/N", "next/previous match"),
                ("/", "new search"),
                ("Esc", "clear search"),
            ]);
        }
        None => {}
    }
    match &s.view.popup {
        Some(Popup::Plan) => vec![
            ("Enter".into(), "confirm…"),
            (updown, "scroll"),
            ("/".into(), "search"),
            ("y".into(), "copy"),
            ("Esc".into(), "back"),
        ],
        Some(Popup::GroupPlan) => fixed(vec![
            ("Enter", "confirm all…"),
            ("f", "continue on failure"),
            ("v", "lkg/previous"),
            ("Esc", "back"),
        ]),
        Some(Popup::Confirm(_) | Popup::GroupConfirm(_)) => fixed(vec![
            ("type", "as asked"),
            ("Tab", "next field"),
            ("Enter", "EXECUTE"),
            ("Esc", "back to plan"),
        ]),
        Some(Popup::Notes) => fixed(vec![
            ("Ctrl-S", "append to note"),
            ("Esc", "close (text kept)"),
        ]),
        Some(Popup::Evidence { .. }) => fixed(vec![
            ("type", "evidence (optional)"),
            ("Enter", "tick"),
            ("Esc", "cancel"),
        ]),
        Some(Popup::QuitConfirm) => fixed(vec![("y", "quit anyway"), ("any key", "stay")]),
        Some(Popup::Help) => fixed(vec![("/", "search"), ("Esc", "close")]),
        Some(Popup::Reading { .. }) => fixed(vec![("Esc", "close")]),
        Some(Popup::Status(..)) => {
            let mut v = vec![("0/1/u/r", "P0 · P1 · update · resolved"), ("y", "copy")];
            if s.settings.webhook.is_some() {
                v.push(("w", "post to the webhook"));
            }
            v.push(("Esc", "keep and record"));
            fixed(v)
        }
        None if s.view.command.is_some() => fixed(vec![
            ("Tab", "complete"),
            ("Enter", "run"),
            ("Esc", "cancel"),
        ]),
        None if s.view.filtering => fixed(vec![
            ("type", "filter"),
            ("Enter", "keep"),
            ("Esc", "clear"),
        ]),
        None => pane_keys(s, updown, &key),
    }
}

/// The keys of the focused pane, then those that work everywhere.
fn pane_keys(
    s: &State,
    updown: String,
    key: &dyn Fn(Command) -> String,
) -> Vec<(String, &'static str)> {
    let mut v: Vec<(String, &'static str)> = match s.view.focus {
        Pane::Health => vec![
            (updown, "target"),
            ("Enter".into(), "history"),
            (key(Command::Filter), "filter"),
        ],
        Pane::History => vec![
            (updown, "revision"),
            ("Enter".into(), "plan rollback"),
            ("Esc".into(), "targets"),
        ],
        Pane::Migrations | Pane::Activity => vec![(updown, "scroll")],
        Pane::Checklist => vec![(updown, "step"), (key(Command::Toggle), "tick/untick")],
    };
    if s.view.focus == Pane::Health {
        v.push((key(Command::Toggle), "mark"));
        let sel = s.view.selected.as_deref().unwrap_or_default();
        if !s.view.marked.is_empty()
            || s.settings
                .groups
                .iter()
                .any(|g| g.targets.iter().any(|t| t == sel))
        {
            v.push((key(Command::RollbackTogether), "roll back together"));
        }
    }
    if s.plan.is_some() || s.group.as_ref().is_some_and(|g| !g.confirmed) {
        v.push((key(Command::Plan), "plan"));
    }
    if s.selected_target()
        .is_some_and(|t| t.kind == crate::core::model::Kind::Argocd)
        && s.selected_history().is_some_and(|h| !h.facts.auto_sync)
    {
        v.push((key(Command::Reenable), "re-enable auto-sync"));
    }
    v.extend([
        (key(Command::NextPane), "pane"),
        (
            key(Command::Zoom),
            if s.view.zoomed { "unzoom" } else { "zoom" },
        ),
        (key(Command::CommandLine), "command"),
        (key(Command::Notes), "note"),
        (key(Command::Status), "status msg"),
        (key(Command::Help), "help"),
        (key(Command::Quit), "quit"),
    ]);
    v
}

/// The `:` line being typed, and what Tab would choose from.
fn command_line(s: &State, text: &str) -> Line<'static> {
    let c = crate::core::command_line::candidates(s, text);
    let mut spans = vec![
        Span::styled(format!(":{text}"), theme::BOLD),
        Span::styled("▏", theme::KEY),
    ];
    // Nothing to offer once the one candidate is typed out.
    let done = c.len() == 1 && text.ends_with(&c[0]);
    if !c.is_empty() && !done {
        spans.push(Span::styled(
            format!(
                "   {}",
                c.into_iter().take(12).collect::<Vec<_>>().join("  ")
            ),
            theme::DIM,
        ));
    }
    Line::from(spans)
}

/// The keys that fit in `width`: the last two (help and quit, or a
/// popup's way out) always stay; others are dropped from the middle.
fn fit(mut v: Vec<(String, &'static str)>, width: usize) -> Vec<(String, &'static str)> {
    let len = |v: &[(String, &str)]| {
        v.iter()
            .map(|(k, w)| k.chars().count() + w.chars().count() + 3)
            .sum::<usize>()
    };
    while len(&v) > width && v.len() > 2 {
        v.remove(v.len() - 3);
    }
    v
}

pub fn render(s: &State, f: &mut Frame, area: Rect) {
    let line = match (&s.view.command, &s.flash) {
        (Some(text), _) => command_line(s, text),
        (None, Some((err, m))) => {
            Line::styled(format!(" {m}"), if *err { theme::ERROR } else { theme::OK })
        }
        (None, None) => Line::from(
            fit(keys(s), area.width as usize)
                .into_iter()
                .flat_map(|(k, w)| {
                    [
                        Span::styled(format!(" {k}"), theme::KEY),
                        Span::raw(format!(" {w} ")),
                    ]
                })
                .collect::<Vec<_>>(),
        ),
    };
    f.render_widget(Paragraph::new(line), area);
}
