//! Proves the headless-Chromium harness (tests/it/support/browser.rs) works on
//! its own, without the hotline service: a tiny std-only HTTP server in the test
//! serves a login form (CSRF hidden input, Chinese + Tibetan labels), checks the
//! POST, sets an HttpOnly SameSite=Lax session cookie and redirects (303) to a
//! case list; the browser logs in, reads the list, runs a little JavaScript and
//! takes a screenshot.
//!
//! Needs Debian's `chromium` and `chromium-driver`. Without them the test is
//! skipped, unless `CI` is set, in which case it fails. Set
//! `BROWSER_SCREENSHOT_DIR` to keep the screenshots.

use crate::support::browser::{browser_available, Browser, INSTALL_HINT};
use serde_json::json;
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const USERNAME: &str = "检查员";
const CASE_LINE: &str = "Q123459 拉萨北环路改造工程 བཀྲ་ཤིས";
const REMARK: &str = "བཀྲ་ཤིས་བདེ་ལེགས། 你好，世界";

/// One request as the server saw it.
#[derive(Clone, Debug)]
struct Seen {
    method: String,
    path: String,
    cookie: String,
    form: HashMap<String, String>,
}

struct Console {
    port: u16,
    csrf: String,
    session: String,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Console {
    fn start() -> Console {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind console");
        let port = listener.local_addr().unwrap().port();
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let csrf = format!("csrf{:x}{:x}", std::process::id(), nanos);
        let session = format!("s{:x}", nanos ^ 0x5eed);
        let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
        let (c, s, log) = (csrf.clone(), session.clone(), seen.clone());
        thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let (c, s, log) = (c.clone(), s.clone(), log.clone());
                thread::spawn(move || {
                    let _ = serve(stream, &c, &s, &log);
                });
            }
        });
        Console {
            port,
            csrf,
            session,
            seen,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

fn serve(
    stream: TcpStream,
    csrf: &str,
    session: &str,
    log: &Mutex<Vec<Seen>>,
) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut r = BufReader::new(stream);
    let mut line = String::new();
    r.read_line(&mut line)?;
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or("").to_string();
    let path = parts.next().unwrap_or("").to_string();
    let (mut len, mut cookie) = (0usize, String::new());
    loop {
        line.clear();
        if r.read_line(&mut line)? == 0 || line == "\r\n" {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            match k.to_ascii_lowercase().as_str() {
                "content-length" => len = v.trim().parse().unwrap_or(0),
                "cookie" => cookie = v.trim().to_string(),
                _ => {}
            }
        }
    }
    let mut body = vec![0; len];
    r.read_exact(&mut body)?;
    let form = parse_form(&String::from_utf8_lossy(&body));
    log.lock().unwrap().push(Seen {
        method: method.clone(),
        path: path.clone(),
        cookie: cookie.clone(),
        form: form.clone(),
    });

    let logged_in = cookie
        .split(';')
        .any(|c| c.trim() == format!("hotline_session={session}"));
    let (status, headers, html) = match (method.as_str(), path.as_str()) {
        ("GET", "/login") => ("200 OK", String::new(), login_page(csrf)),
        ("POST", "/login") => {
            let user = form.get("username").map(String::as_str).unwrap_or("");
            if form.get("csrf_token").map(String::as_str) != Some(csrf) {
                (
                    "403 Forbidden",
                    String::new(),
                    page("拒绝", "<p id=\"error\">CSRF 校验失败</p>"),
                )
            } else if user != USERNAME {
                (
                    "403 Forbidden",
                    String::new(),
                    page(
                        "拒绝",
                        &format!("<p id=\"error\">未知用户 {}</p>", esc(user)),
                    ),
                )
            } else {
                let h = format!(
                    "Location: /cases\r\nSet-Cookie: hotline_session={session}; Path=/; HttpOnly; SameSite=Lax\r\n"
                );
                ("303 See Other", h, String::new())
            }
        }
        ("GET", "/cases") if logged_in => ("200 OK", String::new(), cases_page()),
        ("GET", "/cases") => (
            "303 See Other",
            "Location: /login\r\n".into(),
            String::new(),
        ),
        _ => (
            "404 Not Found",
            String::new(),
            page("404", "<p>没有 / མེད།</p>"),
        ),
    };
    let mut s = r.into_inner();
    write!(
        s,
        "HTTP/1.1 {status}\r\n{headers}Content-Type: text/html; charset=utf-8\r\n\
         Content-Length: {}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n{html}",
        html.len()
    )?;
    s.flush()
}

