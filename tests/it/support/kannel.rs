//! Integration-test harness: runs Debian's Kannel 1.4.5 (bearerbox + smsbox)
//! with a `smsc = fake` connection driven by `fakesmsc`, all on 127.0.0.1.
//!
//! Dependencies: `tempfile`, `reqwest` (blocking), `url` and `percent-encoding`.
//!
//! ```ignore
//! let kannel = Kannel::start(KannelConfig::new("http://127.0.0.1:8080/channels/1/receive?secret=s&from=%p&to=%P&text=%b&id=%I&coding=%c&charset=%C&ts=%T&smsc=%i"))?;
//! let fake = FakeSmsc::start(&kannel, &[FakeMo::new("8613900000001", "12333", "帮助")])?;
//! // ... the service answers through kannel.sendsms_base_url() ...
//! let mts = fake.wait_for(1, Duration::from_secs(30));
//! ```
//!
//! Empirical behaviour of Kannel/fakesmsc is written up in `KANNEL_NOTES.md`
//! next to this file.

#![allow(dead_code)]

use std::collections::HashMap;
use std::fmt::Write as _;
use std::fs::{self, File};
use std::io::{self, BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// What to tell people whose machine lacks Kannel.
pub const INSTALL_HINT: &str = "apt-get install kannel kannel-extras";

/// Default locations (Debian packages `kannel` and `kannel-extras`). They can
/// be overridden with the env vars KANNEL_BEARERBOX, KANNEL_SMSBOX and
/// KANNEL_FAKESMSC.
pub const BEARERBOX: &str = "/usr/sbin/bearerbox";
pub const SMSBOX: &str = "/usr/sbin/smsbox";
pub const FAKESMSC: &str = "/usr/lib/kannel/test/fakesmsc";

fn bin(env: &str, default: &str) -> PathBuf {
    std::env::var_os(env)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(default))
}

fn bearerbox_bin() -> PathBuf {
    bin("KANNEL_BEARERBOX", BEARERBOX)
}
fn smsbox_bin() -> PathBuf {
    bin("KANNEL_SMSBOX", SMSBOX)
}
fn fakesmsc_bin() -> PathBuf {
    bin("KANNEL_FAKESMSC", FAKESMSC)
}

