//! The run's shared ssh connections: one master per server opened after the inventory and
//! closed at the end; both prescripts' runs use these two calls.

use crate::sshmux::{Link, Multiplexer};

use super::execute::DeadServers;
use super::servers::Servers;

/// Opens one shared ssh connection per server for a run that changes something (a dry run
/// connects nowhere) and says how each server is reached. A server whose master could not
/// reach it is marked in `dead`: the run connects to it no more.
pub fn share_connections(
    servers: &mut Servers,
    dry_run: bool,
    dead: &DeadServers,
    say: &mut dyn FnMut(String),
) -> Multiplexer {
    if dry_run {
        return Multiplexer::none();
    }
    let mux = Multiplexer::start(servers.values_mut().map(|s| &mut s.remote));
    for link in mux.links() {
        if let Some(cause) = &link.unreachable {
            dead.mark(&link.server, cause);
        }
        say(link.line());
    }
    mux
}

/// Closes the run's shared connections, warning of what did not close (in the output and
/// syslog), and says per server how it was reached and how many remote commands the run sent
/// it; returns those links (for the report).
pub fn close_connections(
    mux: &mut Multiplexer,
    servers: &Servers,
    say: &mut dyn FnMut(String),
) -> Vec<Link> {
    let mut links = mux.links().to_vec();
    for link in &mut links {
        link.commands = servers.get(&link.server).map(|s| s.remote.commands_run());
        if link.unreachable.is_none() {
            say(link.line());
        }
    }
    mux.close_warning();
    links
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::remote::Remote;
    use crate::sync::context::Sysroot;
    use crate::sync::execute::Executor;
    use crate::sync::servers::Server;
    use crate::sync::step::Step;
    use crate::syslog::Syslog;

    /// An ssh that accepts the shared-connection options (`-G` prints our control path) and
    /// then cannot reach the server, as ssh says when a connection times out; it logs each
    /// call's arguments.
    fn unreachable_ssh(dir: &std::path::Path) -> String {
        crate::remote::fake_ssh(
            dir,
            "echo \"$*\" >> {calls}\nfor a; do case $a in ControlPath=*) p=${a#ControlPath=};; \
             -G) g=1;; esac; done\nif [ -n \"$g\" ]; then echo \"controlpath $p\"; exit 0; fi\n\
             echo 'ssh: connect to host 10.0.0.9 port 22: Connection timed out' >&2\nexit 255\n",
        )
    }

    #[test]
    fn a_master_that_cannot_reach_the_server_marks_it_dead_and_nothing_connects_again() {
        let dir = tempfile::tempdir().unwrap();
        let rsh = unreachable_ssh(dir.path());
        let config = Config::default().server("nfs1");
        let remote = Remote::with_rsh(&config, Some(&rsh)).unwrap();
        let step = Step::spot_on_nfs1(&remote, "spot1");
        let server = Server::nfs1(remote, config);
        let mut servers: Servers = [("nfs1".to_string(), server)].into();
        let dead = DeadServers::default();
        let mut lines = Vec::new();
        let mut mux = share_connections(&mut servers, false, &dead, &mut |l| lines.push(l));
        assert_eq!(
            lines,
            ["nfs1: no ssh connection: the server could not be reached"]
        );
        assert_eq!(
            dead.cause("nfs1").as_deref(),
            Some("ssh: connect to host 10.0.0.9 port 22: Connection timed out")
        );
        let link = &mux.links()[0];
        assert!(!link.shared && link.unreachable.is_some(), "{link:?}");

        let sysroot = Sysroot::new(dir.path());
        let syslog = Syslog::disabled();
        let executor = Executor {
            dead: dead.clone(),
            ..Executor::for_tests(&servers, &sysroot, &syslog, 1)
        };
        let ran = executor.execute(std::slice::from_ref(&step), "/install/.xcat-extnfs.tmp");
        assert_eq!(
            ran.down["nfs1"],
            "cannot reach the server: ssh: connect to host 10.0.0.9 port 22: Connection timed out"
        );
        let error = ran.done[0].result.error.as_deref().unwrap();
        assert_eq!(error, "not run: the server could not be reached");
        let mut end = Vec::new();
        let links = close_connections(&mut mux, &servers, &mut |l| end.push(l));
        assert_eq!(links[0].commands, Some(0), "{links:?}");
        assert!(
            end.is_empty(),
            "an unreachable server was told at the start: {end:?}"
        );
        // The probe and the master: one connection attempt, no other.
        let calls = std::fs::read_to_string(dir.path().join("calls")).unwrap();
        let calls: Vec<&str> = calls.lines().collect();
        assert_eq!(calls.len(), 2, "{calls:?}");
        assert!(
            calls[0].contains("-G") && calls[1].contains("-N -f"),
            "{calls:?}"
        );
    }
}
