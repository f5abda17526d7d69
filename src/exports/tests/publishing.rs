//! Whole runs of `publish`, `apply_for_server` and `render_for_server` against a server whose
//! file system is a local temporary directory (`transport = "local"`).

use std::path::{Path, PathBuf};

use super::{exports_of, published_by, with_addresses, ROOTS};
use crate::config::Config;
use crate::exports::{
    apply_for_server, publish, render_for_server, AddressOrigin, ClientAddresses, ClientNames,
    ExportsError, ExportsSettings, LocalSn, Published, ServerKind, SnExports,
};
use crate::remote::Remote;

struct Server {
    dir: tempfile::TempDir,
    remote: Remote,
    settings: ExportsSettings,
}

impl Server {
    fn new(kind: ServerKind) -> Server {
        let dir = tempfile::tempdir().unwrap();
        let text = format!(
            "[server.nfs1]\ntransport = \"local\"\nlocal_path = \"{}\"\n",
            dir.path().display()
        );
        let config = Config::parse(&text, Path::new("t")).unwrap();
        let remote = Remote::new(&config.server("nfs1")).unwrap();
        let reloads = dir.path().join("reloads");
        let settings = ExportsSettings {
            kind,
            reload: Some(vec![
                "sh".into(),
                "-c".into(),
                "echo reload >> \"$0\"".into(),
                reloads.display().to_string(),
            ]),
            ..ExportsSettings::default()
        };
        Server {
            dir,
            remote,
            settings,
        }
    }

    fn path(&self, server_path: &str) -> PathBuf {
        self.dir.path().join(server_path.trim_start_matches('/'))
    }

    fn config(&self) -> Option<String> {
        std::fs::read_to_string(self.path(self.settings.file())).ok()
    }

    fn reloads(&self) -> usize {
        std::fs::read_to_string(self.dir.path().join("reloads"))
            .map(|t| t.lines().count())
            .unwrap_or(0)
    }

    fn publish_text(
        &self,
        sn: &str,
        exports: &str,
        published: &[Published],
    ) -> Result<crate::exports::ApplyReport, ExportsError> {
        let exports = SnExports::parse("/etc/exports", exports);
        publish(
            &self.remote,
            &self.settings,
            sn,
            published,
            &exports,
            &Book,
            false,
        )
    }

    /// Publishes a fixture SN with addresses for names.
    fn publish_fixture(&self, sn: &str) -> crate::exports::ApplyReport {
        let published = addressed(&published_by(sn));
        self.publish_text(sn, &with_addresses(exports_of(sn)), &published)
            .unwrap()
    }
}

/// A hosts table that knows `cn404.invalid` only, then this host's resolver.
struct Book;

impl ClientAddresses for Book {
    fn address(&self, name: &str) -> Option<(std::net::IpAddr, AddressOrigin)> {
        match name {
            "cn404.invalid" => Some(("10.4.0.4".parse().unwrap(), AddressOrigin::HostsTable)),
            _ => crate::exports::ResolverOnly.address(name),
        }
    }
}

fn addressed(published: &[Published]) -> Vec<Published> {
    published
        .iter()
        .map(|p| Published {
            clients: p.clients.iter().map(|c| with_addresses(c)).collect(),
            ..p.clone()
        })
        .collect()
}

#[test]
fn the_order_of_service_nodes_does_not_matter() {
    let (a, b) = (
        Server::new(ServerKind::Linux),
        Server::new(ServerKind::Linux),
    );
    for sn in ["sn1", "sn2", "sn3"] {
        a.publish_fixture(sn);
    }
    for sn in ["sn3", "sn2", "sn1"] {
        b.publish_fixture(sn);
    }
    let text = a.config().unwrap();
    assert_eq!(Some(&text), b.config().as_ref());
    assert!(
        text.contains("10.1.0.1(ro,sync,no_subtree_check,insecure,no_root_squash)"),
        "{text}"
    );
    assert!(text.contains("10.1.1.1(ro,"), "{text}");
    assert!(a
        .path("/var/lib/xcat-extnfs/exports/parts/sn2.json")
        .is_file());
    assert_eq!(a.reloads(), 3);
}

#[test]
fn a_rerun_with_nothing_changed_writes_and_reloads_nothing() {
    let s = Server::new(ServerKind::Ganesha);
    let first = s.publish_fixture("sn1");
    assert!(first.part_changed && first.file_changed);
    assert!(
        first.commands[0].starts_with("sh -c"),
        "{:?}",
        first.commands
    );
    let file = s.path(s.settings.file());
    let modified = std::fs::metadata(&file).unwrap().modified().unwrap();
    let again = s.publish_fixture("sn1");
    assert!(!again.part_changed && !again.file_changed, "{again}");
    assert!(again.commands.is_empty());
    assert_eq!(s.reloads(), 1);
    assert_eq!(
        std::fs::metadata(&file).unwrap().modified().unwrap(),
        modified
    );
    assert!(again.to_string().contains("up to date"), "{again}");
}

