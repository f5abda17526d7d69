//! Syslog as xCAT's own tools write it: facility local4 through the `logger` command, which
//! exists on AIX and Linux alike; an optional log file receives the same lines.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Mutex;

use crate::process::Cmd;

/// Severity of a syslog line (facility is always local4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    Info,
    Warning,
    Err,
}

impl Level {
    fn priority(self) -> &'static str {
        match self {
            Level::Info => "local4.info",
            Level::Warning => "local4.warning",
            Level::Err => "local4.err",
        }
    }
}

/// Sends lines to syslog (via `logger -t TAG -p local4.LEVEL`) and to an optional file.
///
/// A logging failure never stops the work: it is reported once on stderr.
#[derive(Debug)]
pub struct Syslog {
    tag: String,
    logger: Option<String>,
    file: Option<PathBuf>,
    warned: Mutex<bool>,
    /// `Some`: lines wait here and go to `logger` in batches (see [`Syslog::batched`]).
    pending: Option<Mutex<Vec<(Level, String)>>>,
}

/// A batch is sent when it reaches this many lines (and at every [`Syslog::flush`]).
const BATCH: usize = 500;

impl Syslog {
    /// `logger` is the program to run (`None` switches syslog off), `file` an extra log file.
    pub fn new(tag: &str, logger: Option<String>, file: Option<PathBuf>) -> Syslog {
        Syslog {
            tag: tag.to_string(),
            logger,
            file,
            warned: Mutex::new(false),
            pending: None,
        }
    }

    /// Sends lines to `logger` in batches (`logger -f FILE`, which AIX and Linux both have)
    /// rather than one process per line: for runs that log thousands of lines. Batches go
    /// out when full, at [`Syslog::flush`] and when the logger is dropped.
    pub fn batched(mut self) -> Syslog {
        self.pending = Some(Mutex::new(Vec::new()));
        self
    }

    /// A logger that writes nowhere (for planning-only paths and unit tests).
    pub fn disabled() -> Syslog {
        Syslog::new("xcat", None, None)
    }

    pub fn tag(&self) -> &str {
        &self.tag
    }

    pub fn info(&self, msg: &str) {
        self.log(Level::Info, msg)
    }

    pub fn warning(&self, msg: &str) {
        self.log(Level::Warning, msg)
    }

    pub fn err(&self, msg: &str) {
        self.log(Level::Err, msg)
    }

    /// Logs a message; multi-line messages (child stderr) become one syslog line each.
    pub fn log(&self, level: Level, msg: &str) {
        if let Some(path) = &self.file {
            let line = format!(
                "{} {} {}: {}\n",
                unix_time(),
                self.tag,
                level.priority(),
                msg.trim_end()
            );
            let res = OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .and_then(|mut f| f.write_all(line.as_bytes()));
            if let Err(e) = res {
                self.warn_once(&format!("cannot write log file {}: {e}", path.display()));
            }
        }
        let Some(logger) = &self.logger else { return };
        if let Some(pending) = &self.pending {
            let mut pending = pending.lock().unwrap_or_else(|e| e.into_inner());
            pending.extend(
                msg.lines()
                    .filter(|l| !l.trim().is_empty())
                    .map(|l| (level, l.to_string())),
            );
            if pending.len() >= BATCH {
                let batch = std::mem::take(&mut *pending);
                drop(pending);
                self.send_batch(logger, &batch);
            }
            return;
        }
        for line in msg.lines().filter(|l| !l.trim().is_empty()) {
            let res = Cmd::new(logger)
                .args(["-t", &self.tag, "-p", level.priority(), "--", line])
                .run_checked();
            if let Err(e) = res {
                self.warn_once(&format!("syslog through `{logger}` failed: {e}"));
                return;
            }
        }
    }

    /// Sends the lines waiting in a batched logger.
    pub fn flush(&self) {
        let (Some(logger), Some(pending)) = (&self.logger, &self.pending) else {
            return;
        };
        let batch = std::mem::take(&mut *pending.lock().unwrap_or_else(|e| e.into_inner()));
        self.send_batch(logger, &batch);
    }

