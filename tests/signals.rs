//! Probes against a local HTTP server and Prometheus against an in-test
//! server that answers like the real API; criteria feed the verdict.
#![allow(unsafe_code)] // test set-up only (libc)
#![allow(clippy::unwrap_used)] // a failed unwrap in a test is a failed test

mod common;

use common::http::{Req, Resp, serve};
use rbtui::backend::Backend;
use rbtui::backend::clock::ManualClock;
use rbtui::backend::demo::DemoBackend;
use rbtui::backend::signals::prometheus::{Auth, Prom};
use rbtui::backend::signals::{SignalsBackend, TargetSignals, probe, read_query};
use rbtui::config::{ProbeConfig, PrometheusConfig};
use rbtui::core::signals::SignalKind;
use rbtui::core::verdict::{Severity, Thresholds, evaluate};
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use common::rt;

fn probe_cfg(url: String) -> ProbeConfig {
    ProbeConfig {
        name: None,
        url,
        expect_status: None,
        body_contains: None,
        json_pointer: None,
        json_equals: None,
        timeout_ms: 500,
        interval_secs: 1,
        headers: BTreeMap::new(),
    }
}

#[test]
fn probes_judge_status_body_json_and_time() {
    let (addr, seen) = serve(Arc::new(|r: &Req| match r.path.as_str() {
        "/ok" => Resp::json(200, json!({"status": "UP", "version": "v1"})),
        "/down" => Resp::text(503, "upstream unavailable"),
        "/degraded" => Resp::json(200, json!({"status": "DEGRADED"})),
        "/slow" => Resp {
            delay: Duration::from_millis(1500),
            ..Resp::text(200, "ok")
        },
        "/html" => Resp::text(200, "<html>maintenance</html>"),
        _ => Resp::text(404, "nope"),
    }));
    let client = reqwest::Client::new();
    let rt = rt();
    let base = format!("http://{addr}");
    let run = |c: ProbeConfig| rt.block_on(probe::run(&client, &c));

    let o = run(probe_cfg(format!("{base}/ok")));
    assert!(
        o.ok && o.display.starts_with("HTTP 200 in"),
        "{}",
        o.display
    );
    let o = run(probe_cfg(format!("{base}/down")));
    assert!(!o.ok && o.display.starts_with("HTTP 503"));
    assert!(
        o.error.is_none(),
        "a wrong status is an answer, not a transport error"
    );
    let o = run(ProbeConfig {
        json_pointer: Some("/status".into()),
        json_equals: Some("UP".into()),
        ..probe_cfg(format!("{base}/degraded"))
    });
    assert!(!o.ok);
    assert_eq!(o.display, "HTTP 200, /status = DEGRADED (want UP)");
    let o = run(ProbeConfig {
        json_pointer: Some("/status".into()),
        ..probe_cfg(format!("{base}/html"))
    });
    assert_eq!(o.display, "HTTP 200, body is not JSON");
    let o = run(ProbeConfig {
        body_contains: Some("\"UP\"".into()),
        ..probe_cfg(format!("{base}/ok"))
    });
    assert!(o.ok);
    let o = run(ProbeConfig {
        expect_status: Some(vec![503]),
        ..probe_cfg(format!("{base}/down"))
    });
    assert!(o.ok, "expected status can be configured");
    let o = run(probe_cfg(format!("{base}/slow")));
    assert!(!o.ok);
    assert_eq!(o.error.as_deref(), Some("timeout after 500 ms"));

    // Secrets come from the environment and are sent, never shown.
    unsafe { std::env::set_var("RBTUI_TEST_PROBE_KEY", "s3cr3t-key") };
    let mut h = BTreeMap::new();
    h.insert(
        "X-Api-Key".to_string(),
        "env:RBTUI_TEST_PROBE_KEY".to_string(),
    );
    let o = run(ProbeConfig {
        headers: h.clone(),
        ..probe_cfg(format!("{base}/ok"))
    });
    assert!(o.ok && !o.display.contains("s3cr3t"));
    assert!(
        seen.lock()
            .unwrap()
            .iter()
            .any(|r| r.header("x-api-key") == Some("s3cr3t-key"))
    );
    h.insert(
        "X-Other".to_string(),
        "env:RBTUI_TEST_UNSET_VAR".to_string(),
    );
    let o = run(ProbeConfig {
        headers: h,
        ..probe_cfg(format!("{base}/ok"))
    });
    assert_eq!(
        o.error.as_deref(),
        Some("header X-Other: environment variable RBTUI_TEST_UNSET_VAR is not set")
    );

    // Nothing listening: connection refused, named as such.
    let dead = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let o = run(probe_cfg(format!("http://{dead}/")));
    assert!(
        o.error
            .as_deref()
            .unwrap()
            .starts_with("connection refused"),
        "{:?}",
        o.error
    );
    let o = run(probe_cfg("http://rbtui-no-such-host.invalid/".into()));
    assert!(
        o.error.as_deref().unwrap().starts_with("DNS failure"),
        "{:?}",
        o.error
    );
}

