//! A project brought up by the Compose CLI itself (`docker-compose up -d`,
//! Debian's), with what real compose files carry: a network alias the
//! neighbour resolves, a service-defined health check, command, hostname and
//! stop grace period. rbtui's rollback must keep all of them.

mod common;

use common::docker::{engine, unique};
use rbtui::backend::Backend;
use rbtui::backend::docker::compose::{ComposeBackend, ComposeTarget};
use rbtui::core::model::{Mode, ProgressPhase};
use rbtui::core::plan::{self, PlanInputs, PlanStep};
use std::process::Command;
use std::time::{Duration, Instant};

const COMPOSE_FILE: &str = r#"version: "3.8"
services:
  web:
    image: rbtui-test/web:v3
    hostname: web-host
    command: ["/bin/busybox", "httpd", "-f", "-p", "8080", "-h", "/www"]
    stop_grace_period: 7s
    environment:
      APP_MODE: shop
    healthcheck:
      test: ["CMD", "/bin/busybox", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8080/version"]
      interval: 1s
      retries: 3
    networks:
      back:
        aliases: [shopweb]
  neighbour:
    image: rbtui-test/web:v1
    networks: [back]
networks:
  back: {}
"#;

fn compose(dir: &std::path::Path, project: &str, args: &[&str]) -> std::process::Output {
    Command::new("docker-compose")
        .args(["-p", project])
        .args(args)
        .current_dir(dir)
        .output()
        .expect("docker-compose (apt-get install docker-compose)")
}

fn docker(args: &[&str]) -> String {
    let o = Command::new("docker").args(args).output().unwrap();
    String::from_utf8_lossy(&o.stdout).trim().to_string()
}

struct Down(std::path::PathBuf, String);
impl Drop for Down {
    fn drop(&mut self) {
        let _ = compose(&self.0, &self.1, &["down", "-t", "0", "--remove-orphans"]);
    }
}

#[test]
#[cfg_attr(
    not(docker_engine),
    ignore = "needs a Docker engine: eval \"$(tests/docker/setup.sh)\" sets DOCKER_HOST"
)]
fn a_rollback_keeps_what_the_compose_file_set() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let Some(eng) = engine(&rt) else { return };
    let project = unique("rbtuicli").replace('-', "");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("docker-compose.yml"), COMPOSE_FILE).unwrap();
    let up = compose(dir.path(), &project, &["up", "-d"]);
    assert!(
        up.status.success(),
        "{}",
        String::from_utf8_lossy(&up.stderr)
    );
    let _down = Down(dir.path().to_path_buf(), project.clone());
    let web = format!("{project}_web_1");
    let neighbour = format!("{project}_neighbour_1");

    let b = ComposeBackend::new(
        eng,
        vec![ComposeTarget {
            name: "web".into(),
            project: project.clone(),
            service: "web".into(),
            environment: "staging".into(),
            manifest: None,
        }],
    );
    let t = rt.block_on(b.targets()).unwrap();
    let h = rt.block_on(b.history("web")).unwrap();
    let p = plan::build(PlanInputs {
        id: 1,
        target: &t[0],
        mode: Mode::Live,
        history: &h,
        to: "v1",
        now: chrono::Utc::now(),
        before: None,
        mutable_tags: &["latest".into()],
        rollout_timeout_secs: 120,
    })
    .unwrap();
    // The plan says the compose file will undo the rollback.
    let drift = p
        .checks
        .iter()
        .find(|c| c.id == "inputs")
        .expect("inputs check");
    assert!(
        drift.detail.contains("docker-compose.yml") && drift.detail.contains("rbtui-test/web:v3"),
        "{}",
        drift.detail
    );
    rt.block_on(b.execute(&p, &PlanStep::Rollback { to: "v1".into() }))
        .unwrap();
    let t0 = Instant::now();
    let pr = loop {
        let pr = rt.block_on(b.progress(&p)).unwrap();
        if pr.phase.is_terminal() || t0.elapsed() > Duration::from_secs(60) {
            break pr;
        }
        std::thread::sleep(Duration::from_millis(500));
    };
    assert_eq!(pr.phase, ProgressPhase::Converged, "{}", pr.message);

    let f = |fmt: &str| docker(&["inspect", &web, "--format", fmt]);
    assert_eq!(f("{{.Config.Image}}"), "rbtui-test/web:v1");
    assert_eq!(f("{{.Config.Hostname}}"), "web-host");
    assert_eq!(f("{{.Config.StopTimeout}}"), "7");
    assert!(
        f("{{json .Config.Healthcheck.Test}}").contains("8080/version"),
        "the service's health check: {}",
        f("{{json .Config.Healthcheck}}")
    );
    assert!(f("{{json .Config.Env}}").contains("APP_MODE=shop"));
    assert_eq!(
        f("{{index .Config.Labels \"org.opencontainers.image.version\"}}"),
        "v1",
        "the new image's own labels, not the old one's"
    );
    let aliases = f(&format!(
        "{{{{json (index .NetworkSettings.Networks \"{project}_back\").Aliases}}}}"
    ));
    assert!(
        aliases.contains("\"shopweb\"") && aliases.contains("\"web\""),
        "{aliases}"
    );
    // The neighbour reaches it by the service's alias, as before.
    let got = docker(&[
        "exec",
        &neighbour,
        "/bin/busybox",
        "wget",
        "-q",
        "-O",
        "-",
        "http://shopweb:8080/version",
    ]);
    assert_eq!(got, "v1");
    // Its own health check (the service's), not "no health check": healthy.
    let t0 = Instant::now();
    while f("{{.State.Health.Status}}") != "healthy" {
        assert!(
            t0.elapsed() < Duration::from_secs(30),
            "{}",
            f("{{json .State.Health}}")
        );
        std::thread::sleep(Duration::from_millis(300));
    }
}
