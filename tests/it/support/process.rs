//! The `hotline` binary as a child process, for tests that need the real server: signals,
//! crashes, and gateways that call it over HTTP.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub fn hotline_command() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_hotline"));
    // only what the test sets
    for (k, _) in std::env::vars() {
        if k.starts_with("HOTLINE_") {
            c.env_remove(k);
        }
    }
    c
}

/// `hotline ARGS` in `dir` over the database at `database_url`, to its end: whether it
/// succeeded, what it printed, what it said on standard error.
pub fn run_hotline(dir: &Path, database_url: &str, args: &[&str]) -> (bool, String, String) {
    let out = hotline_command()
        .args(args)
        .current_dir(dir)
        .env("HOTLINE_DATABASE_URL", database_url)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

pub use super::ports::free_port;

/// A blocking GET: (status, body).
pub fn http_get(url: &str) -> reqwest::Result<(u16, String)> {
    let r = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(5))
        .no_proxy()
        .build()?
        .get(url)
        .send()?;
    Ok((r.status().as_u16(), r.text()?))
}

/// A running `hotline serve` with its config file and log in a temporary folder.
pub struct Hotline {
    pub child: Child,
    pub port: u16,
    pub dir: PathBuf,
}

impl Hotline {
    /// Writes `config` (TOML, without `listen`) to `dir/hotline.toml` and serves on `port`.
    pub fn start(dir: &Path, port: u16, config: &str) -> Hotline {
        std::fs::write(
            dir.join("hotline.toml"),
            format!("listen = \"127.0.0.1:{port}\"\n{config}"),
        )
        .unwrap();
        Hotline::spawn(dir, port)
    }

    /// Starts again on the same port with the same config.
    pub fn restart(dir: &Path, port: u16) -> Hotline {
        Hotline::spawn(dir, port)
    }

    fn spawn(dir: &Path, port: u16) -> Hotline {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join("hotline.log"))
            .unwrap();
        let child = hotline_command()
            .current_dir(dir)
            .env("HOTLINE_LOG", "info,hotline=debug")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        let h = Hotline {
            child,
            port,
            dir: dir.to_path_buf(),
        };
        h.wait_ready(30);
        h
    }

    pub fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn wait_ready(&self, secs: u64) {
        let deadline = Instant::now() + Duration::from_secs(secs);
        while Instant::now() < deadline {
            if matches!(http_get(&format!("{}/readyz", self.base())), Ok((200, _))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("hotline did not become ready:\n{}", self.log());
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("hotline.log")).unwrap_or_default()
    }

    pub fn sigkill(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    /// SIGTERM, then the exit status (panics after `secs`).
    pub fn sigterm(&mut self, secs: u64) -> std::process::ExitStatus {
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                return s;
            }
            assert!(
                Instant::now() < deadline,
                "still running {secs}s after SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Hotline {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        if std::thread::panicking() {
            eprintln!("--- hotline log ---\n{}", self.log());
        }
    }
}
