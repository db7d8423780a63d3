//! A real SMTP server on 127.0.0.1 for tests of code that sends mail with `lettre`
//! (`SmtpTransport::builder_dangerous(server.host()).port(server.port())`, plain, no TLS).
//! It keeps every message it accepts as an [`Email`], whose helpers decode the subject and
//! the text/html parts, so tests can compare them with what was meant to be sent.
//!
//! Start one per test (`SmtpServer::start()`, or `with_auth(user, pass)`): each listens on
//! its own port, so tests run in parallel. Dropping it closes the listener and every
//! connection and joins all its threads; an idle connection is closed after 30 s.
//! Needs `pub mod smtp;` in tests/it/support/mod.rs.
//!
//! What lettre 0.11.23 sends (observed; features builder, smtp-transport, hostname, no pool):
//! - One TCP connection per `send()`: read 220, `EHLO <machine's hostname>`, with credentials
//!   `AUTH PLAIN <base64 "\0user\0pass">` (PLAIN is preferred when both are offered; with
//!   `.authentication(vec![Mechanism::Login])`: `AUTH LOGIN`, then the user and the password
//!   in base64, each after a 334 whose base64 text must decode to `Username:`/`Password:`),
//!   `MAIL FROM:<a>`, one `RCPT TO:<b>` per recipient, `DATA`, the content, `QUIT`. It waits
//!   for each reply: no pipelining, even when advertised. AUTH over plain TCP is allowed with
//!   `builder_dangerous`. `test_connection()` is connect, EHLO, AUTH, `NOOP`, `QUIT`.
//! - `MAIL FROM` gets ` BODY=8BITMIME` only when the formatted message has a non-ASCII byte
//!   (only with a forced 8bit part, see below), ` SMTPUTF8` only for a non-ASCII address.
//!   lettre refuses to send those if EHLO did not list `8BITMIME`/`SMTPUTF8`; it matches the
//!   capability keywords case-sensitively.
//! - On an error reply (451 at RCPT, say) it sends `QUIT` and closes; the `Error` is
//!   `is_transient()` for 4xx and `is_permanent()` for 5xx. After a 535 it just closes.
//! - Headers: `From` (a display name as `=?utf-8?b?...?=`), `Subject` (non-ASCII: B
//!   encoded-words cut at character boundaries, folded with CRLF SP: the 23-character
//!   Chinese subject takes two), `To` (comma-separated), `MIME-Version`, `Date` (always added),
//!   `Content-Type: multipart/alternative;` with `boundary="<40 alphanumerics>"` on a folded
//!   line. No `Message-ID` unless the builder is given `.message_id(None)` (generates one).
//! - Bodies: line endings become CRLF. For non-ASCII text lettre picks quoted-printable or
//!   base64 by size, never 8bit (Chinese/Tibetan text: base64). Forcing
//!   `ContentTransferEncoding::EightBit` panics ("invalid encoding") if a line has 76 bytes or
//!   more, i.e. about 25 CJK characters. Its quoted-printable soft line breaks cut UTF-8
//!   sequences in two, and leave a leading `.` as is (so dot-stuffing is needed there too).
//! - With lettre's `pool` feature (a default one) a connection is kept and reused after a
//!   `NOOP`: no QUIT after each message (after an error reply it still QUITs and reconnects);
//!   `Drop` of this server closes kept connections under the pool.
//! - A send takes about 40 ms here: lettre writes the content and the final "\r\n.\r\n" in
//!   two writes without TCP_NODELAY, so the second waits for the server's delayed ACK.
//! - The content always gets "\r\n.\r\n" appended, so a multipart message arrives ending
//!   in `--boundary--\r\n\r\n` (as `Email::data` keeps it).
//!
//! Gotchas of this server:
//! - `messages()` holds accepted messages only; refused transactions show in `transcript()`.
//! - `fail_next(n)` counts transactions (MAIL..end of DATA) on all connections, not sends:
//!   each lettre `send()` is one. At RCPT it is decided at the first RCPT of a transaction.
//! - `wait_for` returns what arrived by the timeout, even fewer than asked: assert the length.
//! - `text_part()`/`html_part()` return LF line endings (the sender's "\n" comes back as
//!   "\n"); `data` is lossy UTF-8 with CRLF. `mail-parser` does the MIME decoding.
//! - `SmtpTransport` blocks: call it from async code via `spawn_blocking` (or use lettre's
//!   `AsyncSmtpTransport`, feature `tokio1`); either talks to this server the same way.

