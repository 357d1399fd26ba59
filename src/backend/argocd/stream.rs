//! Live application updates from `/api/v1/stream/applications`
//! (newline-delimited JSON), one stream per application, reconnecting with
//! backoff. While a stream is connected its latest event is the app's state
//! and no polling GET is needed; when it is not, the backend polls.

use super::api::{Application, StreamLine};
use super::client::Client;
use futures::StreamExt;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The newest application seen per app name, while its stream is up.
#[derive(Default)]
pub struct Live {
    apps: Mutex<HashMap<String, Application>>,
    connected: Mutex<HashMap<String, bool>>,
}

impl Live {
    /// The streamed state, only while the stream is connected.
    pub fn get(&self, app: &str) -> Option<Application> {
        if !self
            .connected
            .lock()
            .unwrap()
            .get(app)
            .copied()
            .unwrap_or(false)
        {
            return None;
        }
        self.apps.lock().unwrap().get(app).cloned()
    }

    pub fn is_connected(&self, app: &str) -> bool {
        self.connected
            .lock()
            .unwrap()
            .get(app)
            .copied()
            .unwrap_or(false)
    }

    fn set_connected(&self, app: &str, up: bool) {
        self.connected.lock().unwrap().insert(app.to_string(), up);
        if !up {
            self.apps.lock().unwrap().remove(app);
        }
    }

    /// A state read by a GET (or returned by a PATCH/POST) is at least as new.
    pub fn put(&self, app: &str, a: Application) {
        self.apps.lock().unwrap().insert(app.to_string(), a);
    }
}

/// Follows one application's stream forever; ends when `live` is dropped.
pub async fn follow(
    client: Arc<Client>,
    live: std::sync::Weak<Live>,
    app: String,
    query: Vec<(&'static str, String)>,
) {
    let mut backoff = Duration::from_secs(1);
    loop {
        let mut q = query.clone();
        q.push(("name", app.clone()));
        if let Ok(resp) = client.stream("/api/v1/stream/applications", &q).await {
            let mut body = resp.bytes_stream();
            let mut buf: Vec<u8> = Vec::new();
            while let Some(chunk) = body.next().await {
                let Ok(chunk) = chunk else { break };
                buf.extend_from_slice(&chunk);
                while let Some(i) = buf.iter().position(|&b| b == b'\n') {
                    let line: Vec<u8> = buf.drain(..=i).collect();
                    let Some(l) = live.upgrade() else { return };
                    if let Ok(StreamLine {
                        result: Some(ev), ..
                    }) = serde_json::from_slice::<StreamLine>(&line)
                    {
                        if ev.application.metadata.name == app && ev.kind != "DELETED" {
                            l.put(&app, ev.application);
                            l.set_connected(&app, true);
                            backoff = Duration::from_secs(1);
                        } else if ev.kind == "DELETED" {
                            l.set_connected(&app, false);
                        }
                    }
                }
            }
        }
        let Some(l) = live.upgrade() else { return };
        l.set_connected(&app, false);
        drop(l);
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(Duration::from_secs(30));
    }
}
