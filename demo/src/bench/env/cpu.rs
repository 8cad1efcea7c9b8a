//! CPU and memory accounting of the processes a cell involves, from `/proc`.

use std::time::Duration;

use super::{Env, EtcdCluster};
use crate::bench::PathKind;

impl Env {
    /// CPU seconds per second the nodes, and the etcd members, burn with no
    /// client traffic (over `window`).
    pub fn idle_node_cpu(&self, window: Duration) -> (Option<f64>, Option<f64>) {
        let probe = self.cpu_probe();
        let etcd = self.etcd.as_ref().map(EtcdCluster::cpu_probe);
        let before = (probe.sample(), etcd.as_ref().map(CpuProbe::sample));
        std::thread::sleep(window);
        let per_s = |c: f64| c / window.as_secs_f64();
        let nodes = probe.sample().since(&before.0).nodes.map(per_s);
        let etcd = etcd
            .zip(before.1)
            .and_then(|(p, b)| p.sample().since(&b).nodes.map(per_s));
        (nodes, etcd)
    }

    /// CPU accounting of a cell on `path`: on `etcd` the etcd members count
    /// as the nodes (and there is no proxy).
    pub fn cpu_probe_for(&self, path: PathKind) -> CpuProbe {
        match (path, &self.etcd) {
            (PathKind::Etcd, Some(e)) => e.cpu_probe(),
            _ => self.cpu_probe(),
        }
    }

    /// CPU accounting of the node and proxy processes (and this one).
    pub fn cpu_probe(&self) -> CpuProbe {
        CpuProbe {
            nodes: self.cluster.as_ref().map(|c| {
                c.ids()
                    .into_iter()
                    .filter_map(|id| c.node(id).pid())
                    .collect()
            }),
            proxy: self.haproxy.as_ref().map(|h| h.child.id()),
        }
    }
}

/// PIDs whose CPU time a cell accounts for.
#[derive(Clone, Debug)]
pub struct CpuProbe {
    /// Node processes (`None` for an external cluster).
    nodes: Option<Vec<u32>>,
    /// HAProxy.
    proxy: Option<u32>,
}

/// Cumulative CPU seconds (user + system) at one instant.
#[derive(Clone, Copy, Debug, Default)]
pub struct CpuSample {
    /// Sum over the node processes.
    pub nodes: Option<f64>,
    /// HAProxy.
    pub proxy: Option<f64>,
    /// This process: the load generator and, on the `smart` path, the
    /// smart client's I/O thread.
    pub client: f64,
}

impl CpuProbe {
    /// Probe of `nodes` (`None`: not known) and `proxy`.
    pub fn new(nodes: Option<Vec<u32>>, proxy: Option<u32>) -> Self {
        Self { nodes, proxy }
    }

    /// Reads every process's CPU time now.
    pub fn sample(&self) -> CpuSample {
        CpuSample {
            nodes: self
                .nodes
                .as_ref()
                .map(|pids| pids.iter().filter_map(|p| proc_cpu(&p.to_string())).sum()),
            proxy: self.proxy.and_then(|p| proc_cpu(&p.to_string())),
            client: proc_cpu("self").unwrap_or(0.0),
        }
    }
}

impl CpuSample {
    /// CPU seconds spent between `earlier` and `self`.
    pub fn since(&self, earlier: &CpuSample) -> CpuSample {
        let d = |a: Option<f64>, b: Option<f64>| Some(a? - b?);
        CpuSample {
            nodes: d(self.nodes, earlier.nodes),
            proxy: d(self.proxy, earlier.proxy),
            client: self.client - earlier.client,
        }
    }
}

/// utime + stime of `/proc/<pid>/stat`, in seconds.
fn proc_cpu(pid: &str) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may contain spaces: count after its ')'.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // Fields 14 and 15 of the file; `rest` starts at field 3.
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    (hz > 0).then(|| ticks as f64 / hz as f64)
}

/// Resident set size of process `pid` in MB (`VmRSS` of `/proc/<pid>/status`).
pub fn rss_mb(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kb: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()?;
    Some(kb / 1024.0)
}
