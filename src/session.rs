//! Turns the command line and config into what both the console and the
//! read-only commands need: the mode, the backends, the settings.

use crate::backend::Backend;
use crate::backend::clock::Clock;
use crate::backend::demo::DemoBackend;
use crate::backend::git_migrations::GitMigrations;
use crate::backend::router::Router;
use crate::backend::signals::{SignalsBackend, TargetSignals};
use crate::cli::{Cli, Command};
use crate::config::{
    ArgocdConfig, ComposeConfig, Config, KubernetesConfig, Platform, SwarmConfig, TargetConfig,
};
use crate::core::model::{Kind, Mode};
use crate::core::state::Settings;
use crate::note::resume::Resumed;
use crate::runbook::Runbook;
use crate::setup_error::SetupError;
use std::path::PathBuf;
use std::sync::Arc;

pub struct Session {
    pub mode: Mode,
    pub backend: Arc<dyn Backend>,
    pub settings: Settings,
    pub runbooks: Vec<Runbook>,
    pub note_path: PathBuf,
    pub resumed: Option<Resumed>,
    /// When the rollback runbook last worked per target (notes in note_dir).
    pub last_worked: std::collections::HashMap<String, crate::core::entry::LastWorked>,
    /// A drill's full disk: the note's size limit, shared with the drill
    /// layer (which fills it after a rollback) or set at open (after some
    /// more bytes).
    pub note_quota: Option<NoteQuota>,
    /// Where each target is configured (`rbtui.toml:31:1`), for `check`.
    pub origins: std::collections::HashMap<String, String>,
}

/// The note's size limit for a drill's `note_disk_full` fault.
pub struct NoteQuota {
    pub limit: Arc<std::sync::atomic::AtomicU64>,
    /// Grow at most this many more bytes from the note's size at open.
    pub after_bytes: Option<u64>,
}

/// Who is at the keyboard: `$USER`, `$LOGNAME`, else the account name the
/// system's user database gives for our uid (cron, `env -i`, containers).
#[allow(unsafe_code)] // getuid(2) cannot fail and touches no memory.
pub fn operator() -> String {
    ["USER", "LOGNAME"]
        .iter()
        .filter_map(|v| std::env::var(v).ok())
        .find(|v| !v.trim().is_empty())
        .or_else(account_name)
        .unwrap_or_else(|| format!("uid {}", unsafe { libc::getuid() }))
}

#[allow(unsafe_code)] // getpwuid_r: see the SAFETY notes below.
fn account_name() -> Option<String> {
    let mut buf = vec![0 as libc::c_char; 4096];
    let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
    let mut out: *mut libc::passwd = std::ptr::null_mut();
    // SAFETY: getpwuid_r writes only into `pwd` and `buf`, whose sizes we pass.
    let rc = unsafe {
        libc::getpwuid_r(
            libc::getuid(),
            &mut pwd,
            buf.as_mut_ptr(),
            buf.len(),
            &mut out,
        )
    };
    if rc != 0 || out.is_null() || pwd.pw_name.is_null() {
        return None;
    }
    // SAFETY: on success pw_name points at a NUL-terminated string in `buf`.
    let name = unsafe { std::ffi::CStr::from_ptr(pwd.pw_name) };
    Some(name.to_string_lossy().into_owned()).filter(|n| !n.is_empty())
}

pub fn host() -> String {
    std::env::var("HOSTNAME")
        .ok()
        .or_else(|| {
            std::fs::read_to_string("/etc/hostname")
                .ok()
                .map(|s| s.trim().to_string())
        })
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "unknown".into())
}

