//! The randomized mode: seeded rounds of SIGKILLs, six SNs at once and hostile values, checked as
//! in `crash` and `hostile`; CI runs 4 rounds, `scripts/chaos ROUNDS SEED` as many as asked.

use std::path::PathBuf;
use std::time::Instant;

use crate::crash::{change_sources, kill_round, recorded, six_at_once, sync_all, Rng};
use crate::fleet::Fleet;
use crate::hostile::{hostile_run, values, REFUSED};
use crate::support::tripwire::{Event, KillPoint};
use crate::support::{CommandExt, Lab};

/// Rounds when `EXTNFS_CHAOS_ROUNDS` is not set (the CI run).
const CI_ROUNDS: u64 = 4;
/// The seed when `EXTNFS_CHAOS_SEED` is not set.
const CI_SEED: u64 = 13;

fn env_number(name: &str, default: u64) -> u64 {
    match std::env::var(name) {
        Ok(v) => v
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("{name}={v:?} is not a number")),
        Err(_) => default,
    }
}

/// A random kill point over the whole run: the largest numbers are a little past what the
/// recorded run of sn1 has (`counts`, from [`recorded`]), so that some points are never
/// reached and the run must simply succeed.
fn random_point(rng: &mut Rng, counts: &[(Event, u32)]) -> KillPoint {
    let (event, delay) = match rng.below(4) {
        0 => (Event::Lsnim, 0),
        1 => (Event::Ssh, 300),
        2 => (Event::Rsync, 400),
        _ => (Event::Edit, 0),
    };
    let count = counts
        .iter()
        .find(|(e, _)| *e == event)
        .map_or(0, |&(_, n)| n);
    KillPoint {
        event,
        at: 1 + rng.below(u64::from(count) + 2) as u32,
        delay_ms: if delay > 0 && rng.below(2) == 0 {
            rng.below(delay) as u32
        } else {
            0
        },
        group: rng.below(2) == 0,
    }
}

#[test]
fn chaos_rounds_of_seeded_faults() {
    let rounds = env_number("EXTNFS_CHAOS_ROUNDS", CI_ROUNDS);
    let seed = env_number("EXTNFS_CHAOS_SEED", CI_SEED);
    let started = Instant::now();
    let lab = Lab::new("chaos");
    let f = Fleet::new(&lab, 6);
    sync_all(&f);
    let canary = PathBuf::from(format!("/tmp/xcat-extnfs-canary-{}", lab.prefix()));
    let hostile = values(&canary.display().to_string());
    // The recorded run's content comes from a generator of its own: a seed's rounds stay
    // those it had before runs were recorded.
    change_sources(&f, "sn1", 0, true, &mut Rng::new(!seed));
    let counts = recorded(&f, "sn1");
    let mut rng = Rng::new(seed);
    let (mut kills, mut fired, mut six, mut refused) = (0, 0, 0, 0);
    for round in 0..rounds {
        let what = match rng.below(10) {
            0..=5 => {
                let sn = format!("sn{}", 1 + rng.below(6));
                let point = random_point(&mut rng, &counts);
                let jobs = if rng.below(2) == 0 { 1 } else { 4 };
                let spot = rng.below(2) == 0;
                change_sources(&f, &sn, round, spot, &mut rng);
                let killed = kill_round(&f, &sn, point, jobs);
                kills += 1;
                fired += u32::from(killed.fired);
                format!(
                    "kill {sn} at {point}, jobs {jobs}{}",
                    if killed.fired { "" } else { ": not reached" }
                )
            }
            6..=7 => {
                six_at_once(&f, round, 2000, &mut rng);
                six += 1;
                "six SNs at once".to_string()
            }
            _ => {
                let source = REFUSED[rng.below(REFUSED.len() as u64) as usize];
                let (class, value) = &hostile[rng.below(hostile.len() as u64) as usize];
                let out = hostile_run(&f, source, value, &canary);
                assert_ne!(out.run.code(), Some(0), "{source:?} {class}: {}", out.run);
                let again = f
                    .syncaixres("sn1", &Fleet::nodes("sn1"))
                    .arg("--verify")
                    .run_bounded();
                assert!(again.success(), "after {source:?} {class}: {again}");
                refused += 1;
                format!("hostile {class} in {source:?}")
            }
        };
        eprintln!("chaos seed {seed} round {round}: {what}: ok");
    }
    let summary = format!(
        "chaos: {rounds} round(s), seed {seed}: {kills} SIGKILL round(s) ({fired} killed, {} \
         point(s) not reached), {six} six-SN round(s), {refused} hostile round(s); 0 failure(s); \
         {:.0} s",
        kills - fired,
        started.elapsed().as_secs_f64()
    );
    eprintln!("{summary}");
    if let Ok(path) = std::env::var("EXTNFS_CHAOS_REPORT") {
        std::fs::write(&path, format!("{summary}\n")).expect("write the chaos report");
    }
}
