//! The `[server.NAME.exports]` settings and the server kinds they name: plain data read from
//! the configuration file; what each kind does with them lives in `exports::kinds`.

use serde::{Deserialize, Serialize};

/// The NFS server software on the external server, which decides the configuration's form.
/// Each kind's behaviour (file, rendering, reload, checks) is in its module of
/// `exports::kinds`.
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
    /// Every kind, in the order their settings are checked.
    pub const ALL: [ServerKind; 4] = [
        ServerKind::Linux,
        ServerKind::Aix,
        ServerKind::Ganesha,
        ServerKind::Ces,
    ];

    /// The name the configuration file uses.
    pub fn name(self) -> &'static str {
        match self {
            ServerKind::Linux => "linux",
            ServerKind::Aix => "aix",
            ServerKind::Ganesha => "ganesha",
            ServerKind::Ces => "ces",
        }
    }
}

/// How exports name their host clients (`clients = "..."`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ClientNames {
    /// The default: a name the server resolves stays a name; the others become the node's
    /// address (xCAT's `hosts` table, else this SN's resolver).
    #[default]
    Auto,
    /// Always names; a name the server cannot resolve stops the run, nothing changed.
    Names,
    /// Always addresses (the `hosts` table, else this SN's resolver).
    Addresses,
}

impl ClientNames {
    /// The name the configuration file uses.
    pub fn name(self) -> &'static str {
        match self {
            ClientNames::Auto => "auto",
            ClientNames::Names => "names",
            ClientNames::Addresses => "addresses",
        }
    }
}

impl std::fmt::Display for ServerKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The `[server.NAME.exports]` table of the configuration file. Every field has a default,
/// so no table at all is a Linux server with `/etc/exports.d/xcat-extnfs.exports`. The
/// defaults that depend on the kind and the checks serde cannot make are in
/// `exports::kinds` (`ExportsSettings::file`, `ExportsSettings::validate`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ExportsSettings {
    /// `linux` (default), `aix`, `ganesha` or `ces`.
    pub kind: ServerKind,
    /// Whether syncaixres applies the exports after a successful sync.
    pub apply: bool,
    /// Directory on the server holding each SN's part (`<sn>.json`) and the lock.
    pub parts_dir: String,
    /// The configuration file on the server; default by kind (`ServerKind::default_file`).
    pub file: Option<String>,
    /// Command run on the server after the file changed; default by kind
    /// (`ServerKind::default_reload`). With a locally mounted server it runs on this host,
    /// so there it is only run when set explicitly.
    pub reload: Option<Vec<String>>,
    /// Linux only: off, or a base B giving every path the stable `fsid=` B + a hash of B and
    /// the path (below 2^31), the same on every server node as CNFS requires. 1 ..= 2^31-1.
    pub fsid: Option<u32>,
    /// Ganesha only: the lowest `Export_Id` handed out; an id, once given to a path, stays.
    pub export_id_base: u16,
    /// Ganesha only: the FSAL of every export (`VFS`, `GPFS`, ...).
    pub ganesha_fsal: String,
    /// How host clients are named: `auto` (default), `names` or `addresses`; see
    /// [`ClientNames`] and [`ExportsSettings::client_names`].
    pub clients: Option<ClientNames>,
    /// The older spelling: `true` is `clients = "addresses"`, `false` is `clients = "names"`.
    pub resolve_clients: Option<bool>,
    /// Seconds to wait for another SN's run to release the server's lock.
    pub lock_timeout: u64,
}

impl ExportsSettings {
    /// How host clients are named: `clients`, else the older `resolve_clients`, else auto.
    /// (`exports::kinds` refuses the two set to different things.)
    pub fn client_names(&self) -> ClientNames {
        match (self.clients, self.resolve_clients) {
            (Some(c), _) => c,
            (None, Some(true)) => ClientNames::Addresses,
            (None, Some(false)) => ClientNames::Names,
            (None, None) => ClientNames::Auto,
        }
    }
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
            clients: None,
            resolve_clients: None,
            lock_timeout: 300,
        }
    }
}
