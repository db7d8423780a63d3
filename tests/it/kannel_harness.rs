//! Proves the Kannel test harness (tests/it/support/kannel.rs) works on its own,
//! without the hotline service: MO (ASCII, Chinese, Tibetan) from fakesmsc to
//! a tiny HTTP server via get-url, and one UCS-2 MT through sendsms back to
//! fakesmsc with delivery reports.
//!
//! Needs Debian's `kannel` and `kannel-extras`. Without them the test is
//! skipped, unless `CI` is set, in which case it fails.

use crate::support::kannel::{
    kannel_available, parse_query, FakeMo, FakeSmsc, Kannel, KannelConfig, MtCoding, INSTALL_HINT,
};
use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// Tiny HTTP server: records the request target of every request and answers
/// 200 (or 202 for paths starting with /dlr).
struct Recorder {
    port: u16,
    reqs: Arc<(Mutex<Vec<String>>, Condvar)>,
}

impl Recorder {
    fn start() -> Recorder {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind recorder");
        let port = listener.local_addr().unwrap().port();
        let reqs: Arc<(Mutex<Vec<String>>, Condvar)> = Arc::default();
        let r = reqs.clone();
        thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let r = r.clone();
                thread::spawn(move || handle(stream, r));
            }
        });
        Recorder { port, reqs }
    }

    /// Wait until `pred` holds for the recorded request targets (or timeout);
    /// return them.
    fn wait(&self, timeout: Duration, pred: impl Fn(&[String]) -> bool) -> Vec<String> {
        let (lock, cond) = &*self.reqs;
        let deadline = Instant::now() + timeout;
        let mut v = lock.lock().unwrap();
        while !pred(&v) {
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            v = cond.wait_timeout(v, deadline - now).unwrap().0;
        }
        v.clone()
    }
}

fn handle(mut s: TcpStream, reqs: Arc<(Mutex<Vec<String>>, Condvar)>) {
    s.set_read_timeout(Some(Duration::from_secs(5))).ok();
    let mut data = Vec::new();
    let mut buf = [0u8; 2048];
    while !data.windows(4).any(|w| w == b"\r\n\r\n") {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => data.extend_from_slice(&buf[..n]),
        }
    }
    let head = String::from_utf8_lossy(&data).into_owned();
    let target = head
        .lines()
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .unwrap_or("")
        .to_string();
    let (code, reason) = if target.starts_with("/dlr") {
        (202, "Accepted")
    } else {
        (200, "OK")
    };
    let _ = write!(
        s,
        "HTTP/1.1 {code} {reason}\r\nContent-Type: text/plain\r\nContent-Length: 2\r\nConnection: close\r\n\r\nOK"
    );
    let _ = s.flush();
    if !target.is_empty() {
        let (lock, cond) = &*reqs;
        lock.lock().unwrap().push(target);
        cond.notify_all();
    }
}

fn query_of(target: &str) -> HashMap<String, String> {
    parse_query(target.split_once('?').map(|x| x.1).unwrap_or(""))
        .into_iter()
        .collect()
}

/// Decode the %b text according to %c (coding) / %C (charset).
fn mo_text(q: &HashMap<String, String>, target: &str) -> String {
    let raw = target.split_once('?').map(|x| x.1).unwrap_or("");
    let b = raw
        .split('&')
        .find_map(|p| p.strip_prefix("text="))
        .map(crate::support::kannel::url_decode)
        .unwrap_or_default();
    let charset = q
        .get("charset")
        .map(|s| s.to_ascii_uppercase())
        .unwrap_or_default();
    if q.get("coding").map(String::as_str) == Some("2")
        && (charset == "UTF-16BE" || charset == "UCS-2")
    {
        let units: Vec<u16> = b
            .chunks(2)
            .map(|c| u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]))
            .collect();
        String::from_utf16(&units).expect("valid UTF-16BE in %b")
    } else {
        String::from_utf8(b).expect("valid UTF-8 in %b")
    }
}

