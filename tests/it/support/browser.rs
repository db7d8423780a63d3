//! A small W3C WebDriver client for end-to-end tests against a real headless
//! Chromium, driven through Debian's `chromedriver`. HTTP/1.1 + JSON over
//! 127.0.0.1 only; std + `serde_json` + `base64` (all hotline dependencies).
//!
//! ```ignore
//! let b = Browser::start()?;                  // or Browser::start_with_size(390, 844)
//! b.goto(&format!("http://127.0.0.1:{port}/login"))?;
//! b.find("#username")?.send_keys("检查员")?;
//! b.find("button[type=submit]")?.click()?;
//! b.wait_for_text("#cases", "Q123459", Duration::from_secs(5))?;
//! let cookies = b.cookies()?;                 // (name, value, httpOnly, sameSite)
//! b.screenshot_png(&path)?;
//! // dropping `b` kills chromedriver and Chromium, also when the test panics
//! ```
//!
//! NOTES (measured 2026-11 on Debian 12, 2 cores, as root, packages `chromium` and
//! `chromium-driver` 156.0.8078.108 from bookworm-security; CI must
//! `apt-get install chromium chromium-driver`, plus fonts, see below):
//!
//! - Flags that work as root on a machine without a network (CHROMIUM_ARGS):
//!   `--headless --no-sandbox --disable-gpu --disable-dev-shm-usage --disable-quic
//!   --no-first-run --disable-background-networking --disable-component-update
//!   --disable-sync`, plus `--user-data-dir=<fresh dir> --window-size=W,H`.
//!   chromedriver adds its own (`--remote-debugging-port=0`, `--enable-logging
//!   --log-level=0`, `--disable-popup-blocking`, ...). It runs as
//!   `chromedriver --port=N`; if N is taken it prints "IPv4 port not available.
//!   Exiting..." and exits at once, so start() retries with another port.
//! - Timings (idle machine / machine busy compiling): chromedriver `/status` ready
//!   in ~20 ms; new session (Chromium up) 0.55-1.0 s / up to 2.2 s; commands
//!   2-70 ms each, first `goto` ~0.1-0.6 s; Drop 20-350 ms (mostly deleting the
//!   ~2 MB, ~200-file profile). browser_harness_login_flow takes 3-5 s, both
//!   browser_harness tests 4-6 s (2 browsers at once); two test processes in
//!   parallel (4 browsers on 2 cores) 7-11 s.
//! - Binary: `/usr/bin/chromium` is a shell wrapper that sources /etc/chromium.d/*
//!   (adds `--enable-gpu-rasterization --disable-pings --media-router=0`, ...) and
//!   on this machine prints `/usr/bin/chromium: 9: [: NNN: unexpected operator`
//!   (its /dev/shm check breaks when `findmnt` prints two lines), then execs
//!   `/usr/lib/chromium/chromium`. We pass that real binary to chromedriver when it
//!   exists (same speed, no wrapper noise, no /etc config), else /usr/bin/chromium.
//!   Override with env `CHROMIUM_BIN` / `CHROMEDRIVER_BIN`.
//! - Viewport: with only `--window-size=1280,900` new headless gives a 1280x757
//!   viewport (143 px go to a phantom toolbar) and never narrower than 500 px, so
//!   390 wide is impossible that way. We add chromedriver's `mobileEmulation` with
//!   `deviceMetrics` = the requested size: viewport and screenshot are exactly WxH;
//!   below 768 px wide it is a phone (mobile: a page without `<meta
//!   name="viewport">` lays out 980 px wide, as real phones do; touch on).
//! - Processes: chromedriver gets its own process group, which Chromium's browser,
//!   zygote, GPU, network and renderer processes inherit; Drop SIGKILLs the group
//!   (`kill -9 -PGID` through /bin/sh: dash's kill rejects `kill -9 -- -PGID`,
//!   which silently left every Chromium running). Chromium also starts two
//!   `chrome_crashpad_handler`s that daemonize (own session, parent pid 1) whatever
//!   the flags (`--disable-crash-reporter`, `--disable-breakpad` don't help); they
//!   exit on their own within a second when Chromium dies, and create an empty
//!   `$HOME/.config/chromium/Crash Reports`. If the test process dies without
//!   unwinding (SIGKILL, abort, Ctrl-C), a small `sh` watchdog in its own process
//!   group kills the group and removes the temp dir within ~0.7 s (tested).
//! - Temp files: Chromium puts its singleton socket dir and chromedriver its
//!   `org.chromium.Chromium.scoped_dir.*` in $TMPDIR and leave them behind when
//!   killed; we point TMPDIR into our own temp dir, which Drop removes.
//! - Fonts: Debian's chromium pulls in only Latin fonts (DejaVu, Liberation), so
//!   screenshots show boxes for both Chinese and Tibetan. Tibetan renders correctly
//!   (stacks such as སྤྱོ, vowel signs) with EITHER `fonts-tibetan-machine` (Tibetan
//!   Machine Uni, 0.9 MB download) OR `fonts-noto-core` (Noto Serif Tibetan, 12 MB,
//!   taller lines); checked by looking at screenshots with each installed alone.
//!   Neither has Chinese: `fonts-wqy-microhei` (1.6 MB) renders it (checked;
//!   `fonts-noto-cjk`, 56 MB, is the larger alternative). Tests pass without fonts:
//!   text comparisons don't depend on them, only what a person sees does.
//! - `send_keys` with Chinese and Tibetan (incl. combining vowel signs, U+0F72 in
//!   ཤིས) arrives intact in the input's value and in the POSTed form.
//! - `goto` to a dead server: WebDriver answers success and `current_url` is the
//!   requested URL while the page is `chrome-error://chromewebdata/`; goto() turns
//!   that into an error with Chromium's code (e.g. ERR_CONNECTION_REFUSED).
//! - Errors are `"<what>: <webdriver error>: <message>"`, e.g. `find "#nope": POST
//!   /element: no such element: Unable to locate element: ...`; chromedriver's
//!   "(Session info: chrome=...)" suffix is cut. `BROWSER_TRACE=1` prints every
//!   command with its duration; a panicking test prints the chromedriver log tail.

