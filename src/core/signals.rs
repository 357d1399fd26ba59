//! Health signals beyond replica counts: HTTP probes and metric criteria
//! written the way runbooks write them (`> 5% for 5m`). Parsing and judging
//! are pure; the probing and querying live in `backend::signals`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// What a signal measures; decides how the verdict reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SignalKind {
    /// An HTTP health probe: up or down.
    Probe,
    /// Fraction of requests answered 5xx.
    ErrorRate,
    /// A latency quantile, in milliseconds.
    Latency,
    /// Any other named query with a criterion.
    Custom,
}

/// The latest reading of one signal, as the health pane shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Signal {
    pub name: String,
    pub kind: SignalKind,
    /// Current value (fraction for rates, ms for latency); None when unknown.
    pub value: Option<f64>,
    /// Probe outcome.
    pub ok: Option<bool>,
    /// Human text of the reading: `200 in 41 ms`, `7.2%`, `no data`.
    pub display: String,
    /// The criterion, as written in the config.
    pub criterion: Option<String>,
    /// The criterion held for its whole window.
    pub breached: bool,
    pub observed_at: DateTime<Utc>,
    /// Why the last read failed (DNS, refused, timeout, status: error…).
    /// The value and time are then those of the last good read.
    pub error: Option<String>,
    /// The criterion holds now but not yet for its whole duration: for
    /// how many seconds it has held.
    #[serde(default)]
    pub pending_secs: Option<i64>,
    /// How long (seconds) the criterion has NOT held, without a break, up
    /// to the newest sample: what a recovery needs to last its window.
    /// `None` when it holds now or nothing was read.
    #[serde(default)]
    pub clear_secs: Option<i64>,
    /// Recent values, oldest first, for the sparkline.
    pub history: Vec<f64>,
}

/// `> 5% for 5m`: a comparison held for a duration.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Criterion {
    pub op: Op,
    /// In the query's own unit: fractions for %, seconds for ms/s.
    pub threshold: f64,
    pub for_secs: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Op {
    Gt,
    Ge,
    Lt,
    Le,
}

impl Op {
    pub fn holds(self, v: f64, t: f64) -> bool {
        match self {
            Op::Gt => v > t,
            Op::Ge => v >= t,
            Op::Lt => v < t,
            Op::Le => v <= t,
        }
    }
}

/// `5m`, `90s`, `1h` → seconds.
pub fn parse_duration(s: &str) -> Result<i64, String> {
    let s = s.trim();
    let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: i64 = num
        .parse()
        .map_err(|_| format!("`{s}` is not a duration like 30s, 5m, 1h"))?;
    match unit {
        "s" | "" => Ok(n),
        "m" => Ok(n * 60),
        "h" => Ok(n * 3600),
        _ => Err(format!("`{s}`: unknown unit `{unit}` (s, m, h)")),
    }
}

/// Parses `> 5% for 5m`, `>= 0.05`, `> 500ms for 10m`, `< 1`.
pub fn parse_criterion(s: &str) -> Result<Criterion, String> {
    let t = s.trim();
    let (op, rest) = if let Some(r) = t.strip_prefix(">=") {
        (Op::Ge, r)
    } else if let Some(r) = t.strip_prefix("<=") {
        (Op::Le, r)
    } else if let Some(r) = t.strip_prefix('>') {
        (Op::Gt, r)
    } else if let Some(r) = t.strip_prefix('<') {
        (Op::Lt, r)
    } else {
        return Err(format!("criterion `{s}` must start with >, >=, < or <="));
    };
    let (val, dur) = match rest.split_once(" for ") {
        Some((v, d)) => (v.trim(), Some(d.trim())),
        None => (rest.trim(), None),
    };
    let (num, scale) = if let Some(v) = val.strip_suffix('%') {
        (v, 0.01)
    } else if let Some(v) = val.strip_suffix("ms") {
        (v, 0.001)
    } else if let Some(v) = val.strip_suffix('s') {
        (v, 1.0)
    } else {
        (val, 1.0)
    };
    let n: f64 = num
        .trim()
        .parse()
        .map_err(|_| format!("criterion `{s}`: `{val}` is not a number"))?;
    let for_secs = match dur {
        Some(d) => parse_duration(d)?,
        None => 0,
    };
    Ok(Criterion {
        op,
        threshold: n * scale,
        for_secs,
    })
}

