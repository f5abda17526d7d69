//! AIX `/etc/exports` (`directory -option,option`): parsing an SN's lines into the model, and
//! rendering the managed block an AIX external server exports from.

use std::collections::{BTreeMap, BTreeSet};

use super::error::Unsupported;
use super::merge::{Merged, MergedExport};
use super::model::{
    parse_file, parse_sec_list, sec_names, Access, Client, ClientAccess, Entry, Export,
    LineProblem, Sec, Squash,
};

/// The first line of the block we own in an AIX server's `/etc/exports`.
pub const BEGIN: &str =
    "# BEGIN xcat-extnfs: generated from the service nodes' exports; edits here are overwritten";
/// The last line of that block.
pub const END: &str = "# END xcat-extnfs";

/// AIX options understood but not carried to the external server: NFSv4 referrals and
/// replicas point at the SNs, which an HA server replaces.
const DROPPED: [&str; 6] = ["public", "exname", "refer", "replicas", "noauto", "deleg"];

/// Parses an AIX exports file; lines that cannot be understood are returned as problems.
pub fn parse(text: &str, file: &str) -> (Vec<Entry>, Vec<LineProblem>) {
    parse_file(text, file, parse_line, |l| {
        l.split_whitespace().next().map(str::to_string)
    })
}

/// The options of one line, as AIX reads them.
#[derive(Default)]
struct Options {
    ro: bool,
    rw: bool,
    ro_list: Option<Vec<Client>>,
    rw_list: Option<Vec<Client>>,
    access: Option<Vec<Client>>,
    root: Vec<Client>,
    anon: Option<i64>,
    sec: Option<BTreeSet<Sec>>,
    vers: BTreeSet<u8>,
    notes: Vec<String>,
}

/// Parses `directory [-option,option...]` into an export and notes on dropped options.
pub fn parse_line(line: &str) -> Result<(Export, Vec<String>), String> {
    let words: Vec<&str> = line.split_whitespace().collect();
    let path = words[0];
    if !path.starts_with('/') {
        return Err("expected `directory -options`: the directory is not absolute".into());
    }
    let options = match words[1..] {
        [] => Options::default(),
        [opts] if opts.starts_with('-') => parse_options(&opts[1..])?,
        _ => return Err("expected `directory -options` (options after one `-`, no spaces)".into()),
    };
    to_export(path, options)
}

fn parse_options(text: &str) -> Result<Options, String> {
    let mut o = Options::default();
    for opt in text.split(',').filter(|s| !s.is_empty()) {
        let (key, value) = match opt.split_once('=') {
            Some((k, v)) => (k, Some(v)),
            None => (opt, None),
        };
        match (key, value) {
            ("ro", None) => o.ro = true,
            ("rw", None) => o.rw = true,
            ("ro", Some(v)) => o.ro_list = Some(client_list(v)?),
            ("rw", Some(v)) => o.rw_list = Some(client_list(v)?),
            ("access", Some(v)) => o.access = Some(client_list(v)?),
            ("root", Some(v)) => o.root.extend(client_list(v)?),
            ("anon", Some(v)) => {
                o.anon = Some(
                    v.parse()
                        .map_err(|_| format!("anon=`{v}` is not a number"))?,
                )
            }
            ("sec", Some(v)) => o.sec = Some(parse_sec_list(v)?),
            ("vers", Some(v)) => o.vers.extend(versions(v)?),
            (k, _) if DROPPED.contains(&k) => o.notes.push(format!(
                "option `{opt}` is not carried to the external server"
            )),
            _ => return Err(format!("unknown or incomplete option `{opt}`")),
        }
    }
    Ok(o)
}

fn versions(value: &str) -> Result<Vec<u8>, String> {
    value
        .split(':')
        .map(|v| match v {
            "2" | "3" | "4" => Ok(v.as_bytes()[0] - b'0'),
            _ => Err(format!(
                "vers=`{value}`: `{v}` is not an NFS version (2, 3 or 4)"
            )),
        })
        .collect()
}

