//! `litetree` and `litefile` rows as xCAT's litetree command serves them to a node at boot:
//! which rows apply to an image, litetree in priority order, litefile merged with defaults.

use serde::Serialize;

use crate::xcat::subvars::{self, SubVarsError};
use crate::xcat::{Resolver, Table, TableError};

/// One litetree directory of a node, in search order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LiteTree {
    pub priority: String,
    /// The value in the table.
    pub value: String,
    /// `None`: the node never mounts it (RC:143).
    pub server: Option<String>,
    pub dir: String,
    /// `litetree.mntopts`: honoured by AIX, ignored by Linux (its options are fixed).
    pub mntopts: Option<String>,
}

/// One litefile entry of an image, after the merge.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LiteFile {
    pub path: String,
    pub options: String,
    /// The `image` value of the row that won (`""` for a blank one).
    pub from: String,
}

/// A row that cannot be used; the node fails with it.
#[derive(Debug, thiserror::Error)]
pub enum LiteError {
    #[error(transparent)]
    Table(#[from] TableError),
    #[error("litetree priority {priority}: directory `{value}`: {source}")]
    Directory {
        priority: String,
        value: String,
        #[source]
        source: Box<SubVarsError>,
    },
    #[error("litetree priority `{0}` is not a number")]
    Priority(String),
    #[error("litefile image `{image}` file `{file}`: unknown option `{option}` (liteimg refuses it; {os} knows {known})")]
    Option {
        image: String,
        file: String,
        option: String,
        os: &'static str,
        known: String,
    },
    #[error("litefile image `{image}` file `{file}`: not an absolute path")]
    Path { image: String, file: String },
}

/// The litefile options liteimg accepts on Linux (SL:287-301) and aixlitesetup on AIX.
pub const LINUX_OPTIONS: [&str; 12] = [
    "tmpfs",
    "rw",
    "tempfs",
    "link",
    "tmpfs,rw",
    "persistent",
    "link,persistent",
    "ro",
    "link,ro",
    "con",
    "link,con",
    "localdisk",
];
pub const AIX_OPTIONS: [&str; 3] = ["rw", "persistent", "ro"];

/// The rank of a row's `image` value for an image, in litefile merge order (§4.1): the
/// `osimage.groups` string, blank, `ALL`, the image; `None` when the row is for another image.
pub fn rank(row_image: Option<&str>, image: &str, groups: Option<&str>) -> Option<u8> {
    match row_image {
        None => Some(1),
        Some(v) if Some(v) == groups => Some(0),
        Some("ALL") => Some(2),
        Some(v) if v == image => Some(3),
        Some(_) => None,
    }
}

/// The litetree directories for a node of `image`, smallest priority first, variables
/// substituted (the server only when it has one, LT:219-229).
pub fn litetree(
    table: &Table,
    node: &str,
    image: &str,
    groups: Option<&str>,
    resolver: &Resolver<'_>,
) -> Result<Vec<LiteTree>, LiteError> {
    let (p, i, d) = (
        table.column("priority")?,
        table.column("image")?,
        table.column("directory")?,
    );
    let m = table
        .has_column("mntopts")
        .then(|| table.column("mntopts"))
        .transpose()?;
    let mut out = Vec::new();
    for row in 0..table.len() {
        if rank(table.value(row, i), image, groups).is_none() {
            continue;
        }
        let (Some(priority), Some(value)) = (table.value(row, p), table.value(row, d)) else {
            continue;
        };
        let number: f64 = priority
            .trim()
            .parse()
            .map_err(|_| LiteError::Priority(priority.to_string()))?;
        let (server, dir) =
            subvars::litetree_directory(value, node, resolver).map_err(|source| {
                LiteError::Directory {
                    priority: priority.to_string(),
                    value: value.to_string(),
                    source: Box::new(source),
                }
            })?;
        if dir.contains("#CMD") || server.as_deref().is_some_and(|s| s.contains("#CMD")) {
            return Err(LiteError::Directory {
                priority: priority.to_string(),
                value: value.to_string(),
                source: Box::new(SubVarsError::Command {
                    value: value.to_string(),
                }),
            });
        }
        out.push((
            number,
            LiteTree {
                priority: priority.to_string(),
                value: value.to_string(),
                server,
                dir,
                mntopts: m.and_then(|m| table.value(row, m)).map(str::to_string),
            },
        ));
    }
    out.sort_by(|a, b| a.0.total_cmp(&b.0));
    Ok(out.into_iter().map(|(_, t)| t).collect())
}

/// The litefile entries of an image: rows merged groups < blank < ALL < image (a later row
/// for the same file wins), empty options defaulted (`tmpfs,rw` on Linux, `rw` on AIX), and
/// on Linux `/etc/mtab` forced to `tmpfs,rw` or added as `link` (LT:341-416).
pub fn litefile(
    table: &Table,
    image: &str,
    groups: Option<&str>,
    aix: bool,
) -> Result<Vec<LiteFile>, LiteError> {
    let (i, f) = (table.column("image")?, table.column("file")?);
    let o = table
        .has_column("options")
        .then(|| table.column("options"))
        .transpose()?;
    let mut rows: Vec<(u8, usize)> = (0..table.len())
        .filter_map(|row| rank(table.value(row, i), image, groups).map(|r| (r, row)))
        .collect();
    rows.sort_by_key(|&(r, row)| (r, row));
    let mut out: Vec<LiteFile> = Vec::new();
    let (default, known): (&str, &[&str]) = match aix {
        true => ("rw", &AIX_OPTIONS),
        false => ("tmpfs,rw", &LINUX_OPTIONS),
    };
    for (_, row) in rows {
        let Some(path) = table.value(row, f) else {
            continue;
        };
        let from = table.value(row, i).unwrap_or("").to_string();
        if !path.starts_with('/') {
            return Err(LiteError::Path {
                image: from,
                file: path.to_string(),
            });
        }
        let options = o
            .and_then(|o| table.value(row, o))
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| default.to_string());
        if !known.contains(&options.as_str()) {
            return Err(LiteError::Option {
                image: from,
                file: path.to_string(),
                option: options,
                os: if aix { "AIX" } else { "Linux" },
                known: known.join(" | "),
            });
        }
        let entry = LiteFile {
            path: path.to_string(),
            options,
            from,
        };
        match out.iter_mut().find(|e| e.path == entry.path) {
            Some(have) => *have = entry,
            None => out.push(entry),
        }
    }
    if !aix {
        match out.iter_mut().find(|e| e.path == "/etc/mtab") {
            Some(mtab) => mtab.options = "tmpfs,rw".to_string(),
            None => out.push(LiteFile {
                path: "/etc/mtab".to_string(),
                options: "link".to_string(),
                from: "(added by xCAT)".to_string(),
            }),
        }
    }
    Ok(out)
}

