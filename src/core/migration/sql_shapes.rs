//! Statements the SQL parser cannot read (or reads without the part that
//! matters), judged by their shape: maintenance (`REINDEX`, `DROP INDEX
//! CONCURRENTLY`, `CREATE STATISTICS`), sequences, enum types, policies,
//! and functions whose body must be read. Real migration histories are
//! full of these; a keyword guess on them either blocked a harmless
//! rollback or let a body that drops a column through.

use super::SqlVerdict::{self, *};

/// Upper-cased words of a statement outside quotes and dollar-quoted
/// bodies, identifiers kept whole (`storage.objects`, `"Users"`).
fn words(sql: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut chars = sql.chars().peekable();
    let flush = |cur: &mut String, out: &mut Vec<String>| {
        if !cur.is_empty() {
            out.push(std::mem::take(cur).to_ascii_uppercase());
        }
    };
    while let Some(c) = chars.next() {
        match c {
            '-' if chars.peek() == Some(&'-') => {
                flush(&mut cur, &mut out);
                for d in chars.by_ref() {
                    if d == '\n' {
                        break;
                    }
                }
            }
            '\'' => {
                flush(&mut cur, &mut out);
                for d in chars.by_ref() {
                    if d == '\'' {
                        break;
                    }
                }
                out.push("'…'".into());
            }
            '$' => {
                flush(&mut cur, &mut out);
                // Skip a dollar-quoted body: `$tag$ … $tag$`.
                let mut tag = String::from("$");
                for d in chars.by_ref() {
                    tag.push(d);
                    if d == '$' {
                        break;
                    }
                }
                let mut seen = String::new();
                for d in chars.by_ref() {
                    seen.push(d);
                    if seen.ends_with(&tag) {
                        break;
                    }
                }
                out.push("$BODY$".into());
            }
            c if c.is_alphanumeric() || matches!(c, '_' | '.' | '"') => cur.push(c),
            _ => flush(&mut cur, &mut out),
        }
    }
    flush(&mut cur, &mut out);
    out
}

fn starts(w: &[String], seq: &[&str]) -> bool {
    w.len() >= seq.len() && w.iter().zip(seq).all(|(a, b)| a == b)
}

fn has(w: &[String], seq: &[&str]) -> bool {
    w.windows(seq.len())
        .any(|x| x.iter().zip(seq).all(|(a, b)| a == b))
}

/// The first word after `seq` that is not IF/NOT/EXISTS/ONLY/CONCURRENTLY.
fn object_after(w: &[String], seq: &[&str]) -> String {
    let skip = [
        "IF",
        "NOT",
        "EXISTS",
        "ONLY",
        "CONCURRENTLY",
        "INDEX",
        "TABLE",
    ];
    w.iter()
        .skip(seq.len())
        .find(|x| !skip.contains(&x.as_str()))
        .map(|x| x.to_ascii_lowercase().replace('"', ""))
        .unwrap_or_default()
}

/// A verdict for statements read by their shape, or None to let the
/// parser read it.
pub fn read(sql: &str, created: &mut super::Created) -> Option<(SqlVerdict, String)> {
    let w = words(sql);
    let w = w.as_slice();
    if starts(w, &["DROP", "INDEX"]) {
        let n = object_after(w, &["DROP", "INDEX"]);
        return Some(if has(w, &["CASCADE"]) {
            (
                Review,
                format!("drops index {n} CASCADE: constraints that depend on it go too"),
            )
        } else {
            (
                Compatible,
                format!("drops index {n}; queries still work, maybe slower"),
            )
        });
    }
    if starts(w, &["REINDEX"]) {
        return Some((
            Compatible,
            "rebuilds indexes; the schema is unchanged".into(),
        ));
    }
    if starts(w, &["CREATE", "STATISTICS"]) {
        return Some((
            Compatible,
            "creates planner statistics; the schema the code sees is unchanged".into(),
        ));
    }
    if starts(w, &["REFRESH", "MATERIALIZED", "VIEW"]) {
        return Some((
            Compatible,
            "refreshes a materialized view's rows; its shape is unchanged".into(),
        ));
    }
    if ["VACUUM", "ANALYZE", "ANALYSE", "CLUSTER"]
        .iter()
        .any(|k| starts(w, &[k]))
    {
        return Some((Compatible, "maintenance; the schema is unchanged".into()));
    }
    if starts(w, &["ALTER", "SEQUENCE"]) {
        return Some(alter_sequence(w));
    }
    if starts(w, &["ALTER", "TYPE"]) {
        return Some(alter_type(w));
    }
    if starts(w, &["ALTER", "FUNCTION"]) || starts(w, &["ALTER", "PROCEDURE"]) {
        return Some(alter_function(w, created));
    }
    if starts(w, &["ALTER", "DEFAULT", "PRIVILEGES"]) {
        return Some(if has(w, &["REVOKE"]) {
            (
                Unsafe,
                "revokes default privileges the old code's role may need".into(),
            )
        } else {
            (
                Compatible,
                "grants default privileges; nothing is taken away".into(),
            )
        });
    }
    if starts(w, &["CREATE", "POLICY"]) || starts(w, &["DROP", "POLICY"]) {
        return Some((
            Review,
            "row-level security policy: rows the old code's role sees may change".into(),
        ));
    }
    if starts(w, &["DROP", "TRIGGER"]) {
        let n = object_after(w, &["DROP", "TRIGGER"]);
        return Some((
            Review,
            format!("drops trigger {n}: the old code's writes may rely on what it did"),
        ));
    }
    let is_function = ["FUNCTION", "PROCEDURE"]
        .iter()
        .any(|k| starts(w, &["CREATE", k]) || starts(w, &["CREATE", "OR", "REPLACE", k]));
    if is_function {
        return Some(function(sql, w, created));
    }
    None
}

