//! AIX and NIM file formats: `/etc/filesystems` stanzas, hosts files, `<client>.info` files
//! and `lsps` output, parsed robustly and edited without touching anything else.

pub mod filesystems;
pub mod hosts;
pub mod info;
pub mod litetables;
pub mod lsps;
