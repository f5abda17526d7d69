//! Whole-tree copies beyond rsync: the record a verified copy leaves on the server, so that a
//! later copy neither side touched is skipped, and the tar stream of a first copy.
//!
//! The record (`<installdir>/.xcat-extnfs/copies/`) holds both trees' fingerprints as they
//! were when rsync last found them equal. A copy is skipped only when all three agree: what
//! is copied (source, destination and rsync options: [`key`]), this host's tree as
//! [`tree::fingerprint`] sees it now against the record, and the server's tree as the server
//! script fingerprints it now against the record. Anything else, a missing record or one
//! that cannot be read included, compares the copy in full, as before records existed. The
//! record is removed when a copy starts and written only after rsync found nothing left to
//! change, under the image lock.

use sha2::{Digest, Sha256};

use super::tree::{self, hex, Fingerprint};
use crate::process::CommandError;
use crate::remote::Remote;
use crate::rsync::Job;
use crate::scripts;

/// First line of a record, and its format's version.
const HEADER: &str = "xcat-extnfs copy 1";

/// The record of one SN's copy to `dest`: one per SN, since SNs with the same image each
/// fingerprint their own tree.
pub fn path(installdir: &str, dest: &str, sn: &str) -> String {
    let hash = hex(&Sha256::digest(dest.as_bytes()))[..16].to_string();
    format!(
        "{}/.xcat-extnfs/copies/{hash}.{}",
        installdir.trim_end_matches('/'),
        super::stamp::safe(sn)
    )
}

/// What a copy is, without the connection it goes over: the program's version, source,
/// destination and every option that changes what arrives. A new version or option makes
/// the old records answer for nothing.
pub fn key(job: &Job, dest: &str) -> String {
    let what = format!(
        "{} {}\0{}\0{}\0{:?}\0{:?}\0delete={} sparse={} xattrs={} size_only={}",
        env!("CARGO_PKG_NAME"),
        env!("CARGO_PKG_VERSION"),
        job.source,
        dest,
        job.rules,
        job.only,
        job.delete,
        job.sparse,
        job.xattrs,
        job.size_only
    );
    hex(&Sha256::digest(what.as_bytes()))
}

/// A record as written, and the server's tree now (the `live` line of `state`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Record {
    pub sn: String,
    /// Seconds since the epoch, when the copy was verified.
    pub time: u64,
    pub key: String,
    /// This host's tree, fingerprinted before the copy.
    pub source: String,
    /// The server's tree after the copy: `sha256 HEX`.
    pub server: String,
    /// The server's tree now: `sha256 HEX`, or `none WHY`.
    pub live: String,
}

impl Record {
    /// The lines the server script stores (it adds `server`).
    fn text(&self) -> String {
        format!(
            "{HEADER}\nsn {}\ntime {}\nkey {}\nsource {}\n",
            self.sn, self.time, self.key, self.source
        )
    }

    /// Parses what `state` printed: `None` for no record or one not in this format.
    pub fn parse(text: &str) -> Option<Record> {
        let mut lines = text.lines();
        if lines.next()? != HEADER {
            return None;
        }
        let mut r = Record::default();
        for line in lines {
            let (word, value) = line.split_once(' ')?;
            let value = value.to_string();
            match word {
                "sn" => r.sn = value,
                "time" => r.time = value.parse().ok()?,
                "key" => r.key = value,
                "source" => r.source = value,
                "server" => r.server = value,
                "live" => r.live = value,
                _ => {}
            }
        }
        let complete = [&r.key, &r.source, &r.server, &r.live]
            .iter()
            .all(|v| !v.is_empty());
        complete.then_some(r)
    }

    /// Whether the copy `key` of a tree now at `source` can be skipped: same copy, neither
    /// tree touched since. Otherwise why not, for the log.
    pub fn judge(&self, key: &str, source: &Fingerprint) -> Result<(), &'static str> {
        if self.key != key {
            return Err("the copy's options or this program's version changed");
        }
        if self.source != source.digest {
            return Err("this host's tree changed");
        }
        if !self.live.starts_with("sha256 ") {
            return Err("the server cannot fingerprint its tree");
        }
        if self.live != self.server {
            return Err("the server's tree changed");
        }
        Ok(())
    }
}

/// The record of the copy to `dir` (a server path) with the server's tree as it is now;
/// `None` when there is none (or none this version reads).
pub fn state(remote: &Remote, record: &str, dir: &str) -> Result<Option<Record>, CommandError> {
    let out = remote
        .script(
            scripts::COPIED,
            &["state", &remote.path(record), &remote.path(dir)],
        )
        .run_checked()?;
    Ok(Record::parse(&out.stdout))
}

/// What [`begin`] found at the destination.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Begun {
    /// The destination holds nothing (it was missing, or is an empty directory).
    pub empty: bool,
    /// The server's tar is GNU tar, which can receive [`tar_stream`]'s stream.
    pub gnu_tar: bool,
}