/// Whether the option takes the file from a litetree directory (or `.default`) read-only or
/// by concatenation: the entries a missing litetree copy silently turns into `.default`.
pub fn wants_litetree(options: &str) -> bool {
    matches!(options, "ro" | "link,ro" | "con" | "link,con")
}

/// Whether the option keeps the file in the node's statemnt directory.
pub fn is_persistent(options: &str) -> bool {
    matches!(options, "persistent" | "link,persistent")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xcat::Db;

    fn db(extra: &[(&str, &str)]) -> (tempfile::TempDir, Db) {
        let base = [
            (
                "nodelist",
                "#node,groups,comments,disable\n\"cn1\",\"lx\",,\n",
            ),
            (
                "noderes",
                "#node,nfsserver,comments,disable\n\"lx\",\"nfs1\",,\n",
            ),
            ("site", "#key,value,comments,disable\n"),
        ];
        Db::with_tables(&[&base[..], extra].concat())
    }

    #[test]
    fn litetree_rows_for_the_image_in_numeric_priority_order() {
        // §4.1: groups string, blank, ALL, the image; ascending numeric priority (LT:207).
        let lt = "#priority,image,directory,mntopts,comments,disable\n\
            \"10\",\"img\",\"nfs1:/tree/ten\",,,\n\
            \"9\",,\"$noderes.nfsserver:/tree/$node\",,,\n\
            \"2\",\"ALL\",\"/local/only\",,,\n\
            \"100\",\"grp\",\"nfs2:/tree/grp\",\"soft\",,\n\
            \"1\",\"other\",\"nfs1:/tree/other\",,,\n\
            \"3\",\"img\",\"nfs1:/off\",,,\"1\"\n";
        let (_d, db) = db(&[("litetree", lt)]);
        let r = Resolver::new(&db);
        let t = litetree(
            &db.table("litetree").unwrap(),
            "cn1",
            "img",
            Some("grp"),
            &r,
        )
        .unwrap();
        let got: Vec<(&str, Option<&str>, &str)> = t
            .iter()
            .map(|t| (t.priority.as_str(), t.server.as_deref(), t.dir.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                ("2", None, "/local/only"),
                ("9", Some("nfs1"), "/tree/cn1"),
                ("10", Some("nfs1"), "/tree/ten"),
                ("100", Some("nfs2"), "/tree/grp"),
            ]
        );
        assert_eq!(t[3].mntopts.as_deref(), Some("soft"));
    }

    #[test]
    fn litetree_with_a_command_fails_the_node() {
        let lt =
            "#priority,image,directory,mntopts,comments,disable\n\"1\",,\"nfs1:/t/#CMD=id#\",,,\n";
        let (_d, db) = db(&[("litetree", lt)]);
        let r = Resolver::new(&db);
        let e = litetree(&db.table("litetree").unwrap(), "cn1", "img", None, &r).unwrap_err();
        assert!(
            e.to_string().contains("priority 1") && e.to_string().contains("#CMD="),
            "{e}"
        );
    }

    #[test]
    fn litefile_merges_groups_blank_all_image_and_defaults() {
        // §4.1: a later row for the same path wins; empty option is tmpfs,rw (LT:385-392).
        let lf = "#image,file,options,comments,disable\n\
            \"img\",\"/etc/hosts\",\"ro\",,\n\
            \"ALL\",\"/etc/hosts\",\"persistent\",,\n\
            ,\"/etc/hosts\",\"con\",,\n\
            \"grp\",\"/etc/hosts\",\"link\",,\n\
            \"ALL\",\"/var/log/\",,,\n\
            \"grp\",\"/etc/mtab\",\"persistent\",,\n\
            \"other\",\"/opt/x\",\"ro\",,\n";
        let (_d, db) = db(&[("litefile", lf)]);
        let f = litefile(&db.table("litefile").unwrap(), "img", Some("grp"), false).unwrap();
        let got: Vec<(&str, &str)> = f
            .iter()
            .map(|e| (e.path.as_str(), e.options.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                ("/etc/hosts", "ro"),
                ("/etc/mtab", "tmpfs,rw"),
                ("/var/log/", "tmpfs,rw"),
            ]
        );
    }

    #[test]
    fn litefile_adds_mtab_on_linux_only_and_defaults_rw_on_aix() {
        let lf = "#image,file,options,comments,disable\n\"ALL\",\"/etc/x\",,,\n";
        let (_d, db) = db(&[("litefile", lf)]);
        let t = db.table("litefile").unwrap();
        let linux = litefile(&t, "img", None, false).unwrap();
        assert_eq!(linux[1].path, "/etc/mtab");
        assert_eq!(linux[1].options, "link");
        let aix = litefile(&t, "img", None, true).unwrap();
        assert_eq!(aix.len(), 1);
        assert_eq!(aix[0].options, "rw");
    }

    #[test]
    fn litefile_unknown_option_names_image_file_and_option() {
        let lf = "#image,file,options,comments,disable\n\"img\",\"/etc/x\",\"rw,ro\",,\n";
        let (_d, db) = db(&[("litefile", lf)]);
        let e = litefile(&db.table("litefile").unwrap(), "img", None, false).unwrap_err();
        let e = e.to_string();
        assert!(
            e.contains("`img`") && e.contains("/etc/x") && e.contains("`rw,ro`"),
            "{e}"
        );
    }
}
