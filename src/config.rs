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
    /// `prod = true` makes any environment prod (loud, typed confirms, never
    /// touched in rehearsal). `false` cannot make a prod-named one otherwise.
    pub prod: Option<bool>,
    /// kubernetes: kube context (default: the kubeconfig's current one).
    pub context: Option<String>,
    /// kubernetes: namespace.
    pub namespace: Option<String>,
    /// kubernetes: Deployment name.
    pub deployment: Option<String>,
    /// kubernetes / argocd: label selector instead of one name.
    pub selector: Option<String>,
    /// argocd selector: the label (or annotation) holding each app's
    /// environment (`env`); apps without it take `environment`.
    pub environment_label: Option<String>,
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
    /// swarm / compose: the service name (default: `name`).
    pub service: Option<String>,
    /// compose: the live manifest file swapped as a pair with the image, and
    /// the per-version files it is restored from (`{tag}` is replaced).
    pub manifest: Option<PathBuf>,
    pub manifest_versions: Option<String>,
    /// compose: the project's files, when the containers' labels name none
    /// reachable here (default: `com.docker.compose.project.config_files`).
    pub compose_files: Option<Vec<PathBuf>>,
    /// compose: the variable the compose file reads the image version from
    /// (`image: shop/web:${WEB_VERSION}`); with it the rollback pins the
    /// version in the env file and runs `docker compose up -d --no-build`.
    pub version_var: Option<String>,
    /// compose: the env file holding `version_var` (default: `.env` in the
    /// project directory).
    pub env_file: Option<PathBuf>,
    /// The IaC tool that declares this target's image (`pulumi`), its
    /// stack and the config key holding the tag: the checklist then asks to
    /// align it (`pulumi config set <key> <good tag> --stack <stack>`).
    pub iac: Option<String>,
    pub iac_stack: Option<String>,
    pub iac_key: Option<String>,
    /// Ask the image registry before the confirm: the target revision's
    /// tag exists, what it resolves to now vs the digest that ran, and how
    /// many releases the repository retains. Credentials from
    /// `~/.docker/config.json` (`docker login`), else anonymous.
    #[serde(default)]
    pub registry: bool,
    /// Migration checks: a local git checkout of the service's code.
    pub repo: Option<PathBuf>,
    /// Path globs of migration files (default: Flyway, golang-migrate, dbmate…).
    pub migrations: Option<Vec<String>>,
    /// How an image tag names its commit, e.g. `["git-{sha}", "v*-{sha}"]`.
    pub sha_from_tag: Option<Vec<String>>,
    /// HTTP health probes (`[[target.probe]]`).
    #[serde(default)]
    pub probe: Vec<ProbeConfig>,
    /// Prometheus-compatible metrics (`[target.prometheus]`).
    pub prometheus: Option<PrometheusConfig>,
}

/// One HTTP health probe.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProbeConfig {
    pub name: Option<String>,
    pub url: String,
    /// Accepted status codes (default: any 2xx).
    pub expect_status: Option<Vec<u16>>,
    pub body_contains: Option<String>,
    /// A JSON pointer into the body (`/status`) and the text it must equal.
    pub json_pointer: Option<String>,
    pub json_equals: Option<String>,
    #[serde(default = "default_probe_timeout")]
    pub timeout_ms: u64,
    #[serde(default = "default_probe_interval")]
    pub interval_secs: u64,
    /// Extra headers; a value `env:NAME` is read from the environment, so
    /// secrets stay out of the config, the note and the logs.
    #[serde(default)]
    pub headers: std::collections::BTreeMap<String, String>,
}

fn default_probe_timeout() -> u64 {
    2000
}
fn default_probe_interval() -> u64 {
    10
}

