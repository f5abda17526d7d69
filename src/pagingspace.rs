//! Moving an AIX diskless node's NFS paging spaces from its service node to the external NFS
//! server, so the node survives the loss of the service node (the `redirectps` postscript).

use std::fmt;

use crate::aix::lsps::{self, Kind, PagingSpace};
use crate::process::{Cmd, CommandError, Output};

/// Runs commands on the node; tests substitute a scripted node.
pub trait Runner {
    /// Runs `cmd` to completion. A non-zero exit is reported in [`Output::code`]; only a
    /// command that cannot be started is an error.
    fn run(&mut self, cmd: &Cmd) -> Result<Output, CommandError>;
}

/// Runs commands for real, finding them on `PATH`.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemRunner;

impl Runner for SystemRunner {
    fn run(&mut self, cmd: &Cmd) -> Result<Output, CommandError> {
        cmd.run()
    }
}

/// Where progress and errors are reported (syslog and stdout in the postscript).
pub trait Journal {
    fn info(&mut self, line: &str);
    fn error(&mut self, line: &str);
}

/// Decides whether two host strings name the same machine.
pub type SameHost<'a> = &'a dyn Fn(&str, &str) -> bool;

/// One step that moves the node's paging towards the server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// `rmps` an inactive space that is already on the server: a leftover of an earlier run.
    RemoveStale(PagingSpace),
    /// Replace a space that is not on the server by one on the server with the same file path,
    /// then switch the old one off and remove it. `create` is false when an active space on the
    /// server already uses that path, so no `mkps` is needed.
    Move { old: PagingSpace, create: bool },
}

/// What to do to a node, decided from one `lsps` listing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    /// The external NFS server, as given (`NFSSERVER`).
    pub server: String,
    pub actions: Vec<Action>,
}

impl Plan {
    /// The commands that change the node, in order: what `--dry-run` shows. Carrying the plan
    /// out also re-reads `lsps` before each `swapoff`, and skips `swapoff` for a space that is
    /// already inactive.
    pub fn commands(&self) -> Vec<Cmd> {
        let mut out = Vec::new();
        for action in &self.actions {
            match action {
                Action::RemoveStale(space) => out.push(rmps_cmd(&space.name)),
                Action::Move { old, create } => {
                    if *create {
                        out.push(mkps_cmd(&self.server, &old.path));
                    }
                    if old.active {
                        out.push(swapoff_cmd(&old.name));
                    }
                    out.push(rmps_cmd(&old.name));
                }
            }
        }
        out
    }
}

/// Decides what to do. Only NFS spaces are considered (logical-volume spaces such as `hd6` are
/// never touched); a space is on the server when `same_host` says its host is `server`.
///
/// Inactive spaces on the server are removed first. Every space elsewhere is moved; a new space
/// is created unless an active one on the server already uses the same path (compared as exact
/// strings), or an earlier move in this plan creates it.
pub fn plan(spaces: &[PagingSpace], server: &str, same_host: SameHost) -> Plan {
    let nfs = || spaces.iter().filter(|s| s.kind == Kind::Nfs);
    let on_server = |s: &PagingSpace| same_host(&s.host, server);
    let mut served: Vec<&str> = nfs()
        .filter(|s| on_server(s) && s.active)
        .map(|s| s.path.as_str())
        .collect();
    let mut actions: Vec<Action> = nfs()
        .filter(|s| on_server(s) && !s.active)
        .map(|s| Action::RemoveStale(s.clone()))
        .collect();
    for old in nfs().filter(|s| !on_server(s)) {
        let create = !served.contains(&old.path.as_str());
        if create {
            served.push(&old.path);
        }
        actions.push(Action::Move {
            old: old.clone(),
            create,
        });
    }
    Plan {
        server: server.to_string(),
        actions,
    }
}

/// The listing command: NFS spaces only, colon format.
pub fn lsps_cmd() -> Cmd {
    Cmd::new("lsps").args(["-t", "nfs", "-c"])
}

/// Creates the replacement: `-a` activates it at every restart, `-n` now.
fn mkps_cmd(server: &str, path: &str) -> Cmd {
    Cmd::new("mkps").args(["-a", "-n", "-t", "nfs", server, path])
}

