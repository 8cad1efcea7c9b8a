//! A cluster of `kv-node` processes: configs, start, kill, pause, stop, restart,
//! learners, power cuts (data dirs on [`PowerCutFs`]), and waiting for an
//! agreed leader.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use kv_contract::{Role, Topology};

use crate::agreement;
use crate::binary::node_binary_or_build;
use crate::http::topology_at;
use crate::powercut::PowerCutFs;
use crate::process::{die_with_parent, free_ports, signal, wait_until};
use crate::proxy::RaftNet;

/// Knobs for a harness cluster.
#[derive(Clone, Debug)]
pub struct ClusterOptions {
    /// Voters started by [`Cluster::start`].
    pub voters: u32,
    /// Raft election timeout range in ms (kept well above the heartbeat).
    pub election_timeout_ms: (u64, u64),
    /// Lease for lease reads (must be below the election minimum).
    pub lease_ms: u64,
    /// Extra `[node]` settings, as TOML lines (e.g. `max_value_bytes = 1024`).
    pub node_extra: Vec<String>,
    /// Labels per node id (default: `zone = "z{id}"`).
    pub labels: BTreeMap<u32, BTreeMap<String, String>>,
    /// `[node] weight` per node id (default: the node's default, 1).
    pub weights: BTreeMap<u32, u32>,
    /// Value of `RUST_LOG` for the nodes.
    pub log_filter: String,
    /// Explicit node binary; default: see [`node_binary_or_build`].
    pub binary: Option<PathBuf>,
    /// Ids of learners that will join later; each learner's config lists all of
    /// them (d-engine 0.2.4 needs a learner to know the others' metadata).
    pub learners: Vec<u32>,
    /// TOML appended to every node's config after the generated sections, e.g.
    /// `[raft.snapshot]` keys (see config/n1.toml for what each section holds).
    pub config_extra: Vec<String>,
    /// Route every Raft link between voters through a [`RaftNet`] proxy, so
    /// tests can partition and delay the network ([`Cluster::net`]).
    pub raft_proxies: bool,
    /// Put each node's data directory on its own [`PowerCutFs`] (backing dir
    /// `n{id}.disk` in the cluster's temp dir), for [`Cluster::power_cut`] and
    /// disk faults ([`Cluster::disk`]). Gate such tests on
    /// [`crate::powercut::require`].
    pub power_cut_fs: bool,
}

impl Default for ClusterOptions {
    fn default() -> Self {
        Self {
            voters: 3,
            election_timeout_ms: (300, 600),
            lease_ms: 200,
            node_extra: Vec::new(),
            labels: BTreeMap::new(),
            weights: BTreeMap::new(),
            log_filter: "warn,kv_node=info".into(),
            binary: None,
            learners: Vec::new(),
            config_extra: Vec::new(),
            raft_proxies: false,
            power_cut_fs: false,
        }
    }
}

/// One node process and its fixed ports, config and data.
#[derive(Debug)]
pub struct NodeProc {
    /// Raft id.
    pub id: u32,
    /// HTTP API port.
    pub api_port: u16,
    /// Health-check port.
    pub health_port: u16,
    /// Raft port.
    pub raft_port: u16,
    /// Config file path.
    pub config: PathBuf,
    /// Data directory.
    pub data_dir: PathBuf,
    /// Log file (stdout and stderr, appended across restarts).
    pub log: PathBuf,
    child: Option<Child>,
    paused: bool,
}

impl NodeProc {
    /// Base URL of the API.
    pub fn api_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.api_port)
    }

    /// Base URL of the health listener.
    pub fn health_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.health_port)
    }

    /// OS process id while running.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(|c| c.id())
    }

    /// Whether a process is running (not killed or stopped; may be paused).
    pub fn is_running(&self) -> bool {
        self.child.is_some()
    }
}

/// A running cluster; dropping it kills every node.
pub struct Cluster {
    dir: tempfile::TempDir,
    opts: ClusterOptions,
    binary: PathBuf,
    nodes: BTreeMap<u32, NodeProc>,
    raft_ports: BTreeMap<u32, u16>,
    net: Option<RaftNet>,
    disks: BTreeMap<u32, PowerCutFs>,
}

