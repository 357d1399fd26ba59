//! How a session ends (quit, finish) and the status message drafted from it.

use super::action::Effect;
use super::checklist::auto_tick;
use super::entry::EntryKind;
use super::model::Mode;
use super::record::record;
use super::runbook::AutoEvent;
use super::state::Popup;
use super::state::State;

/// Drafts the ready-to-paste status message from the run (or the selection).
/// Drafts a status message (`which`, or the one the moment calls for);
/// recorded, never marked as posted.
pub(super) fn status_message(
    s: &mut State,
    which: Option<crate::core::status::Comms>,
    fx: &mut Vec<Effect>,
) {
    let which = which.unwrap_or_else(|| crate::core::status::default_for(s));
    let text = crate::core::status::draft(s, which);
    let t = s
        .shown_run()
        .map(|r| r.plan.target.name.clone())
        .or(s.view.selected.clone());
    record(
        s,
        fx,
        EntryKind::Status,
        t.clone(),
        format!(
            "status message drafted ({}; not posted by rbtui)",
            which.label()
        ),
        text.lines().map(|l| format!("> {l}")).collect(),
        None,
    );
    if let Some(t) = t {
        auto_tick(
            s,
            fx,
            &t,
            AutoEvent::StatusDrafted,
            Some("drafted by rbtui (press s)".into()),
        );
    }
    s.view.popup = Some(Popup::Status(which, text));
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
        let Some(t) = s.target(&n).cloned() else {
            continue;
        };
        let Some(rb) = s.runbook_for(&t).map(std::borrow::Cow::into_owned) else {
            continue;
        };
        let vars = s.runbook_vars(&t);
        let vars: Vec<(&str, String)> = vars.iter().map(|(k, v)| (*k, v.clone())).collect();
        lines.push(format!("{n} — {}:", rb.title));
        for st in &rb.steps {
            let tick = s.checklist(&n).and_then(|c| c.get(&st.id));
            let mark = if tick.is_some() { "[x]" } else { "[ ]" };
            lines.push(format!(
                "  {mark} {}",
                super::runbook::fill(&st.title, &vars)
            ));
        }
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
