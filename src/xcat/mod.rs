//! xCAT tables (in progress).
