//! Moving an AIX node's NFS paging space to the external server (in progress).
