//! Where the bundled fixtures live: the example cluster and the xCAT/NIM stand-ins.

use std::path::PathBuf;

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The bundled example cluster's dumpxCATdb directory.
pub fn example_db() -> String {
    root().join("examples/cluster/db").display().to_string()
}

/// Stand-ins for xCAT and NIM commands (`tabdump`, `lsnim`).
pub fn fixtures_bin() -> PathBuf {
    root().join("tests/integration/fixtures/bin")
}

/// `PATH` with [`fixtures_bin`] first: the stand-ins (lsnim, tabdump...) before the machine's
/// commands.
pub fn fixtures_path() -> String {
    let path = std::env::var("PATH").expect("PATH is set");
    format!("{}:{path}", fixtures_bin().display())
}

/// Commands the lab's servers find in `/usr/local/sbin` (`exportfs`).
pub fn server_bin() -> PathBuf {
    root().join("tests/integration/fixtures/server-bin")
}
