//! The POSIX sh scripts this project runs on an external server (or a locally mounted one),
//! kept as `.sh` files checked by shellcheck, and the one parser of what they print.
//!
//! Every script takes user values only as positional parameters or on standard input, never
//! spliced into its text (see [`crate::remote::Remote::script`]).

/// Creates missing paging files as sparse files, for several resources in one run; stdin and
/// stdout as [`allocation_input`] writes and [`allocation_reports`] reads them.
pub const ALLOCATE: &str = include_str!("allocate.sh");
/// Deletes nodes' data; stdin lines `dir PATH` or `files DIR SUFFIX`.
pub const REMOVE: &str = include_str!("remove.sh");
/// Holds the exports lock `$1` (waiting `$2` s, owner `$3`) until stdin closes.
pub const LOCK: &str = include_str!("lock.sh");
/// Prints the parts in `$1` and the file `$2` in frames marked `$3` (see [`frames`]).
pub const READ: &str = include_str!("read.sh");
/// Installs stdin as `$1` if its checksum is still `$2`, keeping the old file to restore.
pub const INSTALL: &str = include_str!("install.sh");
/// Moves `$1` aside, restorable.
pub const MOVE_ASIDE: &str = include_str!("move_aside.sh");
/// Puts back what an install or a move aside replaced.
pub const RESTORE: &str = include_str!("restore.sh");
/// Prints the argument names the server cannot resolve.
pub const NAMES: &str = include_str!("names.sh");
/// Statelite directories: `mkdir DIR...` (created when missing, nothing below touched),
/// `exist PATH...` and `isdir PATH...` (the paths that are there), one per line.
pub const STATELITE: &str = include_str!("statelite.sh");

/// What the NFS server applied, by kind (`$1`), in frames marked `$2` (see [`frames`]).
pub const APPLIED: &str = include_str!("applied.sh");
/// `SIZE PATH`, `dir PATH`, `empty PATH` (an empty directory) or `missing PATH` for each path on stdin.
pub const SIZES: &str = include_str!("sizes.sh");
/// `missing PATH` for each path on stdin that is not there.
pub const MISSING: &str = include_str!("missing.sh");
/// Sync stamps: `write DIR` (stdin `NAME JSON` lines) and `read DIR`.
pub const STAMPS: &str = include_str!("stamps.sh");
/// Records of verified copies: `state`, `begin` and `record` (read by the sync engine).
pub const COPIED: &str = include_str!("copied.sh");

/// Exit status of [`LOCK`] when the wait ran out (EX_TEMPFAIL).
pub const LOCK_BUSY: i32 = 75;
/// Exit status of [`INSTALL`] when the file changed since it was read.
pub const INSTALL_CHANGED: i32 = 3;

/// A file [`ALLOCATE`] makes sure of: its size, mode, owner and path on the server.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Allocation {
    pub size: u64,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub path: String,
}

/// [`ALLOCATE`]'s standard input for the files of several resources: per resource a line
/// `resource N` (N its index in `resources`), then its files as `size mode uid gid path`,
/// those of one size, mode and owner next to each other, so that the script handles each
/// such group with a fixed number of processes.
pub fn allocation_input(resources: Vec<Vec<Allocation>>) -> String {
    let mut out = String::new();
    for (n, mut files) in resources.into_iter().enumerate() {
        files.sort();
        out.push_str(&format!("resource {n}\n"));
        for f in files {
            out.push_str(&format!(
                "{} {:o} {} {} {}\n",
                f.size, f.mode, f.uid, f.gid, f.path
            ));
        }
    }
    out
}

/// What [`ALLOCATE`] reported for each of the `count` resources [`allocation_input`] gave it,
/// in their order: the lines between `resource N` and `end N` as a [`FileReport`], `None`
/// for a resource whose `end N` never came (the script stopped before finishing it). Lines
/// outside a resource, or of a resource not asked for, are not counted.
pub fn allocation_reports(stdout: &str, count: usize) -> Vec<Option<FileReport>> {
    let index = |tag: &str| tag.parse::<usize>().ok().filter(|n| *n < count);
    let mut text = vec![String::new(); count];
    let mut finished = vec![false; count];
    let mut current = None;
    for line in stdout.lines() {
        if let Some(tag) = line.strip_prefix("resource ") {
            current = index(tag);
        } else if let Some(tag) = line.strip_prefix("end ") {
            if let Some(n) = index(tag).filter(|n| current == Some(*n)) {
                finished[n] = true;
            }
            current = None;
        } else if let Some(n) = current {
            text[n].push_str(line);
            text[n].push('\n');
        }
    }
    text.iter()
        .zip(finished)
        .map(|(t, done)| done.then(|| FileReport::parse(t)))
        .collect()
}

