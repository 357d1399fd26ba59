//! The runtime: one `tokio::select!` over terminal input, backend results and
//! a clock tick. It performs the core's effects and redraws only when the
//! core says something visible changed.

pub mod effects;
pub mod headless;
pub mod input;
pub mod script;

use crate::backend::{Backend, Change};
use crate::core::action::{Action, BackendError, Effect, NoteEntry, Recorded};
use crate::core::state::Popup;
use crate::core::{State, update};
use crate::note::NoteWriter;
use crate::ui::Ui;
use crossterm::event::{Event, KeyCode, KeyModifiers};
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::task::JoinSet;

/// Where the note's entries go: the file in the console; the scripted
/// runtime may run without one.
pub trait Journal {
    fn append(&mut self, e: &NoteEntry) -> Result<(), String>;
    /// Why the summary on top just stopped following the timeline (once,
    /// when it starts failing): the core records it, so the note and the
    /// screen say the first screen of the note is stale.
    fn summary_failed(&mut self) -> Option<String> {
        None
    }
}

impl Journal for NoteWriter {
    fn append(&mut self, e: &NoteEntry) -> Result<(), String> {
        NoteWriter::append(self, e).map_err(|err| format!("{}: {err}", self.path().display()))
    }
    fn summary_failed(&mut self) -> Option<String> {
        self.take_summary_failure()
    }
}

/// What one `drive` did that the runtime itself acts on.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Driven {
    /// Operator notes (the editor's text) the note could not take.
    pub notes_failed: usize,
}

/// Runs the effects of one action and everything that follows from them,
/// in order. Entries are written durably before the next effect runs. A
/// mutation is sent only when its own announcement is on disk and no write
/// has failed during this drive; otherwise the core hears "nothing was
/// sent" and the plan stops there.
pub fn drive(
    state: &mut State,
    journal: &mut dyn Journal,
    first: Action,
    mut perform: impl FnMut(Effect),
) -> Driven {
    let mut out = Driven::default();
    // The first write that failed in this drive, and why: every later
    // entry is held behind it (in order) and no mutation is sent.
    let mut failed: Option<String> = None;
    let mut queue = VecDeque::from([first]);
    while let Some(a) = queue.pop_front() {
        for fx in update(state, a) {
            match fx {
                Effect::Record(e) => {
                    let r = match &failed {
                        Some(why) => Err(why.clone()),
                        None => write(journal, &e, &mut queue),
                    };
                    if let Err(error) = r {
                        failed.get_or_insert(error.clone());
                        if e.kind == crate::core::entry::EntryKind::Note {
                            out.notes_failed += 1;
                        }
                        queue.push_back(Action::RecordFailed { entry: e, error });
                    }
                }
                Effect::Execute {
                    plan,
                    step,
                    announce,
                    dry_run,
                } => {
                    let gate = match &failed {
                        Some(why) => Err(why.clone()),
                        None => write(journal, &announce, &mut queue),
                    };
                    match gate {
                        Ok(()) => perform(Effect::Execute {
                            plan,
                            step,
                            announce,
                            dry_run,
                        }),
                        Err(error) => {
                            failed.get_or_insert(error.clone());
                            queue.push_back(Action::StepFinished {
                                plan_id: plan.id,
                                step,
                                result: Err(BackendError::NotSent(format!(
                                    "the note could not take the entry announcing step {} ({error})",
                                    step + 1
                                ))),
                            });
                            queue.push_back(Action::RecordFailed {
                                entry: announce,
                                error,
                            });
                        }
                    }
                }
                other => perform(other),
            }
        }
    }
    out
}

fn write(
    journal: &mut dyn Journal,
    e: &NoteEntry,
    queue: &mut VecDeque<Action>,
) -> Result<(), String> {
    journal.append(e)?;
    queue.push_back(Action::Recorded(Recorded {
        at: e.at,
        kind: e.kind,
        summary: summary(e),
    }));
    if let Some(why) = journal.summary_failed() {
        queue.push_back(Action::SummaryStale(why));
    }
    Ok(())
}

/// One line for the activity pane: exactly the (redacted) words the note got.
pub fn summary(e: &NoteEntry) -> String {
    let t = e
        .target
        .as_deref()
        .map(|t| format!(" {t}"))
        .unwrap_or_default();
    crate::note::render::redact(&format!("{}{}: {}", e.kind, t, e.text))
}

