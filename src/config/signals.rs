//! Health signals a target is judged on: HTTP probes and Prometheus queries.

use serde::Deserialize;

/// One HTTP health probe.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProbeConfig {
    pub name: Option<String>,
    pub url: String,
    /// Accepted status codes (default: any 2xx).
    pub expect_status: Option<Vec<u16>>,
    pub body_contains: Option<String>,
    /// A JSON pointer into the body (`/status`) and the text it must equal.
    pub json_pointer: Option<String>,
    pub json_equals: Option<String>,
    #[serde(default = "default_probe_timeout")]
    pub timeout_ms: u64,
    #[serde(default = "default_probe_interval")]
    pub interval_secs: u64,
    /// Extra headers; a value `env:NAME` is read from the environment, so
    /// secrets stay out of the config, the note and the logs.
    #[serde(default)]
    pub headers: std::collections::BTreeMap<String, String>,
}

fn default_probe_timeout() -> u64 {
    2000
}
fn default_probe_interval() -> u64 {
    10
}

/// A Prometheus-compatible HTTP API and the queries judged on it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrometheusConfig {
    /// Base URL, e.g. `http://prometheus:9090`.
    pub url: String,
    /// Environment variable holding a bearer token.
    pub bearer_token_env: Option<String>,
    /// Environment variables holding user and password for basic auth.
    pub basic_auth_env: Option<[String; 2]>,
    /// Value of the `service` label in the default queries (default: the target name).
    pub service: Option<String>,
    #[serde(default = "default_prom_interval")]
    pub interval_secs: u64,
    /// Prometheus's scrape interval for the service: a rate window is
    /// never shorter than four of them (fewer samples make a noisy rate).
    #[serde(default = "default_scrape_interval")]
    pub scrape_interval_secs: u64,
    #[serde(default = "default_probe_timeout")]
    pub timeout_ms: u64,
    /// Named queries; when empty, the defaults (error_rate, latency_p95).
    #[serde(default, rename = "query")]
    pub queries: Vec<QueryConfig>,
}

fn default_prom_interval() -> u64 {
    15
}

fn default_scrape_interval() -> u64 {
    15
}

/// A named PromQL query with its criterion (`> 5% for 5m`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueryConfig {
    /// `error_rate`, `latency_p95`, `latency_p99` get defaults; any other name needs `promql`.
    pub name: String,
    pub promql: Option<String>,
    pub criterion: Option<String>,
    /// The rate window (`1m`, `90s`): used in the default PromQL and in
    /// how long verification waits; for a custom `promql`, the window it
    /// uses (read from its `[…]` when not given).
    pub window: Option<String>,
}