/// One Argo CD backend per server, with its token found once.
fn argo_backends(targets: Vec<(String, &TargetConfig, &ArgocdConfig)>) -> Vec<Arc<dyn Backend>> {
    use crate::backend::argocd::{AppSpec, AppTarget, ArgoBackend, auth, client};
    let mut servers: Vec<String> = targets.iter().map(|(s, ..)| s.clone()).collect();
    servers.sort();
    servers.dedup();
    let mut out: Vec<Arc<dyn Backend>> = Vec::new();
    for server in servers {
        let mine: Vec<(&TargetConfig, &ArgocdConfig)> = targets
            .iter()
            .filter(|(s, ..)| *s == server)
            .map(|(_, t, a)| (*t, *a))
            .collect();
        let base = if server.starts_with("http://") || server.starts_with("https://") {
            server.trim_end_matches('/').to_string()
        } else {
            format!("https://{server}")
        };
        let token = match auth::token_for(&server) {
            Ok(t) => t,
            Err(e) => {
                let fix = format!(
                    "set ARGOCD_AUTH_TOKEN or run `argocd login {}`",
                    auth::strip_scheme(&server)
                );
                out.extend(
                    mine.iter()
                        .map(|(t, a)| unbuilt(t, Kind::Argocd, &server, a.app.clone(), &e, &fix)),
                );
                continue;
            }
        };
        let conn = client::Conn {
            base,
            token,
            insecure: mine.iter().any(|(_, a)| a.insecure),
            ca_file: mine.iter().find_map(|(_, a)| a.ca_file.clone()),
            timeout: std::time::Duration::from_secs(15),
        };
        let specs = mine
            .iter()
            .map(|(t, a)| match (&a.app, &a.selector) {
                (Some(app), _) => AppSpec::One(AppTarget {
                    name: t.name.clone(),
                    app: app.clone(),
                    app_namespace: a.app_namespace.clone(),
                    project: a.project.clone(),
                    environment: t.environment.clone(),
                }),
                (None, sel) => AppSpec::Selector {
                    selector: sel.clone().unwrap_or_default(),
                    project: a.project.clone(),
                    app_namespace: a.app_namespace.clone(),
                    environment: t.environment.clone(),
                    environment_label: a.environment_label.clone(),
                },
            })
            .collect();
        match client::Client::new(conn) {
            Ok(c) => out.push(Arc::new(ArgoBackend::new(c, specs))),
            Err(e) => {
                let fix = "point the target's ca_file at the server's CA certificate (PEM), or correct `server`";
                out.extend(
                    mine.iter()
                        .map(|(t, a)| unbuilt(t, Kind::Argocd, &server, a.app.clone(), &e, fix)),
                )
            }
        }
    }
    out
}

/// A target whose backend could not be built (no token, a CA file that is
/// not there, no kubeconfig): a row saying why and where it is configured,
/// so one platform without credentials never hides the others. Nothing is
/// ever sent through it.
fn unbuilt(
    t: &TargetConfig,
    kind: crate::core::model::Kind,
    location: &str,
    object: Option<String>,
    error: &dyn std::fmt::Display,
    fix: &str,
) -> Arc<dyn Backend> {
    Arc::new(crate::backend::unavailable::Unavailable {
        name: t.kind_label().into(),
        targets: vec![crate::core::model::TargetInfo {
            name: t.name.clone(),
            kind,
            environment: t.environment.clone(),
            location: location.to_string(),
            object,
            simulated: false,
        }],
        error: crate::backend::BackendError::NotSetUp {
            said: format!("{}: target `{}`: {error}", t.at, t.name),
            fix: fix.to_string(),
        },
    })
}

/// Without a config but with a kubeconfig: every Deployment in the current
/// context's namespace, said on stderr so nobody mistakes it for a config.
async fn kubeconfig_offer() -> Option<Config> {
    let kc = kube::config::Kubeconfig::read().ok()?;
    let ctx_name = kc.current_context.clone()?;
    let ctx = kc
        .contexts
        .iter()
        .find(|c| c.name == ctx_name)?
        .context
        .clone()?;
    let ns = ctx.namespace.unwrap_or_else(|| "default".into());
    eprintln!(
        "rbtui: no config found; offering every Deployment in namespace {ns} of kube context {ctx_name} (write a config to choose; see README)"
    );
    let text = format!(
        "[[target]]\nname = \"{ns}\"\nkind = \"kubernetes\"\ncontext = \"{ctx_name}\"\nnamespace = \"{ns}\"\nselector = \"\"\n"
    );
    Config::parse("<kubeconfig>", &text).ok()
}

