//! `extnfs doctor` in the lab: after a healthy sync of the example's AIX and Linux statelite
//! nodes it finds no problem; each thing broken afterwards is found for exactly the nodes it
//! concerns, and the fix it prints makes it pass again (a table change through the tables the
//! tabdump stand-in reads). Ganesha serves the exports it loads for real.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::support::{fixtures_path, CommandExt, Finished, Host, Lab, Sn, Tree};
use crate::syncaixres::{Cluster, COSI_PAGING, ROOT, SPOT, SR};

/// sn1's AIX nodes and two Linux statelite nodes of the example's compute image.
const SN1_NODES: &str = "cn001,cn002,cn003,cn004,ln001,ln002";
const COMPUTE: &str = "rhels8.6-x86_64-statelite-compute";
const COMPUTE_DIR: &str = "install/netboot/rhels8.6/x86_64/compute";

/// A command of the project on an SN, with the cluster's database, configuration,
/// remote shell and lsnim stand-in.
fn on_sn(c: &Cluster<'_>, sn: &str, program: &str) -> Command {
    let s = c.sn(sn);
    let mut cmd = s.command(program);
    cmd.env("RSYNC_RSH", c.lab.rsync_rsh())
        .env("LSNIM_DB", s.path("lsnim.db"))
        .env("XCAT_EXTNFS_CONFIG", s.path("extnfs.toml"))
        .env("PATH", fixtures_path());
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
    assert_eq!(json["nodes_checked"], 6, "{}", out.stdout);
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

/// Runs a printed fix on sn1, as an admin would type it; a `chtab` line changes the tables
/// the tabdump stand-in reads (`--db`).
fn run_fix(c: &Cluster<'_>, fix: &str) -> Option<Finished> {
    let fix = fix.split(" (").next().unwrap();
    let words: Vec<&str> = fix.split_whitespace().collect();
    let program = match words[0] {
        "syncaixres" => env!("CARGO_BIN_EXE_syncaixres"),
        "syncstatelite" => env!("CARGO_BIN_EXE_syncstatelite"),
        "extnfs" => env!("CARGO_BIN_EXE_extnfs"),
        "chtab" => {
            chtab(&c.db, &words[1..]);
            return None;
        }
        other => panic!("unexpected fix command {other}"),
    };
    let mut cmd = on_sn(c, "sn1", program);
    cmd.args(&words[1..]).env("ACTION", "diskless");
    match words[0] {
        "syncaixres" => {
            cmd.arg("--db").arg(&c.db);
        }
        "syncstatelite" => {
            cmd.arg("--db").arg(&c.db).env("ACTION", "osimage");
        }
        _ => {}
    }
    let out = cmd.run_bounded();
    assert!(out.success(), "{fix}: {}\n{}", out.stdout, out.stderr);
    Some(out)
}

/// `chtab -d KEY=VALUE[,KEY=VALUE...] TABLE` on a dumpxCATdb directory, as xCAT's chtab reads
/// it (the keys in one comma-joined argument, each split at its last `=`): removes the rows
/// whose key columns hold those values.
fn chtab(db: &Path, args: &[&str]) {
    let (table, keys) = match args {
        ["-d", keys, table] => (*table, keys.split(',').collect::<Vec<_>>()),
        other => panic!("unexpected chtab arguments {other:?}"),
    };
    let file = db.join(format!("{table}.csv"));
    let text = std::fs::read_to_string(&file).unwrap();
    let mut lines = text.lines();
    let header: Vec<String> = csv_fields(lines.next().unwrap().trim_start_matches('#'));
    let wanted: Vec<(usize, &str)> = keys
        .iter()
        .map(|k| {
            let (col, value) = k.rsplit_once('=').unwrap();
            let i = header.iter().position(|h| h == col).unwrap();
            (i, value)
        })
        .collect();
    let mut kept = vec![format!("#{}", header.join(","))];
    let mut removed = 0;
    for line in lines {
        let fields = csv_fields(line);
        if wanted
            .iter()
            .all(|(i, v)| fields.get(*i).map(String::as_str) == Some(*v))
        {
            removed += 1;
        } else {
            kept.push(line.to_string());
        }
    }
    assert_eq!(removed, 1, "chtab {args:?}: {text}");
    std::fs::write(&file, kept.join("\n") + "\n").unwrap();
}

/// The fields of one dumpxCATdb line (`"a","b,c",,`), unquoted.
fn csv_fields(line: &str) -> Vec<String> {
    let mut fields = vec![String::new()];
    let mut quoted = false;
    for ch in line.chars() {
        match ch {
            '"' => quoted = !quoted,
            ',' if !quoted => fields.push(String::new()),
            ch => fields.last_mut().unwrap().push(ch),
        }
    }
    fields
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
    statelite_image(c.sn("sn1"));
    for node in ["ln001", "ln002"] {
        c.nfs.write(
            format!("install/litetree/nodes/{node}/etc/issue"),
            format!("{node}\n"),
        );
    }
    let out = on_sn(&c, "sn1", env!("CARGO_BIN_EXE_syncstatelite"))
        .arg("--db")
        .arg(&c.db)
        .env("NODES", "ln001,ln002")
        .env("ACTION", "osimage")
        .run_bounded();
    assert!(out.success(), "{}\n{}", out.stdout, out.stderr);
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

    // The statemnt exported read-only: the statelite nodes, not the AIX nodes.
    let text = std::fs::read_to_string(&conf).unwrap();
    let block = ganesha_block(&text, "/install/nodedata");
    assert!(block.contains("Access_Type = RW;"), "{block}");
    std::fs::write(
        &conf,
        text.replace(
            &block,
            &block.replace("Access_Type = RW;", "Access_Type = RO;"),
        ),
    )
    .unwrap();
    let fix = assert_found(&c, "exports", &["ln001", "ln002"]);
    let (_, problems) = doctor(&c);
    assert!(
        problems[0]["message"]
            .as_str()
            .unwrap()
            .starts_with("statemnt on nfs1: the path is exported read-only"),
        "{problems:#?}"
    );
    assert!(
        fix.starts_with("extnfs exports apply --server nfs1"),
        "{fix}"
    );
    run_fix(&c, &fix);
    assert_clean(&c);

    // An `ro` litefile entry of the compute image in no litetree: ln002's own litetree holds
    // the file, so only ln001 is concerned; the printed chtab line removes the entry.
    c.nfs
        .write("install/litetree/nodes/ln002/etc/extnfs.conf", "ln002\n");
    let litefile = c.db.join("litefile.csv");
    let mut text = std::fs::read_to_string(&litefile).unwrap();
    text.push_str(&format!("\"{COMPUTE}\",\"/etc/extnfs.conf\",\"ro\",,\n"));
    std::fs::write(&litefile, text).unwrap();
    let fix = assert_found(&c, "statelite", &["ln001"]);
    assert!(
        fix.starts_with(&format!(
            "chtab -d image={COMPUTE},file=/etc/extnfs.conf litefile"
        )),
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

/// The example's compute image on an SN as liteimg leaves it (what the node needs to boot
/// past its initrd, a few files), and the site litetree its litefile entries want.
fn statelite_image(sn: &Sn<'_>) {
    let r = format!("{COMPUTE_DIR}/rootimg");
    sn.mkdir(format!("{r}/.statelite"));
    sn.write(format!("{r}/.default/etc/hosts"), "127.0.0.1 default\n");
    sn.write(format!("{r}/etc/init.d/statelite"), "#!/bin/sh\n");
    sn.set_mode(format!("{r}/etc/init.d/statelite"), 0o755);
    sn.write(format!("{r}/etc/shadow"), "root:!:19000::::::\n");
    sn.set_mode(format!("{r}/etc/shadow"), 0o600);
    sn.write(format!("{r}/usr/bin/busybox"), "busybox\n");
    sn.write("install/litetree/site/etc/hosts", "127.0.0.1 site\n");
    sn.write("install/litetree/site/etc/chrony.conf", "server ntp1\n");
    sn.write("install/litetree/site/etc/motd", "site motd\n");
}

/// The Ganesha `EXPORT` block of `path` in a configuration.
fn ganesha_block(conf: &str, path: &str) -> String {
    let at = conf
        .find(&format!("Path = \"{path}\""))
        .or_else(|| conf.find(&format!("Path = {path};")))
        .unwrap_or_else(|| panic!("no export of {path}:\n{conf}"));
    let start = conf[..at].rfind("EXPORT").unwrap();
    let end = at + conf[at..].find("\n}").unwrap() + 2;
    conf[start..end].to_string()
}
