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
//! disappears. Parts live on the server as `<parts_dir>/<sn>.json`.
//!
//! The server's configuration is always rendered from the union of all parts (per path, the
//! union of the client lists; a client named by two SNs gets the wider of the two grants),
//! so the order in which SNs run does not matter and no SN drops another's clients. The whole
//! read/merge/write/reload sequence holds a lock on the server; a rendering equal to what is
//! on the server writes and reloads nothing. Nothing is written when any input is bad: an
//! exports line for a published path that cannot be parsed, an option with no equivalent on
//! the server's kind, or a client that cannot be resolved.
//!
//! # Entry points
//!
//! - [`publish`]`(remote, settings, sn, published, sn_exports, dry_run) -> ApplyReport`:
//!   called by the sync engine after a successful sync of one server.
//! - [`apply_for_server`]`(remote, settings, local, dry_run) -> ApplyReport`:
//!   `extnfs exports apply`; refreshes this SN's part when `local` is given, then applies.
//! - [`render_for_server`]`(remote, settings, local) -> String`:
//!   `extnfs exports render`; per path the merged entry and the SN parts it came from, then
//!   the configuration text and commands that `apply` would use. Writes nothing.
//! - [`SnExports::read_under`] reads an SN's `/etc/exports` (and `/etc/exports.d`).

mod aix;
mod apply;
mod ces;
mod error;
mod ganesha;
mod linux;
mod local;
mod merge;
mod model;
mod server;

use serde::{Deserialize, Serialize};

use crate::remote::Remote;

pub use apply::ApplyReport;
pub use error::{ExportsError, Unsupported};
pub use local::{Dialect, SnExports};
pub use merge::{merge_parts, Merged, MergedExport, Part, PartExport};
pub use model::{Access, Client, ClientAccess, Entry, Export, LineProblem, Sec, Source, Squash};
pub use server::Lock as ServerLock;

/// The NFS server software on the external server, which decides the configuration's form.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ServerKind {
    /// Linux kernel NFS (also GPFS CNFS): an exports(5) file of ours, `exportfs -ra`.
    #[default]
    Linux,
    /// AIX: a managed block in `/etc/exports`, `exportfs -a`.
    Aix,
    /// NFS-Ganesha: a file of EXPORT blocks (included from ganesha.conf), reloaded.
    Ganesha,
    /// IBM Spectrum Scale CES: `mmnfs export` commands; our record of what they set.
    Ces,
}

impl ServerKind {
    pub fn name(self) -> &'static str {
        match self {
            ServerKind::Linux => "linux",
            ServerKind::Aix => "aix",
            ServerKind::Ganesha => "ganesha",
            ServerKind::Ces => "ces",
        }
    }

    /// Where the configuration (for CES: the record of the applied state) is written.
    pub fn default_file(self) -> &'static str {
        match self {
            ServerKind::Linux => "/etc/exports.d/xcat-extnfs.exports",
            ServerKind::Aix => "/etc/exports",
            ServerKind::Ganesha => "/etc/ganesha/xcat-extnfs.conf",
            ServerKind::Ces => "/var/lib/xcat-extnfs/exports/ces-exports.state",
        }
    }

    /// The command that makes the server use a new configuration (none for CES, whose
    /// `mmnfs` commands apply themselves).
    pub fn default_reload(self) -> Vec<String> {
        let words: &[&str] = match self {
            ServerKind::Linux => &["exportfs", "-ra"],
            ServerKind::Aix => &["exportfs", "-a"],
            ServerKind::Ganesha => &["systemctl", "reload", "nfs-ganesha"],
            ServerKind::Ces => &[],
        };
        words.iter().map(|w| w.to_string()).collect()
    }
}

impl std::fmt::Display for ServerKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The `[server.NAME.exports]` table of the configuration file. Every field has a default,
/// so no table at all is a Linux server with `/etc/exports.d/xcat-extnfs.exports`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ExportsSettings {
    /// `linux` (default), `aix`, `ganesha` or `ces`.
    pub kind: ServerKind,
    /// Whether syncaixres applies the exports after a successful sync.
    pub apply: bool,
    /// Directory on the server holding each SN's part (`<sn>.json`) and the lock.
    pub parts_dir: String,
    /// The configuration file on the server; default by kind ([`ServerKind::default_file`]).
    pub file: Option<String>,
    /// Command run on the server after the file changed; default by kind
    /// ([`ServerKind::default_reload`]). With a locally mounted server it runs on this host,
    /// so there it is only run when set explicitly.
    pub reload: Option<Vec<String>>,
    /// Linux only: off, or a base B giving every path the stable `fsid=` B + a hash of B and
    /// the path (below 2^31), the same on every server node as CNFS requires. 1 ..= 2^31-1.
    pub fsid: Option<u32>,
    /// Ganesha only: the lowest `Export_Id` handed out; an id, once given to a path, stays.
    pub export_id_base: u16,
    /// Ganesha only: the FSAL of every export (`VFS`, `GPFS`, ...).
    pub ganesha_fsal: String,
    /// Write clients as the addresses this SN resolves them to instead of names.
    pub resolve_clients: bool,
    /// Seconds to wait for another SN's run to release the server's lock.
    pub lock_timeout: u64,
}

impl Default for ExportsSettings {
    fn default() -> ExportsSettings {
        ExportsSettings {
            kind: ServerKind::Linux,
            apply: true,
            parts_dir: "/var/lib/xcat-extnfs/exports/parts".to_string(),
            file: None,
            reload: None,
            fsid: None,
            export_id_base: 100,
            ganesha_fsal: "VFS".to_string(),
            resolve_clients: false,
            lock_timeout: 300,
        }
    }
}

