//! Parts and their union: the part each SN keeps on the server (its exports of the paths it
//! synced), and the merged exports of all parts that the server's configuration comes from.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use super::error::{ExportsError, Unsupported};
use super::local::SnExports;
use super::model::{validate_path, Access, Client, ClientAccess, Entry, Export, Sec};
use super::role::{Published, Role};

/// The version of the part file format.
pub const PART_FORMAT: u32 = 1;

/// What one SN publishes on the server: the paths the sync put there (so they can be
/// refreshed later) and the exports computed for them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Part {
    pub format: u32,
    pub sn: String,
    /// The published paths, in path order, each with its nodes (sorted).
    pub published: Vec<Published>,
    /// The exports, in path order: a published path itself, or the exported paths below it.
    pub exports: Vec<PartExport>,
}

/// One exported path of a part.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartExport {
    pub role: Role,
    /// The exports lines it came from, or `NIM default`.
    pub source: String,
    pub export: Export,
}

impl Part {
    /// The file text: pretty JSON, deterministic because every collection is ordered.
    pub fn to_json(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).expect("a part always serialises");
        text.push('\n');
        text
    }

    pub fn from_json(text: &str) -> Result<Part, String> {
        let part: Part = serde_json::from_str(text).map_err(|e| e.to_string())?;
        match part.format {
            PART_FORMAT => Ok(part),
            n => Err(format!(
                "part format {n} is not {PART_FORMAT} (written by another version)"
            )),
        }
    }
}

/// Everything the SN's new part is computed from.
pub struct PartInput<'a> {
    pub sn: &'a str,
    /// The SN's part as the server has it.
    pub previous: Option<&'a Part>,
    /// The paths just synced.
    pub published: &'a [Published],
    pub exports: &'a SnExports,
    /// Host name to addresses, for subnets named by a host (the system resolver outside
    /// tests). How host clients are named is decided later (`exports::clients`).
    pub resolver: &'a dyn Fn(&str) -> Vec<IpAddr>,
}

/// A new part and the warnings met while computing it.
pub struct BuiltPart {
    pub part: Part,
    pub warnings: Vec<String>,
}

/// Computes an SN's part: for every path of its previous part and every path just synced,
/// the SN's export line for it (or the lines below it); a path just synced without any gets
/// NIM's default, an earlier path without any is dropped. See the module docs of `exports`.
pub fn build_part(input: &PartInput<'_>) -> Result<BuiltPart, ExportsError> {
    let mut warnings = Vec::new();
    let mut published = Vec::new();
    let mut exports: BTreeMap<String, PartExport> = BTreeMap::new();
    for (root, fresh) in roots(input)?.into_values() {
        let found = exports_for(input.exports, &root, fresh, &mut warnings)?;
        if found.is_empty() {
            warnings.push(format!(
                "{}: dropped, this service node no longer exports it",
                root.path
            ));
            continue;
        }
        published.push(root);
        for pe in found {
            match exports.get_mut(&pe.export.path) {
                Some(have) => have.export.merge(&pe.export),
                None => {
                    exports.insert(pe.export.path.clone(), pe);
                }
            }
        }
    }
    let mut kept = Vec::new();
    for mut pe in exports.into_values() {
        finish(&mut pe, input)?;
        match pe.export.clients.is_empty() {
            true => warnings.push(format!(
                "{}: not exported, it has no clients",
                pe.export.path
            )),
            false => kept.push(pe),
        }
    }
    let part = Part {
        format: PART_FORMAT,
        sn: input.sn.to_string(),
        published,
        exports: kept,
    };
    Ok(BuiltPart { part, warnings })
}

/// The previous part's published paths, then the new ones (which replace an equal path),
/// with whether each was just synced.
fn roots(input: &PartInput<'_>) -> Result<BTreeMap<String, (Published, bool)>, ExportsError> {
    let mut out = BTreeMap::new();
    let previous = input
        .previous
        .map(|p| p.published.as_slice())
        .unwrap_or(&[]);
    for (p, fresh) in previous
        .iter()
        .map(|p| (p, false))
        .chain(input.published.iter().map(|p| (p, true)))
    {
        let path = normalize_path(&p.path);
        validate_path(&path).map_err(|why| ExportsError::BadPath {
            path: p.path.clone(),
            why,
        })?;
        let mut clients = p.clients.clone();
        clients.sort();
        clients.dedup();
        // The SN's exports list every client of a NIM path; a statelite path's clients are
        // only those of the runs that published it, so a run for some nodes keeps the others.
        if let Some((have, _)) = out.get(&path).filter(|(have, _): &&(Published, bool)| {
            have.role.from_statelite_tables() && p.role.from_statelite_tables()
        }) {
            clients.extend(have.clients.iter().cloned());
            clients.sort();
            clients.dedup();
        }
        let root = Published {
            path: path.clone(),
            role: p.role,
            clients,
        };
        out.insert(path, (root, fresh));
    }
    Ok(out)
}

