//! `rbtui note export NOTE --format markdown|jira`: the timeline as a
//! ticket comment, from the note as read back (`export::read`). Markdown
//! for GitHub and GitLab (no hidden markers: they are for rbtui, and show
//! as text where comments are not hidden); Jira's wiki markup for Jira.
//! Both keep a diff's lines exactly (a fenced block, `{noformat}`).

use super::export::{Entry, Export};

fn when(e: &Entry) -> String {
    e.at.map(|a| a.format("%Y-%m-%d %H:%M:%SZ").to_string())
        .unwrap_or_else(|| "?".into())
}

/// Each detail line of an entry with how to write it: a list item, a
/// table row, or a line inside a fenced block (its fences included).
enum Detail<'a> {
    Item(&'a str),
    Row(&'a str),
    FenceOpen,
    Fenced(&'a str),
    FenceClose,
}

fn details(e: &Entry) -> Vec<Detail<'_>> {
    let mut out = Vec::new();
    let mut fenced = false;
    for d in &e.details {
        if d.starts_with("```") {
            out.push(if fenced {
                Detail::FenceClose
            } else {
                Detail::FenceOpen
            });
            fenced = !fenced;
        } else if fenced {
            out.push(Detail::Fenced(d));
        } else if d.starts_with('|') {
            out.push(Detail::Row(d));
        } else {
            out.push(Detail::Item(d));
        }
    }
    if fenced {
        out.push(Detail::FenceClose);
    }
    out
}

fn title(x: &Export) -> String {
    format!(
        "Incident {} — timeline from rbtui (UTC)",
        x.incident.as_deref().unwrap_or("(no id)")
    )
}

pub fn markdown(x: &Export) -> String {
    let mut s = format!("### {}\n\n", title(x));
    for l in &x.summary {
        // One level below the title: `## Summary` → `#### Summary`.
        match l.strip_prefix("## ") {
            Some(h) => s.push_str(&format!("#### {h}\n\n")),
            None => s.push_str(&format!("{l}\n")),
        }
    }
    if !x.summary.is_empty() {
        s.push_str("\n#### Session\n\n");
    }
    for (k, v) in &x.header {
        s.push_str(&format!("- **{k}:** {v}\n"));
    }
    s.push_str(if x.summary.is_empty() {
        "\n"
    } else {
        "\n#### Timeline\n\n"
    });
    for e in &x.entries {
        s.push_str(&super::render::entry_line(
            &when(e),
            &e.kind,
            e.target.as_deref(),
            &e.text,
        ));
        let mut was_row = false;
        for d in details(e) {
            let row = matches!(d, Detail::Row(_));
            if row != was_row {
                s.push('\n');
            }
            was_row = row;
            match d {
                Detail::Item(t) => s.push_str(&format!("    - {}\n", t.trim_start())),
                Detail::Row(t) => s.push_str(&format!("    {t}\n")),
                Detail::FenceOpen => s.push_str("\n    ```diff\n"),
                Detail::Fenced(t) => s.push_str(&format!("    {t}\n")),
                Detail::FenceClose => s.push_str("    ```\n\n"),
            }
        }
        if was_row {
            s.push('\n');
        }
    }
    s
}

/// Jira's wiki markup: `*` lists, `{{monospace}}`, `||`/`|` tables,
/// `{noformat}` for a diff (kept exactly, nothing in it is markup).
pub fn jira(x: &Export) -> String {
    // Braces and brackets start macros and links in Jira: said literally.
    let esc = |t: &str| t.replace('{', "\\{").replace('[', "\\[");
    let mut s = format!("h3. {}\n\n", esc(&title(x)));
    for l in &x.summary {
        s.push_str(&jira_line(l, &esc));
    }
    if !x.summary.is_empty() {
        s.push_str("\nh4. Session\n\n");
    }
    for (k, v) in &x.header {
        s.push_str(&format!("* *{k}:* {}\n", esc(v)));
    }
    s.push_str(if x.summary.is_empty() {
        "\n"
    } else {
        "\nh4. Timeline\n\n"
    });
    for e in &x.entries {
        let target = e
            .target
            .as_deref()
            .map(|t| format!(" {{{{{t}}}}}"))
            .unwrap_or_default();
        s.push_str(&format!(
            "* {{{{{}}}}} *{}*{target} — {}\n",
            when(e),
            e.kind,
            esc(&e.text)
        ));
        let mut header = true;
        for d in details(e) {
            match d {
                Detail::Item(t) => s.push_str(&format!("** {}\n", esc(t.trim_start()))),
                Detail::Row(t) if t.contains("---") => {}
                Detail::Row(t) => {
                    let cells: Vec<&str> = t.trim_matches('|').split('|').map(str::trim).collect();
                    let sep = if header { "||" } else { "|" };
                    header = false;
                    s.push_str(&format!(
                        "{sep}{}{sep}\n",
                        cells.iter().map(|c| esc(c)).collect::<Vec<_>>().join(sep)
                    ));
                }
                Detail::FenceOpen => s.push_str("{noformat}\n"),
                Detail::Fenced(t) => s.push_str(&format!("{t}\n")),
                Detail::FenceClose => s.push_str("{noformat}\n"),
            }
        }
    }
    s
}

/// A summary line in Jira's markup: its heading, `**bold**` and `` `code` ``
/// as Jira writes them, nested items one level deeper.
fn jira_line(l: &str, esc: &dyn Fn(&str) -> String) -> String {
    if let Some(h) = l.strip_prefix("## ") {
        return format!("h4. {}\n\n", esc(h));
    }
    let (bullet, rest) = match (l.strip_prefix("  - "), l.strip_prefix("- ")) {
        (Some(r), _) => ("** ", r),
        (None, Some(r)) => ("* ", r),
        _ => ("", l),
    };
    let mut out = String::new();
    for (i, part) in esc(rest).split('`').enumerate() {
        if i % 2 == 1 {
            out.push_str(&format!("{{{{{part}}}}}"));
        } else {
            out.push_str(&part.replace("**", "*"));
        }
    }
    format!("{bullet}{out}\n")
}
