//! The Prometheus HTTP API (`/api/v1/query`, `/api/v1/query_range`): values
//! arrive as strings and may be `NaN` or `+Inf`; errors arrive as
//! `{"status":"error","errorType":…,"error":…}`.

use serde::Deserialize;
use std::time::Duration;

#[derive(Debug, Deserialize)]
struct Answer {
    status: String,
    #[serde(default)]
    data: Option<Data>,
    #[serde(rename = "errorType", default)]
    error_type: Option<String>,
    #[serde(default)]
    error: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Data {
    #[serde(rename = "resultType")]
    result_type: String,
    result: serde_json::Value,
}

pub struct Prom {
    pub base: String,
    pub auth: Auth,
    pub timeout: Duration,
}

/// Credentials, read from the environment when the signal starts.
#[derive(Clone)]
pub enum Auth {
    None,
    Bearer(String),
    Basic(String, String),
}

fn num(v: &serde_json::Value) -> Option<f64> {
    // `[ts, "value"]`; "NaN", "+Inf", "-Inf" parse as such.
    let s = v.get(1)?.as_str()?;
    match s {
        "+Inf" | "Inf" => Some(f64::INFINITY),
        "-Inf" => Some(f64::NEG_INFINITY),
        "NaN" => Some(f64::NAN),
        _ => s.parse().ok(),
    }
}

fn ts(v: &serde_json::Value) -> Option<f64> {
    v.get(0)?.as_f64()
}

/// Why a query got no value: what the signal shows as its error.
#[derive(Debug, thiserror::Error)]
pub enum PromError {
    /// No answer arrived (refused, timed out, cut).
    #[error("{0}")]
    Transport(String),
    /// An answer, but not Prometheus's (a proxy's page, a truncated body).
    #[error("HTTP {code}, not a Prometheus answer: {head:?}")]
    NotProm { code: u16, head: String },
    /// Prometheus refused the query (bad PromQL, a timeout of its own).
    #[error("{kind}: {said}")]
    Refused { kind: String, said: String },
    /// A success without the data the API promises.
    #[error("{0}")]
    Shape(String),
}

impl Prom {
    async fn get(
        &self,
        client: &reqwest::Client,
        path: &str,
        q: &[(&str, String)],
    ) -> Result<Data, PromError> {
        let mut rb = client
            .get(format!("{}{path}", self.base.trim_end_matches('/')))
            .query(q)
            .timeout(self.timeout);
        rb = match &self.auth {
            Auth::None => rb,
            Auth::Bearer(t) => rb.bearer_auth(t),
            Auth::Basic(u, p) => rb.basic_auth(u, Some(p)),
        };
        let resp = rb.send().await.map_err(|e| {
            PromError::Transport(super::describe_transport(
                &e,
                self.timeout.as_millis() as u64,
            ))
        })?;
        let code = resp.status().as_u16();
        let body = resp
            .text()
            .await
            .map_err(|e| PromError::Transport(e.to_string()))?;
        let a: Answer = serde_json::from_str(&body).map_err(|_| PromError::NotProm {
            code,
            head: body.chars().take(80).collect(),
        })?;
        if a.status != "success" {
            return Err(PromError::Refused {
                kind: a.error_type.unwrap_or_else(|| "error".into()),
                said: a.error.unwrap_or_default(),
            });
        }
        a.data
            .ok_or_else(|| PromError::Shape("answer has no data".into()))
    }

    /// The worst (largest) current value over all returned series; `None`
    /// for an empty vector (no data is not a healthy value).
    pub async fn instant(
        &self,
        client: &reqwest::Client,
        query: &str,
    ) -> Result<Option<f64>, PromError> {
        let d = self
            .get(client, "/api/v1/query", &[("query", query.to_string())])
            .await?;
        match d.result_type.as_str() {
            "vector" => Ok(d
                .result
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|s| num(&s["value"]))
                .fold(None, |acc: Option<f64>, v| {
                    Some(match acc {
                        Some(a) if a.is_nan() => v,
                        Some(a) if v.is_nan() => a,
                        Some(a) => a.max(v),
                        None => v,
                    })
                })),
            "scalar" => Ok(num(&d.result)),
            other => Err(PromError::Shape(format!(
                "unexpected resultType {other} for an instant query"
            ))),
        }
    }

    /// Samples over `[end - secs, end]`, worst value per timestamp.
    pub async fn range(
        &self,
        client: &reqwest::Client,
        query: &str,
        end: f64,
        secs: i64,
        step: i64,
    ) -> Result<Vec<(f64, f64)>, PromError> {
        let q = [
            ("query", query.to_string()),
            ("start", format!("{:.3}", end - secs as f64)),
            ("end", format!("{end:.3}")),
            ("step", format!("{step}s")),
        ];
        let d = self.get(client, "/api/v1/query_range", &q).await?;
        if d.result_type != "matrix" {
            return Err(PromError::Shape(format!(
                "unexpected resultType {} for a range query",
                d.result_type
            )));
        }
        let mut by_ts: std::collections::BTreeMap<i64, f64> = std::collections::BTreeMap::new();
        for s in d.result.as_array().into_iter().flatten() {
            for p in s["values"].as_array().into_iter().flatten() {
                if let (Some(t), Some(v)) = (ts(p), num(p)) {
                    let e = by_ts.entry((t * 1000.0) as i64).or_insert(v);
                    if v > *e || e.is_nan() {
                        *e = v;
                    }
                }
            }
        }
        Ok(by_ts
            .into_iter()
            .map(|(t, v)| (t as f64 / 1000.0, v))
            .collect())
    }
}
