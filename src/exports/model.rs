//! The neutral exports model every dialect is parsed into and rendered from: per path, each
//! client's access, root squash, anonymous uid, security flavours and port rule; NFS versions.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

/// Read-only or read-write; ordered so that the wider access is the greater.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Access {
    Ro,
    Rw,
}

/// Whose requests are mapped to the anonymous uid; ordered from narrowest (everyone squashed)
/// to widest (root allowed).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Squash {
    /// Every user is mapped (Linux `all_squash`).
    All,
    /// Root is mapped (the default of every dialect).
    Root,
    /// Root keeps uid 0 (AIX `root=`, Linux `no_root_squash`).
    None,
}

/// An RPC security flavour.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Sec {
    None,
    Sys,
    Krb5,
    Krb5i,
    Krb5p,
    /// AIX Diffie-Hellman (`sec=dh`): nothing else speaks it.
    Dh,
}

impl Sec {
    /// Parses a flavour as both dialects write it.
    pub fn parse(word: &str) -> Option<Sec> {
        Some(match word {
            "none" => Sec::None,
            "sys" | "unix" => Sec::Sys,
            "krb5" => Sec::Krb5,
            "krb5i" => Sec::Krb5i,
            "krb5p" => Sec::Krb5p,
            "dh" | "des" => Sec::Dh,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Sec::None => "none",
            Sec::Sys => "sys",
            Sec::Krb5 => "krb5",
            Sec::Krb5i => "krb5i",
            Sec::Krb5p => "krb5p",
            Sec::Dh => "dh",
        }
    }
}

/// Parses a colon-separated flavour list (`sys:krb5`), both dialects' spelling.
pub fn parse_sec_list(value: &str) -> Result<BTreeSet<Sec>, String> {
    let mut out = BTreeSet::new();
    for word in value.split(':') {
        out.insert(Sec::parse(word).ok_or_else(|| format!("unknown security flavour `{word}`"))?);
    }
    Ok(out)
}

/// Joins flavours with `sep` in their canonical order.
pub fn sec_names(sec: &BTreeSet<Sec>, sep: &str) -> String {
    sec.iter().map(|s| s.name()).collect::<Vec<_>>().join(sep)
}

/// Who may mount: the variants are ordered from most to least specific, which is the order
/// clients must be listed in where the first match wins (Ganesha, CES).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub enum Client {
    /// A host name or an address.
    Host(String),
    /// A subnet; `addr` is an address, or a host name until it is resolved (AIX `@name/16`).
    Network { addr: String, prefix: u8 },
    /// A NIS netgroup (Linux `@group`).
    Netgroup(String),
    /// A host-name wildcard such as `cn*.example`.
    Pattern(String),
    /// Every host (`*`).
    Everyone,
}

impl Client {
    /// Parses the canonical (Linux exports) spelling: `host`, `addr/prefix`, `addr/netmask`,
    /// `@netgroup`, a wildcard pattern, or `*`.
    pub fn parse(text: &str) -> Result<Client, String> {
        if text == "*" {
            return Ok(Client::Everyone);
        }
        if let Some(group) = text.strip_prefix('@') {
            return match valid_label_chars(group, "-_.") {
                true => Ok(Client::Netgroup(group.to_string())),
                false => Err(format!("`{text}` is not a valid netgroup")),
            };
        }
        if let Some((addr, mask)) = text.split_once('/') {
            return Client::network(addr, mask).map_err(|why| format!("`{text}`: {why}"));
        }
        if text.contains(['*', '?']) {
            return match valid_label_chars(text, "-_.*?") {
                true => Ok(Client::Pattern(text.to_string())),
                false => Err(format!("`{text}` is not a valid host-name pattern")),
            };
        }
        crate::host::validate_hostname(text)
            .map(|()| Client::Host(text.to_string()))
            .map_err(|e| e.to_string())
    }