/// A Prometheus-compatible HTTP API and the queries judged on it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrometheusConfig {
    /// Base URL, e.g. `http://prometheus:9090`.
    pub url: String,
    /// Environment variable holding a bearer token.
    pub bearer_token_env: Option<String>,
    /// Environment variables holding user and password for basic auth.
    pub basic_auth_env: Option<[String; 2]>,
    /// Value of the `service` label in the default queries (default: the target name).
    pub service: Option<String>,
    #[serde(default = "default_prom_interval")]
    pub interval_secs: u64,
    /// Prometheus's scrape interval for the service: a rate window is
    /// never shorter than four of them (fewer samples make a noisy rate).
    #[serde(default = "default_scrape_interval")]
    pub scrape_interval_secs: u64,
    #[serde(default = "default_probe_timeout")]
    pub timeout_ms: u64,
    /// Named queries; when empty, the defaults (error_rate, latency_p95).
    #[serde(default, rename = "query")]
    pub queries: Vec<QueryConfig>,
}

fn default_prom_interval() -> u64 {
    15
}

fn default_scrape_interval() -> u64 {
    15
}

/// A named PromQL query with its criterion (`> 5% for 5m`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueryConfig {
    /// `error_rate`, `latency_p95`, `latency_p99` get defaults; any other name needs `promql`.
    pub name: String,
    pub promql: Option<String>,
    pub criterion: Option<String>,
    /// The rate window (`1m`, `90s`): used in the default PromQL and in
    /// how long verification waits; for a custom `promql`, the window it
    /// uses (read from its `[…]` when not given).
    pub window: Option<String>,
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
    /// How long verification watches after convergence; when not set, at
    /// least 120 s and as long as the slowest metric criterion needs.
    pub verify_window_secs: Option<i64>,
    /// Where notes go when `--note` is not given; earlier notes there are
    /// read back (images deployed, when the runbook last worked).
    pub note_dir: PathBuf,
    /// A runbook not exercised for this many days is STALE (`rbtui drills`).
    pub drill_stale_after_days: i64,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            mutable_tags: crate::core::plan::DEFAULT_MUTABLE_TAGS
                .iter()
                .map(|s| s.to_string())
                .collect(),
            rollout_timeout_secs: 300,
            verify_window_secs: None,
            note_dir: PathBuf::from("incidents"),
            drill_stale_after_days: 90,
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

/// Larger than any real config; a guard against the wrong file.
pub const MAX_CONFIG_BYTES: u64 = 1024 * 1024;

/// Where `key = …` stands, inside `[table]` when given (else anywhere):
/// semantic errors get a position like parse errors do.
fn key_pos(text: &str, table: Option<&str>, key: &str) -> (usize, usize) {
    let start = table
        .and_then(|t| text.find(&format!("[{t}]")))
        .unwrap_or(0);
    let mut off = start;
    for line in text[start..].split_inclusive('\n') {
        let trimmed = line.trim_start();
        if let Some(rest) = trimmed.strip_prefix(key) {
            if rest.trim_start().starts_with('=') {
                let col = line.len() - trimmed.len();
                return line_col(text, off + col);
            }
        }
        off += line.len();
    }
    line_col(text, start)
}

/// Values the parser accepts but rbtui cannot use (NaN, negative, absurd).
fn check_ranges(origin: &str, text: &str, c: &Config) -> Result<(), String> {
    const DAY: i64 = 86_400;
    let th = &c.thresholds;
    let st = &c.settings;
    let fraction = |v: f64| v.is_finite() && (0.0..=1.0).contains(&v);
    let positive = |v: f64| v.is_finite() && v > 0.0;
    let checks: [(&str, &str, bool, &str); 8] = [
        (
            "thresholds",
            "error_rate",
            fraction(th.error_rate),
            "a fraction between 0 and 1 (0.05 is 5%)",
        ),
        (
            "thresholds",
            "error_rate_critical",
            fraction(th.error_rate_critical),
            "a fraction between 0 and 1",
        ),
        (
            "thresholds",
            "latency_p95_ms",
            positive(th.latency_p95_ms),
            "a number of milliseconds above 0",
        ),
        (
            "thresholds",
            "latency_factor",
            th.latency_factor.is_finite() && th.latency_factor >= 1.0,
            "a factor of at least 1",
        ),
        (
            "thresholds",
            "stale_after_secs",
            (1..=DAY).contains(&th.stale_after_secs),
            "between 1 and 86400 seconds",
        ),
        (
            "settings",
            "rollout_timeout_secs",
            (1..=DAY).contains(&st.rollout_timeout_secs),
            "between 1 and 86400 seconds",
        ),
        (
            "settings",
            "verify_window_secs",
            st.verify_window_secs.is_none_or(|v| (0..=DAY).contains(&v)),
            "between 0 and 86400 seconds",
        ),
        (
            "settings",
            "drill_stale_after_days",
            (1..=3650).contains(&st.drill_stale_after_days),
            "between 1 and 3650 days",
        ),
    ];
    for (table, key, ok, want) in checks {
        if !ok {
            let (l, col) = key_pos(text, Some(table), key);
            return Err(format!("{origin}:{l}:{col}: {table}.{key} must be {want}"));
        }
    }
    Ok(())
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
    let col = before
        .rsplit('\n')
        .next()
        .map(|l| l.chars().count())
        .unwrap_or(0)
        + 1;
    (line, col)
}

