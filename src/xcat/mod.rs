//! The xCAT database as xCAT itself reads it: tabdump tables, per-attribute inheritance through
//! groups, regular-expression values, noderanges and `$table.column` substitution.

pub mod arith;
pub mod nodels;
pub mod noderange;
pub mod regexattr;
pub mod resolve;
pub mod subvars;
pub mod tabdump;
pub mod table;

pub use noderange::{Expander, NodeRangeError};
pub use resolve::{NodeList, ResolveError, Resolver};
pub use table::{Db, Source, Table, TableError};

/// The last line of a regex compile error: the part that says what is wrong.
fn regex_message(e: &regex::Error) -> String {
    e.to_string()
        .lines()
        .last()
        .unwrap_or("")
        .trim()
        .to_string()
}

/// The index of the `)` that closes the `(` at index 0 of `text`; `None` when unbalanced.
fn matching_paren(text: &str) -> Option<usize> {
    let mut depth = 0usize;
    for (i, b) in text.bytes().enumerate() {
        match b {
            b'(' => depth += 1,
            b')' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

/// Anything that goes wrong reading the xCAT database.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Table(#[from] TableError),
    #[error(transparent)]
    Resolve(#[from] ResolveError),
    #[error(transparent)]
    NodeRange(#[from] NodeRangeError),
    #[error(transparent)]
    SubVars(#[from] subvars::SubVarsError),
    #[error("`{0}` is not an attribute: write table.column (for example noderes.nfsserver)")]
    BadAttribute(String),
}

impl Resolver<'_> {
    /// Expands a noderange against this database's node list, minus `site.excludenodes`.
    pub fn noderange(&self, range: &str) -> Result<Vec<String>, Error> {
        let nodelist = self.nodelist()?;
        let exclude = self.db().site("excludenodes")?;
        Ok(Expander::new(&nodelist, exclude).expand(range)?)
    }
}
