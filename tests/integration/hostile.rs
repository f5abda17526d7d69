//! Hostile values end to end in the tables, `NODES`, lsnim's answers and the SN's exports: each
//! refused naming its source, nothing run, nothing written outside site.installdir.

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;
use std::path::{Path, PathBuf};

use crate::crash::sync_all;
use crate::fleet::Fleet;
use crate::support::states::{differences, State};
use crate::support::{copy_tree, CommandExt, Finished, Lab, Tree};
use crate::syncaixres::GANESHA_CONF;

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

/// Every source the lab test tries: the refused ones, and an export line of no synced path
/// (ignored, so the run succeeds without exporting it).
pub(crate) const SOURCES: &[Source] = &[
    Source::NfsServer,
    Source::NodeName,
    Source::ImageSpot,
    Source::Nodes,
    Source::LsnimLocation,
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

/// A run with a hostile value.
pub(crate) struct Outcome {
    pub(crate) run: Finished,
}

/// Puts `value` into `source` on sn1 of the fleet, runs sn1's sync, checks the refusal, and
/// puts everything back. Returns the run for further checks.
pub(crate) fn hostile_run(f: &Fleet<'_>, source: Source, value: &[u8], canary: &Path) -> Outcome {
    let sn = f.sn("sn1");
    let db_backup = f.lab.dir().join("db.backup");
    let _ = std::fs::remove_dir_all(&db_backup);
    copy_tree(&f.db, &db_backup);
    let lsnim = sn.path("lsnim.db");
    let exports = sn.path("etc/exports");
    let (lsnim_text, exports_text) = (
        std::fs::read(&lsnim).unwrap(),
        std::fs::read(&exports).unwrap(),
    );
    let mut nodes: OsString = Fleet::nodes("sn1").into();
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
    let run = f.syncaixres("sn1", "").env("NODES", &nodes).run_bounded();
    // Put everything back.
    std::fs::remove_dir_all(&f.db).unwrap();
    copy_tree(&db_backup, &f.db);
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

/// What the run must say for `value` (of class `class`) put into `source`: its exit status
/// and a phrase naming the source.
fn expected(source: Source, class: &str) -> (i32, &'static str) {
    match (source, class) {
        (Source::NfsServer, _) => (1, "cn002: FAILED: noderes.nfsserver: `"),
        (Source::NodeName | Source::Nodes, "non-UTF-8") => (2, "NODES is not valid UTF-8"),
        (Source::NodeName | Source::Nodes, _) => (1, "in the node list (NODES or --nodes): `"),
        (Source::ImageSpot, _) => (1, "cn001: FAILED: nimimage.spot of image 71Bcosi: `"),
        // lsnim's stanzas have one line per attribute: what follows the newline is no part
        // of the location, which names a directory that does not exist.
        (Source::LsnimLocation, "newline") => (
            1,
            "cannot read /install/nim/root/cn001/cn001/etc/filesystems",
        ),
        (Source::LsnimLocation, "dot-dot") => (1, "which is not under site.installdir"),
        (Source::LsnimLocation, _) => (
            1,
            "cn001: FAILED: NIM resource `71Bcosi_root`: lsnim gives location",
        ),
        // The newline leaves a valid client (`cn001`) and a line that is not an export of
        // anything synced: nothing to refuse.
        (Source::ExportsClient, "newline") => (0, "node(s) synced"),
        (Source::ExportsClient, "non-UTF-8") => {
            (1, "exports: nfs1: FAILED: cannot read /etc/exports")
        }
        (Source::ExportsClient, _) => (1, "exports: nfs1: FAILED: /etc/exports line"),
        // The value's newline makes an optionless line for cn001's root: exported to everyone
        // if merged.
        (Source::ExportsPath, "newline") => (1, "and again on line"),
        (Source::ExportsPath, "non-UTF-8") => {
            (1, "exports: nfs1: FAILED: cannot read /etc/exports")
        }
        (Source::ExportsPath, _) => (0, "node(s) synced"),
    }
}

/// The parts of the server and SN trees outside site.installdir that a run may not change
/// (the server's exports are rewritten only when they change, and nothing changes here).
fn outside_installdir(f: &Fleet<'_>) -> (State, State) {
    (
        // The SN's export part is the run's own record of what its nodes export (a refused
        // node's entries leave it).
        State::of(
            f.nfs.root(),
            &["etc", "root", "run", "sbin"],
            &["etc/ganesha/xcat-extnfs-parts"],
        ),
        State::of(f.sn("sn1").root(), &["etc", "tftpboot"], &[]),
    )
}

#[test]
fn hostile_values_are_refused_naming_their_source() {
    let lab = Lab::new("hostile");
    let f = Fleet::new(&lab, 1);
    sync_all(&f);
    let canary = PathBuf::from(format!("/tmp/xcat-extnfs-canary-{}", lab.prefix()));
    let before = outside_installdir(&f);
    let mut wrong = Vec::new();
    for &source in SOURCES {
        for (class, value) in values(&canary.display().to_string()) {
            let run = hostile_run(&f, source, &value, &canary).run;
            let (code, needle) = expected(source, class);
            let said = format!("{}{}", run.stdout, run.stderr);
            if run.code() != Some(code) || !said.contains(needle) {
                wrong.push(format!(
                    "{source:?} / {class}: expected status {code} and {needle:?}: {run}"
                ));
            }
            // The refusal is one line, not the value's own lines or a command's output.
            if code != 0 && class != "newline" {
                let line = said.lines().find(|l| l.contains(needle)).unwrap_or("");
                if line.len() > 3 * 4096 {
                    wrong.push(format!(
                        "{source:?} / {class}: a line of {} bytes",
                        line.len()
                    ));
                }
            }
            // The first sync wrote it: a missing file would make the check below vacuous.
            let conf = std::fs::read_to_string(f.nfs.path(GANESHA_CONF))
                .unwrap_or_else(|e| panic!("the server's {GANESHA_CONF}: {e}"));
            if conf.contains("canary") || conf.contains('*') || conf.contains("/etc\"") {
                wrong.push(format!(
                    "{source:?} / {class}: the server's exports: {conf}"
                ));
            }
            let after = outside_installdir(&f);
            if after != before {
                let mut changed = differences(&before.0, &after.0);
                changed.extend(differences(&before.1, &after.1));
                wrong.push(format!(
                    "{source:?} / {class}: changed outside /install: {changed:?}"
                ));
            }
            let server_root = f.nfs.path("install/nim/root");
            let names: Vec<String> = std::fs::read_dir(&server_root)
                .unwrap()
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect();
            if names != ["71Bcosi_root"] {
                wrong.push(format!(
                    "{source:?} / {class}: server root resources {names:?}"
                ));
            }
        }
    }
    assert!(!canary.exists(), "{} was created", canary.display());
    assert!(wrong.is_empty(), "{}", wrong.join("\n\n"));
    // Nothing hostile left a mark: the next plain run converges.
    let again = f
        .syncaixres("sn1", &Fleet::nodes("sn1"))
        .arg("--verify")
        .run_bounded();
    assert!(again.success(), "{again}");
}
