//! Comparing and copying file trees in tests: what a copy must keep (type, mode, owner,
//! content, link target, hard links), the space a tree takes, and `cp -a`.

use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::Command;

/// Copies the contents of `from` into `to` with `cp -a` (modes, owners, times, links kept).
pub fn copy_tree(from: &Path, to: &Path) {
    let status = Command::new("cp")
        .arg("-a")
        .arg(format!("{}/.", from.display()))
        .arg(to)
        .status()
        .unwrap();
    std::fs::create_dir_all(to).unwrap();
    assert!(
        status.success(),
        "cp -a {} {}",
        from.display(),
        to.display()
    );
}

/// A file's content for [`digest`]: small text as it is, to read in a failed comparison; any
/// other content, however large, by its SHA-256, read in pieces so that trees of gigabytes
/// fit in memory.
fn content(path: &Path, len: u64) -> String {
    use sha2::Digest;
    use std::io::Read;
    if len <= 256 {
        let bytes = std::fs::read(path).unwrap();
        if let Ok(text) = std::str::from_utf8(&bytes) {
            return format!("{text:?}");
        }
    }
    let mut file = std::fs::File::open(path).unwrap();
    let mut hash = sha2::Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut read = 0u64;
    loop {
        let n = file.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        hash.update(&buf[..n]);
        read += n as u64;
    }
    let hex: String = hash.finalize().iter().map(|b| format!("{b:02x}")).collect();
    format!("{read} bytes sha256 {hex}")
}

/// Everything about a tree that a copy must keep: type, mode, owner, content, link target,
/// and which paths share an inode (each file names the first, by name, of the paths of its
/// inode: the order a directory lists its entries in differs between copies).
pub fn digest(dir: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut inodes: BTreeMap<u64, String> = BTreeMap::new();
    let mut inode_of: BTreeMap<String, u64> = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries {
            let e = e.unwrap();
            let p = e.path();
            let rel = p.strip_prefix(dir).unwrap().display().to_string();
            let m = std::fs::symlink_metadata(&p).unwrap();
            let what = if m.is_symlink() {
                format!("link {}", std::fs::read_link(&p).unwrap().display())
            } else if m.is_dir() {
                stack.push(p.clone());
                "dir".to_string()
            } else {
                let content = content(&p, m.len());
                let first = inodes.entry(m.ino()).or_insert_with(|| rel.clone());
                if rel < *first {
                    *first = rel.clone();
                }
                inode_of.insert(rel.clone(), m.ino());
                format!("file {content} linked-to")
            };
            out.insert(
                rel,
                format!(
                    "{what} mode {:o} owner {}:{}",
                    m.mode() & 0o7777,
                    m.uid(),
                    m.gid()
                ),
            );
        }
    }
    for (rel, ino) in inode_of {
        if let Some(v) = out.get_mut(&rel) {
            // "file CONTENT linked-to mode ..." gets its inode's first path.
            *v = v.replacen(" linked-to ", &format!(" linked-to {} ", inodes[&ino]), 1);
        }
    }
    out
}

/// Bytes of disk the files below `path` take (holes take none).
pub fn allocated(path: &Path) -> u64 {
    let mut total = 0;
    for e in std::fs::read_dir(path).unwrap() {
        let p = e.unwrap().path();
        let m = std::fs::symlink_metadata(&p).unwrap();
        total += if m.is_dir() {
            allocated(&p)
        } else {
            m.blocks() * 512
        };
    }
    total
}

/// Panics unless the two trees have the same [`digest`] (and are not empty).
#[track_caller]
pub fn assert_same(a: &Path, b: &Path) {
    let (da, db) = (digest(a), digest(b));
    assert!(!da.is_empty(), "{} is empty", a.display());
    if da == db {
        return;
    }
    // The entries that differ, not two whole trees: those can hold 60,000 entries.
    let keys: std::collections::BTreeSet<&String> = da.keys().chain(db.keys()).collect();
    let differ: Vec<String> = keys
        .into_iter()
        .filter(|k| da.get(*k) != db.get(*k))
        .map(|k| format!("{k}:\n  {:?}\n  {:?}", da.get(k), db.get(k)))
        .collect();
    panic!(
        "{} and {} differ in {} entries, the first of them:\n{}",
        a.display(),
        b.display(),
        differ.len(),
        differ[..differ.len().min(20)].join("\n")
    );
}
