//! ALTER TABLE operations judged one by one: what the old binary can
//! live with on a table it knows, and what a range may change freely on
//! columns it added itself.

use super::{Created, SqlVerdict, column_not_null_without_default, is_created, name, normal};
use sqlparser::ast::{AlterColumnOperation, AlterTableOperation, ColumnOption, ObjectName};

/// A rename, drop or retype of a column this range added (and the
/// target did not have): the old code never used it. A renamed one stays
/// known under its new name.
pub(super) fn added_column(
    table: &str,
    op: &AlterTableOperation,
    created: &mut Created,
) -> Option<(SqlVerdict, String)> {
    use AlterTableOperation as Op;
    let added = |c: &dyn std::fmt::Display| format!("{table}.{}#added", normal(&c.to_string()));
    let why = "added in this range (the old code never used it)";
    match op {
        Op::DropColumn { column_names, .. }
            if !column_names.is_empty()
                && column_names.iter().all(|c| created.contains(&added(c))) =>
        {
            let c: Vec<String> = column_names.iter().map(|c| c.to_string()).collect();
            Some((
                SqlVerdict::Compatible,
                format!("drops column {table}.{}, {why}", c.join(", ")),
            ))
        }
        Op::RenameColumn {
            old_column_name,
            new_column_name,
        } if created.contains(&added(old_column_name)) => {
            created.insert(added(new_column_name));
            Some((
                SqlVerdict::Compatible,
                format!("renames column {table}.{old_column_name} to {new_column_name}, {why}"),
            ))
        }
        Op::AlterColumn {
            column_name,
            op: AlterColumnOperation::SetDataType { .. },
        } if created.contains(&added(column_name)) => Some((
            SqlVerdict::Compatible,
            format!("changes the type of {table}.{column_name}, {why}"),
        )),
        Op::ModifyColumn { col_name, .. } if created.contains(&added(col_name)) => Some((
            SqlVerdict::Compatible,
            format!("changes the type of {table}.{col_name}, {why}"),
        )),
        Op::ChangeColumn {
            old_name, new_name, ..
        } if created.contains(&added(old_name)) => {
            created.insert(added(new_name));
            Some((
                SqlVerdict::Compatible,
                format!("changes column {table}.{old_name} (to {new_name}), {why}"),
            ))
        }
        _ => None,
    }
}

pub(super) fn classify_alter(
    t: &ObjectName,
    op: &AlterTableOperation,
    table_is_new: bool,
) -> (SqlVerdict, String) {
    use AlterTableOperation as Op;
    use SqlVerdict::*;
    if table_is_new {
        return (Compatible, format!("alters {t}, created in this range"));
    }
    match op {
        Op::AddColumn { column_def, .. } => {
            if column_not_null_without_default(column_def) {
                (
                    Unsafe,
                    format!(
                        "adds NOT NULL column {}.{} without a default; old code inserting rows fails",
                        t, column_def.name
                    ),
                )
            } else {
                (
                    Compatible,
                    format!(
                        "adds column {}.{}; the old code just ignores it",
                        t, column_def.name
                    ),
                )
            }
        }
        Op::DropColumn { column_names, .. } => {
            let c: Vec<String> = column_names.iter().map(|c| c.to_string()).collect();
            (
                Unsafe,
                format!(
                    "drops column {}.{}; the old code still reads it",
                    t,
                    c.join(", ")
                ),
            )
        }
        Op::RenameColumn {
            old_column_name,
            new_column_name,
        } => (
            Unsafe,
            format!(
                "renames column {t}.{old_column_name} to {new_column_name}; the old code uses the old name"
            ),
        ),
        Op::RenameTable { .. } => (
            Unsafe,
            format!("renames table {t}; the old code uses the old name"),
        ),
        Op::ChangeColumn {
            old_name, new_name, ..
        } => (
            Unsafe,
            format!(
                "changes column {t}.{old_name} (to {new_name}); name or type the old code relies on"
            ),
        ),
        Op::ModifyColumn { col_name, .. } => {
            (Unsafe, format!("changes the type of {t}.{col_name}"))
        }
        Op::AlterColumn { column_name, op } => alter_column(t, column_name, op),
        Op::AddConstraint { .. }
        | Op::ValidateConstraint { .. }
        | Op::DropConstraint { .. }
        | Op::RenameConstraint { .. } => constraint(t, op),
        Op::DropIndex { name: n } => (Compatible, format!("drops index {n} on {t}")),
        Op::DropPrimaryKey { .. } | Op::DropForeignKey { .. } => {
            (Review, format!("drops a key on {t}"))
        }
        other => (
            Review,
            format!("ALTER TABLE {t} {other}: not an operation rbtui knows how to judge"),
        ),
    }
}

