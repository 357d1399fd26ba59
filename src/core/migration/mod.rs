//! Classifies SQL migrations by whether the *previous* binary can still run
//! against the schema they leave behind. This is the runbooks' Step 0 ("ADD
//! COLUMN: safe … DROP COLUMN, RENAME, NOT NULL on an existing column: stop"),
//! done with a real SQL parser so that a comment or a string literal never
//! decides a verdict.

mod alter;
mod created;
mod sql_shapes;
mod statements;

pub use created::{Created, at_target};

use crate::core::model::RevisionId;
use serde::{Deserialize, Serialize};
use sqlparser::ast::{ColumnDef, ColumnOption, ObjectName, Statement};
use sqlparser::dialect::{Dialect, MySqlDialect, PostgreSqlDialect};
use sqlparser::parser::Parser;

/// Verdict on one statement, ordered from harmless to blocking so the overall
/// verdict is simply the maximum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum SqlVerdict {
    /// The old code keeps working: the new schema is a superset it ignores.
    Compatible,
    /// A human must read it: procedural code or text the parser cannot read.
    Review,
    /// The old code may break or lose data against the new schema.
    Unsafe,
}

impl SqlVerdict {
    pub fn label(self) -> &'static str {
        match self {
            SqlVerdict::Compatible => "backward-compatible",
            SqlVerdict::Review => "needs review",
            SqlVerdict::Unsafe => "UNSAFE",
        }
    }
    pub fn mark(self) -> &'static str {
        match self {
            SqlVerdict::Compatible => "ok",
            SqlVerdict::Review => "??",
            SqlVerdict::Unsafe => "!!",
        }
    }
}

/// One classified statement of a migration file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassifiedStatement {
    /// 1-based line in the file where the statement starts.
    pub line: usize,
    pub sql: String,
    pub verdict: SqlVerdict,
    /// One line saying why, for the pane and the note.
    pub reason: String,
    /// False when the parser could not read it and keywords decided.
    pub parsed: bool,
}

/// How git saw a migration file change in the range.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum FileChange {
    /// A new migration: it ran on deploy, its statements are what shipped.
    Added,
    /// An existing migration was edited: databases that already ran it
    /// never re-run it, so its statements are not what shipped.
    Modified,
    /// Moved (`same_content`: byte-for-byte): not a new migration.
    Renamed { from: String, same_content: bool },
}

impl FileChange {
    pub fn label(&self) -> String {
        match self {
            FileChange::Added => "added".into(),
            FileChange::Modified => "modified (an applied migration was edited)".into(),
            FileChange::Renamed {
                from,
                same_content: true,
            } => format!("renamed from {from}"),
            FileChange::Renamed { from, .. } => format!("renamed from {from} and edited"),
        }
    }
}

/// A migration file that shipped in the range being rolled back over.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MigrationFile {
    pub path: String,
    /// Added, modified, renamed from …; as git reported it.
    pub change: String,
    pub text: String,
    pub statements: Vec<ClassifiedStatement>,
    /// A down migration; listed, never classified as applied.
    pub is_down: bool,
}

impl MigrationFile {
    pub fn verdict(&self) -> Option<SqlVerdict> {
        self.statements.iter().map(|s| s.verdict).max()
    }

    /// The file's verdict in words, one wording for the pane, the note and
    /// `rbtui migrations`.
    pub fn verdict_label(&self) -> String {
        if self.is_down {
            return "down file: listed, not applied by a rollback".into();
        }
        self.verdict()
            .map(|v| v.label().to_string())
            .unwrap_or_else(|| "empty: no statement".into())
    }
}

/// The answer to "can the old binary run on this schema?" for a whole range.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum MigrationVerdict {
    /// Nothing configured to look at: never reported as safe.
    NotChecked(String),
    /// The check itself failed (missing SHA, unreadable repo).
    Error(String),
    /// The range ships no migration.
    NoMigrations,
    /// Worst statement verdict over the range.
    Found(SqlVerdict),
}

