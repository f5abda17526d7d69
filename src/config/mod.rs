//! The configuration file: per external NFS server, how to reach it and what to copy there.
//! Every setting has a default, so no file at all is a working configuration.

pub mod exports;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub use exports::{ClientNames, ExportsSettings, ServerKind};

/// Where the configuration lives unless [`ENV_VAR`] names another file.
pub const DEFAULT_PATH: &str = "/etc/xcat/extnfs.toml";
/// Environment variable that overrides [`DEFAULT_PATH`].
pub const ENV_VAR: &str = "XCAT_EXTNFS_CONFIG";

/// A configuration file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read configuration file {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("configuration file {path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("configuration file {path}: server `{server}`: {message}")]
    Invalid {
        path: PathBuf,
        server: String,
        message: String,
    },
}

/// How rsync and remote commands reach a server.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TransportKind {
    /// rsync over ssh (`RSYNC_RSH` chooses the ssh command).
    Ssh,
    /// The server's file system is mounted on this host under `local_path`.
    Local,
}

/// What happens to the nodes' paging files. Their content means nothing after a reboot or a
/// new `swapon`; `mkps` needs the server's file to exist with its size, exported to the node.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PagingMode {
    /// Copy the paging directories with holes kept (`rsync -S`). rsync still sends every
    /// zero, so each file's full size crosses the network once.
    Sync,
    /// The default: create each paging file on the server as a sparse file of the same size;
    /// no data crosses the network.
    Allocate,
    /// Leave paging alone.
    Off,
}

/// One server's settings as written in the file: every field optional, so a server table
/// only names what differs from `[defaults]`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSettings {
    pub transport: Option<TransportKind>,
    /// With `transport = "local"`: the directory on this host that holds the server's `/`.
    pub local_path: Option<PathBuf>,
    /// Host name or ssh alias to connect to (default: the `noderes.nfsserver` value).
    pub ssh_host: Option<String>,
    /// The server's IP address as the nodes use it (default: resolved from its name). Written
    /// into the nodes' hosts and `.info` files.
    pub address: Option<String>,
    /// rsync on the server (`--rsync-path`).
    pub rsync_path: Option<String>,
    pub compress: Option<bool>,
    pub paging: Option<PagingMode>,
    pub dump: Option<bool>,
    pub jobs: Option<usize>,
    pub exports: Option<ExportsSettings>,
}

/// The file as written.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    #[serde(default)]
    defaults: ServerSettings,
    #[serde(default)]
    server: BTreeMap<String, ServerSettings>,
    log_file: Option<PathBuf>,
    lock_dir: Option<PathBuf>,
    syslog: Option<bool>,
    logger: Option<String>,
}

/// The loaded configuration.
#[derive(Clone, Debug)]
pub struct Config {
    /// The file it came from (`None`: built-in defaults only).
    pub path: Option<PathBuf>,
    defaults: ServerSettings,
    servers: BTreeMap<String, ServerSettings>,
    /// Extra log file receiving every syslog line.
    pub log_file: Option<PathBuf>,
    /// Directory of the per-SN run lock (local disk).
    pub lock_dir: PathBuf,
    /// The `logger` program for syslog, or `None` when syslog is off.
    pub logger: Option<String>,
}

/// A server's effective settings.
#[derive(Clone, Debug, Serialize)]
pub struct ServerConfig {
    /// The server as `noderes.nfsserver` names it.
    pub name: String,
    pub transport: TransportKind,
    pub local_path: Option<PathBuf>,
    pub ssh_host: String,
    pub address: Option<String>,
    pub rsync_path: String,
    pub compress: bool,
    pub paging: PagingMode,
    pub dump: bool,
    pub jobs: usize,
    pub exports: ExportsSettings,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            path: None,
            defaults: ServerSettings::default(),
            servers: BTreeMap::new(),
            log_file: None,
            lock_dir: PathBuf::from("/var/lock"),
            logger: Some("logger".to_string()),
        }
    }
}

impl Config {
    /// Loads `path`, else the file named by [`ENV_VAR`], else [`DEFAULT_PATH`] if it exists,
    /// else the defaults. A file named explicitly (argument or variable) must exist.
    pub fn load(path: Option<&Path>) -> Result<Config, ConfigError> {
        let env = std::env::var_os(ENV_VAR).filter(|v| !v.is_empty());
        let (path, required) = match (path, env) {
            (Some(p), _) => (p.to_path_buf(), true),
            (None, Some(v)) => (PathBuf::from(v), true),
            (None, None) => (PathBuf::from(DEFAULT_PATH), false),
        };
        if !required && !path.exists() {
            return Ok(Config::default());
        }
        let text = std::fs::read_to_string(&path).map_err(|source| ConfigError::Read {
            path: path.clone(),
            source,
        })?;
        Config::parse(&text, &path)
    }

