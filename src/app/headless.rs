//! The core's plan pipeline run to its end without a terminal or a note:
//! `rbtui plan` asks through the same `update` the console does (fresh
//! read, migrations, permissions, what changes, a dry run in a rehearsal)
//! and prints the plan the console would show, with every check answered.

use super::effects;
use crate::backend::Backend;
use crate::core::action::{Action, Effect};
use crate::core::group::Group;
use crate::core::plan::RollbackPlan;
use crate::core::runbook::Runbook;
use crate::core::settings::Settings;
use crate::core::state::{Popup, State};
use crate::core::update;
use std::collections::VecDeque;
use std::time::Duration;

/// What was asked for.
pub enum Ask {
    One {
        target: String,
        to: String,
        exact: bool,
        retag: bool,
    },
    Group {
        name: String,
        to: String,
    },
}

/// What the pipeline built.
pub enum Planned {
    One(Box<RollbackPlan>),
    Group(Box<Group>),
}

/// How long the whole pipeline may take: each read has its own bound, this
/// one keeps a hung platform from holding a script forever.
const WITHIN: Duration = Duration::from_secs(60);

pub async fn plan(
    backend: &dyn Backend,
    mut settings: Settings,
    runbooks: Vec<Runbook>,
    now: chrono::DateTime<chrono::Utc>,
    ask: Ask,
) -> Result<Planned, String> {
    // A plan changes nothing: no evidence is saved, nothing is recorded.
    settings.save_evidence = false;
    let mut s = State::new(settings, runbooks, now);
    let targets = backend.targets().await.map_err(|e| e.to_string())?;
    s.targets = targets;
    crate::core::targets_reorder(&mut s);
    let (wanted, first) = match ask {
        Ask::One {
            target,
            to,
            exact,
            retag,
        } => (
            vec![target.clone()],
            Action::PlanAsked {
                target,
                to,
                exact,
                retag,
            },
        ),
        Ask::Group { name, to } => {
            let members = s
                .settings
                .groups
                .iter()
                .find(|g| g.name == name)
                .map(|g| g.targets.clone())
                .unwrap_or_default();
            (members, Action::GroupAsked { name, to })
        }
    };
    for t in &wanted {
        if s.target(t).is_none() {
            return Err(format!("unknown target `{t}`"));
        }
    }
    // The health a plan records as "before", as the console has it.
    let mut healths = Vec::new();
    for t in &wanted {
        healths.push(backend.health(t).await.map_err(|e| (t.clone(), e)));
    }
    let mut queue: VecDeque<Action> = effects::health_actions(healths).into();
    queue.push_back(first);
    tokio::time::timeout(WITHIN, drain(backend, &mut s, queue))
        .await
        .map_err(|_| format!("the platform did not answer within {}s", WITHIN.as_secs()))?;
    result(s)
}

/// Applies actions and performs the reads they ask for until none is left.
/// Only reads: a plan records nothing and never saves evidence.
async fn drain(backend: &dyn Backend, s: &mut State, mut queue: VecDeque<Action>) {
    while let Some(a) = queue.pop_front() {
        for fx in update(s, a) {
            let read = matches!(
                fx,
                Effect::LoadHistory(_)
                    | Effect::LoadMigrations { .. }
                    | Effect::ReadChanges { .. }
                    | Effect::CheckPermissions { .. }
                    | Effect::Preview { .. }
            );
            if read && let Some(next) = effects::perform(backend, fx).await {
                queue.push_back(next);
            }
        }
    }
}

fn result(s: State) -> Result<Planned, String> {
    if let Some(g) = s.group {
        return Ok(Planned::Group(Box::new(g)));
    }
    if let Some(p) = s.plan {
        return Ok(Planned::One(Box::new(p)));
    }
    let why = match &s.view.popup {
        Some(Popup::Reading { error: Some(e), .. }) => e.clone(),
        _ => s
            .flash
            .map(|(_, m)| m)
            .unwrap_or_else(|| "no plan was made".into()),
    };
    Err(why)
}
