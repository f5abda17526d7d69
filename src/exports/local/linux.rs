//! Linux exports(5) (`path client(options)`) as a service node writes it: its lines parsed
//! into the neutral model.

use crate::exports::model::{
    parse_file, parse_sec_list, Access, Client, ClientAccess, Entry, Export, LineProblem, Squash,
};

/// Options that only steer the server, which we set ourselves (`sync`, `no_subtree_check`,
/// `fsid=`), so an SN's value is not carried over.
const SERVER_SIDE: [&str; 9] = [
    "sync",
    "async",
    "subtree_check",
    "no_subtree_check",
    "wdelay",
    "no_wdelay",
    "fsid",
    "hide",
    "no_acl",
];

/// Options understood but not carried to the external server, with a note.
const DROPPED: [&str; 11] = [
    "anongid",
    "crossmnt",
    "nohide",
    "mp",
    "mountpoint",
    "refer",
    "replicas",
    "pnfs",
    "no_pnfs",
    "security_label",
    "insecure_locks",
];

/// Parses a Linux exports file; lines that cannot be understood are returned as problems.
pub fn parse(text: &str, file: &str) -> (Vec<Entry>, Vec<LineProblem>) {
    parse_file(text, file, parse_line, |l| {
        split_words(l).ok().and_then(|w| w.into_iter().next())
    })
}

/// Parses `path [-defaults] client(options) ...`. A client without options gets the
/// defaults; `(options)` alone, or a line without clients, exports to everyone, as exportfs
/// does.
pub fn parse_line(line: &str) -> Result<(Export, Vec<String>), String> {
    let words = split_words(line)?;
    let path = &words[0];
    if !path.starts_with('/') {
        return Err("expected `path client(options)`: the path is not absolute".into());
    }
    let mut export = Export::new(path);
    let mut notes = Vec::new();
    let mut defaults: Vec<String> = Vec::new();
    for word in &words[1..] {
        if let Some(opts) = word.strip_prefix('-') {
            defaults = opts.split(',').map(str::to_string).collect();
            continue;
        }
        let (name, opts) = match word.split_once('(') {
            Some((name, rest)) => {
                let opts = rest
                    .strip_suffix(')')
                    .ok_or_else(|| format!("`{word}`: no closing parenthesis"))?;
                (name, opts)
            }
            None => (word.as_str(), ""),
        };
        let client = match name {
            "" => Client::Everyone,
            _ => Client::parse(name).map_err(|why| format!("client {why}"))?,
        };
        let all = defaults.iter().map(String::as_str).chain(opts.split(','));
        let grant = client_options(all, &mut notes)?;
        export.grant(client, grant);
    }
    if export.clients.is_empty() {
        let grant = client_options(defaults.iter().map(String::as_str), &mut notes)?;
        export.grant(Client::Everyone, grant);
    }
    notes.sort();
    notes.dedup();
    Ok((export, notes))
}

/// Applies options in order to the exports(5) defaults (`ro`, `root_squash`, `secure`).
fn client_options<'a>(
    opts: impl Iterator<Item = &'a str>,
    notes: &mut Vec<String>,
) -> Result<ClientAccess, String> {
    let mut grant = ClientAccess::new(Access::Ro, Squash::Root);
    let (mut root_squash, mut all_squash) = (true, false);
    for opt in opts.filter(|o| !o.is_empty()) {
        let (key, value) = match opt.split_once('=') {
            Some((k, v)) => (k, Some(v)),
            None => (opt, None),
        };
        match (key, value) {
            ("ro", None) => grant.access = Access::Ro,
            ("rw", None) => grant.access = Access::Rw,
            ("root_squash", None) => root_squash = true,
            ("no_root_squash", None) => root_squash = false,
            ("all_squash", None) => all_squash = true,
            ("no_all_squash", None) => all_squash = false,
            ("secure", None) => grant.insecure = false,
            ("insecure", None) => grant.insecure = true,
            ("anonuid", Some(v)) => {
                let uid: u32 = v
                    .parse()
                    .map_err(|_| format!("anonuid=`{v}` is not a uid"))?;
                grant.anon_uid = Some(i64::from(uid));
            }
            ("sec", Some(v)) => grant.sec = parse_sec_list(v)?,
            (k, _) if SERVER_SIDE.contains(&k) => {}
            (k, _) if DROPPED.contains(&k) => notes.push(format!(
                "option `{opt}` is not carried to the external server"
            )),
            _ => return Err(format!("unknown or incomplete option `{opt}`")),
        }
    }
    grant.squash = match (all_squash, root_squash) {
        (true, _) => Squash::All,
        (false, true) => Squash::Root,
        (false, false) => Squash::None,
    };
    Ok(grant)
}

