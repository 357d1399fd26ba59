//! One `[[target]]`: the fields every kind takes, and its platform's own
//! fields in one struct per kind, so a field another kind uses is an error
//! with its position rather than a value silently ignored.

use super::signals::{ProbeConfig, PrometheusConfig};
use super::text::{key_pos, line_col, value_pos};
use serde::Deserialize;
use std::path::PathBuf;

#[derive(Debug, Clone)]
pub struct TargetConfig {
    pub name: String,
    pub environment: String,
    /// `prod = true` makes any environment prod (loud, typed confirms, never
    /// touched in rehearsal). `false` cannot make a prod-named one otherwise.
    pub prod: Option<bool>,
    /// The IaC tool that declares this target's image (`pulumi`), its
    /// stack and the config key holding the tag: the checklist then asks to
    /// align it (`pulumi config set <key> <good tag> --stack <stack>`).
    pub iac: Option<String>,
    pub iac_stack: Option<String>,
    pub iac_key: Option<String>,
    /// Ask the image registry before the confirm (see `backend::registry`).
    pub registry: bool,
    /// Allow re-tag plans (the ECR runbook's option B): the mutable tag is
    /// pointed at a good build and the workload restarted. Implies
    /// `registry`.
    pub retag: bool,
    /// Migration checks: a local git checkout of the service's code.
    pub repo: Option<PathBuf>,
    /// Path globs of migration files (default: Flyway, golang-migrate, dbmate…).
    pub migrations: Option<Vec<String>>,
    /// How an image tag names its commit, e.g. `["git-{sha}", "v*-{sha}"]`.
    pub sha_from_tag: Option<Vec<String>>,
    pub probe: Vec<ProbeConfig>,
    pub prometheus: Option<PrometheusConfig>,
    pub platform: Platform,
    /// `file:line:col` of its `[[target]]` header: a target whose backend
    /// cannot be built is an error row that says where it is configured.
    pub at: String,
}

/// The fields every kind takes; the rest of the table goes to [`Platform`].
#[derive(Deserialize)]
struct Common {
    name: String,
    #[serde(default = "default_env")]
    environment: String,
    prod: Option<bool>,
    iac: Option<String>,
    iac_stack: Option<String>,
    iac_key: Option<String>,
    #[serde(default)]
    registry: bool,
    #[serde(default)]
    retag: bool,
    repo: Option<PathBuf>,
    migrations: Option<Vec<String>>,
    sha_from_tag: Option<Vec<String>>,
    #[serde(default)]
    probe: Vec<ProbeConfig>,
    prometheus: Option<PrometheusConfig>,
    #[serde(flatten)]
    rest: toml::Table,
}

/// Keys every kind takes, named in an "unknown field" error so a typo of
/// one is not mistaken for a field of the platform.
const COMMON: &str = "name, kind, environment, prod, iac, iac_stack, iac_key, registry, retag, repo, migrations, sha_from_tag, probe, prometheus";

pub fn default_env() -> String {
    "unspecified".into()
}