fn swapoff_cmd(name: &str) -> Cmd {
    Cmd::new("swapoff").arg(format!("/dev/{name}"))
}

fn rmps_cmd(name: &str) -> Cmd {
    Cmd::new("rmps").arg(name)
}

/// How `swapoff` failed, from its documented exit codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SwapoffFailure {
    /// rc 1: the space cannot be deactivated.
    Refused,
    /// rc 2: the spaces that stay active cannot hold the pages in use; nothing was done.
    NoRoom,
    /// rc 3: deactivation suspended, I/O errors on user backing pages.
    UserPageIo,
    /// rc 4: I/O errors on system backing pages; the system may crash.
    SystemPageIo,
    /// Any other status (or a signal, -1).
    Other(i32),
}

impl SwapoffFailure {
    pub fn from_code(code: i32) -> SwapoffFailure {
        match code {
            1 => SwapoffFailure::Refused,
            2 => SwapoffFailure::NoRoom,
            3 => SwapoffFailure::UserPageIo,
            4 => SwapoffFailure::SystemPageIo,
            other => SwapoffFailure::Other(other),
        }
    }

    /// I/O errors mean the node is unwell: nothing more should be changed in this run.
    pub fn is_io_error(self) -> bool {
        matches!(
            self,
            SwapoffFailure::UserPageIo | SwapoffFailure::SystemPageIo
        )
    }
}

impl fmt::Display for SwapoffFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SwapoffFailure::Refused => f.write_str("the paging space cannot be deactivated"),
            SwapoffFailure::NoRoom => {
                f.write_str("the paging spaces that stay active cannot hold the pages in use")
            }
            SwapoffFailure::UserPageIo => f.write_str("I/O errors on user backing pages"),
            SwapoffFailure::SystemPageIo => {
                f.write_str("I/O errors on system backing pages; the system may crash")
            }
            SwapoffFailure::Other(code) => write!(f, "unexpected status {code}"),
        }
    }
}

/// What the administrator should do after a failed `swapoff` of `old`, whose replacement
/// `new` stays active.
fn swapoff_advice(failure: SwapoffFailure, old: &str, new: &str) -> String {
    let finish = format!("then run `swapoff /dev/{old}` and `rmps {old}`");
    match failure {
        SwapoffFailure::NoRoom => format!(
            "enlarge the paging file of {new} on the server and run `swapon /dev/{new}` so AIX \
             sees the new size, or lower the paging use, {finish}"
        ),
        SwapoffFailure::UserPageIo | SwapoffFailure::SystemPageIo => format!(
            "check the error log (`errpt`), keep {old} from being activated at the next boot \
             with `chps -a n {old}`, and reboot"
        ),
        SwapoffFailure::Refused | SwapoffFailure::Other(_) => {
            format!("look at the message above, {finish}")
        }
    }
}

/// A step that failed. Each message says what was left in place.
#[derive(Debug, thiserror::Error)]
pub enum PagingError {
    #[error("cannot list the NFS paging spaces: {0}")]
    List(#[source] Box<CommandError>),
    #[error("cannot read the NFS paging spaces: {0}")]
    Parse(#[from] lsps::ParseError),
    #[error("cannot remove the leftover inactive paging space {name} on the server: {source}")]
    RemoveStale {
        name: String,
        #[source]
        source: Box<CommandError>,
    },
    #[error(
        "cannot create a paging space for {path} on {server}, so {old} stays in use \
         (the file must exist on {server} and be exported to this node): {source}"
    )]
    Create {
        old: String,
        server: String,
        path: String,
        #[source]
        source: Box<CommandError>,
    },
    #[error(
        "no active paging space for {path} on {server} shows in a fresh lsps listing, so {old} \
         stays in use"
    )]
    NotActive {
        old: String,
        server: String,
        path: String,
    },
    #[error(
        "cannot switch off {old} ({failure}); {new} on {server} stays active and {old} is left \
         as it is: {advice}: {source}"
    )]
    Deactivate {
        old: String,
        new: String,
        server: String,
        failure: SwapoffFailure,
        advice: String,
        #[source]
        source: Box<CommandError>,
    },
    #[error(
        "{old} is switched off but cannot be removed; {new} on {server} is in use; remove {old} \
         with `rmps {old}`: {source}"
    )]
    Remove {
        old: String,
        new: String,
        server: String,
        #[source]
        source: Box<CommandError>,
    },
}

