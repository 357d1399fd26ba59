//! The keys that work right now, or the last message.

use crate::core::state::{Pane, Popup, State};
use crate::ui::theme;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

/// (key, what) pairs for the current context; the help overlay lists all.
pub fn keys(s: &State) -> Vec<(&'static str, &'static str)> {
    match &s.view.popup {
        Some(Popup::Plan) => vec![("Enter", "confirm…"), ("j/k", "scroll"), ("Esc", "back")],
        Some(Popup::GroupPlan) => vec![
            ("Enter", "confirm all…"),
            ("f", "continue on failure"),
            ("v", "lkg/previous"),
            ("Esc", "back"),
        ],
        Some(Popup::Confirm(_) | Popup::GroupConfirm(_)) => vec![
            ("type", "as asked"),
            ("Tab", "next field"),
            ("Enter", "EXECUTE"),
            ("Esc", "back to plan"),
        ],
        Some(Popup::Notes) => vec![("Ctrl-S", "append to note"), ("Esc", "close (text kept)")],
        Some(Popup::Evidence { .. }) => vec![
            ("type", "evidence (optional)"),
            ("Enter", "tick"),
            ("Esc", "cancel"),
        ],
        Some(Popup::QuitConfirm) => vec![("y", "quit anyway"), ("any key", "stay")],
        Some(Popup::Help) => vec![("Esc", "close")],
        Some(Popup::Status(..)) => {
            vec![("0/1/u/r", "P0 · P1 · update · resolved"), ("Esc", "close")]
        }
        None if s.view.filtering => vec![("type", "filter"), ("Enter", "keep"), ("Esc", "clear")],
        None => {
            let mut v = match s.view.focus {
                Pane::Health => vec![("j/k", "target"), ("Enter", "history"), ("/", "filter")],
                Pane::History => vec![
                    ("j/k", "revision"),
                    ("Enter", "plan rollback"),
                    ("Esc", "targets"),
                ],
                Pane::Migrations | Pane::Activity => vec![("j/k", "scroll")],
                Pane::Checklist => vec![("j/k", "step"), ("space", "tick/untick")],
            };
            if s.view.focus == Pane::Health {
                v.push(("space", "mark"));
                let sel = s.view.selected.as_deref().unwrap_or_default();
                if !s.view.marked.is_empty()
                    || s.settings.groups.iter().any(|g| g.targets.iter().any(|t| t == sel))
                {
                    v.push(("R", "roll back together"));
                }
            }
            if s.plan.is_some() || s.group.as_ref().is_some_and(|g| !g.confirmed) {
                v.push(("p", "plan"));
            }
            if s.selected_target()
                .is_some_and(|t| t.kind == crate::core::model::Kind::Argocd)
                && s.selected_history().is_some_and(|h| !h.facts.auto_sync)
            {
                v.push(("a", "re-enable auto-sync"));
            }
            v.extend([
                ("Tab", "pane"),
                ("n", "note"),
                ("s", "status msg"),
                ("?", "help"),
                ("q", "quit"),
            ]);
            v
        }
    }
}

pub fn render(s: &State, f: &mut Frame, area: Rect) {
    let line = match &s.flash {
        Some((err, m)) => {
            Line::styled(format!(" {m}"), if *err { theme::ERROR } else { theme::OK })
        }
        None => Line::from(
            keys(s)
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
