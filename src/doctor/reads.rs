//! What doctor reads from the external servers, one remote command per server and kind of
//! fact: the real [`ServerReads`], over each server's remote access.

use std::collections::BTreeMap;

use super::judge::ServerReads;
use crate::exports::{self, Applied};
use crate::scripts;
use crate::sync::servers::Servers;

/// Reads the servers of a run through their remote access (ssh, or a local directory).
pub struct Remotes<'a> {
    pub servers: &'a Servers,
}

impl Remotes<'_> {
    fn server(&self, name: &str) -> Result<&crate::sync::servers::Server, String> {
        self.servers
            .get(name)
            .ok_or_else(|| format!("no server {name} in this run"))
    }
}

impl ServerReads for Remotes<'_> {
    fn applied(&self, server: &str) -> Result<Applied, String> {
        let s = self.server(server)?;
        exports::read_applied(&s.remote, &s.config.exports)
    }

    fn sizes(&self, server: &str, paths: &[String]) -> Result<BTreeMap<String, String>, String> {
        let s = self.server(server)?;
        let remote: Vec<String> = paths.iter().map(|p| s.remote.path(p)).collect();
        let input: String = remote.iter().map(|p| format!("{p}\n")).collect();
        let out = s
            .remote
            .script(scripts::SIZES, &[] as &[&str])
            .stdin_bytes(input)
            .run_checked()
            .map_err(|e| e.to_string())?;
        let by_remote: BTreeMap<&str, &str> = out
            .stdout
            .lines()
            .filter_map(|l| l.split_once(' ').map(|(size, path)| (path, size)))
            .collect();
        Ok(paths
            .iter()
            .zip(&remote)
            .filter_map(|(p, r)| {
                by_remote
                    .get(r.as_str())
                    .map(|v| (p.clone(), v.to_string()))
            })
            .collect())
    }
}