impl Cluster {
    /// Start `opts.voters` voters on free ports; returns without waiting for a leader.
    pub fn start(opts: ClusterOptions) -> Self {
        let binary = opts.binary.clone().unwrap_or_else(|| {
            node_binary_or_build()
                .unwrap_or_else(|e| panic!("kv-node binary: {e} (or set KV_NODE_BIN)"))
        });
        let dir = tempfile::Builder::new()
            .prefix("kv-cluster-")
            .tempdir()
            .expect("temp dir");
        let mut cluster = Self {
            dir,
            opts,
            binary,
            nodes: BTreeMap::new(),
            raft_ports: BTreeMap::new(),
            net: None,
            disks: BTreeMap::new(),
        };
        for id in 1..=cluster.opts.voters {
            let p = free_ports(1)[0];
            cluster.raft_ports.insert(id, p);
        }
        if cluster.opts.raft_proxies {
            let net = RaftNet::start(&cluster.raft_ports).expect("start Raft link proxies");
            cluster.net = Some(net);
        }
        for id in 1..=cluster.opts.voters {
            cluster.add_node(id, false);
        }
        for id in 1..=cluster.opts.voters {
            cluster.spawn(id);
        }
        cluster
    }

    /// Start 3 voters with default options and wait for a leader.
    pub fn three() -> Self {
        let c = Self::start(ClusterOptions::default());
        c.wait_for_leader(Duration::from_secs(30));
        c
    }

    /// The Raft link proxies, when started with [`ClusterOptions::raft_proxies`].
    pub fn net(&self) -> Option<&RaftNet> {
        self.net.as_ref()
    }