/// One Kubernetes backend per kube context.
async fn kube_backends(targets: Vec<(&TargetConfig, &KubernetesConfig)>) -> Vec<Arc<dyn Backend>> {
    use crate::backend::kubernetes::{DeployTarget, KubeBackend};
    let mut contexts: Vec<Option<String>> =
        targets.iter().map(|(_, k)| k.context.clone()).collect();
    contexts.sort();
    contexts.dedup();
    let mut out: Vec<Arc<dyn Backend>> = Vec::new();
    for ctx in contexts {
        let mine: Vec<&(&TargetConfig, &KubernetesConfig)> =
            targets.iter().filter(|(_, k)| k.context == ctx).collect();
        // Connecting reads kubeconfig files only; no request is made yet.
        let (client, location) = match KubeBackend::connect(ctx.as_deref()).await {
            Ok(c) => c,
            Err(e) => {
                let at = ctx
                    .clone()
                    .unwrap_or_else(|| "the current kube context".into());
                out.extend(mine.iter().map(|(t, k)| unbuilt(t, Kind::Kubernetes, &at, k.deployment.clone(), &e, "set KUBECONFIG (or the target's `context`) to a kubeconfig that reaches the cluster")));
                continue;
            }
        };
        let one: Vec<DeployTarget> = mine
            .iter()
            .filter_map(|(t, k)| {
                k.deployment.as_ref().map(|d| DeployTarget {
                    name: t.name.clone(),
                    namespace: k.namespace.clone(),
                    deployment: d.clone(),
                    environment: t.environment.clone(),
                })
            })
            .collect();
        let mut b = KubeBackend::new(client, location, one);
        b.kubeconfig_user = KubeBackend::kubeconfig_user(ctx.as_deref());
        for (t, k) in mine.iter().filter(|(_, k)| k.deployment.is_none()) {
            b = b.with_selector(
                &k.namespace,
                k.selector.as_deref().unwrap_or_default(),
                &t.environment,
            );
        }
        out.push(Arc::new(b));
    }
    out
}

/// A Swarm service or a Compose service, served by the engine at `host`.
enum DockerTarget<'a> {
    Swarm(&'a TargetConfig, &'a SwarmConfig),
    Compose(&'a TargetConfig, &'a ComposeConfig),
}

impl DockerTarget<'_> {
    fn host(&self) -> &Option<String> {
        match self {
            DockerTarget::Swarm(_, s) => &s.docker_host,
            DockerTarget::Compose(_, c) => &c.docker_host,
        }
    }
}

