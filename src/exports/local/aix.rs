//! AIX `/etc/exports` (`directory -option,option`) as a service node writes it: its lines
//! parsed into the neutral model.

use std::collections::BTreeSet;

use crate::exports::model::{
    parse_file, parse_sec_list, Access, Client, ClientAccess, Entry, Export, LineProblem, Sec,
    Squash,
};

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exports::model::sec_names;

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
}
