//! Every row of the AIX to Linux / Ganesha / CES option mapping: one AIX line in, the entry
//! each server kind gets out (or the refusal naming the option).

use crate::exports::apply::render;
use crate::exports::merge::{merge_parts, Part, PartExport, PART_FORMAT};
use crate::exports::{ExportsSettings, Role, ServerKind, SnExports};

/// Renders one AIX line for `kind`: the lines after the header, or the error text.
fn rendered(kind: ServerKind, aix_line: &str) -> String {
    let sn = SnExports::parse("/etc/exports", aix_line);
    assert!(sn.problems.is_empty(), "{:?}", sn.problems);
    let part = Part {
        format: PART_FORMAT,
        sn: "sn1".into(),
        published: Vec::new(),
        exports: vec![PartExport {
            role: Role::Root,
            source: "t".into(),
            export: sn.entries[0].export.clone(),
        }],
    };
    let settings = ExportsSettings {
        kind,
        ..ExportsSettings::default()
    };
    match render(&settings, &merge_parts([&part]), None, "nfs1") {
        Ok(r) => r
            .text
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
            .map(str::trim)
            .collect::<Vec<_>>()
            .join("\n"),
        Err(e) => format!("error: {e}"),
    }
}

const FIXED: &str = "sync,no_subtree_check,insecure";

#[test]
fn linux_rows() {
    let rows: &[(&str, String)] = &[
        // No `ro`: AIX exports read-write, Linux must say `rw`.
        ("/x -access=a", format!("/x a(rw,{FIXED})")),
        ("/x -ro,access=a", format!("/x a(ro,{FIXED})")),
        // rw= list: the listed clients rw, the other allowed ones ro.
        (
            "/x -rw=a,access=a:c",
            format!("/x \\\na(rw,{FIXED}) \\\nc(ro,{FIXED})"),
        ),
        // Without access= anyone may mount: `*`.
        (
            "/x -rw=a",
            format!("/x \\\na(rw,{FIXED}) \\\n*(ro,{FIXED})"),
        ),
        (
            "/x -ro=a",
            format!("/x \\\na(ro,{FIXED}) \\\n*(rw,{FIXED})"),
        ),
        // root=: no_root_squash for those hosts only.
        (
            "/x -root=a,access=a:b",
            format!("/x \\\na(rw,{FIXED},no_root_squash) \\\nb(rw,{FIXED})"),
        ),
        ("/x -root=*", format!("/x *(rw,{FIXED},no_root_squash)")),
        ("/x -anon=0,access=a", format!("/x a(rw,{FIXED},anonuid=0)")),
        // AIX's default anon (-2, nobody) is Linux's default too.
        ("/x -anon=-2,access=a", format!("/x a(rw,{FIXED})")),
        (
            "/x -sec=sys:krb5,access=a",
            format!("/x a(sec=sys:krb5,rw,{FIXED})"),
        ),
        // Versions are server-wide on Linux: nothing per export (a note says so).
        ("/x -vers=4,access=a", format!("/x a(rw,{FIXED})")),
        // Replicas and referrals are not carried over (a note says so).
        (
            "/x -replicas=/x@h1:/x@h2,access=a",
            format!("/x a(rw,{FIXED})"),
        ),
        (
            "/x -access=@10.1.0.0/16",
            format!("/x 10.1.0.0/16(rw,{FIXED})"),
        ),
    ];
    for (aix, linux) in rows {
        assert_eq!(&rendered(ServerKind::Linux, aix), linux, "{aix}");
    }
}

#[test]
fn rows_without_an_equivalent_are_refused() {
    for (aix, item) in [
        ("/x -sec=dh,access=a", "sec=dh"),
        ("/x -anon=-1,access=a", "anon=-1"),
        ("/x -anon=-5,access=a", "anon=-5"),
    ] {
        let text = rendered(ServerKind::Linux, aix);
        assert!(
            text.starts_with("error") && text.contains(item),
            "{aix}: {text}"
        );
    }
    for kind in [ServerKind::Ganesha, ServerKind::Ces] {
        for (aix, item) in [
            ("/x -sec=dh,access=a", "sec=dh"),
            ("/x -anon=-1,access=a", "anon=-1"),
            ("/x -vers=2,access=a", "vers=2"),
        ] {
            let text = rendered(kind, aix);
            assert!(
                text.starts_with("error") && text.contains(item),
                "{kind} {aix}: {text}"
            );
        }
    }
}

#[test]
fn ganesha_rows() {
    let block = |aix: &str| rendered(ServerKind::Ganesha, aix);
    let b = block("/x -rw=a");
    let (a, all) = (
        b.find("Clients = a;").unwrap(),
        b.find("Clients = *;").unwrap(),
    );
    assert!(a < all, "the specific client comes first: {b}");
    assert!(
        b.contains("Clients = a;\nAccess_Type = RW;\nSquash = Root_Squash;"),
        "{b}"
    );
    assert!(b.contains("Clients = *;\nAccess_Type = RO;"), "{b}");
    assert!(
        b.contains("Export_Id = 100;\nPath = \"/x\";\nPseudo = \"/x\";\nAccess_Type = None;"),
        "{b}"
    );
    assert!(
        block("/x -root=*").contains("Clients = *;\nAccess_Type = RW;\nSquash = No_Root_Squash;")
    );
    assert!(block("/x -vers=4,access=a").contains("Protocols = 4;"));
    assert!(block("/x -vers=2:3,access=a").contains("Protocols = 3;"));
    assert!(block("/x -access=a").contains("Protocols = 3, 4;"));
    assert!(block("/x -anon=0,access=a").contains("Anonymous_Uid = 0;"));
    assert!(block("/x -sec=sys:krb5,access=a").contains("SecType = sys, krb5;"));
    let two = block("/x -ro,root=a,access=a:b");
    assert!(
        two.contains("Clients = a;\nAccess_Type = RO;\nSquash = No_Root_Squash;"),
        "{two}"
    );
    assert!(
        two.contains("Clients = b;\nAccess_Type = RO;\nSquash = Root_Squash;"),
        "{two}"
    );
}

#[test]
fn ces_rows() {
    let record = rendered(
        ServerKind::Ces,
        "/x -vers=4,sec=sys:krb5,ro,root=a,access=a:b,anon=7",
    );
    assert_eq!(
        record,
        "/x\ta(Access_Type=RO,Squash=no_root_squash,SecType=sys:krb5,Protocols=4,Anonymous_Uid=7)\n\
         /x\tb(Access_Type=RO,Squash=root_squash,SecType=sys:krb5,Protocols=4,Anonymous_Uid=7)"
    );
}

#[test]
fn aix_rows_render_back_as_aix() {
    for line in [
        "/x -ro,root=a:b,access=a:b",
        "/x -vers=3:4,sec=sys:krb5,rw,root=a,access=a:b,anon=0",
        "/x -rw=a,root=a,access=a:b",
        "/x -rw,root=*",
        "/x -ro,rw=a",
        "/x -rw,ro=a,root=b",
    ] {
        assert_eq!(rendered(ServerKind::Aix, line), line, "{line}");
    }
}
