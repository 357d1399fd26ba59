//! `update(&mut State, Action) -> Vec<Effect>`: every decision rbtui makes,
//! with no I/O, so the whole operator path can be driven by tests.

use super::action::{Action, Effect, ExecError, Key, NoteEntry, StepDone};
use super::fmt;
use super::model::{Health, ProgressPhase};
use super::plan::{self, CheckStatus, PlanInputs, PlanStep, RollbackPlan};
use super::state::{ConfirmField, ConfirmForm, Outcome, Pane, Popup, Run, State, Tick};
use super::verdict::{self, Severity};
use crate::runbook::AutoEvent;

/// Applies one action. Sets `state.dirty` when the screen must be redrawn.
pub fn update(s: &mut State, a: Action) -> Vec<Effect> {
    let mut fx = Vec::new();
    let redraw = match a {
        Action::Tick(now) => tick(s, now, &mut fx),
        Action::Key(k) => {
            key(s, k, &mut fx);
            true
        }
        Action::TargetsLoaded(r) => {
            match r {
                Ok(t) => {
                    s.targets = t;
                    s.targets_error = None;
                    if s.selected.is_none() {
                        s.selected = s.targets.first().map(|t| t.name.clone());
                    }
                }
                Err(e) => s.targets_error = Some(e),
            }
            reorder(s);
            if let Some(t) = s.selected.clone() {
                fx.push(Effect::LoadHistory(t));
            }
            true
        }
        Action::HealthUpdated(hs) => {
            let mut changed = false;
            for h in hs {
                s.health_errors.remove(&h.target);
                if s.health.get(&h.target) != Some(&h) {
                    changed = true;
                    s.trends.entry(h.target.clone()).or_default().push(&h);
                    s.health.insert(h.target.clone(), h);
                }
            }
            if changed {
                reverdict(s);
            }
            changed
        }
        Action::HealthFailed { target, error } => s.health_errors.insert(target, error.clone()).as_ref() != Some(&error),
        Action::HistoryLoaded { target, result } => {
            history_loaded(s, target, result, &mut fx);
            true
        }
        Action::MigrationsLoaded { plan_id, result } => {
            migrations_loaded(s, plan_id, result, &mut fx);
            true
        }
        Action::StepFinished { plan_id, step, result } => {
            step_finished(s, plan_id, step, result, &mut fx);
            true
        }
        Action::ProgressRead { plan_id, result } => {
            progress_read(s, plan_id, result, &mut fx);
            true
        }
        Action::VerifyRead { plan_id, result } => {
            verify_read(s, plan_id, result, &mut fx);
            true
        }
        Action::Recorded(r) => {
            s.unrecorded = s.unrecorded.saturating_sub(1);
            s.activity.push(r);
            true
        }
        Action::RecordFailed(e) => {
            s.unrecorded = s.unrecorded.saturating_sub(1);
            s.note_error = Some(e);
            true
        }
        Action::Shutdown(why) => {
            s.popup = None;
            record(s, &mut fx, "signal", None, format!("{why}: ending the session"), vec![], None);
            finish(s, &mut fx);
            true
        }
        Action::NoteSubmitted(text) => {
            let text = text.trim_end().to_string();
            if !text.is_empty() {
                let mut lines = text.lines().map(str::to_string);
                let first = lines.next().unwrap_or_default();
                record(s, &mut fx, "note", s.selected.clone(), first, lines.collect(), None);
            }
            s.popup = None;
            true
        }
    };
    s.dirty |= redraw;
    fx
}

/// Queues a note entry. Only `Recorded` puts it in the activity pane.
fn record(
    s: &mut State,
    fx: &mut Vec<Effect>,
    kind: &str,
    target: Option<String>,
    text: String,
    details: Vec<String>,
    marker: Option<String>,
) {
    s.unrecorded += 1;
    fx.push(Effect::Record(NoteEntry { at: s.now, kind: kind.into(), target, text, details, marker }));
}

fn tick(s: &mut State, now: chrono::DateTime<chrono::Utc>, fx: &mut Vec<Effect>) -> bool {
    let before_minute = s.now.format("%H:%M").to_string();
    s.now = now;
    let mut redraw = before_minute != now.format("%H:%M").to_string();
    // Ages and staleness are shown per minute, except while a rollout runs.
    let stale_before: Vec<bool> = s.verdicts.values().map(|v| v.stale).collect();
    reverdict(s);
    let stale_after: Vec<bool> = s.verdicts.values().map(|v| v.stale).collect();
    redraw |= stale_before != stale_after;
    if let Some(run) = &s.run {
        if run.in_flight() {
            redraw = true;
            if let Some(PlanStep::WaitForRollout { timeout_secs }) = run.plan.steps.get(run.step) {
                if (now - run.step_started_at).num_seconds() > *timeout_secs {
                    let msg = format!("rollout did not converge within {}", fmt::age(*timeout_secs));
                    fail_run(s, fx, msg);
                }
            }
        }
    }
    redraw
}

