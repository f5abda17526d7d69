//! Publishing an SN's part and applying the merged exports on the server: under the server's
//! lock, read parts, compute, write what changed (part, then configuration), make it live.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::Serialize;

use super::clients::{self, ClientAddresses, LeftOut, Naming};
use super::error::ExportsError;
use super::kinds::{RenderInput, Rendered};
use super::local::SnExports;
use super::merge::{build_part, merge_parts, Merged, Part, PartInput};
use super::model::{sec_names, Access, Client, ClientAccess, Squash};
use super::role::Published;
use super::server::{self, Current, Expect, Lock, State};
use crate::config::exports::{ClientNames, ExportsSettings, ServerKind};
use crate::process::Cmd;
use crate::remote::Remote;

/// A refresh of one SN's part.
pub struct Update<'a> {
    pub sn: &'a str,
    pub published: &'a [Published],
    pub exports: &'a SnExports,
    /// The nodes' addresses, for clients not named by their names.
    pub addresses: &'a dyn ClientAddresses,
}

/// What a run did (or, with `dry_run`, would do).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ApplyReport {
    pub server: String,
    pub kind: ServerKind,
    /// The configuration file on the server.
    pub file: String,
    pub dry_run: bool,
    /// This SN's part was (would be) written or removed.
    pub part_changed: bool,
    /// The configuration was (would be) rewritten and made live.
    pub file_changed: bool,
    /// The commands run on the server (or that would be), as typed in a shell.
    pub commands: Vec<String>,
    pub warnings: Vec<String>,
    /// Clients of this SN's part left out because nobody knows their address, one line
    /// each: their nodes failed, the other exports were applied.
    pub failed_clients: Vec<LeftOut>,
}

impl fmt::Display for ApplyReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verb = |done: &'static str, would: &'static str| match self.dry_run {
            true => would,
            false => done,
        };
        write!(f, "server {} ({}): ", self.server, self.kind)?;
        match (self.file_changed, self.part_changed) {
            (false, false) => write!(f, "exports up to date, nothing written")?,
            (false, true) => write!(
                f,
                "part {}, exports unchanged",
                verb("updated", "would be updated")
            )?,
            (true, _) => write!(
                f,
                "{} {}",
                self.file,
                verb("rewritten", "would be rewritten")
            )?,
        }
        for c in &self.commands {
            write!(f, "\n  {} {c}", verb("ran:", "would run:"))?;
        }
        for w in &self.warnings {
            write!(f, "\n  warning: {w}")?;
        }
        for c in &self.failed_clients {
            write!(f, "\n  FAILED: {c}")?;
        }
        Ok(())
    }
}

/// Everything a run decided before anything is written.
struct Decision {
    parts: BTreeMap<String, Part>,
    /// This SN's part file: `Some(Some(text))` write, `Some(None)` remove.
    part_change: Option<(String, Option<String>)>,
    merged: Merged,
    rendered: Rendered,
    file_changed: bool,
    /// How this SN's host clients were named.
    naming: Naming,
    warnings: Vec<String>,
}

/// Publishes (with `update`) and applies; see `exports::publish`.
pub fn run(
    remote: &Remote,
    settings: &ExportsSettings,
    update: Option<Update<'_>>,
    dry_run: bool,
) -> Result<ApplyReport, ExportsError> {
    check_inputs(settings, update.as_ref())?;
    let _lock = match dry_run {
        true => None,
        false => Some(Lock::acquire(
            remote,
            &lock_path(settings),
            settings.lock_timeout,
            &owner(&update),
        )?),
    };
    let (state, decision) = read_and_decide(remote, settings, update.as_ref())?;
    let mut report = ApplyReport {
        server: remote.name().to_string(),
        kind: settings.kind,
        file: settings.file().to_string(),
        dry_run,
        part_changed: decision.part_change.is_some(),
        file_changed: decision.file_changed,
        commands: Vec::new(),
        warnings: decision.warnings.clone(),
        failed_clients: decision.naming.failures(),
    };
    match dry_run {
        true => report.commands = planned_commands(remote, settings, &decision),
        false => execute(remote, settings, &state, &decision, &mut report)?,
    }
    Ok(report)
}

/// The text of `extnfs exports render`; see `exports::render_for_server`.
pub fn preview(
    remote: &Remote,
    settings: &ExportsSettings,
    update: Option<Update<'_>>,
) -> Result<String, ExportsError> {
    check_inputs(settings, update.as_ref())?;
    let (_, decision) = read_and_decide(remote, settings, update.as_ref())?;
    let commands = planned_commands(remote, settings, &decision);
    Ok(describe(remote.name(), settings, &decision, &commands))
}

