//! Live application updates from `/api/v1/stream/applications`
//! (newline-delimited JSON), one stream per application, reconnecting with
//! backoff. A connected stream is trusted only while it is heard from: a
//! stream can stay open and go silent (a buffering proxy, a stalled
//! informer), so each state keeps the time it was answered and an old one
//! is replaced by a direct read.

use super::api::{Application, StreamLine};
use super::client::Client;
use crate::backend::Change;
use chrono::{DateTime, Utc};
use futures::StreamExt;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;
use tokio::sync::mpsc::UnboundedSender;

/// The newest application state per app name, with when it was answered
/// (a stream event or a direct read).
#[derive(Default)]
pub struct Live {
    apps: Mutex<HashMap<String, (Application, DateTime<Utc>)>>,
    connected: Mutex<HashMap<String, bool>>,
}

impl Live {
    /// The newest state, only while the stream is connected and the
    /// answer is younger than `within`.
    pub fn fresh(&self, app: &str, within: Duration) -> Option<(Application, DateTime<Utc>)> {
        if !self.is_connected(app) {
            return None;
        }
        let (a, at) = self
            .apps
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(app)
            .cloned()?;
        let age = (Utc::now() - at).to_std().unwrap_or_default();
        (age <= within).then_some((a, at))
    }

    pub fn is_connected(&self, app: &str) -> bool {
        self.connected
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(app)
            .copied()
            .unwrap_or(false)
    }

    fn set_connected(&self, app: &str, up: bool) {
        self.connected
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(app.to_string(), up);
        if !up {
            self.apps
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .remove(app);
        }
    }

    /// A state answered now (a stream event, a GET, a PATCH's answer).
    pub fn put(&self, app: &str, a: Application) {
        self.apps
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(app.to_string(), (a, Utc::now()));
    }
}

/// One application's stream: where it reads, and whom it tells.
pub struct Follow {
    pub app: String,
    /// The target's name, for the change notices.
    pub target: String,
    pub query: Vec<(&'static str, String)>,
    pub changes: Option<UnboundedSender<Change>>,
}

/// Follows one application's stream forever; ends when `live` is dropped.
pub async fn follow(client: std::sync::Arc<Client>, live: std::sync::Weak<Live>, f: Follow) {
    let mut backoff = Duration::from_secs(1);
    loop {
        let mut q = f.query.clone();
        q.push(("name", f.app.clone()));
        if let Ok(resp) = client.stream("/api/v1/stream/applications", &q).await {
            let mut body = resp.bytes_stream();
            let mut buf: Vec<u8> = Vec::new();
            while let Some(chunk) = body.next().await {
                let Ok(chunk) = chunk else { break };
                buf.extend_from_slice(&chunk);
                while let Some(i) = buf.iter().position(|&b| b == b'\n') {
                    let line: Vec<u8> = buf.drain(..=i).collect();
                    let Some(l) = live.upgrade() else { return };
                    if seen(&l, &f, &line) {
                        backoff = Duration::from_secs(1);
                    }
                }
            }
        }
        let Some(l) = live.upgrade() else { return };
        l.set_connected(&f.app, false);
        drop(l);
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(Duration::from_secs(30));
    }
}

/// One line of the stream: the app's new state (true), or nothing usable.
fn seen(l: &Live, f: &Follow, line: &[u8]) -> bool {
    let Ok(StreamLine {
        result: Some(ev), ..
    }) = serde_json::from_slice::<StreamLine>(line)
    else {
        return false;
    };
    if ev.kind == "DELETED" {
        l.set_connected(&f.app, false);
        return false;
    }
    if ev.application.metadata.name != f.app {
        return false;
    }
    l.put(&f.app, ev.application);
    l.set_connected(&f.app, true);
    if let Some(tx) = &f.changes {
        let _ = tx.send(Change::Health);
        let _ = tx.send(Change::History(f.target.clone()));
    }
    true
}
