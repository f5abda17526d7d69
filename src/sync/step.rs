//! The engine's data: a plan's steps (rsync runs, server-side scripts, refusals) per server,
//! each carrying what later stages need, and how each ended. Pure data, serialisable.

use serde::Serialize;

use crate::exports::{Published, Role};
use crate::rsync::{Job, Stats};

/// A node left alone, and why.
#[derive(Clone, Debug, Serialize)]
pub struct Skipped {
    pub node: String,
    pub reason: String,
}

/// A node that cannot be handled, and why.
#[derive(Clone, Debug, Serialize)]
pub struct NodeFailure {
    pub node: String,
    pub message: String,
}

/// One thing to do on a server.
#[derive(Clone, Debug, Serialize)]
pub struct Step {
    pub server: String,
    pub role: Role,
    /// The resource, or `-` for removals.
    pub resource: String,
    /// The resource's directory (same path on SN and server).
    pub location: String,
    /// Short name for output: `spot 71Bcosi`.
    pub label: String,
    pub nodes: Vec<String>,
    pub kind: StepKind,
    /// The paths this step puts on the server and the nodes that mount them: once it
    /// succeeded, they are published in the server's exports.
    #[serde(skip)]
    pub covers: Vec<Published>,
    /// Paths of this host the copy is for (a client's directory, a shared_root client's
    /// `.client_data` hosts file): one that vanished while the step ran (NIM removing the
    /// client) fails the step for its nodes, the server's copy being kept.
    #[serde(skip)]
    pub needs: Vec<Need>,
}

/// A path of this host a copy is for, and the nodes it is for.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Need {
    pub path: String,
    pub nodes: Vec<String>,
}

#[cfg(test)]
impl Step {
    /// A SPOT copy of `/src` to `/install/nim/spot/<name>` on nfs1 through `remote`: the
    /// engine's unit tests' step.
    pub(crate) fn spot_on_nfs1(remote: &crate::remote::Remote, name: &str) -> Step {
        let location = format!("/install/nim/spot/{name}");
        Step {
            server: "nfs1".into(),
            role: Role::Spot,
            resource: name.into(),
            location: location.clone(),
            label: format!("spot {name}"),
            nodes: vec!["cn1".into()],
            kind: StepKind::Rsync(Job {
                delete: true,
                rsh: remote.rsync_rsh(),
                ..Job::new("/src", remote.rsync_target(&location))
            }),
            covers: Vec::new(),
            needs: Vec::new(),
        }
    }
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StepKind {
    /// An rsync run.
    Rsync(Job),
    /// Paging files created on the server as sparse files of the SN's sizes (no data copied).
    Allocate { dirs: Vec<String> },
    /// Per-node data deleted from the server.
    Remove { entries: Vec<RemoveEntry> },
    /// A resource that must not be synced, and why (the server's copy is kept).
    Refused { reason: String },
}

/// What kind of step a result comes from, without the step's data.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    #[default]
    Rsync,
    Allocate,
    Remove,
    Refused,
}

impl StepKind {
    pub fn kind(&self) -> Kind {
        match self {
            StepKind::Rsync(_) => Kind::Rsync,
            StepKind::Allocate { .. } => Kind::Allocate,
            StepKind::Remove { .. } => Kind::Remove,
            StepKind::Refused { .. } => Kind::Refused,
        }
    }
}

/// Something removal deletes on the server.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RemoveEntry {
    /// A node's own directory.
    Dir(String),
    /// The files `<dir>/*.<suffix>` (a node's `.client_data` files).
    Files { dir: String, suffix: String },
}

/// Everything to do, and the nodes that cannot be done.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Plan {
    pub steps: Vec<Step>,
    pub failed: Vec<NodeFailure>,
}

/// The receiver's scratch directory for rsync: outside every synced tree, so that a
/// `--delete` run from another SN never removes this run's temporary files.
pub fn temp_dir(installdir: &str) -> String {
    format!("{}/.xcat-extnfs.tmp", installdir.trim_end_matches('/'))
}

/// How one step ended.
#[derive(Clone, Debug, Default, Serialize)]
pub struct StepResult {
    pub server: String,
    pub label: String,
    pub kind: Kind,
    /// The step's nodes; when the copy failed only because sources of some of them vanished,
    /// just those nodes ([`StepResult::vanished_only`]).
    pub nodes: Vec<String>,
    pub ok: bool,
    /// The copy itself succeeded and failed only for the nodes whose sources vanished from
    /// this host while it ran: the step's other nodes were copied.
    #[serde(skip)]
    pub vanished_only: bool,
    pub stats: Stats,
    /// Items rsync changed (or files created/removed).
    pub changes: usize,
    /// A problem that did not fail the step (vanished files, a paging file left as it was).
    pub warning: Option<String>,
    pub error: Option<String>,
    pub seconds: f64,
    /// With a comparison (`rsync -n`), the names of the items that differ, relative to the
    /// step's directory (for telling which node a difference concerns).
    #[serde(skip)]
    pub items: Vec<String>,
}

impl StepResult {
    /// A result for `step` with nothing done yet.
    pub fn of(step: &Step) -> StepResult {
        StepResult {
            server: step.server.clone(),
            label: step.label.clone(),
            kind: step.kind.kind(),
            nodes: step.nodes.clone(),
            ..StepResult::default()
        }
    }
}

/// A step and how it ended.
#[derive(Clone, Debug)]
pub struct Done<'p> {
    pub step: &'p Step,
    pub result: StepResult,
}

/// What the dry-run comparison found for one step.
#[derive(Clone, Debug, Serialize)]
pub struct Verification {
    pub server: String,
    pub label: String,
    /// Differences left; `None` when the comparison itself failed.
    pub differences: Option<usize>,
    pub error: Option<String>,
    /// The items that differ, relative to the step's directory (empty when not compared).
    #[serde(skip)]
    pub items: Vec<String>,
}
