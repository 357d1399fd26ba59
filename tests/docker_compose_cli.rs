//! A project brought up by the Compose CLI itself (`docker-compose up -d`,
//! Debian's), with what real compose files carry: a network alias the
//! neighbour resolves, a service-defined health check, command, hostname and
//! stop grace period. rbtui's rollback must keep all of them.
#![allow(clippy::unwrap_used)] // a failed unwrap in a test is a failed test

mod common;

use common::docker::{runtime_and_engine, unique};
use rbtui::backend::Backend;
use rbtui::backend::docker::compose::{ComposeBackend, ComposeTarget};
use rbtui::core::model::ProgressPhase;
use rbtui::core::model::TargetInfo;
use rbtui::core::plan::{self, PlanInputs, PlanStep, RollbackPlan};
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

/// A project brought up by `docker-compose up -d` from `compose_file` in a
/// fresh directory (`prepare` adds its other files), taken down on drop.
struct Project {
    // Dropped first: `down` needs the directory.
    _down: Down,
    dir: tempfile::TempDir,
    name: String,
}

impl Project {
    fn up(prefix: &str, compose_file: &str, prepare: impl FnOnce(&std::path::Path)) -> Project {
        let name = unique(prefix).replace('-', "");
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("docker-compose.yml"), compose_file).unwrap();
        prepare(dir.path());
        let up = compose(dir.path(), &name, &["up", "-d"]);
        assert!(
            up.status.success(),
            "{}",
            String::from_utf8_lossy(&up.stderr)
        );
        Project {
            _down: Down(dir.path().to_path_buf(), name.clone()),
            dir,
            name,
        }
    }
    fn container(&self, service: &str) -> String {
        format!("{}_{service}_1", self.name)
    }
    fn target(
        &self,
        manifest: Option<(std::path::PathBuf, String)>,
        var: Option<&str>,
    ) -> ComposeTarget {
        ComposeTarget {
            name: "web".into(),
            project: self.name.clone(),
            service: "web".into(),
            environment: "staging".into(),
            manifest,
            compose_files: vec![],
            version_var: var.map(str::to_string),
            env_file: None,
        }
    }
}

fn plan_to_v1(b: &ComposeBackend, rt: &tokio::runtime::Runtime) -> (TargetInfo, RollbackPlan) {
    let t = rt.block_on(b.targets()).unwrap().remove(0);
    let h = rt.block_on(b.history("web")).unwrap();
    let p = plan::build(PlanInputs {
        mutable_tags: &["latest".into()],
        rollout_timeout_secs: 120,
        ..PlanInputs::new(&t, &h, "v1", chrono::Utc::now())
    })
    .unwrap();
    (t, p)
}

fn converge(b: &ComposeBackend, rt: &tokio::runtime::Runtime, p: &RollbackPlan) {
    let t0 = Instant::now();
    let pr = loop {
        let pr = rt.block_on(b.progress(p)).unwrap();
        if pr.phase.is_terminal() || t0.elapsed() > Duration::from_secs(60) {
            break pr;
        }
        std::thread::sleep(Duration::from_millis(500));
    };
    assert_eq!(pr.phase, ProgressPhase::Converged, "{}", pr.message);
}

/// What the neighbour gets asking the service by its alias.
fn via_alias(neighbour: &str) -> String {
    docker(&[
        "exec",
        neighbour,
        "/bin/busybox",
        "wget",
        "-q",
        "-O",
        "-",
        "http://shopweb:8080/version",
    ])
}

