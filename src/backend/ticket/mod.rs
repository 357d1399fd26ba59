//! Attaching the note to the ticket where the incident lives: one comment
//! per incident on a GitHub issue, a GitLab issue or a Jira issue, found
//! again and updated in place on later attaches (never a second one), with
//! the evidence files uploaded where the system takes files. The token
//! never leaves this module: not in an error, not in the note.

mod github;
mod gitlab;
mod jira;
pub mod layer;
mod token;

use crate::config::{TicketConfig, TicketSystem};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The issue a note goes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketRef {
    pub system: TicketSystem,
    /// The API's base, without a trailing slash.
    pub api: String,
    /// `owner/repo` (GitHub), `group/project` (GitLab), empty for Jira.
    pub project: String,
    /// The issue number (GitHub, GitLab's iid) or key (Jira).
    pub issue: String,
}

#[derive(Debug, thiserror::Error)]
pub enum TicketError {
    #[error("{0}")]
    BadRef(String),
    /// The note or an evidence file could not be read.
    #[error("{0}")]
    File(String),
    #[error("{0}")]
    NoToken(String),
    /// The system answered with an error status; the text says what to do.
    #[error("{0}")]
    Refused(String),
    #[error("{0}")]
    Unreachable(String),
    #[error("{0}")]
    Malformed(String),
}

pub use crate::core::action::Attached;

/// What the comment says, in the system's markup.
pub struct Body {
    pub text: String,
    /// Text only this incident's comment holds: how it is found again.
    pub key: String,
}

impl TicketRef {
    /// `https://github.com/o/r/issues/12`, `https://gitlab.example.com/g/p/-/issues/3`,
    /// `https://acme.atlassian.net/browse/OPS-7`, or with `[ticket] system`
    /// set: `o/r#12`, `g/p#3`, `OPS-7`.
    pub fn parse(s: &str, cfg: &TicketConfig) -> Result<TicketRef, TicketError> {
        let s = s.trim();
        if let Ok(u) = reqwest::Url::parse(s)
            && matches!(u.scheme(), "http" | "https")
        {
            return from_url(&u, cfg);
        }
        let bad = |why: &str| TicketError::BadRef(format!("ticket `{s}`: {why}"));
        let system = cfg.system.ok_or_else(|| {
            bad("give the issue's URL, or set [ticket] system = \"github\" | \"gitlab\" | \"jira\" in the config")
        })?;
        let api = |default: Option<&str>| {
            cfg.url
                .as_deref()
                .or(default)
                .map(|u| u.trim_end_matches('/').to_string())
                .ok_or_else(|| bad("Jira needs [ticket] url (e.g. https://acme.atlassian.net)"))
        };
        match system {
            TicketSystem::Jira => {
                if !is_jira_key(s) {
                    return Err(bad("expected a Jira issue key like OPS-7"));
                }
                Ok(TicketRef {
                    system,
                    api: api(None)?,
                    project: String::new(),
                    issue: s.to_string(),
                })
            }
            TicketSystem::Github | TicketSystem::Gitlab => {
                let (project, n) = s
                    .rsplit_once('#')
                    .filter(|(p, n)| {
                        p.contains('/') && !n.is_empty() && n.chars().all(|c| c.is_ascii_digit())
                    })
                    .ok_or_else(|| bad("expected owner/repo#number"))?;
                let default = if system == TicketSystem::Github {
                    "https://api.github.com"
                } else {
                    "https://gitlab.com"
                };
                Ok(TicketRef {
                    system,
                    api: api(Some(default))?,
                    project: project.to_string(),
                    issue: n.to_string(),
                })
            }
        }
    }

    /// How the note names it: `GitHub acme/shop#12`, `Jira OPS-7`.
    pub fn label(&self) -> String {
        match self.system {
            TicketSystem::Jira => format!("Jira {}", self.issue),
            s => format!("{} {}#{}", s.label(), self.project, self.issue),
        }
    }
}