#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{self, BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// Largest message accepted (advertised as `SIZE`); a larger one gets 552.
pub const MAX_SIZE: usize = 10 * 1024 * 1024;
/// A connection idle this long gets 421 and is closed.
const IDLE: Duration = Duration::from_secs(30);
const MAX_COMMAND_LINE: u64 = 64 * 1024;

/// One message accepted by the server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Email {
    /// Envelope sender (`MAIL FROM:<...>`, without the brackets; empty for `<>`).
    pub from: String,
    /// Envelope recipients (`RCPT TO:<...>`), in order.
    pub to: Vec<String>,
    /// The raw RFC 5322 message as received, dot-unstuffed, CRLF line endings, ending with
    /// the CRLF before the terminating `.`.
    pub data: String,
}

/// Where [`SmtpServer::fail_next_at`] answers `451 4.3.0 try again later`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailAt {
    /// Every `RCPT TO` of the transaction (a client stops at the first).
    Rcpt,
    /// After the message content (the whole message was sent, then refused).
    Data,
}

struct State {
    messages: Vec<Email>,
    transcript: Vec<String>,
    fail: usize,
    fail_at: FailAt,
    conns: HashMap<u64, TcpStream>,
    threads: Vec<JoinHandle<()>>,
}

struct Shared {
    state: Mutex<State>,
    arrived: Condvar,
    auth: Option<(String, String)>,
    stop: AtomicBool,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panicking test thread must not make every later call panic too.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The server; dropping it closes the listener and every connection and joins the threads.
pub struct SmtpServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    acceptor: Option<JoinHandle<()>>,
}

impl SmtpServer {
    /// A server without authentication (AUTH is not advertised).
    pub fn start() -> io::Result<SmtpServer> {
        Self::spawn(None)
    }

    /// A server that advertises `AUTH PLAIN LOGIN` and requires it before `MAIL`:
    /// wrong credentials get `535 5.7.8`.
    pub fn with_auth(user: &str, pass: &str) -> io::Result<SmtpServer> {
        Self::spawn(Some((user.to_string(), pass.to_string())))
    }

    fn spawn(auth: Option<(String, String)>) -> io::Result<SmtpServer> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                messages: Vec::new(),
                transcript: Vec::new(),
                fail: 0,
                fail_at: FailAt::Rcpt,
                conns: HashMap::new(),
                threads: Vec::new(),
            }),
            arrived: Condvar::new(),
            auth,
            stop: AtomicBool::new(false),
        });
        let sh = shared.clone();
        let acceptor = thread::Builder::new()
            .name("smtp-accept".into())
            .spawn(move || accept_loop(listener, sh))?;
        Ok(SmtpServer {
            addr,
            shared,
            acceptor: Some(acceptor),
        })
    }

    pub fn host(&self) -> String {
        self.addr.ip().to_string()
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The messages accepted so far, in order.
    pub fn messages(&self) -> Vec<Email> {
        self.shared.lock().messages.clone()
    }

    /// Waits until at least `n` messages were accepted or `timeout` passed, then returns all
    /// of them (fewer than `n` on timeout: assert on the length).
    pub fn wait_for(&self, n: usize, timeout: Duration) -> Vec<Email> {
        let deadline = Instant::now() + timeout;
        let mut st = self.shared.lock();
        while st.messages.len() < n {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            st = match self.shared.arrived.wait_timeout(st, left) {
                Ok((g, _)) => g,
                Err(e) => e.into_inner().0,
            };
        }
        st.messages.clone()
    }

    /// The next `n` transactions (MAIL..DATA) get `451 4.3.0 try again later` at RCPT.
    pub fn fail_next(&self, n: usize) {
        self.fail_next_at(n, FailAt::Rcpt);
    }

    /// The next `n` transactions get `451 4.3.0 try again later` at the given step.
    pub fn fail_next_at(&self, n: usize, at: FailAt) {
        let mut st = self.shared.lock();
        st.fail = n;
        st.fail_at = at;
    }

    /// Every line exchanged so far, on all connections: `C: EHLO x`, `S: 250-...`; message
    /// content is summed up as `C: <N bytes>`. For debugging and for asserting the dialogue.
    pub fn transcript(&self) -> Vec<String> {
        self.shared.lock().transcript.clone()
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        // Wake the blocking accept(); it sees `stop` and returns, closing the listener.
        // (Should that connect fail, the acceptor is left detached rather than waited for.)
        let woken = TcpStream::connect_timeout(&self.addr, Duration::from_secs(2)).is_ok();
        if let Some(a) = self.acceptor.take().filter(|_| woken) {
            let _ = a.join();
        }
        let (conns, threads) = {
            let mut st = self.shared.lock();
            (
                std::mem::take(&mut st.conns),
                std::mem::take(&mut st.threads),
            )
        };
        for c in conns.values() {
            let _ = c.shutdown(Shutdown::Both); // makes the blocked read return
        }
        for t in threads {
            let _ = t.join();
        }
    }
}