fn page(title: &str, body: &str) -> String {
    format!(
        "<!doctype html><html lang=\"zh\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{title}</title>\
         <style>body{{font-family:sans-serif;margin:2em;font-size:20px}} label{{display:block;margin-top:1em}} input{{max-width:100%;box-sizing:border-box}}\
         .bo{{font-size:28px}}</style></head><body>{body}</body></html>"
    )
}

fn login_page(csrf: &str) -> String {
    page(
        "登录 ནང་འཛུལ།",
        &format!(
            "<h1>劳动监察热线 <span class=\"bo\">ལས་ཀའི་ལྟ་ཞིབ།</span></h1>\
             <form method=\"post\" action=\"/login\">\
             <input type=\"hidden\" name=\"csrf_token\" value=\"{csrf}\">\
             <label for=\"username\">用户名 <span class=\"bo\">སྤྱོད་མཁན།</span></label><input id=\"username\" name=\"username\">\
             <label for=\"password\">密码 <span class=\"bo\">གསང་ཨང་།</span></label><input id=\"password\" name=\"password\" type=\"password\">\
             <label for=\"remark\">备注 <span class=\"bo\">མཆན།</span></label><input id=\"remark\" name=\"remark\" size=\"40\">\
             <p><button type=\"submit\" id=\"login\">登录 ནང་འཛུལ།</button></p></form>"
        ),
    )
}

fn cases_page() -> String {
    page(
        "案件 རྩོད་གཞི།",
        &format!(
            "<h1>案件 <span class=\"bo\">རྩོད་གཞི།</span></h1>\
             <ul id=\"cases\"><li class=\"case\"><b class=\"case-id\">Q123459</b> \
             <span class=\"case-name bo\">拉萨北环路改造工程 བཀྲ་ཤིས</span></li></ul>\
             <p>欢迎 {USERNAME}</p><button type=\"button\" id=\"mark\" onclick=\"mark()\">标记 རྟགས།</button>\
             <p id=\"status\"></p>\
             <script>function mark() {{ var n = document.querySelectorAll('#cases li.case').length;\
             document.getElementById('status').textContent = '已标记 ' + n + ' 件 · cookie visible to JS: '\
             + (document.cookie.indexOf('hotline_session') >= 0); }}</script>"
        ),
    )
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// application/x-www-form-urlencoded, UTF-8.
fn parse_form(body: &str) -> HashMap<String, String> {
    fn dec(s: &str) -> String {
        let b = s.as_bytes();
        let (mut out, mut i) = (Vec::new(), 0);
        while i < b.len() {
            match b[i] {
                b'+' => out.push(b' '),
                b'%' if i + 2 < b.len()
                    && b[i + 1].is_ascii_hexdigit()
                    && b[i + 2].is_ascii_hexdigit() =>
                {
                    let hex = std::str::from_utf8(&b[i + 1..i + 3]).unwrap();
                    out.push(u8::from_str_radix(hex, 16).unwrap());
                    i += 2;
                }
                c => out.push(c),
            }
            i += 1;
        }
        String::from_utf8_lossy(&out).into_owned()
    }
    body.split('&')
        .filter(|kv| !kv.is_empty())
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            (dec(k), dec(v))
        })
        .collect()
}

