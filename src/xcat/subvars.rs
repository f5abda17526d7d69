//! `$table.column` substitution as xCAT's `SvrUtils::subVars` applies it to
//! `statelite.statemnt` and `litetree.directory` (`$node`, `$site.X`, `UNDEFINED` when unset).

use super::resolve::{ResolveError, Resolver};

/// How a substituted value is assembled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A directory: every `/`-separated component is emitted as `/<component>`.
    Dir,
    /// A server name: a component with a variable is emitted without the leading `/`.
    Server,
}

/// A value whose variables cannot be substituted.
#[derive(Debug, thiserror::Error)]
pub enum SubVarsError {
    #[error("`{value}`: `${part}` names table `{table}`, which does not exist")]
    NoTable {
        value: String,
        part: String,
        table: String,
    },
    #[error(
        "`{value}`: #CMD= segments (shell commands run by xCAT) are not evaluated by this tool"
    )]
    Command { value: String },
    #[error(transparent)]
    Resolve(#[from] ResolveError),
}

/// Substitutes the variables of `value` for `node`, exactly as `subVars` does.
pub fn subvars(
    value: &str,
    node: &str,
    kind: Kind,
    resolver: &Resolver<'_>,
) -> Result<String, SubVarsError> {
    let mut out = String::new();
    for component in perl_split_slash(value) {
        let Some(dollar) = component.find('$') else {
            out.push('/');
            out.push_str(component);
            continue;
        };
        let pre = &component[..dollar];
        let tok_end = component[dollar..]
            .find(['#', ' '])
            .map_or(component.len(), |i| i + dollar);
        let (tok, suf) = (&component[dollar..tok_end], &component[tok_end..]);
        let mut parts = Vec::new();
        for part in tok.split('$').filter(|p| !p.is_empty()) {
            parts.push(lookup(value, part, node, resolver)?);
        }
        let val = parts.join(".");
        if kind == Kind::Dir {
            out.push('/');
        }
        out.push_str(pre);
        out.push_str(&val);
        out.push_str(suf);
    }
    if out.contains("#CMD=") {
        return Err(SubVarsError::Command {
            value: value.to_string(),
        });
    }
    Ok(out)
}

fn lookup(
    value: &str,
    part: &str,
    node: &str,
    resolver: &Resolver<'_>,
) -> Result<String, SubVarsError> {
    if part == "node" {
        return Ok(node.to_string());
    }
    let mut fields = part.split('.');
    let table = fields.next().unwrap_or("");
    let column = fields
        .next()
        .filter(|c| !c.is_empty())
        .unwrap_or("UNDEFINED");
    let db = resolver.db();
    let found = if table == "site" {
        db.site(column).map_err(ResolveError::from)?
    } else {
        match db.optional_table(table).map_err(ResolveError::from)? {
            None => {
                return Err(SubVarsError::NoTable {
                    value: value.to_string(),
                    part: part.to_string(),
                    table: table.to_string(),
                })
            }
            Some(_) => resolver.attr(node, table, column)?,
        }
    };
    // xCAT tests the value with Perl truth, so "0" also becomes UNDEFINED.
    Ok(found
        .filter(|v| !v.is_empty() && v != "0")
        .unwrap_or_else(|| "UNDEFINED".to_string()))
}

/// Perl's `split("/", s)`: trailing empty fields dropped, leading ones kept.
fn perl_split_slash(s: &str) -> Vec<&str> {
    let mut parts: Vec<&str> = s.split('/').collect();
    while parts.last() == Some(&"") {
        parts.pop();
    }
    parts
}

/// The statemnt value a node receives on its kernel command line (anaconda/sles/debian):
/// verbatim unless it holds `$`; otherwise split on `:`, the directory substituted with `//`
/// collapsed, and the server (when present) substituted too.
///
/// xCAT runs the server part through `subVars` even when it has no variable, which turns a
/// plain `nfs1` into `/nfs1`; that is reproduced here, since it is what the node is given.
pub fn statemnt(value: &str, node: &str, resolver: &Resolver<'_>) -> Result<String, SubVarsError> {
    if !value.contains('$') {
        return Ok(value.to_string());
    }
    let (server, dir) = server_and_dir(value, node, resolver)?;
    let server = if server.is_empty() {
        String::new()
    } else {
        subvars(server, node, Kind::Server, resolver)?
    };
    Ok(format!("{server}:{dir}"))
}