fn accept_loop(listener: TcpListener, sh: Arc<Shared>) {
    let mut next_id = 0u64;
    for stream in listener.incoming() {
        if sh.stop.load(Ordering::SeqCst) {
            return;
        }
        let Ok(stream) = stream else {
            thread::sleep(Duration::from_millis(10)); // e.g. out of file descriptors
            continue;
        };
        let Ok(clone) = stream.try_clone() else {
            continue; // a connection Drop could not shut down would hold it up
        };
        next_id += 1;
        let id = next_id;
        let mut st = sh.lock();
        st.conns.insert(id, clone);
        let sh2 = sh.clone();
        let spawned = thread::Builder::new()
            .name(format!("smtp-conn-{id}"))
            .spawn(move || {
                let _ = Session::new(stream, &sh2).and_then(|mut s| s.run());
                sh2.lock().conns.remove(&id);
            });
        match spawned {
            Ok(t) => st.threads.push(t),
            Err(_) => {
                st.conns.remove(&id);
            }
        }
    }
}

struct Session<'a> {
    sh: &'a Shared,
    out: TcpStream,
    rd: BufReader<TcpStream>,
    greeted: bool,
    authed: bool,
    from: Option<String>,
    to: Vec<String>,
    failing: bool,
}

impl<'a> Session<'a> {
    fn new(stream: TcpStream, sh: &'a Shared) -> io::Result<Session<'a>> {
        stream.set_read_timeout(Some(IDLE))?;
        stream.set_write_timeout(Some(IDLE))?;
        Ok(Session {
            sh,
            out: stream.try_clone()?,
            rd: BufReader::new(stream),
            greeted: false,
            authed: false,
            from: None,
            to: Vec::new(),
            failing: false,
        })
    }

    fn log(&self, line: String) {
        self.sh.lock().transcript.push(line);
    }

    /// Sends a reply; `text` may hold several lines separated by `\n`.
    fn reply(&mut self, code: u16, text: &str) -> io::Result<()> {
        let lines: Vec<&str> = text.split('\n').collect();
        let mut out = String::new();
        for (i, l) in lines.iter().enumerate() {
            let sep = if i + 1 < lines.len() { '-' } else { ' ' };
            out.push_str(&format!("{code}{sep}{l}\r\n"));
            self.log(format!("S: {code}{sep}{l}"));
        }
        self.out.write_all(out.as_bytes())
    }

    /// One line including its `\n`; `None` at end of stream (or a line longer than `max`).
    fn read_line(&mut self, max: u64) -> io::Result<Option<Vec<u8>>> {
        let mut buf = Vec::new();
        match (&mut self.rd).take(max).read_until(b'\n', &mut buf) {
            Ok(_) if buf.ends_with(b"\n") => Ok(Some(buf)),
            Ok(_) => Ok(None),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                let _ = self.reply(421, "4.4.2 idle too long, closing");
                Err(e)
            }
            Err(e) => Err(e),
        }
    }

    fn read_text_line(&mut self) -> io::Result<Option<String>> {
        Ok(self.read_line(MAX_COMMAND_LINE)?.map(|l| {
            let l = String::from_utf8_lossy(&l);
            l.trim_end_matches(['\r', '\n']).to_string()
        }))
    }

    fn reset(&mut self) {
        self.from = None;
        self.to.clear();
        self.failing = false;
    }

    fn take_failure(&self, at: FailAt) -> bool {
        let mut st = self.sh.lock();
        let hit = st.fail > 0 && st.fail_at == at;
        if hit {
            st.fail -= 1;
        }
        hit
    }