/// Splits a line into words: white space separates, `"..."` quotes, and `\ooo` octal
/// escapes (as exportfs writes a space) are decoded.
pub fn split_words(line: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' => quoted = !quoted,
            '\\' => {
                let digits: String = (0..3).filter_map(|_| chars.next()).collect();
                let code = u8::from_str_radix(&digits, 8)
                    .map_err(|_| format!("`\\{digits}` is not an octal escape"))?;
                cur.push(char::from(code));
            }
            c if c.is_whitespace() && !quoted => {
                if !cur.is_empty() {
                    words.push(std::mem::take(&mut cur));
                }
            }
            c => cur.push(c),
        }
    }
    if quoted {
        return Err("unbalanced `\"`".into());
    }
    if !cur.is_empty() {
        words.push(cur);
    }
    match words.is_empty() {
        true => Err("empty line".into()),
        false => Ok(words),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exports::model::sec_names;

    fn grants(line: &str) -> Vec<String> {
        let (e, _) = parse_line(line).unwrap();
        e.clients
            .iter()
            .map(|(c, a)| {
                format!(
                    "{c} {:?} {:?} {} {:?} {}",
                    a.access,
                    a.squash,
                    sec_names(&a.sec, ":"),
                    a.anon_uid,
                    a.insecure
                )
            })
            .collect()
    }

    #[test]
    fn defaults_are_read_only_and_root_squashed() {
        assert_eq!(grants("/x host"), ["host Ro Root sys None false"]);
        assert_eq!(grants("/x"), ["* Ro Root sys None false"]);
        assert_eq!(grants("/x (rw)"), ["* Rw Root sys None false"]);
    }

    #[test]
    fn xcat_statelite_line() {
        assert_eq!(
            grants("/install/state *(rw,no_root_squash,sync,no_subtree_check,insecure)"),
            ["* Rw None sys None true"]
        );
    }

    #[test]
    fn every_mapped_option() {
        assert_eq!(
            grants("/x -rw a b(ro,all_squash,anonuid=99,sec=krb5:krb5p) 10.1.2.3/24(secure)"),
            [
                "a Rw Root sys None false",
                "b Ro All krb5:krb5p Some(99) false",
                "10.1.2.0/24 Rw Root sys None false",
            ]
        );
        assert_eq!(
            grants("/x @grp(rw,no_root_squash,no_all_squash) cn*(rw,all_squash,no_all_squash)"),
            ["@grp Rw None sys None false", "cn* Rw Root sys None false"]
        );
    }

    #[test]
    fn a_space_before_the_parenthesis_means_everyone() {
        assert_eq!(
            grants("/x host (rw)"),
            ["host Ro Root sys None false", "* Rw Root sys None false"]
        );
    }

    #[test]
    fn server_side_options_are_ignored_and_others_noted() {
        let (_, notes) = parse_line("/x h(rw,async,fsid=7,crossmnt,anongid=5)").unwrap();
        assert_eq!(notes.len(), 2, "{notes:?}");
        assert!(notes[0].contains("anongid=5"), "{notes:?}");
    }

    #[test]
    fn quoting_and_escapes() {
        assert_eq!(split_words(r#""/a b" h(rw)"#).unwrap(), ["/a b", "h(rw)"]);
        assert_eq!(split_words(r"/a\040b h").unwrap(), ["/a b", "h"]);
        assert!(split_words("\"/a").is_err());
    }

    #[test]
    fn bad_lines_are_problems() {
        let text = "/ok h(rw)\n/x h(rw,frob)\n/y h(rw\n/z bad;name(rw)\n";
        let (entries, problems) = parse(text, "/etc/exports");
        assert_eq!(entries.len(), 1);
        assert_eq!(problems.len(), 3);
        assert!(problems[0].to_string().contains("frob"));
        assert!(problems[1].to_string().contains("parenthesis"));
        assert_eq!(problems[2].path.as_deref(), Some("/z"));
    }
}
