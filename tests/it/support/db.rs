//! A database of its own for each test: a temporary SQLite file, or a fresh PostgreSQL
//! database when TEST_DATABASE_URL names a server (dropped when the test ends).

use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection};
use hotline::db::Db;

pub const DEFAULT_PG: &str = "postgres://postgres@127.0.0.1:5432/test";

pub struct TestDb {
    pub url: String,
    pub db: Db,
    _dir: Option<tempfile::TempDir>,
    pg: Option<(String, String)>,
}

/// The PostgreSQL server tests run against, if this run uses one.
pub fn pg_base() -> Option<String> {
    std::env::var("TEST_DATABASE_URL")
        .ok()
        .filter(|u| u.starts_with("postgres"))
}

/// A PostgreSQL server for the tests that always need one (schema drift). Unreachable: the
/// test fails in CI or when TEST_DATABASE_URL asks for Postgres, and is skipped otherwise.
pub fn require_pg() -> Option<String> {
    let url = pg_base().unwrap_or_else(|| DEFAULT_PG.to_string());
    match PgConnection::establish(&url) {
        Ok(_) => Some(url),
        Err(e) if std::env::var_os("CI").is_some() || pg_base().is_some() => {
            panic!("PostgreSQL at {url} is required and unreachable: {e}")
        }
        Err(e) => {
            eprintln!("SKIPPED: PostgreSQL at {url} unreachable ({e}); CI runs this test");
            None
        }
    }
}

fn replace_db_name(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let head = base.rsplit_once('/').map(|(h, _)| h).unwrap_or(base);
    match query {
        Some(q) => format!("{head}/{name}?{q}"),
        None => format!("{head}/{name}"),
    }
}

impl TestDb {
    pub fn new() -> TestDb {
        match pg_base() {
            Some(base) => TestDb::postgres(&base),
            None => TestDb::sqlite(),
        }
    }

    pub fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("test.db").display());
        let db = Db::connect(&url, 4).unwrap();
        db.migrate().unwrap();
        TestDb {
            url,
            db,
            _dir: Some(dir),
            pg: None,
        }
    }

    pub fn postgres(base: &str) -> TestDb {
        let name = format!("hotline_test_{}", uuid::Uuid::new_v4().simple());
        let mut admin = PgConnection::establish(base).unwrap_or_else(|e| {
            panic!("PostgreSQL at {base} is required for this run and unreachable: {e}")
        });
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .unwrap();
        let url = replace_db_name(base, &name);
        let db = Db::connect(&url, 4).unwrap();
        db.migrate().unwrap();
        TestDb {
            url,
            db,
            _dir: None,
            pg: Some((base.to_string(), name)),
        }
    }

    pub fn is_postgres(&self) -> bool {
        self.pg.is_some()
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some((base, name)) = &self.pg {
            if let Ok(mut admin) = PgConnection::establish(base) {
                let _ =
                    admin.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
            }
        }
    }
}