#![allow(dead_code)]

use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// What to tell people whose machine lacks Chromium.
pub const INSTALL_HINT: &str = "apt-get install chromium chromium-driver";

/// The W3C key of an element reference.
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

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

/// (name, value, httpOnly, sameSite) of one cookie.
pub type CookieInfo = (String, String, bool, String);

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

/// Kills the process group if the test process vanishes without running Drop.
const WATCHDOG_SH: &str = r#"
parent="$1"; pgid="$2"; dir="$3"
while [ -d "/proc/$parent" ] && ! grep -q '^State:[[:space:]]*Z' "/proc/$parent/status" 2>/dev/null; do
  sleep 0.5
done
kill -9 "-$pgid" 2>/dev/null
sleep 0.2
rm -rf -- "$dir"
"#;

/// One chromedriver + one Chromium session.
pub struct Browser {
    driver: Child,
    watchdog: Option<Child>,
    port: u16,
    session: String,
    dir: PathBuf,
    find_timeout: Duration,
}

/// An element of the current page.
pub struct Element<'a> {
    browser: &'a Browser,
    id: String,
}

impl Browser {
    /// Starts with a 1280x900 viewport.
    pub fn start() -> Result<Browser, String> {
        Browser::start_with_size(1280, 900)
    }

    /// Starts with a viewport (and screenshots) of exactly `width`x`height` CSS pixels,
    /// device pixel ratio 1. Widths below 768 emulate a phone (e.g. 390x844): the page's
    /// `<meta name="viewport">` is honoured (without it the layout is 980 px wide, as on
    /// a real phone), touch events on, `(pointer: coarse)` matches.
    pub fn start_with_size(width: u32, height: u32) -> Result<Browser, String> {
        if !browser_available() {
            return Err(format!(
                "chromedriver ({}) or Chromium ({}) missing: run `{INSTALL_HINT}`",
                chromedriver_bin().display(),
                chromium_bin().display()
            ));
        }
        let mut attempt = 0;
        loop {
            // the port may be taken between probing and chromedriver's bind: retry
            attempt += 1;
            match Browser::spawn(width, height) {
                Ok(b) => return Ok(b),
                Err((true, e)) if attempt < 3 => eprintln!("browser: retrying: {e}"),
                Err((_, e)) => return Err(e),
            }
        }
    }

