//! Health criteria from the runbooks, turned into one verdict per target.
//! The UI only paints what this module decides.

use super::model::Health;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Severity, ordered so the worst target sorts first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Severity {
    Ok,
    /// A configured signal has no usable answer: health cannot be judged,
    /// so it is not OK.
    Unknown,
    Watch,
    Serious,
    Critical,
}

impl Severity {
    pub fn label(self) -> &'static str {
        match self {
            Severity::Ok => "ok",
            Severity::Unknown => "unknown",
            Severity::Watch => "watch",
            Severity::Serious => "serious",
            Severity::Critical => "critical",
        }
    }
    /// What the runbook says to do at this severity.
    pub fn advice(self) -> &'static str {
        match self {
            Severity::Ok => "healthy",
            Severity::Unknown => {
                "a configured signal has no usable answer: health cannot be judged"
            }
            Severity::Watch => "investigate, do not roll back yet",
            Severity::Serious => "roll back within 5 minutes",
            Severity::Critical => "roll back now",
        }
    }
}

/// Thresholds for the criteria; per target in the config.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Thresholds {
    /// 5xx fraction above which the target is serious (runbook: 5 %).
    pub error_rate: f64,
    /// 5xx fraction treated as "all requests failing" (critical).
    pub error_rate_critical: f64,
    /// p95 latency above this many ms is serious.
    pub latency_p95_ms: f64,
    /// Latency at this multiple of the baseline is serious (runbook: 2x).
    pub latency_factor: f64,
    /// A signal older than this many seconds is stale.
    pub stale_after_secs: i64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            error_rate: 0.05,
            error_rate_critical: 0.95,
            latency_p95_ms: 500.0,
            latency_factor: 2.0,
            stale_after_secs: 60,
        }
    }
}

/// A verdict with the signals that caused it, so the operator sees why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    pub severity: Severity,
    pub reasons: Vec<String>,
    /// The data is older than the stale threshold: not to be trusted as healthy.
    pub stale: bool,
}

/// The cause of an error chain in one line: its kind and its innermost
/// part (`connection refused: …: Connection refused (os error 111)`); the
/// whole chain goes to the note.
pub fn innermost(e: &str) -> String {
    let parts: Vec<&str> = e.split(": ").collect();
    match parts.as_slice() {
        [one] => one.to_string(),
        [first, .., last] if first != last => format!("{first}: {last}"),
        _ => e.to_string(),
    }
}

/// Applies the runbook criteria to one snapshot.
pub fn evaluate(h: &Health, t: &Thresholds, now: DateTime<Utc>) -> Verdict {
    let mut found: Vec<(Severity, String)> = Vec::new();
    replicas(h, &mut found);
    let mut stale_signals = Vec::new();
    for s in &h.signals {
        signal(s, t, now, &mut found, &mut stale_signals);
    }
    traffic(h, t, &mut found);
    let stale = (now - h.observed_at).num_seconds() > t.stale_after_secs;
    let severity = found.iter().map(|(s, _)| *s).max().unwrap_or(Severity::Ok);
    found.sort_by_key(|f| std::cmp::Reverse(f.0));
    let mut reasons: Vec<String> = found.into_iter().map(|(_, r)| r).collect();
    reasons.extend(stale_signals);
    if stale {
        let age = (now - h.observed_at).num_seconds();
        reasons.insert(
            0,
            format!("data is {} old: stale", crate::core::fmt::age(age)),
        );
    }
    Verdict {
        severity,
        reasons,
        stale,
    }
}