/// A started browser, or None (test skipped) when Chromium is not installed
/// and CI is not set.
fn browser_or_skip(test: &str, size: Option<(u32, u32)>) -> Option<Browser> {
    if !browser_available() {
        if std::env::var_os("CI").is_some() {
            panic!(
                "Chromium/chromedriver not installed but CI is set: run `{INSTALL_HINT}` \
                 (needs /usr/bin/chromium and /usr/bin/chromedriver)"
            );
        }
        // straight to stderr: libtest's capture would hide an eprintln! of a passing test
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED {test}: Chromium/chromedriver not installed (`{INSTALL_HINT}`)"
        );
        return None;
    }
    let t = Instant::now();
    let b = match size {
        None => Browser::start(),
        Some((w, h)) => Browser::start_with_size(w, h),
    }
    .unwrap_or_else(|e| panic!("browser did not start: {e}"));
    eprintln!("{test}: browser started in {:?}", t.elapsed());
    Some(b)
}

fn screenshot_path(name: &str) -> (std::path::PathBuf, bool) {
    match std::env::var_os("BROWSER_SCREENSHOT_DIR").filter(|d| !d.is_empty()) {
        Some(d) => (
            std::path::PathBuf::from(d).join(format!("{name}.png")),
            true,
        ),
        None => (
            std::env::temp_dir().join(format!("{name}-{}.png", std::process::id())),
            false,
        ),
    }
}

/// Width and height from the PNG's IHDR chunk.
fn png_size(png: &[u8]) -> (u32, u32) {
    let be = |i: usize| u32::from_be_bytes(png[i..i + 4].try_into().unwrap());
    (be(16), be(20))
}

