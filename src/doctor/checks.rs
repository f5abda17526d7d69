//! The checks of `extnfs doctor`, each built on the stage that does the real work: the mounts
//! model, the sync engine's inventory, redirect plan, plan and verification, syncstatelite's plan.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::time::Duration;

use super::findings::{Context, DoctorError, Findings, Options};
use crate::config::PagingMode;
use crate::exports::{self, Access, ServerKind, Squash, Who};
use crate::mounts::{self, Kind, NodeMounts, Os};
use crate::scripts;
use crate::statelite;
use crate::sync::execute::Executor;
use crate::sync::inventory::{self, Target};
use crate::sync::servers::{node_address, NodeServerError, ServerBook, Servers};
use crate::sync::step::{Done, Step, StepKind, StepResult};
use crate::sync::{self, plan, pool, redirect};
use crate::syslog::Syslog;

/// How long the NFS port may take to accept a connection.
const NFS_TIMEOUT: Duration = Duration::from_secs(5);
const NFS_PORT: u16 = 2049;

const SYNCAIXRES: &str = "syncaixres --nodes {nodes}";
const SYNCSTATELITE: &str = "syncstatelite --nodes {nodes}";

/// Runs every check of `nodes`.
pub fn run(ctx: &Context<'_>, nodes: &[String], opts: &Options) -> Result<Findings, DoctorError> {
    let mut f = Findings::default();
    let r = ctx.resolver;
    let model = mounts::gather(
        r,
        nodes,
        &mounts::Options {
            image: None,
            nim: Some(ctx.nim),
        },
    )?;
    for fail in &model.failed {
        f.add(
            "mounts",
            format!("{}: what the node mounts cannot be computed", fail.message),
            "correct the tables named, then check with `extnfs mounts {nodes}`".into(),
            [fail.node.clone()],
        );
    }
    let mut book = ServerBook::default();
    let mut on: BTreeMap<String, Vec<&NodeMounts>> = BTreeMap::new();
    for n in &model.nodes {
        match book.for_node(ctx.config, r, &n.node) {
            Ok(s) => on.entry(s.name.clone()).or_default().push(n),
            Err(NodeServerError::Skip(reason)) if reason.ends_with("is this host") => {}
            Err(NodeServerError::Skip(reason)) => f.add(
                "redirection",
                format!(
                    "{reason}: every mount comes from the SN, so the node goes down with its SN"
                ),
                "chdef -t node -o {nodes} nfsserver=<external server>".into(),
                [n.node.clone()],
            ),
            Err(NodeServerError::Fail(message)) => f.add(
                "reachability",
                message,
                "add the server to /etc/hosts (or set address in its [server.NAME] table)".into(),
                [n.node.clone()],
            ),
            Err(NodeServerError::Stop(e)) => return Err(e.into()),
        }
    }
    let servers = book.servers;
    let up = reachability(&servers, &on, opts.jobs, &mut f);
    let on: BTreeMap<String, Vec<&NodeMounts>> =
        on.into_iter().filter(|(s, _)| up.contains(s)).collect();
    let servers: Servers = servers
        .into_iter()
        .filter(|(s, _)| up.contains(s))
        .collect();
    let syslog = Syslog::new(
        "xcat.extnfs",
        ctx.config.logger.clone(),
        ctx.config.log_file.clone(),
    );
    let engine = Executor {
        servers: &servers,
        sysroot: ctx.sysroot,
        syslog: &syslog,
        rsync: "rsync".into(),
        jobs: opts.jobs,
        progress: None,
        dead: Default::default(),
    };
    let (aix, linux): (Vec<&NodeMounts>, Vec<&NodeMounts>) = on
        .values()
        .flatten()
        .copied()
        .partition(|n| n.os == Os::Aix);
    aix_checks(ctx, &aix, &engine, &mut f)?;
    linux_checks(ctx, &linux, &on, &engine, &mut f);
    exports_checks(ctx, &on, &servers, opts.jobs, &mut f);
    setup_checks(ctx, &model.nodes, &servers, &on, &mut f);
    syslog.flush();
    Ok(f)
}

