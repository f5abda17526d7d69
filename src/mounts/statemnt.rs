//! `statelite.statemnt` as a node receives it (R7) and as its initrd reads it back: the
//! persistent server and directory, and the ways a value silently or loudly fails (T1-T6).

use serde::Serialize;

use crate::host;
use crate::xcat::subvars::{self, SubVarsError};
use crate::xcat::Resolver;

/// A node's statemnt, from the table value to what the node mounts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Statemnt {
    /// The value in the statelite table.
    pub value: String,
    /// `STATEMNT=` on the kernel command line (R7).
    pub kernel: String,
    /// The server the node mounts from (`SS`), when it is a host name.
    pub server: Option<String>,
    /// The directory the node mounts (`/R`); `/R/<node>` holds the node's files (R9).
    pub dir: String,
    /// `<dir>/<node>`.
    pub node_dir: String,
    /// `statelite.mntopts` (R8).
    pub mntopts: Option<String>,
    /// Why it cannot work, or what is odd about it.
    pub problem: Option<String>,
    /// Whether the server side can be set up: a host name and a directory without
    /// `UNDEFINED`; false also means the node will not find its persistent files.
    pub usable: bool,
}

/// The kernel value as the Linux initrd splits it (xcat-prepivot.sh): the server is the text
/// before the last `:` (`${STATEMNT%:*}`), the root the text after the first `/`
/// (`${STATEMNT#*/}`); a pattern that does not match leaves the whole value.
pub fn node_side(kernel: &str) -> (&str, &str) {
    let server = kernel.rsplit_once(':').map_or(kernel, |(s, _)| s);
    let root = kernel.split_once('/').map_or(kernel, |(_, r)| r);
    (server, root)
}

/// Computes a Linux node's statemnt from its table value (R7, R9) and judges it (T1-T6).
/// `#CMD=` segments are an error, never run.
pub fn linux(
    value: &str,
    mntopts: Option<&str>,
    node: &str,
    resolver: &Resolver<'_>,
) -> Result<Statemnt, SubVarsError> {
    let kernel = subvars::statemnt(value, node, resolver).map_err(|e| match e {
        SubVarsError::Command { .. } => SubVarsError::Command {
            value: value.to_string(),
        },
        other => other,
    })?;
    if kernel.contains("#CMD") {
        return Err(SubVarsError::Command {
            value: value.to_string(),
        });
    }
    let (server, root) = node_side(&kernel);
    let dir = format!("/{root}");
    Ok(judge(value, kernel.clone(), server, dir, mntopts, node))
}

/// Computes an AIX node's statemnt as `dolitesetup` writes it to `statelite.table`: variables
/// always substituted, the `/` subVars puts before the server stripped (IU:943-985).
pub fn aix(
    value: &str,
    mntopts: Option<&str>,
    node: &str,
    resolver: &Resolver<'_>,
) -> Result<Statemnt, SubVarsError> {
    if value.contains("#CMD") {
        return Err(SubVarsError::Command {
            value: value.to_string(),
        });
    }
    let (server, dir) = subvars::litetree_directory(value, node, resolver)?;
    // A server with a variable was substituted; without one, subVars would only have put
    // the `/` in front that dolitesetup strips again.
    let server = server
        .map(|s| s.trim_start_matches('/').to_string())
        .unwrap_or_default();
    let kernel = format!("{server}:{dir}");
    Ok(judge(value, kernel, &server, dir, mntopts, node))
}

