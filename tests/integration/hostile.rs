//! Hostile values end to end through `syncaixres`: shell metacharacters, spaces, newlines,
//! `..`, a leading `-`, 4 KiB values and non-UTF-8 bytes in xCAT's tables, `NODES`, lsnim's
//! answers and the SN's exports, each refused naming its source, nothing run, nothing written
//! outside site.installdir on the SN or the server.

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;
use std::path::{Path, PathBuf};

use crate::crash::{sync_all, Rng};
use crate::fleet::Fleet;
use crate::support::states::State;
use crate::support::{CommandExt, Finished, Lab, Tree};

/// Where a hostile value is put.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Source {
    /// `noderes.nfsserver` of one node (the server's name).
    NfsServer,
    /// A node's name in `nodelist.node` (and in `NODES`, as xCAT passes it).
    NodeName,
    /// `nimimage.spot` of the image (an image resource name).
    ImageSpot,
    /// `NODES` alone.
    Nodes,
    /// lsnim's `location` of the root resource.
    LsnimLocation,
    /// lsnim's `root` attribute of a machine (a resource name).
    LsnimResource,
    /// A path in the SN's `/etc/exports`.
    ExportsPath,
    /// A client in the SN's `/etc/exports`.
    ExportsClient,
}

/// The sources whose hostile values are refused (lsnim's machine attributes are not read:
/// images come from xCAT's tables).
pub(crate) const REFUSED: &[Source] = &[
    Source::NfsServer,
    Source::NodeName,
    Source::ImageSpot,
    Source::Nodes,
    Source::LsnimLocation,
    Source::ExportsClient,
];

pub(crate) const SOURCES: &[Source] = &[
    Source::NfsServer,
    Source::NodeName,
    Source::ImageSpot,
    Source::Nodes,
    Source::LsnimLocation,
    Source::LsnimResource,
    Source::ExportsPath,
    Source::ExportsClient,
];

/// The hostile values, by class; `CANARY` stands for a path that must never be created.
pub(crate) fn values(canary: &str) -> Vec<(&'static str, Vec<u8>)> {
    vec![
        (
            "command substitution",
            format!("cn1$(touch {canary})").into_bytes(),
        ),
        ("backquotes", format!("cn1`touch {canary}`").into_bytes()),
        ("semicolon", format!("nfs1;touch {canary}").into_bytes()),
        (
            "pipe and redirection",
            format!("a|tee {canary}>x").into_bytes(),
        ),
        ("space", b"cn 001".to_vec()),
        ("newline", format!("cn001\ntouch {canary}").into_bytes()),
        ("dot-dot", b"../../../etc".to_vec()),
        (
            "leading dash",
            format!("-oProxyCommand=touch {canary}").into_bytes(),
        ),
        ("4 KiB", vec![b'a'; 4096]),
        ("non-UTF-8", b"cn\xff\xfe001".to_vec()),
    ]
}

pub(crate) struct Outcome {
    pub(crate) run: Finished,
}