/// A path without trailing slashes (`/` stays `/`).
pub fn normalize_path(path: &str) -> String {
    match path.trim_end_matches('/') {
        "" => "/".to_string(),
        p => p.to_string(),
    }
}

/// The exports of one published path: its own lines, else the lines below it, else (if just
/// synced) NIM's default. A line for it that cannot be parsed stops everything: guessing
/// could widen access.
fn exports_for(
    sn: &SnExports,
    root: &Published,
    fresh: bool,
    warnings: &mut Vec<String>,
) -> Result<Vec<PartExport>, ExportsError> {
    if root.role.from_statelite_tables() {
        // What the nodes mount is in xCAT's statelite tables, and how is fixed by what they
        // do with it; the SN's own exports say nothing about a path it does not serve.
        return Ok(vec![role_default(root, STATELITE_SOURCE)?]);
    }
    if let Some(problem) = sn.problem_at_or_below(&root.path) {
        return Err(ExportsError::Line {
            path: root.path.clone(),
            problem: Box::new(problem.clone()),
        });
    }
    let exact = sn.at(&root.path);
    if !exact.is_empty() {
        return Ok(vec![from_entries(root.role, &exact, warnings)]);
    }
    let mut below: BTreeMap<&str, Vec<&Entry>> = BTreeMap::new();
    for e in sn.below(&root.path) {
        below.entry(e.export.path.as_str()).or_default().push(e);
    }
    if !below.is_empty() {
        return Ok(below
            .values()
            .map(|entries| from_entries(root.role, entries, warnings))
            .collect());
    }
    if !fresh {
        return Ok(Vec::new());
    }
    warnings.push(format!(
        "{}: this service node does not export it; using NIM's default (its {} node(s), root allowed, {})",
        root.path,
        root.clients.len(),
        match root.role.default_access().access {
            Access::Ro => "read-only",
            Access::Rw => "read-write",
        }
    ));
    Ok(vec![role_default(root, NIM_SOURCE)?])
}

fn from_entries(role: Role, entries: &[&Entry], warnings: &mut Vec<String>) -> PartExport {
    let mut export = entries[0].export.clone();
    for e in &entries[1..] {
        export.merge(&e.export);
    }
    for e in entries {
        warnings.extend(e.notes.iter().map(|n| format!("{}: {n}", e.source)));
    }
    let sources: Vec<String> = entries.iter().map(|e| e.source.to_string()).collect();
    PartExport {
        role,
        source: sources.join(", "),
        export,
    }
}

/// The source of an export the SN's exports did not give.
const NIM_SOURCE: &str = "NIM default";
/// The source of a statelite path's export ([`Role::from_statelite_tables`]).
const STATELITE_SOURCE: &str = "xCAT statelite";

/// The export its role gives a path: its clients, root allowed, ro or rw by role.
fn role_default(root: &Published, source: &str) -> Result<PartExport, ExportsError> {
    let mut export = Export::new(&root.path);
    for name in &root.clients {
        let client = Client::parse(name).map_err(|why| ExportsError::BadPath {
            path: root.path.clone(),
            why: format!("client {why}"),
        })?;
        export.grant(client, root.role.default_access());
    }
    Ok(PartExport {
        role: root.role,
        source: source.to_string(),
        export,
    })
}

/// Resolves subnets named by a host, marks AIX nodes' unprivileged ports.
fn finish(pe: &mut PartExport, input: &PartInput<'_>) -> Result<(), ExportsError> {
    let clients = std::mem::take(&mut pe.export.clients);
    for (client, mut grant) in clients {
        grant.insecure |= pe.role.is_aix();
        for resolved in resolve_client(&client, input) {
            match resolved {
                Some(c) => pe.export.grant(c, grant.clone()),
                None => {
                    return Err(ExportsError::Resolve {
                        client: client.to_string(),
                        path: pe.export.path.clone(),
                        origin: pe.source.clone(),
                    })
                }
            }
        }
    }
    Ok(())
}

