//! rsync as this project runs it: one command line per transfer (archive, hard links, numeric
//! ids, protected arguments, filter rules and file lists from files), and its output read back.

use std::io::Write;
use std::path::Path;

use serde::Serialize;

use crate::process::Cmd;

/// One rsync run from a local directory to a directory on a server.
#[derive(Clone, Debug, Serialize)]
pub struct Job {
    /// Local source directory (its contents are copied).
    pub source: String,
    /// rsync destination: `host:/path` or a local path.
    pub dest: String,
    /// Filter rules, in order (`- /etc/.client_data/*`, ...).
    pub rules: Vec<String>,
    /// `Some`: only these entries at the top of `source` are copied (`cn001/`), each whole,
    /// and `delete` deletes inside them only, never beside them; an empty list copies
    /// nothing. `None`: the whole tree. (An empty list that meant "everything" would turn a
    /// list that came out empty by mistake into a copy of every SN's entries.)
    ///
    /// rsync reads them with `--files-from`: it looks up each listed entry once, where one
    /// include rule per entry would test every file of the tree against every rule (a
    /// resource of 10,000 nodes' directories: 10,000 rule tests per file). A listed entry
    /// that is gone from this host is passed over (`--ignore-missing-args`, rsync 3.1 or
    /// later on this host; an older one says so and the step fails): the server's copy is
    /// kept, and the step's `needs` tell. rsync skips a listed line that starts with `#` or
    /// `;` as a comment: entries here are NIM client names and `etc/...` paths, which never do.
    pub only: Option<Vec<String>>,
    pub delete: bool,
    /// Keep holes (`-S`).
    pub sparse: bool,
    /// Keep ACLs and extended attributes such as file capabilities (`-A -X`).
    pub xattrs: bool,
    /// Skip files whose size already matches (paging files in use must not be rewritten).
    pub size_only: bool,
    pub compress: bool,
    /// Receiver-side directory for temporary files, outside every synced tree.
    pub temp_dir: Option<String>,
    /// The remote shell (`-e`), `None` for a local destination.
    pub rsh: Option<String>,
    /// rsync on the server (`--rsync-path`).
    pub rsync_path: Option<String>,
}

/// The files a job's command line reads its lists from, written by the caller with
/// [`Job::write_lists`]; each entry ends with a NUL byte (`--from0`), so no name can break a
/// list.
#[derive(Clone, Copy, Debug, Default)]
pub struct Lists<'a> {
    /// [`Job::rules`].
    pub rules: Option<&'a Path>,
    /// [`Job::only`].
    pub only: Option<&'a Path>,
}

impl Job {
    /// A copy of `source`'s contents into `dest` and nothing more: no deletion, rules, list,
    /// remote shell or extra attributes; callers set what their copy needs.
    pub fn new(source: impl Into<String>, dest: impl Into<String>) -> Job {
        Job {
            source: source.into(),
            dest: dest.into(),
            rules: Vec::new(),
            only: None,
            delete: false,
            sparse: false,
            xattrs: false,
            size_only: false,
            compress: false,
            temp_dir: None,
            rsh: None,
            rsync_path: None,
        }
    }

    /// The job as a dry run shows it: its command line (with `program`), then its filter rules
    /// and its entries on lines of their own when it has any.
    pub fn shown(&self, program: &str) -> (String, Vec<String>) {
        let mut lines = Vec::new();
        if !self.rules.is_empty() {
            lines.push(format!("    filter: {}", self.rules.join(" | ")));
        }
        match self.only.as_deref() {
            Some([]) => lines.push("    only: (nothing)".to_string()),
            Some(only) => lines.push(format!("    only: {}", only.join(" "))),
            None => {}
        }
        (
            self.command(program, Lists::default(), false).display(),
            lines,
        )
    }

    /// Writes [`Job::rules`] and [`Job::only`] (those it has) to files for [`Job::command`];
    /// the files go when dropped.
    pub fn write_lists(&self) -> std::io::Result<ListFiles> {
        Ok(ListFiles {
            rules: (!self.rules.is_empty())
                .then(|| written(&self.rules, "xcat-extnfs-rules."))
                .transpose()?,
            only: (self.only.as_deref())
                .map(|only| written(only, "xcat-extnfs-only."))
                .transpose()?,
        })
    }