impl MigrationVerdict {
    pub fn label(&self) -> String {
        match self {
            MigrationVerdict::NotChecked(why) => format!("not checked ({why})"),
            MigrationVerdict::Error(e) => format!("check failed: {e}"),
            MigrationVerdict::NoMigrations => "no migrations in range".to_string(),
            MigrationVerdict::Found(v) => v.label().to_string(),
        }
    }
}

/// Migrations between two revisions with their overall verdict.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MigrationDiff {
    pub target: String,
    pub from_rev: RevisionId,
    pub to_rev: RevisionId,
    pub files: Vec<MigrationFile>,
    pub verdict: MigrationVerdict,
}

impl MigrationDiff {
    /// Builds the diff from raw file texts, classifying every up migration
    /// in order so that tables created earlier in the range are known.
    pub fn classify(
        target: &str,
        from_rev: &str,
        to_rev: &str,
        raw: Vec<(String, FileChange, String)>,
    ) -> MigrationDiff {
        MigrationDiff::classify_knowing(target, from_rev, to_rev, raw, None)
    }

    /// [`MigrationDiff::classify`] knowing what the migrations present at
    /// the rollback target create (`at_target`): only what none of them
    /// creates is "created in this range".
    pub fn classify_knowing(
        target: &str,
        from_rev: &str,
        to_rev: &str,
        raw: Vec<(String, FileChange, String)>,
        at_target: Option<Created>,
    ) -> MigrationDiff {
        let mut created = at_target.map(Created::knowing_target).unwrap_or_default();
        let mut files = Vec::new();
        // Only added files are what shipped: an edit or a rename never
        // ran, so it must not make later statements look safe by
        // "creating" tables (a formatter run over an old CREATE TABLE).
        for (path, change, text) in raw {
            let is_down = is_down_migration(&path);
            let one = |reason: String| {
                vec![ClassifiedStatement {
                    line: 1,
                    sql: String::new(),
                    verdict: SqlVerdict::Review,
                    reason,
                    parsed: false,
                }]
            };
            let statements = match &change {
                _ if is_down => Vec::new(),
                FileChange::Added => classify_script(up_part(&text), &mut created),
                FileChange::Modified => one(
                    "an applied migration was edited; the database never re-ran it: review the edit (git diff), it is not what shipped"
                        .into(),
                ),
                FileChange::Renamed {
                    same_content: true, ..
                } => Vec::new(),
                FileChange::Renamed { from, .. } => one(format!(
                    "renamed from {from} and edited: not a new migration, and the edit never ran: review it"
                )),
            };
            files.push(MigrationFile {
                path,
                change: change.label(),
                text,
                statements,
                is_down,
            });
        }
        let verdict = files
            .iter()
            .filter_map(MigrationFile::verdict)
            .max()
            .map(MigrationVerdict::Found)
            .unwrap_or(MigrationVerdict::NoMigrations);
        MigrationDiff {
            target: target.into(),
            from_rev: from_rev.into(),
            to_rev: to_rev.into(),
            files,
            verdict,
        }
    }

    /// Counts per verdict for the summary line.
    pub fn counts(&self) -> (usize, usize, usize) {
        let mut c = (0, 0, 0);
        for s in self.files.iter().flat_map(|f| &f.statements) {
            match s.verdict {
                SqlVerdict::Compatible => c.0 += 1,
                SqlVerdict::Review => c.1 += 1,
                SqlVerdict::Unsafe => c.2 += 1,
            }
        }
        c
    }

    pub fn unsafe_statements(
        &self,
    ) -> impl Iterator<Item = (&MigrationFile, &ClassifiedStatement)> {
        self.files
            .iter()
            .flat_map(|f| f.statements.iter().map(move |s| (f, s)))
            .filter(|(_, s)| s.verdict == SqlVerdict::Unsafe)
    }
}