/// The client itself, or for a subnet named by a host, the subnet of each of its addresses.
/// `[None]` when the name does not resolve.
fn resolve_client(client: &Client, input: &PartInput<'_>) -> Vec<Option<Client>> {
    let (name, prefix) = match client {
        Client::Network { addr, prefix } if client.needs_address() => (addr, *prefix),
        _ => return vec![Some(client.clone())],
    };
    let addrs = (input.resolver)(name);
    if addrs.is_empty() {
        return vec![None];
    }
    addrs
        .into_iter()
        .map(|ip| Client::network(&ip.to_string(), &prefix.to_string()).ok())
        .collect()
}

/// The exports of all parts, per path.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Merged {
    pub exports: BTreeMap<String, MergedExport>,
}

/// One path's union over the parts, and who contributed what.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MergedExport {
    pub export: Export,
    pub roles: BTreeSet<Role>,
    /// Per client, the SNs whose parts grant it.
    pub granted_by: BTreeMap<Client, BTreeSet<String>>,
}

impl MergedExport {
    fn new(path: &str) -> MergedExport {
        MergedExport {
            export: Export::new(path),
            roles: BTreeSet::new(),
            granted_by: BTreeMap::new(),
        }
    }

    /// The SNs contributing to this path.
    pub fn sns(&self) -> BTreeSet<&str> {
        self.granted_by
            .values()
            .flatten()
            .map(String::as_str)
            .collect()
    }

    fn add(&mut self, other: &MergedExport) {
        self.export.merge(&other.export);
        self.roles.extend(other.roles.iter().copied());
        for (c, sns) in &other.granted_by {
            self.granted_by
                .entry(c.clone())
                .or_default()
                .extend(sns.iter().cloned());
        }
    }

    /// What every server kind but AIX refuses: the `dh` flavour, `anon=-1` (no anonymous
    /// access at all), and a subnet still named by a host.
    pub(crate) fn refuse_common(
        &self,
        client: &Client,
        grant: &ClientAccess,
        server: &str,
    ) -> Option<Unsupported> {
        let (item, why) = if grant.sec.contains(&Sec::Dh) {
            (
                "sec=dh".to_string(),
                format!("{server} has no Diffie-Hellman flavour"),
            )
        } else if grant.anon_uid == Some(-1) {
            (
                "anon=-1".to_string(),
                format!("{server} cannot refuse anonymous access"),
            )
        } else if client.needs_address() {
            (
                format!("client {client}"),
                format!("a {server} subnet needs an address"),
            )
        } else {
            return None;
        };
        Some(self.unsupported(Some(client), &item, &why))
    }

    /// An item of this export that the target cannot express; `client` narrows the SNs named.
    pub(crate) fn unsupported(
        &self,
        client: Option<&Client>,
        item: &str,
        why: &str,
    ) -> Unsupported {
        let sns: BTreeSet<&str> = match client.and_then(|c| self.granted_by.get(c)) {
            Some(s) => s.iter().map(String::as_str).collect(),
            None => self.sns(),
        };
        let from = sns.into_iter().collect::<Vec<_>>().join(", ");
        Unsupported {
            path: self.export.path.clone(),
            item: item.to_string(),
            why: why.to_string(),
            from,
        }
    }
}

impl Merged {
    /// Adds one part's exports.
    pub fn add_part(&mut self, part: &Part) {
        for pe in &part.exports {
            let mut one = MergedExport::new(&pe.export.path);
            one.export = pe.export.clone();
            one.roles.insert(pe.role);
            for c in pe.export.clients.keys() {
                one.granted_by
                    .insert(c.clone(), BTreeSet::from([part.sn.clone()]));
            }
            self.union_one(&one);
        }
    }

    /// The union with another merge: commutative, associative and idempotent.
    pub fn union(&mut self, other: &Merged) {
        for m in other.exports.values() {
            self.union_one(m);
        }
    }

    fn union_one(&mut self, m: &MergedExport) {
        self.exports
            .entry(m.export.path.clone())
            .or_insert_with(|| MergedExport::new(&m.export.path))
            .add(m);
    }

    /// Every SN contributing.
    pub fn sns(&self) -> BTreeSet<&str> {
        self.exports.values().flat_map(MergedExport::sns).collect()
    }
}