fn reverdict(s: &mut State) {
    let t = s.settings.thresholds;
    s.verdicts = s.health.iter().map(|(k, h)| (k.clone(), verdict::evaluate(h, &t, s.now))).collect();
    reorder(s);
}

/// Filtered, worst first, then by name; the selection follows its target.
pub fn reorder(s: &mut State) {
    let f = s.filter.to_ascii_lowercase();
    let mut order: Vec<usize> = (0..s.targets.len())
        .filter(|&i| {
            let t = &s.targets[i];
            f.is_empty() || t.name.to_ascii_lowercase().contains(&f) || t.environment.to_ascii_lowercase().contains(&f) || t.kind.label().contains(&f)
        })
        .collect();
    let sev = |i: usize| s.verdicts.get(&s.targets[i].name).map(|v| v.severity).unwrap_or(Severity::Ok);
    order.sort_by(|&a, &b| sev(b).cmp(&sev(a)).then_with(|| s.targets[a].name.cmp(&s.targets[b].name)));
    s.order = order;
    if s.selected_pos().is_none() {
        let first = s.order.first().map(|&i| s.targets[i].name.clone());
        if first.is_some() || s.filter.is_empty() {
            s.selected = first.or(s.selected.take());
        }
    }
}

fn key(s: &mut State, k: Key, fx: &mut Vec<Effect>) {
    s.flash = None;
    if let Some(p) = s.popup.clone() {
        popup_key(s, p, k, fx);
        return;
    }
    if s.filtering {
        match k {
            Key::Esc => {
                s.filtering = false;
                s.filter.clear();
            }
            Key::Enter => s.filtering = false,
            Key::Backspace => {
                s.filter.pop();
            }
            Key::Char(c) => s.filter.push(c),
            _ => {}
        }
        reorder(s);
        return;
    }
    match k {
        Key::Char('q') | Key::Ctrl('c') => quit(s, fx),
        Key::Char('?') => s.popup = Some(Popup::Help),
        Key::Char('/') => {
            s.filtering = true;
            s.focus = Pane::Health;
        }
        Key::Tab => s.focus = cycle(s.focus, 1),
        Key::BackTab => s.focus = cycle(s.focus, -1),
        Key::Char('n') => {
            s.popup = Some(Popup::Notes);
            fx.push(Effect::OpenEditor);
        }
        Key::Char('s') => status_message(s, fx),
        Key::Char('p') if s.plan.is_some() => s.popup = Some(Popup::Plan),
        Key::Char('a') => reenable_plan(s, fx),
        Key::Char(c @ '1'..='5') => s.focus = Pane::ALL[(c as u8 - b'1') as usize],
        Key::Esc => {
            if s.focus != Pane::Health {
                s.focus = Pane::Health;
            } else if !s.filter.is_empty() {
                s.filter.clear();
                reorder(s);
            }
        }
        _ => pane_key(s, k, fx),
    }
}

fn cycle(p: Pane, d: isize) -> Pane {
    let i = Pane::ALL.iter().position(|&x| x == p).unwrap_or(0) as isize;
    Pane::ALL[((i + d).rem_euclid(Pane::ALL.len() as isize)) as usize]
}

fn step_of(k: Key) -> Option<isize> {
    match k {
        Key::Up | Key::Char('k') => Some(-1),
        Key::Down | Key::Char('j') => Some(1),
        Key::PageUp => Some(-10),
        Key::PageDown => Some(10),
        Key::Home | Key::Char('g') => Some(isize::MIN / 2),
        Key::End | Key::Char('G') => Some(isize::MAX / 2),
        _ => None,
    }
}

fn moved(cur: usize, d: isize, len: usize) -> usize {
    if len == 0 {
        return 0;
    }
    (cur as isize).saturating_add(d).clamp(0, len as isize - 1) as usize
}