fn is_executable(p: &Path) -> bool {
    fs::metadata(p)
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

/// True when bearerbox, smsbox and fakesmsc are all installed.
pub fn kannel_available() -> bool {
    is_executable(&bearerbox_bin())
        && is_executable(&smsbox_bin())
        && is_executable(&fakesmsc_bin())
}

// ---------------------------------------------------------------------------
// Configuration
// ---------------------------------------------------------------------------

/// Settings for one Kannel instance. Ports are always chosen automatically.
#[derive(Clone, Debug)]
pub struct KannelConfig {
    /// `get-url` of the catch-all `sms-service` (Kannel escapes such as %p %P
    /// %b %I %c %C %T %i are expanded by smsbox). Must not contain `"` or
    /// newlines.
    pub get_url: String,
    /// `sendsms-user` credentials.
    pub sendsms_user: String,
    pub sendsms_password: String,
    /// `smsc-id` of the fake SMSC (what `%i` expands to). Default "fake".
    pub smsc_id: String,
    /// smsbox `http-request-retry`: extra attempts for a failed get-url /
    /// dlr-url request (anything but 200/202, or connection failure).
    pub http_request_retry: u32,
    /// smsbox `http-queue-delay` in whole seconds between those attempts.
    pub http_queue_delay_secs: u32,
    /// `max-messages` of the sendsms-user: maximum number of concatenated
    /// parts per MT. Longer texts are silently truncated (still `202`).
    pub max_messages: u32,
    /// Kannel log level for the log files: 0 debug, 1 info, 2 warning,
    /// 3 error, 4 panic. Default: env KANNEL_LOG_LEVEL, else 1.
    pub log_level: u8,
    /// How long `Kannel::start` may take before giving up.
    pub startup_timeout: Duration,
    /// Raw lines appended inside the `group = smsbox` section.
    pub extra_smsbox: String,
    /// Raw text appended at the end of kannel.conf (extra groups).
    pub extra_config: String,
}

impl Default for KannelConfig {
    fn default() -> Self {
        let log_level = std::env::var("KANNEL_LOG_LEVEL")
            .ok()
            .and_then(|v| v.trim().parse::<u8>().ok())
            .filter(|l| *l <= 4)
            .unwrap_or(1);
        KannelConfig {
            get_url: String::new(),
            sendsms_user: "hotline".to_string(),
            sendsms_password: "hotline-test-password".to_string(),
            smsc_id: "fake".to_string(),
            http_request_retry: 3,
            http_queue_delay_secs: 1,
            max_messages: 10,
            log_level,
            startup_timeout: Duration::from_secs(30),
            extra_smsbox: String::new(),
            extra_config: String::new(),
        }
    }
}

impl KannelConfig {
    /// Default settings with the given get-url.
    pub fn new(get_url: impl Into<String>) -> Self {
        KannelConfig {
            get_url: get_url.into(),
            ..Default::default()
        }
    }
}

fn check_conf_value(what: &str, v: &str, allow_empty: bool) -> io::Result<()> {
    if (!allow_empty && v.is_empty()) || v.contains(['"', '\n', '\r']) {
        return Err(io::Error::new(
            ErrorKind::InvalidInput,
            format!("KannelConfig.{what} must be non-empty and contain no '\"' or newline: {v:?}"),
        ));
    }
    Ok(())
}

#[derive(Clone, Copy, Debug)]
struct Ports {
    admin: u16,
    smsbox: u16,
    smsc: u16,
    sendsms: u16,
}

/// Reserve `n` distinct free loopback ports, never given to another test in
/// this process (see `process::free_ports`).
fn pick_ports(n: usize) -> io::Result<Vec<u16>> {
    Ok(super::ports::free_ports(n))
}

fn render_config(cfg: &KannelConfig, p: Ports, dir: &Path, admin_password: &str) -> String {
    let d = dir.display();
    let lvl = cfg.log_level.min(4);
    format!(
        r#"# Generated by tests/support/kannel.rs
group = core
admin-port = {admin}
admin-interface = "127.0.0.1"
admin-password = "{admin_password}"
admin-allow-ip = "127.0.0.1"
smsbox-port = {smsbox}
smsbox-interface = "127.0.0.1"
box-allow-ip = "127.0.0.1"
dlr-storage = internal
log-file = "{d}/bearerbox.log"
log-level = {lvl}
access-log = "{d}/bearerbox-access.log"

group = smsc
smsc = fake
smsc-id = "{smsc_id}"
port = {smsc}
our-host = "127.0.0.1"
connect-allow-ip = "127.0.0.1"

group = smsbox
bearerbox-host = "127.0.0.1"
bearerbox-port = {smsbox}
sendsms-port = {sendsms}
sendsms-interface = "127.0.0.1"
mo-recode = true
http-request-retry = {retry}
http-queue-delay = {delay}
log-file = "{d}/smsbox.log"
log-level = {lvl}
access-log = "{d}/smsbox-access.log"
{extra_smsbox}

group = sendsms-user
username = "{user}"
password = "{password}"
concatenation = true
max-messages = {max_messages}
user-allow-ip = "127.0.0.1"

group = sms-service
keyword = default
catch-all = yes
max-messages = 0
get-url = "{get_url}"

{extra}
"#,
        admin = p.admin,
        smsbox = p.smsbox,
        smsc = p.smsc,
        sendsms = p.sendsms,
        smsc_id = cfg.smsc_id,
        retry = cfg.http_request_retry,
        delay = cfg.http_queue_delay_secs,
        extra_smsbox = cfg.extra_smsbox.trim_end(),
        user = cfg.sendsms_user,
        password = cfg.sendsms_password,
        max_messages = cfg.max_messages.max(1),
        get_url = cfg.get_url,
        extra = cfg.extra_config,
    )
}

// ---------------------------------------------------------------------------
// Kannel
// ---------------------------------------------------------------------------

/// A running bearerbox + smsbox pair in a private temp directory. Dropping it
/// kills both (SIGKILL) and removes the directory. If the test process dies
/// without running Drop, a small `sh` watchdog kills them within ~0.5 s.
pub struct Kannel {
    cfg: KannelConfig,
    dir: Option<tempfile::TempDir>,
    dir_path: PathBuf,
    ports: Ports,
    admin_password: String,
    bearerbox: Option<Child>,
    smsbox: Option<Child>,
    watchdog: Option<Child>,
    fake_attached: Arc<AtomicBool>,
    fake_seq: AtomicUsize,
}

/// Watchdog: waits for the test process to disappear (or become a zombie),
/// then SIGKILLs every pid listed in DIR/pids whose command line still
/// mentions DIR/kannel.conf, and removes DIR.
const WATCHDOG_SH: &str = r#"
parent="$1"; dir="$2"
while [ -d "/proc/$parent" ] && ! grep -q '^State:[[:space:]]*Z' "/proc/$parent/status" 2>/dev/null; do
  sleep 0.5
done
if [ -f "$dir/pids" ]; then
  for p in $(cat "$dir/pids"); do
    if tr '\000' '\n' < "/proc/$p/cmdline" 2>/dev/null | grep -qxF "$dir/kannel.conf"; then
      kill -9 "$p" 2>/dev/null
    fi
  done
fi
rm -rf -- "$dir"
"#;

struct StartError {
    msg: String,
    retryable: bool,
}

fn fatal(msg: impl Into<String>) -> StartError {
    StartError {
        msg: msg.into(),
        retryable: false,
    }
}

fn exited(what: &str, st: ExitStatus) -> StartError {
    // Most likely a port grabbed by someone else between pick_ports() and
    // Kannel's bind(): try again with fresh ports.
    StartError {
        msg: format!("{what} exited during start-up ({st})"),
        retryable: true,
    }
}

impl Kannel {
    /// Write kannel.conf, start bearerbox and smsbox, and wait (up to
    /// `cfg.startup_timeout`) until bearerbox reports `running`, the fake SMSC
    /// listener exists, smsbox is connected and the sendsms port accepts
    /// connections. Retries with fresh ports if a box dies during start-up.
    pub fn start(cfg: KannelConfig) -> io::Result<Kannel> {
        if !kannel_available() {
            return Err(io::Error::new(
                ErrorKind::NotFound,
                format!(
                    "Kannel not found ({}, {}, {}); install it with `{}`",
                    bearerbox_bin().display(),
                    smsbox_bin().display(),
                    fakesmsc_bin().display(),
                    INSTALL_HINT
                ),
            ));
        }
        check_conf_value("get_url", &cfg.get_url, false)?;
        check_conf_value("sendsms_user", &cfg.sendsms_user, false)?;
        check_conf_value("sendsms_password", &cfg.sendsms_password, false)?;
        check_conf_value("smsc_id", &cfg.smsc_id, false)?;

        let dir = tempfile::Builder::new().prefix("kannel-test-").tempdir()?;
        let dir_path = dir.path().to_path_buf();
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let mut k = Kannel {
            cfg,
            dir: Some(dir),
            dir_path,
            ports: Ports {
                admin: 0,
                smsbox: 0,
                smsc: 0,
                sendsms: 0,
            },
            admin_password: format!("adm{:x}{:x}", std::process::id(), nanos),
            bearerbox: None,
            smsbox: None,
            watchdog: None,
            fake_attached: Arc::new(AtomicBool::new(false)),
            fake_seq: AtomicUsize::new(0),
        };
        k.watchdog = Some(
            Command::new("/bin/sh")
                .arg("-c")
                .arg(WATCHDOG_SH)
                .arg("kannel-watchdog")
                .arg(std::process::id().to_string())
                .arg(&k.dir_path)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()?,
        );

        let deadline = Instant::now() + k.cfg.startup_timeout;
        let mut attempt = 0;
        loop {
            attempt += 1;
            match k.try_start(deadline) {
                Ok(()) => return Ok(k),
                Err(e) => {
                    k.kill_boxes();
                    if !e.retryable || attempt >= 5 || Instant::now() >= deadline {
                        let msg = format!(
                            "Kannel failed to start (attempt {attempt}, dir {}): {}\n{}",
                            k.dir_path.display(),
                            e.msg,
                            k.log_tail()
                        );
                        return Err(io::Error::new(
                            if e.retryable {
                                ErrorKind::Other
                            } else {
                                ErrorKind::TimedOut
                            },
                            msg,
                        ));
                    }
                    thread::sleep(Duration::from_millis(100));
                }
            }
        }
    }

    fn spawn_box(&self, program: &Path, name: &str) -> Result<Child, StartError> {
        let out = File::options()
            .create(true)
            .append(true)
            .open(self.dir_path.join(format!("{name}.stderr")))
            .map_err(|e| fatal(format!("cannot create {name}.stderr: {e}")))?;
        let out2 = out.try_clone().map_err(|e| fatal(e.to_string()))?;
        // `-v 2`: only warnings and worse on stderr (the log file gets
        // `log-level`); this still catches config errors printed before the
        // log file is opened.
        let child = Command::new(program)
            .arg("-v")
            .arg("2")
            .arg(self.config_path())
            .current_dir(&self.dir_path)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(out2)
            .spawn()
            .map_err(|e| fatal(format!("cannot spawn {}: {e}", program.display())))?;
        let _ = File::options()
            .create(true)
            .append(true)
            .open(self.dir_path.join("pids"))
            .and_then(|mut f| writeln!(f, "{}", child.id()));
        Ok(child)
    }

    fn try_start(&mut self, deadline: Instant) -> Result<(), StartError> {
        let p = pick_ports(4).map_err(|e| fatal(format!("cannot pick ports: {e}")))?;
        self.ports = Ports {
            admin: p[0],
            smsbox: p[1],
            smsc: p[2],
            sendsms: p[3],
        };
        let conf = render_config(&self.cfg, self.ports, &self.dir_path, &self.admin_password);
        fs::write(self.config_path(), conf)
            .map_err(|e| fatal(format!("cannot write kannel.conf: {e}")))?;

        self.bearerbox = Some(self.spawn_box(&bearerbox_bin(), "bearerbox")?);
        // Ready when the admin page says "running" and already lists the fake
        // SMSC (bearerbox opens its smsbox port before starting SMSCs).
        let smsc_marker = format!("FAKE:{}", self.ports.smsc);
        loop {
            if let Some(st) = self.bearerbox.as_mut().unwrap().try_wait().ok().flatten() {
                return Err(exited("bearerbox", st));
            }
            if let Ok(s) = self.status() {
                if s.contains("Status: running") && s.contains(&smsc_marker) {
                    break;
                }
            }
            if Instant::now() >= deadline {
                return Err(fatal(
                    "timed out waiting for bearerbox admin status `running`",
                ));
            }
            thread::sleep(Duration::from_millis(25));
        }

        self.smsbox = Some(self.spawn_box(&smsbox_bin(), "smsbox")?);
        let sendsms_addr = SocketAddr::from(([127, 0, 0, 1], self.ports.sendsms));
        loop {
            if let Some(st) = self.bearerbox.as_mut().unwrap().try_wait().ok().flatten() {
                return Err(exited("bearerbox", st));
            }
            if let Some(st) = self.smsbox.as_mut().unwrap().try_wait().ok().flatten() {
                return Err(exited("smsbox", st));
            }
            if TcpStream::connect_timeout(&sendsms_addr, Duration::from_millis(500)).is_ok() {
                if let Ok(s) = self.status() {
                    if s.contains("smsbox:") {
                        return Ok(());
                    }
                }
            }
            if Instant::now() >= deadline {
                return Err(fatal(
                    "timed out waiting for smsbox (sendsms port / bearerbox connection)",
                ));
            }
            thread::sleep(Duration::from_millis(25));
        }
    }

    fn kill_boxes(&mut self) {
        for child in [self.smsbox.take(), self.bearerbox.take()]
            .into_iter()
            .flatten()
        {
            let mut child = child;
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// `http://127.0.0.1:PORT/cgi-bin/sendsms`
    pub fn sendsms_base_url(&self) -> String {
        format!("http://127.0.0.1:{}/cgi-bin/sendsms", self.ports.sendsms)
    }

    /// Full sendsms URL with username/password plus the given parameters
    /// (url-encoded here), e.g. `&[("from","12333"),("to","8613900000001"),
    /// ("text","你好"),("coding","2"),("charset","UTF-8")]`.
    pub fn sendsms_url(&self, params: &[(&str, &str)]) -> String {
        let auth = [
            ("username", self.cfg.sendsms_user.as_str()),
            ("password", &self.cfg.sendsms_password),
        ];
        url::Url::parse_with_params(&self.sendsms_base_url(), auth.iter().chain(params))
            .unwrap()
            .into()
    }

    /// GET `sendsms_url(params)`. Kannel answers e.g. `202` /
    /// `0: Accepted for delivery`, `202` / `3: Queued for later delivery`,
    /// 4xx on bad input or credentials.
    pub fn send_sms(&self, params: &[(&str, &str)]) -> io::Result<HttpResponse> {
        http_get(&self.sendsms_url(params), &[], Duration::from_secs(10))
    }

    pub fn sendsms_user(&self) -> &str {
        &self.cfg.sendsms_user
    }
    pub fn sendsms_password(&self) -> &str {
        &self.cfg.sendsms_password
    }
    pub fn sendsms_port(&self) -> u16 {
        self.ports.sendsms
    }
    pub fn admin_port(&self) -> u16 {
        self.ports.admin
    }
    pub fn admin_password(&self) -> &str {
        &self.admin_password
    }
    /// Port of the fake SMSC listener (what fakesmsc connects to).
    pub fn smsc_port(&self) -> u16 {
        self.ports.smsc
    }
    pub fn smsc_id(&self) -> &str {
        &self.cfg.smsc_id
    }
    pub fn config(&self) -> &KannelConfig {
        &self.cfg
    }
    /// The temp directory holding kannel.conf and all logs.
    pub fn dir(&self) -> &Path {
        &self.dir_path
    }
    pub fn config_path(&self) -> PathBuf {
        self.dir_path.join("kannel.conf")
    }

    /// Plain-text admin status page (`/status?password=...`).
    pub fn status(&self) -> io::Result<String> {
        admin_status(self.ports.admin, &self.admin_password)
    }

    /// Last 40 lines of every log in the temp dir (bearerbox, smsbox, their
    /// stderr, access logs, fakesmsc).
    pub fn log_tail(&self) -> String {
        self.log_tail_lines(40)
    }

    pub fn log_tail_lines(&self, n: usize) -> String {
        let mut names: Vec<String> = vec![
            "bearerbox.stderr".into(),
            "bearerbox.log".into(),
            "smsbox.stderr".into(),
            "smsbox.log".into(),
            "smsbox-access.log".into(),
        ];
        if let Ok(rd) = fs::read_dir(&self.dir_path) {
            let mut fakes: Vec<String> = rd
                .filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with("fakesmsc-"))
                .collect();
            fakes.sort();
            names.extend(fakes);
        }
        let mut out = String::new();
        for name in names {
            let path = self.dir_path.join(&name);
            if let Ok(bytes) = fs::read(&path) {
                let text = String::from_utf8_lossy(&bytes);
                let lines: Vec<&str> = text.lines().collect();
                let start = lines.len().saturating_sub(n);
                let _ = writeln!(out, "==> {} ({} lines) <==", path.display(), lines.len());
                for l in &lines[start..] {
                    let _ = writeln!(out, "{l}");
                }
            }
        }
        out
    }
}

impl Drop for Kannel {
    fn drop(&mut self) {
        if thread::panicking() {
            eprintln!(
                "---- Kannel logs (test panicked) ----\n{}",
                self.log_tail_lines(25)
            );
        }
        self.kill_boxes();
        if let Some(mut w) = self.watchdog.take() {
            let _ = w.kill();
            let _ = w.wait();
        }
        if std::env::var_os("KANNEL_KEEP_DIR").is_some() {
            if let Some(d) = self.dir.take() {
                let p = d.keep();
                eprintln!("KANNEL_KEEP_DIR: Kannel logs kept in {}", p.display());
            }
        }
        // otherwise TempDir's Drop removes the directory
    }
}

fn admin_status(port: u16, password: &str) -> io::Result<String> {
    let r = http_get(
        &format!("http://127.0.0.1:{port}/status"),
        &[("password", password)],
        Duration::from_secs(2),
    )?;
    if r.status != 200 {
        return Err(io::Error::other(format!(
            "admin status answered {}: {}",
            r.status, r.body
        )));
    }
    Ok(r.body)
}

// ---------------------------------------------------------------------------
// fakesmsc
// ---------------------------------------------------------------------------

/// A mobile-originated message for fakesmsc to inject. Sent as fakesmsc type
/// `text` when `text` is printable ASCII (0x20..=0x7e), otherwise as `ucs2`
/// (url-encoded UTF-16BE). `from`/`to` must be non-empty without whitespace.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FakeMo {
    pub from: String,
    pub to: String,
    pub text: String,
}

impl FakeMo {
    pub fn new(from: impl Into<String>, to: impl Into<String>, text: impl Into<String>) -> Self {
        FakeMo {
            from: from.into(),
            to: to.into(),
            text: text.into(),
        }
    }
}

/// How a mobile-terminated message reached the fake SMSC.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MtCoding {
    /// `text`: GSM 7-bit (coding=0); Kannel hands over its internal UTF-8.
    Text,
    /// `data`: 8-bit binary (coding=1), decoded here as UTF-8 (lossy).
    Data,
    /// `ucs-2`: UCS-2/UTF-16BE (coding=2).
    Ucs2,
}

