//! Headless Chromium for end-to-end tests: starts Debian's `chromedriver` and a Chromium
//! session, and hands back a `fantoccini` client (this derefs to it) for the WebDriver calls.
//! Browser tests are plain `#[test]`s that drive the browser inside [`run`].
//!
//! ```ignore
//! browser::run(async {
//!     let b = Browser::start(1280, 900).await;
//!     b.goto(&format!("http://127.0.0.1:{port}/console/login")).await.unwrap();
//!     b.find(Locator::Css("#username")).await.unwrap().send_keys("tashi").await.unwrap();
//!     b.wait_for_text("#queue tbody tr", "北环路", Duration::from_secs(10)).await;
//! });
//! ```
//!
//! NOTES (Debian 12, packages `chromium`, `chromium-driver`; CI installs them and the fonts):
//! - Flags that work as root on a machine without a network: [`CHROMIUM_ARGS`], plus a fresh
//!   `--user-data-dir`. chromedriver exits at once when its `--port` is taken: start()
//!   retries with another port.
//! - `/usr/bin/chromium` is a shell wrapper (sources /etc/chromium.d, prints noise); we hand
//!   chromedriver the real binary `/usr/lib/chromium/chromium` when it exists. Override with
//!   `CHROMIUM_BIN` / `CHROMEDRIVER_BIN`.
//! - Viewport: plain `--window-size` loses 143 px to a phantom toolbar and is never narrower
//!   than 500 px, so chromedriver's `mobileEmulation.deviceMetrics` sets it: viewport and
//!   screenshots are exactly WxH; below 768 px wide it is a phone (meta viewport, touch).
//! - Finding an element waits up to 10 s for it (WebDriver's implicit wait).
//! - Processes: chromedriver leads its own process group, which Chromium's processes inherit;
//!   Drop SIGKILLs the group. If the test process dies without unwinding, a small `sh`
//!   watchdog does it within ~0.7 s. Chromium's singleton socket and chromedriver's scoped
//!   dirs go to a TMPDIR inside our temp dir, removed with it.
//! - Fonts: Debian's chromium brings Latin fonts only. Tibetan needs `fonts-tibetan-machine`
//!   (or `fonts-noto-core`), Chinese `fonts-wqy-microhei`. Text comparisons pass without them;
//!   only screenshots (and browser_harness in CI) need them.

#![allow(dead_code)]

use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

/// What to tell people whose machine lacks Chromium.
pub const INSTALL_HINT: &str = "apt-get install chromium chromium-driver";

/// The flags Chromium needs here (root, closed network, no GPU, no display).
pub const CHROMIUM_ARGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
];

