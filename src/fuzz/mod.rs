//! Fuzzing of every parser that reads outside input: one target per parser, each with valid
//! samples, checked for no panic, bounded time and output proportional to the input.
//!
//! Two drivers share the targets. `cargo test --lib fuzz` runs a proptest harness (stable
//! compiler, no C++ build): 256 inputs per target of random bytes, a token soup and mutated
//! samples; `scripts/fuzz` runs 200000 of them in a release build. `scripts/fuzz --coverage`
//! runs libFuzzer, coverage-guided, through the `fuzz-parsers` binary (feature `fuzzing`;
//! instrumented with rustc's stable sanitizer-coverage pass), seeded with the samples. An
//! input that once failed is kept in `targets::REGRESSIONS`.

#[cfg(test)]
mod harness;
mod target;
mod targets;

use target::Target;
use targets::{REGRESSIONS, TARGETS};

/// The names of the fuzz targets.
pub fn names() -> impl Iterator<Item = &'static str> {
    TARGETS.iter().map(|t| t.name)
}

fn target(name: &str) -> Option<&'static Target> {
    TARGETS.iter().find(|t| t.name == name)
}

/// The seed inputs of target `name` (its samples and the inputs that once failed it), or
/// `None` for a name that is no target.
pub fn seeds(name: &str) -> Option<Vec<&'static [u8]>> {
    let t = target(name)?;
    let samples = t.samples.iter().map(|s| s.as_bytes());
    let failed = REGRESSIONS
        .iter()
        .filter(|(n, _)| *n == name)
        .map(|(_, input)| *input);
    Some(samples.chain(failed).collect())
}

/// Runs target `name` on `input` and panics when its output is out of proportion to the
/// input: a coverage-guided fuzzer counts a panic as a finding (hangs and memory it watches
/// itself).
pub fn run(name: &str, input: &[u8]) {
    let t = target(name).unwrap_or_else(|| panic!("no fuzz target {name}"));
    let text = String::from_utf8_lossy(input);
    let size = (t.run)(&text);
    let most = (t.max_output)(text.len());
    assert!(
        size <= most,
        "{name}: {size} bytes of output for {} bytes of input",
        text.len()
    );
}