/// ALTER TYPE: a new enum value is for the new code's rows; renames and
/// removals break the old code.
fn alter_type(w: &[String]) -> (SqlVerdict, String) {
    let n = object_after(w, &["ALTER", "TYPE"]);
    if has(w, &["ADD", "VALUE"]) {
        (
            Review,
            format!(
                "adds a value to enum {n}: rows the new code wrote with it may not read in the old code"
            ),
        )
    } else if has(w, &["RENAME"]) || has(w, &["DROP"]) || has(w, &["SET", "SCHEMA"]) {
        (
            Unsafe,
            format!("renames or removes part of type {n}; the old code uses the old names"),
        )
    } else {
        (Review, format!("alters type {n}"))
    }
}

/// ALTER FUNCTION / PROCEDURE: harmless on one this range created, or for
/// its owner and settings; a rename or move breaks the old code's calls.
fn alter_function(w: &[String], created: &super::Created) -> (SqlVerdict, String) {
    let n = object_after(w, &w[..2].iter().map(|s| s.as_str()).collect::<Vec<_>>());
    let key = format!("fn:{}", n.replace('"', "").to_ascii_lowercase());
    if created.contains(&key) {
        (
            Compatible,
            format!("alters {n}, created in this range (the old code never called it)"),
        )
    } else if has(w, &["RENAME"]) || has(w, &["SET", "SCHEMA"]) {
        (
            Unsafe,
            format!("renames or moves {n}; the old code calls it by the old name"),
        )
    } else if has(w, &["OWNER", "TO"]) || has(w, &["SET"]) || has(w, &["RESET"]) {
        (
            Compatible,
            format!("changes {n}'s owner or settings; callers are unaffected"),
        )
    } else {
        (Review, format!("alters {n}"))
    }
}

fn alter_sequence(w: &[String]) -> (SqlVerdict, String) {
    let n = object_after(w, &["ALTER", "SEQUENCE"]);
    if has(w, &["RENAME"]) || has(w, &["SET", "SCHEMA"]) {
        return (
            Unsafe,
            format!("renames or moves sequence {n}; the old code's nextval('{n}') fails"),
        );
    }
    if has(w, &["RESTART"]) || has(w, &["START"]) {
        return (
            Review,
            format!("restarts sequence {n}: new ids may collide with existing rows"),
        );
    }
    if has(w, &["AS"])
        || has(w, &["INCREMENT"])
        || has(w, &["MAXVALUE"])
        || has(w, &["MINVALUE"])
        || has(w, &["CYCLE"])
    {
        return (
            Review,
            format!("changes sequence {n}'s type or range: ids the old code gets may differ"),
        );
    }
    (
        Compatible,
        format!("changes sequence {n}'s owner or cache; ids are unaffected"),
    )
}

/// `CREATE [OR REPLACE] FUNCTION|PROCEDURE name(…) … AS $tag$ body $tag$`.
/// Replacing one the old code may call is unsafe; a new one, or one
/// created earlier in the range, is not. Its body's schema changes decide
/// when worse ("inside function body: …"); its row reads and writes run
/// when it is called and are part of its logic, not of the migration.
fn function(sql: &str, w: &[String], created: &mut super::Created) -> (SqlVerdict, String) {
    let replace = starts(w, &["CREATE", "OR", "REPLACE"]);
    let kind = if has(w, &["PROCEDURE"]) {
        "procedure"
    } else {
        "function"
    };
    // From the statement's own words (comments and bodies are not words):
    // a comment above it once named the function.
    let name = w
        .iter()
        .position(|x| x == "FUNCTION" || x == "PROCEDURE")
        .and_then(|i| w.get(i + 1))
        .map(|n| n.replace('"', "").to_ascii_lowercase())
        .unwrap_or_default();
    let key = format!("fn:{name}");
    let own = if replace && created.contains(&key) {
        (
            Compatible,
            format!("replaces {kind} {name}, created in this range (the old code never called it)"),
        )
    } else if replace && created.knows_target() && !created.existed(&key) {
        (
            Compatible,
            format!(
                "creates {kind} {name} (no migration at the rollback target creates it); the old code does not call it"
            ),
        )
    } else if replace {
        (
            Unsafe,
            format!("replaces {kind} {name}; the old code may call the old body"),
        )
    } else {
        (
            Compatible,
            format!("creates {kind} {name}; the old code does not call it"),
        )
    };
    created.insert(key);
    let Some(body) = dollar_body(sql) else {
        return own;
    };
    let mut scratch = created.clone();
    match super::read_body(body, &mut scratch, false).0 {
        Some((v, r)) if v >= own.0 => (v, format!("inside {kind} body of {name}: {r}")),
        _ => own,
    }
}

