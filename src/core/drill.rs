//! The drill report: how long each checklist step took in a rehearsal,
//! against the budgets the runbooks give (check < 60 s, rollback 30 s - 2
//! min, verification 5-10 min), and the times to mitigate and to verified.
//! Pure: read from the ticks the session recorded.

use super::runbook::AutoEvent;
use super::state::State;

/// The report's lines for one target, or none when nothing was ticked.
pub fn report(s: &State, target: &str) -> Vec<String> {
    let (Some(t), Some(ticks)) = (s.target(target), s.checklist(target)) else {
        return vec![];
    };
    let Some(rb) = s.runbook_for(t) else {
        return vec![];
    };
    // Each step's time is from the previous tick (or the session's start)
    // to its own: what the operator spent on it.
    let mut order: Vec<(&str, chrono::DateTime<chrono::Utc>)> =
        ticks.iter().map(|(id, t)| (id.as_str(), t.at)).collect();
    order.sort_by_key(|(_, at)| *at);
    let vars = s.runbook_vars(t);
    let title = |st: &super::runbook::Step| super::runbook::fill(&st.title, &vars);
    let mut lines = vec![format!("drill report for {target} ({}):", rb.title)];
    let mut over = 0;
    for st in &rb.steps {
        let Some(i) = order.iter().position(|(id, _)| *id == st.id) else {
            lines.push(format!("  skipped  {}", title(st)));
            continue;
        };
        let since = if i == 0 {
            s.session_started
        } else {
            order[i - 1].1
        };
        let took = (order[i].1 - since).num_seconds().max(0);
        let (mark, budget) = match st.budget_secs {
            Some(b) if took > b => {
                over += 1;
                ("OVER", format!(" (budget {})", dur(b)))
            }
            Some(b) => ("done", format!(" (budget {})", dur(b))),
            None => ("done", String::new()),
        };
        lines.push(format!("  {mark:<8} {}: {}{budget}", title(st), dur(took)));
    }
    let when = |ev: AutoEvent| {
        rb.steps
            .iter()
            .find(|st| st.auto == Some(ev))
            .and_then(|st| ticks.get(&st.id))
            .map(|t| dur((t.at - s.session_started).num_seconds().max(0)))
            .unwrap_or_else(|| "not reached".into())
    };
    lines.push(format!(
        "  time to mitigate (rollback sent): {}; time to verified: {}; {over} step(s) over budget",
        when(AutoEvent::RollbackStarted),
        when(AutoEvent::Verified)
    ));
    lines
}

/// For a drill with injected faults: each fault, whether it was met (the
/// first activity entry showing it) and what the operator did next (the
/// next plan, confirm, note or checklist entry of their own).
pub fn faults_met(s: &State) -> Option<Vec<String>> {
    use super::entry::EntryKind as K;
    let d = s.settings.drill.as_ref()?;
    let mut lines = vec![format!("drill: {}", d.title)];
    for super::settings::DrillFault { what, needle, .. } in &d.faults {
        let hit = s
            .activity
            .iter()
            .position(|r| r.summary.contains(needle.as_str()));
        let Some(i) = hit else {
            lines.push(format!("  not met   {what}"));
            continue;
        };
        let met = &s.activity[i];
        let next = s.activity[i + 1..]
            .iter()
            .find(|r| matches!(r.kind, K::Plan | K::Confirm | K::Note | K::Refused))
            .map(|r| format!("{} {}", super::fmt::hms(r.at), r.summary))
            .unwrap_or_else(|| "nothing before the session ended".into());
        lines.push(format!(
            "  met       {what}: at {} ({}); then: {next}",
            super::fmt::hms(met.at),
            met.summary
        ));
    }
    Some(lines)
}

/// Seconds exactly (a drill's 75 s is not "1m"): `45s`, `1m15s`, `1h02m`.
fn dur(secs: i64) -> String {
    let s = secs.max(0);
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m{:02}s", s / 60, s % 60),
        _ => format!("{}h{:02}m", s / 3600, (s % 3600) / 60),
    }
}

/// At the start of a drill: the faults that cannot be met here, said
/// before anyone acts — a target the config does not list, or a prod
/// target a rehearsal refuses. Empty when every fault is reachable.
pub fn unreachable(s: &State) -> Vec<String> {
    let Some(d) = s.settings.drill.as_ref() else {
        return vec![];
    };
    d.faults
        .iter()
        .filter_map(|f| {
            let t = f.target.as_deref()?;
            let why = match s.target(t) {
                None => format!("no target {t} here"),
                Some(info)
                    if s.settings.mode == super::model::Mode::Rehearsal && info.is_prod() =>
                {
                    format!("{t} is prod, which a rehearsal never touches")
                }
                Some(_) => return None,
            };
            Some(format!("cannot be met: {} — {why}", f.what))
        })
        .collect()
}
