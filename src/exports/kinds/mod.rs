//! The server kinds, one module each behind [`ServerType`], and the one place that maps a
//! configured [`ServerKind`] to its module; the settings' defaults and checks by kind.
//!
//! A new kind is a variant of [`ServerKind`] (with its configuration name) and a module
//! here implementing [`ServerType`], named in [`ServerKind::server_type`].

pub mod aix;
pub mod ces;
pub mod ganesha;
pub mod linux;
mod server_type;

pub use server_type::{RenderInput, Rendered, ServerType};

use crate::config::exports::{ClientNames, ExportsSettings, ServerKind};
use crate::exports::error::ExportsError;
use crate::exports::model::validate_path;

impl ServerKind {
    /// What this kind does.
    pub fn server_type(self) -> &'static dyn ServerType {
        match self {
            ServerKind::Linux => &linux::Linux,
            ServerKind::Aix => &aix::Aix,
            ServerKind::Ganesha => &ganesha::Ganesha,
            ServerKind::Ces => &ces::Ces,
        }
    }

    /// Where the configuration (for CES: the record of the applied state) is written.
    pub fn default_file(self) -> &'static str {
        self.server_type().default_file()
    }

    /// The command that makes the server use a new configuration (none for CES, whose
    /// `mmnfs` commands apply themselves).
    pub fn default_reload(self) -> Vec<String> {
        let words = self.server_type().default_reload().unwrap_or_default();
        words.iter().map(|w| w.to_string()).collect()
    }
}

impl ExportsSettings {
    /// The configuration file in effect.
    pub fn file(&self) -> &str {
        self.file
            .as_deref()
            .unwrap_or_else(|| self.kind.default_file())
    }

    /// Checks the values serde cannot: absolute paths, number ranges, a usable FSAL name.
    pub fn validate(&self) -> Result<(), ExportsError> {
        let bad = |m: String| Err(ExportsError::Settings(m));
        for (what, path) in [
            ("parts_dir", self.parts_dir.as_str()),
            ("file", self.file()),
        ] {
            if let Err(why) = validate_path(path) {
                return bad(format!("{what} `{path}`: {why}"));
            }
        }
        if matches!(&self.reload, Some(argv) if argv.is_empty() || argv[0].is_empty()) {
            return bad("reload must name a command (a non-empty list)".into());
        }
        for kind in ServerKind::ALL {
            kind.server_type().validate(self).or_else(bad)?;
        }
        if let (Some(c), Some(r)) = (self.clients, self.resolve_clients) {
            let old = match r {
                true => ClientNames::Addresses,
                false => ClientNames::Names,
            };
            if c != old {
                return bad(format!(
                    "clients = \"{c}\" and resolve_clients = {r} disagree; keep clients only",
                    c = c.name()
                ));
            }
        }
        if self.lock_timeout == 0 {
            return bad("lock_timeout must be at least 1 second".into());
        }
        Ok(())
    }
}