/// A colon-separated AIX client list.
fn client_list(value: &str) -> Result<Vec<Client>, String> {
    value.split(':').map(parse_client).collect()
}

/// One AIX client: a host name or address, `@net/mask` (a subnet), or `*`.
pub fn parse_client(word: &str) -> Result<Client, String> {
    if word == "*" {
        return Ok(Client::Everyone);
    }
    if let Some(net) = word.strip_prefix('@') {
        let (addr, mask) = net
            .split_once('/')
            .ok_or_else(|| format!("client `{word}`: a subnet is written `@address/mask`"))?;
        return Client::network(addr, mask).map_err(|why| format!("client `{word}`: {why}"));
    }
    if word.contains(['*', '?']) {
        return Err(format!("client `{word}`: AIX exports have no wildcards"));
    }
    crate::host::validate_hostname(word)
        .map(|()| Client::Host(word.to_string()))
        .map_err(|e| format!("client {e}"))
}

/// Turns AIX semantics into per-client grants. Without `access=` anyone may mount; with it,
/// the `access=`, `ro=` and `rw=` clients may (`access=x,ro=y`: x read-write, y read-only);
/// `root=` never grants a mount by itself. AIX's default is read-write.
fn to_export(path: &str, mut o: Options) -> Result<(Export, Vec<String>), String> {
    if o.ro_list.is_some() && o.rw_list.is_some() {
        return Err("`ro=` and `rw=` lists cannot be combined".into());
    }
    let default = match (o.ro, o.rw, &o.rw_list) {
        (true, _, _) => Access::Ro,
        (false, true, _) => Access::Rw,
        (false, false, Some(_)) => Access::Ro,
        (false, false, None) => Access::Rw,
    };
    let ro_list = o.ro_list.take().unwrap_or_default();
    let rw_list = o.rw_list.take().unwrap_or_default();
    let root_all = o.root.contains(&Client::Everyone);
    let access = o.access.take().filter(|a| !a.contains(&Client::Everyone));
    let mut allowed: BTreeSet<Client> = ro_list.iter().chain(&rw_list).cloned().collect();
    match &access {
        Some(list) => allowed.extend(list.iter().cloned()),
        None => {
            allowed.insert(Client::Everyone);
            allowed.extend(o.root.iter().cloned());
        }
    }
    let mut export = Export::new(path);
    export.versions = std::mem::take(&mut o.vers);
    for client in allowed {
        let access = match () {
            _ if rw_list.contains(&client) => Access::Rw,
            _ if ro_list.contains(&client) => Access::Ro,
            _ => default,
        };
        let squash = match root_all || o.root.contains(&client) {
            true => Squash::None,
            false => Squash::Root,
        };
        let mut grant = ClientAccess::new(access, squash);
        grant.anon_uid = o.anon;
        grant.sec = o.sec.clone().unwrap_or(grant.sec);
        grant.insecure = true;
        export.clients.insert(client, grant);
    }
    for c in o.root.iter().filter(|c| **c != Client::Everyone) {
        if !export.clients.contains_key(c) {
            o.notes.push(format!(
                "root={c} is not in access=, so {c} cannot mount (as on AIX)"
            ));
        }
    }
    Ok((export, o.notes))
}

/// Renders the managed block: one line per path, in path order.
pub fn render_block(merged: &Merged) -> Result<String, Vec<Unsupported>> {
    let mut lines = vec![BEGIN.to_string()];
    let mut problems = Vec::new();
    for m in merged
        .exports
        .values()
        .filter(|m| !m.export.clients.is_empty())
    {
        match render_line(m) {
            Ok(line) => lines.push(line),
            Err(mut p) => problems.append(&mut p),
        }
    }
    lines.push(END.to_string());
    match problems.is_empty() {
        true => Ok(lines.join("\n") + "\n"),
        false => Err(problems),
    }
}

