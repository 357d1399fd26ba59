use clap::Parser;
use rbtui::backend::clock::SystemClock;
use rbtui::cli::{Cli, Command};
use rbtui::core::action::{Action, NoteEntry, Recorded};
use rbtui::core::entry::{EntryKind, Marker};
use rbtui::core::state::State;
use rbtui::note::{NoteWriter, render};
use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::Arc;

fn main() -> ExitCode {
    rbtui::memory::few_arenas();
    // Before ratatui::init(), so a panic report is printed on a restored terminal.
    let _ = color_eyre::install();
    let cli = Cli::parse();
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("rbtui: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    // One dispatch: each subcommand to its function. Only the read
    // commands and the console need a session (config, backends).
    use rbtui::cli::NoteCommand;
    match &cli.command {
        Some(Command::Migrations {
            repo,
            from,
            to,
            globs,
            json,
        }) => rt.block_on(rbtui::commands::migrations(repo, from, to, globs, *json)),
        Some(Command::Note {
            action: NoteCommand::Export { note, json, format },
        }) => {
            let format = if *json {
                rbtui::cli::ExportFormat::Json
            } else {
                *format
            };
            rbtui::commands::export_note(note, format)
        }
        Some(Command::Note {
            action: NoteCommand::Attach { note, to },
        }) => rt.block_on(rbtui::commands::attach_note(
            note,
            to.as_deref(),
            cli.config.as_deref(),
        )),
        Some(Command::Postmortem { note, out }) => {
            rbtui::commands::postmortem(note, out.as_deref())
        }
        Some(Command::Read(r)) | Some(Command::Demo { read: Some(r) }) => {
            match session(&rt, &cli) {
                Ok(s) => rt.block_on(rbtui::commands::run(r.clone(), &s)),
                Err(code) => code,
            }
        }
        Some(Command::Demo { read: None }) | None => match session(&rt, &cli) {
            Ok(s) => console(&rt, &s),
            Err(code) => code,
        },
    }
}

/// The session (config, backends), or its one-line reason on stderr.
fn session(rt: &tokio::runtime::Runtime, cli: &Cli) -> Result<rbtui::session::Session, ExitCode> {
    rt.block_on(rbtui::session::prepare(cli, Arc::new(SystemClock)))
        .map_err(|e| {
            eprintln!("{e}");
            ExitCode::from(2)
        })
}

/// The console: the note opened (a resume continues it), the first
/// state, the terminal taken, the event loop run, and what the note could
/// not take said at exit.
fn console(rt: &tokio::runtime::Runtime, session: &rbtui::session::Session) -> ExitCode {
    // The console needs a terminal; say so before any note is created.
    if !std::io::stdin().is_terminal() || !std::io::stdout().is_terminal() {
        eprintln!(
            "rbtui: the console needs a terminal (stdin and stdout must be a TTY); for scripts use `rbtui status`, `rbtui history` or `rbtui plan`"
        );
        return ExitCode::from(2);
    }
    let now = chrono::Utc::now();
    let targets = match rt.block_on(session.backend.targets()) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("rbtui: cannot list targets: {e}");
            return ExitCode::from(2);
        }
    };
    let (note, state) = match open_note(session, &targets, now) {
        Ok(n) => n,
        Err(e) => {
            eprintln!(
                "rbtui: cannot write the incident note {}: {e}",
                session.note_path.display()
            );
            return ExitCode::from(2);
        }
    };
    let mut state = state;
    for (t, w) in &session.last_worked {
        state.row_mut(t).last_worked = *w;
    }
    rbtui::core::update(&mut state, Action::TargetsLoaded(Ok(targets)));
    let mut terminal = rbtui::app::take_terminal();
    record_panics(session.note_path.clone());
    let first: Vec<Action> = session
        .resumed
        .iter()
        .map(|r| Action::Resumed {
            incident: r.model.clone(),
            checklists: r.checklists.clone(),
        })
        .collect();
    let result = rt.block_on(rbtui::app::run(
        &mut terminal,
        state,
        note,
        session.backend.clone(),
        first,
    ));
    rbtui::app::give_back_terminal();
    match result {
        Ok(state) => {
            eprintln!("incident note: {}", session.note_path.display());
            held_at_exit(&session.note_path, &state)
        }
        Err(e) => {
            eprintln!(
                "rbtui: terminal error: {e}\nincident note: {}",
                session.note_path.display()
            );
            ExitCode::FAILURE
        }
    }
}

