//! Where the ticket system's token comes from: the environment, or for
//! GitHub the `gh` CLI's own login (`hosts.yml`), as `gh` users have it.
//! Kept secret: applied to a request, never formatted.

use super::{TicketError, TicketRef};
use crate::config::TicketSystem;
use secrecy::{ExposeSecret, SecretString};

pub enum Auth {
    /// `Authorization: Bearer` (GitHub, a Jira Server/DC personal token).
    Bearer(SecretString),
    /// GitLab's `PRIVATE-TOKEN` header.
    Private(SecretString),
    /// Jira Cloud: the account's email and an API token, as Basic auth.
    Basic(String, SecretString),
}

impl Auth {
    pub fn apply(&self, r: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match self {
            Auth::Bearer(t) => r.bearer_auth(t.expose_secret()),
            Auth::Private(t) => r.header("PRIVATE-TOKEN", t.expose_secret()),
            Auth::Basic(u, t) => r.basic_auth(u, Some(t.expose_secret())),
        }
    }
}

fn env(k: &str) -> Option<SecretString> {
    std::env::var(k)
        .ok()
        .filter(|v| !v.trim().is_empty())
        .map(|v| v.trim().to_string().into())
}

pub fn find(r: &TicketRef) -> Result<Auth, TicketError> {
    match r.system {
        TicketSystem::Github => {
            let host = web_host(&r.api);
            let from_env = if host == "github.com" {
                env("GITHUB_TOKEN").or_else(|| env("GH_TOKEN"))
            } else {
                env("GH_ENTERPRISE_TOKEN").or_else(|| env("GITHUB_TOKEN"))
            };
            from_env.or_else(|| gh_hosts(&host)).map(Auth::Bearer).ok_or_else(|| {
                TicketError::NoToken(format!(
                    "no GitHub token for {host}: set GITHUB_TOKEN (a token that may write issues), or log in with `gh auth login`"
                ))
            })
        }
        TicketSystem::Gitlab => env("GITLAB_TOKEN").map(Auth::Private).ok_or_else(|| {
            TicketError::NoToken("no GitLab token: set GITLAB_TOKEN (a personal or project access token with the api scope)".into())
        }),
        TicketSystem::Jira => match (std::env::var("JIRA_USER").ok(), env("JIRA_API_TOKEN"), env("JIRA_PAT")) {
            (Some(u), Some(t), _) if !u.trim().is_empty() => Ok(Auth::Basic(u.trim().to_string(), t)),
            (_, _, Some(p)) => Ok(Auth::Bearer(p)),
            _ => Err(TicketError::NoToken(
                "no Jira credentials: set JIRA_USER and JIRA_API_TOKEN (Jira Cloud), or JIRA_PAT (a Server/Data Center personal access token)".into(),
            )),
        },
    }
}

/// The host users log in to: `api.github.com` is github.com's API, an
/// Enterprise server's is on its own host.
fn web_host(api: &str) -> String {
    let host = reqwest::Url::parse(api)
        .ok()
        .and_then(|u| u.host_str().map(str::to_string))
        .unwrap_or_default();
    if host == "api.github.com" {
        "github.com".into()
    } else {
        host
    }
}

/// `oauth_token` under the host in `gh`'s `hosts.yml` (`$GH_CONFIG_DIR`,
/// else `$XDG_CONFIG_HOME/gh`, else `~/.config/gh`). A `gh` that keeps its
/// token in the system keyring has none there: then `GITHUB_TOKEN` it is.
fn gh_hosts(host: &str) -> Option<SecretString> {
    let dir = std::env::var_os("GH_CONFIG_DIR")
        .map(std::path::PathBuf::from)
        .or_else(|| {
            std::env::var_os("XDG_CONFIG_HOME").map(|x| std::path::PathBuf::from(x).join("gh"))
        })
        .or_else(|| {
            std::env::var_os("HOME").map(|h| std::path::PathBuf::from(h).join(".config/gh"))
        })?;
    let text = std::fs::read_to_string(dir.join("hosts.yml")).ok()?;
    token_in(&text, host).map(SecretString::from)
}

fn token_in(yaml: &str, host: &str) -> Option<String> {
    let mut in_host = false;
    for line in yaml.lines() {
        if !line.starts_with(' ') && !line.trim().is_empty() {
            in_host = line.trim_end().trim_end_matches(':').trim_matches('"') == host;
            continue;
        }
        if in_host && let Some(v) = line.trim().strip_prefix("oauth_token:") {
            let v = v.trim().trim_matches('"').trim_matches('\'');
            return (!v.is_empty()).then(|| v.to_string());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    #[test]
    fn ghs_hosts_file_gives_the_token_of_the_host_asked() {
        let yaml = "github.com:\n    users:\n        ana:\n            oauth_token: gho_aaa\n    git_protocol: https\n    oauth_token: gho_aaa\n    user: ana\nghe.acme.net:\n    oauth_token: \"gho_bbb\"\n";
        assert_eq!(
            super::token_in(yaml, "github.com").as_deref(),
            Some("gho_aaa")
        );
        assert_eq!(
            super::token_in(yaml, "ghe.acme.net").as_deref(),
            Some("gho_bbb")
        );
        assert_eq!(super::token_in(yaml, "other"), None);
        assert_eq!(super::web_host("https://api.github.com"), "github.com");
    }
}