/// Down migrations in the common layouts: golang-migrate and others'
/// `.down.sql`, `_down.sql`, diesel's `<dir>/down.sql`, Flyway's `U…__`.
pub fn is_down_migration(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path).to_ascii_lowercase();
    name == "down.sql"
        || name.ends_with(".down.sql")
        || name.ends_with("_down.sql")
        || name.starts_with('u')
            && name.contains("__")
            && name.ends_with(".sql")
            && name[1..2].chars().all(|c| c.is_ascii_digit())
}

/// dbmate keeps both directions in one file: only what precedes
/// `-- migrate:down` is applied.
pub fn up_part(text: &str) -> &str {
    let lower = text.to_ascii_lowercase();
    match lower.find("-- migrate:down") {
        Some(i) => &text[..i],
        None => text,
    }
}

/// Classifies every statement of a script. `created` carries the tables
/// created earlier in the range: writing to those cannot hurt the old code.
pub fn classify_script(text: &str, created: &mut Created) -> Vec<ClassifiedStatement> {
    split_statements(text)
        .into_iter()
        .map(|(line, sql)| {
            let (verdict, reason, parsed) = classify_statement(&sql, created);
            ClassifiedStatement {
                line,
                sql,
                verdict,
                reason,
                parsed,
            }
        })
        .collect()
}

/// Classifies one statement, trying PostgreSQL then MySQL, and falling back
/// to keywords (marked) only when neither parser can read it.
pub fn classify_statement(sql: &str, created: &mut Created) -> (SqlVerdict, String, bool) {
    if let Some(body) = do_block_body(sql) {
        return match read_body(body, created, true) {
            (Some((v, r)), _) => (v, format!("inside DO block: {r}"), true),
            (None, 0) => (
                SqlVerdict::Review,
                "procedural block (inside DO block: no statement read; read it before rolling back)"
                    .to_string(),
                false,
            ),
            (None, n) => (
                SqlVerdict::Compatible,
                format!("inside DO block: all {n} statement(s) backward-compatible"),
                true,
            ),
        };
    }
    if let Some((v, r)) = sql_shapes::read(sql, created) {
        return (v, r, true);
    }
    let unmatched = sql_shapes::parser_friendly(sql.trim_start());
    let texts = [Some(sql), unmatched.as_deref()];
    let dialects: [&dyn Dialect; 2] = [&PostgreSqlDialect {}, &MySqlDialect {}];
    for (d, sql) in dialects
        .iter()
        .flat_map(|d| texts.iter().flatten().map(move |t| (*d, *t)))
    {
        if let Ok(stmts) = Parser::parse_sql(d, sql) {
            if stmts.is_empty() {
                return (SqlVerdict::Compatible, "empty statement".into(), true);
            }
            let mut worst = (SqlVerdict::Compatible, String::new());
            for s in &stmts {
                let (v, r) = classify_ast(s, created);
                if v > worst.0 || worst.1.is_empty() {
                    worst = (v, r);
                }
            }
            return (worst.0, worst.1, true);
        }
    }
    if let Some(t) = sql_shapes::created_table(sql) {
        let (v, why) = if created.existed(&t) {
            (
                SqlVerdict::Review,
                ", which a migration at the rollback target already creates (an old migration rewritten)",
            )
        } else {
            created.insert(t.clone());
            (SqlVerdict::Review, "")
        };
        return (
            v,
            format!(
                "creates table {t}{why}; the parser could not read its columns and constraints: review them"
            ),
            false,
        );
    }
    let (v, r) = classify_keywords(sql);
    (
        v,
        format!("{r} (parser could not read it; keyword match)"),
        false,
    )
}

