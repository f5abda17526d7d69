//! The checks of `extnfs doctor`: the facts each needs, gathered from the stage that does the
//! real work (mounts model, sync engine, syncstatelite's plan), judged by [`super::judge`].

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::time::Duration;

use super::findings::{Context, DoctorError, Findings, Options};
use super::judge::{self, NodeScripts, PagingFile, ServerReads, SYNCAIXRES, SYNCSTATELITE};
use super::reads::Remotes;
use crate::config::ServerConfig;
use crate::mounts::{self, NodeMounts, Os};
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
    let jobs = crate::sync::servers::jobs(opts.jobs, &servers);
    let up = reachability(&servers, &on, jobs, &mut f);
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
        jobs,
        progress: None,
        dead: Default::default(),
    };
    let (aix, linux): (Vec<&NodeMounts>, Vec<&NodeMounts>) = on
        .values()
        .flatten()
        .copied()
        .partition(|n| n.os == Os::Aix);
    let reads = Remotes { servers: &servers };
    let configs: BTreeMap<String, ServerConfig> = servers
        .iter()
        .map(|(name, s)| (name.clone(), s.config.clone()))
        .collect();
    let server_of: BTreeMap<&str, &str> = on
        .iter()
        .flat_map(|(s, ns)| ns.iter().map(move |n| (n.node.as_str(), s.as_str())))
        .collect();
    aix_checks(ctx, &aix, &engine, &reads, &mut f)?;
    linux_checks(ctx, &linux, &server_of, &engine, &reads, &mut f);
    exports_checks(ctx, &on, &configs, &reads, jobs, &mut f);
    let all: Vec<&NodeMounts> = model.nodes.iter().collect();
    let r = ctx.resolver;
    let scripts_of = |node: &str| node_scripts(r, node);
    judge::setup(&all, &server_of, &configs, &scripts_of, &mut f);
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
    reads: &dyn ServerReads,
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
    judge::paging(&paging_files(&plan.steps, &targets, ctx.sysroot), reads, f);
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
        let nodes = judge::content_owners(step, &v.items, targets);
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

/// The paging files of the nodes, as this SN has them (the engine's allocation steps), by server.
fn paging_files(
    steps: &[Step],
    targets: &[Target],
    sysroot: &sync::Sysroot,
) -> BTreeMap<String, Vec<PagingFile>> {
    let mut wanted: BTreeMap<String, Vec<PagingFile>> = BTreeMap::new();
    // Each node's paging directory on its server, looked up per directory (not a search of
    // every target per directory: that is quadratic in nodes).
    let owner: BTreeMap<(&str, String), &str> = targets
        .iter()
        .filter_map(|t| {
            let p = t.paging.as_ref()?;
            Some((
                (t.server.as_str(), format!("{}/{}", p.location, t.nim)),
                t.node.as_str(),
            ))
        })
        .collect();
    for s in steps {
        let StepKind::Allocate { dirs } = &s.kind else {
            continue;
        };
        for dir in dirs {
            let node = owner
                .get(&(s.server.as_str(), dir.clone()))
                .copied()
                .unwrap_or("");
            let files = crate::sync::execute::local_files(&sysroot.local(dir));
            for (rel, meta) in files.unwrap_or_default() {
                wanted
                    .entry(s.server.clone())
                    .or_default()
                    .push(PagingFile {
                        path: format!("{dir}/{rel}"),
                        size: meta.len(),
                        node: node.to_string(),
                    });
            }
        }
    }
    wanted
}

fn linux_checks(
    ctx: &Context<'_>,
    nodes: &[&NodeMounts],
    server_of: &BTreeMap<&str, &str>,
    engine: &Executor<'_>,
    reads: &dyn ServerReads,
    f: &mut Findings,
) {
    let same: &dyn Fn(&str, &str) -> bool = &same;
    let mut targets = Vec::new();
    for n in nodes.iter().filter(|n| n.linux.is_some()) {
        let ext = server_of.get(n.node.as_str()).copied().unwrap_or("");
        judge::linux_redirection(n, ext, same, f);
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
    judge::statelite_findings(&plan.findings, nodes, f);
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
        // The doctor compares each copy itself, below.
        compare_all: false,
        records: None,
    };
    // Copies are compared; directories to create must exist; litefile entries are judged
    // per node here; the rest is read-only as is.
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
            statelite::plan::StepKind::Check { .. } => read_only.push(s.clone()),
            statelite::plan::StepKind::Litefile { checks } => {
                judge::litefile(&s.server, checks, nodes, reads, f)
            }
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
            f.add(
                "statelite",
                finding.clone(),
                SYNCSTATELITE.into(),
                s.nodes.clone(),
            );
        }
    }
    judge::boot_needs(&targets, reads, f);
}

/// Whether two names are one server.
fn same(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b) || crate::host::same_host(a, b)
}

/// One read of each server's applied exports (at once, `jobs` at a time); every mount of
/// every node judged against it.
fn exports_checks(
    ctx: &Context<'_>,
    on: &BTreeMap<String, Vec<&NodeMounts>>,
    configs: &BTreeMap<String, ServerConfig>,
    reads: &dyn ServerReads,
    jobs: usize,
    f: &mut Findings,
) {
    let names: Vec<&String> = configs.keys().collect();
    let read = pool::map(&names, jobs, |s| reads.applied(s));
    let applied: BTreeMap<String, _> = names.into_iter().cloned().zip(read).collect();
    let ip_of = |node: &str| {
        node_address(ctx.resolver, node)
            .and_then(|ip| ip.parse().ok())
            .or_else(|| crate::host::primary_address(node))
    };
    judge::exports(on, configs, &applied, &ip_of, &same, f);
}

/// A node's prescripts-end and postscripts (its own and xcatdefaults'), from the tables.
pub fn node_scripts(r: &crate::xcat::Resolver<'_>, node: &str) -> NodeScripts {
    let db = r.db();
    let has = |t: &str| db.optional_table(t).ok().flatten().is_some();
    let prescripts_end = match has("prescripts") {
        true => r
            .attr(node, "prescripts", "end")
            .ok()
            .flatten()
            .unwrap_or_default(),
        false => String::new(),
    };
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
    let mine = match has("postscripts") {
        true => r
            .attrs(node, "postscripts", &["postscripts", "postbootscripts"])
            .map(|v| v.into_iter().flatten().collect::<Vec<_>>().join(","))
            .unwrap_or_default(),
        false => String::new(),
    };
    NodeScripts {
        prescripts_end,
        postscripts: format!(
            "{mine},{},{}",
            defaults("postscripts"),
            defaults("postbootscripts")
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xcat::{Db, Resolver, Source};

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
    fn node_scripts_come_from_the_node_its_groups_and_xcatdefaults() {
        let db = Db::new(Source::Dir(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/cluster/db"),
        ));
        let r = Resolver::new(&db);
        let aix = node_scripts(&r, "cn001");
        assert_eq!(aix.prescripts_end, "diskless:syncaixres|remove:syncaixres");
        let post: Vec<&str> = aix.postscripts.split(',').collect();
        assert!(post.contains(&"redirectps"), "{post:?}");
        assert!(
            post.contains(&"syslog") && post.contains(&"otherpkgs"),
            "{post:?}"
        );
        let linux = node_scripts(&r, "ln001");
        assert_eq!(linux.prescripts_end, "syncstatelite");
        assert!(!linux.postscripts.split(',').any(|w| w == "redirectps"));
    }
}
