//! The run's shared ssh connections: one master per server opened after the inventory and
//! closed at the end; both prescripts' runs use these two calls.

use crate::sshmux::Multiplexer;
use crate::syslog::Syslog;

use super::servers::Servers;

/// Opens one shared ssh connection per server for a run that changes something (a dry run
/// connects nowhere) and says how each server is reached.
pub fn share_connections(
    servers: &mut Servers,
    dry_run: bool,
    say: &mut dyn FnMut(String),
) -> Multiplexer {
    if dry_run {
        return Multiplexer::none();
    }
    let mux = Multiplexer::start(servers.values_mut().map(|s| &mut s.remote));
    for link in mux.links() {
        say(link.line());
    }
    mux
}

/// Closes the run's shared connections, logging what did not close.
pub fn close_connections(mux: &mut Multiplexer, syslog: &Syslog) {
    for problem in mux.close() {
        syslog.warning(&problem);
    }
}
