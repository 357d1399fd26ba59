//! The drill report: how long each checklist step took in a rehearsal,
//! against the budgets the runbooks give (check < 60 s, rollback 30 s - 2
//! min, verification 5-10 min), and the times to mitigate and to verified.
//! Pure: read from the ticks the session recorded.

use super::state::State;
use crate::runbook::AutoEvent;

/// The report's lines for one target, or none when nothing was ticked.
pub fn report(s: &State, target: &str) -> Vec<String> {
    let (Some(t), Some(ticks)) = (s.target(target), s.checklists.get(target)) else {
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
    let title = |st: &crate::runbook::Step| crate::runbook::fill(&st.title, &vars);
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

/// Seconds exactly (a drill's 75 s is not "1m"): `45s`, `1m15s`, `1h02m`.
fn dur(secs: i64) -> String {
    let s = secs.max(0);
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m{:02}s", s / 60, s % 60),
        _ => format!("{}h{:02}m", s / 3600, (s % 3600) / 60),
    }
}