fn is_jira_key(s: &str) -> bool {
    s.split_once('-').is_some_and(|(p, n)| {
        !p.is_empty()
            && p.chars().next().is_some_and(|c| c.is_ascii_uppercase())
            && p.chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
            && !n.is_empty()
            && n.chars().all(|c| c.is_ascii_digit())
    })
}

fn from_url(u: &reqwest::Url, cfg: &TicketConfig) -> Result<TicketRef, TicketError> {
    let path: Vec<&str> = u
        .path_segments()
        .map(|p| p.filter(|s| !s.is_empty()).collect())
        .unwrap_or_default();
    let origin = u.origin().ascii_serialization();
    let bad = || {
        TicketError::BadRef(format!(
            "ticket {u}: not an issue URL of GitHub (…/owner/repo/issues/N), GitLab (…/group/project/-/issues/N) or Jira (…/browse/KEY-N)"
        ))
    };
    // Jira: <base>/browse/KEY-N (a server may live under a context path).
    if let Some(i) = path.iter().position(|s| *s == "browse")
        && let Some(key) = path.get(i + 1).filter(|k| is_jira_key(k))
    {
        let base = format!(
            "{origin}{}",
            path[..i]
                .iter()
                .map(|s| format!("/{s}"))
                .collect::<String>()
        );
        return Ok(TicketRef {
            system: TicketSystem::Jira,
            api: base,
            project: String::new(),
            issue: key.to_string(),
        });
    }
    // GitLab: <base>/group/…/project/-/issues/N
    if let Some(i) = path.iter().position(|s| *s == "-")
        && path.get(i + 1) == Some(&"issues")
        && let Some(n) = path
            .get(i + 2)
            .filter(|n| n.chars().all(|c| c.is_ascii_digit()))
        && i >= 2
    {
        let api = match (cfg.system, cfg.url.as_deref()) {
            (Some(TicketSystem::Gitlab), Some(url)) => url.trim_end_matches('/').to_string(),
            _ => origin,
        };
        return Ok(TicketRef {
            system: TicketSystem::Gitlab,
            api,
            project: path[..i].join("/"),
            issue: n.to_string(),
        });
    }
    // GitHub: <host>/owner/repo/issues/N; github.com's API is api.github.com,
    // an Enterprise server's is named in [ticket] url (…/api/v3).
    if let [owner, repo, "issues", n] = path[..]
        && n.chars().all(|c| c.is_ascii_digit())
    {
        let api = match (u.host_str(), cfg.system, cfg.url.as_deref()) {
            (Some("github.com"), _, _) => "https://api.github.com".to_string(),
            (_, Some(TicketSystem::Github), Some(url)) => url.trim_end_matches('/').to_string(),
            _ => format!("{origin}/api/v3"),
        };
        return Ok(TicketRef {
            system: TicketSystem::Github,
            api,
            project: format!("{owner}/{repo}"),
            issue: n.to_string(),
        });
    }
    Err(bad())
}

/// The HTTP side: the client, the token, and how answers become errors.
pub struct Client {
    http: reqwest::Client,
    auth: token::Auth,
    pub r: TicketRef,
    /// How long a 429's Retry-After may be waited out (once).
    pub max_wait: Duration,
}

/// An answer read whole.
struct Answer {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: String,
}

impl Answer {
    fn json(&self, what: &str) -> Result<serde_json::Value, TicketError> {
        serde_json::from_str(&self.body).map_err(|e| {
            TicketError::Malformed(format!("{what}: the answer is not the JSON expected ({e})"))
        })
    }
}

