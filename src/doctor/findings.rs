//! What doctor works with (its context and options, the error that stops it) and what it
//! finds: problems keyed by check, message and fix, with the nodes each concerns.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::config::Config;
use crate::nim::Nim;
use crate::sync::Sysroot;
use crate::xcat::{self, noderange::compact, Resolver};

/// Why doctor could not run at all (exit status 2).
#[derive(Debug, thiserror::Error)]
pub enum DoctorError {
    #[error(transparent)]
    Xcat(#[from] xcat::Error),
    #[error(transparent)]
    Remote(#[from] crate::remote::RemoteError),
    #[error("no nodes: none is served by this host ({0}); give --nodes NODERANGE")]
    NoNodes(String),
}

impl From<xcat::ResolveError> for DoctorError {
    fn from(e: xcat::ResolveError) -> DoctorError {
        DoctorError::Xcat(e.into())
    }
}

impl From<xcat::TableError> for DoctorError {
    fn from(e: xcat::TableError) -> DoctorError {
        DoctorError::Xcat(e.into())
    }
}

/// One problem: what is wrong (and why it matters), for which nodes, and the fix.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Problem {
    pub check: String,
    pub nodes: Vec<String>,
    pub message: String,
    /// The command that fixes it; `{nodes}` in a template stands for the nodes.
    pub fix: String,
}

/// Problems as they are found, merged by (check, message, fix).
#[derive(Default)]
pub struct Findings {
    by_key: BTreeMap<(String, String, String), BTreeSet<String>>,
}

impl Findings {
    /// Records that `nodes` have the problem; `fix` may hold `{nodes}`. A problem of a
    /// server rather than of nodes has no nodes.
    pub fn add<I, S>(&mut self, check: &str, message: String, fix: String, nodes: I)
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.by_key
            .entry((check.to_string(), message, fix))
            .or_default()
            .extend(nodes.into_iter().map(Into::into));
    }

    /// The problems, each fix with its nodes filled in.
    pub fn problems(self) -> Vec<Problem> {
        self.by_key
            .into_iter()
            .map(|((check, message, fix), nodes)| {
                let nodes: Vec<String> = nodes.into_iter().collect();
                Problem {
                    fix: fix.replace("{nodes}", &compact(&nodes)),
                    check,
                    nodes,
                    message,
                }
            })
            .collect()
    }
}

/// How to run.
pub struct Options {
    /// The nodes; `None`: those this host serves.
    pub nodes: Option<Vec<String>>,
    /// Comparisons and server reads at once; `None`: the largest `jobs` of the run's
    /// servers, as the sync engines take it, else 4.
    pub jobs: Option<usize>,
    /// This host's name as xCAT knows it.
    pub host: String,
}

/// Where doctor reads from.
pub struct Context<'a> {
    pub resolver: &'a Resolver<'a>,
    pub nim: &'a Nim,
    pub config: &'a Config,
    pub sysroot: &'a Sysroot,
}
