//! Docker engines: Swarm services (and, later, Compose projects) through bollard.

pub mod engine;
pub mod compose;
pub mod swarm;