    fn run(&mut self) -> io::Result<()> {
        self.reply(220, "localhost ESMTP hotline test server")?;
        while let Some(line) = self.read_text_line()? {
            self.log(format!("C: {line}"));
            let (verb, arg) = line.split_once(' ').unwrap_or((&line, ""));
            let arg = arg.trim();
            match verb.to_ascii_uppercase().as_str() {
                "EHLO" => {
                    self.reset();
                    self.greeted = true;
                    let mut caps = format!("localhost greets {arg}\nPIPELINING\n8BITMIME\nSMTPUTF8\nENHANCEDSTATUSCODES\nSIZE {MAX_SIZE}");
                    if self.sh.auth.is_some() {
                        caps.push_str("\nAUTH PLAIN LOGIN");
                    }
                    self.reply(250, &caps)?
                }
                "HELO" => {
                    self.reset();
                    self.greeted = true;
                    self.reply(250, "localhost")?
                }
                "AUTH" => self.auth(arg)?,
                "MAIL" => self.mail(arg)?,
                "RCPT" => self.rcpt(arg)?,
                "DATA" => {
                    if !self.data()? {
                        return Ok(());
                    }
                }
                "RSET" => {
                    self.reset();
                    self.reply(250, "2.0.0 OK")?
                }
                "NOOP" => self.reply(250, "2.0.0 OK")?,
                "QUIT" => return self.reply(221, "2.0.0 Bye"),
                "VRFY" | "EXPN" | "HELP" | "STARTTLS" | "BDAT" | "ETRN" | "TURN" => {
                    self.reply(502, "5.5.1 Command not implemented")?
                }
                _ => self.reply(500, "5.5.2 Command unrecognized")?,
            }
        }
        Ok(())
    }

    fn mail(&mut self, arg: &str) -> io::Result<()> {
        if !self.greeted {
            return self.reply(503, "5.5.1 Send EHLO or HELO first");
        }
        if self.sh.auth.is_some() && !self.authed {
            return self.reply(530, "5.7.0 Authentication required");
        }
        if self.from.is_some() {
            return self.reply(503, "5.5.1 Nested MAIL command");
        }
        let Some((path, params)) = parse_path(arg, "FROM:") else {
            return self.reply(501, "5.5.4 Syntax: MAIL FROM:<address>");
        };
        let size = params.split_whitespace().find_map(|p| {
            let (k, v) = p.split_once('=')?;
            k.eq_ignore_ascii_case("SIZE")
                .then(|| v.parse::<usize>().ok())?
        });
        if size.is_some_and(|s| s > MAX_SIZE) {
            return self.reply(552, "5.3.4 Message too big");
        }
        self.from = Some(path);
        self.reply(250, "2.1.0 OK")
    }

    fn rcpt(&mut self, arg: &str) -> io::Result<()> {
        if self.from.is_none() {
            return self.reply(503, "5.5.1 Need MAIL before RCPT");
        }
        let Some((path, _)) = parse_path(arg, "TO:") else {
            return self.reply(501, "5.5.4 Syntax: RCPT TO:<address>");
        };
        if !self.failing && self.to.is_empty() && self.take_failure(FailAt::Rcpt) {
            self.failing = true;
        }
        if self.failing {
            return self.reply(451, "4.3.0 try again later");
        }
        self.to.push(path);
        self.reply(250, "2.1.5 OK")
    }

    /// Returns false when the connection ended inside the message.
    fn data(&mut self) -> io::Result<bool> {
        if self.from.is_none() || self.to.is_empty() {
            self.reply(503, "5.5.1 Need MAIL and RCPT before DATA")?;
            return Ok(true);
        }
        self.reply(354, "End data with <CR><LF>.<CR><LF>")?;
        let mut data = Vec::new();
        let mut too_big = false;
        loop {
            let Some(line) = self.read_line(MAX_SIZE as u64 + 3)? else {
                return Ok(false);
            };
            if line == b".\r\n" || line == b".\n" {
                break;
            }
            let line = line.strip_prefix(b".").unwrap_or(&line); // dot-unstuffing
            if data.len() + line.len() > MAX_SIZE {
                too_big = true;
            } else {
                data.extend_from_slice(line);
            }
        }
        self.log(format!("C: <{} bytes>", data.len()));
        self.log("C: .".into());
        if too_big {
            self.reset();
            self.reply(552, "5.3.4 Message too big")?;
            return Ok(true);
        }
        if self.take_failure(FailAt::Data) {
            self.reset();
            self.reply(451, "4.3.0 try again later")?;
            return Ok(true);
        }
        let email = Email {
            from: self.from.take().unwrap_or_default(),
            to: std::mem::take(&mut self.to),
            data: String::from_utf8_lossy(&data).into_owned(),
        };
        let n = {
            let mut st = self.sh.lock();
            st.messages.push(email);
            st.messages.len()
        };
        self.sh.arrived.notify_all();
        self.reset();
        self.reply(250, &format!("2.0.0 OK queued as {n}"))?;
        Ok(true)
    }

