//! Reaching an external NFS server: commands over the ssh that `RSYNC_RSH` names (batch mode,
//! host keys checked, every word quoted), or locally when its file system is mounted here.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use crate::config::{ServerConfig, TransportKind};
use crate::process::{quote_words, Cmd};

/// ssh options a run needs whatever the site set: never prompt (a prescript has no one to
/// answer). After the site's own options, so an explicit `-o BatchMode=no` in `RSYNC_RSH`
/// still wins.
const SSH_REQUIRED: [&str; 2] = ["-o", "BatchMode=yes"];

/// ssh options added only where the site's own configuration leaves ssh's default: refuse
/// unknown host keys, give up on a server that does not answer, notice a peer that dies.
/// Each is `(key as ssh -G prints it, ssh's default as printed, our option)`.
///
/// ssh takes the first value it is given for an option, and command-line options before any
/// configuration file, so an option added on the command line would override a site's
/// `-F` file or `~/.ssh/config`. Instead of guessing how the site set an option, we ask ssh
/// for its resolved configuration (`ssh -G`, which does not connect) and add ours only where
/// ssh would use its default. (A site that sets an option to exactly ssh's default, such
/// as `ServerAliveInterval 0`, gets ours.)
const SSH_DEFAULTS: [(&str, &str, &str); 4] = [
    ("stricthostkeychecking", "ask", "StrictHostKeyChecking=yes"),
    ("connecttimeout", "none", "ConnectTimeout=30"),
    ("serveraliveinterval", "0", "ServerAliveInterval=15"),
    ("serveralivecountmax", "3", "ServerAliveCountMax=4"),
];

/// The longest a server that stops answering keeps a run waiting, with the built-in
/// options: a connection attempt gives up after `ConnectTimeout` (30 s); an open
/// connection after `ServerAliveInterval` x `ServerAliveCountMax` (15 s x 4) of silence,
/// plus the interval before the first probe. A server found dead is not tried again.
pub const HUNG_SERVER_SECONDS: u64 = 30 + 15 * 4 + 15;

/// The options to add after the site's: the required ones, then each default the site's
/// resolved configuration (`ssh -G` output, `None` when it could not be had) leaves unset.
pub fn ssh_options(resolved: Option<&str>) -> Vec<String> {
    let mut out: Vec<String> = SSH_REQUIRED.iter().map(|s| s.to_string()).collect();
    for (key, default, ours) in SSH_DEFAULTS {
        let value = resolved.map(|text| resolved_value(text, key));
        // Not known (no `ssh -G`, or a key it did not print): add ours, as before.
        let unset = match value {
            None | Some(None) => true,
            Some(Some(v)) => v.eq_ignore_ascii_case(default),
        };
        if unset {
            out.push("-o".into());
            out.push(ours.into());
        }
    }
    out
}

/// The value of `key` (lowercase, as ssh prints it) in `ssh -G` output, which prints each
/// key once, as `key value`.
pub fn resolved_value<'t>(config: &'t str, key: &str) -> Option<&'t str> {
    config
        .lines()
        .filter_map(|l| l.split_once(' '))
        .find(|(k, _)| k.eq_ignore_ascii_case(key))
        .map(|(_, v)| v.trim())
}

/// The configuration ssh resolves for `host` with the site's words (`ssh -G`, no connection
/// made); `None` when the remote shell is not OpenSSH's `ssh` or cannot say.
fn resolved_config(rsh: &[String], host: &str) -> Option<String> {
    let program = std::path::Path::new(&rsh[0]).file_name()?.to_str()?;
    if program != "ssh" {
        return None;
    }
    let out = Cmd::new(&rsh[0])
        .args(&rsh[1..])
        .arg("-G")
        .arg(host)
        .stdin_bytes(Vec::new())
        .run()
        .ok()?;
    out.success().then_some(out.stdout)
}