/// One probe of each server: its remote access answers, and its NFS port at the address the
/// nodes use. Returns the servers that answer; each that does not is one problem.
fn reachability(
    servers: &Servers,
    on: &BTreeMap<String, Vec<&NodeMounts>>,
    jobs: usize,
    f: &mut Findings,
) -> BTreeSet<String> {
    let list: Vec<&sync::servers::Server> = servers.values().collect();
    let answers = pool::map(&list, jobs, |s| {
        let ssh = s.remote.command(&["true"]).run_checked().err();
        let nfs = s
            .address
            .ip
            .parse::<IpAddr>()
            .map_err(|_| format!("bad address {}", s.address.ip))
            .and_then(|ip| {
                TcpStream::connect_timeout(&SocketAddr::new(ip, NFS_PORT), NFS_TIMEOUT)
                    .map(drop)
                    .map_err(|e| e.to_string())
            })
            .err();
        (ssh, nfs)
    });
    let mut up = BTreeSet::new();
    for (s, (ssh, nfs)) in list.iter().zip(answers) {
        let nodes = on
            .get(&s.name)
            .into_iter()
            .flatten()
            .map(|n| n.node.clone());
        let nodes: Vec<String> = nodes.collect();
        if let Some(e) = ssh {
            f.add(
                "reachability",
                format!(
                    "server {} does not answer ({e}); nothing on it could be checked",
                    s.name
                ),
                format!(
                    "bring {} back, or fix its access (`ssh {} true` from this host, RSYNC_RSH)",
                    s.name, s.config.ssh_host
                ),
                nodes.clone(),
            );
            continue;
        }
        up.insert(s.name.clone());
        if let Some(e) = nfs {
            f.add(
                "reachability",
                format!(
                    "server {}: NFS does not answer on TCP {}:{NFS_PORT} ({e}): the nodes cannot mount anything",
                    s.name, s.address.ip
                ),
                format!("start the NFS service on {} and open TCP port {NFS_PORT} to the nodes", s.name),
                nodes,
            );
        }
    }
    up
}

fn aix_checks(
    ctx: &Context<'_>,
    nodes: &[&NodeMounts],
    engine: &Executor<'_>,
    f: &mut Findings,
) -> Result<(), DoctorError> {
    if nodes.is_empty() {
        return Ok(());
    }
    let names: Vec<String> = nodes.iter().map(|n| n.node.clone()).collect();
    let sctx = sync::Context {
        resolver: ctx.resolver,
        nim: ctx.nim,
        config: ctx.config,
        sysroot: ctx.sysroot,
    };
    let inv = inventory::gather(&sctx, &names, false).map_err(|e| match e {
        sync::SyncError::Xcat(e) => DoctorError::Xcat(e),
        sync::SyncError::Remote(e) => DoctorError::Remote(e),
    })?;
    for fail in &inv.failed {
        f.add(
            "inventory",
            fail.message.clone(),
            SYNCAIXRES.into(),
            [fail.node.clone()],
        );
    }
    let targets: Vec<Target> = inv
        .targets
        .iter()
        .filter(|t| engine.servers.contains_key(&t.server))
        .cloned()
        .collect();
    let db = ctx.resolver.db();
    let (edits, failed) = redirect::plan(ctx.sysroot, &db.tftpdir()?, &targets, engine.servers);
    for e in &edits {
        f.add(
            "redirection",
            redirect_message(&e.path),
            SYNCAIXRES.into(),
            [e.node.clone()],
        );
    }
    for fail in &failed {
        f.add(
            "redirection",
            fail.message.clone(),
            SYNCAIXRES.into(),
            [fail.node.clone()],
        );
    }
    let plan = plan::plan_sync(&targets, ctx.sysroot, engine.servers, &db.installdir()?);
    for fail in &plan.failed {
        f.add(
            "sn-copy",
            format!(
                "{}: there is nothing to compare the server's copy with",
                fail.message
            ),
            "rerun mkdsklsnode for {nodes} on their SN, then syncaixres --nodes {nodes}".into(),
            [fail.node.clone()],
        );
    }
    content(&plan.steps, &targets, engine, f);
    paging(&plan.steps, &targets, engine, f);
    Ok(())
}

/// What is still wrong in a file the redirect stage would edit.
fn redirect_message(path: &str) -> String {
    let what = if path.ends_with(".info") {
        "the NIM .info file still names the SN for SPOT or ROOT, or lacks the server in NIM_HOSTS"
    } else if path.contains("filesystems") {
        "the client's filesystems still mounts / or /usr from the SN (nodename)"
    } else {
        "the client's hosts file has no line for the external server"
    };
    format!("{what}: the node goes down with its SN")
}