#[test]
fn kannel_harness_end_to_end() {
    if !kannel_available() {
        crate::support::skips::skip("Kannel", INSTALL_HINT);
        return;
    }
    let t0 = Instant::now();
    let server = Recorder::start();
    let get_url = format!(
        "http://127.0.0.1:{}/mo?from=%p&to=%P&text=%b&id=%I&coding=%c&charset=%C&ts=%T&smsc=%i",
        server.port
    );
    let kannel = Kannel::start(KannelConfig::new(get_url)).expect("start Kannel");
    eprintln!(
        "kannel up in {:?} (admin {}, sendsms {}, fake smsc {}, dir {})",
        t0.elapsed(),
        kannel.admin_port(),
        kannel.sendsms_port(),
        kannel.smsc_port(),
        kannel.dir().display()
    );

    // ---- MO: fakesmsc -> bearerbox -> smsbox -> get-url
    let caller = "8613900000001";
    let short = "12333";
    let mos = [
        FakeMo::new(caller, short, "HELP"),
        FakeMo::new(caller, short, "帮助"),
        FakeMo::new(caller, short, "རོགས་རམ"),
    ];
    let t_mo = Instant::now();
    let fake = FakeSmsc::start(&kannel, &mos).expect("start fakesmsc");
    let is_mo = |t: &String| t.starts_with("/mo?");
    let reqs = server.wait(Duration::from_secs(30), |r| {
        r.iter().filter(|t| is_mo(t)).count() >= mos.len()
    });
    let mo_reqs: Vec<&String> = reqs.iter().filter(|t| is_mo(t)).collect();
    eprintln!("{} MO requests after {:?}:", mo_reqs.len(), t_mo.elapsed());
    for r in &mo_reqs {
        eprintln!("  {r}");
    }
    assert_eq!(
        mo_reqs.len(),
        mos.len(),
        "expected exactly one get-url request per MO; got {mo_reqs:#?}"
    );
    let mut ids = Vec::new();
    for mo in &mos {
        let found = mo_reqs.iter().find_map(|t| {
            let q = query_of(t);
            (mo_text(&q, t) == mo.text).then_some(q)
        });
        let q = found.unwrap_or_else(|| {
            panic!(
                "MO {:?} did not arrive intact; requests: {mo_reqs:#?}",
                mo.text
            )
        });
        assert_eq!(q["from"], caller);
        assert_eq!(q["to"], short);
        assert_eq!(q["smsc"], kannel.smsc_id());
        // mo-recode = true: UCS-2 MOs arrive recoded to UTF-8 with coding 0.
        assert_eq!(q["coding"], "0", "coding for {:?}", mo.text);
        assert_eq!(q["charset"], "UTF-8", "charset for {:?}", mo.text);
        assert!(!q["id"].is_empty(), "empty %I for {:?}", mo.text);
        assert!(q["ts"].parse::<u64>().is_ok(), "bad %T for {:?}", mo.text);
        ids.push(q["id"].clone());
    }
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), mos.len(), "%I ids must be distinct");

    // ---- MT: sendsms -> bearerbox -> fakesmsc, with DLRs to dlr-url
    let mt_text = "བཀྲ་ཤིས་བདེ་ལེགས། 你好";
    let dlr_url = format!(
        "http://127.0.0.1:{}/dlr?msg=test-1&status=%d&answer=%A&ts=%T",
        server.port
    );
    let t_mt = Instant::now();
    let resp = kannel
        .send_sms(&[
            ("from", short),
            ("to", caller),
            ("text", mt_text),
            ("coding", "2"),
            ("charset", "UTF-8"),
            ("dlr-mask", "31"),
            ("dlr-url", &dlr_url),
        ])
        .expect("sendsms request");
    eprintln!(
        "sendsms answered {} {:?} in {:?}",
        resp.status,
        resp.body,
        t_mt.elapsed()
    );
    assert_eq!(resp.status, 202, "sendsms: {resp:?}");
    assert!(resp.body.starts_with("0:"), "sendsms: {resp:?}");

    let mts = fake.wait_for(1, Duration::from_secs(30));
    eprintln!(
        "MT at fakesmsc after {:?}: {mts:?} raw {:?}",
        t_mt.elapsed(),
        fake.raw_lines()
    );
    assert_eq!(mts.len(), 1, "expected one MT at fakesmsc, got {mts:?}");
    assert_eq!(mts[0].text, mt_text);
    assert_eq!(mts[0].coding, MtCoding::Ucs2);
    assert_eq!(mts[0].from, short);
    assert_eq!(mts[0].to, caller);

    let is_dlr = |t: &String| t.starts_with("/dlr?");
    // The fake SMSC produces 8 (SMSC accepted, %A = "ACK/") and 1
    // (delivered, empty %A) right after the MT, in no guaranteed order. Wait
    // for both, but only require at least one.
    let has = |r: &[String], st: &str| {
        r.iter()
            .filter(|t| is_dlr(t))
            .any(|t| query_of(t).get("status").map(String::as_str) == Some(st))
    };
    let reqs = server.wait(Duration::from_secs(15), |r| has(r, "1") && has(r, "8"));
    let dlrs: Vec<HashMap<String, String>> = reqs
        .iter()
        .filter(|t| is_dlr(t))
        .map(|t| query_of(t))
        .collect();
    let statuses: Vec<&str> = dlrs.iter().map(|q| q["status"].as_str()).collect();
    eprintln!(
        "DLR statuses after {:?}: {statuses:?} (answers {:?})",
        t_mt.elapsed(),
        dlrs.iter().map(|q| &q["answer"]).collect::<Vec<_>>()
    );
    assert!(!dlrs.is_empty(), "no DLR arrived");
    for q in &dlrs {
        assert_eq!(q["msg"], "test-1");
        assert!(
            ["1", "2", "4", "8", "16"].contains(&q["status"].as_str()),
            "odd DLR status {q:?}"
        );
    }
    eprintln!("total {:?}", t0.elapsed());
}
