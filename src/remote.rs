//! Reaching an external NFS server: commands over the ssh that `RSYNC_RSH` names (batch mode,
//! host keys checked, every word quoted), or locally when its file system is mounted here.

use std::path::PathBuf;

use crate::config::{ServerConfig, TransportKind};
use crate::process::{quote_words, Cmd};

/// ssh options always added: never prompt, refuse unknown host keys, give up on a server that
/// does not answer, notice a peer that dies. Options in `RSYNC_RSH` come first and so win.
const SSH_OPTIONS: [&str; 10] = [
    "-o",
    "BatchMode=yes",
    "-o",
    "StrictHostKeyChecking=yes",
    "-o",
    "ConnectTimeout=30",
    "-o",
    "ServerAliveInterval=15",
    "-o",
    "ServerAliveCountMax=4",
];

/// A server that cannot be reached as configured.
#[derive(Debug, thiserror::Error)]
pub enum RemoteError {
    #[error("RSYNC_RSH `{0}` has an unbalanced quote")]
    BadRsh(String),
    #[error("RSYNC_RSH is empty")]
    EmptyRsh,
    #[error("server {server}: transport \"local\" needs local_path")]
    NoLocalPath { server: String },
}

#[derive(Clone, Debug)]
enum Transport {
    Ssh { rsh: Vec<String>, host: String },
    Local { root: PathBuf },
}

/// One external NFS server and the way to reach it.
#[derive(Clone, Debug)]
pub struct Remote {
    name: String,
    transport: Transport,
    /// The control socket of this run's shared connection (see [`crate::sshmux`]).
    control: Option<PathBuf>,
}

impl Remote {
    /// Builds the access for a configured server; the ssh command comes from `RSYNC_RSH`
    /// (as rsync reads it), else `ssh`.
    pub fn new(config: &ServerConfig) -> Result<Remote, RemoteError> {
        let rsh = std::env::var("RSYNC_RSH").ok();
        Remote::with_rsh(config, rsh.as_deref())
    }

    /// As [`Remote::new`] with an explicit remote-shell command line.
    pub fn with_rsh(config: &ServerConfig, rsh: Option<&str>) -> Result<Remote, RemoteError> {
        let transport = match config.transport {
            TransportKind::Local => Transport::Local {
                root: config
                    .local_path
                    .clone()
                    .ok_or_else(|| RemoteError::NoLocalPath {
                        server: config.name.clone(),
                    })?,
            },
            TransportKind::Ssh => {
                let rsh = match rsh.map(str::trim).filter(|s| !s.is_empty()) {
                    Some(text) => split_rsh(text)?,
                    None => vec!["ssh".to_string()],
                };
                Transport::Ssh {
                    rsh,
                    host: config.ssh_host.clone(),
                }
            }
        };
        Ok(Remote {
            name: config.name.clone(),
            transport,
            control: None,
        })
    }

    /// The server's name as `noderes.nfsserver` gives it.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether the server's file system is mounted on this host.
    pub fn is_local(&self) -> bool {
        matches!(self.transport, Transport::Local { .. })
    }

    /// A server path as commands run through this remote see it: unchanged over ssh, below
    /// `local_path` for a locally mounted server.
    pub fn path(&self, server_path: &str) -> String {
        match &self.transport {
            Transport::Ssh { .. } => server_path.to_string(),
            Transport::Local { root } => {
                let root = root.to_string_lossy();
                format!(
                    "{}/{}",
                    root.trim_end_matches('/'),
                    server_path.trim_start_matches('/')
                )
            }
        }
    }

    /// An rsync destination (or source) for a server path: `host:path` or the local path.
    pub fn rsync_target(&self, server_path: &str) -> String {
        match &self.transport {
            Transport::Ssh { host, .. } => format!("{host}:{server_path}"),
            Transport::Local { .. } => self.path(server_path),
        }
    }

    /// The `--rsh` value for rsync (ssh plus our options), `None` for a local server.
    pub fn rsync_rsh(&self) -> Option<String> {
        match &self.transport {
            Transport::Ssh { rsh, .. } => {
                let shared = self.shared_connection_options();
                Some(quote_words(
                    rsh.iter()
                        .map(String::as_str)
                        .chain(SSH_OPTIONS)
                        .chain(shared.iter().map(String::as_str)),
                ))
            }
            Transport::Local { .. } => None,
        }
    }

    /// A command to run on the server. Over ssh the words are quoted for the remote shell;
    /// locally they are run as they are.
    pub fn command<S: AsRef<str>>(&self, argv: &[S]) -> Cmd {
        match &self.transport {
            Transport::Ssh { rsh, host } => Cmd::new(&rsh[0])
                .args(&rsh[1..])
                .args(SSH_OPTIONS)
                .args(self.shared_connection_options())
                .arg(host)
                .arg(quote_words(argv.iter().map(AsRef::as_ref))),
            Transport::Local { .. } => {
                Cmd::new(argv[0].as_ref()).args(argv[1..].iter().map(AsRef::as_ref))
            }
        }
    }

    /// A POSIX sh script run on the server with `args` as `$1`, `$2`...: the script text is
    /// ours, user values only ever arrive as quoted positional parameters.
    pub fn script<S: AsRef<str>>(&self, script: &str, args: &[S]) -> Cmd {
        let mut argv: Vec<&str> = vec!["sh", "-c", script, "extnfs"];
        argv.extend(args.iter().map(AsRef::as_ref));
        self.command(&argv)
    }
}