/// What can be checked before the server is contacted.
fn check_inputs(
    settings: &ExportsSettings,
    update: Option<&Update<'_>>,
) -> Result<(), ExportsError> {
    settings.validate()?;
    if let Some(u) = update {
        crate::host::validate_hostname(u.sn)?;
    }
    Ok(())
}

/// Reads the server's parts and configuration, and decides.
fn read_and_decide(
    remote: &Remote,
    settings: &ExportsSettings,
    update: Option<&Update<'_>>,
) -> Result<(State, Decision), ExportsError> {
    let state = server::read_state(remote, &settings.parts_dir, settings.file())?;
    let decision = decide(&state, update, settings, remote)?;
    Ok((state, decision))
}

fn lock_path(settings: &ExportsSettings) -> String {
    format!("{}/.lock", settings.parts_dir)
}

fn owner(update: &Option<Update<'_>>) -> String {
    let who = update.as_ref().map(|u| u.sn).unwrap_or("extnfs");
    format!("{who} (pid {})", std::process::id())
}

/// Computes the new part, the union and the rendering; writes nothing.
fn decide(
    state: &State,
    update: Option<&Update<'_>>,
    settings: &ExportsSettings,
    remote: &Remote,
) -> Result<Decision, ExportsError> {
    let mut parts = state.parts.clone();
    let mut warnings = Vec::new();
    let mut part_change = None;
    let mut naming = Naming::default();
    if let Some(u) = update {
        let previous = parts.remove(u.sn);
        let mut built = build_part(&PartInput {
            sn: u.sn,
            previous: previous.as_ref(),
            published: u.published,
            exports: u.exports,
            resolver: &crate::host::resolve,
        })?;
        warnings.extend(built.warnings);
        naming = name_clients(remote, settings, u, &mut built.part, previous.as_ref())?;
        if settings.client_names() == ClientNames::Auto {
            warnings.extend(naming.note(remote.name()));
        }
        for path in &naming.emptied {
            warnings.push(format!("{path}: not exported, it has no clients left"));
        }
        let text = match built.part.published.is_empty() {
            true => None,
            false => Some(built.part.to_json()),
        };
        if text.as_ref() != state.raw_parts.get(u.sn) {
            part_change = Some((u.sn.to_string(), text.clone()));
        }
        if text.is_some() {
            parts.insert(u.sn.to_string(), built.part);
        }
    }
    let merged = merge_parts(parts.values());
    let current = state.current.as_ref();
    let rendered = render(settings, &merged, current, remote.name())?;
    warnings.extend(rendered.notes.iter().cloned());
    let file_changed = match current {
        Some(c) => c.text != rendered.text,
        None => !merged.exports.is_empty(),
    };
    Ok(Decision {
        parts,
        part_change,
        merged,
        rendered,
        file_changed,
        naming,
        warnings,
    })
}

/// Names the host clients of this SN's new `part` as the settings say (see
/// [`ClientNames`]). The server checks the names `previous` did not have, one remote
/// round trip per chunk of names: with `names`, one it cannot resolve stops the run; with
/// `auto`, those become addresses. With `addresses`, every name does, and nothing is asked.
fn name_clients(
    remote: &Remote,
    settings: &ExportsSettings,
    update: &Update<'_>,
    part: &mut Part,
    previous: Option<&Part>,
) -> Result<Naming, ExportsError> {
    let names = clients::host_names(part);
    let mode = settings.client_names();
    if mode == ClientNames::Addresses {
        return Ok(clients::to_addresses(part, &names, update.addresses));
    }
    let old = previous.map(clients::host_names).unwrap_or_default();
    let new: Vec<String> = names.difference(&old).cloned().collect();
    let bad: BTreeSet<String> = server::unresolvable(remote, &new)?.into_iter().collect();
    if bad.is_empty() {
        return Ok(Naming::default());
    }
    match mode {
        ClientNames::Names => Err(unresolved(remote, part, &bad)),
        _ => Ok(clients::to_addresses(part, &bad, update.addresses)),
    }
}

/// The failure of `clients = "names"`: each name the server cannot resolve, with the
/// exports of this SN's part that list it.
fn unresolved(remote: &Remote, part: &Part, bad: &BTreeSet<String>) -> ExportsError {
    let mut clients = Vec::new();
    for pe in &part.exports {
        for name in bad
            .iter()
            .filter(|n| pe.export.clients.contains_key(&Client::Host((*n).clone())))
        {
            clients.push(format!(
                "{name} (export {} from {}, {})",
                pe.export.path, part.sn, pe.source
            ));
        }
    }
    ExportsError::ServerResolve {
        server: remote.name().to_string(),
        clients,
    }
}

/// Renders for the server's kind from the merged parts and the file now on the server.
pub(super) fn render(
    settings: &ExportsSettings,
    merged: &Merged,
    current: Option<&Current>,
    server: &str,
) -> Result<Rendered, ExportsError> {
    settings.kind.server_type().render(&RenderInput {
        merged,
        current: current.map(|c| c.text.as_str()),
        settings,
        file: settings.file(),
        server,
    })
}

