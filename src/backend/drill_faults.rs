//! Faults a drill injects (`--drill NAME`, `drills/NAME.toml`): the
//! platform answers as a bad day would — a refused identity, a fallback
//! revision that fails too, an API that goes away mid-rollout, auto-sync
//! turned back on. Every injected answer names itself "(drill fault: …)",
//! so the note and the drill report show which fault was met where.

use super::layer::Layer;
use super::{Backend, StepDone};
use crate::core::action::BackendError;
use crate::core::model::{Health, History, Progress, ProgressPhase};
use crate::core::plan::{PlanStep, RollbackPlan};
use crate::setup_error::SetupError;
use serde::Deserialize;
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct DrillSpec {
    pub title: String,
    #[serde(rename = "fault")]
    pub faults: Vec<Fault>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Fault {
    Forbidden {
        target: String,
    },
    RolloutFails {
        target: String,
    },
    ApiDown {
        target: String,
        secs: u64,
    },
    AutoSyncReenabled {
        target: String,
        after_secs: u64,
    },
    /// The note's disk fills: after the note grows `after_bytes` more, or
    /// `after_rollback_secs` after the first rollback is sent (so the
    /// faults that come with a rollback are met first).
    NoteDiskFull {
        #[serde(default)]
        after_bytes: Option<u64>,
        #[serde(default)]
        after_rollback_secs: Option<u64>,
    },
}

impl Fault {
    pub fn kind(&self) -> &'static str {
        match self {
            Fault::Forbidden { .. } => "forbidden",
            Fault::RolloutFails { .. } => "rollout_fails",
            Fault::ApiDown { .. } => "api_down",
            Fault::AutoSyncReenabled { .. } => "auto_sync_reenabled",
            Fault::NoteDiskFull { .. } => "note_disk_full",
        }
    }

    /// The words in the activity that show the fault was met.
    pub fn needle(&self) -> String {
        match self {
            Fault::AutoSyncReenabled { .. } => "auto-sync was turned back on".into(),
            Fault::NoteDiskFull { .. } => "No space left on device".into(),
            other => format!("drill fault: {}", other.kind()),
        }
    }

    /// The target the fault is met on, if it is about one.
    pub fn target(&self) -> Option<&str> {
        match self {
            Fault::Forbidden { target }
            | Fault::RolloutFails { target }
            | Fault::ApiDown { target, .. }
            | Fault::AutoSyncReenabled { target, .. } => Some(target),
            Fault::NoteDiskFull { .. } => None,
        }
    }

    pub fn effect(&self) -> String {
        match self {
            Fault::Forbidden { target } => format!("{target}: the first mutation answers 403"),
            Fault::RolloutFails { target } => {
                format!("{target}: the first rollback's rollout fails (the revision is bad too)")
            }
            Fault::ApiDown { target, secs } => {
                format!("{target}: the API is unreachable for {secs} s after the rollback is sent")
            }
            Fault::AutoSyncReenabled { target, after_secs } => format!(
                "{target}: auto-sync is turned back on {after_secs} s after the rollback is sent"
            ),
            Fault::NoteDiskFull {
                after_bytes: Some(b),
                ..
            } => format!("the note's disk fills after {b} more bytes"),
            Fault::NoteDiskFull {
                after_rollback_secs: s,
                ..
            } => format!(
                "the note's disk fills {} s after the first rollback is sent",
                s.unwrap_or(0)
            ),
        }
    }
}

