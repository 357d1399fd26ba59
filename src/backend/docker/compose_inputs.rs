//! Rolling a Compose service back through Compose, as the runbook does:
//! pin the version where the project reads it (`VERSION_VAR` in its env
//! file), swap the manifest pair, and run `docker compose up -d --no-build`.
//! Compose then keeps owning the container (networks, aliases, health
//! check, volumes, config hash) and a later `docker compose up -d` keeps the
//! good version. Only when the project's files are not reachable from here
//! does rbtui recreate the containers itself (see `recreate.rs`).

use crate::core::model::ComposeInputs;
use crate::core::plan::InputEdit;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Why the Compose CLI or the project's inputs could not be used. Each
/// text is what the operator reads: the CLI's own words where it gave any.
#[derive(Debug, thiserror::Error)]
pub enum ComposeError {
    #[error("no Compose CLI here (neither `docker compose` nor `docker-compose` runs)")]
    NoCli,
    /// The project's inputs cannot be pinned (and so rbtui would recreate
    /// the containers itself); why.
    #[error("{0}")]
    Inputs(String),
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("`{cli}` did not finish in {secs} s")]
    Timeout { cli: String, secs: u64 },
    #[error("cannot run {cli}: {source}")]
    Spawn { cli: String, source: std::io::Error },
    #[error("{cli} exited {code}: {said}")]
    Exit {
        cli: String,
        code: String,
        said: String,
    },
    /// The project was brought up by another major version of Compose
    /// than any installed here: v1 and v2 name containers differently
    /// (`p_web_1` / `p-web-1`), so the other one's `up` recreates them all.
    #[error(
        "the project was brought up with Compose {made_by} (its containers' com.docker.compose.version label), and only {installed} is installed here: a v{other} `up` would recreate the containers under other names; install Compose v{major} and run `{command}` in the project's directory, or pin the version and run it by hand"
    )]
    OtherMajor {
        made_by: String,
        installed: String,
        other: u32,
        major: u32,
        command: String,
    },
}

/// How the Compose CLI is invoked on this machine: the v2 plugin
/// (`docker compose`) or the standalone v1 (`docker-compose`).
#[derive(Debug, Clone, PartialEq)]
pub struct Cli(pub Vec<String>);

impl Cli {
    /// Every Compose CLI that runs here, with its major version
    /// (`version --short`: `1.29.2`, `2.26.1`, `v2.20.2`).
    pub async fn installed() -> Vec<(Cli, u32)> {
        let mut out = Vec::new();
        for prog in [vec!["docker", "compose"], vec!["docker-compose"]] {
            let said = tokio::process::Command::new(prog[0])
                .args(&prog[1..])
                .args(["version", "--short"])
                .stderr(std::process::Stdio::null())
                .output()
                .await;
            let Some(o) = said.ok().filter(|o| o.status.success()) else {
                continue;
            };
            let Some(major) = major_of(&String::from_utf8_lossy(&o.stdout)) else {
                continue;
            };
            out.push((Cli(prog.into_iter().map(String::from).collect()), major));
        }
        out
    }

    /// The CLI for a project brought up by Compose `made_by` (its
    /// containers' label): one of the same major version; without a label,
    /// the first installed. `up` (`-p P up -d --no-build S`) is what a
    /// refusal tells to run, with the CLI of the right version.
    pub fn choose<'a>(
        installed: &'a [(Cli, u32)],
        made_by: Option<&str>,
        up: &str,
    ) -> Result<&'a Cli, ComposeError> {
        let Some((first, _)) = installed.first() else {
            return Err(ComposeError::NoCli);
        };
        let Some(want) = made_by.and_then(major_of) else {
            return Ok(first);
        };
        if let Some((c, _)) = installed.iter().find(|(_, m)| *m == want) {
            return Ok(c);
        }
        let names: Vec<String> = installed
            .iter()
            .map(|(c, m)| format!("`{}` (v{m})", c.0.join(" ")))
            .collect();
        Err(ComposeError::OtherMajor {
            made_by: made_by.unwrap_or_default().to_string(),
            installed: names.join(" and "),
            other: installed[0].1,
            major: want,
            command: format!(
                "{} {up}",
                if want == 1 {
                    "docker-compose"
                } else {
                    "docker compose"
                }
            ),
        })
    }
}

/// `1.29.2`, `v2.26.1`, `2.20.2-desktop.1` → the major version.
fn major_of(v: &str) -> Option<u32> {
    v.trim()
        .trim_start_matches('v')
        .split('.')
        .next()?
        .parse()
        .ok()
}

