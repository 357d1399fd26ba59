//! What each kind of statement does to the old binary, by family: what it
//! creates, the rows it writes, what it drops or renames. `classify_ast`
//! asks each family in turn; `alter::alter_table` judges ALTER TABLE.

use super::{Created, SqlVerdict, delete_tables, is_created, name, name_of, normal};
use sqlparser::ast::{ObjectName, ObjectType, Statement};

/// CREATE of a table, index, sequence, schema, extension or type: new
/// things the old code does not use, unless one constrains what it does
/// use (a UNIQUE index on an existing table).
pub(super) fn creates(stmt: &Statement, created: &mut Created) -> Option<(SqlVerdict, String)> {
    use SqlVerdict::*;
    let v = match stmt {
        Statement::CreateTable(ct) if created.existed(&name(&ct.name)) => (
            Review,
            format!(
                "creates table {}, which a migration at the rollback target already creates: an old migration moved or rewritten, not a new table (the database never re-runs it): review the rewrite",
                ct.name
            ),
        ),
        Statement::CreateTable(ct) => {
            let table = name(&ct.name);
            for c in &ct.columns {
                created.insert(format!("{table}.{}#added", normal(&c.name.to_string())));
            }
            created.insert(table);
            (
                Compatible,
                format!("creates table {}; the old code does not use it", ct.name),
            )
        }
        Statement::CreateIndex(ci) if ci.unique && !is_created(created, &name(&ci.table_name)) => (
            Review,
            format!(
                "creates a UNIQUE index on existing table {}: old code that writes duplicates now fails; check the old code's writes",
                ci.table_name
            ),
        ),
        Statement::CreateIndex(ci) => (
            Compatible,
            format!("creates index on {}; reads are unaffected", ci.table_name),
        ),
        Statement::CreateSequence { name: n, .. } => (Compatible, format!("creates sequence {n}")),
        Statement::CreateSchema { .. } => (
            Compatible,
            "creates a schema; the old code does not use it".into(),
        ),
        Statement::CreateExtension { name: n, .. } => {
            (Compatible, format!("creates extension {n}"))
        }
        Statement::CreateType { name: n, .. } => (Compatible, format!("creates type {n}")),
        _ => return None,
    };
    Some(v)
}

/// CREATE (OR REPLACE) of a view or function: new ones the old code does
/// not use; a replaced one it may rely on, unless this range created it
/// (or, knowing the target, none of its migrations does).
pub(super) fn replaces(stmt: &Statement, created: &mut Created) -> Option<(SqlVerdict, String)> {
    use SqlVerdict::*;
    let v = match stmt {
        Statement::CreateView {
            name: n,
            or_replace,
            ..
        } => {
            // Knowing the target: a view none of its migrations creates is new.
            let new = is_created(created, &name(n))
                || (created.knows_target() && !created.existed(&name(n)));
            created.insert(name(n));
            if *or_replace && new {
                (
                    Compatible,
                    format!(
                        "replaces view {n}, created in this range (the old code never used it)"
                    ),
                )
            } else if *or_replace {
                (
                    Unsafe,
                    format!("replaces view {n}; the old code may rely on its old shape"),
                )
            } else {
                (
                    Compatible,
                    format!("creates view {n}; the old code does not use it"),
                )
            }
        }
        Statement::CreateFunction(f)
            if f.or_replace && created.contains(&format!("fn:{}", name(&f.name))) =>
        {
            (
                Compatible,
                format!(
                    "replaces function {}, created in this range (the old code never called it)",
                    f.name
                ),
            )
        }
        Statement::CreateFunction(f)
            if f.or_replace
                && created.knows_target()
                && !created.existed(&format!("fn:{}", name(&f.name))) =>
        {
            created.insert(format!("fn:{}", name(&f.name)));
            (
                Compatible,
                format!(
                    "creates function {} (no migration at the rollback target creates it); the old code does not call it",
                    f.name
                ),
            )
        }
        Statement::CreateFunction(f) => {
            created.insert(format!("fn:{}", name(&f.name)));
            if f.or_replace {
                (
                    Unsafe,
                    format!(
                        "replaces function {}; the old code may call the old body",
                        f.name
                    ),
                )
            } else {
                (
                    Compatible,
                    format!("creates function {}; the old code does not call it", f.name),
                )
            }
        }
        _ => return None,
    };
    Some(v)
}

