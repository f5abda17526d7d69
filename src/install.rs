//! `extnfs install`: puts the prescripts and postscripts where xCAT runs them from, with their
//! modes, prints the `chdef` lines that enable them, and warns when one cannot run where it will.
//!
//! [`SCRIPTS`] is the one list of xCAT-facing binaries: the packages (scripts/package reads it
//! through `extnfs install --list`) and this command both follow it.

use std::fmt::Write as _;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::binfmt::{is_aix, Format};
use crate::xcat::{self, Db, Resolver};

/// Where below the install directory xCAT looks for a script.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dir {
    Prescripts,
    Postscripts,
}

impl Dir {
    pub fn name(self) -> &'static str {
        match self {
            Dir::Prescripts => "prescripts",
            Dir::Postscripts => "postscripts",
        }
    }
}

/// Which hosts run a script.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Runner {
    /// The SN that serves the nodes (the management node for nodes without one): prescripts.
    ServiceNode,
    /// The nodes themselves: postscripts.
    Node,
}

/// One xCAT-facing binary of this project.
#[derive(Clone, Copy, Debug)]
pub struct Script {
    pub name: &'static str,
    pub dir: Dir,
    pub runner: Runner,
    /// True when the script serves AIX nodes, false for Linux nodes.
    pub for_aix: bool,
    /// What follows `chdef -t node -o <noderange> ` to enable it.
    pub enable: &'static str,
}

/// Every prescript and postscript, in the order they are placed and listed.
pub const SCRIPTS: &[Script] = &[
    Script {
        name: "syncaixres",
        dir: Dir::Prescripts,
        runner: Runner::ServiceNode,
        for_aix: true,
        enable: "'prescripts-end=diskless:syncaixres|remove:syncaixres'",
    },
    Script {
        name: "syncstatelite",
        dir: Dir::Prescripts,
        runner: Runner::ServiceNode,
        for_aix: false,
        // No action prefix: xCAT matches the table on the text before the first `=`, so
        // `osimage:` would miss `nodeset <nr> runimage=...,osimage=...`; the prescript reads
        // ACTION itself and does nothing for other actions.
        enable: "prescripts-end=syncstatelite",
    },
    Script {
        name: "redirectps",
        dir: Dir::Postscripts,
        runner: Runner::Node,
        for_aix: true,
        enable: "-p postbootscripts=redirectps",
    },
];

/// Mode of every placed script: xCAT wants them executable by root and world-readable (SNs
/// that mount /install read them as nobody).
pub const MODE: u32 = 0o755;

/// The options of `extnfs install`.
#[derive(Clone, Debug, Default, clap::Args)]
pub struct Args {
    /// xCAT's install directory (default: site.installdir, else /install).
    #[arg(long, value_name = "DIR")]
    pub installdir: Option<PathBuf>,
    /// Where the binaries to place are (default: the directory of this extnfs).
    #[arg(long, value_name = "DIR")]
    pub from: Option<PathBuf>,
    /// The nodes to enable the scripts for: prints chdef lines for this noderange and checks
    /// that each binary can run on the hosts that will run it.
    #[arg(long, value_name = "NODERANGE")]
    pub nodes: Option<String>,
    /// Read tables from a dumpxCATdb directory instead of running tabdump.
    #[arg(long, value_name = "DIR")]
    pub db: Option<PathBuf>,
    /// Print what would be placed and the chdef lines; change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Print each script and its directory below the install directory, then exit.
    #[arg(long, conflicts_with_all = ["installdir", "from", "nodes", "db", "dry_run"])]
    pub list: bool,
}

