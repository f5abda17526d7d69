//! Spectrum Scale CES: the wanted exports as a record (one line per path and client), and the
//! `mmnfs export` commands that take the server from the last applied record to the new one.

use std::collections::BTreeMap;

use super::ganesha::{access_type, squash_value};
use super::ganesha::{ganesha_access, ganesha_squash};
use super::server_type::{RenderInput, Rendered, ServerType};
use crate::config::exports::ServerKind;
use crate::exports::applied::{add_client, Applied};
use crate::exports::error::{ExportsError, Unsupported};
use crate::exports::merge::{header, Merged, MergedExport};
use crate::exports::model::{sec_names, Client, ClientAccess};
use crate::exports::model::{Export, Squash};

/// The Spectrum Scale CES kind.
pub struct Ces;

impl ServerType for Ces {
    fn default_file(&self) -> &'static str {
        "/var/lib/xcat-extnfs/exports/ces-exports.state"
    }

    /// None: the `mmnfs` commands apply themselves.
    fn default_reload(&self) -> Option<&'static [&'static str]> {
        None
    }

    fn writing(&self) -> &'static str {
        "recording the CES exports in"
    }

    /// The record, and the commands from the record now on the server to it.
    fn render(&self, input: &RenderInput<'_>) -> Result<Rendered, ExportsError> {
        let text = render(input.merged)?;
        let plan = plan(input.current, &text);
        Ok(Rendered {
            commands: plan.dry_runs.into_iter().chain(plan.commands).collect(),
            text,
            ..Rendered::default()
        })
    }

    fn parse_applied(&self, text: &str) -> Applied {
        parse_applied(text)
    }
}

/// Where Spectrum Scale installs its commands.
pub const MMNFS: &str = "/usr/lpp/mmfs/bin/mmnfs";

/// Renders the record: the header, then `path<TAB>client(options)` per client, clients of a
/// path in rank order (CES, like Ganesha, uses the first client that matches).
pub fn render(merged: &Merged) -> Result<String, ExportsError> {
    let mut text = header(merged);
    text.push_str("# The CES exports as applied with mmnfs: path<TAB>client(options).\n");
    let mut problems = Vec::new();
    for m in merged.exports.values() {
        for (client, grant) in &m.export.clients {
            match client_spec(m, client, grant) {
                Ok(spec) => text.push_str(&format!("{}\t{spec}\n", m.export.path)),
                Err(p) => problems.push(p),
            }
        }
    }
    match problems.is_empty() {
        true => Ok(text),
        false => Err(ExportsError::Unsupported {
            kind: ServerKind::Ces,
            items: problems,
        }),
    }
}

/// `client(Access_Type=..,Squash=..,SecType=..,Protocols=..[,Anonymous_Uid=..])`.
fn client_spec(
    m: &MergedExport,
    client: &Client,
    grant: &ClientAccess,
) -> Result<String, Unsupported> {
    if let Some(refused) = m.refuse_common(client, grant, "CES") {
        return Err(refused);
    }
    let versions: Vec<String> = m
        .export
        .versions
        .iter()
        .filter(|v| **v >= 3)
        .map(u8::to_string)
        .collect();
    let protocols = match (versions.is_empty(), m.export.versions.is_empty()) {
        (false, _) => versions.join(":"),
        (true, true) => "3:4".to_string(),
        (true, false) => {
            return Err(m.unsupported(None, "vers=2", "CES serves NFS versions 3 and 4 only"))
        }
    };
    let access = access_type(grant.access);
    // CES's documented examples write the squash values in lower case.
    let squash = squash_value(grant.squash).to_lowercase();
    let mut opts = format!(
        "Access_Type={access},Squash={squash},SecType={},Protocols={protocols}",
        sec_names(&grant.sec, ":")
    );
    if let Some(uid) = grant.anon_uid {
        opts.push_str(&format!(",Anonymous_Uid={uid}"));
    }
    Ok(format!("{client}({opts})"))
}

/// The record's exports: per path, client → spec, in record order.
fn read_record(text: &str) -> BTreeMap<String, Vec<(String, String)>> {
    let mut out: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        if let Some((path, spec)) = line.split_once('\t') {
            let client = spec.split('(').next().unwrap_or(spec).to_string();
            out.entry(path.to_string())
                .or_default()
                .push((client, spec.to_string()));
        }
    }
    out
}

/// The commands taking CES from the `previous` record to the `wanted` one.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Plan {
    /// `mmnfs export add ... --dry-run` for every new export, run before anything changes.
    pub dry_runs: Vec<Vec<String>>,
    pub commands: Vec<Vec<String>>,
}

/// Compares the records: new paths are added with all their clients; for kept paths, gone
/// clients are removed, changed ones changed, new ones added; gone paths are removed.
pub fn plan(previous: Option<&str>, wanted: &str) -> Plan {
    let old = previous.map(read_record).unwrap_or_default();
    let new = read_record(wanted);
    let mut plan = Plan::default();
    for (path, clients) in &new {
        match old.get(path) {
            None => {
                let specs: Vec<&str> = clients.iter().map(|(_, s)| s.as_str()).collect();
                let add = mmnfs(&["add", path, "--client", &specs.join(";")]);
                let mut dry = add.clone();
                dry.push("--dry-run".to_string());
                plan.dry_runs.push(dry);
                plan.commands.push(add);
            }
            Some(before) => plan.commands.extend(changes(path, before, clients)),
        }
    }
    for path in old.keys().filter(|p| !new.contains_key(*p)) {
        plan.commands.push(mmnfs(&["remove", path]));
    }
    plan
}

