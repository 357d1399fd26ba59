//! Every target, worst first, with the signals behind its verdict.

use crate::core::fmt::{age, ellipsize};
use crate::core::state::{Pane, State};
use crate::ui::{pane_block, theme, window};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

/// `probe ✓ · 5xx 7.2% ▁▂▅█ · p95 468 ms ▁▃▆ · 3s old`; stale or failed
/// signals say so instead of showing a value.
fn signals_line(s: &State, h: &crate::core::model::Health) -> Line<'static> {
    use crate::core::signals::{SignalKind, sparkline};
    let th = s.settings.thresholds;
    let mut spans = Vec::new();
    let trend = s.row(&h.target).map(|r| &r.trend);
    let probes: Vec<_> = h
        .signals
        .iter()
        .filter(|x| x.kind == SignalKind::Probe)
        .collect();
    if probes.is_empty() {
        if let Some(ok) = h.probe_ok {
            spans.push(Span::styled(
                if ok {
                    "probe ✓ ".to_string()
                } else {
                    "probe ✗ ".to_string()
                },
                if ok { theme::OK } else { theme::ERROR },
            ));
        }
    }
    for p in probes {
        let secs = (s.now - p.observed_at).num_seconds();
        let (txt, st) = if secs > th.stale_after_secs {
            (format!("{} STALE {} ", p.name, age(secs)), theme::WARN)
        } else if p.ok == Some(true) {
            (format!("{} ✓ ", p.name), theme::OK)
        } else {
            // The kind of failure only ("connection refused", "HTTP 503"):
            // the detail rows are few, and the verdict must stay in view.
            // The whole text is in the note and in the zoomed pane.
            let said = if s.view.zoomed {
                p.display.as_str()
            } else {
                p.display.split(": ").next().unwrap_or_default()
            };
            (format!("{} ✗ {said} ", p.name), theme::ERROR)
        };
        spans.push(Span::styled(txt, st));
    }
    let metric = |label: &str,
                  sig: Option<&crate::core::signals::Signal>,
                  v: Option<f64>,
                  fmt: &dyn Fn(f64) -> String,
                  series: &[f64]| {
        let mut out = Vec::new();
        match sig {
            Some(x) if (s.now - x.observed_at).num_seconds() > th.stale_after_secs => {
                out.push(Span::styled(
                    format!(
                        "· {label} STALE {} ",
                        age((s.now - x.observed_at).num_seconds())
                    ),
                    theme::WARN,
                ))
            }
            Some(x) if x.error.is_some() => {
                out.push(Span::styled(format!("· {label} unavailable "), theme::WARN))
            }
            _ => {
                if let Some(v) = v {
                    out.push(Span::raw(format!("· {label} {} ", fmt(v))));
                    out.push(Span::styled(format!("{} ", sparkline(series)), theme::DIM));
                }
            }
        }
        out
    };
    let er = h.signals.iter().find(|x| x.kind == SignalKind::ErrorRate);
    let lat = h.signals.iter().find(|x| x.name == "latency_p95");
    let er_series = er
        .map(|x| x.history.clone())
        .unwrap_or_else(|| trend.map(|t| t.error_rate.clone()).unwrap_or_default());
    let lat_series = lat
        .map(|x| x.history.clone())
        .unwrap_or_else(|| trend.map(|t| t.p95_ms.clone()).unwrap_or_default());
    spans.extend(metric(
        "5xx",
        er,
        h.error_rate,
        &|v| format!("{:.1}%", v * 100.0),
        &er_series,
    ));
    spans.extend(metric(
        "p95",
        lat,
        h.latency_p95_ms,
        &|v| format!("{v:.0} ms"),
        &lat_series,
    ));
    if spans.is_empty() {
        spans.push(Span::styled("no probe or metrics configured", theme::DIM));
    }
    Line::from(spans)
}

/// The target list and the detail rows under it, inside the border.
fn parts(area: Rect, zoomed: bool) -> [Rect; 2] {
    let inner = ratatui::widgets::Block::bordered().inner(area);
    // Zoomed, the details get the room to be read whole.
    let detail_h = if zoomed {
        inner.height / 2
    } else if inner.height >= 16 {
        5
    } else {
        4
    };
    Layout::vertical([Constraint::Fill(1), Constraint::Length(detail_h)]).areas(inner)
}

/// The rows of targets (after an error line), the first shown and how
/// many there are: where a mouse press selects one.
pub fn list(s: &State, area: Rect) -> Option<(Rect, usize, usize)> {
    let [list, _] = parts(area, s.view.zoomed);
    let skip = u16::from(s.targets_error.is_some()).min(list.height);
    let rows = Rect {
        y: list.y + skip,
        height: list.height - skip,
        ..list
    };
    let first = crate::ui::window(
        s.selected_pos().unwrap_or(0),
        s.order.len(),
        list.height as usize,
    );
    Some((rows, first, s.order.len()))
}

