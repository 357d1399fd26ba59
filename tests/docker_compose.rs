//! The Compose backend against a real Docker engine: a project whose `web`
//! service runs v3 (its health check fails) rolled back to v1 with its
//! manifest as a pair; a version without its manifest is blocked.
#![allow(clippy::unwrap_used)] // a failed unwrap in a test is a failed test

mod common;

use bollard::models::ContainerCreateBody;
use bollard::query_parameters::{
    CreateContainerOptions, ListContainersOptions, RemoveContainerOptions, StartContainerOptions,
};
use common::docker::{runtime_and_engine, unique};
use rbtui::backend::Backend;
use rbtui::backend::docker::compose::{ComposeBackend, ComposeTarget};
use rbtui::core::action::BackendError;
use rbtui::core::model::{Mode, ProgressPhase};
use rbtui::core::plan::{self, CheckStatus, PlanInputs, PlanStep, RollbackPlan};
use std::collections::HashMap;
use std::time::{Duration, Instant};

fn plan(b: &ComposeBackend, rt: &tokio::runtime::Runtime, to: &str) -> RollbackPlan {
    let t = rt.block_on(b.targets()).unwrap();
    let h = rt.block_on(b.history(&t[0].name)).unwrap();
    plan::build(PlanInputs {
        mutable_tags: &["latest".into()],
        rollout_timeout_secs: 120,
        ..PlanInputs::new(&t[0], &h, to, chrono::Utc::now())
    })
    .unwrap()
}