// Connection sharing (the master itself is run by crate::sshmux).
impl Remote {
    /// The ssh command words before the host (the remote shell and our options), and the host;
    /// `None` for a locally mounted server.
    pub fn ssh_words(&self) -> Option<(Vec<String>, String)> {
        match &self.transport {
            Transport::Ssh { rsh, host } => {
                let mut words = rsh.clone();
                words.extend(SSH_OPTIONS.iter().map(|o| o.to_string()));
                Some((words, host.clone()))
            }
            Transport::Local { .. } => None,
        }
    }

    /// Sends every later command and rsync through the master on `socket` (`None`: each
    /// opens its own connection again).
    pub fn share_connection(&mut self, socket: Option<PathBuf>) {
        self.control = socket;
    }

    /// `-o ControlMaster=no -o ControlPath=…` while a master serves this server: a client
    /// never becomes a master itself, and connects on its own if the master is gone.
    fn shared_connection_options(&self) -> Vec<String> {
        match &self.control {
            Some(socket) => vec![
                "-o".to_string(),
                "ControlMaster=no".to_string(),
                "-o".to_string(),
                format!("ControlPath={}", socket.display()),
            ],
            None => Vec::new(),
        }
    }
}

/// Splits a remote-shell command line the way rsync splits `RSYNC_RSH`: on white space, with
/// single quotes taken literally and double quotes allowing `\"` and `\\`.
pub fn split_rsh(text: &str) -> Result<Vec<String>, RemoteError> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(x) => cur.push(x),
                        None => return Err(RemoteError::BadRsh(text.to_string())),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(x @ ('"' | '\\')) => cur.push(x),
                            Some(x) => {
                                cur.push('\\');
                                cur.push(x);
                            }
                            None => return Err(RemoteError::BadRsh(text.to_string())),
                        },
                        Some(x) => cur.push(x),
                        None => return Err(RemoteError::BadRsh(text.to_string())),
                    }
                }
            }
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            c => {
                in_word = true;
                cur.push(c);
            }
        }
    }
    if in_word {
        words.push(cur);
    }
    if words.is_empty() {
        return Err(RemoteError::EmptyRsh);
    }
    Ok(words)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn ssh_server() -> ServerConfig {
        Config::default().server("nfs1")
    }

    #[test]
    fn rsh_splitting_follows_rsync() {
        assert_eq!(
            split_rsh("ssh -F '/a b/cfg'").unwrap(),
            ["ssh", "-F", "/a b/cfg"]
        );
        assert_eq!(
            split_rsh(r#"ssh -o "X=\"y\"""#).unwrap(),
            ["ssh", "-o", "X=\"y\""]
        );
        assert!(split_rsh("ssh 'open").is_err());
        assert!(split_rsh("  ").is_err());
    }

    #[test]
    fn remote_commands_are_quoted() {
        let r = Remote::with_rsh(&ssh_server(), Some("ssh -F /tmp/cfg")).unwrap();
        let cmd = r.command(&["ls", "-l", "/install/a b;rm -rf /"]);
        let argv: Vec<String> = cmd
            .arguments()
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        assert_eq!(cmd.program(), "ssh");
        assert_eq!(argv[..2], ["-F", "/tmp/cfg"]);
        assert!(argv.contains(&"BatchMode=yes".to_string()));
        assert!(argv.contains(&"StrictHostKeyChecking=yes".to_string()));
        assert_eq!(argv[argv.len() - 2], "nfs1");
        assert_eq!(argv[argv.len() - 1], "ls -l '/install/a b;rm -rf /'");
        assert_eq!(r.rsync_target("/install/x"), "nfs1:/install/x");
        assert!(r
            .rsync_rsh()
            .unwrap()
            .starts_with("ssh -F /tmp/cfg -o BatchMode=yes"));
    }

    #[test]
    fn a_shared_connection_goes_into_every_ssh_command() {
        let mut r = Remote::with_rsh(&ssh_server(), Some("ssh -F /etc/c")).unwrap();
        let (words, host) = r.ssh_words().unwrap();
        assert_eq!(words[..3], ["ssh", "-F", "/etc/c"]);
        assert!(words.contains(&"BatchMode=yes".to_string()));
        assert_eq!(host, "nfs1");
        r.share_connection(Some(PathBuf::from("/tmp/extnfs-ssh.x/0")));
        let rsh = r.rsync_rsh().unwrap();
        assert!(
            rsh.ends_with("-o ControlMaster=no -o ControlPath=/tmp/extnfs-ssh.x/0"),
            "{rsh}"
        );
        let cmd = r.command(&["true"]);
        let argv: Vec<String> = cmd
            .arguments()
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        let n = argv.len();
        assert_eq!(
            argv[n - 6..],
            [
                "-o",
                "ControlMaster=no",
                "-o",
                "ControlPath=/tmp/extnfs-ssh.x/0",
                "nfs1",
                "true"
            ]
        );
        r.share_connection(None);
        assert!(!r.rsync_rsh().unwrap().contains("Control"));
    }

    #[test]
    fn local_servers_map_paths() {
        let text = "[server.nfs1]\ntransport = \"local\"\nlocal_path = \"/gpfs/ext/\"\n";
        let c = Config::parse(text, std::path::Path::new("t")).unwrap();
        let r = Remote::new(&c.server("nfs1")).unwrap();
        assert!(r.is_local());
        assert_eq!(r.path("/install/nim"), "/gpfs/ext/install/nim");
        assert_eq!(r.rsync_target("/install/nim/"), "/gpfs/ext/install/nim/");
        assert!(r.rsync_rsh().is_none());
        let out = r
            .script("printf '%s|' \"$@\"", &["a b", "$HOME"])
            .run_checked()
            .unwrap();
        assert_eq!(out.stdout, "a b|$HOME|");
    }
}
