//! Load test of the receive route: starts the release `hotline` binary over a fresh database,
//! fires incoming messages at `/channels/kannel/receive` from concurrent clients, and reports
//! messages per second, latency percentiles, the time until every reply was handed to the
//! (stand-in) gateway, and the server's peak memory.
//!
//!   cargo bench --bench receive                       # SQLite, 5000 messages, 16 clients
//!   cargo bench --bench receive -- --postgres postgres://postgres@127.0.0.1:5432/test
//!   cargo bench --bench receive -- --messages 20000 --clients 32
//!
//! Only 127.0.0.1 is used; the run is bounded by --messages.

#[allow(dead_code)]
#[path = "../tests/it/support/fake_gateway.rs"]
mod fake_gateway;
#[path = "support/process.rs"]
mod process;
use process::{cpu_secs, peak_rss_kib, Server};

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const SECRET: &str = "bench-secret-0123456789";

struct Args {
    messages: usize,
    clients: usize,
    postgres: Option<String>,
}

fn args() -> Args {
    let mut a = Args {
        messages: 5000,
        clients: 16,
        postgres: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--messages" => {
                a.messages = it
                    .next()
                    .and_then(|v| v.parse().ok())
                    .expect("--messages N")
            }
            "--clients" => a.clients = it.next().and_then(|v| v.parse().ok()).expect("--clients N"),
            "--postgres" => a.postgres = Some(it.next().expect("--postgres URL")),
            "--bench" => {}
            other => panic!("unknown argument {other}"),
        }
    }
    a
}

fn main() {
    let a = args();
    let dir = tempfile::tempdir().unwrap();
    let bench_db = process::BenchDb::new(a.postgres.as_deref(), dir.path(), "hotline_bench");
    let (db_url, backend) = (bench_db.url.clone(), bench_db.backend);
    let gateway = fake_gateway::FakeGateway::start();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let config = format!(
        "listen = \"127.0.0.1:{port}\"\ndatabase_url = \"{db_url}\"\nlog = \"warn\"\n\
         [[channels]]\nid = \"kannel\"\nkind = \"kannel\"\nnumber = \"12333\"\ntps = 100000\nconcurrency = 8\n\
         sendsms_url = \"{}\"\nusername = \"bench\"\npassword = \"pw\"\nsecret = \"{SECRET}\"\n",
        gateway.url
    );
    let server = Server::start(dir.path(), &config);
    let base = format!("http://127.0.0.1:{port}");

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(a.clients)
            .build()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        while http
            .get(format!("{base}/readyz"))
            .send()
            .await
            .map(|r| r.status().as_u16())
            .ok()
            != Some(200)
        {
            assert!(Instant::now() < deadline, "server did not become ready");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let texts = [
            "帮助",
            "རོགས་རམ",
            "HELP",
            "老板欠我工资三个月了",
            "STOP",
            "START",
        ];
        let next = Arc::new(AtomicUsize::new(0));
        let started = Instant::now();
        let mut tasks = Vec::new();
        for _ in 0..a.clients {
            let (http, base, next) = (http.clone(), base.clone(), next.clone());
            let total = a.messages;
            tasks.push(tokio::spawn(async move {
                let mut lat = Vec::new();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= total {
                        break lat;
                    }
                    let text = texts[i % texts.len()];
                    let (from, id) = (format!("+86139{:08}", i % 50_000), format!("bench-{i}"));
                    let query = [
                        ("secret", SECRET),
                        ("from", &from),
                        ("to", "12333"),
                        ("text", text),
                        ("id", &id),
                        ("coding", "0"),
                        ("charset", "UTF-8"),
                    ];
                    let t = Instant::now();
                    let r = http
                        .get(format!("{base}/channels/kannel/receive"))
                        .query(&query)
                        .send()
                        .await
                        .expect("request");
                    assert_eq!(r.status().as_u16(), 200, "{:?}", r.text().await);
                    lat.push(t.elapsed());
                }
            }));
        }
        let mut lat: Vec<Duration> = Vec::new();
        for t in tasks {
            lat.extend(t.await.unwrap());
        }
        let took = started.elapsed();
        lat.sort();
        let pct = |p: f64| {
            lat[((lat.len() as f64 * p) as usize).min(lat.len() - 1)].as_secs_f64() * 1000.0
        };
        // every message gets one reply; wait until the stand-in gateway has them all
        let deadline = Instant::now() + Duration::from_secs(600);
        while gateway.requests().len() < a.messages && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let drained = started.elapsed();
        println!("backend: {backend}");
        println!("messages: {}  clients: {}", a.messages, a.clients);
        println!(
            "receive: {:.0} msg/s  (p50 {:.1} ms, p95 {:.1} ms, p99 {:.1} ms)",
            a.messages as f64 / took.as_secs_f64(),
            pct(0.50),
            pct(0.95),
            pct(0.99)
        );
        println!(
            "replies handed to the gateway: {} in {:.1} s  ({:.0} msg/s end to end)",
            gateway.requests().len(),
            drained.as_secs_f64(),
            gateway.requests().len() as f64 / drained.as_secs_f64()
        );
        if let Some(cpu) = cpu_secs(server.child.id()) {
            println!(
                "server CPU: {cpu:.1} s  ({:.2} ms per message in and reply out)",
                cpu * 1000.0 / a.messages as f64
            );
        }
        if let Some(kib) = peak_rss_kib(server.child.id()) {
            println!("server peak RSS: {:.1} MiB", kib as f64 / 1024.0);
        }
    });
    drop(server);
    drop(bench_db);
}