/// The body of `DO $$ … $$` (any dollar-quote tag), if `sql` is one.
fn do_block_body(sql: &str) -> Option<&str> {
    let t = strip_leading_comments(sql);
    t.get(..2).filter(|w| w.eq_ignore_ascii_case("do"))?;
    let after = t[2..].trim_start();
    // `DO LANGUAGE plpgsql $$…$$` puts the language first.
    let after = match after.get(..8) {
        Some(w) if w.eq_ignore_ascii_case("language") => after[8..]
            .trim_start()
            .split_once(char::is_whitespace)?
            .1
            .trim_start(),
        _ => after,
    };
    if !after.starts_with('$') {
        return None;
    }
    sql_shapes::dollar_body(after)
}

fn strip_leading_comments(sql: &str) -> &str {
    let mut t = sql.trim_start();
    while let Some(rest) = t.strip_prefix("--") {
        t = rest
            .split_once('\n')
            .map(|(_, r)| r)
            .unwrap_or("")
            .trim_start();
    }
    t
}

/// A `DO` block's or a function's statements read one by one (PL/pgSQL
/// control lines skipped); the worst is returned (None when nothing was
/// judged worse than ok) with how many statements were judged. In a function body (`dml` false) only schema
/// changes count: its reads and writes run when it is called, as its logic.
pub(super) fn read_body(
    body: &str,
    created: &mut Created,
    dml: bool,
) -> (Option<(SqlVerdict, String)>, usize) {
    let mut worst: Option<(SqlVerdict, String)> = None;
    let mut judged = 0;
    let control = |s: &str| {
        let u = s.trim_start().to_ascii_uppercase();
        [
            "BEGIN",
            "END",
            "IF ",
            "ELSE",
            "ELSIF",
            "DECLARE",
            "RAISE",
            "PERFORM",
            "RETURN",
            "LOOP",
            "FOR ",
            "EXCEPTION",
            "WHEN ",
        ]
        .iter()
        .any(|k| u.starts_with(k))
    };
    let ddl = |s: &str| {
        let u = s.trim_start().to_ascii_uppercase();
        [
            "ALTER ",
            "DROP ",
            "CREATE ",
            "TRUNCATE ",
            "RENAME ",
            "REVOKE ",
        ]
        .iter()
        .any(|k| u.starts_with(k))
    };
    for (_, stmt) in split_statements(body) {
        // Drop the control flow glued to the statement:
        // `BEGIN IF … THEN ALTER …` is the ALTER.
        let mut st = stmt.trim();
        loop {
            // Same byte offsets as `st`: ASCII whitespace becomes a space.
            let u: String = st
                .chars()
                .map(|c| {
                    if c.is_ascii_whitespace() {
                        ' '
                    } else {
                        c.to_ascii_uppercase()
                    }
                })
                .collect();
            let word = |k: &str| u.starts_with(k) && u[k.len()..].starts_with(' ');
            if let Some(k) = ["BEGIN", "ELSE", "LOOP"].into_iter().find(|k| word(k)) {
                st = st[k.len()..].trim_start();
            } else if ["IF", "ELSIF", "WHEN"].into_iter().any(word) {
                match u.find(" THEN ") {
                    Some(i) => st = st[i + 5..].trim_start(),
                    None => break,
                }
            } else if ["FOR", "WHILE"].into_iter().any(word) {
                match u.find(" LOOP ") {
                    Some(i) => st = st[i + 5..].trim_start(),
                    None => break,
                }
            } else {
                break;
            }
        }
        if st.is_empty() || control(st) || (!dml && !ddl(st)) {
            continue;
        }
        let (v, r, _) = classify_statement(st, created);
        judged += 1;
        if v > SqlVerdict::Compatible && worst.as_ref().is_none_or(|w| v > w.0) {
            worst = Some((v, r));
        }
    }
    (worst, judged)
}

/// A table name as matched against the ones created in the range:
/// without quotes, lower-case (`"Storage"."Prefixes"` is storage.prefixes).
fn name(n: &ObjectName) -> String {
    normal(&n.to_string())
}

fn name_of(t: &impl std::fmt::Display) -> String {
    normal(&t.to_string())
}