    /// Err((retryable, message)).
    fn spawn(width: u32, height: u32) -> Result<Browser, (bool, String)> {
        use std::os::unix::process::CommandExt;
        static SEQ: AtomicUsize = AtomicUsize::new(0);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let dir = std::env::temp_dir().join(format!(
            "hotline-browser-{}-{nanos:x}-{}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::SeqCst)
        ));
        let fail = |e: String| {
            let _ = std::fs::remove_dir_all(&dir);
            (false, e)
        };
        let port = free_port().map_err(|e| (false, format!("no free port: {e}")))?;
        let log = ["profile", "tmp"]
            .iter()
            .try_for_each(|sub| std::fs::create_dir_all(dir.join(sub)))
            .and_then(|_| std::fs::File::create(dir.join("chromedriver.log")))
            .map_err(|e| fail(format!("{}: {e}", dir.display())))?;
        let driver = Command::new(chromedriver_bin())
            .arg(format!("--port={port}"))
            .env("TMPDIR", dir.join("tmp")) // Chromium's singleton socket dir lands here
            .stdin(Stdio::null())
            .stdout(log.try_clone().map_err(|e| fail(e.to_string()))?)
            .stderr(log)
            .process_group(0)
            .spawn()
            .map_err(|e| {
                fail(format!(
                    "cannot start {}: {e}",
                    chromedriver_bin().display()
                ))
            })?;
        let watchdog = Command::new("/bin/sh")
            .arg("-c")
            .arg(WATCHDOG_SH)
            .arg("browser-watchdog")
            .arg(std::process::id().to_string())
            .arg(driver.id().to_string())
            .arg(&dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .ok();
        let mut b = Browser {
            driver,
            watchdog,
            port,
            session: String::new(),
            dir: dir.clone(),
            find_timeout: Duration::from_secs(5),
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Ok(Some(st)) = b.driver.try_wait() {
                return Err((
                    true,
                    format!(
                        "chromedriver exited ({st}) on port {port}: {}",
                        b.log_tail()
                    ),
                ));
            }
            match http(port, "GET", "/status", None, Duration::from_secs(2)) {
                Ok(v) if v["value"]["ready"] == json!(true) => break,
                _ if Instant::now() > deadline => {
                    let e = format!(
                        "chromedriver not ready on port {port} after 10 s: {}",
                        b.log_tail()
                    );
                    return Err((false, e));
                }
                _ => thread::sleep(Duration::from_millis(20)),
            }
        }
        let mut args: Vec<String> = CHROMIUM_ARGS.iter().map(|s| s.to_string()).collect();
        args.push(format!("--user-data-dir={}", dir.join("profile").display()));
        args.push(format!("--window-size={width},{height}"));
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "pageLoadStrategy": "normal",
            "timeouts": {"implicit": 0, "pageLoad": 30000, "script": 30000},
            "goog:chromeOptions": {
                "binary": chromium_bin().to_string_lossy(),
                "args": args,
                // exact viewport (plain --window-size leaves 143 px for a phantom toolbar
                // and is at least 500 px wide); below 768 px a phone: meta viewport, touch
                "mobileEmulation": {"deviceMetrics": {
                    "width": width, "height": height, "pixelRatio": 1,
                    "mobile": width < 768, "touch": width < 768,
                }},
            },
        }}});
        let v = http(
            port,
            "POST",
            "/session",
            Some(&caps),
            Duration::from_secs(60),
        )
        .and_then(unwrap_value)
        .map_err(|e| (false, format!("new session: {e}\n{}", b.log_tail())))?;
        b.session = v["sessionId"].as_str().unwrap_or_default().to_string();
        Ok(b)
    }

    fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(self.dir.join("chromedriver.log")).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(15)..].join("\n")
    }

    /// One raw WebDriver command on this session (`path` after `/session/{id}`, e.g.
    /// `("POST", "/back", None)`); returns its `value`.
    pub fn cmd(&self, method: &str, path: &str, body: Option<Value>) -> Result<Value, String> {
        let body = body.or_else(|| (method == "POST").then(|| json!({})));
        let full = format!("/session/{}{path}", self.session);
        let t = Instant::now();
        let r = http(
            self.port,
            method,
            &full,
            body.as_ref(),
            Duration::from_secs(90),
        )
        .and_then(unwrap_value);
        if std::env::var_os("BROWSER_TRACE").is_some() {
            eprintln!(
                "browser: {method} {path} {:?} {}",
                t.elapsed(),
                if r.is_ok() { "ok" } else { "ERR" }
            );
        }
        r.map_err(|e| format!("{method} {path}: {e}"))
    }

    /// How long `find` polls for a missing element (default 5 s).
    pub fn set_find_timeout(&mut self, t: Duration) {
        self.find_timeout = t;
    }

    /// Loads `url`. A page Chromium could not load at all (connection refused, ...) is an
    /// error here, although WebDriver reports success and `current_url` the requested URL.
    pub fn goto(&self, url: &str) -> Result<(), String> {
        self.cmd("POST", "/url", Some(json!({ "url": url })))?;
        let js = "return location.href.startsWith('chrome-error:') \
                  ? (document.querySelector('.error-code') || document.body).innerText : null";
        match self.execute(js, vec![])? {
            Value::String(code) => {
                Err(format!("goto {url}: Chromium shows its error page: {code}"))
            }
            _ => Ok(()),
        }
    }

    pub fn current_url(&self) -> Result<String, String> {
        self.cmd("GET", "/url", None).map(as_string)
    }

    pub fn title(&self) -> Result<String, String> {
        self.cmd("GET", "/title", None).map(as_string)
    }

    pub fn page_source(&self) -> Result<String, String> {
        self.cmd("GET", "/source", None).map(as_string)
    }

    /// The first element matching `css`, polling up to the find timeout.
    pub fn find(&self, css: &str) -> Result<Element<'_>, String> {
        let deadline = Instant::now() + self.find_timeout;
        let body = json!({"using": "css selector", "value": css});
        loop {
            match self.cmd("POST", "/element", Some(body.clone())) {
                Ok(v) => return Ok(self.element(&v)),
                Err(e) if e.contains("no such element") && Instant::now() < deadline => {
                    thread::sleep(Duration::from_millis(50))
                }
                Err(e) => return Err(format!("find {css:?}: {e}")),
            }
        }
    }

    /// All elements matching `css` right now (no waiting; may be empty).
    pub fn find_all(&self, css: &str) -> Result<Vec<Element<'_>>, String> {
        let v = self
            .cmd(
                "POST",
                "/elements",
                Some(json!({"using": "css selector", "value": css})),
            )
            .map_err(|e| format!("find_all {css:?}: {e}"))?;
        Ok(v.as_array()
            .into_iter()
            .flatten()
            .map(|e| self.element(e))
            .collect())
    }

    /// Waits until some element matching `css` has a text containing `text`.
    pub fn wait_for_text(
        &self,
        css: &str,
        text: &str,
        timeout: Duration,
    ) -> Result<Element<'_>, String> {
        let deadline = Instant::now() + timeout;
        let mut seen = Vec::new();
        loop {
            seen.clear();
            for el in self.find_all(css)? {
                match el.text() {
                    Ok(t) if t.contains(text) => return Ok(el),
                    Ok(t) => seen.push(t),
                    Err(_) => {} // stale: the page changed under us
                }
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "no {css:?} with text {text:?} after {timeout:?}; seen: {seen:?}; url: {}",
                    self.current_url().unwrap_or_default()
                ));
            }
            thread::sleep(Duration::from_millis(50));
        }
    }

    /// Runs `script` (a function body; `arguments[i]` are `args`) and returns its result.
    pub fn execute(&self, script: &str, args: Vec<Value>) -> Result<Value, String> {
        self.cmd(
            "POST",
            "/execute/sync",
            Some(json!({"script": script, "args": args})),
        )
    }

    /// All cookies visible to the current page.
    pub fn cookies(&self) -> Result<Vec<CookieInfo>, String> {
        let v = self.cmd("GET", "/cookie", None)?;
        Ok(v.as_array()
            .into_iter()
            .flatten()
            .map(|c| {
                (
                    as_string(c["name"].clone()),
                    as_string(c["value"].clone()),
                    c["httpOnly"].as_bool().unwrap_or(false),
                    as_string(c["sameSite"].clone()),
                )
            })
            .collect())
    }

    /// Screenshot of the viewport as PNG, written to `path`; returns the bytes.
    pub fn screenshot_png(&self, path: impl AsRef<Path>) -> Result<Vec<u8>, String> {
        use base64::Engine as _;
        let b64 = as_string(self.cmd("GET", "/screenshot", None)?);
        let png = base64::engine::general_purpose::STANDARD
            .decode(b64.as_bytes())
            .map_err(|e| format!("screenshot base64: {e}"))?;
        std::fs::write(path.as_ref(), &png)
            .map_err(|e| format!("{}: {e}", path.as_ref().display()))?;
        Ok(png)
    }

    fn element(&self, v: &Value) -> Element<'_> {
        Element {
            browser: self,
            id: as_string(v[ELEMENT_KEY].clone()),
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if thread::panicking() {
            eprintln!(
                "---- chromedriver log tail (test panicked) ----\n{}",
                self.log_tail()
            );
        }
        // chromedriver leads its own process group and Chromium's processes inherit it:
        // SIGKILL them all at once (no graceful quit: 10 ms instead of 200-500 ms).
        // `kill -9 -PGID`: dash's kill rejects `--`.
        let _ = Command::new("/bin/sh")
            .arg("-c")
            .arg(format!("kill -9 -{} 2>/dev/null", self.driver.id()))
            .status();
        let _ = self.driver.kill();
        let _ = self.driver.wait();
        if let Some(mut w) = self.watchdog.take() {
            let _ = w.kill();
            let _ = w.wait();
        }
        if std::fs::remove_dir_all(&self.dir).is_err() {
            thread::sleep(Duration::from_millis(200));
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

impl Element<'_> {
    fn cmd(&self, method: &str, what: &str, body: Option<Value>) -> Result<Value, String> {
        self.browser
            .cmd(method, &format!("/element/{}{what}", self.id), body)
    }

    pub fn click(&self) -> Result<(), String> {
        self.cmd("POST", "/click", None).map(drop)
    }

    /// Types `text` (any Unicode; WebDriver key codes such as "\u{E007}" = Enter work too).
    pub fn send_keys(&self, text: &str) -> Result<(), String> {
        self.cmd("POST", "/value", Some(json!({ "text": text })))
            .map(drop)
    }

    pub fn clear(&self) -> Result<(), String> {
        self.cmd("POST", "/clear", None).map(drop)
    }

    /// The rendered (visible) text.
    pub fn text(&self) -> Result<String, String> {
        self.cmd("GET", "/text", None).map(as_string)
    }

    /// The attribute as WebDriver reports it (None when absent).
    pub fn attribute(&self, name: &str) -> Result<Option<String>, String> {
        self.cmd("GET", &format!("/attribute/{name}"), None)
            .map(|v| v.as_str().map(str::to_string))
    }

    /// A DOM property, e.g. `value` of an input as typed.
    pub fn property(&self, name: &str) -> Result<Value, String> {
        self.cmd("GET", &format!("/property/{name}"), None)
    }

    /// This element as an argument for `Browser::execute`.
    pub fn as_arg(&self) -> Value {
        json!({ ELEMENT_KEY: self.id })
    }
}

fn as_string(v: Value) -> String {
    match v {
        Value::String(s) => s,
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn unwrap_value(mut v: Value) -> Result<Value, String> {
    let value = v["value"].take();
    if let Some(err) = value.get("error").and_then(Value::as_str) {
        let msg = value["message"].as_str().unwrap_or("");
        let msg = msg.split("\n  (Session info:").next().unwrap_or(msg); // chromedriver's suffix
        return Err(if msg.starts_with(err) {
            msg.to_string()
        } else {
            format!("{err}: {msg}")
        });
    }
    Ok(value)
}

fn free_port() -> std::io::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// One HTTP/1.1 request to chromedriver on 127.0.0.1:`port`; the JSON body of the answer
/// (WebDriver errors come back as JSON with a 4xx/5xx status, so the status is not checked).
fn http(
    port: u16,
    method: &str,
    path: &str,
    body: Option<&Value>,
    timeout: Duration,
) -> Result<Value, String> {
    let io = |e: std::io::Error| format!("chromedriver on 127.0.0.1:{port}: {e}");
    let mut s = TcpStream::connect(("127.0.0.1", port)).map_err(io)?;
    s.set_read_timeout(Some(timeout)).map_err(io)?;
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\
         Content-Type: application/json; charset=utf-8\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).map_err(io)?;
    let mut r = BufReader::new(s);
    let mut line = String::new();
    r.read_line(&mut line).map_err(io)?;
    let status = line.split_whitespace().nth(1).unwrap_or("").to_string();
    let mut len = None;
    loop {
        line.clear();
        if r.read_line(&mut line).map_err(io)? == 0 || line == "\r\n" {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            if k.eq_ignore_ascii_case("content-length") {
                len = v.trim().parse::<usize>().ok();
            }
        }
    }
    let mut buf = Vec::new();
    match len {
        Some(n) => {
            buf.resize(n, 0);
            r.read_exact(&mut buf).map_err(io)?;
        }
        None => {
            r.read_to_end(&mut buf).map_err(io)?;
        }
    }
    serde_json::from_slice(&buf).map_err(|e| {
        format!(
            "HTTP {status}, not JSON ({e}): {}",
            String::from_utf8_lossy(&buf[..buf.len().min(300)])
        )
    })
}
