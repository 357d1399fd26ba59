//! The run lines that never scroll away while a rollback runs: one for a
//! single rollback, a group's line and one per member for a group.

use crate::core::fmt::{age, hms};
use crate::core::plan::PlanStep;
use crate::core::state::{Outcome, RunPhase, State};
use crate::ui::theme;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

/// How many lines the run area needs: none without a run.
pub fn height(s: &State) -> u16 {
    match &s.group {
        Some(g) if g.confirmed => 1 + g.members.len().min(6) as u16,
        _ => u16::from(!s.runs.is_empty()),
    }
}

pub fn render(s: &State, f: &mut Frame, area: Rect) {
    let mut lines = Vec::new();
    match s.group.as_ref().filter(|g| g.confirmed) {
        Some(g) => {
            lines.push(group_line(s, g));
            for p in g.ordered().into_iter().take(6) {
                lines.push(match s.runs.iter().find(|r| r.plan.id == p.id) {
                    Some(r) => run_line(s, r),
                    None => waiting_line(g, p),
                });
            }
        }
        None => lines.extend(s.shown_run().map(|r| run_line(s, r))),
    }
    f.render_widget(Paragraph::new(lines), area);
}

fn group_line(s: &State, g: &crate::core::group::Group) -> Line<'static> {
    use crate::core::group::MemberState;
    let states: Vec<MemberState> = g
        .ordered()
        .iter()
        .map(|p| s.member_state(p.id))
        .collect();
    let count = |f: fn(&MemberState) -> bool| states.iter().filter(|st| f(st)).count();
    let done = count(|st| *st == MemberState::Succeeded);
    let failed = count(|st| matches!(st, MemberState::Failed(_)));
    let (label, style) = match (g.reported, &g.stopped, failed) {
        (false, None, _) => (" GROUP IN PROGRESS ", theme::WARN_BANNER),
        (_, Some(_), _) => (" GROUP STOPPED ", theme::PROD),
        (true, None, 0) => (" GROUP DONE ", theme::OK_BANNER),
        (true, None, _) => (" GROUP DONE WITH FAILURES ", theme::PROD),
    };
    let why = g
        .stopped
        .as_ref()
        .map(|w| format!("; stopped: {w}"))
        .unwrap_or_default();
    Line::from(vec![
        Span::styled(label, style),
        Span::styled(format!(" {} ", g.title()), theme::BOLD),
        Span::raw(format!(
            "{done}/{} rolled back, {failed} failed{why}{}",
            states.len(),
            if g.continue_on_failure {
                " (continue on failure)"
            } else {
                ""
            }
        )),
    ])
}

fn waiting_line(
    g: &crate::core::group::Group,
    p: &crate::core::plan::RollbackPlan,
) -> Line<'static> {
    let (label, why) = match &g.stopped {
        Some(w) => (" NOT STARTED ", format!("the group stopped: {w}")),
        None => (" WAITING ", "starts when the one before it is verified".to_string()),
    };
    Line::from(vec![
        Span::styled(label, theme::DIM),
        Span::styled(format!(" {} ", p.title()), theme::BOLD),
        Span::styled(why, theme::DIM),
    ])
}

fn run_line(s: &State, r: &crate::core::state::Run) -> Line<'static> {
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
            theme::WARN_BANNER,
        ),
        Some(Outcome::Succeeded) if r.superseded.is_some() => {
            (format!(" {what} UNDONE "), theme::PROD)
        }
        Some(Outcome::Succeeded) if dry => (format!(" {what} DONE "), theme::NONPROD),
        Some(Outcome::Succeeded) if r.caveat.is_some() => (
            format!(" {what} DONE, NOT PROVEN "),
            theme::WARN_BANNER,
        ),
        Some(Outcome::Succeeded) => (
            format!(" {what} DONE "),
            theme::OK_BANNER,
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
            PlanStep::Retag { .. } => "re-tagging in the registry",
            PlanStep::Restart => "restarting",
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
        RunPhase::SavingEvidence => (
            "saving evidence".to_string(),
            "the failing revision's logs and events go beside the note before the rollback replaces them".to_string(),
        ),
        RunPhase::GroupStopped(why) => ("STOPPED".to_string(), format!("group stopped: {why}")),
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
    Line::from(vec![
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
    ])
}