/// Replicas, endpoints and the probe: crash loops (all, several, one on
/// the old revision, any on the new one), readiness.
fn replicas(h: &Health, found: &mut Vec<(Severity, String)>) {
    let mut add = |s: Severity, r: String| found.push((s, r));
    if h.crashlooping > 0 && h.crashlooping >= h.desired.max(1) {
        add(
            Severity::Critical,
            format!("all {} replicas crash-looping", h.crashlooping),
        );
    } else if h.crashlooping > 1 {
        add(
            Severity::Serious,
            format!("{} replicas crash-looping", h.crashlooping),
        );
    } else if h.crashlooping == 1 && h.new_revision_crashing == 0 {
        add(
            Severity::Watch,
            "one replica failing (might be its node)".into(),
        );
    }
    // The runbook's own row: the revision being rolled out crash-loops.
    if h.new_revision_crashing > 0 && h.crashlooping < h.desired.max(1) {
        add(
            Severity::Serious,
            format!(
                "CrashLoopBackOff on the new revision ({} pod(s) on the template's images)",
                h.new_revision_crashing
            ),
        );
    }
    if h.desired > 0 && h.ready == 0 {
        add(
            Severity::Critical,
            format!("no ready replicas (0/{})", h.desired),
        );
    } else if h.ready < h.desired && h.crashlooping == 0 {
        add(Severity::Watch, format!("{}/{} ready", h.ready, h.desired));
    }
    if h.endpoints == Some(0) && h.desired > 0 {
        add(Severity::Critical, "zero ready endpoints".into());
    }
    if h.probe_ok == Some(false) {
        add(
            Severity::Critical,
            "health endpoint not answering 200".into(),
        );
    }
}

/// One configured signal: missing, stale or NaN is UNKNOWN (never
/// healthy), a breach of its criterion is serious, a breach still within
/// its duration is pending; a failing probe is critical. A stale probe is
/// only said (`stale`).
fn signal(
    s: &super::signals::Signal,
    t: &Thresholds,
    now: DateTime<Utc>,
    found: &mut Vec<(Severity, String)>,
    stale: &mut Vec<String>,
) {
    use super::signals::SignalKind;
    let mut add = |sev: Severity, r: String| found.push((sev, r));
    let age = (now - s.observed_at).num_seconds();
    // Missing is not healthy: a metric read that failed, came back
    // empty or NaN, or is too old leaves the target UNKNOWN at best.
    if s.kind != SignalKind::Probe {
        let missing = if age > t.stale_after_secs {
            Some(format!(
                "{} stale (last answer {} old{})",
                s.name,
                crate::core::fmt::age(age),
                s.error
                    .as_deref()
                    .map(|e| format!("; now {}", innermost(e)))
                    .unwrap_or_default()
            ))
        } else if let Some(e) = &s.error {
            Some(format!("{} unavailable: {}", s.name, innermost(e)))
        } else if s.value.is_none() {
            Some(format!("{}: {}", s.name, s.display))
        } else if s.value.is_some_and(|v| !v.is_finite()) {
            Some(format!(
                "{}: {} — not a number rbtui can judge",
                s.name, s.display
            ))
        } else {
            None
        };
        if let Some(m) = missing {
            add(Severity::Unknown, m);
            return;
        }
    } else if age > t.stale_after_secs {
        stale.push(format!(
            "{} stale ({} old)",
            s.name,
            crate::core::fmt::age(age)
        ));
        return;
    }
    if let (Some(secs), Some(c)) = (s.pending_secs, &s.criterion) {
        if !s.breached {
            let of = super::signals::parse_criterion(c)
                .map(|c| format!(" of {}", crate::core::fmt::age(c.for_secs)))
                .unwrap_or_default();
            add(
                Severity::Watch,
                format!(
                    "{} {} now, {c}: holding {}{of} (pending)",
                    s.name.replace('_', " "),
                    s.display,
                    crate::core::fmt::age(secs)
                ),
            );
        }
    }
    if s.kind == SignalKind::Probe && s.ok == Some(false) {
        add(
            Severity::Critical,
            format!("health endpoint down ({}: {})", s.name, s.display),
        );
    }
    if s.breached {
        if let Some(c) = &s.criterion {
            add(
                Severity::Serious,
                format!("{} {c} (now {})", s.name.replace('_', " "), s.display),
            );
        }
    }
}