    fn auth(&mut self, arg: &str) -> io::Result<()> {
        let Some((user, pass)) = self.sh.auth.clone() else {
            return self.reply(502, "5.5.1 AUTH not available");
        };
        if self.authed || self.from.is_some() {
            return self.reply(503, "5.5.1 AUTH not allowed now");
        }
        let (mech, initial) = arg.split_once(' ').unwrap_or((arg, ""));
        let mut initial = Some(initial.trim())
            .filter(|s| !s.is_empty())
            .map(String::from);
        let mut answer = |s: &mut Self, challenge: &str| -> io::Result<Option<String>> {
            if let Some(i) = initial.take() {
                return Ok(Some(i));
            }
            s.reply(334, challenge)?;
            let line = s.read_text_line()?;
            s.log(format!("C: {}", line.as_deref().unwrap_or("")));
            Ok(line.filter(|l| l != "*"))
        };
        let got = match mech.to_ascii_uppercase().as_str() {
            "PLAIN" => answer(self, "")?.map(|r| {
                // [authzid] NUL authcid NUL passwd
                let r = base64_text(&r);
                let mut p = r.split('\0').skip(1);
                (
                    p.next().unwrap_or("").to_string(),
                    p.next().unwrap_or("").to_string(),
                )
            }),
            "LOGIN" => {
                let u = answer(self, "VXNlcm5hbWU6")?; // "Username:"
                let p = match u {
                    Some(_) => answer(self, "UGFzc3dvcmQ6")?, // "Password:"
                    None => None,
                };
                u.zip(p).map(|(u, p)| (base64_text(&u), base64_text(&p)))
            }
            _ => return self.reply(504, "5.5.4 Unrecognized authentication type"),
        };
        match got {
            None => self.reply(501, "5.7.0 Authentication cancelled"),
            Some((u, p)) if u == user && p == pass => {
                self.authed = true;
                self.reply(235, "2.7.0 Authentication successful")
            }
            Some(_) => self.reply(535, "5.7.8 Authentication credentials invalid"),
        }
    }
}

/// A base64 AUTH answer as (lossy) UTF-8; empty when it is not base64.
fn base64_text(s: &str) -> String {
    use base64::Engine as _;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(s.trim())
        .unwrap_or_default();
    String::from_utf8_lossy(&bytes).into_owned()
}

/// `FROM:<a@b> BODY=8BITMIME` -> ("a@b", "BODY=8BITMIME")
fn parse_path(arg: &str, keyword: &str) -> Option<(String, String)> {
    let head = arg.get(..keyword.len())?;
    if !head.eq_ignore_ascii_case(keyword) {
        return None;
    }
    let rest = arg[keyword.len()..].trim_start();
    let rest = rest.strip_prefix('<')?;
    let end = rest.find('>')?;
    Some((rest[..end].to_string(), rest[end + 1..].trim().to_string()))
}

// ---------------------------------------------------------------- message helpers

impl Email {
    /// The message parsed, without the line break that ends the DATA content.
    fn parsed(&self) -> Option<mail_parser::Message<'_>> {
        let data = self.data.strip_suffix("\r\n").unwrap_or(&self.data);
        mail_parser::MessageParser::default().parse(data.as_bytes())
    }

    /// The first header field of that name (case-insensitive), unfolded, not decoded.
    pub fn header(&self, name: &str) -> Option<String> {
        let raw = self.parsed()?.header_raw(name)?.replace(['\r', '\n'], "");
        Some(raw.trim().to_string())
    }

    /// The Subject, with RFC 2047 encoded-words (B and Q) decoded. Our own decoder, not
    /// mail_parser's: that one decodes each word alone, garbling a character split across
    /// two words.
    pub fn subject(&self) -> Option<String> {
        self.header("Subject").map(|s| decode_words(&s))
    }

    /// The first text/plain part (or the body of a text/plain message), transfer-encoding
    /// and charset decoded, with LF line endings.
    pub fn text_part(&self) -> Option<String> {
        self.part("plain")
    }

    /// The first text/html part, decoded like [`Email::text_part`].
    pub fn html_part(&self) -> Option<String> {
        self.part("html")
    }

    /// The first text/`subtype` part that is not an attachment. Not mail_parser's
    /// `body_text`/`body_html`: those convert the other part when one is missing.
    fn part(&self, subtype: &str) -> Option<String> {
        use mail_parser::{MimeHeaders, PartType};
        let msg = self.parsed()?;
        msg.parts.iter().find_map(|p| {
            let is_it = match p.content_type() {
                Some(ct) => {
                    ct.ctype().eq_ignore_ascii_case("text")
                        && ct
                            .subtype()
                            .is_some_and(|s| s.eq_ignore_ascii_case(subtype))
                }
                None => subtype == "plain",
            };
            let attachment = p.content_disposition().is_some_and(|d| d.is_attachment());
            match &p.body {
                PartType::Text(t) | PartType::Html(t) if is_it && !attachment => {
                    Some(t.replace("\r\n", "\n"))
                }
                _ => None,
            }
        })
    }
}

