//! `Run`: a project binary run with arguments and environment, and fluent checks of its exit
//! status and output that print everything it said when a check fails.

use std::ffi::OsStr;
use std::path::Path;
use std::process::{Command, Output};

/// A finished run of one of the project's binaries.
pub struct Run {
    cmd: Command,
    out: Option<Output>,
}

impl Run {
    pub fn bin<I, S>(name: &str, args: I) -> Run
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let path = match name {
            "extnfs" => env!("CARGO_BIN_EXE_extnfs"),
            "syncaixres" => env!("CARGO_BIN_EXE_syncaixres"),
            "syncstatelite" => env!("CARGO_BIN_EXE_syncstatelite"),
            "redirectps" => env!("CARGO_BIN_EXE_redirectps"),
            other => panic!("no binary {other}"),
        };
        let mut cmd = Command::new(path);
        cmd.args(args);
        // Keep the caller's environment from leaking into what the binaries read.
        for var in [
            "NODES",
            "ACTION",
            "XCAT_EXTNFS_CONFIG",
            "RSYNC_RSH",
            "NFSSERVER",
            "LOGLABEL",
        ] {
            cmd.env_remove(var);
        }
        Run { cmd, out: None }
    }

    pub fn extnfs<I, S>(args: I) -> Run
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        Run::bin("extnfs", args)
    }

    pub fn env(mut self, key: &str, value: impl AsRef<OsStr>) -> Run {
        self.cmd.env(key, value);
        self
    }

    /// Puts a directory in front of PATH (for the xCAT/NIM/AIX stand-ins).
    pub fn path_first(mut self, dir: &Path) -> Run {
        let path = std::env::var("PATH").unwrap_or_default();
        self.cmd.env("PATH", format!("{}:{path}", dir.display()));
        self
    }

    fn output(&mut self) -> &Output {
        if self.out.is_none() {
            self.out = Some(self.cmd.output().expect("the binary runs"));
        }
        self.out.as_ref().unwrap()
    }

    fn describe(&mut self) -> String {
        let cmd = format!("{:?}", self.cmd);
        let out = self.output();
        format!(
            "command: {cmd}\nstatus: {:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            out.status.code(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    }

    pub fn code(mut self, expected: i32) -> Run {
        let got = self.output().status.code();
        assert_eq!(got, Some(expected), "{}", self.describe());
        self
    }

    pub fn success(self) -> Run {
        self.code(0)
    }

    pub fn stdout_text(&mut self) -> String {
        String::from_utf8_lossy(&self.output().stdout).into_owned()
    }

    pub fn stderr_text(&mut self) -> String {
        String::from_utf8_lossy(&self.output().stderr).into_owned()
    }

    pub fn stdout(mut self, expected: &str) -> Run {
        let got = self.stdout_text();
        assert_eq!(got, expected, "{}", self.describe());
        self
    }

    pub fn stdout_has(mut self, needle: &str) -> Run {
        let got = self.stdout_text();
        assert!(
            got.contains(needle),
            "stdout lacks {needle:?}\n{}",
            self.describe()
        );
        self
    }

    pub fn stderr_has(mut self, needle: &str) -> Run {
        let got = self.stderr_text();
        assert!(
            got.contains(needle),
            "stderr lacks {needle:?}\n{}",
            self.describe()
        );
        self
    }
}