/// One `rsync -n` per synced scope (the engine's verification); differences are given to the
/// nodes whose files they are.
fn content(steps: &[Step], targets: &[Target], engine: &Executor<'_>, f: &mut Findings) {
    let done: Vec<Done<'_>> = steps
        .iter()
        .filter(|s| matches!(s.kind, StepKind::Rsync(_)))
        .map(|step| Done {
            step,
            result: StepResult {
                ok: true,
                ..StepResult::of(step)
            },
        })
        .collect();
    let by_nim: BTreeMap<(&str, &str), &str> = targets
        .iter()
        .map(|t| ((t.server.as_str(), t.nim.as_str()), t.node.as_str()))
        .collect();
    for (d, v) in done.iter().zip(engine.verify(&done, true)) {
        let step = d.step;
        if let Some(e) = &v.error {
            f.add(
                "content",
                format!(
                    "{} on {}: cannot compare with the server: {e}",
                    step.label, step.server
                ),
                SYNCAIXRES.into(),
                step.nodes.clone(),
            );
            continue;
        }
        let mut nodes: BTreeSet<&str> = BTreeSet::new();
        for item in v.items.iter().filter(|i| i.as_str() != "./") {
            let top = item.split('/').next().unwrap_or("");
            let owner = match step.role {
                crate::exports::Role::SharedRoot => item
                    .strip_prefix("etc/.client_data/")
                    .and_then(|file| {
                        targets.iter().find(|t| {
                            t.server == step.server && file.ends_with(&format!(".{}", t.nim))
                        })
                    })
                    .map(|t| t.node.as_str()),
                crate::exports::Role::Spot => None,
                _ => by_nim.get(&(step.server.as_str(), top)).copied(),
            };
            match owner {
                Some(n) => {
                    nodes.insert(n);
                }
                None => nodes.extend(step.nodes.iter().map(String::as_str)),
            }
        }
        if !nodes.is_empty() {
            f.add(
                "content",
                format!(
                    "{} on {}: the server's copy differs from this SN's (missing or changed files): the node may not boot, or boots a stale image",
                    step.label, step.server
                ),
                SYNCAIXRES.into(),
                nodes,
            );
        }
    }
}

/// Paging files the engine allocates: each must exist on the server with this SN's size.
fn paging(steps: &[Step], targets: &[Target], engine: &Executor<'_>, f: &mut Findings) {
    let mut wanted: BTreeMap<&str, Vec<(String, u64, &str)>> = BTreeMap::new();
    for s in steps {
        let StepKind::Allocate { dirs } = &s.kind else {
            continue;
        };
        for dir in dirs {
            let node = targets
                .iter()
                .find(|t| {
                    t.server == s.server
                        && t.paging
                            .as_ref()
                            .is_some_and(|p| format!("{}/{}", p.location, t.nim) == *dir)
                })
                .map_or("", |t| t.node.as_str());
            let files = crate::sync::execute::local_files(&engine.sysroot.local(dir));
            for (rel, meta) in files.unwrap_or_default() {
                wanted.entry(&s.server).or_default().push((
                    format!("{dir}/{rel}"),
                    meta.len(),
                    node,
                ));
            }
        }
    }
    for (server, files) in wanted {
        let Some(srv) = engine.servers.get(server) else {
            continue;
        };
        let input: String = files
            .iter()
            .map(|(p, _, _)| format!("{}\n", srv.remote.path(p)))
            .collect();
        let out = srv
            .remote
            .script(scripts::SIZES, &[] as &[&str])
            .stdin_bytes(input)
            .run_checked();
        let nodes_of = |fs: &[(String, u64, &str)]| -> Vec<String> {
            fs.iter().map(|(_, _, n)| n.to_string()).collect()
        };
        let out = match out {
            Ok(o) => o.stdout,
            Err(e) => {
                f.add(
                    "paging",
                    format!("paging files on {server} cannot be listed: {e}"),
                    SYNCAIXRES.into(),
                    nodes_of(&files),
                );
                continue;
            }
        };
        let sizes: BTreeMap<&str, &str> = out
            .lines()
            .filter_map(|l| l.split_once(' ').map(|(a, b)| (b, a)))
            .collect();
        for (path, size, node) in &files {
            let remote = srv.remote.path(path);
            let got = sizes.get(remote.as_str()).copied();
            let message = match got {
                Some(s) if s == size.to_string() => continue,
                Some("missing") | None => "a paging file is missing on the server",
                Some(_) => "a paging file on the server has another size than on this SN",
            };
            f.add(
                "paging",
                format!("{message}: the node's paging space cannot be created there (mkps fails)"),
                SYNCAIXRES.into(),
                [node.to_string()],
            );
        }
    }
}