/// `<config dir>/drills/NAME.toml`, else the embedded examples.
pub fn load(config_dir: Option<&std::path::Path>, name: &str) -> Result<DrillSpec, SetupError> {
    const EMBEDDED: [(&str, &str); 2] = [
        (
            "bad-fallback",
            include_str!("../../assets/drills/bad-fallback.toml"),
        ),
        (
            "auto-sync-fights",
            include_str!("../../assets/drills/auto-sync-fights.toml"),
        ),
    ];
    let own = config_dir.map(|d| d.join("drills").join(format!("{name}.toml")));
    let mine = match &own {
        Some(p) => crate::files::read_optional(p, "the drill", crate::files::SMALL_CAP)
            .map_err(SetupError::File)?
            .map(|t| (p.display().to_string(), t)),
        None => None,
    };
    let (origin, text) = match mine {
        Some(found) => found,
        None => match EMBEDDED.iter().find(|(n, _)| *n == name) {
            Some((n, t)) => (format!("assets/drills/{n}.toml"), t.to_string()),
            None => {
                return Err(SetupError::UnknownDrill {
                    name: name.to_string(),
                    known: EMBEDDED.map(|(n, _)| n).join(", "),
                });
            }
        },
    };
    let spec: DrillSpec = toml::from_str(&text)
        .map_err(|e| SetupError::File(crate::config::toml_error(&origin, &text, &e)))?;
    for f in &spec.faults {
        if let Fault::NoteDiskFull {
            after_bytes,
            after_rollback_secs,
        } = f
            && after_bytes.is_some() == after_rollback_secs.is_some()
        {
            return Err(SetupError::File(format!(
                "{origin}: note_disk_full needs exactly one of after_bytes and after_rollback_secs"
            )));
        }
    }
    Ok(spec)
}

/// The fault layer over any backend.
pub struct DrillFaults {
    inner: Arc<dyn Backend>,
    faults: Vec<Fault>,
    /// Faults already spent (forbidden, rollout_fails fire once).
    spent: Mutex<Vec<usize>>,
    /// When each target's rollback was sent, on the session's clock (the
    /// demo's and tests' clock may not be the wall's).
    sent: Mutex<Vec<(String, chrono::DateTime<chrono::Utc>)>>,
    clock: Arc<dyn super::clock::Clock>,
    /// The note's size limit (shared with its writer) for a disk that
    /// fills after the rollback.
    quota: Option<Arc<std::sync::atomic::AtomicU64>>,
    /// What a failed rollout left running, per target: its health reads
    /// say so until something else runs (banner, Health and note agree).
    broken: Mutex<Vec<(String, Vec<String>)>>,
}

impl DrillFaults {
    pub fn new(
        inner: Arc<dyn Backend>,
        faults: Vec<Fault>,
        clock: Arc<dyn super::clock::Clock>,
    ) -> DrillFaults {
        DrillFaults {
            inner,
            faults,
            spent: Mutex::default(),
            sent: Mutex::default(),
            clock,
            quota: None,
            broken: Mutex::default(),
        }
    }

    /// The note writer's limit, for `note_disk_full` after a rollback.
    pub fn with_quota(mut self, q: Arc<std::sync::atomic::AtomicU64>) -> DrillFaults {
        self.quota = Some(q);
        self
    }

    /// Fills the note's disk once the first rollback was sent long enough
    /// ago: no byte more fits.
    fn fill_disk(&self) {
        let Some(q) = &self.quota else { return };
        let first = self
            .sent
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .first()
            .map(|(_, at)| *at);
        let Some(first) = first else { return };
        let since = (self.clock.now() - first).num_seconds().max(0) as u64;
        let due = self.faults.iter().any(|f| {
            matches!(f, Fault::NoteDiskFull { after_rollback_secs: Some(s), .. } if since >= *s)
        });
        if due {
            q.store(0, std::sync::atomic::Ordering::SeqCst);
        }
    }

    /// A target still running what its failed rollout left: its pods crash.
    fn still_broken(&self, mut h: Health) -> Health {
        let imgs: Vec<String> = h.images.iter().map(|i| i.full()).collect();
        let broken = self
            .broken
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .iter()
            .any(|(t, i)| *t == h.target && *i == imgs);
        if broken {
            h.ready = 0;
            h.ready_on_template = Some(0);
            h.crashlooping = h.desired.max(1);
            h.message = Some("the new pods crash-loop (drill fault: rollout_fails)".into());
        }
        h
    }

