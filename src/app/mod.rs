//! The runtime: one `tokio::select!` over terminal input, backend results and
//! a clock tick. It performs the core's effects and redraws only when the
//! core says something visible changed.

pub mod effects;
pub mod input;
pub mod script;

use crate::backend::Backend;
use crate::core::action::{Action, Effect, Recorded};
use crate::core::state::Popup;
use crate::core::{State, update};
use crate::note::NoteWriter;
use crossterm::event::{Event, EventStream, KeyCode, KeyModifiers};
use futures::StreamExt;
use ratatui_textarea::TextArea;
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// What the UI layer owns besides the core state: the notes editor widget.
pub struct Ui {
    pub editor: TextArea<'static>,
}

impl Default for Ui {
    fn default() -> Self {
        let mut editor = TextArea::default();
        editor.set_placeholder_text("Type a note for the incident record. Ctrl-S appends it to the note, Esc closes (text kept).");
        Ui { editor }
    }
}

/// Runs the effects of one action and everything that follows from them,
/// in order. Record effects are written durably before the next effect runs,
/// so a mutation is never sent before its confirmation is on disk.
pub fn dispatch(
    state: &mut State,
    note: &mut NoteWriter,
    backend: &Arc<dyn Backend>,
    tx: &mpsc::UnboundedSender<Action>,
    first: Action,
) {
    let mut queue = VecDeque::from([first]);
    while let Some(a) = queue.pop_front() {
        for fx in update(state, a) {
            match fx {
                Effect::Record(e) => match note.append(&e) {
                    Ok(()) => queue.push_back(Action::Recorded(Recorded {
                        at: e.at,
                        summary: summary(&e),
                    })),
                    Err(err) => queue.push_back(Action::RecordFailed(format!(
                        "{}: {err}",
                        note.path().display()
                    ))),
                },
                Effect::OpenEditor | Effect::Quit => {}
                other => {
                    let b = backend.clone();
                    let tx = tx.clone();
                    tokio::spawn(async move {
                        let d = effects::delay_ms(&other);
                        if d > 0 {
                            tokio::time::sleep(Duration::from_millis(d)).await;
                        }
                        if let Some(a) = effects::perform(b.as_ref(), other).await {
                            let _ = tx.send(a);
                        }
                    });
                }
            }
        }
    }
}

/// One line for the activity pane.
pub fn summary(e: &crate::core::action::NoteEntry) -> String {
    let t = e
        .target
        .as_deref()
        .map(|t| format!(" {t}"))
        .unwrap_or_default();
    format!("{}{}: {}", e.kind, t, e.text)
}

/// Starts the pollers that feed the core.
fn spawn_pollers(backend: Arc<dyn Backend>, tx: mpsc::UnboundedSender<Action>) {
    let b = backend.clone();
    let t = tx.clone();
    tokio::spawn(async move {
        let _ = t.send(Action::TargetsLoaded(b.targets().await));
    });
    tokio::spawn(async move {
        let every = backend.poll_interval();
        loop {
            let r = backend.health_all().await;
            for a in effects::health_actions(r) {
                if tx.send(a).is_err() {
                    return;
                }
            }
            tokio::time::sleep(every).await;
        }
    });
}

/// SIGTERM and SIGHUP end the session cleanly: recorded, terminal restored.
fn spawn_signals(tx: mpsc::UnboundedSender<Action>) {
    use tokio::signal::unix::{SignalKind, signal};
    for (kind, name) in [
        (SignalKind::terminate(), "SIGTERM"),
        (SignalKind::hangup(), "SIGHUP"),
    ] {
        let tx = tx.clone();
        if let Ok(mut s) = signal(kind) {
            tokio::spawn(async move {
                if s.recv().await.is_some() {
                    let _ = tx.send(Action::Shutdown(format!("received {name}")));
                }
            });
        }
    }
}

/// The console. The caller has already set up the terminal.
pub async fn run(
    terminal: &mut ratatui::DefaultTerminal,
    mut state: State,
    mut note: NoteWriter,
    backend: Arc<dyn Backend>,
) -> std::io::Result<()> {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let mut ui = Ui::default();
    let mut events = EventStream::new();
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    spawn_pollers(backend.clone(), tx.clone());
    spawn_signals(tx.clone());
    loop {
        if state.dirty {
            terminal.draw(|f| crate::ui::render(&state, &ui, f))?;
            state.dirty = false;
        }
        if state.quitting {
            return Ok(());
        }
        tokio::select! {
            ev = events.next() => match ev {
                Some(Ok(Event::Key(k))) => {
                    if state.popup == Some(Popup::Notes) && k.code != KeyCode::Esc {
                        if k.code == KeyCode::Char('s') && k.modifiers.contains(KeyModifiers::CONTROL) {
                            let text = ui.editor.lines().join("\n");
                            ui = Ui::default();
                            dispatch(&mut state, &mut note, &backend, &tx, Action::NoteSubmitted(text));
                        } else {
                            ui.editor.input(k);
                            state.dirty = true;
                        }
                    } else if let Some(key) = input::key(k) {
                        dispatch(&mut state, &mut note, &backend, &tx, Action::Key(key));
                    }
                }
                Some(Ok(Event::Resize(_, _))) => state.dirty = true,
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(e),
                None => return Ok(()),
            },
            Some(a) = rx.recv() => {
                dispatch(&mut state, &mut note, &backend, &tx, a);
                // Coalesce whatever else is ready into one frame.
                while let Ok(a) = rx.try_recv() {
                    dispatch(&mut state, &mut note, &backend, &tx, a);
                }
            }
            _ = tick.tick() => dispatch(&mut state, &mut note, &backend, &tx, Action::Tick(chrono::Utc::now())),
        }
    }
}
