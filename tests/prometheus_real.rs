//! Signals against a real Prometheus (Debian's `prometheus` package, which
//! `.ci/run` installs), started the way its users run it, scraping a small
//! app every second whose 5xx rate the test sets. Missing data must never
//! read as healthy: an empty vector, a bad query and a stopped Prometheus
//! each show as such.
#![allow(clippy::unwrap_used)] // a failed unwrap in a test is a failed test

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

/// A real Prometheus scraping the app every second, and the app's error
/// rate knob.
struct World {
    app: Arc<Mutex<App>>,
    running: Option<Running>,
    prom: Prom,
    rt: tokio::runtime::Runtime,
    client: reqwest::Client,
    _dir: tempfile::TempDir,
}

fn start(bin: &str, rate: f64) -> World {
    let app = Arc::new(Mutex::new(App {
        rate,
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
    let child = std::process::Command::new(bin)
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
    World {
        app,
        running: Some(Running(child)),
        prom: Prom {
            base: format!("http://127.0.0.1:{port}"),
            auth: Auth::None,
            timeout: Duration::from_secs(2),
        },
        rt: tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap(),
        client: reqwest::Client::new(),
        _dir: dir,
    }
}

impl World {
    fn read(&self, promql: &str) -> rbtui::core::signals::Signal {
        self.rt.block_on(read_query(
            &self.client,
            &self.prom,
            "error_rate",
            promql,
            None,
        ))
    }

    /// Reads until Prometheus has computed a rate.
    fn first_rate(&self, promql: &str) -> rbtui::core::signals::Signal {
        let t0 = Instant::now();
        loop {
            let s = self.read(promql);
            if s.value.is_some_and(|v| v.is_finite()) {
                return s;
            }
            assert!(
                t0.elapsed() < Duration::from_secs(60),
                "no rate after 60 s: {s:?}"
            );
            std::thread::sleep(Duration::from_millis(500));
        }
    }
}

#[test]
#[cfg_attr(
    not(prometheus_bin),
    ignore = "needs Prometheus: apt-get install prometheus (or set PROMETHEUS_BIN)"
)]
fn a_real_prometheus_answers_and_missing_data_is_never_ok() {
    let Some(bin) = prometheus_bin() else { return };
    let mut w = start(&bin, 0.2);
    let er = default_promql_over("error_rate", "shop", "1m").unwrap();
    // Scrapes accumulate: the 5xx rate appears as Prometheus computes it.
    let s = w.first_rate(&er);
    let v = s.value.unwrap();
    assert!(
        (0.15..0.25).contains(&v),
        "Prometheus says {v}, the app serves 20%"
    );
    assert_eq!(s.display, "20.0%");

    // A service with no series: missing, never a healthy zero.
    let none = default_promql_over("error_rate", "nosuch", "1m").unwrap();
    let s = w.read(&none);
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
    let s = w.read("sum(rate(x[1m]");
    let e = s.error.clone().expect("an error answer");
    assert!(e.starts_with("bad_data"), "{e}");

    // Prometheus stops: unreachable, and the verdict says so.
    w.running.take();
    // The first try may meet a pooled connection the server closed; a new
    // connection is then refused.
    let mut s = w.read(&er);
    for _ in 0..3 {
        if s.error
            .as_deref()
            .is_some_and(|e| e.starts_with("connection refused"))
        {
            break;
        }
        s = w.read(&er);
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

/// The case: a 5m rate window made a real recovery from 20% take
/// ~237 s, past a fixed 120 s verify window, so it was recorded "not
/// recovered". Now the window follows the criterion and the verify window
/// follows the window: the recovery shows inside it, by Prometheus's own
/// numbers. (A `for 1m` criterion keeps this test near two minutes; the
/// defaults scale the same way: `for 5m` → [2m] and 7 min.)
#[test]
#[cfg_attr(
    not(prometheus_bin),
    ignore = "needs Prometheus: apt-get install prometheus (or set PROMETHEUS_BIN)"
)]
fn a_recovery_from_twenty_percent_shows_within_the_verify_window() {
    use rbtui::backend::signals::{TargetSignals, query_specs, verify_need};
    use rbtui::core::verdict::{Recovery, recovered};
    let Some(bin) = prometheus_bin() else { return };
    let pc: rbtui::config::PrometheusConfig = toml::from_str(
        "url = \"http://unused\"\nservice = \"shop\"\nscrape_interval_secs = 1\n[[query]]\nname = \"error_rate\"\ncriterion = \"> 5% for 1m\"\n",
    )
    .unwrap();
    let spec = query_specs(&pc, "shop").remove(0);
    assert_eq!(spec.window_secs, Some(60), "{spec:?}");
    let mut settings =
        rbtui::core::state::Settings::new(rbtui::core::model::Mode::Live, "INC", "n.md");
    let ts = TargetSignals {
        probes: vec![],
        prometheus: Some(pc),
    };
    settings
        .verify_needs
        .insert("shop".into(), verify_need(&ts, "shop").unwrap());
    let window = rbtui::core::verify::window(&settings, "shop");
    assert_eq!(window.secs, 120, "for 1m over a 1m window: {window:?}");

    let w = start(&bin, 0.2);
    w.first_rate(&spec.promql);
    // The bad build serves for a whole rate window, as in an incident.
    std::thread::sleep(Duration::from_secs(62));
    let bad = w.read(&spec.promql);
    assert!(bad.value.is_some_and(|v| v > 0.15), "{bad:?}");
    assert!(matches!(
        recovered(&reading(bad), &Thresholds::default(), chrono::Utc::now()),
        Recovery::NotYet(_)
    ));
    // The rollback converges: the app serves no errors from here.
    w.app.lock().unwrap().rate = 0.0;
    let fixed = Instant::now();
    let took = loop {
        let s = w.read(&spec.promql);
        let r = recovered(
            &reading(s.clone()),
            &Thresholds::default(),
            chrono::Utc::now(),
        );
        if let Recovery::Recovered(m) = r {
            break (fixed.elapsed(), m);
        }
        assert!(
            fixed.elapsed().as_secs() as i64 <= window.secs,
            "not recovered within the {} s verify window: {s:?}",
            window.secs
        );
        std::thread::sleep(Duration::from_secs(1));
    };
    eprintln!("recovered after {:?}: {}", took.0, took.1);
    assert!(
        took.0.as_secs() >= 30,
        "a 1m window cannot clear 20% in {:?}",
        took.0
    );
}

/// The health pane's reading with the metric as its 5xx rate.
fn reading(s: rbtui::core::signals::Signal) -> rbtui::core::model::Health {
    let mut h = health_with(s.clone());
    h.error_rate = s.value;
    h
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
        new_revision_crashing: 0,
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
