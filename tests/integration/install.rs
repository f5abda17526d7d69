//! `extnfs install`: the prescripts and postscripts land under the install directory with mode
//! 0755, byte for byte, with the chdef lines that enable them and warnings about binaries that
//! cannot run where they will.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use crate::support::{example_db, Run};

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o7777
}

#[test]
fn places_each_script_where_xcat_runs_it_and_prints_the_chdef_lines() {
    let dir = tempfile::tempdir().unwrap();
    let installdir = dir.path().join("install");
    // An older copy is replaced, whatever its mode.
    std::fs::create_dir_all(installdir.join("postscripts")).unwrap();
    std::fs::write(installdir.join("postscripts/redirectps"), "old").unwrap();
    let target = installdir.display().to_string();
    let mut run = Run::extnfs([
        "install",
        "--db",
        &example_db(),
        "--nodes",
        "sn1nodes",
        "--installdir",
        &target,
    ])
    .success();
    let out = run.stdout_text();
    for (dir, name, exe) in [
        ("prescripts", "syncaixres", env!("CARGO_BIN_EXE_syncaixres")),
        (
            "prescripts",
            "syncstatelite",
            env!("CARGO_BIN_EXE_syncstatelite"),
        ),
        (
            "postscripts",
            "redirectps",
            env!("CARGO_BIN_EXE_redirectps"),
        ),
    ] {
        let placed = installdir.join(dir).join(name);
        assert!(
            out.contains(&format!(
                "placed {exe} -> {} (mode 755)\n",
                placed.display()
            )),
            "{out}"
        );
        assert_eq!(mode(&placed), 0o755, "{}", placed.display());
        assert!(
            std::fs::read(&placed).unwrap() == std::fs::read(exe).unwrap(),
            "{} is not a copy of {exe}",
            placed.display()
        );
    }
    assert_eq!(
        std::fs::read_dir(installdir.join("prescripts"))
            .unwrap()
            .count(),
        2
    );
    assert!(
        out.ends_with(
            "# to enable them:\n\
         chdef -t node -o sn1nodes 'prescripts-end=diskless:syncaixres|remove:syncaixres'\n\
         chdef -t node -o sn1nodes -p postbootscripts=redirectps\n"
        ),
        "{out}"
    );
    if cfg!(target_os = "linux") {
        // The example's nodes are AIX; this build's redirectps is not.
        run.stderr_has(
            "extnfs install: warning: redirectps is a Linux x86_64 (ELF) binary: it cannot \
             run on cn001 (AIX ppc64), cn002 (AIX ppc64), cn003 (AIX ppc64), cn004 (AIX ppc64), \
             cn010 (AIX ppc64) (an XCOFF binary built on AIX",
        )
        .stderr_has("cannot tell whether syncaixres (a Linux x86_64 (ELF) binary) runs on sn1: set their nodetype.os and nodetype.arch");
    }
}

#[test]
fn dry_run_changes_nothing_and_the_default_is_site_installdir() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");
    std::fs::create_dir(&db).unwrap();
    for table in ["nodelist", "nodetype", "noderes"] {
        std::fs::copy(
            Path::new(&example_db()).join(format!("{table}.csv")),
            db.join(format!("{table}.csv")),
        )
        .unwrap();
    }
    let installdir = dir.path().join("xcatinstall");
    std::fs::write(
        db.join("site.csv"),
        format!(
            "#key,value,comments,disable\n\"installdir\",\"{}\",,\n",
            installdir.display()
        ),
    )
    .unwrap();
    let db = db.display().to_string();
    Run::extnfs(["install", "--dry-run", "--db", &db])
        .success()
        .stdout_has(&format!(
            "would place {} -> {}/prescripts/syncaixres (mode 755)\n",
            env!("CARGO_BIN_EXE_syncaixres"),
            installdir.display()
        ))
        .stdout_has("chdef -t node -o '<noderange>' -p postbootscripts=redirectps\n");
    assert!(
        !installdir.exists(),
        "a dry run created {}",
        installdir.display()
    );
}

#[test]
fn list_names_each_script_and_its_directory() {
    Run::extnfs(["install", "--list"])
        .success()
        .stdout("prescripts syncaixres\nprescripts syncstatelite\npostscripts redirectps\n");
}

#[test]
fn a_directory_without_the_binaries_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().display().to_string();
    Run::extnfs(["install", "--dry-run", "--installdir", &empty, "--from", &empty])
        .code(2)
        .stderr_has(&format!(
            "none of syncaixres, syncstatelite, redirectps is in {empty}: name the directory of the binaries with --from"
        ));
}

#[test]
fn the_packaged_example_configuration_is_valid_as_shipped_and_uncommented() {
    use xcat_extnfs::config::Config;
    let path = crate::support::root().join("packaging/extnfs.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    let shipped = Config::parse(&text, &path).unwrap();
    assert_eq!(
        shipped.server_names().count(),
        0,
        "the shipped file sets nothing"
    );
    let uncommented: String = text
        .lines()
        .map(|l| l.strip_prefix("# ").unwrap_or(l))
        .map(|l| format!("{l}\n"))
        .collect();
    let every_setting =
        Config::parse(&uncommented, &path).unwrap_or_else(|e| panic!("{e}\n{uncommented}"));
    assert_eq!(every_setting.server_names().collect::<Vec<_>>(), ["nfs1"]);
    assert_eq!(every_setting.server("nfs1").ssh_host, "nfs1-admin");
}
