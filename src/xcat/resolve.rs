//! Node attribute resolution as xCAT's `getNodeAttribs` does it: node row, then the groups of
//! `nodelist.groups` in order (first non-empty value wins), then the regular-expression transform.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex, OnceLock};

use super::regexattr::{Compiled, RegexAttrError};
use super::table::{Db, Table, TableError};

/// A node attribute that cannot be resolved.
#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    #[error(transparent)]
    Table(#[from] TableError),
    #[error("node {node} is not defined: it has no (enabled) row in the nodelist table")]
    NoNode { node: String },
    #[error("node {node}: {table}.{column} = `{value}`: {source}")]
    Regex {
        node: String,
        table: String,
        column: String,
        value: String,
        #[source]
        source: Box<RegexAttrError>,
    },
}

/// The nodes defined in `nodelist` and their groups.
#[derive(Debug, Default)]
pub struct NodeList {
    /// Node names in table order.
    pub nodes: Vec<String>,
    groups: HashMap<String, Vec<String>>,
    members: HashMap<String, Vec<String>>,
}

impl NodeList {
    /// Reads the enabled rows of the `nodelist` table.
    pub fn from_table(table: &Table) -> Result<NodeList, TableError> {
        let n = table.column("node")?;
        let g = table.column("groups")?;
        let mut list = NodeList::default();
        for row in 0..table.len() {
            let Some(node) = table.value(row, n) else {
                continue;
            };
            if list.groups.contains_key(node) {
                continue;
            }
            // xCAT splits on `,` without trimming, so "a, b" names the group " b".
            let groups: Vec<String> = table
                .value(row, g)
                .map(|s| s.split(',').map(str::to_string).collect())
                .unwrap_or_default();
            for group in &groups {
                list.members
                    .entry(group.clone())
                    .or_default()
                    .push(node.to_string());
            }
            list.nodes.push(node.to_string());
            list.groups.insert(node.to_string(), groups);
        }
        Ok(list)
    }

    pub fn contains(&self, node: &str) -> bool {
        self.groups.contains_key(node)
    }

    /// The groups of a node, in `nodelist.groups` order (`None`: no such node).
    pub fn groups(&self, node: &str) -> Option<&[String]> {
        self.groups.get(node).map(Vec::as_slice)
    }

    /// The nodes whose `nodelist.groups` names `group` (empty when none).
    pub fn members(&self, group: &str) -> &[String] {
        self.members.get(group).map_or(&[], Vec::as_slice)
    }

    pub fn is_group(&self, name: &str) -> bool {
        self.members.contains_key(name)
    }
}

/// Resolves node attributes from one database, caching the node list and compiled values.
#[derive(Debug)]
pub struct Resolver<'db> {
    db: &'db Db,
    nodelist: OnceLock<Arc<NodeList>>,
    hierarchical: OnceLock<HashMap<String, String>>,
    compiled: Mutex<HashMap<String, Arc<Compiled>>>,
}

impl<'db> Resolver<'db> {
    pub fn new(db: &'db Db) -> Resolver<'db> {
        Resolver {
            db,
            nodelist: OnceLock::new(),
            hierarchical: OnceLock::new(),
            compiled: Mutex::new(HashMap::new()),
        }
    }

    pub fn db(&self) -> &'db Db {
        self.db
    }

    /// The node list (read once).
    pub fn nodelist(&self) -> Result<Arc<NodeList>, TableError> {
        if let Some(list) = self.nodelist.get() {
            return Ok(list.clone());
        }
        let list = Arc::new(NodeList::from_table(self.db.table("nodelist")?.as_ref())?);
        Ok(self.nodelist.get_or_init(|| list).clone())
    }

    /// One attribute of one node, fully resolved; `None` when unset.
    pub fn attr(
        &self,
        node: &str,
        table: &str,
        column: &str,
    ) -> Result<Option<String>, ResolveError> {
        Ok(self.attrs(node, table, &[column])?.pop().flatten())
    }

    /// Several attributes of one table for one node, in the order asked.
    pub fn attrs(
        &self,
        node: &str,
        table: &str,
        columns: &[&str],
    ) -> Result<Vec<Option<String>>, ResolveError> {
        let raw = self.raw_attrs(node, table, columns)?;
        raw.into_iter()
            .zip(columns)
            .map(|(value, column)| match value {
                None => Ok(None),
                Some(v) => self.transform(node, table, column, &v),
            })
            .collect()
    }