#[test]
fn browser_harness_login_flow() {
    let t0 = Instant::now();
    let Some(mut b) = browser_or_skip("browser_harness_login_flow", None) else {
        return;
    };
    let console = Console::start();

    // a forged CSRF token is refused (execute() can change the DOM)
    b.goto(&console.url("/login")).unwrap();
    assert!(
        b.title().unwrap().contains("登录"),
        "title: {:?}",
        b.title()
    );
    b.execute(
        "document.querySelector('input[name=csrf_token]').value = arguments[0]",
        vec![json!("forged")],
    )
    .unwrap();
    b.find("#username").unwrap().send_keys(USERNAME).unwrap();
    b.find("#login").unwrap().click().unwrap();
    b.wait_for_text("#error", "CSRF 校验失败", Duration::from_secs(5))
        .unwrap();
    assert!(b.cookies().unwrap().is_empty());

    // the real login
    b.goto(&console.url("/login")).unwrap();
    let csrf = b.find("input[name=csrf_token]").unwrap();
    assert_eq!(
        csrf.attribute("value").unwrap().as_deref(),
        Some(console.csrf.as_str())
    );
    assert_eq!(csrf.attribute("no-such-attribute").unwrap(), None);
    let user = b.find("#username").unwrap();
    user.send_keys("wrong").unwrap();
    user.clear().unwrap();
    user.send_keys(USERNAME).unwrap();
    assert_eq!(user.property("value").unwrap(), json!(USERNAME));
    b.find("#password").unwrap().send_keys("s3cret").unwrap();
    let remark = b.find("#remark").unwrap();
    remark.send_keys(REMARK).unwrap();
    assert_eq!(remark.property("value").unwrap(), json!(REMARK));
    let label = b.find("label[for=username]").unwrap().text().unwrap();
    assert_eq!(label, "用户名 སྤྱོད་མཁན།");
    b.find("#login").unwrap().click().unwrap();

    // 303 to the case list, which needs the cookie
    let row = b
        .wait_for_text("#cases li.case", "Q123459", Duration::from_secs(10))
        .unwrap();
    assert_eq!(row.text().unwrap(), CASE_LINE);
    assert_eq!(b.current_url().unwrap(), console.url("/cases"));
    assert!(b.title().unwrap().contains("案件"));
    assert_eq!(b.find_all("#cases li.case").unwrap().len(), 1);
    assert!(b.find_all(".no-such-class").unwrap().is_empty());
    assert!(b
        .page_source()
        .unwrap()
        .contains("拉萨北环路改造工程 བཀྲ་ཤིས"));

    let seen = console.seen();
    let post = seen
        .iter()
        .rfind(|s| s.method == "POST" && s.path == "/login")
        .expect("POST /login");
    assert_eq!(
        post.form.get("username").map(String::as_str),
        Some(USERNAME)
    );
    assert_eq!(
        post.form.get("remark").map(String::as_str),
        Some(REMARK),
        "Tibetan/Chinese typed intact"
    );
    assert_eq!(post.form.get("csrf_token"), Some(&console.csrf));
    let get = seen
        .iter()
        .rfind(|s| s.path == "/cases")
        .expect("GET /cases");
    assert!(
        get.cookie.contains(&console.session),
        "cookie sent back: {:?}",
        get.cookie
    );

    let cookies = b.cookies().unwrap();
    let (_, value, http_only, same_site) = cookies
        .iter()
        .find(|c| c.0 == "hotline_session")
        .expect("session cookie")
        .clone();
    assert_eq!(value, console.session);
    assert!(http_only, "session cookie must be HttpOnly: {cookies:?}");
    assert_eq!(same_site, "Lax");

    // JavaScript: a button's handler, and execute() with arguments
    b.find("#mark").unwrap().click().unwrap();
    let status = b
        .wait_for_text("#status", "已标记 1 件", Duration::from_secs(5))
        .unwrap();
    assert!(status
        .text()
        .unwrap()
        .ends_with("cookie visible to JS: false"));
    assert_eq!(
        b.execute(
            "return arguments[0] + arguments[1]",
            vec![json!(2), json!(3)]
        )
        .unwrap(),
        json!(5)
    );
    let name = b.find(".case-name").unwrap();
    assert_eq!(
        b.execute("return arguments[0].textContent", vec![name.as_arg()])
            .unwrap(),
        json!("拉萨北环路改造工程 བཀྲ་ཤིས")
    );
    let err = b.execute("throw new Error('boom 爆')", vec![]).unwrap_err();
    assert!(
        err.contains("javascript error") && err.contains("boom 爆"),
        "{err}"
    );
    b.set_find_timeout(Duration::from_millis(300));
    let err = b.find("#does-not-exist").map(|_| ()).unwrap_err();
    assert!(err.contains("no such element"), "{err}");

    let (path, keep) = screenshot_path("browser_harness_login_flow");
    let png = b.screenshot_png(&path).unwrap();
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    assert!(png.len() > 1024, "PNG only {} bytes", png.len());
    assert_eq!(std::fs::metadata(&path).unwrap().len() as usize, png.len());
    assert_eq!(png_size(&png), (1280, 900), "PNG width x height");
    if keep {
        eprintln!("screenshot: {}", path.display());
    } else {
        let _ = std::fs::remove_file(&path);
    }
    let t = Instant::now();
    drop(b);
    eprintln!(
        "browser_harness_login_flow: drop {:?}, total {:?}",
        t.elapsed(),
        t0.elapsed()
    );
}

#[test]
fn browser_harness_phone_size() {
    let Some(b) = browser_or_skip("browser_harness_phone_size", Some((390, 844))) else {
        return;
    };
    let console = Console::start();
    b.goto(&console.url("/login")).unwrap();
    let size = b
        .execute("return [window.innerWidth, window.innerHeight]", vec![])
        .unwrap();
    assert_eq!(size, json!([390, 844]), "viewport");
    let (path, keep) = screenshot_path("browser_harness_phone_size");
    let png = b.screenshot_png(&path).unwrap();
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"));
    assert_eq!(png_size(&png), (390, 844), "PNG width x height");
    if !keep {
        let _ = std::fs::remove_file(&path);
    }

    // a server that is not there is an error, not Chromium's error page
    let dead = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let err = b.goto(&format!("http://127.0.0.1:{dead}/")).unwrap_err();
    assert!(err.contains("ERR_CONNECTION_REFUSED"), "{err}");
}
