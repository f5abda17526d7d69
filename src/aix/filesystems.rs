//! `/etc/filesystems` stanzas of a diskless client: point the `nodename` of the `/` and `/usr`
//! stanzas at the external NFS server, leaving every other byte of the file as it was.

/// A filesystems file that cannot be redirected.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FilesystemsError {
    #[error("no `{0}:` stanza")]
    NoStanza(&'static str),
    #[error("the `{0}:` stanza has no nodename attribute")]
    NoNodename(&'static str),
}

/// The stanzas mkdsklsnode redirects for an external NFS server.
pub const REDIRECTED: [&str; 2] = ["/", "/usr"];

/// Sets `nodename = host` in the `/` and `/usr` stanzas. Returns the new text, or `None` when
/// both already name `host`. Only the value is replaced; indentation, spacing and line ends
/// stay. (mkdsklsnode edits `nodename` only when it is the stanza's first line; we edit it
/// wherever it stands, so a hand-edited file is redirected too.)
pub fn redirect(text: &str, host: &str) -> Result<Option<String>, FilesystemsError> {
    let mut out = String::with_capacity(text.len() + 16);
    let mut stanza: Option<&str> = None;
    let mut seen = [false; 2];
    let mut named = [false; 2];
    let mut changed = false;
    for line in text.split_inclusive('\n') {
        let body = line.trim_end_matches(['\n', '\r']);
        if is_header(body) {
            stanza = Some(body.trim_end().trim_end_matches(':'));
            if let Some(i) = REDIRECTED.iter().position(|s| Some(*s) == stanza) {
                seen[i] = true;
            }
            out.push_str(line);
            continue;
        }
        let target = stanza.and_then(|s| REDIRECTED.iter().position(|r| *r == s));
        match (target, nodename_value(body)) {
            (Some(i), Some((start, end))) if !named[i] => {
                named[i] = true;
                if &body[start..end] != host {
                    changed = true;
                    out.push_str(&body[..start]);
                    out.push_str(host);
                    out.push_str(&line[end..]);
                    continue;
                }
                out.push_str(line);
            }
            _ => out.push_str(line),
        }
    }
    for (i, name) in REDIRECTED.iter().enumerate() {
        if !seen[i] {
            return Err(FilesystemsError::NoStanza(name));
        }
        if !named[i] {
            return Err(FilesystemsError::NoNodename(name));
        }
    }
    Ok(changed.then_some(out))
}

/// A stanza header: `name:` starting in column 0 (comments start with `*`).
fn is_header(line: &str) -> bool {
    let t = line.trim_end();
    !t.is_empty() && !t.starts_with([' ', '\t', '*', '#']) && t.ends_with(':') && !t.contains('=')
}

/// The byte range of the value in a `nodename = value` line.
fn nodename_value(line: &str) -> Option<(usize, usize)> {
    let rest = line.trim_start();
    let indent = line.len() - rest.len();
    let after = rest.strip_prefix("nodename")?;
    let eq = after.trim_start();
    let eq_at = indent + "nodename".len() + (after.len() - eq.len());
    let value = eq.strip_prefix('=')?;
    let start = eq_at + 1 + (value.len() - value.trim_start().len());
    let end = start + value.trim().len();
    Some((start, end))
}

#[cfg(test)]
mod tests {
    use super::*;

    const NIM: &str = "/:\n\tnodename\t= sn01\n\tdev\t\t= /install/nim/root/71Bcosi_root/cn001\n\tvfs\t\t= nfs\n\n\
                       /usr:\n        nodename        = sn01\n        dev             = /install/nim/spot/71Bcosi/usr\n\n\
                       /home:\n\tnodename = sn01\n\tdev = /home\n\n/proc:\n\tdev\t\t=\t/proc\n";

    #[test]
    fn redirects_only_root_and_usr() {
        let out = redirect(NIM, "nfs1").unwrap().unwrap();
        assert_eq!(
            out,
            NIM.replacen(
                "= sn01\n\tdev\t\t= /install/nim/root",
                "= nfs1\n\tdev\t\t= /install/nim/root",
                1
            )
            .replacen("nodename        = sn01", "nodename        = nfs1", 1)
        );
        assert!(out.contains("/home:\n\tnodename = sn01"));
        assert_eq!(redirect(&out, "nfs1").unwrap(), None, "idempotent");
    }

    #[test]
    fn keeps_crlf_and_trailing_text() {
        let text = "/:\r\n  nodename = sn1  \r\n/usr:\r\n  nodename=sn1\r\n";
        let out = redirect(text, "nfs1").unwrap().unwrap();
        assert_eq!(
            out,
            "/:\r\n  nodename = nfs1  \r\n/usr:\r\n  nodename=nfs1\r\n"
        );
    }

    #[test]
    fn missing_stanzas_are_errors() {
        assert_eq!(
            redirect("/usr:\n nodename = a\n", "x"),
            Err(FilesystemsError::NoStanza("/"))
        );
        assert_eq!(
            redirect("/:\n dev = /x\n/usr:\n nodename = a\n", "x"),
            Err(FilesystemsError::NoNodename("/"))
        );
    }
}