/// One Swarm and one Compose backend per engine.
fn docker_backends(targets: Vec<DockerTarget<'_>>) -> Vec<Arc<dyn Backend>> {
    use crate::backend::docker::{compose, engine, swarm};
    let mut hosts: Vec<Option<String>> = targets.iter().map(|t| t.host().clone()).collect();
    hosts.sort();
    hosts.dedup();
    let mut out: Vec<Arc<dyn Backend>> = Vec::new();
    for host in hosts {
        let mine: Vec<&DockerTarget> = targets.iter().filter(|t| *t.host() == host).collect();
        let eng = match engine::connect(host.as_deref()) {
            Ok(e) => e,
            Err(error) => {
                // A dead engine is a row per target saying so, not an exit.
                let location = host.clone().unwrap_or_else(|| "DOCKER_HOST".into());
                out.extend(mine.iter().map(|d| {
                    let (t, kind, object) = match d {
                        DockerTarget::Swarm(t, s) => (t, Kind::Swarm, &s.service),
                        DockerTarget::Compose(t, c) => (t, Kind::Compose, &c.service),
                    };
                    let fix = "start the engine, or set the target's docker_host (or DOCKER_HOST) to where it listens";
                    unbuilt(t, kind, &location, object.clone(), &error, fix)
                }));
                continue;
            }
        };
        let sw: Vec<swarm::SwarmTarget> = mine
            .iter()
            .filter_map(|d| match d {
                DockerTarget::Swarm(t, s) => Some(swarm::SwarmTarget {
                    name: t.name.clone(),
                    service: s.service.clone().unwrap_or_else(|| t.name.clone()),
                    environment: t.environment.clone(),
                }),
                DockerTarget::Compose(..) => None,
            })
            .collect();
        let co: Vec<compose::ComposeTarget> = mine
            .iter()
            .filter_map(|d| match d {
                DockerTarget::Compose(t, c) => Some(compose::ComposeTarget {
                    name: t.name.clone(),
                    project: c.project.clone(),
                    service: c.service.clone().unwrap_or_else(|| t.name.clone()),
                    environment: t.environment.clone(),
                    manifest: c.manifest.clone().zip(c.manifest_versions.clone()),
                    compose_files: c.compose_files.clone().unwrap_or_default(),
                    version_var: c.version_var.clone(),
                    env_file: c.env_file.clone(),
                }),
                DockerTarget::Swarm(..) => None,
            })
            .collect();
        if !sw.is_empty() {
            out.push(Arc::new(swarm::SwarmBackend::new(eng.clone(), sw)));
        }
        if !co.is_empty() {
            out.push(Arc::new(compose::ComposeBackend::new(eng, co)));
        }
    }
    out
}

/// Where status messages and the note can be posted (on the operator's
/// key): the webhook (its URL stays in the layer, the core sees its host)
/// and the incident's ticket (the core sees its label).
fn comms_layers(
    backend: Arc<dyn Backend>,
    config: &Config,
) -> Result<(Arc<dyn Backend>, Option<String>), SetupError> {
    let backend: Arc<dyn Backend> = match &config.comms.webhook_url {
        Some(url) => Arc::new(crate::backend::webhook::Webhook::new(backend, url.clone())?),
        None => backend,
    };
    let Some(issue) = &config.ticket.issue else {
        return Ok((backend, None));
    };
    let t = crate::backend::ticket::TicketRef::parse(issue, &config.ticket)
        .map_err(|e| SetupError::Config(format!("{}: [ticket] issue: {e}", config.origin)))?;
    let label = t.label();
    Ok((
        Arc::new(crate::backend::ticket::layer::Ticket::new(backend, t)),
        Some(label),
    ))
}

/// The platforms' backends behind one router, with the layers of facts
/// over them (notes' history, signals, the registry); the demo's alone.
async fn platforms(
    config: &Config,
    demo: bool,
    clock: &Arc<dyn Clock>,
) -> Result<Arc<dyn Backend>, SetupError> {
    if demo {
        return Ok(Arc::new(DemoBackend::builtin(clock.clone())));
    }
    let backends = platform_backends(config, clock).await?;
    Ok(fact_layers(backends, config))
}