fn linux_checks(
    ctx: &Context<'_>,
    nodes: &[&NodeMounts],
    on: &BTreeMap<String, Vec<&NodeMounts>>,
    engine: &Executor<'_>,
    f: &mut Findings,
) {
    let server_of: BTreeMap<&str, &str> = on
        .iter()
        .flat_map(|(s, ns)| ns.iter().map(move |n| (n.node.as_str(), s.as_str())))
        .collect();
    let mut targets = Vec::new();
    for n in nodes.iter().filter(|n| n.linux.is_some()) {
        let ext = server_of.get(n.node.as_str()).copied().unwrap_or("");
        // The image server xCAT puts on the kernel command line (R4), and each mount.
        if !same(&n.server, ext) {
            f.add(
                "redirection",
                format!("the kernel command line names {} as the image server, not {ext}: the node goes down with its SN", n.server),
                format!("chdef -t node -o {{nodes}} nfsserver={ext}, then nodeset {{nodes}} osimage"),
                [n.node.clone()],
            );
        }
        for m in n.mounts.iter().filter(|m| !same(&m.server, ext)) {
            f.add(
                "redirection",
                format!("{} is mounted from {}, not from the external server {ext}: the node goes down with it", m.kind.name(), m.server),
                format!("point the {} entry of {{nodes}} at {ext} (tabedit {})", m.kind.name(), match m.kind { Kind::Statemnt => "statelite", _ => "litetree" }),
                [n.node.clone()],
            );
        }
        targets.push(statelite::plan::Target {
            node: n,
            server: ext.to_string(),
        });
    }
    if targets.is_empty() {
        return;
    }
    let facts = statelite::facts::HostFacts::new(ctx.sysroot);
    let plan = statelite::plan::plan(&targets, &facts, &|a, b| crate::host::same_host(a, b));
    for finding in &plan.findings {
        let subject: Vec<String> = match nodes.iter().any(|n| n.node == finding.subject) {
            true => vec![finding.subject.clone()],
            false => nodes
                .iter()
                .filter(|n| n.image == finding.subject)
                .map(|n| n.node.clone())
                .collect(),
        };
        f.add(
            "statelite",
            finding.message.clone(),
            SYNCSTATELITE.into(),
            subject,
        );
    }
    let exec = statelite::execute::Executor {
        engine: Executor {
            servers: engine.servers,
            sysroot: engine.sysroot,
            syslog: engine.syslog,
            rsync: engine.rsync.clone(),
            jobs: engine.jobs,
            progress: None,
            dead: Default::default(),
        },
        owner: "extnfs doctor".into(),
    };
    // Copies are compared; directories to create must exist; the rest is read-only as is.
    let mut read_only = Vec::new();
    let mut copies = Vec::new();
    for s in &plan.steps {
        match &s.kind {
            statelite::plan::StepKind::Copy { .. } => copies.push(s),
            statelite::plan::StepKind::Mkdir { dirs } => {
                let mut s = s.clone();
                s.kind = statelite::plan::StepKind::Check { dirs: dirs.clone() };
                read_only.push(s);
            }
            statelite::plan::StepKind::Check { .. }
            | statelite::plan::StepKind::Litefile { .. } => read_only.push(s.clone()),
            _ => {}
        }
    }
    let verified = pool::map(&copies, engine.jobs, |s| exec.verify(s));
    for (s, v) in copies.iter().zip(verified) {
        let message = match v {
            Some(Ok(0)) | None => continue,
            Some(Ok(_)) => format!("{} on {}: the server's copy differs from this host's: the nodes may boot a stale or broken image", s.label, s.server),
            Some(Err(e)) => format!("{} on {}: cannot compare with the server: {e}", s.label, s.server),
        };
        f.add("content", message, SYNCSTATELITE.into(), s.nodes.clone());
    }
    for (s, res) in read_only.iter().zip(exec.run(&read_only)) {
        if !res.ok {
            f.add(
                "statelite",
                format!("{}: {}", s.label, res.detail),
                SYNCSTATELITE.into(),
                s.nodes.clone(),
            );
        }
        for finding in &res.findings {
            f.add("statelite", finding.clone(), "add the file to a litetree directory of the image on the server, or change its litefile entry".into(), s.nodes.clone());
        }
    }
    boot_needs(&targets, engine, f);
}

