//! The settings table of a server (`[server.NAME.exports]`): defaults when it is absent,
//! parsing, validation, and the NIM defaults by role.

use crate::exports::*;

#[test]
fn no_table_is_a_linux_server() {
    let s: ExportsSettings = toml::from_str("").unwrap();
    assert_eq!(s, ExportsSettings::default());
    assert_eq!(s.kind, ServerKind::Linux);
    assert!(s.apply);
    assert_eq!(s.file(), "/etc/exports.d/xcat-extnfs.exports");
    s.validate().unwrap();
}

#[test]
fn settings_are_read_and_checked() {
    let s: ExportsSettings = toml::from_str(
        "kind = \"ganesha\"\nreload = [\"kill\", \"-HUP\", \"1\"]\nexport_id_base = 500\n",
    )
    .unwrap();
    assert_eq!(s.file(), "/etc/ganesha/xcat-extnfs.conf");
    assert_eq!(s.export_id_base, 500);
    s.validate().unwrap();
    assert!(toml::from_str::<ExportsSettings>("colour = 1").is_err());
    for bad in [
        "parts_dir = \"relative\"",
        "reload = []",
        "fsid = 0",
        "fsid = 2147483648",
        "ganesha_fsal = \"V FS\"",
        "lock_timeout = 0",
    ] {
        let s: ExportsSettings = toml::from_str(bad).unwrap();
        let e = s.validate().unwrap_err().to_string();
        let key = bad.split(' ').next().unwrap();
        assert!(e.contains(key), "{bad}: {e}");
    }
}

#[test]
fn a_config_file_names_the_kind() {
    let text = "[server.nfs1.exports]\nkind = \"aix\"\nresolve_clients = true\n";
    let c = crate::config::Config::parse(text, std::path::Path::new("t")).unwrap();
    let s = c.server("nfs1").exports;
    assert_eq!(s.kind, ServerKind::Aix);
    assert_eq!(s.client_names(), ClientNames::Addresses);
    assert_eq!(s.file(), "/etc/exports");
    assert_eq!(s.kind.default_reload(), ["exportfs", "-a"]);
}

#[test]
fn clients_are_named_automatically_unless_set() {
    let named = |text: &str| {
        let s: ExportsSettings = toml::from_str(text).unwrap();
        s.validate().map(|()| s.client_names())
    };
    assert_eq!(named("").unwrap(), ClientNames::Auto);
    assert_eq!(named("clients = \"names\"").unwrap(), ClientNames::Names);
    assert_eq!(
        named("clients = \"addresses\"").unwrap(),
        ClientNames::Addresses
    );
    assert_eq!(
        named("resolve_clients = false").unwrap(),
        ClientNames::Names
    );
    assert_eq!(
        named("resolve_clients = true").unwrap(),
        ClientNames::Addresses
    );
    let both = "clients = \"addresses\"\nresolve_clients = true";
    assert_eq!(named(both).unwrap(), ClientNames::Addresses);
    let e = named("clients = \"auto\"\nresolve_clients = false").unwrap_err();
    assert!(e.to_string().contains("disagree"), "{e}");
    assert!(toml::from_str::<ExportsSettings>("clients = \"ips\"").is_err());
}

#[test]
fn nim_defaults_by_role() {
    assert_eq!(Role::Spot.default_access().access, Access::Ro);
    assert_eq!(Role::Root.default_access().access, Access::Rw);
    assert_eq!(Role::Paging.default_access().squash, Squash::None);
    assert!(!Role::Statelite.is_aix());
}