    /// A subnet from an address (or host name) and a prefix length or dotted netmask; an
    /// address is masked to its network.
    pub fn network(addr: &str, mask: &str) -> Result<Client, String> {
        let ip = addr.parse::<IpAddr>().ok();
        if ip.is_none() {
            crate::host::validate_hostname(addr).map_err(|e| e.to_string())?;
        }
        let max = if matches!(ip, Some(IpAddr::V6(_))) {
            128
        } else {
            32
        };
        let prefix = parse_mask(mask, max)?;
        let addr = match ip {
            Some(ip) => mask_address(ip, prefix).to_string(),
            None => addr.to_string(),
        };
        Ok(Client::Network { addr, prefix })
    }

    /// Whether this client is (or may be) a single host.
    pub fn is_host(&self) -> bool {
        matches!(self, Client::Host(_))
    }

    /// How general the client is: 0 for a host up to 4 for everyone. Where the first match
    /// wins, clients are listed by rank.
    pub fn rank(&self) -> u8 {
        match self {
            Client::Host(_) => 0,
            Client::Network { .. } => 1,
            Client::Netgroup(_) => 2,
            Client::Pattern(_) => 3,
            Client::Everyone => 4,
        }
    }

    /// Whether the subnet still names a host instead of an address.
    pub fn needs_address(&self) -> bool {
        match self {
            Client::Network { addr, .. } => addr.parse::<IpAddr>().is_err(),
            _ => false,
        }
    }
}

impl fmt::Display for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Client::Host(h) | Client::Pattern(h) => f.write_str(h),
            Client::Network { addr, prefix } => write!(f, "{addr}/{prefix}"),
            Client::Netgroup(g) => write!(f, "@{g}"),
            Client::Everyone => f.write_str("*"),
        }
    }
}

impl From<Client> for String {
    fn from(c: Client) -> String {
        c.to_string()
    }
}

impl TryFrom<String> for Client {
    type Error = String;
    fn try_from(s: String) -> Result<Client, String> {
        Client::parse(&s)
    }
}

fn valid_label_chars(text: &str, extra: &str) -> bool {
    !text.is_empty()
        && !text.starts_with('-')
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || extra.contains(c))
}

/// A prefix length, or an IPv4 dotted netmask turned into one.
fn parse_mask(mask: &str, max: u8) -> Result<u8, String> {
    if let Ok(n) = mask.parse::<u8>() {
        return match n <= max {
            true => Ok(n),
            false => Err(format!("prefix length {n} is larger than {max}")),
        };
    }
    let bits = match mask.parse::<std::net::Ipv4Addr>() {
        Ok(m) if max == 32 => u32::from(m),
        _ => return Err(format!("`{mask}` is neither a prefix length nor a netmask")),
    };
    let ones = bits.leading_ones();
    match bits.checked_shl(ones).unwrap_or(0) == 0 {
        true => Ok(ones as u8),
        false => Err(format!("netmask `{mask}` is not contiguous")),
    }
}

fn mask_address(ip: IpAddr, prefix: u8) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
            IpAddr::V4((u32::from(v4) & mask).into())
        }
        IpAddr::V6(v6) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
            IpAddr::V6((u128::from(v6) & mask).into())
        }
    }
}

/// What one client may do on one export.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ClientAccess {
    pub access: Access,
    pub squash: Squash,
    /// The uid squashed requests get; `None` is the server's default ("nobody").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub anon_uid: Option<i64>,
    /// Accepted flavours; never empty (`sys` when the export names none).
    pub sec: BTreeSet<Sec>,
    /// The client sends from unprivileged ports (every AIX client: `nfs_use_reserved_ports=0`).
    pub insecure: bool,
}

impl ClientAccess {
    /// `access` with `squash`, the default flavour and anonymous uid, privileged ports.
    pub fn new(access: Access, squash: Squash) -> ClientAccess {
        ClientAccess {
            access,
            squash,
            anon_uid: None,
            sec: BTreeSet::from([Sec::Sys]),
            insecure: false,
        }
    }

