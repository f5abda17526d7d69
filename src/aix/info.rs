//! AIX info (in progress).