impl PagingError {
    /// Whether the remaining steps must not be attempted.
    fn stops_the_run(&self) -> bool {
        match self {
            PagingError::Deactivate { failure, .. } => failure.is_io_error(),
            _ => false,
        }
    }
}

/// Every step that failed in a run (each was already reported to the journal).
#[derive(Debug, thiserror::Error)]
#[error(
    "{} step(s) failed; the first: {}",
    .errors.len(),
    .errors.first().map(ToString::to_string).unwrap_or_default()
)]
pub struct Failed {
    pub errors: Vec<PagingError>,
}

/// What a successful run did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    /// Leftover inactive spaces removed from the server.
    pub removed: usize,
    /// Spaces moved to the server.
    pub moved: usize,
}

/// The node being changed, and how to report on it.
pub struct Node<'a> {
    pub runner: &'a mut dyn Runner,
    pub journal: &'a mut dyn Journal,
    pub server: &'a str,
    pub same_host: SameHost<'a>,
}

impl Node<'_> {
    /// Runs a command, turning a non-zero exit into an error that carries its stderr.
    fn run_checked(&mut self, cmd: &Cmd) -> Result<Output, CommandError> {
        let out = self.runner.run(cmd)?;
        if out.success() {
            Ok(out)
        } else {
            Err(cmd.failed(out))
        }
    }

    /// Logs and runs a command that changes the node.
    fn change(&mut self, cmd: &Cmd) -> Result<Output, CommandError> {
        self.journal.info(&format!("running: {cmd}"));
        self.run_checked(cmd)
    }

    /// Reads the NFS paging spaces now.
    pub fn list(&mut self) -> Result<Vec<PagingSpace>, PagingError> {
        let out = self
            .run_checked(&lsps_cmd())
            .map_err(|e| PagingError::List(Box::new(e)))?;
        Ok(lsps::parse(&out.stdout)?)
    }

    fn on_server(&self, space: &PagingSpace) -> bool {
        (self.same_host)(&space.host, self.server)
    }

    fn remove_stale(&mut self, space: &PagingSpace) -> Result<(), PagingError> {
        self.journal.info(&format!(
            "removing {}, an inactive paging space already on the server ({}:{})",
            space.name, space.host, space.path
        ));
        self.change(&rmps_cmd(&space.name))
            .map_err(|source| PagingError::RemoveStale {
                name: space.name.clone(),
                source: Box::new(source),
            })?;
        Ok(())
    }

    /// Creates (if asked), confirms from a fresh listing, then switches off and removes `old`.
    /// `before` is the listing the plan was made from.
    fn move_space(
        &mut self,
        old: &PagingSpace,
        create: bool,
        before: &[PagingSpace],
    ) -> Result<(), PagingError> {
        self.journal.info(&format!(
            "moving paging space {} from {}:{} to {}",
            old.name, old.host, old.path, self.server
        ));
        let mkps_stdout = if create {
            self.create(old)?
        } else {
            String::new()
        };
        let after = self.list()?;
        let new = self.confirm(old, before, &after, &mkps_stdout)?;
        let still_active = after.iter().any(|s| s.name == old.name && s.active);
        if still_active {
            self.deactivate(old, &new)?;
        }
        self.change(&rmps_cmd(&old.name))
            .map_err(|source| PagingError::Remove {
                old: old.name.clone(),
                new: new.clone(),
                server: self.server.to_string(),
                source: Box::new(source),
            })?;
        self.journal.info(&format!(
            "paging space {} replaced by {new} on {}",
            old.name, self.server
        ));
        Ok(())
    }

    /// Runs `mkps` for `old`'s path on the server; returns what it printed.
    fn create(&mut self, old: &PagingSpace) -> Result<String, PagingError> {
        let cmd = mkps_cmd(self.server, &old.path);
        let out = self.change(&cmd).map_err(|source| PagingError::Create {
            old: old.name.clone(),
            server: self.server.to_string(),
            path: old.path.clone(),
            source: Box::new(source),
        })?;
        Ok(out.stdout)
    }

    /// Finds the active replacement of `old` in a fresh listing; returns its name.
    fn confirm(
        &mut self,
        old: &PagingSpace,
        before: &[PagingSpace],
        after: &[PagingSpace],
        mkps_stdout: &str,
    ) -> Result<String, PagingError> {
        let candidates: Vec<&PagingSpace> = after
            .iter()
            .filter(|s| s.kind == Kind::Nfs && s.active && s.path == old.path)
            .filter(|s| self.on_server(s))
            .collect();
        let new = replacement_name(&candidates, before, mkps_stdout).ok_or_else(|| {
            PagingError::NotActive {
                old: old.name.clone(),
                server: self.server.to_string(),
                path: old.path.clone(),
            }
        })?;
        self.journal.info(&format!(
            "paging space {new} on {}:{} is active",
            self.server, old.path
        ));
        Ok(new)
    }

    fn deactivate(&mut self, old: &PagingSpace, new: &str) -> Result<(), PagingError> {
        self.change(&swapoff_cmd(&old.name)).map_err(|source| {
            let failure = SwapoffFailure::from_code(source.code().unwrap_or(-1));
            PagingError::Deactivate {
                old: old.name.clone(),
                new: new.to_string(),
                server: self.server.to_string(),
                failure,
                advice: swapoff_advice(failure, &old.name, new),
                source: Box::new(source),
            }
        })?;
        Ok(())
    }
}