    /// Takes the first unspent fault matching `f`, once.
    fn take(&self, f: impl Fn(&Fault) -> bool) -> Option<Fault> {
        let mut spent = self
            .spent
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let i = (0..self.faults.len()).find(|i| !spent.contains(i) && f(&self.faults[*i]))?;
        spent.push(i);
        Some(self.faults[i].clone())
    }

    fn since_sent(&self, target: &str) -> Option<Duration> {
        self.sent
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .iter()
            .rev()
            .find(|(t, _)| t == target)
            .map(|(_, at)| (self.clock.now() - *at).to_std().unwrap_or_default())
    }

    fn api_down(&self, target: &str) -> Option<BackendError> {
        let since = self.since_sent(target)?;
        self.faults.iter().find_map(|f| match f {
            Fault::ApiDown { target: t, secs } if t == target && since.as_secs() < *secs => {
                Some(BackendError::Unreachable(format!(
                    "connection refused (drill fault: api_down, {secs} s after the rollback was sent)"
                )))
            }
            _ => None,
        })
    }

    fn auto_sync_back(&self, target: &str) -> bool {
        let Some(since) = self.since_sent(target) else {
            return false;
        };
        self.faults.iter().any(|f| {
            matches!(f, Fault::AutoSyncReenabled { target: t, after_secs } if t == target && since.as_secs() >= *after_secs)
        })
    }

    fn mark(&self, mut h: History) -> History {
        if self.auto_sync_back(&h.target) {
            h.facts.auto_sync = true;
            h.facts.version = format!(
                "{} auto-sync (drill fault: auto_sync_reenabled)",
                h.facts.version
            );
        }
        h
    }
}

impl Layer for DrillFaults {
    fn inner(&self) -> &Arc<dyn Backend> {
        &self.inner
    }
    fn polling(&self) {
        self.fill_disk();
    }
    fn read_fault(&self, target: &str) -> Option<BackendError> {
        self.api_down(target)
    }
    fn health(&self, h: Health) -> Health {
        self.still_broken(h)
    }
    fn history(&self, h: History) -> History {
        self.mark(h)
    }
    fn intercept(
        &self,
        plan: &RollbackPlan,
        _step: &PlanStep,
    ) -> Option<Result<StepDone, BackendError>> {
        let t = plan.target.name.as_str();
        self.take(|f| matches!(f, Fault::Forbidden { target } if target == t))?;
        Some(Err(BackendError::Forbidden(format!(
            "403 Forbidden: the identity rbtui acts as may not do this on {t} (drill fault: forbidden)"
        ))))
    }
    fn executed(&self, plan: &RollbackPlan, step: &PlanStep, r: &Result<StepDone, BackendError>) {
        if r.is_ok() && matches!(step, PlanStep::Rollback { .. }) {
            self.sent
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .push((plan.target.name.clone(), self.clock.now()));
        }
    }
    fn progress(&self, plan: &RollbackPlan, p: Progress) -> Progress {
        let t = plan.target.name.as_str();
        if p.phase != ProgressPhase::Converged
            || self
                .take(|f| matches!(f, Fault::RolloutFails { target } if target == t))
                .is_none()
        {
            return p;
        }
        let imgs: Vec<String> = plan.to.images.iter().map(|i| i.full()).collect();
        self.broken
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push((t.to_string(), imgs));
        Progress {
            phase: ProgressPhase::Failed,
            message:
                "ProgressDeadlineExceeded: the new pods crash-loop (drill fault: rollout_fails)"
                    .into(),
            ready: 0,
            ..p
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_embedded_drills_parse() {
        for n in ["bad-fallback", "auto-sync-fights"] {
            let d = super::load(None, n).unwrap();
            assert!(!d.faults.is_empty(), "{n}");
        }
        assert!(
            super::load(None, "nope")
                .unwrap_err()
                .to_string()
                .contains("bad-fallback")
        );
    }
}
