//! Registry tags as History for Compose, against the real thing: Debian's
//! `docker-registry`, a real engine and a project brought up by the Compose
//! CLI. The releases are pushed with `docker push`, as a CI does; the
//! engine lacks the older ones. A rollback to one pulls it first and
//! checks it is the build the plan showed; a tag that moved after the
//! plan recreates nothing.
#![allow(clippy::unwrap_used)] // a failed unwrap in a test is a failed test

mod common;

use common::docker::{runtime_and_engine, unique};
use rbtui::backend::Backend;
use rbtui::backend::docker::compose::{ComposeBackend, ComposeTarget};
use rbtui::backend::registry::RegistryFacts;
use rbtui::core::action::BackendError;
use rbtui::core::model::ProgressPhase;
use rbtui::core::plan::{self, CheckStatus, PlanInputs, PlanStep};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn docker(args: &[&str]) -> String {
    let o = Command::new("docker").args(args).output().unwrap();
    assert!(
        o.status.success(),
        "docker {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).trim().to_string()
}

/// Tags a local test image as a release and pushes it.
fn release(repo: &str, local: &str, tag: &str) {
    docker(&["tag", local, &format!("{repo}:{tag}")]);
    docker(&["push", "-q", &format!("{repo}:{tag}")]);
}

fn rollback_step(p: &plan::RollbackPlan) -> &PlanStep {
    p.steps
        .iter()
        .find(|s| matches!(s, PlanStep::Rollback { .. }))
        .unwrap()
}

/// A project brought up by `docker-compose up -d` from `compose` (and
/// `env`, its `.env`, where given) in a fresh directory; down on drop.
struct Up {
    _down: Down,
    dir: tempfile::TempDir,
    name: String,
}

fn compose_up(prefix: &str, compose: &str, env: Option<&str>) -> Up {
    let name = unique(prefix).replace('-', "");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("docker-compose.yml"), compose).unwrap();
    if let Some(e) = env {
        std::fs::write(dir.path().join(".env"), e).unwrap();
    }
    let up = Command::new("docker-compose")
        .args(["-p", &name, "up", "-d"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(
        up.status.success(),
        "{}",
        String::from_utf8_lossy(&up.stderr)
    );
    Up {
        _down: Down(dir.path().to_path_buf(), name.clone()),
        dir,
        name,
    }
}

/// The Compose target `web` of a project.
fn web(project: &str, version_var: Option<&str>) -> ComposeTarget {
    ComposeTarget {
        name: "web".into(),
        project: project.into(),
        service: "web".into(),
        environment: "staging".into(),
        manifest: None,
        compose_files: vec![],
        version_var: version_var.map(str::to_string),
        env_file: None,
    }
}

struct Down(std::path::PathBuf, String);
impl Drop for Down {
    fn drop(&mut self) {
        let _ = Command::new("docker-compose")
            .args(["-p", &self.1, "down", "-t", "0"])
            .current_dir(&self.0)
            .output();
    }
}

#[test]
#[cfg_attr(
    not(all(docker_engine, registry_bin)),
    ignore = "needs a Docker engine (tests/docker/setup.sh) and Debian's docker-registry"
)]
fn a_compose_service_rolls_back_to_a_registry_tag_it_never_ran() {
    let Some((rt, eng)) = runtime_and_engine() else {
        return;
    };
    let reg = common::registry::start();
    let repo = format!("{}/shop/web", reg.host);
    release(&repo, "rbtui-test/web:v1", "v1.0.0");
    release(&repo, "rbtui-test/web:v2", "v1.1.0");
    release(&repo, "rbtui-test/web:v3", "v1.2.0");
    release(&repo, "rbtui-test/web:v3", "latest");
    // The engine keeps only what runs: the older releases are the registry's.
    for t in ["v1.0.0", "v1.1.0", "latest"] {
        docker(&["rmi", &format!("{repo}:{t}")]);
    }
    let pr = compose_up(
        "rbtuireg",
        &format!("version: \"3.8\"\nservices:\n  web:\n    image: {repo}:v1.2.0\n"),
        None,
    );
    let target = web(&pr.name, None);
    let inner: Arc<dyn Backend> = Arc::new(ComposeBackend::new(eng, vec![target]));
    let b = RegistryFacts::new(inner, ["web".to_string()].into_iter().collect());
    let targets = rt.block_on(b.targets()).unwrap();

    // History: the running release, then the registry's newer-first
    // release tags it never ran, pinned; `latest` is never offered.
    let h = rt.block_on(b.history("web")).unwrap();
    let offered: Vec<(String, String)> = h
        .revisions
        .iter()
        .filter(|r| r.id.as_str().starts_with("reg-"))
        .map(|r| (r.id.to_string(), r.images[0].tag.clone().unwrap()))
        .collect();
    assert_eq!(
        offered,
        [
            ("reg-1".to_string(), "v1.1.0".to_string()),
            ("reg-2".into(), "v1.0.0".into())
        ],
        "{:?}",
        h.revisions
    );
    assert!(
        h.facts
            .history_note
            .as_deref()
            .unwrap()
            .contains("from the registry")
    );

    let plan_to = |to: &str, h: &rbtui::core::model::History| {
        plan::build(PlanInputs {
            mutable_tags: &["latest".into()],
            rollout_timeout_secs: 120,
            ..PlanInputs::new(&targets[0], h, to, chrono::Utc::now())
        })
        .unwrap()
    };
    let p = plan_to("reg-2", &h);
    let c = p.checks.iter().find(|c| c.id == "registry").unwrap();
    assert_eq!(c.status, CheckStatus::Warn, "{}", c.detail);
    assert!(c.detail.contains("never ran here"), "{}", c.detail);
    let done = rt.block_on(b.execute(&p, rollback_step(&p))).unwrap();
    assert!(
        done.summary.starts_with(&format!("pulled {repo}:v1.0.0 (")),
        "{}",
        done.summary
    );
    let t0 = Instant::now();
    loop {
        let pr = rt.block_on(b.progress(&p)).unwrap();
        if pr.phase == ProgressPhase::Converged {
            break;
        }
        assert!(t0.elapsed() < Duration::from_secs(90), "{pr:?}");
        std::thread::sleep(Duration::from_millis(500));
    }
    let health = rt.block_on(b.health("web")).unwrap();
    assert_eq!(health.images[0].tag.as_deref(), Some("v1.0.0"));

    // v1.1.0 is planned, then re-pushed as another build before the step:
    // pulled, found moved, nothing recreated.
    let h = rt.block_on(b.history("web")).unwrap();
    let v110 = h
        .revisions
        .iter()
        .find(|r| r.images[0].tag.as_deref() == Some("v1.1.0"))
        .unwrap()
        .id
        .to_string();
    let p = plan_to(&v110, &h);
    release(&repo, "rbtui-test/web:v3", "v1.1.0");
    docker(&["rmi", &format!("{repo}:v1.1.0")]);
    let e = rt.block_on(b.execute(&p, rollback_step(&p))).unwrap_err();
    assert!(matches!(e, BackendError::Refused(_)), "{e:?}");
    assert!(e.to_string().contains("moved since the plan"), "{e}");
    let health = rt.block_on(b.health("web")).unwrap();
    assert_eq!(
        health.images[0].tag.as_deref(),
        Some("v1.0.0"),
        "nothing recreated"
    );
    // The build pulled only to be refused is gone again: it never ran
    // here and is never offered as if it had.
    assert!(
        e.to_string().contains("it was pulled and removed again"),
        "{e}"
    );
    let left = Command::new("docker")
        .args(["image", "inspect", &format!("{repo}:v1.1.0")])
        .output()
        .unwrap();
    assert!(
        !left.status.success(),
        "the refused pull is still on the engine"
    );
}