/// A Prometheus double: `http_requests_total` error ratio at 7.2 % for the
/// last 10 minutes, p95 at 0.46 s; `error` answers for bad queries.
fn prometheus() -> (std::net::SocketAddr, Arc<std::sync::Mutex<Vec<Req>>>) {
    serve(Arc::new(|r: &Req| {
        let q = r.query.clone();
        let decoded = common::http::url_decode(&q);
        let value = if decoded.contains("code=~\"5..\"") {
            "0.072"
        } else if decoded.contains("histogram_quantile(0.95") {
            "0.46"
        } else if decoded.contains("nan_metric") {
            "NaN"
        } else if decoded.contains("inf_metric") {
            "+Inf"
        } else if decoded.contains("empty_metric") {
            return Resp::json(
                200,
                json!({"status": "success", "data": {"resultType": "vector", "result": []}}),
            );
        } else if decoded.contains("syntax error") {
            return Resp::json(
                400,
                json!({"status": "error", "errorType": "bad_data", "error": "1:8: parse error: unexpected identifier \"error\""}),
            );
        } else if decoded.contains("html_metric") {
            return Resp::text(502, "<html>Bad Gateway</html>");
        } else {
            "0"
        };
        if r.path == "/api/v1/query" {
            Resp::json(
                200,
                json!({"status": "success", "data": {"resultType": "vector", "result": [
                    {"metric": {"service": "checkout"}, "value": [1763780400.0, value]}
                ]}}),
            )
        } else if r.path == "/api/v1/query_range" {
            let end: f64 = field(&q, "end").parse().unwrap();
            let start: f64 = field(&q, "start").parse().unwrap();
            let step: f64 = field(&q, "step").trim_end_matches('s').parse().unwrap();
            let mut values = Vec::new();
            let mut t = start;
            while t <= end {
                values.push(json!([t, value]));
                t += step;
            }
            Resp::json(
                200,
                json!({"status": "success", "data": {"resultType": "matrix", "result": [{"metric": {}, "values": values}]}}),
            )
        } else {
            Resp::text(404, "404 page not found")
        }
    }))
}

fn field(q: &str, k: &str) -> String {
    q.split('&')
        .find_map(|kv| kv.strip_prefix(&format!("{k}=")))
        .map(common::http::url_decode)
        .unwrap_or_default()
}

