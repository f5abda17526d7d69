//! Tests of the lab itself: that its hosts are isolated from each other and from the machine,
//! that rsync, sshd and Ganesha work across them, and that nothing outlives a lab.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::support::net::{has_prefix, link_names, netns_names, process_alive, Net};
use crate::support::{keygen, poll_until, require, CommandExt, Host, Lab, Tree};

#[test]
fn rsync_over_lab_ssh_lands_in_the_servers_install_only() {
    let lab = Lab::new("rsync");
    let nfs = lab.server("nfs1");
    let sn = lab.sn("sn1");
    // A name no earlier run can have left on the machine's own /install.
    let unique = lab
        .dir()
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    sn.write(format!("install/{unique}/spot/bin/tool"), "#!/bin/sh\n");
    sn.set_mode(format!("install/{unique}/spot/bin/tool"), 0o750);
    sn.hard_link(
        format!("install/{unique}/spot/bin/tool2"),
        format!("install/{unique}/spot/bin/tool"),
    );
    sn.symlink(format!("install/{unique}/spot/latest"), "bin/tool");
    sn.sparse(format!("install/{unique}/spot/swap"), 64 << 20);

    sn.command("rsync")
        .args(["-aHS", "/install/", "nfs1:/install/"])
        .env("RSYNC_RSH", lab.rsync_rsh())
        .run_bounded()
        .assert_success();

    let copied = |rel: &str| nfs.path(format!("install/{unique}/spot/{rel}"));
    assert_eq!(
        std::fs::read_to_string(copied("bin/tool")).unwrap(),
        "#!/bin/sh\n"
    );
    assert_eq!(mode(&copied("bin/tool")), 0o750);
    assert_eq!(inode(&copied("bin/tool")), inode(&copied("bin/tool2")));
    assert_eq!(
        std::fs::read_link(copied("latest")).unwrap(),
        Path::new("bin/tool")
    );
    assert_eq!(std::fs::metadata(copied("swap")).unwrap().len(), 64 << 20);
    assert!(!Path::new("/install").join(&unique).exists());
    // A remote command sees the server's /install too.
    let remote = lab
        .ssh("nfs1")
        .arg(format!("cat /install/{unique}/spot/bin/tool; hostname"))
        .run_bounded();
    assert_eq!(remote.assert_success().stdout, "#!/bin/sh\nnfs1\n");
}

#[test]
fn ssh_refuses_a_server_with_another_host_key() {
    let lab = Lab::new("hostkey");
    let nfs = lab.server("nfs1");
    lab.ssh("nfs1").arg("true").run_bounded().assert_success();

    let impostor = keygen(&lab.dir().join("impostor"), "impostor");
    let known_hosts = lab.dir().join("impostor_known_hosts");
    std::fs::write(&known_hosts, format!("nfs1,{} {impostor}\n", nfs.addr())).unwrap();
    let refused = Command::new("ssh")
        .arg("-F")
        .arg(lab.ssh_config())
        .arg("-o")
        .arg(format!("UserKnownHostsFile={}", known_hosts.display()))
        .args(["nfs1", "true"])
        .run_bounded();
    refused.assert_failure();
    assert!(
        refused.stderr.contains("Host key verification failed"),
        "{refused}"
    );
}

#[test]
fn two_sns_see_their_own_trees_at_the_same_time() {
    let lab = Lab::new("sns");
    let sns = [lab.sn("sn1"), lab.sn("sn2")];
    for sn in &sns {
        sn.write("install/whoami", sn.name());
        sn.write("etc/exports", format!("/install/{} *(ro)\n", sn.name()));
    }
    // Each command reads its tree, waits until the other one is running too, and reads again.
    let barrier = lab.dir().join("barrier");
    std::fs::create_dir(&barrier).unwrap();
    let script = r#"cat /install/whoami; echo
        touch "$1/$2"
        tries=0
        until [ -e "$1/sn1" ] && [ -e "$1/sn2" ]; do
            tries=$((tries + 1)); [ $tries -lt 500 ] || exit 9; sleep 0.01
        done
        cat /install/whoami; echo; hostname; cat /etc/exports; touch /install/written /etc/stray"#;
    let outputs = std::thread::scope(|scope| {
        let runs: Vec<_> = sns
            .iter()
            .map(|sn| {
                let mut command = sn.command("sh");
                command
                    .args(["-c", script, "sh"])
                    .arg(&barrier)
                    .arg(sn.name());
                scope.spawn(move || command.run_bounded())
            })
            .collect();
        runs.into_iter()
            .map(|run| run.join().unwrap())
            .collect::<Vec<_>>()
    });
    for (sn, output) in sns.iter().zip(&outputs) {
        let name = sn.name();
        let expected = format!("{name}\n{name}\n{name}\n/install/{name} *(ro)\n");
        assert_eq!(output.assert_success().stdout, expected);
        assert!(sn.exists("install/written"));
    }
    assert!(
        !Path::new("/etc/stray").exists(),
        "an SN wrote to the machine's /etc"
    );
}

#[test]
fn sn_commands_pass_arguments_literally() {
    let lab = Lab::new("args");
    let sn = lab.sn("sn1");
    let args = ["%s|", "$(id)", "a b", "'\"", "--", "*"];
    let output = sn.command("printf").args(args).run_bounded();
    assert_eq!(output.assert_success().stdout, "$(id)|a b|'\"|--|*|");
}

