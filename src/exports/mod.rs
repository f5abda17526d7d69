//! NFS exports on the external server: every service node's exports merged into one generated,
//! idempotent configuration for a Linux (knfsd, CNFS), AIX, NFS-Ganesha or Spectrum Scale CES server.
//!
//! # How it works
//!
//! After a successful sync, each service node (SN) calls [`publish`]. Its *part* is the
//! neutral [`Export`] of every path it has published so far (read back from the server) and
//! of the paths just synced, taken from its own `/etc/exports` ([`SnExports`], AIX or Linux
//! syntax, detected from the content). A synced path the SN does not export gets the export
//! NIM would have made (its nodes, root allowed, SPOT and shared_root read-only) with a
//! warning; an earlier path the SN no longer exports is dropped, which is how a removed node
//! disappears. Statelite paths (syncstatelite's `<sn>.statelite` part) get the export their
//! role gives them, silently: the SN's exports do not hold them. Parts live on the server as
//! `<parts_dir>/<sn>.json`.
//!
//! The server's configuration is always rendered from the union of all parts (per path, the
//! union of the client lists; a client named by two SNs gets the wider of the two grants),
//! so the order in which SNs run does not matter and no SN drops another's clients.
//!
//! Host clients are written as names the server resolves (it checks the names new in the
//! SN's part, in chunks); by default (`clients = "auto"`) a name it cannot resolve becomes the
//! node's address (xCAT's `hosts` table, else this SN's resolver, [`ClientAddresses`]) with
//! one note, and a client nobody knows an address for is left out, failing alone (see
//! `clients`). The whole
//! read/merge/write/reload sequence holds a lock on the server; a rendering equal to what is
//! on the server writes and reloads nothing. Nothing is written when any input is bad: an
//! exports line for a published path that cannot be parsed, an option with no equivalent on
//! the server's kind, a subnet named by a host this SN cannot resolve, or (with
//! `clients = "names"`) a client name the server cannot resolve.
//!
//! Each server kind is one module of `kinds` behind one trait (`kinds::ServerType`): its
//! default file and reload, its rendering, its checks of the settings, and the reading of
//! what its server has applied ([`read_applied`], for doctor). The service node's
//! side (reading its exports in either dialect) is `local`; the server's side (lock, reads,
//! atomic installs) is `server`.
//!
//! # Entry points
//!
//! - [`publish`]`(remote, settings, sn, published, sn_exports, addresses, dry_run) -> ApplyReport`:
//!   called by the sync engine after a successful sync of one server.
//! - [`apply_for_server`]`(remote, settings, local, dry_run) -> ApplyReport`:
//!   `extnfs exports apply`; refreshes this SN's part when `local` is given, then applies.
//! - [`render_for_server`]`(remote, settings, local) -> String`:
//!   `extnfs exports render`; per path the merged entry and the SN parts it came from, then
//!   the configuration text and commands that `apply` would use. Writes nothing.
//! - [`SnExports::read_under`] reads an SN's `/etc/exports` (and `/etc/exports.d`).

mod applied;
mod apply;
mod clients;
mod error;
pub(crate) mod kinds;
mod local;
mod merge;
mod model;
mod role;
mod server;

use crate::remote::Remote;

pub use crate::config::exports::{ClientNames, ExportsSettings, ServerKind};
pub use applied::{Applied, AppliedIndex, Who};
pub use apply::ApplyReport;
pub use clients::{AddressOrigin, ClientAddresses, LeftOut, ResolverOnly};
pub use error::{ExportsError, Unsupported};
pub use local::{Dialect, SnExports};
pub use merge::{merge_parts, Merged, MergedExport, Part, PartExport};
pub use model::{Access, Client, ClientAccess, Entry, Export, LineProblem, Sec, Source, Squash};
pub use role::{Published, Role};
pub use server::Lock as ServerLock;

/// This service node and its exports, for the commands that refresh its part.
#[derive(Clone, Copy)]
pub struct LocalSn<'a> {
    /// The SN's name, as its part on the server is named.
    pub name: &'a str,
    pub exports: &'a SnExports,
    /// The nodes' addresses, for clients not named by their names.
    pub addresses: &'a dyn ClientAddresses,
}

impl<'a> LocalSn<'a> {
    /// A refresh of this SN's part with nothing newly synced.
    fn update(self) -> apply::Update<'a> {
        apply::Update {
            sn: self.name,
            published: &[],
            exports: self.exports,
            addresses: self.addresses,
        }
    }
}

/// Publishes this SN's part for the paths just synced and applies the merged exports on the
/// server (see the module documentation); `addresses` gives the nodes' addresses for
/// clients not named by their names. With `dry_run`, reports what would change and writes
/// nothing.
pub fn publish(
    remote: &Remote,
    settings: &ExportsSettings,
    sn: &str,
    published: &[Published],
    sn_exports: &SnExports,
    addresses: &dyn ClientAddresses,
    dry_run: bool,
) -> Result<ApplyReport, ExportsError> {
    let update = apply::Update {
        sn,
        published,
        exports: sn_exports,
        addresses,
    };
    apply::run(remote, settings, Some(update), dry_run)
}

/// Applies the merged exports of all parts on the server; with `local`, first refreshes that
/// SN's part from its current exports (paths it no longer exports disappear).
pub fn apply_for_server(
    remote: &Remote,
    settings: &ExportsSettings,
    local: Option<LocalSn<'_>>,
    dry_run: bool,
) -> Result<ApplyReport, ExportsError> {
    let update = local.map(LocalSn::update);
    apply::run(remote, settings, update, dry_run)
}

/// What [`apply_for_server`] would apply: per path the merged entry and the SN parts that
/// contributed, then the configuration text and the commands. Reads the server only.
pub fn render_for_server(
    remote: &Remote,
    settings: &ExportsSettings,
    local: Option<LocalSn<'_>>,
) -> Result<String, ExportsError> {
    let update = local.map(LocalSn::update);
    apply::preview(remote, settings, update)
}

/// The exports the server applies, as its kind's own tool or state shows them (knfsd's
/// export table or `exportfs -v`, AIX `exportfs`, the configuration Ganesha loads with its
/// `%include`s, CES `mmnfs export list -Y`); `Err` says why they could not be read.
pub fn read_applied(remote: &Remote, settings: &ExportsSettings) -> Result<Applied, String> {
    let kind = settings.kind.server_type();
    let args = kind.applied_args(remote);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let frames = applied::query(remote, settings.kind.name(), &args)?;
    Ok(kind.parse_applied(&applied::bodies(&frames)))
}

/// What [`read_applied`] makes of the text a server of `kind` shows.
pub fn parse_applied(kind: ServerKind, text: &str) -> Applied {
    kind.server_type().parse_applied(text)
}

#[cfg(test)]
mod tests;
