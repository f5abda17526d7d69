//! `syncaixres` SIGKILLed at seeded points and six SNs syncing one server at once: the server's
//! good copy and the SN's files stay whole, and the next run converges.

use std::os::unix::process::{CommandExt as _, ExitStatusExt};
use std::time::Duration;

use crate::fleet::{Fleet, SERVER_RECORDS, SERVER_SCRATCH};
use crate::support::states::{rsync_temporary, torn, State};
use crate::support::tripwire::{wait_for_group, EditWatch, Event, KillPoint};
use crate::support::{poll_until, CommandExt, Finished, Host, Lab, Tree};

const SPOT_LIB: &str = "install/nim/spot/71Bcosi/usr/lib/libc.a";

/// A small deterministic generator (SplitMix64): the seeds make every round reproducible.
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n`.
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    pub(crate) fn bytes(&mut self, len: usize) -> Vec<u8> {
        let mut out = Vec::with_capacity(len + 8);
        while out.len() < len {
            out.extend_from_slice(&self.next().to_le_bytes());
        }
        out.truncate(len);
        out
    }
}

/// The directory of the first node of `sn` under the cosi root, relative to the tree.
fn first_root(sn: &str) -> String {
    let k: usize = sn[2..].parse().unwrap();
    let node = match k {
        1 => "cn001".to_string(),
        2 => "cn005_71Bcosi".to_string(),
        _ => format!("cn0{k}1"),
    };
    format!("install/nim/root/71Bcosi_root/{node}")
}

/// The server paths that belong to `sn`'s nodes alone.
fn own_paths(sn: &str) -> Vec<String> {
    let nodes = Fleet::nodes(sn);
    let mut paths = Vec::new();
    for node in nodes.split(',').filter(|n| *n != "cn010") {
        for dir in [
            "install/nim/root/71Bcosi_root",
            "install/nim/paging/71Bcosi_paging",
            "install/nim/paging/71Bsr_paging",
        ] {
            paths.push(format!("{dir}/{node}"));
            paths.push(format!("{dir}/{node}_71Bcosi"));
        }
        for file in ["hosts", "filesystems"] {
            paths.push(format!(
                "install/nim/shared_root/71Bsr_shared_root/etc/.client_data/{file}.{node}"
            ));
        }
    }
    paths
}

/// New content for a round: the SPOT's libc.a (`spot`) on `sn`, copied with its time to
/// every other SN (the SNs' SPOTs stay identical), and on `sn` a new file in its first node's
/// root, last round's removed; the SN's edited files put back as NIM wrote them.
pub(crate) fn change_sources(f: &Fleet<'_>, sn: &str, round: u64, spot: bool, rng: &mut Rng) {
    if spot {
        let lib = f.sn(sn).write(SPOT_LIB, rng.bytes(2 << 20));
        for other in f.sns.values().filter(|o| o.name() != sn) {
            let status = std::process::Command::new("cp")
                .arg("-p")
                .arg(&lib)
                .arg(other.path(SPOT_LIB))
                .status()
                .unwrap();
            assert!(status.success(), "cp -p {}", lib.display());
        }
    }
    let s = f.sn(sn);
    let adm = format!("{}/var/adm", first_root(sn));
    if let Ok(entries) = std::fs::read_dir(s.path(&adm)) {
        for e in entries.flatten() {
            std::fs::remove_file(e.path()).unwrap();
        }
    }
    s.write(format!("{adm}/round-{round}"), rng.bytes(1 << 20));
    f.unedit(sn);
}

/// What a killed round found.
pub(crate) struct Killed {
    /// The run was killed (false: it ended before the point was reached).
    pub(crate) fired: bool,
    pub(crate) run: Finished,
}

/// Runs `sn`'s sync killed at `point`, then checks: every server and SN file caught after the
/// kill is its old or new version, no temporary file is left, no other SN's node lost a file;
/// the rerun exits 0 and its verification is clean. Panics with what went wrong.
pub(crate) fn kill_round(f: &Fleet<'_>, sn: &str, point: KillPoint, jobs: u32) -> Killed {
    let nodes = Fleet::nodes(sn);
    let before = (f.server_state(), f.sn_state(sn));
    f.tripwire.reset();
    let mut cmd = f.syncaixres(sn, &nodes);
    f.tripwire.arm(&mut cmd, &point);
    cmd.args(["--jobs", &jobs.to_string()]).process_group(0);
    let (watch, target) = EditWatch::start(&f.edited_dirs(sn), Some(point));
    let mut running = cmd.spawn_bounded();
    let pid = running.id();
    target.set(pid);
    let run = running.finish();
    let (_, edit_fired) = watch.finish();
    let fired = run.status.signal() == Some(libc::SIGKILL);
    assert!(
        fired || run.success(),
        "{point}: the run failed without being killed: {run}\nevents:\n{}",
        f.tripwire.events()
    );
    assert!(
        !fired || edit_fired || f.tripwire.fired().is_some(),
        "{point}: killed by something else: {run}"
    );
    // The orphans of a run killed alone finish; the server's processes of a killed
    // connection end.
    wait_for_group(pid, Duration::from_secs(60));
    let settled = poll_until(Duration::from_secs(30), || {
        !f.nfs.pids().iter().any(|p| {
            std::fs::read_to_string(format!("/proc/{p}/comm"))
                .is_ok_and(|c| c.trim() == "rsync" || c.trim() == "sh")
        })
    });
    assert!(settled, "{point}: the server's rsync or scripts still run");
    let mid = (f.server_state(), f.sn_state(sn));
    let records = broken_records(f, &mid.0);

    let rerun = f.syncaixres(sn, &nodes).arg("--verify").run_bounded();
    assert!(
        rerun.success()
            && rerun.stdout.contains("verified, no differences")
            && !rerun.stdout.contains("VERIFY FAILED"),
        "{point}: the run after the kill did not converge: {rerun}"
    );
    let after = (f.server_state(), f.sn_state(sn));
    // rsync writes into its --temp-dir, so no temporary name belongs in the server's tree; an
    // SN edit's temporary file may be caught, if the rerun removes it.
    let mut wrong = torn(
        "server",
        [&before.0, &mid.0, &after.0],
        &[SERVER_SCRATCH, SERVER_RECORDS].concat(),
        false,
    );
    wrong.extend(records);
    wrong.extend(torn(sn, [&before.1, &mid.1, &after.1], &[], true));
    wrong.extend(leftovers(&before.1, &after.1, sn));
    wrong.extend(
        after
            .0
             .0
            .keys()
            .filter(|p| stray(p))
            .map(|p| format!("server: {} left after the rerun", p.display())),
    );
    for other in f.sns.keys().filter(|o| *o != sn) {
        for path in own_paths(other) {
            let (b, m, a) = (
                before.0.under(&path),
                mid.0.under(&path),
                after.0.under(&path),
            );
            if b != m || b != a {
                wrong.push(format!("server: {other}'s {path} changed"));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "{point}: {}\nkilled run: {run}\nevents:\n{}",
        wrong.join("\n"),
        f.tripwire.events()
    );
    Killed { fired, run }
}

/// The server's records (sync stamps) that are not whole JSON: each run writes its own, so a
/// record caught after a kill is that run's or the last one's, and must parse.
fn broken_records(f: &Fleet<'_>, mid: &State) -> Vec<String> {
    mid.0
        .iter()
        .filter(|(p, e)| {
            SERVER_RECORDS.iter().any(|r| p.starts_with(r))
                && matches!(e, crate::support::states::Entry::File { .. })
        })
        .filter_map(|(p, _)| {
            let text = std::fs::read_to_string(f.nfs.root().join(p)).unwrap_or_default();
            let whole = serde_json::from_str::<serde_json::Value>(&text).is_ok();
            (!whole).then(|| format!("server: record {} is not whole: {text:?}", p.display()))
        })
        .collect()
}

/// A server path no finished run may leave: an rsync temporary file, or anything inside the
/// runs' working directory.
fn stray(path: &std::path::Path) -> bool {
    rsync_temporary(path)
        || SERVER_SCRATCH
            .iter()
            .any(|s| path.starts_with(s) && path != std::path::Path::new(s))
}

/// Files on the SN after the rerun that were not there before (a leftover temporary file).
fn leftovers(before: &State, after: &State, sn: &str) -> Vec<String> {
    after
        .0
        .keys()
        .filter(|p| !before.0.contains_key(*p))
        .map(|p| format!("{sn}: {} was left behind", p.display()))
        .collect()
}

/// Syncs every SN once, one after the other.
pub(crate) fn sync_all(f: &Fleet<'_>) {
    for sn in f.sns.keys() {
        let out = f.syncaixres(sn, &Fleet::nodes(sn)).run_bounded();
        assert!(out.success(), "first sync of {sn}: {out}");
    }
}

/// Where a kill point falls among a run's events of its kind: the Nth from the first, or the
/// Nth before the last (`Last(0)` is the last).
#[derive(Clone, Copy)]
enum At {
    First(u32),
    Last(u32),
}

/// The kill points every CI run tries (with `--jobs 1`, so that the numbering is the same each
/// time): planning (lsnim), the shared connection, the SN edits (inotify events: odd ones
/// follow a temporary file's creation, even ones its rename), the copies (rsync starts, and
/// times into a file), paging allocation, verification, exports and the connection's close.
/// Each is placed from the start or the end of its phase and numbered against a recorded run
/// of the same SN (see [`recorded`]), so that a change in the engine's command count moves the
/// points with it instead of leaving some unreachable. Placed against the run of the
/// example's sn1 (8 lsnim, 15 ssh, 6 rsync, 20 edit events), they are the points this test
/// was written with. A delay is only used where the run goes on well after it: a kill timed
/// after the last command could come after the run's end.
const POINTS: &[(Event, At, u32)] = &[
    (Event::Lsnim, At::First(1), 0),
    (Event::Lsnim, At::Last(3), 0),
    (Event::Lsnim, At::Last(0), 0),
    (Event::Ssh, At::First(2), 0),
    (Event::Edit, At::First(1), 0),
    (Event::Edit, At::First(4), 0),
    (Event::Edit, At::First(9), 0),
    (Event::Edit, At::Last(6), 0),
    (Event::Edit, At::Last(1), 0),
    (Event::Ssh, At::First(4), 0),
    (Event::Rsync, At::First(1), 0),
    (Event::Rsync, At::First(1), 120),
    (Event::Ssh, At::First(5), 200),
    (Event::Rsync, At::First(2), 60),
    (Event::Ssh, At::First(7), 0),
    (Event::Ssh, At::First(8), 0),
    (Event::Ssh, At::First(9), 20),
    (Event::Ssh, At::First(10), 0),
    (Event::Rsync, At::Last(1), 0),
    (Event::Ssh, At::Last(2), 0),
    (Event::Ssh, At::Last(1), 0),
    (Event::Ssh, At::Last(0), 0),
    (Event::Ssh, At::Last(3), 0),
    (Event::Ssh, At::Last(4), 0),
];

/// The fewest distinct points a CI run must try.
const MIN_POINTS: usize = 20;

/// How many events of each kind a `--jobs 1` run of `sn` has, from a run that is not killed
/// (after `change_sources`, as every kill round): lsnim, ssh and rsync starts, edit events.
pub(crate) fn recorded(f: &Fleet<'_>, sn: &str) -> [(Event, u32); 4] {
    f.tripwire.reset();
    let mut cmd = f.syncaixres(sn, &Fleet::nodes(sn));
    cmd.args(["--jobs", "1"]);
    let (watch, _) = EditWatch::start(&f.edited_dirs(sn), None);
    let run = cmd.run_bounded();
    let (edits, _) = watch.finish();
    assert!(run.success(), "the recorded run of {sn}: {run}");
    [
        (Event::Lsnim, f.tripwire.count(Event::Lsnim)),
        (Event::Ssh, f.tripwire.count(Event::Ssh)),
        (Event::Rsync, f.tripwire.count(Event::Rsync)),
        (Event::Edit, edits),
    ]
}

/// [`POINTS`] numbered against `counts` (from [`recorded`]), alternately on the run alone and
/// on its process group. Panics when a point falls outside the recorded run or when fewer
/// than [`MIN_POINTS`] distinct points are left: the run changed too much for the list.
fn ci_points(counts: &[(Event, u32)]) -> Vec<KillPoint> {
    let points: Vec<KillPoint> = POINTS
        .iter()
        .enumerate()
        .map(|(i, &(event, at, delay_ms))| {
            let count = counts
                .iter()
                .find(|(e, _)| *e == event)
                .map_or(0, |&(_, n)| n);
            let n = match at {
                At::First(n) => Some(n),
                At::Last(back) => count.checked_sub(back),
            }
            .filter(|n| (1..=count).contains(n))
            .unwrap_or_else(|| panic!("kill point {i} is outside a run with {counts:?} events"));
            KillPoint {
                event,
                at: n,
                delay_ms,
                group: i % 2 == 1,
            }
        })
        .collect();
    let distinct: std::collections::BTreeSet<_> =
        points.iter().map(|p| (p.event, p.at, p.delay_ms)).collect();
    assert!(
        distinct.len() >= MIN_POINTS,
        "only {} distinct kill points in a run with {counts:?} events",
        distinct.len()
    );
    points
}

#[test]
fn sigkill_at_seeded_points_then_rerun_converges() {
    let lab = Lab::new("crash-kill");
    let f = Fleet::new(&lab, 2);
    sync_all(&f);
    let mut rng = Rng::new(13);
    change_sources(&f, "sn1", 0, true, &mut rng);
    let counts = recorded(&f, "sn1");
    eprintln!("the recorded run of sn1: {counts:?}");
    let mut missed = Vec::new();
    for (round, point) in ci_points(&counts).into_iter().enumerate() {
        change_sources(&f, "sn1", round as u64 + 1, true, &mut rng);
        let killed = kill_round(&f, "sn1", point, 1);
        if !killed.fired {
            missed.push(format!("{point}: {}", killed.run));
        }
    }
    assert!(
        missed.is_empty(),
        "points never reached:\n{}",
        missed.join("\n")
    );
}

#[test]
fn the_points_fall_where_they_were_written_for_the_example_run() {
    let example = [
        (Event::Lsnim, 8),
        (Event::Ssh, 15),
        (Event::Rsync, 6),
        (Event::Edit, 20),
    ];
    let numbered: Vec<(Event, u32, u32)> = ci_points(&example)
        .iter()
        .map(|p| (p.event, p.at, p.delay_ms))
        .collect();
    let (l, s, r, e) = (Event::Lsnim, Event::Ssh, Event::Rsync, Event::Edit);
    assert_eq!(
        numbered,
        [
            (l, 1, 0),
            (l, 5, 0),
            (l, 8, 0),
            (s, 2, 0),
            (e, 1, 0),
            (e, 4, 0),
            (e, 9, 0),
            (e, 14, 0),
            (e, 19, 0),
            (s, 4, 0),
            (r, 1, 0),
            (r, 1, 120),
            (s, 5, 200),
            (r, 2, 60),
            (s, 7, 0),
            (s, 8, 0),
            (s, 9, 20),
            (s, 10, 0),
            (r, 5, 0),
            (s, 13, 0),
            (s, 14, 0),
            (s, 15, 0),
            (s, 12, 0),
            (s, 11, 0),
        ]
    );
    // A run with more ssh starts keeps its last points on its last commands.
    let longer = [example[0], (Event::Ssh, 16), example[2], example[3]];
    assert!(ci_points(&longer)
        .iter()
        .any(|p| p.event == Event::Ssh && p.at == 16));
    // A run too short for the list is refused, not half tried.
    let short = [example[0], (Event::Ssh, 3), example[2], example[3]];
    assert!(std::panic::catch_unwind(|| ci_points(&short)).is_err());
}

/// Six SNs each start a sync of their nodes at a seeded offset within `spread_ms`; then every
/// run must have exited 0 and every node of every SN must be on the server as on its SN.
pub(crate) fn six_at_once(f: &Fleet<'_>, round: u64, spread_ms: u64, rng: &mut Rng) {
    let names: Vec<String> = f.sns.keys().cloned().collect();
    for sn in &names {
        change_sources(f, sn, round, false, rng);
    }
    let mut starts: Vec<(u64, &String)> = names
        .iter()
        .map(|n| (rng.below(spread_ms + 1), n))
        .collect();
    starts.sort();
    let begin = std::time::Instant::now();
    let mut running = Vec::new();
    for (offset, sn) in &starts {
        let at = Duration::from_millis(*offset);
        if let Some(wait) = at.checked_sub(begin.elapsed()) {
            std::thread::sleep(wait);
        }
        running.push((*sn, f.syncaixres(sn, &Fleet::nodes(sn)).spawn_bounded()));
    }
    let offsets: Vec<String> = starts.iter().map(|(o, n)| format!("{n}+{o}ms")).collect();
    for (sn, run) in &mut running {
        let out = run.finish();
        assert!(
            out.success(),
            "round {round} ({}): {sn} failed: {out}\n--- its log ---\n{}",
            offsets.join(" "),
            std::fs::read_to_string(f.lab.dir().join(format!("{sn}.log"))).unwrap_or_default()
        );
    }
    let server = f.server_state();
    for sn in &names {
        let here = f.sn_state(sn);
        let mut scopes = own_paths(sn);
        scopes.push("install/nim/spot/71Bcosi/usr".into());
        for path in scopes {
            let (on_sn, on_server) = (here.under(&path), server.under(&path));
            assert_eq!(
                on_sn.0.keys().collect::<Vec<_>>(),
                on_server.0.keys().collect::<Vec<_>>(),
                "round {round} ({}): {sn}'s {path} differs in its files",
                offsets.join(" ")
            );
            for (p, e) in &on_sn.0 {
                let big =
                    matches!(e, crate::support::states::Entry::File { len, .. } if *len > 16 << 20);
                if !big {
                    assert_eq!(
                        Some(e),
                        on_server.get(p),
                        "round {round} ({}): {} differs",
                        offsets.join(" "),
                        p.display()
                    );
                }
            }
        }
    }
    let strays: Vec<_> = server.0.keys().filter(|p| stray(p)).collect();
    assert!(
        strays.is_empty(),
        "round {round}: left on the server: {strays:?}"
    );
}

#[test]
fn six_sns_sync_one_server_at_once() {
    let lab = Lab::new("crash-six");
    let f = Fleet::new(&lab, 6);
    sync_all(&f);
    let mut rng = Rng::new(6);
    for round in 0..3 {
        six_at_once(&f, round, 1500, &mut rng);
    }
}