#[test]
#[cfg_attr(
    not(docker_engine),
    ignore = "needs a Docker engine: eval \"$(tests/docker/setup.sh)\" sets DOCKER_HOST"
)]
fn compose_service_recreated_on_v1_with_its_manifest_as_a_pair() {
    let Some((rt, eng)) = runtime_and_engine() else {
        return;
    };
    let d = eng.docker.clone();
    let project = unique("rbtuitest");
    let dir = tempfile::tempdir().unwrap();
    let live = dir.path().join("app.manifest.json");
    std::fs::write(&live, "{\"version\":\"v3\"}").unwrap();
    std::fs::write(
        dir.path().join("app.v1.manifest.json"),
        "{\"version\":\"v1\"}",
    )
    .unwrap();
    // `docker compose up` with v3: containers carrying Compose's labels.
    for i in 1..=2 {
        let mut labels = HashMap::new();
        labels.insert("com.docker.compose.project".to_string(), project.clone());
        labels.insert("com.docker.compose.service".to_string(), "web".to_string());
        labels.insert(
            "com.docker.compose.container-number".to_string(),
            i.to_string(),
        );
        let body = ContainerCreateBody {
            image: Some("rbtui-test/web:v3".into()),
            labels: Some(labels),
            env: Some(vec![format!("REPLICA={i}")]),
            ..Default::default()
        };
        let name = format!("{project}-web-{i}");
        let r = rt
            .block_on(d.create_container(
                Some(CreateContainerOptions {
                    name: Some(name),
                    ..Default::default()
                }),
                body,
            ))
            .unwrap();
        rt.block_on(d.start_container(&r.id, None::<StartContainerOptions>))
            .unwrap();
    }
    let _guard = Cleanup(d.clone(), project.clone());
    let target = ComposeTarget {
        name: "web".into(),
        project: project.clone(),
        service: "web".into(),
        environment: "staging".into(),
        manifest: Some((
            live.clone(),
            dir.path()
                .join("app.{tag}.manifest.json")
                .display()
                .to_string(),
        )),
        compose_files: vec![],
        version_var: None,
        env_file: None,
    };
    let b = ComposeBackend::new(eng, vec![target]);
    // `rbtui check`'s question: the engine's version and its socket.
    let about = rt
        .block_on(b.about("web"))
        .expect("asked")
        .expect("the engine answers");
    assert!(
        about.version.starts_with("Docker Engine ") && about.version.contains("(API "),
        "{about:?}"
    );
    assert!(about.credentials.contains("socket"), "{about:?}");
    let wait = |what: &str, secs: u64, f: &dyn Fn() -> bool| {
        let t0 = Instant::now();
        while !f() {
            assert!(
                t0.elapsed() < Duration::from_secs(secs),
                "timed out waiting for {what}"
            );
            std::thread::sleep(Duration::from_millis(500));
        }
    };
    wait("v3 to turn unhealthy", 60, &|| {
        let h = rt.block_on(b.health("web")).unwrap();
        h.ready == 0
            && h.message
                .is_some_and(|m| m.matches("Up (unhealthy)").count() == 2)
    });
    // Running with a failing health check is unhealthy, as `docker ps`
    // says it, not a crash loop: nothing restarted.
    let h = rt.block_on(b.health("web")).unwrap();
    assert_eq!(h.crashlooping, 0, "{:?}", h.message);
    assert!(
        h.message.as_deref().unwrap().contains("Up (unhealthy)"),
        "{:?}",
        h.message
    );

    let hist = rt.block_on(b.history("web")).unwrap();
    assert_eq!(hist.current().unwrap().id, "v3");
    for tag in ["v1", "v2", "latest"] {
        assert!(hist.find(tag).is_some(), "{tag} offered");
    }
    // v2 has no versioned manifest: blocked, not overridable.
    let p2 = plan(&b, &rt, "v2");
    let pair = p2
        .checks
        .iter()
        .find(|c| c.id == "pair")
        .expect("pair check");
    assert!(pair.status == CheckStatus::Block && !pair.overridable);
    assert!(
        pair.detail
            .contains("image and manifest roll back as a pair")
    );
    let r = rt.block_on(b.execute(
        &p2,
        &PlanStep::Rollback {
            to: "v2".into(),
            via: None,
            pin: vec![],
        },
    ));
    assert!(matches!(r, Err(BackendError::Refused(_))), "{r:?}");
    assert_eq!(
        std::fs::read_to_string(&live).unwrap(),
        "{\"version\":\"v3\"}",
        "nothing swapped"
    );

    let p = plan(&b, &rt, "v1");
    let done = rt
        .block_on(b.execute(
            &p,
            &PlanStep::Rollback {
                to: "v1".into(),
                via: None,
                pin: vec![],
            },
        ))
        .unwrap();
    assert!(
        done.summary.contains("app.manifest.json ← ")
            && done.summary.contains("-web-1 → rbtui-test/web:v1"),
        "{}",
        done.summary
    );
    assert_eq!(
        std::fs::read_to_string(&live).unwrap(),
        "{\"version\":\"v1\"}"
    );
    assert_eq!(
        std::fs::read_to_string(format!("{}.bak", live.display())).unwrap(),
        "{\"version\":\"v3\"}",
        "backup kept"
    );
    let t0 = Instant::now();
    let pr = loop {
        let pr = rt.block_on(b.progress(&p)).unwrap();
        if pr.phase.is_terminal() || t0.elapsed() > Duration::from_secs(60) {
            break pr;
        }
        std::thread::sleep(Duration::from_millis(500));
    };
    assert_eq!(pr.phase, ProgressPhase::Converged, "{}", pr.message);
    let h = rt.block_on(b.health("web")).unwrap();
    assert_eq!(
        (h.ready, h.desired, h.images[0].tag.as_deref()),
        (2, 2, Some("v1"))
    );
    // Names, labels and environment survive the recreate.
    let mut f = HashMap::new();
    f.insert(
        "label".to_string(),
        vec![format!("com.docker.compose.project={project}")],
    );
    let cs = rt
        .block_on(d.list_containers(Some(ListContainersOptions {
            all: true,
            filters: Some(f),
            ..Default::default()
        })))
        .unwrap();
    let mut names: Vec<String> = cs
        .iter()
        .flat_map(|c| c.names.clone().unwrap_or_default())
        .collect();
    names.sort();
    assert_eq!(
        names,
        vec![format!("/{project}-web-1"), format!("/{project}-web-2")]
    );

    // The guard: a plan built before someone recreated the containers is refused.
    let stale = plan(&b, &rt, "v1");
    std::fs::write(
        dir.path().join("app.v2.manifest.json"),
        "{\"version\":\"v2\"}",
    )
    .unwrap();
    let p = plan(&b, &rt, "v2");
    rt.block_on(b.execute(
        &p,
        &PlanStep::Rollback {
            to: "v2".into(),
            via: None,
            pin: vec![],
        },
    ))
    .unwrap();
    let r = rt.block_on(b.execute(
        &stale,
        &PlanStep::Rollback {
            to: "v1".into(),
            via: None,
            pin: vec![],
        },
    ));
    assert!(matches!(r, Err(BackendError::Stale { .. })), "{r:?}");

    // The same rollback driven from the console, keys only, into a note.
    let note_path = dir.path().join("INC-7.md");
    let writer =
        rbtui::note::NoteWriter::open(&note_path, &common::header(Mode::Live, "INC-7.md"), "")
            .unwrap();
    let clock = rbtui::backend::clock::ManualClock::new(common::t0());
    let state = rbtui::core::state::State::new(
        common::settings(Mode::Live, "INC-7.md"),
        rbtui::runbook::load_all(None).unwrap(),
        common::t0(),
    );
    drop(rt);
    let mut s = rbtui::app::script::Script::new(state, std::sync::Arc::new(b), clock, Some(writer));
    s.start();
    s.press("<Enter>");
    let idx = s
        .state
        .history("web")
        .unwrap()
        .revisions
        .iter()
        .position(|r| r.id == "v1")
        .unwrap();
    s.press("g");
    for _ in 0..idx {
        s.press("j");
    }
    s.press("<Enter><Enter><Enter>"); // plan, confirm dialog, execute
    assert!(s.state.in_flight(), "{:?}", s.state.flash);
    for _ in 0..120 {
        if s.advance_until(1000, |st| {
            st.runs.last().is_some_and(|r| r.outcome().is_some())
        }) {
            break;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    let outcome = s.state.runs.last().unwrap().outcome();
    assert_eq!(outcome, Some(rbtui::core::state::Outcome::Succeeded));
    let note = std::fs::read_to_string(&note_path).unwrap();
    for want in [
        "**action** `web` — step 1: Recreate compose service web on image v1 from each container's inspected settings (image and manifest as a pair; an image the engine lacks is pulled first and must match the planned digest); Compose's own files are left as they are (see `inputs`)",
        "**result** `web` — step 1 ok: manifest ",
        r#"<!-- rbtui {"marker":"deployed","target":"web","image":"rbtui-test/web:v1","incident":"INC-7""#,
        "**evidence** `web` — verified: 2/2 ready on web:v1",
        "**not-recovered** `web` — replicas verified; recovery not proven: no probe or metric measures this target",
    ] {
        assert!(note.contains(want), "note lacks {want:?}\n{note}");
    }
}

struct Cleanup(bollard::Docker, String);
impl Drop for Cleanup {
    fn drop(&mut self) {
        let (d, p) = (self.0.clone(), self.1.clone());
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            let mut f = HashMap::new();
            f.insert(
                "label".to_string(),
                vec![format!("com.docker.compose.project={p}")],
            );
            if let Ok(cs) = rt.block_on(d.list_containers(Some(ListContainersOptions {
                all: true,
                filters: Some(f),
                ..Default::default()
            }))) {
                for c in cs {
                    let _ = rt.block_on(d.remove_container(
                        c.id.as_deref().unwrap_or_default(),
                        Some(RemoveContainerOptions {
                            force: true,
                            ..Default::default()
                        }),
                    ));
                }
            }
        })
        .join();
    }
}