/// What a statelite node needs in its NFS root to boot past the initrd, on the server.
fn boot_needs(targets: &[statelite::plan::Target<'_>], engine: &Executor<'_>, f: &mut Findings) {
    let mut by_server: BTreeMap<&str, BTreeMap<String, Vec<String>>> = BTreeMap::new();
    for t in targets {
        for m in t.node.mounts.iter().filter(|m| m.kind == Kind::Rootimg) {
            for (need, _) in statelite::plan::BOOT_NEEDS {
                by_server
                    .entry(&t.server)
                    .or_default()
                    .entry(format!("{}{need}", m.path.trim_end_matches('/')))
                    .or_default()
                    .push(t.node.node.clone());
            }
        }
    }
    for (server, paths) in by_server {
        let Some(srv) = engine.servers.get(server) else {
            continue;
        };
        let asked: Vec<String> = paths.keys().map(|p| srv.remote.path(p)).collect();
        let mut args = vec!["exist".to_string()];
        args.extend(asked.iter().cloned());
        let found = match srv.remote.script(scripts::STATELITE, &args).run_checked() {
            Ok(o) => o.stdout,
            Err(_) => continue,
        };
        let found: BTreeSet<&str> = found.lines().collect();
        for ((path, nodes), remote) in paths.iter().zip(&asked) {
            if !found.contains(remote.as_str()) {
                f.add(
                    "statelite",
                    format!("{path} is missing on {server}: a statelite node cannot boot past its initrd"),
                    SYNCSTATELITE.into(),
                    nodes.clone(),
                );
            }
        }
    }
}

/// Whether two names are one server.
fn same(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b) || crate::host::same_host(a, b)
}

/// What a mount needs from the export: the access, root kept, unprivileged ports.
fn needs(m: &mounts::Mount, kind: ServerKind) -> (Access, bool, bool) {
    let access = match m.access {
        mounts::Access::Ro => Access::Ro,
        mounts::Access::Rw => Access::Rw,
    };
    let root = m.root && access == Access::Rw;
    (access, root, m.aix_client && kind == ServerKind::Linux)
}

/// One read of each server's applied exports; every mount of every node checked against it.
fn exports_checks(
    ctx: &Context<'_>,
    on: &BTreeMap<String, Vec<&NodeMounts>>,
    servers: &Servers,
    jobs: usize,
    f: &mut Findings,
) {
    let list: Vec<&sync::servers::Server> = servers.values().collect();
    let read = pool::map(&list, jobs, |s| {
        exports::read_applied(&s.remote, &s.config.exports)
    });
    for (s, applied) in list.iter().zip(read) {
        let nodes = on.get(&s.name).map(Vec::as_slice).unwrap_or_default();
        let fix = format!(
            "extnfs exports apply --server {} (on the nodes' SN)",
            s.name
        );
        let applied = match applied {
            Ok(a) => a,
            Err(e) => {
                f.add(
                    "exports",
                    format!(
                        "the exports {} applies cannot be read ({} server): {e}",
                        s.name, s.config.exports.kind
                    ),
                    fix,
                    nodes.iter().map(|n| n.node.clone()),
                );
                continue;
            }
        };
        let kind = s.config.exports.kind;
        for n in nodes {
            let ip = node_address(ctx.resolver, &n.node)
                .and_then(|ip| ip.parse().ok())
                .or_else(|| crate::host::primary_address(&n.node));
            let who = Who {
                names: vec![n.node.as_str()],
                ip,
            };
            for m in n.mounts.iter().filter(|m| same(&m.server, &s.name)) {
                if m.kind == Kind::Dump && !s.config.dump {
                    continue;
                }
                if m.kind == Kind::Paging && s.config.paging == PagingMode::Off {
                    continue;
                }
                let (access, root, insecure) = needs(m, kind);
                let problem = match applied.grant(&m.path, &who) {
                    None => Some("is not exported to the node: it cannot mount it".to_string()),
                    Some(g) if g.access < access => {
                        Some("is exported read-only to the node, which needs read-write".into())
                    }
                    Some(g) if root && g.squash != Squash::None => {
                        Some("squashes root for the node, which writes as root".into())
                    }
                    Some(g) if insecure && !g.insecure => Some(
                        "is exported without insecure: an AIX client's unprivileged ports are refused".into(),
                    ),
                    Some(_) => None,
                };
                if let Some(p) = problem {
                    f.add(
                        "exports",
                        format!("{} on {}: the path {p}", m.kind.name(), s.name),
                        fix.clone(),
                        [n.node.clone()],
                    );
                }
            }
        }
    }
}