#[test]
fn a_removed_node_disappears_and_other_sns_stay() {
    let s = Server::new(ServerKind::Linux);
    s.publish_fixture("sn1");
    s.publish_fixture("sn2");
    let fewer = with_addresses(exports_of("sn1")).replace(
        &format!("{ROOTS}/cn002 -root=10.1.0.2,access=10.1.0.2\n"),
        "",
    );
    let report = s.publish_text("sn1", &fewer, &[]).unwrap();
    assert!(
        !report.warnings.iter().any(|w| w.contains("dropped")),
        "{:?}",
        report.warnings
    );
    let text = s.config().unwrap();
    assert!(!text.contains(&format!("{ROOTS}/cn002")), "{text}");
    assert!(text.contains(&format!("{ROOTS}/cn001")), "{text}");
    assert!(text.contains(&format!("{ROOTS}/cn101")), "{text}");
    let nothing = s.publish_text("sn1", "", &[]).unwrap();
    assert!(
        nothing
            .warnings
            .iter()
            .any(|w| w.contains("no longer exports")),
        "{nothing}"
    );
    assert!(!s
        .path("/var/lib/xcat-extnfs/exports/parts/sn1.json")
        .exists());
    assert!(!s.config().unwrap().contains("10.1.0."));
}

#[test]
fn unsupported_options_write_nothing() {
    let s = Server::new(ServerKind::Linux);
    let exports = format!("{} -sec=dh,root=10.1.0.1,access=10.1.0.1\n", super::SPOT);
    let err = s
        .publish_text(
            "sn1",
            &exports,
            &[super::published(
                super::SPOT,
                crate::exports::Role::Spot,
                &["10.1.0.1"],
            )],
        )
        .unwrap_err();
    assert!(err.to_string().contains("sec=dh"), "{err}");
    assert!(s.config().is_none());
    assert!(!s
        .path("/var/lib/xcat-extnfs/exports/parts/sn1.json")
        .exists());
    assert!(!s.path("/var/lib/xcat-extnfs/exports/parts/.lock").exists());
}

#[test]
fn a_failing_reload_puts_everything_back() {
    let mut s = Server::new(ServerKind::Linux);
    s.publish_fixture("sn1");
    let before = s.config().unwrap();
    s.settings.reload = Some(vec![
        "sh".into(),
        "-c".into(),
        "echo no server >&2; exit 4".into(),
    ]);
    let published = addressed(&published_by("sn2"));
    let err = s
        .publish_text("sn2", &with_addresses(exports_of("sn2")), &published)
        .unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, ExportsError::Apply { .. }), "{text}");
    assert!(
        text.contains("no server") && text.contains("put back"),
        "{text}"
    );
    assert_eq!(s.config().unwrap(), before);
    assert!(!s
        .path("/var/lib/xcat-extnfs/exports/parts/sn2.json")
        .exists());
}

#[test]
fn a_dry_run_writes_nothing_and_says_what_it_would_do() {
    let s = Server::new(ServerKind::Aix);
    std::fs::create_dir_all(s.path("/etc")).unwrap();
    std::fs::write(s.path("/etc/exports"), "/home -rw\n").unwrap();
    let exports = SnExports::parse("/etc/exports", &with_addresses(exports_of("sn1")));
    let published = addressed(&published_by("sn1"));
    let report = publish(
        &s.remote,
        &s.settings,
        "sn1",
        &published,
        &exports,
        &Book,
        true,
    )
    .unwrap();
    assert!(report.dry_run && report.file_changed && report.part_changed);
    assert_eq!(s.config().unwrap(), "/home -rw\n");
    assert!(report.to_string().contains("would run: sh -c"), "{report}");
    assert_eq!(s.reloads(), 0);
}

#[test]
fn aix_servers_keep_the_admins_lines() {
    let s = Server::new(ServerKind::Aix);
    std::fs::create_dir_all(s.path("/etc")).unwrap();
    std::fs::write(s.path("/etc/exports"), "/home -rw\n").unwrap();
    s.publish_fixture("sn1");
    let text = s.config().unwrap();
    assert!(text.starts_with("/home -rw\n# BEGIN xcat-extnfs"), "{text}");
    let report = s.publish_text("sn1", "", &[]).unwrap();
    assert!(
        report.warnings.iter().any(|w| w.contains("exportfs -u")),
        "{report}"
    );
    assert_eq!(
        s.config().unwrap(),
        format!(
            "/home -rw\n{}\n{}\n",
            crate::exports::kinds::aix::BEGIN,
            crate::exports::kinds::aix::END
        )
    );
}

/// sn1 exports the SPOT to a name the server resolves, one the hosts table knows and one
/// nobody knows, and a root directory to the last one only.
fn unresolved_names(s: &Server) -> Result<crate::exports::ApplyReport, ExportsError> {
    let spot = super::SPOT;
    let exports = format!(
        "{spot} -ro,root=localhost:cn404.invalid:cn405.invalid,access=localhost:cn404.invalid:cn405.invalid\n\
         {ROOTS}/cn405 -root=cn405.invalid,access=cn405.invalid\n"
    );
    let clients = ["localhost", "cn404.invalid", "cn405.invalid"];
    let published = [
        super::published(spot, crate::exports::Role::Spot, &clients),
        super::published(ROOTS, crate::exports::Role::Root, &clients[2..]),
    ];
    s.publish_text("sn1", &exports, &published)
}

