//! `extnfs doctor` in the lab: after a healthy sync of the example's AIX nodes it finds no
//! problem; each thing broken afterwards is found for exactly the nodes it concerns, and the
//! fix it prints makes it pass again. Ganesha serves the exports it loads for real.

use std::process::Command;

use serde_json::Value;

use crate::support::{fixtures_bin, CommandExt, Finished, Host, Lab, Tree};
use crate::syncaixres::{Cluster, COSI_PAGING, ROOT, SPOT, SR};

const SN1_NODES: &str = "cn001,cn002,cn003,cn004";

/// A command of the project on an SN, with the cluster's database, configuration,
/// remote shell and lsnim stand-in.
fn on_sn(c: &Cluster<'_>, sn: &str, program: &str) -> Command {
    let s = c.sn(sn);
    let mut cmd = s.command(program);
    cmd.env("RSYNC_RSH", c.lab.rsync_rsh())
        .env("LSNIM_DB", s.path("lsnim.db"))
        .env("XCAT_EXTNFS_CONFIG", s.path("extnfs.toml"))
        .env(
            "PATH",
            format!(
                "{}:{}",
                fixtures_bin().display(),
                std::env::var("PATH").unwrap()
            ),
        );
    cmd
}

/// `extnfs doctor --format json` on sn1 for its external nodes: the exit code and problems.
fn doctor(c: &Cluster<'_>) -> (i32, Vec<Value>) {
    let out = on_sn(c, "sn1", env!("CARGO_BIN_EXE_extnfs"))
        .args(["doctor", "--format", "json", "--nodes", SN1_NODES, "--db"])
        .arg(&c.db)
        .run_bounded();
    let json: Value = serde_json::from_str(&out.stdout)
        .unwrap_or_else(|e| panic!("doctor's JSON: {e}\n{}\n{}", out.stdout, out.stderr));
    assert_eq!(json["nodes_checked"], 4, "{}", out.stdout);
    let problems = json["problems"].as_array().unwrap().clone();
    (out.status.code().unwrap(), problems)
}

