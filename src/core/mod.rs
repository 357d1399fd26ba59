//! The pure core: no I/O, no tokio, no terminal. Everything rbtui decides is
//! here, so it can be tested by feeding actions and reading effects.

pub mod action;
mod checklist;
pub mod drill;
pub mod entry;
pub mod error;
pub mod fmt;
mod keys;
pub mod migration;
pub mod model;
pub mod plan;
mod reads;
mod registry_check;
pub mod run;
pub mod signals;
mod sql_shapes;
pub mod state;
pub mod status;
pub mod update;
pub mod verdict;
pub mod verify;

pub use action::{Action, Effect, Key};
pub use state::State;
pub use update::update;
