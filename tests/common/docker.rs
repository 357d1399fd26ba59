//! The Docker engine the Docker tests use (started by tests/docker/setup.sh,
//! which `.ci/run` runs). Without DOCKER_HOST the tests are compiled as
//! ignored (build.rs); with it they fail under CI=true when the engine does
//! not answer, and print SKIPPED otherwise, never silently.
#![allow(dead_code)]
#![allow(clippy::unwrap_used)] // a failed unwrap in a test is a failed test

use rbtui::backend::docker::engine::{Engine, connect};

pub fn engine(rt: &tokio::runtime::Runtime) -> Option<Engine> {
    let why = match connect(None) {
        Ok(e) => match rt.block_on(e.docker.ping()) {
            Ok(_) => match rt.block_on(e.docker.inspect_image("rbtui-test/web:v1")) {
                Ok(_) => return Some(e),
                Err(err) => format!(
                    "engine at {} has no rbtui-test/web images ({err}); run tests/docker/setup.sh",
                    e.host
                ),
            },
            Err(err) => format!("no Docker engine answers at {}: {err}", e.host),
        },
        Err(e) => e.to_string(),
    };
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("Docker tests need an engine: {why}. .ci/run starts one with tests/docker/setup.sh");
    }
    eprintln!("SKIPPED (not in CI): {why}. Start one with: eval \"$(tests/docker/setup.sh)\"");
    None
}

/// A unique, short name for test services and containers.
pub fn unique(prefix: &str) -> String {
    let n = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{prefix}-{}", n % 1_000_000_000)
}

/// A runtime for a Docker test and the engine on it; None (skipped, said
/// why) outside CI without an engine.
pub fn runtime_and_engine() -> Option<(tokio::runtime::Runtime, Engine)> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let e = engine(&rt)?;
    Some((rt, e))
}