fn changes(
    path: &str,
    before: &[(String, String)],
    after: &[(String, String)],
) -> Vec<Vec<String>> {
    let old: BTreeMap<&str, &str> = before
        .iter()
        .map(|(c, s)| (c.as_str(), s.as_str()))
        .collect();
    let new: BTreeMap<&str, &str> = after
        .iter()
        .map(|(c, s)| (c.as_str(), s.as_str()))
        .collect();
    let gone: Vec<&str> = old
        .keys()
        .filter(|c| !new.contains_key(*c))
        .copied()
        .collect();
    let changed: Vec<&str> = after
        .iter()
        .filter(|(c, s)| old.get(c.as_str()).is_some_and(|o| o != s))
        .map(|(_, s)| s.as_str())
        .collect();
    let added: Vec<&str> = after
        .iter()
        .filter(|(c, _)| !old.contains_key(c.as_str()))
        .map(|(_, s)| s.as_str())
        .collect();
    let mut out = Vec::new();
    if !gone.is_empty() {
        out.push(mmnfs(&["change", path, "--nfsremove", &gone.join(",")]));
    }
    if !changed.is_empty() {
        out.push(mmnfs(&["change", path, "--nfschange", &changed.join(";")]));
    }
    if !added.is_empty() {
        out.push(mmnfs(&["change", path, "--nfsadd", &added.join(";")]));
    }
    out
}

fn mmnfs(args: &[&str]) -> Vec<String> {
    [MMNFS, "export"]
        .iter()
        .chain(args)
        .map(|s| s.to_string())
        .collect()
}

/// `mmnfs export list -Y`: colon-separated records whose first is a `HEADER` naming the
/// fields; values are percent-encoded. Fields are found by name (`Path`, `Clients`,
/// `Access_Type`, `Squash`), since their order is not documented for every release.
pub fn parse_applied(text: &str) -> Applied {
    let mut applied = Applied::default();
    let mut header: Vec<String> = Vec::new();
    for line in text.lines() {
        let fields: Vec<String> = line.split(':').map(percent_decode).collect();
        if fields.get(2).map(String::as_str) == Some("HEADER") {
            header = fields;
            continue;
        }
        let col = |name: &str| {
            header
                .iter()
                .position(|h| h.eq_ignore_ascii_case(name))
                .and_then(|i| fields.get(i))
                .map(String::as_str)
        };
        let Some(path) = col("Path").filter(|p| p.starts_with('/')) else {
            continue;
        };
        let path = path.trim_end_matches('/');
        let access = ganesha_access(col("Access_Type")).unwrap_or(None);
        let squash = ganesha_squash(col("Squash")).unwrap_or(Squash::Root);
        let idx = match applied.exports.iter().position(|e| e.path == path) {
            Some(i) => i,
            None => {
                applied.exports.push(Export::new(path));
                applied.exports.len() - 1
            }
        };
        if let Some(access) = access {
            for c in col("Clients").unwrap_or("*").split(',') {
                add_client(&mut applied.exports[idx], c.trim(), access, squash, true);
            }
        }
    }
    applied
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        if b[i] == b'%' && i + 2 < b.len() {
            if let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exports::applied::who;
    use crate::exports::{Access, Squash};

    #[test]
    fn plans_from_records() {
        let old =
            "# h\n/a\tcn1(Access_Type=RO)\n/a\tcn2(Access_Type=RO)\n/gone\tcn9(Access_Type=RW)\n";
        let new = "# h\n/a\tcn1(Access_Type=RW)\n/a\tcn3(Access_Type=RO)\n/b\tcn4(X)\n/b\t*(Y)\n";
        let p = plan(Some(old), new);
        let shown: Vec<String> = p.commands.iter().map(|c| c[2..].join(" ")).collect();
        assert_eq!(
            shown,
            [
                "change /a --nfsremove cn2",
                "change /a --nfschange cn1(Access_Type=RW)",
                "change /a --nfsadd cn3(Access_Type=RO)",
                "add /b --client cn4(X);*(Y)",
                "remove /gone",
            ]
        );
        assert_eq!(p.dry_runs.len(), 1);
        assert_eq!(p.dry_runs[0].last().unwrap(), "--dry-run");
        assert_eq!(p.commands[0][0], MMNFS);
        assert_eq!(plan(Some(new), new), Plan::default());
    }

    #[test]
    fn ces_records_by_header_names() {
        let text = "mmnfs:nfsexports:HEADER:version:reserved:reserved:Path:Delegations:Clients:Access_Type:Protocols:Transports:Squash:\n\
mmnfs:nfsexports:0:1:::/gpfs/install/nim/root/r/cn001:NONE:cn001:RW:3%2C4:TCP:NO_ROOT_SQUASH:\n\
mmnfs:nfsexports:0:1:::/gpfs/install/spot:NONE:10.0.0.0%2F8:RO:3%2C4:TCP:ROOT_SQUASH:\n";
        let a = parse_applied(text);
        let g = a
            .grant("/gpfs/install/nim/root/r/cn001", &who("cn001", ""))
            .unwrap();
        assert_eq!((g.access, g.squash), (Access::Rw, Squash::None));
        let g = a
            .grant("/gpfs/install/spot", &who("n", "10.9.9.9"))
            .unwrap();
        assert_eq!(g.access, Access::Ro);
    }
}