impl Client {
    pub fn new(r: TicketRef) -> Result<Client, TicketError> {
        let auth = token::find(&r)?;
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(20))
            .user_agent(concat!("rbtui/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| TicketError::Unreachable(format!("cannot build the HTTP client: {e}")))?;
        Ok(Client {
            http,
            auth,
            r,
            max_wait: Duration::from_secs(30),
        })
    }

    /// Posts the note as the incident's comment, or updates the one posted
    /// before (`known`, from the note; else found by `body.key`).
    async fn attach(
        &self,
        body: Body,
        known: Option<&str>,
        evidence: &[PathBuf],
    ) -> Result<Attached, TicketError> {
        match self.r.system {
            TicketSystem::Github => github::attach(self, body, known, evidence).await,
            TicketSystem::Gitlab => gitlab::attach(self, body, known, evidence).await,
            TicketSystem::Jira => jira::attach(self, body, known, evidence).await,
        }
    }

    /// The note file as the incident's comment: the comment the note
    /// recorded for this ticket is updated, else the one found by its key,
    /// else a new one is posted; the evidence it names goes with it.
    pub async fn attach_file(&self, note: &Path) -> Result<Attached, TicketError> {
        let text = crate::files::read_text(note, "the note", crate::files::NOTE_CAP)
            .map_err(TicketError::File)?;
        let x = crate::note::export::read(&text);
        if x.entries.is_empty() {
            return Err(TicketError::File(format!(
                "{} has no timeline entries (not an rbtui note, or nothing recorded yet)",
                note.display()
            )));
        }
        let label = self.r.label();
        let known = crate::note::resume::markers(&text)
            .into_iter()
            .rev()
            .find_map(|m| match m.marker {
                crate::core::entry::Marker::Attached {
                    ticket, comment, ..
                } if ticket == label => Some(comment),
                _ => None,
            });
        let body = body(&x, self.r.system);
        let files = files(note, &x, self.r.system);
        self.attach(body, known.as_deref(), &files).await
    }

    /// A new comment (a status message); its URL.
    pub async fn comment(&self, text: &str) -> Result<String, TicketError> {
        let text = crate::core::redact::redact(text);
        match self.r.system {
            TicketSystem::Github => github::post(self, &text).await,
            TicketSystem::Gitlab => gitlab::post(self, &text).await,
            TicketSystem::Jira => jira::post(self, &text).await,
        }
    }

    /// One request (made again by `make` for a retry); a 429 with a
    /// Retry-After within `max_wait` is waited out once. Any answer other
    /// than 2xx (and 404 where `missing_ok`) is an error naming `what`.
    async fn send(
        &self,
        what: &str,
        missing_ok: bool,
        make: impl Fn() -> Result<reqwest::RequestBuilder, TicketError>,
    ) -> Result<Answer, TicketError> {
        let mut waited = false;
        loop {
            let resp = self.auth.apply(make()?).send().await.map_err(|e| {
                TicketError::Unreachable(format!(
                    "{} did not answer ({what}): {}",
                    self.r.system.label(),
                    super::cause::cause(&e.without_url())
                ))
            })?;
            let status = resp.status().as_u16();
            let headers = resp.headers().clone();
            let body = resp.text().await.unwrap_or_default();
            let wait = retry_after(&headers);
            match status {
                200..=299 => {
                    return Ok(Answer {
                        status,
                        headers,
                        body,
                    });
                }
                404 if missing_ok => {
                    return Ok(Answer {
                        status,
                        headers,
                        body,
                    });
                }
                429 | 403 if !waited && wait.is_some_and(|w| w <= self.max_wait) => {
                    waited = true;
                    tokio::time::sleep(wait.unwrap_or_default()).await;
                }
                _ => return Err(self.refused(status, &headers, &body, what)),
            }
        }
    }

    fn refused(
        &self,
        code: u16,
        headers: &reqwest::header::HeaderMap,
        body: &str,
        what: &str,
    ) -> TicketError {
        let sys = self.r.system.label();
        let said = crate::core::redact::redact(&said(body));
        let limited = code == 429
            || (code == 403
                && headers
                    .get("x-ratelimit-remaining")
                    .and_then(|v| v.to_str().ok())
                    == Some("0"));
        let m = match code {
            _ if limited => format!(
                "{sys} rate-limited {what} ({code}{}); try again {}",
                if said.is_empty() {
                    String::new()
                } else {
                    format!(" {said}")
                },
                retry_after(headers)
                    .map_or("later".to_string(), |w| format!("in {} s", w.as_secs()))
            ),
            401 => format!(
                "{sys} refused the token ({code} {said}): check that it is valid and not expired"
            ),
            403 => format!(
                "{sys} refused to {what} ({code} {said}): the token lacks the right (GitHub: issues write; GitLab: api scope, Reporter or more; Jira: Add comments/Create attachments)"
            ),
            404 => format!(
                "{sys} has no {} ({code} {said}): check the reference, or whether the token can see it",
                self.r.label()
            ),
            413 => format!("{sys} refused {what} as too large ({code})"),
            _ => format!("{sys} answered {code} to {what}: {said}"),
        };
        TicketError::Refused(m.replace("  ", " ").replace(" )", ")"))
    }
}

/// A 429's (or a GitHub secondary limit's) `Retry-After`, in seconds.
fn retry_after(h: &reqwest::header::HeaderMap) -> Option<Duration> {
    h.get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse::<u64>()
        .ok()
        .map(Duration::from_secs)
}

/// What an error body says: GitHub's and GitLab's `message` (GitLab's
/// `error`), Jira's `errorMessages` and `errors`; else its first 200
/// characters.
fn said(body: &str) -> String {
    let v: serde_json::Value = serde_json::from_str(body).unwrap_or_default();
    let mut parts: Vec<String> = Vec::new();
    for k in ["message", "error"] {
        match &v[k] {
            serde_json::Value::String(s) => parts.push(s.clone()),
            serde_json::Value::Null => {}
            other => parts.push(other.to_string()),
        }
    }
    if let Some(a) = v["errorMessages"].as_array() {
        parts.extend(a.iter().filter_map(|m| m.as_str().map(str::to_string)));
    }
    if let Some(o) = v["errors"].as_object() {
        parts.extend(
            o.iter()
                .map(|(k, m)| format!("{k}: {}", m.as_str().unwrap_or_default())),
        );
    }
    let text = if parts.is_empty() {
        body.trim().to_string()
    } else {
        parts.join("; ")
    };
    text.chars().take(200).collect()
}

/// Cuts `text` to `limit` characters at an entry's start, saying so:
/// the summary and the first entries stay, the note has the rest.
pub fn fit(text: &str, limit: usize, entry_start: &str, note: &str) -> (String, bool) {
    if text.chars().count() <= limit {
        return (text.to_string(), false);
    }
    let tail = format!(
        "\n\n… the timeline is cut here to fit the comment size limit ({limit} characters); the whole of it is in the note {note}.\n"
    );
    let room = limit.saturating_sub(tail.chars().count());
    let end = text.char_indices().nth(room).map_or(text.len(), |(i, _)| i);
    let cut = text[..end].rfind(entry_start).unwrap_or(end);
    (format!("{}{tail}", &text[..cut]), true)
}

/// A comment's id as the systems give it: a number (GitHub, GitLab) or a
/// string (Jira).
fn id_of(v: &serde_json::Value) -> String {
    v["id"]
        .as_str()
        .map(str::to_string)
        .or_else(|| v["id"].as_u64().map(|i| i.to_string()))
        .unwrap_or_default()
}

/// The comment in a page whose body carries the incident's key.
fn keyed<'v>(page: &'v serde_json::Value, key: &str) -> Option<&'v serde_json::Value> {
    page.as_array()?
        .iter()
        .find(|m| m["body"].as_str().is_some_and(|b| b.contains(key)))
}