/// The tables a DELETE removes rows from, when it names them plainly.
fn delete_tables(d: &sqlparser::ast::Delete) -> Option<Vec<String>> {
    let from = match &d.from {
        sqlparser::ast::FromTable::WithFromKeyword(f)
        | sqlparser::ast::FromTable::WithoutKeyword(f) => f,
    };
    let names: Vec<String> = from
        .iter()
        .map(|t| match &t.relation {
            sqlparser::ast::TableFactor::Table { name: n, .. } => Some(name(n)),
            _ => None,
        })
        .collect::<Option<_>>()?;
    (!names.is_empty()).then_some(names)
}

fn normal(s: &str) -> String {
    s.replace(['"', '`'], "").to_ascii_lowercase()
}

/// Whether `table` was created in the range; a schema-qualified name and
/// an unqualified one match on the table's own name.
fn is_created(created: &Created, table: &str) -> bool {
    created.is_table(&normal(table))
}

fn column_not_null_without_default(c: &ColumnDef) -> bool {
    let opts: Vec<&ColumnOption> = c.options.iter().map(|o| &o.option).collect();
    let not_null = opts.iter().any(|o| matches!(o, ColumnOption::NotNull))
        || opts.iter().any(|o| {
            matches!(
                o,
                ColumnOption::Unique {
                    is_primary: true,
                    ..
                }
            )
        });
    let default = opts.iter().any(|o| {
        matches!(o, ColumnOption::Default(_) | ColumnOption::Generated { .. } | ColumnOption::Identity(_))
            || matches!(o, ColumnOption::DialectSpecific(t) if t.iter().any(|t| t.to_string().eq_ignore_ascii_case("AUTO_INCREMENT")))
    });
    not_null && !default
}

fn classify_ast(stmt: &Statement, created: &mut Created) -> (SqlVerdict, String) {
    if let Statement::AlterTable {
        name: t,
        operations,
        ..
    } = stmt
    {
        return alter::alter_table(t, operations, created);
    }
    let known = statements::creates(stmt, created)
        .or_else(|| statements::replaces(stmt, created))
        .or_else(|| statements::writes(stmt, created))
        .or_else(|| statements::drops(stmt, created))
        .or_else(|| statements::renames(stmt, created))
        .or_else(|| statements::harmless_or_revoking(stmt));
    if let Some(v) = known {
        return v;
    }
    use SqlVerdict::*;
    match stmt {
        Statement::CreateProcedure { .. } | Statement::CreateTrigger { .. } => (
            Review,
            "procedural code; read it before rolling back".into(),
        ),
        other => {
            let head: String = other
                .to_string()
                .split_whitespace()
                .take(2)
                .collect::<Vec<_>>()
                .join(" ");
            (
                Review,
                format!("{head}: not a statement rbtui knows how to judge"),
            )
        }
    }
}

/// The fallback for text no dialect parses. It is deliberately pessimistic.
fn classify_keywords(sql: &str) -> (SqlVerdict, String) {
    let u: String = strip_comments(sql).to_ascii_uppercase();
    let words: Vec<&str> = u
        .split(|c: char| !c.is_ascii_alphanumeric() && c != '_')
        .filter(|w| !w.is_empty())
        .collect();
    let has = |seq: &[&str]| words.windows(seq.len()).any(|w| w == seq);
    // A trigger's `BEFORE … OR TRUNCATE` is when it fires, not a TRUNCATE.
    if has(&["DO"])
        || has(&["BEGIN"])
        || has(&["LANGUAGE"])
        || has(&["DECLARE"])
        || has(&["CREATE", "TRIGGER"])
        || has(&["CREATE", "OR", "REPLACE", "TRIGGER"])
    {
        return (SqlVerdict::Review, "procedural block".into());
    }
    for (seq, why) in [
        (&["DROP", "TABLE"][..], "drops a table"),
        (&["DROP", "COLUMN"][..], "drops a column"),
        (&["RENAME"][..], "renames something"),
        (&["SET", "NOT", "NULL"][..], "sets NOT NULL"),
        (&["TRUNCATE"][..], "truncates a table"),
        (&["DELETE", "FROM"][..], "deletes rows"),
        (&["TYPE"][..], "may change a column type"),
    ] {
        if has(seq) {
            return (SqlVerdict::Unsafe, why.into());
        }
    }
    (SqlVerdict::Review, "unrecognised statement".into())
}

