//! The TOML config. Errors name file:line:column and what is wrong, and are
//! reported before the terminal is taken over.

mod signals;
mod target;
mod text;

pub use signals::{ProbeConfig, PrometheusConfig, QueryConfig};
pub use target::{
    ArgocdConfig, ComposeConfig, DemoConfig, KubernetesConfig, Platform, SwarmConfig, TargetConfig,
};
pub use text::toml_error;

use crate::core::verdict::Thresholds;
use serde::Deserialize;
use std::path::{Path, PathBuf};
use text::{line_col, table_key_pos};

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
    /// Save what a failing revision left (crash logs, events, status)
    /// beside the note when a target turns critical and before a rollback.
    pub save_evidence: bool,
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
            save_evidence: true,
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct Config {
    pub settings: Settings,
    pub thresholds: Thresholds,
    pub targets: Vec<TargetConfig>,
    /// Targets rolled back together with one confirm.
    pub groups: Vec<GroupConfig>,
    /// Per-environment settings (`[environment.prod]`), by name.
    pub environments: std::collections::BTreeMap<String, EnvironmentConfig>,
    /// Where it was read from, for runbook overrides next to it.
    pub dir: Option<PathBuf>,
    /// The file it was read from, as named (`rbtui.toml`), for messages.
    pub origin: String,
    pub comms: CommsConfig,
    pub ticket: TicketConfig,
}

/// The file as the TOML parser reads it: each target is kept as a table
/// with where it starts, and read by its kind (`TargetConfig::from_table`).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    settings: Settings,
    #[serde(default)]
    thresholds: Thresholds,
    #[serde(default, rename = "target")]
    targets: Vec<toml::Spanned<toml::Table>>,
    #[serde(default, rename = "group")]
    groups: Vec<toml::Spanned<GroupConfig>>,
    #[serde(default, rename = "environment")]
    environments: std::collections::BTreeMap<String, EnvironmentConfig>,
    #[serde(default)]
    comms: CommsConfig,
    #[serde(default)]
    ticket: TicketConfig,
}

/// `[comms]`: where status messages can be posted, on the operator's key.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CommsConfig {
    /// A Slack-compatible incoming webhook (`POST {"text": …}`). It is a
    /// secret: only its host is ever shown or recorded.
    pub webhook_url: Option<String>,
}

/// `[ticket]`: where `rbtui note attach` puts the note. The token is never
/// in the file: it comes from the environment (`GITHUB_TOKEN`,
/// `GITLAB_TOKEN`, `JIRA_USER` + `JIRA_API_TOKEN` or `JIRA_PAT`) or `gh`'s
/// own login.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TicketConfig {
    pub system: Option<TicketSystem>,
    /// The API's base: GitHub Enterprise `https://ghe.example.com/api/v3`,
    /// a GitLab instance `https://gitlab.example.com`, Jira
    /// `https://acme.atlassian.net`. Defaults: api.github.com, gitlab.com.
    pub url: Option<String>,
    /// The issue attached to when `--to` is not given (`acme/shop#123`,
    /// `OPS-7`, or the issue's URL).
    pub issue: Option<String>,
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum TicketSystem {
    Github,
    Gitlab,
    Jira,
}

impl TicketSystem {
    pub fn label(self) -> &'static str {
        match self {
            TicketSystem::Github => "GitHub",
            TicketSystem::Gitlab => "GitLab",
            TicketSystem::Jira => "Jira",
        }
    }
}

/// `[environment.<name>]`: what holds for every target in it.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct EnvironmentConfig {
    /// rbtui shows plans here and refuses every mutation (no override).
    #[serde(default)]
    pub read_only: bool,
}

/// `[[group]]`: targets rolled back together, with one plan and one confirm.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct GroupConfig {
    pub name: String,
    pub targets: Vec<String>,
    #[serde(default)]
    pub order: crate::core::group::Order,
}

impl GroupConfig {
    pub fn def(&self) -> crate::core::group::GroupDef {
        crate::core::group::GroupDef {
            name: self.name.clone(),
            targets: self.targets.clone(),
            order: self.order,
        }
    }
}

/// Larger than any real config; a guard against the wrong file.
pub const MAX_CONFIG_BYTES: u64 = 1024 * 1024;