    /// Combines the grants two service nodes gave the same client on the same path: each
    /// granted what it granted, so the union keeps the wider of each. Commutative,
    /// associative and idempotent, so the order in which parts are merged does not matter.
    pub fn merge(&mut self, other: &ClientAccess) {
        self.access = self.access.max(other.access);
        self.squash = self.squash.max(other.squash);
        self.anon_uid = self.anon_uid.max(other.anon_uid);
        self.sec.extend(other.sec.iter().copied());
        self.insecure |= other.insecure;
    }

    /// Whether the flavours are just the default `sys`.
    pub fn default_sec(&self) -> bool {
        self.sec.len() == 1 && self.sec.contains(&Sec::Sys)
    }
}

/// One exported path and everything about who may mount it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Export {
    pub path: String,
    /// NFS versions the export names (2, 3, 4); empty: the server's default.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub versions: BTreeSet<u8>,
    pub clients: BTreeMap<Client, ClientAccess>,
}

impl Export {
    pub fn new(path: &str) -> Export {
        Export {
            path: path.to_string(),
            versions: BTreeSet::new(),
            clients: BTreeMap::new(),
        }
    }

    /// Grants `access` to `client`, merged with what the client already has.
    pub fn grant(&mut self, client: Client, access: ClientAccess) {
        match self.clients.get_mut(&client) {
            Some(have) => have.merge(&access),
            None => {
                self.clients.insert(client, access);
            }
        }
    }

    /// The union of two exports of the same path (see [`ClientAccess::merge`]).
    pub fn merge(&mut self, other: &Export) {
        self.versions.extend(other.versions.iter().copied());
        for (client, access) in &other.clients {
            self.grant(client.clone(), access.clone());
        }
    }
}

/// Where a parsed export came from.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Source {
    pub file: String,
    pub line: usize,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} line {}", self.file, self.line)
    }
}

/// One exports line understood.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub export: Export,
    pub source: Source,
    /// Options that are not carried to the external server, explained.
    pub notes: Vec<String>,
}

/// One exports line not understood.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LineProblem {
    pub source: Source,
    /// The line's first word, when it looks like a path.
    pub path: Option<String>,
    pub text: String,
    pub message: String,
}

impl fmt::Display for LineProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}: `{}`", self.source, self.message, self.text)
    }
}

/// What a dialect makes of one logical line: its export and notes, or why not.
pub type LineParser = fn(&str) -> Result<(Export, Vec<String>), String>;

/// Parses every logical line of an exports file with `parse_line`; a line it refuses becomes
/// a problem whose path is what `first_word` finds.
pub fn parse_file(
    text: &str,
    file: &str,
    parse_line: LineParser,
    first_word: fn(&str) -> Option<String>,
) -> (Vec<Entry>, Vec<LineProblem>) {
    let mut entries = Vec::new();
    let mut problems = Vec::new();
    for (line, text) in logical_lines(text) {
        let source = Source {
            file: file.to_string(),
            line,
        };
        match parse_line(&text) {
            Ok((export, notes)) => entries.push(Entry {
                export,
                source,
                notes,
            }),
            Err(message) => problems.push(LineProblem {
                source,
                path: first_word(&text),
                text,
                message,
            }),
        }
    }
    (entries, problems)
}

/// Checks an exported path: absolute, and free of characters that some dialect would need
/// quoted or escaped (NIM and xCAT paths never hold them).
pub fn validate_path(path: &str) -> Result<(), String> {
    if !path.starts_with('/') {
        return Err("it is not absolute".to_string());
    }
    if path.len() > 1 && path.ends_with('/') {
        return Err("it ends with '/'".to_string());
    }
    if path.split('/').any(|c| c == "." || c == "..") {
        return Err("it has a '.' or '..' component".to_string());
    }
    match path
        .chars()
        .find(|c| c.is_whitespace() || c.is_control() || "\"'\\#;,:(){}$`*?[]<>|&=!".contains(*c))
    {
        Some(c) => Err(format!("it contains {c:?}")),
        None => Ok(()),
    }
}

