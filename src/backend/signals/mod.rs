//! Probes and metric queries per target, polled on their own jittered
//! intervals and laid over the platform's health: a decorator around any
//! backend, so every kind (and the verdict) gets the same signals.

pub mod probe;
pub mod prometheus;

use super::{Backend, BoxFut};
use crate::config::{ProbeConfig, PrometheusConfig};
use crate::core::model::Health;
use crate::core::signals::{
    Signal, SignalKind, breached, clear_for, criterion_value, holding_for, parse_criterion,
};
use chrono::Utc;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What to watch for one target.
#[derive(Debug, Clone, Default)]
pub struct TargetSignals {
    pub probes: Vec<ProbeConfig>,
    pub prometheus: Option<PrometheusConfig>,
}

const HISTORY: usize = 30;

pub use crate::core::signals::is_builtin_query;

/// The rate window for a criterion: no longer than its duration (a 30 s
/// spike must not breach "for 1m" for five minutes) and at most 2 min, so a
/// recovery from 20% errors shows within minutes (with a 5m window it took
/// ~237 s); never under four scrape intervals (fewer samples, noisy rate).
pub fn rate_window_secs(criterion: Option<&str>, scrape_interval_secs: u64) -> i64 {
    let floor = (4 * scrape_interval_secs.max(1)) as i64;
    criterion
        .and_then(|c| parse_criterion(c).ok())
        .map(|c| c.for_secs)
        .filter(|s| *s > 0)
        .unwrap_or(120)
        .min(120)
        .max(floor)
}

/// [`rate_window_secs`] at the default 15 s scrape interval, as PromQL.
pub fn rate_window(criterion: Option<&str>) -> String {
    promql_duration(rate_window_secs(criterion, 15))
}

pub fn promql_duration(secs: i64) -> String {
    if secs % 60 == 0 {
        format!("{}m", secs / 60)
    } else {
        format!("{secs}s")
    }
}

/// The longest range selector (`[5m]`) in a PromQL text: the window a
/// custom query judges over, so verification can wait for it.
pub fn promql_window_secs(promql: &str) -> Option<i64> {
    promql
        .split('[')
        .skip(1)
        .filter_map(|rest| {
            let inner = rest.split(']').next()?;
            // `[5m:30s]` subqueries: the range is before the colon.
            let range = inner.split(':').next()?.trim();
            crate::core::signals::parse_duration(range).ok()
        })
        .max()
}

/// One metric as rbtui will ask for it.
#[derive(Debug, Clone, PartialEq)]
pub struct QuerySpec {
    pub name: String,
    pub promql: String,
    pub criterion: Option<String>,
    /// The rate window the query judges over, when known.
    pub window_secs: Option<i64>,
}

/// The queries for a target's Prometheus: the configured ones, or the
/// built-in error rate and p95, each with the window it uses.
pub fn query_specs(pc: &PrometheusConfig, target: &str) -> Vec<QuerySpec> {
    let service = pc.service.clone().unwrap_or_else(|| target.to_string());
    type Row<'a> = (&'a str, Option<&'a str>, Option<&'a str>, Option<&'a str>);
    let configured: Vec<Row> = if pc.queries.is_empty() {
        vec![
            ("error_rate", None, None, None),
            ("latency_p95", None, None, None),
        ]
    } else {
        pc.queries
            .iter()
            .map(|q| {
                (
                    q.name.as_str(),
                    q.promql.as_deref(),
                    q.criterion.as_deref(),
                    q.window.as_deref(),
                )
            })
            .collect()
    };
    configured
        .into_iter()
        .map(|(name, promql, crit, window)| {
            let crit = crit.or_else(|| default_criterion(name));
            let window = window.and_then(|w| crate::core::signals::parse_duration(w).ok());
            match promql {
                Some(q) => QuerySpec {
                    name: name.into(),
                    promql: q.into(),
                    criterion: crit.map(str::to_string),
                    window_secs: window.or_else(|| promql_window_secs(q)),
                },
                None => {
                    let w =
                        window.unwrap_or_else(|| rate_window_secs(crit, pc.scrape_interval_secs));
                    QuerySpec {
                        name: name.into(),
                        promql: default_promql_over(name, &service, &promql_duration(w))
                            .unwrap_or_default(),
                        criterion: crit.map(str::to_string),
                        window_secs: Some(w),
                    }
                }
            }
        })
        .collect()
}