    /// The command line; `lists` holds the job's lists (written by the caller) and `dry_run`
    /// turns it into a comparison that changes nothing.
    pub fn command(&self, program: &str, lists: Lists<'_>, dry_run: bool) -> Cmd {
        let mut cmd = Cmd::new(program).args([
            "-a",
            "-H",
            "--numeric-ids",
            "-s",
            "--stats",
            "--out-format=%i %n%L",
        ]);
        if dry_run {
            cmd = cmd.arg("-n");
        }
        if self.only.is_some() {
            // -a recurses, but not into a --files-from list unless -r is given again.
            cmd = cmd.args(["-r", "--ignore-missing-args"]);
        }
        if self.delete {
            cmd = cmd.arg("--delete");
        }
        if self.sparse {
            cmd = cmd.arg("-S");
        }
        if self.xattrs {
            cmd = cmd.args(["-A", "-X"]);
        }
        if self.size_only {
            cmd = cmd.arg("--size-only");
        }
        if self.compress {
            cmd = cmd.arg("-z");
        }
        if let Some(dir) = &self.temp_dir {
            cmd = cmd.arg(format!("--temp-dir={dir}"));
        }
        if let Some(rsh) = &self.rsh {
            cmd = cmd.arg(format!("--rsh={rsh}"));
        }
        if let Some(path) = self.rsync_path.as_deref().filter(|p| *p != "rsync") {
            cmd = cmd.arg(format!("--rsync-path={path}"));
        }
        if lists.rules.is_some() || lists.only.is_some() {
            cmd = cmd.arg("--from0");
        }
        if let Some(file) = lists.rules {
            cmd = cmd.arg(format!("--filter=merge {}", file.display()));
        }
        if let Some(file) = lists.only {
            cmd = cmd.arg(format!("--files-from={}", file.display()));
        }
        cmd.arg(with_slash(&self.source))
            .arg(with_slash(&self.dest))
    }
}

/// A job's lists written to temporary files (see [`Job::write_lists`]).
pub struct ListFiles {
    rules: Option<tempfile::NamedTempFile>,
    only: Option<tempfile::NamedTempFile>,
}

impl ListFiles {
    pub fn lists(&self) -> Lists<'_> {
        Lists {
            rules: self.rules.as_ref().map(|f| f.path()),
            only: self.only.as_ref().map(|f| f.path()),
        }
    }
}

/// `entries`, each ending with a NUL byte, in a new temporary file.
fn written(entries: &[String], prefix: &str) -> std::io::Result<tempfile::NamedTempFile> {
    let mut file = tempfile::Builder::new().prefix(prefix).tempfile()?;
    let mut out = std::io::BufWriter::new(file.as_file_mut());
    for entry in entries {
        out.write_all(entry.as_bytes())?;
        out.write_all(b"\0")?;
    }
    out.flush()?;
    drop(out);
    Ok(file)
}

/// `dir/`: rsync copies the directory's contents into the destination directory itself.
fn with_slash(dir: &str) -> String {
    if dir.ends_with('/') {
        dir.to_string()
    } else {
        format!("{dir}/")
    }
}

/// What one run reported with `--stats`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Stats {
    /// Files and directories compared.
    pub files: u64,
    /// Regular files whose data was sent.
    pub transferred: u64,
    pub deleted: u64,
    /// Size of the data of the transferred files.
    pub transferred_bytes: u64,
    /// Bytes on the wire, both ways.
    pub bytes_sent: u64,
    pub bytes_received: u64,
}

/// The statistics and the itemized changes (`%i %n` lines) in rsync's stdout.
pub fn parse_output(stdout: &str) -> (Stats, Vec<String>) {
    let mut stats = Stats::default();
    let mut changes = Vec::new();
    for line in stdout.lines() {
        if is_itemized(line) {
            changes.push(line.to_string());
            continue;
        }
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let number = leading_number(value);
        match key.trim() {
            "Number of files" => stats.files = number,
            "Number of regular files transferred" | "Number of files transferred" => {
                stats.transferred = number
            }
            "Number of deleted files" => stats.deleted = number,
            "Total transferred file size" => stats.transferred_bytes = number,
            "Total bytes sent" => stats.bytes_sent = number,
            "Total bytes received" => stats.bytes_received = number,
            _ => {}
        }
    }
    // rsync before 3.1 has no deleted-file count; the itemized lines have it.
    if stats.deleted == 0 {
        stats.deleted = changes
            .iter()
            .filter(|c| c.starts_with("*deleting"))
            .count() as u64;
    }
    (stats, changes)
}

/// An `--out-format=%i %n` line: 11 change characters (`>f+++++++++`) or `*deleting`.
fn is_itemized(line: &str) -> bool {
    let b = line.as_bytes();
    if line.starts_with("*deleting") {
        return true;
    }
    b.len() > 12
        && matches!(b[0], b'<' | b'>' | b'c' | b'h' | b'.')
        && matches!(b[1], b'f' | b'd' | b'L' | b'D' | b'S')
        && b[11] == b' '
}

