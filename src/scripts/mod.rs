//! The POSIX sh scripts this project runs on an external server (or a locally mounted one),
//! kept as `.sh` files checked by shellcheck, and the one parser of what they print.
//!
//! Every script takes user values only as positional parameters or on standard input, never
//! spliced into its text (see [`crate::remote::Remote::script`]).

/// Creates missing paging files as sparse files; stdin lines `size mode uid gid path`.
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
/// `SIZE PATH`, `dir PATH` or `missing PATH` for each path on stdin.
pub const SIZES: &str = include_str!("sizes.sh");
/// Sync stamps: `write DIR` (stdin `NAME JSON` lines) and `read DIR`.
pub const STAMPS: &str = include_str!("stamps.sh");

/// Exit status of [`LOCK`] when the wait ran out (EX_TEMPFAIL).
pub const LOCK_BUSY: i32 = 75;
/// Exit status of [`INSTALL`] when the file changed since it was read.
pub const INSTALL_CHANGED: i32 = 3;

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

    #[test]
    fn scripts_are_sh_with_our_header() {
        for s in [
            ALLOCATE, REMOVE, LOCK, READ, INSTALL, MOVE_ASIDE, RESTORE, NAMES, STATELITE, APPLIED,
            SIZES, STAMPS,
        ] {
            assert!(s.starts_with("# shellcheck shell=sh\n"), "{s}");
        }
    }
}