#[test]
#[cfg_attr(
    not(docker_engine),
    ignore = "needs a Docker engine: eval \"$(tests/docker/setup.sh)\" sets DOCKER_HOST"
)]
fn a_rollback_keeps_what_the_compose_file_set() {
    let Some((rt, eng)) = runtime_and_engine() else {
        return;
    };
    let pr = Project::up("rbtuicli", COMPOSE_FILE, |_| {});
    let project = pr.name.clone();
    let (web, neighbour) = (pr.container("web"), pr.container("neighbour"));
    let b = ComposeBackend::new(eng, vec![pr.target(None, None)]);
    let (_, p) = plan_to_v1(&b, &rt);
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
    let before = inspect(&web);
    rt.block_on(b.execute(
        &p,
        &PlanStep::Rollback {
            to: "v1".into(),
            via: None,
            pin: vec![],
        },
    ))
    .unwrap();
    converge(&b, &rt, &p);

    // Field by field, the image aside: everything Compose set is kept.
    let after = inspect(&web);
    let diff = differences(&before, &after);
    assert!(
        diff.is_empty(),
        "settings lost or changed:\n{}",
        diff.join("\n")
    );
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
    assert_eq!(via_alias(&neighbour), "v1");
    // Compose still owns it: `ps` lists it, an `up -d` with the inputs as
    // they are leaves it (v1 hashes the image id in: its hash is the
    // service's), and `down` removes it (at the end of the test).
    let id = f("{{.Id}}");
    let ps = compose(pr.dir.path(), &project, &["ps", "-q", "web"]);
    assert_eq!(
        String::from_utf8_lossy(&ps.stdout).trim(),
        id,
        "ps lists it"
    );
    let up = compose(pr.dir.path(), &project, &["up", "-d"]);
    assert!(
        up.status.success(),
        "{}",
        String::from_utf8_lossy(&up.stderr)
    );
    assert_eq!(f("{{.Id}}"), id, "up -d is a no-op");
    assert_eq!(f("{{.Config.Image}}"), "rbtui-test/web:v1");
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

/// The runbook's own way, when the project's files are reachable: the
/// version is pinned where Compose reads it (`WEB_VERSION` in `.env`), the
/// manifest pair swapped, each as its own step with a backup, and Compose
/// recreates the service. A later `docker-compose up -d` keeps the good
/// version, because the inputs now say it.
#[test]
#[cfg_attr(
    not(docker_engine),
    ignore = "needs a Docker engine: eval \"$(tests/docker/setup.sh)\" sets DOCKER_HOST"
)]
fn a_rollback_through_compose_pins_the_version_and_stays_rolled_back() {
    let Some((rt, eng)) = runtime_and_engine() else {
        return;
    };
    let pr = Project::up(
        "rbtuipin",
        &COMPOSE_FILE.replace("rbtui-test/web:v3", "rbtui-test/web:${WEB_VERSION}"),
        |d| {
            std::fs::write(d.join(".env"), "# shop\nWEB_VERSION=v3\nOTHER=kept\n").unwrap();
            let m = d.join("manifests");
            std::fs::create_dir(&m).unwrap();
            for v in ["v1", "v3"] {
                std::fs::write(
                    m.join(format!("shop.{v}.json")),
                    format!("{{\"for\":\"{v}\"}}"),
                )
                .unwrap();
            }
            std::fs::write(m.join("shop.json"), "{\"for\":\"v3\"}").unwrap();
        },
    );
    let (dir, project) = (&pr.dir, pr.name.clone());
    let (web, neighbour) = (pr.container("web"), pr.container("neighbour"));
    let m = dir.path().join("manifests");
    let manifest = (
        m.join("shop.json"),
        m.join("shop.{tag}.json").display().to_string(),
    );
    let b = ComposeBackend::new(eng, vec![pr.target(Some(manifest), Some("WEB_VERSION"))]);
    let h = rt.block_on(b.history("web")).unwrap();
    let ci = h
        .facts
        .compose_inputs
        .clone()
        .unwrap_or_else(|| panic!("inputs reachable: {:?}", h.facts.inputs_drift));
    assert_eq!(ci.current.as_deref(), Some("v3"));
    let (t, p) = plan_to_v1(&b, &rt);
    assert!(
        p.checks.iter().all(|c| c.id != "inputs"),
        "no drift to warn about: {:?}",
        p.checks
    );
    let steps: Vec<String> = p.steps.iter().map(|s| s.words(&t, &p.from)).collect();
    assert!(
        steps[0].starts_with("Pin WEB_VERSION=v1 in ") && steps[0].contains("was v3"),
        "{steps:?}"
    );
    assert!(
        steps[1].starts_with("Copy manifest ") && steps[1].contains("shop.v1.json"),
        "{steps:?}"
    );
    assert!(steps[2].contains("up -d --no-build web"), "{steps:?}");
    // Before the confirm: the image, the pinned variable and the manifest
    // pair, as they are now and as the plan leaves them.
    let diff = rt.block_on(b.changes(&p)).unwrap().unwrap();
    let line = |sign: char, text: &str| {
        diff.lines()
            .any(|l| l.starts_with(sign) && l.contains(text))
    };
    assert!(line('-', "image: rbtui-test/web:v3"), "{diff}");
    assert!(line('+', "image: rbtui-test/web:v1"), "{diff}");
    assert!(
        line('-', "WEB_VERSION=v3") && line('+', "WEB_VERSION=v1"),
        "{diff}"
    );
    assert!(line('+', "shop.v1.json"), "{diff}");
    let mut p = p;
    for s in p.steps.clone().iter().filter(|s| s.mutates()) {
        let done = rt
            .block_on(b.execute(&p, s))
            .unwrap_or_else(|e| panic!("{s:?}: {}", e));
        p.built_from = done.version;
    }
    converge(&b, &rt, &p);
    let env = std::fs::read_to_string(dir.path().join(".env")).unwrap();
    assert_eq!(env, "# shop\nWEB_VERSION=v1\nOTHER=kept\n");
    assert!(
        std::fs::read_to_string(dir.path().join(".env.rbtui-bak"))
            .unwrap()
            .contains("WEB_VERSION=v3")
    );
    assert_eq!(
        std::fs::read_to_string(m.join("shop.json")).unwrap(),
        "{\"for\":\"v1\"}"
    );

    let f = |fmt: &str| docker(&["inspect", &web, "--format", fmt]);
    assert_eq!(f("{{.Config.Image}}"), "rbtui-test/web:v1");
    assert!(
        !f("{{index .Config.Labels \"com.docker.compose.config-hash\"}}").is_empty(),
        "Compose owns the container"
    );
    assert_eq!(via_alias(&neighbour), "v1");
    // Someone runs Compose again, as they will: it stays on v1.
    let id = f("{{.Id}}");
    let again = compose(dir.path(), &project, &["up", "-d"]);
    assert!(
        again.status.success(),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    assert_eq!(f("{{.Config.Image}}"), "rbtui-test/web:v1");
    assert_eq!(f("{{.Id}}"), id, "up-to-date: Compose's inputs say v1");
}

fn inspect(name: &str) -> serde_json::Value {
    let v: serde_json::Value = serde_json::from_str(&docker(&["inspect", name])).unwrap();
    v[0].clone()
}

/// The settings of a container a rollback must keep, compared one by one.
/// What legitimately changes is left out: the image and what it supplies
/// (its labels), Compose's config hash (dropped on purpose: the container
/// no longer matches the file), and what the engine assigns per container
/// (ids, addresses, the alias that is the container's short id).
fn differences(a: &serde_json::Value, b: &serde_json::Value) -> Vec<String> {
    let mut out = Vec::new();
    let mut cmp = |path: &str, x: &serde_json::Value, y: &serde_json::Value| {
        if x != y {
            out.push(format!("{path}: {x} → {y}"));
        }
    };
    for k in [
        "Hostname",
        "Domainname",
        "User",
        "Env",
        "Cmd",
        "Entrypoint",
        "WorkingDir",
        "Healthcheck",
        "StopSignal",
        "StopTimeout",
        "ExposedPorts",
        "Volumes",
        "Tty",
        "OpenStdin",
    ] {
        cmp(&format!("Config.{k}"), &a["Config"][k], &b["Config"][k]);
    }
    let labels = |v: &serde_json::Value| -> serde_json::Value {
        v["Config"]["Labels"]
            .as_object()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .filter(|(k, _)| {
                !k.starts_with("org.opencontainers.") && k != "com.docker.compose.config-hash"
            })
            .collect::<serde_json::Map<_, _>>()
            .into()
    };
    cmp("Config.Labels", &labels(a), &labels(b));
    for (k, v) in a["HostConfig"].as_object().cloned().unwrap_or_default() {
        cmp(&format!("HostConfig.{k}"), &v, &b["HostConfig"][&k]);
    }
    cmp("Mounts", &a["Mounts"], &b["Mounts"]);
    let short = |v: &serde_json::Value| v["Id"].as_str().unwrap_or("")[..12].to_string();
    let aliases = |e: &serde_json::Value, id: &str| -> Vec<String> {
        let mut v: Vec<String> = e["Aliases"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|x| x.as_str().map(String::from))
            .filter(|x| x != id)
            .collect();
        v.sort();
        v
    };
    let nets = |v: &serde_json::Value| {
        v["NetworkSettings"]["Networks"]
            .as_object()
            .cloned()
            .unwrap_or_default()
    };
    let (na, nb) = (nets(a), nets(b));
    if na.keys().collect::<Vec<_>>() != nb.keys().collect::<Vec<_>>() {
        out.push(format!(
            "networks: {:?} → {:?}",
            na.keys().collect::<Vec<_>>(),
            nb.keys().collect::<Vec<_>>()
        ));
    }
    for (n, ea) in &na {
        let eb = &nb.get(n).cloned().unwrap_or_default();
        let (x, y) = (aliases(ea, &short(a)), aliases(eb, &short(b)));
        if x != y {
            out.push(format!("network {n} aliases: {x:?} → {y:?}"));
        }
        for k in ["IPAMConfig", "Links", "DriverOpts"] {
            if ea[k] != eb[k] {
                out.push(format!("network {n} {k}: {} → {}", ea[k], eb[k]));
            }
        }
    }
    out
}

/// A Compose service that keeps crashing (`restart: always`, as many
/// projects set it): the evidence holds each container's state, exit code
/// and restarts, and its log (stdout and stderr), from the engine.
#[test]
#[cfg_attr(
    not(docker_engine),
    ignore = "needs a Docker engine: eval \"$(tests/docker/setup.sh)\" sets DOCKER_HOST"
)]
fn a_crashing_compose_services_state_and_log_are_saved_as_evidence() {
    let Some((rt, eng)) = runtime_and_engine() else {
        return;
    };
    let file = r#"version: "3.8"
services:
  web:
    image: rbtui-test/web:v3
    restart: always
    command: ["/bin/busybox", "sh", "-c", "echo starting v3; echo FATAL cache warmup failed >&2; exit 4"]
"#;
    let p = Project::up("rbtui-ev", file, |_| {});
    let b = ComposeBackend::new(eng, vec![p.target(None, None)]);
    let t0 = Instant::now();
    let files = loop {
        let f = rt.block_on(b.evidence("web")).unwrap().unwrap();
        if f[0].text.contains("restarts 1") || f[0].text.contains("restarts 2") {
            break f;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(60),
            "no restart seen: {}",
            f[0].text
        );
        std::thread::sleep(Duration::from_millis(300));
    };
    assert_eq!(files[0].name, "containers.txt");
    assert!(
        files[0]
            .text
            .contains(&format!("container {}", p.container("web"))),
        "{}",
        files[0].text
    );
    assert!(
        files[0].text.contains("image rbtui-test/web:v3"),
        "{}",
        files[0].text
    );
    assert_eq!(files[1].name, format!("logs-{}.log", p.container("web")));
    let log = &files[1].text;
    assert!(
        log.contains("starting v3") && log.contains("FATAL cache warmup failed"),
        "{log}"
    );
    assert!(
        log.lines().next().unwrap().starts_with("20"),
        "timestamped: {log}"
    );
}

