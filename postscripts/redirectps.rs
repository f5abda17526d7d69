//! `redirectps`: the xCAT postscript that moves an AIX diskless node's NFS paging space from its
//! service node to the external NFS server named by `NFSSERVER`. It runs at every boot.

use clap::Parser;
use xcat_extnfs::exit;
use xcat_extnfs::host::{same_host, validate_hostname};
use xcat_extnfs::pagingspace::{self, Journal, Node, Summary, SystemRunner};
use xcat_extnfs::process::find_program;
use xcat_extnfs::syslog::{Level, Syslog};

const AFTER_HELP: &str = "\
Environment:
  NFSSERVER  the external NFS server; xCAT sets it from noderes.nfsserver, or from the
             node's xcatmaster when that is unset
  LOGLABEL   the syslog tag [default: xcat]

Exit status:
  0  the node's NFS paging is on NFSSERVER, or there was nothing to do
  1  a step failed; the log says what was left in place and what to do
  2  usage error: a bad option, or NFSSERVER unset or not a host name

Every action and error goes to syslog (logger -t LOGLABEL -p local4.info|local4.err)
and to stdout. See redirectps(1).";

/// Move this AIX node's NFS paging space to the external NFS server.
///
/// Creates a paging space on NFSSERVER for the same file path (mkps -a -n -t nfs), checks with
/// lsps that it is active, and only then switches the old one off (swapoff) and removes it
/// (rmps). Inactive leftovers on NFSSERVER are removed; logical-volume spaces are not touched.
#[derive(Debug, Parser)]
#[command(name = "redirectps", version, after_help = AFTER_HELP)]
struct Args {
    /// Read lsps and print the commands that would change the node; change nothing
    #[arg(long)]
    dry_run: bool,
}

/// Where lines go: syslog through `logger`, and stdout, which xCAT appends to xcat.log.
struct Log {
    syslog: Syslog,
}

impl Log {
    /// A dry run only prints.
    fn new(label: &str, dry_run: bool) -> Log {
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
}

impl Log {
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

fn main() {
    let args = Args::parse();
    std::process::exit(run(&args));
}

fn run(args: &Args) -> i32 {
    let label = env_or("LOGLABEL", "xcat");
    let mut log = Log::new(&label, args.dry_run);
    let server = match nfs_server() {
        Ok(server) => server,
        Err(msg) => {
            log.error(&msg);
            return exit::USAGE;
        }
    };
    let mut runner = SystemRunner;
    let mut node = Node {
        runner: &mut runner,
        journal: &mut log,
        server: &server,
        same_host: &same_host,
    };
    let result = if args.dry_run {
        pagingspace::preview(&mut node).map(|_| ())
    } else {
        pagingspace::redirect(&mut node).map(|summary| {
            if summary != Summary::default() {
                node.journal.info(&format!(
                    "done: {} paging space(s) moved to {server}, {} leftover(s) removed",
                    summary.moved, summary.removed
                ));
            }
        })
    };
    match result {
        Ok(()) => exit::SUCCESS,
        Err(failed) => {
            node.journal.error(&format!(
                "{} step(s) failed; NFS paging is not (entirely) on {server}",
                failed.errors.len()
            ));
            exit::FAILURE
        }
    }
}

/// `NFSSERVER`, checked to be a host name or address.
fn nfs_server() -> Result<String, String> {
    let server = env_or("NFSSERVER", "");
    if server.is_empty() {
        return Err(
            "NFSSERVER is not set: xCAT sets it from noderes.nfsserver (or the node's \
                    xcatmaster); nothing was changed"
                .to_string(),
        );
    }
    validate_hostname(&server).map_err(|e| format!("NFSSERVER: {e}; nothing was changed"))?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        Args::command().debug_assert();
    }

    #[test]
    fn help_documents_environment_and_exit_status() {
        let help = Args::command().render_long_help().to_string();
        for needle in [
            "--dry-run",
            "NFSSERVER",
            "LOGLABEL",
            "Exit status",
            "  2  usage",
        ] {
            assert!(help.contains(needle), "{needle} missing from:\n{help}");
        }
    }
}
