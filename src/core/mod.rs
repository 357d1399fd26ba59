//! The pure core: no I/O, no tokio, no terminal. Everything rbtui decides is
//! here, so it can be tested by feeding actions and reading effects.

pub mod action;
pub mod change_diff;
mod checklist;
pub mod command_line;
pub mod comms;
mod confirm;
mod copy;
pub mod drill;
pub mod entry;
pub mod error;
mod evidence;
pub use evidence::dir as evidence_dir;
pub mod fmt;
pub mod group;
mod group_flow;
pub mod incident;
mod key_press;
pub mod keymap;
mod lifecycle;
pub mod migration;
pub mod model;
pub mod pane;
pub mod plan;
mod plan_flow;
pub mod posting;
pub mod query;
mod reads;
mod record;
pub mod redact;
pub mod run;
pub mod run_state;
pub mod runbook;
pub mod search;
pub mod settings;
pub mod signals;
pub mod state;
pub mod status;
mod targets;
pub mod update;
pub mod verdict;
pub mod verify;
mod watch;
pub use watch::{expected_images, runs_images};

pub use action::{Action, Effect, Key};
pub use state::State;
pub use targets::reorder as targets_reorder;
pub use update::update;

#[cfg(test)]
mod testkit;
