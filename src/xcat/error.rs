//! Anything that goes wrong reading the xCAT database, as one error type for the callers
//! that read tables, resolve attributes and expand noderanges.

use super::noderange::NodeRangeError;
use super::resolve::ResolveError;
use super::subvars;
use super::table::TableError;

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
