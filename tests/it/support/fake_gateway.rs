//! A stand-in for a gateway's sending interface (Kannel's sendsms, or a JSON integration's
//! send URL), for tests that need to control its answers (503s, 4xx) or see what reached it.
//! The real Kannel is tested in `kannel_e2e`; the Android app's server answers through a
//! `Responder` (`android_app`).

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

/// A request's `Authorization` header and its body.
pub type Received = (Option<String>, String);

/// Answers a request (its target, `Authorization` header and body) when no scripted answer is
/// waiting: a gateway whose answer depends on what it was asked.
pub type Responder = Arc<dyn Fn(&str, Option<&str>, &str) -> (u16, String) + Send + Sync>;

#[derive(Clone, Default)]
pub struct FakeGateway {
    /// Request targets (path and query) in arrival order.
    pub requests: Arc<Mutex<Vec<String>>>,
    /// Each request's `Authorization` header and body, in the same order.
    pub bodies: Arc<Mutex<Vec<Received>>>,
    /// Answers to give, in order; when empty, the responder's, else `202 0: Accepted for
    /// delivery`.
    pub script: Arc<Mutex<Vec<(u16, &'static str)>>>,
    pub responder: Option<Responder>,
    pub url: String,
    /// Milliseconds to wait before answering each request (a slow gateway).
    pub delay_ms: Arc<std::sync::atomic::AtomicU64>,
}

impl FakeGateway {
    pub fn start() -> FakeGateway {
        FakeGateway::start_with(None)
    }

    /// A gateway that answers with `responder` unless a scripted answer is waiting.
    pub fn start_with(responder: Option<Responder>) -> FakeGateway {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/cgi-bin/sendsms", listener.local_addr().unwrap());
        let gw = FakeGateway {
            url,
            responder,
            ..Default::default()
        };
        let g = gw.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let g = g.clone();
                std::thread::spawn(move || {
                    let mut reader = BufReader::new(stream.try_clone().unwrap());
                    loop {
                        let mut line = String::new();
                        if reader.read_line(&mut line).unwrap_or(0) == 0 {
                            return;
                        }
                        let target = line.split_whitespace().nth(1).unwrap_or("").to_string();
                        let (mut length, mut auth) = (0usize, None);
                        loop {
                            let mut h = String::new();
                            if reader.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
                                break;
                            }
                            if let Some((name, value)) = h.trim_end().split_once(':') {
                                match name.to_ascii_lowercase().as_str() {
                                    "content-length" => length = value.trim().parse().unwrap_or(0),
                                    "authorization" => auth = Some(value.trim().to_string()),
                                    _ => {}
                                }
                            }
                        }
                        let mut body = vec![0u8; length];
                        if std::io::Read::read_exact(&mut reader, &mut body).is_err() {
                            return;
                        }
                        let delay = g.delay_ms.load(std::sync::atomic::Ordering::Relaxed);
                        std::thread::sleep(std::time::Duration::from_millis(delay));
                        let body = String::from_utf8_lossy(&body).into_owned();
                        let scripted = {
                            let mut s = g.script.lock().unwrap();
                            (!s.is_empty()).then(|| s.remove(0))
                        };
                        let (code, text) = match (scripted, &g.responder) {
                            (Some((code, text)), _) => (code, text.to_string()),
                            (None, Some(respond)) => respond(&target, auth.as_deref(), &body),
                            (None, None) => (202, "0: Accepted for delivery".to_string()),
                        };
                        g.requests.lock().unwrap().push(target);
                        g.bodies.lock().unwrap().push((auth, body));
                        let kind = if text.starts_with('{') {
                            "application/json"
                        } else {
                            "text/plain"
                        };
                        let resp = format!(
                            "HTTP/1.1 {code} X\r\nContent-Length: {}\r\nContent-Type: {kind}\r\n\r\n{text}",
                            text.len()
                        );
                        if stream.write_all(resp.as_bytes()).is_err() {
                            return;
                        }
                    }
                });
            }
        });
        gw
    }

    /// The JSON bodies that reached it, with their `Authorization` headers.
    pub fn json_bodies(&self) -> Vec<(Option<String>, serde_json::Value)> {
        self.bodies
            .lock()
            .unwrap()
            .iter()
            .map(|(a, b)| (a.clone(), serde_json::from_str(b).unwrap_or_default()))
            .collect()
    }

    pub fn requests(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
    }

    pub fn push_answers(&self, answers: &[(u16, &'static str)]) {
        self.script.lock().unwrap().extend_from_slice(answers);
    }

    /// The decoded query parameters of request `i`.
    pub fn params(&self, i: usize) -> Vec<(String, String)> {
        let r = &self.requests()[i];
        let q = r.split_once('?').map(|(_, q)| q).unwrap_or("");
        q.split('&')
            .filter_map(|p| p.split_once('='))
            .map(|(k, v)| {
                let v = percent_encoding::percent_decode_str(&v.replace('+', " "))
                    .decode_utf8_lossy()
                    .into_owned();
                (k.to_string(), v)
            })
            .collect()
    }

    pub fn param(&self, i: usize, key: &str) -> Option<String> {
        self.params(i)
            .into_iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v)
    }
}
