//! The SQLite and PostgreSQL migrations must describe the same schema.

use std::collections::BTreeSet;

use diesel::prelude::*;
use diesel::sql_types::Text;

use crate::support::db::{require_pg, TestDb};

#[derive(QueryableByName)]
struct Row {
    #[diesel(sql_type = Text)]
    item: String,
}

fn items(conn: &mut hotline::db::DbConn, sql: &str) -> BTreeSet<String> {
    hotline::per_backend!(conn, c => diesel::sql_query(sql).load::<Row>(c))
        .unwrap()
        .into_iter()
        .map(|r| r.item)
        .collect()
}

/// Columns as `table.column type nullable`, and index names with their table.
fn describe(tdb: &TestDb) -> (BTreeSet<String>, BTreeSet<String>) {
    let mut conn = tdb.db.get().unwrap();
    if tdb.is_postgres() {
        let cols = items(
            &mut conn,
            "SELECT table_name || '.' || column_name || ' ' || data_type || ' ' || (CASE WHEN is_nullable = 'YES' THEN 'null' ELSE 'not null' END) AS item \
             FROM information_schema.columns WHERE table_schema = 'public' AND table_name <> '__diesel_schema_migrations'",
        );
        let idx = items(
            &mut conn,
            "SELECT tablename || ':' || indexname AS item FROM pg_indexes WHERE schemaname = 'public' \
             AND tablename <> '__diesel_schema_migrations' AND indexname NOT LIKE '%_pkey'",
        );
        let cols = cols
            .into_iter()
            .map(|c| c.replace("timestamp without time zone", "timestamp"))
            .collect();
        (cols, idx)
    } else {
        let cols = items(
            &mut conn,
            "SELECT m.name || '.' || p.name || ' ' || lower(p.type) || ' ' || (CASE WHEN p.\"notnull\" = 1 OR p.pk > 0 THEN 'not null' ELSE 'null' END) AS item \
             FROM sqlite_master m JOIN pragma_table_info(m.name) p \
             WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name <> '__diesel_schema_migrations'",
        );
        let idx = items(
            &mut conn,
            "SELECT tbl_name || ':' || name AS item FROM sqlite_master WHERE type = 'index' \
             AND name NOT LIKE 'sqlite_autoindex_%' AND tbl_name <> '__diesel_schema_migrations'",
        );
        (cols, idx)
    }
}

#[test]
fn sqlite_and_postgres_schemas_match() {
    let Some(pg) = require_pg() else { return };
    let lite = describe(&TestDb::sqlite());
    let post = describe(&TestDb::postgres(&pg));
    assert!(!lite.0.is_empty() && !lite.1.is_empty());
    let only =
        |a: &BTreeSet<String>, b: &BTreeSet<String>| a.difference(b).cloned().collect::<Vec<_>>();
    assert!(
        lite.0 == post.0,
        "columns only in SQLite: {:?}; only in PostgreSQL: {:?}",
        only(&lite.0, &post.0),
        only(&post.0, &lite.0)
    );
    assert!(
        lite.1 == post.1,
        "indexes only in SQLite: {:?}; only in PostgreSQL: {:?}",
        only(&lite.1, &post.1),
        only(&post.1, &lite.1)
    );
}

#[test]
fn migrations_are_idempotent_and_readiness_sees_them() {
    let tdb = TestDb::new();
    assert_eq!(tdb.db.migrate().unwrap(), 0);
    tdb.db.ready().unwrap();
}
