//! NIM objects through `lsnim -l`: resource locations (checked to lie under `site.installdir`)
//! and client names, parsed from the stanza output whatever its padding or an xdsh prefix.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use crate::process::{find_program, Cmd, CommandError};

/// A NIM question that could not be answered.
#[derive(Debug, thiserror::Error)]
pub enum NimError {
    #[error("lsnim failed for `{name}`: {source}")]
    Command {
        name: String,
        #[source]
        source: CommandError,
    },
    #[error("NIM resource `{name}` does not exist (lsnim -l {name})")]
    NoResource { name: String },
    #[error("`{name}` is not a valid NIM object name: {why}; lsnim was not asked")]
    BadName { name: String, why: &'static str },
    #[error("NIM resource `{name}`: lsnim gives location {location:?}, which {why}; refusing to copy it")]
    BadLocation {
        name: String,
        location: String,
        why: &'static str,
    },
    #[error("NIM resource `{name}` has no location attribute")]
    NoLocation { name: String },
    #[error("NIM resource `{name}` is a {found}, not a {expected}")]
    WrongType {
        name: String,
        expected: String,
        found: String,
    },
    #[error("NIM resource `{name}` is at {location}, which is not under site.installdir {installdir}; refusing to copy it")]
    OutsideInstalldir {
        name: String,
        location: String,
        installdir: String,
    },
}

/// One NIM object: its name and attributes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NimObject {
    pub name: String,
    pub attrs: BTreeMap<String, String>,
}

impl NimObject {
    pub fn attr(&self, key: &str) -> Option<&str> {
        self.attrs.get(key).map(String::as_str)
    }
}

/// Parses `lsnim -l` output: `attr = value` lines, values trimmed at both ends only (xCAT's
/// reader strips all blanks, which breaks values like `ready for use`). A leading
/// `host: ` that xdsh adds is removed.
pub fn parse_stanza(name: &str, text: &str) -> NimObject {
    let mut attrs = BTreeMap::new();
    for line in text.lines() {
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let key = key.trim();
        let key = key.rsplit(": ").next().unwrap_or(key).trim();
        if key.is_empty() || key.contains(char::is_whitespace) {
            continue;
        }
        attrs.insert(key.to_string(), value.trim().to_string());
    }
    NimObject {
        name: name.to_string(),
        attrs,
    }
}

/// `lsnim` on this NIM master, with answers cached for the run.
#[derive(Debug)]
pub struct Nim {
    program: String,
    cache: Mutex<HashMap<String, Option<NimObject>>>,
    machines: std::sync::OnceLock<Result<std::collections::BTreeSet<String>, String>>,
}

/// The machine types whose names [`Nim::machine_exists`] lists: diskless and dataless clients.
const CLIENT_TYPES: [&str; 2] = ["diskless", "dataless"];

impl Nim {
    /// `program` is `lsnim` (found on PATH) unless given.
    pub fn new(program: Option<&str>) -> Nim {
        Nim {
            program: program.unwrap_or("lsnim").to_string(),
            cache: Mutex::new(HashMap::new()),
            machines: std::sync::OnceLock::new(),
        }
    }

    /// The object, or `None` when NIM says it does not exist.
    pub fn lookup(&self, name: &str) -> Result<Option<NimObject>, NimError> {
        check_name(name).map_err(|why| NimError::BadName {
            name: name.to_string(),
            why,
        })?;
        if let Some(hit) = self
            .cache
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(name)
        {
            return Ok(hit.clone());
        }
        let err = |source| NimError::Command {
            name: name.to_string(),
            source,
        };
        let program = find_program(&self.program).map_err(err)?;
        let cmd = Cmd::new(program).args(["-l", name]);
        let out = cmd.run().map_err(err)?;
        let found = if out.success() {
            Some(parse_stanza(name, &out.stdout))
        } else if out.stderr.contains("0042-053") || out.stderr.contains("there is no NIM object") {
            None
        } else {
            return Err(err(cmd.failed(out)));
        };
        self.cache
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(name.to_string(), found.clone());
        Ok(found)
    }

    /// Looks up several objects at once, one `lsnim -l` each in its own thread, so that an
    /// image's four or five resources cost one command's time, not the sum. The answers are
    /// cached for [`Nim::lookup`]; a failure is not, so the lookup that needs the object
    /// runs the command again and reports it.
    pub fn prefetch(&self, names: &[&str]) {
        let cached = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        let mut wanted: Vec<&str> = (names.iter().copied())
            .filter(|n| !cached.contains_key(*n) && check_name(n).is_ok())
            .collect();
        drop(cached);
        wanted.sort_unstable();
        wanted.dedup();
        if wanted.len() < 2 {
            return;
        }
        std::thread::scope(|s| {
            for name in wanted {
                s.spawn(move || self.lookup(name));
            }
        });
    }

    /// Whether a NIM object exists (one `lsnim -l` per name; see [`Nim::machine_exists`]).
    pub fn exists(&self, name: &str) -> Result<bool, NimError> {
        Ok(self.lookup(name)?.is_some())
    }

