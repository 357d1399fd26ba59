//! A run is a state machine: a confirmed plan is in flight on one step
//! (doing one thing at a time), or it has ended one way. Each state
//! carries only its own data, so a run cannot be verifying and settling,
//! or ended and halted, at once; `core::run` and `core::watch` move it
//! from one state to the next.

use super::model::{Health, Progress};
use super::plan::RollbackPlan;
use chrono::{DateTime, Utc};

/// A plan being executed and watched, or finished.
#[derive(Debug, Clone, PartialEq)]
pub struct Run {
    pub plan: RollbackPlan,
    pub started_at: DateTime<Utc>,
    /// The reason typed at the confirm for the BLOCKs it overrode.
    pub override_reason: Option<String>,
    pub state: RunState,
    /// Auto-sync was seen back on after this run turned it off: said once,
    /// whatever state the run is in by then.
    pub autosync_fought: bool,
}

/// Where a run is. (A few runs live at once, one per target at most: the
/// size of a variant carrying a health reading does not matter.)
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum RunState {
    /// Step `step` (0-based) is in hand since `since`.
    InFlight {
        step: usize,
        since: DateTime<Utc>,
        doing: Doing,
        /// No further step starts; the one in hand is followed to its end.
        halt: Option<Halt>,
    },
    /// The run is over; `at` is when.
    Ended { at: DateTime<Utc>, ending: Ending },
}

/// What the step in hand is waiting for.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum Doing {
    /// The failure's evidence is being saved before the first step (the
    /// rollback replaces what holds it); a bounded wait.
    SavingEvidence,
    /// A mutating step was sent (after its entry was on disk); its answer
    /// is awaited.
    Sending,
    /// Its answer was lost: the target is re-read to decide; `rereads`
    /// failed so far.
    Settling { rereads: u32 },
    /// The rollout is watched until it converges, fails or times out.
    Watching {
        progress: Option<Progress>,
        /// Reads of the rollout fail since then, and why: its outcome is
        /// unknown until the platform answers.
        blind: Option<(DateTime<Utc>, String)>,
    },
    /// Health is re-read until `until`. `replicas` holds the read that
    /// proved the replicas run the target revision, once one did.
    Verifying {
        until: DateTime<Utc>,
        replicas: Option<Health>,
        last: Option<Health>,
    },
}

/// Why no further step of an in-flight run starts.
#[derive(Debug, Clone, PartialEq)]
pub enum Halt {
    /// The note failed to take an entry: nothing mutates unrecorded.
    Note(String),
    /// Another member of the group failed or went stale.
    Group(String),
}

impl Halt {
    pub fn why(&self) -> String {
        match self {
            Halt::Note(w) => format!("the note could not be written ({w})"),
            Halt::Group(w) => format!("its group stopped: {w}"),
        }
    }
}

/// How a run ended, with the facts that prove it.
#[derive(Debug, Clone, PartialEq)]
pub enum Ending {
    /// Replicas run the target revision and every recovery criterion
    /// held: `proof` says by what.
    Verified {
        after: Health,
        proof: String,
        superseded: Option<String>,
    },
    /// Converged and the replicas were verified, but recovery was not
    /// proven (`caveat` says why).
    Unproven {
        after: Health,
        caveat: String,
        superseded: Option<String>,
    },
    /// A follow-up plan (re-enabling auto-sync) ran all its steps.
    Finished,
    /// A dry-run rehearsal: nothing was changed.
    DryRun,
    /// Stopped or failed at step `step` (0-based): nothing after it ran.
    Failed {
        why: String,
        after: Option<Health>,
        step: usize,
    },
}

/// How a run ended, in the two words groups and tests need.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Succeeded,
    Failed(String),
}

impl Run {
    /// A confirmed plan about to take its first step.
    pub fn new(
        plan: RollbackPlan,
        now: DateTime<Utc>,
        override_reason: Option<String>,
        doing: Doing,
    ) -> Run {
        Run {
            plan,
            started_at: now,
            override_reason,
            state: RunState::InFlight {
                step: 0,
                since: now,
                doing,
                halt: None,
            },
            autosync_fought: false,
        }
    }

    pub fn in_flight(&self) -> bool {
        matches!(self.state, RunState::InFlight { .. })
    }

    /// The step in hand; the one it failed at; the number of steps once
    /// it ran them all.
    pub fn step(&self) -> usize {
        match &self.state {
            RunState::InFlight { step, .. } => *step,
            RunState::Ended {
                ending: Ending::Failed { step, .. },
                ..
            } => *step,
            RunState::Ended { .. } => self.plan.steps.len(),
        }
    }

    pub fn ending(&self) -> Option<&Ending> {
        match &self.state {
            RunState::Ended { ending, .. } => Some(ending),
            RunState::InFlight { .. } => None,
        }
    }

    /// When it ended.
    pub fn ended_at(&self) -> Option<DateTime<Utc>> {
        match &self.state {
            RunState::Ended { at, .. } => Some(*at),
            RunState::InFlight { .. } => None,
        }
    }

    pub fn outcome(&self) -> Option<Outcome> {
        self.ending().map(|e| match e {
            Ending::Failed { why, .. } => Outcome::Failed(why.clone()),
            _ => Outcome::Succeeded,
        })
    }

    /// The last health read after the rollout (verification's evidence).
    pub fn after(&self) -> Option<&Health> {
        match &self.state {
            RunState::InFlight {
                doing: Doing::Verifying { last, .. },
                ..
            } => last.as_ref(),
            RunState::Ended { ending, .. } => match ending {
                Ending::Verified { after, .. } | Ending::Unproven { after, .. } => Some(after),
                Ending::Failed { after, .. } => after.as_ref(),
                Ending::Finished | Ending::DryRun => None,
            },
            RunState::InFlight { .. } => None,
        }
    }