/// Swarm keeps one previous spec: an older release tag from the registry
/// is offered too, and the update deploys exactly the digest the plan
/// showed (the engine pulls it by digest).
#[test]
#[cfg_attr(
    not(all(docker_engine, registry_bin)),
    ignore = "needs a Docker engine (tests/docker/setup.sh) and Debian's docker-registry"
)]
fn a_swarm_service_rolls_back_to_a_registry_tag_pinned_by_digest() {
    use bollard::models::*;
    use rbtui::backend::docker::swarm::{SwarmBackend, SwarmTarget};
    let Some((rt, eng)) = runtime_and_engine() else {
        return;
    };
    let reg = common::registry::start();
    let repo = format!("{}/shop/api", reg.host);
    release(&repo, "rbtui-test/web:v1", "v2.0.0");
    release(&repo, "rbtui-test/web:v2", "v2.1.0");
    docker(&["rmi", &format!("{repo}:v2.0.0")]);
    let name = unique("rbtui-regswarm");
    let spec = ServiceSpec {
        name: Some(name.clone()),
        mode: Some(ServiceSpecMode {
            replicated: Some(ServiceSpecModeReplicated { replicas: Some(1) }),
            ..Default::default()
        }),
        task_template: Some(TaskSpec {
            container_spec: Some(TaskSpecContainerSpec {
                image: Some(format!("{repo}:v2.1.0")),
                stop_grace_period: Some(1_000_000_000),
                ..Default::default()
            }),
            ..Default::default()
        }),
        ..Default::default()
    };
    let docker_api = eng.docker.clone();
    rt.block_on(docker_api.create_service(spec, None)).unwrap();
    struct Gone(bollard::Docker, String);
    impl Drop for Gone {
        fn drop(&mut self) {
            let (d, n) = (self.0.clone(), self.1.clone());
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                let _ = rt.block_on(d.delete_service(&n));
            })
            .join();
        }
    }
    let _gone = Gone(docker_api, name.clone());
    let inner: Arc<dyn Backend> = Arc::new(SwarmBackend::new(
        eng,
        vec![SwarmTarget {
            name: "api".into(),
            service: name.clone(),
            environment: "staging".into(),
        }],
    ));
    let b = RegistryFacts::new(inner, ["api".to_string()].into_iter().collect());
    let targets = rt.block_on(b.targets()).unwrap();
    let t0 = Instant::now();
    while rt.block_on(b.health("api")).map(|h| h.ready).unwrap_or(0) < 1 {
        assert!(t0.elapsed() < Duration::from_secs(90), "v2.1.0 never ran");
        std::thread::sleep(Duration::from_millis(500));
    }
    let h = rt.block_on(b.history("api")).unwrap();
    let cand = h
        .revisions
        .iter()
        .find(|r| r.id.as_str().starts_with("reg-"))
        .unwrap_or_else(|| panic!("{:?}", h.revisions));
    assert_eq!(cand.images[0].tag.as_deref(), Some("v2.0.0"));
    let digest = cand.images[0].digest.clone().unwrap();
    let p = plan::build(PlanInputs {
        mutable_tags: &["latest".into()],
        rollout_timeout_secs: 120,
        ..PlanInputs::new(&targets[0], &h, &cand.id, chrono::Utc::now())
    })
    .unwrap();
    rt.block_on(b.execute(&p, rollback_step(&p))).unwrap();
    let t0 = Instant::now();
    loop {
        let pr = rt.block_on(b.progress(&p)).unwrap();
        if pr.phase == ProgressPhase::Converged {
            break;
        }
        assert!(pr.phase != ProgressPhase::Failed, "{pr:?}");
        assert!(t0.elapsed() < Duration::from_secs(120), "{pr:?}");
        std::thread::sleep(Duration::from_millis(500));
    }
    let image = docker(&[
        "service",
        "inspect",
        "--format",
        "{{.Spec.TaskTemplate.ContainerSpec.Image}}",
        &name,
    ]);
    assert_eq!(
        image,
        format!("{repo}:v2.0.0@{digest}"),
        "exactly the digest the plan showed"
    );
}