fn charset_decode(bytes: &[u8], charset: &str) -> String {
    match charset.to_ascii_lowercase().as_str() {
        "iso-8859-1" | "latin1" | "latin-1" => bytes.iter().map(|&b| b as char).collect(),
        _ => String::from_utf8_lossy(bytes).into_owned(), // utf-8, us-ascii, unknown
    }
}

/// `=XX` escapes (and `_` as space when `underscore`, for RFC 2047 Q).
fn unescape(s: &[u8], underscore: bool, out: &mut Vec<u8>) {
    let mut i = 0;
    while i < s.len() {
        let hex = s
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok());
        match (s[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'=', Some(b)) => {
                out.push(b);
                i += 3;
                continue;
            }
            (b'_', _) if underscore => out.push(b' '),
            (b, _) => out.push(b),
        }
        i += 1;
    }
}

/// Decodes RFC 2047 encoded-words; whitespace (including folding) between adjacent
/// encoded-words is dropped, and their bytes are joined before charset decoding, so a
/// character split across two words comes out whole.
pub fn decode_words(s: &str) -> String {
    let (mut out, mut rest) = (String::new(), s);
    let mut pending: Option<(String, Vec<u8>)> = None; // charset, bytes
    let flush = |out: &mut String, p: &mut Option<(String, Vec<u8>)>| {
        if let Some((cs, b)) = p.take() {
            out.push_str(&charset_decode(&b, &cs));
        }
    };
    while let Some((start, len, charset, bytes)) = next_word(rest) {
        let gap = &rest[..start];
        let after_word = pending.is_some() && gap.trim().is_empty();
        if !(after_word && pending.as_ref().is_some_and(|p| p.0 == charset)) {
            flush(&mut out, &mut pending);
        }
        if !after_word {
            out.push_str(gap);
        }
        pending
            .get_or_insert_with(|| (charset, Vec::new()))
            .1
            .extend(bytes);
        rest = &rest[start + len..];
    }
    flush(&mut out, &mut pending);
    out.push_str(rest);
    out
}

/// (offset, length, charset, decoded bytes) of the first well-formed encoded-word.
fn next_word(s: &str) -> Option<(usize, usize, String, Vec<u8>)> {
    let mut from = 0;
    while let Some(p) = s[from..].find("=?") {
        let start = from + p;
        let mut it = s[start + 2..].splitn(3, '?');
        if let (Some(cs), Some(enc), Some(rest)) = (it.next(), it.next(), it.next()) {
            if let Some(end) = rest.find("?=") {
                let text = &rest[..end];
                let mut bytes = Vec::new();
                match enc {
                    "B" | "b" => {
                        use base64::Engine as _;
                        let b64 = base64::engine::GeneralPurpose::new(
                            &base64::alphabet::STANDARD,
                            base64::engine::GeneralPurposeConfig::new().with_decode_padding_mode(
                                base64::engine::DecodePaddingMode::Indifferent,
                            ),
                        );
                        bytes = b64.decode(text).unwrap_or_default()
                    }
                    "Q" | "q" => unescape(text.as_bytes(), true, &mut bytes),
                    _ => {}
                }
                let valid = matches!(enc, "B" | "b" | "Q" | "q")
                    && !cs.is_empty()
                    && !cs.contains(char::is_whitespace)
                    && !text.contains(char::is_whitespace);
                if valid {
                    let len = 2 + cs.len() + 1 + enc.len() + 1 + end + 2;
                    let cs = cs.split('*').next().unwrap_or("").to_ascii_lowercase();
                    return Some((start, len, cs, bytes));
                }
            }
        }
        from = start + 2;
    }
    None
}