/// After rbtui recreated the service itself, `down` removes it like any
/// container Compose made: nothing of the project is left running.
#[test]
#[cfg_attr(
    not(docker_engine),
    ignore = "needs a Docker engine: eval \"$(tests/docker/setup.sh)\" sets DOCKER_HOST"
)]
fn compose_down_removes_what_rbtui_recreated() {
    let Some((rt, eng)) = runtime_and_engine() else {
        return;
    };
    let pr = Project::up("rbtuidown", COMPOSE_FILE, |_| {});
    let b = ComposeBackend::new(eng, vec![pr.target(None, None)]);
    let (_, p) = plan_to_v1(&b, &rt);
    let step = PlanStep::Rollback {
        to: "v1".into(),
        via: None,
        pin: vec![],
    };
    rt.block_on(b.execute(&p, &step)).unwrap();
    converge(&b, &rt, &p);
    let down = compose(pr.dir.path(), &pr.name, &["down", "-t", "0"]);
    assert!(
        down.status.success(),
        "{}",
        String::from_utf8_lossy(&down.stderr)
    );
    let left = docker(&[
        "ps",
        "-a",
        "-q",
        "--filter",
        &format!("label=com.docker.compose.project={}", pr.name),
    ]);
    assert!(left.is_empty(), "left behind: {left}");
}