/// The Compose project reads its version from `.env` (`TAG`); the plan
/// pins `TAG=v1.1.0`, showing the registry's digest of the good build.
/// Then the tag is moved in the registry to another build and pulled onto
/// the engine (someone ran `docker compose pull`). The rollback step must
/// deploy nothing, put `.env` back, and later History must not say the
/// moved build ran.
#[test]
#[cfg_attr(
    not(all(docker_engine, registry_bin)),
    ignore = "needs a Docker engine (tests/docker/setup.sh) and Debian's docker-registry"
)]
fn a_tag_moved_and_pulled_onto_the_engine_deploys_nothing_and_puts_the_inputs_back() {
    let Some((rt, eng)) = runtime_and_engine() else {
        return;
    };
    let reg = common::registry::start();
    let repo = format!("{}/shop/web", reg.host);
    release(&repo, "rbtui-test/web:v1", "v1.0.0");
    release(&repo, "rbtui-test/web:v2", "v1.1.0");
    release(&repo, "rbtui-test/web:v3", "v1.2.0");
    for t in ["v1.0.0", "v1.1.0"] {
        docker(&["rmi", &format!("{repo}:{t}")]);
    }
    let pr = compose_up(
        "rbtuimoved",
        &format!("version: \"3.8\"\nservices:\n  web:\n    image: {repo}:${{TAG}}\n"),
        Some("TAG=v1.2.0\n"),
    );
    let (dir, name) = (&pr.dir, pr.name.clone());
    let target = web(&name, Some("TAG"));
    let inner: Arc<dyn Backend> = Arc::new(ComposeBackend::new(eng, vec![target]));
    let b = RegistryFacts::new(inner, ["web".to_string()].into_iter().collect());
    let targets = rt.block_on(b.targets()).unwrap();
    let h = rt.block_on(b.history("web")).unwrap();
    // The release tag by its name, as well as by its reg-N id.
    let to = h.resolve("v1.1.0").expect("v1.1.0 by name").clone();
    assert!(to.id.as_str().starts_with("reg-"), "{to:?}");
    let planned = to.images[0].digest.clone().unwrap();
    let p = plan::build(PlanInputs {
        mutable_tags: &["latest".into()],
        rollout_timeout_secs: 120,
        ..PlanInputs::new(&targets[0], &h, "v1.1.0", chrono::Utc::now())
    })
    .unwrap();
    assert_eq!(p.to.id, to.id);

    // Moved in the registry (to a build nobody planned) and pulled here
    // before the step.
    release(&repo, "rbtui-test/web:v1", "v1.1.0");
    let moved = docker(&[
        "image",
        "inspect",
        "--format",
        "{{.Id}}",
        &format!("{repo}:v1.1.0"),
    ]);
    let mut refused = None;
    for step in &p.steps {
        if !matches!(step, PlanStep::EditInput(_) | PlanStep::Rollback { .. }) {
            continue;
        }
        match rt.block_on(b.execute(&p, step)) {
            Ok(_) => {}
            Err(e) => {
                refused = Some(e);
                break;
            }
        }
    }
    let e = refused.expect("the step must refuse the moved build");
    assert!(matches!(e, BackendError::Refused(_)), "{e:?}");
    assert!(
        e.to_string().contains("not the build the plan showed"),
        "{e}"
    );
    assert!(e.to_string().contains("inputs put back"), "{e}");
    assert_eq!(
        std::fs::read_to_string(dir.path().join(".env")).unwrap(),
        "TAG=v1.2.0\n",
        ".env as it was"
    );
    let health = rt.block_on(b.health("web")).unwrap();
    assert_eq!(
        health.images[0].tag.as_deref(),
        Some("v1.2.0"),
        "nothing recreated"
    );
    let running = docker(&[
        "inspect",
        "--format",
        "{{.Image}}",
        &format!("{name}_web_1"),
    ]);
    assert_ne!(running, moved);

    // v1.1.0 is on the engine now (the moved build), but it never ran
    // here: no registry fact says its digest ran, and it is not `previous`.
    let h = rt.block_on(b.history("web")).unwrap();
    let v110 = h.find("v1.1.0").expect("on the engine");
    assert!(h.facts.not_run.contains(&v110.id));
    assert!(
        h.facts
            .registry
            .iter()
            .filter(|f| f.revision == v110.id)
            .all(|f| f.ran.is_none()),
        "{:?}",
        h.facts.registry
    );
    assert!(h.previous().is_none_or(|p| p.id != v110.id));
    let p = plan::build(PlanInputs {
        id: rbtui::core::plan::PlanId(2),
        mutable_tags: &["latest".into()],
        rollout_timeout_secs: 120,
        ..PlanInputs::new(&targets[0], &h, "v1.1.0", chrono::Utc::now())
    })
    .unwrap();
    let c = p.checks.iter().find(|c| c.id == "registry").unwrap();
    assert!(!c.detail.contains("still resolves"), "{}", c.detail);
    assert!(c.detail.contains("never ran here"), "{}", c.detail);
    assert_ne!(c.status, CheckStatus::Pass, "{}", c.detail);
    let _ = planned;

    // The registry goes away: History says so with the cause, and
    // `rbtui history` exits 3.
    drop(reg);
    std::fs::write(
        dir.path().join("rbtui.toml"),
        format!(
            "[[target]]\nname = \"web\"\nkind = \"compose\"\nenvironment = \"staging\"\nproject = \"{name}\"\nversion_var = \"TAG\"\nregistry = true\n"
        ),
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_rbtui"))
        .args(["history", "web"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    let (so, se) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert_eq!(out.status.code(), Some(3), "{so}{se}");
    assert!(so.contains("REGISTRY NOT READ"), "{so}");
    assert!(se.to_lowercase().contains("connection refused"), "{se}");
}

/// `docker compose stop` (Exited 137, never restarted) is a stopped
/// container, not a crash loop; said as `docker ps` says it.
#[test]
#[cfg_attr(
    not(docker_engine),
    ignore = "needs a Docker engine (tests/docker/setup.sh)"
)]
fn a_stopped_container_is_stopped_not_crash_looping() {
    let Some((rt, eng)) = runtime_and_engine() else {
        return;
    };
    let pr = compose_up(
        "rbtuistop",
        "version: \"3.8\"\nservices:\n  web:\n    image: rbtui-test/web:v2\n    command: [\"/bin/busybox\", \"sleep\", \"600\"]\n    stop_grace_period: 1s\n",
        None,
    );
    let stop = Command::new("docker-compose")
        .args(["-p", &pr.name, "stop"])
        .current_dir(pr.dir.path())
        .output()
        .unwrap();
    assert!(stop.status.success());
    let b = ComposeBackend::new(eng, vec![web(&pr.name, None)]);
    rt.block_on(b.targets()).unwrap();
    let h = rt.block_on(b.health("web")).unwrap();
    assert_eq!(h.crashlooping, 0, "{h:?}");
    let m = h.message.clone().unwrap();
    assert!(m.contains("Exited (137) (stopped, not restarted)"), "{m}");
    let v = rbtui::core::verdict::evaluate(&h, &Default::default(), chrono::Utc::now());
    let said = format!("{v:?}");
    assert!(!said.contains("crash-looping"), "{said}");
}
