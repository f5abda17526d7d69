//! `redirectps`: the xCAT postscript that moves an AIX diskless node's NFS paging space from its
//! service node to the external NFS server named by `NFSSERVER`. It runs at every boot.

use clap::Parser;
use xcat_extnfs::exit;
use xcat_extnfs::redirectps;

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

fn main() {
    let args = Args::parse();
    std::process::exit(match redirectps::run(args.dry_run) {
        Ok(()) => exit::SUCCESS,
        Err(e) => e.exit_status(),
    });
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
