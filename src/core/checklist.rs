//! Ticking runbook steps, automatically or by hand, always recorded.
//! Part of `update`; pure like it.

use super::action::Effect;
use super::entry::{EntryKind, Marker};
use super::record::record;
use super::runbook::AutoEvent;
use super::state::{State, StepTick};

/// Ticks every not-yet-ticked step of the target's runbook bound to `ev`.
pub(super) fn auto_tick(
    s: &mut State,
    fx: &mut Vec<Effect>,
    target: &str,
    ev: AutoEvent,
    evidence: Option<String>,
) {
    let Some(t) = s.target(target).cloned() else {
        return;
    };
    let ids: Vec<String> = s
        .runbook_for(&t)
        .map(|r| {
            r.steps
                .iter()
                .filter(|st| st.auto == Some(ev))
                .map(|st| st.id.clone())
                .collect()
        })
        .unwrap_or_default();
    for id in ids {
        if !s.checklist(target).is_some_and(|c| c.contains_key(&id)) {
            tick_step(s, fx, target, &id, true, evidence.clone());
        }
    }
}

/// The steps bound to `ev` stay open, and the note says why: a claim
/// without its proof is worse than no claim.
pub(super) fn not_ticked(
    s: &mut State,
    fx: &mut Vec<Effect>,
    target: &str,
    ev: AutoEvent,
    why: String,
) {
    let Some(t) = s.target(target).cloned() else {
        return;
    };
    let vars = s.runbook_vars(&t);
    let titles: Vec<String> = s
        .runbook_for(&t)
        .map(|r| {
            r.steps
                .iter()
                .filter(|st| st.auto == Some(ev))
                .filter(|st| !s.checklist(target).is_some_and(|c| c.contains_key(&st.id)))
                .map(|st| super::runbook::fill(&st.title, &vars))
                .collect()
        })
        .unwrap_or_default();
    for title in titles {
        record(
            s,
            fx,
            EntryKind::Checklist,
            Some(target.into()),
            format!("☐ {title}: not checked — {why}"),
            vec![],
            None,
        );
    }
}

/// A fact that ticked steps bound to `ev` stopped being true: the ticks
/// are taken back, recorded with why.
pub(super) fn auto_untick(
    s: &mut State,
    fx: &mut Vec<Effect>,
    target: &str,
    ev: AutoEvent,
    why: String,
) {
    let Some(t) = s.target(target).cloned() else {
        return;
    };
    let vars = s.runbook_vars(&t);
    let steps: Vec<(String, String)> = s
        .runbook_for(&t)
        .map(|r| {
            r.steps
                .iter()
                .filter(|st| st.auto == Some(ev))
                .map(|st| (st.id.clone(), super::runbook::fill(&st.title, &vars)))
                .collect()
        })
        .unwrap_or_default();
    for (id, title) in steps {
        let removed = s.row_mut(target).checklist.remove(&id).is_some();
        if removed {
            record(
                s,
                fx,
                EntryKind::Checklist,
                Some(target.into()),
                format!("☐ {title}: no longer true — {why}"),
                vec![],
                Some(Marker::Untick {
                    target: target.into(),
                    step: id,
                }),
            );
        }
    }
}

pub(super) fn tick_step(
    s: &mut State,
    fx: &mut Vec<Effect>,
    target: &str,
    step: &str,
    auto: bool,
    evidence: Option<String>,
) {
    // The note says what the screen says: placeholders filled.
    let title = s
        .target(target)
        .and_then(|t| {
            let vars = s.runbook_vars(t);
            s.runbook_for(t).and_then(|r| {
                r.steps
                    .iter()
                    .find(|st| st.id == step)
                    .map(|st| super::runbook::fill(&st.title, &vars))
            })
        })
        .unwrap_or_else(|| step.to_string());
    let now = s.now;
    let list = &mut s.row_mut(target).checklist;
    let (text, marker) = if !auto && list.contains_key(step) {
        list.remove(step);
        (
            format!("☐ {title} (unticked by hand)"),
            Marker::Untick {
                target: target.into(),
                step: step.into(),
            },
        )
    } else {
        list.insert(
            step.to_string(),
            StepTick {
                at: now,
                auto,
                evidence: evidence.clone(),
            },
        );
        let by = if auto { "auto" } else { "by hand" };
        (
            format!("☑ {title} ({by})"),
            Marker::Tick {
                target: target.into(),
                step: step.into(),
                auto,
            },
        )
    };
    // The proof on the tick's own line; where it is the entry just above
    // (the step's result, the verdict), that entry is named, not repeated.
    let text = match evidence {
        Some(e) if e.len() >= 12 && s.last_words.contains(e.as_str()) => {
            format!("{text} — proof: the entry above")
        }
        Some(e) => format!("{text} — proof: {e}"),
        None => text,
    };
    record(
        s,
        fx,
        EntryKind::Checklist,
        Some(target.into()),
        text,
        vec![],
        Some(marker),
    );
}
