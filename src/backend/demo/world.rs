//! The simulated platform. State changes only through `rollback` and the
//! passage of (injected) time, so a test can drive it step by step.

use super::scenario::{Failure, Scenario, fake_hex};
use crate::core::error::BackendError;
use crate::core::migration::{FileChange, MigrationDiff};
use crate::core::model::{
    Health, History, ImageRef, Kind, Progress, ProgressPhase, Revision, TargetFacts, TargetInfo,
};
use chrono::{DateTime, Duration, Utc};

/// Simulated seconds a good rollout takes to converge.
pub const ROLLOUT_SECS: i64 = 8;
/// A bad rollout is declared failed (progress deadline) after this long.
pub const DEADLINE_SECS: i64 = 12;
/// Metrics take this long to settle after a good rollout.
pub const RECOVERY_SECS: i64 = 10;

#[derive(Debug, Clone)]
pub struct Rev {
    pub id: u64,
    pub tag: String,
    pub digest: String,
    pub sha: String,
    pub deployed_at: DateTime<Utc>,
    pub author: String,
    pub message: String,
    pub failure: Option<Failure>,
    pub migrations: Vec<(String, String)>,
}

#[derive(Debug, Clone)]
pub struct Rollout {
    pub to: usize,
    pub from: usize,
    pub started: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct Service {
    pub info: TargetInfo,
    pub image: String,
    pub replicas: u32,
    pub baseline_p95_ms: f64,
    pub auto_sync: bool,
    pub history_note: Option<String>,
    /// Oldest first, as the platforms keep them.
    pub revs: Vec<Rev>,
    pub current: usize,
    pub version: u64,
    pub rollout: Option<Rollout>,
    /// When the current revision became current (for the recovery ramp).
    pub since: DateTime<Utc>,
    /// Error rate when the last rollout started, for the recovery ramp.
    pub rate_before: f64,
}

#[derive(Debug, Clone)]
pub struct World {
    pub services: Vec<Service>,
}

impl World {
    pub fn from_scenario(sc: &Scenario, start: DateTime<Utc>) -> World {
        let services = sc
            .services
            .iter()
            .map(|s| {
                let mut revs: Vec<Rev> = s
                    .revisions
                    .iter()
                    .map(|r| Rev {
                        id: r.id,
                        tag: r.tag.clone(),
                        digest: format!(
                            "sha256:{}",
                            fake_hex(&format!("{}:{}", s.image, r.tag), 64)
                        ),
                        sha: sha_for(&r.tag, &s.name),
                        deployed_at: start - Duration::minutes(r.minutes_ago),
                        author: r.author.clone(),
                        message: r.message.clone(),
                        failure: r.failure,
                        migrations: r
                            .migrations
                            .iter()
                            .map(|m| (m.path.clone(), m.sql.clone()))
                            .collect(),
                    })
                    .collect();
                revs.sort_by_key(|r| r.deployed_at);
                let current = revs.len().saturating_sub(1);
                let since = revs.last().map(|r| r.deployed_at).unwrap_or(start);
                Service {
                    info: TargetInfo {
                        name: s.name.clone(),
                        kind: s.kind,
                        environment: s.environment.clone(),
                        location: s.location.clone(),
                        object: s.object.clone(),
                        simulated: true,
                    },
                    image: s.image.clone(),
                    replicas: s.replicas,
                    baseline_p95_ms: s.baseline_p95_ms,
                    auto_sync: s.auto_sync,
                    history_note: s.history_note.clone(),
                    revs,
                    current,
                    version: 1,
                    rollout: None,
                    since,
                    rate_before: 0.0,
                }
            })
            .collect();
        World { services }
    }

    /// A large synthetic platform for benchmarks: `n` services × `revs` revisions.
    pub fn synthetic(n: usize, revs: usize, start: DateTime<Utc>) -> World {
        let kinds = [Kind::Kubernetes, Kind::Argocd, Kind::Swarm, Kind::Compose];
        let services = (0..n)
            .map(|i| {
                let name = format!("svc-{i:04}");
                let image = format!("ghcr.io/acme/{name}");
                let r: Vec<Rev> = (0..revs)
                    .map(|j| {
                        let tag = format!("git-{}", fake_hex(&format!("{name}{j}"), 7));
                        Rev {
                            id: j as u64 + 1,
                            digest: format!("sha256:{}", fake_hex(&format!("{image}:{tag}"), 64)),
                            sha: sha_for(&tag, &name),
                            tag,
                            deployed_at: start - Duration::minutes(((revs - j) * 600) as i64),
                            author: "bench".into(),
                            message: format!("change {j} of {name}"),
                            failure: if i % 50 == 0 && j + 1 == revs {
                                Some(Failure::Crashloop)
                            } else {
                                None
                            },
                            migrations: Vec::new(),
                        }
                    })
                    .collect();
                Service {
                    info: TargetInfo {
                        name,
                        kind: kinds[i % 4],
                        environment: if i % 3 == 0 {
                            "prod".into()
                        } else {
                            "staging".into()
                        },
                        location: "bench".into(),
                        object: None,
                        simulated: true,
                    },
                    image,
                    replicas: 3,
                    baseline_p95_ms: 100.0,
                    auto_sync: false,
                    history_note: None,
                    current: r.len() - 1,
                    since: r.last().map_or(start, |x| x.deployed_at),
                    revs: r,
                    version: 1,
                    rollout: None,
                    rate_before: 0.0,
                }
            })
            .collect();
        World { services }
    }

