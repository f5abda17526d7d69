//! Why exports could not be published or applied; every message names the line, option,
//! client or server file at fault, and says that nothing was changed where that holds.

use std::fmt;
use std::path::PathBuf;

use super::model::LineProblem;
use crate::config::exports::ServerKind;
use crate::process::CommandError;

/// An export that cannot be expressed on the server's kind.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unsupported {
    pub path: String,
    /// The option or client, as the dialect of the SN wrote it where possible.
    pub item: String,
    pub why: String,
    /// The SN parts the item came from.
    pub from: String,
}

impl fmt::Display for Unsupported {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {} ({}; from {})",
            self.path, self.item, self.why, self.from
        )
    }
}

fn list<T: fmt::Display>(items: &[T]) -> String {
    items.iter().map(|i| format!("\n  {i}")).collect::<String>()
}

/// Publishing or applying exports failed.
#[derive(Debug, thiserror::Error)]
pub enum ExportsError {
    #[error("exports settings: {0}")]
    Settings(String),
    #[error("service node name: {0}")]
    SnName(#[from] crate::host::InvalidHostName),
    #[error("published path `{path}`: {why}")]
    BadPath { path: String, why: String },
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{problem}; it is needed to export {path}, so nothing was changed")]
    Line {
        path: String,
        problem: Box<LineProblem>,
    },
    #[error("client `{client}` of {path} ({origin}) does not resolve to an address here; nothing was changed")]
    Resolve {
        client: String,
        path: String,
        origin: String,
    },
    #[error("server {server} cannot resolve these clients; nothing was changed:{}", list(.clients))]
    ServerResolve {
        server: String,
        clients: Vec<String>,
    },
    #[error("these exports have no {kind} equivalent; nothing was changed:{}", list(.items))]
    Unsupported {
        kind: ServerKind,
        items: Vec<Unsupported>,
    },
    #[error(
        "fsid {fsid} would be given to both {first} and {second}; set another exports.fsid base"
    )]
    FsidCollision {
        fsid: u32,
        first: String,
        second: String,
    },
    #[error("no free Ganesha Export_Id from {base} to 65535 is left for {path}")]
    ExportIds { base: u16, path: String },
    #[error("server {server}: {file}: {message}; nothing was changed")]
    ServerFile {
        server: String,
        file: String,
        message: String,
    },
    #[error("server {server}: the exports lock {lock} is still held after {seconds} s{}", holder(.owner))]
    Busy {
        server: String,
        lock: String,
        seconds: u64,
        owner: String,
    },
    #[error("server {server}: {step}: {source}")]
    Remote {
        server: String,
        step: String,
        #[source]
        source: Box<CommandError>,
    },
    #[error("server {server}: {step} failed and the previous configuration was put back ({restored}): {source}")]
    Apply {
        server: String,
        step: String,
        restored: String,
        #[source]
        source: Box<CommandError>,
    },
}

fn holder(owner: &str) -> String {
    match owner.trim() {
        "" => String::new(),
        o => format!(" by {o}"),
    }
}

impl ExportsError {
    /// The server command whose failure this is, if it is one.
    pub fn command_error(&self) -> Option<&CommandError> {
        match self {
            ExportsError::Remote { source, .. } | ExportsError::Apply { source, .. } => {
                Some(source)
            }
            _ => None,
        }
    }

    /// 1 when the server failed or is busy (something may have been tried), 2 for bad
    /// settings or input found before the server was changed.
    pub fn exit_status(&self) -> i32 {
        match self {
            ExportsError::Busy { .. }
            | ExportsError::Remote { .. }
            | ExportsError::Apply { .. }
            | ExportsError::ServerFile { .. } => crate::exit::FAILURE,
            _ => crate::exit::USAGE,
        }
    }

    /// A failed remote step.
    pub(crate) fn remote(server: &str, step: &str, source: CommandError) -> ExportsError {
        ExportsError::Remote {
            server: server.to_string(),
            step: step.to_string(),
            source: Box::new(source),
        }
    }

    /// A server file that cannot be used as it is.
    pub(crate) fn server_file(
        server: &str,
        file: &str,
        message: impl Into<String>,
    ) -> ExportsError {
        ExportsError::ServerFile {
            server: server.to_string(),
            file: file.to_string(),
            message: message.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exports::model::Source;

    #[test]
    fn messages_name_what_is_wrong() {
        let e = ExportsError::Unsupported {
            kind: ServerKind::Linux,
            items: vec![Unsupported {
                path: "/install/nim/spot/71B/usr".into(),
                item: "sec=dh".into(),
                why: "Linux has no Diffie-Hellman flavour".into(),
                from: "sn1".into(),
            }],
        };
        let text = e.to_string();
        assert!(text.contains("no linux equivalent"), "{text}");
        assert!(text.contains("/install/nim/spot/71B/usr: sec=dh"), "{text}");
        let e = ExportsError::Line {
            path: "/a".into(),
            problem: Box::new(LineProblem {
                source: Source {
                    file: "/etc/exports".into(),
                    line: 7,
                },
                path: Some("/a".into()),
                text: "/a -bogus".into(),
                message: "unknown option `bogus`".into(),
            }),
        };
        let text = e.to_string();
        assert!(text.contains("/etc/exports line 7"), "{text}");
        assert!(text.contains("bogus"), "{text}");
    }
}
