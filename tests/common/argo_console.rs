//! The Argo CD backend and the console on the in-test Argo CD server
//! (`argo_server`), as the Argo CD tests set them up.
#![allow(dead_code)]
#![allow(clippy::unwrap_used)] // a failed unwrap in a test is a failed test

use crate::argo_server::{self, TOKEN};
use crate::common;
use rbtui::app::script::Script;
use rbtui::backend::Backend;
use rbtui::backend::argocd::auth::Token;
use rbtui::backend::argocd::client::{Client, Conn};
use rbtui::backend::argocd::{AppSpec, AppTarget, ArgoBackend};
use rbtui::backend::clock::ManualClock;
use rbtui::core::model::Mode;
use rbtui::core::state::State;
use std::sync::Arc;
use std::time::Duration;

/// A connection with the tests' timeout.
pub fn conn(base: String, token: &str) -> Conn {
    Conn {
        base,
        token: Token::new(token.into()),
        insecure: false,
        ca_file: None,
        timeout: Duration::from_secs(2),
    }
}

pub fn backend(fake: &argo_server::FakeArgo, token: &str, project: Option<&str>) -> ArgoBackend {
    backend_in(fake, token, project, "prod")
}

pub fn backend_in(
    fake: &argo_server::FakeArgo,
    token: &str,
    project: Option<&str>,
    environment: &str,
) -> ArgoBackend {
    let conn = conn(fake.base(), token);
    let t = AppTarget {
        name: "orders".into(),
        app: "orders-prod".into(),
        app_namespace: None,
        project: project.map(str::to_string),
        environment: environment.into(),
    };
    ArgoBackend::new(Client::new(conn).unwrap(), vec![AppSpec::One(t)])
}

/// The console on the app `orders` of `fake`, live, writing `n.md` in the
/// returned directory.
pub fn console(fake: &argo_server::FakeArgo) -> (Script, tempfile::TempDir) {
    console_with(fake, TOKEN)
}

/// The console acting with `token`.
pub fn console_with(fake: &argo_server::FakeArgo, token: &str) -> (Script, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let note_path = dir.path().join("n.md");
    let clock = ManualClock::new(common::t0());
    let mut b = backend(fake, token, Some("shop"));
    // The manual clock runs ahead of real time: refresh on every read.
    b.refresh_every = Duration::ZERO;
    let b: Arc<dyn Backend> = Arc::new(b);
    let writer =
        rbtui::note::NoteWriter::open(&note_path, &common::header(Mode::Live, "n.md"), "").unwrap();
    let state = State::new(
        common::settings(Mode::Live, "n.md"),
        rbtui::runbook::load_all(None).unwrap(),
        common::t0(),
    );
    let mut s = Script::new(state, b, clock, Some(writer));
    s.start();
    (s, dir)
}

/// The backend as a console holds it: on a runtime of its own, its
/// targets listed, subscribed, and its application stream connected.
pub fn streamed(
    fake: &argo_server::FakeArgo,
    quiet: Option<Duration>,
) -> (tokio::runtime::Runtime, Arc<ArgoBackend>) {
    let mut b = backend(fake, TOKEN, None);
    if let Some(q) = quiet {
        b.stream_quiet = q;
    }
    let b = Arc::new(b);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(b.targets()).unwrap();
    let (tx, _changes) = tokio::sync::mpsc::unbounded_channel();
    rt.block_on(async { b.subscribe(tx) });
    for _ in 0..100 {
        if b.streaming("orders") {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(b.streaming("orders"), "stream connects");
    (rt, b)
}
