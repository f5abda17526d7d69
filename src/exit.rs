//! The documented exit statuses shared by every binary of the project, following xCAT's
//! prescript contract: 1 lets xCAT finish the section, 2 stops it at once.

/// Everything done.
pub const SUCCESS: i32 = 0;
/// Some node, resource or step failed; the rest was done.
pub const FAILURE: i32 = 1;
/// A usage or configuration error found before any change was made.
pub const USAGE: i32 = 2;