/// A mobile-terminated message as printed by fakesmsc (`Got message N: <...>`)
/// and decoded. Concatenated parts (UDH IEI 0x00/0x08) are reassembled into
/// one `ReceivedMt` with `parts` > 1.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReceivedMt {
    pub from: String,
    pub to: String,
    pub text: String,
    pub coding: MtCoding,
    pub parts: usize,
}

type ConcatKey = (String, String, u16, u8);

struct PendingConcat {
    parts: Vec<Option<Vec<u8>>>,
    udh_len: usize,
}

#[derive(Default)]
struct FakeState {
    received: Vec<ReceivedMt>,
    raw: Vec<String>,
    pending: HashMap<ConcatKey, PendingConcat>,
    /// index in `received` of the last `text` MT (for multi-line 7-bit text)
    last_text: Option<usize>,
    /// fakesmsc's "sent message N" counter (one per stdin chunk sent)
    sent: u64,
    exited: bool,
}

struct FakeShared {
    state: Mutex<FakeState>,
    cond: Condvar,
}

/// One `fakesmsc` process in interactive mode (MOs are written to its stdin),
/// connected to the Kannel's fake SMSC. It is the only connection the fake
/// SMSC serves, so it also receives every MT. Only one FakeSmsc per Kannel at
/// a time. Dropping it kills the process.
pub struct FakeSmsc {
    child: Option<Child>,
    shared: Arc<FakeShared>,
    stdin: Arc<Mutex<Option<ChildStdin>>>,
    /// chunks written so far (compared with FakeState::sent)
    target: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    reader: Option<JoinHandle<()>>,
    nudger: Option<JoinHandle<()>>,
    attached: Arc<AtomicBool>,
    log_path: PathBuf,
    admin_port: u16,
    admin_password: String,
    smsc_port: u16,
}

