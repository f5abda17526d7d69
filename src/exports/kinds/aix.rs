//! AIX: a block of lines we own in the server's `/etc/exports` (`directory -option,option`,
//! in NIM's style), made live with `exportfs -a`; paths gone from the block are unexported.

use std::collections::{BTreeMap, BTreeSet};

use super::server_type::{RenderInput, Rendered, ServerType};
use crate::config::exports::ServerKind;
use crate::exports::applied::{self, Applied};
use crate::exports::error::{ExportsError, Unsupported};
use crate::exports::merge::{Merged, MergedExport};
use crate::exports::model::{sec_names, Access, Client, ClientAccess, Squash};

/// The AIX kind.
pub struct Aix;

impl ServerType for Aix {
    fn default_file(&self) -> &'static str {
        "/etc/exports"
    }

    fn default_reload(&self) -> Option<&'static [&'static str]> {
        Some(&["exportfs", "-a"])
    }

    /// Our block replaced in `/etc/exports`; gone paths to unexport; a warning for each path
    /// the admin also exports outside the block.
    fn render(&self, input: &RenderInput<'_>) -> Result<Rendered, ExportsError> {
        let (file, server) = (input.file, input.server);
        let current = input.current.unwrap_or("");
        let block = render_block(input.merged).map_err(|items| ExportsError::Unsupported {
            kind: ServerKind::Aix,
            items,
        })?;
        if current.contains('\u{fffd}') {
            return Err(ExportsError::server_file(
                server,
                file,
                "it is not UTF-8 text, so it is not rewritten",
            ));
        }
        let text = replace_block(current, &block)
            .map_err(|m| ExportsError::server_file(server, file, m))?;
        let (old, _) = block_paths(current);
        let (new, outside) = block_paths(&text);
        let notes = outside
            .iter()
            .filter(|(_, p)| new.contains(p))
            .map(|(line, p)| {
                format!("{file} line {line} also exports {p}, outside the xcat-extnfs block")
            })
            .collect();
        Ok(Rendered {
            text,
            notes,
            commands: Vec::new(),
            unexport: old.difference(&new).cloned().collect(),
        })
    }

    fn parse_applied(&self, text: &str) -> Applied {
        parse_applied(text)
    }
}

/// The first line of the block we own in an AIX server's `/etc/exports`.
pub const BEGIN: &str =
    "# BEGIN xcat-extnfs: generated from the service nodes' exports; edits here are overwritten";
/// The last line of that block.
pub const END: &str = "# END xcat-extnfs";

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

/// `exportfs` on AIX: `/path -options` lines, as in `/etc/exports`.
pub fn parse_applied(text: &str) -> Applied {
    applied::from_exports_text(text, "exports as AIX applies them")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exports::applied::who;
    use crate::exports::{Access, Squash};

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

    #[test]
    fn aix_exportfs() {
        let a = parse_applied("/install/nim/root/r/cn001 -root=cn001,access=cn001\n/install/nim/spot/s/usr -ro,root=cn001:cn002,access=cn001:cn002\n");
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
}
