//! Hosts files (`/etc/hosts` format): make sure one `address name` entry exists, appending it
//! once and never twice, without touching the other lines.

/// Whether some line maps `ip` to `host` (comments ignored, names compared without case).
pub fn has_entry(text: &str, ip: &str, host: &str) -> bool {
    text.lines().any(|line| {
        let line = line.split('#').next().unwrap_or("");
        let mut words = line.split_whitespace();
        words.next() == Some(ip) && words.any(|w| w.eq_ignore_ascii_case(host))
    })
}

/// Appends `ip host` unless present; `None` when nothing had to change.
pub fn ensure_entry(text: &str, ip: &str, host: &str) -> Option<String> {
    if has_entry(text, ip, host) {
        return None;
    }
    let mut out = text.to_string();
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
    out.push_str(&format!("{ip} {host}\n"));
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appends_once() {
        let text = "127.0.0.1 loopback localhost\n10.1.0.1 sn1\n";
        let out = ensure_entry(text, "10.1.0.250", "nfs1").unwrap();
        assert_eq!(out, format!("{text}10.1.0.250 nfs1\n"));
        assert_eq!(ensure_entry(&out, "10.1.0.250", "NFS1"), None);
    }

    #[test]
    fn comments_and_missing_newline() {
        assert_eq!(
            ensure_entry("# 10.0.0.9 nfs1\n10.0.0.1 a", "10.0.0.9", "nfs1").unwrap(),
            "# 10.0.0.9 nfs1\n10.0.0.1 a\n10.0.0.9 nfs1\n"
        );
        assert!(has_entry(
            "10.0.0.9\tnfs1.cluster nfs1 # ha\n",
            "10.0.0.9",
            "nfs1"
        ));
        assert!(!has_entry("10.0.0.8 nfs1\n", "10.0.0.9", "nfs1"));
    }
}