/// fakesmsc reads its stdin with fgets(buf, 256): longer lines are sent in
/// 255-byte pieces, and a piece of just "\n" is dropped.
const FGETS_PIECE: usize = 255;

fn mo_line(mo: &FakeMo) -> io::Result<(Vec<u8>, u64)> {
    for (what, v) in [("from", &mo.from), ("to", &mo.to)] {
        if v.is_empty() || v.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(io::Error::new(
                ErrorKind::InvalidInput,
                format!("FakeMo.{what} must be non-empty without whitespace: {v:?}"),
            ));
        }
    }
    let mut line = format!("{} {} ", mo.from, mo.to);
    if mo.text.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        line.push_str("text ");
        line.push_str(&mo.text);
    } else {
        line.push_str("ucs2 ");
        let ucs2: Vec<u8> = mo.text.encode_utf16().flat_map(u16::to_be_bytes).collect();
        line.extend(percent_encoding::percent_encode(
            &ucs2,
            percent_encoding::NON_ALPHANUMERIC,
        ));
    }
    // If the line length is a multiple of 255 the final fgets piece would be a
    // lone "\n", which fakesmsc ignores; CR LF avoids that (Kannel strips CR).
    let mut bytes = line.into_bytes();
    if bytes.len() % FGETS_PIECE == 0 {
        bytes.extend_from_slice(b"\r\n");
    } else {
        bytes.push(b'\n');
    }
    let pieces = bytes.len().div_ceil(FGETS_PIECE) as u64;
    Ok((bytes, pieces))
}

