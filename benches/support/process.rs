//! The server process under test, shared by the benches: stopped with SIGTERM when dropped,
//! and its peak memory and CPU time read from /proc.

use std::path::Path;
use std::process::Child;

use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection};

/// A fresh database for one run: a SQLite file in `dir`, or a new database on the PostgreSQL
/// server at `postgres`, dropped when this is.
pub struct BenchDb {
    pub url: String,
    pub backend: &'static str,
    pg: Option<(String, String)>,
}

impl BenchDb {
    pub fn new(postgres: Option<&str>, dir: &Path, tag: &str) -> BenchDb {
        match postgres {
            Some(base) => {
                let name = format!("{tag}_{}", std::process::id());
                let mut admin = PgConnection::establish(base).expect("PostgreSQL reachable");
                admin
                    .batch_execute(&format!("DROP DATABASE IF EXISTS {name}"))
                    .unwrap();
                admin
                    .batch_execute(&format!("CREATE DATABASE {name}"))
                    .unwrap();
                let head = base.rsplit_once('/').unwrap().0;
                BenchDb {
                    url: format!("{head}/{name}"),
                    backend: "postgres",
                    pg: Some((base.to_string(), name)),
                }
            }
            None => BenchDb {
                url: format!("sqlite://{}", dir.join("bench.db").display()),
                backend: "sqlite",
                pg: None,
            },
        }
    }
}

impl Drop for BenchDb {
    fn drop(&mut self) {
        if let Some((base, name)) = &self.pg {
            if let Ok(mut admin) = PgConnection::establish(base) {
                let _ =
                    admin.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
            }
        }
    }
}

pub struct Server {
    pub child: Child,
}

impl Server {
    /// The release binary serving from `dir` with `config` as its hotline.toml.
    pub fn start(dir: &Path, config: &str) -> Server {
        std::fs::write(dir.join("hotline.toml"), config).unwrap();
        let child = std::process::Command::new(env!("CARGO_BIN_EXE_hotline"))
            .current_dir(dir)
            .stderr(std::process::Stdio::inherit())
            .spawn()
            .unwrap();
        Server { child }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let _ = self.child.wait();
    }
}

pub fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
}

/// CPU seconds (user + system) the process has used so far.
pub fn cpu_secs(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}
