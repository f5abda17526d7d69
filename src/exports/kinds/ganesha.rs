//! NFS-Ganesha: EXPORT blocks (one per path, `Pseudo` = path, an `Export_Id` that stays with
//! its path) with CLIENT blocks ordered so that the first match is the most specific.

use std::collections::{BTreeMap, BTreeSet};

use super::server_type::{RenderInput, Rendered, ServerType};
use crate::config::exports::{ExportsSettings, ServerKind};
use crate::exports::error::{ExportsError, Unsupported};
use crate::exports::merge::{header, Merged, MergedExport};
use crate::exports::model::{sec_names, Access, Client, ClientAccess, Squash};

/// The NFS-Ganesha kind.
pub struct Ganesha;

impl ServerType for Ganesha {
    fn default_file(&self) -> &'static str {
        "/etc/ganesha/xcat-extnfs.conf"
    }

    fn default_reload(&self) -> Option<&'static [&'static str]> {
        Some(&["systemctl", "reload", "nfs-ganesha"])
    }

    fn validate(&self, settings: &ExportsSettings) -> Result<(), String> {
        if settings.export_id_base == 0 {
            return Err("export_id_base must be at least 1 (0 is Ganesha's pseudo root)".into());
        }
        let fsal = &settings.ganesha_fsal;
        if fsal.is_empty() || !fsal.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(format!("ganesha_fsal `{fsal}` is not an FSAL name"));
        }
        Ok(())
    }

    fn render(&self, input: &RenderInput<'_>) -> Result<Rendered, ExportsError> {
        let s = input.settings;
        let text = render(
            input.merged,
            input.current,
            s.export_id_base,
            &s.ganesha_fsal,
        )?;
        Ok(Rendered {
            text,
            ..Rendered::default()
        })
    }
}

/// Renders the file of EXPORT blocks. `previous` is the file now on the server: the ids it
/// gives to paths that are still exported are kept, new paths get the lowest free id from
/// `base`.
pub fn render(
    merged: &Merged,
    previous: Option<&str>,
    base: u16,
    fsal: &str,
) -> Result<String, ExportsError> {
    let live: Vec<&MergedExport> = merged
        .exports
        .values()
        .filter(|m| !m.export.clients.is_empty())
        .collect();
    let ids = assign_ids(&live, previous.map(previous_ids).unwrap_or_default(), base)?;
    let mut text = header(merged);
    text.push_str("# Include it from ganesha.conf: %include \"<this file>\"\n");
    let mut problems = Vec::new();
    for m in live {
        match render_export(m, ids[&m.export.path], fsal) {
            Ok(block) => text.push_str(&block),
            Err(mut p) => problems.append(&mut p),
        }
    }
    match problems.is_empty() {
        true => Ok(text),
        false => Err(ExportsError::Unsupported {
            kind: ServerKind::Ganesha,
            items: problems,
        }),
    }
}

/// The `Path` → `Export_Id` pairs of a file we wrote.
pub fn previous_ids(text: &str) -> BTreeMap<String, u16> {
    let mut out = BTreeMap::new();
    let mut id: Option<u16> = None;
    for line in text.lines().map(str::trim) {
        if let Some(v) = setting(line, "Export_Id") {
            id = v.parse().ok();
        } else if let Some(v) = setting(line, "Path") {
            if let Some(id) = id.take() {
                out.insert(v.trim_matches('"').to_string(), id);
            }
        }
    }
    out
}

/// The value of `Key = value;` on a line.
fn setting<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    let rest = line.strip_prefix(key)?.trim_start().strip_prefix('=')?;
    Some(rest.trim().trim_end_matches(';').trim())
}

fn assign_ids(
    live: &[&MergedExport],
    previous: BTreeMap<String, u16>,
    base: u16,
) -> Result<BTreeMap<String, u16>, ExportsError> {
    let mut ids = BTreeMap::new();
    let mut used = BTreeSet::new();
    for m in live {
        let path = &m.export.path;
        if let Some(&id) = previous
            .get(path)
            .filter(|id| **id != 0 && !used.contains(*id))
        {
            used.insert(id);
            ids.insert(path.clone(), id);
        }
    }
    let fresh: Vec<&&MergedExport> = live
        .iter()
        .filter(|m| !ids.contains_key(&m.export.path))
        .collect();
    let mut next = base;
    for m in fresh {
        while used.contains(&next) {
            next = next.checked_add(1).ok_or_else(|| ExportsError::ExportIds {
                base,
                path: m.export.path.clone(),
            })?;
        }
        used.insert(next);
        ids.insert(m.export.path.clone(), next);
    }
    Ok(ids)
}

