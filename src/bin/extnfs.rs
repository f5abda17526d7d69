//! `extnfs`: the administrator's command for xcat-extnfs.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use xcat_extnfs::exit;
use xcat_extnfs::xcat::{nodels::nodels, Db, Resolver};

/// Keep xCAT diskless and statelite nodes up when a service node dies.
///
/// Exit status: 0 success; 1 some node or resource failed; 2 usage or configuration error.
#[derive(Parser)]
#[command(name = "extnfs", version)]
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
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => ExitCode::from(code as u8),
        Err(err) => {
            eprintln!("extnfs: {err:#}");
            ExitCode::from(exit::USAGE as u8)
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
    }
}