/// ALTER COLUMN on a table the old code knows.
fn alter_column(
    t: &ObjectName,
    column_name: &dyn std::fmt::Display,
    op: &AlterColumnOperation,
) -> (SqlVerdict, String) {
    use SqlVerdict::*;
    match op {
        AlterColumnOperation::SetNotNull => (
            Unsafe,
            format!("sets NOT NULL on existing column {t}.{column_name}; old code may write NULLs"),
        ),
        AlterColumnOperation::DropNotNull => (
            Review,
            format!("drops NOT NULL on {t}.{column_name}; old code may not expect NULLs"),
        ),
        AlterColumnOperation::SetDataType { .. } => {
            (Unsafe, format!("changes the type of {t}.{column_name}"))
        }
        AlterColumnOperation::SetDefault { .. } | AlterColumnOperation::DropDefault => (
            Compatible,
            format!("changes the default of {t}.{column_name}"),
        ),
        AlterColumnOperation::AddGenerated { .. } => (
            Review,
            format!("adds a generated identity to {t}.{column_name}"),
        ),
    }
}

/// Constraints added, validated, dropped or renamed on a table the old
/// code knows.
fn constraint(t: &ObjectName, op: &AlterTableOperation) -> (SqlVerdict, String) {
    use AlterTableOperation as Op;
    use SqlVerdict::*;
    match op {
        Op::AddConstraint {
            not_valid: true, ..
        } => (
            Compatible,
            format!("adds a NOT VALID constraint on {t}; existing rows are not checked"),
        ),
        Op::AddConstraint { .. } => (
            Review,
            format!("adds a validated constraint on {t}; old code may write rows it rejects"),
        ),
        Op::ValidateConstraint { name: n } => (Review, format!("validates constraint {n} on {t}")),
        // A CHECK only loosens; a UNIQUE (or a constraint of unknown kind)
        // may be what old `ON CONFLICT` code relies on. Only the name tells.
        Op::DropConstraint { name: n, .. }
            if ["chk", "check"]
                .iter()
                .any(|k| n.value.to_ascii_lowercase().contains(k)) =>
        {
            (
                Compatible,
                format!("drops constraint {n} on {t} (a CHECK by its name); it only loosens"),
            )
        }
        Op::DropConstraint { name: n, .. } => (
            Review,
            format!(
                "drops constraint {n} on {t}: it loosens, but if it is UNIQUE, old code's `ON CONFLICT` on it fails"
            ),
        ),
        Op::RenameConstraint { old_name, new_name } => (
            Compatible,
            format!(
                "renames constraint {old_name} to {new_name} on {t}; the old code does not name it (unless in ON CONFLICT ON CONSTRAINT)"
            ),
        ),
        other => (
            Review,
            format!("ALTER TABLE {t} {other}: not an operation rbtui knows how to judge"),
        ),
    }
}

/// ALTER TABLE: each operation judged, the worst kept; what the range adds
/// (columns, NOT NULL ones) is remembered for the statements after it.
pub(super) fn alter_table(
    t: &ObjectName,
    operations: &[AlterTableOperation],
    created: &mut Created,
) -> (SqlVerdict, String) {
    use SqlVerdict::*;
    let table = name(t);
    let is_new = is_created(created, &table);
    let mut worst: (SqlVerdict, String) = (Compatible, format!("alters {t}"));
    for op in operations {
        let key =
            |c: &dyn std::fmt::Display| format!("{table}.{}#not-null", normal(&c.to_string()));
        if let AlterTableOperation::RenameTable { table_name } = op {
            let (sqlparser::ast::RenameTableNameKind::As(n)
            | sqlparser::ast::RenameTableNameKind::To(n)) = table_name;
            created.renamed(name(n));
        }
        // Two-step NOT NULL: added with a default, the default
        // dropped later; old inserts that omit it then fail.
        if let AlterTableOperation::AddColumn { column_def, .. } = op {
            created.insert(format!(
                "{table}.{}#added",
                normal(&column_def.name.to_string())
            ));
            if column_def
                .options
                .iter()
                .any(|o| matches!(o.option, ColumnOption::NotNull))
            {
                created.insert(key(&column_def.name));
            }
        }
        let v = match op {
            AlterTableOperation::AlterColumn {
                column_name,
                op: AlterColumnOperation::DropDefault,
            } if !is_new && created.contains(&key(column_name)) => (
                SqlVerdict::Unsafe,
                format!(
                    "drops the default of NOT NULL column {t}.{column_name} added in this range: old code's inserts omit it and now fail"
                ),
            ),
            AlterTableOperation::AlterColumn {
                column_name,
                op: AlterColumnOperation::DropDefault,
            } if !is_new => (
                SqlVerdict::Review,
                format!(
                    "drops the default of {t}.{column_name}: if it is NOT NULL, old code's inserts that omit it fail"
                ),
            ),
            _ => match added_column(&table, op, created) {
                Some(v) => v,
                None => classify_alter(t, op, is_new),
            },
        };
        if v.0 > worst.0 || worst.1 == format!("alters {t}") {
            worst = v;
        }
    }
    worst
}