/// The project as its containers (or the target's config) describe it.
#[derive(Debug, Clone, PartialEq)]
pub struct Project {
    pub name: String,
    pub service: String,
    pub files: Vec<PathBuf>,
    pub dir: PathBuf,
    pub env_file: PathBuf,
    pub var: String,
}

impl Project {
    /// From the target's settings, else the labels Compose put on the
    /// containers. Err says why the inputs cannot be used (and so why rbtui
    /// falls back to recreating the containers itself).
    pub fn discover(
        name: &str,
        service: &str,
        files: &[PathBuf],
        var: Option<&str>,
        env_file: Option<&Path>,
        labels: &HashMap<String, String>,
    ) -> Result<Project, ComposeError> {
        let unusable = |why: String| Err(ComposeError::Inputs(why));
        let Some(var) = var else {
            return unusable("no `version_var` is configured for this target".into());
        };
        let workdir = labels
            .get("com.docker.compose.project.working_dir")
            .map(PathBuf::from);
        // Compose v1 records the files as given (often relative to the
        // project directory); v2 records absolute paths.
        let files: Vec<PathBuf> = if files.is_empty() {
            labels
                .get("com.docker.compose.project.config_files")
                .map(|f| {
                    f.split(',')
                        .map(|p| match &workdir {
                            Some(d) if Path::new(p).is_relative() => d.join(p),
                            _ => PathBuf::from(p),
                        })
                        .collect()
                })
                .unwrap_or_default()
        } else {
            files.to_vec()
        };
        if files.is_empty() {
            return unusable(
                "the containers name no compose files and `compose_files` is not set".into(),
            );
        }
        if let Some(f) = files.iter().find(|f| !f.is_file()) {
            return unusable(format!("compose file {} is not readable here", f.display()));
        }
        let dir = workdir
            .or_else(|| files[0].parent().map(Path::to_path_buf))
            .unwrap_or_default();
        let env_file = env_file
            .map(Path::to_path_buf)
            .unwrap_or_else(|| dir.join(".env"));
        if !env_file.is_file() {
            return unusable(format!("env file {} does not exist", env_file.display()));
        }
        let reads = files.iter().any(|f| {
            std::fs::read_to_string(f).is_ok_and(|t| {
                t.contains(&format!("${{{var}}}"))
                    || t.contains(&format!("${{{var}:"))
                    || t.contains(&format!("${{{var}-"))
                    || t.contains(&format!("${var}"))
            })
        });
        if !reads {
            return unusable(format!(
                "the compose files do not read ${{{var}}}: pinning it would change nothing"
            ));
        }
        Ok(Project {
            name: name.into(),
            service: service.into(),
            files,
            dir,
            env_file,
            var: var.into(),
        })
    }

    /// `-p … --project-directory … -f … --env-file … up -d --no-build SERVICE`.
    pub fn up_args(&self) -> Vec<String> {
        let mut a = vec![
            "-p".to_string(),
            self.name.clone(),
            "--project-directory".into(),
            self.dir.display().to_string(),
        ];
        for f in &self.files {
            a.push("-f".into());
            a.push(f.display().to_string());
        }
        a.extend([
            "--env-file".into(),
            self.env_file.display().to_string(),
            "up".into(),
            "-d".into(),
            "--no-build".into(),
            self.service.clone(),
        ]);
        a
    }

    pub fn inputs(&self, cli: &Cli, manifest: Option<(String, String)>) -> ComposeInputs {
        ComposeInputs {
            env_file: self.env_file.display().to_string(),
            var: self.var.clone(),
            current: read_var(&self.env_file, &self.var),
            manifest,
            up: cli
                .0
                .iter()
                .chain(&self.up_args())
                .cloned()
                .collect::<Vec<_>>()
                .join(" "),
        }
    }
}