fn pane_key(s: &mut State, k: Key, fx: &mut Vec<Effect>) {
    match s.focus {
        Pane::Health => {
            if let Some(d) = step_of(k) {
                let pos = s.selected_pos().unwrap_or(0);
                let np = moved(pos, d, s.order.len());
                if let Some(&i) = s.order.get(np) {
                    let name = s.targets[i].name.clone();
                    if s.selected.as_deref() != Some(&name) {
                        s.selected = Some(name.clone());
                        s.history_cursor = 0;
                        s.checklist_cursor = 0;
                        if !s.histories.contains_key(&name) {
                            fx.push(Effect::LoadHistory(name));
                        }
                    }
                }
            } else if k == Key::Enter {
                if let Some(t) = s.selected.clone() {
                    assess(s, &t, fx);
                    s.focus = Pane::History;
                    fx.push(Effect::LoadHistory(t));
                }
            }
        }
        Pane::History => {
            let len = s.selected_history().map(|h| h.revisions.len()).unwrap_or(0);
            if let Some(d) = step_of(k) {
                s.history_cursor = moved(s.history_cursor, d, len);
            } else if k == Key::Enter {
                let to = s.selected_history().and_then(|h| h.revisions.get(s.history_cursor)).map(|r| r.id.clone());
                if let (Some(t), Some(to)) = (s.selected.clone(), to) {
                    build_plan(s, &t, &to, fx);
                }
            }
        }
        Pane::Migrations => {
            if let Some(d) = step_of(k) {
                let len = s.plan.as_ref().and_then(|p| p.migration.as_ref()).map(|m| m.files.iter().map(|f| f.text.lines().count() + 2).sum()).unwrap_or(0);
                s.migration_scroll = moved(s.migration_scroll, d, len);
            }
        }
        Pane::Checklist => {
            let len = s.selected_target().and_then(|t| s.runbook_for(t)).map(|r| r.steps.len()).unwrap_or(0);
            if let Some(d) = step_of(k) {
                s.checklist_cursor = moved(s.checklist_cursor, d, len);
            } else if k == Key::Char(' ') || k == Key::Enter {
                hand_tick(s, fx);
            }
        }
        Pane::Activity => {
            if let Some(d) = step_of(k) {
                s.activity_scroll = moved(s.activity_scroll, d, s.activity.len());
            }
        }
    }
}

/// Records the verdict the operator looked at; ticks the "assess" step.
fn assess(s: &mut State, target: &str, fx: &mut Vec<Effect>) {
    if s.assessed.iter().any(|t| t == target) {
        return;
    }
    let Some(v) = s.verdicts.get(target).cloned() else { return };
    s.assessed.push(target.to_string());
    let text = format!("health {}: {}", v.severity.label(), v.severity.advice());
    record(s, fx, "assess", Some(target.into()), text.clone(), v.reasons.clone(), None);
    if v.severity >= Severity::Serious {
        auto_tick(s, fx, target, AutoEvent::HealthAssessed, Some(format!("{}: {}", text, v.reasons.join("; "))));
    }
}

fn build_plan(s: &mut State, target: &str, to: &str, fx: &mut Vec<Effect>) {
    if s.in_flight() {
        s.flash = Some((true, "a rollback is in flight; wait for it to finish before planning another".into()));
        return;
    }
    let (Some(t), Some(h)) = (s.target(target).cloned(), s.histories.get(target).cloned()) else {
        s.flash = Some((true, format!("history of {target} not loaded yet")));
        return;
    };
    let id = s.next_plan_id;
    let r = plan::build(PlanInputs {
        id,
        target: &t,
        mode: s.settings.mode,
        history: &h,
        to,
        now: s.now,
        before: s.health.get(target),
        mutable_tags: &s.settings.mutable_tags,
        rollout_timeout_secs: s.settings.rollout_timeout_secs,
    });
    match r {
        Ok(p) => {
            s.next_plan_id += 1;
            s.migration_scroll = 0;
            s.plan_scroll = 0;
            fx.push(Effect::LoadMigrations { plan_id: id, plan: Box::new(p.clone()) });
            s.plan = Some(p);
            s.popup = Some(Popup::Plan);
        }
        Err(e) => s.flash = Some((true, e)),
    }
}

/// `a`: the follow-up plan that turns Argo CD auto-sync back on.
fn reenable_plan(s: &mut State, fx: &mut Vec<Effect>) {
    if s.in_flight() {
        s.flash = Some((true, "a rollback is in flight; wait for it to finish".into()));
        return;
    }
    let Some(t) = s.selected_target().cloned() else { return };
    let Some(h) = s.histories.get(&t.name).cloned() else {
        s.flash = Some((true, format!("history of {} not loaded yet", t.name)));
        return;
    };
    let bad = s.run.as_ref().filter(|r| r.plan.target.name == t.name && r.plan.is_rollback()).and_then(|r| r.plan.from.git_sha.clone());
    let id = s.next_plan_id;
    let r = plan::build_reenable(
        PlanInputs {
            id,
            target: &t,
            mode: s.settings.mode,
            history: &h,
            to: "",
            now: s.now,
            before: s.health.get(&t.name),
            mutable_tags: &s.settings.mutable_tags,
            rollout_timeout_secs: s.settings.rollout_timeout_secs,
        },
        bad.as_deref(),
    );
    match r {
        Ok(p) => {
            s.next_plan_id += 1;
            s.plan = Some(p);
            s.popup = Some(Popup::Plan);
            plan_ready(s, fx);
        }
        Err(e) => s.flash = Some((true, e)),
    }
}