#[test]
fn prometheus_answers_become_signals_with_criteria() {
    let (addr, seen) = prometheus();
    let prom = Prom {
        base: format!("http://{addr}"),
        auth: Auth::Bearer("prom-token".into()),
        timeout: Duration::from_secs(2),
    };
    let client = reqwest::Client::new();
    let rt = rt();
    let er = rbtui::backend::signals::default_promql("error_rate", "checkout").unwrap();
    let s = rt.block_on(read_query(
        &client,
        &prom,
        "error_rate",
        &er,
        Some("> 5% for 5m"),
    ));
    assert_eq!(
        (s.kind, s.value, s.display.as_str(), s.breached),
        (SignalKind::ErrorRate, Some(0.072), "7.2%", true)
    );
    let s2 = rt.block_on(read_query(
        &client,
        &prom,
        "error_rate",
        &er,
        Some("> 10% for 5m"),
    ));
    assert!(!s2.breached);
    let lat = rbtui::backend::signals::default_promql("latency_p95", "checkout").unwrap();
    let l = rt.block_on(read_query(
        &client,
        &prom,
        "latency_p95",
        &lat,
        Some("> 500ms for 10m"),
    ));
    assert_eq!(
        (l.value, l.display.as_str(), l.breached),
        (Some(460.0), "460 ms", false)
    );
    let reqs = seen.lock().unwrap().clone();
    assert!(
        reqs.iter()
            .all(|r| r.header("authorization") == Some("Bearer prom-token"))
    );
    let range = reqs
        .iter()
        .find(|r| r.path == "/api/v1/query_range")
        .unwrap();
    assert_eq!(field(&range.query, "step"), "30s");
    assert!(common::http::url_decode(&range.query).contains("service=\"checkout\""));

    let one = |q: &str| rt.block_on(read_query(&client, &prom, "custom", q, None));
    assert_eq!(one("nan_metric").display, "NaN (no traffic?)");
    assert_eq!(
        one("inf_metric").display,
        "+Inf (a division by zero, or beyond the largest bucket)"
    );
    let e = one("empty_metric");
    assert_eq!(
        (e.value, e.display.as_str()),
        (None, "no data (empty result)"),
        "an empty vector is not a healthy zero"
    );
    let e = one("syntax error");
    assert_eq!(
        e.error.as_deref(),
        Some("bad_data: 1:8: parse error: unexpected identifier \"error\"")
    );
    let e = one("html_metric");
    assert!(
        e.error
            .as_deref()
            .unwrap()
            .starts_with("HTTP 502, not a Prometheus answer"),
        "{:?}",
        e.error
    );
    let down = Prom {
        base: "http://127.0.0.1:9".into(),
        auth: Auth::None,
        timeout: Duration::from_secs(1),
    };
    let e = rt.block_on(read_query(&client, &down, "error_rate", &er, None));
    assert!(
        e.error
            .as_deref()
            .unwrap()
            .starts_with("connection refused"),
        "{:?}",
        e.error
    );
}

#[test]
fn probe_down_and_error_rate_over_threshold_mean_roll_back_now_with_both_reasons() {
    let (paddr, _) = serve(Arc::new(|_r: &Req| Resp::text(503, "down")));
    let (maddr, _) = prometheus();
    let (b, rt) = search_with(
        vec![probe_cfg(format!("http://{paddr}/healthz"))],
        format!("http://{maddr}"),
        "checkout",
    );
    let h = rt.block_on(b.health("search")).unwrap();
    assert_eq!(h.signals.len(), 3, "{:?}", h.signals);
    assert_eq!(
        h.error_rate,
        Some(0.072),
        "metrics override the platform's own guess"
    );
    let now = chrono::Utc::now();
    let v = evaluate(&h, &Thresholds::default(), now);
    assert_eq!(v.severity, Severity::Critical);
    assert_eq!(v.severity.advice(), "roll back now");
    assert!(
        v.reasons
            .iter()
            .any(|r| r == "health endpoint down (probe: HTTP 503 in 0 ms)"
                || r.starts_with("health endpoint down (probe: HTTP 503")),
        "{:?}",
        v.reasons
    );
    assert!(
        v.reasons
            .iter()
            .any(|r| r == "error rate > 5% for 5m (now 7.2%)"),
        "{:?}",
        v.reasons
    );
    // A stale signal is shown as stale, never as healthy.
    let later = now + chrono::Duration::seconds(600);
    let mut old = h.clone();
    old.observed_at = later;
    let v = evaluate(&old, &Thresholds::default(), later);
    assert!(
        v.reasons.iter().any(|r| r.starts_with("probe stale")),
        "{:?}",
        v.reasons
    );
}

/// The demo's "search" with these probes and a Prometheus at `url` over
/// `service`, once every signal was read (or failed) once.
fn search_with(
    probes: Vec<ProbeConfig>,
    url: String,
    service: &str,
) -> (SignalsBackend, tokio::runtime::Runtime) {
    let (b, rt, _) = search_with_clock(probes, url, service);
    (b, rt)
}