    /// Whether a diskless or dataless client of that name exists, from one `lsnim -t TYPE`
    /// listing per type for the whole run (thousands of clients, two commands); when the
    /// listing itself fails, each name is asked with `lsnim -l`.
    pub fn machine_exists(&self, name: &str) -> Result<bool, NimError> {
        match self.machines.get_or_init(|| self.list_machines()) {
            Ok(set) => Ok(set.contains(name)),
            Err(_) => self.exists(name),
        }
    }

    /// Lists the clients for [`Nim::machine_exists`] now (once per run, as it would), so that
    /// the listing can run in the background while other work goes on.
    pub fn list_machines_now(&self) {
        self.machines.get_or_init(|| self.list_machines());
    }

    fn list_machines(&self) -> Result<std::collections::BTreeSet<String>, String> {
        let program = find_program(&self.program).map_err(|e| e.to_string())?;
        let list = |t: &str| Cmd::new(&program).args(["-t", t]).run_checked();
        // The types are listed at once: each listing walks NIM's whole object database.
        let outs = std::thread::scope(|s| {
            let runs: Vec<_> = (CLIENT_TYPES.iter())
                .map(|t| s.spawn(move || list(t)))
                .collect();
            runs.into_iter()
                .map(|r| r.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
                .collect::<Vec<_>>()
        });
        let mut set = std::collections::BTreeSet::new();
        for out in outs {
            let out = out.map_err(|e| e.to_string())?;
            // One line per object: `name class type`.
            set.extend(
                out.stdout
                    .lines()
                    .filter_map(|l| l.split_whitespace().next())
                    .map(str::to_string),
            );
        }
        Ok(set)
    }

    /// The location of a resource of the expected type, checked against `installdir`.
    pub fn location(
        &self,
        name: &str,
        expected_type: &str,
        installdir: &str,
    ) -> Result<String, NimError> {
        let obj = self.lookup(name)?.ok_or_else(|| NimError::NoResource {
            name: name.to_string(),
        })?;
        if let Some(found) = obj.attr("type") {
            if found != expected_type {
                return Err(NimError::WrongType {
                    name: name.to_string(),
                    expected: expected_type.to_string(),
                    found: found.to_string(),
                });
            }
        }
        let location = obj
            .attr("location")
            .filter(|l| !l.is_empty())
            .ok_or_else(|| NimError::NoLocation {
                name: name.to_string(),
            })?;
        if let Some(why) = location_problem(location) {
            return Err(NimError::BadLocation {
                name: name.to_string(),
                location: location.to_string(),
                why,
            });
        }
        if !is_under(location, installdir) {
            return Err(NimError::OutsideInstalldir {
                name: name.to_string(),
                location: location.to_string(),
                installdir: installdir.to_string(),
            });
        }
        Ok(location.trim_end_matches('/').to_string())
    }
}

/// Longest NIM object name accepted (NIM's own limit is lower; this only bounds what a table
/// can make us pass to lsnim).
const MAX_NAME: usize = 255;

/// Whether `name` can be a NIM object name, so that it is safe to pass to lsnim as an
/// argument: letters, digits, `_`, `-` and `.`, not starting with `-` (an option to lsnim).
pub fn check_name(name: &str) -> Result<(), &'static str> {
    if name.is_empty() {
        return Err("it is empty");
    }
    if name.len() > MAX_NAME {
        return Err("it is longer than 255 characters");
    }
    if name.starts_with('-') {
        return Err("it starts with '-'");
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
    {
        return Err("only letters, digits, '_', '-' and '.' are allowed");
    }
    Ok(())
}

/// What is wrong with a location lsnim gave, if anything besides its place (see
/// [`is_under`]): NIM makes resource directories with plain names, so white space, control
/// characters or an undecodable byte (shown as U+FFFD) mean a damaged or forged answer.
fn location_problem(location: &str) -> Option<&'static str> {
    if location
        .chars()
        .any(|c| c.is_whitespace() || c.is_control())
    {
        Some("has white space or control characters")
    } else if location.contains('\u{FFFD}') {
        Some("is not valid UTF-8")
    } else if location.len() > 4096 {
        Some("is longer than 4096 bytes")
    } else {
        None
    }
}