/// The command that makes a new file live: `exports.reload`, else the kind's, which a
/// locally mounted server (this host) does not run; `None` for a kind never reloaded (CES).
fn reload_command(settings: &ExportsSettings, remote: &Remote) -> Option<Vec<String>> {
    let default = settings.kind.server_type().default_reload()?;
    let argv = match (&settings.reload, remote.is_local()) {
        (Some(argv), _) => argv.clone(),
        (None, false) => default.iter().map(|w| w.to_string()).collect(),
        (None, true) => Vec::new(),
    };
    Some(argv).filter(|a| !a.is_empty())
}

/// The commands that make a changed configuration live, in order.
fn planned_commands(remote: &Remote, settings: &ExportsSettings, d: &Decision) -> Vec<String> {
    if !d.file_changed {
        return Vec::new();
    }
    let unexport = d.rendered.unexport.iter().filter(|_| !remote.is_local());
    let unexport = unexport.map(|p| unexport_argv(p));
    let commands = d.rendered.commands.iter().cloned();
    commands
        .chain(unexport)
        .chain(reload_command(settings, remote))
        .map(|argv| show(remote, &argv))
        .collect()
}

fn unexport_argv(path: &str) -> Vec<String> {
    vec!["exportfs".into(), "-u".into(), path.to_string()]
}

fn show(remote: &Remote, argv: &[String]) -> String {
    let shown = crate::process::quote_words(argv);
    match remote.is_local() {
        true => format!("{shown} (on this host)"),
        false => shown,
    }
}

/// Writes the part, then the configuration, and makes it live; on a failure puts back what
/// was written.
fn execute(
    remote: &Remote,
    settings: &ExportsSettings,
    state: &State,
    d: &Decision,
    report: &mut ApplyReport,
) -> Result<(), ExportsError> {
    let mut run = Execution {
        remote,
        settings,
        state,
        d,
        report,
        written: Vec::new(),
    };
    run.part()?;
    if !d.file_changed {
        return Ok(());
    }
    match run.configuration() {
        Ok(()) => Ok(()),
        Err((step, source)) => Err(roll_back(remote, settings, &run.written, step, source)),
    }
}

/// A step that failed, and why.
type StepError = (String, ExportsError);

/// One run's writes on the server, remembering what was written for a roll-back.
struct Execution<'a> {
    remote: &'a Remote,
    settings: &'a ExportsSettings,
    state: &'a State,
    d: &'a Decision,
    report: &'a mut ApplyReport,
    written: Vec<String>,
}

impl Execution<'_> {
    /// Writes (or moves aside) this SN's part.
    fn part(&mut self) -> Result<(), ExportsError> {
        if let Some((sn, text)) = &self.d.part_change {
            let path = format!("{}/{sn}.json", self.settings.parts_dir);
            match text {
                Some(t) => server::install(self.remote, &path, t, Expect::Any)?,
                None => server::remove(self.remote, &path)?,
            }
            self.written.push(path);
        }
        Ok(())
    }

    /// Runs the kind's commands, installs the file, unexports gone AIX paths, reloads.
    fn configuration(&mut self) -> Result<(), StepError> {
        let file = self.settings.file();
        let kind = self.settings.kind.server_type();
        for argv in &self.d.rendered.commands {
            self.step(argv)?;
        }
        self.install_config(kind.writing())?;
        self.unexport();
        match reload_command(self.settings, self.remote) {
            Some(argv) => self.step(&argv),
            None if kind.default_reload().is_none() => Ok(()),
            None => {
                self.report.warnings.push(format!(
                    "{file} was written but nothing reloaded it: the server is reached through a \
                     local mount, so set exports.reload to a command that reloads it"
                ));
                Ok(())
            }
        }
    }

    /// AIX: `exportfs -u` for each path gone from the block; a failure only warns.
    fn unexport(&mut self) {
        let paths = &self.d.rendered.unexport;
        if self.remote.is_local() && !paths.is_empty() {
            let paths = paths.join(" ");
            self.report.warnings.push(format!(
                "unexport on the server by hand (exportfs -u): {paths}"
            ));
            return;
        }
        for path in paths {
            let argv = unexport_argv(path);
            self.report.commands.push(show(self.remote, &argv));
            if let Err(e) = self.remote.command(&argv).run_checked() {
                let warning = format!("{path} stays exported until the next reboot: {e}");
                self.report.warnings.push(warning);
            }
        }
    }

    /// Writes the rendered configuration over the file that was read (and nothing else).
    fn install_config(&mut self, step: &str) -> Result<(), StepError> {
        let file = self.settings.file();
        let expect = Expect::Read(self.state.current.as_ref());
        server::install(self.remote, file, &self.d.rendered.text, expect)
            .map_err(|e| (format!("{step} {file}"), e))?;
        self.written.push(file.to_string());
        Ok(())
    }

    /// Runs a command on the server, noted in the report.
    fn step(&mut self, argv: &[String]) -> Result<(), StepError> {
        let cmd: Cmd = self.remote.command(argv);
        self.report.commands.push(show(self.remote, argv));
        cmd.run_checked().map(drop).map_err(|e| {
            let step = format!("`{}`", crate::process::quote_words(argv));
            (step, ExportsError::remote(self.remote.name(), "", e))
        })
    }
}

