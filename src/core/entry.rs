//! What a note entry is and the machine-readable marker it may carry. Both
//! are types: the note is read back by `--resume` and by later sessions
//! (images rbtui deployed), so its markers are serialized with serde, never
//! assembled from words and split apart again.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The kind of an entry, shown in bold in the note's timeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EntryKind {
    Session,
    Crash,
    End,
    Plan,
    Check,
    Refused,
    Confirm,
    Action,
    Result,
    Unknown,
    Progress,
    Stale,
    Failed,
    Done,
    Verify,
    Recovered,
    NotRecovered,
    Evidence,
    Assess,
    /// A target seen failing on a fresh read (the incident's failure).
    Failing,
    Checklist,
    Status,
    Signal,
    Source,
    /// A rehearsal's report: step times against their budgets.
    Drill,
    /// Operator text from the notes editor.
    Note,
    /// Heads entries written late after the note could not be written.
    NoteGap,
    /// The note attached to (or updated on) the incident's ticket.
    Ticket,
}

impl EntryKind {
    pub fn label(self) -> &'static str {
        use EntryKind::*;
        match self {
            Session => "session",
            Crash => "crash",
            End => "end",
            Plan => "plan",
            Check => "check",
            Refused => "refused",
            Confirm => "confirm",
            Action => "action",
            Result => "result",
            Unknown => "unknown",
            Progress => "progress",
            Stale => "stale",
            Failed => "failed",
            Done => "done",
            Verify => "verify",
            Recovered => "recovered",
            NotRecovered => "not-recovered",
            Evidence => "evidence",
            Assess => "assess",
            Failing => "failing",
            Checklist => "checklist",
            Status => "status",
            Signal => "signal",
            Source => "source",
            Drill => "drill",
            Note => "note",
            NoteGap => "note-gap",
            Ticket => "ticket",
        }
    }
}

impl std::fmt::Display for EntryKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.label())
    }
}

/// A fact for later sessions, hidden in the note as an HTML comment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "marker", rename_all = "kebab-case")]
pub enum Marker {
    /// The note's incident id.
    Header {
        incident: String,
    },
    /// A rollback put this image on the target (offered as history later
    /// where the platform keeps none).
    Deployed {
        target: String,
        image: String,
        incident: String,
        /// The images it replaced: known bad for later plans. With `plan`,
        /// this and the revisions below are the plan's and are written
        /// only with it (`Stamped::to_comment`); `note::resume::markers`
        /// reads them back from it.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        from: Vec<String>,
        /// The revisions and commits of the rollback, for the follow-ups
        /// of a resumed session.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        from_rev: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        to_rev: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        from_sha: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        to_sha: Option<String>,
        /// The run that deployed it (the incident model's key).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        plan: Option<u64>,
    },
    /// The target was seen failing on a fresh read (serious or worse).
    Failure {
        target: String,
        severity: String,
        reasons: Vec<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        revision: Option<RevFact>,
    },
    /// A plan was recorded with every check answered.
    Planned {
        target: String,
        plan: u64,
        kind: crate::core::plan::PlanKind,
        from: RevFact,
        to: RevFact,
        /// (check, status) pairs.
        checks: Vec<(String, String)>,
    },
    /// A plan the same as an earlier one of the target (kind, revisions,
    /// every check's answer): recorded by reference, not whole again (a
    /// `v` toggle re-plans every member of a group).
    Replanned {
        target: String,
        plan: u64,
        like: u64,
    },
    /// A confirmed plan started running. Its revisions are the plan's:
    /// written with the plan only, read back from it.
    RunStarted {
        target: String,
        plan: u64,
        kind: crate::core::plan::PlanKind,
        #[serde(default, skip_serializing_if = "RevFact::unknown")]
        from: RevFact,
        #[serde(default, skip_serializing_if = "RevFact::unknown")]
        to: RevFact,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        group: Option<String>,
    },
    /// A run ended, and how.
    RunEnded {
        target: String,
        plan: u64,
        result: RunResult,
        why: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        landed: Option<String>,
    },
    /// A group was confirmed: its members and their plans, in order.
    Group {
        name: String,
        members: Vec<(String, u64)>,
    },
    /// A checklist step ticked, automatically (with its proof) or by hand.
    Tick {
        target: String,
        step: String,
        /// Written only when false (a tick by hand): most ticks are auto.
        #[serde(default = "yes", skip_serializing_if = "is_yes")]
        auto: bool,
    },
    Untick {
        target: String,
        step: String,
    },
    /// A rollback ran to its end on the target: the runbook worked, for
    /// real (`LIVE`) or in a drill (`REHEARSAL`).
    Worked {
        target: String,
        mode: String,
    },
    /// The note went to the ticket as this comment: a later attach
    /// updates it instead of posting another.
    Attached {
        ticket: String,
        comment: String,
        url: String,
    },
    /// The session ended here.
    End,
}

