//! The Swarm backend against a real Docker engine: a service deployed
//! v1 → v2 → v3 (v3's health check fails and the update pauses), rolled back
//! with rollback=previous, then pinned to v1, with the version guard.
#![allow(clippy::unwrap_used)] // a failed unwrap in a test is a failed test

mod common;

use bollard::models::*;
use bollard::query_parameters::{InspectServiceOptions, UpdateServiceOptions};
use common::docker::{engine, runtime_and_engine, unique};
use rbtui::backend::Backend;
use rbtui::backend::docker::swarm::{PREVIOUS, SwarmBackend, SwarmTarget};
use rbtui::core::action::BackendError;
use rbtui::core::model::ProgressPhase;
use rbtui::core::plan::{self, CheckStatus, PlanInputs, PlanStep, RollbackPlan};
use std::time::{Duration, Instant};

fn spec(name: &str, image: &str) -> ServiceSpec {
    ServiceSpec {
        name: Some(name.into()),
        mode: Some(ServiceSpecMode {
            replicated: Some(ServiceSpecModeReplicated { replicas: Some(2) }),
            ..Default::default()
        }),
        task_template: Some(TaskSpec {
            container_spec: Some(TaskSpecContainerSpec {
                image: Some(image.into()),
                stop_grace_period: Some(1_000_000_000),
                ..Default::default()
            }),
            restart_policy: Some(TaskSpecRestartPolicy {
                condition: Some(TaskSpecRestartPolicyConditionEnum::ON_FAILURE),
                ..Default::default()
            }),
            ..Default::default()
        }),
        update_config: Some(ServiceSpecUpdateConfig {
            parallelism: Some(1),
            failure_action: Some(ServiceSpecUpdateConfigFailureActionEnum::PAUSE),
            monitor: Some(4_000_000_000),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn plan(b: &SwarmBackend, rt: &tokio::runtime::Runtime, to: &str) -> Result<RollbackPlan, String> {
    let t = rt.block_on(b.targets()).map_err(|e| e.to_string())?;
    let h = rt
        .block_on(b.history(&t[0].name))
        .map_err(|e| e.to_string())?;
    let mutable = vec!["latest".to_string(), "main".to_string()];
    plan::build(PlanInputs {
        mutable_tags: &mutable,
        rollout_timeout_secs: 120,
        ..PlanInputs::new(&t[0], &h, to, chrono::Utc::now())
    })
}

/// Polls `f` until it holds, failing the test after `secs`.
fn wait(what: &str, secs: u64, f: &dyn Fn() -> bool) {
    let t0 = Instant::now();
    while !f() {
        assert!(
            t0.elapsed() < Duration::from_secs(secs),
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// The backend on one service, target `web` in staging.
fn web_backend(eng: rbtui::backend::docker::engine::Engine, service: &str) -> SwarmBackend {
    SwarmBackend::new(
        eng,
        vec![SwarmTarget {
            name: "web".into(),
            service: service.into(),
            environment: "staging".into(),
        }],
    )
}

fn converge(
    b: &SwarmBackend,
    rt: &tokio::runtime::Runtime,
    p: &RollbackPlan,
    secs: u64,
) -> rbtui::core::model::Progress {
    let t0 = Instant::now();
    loop {
        let pr = rt.block_on(b.progress(p)).unwrap();
        if pr.phase.is_terminal() || t0.elapsed() > Duration::from_secs(secs) {
            return pr;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

#[test]
#[cfg_attr(
    not(docker_engine),
    ignore = "needs a Docker engine: eval \"$(tests/docker/setup.sh)\" sets DOCKER_HOST"
)]
fn swarm_service_rolled_back_to_previous_then_pinned_to_v1_with_version_guard() {
    let Some((rt, eng)) = runtime_and_engine() else {
        return;
    };
    let docker = eng.docker.clone();
    let name = unique("rbtui-web");
    rt.block_on(docker.create_service(spec(&name, "rbtui-test/web:v1"), None))
        .unwrap();
    let b = web_backend(eng, &name);
    let cleanup = scopeguard(docker.clone(), name.clone(), rt.handle().clone());

    let deploy = |image: &str| {
        let svc = rt
            .block_on(docker.inspect_service(&name, None::<InspectServiceOptions>))
            .unwrap();
        let mut s = svc.spec.unwrap();
        s.task_template
            .as_mut()
            .unwrap()
            .container_spec
            .as_mut()
            .unwrap()
            .image = Some(image.into());
        let v = svc.version.unwrap().index.unwrap() as i32;
        rt.block_on(docker.update_service(
            &name,
            s,
            UpdateServiceOptions {
                version: v,
                ..Default::default()
            },
            None,
        ))
        .unwrap();
    };
    let health = || rt.block_on(b.health("web")).unwrap();
    wait("v1 running", 90, &|| health().ready == 2);
    deploy("rbtui-test/web:v2");
    wait("v2 running", 90, &|| {
        let h = health();
        h.ready == 2
            && !h.rollout_stuck
            && h.message
                .as_deref()
                .is_some_and(|m| m.contains("completed"))
    });
    deploy("rbtui-test/web:v3");
    wait("v3 update paused by its failing health check", 120, &|| {
        health().rollout_stuck
    });
    let h = health();
    assert!(
        h.message
            .as_deref()
            .unwrap()
            .contains("UpdateStatus paused"),
        "{:?}",
        h.message
    );
    assert_eq!(h.images[0].tag.as_deref(), Some("v3"));
    // Slots, not attempts: a replica is running or failing, never both,
    // however many times it was retried (how many slots the update reached
    // before pausing depends on timing).
    eprintln!(
        "while v3 is paused: {} ready, {} crash-looping of {}",
        h.ready, h.crashlooping, h.desired
    );
    assert!(h.crashlooping + h.ready <= h.desired, "{h:?}");

    // History: current spec, the engine's previous spec, images to pin.
    let hist = rt.block_on(b.history("web")).unwrap();
    assert_eq!(hist.revisions[0].images[0].tag.as_deref(), Some("v3"));
    let prev = hist.find(PREVIOUS).expect("PreviousSpec read");
    assert_eq!(prev.images[0].tag.as_deref(), Some("v2"));
    for tag in ["v1", "v2", "latest"] {
        assert!(
            hist.find(tag).is_some(),
            "image {tag} offered: {:?}",
            hist.revisions.iter().map(|r| &r.id).collect::<Vec<_>>()
        );
    }
    assert!(
        hist.facts
            .history_note
            .as_deref()
            .unwrap()
            .contains("Swarm keeps only the previous spec")
    );

    // A mutable tag warns with the runbook's reason.
    let p = plan(&b, &rt, "latest").unwrap();
    let c = p.checks.iter().find(|c| c.id == "mutable-tag").unwrap();
    assert_eq!(c.status, CheckStatus::Warn);
    assert!(
        c.detail
            .contains("setting the tag back to latest does not restore a build"),
        "{}",
        c.detail
    );

    // rollback=previous, carrying the version the plan was built from.
    let p = plan(&b, &rt, PREVIOUS).unwrap();
    // What it changes, from the engine's own PreviousSpec: v3 → v2.
    let diff = rt.block_on(b.changes(&p)).unwrap().unwrap();
    let line = |sign: char, text: &str| {
        diff.lines()
            .any(|l| l.starts_with(sign) && l.contains(text))
    };
    assert!(line('-', "Image: rbtui-test/web:v3"), "{diff}");
    assert!(line('+', "Image: rbtui-test/web:v2"), "{diff}");
    assert!(diff.contains("+++ the engine's PreviousSpec"), "{diff}");
    let done = rt
        .block_on(b.execute(
            &p,
            &PlanStep::Rollback {
                to: PREVIOUS.into(),
                via: None,
                pin: vec![],
            },
        ))
        .unwrap();
    assert!(
        done.summary.contains("rollback=previous"),
        "{}",
        done.summary
    );
    let pr = converge(&b, &rt, &p, 120);
    assert_eq!(pr.phase, ProgressPhase::Converged, "{}", pr.message);
    let svc = rt
        .block_on(docker.inspect_service(&name, None::<InspectServiceOptions>))
        .unwrap();
    assert_eq!(
        svc.spec
            .unwrap()
            .task_template
            .unwrap()
            .container_spec
            .unwrap()
            .image
            .unwrap(),
        "rbtui-test/web:v2"
    );

    // After the rollback, the engine's "previous" is the bad v3 spec: BAD,
    // with the engine's own reason, never an all-PASS plan.
    let hist = rt.block_on(b.history("web")).unwrap();
    assert!(
        hist.known_bad.iter().any(|id| id == PREVIOUS),
        "{:?} {:?}",
        hist.known_bad,
        hist.facts.bad_why
    );
    let p = plan(&b, &rt, PREVIOUS).unwrap();
    let c = p.checks.iter().find(|c| c.id == "revision").unwrap();
    assert_eq!(c.status, CheckStatus::Block, "{}", c.detail);
    assert!(
        c.detail.contains("Swarm rolled back from this spec"),
        "{}",
        c.detail
    );
    let changes = p.confirm_lines().join("\n");
    assert!(
        changes.contains(
            "Changes: the whole previous spec returns: image rbtui-test/web:v2 → rbtui-test/web:v3"
        ),
        "{changes}"
    );
    // v3's tasks failed on this engine: its image is bad too.
    let p = plan(&b, &rt, "v3").unwrap();
    let c = p.checks.iter().find(|c| c.id == "revision").unwrap();
    assert_eq!(c.status, CheckStatus::Block, "{}", c.detail);
    assert!(
        c.detail.contains("task(s) on its image failed"),
        "{}",
        c.detail
    );

    // Pin v1 (by tag: local images have no registry digest).
    let p = plan(&b, &rt, "v1").unwrap();
    assert!(
        p.confirm_lines()
            .iter()
            .any(|l| l.starts_with("Changes: only the image changes")),
        "{:?}",
        p.confirm_lines()
    );
    rt.block_on(b.execute(
        &p,
        &PlanStep::Rollback {
            to: "v1".into(),
            via: None,
            pin: vec![],
        },
    ))
    .unwrap();
    let pr = converge(&b, &rt, &p, 120);
    assert_eq!(pr.phase, ProgressPhase::Converged, "{}", pr.message);
    let h = health();
    assert_eq!((h.ready, h.images[0].tag.as_deref()), (2, Some("v1")));

    // The version guard: a change after the plan was built refuses it.
    let p = plan(&b, &rt, "v2").unwrap();
    let svc = rt
        .block_on(docker.inspect_service(&name, None::<InspectServiceOptions>))
        .unwrap();
    let mut s = svc.spec.unwrap();
    s.labels
        .get_or_insert_with(Default::default)
        .insert("changed-by".into(), "someone-else".into());
    rt.block_on(docker.update_service(
        &name,
        s,
        UpdateServiceOptions {
            version: svc.version.unwrap().index.unwrap() as i32,
            ..Default::default()
        },
        None,
    ))
    .unwrap();
    let r = rt.block_on(b.execute(
        &p,
        &PlanStep::Rollback {
            to: "v2".into(),
            via: None,
            pin: vec![],
        },
    ));
    assert!(matches!(r, Err(BackendError::Stale { .. })), "{r:?}");
    assert_eq!(
        health().images[0].tag.as_deref(),
        Some("v1"),
        "nothing applied"
    );

    // Health is fed by the events stream plus a slow resync, not a tight loop.
    let observed = |b: &SwarmBackend| rt.block_on(b.health_all()).remove(0).unwrap().observed_at;
    // Once the engine is quiet, reads come from the cache...
    let t0 = Instant::now();
    let t1 = loop {
        let a = observed(&b);
        std::thread::sleep(Duration::from_millis(700));
        if observed(&b) == a {
            break a;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(25),
            "health re-read on every poll without events"
        );
    };
    let svc = rt
        .block_on(docker.inspect_service(&name, None::<InspectServiceOptions>))
        .unwrap();
    let mut s = svc.spec.unwrap();
    s.labels
        .get_or_insert_with(Default::default)
        .insert("poke".into(), "1".into());
    rt.block_on(docker.update_service(
        &name,
        s,
        UpdateServiceOptions {
            version: svc.version.unwrap().index.unwrap() as i32,
            ..Default::default()
        },
        None,
    ))
    .unwrap();
    wait("an event to trigger a re-read", 10, &|| observed(&b) > t1);
    drop(cleanup);
}

#[test]
#[cfg_attr(
    not(docker_engine),
    ignore = "needs a Docker engine: eval \"$(tests/docker/setup.sh)\" sets DOCKER_HOST"
)]
fn a_missing_service_and_a_missing_engine_are_clear() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let Some(eng) = engine(&rt) else { return };
    let b = SwarmBackend::new(
        eng,
        vec![SwarmTarget {
            name: "gone".into(),
            service: "rbtui-no-such-service".into(),
            environment: "prod".into(),
        }],
    );
    let e = rt.block_on(b.health("gone")).unwrap_err();
    assert!(
        e.to_string()
            .starts_with("not found on the engine: service rbtui-no-such-service not found"),
        "{e}"
    );
    let e = rbtui::backend::docker::engine::connect(Some("unix:///tmp/rbtui-no-engine.sock"))
        .unwrap_err()
        .to_string();
    assert_eq!(
        e,
        "cannot connect to the Docker engine at unix:///tmp/rbtui-no-engine.sock: Socket not found: /tmp/rbtui-no-engine.sock"
    );
    let e = rbtui::backend::docker::engine::connect(Some("ftp://mgr")).unwrap_err();
    assert!(
        matches!(e, rbtui::setup_error::SetupError::DockerHost(_)),
        "{e}"
    );
    assert!(
        e.to_string()
            .contains("expected unix://, tcp://, https:// or ssh://"),
        "{e}"
    );
}

/// Removes the test service even when an assertion fails.
struct Guard(bollard::Docker, String, tokio::runtime::Handle);
fn scopeguard(d: bollard::Docker, n: String, h: tokio::runtime::Handle) -> Guard {
    Guard(d, n, h)
}
impl Drop for Guard {
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
        let _ = &self.2;
    }
}

/// A stack as its users make it, with `docker stack deploy`: the history
/// names the stack (never as WHO), a redeploy's previous spec is offered,
/// the rollback converges, and afterwards the bad spec is known bad.
#[test]
#[cfg_attr(
    not(docker_engine),
    ignore = "needs a Docker engine: eval \"$(tests/docker/setup.sh)\" sets DOCKER_HOST"
)]
fn a_stack_from_docker_stack_deploy_rolls_back_and_remembers_the_bad_spec() {
    let Some((rt, eng)) = runtime_and_engine() else {
        return;
    };

    let stack = unique("rbtuistk").replace('-', "");
    let dir = tempfile::tempdir().unwrap();
    let deploy = |tag: &str| {
        let file = dir.path().join("stack.yml");
        std::fs::write(
            &file,
            format!(
                "version: \"3.8\"\nservices:\n  web:\n    image: rbtui-test/web:{tag}\n    environment:\n      RELEASE: \"{tag}\"\n    deploy:\n      replicas: 2\n      update_config:\n        parallelism: 2\n"
            ),
        )
        .unwrap();
        let out = std::process::Command::new("docker")
            .args(["stack", "deploy", "--resolve-image", "never", "-c"])
            .arg(&file)
            .arg(&stack)
            .output()
            .expect("the docker CLI");
        assert!(
            out.status.success(),
            "docker stack deploy: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let service = format!("{stack}_web");
    let cleanup = StackDown(stack.clone());
    deploy("v1");
    let b = web_backend(eng, &service);
    let running = |tag: &str| {
        let h = rt.block_on(b.health("web")).unwrap();
        h.ready == 2 && h.images[0].tag.as_deref() == Some(tag)
    };
    wait("v1 running", 120, &|| running("v1"));
    deploy("v2");
    wait("v2 running", 120, &|| running("v2"));

    let h = rt.block_on(b.history("web")).unwrap();
    let cur = h.current().unwrap();
    assert!(
        cur.message.contains(&format!("stack {stack}")),
        "{}",
        cur.message
    );
    assert_eq!(cur.author, None, "a stack is not who deployed");
    let p = plan(&b, &rt, PREVIOUS).unwrap();
    assert!(
        p.confirm_lines().iter().any(
            |l| l.contains("image rbtui-test/web:v2 → rbtui-test/web:v1")
                && l.contains("env ~RELEASE (values not shown)")
        ),
        "{:?}",
        p.confirm_lines()
    );
    rt.block_on(b.execute(
        &p,
        &PlanStep::Rollback {
            to: PREVIOUS.into(),
            via: None,
            pin: vec![],
        },
    ))
    .unwrap();
    let pr = converge(&b, &rt, &p, 120);
    assert_eq!(pr.phase, ProgressPhase::Converged, "{}", pr.message);
    assert!(running("v1"));
    let p = plan(&b, &rt, PREVIOUS).unwrap();
    let c = p.checks.iter().find(|c| c.id == "revision").unwrap();
    assert_eq!(c.status, CheckStatus::Block, "{}", c.detail);
    drop(cleanup);
}

struct StackDown(String);
impl Drop for StackDown {
    fn drop(&mut self) {
        let _ = std::process::Command::new("docker")
            .args(["stack", "rm", &self.0])
            .output();
    }
}

/// A service whose tasks crash at start: the evidence rbtui saves before a
/// rollback holds the tasks with their exit codes and errors (as `docker
/// service ps --no-trunc` shows them) and what the tasks wrote, read
/// through the manager (`docker service logs`).
#[test]
#[cfg_attr(
    not(docker_engine),
    ignore = "needs a Docker engine: eval \"$(tests/docker/setup.sh)\" sets DOCKER_HOST"
)]
fn a_crashing_services_tasks_and_log_are_saved_as_evidence() {
    let Some((rt, eng)) = runtime_and_engine() else {
        return;
    };
    let docker = eng.docker.clone();
    let name = unique("rbtui-crash");
    let mut s = spec(&name, "rbtui-test/web:v1");
    let c = s
        .task_template
        .as_mut()
        .unwrap()
        .container_spec
        .as_mut()
        .unwrap();
    c.command = Some(vec!["/bin/busybox".into(), "sh".into()]);
    c.args = Some(vec![
        "-c".into(),
        "echo starting v1; echo FATAL no database connection >&2; exit 3".into(),
    ]);
    rt.block_on(docker.create_service(s, None)).unwrap();
    let _cleanup = scopeguard(docker.clone(), name.clone(), rt.handle().clone());
    let b = web_backend(eng, &name);
    wait("tasks to crash", 90, &|| {
        rt.block_on(b.health("web"))
            .is_ok_and(|h| h.restarts > 0 || h.crashlooping > 0)
    });
    let files = std::cell::RefCell::new(vec![]);
    wait("the crash to reach the service log", 30, &|| {
        *files.borrow_mut() = rt.block_on(b.evidence("web")).unwrap().unwrap();
        files.borrow()[1]
            .text
            .contains("FATAL no database connection")
    });
    let files = files.into_inner();
    assert_eq!(files[0].name, "tasks.txt");
    let tasks = &files[0].text;
    assert!(tasks.contains("exit code 3"), "{tasks}");
    assert!(tasks.contains("error: task: non-zero exit (3)"), "{tasks}");
    assert!(tasks.contains("image rbtui-test/web:v1"), "{tasks}");
    assert_eq!(files[1].name, format!("logs-{name}.log"));
    assert!(
        files[1].text.contains("starting v1"),
        "stdout and stderr: {}",
        files[1].text
    );
}
