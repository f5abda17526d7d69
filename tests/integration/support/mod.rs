//! Test helpers shared by the integration tests: `Run` for the project's binaries, the bundled
//! fixtures, and the lab.
//!
//! The lab (`Lab`) runs the real programs end to end on one machine: NFS servers with sshd and
//! NFS-Ganesha in network and mount namespaces, service nodes as private mount namespaces, and
//! NFS clients with addresses of their own. It needs root; see `Lab::new`.
//!
//! ```ignore
//! let lab = Lab::new("sync");
//! let nfs = lab.server("nfs1");
//! let sn = lab.sn("sn1");
//! lab.hosts(&[("nfs1", nfs.addr()), ("sn1", lab.sn_addr())]);
//! sn.write("install/nim/spot/usr/bin/ls", "...");
//! sn.command(env!("CARGO_BIN_EXE_syncaixres"))
//!     .env("RSYNC_RSH", lab.rsync_rsh())
//!     .run_bounded()
//!     .assert_success();
//! assert_eq!(nfs.read("install/nim/spot/usr/bin/ls"), "...");
//! let ganesha = nfs.start_ganesha("EXPORT { ... }");
//! let cn = lab.client("cn001", "10.250.130.1");
//! assert!(cn.nfs_cat(&nfs, "/install/nim/spot/usr/bin/ls").success());
//! ```

// Each test module uses a different part of these helpers and their re-exports.
#![allow(dead_code, unused_imports)]

mod client;
mod exec;
mod faults;
mod files;
mod fixtures;
mod host;
mod lab;
pub mod net;
mod run;
mod server;
mod sn;
mod ssh;
pub mod states;
pub mod tripwire;

pub use client::Client;
pub use exec::{poll_until, wait_until, CommandExt, Finished, Running, COMMAND_LIMIT};
pub use faults::{assert_unreachable_at_start, one_line, CountingSsh, LAB_HUNG_SERVER_SECONDS};
pub use files::{allocated, assert_same, copy_tree, digest};
pub use fixtures::{example_db, fixtures_bin, fixtures_path, root};
pub use host::{Host, Tree};
pub use lab::{require, Lab};
pub use run::Run;
pub use server::{Ganesha, Server};
pub use sn::Sn;
pub use ssh::keygen;