/// File name and bytes of an evidence file.
fn read_file(p: &std::path::Path) -> Result<(String, Vec<u8>), TicketError> {
    let name = p
        .file_name()
        .unwrap_or_default()
        .to_string_lossy()
        .to_string();
    let bytes = std::fs::read(p)
        .map_err(|e| TicketError::File(format!("evidence {}: {e}", p.display())))?;
    Ok((name, bytes))
}

/// The comment: a GitHub/GitLab Markdown comment opens with a hidden key
/// (an HTML comment both hide); Jira's is found by its title line.
fn body(x: &crate::note::export::Export, system: TicketSystem) -> Body {
    let id = x.incident.as_deref().unwrap_or("(no id)");
    let (text, key) = match system {
        TicketSystem::Jira => {
            let text = crate::note::formats::jira(x);
            let key = text
                .lines()
                .next()
                .unwrap_or_default()
                .trim_start_matches("h3. ")
                .to_string();
            (text, key)
        }
        _ => {
            let key = format!("<!-- rbtui-incident: {id} -->");
            (format!("{key}\n{}", crate::note::formats::markdown(x)), key)
        }
    };
    Body {
        text: crate::core::redact::redact(&text),
        key,
    }
}

/// The evidence files the note names (beside it), and for Jira the note
/// itself; each once, only those that exist.
fn files(note: &Path, x: &crate::note::export::Export, system: TicketSystem) -> Vec<PathBuf> {
    let dir = note.parent().unwrap_or(Path::new(""));
    let mut out: Vec<PathBuf> = Vec::new();
    if system == TicketSystem::Jira {
        out.push(note.to_path_buf());
    }
    for p in x.entries.iter().flat_map(|e| e.evidence.iter()) {
        let p = if Path::new(p).is_absolute() {
            PathBuf::from(p)
        } else {
            dir.join(p)
        };
        if p.is_file() && !out.contains(&p) {
            out.push(p);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(system: Option<TicketSystem>, url: Option<&str>) -> TicketConfig {
        TicketConfig {
            system,
            url: url.map(str::to_string),
            issue: None,
        }
    }

    #[test]
    fn references_read_as_each_system_writes_them() {
        let none = cfg(None, None);
        let r = TicketRef::parse("https://github.com/acme/shop/issues/12", &none).unwrap();
        assert_eq!(
            (r.api.as_str(), r.project.as_str(), r.issue.as_str()),
            ("https://api.github.com", "acme/shop", "12")
        );
        let r = TicketRef::parse(
            "https://gitlab.example.com/ops/shop/checkout/-/issues/3",
            &none,
        )
        .unwrap();
        assert_eq!(
            (r.system, r.api.as_str(), r.project.as_str()),
            (
                TicketSystem::Gitlab,
                "https://gitlab.example.com",
                "ops/shop/checkout"
            )
        );
        let r = TicketRef::parse("https://jira.acme.net/jira/browse/OPS-7", &none).unwrap();
        assert_eq!(
            (r.system, r.api.as_str(), r.issue.as_str()),
            (TicketSystem::Jira, "https://jira.acme.net/jira", "OPS-7")
        );
        let ghe = cfg(
            Some(TicketSystem::Github),
            Some("https://ghe.acme.net/api/v3/"),
        );
        assert_eq!(
            TicketRef::parse("acme/shop#9", &ghe).unwrap().api,
            "https://ghe.acme.net/api/v3"
        );
        assert_eq!(
            TicketRef::parse("https://ghe.acme.net/acme/shop/issues/9", &none)
                .unwrap()
                .api,
            "https://ghe.acme.net/api/v3"
        );
        assert!(
            TicketRef::parse("acme/shop#9", &none)
                .unwrap_err()
                .to_string()
                .contains("[ticket] system")
        );
        assert!(
            TicketRef::parse("OPS-7", &cfg(Some(TicketSystem::Jira), None))
                .unwrap_err()
                .to_string()
                .contains("[ticket] url")
        );
        assert!(
            TicketRef::parse("ops-7", &cfg(Some(TicketSystem::Jira), Some("https://x"))).is_err()
        );
        assert!(TicketRef::parse("https://example.com/a/b", &none).is_err());
    }

    #[test]
    fn a_long_timeline_is_cut_at_an_entry_and_says_so() {
        let text = format!(
            "summary\n{}",
            (0..100)
                .map(|i| format!("- `0{i}` entry\n"))
                .collect::<String>()
        );
        let (cut, was) = fit(&text, 300, "\n- `", "n.md");
        assert!(was && cut.chars().count() <= 300, "{cut}");
        assert!(cut.starts_with("summary\n- `00` entry"));
        assert!(cut.contains("the whole of it is in the note n.md"));
        assert_eq!(fit("short", 300, "\n- `", "n.md"), ("short".into(), false));
    }
}
