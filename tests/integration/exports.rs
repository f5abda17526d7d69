//! End to end: two AIX service nodes publish their exports to an external server over the
//! lab's ssh; NFS-Ganesha serves the merged configuration to real NFS clients (libnfs).

use std::time::Duration;

use xcat_extnfs::config::Config;
use xcat_extnfs::exports::{
    publish, ApplyReport, ExportsSettings, Published, ResolverOnly, Role, ServerKind, SnExports,
};
use xcat_extnfs::remote::Remote;

use crate::support::{wait_until, Lab, Server, Tree};

const SPOT: &str = "/install/nim/spot/71Bcosi/usr";
const ROOTS: &str = "/install/nim/root/71Bcosi_root";
const SPOT_FILE: &str = "/install/nim/spot/71Bcosi/usr/lib/boot/unix_64";
/// cn001, a node of sn1, and cn101, a node of sn2, as the lab's clients see them.
const CN001: &str = "10.250.130.1";
const CN101: &str = "10.250.130.2";
/// An address that no export names.
const OUTSIDER: &str = "10.250.130.9";

/// The exports NIM made on an SN for its one node: the shared SPOT and the node's root.
fn nim_exports(node: &str, addr: &str) -> String {
    format!(
        "{SPOT} -vers=4,ro,root={addr},access={addr}\n\
         {ROOTS}/{node} -vers=4,root={addr},access={addr}\n"
    )
}

/// What the sync of an SN with one node publishes.
fn synced(addr: &str) -> Vec<Published> {
    let one = |path: &str, role| Published {
        path: path.to_string(),
        role,
        clients: vec![addr.to_string()],
    };
    vec![one(SPOT, Role::Spot), one(ROOTS, Role::Root)]
}

fn settings(reload: &[&str]) -> ExportsSettings {
    ExportsSettings {
        kind: ServerKind::Ganesha,
        // The lab server's /etc/ganesha is its own; its /var/lib would be the machine's.
        parts_dir: "/etc/ganesha/xcat-extnfs/parts".to_string(),
        reload: Some(reload.iter().map(|w| w.to_string()).collect()),
        ..ExportsSettings::default()
    }
}

fn publish_sn(
    remote: &Remote,
    settings: &ExportsSettings,
    sn: &str,
    exports: &str,
    synced: &[Published],
) -> ApplyReport {
    let exports = SnExports::parse("/etc/exports", exports);
    publish(remote, settings, sn, synced, &exports, &ResolverOnly, false)
        .unwrap_or_else(|e| panic!("publish {sn}: {e}"))
}

fn read_back(nfs: &Server, rel: &str) -> String {
    std::fs::read_to_string(nfs.path(rel)).unwrap()
}

#[test]
fn ganesha_serves_the_merged_exports_of_two_service_nodes() {
    let lab = Lab::new("exports");
    let nfs = lab.server("nfs1");
    let remote =
        Remote::with_rsh(&Config::default().server("nfs1"), Some(&lab.rsync_rsh())).unwrap();
    nfs.write(&SPOT_FILE[1..], "spot kernel\n");
    nfs.write(
        format!("{}/cn001/etc/hosts", &ROOTS[1..]),
        "root of cn001\n",
    );
    nfs.write(
        format!("{}/cn101/etc/hosts", &ROOTS[1..]),
        "root of cn101\n",
    );

    let before = settings(&["true"]);
    let first = publish_sn(
        &remote,
        &before,
        "sn1",
        &nim_exports("cn001", CN001),
        &synced(CN001),
    );
    assert!(first.part_changed && first.file_changed, "{first}");
    publish_sn(
        &remote,
        &before,
        "sn2",
        &nim_exports("cn101", CN101),
        &synced(CN101),
    );
    let config = read_back(&nfs, "etc/ganesha/xcat-extnfs.conf");
    assert!(
        config.contains(&format!("Clients = {CN001}, {CN101};")),
        "{config}"
    );
    let again = publish_sn(
        &remote,
        &before,
        "sn1",
        &nim_exports("cn001", CN001),
        &synced(CN001),
    );
    assert!(
        !again.part_changed && !again.file_changed && again.commands.is_empty(),
        "{again}"
    );

    let ganesha = nfs.start_ganesha("%include \"/etc/ganesha/xcat-extnfs.conf\"\n");
    let cn001 = lab.client("cn001", CN001);
    let cn101 = lab.client("cn101", CN101);
    let outsider = lab.client("outsider", OUTSIDER);
    let own_root = cn001.nfs_cat(&nfs, &format!("{ROOTS}/cn001/etc/hosts"));
    assert_eq!(own_root.assert_success().stdout, "root of cn001\n");
    assert_eq!(
        cn001.nfs_cat(&nfs, SPOT_FILE).assert_success().stdout,
        "spot kernel\n"
    );
    assert_eq!(
        cn101.nfs_cat(&nfs, SPOT_FILE).assert_success().stdout,
        "spot kernel\n"
    );
    cn101
        .nfs_cat(&nfs, &format!("{ROOTS}/cn001/etc/hosts"))
        .assert_failure();
    outsider.nfs_cat(&nfs, SPOT_FILE).assert_failure();

    // cn101 leaves sn2: its exports go, sn1's stay, and our reload command makes it live.
    const DONE: &str = "Reread exports complete";
    let reloads = ganesha.log().matches(DONE).count();
    let pid = ganesha.pid().to_string();
    let hup = settings(&["kill", "-HUP", &pid]);
    let gone = publish_sn(&remote, &hup, "sn2", "", &[]);
    assert_eq!(gone.commands, [format!("kill -HUP {pid}")], "{gone}");
    wait_until(
        "ganesha to reread its exports",
        Duration::from_secs(10),
        || ganesha.log().matches(DONE).count() > reloads,
    );
    let config = read_back(&nfs, "etc/ganesha/xcat-extnfs.conf");
    assert!(!config.contains(CN101), "{config}");
    cn101.nfs_cat(&nfs, SPOT_FILE).assert_failure();
    assert_eq!(
        cn001.nfs_cat(&nfs, SPOT_FILE).assert_success().stdout,
        "spot kernel\n"
    );
}