/// What [`ALLOCATE`] or [`REMOVE`] reported, one line per file: `created PATH`,
/// `removed PATH`, `differs PATH (...)` or `error PATH`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FileReport {
    /// Files created or removed.
    pub changed: usize,
    /// Existing files left as they were, with why.
    pub differs: Vec<String>,
    /// Files that could not be handled.
    pub errors: Vec<String>,
}

impl FileReport {
    pub fn parse(stdout: &str) -> FileReport {
        let mut r = FileReport::default();
        for line in stdout.lines() {
            match line.split_once(' ') {
                Some(("created" | "removed", _)) => r.changed += 1,
                Some(("differs", rest)) => r.differs.push(rest.to_string()),
                Some(("error", rest)) => r.errors.push(rest.to_string()),
                _ => {}
            }
        }
        r
    }
}

/// The paths a script reported as `created PATH`, in its order.
pub fn created(stdout: &str) -> Vec<&str> {
    stdout
        .lines()
        .filter_map(|l| l.strip_prefix("created "))
        .collect()
}

/// Which of `paths` [`STATELITE`]'s `exist` or `isdir` listed (it prints one path a line).
pub fn listed<'p>(stdout: &str, paths: &'p [String]) -> Vec<&'p String> {
    let found: std::collections::BTreeSet<&str> = stdout.lines().collect();
    paths
        .iter()
        .filter(|p| found.contains(p.as_str()))
        .collect()
}

