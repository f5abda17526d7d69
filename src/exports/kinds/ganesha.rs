//! NFS-Ganesha: EXPORT blocks (one per path, `Pseudo` = path, an `Export_Id` that stays with
//! its path) with CLIENT blocks ordered so that the first match is the most specific.

use std::collections::{BTreeMap, BTreeSet};

use super::server_type::{RenderInput, Rendered, ServerType};
use crate::config::exports::{ExportsSettings, ServerKind};
use crate::exports::applied::{add_client, grant, Applied};
use crate::exports::error::{ExportsError, Unsupported};
use crate::exports::merge::{header, Merged, MergedExport};
use crate::exports::model::{sec_names, Access, Client, ClientAccess, Export, Squash};
use crate::remote::Remote;

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

    fn parse_applied(&self, text: &str) -> Applied {
        parse_applied(text)
    }

    /// The configuration Ganesha loads: the reading script follows its `%include`s.
    fn applied_args(&self, remote: &Remote) -> Vec<String> {
        vec![remote.path(LOADED_CONF)]
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

/// The configuration NFS-Ganesha loads (its packages' and service's default); the files it
/// `%include`s are read with it, depth first.
pub const LOADED_CONF: &str = "/etc/ganesha/ganesha.conf";

/// Ganesha's configuration (the files it loads, concatenated): each `EXPORT` block's `Path`,
/// its own `Access_Type`/`Squash`, and each `CLIENT` block's `Clients` with theirs; the
/// lookup order is CLIENT, EXPORT, then Ganesha's defaults (`None`, `Root_Squash`).
/// `PrivilegedPort` defaults to false, so every grant here accepts unprivileged ports.
pub fn parse_applied(text: &str) -> Applied {
    let tokens = ganesha_tokens(text);
    let mut applied = Applied::default();
    let mut i = 0;
    while i < tokens.len() {
        if tokens[i].eq_ignore_ascii_case("EXPORT")
            && tokens.get(i + 1).map(String::as_str) == Some("{")
        {
            let (block, next) = ganesha_block(&tokens, i + 2, 1);
            match export_of_block(&block) {
                Ok(e) => applied.exports.push(e),
                Err(why) => applied.unreadable.push(format!("EXPORT block: {why}")),
            }
            i = next;
        } else {
            i += 1;
        }
    }
    applied
}

/// One level of a block: `key = value;` settings and sub-blocks by name.
#[derive(Default)]
struct Block {
    settings: Vec<(String, String)>,
    blocks: Vec<(String, Block)>,
}

impl Block {
    fn get(&self, key: &str) -> Option<&str> {
        self.settings
            .iter()
            .rev()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.as_str())
    }
}

/// Words, `{`, `}`, `=`, `;`, with `#` comments and quotes removed.
fn ganesha_tokens(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in text.lines() {
        let mut cur = String::new();
        let mut quoted = false;
        for c in line.chars() {
            match c {
                '"' => quoted = !quoted,
                '#' if !quoted => break,
                '{' | '}' | '=' | ';' if !quoted => {
                    if !cur.trim().is_empty() {
                        out.push(cur.trim().to_string());
                    }
                    cur.clear();
                    out.push(c.to_string());
                }
                c => cur.push(c),
            }
        }
        if !cur.trim().is_empty() {
            out.push(cur.trim().to_string());
        }
    }
    out
}

/// Blocks nested deeper than this are skipped unread: Ganesha's own nest three deep (EXPORT,
/// CLIENT, FSAL), and a recursion as deep as the input would overflow the stack.
const MAX_NESTING: usize = 16;

/// Parses a block's body from `i` up to its closing brace; returns it and the index after.
/// `depth` counts the blocks it is in.
fn ganesha_block(tokens: &[String], mut i: usize, depth: usize) -> (Block, usize) {
    let mut block = Block::default();
    while i < tokens.len() {
        match tokens[i].as_str() {
            "}" => return (block, i + 1),
            ";" => i += 1,
            _ if tokens.get(i + 1).map(String::as_str) == Some("{") && depth >= MAX_NESTING => {
                i = skip_block(tokens, i + 2);
            }
            name if tokens.get(i + 1).map(String::as_str) == Some("{") => {
                let (sub, next) = ganesha_block(tokens, i + 2, depth + 1);
                block.blocks.push((name.to_string(), sub));
                i = next;
            }
            key if tokens.get(i + 1).map(String::as_str) == Some("=") => {
                // A value may be several words (`Clients = a, b`): up to the `;`.
                let mut j = i + 2;
                let mut value = Vec::new();
                while j < tokens.len() && !matches!(tokens[j].as_str(), ";" | "}") {
                    value.push(tokens[j].clone());
                    j += 1;
                }
                block.settings.push((key.to_string(), value.join(" ")));
                i = j;
            }
            _ => i += 1,
        }
    }
    (block, i)
}