fn nodes_of(p: &Value) -> Vec<String> {
    p["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap().to_string())
        .collect()
}

/// Asserts that doctor finds a `check` problem, that every problem concerns exactly `nodes`
/// (a break may show in more than one check), and that they share one fix, which is returned.
#[track_caller]
fn assert_found(c: &Cluster<'_>, check: &str, nodes: &[&str]) -> String {
    let (code, problems) = doctor(c);
    assert_eq!(code, 1, "{problems:#?}");
    assert!(!problems.is_empty());
    assert!(
        problems.iter().any(|p| p["check"] == check),
        "{problems:#?}"
    );
    for p in &problems {
        assert_eq!(nodes_of(p), nodes, "{problems:#?}");
    }
    let fix = problems[0]["fix"].as_str().unwrap().to_string();
    assert!(
        problems.iter().all(|p| p["fix"] == fix.as_str()),
        "{problems:#?}"
    );
    fix
}

/// Runs a printed fix on sn1, as an admin would type it.
fn run_fix(c: &Cluster<'_>, fix: &str) -> Finished {
    let fix = fix.split(" (").next().unwrap();
    let words: Vec<&str> = fix.split_whitespace().collect();
    let program = match words[0] {
        "syncaixres" => env!("CARGO_BIN_EXE_syncaixres"),
        "extnfs" => env!("CARGO_BIN_EXE_extnfs"),
        other => panic!("unexpected fix command {other}"),
    };
    let mut cmd = on_sn(c, "sn1", program);
    cmd.args(&words[1..]).env("ACTION", "diskless");
    if words[0] == "syncaixres" {
        cmd.arg("--db").arg(&c.db);
    }
    let out = cmd.run_bounded();
    assert!(out.success(), "{fix}: {}\n{}", out.stdout, out.stderr);
    out
}

#[track_caller]
fn assert_clean(c: &Cluster<'_>) {
    let (code, problems) = doctor(c);
    assert_eq!((code, problems.len()), (0, 0), "{problems:#?}");
}

#[test]
fn doctor_names_each_break_and_its_fix_clears_it() {
    let lab = Lab::new("doctor");
    let c = Cluster::new(&lab);
    for sn in ["sn1", "sn2"] {
        let out = c.sync(sn);
        assert!(out.success(), "{}\n{}", out.stdout, out.stderr);
    }
    let _ganesha = c
        .nfs
        .start_ganesha("%include \"/etc/ganesha/xcat-extnfs.conf\"\n");
    assert_clean(&c);

    // A node's root deleted on the server.
    std::fs::remove_dir_all(c.nfs.path(format!("{ROOT}/cn001"))).unwrap();
    let fix = assert_found(&c, "content", &["cn001"]);
    assert_eq!(fix, "syncaixres --nodes cn001");
    run_fix(&c, &fix);
    assert_clean(&c);

    // A SPOT file changed on the server: every node of the SPOT.
    c.nfs
        .write(format!("{SPOT}/bin/ksh"), "changed on the server\n");
    let fix = assert_found(&c, "content", &["cn001", "cn002", "cn003", "cn004"]);
    run_fix(&c, &fix);
    assert_clean(&c);

    // A .client_data file of a shared_root node missing.
    std::fs::remove_file(c.nfs.path(format!("{SR}/etc/.client_data/hosts.cn003"))).unwrap();
    let fix = assert_found(&c, "content", &["cn003"]);
    run_fix(&c, &fix);
    assert_clean(&c);

    // A paging file missing.
    std::fs::remove_file(c.nfs.path(format!("{COSI_PAGING}/cn002/swapnfs0"))).unwrap();
    let fix = assert_found(&c, "paging", &["cn002"]);
    run_fix(&c, &fix);
    assert_clean(&c);

    // A node's filesystems back to its SN (its root then differs from the server's copy too).
    let fs = c.sn("sn1").path(format!("{ROOT}/cn002/etc/filesystems"));
    let text = std::fs::read_to_string(&fs).unwrap();
    assert!(text.contains("nfs1"), "{text}");
    std::fs::write(&fs, text.replace("nfs1", "sn1")).unwrap();
    let fix = assert_found(&c, "redirection", &["cn002"]);
    run_fix(&c, &fix);
    assert_clean(&c);

    // A node missing from the exports Ganesha loads.
    let conf = c.nfs.path("etc/ganesha/xcat-extnfs.conf");
    let text = std::fs::read_to_string(&conf).unwrap();
    assert!(text.contains("Clients = 10.1.1.4;"), "{text}");
    std::fs::write(
        &conf,
        text.replace("Clients = 10.1.1.4;", "Clients = 10.1.1.99;"),
    )
    .unwrap();
    let fix = assert_found(&c, "exports", &["cn004"]);
    assert!(
        fix.starts_with("extnfs exports apply --server nfs1"),
        "{fix}"
    );
    run_fix(&c, &fix);
    assert_clean(&c);

    // The server unreachable: one problem for the server, naming its nodes.
    c.nfs.cut_network();
    let (code, problems) = doctor(&c);
    c.nfs.restore_network();
    assert_eq!(code, 1);
    assert_eq!(problems.len(), 1, "{problems:#?}");
    assert_eq!(problems[0]["check"], "reachability");
    assert_eq!(
        nodes_of(&problems[0]),
        SN1_NODES.split(',').collect::<Vec<_>>()
    );
    assert_clean(&c);

    // status: every image present and in sync, both SNs' stamps, exports current.
    let out = on_sn(&c, "sn1", env!("CARGO_BIN_EXE_extnfs"))
        .args(["status", "--format", "json", "--db"])
        .arg(&c.db)
        .run_bounded();
    let json: Value = serde_json::from_str(&out.stdout)
        .unwrap_or_else(|e| panic!("status JSON: {e}\n{}\n{}", out.stdout, out.stderr));
    let server = &json["servers"][0];
    assert_eq!(server["server"], "nfs1", "{json:#}");
    assert_eq!(server["exports"], "up to date", "{json:#}");
    let images = server["images"].as_array().unwrap();
    let aix: Vec<&Value> = images
        .iter()
        .filter(|i| i["image"].as_str().unwrap().starts_with("71B"))
        .collect();
    assert_eq!(aix.len(), 2, "{json:#}");
    for image in aix {
        assert_eq!(image["missing"].as_array().unwrap().len(), 0, "{json:#}");
        assert_eq!(image["differing"].as_array().unwrap().len(), 0, "{json:#}");
        let sns: Vec<&str> = image["last_sync"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s[0].as_str().unwrap())
            .collect();
        assert!(sns.contains(&"sn1"), "{json:#}");
    }
}
