//! The schema gate's classifier: a table of statements across PostgreSQL and
//! MySQL with the expected verdict and reason, and a no-panic sweep.
#![allow(clippy::unwrap_used)] // a failed unwrap in a test is a failed test

use rbtui::core::migration::{
    Created, MigrationDiff, MigrationVerdict, SqlVerdict::*, classify_script, classify_statement,
    split_statements,
};

#[test]
fn statement_table() {
    // (sql, verdict, a fragment of the reason, parsed by the SQL parser)
    let table = [
        // backward-compatible
        (
            "CREATE TABLE promo_codes (code text PRIMARY KEY, percent_off int NOT NULL)",
            Compatible,
            "creates table promo_codes",
            true,
        ),
        (
            "CREATE TABLE `audit_log` (`id` BIGINT AUTO_INCREMENT PRIMARY KEY, `msg` TEXT) ENGINE=InnoDB",
            Compatible,
            "creates table",
            true,
        ),
        (
            "ALTER TABLE orders ADD COLUMN gift_note text",
            Compatible,
            "adds column orders.gift_note",
            true,
        ),
        (
            "ALTER TABLE orders ADD COLUMN total_cents bigint DEFAULT 0",
            Compatible,
            "adds column orders.total_cents",
            true,
        ),
        (
            "ALTER TABLE orders ADD COLUMN status text NOT NULL DEFAULT 'new'",
            Compatible,
            "adds column orders.status",
            true,
        ),
        (
            "ALTER TABLE `orders` ADD COLUMN `gift_wrap` TINYINT(1) NULL AFTER `id`",
            Compatible,
            "adds column",
            true,
        ),
        (
            "ALTER TABLE orders ADD COLUMN IF NOT EXISTS note text",
            Compatible,
            "adds column orders.note",
            true,
        ),
        (
            "CREATE INDEX idx_orders_customer ON orders (customer_id)",
            Compatible,
            "creates index on orders",
            true,
        ),
        (
            "CREATE INDEX CONCURRENTLY idx_cart ON cart_items (cart_id)",
            Compatible,
            "creates index",
            true,
        ),
        (
            "CREATE UNIQUE INDEX ux_users_email ON users (email)",
            Review,
            "creates a UNIQUE index on existing table",
            true,
        ),
        (
            "ALTER TABLE orders ADD CONSTRAINT fk_customer FOREIGN KEY (customer_id) REFERENCES customers (id) NOT VALID",
            Compatible,
            "NOT VALID constraint",
            true,
        ),
        (
            "COMMENT ON COLUMN orders.gift_note IS 'shown on the slip'",
            Compatible,
            "comment only",
            true,
        ),
        (
            "GRANT SELECT ON orders TO reporting",
            Compatible,
            "grants privileges",
            true,
        ),
        (
            "CREATE VIEW v_open_orders AS SELECT * FROM orders WHERE status = 'open'",
            Compatible,
            "creates view v_open_orders",
            true,
        ),
        (
            "CREATE SEQUENCE invoice_seq START 1000",
            Compatible,
            "creates sequence",
            true,
        ),
        (
            "ALTER TABLE orders ALTER COLUMN status SET DEFAULT 'new'",
            Compatible,
            "changes the default of orders.status",
            true,
        ),
        ("DROP INDEX idx_old", Compatible, "drops index", true),
        (
            "ALTER TABLE orders DROP CONSTRAINT chk_total",
            Compatible,
            "drops constraint chk_total",
            true,
        ),
        ("SELECT 1", Compatible, "read-only query", true),
        ("BEGIN", Compatible, "transaction", true),
        (
            "CREATE EXTENSION IF NOT EXISTS pg_trgm",
            Compatible,
            "creates extension",
            true,
        ),
        // UNSAFE
        (
            "ALTER TABLE orders DROP COLUMN legacy_total",
            Unsafe,
            "drops column orders.legacy_total",
            true,
        ),
        (
            "ALTER TABLE `orders` DROP COLUMN `legacy_total`",
            Unsafe,
            "drops column",
            true,
        ),
        (
            "DROP TABLE legacy_orders",
            Unsafe,
            "drops table legacy_orders",
            true,
        ),
        (
            "DROP TABLE IF EXISTS sessions CASCADE",
            Unsafe,
            "drops table sessions",
            true,
        ),
        (
            "ALTER TABLE orders RENAME COLUMN total TO total_cents",
            Unsafe,
            "renames column orders.total to total_cents",
            true,
        ),
        (
            "ALTER TABLE orders RENAME TO purchase_orders",
            Unsafe,
            "renames table orders",
            true,
        ),
        (
            "RENAME TABLE orders TO purchase_orders",
            Unsafe,
            "renames table",
            true,
        ),
        (
            "ALTER TABLE orders ALTER COLUMN total TYPE numeric(14,2)",
            Unsafe,
            "changes the type of orders.total",
            true,
        ),
        (
            "ALTER TABLE orders MODIFY COLUMN total DECIMAL(14,2) NOT NULL",
            Unsafe,
            "changes the type of orders.total",
            true,
        ),
        (
            "ALTER TABLE orders CHANGE COLUMN total total_cents BIGINT",
            Unsafe,
            "changes column orders.total",
            true,
        ),
        (
            "ALTER TABLE orders ALTER COLUMN customer_id SET NOT NULL",
            Unsafe,
            "sets NOT NULL on existing column orders.customer_id",
            true,
        ),
        (
            "ALTER TABLE orders ADD COLUMN region text NOT NULL",
            Unsafe,
            "adds NOT NULL column orders.region without a default",
            true,
        ),
        (
            "DROP VIEW v_open_orders",
            Unsafe,
            "drops view v_open_orders",
            true,
        ),
        (
            "CREATE OR REPLACE VIEW v_open_orders AS SELECT id FROM orders",
            Unsafe,
            "replaces view",
            true,
        ),
        (
            "CREATE OR REPLACE FUNCTION total(o orders) RETURNS numeric AS $$ SELECT o.total $$ LANGUAGE sql",
            Unsafe,
            "replaces function",
            true,
        ),
        (
            "DROP FUNCTION order_total(bigint)",
            Unsafe,
            "drops function order_total",
            true,
        ),
        ("TRUNCATE TABLE carts", Unsafe, "truncates carts", true),
        (
            "DELETE FROM orders WHERE created_at < '2020-01-01'",
            Unsafe,
            "deletes existing rows",
            true,
        ),
        (
            "UPDATE orders SET status = 'archived' WHERE status = 'old'",
            Unsafe,
            "updates existing rows of orders",
            true,
        ),
        (
            "REVOKE SELECT ON orders FROM app",
            Unsafe,
            "revokes privileges",
            true,
        ),
        (
            "DROP SCHEMA billing CASCADE",
            Unsafe,
            "drops SCHEMA billing",
            true,
        ),
        // needs review
        (
            "INSERT INTO settings (k, v) VALUES ('flag', 'on')",
            Review,
            "inserts rows into existing table settings",
            true,
        ),
        (
            "ALTER TABLE orders ADD CONSTRAINT chk_total CHECK (total >= 0)",
            Review,
            "validated constraint",
            true,
        ),
        (
            "ALTER TABLE orders ALTER COLUMN note DROP NOT NULL",
            Review,
            "drops NOT NULL on orders.note",
            true,
        ),
        (
            "DO $$ BEGIN PERFORM 1; END $$",
            Review,
            "procedural block",
            false,
        ),
        (
            "this is not sql at all",
            Review,
            "unrecognised statement",
            false,
        ),
        (
            "ALTER TABLE orders DROP COLUMN IF EXISTS legacy_total, ADD COLUMN x int, FROBNICATE",
            Unsafe,
            "drops a column",
            false,
        ),
    ];
    assert!(table.len() >= 40);
    let mut failures = Vec::new();
    for (sql, verdict, reason, parsed) in table {
        let (v, r, p) = classify_statement(sql, &mut Created::default());
        if v != verdict || !r.contains(reason) || p != parsed {
            failures.push(format!("{sql}\n   got {v:?} {r:?} parsed={p}\n  want {verdict:?} {reason:?} parsed={parsed}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} wrong:\n{}",
        failures.len(),
        table.len(),
        failures.join("\n")
    );
}

#[test]
fn tables_created_in_the_range_are_safe_to_write_and_alter() {
    let mut created = Created::default();
    let s = classify_script(
        "CREATE TABLE promo (code text);\nINSERT INTO promo VALUES ('X');\nALTER TABLE promo ADD COLUMN pct int NOT NULL;",
        &mut created,
    );
    assert!(s.iter().all(|s| s.verdict == Compatible), "{s:?}");
    assert_eq!(s.iter().map(|s| s.line).collect::<Vec<_>>(), vec![1, 2, 3]);
}

#[test]
fn splitting_respects_quotes_comments_and_dollar_bodies() {
    let sql = "-- a; comment\nCREATE FUNCTION f() RETURNS int AS $body$ SELECT 1; SELECT 2; $body$ LANGUAGE sql;\n\nINSERT INTO t VALUES ('a;b');\n/* x; y */ SELECT 1";
    let parts = split_statements(sql);
    assert_eq!(parts.len(), 3, "{parts:?}");
    assert_eq!(parts[0].0, 2);
    assert_eq!(parts[1].0, 4);
    assert!(parts[1].1.contains("'a;b'"));
}

#[test]
fn the_runbook_examples_give_the_runbook_answers() {
    let add = MigrationDiff::classify(
        "t",
        "b",
        "a",
        vec![(
            "V1__add.sql".into(),
            rbtui::core::migration::FileChange::Added,
            "ALTER TABLE orders ADD COLUMN gift_note text;".into(),
        )],
    );
    assert_eq!(add.verdict, MigrationVerdict::Found(Compatible));
    let drop = MigrationDiff::classify(
        "t",
        "b",
        "a",
        vec![(
            "V2__drop.sql".into(),
            rbtui::core::migration::FileChange::Added,
            "ALTER TABLE orders DROP COLUMN legacy_total;".into(),
        )],
    );
    assert_eq!(drop.verdict, MigrationVerdict::Found(Unsafe));
    let none = MigrationDiff::classify("t", "b", "a", vec![]);
    assert_eq!(none.verdict, MigrationVerdict::NoMigrations);
    let down = MigrationDiff::classify(
        "t",
        "b",
        "a",
        vec![(
            "0002_x.down.sql".into(),
            rbtui::core::migration::FileChange::Added,
            "DROP TABLE x;".into(),
        )],
    );
    assert_eq!(
        down.verdict,
        MigrationVerdict::NoMigrations,
        "down migrations are listed, not judged as applied"
    );
    assert!(down.files[0].is_down);
}

/// Fragments of real statements, glued, cut and mangled at any position,
/// plus control and multibyte characters.
const PIECES: &[&str] = &[
    "ALTER TABLE ",
    "orders ",
    "DROP COLUMN ",
    "ADD COLUMN x int ",
    "NOT NULL ",
    "DEFAULT 0",
    ";",
    "'",
    "\"",
    "`",
    "$$",
    "$a$",
    "--",
    "/*",
    "*/",
    "(",
    ")",
    ",",
    "CREATE ",
    "INDEX ",
    "ON ",
    "é",
    "💥",
    "\0",
    "\n",
    "RENAME ",
    "TO ",
    "SET ",
    "TYPE ",
    "DO ",
    "BEGIN ",
    "END",
    "INSERT INTO t VALUES (",
    "1",
    "NULL",
    "\\",
    "$",
    "E'\\''",
    "::",
    "[",
    "]",
];

proptest::proptest! {
    #![proptest_config(proptest::test_runner::Config::with_cases(3000))]

    #[test]
    fn no_input_makes_the_classifier_panic(
        parts in proptest::collection::vec(proptest::sample::select(PIECES), 0..12),
        cut in proptest::prelude::any::<proptest::sample::Index>(),
    ) {
        let s = parts.concat();
        let cut = cut.index(s.len() + 1);
        let cut = (0..=cut).rev().find(|&i| s.is_char_boundary(i)).unwrap_or(0);
        for text in [s.as_str(), &s[..cut]] {
            classify_script(text, &mut Created::default());
        }
    }
}

fn verdict_of(files: &[(&str, &str)]) -> (MigrationVerdict, Vec<String>) {
    let d = MigrationDiff::classify(
        "t",
        "b",
        "a",
        files
            .iter()
            .map(|(p, sql)| {
                (
                    p.to_string(),
                    rbtui::core::migration::FileChange::Added,
                    sql.to_string(),
                )
            })
            .collect(),
    );
    let reasons = d
        .files
        .iter()
        .flat_map(|f| f.statements.iter().map(|s| s.reason.clone()))
        .collect();
    (d.verdict, reasons)
}

#[test]
fn two_step_not_null_is_unsafe() {
    let (v, r) = verdict_of(&[
        (
            "V1__add.sql",
            "ALTER TABLE orders ADD COLUMN kind text NOT NULL DEFAULT 'x';",
        ),
        (
            "V2__drop_default.sql",
            "ALTER TABLE orders ALTER COLUMN kind DROP DEFAULT;",
        ),
    ]);
    assert_eq!(v, MigrationVerdict::Found(Unsafe), "{r:?}");
    assert!(
        r.iter()
            .any(|r| r.contains("drops the default of NOT NULL column")),
        "{r:?}"
    );
    // On a table created in the same range it cannot hurt the old code.
    let (v, _) = verdict_of(&[
        ("V1__t.sql", "CREATE TABLE fresh (id int);"),
        (
            "V2__add.sql",
            "ALTER TABLE fresh ADD COLUMN kind text NOT NULL DEFAULT 'x';",
        ),
        (
            "V3__drop_default.sql",
            "ALTER TABLE fresh ALTER COLUMN kind DROP DEFAULT;",
        ),
    ]);
    assert_eq!(v, MigrationVerdict::Found(Compatible));
}

#[test]
fn a_unique_index_on_an_existing_table_is_reviewed() {
    let (v, r) = verdict_of(&[(
        "V1__u.sql",
        "CREATE UNIQUE INDEX person_uid ON person (LOWER(uid));",
    )]);
    assert_eq!(v, MigrationVerdict::Found(Review), "{r:?}");
    assert!(r[0].contains("UNIQUE index on existing table"), "{r:?}");
    let (v, _) = verdict_of(&[("V1__i.sql", "CREATE INDEX person_name ON person (name);")]);
    assert_eq!(v, MigrationVerdict::Found(Compatible));
}

#[test]
fn quoted_and_schema_qualified_names_match_what_the_range_created() {
    let (v, r) = verdict_of(&[
        ("V1__t.sql", "CREATE TABLE storage.prefixes (id int);"),
        (
            "V2__alter.sql",
            "ALTER TABLE \"storage\".\"prefixes\" DROP COLUMN id;",
        ),
    ]);
    assert_eq!(v, MigrationVerdict::Found(Compatible), "{r:?}");
}

#[test]
fn dbmate_down_sections_are_not_applied() {
    let (v, r) = verdict_of(&[(
        "db/migrations/20240101_add.sql",
        "-- migrate:up\nALTER TABLE orders ADD COLUMN note text;\n\n-- migrate:down\nALTER TABLE orders DROP COLUMN note;\n",
    )]);
    assert_eq!(v, MigrationVerdict::Found(Compatible), "{r:?}");
}

#[test]
fn statements_inside_a_do_block_are_read_and_the_worst_decides() {
    let (v, r) = verdict_of(&[(
        "V9__cleanup.sql",
        "DO $$\nBEGIN\n  IF EXISTS (SELECT 1 FROM information_schema.columns WHERE column_name = 'legacy') THEN\n    ALTER TABLE orders DROP COLUMN legacy;\n  END IF;\nEND\n$$;",
    )]);
    assert_eq!(v, MigrationVerdict::Found(Unsafe), "{r:?}");
    assert!(
        r[0].starts_with("inside DO block: drops column orders.legacy"),
        "{r:?}"
    );
    let (v, r) = verdict_of(&[(
        "V10__grants.sql",
        "DO $body$ BEGIN RAISE NOTICE 'hi'; END $body$;",
    )]);
    assert_eq!(
        v,
        MigrationVerdict::Found(Review),
        "never silently ok: {r:?}"
    );
}

#[test]
fn what_the_range_itself_created_may_change_and_a_dropped_constraint_is_reviewed() {
    // A function created and then replaced in the same range.
    let (v, r) = verdict_of(&[
        (
            "V1__f.sql",
            "CREATE FUNCTION touch() RETURNS trigger AS $$ BEGIN RETURN NEW; END $$ LANGUAGE plpgsql;",
        ),
        (
            "V2__f.sql",
            "CREATE OR REPLACE FUNCTION touch() RETURNS trigger AS $$ BEGIN NEW.at = now(); RETURN NEW; END $$ LANGUAGE plpgsql;",
        ),
    ]);
    assert_eq!(v, MigrationVerdict::Found(Compatible), "{r:?}");
    // A table created and dropped in the same range.
    let (v, r) = verdict_of(&[
        ("V1__t.sql", "CREATE TABLE scratch (id int);"),
        ("V2__t.sql", "DROP TABLE scratch;"),
    ]);
    assert_eq!(v, MigrationVerdict::Found(Compatible), "{r:?}");
    // An existing table dropped stays UNSAFE.
    let (v, _) = verdict_of(&[("V1__t.sql", "DROP TABLE orders;")]);
    assert_eq!(v, MigrationVerdict::Found(Unsafe));
    // A dropped constraint may be the UNIQUE one old ON CONFLICT code needs.
    let (v, r) = verdict_of(&[(
        "V1__c.sql",
        "ALTER TABLE person DROP CONSTRAINT person_email_key;",
    )]);
    assert_eq!(v, MigrationVerdict::Found(Review), "{r:?}");
    assert!(r[0].contains("ON CONFLICT"), "{r:?}");
    // A trigger firing on TRUNCATE is not a TRUNCATE.
    let (v, r) = verdict_of(&[(
        "V1__trg.sql",
        "CREATE TRIGGER prefixes_delete AFTER DELETE OR TRUNCATE ON storage.objects FOR EACH STATEMENT EXECUTE FUNCTION storage.delete_prefixes();",
    )]);
    assert_eq!(v, MigrationVerdict::Found(Review), "{r:?}");
    assert!(!r[0].contains("truncates"), "{r:?}");
}

#[test]
fn backfilling_a_column_the_range_added_is_ok_and_other_updates_are_not() {
    let (v, r) = verdict_of(&[
        ("V1__add.sql", "ALTER TABLE orders ADD COLUMN region text;"),
        (
            "V2__fill.sql",
            "UPDATE orders SET region = 'eu' WHERE region IS NULL;",
        ),
    ]);
    assert_eq!(v, MigrationVerdict::Found(Compatible), "{r:?}");
    assert!(r[1].contains("added in this range"), "{r:?}");
    let (v, _) = verdict_of(&[
        ("V1__add.sql", "ALTER TABLE orders ADD COLUMN region text;"),
        (
            "V2__fill.sql",
            "UPDATE orders SET region = 'eu', total = 0;",
        ),
    ]);
    assert_eq!(
        v,
        MigrationVerdict::Found(Unsafe),
        "an old column changed too"
    );
}