/// A copy to `dest` starts: its record goes, if it has one (a copy cut short must not leave
/// one that still answers), and `dest` is made when missing.
pub fn begin(remote: &Remote, record: Option<&str>, dest: &str) -> Result<Begun, CommandError> {
    let record = record.map(|r| remote.path(r)).unwrap_or_default();
    let out = remote
        .script(scripts::COPIED, &["begin", &record, &remote.path(dest)])
        .run_checked()?;
    let said: Vec<&str> = out.stdout.lines().map(str::trim).collect();
    Ok(Begun {
        empty: said.contains(&"empty"),
        gnu_tar: said.contains(&"gnu-tar"),
    })
}

/// GNU tar's options for an exact copy, on both ends: numeric owners, ACLs, every extended
/// attribute (file capabilities among them), holes kept.
const TAR_EXACT: [&str; 4] = [
    "--numeric-owner",
    "--acls",
    "--xattrs",
    "--xattrs-include=*",
];

/// The tree at `local` streamed by tar into the empty server directory `dest`: a first copy
/// at tar's speed (rsync's per-file exchange costs up to three times as much). The rsync that
/// follows compares the result and mends whatever tar could not carry.
pub fn tar_stream(
    remote: &Remote,
    local: &std::path::Path,
    dest: &str,
) -> Result<(), CommandError> {
    let writer = crate::process::Cmd::new("tar")
        .arg("-C")
        .arg(local)
        .args(["-c", "-f", "-", "--sparse"])
        .args(TAR_EXACT)
        .arg(".");
    let mut argv = vec!["tar", "-C"];
    let dest = remote.path(dest);
    argv.push(&dest);
    argv.extend(["-x", "-f", "-", "--preserve-permissions", "--same-owner"]);
    argv.extend(TAR_EXACT);
    crate::process::pipe(&writer, &remote.command(&argv))
}

/// Records a verified copy to `dir` of a tree fingerprinted as `source`: `Ok(None)` when
/// written, `Ok(Some(why))` when the server cannot fingerprint its tree (nothing written).
pub fn record(
    remote: &Remote,
    record: &str,
    dir: &str,
    sn: &str,
    key: &str,
    source: &Fingerprint,
) -> Result<Option<String>, CommandError> {
    let text = Record {
        sn: sn.to_string(),
        time: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
        key: key.to_string(),
        source: source.digest.clone(),
        ..Record::default()
    }
    .text();
    let out = remote
        .script(
            scripts::COPIED,
            &["record", &remote.path(record), &remote.path(dir)],
        )
        .stdin_bytes(text)
        .run_checked()?;
    let said = out.stdout.trim();
    Ok(match said {
        "recorded" => None,
        _ => Some(said.strip_prefix("none ").unwrap_or(said).to_string()),
    })
}