/// The error rate and p95 latency as the health read has them, where no
/// configured criterion governs them.
fn traffic(h: &Health, t: &Thresholds, found: &mut Vec<(Severity, String)>) {
    use super::signals::SignalKind;
    let governed = |k: SignalKind| {
        h.signals
            .iter()
            .any(|s| s.kind == k && s.criterion.is_some())
    };
    let mut add = |s: Severity, r: String| found.push((s, r));
    if let Some(e) = h.error_rate.filter(|e| e.is_finite()) {
        if e >= t.error_rate_critical {
            add(
                Severity::Critical,
                format!("all requests failing ({:.0}% 5xx)", e * 100.0),
            );
        } else if governed(SignalKind::ErrorRate) {
            // The configured criterion (with its duration) decides.
        } else if e > t.error_rate {
            add(
                Severity::Serious,
                format!("5xx rate {:.1}% > {:.0}%", e * 100.0, t.error_rate * 100.0),
            );
        } else if e > t.error_rate / 5.0 {
            add(
                Severity::Watch,
                format!("transient 5xx ({:.1}%)", e * 100.0),
            );
        }
    }
    if let Some(l) = h
        .latency_p95_ms
        .filter(|l| l.is_finite() && !governed(SignalKind::Latency))
    {
        match h.latency_baseline_ms {
            Some(b) if b > 0.0 && l >= b * t.latency_factor => {
                add(
                    Severity::Serious,
                    format!("p95 {:.0} ms is {:.1}x baseline {:.0} ms", l, l / b, b),
                );
            }
            _ if l > t.latency_p95_ms => add(
                Severity::Serious,
                format!("p95 {:.0} ms > {:.0} ms", l, t.latency_p95_ms),
            ),
            _ => {}
        }
    }
    if h.rollout_stuck {
        add(Severity::Serious, "rollout not completing".into());
    }
}

/// What the signals say about a recovery right now.
#[derive(Debug, Clone, PartialEq)]
pub enum Recovery {
    /// Every configured signal answered, fresh, within its limit.
    Recovered(String),
    /// Some signal is over its limit (why).
    NotYet(String),
    /// Nothing breaches, but nothing proves it either: no signal is
    /// configured, or some configured signal errored, is stale or has no
    /// data. A probe alone never stands in for a metric that failed.
    Unproven(String),
}

/// After a rollback: has the target recovered, by its own criteria? Each
/// configured criterion (named queries included) must be on its healthy
/// side now and have stayed there for its `for` window, read from the
/// source; the default thresholds judge only what no criterion governs. A
/// non-finite value is never healthy, and says why.
pub fn recovered(h: &Health, t: &Thresholds, now: DateTime<Utc>) -> Recovery {
    use super::signals::SignalKind;
    let mut j = Judged::default();
    for s in &h.signals {
        let stale = (now - s.observed_at).num_seconds() > t.stale_after_secs;
        if stale || s.error.is_some() {
            let why = s
                .error
                .clone()
                .unwrap_or_else(|| format!("no answer since {}", s.observed_at.format("%H:%M:%S")));
            j.unknown.push(format!("{} unavailable ({why})", s.name));
        } else if s.kind == SignalKind::Probe {
            match s.ok {
                Some(false) => j.bad.push(format!("{}: {}", s.name, s.display)),
                Some(true) => j.proof.push(format!("probe {} {}", s.name, s.display)),
                None => {}
            }
        } else {
            judge_criterion(s, &mut j);
        }
    }
    let governed = |k: SignalKind| {
        h.signals
            .iter()
            .any(|s| s.kind == k && s.criterion.is_some())
    };
    if h.probe_ok == Some(false) && !h.signals.iter().any(|s| s.kind == SignalKind::Probe) {
        j.bad.push("health endpoint not answering 200".into());
    }
    if let Some(e) = h.error_rate.filter(|_| !governed(SignalKind::ErrorRate)) {
        if !e.is_finite() || e > t.error_rate {
            j.bad.push(format!(
                "5xx {:.1}% > {:.0}%",
                e * 100.0,
                t.error_rate * 100.0
            ));
        } else {
            j.proof.push(format!(
                "5xx {:.1}% ≤ {:.0}%",
                e * 100.0,
                t.error_rate * 100.0
            ));
        }
    }
    if let Some(l) = h.latency_p95_ms.filter(|_| !governed(SignalKind::Latency)) {
        let (limit, what) = match h.latency_baseline_ms {
            Some(b) if b > 0.0 => (
                b * t.latency_factor,
                format!("{}x baseline", t.latency_factor),
            ),
            _ => (t.latency_p95_ms, "threshold".to_string()),
        };
        if !l.is_finite() || l > limit {
            j.bad
                .push(format!("p95 {l:.0} ms > {limit:.0} ms ({what})"));
        } else {
            j.proof
                .push(format!("p95 {l:.0} ms ≤ {limit:.0} ms ({what})"));
        }
    }
    if !j.bad.is_empty() {
        return Recovery::NotYet(j.bad.join("; "));
    }
    if !j.unknown.is_empty() {
        return Recovery::Unproven(j.unknown.join("; "));
    }
    if j.proof.is_empty() {
        return Recovery::Unproven("no probe or metric measures this target".into());
    }
    Recovery::Recovered(j.proof.join(", "))
}

