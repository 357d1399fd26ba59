//! How a session ends (quit, finish) and the status message drafted from it.

use super::action::Effect;
use super::checklist::auto_tick;
use super::entry::EntryKind;
use super::model::Mode;
use super::record::record;
use super::runbook::AutoEvent;
use super::state::Popup;
use super::state::State;

/// Drafts the ready-to-paste status message (`which`, or the one the
/// moment calls for) and shows it; switching templates re-drafts. Nothing
/// is recorded until the popup closes (`status_closed`): one entry per
/// draft kept, never one per key.
pub(super) fn status_message(s: &mut State, which: Option<crate::core::status::Comms>) {
    let which = which.unwrap_or_else(|| crate::core::status::default_for(s));
    let text = crate::core::status::draft(s, which);
    s.view.plan_scroll = 0;
    s.view.popup = Some(Popup::Status(which, text));
}

/// The status popup closed: the draft shown is recorded once, with the
/// targets it covers, never as posted.
pub(super) fn status_closed(
    s: &mut State,
    which: crate::core::status::Comms,
    text: String,
    fx: &mut Vec<Effect>,
) {
    s.view.popup = None;
    let names: Vec<String> = crate::core::status::covered(s)
        .iter()
        .map(|t| t.name.clone())
        .collect();
    let target = (names.len() == 1).then(|| names[0].clone());
    record(
        s,
        fx,
        EntryKind::Status,
        target,
        format!(
            "status message drafted ({}, covering {}; not posted by rbtui)",
            which.label(),
            if names.is_empty() {
                "no target".to_string()
            } else {
                names.join(", ")
            }
        ),
        text.lines().map(|l| format!("> {l}")).collect(),
        None,
    );
    for t in names {
        auto_tick(
            s,
            fx,
            &t,
            AutoEvent::StatusDrafted,
            Some("drafted by rbtui (press s)".into()),
        );
    }
}

/// `P` or `:postmortem`: a draft beside the note.
pub(super) fn postmortem(s: &mut State, fx: &mut Vec<Effect>) {
    s.flash = Some((false, "drafting the postmortem from the note…".into()));
    fx.push(Effect::DraftPostmortem {
        note: s.settings.note_path.clone(),
    });
}

pub(super) fn quit(s: &mut State, fx: &mut Vec<Effect>) {
    if s.in_flight() {
        s.view.popup = Some(Popup::QuitConfirm);
    } else {
        finish(s, fx);
    }
}

/// Records the checklist state (a rehearsal also its drill report) and
/// ends the session.
pub(super) fn finish(s: &mut State, fx: &mut Vec<Effect>) {
    let mut lines = Vec::new();
    let mut names: Vec<String> = s
        .table
        .iter()
        .filter(|(_, r)| !r.checklist.is_empty())
        .map(|(t, _)| t.to_string())
        .collect();
    for r in &s.runs {
        if !names.contains(&r.plan.target.name) {
            names.push(r.plan.target.name.clone());
        }
    }
    names.sort();
    if let Some(faults) = super::drill::faults_met(s) {
        record(
            s,
            fx,
            EntryKind::Drill,
            None,
            "drill faults: which were met, and what the operator did next".into(),
            faults,
            None,
        );
    }
    if s.settings.mode == Mode::Rehearsal || s.settings.drill.is_some() {
        for n in &names {
            let report = super::drill::report(s, n);
            if !report.is_empty() {
                record(
                    s,
                    fx,
                    EntryKind::Drill,
                    Some(n.clone()),
                    format!("drill report: {n}"),
                    report,
                    None,
                );
            }
        }
    }
    for n in names {
        lines.extend(checklist_at_exit(s, &n));
    }
    if s.in_flight() {
        lines.push("a rollback was still in flight at quit; rbtui stopped watching it".into());
    }
    record(
        s,
        fx,
        EntryKind::End,
        None,
        "session ended; checklist state at exit".into(),
        lines,
        Some(super::entry::Marker::End),
    );
    s.quitting = true;
}

