//! The system under test: a cluster (started here, or given with
//! `--cluster`), HAProxy in front of it, an etcd cluster for the `etcd`
//! path, and CPU and memory accounting from `/proc`.
//!
//! Cluster processes are spawned and restarted from the thread that calls
//! [`Env::start`] (the main thread): the harness ties each child's life to
//! its spawning thread (`PR_SET_PDEATHSIG`).

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use kv_harness::{
    self as harness, build_node_binary, free_ports, node_binary, Cluster, ClusterOptions,
};
use smart_client::SmartClient;

use super::etcd::{EtcdCluster, EtcdOptions};
use super::load::{self, Route};
use super::PathKind;

/// HAProxy child process; killed when dropped.
struct Haproxy {
    child: Child,
    port: u16,
    _dir: tempfile_dir::Dir,
}

impl Drop for Haproxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A scratch directory removed on drop (the demo has no `tempfile`).
pub(super) mod tempfile_dir {
    use std::path::{Path, PathBuf};

    pub struct Dir(PathBuf);

    impl Dir {
        pub fn new(prefix: &str) -> std::io::Result<Self> {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.subsec_nanos());
            let p = std::env::temp_dir().join(format!("{prefix}-{}-{nanos}", std::process::id()));
            std::fs::create_dir_all(&p)?;
            Ok(Self(p))
        }

        pub fn path(&self) -> &Path {
            &self.0
        }
    }

    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

/// Cluster, proxy and the figures needed to route to them.
pub struct Env {
    /// `Some` when the bench started the cluster (it may then kill nodes).
    cluster: Option<Cluster>,
    /// API URL per node id.
    api: BTreeMap<u32, String>,
    /// Health port per node id (for HAProxy's checks).
    health_ports: BTreeMap<u32, u16>,
    haproxy: Option<Haproxy>,
    /// The etcd cluster of the `etcd` path, if started.
    etcd: Option<EtcdCluster>,
}

impl Env {
    /// Starts a 3-node cluster, or attaches to `urls`.
    pub fn start(urls: &[String]) -> Result<Self, String> {
        if urls.is_empty() {
            // Build kv-node when it is missing or older than its sources, so
            // the bench never measures a stale node binary.
            let binary = match node_binary() {
                Some(b) if !older_than_node_sources(&b) => b,
                _ => {
                    eprintln!("bench: building kv-node (cargo build --release -p kv-node) ...");
                    build_node_binary()?
                }
            };
            let cluster = Cluster::start(ClusterOptions {
                binary: Some(binary),
                log_filter: "warn".into(),
                ..ClusterOptions::default()
            });
            cluster.wait_for_leader(Duration::from_secs(30));
            let api = cluster
                .ids()
                .into_iter()
                .map(|id| (id, cluster.api_url(id)))
                .collect();
            let health_ports = cluster
                .ids()
                .into_iter()
                .map(|id| (id, cluster.node(id).health_port))
                .collect();
            return Ok(Self {
                cluster: Some(cluster),
                api,
                health_ports,
                haproxy: None,
                etcd: None,
            });
        }
        let seed = urls[0].trim_end_matches('/');
        let (_, topo) = Cluster::get_json(&format!("{seed}/topology"))
            .ok_or_else(|| format!("{seed}/topology did not answer"))?;
        let mut api = BTreeMap::new();
        let mut health_ports = BTreeMap::new();
        for m in topo["members"].as_array().into_iter().flatten() {
            let (Some(id), Some(url)) = (m["id"].as_u64(), m["api_url"].as_str()) else {
                continue;
            };
            let id = u32::try_from(id).map_err(|e| e.to_string())?;
            api.insert(id, url.trim_end_matches('/').to_owned());
            if let Some(port) = m["health_url"]
                .as_str()
                .and_then(|u| u.rsplit(':').next())
                .and_then(|p| p.trim_end_matches('/').parse().ok())
            {
                health_ports.insert(id, port);
            }
        }
        if api.is_empty() {
            return Err(format!("{seed}/topology lists no member with a URL"));
        }
        Ok(Self {
            cluster: None,
            api,
            health_ports,
            haproxy: None,
            etcd: None,
        })
    }

    /// Whether the bench started (and may kill) the cluster.
    pub fn owns_cluster(&self) -> bool {
        self.cluster.is_some()
    }

    /// One line for the log.
    pub fn describe(&self) -> String {
        let origin = if self.owns_cluster() {
            "started here"
        } else {
            "--cluster"
        };
        let proxy = self
            .haproxy
            .as_ref()
            .map_or(String::new(), |h| format!(", haproxy on :{}", h.port));
        let etcd = if self.etcd.is_some() { ", etcd x3" } else { "" };
        format!("{} nodes, {origin}{proxy}{etcd}", self.api.len())
    }

