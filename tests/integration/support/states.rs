//! Snapshots of a host's files before, during and after an interrupted run, and the check that
//! every file caught in between is whole: the old version or the new one, nothing else.

use std::collections::{BTreeMap, BTreeSet};
use std::hash::{DefaultHasher, Hasher};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// Files larger than this are compared by size only (the sparse paging files).
const HASHED_UP_TO: u64 = 16 << 20;

/// One entry of a tree: directories by presence only (rsync sets their modes and times last).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Entry {
    Dir,
    File { len: u64, hash: u64, mode: u32 },
    Link(PathBuf),
}

/// Every entry below a directory, by relative path.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct State(pub BTreeMap<PathBuf, Entry>);

impl State {
    /// The entries below `root`'s subdirectories `parts` (missing ones are empty), except
    /// paths starting with one of `skip`.
    pub fn of(root: &Path, parts: &[&str], skip: &[&str]) -> State {
        let mut state = State::default();
        for part in parts {
            walk(root, &root.join(part), skip, &mut state.0);
        }
        state
    }

    pub fn get(&self, path: &Path) -> Option<&Entry> {
        self.0.get(path)
    }

    /// The entries below `prefix`.
    pub fn under(&self, prefix: &str) -> State {
        State(
            self.0
                .iter()
                .filter(|(p, _)| p.starts_with(prefix))
                .map(|(p, e)| (p.clone(), e.clone()))
                .collect(),
        )
    }
}

fn walk(root: &Path, dir: &Path, skip: &[&str], out: &mut BTreeMap<PathBuf, Entry>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let rel = path
            .strip_prefix(root)
            .expect("below the root")
            .to_path_buf();
        if skip.iter().any(|s| rel.starts_with(s)) {
            continue;
        }
        // An entry may vanish between the listing and the look (a file being renamed).
        let Ok(meta) = std::fs::symlink_metadata(&path) else {
            continue;
        };
        let e = if meta.is_symlink() {
            Entry::Link(std::fs::read_link(&path).unwrap_or_default())
        } else if meta.is_dir() {
            walk(root, &path, skip, out);
            Entry::Dir
        } else {
            let hash = if meta.len() <= HASHED_UP_TO {
                let mut h = DefaultHasher::new();
                h.write(&std::fs::read(&path).unwrap_or_default());
                h.finish()
            } else {
                0
            };
            Entry::File {
                len: meta.len(),
                hash,
                mode: meta.mode() & 0o7777,
            }
        };
        out.insert(rel, e);
    }
}

/// True for rsync's temporary names, `.NAME.XXXXXX`.
pub fn rsync_temporary(path: &Path) -> bool {
    let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
        return false;
    };
    let Some(rest) = name.strip_prefix('.') else {
        return false;
    };
    match rest.rsplit_once('.') {
        Some((base, suffix)) => {
            !base.is_empty()
                && suffix.len() == 6
                && suffix.chars().all(|c| c.is_ascii_alphanumeric())
        }
        None => false,
    }
}

/// What was found wrong with a tree caught mid-run, one line per path; empty when every
/// entry of `mid` is the one of `before` or of `after` (absent counts as a version). Paths
/// starting with one of `scratch` (the run's own working directories) may hold anything;
/// with `temporaries`, so may temporary names (`.NAME.XXXXXX`) that are gone in `after`.
pub fn torn(
    what: &str,
    [before, mid, after]: [&State; 3],
    scratch: &[&str],
    temporaries: bool,
) -> Vec<String> {
    let paths: BTreeSet<&PathBuf> = before
        .0
        .keys()
        .chain(mid.0.keys())
        .chain(after.0.keys())
        .collect();
    let mut wrong = Vec::new();
    for path in paths {
        if scratch.iter().any(|s| path.starts_with(s)) {
            continue;
        }
        let (b, m, a) = (before.get(path), mid.get(path), after.get(path));
        let temporary = rsync_temporary(path);
        if temporaries && temporary && a.is_none() {
            continue;
        }
        if m.is_some() && temporary {
            wrong.push(format!("{what}: temporary file {} left", path.display()));
        } else if m != b && m != a {
            wrong.push(format!(
                "{what}: {} is neither the old nor the new version: before {b:?}, caught {m:?}, after {a:?}",
                path.display()
            ));
        }
    }
    wrong
}

/// The paths whose entries differ between two states, for messages.
pub fn differences(a: &State, b: &State) -> Vec<String> {
    let paths: BTreeSet<&PathBuf> = a.0.keys().chain(b.0.keys()).collect();
    paths
        .into_iter()
        .filter(|p| a.get(p) != b.get(p))
        .map(|p| p.display().to_string())
        .collect()
}
