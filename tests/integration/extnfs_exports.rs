//! `extnfs exports render|apply` after a sync of the example's sn1 to a locally mounted server
//! directory: the server worked out from the nodes sn1 serves, and a node dropped from the
//! SN's exports leaves the merged file, once.

use std::path::Path;

use crate::support::{example_db, fixtures_bin, root, Run};

/// The example's sn1 as files under `<dir>/sn1`, with its paging files.
fn example_sn(dir: &Path) -> std::path::PathBuf {
    let sn = dir.join("sn1");
    for part in ["common", "sn1"] {
        let status = std::process::Command::new("cp")
            .arg("-a")
            .arg(root().join("examples/cluster").join(part).join("."))
            .arg(&sn)
            .status()
            .unwrap();
        assert!(status.success());
    }
    for p in [
        "71Bcosi_paging/cn001",
        "71Bcosi_paging/cn002",
        "71Bsr_paging/cn003",
        "71Bsr_paging/cn004",
    ] {
        let d = sn.join("install/nim/paging").join(p);
        std::fs::create_dir_all(&d).unwrap();
        std::fs::File::create(d.join("swapnfs0"))
            .unwrap()
            .set_len(1 << 20)
            .unwrap();
    }
    sn
}

/// The example's sn1 synced to `<dir>/nfs1` (transport "local"); returns the config path.
fn synced_example(dir: &Path) -> std::path::PathBuf {
    let sn = example_sn(dir);
    let config = dir.join("extnfs.toml");
    std::fs::write(
        &config,
        format!(
            "syslog = false\nlock_dir = \"{d}\"\n[server.nfs1]\ntransport = \"local\"\n\
             local_path = \"{d}/nfs1\"\naddress = \"10.1.0.250\"\n",
            d = dir.display()
        ),
    )
    .unwrap();
    Run::bin(
        "syncaixres",
        [
            "--nodes",
            "sn1nodes",
            "--sn",
            "sn1",
            "--db",
            &example_db(),
            "--config",
            &config.display().to_string(),
            "--sysroot",
            &sn.display().to_string(),
        ],
    )
    .path_first(&fixtures_bin())
    .env("LSNIM_DB", sn.join("lsnim.db"))
    .success()
    .stdout_has("exports: server nfs1 (linux): ");
    config
}

#[test]
fn render_then_apply_then_nothing_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let config = synced_example(dir.path());
    let sn = dir.path().join("sn1");
    let file = dir.path().join("nfs1/etc/exports.d/xcat-extnfs.exports");
    let before = std::fs::read_to_string(&file).unwrap();
    assert!(
        before.contains("/install/nim/root/71Bcosi_root/cn002 10.1.1.2(rw,"),
        "{before}"
    );

    // cn002 is gone from sn1's exports (rmdsklsnode); its own directories leave the server's.
    let exports = std::fs::read_to_string(sn.join("etc/exports")).unwrap();
    let kept: String = exports
        .lines()
        .filter(|l| !l.contains("/cn002 "))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(sn.join("etc/exports"), kept).unwrap();
    let args = |verb: &str| {
        vec![
            "exports".to_string(),
            verb.to_string(),
            "--config".into(),
            config.display().to_string(),
            "--sn".into(),
            "sn1".into(),
            "--sysroot".into(),
            sn.display().to_string(),
            "--db".into(),
            example_db(),
        ]
    };
    let mut render = Run::extnfs(args("render")).success();
    let text = render.stdout_text();
    assert!(
        text.starts_with("# Server nfs1 (linux), /etc/exports.d/xcat-extnfs.exports"),
        "{text}"
    );
    assert!(text.contains("71Bcosi_root/cn002: dropped, this service node no longer exports it"));
    assert!(
        !text.contains("/install/nim/root/71Bcosi_root/cn002 10.1.1.2("),
        "{text}"
    );
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        before,
        "render writes nothing"
    );

    Run::extnfs(args("apply"))
        .success()
        .stdout_has("server nfs1 (linux)");
    let after = std::fs::read_to_string(&file).unwrap();
    assert!(!after.contains("/cn002 "), "{after}");
    assert!(
        after.contains("/install/nim/root/71Bcosi_root/cn001 10.1.1.1(rw,"),
        "{after}"
    );
    Run::extnfs(args("apply"))
        .success()
        .stdout("server nfs1 (linux): exports up to date, nothing written\n");
}

