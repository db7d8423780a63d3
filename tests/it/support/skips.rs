//! Tests that need what this machine lacks (Kannel, Chromium, PostgreSQL, the twilio Python
//! package): in CI they fail; elsewhere they are skipped, and since libtest hides a passing
//! test's output, one line at the very end of the run names everything skipped and the
//! command that installs it.

use std::collections::BTreeMap;
use std::sync::{Mutex, Once};

static SKIPPED: Mutex<BTreeMap<String, (String, usize)>> = Mutex::new(BTreeMap::new());
static SUMMARY: Once = Once::new();

/// The running test cannot run without `what`; panics in CI, else records the skip.
pub fn skip(what: &str, install: &str) {
    let test = std::thread::current()
        .name()
        .unwrap_or("a test")
        .to_string();
    if std::env::var_os("CI").is_some() {
        panic!("{test}: {what} is required in CI: {install}");
    }
    eprintln!("SKIPPED {test}: {what} ({install})");
    SKIPPED
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .entry(what.to_string())
        .or_insert_with(|| (install.to_string(), 0))
        .1 += 1;
    SUMMARY.call_once(|| unsafe {
        libc::atexit(summary);
    });
}

extern "C" fn summary() {
    let skipped = SKIPPED.lock().unwrap_or_else(|e| e.into_inner());
    let n: usize = skipped.values().map(|(_, n)| n).sum();
    let parts: Vec<String> = skipped
        .iter()
        .map(|(what, (install, k))| format!("{k} without {what} (`{install}`)"))
        .collect();
    eprintln!(
        "\nSKIPPED {n} test(s), so this run proves less than CI: {}. Install them and run again.",
        parts.join("; ")
    );
}
