//! Host names and addresses: validating names before they reach any command line, resolving
//! them through the system resolver, and deciding whether a name is this host (xCAT's `is_me`).

use std::collections::BTreeSet;
use std::net::{IpAddr, ToSocketAddrs};

use crate::process::Cmd;

/// A name that is not acceptable as a host name.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("`{name}` is not a valid host name: {why}")]
pub struct InvalidHostName {
    pub name: String,
    pub why: &'static str,
}

/// Checks a node or server name: an IP literal, or dot-separated labels of letters, digits,
/// `-` and `_` (some sites use `_`; resolvers accept it), none starting with `-`.
/// This is what keeps names safe as separate arguments and inside remote command lines.
pub fn validate_hostname(name: &str) -> Result<(), InvalidHostName> {
    let bad = |why| {
        Err(InvalidHostName {
            name: name.to_string(),
            why,
        })
    };
    if name.parse::<IpAddr>().is_ok() {
        return Ok(());
    }
    if name.is_empty() {
        return bad("it is empty");
    }
    if name.len() > 253 {
        return bad("it is longer than 253 characters");
    }
    for label in name.split('.') {
        if label.is_empty() {
            return bad("it has an empty label (a leading, trailing or doubled dot)");
        }
        if label.len() > 63 {
            return bad("a label is longer than 63 characters");
        }
        if label.starts_with('-') {
            return bad("a label starts with '-'");
        }
        if !label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return bad("only letters, digits, '-', '_' and '.' are allowed");
        }
    }
    Ok(())
}

/// All addresses the system resolver gives for a name (or the literal itself).
pub fn resolve(name: &str) -> Vec<IpAddr> {
    if let Ok(ip) = name.parse::<IpAddr>() {
        return vec![ip];
    }
    let mut out: Vec<IpAddr> = match (name, 0u16).to_socket_addrs() {
        Ok(addrs) => addrs.map(|a| a.ip()).collect(),
        Err(_) => Vec::new(),
    };
    out.dedup();
    out
}

/// The first IPv4 address of a name, else the first address: what xCAT's `getipaddr` returns.
pub fn primary_address(name: &str) -> Option<IpAddr> {
    let addrs = resolve(name);
    addrs
        .iter()
        .copied()
        .find(IpAddr::is_ipv4)
        .or_else(|| addrs.first().copied())
}

/// Two host strings name the same machine: equal strings, or a shared address once resolved.
pub fn same_host(a: &str, b: &str) -> bool {
    if a.eq_ignore_ascii_case(b) {
        return true;
    }
    let ra: BTreeSet<IpAddr> = resolve(a).into_iter().collect();
    resolve(b).iter().any(|ip| ra.contains(ip))
}

/// The addresses of this host's interfaces, read the way xCAT's `is_me` reads them:
/// `ip -o addr` where `ip` exists (Linux), else `ifconfig -a` (AIX). A failing command gives
/// no addresses; loopback addresses are always included.
pub fn local_addresses() -> BTreeSet<IpAddr> {
    let mut out: BTreeSet<IpAddr> = ["127.0.0.1", "::1"]
        .iter()
        .filter_map(|s| s.parse().ok())
        .collect();
    let text = ["/sbin/ip", "/usr/sbin/ip", "/bin/ip", "/usr/bin/ip"]
        .iter()
        .find(|p| std::path::Path::new(p).exists())
        .and_then(|ip| Cmd::new(ip).args(["-o", "addr"]).run_checked().ok())
        .or_else(|| Cmd::new("ifconfig").arg("-a").run_checked().ok())
        .map(|o| o.stdout)
        .unwrap_or_default();
    out.extend(parse_interface_addresses(&text));
    out
}

/// Extracts the addresses from `ip -o addr` or `ifconfig -a` output: the word after each
/// `inet`/`inet6`, without `/prefix` or `%scope`.
pub fn parse_interface_addresses(text: &str) -> BTreeSet<IpAddr> {
    let mut out = BTreeSet::new();
    for line in text.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        for pair in words.windows(2) {
            if pair[0] == "inet" || pair[0] == "inet6" {
                let w = pair[1];
                let w = w.split('/').next().unwrap_or(w);
                let w = w.split('%').next().unwrap_or(w);
                if let Ok(ip) = w.parse() {
                    out.insert(ip);
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_host_names_and_addresses() {
        for ok in [
            "cn001",
            "nfs1.cluster.example",
            "10.0.0.9",
            "fe80::1",
            "sn_01",
            "a-b",
        ] {
            assert_eq!(validate_hostname(ok), Ok(()), "{ok}");
        }
    }

    #[test]
    fn rejects_names_that_could_inject() {
        for bad in [
            "",
            "-oProxyCommand=x",
            "cn1;reboot",
            "a b",
            "cn$(id)",
            "x..y",
            ".x",
            "n/1",
        ] {
            assert!(validate_hostname(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn reads_ip_and_ifconfig_output() {
        let ip = "1: lo    inet 127.0.0.1/8 scope host lo\\       valid_lft forever\n\
                  2: eth0    inet 10.1.0.1/24 brd 10.1.0.255 scope global eth0\n\
                  2: eth0    inet6 fe80::1/64 scope link \\       valid_lft forever";
        let got = parse_interface_addresses(ip);
        assert!(got.contains(&"10.1.0.1".parse().unwrap()));
        assert!(got.contains(&"fe80::1".parse().unwrap()));
        let aix = "en0: flags=1e080863\n\tinet 10.2.0.5 netmask 0xffffff00 broadcast 10.2.0.255\n\
                   lo0: flags=e08084b\n\tinet 127.0.0.1 netmask 0xff000000\n\tinet6 ::1%1/0";
        let got = parse_interface_addresses(aix);
        assert!(got.contains(&"10.2.0.5".parse().unwrap()));
        assert!(got.contains(&"::1".parse().unwrap()));
    }

    #[test]
    fn literal_addresses_resolve_to_themselves() {
        assert_eq!(
            resolve("10.9.8.7"),
            vec!["10.9.8.7".parse::<IpAddr>().unwrap()]
        );
        assert!(same_host("10.9.8.7", "10.9.8.7"));
        assert!(!same_host("10.9.8.7", "10.9.8.6"));
    }
}