/// A target's checklist for the end entry. Follow-ups exist only where a
/// rollback ran: a target only planned or looked at lists what was ticked
/// and says that no follow-up applies (its open steps are no action items).
fn checklist_at_exit(s: &State, n: &str) -> Vec<String> {
    let Some(t) = s.target(n).cloned() else {
        return vec![];
    };
    let Some(rb) = s.runbook_for(&t).map(std::borrow::Cow::into_owned) else {
        return vec![];
    };
    let vars = s.runbook_vars(&t);
    let vars: Vec<(&str, String)> = vars.iter().map(|(k, v)| (*k, v.clone())).collect();
    let ran = s.incident.story(n).is_some_and(|st| !st.runs.is_empty());
    let ticks = s.checklist(n);
    let mut lines = Vec::new();
    if !ran {
        lines.push(format!(
            "{n} — no rollback ran here: no follow-ups apply; ticked along the way:"
        ));
    } else {
        lines.push(format!("{n} — {}:", rb.title));
    }
    // Reverting applies only where a failing build was rolled back from
    // (not to a healthy target rolled back with its group).
    let bad = s.followup(n).is_some();
    // Each done step was ticked above with its proof: named once here, by
    // id; what is left is spelled out (the postmortem's action items).
    let done: Vec<&str> = rb
        .steps
        .iter()
        .filter(|st| ticks.and_then(|c| c.get(&st.id)).is_some())
        .map(|st| st.id.as_str())
        .collect();
    if !done.is_empty() {
        lines.push(format!(
            "  [x] {} of {} done (each ticked above): {}",
            done.len(),
            rb.steps.len(),
            done.join(", ")
        ));
    }
    for st in rb
        .steps
        .iter()
        .filter(|st| ran && !done.contains(&st.id.as_str()))
    {
        let revert = st.title.contains("{bad_sha}") || st.auto == Some(AutoEvent::RevertFound);
        let title = super::runbook::fill(&st.title, &vars);
        lines.push(if revert && !bad {
            format!("  [-] {title}: does not apply, no failing build was rolled back from")
        } else {
            format!("  [ ] {title}")
        });
    }
    lines
}

/// A resumed session continues the incident the note tells: the same
/// model, the checklist ticks, plan ids counted on; runs the earlier
/// session never saw end are said, group by group, and each such target
/// is read afresh (its state after the interruption is recorded with its
/// first health read).
pub(super) fn resumed(
    s: &mut State,
    incident: super::incident::Incident,
    checklists: std::collections::HashMap<
        String,
        std::collections::HashMap<String, super::state::StepTick>,
    >,
    fx: &mut Vec<Effect>,
) {
    for (t, ticks) in checklists {
        s.row_mut(&t).checklist = ticks;
    }
    s.next_plan_id = s.next_plan_id.max(incident.next_plan_id());
    let lines = interrupted_lines(&incident);
    let cut: Vec<String> = incident
        .interrupted()
        .iter()
        .map(|(t, _)| t.to_string())
        .collect();
    s.incident = incident;
    if lines.is_empty() {
        return;
    }
    for t in &cut {
        s.row_mut(t).after_interruption = true;
    }
    record(
        s,
        fx,
        EntryKind::Session,
        None,
        format!(
            "the earlier session ended with {} run(s) in flight: their outcome is unknown; each target's state is read afresh below",
            cut.len()
        ),
        lines,
        None,
    );
}

