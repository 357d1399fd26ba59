//! The `[comms]` webhook: a Slack-compatible incoming webhook that takes
//! `POST {"text": "…"}` and answers `200 ok` (Slack's contract; Mattermost,
//! Rocket.Chat and Teams' Slack-compatible hooks take the same). A layer
//! over the backend chain, so the runtime posts as it performs every other
//! effect. The URL is a secret: only its host is ever shown or recorded,
//! and an error never repeats the URL.

use super::layer::Layer;
use super::{Backend, BoxFut};
use crate::core::action::BackendError;
use std::sync::Arc;
use std::time::Duration;

pub struct Webhook {
    inner: Arc<dyn Backend>,
    url: secrecy::SecretString,
    http: reqwest::Client,
}

impl Webhook {
    pub fn new(
        inner: Arc<dyn Backend>,
        url: String,
    ) -> Result<Webhook, crate::setup_error::SetupError> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| {
                crate::setup_error::SetupError::Client(format!(
                    "cannot build the webhook's HTTP client: {e}"
                ))
            })?;
        Ok(Webhook {
            inner,
            url: url.into(),
            http,
        })
    }

    /// One POST; a 429 is waited out once when it says how long (at most
    /// 10 s, Retry-After in seconds), never retried blindly.
    async fn send(&self, text: &str) -> Result<String, BackendError> {
        use secrecy::ExposeSecret;
        let body = serde_json::json!({ "text": text });
        let mut waited = false;
        loop {
            let resp = self
                .http
                .post(self.url.expose_secret())
                .json(&body)
                .send()
                .await
                .map_err(|e| {
                    BackendError::Unreachable(format!(
                        "the webhook did not answer: {}",
                        super::cause::cause(&e.without_url())
                    ))
                })?;
            let status = resp.status();
            let wait = resp
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok());
            let said = resp.text().await.unwrap_or_default();
            let said: String = said.trim().chars().take(200).collect();
            match (status.as_u16(), wait) {
                (200..=299, _) => {
                    return Ok(format!("it answered {} {said}", status.as_u16())
                        .trim()
                        .to_string());
                }
                (429, Some(secs)) if !waited && secs <= 10 => {
                    waited = true;
                    tokio::time::sleep(Duration::from_secs(secs)).await;
                }
                (c, _) => {
                    let m = format!("the webhook answered {c} {said}")
                        .trim()
                        .to_string();
                    return Err(BackendError::from_status(c, m.clone())
                        .unwrap_or(BackendError::Unavailable(m)));
                }
            }
        }
    }
}

impl Layer for Webhook {
    fn inner(&self) -> &Arc<dyn Backend> {
        &self.inner
    }
    fn post<'a>(&'a self, text: &'a str) -> Option<BoxFut<'a, Result<String, BackendError>>> {
        Some(Box::pin(self.send(text)))
    }
}

/// The host a webhook URL names, for the screen and the note.
pub fn host(url: &str) -> String {
    reqwest::Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_string))
        .unwrap_or_else(|| "the webhook".into())
}