/// Which platform serves the target, with only that platform's fields.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Platform {
    Argocd(ArgocdConfig),
    Kubernetes(KubernetesConfig),
    Swarm(SwarmConfig),
    Compose(ComposeConfig),
    Demo(DemoConfig),
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArgocdConfig {
    /// Server URL (default `$ARGOCD_SERVER`).
    pub server: Option<String>,
    /// One application, or every one a label selector matches.
    pub app: Option<String>,
    pub selector: Option<String>,
    pub app_namespace: Option<String>,
    pub project: Option<String>,
    /// With a selector: the label (or annotation) holding each app's
    /// environment (`env`); apps without it take `environment`.
    pub environment_label: Option<String>,
    #[serde(default)]
    pub insecure: bool,
    pub ca_file: Option<PathBuf>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KubernetesConfig {
    /// kube context (default: the kubeconfig's current one).
    pub context: Option<String>,
    pub namespace: String,
    /// One Deployment, or every one a label selector matches.
    pub deployment: Option<String>,
    pub selector: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SwarmConfig {
    /// Engine address (default `$DOCKER_HOST`).
    pub docker_host: Option<String>,
    /// The service name (default: the target's name).
    pub service: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ComposeConfig {
    pub docker_host: Option<String>,
    /// The `com.docker.compose.project` label.
    pub project: String,
    pub service: Option<String>,
    /// The live manifest file swapped as a pair with the image, and the
    /// per-version files it is restored from (`{tag}` is replaced).
    pub manifest: Option<PathBuf>,
    pub manifest_versions: Option<String>,
    /// The project's files, when the containers' labels name none
    /// reachable here (default: `com.docker.compose.project.config_files`).
    pub compose_files: Option<Vec<PathBuf>>,
    /// The variable the compose file reads the image version from
    /// (`image: shop/web:${WEB_VERSION}`); with it the rollback pins the
    /// version in the env file and runs `docker compose up -d --no-build`.
    pub version_var: Option<String>,
    /// The env file holding `version_var` (default: `.env` in the project
    /// directory).
    pub env_file: Option<PathBuf>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DemoConfig {}

impl TargetConfig {
    /// The `kind` as written in the config.
    pub fn kind_label(&self) -> &'static str {
        match self.platform {
            Platform::Argocd(_) => "argocd",
            Platform::Kubernetes(_) => "kubernetes",
            Platform::Swarm(_) => "swarm",
            Platform::Compose(_) => "compose",
            Platform::Demo(_) => "demo",
        }
    }

    /// Reads one `[[target]]` table that starts at byte `at` of `text`;
    /// every error names the line and column of the key it is about (the
    /// table's header for a missing one).
    pub fn from_table(
        origin: &str,
        text: &str,
        at: usize,
        end: usize,
        table: toml::Table,
    ) -> Result<TargetConfig, String> {
        let here = |key: Option<&str>, value: bool| {
            let (l, c) = match key {
                Some(k) if value => value_pos(text, at, end, k),
                Some(k) => key_pos(text, at, end, k),
                None => None,
            }
            .unwrap_or_else(|| line_col(text, at));
            format!("{origin}:{l}:{c}")
        };
        let name = table
            .get("name")
            .and_then(|v| v.as_str())
            .map(|n| format!("target `{n}`: "))
            .unwrap_or_default();
        let fail = |e: toml::de::Error, common: bool| {
            let msg = e.to_string().trim().replace("\n", " ");
            let at = {
                let (key, value) = blamed(&msg);
                here(key, value)
            };
            let (msg, extra) = match msg.split_once(", there are no fields") {
                Some((head, _)) => (
                    head.to_string(),
                    format!(": this kind takes only the fields every kind takes ({COMMON})"),
                ),
                None if !common && msg.starts_with("unknown field") => {
                    (msg, format!(" (or one every kind takes: {COMMON})"))
                }
                None => (msg, String::new()),
            };
            format!("{at}: {name}{msg}{extra}")
        };
        let c = Common::deserialize(toml::Value::Table(table)).map_err(|e| fail(e, true))?;
        let platform =
            Platform::deserialize(toml::Value::Table(c.rest)).map_err(|e| fail(e, false))?;
        let t = TargetConfig {
            name: c.name,
            environment: c.environment,
            prod: c.prod,
            iac: c.iac,
            iac_stack: c.iac_stack,
            iac_key: c.iac_key,
            registry: c.registry || c.retag,
            retag: c.retag,
            repo: c.repo,
            migrations: c.migrations,
            sha_from_tag: c.sha_from_tag,
            probe: c.probe,
            prometheus: c.prometheus,
            platform,
            at: here(None, false),
        };
        let either = |a: bool, b: bool, what: &str| {
            (a == b).then(|| {
                format!(
                    "{}: target `{}`: kind {} needs {what}",
                    here(Some("kind"), false),
                    t.name,
                    t.kind_label()
                )
            })
        };
        let wrong = match &t.platform {
            Platform::Argocd(a) => either(
                a.app.is_some(),
                a.selector.is_some(),
                "`app` or `selector` (one of them)",
            ),
            Platform::Kubernetes(k) => either(
                k.deployment.is_some(),
                k.selector.is_some(),
                "`deployment` or `selector` (one of them)",
            ),
            Platform::Compose(c) if c.manifest.is_some() != c.manifest_versions.is_some() => {
                Some(format!(
                    "{}: target `{}`: `manifest` and `manifest_versions` go together",
                    here(
                        Some(if c.manifest.is_some() {
                            "manifest"
                        } else {
                            "manifest_versions"
                        }),
                        false
                    ),
                    t.name
                ))
            }
            _ => None,
        };
        match wrong {
            Some(e) => Err(e),
            None => Ok(t),
        }
    }

    /// Paths are relative to the config file, like `repo`: the same config
    /// gives the same files from any working directory.
    pub fn resolve_paths(&mut self, rel: &dyn Fn(&PathBuf) -> PathBuf) {
        self.repo = self.repo.as_ref().map(rel);
        match &mut self.platform {
            Platform::Argocd(a) => a.ca_file = a.ca_file.as_ref().map(rel),
            Platform::Compose(c) => {
                c.manifest = c.manifest.as_ref().map(rel);
                c.manifest_versions = c
                    .manifest_versions
                    .as_ref()
                    .map(|m| rel(&PathBuf::from(m)).display().to_string());
                c.compose_files = c
                    .compose_files
                    .as_ref()
                    .map(|fs| fs.iter().map(rel).collect());
                c.env_file = c.env_file.as_ref().map(rel);
            }
            _ => {}
        }
    }
}

/// The key a serde message is about, and whether its value (not the key)
/// is what is wrong.
fn blamed(msg: &str) -> (Option<&str>, bool) {
    let quoted = |after: &str| {
        let rest = msg.split(after).nth(1)?;
        let rest = rest.strip_prefix('`')?;
        rest.split('`').next()
    };
    if msg.starts_with("unknown field") {
        (quoted("unknown field "), false)
    } else if msg.starts_with("unknown variant") {
        (Some("kind"), true)
    } else if msg.starts_with("missing field") {
        // Missing: the table's header is where it belongs.
        (None, false)
    } else {
        (quoted("in "), true)
    }
}

#[cfg(test)]
mod tests {
    use crate::config::Config;

    fn err(text: &str) -> String {
        Config::parse("c.toml", text).unwrap_err()
    }

    /// Every kind: a field of another kind and a missing one of its own
    /// are parser errors at the line they are about.
    #[test]
    fn each_kind_takes_only_its_own_fields_and_says_where() {
        let cases = [
            (
                "[[target]]\nname = \"a\"\nkind = \"demo\"\n\n[[target]]\nname = \"b\"\nkind = \"compose\"\nproject = \"p\"\nnamespace = \"shop\"\n",
                "c.toml:9:1: target `b`: unknown field `namespace`, expected one of `docker_host`, `project`",
            ),
            (
                "[[target]]\nname = \"k\"\nkind = \"kubernetes\"\ndeployment = \"web\"\n",
                "c.toml:1:1: target `k`: missing field `namespace`",
            ),
            (
                "[[target]]\nname = \"k\"\nkind = \"kubernetes\"\nnamespace = \"shop\"\n",
                "c.toml:3:1: target `k`: kind kubernetes needs `deployment` or `selector`",
            ),
            (
                "[[target]]\nname = \"s\"\nkind = \"swarm\"\napp = \"orders\"\n",
                "c.toml:4:1: target `s`: unknown field `app`, expected `docker_host` or `service` (or one every kind takes: name, kind",
            ),
            (
                "[[target]]\nname = \"x\"\nkind = \"argocd\"\napp = \"a\"\nselector = \"team=x\"\n",
                "c.toml:3:1: target `x`: kind argocd needs `app` or `selector` (one of them)",
            ),
            (
                "[[target]]\nname = \"d\"\nkind = \"demo\"\ndocker_host = \"unix:///x\"\n",
                "c.toml:4:1: target `d`: unknown field `docker_host`: this kind takes only the fields every kind takes (name, kind,",
            ),
            (
                "[[target]]\nname = \"c\"\nkind = \"compose\"\n",
                "c.toml:1:1: target `c`: missing field `project`",
            ),
            (
                "[[target]]\nname = \"c\"\nkind = \"compose\"\nproject = \"p\"\nmanifest = \"m.yaml\"\n",
                "c.toml:5:1: target `c`: `manifest` and `manifest_versions` go together",
            ),
            (
                "[[target]]\nname = \"r\"\nkind = \"demo\"\nregistry = 3\n",
                "c.toml:4:12: target `r`: invalid type: integer `3`, expected a boolean",
            ),
            (
                "[[target]]\nname = \"n\"\n",
                "c.toml:1:1: target `n`: missing field `kind`",
            ),
        ];
        for (text, want) in cases {
            let e = err(text);
            assert!(e.starts_with(want), "{text:?}:\n got  {e}\n want {want}");
        }
    }
}