    /// One `logger -f` per run of lines of the same level, in order.
    fn send_batch(&self, logger: &str, batch: &[(Level, String)]) {
        for run in batch.chunk_by(|a, b| a.0 == b.0) {
            let level = run[0].0;
            let res = tempfile::NamedTempFile::new().and_then(|mut f| {
                for (_, line) in run {
                    writeln!(f, "{line}")?;
                }
                f.flush()?;
                Ok(f)
            });
            let file = match res {
                Ok(f) => f,
                Err(e) => return self.warn_once(&format!("cannot batch syslog lines: {e}")),
            };
            let res = Cmd::new(logger)
                .args(["-t", &self.tag, "-p", level.priority(), "-f"])
                .arg(file.path())
                .run_checked();
            if let Err(e) = res {
                return self.warn_once(&format!("syslog through `{logger}` failed: {e}"));
            }
        }
    }

    fn warn_once(&self, msg: &str) {
        let mut warned = self.warned.lock().unwrap_or_else(|e| e.into_inner());
        if !*warned {
            *warned = true;
            eprintln!("warning: {msg}");
        }
    }
}

/// Where the binary shows what the library logs through the `log` facade.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Output {
    Stdout,
    Stderr,
}

/// The `log` facade's messages (warnings and errors) sent to syslog and to the binary's
/// output, each line as `<prefix><level>: <message>`.
struct Bridge {
    syslog: Syslog,
    prefix: String,
    output: Output,
}

impl log::Log for Bridge {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.level() <= log::Level::Warn
    }

    fn log(&self, record: &log::Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let (level, word) = match record.level() {
            log::Level::Error => (Level::Err, "error"),
            _ => (Level::Warning, "warning"),
        };
        let line = format!("{}{word}: {}", self.prefix, record.args());
        match self.output {
            Output::Stdout => println!("{line}"),
            Output::Stderr => eprintln!("{line}"),
        }
        self.syslog.log(level, &line);
    }

    fn flush(&self) {
        self.syslog.flush();
    }
}

/// Routes the library's `log` warnings and errors to `syslog` and the binary's `output`, so
/// that none is lost. The first call wins; later ones are ignored.
pub fn route_log(syslog: Syslog, prefix: &str, output: Output) {
    let bridge = Bridge {
        syslog,
        prefix: prefix.to_string(),
        output,
    };
    if log::set_boxed_logger(Box::new(bridge)).is_ok() {
        log::set_max_level(log::LevelFilter::Warn);
    }
}

impl Drop for Syslog {
    fn drop(&mut self) {
        self.flush();
    }
}

fn unix_time() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_file_lines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log");
        let log = Syslog::new("xcat", None, Some(path.clone()));
        log.info("first");
        log.err("second\nwith stderr");
        let text = std::fs::read_to_string(path).unwrap();
        assert!(text.contains("xcat local4.info: first"));
        assert!(text.contains("xcat local4.err: second\nwith stderr"));
    }

    #[test]
    fn calls_logger_with_facility_local4() {
        let dir = tempfile::tempdir().unwrap();
        let rec = dir.path().join("rec");
        let fake = dir.path().join("logger");
        std::fs::write(
            &fake,
            format!("#!/bin/sh\necho \"$@\" >> '{}'\n", rec.display()),
        )
        .unwrap();
        make_executable(&fake);
        let log = Syslog::new("xcat", Some(fake.display().to_string()), None);
        log.warning("two\nlines");
        let text = std::fs::read_to_string(rec).unwrap();
        assert_eq!(
            text,
            "-t xcat -p local4.warning -- two\n-t xcat -p local4.warning -- lines\n"
        );
    }

    #[test]
    fn batches_go_out_in_order_by_level() {
        let dir = tempfile::tempdir().unwrap();
        let rec = dir.path().join("rec");
        let fake = dir.path().join("logger");
        std::fs::write(
            &fake,
            format!(
                "#!/bin/sh\necho \"$1 $2 $3 $4 $5\" >> '{r}'\ncat \"$6\" >> '{r}'\n",
                r = rec.display()
            ),
        )
        .unwrap();
        make_executable(&fake);
        let log = Syslog::new("xcat", Some(fake.display().to_string()), None).batched();
        log.info("one");
        log.info("two");
        log.err("three");
        assert!(!rec.exists(), "nothing sent before a flush");
        drop(log);
        let text = std::fs::read_to_string(rec).unwrap();
        assert_eq!(
            text,
            "-t xcat -p local4.info -f\none\ntwo\n-t xcat -p local4.err -f\nthree\n"
        );
    }

    fn make_executable(p: &std::path::Path) {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
}