/// What can stop `extnfs install`.
#[derive(Debug, thiserror::Error)]
pub enum InstallError {
    #[error("none of {names} is in {dir}: name the directory of the binaries with --from")]
    NothingToPlace { names: String, dir: String },
    #[error("cannot find the directory of this program: {0}; use --from")]
    NoExe(std::io::Error),
    #[error("reading the xCAT tables for --nodes: {0}")]
    Tables(#[from] xcat::Error),
    #[error("{what} {}: {source}", path.display())]
    Io {
        what: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
}

impl InstallError {
    /// True for errors found before any change that the user can fix in the command line.
    pub fn is_usage(&self) -> bool {
        matches!(
            self,
            InstallError::NothingToPlace { .. } | InstallError::Tables(_)
        )
    }
}

/// `extnfs install --list`: one line per script, `<dir> <name>`.
pub fn list() -> String {
    SCRIPTS
        .iter()
        .map(|s| format!("{} {}\n", s.dir.name(), s.name))
        .collect()
}

/// A host that will run a script, with what the tables say about it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Host {
    pub name: String,
    pub os: Option<String>,
    pub arch: Option<String>,
}

impl Host {
    /// This machine (the management node, when `extnfs install` runs there).
    pub fn this_machine() -> Host {
        Host {
            name: "the management node".into(),
            os: Some(std::env::consts::OS.into()),
            arch: Some(std::env::consts::ARCH.into()),
        }
    }
}

/// A node of `--nodes` and the SNs that serve it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Node {
    pub host: Host,
    /// The SNs of `noderes.servicenode` (a pool lists several); empty for the MN.
    pub servicenodes: Vec<Host>,
}

/// A binary found in the source directory, with its format.
#[derive(Clone, Debug)]
pub struct Found {
    pub script: Script,
    pub source: PathBuf,
    pub format: Format,
}

/// What `extnfs install` does: pure data, from what was found and what the tables say.
#[derive(Debug, Default)]
pub struct Plan {
    /// (source, destination) pairs.
    pub places: Vec<(PathBuf, PathBuf)>,
    /// Things the admin must know: binaries that cannot run where they will, scripts left out.
    pub warnings: Vec<String>,
    /// The `chdef` lines that enable the placed scripts.
    pub chdef: Vec<String>,
}

/// The plan for placing `found` into `installdir`, enabling them for `nodes` (the noderange
/// as typed, and its nodes) or for a placeholder noderange.
pub fn plan(
    found: &[Found],
    missing: &[Script],
    installdir: &Path,
    nodes: Option<(&str, &[Node])>,
) -> Plan {
    let mut plan = Plan::default();
    for script in missing {
        plan.warnings.push(format!(
            "{} is not next to the other binaries: not placed",
            script.name
        ));
    }
    for f in found {
        let dest = installdir.join(f.script.dir.name()).join(f.script.name);
        plan.places.push((f.source.clone(), dest));
        match nodes {
            None => {
                let kind = if f.script.for_aix { "AIX" } else { "Linux" };
                let os = if f.script.for_aix { "AIX" } else { "linux" };
                if f.format.runs_on(Some(os), None) == Some(false) {
                    plan.warnings.push(format!(
                        "{} is {}, but it runs on {kind} {}: place one built for them{}",
                        f.script.name,
                        f.format,
                        runner_noun(f.script.runner, kind),
                        aix_hint(f.script.for_aix),
                    ));
                }
                plan.chdef.push(chdef_line("<noderange>", f.script.enable));
            }
            Some((range, nodes)) => {
                let served: Vec<&Node> = nodes
                    .iter()
                    .filter(|n| serves(&f.script, &n.host))
                    .collect();
                if served.is_empty() {
                    continue;
                }
                plan.chdef.push(chdef_line(range, f.script.enable));
                check_runners(f, &served, &mut plan.warnings);
            }
        }
    }
    if let Some((range, nodes)) = nodes {
        let aix = nodes.iter().filter(|n| known_aix(&n.host) == Some(true));
        let linux = nodes.iter().filter(|n| known_aix(&n.host) == Some(false));
        if aix.count() > 0 && linux.count() > 0 {
            plan.warnings.push(format!(
                "{range} has both AIX and Linux nodes: each line above applies to the whole \
                 noderange; give each its own noderange"
            ));
        }
        let unknown: Vec<&str> = nodes
            .iter()
            .filter(|n| known_aix(&n.host).is_none())
            .map(|n| n.host.name.as_str())
            .collect();
        if !unknown.is_empty() {
            plan.warnings.push(format!(
                "nodetype.os is unset for {}: counted as both AIX and Linux",
                names(&unknown)
            ));
        }
    }
    plan
}

fn known_aix(host: &Host) -> Option<bool> {
    host.os
        .as_deref()
        .map(str::trim)
        .filter(|o| !o.is_empty())
        .map(is_aix)
}

