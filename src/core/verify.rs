//! How long verification watches after convergence, per target. A metric
//! judged over a rate window cannot show a recovery sooner than that
//! window lets it, so a fixed window either records real recoveries as
//! "not recovered" (a 2m rate window outlasting a 2 min wait) or waits
//! for nothing. The window follows each target's slowest criterion unless
//! the operator set one, and the plan says which and why before confirm.

use super::settings::Settings;

pub use super::settings::VerifyNeed;

/// The window a target's verification runs for, and where it comes from.
#[derive(Debug, Clone, PartialEq)]
pub struct VerifyWindow {
    pub secs: i64,
    pub why: String,
    /// The operator's setting is shorter than what the signals need.
    pub too_short: bool,
}

/// Duration + rate window per metric: the breach must have cleared the
/// whole rate window, and the criterion's own duration is how long the
/// runbook says a breach must hold, so it is how long a recovery is given.
pub fn need(metrics: &[(String, i64, i64)]) -> Option<VerifyNeed> {
    metrics
        .iter()
        .map(|(name, for_secs, window)| VerifyNeed {
            secs: for_secs + window,
            why: format!(
                "{name}: {} + {} rate window",
                span(*for_secs),
                span(*window)
            ),
        })
        .max_by_key(|n| n.secs)
}

/// "7m", "1m30s", "45s": exact, unlike the rounded ages elsewhere.
pub fn span(secs: i64) -> String {
    match (secs / 60, secs % 60) {
        (0, s) => format!("{s}s"),
        (m, 0) => format!("{m}m"),
        (m, s) => format!("{m}m{s}s"),
    }
}

pub fn window(s: &Settings, target: &str) -> VerifyWindow {
    let need = s.verify_needs.get(target);
    match (s.verify_window_set, need) {
        (true, Some(n)) if n.secs > s.verify_window_secs => VerifyWindow {
            secs: s.verify_window_secs,
            why: format!(
                "verify_window_secs, under the {} {} needs",
                span(n.secs),
                n.why.split(':').next().unwrap_or_default()
            ),
            too_short: true,
        },
        (true, _) => VerifyWindow {
            secs: s.verify_window_secs,
            why: "verify_window_secs".into(),
            too_short: false,
        },
        (false, Some(n)) if n.secs > s.verify_window_secs => VerifyWindow {
            secs: n.secs,
            why: n.why.clone(),
            too_short: false,
        },
        (false, _) => VerifyWindow {
            secs: s.verify_window_secs,
            why: "default".into(),
            too_short: false,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::model::Mode;

    fn settings() -> Settings {
        Settings::new(Mode::Live, "INC", "n.md")
    }

    #[test]
    fn the_slowest_signal_sets_the_window() {
        let mut s = settings();
        s.verify_needs.insert(
            "shop".into(),
            need(&[
                ("error_rate".into(), 300, 120),
                ("latency_p95".into(), 60, 60),
            ])
            .unwrap(),
        );
        let w = window(&s, "shop");
        assert_eq!(w.secs, 420);
        assert_eq!(w.why, "error_rate: 5m + 2m rate window");
        assert_eq!(window(&s, "other").secs, 120);
    }

    #[test]
    fn an_operators_shorter_window_is_kept_and_said() {
        let mut s = settings();
        s.verify_window_set = true;
        s.verify_window_secs = 60;
        s.verify_needs.insert(
            "shop".into(),
            need(&[("error_rate".into(), 60, 60)]).unwrap(),
        );
        let w = window(&s, "shop");
        assert_eq!(w.secs, 60);
        assert!(w.too_short);
        assert_eq!(w.why, "verify_window_secs, under the 2m error_rate needs");
    }
}
