//! One HTTP health probe: status, body substring, JSON pointer, timeout.

use crate::config::ProbeConfig;
use std::time::{Duration, Instant};

/// Outcome of one probe call: ok, what to show, and the error if it failed.
pub struct ProbeOutcome {
    pub ok: bool,
    pub display: String,
    pub error: Option<String>,
    pub latency_ms: f64,
}

/// A header whose `env:NAME` variable is not set: the probe is not sent
/// rather than sent with an empty header.
#[derive(Debug, thiserror::Error)]
#[error("header {header}: environment variable {var} is not set")]
pub struct MissingHeader {
    pub header: String,
    pub var: String,
}

/// Header values `env:NAME` come from the environment; a missing variable
/// is an error, never an empty header.
pub fn headers(cfg: &ProbeConfig) -> Result<Vec<(String, String)>, MissingHeader> {
    cfg.headers
        .iter()
        .map(|(k, v)| match v.strip_prefix("env:") {
            Some(var) => {
                std::env::var(var)
                    .map(|val| (k.clone(), val))
                    .map_err(|_| MissingHeader {
                        header: k.clone(),
                        var: var.to_string(),
                    })
            }
            None => Ok((k.clone(), v.clone())),
        })
        .collect()
}

pub async fn run(client: &reqwest::Client, cfg: &ProbeConfig) -> ProbeOutcome {
    let started = Instant::now();
    let fail = |display: String, error: String, started: Instant| ProbeOutcome {
        ok: false,
        display,
        error: Some(error),
        latency_ms: started.elapsed().as_secs_f64() * 1000.0,
    };
    let hs = match headers(cfg) {
        Ok(h) => h,
        Err(e) => return fail("not configured".into(), e.to_string(), started),
    };
    let mut rb = client
        .get(&cfg.url)
        .timeout(Duration::from_millis(cfg.timeout_ms));
    for (k, v) in hs {
        rb = rb.header(k, v);
    }
    let resp = match rb.send().await {
        Ok(r) => r,
        Err(e) => {
            let why = super::describe_transport(&e, cfg.timeout_ms);
            return fail(why.clone(), why, started);
        }
    };
    let status = resp.status().as_u16();
    let body = match resp.text().await {
        Ok(b) => b,
        Err(e) => return fail(format!("{status}, body unreadable"), e.to_string(), started),
    };
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    let status_ok = match &cfg.expect_status {
        Some(list) => list.contains(&status),
        None => (200..300).contains(&status),
    };
    if !status_ok {
        return ProbeOutcome {
            ok: false,
            display: format!("HTTP {status} in {ms:.0} ms"),
            error: None,
            latency_ms: ms,
        };
    }
    if let Some(want) = &cfg.body_contains {
        if !body.contains(want.as_str()) {
            return ProbeOutcome {
                ok: false,
                display: format!("HTTP {status}, body lacks {want:?}"),
                error: None,
                latency_ms: ms,
            };
        }
    }
    if let Some(ptr) = &cfg.json_pointer {
        let v: serde_json::Value = match serde_json::from_str(&body) {
            Ok(v) => v,
            Err(_) => {
                return ProbeOutcome {
                    ok: false,
                    display: format!("HTTP {status}, body is not JSON"),
                    error: None,
                    latency_ms: ms,
                };
            }
        };
        let got = v.pointer(ptr).map(|x| {
            x.as_str()
                .map(str::to_string)
                .unwrap_or_else(|| x.to_string())
        });
        if let Some(want) = &cfg.json_equals {
            if got.as_deref() != Some(want.as_str()) {
                return ProbeOutcome {
                    ok: false,
                    display: format!(
                        "HTTP {status}, {ptr} = {} (want {want})",
                        got.unwrap_or_else(|| "missing".into())
                    ),
                    error: None,
                    latency_ms: ms,
                };
            }
        } else if got.is_none() {
            return ProbeOutcome {
                ok: false,
                display: format!("HTTP {status}, {ptr} missing"),
                error: None,
                latency_ms: ms,
            };
        }
    }
    ProbeOutcome {
        ok: true,
        display: format!("HTTP {status} in {ms:.0} ms"),
        error: None,
        latency_ms: ms,
    }
}