/// Splits [`READ`]'s `MARK header\nbody\nMARK end\n` frames into (header, body).
pub fn frames(out: &str, mark: &str) -> Result<Vec<(String, String)>, String> {
    let start = format!("{mark} ");
    let end = format!("\n{mark} end\n");
    let mut rest = out;
    let mut frames = Vec::new();
    while !rest.is_empty() {
        let framed = rest
            .strip_prefix(&start)
            .and_then(|r| r.split_once('\n'))
            .and_then(|(header, r)| {
                r.split_once(&end)
                    .map(|(body, after)| (header, body, after))
            });
        let (header, body, after) =
            framed.ok_or("the server's answer is not in the expected frames")?;
        frames.push((header.to_string(), body.to_string()));
        rest = after;
    }
    Ok(frames)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip() {
        let out = "M part a.json\n{}\n\nM end\nM file 1 2\nx\nM end\n";
        let got = frames(out, "M").unwrap();
        assert_eq!(got[0], ("part a.json".to_string(), "{}\n".to_string()));
        assert_eq!(got[1], ("file 1 2".to_string(), "x".to_string()));
        assert!(frames("junk", "M").is_err());
    }

    #[test]
    fn file_reports_count_changes_and_collect_problems() {
        let out = "created /a\nremoved /b\ndiffers /c (1 bytes, SN has 2)\nerror /d\nnoise\n";
        assert_eq!(
            FileReport::parse(out),
            FileReport {
                changed: 2,
                differs: vec!["/c (1 bytes, SN has 2)".into()],
                errors: vec!["/d".into()],
            }
        );
    }

    #[test]
    fn statelite_answers_are_read_by_line() {
        let out = "exists /s/a\ncreated /s/b\ncreated /s/c d\n";
        assert_eq!(created(out), ["/s/b", "/s/c d"]);
        let asked = ["/t/x".to_string(), "/t/y".into(), "/t/x y".into()];
        assert_eq!(listed("/t/x y\n/t/x\n", &asked), [&asked[0], &asked[2]]);
        assert!(listed("", &asked).is_empty());
    }

    /// Runs [`ALLOCATE`] with `PATH` set to `path` on `resources` (each file relative to `dir`,
    /// of our own ids so that chown works without root).
    fn allocate(
        dir: &std::path::Path,
        path: &str,
        resources: &[&[(u64, u32, &str)]],
    ) -> Vec<Option<FileReport>> {
        let (uid, gid) = std::fs::metadata(dir)
            .map(|m| {
                use std::os::unix::fs::MetadataExt;
                (m.uid(), m.gid())
            })
            .unwrap();
        let input = allocation_input(
            resources
                .iter()
                .map(|files| {
                    files
                        .iter()
                        .map(|&(size, mode, name)| Allocation {
                            size,
                            mode,
                            uid,
                            gid,
                            path: format!("{}/{name}", dir.display()),
                        })
                        .collect()
                })
                .collect(),
        );
        let sh = crate::process::find_program("sh").unwrap();
        let out = crate::process::Cmd::new(sh)
            .args(["-c", ALLOCATE, "extnfs"])
            .env("PATH", path)
            .stdin_bytes(input)
            .run_checked()
            .unwrap();
        allocation_reports(&out.stdout, resources.len())
    }

    fn allocate_in(dir: &std::path::Path, path: &str) -> FileReport {
        let files: &[(u64, u32, &str)] = &[
            (1 << 20, 0o600, "b/n 2"),
            (4096, 0o644, "a/n1"),
            (1 << 20, 0o600, "a/n3"),
            (1 << 20, 0o640, "c/n4"),
        ];
        allocate(dir, path, &[files]).remove(0).unwrap()
    }

    #[test]
    fn sizes_lists_files_directories_and_missing_paths_in_a_few_processes() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path();
        std::fs::create_dir_all(d.join("full")).unwrap();
        std::fs::create_dir_all(d.join("empty")).unwrap();
        std::fs::write(d.join("full/f"), b"12345").unwrap();
        std::fs::create_dir_all(d.join("dot")).unwrap();
        std::fs::write(d.join("dot/.hidden"), b"").unwrap();
        std::fs::write(d.join("a  b'c\\d"), b"xy").unwrap();
        let paths = ["a  b'c\\d", "full", "empty", "none", "full/f", "dot"]
            .map(|p| d.join(p).display().to_string());
        let input: String = paths.iter().map(|p| format!("{p}\n")).collect();
        let sh = crate::process::find_program("sh").unwrap();
        let out = crate::process::Cmd::new(sh)
            .args(["-c", SIZES, "extnfs"])
            .stdin_bytes(input)
            .run_checked()
            .unwrap();
        let got: std::collections::BTreeMap<&str, &str> = out
            .stdout
            .lines()
            .map(|l| l.split_once(' ').map(|(v, p)| (p, v)).unwrap())
            .collect();
        let want = ["2", "dir", "empty", "missing", "5", "dir"];
        for (p, w) in paths.iter().zip(want) {
            assert_eq!(got.get(p.as_str()), Some(&w), "{p}: {}", out.stdout);
        }
        assert_eq!(got.len(), 6, "{}", out.stdout);
    }

    #[test]
    fn allocation_creates_sparse_files_and_compares_existing_ones() {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        std::fs::create_dir(dir.join("c")).unwrap();
        std::fs::write(dir.join("c/n4"), b"in use").unwrap();
        let path = std::env::var("PATH").unwrap();
        let report = allocate_in(dir, &path);
        assert_eq!(report.changed, 3, "{report:?}");
        assert_eq!(report.errors, Vec::<String>::new());
        assert_eq!(
            report.differs,
            [format!("{}/c/n4 (6 bytes, SN has 1048576)", dir.display())]
        );
        let meta = std::fs::metadata(dir.join("b/n 2")).unwrap();
        assert_eq!(
            (meta.len(), meta.permissions().mode() & 0o777),
            (1 << 20, 0o600)
        );
        assert!(meta.blocks() * 512 < 1 << 20, "sparse");
        let again = allocate_in(dir, &path);
        assert_eq!((again.changed, again.differs.len()), (0, 1), "{again:?}");
    }

    #[test]
    fn allocation_works_without_truncate_and_perl() {
        let tmp = tempfile::tempdir().unwrap();
        let bin = tmp.path().join("bin");
        std::fs::create_dir(&bin).unwrap();
        for tool in ["find", "chmod", "chown", "mkdir", "dd", "rm", "ls", "awk"] {
            let found = crate::process::find_program(tool).unwrap();
            std::os::unix::fs::symlink(found, bin.join(tool)).unwrap();
        }
        let dir = tmp.path().join("server");
        std::fs::create_dir(&dir).unwrap();
        let report = allocate_in(&dir, &bin.display().to_string());
        assert_eq!((report.changed, report.errors.len()), (4, 0), "{report:?}");
        let meta = std::fs::metadata(dir.join("a/n1")).unwrap();
        assert_eq!(meta.len(), 4096);
    }

    #[test]
    fn allocation_input_groups_size_mode_and_owner_per_resource() {
        let f = |size, mode, path: &str| Allocation {
            size,
            mode,
            uid: 0,
            gid: 0,
            path: path.into(),
        };
        let text = allocation_input(vec![
            vec![f(2, 0o600, "/b"), f(1, 0o644, "/c"), f(2, 0o600, "/a")],
            vec![],
            vec![f(1, 0o600, "/d")],
        ]);
        assert_eq!(
            text,
            "resource 0\n1 644 0 0 /c\n2 600 0 0 /a\n2 600 0 0 /b\n\
             resource 1\nresource 2\n1 600 0 0 /d\n"
        );
    }

    #[test]
    fn allocation_reports_belong_to_their_own_resource() {
        let out = "stray /x\nresource 0\ncreated /p/a\nerror /p/b\nend 0\n\
                   resource 1\nend 1\n\
                   resource 2\ndiffers /q/c (1 bytes, SN has 2)\ncreated /q/d\nend 2\n\
                   resource 9\ncreated /z\nend 9\n\
                   resource 3\ncreated /r/e\n";
        let got = allocation_reports(out, 5);
        let report = |changed, differs: &[&str], errors: &[&str]| {
            Some(FileReport {
                changed,
                differs: differs.iter().map(|s| s.to_string()).collect(),
                errors: errors.iter().map(|s| s.to_string()).collect(),
            })
        };
        assert_eq!(
            got,
            [
                report(1, &[], &["/p/b"]),
                report(0, &[], &[]),
                report(1, &["/q/c (1 bytes, SN has 2)"], &[]),
                // Started, never ended: the script stopped in it.
                None,
                // Never started.
                None,
            ]
        );
        // An `end` of another resource does not finish the current one.
        assert_eq!(
            allocation_reports("resource 0\nend 1\nresource 1\nend 1\n", 2),
            [None, report(0, &[], &[])]
        );
        assert_eq!(allocation_reports("", 1), [None]);
    }

    #[test]
    fn one_resource_failing_leaves_the_others_of_the_run_reported_apart() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        // A file where resource 1 wants its node's directory: its file cannot be created.
        std::fs::write(dir.join("blocked"), b"").unwrap();
        let path = std::env::var("PATH").unwrap();
        let got = allocate(
            dir,
            &path,
            &[
                &[(4096, 0o600, "p/n1"), (8192, 0o600, "p/n2")],
                &[(4096, 0o600, "blocked/n3")],
                &[(4096, 0o600, "q/n4")],
            ],
        );
        let got: Vec<FileReport> = got.into_iter().map(Option::unwrap).collect();
        assert_eq!((got[0].changed, got[0].errors.len()), (2, 0), "{got:?}");
        assert_eq!(
            got[1].errors,
            [format!("{}/blocked/n3", dir.display())],
            "{got:?}"
        );
        assert_eq!((got[2].changed, got[2].errors.len()), (1, 0), "{got:?}");
        assert_eq!(std::fs::metadata(dir.join("q/n4")).unwrap().len(), 4096);
    }

    #[test]
    fn scripts_are_sh_with_our_header() {
        for s in [
            ALLOCATE, REMOVE, LOCK, READ, INSTALL, MOVE_ASIDE, RESTORE, NAMES, STATELITE, APPLIED,
            SIZES, MISSING, STAMPS,
        ] {
            assert!(s.starts_with("# shellcheck shell=sh\n"), "{s}");
        }
    }

    #[test]
    fn missing_names_only_the_paths_that_are_not_there() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::create_dir_all(d.join("full/x")).unwrap();
        std::fs::create_dir(d.join("empty")).unwrap();
        std::fs::write(d.join("file"), "").unwrap();
        std::os::unix::fs::symlink(d.join("nowhere"), d.join("dangling")).unwrap();
        let names = ["full", "empty", "file", "dangling", "gone", "odd name\\"];
        let input: String = names
            .iter()
            .map(|n| format!("{}\n", d.join(n).display()))
            .collect();
        let out = crate::process::Cmd::new("sh")
            .args(["-c", MISSING])
            .stdin_bytes(input)
            .run_checked()
            .unwrap();
        let expected = ["gone", "odd name\\"]
            .map(|n| format!("missing {}\n", d.join(n).display()))
            .concat();
        assert_eq!(out.stdout, expected);
    }
}
