//! What servers, service nodes and clients have in common: running commands inside their
//! namespaces, a private file tree that tests fill and inspect, and the mount namespace setup.

use std::ffi::{OsStr, OsString};
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Component, Path, PathBuf};
use std::process::Command;

use super::exec::{CommandExt, Finished};

/// A host of the lab: something that runs commands in its own namespaces.
pub trait Host {
    /// The host name (also the name in the hosts file and in the ssh config).
    fn name(&self) -> &str;

    /// A command that runs `program` inside this host's namespaces; add arguments, environment
    /// and so on as with any [`Command`], then run it (see [`CommandExt`]).
    fn command(&self, program: impl AsRef<OsStr>) -> Command;

    /// Runs `argv` inside this host and returns what it printed, whatever its exit status.
    fn run<S: AsRef<OsStr>>(&self, argv: &[S]) -> Finished {
        let (program, args) = argv.split_first().expect("a program to run");
        self.command(program).args(args).run_bounded()
    }
}

/// The part of the machine's file system a host has of its own, as a directory of the lab:
/// `install/...` there is `/install/...` inside the host.
pub trait Tree {
    /// The directory on the test machine that holds this host's tree.
    fn root(&self) -> &Path;

    /// The test machine's path of `rel` (e.g. `install/nim/spot`), for assertions.
    fn path(&self, rel: impl AsRef<Path>) -> PathBuf {
        let rel = rel.as_ref();
        assert!(
            rel.components().all(|c| matches!(c, Component::Normal(_))),
            "{} must be a plain relative path inside the host's tree",
            rel.display()
        );
        self.root().join(rel)
    }

    /// Writes a file, creating its parent directories; returns its path.
    fn write(&self, rel: impl AsRef<Path>, content: impl AsRef<[u8]>) -> PathBuf {
        let path = with_parents(self.path(rel));
        fs::write(&path, content).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
        path
    }

    /// Creates a directory and its parents; returns its path.
    fn mkdir(&self, rel: impl AsRef<Path>) -> PathBuf {
        let path = self.path(rel);
        fs::create_dir_all(&path).unwrap_or_else(|e| panic!("mkdir {}: {e}", path.display()));
        path
    }

    /// Sets the permission bits, e.g. `0o4755`.
    fn set_mode(&self, rel: impl AsRef<Path>, mode: u32) {
        let path = self.path(rel);
        fs::set_permissions(&path, fs::Permissions::from_mode(mode))
            .unwrap_or_else(|e| panic!("chmod {mode:o} {}: {e}", path.display()));
    }

    /// Sets the numeric owner and group.
    fn set_owner(&self, rel: impl AsRef<Path>, uid: u32, gid: u32) {
        let path = self.path(rel);
        std::os::unix::fs::lchown(&path, Some(uid), Some(gid))
            .unwrap_or_else(|e| panic!("chown {uid}:{gid} {}: {e}", path.display()));
    }

    /// Creates a symbolic link at `rel` pointing to `target` (taken literally, as `ln -s` does).
    fn symlink(&self, rel: impl AsRef<Path>, target: impl AsRef<Path>) -> PathBuf {
        let path = with_parents(self.path(rel));
        std::os::unix::fs::symlink(target.as_ref(), &path)
            .unwrap_or_else(|e| panic!("symlink {}: {e}", path.display()));
        path
    }

    /// Creates `rel` as another hard link of the existing `existing` of this tree.
    fn hard_link(&self, rel: impl AsRef<Path>, existing: impl AsRef<Path>) -> PathBuf {
        let original = self.path(existing);
        let path = with_parents(self.path(rel));
        fs::hard_link(&original, &path).unwrap_or_else(|e| panic!("link {}: {e}", path.display()));
        path
    }

    /// Creates a file of `len` bytes that is all hole: it occupies no data blocks.
    fn sparse(&self, rel: impl AsRef<Path>, len: u64) -> PathBuf {
        let path = with_parents(self.path(rel));
        let file =
            fs::File::create(&path).unwrap_or_else(|e| panic!("create {}: {e}", path.display()));
        file.set_len(len)
            .unwrap_or_else(|e| panic!("truncate {}: {e}", path.display()));
        path
    }

    /// Reads a file as text.
    fn read(&self, rel: impl AsRef<Path>) -> String {
        let path = self.path(rel);
        fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
    }

    /// True if `rel` exists (a dangling symlink counts).
    fn exists(&self, rel: impl AsRef<Path>) -> bool {
        self.path(rel).symlink_metadata().is_ok()
    }
}

