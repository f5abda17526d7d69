//! `extnfs`: the administrator's command for xcat-extnfs.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use xcat_extnfs::cli::{self, ExportsTarget, EXIT_STATUS_HELP};
use xcat_extnfs::exit;
use xcat_extnfs::exports;
use xcat_extnfs::mounts;
use xcat_extnfs::nim::Nim;
use xcat_extnfs::sync::report::Format;
use xcat_extnfs::sync::servers::NodeAddresses;
use xcat_extnfs::xcat::{nodels::nodels, Db, Resolver};

/// Keep xCAT diskless and statelite nodes up when a service node dies.
#[derive(Parser)]
#[command(name = "extnfs", version, after_help = EXIT_STATUS_HELP)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// List nodes and their attributes as xCAT resolves them (like xCAT's nodels).
    Nodels {
        /// Read tables from a dumpxCATdb directory instead of running tabdump.
        #[arg(long, value_name = "DIR")]
        db: Option<PathBuf>,
        /// Always print the attribute name, also for a single attribute.
        #[arg(short = 'H', long = "with-fieldname")]
        with_fieldname: bool,
        /// The nodes: an xCAT noderange.
        noderange: String,
        /// Attributes to show, as table.column.
        attributes: Vec<String>,
    },
    /// What each node mounts over NFS (kind, server, path, ro/rw), as xCAT computes it.
    ///
    /// One line per node and mount, `<node>: <kind> <server>:<path> <ro|rw>`, nodes in
    /// noderange order, mounts in the order the node makes them; notes and nodes that
    /// cannot be computed go to stderr. AIX nodes need lsnim (run it on their NIM master).
    Mounts {
        /// Read tables from a dumpxCATdb directory instead of running tabdump.
        #[arg(long, value_name = "DIR")]
        db: Option<PathBuf>,
        #[arg(long, value_enum, default_value = "human")]
        format: Format,
        /// The nodes: an xCAT noderange.
        noderange: String,
    },
    /// Will these nodes boot from their external NFS server and survive their SN? Checks
    /// redirection, the server's copies, the exports it applies, statelite, reachability and
    /// xCAT set-up; prints each problem with its nodes and the command that fixes it.
    ///
    /// Exit status 0: no problem; 1: problems found; 2: usage or configuration error.
    Doctor(cli::DoctorArgs),
    /// Per external server and image: nodes, in sync, missing, differing, each SN's last sync
    /// and whether the exports are up to date.
    Status(cli::StatusArgs),
    /// The external server's NFS exports, merged from every service node's part.
    Exports {
        #[command(subcommand)]
        action: ExportsAction,
    },
    /// Place the prescripts and postscripts where xCAT runs them and print the chdef lines
    /// that enable them.
    Install(xcat_extnfs::install::Args),
    /// Print a shell completion script (bash: save it as
    /// /usr/share/bash-completion/completions/extnfs).
    Completion {
        /// The shell.
        shell: clap_complete::Shell,
    },
}

#[derive(Subcommand)]
enum ExportsAction {
    /// Print what would be applied: per path the merged clients and the SN parts they came
    /// from, then the configuration and the commands. Changes nothing.
    Render(ExportsArgs),
    /// Refresh this SN's part from its exports and apply the merged exports on the server.
    Apply(ExportsArgs),
}

#[derive(clap::Args)]
struct ExportsArgs {
    /// The server, as noderes.nfsserver names it (default: each server of the nodes this
    /// host serves, by noderes.servicenode or noderes.xcatmaster; with --no-local, of every
    /// node).
    #[arg(long, value_name = "NAME")]
    server: Option<String>,
    /// Read tables from a dumpxCATdb directory instead of running tabdump.
    #[arg(long, value_name = "DIR")]
    db: Option<PathBuf>,
    /// Configuration file (default: $XCAT_EXTNFS_CONFIG, else /etc/xcat/extnfs.toml).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// This SN's name, which names its part (default: the short host name).
    #[arg(long, value_name = "NAME")]
    sn: Option<String>,
    /// Only merge the parts already on the server; leave this host's part as it is (for a
    /// run on the management node).
    #[arg(long)]
    no_local: bool,
    /// Treat DIR as this host's / when reading its exports.
    #[arg(long, value_name = "DIR", default_value = "/")]
    sysroot: PathBuf,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => ExitCode::from(code as u8),
        Err(err) => {
            eprintln!("extnfs: {err:#}");
            ExitCode::from(cli::exit_status(err.chain()) as u8)
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<i32> {
    match cli.command {
        Command::Nodels {
            db,
            with_fieldname,
            noderange,
            attributes,
        } => {
            let db = Db::open(db.as_deref());
            let resolver = Resolver::new(&db);
            print!(
                "{}",
                nodels(&resolver, &noderange, &attributes, with_fieldname)?
            );
            Ok(exit::SUCCESS)
        }
        Command::Mounts {
            db,
            format,
            noderange,
        } => {
            let db = Db::open(db.as_deref());
            let resolver = Resolver::new(&db);
            let nim = Nim::new(None);
            let opts = mounts::Options {
                image: None,
                nim: Some(&nim),
            };
            let model = mounts::gather(&resolver, &resolver.noderange(&noderange)?, &opts)?;
            match format {
                Format::Human => model.lines().iter().for_each(|l| println!("{l}")),
                Format::Json => println!("{}", serde_json::to_string_pretty(&model)?),
            }
            for line in model.problem_lines(format == Format::Human) {
                eprintln!("{line}");
            }
            Ok(match model.failed.is_empty() {
                true => exit::SUCCESS,
                false => exit::FAILURE,
            })
        }
        Command::Doctor(args) => cli::doctor(&args),
        Command::Status(args) => cli::status(&args),
        Command::Exports { action } => {
            let (args, apply) = match &action {
                ExportsAction::Render(a) => (a, false),
                ExportsAction::Apply(a) => (a, true),
            };
            let sysroot = &args.sysroot;
            let server = args.server.as_deref();
            let config = args.config.as_deref();
            let sn = args.sn.clone();
            let db = args.db.as_deref();
            let t = ExportsTarget::open(config, server, args.no_local, sysroot, sn, db)?;
            for note in &t.notes {
                eprintln!("extnfs: note: {note}");
            }
            let resolver = Resolver::new(&t.db);
            let addresses = NodeAddresses {
                resolver: &resolver,
            };
            let local = t.local_sn(&addresses);
            // Each server in turn; one that fails does not stop the others.
            let mut codes = Vec::new();
            for s in &t.servers {
                let done = match apply {
                    true => exports::apply_for_server(&s.remote, &s.settings, local, false).map(
                        |report| {
                            println!("{report}");
                            report.failed_clients.is_empty()
                        },
                    ),
                    false => exports::render_for_server(&s.remote, &s.settings, local)
                        .map(|text| print!("{text}"))
                        .map(|()| true),
                };
                codes.push(match done {
                    Ok(true) => exit::SUCCESS,
                    Ok(false) => exit::FAILURE,
                    Err(e) if t.servers.len() == 1 => return Err(e.into()),
                    Err(e) => {
                        eprintln!("extnfs: {e}");
                        e.exit_status()
                    }
                });
            }
            Ok(cli::exports_status(&codes, apply))
        }
        Command::Install(args) => Ok(xcat_extnfs::install::run_stdio(&args)?),
        Command::Completion { shell } => {
            let mut cli = <Cli as clap::CommandFactory>::command();
            clap_complete::generate(shell, &mut cli, "extnfs", &mut std::io::stdout());
            Ok(exit::SUCCESS)
        }
    }
}