/// One backend per platform the config's targets are on (a target that
/// cannot be set up is a row saying why).
async fn platform_backends(
    config: &Config,
    clock: &Arc<dyn Clock>,
) -> Result<Vec<Arc<dyn Backend>>, SetupError> {
    let mut demo_names = Vec::new();
    let mut argo = Vec::new();
    let mut docker = Vec::new();
    let mut kube = Vec::new();
    let mut unbuilt_rows: Vec<Arc<dyn Backend>> = Vec::new();
    for t in &config.targets {
        match &t.platform {
            Platform::Demo(_) => demo_names.push((
                t.name.clone(),
                (t.environment != "unspecified").then(|| t.environment.clone()),
            )),
            Platform::Argocd(a) => {
                match a
                    .server
                    .clone()
                    .or_else(|| std::env::var("ARGOCD_SERVER").ok())
                {
                    Some(server) => argo.push((server, t, a)),
                    None => unbuilt_rows.push(unbuilt(
                        t,
                        Kind::Argocd,
                        "no Argo CD server",
                        a.app.clone(),
                        &"kind argocd needs `server` (or ARGOCD_SERVER)",
                        "set `server` in the target (or ARGOCD_SERVER)",
                    )),
                }
            }
            Platform::Kubernetes(k) => kube.push((t, k)),
            Platform::Swarm(s) => docker.push(DockerTarget::Swarm(t, s)),
            Platform::Compose(c) => docker.push(DockerTarget::Compose(t, c)),
        }
    }
    if config.targets.is_empty() {
        return Err(SetupError::Config(format!(
            "{}: the config names no [[target]]; see README.md, \"Configuration\"",
            config.origin
        )));
    }
    let mut backends: Vec<Arc<dyn Backend>> = Vec::new();
    if !demo_names.is_empty() {
        let demo = DemoBackend::builtin(clock.clone());
        // The embedded scenario is fixed: a name it does not have is
        // a mistake in the file, said where it is.
        let known: Vec<String> =
            demo.with_world(|w, _| w.services.iter().map(|s| s.info.name.clone()).collect());
        if let Some(t) = config
            .targets
            .iter()
            .find(|t| matches!(t.platform, Platform::Demo(_)) && !known.contains(&t.name))
        {
            return Err(SetupError::Config(format!(
                "{}: target `{}`: the demo has no service named `{}` (it has {})",
                t.at,
                t.name,
                t.name,
                known.join(", ")
            )));
        }
        backends.push(Arc::new(demo.restricted(demo_names)));
    }
    backends.extend(unbuilt_rows);
    backends.extend(argo_backends(argo));
    backends.extend(docker_backends(docker));
    backends.extend(kube_backends(kube).await);
    Ok(backends)
}

/// The router over the platforms, and over it what else knows facts about
/// a target: the notes' history, the signals, the image registry.
fn fact_layers(backends: Vec<Arc<dyn Backend>>, config: &Config) -> Arc<dyn Backend> {
    let mut router = Router::new(backends);
    for t in &config.targets {
        if let Some(repo) = &t.repo {
            router = router.with_git_migrations(
                &t.name,
                GitMigrations::new(repo.clone(), t.migrations.clone(), t.sha_from_tag.clone()),
            );
        }
    }
    let signals: std::collections::HashMap<String, TargetSignals> = config
        .targets
        .iter()
        .filter(|t| !t.probe.is_empty() || t.prometheus.is_some())
        .map(|t| {
            (
                t.name.clone(),
                TargetSignals {
                    probes: t.probe.clone(),
                    prometheus: t.prometheus.clone(),
                },
            )
        })
        .collect();
    let deployed = crate::backend::notes_history::read_dir(
        &config.settings.note_dir,
        std::path::Path::new(""),
    );
    let base: Arc<dyn Backend> = if deployed.is_empty() {
        Arc::new(router)
    } else {
        Arc::new(crate::backend::notes_history::NotesHistory::new(
            Arc::new(router),
            deployed,
        ))
    };
    let base: Arc<dyn Backend> = if signals.is_empty() {
        base
    } else {
        Arc::new(SignalsBackend::new(base, signals))
    };
    let registry: std::collections::HashSet<String> = config
        .targets
        .iter()
        .filter(|t| t.registry)
        .map(|t| t.name.clone())
        .collect();
    if registry.is_empty() {
        base
    } else {
        Arc::new(
            crate::backend::registry::RegistryFacts::new(base, registry)
                .with_mutable(config.settings.mutable_tags.clone()),
        )
    }
}

