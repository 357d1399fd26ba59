//! The migrations shipped between the plan's revisions, coloured, with a
//! verdict mark per statement. Only the visible lines are laid out.

use crate::core::migration::{MigrationDiff, MigrationVerdict, SqlVerdict};
use crate::core::state::{Pane, State};
use crate::ui::{pane_block, theme};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

pub fn render(s: &State, f: &mut Frame, area: Rect) {
    // Only the selected target's: a plan of another target (or another
    // group member's) never stands under this one's name.
    let sel = s.view.selected.as_deref().unwrap_or_default();
    let plan = s
        .plan
        .as_ref()
        .filter(|p| p.target.name == sel)
        .or(s
            .group
            .as_ref()
            .and_then(|g| g.plans.iter().find(|p| p.target.name == sel)))
        .or(s.run_on(sel).map(|r| &r.plan));
    let title = plan
        .map(|p| format!("Migrations — {} {}..{}", p.target.name, p.to.id, p.from.id))
        .unwrap_or_else(|| "Migrations".into());
    let block = pane_block(s, Pane::Migrations, title);
    let inner = block.inner(area);
    f.render_widget(block, area);
    let lines = match plan {
        None => vec![Line::styled(
            "Pick a revision in History (Enter) to see the migrations shipped since it.",
            theme::DIM,
        )],
        Some(p) => match &p.migration {
            None => vec![Line::styled(
                p.checks
                    .iter()
                    .find(|c| c.id == crate::core::plan::CheckId::Schema)
                    .map(|c| c.detail.clone())
                    .unwrap_or_default(),
                theme::DIM,
            )],
            Some(d) => visible(d, s.view.migration_scroll, inner.height as usize),
        },
    };
    f.render_widget(Paragraph::new(lines), inner);
}

/// Summary line plus the window of file lines starting at `scroll`.
pub fn visible(d: &MigrationDiff, scroll: usize, height: usize) -> Vec<Line<'static>> {
    let (ok, review, bad) = d.counts();
    let vstyle = match &d.verdict {
        MigrationVerdict::Found(v) => theme::sql(*v),
        MigrationVerdict::NoMigrations => theme::OK,
        _ => theme::WARN,
    };
    let mut out = vec![Line::from(vec![
        Span::styled(format!(" {} ", d.verdict.label()), vstyle),
        Span::styled(
            format!(
                "  {} file(s) · {ok} ok · {review} review · {bad} UNSAFE",
                d.files.len()
            ),
            theme::DIM,
        ),
    ])];
    let mut row = 0usize;
    let want = height.saturating_sub(1);
    'files: for file in &d.files {
        let fv = file.verdict_label();
        let header = Line::from(vec![
            Span::styled(format!("+++ {} ({}) ", file.path, file.change), theme::BOLD),
            Span::styled(fv, theme::DIM),
        ]);
        if row >= scroll {
            out.push(header);
            if out.len() > want {
                break;
            }
        }
        row += 1;
        // Lines above the window are only counted; statements are sorted by
        // line, so the mark of a visible line is a binary search.
        let skip = scroll.saturating_sub(row).min(file.text.len());
        let mut lines = file.text.lines().enumerate();
        row += lines.by_ref().take(skip).count();
        for (ln, text) in lines {
            let st = file
                .statements
                .binary_search_by_key(&(ln + 1), |st| st.line)
                .ok()
                .map(|i| &file.statements[i]);
            if row >= scroll {
                let (mark, ms) = match st {
                    Some(st) => (st.verdict.mark(), theme::sql(st.verdict)),
                    None => ("  ", Style::new()),
                };
                let mut spans = vec![
                    Span::styled(mark.to_string(), ms),
                    Span::styled(format!("{:>4} ", ln + 1), theme::DIM),
                ];
                spans.extend(sql_spans(text));
                out.push(Line::from(spans));
                if out.len() > want {
                    break 'files;
                }
                if let Some(st) =
                    st.filter(|st| st.verdict != SqlVerdict::Compatible || height > 12)
                {
                    out.push(Line::styled(
                        format!("        └ {}: {}", st.verdict.label(), st.reason),
                        if st.verdict == SqlVerdict::Compatible {
                            theme::DIM
                        } else {
                            theme::sql(st.verdict)
                        },
                    ));
                    if out.len() > want {
                        break 'files;
                    }
                }
            }
            row += 1;
        }
    }
    out
}

const KEYWORDS: &[&str] = &[
    "ALTER",
    "TABLE",
    "ADD",
    "DROP",
    "COLUMN",
    "CREATE",
    "INDEX",
    "CONCURRENTLY",
    "ON",
    "RENAME",
    "TO",
    "SET",
    "NOT",
    "NULL",
    "DEFAULT",
    "INSERT",
    "INTO",
    "VALUES",
    "UPDATE",
    "DELETE",
    "FROM",
    "WHERE",
    "TRUNCATE",
    "COMMENT",
    "IS",
    "PRIMARY",
    "KEY",
    "CONSTRAINT",
    "VIEW",
    "FUNCTION",
    "TYPE",
    "IF",
    "EXISTS",
    "REFERENCES",
    "UNIQUE",
    "VALID",
    "GRANT",
    "SELECT",
    "AND",
    "OR",
];

/// Keyword colouring: enough to read SQL quickly, no parser on the hot path.
fn sql_spans(text: &str) -> Vec<Span<'static>> {
    if text.trim_start().starts_with("--") {
        return vec![Span::styled(text.to_string(), theme::DIM)];
    }
    let mut spans = Vec::new();
    let mut word = String::new();
    let flush = |word: &mut String, spans: &mut Vec<Span<'static>>| {
        if !word.is_empty() {
            let st = if KEYWORDS.contains(&word.to_ascii_uppercase().as_str()) {
                Style::new().fg(Color::Magenta)
            } else {
                Style::new()
            };
            spans.push(Span::styled(std::mem::take(word), st));
        }
    };
    for c in text.chars() {
        if c.is_alphanumeric() || c == '_' {
            word.push(c);
        } else {
            flush(&mut word, &mut spans);
            spans.push(Span::raw(c.to_string()));
        }
    }
    flush(&mut word, &mut spans);
    spans
}
