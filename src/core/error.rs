//! Why a platform call failed, in the kinds the core acts on differently.
//! Each kind keeps the platform's own words: they are what the operator
//! reads on the screen and in the note, so `Display` adds nothing to them
//! except where rbtui itself knows more (stale, refused, outcome unknown).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum BackendError {
    /// The object (target, revision, image tag) is not there.
    #[error("{0}")]
    NotFound(String),
    /// The target's object was deleted (a watch saw it go): not an outage,
    /// and its last health is not current.
    #[error("{0}")]
    Gone(String),
    /// The identity is known but lacks a right: acting would fail too.
    #[error("{0}")]
    Forbidden(String),
    /// The credentials are missing, invalid or expired.
    #[error("{0}")]
    Unauthorized(String),
    /// No connection was made (refused, DNS, TLS): nothing arrived.
    #[error("{0}")]
    Unreachable(String),
    /// The server answered that it cannot serve now (5xx, shutting down),
    /// or the connection was cut mid-answer.
    #[error("{0}")]
    Unavailable(String),
    /// A read that did not answer in time.
    #[error("{0}")]
    Timeout(String),
    /// The platform's own conflict (409): someone else changed it first.
    #[error("{0}")]
    Conflict(String),
    /// The target changed since the plan was built; nothing was applied.
    #[error(
        "target changed since the plan was built (version {built_from}, now {now}); nothing was applied"
    )]
    Stale { built_from: String, now: String },
    /// The platform (or rbtui's own pre-send check) declined; nothing changed.
    #[error("refused: {0}")]
    Refused(String),
    /// The request left but its answer was lost (a timeout, a 5xx after the
    /// server may have applied it): the target must be re-read to know.
    #[error("outcome unknown: the request was sent but its answer was lost ({0})")]
    OutcomeUnknown(String),
    /// The answer was not what the platform's API promises.
    #[error("{0}")]
    Malformed(String),
    /// A failure the operator must read that fits no kind above (a CLI's
    /// exit, a 5xx on a read); nothing is retried automatically.
    #[error("{0}")]
    Failed(String),
    /// The target's backend could not be built from the config (no token,
    /// no kubeconfig, a CA file missing): nothing was ever asked of the
    /// platform, and nothing will be until the config is fixed.
    #[error("not set up: {said}")]
    NotSetUp {
        said: String,
        /// The one thing to do, known where the set-up failed.
        fix: String,
    },
    /// Raised by the runtime's note gate, never by a platform: the entry
    /// announcing the step could not be written, so no request left.
    #[error("nothing was sent: {0}")]
    NotSent(String),
}

impl BackendError {
    /// The kind an HTTP status names; `None` for a success or a status
    /// whose meaning depends on whether the request mutated (5xx).
    pub fn from_status(status: u16, message: impl Into<String>) -> Option<BackendError> {
        let m = message.into();
        Some(match status {
            401 => BackendError::Unauthorized(m),
            403 => BackendError::Forbidden(m),
            404 => BackendError::NotFound(m),
            408 | 504 => BackendError::Timeout(m),
            409 => BackendError::Conflict(m),
            400..=499 => BackendError::Refused(m),
            _ => return None,
        })
    }

    /// The platform could not be asked at all: the target's data is an
    /// outage, not an answer.
    pub fn is_outage(&self) -> bool {
        matches!(
            self,
            BackendError::Unreachable(_) | BackendError::Unavailable(_) | BackendError::Timeout(_)
        )
    }

    /// The platform's words with `prefix` in front, keeping the kind.
    pub fn context(self, prefix: impl std::fmt::Display) -> BackendError {
        self.map_message(|m| format!("{prefix}: {m}"))
    }

    /// Other words, the same kind (a stale error keeps its versions).
    pub fn map_message(self, f: impl FnOnce(String) -> String) -> BackendError {
        use BackendError::*;
        match self {
            NotFound(m) => NotFound(f(m)),
            Gone(m) => Gone(f(m)),
            Forbidden(m) => Forbidden(f(m)),
            Unauthorized(m) => Unauthorized(f(m)),
            Unreachable(m) => Unreachable(f(m)),
            Unavailable(m) => Unavailable(f(m)),
            Timeout(m) => Timeout(f(m)),
            Conflict(m) => Conflict(f(m)),
            s @ Stale { .. } => s,
            Refused(m) => Refused(f(m)),
            OutcomeUnknown(m) => OutcomeUnknown(f(m)),
            Malformed(m) => Malformed(f(m)),
            Failed(m) => Failed(f(m)),
            NotSetUp { said, fix } => NotSetUp { said: f(said), fix },
            NotSent(m) => NotSent(f(m)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_name_the_kinds_the_core_acts_on() {
        let k = |s| BackendError::from_status(s, "m");
        assert_eq!(k(401), Some(BackendError::Unauthorized("m".into())));
        assert_eq!(k(403), Some(BackendError::Forbidden("m".into())));
        assert_eq!(k(404), Some(BackendError::NotFound("m".into())));
        assert_eq!(k(409), Some(BackendError::Conflict("m".into())));
        assert_eq!(k(422), Some(BackendError::Refused("m".into())));
        // A 5xx on a mutation may have been applied: the caller decides.
        assert_eq!(k(500), None);
        assert_eq!(k(200), None);
    }

    #[test]
    fn the_screen_gets_the_platforms_words() {
        let e = BackendError::Forbidden("deployments.apps is forbidden".into());
        assert_eq!(e.to_string(), "deployments.apps is forbidden");
        assert_eq!(
            e.context("catalog").to_string(),
            "catalog: deployments.apps is forbidden"
        );
        assert!(BackendError::Timeout("t".into()).is_outage());
        assert!(!BackendError::NotFound("t".into()).is_outage());
    }
}