/// ssh's own words when a command failed because the server could not be reached or the
/// connection died (refused, timed out, no route, key refused, host key unknown...): the
/// line to show the admin, `None` for any other failure. ssh prints these itself, so they
/// are recognised whatever program ran ssh (ssh, rsync).
pub fn connection_failure(stderr: &str) -> Option<String> {
    const STARTS: [&str; 12] = [
        "ssh: ",
        "Timeout, server ",
        "Connection closed by ",
        "Connection reset by ",
        "Connection timed out",
        "kex_exchange_identification: ",
        "banner exchange: ",
        "Permission denied (",
        "Host key verification failed",
        "client_loop: ",
        "packet_write_wait: ",
        "Bad owner or permissions on ",
    ];
    stderr
        .lines()
        .map(str::trim)
        .find(|l| {
            // Newer ssh puts `user@host: ` before some messages.
            let bare = l
                .split_once(": ")
                .filter(|(p, _)| p.contains('@') && !p.contains(' '))
                .map_or(*l, |(_, rest)| rest);
            STARTS.iter().any(|p| bare.starts_with(p)) || l.ends_with("closed by remote host.")
        })
        .map(|l| l.chars().take(300).collect())
}

/// Where the shared connection's master on control socket `socket` writes what it says
/// (a server that stopped answering, a connection reset): beside the socket.
pub fn master_log(socket: &std::path::Path) -> PathBuf {
    let mut name = socket.as_os_str().to_owned();
    name.push(".log");
    PathBuf::from(name)
}

/// ssh's exit status for its own failures (and rsync's, passed through, when ssh failed).
const SSH_FAILED: i32 = 255;

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
    Ssh {
        rsh: Vec<String>,
        host: String,
        /// Ours, after the site's (see [`ssh_options`]).
        options: Vec<String>,
    },
    Local {
        root: PathBuf,
    },
}

/// One external NFS server and the way to reach it.
#[derive(Clone, Debug)]
pub struct Remote {
    name: String,
    transport: Transport,
    /// The control socket of this run's shared connection (opened by the connection-sharing module, sshmux).
    control: Option<PathBuf>,
    /// Commands run on the server over ssh so far (clones count together; rsync not counted).
    commands: Arc<AtomicUsize>,
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
                let options = ssh_options(resolved_config(&rsh, &config.ssh_host).as_deref());
                Transport::Ssh {
                    rsh,
                    host: config.ssh_host.clone(),
                    options,
                }
            }
        };
        Ok(Remote {
            name: config.name.clone(),
            transport,
            control: None,
            commands: Arc::default(),
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
            Transport::Ssh { rsh, options, .. } => {
                let shared = self.shared_connection_options();
                Some(quote_words(
                    rsh.iter()
                        .chain(options)
                        .chain(shared.iter())
                        .map(String::as_str),
                ))
            }
            Transport::Local { .. } => None,
        }
    }

    /// A command to run on the server. Over ssh the words are quoted for the remote shell;
    /// locally they are run as they are.
    pub fn command<S: AsRef<str>>(&self, argv: &[S]) -> Cmd {
        match &self.transport {
            Transport::Ssh { rsh, host, options } => Cmd::new(&rsh[0])
                .args(&rsh[1..])
                .args(options)
                .args(self.shared_connection_options())
                .arg(host)
                .arg(quote_words(argv.iter().map(AsRef::as_ref)))
                .tally(self.commands.clone()),
            Transport::Local { .. } => {
                Cmd::new(argv[0].as_ref()).args(argv[1..].iter().map(AsRef::as_ref))
            }
        }
    }

    /// How many commands built by [`Remote::command`] (and [`Remote::script`]) ran over ssh
    /// so far; 0 for a locally mounted server. rsync runs are not counted.
    pub fn commands_run(&self) -> usize {
        self.commands.load(Ordering::Relaxed)
    }

    /// A POSIX sh script run on the server with `args` as `$1`, `$2`...: the script text is
    /// ours, user values only ever arrive as quoted positional parameters.
    pub fn script<S: AsRef<str>>(&self, script: &str, args: &[S]) -> Cmd {
        let mut argv: Vec<&str> = vec!["sh", "-c", script, "extnfs"];
        argv.extend(args.iter().map(AsRef::as_ref));
        self.command(&argv)
    }
}