    /// The temp dir holding configs, data and logs.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    fn add_node(&mut self, id: u32, learner: bool) {
        let ports = free_ports(2);
        let raft_port = *self
            .raft_ports
            .entry(id)
            .or_insert_with(|| free_ports(1)[0]);
        let data_dir = self.dir.path().join(format!("n{id}"));
        let config = self.dir.path().join(format!("n{id}.toml"));
        let log = self.dir.path().join(format!("n{id}.log"));
        if self.opts.power_cut_fs {
            let backing = self.dir.path().join(format!("n{id}.disk"));
            let disk = PowerCutFs::mount(&backing, &data_dir).unwrap_or_else(|e| {
                panic!(
                    "mount a power-cut filesystem at {}: {e}",
                    data_dir.display()
                )
            });
            self.disks.insert(id, disk);
        }
        let mut toml = String::new();
        let _ = writeln!(toml, "[node]");
        let _ = writeln!(toml, "api_addr = \"127.0.0.1:{}\"", ports[0]);
        let _ = writeln!(toml, "health_addr = \"127.0.0.1:{}\"", ports[1]);
        let labels = self
            .opts
            .labels
            .get(&id)
            .cloned()
            .unwrap_or_else(|| BTreeMap::from([("zone".to_string(), format!("z{id}"))]));
        let labels: Vec<String> = labels.iter().map(|(k, v)| format!("{k} = {v:?}")).collect();
        let _ = writeln!(toml, "labels = {{ {} }}", labels.join(", "));
        if let Some(weight) = self.opts.weights.get(&id) {
            let _ = writeln!(toml, "weight = {weight}");
        }
        for line in &self.opts.node_extra {
            let _ = writeln!(toml, "{line}");
        }
        let _ = writeln!(toml, "\n[cluster]\nnode_id = {id}");
        let _ = writeln!(toml, "listen_address = \"127.0.0.1:{raft_port}\"");
        let _ = writeln!(toml, "db_root_dir = {:?}", data_dir.to_string_lossy());
        let _ = writeln!(toml, "initial_cluster = [");
        for voter in 1..=self.opts.voters {
            // A peer behind a proxy is dialed at the proxy of link id→voter.
            let port = match self.net.as_ref().and_then(|n| n.proxy_port(id, voter)) {
                Some(proxy) => proxy,
                None => self.raft_ports[&voter],
            };
            let _ = writeln!(
                toml,
                "  {{ id = {voter}, address = \"127.0.0.1:{port}\", role = 1, status = 3 }},"
            );
        }
        if learner {
            let mut learners = self.opts.learners.clone();
            if !learners.contains(&id) {
                learners.push(id);
            }
            for l in learners {
                let port = *self.raft_ports.entry(l).or_insert_with(|| free_ports(1)[0]);
                let _ = writeln!(
                    toml,
                    "  {{ id = {l}, address = \"127.0.0.1:{port}\", role = 4, status = 1 }},"
                );
            }
        }
        let _ = writeln!(toml, "]");
        let _ = writeln!(toml, "\n[raft]\ngeneral_raft_timeout_duration_in_ms = 3000");
        let (lo, hi) = self.opts.election_timeout_ms;
        let _ = writeln!(
            toml,
            "\n[raft.election]\nelection_timeout_min = {lo}\nelection_timeout_max = {hi}"
        );
        let _ = writeln!(
            toml,
            "\n[raft.read_consistency]\ndefault_policy = \"LeaseRead\"\nlease_duration_ms = {}",
            self.opts.lease_ms
        );
        let _ = writeln!(
            toml,
            "\n[retry.membership]\nbase_delay_ms = 200\nmax_delay_ms = 2000"
        );
        for extra in &self.opts.config_extra {
            let _ = writeln!(toml, "\n{extra}");
        }
        fs::write(&config, toml).expect("write node config");
        self.nodes.insert(
            id,
            NodeProc {
                id,
                api_port: ports[0],
                health_port: ports[1],
                raft_port,
                config,
                data_dir,
                log,
                child: None,
                paused: false,
            },
        );
    }

    fn spawn(&mut self, id: u32) {
        let binary = self.binary.clone();
        let filter = self.opts.log_filter.clone();
        let node = self.nodes.get_mut(&id).expect("known node");
        assert!(node.child.is_none(), "node {id} already running");
        let log = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&node.log)
            .expect("open node log");
        let log2 = log.try_clone().expect("clone log handle");
        let mut cmd = Command::new(&binary);
        cmd.arg("--config-path")
            .arg(&node.config)
            .env("RUST_LOG", filter)
            .env_remove("CONFIG_PATH")
            .env_remove("KV_ADMIN_TOKEN")
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log2);
        die_with_parent(&mut cmd);
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {}: {e}", binary.display()));
        node.child = Some(child);
        node.paused = false;
    }

    /// The node with `id`.
    pub fn node(&self, id: u32) -> &NodeProc {
        &self.nodes[&id]
    }

    /// All node ids (running or not).
    pub fn ids(&self) -> Vec<u32> {
        self.nodes.keys().copied().collect()
    }

    /// Ids of nodes with a running, unpaused process.
    pub fn live_ids(&self) -> Vec<u32> {
        self.nodes
            .values()
            .filter(|n| n.child.is_some() && !n.paused)
            .map(|n| n.id)
            .collect()
    }

    /// API URL of node `id`.
    pub fn api_url(&self, id: u32) -> String {
        self.nodes[&id].api_url()
    }

    /// API URLs of every node (seed list for clients).
    pub fn api_urls(&self) -> Vec<String> {
        self.nodes.values().map(|n| n.api_url()).collect()
    }

    /// SIGKILL node `id` and reap it.
    pub fn kill(&mut self, id: u32) {
        let node = self.nodes.get_mut(&id).expect("known node");
        if let Some(mut child) = node.child.take() {
            if node.paused {
                signal(child.id(), libc::SIGCONT);
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        node.paused = false;
    }

    /// SIGSTOP node `id` (a frozen, "zombie" node).
    pub fn pause(&mut self, id: u32) {
        let node = self.nodes.get_mut(&id).expect("known node");
        if let Some(pid) = node.pid() {
            signal(pid, libc::SIGSTOP);
            node.paused = true;
        }
    }

    /// SIGCONT a paused node.
    pub fn resume(&mut self, id: u32) {
        let node = self.nodes.get_mut(&id).expect("known node");
        if let Some(pid) = node.pid() {
            signal(pid, libc::SIGCONT);
            node.paused = false;
        }
    }

    /// SIGTERM node `id` and wait up to `deadline` for it to exit; returns its status.
    pub fn stop(&mut self, id: u32, deadline: Duration) -> Option<ExitStatus> {
        let node = self.nodes.get_mut(&id).expect("known node");
        let mut child = node.child.take()?;
        signal(child.id(), libc::SIGTERM);
        let until = Instant::now() + deadline;
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                return Some(status);
            }
            if Instant::now() > until {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Start a stopped or killed node again, same ports and data.
    pub fn restart(&mut self, id: u32) {
        self.spawn(id);
    }

    /// Lose the power of nodes `ids` at once: SIGKILL them, revert their
    /// data directories to what was fsynced (see [`PowerCutFs::power_cut`]),
    /// and start them again on the same ports and data. Needs
    /// [`ClusterOptions::power_cut_fs`].
    pub fn power_cut(&mut self, ids: &[u32]) {
        for id in ids {
            assert!(
                self.disks.contains_key(id),
                "node {id} has no power-cut filesystem (ClusterOptions::power_cut_fs)"
            );
            let node = &self.nodes[id];
            if let Some(pid) = node.pid() {
                if node.paused {
                    signal(pid, libc::SIGCONT);
                }
                signal(pid, libc::SIGKILL);
            }
        }
        // The disks lose power before the processes are gone: what a dying
        // node still writes (or a slow fsync it waits on) fails with EIO.
        for id in ids {
            self.disks[id].power_off();
        }
        for id in ids {
            self.kill(*id);
        }
        for id in ids {
            self.disks[id].power_on();
            self.spawn(*id);
        }
    }

    /// The power-cut filesystem under node `id`'s data directory, for fault
    /// injection and fsync counters. Needs [`ClusterOptions::power_cut_fs`].
    pub fn disk(&self, id: u32) -> &PowerCutFs {
        self.disks.get(&id).unwrap_or_else(|| {
            panic!("node {id} has no power-cut filesystem (ClusterOptions::power_cut_fs)")
        })
    }

    /// Start node `id` as a learner joining the running cluster (config lists it with role 4).
    pub fn add_learner(&mut self, id: u32) {
        self.add_node(id, true);
        self.spawn(id);
    }

    /// `/topology` of node `id`, if it answers.
    pub fn topology(&self, id: u32) -> Option<Topology> {
        topology_at(&self.api_url(id))
    }

    /// `/topology` of every node in `ids`, if all of them answer.
    pub fn topologies(&self, ids: &[u32]) -> Option<Vec<Topology>> {
        ids.iter().map(|id| self.topology(*id)).collect()
    }

    /// Leader that every node in `ids` reports, if they agree and list each
    /// other with published URLs (see [`agreement::agreed_leader`]).
    pub fn agreed_leader(&self, ids: &[u32]) -> Option<u32> {
        agreement::agreed_leader(&self.topologies(ids)?)
    }

    /// Role every node in `observers` gives member `id`, if they agree and
    /// list it with its URL published (see [`agreement::agreed_role`]).
    pub fn agreed_role(&self, observers: &[u32], id: u32) -> Option<Role> {
        agreement::agreed_role(&self.topologies(observers)?, id)
    }

    /// Wait until every live node agrees on a leader; panics after `deadline`.
    pub fn wait_for_leader(&self, deadline: Duration) -> u32 {
        self.wait_for_leader_among(&self.live_ids(), deadline)
    }

    /// Wait until the nodes in `ids` agree on a leader; panics after `deadline`.
    pub fn wait_for_leader_among(&self, ids: &[u32], deadline: Duration) -> u32 {
        let leader = wait_until(deadline, || self.agreed_leader(ids));
        leader.unwrap_or_else(|| {
            panic!(
                "no agreed leader among {ids:?} within {deadline:?}\n{}",
                self.log_tails(40)
            )
        })
    }

    /// The last `n` lines of every node's log, for failure messages.
    pub fn log_tails(&self, n: usize) -> String {
        let mut out = String::new();
        for node in self.nodes.values() {
            let _ = writeln!(
                out,
                "----- node {} log ({}) -----",
                node.id,
                node.log.display()
            );
            if let Ok(f) = fs::File::open(&node.log) {
                let lines: Vec<String> = BufReader::new(f).lines().map_while(Result::ok).collect();
                for l in lines.iter().skip(lines.len().saturating_sub(n)) {
                    let _ = writeln!(out, "{l}");
                }
            }
        }
        out
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("{}", self.log_tails(40));
        }
        for node in self.nodes.values_mut() {
            if let Some(mut child) = node.child.take() {
                signal(child.id(), libc::SIGCONT);
                let _ = child.kill();
                let _ = child.wait();
            }
        }
        // Unmount only once no node has files open there, and before the
        // temp dir (which holds the mount points) is removed.
        self.disks.clear();
    }
}