    pub fn service(&self, name: &str) -> Result<&Service, BackendError> {
        self.services
            .iter()
            .find(|s| s.info.name == name)
            .ok_or_else(|| BackendError::NotFound(format!("no such target {name}")))
    }

    pub fn service_mut(&mut self, name: &str) -> Result<&mut Service, BackendError> {
        self.services
            .iter_mut()
            .find(|s| s.info.name == name)
            .ok_or_else(|| BackendError::NotFound(format!("no such target {name}")))
    }

    /// Moves rollouts forward to `now`; a converged rollout makes its
    /// revision current the way each platform records it.
    pub fn advance(&mut self, now: DateTime<Utc>) {
        for s in &mut self.services {
            let Some(r) = s.rollout.clone() else { continue };
            let e = (now - r.started).num_seconds();
            let bad = matches!(s.revs[r.to].failure, Some(Failure::Crashloop));
            let end = if bad { DEADLINE_SECS } else { ROLLOUT_SECS };
            if e >= end {
                s.rollout = None;
                s.version += 1;
            }
        }
    }
}

fn sha_for(tag: &str, name: &str) -> String {
    let short: String = tag.rsplit(['-', ':']).next().unwrap_or(tag).to_string();
    if short.len() == 7 && short.chars().all(|c| c.is_ascii_hexdigit()) {
        format!("{short}{}", fake_hex(&format!("{name}{tag}"), 33))
    } else {
        fake_hex(&format!("{name}{tag}"), 40)
    }
}

impl Service {
    fn image_ref(&self, r: &Rev) -> ImageRef {
        ImageRef {
            repository: self.image.clone(),
            tag: Some(r.tag.clone()),
            digest: Some(r.digest.clone()),
        }
    }

    pub fn history(&self, now: DateTime<Utc>) -> History {
        let revisions: Vec<Revision> = self
            .revs
            .iter()
            .enumerate()
            .rev()
            .map(|(i, r)| Revision {
                id: r.id.to_string().into(),
                deployed_at: Some(r.deployed_at),
                images: vec![self.image_ref(r)],
                git_sha: Some(r.sha.clone()),
                message: r.message.clone(),
                author: Some(r.author.clone()),
                current: i == self.current,
            })
            .collect();
        let known_bad = self
            .revs
            .iter()
            .enumerate()
            .filter(|(i, r)| *i != self.current && r.failure.is_some())
            .map(|(_, r)| r.id.to_string().into())
            .collect();
        let last_known_good = self
            .revs
            .iter()
            .enumerate()
            .rev()
            .find(|(i, r)| *i != self.current && r.failure.is_none())
            .map(|(_, r)| r.id.to_string());
        let busy = self.rollout.as_ref().map(|r| {
            format!(
                "rollout to {} started {}",
                self.revs[r.to].id,
                crate::core::fmt::ago(r.started, now)
            )
        });
        History {
            target: self.info.name.clone(),
            revisions,
            facts: TargetFacts {
                compose_inputs: None,
                changes: vec![],
                bad_why: vec![],
                version: self.version.to_string(),
                auto_sync: self.auto_sync,
                paused: false,
                busy,
                history_note: self.history_note.clone(),
                blocked: vec![],
                warnings: vec![],
                // The simulated Compose project is deployed from a file too.
                inputs_drift: (self.info.kind == Kind::Compose).then(|| {
                    let cur = &self.revs[self.current];
                    format!(
                        "the Compose inputs (docker-compose.yml, simulated) still name {}:{}: rbtui recreates the containers itself, so the next `docker compose up` redeploys it; pin the version there before anyone runs it",
                        self.image, cur.tag
                    )
                }),
                // The demo has no git: what HEAD is cannot be known.
                head_revision: None,
                head_meta: None,
                ..Default::default()
            },
            fetched_at: now,
            known_bad,
            last_known_good,
        }
    }