// Connection sharing (the master itself is run by the sshmux module).
impl Remote {
    /// The ssh command words before the host (the remote shell and our options), and the host;
    /// `None` for a locally mounted server.
    pub fn ssh_words(&self) -> Option<(Vec<String>, String)> {
        match &self.transport {
            Transport::Ssh { rsh, host, options } => {
                let mut words = rsh.clone();
                words.extend(options.iter().cloned());
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

    /// ssh's words when a command (ssh, or rsync over ssh) that exited with `code` failed
    /// because the server could not be reached or the connection died: from its own
    /// `stderr`, or, when it went through the shared connection and that master is gone, from
    /// the master's log (the master holds the connection, so it is the one that saw the
    /// server stop answering; its client only sees its socket close). `None` for other
    /// failures.
    pub fn connection_lost(&self, code: Option<i32>, stderr: &str) -> Option<String> {
        if let Some(cause) = connection_failure(stderr) {
            return Some(cause);
        }
        let socket = self.control.as_ref()?;
        // A master removes its socket as it exits; one still there still serves.
        if socket.exists() {
            return None;
        }
        // The master's words whatever the status (rsync says 255 or 12, depending on when it
        // noticed); without them, only ssh's own failure status counts.
        let log = std::fs::read_to_string(master_log(socket)).unwrap_or_default();
        match connection_failure(&log) {
            Some(cause) => Some(cause),
            None if code == Some(SSH_FAILED) => {
                Some("the shared ssh connection to the server closed".to_string())
            }
            None => None,
        }
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

/// A server whose file system is mounted on this host at `root` (`transport = "local"`): the
/// unit tests' server for code that runs commands there.
#[cfg(test)]
pub(crate) fn local_for_tests(root: &std::path::Path) -> Remote {
    let text = format!(
        "[server.nfs1]\ntransport = \"local\"\nlocal_path = \"{}\"\n",
        root.display()
    );
    let c = crate::config::Config::parse(&text, std::path::Path::new("t")).unwrap();
    Remote::new(&c.server("nfs1")).unwrap()
}

/// Writes the shell script `body` to `fake-ssh` in `dir`, with `{calls}` standing for the
/// file `calls` there (where a fake ssh logs its calls), and returns the remote shell that
/// runs it: through `sh`, since executing a script just written races with other tests'
/// forks (ETXTBSY).
#[cfg(test)]
pub(crate) fn fake_ssh(dir: &std::path::Path, body: &str) -> String {
    let script = dir.join("fake-ssh");
    let calls = dir.join("calls");
    std::fs::write(
        &script,
        body.replace("{calls}", &calls.display().to_string()),
    )
    .unwrap();
    format!("sh {}", script.display())
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
    fn built_in_options_only_where_the_site_left_ssh_defaults() {
        let all = ssh_options(None).join(" ");
        assert_eq!(
            all,
            "-o BatchMode=yes -o StrictHostKeyChecking=yes -o ConnectTimeout=30 \
             -o ServerAliveInterval=15 -o ServerAliveCountMax=4"
        );
        let defaults = "user root\nbatchmode no\nstricthostkeychecking ask\n\
                        connecttimeout none\nserveraliveinterval 0\nserveralivecountmax 3\n";
        assert_eq!(ssh_options(Some(defaults)).join(" "), all);
        let site = "stricthostkeychecking accept-new\nconnecttimeout 5\n\
                    serveraliveinterval 3\nserveralivecountmax 3\n";
        assert_eq!(
            ssh_options(Some(site)).join(" "),
            "-o BatchMode=yes -o ServerAliveCountMax=4"
        );
    }

    #[test]
    fn a_site_ssh_configuration_file_takes_precedence() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = dir.path().join("ssh_config");
        std::fs::write(
            &cfg,
            "Host nfs1\n  ConnectTimeout 5\n  ServerAliveInterval 2\n  ServerAliveCountMax 2\n",
        )
        .unwrap();
        let rsh = format!("ssh -F {}", cfg.display());
        let r = Remote::with_rsh(&ssh_server(), Some(&rsh)).unwrap();
        let line = r.rsync_rsh().unwrap();
        assert!(
            line.ends_with("-o BatchMode=yes -o StrictHostKeyChecking=yes"),
            "{line}"
        );
        // The same settings given with -o: ssh takes the first value, the site's.
        let r = Remote::with_rsh(&ssh_server(), Some("ssh -o ConnectTimeout=7")).unwrap();
        let line = r.rsync_rsh().unwrap();
        assert!(!line.contains("ConnectTimeout=30"), "{line}");
        assert!(line.contains("ServerAliveInterval=15"), "{line}");
        // Not ssh: nothing is asked, every option is added after the site's words.
        let r = Remote::with_rsh(&ssh_server(), Some("/opt/bin/myrsh -x")).unwrap();
        assert!(r.rsync_rsh().unwrap().contains("ConnectTimeout=30"));
    }

    #[test]
    fn connection_failures_are_told_by_ssh_own_words() {
        let rsync = "ssh: connect to host 10.0.0.9 port 22: Connection timed out\r\n\
                     rsync: connection unexpectedly closed (0 bytes received so far) [sender]\n\
                     rsync error: unexplained error (code 255) at io.c(232) [sender=3.2.7]\n";
        assert_eq!(
            connection_failure(rsync).unwrap(),
            "ssh: connect to host 10.0.0.9 port 22: Connection timed out"
        );
        assert_eq!(
            connection_failure("Timeout, server nfs1 not responding.\nrsync: [sender] write error: Broken pipe (32)\n").unwrap(),
            "Timeout, server nfs1 not responding."
        );
        assert_eq!(
            connection_failure("root@10.0.0.9: Permission denied (publickey).\n").unwrap(),
            "root@10.0.0.9: Permission denied (publickey)."
        );
        assert_eq!(
            connection_failure("Permission denied (publickey).\n").unwrap(),
            "Permission denied (publickey)."
        );
        assert!(connection_failure(
            "rsync: write failed on \"/install/x\": No space left on device (28)\n"
        )
        .is_none());
        assert!(connection_failure(
            "mkdir: cannot create directory '/install/a': Permission denied\n"
        )
        .is_none());
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
    fn a_lost_shared_connection_is_told_in_the_masters_words() {
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join("0");
        let mut r = Remote::with_rsh(&ssh_server(), Some("ssh -F /etc/c")).unwrap();
        r.share_connection(Some(socket.clone()));
        let rsync = "rsync: [sender] write error: Broken pipe (32)\n\
                     rsync error: unexplained error (code 255) at io.c(949) [sender=3.5.0]\n";
        // The master is gone (no socket) and said why in its log.
        std::fs::write(
            master_log(&socket),
            "Timeout, server 10.0.0.9 not responding.\r\n",
        )
        .unwrap();
        assert_eq!(
            r.connection_lost(Some(255), rsync).as_deref(),
            Some("Timeout, server 10.0.0.9 not responding.")
        );
        // rsync's status when it noticed first (12): the master's words still tell.
        assert_eq!(
            r.connection_lost(Some(12), rsync).as_deref(),
            Some("Timeout, server 10.0.0.9 not responding.")
        );
        // Gone without a word.
        std::fs::remove_file(master_log(&socket)).unwrap();
        assert_eq!(
            r.connection_lost(Some(255), rsync).as_deref(),
            Some("the shared ssh connection to the server closed")
        );
        // ... and then another status is another failure.
        assert_eq!(r.connection_lost(Some(23), rsync), None);
        // A master still serving: not a lost connection.
        std::fs::write(&socket, "").unwrap();
        assert_eq!(r.connection_lost(Some(255), rsync), None);
        // ssh's own words win.
        assert_eq!(
            r.connection_lost(Some(255), "Connection reset by 10.0.0.9 port 22\n")
                .as_deref(),
            Some("Connection reset by 10.0.0.9 port 22")
        );
    }

    #[test]
    fn commands_run_over_ssh_are_counted_by_every_clone() {
        // A remote shell that runs nothing on any server: `sh -c true ...`.
        let r = Remote::with_rsh(&ssh_server(), Some("sh -c true")).unwrap();
        let clone = r.clone();
        let built = r.command(&["ls"]);
        assert_eq!(r.commands_run(), 0, "built, not run");
        built.run_checked().unwrap();
        clone.script("exit 0", &["a"]).run_checked().unwrap();
        assert_eq!((r.commands_run(), clone.commands_run()), (2, 2));
        let local = "[server.nfs1]\ntransport = \"local\"\nlocal_path = \"/\"\n";
        let c = Config::parse(local, std::path::Path::new("t")).unwrap();
        let l = Remote::new(&c.server("nfs1")).unwrap();
        l.command(&["true"]).run_checked().unwrap();
        assert_eq!(l.commands_run(), 0, "not over ssh");
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
