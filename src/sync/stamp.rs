//! The stamp a sync leaves per SN and image on the server (`<installdir>/.xcat-extnfs/stamps/
//! <sn>.<image>.json`): when that SN last synced the image, and how its nodes came out.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::servers::Server;
use crate::remote::Remote;
use crate::scripts;

/// One SN's last sync of one image to one server.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stamp {
    pub sn: String,
    pub image: String,
    /// The program that synced (`syncaixres`, `syncstatelite`).
    pub tool: String,
    /// Seconds since the epoch, UTC.
    pub time: u64,
    /// The nodes synced, and those of them that failed or were left different.
    pub nodes: Vec<String>,
    pub failed: Vec<String>,
}

/// The stamps directory below the server's installdir.
pub fn dir(installdir: &str) -> String {
    format!("{}/.xcat-extnfs/stamps", installdir.trim_end_matches('/'))
}

/// A file name part of letters, digits, `.`, `_` and `-` only (`_` for anything else).
pub(crate) fn safe(name: &str) -> String {
    name.chars()
        .map(
            |c| match c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                true => c,
                false => '_',
            },
        )
        .collect()
}

/// The stamps of a run: per (server, image) the nodes synced, with those that failed.
pub fn of_run<'a>(
    tool: &str,
    sn: &str,
    nodes: impl IntoIterator<Item = (&'a str, &'a str, &'a str)>,
    failed: &dyn Fn(&str) -> bool,
) -> BTreeMap<String, Vec<Stamp>> {
    let time = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let mut groups: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    for (server, image, node) in nodes {
        groups
            .entry((server.to_string(), image.to_string()))
            .or_default()
            .push(node.to_string());
    }
    let mut out: BTreeMap<String, Vec<Stamp>> = BTreeMap::new();
    for ((server, image), mut nodes) in groups {
        nodes.sort();
        nodes.dedup();
        let failed = nodes.iter().filter(|n| failed(n)).cloned().collect();
        out.entry(server).or_default().push(Stamp {
            sn: sn.to_string(),
            image,
            tool: tool.to_string(),
            time,
            nodes,
            failed,
        });
    }
    out
}

/// Writes a server's stamps in one remote command.
pub fn write(server: &Server, installdir: &str, stamps: &[Stamp]) -> Result<(), String> {
    if stamps.is_empty() {
        return Ok(());
    }
    let mut input = String::new();
    for s in stamps {
        let json = serde_json::to_string(s).map_err(|e| e.to_string())?;
        input.push_str(&format!("{}.{} {json}\n", safe(&s.sn), safe(&s.image)));
    }
    let remote = &server.remote;
    remote
        .script(
            scripts::STAMPS,
            &["write", remote.path(&dir(installdir)).as_str()],
        )
        .stdin_bytes(input)
        .run_checked()
        .map(drop)
        .map_err(|e| e.to_string())
}

/// Reads every stamp on a server (unreadable ones are skipped).
pub fn read(remote: &Remote, installdir: &str) -> Result<Vec<Stamp>, String> {
    let out = remote
        .script(
            scripts::STAMPS,
            &["read", remote.path(&dir(installdir)).as_str()],
        )
        .run_checked()
        .map_err(|e| e.to_string())?;
    Ok(out
        .stdout
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect())
}

/// `YYYY-MM-DD HH:MM:SS UTC` of seconds since the epoch (civil-from-days, no time crate
/// needed for one format).
pub fn utc(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_group_by_server_and_image_and_round_trip() {
        let nodes = [
            ("nfs1", "71Bcosi", "cn002"),
            ("nfs1", "71Bcosi", "cn001"),
            ("nfs1", "71Bsr", "cn003"),
        ];
        let s = of_run("syncaixres", "sn1", nodes, &|n| n == "cn003");
        assert_eq!(s["nfs1"].len(), 2);
        assert_eq!(s["nfs1"][0].nodes, ["cn001", "cn002"]);
        assert_eq!(s["nfs1"][1].failed, ["cn003"]);
        assert_eq!(safe("img/a b"), "img_a_b");
        let dir = tempfile::tempdir().unwrap();
        let text = format!(
            "[server.nfs1]\ntransport = \"local\"\nlocal_path = \"{}\"\naddress = \"127.0.0.1\"\n",
            dir.path().display()
        );
        let c = crate::config::Config::parse(&text, std::path::Path::new("t")).unwrap();
        let server = Server::resolve(&c, "nfs1").ok().unwrap();
        write(&server, "/install", &s["nfs1"]).unwrap();
        let mut back = read(&server.remote, "/install").unwrap();
        back.sort_by(|a, b| a.image.cmp(&b.image));
        assert_eq!(back, s["nfs1"]);
        assert!(dir
            .path()
            .join("install/.xcat-extnfs/stamps/sn1.71Bsr.json")
            .is_file());
    }

    #[test]
    fn utc_dates() {
        assert_eq!(utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(utc(951_782_400), "2000-02-29 00:00:00 UTC");
        assert_eq!(utc(1_700_000_000), "2023-11-14 22:13:20 UTC");
    }
}
