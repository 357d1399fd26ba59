//! Reads an earlier note back: the incident id and the checklist state, from
//! the hidden `rbtui:` markers the writer left in it.

use crate::core::entry::{Marker, RevFact, Stamped};
use crate::core::state::StepTick;
use chrono::{DateTime, Utc};
use std::collections::HashMap;

/// What a resumed session continues with.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Resumed {
    pub incident: Option<String>,
    pub checklists: HashMap<String, HashMap<String, StepTick>>,
    /// Images rbtui rolled targets back to, as recorded.
    pub deployed: Vec<Deployed>,
    /// The incident as the note's markers tell it, replayed in order: the
    /// same model the session that wrote them had.
    pub model: crate::core::incident::Incident,
}

/// One image a rollback put on a target, read back from a note.
#[derive(Debug, Clone, PartialEq)]
pub struct Deployed {
    pub target: String,
    pub image: String,
    pub incident: String,
    pub at: Option<DateTime<Utc>>,
    /// The images that rollback replaced (known bad); empty in old notes.
    pub from: Vec<String>,
    /// Bad and good revision ids, and their commits, where recorded.
    pub revs: Option<(String, String)>,
    pub shas: (Option<String>, Option<String>),
}

/// Reads the markers of a note, in order. Notes written before markers were
/// JSON (`<!-- rbtui:tick target=… -->`) are read too: an incident note is
/// resumed or consulted long after the version that wrote it.
pub fn markers(text: &str) -> Vec<Stamped> {
    Markers::default().read(text)
}

/// Reads a note's markers piece by piece, in order (a note read as it
/// grows): what a run's markers leave to their plan (`Marker::compact`) is
/// filled in from the plan read before, in this piece or an earlier one.
#[derive(Default)]
pub struct Markers {
    /// Each plan's revisions, by id (a re-plan's are its earlier plan's).
    /// Plan ids go on across resumed sessions: one id is one plan.
    plans: HashMap<u64, (RevFact, RevFact)>,
}

impl Markers {
    /// The markers of `text`, the next piece of the note, whole.
    pub fn read(&mut self, text: &str) -> Vec<Stamped> {
        let mut all: Vec<Stamped> = text
            .lines()
            .filter_map(|l| Stamped::from_comment(l).or_else(|| legacy(l)))
            .collect();
        self.fill(&mut all);
        all
    }

    /// Fills in, in order, what each marker leaves to its plan.
    pub fn fill(&mut self, all: &mut [Stamped]) {
        for s in all.iter_mut() {
            self.fill_one(&mut s.marker);
        }
    }

    fn fill_one(&mut self, m: &mut Marker) {
        match m {
            Marker::Planned { plan, from, to, .. } => {
                self.plans.insert(*plan, (from.clone(), to.clone()));
            }
            Marker::Replanned { plan, like, .. } => {
                if let Some(p) = self.plans.get(like).cloned() {
                    self.plans.insert(*plan, p);
                }
            }
            Marker::RunStarted { plan, from, to, .. } if from.unknown() => {
                if let Some((f, t)) = self.plans.get(plan) {
                    (*from, *to) = (f.clone(), t.clone());
                }
            }
            Marker::Deployed {
                plan: Some(p),
                from,
                from_rev: from_rev @ None,
                to_rev,
                from_sha,
                to_sha,
                ..
            } => {
                if let Some((f, t)) = self.plans.get(p) {
                    *from = f.images.clone();
                    (*from_rev, *to_rev) = (Some(f.id.clone()), Some(t.id.clone()));
                    (*from_sha, *to_sha) = (f.sha.clone(), t.sha.clone());
                }
            }
            _ => {}
        }
    }
}

pub fn parse(text: &str) -> Resumed {
    let mut r = Resumed::default();
    for Stamped { marker, at } in markers(text) {
        r.model.apply(at, &marker);
        match marker {
            Marker::Header { incident } => r.incident = Some(incident),
            Marker::Deployed {
                target,
                image,
                incident,
                from,
                from_rev,
                to_rev,
                from_sha,
                to_sha,
                ..
            } => r.deployed.push(Deployed {
                target,
                image,
                incident,
                at: Some(at),
                from,
                revs: from_rev.zip(to_rev),
                shas: (from_sha, to_sha),
            }),
            Marker::Tick { target, step, auto } => {
                r.checklists.entry(target).or_default().insert(
                    step,
                    StepTick {
                        at,
                        auto,
                        evidence: Some("restored from the note".into()),
                    },
                );
            }
            Marker::Untick { target, step } => {
                r.checklists.entry(target).or_default().remove(&step);
            }
            _ => {}
        }
    }
    r
}

/// When the rollback runbook last worked per target, from every note in
/// `dir`: `LIVE` sessions count as real, `REHEARSAL` as drills; the demo
/// is a simulation and counts as neither.
pub fn last_worked(dir: &std::path::Path) -> HashMap<String, crate::core::entry::LastWorked> {
    let mut out: HashMap<String, crate::core::entry::LastWorked> = HashMap::new();
    let Ok(rd) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.extension().is_none_or(|x| x != "md") {
            continue;
        }
        let Ok(text) = std::fs::read_to_string(&p) else {
            continue;
        };
        for Stamped { marker, at } in markers(&text) {
            if let Marker::Worked { target, mode } = marker {
                let w = out.entry(target).or_default();
                let slot = match mode.as_str() {
                    "LIVE" => &mut w.real,
                    "REHEARSAL" => &mut w.drill,
                    _ => continue,
                };
                if slot.is_none_or(|old| at > old) {
                    *slot = Some(at);
                }
            }
        }
    }
    out
}

