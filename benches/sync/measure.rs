//! What one timed run costs: wall time, ssh connections (counted by a wrapper in front of ssh)
//! and bytes on the server's network interface; medians over runs; disk usage with `du`.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use crate::support::CommandExt;

/// One timed run.
#[derive(Clone, Copy, Debug, Default)]
pub struct Sample {
    pub seconds: f64,
    pub ssh: u64,
    /// Bytes the server received (its interface's rx counter: payload plus TCP/IP and ssh).
    pub bytes_in: u64,
    /// Bytes the server sent back.
    pub bytes_out: u64,
}

impl Sample {
    /// This sample plus `other` scaled by `factor` (an extrapolated part of a run).
    pub fn plus_scaled(self, other: Sample, factor: f64) -> Sample {
        let scale = |n: u64| (n as f64 * factor).round() as u64;
        Sample {
            seconds: self.seconds + other.seconds * factor,
            ssh: self.ssh + scale(other.ssh),
            bytes_in: self.bytes_in + scale(other.bytes_in),
            bytes_out: self.bytes_out + scale(other.bytes_out),
        }
    }
}

/// The counters a run is measured by.
pub struct Meter {
    /// Gets one line per ssh started (see [`Meter::write_ssh_wrapper`]).
    ssh_log: PathBuf,
    /// The server's network namespace; its `eth0` carries all traffic to it.
    netns: String,
}

impl Meter {
    pub fn new(ssh_log: PathBuf, netns: &str) -> Meter {
        fs::write(&ssh_log, "").expect("create the ssh log");
        Meter {
            ssh_log,
            netns: netns.to_string(),
        }
    }

    /// Writes `path`, an ssh that logs each start to the meter's log and runs the real ssh.
    pub fn write_ssh_wrapper(&self, path: &Path) {
        let real = which::which("ssh").expect("ssh is a lab prerequisite");
        let script = format!(
            "#!/bin/sh\n# The benchmark's ssh: counts connections, then runs the real one.\n\
             echo \"$$\" >>'{}'\nexec '{}' \"$@\"\n",
            self.ssh_log.display(),
            real.display()
        );
        fs::write(path, script).expect("write the ssh wrapper");
        make_executable(path);
    }

    /// Runs `work` with the disks flushed first, and measures it.
    pub fn measure(&self, work: impl FnOnce()) -> Sample {
        flush_disks();
        let (ssh0, in0, out0) = self.counters();
        let start = Instant::now();
        work();
        let seconds = start.elapsed().as_secs_f64();
        let (ssh1, in1, out1) = self.counters();
        Sample {
            seconds,
            ssh: ssh1 - ssh0,
            bytes_in: in1 - in0,
            bytes_out: out1 - out0,
        }
    }

    fn counters(&self) -> (u64, u64, u64) {
        let ssh = fs::read_to_string(&self.ssh_log)
            .expect("read the ssh log")
            .lines()
            .count() as u64;
        let out = Command::new("ip")
            .args(["-n", &self.netns, "-j", "-s", "link", "show", "eth0"])
            .run_bounded();
        out.assert_success();
        let json: serde_json::Value = serde_json::from_str(&out.stdout).expect("ip -j prints JSON");
        let stat = |dir: &str| {
            json[0]["stats64"][dir]["bytes"]
                .as_u64()
                .expect("interface byte counters")
        };
        (ssh, stat("rx"), stat("tx"))
    }
}

/// Writes dirty pages out, so that one run's writes are not paid for by the next.
pub fn flush_disks() {
    // SAFETY: sync(2) takes no arguments and cannot fail.
    unsafe { libc::sync() };
}

pub fn make_executable(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(0o755)).expect("chmod +x");
}

/// The median of each field over `samples` (an odd count gives a real run's value per field).
pub fn median(samples: &[Sample]) -> Sample {
    let pick = |f: fn(&Sample) -> f64| median_of(samples.iter().map(f).collect());
    Sample {
        seconds: pick(|s| s.seconds),
        ssh: pick(|s| s.ssh as f64) as u64,
        bytes_in: pick(|s| s.bytes_in as f64) as u64,
        bytes_out: pick(|s| s.bytes_out as f64) as u64,
    }
}

/// The shortest and longest wall time of `samples`, as a table shows them (`1.20–1.45 s`).
pub fn span(samples: &[Sample]) -> String {
    let (lo, hi) = (samples.iter()).fold((f64::MAX, 0f64), |(lo, hi), s| {
        (lo.min(s.seconds), hi.max(s.seconds))
    });
    format!("{lo:.2}–{hi:.2} s")
}

/// The median of `values` (the upper one of an even count).
pub fn median_of(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// Bytes allocated on disk for `paths` (files and directories), as `du` counts them;
/// `apparent` counts file sizes instead.
pub fn disk_usage(paths: &[PathBuf], apparent: bool) -> u64 {
    let mut du = Command::new("du");
    du.args(["-s", "-c", "--block-size=1"]);
    if apparent {
        du.arg("--apparent-size");
    }
    let out = du.args(paths).run_bounded();
    out.assert_success();
    out.stdout
        .lines()
        .last()
        .and_then(|total| total.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .expect("du prints a total")
}

/// `1.2 GiB`-style sizes, as syncaixres prints them.
pub use xcat_extnfs::sync::report::bytes;