/// Puts `value` into `source` on sn1 of the fleet, runs sn1's sync, checks the refusal, and
/// puts everything back. Returns the run for further checks.
pub(crate) fn hostile_run(f: &Fleet<'_>, source: Source, value: &[u8], canary: &Path) -> Outcome {
    let sn = f.sn("sn1");
    let db_backup = f.lab.dir().join("db.backup");
    let _ = std::fs::remove_dir_all(&db_backup);
    crate::support::copy_tree(&f.db, &db_backup);
    let lsnim = sn.path("lsnim.db");
    let exports = sn.path("etc/exports");
    let (lsnim_text, exports_text) = (
        std::fs::read(&lsnim).unwrap(),
        std::fs::read(&exports).unwrap(),
    );
    let mut nodes: OsString = Fleet::nodes("sn1").into();
    let lossy = String::from_utf8_lossy(value).into_owned();
    match source {
        Source::NfsServer => append(
            &f.db,
            "noderes",
            &csv_row(&[b"cn002", b"", b"", b"", b"", value]),
        ),
        Source::NodeName => {
            append(
                &f.db,
                "nodelist",
                &csv_row(&[value, b"compute,aix,cosi,sn1nodes"]),
            );
            nodes = OsString::from_vec([b"cn001,".to_vec(), value.to_vec()].concat());
        }
        Source::ImageSpot => {
            let path = f.db.join("nimimage.csv");
            let text = std::fs::read(&path).unwrap();
            let text = replace(
                &text,
                b"\"71Bcosi\",\"diskless\",\"71B_lpp_source\",\"71Bcosi\"",
                &[
                    b"\"71Bcosi\",\"diskless\",\"71B_lpp_source\",\"".as_slice(),
                    &csv_escape(value),
                    b"\"",
                ]
                .concat(),
            );
            std::fs::write(&path, text).unwrap();
        }
        Source::Nodes => {
            nodes = OsString::from_vec([b"cn001,".to_vec(), value.to_vec()].concat());
        }
        Source::LsnimLocation => {
            let text = replace(
                &lsnim_text,
                b"location    = /install/nim/root/71Bcosi_root",
                &[b"location    = /install/nim/root/".as_slice(), value].concat(),
            );
            std::fs::write(&lsnim, text).unwrap();
        }
        Source::LsnimResource => {
            let text = replace(
                &lsnim_text,
                b"   root           = 71Bcosi_root\n",
                &[b"   root           = ".as_slice(), value, b"\n"].concat(),
            );
            std::fs::write(&lsnim, text).unwrap();
        }
        Source::ExportsPath => {
            let line = [
                b"/install/nim/root/71Bcosi_root/".as_slice(),
                value,
                b" -root=10.1.1.1,access=10.1.1.1\n",
            ]
            .concat();
            std::fs::write(&exports, [exports_text.clone(), line].concat()).unwrap();
        }
        Source::ExportsClient => {
            let text = replace(
                &exports_text,
                b"access=10.1.1.1\n",
                &[b"access=10.1.1.1:".as_slice(), value, b"\n"].concat(),
            );
            std::fs::write(&exports, text).unwrap();
        }
    }
    let _ = lossy;
    let run = f.syncaixres("sn1", "").env("NODES", &nodes).run_bounded();
    // Put everything back.
    std::fs::remove_dir_all(&f.db).unwrap();
    crate::support::copy_tree(&db_backup, &f.db);
    std::fs::write(&lsnim, lsnim_text).unwrap();
    std::fs::write(&exports, exports_text).unwrap();
    assert!(
        !canary.exists(),
        "{source:?}: {} was created: {run}",
        canary.display()
    );
    Outcome { run }
}

fn replace(text: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let at = text
        .windows(from.len())
        .position(|w| w == from)
        .unwrap_or_else(|| panic!("{:?} not found", String::from_utf8_lossy(from)));
    [&text[..at], to, &text[at + from.len()..]].concat()
}

fn csv_escape(value: &[u8]) -> Vec<u8> {
    value
        .iter()
        .flat_map(|&b| if b == b'"' { vec![b'"', b'"'] } else { vec![b] })
        .collect()
}

fn csv_row(fields: &[&[u8]]) -> Vec<u8> {
    let mut row = Vec::new();
    for (i, field) in fields.iter().enumerate() {
        if i > 0 {
            row.push(b',');
        }
        if !field.is_empty() {
            row.push(b'"');
            row.extend(csv_escape(field));
            row.push(b'"');
        }
    }
    row.push(b'\n');
    row
}

fn append(db: &Path, table: &str, row: &[u8]) {
    let path = db.join(format!("{table}.csv"));
    let mut text = std::fs::read(&path).unwrap();
    text.extend_from_slice(row);
    std::fs::write(&path, text).unwrap();
}

#[test]
fn explore() {
    let lab = Lab::new("hostile-x");
    let f = Fleet::new(&lab, 1);
    sync_all(&f);
    let canary = PathBuf::from(format!("/tmp/xcat-extnfs-canary-{}", lab.prefix()));
    for &source in SOURCES {
        for (class, value) in values(&canary.display().to_string()) {
            let out = hostile_run(&f, source, &value, &canary);
            let interesting: Vec<&str> = out
                .run
                .stdout
                .lines()
                .filter(|l| {
                    l.contains("FAILED")
                        || l.contains("error")
                        || l.contains("warning")
                        || l.contains("refus")
                })
                .collect();
            eprintln!(
                "=== {source:?} / {class}: {:?}\n{}\n{}",
                out.run.code(),
                interesting.join("\n"),
                out.run.stderr
            );
        }
    }
    let _ = (State::default(), Rng::new(0));
    panic!("explore");
}