/// One EXPORT block: nobody gets in except through a CLIENT block.
fn render_export(m: &MergedExport, id: u16, fsal: &str) -> Result<String, Vec<Unsupported>> {
    let path = &m.export.path;
    let protocols = protocols(m).map_err(|p| vec![p])?;
    let mut out = format!(
        "\nEXPORT {{\n\tExport_Id = {id};\n\tPath = \"{path}\";\n\tPseudo = \"{path}\";\n\
         \tAccess_Type = None;\n\tSquash = Root_Squash;\n\tProtocols = {protocols};\n\
         \tFSAL {{ Name = {fsal}; }}\n"
    );
    for ((_, grant), clients) in client_groups(m) {
        out.push_str(&client_block(m, &clients, &grant)?);
    }
    out.push_str("}\n");
    Ok(out)
}

/// The export's versions that Ganesha serves (3 and 4), `3, 4` when it names none.
fn protocols(m: &MergedExport) -> Result<String, Unsupported> {
    let versions = &m.export.versions;
    if versions.is_empty() {
        return Ok("3, 4".to_string());
    }
    let served: Vec<String> = versions
        .iter()
        .filter(|v| **v >= 3)
        .map(u8::to_string)
        .collect();
    match served.is_empty() {
        true => Err(m.unsupported(None, "vers=2", "Ganesha serves NFS versions 3 and 4 only")),
        false => Ok(served.join(", ")),
    }
}

/// Clients with equal grants share a block; blocks go from the most specific rank of client
/// to `*`, because Ganesha uses the first block that matches.
fn client_groups(m: &MergedExport) -> BTreeMap<(u8, ClientAccess), Vec<&Client>> {
    let mut groups: BTreeMap<(u8, ClientAccess), Vec<&Client>> = BTreeMap::new();
    for (client, grant) in &m.export.clients {
        groups
            .entry((client.rank(), grant.clone()))
            .or_default()
            .push(client);
    }
    groups
}

fn client_block(
    m: &MergedExport,
    clients: &[&Client],
    grant: &ClientAccess,
) -> Result<String, Vec<Unsupported>> {
    let mut problems: Vec<Unsupported> = clients
        .iter()
        .filter_map(|c| m.refuse_common(c, grant, "Ganesha"))
        .collect();
    if let Some(uid) = grant
        .anon_uid
        .filter(|u| *u > i64::from(u32::MAX) || *u < i64::from(i32::MIN))
    {
        let item = format!("anon={uid}");
        problems.push(m.unsupported(Some(clients[0]), &item, "out of Ganesha's uid range"));
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let names: Vec<String> = clients.iter().map(|c| c.to_string()).collect();
    let (access, squash) = (access_type(grant.access), squash_value(grant.squash));
    let mut out = format!(
        "\tCLIENT {{\n\t\tClients = {};\n\t\tAccess_Type = {access};\n\t\tSquash = {squash};\n",
        names.join(", ")
    );
    if let Some(uid) = grant.anon_uid {
        out.push_str(&format!("\t\tAnonymous_Uid = {uid};\n"));
    }
    if !grant.default_sec() {
        out.push_str(&format!("\t\tSecType = {};\n", sec_names(&grant.sec, ", ")));
    }
    out.push_str("\t}\n");
    Ok(out)
}

/// The `Access_Type` of a grant (Ganesha and CES).
pub fn access_type(access: Access) -> &'static str {
    match access {
        Access::Ro => "RO",
        Access::Rw => "RW",
    }
}

/// The `Squash` value of a grant (Ganesha and CES).
pub fn squash_value(squash: Squash) -> &'static str {
    match squash {
        Squash::None => "No_Root_Squash",
        Squash::Root => "Root_Squash",
        Squash::All => "All_Squash",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn previous_ids_are_read_back() {
        let text = "EXPORT {\n\tExport_Id = 7;\n\tPath = \"/a\";\n}\nEXPORT {\n\tExport_Id=9;\n\tPath = /b;\n}\n";
        let ids = previous_ids(text);
        assert_eq!(
            ids,
            BTreeMap::from([("/a".to_string(), 7), ("/b".to_string(), 9)])
        );
        assert_eq!(setting("Export_Id = 7;", "Export_Id"), Some("7"));
        assert_eq!(setting("Export_Ids = 7;", "Export_Id"), None);
    }
}
