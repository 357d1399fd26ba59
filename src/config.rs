//! The TOML config. Errors name file:line:column and what is wrong, and are
//! reported before the terminal is taken over.

use crate::core::verdict::Thresholds;
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// Which backend serves a target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TargetKind {
    Argocd,
    Kubernetes,
    Swarm,
    Compose,
    Demo,
}

/// One `[[target]]`. Kind-specific fields are optional here and checked by
/// the backend that owns the kind; unknown keys are errors (typos hide).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetConfig {
    pub name: String,
    pub kind: TargetKind,
    #[serde(default = "default_env")]
    pub environment: String,
    /// kubernetes: kube context (default: the kubeconfig's current one).
    pub context: Option<String>,
    /// kubernetes: namespace.
    pub namespace: Option<String>,
    /// kubernetes: Deployment name.
    pub deployment: Option<String>,
    /// kubernetes / argocd: label selector instead of one name.
    pub selector: Option<String>,
    /// argocd: server URL (default `$ARGOCD_SERVER`).
    pub server: Option<String>,
    /// argocd: application name.
    pub app: Option<String>,
    pub app_namespace: Option<String>,
    /// argocd project, or compose project.
    pub project: Option<String>,
    #[serde(default)]
    pub insecure: bool,
    pub ca_file: Option<PathBuf>,
    /// swarm / compose: engine address (default `$DOCKER_HOST`).
    pub docker_host: Option<String>,
    /// Migration checks: a local git checkout of the service's code.
    pub repo: Option<PathBuf>,
    /// Path globs of migration files (default: Flyway, golang-migrate, dbmate…).
    pub migrations: Option<Vec<String>>,
    /// How an image tag names its commit, e.g. `["git-{sha}", "v*-{sha}"]`.
    pub sha_from_tag: Option<Vec<String>>,
}

fn default_env() -> String {
    "unspecified".into()
}

/// Session-wide settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    /// Tags that move and so cannot identify a build.
    pub mutable_tags: Vec<String>,
    pub rollout_timeout_secs: i64,
    pub verify_window_secs: i64,
    /// Where notes go when `--note` is not given.
    pub note_dir: PathBuf,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            mutable_tags: crate::core::plan::DEFAULT_MUTABLE_TAGS.iter().map(|s| s.to_string()).collect(),
            rollout_timeout_secs: 300,
            verify_window_secs: 120,
            note_dir: PathBuf::from("incidents"),
        }
    }
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub settings: Settings,
    #[serde(default)]
    pub thresholds: Thresholds,
    #[serde(default, rename = "target")]
    pub targets: Vec<TargetConfig>,
    /// Where it was read from, for runbook overrides next to it.
    #[serde(skip)]
    pub dir: Option<PathBuf>,
}

/// `path:line:col: message`, from a toml error's byte span.
pub fn toml_error(origin: &str, text: &str, e: &toml::de::Error) -> String {
    let msg = e.message().trim().to_string();
    match e.span() {
        Some(sp) => {
            let (line, col) = line_col(text, sp.start);
            format!("{origin}:{line}:{col}: {msg}")
        }
        None => format!("{origin}: {msg}"),
    }
}

fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map(|l| l.chars().count()).unwrap_or(0) + 1;
    (line, col)
}

impl Config {
    pub fn parse(origin: &str, text: &str) -> Result<Config, String> {
        let mut c: Config = toml::from_str(text).map_err(|e| toml_error(origin, text, &e))?;
        let mut seen = std::collections::HashSet::new();
        for t in &c.targets {
            if t.name.trim().is_empty() {
                return Err(format!("{origin}: a target has an empty name"));
            }
            if !seen.insert(t.name.clone()) {
                let (l, col) = text.find(&format!("\"{}\"", t.name)).map(|o| line_col(text, o)).unwrap_or((0, 0));
                return Err(format!("{origin}:{l}:{col}: duplicate target name `{}`", t.name));
            }
        }
        if c.settings.rollout_timeout_secs <= 0 || c.settings.verify_window_secs < 0 {
            return Err(format!("{origin}: settings.rollout_timeout_secs must be > 0 and verify_window_secs >= 0"));
        }
        c.dir = Path::new(origin).parent().map(Path::to_path_buf);
        Ok(c)
    }

    pub fn load(path: &Path) -> Result<Config, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
        Config::parse(&path.display().to_string(), &text)
    }

    /// `--config`, else `./rbtui.toml`, else `$XDG_CONFIG_HOME/rbtui/config.toml`.
    pub fn locate(explicit: Option<&Path>) -> Option<PathBuf> {
        if let Some(p) = explicit {
            return Some(p.to_path_buf());
        }
        let local = PathBuf::from("rbtui.toml");
        if local.exists() {
            return Some(local);
        }
        let xdg = std::env::var_os("XDG_CONFIG_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))?;
        let p = xdg.join("rbtui").join("config.toml");
        p.exists().then_some(p)
    }
}

/// Printed when no config is found.
pub const HOW_TO: &str = r#"rbtui: no config found (looked at --config, ./rbtui.toml, $XDG_CONFIG_HOME/rbtui/config.toml).

Try the embedded demo first:   rbtui demo

A minimal config (./rbtui.toml):

    [[target]]
    name = "checkout"
    kind = "demo"            # argocd | kubernetes | swarm | compose | demo
    environment = "prod"

See README.md, "Configuration", for every field."#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_config_names_line_and_column() {
        let e = Config::parse("rbtui.toml", "[[target]]\nname = \"a\"\nkind = \"demo\"\nenvironment = prod\n").unwrap_err();
        assert!(e.starts_with("rbtui.toml:4:15:"), "{e}");
    }

    #[test]
    fn unknown_kind_is_a_clear_error() {
        let e = Config::parse("c.toml", "[[target]]\nname = \"a\"\nkind = \"nomad\"\n").unwrap_err();
        assert!(e.starts_with("c.toml:3:8:"), "{e}");
        assert!(e.contains("unknown variant `nomad`"), "{e}");
        assert!(e.contains("argocd"), "{e}");
    }

    #[test]
    fn typos_in_keys_are_errors_and_names_are_unique() {
        let e = Config::parse("c.toml", "[[target]]\nname = \"a\"\nkind = \"demo\"\nenviroment = \"prod\"\n").unwrap_err();
        assert!(e.contains("c.toml:4:1") && e.contains("enviroment"), "{e}");
        let e = Config::parse("c.toml", "[[target]]\nname = \"a\"\nkind = \"demo\"\n[[target]]\nname = \"a\"\nkind = \"demo\"\n").unwrap_err();
        assert!(e.contains("duplicate target name `a`"), "{e}");
    }
}
