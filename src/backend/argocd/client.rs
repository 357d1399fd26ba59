//! HTTP to the Argo CD API server: bearer auth, TLS options, and the
//! server's error answers turned into messages an operator can act on.

use super::api::ErrorBody;
use super::auth::Token;
use crate::core::error::BackendError;
use reqwest::{Method, StatusCode};
use std::time::Duration;

/// Connection settings for one server.
#[derive(Debug, Clone)]
pub struct Conn {
    /// `https://host[:port]`, no trailing slash.
    pub base: String,
    pub token: Token,
    pub insecure: bool,
    pub ca_file: Option<std::path::PathBuf>,
    pub timeout: Duration,
}

/// A failed call, classified.
#[derive(Debug, Clone, PartialEq)]
pub enum ApiError {
    /// 401: the token is missing, invalid or expired.
    Unauthorized(String),
    /// 403: the token lacks a permission (or the app does not exist and no project was given).
    Forbidden(String),
    NotFound(String),
    /// 400 FailedPrecondition / InvalidArgument: the server's own words.
    Rejected(String),
    /// 5xx, timeouts, resets: the call may or may not have arrived.
    Unavailable(String),
    /// No connection was made (refused, DNS, TLS handshake): nothing arrived.
    Unreachable(String),
    /// The answer was not the JSON expected.
    Malformed(String),
}

impl ApiError {
    pub fn message(&self) -> String {
        match self {
            ApiError::Unauthorized(m) => format!(
                "token expired or invalid (401: {m}); run `argocd login` or set ARGOCD_AUTH_TOKEN"
            ),
            ApiError::Forbidden(m) => m.clone(),
            ApiError::NotFound(m) => m.clone(),
            ApiError::Rejected(m) => m.clone(),
            ApiError::Unavailable(m) => m.clone(),
            ApiError::Unreachable(m) => m.clone(),
            ApiError::Malformed(m) => format!("malformed answer from Argo CD: {m}"),
        }
    }
}

/// A failed read in the core's kinds. A mutation's answer is judged by
/// the caller, who knows whether the request may have been applied.
impl From<ApiError> for BackendError {
    fn from(e: ApiError) -> BackendError {
        let m = e.message();
        match e {
            ApiError::Unauthorized(_) => BackendError::Unauthorized(m),
            ApiError::Forbidden(_) => BackendError::Forbidden(m),
            ApiError::NotFound(_) => BackendError::NotFound(m),
            ApiError::Rejected(_) => BackendError::Failed(m),
            ApiError::Unavailable(_) => BackendError::Unavailable(m),
            ApiError::Unreachable(_) => BackendError::Unreachable(m),
            ApiError::Malformed(_) => BackendError::Malformed(m),
        }
    }
}

pub struct Client {
    pub conn: Conn,
    http: reqwest::Client,
}

impl Client {
    pub fn new(conn: Conn) -> Result<Client, crate::setup_error::SetupError> {
        use crate::setup_error::SetupError;
        let mut b = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .user_agent(concat!("rbtui/", env!("CARGO_PKG_VERSION")));
        if conn.insecure {
            b = b.danger_accept_invalid_certs(true);
        }
        if let Some(ca) = &conn.ca_file {
            let pem = std::fs::read(ca).map_err(|source| SetupError::Unreadable {
                what: "ca_file",
                path: ca.clone(),
                source,
            })?;
            let cert = reqwest::Certificate::from_pem(&pem).map_err(|e| {
                SetupError::Client(format!(
                    "ca_file {}: not a PEM certificate: {e}",
                    ca.display()
                ))
            })?;
            b = b.add_root_certificate(cert);
        }
        let http = b
            .build()
            .map_err(|e| SetupError::Client(format!("cannot build the HTTP client: {e}")))?;
        Ok(Client { conn, http })
    }

    /// Where the token came from (never the token).
    pub fn token_from(&self) -> &str {
        self.conn.token.from()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.conn.base, path)
    }

    /// One request; `what` names the action for permission messages
    /// (`get`, `update`, `sync`) and `object` the `<project>/<app>`.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&serde_json::Value>,
        what: &str,
        object: &str,
    ) -> Result<Vec<u8>, ApiError> {
        let mut rb = self
            .http
            .request(method, self.url(path))
            .query(query)
            .bearer_auth(self.conn.token.expose())
            .timeout(self.conn.timeout);
        if let Some(b) = body {
            rb = rb
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(b.to_string());
        }
        let resp = rb.send().await.map_err(|e| transport(&e, &self.conn))?;
        let status = resp.status();
        let bytes = resp
            .bytes()
            .await
            .map_err(|e| transport(&e, &self.conn))?
            .to_vec();
        if status.is_success() {
            return Ok(bytes);
        }
        Err(classify(status, &bytes, what, object))
    }

    pub async fn get_json<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, String)],
        what: &str,
        object: &str,
    ) -> Result<T, ApiError> {
        let b = self
            .call(Method::GET, path, query, None, what, object)
            .await?;
        serde_json::from_slice(&b).map_err(|e| ApiError::Malformed(format!("{path}: {e}")))
    }

    /// A streaming GET; the caller reads lines from the response.
    pub async fn stream(
        &self,
        path: &str,
        query: &[(&str, String)],
    ) -> Result<reqwest::Response, ApiError> {
        let resp = self
            .http
            .get(self.url(path))
            .query(query)
            .bearer_auth(self.conn.token.expose())
            .send()
            .await
            .map_err(|e| transport(&e, &self.conn))?;
        let status = resp.status();
        if status.is_success() {
            return Ok(resp);
        }
        let b = resp.bytes().await.unwrap_or_default();
        Err(classify(status, &b, "get", ""))
    }
}

/// Maps an error answer. The server's message is surfaced verbatim.
pub fn classify(status: StatusCode, body: &[u8], what: &str, object: &str) -> ApiError {
    let parsed: Option<ErrorBody> = serde_json::from_slice(body).ok();
    let text = parsed
        .as_ref()
        .map(|e| {
            if e.message.is_empty() {
                e.error.clone()
            } else {
                e.message.clone()
            }
        })
        .unwrap_or_else(|| {
            String::from_utf8_lossy(body)
                .trim()
                .chars()
                .take(300)
                .collect()
        });
    match status.as_u16() {
        401 => ApiError::Unauthorized(text),
        403 => ApiError::Forbidden(format!(
            "token expired or lacks the `{what}` permission on {object} (403: {text}); without a `project` in the config, Argo CD also answers 403 for an application that does not exist"
        )),
        404 => ApiError::NotFound(format!("{object}: not found (404: {text})")),
        400 | 409 | 412 => ApiError::Rejected(text),
        415 => ApiError::Rejected(format!("server refused the content type (415: {text})")),
        s if s >= 500 => ApiError::Unavailable(format!("Argo CD server error {s}: {text}")),
        s => ApiError::Rejected(format!("HTTP {s}: {text}")),
    }
}

fn transport(e: &reqwest::Error, c: &Conn) -> ApiError {
    // The error chain names the cause (TLS, refused, DNS) without the token.
    let msg = crate::backend::cause::cause(e);
    if e.is_timeout() {
        return ApiError::Unavailable(format!(
            "{} did not answer within {}s (timeout)",
            c.base,
            c.timeout.as_secs()
        ));
    }
    if e.is_decode() {
        return ApiError::Malformed(msg);
    }
    if e.is_connect() {
        return ApiError::Unreachable(format!("cannot reach {}: {msg}", c.base));
    }
    ApiError::Unavailable(format!("cannot reach {}: {msg}", c.base))
}
