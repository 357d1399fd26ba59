//! Keys, by context: popups first, then the filter, then the focused pane.
//! Part of `update`; pure like it.

use super::action::{Effect, Key};
use super::checklist::tick_step;
use super::entry::EntryKind;
use super::lifecycle::finish;
use super::lifecycle::quit;
use super::lifecycle::status_message;
use super::plan::CheckStatus;
use super::reads::{request_other_form, request_plan, request_reenable};
use super::record::record;
use super::state::{ConfirmField, ConfirmForm, Pane, Popup, State};
use super::targets::assess;
use super::targets::reorder;

pub(super) fn key(s: &mut State, k: Key, fx: &mut Vec<Effect>) {
    s.flash = None;
    if super::search::key(s, k) {
        return;
    }
    if let Some(p) = s.view.popup.clone() {
        popup_key(s, p, k, fx);
        return;
    }
    if s.view.filtering {
        match k {
            Key::Esc => {
                s.view.filtering = false;
                s.view.filter.clear();
            }
            Key::Enter => s.view.filtering = false,
            Key::Backspace => {
                s.view.filter.pop();
            }
            Key::Char(c) => s.view.filter.push(c),
            _ => {}
        }
        reorder(s);
        return;
    }
    if let Some(text) = s.view.command.clone() {
        super::command_line::key(s, text, k, fx);
        return;
    }
    if k == Key::Esc {
        if s.view.focus != Pane::Health {
            s.view.focus = Pane::Health;
        } else if !s.view.filter.is_empty() {
            s.view.filter.clear();
            reorder(s);
        }
        return;
    }
    use super::keymap::Command as C;
    match s.settings.keymap.command(k) {
        Some(C::Quit) => quit(s, fx),
        Some(C::Zoom) => s.view.zoomed = !s.view.zoomed,
        Some(C::Copy) => super::copy::focused(s),
        Some(C::Help) => {
            s.view.plan_scroll = 0;
            s.view.popup = Some(Popup::Help)
        }
        Some(C::Filter) => {
            s.view.filtering = true;
            s.view.focus = Pane::Health;
        }
        Some(C::CommandLine) => s.view.command = Some(String::new()),
        Some(C::NextPane) => s.view.focus = cycle(s.view.focus, 1),
        Some(C::PrevPane) => s.view.focus = cycle(s.view.focus, -1),
        Some(C::Notes) => s.view.popup = Some(Popup::Notes),
        Some(C::Status) => status_message(s, None),
        Some(C::Postmortem) => super::lifecycle::postmortem(s, fx),
        Some(C::Plan) if s.plan.is_some() => s.view.popup = Some(Popup::Plan),
        Some(C::Plan) if s.group.as_ref().is_some_and(|g| !g.confirmed) => {
            s.view.popup = Some(Popup::GroupPlan)
        }
        Some(C::RollbackTogether) => super::group_flow::request_from_health(s, fx),
        Some(C::Reenable) => request_reenable(s, fx),
        Some(c @ (C::Pane1 | C::Pane2 | C::Pane3 | C::Pane4 | C::Pane5)) => {
            let i = [C::Pane1, C::Pane2, C::Pane3, C::Pane4, C::Pane5]
                .iter()
                .position(|p| *p == c)
                .unwrap_or(0);
            s.view.focus = Pane::ALL[i];
        }
        _ => pane_key(s, k, fx),
    }
}

pub(super) fn cycle(p: Pane, d: isize) -> Pane {
    let i = Pane::ALL.iter().position(|&x| x == p).unwrap_or(0) as isize;
    Pane::ALL[((i + d).rem_euclid(Pane::ALL.len() as isize)) as usize]
}

/// How far a movement key moves, by the keymap.
pub(super) fn step_of(s: &State, k: Key) -> Option<isize> {
    use super::keymap::Command as C;
    match s.settings.keymap.command(k)? {
        C::Up => Some(-1),
        C::Down => Some(1),
        C::PageUp => Some(-10),
        C::PageDown => Some(10),
        C::Top => Some(isize::MIN / 2),
        C::Bottom => Some(isize::MAX / 2),
        _ => None,
    }
}

fn toggles(s: &State, k: Key) -> bool {
    s.settings.keymap.command(k) == Some(super::keymap::Command::Toggle)
}

pub(super) fn moved(cur: usize, d: isize, len: usize) -> usize {
    if len == 0 {
        return 0;
    }
    (cur as isize).saturating_add(d).clamp(0, len as isize - 1) as usize
}