/// Puts back every file written, reloads the old configuration (best effort) and explains.
fn roll_back(
    remote: &Remote,
    settings: &ExportsSettings,
    written: &[String],
    step: String,
    error: ExportsError,
) -> ExportsError {
    let mut restored = Vec::new();
    for path in written.iter().rev() {
        match server::restore(remote, path) {
            Ok(()) => restored.push(path.clone()),
            Err(e) => log::error!("{e}"),
        }
    }
    let file_restored = written.iter().any(|p| p == settings.file());
    if file_restored {
        if let Some(argv) = reload_command(settings, remote) {
            if let Err(e) = remote.command(&argv).run_checked() {
                log::error!(
                    "server {}: reloading the restored configuration: {e}",
                    remote.name()
                );
            }
        }
    }
    let restored = match restored.is_empty() {
        true => "nothing had been written".to_string(),
        false => restored.join(", "),
    };
    match error {
        ExportsError::Remote { source, .. } => ExportsError::Apply {
            server: remote.name().to_string(),
            step,
            restored,
            source,
        },
        other => other,
    }
}

/// The preview: parts, per path the merged entry and who contributed, what would change,
/// then the configuration text.
fn describe(server: &str, settings: &ExportsSettings, d: &Decision, commands: &[String]) -> String {
    let mut out = format!(
        "# Server {server} ({}), {}\n",
        settings.kind,
        settings.file()
    );
    let parts: Vec<String> = d
        .parts
        .values()
        .map(|p| match p.exports.len() {
            1 => format!("{} (1 export)", p.sn),
            n => format!("{} ({n} exports)", p.sn),
        })
        .collect();
    out.push_str(&format!("# Service node parts: {}\n", list_or_none(&parts)));
    for m in d.merged.exports.values() {
        let roles: Vec<&str> = m.roles.iter().map(|r| r.name()).collect();
        let sns: Vec<&str> = m.sns().into_iter().collect();
        out.push_str(&format!(
            "#\n# {} ({}), from {}\n",
            m.export.path,
            roles.join(", "),
            sns.join(", ")
        ));
        if !m.export.versions.is_empty() {
            let v: Vec<String> = m.export.versions.iter().map(u8::to_string).collect();
            out.push_str(&format!("#   NFS versions {}\n", v.join(", ")));
        }
        for (client, grant) in &m.export.clients {
            let by: Vec<&str> = m.granted_by[client].iter().map(String::as_str).collect();
            let client = client.to_string();
            out.push_str(&format!(
                "#   {client:<16} {}  [{}]\n",
                grant_text(grant),
                by.join(", ")
            ));
        }
    }
    out.push_str("#\n");
    match (d.file_changed, d.part_change.is_some()) {
        (true, _) => out.push_str("# The configuration on the server would change.\n"),
        (false, true) => {
            out.push_str("# The configuration is up to date; this SN's part would be updated.\n")
        }
        (false, false) => out.push_str("# The configuration on the server is up to date.\n"),
    }
    for c in commands {
        out.push_str(&format!("# would run: {c}\n"));
    }
    for w in &d.warnings {
        out.push_str(&format!("# warning: {w}\n"));
    }
    out.push('\n');
    out.push_str(&d.rendered.text);
    out
}

fn list_or_none(items: &[String]) -> String {
    match items.is_empty() {
        true => "(none)".to_string(),
        false => items.join(", "),
    }
}

/// `ro, root allowed, sec=sys:krb5, anon=0, unprivileged ports`.
fn grant_text(g: &ClientAccess) -> String {
    let mut words = vec![match g.access {
        Access::Ro => "ro".to_string(),
        Access::Rw => "rw".to_string(),
    }];
    words.push(
        match g.squash {
            Squash::None => "root allowed",
            Squash::Root => "root squashed",
            Squash::All => "all squashed",
        }
        .to_string(),
    );
    if !g.default_sec() {
        words.push(format!("sec={}", sec_names(&g.sec, ":")));
    }
    if let Some(uid) = g.anon_uid {
        words.push(format!("anon={uid}"));
    }
    if g.insecure {
        words.push("unprivileged ports".to_string());
    }
    words.join(", ")
}
