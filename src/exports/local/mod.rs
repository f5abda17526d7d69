//! This service node's own exports: `/etc/exports` (and `/etc/exports.d/*.exports`) read,
//! each file's dialect recognised from its content, and lines looked up by path.

pub mod aix;
pub mod linux;

use std::collections::BTreeMap;
use std::path::Path;

use super::error::ExportsError;
use super::model::{logical_lines, Entry, LineProblem, Source};

/// The syntax of an exports file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    /// `directory -option,option` (AIX, also the NIM master's own file).
    Aix,
    /// `path client(options) ...` (exports(5) of nfs-utils).
    Linux,
}

/// An SN's exports in the neutral model, with the lines that could not be understood.
#[derive(Clone, Debug, Default)]
pub struct SnExports {
    /// Each file read, with the dialect recognised in it.
    pub files: Vec<(String, Dialect)>,
    pub entries: Vec<Entry>,
    pub problems: Vec<LineProblem>,
}

impl SnExports {
    /// Reads `<root>/etc/exports` and `<root>/etc/exports.d/*.exports` (in name order);
    /// missing files are no exports. Lines are labelled with the SN's own path of their file
    /// (`/etc/exports line 4`), whatever `root` is.
    pub fn read_under(root: &Path) -> Result<SnExports, ExportsError> {
        let mut files = vec![root.join("etc/exports")];
        let dir = root.join("etc/exports.d");
        if dir.is_dir() {
            let listing = std::fs::read_dir(&dir).map_err(|source| ExportsError::Read {
                path: dir.clone(),
                source,
            })?;
            let mut extra: Vec<_> = listing
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "exports"))
                .collect();
            extra.sort();
            files.extend(extra);
        }
        let mut out = SnExports::default();
        for file in files.iter().filter(|f| f.is_file()) {
            let text = std::fs::read_to_string(file).map_err(|source| ExportsError::Read {
                path: file.clone(),
                source,
            })?;
            let label = match file.strip_prefix(root) {
                Ok(rel) => format!("/{}", rel.display()),
                Err(_) => file.display().to_string(),
            };
            out.add(SnExports::parse(&label, &text));
        }
        Ok(out)
    }

    /// Parses one file, in the dialect its content shows.
    pub fn parse(file: &str, text: &str) -> SnExports {
        let dialect = detect(text);
        let (entries, problems) = match dialect {
            Dialect::Aix => refuse_repeats(aix::parse(text, file)),
            Dialect::Linux => linux::parse(text, file),
        };
        SnExports {
            files: vec![(file.to_string(), dialect)],
            entries,
            problems,
        }
    }

    /// Adds another file's exports.
    pub fn add(&mut self, other: SnExports) {
        self.files.extend(other.files);
        self.entries.extend(other.entries);
        self.problems.extend(other.problems);
    }

    /// The lines exporting exactly `path`.
    pub fn at(&self, path: &str) -> Vec<&Entry> {
        self.entries
            .iter()
            .filter(|e| e.export.path == path)
            .collect()
    }

    /// The lines exporting paths below `path`.
    pub fn below(&self, path: &str) -> Vec<&Entry> {
        self.entries
            .iter()
            .filter(|e| is_below(&e.export.path, path))
            .collect()
    }

    /// The first line not understood whose path is `path` or below it.
    pub fn problem_at_or_below(&self, path: &str) -> Option<&LineProblem> {
        self.problems.iter().find(|p| match p.path.as_deref() {
            Some(q) => q.trim_end_matches('/') == path || is_below(q, path),
            None => false,
        })
    }
}

fn is_below(candidate: &str, dir: &str) -> bool {
    let prefix = match dir {
        "/" => "/".to_string(),
        d => format!("{d}/"),
    };
    candidate.starts_with(&prefix) && candidate.len() > prefix.len()
}

/// AIX keeps one line per directory: a directory on two lines (a damaged file, or a value
/// with a newline in it) leaves unclear which options NFS applies, and merging them could
/// widen who may mount it. Every line of such a directory becomes a problem, so that its
/// export is refused, naming both lines, and nothing else is.
fn refuse_repeats(
    (entries, mut problems): (Vec<Entry>, Vec<LineProblem>),
) -> (Vec<Entry>, Vec<LineProblem>) {
    // The lines of each directory, in file order (one pass: NIM's file has a line per node).
    let mut lines: BTreeMap<&str, Vec<&Source>> = BTreeMap::new();
    for e in &entries {
        lines.entry(&e.export.path).or_default().push(&e.source);
    }
    let mut kept = Vec::new();
    for e in &entries {
        let sources = &lines[e.export.path.as_str()];
        let first = sources[0];
        match sources.iter().find(|s| ***s != e.source) {
            None => kept.push(e.clone()),
            Some(other) => {
                let (one, two) = match *first == e.source {
                    true => (&e.source, *other),
                    false => (first, &e.source),
                };
                problems.push(LineProblem {
                    source: e.source.clone(),
                    path: Some(e.export.path.clone()),
                    text: e.export.path.clone(),
                    message: format!(
                        "{} is exported on {one} and again on line {}; AIX keeps one line per directory",
                        e.export.path, two.line
                    ),
                });
            }
        }
    }
    (kept, problems)
}

