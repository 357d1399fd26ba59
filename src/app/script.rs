//! A scripted runtime: the same `update`, effects and note writer as the
//! console, but on a manual clock and without a terminal. Tests and
//! benchmarks drive the whole operator path through it deterministically.

use super::effects;
use crate::backend::Backend;
use crate::backend::clock::{Clock, ManualClock};
use crate::core::action::{Action, Effect, Key};
use crate::core::state::State;
use crate::note::NoteWriter;
use chrono::{DateTime, Utc};
use std::sync::Arc;

/// The note file, if any, plus a rendered copy of every entry it took.
struct Mirror<'a> {
    note: Option<&'a mut NoteWriter>,
    recorded: &'a mut Vec<String>,
}

impl super::Journal for Mirror<'_> {
    fn append(&mut self, e: &crate::core::action::NoteEntry) -> Result<(), String> {
        if let Some(n) = self.note.as_mut() {
            super::Journal::append(&mut **n, e)?;
        }
        self.recorded.push(crate::note::render::entry(e));
        Ok(())
    }
    fn summary_failed(&mut self) -> Option<String> {
        self.note.as_mut().and_then(|n| n.take_summary_failure())
    }
}

pub struct Script {
    pub state: State,
    pub backend: Arc<dyn Backend>,
    pub clock: ManualClock,
    pub note: Option<NoteWriter>,
    /// Effects waiting for the clock: (due, effect).
    pending: Vec<(DateTime<Utc>, Effect)>,
    next_poll: DateTime<Utc>,
    rt: tokio::runtime::Runtime,
    /// Every entry recorded so far, rendered, in order (mirror of the file).
    pub recorded: Vec<String>,
}

impl Script {
    pub fn new(
        state: State,
        backend: Arc<dyn Backend>,
        clock: ManualClock,
        note: Option<NoteWriter>,
    ) -> Script {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("tokio runtime");
        let next_poll = clock.now();
        Script {
            state,
            backend,
            clock,
            note,
            pending: Vec::new(),
            next_poll,
            rt,
            recorded: Vec::new(),
        }
    }

    /// Loads targets and a first health snapshot, as the console's start does.
    pub fn start(&mut self) {
        let t = self.rt.block_on(self.backend.targets());
        self.dispatch(Action::TargetsLoaded(t));
        self.poll();
        self.run_ready();
    }

    pub fn dispatch(&mut self, a: Action) -> super::Driven {
        let mut journal = Mirror {
            note: self.note.as_mut(),
            recorded: &mut self.recorded,
        };
        let now = self.clock.now();
        let pending = &mut self.pending;
        super::drive(&mut self.state, &mut journal, a, |fx| {
            let due = now + chrono::Duration::milliseconds(effects::delay_ms(&fx) as i64);
            pending.push((due, fx));
        })
    }

    /// Presses keys: plain characters, or `<Enter>`, `<Esc>`, `<Tab>`,
    /// `<BackTab>`, `<Up>`, `<Down>`, `<Backspace>`, `<Space>`.
    pub fn press(&mut self, keys: &str) {
        let mut rest = keys;
        while !rest.is_empty() {
            let (k, n) = if let Some(end) = rest.strip_prefix('<').and_then(|r| r.find('>')) {
                let name = &rest[1..=end];
                let k = match name {
                    "Enter" => Key::Enter,
                    "Esc" => Key::Esc,
                    "Tab" => Key::Tab,
                    "BackTab" => Key::BackTab,
                    "Up" => Key::Up,
                    "Down" => Key::Down,
                    "Backspace" => Key::Backspace,
                    "Space" => Key::Char(' '),
                    other => panic!("unknown key <{other}>"),
                };
                (k, end + 2)
            } else {
                let Some(c) = rest.chars().next() else { break };
                (Key::Char(c), c.len_utf8())
            };
            self.dispatch(Action::Key(k));
            self.run_ready();
            rest = &rest[n..];
        }
    }

    fn poll(&mut self) {
        let r = self.rt.block_on(self.backend.health_all());
        for a in effects::health_actions(r) {
            self.dispatch(a);
        }
        self.next_poll = self.clock.now()
            + chrono::Duration::from_std(self.backend.poll_interval()).unwrap_or_default();
    }

    /// Performs every effect already due, without moving the clock.
    pub fn run_ready(&mut self) {
        loop {
            let now = self.clock.now();
            let Some(i) = self.pending.iter().position(|(due, _)| *due <= now) else {
                return;
            };
            let (_, fx) = self.pending.remove(i);
            if let Some(a) = self
                .rt
                .block_on(effects::perform(self.backend.as_ref(), fx))
            {
                self.dispatch(a);
            }
        }
    }

    /// Moves the clock in 250 ms steps for up to `ms`, ticking, polling and
    /// performing effects as they fall due; stops early when `until` holds.
    pub fn advance_until(&mut self, ms: i64, until: impl Fn(&State) -> bool) -> bool {
        self.advance_in(250, ms, until)
    }

    /// [`Script::advance_until`] in steps of `step_ms` (the console ticks
    /// every 500 ms; long sequence tests step by a second).
    pub fn advance_in(&mut self, step_ms: i64, ms: i64, until: impl Fn(&State) -> bool) -> bool {
        let mut left = ms;
        loop {
            self.run_ready();
            if until(&self.state) {
                return true;
            }
            if left <= 0 {
                return false;
            }
            self.clock.advance_ms(step_ms);
            left -= step_ms;
            let now = self.clock.now();
            self.dispatch(Action::Tick(now));
            if now >= self.next_poll {
                self.poll();
            }
        }
    }

    pub fn advance(&mut self, ms: i64) {
        self.advance_until(ms, |_| false);
    }
}