    /// Health follows the current revision, any rollout, and a short
    /// recovery ramp after a good rollout.
    pub fn health(&self, now: DateTime<Utc>) -> Health {
        let cur = &self.revs[self.current];
        let d = self.replicas;
        let wobble = ((now.timestamp() % 7) as f64 - 3.0) / 1000.0;
        let (mut ready, mut crash, mut restarts, mut rate, mut p95) = (
            d,
            0,
            0,
            0.002 + wobble.abs() / 2.0,
            self.baseline_p95_ms * (1.0 + wobble * 10.0),
        );
        let mut message = None;
        match cur.failure {
            Some(Failure::Crashloop) => {
                ready = 0;
                crash = d;
                let mins = ((now - self.since).num_minutes() as u32).max(1);
                restarts = d * (mins / 2 + 3);
                rate = 1.0;
                p95 = f64::NAN;
                message =
                    Some("CrashLoopBackOff: back-off 5m0s restarting failed container".into());
            }
            Some(Failure::Errors) => {
                rate = 0.072 + wobble;
                p95 = self.baseline_p95_ms * 2.6;
                message = Some(
                    "500 Internal Server Error: column orders.legacy_total does not exist".into(),
                );
            }
            Some(Failure::Flaky) => {
                ready = d.saturating_sub(1);
                crash = 1;
                restarts = 4;
                rate = 0.011;
                message = Some("one container restarting: OOMKilled".into());
            }
            None => {
                // Errors fade out over the rollout and a short settling time.
                let e = (now - self.since).num_seconds();
                let span = ROLLOUT_SECS + RECOVERY_SECS;
                if e < span && self.rate_before > rate {
                    let f = 1.0 - e as f64 / span as f64;
                    rate += (self.rate_before.min(1.0) - rate) * f;
                    p95 *= 1.0 + f;
                }
            }
        }
        let mut updated = d;
        let mut stuck = false;
        let mut on_template = None;
        if let Some(r) = &self.rollout {
            let p = self.progress_of(r, now);
            updated = p.updated;
            // A rolling update keeps the old pods serving until the new
            // ones are ready: a healthy target does not go dark (CRITICAL
            // 0/N) during its own rollback; a crash-looping one has none.
            let old_serving = match self.revs[r.from].failure {
                Some(Failure::Crashloop) => 0,
                _ => p.old.min(d - p.ready),
            };
            ready = p.ready + old_serving;
            on_template = Some(p.ready);
            crash = if matches!(self.revs[r.to].failure, Some(Failure::Crashloop)) {
                p.updated
            } else {
                crash.min(d - p.updated)
            };
            stuck = p.phase == ProgressPhase::Failed;
            message = Some(p.message);
        }
        let images = match &self.rollout {
            Some(r) if self.progress_of(r, now).updated > 0 => {
                vec![self.image_ref(&self.revs[r.to])]
            }
            _ => vec![self.image_ref(cur)],
        };
        Health {
            target: self.info.name.clone(),
            desired: d,
            ready,
            updated,
            ready_on_template: on_template,
            crashlooping: crash,
            new_revision_crashing: 0,
            restarts,
            endpoints: Some(ready),
            error_rate: Some(rate.clamp(0.0, 1.0)),
            latency_p95_ms: if p95.is_nan() { None } else { Some(p95) },
            latency_baseline_ms: Some(self.baseline_p95_ms),
            probe_ok: Some(ready > 0),
            rollout_stuck: stuck,
            revision: cur.id.to_string(),
            images,
            message,
            observed_at: now,
            signals: Vec::new(),
        }
    }