fn judge(
    value: &str,
    kernel: String,
    server: &str,
    dir: String,
    mntopts: Option<&str>,
    node: &str,
) -> Statemnt {
    let mut problem = None;
    let mut usable = false;
    let mut host = None;
    if !kernel.contains(':') {
        // T3: a plain path is taken whole as the server.
        problem = Some(format!(
            "`{value}` has no server part: the node takes `{server}` as the server, the mount fails and it drops to a shell"
        ));
    } else if server.is_empty() {
        // T2: `:dir` mounts nothing.
        problem = Some(format!(
            "`{value}` has no server part (STATEMNT={kernel}): the node mounts nothing and its persistent files live in memory, lost at reboot"
        ));
    } else if host::validate_hostname(server).is_err() {
        // T1: subVars puts `/` before a server without a variable when the dir has one.
        problem = Some(format!(
            "`{value}` gives the server `{server}` (STATEMNT={kernel}), which is not a host name: the mount fails and the node drops to a shell; write the server as a variable too (e.g. $noderes.nfsserver) or leave the directory without one"
        ));
    } else if !kernel[server.len() + 1..].starts_with('/') {
        problem = Some(format!(
            "`{value}`: the directory `{}` is not absolute",
            &kernel[server.len() + 1..]
        ));
    } else if dir.split('/').any(|c| c == "UNDEFINED") {
        // T6: an unset attribute became a path component.
        host = Some(server.to_string());
        problem = Some(format!(
            "`{value}` gives {dir}: an attribute it names is unset (UNDEFINED)"
        ));
    } else {
        host = Some(server.to_string());
        usable = true;
        // T4: the node appends its own name anyway.
        if dir.split('/').any(|c| c == node) {
            problem = Some(format!(
                "`{value}` already holds the node name: the node appends its own, so its files go to {dir}/{node}"
            ));
        }
    }
    Statemnt {
        value: value.to_string(),
        kernel,
        server: host,
        node_dir: format!("{}/{node}", dir.trim_end_matches('/')),
        dir,
        mntopts: mntopts.map(str::to_string),
        problem,
        usable,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xcat::Db;

    fn db() -> (tempfile::TempDir, Db) {
        Db::with_tables(&[
            (
                "nodelist",
                "#node,groups,comments,disable\n\"cn1\",\"lx\",,\n",
            ),
            (
                "noderes",
                "#node,nfsserver,xcatmaster,comments,disable\n\"lx\",\"nfs1\",,,\n",
            ),
            (
                "nodetype",
                "#node,os,profile,comments,disable\n\"cn1\",\"rhels8\",\"compute\",,\n",
            ),
            ("site", "#key,value,comments,disable\n"),
        ])
    }

    fn linux_of(value: &str) -> Statemnt {
        let (_d, db) = db();
        let r = Resolver::new(&db);
        linux(value, None, "cn1", &r).unwrap()
    }

    #[test]
    fn r7_plain_value_is_verbatim_and_r9_appends_the_node() {
        let s = linux_of("nfs1:/state");
        assert_eq!(s.kernel, "nfs1:/state");
        assert_eq!(s.server.as_deref(), Some("nfs1"));
        assert_eq!(
            (s.dir.as_str(), s.node_dir.as_str()),
            ("/state", "/state/cn1")
        );
        assert!(s.usable && s.problem.is_none());
    }

    #[test]
    fn r7_variables_in_server_and_dir() {
        let s = linux_of("$noderes.nfsserver:/lite/state/$nodetype.profile");
        assert_eq!(s.kernel, "nfs1:/lite/state/compute");
        assert_eq!(s.server.as_deref(), Some("nfs1"));
        assert_eq!(s.dir, "/lite/state/compute");
        assert!(s.usable);
    }

    #[test]
    fn t1_literal_server_with_a_variable_dir_breaks_the_mount() {
        let s = linux_of("10.0.0.1:/state/$nodetype.profile");
        assert_eq!(s.kernel, "/10.0.0.1:/state/compute");
        assert!(!s.usable && s.server.is_none());
        assert!(s.problem.unwrap().contains("not a host name"));
    }

    #[test]
    fn t2_variable_dir_without_server_lives_in_memory() {
        let s = linux_of("/state/$nodetype.profile");
        assert_eq!(s.kernel, ":/state/compute");
        assert!(!s.usable);
        assert!(s.problem.unwrap().contains("live in memory"));
    }

    #[test]
    fn t3_plain_path_is_taken_as_the_server() {
        let s = linux_of("/state");
        assert_eq!(node_side(&s.kernel).0, "/state");
        assert!(!s.usable);
        assert!(s.problem.unwrap().contains("drops to a shell"));
    }

    #[test]
    fn t4_node_name_in_the_path_is_doubled() {
        let s = linux_of("$noderes.nfsserver:/state/$node");
        assert_eq!(s.node_dir, "/state/cn1/cn1");
        assert!(s.usable);
        assert!(s.problem.unwrap().contains("appends its own"));
    }

    #[test]
    fn t5_text_glued_to_a_variable_is_another_table() {
        let (_d, db) = db();
        let r = Resolver::new(&db);
        let e = linux("nfs1:/state/$node-x", None, "cn1", &r).unwrap_err();
        assert!(e.to_string().contains("table `node-x`"), "{e}");
    }

    #[test]
    fn t6_unset_attribute_is_undefined_and_not_usable() {
        let s = linux_of("$noderes.nfsserver:/state/$noderes.xcatmaster");
        assert_eq!(s.dir, "/state/UNDEFINED");
        assert!(!s.usable && s.server.as_deref() == Some("nfs1"));
        assert!(s.problem.unwrap().contains("UNDEFINED"));
    }

    #[test]
    fn cmd_segments_are_reported_never_run() {
        let (_d, db) = db();
        let r = Resolver::new(&db);
        let e = linux("nfs1:/state/#CMD=hostname#/$node", None, "cn1", &r).unwrap_err();
        assert!(e.to_string().contains("#CMD="), "{e}");
    }

    #[test]
    fn node_side_splits_at_the_last_colon_and_first_slash() {
        assert_eq!(node_side("a:b:/x/y"), ("a:b", "x/y"));
        assert_eq!(node_side(":/s"), ("", "s"));
    }

    #[test]
    fn aix_strips_the_slash_subvars_adds() {
        let (_d, db) = db();
        let r = Resolver::new(&db);
        let s = aix("10.0.0.1:/state/$node", None, "cn1", &r).unwrap();
        assert_eq!(s.server.as_deref(), Some("10.0.0.1"));
        assert_eq!(s.dir, "/state/cn1");
    }
}
