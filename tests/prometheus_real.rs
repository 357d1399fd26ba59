//! Signals against a real Prometheus (Debian's `prometheus` package, which
//! `.ci/run` installs), started the way its users run it, scraping a small
//! app every second whose 5xx rate the test sets. Missing data must never
//! read as healthy: an empty vector, a bad query and a stopped Prometheus
//! each show as such.

mod common;

use common::http::{Req, Resp, serve};
use rbtui::backend::signals::prometheus::{Auth, Prom};
use rbtui::backend::signals::{default_promql_over, read_query};
use rbtui::core::verdict::{Severity, Thresholds, evaluate};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Counters the app exposes; every scrape serves 100 more requests at the
/// current error rate.
#[derive(Default)]
struct App {
    ok: u64,
    err: u64,
    rate: f64,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Running(std::process::Child);
impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn prometheus_bin() -> Option<String> {
    let bin = std::env::var("PROMETHEUS_BIN").unwrap_or_else(|_| "/usr/bin/prometheus".into());
    if std::path::Path::new(&bin).exists() {
        return Some(bin);
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{bin} is missing: .ci/run installs Debian's prometheus");
    }
    None
}

#[test]
#[cfg_attr(
    not(prometheus_bin),
    ignore = "needs Prometheus: apt-get install prometheus (or set PROMETHEUS_BIN)"
)]
fn a_real_prometheus_answers_and_missing_data_is_never_ok() {
    let Some(bin) = prometheus_bin() else { return };
    let app = Arc::new(Mutex::new(App {
        rate: 0.2,
        ..Default::default()
    }));
    let a = app.clone();
    let (addr, _) = serve(Arc::new(move |_r: &Req| {
        let mut s = a.lock().unwrap();
        let err = (100.0 * s.rate).round() as u64;
        s.err += err;
        s.ok += 100 - err;
        Resp::text(
            200,
            &format!(
                "# TYPE http_requests_total counter\nhttp_requests_total{{service=\"shop\",code=\"200\"}} {}\nhttp_requests_total{{service=\"shop\",code=\"500\"}} {}\n",
                s.ok, s.err
            ),
        )
    }));
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("prometheus.yml");
    std::fs::write(
        &cfg,
        format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n  - job_name: shop\n    static_configs:\n      - targets: ['{addr}']\n"
        ),
    )
    .unwrap();
    let port = free_port();
    let child = std::process::Command::new(&bin)
        .arg(format!("--config.file={}", cfg.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.path().join("data").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("prometheus starts");
    let mut running = Some(Running(child));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let client = reqwest::Client::new();
    let prom = Prom {
        base: format!("http://127.0.0.1:{port}"),
        auth: Auth::None,
        timeout: Duration::from_secs(2),
    };
    let er = default_promql_over("error_rate", "shop", "1m").unwrap();
    // Scrapes accumulate: the 5xx rate appears as Prometheus computes it.
    let t0 = Instant::now();
    let s = loop {
        let s = rt.block_on(read_query(&client, &prom, "error_rate", &er, None));
        if s.value.is_some_and(|v| v.is_finite()) {
            break s;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(60),
            "no rate after 60 s: {s:?}"
        );
        std::thread::sleep(Duration::from_millis(500));
    };
    let v = s.value.unwrap();
    assert!(
        (0.15..0.25).contains(&v),
        "Prometheus says {v}, the app serves 20%"
    );
    assert_eq!(s.display, "20.0%");

    // A service with no series: missing, never a healthy zero.
    let none = default_promql_over("error_rate", "nosuch", "1m").unwrap();
    let s = rt.block_on(read_query(&client, &prom, "error_rate", &none, None));
    assert_eq!(
        (s.value, s.display.as_str()),
        (None, "no data (empty result)")
    );
    let mut h = health_with(s);
    assert_eq!(
        evaluate(&h, &Thresholds::default(), chrono::Utc::now()).severity,
        Severity::Unknown
    );

    // A query Prometheus rejects: its own words, and missing.
    let s = rt.block_on(read_query(
        &client,
        &prom,
        "error_rate",
        "sum(rate(x[1m]",
        None,
    ));
    let e = s.error.clone().expect("an error answer");
    assert!(e.starts_with("bad_data"), "{e}");

    // Prometheus stops: unreachable, and the verdict says so.
    running.take();
    // The first try may meet a pooled connection the server closed; a new
    // connection is then refused.
    let mut s = rt.block_on(read_query(&client, &prom, "error_rate", &er, None));
    for _ in 0..3 {
        if s.error
            .as_deref()
            .is_some_and(|e| e.starts_with("connection refused"))
        {
            break;
        }
        s = rt.block_on(read_query(&client, &prom, "error_rate", &er, None));
    }
    let e = s.error.clone().expect("stopped");
    assert!(e.starts_with("connection refused"), "{e}");
    h = health_with(s);
    let v = evaluate(&h, &Thresholds::default(), chrono::Utc::now());
    assert_eq!(v.severity, Severity::Unknown, "{:?}", v.reasons);
    assert!(
        v.reasons
            .iter()
            .any(|r| r.starts_with("error_rate unavailable: connection refused")),
        "{:?}",
        v.reasons
    );
}

/// A healthy platform reading with one metric signal laid over it.
fn health_with(s: rbtui::core::signals::Signal) -> rbtui::core::model::Health {
    rbtui::core::model::Health {
        target: "shop".into(),
        desired: 2,
        ready: 2,
        ready_on_template: None,
        updated: 2,
        crashlooping: 0,
        restarts: 0,
        endpoints: None,
        error_rate: None,
        latency_p95_ms: None,
        latency_baseline_ms: None,
        probe_ok: None,
        rollout_stuck: false,
        revision: "1".into(),
        images: vec![],
        message: None,
        observed_at: chrono::Utc::now(),
        signals: vec![s],
    }
}