fn search_with_clock(
    probes: Vec<ProbeConfig>,
    url: String,
    service: &str,
) -> (SignalsBackend, tokio::runtime::Runtime, ManualClock) {
    let clock = ManualClock::new(common::t0());
    let demo: Arc<dyn Backend> = Arc::new(
        DemoBackend::builtin(Arc::new(clock.clone())).restricted(vec![("search".into(), None)]),
    );
    let mut specs = std::collections::HashMap::new();
    specs.insert(
        "search".to_string(),
        TargetSignals {
            probes,
            prometheus: Some(PrometheusConfig {
                url,
                bearer_token_env: None,
                basic_auth_env: None,
                service: Some(service.into()),
                interval_secs: 1,
                scrape_interval_secs: 1,
                timeout_ms: 1000,
                queries: vec![],
            }),
        },
    );
    let b = SignalsBackend::new(demo, specs);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(b.targets()).unwrap();
    let unread = rt.block_on(b.first_readings(Duration::from_secs(5)));
    assert!(unread.is_empty(), "{unread:?}");
    (b, rt, clock)
}

/// The whole path with Prometheus down: the rollback converges and the
/// replicas verify, but the note records "not proven" naming the metric
/// that could not be read, never "recovered", and the recovery tick stays
/// open.
#[test]
fn a_rollback_verified_while_prometheus_is_down_is_recorded_not_proven() {
    let (b, _rt, clock) = search_with_clock(vec![], "http://127.0.0.1:9".into(), "search");
    let runbooks = rbtui::runbook::load_all(None).unwrap();
    let state = rbtui::core::state::State::new(
        common::settings(rbtui::core::model::Mode::Demo, "n.md"),
        runbooks,
        common::t0(),
    );
    let mut s = rbtui::app::script::Script::new(state, Arc::new(b), clock, None);
    s.start();
    common::select(&mut s, "search");
    s.press("<Enter>");
    let lkg = s
        .state
        .history("search")
        .unwrap()
        .last_known_good
        .clone()
        .unwrap();
    common::plan_to(&mut s, "search", &lkg);
    s.press("<Enter>");
    s.press("<Enter>");
    assert!(s.state.in_flight(), "{:?}", s.state.flash);
    assert!(s.advance_until(120_000, |st| {
        st.runs.last().is_some_and(|r| r.outcome().is_some())
    }));
    let all = s.recorded.join("\n");
    assert!(!all.contains("**recovered**"), "{all}");
    let line = s
        .recorded
        .iter()
        .find(|l| l.contains("**not-recovered**"))
        .unwrap_or_else(|| panic!("{all}"));
    assert!(
        line.contains("recovery not proven") && line.contains("error_rate unavailable"),
        "{line}"
    );
    assert!(line.contains("connection refused"), "{line}");
}

fn search_with_prometheus(url: String) -> (SignalsBackend, tokio::runtime::Runtime) {
    search_with(vec![], url, "nosuch")
}

#[test]
fn a_prometheus_that_is_down_is_missing_data_never_ok_and_never_the_demos_numbers() {
    let (b, rt) = search_with_prometheus("http://127.0.0.1:9".into());
    let h = rt.block_on(b.health("search")).unwrap();
    assert_eq!(h.signals.len(), 2, "{:?}", h.signals);
    assert_eq!(h.error_rate, None, "not the simulation's 5xx");
    assert_eq!(h.latency_p95_ms, None, "not the simulation's p95");
    let v = evaluate(&h, &Thresholds::default(), chrono::Utc::now());
    assert_eq!(v.severity, Severity::Unknown, "{:?}", v.reasons);
    assert!(
        v.reasons
            .iter()
            .any(|r| r.starts_with("error_rate unavailable: connection refused")),
        "{:?}",
        v.reasons
    );
    // One line: kind and innermost cause, not the whole chain.
    assert!(v.reasons.iter().all(|r| r.len() < 120), "{:?}", v.reasons);
    // Recovery cannot be proven by it.
    let r = rbtui::core::verdict::recovered(&h, &Thresholds::default(), chrono::Utc::now());
    assert!(
        matches!(&r, rbtui::core::verdict::Recovery::Unproven(w) if w.contains("error_rate")),
        "{r:?}"
    );
}

#[test]
fn an_empty_vector_is_missing_data_never_ok() {
    // A Prometheus that knows no series for the service.
    let (addr, _) = serve(Arc::new(|r: &Req| {
        let t = if r.path.ends_with("query_range") {
            "matrix"
        } else {
            "vector"
        };
        Resp::json(
            200,
            json!({"status": "success", "data": {"resultType": t, "result": []}}),
        )
    }));
    let (b, rt) = search_with_prometheus(format!("http://{addr}"));
    let h = rt.block_on(b.health("search")).unwrap();
    let v = evaluate(&h, &Thresholds::default(), chrono::Utc::now());
    assert_eq!(v.severity, Severity::Unknown, "{:?}", v.reasons);
    assert!(
        v.reasons
            .iter()
            .any(|r| r == "error_rate: no data (empty result)"),
        "{:?}",
        v.reasons
    );
}