/// How long a target's verification must be able to wait: its slowest
/// criterion's duration plus its rate window (`core::verify`).
pub fn verify_need(ts: &TargetSignals, target: &str) -> Option<crate::core::verify::VerifyNeed> {
    let pc = ts.prometheus.as_ref()?;
    let metrics: Vec<(String, i64, i64)> = query_specs(pc, target)
        .into_iter()
        .map(|q| {
            let for_secs = q
                .criterion
                .as_deref()
                .and_then(|c| parse_criterion(c).ok())
                .map(|c| c.for_secs)
                .unwrap_or(0);
            (q.name, for_secs, q.window_secs.unwrap_or(0))
        })
        .collect();
    crate::core::verify::need(&metrics)
}

/// The default PromQL for the built-in names, over `{service="…"}`, with
/// the rate window its criterion implies ([`rate_window`]).
pub fn default_promql(name: &str, service: &str) -> Option<String> {
    default_promql_over(name, service, &rate_window(default_criterion(name)))
}

pub fn default_promql_over(name: &str, service: &str, w: &str) -> Option<String> {
    let s = service.replace('"', "\\\"");
    match name {
        "error_rate" => Some(format!(
            "sum(rate(http_requests_total{{service=\"{s}\",code=~\"5..\"}}[{w}])) / sum(rate(http_requests_total{{service=\"{s}\"}}[{w}]))"
        )),
        "latency_p95" => Some(format!(
            "histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket{{service=\"{s}\"}}[{w}])))"
        )),
        "latency_p99" => Some(format!(
            "histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket{{service=\"{s}\"}}[{w}])))"
        )),
        _ => None,
    }
}

/// The runbook criteria for the built-in queries.
pub fn default_criterion(name: &str) -> Option<&'static str> {
    match name {
        "error_rate" => Some("> 5% for 5m"),
        "latency_p95" => Some("> 500ms for 10m"),
        _ => None,
    }
}

/// The error text of a failed call, naming the cause (DNS, refused, TLS, timeout).
pub fn describe_transport(e: &reqwest::Error, timeout_ms: u64) -> String {
    if e.is_timeout() {
        return format!("timeout after {timeout_ms} ms");
    }
    let mut msg = String::new();
    let mut src: Option<&dyn std::error::Error> = Some(e);
    while let Some(s) = src {
        if !msg.is_empty() {
            msg.push_str(": ");
        }
        msg.push_str(&s.to_string());
        src = s.source();
    }
    let lower = msg.to_lowercase();
    let kind = if lower.contains("dns") || lower.contains("lookup") {
        "DNS failure"
    } else if lower.contains("refused") {
        "connection refused"
    } else if lower.contains("certificate") || lower.contains("tls") || lower.contains("handshake")
    {
        "TLS error"
    } else {
        "cannot connect"
    };
    format!("{kind}: {}", crate::backend::cause::cause(e))
}

fn jittered(base: Duration) -> Duration {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let f = 0.9 + 0.2 * (nanos as f64 / 1e9);
    base.mul_f64(f)
}

type Cache = Arc<Mutex<HashMap<String, Vec<Signal>>>>;

fn store(cache: &Cache, target: &str, mut s: Signal) {
    let mut c = cache
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let list = c.entry(target.to_string()).or_default();
    match list.iter_mut().find(|x| x.name == s.name) {
        // A failed metric read is no reading: the last good value keeps
        // its own time (and so goes STALE), the error says why nothing
        // newer came. A probe that cannot connect is itself the finding.
        Some(old) if s.error.is_some() && s.kind != SignalKind::Probe => {
            old.error = s.error;
            old.pending_secs = None;
        }
        Some(old) => {
            let mut h = std::mem::take(&mut old.history);
            if let Some(v) = s.value {
                h.push(v);
            } else if s.kind == SignalKind::Probe {
                h.push(if s.ok == Some(true) { 1.0 } else { 0.0 });
            }
            if h.len() > HISTORY {
                h.drain(..h.len() - HISTORY);
            }
            s.history = h;
            *old = s;
        }
        None => {
            s.history = s.value.into_iter().collect();
            list.push(s);
            list.sort_by(|a, b| a.name.cmp(&b.name));
        }
    }
}

pub struct SignalsBackend {
    inner: Arc<dyn Backend>,
    specs: HashMap<String, TargetSignals>,
    cache: Cache,
    started: AtomicBool,
    client: reqwest::Client,
    /// The pollers, stopped with the backend.
    pollers: super::tasks::Owned,
}