    /// The leader: a node whose own `/topology` names itself, in the highest
    /// term, named by at least one other node too (waits up to 30 s).
    pub fn leader(&self) -> Result<u32, String> {
        let urls: Vec<(u32, String)> = self.api.iter().map(|(i, u)| (*i, u.clone())).collect();
        kv_harness::wait_until(Duration::from_secs(30), || {
            let views: Vec<(u32, u64, Option<u32>)> = urls
                .iter()
                .filter_map(|(id, url)| {
                    let (_, t) = Cluster::get_json(&format!("{url}/topology"))?;
                    let leader = t["leader_id"].as_u64().and_then(|l| u32::try_from(l).ok());
                    Some((*id, t["term"].as_u64().unwrap_or(0), leader))
                })
                .collect();
            let (id, _, _) = views
                .iter()
                .filter(|(id, _, l)| *l == Some(*id))
                .max_by_key(|(_, term, _)| *term)?;
            let named = views.iter().filter(|(_, _, l)| *l == Some(*id)).count();
            (named >= 2.min(views.len())).then_some(*id)
        })
        .ok_or_else(|| "no leader within 30 s".to_string())
    }

    /// The route of one path, for the current leader.
    pub fn route(&self, path: PathKind) -> Result<Route, String> {
        match path {
            PathKind::Smart => {
                let seeds: Vec<String> = self.api.values().cloned().collect();
                let client = run_local(move || async move {
                    SmartClient::builder()
                        .seeds(seeds)
                        .request_timeout(Duration::from_secs(5))
                        // One key per write (see README): retrying is safe.
                        .retry_unknown_writes(true)
                        .build()
                        .await
                })
                .map_err(|e| format!("smart client: {e}"))?;
                Ok(Route::Smart(client))
            }
            PathKind::Haproxy => {
                let h = self.haproxy.as_ref().ok_or("haproxy is not running")?;
                Ok(Route::Http {
                    base: format!("http://127.0.0.1:{}", h.port),
                })
            }
            PathKind::Pinned => {
                let leader = self.leader()?;
                let live = self.cluster.as_ref().map(Cluster::live_ids);
                let follower = self
                    .api
                    .keys()
                    .copied()
                    .find(|id| *id != leader && live.as_ref().is_none_or(|l| l.contains(id)))
                    .ok_or("no follower to pin")?;
                Ok(Route::Http {
                    base: self.api[&follower].clone(),
                })
            }
            PathKind::Etcd => self.etcd.as_ref().ok_or("etcd is not running")?.route(),
        }
    }

    /// Starts the 3-member etcd cluster of the `etcd` path.
    pub fn start_etcd(&mut self, opts: EtcdOptions) -> Result<(), String> {
        self.etcd = Some(EtcdCluster::start(opts)?);
        Ok(())
    }

    /// Writes the read keys into etcd (through its leader) and waits until
    /// every member serves the last of them.
    pub fn preload_etcd(&self, n: usize) -> Result<(), String> {
        let Some(etcd) = &self.etcd else {
            return Ok(());
        };
        let route = etcd.route()?;
        let failed = run_local(move || load::preload(route, n));
        if failed > 0 {
            return Err(format!("etcd preload: {failed} of {n} writes failed"));
        }
        etcd.wait_replicated(&load::read_key(n - 1), Duration::from_secs(30))
    }

    /// API URL per node id.
    pub fn api_urls(&self) -> &BTreeMap<u32, String> {
        &self.api
    }

    /// PID per running node (own cluster only).
    pub fn node_pids(&self) -> BTreeMap<u32, u32> {
        self.cluster.as_ref().map_or_else(BTreeMap::new, |c| {
            c.ids()
                .into_iter()
                .filter_map(|id| Some((id, c.node(id).pid()?)))
                .collect()
        })
    }

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