/// The backends with the drill's layer, the drill, and the note's quota.
type Drilled = (
    Arc<dyn Backend>,
    Option<crate::backend::drill_faults::DrillSpec>,
    Option<NoteQuota>,
);

/// The drill's faults as a layer over the backends, and the note's
/// quota where the drill fills the disk.
fn drill_layer(
    backend: Arc<dyn Backend>,
    cli: &Cli,
    mode: Mode,
    config: &Config,
    clock: &Arc<dyn Clock>,
) -> Result<Drilled, SetupError> {
    let drill = match &cli.drill {
        Some(_) if !matches!(mode, Mode::Rehearsal | Mode::Demo) => {
            return Err(SetupError::Config(
                "--drill injects faults: only with --rehearsal or in the demo".into(),
            ));
        }
        Some(name) => Some(crate::backend::drill_faults::load(
            config.dir.as_deref(),
            name,
        )?),
        None => None,
    };
    let note_quota = drill.as_ref().and_then(|d| {
        d.faults.iter().find_map(|f| match f {
            crate::backend::drill_faults::Fault::NoteDiskFull { after_bytes, .. } => {
                Some(NoteQuota {
                    limit: Arc::new(std::sync::atomic::AtomicU64::new(u64::MAX)),
                    after_bytes: *after_bytes,
                })
            }
            _ => None,
        })
    });
    let backend: Arc<dyn Backend> = match &drill {
        Some(d) => {
            let mut layer = crate::backend::drill_faults::DrillFaults::new(
                backend,
                d.faults.clone(),
                clock.clone(),
            );
            if let Some(q) = &note_quota {
                layer = layer.with_quota(q.limit.clone());
            }
            Arc::new(layer)
        }
        None => backend,
    };
    Ok((backend, drill, note_quota))
}

/// The incident's id and where its note goes: `--resume`'s note, `--note`,
/// else a new one named for the time and the id in the notes directory.
fn incident_and_note(
    cli: &Cli,
    resumed: Option<&crate::note::resume::Resumed>,
    config: &Config,
    now: chrono::DateTime<chrono::Utc>,
) -> (String, PathBuf) {
    let incident = cli
        .incident
        .clone()
        .or_else(|| resumed.and_then(|r| r.incident.clone()))
        .unwrap_or_else(|| format!("INC-{}", now.format("%Y%m%d-%H%M")));
    let note_path = match (&cli.resume, &cli.note) {
        (Some(p), _) | (None, Some(p)) => p.clone(),
        (None, None) => {
            let p = crate::note::default_path(now, &incident);
            config
                .settings
                .note_dir
                .join(p.file_name().unwrap_or(p.as_os_str()))
        }
    };
    (incident, note_path)
}