/// Health's row `np` (in screen order) becomes the selected target.
fn select_row(s: &mut State, np: usize, fx: &mut Vec<Effect>) {
    let Some(&i) = s.order.get(np) else { return };
    let name = s.targets[i].name.clone();
    if s.view.selected.as_deref() == Some(&name) {
        return;
    }
    s.view.selected = Some(name.clone());
    s.view.history_cursor = 0;
    s.view.checklist_cursor = 0;
    // A plan asked for on the target left behind is no longer wanted
    // (its read is cancelled too).
    if s.pending_plan.take_if(|p| p.target != name).is_some() {
        s.flash = None;
    }
    if s.history(&name).is_none() {
        fx.push(Effect::LoadHistory(name));
    }
}

/// A mouse press on a pane, and on a row of its list: the pane takes the
/// keyboard and the row is selected, as the keys would. Ignored while a
/// dialog or a typed line has the keyboard (a stray click must not
/// dismiss a confirm).
pub(super) fn click(s: &mut State, pane: Pane, item: Option<usize>, fx: &mut Vec<Effect>) {
    if s.view.popup.is_some() || s.view.command.is_some() || s.view.filtering {
        return;
    }
    s.view.focus = pane;
    let Some(i) = item else { return };
    match pane {
        Pane::Health => select_row(s, i, fx),
        Pane::History => s.view.history_cursor = i,
        Pane::Checklist => s.view.checklist_cursor = i,
        Pane::Migrations | Pane::Activity => {}
    }
}

pub(super) fn pane_key(s: &mut State, k: Key, fx: &mut Vec<Effect>) {
    match s.view.focus {
        Pane::Health => {
            if let Some(d) = step_of(s, k) {
                let pos = s.selected_pos().unwrap_or(0);
                select_row(s, moved(pos, d, s.order.len()), fx);
            } else if toggles(s, k) {
                if let Some(t) = s.view.selected.clone() {
                    if !s.view.marked.remove(&t) {
                        s.view.marked.insert(t);
                    }
                }
            } else if k == Key::Enter {
                if let Some(t) = s.view.selected.clone() {
                    assess(s, &t, fx);
                    s.view.focus = Pane::History;
                    fx.push(Effect::LoadHistory(t));
                }
            }
        }
        Pane::History => {
            let len = s.selected_history().map(|h| h.revisions.len()).unwrap_or(0);
            if let Some(d) = step_of(s, k) {
                s.view.history_cursor = moved(s.view.history_cursor, d, len);
            } else if k == Key::Enter {
                let to = s
                    .selected_history()
                    .and_then(|h| h.revisions.get(s.view.history_cursor))
                    .map(|r| r.id.clone());
                if let (Some(t), Some(to)) = (s.view.selected.clone(), to) {
                    request_plan(s, &t, &to, fx);
                }
            }
        }
        Pane::Migrations => {
            if let Some(d) = step_of(s, k) {
                let len = s
                    .plan
                    .as_ref()
                    .and_then(|p| p.migration.as_ref())
                    .map(|m| m.files.iter().map(|f| f.text.lines().count() + 2).sum())
                    .unwrap_or(0);
                s.view.migration_scroll = moved(s.view.migration_scroll, d, len);
            }
        }
        Pane::Checklist => {
            let len = s
                .selected_target()
                .and_then(|t| s.runbook_for(t))
                .map(|r| r.steps.len())
                .unwrap_or(0);
            if let Some(d) = step_of(s, k) {
                s.view.checklist_cursor = moved(s.view.checklist_cursor, d, len);
            } else if toggles(s, k) || k == Key::Enter {
                hand_tick(s, fx);
            }
        }
        Pane::Activity => {
            if let Some(d) = step_of(s, k) {
                s.view.activity_scroll = moved(s.view.activity_scroll, d, s.activity.len());
            }
        }
    }
}

