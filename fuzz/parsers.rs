//! libFuzzer's entry point over the parsers of outside input (`scripts/fuzz --coverage`):
//! `EXTNFS_FUZZ_TARGET` names the parser, `EXTNFS_FUZZ_SEEDS` the corpus to seed.
#![no_main]

use std::path::Path;
use std::sync::OnceLock;

use xcat_extnfs::fuzz;

static TARGET: OnceLock<String> = OnceLock::new();

/// Reads the target's name; `list` prints every name and exits. The seeds are written into
/// the corpus directory before libFuzzer reads it.
fn init() {
    let name = std::env::var("EXTNFS_FUZZ_TARGET").unwrap_or_default();
    if name == "list" {
        for n in fuzz::names() {
            println!("{n}");
        }
        std::process::exit(0);
    }
    let Some(seeds) = fuzz::seeds(&name) else {
        eprintln!("EXTNFS_FUZZ_TARGET={name:?} is no fuzz target; `list` prints them");
        std::process::exit(2);
    };
    if let Ok(dir) = std::env::var("EXTNFS_FUZZ_SEEDS") {
        let dir = Path::new(&dir);
        for (i, seed) in seeds.iter().enumerate() {
            let path = dir.join(format!("seed-{i}"));
            if let Err(e) = std::fs::write(&path, seed) {
                eprintln!("cannot write the seed {}: {e}", path.display());
                std::process::exit(2);
            }
        }
    }
    TARGET.set(name).expect("set once");
}

libfuzzer_sys::fuzz_target!(init: init(), |data: &[u8]| {
    fuzz::run(TARGET.get().expect("initialised"), data);
});