fn history_loaded(s: &mut State, target: String, result: Result<super::model::History, String>, fx: &mut Vec<Effect>) {
    match result {
        Ok(h) => {
            s.history_errors.remove(&target);
            s.histories.insert(target.clone(), h);
            if let Some((t, to)) = s.rebuild.clone() {
                if t == target {
                    s.rebuild = None;
                    build_plan(s, &t, &to, fx);
                    s.flash = Some((true, "plan rebuilt: the target changed since the last plan; review it again".into()));
                }
            }
        }
        Err(e) => {
            s.history_errors.insert(target, e);
        }
    }
}

fn migrations_loaded(s: &mut State, plan_id: u64, result: Result<super::migration::MigrationDiff, String>, fx: &mut Vec<Effect>) {
    let Some(p) = s.plan.as_mut().filter(|p| p.id == plan_id) else { return };
    p.apply_migrations(result);
    plan_ready(s, fx);
}

/// Records a plan once all its checks are known, and ticks what it proves.
fn plan_ready(s: &mut State, fx: &mut Vec<Effect>) {
    let Some(p) = s.plan.clone() else { return };
    let mut details: Vec<String> = p.confirm_lines().into_iter().skip(1).collect();
    for c in &p.checks {
        details.push(format!("check {} `{}`: {}", c.status.label(), c.id, c.detail));
    }
    if let Some(m) = &p.migration {
        details.push(format!("migrations {}..{}: {}", m.to_rev, m.from_rev, m.verdict.label()));
        for f in &m.files {
            let v = if f.is_down { "down migration (listed, not applied)".to_string() } else { f.verdict().map(|v| v.label().to_string()).unwrap_or("empty".into()) };
            details.push(format!("  {} ({}): {}", f.path, f.change, v));
            for st in f.statements.iter().filter(|st| st.verdict != super::migration::SqlVerdict::Compatible) {
                details.push(format!("    line {}: {} — {}", st.line, st.verdict.label(), st.reason));
            }
        }
    }
    let t = p.target.name.clone();
    record(s, fx, "plan", Some(t.clone()), format!("plan #{}: {}", p.id, p.title()), details, None);
    if !p.is_rollback() {
        return;
    }
    auto_tick(s, fx, &t, AutoEvent::PlanBuilt, Some(format!("{} → {}", p.from.id, p.to.id)));
    if p.checks.iter().any(|c| c.id == "schema" && c.status == CheckStatus::Pass) {
        let d = p.checks.iter().find(|c| c.id == "schema").map(|c| c.detail.clone());
        auto_tick(s, fx, &t, AutoEvent::SchemaChecked, d);
    }
}

fn popup_key(s: &mut State, p: Popup, k: Key, fx: &mut Vec<Effect>) {
    match p {
        Popup::Help | Popup::Status(_) => {
            if matches!(k, Key::Esc | Key::Enter | Key::Char('q') | Key::Char('?')) {
                s.popup = None;
            }
        }
        Popup::Notes => {
            // The editor owns its keys; only Esc reaches the core.
            if k == Key::Esc {
                s.popup = None;
            }
        }
        Popup::QuitConfirm => match k {
            Key::Char('y') | Key::Char('Y') => {
                s.popup = None;
                finish(s, fx);
            }
            _ => s.popup = None,
        },
        Popup::Plan => match k {
            Key::Esc | Key::Char('q') => s.popup = None,
            Key::Up | Key::Char('k') => s.plan_scroll = s.plan_scroll.saturating_sub(1),
            Key::Down | Key::Char('j') => s.plan_scroll = (s.plan_scroll + 1).min(200),
            Key::Enter | Key::Char('c') => open_confirm(s, fx),
            _ => {}
        },
        Popup::Evidence { step, mut text } => match k {
            Key::Esc => s.popup = None,
            Key::Enter => {
                s.popup = None;
                let t = s.selected.clone().unwrap_or_default();
                let ev = if text.trim().is_empty() { None } else { Some(text.trim().to_string()) };
                tick_step(s, fx, &t, &step, false, ev);
            }
            Key::Backspace => {
                text.pop();
                s.popup = Some(Popup::Evidence { step, text });
            }
            Key::Char(c) => {
                text.push(c);
                s.popup = Some(Popup::Evidence { step, text });
            }
            _ => {}
        },
        Popup::Confirm(mut f) => match k {
            Key::Esc => s.popup = Some(Popup::Plan),
            Key::Tab | Key::BackTab | Key::Up | Key::Down => {
                let plan = s.plan.as_ref();
                let both = plan.is_some_and(|p| p.needs_typed_name() && p.needs_override());
                if both {
                    f.field = if f.field == ConfirmField::Name { ConfirmField::Reason } else { ConfirmField::Name };
                }
                s.popup = Some(Popup::Confirm(f));
            }
            Key::Backspace => {
                field_mut(&mut f).pop();
                s.popup = Some(Popup::Confirm(f));
            }
            Key::Char(c) => {
                field_mut(&mut f).push(c);
                f.error = None;
                s.popup = Some(Popup::Confirm(f));
            }
            Key::Enter => submit_confirm(s, f, fx),
            _ => s.popup = Some(Popup::Confirm(f)),
        },
    }
}

