//! The tests' Argo CD API double on a port, for trying the console by hand
//! against it: `cargo run --example argocd_double [multi-source]`, then
//! point a config's `server` at the printed address and set
//! `ARGOCD_AUTH_TOKEN` to one of the printed tokens (the second may update
//! but not sync). Ctrl-C ends it.

#[path = "../tests/common/http.rs"]
pub mod http;
/// Where the double finds its HTTP helpers in the tests' crate layout.
mod common {
    pub use super::http;
}
#[path = "../tests/common/argo_server.rs"]
mod argo_server;

fn main() {
    let fake = argo_server::start();
    if std::env::args().any(|a| a == "multi-source") {
        fake.with(|st| {
            argo_server::make_multi_source(st, "7777777aaaaaaa0000000000000000000000000")
        });
    }
    println!(
        "serving {} (tokens: {} / {})",
        fake.base(),
        argo_server::TOKEN,
        argo_server::NOSYNC
    );
    loop {
        std::thread::sleep(std::time::Duration::from_secs(3600));
    }
}