/// Reads whose answer only matters while they are the newest of their kind
/// for their target: a history read, or the migrations of a plan that was
/// replaced, is cancelled when the next one for the same target starts.
/// Per target: a group's plan reads every member at once, and none of
/// those reads may cancel another's.
#[derive(Default)]
struct Superseded {
    newest: std::collections::HashMap<(&'static str, String), tokio::task::AbortHandle>,
}

impl Superseded {
    /// The key an effect is superseded under, if it can be.
    fn key(fx: &Effect) -> Option<(&'static str, String)> {
        match fx {
            Effect::LoadHistory(t) => Some(("history", t.clone())),
            Effect::LoadMigrations { plan, .. } => Some(("migrations", plan.target.name.clone())),
            _ => None,
        }
    }

    /// Records the newest read under its key, aborting the one it replaces.
    fn replace(&mut self, key: (&'static str, String), handle: tokio::task::AbortHandle) {
        if let Some(old) = self.newest.insert(key, handle) {
            old.abort();
        }
    }
}

/// Performs an effect on a task the runtime owns: every task ends with the
/// session (the set aborts what is left when it is dropped).
fn spawn_effect(
    tasks: &mut JoinSet<()>,
    reads: &mut Superseded,
    backend: &Arc<dyn Backend>,
    tx: &mpsc::UnboundedSender<Action>,
    fx: Effect,
) {
    let key = Superseded::key(&fx);
    let b = backend.clone();
    let tx = tx.clone();
    let handle = tasks.spawn(async move {
        let d = effects::delay_ms(&fx);
        if d > 0 {
            tokio::time::sleep(Duration::from_millis(d)).await;
        }
        if let Some(a) = effects::perform(b.as_ref(), fx).await {
            let _ = tx.send(a);
        }
    });
    if let Some(key) = key {
        reads.replace(key, handle);
    }
    // Reap what has finished so the set stays small over a long incident.
    while tasks.try_join_next().is_some() {}
}

/// Starts the pollers that feed the core.
fn spawn_pollers(
    tasks: &mut JoinSet<()>,
    backend: Arc<dyn Backend>,
    tx: mpsc::UnboundedSender<Action>,
) {
    let b = backend.clone();
    let t = tx.clone();
    tasks.spawn(async move {
        let _ = t.send(Action::TargetsLoaded(b.targets().await));
    });
    let (changes_tx, changes) = mpsc::unbounded_channel();
    backend.subscribe(changes_tx);
    tasks.spawn(async move {
        let every = backend.poll_interval();
        let mut changes = Some(changes);
        loop {
            let r = backend.health_all().await;
            for a in effects::health_actions(r) {
                if tx.send(a).is_err() {
                    return;
                }
            }
            // The next poll, or sooner when a watch sees a change.
            let Some(rx) = changes.as_mut() else {
                tokio::time::sleep(every).await;
                continue;
            };
            tokio::select! {
                _ = tokio::time::sleep(every) => {}
                c = rx.recv() => match c {
                    None => changes = None,
                    Some(c) => {
                        // A burst of changes (a rollout) is read once.
                        tokio::time::sleep(Duration::from_millis(5)).await;
                        let mut seen = vec![c];
                        while let Ok(c) = rx.try_recv() {
                            seen.push(c);
                        }
                        let mut history: Vec<String> = seen
                            .into_iter()
                            .filter_map(|c| match c {
                                Change::History(t) => Some(t),
                                Change::Health => None,
                            })
                            .collect();
                        history.sort();
                        history.dedup();
                        for t in history {
                            let _ = tx.send(Action::HistoryChanged(t));
                        }
                    }
                },
            }
        }
    });
}

/// SIGTERM, SIGHUP, SIGINT and SIGQUIT end the session cleanly: recorded,
/// terminal restored. SIGTSTP suspends with the terminal restored.
fn spawn_signals(tasks: &mut JoinSet<()>, tx: mpsc::UnboundedSender<Action>) {
    use tokio::signal::unix::{SignalKind, signal};
    for (kind, name) in [
        (SignalKind::terminate(), "SIGTERM"),
        (SignalKind::hangup(), "SIGHUP"),
        (SignalKind::interrupt(), "SIGINT"),
        (SignalKind::quit(), "SIGQUIT"),
    ] {
        let tx = tx.clone();
        if let Ok(mut s) = signal(kind) {
            tasks.spawn(async move {
                if s.recv().await.is_some() {
                    let _ = tx.send(Action::Shutdown(format!("received {name}")));
                }
            });
        }
    }
}

/// Terminal input on a thread of its own, read with crossterm's blocking
/// `read` over its level-triggered /dev/tty source. crossterm's default
/// (mio, edge-triggered) source leaves bytes past the first 2 KiB of a burst
/// unread until the next key press, so a paste of 3,400 characters lost its
/// Ctrl-S (crossterm-rs/crossterm#1057); its EventStream over the /dev/tty
/// source delivers one event per wake-up (about 60 a second). The thread
/// ends with the process.
fn spawn_input() -> mpsc::UnboundedReceiver<std::io::Result<Event>> {
    let (tx, rx) = mpsc::unbounded_channel();
    std::thread::spawn(move || {
        loop {
            let ev = crossterm::event::read();
            let stop = ev.is_err();
            if tx.send(ev).is_err() || stop {
                return;
            }
        }
    });
    rx
}

/// Takes the terminal: raw mode, alternate screen, bracketed paste so a
/// pasted block reaches the notes editor as one event, and the mouse
/// (click to focus and select, wheel to scroll; Shift keeps the
/// terminal's own selection, and `y` copies).
pub fn take_terminal() -> ratatui::DefaultTerminal {
    let t = ratatui::init();
    let _ = crossterm::execute!(
        std::io::stdout(),
        crossterm::event::EnableBracketedPaste,
        crossterm::event::EnableMouseCapture
    );
    t
}

/// As `take_terminal`, saying why when there is no terminal to take (it
/// went away while the process was stopped).
fn retake_terminal() -> std::io::Result<ratatui::DefaultTerminal> {
    let t = ratatui::try_init()?;
    let _ = crossterm::execute!(
        std::io::stdout(),
        crossterm::event::EnableBracketedPaste,
        crossterm::event::EnableMouseCapture
    );
    Ok(t)
}

/// Gives the terminal back as it was found.
pub fn give_back_terminal() {
    let _ = crossterm::execute!(
        std::io::stdout(),
        crossterm::event::DisableMouseCapture,
        crossterm::event::DisableBracketedPaste
    );
    ratatui::restore();
}

/// Gives the terminal back, stops the process (as the shell expects of
/// Ctrl-Z) and takes the terminal again once the shell resumes it; the
/// screen is drawn anew.
#[allow(unsafe_code)] // kill(2) on our own pid: see SAFETY below.
fn suspend(terminal: &mut ratatui::DefaultTerminal, state: &mut State) -> std::io::Result<()> {
    state.dirty = true;
    give_back_terminal();
    // SIGSTOP cannot be caught: this returns once SIGCONT arrives.
    // SAFETY: kill(2) on our own pid has no memory effects.
    unsafe {
        libc::kill(libc::getpid(), libc::SIGSTOP);
    }
    *terminal = retake_terminal()?;
    terminal.clear()
}

/// What one terminal event asks of the loop.
enum Typed {
    /// Actions for the core (a key, a click), in order.
    Step(Vec<Action>),
    /// The notes editor's text, to be recorded (Ctrl-S).
    Submit(String),
    /// Ctrl-Z: suspend as a shell job.
    Suspend,
    /// The terminal went away.
    Gone(std::io::Error),
    /// The input ended.
    End,
}

/// One terminal event: the notes editor takes its keys and pastes itself
/// (only Esc and Ctrl-S leave it); everything else becomes actions.
fn terminal_event(
    state: &mut State,
    ui: &mut Ui,
    area: ratatui::layout::Rect,
    ev: Option<std::io::Result<Event>>,
) -> Typed {
    let editing = state.view.popup == Some(Popup::Notes);
    match ev {
        Some(Ok(Event::Key(k)))
            if k.code == KeyCode::Char('z') && k.modifiers.contains(KeyModifiers::CONTROL) =>
        {
            Typed::Suspend
        }
        Some(Ok(Event::Key(k))) if editing && k.code != KeyCode::Esc => {
            if k.code == KeyCode::Char('s') && k.modifiers.contains(KeyModifiers::CONTROL) {
                return Typed::Submit(ui.editor.lines().join("\n"));
            }
            ui.editor.input(k);
            state.dirty = true;
            Typed::Step(vec![])
        }
        Some(Ok(Event::Key(k))) => {
            Typed::Step(input::key(k).map(Action::Key).into_iter().collect())
        }
        Some(Ok(Event::Paste(text))) if editing => {
            ui.editor.insert_str(text);
            state.dirty = true;
            Typed::Step(vec![])
        }
        Some(Ok(Event::Mouse(m))) => Typed::Step(input::mouse(state, area, m)),
        Some(Ok(Event::Resize(_, _))) => {
            state.dirty = true;
            Typed::Step(vec![])
        }
        Some(Ok(_)) => Typed::Step(vec![]),
        Some(Err(e)) => Typed::Gone(e),
        None => Typed::End,
    }
}

/// The console. The caller has already set up the terminal.
pub async fn run(
    terminal: &mut ratatui::DefaultTerminal,
    mut state: State,
    mut note: NoteWriter,
    backend: Arc<dyn Backend>,
    first: Vec<Action>,
) -> std::io::Result<State> {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let mut tasks = JoinSet::new();
    let mut reads = Superseded::default();
    let mut ui = Ui::default();
    let mut events = spawn_input();
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    spawn_pollers(&mut tasks, backend.clone(), tx.clone());
    spawn_signals(&mut tasks, tx.clone());
    let mut tstp =
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::from_raw(libc::SIGTSTP))?;
    macro_rules! step {
        ($a:expr) => {
            drive(&mut state, &mut note, $a, |fx| {
                spawn_effect(&mut tasks, &mut reads, &backend, &tx, fx)
            })
        };
    }
    for a in first {
        step!(a);
    }
    // The terminal went away (ssh dropped, tmux closed, the tty revoked
    // while suspended, EIO on read or write): the session ends as on
    // SIGHUP — recorded, nothing lost, exit as after a quit.
    macro_rules! gone {
        ($e:expr, $when:expr) => {{
            step!(Action::Shutdown(format!(
                "the terminal went away{} ({})",
                $when, $e
            )));
            tasks.abort_all();
            return Ok(state);
        }};
    }
    loop {
        if state.dirty {
            if let Err(e) = terminal.draw(|f| crate::ui::render(&state, &ui, f)) {
                gone!(e, "");
            }
            state.dirty = false;
        }
        if let Some(text) = state.clipboard.take() {
            clipboard(&text);
        }
        if state.quitting {
            tasks.abort_all();
            return Ok(state);
        }
        tokio::select! {
            ev = events.recv() => {
                // Everything the terminal already has (a paste arrives as
                // thousands of keys) is handled before one frame is drawn.
                let mut next = Some(ev);
                while let Some(ev) = next.take() {
                    let area = terminal.size().map(|z| ratatui::layout::Rect::new(0, 0, z.width, z.height)).unwrap_or_default();
                    match terminal_event(&mut state, &mut ui, area, ev) {
                        Typed::Step(actions) => for a in actions { step!(a); },
                        // The text leaves the editor only once the note has it.
                        Typed::Submit(text) => {
                            if step!(Action::NoteSubmitted(text)).notes_failed == 0 {
                                ui = Ui::default();
                            }
                        }
                        Typed::Suspend => if let Err(e) = suspend(terminal, &mut state) {
                            gone!(e, " while suspended");
                        },
                        Typed::Gone(e) => gone!(e, ""),
                        Typed::End => return Ok(state),
                    }
                    if state.quitting {
                        break;
                    }
                    next = events.try_recv().ok().map(Some);
                }
            }
            Some(a) = rx.recv() => {
                step!(a);
                // Coalesce whatever else is ready into one frame.
                while let Ok(a) = rx.try_recv() {
                    step!(a);
                }
            }
            Some(()) = tstp.recv() => if let Err(e) = suspend(terminal, &mut state) {
                gone!(e, " while suspended");
            },
            _ = tick.tick() => { step!(Action::Tick(chrono::Utc::now())); }
        }
    }
}

/// Hands `text` to the terminal's clipboard with OSC 52 (works over ssh
/// and through tmux with `set-clipboard`); terminals cap the sequence, so
/// a huge text is cut at 64 KiB. A terminal without it ignores it.
fn clipboard(text: &str) {
    use base64::Engine as _;
    use std::io::Write as _;
    let mut end = text.len().min(64 * 1024);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let b64 = base64::engine::general_purpose::STANDARD.encode(&text.as_bytes()[..end]);
    let mut out = std::io::stdout().lock();
    let _ = write!(out, "\x1b]52;c;{b64}\x07").and_then(|_| out.flush());
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A group's plan reads every member at once: a read for one target
    /// never cancels another's; a newer read for the same target does.
    #[tokio::test]
    async fn reads_are_superseded_per_target_only() {
        let mut reads = Superseded::default();
        let mut tasks = JoinSet::new();
        let forever = || async { tokio::time::sleep(Duration::from_secs(3600)).await };
        let a1 = tasks.spawn(forever());
        let b = tasks.spawn(forever());
        reads.replace(
            Superseded::key(&Effect::LoadHistory("a".into())).unwrap(),
            a1.clone(),
        );
        reads.replace(
            Superseded::key(&Effect::LoadHistory("b".into())).unwrap(),
            b.clone(),
        );
        tokio::task::yield_now().await;
        assert!(
            !a1.is_finished() && !b.is_finished(),
            "b's read left a's alone"
        );
        let a2 = tasks.spawn(forever());
        reads.replace(
            Superseded::key(&Effect::LoadHistory("a".into())).unwrap(),
            a2.clone(),
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
        assert!(a1.is_finished(), "the newer read of a cancels the older");
        assert!(!a2.is_finished() && !b.is_finished());
    }
}