fn field_mut(f: &mut ConfirmForm) -> &mut String {
    match f.field {
        ConfirmField::Name => &mut f.name,
        ConfirmField::Reason => &mut f.reason,
    }
}

fn open_confirm(s: &mut State, fx: &mut Vec<Effect>) {
    let Some(p) = s.plan.clone() else { return };
    if p.pending() {
        s.flash = Some((true, "pre-flight checks still running; wait for the migration verdict".into()));
        return;
    }
    if let Some(r) = p.refusal() {
        let msg = format!("refused: {}", r.detail);
        record(s, fx, "refused", Some(p.target.name.clone()), format!("plan #{} not executed: {}", p.id, r.detail), vec![], None);
        s.flash = Some((true, msg));
        return;
    }
    if s.note_error.is_some() {
        s.flash = Some((true, "the note cannot be written: no mutation until it can (see header)".into()));
        return;
    }
    if s.in_flight() {
        s.flash = Some((true, "a rollback is already in flight".into()));
        return;
    }
    let field = if p.needs_typed_name() { ConfirmField::Name } else { ConfirmField::Reason };
    s.popup = Some(Popup::Confirm(ConfirmForm { name: String::new(), reason: String::new(), field, error: None }));
}

fn submit_confirm(s: &mut State, mut f: ConfirmForm, fx: &mut Vec<Effect>) {
    let Some(p) = s.plan.clone() else {
        s.popup = None;
        return;
    };
    if p.needs_typed_name() && f.name.trim() != p.target.name {
        f.error = Some(format!("type the target name `{}` exactly to confirm a prod rollback", p.target.name));
        f.field = ConfirmField::Name;
        s.popup = Some(Popup::Confirm(f));
        return;
    }
    if p.needs_override() && f.reason.trim().len() < 10 {
        f.error = Some("a blocking check needs an override reason (at least 10 characters)".into());
        f.field = ConfirmField::Reason;
        s.popup = Some(Popup::Confirm(f));
        return;
    }
    s.popup = None;
    let reason = if p.needs_override() { Some(f.reason.trim().to_string()) } else { None };
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
    details.extend(p.confirm_lines().into_iter().skip(3));
    record(s, fx, "confirm", Some(t.clone()), format!("plan #{} confirmed by {}", p.id, s.settings.operator), details, None);
    auto_tick(s, fx, &t, AutoEvent::ContextVerified, Some(format!("{} ({}, {})", t, p.target.environment, p.target.location)));
    if let Some(r) = reason.as_ref().filter(|_| p.checks.iter().any(|c| c.id == "schema" && c.status == CheckStatus::Block)) {
        auto_tick(s, fx, &t, AutoEvent::SchemaChecked, Some(format!("overridden: {r}")));
    }
    s.run = Some(Run {
        plan: p,
        step: 0,
        started_at: s.now,
        step_started_at: s.now,
        progress: None,
        after: None,
        outcome: None,
        override_reason: reason,
        verify_until: None,
        verified_replicas: false,
    });
    s.plan = None;
    start_step(s, fx);
}

/// Emits the effect for the run's current step.
fn start_step(s: &mut State, fx: &mut Vec<Effect>) {
    let Some(run) = s.run.as_mut() else { return };
    run.step_started_at = s.now;
    let Some(step) = run.plan.steps.get(run.step).cloned() else {
        run.outcome = Some(Outcome::Succeeded);
        let t = run.plan.target.name.clone();
        let text = if run.plan.is_rollback() { "rollback finished; follow-ups stay open on the checklist" } else { "plan finished" };
        record(s, fx, "done", Some(t), text.into(), vec![], None);
        return;
    };
    let plan = Box::new(run.plan.clone());
    let plan_id = plan.id;
    let t = plan.target.name.clone();
    let n = run.step + 1;
    match &step {
        PlanStep::DisableAutoSync | PlanStep::EnableAutoSync | PlanStep::Rollback { .. } => {
            let text = format!("step {n}: {}", step.describe(&plan.target, &plan.from));
            record(s, fx, "action", Some(t), text, vec![], None);
            fx.push(Effect::Execute { plan, step: n - 1, what: step });
        }
        PlanStep::WaitForRollout { .. } => {
            fx.push(Effect::ReadProgress { plan_id, plan, delay_ms: 0 });
        }
        PlanStep::Verify => {
            let until = s.now + chrono::Duration::seconds(s.settings.verify_window_secs);
            if let Some(r) = s.run.as_mut() {
                r.verify_until = Some(until);
            }
            record(s, fx, "verify", Some(t.clone()), format!("verifying: watching health and metrics for up to {}", fmt::age(s.settings.verify_window_secs)), vec![], None);
            fx.push(Effect::ReadVerify { plan_id, target: t, delay_ms: 0 });
        }
    }
}