/// What each signal said of a recovery.
#[derive(Default)]
struct Judged {
    bad: Vec<String>,
    unknown: Vec<String>,
    proof: Vec<String>,
}

/// One metric against its criterion: on its healthy side now, and for
/// the criterion's whole `for` window. A metric with no criterion proves
/// nothing either way.
fn judge_criterion(s: &super::signals::Signal, j: &mut Judged) {
    let Some(v) = s.value else {
        return j.unknown.push(format!("{}: {}", s.name, s.display));
    };
    if v.is_nan() {
        return j.unknown.push(format!(
            "{} is NaN ({}): nothing to judge",
            s.name, s.display
        ));
    }
    if v.is_infinite() {
        return j.bad.push(format!(
            "{} is {} ({}): never healthy",
            s.name,
            if v > 0.0 { "+Inf" } else { "-Inf" },
            s.display
        ));
    }
    let Some((text, c)) = s
        .criterion
        .as_deref()
        .and_then(|t| super::signals::parse_criterion(t).ok().map(|c| (t, c)))
    else {
        return;
    };
    let raw = super::signals::criterion_value(s.kind, v);
    let clear = s.clear_secs.unwrap_or(0);
    let age = crate::core::fmt::age;
    if c.op.holds(raw, c.threshold) {
        j.bad
            .push(format!("{} {} (criterion `{text}`)", s.name, s.display));
    } else if clear < c.for_secs {
        j.bad.push(format!(
            "{} {}: clear of `{text}` for {} of {}",
            s.name,
            s.display,
            age(clear),
            age(c.for_secs)
        ));
    } else {
        j.proof.push(format!(
            "{} {} (clear of `{text}` for {})",
            s.name,
            s.display,
            age(clear)
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn base() -> Health {
        Health {
            target: "t".into(),
            desired: 3,
            ready: 3,
            updated: 3,
            ready_on_template: None,
            crashlooping: 0,
            new_revision_crashing: 0,
            restarts: 0,
            endpoints: Some(3),
            error_rate: Some(0.001),
            latency_p95_ms: Some(120.0),
            latency_baseline_ms: Some(110.0),
            probe_ok: Some(true),
            rollout_stuck: false,
            revision: "1".into(),
            images: vec![],
            message: None,
            observed_at: Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap(),
            signals: Vec::new(),
        }
    }

    #[test]
    fn criteria_table() {
        let now = base().observed_at;
        let t = Thresholds::default();
        type Case<'a> = (Box<dyn Fn(&mut Health)>, Severity, &'a str);
        let cases: Vec<Case> = vec![
            (Box::new(|_| {}), Severity::Ok, ""),
            (
                Box::new(|h| {
                    h.crashlooping = 3;
                    h.ready = 0
                }),
                Severity::Critical,
                "all 3 replicas crash-looping",
            ),
            (
                Box::new(|h| h.ready = 0),
                Severity::Critical,
                "no ready replicas (0/3)",
            ),
            (
                Box::new(|h| h.endpoints = Some(0)),
                Severity::Critical,
                "zero ready endpoints",
            ),
            (
                Box::new(|h| h.error_rate = Some(1.0)),
                Severity::Critical,
                "all requests failing (100% 5xx)",
            ),
            (
                Box::new(|h| h.probe_ok = Some(false)),
                Severity::Critical,
                "health endpoint not answering 200",
            ),
            (
                Box::new(|h| h.error_rate = Some(0.07)),
                Severity::Serious,
                "5xx rate 7.0% > 5%",
            ),
            (
                Box::new(|h| h.latency_p95_ms = Some(260.0)),
                Severity::Serious,
                "p95 260 ms is 2.4x baseline 110 ms",
            ),
            (
                Box::new(|h| {
                    h.latency_baseline_ms = None;
                    h.latency_p95_ms = Some(640.0)
                }),
                Severity::Serious,
                "p95 640 ms > 500 ms",
            ),
            (
                Box::new(|h| h.rollout_stuck = true),
                Severity::Serious,
                "rollout not completing",
            ),
            (
                Box::new(|h| {
                    h.crashlooping = 1;
                    h.ready = 2
                }),
                Severity::Watch,
                "one replica failing (might be its node)",
            ),
            (
                Box::new(|h| h.error_rate = Some(0.02)),
                Severity::Watch,
                "transient 5xx (2.0%)",
            ),
            (
                Box::new(|h| h.error_rate = Some(f64::NAN)),
                Severity::Ok,
                "",
            ),
        ];
        for (i, (f, sev, reason)) in cases.into_iter().enumerate() {
            let mut h = base();
            f(&mut h);
            let v = evaluate(&h, &t, now);
            assert_eq!(v.severity, sev, "case {i}: {:?}", v.reasons);
            if !reason.is_empty() {
                assert_eq!(v.reasons[0], reason, "case {i}");
            }
        }
    }

    #[test]
    fn old_data_is_stale_never_healthy_looking() {
        let h = base();
        let v = evaluate(
            &h,
            &Thresholds::default(),
            h.observed_at + chrono::Duration::seconds(300),
        );
        assert!(v.stale);
        assert_eq!(v.reasons[0], "data is 5m old: stale");
    }

    /// One crash-looping pod on the revision being rolled out is the
    /// runbook's "CrashLoopBackOff on the new revision" (roll back); one
    /// failing old pod is only watched (it might be its node).
    #[test]
    fn a_crash_looping_new_revision_is_its_own_verdict() {
        let t = Thresholds::default();
        let mut h = crate::core::testkit::health("web", 3, 3, "r/web:b");
        h.crashlooping = 1;
        let v = evaluate(&h, &t, h.observed_at);
        assert_eq!(v.severity, Severity::Watch, "{:?}", v.reasons);
        assert_eq!(v.reasons, ["one replica failing (might be its node)"]);
        h.new_revision_crashing = 1;
        let v = evaluate(&h, &t, h.observed_at);
        assert_eq!(v.severity, Severity::Serious, "{:?}", v.reasons);
        assert!(
            v.reasons
                .iter()
                .any(|r| r
                    == "CrashLoopBackOff on the new revision (1 pod(s) on the template's images)"),
            "{:?}",
            v.reasons
        );
        assert!(!v.reasons.iter().any(|r| r.contains("might be its node")));
    }
}