/// The table a `CREATE [UNLOGGED|TEMP] TABLE [IF NOT EXISTS] name (…)`
/// names, read from its words: when the parser cannot read the rest, the
/// table is still created, and later statements on it must know.
pub fn created_table(sql: &str) -> Option<String> {
    let w = words(sql);
    let mut i = 1;
    if w.first().map(String::as_str) != Some("CREATE") {
        return None;
    }
    while w
        .get(i)
        .is_some_and(|x| ["UNLOGGED", "TEMP", "TEMPORARY", "GLOBAL", "LOCAL"].contains(&x.as_str()))
    {
        i += 1;
    }
    if w.get(i).map(String::as_str) != Some("TABLE") {
        return None;
    }
    let n = object_after(&w[i..], &["TABLE"]);
    (!n.is_empty() && !n.starts_with('\'')).then_some(n)
}

/// The text between the first `$tag$` and its closing twin.
pub fn dollar_body(sql: &str) -> Option<&str> {
    let start = sql.find('$')?;
    let rest = &sql[start + 1..];
    let end = rest.find('$')?;
    let tag = &sql[start..start + end + 2];
    if !tag[1..tag.len() - 1]
        .chars()
        .all(|c| c.is_alphanumeric() || c == '_')
    {
        return None;
    }
    let body = &sql[start + tag.len()..];
    let close = body.find(tag)?;
    Some(&body[..close])
}

/// The text with what the parser cannot read and the verdict does not
/// need taken out: `MATCH SIMPLE|FULL` after REFERENCES (how NULLs match,
/// not what exists) and `UNLOGGED` in `CREATE UNLOGGED TABLE`.
pub fn parser_friendly(sql: &str) -> Option<String> {
    let unlogged = ["CREATE UNLOGGED TABLE", "CREATE UNLOGGED  TABLE"]
        .iter()
        .find_map(|k| {
            sql.get(..k.len())
                .filter(|h| h.eq_ignore_ascii_case(k))
                .map(|_| format!("CREATE TABLE{}", &sql[k.len()..]))
        });
    match (
        without_match_simple(unlogged.as_deref().unwrap_or(sql)),
        unlogged,
    ) {
        (Some(s), _) | (None, Some(s)) => Some(s),
        (None, None) => None,
    }
}

fn without_match_simple(sql: &str) -> Option<String> {
    let upper = sql.to_ascii_uppercase();
    let mut out = String::with_capacity(sql.len());
    let mut last = 0;
    let mut found = false;
    let mut search = 0;
    while let Some(i) = upper[search..].find("MATCH") {
        let at = search + i;
        let after = upper[at + 5..].trim_start();
        let gap = upper.len() - (at + 5) - after.len();
        let word = ["SIMPLE", "FULL"].into_iter().find(|k| {
            after.starts_with(k)
                && !after[k.len()..].starts_with(|c: char| c.is_alphanumeric() || c == '_')
        });
        let before_ok =
            at == 0 || !upper[..at].ends_with(|c: char| c.is_alphanumeric() || c == '_');
        match word {
            Some(k) if before_ok && upper[..at].matches('\'').count() % 2 == 0 => {
                out.push_str(&sql[last..at]);
                last = at + 5 + gap + k.len();
                found = true;
                search = last;
            }
            _ => search = at + 5,
        }
    }
    out.push_str(&sql[last..]);
    found.then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn match_simple_is_taken_out_outside_quotes_only() {
        assert_eq!(
            without_match_simple("b_id int REFERENCES b(id) MATCH SIMPLE ON DELETE CASCADE")
                .as_deref(),
            Some("b_id int REFERENCES b(id)  ON DELETE CASCADE")
        );
        assert_eq!(without_match_simple("SELECT 'match simple'"), None);
        assert_eq!(without_match_simple("SELECT rematch simple"), None);
    }

    #[test]
    fn words_skip_bodies_and_strings() {
        assert_eq!(
            words("CREATE FUNCTION f() AS $x$ DROP TABLE t; $x$ LANGUAGE sql -- DROP"),
            ["CREATE", "FUNCTION", "F", "AS", "$BODY$", "LANGUAGE", "SQL"]
        );
    }

    /// The name is the statement's, never a word of the comment above it:
    /// a replaced existing function is UNSAFE whatever the comment says.
    #[test]
    fn a_functions_name_is_never_read_from_a_comment() {
        let mut created = super::super::Created::default();
        created.insert("fn:discovery".to_string());
        let sql = "-- static SQL peek for folder discovery (see docs/search.md)\nCREATE OR REPLACE FUNCTION search(p text) RETURNS int AS $$ SELECT 1 $$ LANGUAGE sql";
        let (v, why) = read(sql, &mut created).unwrap();
        assert_eq!(v, SqlVerdict::Unsafe, "{why}");
        assert!(why.contains("replaces function search"), "{why}");
    }
}