#[test]
fn names_the_server_cannot_resolve_become_addresses_and_unknown_ones_fail_alone() {
    let s = Server::new(ServerKind::Linux);
    let report = unresolved_names(&s).unwrap();
    let text = s.config().unwrap();
    assert!(
        text.contains(&format!("{} \\\n\t10.4.0.4(ro,", super::SPOT)),
        "{text}"
    );
    assert!(text.contains("\tlocalhost(ro,"), "{text}");
    assert!(!text.contains("cn40"), "{text}");
    assert!(!text.contains(&format!("{ROOTS}/cn405")), "{text}");
    let notes: Vec<&String> = report
        .warnings
        .iter()
        .filter(|w| w.contains("does not resolve"))
        .collect();
    assert_eq!(
        notes,
        [
            "server nfs1 does not resolve cn404.invalid (1 client name(s)); their exports name \
             their addresses instead (xCAT's hosts table: 1)"
        ],
        "{report}"
    );
    assert_eq!(report.failed_clients.len(), 1, "{report}");
    assert!(
        report.failed_clients[0]
            .to_string()
            .starts_with("cn405.invalid: no address known"),
        "{report}"
    );
    assert!(
        report.to_string().contains("\n  FAILED: cn405.invalid: "),
        "{report}"
    );
}

#[test]
fn clients_can_be_forced_to_addresses() {
    let mut s = Server::new(ServerKind::Linux);
    s.settings.clients = Some(ClientNames::Addresses);
    let report = unresolved_names(&s).unwrap();
    let text = s.config().unwrap();
    // localhost is not in the hosts table: this host's resolver gives its address.
    assert!(text.contains("\t127.0.0.1(ro,"), "{text}");
    assert!(text.contains("\t10.4.0.4(ro,"), "{text}");
    assert!(!text.contains("localhost"), "{text}");
    assert!(
        !report
            .warnings
            .iter()
            .any(|w| w.contains("does not resolve")),
        "{report}"
    );
    assert_eq!(report.failed_clients.len(), 1, "{report}");
}

#[test]
fn with_names_forced_names_the_server_cannot_resolve_are_refused() {
    let mut s = Server::new(ServerKind::Linux);
    s.settings.resolve_clients = Some(false);
    let err = unresolved_names(&s).unwrap_err().to_string();
    assert!(
        err.contains("cannot resolve") && err.contains("cn404.invalid"),
        "{err}"
    );
    assert!(s.config().is_none());
}

#[test]
fn names_the_server_cannot_resolve_are_refused() {
    let mut s = Server::new(ServerKind::Linux);
    s.settings.clients = Some(ClientNames::Names);
    let exports = format!(
        "{} -ro,root=cn404.invalid,access=cn404.invalid\n",
        super::SPOT
    );
    let published = [super::published(
        super::SPOT,
        crate::exports::Role::Spot,
        &["cn404.invalid"],
    )];
    let err = s
        .publish_text("sn1", &exports, &published)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("cannot resolve") && err.contains("cn404.invalid"),
        "{err}"
    );
    assert!(err.contains("/etc/exports line 1"), "{err}");
    assert!(s.config().is_none());
}

#[test]
fn render_shows_each_path_and_who_contributed() {
    let mut s = Server::new(ServerKind::Ganesha);
    for sn in ["sn1", "sn2", "sn3"] {
        s.publish_fixture(sn);
    }
    let without_state: String = with_addresses(exports_of("sn3"))
        .lines()
        .filter(|l| !l.starts_with("/state"))
        .map(|l| format!("{l}\n"))
        .collect();
    let sn3 = SnExports::parse("/etc/exports", &without_state);
    let local = LocalSn {
        name: "sn3",
        exports: &sn3,
        addresses: &Book,
    };
    s.settings.reload = Some(vec!["true".into()]);
    insta::assert_snapshot!(render_for_server(&s.remote, &s.settings, Some(local)).unwrap());
    let applied = apply_for_server(&s.remote, &s.settings, None, false).unwrap();
    assert!(!applied.file_changed && !applied.part_changed, "{applied}");
}

#[test]
fn a_second_run_waits_for_the_lock() {
    let mut s = Server::new(ServerKind::Linux);
    s.settings.lock_timeout = 1;
    let lock = crate::exports::server::Lock::acquire(
        &s.remote,
        "/var/lib/xcat-extnfs/exports/parts/.lock",
        1,
        "sn9",
    )
    .unwrap();
    let published = addressed(&published_by("sn1"));
    let err = s
        .publish_text("sn1", &with_addresses(exports_of("sn1")), &published)
        .unwrap_err();
    assert!(err.to_string().contains("sn9"), "{err}");
    drop(lock);
    s.publish_fixture("sn1");
}
