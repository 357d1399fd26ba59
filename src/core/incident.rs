//! The incident, not the last action: per target, what happened in order —
//! the failure seen, the plans (with their checks' answers), the runs
//! (steps sent, how each ended and what proved it). Every derived fact is
//! read from here: the last known good, what was rolled back from (known
//! bad, follow-ups), status messages, the resume. The model is built only
//! from the note's markers (`apply`), live and on `--resume` alike, so the
//! screen and the note cannot tell two stories.

pub use super::entry::RunResult;
use super::entry::{Marker, RevFact};
use super::model::{History, Revision, RevisionId};
use super::plan::{PlanId, PlanKind};
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;

/// Every target this incident touched, by name.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Incident {
    pub stories: BTreeMap<String, Story>,
    /// Groups confirmed, in order: name and (target, plan) per member.
    pub groups: Vec<GroupFact>,
}

/// One target's part of the incident.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Story {
    /// Each time the target was seen failing (fresh read, serious or worse).
    pub failures: Vec<Failure>,
    pub plans: Vec<PlanFact>,
    pub runs: Vec<RunFact>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    pub at: DateTime<Utc>,
    pub severity: String,
    pub reasons: Vec<String>,
    /// What ran when it was seen: the suspect.
    pub revision: Option<RevFact>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PlanFact {
    pub id: PlanId,
    pub at: DateTime<Utc>,
    pub kind: PlanKind,
    pub from: RevFact,
    pub to: RevFact,
    /// (check, status) as answered when the plan was recorded.
    pub checks: Vec<(String, String)>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RunFact {
    pub plan: PlanId,
    pub kind: PlanKind,
    pub from: RevFact,
    pub to: RevFact,
    pub started: DateTime<Utc>,
    pub group: Option<String>,
    /// The rollback (or re-tag) step was applied: the target left `from`.
    pub sent: Option<DateTime<Utc>>,
    pub ended: Option<RunEnd>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RunEnd {
    pub at: DateTime<Utc>,
    pub result: RunResult,
    /// The fact it rests on: the proof of a verification, why it failed.
    pub why: String,
    /// The revision the target ran when it was verified (a rollback is a
    /// new revision on most platforms: 9 → 8 lands as 10).
    pub landed: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct GroupFact {
    pub name: String,
    pub at: DateTime<Utc>,
    pub members: Vec<(String, PlanId)>,
}

impl Incident {
    /// Folds one recorded marker into the model.
    pub fn apply(&mut self, at: DateTime<Utc>, m: &Marker) {
        match m {
            Marker::Failure {
                target,
                severity,
                reasons,
                revision,
            } => self.story_mut(target).failures.push(Failure {
                at,
                severity: severity.clone(),
                reasons: reasons.clone(),
                revision: revision.clone(),
            }),
            Marker::Planned {
                target,
                plan,
                kind,
                from,
                to,
                checks,
            } => self.story_mut(target).plans.push(PlanFact {
                id: PlanId(*plan),
                at,
                kind: *kind,
                from: from.clone(),
                to: to.clone(),
                checks: checks.clone(),
            }),
            Marker::Replanned { target, plan, like } => {
                let story = self.story_mut(target);
                if let Some(p) = story.plans.iter().rfind(|p| p.id == PlanId(*like)).cloned() {
                    story.plans.push(PlanFact {
                        id: PlanId(*plan),
                        at,
                        ..p
                    });
                }
            }
            Marker::RunStarted {
                target,
                plan,
                kind,
                from,
                to,
                group,
            } => self.story_mut(target).runs.push(RunFact {
                plan: PlanId(*plan),
                kind: *kind,
                from: from.clone(),
                to: to.clone(),
                started: at,
                group: group.clone(),
                sent: None,
                ended: None,
            }),
            Marker::Deployed {
                target,
                plan: Some(p),
                ..
            } => {
                if let Some(r) = self.run_mut(target, PlanId(*p)) {
                    r.sent.get_or_insert(at);
                }
            }
            Marker::RunEnded {
                target,
                plan,
                result,
                why,
                landed,
            } => {
                if let Some(r) = self.run_mut(target, PlanId(*plan)) {
                    r.ended = Some(RunEnd {
                        at,
                        result: *result,
                        why: why.clone(),
                        landed: landed.clone(),
                    });
                }
            }
            Marker::Group { name, members } => self.groups.push(GroupFact {
                name: name.clone(),
                at,
                members: members
                    .iter()
                    .map(|(t, p)| (t.clone(), PlanId(*p)))
                    .collect(),
            }),
            _ => {}
        }
    }

    fn story_mut(&mut self, t: &str) -> &mut Story {
        self.stories.entry(t.to_string()).or_default()
    }

    fn run_mut(&mut self, t: &str, plan: PlanId) -> Option<&mut RunFact> {
        self.stories
            .get_mut(t)?
            .runs
            .iter_mut()
            .rev()
            .find(|r| r.plan == plan)
    }

    pub fn story(&self, t: &str) -> Option<&Story> {
        self.stories.get(t)
    }

    /// Targets something happened to (seen failing, or run on), in name
    /// order: what a status message or a summary must cover.
    pub fn touched(&self) -> Vec<(&str, &Story)> {
        self.stories
            .iter()
            .filter(|(_, s)| !s.failures.is_empty() || !s.runs.is_empty())
            .map(|(t, s)| (t.as_str(), s))
            .collect()
    }

    /// The first plan id not used yet (a resumed session goes on counting).
    pub fn next_plan_id(&self) -> PlanId {
        let max = self
            .stories
            .values()
            .flat_map(|s| {
                s.plans
                    .iter()
                    .map(|p| p.id)
                    .chain(s.runs.iter().map(|r| r.plan))
            })
            .max()
            .unwrap_or(PlanId(0));
        max.next()
    }

    /// What this incident knows laid over what the platform says: while
    /// the target runs what a verified rollback landed, that revision is
    /// the last known good; the revisions it was rolled back from are known
    /// bad, with when and by which plan. Recomputed from the platform's own
    /// answer whenever either changes.
    pub fn overlay(&self, mut h: History) -> History {
        let Some(story) = self.story(&h.target) else {
            return h;
        };
        if let Some(id) = story.lkg_in(&h).map(|r| r.id.to_string()) {
            h.last_known_good = Some(id);
        }
        for r in story.rolled_back_from() {
            let why = format!(
                "rolled back from at {} in this incident (plan #{})",
                r.sent.map(super::fmt::hms).unwrap_or_default(),
                r.plan
            );
            let bad: Vec<RevisionId> = h
                .revisions
                .iter()
                .filter(|rev| !rev.current && r.from.matches(rev))
                .map(|rev| rev.id.clone())
                .collect();
            for id in bad {
                if !h.known_bad.contains(&id) {
                    h.known_bad.push(id.clone());
                }
                if !h.facts.bad_why.iter().any(|(b, _)| *b == id) {
                    h.facts.bad_why.push((id, why.clone()));
                }
            }
        }
        h
    }

    /// Runs recorded as started and never recorded as ended: the session
    /// that ran them ended first (a crash, kill -9).
    pub fn interrupted(&self) -> Vec<(&str, &RunFact)> {
        self.stories
            .iter()
            .flat_map(|(t, s)| s.runs.iter().map(move |r| (t.as_str(), r)))
            .filter(|(_, r)| r.ended.is_none())
            .collect()
    }
}

impl Story {
    /// The latest failure not yet answered by a verified rollback.
    pub fn open_failure(&self) -> Option<&Failure> {
        let f = self.failures.last()?;
        let fixed = self.runs.iter().any(|r| {
            r.ended
                .as_ref()
                .is_some_and(|e| e.result == RunResult::Verified && e.at >= f.at)
        });
        (!fixed).then_some(f)
    }

    /// The latest run that ended verified.
    pub fn last_verified(&self) -> Option<&RunFact> {
        self.runs.iter().rev().find(|r| {
            r.ended
                .as_ref()
                .is_some_and(|e| e.result == RunResult::Verified)
        })
    }

    /// The last known good, by this incident: the revision running now,
    /// when it runs what the latest verified rollback put there.
    pub fn lkg_in<'h>(&self, h: &'h History) -> Option<&'h Revision> {
        let v = self.last_verified()?;
        let cur = h.current()?;
        let landed = v.ended.as_ref().and_then(|e| e.landed.as_deref());
        (landed == Some(cur.id.as_str()) || v.to.matches(cur)).then_some(cur)
    }

    /// Whether the target was failing at `t`: a failure seen before it
    /// that no verified rollback answered in between.
    pub fn failing_at(&self, t: DateTime<Utc>) -> bool {
        let Some(f) = self.failures.iter().rev().find(|f| f.at <= t) else {
            return false;
        };
        !self.runs.iter().any(|r| {
            r.ended
                .as_ref()
                .is_some_and(|e| e.result == RunResult::Verified && e.at >= f.at && e.at <= t)
        })
    }

    /// The revisions rolled back from (the rollback step was applied) as
    /// bad: the target was failing when the run started, or the operator
    /// chose to roll it back alone; not one this incident verified good,
    /// nor a healthy member rolled back only because its group was. The
    /// known bad, and what the follow-ups are about. Oldest first.
    pub fn rolled_back_from(&self) -> Vec<&RunFact> {
        let verified: Vec<&RevFact> = self
            .runs
            .iter()
            .filter(|r| {
                r.ended
                    .as_ref()
                    .is_some_and(|e| e.result == RunResult::Verified)
            })
            .map(|r| &r.to)
            .collect();
        self.runs
            .iter()
            .filter(|r| r.sent.is_some() && r.kind.rolls_back())
            .filter(|r| !verified.iter().any(|v| v.same_content(&r.from)))
            .filter(|r| r.group.is_none() || self.failing_at(r.started))
            .collect()
    }

    /// The follow-ups' pair: the first bad revision rolled back from, and
    /// the good one the latest rollback put in its place. None for a
    /// target only planned, or rolled back only with its group.
    pub fn followup(&self) -> Option<(&RevFact, &RevFact)> {
        let bad = self.rolled_back_from().into_iter().next()?;
        let good = self
            .runs
            .iter()
            .rev()
            .find(|r| r.sent.is_some() && r.kind.rolls_back())
            .map(|r| &r.to)?;
        Some((&bad.from, good))
    }

    /// The latest run of a rollback (or re-tag), ended or not.
    pub fn last_rollback(&self) -> Option<&RunFact> {
        self.runs.iter().rev().find(|r| r.kind.rolls_back())
    }
}

impl RevFact {
    /// Not known here: a marker that names it by its plan instead.
    pub fn unknown(&self) -> bool {
        self.id.is_empty()
    }

    pub fn of(r: &Revision) -> RevFact {
        RevFact {
            id: r.id.to_string(),
            sha: r.git_sha.clone(),
            images: r.images.iter().map(|i| i.full()).collect(),
            deployed_at: r.deployed_at,
        }
    }

    /// Back to a revision as the follow-ups name it.
    pub fn revision(&self) -> Revision {
        Revision {
            id: RevisionId::new(self.id.clone()),
            deployed_at: self.deployed_at,
            images: self
                .images
                .iter()
                .map(|i| super::model::ImageRef::parse(i))
                .collect(),
            git_sha: self.sha.clone(),
            message: String::new(),
            author: None,
            current: false,
        }
    }

    /// The same build: the same commit where both name one, else the same
    /// images.
    pub fn same_content(&self, o: &RevFact) -> bool {
        match (&self.sha, &o.sha) {
            (Some(a), Some(b)) => a == b,
            _ => {
                let imgs = |f: &RevFact| {
                    f.images
                        .iter()
                        .map(|i| super::model::ImageRef::parse(i))
                        .collect::<Vec<_>>()
                };
                super::model::same_images(&imgs(self), &imgs(o))
            }
        }
    }

    /// Whether the platform's revision runs this content.
    pub fn matches(&self, r: &Revision) -> bool {
        self.same_content(&RevFact::of(r))
    }

    /// The follow-up's revert as every place names it (status message,
    /// note summary, postmortem): by its commit where one is known.
    pub fn revert(&self) -> String {
        match self.short_sha() {
            Some(sha) => format!("revert {sha} in git"),
            None => format!("revert the change that made revision {} in git", self.id),
        }
    }

    /// The short commit, else the id: what a follow-up names.
    pub fn short_sha(&self) -> Option<String> {
        self.sha.as_deref().map(|s| s[..s.len().min(7)].to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rev(id: &str, sha: &str) -> RevFact {
        RevFact {
            id: id.into(),
            sha: Some(sha.into()),
            images: vec![format!("r/app:git-{sha}")],
            deployed_at: None,
        }
    }

    fn at(s: u32) -> DateTime<Utc> {
        chrono::TimeZone::with_ymd_and_hms(&Utc, 2026, 11, 22, 3, 0, s).unwrap()
    }

    fn started(plan: u64, from: RevFact, to: RevFact) -> Marker {
        Marker::RunStarted {
            target: "co".into(),
            plan,
            kind: PlanKind::Rollback,
            from,
            to,
            group: None,
        }
    }

    fn deployed(plan: u64) -> Marker {
        Marker::Deployed {
            target: "co".into(),
            image: String::new(),
            incident: "I".into(),
            from: vec![],
            from_rev: None,
            to_rev: None,
            from_sha: None,
            to_sha: None,
            plan: Some(plan),
        }
    }

    fn ended(plan: u64, result: RunResult, landed: &str) -> Marker {
        Marker::RunEnded {
            target: "co".into(),
            plan,
            result,
            why: "x".into(),
            landed: Some(landed.into()),
        }
    }

    fn history(cur: &str, sha: &str) -> History {
        History {
            target: "co".into(),
            revisions: vec![Revision {
                current: true,
                ..rev(cur, sha).revision()
            }],
            facts: Default::default(),
            fetched_at: at(0),
            known_bad: vec![],
            last_known_good: None,
        }
    }

    /// A verified rollback makes what it landed the last known good, and
    /// the follow-ups name the failing build, not the one that fixed it,
    /// even after a second rollback from the good one.
    #[test]
    fn the_verified_landing_is_lkg_and_follow_ups_name_the_first_bad_build() {
        let mut i = Incident::default();
        i.apply(at(1), &started(1, rev("9", "d8f3c2a"), rev("8", "a1b2c3d")));
        i.apply(at(2), &deployed(1));
        i.apply(at(3), &ended(1, RunResult::Verified, "10"));
        let s = i.story("co").unwrap();
        let h = history("10", "a1b2c3d");
        assert_eq!(s.lkg_in(&h).map(|r| r.id.as_str()), Some("10"));
        assert_eq!(s.followup().unwrap().0.short_sha().unwrap(), "d8f3c2a");
        // Rolled back again from the verified build: it is not bad.
        i.apply(
            at(4),
            &started(2, rev("10", "a1b2c3d"), rev("7", "2b3c4d5")),
        );
        i.apply(at(5), &deployed(2));
        let s = i.story("co").unwrap();
        let (bad, good) = s.followup().unwrap();
        assert_eq!(bad.short_sha().unwrap(), "d8f3c2a");
        assert_eq!(good.id, "7");
        assert_eq!(s.rolled_back_from().len(), 1);
        // Once something else runs, the incident names no lkg there.
        assert!(s.lkg_in(&history("11", "ffff000")).is_none());
    }

    /// A healthy member rolled back with its group is not a bad deploy:
    /// no follow-up, nothing known bad; a failing member is.
    #[test]
    fn a_healthy_group_member_is_not_a_bad_deploy() {
        let mut i = Incident::default();
        let grouped = |plan: u64| Marker::RunStarted {
            target: "co".into(),
            plan,
            kind: PlanKind::Rollback,
            from: rev("108", "2f1a0b9"),
            to: rev("107", "1e0f9a8"),
            group: Some("shop".into()),
        };
        i.apply(at(1), &grouped(1));
        i.apply(at(2), &deployed(1));
        assert!(i.story("co").unwrap().followup().is_none());
        i.apply(
            at(3),
            &Marker::Failure {
                target: "co".into(),
                severity: "critical".into(),
                reasons: vec![],
                revision: None,
            },
        );
        i.apply(at(4), &grouped(2));
        i.apply(at(5), &deployed(2));
        assert_eq!(i.story("co").unwrap().rolled_back_from().len(), 1);
    }

    #[test]
    fn a_target_only_planned_has_no_follow_ups_and_interrupted_runs_are_found() {
        let mut i = Incident::default();
        i.apply(
            at(1),
            &Marker::Planned {
                target: "cat".into(),
                plan: 4,
                kind: PlanKind::Rollback,
                from: rev("8", "1a2b3c4"),
                to: rev("7", "9f8e7d6"),
                checks: vec![],
            },
        );
        assert!(i.story("cat").unwrap().followup().is_none());
        assert!(i.touched().is_empty(), "a plan alone touches nothing");
        assert_eq!(i.next_plan_id(), PlanId(5));
        i.apply(at(2), &started(5, rev("9", "d8f3c2a"), rev("8", "a1b2c3d")));
        assert_eq!(i.interrupted().len(), 1);
        assert_eq!(i.touched().len(), 1);
    }
}