/// Per group (and per lone run) cut short: which members ran, which were
/// in flight, which never started.
fn interrupted_lines(i: &super::incident::Incident) -> Vec<String> {
    use super::incident::RunFact;
    let state = |r: Option<&RunFact>| match r {
        None => "NOT started".to_string(),
        Some(r) => match &r.ended {
            None if r.sent.is_some() => {
                "IN FLIGHT at the interruption (rollback sent): outcome unknown".into()
            }
            None => "IN FLIGHT at the interruption (rollback not sent yet): outcome unknown".into(),
            Some(e) => format!("{} at {}", e.result.label(), super::fmt::hms(e.at)),
        },
    };
    let run_of = |t: &str, p: super::plan::PlanId| {
        i.story(t).and_then(|s| s.runs.iter().find(|r| r.plan == p))
    };
    let mut lines = Vec::new();
    for g in &i.groups {
        let cut = g
            .members
            .iter()
            .any(|(t, p)| run_of(t, *p).is_some_and(|r| r.ended.is_none()));
        if !cut {
            continue;
        }
        lines.push(format!(
            "group {} (confirmed {}):",
            g.name,
            super::fmt::hms(g.at)
        ));
        for (t, p) in &g.members {
            lines.push(format!("  {t} (plan #{p}): {}", state(run_of(t, *p))));
        }
    }
    for (t, r) in i.interrupted() {
        if r.group.is_none() {
            lines.push(format!("{t} (plan #{}): {}", r.plan, state(Some(r))));
        }
    }
    lines
}

/// The first health read of a target whose run an earlier session left in
/// flight: the state it was left in, recorded.
pub(super) fn after_interruption(s: &mut State, h: &super::model::Health, fx: &mut Vec<Effect>) {
    let row = s.row_mut(&h.target);
    if !std::mem::take(&mut row.after_interruption) {
        return;
    }
    let v = super::verdict::evaluate(h, &s.settings.thresholds, s.now);
    let imgs: Vec<String> = h.images.iter().map(|i| i.short()).collect();
    let text = format!(
        "{} after the interruption: runs {} ({}), {}/{} ready, {} — {}",
        h.target,
        h.revision,
        imgs.join(", "),
        h.ready,
        h.desired,
        v.severity.label(),
        v.reasons.join("; ")
    );
    record(
        s,
        fx,
        EntryKind::Source,
        Some(h.target.clone()),
        text,
        vec![],
        None,
    );
}

/// A drill whose faults cannot all be met here says so at the start,
/// in the note and on screen, instead of reporting them "not met" at the end.
pub(super) fn drill_reach(s: &mut State, fx: &mut Vec<Effect>) {
    let lines = super::drill::unreachable(s);
    if lines.is_empty() {
        return;
    }
    let text = format!(
        "drill: {} of its faults cannot be met in this session",
        lines.len()
    );
    s.flash = Some((true, format!("{text}: {}", lines[0])));
    record(s, fx, EntryKind::Drill, None, text, lines, None);
}

/// Where the postmortem draft was written, or why not: recorded and said.
pub(super) fn postmortem_drafted(
    s: &mut State,
    r: Result<String, String>,
    fx: &mut Vec<Effect>,
) -> bool {
    let text = match &r {
        Ok(p) => format!("postmortem draft written to {p}"),
        Err(e) => format!("postmortem draft not written: {e}"),
    };
    record(s, fx, EntryKind::Note, None, text.clone(), vec![], None);
    s.flash = Some((r.is_err(), text));
    true
}

/// The note's summary on top stopped following the timeline: said on
/// screen and in the timeline, which stays the record.
pub(super) fn summary_stale(s: &mut State, why: &str, fx: &mut Vec<Effect>) {
    let text = format!(
        "the summary on top of the note could not be rewritten ({why}): it is stale until a later fact rewrites it; the timeline below is the record"
    );
    s.flash = Some((true, text.clone()));
    record(s, fx, EntryKind::Note, None, text, vec![], None);
}

/// The process was asked to stop (SIGTERM, SIGHUP): recorded, then the
/// session ends as a quit does.
pub(super) fn shutdown(s: &mut State, why: String, fx: &mut Vec<Effect>) {
    s.view.popup = None;
    let text = format!("{why}: ending the session");
    record(s, fx, EntryKind::Signal, None, text, vec![], None);
    finish(s, fx);
}
