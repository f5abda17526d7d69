//! The integration tests: one test binary, one module per feature, shared helpers in `support`.

mod doctor;
mod exports;
mod extnfs_exports;
mod faults;
mod harness;
mod import_cycles;
mod install;
mod manpages;
mod mounts;
mod nodels;
mod properties;
mod redirectps;
mod support;
mod syncaixres;
mod syncstatelite;
