//! The run lines that never scroll away while a rollback runs: one for a
//! single rollback, a group's line and one per member for a group.

use crate::core::fmt::{age, hms};
use crate::core::plan::PlanStep;
use crate::core::state::{Doing, Ending, Halt, RunState, State};
use crate::ui::theme;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

/// At most this many run lines: the panes keep their room.
const MAX_LINES: usize = 7;

/// The runs shown outside a group: every one in flight (independent
/// targets roll back at once), then the selected target's last one.
fn lone_runs(s: &State) -> Vec<&crate::core::state::Run> {
    let grouped = |r: &&crate::core::state::Run| {
        s.group
            .as_ref()
            .is_some_and(|g| g.confirmed && g.plans.iter().any(|p| p.id == r.plan.id))
    };
    let mut out: Vec<&crate::core::state::Run> = s
        .runs
        .iter()
        .filter(|r| r.in_flight() && !grouped(r))
        .collect();
    if let Some(r) = s.shown_run().filter(|r| !r.in_flight() && !grouped(r)) {
        out.push(r);
    }
    out
}

/// How many lines the run area needs: none without a run.
pub fn height(s: &State) -> u16 {
    let group = match &s.group {
        Some(g) if g.confirmed => 1 + g.members.len(),
        _ => 0,
    };
    (group + lone_runs(s).len()).min(MAX_LINES) as u16
}

pub fn render(s: &State, f: &mut Frame, area: Rect) {
    let mut lines = Vec::new();
    if let Some(g) = s.group.as_ref().filter(|g| g.confirmed) {
        lines.push(group_line(s, g));
        for p in g.ordered() {
            lines.push(match s.runs.iter().find(|r| r.plan.id == p.id) {
                Some(r) => run_line(s, r),
                None => waiting_line(g, p),
            });
        }
    }
    lines.extend(lone_runs(s).into_iter().map(|r| run_line(s, r)));
    lines.truncate(MAX_LINES);
    f.render_widget(Paragraph::new(lines), area);
}

fn group_line(s: &State, g: &crate::core::group::Group) -> Line<'static> {
    use crate::core::group::MemberState;
    let states: Vec<MemberState> = g.ordered().iter().map(|p| s.member_state(p.id)).collect();
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
        None => (
            " WAITING ",
            "starts when the one before it is verified".to_string(),
        ),
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
    let (label, style) = match r.ending() {
        None => (format!(" {what} IN PROGRESS "), theme::WARN_BANNER),
        Some(_) if r.superseded().is_some() => (format!(" {what} UNDONE "), theme::PROD),
        Some(Ending::DryRun) => (format!(" {what} DONE "), theme::NONPROD),
        Some(Ending::Unproven { .. }) => (format!(" {what} DONE, NOT PROVEN "), theme::WARN_BANNER),
        Some(Ending::Verified { .. } | Ending::Finished) => {
            (format!(" {what} DONE "), theme::OK_BANNER)
        }
        Some(Ending::Failed { .. }) => (format!(" {what} FAILED "), theme::PROD),
    };
    let (step, detail) = match &r.state {
        RunState::InFlight {
            step, doing, halt, ..
        } => in_flight(p, *step, doing, halt.as_ref()),
        RunState::Ended { ending, .. } => ended(s, r, ending),
    };
    // The screen never says more than the note holds: a run whose last
    // entries are still held says so beside its result.
    let detail = match (&s.note_error, r.in_flight()) {
        (Some(n), false) => format!(
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
                (r.step() + 1).min(p.steps.len()),
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

/// What the step in hand is doing, in two parts: the step and its detail.
fn in_flight(
    p: &crate::core::plan::RollbackPlan,
    step: usize,
    doing: &Doing,
    halt: Option<&Halt>,
) -> (String, String) {
    if let Some(h) = halt {
        return match h {
            Halt::Note(why) => ("STOPPED".into(), format!("note not writable: {why}")),
            Halt::Group(why) => ("STOPPED".into(), format!("group stopped: {why}")),
        };
    }
    let verb = p.steps.get(step).map(|st| match st {
        PlanStep::DisableAutoSync => "disabling auto-sync",
        PlanStep::EnableAutoSync => "enabling auto-sync",
        PlanStep::EditInput(_) => "pinning the deploy inputs",
        PlanStep::Rollback { via: Some(_), .. } => "running docker compose up",
        PlanStep::Rollback { .. } => "sending rollback",
        PlanStep::Retag { .. } => "re-tagging in the registry",
        PlanStep::Restart => "restarting",
        PlanStep::WaitForRollout { .. } => "watching rollout",
        PlanStep::Verify => "verifying",
    });
    let verb = verb.unwrap_or("finishing").to_string();
    match doing {
        Doing::SavingEvidence => (
            "saving evidence".into(),
            "the failing revision's logs and events go beside the note before the rollback replaces them".into(),
        ),
        Doing::Settling { rereads } => (
            "OUTCOME UNKNOWN".into(),
            format!("answer lost; re-reading the target ({rereads} failed)"),
        ),
        Doing::Watching { blind: Some((since, why)), .. } => (
            "rollout: OUTCOME UNKNOWN".into(),
            format!("its state cannot be read since {} ({why})", hms(*since)),
        ),
        Doing::Watching { progress, .. } => (
            verb,
            progress.as_ref().map(|pr| pr.message.clone()).unwrap_or_default(),
        ),
        Doing::Sending | Doing::Verifying { .. } => (verb, String::new()),
    }
}

fn ended(s: &State, r: &crate::core::state::Run, e: &Ending) -> (String, String) {
    let follow = s.followup(&r.plan.target.name).is_some();
    let detail = match e {
        Ending::Failed { why, .. } => why.clone(),
        _ if r.superseded().is_some() => r.superseded().unwrap_or_default().to_string(),
        Ending::DryRun => "nothing was changed; see the server-side dry run in the activity".into(),
        Ending::Unproven { caveat, .. } => format!("converged; {caveat}"),
        Ending::Verified { .. } if follow => {
            "converged and verified; follow-ups on the checklist".into()
        }
        Ending::Verified { .. } => "converged and verified".into(),
        Ending::Finished => "done".into(),
    };
    ("done".into(), detail)
}
