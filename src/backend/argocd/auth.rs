//! Where the Argo CD token comes from: `ARGOCD_AUTH_TOKEN`, or the `argocd`
//! CLI's own login. The token is kept in memory and never printed.

use serde::Deserialize;
use std::path::PathBuf;

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
struct CliConfig {
    contexts: Vec<CliContext>,
    #[serde(rename = "current-context")]
    current_context: String,
    users: Vec<CliUser>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
struct CliContext {
    name: String,
    server: String,
    user: String,
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
struct CliUser {
    name: String,
    #[serde(rename = "auth-token")]
    auth_token: String,
}

/// A bearer token that prints as `[REDACTED]` in any `{:?}` and is wiped
/// from memory when dropped (`secrecy`).
#[derive(Clone)]
pub struct Token(secrecy::SecretString, String);

impl Token {
    pub fn new(s: String) -> Token {
        Token(s.into(), "given".into())
    }
    /// A token and where it was found (`rbtui check` says so).
    pub fn found(s: String, from: String) -> Token {
        Token(s.into(), from)
    }
    pub fn expose(&self) -> &str {
        use secrecy::ExposeSecret;
        self.0.expose_secret()
    }
    /// Where it came from: `ARGOCD_AUTH_TOKEN`, or the CLI config's path.
    pub fn from(&self) -> &str {
        &self.1
    }
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token([REDACTED])")
    }
}

/// The CLI config locations, in the order the `argocd` CLI uses them.
pub fn cli_config_paths() -> Vec<PathBuf> {
    let mut v = Vec::new();
    if let Some(d) = std::env::var_os("ARGOCD_CONFIG_DIR") {
        v.push(PathBuf::from(d).join("config"));
    }
    let home = std::env::var_os("HOME").map(PathBuf::from);
    if let Some(h) = &home {
        v.push(h.join(".argocd").join("config"));
    }
    if let Some(x) = std::env::var_os("XDG_CONFIG_HOME") {
        v.push(PathBuf::from(x).join("argocd").join("config"));
    }
    if let Some(h) = &home {
        v.push(h.join(".config").join("argocd").join("config"));
    }
    v
}

/// Finds a token for `server` (host[:port], scheme ignored).
pub fn token_for(server: &str) -> Result<Token, crate::setup_error::SetupError> {
    if let Ok(t) = std::env::var("ARGOCD_AUTH_TOKEN") {
        if !t.trim().is_empty() {
            return Ok(Token::found(
                t.trim().to_string(),
                "ARGOCD_AUTH_TOKEN".into(),
            ));
        }
    }
    let host = strip_scheme(server);
    for p in cli_config_paths() {
        let Ok(text) = std::fs::read_to_string(&p) else {
            continue;
        };
        if let Some(t) = token_from_cli_config(&text, host) {
            return Ok(Token::found(t, format!("argocd login's {}", p.display())));
        }
    }
    Err(crate::setup_error::SetupError::NoToken {
        host: host.to_string(),
        looked_in: cli_config_paths()
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(", "),
    })
}

pub fn strip_scheme(s: &str) -> &str {
    s.trim_start_matches("https://")
        .trim_start_matches("http://")
        .trim_end_matches('/')
}

/// The token of the context whose server is `host`, else of the current context.
pub fn token_from_cli_config(text: &str, host: &str) -> Option<String> {
    let c: CliConfig = serde_yaml_ng::from_str(text).ok()?;
    let ctx = c
        .contexts
        .iter()
        .find(|x| strip_scheme(&x.server) == host)
        .or_else(|| c.contexts.iter().find(|x| x.name == c.current_context))?;
    c.users
        .iter()
        .find(|u| u.name == ctx.user)
        .map(|u| u.auth_token.clone())
        .filter(|t| !t.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_cli_login_for_the_right_server() {
        let y = "contexts:\n- name: a\n  server: argocd.a.net\n  user: a\n- name: b\n  server: argocd.b.net:8443\n  user: b\ncurrent-context: a\nservers:\n- server: argocd.a.net\nusers:\n- auth-token: tok-a\n  name: a\n- auth-token: tok-b\n  name: b\n";
        assert_eq!(
            token_from_cli_config(y, "argocd.b.net:8443").as_deref(),
            Some("tok-b")
        );
        assert_eq!(token_from_cli_config(y, "other").as_deref(), Some("tok-a"));
        assert_eq!(
            format!("{:?}", Token::new("secret".into())),
            "Token([REDACTED])"
        );
    }
}
