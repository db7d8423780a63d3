//! A database of its own for each test: a temporary SQLite file, or a PostgreSQL database
//! cloned from a migrated template when TEST_DATABASE_URL names a server (dropped when the
//! test ends).

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection, RunQueryDsl};
use diesel_migrations::MigrationHarness;
use hotline::db::Db;
use sha2::{Digest, Sha256};

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
        Err(e) if pg_base().is_some() => {
            panic!("PostgreSQL at {url} is required and unreachable: {e}")
        }
        Err(e) => {
            eprintln!("PostgreSQL at {url}: {e}");
            super::skips::skip(
                "PostgreSQL on 127.0.0.1:5432",
                "apt-get install postgresql, trust authentication for 127.0.0.1",
            );
            None
        }
    }
}

fn replace_db_name(url: &str, name: &str) -> String {
    let mut u = url::Url::parse(url).expect("a postgres:// URL");
    u.set_path(name);
    u.into()
}

fn admin(base: &str) -> PgConnection {
    PgConnection::establish(base).unwrap_or_else(|e| {
        panic!("PostgreSQL at {base} is required for this run and unreachable: {e}")
    })
}

/// The migrated template on `base`, made once per migration set: named after a hash of the
/// migration files, so a changed migration gets a new one. Test processes running at once
/// build it under an advisory lock; the first builds, the others find it. Building happens
/// under another name, renamed when complete, so an interrupted build is never cloned.
fn template(base: &str) -> &'static str {
    static TEMPLATE: OnceLock<String> = OnceLock::new();
    TEMPLATE.get_or_init(|| {
        let name = format!("hotline_tpl_{}", migrations_hash());
        let mut admin = admin(base);
        admin
            .batch_execute("SELECT pg_advisory_lock(727275)")
            .unwrap();
        #[derive(diesel::QueryableByName)]
        struct Count {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        let exists = diesel::sql_query("SELECT count(*) AS n FROM pg_database WHERE datname = $1")
            .bind::<diesel::sql_types::Text, _>(&name)
            .get_result::<Count>(&mut admin)
            .unwrap()
            .n
            > 0;
        if !exists {
            let building = format!("{name}_building");
            for sql in [
                format!("DROP DATABASE IF EXISTS {building} WITH (FORCE)"),
                format!("CREATE DATABASE {building}"),
            ] {
                admin.batch_execute(&sql).unwrap();
            }
            // A plain connection, closed before the rename: PostgreSQL clones or renames
            // a database only while nobody is connected to it.
            let mut tpl = PgConnection::establish(&replace_db_name(base, &building)).unwrap();
            tpl.run_pending_migrations(hotline::db::POSTGRES_MIGRATIONS)
                .unwrap();
            drop(tpl);
            retry_while_in_use(|| {
                admin.batch_execute(&format!("ALTER DATABASE {building} RENAME TO {name}"))
            });
        }
        admin
            .batch_execute("SELECT pg_advisory_unlock(727275)")
            .unwrap();
        name
    })
}

/// Runs `f` again while PostgreSQL says the database is in use: a server process may outlive
/// its client's disconnect by a moment, and two tests may clone the template at once.
fn retry_while_in_use(mut f: impl FnMut() -> diesel::QueryResult<()>) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        match f() {
            Err(e) if e.to_string().contains("is being accessed by other users") => {
                assert!(Instant::now() < deadline, "{e}");
                std::thread::sleep(Duration::from_millis(50));
            }
            r => return r.unwrap(),
        }
    }
}

/// The first 16 hex digits of SHA-256 over the PostgreSQL migration files, names and contents.
fn migrations_hash() -> String {
    fn walk(dir: &std::path::Path, h: &mut Sha256) {
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        entries.sort();
        for p in entries {
            if p.is_dir() {
                walk(&p, h);
            } else {
                h.update(p.file_name().unwrap().as_encoded_bytes());
                h.update(std::fs::read(&p).unwrap());
            }
        }
    }
    let mut h = Sha256::new();
    walk(
        std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/postgres")),
        &mut h,
    );
    h.finalize()[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
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
        let template = template(base);
        let name = format!("hotline_test_{}", uuid::Uuid::new_v4().simple());
        let mut admin = admin(base);
        retry_while_in_use(|| {
            admin.batch_execute(&format!("CREATE DATABASE {name} TEMPLATE {template}"))
        });
        let url = replace_db_name(base, &name);
        let db = Db::connect(&url, 4).unwrap();
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