impl Config {
    pub fn parse(origin: &str, text: &str) -> Result<Config, String> {
        let mut c: Config = toml::from_str(text).map_err(|e| toml_error(origin, text, &e))?;
        let mut seen = std::collections::HashSet::new();
        for t in &c.targets {
            if t.name.trim().is_empty() {
                let (l, col) = key_pos(text, None, "name");
                return Err(format!("{origin}:{l}:{col}: a target has an empty name"));
            }
            if !seen.insert(t.name.clone()) {
                let (l, col) = text
                    .find(&format!("\"{}\"", t.name))
                    .map(|o| line_col(text, o))
                    .unwrap_or((0, 0));
                return Err(format!(
                    "{origin}:{l}:{col}: duplicate target name `{}`",
                    t.name
                ));
            }
        }
        for t in &c.targets {
            let crits = t
                .prometheus
                .iter()
                .flat_map(|p| p.queries.iter())
                .filter_map(|q| q.criterion.as_deref().map(|c| (q, c)));
            for (q, crit) in crits {
                crate::core::signals::parse_criterion(crit).map_err(|e| {
                    let (l, col) = text
                        .find(&format!("\"{crit}\""))
                        .map(|o| line_col(text, o))
                        .unwrap_or((0, 0));
                    format!(
                        "{origin}:{l}:{col}: target `{}`, query `{}`: {e}",
                        t.name, q.name
                    )
                })?;
            }
            let windows = t
                .prometheus
                .iter()
                .flat_map(|p| p.queries.iter())
                .filter_map(|q| q.window.as_deref().map(|w| (q, w)));
            for (q, w) in windows {
                match crate::core::signals::parse_duration(w) {
                    Ok(secs) if secs > 0 => {}
                    r => {
                        let (l, col) = text
                            .find(&format!("\"{w}\""))
                            .map(|o| line_col(text, o))
                            .unwrap_or((0, 0));
                        let e = r
                            .err()
                            .unwrap_or_else(|| "a window must be longer than 0s".into());
                        return Err(format!(
                            "{origin}:{l}:{col}: target `{}`, query `{}`: window {e}",
                            t.name, q.name
                        ));
                    }
                }
            }
            if let Some(q) = t
                .prometheus
                .iter()
                .flat_map(|p| p.queries.iter())
                .find(|q| q.promql.is_none() && !crate::backend::signals::is_builtin_query(&q.name))
            {
                let (l, col) = text
                    .find(&format!("\"{}\"", q.name))
                    .map(|o| line_col(text, o))
                    .unwrap_or((0, 0));
                return Err(format!(
                    "{origin}:{l}:{col}: target `{}`, query `{}` needs `promql` (only error_rate, latency_p95, latency_p99 have defaults)",
                    t.name, q.name
                ));
            }
        }
        check_ranges(origin, text, &c)?;
        for t in &mut c.targets {
            let named_prod = crate::core::model::is_prod_environment(&t.environment);
            match t.prod {
                Some(true) if !named_prod => {
                    t.environment = if t.environment == default_env() {
                        "prod".into()
                    } else {
                        format!("{} (prod)", t.environment)
                    };
                }
                Some(false) if named_prod => {
                    let (l, col) = text
                        .find(&format!("\"{}\"", t.name))
                        .map(|o| line_col(text, o))
                        .unwrap_or((0, 0));
                    return Err(format!(
                        "{origin}:{l}:{col}: target `{}`: environment `{}` is prod; `prod = false` cannot make it otherwise",
                        t.name, t.environment
                    ));
                }
                _ => {}
            }
        }
        c.dir = Path::new(origin).parent().map(Path::to_path_buf);
        c.resolve_paths();
        Ok(c)
    }