impl ExportsSettings {
    /// The configuration file in effect.
    pub fn file(&self) -> &str {
        self.file
            .as_deref()
            .unwrap_or_else(|| self.kind.default_file())
    }

    /// The reload command in effect, `None` when nothing is to be run (CES, or a locally
    /// mounted server without an explicit command).
    pub fn reload_for(&self, remote: &Remote) -> Option<Vec<String>> {
        let argv = match (&self.reload, remote.is_local()) {
            (Some(argv), _) => argv.clone(),
            (None, false) => self.kind.default_reload(),
            (None, true) => Vec::new(),
        };
        Some(argv).filter(|a| !a.is_empty() && self.kind != ServerKind::Ces)
    }

    /// Checks the values serde cannot: absolute paths, number ranges, a usable FSAL name.
    pub fn validate(&self) -> Result<(), ExportsError> {
        let bad = |m: String| Err(ExportsError::Settings(m));
        for (what, path) in [
            ("parts_dir", self.parts_dir.as_str()),
            ("file", self.file()),
        ] {
            if let Err(why) = model::validate_path(path) {
                return bad(format!("{what} `{path}`: {why}"));
            }
        }
        if matches!(&self.reload, Some(argv) if argv.is_empty() || argv[0].is_empty()) {
            return bad("reload must name a command (a non-empty list)".into());
        }
        if matches!(self.fsid, Some(b) if b == 0 || b >= 1 << 31) {
            return bad("fsid must be between 1 and 2147483647".into());
        }
        if self.export_id_base == 0 {
            return bad("export_id_base must be at least 1 (0 is Ganesha's pseudo root)".into());
        }
        if self.ganesha_fsal.is_empty()
            || !self
                .ganesha_fsal
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            return bad(format!(
                "ganesha_fsal `{}` is not an FSAL name",
                self.ganesha_fsal
            ));
        }
        if self.lock_timeout == 0 {
            return bad("lock_timeout must be at least 1 second".into());
        }
        Ok(())
    }
}

/// What a resource is to the nodes that mount it; decides the access NIM would have given.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// A NIM SPOT (the nodes' `/usr`): read-only.
    Spot,
    /// One node's own root directory (non-shared_root).
    Root,
    /// A shared_root tree.
    SharedRoot,
    /// One node's paging directory.
    Paging,
    /// One node's dump directory.
    Dump,
    /// A Linux statelite image, litetree or statemnt directory.
    Statelite,
    /// A Linux statelite image's `rootimg` (NFS root): read-only, root allowed.
    Rootimg,
    /// A statelite node's persistent directory: read-write, root allowed.
    Statemnt,
    /// A litetree directory: read-only, root allowed.
    Litetree,
}

impl Role {
    /// The name the configuration and part files use.
    pub fn name(self) -> &'static str {
        match self {
            Role::Spot => "spot",
            Role::Root => "root",
            Role::SharedRoot => "shared_root",
            Role::Paging => "paging",
            Role::Dump => "dump",
            Role::Statelite => "statelite",
            Role::Rootimg => "rootimg",
            Role::Statemnt => "statemnt",
            Role::Litetree => "litetree",
        }
    }

    /// Whether the nodes mounting it are AIX (whose NFS client uses unprivileged ports).
    pub fn is_aix(self) -> bool {
        !matches!(
            self,
            Role::Statelite | Role::Rootimg | Role::Statemnt | Role::Litetree
        )
    }

    /// The access NIM (or xCAT for statelite) gives the nodes: SPOT and shared_root are
    /// mounted read-only, everything else read-write; root is always allowed.
    pub fn default_access(self) -> ClientAccess {
        let access = match self {
            Role::Spot | Role::SharedRoot | Role::Rootimg | Role::Litetree => Access::Ro,
            _ => Access::Rw,
        };
        let mut grant = ClientAccess::new(access, Squash::None);
        // Linux statelite clients use privileged ports; AIX clients get `insecure` when
        // the part is finished (Role::is_aix).
        grant.insecure = !matches!(self, Role::Rootimg | Role::Statemnt | Role::Litetree);
        grant
    }
}

/// A path the sync put on the server and the nodes (host names) that mount it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Published {
    pub path: String,
    pub role: Role,
    pub clients: Vec<String>,
}

/// This service node and its exports, for the commands that refresh its part.
#[derive(Clone, Copy, Debug)]
pub struct LocalSn<'a> {
    /// The SN's name, as its part on the server is named.
    pub name: &'a str,
    pub exports: &'a SnExports,
}

impl<'a> LocalSn<'a> {
    /// A refresh of this SN's part with nothing newly synced.
    fn update(self) -> apply::Update<'a> {
        apply::Update {
            sn: self.name,
            published: &[],
            exports: self.exports,
        }
    }
}

/// Publishes this SN's part for the paths just synced and applies the merged exports on the
/// server (see the module documentation). With `dry_run`, reports what would change and
/// writes nothing.
pub fn publish(
    remote: &Remote,
    settings: &ExportsSettings,
    sn: &str,
    published: &[Published],
    sn_exports: &SnExports,
    dry_run: bool,
) -> Result<ApplyReport, ExportsError> {
    let update = apply::Update {
        sn,
        published,
        exports: sn_exports,
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

#[cfg(test)]
mod tests;
