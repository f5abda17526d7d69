//! Golden renderings of the fixture SNs' merged exports for every server kind (insta
//! snapshots under `snapshots/`), and the mapping rows they show.

use super::{part_of, SPOT};
use crate::exports::apply::render;
use crate::exports::merge::{merge_parts, Merged, Part};
use crate::exports::server::Current;
use crate::exports::{ExportsError, ExportsSettings, ServerKind};

fn settings(kind: ServerKind) -> ExportsSettings {
    ExportsSettings {
        kind,
        ..ExportsSettings::default()
    }
}

fn merged(sns: &[&str]) -> Merged {
    let parts: Vec<Part> = sns.iter().map(|sn| part_of(sn)).collect();
    merge_parts(&parts)
}

fn current(text: &str) -> Current {
    Current {
        text: text.to_string(),
        cksum: "1 1".to_string(),
    }
}

#[test]
fn linux() {
    let r = render(
        &settings(ServerKind::Linux),
        &merged(&["sn1", "sn2", "sn3"]),
        None,
        "nfs1",
    )
    .unwrap();
    insta::assert_snapshot!(r.text);
    assert_eq!(r.notes.len(), 1, "{:?}", r.notes);
    assert!(r.notes[0].contains("server-wide"));
}

#[test]
fn linux_cnfs_fsid() {
    let s = ExportsSettings {
        fsid: Some(1000),
        ..settings(ServerKind::Linux)
    };
    let r = render(&s, &merged(&["sn1", "sn2"]), None, "nfs1").unwrap();
    insta::assert_snapshot!(r.text);
}

#[test]
fn aix_block_in_an_existing_file() {
    let admin = current("/home -rw\n/install/nim/spot/71Bcosi/usr -ro\n");
    let r = render(
        &settings(ServerKind::Aix),
        &merged(&["sn1", "sn2"]),
        Some(&admin),
        "nfs1",
    )
    .unwrap();
    insta::assert_snapshot!(r.text);
    assert_eq!(r.notes.len(), 1);
    assert!(r.notes[0].contains("line 2 also exports"), "{:?}", r.notes);
    let again = render(
        &settings(ServerKind::Aix),
        &merged(&["sn1"]),
        Some(&current(&r.text)),
        "nfs1",
    )
    .unwrap();
    assert_eq!(
        again.unexport,
        [
            "/install/nim/dump/71Bdump/cn101",
            "/install/nim/paging/71Bcosi_paging/cn101",
            "/install/nim/root/71Bcosi_root/cn101"
        ]
    );
}

#[test]
fn aix_refuses_what_it_cannot_say() {
    let err = render(&settings(ServerKind::Aix), &merged(&["sn3"]), None, "nfs1").unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, ExportsError::Unsupported { .. }));
    assert!(
        text.contains("client @admins") && text.contains("from sn3"),
        "{text}"
    );
}

#[test]
fn ganesha() {
    let r = render(
        &settings(ServerKind::Ganesha),
        &merged(&["sn1", "sn2", "sn3"]),
        None,
        "nfs1",
    )
    .unwrap();
    insta::assert_snapshot!(r.text);
}

#[test]
fn ganesha_ids_stay_with_their_paths() {
    let s = settings(ServerKind::Ganesha);
    let first = render(&s, &merged(&["sn1"]), None, "nfs1").unwrap().text;
    let second = render(&s, &merged(&["sn1", "sn2"]), Some(&current(&first)), "nfs1")
        .unwrap()
        .text;
    let ids = crate::exports::kinds::ganesha::previous_ids;
    let (before, after) = (ids(&first), ids(&second));
    for (path, id) in &before {
        assert_eq!(after[path], *id, "{path}");
    }
    assert_eq!(after.len(), 7);
    assert!(after.values().all(|id| *id >= 100));
    let third = render(&s, &merged(&["sn2"]), Some(&current(&second)), "nfs1")
        .unwrap()
        .text;
    assert_eq!(ids(&third)[SPOT], before[SPOT]);
}

#[test]
fn ces_record_and_commands() {
    let s = settings(ServerKind::Ces);
    let r = render(&s, &merged(&["sn1", "sn2", "sn3"]), None, "nfs1").unwrap();
    insta::assert_snapshot!("ces_record", r.text);
    let shown = |commands: &[Vec<String>]| {
        commands
            .iter()
            .map(crate::process::quote_words)
            .collect::<Vec<_>>()
            .join("\n")
    };
    insta::assert_snapshot!("ces_first_commands", shown(&r.commands));
    let later = render(
        &s,
        &merged(&["sn1", "sn3"]),
        Some(&current(&r.text)),
        "nfs1",
    )
    .unwrap();
    insta::assert_snapshot!("ces_sn2_gone_commands", shown(&later.commands));
}

#[test]
fn dh_and_anon_minus_one_have_no_linux_form() {
    let mut part = part_of("sn2");
    let grant = part.exports[0].export.clients.values_mut().next().unwrap();
    grant.sec.insert(crate::exports::Sec::Dh);
    grant.anon_uid = Some(-1);
    let err = render(
        &settings(ServerKind::Linux),
        &merge_parts([&part]),
        None,
        "nfs1",
    )
    .unwrap_err();
    let text = err.to_string();
    assert!(text.contains("sec=dh"), "{text}");
    for kind in [ServerKind::Ganesha, ServerKind::Ces] {
        let text = render(&settings(kind), &merge_parts([&part]), None, "nfs1")
            .unwrap_err()
            .to_string();
        assert!(
            text.contains("sec=dh") && text.contains("from sn2"),
            "{kind}: {text}"
        );
    }
    assert!(render(
        &settings(ServerKind::Aix),
        &merge_parts([&part]),
        None,
        "nfs1"
    )
    .is_ok());
}

/// A merge exporting `paths` to one client.
fn exporting(paths: &[String]) -> Merged {
    let mut part = part_of("sn1");
    let template = part.exports[0].clone();
    part.exports = paths
        .iter()
        .map(|p| {
            let mut e = template.clone();
            e.export.path = p.clone();
            e
        })
        .collect();
    merge_parts([&part])
}

#[test]
fn colliding_fsids_are_refused_naming_both_paths() {
    let mut seen = std::collections::HashMap::new();
    let (first, second) = (0..1_000_000)
        .map(|i| format!("/install/p{i}"))
        .find_map(|p| {
            let id = crate::exports::kinds::linux::fsid(1, &p);
            seen.insert(id, p.clone()).map(|q| (q, p))
        })
        .expect("a collision among a million paths");
    let s = ExportsSettings {
        fsid: Some(1),
        ..settings(ServerKind::Linux)
    };
    let text = render(
        &s,
        &exporting(&[first.clone(), second.clone()]),
        None,
        "nfs1",
    )
    .unwrap_err()
    .to_string();
    assert!(text.contains(&first) && text.contains(&second), "{text}");
}

#[test]
fn export_ids_run_out_at_65535() {
    let s = ExportsSettings {
        export_id_base: 65535,
        ..settings(ServerKind::Ganesha)
    };
    let paths = ["/a".to_string(), "/b".to_string()];
    let text = render(&s, &exporting(&paths[..1]), None, "nfs1")
        .unwrap()
        .text;
    assert!(text.contains("Export_Id = 65535;"), "{text}");
    let err = render(&s, &exporting(&paths), None, "nfs1").unwrap_err();
    assert!(err.to_string().contains("/b"), "{err}");
}