/// Whether `path` is strictly below `dir`, component-wise, with no `.`/`..` components.
pub fn is_under(path: &str, dir: &str) -> bool {
    if !path.starts_with('/') || path.split('/').any(|c| c == ".." || c == ".") {
        return false;
    }
    let dir = dir.trim_end_matches('/');
    path.strip_prefix(dir)
        .is_some_and(|rest| rest.starts_with('/') && !rest.trim_matches('/').is_empty())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    #[test]
    fn parses_padded_and_prefixed_stanzas() {
        let text = "71Bcosi:\n   class       = resources\n   Rstate      = ready for use\n   location    = /install/nim/spot/71Bcosi/usr\n";
        let o = parse_stanza("71Bcosi", text);
        assert_eq!(o.attr("Rstate"), Some("ready for use"));
        assert_eq!(o.attr("location"), Some("/install/nim/spot/71Bcosi/usr"));
        let o = parse_stanza("x", "sn1: x:\nsn1:    type = paging\n");
        assert_eq!(o.attr("type"), Some("paging"));
    }

    /// Makes a test's stand-in program executable, and runs it once without arguments: a test
    /// forking in another thread may hold the new file open for writing for an instant
    /// (ETXTBSY); once one run succeeds, no such writer is left.
    pub(crate) fn make_executable(program: &std::path::Path) {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(program, std::fs::Permissions::from_mode(0o755)).unwrap();
        for _ in 0..200 {
            match std::process::Command::new(program).output() {
                Err(e) if e.kind() == std::io::ErrorKind::ExecutableFileBusy => {
                    std::thread::sleep(std::time::Duration::from_millis(10))
                }
                _ => return,
            }
        }
    }

    #[test]
    fn the_client_listing_made_ahead_is_the_one_machine_exists_uses() {
        let dir = tempfile::tempdir().unwrap();
        let (log, program) = (dir.path().join("log"), dir.path().join("lsnim"));
        std::fs::write(
            &program,
            format!(
                "#!/bin/sh\n[ $# = 0 ] && exit 0\necho \"$*\" >> '{}'\n[ \"$2\" = diskless ] && echo 'cn1 machines diskless'\nexit 0\n",
                log.display()
            ),
        )
        .unwrap();
        make_executable(&program);
        let nim = Nim::new(Some(program.to_str().unwrap()));
        std::thread::scope(|s| {
            s.spawn(|| nim.list_machines_now());
        });
        assert!(nim.machine_exists("cn1").unwrap());
        assert!(!nim.machine_exists("cn2").unwrap());
        nim.list_machines_now();
        let calls = std::fs::read_to_string(&log).unwrap();
        let mut calls: Vec<&str> = calls.lines().collect();
        calls.sort_unstable();
        assert_eq!(calls, ["-t dataless", "-t diskless"]);
    }

    #[test]
    fn prefetched_objects_are_asked_once_and_failures_again_when_needed() {
        let dir = tempfile::tempdir().unwrap();
        let (log, program) = (dir.path().join("log"), dir.path().join("lsnim"));
        let script = "#!/bin/sh\n[ $# = 0 ] && exit 0\necho \"$*\" >> '{log}'\ncase $2 in\n\
            spot1) printf 'spot1:\\n   type = spot\\n   location = /install/nim/spot/x\\n' ;;\n\
            gone) echo '0042-053 lsnim: there is no NIM object named \"gone\"' >&2; exit 1 ;;\n\
            *) echo 'lsnim: ODM is locked' >&2; exit 1 ;;\nesac\n";
        std::fs::write(
            &program,
            script.replace("{log}", &log.display().to_string()),
        )
        .unwrap();
        make_executable(&program);
        let nim = Nim::new(Some(program.to_str().unwrap()));
        nim.prefetch(&["spot1", "gone", "spot1", "locked", "-bad"]);
        let calls = std::fs::read_to_string(&log).unwrap();
        let mut calls: Vec<&str> = calls.lines().collect();
        calls.sort_unstable();
        assert_eq!(calls, ["-l gone", "-l locked", "-l spot1"]);
        std::fs::remove_file(&log).unwrap();
        let spot = nim.location("spot1", "spot", "/install").unwrap();
        assert_eq!(spot, "/install/nim/spot/x");
        assert!(!nim.exists("gone").unwrap());
        let e = nim.lookup("locked").unwrap_err().to_string();
        assert!(e.contains("ODM is locked"), "{e}");
        assert_eq!(std::fs::read_to_string(&log).unwrap(), "-l locked\n");
    }

    #[test]
    fn hostile_names_never_reach_lsnim() {
        let nim = Nim::new(Some("/nonexistent/lsnim"));
        for name in [
            "-oProxyCommand=x",
            "a b",
            "a;b",
            "a$(b)",
            "../etc",
            "a\nb",
            "",
        ] {
            let e = nim.lookup(name).unwrap_err();
            assert!(matches!(e, NimError::BadName { .. }), "{name:?}: {e}");
            assert!(e.to_string().contains("lsnim was not asked"), "{e}");
        }
        assert!(check_name(&"a".repeat(4096)).is_err());
        assert!(check_name("71Bcosi_root").is_ok());
        assert!(check_name("cn005_71Bcosi").is_ok());
    }

    #[test]
    fn damaged_locations_are_refused() {
        for bad in [
            "/install/nim/a b",
            "/install/nim/a\tb",
            "/install/nim/\u{FFFD}x",
        ] {
            assert!(location_problem(bad).is_some(), "{bad:?}");
        }
        assert_eq!(location_problem("/install/nim/root/71Bcosi_root"), None);
    }

    #[test]
    fn locations_must_be_under_installdir() {
        assert!(is_under("/install/nim/spot/a/usr", "/install"));
        assert!(is_under("/install/nim", "/install/"));
        assert!(!is_under("/install", "/install"));
        assert!(!is_under("/installx/nim", "/install"));
        assert!(!is_under("/install/../etc", "/install"));
        assert!(!is_under("install/nim", "/install"));
        assert!(!is_under("/etc/nim", "/install"));
    }
}
