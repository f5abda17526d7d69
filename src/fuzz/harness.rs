//! The fuzzing run inside `cargo test`: proptest draws random bytes, a soup of tokens and
//! mutated samples for each target, and checks each input for no panic, time and output.

use std::sync::mpsc;
use std::time::Duration;

use proptest::prelude::*;
use proptest::test_runner::{Config, FileFailurePersistence};

use super::target::{linear, Target};
use super::targets::{REGRESSIONS, TARGETS};

/// No input may keep a parser longer than this (debug build, a shared machine): it catches
/// hangs and blow-ups, not slowness. (A noderange at its million-name limit takes a few
/// seconds in a debug build; the mutations seldom build one.)
const TIME_LIMIT: Duration = Duration::from_secs(30);

/// Tokens that mean something to one parser or another, for the token soup and insertions.
const TOKENS: &[&str] = &[
    "\"",
    "\"\"",
    ",",
    "\n",
    "\r\n",
    "\\",
    "#",
    "[",
    "]",
    "(",
    ")",
    "{",
    "}",
    "|",
    "/",
    "$",
    ":",
    "=",
    "-",
    "+",
    "*",
    "%",
    ".",
    "^",
    "@",
    "!",
    "~",
    "<",
    ">",
    ";",
    "'",
    "\t",
    " ",
    "0",
    "9",
    "18446744073709551616",
    "-9223372036854775808",
    "999999999",
    "%0999d",
    "%s",
    "$1",
    "$9",
    "\\d+",
    "(\\d+)",
    "node",
    "cn1",
    "$node",
    "$noderes.nfsserver",
    "$nodetype.os",
    "#CMD=",
    "[1-3]",
    "[1-999999]",
    "+5",
    "1-2",
    "..",
    "../",
    "/install",
    "nodename = ",
    "exports",
    "-rw",
    "-ro",
    "root=",
    "sec=sys",
    "\u{feff}",
    "\u{0}",
    "\u{fffd}",
    "é",
    "SPOT=",
    "ROOT=",
    "NIM_HOSTS=",
    "export ",
    "[server.",
    "]\n",
    "=\"",
    "\"\n",
    "type = ",
    "location = ",
    "Class_Info = ",
    "hd6",
    "rootvg",
    "paging00",
    "yes",
    "no",
    "lv",
    "nfs",
    "#Name:",
    ":\n",
];

/// A small deterministic generator for the mutations (the seed comes from proptest).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

/// `sample` changed by `count` mutations drawn from `seed`.
fn mutate(samples: &[&str], sample: usize, seed: u64, count: usize) -> Vec<u8> {
    let mut rng = Rng(seed | 1);
    let mut data = samples[sample % samples.len()].as_bytes().to_vec();
    for _ in 0..count {
        let len = data.len();
        let at = rng.below(len + 1);
        match rng.below(8) {
            0 | 1 => {
                let token = TOKENS[rng.below(TOKENS.len())].as_bytes();
                data.splice(at..at, token.iter().copied());
            }
            2 => {
                let end = (at + rng.below(16)).min(len);
                data.drain(at..end);
            }
            3 => {
                // A slice repeated many times: long values, deep nesting, big counts.
                let end = (at + 1 + rng.below(16)).min(len);
                let piece = data[at.min(len)..end].to_vec();
                let most = if rng.below(4) == 0 { 4096 } else { 16 };
                let times = 1 + rng.below(most);
                let repeated: Vec<u8> = piece.repeat(times);
                data.splice(at..at, repeated);
            }
            4 => {
                if len > 0 {
                    data[rng.below(len)] = rng.next() as u8;
                }
            }
            5 => {
                let other = samples[rng.below(samples.len())].as_bytes();
                let from = rng.below(other.len() + 1);
                let end = (from + rng.below(64)).min(other.len());
                data.splice(at..at, other[from..end].iter().copied());
            }
            6 => data.truncate(at),
            _ => {
                let digits = ["0", "1", "65535", "4294967296", "99999999999999999999"];
                let d = digits[rng.below(digits.len())].as_bytes();
                data.splice(at..at, d.iter().copied());
            }
        }
        data.truncate(1 << 20);
    }
    data
}

