//! Docker tests need an engine, the real-Prometheus test a Prometheus,
//! the migration corpus's cross-check squawk, the registry test Debian's
//! `docker-registry`.
//! Where none is there they are compiled as ignored, so the runner's
//! summary shows them as skipped (with why) instead of counting them as
//! passed. Under CI=true they always run, and fail loudly if it is missing.
//!
//! Only test builds look: in the release profile (the binary people run,
//! and the benchmarks) nothing is detected and nothing is watched, so a
//! change of PATH or DOCKER_HOST never rebuilds the release binary. (A
//! `cargo test --release` outside CI shows these tests as skipped.)
fn main() {
    println!("cargo::rustc-check-cfg=cfg(docker_engine)");
    println!("cargo::rustc-check-cfg=cfg(prometheus_bin)");
    println!("cargo::rustc-check-cfg=cfg(squawk_bin)");
    println!("cargo::rustc-check-cfg=cfg(registry_bin)");
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-env-changed=CI");
    let ci = std::env::var("CI").is_ok_and(|v| v == "true");
    if std::env::var("PROFILE").is_ok_and(|p| p == "release") && !ci {
        return;
    }
    println!("cargo::rerun-if-env-changed=REGISTRY_BIN");
    println!("cargo::rerun-if-env-changed=SQUAWK_BIN");
    println!("cargo::rerun-if-env-changed=PATH");
    println!("cargo::rerun-if-env-changed=DOCKER_HOST");
    println!("cargo::rerun-if-env-changed=PROMETHEUS_BIN");
    if ci || std::env::var_os("DOCKER_HOST").is_some() {
        println!("cargo::rustc-cfg=docker_engine");
    }
    let prom = std::env::var("PROMETHEUS_BIN").unwrap_or_else(|_| "/usr/bin/prometheus".into());
    if ci || std::path::Path::new(&prom).exists() {
        println!("cargo::rustc-cfg=prometheus_bin");
    }
    let registry =
        std::env::var("REGISTRY_BIN").unwrap_or_else(|_| "/usr/bin/docker-registry".into());
    if ci || std::path::Path::new(&registry).exists() {
        println!("cargo::rustc-cfg=registry_bin");
    }
    let squawk_on_path = std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join("squawk").is_file()));
    if ci || std::env::var_os("SQUAWK_BIN").is_some() || squawk_on_path {
        println!("cargo::rustc-cfg=squawk_bin");
    }
}