pub(super) fn popup_key(s: &mut State, p: Popup, k: Key, fx: &mut Vec<Effect>) {
    match p {
        Popup::Status(which, text) => {
            use super::status::Comms;
            match k {
                Key::Char('0') => status_message(s, Some(Comms::P0)),
                Key::Char('1') => status_message(s, Some(Comms::P1)),
                Key::Char('u') => status_message(s, Some(Comms::Update)),
                Key::Char('r') => status_message(s, Some(Comms::Resolved)),
                Key::Esc | Key::Enter | Key::Char('q') => {
                    super::lifecycle::status_closed(s, which, text, fx)
                }
                Key::Char('y') => super::copy::put(s, "the status message", &text),
                Key::Char('w') => super::posting::post(s, which, &text, fx),
                k => scroll_plan(s, k, 200),
            }
        }
        Popup::Reading { target, .. } => {
            if matches!(k, Key::Esc | Key::Enter | Key::Char('q')) {
                s.view.popup = None;
                if s.pending_plan.take_if(|p| p.target == target).is_some() {
                    s.flash = Some((false, format!("plan of {target} cancelled")));
                }
            }
        }
        Popup::Help => {
            if matches!(k, Key::Esc | Key::Enter | Key::Char('q') | Key::Char('?')) {
                s.view.popup = None;
            } else {
                scroll_plan(s, k, 60);
            }
        }
        Popup::Notes => {
            // The editor owns its keys; only Esc reaches the core.
            if k == Key::Esc {
                s.view.popup = None;
            }
        }
        Popup::QuitConfirm => match k {
            Key::Char('y') | Key::Char('Y') => {
                s.view.popup = None;
                finish(s, fx);
            }
            _ => s.view.popup = None,
        },
        Popup::Plan => match k {
            Key::Esc | Key::Char('q') => s.view.popup = None,
            Key::Char('y') => super::copy::plan(s),
            Key::Enter | Key::Char('c') => open_confirm(s, fx),
            Key::Char('t') => {
                s.view.popup = None;
                request_other_form(s, fx);
            }
            Key::Char('r') => {
                s.view.popup = None;
                super::reads::request_retag_form(s, fx);
            }
            k => scroll_plan(s, k, 200),
        },
        Popup::Evidence { step, mut text } => match k {
            Key::Esc => s.view.popup = None,
            Key::Enter => {
                s.view.popup = None;
                let t = s.view.selected.clone().unwrap_or_default();
                let ev = if text.trim().is_empty() {
                    None
                } else {
                    Some(text.trim().to_string())
                };
                tick_step(s, fx, &t, &step, false, ev);
            }
            Key::Backspace => {
                text.pop();
                s.view.popup = Some(Popup::Evidence { step, text });
            }
            Key::Char(c) => {
                text.push(c);
                s.view.popup = Some(Popup::Evidence { step, text });
            }
            _ => {}
        },
        Popup::Confirm(f) => confirm_key(s, f, k, false, fx),
        Popup::GroupConfirm(f) => confirm_key(s, f, k, true, fx),
        Popup::GroupPlan => match k {
            Key::Esc | Key::Char('q') => s.view.popup = None,
            Key::Char('f') => {
                if let Some(g) = s.group.as_mut().filter(|g| !g.confirmed) {
                    g.continue_on_failure = !g.continue_on_failure;
                }
            }
            Key::Char('v') => super::group_flow::switch_target(s, fx),
            Key::Enter | Key::Char('c') => super::group_flow::open_confirm(s, fx),
            k => scroll_plan(s, k, 2000),
        },
    }
}

/// The plan popups scroll with the keymap's movement keys.
fn scroll_plan(s: &mut State, k: Key, max: usize) {
    if let Some(d) = step_of(s, k) {
        s.view.plan_scroll = moved(s.view.plan_scroll, d, max + 1);
    }
}

/// The typed confirm of a plan or of a group: the same form, the same keys.
fn confirm_key(s: &mut State, mut f: ConfirmForm, k: Key, group: bool, fx: &mut Vec<Effect>) {
    let wrap = |f| {
        if group {
            Popup::GroupConfirm(f)
        } else {
            Popup::Confirm(f)
        }
    };
    match k {
        Key::Esc => s.view.popup = Some(if group { Popup::GroupPlan } else { Popup::Plan }),
        Key::Tab | Key::BackTab | Key::Up | Key::Down => {
            let both = if group {
                s.group
                    .as_ref()
                    .is_some_and(|g| g.needs_typed_name() && g.needs_override())
            } else {
                s.plan
                    .as_ref()
                    .is_some_and(|p| p.needs_typed_name() && p.needs_override())
            };
            if both {
                f.field = if f.field == ConfirmField::Name {
                    ConfirmField::Reason
                } else {
                    ConfirmField::Name
                };
            }
            s.view.popup = Some(wrap(f));
        }
        // The confirm's own text scrolls where the screen is too short
        // for every step and reason (PgUp/PgDn: letters are typed).
        Key::PageDown | Key::PageUp => {
            let by = 5;
            s.view.plan_scroll = if k == Key::PageDown {
                s.view.plan_scroll.saturating_add(by)
            } else {
                s.view.plan_scroll.saturating_sub(by)
            };
            s.view.popup = Some(wrap(f));
        }
        Key::Backspace => {
            field_mut(&mut f).pop();
            s.view.popup = Some(wrap(f));
        }
        Key::Char(c) => {
            field_mut(&mut f).push(c);
            f.error = None;
            s.view.popup = Some(wrap(f));
        }
        Key::Enter if group => super::group_flow::submit_confirm(s, f, fx),
        Key::Enter => submit_confirm(s, f, fx),
        _ => s.view.popup = Some(wrap(f)),
    }
}