/// This host's tree at `local`, fingerprinted while the server answers `state`: both walks
/// at once, since each costs about as much as the other.
pub fn both(
    remote: &Remote,
    record: &str,
    dir: &str,
    local: &std::path::Path,
) -> (
    std::io::Result<Fingerprint>,
    Result<Option<Record>, CommandError>,
) {
    std::thread::scope(|s| {
        let server = s.spawn(|| state(remote, record, dir));
        let here = tree::fingerprint(local);
        let server = server
            .join()
            .unwrap_or_else(|p| std::panic::resume_unwind(p));
        (here, server)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::remote::local_for_tests as local_server;

    #[test]
    fn a_record_answers_only_while_neither_tree_is_touched() {
        let (here, there) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        std::fs::write(here.path().join("f"), "1\n").unwrap();
        let remote = local_server(there.path());
        std::fs::create_dir_all(there.path().join("install/img/rootimg")).unwrap();
        std::fs::write(there.path().join("install/img/rootimg/f"), "1\n").unwrap();
        let (dest, key) = ("/install/img/rootimg", "k1");
        let record_path = path("/install", dest, "sn 1");
        assert!(record_path.starts_with("/install/.xcat-extnfs/copies/"));
        assert!(record_path.ends_with(".sn_1"), "{record_path}");

        let (fp, none) = both(&remote, &record_path, dest, here.path());
        assert_eq!(none.unwrap(), None, "no record yet");
        let fp = fp.unwrap();
        assert_eq!(
            record(&remote, &record_path, dest, "sn1", key, &fp).unwrap(),
            None
        );
        let found = state(&remote, &record_path, dest).unwrap().unwrap();
        assert_eq!((found.sn.as_str(), found.key.as_str()), ("sn1", key));
        assert_eq!(found.judge(key, &fp), Ok(()));
        assert!(found.judge("k2", &fp).is_err());

        // The server's tree touched: a change time moves.
        std::thread::sleep(std::time::Duration::from_millis(20));
        std::fs::write(there.path().join("install/img/rootimg/f"), "2\n").unwrap();
        let after = state(&remote, &record_path, dest).unwrap().unwrap();
        assert_eq!(after.judge(key, &fp), Err("the server's tree changed"));
        // This host's tree touched.
        std::fs::write(here.path().join("f"), "2\n").unwrap();
        assert_eq!(
            found.judge(key, &tree::fingerprint(here.path()).unwrap()),
            Err("this host's tree changed")
        );

        // A copy starting removes the record and makes the destination, found empty.
        let begun = begin(&remote, Some(&record_path), "/install/new/rootimg").unwrap();
        assert_eq!(state(&remote, &record_path, dest).unwrap(), None);
        assert!(there.path().join("install/new/rootimg").is_dir());
        assert!(begun.empty && begun.gnu_tar, "{begun:?}");
        assert!(!begin(&remote, None, dest).unwrap().empty);
    }

    #[test]
    fn a_tar_stream_copies_links_holes_owners_and_attributes_as_rsync_would() {
        use std::os::unix::fs::PermissionsExt;
        let (here, there) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let src = here.path();
        std::fs::create_dir_all(src.join("usr/bin")).unwrap();
        std::fs::write(src.join("usr/bin/busybox"), "busybox\n").unwrap();
        std::fs::hard_link(src.join("usr/bin/busybox"), src.join("usr/bin/ls")).unwrap();
        std::os::unix::fs::symlink("usr/bin", src.join("bin")).unwrap();
        std::fs::write(src.join("shadow"), "root:!:\n").unwrap();
        std::fs::set_permissions(src.join("shadow"), std::fs::Permissions::from_mode(0o4751))
            .unwrap();
        std::os::unix::fs::chown(src.join("shadow"), Some(1234), Some(5678)).unwrap();
        let sparse = std::fs::File::create(src.join("sparse.img")).unwrap();
        sparse.set_len(64 << 20).unwrap();
        let remote = local_server(there.path());
        let begun = begin(&remote, None, "/install/img/rootimg").unwrap();
        assert!(begun.empty && begun.gnu_tar, "{begun:?}");
        tar_stream(&remote, src, "/install/img/rootimg").unwrap();
        let dst = there.path().join("install/img/rootimg");
        // rsync's own comparison of everything it would copy finds nothing left.
        let out = crate::process::Cmd::new("rsync")
            .args(["-aHAXS", "--numeric-ids", "--delete", "-n", "-i"])
            .arg(format!("{}/", src.display()))
            .arg(format!("{}/", dst.display()))
            .run_checked()
            .unwrap();
        assert_eq!(out.stdout, "", "tar left differences");
        let blocks = std::os::unix::fs::MetadataExt::blocks(
            &std::fs::metadata(dst.join("sparse.img")).unwrap(),
        );
        assert!(blocks < 1024, "the hole was written out: {blocks} blocks");

        // A destination that cannot be written: the server's tar is the one reported.
        let err = tar_stream(&remote, src, "/install/missing/rootimg").unwrap_err();
        assert!(err.to_string().contains("missing"), "{err}");
    }

    #[test]
    fn a_tree_the_server_cannot_list_is_never_recorded() {
        let (here, there) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let remote = local_server(there.path());
        let fp = tree::fingerprint(here.path()).unwrap();
        let record_path = path("/install", "/install/gone", "sn1");
        let why = record(&remote, &record_path, "/install/gone", "sn1", "k", &fp).unwrap();
        assert!(
            why.as_deref().is_some_and(|w| w.contains("cannot list")),
            "{why:?}"
        );
        assert_eq!(state(&remote, &record_path, "/install/gone").unwrap(), None);
    }

    #[test]
    fn records_of_another_format_or_cut_short_are_no_records() {
        assert_eq!(Record::parse(""), None);
        assert_eq!(Record::parse("xcat-extnfs copy 2\nsn a\n"), None);
        let whole =
            "xcat-extnfs copy 1\nsn sn1\ntime 5\nkey k\nsource s\nserver sha256 x\nlive sha256 x\n";
        assert_eq!(Record::parse(whole).map(|r| r.time), Some(5));
        let cut = whole.lines().take(5).collect::<Vec<_>>().join("\n");
        assert_eq!(Record::parse(&cut), None);
        let bad_time = whole.replace("time 5", "time five");
        assert_eq!(Record::parse(&bad_time), None);
        assert_eq!(
            Record::parse(&whole.replace("live sha256 x", "live none no sha256sum"))
                .unwrap()
                .judge(
                    "k",
                    &Fingerprint {
                        digest: "s".into(),
                        entries: 1,
                        newest_change: 0,
                        taken: std::time::UNIX_EPOCH
                    }
                ),
            Err("the server cannot fingerprint its tree")
        );
    }
}