/// The xCAT set-up that keeps the server up to date and moves paging.
fn setup_checks(
    ctx: &Context<'_>,
    nodes: &[NodeMounts],
    servers: &Servers,
    on: &BTreeMap<String, Vec<&NodeMounts>>,
    f: &mut Findings,
) {
    let r = ctx.resolver;
    let db = r.db();
    let has = |t: &str| db.optional_table(t).ok().flatten().is_some();
    let (pre, post) = (has("prescripts"), has("postscripts"));
    let defaults = |col: &str| -> String {
        db.optional_table("postscripts")
            .ok()
            .flatten()
            .and_then(|t| {
                let row = t.find(t.column("node").ok()?, "xcatdefaults")?;
                t.value(row, t.column(col).ok()?).map(str::to_string)
            })
            .unwrap_or_default()
    };
    let default_post = format!(
        "{},{}",
        defaults("postscripts"),
        defaults("postbootscripts")
    );
    let external: BTreeSet<&str> = on.values().flatten().map(|n| n.node.as_str()).collect();
    for n in nodes.iter().filter(|n| external.contains(n.node.as_str())) {
        let (script, fix) = match (n.os, &n.linux) {
            (Os::Aix, _) => (
                "syncaixres",
                "chdef -t node -o {nodes} -p prescripts-end='diskless:syncaixres|remove:syncaixres'",
            ),
            (Os::Linux, Some(_)) => ("syncstatelite", "chdef -t node -o {nodes} -p prescripts-end=syncstatelite"),
            _ => continue,
        };
        let end = match pre {
            true => r
                .attr(&n.node, "prescripts", "end")
                .ok()
                .flatten()
                .unwrap_or_default(),
            false => String::new(),
        };
        if !end.split(['|', ',', ':']).any(|w| w.trim() == script) {
            f.add(
                "xcat-setup",
                format!("{script} is not in the node's prescripts-end: the server's copy is not updated when the image changes"),
                fix.into(),
                [n.node.clone()],
            );
        }
        let nfs_paging = n.os == Os::Aix
            && n.mounts.iter().any(|m| m.kind == Kind::Paging)
            && on
                .iter()
                .find(|(_, ns)| ns.iter().any(|x| x.node == n.node))
                .and_then(|(s, _)| servers.get(s))
                .is_some_and(|s| s.config.paging != PagingMode::Off);
        if nfs_paging {
            let mine = match post {
                true => r
                    .attrs(&n.node, "postscripts", &["postscripts", "postbootscripts"])
                    .map(|v| v.into_iter().flatten().collect::<Vec<_>>().join(","))
                    .unwrap_or_default(),
                false => String::new(),
            };
            let all = format!("{mine},{default_post}");
            if !all.split(',').any(|w| w.trim() == "redirectps") {
                f.add(
                    "xcat-setup",
                    "redirectps is not in the node's postscripts: its NFS paging stays on its SN, and the node goes down with it".into(),
                    "chdef -t node -o {nodes} -p postscripts=redirectps".into(),
                    [n.node.clone()],
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_messages_name_the_file_kind() {
        assert!(redirect_message("/tftpboot/10.0.0.1.info").contains(".info"));
        assert!(redirect_message("/install/nim/root/r/cn001/etc/filesystems").contains("nodename"));
        assert!(
            redirect_message("/install/nim/shared_root/s/etc/.client_data/hosts.cn003")
                .contains("hosts")
        );
    }

    #[test]
    fn needs_follow_the_mount_and_the_server_kind() {
        let root = mounts::Mount::new(
            Kind::Root,
            "nfs1",
            "/r/cn001",
            mounts::Access::Rw,
            true,
            true,
        );
        assert_eq!(needs(&root, ServerKind::Linux), (Access::Rw, true, true));
        assert_eq!(needs(&root, ServerKind::Ganesha), (Access::Rw, true, false));
        let spot = mounts::Mount::new(Kind::Spot, "nfs1", "/s/usr", mounts::Access::Ro, true, true);
        assert_eq!(needs(&spot, ServerKind::Linux), (Access::Ro, false, true));
        let lite = mounts::Mount::new(
            Kind::Litetree,
            "nfs1",
            "/l",
            mounts::Access::Ro,
            true,
            false,
        );
        assert_eq!(needs(&lite, ServerKind::Linux), (Access::Ro, false, false));
    }
}