    /// Rollout progress in the words of the target's platform
    /// (`demo::words`).
    pub fn progress_of(&self, r: &Rollout, now: DateTime<Utc>) -> Progress {
        use super::words::{Stage, say};
        let d = self.replicas;
        let e = (now - r.started).num_milliseconds().max(0) as f64 / 1000.0;
        let bad = matches!(self.revs[r.to].failure, Some(Failure::Crashloop));
        let step = (ROLLOUT_SECS as f64 - 2.0) / d as f64;
        let updated = if e < 1.0 {
            0
        } else {
            (((e - 1.0) / step).floor() as u32 + 1).min(d)
        };
        let words = |stage| say(self.info.kind, &self.info.name, d, stage);
        let out = |phase, stage, updated, ready, old| Progress {
            unproven: None,
            phase,
            message: words(stage),
            desired: d,
            updated,
            ready,
            old,
        };
        if bad {
            if e >= DEADLINE_SECS as f64 {
                return out(ProgressPhase::Failed, Stage::Deadline, updated, 0, d);
            }
            let phase = if updated == 0 {
                ProgressPhase::Pending
            } else {
                ProgressPhase::Progressing
            };
            return out(phase, Stage::Crashing { updated }, updated, 0, d);
        }
        let ready = if e < 2.0 {
            0
        } else {
            (((e - 2.0) / step).floor() as u32 + 1).min(d)
        };
        let old = d.saturating_sub(ready);
        if e >= ROLLOUT_SECS as f64 {
            return out(ProgressPhase::Converged, Stage::Done, d, d, 0);
        }
        let (phase, stage) = if updated == 0 {
            (ProgressPhase::Pending, Stage::Observing)
        } else if updated < d {
            (ProgressPhase::Progressing, Stage::Updating { updated })
        } else if old > 0 {
            (ProgressPhase::Progressing, Stage::Terminating { old })
        } else {
            (ProgressPhase::Progressing, Stage::Available { ready })
        };
        out(phase, stage, updated, ready, old)
    }

    /// Starts a rollback to revision `to_id` the way the platform records
    /// it: Kubernetes renumbers the old ReplicaSet to max+1 (the old number
    /// disappears); Argo CD, Swarm and Compose append a new entry.
    pub fn rollback(&mut self, to_id: &str, now: DateTime<Utc>) -> Result<String, BackendError> {
        let to = self
            .revs
            .iter()
            .position(|r| r.id.to_string() == to_id)
            .ok_or_else(|| {
                BackendError::Refused(format!(
                    "unable to find specified revision {to_id} in history"
                ))
            })?;
        if to == self.current {
            return Ok(format!(
                "skipped rollback (current template already matches revision {to_id})"
            ));
        }
        let max = self.revs.iter().map(|r| r.id).max().unwrap_or(0);
        let mut entry = self.revs[to].clone();
        entry.id = max + 1;
        entry.deployed_at = now;
        entry.author = "rbtui".into();
        entry.message = format!("{} (rollback to {to_id})", entry.message);
        self.rate_before = self.health(now).error_rate.unwrap_or(0.0);
        let from = self.current;
        if self.info.kind == Kind::Kubernetes {
            entry.message = self.revs[to].message.clone();
            self.revs.remove(to);
        }
        self.revs.push(entry);
        self.current = self.revs.len() - 1;
        let from = if self.info.kind == Kind::Kubernetes && from > to {
            from - 1
        } else {
            from
        };
        self.rollout = Some(Rollout {
            to: self.current,
            from,
            started: now,
        });
        self.since = now;
        self.version += 1;
        Ok(format!(
            "rollback to {to_id} accepted; now {} {}",
            self.info.kind.revision_word(),
            max + 1
        ))
    }

    /// The simulated pod template of a revision: what the demo's "what
    /// changes" diff compares (a real platform's is read from its objects).
    pub fn template(&self, id: &str) -> Option<String> {
        let r = self.revs.iter().find(|r| r.id.to_string() == id)?;
        Some(format!(
            "containers:\n- name: {name}\n  image: {image}:{tag}@{digest}\n  env:\n  - name: GIT_SHA\n    value: {sha}\n  readinessProbe:\n    httpGet:\n      path: /healthz\n",
            name = self.info.name,
            image = self.image,
            tag = r.tag,
            digest = r.digest,
            sha = r.sha,
        ))
    }

    /// Migrations shipped by the revisions after `to` up to the current one.
    pub fn migrations(&self, from_id: &str, to_id: &str) -> Result<MigrationDiff, BackendError> {
        let to = self
            .revs
            .iter()
            .position(|r| r.id.to_string() == to_id)
            .ok_or_else(|| BackendError::NotFound(format!("revision {to_id} not found")))?;
        let from = self
            .revs
            .iter()
            .position(|r| r.id.to_string() == from_id)
            .ok_or_else(|| BackendError::NotFound(format!("revision {from_id} not found")))?;
        let raw: Vec<(String, FileChange, String)> = if to < from {
            self.revs[to + 1..=from]
                .iter()
                .flat_map(|r| {
                    r.migrations
                        .iter()
                        .map(|(p, sql)| (p.clone(), FileChange::Added, sql.clone()))
                })
                .collect()
        } else {
            Vec::new()
        };
        Ok(MigrationDiff::classify(
            &self.info.name,
            &self.revs[from].sha[..7],
            &self.revs[to].sha[..7],
            raw,
        ))
    }
}