#[test]
fn a_server_must_be_named_when_the_tables_cannot_be_read() {
    Run::extnfs(["exports", "render", "--no-local", "--db", "/nonexistent"])
        .env("XCAT_EXTNFS_CONFIG", "/dev/null")
        .code(2)
        .stderr_has("cannot work out the servers")
        .stderr_has("name the server with --server");
}

#[test]
fn a_host_serving_no_node_of_an_external_server_must_name_one() {
    let sn = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(sn.path().join("etc")).unwrap();
    std::fs::write(sn.path().join("etc/exports"), "").unwrap();
    let sysroot = sn.path().display().to_string();
    let args = [
        "exports",
        "render",
        "--sn",
        "sn9",
        "--sysroot",
        &sysroot,
        "--db",
    ];
    Run::extnfs(args.into_iter().chain([example_db().as_str()]))
        .env("XCAT_EXTNFS_CONFIG", "/dev/null")
        .code(2)
        .stderr_has("no server found: none of the nodes this host serves");
}

/// Every file under `dir` with its content.
fn contents(dir: &Path) -> Vec<(std::path::PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let path = e.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.is_file() {
                out.push((path.clone(), std::fs::read(&path).unwrap()));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn an_unbalanced_rsync_rsh_is_a_usage_error_before_any_edit() {
    let dir = tempfile::tempdir().unwrap();
    let sn = example_sn(dir.path());
    let config = dir.path().join("extnfs.toml");
    std::fs::write(
        &config,
        format!(
            "syslog = false\nlock_dir = \"{}\"\n[server.nfs1]\naddress = \"10.1.0.250\"\n",
            dir.path().display()
        ),
    )
    .unwrap();
    let before = contents(&sn);
    let config = config.display().to_string();
    let sysroot = sn.display().to_string();
    let args = ["--nodes", "sn1nodes", "--sn", "sn1", "--db", &example_db()];
    Run::bin(
        "syncaixres",
        args.into_iter()
            .chain(["--config", &config, "--sysroot", &sysroot]),
    )
    .path_first(&fixtures_bin())
    .env("LSNIM_DB", sn.join("lsnim.db"))
    .env("RSYNC_RSH", "ssh -o \"unbalanced")
    .code(2)
    .stdout_has("has an unbalanced quote");
    assert!(contents(&sn) == before, "a file of the SN was edited");
}

#[test]
fn a_failed_reload_is_a_failure_and_the_roll_back_reaches_output_and_syslog() {
    let dir = tempfile::tempdir().unwrap();
    let config = synced_example(dir.path());
    let sn = dir.path().join("sn1");
    let exports = std::fs::read_to_string(sn.join("etc/exports")).unwrap();
    let kept: String = exports
        .lines()
        .filter(|l| !l.contains("/cn002 "))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(sn.join("etc/exports"), kept).unwrap();
    let record = dir.path().join("syslog");
    let logger = dir.path().join("logger");
    std::fs::write(
        &logger,
        format!("#!/bin/sh\necho \"$@\" >> '{}'\n", record.display()),
    )
    .unwrap();
    std::process::Command::new("chmod")
        .arg("755")
        .arg(&logger)
        .status()
        .unwrap();
    let text = std::fs::read_to_string(&config).unwrap();
    let text = text.replace(
        "syslog = false\n",
        &format!("logger = \"{}\"\n", logger.display()),
    );
    std::fs::write(&config, format!("{text}exports.reload = [\"false\"]\n")).unwrap();
    let file = dir.path().join("nfs1/etc/exports.d/xcat-extnfs.exports");
    let before = std::fs::read_to_string(&file).unwrap();

    let config = config.display().to_string();
    let sysroot = sn.display().to_string();
    let args = [
        "exports",
        "apply",
        "--server",
        "nfs1",
        "--config",
        &config,
        "--sn",
        "sn1",
        "--sysroot",
        &sysroot,
    ];
    let message = "reloading the restored configuration";
    Run::extnfs(args)
        .code(1)
        .stderr_has("failed and the previous configuration was put back")
        .stderr_has(&format!("extnfs: error: server nfs1: {message}"));
    assert_eq!(std::fs::read_to_string(&file).unwrap(), before);
    let logged = std::fs::read_to_string(&record).unwrap();
    assert!(
        logged.contains("-p local4.err") && logged.contains(message),
        "{logged}"
    );
}
