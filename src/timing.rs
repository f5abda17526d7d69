//! Where a run's time goes: with `XCAT_EXTNFS_TIMING` set, each marked stage prints its
//! elapsed milliseconds on stderr (for profiling on machines without perf; off otherwise).

use std::sync::Mutex;
use std::time::Instant;

static LAST: Mutex<Option<Instant>> = Mutex::new(None);

/// Whether timing lines are asked for.
pub fn enabled() -> bool {
    std::env::var_os("XCAT_EXTNFS_TIMING").is_some()
}

/// Prints the time since the previous mark (or since the first call) under `stage`.
pub fn mark(stage: &str) {
    if !enabled() {
        return;
    }
    let now = Instant::now();
    let mut last = LAST.lock().unwrap_or_else(|e| e.into_inner());
    let since = last.map_or(0.0, |t| now.duration_since(t).as_secs_f64() * 1e3);
    *last = Some(now);
    eprintln!("timing: {stage}: {since:.1} ms");
}
