//! Mode, environment (prod loud), context, incident, note path, UTC clock.

use crate::core::state::State;
use crate::ui::theme;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

pub fn render(s: &State, f: &mut Frame, area: Rect) {
    use crate::core::model::Mode;
    // A target served by the embedded simulation is never called LIVE:
    // its "prod" and its URL are made up.
    let simulated = s.selected_target().is_some_and(|t| t.simulated);
    let mode = match s.settings.mode {
        Mode::Live if simulated => Mode::Demo,
        m => m,
    };
    let mut l1 = vec![
        Span::styled(
            if s.settings.dry_run && mode == Mode::Rehearsal {
                format!(" {} · DRY RUN ", mode.label())
            } else {
                format!(" {} ", mode.label())
            },
            theme::mode(mode),
        ),
        Span::raw(" "),
    ];
    match s.selected_target() {
        Some(t) => {
            let env = format!(" {} ", t.environment.to_uppercase());
            l1.push(Span::styled(
                env,
                if t.is_prod() {
                    theme::PROD
                } else {
                    theme::NONPROD
                },
            ));
            if s.settings.read_only_in(&t.environment) {
                // Said before anyone plans: rbtui will refuse here.
                l1.push(Span::styled(
                    " READ-ONLY (config) ",
                    theme::mode(crate::core::model::Mode::ReadOnly),
                ));
            }
            l1.push(Span::raw(" "));
            l1.push(Span::styled(t.name.clone(), theme::BOLD));
            l1.push(Span::styled(format!(" ({}) ", t.kind.label()), theme::DIM));
            if t.simulated && s.settings.mode != Mode::Demo {
                l1.push(Span::styled("simulated by rbtui · ", theme::DIM));
            }
            l1.push(Span::raw(t.location.clone()));
        }
        None => l1.push(Span::styled("no target selected", theme::DIM)),
    }
    let clock = s.now.format("%Y-%m-%d %H:%M UTC").to_string();
    let mut l2 = vec![
        Span::styled("incident ", theme::DIM),
        Span::styled(s.settings.incident.clone(), theme::BOLD),
        Span::styled("  note ", theme::DIM),
        Span::raw(s.settings.note_path.clone()),
    ];
    if let Some(e) = &s.note_error {
        l2.push(Span::styled(
            format!(
                "  NOTE WRITE FAILED since {} ({} entries held; no mutation until it writes): {}",
                crate::core::fmt::hms(e.since),
                s.note_backlog.len(),
                e.error
            ),
            theme::ERROR,
        ));
    } else if s.unrecorded > 0 {
        l2.push(Span::styled(
            format!("  ({} entries not yet on disk)", s.unrecorded),
            theme::WARN,
        ));
    }
    let used: usize = l2.iter().map(|s| s.content.chars().count()).sum();
    let pad = (area.width as usize).saturating_sub(used + clock.len() + 1);
    l2.push(Span::raw(" ".repeat(pad)));
    l2.push(Span::styled(clock, theme::BOLD));
    f.render_widget(Paragraph::new(vec![Line::from(l1), Line::from(l2)]), area);
}