/// Every target named, each name once.
fn check_names(origin: &str, text: &str, targets: &[TargetConfig]) -> Result<(), String> {
    let mut seen = std::collections::HashSet::new();
    for t in targets {
        if t.name.trim().is_empty() {
            let (l, col) = table_key_pos(text, None, "name");
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
    Ok(())
}

/// Every query's criterion and window readable, and a PromQL for every
/// query that has no built-in one.
fn check_queries(origin: &str, text: &str, targets: &[TargetConfig]) -> Result<(), String> {
    for t in targets {
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
            .find(|q| q.promql.is_none() && !crate::core::signals::is_builtin_query(&q.name))
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
    Ok(())
}

/// `prod = true` makes a target prod (its environment says so); `prod =
/// false` cannot make a prod environment otherwise.
fn prod_flags(origin: &str, text: &str, targets: &mut [TargetConfig]) -> Result<(), String> {
    for t in targets.iter_mut() {
        let named_prod = crate::core::model::is_prod_environment(&t.environment);
        match t.prod {
            Some(true) if !named_prod => {
                t.environment = if t.environment == target::default_env() {
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
    Ok(())
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
            let (l, col) = table_key_pos(text, Some(table), key);
            return Err(format!("{origin}:{l}:{col}: {table}.{key} must be {want}"));
        }
    }
    Ok(())
}

/// A group names at least two known targets, each once, under a name of
/// its own (it is typed to confirm a prod group).
fn check_groups(origin: &str, text: &str, c: &Config, at: &[usize]) -> Result<(), String> {
    let mut names = std::collections::HashSet::new();
    for (g, &start) in c.groups.iter().zip(at) {
        let (l, col) = line_col(text, start);
        let here = format!("{origin}:{l}:{col}: group `{}`", g.name);
        if g.name.trim().is_empty() {
            return Err(format!("{origin}:{l}:{col}: a group has an empty name"));
        }
        if !names.insert(&g.name) {
            return Err(format!("{here}: a group of that name is defined twice"));
        }
        if g.targets.len() < 2 {
            return Err(format!("{here}: a group needs at least two targets"));
        }
        let mut seen = std::collections::HashSet::new();
        for t in &g.targets {
            if !c.targets.iter().any(|x| &x.name == t) {
                return Err(format!("{here}: no target named `{t}`"));
            }
            if !seen.insert(t) {
                return Err(format!("{here}: `{t}` is listed twice"));
            }
        }
    }
    Ok(())
}

/// Whether a target's environment (as shown: `prod = true` makes `eu` read
/// `eu (prod)`) is the one a config table names.
fn in_environment(shown: &str, name: &str) -> bool {
    shown == name || shown.strip_suffix(" (prod)") == Some(name)
}

/// An `[environment.X]` names an environment some target is in: a typo
/// (`prdo`) must not leave prod writable while looking protected.
fn check_environments(origin: &str, text: &str, c: &Config) -> Result<(), String> {
    // Argo CD apps found by a selector name their environment at run time.
    let from_labels = c.targets.iter().any(|t| match &t.platform {
        Platform::Argocd(a) => a.environment_label.is_some(),
        _ => false,
    });
    for name in c.environments.keys() {
        if from_labels
            || c.targets
                .iter()
                .any(|t| in_environment(&t.environment, name))
        {
            continue;
        }
        let (l, col) = text
            .find(&format!("[environment.{name}]"))
            .map(|o| line_col(text, o))
            .unwrap_or((0, 0));
        let mut known: Vec<&str> = c.targets.iter().map(|t| t.environment.as_str()).collect();
        known.sort();
        known.dedup();
        return Err(format!(
            "{origin}:{l}:{col}: environment `{name}` is no target's environment (targets are in: {})",
            known.join(", ")
        ));
    }
    Ok(())
}

impl Config {
    /// The environments, as the targets show them, that the config makes
    /// read-only (and the tables' own names, for environments an Argo CD
    /// label names at run time).
    pub fn read_only_environments(&self) -> Vec<String> {
        let named = self
            .environments
            .iter()
            .filter(|(_, e)| e.read_only)
            .map(|(n, _)| n.clone());
        let mut v: Vec<String> = self
            .targets
            .iter()
            .filter(|t| {
                self.environments
                    .iter()
                    .any(|(n, e)| e.read_only && in_environment(&t.environment, n))
            })
            .map(|t| t.environment.clone())
            .chain(named)
            .collect();
        v.sort();
        v.dedup();
        v
    }

    pub fn parse(origin: &str, text: &str) -> Result<Config, String> {
        let raw: RawConfig = toml::from_str(text).map_err(|e| toml_error(origin, text, &e))?;
        // A target's table runs to the next target's header (or the end).
        let starts: Vec<usize> = raw.targets.iter().map(|t| t.span().start).collect();
        let mut targets = Vec::new();
        for (i, t) in raw.targets.into_iter().enumerate() {
            let (at, end) = (starts[i], starts.get(i + 1).copied().unwrap_or(text.len()));
            targets.push(TargetConfig::from_table(
                origin,
                text,
                at,
                end,
                t.into_inner(),
            )?);
        }
        let group_at: Vec<usize> = raw.groups.iter().map(|g| g.span().start).collect();
        let mut c = Config {
            settings: raw.settings,
            thresholds: raw.thresholds,
            targets,
            groups: raw.groups.into_iter().map(|g| g.into_inner()).collect(),
            environments: raw.environments,
            dir: None,
            origin: origin.to_string(),
            comms: raw.comms,
            ticket: raw.ticket,
        };
        check_names(origin, text, &c.targets)?;
        check_queries(origin, text, &c.targets)?;
        check_ranges(origin, text, &c)?;
        check_groups(origin, text, &c, &group_at)?;
        prod_flags(origin, text, &mut c.targets)?;
        check_environments(origin, text, &c)?;
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
            t.resolve_paths(&rel);
        }
    }

    /// Reads only a regular file of at most [`MAX_CONFIG_BYTES`]: a FIFO or
    /// `/dev/zero` passed by mistake must not hang or fill memory.
    pub fn load(path: &Path) -> Result<Config, String> {
        let origin = path.display().to_string();
        let text = crate::files::read_text(path, "the config", MAX_CONFIG_BYTES)?;
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

/// The keymap: `keys.toml` next to the config, else
/// `$XDG_CONFIG_HOME/rbtui/keys.toml` (so it also applies to `rbtui demo`),
/// over the embedded defaults. A broken file is an error with file:line.
pub fn load_keymap(config_dir: Option<&Path>) -> Result<crate::core::keymap::Keymap, String> {
    let xdg = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))
        .map(|d| d.join("rbtui").join("keys.toml"));
    let next_to = config_dir.map(|d| {
        if d.as_os_str().is_empty() {
            PathBuf::from("keys.toml")
        } else {
            d.join("keys.toml")
        }
    });
    // Whatever stands at the name is the operator's keymap: a directory,
    // a FIFO or a dangling symlink there is said, never skipped.
    let there = |p: &PathBuf| std::fs::symlink_metadata(p).is_ok();
    match next_to.into_iter().chain(xdg).find(there) {
        None => Ok(crate::core::keymap::Keymap::builtin()),
        Some(p) => {
            let origin = p.display().to_string();
            let text = crate::files::read_text(&p, "keys.toml", crate::files::SMALL_CAP)?;
            crate::core::keymap::Keymap::with_overrides(&origin, &text)
        }
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

    /// A group names known targets, at least two, each once; its order is
    /// one of the two rbtui knows.
    #[test]
    fn groups_name_known_targets_and_a_known_order() {
        let targets = "[[target]]\nname = \"a\"\nkind = \"demo\"\n[[target]]\nname = \"b\"\nkind = \"demo\"\n";
        let c = Config::parse(
            "c.toml",
            &format!("{targets}[[group]]\nname = \"shop\"\ntargets = [\"a\", \"b\"]\norder = \"parallel\"\n"),
        )
        .unwrap();
        assert_eq!(c.groups[0].order, crate::core::group::Order::Parallel);
        let c = Config::parse(
            "c.toml",
            &format!("{targets}[[group]]\nname = \"s\"\ntargets = [\"a\", \"b\"]\n"),
        )
        .unwrap();
        assert_eq!(
            c.groups[0].order,
            crate::core::group::Order::Sequential,
            "the default"
        );
        let e = Config::parse(
            "c.toml",
            &format!("{targets}[[group]]\nname = \"shop\"\ntargets = [\"a\", \"c\"]\n"),
        )
        .unwrap_err();
        assert_eq!(e, "c.toml:7:1: group `shop`: no target named `c`");
        let e = Config::parse(
            "c.toml",
            &format!("{targets}[[group]]\nname = \"shop\"\ntargets = [\"a\"]\n"),
        )
        .unwrap_err();
        assert!(e.ends_with("a group needs at least two targets"), "{e}");
        let e = Config::parse(
            "c.toml",
            &format!("{targets}[[group]]\nname = \"shop\"\ntargets = [\"a\", \"a\"]\n"),
        )
        .unwrap_err();
        assert!(e.ends_with("`a` is listed twice"), "{e}");
        let e = Config::parse("c.toml", &format!("{targets}[[group]]\nname = \"shop\"\ntargets = [\"a\", \"b\"]\norder = \"random\"\n")).unwrap_err();
        assert!(
            e.contains("unknown variant `random`") && e.contains("sequential"),
            "{e}"
        );
    }

    /// `[environment.prod] read_only = true` parses; an environment no
    /// target is in is an error, not a silent no-op.
    #[test]
    fn read_only_environments_must_name_a_targets_environment() {
        let targets = "[[target]]\nname = \"a\"\nkind = \"demo\"\nenvironment = \"prod\"\n";
        let c = Config::parse(
            "c.toml",
            &format!("{targets}[environment.prod]\nread_only = true\n"),
        )
        .unwrap();
        assert!(c.environments["prod"].read_only);
        assert_eq!(c.read_only_environments(), ["prod"]);
        // `prod = true` shows `eu` as `eu (prod)`: still the table's.
        let eu = "[[target]]\nname = \"a\"\nkind = \"demo\"\nenvironment = \"eu\"\nprod = true\n";
        let c = Config::parse(
            "c.toml",
            &format!("{eu}[environment.eu]\nread_only = true\n"),
        )
        .unwrap();
        assert_eq!(c.read_only_environments(), ["eu", "eu (prod)"]);
        let e = Config::parse(
            "c.toml",
            &format!("{targets}[environment.prdo]\nread_only = true\n"),
        )
        .unwrap_err();
        assert_eq!(
            e,
            "c.toml:5:1: environment `prdo` is no target's environment (targets are in: prod)"
        );
        let e = Config::parse(
            "c.toml",
            &format!("{targets}[environment.prod]\nreadonly = true\n"),
        )
        .unwrap_err();
        assert!(e.contains("unknown field `readonly`"), "{e}");
    }
}