impl SignalsBackend {
    pub fn new(inner: Arc<dyn Backend>, specs: HashMap<String, TargetSignals>) -> SignalsBackend {
        let client = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(3))
            .build()
            .unwrap_or_default();
        SignalsBackend {
            inner,
            specs,
            cache: Arc::default(),
            started: AtomicBool::new(false),
            client,
            pollers: Default::default(),
        }
    }

    /// The latest signals of a target (tests and the CLI read them).
    pub fn signals(&self, target: &str) -> Vec<Signal> {
        self.cache
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(target)
            .cloned()
            .unwrap_or_default()
    }

    fn start(&self) {
        if self.started.swap(true, Ordering::SeqCst) {
            return;
        }
        for (target, spec) in &self.specs {
            for (i, p) in spec.probes.iter().enumerate() {
                let (cache, client, p, target) = (
                    self.cache.clone(),
                    self.client.clone(),
                    p.clone(),
                    target.clone(),
                );
                let name = p.name.clone().unwrap_or_else(|| {
                    if i == 0 {
                        "probe".into()
                    } else {
                        format!("probe{}", i + 1)
                    }
                });
                self.pollers.spawn(async move {
                    let mut backoff = Duration::from_secs(1);
                    loop {
                        let o = probe::run(&client, &p).await;
                        let failed = o.error.is_some();
                        store(
                            &cache,
                            &target,
                            Signal {
                                name: name.clone(),
                                kind: SignalKind::Probe,
                                value: None,
                                ok: Some(o.ok),
                                display: o.display,
                                criterion: None,
                                breached: false,
                                observed_at: Utc::now(),
                                error: o.error,
                                pending_secs: None,
                                clear_secs: None,
                                history: vec![],
                            },
                        );
                        let every = Duration::from_secs(p.interval_secs.max(1));
                        let wait = if failed { backoff.min(every) } else { every };
                        backoff = if failed {
                            (backoff * 2).min(every)
                        } else {
                            Duration::from_secs(1)
                        };
                        tokio::time::sleep(jittered(wait)).await;
                    }
                });
            }
            if let Some(pc) = &spec.prometheus {
                let auth = match (&pc.bearer_token_env, &pc.basic_auth_env) {
                    (Some(v), _) => std::env::var(v)
                        .map(prometheus::Auth::Bearer)
                        .unwrap_or(prometheus::Auth::None),
                    (None, Some([u, p])) => match (std::env::var(u), std::env::var(p)) {
                        (Ok(u), Ok(p)) => prometheus::Auth::Basic(u, p),
                        _ => prometheus::Auth::None,
                    },
                    _ => prometheus::Auth::None,
                };
                let queries = query_specs(pc, target);
                for QuerySpec {
                    name,
                    promql,
                    criterion: crit,
                    ..
                } in queries
                {
                    let prom = prometheus::Prom {
                        base: pc.url.clone(),
                        auth: auth.clone(),
                        timeout: Duration::from_millis(pc.timeout_ms),
                    };
                    let (cache, client, target) =
                        (self.cache.clone(), self.client.clone(), target.clone());
                    let every = Duration::from_secs(pc.interval_secs.max(1));
                    self.pollers.spawn(async move {
                        let mut backoff = Duration::from_secs(1);
                        loop {
                            let s =
                                read_query(&client, &prom, &name, &promql, crit.as_deref()).await;
                            let failed = s.error.is_some();
                            store(&cache, &target, s);
                            let wait = if failed { backoff.min(every) } else { every };
                            backoff = if failed {
                                (backoff * 2).min(every)
                            } else {
                                Duration::from_secs(1)
                            };
                            tokio::time::sleep(jittered(wait)).await;
                        }
                    });
                }
            }
        }
    }

    /// Lays the signals over the platform's health. A configured metric
    /// is the only source of its number: without a good answer the row
    /// shows none, never the platform's (or the demo's simulated) value.
    fn overlay(&self, mut h: Health) -> Health {
        let sigs = self.signals(&h.target);
        let configured = |k: SignalKind, name: Option<&str>| {
            self.specs.get(&h.target).is_some_and(|sp| {
                sp.prometheus.as_ref().is_some_and(|p| {
                    p.queries.is_empty()
                        || p.queries.iter().any(|q| {
                            let qk = if q.name == "error_rate" {
                                SignalKind::ErrorRate
                            } else if q.name.starts_with("latency") {
                                SignalKind::Latency
                            } else {
                                SignalKind::Custom
                            };
                            qk == k && name.is_none_or(|n| n == q.name)
                        })
                })
            })
        };
        if configured(SignalKind::ErrorRate, None) {
            h.error_rate = None;
        }
        if configured(SignalKind::Latency, Some("latency_p95")) {
            h.latency_p95_ms = None;
            h.latency_baseline_ms = None;
        }
        for s in &sigs {
            match (s.kind, s.name.as_str(), s.value) {
                (SignalKind::ErrorRate, _, Some(v)) if s.error.is_none() && v.is_finite() => {
                    h.error_rate = Some(v)
                }
                (SignalKind::Latency, "latency_p95", Some(v))
                    if s.error.is_none() && v.is_finite() =>
                {
                    h.latency_p95_ms = Some(v)
                }
                _ => {}
            }
        }
        h.signals = sigs;
        h
    }
}