    /// Parses configuration text; `path` only labels error messages.
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let file: ConfigFile = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: path.to_path_buf(),
            message: e.to_string().trim_end().to_string(),
        })?;
        let mut config = Config {
            path: Some(path.to_path_buf()),
            defaults: file.defaults,
            servers: file.server,
            log_file: file.log_file,
            lock_dir: file.lock_dir.unwrap_or_else(|| PathBuf::from("/var/lock")),
            logger: Some(file.logger.unwrap_or_else(|| "logger".to_string())),
        };
        if file.syslog == Some(false) {
            config.logger = None;
        }
        let names: Vec<String> = config.servers.keys().cloned().collect();
        for name in names.iter().map(String::as_str).chain(["[defaults]"]) {
            let server = config.server(name);
            let invalid = |message: String| ConfigError::Invalid {
                path: path.to_path_buf(),
                server: name.to_string(),
                message,
            };
            if name != "[defaults]" {
                crate::host::validate_hostname(name).map_err(|e| invalid(e.to_string()))?;
            }
            if server.transport == TransportKind::Local && server.local_path.is_none() {
                return Err(invalid(
                    "transport = \"local\" needs local_path (where the server's file system is mounted here)".into(),
                ));
            }
            if let Some(p) = &server.local_path {
                if !p.is_absolute() {
                    return Err(invalid(format!(
                        "local_path {} is not absolute",
                        p.display()
                    )));
                }
            }
            if let Some(a) = &server.address {
                if a.parse::<std::net::IpAddr>().is_err() {
                    return Err(invalid(format!("address `{a}` is not an IP address")));
                }
            }
            server
                .exports
                .validate()
                .map_err(|e| invalid(format!("exports: {e}")))?;
            if server.jobs == 0 {
                return Err(invalid("jobs must be at least 1".into()));
            }
            if server.transport == TransportKind::Ssh && name != "[defaults]" {
                crate::host::validate_hostname(&server.ssh_host)
                    .map_err(|e| invalid(format!("ssh_host: {e}")))?;
            }
        }
        Ok(config)
    }

    /// The effective settings for a server: its own table, then `[defaults]`, then built-ins.
    pub fn server(&self, name: &str) -> ServerConfig {
        let own = self
            .servers
            .get(name)
            .or_else(|| {
                self.servers
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(name))
                    .map(|(_, v)| v)
            })
            .cloned()
            .unwrap_or_default();
        let d = &self.defaults;
        ServerConfig {
            name: name.to_string(),
            transport: own
                .transport
                .or(d.transport.clone())
                .unwrap_or(TransportKind::Ssh),
            local_path: own.local_path.or(d.local_path.clone()),
            ssh_host: own.ssh_host.unwrap_or_else(|| name.to_string()),
            address: own.address,
            rsync_path: own
                .rsync_path
                .or(d.rsync_path.clone())
                .unwrap_or_else(|| "rsync".to_string()),
            compress: own.compress.or(d.compress).unwrap_or(false),
            paging: own.paging.or(d.paging).unwrap_or(PagingMode::Allocate),
            dump: own.dump.or(d.dump).unwrap_or(false),
            jobs: own.jobs.or(d.jobs).unwrap_or(4),
            exports: own.exports.or(d.exports.clone()).unwrap_or_default(),
        }
    }

    /// Names of the servers that have their own table.
    pub fn server_names(&self) -> impl Iterator<Item = &str> {
        self.servers.keys().map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_file_means_defaults() {
        let c = Config::default();
        let s = c.server("nfs1");
        assert_eq!(s.transport, TransportKind::Ssh);
        assert_eq!(s.ssh_host, "nfs1");
        assert_eq!(s.rsync_path, "rsync");
        assert!(!s.compress);
        assert_eq!(s.paging, PagingMode::Allocate);
        assert!(!s.dump);
        assert_eq!(s.jobs, 4);
    }

    #[test]
    fn server_table_overrides_defaults() {
        let text = r#"
            log_file = "/var/log/xcat/extnfs.log"
            [defaults]
            paging = "sync"
            jobs = 2
            [server.nfs1]
            transport = "local"
            local_path = "/gpfs/extnfs"
            jobs = 8
        "#;
        let c = Config::parse(text, Path::new("t.toml")).unwrap();
        let s = c.server("nfs1");
        assert_eq!(s.transport, TransportKind::Local);
        assert_eq!(s.local_path.as_deref(), Some(Path::new("/gpfs/extnfs")));
        assert_eq!(s.jobs, 8);
        assert_eq!(s.paging, PagingMode::Sync);
        assert_eq!(c.server("other").jobs, 2);
    }

    #[test]
    fn bad_files_name_the_problem() {
        let e = Config::parse(
            "[server.nfs1]\ntransport = \"local\"\n",
            Path::new("c.toml"),
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("c.toml") && e.contains("nfs1") && e.contains("local_path"),
            "{e}"
        );
        let e = Config::parse("[server.nfs1]\ncolour = 1\n", Path::new("c.toml"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("colour"), "{e}");
        let e = Config::parse("[server.\"a;b\"]\n", Path::new("c.toml"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("not a valid host name"), "{e}");
    }
}