/// True when `script` is for nodes of `node`'s system (or that system is unknown).
fn serves(script: &Script, node: &Host) -> bool {
    known_aix(node).is_none_or(|aix| aix == script.for_aix)
}

fn runner_noun(runner: Runner, kind: &str) -> String {
    match runner {
        Runner::ServiceNode => format!("service nodes (of {kind} nodes)"),
        Runner::Node => "nodes".into(),
    }
}

fn aix_hint(for_aix: bool) -> &'static str {
    if for_aix {
        " (an XCOFF binary built on AIX: see the README, \"Building for AIX\")"
    } else {
        ""
    }
}

/// Warns when `f` cannot run on (or nothing tells whether it runs on) the hosts that run it
/// for `served`.
fn check_runners(f: &Found, served: &[&Node], warnings: &mut Vec<String>) {
    let mut runners: Vec<Host> = Vec::new();
    for node in served {
        let hosts = match f.script.runner {
            Runner::Node => vec![node.host.clone()],
            Runner::ServiceNode if node.servicenodes.is_empty() => vec![Host::this_machine()],
            Runner::ServiceNode => node.servicenodes.clone(),
        };
        for host in hosts {
            if !runners.iter().any(|r| r.name == host.name) {
                runners.push(host);
            }
        }
    }
    let mut cannot: Vec<String> = Vec::new();
    let mut unknown: Vec<&str> = Vec::new();
    for host in &runners {
        match f.format.runs_on(host.os.as_deref(), host.arch.as_deref()) {
            Some(true) => {}
            Some(false) => cannot.push(format!(
                "{} ({} {})",
                host.name,
                host.os.as_deref().unwrap_or("?"),
                host.arch.as_deref().unwrap_or("?")
            )),
            None => unknown.push(&host.name),
        }
    }
    if !cannot.is_empty() {
        warnings.push(format!(
            "{} is {}: it cannot run on {}{}",
            f.script.name,
            f.format,
            names(&cannot),
            aix_hint(f.script.for_aix)
        ));
    }
    if !unknown.is_empty() {
        warnings.push(format!(
            "cannot tell whether {} ({}) runs on {}: set their nodetype.os and nodetype.arch",
            f.script.name,
            f.format,
            names(&unknown)
        ));
    }
}

/// At most five names, then how many more.
fn names<S: AsRef<str>>(all: &[S]) -> String {
    let mut text = all
        .iter()
        .take(5)
        .map(|s| s.as_ref())
        .collect::<Vec<_>>()
        .join(", ");
    if all.len() > 5 {
        let _ = write!(text, " and {} more", all.len() - 5);
    }
    text
}

/// `chdef -t node -o <range> <enable>`, the noderange quoted for the shell when it needs it.
pub fn chdef_line(range: &str, enable: &str) -> String {
    format!("chdef -t node -o {} {enable}", shell_word(range))
}

