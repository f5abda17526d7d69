//! The exports an NFS server has actually applied, read from its own state per kind (knfsd's
//! export table, AIX `exportfs`, Ganesha's loaded configuration, CES `mmnfs export list`).
//!
//! Each kind's reading is one remote command ([`crate::scripts::APPLIED`]); the texts are parsed
//! into the neutral [`Export`] model, and [`Applied::grant`] says what one client may do on a
//! path. Kept apart from the rendering side so that it can move behind the server kinds' trait.

use std::net::IpAddr;

use crate::exports::{
    Access, Client, ClientAccess, Export, ExportsSettings, ServerKind, SnExports, Squash,
};
use crate::remote::Remote;
use crate::scripts;

/// The exports a server applies.
#[derive(Clone, Debug, Default)]
pub struct Applied {
    pub exports: Vec<Export>,
    /// Lines or blocks that could not be understood, with why (they grant nothing here).
    pub unreadable: Vec<String>,
}

/// Reads what `remote` applies, as its kind shows it; `Err` says why it could not be read.
pub fn read(remote: &Remote, settings: &ExportsSettings) -> Result<Applied, String> {
    let mark = format!("--extnfs-applied-{:x}", std::process::id());
    let kind = settings.kind;
    let ganesha_conf = remote.path(GANESHA_CONF);
    let mut args = vec![kind.name(), mark.as_str()];
    if kind == ServerKind::Ganesha {
        args.push(&ganesha_conf);
    }
    let out = remote
        .script(scripts::APPLIED, &args)
        .run_checked()
        .map_err(|e| e.to_string())?;
    let frames = scripts::frames(&out.stdout, &mark)?;
    Ok(match kind {
        ServerKind::Linux => parse_knfsd(&frames.concat_bodies()),
        ServerKind::Aix => parse_aix(&frames.concat_bodies()),
        ServerKind::Ces => parse_ces(&frames.concat_bodies()),
        ServerKind::Ganesha => parse_ganesha(
            &frames
                .iter()
                .map(|(_, body)| body.as_str())
                .collect::<Vec<_>>()
                .join("\n"),
        ),
    })
}

/// The configuration NFS-Ganesha loads (its packages' and service's default).
pub const GANESHA_CONF: &str = "/etc/ganesha/ganesha.conf";

trait Bodies {
    fn concat_bodies(&self) -> String;
}

impl Bodies for Vec<(String, String)> {
    fn concat_bodies(&self) -> String {
        self.iter().map(|(_, b)| b.as_str()).collect()
    }
}

/// The options that decide what a client may do; knfsd's table lists many more
/// (`wdelay`, `hide`, `secure_locks`, `no_pnfs`, `uuid=`...), which are dropped before parsing.
const DECISIVE: [&str; 10] = [
    "ro",
    "rw",
    "root_squash",
    "no_root_squash",
    "all_squash",
    "no_all_squash",
    "secure",
    "insecure",
    "anonuid",
    "sec",
];

/// knfsd's export table (`/var/lib/nfs/etab`: `path<TAB>client(options)`) or `exportfs -v`
/// (the same, except that a long path stands alone and its clients follow on indented lines).
pub fn parse_knfsd(text: &str) -> Applied {
    let mut lines: Vec<String> = Vec::new();
    for line in text.lines() {
        if line.trim().is_empty() {
            continue;
        }
        let rewritten: Vec<String> = line.split_whitespace().map(decisive_only).collect();
        match (line.starts_with(char::is_whitespace), lines.last_mut()) {
            (true, Some(last)) => {
                last.push(' ');
                last.push_str(&rewritten.join(" "));
            }
            _ => lines.push(rewritten.join(" ")),
        }
    }
    from_exports_text(&lines.join("\n"), "exports as knfsd applies them")
}

/// `client(opt,...)` with only the [`DECISIVE`] options; other words unchanged.
fn decisive_only(word: &str) -> String {
    let Some((client, rest)) = word.split_once('(') else {
        return word.to_string();
    };
    let opts: Vec<&str> = rest
        .trim_end_matches(')')
        .split(',')
        .filter(|o| DECISIVE.contains(&o.split('=').next().unwrap_or("")))
        .collect();
    format!("{client}({})", opts.join(","))
}

/// `exportfs` on AIX: `/path -options` lines, as in `/etc/exports`.
pub fn parse_aix(text: &str) -> Applied {
    from_exports_text(text, "exports as AIX applies them")
}

fn from_exports_text(text: &str, label: &str) -> Applied {
    let parsed = SnExports::parse(label, text);
    Applied {
        exports: parsed.entries.into_iter().map(|e| e.export).collect(),
        unreadable: parsed
            .problems
            .iter()
            .map(|p| format!("{}: {}", p.source, p.message))
            .collect(),
    }
}