/// What the core is told: the config's settings, the mode, the drill, the
/// targets' facts (IaC, verify needs, re-tag), the keymap and templates.
fn settings_for(
    config: &Config,
    cli: &Cli,
    mode: Mode,
    demo: bool,
    (incident, note_path): (&str, &std::path::Path),
    drill: Option<&crate::backend::drill_faults::DrillSpec>,
    ticket_label: Option<String>,
) -> Result<Settings, SetupError> {
    let mut settings = Settings::new(mode, incident, &note_path.display().to_string());
    settings.operator = operator();
    settings.thresholds = config.thresholds;
    settings.mutable_tags = config.settings.mutable_tags.clone();
    settings.rollout_timeout_secs = config.settings.rollout_timeout_secs;
    if let Some(v) = config.settings.verify_window_secs {
        settings.verify_window_secs = v;
        settings.verify_window_set = true;
    }
    settings.dry_run = cli.dry_run;
    settings.drill = drill.map(|d| crate::core::settings::Drill {
        title: d.title.clone(),
        faults: d
            .faults
            .iter()
            .map(|f| crate::core::settings::DrillFault {
                what: f.effect(),
                needle: f.needle(),
                target: f.target().map(str::to_string),
            })
            .collect(),
    });
    settings.iac = config
        .targets
        .iter()
        .filter_map(|t| {
            let tool = t.iac.clone()?;
            Some((
                t.name.clone(),
                crate::core::state::Iac {
                    tool,
                    stack: t.iac_stack.clone().unwrap_or_else(|| "?".into()),
                    key: t.iac_key.clone().unwrap_or_else(|| "image-tag".into()),
                },
            ))
        })
        .collect();
    settings.verify_needs = config
        .targets
        .iter()
        .filter_map(|t| {
            let ts = TargetSignals {
                probes: vec![],
                prometheus: t.prometheus.clone(),
            };
            crate::backend::signals::verify_need(&ts, &t.name).map(|n| (t.name.clone(), n))
        })
        .collect();
    settings.drill_stale_days = config.settings.drill_stale_after_days;
    settings.save_evidence = config.settings.save_evidence;
    settings.read_only_environments = config.read_only_environments();
    settings.retag = config
        .targets
        .iter()
        .filter(|t| t.retag)
        .map(|t| t.name.clone())
        .collect();
    settings.keymap =
        crate::config::load_keymap(config.dir.as_deref()).map_err(SetupError::File)?;
    settings.webhook = config
        .comms
        .webhook_url
        .as_deref()
        .map(crate::backend::webhook::host);
    settings.ticket = ticket_label;
    settings.comms = crate::runbook::load_comms(config.dir.as_deref()).map_err(SetupError::File)?;
    settings.groups = if demo && config.groups.is_empty() {
        crate::backend::demo::scenario::builtin_groups()
    } else {
        config.groups.clone()
    }
    .iter()
    .map(crate::config::GroupConfig::def)
    .collect();
    if demo {
        settings.verify_window_secs = settings.verify_window_secs.min(30);
    }
    Ok(settings)
}

/// Everything that can fail before the terminal is taken over fails here,
/// with a message for stderr.
pub async fn prepare(cli: &Cli, clock: Arc<dyn Clock>) -> Result<Session, SetupError> {
    let demo = matches!(cli.command, Some(Command::Demo { .. }));
    let config = match Config::locate(cli.config.as_deref()) {
        Some(p) => Config::load(&p).map_err(SetupError::File)?,
        None if demo => Config::default(),
        None => match kubeconfig_offer().await {
            Some(c) => c,
            None => return Err(SetupError::NoConfig),
        },
    };
    let mode = if cli.read_only {
        Mode::ReadOnly
    } else if cli.rehearsal {
        Mode::Rehearsal
    } else if demo {
        Mode::Demo
    } else {
        Mode::Live
    };
    let backend = platforms(&config, demo, &clock).await?;
    let (backend, ticket_label) = comms_layers(backend, &config)?;
    let (backend, drill, note_quota) = drill_layer(backend, cli, mode, &config, &clock)?;
    let runbooks = crate::runbook::load_all(config.dir.as_deref()).map_err(SetupError::File)?;
    let resumed = match &cli.resume {
        Some(p) => {
            let text = crate::files::read_text(p, "the note to resume", crate::files::NOTE_CAP)
                .map_err(SetupError::File)?;
            Some(crate::note::resume::parse(&text))
        }
        None => None,
    };
    let (incident, note_path) = incident_and_note(cli, resumed.as_ref(), &config, clock.now());
    let settings = settings_for(
        &config,
        cli,
        mode,
        demo,
        (&incident, &note_path),
        drill.as_ref(),
        ticket_label,
    )?;
    Ok(Session {
        note_quota,
        mode,
        backend,
        settings,
        runbooks,
        note_path,
        resumed,
        last_worked: crate::note::resume::last_worked(&config.settings.note_dir),
        origins: config
            .targets
            .iter()
            .map(|t| (t.name.clone(), t.at.clone()))
            .collect(),
    })
}
