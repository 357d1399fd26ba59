//! Command line. `rbtui` opens the console on the config's targets, `rbtui
//! demo` on the embedded simulated platform; `status`, `history` and `plan`
//! print what the console would show, for scripts and tickets.

use clap::{Parser, Subcommand};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "rbtui",
    version,
    about = "Terminal incident console for rolling back bad deploys"
)]
pub struct Cli {
    /// Config file (default: ./rbtui.toml, then $XDG_CONFIG_HOME/rbtui/config.toml).
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// Incident note file (default: ./incidents/<UTC-timestamp>-<incident>.md).
    #[arg(long, global = true, value_name = "PATH")]
    pub note: Option<PathBuf>,
    /// Incident id, e.g. INC-1234 (default: a timestamp id).
    #[arg(long, global = true, value_name = "ID")]
    pub incident: Option<String>,
    /// Tabletop drill: refuses every prod target; the note is marked as a rehearsal.
    #[arg(long, global = true, conflicts_with = "read_only")]
    pub rehearsal: bool,
    /// Inject a drill's faults (`drills/NAME.toml` next to the config, or a
    /// built-in one: bad-fallback, auto-sync-fights); only in a rehearsal
    /// or the demo.
    #[arg(long, global = true, value_name = "NAME")]
    pub drill: Option<String>,
    /// With --rehearsal: server-side dry runs only, nothing is changed
    /// (without it, a rehearsal really rolls staging back).
    #[arg(long, global = true, requires = "rehearsal")]
    pub dry_run: bool,
    /// Show everything, change nothing.
    #[arg(long, global = true)]
    pub read_only: bool,
    /// Continue an earlier incident note (same file, checklist restored).
    #[arg(long, global = true, value_name = "NOTE", conflicts_with = "note")]
    pub resume: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// The embedded demo platform with a scripted incident (works anywhere).
    Demo {
        #[command(subcommand)]
        read: Option<Read>,
    },
    #[command(flatten)]
    Read(Read),
    /// The schema gate on a git range, without a config: the migrations a
    /// rollback from --to (what runs now) back to --from (the rollback
    /// target) steps over, per file and per statement. Exits 2 on UNSAFE.
    Migrations {
        /// A local checkout of the service's code.
        #[arg(long, value_name = "PATH")]
        repo: PathBuf,
        /// The rollback target: a commit, tag or branch.
        #[arg(long, value_name = "REV")]
        from: String,
        /// What runs now.
        #[arg(long, value_name = "REV")]
        to: String,
        /// Path globs of migration files (default: the common layouts).
        #[arg(long = "glob", value_name = "GLOB")]
        globs: Vec<String>,
        #[arg(long)]
        json: bool,
    },
    /// A Markdown postmortem draft from the note: detection, mitigation
    /// and recovery times, what was rolled back where, migration verdicts,
    /// evidence, the runbooks' questions, an action item per open step.
    /// Written to NOTE's name with `.postmortem.md` (or --out); never over
    /// an existing file.
    Postmortem {
        note: PathBuf,
        #[arg(long, value_name = "PATH")]
        out: Option<PathBuf>,
    },
    /// Incident notes, for scripts and tickets.
    Note {
        #[command(subcommand)]
        action: NoteCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum NoteCommand {
    /// The note's timeline: one line per entry, or with --json the entries
    /// as structured data (time, kind, target, text, details, marker,
    /// evidence). The Markdown stays the record.
    Export {
        note: PathBuf,
        /// The same as `--format json`.
        #[arg(long, conflicts_with = "format")]
        json: bool,
        /// `text` (a line per entry), `json`, `markdown` (a GitHub or
        /// GitLab comment: no hidden markers, diffs as diff blocks) or
        /// `jira` (Jira's wiki markup).
        #[arg(long, value_enum, default_value = "text")]
        format: ExportFormat,
    },
    /// Attaches the note to the incident's ticket as one comment (GitHub,
    /// GitLab or Jira), with its evidence files where the system takes
    /// files; a later attach updates the same comment. The token comes
    /// from GITHUB_TOKEN (or `gh auth login`), GITLAB_TOKEN, or JIRA_USER +
    /// JIRA_API_TOKEN / JIRA_PAT.
    Attach {
        note: PathBuf,
        /// The issue: its URL, or `owner/repo#N` / `KEY-N` with `[ticket]
        /// system` in the config (default: `[ticket] issue`).
        #[arg(long, value_name = "REF")]
        to: Option<String>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ExportFormat {
    Text,
    Json,
    Markdown,
    Jira,
}

/// Read-only views sharing the console's core and backends.
#[derive(Debug, Subcommand, Clone)]
pub enum Read {
    /// Health and verdict of every target, worst first.
    Status {
        #[arg(long)]
        json: bool,
    },
    /// Revision history of one target, newest first.
    History {
        target: String,
        #[arg(long)]
        json: bool,
    },
    /// When each target's rollback runbook last worked, in a drill
    /// (--rehearsal) or for real, from the notes in note_dir. Exits 4 when
    /// any target's is older than settings.drill_stale_after_days (or never
    /// ran): for cron or CI.
    Drills {
        #[arg(long)]
        json: bool,
    },
    /// The first command to run on a new config: per target, where it is
    /// configured, whether the platform answers (with whom rbtui is), its
    /// history, the rights a rollback needs, each metric query and the
    /// registry; and whether the note directory takes a file. Each failure
    /// with its one-line fix. Changes nothing. Exits 3 when any check fails.
    Check {
        #[arg(long)]
        json: bool,
    },
    /// The rollback plan and its pre-flight checks; changes nothing.
    /// Exits 2 when a check blocks the plan.
    Plan {
        #[arg(required_unless_present = "group", conflicts_with = "group")]
        target: Option<String>,
        /// A `[[group]]` of the config: one plan with a section per target.
        #[arg(long, value_name = "NAME")]
        group: Option<String>,
        /// Revision, history id or spec to roll back to; `lkg` (the last
        /// known good) or `previous` (the one before the current).
        #[arg(long, value_name = "REVISION")]
        to: String,
        /// Kubernetes: restore the revision's template exactly (kubectl's
        /// semantics) instead of pinning mutable tags to the digests that
        /// ran, the default wherever the digest is known.
        #[arg(long)]
        exact_template: bool,
        /// The re-tag form (the ECR runbook's option B) for a target whose
        /// config sets `retag = true`: the mutable tag pointed at the
        /// revision's build, then a restart. Leaves no git trace.
        #[arg(long, conflicts_with_all = ["group", "exact_template"])]
        retag: bool,
        #[arg(long)]
        json: bool,
    },
}