/// INSERT, UPDATE, DELETE and TRUNCATE: harmless on tables (and columns)
/// this range created; on existing ones, rows the old code may need.
pub(super) fn writes(stmt: &Statement, created: &mut Created) -> Option<(SqlVerdict, String)> {
    use SqlVerdict::*;
    let v = match stmt {
        Statement::Insert(ins) => {
            let t = ins.table.to_string().to_ascii_lowercase();
            if is_created(created, &t) {
                (
                    Compatible,
                    format!("inserts into {t}, created in this range"),
                )
            } else {
                (
                    Review,
                    format!(
                        "inserts rows into existing table {t}; check the old code tolerates them"
                    ),
                )
            }
        }
        // Backfilling columns the range added: the old code never reads them.
        Statement::Update {
            table, assignments, ..
        } if !assignments.is_empty()
            && assignments.iter().all(|a| {
                let cols: Vec<&ObjectName> = match &a.target {
                    sqlparser::ast::AssignmentTarget::ColumnName(c) => vec![c],
                    sqlparser::ast::AssignmentTarget::Tuple(cs) => cs.iter().collect(),
                };
                cols.iter().all(|c| {
                    created.contains(&format!(
                        "{}.{}#added",
                        normal(&table.relation.to_string()),
                        name(c)
                    ))
                })
            }) =>
        {
            (
                Compatible,
                format!(
                    "fills columns of {} added in this range; the old code does not read them",
                    table.relation
                ),
            )
        }
        Statement::Update { table, .. } if is_created(created, &name_of(&table.relation)) => (
            Compatible,
            format!("updates rows of {}, created in this range", table.relation),
        ),
        Statement::Update { table, .. } => (
            Unsafe,
            format!(
                "updates existing rows of {}; the old code may expect the old values",
                table.relation
            ),
        ),
        Statement::Delete(d)
            if delete_tables(d).is_some_and(|ts| ts.iter().all(|t| is_created(created, t))) =>
        {
            (
                Compatible,
                "deletes rows of a table created in this range".into(),
            )
        }
        Statement::Delete(_) => (
            Unsafe,
            "deletes existing rows; the old code may need them".into(),
        ),
        Statement::Truncate { table_names, .. }
            if table_names
                .iter()
                .all(|t| is_created(created, &name(&t.name))) =>
        {
            (Compatible, "truncates a table created in this range".into())
        }
        Statement::Truncate { table_names, .. } => {
            let names: Vec<String> = table_names.iter().map(|t| t.name.to_string()).collect();
            (
                Unsafe,
                format!("truncates {}; existing data is gone", names.join(", ")),
            )
        }
        _ => return None,
    };
    Some(v)
}

/// DROP of anything: only what this range created goes without harm.
pub(super) fn drops(stmt: &Statement, created: &mut Created) -> Option<(SqlVerdict, String)> {
    use SqlVerdict::*;
    let v = match stmt {
        Statement::Drop {
            object_type, names, ..
        } => {
            let n_list: Vec<String> = names.iter().map(|n| n.to_string()).collect();
            let n = n_list.join(", ");
            let all_new = !names.is_empty() && names.iter().all(|x| is_created(created, &name(x)));
            match object_type {
                ObjectType::Table | ObjectType::View | ObjectType::MaterializedView if all_new => (
                    Compatible,
                    format!(
                        "drops {object_type} {n}, created in this range (the old code never used it)"
                    ),
                ),
                ObjectType::Table => (
                    Unsafe,
                    format!("drops table {n}; the old code still reads it"),
                ),
                ObjectType::View | ObjectType::MaterializedView => {
                    (Unsafe, format!("drops view {n}; the old code may query it"))
                }
                ObjectType::Index => (
                    Compatible,
                    format!("drops index {n}; queries still work, maybe slower"),
                ),
                ObjectType::Schema | ObjectType::Database => {
                    (Unsafe, format!("drops {object_type} {n}"))
                }
                ObjectType::Sequence | ObjectType::Type => (
                    Unsafe,
                    format!("drops {object_type} {n}; the old code may use it"),
                ),
                _ => (Review, format!("drops {object_type} {n}")),
            }
        }
        Statement::DropFunction { func_desc, .. }
            if !func_desc.is_empty()
                && func_desc
                    .iter()
                    .all(|f| created.contains(&format!("fn:{}", name(&f.name)))) =>
        {
            let n: Vec<String> = func_desc.iter().map(|f| f.name.to_string()).collect();
            (
                Compatible,
                format!(
                    "drops function {}, created in this range (the old code never called it)",
                    n.join(", ")
                ),
            )
        }
        Statement::DropFunction { func_desc, .. } => {
            let n: Vec<String> = func_desc.iter().map(|f| f.name.to_string()).collect();
            (
                Unsafe,
                format!("drops function {}; the old code may call it", n.join(", ")),
            )
        }
        Statement::DropProcedure { .. } => {
            (Unsafe, "drops a procedure the old code may call".into())
        }
        _ => return None,
    };
    Some(v)
}

/// ALTER VIEW / ALTER INDEX and RENAME TABLE.
pub(super) fn renames(stmt: &Statement, created: &mut Created) -> Option<(SqlVerdict, String)> {
    use SqlVerdict::*;
    let v = match stmt {
        Statement::AlterView { name: n, .. } => (
            Unsafe,
            format!("alters view {n}; the old code may rely on its old shape"),
        ),
        Statement::AlterIndex { name: n, .. } => (Compatible, format!("alters index {n}")),
        Statement::RenameTable(r) => {
            for r in r {
                created.renamed(name(&r.new_name));
            }
            let n: Vec<String> = r
                .iter()
                .map(|r| format!("{} → {}", r.old_name, r.new_name))
                .collect();
            (
                Unsafe,
                format!(
                    "renames table {}; the old code uses the old name",
                    n.join(", ")
                ),
            )
        }
        _ => return None,
    };
    Some(v)
}

/// Comments, privileges, transaction control and reads.
pub(super) fn harmless_or_revoking(stmt: &Statement) -> Option<(SqlVerdict, String)> {
    use SqlVerdict::*;
    let v = match stmt {
        Statement::Comment { .. } => (Compatible, "comment only".into()),
        Statement::Grant { .. } => (
            Compatible,
            "grants privileges; nothing is taken away".into(),
        ),
        Statement::Revoke { .. } => (Unsafe, "revokes privileges the old code may need".into()),
        Statement::StartTransaction { .. } | Statement::Commit { .. } | Statement::Set(_) => {
            (Compatible, "transaction or session control".into())
        }
        Statement::Query(_) => (Compatible, "read-only query".into()),
        _ => return None,
    };
    Some(v)
}
