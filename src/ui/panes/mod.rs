//! One file per pane; each only reads the state.

pub mod activity;
pub mod checklist;
pub mod footer;
pub mod header;
pub mod health;
pub mod history;
pub mod migrations;
pub mod run;