/// Reads one query: its current value and, with a criterion, whether the
/// criterion held for its whole window (a range query over that window).
pub async fn read_query(
    client: &reqwest::Client,
    prom: &prometheus::Prom,
    name: &str,
    promql: &str,
    crit: Option<&str>,
) -> Signal {
    let kind = match name {
        "error_rate" => SignalKind::ErrorRate,
        n if n.starts_with("latency") => SignalKind::Latency,
        _ => SignalKind::Custom,
    };
    let now = Utc::now();
    let mut s = Signal {
        name: name.into(),
        kind,
        value: None,
        ok: None,
        display: String::new(),
        criterion: crit.map(str::to_string),
        breached: false,
        observed_at: now,
        error: None,
        pending_secs: None,
        clear_secs: None,
        history: vec![],
    };
    match prom.instant(client, promql).await {
        Err(e) => {
            s.display = "unavailable".into();
            s.error = Some(e.to_string());
            return s;
        }
        Ok(None) => s.display = "no data (empty result)".into(),
        Ok(Some(v)) => {
            let shown = if kind == SignalKind::Latency {
                v * 1000.0
            } else {
                v
            };
            s.value = Some(shown);
            s.display = match (kind, v) {
                (_, v) if v.is_nan() => "NaN (no traffic?)".into(),
                (SignalKind::Latency, v) if v.is_infinite() => {
                    "+Inf (beyond the largest bucket)".into()
                }
                (_, v) if v.is_infinite() => format!(
                    "{}Inf (a division by zero, or beyond the largest bucket)",
                    if v > 0.0 { "+" } else { "-" }
                ),
                (SignalKind::ErrorRate, v) => format!("{:.1}%", v * 100.0),
                (SignalKind::Latency, v) => format!("{:.0} ms", v * 1000.0),
                (_, v) => format!("{v:.3}"),
            };
        }
    }
    if let Some(c) = crit.and_then(|c| parse_criterion(c).ok()) {
        if c.for_secs == 0 {
            let raw = s.value.map(|v| criterion_value(kind, v));
            s.breached = raw.is_some_and(|v| v.is_finite() && c.op.holds(v, c.threshold));
            s.clear_secs = raw
                .filter(|v| v.is_finite() && !c.op.holds(*v, c.threshold))
                .map(|_| 0);
        } else {
            let step = (c.for_secs / 10).max(15);
            match prom
                .range(client, promql, now.timestamp() as f64, c.for_secs, step)
                .await
            {
                Ok(points) => {
                    let samples: Vec<(chrono::DateTime<Utc>, f64)> = points
                        .into_iter()
                        .filter_map(|(t, v)| {
                            chrono::DateTime::from_timestamp_millis((t * 1000.0) as i64)
                                .map(|t| (t, v))
                        })
                        .collect();
                    s.breached = breached(&c, &samples, now, step);
                    if !s.breached {
                        s.pending_secs = holding_for(&c, &samples);
                    }
                    s.clear_secs = clear_for(&c, &samples, now, step);
                }
                Err(e) => s.error = Some(format!("range query: {e}")),
            }
        }
    }
    s
}