fn env_path(var: &str) -> Option<PathBuf> {
    std::env::var_os(var)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

pub fn chromedriver_bin() -> PathBuf {
    env_path("CHROMEDRIVER_BIN").unwrap_or_else(|| "/usr/bin/chromedriver".into())
}

pub fn chromium_bin() -> PathBuf {
    env_path("CHROMIUM_BIN").unwrap_or_else(|| {
        let real = Path::new("/usr/lib/chromium/chromium");
        if real.is_file() {
            real.into()
        } else {
            "/usr/bin/chromium".into()
        }
    })
}

/// True when both chromedriver and Chromium are installed.
pub fn browser_available() -> bool {
    chromedriver_bin().is_file() && chromium_bin().is_file()
}

/// True when a browser test should run: false (with `SKIPPED` on stderr) without Chromium,
/// unless `CI` is set, where its absence fails the test.
pub fn browser_or_skip(test: &str) -> bool {
    if browser_available() {
        return true;
    }
    let _ = test;
    super::skips::skip("Chromium", INSTALL_HINT);
    false
}

/// Runs a browser test's async part on its own runtime.
pub fn run<T>(test: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(test)
}

/// Kills the process group if the test process vanishes without running Drop.
const WATCHDOG_SH: &str = r#"
parent="$1"; pgid="$2"
while [ -d "/proc/$parent" ] && ! grep -q '^State:[[:space:]]*Z' "/proc/$parent/status" 2>/dev/null; do
  sleep 0.5
done
kill -9 "-$pgid" 2>/dev/null
"#;

/// One chromedriver with one Chromium session.
pub struct Browser {
    client: Client,
    driver: Driver,
}

/// The chromedriver process group (Chromium included), killed when dropped.
struct Driver {
    child: Child,
    watchdog: Child,
    dir: tempfile::TempDir,
}

impl Deref for Browser {
    type Target = Client;
    fn deref(&self) -> &Client {
        &self.client
    }
}

impl Browser {
    /// A browser whose viewport (and screenshots) are exactly `width`x`height` CSS pixels;
    /// below 768 px wide a phone. Panics when it does not start.
    pub async fn start(width: u32, height: u32) -> Browser {
        let mut last = String::new();
        // the port may be taken between probing and chromedriver's bind: retry
        for _ in 0..3 {
            match Browser::spawn(width, height).await {
                Ok(b) => return b,
                Err(e) => last = e,
            }
        }
        panic!("browser did not start: {last}");
    }

    async fn spawn(width: u32, height: u32) -> Result<Browser, String> {
        use std::os::unix::process::CommandExt;
        let dir = tempfile::Builder::new()
            .prefix("hotline-browser-")
            .tempdir()
            .map_err(|e| e.to_string())?;
        std::fs::create_dir(dir.path().join("tmp")).map_err(|e| e.to_string())?;
        let log = std::fs::File::create(dir.path().join("chromedriver.log"))
            .map_err(|e| e.to_string())?;
        let port = super::process::free_port();
        let child = Command::new(chromedriver_bin())
            .arg(format!("--port={port}"))
            .env("TMPDIR", dir.path().join("tmp"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().map_err(|e| e.to_string())?)
            .stderr(log)
            .process_group(0)
            .spawn()
            .map_err(|e| format!("{}: {e}", chromedriver_bin().display()))?;
        let watchdog = Command::new("/bin/sh")
            .args(["-c", WATCHDOG_SH, "browser-watchdog"])
            .arg(std::process::id().to_string())
            .arg(child.id().to_string())
            .stdin(Stdio::null())
            .process_group(0)
            .spawn()
            .map_err(|e| e.to_string())?;
        let mut args: Vec<String> = CHROMIUM_ARGS.iter().map(|s| s.to_string()).collect();
        args.push(format!(
            "--user-data-dir={}",
            dir.path().join("profile").display()
        ));
        args.push(format!("--window-size={width},{height}"));
        let caps = json!({
            "browserName": "chrome",
            "timeouts": {"implicit": 10000, "pageLoad": 30000, "script": 30000},
            "goog:chromeOptions": {
                "binary": chromium_bin(),
                "args": args,
                "mobileEmulation": {"deviceMetrics": {
                    "width": width, "height": height, "pixelRatio": 1,
                    "mobile": width < 768, "touch": width < 768,
                }},
            },
        });
        let caps = caps.as_object().unwrap().clone();
        let mut driver = Driver {
            child,
            watchdog,
            dir,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let connector = hyper_util::client::legacy::connect::HttpConnector::new();
            let r = ClientBuilder::new(connector)
                .capabilities(caps.clone())
                .connect(&format!("http://127.0.0.1:{port}"))
                .await;
            match r {
                Ok(client) => return Ok(Browser { client, driver }),
                Err(e) => {
                    if let Ok(Some(st)) = driver.child.try_wait() {
                        let log = driver.log_tail();
                        return Err(format!("chromedriver exited ({st}): {log}"));
                    }
                    if Instant::now() > deadline {
                        return Err(format!("no session: {e}\n{}", driver.log_tail()));
                    }
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
        }
    }

    /// Waits until some element matching `css` has a text containing `text`; panics with
    /// what it saw after `timeout`.
    pub async fn wait_for_text(&self, css: &str, text: &str, timeout: Duration) -> Element {
        let deadline = Instant::now() + timeout;
        loop {
            let mut seen = Vec::new();
            for el in self.find_all(Locator::Css(css)).await.unwrap() {
                match el.text().await {
                    Ok(t) if t.contains(text) => return el,
                    Ok(t) => seen.push(t),
                    Err(_) => {} // stale: the page changed under us
                }
            }
            if Instant::now() >= deadline {
                let url = self.current_url().await.map(String::from);
                panic!("no {css:?} with text {text:?} after {timeout:?}; seen: {seen:?}; {url:?}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Screenshot of the viewport as PNG, written to `path`; returns the bytes.
    pub async fn screenshot_png(&self, path: impl AsRef<Path>) -> Vec<u8> {
        let png = self.screenshot().await.unwrap();
        std::fs::write(path.as_ref(), &png).unwrap();
        png
    }
}

impl Driver {
    fn log_tail(&self) -> String {
        let log =
            std::fs::read_to_string(self.dir.path().join("chromedriver.log")).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(15)..].join("\n")
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("---- chromedriver log tail ----\n{}", self.log_tail());
        }
        // SIGKILL chromedriver's group, Chromium's processes included (a graceful quit
        // takes 200-500 ms).
        unsafe { libc::kill(-(self.child.id() as i32), libc::SIGKILL) };
        let _ = self.child.wait();
        let _ = self.watchdog.kill();
        let _ = self.watchdog.wait();
    }
}
