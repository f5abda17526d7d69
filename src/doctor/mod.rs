//! `extnfs doctor`: will these nodes boot from their external NFS server, and survive their
//! SN? Every check of every node and mount, grouped into problems with the command that fixes each.
//!
//! A run gathers the nodes' mounts ([`crate::mounts`]) and servers (the engine's
//! `ServerBook`), then checks per server, never per node: one reachability probe, one read of
//! the exports it applies ([`crate::exports::read_applied`]), one `rsync -n` comparison per
//! synced scope (the engine's verification), one size listing of paging files, statelite
//! boot needs and litetree candidates. `checks` gathers the facts, `reads` asks the servers
//! (behind `judge::ServerReads`), `judge` decides, with no I/O. Findings are [`Problem`]s keyed
//! by check, message and fix, so ten thousand nodes with one problem are one problem.

pub mod checks;
pub mod findings;
pub mod judge;
pub mod reads;

pub use findings::{Context, DoctorError, Findings, Options, Problem};

use serde::Serialize;

use crate::sync::report::Format;
use crate::xcat::{noderange::compact, Resolver};

/// What doctor found.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    pub nodes_checked: usize,
    pub problems: Vec<Problem>,
}

impl Report {
    pub fn exit_code(&self) -> i32 {
        match self.problems.is_empty() {
            true => crate::exit::SUCCESS,
            false => crate::exit::FAILURE,
        }
    }

    /// The report in `format`: human text grouped by problem, or the JSON document.
    pub fn render(&self, format: Format) -> String {
        match format {
            Format::Json => serde_json::to_string_pretty(self).unwrap_or_default() + "\n",
            Format::Human => self.human(),
        }
    }

    fn human(&self) -> String {
        let mut out = String::new();
        for p in &self.problems {
            let who = match p.nodes.len() {
                0 => "server".to_string(),
                n => format!("{n} node(s): {}", compact(&p.nodes)),
            };
            out.push_str(&format!("{}: {who}\n    {}\n", p.check, p.message));
            out.push_str(&format!("    fix: {}\n", p.fix));
        }
        out.push_str(&match self.problems.len() {
            0 => format!(
                "doctor: {} node(s) checked, no problem\n",
                self.nodes_checked
            ),
            n => format!(
                "doctor: {} node(s) checked, {n} problem(s)\n",
                self.nodes_checked
            ),
        });
        out
    }
}

/// The nodes this host serves: `noderes.servicenode` (first) or `noderes.xcatmaster` names
/// it; on the management node (`site.master`) also the nodes with neither.
pub fn served_nodes(resolver: &Resolver<'_>, host: &str) -> Result<Vec<String>, DoctorError> {
    let list = resolver.nodelist()?;
    let db = resolver.db();
    let master = db.site("master")?;
    // By name only: several SNs may share an address (one host, or a test lab).
    let is_me = |name: &str| {
        crate::sync::context::short_name(name)
            .eq_ignore_ascii_case(crate::sync::context::short_name(host))
    };
    let on_mn = master.as_deref().is_some_and(is_me);
    let has_noderes = db.optional_table("noderes")?.is_some();
    let mut out = Vec::new();
    for node in list.nodes.iter().cloned() {
        let v = match has_noderes {
            true => resolver.attrs(&node, "noderes", &["servicenode", "xcatmaster"])?,
            false => vec![None, None],
        };
        let sn = v[0]
            .as_deref()
            .and_then(|s| s.split(',').next())
            .map(str::to_string);
        let serving = sn.or_else(|| v[1].clone());
        let mine = match serving {
            Some(s) => is_me(&s),
            None => on_mn,
        };
        if mine {
            out.push(node);
        }
    }
    if out.is_empty() {
        return Err(DoctorError::NoNodes(host.to_string()));
    }
    Ok(out)
}

/// Runs every check.
pub fn run(ctx: &Context<'_>, opts: &Options) -> Result<Report, DoctorError> {
    let nodes = match &opts.nodes {
        Some(n) => n.clone(),
        None => served_nodes(ctx.resolver, &opts.host)?,
    };
    let findings = checks::run(ctx, &nodes, opts)?;
    Ok(Report {
        nodes_checked: nodes.len(),
        problems: findings.problems(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn findings_group_by_problem_and_fill_in_the_nodes() {
        let mut f = Findings::default();
        for i in (1..=250).rev() {
            f.add(
                "content",
                "root differs".into(),
                "syncaixres --nodes {nodes}".into(),
                [format!("cn{i:03}")],
            );
        }
        f.add(
            "nfs",
            "no answer".into(),
            "start it".into(),
            [] as [String; 0],
        );
        let report = Report {
            nodes_checked: 250,
            problems: f.problems(),
        };
        assert_eq!(report.problems.len(), 2);
        assert_eq!(report.problems[0].fix, "syncaixres --nodes cn001-cn250");
        assert_eq!(report.problems[0].nodes.len(), 250);
        let text = report.render(Format::Human);
        assert!(
            text.contains("content: 250 node(s): cn001-cn250\n"),
            "{text}"
        );
        assert!(text.contains("nfs: server\n"), "{text}");
        assert!(
            text.ends_with("250 node(s) checked, 2 problem(s)\n"),
            "{text}"
        );
        assert_eq!(report.exit_code(), 1);
        let json: serde_json::Value = serde_json::from_str(&report.render(Format::Json)).unwrap();
        assert_eq!(json["nodes_checked"], 250);
        assert_eq!(json["problems"][0]["check"], "content");
        assert_eq!(json["problems"][0]["nodes"][0], "cn001");
        let clean = Report {
            nodes_checked: 3,
            problems: Vec::new(),
        };
        assert_eq!(clean.exit_code(), 0);
        assert_eq!(
            clean.render(Format::Human),
            "doctor: 3 node(s) checked, no problem\n"
        );
    }
}