fn strip_comments(sql: &str) -> String {
    sql.lines()
        .map(|l| l.split("--").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n")
}

/// A quoted string or identifier from `chars[i]` (its quote, doubled
/// inside it), into `cur`; where it ends.
fn quoted(chars: &[char], mut i: usize, cur: &mut String, line: &mut usize) -> usize {
    let c = chars[i];
    cur.push(c);
    i += 1;
    while i < chars.len() {
        let d = chars[i];
        cur.push(d);
        if d == '\n' {
            *line += 1;
        }
        i += 1;
        if d == c {
            if chars.get(i) == Some(&c) {
                cur.push(c);
                i += 1;
                continue;
            }
            break;
        }
    }
    i
}

/// A PostgreSQL dollar-quoted body (`$tag$ … $tag$`) from `chars[i]`, into
/// `cur`; where it ends, or None if no tag starts here.
fn dollar_quoted(chars: &[char], i: usize, cur: &mut String, line: &mut usize) -> Option<usize> {
    let te = chars[i + 1..]
        .iter()
        .position(|&d| d == '$')
        .map(|p| i + 1 + p)?;
    let tag: String = chars[i..=te].iter().collect();
    if !tag[1..tag.len() - 1]
        .chars()
        .all(|d| d.is_alphanumeric() || d == '_')
    {
        return None;
    }
    cur.push_str(&tag);
    let mut i = te + 1;
    let tl: Vec<char> = tag.chars().collect();
    while i < chars.len() && !chars[i..].starts_with(&tl) {
        if chars[i] == '\n' {
            *line += 1;
        }
        cur.push(chars[i]);
        i += 1;
    }
    if i < chars.len() {
        cur.push_str(&tag);
        i += tl.len();
    }
    Some(i)
}

/// Splits a script into statements with their starting line, respecting
/// quotes, `--` and `/* */` comments and PostgreSQL dollar quoting, so that a
/// `;` inside a function body does not cut it.
pub fn split_statements(text: &str) -> Vec<(usize, String)> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut line = 1usize;
    let mut start_line: Option<usize> = None;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '-' && next == Some('-') {
            while i < chars.len() && chars[i] != '\n' {
                cur.push(chars[i]);
                i += 1;
            }
            continue;
        }
        if c == '/' && next == Some('*') {
            while i < chars.len() && !(chars[i] == '*' && chars.get(i + 1) == Some(&'/')) {
                if chars[i] == '\n' {
                    line += 1;
                }
                cur.push(chars[i]);
                i += 1;
            }
            cur.push_str("*/");
            i += 2;
            continue;
        }
        if c == '\'' || c == '"' || c == '`' {
            start_line.get_or_insert(line);
            i = quoted(&chars, i, &mut cur, &mut line);
            continue;
        }
        let at = line;
        if c == '$'
            && let Some(end) = dollar_quoted(&chars, i, &mut cur, &mut line)
        {
            start_line.get_or_insert(at);
            i = end;
            continue;
        }
        if c == ';' {
            let s = cur.trim().to_string();
            if !strip_comments(&s).trim().is_empty() {
                out.push((start_line.unwrap_or(line), s));
            }
            cur.clear();
            start_line = None;
            i += 1;
            continue;
        }
        if c == '\n' {
            line += 1;
        } else if !c.is_whitespace() && start_line.is_none() {
            start_line = Some(line);
        }
        cur.push(c);
        i += 1;
    }
    let s = cur.trim().to_string();
    if !strip_comments(&s).trim().is_empty() {
        out.push((start_line.unwrap_or(line), s));
    }
    out
}