/// Names the replacement among `candidates` (active NFS spaces on the server with the right
/// path), `None` when there is none.
///
/// The device name AIX gives a new NFS space is not documented (probably the next free
/// `swapnfsN`), nor is it certain that `mkps` prints it. Nothing depends on the name: the
/// replacement is recognised by host, path and activity, and the old space is addressed by its
/// own name. The name only makes log lines precise: a name `mkps` printed is preferred, then a
/// space that was not in the listing `before` `mkps`, then any candidate.
fn replacement_name(
    candidates: &[&PagingSpace],
    before: &[PagingSpace],
    mkps_stdout: &str,
) -> Option<String> {
    let printed = |s: &&&PagingSpace| mkps_stdout.split_whitespace().any(|w| w == s.name);
    let is_new = |s: &&&PagingSpace| !before.iter().any(|b| b.name == s.name);
    candidates
        .iter()
        .find(printed)
        .or_else(|| candidates.iter().find(is_new))
        .or_else(|| candidates.first())
        .map(|s| s.name.clone())
}

/// Reads the node's NFS paging spaces, [`plan`]s and carries out the moves to `node.server`,
/// re-reading `lsps` after `mkps` so an old space is only switched off once its replacement is
/// active. A failed step is reported and the other spaces are still handled, except after a
/// `swapoff` I/O error, which ends the run.
pub fn redirect(node: &mut Node) -> Result<Summary, Failed> {
    let (spaces, plan) = survey(node)?;
    let mut summary = Summary::default();
    let mut errors = Vec::new();
    for action in &plan.actions {
        let result = match action {
            Action::RemoveStale(space) => node.remove_stale(space).map(|()| summary.removed += 1),
            Action::Move { old, create } => node
                .move_space(old, *create, &spaces)
                .map(|()| summary.moved += 1),
        };
        if let Err(e) = result {
            let stop = e.stops_the_run();
            node.journal.error(&e.to_string());
            errors.push(e);
            if stop {
                break;
            }
        }
    }
    if errors.is_empty() {
        Ok(summary)
    } else {
        Err(Failed { errors })
    }
}

/// Reads and plans like [`redirect`], and reports the commands that would change the node
/// instead of running them.
pub fn preview(node: &mut Node) -> Result<Plan, Failed> {
    let (_, plan) = survey(node)?;
    for cmd in plan.commands() {
        node.journal.info(&format!("dry run: would run: {cmd}"));
    }
    Ok(plan)
}