/// Ganesha's configuration (the files it loads, concatenated): each `EXPORT` block's `Path`,
/// its own `Access_Type`/`Squash`, and each `CLIENT` block's `Clients` with theirs; the
/// lookup order is CLIENT, EXPORT, then Ganesha's defaults (`None`, `Root_Squash`).
/// `PrivilegedPort` defaults to false, so every grant here accepts unprivileged ports.
pub fn parse_ganesha(text: &str) -> Applied {
    let tokens = ganesha_tokens(text);
    let mut applied = Applied::default();
    let mut i = 0;
    while i < tokens.len() {
        if tokens[i].eq_ignore_ascii_case("EXPORT")
            && tokens.get(i + 1).map(String::as_str) == Some("{")
        {
            let (block, next) = ganesha_block(&tokens, i + 2);
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

/// Parses a block's body from `i` up to its closing brace; returns it and the index after.
fn ganesha_block(tokens: &[String], mut i: usize) -> (Block, usize) {
    let mut block = Block::default();
    while i < tokens.len() {
        match tokens[i].as_str() {
            "}" => return (block, i + 1),
            ";" => i += 1,
            name if tokens.get(i + 1).map(String::as_str) == Some("{") => {
                let (sub, next) = ganesha_block(tokens, i + 2);
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

fn ganesha_access(value: Option<&str>) -> Option<Option<Access>> {
    value.map(|v| match v.to_ascii_lowercase().as_str() {
        "rw" => Some(Access::Rw),
        "ro" | "mdonly_ro" | "mdonly" => Some(Access::Ro),
        _ => None,
    })
}

fn ganesha_squash(value: Option<&str>) -> Option<Squash> {
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

fn grant(access: Access, squash: Squash, insecure: bool) -> ClientAccess {
    let mut g = ClientAccess::new(access, squash);
    g.insecure = insecure;
    g
}

/// Adds the first grant of a client (the first matching CLIENT block wins in Ganesha).
fn add_client(export: &mut Export, text: &str, access: Access, squash: Squash, insecure: bool) {
    if text.is_empty() {
        return;
    }
    if let Ok(client) = Client::parse(text) {
        export
            .clients
            .entry(client)
            .or_insert_with(|| grant(access, squash, insecure));
    }
}

/// `mmnfs export list -Y`: colon-separated records whose first is a `HEADER` naming the
/// fields; values are percent-encoded. Fields are found by name (`Path`, `Clients`,
/// `Access_Type`, `Squash`), since their order is not documented for every release.
pub fn parse_ces(text: &str) -> Applied {
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

/// Who a node is to a server's client lists: its names (as given and short) and its address.
#[derive(Clone, Debug)]
pub struct Who<'a> {
    pub names: Vec<&'a str>,
    pub ip: Option<IpAddr>,
}

impl Applied {
    /// What the client may do on `path`: by the export of `path` or of the nearest directory
    /// above it, from the first (most specific) client entry that matches it. `None`: it
    /// may not mount it at all.
    pub fn grant(&self, path: &str, who: &Who<'_>) -> Option<&ClientAccess> {
        let path = path.trim_end_matches('/');
        let export = self
            .exports
            .iter()
            .filter(|e| within(path, &e.path))
            .max_by_key(|e| e.path.len())?;
        export
            .clients
            .iter()
            .find(|(c, _)| matches(c, who))
            .map(|(_, g)| g)
    }
}

fn within(path: &str, dir: &str) -> bool {
    let dir = dir.trim_end_matches('/');
    dir.is_empty() || path == dir || path.strip_prefix(dir).is_some_and(|r| r.starts_with('/'))
}

/// Whether a client entry names the node. A netgroup cannot be looked into from here and
/// counts as not naming it.
fn matches(client: &Client, who: &Who<'_>) -> bool {
    let named = |h: &str| {
        who.names.iter().any(|n| {
            n.eq_ignore_ascii_case(h) || crate::sync::context::short_name(n).eq_ignore_ascii_case(h)
        }) || who.ip.is_some_and(|ip| h.parse::<IpAddr>() == Ok(ip))
    };
    match client {
        Client::Everyone => true,
        Client::Host(h) => named(h),
        Client::Network { addr, prefix } => match (who.ip, addr.parse::<IpAddr>()) {
            (Some(IpAddr::V4(ip)), Ok(IpAddr::V4(net))) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(*prefix)).unwrap_or(0);
                u32::from(ip) & mask == u32::from(net) & mask
            }
            (Some(IpAddr::V6(ip)), Ok(IpAddr::V6(net))) => {
                let mask = u128::MAX.checked_shl(128 - u32::from(*prefix)).unwrap_or(0);
                u128::from(ip) & mask == u128::from(net) & mask
            }
            _ => false,
        },
        Client::Pattern(p) => who.names.iter().any(|n| glob(p, n)),
        Client::Netgroup(_) => false,
    }
}

/// `*` and `?` wildcards, without case.
fn glob(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.to_ascii_lowercase().chars().collect();
    let n: Vec<char> = name.to_ascii_lowercase().chars().collect();
    fn go(p: &[char], n: &[char]) -> bool {
        match (p.first(), n.first()) {
            (None, None) => true,
            (Some('*'), _) => go(&p[1..], n) || (!n.is_empty() && go(p, &n[1..])),
            (Some('?'), Some(_)) => go(&p[1..], &n[1..]),
            (Some(a), Some(b)) if a == b => go(&p[1..], &n[1..]),
            _ => false,
        }
    }
    go(&p, &n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn who<'a>(name: &'a str, ip: &str) -> Who<'a> {
        Who {
            names: vec![name],
            ip: ip.parse().ok(),
        }
    }

    #[test]
    fn knfsd_table_and_exportfs_v_with_wrapped_lines() {
        let etab = "/install/nim/root/r/cn001\tcn001(rw,sync,wdelay,hide,nocrossmnt,insecure,no_root_squash,no_all_squash,no_subtree_check,secure_locks,acl,no_pnfs,anonuid=65534,anongid=65534,sec=sys,rw,insecure,no_root_squash,no_all_squash)\n\
/install/nim/spot/s/usr\t10.0.0.0/8(ro,secure,root_squash)\n";
        let a = parse_knfsd(etab);
        assert!(a.unreadable.is_empty(), "{:?}", a.unreadable);
        let g = a
            .grant("/install/nim/root/r/cn001", &who("cn001", "10.0.0.1"))
            .unwrap();
        assert_eq!(
            (g.access, g.squash, g.insecure),
            (Access::Rw, Squash::None, true)
        );
        assert!(a
            .grant("/install/nim/root/r/cn001", &who("cn002", "10.0.0.2"))
            .is_none());
        let g = a
            .grant("/install/nim/spot/s/usr/lib", &who("cn002", "10.0.0.2"))
            .unwrap();
        assert_eq!(
            (g.access, g.squash, g.insecure),
            (Access::Ro, Squash::Root, false)
        );
        let v = "/install/nim/root/a/very/long/path\n\t\tcn001.cluster(rw,wdelay,no_root_squash,insecure)\n/x  \t*(ro)\n";
        let a = parse_knfsd(v);
        let g = a
            .grant(
                "/install/nim/root/a/very/long/path",
                &who("cn001.cluster", ""),
            )
            .unwrap();
        assert_eq!(g.access, Access::Rw);
        assert!(a.grant("/x", &who("any", "")).is_some());
    }

    #[test]
    fn aix_exportfs() {
        let a = parse_aix("/install/nim/root/r/cn001 -root=cn001,access=cn001\n/install/nim/spot/s/usr -ro,root=cn001:cn002,access=cn001:cn002\n");
        let g = a
            .grant("/install/nim/root/r/cn001", &who("cn001", ""))
            .unwrap();
        assert_eq!((g.access, g.squash), (Access::Rw, Squash::None));
        let g = a
            .grant("/install/nim/spot/s/usr", &who("cn002", ""))
            .unwrap();
        assert_eq!(g.access, Access::Ro);
        assert!(a
            .grant("/install/nim/spot/s/usr", &who("cn003", ""))
            .is_none());
    }

    #[test]
    fn ganesha_blocks_with_client_and_export_defaults() {
        let conf = "NFS_CORE_PARAM { Protocols = 4; }\n\
EXPORT {\n  Export_Id = 101;\n  Path = \"/install/statemnt\";\n  Pseudo = /install/statemnt;\n  Access_Type = None; # none unless listed\n  Squash = Root_Squash;\n  FSAL { Name = VFS; }\n  CLIENT { Clients = lcn001, 10.1.0.0/16; Access_Type = RW; Squash = No_Root_Squash; }\n  CLIENT { Clients = lcn9*; Access_Type = RO; }\n}\n\
EXPORT { Export_Id = 102; Path = /install/img/rootimg; Access_Type = RO; Squash = None; FSAL { Name = VFS; } }\n";
        let a = parse_ganesha(conf);
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

    #[test]
    fn ces_records_by_header_names() {
        let text = "mmnfs:nfsexports:HEADER:version:reserved:reserved:Path:Delegations:Clients:Access_Type:Protocols:Transports:Squash:\n\
mmnfs:nfsexports:0:1:::/gpfs/install/nim/root/r/cn001:NONE:cn001:RW:3%2C4:TCP:NO_ROOT_SQUASH:\n\
mmnfs:nfsexports:0:1:::/gpfs/install/spot:NONE:10.0.0.0%2F8:RO:3%2C4:TCP:ROOT_SQUASH:\n";
        let a = parse_ces(text);
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
