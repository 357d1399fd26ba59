//! `y`: the focused item to the clipboard, with the text as the note has
//! it (redacted). The status popup said "select with the mouse", which
//! picks up box borders and the pane beside it. Part of `update`; pure:
//! the runtime hands `State::clipboard` to the terminal.

use super::state::{Pane, State};

/// Asks the runtime to copy `text`, and says so.
pub(super) fn put(s: &mut State, what: &str, text: &str) {
    let text = super::redact::redact(text);
    let lines = text.lines().count().max(1);
    s.flash = Some((
        false,
        format!("copied {what} ({lines} line(s)) to the clipboard"),
    ));
    s.clipboard = Some(text);
}

/// The plan on screen, as its confirm lines.
pub(super) fn plan(s: &mut State) {
    if let Some(p) = &s.plan {
        let text = p.confirm_lines().join("\n");
        put(s, "the plan", &text);
    }
}

/// The focused pane's item.
pub(super) fn focused(s: &mut State) {
    let Some(t) = s.selected_target().cloned() else {
        s.flash = Some((true, "nothing selected to copy".into()));
        return;
    };
    let item = match s.view.focus {
        Pane::Health => {
            let why = s
                .verdict(&t.name)
                .map(|v| format!(" {}: {}", v.severity.label(), v.reasons.join("; ")));
            Some((
                "the target",
                format!(
                    "{} ({} {}){}",
                    t.name,
                    t.kind.label(),
                    t.location,
                    why.unwrap_or_default()
                ),
            ))
        }
        Pane::History => s
            .history(&t.name)
            .and_then(|h| h.revisions.get(s.view.history_cursor))
            .map(|r| {
                (
                    "the revision's image",
                    r.images
                        .iter()
                        .map(|i| i.full())
                        .collect::<Vec<_>>()
                        .join("\n"),
                )
            }),
        Pane::Checklist => s.runbook_for(&t).and_then(|rb| {
            rb.steps
                .get(s.view.checklist_cursor)
                .map(|st| ("the step", st.title.clone()))
        }),
        Pane::Activity => {
            let at = s
                .view
                .activity_scroll
                .min(s.activity.len().saturating_sub(1));
            s.activity.get(at).map(|r| {
                (
                    "the Activity line",
                    format!("{} {}", super::fmt::hms(r.at), r.summary),
                )
            })
        }
        Pane::Migrations => None,
    };
    match item {
        Some((what, text)) => put(s, what, &text),
        None => {
            s.flash = Some((
                true,
                "nothing here to copy (z zooms the pane to read it)".into(),
            ))
        }
    }
}
