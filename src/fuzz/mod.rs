//! Fuzzing of every parser that reads outside input: arbitrary bytes and structure-aware
//! mutations of valid samples, each input checked for no panic, bounded time, bounded output.
//!
//! The compiler here is stable (cargo-fuzz needs nightly and a C++ libFuzzer build), so the
//! inputs come from proptest rather than coverage guidance: per target, random bytes, a soup
//! of the tokens the parsers care about, and valid samples mutated (bytes inserted, deleted,
//! duplicated many times, spliced with another sample, truncated).
//!
//! `cargo test --lib fuzz` runs 256 inputs per target (a few seconds each); a longer run:
//! `scripts/fuzz` (`PROPTEST_CASES=200000 cargo test --release --lib fuzz::`). An input that
//! fails is printed escaped; it is kept in [`REGRESSIONS`] once fixed.

mod harness;
mod targets;

use harness::{check, linear, Target};
use targets::TARGETS;

/// Inputs that once failed a target, kept so they never fail again: (target, input).
pub(crate) const REGRESSIONS: &[(&str, &[u8])] = &[
    // A sprintf width too large for usize overflowed (a panic in debug builds) and a large
    // one allocated that many bytes.
    ("arith", b"sprintf(\"%099999999999999999999999d\", 1)"),
    ("arith", b"sprintf(\"%0999999999999d\", 1)"),
    ("regexattr", b"|(\\d+)|sprintf(\"%09999999999s\", $1)|"),
    // The first character of a noderange atom was cut as a byte: a panic on non-ASCII.
    ("noderange", "\u{feff})".as_bytes()),
    ("noderange", "é[1-2]".as_bytes()),
    // The name limit held per atom only: many `+N` atoms generated millions of names.
    (
        "noderange",
        b"cn1+999990,cn2+999990,cn3+999990,cn4+999990,cn5+999990,cn6+999990",
    ),
];

#[test]
fn every_target_has_a_test_and_samples() {
    for t in TARGETS {
        assert!(!t.samples.is_empty(), "{} has no samples", t.name);
    }
    let names: std::collections::BTreeSet<_> = TARGETS.iter().map(|t| t.name).collect();
    assert_eq!(names.len(), TARGETS.len(), "target names are unique");
}

#[test]
fn regressions_stay_fixed() {
    for (name, input) in REGRESSIONS {
        let target = TARGETS.iter().find(|t| t.name == *name).unwrap();
        check(target, input).unwrap();
    }
}

#[test]
fn the_checks_catch_a_panic_and_a_blow_up() {
    let panics = Target {
        name: "panics",
        samples: &["x"],
        run: |s| if s.contains('!') { panic!("boom") } else { 0 },
        max_output: linear,
    };
    assert!(check(&panics, b"a!").unwrap_err().contains("panicked"));
    assert!(check(&panics, b"a").is_ok());
    let big = Target {
        name: "big",
        samples: &["x"],
        run: |s| s.len() * 1000 + 100_000,
        max_output: linear,
    };
    assert!(check(&big, b"abc").unwrap_err().contains("bytes of output"));
}
