//! A TCP relay in front of a real service that a test can take down and bring back on the same
//! port: while down, connections are refused (nothing listens) and the ones open are cut, as
//! when a gateway's host goes away.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub struct Relay {
    pub port: u16,
    target: SocketAddr,
    up: Arc<AtomicBool>,
    /// Bumped at every outage: connections of an earlier generation close.
    generation: Arc<AtomicU64>,
    open: Arc<Mutex<Vec<TcpStream>>>,
    accept: Option<std::thread::JoinHandle<()>>,
    /// Connections refused or cut while down are not counted; this counts those relayed.
    pub relayed: Arc<AtomicU64>,
}

impl Relay {
    /// Relays `127.0.0.1:port` (a free port) to `target`.
    pub fn start(target: SocketAddr) -> Relay {
        let port = super::process::free_port();
        let mut r = Relay {
            port,
            target,
            up: Arc::new(AtomicBool::new(false)),
            generation: Arc::new(AtomicU64::new(0)),
            open: Arc::new(Mutex::new(Vec::new())),
            accept: None,
            relayed: Arc::new(AtomicU64::new(0)),
        };
        r.bring_up();
        r
    }

    /// Listens again on the same port.
    pub fn bring_up(&mut self) {
        let listener = {
            let deadline = std::time::Instant::now() + Duration::from_secs(10);
            loop {
                match TcpListener::bind(("127.0.0.1", self.port)) {
                    Ok(l) => break l,
                    Err(e) => {
                        assert!(std::time::Instant::now() < deadline, "rebind: {e}");
                        std::thread::sleep(Duration::from_millis(50));
                    }
                }
            }
        };
        listener.set_nonblocking(true).unwrap();
        self.up.store(true, Ordering::SeqCst);
        let (up, target, open, relayed) = (
            self.up.clone(),
            self.target,
            self.open.clone(),
            self.relayed.clone(),
        );
        self.accept = Some(std::thread::spawn(move || {
            while up.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((client, _)) => {
                        client.set_nonblocking(false).unwrap();
                        let Ok(server) = TcpStream::connect(target) else {
                            let _ = client.shutdown(Shutdown::Both);
                            continue;
                        };
                        relayed.fetch_add(1, Ordering::SeqCst);
                        {
                            let mut o = open.lock().unwrap();
                            o.push(client.try_clone().unwrap());
                            o.push(server.try_clone().unwrap());
                        }
                        pipe(client.try_clone().unwrap(), server.try_clone().unwrap());
                        pipe(server, client);
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                        std::thread::sleep(Duration::from_millis(5));
                    }
                    Err(_) => break,
                }
            }
            // The listener is dropped here: the port refuses connections.
        }));
    }

    /// Stops listening and cuts every open connection.
    pub fn take_down(&mut self) {
        self.up.store(false, Ordering::SeqCst);
        self.generation.fetch_add(1, Ordering::SeqCst);
        if let Some(t) = self.accept.take() {
            t.join().unwrap();
        }
        for s in self.open.lock().unwrap().drain(..) {
            let _ = s.shutdown(Shutdown::Both);
        }
    }
}

fn pipe(mut from: TcpStream, mut to: TcpStream) {
    std::thread::spawn(move || {
        let mut buf = [0u8; 16 * 1024];
        loop {
            match from.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if to.write_all(&buf[..n]).is_err() {
                        break;
                    }
                }
            }
        }
        let _ = to.shutdown(Shutdown::Write);
    });
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.take_down();
    }
}