impl Marker {
    /// The marker as the note keeps it: what a plan recorded above already
    /// says (a run's revisions, what a rollback replaced) is left out, and
    /// read back from the plan by `note::resume::markers`. A run's three
    /// markers repeated the plan's images and commits twice more.
    fn compact(&self) -> Marker {
        let mut m = self.clone();
        match &mut m {
            Marker::RunStarted { from, to, .. } => {
                *from = RevFact::default();
                *to = RevFact::default();
            }
            Marker::Deployed {
                plan: Some(_),
                from,
                from_rev,
                to_rev,
                from_sha,
                to_sha,
                ..
            } => {
                from.clear();
                (*from_rev, *to_rev, *from_sha, *to_sha) = (None, None, None, None);
            }
            _ => {}
        }
        m
    }

    /// The target the marker is about, if one.
    pub fn target(&self) -> Option<&str> {
        match self {
            Marker::Deployed { target, .. }
            | Marker::Failure { target, .. }
            | Marker::Planned { target, .. }
            | Marker::Replanned { target, .. }
            | Marker::RunStarted { target, .. }
            | Marker::RunEnded { target, .. }
            | Marker::Tick { target, .. }
            | Marker::Untick { target, .. }
            | Marker::Worked { target, .. } => Some(target),
            Marker::Header { .. }
            | Marker::Group { .. }
            | Marker::Attached { .. }
            | Marker::End => None,
        }
    }
}

fn yes() -> bool {
    true
}

fn is_yes(b: &bool) -> bool {
    *b
}

/// A revision as the incident model keeps it: enough to name it in a
/// follow-up and to tell whether the platform still runs it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevFact {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub images: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployed_at: Option<DateTime<Utc>>,
}

/// How a run ended, as recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RunResult {
    Verified,
    Unproven,
    Failed,
    DryRun,
    Finished,
}

impl RunResult {
    pub fn label(self) -> &'static str {
        match self {
            RunResult::Verified => "verified",
            RunResult::Unproven => "done, recovery NOT proven",
            RunResult::Failed => "FAILED",
            RunResult::DryRun => "dry run (nothing changed)",
            RunResult::Finished => "done",
        }
    }
}

/// When the rollback runbook last worked on a target, read from the notes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LastWorked {
    pub real: Option<DateTime<Utc>>,
    pub drill: Option<DateTime<Utc>>,
}

impl LastWorked {
    /// The latest of the two, and whether it was a drill.
    pub fn latest(&self) -> Option<(DateTime<Utc>, bool)> {
        match (self.real, self.drill) {
            (Some(r), Some(d)) if d > r => Some((d, true)),
            (Some(r), _) => Some((r, false)),
            (None, Some(d)) => Some((d, true)),
            (None, None) => None,
        }
    }

    /// Not exercised within `days` (never counts as stale).
    pub fn stale(&self, now: DateTime<Utc>, days: i64) -> bool {
        self.latest()
            .is_none_or(|(at, _)| (now - at).num_days() >= days)
    }
}

/// A marker with the time of its entry, as written to the note.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stamped {
    #[serde(flatten)]
    pub marker: Marker,
    pub at: DateTime<Utc>,
}

/// Opens a marker comment in the note.
pub const OPEN: &str = "<!-- rbtui ";
pub const CLOSE: &str = " -->";

impl Stamped {
    /// One line of JSON inside an HTML comment. `--` cannot appear inside a
    /// comment; in JSON it can only be inside a string, where `\u002d` is
    /// the same character.
    pub fn to_comment(&self) -> String {
        let kept = Stamped {
            marker: self.marker.compact(),
            at: self.at,
        };
        let json = serde_json::to_string(&kept).unwrap_or_default();
        format!("{OPEN}{}{CLOSE}", json.replace("--", "-\\u002d"))
    }

    /// The marker of a comment line written by [`Stamped::to_comment`].
    pub fn from_comment(line: &str) -> Option<Stamped> {
        let json = line.trim().strip_prefix(OPEN)?.strip_suffix(CLOSE)?;
        serde_json::from_str(json).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_survive_the_note_whatever_their_text() {
        let at = "2026-11-22T03:00:00Z".parse().unwrap();
        for m in [
            Marker::Header {
                incident: "INC 7 -- sev1 \"db\" -->".into(),
            },
            Marker::Deployed {
                target: "a b".into(),
                image: "r:5000/x:y@sha256:00".into(),
                incident: "INC=7".into(),
                from: vec!["r:5000/x:bad".into()],
                from_rev: Some("42".into()),
                to_rev: None,
                from_sha: Some("d8f3c2a".into()),
                to_sha: None,
                plan: None,
            },
            Marker::Tick {
                target: "t".into(),
                step: "s=1".into(),
                auto: true,
            },
            Marker::End,
        ] {
            let s = Stamped { marker: m, at };
            let c = s.to_comment();
            assert!(!c[4..c.len() - 3].contains("--"), "{c}");
            assert_eq!(Stamped::from_comment(&c), Some(s));
        }
    }
}
