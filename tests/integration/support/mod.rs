//! Test helpers shared by the integration tests: running the project's binaries and checking
//! what they print (`Run`), and where the bundled fixtures live.

mod run;

pub use run::Run;

/// The repository root.
pub fn root() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The bundled example cluster's dumpxCATdb directory.
pub fn example_db() -> String {
    root().join("examples/cluster/db").display().to_string()
}

/// Stand-ins for xCAT and NIM commands (`tabdump`, `lsnim`).
pub fn fixtures_bin() -> std::path::PathBuf {
    root().join("tests/integration/fixtures/bin")
}
