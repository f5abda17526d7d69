//! Properties: merging is commutative, associative and idempotent; rendering is
//! deterministic and blind to part order; Linux and AIX renderings parse back to the model.

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;

use crate::exports::apply::render;
use crate::exports::merge::{merge_parts, Merged, Part, PartExport, PART_FORMAT};
use crate::exports::model::{Access, Client, ClientAccess, Export, Sec, Squash};
use crate::exports::{ExportsSettings, Role, ServerKind, SnExports};

fn client() -> impl Strategy<Value = Client> {
    prop_oneof![
        4 => (1..6u8).prop_map(|n| Client::Host(format!("cn00{n}"))),
        1 => Just(Client::Everyone),
        1 => (0..3u8).prop_map(|n| Client::parse(&format!("10.{n}.0.0/16")).unwrap()),
        1 => (1..3u8).prop_map(|n| Client::Netgroup(format!("g{n}"))),
    ]
}

fn grant(sec_choices: Vec<Sec>) -> impl Strategy<Value = ClientAccess> {
    (
        prop_oneof![Just(Access::Ro), Just(Access::Rw)],
        prop_oneof![Just(Squash::All), Just(Squash::Root), Just(Squash::None)],
        proptest::option::of(0..3i64),
        proptest::sample::subsequence(sec_choices.clone(), 1..=sec_choices.len()),
        any::<bool>(),
    )
        .prop_map(|(access, squash, anon_uid, sec, insecure)| ClientAccess {
            access,
            squash,
            anon_uid,
            sec: sec.into_iter().collect(),
            insecure,
        })
}

fn export(path: &'static str) -> impl Strategy<Value = Export> {
    (
        proptest::collection::btree_set(prop_oneof![Just(3u8), Just(4u8)], 0..=2),
        proptest::collection::btree_map(
            client(),
            grant(vec![Sec::Sys, Sec::Krb5, Sec::Krb5p]),
            1..5,
        ),
    )
        .prop_map(move |(versions, clients)| Export {
            path: path.to_string(),
            versions,
            clients,
        })
}

fn part() -> impl Strategy<Value = Part> {
    let paths = ["/install/a", "/install/b", "/install/c/d"];
    (
        prop_oneof![Just("sn1"), Just("sn2"), Just("sn3")],
        proptest::sample::subsequence(paths.to_vec(), 0..=3),
        export("/x"),
        export("/x"),
        export("/x"),
    )
        .prop_map(|(sn, chosen, e1, e2, e3)| {
            let exports = chosen
                .into_iter()
                .zip([e1, e2, e3])
                .map(|(path, mut export)| {
                    export.path = path.to_string();
                    PartExport {
                        role: Role::Root,
                        source: "test".into(),
                        export,
                    }
                })
                .collect();
            Part {
                format: PART_FORMAT,
                sn: sn.to_string(),
                published: Vec::new(),
                exports,
            }
        })
}

fn rendered(kind: ServerKind, merged: &Merged) -> String {
    let settings = ExportsSettings {
        kind,
        fsid: Some(77),
        ..ExportsSettings::default()
    };
    match render(&settings, merged, None, "nfs1") {
        Ok(r) => format!("{}\n{:?}\n{:?}", r.text, r.notes, r.commands),
        Err(e) => format!("error: {e}"),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn merging_is_commutative(a in part(), b in part()) {
        prop_assert_eq!(merge_parts([&a, &b]), merge_parts([&b, &a]));
    }

    #[test]
    fn merging_is_associative_and_idempotent(a in part(), b in part(), c in part()) {
        let (ma, mb, mc) = (merge_parts([&a]), merge_parts([&b]), merge_parts([&c]));
        let mut left = ma.clone();
        left.union(&mb);
        left.union(&mc);
        let mut right = mb.clone();
        right.union(&mc);
        let mut right_all = ma.clone();
        right_all.union(&right);
        prop_assert_eq!(&left, &right_all);
        let mut twice = left.clone();
        twice.union(&left);
        prop_assert_eq!(twice, left);
    }

    #[test]
    fn rendering_is_deterministic_and_order_free(a in part(), b in part(), c in part()) {
        for kind in [ServerKind::Linux, ServerKind::Aix, ServerKind::Ganesha, ServerKind::Ces] {
            let one = rendered(kind, &merge_parts([&a, &b, &c]));
            prop_assert_eq!(&one, &rendered(kind, &merge_parts([&c, &a, &b])));
            prop_assert_eq!(&one, &rendered(kind, &merge_parts([&a, &b, &c])));
        }
    }

    #[test]
    fn linux_rendering_parses_back(e in export("/install/a")) {
        let mut merged = Merged::default();
        let p = Part { format: PART_FORMAT, sn: "sn1".into(), published: Vec::new(),
            exports: vec![PartExport { role: Role::Statelite, source: "t".into(), export: e.clone() }] };
        merged.add_part(&p);
        let text = crate::exports::kinds::linux::render(&merged, None).unwrap().text;
        let back = SnExports::parse("f", &text);
        prop_assert!(back.problems.is_empty(), "{:?}", back.problems);
        prop_assert_eq!(&back.entries[0].export.clients, &e.clients);
    }

    #[test]
    fn aix_rendering_parses_back(
        hosts in proptest::collection::btree_set(1..6u8, 1..4),
        access in proptest::collection::vec(any::<bool>(), 5),
        root in proptest::collection::vec(any::<bool>(), 5),
        shared in grant(vec![Sec::Sys, Sec::Krb5, Sec::Dh]),
    ) {
        let clients: BTreeMap<Client, ClientAccess> = hosts.iter().map(|n| {
            let mut g = shared.clone();
            g.access = if access[usize::from(*n) - 1] { Access::Rw } else { Access::Ro };
            g.squash = if root[usize::from(*n) - 1] { Squash::None } else { Squash::Root };
            g.insecure = true;
            (Client::Host(format!("cn00{n}")), g)
        }).collect();
        let e = Export { path: "/install/a".into(), versions: BTreeSet::from([4]), clients };
        let p = Part { format: PART_FORMAT, sn: "sn1".into(), published: Vec::new(),
            exports: vec![PartExport { role: Role::Root, source: "t".into(), export: e.clone() }] };
        let merged = merge_parts([&p]);
        let line = crate::exports::kinds::aix::render_line(&merged.exports["/install/a"]).unwrap();
        let (back, _) = crate::exports::local::aix::parse_line(&line).unwrap();
        prop_assert_eq!(back, e, "{}", line);
    }
}