/// True when every sample in the window satisfies the criterion and the
/// samples cover the whole window (a gap is not a breach, nor a pass).
pub fn breached(
    c: &Criterion,
    samples: &[(DateTime<Utc>, f64)],
    now: DateTime<Utc>,
    step_secs: i64,
) -> bool {
    let start = now - chrono::Duration::seconds(c.for_secs);
    let window: Vec<&(DateTime<Utc>, f64)> = samples
        .iter()
        .filter(|(t, _)| *t >= start - chrono::Duration::seconds(step_secs))
        .collect();
    let Some(first) = window.first() else {
        return false;
    };
    if c.for_secs > 0 && first.0 > start + chrono::Duration::seconds(step_secs) {
        return false;
    }
    window
        .iter()
        .all(|(_, v)| v.is_finite() && c.op.holds(*v, c.threshold))
}

/// How long (seconds) the criterion has held without a break up to the
/// newest sample: a breach that is pending. `None` when it does not hold now.
pub fn holding_for(c: &Criterion, samples: &[(DateTime<Utc>, f64)]) -> Option<i64> {
    let last = samples.last()?;
    if !(last.1.is_finite() && c.op.holds(last.1, c.threshold)) {
        return None;
    }
    let since = samples
        .iter()
        .rev()
        .take_while(|(_, v)| v.is_finite() && c.op.holds(*v, c.threshold))
        .last()
        .map(|(t, _)| *t)?;
    Some((last.0 - since).num_seconds())
}

/// How long (seconds) the criterion has not held, without a break, up to
/// the newest sample; a non-finite sample is never "clear". Samples clear
/// over the whole window (from its start, within a step) count as the
/// whole window. `None` when it holds (or cannot be judged) at the newest
/// sample.
pub fn clear_for(
    c: &Criterion,
    samples: &[(DateTime<Utc>, f64)],
    now: DateTime<Utc>,
    step_secs: i64,
) -> Option<i64> {
    let ok = |v: f64| v.is_finite() && !c.op.holds(v, c.threshold);
    let last = samples.last()?;
    if !ok(last.1) {
        return None;
    }
    let run: Vec<&(DateTime<Utc>, f64)> =
        samples.iter().rev().take_while(|(_, v)| ok(*v)).collect();
    let since = run.last()?.0;
    let start = now - chrono::Duration::seconds(c.for_secs);
    if run.len() == samples.len() && since <= start + chrono::Duration::seconds(step_secs) {
        return Some(c.for_secs.max((last.0 - since).num_seconds()));
    }
    Some((last.0 - since).num_seconds())
}

/// The value in the criterion's own unit (latency is shown in ms and
/// written in the criterion as ms or s, which parse to seconds).
pub fn criterion_value(kind: SignalKind, shown: f64) -> f64 {
    if kind == SignalKind::Latency {
        shown / 1000.0
    } else {
        shown
    }
}

/// A block-character sparkline of the values (non-finite shown as gaps).
pub fn sparkline(values: &[f64]) -> String {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let finite: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    let (lo, hi) = finite
        .iter()
        .fold((f64::MAX, f64::MIN), |(a, b), &v| (a.min(v), b.max(v)));
    values
        .iter()
        .map(|&v| {
            if !v.is_finite() {
                ' '
            } else if hi - lo < 1e-12 {
                BARS[0]
            } else {
                BARS[(((v - lo) / (hi - lo)) * 7.0).round() as usize]
            }
        })
        .collect()
}