/// The index after the closing brace of a block whose body starts at `i`.
fn skip_block(tokens: &[String], mut i: usize) -> usize {
    let mut open = 1usize;
    while i < tokens.len() && open > 0 {
        match tokens[i].as_str() {
            "{" => open += 1,
            "}" => open -= 1,
            _ => {}
        }
        i += 1;
    }
    i
}

pub(crate) fn ganesha_access(value: Option<&str>) -> Option<Option<Access>> {
    value.map(|v| match v.to_ascii_lowercase().as_str() {
        "rw" => Some(Access::Rw),
        "ro" | "mdonly_ro" | "mdonly" => Some(Access::Ro),
        _ => None,
    })
}

pub(crate) fn ganesha_squash(value: Option<&str>) -> Option<Squash> {
    value.map(|v| match v.to_ascii_lowercase().as_str() {
        "no_root_squash" | "none" | "noidsquash" => Squash::None,
        "all" | "all_squash" | "allsquash" | "all_anonymous" => Squash::All,
        _ => Squash::Root,
    })
}

fn export_of_block(b: &Block) -> Result<Export, String> {
    let path = b.get("Path").ok_or("no Path")?;
    let mut export = Export::new(path.trim_end_matches('/'));
    if export.path.is_empty() {
        export.path = "/".into();
    }
    let access = ganesha_access(b.get("Access_Type")).unwrap_or(None);
    let squash = ganesha_squash(b.get("Squash")).unwrap_or(Squash::Root);
    for (name, client) in &b.blocks {
        if !name.eq_ignore_ascii_case("CLIENT") {
            continue;
        }
        let access = ganesha_access(client.get("Access_Type")).unwrap_or(access);
        let squash = ganesha_squash(client.get("Squash")).unwrap_or(squash);
        let Some(access) = access else { continue };
        for c in client.get("Clients").unwrap_or("").split([',', ' ']) {
            add_client(&mut export, c.trim(), access, squash, true);
        }
    }
    // Without a CLIENT block, the export's own access is for everyone.
    if let Some(access) = access {
        export
            .clients
            .entry(Client::Everyone)
            .or_insert_with(|| grant(access, squash, true));
    }
    Ok(export)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exports::applied::who;
    use crate::exports::{Access, Squash};

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

    #[test]
    fn deeply_nested_blocks_do_not_exhaust_the_stack() {
        let conf = format!("EXPORT {{ Path = /a; {}", "A {\n".repeat(200_000));
        let a = std::thread::Builder::new()
            .stack_size(1 << 20)
            .spawn(move || parse_applied(&conf))
            .unwrap()
            .join()
            .expect("no stack overflow");
        assert!(a.exports.len() <= 1);
    }

    #[test]
    fn ganesha_blocks_with_client_and_export_defaults() {
        let conf = "NFS_CORE_PARAM { Protocols = 4; }\n\
EXPORT {\n  Export_Id = 101;\n  Path = \"/install/statemnt\";\n  Pseudo = /install/statemnt;\n  Access_Type = None; # none unless listed\n  Squash = Root_Squash;\n  FSAL { Name = VFS; }\n  CLIENT { Clients = lcn001, 10.1.0.0/16; Access_Type = RW; Squash = No_Root_Squash; }\n  CLIENT { Clients = lcn9*; Access_Type = RO; }\n}\n\
EXPORT { Export_Id = 102; Path = /install/img/rootimg; Access_Type = RO; Squash = None; FSAL { Name = VFS; } }\n";
        let a = parse_applied(conf);
        assert_eq!(a.exports.len(), 2);
        let g = a
            .grant("/install/statemnt/lcn001", &who("lcn001", ""))
            .unwrap();
        assert_eq!(
            (g.access, g.squash, g.insecure),
            (Access::Rw, Squash::None, true)
        );
        let g = a.grant("/install/statemnt", &who("x", "10.1.2.3")).unwrap();
        assert_eq!(g.access, Access::Rw);
        let g = a.grant("/install/statemnt", &who("lcn901", "")).unwrap();
        assert_eq!((g.access, g.squash), (Access::Ro, Squash::Root));
        assert!(a
            .grant("/install/statemnt", &who("other", "10.2.0.1"))
            .is_none());
        let g = a.grant("/install/img/rootimg", &who("anyone", "")).unwrap();
        assert_eq!((g.access, g.squash), (Access::Ro, Squash::None));
    }
}