/// The inputs of one target: random bytes, token soup, mutated samples.
fn inputs(samples: &'static [&'static str]) -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        1 => proptest::collection::vec(any::<u8>(), 0..512),
        1 => proptest::collection::vec(proptest::sample::select(TOKENS), 0..128)
            .prop_map(|t| t.concat().into_bytes()),
        4 => (any::<usize>(), any::<u64>(), 1..12usize)
            .prop_map(move |(s, seed, n)| mutate(samples, s, seed, n)),
    ]
}

/// Runs `target` on `input` in its own thread (the stack of a main thread), and says what
/// went wrong: a panic, too long, too much output.
pub(crate) fn check(target: &Target, input: &[u8]) -> Result<(), String> {
    let text = String::from_utf8_lossy(input).into_owned();
    let n = text.len();
    let run = target.run;
    let (tx, rx) = mpsc::channel();
    std::thread::Builder::new()
        .stack_size(8 << 20)
        .spawn(move || {
            let result = std::panic::catch_unwind(|| run(&text));
            let _ = tx.send(result);
        })
        .map_err(|e| format!("cannot start a thread: {e}"))?;
    let shown = || {
        format!(
            "{:?}",
            String::from_utf8_lossy(&input[..input.len().min(2000)])
        )
    };
    match rx.recv_timeout(TIME_LIMIT) {
        Err(_) => Err(format!(
            "{}: no answer within {TIME_LIMIT:?} for input {}",
            target.name,
            shown()
        )),
        Ok(Err(_)) => Err(format!("{}: panicked on input {}", target.name, shown())),
        Ok(Ok(size)) if size > (target.max_output)(n) => Err(format!(
            "{}: {size} bytes of output for {n} bytes of input {}",
            target.name,
            shown()
        )),
        Ok(Ok(_)) => Ok(()),
    }
}

/// Fuzzes one target with `PROPTEST_CASES` inputs (256 unless set).
pub(crate) fn fuzz(name: &str) {
    let target = super::target(name).unwrap_or_else(|| panic!("no fuzz target {name}"));
    for sample in target.samples {
        check(target, sample.as_bytes()).unwrap();
    }
    let config = Config {
        failure_persistence: Some(Box::new(FileFailurePersistence::Off)),
        ..Config::default()
    };
    let mut runner = proptest::test_runner::TestRunner::new(config);
    let result = runner.run(&inputs(target.samples), |input| {
        check(target, &input).map_err(TestCaseError::fail)
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}

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
        let target = super::target(name).unwrap();
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

// One test per target, named after it, so that a failure names its parser.
macro_rules! fuzz_tests {
    ($($name:ident)*) => {
        mod run {
            $(
                #[test]
                fn $name() {
                    super::fuzz(stringify!($name));
                }
            )*
            #[test]
            fn every_target_is_tested() {
                let tested = [$(stringify!($name)),*];
                for t in super::TARGETS {
                    assert!(tested.contains(&t.name), "no test for fuzz target {}", t.name);
                }
            }
        }
    };
}

fuzz_tests!(
    tabdump noderange regexattr arith subvars statemnt litetree litefile lsps filesystems info
    hosts config lsnim exports ganesha_ids applied_linux applied_aix applied_ganesha
    applied_ces rsh rsync_output script_output
);

#[test]
fn the_fuzzer_entry_points_name_seed_and_check() {
    assert!(super::names().any(|n| n == "noderange"));
    let seeds = super::seeds("noderange").unwrap();
    let samples = super::target("noderange").unwrap();
    assert!(
        seeds.len() > samples.samples.len(),
        "samples and past failures"
    );
    assert!(super::seeds("nothing").is_none());
    super::run("noderange", b"cn[1-3]");
    let caught = std::panic::catch_unwind(|| super::run("nothing", b"x"));
    assert!(caught.is_err());
}
