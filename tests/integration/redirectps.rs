//! The `redirectps` postscript against simulated AIX commands (`fixtures/aix-sim`): each test
//! checks the exit status, the commands called, the paging spaces left on the node, and that
//! the node always kept an active paging space.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::Command;

// Host strings that resolve without DNS (a literal, and `localhost` from /etc/hosts), so the
// tests neither depend on nor wait for a name server.
const SN: &str = "192.0.2.10";
const SERVER: &str = "localhost";
const P0: &str = "/install/nim/paging/71Bcosi_paging/cn001/swapnfs0";
const P1: &str = "/install/nim/paging/71Bcosi_paging/cn001/swapnfs1";
const TO_SERVER: &[(&str, &str)] = &[("NFSSERVER", SERVER)];

fn simulator_bin() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/integration/fixtures/aix-sim/bin")
}

/// A simulated AIX node and its external NFS server, with state in a temporary directory.
struct Sim {
    state: tempfile::TempDir,
}

/// What a run of `redirectps` ended with.
struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

/// A line of the simulator's `spaces` file: an NFS space with auto-activation, size 64.
fn nfs(name: &str, host: &str, path: &str, active: bool) -> String {
    let yn = if active { "y" } else { "n" };
    format!("{name}\t{host}\t{path}\t{yn}\ty\tnfs\t64")
}

const HD6: &str = "hd6\thdisk0\trootvg\ty\ty\tlv\t8";

/// A recorded command call: the program and its arguments, TAB-separated.
fn call(words: &[&str]) -> String {
    words.join("\t")
}

fn lsps() -> String {
    call(&["lsps", "-t", "nfs", "-c"])
}

fn mkps(server: &str, path: &str) -> String {
    call(&["mkps", "-a", "-n", "-t", "nfs", server, path])
}

fn swapoff(name: &str) -> String {
    call(&["swapoff", &format!("/dev/{name}")])
}

fn rmps(name: &str) -> String {
    call(&["rmps", name])
}

/// The calls that move space `old` to the server as a new space for `path`.
fn moved(path: &str, old: &str) -> Vec<String> {
    vec![mkps(SERVER, path), lsps(), swapoff(old), rmps(old)]
}

impl Sim {
    /// A node whose external server is known as [`SERVER`] and holds `files`.
    fn new(spaces: &[&str], files: &[&str]) -> Sim {
        let sim = Sim {
            state: tempfile::tempdir().unwrap(),
        };
        sim.write("spaces", spaces);
        sim.write("files", files);
        sim.write("server", &[SERVER, "127.0.0.1"]);
        sim
    }

    fn write(&self, file: &str, lines: &[&str]) {
        let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
        std::fs::write(self.state.path().join(file), text).unwrap();
    }

    fn read(&self, file: &str) -> Vec<String> {
        match std::fs::read_to_string(self.state.path().join(file)) {
            Ok(text) => text.lines().map(str::to_string).collect(),
            Err(_) => Vec::new(),
        }
    }