/// The union of parts; the order of `parts` does not matter.
pub fn merge_parts<'a>(parts: impl IntoIterator<Item = &'a Part>) -> Merged {
    let mut merged = Merged::default();
    for part in parts {
        merged.add_part(part);
    }
    merged
}

/// The header of every generated file: where it comes from, and not to edit it.
pub fn header(merged: &Merged) -> String {
    let sns = merged.sns().into_iter().collect::<Vec<_>>();
    let sns = match sns.is_empty() {
        true => "(none)".to_string(),
        false => sns.join(", "),
    };
    format!(
        "# Generated by xcat-extnfs from the exports of service nodes: {sns}.\n\
         # Do not edit: change a service node's exports and rerun `extnfs exports apply`.\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exports::model::Squash;

    fn no_dns(_: &str) -> Vec<IpAddr> {
        Vec::new()
    }

    fn fake_dns(name: &str) -> Vec<IpAddr> {
        match name {
            "cn001" => vec!["10.1.0.1".parse().unwrap()],
            "sn1" => vec!["10.1.0.250".parse().unwrap()],
            _ => Vec::new(),
        }
    }

    fn aix(text: &str) -> SnExports {
        SnExports::parse("/etc/exports", text)
    }

    fn published(path: &str, role: Role, clients: &[&str]) -> Published {
        Published {
            path: path.into(),
            role,
            clients: clients.iter().map(|c| c.to_string()).collect(),
        }
    }

    fn build(
        previous: Option<&Part>,
        pubs: &[Published],
        sn: &SnExports,
    ) -> Result<BuiltPart, ExportsError> {
        build_part(&PartInput {
            sn: "sn1",
            previous,
            published: pubs,
            exports: sn,
            resolver: &fake_dns,
        })
    }

    const SPOT: &str = "/install/nim/spot/71B/usr";
    const ROOTS: &str = "/install/nim/root/71B_root";

    #[test]
    fn exact_lines_below_lines_and_defaults() {
        let sn = aix(&format!(
            "{SPOT} -ro,root=cn001:cn002,access=cn001:cn002\n\
             {ROOTS}/cn001 -root=cn001,access=cn001\n\
             {ROOTS}/cn002 -root=cn002,access=cn002\n"
        ));
        let pubs = [
            published(SPOT, Role::Spot, &["cn001", "cn002"]),
            published(&format!("{ROOTS}/"), Role::Root, &["cn001", "cn002"]),
            published("/install/nim/paging/p/cn001", Role::Paging, &["cn001"]),
        ];
        let built = build(None, &pubs, &sn).unwrap();
        let paths: Vec<&str> = built
            .part
            .exports
            .iter()
            .map(|e| e.export.path.as_str())
            .collect();
        assert_eq!(
            paths,
            [
                "/install/nim/paging/p/cn001",
                "/install/nim/root/71B_root/cn001",
                "/install/nim/root/71B_root/cn002",
                SPOT
            ]
        );
        assert_eq!(built.part.exports[0].source, "NIM default");
        assert_eq!(built.part.exports[1].source, "/etc/exports line 2");
        assert_eq!(built.warnings.len(), 1, "{:?}", built.warnings);
        assert!(built.warnings[0].contains("NIM's default"));
        assert_eq!(built.part.published[1].path, ROOTS);
        let default = &built.part.exports[0].export.clients;
        let grant = &default[&Client::Host("cn001".into())];
        assert_eq!(
            (grant.access, grant.squash, grant.insecure),
            (Access::Rw, Squash::None, true)
        );
    }

    #[test]
    fn statelite_paths_take_their_roles_export_without_a_warning() {
        let rootimg = "/install/netboot/rhels8/x86_64/compute/rootimg";
        // An SN line at a statelite path is not what the nodes mount from the server.
        let sn = aix(&format!(
            "{SPOT} -ro,root=cn001,access=cn001\n/install/nodedata -ro\n"
        ));
        let pubs = [
            published(rootimg, Role::Rootimg, &["ln001"]),
            published("/install/nodedata", Role::Statemnt, &["ln001"]),
            published("/install/litetree/site", Role::Litetree, &["ln001"]),
            published("/install/nim/paging/p/cn001", Role::Paging, &["cn001"]),
        ];
        let built = build(None, &pubs, &sn).unwrap();
        assert_eq!(built.warnings.len(), 1, "{:?}", built.warnings);
        assert!(
            built.warnings[0].starts_with("/install/nim/paging/p/cn001: ")
                && built.warnings[0].contains("NIM's default"),
            "{:?}",
            built.warnings
        );
        let by_path = |p: &str| {
            built
                .part
                .exports
                .iter()
                .find(|e| e.export.path == p)
                .unwrap_or_else(|| panic!("{p} not exported"))
        };
        for (path, access) in [
            (rootimg, Access::Ro),
            ("/install/nodedata", Access::Rw),
            ("/install/litetree/site", Access::Ro),
        ] {
            let e = by_path(path);
            assert_eq!(e.source, "xCAT statelite");
            let grant = &e.export.clients[&Client::Host("ln001".into())];
            assert_eq!(
                (grant.access, grant.squash, grant.insecure),
                (access, Squash::None, false),
                "{path}"
            );
        }
        // A later run keeps them without a word; only the NIM path the SN stopped
        // exporting goes.
        let again = build(Some(&built.part), &[], &aix("")).unwrap();
        assert_eq!(again.part.exports.len(), 3, "{:?}", again.warnings);
        assert_eq!(
            again.warnings,
            ["/install/nim/paging/p/cn001: dropped, this service node no longer exports it"]
        );
    }

    #[test]
    fn a_statemnt_shared_by_linux_and_aix_nodes_is_insecure_for_the_aix_ones_only() {
        let part = |sn: &str, role: Role, client: &str, previous: Option<&Part>| {
            let pubs = [published("/install/nodedata", role, &[client])];
            let mut part = build(previous, &pubs, &aix("")).unwrap().part;
            part.sn = sn.to_string();
            part
        };
        let linux = part("sn1.statelite", Role::Statemnt, "10.1.2.1", None);
        let first = part("sn1", Role::AixStatemnt, "10.1.1.3", None);
        // A later run for another AIX node keeps the first one's grant.
        let aix_part = part("sn1", Role::AixStatemnt, "10.1.1.4", Some(&first));
        assert_eq!(aix_part.published[0].clients, ["10.1.1.3", "10.1.1.4"]);
        let merged = merge_parts([&linux, &aix_part]);
        let m = &merged.exports["/install/nodedata"];
        let grant = |c: &str| {
            let g = &m.export.clients[&Client::Host(c.into())];
            (g.access, g.squash, g.insecure)
        };
        assert_eq!(grant("10.1.2.1"), (Access::Rw, Squash::None, false));
        assert_eq!(grant("10.1.1.3"), (Access::Rw, Squash::None, true));
        assert_eq!(grant("10.1.1.4"), (Access::Rw, Squash::None, true));
        let text = crate::exports::kinds::linux::render(&merged, None)
            .unwrap()
            .text;
        let entry = text
            .lines()
            .filter(|l| !l.starts_with('#'))
            .collect::<Vec<_>>()
            .join("\n");
        assert!(
            entry.contains("10.1.1.3(rw,") && entry.contains("10.1.2.1(rw,"),
            "{text}"
        );
        for line in entry.split_whitespace() {
            assert_eq!(
                line.contains("insecure"),
                line.starts_with("10.1.1."),
                "{text}"
            );
        }
        // A litetree read by AIX nodes: read-only, insecure.
        let lt = part("sn1", Role::AixLitetree, "10.1.1.3", None);
        let g = &lt.exports[0].export.clients[&Client::Host("10.1.1.3".into())];
        assert_eq!((g.access, g.insecure), (Access::Ro, true));
        assert_eq!(Role::Litetree.statelite(true), Role::AixLitetree);
        assert_eq!(Role::AixStatemnt.statelite(false), Role::Statemnt);
    }

    #[test]
    fn a_removed_node_disappears_on_the_next_publish() {
        let before = aix(&format!(
            "{ROOTS}/cn001 -root=cn001,access=cn001\n{ROOTS}/cn002 -root=cn002,access=cn002\n\
             /install/nim/paging/p/cn002 -root=cn002,access=cn002\n"
        ));
        let pubs = [
            published(ROOTS, Role::Root, &["cn001", "cn002"]),
            published("/install/nim/paging/p/cn002", Role::Paging, &["cn002"]),
        ];
        let first = build(None, &pubs, &before).unwrap().part;
        assert_eq!(first.exports.len(), 3);
        let after = aix(&format!("{ROOTS}/cn001 -root=cn001,access=cn001\n"));
        let again = build(Some(&first), &[], &after).unwrap();
        let paths: Vec<&str> = again
            .part
            .exports
            .iter()
            .map(|e| e.export.path.as_str())
            .collect();
        assert_eq!(paths, [format!("{ROOTS}/cn001")]);
        assert_eq!(again.part.published.len(), 1);
        assert!(
            again.warnings[0].contains("no longer exports"),
            "{:?}",
            again.warnings
        );
    }

    #[test]
    fn an_unparsed_line_for_a_published_path_stops_everything() {
        let sn = aix(&format!("{SPOT} -ro,frob\n/other -frob\n"));
        let err = build(None, &[published(SPOT, Role::Spot, &["cn001"])], &sn)
            .err()
            .unwrap();
        let text = err.to_string();
        assert!(
            text.contains("line 1") && text.contains("frob") && text.contains(SPOT),
            "{text}"
        );
        assert!(build(None, &[published("/x", Role::Spot, &["a"])], &sn).is_ok());
    }

    #[test]
    fn host_clients_stay_names_and_subnets_named_by_a_host_are_resolved() {
        let sn = aix(&format!("{SPOT} -ro,root=cn001,access=cn001:cn404\n"));
        let pubs = [published(SPOT, Role::Spot, &["cn001"])];
        let plain = build(None, &pubs, &sn).unwrap().part;
        assert!(plain.exports[0]
            .export
            .clients
            .contains_key(&Client::Host("cn404".into())));
        let sn = aix(&format!("{SPOT} -ro,root=cn001,access=cn001:@sn1/24\n"));
        let part = build(None, &pubs, &sn).unwrap().part;
        let clients: Vec<String> = part.exports[0]
            .export
            .clients
            .keys()
            .map(|c| c.to_string())
            .collect();
        assert_eq!(clients, ["cn001", "10.1.0.0/24"]);
        let sn = aix(&format!("{SPOT} -ro,root=cn001,access=cn001:@sn9/24\n"));
        let err = build(None, &pubs, &sn).err().unwrap().to_string();
        assert!(err.contains("sn9") && err.contains("line 1"), "{err}");
    }

    #[test]
    fn bad_published_paths_are_refused() {
        let sn = aix("");
        let err = build(None, &[published("/a b", Role::Spot, &["x"])], &sn)
            .err()
            .unwrap();
        assert!(err.to_string().contains("`/a b`"), "{err}");
        let no = build_part(&PartInput {
            sn: "sn1",
            previous: None,
            published: &[published("/x", Role::Spot, &[])],
            exports: &sn,
            resolver: &no_dns,
        })
        .unwrap();
        assert!(no.part.exports.is_empty());
        assert!(no.warnings[1].contains("no clients"), "{:?}", no.warnings);
    }

    #[test]
    fn parts_round_trip_through_json() {
        let sn = aix(&format!("{SPOT} -ro,root=cn001,access=cn001\n"));
        let part = build(None, &[published(SPOT, Role::Spot, &["cn001"])], &sn)
            .unwrap()
            .part;
        let text = part.to_json();
        assert_eq!(Part::from_json(&text).unwrap(), part);
        assert!(Part::from_json(&text.replace("\"format\": 1", "\"format\": 9")).is_err());
    }

    #[test]
    fn merging_unions_client_lists_and_remembers_who() {
        let spot = |sn: &str, client: &str| {
            let exports = aix(&format!("{SPOT} -ro,root={client},access={client}\n"));
            let mut part = build(None, &[published(SPOT, Role::Spot, &[client])], &exports)
                .unwrap()
                .part;
            part.sn = sn.to_string();
            part
        };
        let (a, b) = (spot("sn1", "cn001"), spot("sn2", "cn002"));
        let merged = merge_parts([&a, &b]);
        assert_eq!(merged, merge_parts([&b, &a]));
        let m = &merged.exports[SPOT];
        assert_eq!(m.export.clients.len(), 2);
        assert_eq!(m.sns(), BTreeSet::from(["sn1", "sn2"]));
        assert_eq!(
            m.granted_by[&Client::Host("cn002".into())],
            BTreeSet::from(["sn2".to_string()])
        );
        assert!(header(&merged).contains("service nodes: sn1, sn2."));
    }
}