    /// The inherited values before the regular-expression transform (xCAT's `keep_raw`).
    pub fn raw_attrs(
        &self,
        node: &str,
        table: &str,
        columns: &[&str],
    ) -> Result<Vec<Option<String>>, ResolveError> {
        let nodelist = self.nodelist()?;
        let Some(groups) = nodelist.groups(node) else {
            return Err(ResolveError::NoNode {
                node: node.to_string(),
            });
        };
        let tab = self.db.table(table)?;
        let key = tab.column("node")?;
        let cols = columns
            .iter()
            .map(|c| tab.column(c))
            .collect::<Result<Vec<_>, _>>()?;
        let node_row = tab.find(key, node);
        let mut out: Vec<Option<String>> = cols
            .iter()
            .map(|&c| node_row.and_then(|r| tab.value(r, c)).map(str::to_string))
            .collect();
        // The nodelist table never inherits from groups.
        if table == "nodelist" {
            return Ok(out);
        }
        let hierarchical = self.hierarchical()?;
        for (i, &c) in cols.iter().enumerate() {
            match hierarchical.get(columns[i]) {
                Some(delim) => {
                    out[i] = hierarchical_value(&tab, key, c, node_row, groups, delim);
                }
                None if out[i].is_none() => {
                    out[i] = groups
                        .iter()
                        .find_map(|g| tab.find(key, g).and_then(|r| tab.value(r, c)))
                        .map(str::to_string);
                }
                None => {}
            }
        }
        Ok(out)
    }

    fn transform(
        &self,
        node: &str,
        table: &str,
        column: &str,
        value: &str,
    ) -> Result<Option<String>, ResolveError> {
        let regex_error = |source| ResolveError::Regex {
            node: node.to_string(),
            table: table.to_string(),
            column: column.to_string(),
            value: value.to_string(),
            source: Box::new(source),
        };
        let compiled = {
            let mut cache = self.compiled.lock().unwrap_or_else(|e| e.into_inner());
            match cache.get(value) {
                Some(c) => c.clone(),
                None => {
                    let c = Arc::new(Compiled::new(value).map_err(regex_error)?);
                    cache.insert(value.to_string(), c.clone());
                    c
                }
            }
        };
        compiled.apply(node).map_err(regex_error)
    }

    /// `site.hierarchicalattrs`: `attr[:delim],attr2[:delim]`, default delimiter `,`.
    fn hierarchical(&self) -> Result<&HashMap<String, String>, TableError> {
        if let Some(h) = self.hierarchical.get() {
            return Ok(h);
        }
        let mut map = HashMap::new();
        if let Some(spec) = self.db.site("hierarchicalattrs")? {
            for item in spec.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                let (attr, delim) = item.split_once(':').unwrap_or((item, ","));
                map.insert(attr.to_string(), delim.to_string());
            }
        }
        Ok(self.hierarchical.get_or_init(|| map))
    }
}

/// The node value and every group value, joined in order, duplicates dropped.
fn hierarchical_value(
    tab: &Table,
    key: usize,
    col: usize,
    node_row: Option<usize>,
    groups: &[String],
    delim: &str,
) -> Option<String> {
    let mut seen = BTreeSet::new();
    let parts: Vec<&str> = node_row
        .into_iter()
        .chain(groups.iter().filter_map(|g| tab.find(key, g)))
        .filter_map(|r| tab.value(r, col))
        .filter(|v| seen.insert(*v))
        .collect();
    (!parts.is_empty()).then(|| parts.join(delim))
}

#[cfg(test)]
mod tests {
    use super::*;

    const NODELIST: &str = "#node,groups,status,comments,disable\n\
        \"cn001\",\"compute,aix\",,,\n\
        \"cn002\",\"aix,compute\",,,\n\
        \"cn003\",\"compute, rack1\",,,\n\
        \"cn004\",\"compute\",,,\"1\"\n";

