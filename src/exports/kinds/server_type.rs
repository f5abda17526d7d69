//! What every kind of NFS server provides to publishing and applying: its file, its
//! rendering of the merged exports, how a new configuration is made live, its checks.

use crate::config::exports::ExportsSettings;
use crate::exports::applied::Applied;
use crate::exports::error::ExportsError;
use crate::exports::merge::Merged;
use crate::remote::Remote;

/// One kind of external NFS server (`exports.kind`). Everything that differs between kinds
/// is a method here, implemented once per kind in its module of `exports::kinds`; the
/// publishing and applying code only calls these, and so does doctor, which reads what the
/// server has actually applied (as opposed to the file this project wrote).
pub trait ServerType: Sync {
    /// Where the configuration (for CES: the record of what was applied) is written unless
    /// `exports.file` names another file.
    fn default_file(&self) -> &'static str;

    /// The command that makes the server use a new file unless `exports.reload` names
    /// another; `None` for a kind whose own commands apply the change (CES), which is never
    /// reloaded.
    fn default_reload(&self) -> Option<&'static [&'static str]>;

    /// Checks the settings only this kind uses. Every kind's check runs whatever kind is in
    /// effect, so a wrong value is refused when it is written, not when the kind changes.
    fn validate(&self, _settings: &ExportsSettings) -> Result<(), String> {
        Ok(())
    }

    /// How messages name the step that writes the file (`writing /etc/exports`).
    fn writing(&self) -> &'static str {
        "writing"
    }

    /// Renders the configuration for the merged exports; writes nothing.
    fn render(&self, input: &RenderInput<'_>) -> Result<Rendered, ExportsError>;

    /// What the script that reads the applied exports takes after the kind's name (one
    /// remote command for every kind; see `exports::read_applied`).
    fn applied_args(&self, _remote: &Remote) -> Vec<String> {
        Vec::new()
    }

    /// What the server showed of its applied exports made into grants (the script's frames
    /// one after the other: for Ganesha, the files it loads).
    fn parse_applied(&self, text: &str) -> Applied;
}

/// What a rendering is made from.
pub struct RenderInput<'a> {
    pub merged: &'a Merged,
    /// The file now on the server (`None`: there is none yet).
    pub current: Option<&'a str>,
    pub settings: &'a ExportsSettings,
    /// The file in effect, for messages.
    pub file: &'a str,
    /// The server's name, for messages.
    pub server: &'a str,
}

/// The configuration for the server and what makes it live, in the order applying uses:
/// `commands`, then the file, then `unexport`, then the reload.
#[derive(Clone, Debug, Default)]
pub struct Rendered {
    pub text: String,
    /// Warnings for the admin about what the rendering could not say or found.
    pub notes: Vec<String>,
    /// Commands that carry out the change, run before the file is written; a failure puts
    /// everything back (CES: the `mmnfs export` dry runs, then the commands).
    pub commands: Vec<Vec<String>>,
    /// Paths gone from the file that the server keeps exporting until `exportfs -u` (AIX).
    pub unexport: Vec<String>,
}