/// One AIX line for a merged export, in NIM's style:
/// `path -vers=..,sec=..,ro|rw|rw=..,root=..,access=..,anon=..`.
pub fn render_line(m: &MergedExport) -> Result<String, Vec<Unsupported>> {
    let e = &m.export;
    let mut problems: Vec<Unsupported> = e
        .clients
        .iter()
        .filter_map(|(c, a)| client_problem(m, c, a))
        .collect();
    let common = |what: &str, differs: bool| {
        differs.then(|| m.unsupported(None, what, "AIX sets it once per export"))
    };
    let first = e.clients.values().next().cloned();
    let first = first.unwrap_or_else(|| ClientAccess::new(Access::Ro, Squash::Root));
    problems.extend(common(
        "different anon= per client",
        e.clients.values().any(|a| a.anon_uid != first.anon_uid),
    ));
    problems.extend(common(
        "different sec= per client",
        e.clients.values().any(|a| a.sec != first.sec),
    ));
    let everyone = e.clients.get(&Client::Everyone);
    if let Some(all) = everyone.filter(|a| a.squash == Squash::None) {
        let squashed = e.clients.iter().filter(|(_, a)| a.squash != all.squash);
        for (c, _) in squashed {
            problems.push(m.unsupported(Some(c), "root squashed", "root=* already allows root"));
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let mut opts = Vec::new();
    if !e.versions.is_empty() {
        let v: Vec<String> = e.versions.iter().map(u8::to_string).collect();
        opts.push(format!("vers={}", v.join(":")));
    }
    if !first.default_sec() {
        opts.push(format!("sec={}", sec_names(&first.sec, ":")));
    }
    opts.extend(access_options(&e.clients, everyone));
    if let Some(uid) = first.anon_uid {
        opts.push(format!("anon={uid}"));
    }
    Ok(format!("{} -{}", e.path, opts.join(",")))
}

fn client_problem(m: &MergedExport, c: &Client, a: &ClientAccess) -> Option<Unsupported> {
    let why = match c {
        Client::Netgroup(_) | Client::Pattern(_) => "AIX lists hold hosts, addresses and subnets",
        Client::Host(h) | Client::Network { addr: h, .. } if h.contains(':') => {
            "AIX client lists are colon-separated, so an IPv6 address cannot be listed"
        }
        _ if a.squash == Squash::All => {
            return Some(m.unsupported(Some(c), "all_squash", "AIX has no all_squash"))
        }
        _ => return None,
    };
    Some(m.unsupported(Some(c), &format!("client {c}"), why))
}

/// The access options: `ro`/`rw`, then `rw=`/`ro=` for the clients that differ, `root=`,
/// and `access=` unless everyone may mount.
fn access_options(
    clients: &BTreeMap<Client, ClientAccess>,
    everyone: Option<&ClientAccess>,
) -> Vec<String> {
    let named = |pred: &dyn Fn(&ClientAccess) -> bool| -> Vec<String> {
        clients
            .iter()
            .filter(|(c, a)| **c != Client::Everyone && pred(a))
            .map(|(c, _)| aix_client(c))
            .collect()
    };
    let mut opts = Vec::new();
    let (default, root_all) = match everyone {
        Some(all) => (all.access, all.squash == Squash::None),
        None if clients.values().all(|a| a.access == Access::Ro) => (Access::Ro, false),
        None => (Access::Rw, false),
    };
    let rw_listed = everyone.is_none() && clients.values().any(|a| a.access != default);
    match (default, rw_listed) {
        (Access::Ro, _) | (Access::Rw, false) => opts.push(format!("{default:?}").to_lowercase()),
        (Access::Rw, true) => {}
    }
    let differing = named(&|a| a.access != default);
    if rw_listed || (!differing.is_empty() && default == Access::Ro) {
        opts.push(format!(
            "rw={}",
            named(&|a| a.access == Access::Rw).join(":")
        ));
    } else if !differing.is_empty() {
        opts.push(format!("ro={}", differing.join(":")));
    }
    let root = named(&|a| a.squash == Squash::None);
    match root_all {
        true => opts.push("root=*".into()),
        false if !root.is_empty() => opts.push(format!("root={}", root.join(":"))),
        false => {}
    }
    if everyone.is_none() {
        opts.push(format!("access={}", named(&|_| true).join(":")));
    }
    opts
}

/// A client as AIX writes it (subnets with a leading `@`).
fn aix_client(c: &Client) -> String {
    match c {
        Client::Network { .. } => format!("@{c}"),
        _ => c.to_string(),
    }
}

/// Replaces our block in an `/etc/exports` text (or appends it); an empty block where there
/// was none leaves the text alone. A lone BEGIN or END marker is an error.
pub fn replace_block(current: &str, block: &str) -> Result<String, String> {
    let lines: Vec<&str> = current.lines().collect();
    let begin = lines.iter().position(|l| l.trim_end() == BEGIN);
    let end = lines.iter().position(|l| l.trim_end() == END);
    let (before, after) = match (begin, end) {
        (Some(b), Some(e)) if b < e => (&lines[..b], &lines[e + 1..]),
        (None, None) if block.lines().count() <= 2 => return Ok(current.to_string()),
        (None, None) => (&lines[..], &lines[..0]),
        _ => {
            return Err(format!(
                "the `{BEGIN}` and `{END}` lines do not form one block"
            ))
        }
    };
    let mut out = String::new();
    for l in before.iter() {
        out.push_str(l);
        out.push('\n');
    }
    out.push_str(block);
    for l in after.iter() {
        out.push_str(l);
        out.push('\n');
    }
    Ok(out)
}

/// The paths exported inside our block, and those exported outside it (with line numbers).
pub fn block_paths(text: &str) -> (BTreeSet<String>, Vec<(usize, String)>) {
    let mut inside = BTreeSet::new();
    let mut outside = Vec::new();
    let mut in_block = false;
    for (i, line) in text.lines().enumerate() {
        match line.trim_end() {
            BEGIN => in_block = true,
            END => in_block = false,
            l if l.starts_with('/') => {
                let path = l.split_whitespace().next().unwrap_or(l).to_string();
                match in_block {
                    true => {
                        inside.insert(path);
                    }
                    false => outside.push((i + 1, path)),
                }
            }
            _ => {}
        }
    }
    (inside, outside)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grants(line: &str) -> Vec<(String, Access, Squash)> {
        let (e, _) = parse_line(line).unwrap();
        e.clients
            .iter()
            .map(|(c, a)| (c.to_string(), a.access, a.squash))
            .collect()
    }

    fn g(c: &str, a: Access, s: Squash) -> (String, Access, Squash) {
        (c.to_string(), a, s)
    }

    #[test]
    fn no_ro_means_read_write_to_everyone() {
        assert_eq!(grants("/x"), [g("*", Access::Rw, Squash::Root)]);
        assert_eq!(grants("/x -ro"), [g("*", Access::Ro, Squash::Root)]);
        assert_eq!(grants("/x -rw"), [g("*", Access::Rw, Squash::Root)]);
    }

    #[test]
    fn nim_spot_line() {
        let got = grants("/install/nim/spot/71B/usr -ro,root=cn001:cn002,access=cn001:cn002");
        assert_eq!(
            got,
            [
                g("cn001", Access::Ro, Squash::None),
                g("cn002", Access::Ro, Squash::None)
            ]
        );
    }

    #[test]
    fn rw_and_ro_lists() {
        assert_eq!(
            grants("/x -rw=a:b"),
            [
                g("a", Access::Rw, Squash::Root),
                g("b", Access::Rw, Squash::Root),
                g("*", Access::Ro, Squash::Root)
            ]
        );
        assert_eq!(
            grants("/x -ro=a"),
            [
                g("a", Access::Ro, Squash::Root),
                g("*", Access::Rw, Squash::Root)
            ]
        );
        assert_eq!(
            grants("/x -access=x,ro=y"),
            [
                g("x", Access::Rw, Squash::Root),
                g("y", Access::Ro, Squash::Root)
            ]
        );
        assert_eq!(
            grants("/x -access=x,rw=y"),
            [
                g("x", Access::Ro, Squash::Root),
                g("y", Access::Rw, Squash::Root)
            ]
        );
        assert!(parse_line("/x -ro=a,rw=b").is_err());
    }

    #[test]
    fn root_lists() {
        assert_eq!(
            grants("/x -root=a"),
            [
                g("a", Access::Rw, Squash::None),
                g("*", Access::Rw, Squash::Root)
            ]
        );
        assert_eq!(grants("/x -rw,root=*"), [g("*", Access::Rw, Squash::None)]);
        let (e, notes) = parse_line("/x -root=a:b,access=a").unwrap();
        assert_eq!(e.clients.len(), 1);
        assert!(notes[0].contains("root=b"), "{notes:?}");
    }

    #[test]
    fn anon_sec_vers_and_subnets() {
        let (e, _) = parse_line("/x -vers=3:4,sec=sys:krb5p,anon=0,access=@10.1.2.0/16").unwrap();
        assert_eq!(e.versions, BTreeSet::from([3, 4]));
        let (c, a) = e.clients.iter().next().unwrap();
        assert_eq!(c.to_string(), "10.1.0.0/16");
        assert_eq!(a.anon_uid, Some(0));
        assert_eq!(sec_names(&a.sec, ":"), "sys:krb5p");
        assert!(a.insecure);
    }

    #[test]
    fn replicas_are_noted_not_refused() {
        let (e, notes) = parse_line(
            "/install -vers=4,replicas=/install@10.0.0.1:/install@10.0.0.2,noauto,rw,root=*",
        )
        .unwrap();
        assert_eq!(e.clients.len(), 1);
        assert_eq!(notes.len(), 2, "{notes:?}");
    }

    #[test]
    fn bad_lines_are_problems_naming_the_line() {
        let text = "/ok -ro\n/bad -frobnicate\n/two words here\n/w -access=cn*\nrelative -ro\n";
        let (entries, problems) = parse(text, "/etc/exports");
        assert_eq!(entries.len(), 1);
        let msgs: Vec<String> = problems.iter().map(|p| p.to_string()).collect();
        assert_eq!(msgs.len(), 4, "{msgs:?}");
        assert!(
            msgs[0].contains("line 2") && msgs[0].contains("frobnicate"),
            "{msgs:?}"
        );
        assert!(msgs[2].contains("wildcards"), "{msgs:?}");
        assert_eq!(problems[0].path.as_deref(), Some("/bad"));
    }

    #[test]
    fn block_replacement() {
        let block = format!("{BEGIN}\n/a -ro\n{END}\n");
        let empty = format!("{BEGIN}\n{END}\n");
        assert_eq!(replace_block("/own -ro\n", &empty).unwrap(), "/own -ro\n");
        let added = replace_block("/own -ro", &block).unwrap();
        assert_eq!(added, format!("/own -ro\n{block}"));
        let changed = replace_block(&added, &format!("{BEGIN}\n/b -rw\n{END}\n")).unwrap();
        assert_eq!(changed, format!("/own -ro\n{BEGIN}\n/b -rw\n{END}\n"));
        assert!(replace_block(&format!("{BEGIN}\n/a\n"), &block).is_err());
        let (inside, outside) = block_paths(&format!("/b -ro\n{block}"));
        assert_eq!(inside, BTreeSet::from(["/a".to_string()]));
        assert_eq!(outside, [(1, "/b".to_string())]);
    }
}
