//! AIX filesystems (in progress).