    /// Paths in a target are relative to the config file, like `repo`:
    /// the same config gives the same files from any working directory.
    fn resolve_paths(&mut self) {
        let Some(dir) = self.dir.clone().filter(|d| !d.as_os_str().is_empty()) else {
            return;
        };
        let rel = |p: &PathBuf| {
            if p.is_relative() {
                dir.join(p)
            } else {
                p.clone()
            }
        };
        for t in &mut self.targets {
            t.manifest = t.manifest.as_ref().map(rel);
            t.manifest_versions = t.manifest_versions.as_ref().map(|m| {
                let p = PathBuf::from(m);
                rel(&p).display().to_string()
            });
            t.compose_files = t
                .compose_files
                .as_ref()
                .map(|fs| fs.iter().map(rel).collect());
            t.env_file = t.env_file.as_ref().map(rel);
            t.repo = t.repo.as_ref().map(rel);
            t.ca_file = t.ca_file.as_ref().map(rel);
        }
    }

    /// Reads only a regular file of at most [`MAX_CONFIG_BYTES`]: a FIFO or
    /// `/dev/zero` passed by mistake must not hang or fill memory.
    pub fn load(path: &Path) -> Result<Config, String> {
        let origin = path.display().to_string();
        let meta = std::fs::metadata(path).map_err(|e| format!("{origin}: cannot read: {e}"))?;
        if !meta.is_file() {
            return Err(format!("{origin}: not a regular file"));
        }
        if meta.len() > MAX_CONFIG_BYTES {
            return Err(format!(
                "{origin}: {} bytes is too large for a config (at most {MAX_CONFIG_BYTES})",
                meta.len()
            ));
        }
        let bytes = std::fs::read(path).map_err(|e| format!("{origin}: cannot read: {e}"))?;
        let text = String::from_utf8(bytes).map_err(|e| {
            let at = e.utf8_error().valid_up_to();
            let (l, col) = line_col(&String::from_utf8_lossy(&e.into_bytes()[..at]), at);
            format!("{origin}:{l}:{col}: not UTF-8 text (byte {at})")
        })?;
        if text.trim().is_empty() {
            return Err(format!(
                "{origin}: the file is empty; it needs at least one [[target]] (see `rbtui --help` or the README)"
            ));
        }
        Config::parse(&origin, &text)
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
        let e = Config::parse(
            "rbtui.toml",
            "[[target]]\nname = \"a\"\nkind = \"demo\"\nenvironment = prod\n",
        )
        .unwrap_err();
        assert!(e.starts_with("rbtui.toml:4:15:"), "{e}");
    }

    #[test]
    fn unknown_kind_is_a_clear_error() {
        let e =
            Config::parse("c.toml", "[[target]]\nname = \"a\"\nkind = \"nomad\"\n").unwrap_err();
        assert!(e.starts_with("c.toml:3:8:"), "{e}");
        assert!(e.contains("unknown variant `nomad`"), "{e}");
        assert!(e.contains("argocd"), "{e}");
    }

    #[test]
    fn typos_in_keys_are_errors_and_names_are_unique() {
        let e = Config::parse(
            "c.toml",
            "[[target]]\nname = \"a\"\nkind = \"demo\"\nenviroment = \"prod\"\n",
        )
        .unwrap_err();
        assert!(e.contains("c.toml:4:1") && e.contains("enviroment"), "{e}");
        let e = Config::parse("c.toml", "[[target]]\nname = \"a\"\nkind = \"demo\"\n[[target]]\nname = \"a\"\nkind = \"demo\"\n").unwrap_err();
        assert!(e.contains("duplicate target name `a`"), "{e}");
    }
}