#[test]
fn ganesha_exports_to_the_clients_its_configuration_names() {
    let lab = Lab::new("ganesha");
    let nfs = lab.server("nfs1");
    let allowed = lab.client("cn001", "10.250.130.11");
    let other = lab.client("cn002", "10.250.130.12");
    nfs.write("install/export1/file.txt", "secret\n");
    let export = |clients: &str| {
        format!(
            "EXPORT {{\n Export_Id = 1;\n Path = /install/export1;\n Pseudo = /install/export1;\n \
             Access_Type = None;\n Squash = No_Root_Squash;\n Protocols = 4;\n SecType = sys;\n \
             FSAL {{ Name = VFS; }}\n CLIENT {{ Clients = {clients}; Access_Type = RO; }}\n}}\n"
        )
    };
    let mut ganesha = nfs.start_ganesha(&export(&allowed.addr().to_string()));
    // Ganesha makes its runtime directory in the server's own /run, not the machine's; not
    // always before it listens (seen once: the port open, the directory not yet there).
    assert!(
        poll_until(Duration::from_secs(10), || nfs.exists("run/ganesha")),
        "no run/ganesha in the server's tree 10 s after Ganesha listened"
    );

    let read = allowed.nfs_cat(&nfs, "/install/export1/file.txt");
    assert_eq!(read.assert_success().stdout, "secret\n");
    let listed = allowed.nfs_ls(&nfs, "/install/export1");
    assert!(
        listed.assert_success().stdout.contains("file.txt"),
        "{listed}"
    );
    other
        .nfs_cat(&nfs, "/install/export1/file.txt")
        .assert_failure();

    ganesha.set_exports(&export(&format!("{}, {}", allowed.addr(), other.addr())));
    let read = other.nfs_cat(&nfs, "/install/export1/file.txt");
    assert_eq!(read.assert_success().stdout, "secret\n");

    ganesha.set_exports(&export(&other.addr().to_string()));
    ganesha.restart();
    allowed
        .nfs_cat(&nfs, "/install/export1/file.txt")
        .assert_failure();
    other
        .nfs_cat(&nfs, "/install/export1/file.txt")
        .assert_success();
}

#[test]
fn cut_network_fails_ssh_within_the_timeout_and_restore_heals() {
    let lab = Lab::new("cut");
    let nfs = lab.server("nfs1");
    lab.ssh("nfs1").arg("true").run_bounded().assert_success();

    nfs.cut_network();
    let started = Instant::now();
    lab.ssh("nfs1").arg("true").run_bounded().assert_failure();
    let took = started.elapsed();
    assert!(
        took < Duration::from_secs(8),
        "ssh took {took:?} to give up"
    );

    nfs.restore_network();
    lab.ssh("nfs1").arg("true").run_bounded().assert_success();
}

#[test]
fn nothing_of_a_lab_remains_after_drop() {
    let lab = Lab::new("drop");
    let prefix = lab.prefix();
    let dir = lab.dir().to_path_buf();
    let nfs = lab.server("nfs1");
    let client = lab.client("cn001", "10.250.131.1");
    nfs.mkdir("install/export");
    let ganesha = nfs.start_ganesha("");
    // A process the server started on its own, not one the lab knows.
    nfs.run(&["sh", "-c", "sleep 60 >/dev/null 2>&1 &"])
        .assert_success();
    client.nfs_ls(&nfs, "/");
    let pids = nfs.pids();
    assert!(pids.len() >= 4, "anchor, sshd, ganesha and sleep: {pids:?}");
    let ours = |names: Vec<String>| -> Vec<String> {
        names
            .into_iter()
            .filter(|n| has_prefix(n, &prefix))
            .collect()
    };
    assert_eq!(ours(netns_names()).len(), 2);
    assert_eq!(
        ours(link_names()).len(),
        2,
        "the bridge and the server's veth"
    );

    drop(ganesha);
    drop(client);
    drop(nfs);
    drop(lab);

    assert_eq!(ours(netns_names()), Vec::<String>::new());
    assert_eq!(ours(link_names()), Vec::<String>::new());
    let alive: Vec<_> = pids.into_iter().filter(|pid| process_alive(*pid)).collect();
    assert_eq!(alive, Vec::<u32>::new());
    assert!(!dir.exists());
}

#[test]
#[should_panic(expected = "no-such-program (package no-such-package)")]
fn a_missing_program_is_named() {
    require(
        "this test",
        &[("sh", "dash"), ("no-such-program", "no-such-package")],
    );
}

#[test]
fn lab_subnets_and_names_do_not_collide() {
    let net = |text| Net::parse(text).unwrap();
    assert!(net("10.250.7.0/24").overlaps(&net("10.250.0.0/16")));
    assert!(net("10.250.0.0/16").overlaps(&net("10.250.7.9")));
    assert!(!net("10.250.7.0/24").overlaps(&net("10.250.8.0/24")));
    assert!(net("10.250.128.0/17").contains("10.250.130.11".parse().unwrap()));
    assert!(!net("10.250.128.0/17").contains("10.250.12.1".parse().unwrap()));
    assert!(has_prefix("xlab007-nfs1", "xlab007"));
    assert!(has_prefix("xlab007br", "xlab007"));
    assert!(!has_prefix("xlab0071", "xlab007"));
}

fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

fn inode(path: &Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(path).unwrap().ino()
}
