//! Loopback ports for the processes a test starts (hotline, Kannel's boxes, relays).

/// A free loopback port that no other test in this process has been given.
///
/// Binding to port 0 and releasing it is not enough on its own: the kernel
/// hands the same number out again soon after, and a test that picked a port
/// for the service while Kannel picked its own could get the same one (CI saw
/// hotline and bearerbox race for one port).
pub fn free_port() -> u16 {
    free_ports(1)[0]
}

/// `n` distinct free loopback ports, never handed out before in this process.
pub fn free_ports(n: usize) -> Vec<u16> {
    use std::collections::HashSet;
    use std::sync::{Mutex, OnceLock};
    static GIVEN: OnceLock<Mutex<HashSet<u16>>> = OnceLock::new();
    let given = GIVEN.get_or_init(|| Mutex::new(HashSet::new()));
    let mut given = given.lock().unwrap_or_else(|e| e.into_inner());
    let mut held = Vec::new();
    let mut ports = Vec::new();
    while ports.len() < n {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        if given.insert(port) {
            ports.push(port);
        }
        // Keep every listener open until all are picked, so the kernel
        // cannot offer the same number twice in this call.
        held.push(l);
    }
    ports
}