/// `VAR=value` from an env file (`export `, quotes and comments allowed).
pub fn read_var(file: &Path, var: &str) -> Option<String> {
    let text = std::fs::read_to_string(file).ok()?;
    text.lines().rev().find_map(|l| {
        let l = l.trim().strip_prefix("export ").unwrap_or(l.trim());
        let (k, v) = l.split_once('=')?;
        (k.trim() == var).then(|| {
            let v = v.trim();
            v.strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .or_else(|| v.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')))
                .unwrap_or(v)
                .to_string()
        })
    })
}

/// The env file's text with `var=value` replacing every line that set it
/// (or appended): other lines, comments and order are kept.
pub fn with_var(text: &str, var: &str, value: &str) -> String {
    let mut found = false;
    let mut out: Vec<String> = text
        .lines()
        .map(|l| {
            let t = l.trim_start();
            let t = t.strip_prefix("export ").unwrap_or(t);
            match t.split_once('=') {
                Some((k, _)) if k.trim() == var => {
                    found = true;
                    format!("{var}={value}")
                }
                _ => l.to_string(),
            }
        })
        .collect();
    if !found {
        out.push(format!("{var}={value}"));
    }
    out.join("\n") + "\n"
}

/// Writes beside the file and renames over it after fsync: a crash leaves
/// the old file or the new one, never half of each.
fn write_atomically(path: &Path, text: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let tmp = path.with_extension("rbtui-tmp");
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(text)?;
    f.sync_all()?;
    if let Ok(meta) = std::fs::metadata(path) {
        let _ = std::fs::set_permissions(&tmp, meta.permissions());
    }
    std::fs::rename(&tmp, path)
}

/// Applies one planned edit with a backup first; the summary is what was
/// read back after writing. Refuses when the file no longer says what
/// the plan saw.
pub fn apply(edit: &InputEdit) -> Result<String, EditError> {
    match edit {
        InputEdit::PinVar {
            file,
            var,
            from,
            to,
        } => {
            let path = Path::new(file);
            let now = read_var(path, var);
            if now != *from && now.as_deref() != Some(to) {
                return Err(EditError::Changed(format!(
                    "{file} now says {var}={} (the plan saw {}); nothing was written",
                    now.as_deref().unwrap_or("unset"),
                    from.as_deref().unwrap_or("unset")
                )));
            }
            let text = std::fs::read_to_string(path).map_err(|e| {
                EditError::Failed(format!("cannot read {file}, nothing written: {e}"))
            })?;
            let bak = InputEdit::backup_of(file);
            std::fs::write(&bak, &text).map_err(|e| {
                EditError::Failed(format!("backup {bak} failed, nothing written: {e}"))
            })?;
            write_atomically(path, with_var(&text, var, to).as_bytes()).map_err(|e| {
                EditError::Failed(format!("writing {file} failed (backup {bak}): {e}"))
            })?;
            match read_var(path, var) {
                Some(v) if v == *to => Ok(format!(
                    "{var}={to} in {file}, read back after writing (was {}; backup {bak})",
                    from.as_deref().unwrap_or("unset")
                )),
                other => Err(EditError::Failed(format!(
                    "{file} reads {var}={} after writing {to}; the backup is {bak}",
                    other.as_deref().unwrap_or("unset")
                ))),
            }
        }
        InputEdit::SwapManifest { live, versioned } => {
            let new = std::fs::read(versioned).map_err(|e| {
                EditError::Changed(format!(
                    "no manifest {versioned} ({e}): image and manifest roll back as a pair; nothing written"
                ))
            })?;
            let bak = InputEdit::backup_of(live);
            if Path::new(live).exists() {
                std::fs::copy(live, &bak).map_err(|e| {
                    EditError::Failed(format!("backup {bak} failed, nothing written: {e}"))
                })?;
            }
            write_atomically(Path::new(live), &new).map_err(|e| {
                EditError::Failed(format!("writing {live} failed (backup {bak}): {e}"))
            })?;
            if std::fs::read(live).ok().as_deref() == Some(new.as_slice()) {
                Ok(format!(
                    "manifest {live} ← {versioned}, read back (backup {bak})"
                ))
            } else {
                Err(EditError::Failed(format!(
                    "{live} does not read back as {versioned}; the backup is {bak}"
                )))
            }
        }
    }
}

/// Puts a backed-up input back (after a failed `up`).
pub fn restore(edit: &InputEdit) -> Result<String, ComposeError> {
    let file = match edit {
        InputEdit::PinVar { file, .. } => file,
        InputEdit::SwapManifest { live, .. } => live,
    };
    let bak = InputEdit::backup_of(file);
    let io = |path: &str| {
        let path = path.to_string();
        move |source| ComposeError::Io { path, source }
    };
    let text = std::fs::read(&bak).map_err(io(&bak))?;
    write_atomically(Path::new(file), &text).map_err(io(file))?;
    Ok(format!("{file} restored from {bak}"))
}

#[derive(Debug)]
pub enum EditError {
    /// The file is not what the plan saw: nothing was written.
    Changed(String),
    Failed(String),
}

/// Runs the Compose CLI against the target's engine. The version variable
/// is taken out of the environment so the env file decides, as it will for
/// the next person who runs `docker compose up`.
pub async fn run(
    cli: &Cli,
    args: &[String],
    docker_host: &str,
    var: &str,
    timeout: Duration,
) -> Result<String, ComposeError> {
    let mut cmd = tokio::process::Command::new(&cli.0[0]);
    cmd.args(&cli.0[1..])
        .args(args)
        .env("DOCKER_HOST", docker_host)
        .env_remove(var)
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true);
    let out = tokio::time::timeout(timeout, cmd.output())
        .await
        .map_err(|_| ComposeError::Timeout {
            cli: cli.0.join(" "),
            secs: timeout.as_secs(),
        })?
        .map_err(|source| ComposeError::Spawn {
            cli: cli.0.join(" "),
            source,
        })?;
    let text = |b: &[u8]| {
        String::from_utf8_lossy(b)
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(str::trim)
            .collect::<Vec<_>>()
            .join("; ")
    };
    let said = [text(&out.stderr), text(&out.stdout)]
        .into_iter()
        .filter(|t| !t.is_empty())
        .collect::<Vec<_>>()
        .join("; ");
    if out.status.success() {
        Ok(said)
    } else {
        Err(ComposeError::Exit {
            cli: cli.0.join(" "),
            code: out
                .status
                .code()
                .map_or("by a signal".into(), |c| c.to_string()),
            said,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_var_is_replaced_where_it_was_and_everything_else_kept() {
        let t = "# shop\nDB_URL=postgres://x\nexport WEB_VERSION=\"v3\"\nOTHER=1\n";
        assert_eq!(
            with_var(t, "WEB_VERSION", "v1"),
            "# shop\nDB_URL=postgres://x\nWEB_VERSION=v1\nOTHER=1\n"
        );
        assert_eq!(with_var("A=1", "B", "2"), "A=1\nB=2\n");
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join(".env");
        std::fs::write(&f, t).unwrap();
        assert_eq!(read_var(&f, "WEB_VERSION").as_deref(), Some("v3"));
    }

    #[test]
    fn a_pin_backs_up_reads_back_and_refuses_a_file_that_moved() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join(".env");
        std::fs::write(&f, "WEB_VERSION=v3\n").unwrap();
        let file = f.display().to_string();
        let edit = |from: &str| InputEdit::PinVar {
            file: file.clone(),
            var: "WEB_VERSION".into(),
            from: Some(from.into()),
            to: "v1".into(),
        };
        assert!(matches!(apply(&edit("v2")), Err(EditError::Changed(_))));
        assert_eq!(std::fs::read_to_string(&f).unwrap(), "WEB_VERSION=v3\n");
        let s = apply(&edit("v3")).unwrap();
        assert!(s.contains("read back"), "{s}");
        assert_eq!(read_var(&f, "WEB_VERSION").as_deref(), Some("v1"));
        restore(&edit("v3")).unwrap();
        assert_eq!(read_var(&f, "WEB_VERSION").as_deref(), Some("v3"));
    }

    /// The CLI of the major version that brought the project up; none of
    /// it installed is a refusal naming the command to run, never the
    /// other version (v1 `p_web_1` vs v2 `p-web-1`: it would take over).
    #[test]
    fn the_cli_is_the_one_that_brought_the_project_up() {
        let v2 = Cli(vec!["docker".into(), "compose".into()]);
        let v1 = Cli(vec!["docker-compose".into()]);
        let both = vec![(v2.clone(), 2), (v1.clone(), 1)];
        let up = "-p shop up -d --no-build web";
        assert_eq!(Cli::choose(&both, Some("1.29.2"), up).unwrap(), &v1);
        assert_eq!(Cli::choose(&both, Some("2.26.1"), up).unwrap(), &v2);
        assert_eq!(Cli::choose(&both, None, up).unwrap(), &v2);
        let only_v2 = vec![(v2, 2)];
        let e = Cli::choose(&only_v2, Some("1.29.2"), up).unwrap_err();
        assert!(
            e.to_string().contains(
                "install Compose v1 and run `docker-compose -p shop up -d --no-build web`"
            ),
            "{e}"
        );
        assert!(matches!(
            Cli::choose(&[], None, up),
            Err(ComposeError::NoCli)
        ));
        assert_eq!(major_of("v2.20.2-desktop.1"), Some(2));
    }
}
