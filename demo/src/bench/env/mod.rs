//! The system under test: a cluster (started here, or given with
//! `--cluster`), HAProxy in front of it, an etcd cluster for the `etcd`
//! path, and CPU and memory accounting from `/proc`.
//!
//! Cluster processes are spawned and restarted from the thread that calls
//! [`Env::start`] (the main thread): the harness ties each child's life to
//! its spawning thread (`PR_SET_PDEATHSIG`).
//!
//! [`haproxy`] starts HAProxy in front of the cluster, [`cpu`] accounts CPU
//! and memory of every process.

mod cpu;
mod haproxy;
pub(super) mod tempfile_dir;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use kv_contract::ValueAnswer;
use kv_harness::{self as harness, build_node_binary, node_binary, Cluster, ClusterOptions};
use smart_client::SmartClient;

pub use cpu::{rss_mb, CpuProbe, CpuSample};

use super::etcd::{EtcdCluster, EtcdOptions};
use super::load::{self, Route};
use super::PathKind;
use haproxy::Haproxy;

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
        Self::start_with(urls, Vec::new())
    }

    /// [`Env::start`], with extra `[node]` lines for the nodes it starts.
    pub fn start_with(urls: &[String], node_extra: Vec<String>) -> Result<Self, String> {
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
                node_extra,
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
        let topo =
            harness::topology_at(seed).ok_or_else(|| format!("{seed}/topology did not answer"))?;
        let mut api = BTreeMap::new();
        let mut health_ports = BTreeMap::new();
        for m in &topo.members {
            let Some(url) = &m.api_url else {
                continue;
            };
            api.insert(m.id, url.trim_end_matches('/').to_owned());
            if let Some(port) = m
                .health_url
                .as_deref()
                .and_then(|u| u.rsplit(':').next())
                .and_then(|p| p.trim_end_matches('/').parse().ok())
            {
                health_ports.insert(m.id, port);
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

    /// The leader every node that answers agrees on ([`harness::agreed_leader`];
    /// a node that is down does not count), waiting up to 30 s.
    pub fn leader(&self) -> Result<u32, String> {
        kv_harness::wait_until(Duration::from_secs(30), || {
            let views: Vec<_> = self
                .api
                .values()
                .filter_map(|u| harness::topology_at(u))
                .collect();
            harness::agreed_leader(&views)
        })
        .ok_or_else(|| "no agreed leader within 30 s".to_string())
    }

    /// A fresh smart client's route; `session`: session consistency on
    /// (eventual reads carry `min_index`), else plain eventual reads.
    pub fn smart_route(&self, session: bool) -> Result<Route, String> {
        let seeds: Vec<String> = self.api.values().cloned().collect();
        let client = run_local(move || async move {
            SmartClient::builder()
                .seeds(seeds)
                .request_timeout(Duration::from_secs(5))
                .session_consistency(session)
                // One key per write (see README): retrying is safe.
                .retry_unknown_writes(true)
                .build()
                .await
        })
        .map_err(|e| format!("smart client: {e}"))?;
        Ok(Route::Smart(client))
    }

    /// The route of one path, for the current leader (the smart client
    /// without sessions: plain eventual reads, as the other paths do).
    pub fn route(&self, path: PathKind) -> Result<Route, String> {
        match path {
            PathKind::Smart => self.smart_route(false),
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

    /// `kv_fsync_total{file="raft_log"}` of every node that answers: how
    /// often each has fsynced its Raft log so far.
    pub fn fsync_counts(&self) -> BTreeMap<u32, f64> {
        self.api
            .iter()
            .filter_map(|(id, url)| {
                Some((
                    *id,
                    harness::metric(url, "kv_fsync_total", "file=\"raft_log\"")?,
                ))
            })
            .collect()
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
                    harness::get_json::<ValueAnswer>(&format!("{u}/kv/{last}?consistency=eventual"))
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