/// Opens the note (its header for a new one, a resume heading for an
/// existing one; behind the drill's quota where a drill fills the disk),
/// records the session's start, and gives the state that knows it.
fn open_note(
    session: &rbtui::session::Session,
    targets: &[rbtui::core::model::TargetInfo],
    now: chrono::DateTime<chrono::Utc>,
) -> std::io::Result<(NoteWriter, State)> {
    let header = render::header(&render::Header {
        incident: session.settings.incident.clone(),
        operator: session.settings.operator.clone(),
        host: rbtui::session::host(),
        mode: session.mode.label().to_string(),
        version: env!("CARGO_PKG_VERSION").to_string(),
        started: now,
        note_path: session.note_path.display().to_string(),
        targets: targets
            .iter()
            .map(|t| {
                format!(
                    "{} ({}, {}, {})",
                    t.name,
                    t.kind.label(),
                    t.environment,
                    t.location
                )
            })
            .collect(),
        rehearsal: session.mode == rbtui::core::model::Mode::Rehearsal,
        dry_run: session.settings.dry_run,
    });
    let resumed = render::resumed(now, session.mode.label(), &session.settings.operator);
    let mut note = NoteWriter::open(&session.note_path, &header, &resumed)?;
    // A drill's full disk: from here the note may grow only so much.
    if let Some(q) = &session.note_quota {
        drop(note);
        let file = std::fs::OpenOptions::new()
            .read(true)
            .append(true)
            .open(&session.note_path)?;
        if let Some(bytes) = q.after_bytes {
            let limit = file.metadata()?.len() + bytes;
            q.limit.store(limit, std::sync::atomic::Ordering::SeqCst);
        }
        note = NoteWriter::on(
            Box::new(rbtui::note::quota::Quota::drill(file, q.limit.clone())),
            &session.note_path,
        )?;
    }
    let start = NoteEntry {
        at: now,
        kind: EntryKind::Session,
        target: None,
        text: format!(
            "{} session {} by {} on {}",
            session.mode.label(),
            if session.resumed.is_some() {
                "resumed"
            } else {
                "started"
            },
            session.settings.operator,
            rbtui::session::host()
        ),
        details: vec![],
        marker: None,
    };
    note.append(&start)?;
    let mut state = State::new(session.settings.clone(), session.runbooks.clone(), now);
    rbtui::core::update(
        &mut state,
        Action::Recorded(Recorded {
            at: now,
            kind: start.kind,
            summary: rbtui::app::summary(&start),
        }),
    );
    Ok((note, state))
}

/// Entries the note never took (its disk full or gone at the end) are not
/// lost quietly: kept in a file beside the note — or, when that cannot be
/// written either, printed here — said on stderr, and the exit is 4.
fn held_at_exit(note: &std::path::Path, state: &State) -> ExitCode {
    if state.note_backlog.is_empty() && state.note_error.is_none() {
        return ExitCode::SUCCESS;
    }
    let error = state
        .note_error
        .as_ref()
        .map(|f| f.error.clone())
        .unwrap_or_else(|| "the note could not be written".into());
    let n = state.note_backlog.len();
    match rbtui::note::held::keep(note, &state.note_backlog, &error) {
        Ok(p) => eprintln!(
            "rbtui: the note could not take {n} entries ({error}); they are kept in {}",
            p.display()
        ),
        Err(e) => {
            eprintln!(
                "rbtui: the note could not take {n} entries ({error}), nor a file beside it ({e}); here they are:"
            );
            eprint!("{}", rbtui::note::held::render(&state.note_backlog, &error));
        }
    }
    ExitCode::from(4)
}

/// A panic anywhere (the UI thread or any task) ends the session: the
/// terminal is restored, the note gets "rbtui crashed: …" as a whole entry
/// of its own, and the process exits 101. A console whose tasks could die
/// quietly would show data nobody is reading any more.
fn record_panics(note_path: std::path::PathBuf) {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        rbtui::app::give_back_terminal();
        let entry = NoteEntry {
            at: chrono::Utc::now(),
            kind: EntryKind::Crash,
            target: None,
            text: format!("rbtui crashed: {info}"),
            details: vec![
                "the session ended here; resume with --resume to continue this note".into(),
            ],
            marker: Some(Marker::End),
        };
        // A separate handle: the writer may be mid-append on the crashing
        // thread. A new line first, in case that append was cut.
        let text = format!("\n{}", render::entry(&entry));
        let _ = std::fs::OpenOptions::new()
            .append(true)
            .open(&note_path)
            .and_then(|mut f| {
                std::io::Write::write_all(&mut f, text.as_bytes()).and_then(|()| f.sync_data())
            });
        previous(info);
        eprintln!("incident note: {}", note_path.display());
        std::process::exit(101);
    }));
}