fn current_run(s: &mut State, plan_id: u64) -> Option<&mut Run> {
    s.run.as_mut().filter(|r| r.plan.id == plan_id && r.in_flight())
}

fn step_finished(s: &mut State, plan_id: u64, step: usize, result: Result<StepDone, ExecError>, fx: &mut Vec<Effect>) {
    let Some(run) = current_run(s, plan_id) else { return };
    if run.step != step {
        return;
    }
    let what = run.plan.steps[step].clone();
    let t = run.plan.target.name.clone();
    match result {
        Ok(StepDone { summary, version }) => {
            run.plan.built_from = version;
            record(s, fx, "result", Some(t.clone()), format!("step {} ok: {summary}", step + 1), vec![], None);
            let ev = match what {
                PlanStep::DisableAutoSync => Some(AutoEvent::AutoSyncDisabled),
                PlanStep::EnableAutoSync => Some(AutoEvent::AutoSyncEnabled),
                PlanStep::Rollback { .. } => Some(AutoEvent::RollbackStarted),
                _ => None,
            };
            if let Some(ev) = ev {
                auto_tick(s, fx, &t, ev, Some(summary));
            }
            fx.push(Effect::LoadHistory(t.clone()));
            if let Some(r) = s.run.as_mut() {
                r.step += 1;
            }
            start_step(s, fx);
        }
        Err(ExecError::Stale { built_from, now }) => {
            let to = run.plan.to.id.clone();
            let msg = ExecError::Stale { built_from, now }.message();
            record(s, fx, "stale", Some(t.clone()), format!("step {} not applied: {msg}; rebuilding the plan", step + 1), vec![], None);
            s.run = None;
            s.rebuild = Some((t.clone(), to));
            fx.push(Effect::LoadHistory(t));
        }
        Err(e) => fail_run(s, fx, format!("step {} failed: {}", step + 1, e.message())),
    }
}

fn fail_run(s: &mut State, fx: &mut Vec<Effect>, msg: String) {
    let Some(run) = s.run.as_mut() else { return };
    run.outcome = Some(Outcome::Failed(msg.clone()));
    let t = run.plan.target.name.clone();
    record(s, fx, "failed", Some(t.clone()), msg.clone(), vec!["the checklist stays open; choose another revision or escalate".into()], None);
    s.flash = Some((true, format!("{t}: {msg}")));
    fx.push(Effect::LoadHistory(t));
}

fn progress_read(s: &mut State, plan_id: u64, result: Result<super::model::Progress, String>, fx: &mut Vec<Effect>) {
    let poll = s.settings.progress_poll_ms;
    let Some(run) = current_run(s, plan_id) else { return };
    if !matches!(run.plan.steps.get(run.step), Some(PlanStep::WaitForRollout { .. })) {
        return;
    }
    let t = run.plan.target.name.clone();
    let plan = Box::new(run.plan.clone());
    match result {
        Ok(p) => {
            let changed = run.progress.as_ref().map(|o| (&o.message, o.phase)) != Some((&p.message, p.phase));
            run.progress = Some(p.clone());
            if changed {
                let text = format!("{} ({}/{} updated, {}/{} ready, {} old)", p.message, p.updated, p.desired, p.ready, p.desired, p.old);
                record(s, fx, "progress", Some(t.clone()), text, vec![], None);
            }
            match p.phase {
                ProgressPhase::Converged => {
                    auto_tick(s, fx, &t, AutoEvent::Converged, Some(p.message.clone()));
                    fx.push(Effect::LoadHistory(t.clone()));
                    if let Some(r) = s.run.as_mut() {
                        r.step += 1;
                    }
                    start_step(s, fx);
                }
                ProgressPhase::Failed => fail_run(s, fx, format!("rollout failed: {}", p.message)),
                _ => fx.push(Effect::ReadProgress { plan_id, plan, delay_ms: poll }),
            }
        }
        Err(e) => {
            s.flash = Some((true, format!("{t}: progress read failed: {e}; retrying")));
            fx.push(Effect::ReadProgress { plan_id, plan, delay_ms: poll * 2 });
        }
    }
}

