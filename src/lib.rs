//! xcat-extnfs: keeps xCAT diskless and statelite nodes running when a service node dies, by
//! keeping their NFS resources and exports on an external high-availability NFS server.
//!
//! The library holds all logic; the binaries (`extnfs`, the `syncaixres` prescript and the
//! `redirectps` postscript) only parse arguments, call in here and map errors to exit codes.

pub mod aix;
pub mod atomic;
pub mod binfmt;
pub mod cli;
pub mod config;
pub mod doctor;
pub mod exit;
pub mod exports;
pub mod host;
pub mod install;
pub mod lock;
pub mod mounts;
pub mod nim;
pub mod pagingspace;
pub mod process;
pub mod redirectps;
pub mod remote;
pub mod rsync;
pub mod scripts;
pub mod sshmux;
pub mod statelite;
pub mod status;
pub mod sync;
pub mod syslog;
pub mod timing;
pub mod xcat;

#[cfg(any(test, feature = "fuzzing"))]
#[doc(hidden)]
pub mod fuzz;