    /// Runs `redirectps` with the simulator first on `PATH`, `NFSSERVER` and `LOGLABEL` unset
    /// unless `env` sets them.
    fn run(&self, env: &[(&str, &str)], args: &[&str]) -> Run {
        let path = format!(
            "{}:{}",
            simulator_bin().display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_redirectps"));
        cmd.args(args)
            .env("PATH", path)
            .env("AIXSIM_STATE", self.state.path())
            .env_remove("NFSSERVER")
            .env_remove("LOGLABEL")
            .envs(env.iter().copied());
        let out = cmd.output().unwrap();
        Run {
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    fn spaces(&self) -> Vec<String> {
        self.read("spaces")
    }

    fn calls(&self) -> Vec<String> {
        self.read("calls")
    }

    /// Syslog lines as `priority tag message`.
    fn syslog(&self) -> Vec<String> {
        self.read("syslog")
            .iter()
            .map(|l| l.replace('\t', " "))
            .collect()
    }

    fn paging_dropped(&self) -> bool {
        self.state.path().join("dropped").exists()
    }

    /// Asserts that the node never lost all active paging.
    fn assert_paging_kept(&self) {
        assert!(
            !self.paging_dropped(),
            "the node was left without active paging; calls: {:#?}",
            self.calls()
        );
    }

    fn knob(&self, name: &str, value: &str) {
        self.write(name, &[value]);
    }
}

impl Run {
    fn assert_code(&self, code: i32) {
        assert_eq!(
            self.code,
            Some(code),
            "stdout:\n{}\nstderr:\n{}",
            self.stdout,
            self.stderr
        );
    }
}

fn has_line(lines: &[String], needle: &str) -> bool {
    lines.iter().any(|l| l.contains(needle))
}

#[test]
fn moves_the_paging_space_to_the_server() {
    let sim = Sim::new(&[&nfs("swapnfs0", SN, P0, true)], &[P0]);
    let run = sim.run(TO_SERVER, &[]);
    run.assert_code(0);
    assert_eq!(sim.calls(), [vec![lsps()], moved(P0, "swapnfs0")].concat());
    assert_eq!(sim.spaces(), [nfs("swapnfs1", SERVER, P0, true)]);
    sim.assert_paging_kept();
    assert!(run
        .stdout
        .contains("redirectps: paging space swapnfs1 on localhost:"));
    assert!(
        run.stdout.contains("replaced by swapnfs1"),
        "{}",
        run.stdout
    );
}

#[test]
fn logs_the_printed_lines_to_syslog_with_the_default_label() {
    let sim = Sim::new(&[&nfs("swapnfs0", SN, P0, true)], &[P0]);
    let run = sim.run(TO_SERVER, &[]);
    run.assert_code(0);
    let printed: Vec<String> = run
        .stdout
        .lines()
        .map(|l| format!("local4.info xcat {l}"))
        .collect();
    assert_eq!(sim.syslog(), printed);
    assert!(has_line(&printed, "running: swapoff /dev/swapnfs0"));
}

#[test]
fn a_second_run_changes_nothing() {
    let sim = Sim::new(&[&nfs("swapnfs0", SN, P0, true)], &[P0]);
    sim.run(TO_SERVER, &[]).assert_code(0);
    let calls = sim.calls().len();
    let spaces = sim.spaces();
    let run = sim.run(TO_SERVER, &[]);
    run.assert_code(0);
    assert_eq!(sim.calls()[calls..], [lsps()]);
    assert_eq!(sim.spaces(), spaces);
    assert!(run.stdout.contains("nothing to do"), "{}", run.stdout);
}

#[test]
fn already_redirected_node_is_left_alone() {
    let sim = Sim::new(&[&nfs("swapnfs1", SERVER, P0, true)], &[P0]);
    let run = sim.run(TO_SERVER, &[]);
    run.assert_code(0);
    assert_eq!(sim.calls(), [lsps()]);
    assert_eq!(sim.spaces(), [nfs("swapnfs1", SERVER, P0, true)]);
    assert!(run.stdout.contains("nothing to do"), "{}", run.stdout);
}

#[test]
fn removes_a_stale_space_on_the_server_and_moves_every_other() {
    // The order that stopped the Perl loop early: the inactive leftover comes first.
    let sim = Sim::new(
        &[
            &nfs("swapnfs1", SERVER, P0, false),
            &nfs("swapnfs0", SN, P0, true),
            &nfs("swapnfs2", SN, P1, true),
        ],
        &[P0, P1],
    );
    sim.run(TO_SERVER, &[]).assert_code(0);
    assert_eq!(
        sim.calls(),
        [
            vec![lsps(), rmps("swapnfs1")],
            moved(P0, "swapnfs0"),
            moved(P1, "swapnfs2")
        ]
        .concat()
    );
    assert_eq!(
        sim.spaces(),
        [
            nfs("swapnfs1", SERVER, P0, true),
            nfs("swapnfs0", SERVER, P1, true)
        ]
    );
    sim.assert_paging_kept();
}

#[test]
fn moves_two_spaces() {
    let sim = Sim::new(
        &[
            &nfs("swapnfs0", SN, P0, true),
            &nfs("swapnfs1", SN, P1, true),
        ],
        &[P0, P1],
    );
    sim.run(TO_SERVER, &[]).assert_code(0);
    assert_eq!(
        sim.calls(),
        [vec![lsps()], moved(P0, "swapnfs0"), moved(P1, "swapnfs1")].concat()
    );
    assert_eq!(
        sim.spaces(),
        [
            nfs("swapnfs2", SERVER, P0, true),
            nfs("swapnfs0", SERVER, P1, true)
        ]
    );
    sim.assert_paging_kept();
}

#[test]
fn an_address_and_a_name_of_the_server_are_the_same_server() {
    let loopback: IpAddr = "127.0.0.1".parse().unwrap();
    assert!(
        xcat_extnfs::host::resolve("localhost").contains(&loopback),
        "this test needs `localhost` to resolve to 127.0.0.1"
    );
    let sim = Sim::new(
        &[
            &nfs("swapnfs1", SERVER, P0, true),
            &nfs("swapnfs0", SN, P0, true),
        ],
        &[P0],
    );
    sim.run(&[("NFSSERVER", "127.0.0.1")], &[]).assert_code(0);
    assert_eq!(
        sim.calls(),
        [lsps(), lsps(), swapoff("swapnfs0"), rmps("swapnfs0")],
        "no second space may be created for the same file"
    );
    assert_eq!(sim.spaces(), [nfs("swapnfs1", SERVER, P0, true)]);
    sim.assert_paging_kept();
}

#[test]
fn a_missing_server_file_keeps_the_old_space() {
    let sim = Sim::new(&[&nfs("swapnfs0", SN, P0, true)], &[]);
    let run = sim.run(TO_SERVER, &[]);
    run.assert_code(1);
    assert_eq!(sim.calls(), [lsps(), mkps(SERVER, P0)]);
    assert_eq!(sim.spaces(), [nfs("swapnfs0", SN, P0, true)]);
    sim.assert_paging_kept();
    let errors: Vec<String> = sim
        .syslog()
        .into_iter()
        .filter(|l| l.starts_with("local4.err xcat redirectps: error: "))
        .collect();
    assert!(has_line(&errors, "so swapnfs0 stays in use"), "{errors:#?}");
    assert!(
        has_line(&errors, "does not exist on localhost"),
        "mkps's own message is logged: {errors:#?}"
    );
    assert!(run.stdout.contains("1 step(s) failed"), "{}", run.stdout);
}

#[test]
fn swapoff_without_room_keeps_both_spaces() {
    let sim = Sim::new(&[&nfs("swapnfs0", SN, P0, true)], &[P0]);
    sim.knob("swapoff_rc", "2");
    let run = sim.run(TO_SERVER, &[]);
    run.assert_code(1);
    assert_eq!(
        sim.calls(),
        [lsps(), mkps(SERVER, P0), lsps(), swapoff("swapnfs0")]
    );
    assert_eq!(
        sim.spaces(),
        [
            nfs("swapnfs0", SN, P0, true),
            nfs("swapnfs1", SERVER, P0, true)
        ]
    );
    sim.assert_paging_kept();
    let log = sim.syslog();
    assert!(
        has_line(&log, "cannot switch off swapnfs0 (the paging spaces that stay active cannot hold the pages in use); swapnfs1 on localhost stays active"),
        "{log:#?}"
    );
    assert!(has_line(&log, "`swapon /dev/swapnfs1`"), "{log:#?}");
    assert!(
        has_line(&log, "`swapoff /dev/swapnfs0` and `rmps swapnfs0`"),
        "{log:#?}"
    );
}

#[test]
fn swapoff_io_errors_stop_before_the_next_space() {
    let sim = Sim::new(
        &[
            &nfs("swapnfs0", SN, P0, true),
            &nfs("swapnfs1", SN, P1, true),
        ],
        &[P0, P1],
    );
    sim.knob("swapoff_rc", "3");
    sim.run(TO_SERVER, &[]).assert_code(1);
    assert_eq!(
        sim.calls(),
        [lsps(), mkps(SERVER, P0), lsps(), swapoff("swapnfs0")]
    );
    let log = sim.syslog();
    assert!(has_line(&log, "chps -a n swapnfs0"), "{log:#?}");
    assert!(has_line(
        &log,
        "I/O errors encountered on user backing pages"
    ));
    sim.assert_paging_kept();
}

#[test]
fn an_inactive_replacement_keeps_the_old_space() {
    let sim = Sim::new(&[&nfs("swapnfs0", SN, P0, true)], &[P0]);
    sim.knob("mkps_inactive", "");
    sim.run(TO_SERVER, &[]).assert_code(1);
    assert_eq!(sim.calls(), [lsps(), mkps(SERVER, P0), lsps()]);
    assert_eq!(
        sim.spaces(),
        [
            nfs("swapnfs0", SN, P0, true),
            nfs("swapnfs1", SERVER, P0, false)
        ]
    );
    assert!(has_line(&sim.syslog(), "no active paging space for"));
}

#[test]
fn works_when_mkps_prints_no_name() {
    let sim = Sim::new(&[&nfs("swapnfs0", SN, P0, true)], &[P0]);
    sim.knob("mkps_quiet", "");
    let run = sim.run(TO_SERVER, &[]);
    run.assert_code(0);
    assert_eq!(sim.spaces(), [nfs("swapnfs1", SERVER, P0, true)]);
    assert!(
        run.stdout.contains("replaced by swapnfs1"),
        "{}",
        run.stdout
    );
}

#[test]
fn nfsserver_unset_is_a_usage_error() {
    let sim = Sim::new(&[&nfs("swapnfs0", SN, P0, true)], &[P0]);
    let run = sim.run(&[], &[]);
    run.assert_code(2);
    assert_eq!(sim.calls(), Vec::<String>::new());
    assert_eq!(sim.spaces(), [nfs("swapnfs0", SN, P0, true)]);
    let log = sim.syslog();
    assert_eq!(log.len(), 1, "{log:#?}");
    assert!(log[0].starts_with("local4.err xcat redirectps: error: NFSSERVER is not set"));
    assert!(run.stdout.contains("NFSSERVER is not set"));
}

#[test]
fn logical_volume_spaces_are_not_touched() {
    let sim = Sim::new(&[HD6, &nfs("swapnfs0", SN, P0, true)], &[P0]);
    sim.run(TO_SERVER, &[]).assert_code(0);
    assert_eq!(sim.calls(), [vec![lsps()], moved(P0, "swapnfs0")].concat());
    assert_eq!(
        sim.spaces(),
        [HD6.to_string(), nfs("swapnfs1", SERVER, P0, true)]
    );
}

#[test]
fn paths_are_compared_as_text_not_patterns() {
    // As a regular expression, the node's path would match the other file on the server.
    let path = "/install/nim/paging/cn 001/swap.nfs(0)+";
    let lookalike = "/install/nim/paging/cn 001/swapXnfs00";
    let sim = Sim::new(
        &[
            &nfs("swapnfs1", SERVER, lookalike, true),
            &nfs("swapnfs0", SN, path, true),
        ],
        &[path, lookalike],
    );
    sim.run(TO_SERVER, &[]).assert_code(0);
    assert_eq!(
        sim.calls(),
        [vec![lsps()], moved(path, "swapnfs0")].concat()
    );
    assert_eq!(
        sim.spaces(),
        [
            nfs("swapnfs1", SERVER, lookalike, true),
            nfs("swapnfs2", SERVER, path, true)
        ]
    );
}

#[test]
fn a_path_with_a_colon_in_the_older_lsps_form() {
    let path = "/install/paging/cn001/swapnfs1:fur";
    let sim = Sim::new(&[&nfs("swapnfs0", SN, path, true)], &[path]);
    sim.knob("lsps_form", "8");
    sim.run(TO_SERVER, &[]).assert_code(0);
    assert_eq!(sim.calls()[1], mkps(SERVER, path));
    assert_eq!(sim.spaces(), [nfs("swapnfs1", SERVER, path, true)]);
}

#[test]
fn dry_run_prints_the_commands_and_changes_nothing() {
    let path = "/install/nim/paging/cn 001/swapnfs0";
    let sim = Sim::new(&[&nfs("swapnfs0", SN, path, true)], &[path]);
    let run = sim.run(TO_SERVER, &["--dry-run"]);
    run.assert_code(0);
    assert_eq!(sim.calls(), [lsps()]);
    assert_eq!(sim.spaces(), [nfs("swapnfs0", SN, path, true)]);
    assert_eq!(sim.syslog(), Vec::<String>::new());
    let would: Vec<&str> = run
        .stdout
        .lines()
        .filter_map(|l| l.strip_prefix("redirectps: dry run: would run: "))
        .collect();
    assert_eq!(
        would,
        [
            "mkps -a -n -t nfs localhost '/install/nim/paging/cn 001/swapnfs0'",
            "swapoff /dev/swapnfs0",
            "rmps swapnfs0"
        ]
    );
}

#[test]
fn loglabel_sets_the_syslog_tag() {
    let sim = Sim::new(&[&nfs("swapnfs1", SERVER, P0, true)], &[P0]);
    let label = "xcat.deployment.postbootscript";
    sim.run(&[("NFSSERVER", SERVER), ("LOGLABEL", label)], &[])
        .assert_code(0);
    let log = sim.syslog();
    assert!(!log.is_empty());
    assert!(
        log.iter()
            .all(|l| l.starts_with(&format!("local4.info {label} redirectps: "))),
        "{log:#?}"
    );
}