impl FakeSmsc {
    /// Start fakesmsc against `kannel`, wait until the fake SMSC reports it
    /// online, then inject `mo_messages` in order, each exactly once. Returns
    /// once all of them have been handed to bearerbox (not necessarily
    /// delivered to the get-url yet).
    pub fn start(kannel: &Kannel, mo_messages: &[FakeMo]) -> io::Result<FakeSmsc> {
        for mo in mo_messages {
            mo_line(mo)?;
        }
        if kannel.fake_attached.swap(true, Ordering::SeqCst) {
            return Err(io::Error::new(
                ErrorKind::AddrInUse,
                "another FakeSmsc is attached to this Kannel (the fake SMSC serves one connection at a time)",
            ));
        }
        let seq = kannel.fake_seq.fetch_add(1, Ordering::SeqCst) + 1;
        let log_path = kannel.dir().join(format!("fakesmsc-{seq}.log"));
        let spawned = Command::new(fakesmsc_bin())
            .arg("-H")
            .arg("127.0.0.1")
            .arg("-r")
            .arg(kannel.smsc_port().to_string())
            .arg("-i")
            .arg("0")
            .current_dir(kannel.dir())
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn();
        let mut child = match spawned {
            Ok(c) => c,
            Err(e) => {
                kannel.fake_attached.store(false, Ordering::SeqCst);
                return Err(e);
            }
        };
        let stdin = Arc::new(Mutex::new(child.stdin.take()));
        let stderr = child.stderr.take().expect("piped stderr");
        let shared = Arc::new(FakeShared {
            state: Mutex::new(FakeState::default()),
            cond: Condvar::new(),
        });
        let stop = Arc::new(AtomicBool::new(false));
        // From here on, Drop of `fake` cleans up (kills fakesmsc, resets
        // `attached`) whatever goes wrong.
        let mut fake = FakeSmsc {
            child: Some(child),
            shared: shared.clone(),
            stdin: stdin.clone(),
            target: Arc::new(AtomicU64::new(0)),
            stop: stop.clone(),
            reader: None,
            nudger: None,
            attached: kannel.fake_attached.clone(),
            log_path: log_path.clone(),
            admin_port: kannel.admin_port(),
            admin_password: kannel.admin_password().to_string(),
            smsc_port: kannel.smsc_port(),
        };
        let log_file = File::create(&log_path).ok();
        fake.reader = Some(
            thread::Builder::new()
                .name("fakesmsc-reader".into())
                .spawn(move || read_fakesmsc_output(stderr, log_file, shared))?,
        );
        // In interactive mode fakesmsc only looks at the bearerbox connection
        // after stdin becomes readable or after a 1 s select() timeout, and
        // stdio may keep a line buffered. A blank line every 50 ms (ignored by
        // fakesmsc) keeps MT latency and buffered MO lines under ~50 ms.
        fake.nudger = Some(
            thread::Builder::new()
                .name("fakesmsc-nudger".into())
                .spawn(move || {
                    while !stop.load(Ordering::SeqCst) {
                        thread::sleep(Duration::from_millis(50));
                        let mut guard = stdin.lock().unwrap_or_else(|e| e.into_inner());
                        match guard.as_mut() {
                            Some(s) => {
                                if s.write_all(b"\n").and_then(|_| s.flush()).is_err() {
                                    break;
                                }
                            }
                            None => break,
                        }
                    }
                })?,
        );
        fake.wait_online(Duration::from_secs(20))?;
        for mo in mo_messages {
            fake.send_mo(mo)?;
        }
        Ok(fake)
    }

