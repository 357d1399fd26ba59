//! Docker engines: Swarm services (and, later, Compose projects) through bollard.

pub mod compose;
pub mod engine;
pub mod swarm;