/// A project another major version of Compose brought up (here: v2's
/// labels, and only v1 installed): rbtui never runs the other version's
/// `up`, which would recreate the containers under other names. It says so
/// with the command to run, and a rollback keeps the project's own labels
/// and name.
#[test]
#[cfg_attr(
    not(docker_engine),
    ignore = "needs a Docker engine: eval \"$(tests/docker/setup.sh)\" sets DOCKER_HOST"
)]
fn a_project_made_by_another_compose_major_is_never_taken_over() {
    let Some((rt, eng)) = runtime_and_engine() else {
        return;
    };
    let only_v1 = Command::new("docker").args(["compose", "version"]).output();
    if only_v1.is_ok_and(|o| o.status.success()) {
        eprintln!("SKIPPED: the v2 plugin is installed here; this case needs v1 only");
        return;
    }
    let project = unique("rbtuiv2").replace('-', "");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("docker-compose.yml"),
        "services:\n  web:\n    image: rbtui-test/web:${TAG}\n",
    )
    .unwrap();
    std::fs::write(dir.path().join(".env"), "TAG=v3\n").unwrap();
    // What Compose v2 puts on a container it creates (`p-web-1`).
    let name = format!("{project}-web-1");
    let l = |k: &str, v: &str| format!("--label=com.docker.compose.{k}={v}");
    let wd = dir.path().display().to_string();
    let files = format!("{wd}/docker-compose.yml");
    docker(&[
        "run",
        "-d",
        "--name",
        &name,
        &l("project", &project),
        &l("service", "web"),
        &l("oneoff", "False"),
        &l("container-number", "1"),
        &l("version", "2.26.1"),
        &l("config-hash", "8b1f0c"),
        &l("project.working_dir", &wd),
        &l("project.config_files", &files),
        "rbtui-test/web:v3",
    ]);
    struct Rm(String);
    impl Drop for Rm {
        fn drop(&mut self) {
            let _ = Command::new("docker").args(["rm", "-f", &self.0]).output();
        }
    }
    let _rm = Rm(name.clone());
    let b = ComposeBackend::new(
        eng,
        vec![ComposeTarget {
            name: "web".into(),
            project: project.clone(),
            service: "web".into(),
            environment: "staging".into(),
            manifest: None,
            compose_files: vec![],
            version_var: Some("TAG".into()),
            env_file: None,
        }],
    );
    let (_, p) = plan_to_v1(&b, &rt);
    assert!(
        !p.steps
            .iter()
            .any(|s| matches!(s, PlanStep::Rollback { via: Some(_), .. })),
        "never through the other version's CLI: {:?}",
        p.steps
    );
    let drift = p
        .checks
        .iter()
        .find(|c| c.id == "inputs")
        .expect("inputs check");
    assert!(
        drift.detail.contains("brought up with Compose 2.26.1")
            && drift.detail.contains("`docker compose -p "),
        "{}",
        drift.detail
    );
    let step = p
        .steps
        .iter()
        .find(|s| matches!(s, PlanStep::Rollback { .. }))
        .unwrap();
    rt.block_on(b.execute(&p, step)).unwrap();
    let f = |fmt: &str| docker(&["inspect", &name, "--format", fmt]);
    assert_eq!(
        f("{{.Config.Image}}"),
        "rbtui-test/web:v1",
        "same name, rolled back"
    );
    assert_eq!(
        f("{{index .Config.Labels \"com.docker.compose.version\"}}"),
        "2.26.1"
    );
    assert_eq!(
        f("{{index .Config.Labels \"com.docker.compose.config-hash\"}}"),
        "8b1f0c"
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join(".env")).unwrap(),
        "TAG=v3\n"
    );
}