pub(super) fn field_mut(f: &mut ConfirmForm) -> &mut String {
    match f.field {
        ConfirmField::Name => &mut f.name,
        ConfirmField::Reason => &mut f.reason,
    }
}

/// Enter in the plan: the typed confirm. It opens while checks are still
/// being answered (so a name typed ahead goes into it, never to a hotkey)
/// and confirms only once every check has its answer.
pub(super) fn open_confirm(s: &mut State, fx: &mut Vec<Effect>) {
    let Some(p) = s.plan.clone() else { return };
    if let Some(r) = p.refusal() {
        let msg = format!("refused: {}", r.detail);
        record(
            s,
            fx,
            EntryKind::Refused,
            Some(p.target.name.clone()),
            format!("plan #{} not executed: {}", p.id, r.detail),
            vec![],
            None,
        );
        s.flash = Some((true, msg));
        return;
    }
    if super::confirm::cannot_confirm(s, &[&p.target.name]) {
        return;
    }
    let field = if p.needs_typed_name() {
        ConfirmField::Name
    } else {
        ConfirmField::Reason
    };
    s.view.plan_scroll = 0;
    s.view.popup = Some(Popup::Confirm(ConfirmForm {
        name: String::new(),
        reason: String::new(),
        field,
        error: p.pending().then(|| pending_error(&p)),
    }));
}

/// What a confirm waits for while checks are still out.
fn pending_error(p: &super::plan::RollbackPlan) -> String {
    let out: Vec<&str> = p
        .checks
        .iter()
        .filter(|c| c.status == CheckStatus::Pending)
        .map(|c| c.id.label())
        .collect();
    format!(
        "pre-flight checks still running ({}): Enter confirms once they are answered",
        out.join(", ")
    )
}

pub(super) fn submit_confirm(s: &mut State, mut f: ConfirmForm, fx: &mut Vec<Effect>) {
    let Some(p) = s.plan.clone() else {
        s.view.popup = None;
        return;
    };
    if p.pending() {
        f.error = Some(pending_error(&p));
        s.view.popup = Some(Popup::Confirm(f));
        return;
    }
    // Answers that came in while the form was open may refuse it now.
    if let Some(r) = p.refusal() {
        s.view.popup = Some(Popup::Plan);
        s.flash = Some((true, format!("refused: {}", r.detail)));
        return;
    }
    let name = p.needs_typed_name().then(|| {
        let why = format!(
            "type the target name `{}` exactly to confirm a prod rollback",
            p.target.name
        );
        (p.target.name.as_str(), why)
    });
    if !f.complete(name, p.needs_override()) {
        s.view.popup = Some(Popup::Confirm(f));
        return;
    }
    s.view.popup = None;
    let reason = if p.needs_override() {
        Some(f.reason.trim().to_string())
    } else {
        None
    };
    let t = p.target.name.clone();
    let mut details = Vec::new();
    if p.needs_typed_name() {
        details.push(format!("typed target name: {}", f.name.trim()));
    }
    for c in p.checks.iter().filter(|c| c.status == CheckStatus::Block) {
        details.push(format!("OVERRIDE of BLOCK `{}`: {}", c.id, c.detail));
    }
    if let Some(r) = &reason {
        details.push(format!("override reason: {r}"));
    }
    // The steps are the plan's, recorded with it just above; said again
    // here they were a fifth of a rollback's note.
    details.push(format!(
        "runs the {} step(s) of plan #{} as recorded above",
        p.steps.len(),
        p.id
    ));
    record(
        s,
        fx,
        EntryKind::Confirm,
        Some(t.clone()),
        format!("plan #{} confirmed by {}", p.id, s.settings.operator),
        details,
        None,
    );
    super::confirm::confirmed_ticks(s, &p, reason.as_deref(), fx);
    s.plan = None;
    s.group.take_if(|g| !g.confirmed);
    // The target's earlier finished run gives way; other targets' stay.
    s.runs.retain(|r| r.in_flight() || r.plan.target.name != t);
    super::run::start_run(s, p, reason, None, fx);
}

pub(super) fn hand_tick(s: &mut State, _fx: &mut Vec<Effect>) {
    let Some(t) = s.selected_target().cloned() else {
        return;
    };
    let Some(step) = s
        .runbook_for(&t)
        .and_then(|r| r.steps.get(s.view.checklist_cursor).map(|st| st.id.clone()))
    else {
        return;
    };
    s.view.popup = Some(Popup::Evidence {
        step,
        text: String::new(),
    });
}
