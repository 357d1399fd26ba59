//! Docker engines through bollard: Swarm services and Compose projects.

pub mod compose;
pub mod compose_inputs;
pub mod engine;
mod evidence;
mod pull;
pub mod recreate;
pub mod swarm;