pub fn render(s: &State, f: &mut Frame, area: Rect) {
    let title = if s.view.filtering || !s.view.filter.is_empty() {
        format!(
            "Health — filter: {}{}",
            s.view.filter,
            if s.view.filtering { "▏" } else { "" }
        )
    } else {
        format!("Health — {} targets", s.targets.len())
    };
    let block = pane_block(s, Pane::Health, title);
    f.render_widget(block, area);
    let [list, detail] = parts(area, s.view.zoomed);
    let mut lines = Vec::new();
    if let Some(e) = &s.targets_error {
        lines.push(Line::styled(
            format!("cannot list targets: {e}"),
            theme::ERROR,
        ));
    }
    let h = list.height as usize;
    let pos = s.selected_pos().unwrap_or(0);
    let first = window(pos, s.order.len(), h);
    let name_w = (list.width as usize).saturating_sub(40).clamp(8, 24);
    for (row, &i) in s.order.iter().enumerate().skip(first).take(h) {
        let mut line = Line::from(target_row(s, i, row == pos, name_w));
        if row == pos {
            line = line.style(theme::SELECTED);
        }
        lines.push(line);
    }
    if s.order.is_empty() && s.targets_error.is_none() {
        lines.push(Line::styled(
            if s.targets.is_empty() {
                "loading targets…"
            } else {
                "no target matches the filter"
            },
            theme::DIM,
        ));
    }
    f.render_widget(Paragraph::new(lines), list);
    let shown = h.min(s.order.len().saturating_sub(first));
    if s.view.popup.is_none() {
        crate::ui::more_marker(f, area, first, shown, s.order.len());
    }
    let d = details(s, detail);
    f.render_widget(Paragraph::new(d).wrap(Wrap { trim: true }), detail);
}

/// One target's row: marks, name, environment, kind, verdict, ready, 5xx
/// and crash loops.
fn target_row(s: &State, i: usize, selected: bool, name_w: usize) -> Vec<Span<'static>> {
    let t = &s.targets[i];
    let v = s.verdict(&t.name);
    let hl = s.health(&t.name);
    let (sev_txt, sev_style) = match (v, hl) {
        (Some(v), _) if v.stale => ("STALE".to_string(), theme::WARN),
        (Some(v), _) => (
            v.severity.label().to_uppercase(),
            theme::severity(v.severity),
        ),
        (None, _) if s.row(&t.name).is_some_and(|row| row.health_error.is_some()) => {
            ("ERROR".into(), theme::ERROR)
        }
        _ => ("…".into(), theme::DIM),
    };
    let ready = hl
        .map(|h| format!("{}/{}", h.ready, h.desired))
        .unwrap_or_else(|| "-".into());
    let err = hl
        .and_then(|h| h.error_rate)
        .map(|e| format!("{:>5.1}%", e * 100.0))
        .unwrap_or_else(|| "    - ".into());
    let env_style = if t.is_prod() {
        theme::ERROR
    } else {
        theme::DIM
    };
    let mut spans = vec![
        Span::raw(match (selected, s.view.marked.contains(&t.name)) {
            (true, true) => "▶●",
            (true, false) => "▶ ",
            (false, true) => " ●",
            (false, false) => "  ",
        }),
        Span::styled(
            format!("{:<w$}", ellipsize(&t.name, name_w), w = name_w),
            theme::BOLD,
        ),
        Span::styled(
            format!(" {:<4}", &t.environment[..t.environment.len().min(4)]),
            env_style,
        ),
        Span::styled(format!(" {:<4} ", &t.kind.label()[..4]), theme::DIM),
        Span::styled(format!("{sev_txt:^8}"), sev_style),
        Span::raw(format!(" {ready:>5} {err}")),
    ];
    if let Some(h) = hl.filter(|h| h.crashlooping > 0) {
        spans.push(Span::styled(format!(" {}✗", h.crashlooping), theme::ERROR));
    }
    spans
}

/// The selected target's detail under the list: its poll error, signals,
/// verdict (advice and data age kept in view; reasons give way) and the
/// platform's message.
fn details(s: &State, detail: Rect) -> Vec<Line<'static>> {
    let mut d = Vec::new();
    if let Some(t) = s.selected_target() {
        if let Some(e) = s.row(&t.name).and_then(|row| row.health_error.as_ref()) {
            // A target never set up was not polled: its error says so itself.
            let head = if matches!(e, crate::core::error::BackendError::NotSetUp { .. }) {
                ""
            } else {
                "poll failed: "
            };
            d.push(Line::styled(format!("{head}{e}"), theme::ERROR));
        }
        if let Some(h) = s.health(&t.name) {
            d.push(signals_line(s, h));
        }
        if let Some(v) = s.verdict(&t.name) {
            let age_s = s
                .health(&t.name)
                .map(|h| age((s.now - h.observed_at).num_seconds()))
                .unwrap_or_default();
            // No reasons (healthy): the advice alone, never "healthy: ".
            let advice = if v.reasons.is_empty() {
                v.severity.advice().to_string()
            } else {
                format!("{}: ", v.severity.advice())
            };
            // The verdict keeps its advice and its data's age in view: the
            // reasons give way (whole in the zoomed pane and the note).
            let tail = format!(" (data {age_s} old)");
            let rows = detail
                .height
                .saturating_sub(crate::ui::wrapped_height(&d, detail.width));
            let room = (rows as usize * detail.width as usize).saturating_sub(
                advice.chars().count() + tail.chars().count() + detail.width as usize / 2,
            );
            let reasons = v.reasons.join("; ");
            let reasons = if s.view.zoomed || reasons.chars().count() <= room {
                reasons
            } else {
                ellipsize(&reasons, room.max(1))
            };
            d.push(Line::from(vec![
                Span::styled(advice, theme::severity(v.severity)),
                Span::raw(reasons),
                Span::styled(tail, theme::DIM),
            ]));
        }
        if let Some(m) = s.health(&t.name).and_then(|h| h.message.clone()) {
            d.push(Line::styled(m, theme::DIM));
        }
    }
    d
}
