//! The demo's data, read from `assets/demo/scenario.toml` (or a file given in
//! the config) and turned into a world with concrete times and digests.

use crate::core::model::Kind;
use serde::Deserialize;

pub const BUILTIN: &str = include_str!("../../../assets/demo/scenario.toml");

#[derive(Debug, Clone, Deserialize)]
pub struct Scenario {
    #[serde(rename = "service")]
    pub services: Vec<ServiceSpec>,
    /// Services rolled back together in the demo (`[[group]]`, as in a config).
    #[serde(default, rename = "group")]
    pub groups: Vec<crate::config::GroupConfig>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ServiceSpec {
    pub name: String,
    pub kind: Kind,
    pub environment: String,
    pub location: String,
    /// The platform's own name (the Argo CD application), when it differs.
    #[serde(default)]
    pub object: Option<String>,
    pub replicas: u32,
    pub image: String,
    pub baseline_p95_ms: f64,
    #[serde(default)]
    pub auto_sync: bool,
    #[serde(default)]
    pub history_note: Option<String>,
    pub revisions: Vec<RevisionSpec>,
}

/// How a bad revision misbehaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Failure {
    /// Every replica crash-loops, nothing is ready, all requests fail.
    Crashloop,
    /// Runs, but answers too many 5xx, slowly.
    Errors,
    /// One replica keeps restarting.
    Flaky,
}

#[derive(Debug, Clone, Deserialize)]
pub struct RevisionSpec {
    pub id: u64,
    pub tag: String,
    pub minutes_ago: i64,
    pub author: String,
    pub message: String,
    #[serde(default)]
    pub failure: Option<Failure>,
    #[serde(default)]
    pub migrations: Vec<MigrationSpec>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct MigrationSpec {
    pub path: String,
    pub sql: String,
}

/// The embedded demo's groups, for the session's settings.
pub fn builtin_groups() -> Vec<crate::config::GroupConfig> {
    parse("assets/demo/scenario.toml", BUILTIN)
        .map(|s| s.groups)
        .unwrap_or_default()
}

pub fn parse(origin: &str, text: &str) -> Result<Scenario, crate::setup_error::SetupError> {
    toml::from_str(text).map_err(|e| {
        crate::setup_error::SetupError::File(crate::config::toml_error(origin, text, &e))
    })
}

/// Deterministic hex from a seed: stands in for digests and SHAs in the
/// simulation, stable across runs so snapshots and notes are reproducible.
pub fn fake_hex(seed: &str, len: usize) -> String {
    let mut h: u64 = 0xcbf29ce484222325;
    for b in seed.bytes() {
        h ^= b as u64;
        h = h.wrapping_mul(0x100000001b3);
    }
    let mut out = String::with_capacity(len);
    while out.len() < len {
        h = h.wrapping_add(0x9E3779B97F4A7C15);
        let mut z = h;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58476D1CE4E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D049BB133111EB);
        z ^= z >> 31;
        out.push_str(&format!("{z:016x}"));
    }
    out.truncate(len);
    out
}