fn verify_read(s: &mut State, plan_id: u64, result: Result<Health, String>, fx: &mut Vec<Effect>) {
    let now = s.now;
    let th = s.settings.thresholds;
    let Some(run) = current_run(s, plan_id) else { return };
    let t = run.plan.target.name.clone();
    let h = match result {
        Ok(h) => h,
        Err(e) => {
            s.flash = Some((true, format!("{t}: health read failed: {e}; retrying")));
            fx.push(Effect::ReadVerify { plan_id, target: t, delay_ms: 2000 });
            return;
        }
    };
    run.after = Some(h.clone());
    let want: Vec<String> = run.plan.to.images.iter().map(|i| format!("{}:{}", i.repository, i.tag.clone().unwrap_or_default())).collect();
    let have: Vec<String> = h.images.iter().map(|i| format!("{}:{}", i.repository, i.tag.clone().unwrap_or_default())).collect();
    let replicas_ok = h.ready == h.desired && h.desired > 0 && h.crashlooping == 0 && (want.is_empty() || want == have);
    if replicas_ok && !run.verified_replicas {
        run.verified_replicas = true;
        let before = run.plan.before.clone();
        let evidence = evidence_rows(before.as_ref(), &h, &run.plan);
        record(s, fx, "evidence", Some(t.clone()), format!("verified: {}/{} ready on {}", h.ready, h.desired, plan::images_text(&s.run.as_ref().unwrap().plan.to)), evidence, None);
        auto_tick(s, fx, &t, AutoEvent::Verified, Some(format!("{}/{} ready, images match the target revision", h.ready, h.desired)));
    }
    let run = s.run.as_mut().unwrap();
    let rec = verdict::recovered(&h, &th, now);
    let metrics_known = !matches!(&rec, Err(e) if e.starts_with("no probe or metric"));
    let metrics_ok = rec.is_ok();
    let until = run.verify_until.unwrap_or(now);
    if run.verified_replicas && metrics_ok {
        let text = format!("metrics recovered: {}", metric_text(&h));
        let before = run.plan.before.as_ref().map(metric_text).unwrap_or_else(|| "unknown".into());
        record(s, fx, "recovered", Some(t.clone()), text.clone(), vec![format!("before: {before}"), format!("after: {}", metric_text(&h))], None);
        auto_tick(s, fx, &t, AutoEvent::MetricsRecovered, Some(metric_text(&h)));
        if let Some(r) = s.run.as_mut() {
            r.step += 1;
        }
        start_step(s, fx);
    } else if now >= until {
        let what = if !run.verified_replicas {
            format!("not verified: {}/{} ready, images {}", h.ready, h.desired, plan::images_text(&super::model::Revision { images: h.images.clone(), ..run.plan.to.clone() }))
        } else if !metrics_known {
            "replicas verified; no metrics configured, so recovery is not proven".to_string()
        } else {
            format!("metrics not recovered within the window: {}; {}", metric_text(&h), rec.err().unwrap_or_default())
        };
        if run.verified_replicas {
            record(s, fx, "not-recovered", Some(t.clone()), what, vec![], None);
            if let Some(r) = s.run.as_mut() {
                r.step += 1;
            }
            start_step(s, fx);
        } else {
            fail_run(s, fx, what);
        }
    } else {
        fx.push(Effect::ReadVerify { plan_id, target: t, delay_ms: 2000 });
    }
}

fn metric_text(h: &Health) -> String {
    let e = h.error_rate.map(|e| format!("5xx {:.1}%", e * 100.0)).unwrap_or_else(|| "5xx n/a".into());
    let l = h.latency_p95_ms.map(|l| format!("p95 {l:.0} ms")).unwrap_or_else(|| "p95 n/a".into());
    format!("{e}, {l}")
}

fn evidence_rows(before: Option<&Health>, after: &Health, p: &RollbackPlan) -> Vec<String> {
    let cell = |h: Option<&Health>, f: &dyn Fn(&Health) -> String| h.map(f).unwrap_or_else(|| "unknown".into());
    let imgs = |h: &Health| h.images.iter().map(|i| i.short()).collect::<Vec<_>>().join(", ");
    let rows: Vec<(&str, String, String)> = vec![
        ("revision", p.from.id.clone(), format!("{} (content of {})", after.revision, p.to.id)),
        ("images", cell(before, &imgs), imgs(after)),
        ("ready", cell(before, &|h| format!("{}/{}", h.ready, h.desired)), format!("{}/{}", after.ready, after.desired)),
        ("crash-looping", cell(before, &|h| h.crashlooping.to_string()), after.crashlooping.to_string()),
        ("5xx rate", cell(before, &|h| h.error_rate.map(|e| format!("{:.1}%", e * 100.0)).unwrap_or("n/a".into())), after.error_rate.map(|e| format!("{:.1}%", e * 100.0)).unwrap_or("n/a".into())),
        ("p95 latency", cell(before, &|h| h.latency_p95_ms.map(|l| format!("{l:.0} ms")).unwrap_or("n/a".into())), after.latency_p95_ms.map(|l| format!("{l:.0} ms")).unwrap_or("n/a".into())),
    ];
    let mut out = vec!["| | before | after |".to_string(), "|---|---|---|".to_string()];
    out.extend(rows.into_iter().map(|(k, b, a)| format!("| {k} | {b} | {a} |")));
    out
}