/// The word format of notes written before markers were JSON.
fn legacy(line: &str) -> Option<Stamped> {
    let m = line
        .trim()
        .strip_prefix("<!-- rbtui:")?
        .strip_suffix("-->")?
        .trim();
    let field = |key: &str| {
        m.split_whitespace()
            .find_map(|kv| kv.strip_prefix(key)?.strip_prefix('='))
            .map(str::to_string)
    };
    // The header carried no time; the epoch sorts it first.
    let at = field("at")
        .and_then(|a| DateTime::parse_from_rfc3339(&a).ok())
        .map(|d| d.with_timezone(&Utc))
        .unwrap_or_default();
    let (word, _) = m.split_once(' ').unwrap_or((m, ""));
    let marker = match word {
        "header" => Marker::Header {
            incident: field("incident")?,
        },
        "deployed" => Marker::Deployed {
            target: field("target")?,
            image: field("image")?,
            incident: field("incident").unwrap_or_else(|| "?".into()),
            from: vec![],
            from_rev: None,
            to_rev: None,
            from_sha: None,
            to_sha: None,
            plan: None,
        },
        "tick" => Marker::Tick {
            target: field("target")?,
            step: field("step")?,
            auto: field("by").as_deref() == Some("auto"),
        },
        "untick" => Marker::Untick {
            target: field("target")?,
            step: field("step")?,
        },
        "end" => Marker::End,
        _ => return None,
    };
    Some(Stamped { marker, at })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restores_ticks_and_unticks_written_as_json() {
        let at = |s: &str| s.parse().unwrap();
        let note = [
            Stamped {
                marker: Marker::Header {
                    incident: "INC 7 -- db".into(),
                },
                at: at("2026-01-01T00:00:00Z"),
            },
            Stamped {
                marker: Marker::Tick {
                    target: "a b".into(),
                    step: "s1".into(),
                    auto: true,
                },
                at: at("2026-01-01T00:00:01Z"),
            },
            Stamped {
                marker: Marker::Tick {
                    target: "a b".into(),
                    step: "s2".into(),
                    auto: false,
                },
                at: at("2026-01-01T00:00:02Z"),
            },
            Stamped {
                marker: Marker::Untick {
                    target: "a b".into(),
                    step: "s1".into(),
                },
                at: at("2026-01-01T00:00:03Z"),
            },
        ]
        .iter()
        .map(|m| format!("- x\n  {}\n", m.to_comment()))
        .collect::<String>();
        let r = parse(&note);
        assert_eq!(r.incident.as_deref(), Some("INC 7 -- db"));
        let a = &r.checklists["a b"];
        assert!(a.contains_key("s2") && !a.contains_key("s1"));
        assert!(!a["s2"].auto);
    }

    /// A run's markers leave the plan's revisions to the plan; read back,
    /// each is whole again (a re-plan's run from the plan it repeats), and
    /// the note holds each image reference once per plan.
    #[test]
    fn a_runs_markers_are_read_back_whole_from_their_plan() {
        use crate::core::plan::PlanKind;
        let at = "2026-01-01T00:00:00Z".parse().unwrap();
        let rev = |id: &str, sha: &str| RevFact {
            id: id.into(),
            sha: Some(sha.into()),
            images: vec![format!("r/app:git-{sha}@sha256:{}", sha.repeat(8))],
            deployed_at: None,
        };
        let (from, to) = (rev("9", "d8f3c2a"), rev("8", "a1b2c3d"));
        let whole = [
            Marker::Planned {
                target: "app".into(),
                plan: 1,
                kind: PlanKind::Rollback,
                from: from.clone(),
                to: to.clone(),
                checks: vec![("schema".into(), "PASS".into())],
            },
            Marker::Replanned {
                target: "app".into(),
                plan: 2,
                like: 1,
            },
            Marker::RunStarted {
                target: "app".into(),
                plan: 2,
                kind: PlanKind::Rollback,
                from: from.clone(),
                to: to.clone(),
                group: None,
            },
            Marker::Deployed {
                target: "app".into(),
                image: to.images[0].clone(),
                incident: "INC-7".into(),
                from: from.images.clone(),
                from_rev: Some("9".into()),
                to_rev: Some("8".into()),
                from_sha: from.sha.clone(),
                to_sha: to.sha.clone(),
                plan: Some(2),
            },
        ]
        .map(|marker| Stamped { marker, at });
        let note: String = whole
            .iter()
            .map(|m| format!("- x\n  {}\n", m.to_comment()))
            .collect();
        assert_eq!(note.matches(&from.images[0]).count(), 1, "{note}");
        assert_eq!(markers(&note), whole.to_vec());
    }

    #[test]
    fn restores_ticks_and_unticks_from_notes_written_before_json_markers() {
        let note = "<!-- rbtui:header incident=INC-7 -->\n- x\n  <!-- rbtui:tick target=a step=s1 at=2026-01-01T00:00:00Z -->\n  <!-- rbtui:tick target=a step=s2 at=2026-01-01T00:00:01Z -->\n  <!-- rbtui:untick target=a step=s1 at=2026-01-01T00:00:02Z -->\n";
        let r = parse(note);
        assert_eq!(r.incident.as_deref(), Some("INC-7"));
        let a = &r.checklists["a"];
        assert!(a.contains_key("s2") && !a.contains_key("s1"));
    }
}