/// A `litetree.directory` for a node, as the litetree command reports it: `(server, dir)`,
/// the server substituted only when it holds `$`.
pub fn litetree_directory(
    value: &str,
    node: &str,
    resolver: &Resolver<'_>,
) -> Result<(Option<String>, String), SubVarsError> {
    let (server, dir) = server_and_dir(value, node, resolver)?;
    let server = match server {
        "" => None,
        s if s.contains('$') => Some(subvars(s, node, Kind::Server, resolver)?),
        s => Some(s.to_string()),
    };
    Ok((server, dir))
}

/// `server:dir` split as xCAT splits it (`split(/:/)`; a value without a second part is all
/// directory), with the directory substituted and `//` collapsed when it has a variable.
fn server_and_dir<'v>(
    value: &'v str,
    node: &str,
    resolver: &Resolver<'_>,
) -> Result<(&'v str, String), SubVarsError> {
    let mut fields = value.split(':');
    let first = fields.next().unwrap_or("");
    let (server, dir) = match fields.next().filter(|d| !d.is_empty()) {
        Some(dir) => (first, dir),
        None => ("", first),
    };
    let dir = if dir.contains('$') || dir.contains("#CMD") {
        collapse(&subvars(dir, node, Kind::Dir, resolver)?)
    } else {
        dir.to_string()
    };
    Ok((server, dir))
}

/// `s/\/\//\//g`: each `//` becomes `/` in one left-to-right pass.
fn collapse(s: &str) -> String {
    s.replace("//", "/")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xcat::table::Db;

    fn fixture() -> (tempfile::TempDir, Db) {
        Db::with_tables(&[
            (
                "nodelist",
                "#node,groups,comments,disable\n\"cn1\",\"compute\",,\n",
            ),
            (
                "noderes",
                "#node,nfsserver,xcatmaster,comments,disable\n\"compute\",\"nfs1\",,,\n",
            ),
            (
                "nodetype",
                "#node,os,profile,comments,disable\n\"cn1\",\"rhels8\",\"compute\",,\n",
            ),
            (
                "site",
                "#key,value,comments,disable\n\"domain\",\"cluster\",,\n\"zero\",\"0\",,\n",
            ),
        ])
    }

    #[test]
    fn substitutes_like_xcat() {
        let (_d, db) = fixture();
        let r = Resolver::new(&db);
        let s = |v, k| subvars(v, "cn1", k, &r).unwrap();
        assert_eq!(
            s("/lite/state/$nodetype.profile", Kind::Dir),
            "//lite/state/compute"
        );
        assert_eq!(s("$noderes.nfsserver", Kind::Server), "nfs1");
        assert_eq!(s("/st/$node$site.domain", Kind::Dir), "//st/cn1.cluster");
        assert_eq!(
            s("/st/x$noderes.xcatmaster y", Kind::Dir),
            "//st/xUNDEFINED y"
        );
        assert_eq!(s("/st/$site.zero", Kind::Dir), "//st/UNDEFINED");
        // xCAT would insert UNDEFINED for a column that does not exist; a typo is better
        // reported than turned into a path.
        let e = subvars("/st/$nodetype", "cn1", Kind::Dir, &r)
            .unwrap_err()
            .to_string();
        assert!(e.contains("no column `UNDEFINED`"), "{e}");
    }

    #[test]
    fn statemnt_and_litetree_forms() {
        let (_d, db) = fixture();
        let r = Resolver::new(&db);
        assert_eq!(
            statemnt(
                "$noderes.nfsserver:/lite/state/$nodetype.profile",
                "cn1",
                &r
            )
            .unwrap(),
            "nfs1:/lite/state/compute"
        );
        assert_eq!(
            statemnt("10.0.0.1:/state", "cn1", &r).unwrap(),
            "10.0.0.1:/state"
        );
        assert_eq!(statemnt("/state/$node", "cn1", &r).unwrap(), ":/state/cn1");
        assert_eq!(
            statemnt("nfs1:/state/$node", "cn1", &r).unwrap(),
            "/nfs1:/state/cn1"
        );
        assert_eq!(
            litetree_directory("nfs1:/tree/$node", "cn1", &r).unwrap(),
            (Some("nfs1".into()), "/tree/cn1".into())
        );
        assert_eq!(
            litetree_directory("/tree", "cn1", &r).unwrap(),
            (None, "/tree".into())
        );
    }

    #[test]
    fn errors_name_the_value() {
        let (_d, db) = fixture();
        let r = Resolver::new(&db);
        let e = subvars("/x/$node.suffix", "cn1", Kind::Dir, &r)
            .unwrap_err()
            .to_string();
        assert!(e.contains("table `node`, which does not exist"), "{e}");
        let e = subvars("/x/#CMD=hostname#", "cn1", Kind::Dir, &r)
            .unwrap_err()
            .to_string();
        assert!(e.contains("#CMD="), "{e}");
    }
}
