//! AIX hosts (in progress).