/// Lists, reports and plans; says so when there is nothing to do.
fn survey(node: &mut Node) -> Result<(Vec<PagingSpace>, Plan), Failed> {
    let spaces = node.list().map_err(|e| {
        node.journal.error(&e.to_string());
        Failed { errors: vec![e] }
    })?;
    describe(node, &spaces);
    let plan = plan(&spaces, node.server, node.same_host);
    if plan.actions.is_empty() {
        node.journal.info(&format!(
            "nothing to do: no NFS paging space to move to {}",
            node.server
        ));
    }
    Ok((spaces, plan))
}

/// Logs the listing the plan is made from.
fn describe(node: &mut Node, spaces: &[PagingSpace]) {
    for s in spaces {
        let state = if s.active { "active" } else { "inactive" };
        node.journal.info(&format!(
            "found {} paging space {} on {}:{} ({state})",
            s.kind, s.name, s.host, s.path
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aix::lsps::test_nfs as space;
    use std::collections::VecDeque;

    const SERVER: &str = "nfs1";

    /// `nfs1` and `10.0.0.9` are the same machine.
    fn same(a: &str, b: &str) -> bool {
        let canon = |h: &str| {
            if h == "10.0.0.9" {
                SERVER.to_string()
            } else {
                h.to_string()
            }
        };
        canon(a) == canon(b)
    }

    fn moves(old: &PagingSpace, create: bool) -> Action {
        Action::Move {
            old: old.clone(),
            create,
        }
    }

    #[test]
    fn plans_nothing_when_paging_is_on_the_server() {
        let spaces = [space("swapnfs1", SERVER, "/p/swap", true)];
        assert_eq!(plan(&spaces, SERVER, &same).actions, vec![]);
    }

    #[test]
    fn plans_a_move_with_mkps() {
        let sn = space("swapnfs0", "sn01", "/p/swap", true);
        let got = plan(std::slice::from_ref(&sn), SERVER, &same);
        assert_eq!(got.actions, vec![moves(&sn, true)]);
        let shown: Vec<String> = got.commands().iter().map(Cmd::display).collect();
        assert_eq!(
            shown,
            [
                "mkps -a -n -t nfs nfs1 /p/swap",
                "swapoff /dev/swapnfs0",
                "rmps swapnfs0"
            ]
        );
    }

    #[test]
    fn removes_stale_spaces_first() {
        let sn = space("swapnfs0", "sn01", "/p/swap", true);
        let stale = space("swapnfs1", SERVER, "/p/swap", false);
        let got = plan(&[sn.clone(), stale.clone()], SERVER, &same);
        assert_eq!(
            got.actions,
            vec![Action::RemoveStale(stale), moves(&sn, true)]
        );
    }

    #[test]
    fn reuses_an_active_server_space_named_by_address() {
        let sn = space("swapnfs0", "sn01", "/p/swap", true);
        let served = space("swapnfs1", "10.0.0.9", "/p/swap", true);
        let got = plan(&[sn.clone(), served], SERVER, &same);
        assert_eq!(got.actions, vec![moves(&sn, false)]);
    }

    #[test]
    fn compares_paths_as_exact_strings() {
        let sn = space("swapnfs0", "sn01", "/p/swap.nfs(0)", true);
        let lookalike = space("swapnfs1", SERVER, "/p/swapXnfs0", true);
        let got = plan(&[sn.clone(), lookalike], SERVER, &same);
        assert_eq!(got.actions, vec![moves(&sn, true)]);
    }

    #[test]
    fn creates_a_shared_path_once() {
        let a = space("swapnfs0", "sn01", "/p/swap", true);
        let b = space("swapnfs2", "sn02", "/p/swap", true);
        let got = plan(&[a.clone(), b.clone()], SERVER, &same);
        assert_eq!(got.actions, vec![moves(&a, true), moves(&b, false)]);
    }

    #[test]
    fn leaves_logical_volumes_alone() {
        let hd6 = PagingSpace {
            kind: Kind::Lv,
            ..space("hd6", "hdisk0", "rootvg", true)
        };
        let inactive_lv = PagingSpace {
            kind: Kind::Lv,
            ..space("paging00", SERVER, "rootvg", false)
        };
        assert_eq!(plan(&[hd6, inactive_lv], SERVER, &same).actions, vec![]);
    }

    #[test]
    fn an_inactive_old_space_is_not_switched_off() {
        let sn = space("swapnfs0", "sn01", "/p/swap", false);
        let shown: Vec<String> = plan(&[sn], SERVER, &same)
            .commands()
            .iter()
            .map(Cmd::display)
            .collect();
        assert_eq!(shown, ["mkps -a -n -t nfs nfs1 /p/swap", "rmps swapnfs0"]);
    }

    #[test]
    fn names_the_replacement_without_relying_on_mkps_output() {
        let old = space("swapnfs1", SERVER, "/p", true);
        let new = space("swapnfs3", SERVER, "/p", true);
        let before = vec![old.clone()];
        let both = [&old, &new];
        assert_eq!(
            replacement_name(&both, &before, "swapnfs1\n").as_deref(),
            Some("swapnfs1")
        );
        assert_eq!(
            replacement_name(&both, &before, "").as_deref(),
            Some("swapnfs3")
        );
        assert_eq!(
            replacement_name(&[&old], &before, "").as_deref(),
            Some("swapnfs1")
        );
        assert_eq!(replacement_name(&[], &before, "swapnfs3"), None);
    }

    /// A node that answers from a script: per program, a queue of (status, stdout).
    #[derive(Default)]
    struct Scripted {
        answers: Vec<(&'static str, VecDeque<(i32, String)>)>,
        calls: Vec<String>,
    }

    impl Scripted {
        fn answer(mut self, program: &'static str, code: i32, stdout: &str) -> Scripted {
            match self.answers.iter_mut().find(|(p, _)| *p == program) {
                Some((_, queue)) => queue.push_back((code, stdout.to_string())),
                None => self
                    .answers
                    .push((program, VecDeque::from([(code, stdout.to_string())]))),
            }
            self
        }
    }

    impl Runner for Scripted {
        fn run(&mut self, cmd: &Cmd) -> Result<Output, CommandError> {
            self.calls.push(cmd.display());
            let program = cmd.program().to_string_lossy();
            let queue = self
                .answers
                .iter_mut()
                .find(|(p, _)| *p == program)
                .map(|(_, q)| q);
            let (code, stdout) = queue
                .and_then(VecDeque::pop_front)
                .unwrap_or_else(|| panic!("unscripted call: {}", cmd.display()));
            Ok(Output {
                code: Some(code),
                stdout,
                stderr: if code == 0 {
                    String::new()
                } else {
                    format!("{program} failed")
                },
            })
        }
    }

    #[derive(Default)]
    struct Lines(Vec<String>);

    impl Journal for Lines {
        fn info(&mut self, line: &str) {
            self.0.push(format!("info: {line}"));
        }
        fn error(&mut self, line: &str) {
            self.0.push(format!("err: {line}"));
        }
    }

    const SN_ONLY: &str = "swapnfs0:sn01:/p/swap:64:1:y:y:nfs:0\n";
    const BOTH: &str =
        "swapnfs0:sn01:/p/swap:64:1:y:y:nfs:0\nswapnfs1:nfs1:/p/swap:64:0:y:y:nfs:0\n";

    fn run(runner: &mut Scripted) -> (Result<Summary, Failed>, Vec<String>) {
        let mut journal = Lines::default();
        let result = redirect(&mut Node {
            runner,
            journal: &mut journal,
            server: SERVER,
            same_host: &same,
        });
        (result, journal.0)
    }

    #[test]
    fn moves_and_confirms_before_switching_off() {
        let mut node = Scripted::default()
            .answer("lsps", 0, SN_ONLY)
            .answer("mkps", 0, "")
            .answer("lsps", 0, BOTH)
            .answer("swapoff", 0, "")
            .answer("rmps", 0, "");
        let (result, log) = run(&mut node);
        assert_eq!(
            result.unwrap(),
            Summary {
                removed: 0,
                moved: 1
            }
        );
        assert_eq!(
            node.calls,
            [
                "lsps -t nfs -c",
                "mkps -a -n -t nfs nfs1 /p/swap",
                "lsps -t nfs -c",
                "swapoff /dev/swapnfs0",
                "rmps swapnfs0"
            ]
        );
        assert!(
            log.contains(&"info: paging space swapnfs1 on nfs1:/p/swap is active".to_string()),
            "{log:?}"
        );
    }

    #[test]
    fn a_failed_mkps_keeps_the_old_space() {
        let mut node = Scripted::default()
            .answer("lsps", 0, SN_ONLY)
            .answer("mkps", 1, "");
        let (result, log) = run(&mut node);
        let failed = result.unwrap_err();
        assert!(matches!(failed.errors[..], [PagingError::Create { .. }]));
        assert!(!node
            .calls
            .iter()
            .any(|c| c.starts_with("swapoff") || c.starts_with("rmps")));
        let last = log.last().unwrap();
        assert!(
            last.starts_with(
                "err: cannot create a paging space for /p/swap on nfs1, so swapnfs0 stays in use"
            ),
            "{last}"
        );
        assert!(last.contains("mkps failed"), "{last}");
    }

    #[test]
    fn an_inactive_replacement_keeps_the_old_space() {
        let inactive =
            "swapnfs0:sn01:/p/swap:64:1:y:y:nfs:0\nswapnfs1:nfs1:/p/swap:64:0:n:y:nfs:0\n";
        let mut node = Scripted::default()
            .answer("lsps", 0, SN_ONLY)
            .answer("mkps", 0, "swapnfs1\n")
            .answer("lsps", 0, inactive);
        let (result, _) = run(&mut node);
        let failed = result.unwrap_err();
        assert!(matches!(failed.errors[..], [PagingError::NotActive { .. }]));
        assert_eq!(node.calls.len(), 3, "{:?}", node.calls);
    }

    #[test]
    fn swapoff_without_room_keeps_both_and_advises() {
        let mut node = Scripted::default()
            .answer("lsps", 0, SN_ONLY)
            .answer("mkps", 0, "")
            .answer("lsps", 0, BOTH)
            .answer("swapoff", 2, "");
        let (result, _) = run(&mut node);
        let failed = result.unwrap_err();
        let [PagingError::Deactivate { failure, .. }] = &failed.errors[..] else {
            panic!("{failed}");
        };
        assert_eq!(*failure, SwapoffFailure::NoRoom);
        let msg = failed.errors[0].to_string();
        assert!(msg.contains("swapnfs1 on nfs1 stays active"), "{msg}");
        assert!(msg.contains("`rmps swapnfs0`"), "{msg}");
    }

    #[test]
    fn swapoff_io_errors_stop_the_run() {
        let two = "swapnfs0:sn01:/p/a:64:1:y:y:nfs:0\nswapnfs2:sn01:/p/b:64:1:y:y:nfs:0\n";
        let moved_a = format!("{two}swapnfs1:nfs1:/p/a:64:0:y:y:nfs:0\n");
        let mut node = Scripted::default()
            .answer("lsps", 0, two)
            .answer("mkps", 0, "")
            .answer("lsps", 0, &moved_a)
            .answer("swapoff", 4, "");
        let (result, _) = run(&mut node);
        let failed = result.unwrap_err();
        assert_eq!(failed.errors.len(), 1);
        assert!(failed.errors[0].to_string().contains("chps -a n swapnfs0"));
        assert_eq!(node.calls.last().unwrap(), "swapoff /dev/swapnfs0");
    }

    #[test]
    fn a_failed_listing_changes_nothing() {
        let mut node = Scripted::default().answer("lsps", 1, "");
        let (result, log) = run(&mut node);
        assert!(matches!(
            result.unwrap_err().errors[..],
            [PagingError::List(_)]
        ));
        assert_eq!(node.calls, ["lsps -t nfs -c"]);
        assert!(
            log[0].starts_with("err: cannot list the NFS paging spaces"),
            "{log:?}"
        );
    }
}
