//! Why rbtui cannot start: everything that fails before the terminal is
//! taken over, said on stderr in one line (exit 2). The kinds tell a
//! broken file from a missing credential from a platform that cannot be
//! addressed, so the message names what to fix.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// No config was found and no kubeconfig offered a start.
    #[error("{}", crate::config::HOW_TO)]
    NoConfig,
    /// A file rbtui reads at start (config, drill, runbook, keymap, a note
    /// to resume) is missing or broken; the text names the file and line.
    #[error("{0}")]
    File(String),
    /// A file that could not be read at all.
    #[error("{what} {}: {source}", path.display())]
    Unreadable {
        what: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    /// The config asks for something it cannot have (a drill in live
    /// mode, an Argo CD target without a server, no target at all).
    #[error("{0}")]
    Config(String),
    /// `--drill NAME` names no drill rbtui knows.
    #[error(
        "no drill `{name}`: none in drills/ next to the config, and the built-in ones are {known}"
    )]
    UnknownDrill { name: String, known: String },
    /// No Argo CD token could be found for a server.
    #[error(
        "no Argo CD token for {host}: set ARGOCD_AUTH_TOKEN or run `argocd login {host}` (looked in {looked_in})"
    )]
    NoToken { host: String, looked_in: String },
    /// `DOCKER_HOST` (or `docker_host`) is not an address bollard speaks.
    #[error("DOCKER_HOST {0}: expected unix://, tcp://, https:// or ssh://")]
    DockerHost(String),
    /// No kubeconfig and not in a cluster.
    #[error("no usable kubeconfig or in-cluster config: {0}")]
    NoKubeconfig(String),
    /// A platform client could not be built (a CA file that is not PEM,
    /// TLS material that does not load).
    #[error("{0}")]
    Client(String),
}