fn shell_word(word: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "+,-./:=@_%".contains(c);
    if !word.is_empty() && word.chars().all(plain) {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

/// The binaries of [`SCRIPTS`] in `from`, with their formats, and the scripts not there.
pub fn find(from: &Path) -> Result<(Vec<Found>, Vec<Script>), InstallError> {
    let mut found = Vec::new();
    let mut missing = Vec::new();
    for script in SCRIPTS {
        let source = from.join(script.name);
        if !source.is_file() {
            missing.push(*script);
            continue;
        }
        let format = Format::of_file(&source).map_err(|source_err| InstallError::Io {
            what: "cannot read",
            path: source.clone(),
            source: source_err,
        })?;
        found.push(Found {
            script: *script,
            source,
            format,
        });
    }
    if found.is_empty() {
        return Err(InstallError::NothingToPlace {
            names: SCRIPTS
                .iter()
                .map(|s| s.name)
                .collect::<Vec<_>>()
                .join(", "),
            dir: from.display().to_string(),
        });
    }
    Ok((found, missing))
}

/// The nodes of `range` with their system, architecture and SNs, from the tables.
pub fn nodes(resolver: &Resolver, range: &str) -> Result<Vec<Node>, xcat::Error> {
    let host = |name: &str| -> Result<Host, xcat::Error> {
        let known = resolver.nodelist()?.contains(name);
        let (os, arch) = if known {
            let mut v = resolver.attrs(name, "nodetype", &["os", "arch"])?;
            let arch = v.pop().flatten();
            (v.pop().flatten(), arch)
        } else {
            (None, None)
        };
        Ok(Host {
            name: name.to_string(),
            os,
            arch,
        })
    };
    let mut out = Vec::new();
    for name in resolver.noderange(range)? {
        let sns = resolver
            .attr(&name, "noderes", "servicenode")?
            .unwrap_or_default();
        let servicenodes = sns
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(host)
            .collect::<Result<Vec<_>, _>>()?;
        out.push(Node {
            host: host(&name)?,
            servicenodes,
        });
    }
    Ok(out)
}

/// Copies `source` to `dest` with [`MODE`]: a temporary file in `dest`'s directory, renamed
/// over `dest`, so xCAT never runs a half-written script.
pub fn place(source: &Path, dest: &Path) -> Result<(), InstallError> {
    let io = |what, path: &Path| {
        let path = path.to_path_buf();
        move |source| InstallError::Io { what, path, source }
    };
    let dir = dest.parent().expect("a destination inside a directory");
    std::fs::create_dir_all(dir).map_err(io("cannot create", dir))?;
    let mut temp = tempfile::Builder::new()
        .prefix(".extnfs-install-")
        .tempfile_in(dir)
        .map_err(io("cannot create a temporary file in", dir))?;
    let mut input = std::fs::File::open(source).map_err(io("cannot read", source))?;
    std::io::copy(&mut input, temp.as_file_mut()).map_err(io("cannot write into", dir))?;
    temp.as_file()
        .set_permissions(std::fs::Permissions::from_mode(MODE))
        .map_err(io("cannot set the mode of a temporary file in", dir))?;
    temp.as_file()
        .sync_all()
        .map_err(io("cannot write into", dir))?;
    temp.persist(dest)
        .map_err(|e| io("cannot rename into", dest)(e.error))?;
    Ok(())
}

/// `extnfs install`: plans, prints the plan, places the binaries unless `--dry-run`, prints
/// the chdef lines; warnings go to `err`.
pub fn run(args: &Args, out: &mut dyn Write, err: &mut dyn Write) -> Result<(), InstallError> {
    let write_failed = |e| InstallError::Io {
        what: "cannot write to",
        path: "standard output".into(),
        source: e,
    };
    if args.list {
        return out.write_all(list().as_bytes()).map_err(write_failed);
    }
    let from = match &args.from {
        Some(dir) => dir.clone(),
        None => std::env::current_exe()
            .map_err(InstallError::NoExe)?
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default(),
    };
    let (found, missing) = find(&from)?;
    let db = Db::open(args.db.as_deref());
    let resolver = Resolver::new(&db);
    let nodes = match &args.nodes {
        Some(range) => Some((range.as_str(), nodes(&resolver, range)?)),
        None => None,
    };
    let mut notes = Vec::new();
    let installdir = match &args.installdir {
        Some(dir) => dir.clone(),
        None => match db.installdir() {
            Ok(dir) => PathBuf::from(dir),
            Err(e) if nodes.is_none() => {
                notes.push(format!("using /install: site.installdir is unknown ({e})"));
                PathBuf::from("/install")
            }
            Err(e) => return Err(xcat::Error::from(e).into()),
        },
    };
    let plan = plan(
        &found,
        &missing,
        &installdir,
        nodes.as_ref().map(|(r, n)| (*r, n.as_slice())),
    );
    for note in notes.iter().chain(&plan.warnings) {
        writeln!(err, "extnfs install: warning: {note}").map_err(write_failed)?;
    }
    let verb = if args.dry_run {
        "would place"
    } else {
        "placed"
    };
    for (source, dest) in &plan.places {
        if !args.dry_run {
            place(source, dest)?;
        }
        writeln!(
            out,
            "{verb} {} -> {} (mode {MODE:o})",
            source.display(),
            dest.display()
        )
        .map_err(write_failed)?;
    }
    if !plan.chdef.is_empty() {
        writeln!(out, "# to enable them:").map_err(write_failed)?;
        for line in &plan.chdef {
            writeln!(out, "{line}").map_err(write_failed)?;
        }
    }
    Ok(())
}

/// [`run`] on standard output and error.
pub fn run_stdio(args: &Args) -> Result<i32, InstallError> {
    run(args, &mut std::io::stdout(), &mut std::io::stderr())?;
    Ok(crate::exit::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn script(name: &str) -> Script {
        *SCRIPTS.iter().find(|s| s.name == name).unwrap()
    }

    fn found(name: &str, format: Format) -> Found {
        Found {
            script: script(name),
            source: PathBuf::from("/build").join(name),
            format,
        }
    }

    fn host(name: &str, os: &str, arch: &str) -> Host {
        let opt = |s: &str| (!s.is_empty()).then(|| s.to_string());
        Host {
            name: name.into(),
            os: opt(os),
            arch: opt(arch),
        }
    }

    fn node(name: &str, os: &str, arch: &str, sns: &[Host]) -> Node {
        Node {
            host: host(name, os, arch),
            servicenodes: sns.to_vec(),
        }
    }

    const LINUX_X86: Format = Format::Elf {
        machine: 62,
        little_endian: true,
    };
    const AIX: Format = Format::Xcoff { bits64: true };

    #[test]
    fn every_script_has_its_own_name_and_a_chdef_that_names_it() {
        for (i, s) in SCRIPTS.iter().enumerate() {
            assert!(s.enable.contains(s.name), "{s:?}");
            assert!(SCRIPTS[..i].iter().all(|o| o.name != s.name), "{s:?}");
        }
        assert_eq!(list().lines().count(), SCRIPTS.len());
        assert!(list().contains("postscripts redirectps\n"));
    }

    #[test]
    fn places_under_the_install_directory_and_prints_placeholders_without_nodes() {
        let plan = plan(
            &[found("syncaixres", AIX), found("redirectps", AIX)],
            &[],
            Path::new("/srv/install"),
            None,
        );
        assert_eq!(
            plan.places,
            vec![
                (
                    PathBuf::from("/build/syncaixres"),
                    PathBuf::from("/srv/install/prescripts/syncaixres")
                ),
                (
                    PathBuf::from("/build/redirectps"),
                    PathBuf::from("/srv/install/postscripts/redirectps")
                ),
            ]
        );
        assert_eq!(
            plan.chdef,
            vec![
                "chdef -t node -o '<noderange>' 'prescripts-end=diskless:syncaixres|remove:syncaixres'",
                "chdef -t node -o '<noderange>' -p postbootscripts=redirectps",
            ]
        );
        assert!(plan.warnings.is_empty(), "{:?}", plan.warnings);
    }

    #[test]
    fn a_linux_redirectps_is_flagged_for_aix_nodes() {
        let plan = plan(
            &[found("redirectps", LINUX_X86)],
            &[],
            Path::new("/install"),
            None,
        );
        assert_eq!(plan.warnings.len(), 1, "{:?}", plan.warnings);
        assert!(
            plan.warnings[0]
                .starts_with("redirectps is a Linux x86_64 (ELF) binary, but it runs on AIX nodes"),
            "{}",
            plan.warnings[0]
        );
        let sn = host("sn1", "AIX", "ppc64");
        let nodes = [
            node("cn1", "AIX", "ppc64", std::slice::from_ref(&sn)),
            node("cn2", "AIX", "ppc64", std::slice::from_ref(&sn)),
        ];
        let plan = super::plan(
            &[found("redirectps", LINUX_X86), found("syncaixres", AIX)],
            &[],
            Path::new("/install"),
            Some(("cn1,cn2", &nodes)),
        );
        assert_eq!(
            plan.warnings,
            vec![
                "redirectps is a Linux x86_64 (ELF) binary: it cannot run on cn1 (AIX ppc64), \
                 cn2 (AIX ppc64) (an XCOFF binary built on AIX: see the README, \"Building for AIX\")"
            ]
        );
        assert_eq!(plan.chdef.len(), 2);
        assert!(plan
            .chdef
            .iter()
            .all(|l| l.starts_with("chdef -t node -o cn1,cn2 ")));
    }

    #[test]
    fn prescripts_are_checked_against_the_service_nodes_or_this_machine() {
        let linux_sn = host("sn2", "rhels8.6", "ppc64le");
        let nodes = [
            node("cn1", "AIX", "ppc64", std::slice::from_ref(&linux_sn)),
            node("cn2", "AIX", "ppc64", &[host("sn3", "", "")]),
            node("cn3", "AIX", "ppc64", &[]),
        ];
        let plan = plan(
            &[found("syncaixres", AIX)],
            &[],
            Path::new("/install"),
            Some(("cn[1-3]", &nodes)),
        );
        let this_is_aix = std::env::consts::OS == "aix";
        let mut expected = vec![format!(
            "syncaixres is an AIX 64-bit (XCOFF) binary: it cannot run on sn2 (rhels8.6 ppc64le){}{}",
            if this_is_aix { "" } else { ", the management node (linux " },
            if this_is_aix { String::new() } else { format!("{})", std::env::consts::ARCH) },
        )];
        expected[0]
            .push_str(" (an XCOFF binary built on AIX: see the README, \"Building for AIX\")");
        expected.push(
            "cannot tell whether syncaixres (an AIX 64-bit (XCOFF) binary) runs on sn3: set \
             their nodetype.os and nodetype.arch"
                .into(),
        );
        assert_eq!(plan.warnings, expected);
        assert_eq!(
            plan.chdef,
            vec![
                "chdef -t node -o 'cn[1-3]' 'prescripts-end=diskless:syncaixres|remove:syncaixres'"
            ]
        );
    }

    #[test]
    fn scripts_for_another_system_get_no_chdef_and_mixed_ranges_are_flagged() {
        let linux = [node("lx1", "rhels9.2", "x86_64", &[])];
        let plan = plan(
            &[found("redirectps", AIX)],
            &[],
            Path::new("/install"),
            Some(("lx1", &linux)),
        );
        assert!(plan.chdef.is_empty());
        assert_eq!(plan.places.len(), 1, "placed all the same");
        let mixed = [
            node("lx1", "rhels9.2", "x86_64", &[]),
            node("ax1", "AIX", "ppc64", &[]),
            node("un1", "", "", &[]),
        ];
        let plan = super::plan(
            &[found("redirectps", AIX)],
            &[script("syncaixres")],
            Path::new("/install"),
            Some(("all", &mixed)),
        );
        assert_eq!(
            plan.warnings[0],
            "syncaixres is not next to the other binaries: not placed"
        );
        assert!(plan
            .warnings
            .iter()
            .any(|w| w.starts_with("all has both AIX and Linux nodes")));
        assert!(plan
            .warnings
            .iter()
            .any(|w| w == "nodetype.os is unset for un1: counted as both AIX and Linux"));
        assert!(plan
            .warnings
            .iter()
            .any(|w| w.starts_with("cannot tell whether redirectps") && w.contains("runs on un1")));
    }

    #[test]
    fn noderanges_are_quoted_for_the_shell() {
        assert_eq!(
            chdef_line("cn001,sn1nodes", "x"),
            "chdef -t node -o cn001,sn1nodes x"
        );
        assert_eq!(
            chdef_line("cn[001-010]", "x"),
            "chdef -t node -o 'cn[001-010]' x"
        );
        assert_eq!(chdef_line("it's", "x"), r"chdef -t node -o 'it'\''s' x");
    }

    #[test]
    fn place_replaces_atomically_with_mode_755() {
        let dir = tempfile::tempdir().unwrap();
        let source = dir.path().join("src");
        std::fs::write(&source, "new").unwrap();
        let dest = dir.path().join("install/prescripts/syncaixres");
        std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
        std::fs::write(&dest, "old").unwrap();
        std::fs::set_permissions(&dest, std::fs::Permissions::from_mode(0o600)).unwrap();
        place(&source, &dest).unwrap();
        assert_eq!(std::fs::read_to_string(&dest).unwrap(), "new");
        let mode = std::fs::metadata(&dest).unwrap().permissions().mode() & 0o7777;
        assert_eq!(mode, 0o755);
        let left: Vec<_> = std::fs::read_dir(dest.parent().unwrap()).unwrap().collect();
        assert_eq!(left.len(), 1, "no temporary file left: {left:?}");
        let err = place(&dir.path().join("missing"), &dest).unwrap_err();
        assert!(err.to_string().starts_with("cannot read "), "{err}");
        assert_eq!(
            std::fs::read_to_string(&dest).unwrap(),
            "new",
            "the good copy stays"
        );
    }
}