    fn wait_online(&mut self, timeout: Duration) -> io::Result<()> {
        let marker = format!("FAKE:{} (online", self.smsc_port);
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(st) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                return Err(io::Error::other(format!(
                    "fakesmsc exited ({st}) before connecting:\n{}",
                    self.log()
                )));
            }
            if let Ok(s) = admin_status(self.admin_port, &self.admin_password) {
                if s.contains(&marker) {
                    return Ok(());
                }
            }
            if Instant::now() >= deadline {
                return Err(io::Error::new(
                    ErrorKind::TimedOut,
                    format!(
                        "fake SMSC did not come online within {timeout:?}:\n{}",
                        self.log()
                    ),
                ));
            }
            thread::sleep(Duration::from_millis(25));
        }
    }

    /// Inject one more MO; returns when fakesmsc has written it to bearerbox.
    pub fn send_mo(&self, mo: &FakeMo) -> io::Result<()> {
        let (line, pieces) = mo_line(mo)?;
        let target = {
            let mut guard = self.stdin.lock().unwrap_or_else(|e| e.into_inner());
            let s = guard
                .as_mut()
                .ok_or_else(|| io::Error::new(ErrorKind::BrokenPipe, "fakesmsc stdin closed"))?;
            s.write_all(&line)?;
            s.flush()?;
            self.target.fetch_add(pieces, Ordering::SeqCst) + pieces
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut st = self.shared.state.lock().unwrap_or_else(|e| e.into_inner());
        while st.sent < target {
            if st.exited {
                drop(st);
                return Err(io::Error::new(
                    ErrorKind::BrokenPipe,
                    format!("fakesmsc exited before sending MO {mo:?}:\n{}", self.log()),
                ));
            }
            let now = Instant::now();
            if now >= deadline {
                drop(st);
                return Err(io::Error::new(
                    ErrorKind::TimedOut,
                    format!(
                        "fakesmsc did not send MO {mo:?} within 20s:\n{}",
                        self.log()
                    ),
                ));
            }
            st = self
                .shared
                .cond
                .wait_timeout(st, deadline - now)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        Ok(())
    }

    /// Wait until at least `n` MTs have been received (or `timeout` passes,
    /// or fakesmsc exits) and return all MTs received so far.
    pub fn wait_for(&self, n: usize, timeout: Duration) -> Vec<ReceivedMt> {
        let deadline = Instant::now() + timeout;
        let mut st = self.shared.state.lock().unwrap_or_else(|e| e.into_inner());
        while st.received.len() < n && !st.exited {
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            st = self
                .shared
                .cond
                .wait_timeout(st, deadline - now)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        st.received.clone()
    }

    /// All MTs received so far (complete concatenations only).
    pub fn received(&self) -> Vec<ReceivedMt> {
        self.shared
            .state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .received
            .clone()
    }

    /// How many MTs have been received so far.
    pub fn received_count(&self) -> usize {
        self.shared
            .state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .received
            .len()
    }

    /// The MTs received after the first `from` (cheap to poll when thousands have arrived).
    pub fn received_since(&self, from: usize) -> Vec<ReceivedMt> {
        let st = self.shared.state.lock().unwrap_or_else(|e| e.into_inner());
        st.received
            .get(from..)
            .map(<[_]>::to_vec)
            .unwrap_or_default()
    }

    /// The raw `<...>` payload of every `Got message` line, for debugging.
    pub fn raw_lines(&self) -> Vec<String> {
        self.shared
            .state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .raw
            .clone()
    }

    /// fakesmsc's own log (its stderr) so far; also in `kannel.dir()/fakesmsc-N.log`.
    pub fn log(&self) -> String {
        fs::read(&self.log_path)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(|c| c.id())
    }
}

impl Drop for FakeSmsc {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        self.stdin.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        if let Some(h) = self.reader.take() {
            let _ = h.join();
        }
        if let Some(h) = self.nudger.take() {
            let _ = h.join();
        }
        // Let bearerbox notice the EOF before another FakeSmsc connects, so
        // that the next "online" really means the next connection.
        let deadline = Instant::now() + Duration::from_secs(2);
        let marker = format!("FAKE:{} (online", self.smsc_port);
        while Instant::now() < deadline {
            match admin_status(self.admin_port, &self.admin_password) {
                Ok(s) if s.contains(&marker) => thread::sleep(Duration::from_millis(20)),
                _ => break,
            }
        }
        self.attached.store(false, Ordering::SeqCst);
    }
}

fn read_fakesmsc_output(stderr: impl Read, mut log: Option<File>, shared: Arc<FakeShared>) {
    let mut reader = BufReader::new(stderr);
    let mut buf = Vec::new();
    loop {
        buf.clear();
        match reader.read_until(b'\n', &mut buf) {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
        while buf.last() == Some(&b'\n') {
            buf.pop();
        }
        if let Some(f) = log.as_mut() {
            let _ = f.write_all(&buf);
            let _ = f.write_all(b"\n");
        }
        let mut st = shared.state.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(pos) = find(&buf, b"Got message ") {
            let rest = &buf[pos + b"Got message ".len()..];
            if let Some(lt) = find(rest, b": <") {
                let mut content = &rest[lt + 3..];
                if content.last() == Some(&b'>') {
                    content = &content[..content.len() - 1];
                }
                st.raw.push(String::from_utf8_lossy(content).into_owned());
                handle_mt(&mut st, content);
            }
        } else if let Some(pos) = find(&buf, b"fakesmsc: sent message ") {
            let digits: String = buf[pos + b"fakesmsc: sent message ".len()..]
                .iter()
                .take_while(|b| b.is_ascii_digit())
                .map(|b| *b as char)
                .collect();
            if let Ok(n) = digits.parse::<u64>() {
                st.sent = st.sent.max(n);
            }
        }
        drop(st);
        shared.cond.notify_all();
    }
    shared
        .state
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .exited = true;
    shared.cond.notify_all();
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn decode_8bit(b: &[u8]) -> String {
    match std::str::from_utf8(b) {
        Ok(s) => s.to_string(),
        Err(_) => b.iter().map(|&c| c as char).collect(), // Latin-1
    }
}

fn decode_utf16be(b: &[u8]) -> String {
    let units: Vec<u16> = b
        .chunks(2)
        .map(|c| u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]))
        .collect();
    String::from_utf16_lossy(&units)
}

/// Concatenation info from a UDH: (reference, total, sequence).
fn concat_info(udh: &[u8]) -> Option<(u16, u8, u8)> {
    let udhl = *udh.first()? as usize;
    let ies = &udh[1..udh.len().min(1 + udhl)];
    let mut i = 0;
    while i + 2 <= ies.len() {
        let (iei, iel) = (ies[i], ies[i + 1] as usize);
        let d = ies.get(i + 2..i + 2 + iel)?;
        match (iei, iel) {
            (0x00, 3) => return Some((d[0] as u16, d[1], d[2])),
            (0x08, 4) => return Some((u16::from_be_bytes([d[0], d[1]]), d[2], d[3])),
            _ => {}
        }
        i += 2 + iel;
    }
    None
}

/// fakesmsc's `udh` lines do not say which coding the data is in. Guess:
/// a part longer than the 140-octet payload can only be 7-bit text; a
/// multi-part message whose parts all fit is UCS-2 (a 7-bit first part would
/// hold 153 characters); single parts are UCS-2 if they contain a 0x00 high
/// byte or non-printable bytes.
fn guess_ucs2(parts: &[Vec<u8>], udh_len: usize) -> bool {
    let max_payload = 140usize.saturating_sub(udh_len);
    if parts.iter().any(|p| p.len() > max_payload) {
        return false;
    }
    let all: Vec<u8> = parts.concat();
    if all.len() % 2 == 1 {
        return false;
    }
    let units: Vec<u16> = all
        .chunks(2)
        .map(|c| u16::from_be_bytes([c[0], c[1]]))
        .collect();
    if char::decode_utf16(units.iter().copied()).any(|r| r.is_err()) {
        return false;
    }
    if parts.len() > 1 {
        return true;
    }
    all.chunks(2).any(|c| c[0] == 0) || !all.iter().all(|b| (0x20..0x7f).contains(b))
}

fn handle_mt(st: &mut FakeState, content: &[u8]) {
    let mut it = content.splitn(4, |&b| b == b' ');
    let (from, to, kind, rest) = (it.next(), it.next(), it.next(), it.next());
    let parsed = match (from, to, kind) {
        (Some(f), Some(t), Some(k)) if !f.is_empty() && !t.is_empty() => Some((
            String::from_utf8_lossy(f).into_owned(),
            String::from_utf8_lossy(t).into_owned(),
            k,
        )),
        _ => None,
    };
    let rest = rest.unwrap_or(b"");
    let push = |st: &mut FakeState, mt: ReceivedMt| {
        st.last_text = if mt.coding == MtCoding::Text {
            Some(st.received.len())
        } else {
            None
        };
        st.received.push(mt);
    };
    match parsed {
        Some((from, to, kind @ (b"text" | b"data" | b"ucs-2"))) => {
            let (text, coding) = match kind {
                b"text" => (decode_8bit(rest), MtCoding::Text),
                b"data" => (decode_8bit(&url_decode_bytes(rest)), MtCoding::Data),
                _ => (decode_utf16be(&url_decode_bytes(rest)), MtCoding::Ucs2),
            };
            let mt = ReceivedMt {
                from,
                to,
                text,
                coding,
                parts: 1,
            };
            push(st, mt)
        }
        Some((from, to, b"udh")) => {
            // "<udh> data <data>"
            let mut p = rest.splitn(3, |&b| b == b' ');
            let udh = url_decode_bytes(p.next().unwrap_or(b""));
            let _data_kw = p.next();
            let data = url_decode_bytes(p.next().unwrap_or(b""));
            let finish = |st: &mut FakeState,
                          from: String,
                          to: String,
                          parts: Vec<Vec<u8>>,
                          udh_len: usize| {
                let n = parts.len();
                let (text, coding) = if guess_ucs2(&parts, udh_len) {
                    (decode_utf16be(&parts.concat()), MtCoding::Ucs2)
                } else {
                    (decode_8bit(&parts.concat()), MtCoding::Text)
                };
                push(
                    st,
                    ReceivedMt {
                        from,
                        to,
                        text,
                        coding,
                        parts: n,
                    },
                );
            };
            match concat_info(&udh) {
                Some((r, total, seq)) if total >= 1 && seq >= 1 && seq <= total => {
                    let key = (from.clone(), to.clone(), r, total);
                    let entry = st
                        .pending
                        .entry(key.clone())
                        .or_insert_with(|| PendingConcat {
                            parts: vec![None; total as usize],
                            udh_len: udh.len(),
                        });
                    entry.parts[seq as usize - 1] = Some(data);
                    if entry.parts.iter().all(|p| p.is_some()) {
                        let done = st.pending.remove(&key).unwrap();
                        let parts: Vec<Vec<u8>> =
                            done.parts.into_iter().map(|p| p.unwrap()).collect();
                        finish(st, from, to, parts, done.udh_len);
                    }
                }
                _ => finish(st, from, to, vec![data], udh.len()),
            }
        }
        _ => {
            // A 7-bit text containing '\n' is split by the line protocol:
            // the continuation shows up as its own "Got message" line.
            if let Some(i) = st.last_text {
                let mt = &mut st.received[i];
                mt.text.push('\n');
                mt.text.push_str(&decode_8bit(content));
            }
        }
    }
}

// ---------------------------------------------------------------------------
// HTTP and URL helpers
// ---------------------------------------------------------------------------

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpResponse {
    pub status: u16,
    pub body: String,
}

/// Blocking GET of `url` with `query` appended (url-encoded).
pub fn http_get(url: &str, query: &[(&str, &str)], timeout: Duration) -> io::Result<HttpResponse> {
    let get = || -> reqwest::Result<HttpResponse> {
        let r = reqwest::blocking::Client::builder()
            .timeout(timeout)
            .no_proxy()
            .build()?
            .get(url)
            .query(query)
            .send()?;
        let status = r.status().as_u16();
        Ok(HttpResponse {
            status,
            body: r.text()?,
        })
    };
    get().map_err(|e| {
        let kind = if e.is_timeout() {
            ErrorKind::TimedOut
        } else {
            ErrorKind::Other
        };
        io::Error::new(kind, format!("GET {url}: {e}"))
    })
}

/// Decode `%XX` and `+` (space), as in Kannel's %b and query strings, to raw bytes (UCS-2
/// texts are not UTF-8). Malformed escapes are kept literally.
pub fn url_decode(s: &str) -> Vec<u8> {
    url_decode_bytes(s.as_bytes())
}

fn url_decode_bytes(s: &[u8]) -> Vec<u8> {
    let plus_as_space: Vec<u8> = s
        .iter()
        .map(|&b| if b == b'+' { b' ' } else { b })
        .collect();
    percent_encoding::percent_decode(&plus_as_space).collect()
}

/// Split a query string (`a=1&b=%E4%BD%A0`) into decoded pairs; values are
/// decoded as UTF-8 (lossy).
pub fn parse_query(query: &str) -> Vec<(String, String)> {
    url::form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect()
}