#[test]
fn a_breach_still_inside_its_duration_is_shown_as_pending() {
    use rbtui::core::signals::{Signal, holding_for, parse_criterion};
    let c = parse_criterion("> 5% for 1m").unwrap();
    let now = chrono::Utc::now();
    let at = |s: i64| now - chrono::Duration::seconds(s);
    let samples = vec![
        (at(60), 0.01),
        (at(45), 0.2),
        (at(30), 0.2),
        (at(15), 0.2),
        (at(0), 0.2),
    ];
    assert_eq!(holding_for(&c, &samples), Some(45));
    let mut h = rbtui::core::model::Health {
        target: "t".into(),
        desired: 2,
        ready: 2,
        updated: 2,
        ready_on_template: None,
        crashlooping: 0,
        new_revision_crashing: 0,
        restarts: 0,
        endpoints: None,
        error_rate: Some(0.2),
        latency_p95_ms: None,
        latency_baseline_ms: None,
        probe_ok: None,
        rollout_stuck: false,
        revision: "1".into(),
        images: vec![],
        message: None,
        observed_at: now,
        signals: vec![],
    };
    h.signals.push(Signal {
        name: "error_rate".into(),
        kind: SignalKind::ErrorRate,
        value: Some(0.2),
        ok: None,
        display: "20.0%".into(),
        criterion: Some("> 5% for 1m".into()),
        breached: false,
        observed_at: now,
        error: None,
        pending_secs: Some(45),
        clear_secs: None,
        history: vec![],
    });
    let v = evaluate(&h, &Thresholds::default(), now);
    assert_eq!(v.severity, Severity::Watch, "{:?}", v.reasons);
    assert!(
        v.reasons
            .iter()
            .any(|r| r.contains("20.0% now") && r.contains("(pending)") && r.contains("45s")),
        "{:?}",
        v.reasons
    );
}

/// `rbtui status` answers with what Prometheus says, not the simulation it
/// would have shown before the first reading.
#[test]
fn status_waits_for_the_first_reading_of_every_configured_signal() {
    let (maddr, _) = prometheus();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("rbtui.toml"),
        format!(
            "[[target]]\nname = \"search\"\nkind = \"demo\"\n[target.prometheus]\nurl = \"http://{maddr}\"\nservice = \"checkout\"\ninterval_secs = 30\n"
        ),
    )
    .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_rbtui"))
        .args(["status", "--json"])
        .current_dir(dir.path())
        .env("HOME", dir.path())
        .env("XDG_CONFIG_HOME", dir.path().join("x"))
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    assert_eq!(v[0]["health"]["error_rate"], json!(0.072), "{v:#}");
}

/// The pollers belong to the backend: once it is dropped (the session
/// ended), nothing polls the probe or Prometheus any more.
#[test]
fn dropping_the_backend_stops_its_pollers() {
    let (addr, seen) = serve(Arc::new(|r: &Req| match r.path.as_str() {
        "/health" => Resp::text(200, "ok"),
        _ => Resp::json(
            200,
            json!({"status": "success", "data": {"resultType": "vector", "result": []}}),
        ),
    }));
    let (b, rt, _clock) = search_with_clock(
        vec![probe_cfg(format!("http://{addr}/health"))],
        format!("http://{addr}"),
        "search",
    );
    let count = || seen.lock().unwrap().len();
    let sleep = |rt: &tokio::runtime::Runtime, ms| {
        rt.block_on(async { tokio::time::sleep(Duration::from_millis(ms)).await })
    };
    sleep(&rt, 2500);
    let polling = count();
    assert!(
        polling >= 3,
        "the pollers run while the backend lives: {polling}"
    );
    drop(b);
    sleep(&rt, 300);
    let after_drop = count();
    sleep(&rt, 2500);
    assert_eq!(count(), after_drop, "a poller outlived its backend");
}