/// Ticks every not-yet-ticked step of the target's runbook bound to `ev`.
fn auto_tick(s: &mut State, fx: &mut Vec<Effect>, target: &str, ev: AutoEvent, evidence: Option<String>) {
    let Some(t) = s.target(target).cloned() else { return };
    let ids: Vec<String> = s.runbook_for(&t).map(|r| r.steps.iter().filter(|st| st.auto == Some(ev)).map(|st| st.id.clone()).collect()).unwrap_or_default();
    for id in ids {
        if !s.checklists.get(target).is_some_and(|c| c.contains_key(&id)) {
            tick_step(s, fx, target, &id, true, evidence.clone());
        }
    }
}

fn tick_step(s: &mut State, fx: &mut Vec<Effect>, target: &str, step: &str, auto: bool, evidence: Option<String>) {
    let title = s
        .target(target)
        .and_then(|t| s.runbook_for(t))
        .and_then(|r| r.steps.iter().find(|st| st.id == step))
        .map(|st| st.title.clone())
        .unwrap_or_else(|| step.to_string());
    let list = s.checklists.entry(target.to_string()).or_default();
    let (text, marker) = if !auto && list.contains_key(step) {
        list.remove(step);
        (format!("☐ {title} (unticked by hand)"), format!("untick target={target} step={step}"))
    } else {
        list.insert(step.to_string(), Tick { at: s.now, auto, evidence: evidence.clone() });
        let by = if auto { "auto" } else { "by hand" };
        (format!("☑ {title} ({by})"), format!("tick target={target} step={step} by={}", if auto { "auto" } else { "hand" }))
    };
    let details = evidence.map(|e| vec![format!("evidence: {e}")]).unwrap_or_default();
    record(s, fx, "checklist", Some(target.into()), text, details, Some(marker));
}

fn hand_tick(s: &mut State, _fx: &mut Vec<Effect>) {
    let Some(t) = s.selected_target().cloned() else { return };
    let Some(step) = s.runbook_for(&t).and_then(|r| r.steps.get(s.checklist_cursor)).map(|st| st.id.clone()) else { return };
    s.popup = Some(Popup::Evidence { step, text: String::new() });
}

/// Drafts the ready-to-paste status message from the run (or the selection).
fn status_message(s: &mut State, fx: &mut Vec<Effect>) {
    let text = crate::core::status::draft(s);
    let t = s.run.as_ref().map(|r| r.plan.target.name.clone()).or(s.selected.clone());
    record(s, fx, "status", t.clone(), "status message drafted".into(), text.lines().map(|l| format!("> {l}")).collect(), None);
    if let Some(t) = t {
        auto_tick(s, fx, &t, AutoEvent::StatusDrafted, Some("drafted by rbtui (press s)".into()));
    }
    s.popup = Some(Popup::Status(text));
}

fn quit(s: &mut State, fx: &mut Vec<Effect>) {
    if s.in_flight() {
        s.popup = Some(Popup::QuitConfirm);
    } else {
        finish(s, fx);
    }
}

/// Records the checklist state and ends the session.
fn finish(s: &mut State, fx: &mut Vec<Effect>) {
    let mut lines = Vec::new();
    let mut names: Vec<String> = s.checklists.keys().cloned().collect();
    if let Some(r) = &s.run {
        if !names.contains(&r.plan.target.name) {
            names.push(r.plan.target.name.clone());
        }
    }
    names.sort();
    for n in names {
        let Some(t) = s.target(&n).cloned() else { continue };
        let Some(rb) = s.runbook_for(&t).cloned() else { continue };
        let vars = s.runbook_vars(&t);
        let vars: Vec<(&str, String)> = vars.iter().map(|(k, v)| (*k, v.clone())).collect();
        lines.push(format!("{n} — {}:", rb.title));
        for st in &rb.steps {
            let tick = s.checklists.get(&n).and_then(|c| c.get(&st.id));
            let mark = if tick.is_some() { "[x]" } else { "[ ]" };
            lines.push(format!("  {mark} {}", crate::runbook::fill(&st.title, &vars)));
        }
    }
    if s.in_flight() {
        lines.push("a rollback was still in flight at quit; rbtui stopped watching it".into());
    }
    record(s, fx, "end", None, "session ended; checklist state at exit".into(), lines, Some("end".into()));
    s.quitting = true;
    fx.push(Effect::Quit);
}
