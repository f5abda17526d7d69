//! AIX lsps (in progress).