/// Recognises the dialect from the content, not from the operating system: an SN's file is
/// what its NFS server reads, and the same parser also serves files copied from elsewhere.
/// An AIX line is `directory` or `directory -options`; any other shape (a client word, a
/// parenthesis, a quoted path) only exists in Linux syntax. The lines vote: a file is Linux
/// when its Linux-shaped lines outnumber its `directory -options` lines, so one damaged or
/// hostile line in NIM's file is that line's problem, not every line's. A file of AIX-shaped
/// lines is AIX (in Linux syntax such lines would export to the whole world, which nobody
/// writes).
pub fn detect(text: &str) -> Dialect {
    let (mut aix, mut linux) = (0usize, 0usize);
    for (_, line) in logical_lines(text) {
        let words: Vec<&str> = line.split_whitespace().collect();
        if line.contains(['(', '"'])
            || words.len() > 2
            || words.get(1).is_some_and(|w| !w.starts_with('-'))
        {
            linux += 1;
        } else if words.len() == 2 {
            aix += 1;
        }
    }
    match linux > aix {
        true => Dialect::Linux,
        false => Dialect::Aix,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dialect_comes_from_the_content() {
        assert_eq!(detect("/a -ro,root=x\n/b\n# c (x)\n"), Dialect::Aix);
        assert_eq!(detect("/a -ro\n/b host\n/c h(rw)\n"), Dialect::Linux);
        assert_eq!(detect("/a host\n"), Dialect::Linux);
        assert_eq!(detect("/a h(rw)\n"), Dialect::Linux);
        assert_eq!(detect("/a -rw h1 h2\n"), Dialect::Linux);
        assert_eq!(detect("\"/a b\" -rw\n"), Dialect::Linux);
        assert_eq!(detect(""), Dialect::Aix);
    }

    #[test]
    fn one_hostile_line_does_not_turn_nims_file_into_linux_syntax() {
        let text = "/install/nim/spot/a/usr -ro,root=10.1.1.1,access=10.1.1.1\n\
                    /install/nim/root/r/cn001 -root=10.1.1.1,access=10.1.1.1\n\
                    /install/nim/root/r/cn1$(touch /tmp/x) -root=10.1.1.1\n";
        assert_eq!(detect(text), Dialect::Aix);
        let sn = SnExports::parse("/etc/exports", text);
        assert_eq!(sn.at("/install/nim/root/r/cn001").len(), 1);
        assert!(sn
            .problem_at_or_below("/install/nim/root/r/cn001")
            .is_none());
        assert!(sn.problem_at_or_below("/install/nim/root/r").is_some());
    }

    #[test]
    fn a_directory_on_two_aix_lines_is_refused_not_merged() {
        // A newline in a value makes a second, optionless line: exported to everyone.
        let text = "/r/cn001 -root=10.1.1.1,access=10.1.1.1\n/r/cn002 -access=10.1.1.2\n/r/cn001\n";
        let sn = SnExports::parse("/etc/exports", text);
        assert!(sn.at("/r/cn001").is_empty());
        assert_eq!(sn.at("/r/cn002").len(), 1);
        let problem = sn.problem_at_or_below("/r/cn001").unwrap().to_string();
        assert!(
            problem.contains("/etc/exports line 1 and again on line 3"),
            "{problem}"
        );
    }

    #[test]
    fn lookup_by_path() {
        let sn = SnExports::parse(
            "/etc/exports",
            "/r/cn1 -access=cn1\n/r/cn2 -access=cn2\n/rx -ro\n/r/bad -frob\n",
        );
        assert_eq!(sn.at("/r/cn1").len(), 1);
        assert_eq!(sn.below("/r").len(), 2);
        assert!(sn.below("/r/cn1").is_empty());
        assert!(sn.problem_at_or_below("/r").is_some());
        assert!(sn.problem_at_or_below("/rx").is_none());
        assert_eq!(sn.below("/").len(), 3);
    }

    #[test]
    fn reads_exports_and_exports_d() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("etc/exports.d")).unwrap();
        std::fs::write(dir.path().join("etc/exports"), "/a -ro\n").unwrap();
        std::fs::write(dir.path().join("etc/exports.d/x.exports"), "/b h(rw)\n").unwrap();
        std::fs::write(dir.path().join("etc/exports.d/ignored.txt"), "/c h(rw)\n").unwrap();
        let sn = SnExports::read_under(dir.path()).unwrap();
        let dialects: Vec<Dialect> = sn.files.iter().map(|f| f.1).collect();
        assert_eq!(dialects, [Dialect::Aix, Dialect::Linux]);
        assert_eq!(sn.entries.len(), 2);
        let empty = tempfile::tempdir().unwrap();
        assert!(SnExports::read_under(empty.path())
            .unwrap()
            .entries
            .is_empty());
    }
}
