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

/// A state the code does not know (a typo in a hand edit, a newer release's value) is an error
/// when read, never taken for a plausible default: the outbox must not send a message whose
/// status it cannot read, nor the queue show a case in a state it does not have.
#[test]
fn an_unknown_state_in_the_database_is_an_error_when_read() {
    use hotline::db::models::{Message, MessageStatus};
    use hotline::db::schema::{contacts, messages};
    let tdb = TestDb::new();
    let mut conn = tdb.db.get().unwrap();
    let t = hotline::db::now();
    diesel::insert_into(contacts::table)
        .values((
            contacts::id.eq("c1"),
            contacts::phone.eq("+8613900000001"),
            contacts::language.eq("zh"),
            contacts::language_chosen.eq(false),
            contacts::opted_out.eq(false),
            contacts::created_at.eq(t),
            contacts::updated_at.eq(t),
        ))
        .execute(&mut conn)
        .unwrap();
    let message = |id: &str, status: &str| {
        (
            messages::id.eq(id.to_string()),
            messages::channel_id.eq("log"),
            messages::direction.eq("out"),
            messages::contact_id.eq("c1"),
            messages::phone.eq("+8613900000001"),
            messages::body.eq("hi"),
            messages::encoding.eq("gsm7"),
            messages::segments.eq(1),
            messages::status.eq(status.to_string()),
            messages::priority.eq(0),
            messages::attempts.eq(0),
            messages::next_attempt_at.eq(t),
            messages::created_at.eq(t),
            messages::updated_at.eq(t),
        )
    };
    diesel::insert_into(messages::table)
        .values(message("m1", "queued"))
        .execute(&mut conn)
        .unwrap();
    let read = |conn: &mut hotline::db::DbConn, id: &str| {
        messages::table
            .find(id)
            .select(Message::as_select())
            .first(conn)
    };
    assert_eq!(read(&mut conn, "m1").unwrap().status, MessageStatus::Queued);
    diesel::insert_into(messages::table)
        .values(message("m2", "queud"))
        .execute(&mut conn)
        .unwrap();
    let err = format!("{:?}", read(&mut conn, "m2").unwrap_err());
    assert!(err.contains("status") && err.contains("queud"), "{err}");
}
