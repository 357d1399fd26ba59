//! One line that never scrolls away while a rollback runs.

use crate::core::fmt::{age, hms};
use crate::core::plan::PlanStep;
use crate::core::state::{Outcome, RunPhase, State};
use crate::ui::theme;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

pub fn render(s: &State, f: &mut Frame, area: Rect) {
    let Some(r) = &s.run else { return };
    let p = &r.plan;
    let dry = s.settings.dry_run && s.settings.mode == crate::core::model::Mode::Rehearsal;
    let what = match (dry, p.is_rollback()) {
        (true, _) => "DRY-RUN REHEARSAL",
        (false, true) => "ROLLBACK",
        (false, false) => "AUTO-SYNC RE-ENABLE",
    };
    let (label, style) = match &r.outcome {
        None => (
            format!(" {what} IN PROGRESS "),
            Style::new()
                .fg(Color::Black)
                .bg(Color::Yellow)
                .add_modifier(Modifier::BOLD),
        ),
        Some(Outcome::Succeeded) if r.superseded.is_some() => {
            (format!(" {what} UNDONE "), theme::PROD)
        }
        Some(Outcome::Succeeded) if dry => (format!(" {what} DONE "), theme::NONPROD),
        Some(Outcome::Succeeded) if r.caveat.is_some() => (
            format!(" {what} DONE, NOT PROVEN "),
            Style::new()
                .fg(Color::Black)
                .bg(Color::Yellow)
                .add_modifier(Modifier::BOLD),
        ),
        Some(Outcome::Succeeded) => (
            format!(" {what} DONE "),
            Style::new()
                .fg(Color::Black)
                .bg(Color::Green)
                .add_modifier(Modifier::BOLD),
        ),
        Some(Outcome::Failed(_)) => (format!(" {what} FAILED "), theme::PROD),
    };
    let doing = |i: usize| {
        p.steps.get(i).map(|st| match st {
            PlanStep::DisableAutoSync => "disabling auto-sync",
            PlanStep::EnableAutoSync => "enabling auto-sync",
            PlanStep::EditInput(_) => "pinning the deploy inputs",
            PlanStep::Rollback { via: Some(_), .. } => "running docker compose up",
            PlanStep::Rollback { .. } => "sending rollback",
            PlanStep::WaitForRollout { .. } => "watching rollout",
            PlanStep::Verify => "verifying",
        })
    };
    let (step, detail) = match r.phase() {
        RunPhase::Performing(i) => (
            doing(i).unwrap_or("finishing").to_string(),
            r.progress
                .as_ref()
                .map(|pr| pr.message.clone())
                .unwrap_or_default(),
        ),
        RunPhase::Settling { rereads, .. } => (
            "OUTCOME UNKNOWN".to_string(),
            format!("answer lost; re-reading the target ({rereads} failed)"),
        ),
        RunPhase::Blind { since, why, .. } => (
            "rollout: OUTCOME UNKNOWN".to_string(),
            format!("its state cannot be read since {} ({why})", hms(since)),
        ),
        RunPhase::Halted(why) => ("STOPPED".to_string(), format!("note not writable: {why}")),
        RunPhase::Done(Outcome::Failed(m)) => ("done".to_string(), m.clone()),
        RunPhase::Done(Outcome::Succeeded) => (
            "done".to_string(),
            if let Some(why) = &r.superseded {
                why.clone()
            } else if dry {
                "nothing was changed; see the server-side dry run in the activity".into()
            } else if let Some(c) = &r.caveat {
                format!("converged; {c}")
            } else if p.is_rollback() {
                "converged and verified; follow-ups on the checklist".into()
            } else {
                "done".into()
            },
        ),
    };
    // The screen never says more than the note holds: a run whose last
    // entries are still held says so beside its result.
    let detail = match (&s.note_error, r.phase()) {
        (Some(n), RunPhase::Done(_)) => format!(
            "NOT ALL RECORDED (note failing since {}); {detail}",
            hms(n.since)
        ),
        _ => detail,
    };
    let line = Line::from(vec![
        Span::styled(label, style),
        Span::styled(format!(" {} ", p.title()), theme::BOLD),
        Span::styled(
            format!(
                "step {}/{} {} ",
                (r.step + 1).min(p.steps.len()),
                p.steps.len(),
                step
            ),
            theme::DIM,
        ),
        Span::raw(detail),
        Span::styled(
            format!("  {}", age((s.now - r.started_at).num_seconds())),
            theme::DIM,
        ),
    ]);
    f.render_widget(Paragraph::new(line), area);
}