/// `path`, once its parent directories exist.
fn with_parents(path: PathBuf) -> PathBuf {
    let parent = path.parent().expect("an entry inside the tree");
    fs::create_dir_all(parent).unwrap_or_else(|e| panic!("mkdir {}: {e}", parent.display()));
    path
}

/// Sets up a private mount namespace and runs a program in it; the same script serves every
/// host. Arguments: host name, scratch mount point, the other directories to overlay (space
/// separated, may be empty), `SOURCE TARGET` pairs, `--`, program and its arguments. `/etc`
/// (and each other directory named) is overlaid with a tmpfs-backed upper layer, so that what
/// the program writes there stays private and that missing targets under `/etc` get a stub to
/// bind onto.
const SETUP_SCRIPT: &str = r#"set -e
host=$1 scratch=$2 private=$3
shift 3
mount -t tmpfs lab-scratch "$scratch"
mkdir "$scratch/upper" "$scratch/work"
stubs() {
    while [ "$1" != -- ]; do
        case $2 in
        /etc/*) if [ -d "$1" ]; then mkdir "$scratch/upper/${2#/etc/}"; else : >"$scratch/upper/${2#/etc/}"; fi ;;
        esac
        shift 2
    done
}
stubs "$@"
mount -t overlay lab-etc -o "lowerdir=/etc,upperdir=$scratch/upper,workdir=$scratch/work" /etc
for dir in $private; do
    layer=$scratch/layer$(printf %s "$dir" | tr / -)
    mkdir "$layer" "$layer/upper" "$layer/work"
    mount -t overlay lab-private -o "lowerdir=$dir,upperdir=$layer/upper,workdir=$layer/work" "$dir"
done
while [ "$1" != -- ]; do
    mount --bind "$1" "$2"
    shift 2
done
shift
hostname "$host"
exec "$@"
"#;

/// The mount namespace of one host: which lab paths are bound over which system paths.
#[derive(Clone, Debug)]
pub struct MountPlan {
    hostname: String,
    scratch: PathBuf,
    /// Directories besides `/etc` whose changes stay in the namespace.
    private: Vec<&'static str>,
    binds: Vec<(PathBuf, &'static str)>,
}

impl MountPlan {
    /// A plan for `hostname`, whose private scratch file system is mounted on `scratch` (an
    /// empty directory of the lab; every namespace mounts its own tmpfs there).
    pub fn new(hostname: &str, scratch: PathBuf) -> MountPlan {
        fs::create_dir_all(&scratch).unwrap_or_else(|e| panic!("mkdir {}: {e}", scratch.display()));
        assert!(
            !scratch.to_string_lossy().contains([',', ':']),
            "overlay options cannot name {}",
            scratch.display()
        );
        MountPlan {
            hostname: hostname.to_string(),
            scratch,
            private: Vec::new(),
            binds: Vec::new(),
        }
    }

    /// Overlays the existing directory `dir` (as `/etc` always is): what the host writes below
    /// it stays in the host's namespace.
    pub fn private(mut self, dir: &'static str) -> MountPlan {
        assert!(
            Path::new(dir).is_dir() && !dir.contains(char::is_whitespace),
            "{dir} must be an existing directory without spaces"
        );
        self.private.push(dir);
        self
    }

    /// Binds `source` over `target`. Targets outside `/etc` must exist on the machine; a
    /// missing one is created as an empty directory.
    pub fn bind(mut self, source: PathBuf, target: &'static str) -> MountPlan {
        assert!(
            source.exists(),
            "bind source {} is missing",
            source.display()
        );
        if !target.starts_with("/etc/") && !Path::new(target).exists() {
            fs::create_dir_all(target)
                .unwrap_or_else(|e| panic!("cannot create mount point {target}: {e}"));
        }
        self.binds.push((source, target));
        self
    }

    /// `launcher... unshare -m -u ... sh -c SCRIPT ... -- program`: add the program's
    /// arguments to the returned command. `launcher` puts it into other namespaces first.
    pub fn command(&self, launcher: &[OsString], program: impl AsRef<OsStr>) -> Command {
        let unshare = ["unshare", "-m", "-u", "--propagation", "private", "--"];
        let mut words: Vec<OsString> = launcher.to_vec();
        words.extend(unshare.iter().map(OsString::from));
        words.extend(["sh", "-c", SETUP_SCRIPT, "lab-host"].map(OsString::from));
        words.push(self.hostname.clone().into());
        words.push(self.scratch.clone().into());
        words.push(self.private.join(" ").into());
        for (source, target) in &self.binds {
            words.push(source.clone().into());
            words.push(target.into());
        }
        words.push("--".into());
        words.push(program.as_ref().to_os_string());
        let mut command = Command::new(&words[0]);
        command.args(&words[1..]);
        command
    }
}