/// The logical lines of an exports file: comments removed, `\` continuations joined, blank
/// lines dropped; each with the number of the line it starts on.
pub fn logical_lines(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut pending: Option<(usize, String)> = None;
    for (i, raw) in text.lines().enumerate() {
        let line = strip_comment(raw);
        let (body, continued) = match line.strip_suffix('\\') {
            Some(b) => (b, true),
            None => (line, false),
        };
        let entry = pending.get_or_insert_with(|| (i + 1, String::new()));
        entry.1.push_str(body);
        entry.1.push(' ');
        if !continued {
            let (n, joined) = pending.take().unwrap_or_default();
            if !joined.trim().is_empty() {
                out.push((n, joined.trim().to_string()));
            }
        }
    }
    if let Some((n, joined)) = pending.filter(|(_, j)| !j.trim().is_empty()) {
        out.push((n, joined.trim().to_string()));
    }
    out
}

/// Cuts a `#` comment: at the start of the line or after white space.
fn strip_comment(line: &str) -> &str {
    let mut prev_space = true;
    for (i, c) in line.char_indices() {
        if c == '#' && prev_space {
            return line[..i].trim_end();
        }
        prev_space = c.is_whitespace();
    }
    line.trim_end()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clients_parse_in_every_form() {
        assert_eq!(Client::parse("*").unwrap(), Client::Everyone);
        assert_eq!(
            Client::parse("cn001").unwrap(),
            Client::Host("cn001".into())
        );
        assert_eq!(
            Client::parse("@compute").unwrap(),
            Client::Netgroup("compute".into())
        );
        assert_eq!(
            Client::parse("cn*.example").unwrap(),
            Client::Pattern("cn*.example".into())
        );
        assert_eq!(
            Client::parse("10.1.2.3/16").unwrap().to_string(),
            "10.1.0.0/16"
        );
        assert_eq!(
            Client::parse("10.1.2.3/255.255.255.0").unwrap().to_string(),
            "10.1.2.0/24"
        );
        assert_eq!(
            Client::parse("fd00::1/64").unwrap().to_string(),
            "fd00::/64"
        );
        for bad in [
            "cn1;reboot",
            "10.0.0.0/33",
            "10.0.0.0/255.0.255.0",
            "@",
            "a b",
        ] {
            assert!(Client::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn specific_clients_sort_before_wildcards() {
        let mut v = [
            Client::Everyone,
            Client::Pattern("cn*".into()),
            Client::Netgroup("g".into()),
            Client::parse("10.0.0.0/8").unwrap(),
            Client::Host("cn2".into()),
        ];
        v.sort();
        assert!(v[0].is_host());
        assert_eq!(v[4], Client::Everyone);
    }

    #[test]
    fn merge_keeps_the_wider_grant() {
        let mut a = ClientAccess::new(Access::Ro, Squash::Root);
        let mut b = ClientAccess::new(Access::Rw, Squash::None);
        b.sec.insert(Sec::Krb5);
        a.merge(&b);
        assert_eq!(a.access, Access::Rw);
        assert_eq!(a.squash, Squash::None);
        assert_eq!(sec_names(&a.sec, ":"), "sys:krb5");
    }

    #[test]
    fn paths_are_checked() {
        assert!(validate_path("/install/nim/spot/71B/usr").is_ok());
        for bad in ["install", "/a b", "/a/../b", "/a;b", "/a/"] {
            assert!(validate_path(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn logical_lines_join_and_strip() {
        let text = "# header\n/a -ro # note\n\n/b \\\n  host(rw)\n/c#x h\n";
        let got = logical_lines(text);
        assert_eq!(
            got,
            vec![
                (2, "/a -ro".to_string()),
                (4, "/b    host(rw)".to_string()),
                (6, "/c#x h".to_string())
            ]
        );
    }

    #[test]
    fn clients_serialise_as_strings() {
        let mut e = Export::new("/x");
        e.grant(
            Client::parse("10.0.0.0/8").unwrap(),
            ClientAccess::new(Access::Ro, Squash::Root),
        );
        let json = serde_json::to_string(&e).unwrap();
        assert!(json.contains("\"10.0.0.0/8\""), "{json}");
        let back: Export = serde_json::from_str(&json).unwrap();
        assert_eq!(back, e);
    }
}