    /// What the finished run could not prove, for the banner and messages.
    pub fn caveat(&self) -> Option<&str> {
        match self.ending()? {
            Ending::Unproven { caveat, .. } => Some(caveat),
            Ending::DryRun => Some("dry run: nothing was changed"),
            _ => None,
        }
    }

    /// A later deploy undid the finished rollback (said once).
    pub fn superseded(&self) -> Option<&str> {
        match self.ending()? {
            Ending::Verified { superseded, .. } | Ending::Unproven { superseded, .. } => {
                superseded.as_deref()
            }
            _ => None,
        }
    }

    /// The halt of an in-flight run, if any.
    pub fn halt(&self) -> Option<&Halt> {
        match &self.state {
            RunState::InFlight { halt, .. } => halt.as_ref(),
            RunState::Ended { .. } => None,
        }
    }

    /// What the in-flight step is doing.
    pub fn doing(&self) -> Option<&Doing> {
        match &self.state {
            RunState::InFlight { doing, .. } => Some(doing),
            RunState::Ended { .. } => None,
        }
    }

    pub fn doing_mut(&mut self) -> Option<&mut Doing> {
        match &mut self.state {
            RunState::InFlight { doing, .. } => Some(doing),
            RunState::Ended { .. } => None,
        }
    }

    /// Stops every step after the one in hand (the first reason wins).
    pub fn halt_with(&mut self, h: Halt) {
        if let RunState::InFlight { halt, .. } = &mut self.state {
            halt.get_or_insert(h);
        }
    }

    /// The rollout progress last read, while watching.
    pub fn progress(&self) -> Option<&Progress> {
        match self.doing()? {
            Doing::Watching { progress, .. } => progress.as_ref(),
            _ => None,
        }
    }

    /// Moves to step `step`, doing `doing`, keeping any halt.
    pub fn enter(&mut self, step: usize, now: DateTime<Utc>, doing: Doing) {
        let halt = self.halt().cloned();
        self.state = RunState::InFlight {
            step,
            since: now,
            doing,
            halt,
        };
    }

    pub fn end(&mut self, now: DateTime<Utc>, ending: Ending) {
        self.state = RunState::Ended { at: now, ending };
    }

    /// When the step in hand started.
    pub fn step_since(&self) -> Option<DateTime<Utc>> {
        match &self.state {
            RunState::InFlight { since, .. } => Some(*since),
            RunState::Ended { .. } => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan() -> RollbackPlan {
        let h = crate::core::model::History {
            target: "t".into(),
            revisions: vec![
                crate::core::model::Revision {
                    id: "2".into(),
                    deployed_at: None,
                    images: vec![crate::core::model::ImageRef::parse("r/t:b")],
                    git_sha: None,
                    message: String::new(),
                    author: None,
                    current: true,
                },
                crate::core::model::Revision {
                    id: "1".into(),
                    deployed_at: None,
                    images: vec![crate::core::model::ImageRef::parse("r/t:a")],
                    git_sha: None,
                    message: String::new(),
                    author: None,
                    current: false,
                },
            ],
            facts: Default::default(),
            fetched_at: chrono::Utc::now(),
            known_bad: vec![],
            last_known_good: None,
        };
        let t = crate::core::model::TargetInfo {
            name: "t".into(),
            kind: crate::core::model::Kind::Kubernetes,
            environment: "staging".into(),
            location: String::new(),
            object: None,
            simulated: false,
        };
        crate::core::plan::build(crate::core::plan::PlanInputs {
            id: crate::core::plan::PlanId(1),
            target: &t,
            mode: crate::core::model::Mode::Live,
            history: &h,
            to: "1",
            now: chrono::Utc::now(),
            before: None,
            mutable_tags: &[],
            rollout_timeout_secs: 60,
            exact_template: false,
        })
        .unwrap()
    }

    /// A halt belongs to the step in hand: it survives moving to the next
    /// state of the same run and disappears with the run's end.
    #[test]
    fn a_halt_is_kept_while_in_flight_and_gone_once_ended() {
        let now = chrono::Utc::now();
        let mut r = Run::new(plan(), now, None, Doing::Sending);
        r.halt_with(Halt::Note("disk full".into()));
        r.halt_with(Halt::Group("later reason".into()));
        r.enter(
            1,
            now,
            Doing::Watching {
                progress: None,
                blind: None,
            },
        );
        assert_eq!(r.halt(), Some(&Halt::Note("disk full".into())));
        r.end(
            now,
            Ending::Failed {
                why: "stopped".into(),
                after: None,
                step: 1,
            },
        );
        assert_eq!(r.halt(), None);
        assert_eq!(r.outcome(), Some(Outcome::Failed("stopped".into())));
        assert_eq!(r.step(), 1, "a failed run says where it stopped");
        assert!(!r.in_flight());
    }

    #[test]
    fn only_a_verified_or_unproven_ending_carries_an_after_and_a_supersession() {
        let now = chrono::Utc::now();
        let mut r = Run::new(plan(), now, None, Doing::Sending);
        assert_eq!(r.after(), None);
        r.end(now, Ending::DryRun);
        assert_eq!(r.caveat(), Some("dry run: nothing was changed"));
        assert_eq!(r.superseded(), None);
        assert_eq!(r.outcome(), Some(Outcome::Succeeded));
    }
}
