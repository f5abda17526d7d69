//! The `redirectps` postscript's run: `NFSSERVER` and `LOGLABEL` read from xCAT's
//! environment, every line to syslog and stdout, the paging move, and its typed outcome.

use crate::exit;
use crate::host::{same_host, validate_hostname};
use crate::pagingspace::{self, Journal, Node, Summary, SystemRunner};
use crate::process::find_program;
use crate::syslog::{Level, Syslog};

/// Why a run did not end with the node's NFS paging on the server.
#[derive(Debug, thiserror::Error)]
pub enum RedirectError {
    /// `NFSSERVER` unset or not a host name: nothing was changed (exit status 2).
    #[error("{0}")]
    Usage(String),
    /// Some steps failed; the log says what was left in place (exit status 1).
    #[error("{steps} step(s) failed; NFS paging is not (entirely) on {server}")]
    Failed { steps: usize, server: String },
}

impl RedirectError {
    pub fn exit_status(&self) -> i32 {
        match self {
            RedirectError::Usage(_) => exit::USAGE,
            RedirectError::Failed { .. } => exit::FAILURE,
        }
    }
}

/// Where lines go: syslog through `logger`, and stdout, which xCAT appends to xcat.log.
pub struct Log {
    syslog: Syslog,
}

impl Log {
    /// Tagged `label`; a dry run only prints.
    pub fn new(label: &str, dry_run: bool) -> Log {
        if dry_run {
            return Log {
                syslog: Syslog::disabled(),
            };
        }
        let logger = match find_program("logger") {
            Ok(path) => Some(path.display().to_string()),
            Err(e) => {
                eprintln!("redirectps: warning: no syslog: {e}");
                None
            }
        };
        Log {
            syslog: Syslog::new(label, logger, None),
        }
    }

    /// Each line of a message (a child's stderr makes several) is printed and logged with the
    /// prefix, so no syslog line starts with text `logger` could take for an option.
    fn emit(&self, level: Level, prefix: &str, message: &str) {
        for line in message.lines().filter(|l| !l.trim().is_empty()) {
            let line = format!("{prefix}{line}");
            println!("{line}");
            self.syslog.log(level, &line);
        }
    }
}

impl Journal for Log {
    fn info(&mut self, message: &str) {
        self.emit(Level::Info, "redirectps: ", message);
    }

    fn error(&mut self, message: &str) {
        self.emit(Level::Err, "redirectps: error: ", message);
    }
}

/// Moves this node's NFS paging space to `NFSSERVER` (with `dry_run`, prints the commands
/// that would); every line, the error included, is printed and logged.
pub fn run(dry_run: bool) -> Result<(), RedirectError> {
    let mut log = Log::new(&env_or("LOGLABEL", "xcat"), dry_run);
    let result = move_paging(&mut log, dry_run);
    if let Err(e) = &result {
        log.error(&e.to_string());
    }
    result
}

fn move_paging(log: &mut Log, dry_run: bool) -> Result<(), RedirectError> {
    let server = nfs_server()?;
    let mut runner = SystemRunner;
    let mut node = Node {
        runner: &mut runner,
        journal: log,
        server: &server,
        same_host: &same_host,
    };
    let failed = |f: pagingspace::Failed| RedirectError::Failed {
        steps: f.errors.len(),
        server: server.clone(),
    };
    if dry_run {
        return pagingspace::preview(&mut node).map(|_| ()).map_err(failed);
    }
    let summary = pagingspace::redirect(&mut node).map_err(failed)?;
    if summary != Summary::default() {
        node.journal.info(&format!(
            "done: {} paging space(s) moved to {server}, {} leftover(s) removed",
            summary.moved, summary.removed
        ));
    }
    Ok(())
}

/// `NFSSERVER`, checked to be a host name or address.
fn nfs_server() -> Result<String, RedirectError> {
    let server = env_or("NFSSERVER", "");
    if server.is_empty() {
        return Err(RedirectError::Usage(
            "NFSSERVER is not set: xCAT sets it from noderes.nfsserver (or the node's \
             xcatmaster); nothing was changed"
                .to_string(),
        ));
    }
    validate_hostname(&server)
        .map_err(|e| RedirectError::Usage(format!("NFSSERVER: {e}; nothing was changed")))?;
    Ok(server)
}

/// A variable's trimmed value, `default` when it is unset or blank.
fn env_or(name: &str, default: &str) -> String {
    let value = std::env::var(name).unwrap_or_default();
    let value = value.trim();
    if value.is_empty() {
        default.to_string()
    } else {
        value.to_string()
    }
}