    #[test]
    fn node_value_then_first_group_wins() {
        let noderes = "#node,servicenode,nfsserver,xcatmaster,comments,disable\n\
            \"compute\",\"sn1\",\"nfs-c\",\"sn1\",,\n\
            \"aix\",\"sn2\",\"nfs-a\",,,\n\
            \"cn001\",,\"\",\"mst\",,\n";
        let (_d, db) = Db::with_tables(&[("nodelist", NODELIST), ("noderes", noderes)]);
        let r = Resolver::new(&db);
        // Empty node value does not hide the group value.
        assert_eq!(
            r.attr("cn001", "noderes", "nfsserver").unwrap().as_deref(),
            Some("nfs-c")
        );
        assert_eq!(
            r.attr("cn002", "noderes", "nfsserver").unwrap().as_deref(),
            Some("nfs-a")
        );
        // Per attribute: cn002 gets servicenode from aix, xcatmaster from compute.
        let v = r
            .attrs("cn002", "noderes", &["servicenode", "xcatmaster"])
            .unwrap();
        assert_eq!(v, [Some("sn2".into()), Some("sn1".into())]);
        assert_eq!(
            r.attr("cn001", "noderes", "xcatmaster").unwrap().as_deref(),
            Some("mst")
        );
    }

    #[test]
    fn groups_are_not_trimmed_and_disabled_nodes_do_not_exist() {
        let noderes = "#node,nfsserver,comments,disable\n\"rack1\",\"x\",,\n\" rack1\",\"y\",,\n";
        let (_d, db) = Db::with_tables(&[("nodelist", NODELIST), ("noderes", noderes)]);
        let r = Resolver::new(&db);
        assert_eq!(
            r.attr("cn003", "noderes", "nfsserver").unwrap().as_deref(),
            Some("y")
        );
        let e = r
            .attr("cn004", "noderes", "nfsserver")
            .unwrap_err()
            .to_string();
        assert!(e.contains("node cn004 is not defined"), "{e}");
    }

    #[test]
    fn regex_applies_after_inheritance() {
        let noderes =
            "#node,nfsserver,comments,disable\n\"compute\",\"|cn(\\d+)|nfs($1%2+1)|\",,\n";
        let (_d, db) = Db::with_tables(&[("nodelist", NODELIST), ("noderes", noderes)]);
        let r = Resolver::new(&db);
        assert_eq!(
            r.attr("cn001", "noderes", "nfsserver").unwrap().as_deref(),
            Some("nfs2")
        );
        assert_eq!(
            r.attr("cn002", "noderes", "nfsserver").unwrap().as_deref(),
            Some("nfs1")
        );
        assert_eq!(
            r.raw_attrs("cn001", "noderes", &["nfsserver"]).unwrap()[0].as_deref(),
            Some("|cn(\\d+)|nfs($1%2+1)|")
        );
    }

    #[test]
    fn empty_regex_result_is_unset_without_fallback() {
        let noderes =
            "#node,nfsserver,comments,disable\n\"compute\",\"|cn001||\",,\n\"aix\",\"z\",,\n";
        let (_d, db) = Db::with_tables(&[("nodelist", NODELIST), ("noderes", noderes)]);
        let r = Resolver::new(&db);
        assert_eq!(r.attr("cn001", "noderes", "nfsserver").unwrap(), None);
    }

    #[test]
    fn bad_regex_names_node_table_column_value() {
        let noderes = "#node,nfsserver,comments,disable\n\"compute\",\"|cn(|x|\",,\n";
        let (_d, db) = Db::with_tables(&[("nodelist", NODELIST), ("noderes", noderes)]);
        let e = Resolver::new(&db)
            .attr("cn001", "noderes", "nfsserver")
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("node cn001: noderes.nfsserver = `|cn(|x|`: pattern `cn(`"),
            "{e}"
        );
    }

    #[test]
    fn hierarchical_attributes_concatenate() {
        let site = "#key,value,comments,disable\n\"hierarchicalattrs\",\"postscripts\",,\n";
        let ps = "#node,postscripts,postbootscripts,comments,disable\n\
            \"cn001\",\"a\",\"n\",,\n\"compute\",\"b\",\"c\",,\n\"aix\",\"a\",\"d\",,\n";
        let (_d, db) =
            Db::with_tables(&[("nodelist", NODELIST), ("site", site), ("postscripts", ps)]);
        let r = Resolver::new(&db);
        let v = r
            .attrs("cn001", "postscripts", &["postscripts", "postbootscripts"])
            .unwrap();
        assert_eq!(v, [Some("a,b".into()), Some("n".into())]);
    }

    #[test]
    fn unknown_column_is_an_error() {
        let (_d, db) = Db::with_tables(&[("nodelist", NODELIST), ("noderes", "#node,nfsserver\n")]);
        let e = Resolver::new(&db)
            .attr("cn001", "noderes", "nfsservr")
            .unwrap_err()
            .to_string();
        assert!(e.contains("no column `nfsservr`"), "{e}");
    }
}
