//! rbtui: a terminal incident console for rolling back bad deploys.
//!
//! Layers (see ARCHITECTURE.md): `core` decides (pure), `ui` draws (pure),
//! `backend` talks to platforms, `app` runs effects and the event loop,
//! `note` makes the incident record durable.

pub mod app;
pub mod backend;
pub mod cli;
pub mod commands;
pub mod config;
pub mod core;
pub mod files;
pub mod memory;
pub mod note;
pub mod runbook;
pub mod session;
pub mod setup_error;
pub mod ui;