/// A change to nothing but a directory's time (`.d..t...... etc/.client_data/`). Where several
/// SNs write into one directory on the server (client directories, `.client_data` files), its
/// time changes with every SN's run and belongs to none of them: no difference worth reporting.
pub fn is_dir_time_only(change: &str) -> bool {
    let Some((code, _name)) = change.split_once(' ') else {
        return false;
    };
    code.len() == 11
        && code.starts_with(".d")
        && code[2..].chars().all(|c| matches!(c, '.' | 't' | 'T'))
}

/// `1,234,567 bytes` → 1234567 (thousands separators of rsync ≥ 3.1 allowed).
fn leading_number(text: &str) -> u64 {
    text.trim()
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == ',' || *c == '.')
        .filter(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .unwrap_or(0)
}

/// How an rsync exit status is taken.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Ok,
    /// 24: some source files vanished while copying; normal on live trees, reported.
    Vanished,
    Failed,
}

pub fn verdict(code: i32) -> Verdict {
    match code {
        0 => Verdict::Ok,
        24 => Verdict::Vanished,
        _ => Verdict::Failed,
    }
}

/// What rsync's exit status means (rsync(1) EXIT VALUES, plus 255 for an ssh failure).
pub fn meaning(code: i32) -> &'static str {
    match code {
        0 => "success",
        1 => "syntax or usage error",
        2 => "protocol incompatibility",
        3 => "errors selecting input/output files or directories",
        5 => "error starting client-server protocol",
        10 => "error in socket I/O",
        11 => "error in file I/O",
        12 => "error in the rsync protocol data stream (often: the remote side died or is missing rsync)",
        13 => "errors with program diagnostics",
        14 => "error in IPC code",
        20 => "received SIGUSR1 or SIGINT",
        22 => "error allocating core memory buffers",
        23 => "partial transfer due to error",
        24 => "partial transfer due to vanished source files",
        25 => "the --max-delete limit stopped deletions",
        30 => "timeout in data send/receive",
        35 => "timeout waiting for daemon connection",
        124..=127 => "the remote shell failed or could not run rsync",
        255 => "the connection failed (ssh exited with 255)",
        -1 => "killed by a signal",
        _ => "unknown error",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_stats_of_old_and_new_rsync() {
        let new = ">f+++++++++ cn001/etc/hosts\n*deleting   cn001/stale\ncd+++++++++ cn001/\n\n\
                   Number of files: 1,234 (reg: 1,000, dir: 234)\nNumber of created files: 2\n\
                   Number of deleted files: 1\nNumber of regular files transferred: 1\n\
                   Total file size: 9,999 bytes\nTotal transferred file size: 1,024 bytes\n\
                   Total bytes sent: 2,048\nTotal bytes received: 64\n";
        let (stats, changes) = parse_output(new);
        assert_eq!(
            stats,
            Stats {
                files: 1234,
                transferred: 1,
                deleted: 1,
                transferred_bytes: 1024,
                bytes_sent: 2048,
                bytes_received: 64
            }
        );
        assert_eq!(changes.len(), 3);
        let old = "Number of files: 12\nNumber of files transferred: 3\nTotal transferred file size: 300 bytes\n";
        let (stats, changes) = parse_output(old);
        assert_eq!(
            (stats.files, stats.transferred, stats.transferred_bytes),
            (12, 3, 300)
        );
        assert!(changes.is_empty());
    }

    #[test]
    fn builds_the_command_line() {
        let job = Job {
            rules: vec!["- /etc/.client_data/*".into()],
            delete: true,
            temp_dir: Some("/install/.xcat-extnfs.tmp".into()),
            rsh: Some("ssh -o BatchMode=yes".into()),
            rsync_path: Some("/opt/freeware/bin/rsync".into()),
            ..Job::new(
                "/install/nim/root/img_root",
                "nfs1:/install/nim/root/img_root",
            )
        };
        let rules = Lists {
            rules: Some(Path::new("/tmp/r")),
            only: None,
        };
        let line = job.command("rsync", rules, true).display();
        assert_eq!(
            line,
            "rsync -a -H --numeric-ids -s --stats '--out-format=%i %n%L' -n --delete \
             --temp-dir=/install/.xcat-extnfs.tmp '--rsh=ssh -o BatchMode=yes' \
             --rsync-path=/opt/freeware/bin/rsync --from0 '--filter=merge /tmp/r' \
             /install/nim/root/img_root/ nfs1:/install/nim/root/img_root/"
        );
        let nodes = Job {
            rules: Vec::new(),
            only: Some(vec!["cn001/".into()]),
            ..job.clone()
        };
        let listed = Lists {
            rules: None,
            only: Some(Path::new("/tmp/o")),
        };
        let line = nodes.command("rsync", listed, false).display();
        assert!(
            line.contains(" -r --ignore-missing-args --delete ")
                && line.contains(" --from0 --files-from=/tmp/o "),
            "{line}"
        );
        let image = Job {
            xattrs: true,
            sparse: true,
            temp_dir: None,
            ..job
        };
        let line = image.command("rsync", Lists::default(), false).display();
        assert!(line.contains(" --delete -S -A -X '--rsh="), "{line}");
    }

    /// rsync itself, on local directories: what `only` copies, deletes and leaves.
    #[test]
    fn only_the_listed_entries_are_copied_and_deleted_in() {
        let dir = tempfile::tempdir().unwrap();
        let (src, dst) = (dir.path().join("src"), dir.path().join("dst"));
        for (path, text) in [
            ("src/cn001/etc/f", "new"),
            ("src/cn002/f", "new"),
            ("src/cn003/f", "not listed"),
            ("src/odd name\nx/f", "new"),
            ("dst/cn001/stale", "deleted"),
            ("dst/cn004/f", "another SN's"),
            ("dst/gone/f", "its source vanished"),
            ("dst/top", "beside"),
        ] {
            let path = dir.path().join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        let job = Job {
            rules: vec!["- /cn002/f".into()],
            only: Some(
                ["cn001/", "cn002/", "odd name\nx/", "gone/"]
                    .map(String::from)
                    .to_vec(),
            ),
            delete: true,
            ..Job::new(src.display().to_string(), dst.display().to_string())
        };
        let files = job.write_lists().unwrap();
        let out = job.command("rsync", files.lists(), false).run().unwrap();
        assert_eq!(out.code, Some(0), "{out:?}");
        let read = |p: &str| std::fs::read_to_string(dst.join(p)).ok();
        assert_eq!(read("cn001/etc/f").as_deref(), Some("new"));
        assert_eq!(read("odd name\nx/f").as_deref(), Some("new"));
        assert_eq!(read("cn001/stale"), None);
        assert_eq!(read("cn002/f"), None, "the rules still apply");
        assert_eq!(read("cn003/f"), None);
        assert_eq!(read("cn004/f").as_deref(), Some("another SN's"));
        assert_eq!(read("gone/f").as_deref(), Some("its source vanished"));
        assert_eq!(read("top").as_deref(), Some("beside"));
    }

    /// An empty list copies and deletes nothing, with real rsync; `None` is the whole tree.
    #[test]
    fn an_empty_list_copies_nothing_and_no_list_everything() {
        let dir = tempfile::tempdir().unwrap();
        let (src, dst) = (dir.path().join("src"), dir.path().join("dst"));
        for path in ["src/cn001/f", "dst/cn002/f"] {
            let path = dir.path().join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, "x").unwrap();
        }
        let job = Job {
            only: Some(Vec::new()),
            delete: true,
            ..Job::new(src.display().to_string(), dst.display().to_string())
        };
        assert_eq!(job.shown("rsync").1, ["    only: (nothing)"]);
        let files = job.write_lists().unwrap();
        let out = job.command("rsync", files.lists(), false).run().unwrap();
        assert_eq!(out.code, Some(0), "{out:?}");
        assert!(!dst.join("cn001").exists() && dst.join("cn002/f").exists());
        let whole = Job { only: None, ..job };
        let files = whole.write_lists().unwrap();
        assert!(files.lists().only.is_none());
        let out = whole.command("rsync", files.lists(), false).run().unwrap();
        assert_eq!(out.code, Some(0), "{out:?}");
        assert!(dst.join("cn001/f").exists() && !dst.join("cn002").exists());
    }

    #[test]
    fn directory_times_are_recognised() {
        assert!(is_dir_time_only(".d..t...... ./"));
        assert!(is_dir_time_only(".d..t...... etc/.client_data/"));
        assert!(!is_dir_time_only(".d...p..... ./"));
        assert!(!is_dir_time_only("cd+++++++++ cn001/"));
        assert!(!is_dir_time_only(">f..t...... ./x"));
    }

    #[test]
    fn exit_codes() {
        assert_eq!(verdict(24), Verdict::Vanished);
        assert_eq!(verdict(23), Verdict::Failed);
        assert!(meaning(255).contains("ssh"));
    }
}