/// The queries that have a default PromQL; any other needs its own.
pub fn is_builtin_query(name: &str) -> bool {
    matches!(name, "error_rate" | "latency_p95" | "latency_p99")
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn criteria_parse_as_runbooks_write_them() {
        let c = parse_criterion("> 5% for 5m").unwrap();
        assert_eq!((c.op, c.threshold, c.for_secs), (Op::Gt, 0.05, 300));
        let c = parse_criterion("> 500ms for 10m").unwrap();
        assert_eq!((c.op, c.threshold, c.for_secs), (Op::Gt, 0.5, 600));
        let c = parse_criterion("<= 0.5s").unwrap();
        assert_eq!((c.op, c.threshold, c.for_secs), (Op::Le, 0.5, 0));
        assert!(
            parse_criterion("5%")
                .unwrap_err()
                .contains("must start with")
        );
        assert!(
            parse_criterion("> five")
                .unwrap_err()
                .contains("not a number")
        );
        assert!(parse_criterion("> 5% for 5 fortnights").is_err());
    }

    #[test]
    fn breach_needs_the_whole_window() {
        let now = Utc.with_ymd_and_hms(2026, 1, 1, 0, 10, 0).unwrap();
        let c = parse_criterion("> 5% for 5m").unwrap();
        let series = |vals: &[f64], from_min_ago: i64| -> Vec<(DateTime<Utc>, f64)> {
            vals.iter()
                .enumerate()
                .map(|(i, v)| {
                    (
                        now - chrono::Duration::minutes(from_min_ago)
                            + chrono::Duration::seconds(30 * i as i64),
                        *v,
                    )
                })
                .collect()
        };
        assert!(breached(&c, &series(&[0.07; 11], 5), now, 30));
        assert!(
            !breached(
                &c,
                &series(
                    &[
                        0.07, 0.07, 0.01, 0.07, 0.07, 0.07, 0.07, 0.07, 0.07, 0.07, 0.07
                    ],
                    5
                ),
                now,
                30
            ),
            "one dip is not 5m"
        );
        assert!(
            !breached(&c, &series(&[0.07; 4], 2), now, 30),
            "2 minutes of data is not 5 minutes"
        );
        assert!(
            !breached(&c, &series(&[f64::NAN; 11], 5), now, 30),
            "NaN is not a breach"
        );
        assert!(!breached(&c, &[], now, 30));
    }

    /// A recovery lasts its window only when every sample since the
    /// window's start is on the healthy side; a dip back over breaks it.
    #[test]
    fn a_criterion_is_clear_for_as_long_as_its_samples_stay_healthy() {
        let now = Utc.with_ymd_and_hms(2026, 1, 1, 0, 10, 0).unwrap();
        let c = parse_criterion("> 2% for 1m").unwrap();
        let at = |s: i64| now - chrono::Duration::seconds(s);
        let all = [
            (at(60), 0.01),
            (at(45), 0.01),
            (at(30), 0.0),
            (at(15), 0.01),
            (at(0), 0.01),
        ];
        assert_eq!(clear_for(&c, &all, now, 15), Some(60));
        let dip = [
            (at(60), 0.01),
            (at(45), 0.03),
            (at(30), 0.0),
            (at(15), 0.01),
            (at(0), 0.01),
        ];
        assert_eq!(clear_for(&c, &dip, now, 15), Some(30));
        let now_bad = [(at(15), 0.01), (at(0), 0.03)];
        assert_eq!(clear_for(&c, &now_bad, now, 15), None);
        let inf = [(at(15), 0.01), (at(0), f64::INFINITY)];
        assert_eq!(clear_for(&c, &inf, now, 15), None, "+Inf is never clear");
    }

    #[test]
    fn sparklines_scale_and_show_gaps() {
        assert_eq!(sparkline(&[0.0, 0.5, 1.0]), "▁▅█");
        assert_eq!(sparkline(&[1.0, f64::NAN, 1.0]), "▁ ▁");
    }
}