impl super::layer::Layer for SignalsBackend {
    fn inner(&self) -> &Arc<dyn Backend> {
        &self.inner
    }
    fn polling(&self) {
        self.start();
    }
    fn health(&self, h: Health) -> Health {
        self.overlay(h)
    }
    fn first_readings(&self, within: Duration) -> BoxFut<'_, Vec<String>> {
        Box::pin(async move {
            self.start();
            let expected: Vec<(String, usize)> = self
                .specs
                .iter()
                .map(|(t, sp)| {
                    let metrics = sp
                        .prometheus
                        .as_ref()
                        .map(|p| {
                            if p.queries.is_empty() {
                                2
                            } else {
                                p.queries.len()
                            }
                        })
                        .unwrap_or(0);
                    (t.clone(), sp.probes.len() + metrics)
                })
                .collect();
            let missing = || -> Vec<String> {
                expected
                    .iter()
                    .filter_map(|(t, n)| {
                        let have = self.signals(t).len();
                        (have < *n)
                            .then(|| format!("{t}: {} of {n} signal(s) not read yet", n - have))
                    })
                    .collect()
            };
            let deadline = tokio::time::Instant::now() + within;
            loop {
                let m = missing();
                if m.is_empty() || tokio::time::Instant::now() >= deadline {
                    return m;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reading(value: Option<f64>, error: Option<&str>, at: chrono::DateTime<Utc>) -> Signal {
        Signal {
            name: "error_rate".into(),
            kind: SignalKind::ErrorRate,
            value,
            ok: None,
            display: "x".into(),
            criterion: None,
            breached: false,
            observed_at: at,
            error: error.map(str::to_string),
            pending_secs: None,
            clear_secs: None,
            history: vec![],
        }
    }

    #[test]
    fn a_failed_read_keeps_the_last_value_with_its_own_time() {
        let cache: Cache = Arc::default();
        let t0 = Utc::now();
        store(&cache, "a", reading(Some(0.2), None, t0));
        let later = t0 + chrono::Duration::seconds(90);
        store(
            &cache,
            "a",
            reading(None, Some("connection refused"), later),
        );
        let s = cache.lock().unwrap()["a"][0].clone();
        assert_eq!(s.observed_at, t0, "a failure is no fresh answer");
        assert_eq!(s.value, Some(0.2));
        assert_eq!(s.error.as_deref(), Some("connection refused"));
        store(&cache, "a", reading(Some(0.01), None, later));
        let s = cache.lock().unwrap()["a"][0].clone();
        assert_eq!((s.observed_at, s.error), (later, None));
    }

    #[test]
    fn the_rate_window_follows_the_criterion() {
        assert_eq!(rate_window(Some("> 5% for 1m")), "1m");
        assert_eq!(
            rate_window(Some("> 5% for 30s")),
            "1m",
            "never under four scrapes"
        );
        assert_eq!(rate_window(Some("> 5% for 10m")), "2m");
        assert!(default_promql("error_rate", "x").unwrap().contains("[2m]"));
        assert_eq!(
            rate_window_secs(Some("> 5% for 30s"), 5),
            30,
            "four 5 s scrapes fit"
        );
        assert_eq!(
            rate_window_secs(Some("> 5% for 1m"), 30),
            120,
            "four 30 s scrapes"
        );
    }

    #[test]
    fn a_query_window_sets_the_promql_and_the_verify_need() {
        let pc: PrometheusConfig = toml::from_str(
            r#"url = "http://p"
            [[query]]
            name = "error_rate"
            criterion = "> 5% for 1m"
            window = "90s"
            [[query]]
            name = "queue"
            promql = "max_over_time(queue_depth[10m])"
            criterion = "> 100"
            "#,
        )
        .unwrap();
        let q = query_specs(&pc, "shop");
        assert!(q[0].promql.contains("[90s]"), "{}", q[0].promql);
        assert_eq!(q[1].window_secs, Some(600), "read from the custom PromQL");
        let ts = TargetSignals {
            probes: vec![],
            prometheus: Some(pc),
        };
        let n = verify_need(&ts, "shop").unwrap();
        assert_eq!(n.secs, 600);
        assert!(n.why.starts_with("queue:"), "{}", n.why);
        let defaults: PrometheusConfig = toml::from_str("url = \"http://p\"").unwrap();
        let ts = TargetSignals {
            probes: vec![],
            prometheus: Some(defaults),
        };
        let n = verify_need(&ts, "shop").unwrap();
        assert_eq!(n.secs, 600 + 120, "p95 for 10m over 2m");
    }
}