    /// Starts HAProxy with `config/haproxy.cfg`, ports rewritten for this
    /// cluster, and waits until its writes land on the leader.
    pub fn start_haproxy(&mut self) -> Result<(), String> {
        let bin = harness::haproxy_binary().ok_or(
            "haproxy not found in /usr/sbin, /usr/bin, /usr/local/sbin \
             (install it with `apt-get install -y haproxy`)",
        )?;
        let port = free_ports(1)[0];
        let cfg = self.haproxy_config(port)?;
        let dir = tempfile_dir::Dir::new("kv-bench-haproxy").map_err(|e| e.to_string())?;
        let cfg_path = dir.path().join("haproxy.cfg");
        std::fs::write(&cfg_path, cfg).map_err(|e| e.to_string())?;
        let child = Command::new(&bin)
            .arg("-db")
            .arg("-f")
            .arg(&cfg_path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", bin.display()))?;
        self.haproxy = Some(Haproxy {
            child,
            port,
            _dir: dir,
        });
        self.settle_haproxy()
    }

    /// The project's haproxy.cfg with node N's ports replaced by the cluster's.
    fn haproxy_config(&self, frontend_port: u16) -> Result<String, String> {
        let mut nodes = Vec::new();
        for (id, url) in &self.api {
            let api_port = url
                .rsplit(':')
                .next()
                .and_then(|p| p.trim_end_matches('/').parse().ok())
                .ok_or_else(|| format!("no port in {url}"))?;
            let health = *self
                .health_ports
                .get(id)
                .ok_or_else(|| format!("no health port known for node {id}"))?;
            nodes.push((*id, api_port, health));
        }
        harness::haproxy_config(frontend_port, &nodes)
    }

    /// Waits until six writes in a row through HAProxy are answered by the
    /// leader itself (HAProxy starts with every server up and marks the
    /// followers down after its first failed `/primary` checks).
    fn settle_haproxy(&self) -> Result<(), String> {
        let Some(h) = &self.haproxy else {
            return Ok(());
        };
        let front = format!("http://127.0.0.1:{}", h.port);
        let until = Instant::now() + Duration::from_secs(20);
        let mut why = String::from("not tried");
        while Instant::now() < until {
            let leader = self.leader()?.to_string();
            let front = front.clone();
            let outcome = run_local(move || async move {
                let client = awc::Client::builder()
                    .timeout(Duration::from_secs(2))
                    .finish();
                for _ in 0..6 {
                    let mut r = client
                        .put(format!("{front}/kv/settle"))
                        .insert_header(("content-type", "application/json"))
                        .send_body(r#"{"value":"x"}"#)
                        .await
                        .map_err(|e| e.to_string())?;
                    let _ = r.body().await;
                    let node = r.headers().get("x-kv-node").map(|v| v.as_bytes().to_vec());
                    let forwarded = r.headers().contains_key("x-kv-forwarded-to");
                    if r.status() != 200 || node.as_deref() != Some(leader.as_bytes()) || forwarded
                    {
                        return Err(format!(
                            "HTTP {} from node {:?} (leader {leader}, forwarded {forwarded})",
                            r.status(),
                            node.as_deref().map(String::from_utf8_lossy)
                        ));
                    }
                }
                Ok(())
            });
            match outcome {
                Ok(()) => return Ok(()),
                Err(e) => why = e,
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        Err(format!(
            "writes through HAProxy never settled on the leader within 20 s (last: {why})"
        ))
    }

    /// Writes the read keys on the leader and waits until every node serves
    /// the last of them with `eventual` consistency.
    pub fn preload(&self, n: usize) -> Result<(), String> {
        let leader = self.leader()?;
        let route = Route::Http {
            base: self.api[&leader].clone(),
        };
        let failed = run_local(move || load::preload(route, n));
        if failed > 0 {
            return Err(format!("preload: {failed} of {n} writes failed"));
        }
        let last = load::read_key(n - 1);
        let urls: Vec<String> = self.api.values().cloned().collect();
        kv_harness::wait_until(Duration::from_secs(30), || {
            urls.iter()
                .all(|u| {
                    Cluster::get_json(&format!("{u}/kv/{last}?consistency=eventual"))
                        .is_some_and(|(s, _)| s == 200)
                })
                .then_some(())
        })
        .ok_or_else(|| "preloaded keys did not reach every node within 30 s".to_string())
    }

    /// SIGKILL node `id` (own cluster only).
    pub fn kill(&mut self, id: u32) {
        if let Some(c) = self.cluster.as_mut() {
            c.kill(id);
        }
    }
}

/// Whether `binary` is older than a file under `node/src` or `node/Cargo.toml`.
fn older_than_node_sources(binary: &Path) -> bool {
    fn newest(p: &Path) -> Option<std::time::SystemTime> {
        let meta = std::fs::metadata(p).ok()?;
        if !meta.is_dir() {
            return meta.modified().ok();
        }
        std::fs::read_dir(p)
            .ok()?
            .filter_map(|e| newest(&e.ok()?.path()))
            .max()
    }
    let node = Path::new(env!("CARGO_MANIFEST_DIR")).join("../node");
    let built = std::fs::metadata(binary).and_then(|m| m.modified()).ok();
    let sources = [node.join("src"), node.join("Cargo.toml")]
        .iter()
        .filter_map(|p| newest(p))
        .max();
    matches!((built, sources), (Some(b), Some(s)) if s > b)
}

/// Runs a `!Send` future to completion on a fresh actix system in a helper
/// thread (awc needs one) and returns its output.
pub fn run_local<F, Fut, T>(make: F) -> T
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: std::future::Future<Output = T> + 'static,
    T: Send + 'static,
{
    std::thread::spawn(move || actix_rt::System::new().block_on(make()))
        .join()
        .expect("bench helper thread panicked")
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
