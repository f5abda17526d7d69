//! The xCAT database as xCAT itself reads it: tabdump tables, per-attribute inheritance through
//! groups, regular-expression values, noderanges and `$table.column` substitution.

pub mod arith;
mod error;
pub mod nodels;
pub mod noderange;
pub mod regexattr;
pub mod resolve;
pub mod subvars;
pub mod tabdump;
pub mod table;
mod text;

pub use error::Error;
pub use noderange::{Expander, NodeRangeError};
pub use resolve::{NodeList, ResolveError, Resolver};
pub use table::{Db, Source, Table, TableError};
