//! Node configuration: one TOML file per node holds this project's `[node]`
//! section next to d-engine's own sections (`[cluster]`, `[raft]`, ...).
//!
//! The file is read twice: here for the HTTP side and for the few cluster
//! facts the node needs (id, Raft address, data directory), and by d-engine for
//! everything Raft. Command-line overrides are applied to an *effective* copy of
//! the file written into the data directory, so d-engine sees the same values.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Why a configuration could not be used; separate from request errors.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config {path}: {source}")]
    Read {
        /// File that failed.
        path: PathBuf,
        /// Underlying I/O error.
        source: std::io::Error,
    },
    /// The file is not valid TOML or has wrong types.
    #[error("invalid config {path}: {message}")]
    Parse {
        /// File that failed.
        path: PathBuf,
        /// Parser message.
        message: String,
    },
    /// The values are well-formed but not usable together.
    #[error("invalid config: {0}")]
    Invalid(String),
    /// The effective config could not be written.
    #[error("cannot write effective config {path}: {source}")]
    Write {
        /// File that failed.
        path: PathBuf,
        /// Underlying I/O error.
        source: std::io::Error,
    },
}

/// Our defaults for d-engine's `[raft.snapshot]` keys a config leaves out
/// (config/n*.toml spells them out with the reasons). d-engine 0.2.4's own
/// defaults snapshot every 1000 entries (each snapshot is O(data size), on every
/// node) and send snapshots in 1 KiB chunks at 1 Mbit/s.
pub const SNAPSHOT_DEFAULTS: &[(&str, i64)] = &[
    // A snapshot rewrites the whole state: take one per 100k entries, not 1000.
    ("max_log_entries_before_snapshot", 100_000),
    // 1 MiB chunks (under gRPC's 4 MiB message limit) instead of 1 KiB.
    ("chunk_size", 1_048_576),
    // No rate limit (0): a lagging node should catch up as fast as the link allows.
    ("max_bandwidth_mbps", 0),
];

/// Read consistency a client may ask for with `?consistency=` (the wire
/// contract's; `[node] default_consistency` uses the same spelling).
pub use kv_contract::Consistency;

/// The `[node]` section: this project's HTTP-side settings.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NodeSettings {
    /// Address of the HTTP API (`/kv`, `/topology`, ...). Loopback by default.
    pub api_addr: SocketAddr,
    /// Address of the health-check listener that balancers poll (`/primary`, `/replica`).
    pub health_addr: SocketAddr,
    /// URL other nodes and clients use to reach the API; defaults to `http://{api_addr}`.
    pub advertise_api_url: Option<String>,
    /// URL balancers use for health checks; defaults to `http://{health_addr}`.
    pub advertise_health_url: Option<String>,
    /// Free-form labels (e.g. `zone`) published in `/topology` for client-side tag sets.
    pub labels: BTreeMap<String, String>,
    /// Relative capacity published in `/topology`: the smart client's
    /// weighted round robin sends this node `weight` shares of the reads.
    pub weight: u32,
    /// Consistency of reads that do not name one.
    pub default_consistency: Consistency,
    /// Largest key accepted, in bytes (413 above).
    pub max_key_bytes: usize,
    /// Largest value accepted, in bytes (413 above).
    pub max_value_bytes: usize,
    /// Time a client has to send request headers and body before a 408.
    pub request_timeout_ms: u64,
    /// Time a follower waits for the leader when forwarding a request.
    pub forward_timeout_ms: u64,
    /// Longest time an eventual read with `min_index=N` waits for this node
    /// to apply index `N` before it answers 503 `min_index_not_reached`
    /// (0: answer at once). Short, so a session client tries another node
    /// instead of queueing behind a lagging one.
    pub min_index_wait_ms: u64,
    /// Time given to in-flight requests to drain on SIGTERM/SIGINT.
    pub shutdown_timeout_secs: u64,
    /// Bearer token for `/admin/*` and `/internal/*`; `KV_ADMIN_TOKEN` overrides it.
    pub admin_token: Option<String>,
    /// HTTP worker threads for the API listener; 0 means one per core.
    pub workers: usize,
}

impl Default for NodeSettings {
    fn default() -> Self {
        Self {
            api_addr: SocketAddr::from(([127, 0, 0, 1], 8081)),
            health_addr: SocketAddr::from(([127, 0, 0, 1], 10001)),
            advertise_api_url: None,
            advertise_health_url: None,
            labels: BTreeMap::new(),
            weight: 1,
            default_consistency: Consistency::Lease,
            max_key_bytes: 4 * 1024,
            max_value_bytes: 1024 * 1024,
            request_timeout_ms: 5_000,
            forward_timeout_ms: 5_000,
            min_index_wait_ms: 200,
            shutdown_timeout_secs: 10,
            admin_token: None,
            workers: 0,
        }
    }
}

impl NodeSettings {
    /// Largest request body accepted: a key and a value plus JSON framing.
    pub fn max_body_bytes(&self) -> usize {
        self.max_key_bytes + self.max_value_bytes + 1024
    }

    /// Check values that serde cannot.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.max_key_bytes == 0 || self.max_value_bytes == 0 {
            return Err(ConfigError::Invalid(
                "node.max_key_bytes and node.max_value_bytes must be positive".into(),
            ));
        }
        if self.weight == 0 {
            return Err(ConfigError::Invalid(
                "node.weight must be at least 1".into(),
            ));
        }
        if self.request_timeout_ms == 0 || self.forward_timeout_ms == 0 {
            return Err(ConfigError::Invalid(
                "node.request_timeout_ms and node.forward_timeout_ms must be positive".into(),
            ));
        }
        for url in [&self.advertise_api_url, &self.advertise_health_url]
            .into_iter()
            .flatten()
        {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(ConfigError::Invalid(format!(
                    "advertised URL {url:?} must start with http:// or https://"
                )));
            }
        }
        Ok(())
    }
}

/// One entry of d-engine's `cluster.initial_cluster`, as far as we need it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InitialMember {
    /// Raft node id.
    pub id: u32,
    /// Raft (gRPC) address.
    pub raft_addr: String,
    /// d-engine role number: 1 follower, 4 learner.
    pub role: i32,
}

/// Overrides from the command line; `None` keeps the file's value.
#[derive(Clone, Debug, Default)]
pub struct Overrides {
    /// `--port`: the API port.
    pub port: Option<u16>,
    /// `--health-port`: the health-check port.
    pub health_port: Option<u16>,
    /// `--data-dir`: where Raft log, state machine and d-engine logs live.
    pub data_dir: Option<PathBuf>,
}

/// Everything a node needs to start, validated.
#[derive(Clone, Debug)]
pub struct NodeConfig {
    /// The `[node]` section with overrides applied.
    pub settings: NodeSettings,
    /// `cluster.node_id`.
    pub node_id: u32,
    /// `cluster.listen_address`.
    pub raft_addr: String,
    /// Data directory (`cluster.db_root_dir` or `--data-dir`).
    pub data_dir: PathBuf,
    /// `cluster.initial_cluster`.
    pub initial_cluster: Vec<InitialMember>,
    /// The whole file, with overrides applied, for d-engine.
    raw: toml::Table,
}

impl NodeConfig {
    /// Read and validate `path`, applying `overrides`.
    pub fn load(path: &Path, overrides: &Overrides) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_toml(path, &text, overrides)
    }

    /// Parse a config from TOML text (`path` is only used in messages).
    pub fn from_toml(path: &Path, text: &str, overrides: &Overrides) -> Result<Self, ConfigError> {
        let parse_err = |message: String| ConfigError::Parse {
            path: path.to_path_buf(),
            message,
        };
        let mut raw: toml::Table = text.parse().map_err(|e| parse_err(format!("{e}")))?;
        let mut settings: NodeSettings = match raw.remove("node") {
            Some(v) => v
                .try_into()
                .map_err(|e| parse_err(format!("[node]: {e}")))?,
            None => NodeSettings::default(),
        };
        if let Some(port) = overrides.port {
            settings.api_addr.set_port(port);
        }
        if let Some(port) = overrides.health_port {
            settings.health_addr.set_port(port);
        }
        settings.validate()?;

        let cluster = raw
            .get_mut("cluster")
            .and_then(|c| c.as_table_mut())
            .ok_or_else(|| ConfigError::Invalid("missing [cluster] section".into()))?;
        let node_id = cluster
            .get("node_id")
            .and_then(|v| v.as_integer())
            .and_then(|v| u32::try_from(v).ok())
            .filter(|v| *v > 0)
            .ok_or_else(|| {
                ConfigError::Invalid("cluster.node_id must be a positive integer".into())
            })?;
        let raft_addr = cluster
            .get("listen_address")
            .and_then(|v| v.as_str())
            .ok_or_else(|| ConfigError::Invalid("cluster.listen_address is required".into()))?
            .to_string();
        let data_dir = match &overrides.data_dir {
            Some(dir) => dir.clone(),
            None => PathBuf::from(
                cluster
                    .get("db_root_dir")
                    .and_then(|v| v.as_str())
                    .unwrap_or("./data"),
            ),
        };
        let dir_str = data_dir.to_string_lossy().to_string();
        cluster.insert("db_root_dir".into(), toml::Value::String(dir_str.clone()));
        cluster.insert(
            "log_dir".into(),
            toml::Value::String(format!("{dir_str}/logs")),
        );
        // d-engine's default snapshot directory is /tmp/snapshots, shared by every
        // node on the machine (they then delete each other's snapshots and a
        // joining learner cannot be sent one): keep snapshots in the data dir.
        if let Some(snapshot) = table_at(&mut raw, &["raft", "snapshot"]) {
            snapshot
                .entry("snapshots_dir")
                .or_insert_with(|| toml::Value::String(format!("{dir_str}/snapshots")));
            for (key, value) in SNAPSHOT_DEFAULTS {
                snapshot
                    .entry(*key)
                    .or_insert_with(|| toml::Value::Integer(*value));
            }
        }
        // Keys with a TTL (`ttl_secs`) need d-engine's lease manager, a
        // background task: off unless the config turns it on
        // (`[raft.state_machine.lease] enabled = true`, as config/n*.toml do).
        if let Some(lease) = table_at(&mut raw, &["raft", "state_machine", "lease"]) {
            lease
                .entry("enabled")
                .or_insert(toml::Value::Boolean(false));
        }
        let cluster = raw
            .get("cluster")
            .and_then(|c| c.as_table())
            .ok_or_else(|| ConfigError::Invalid("missing [cluster] section".into()))?;
        let mut initial_cluster = Vec::new();
        for entry in cluster
            .get("initial_cluster")
            .and_then(|v| v.as_array())
            .ok_or_else(|| ConfigError::Invalid("cluster.initial_cluster is required".into()))?
        {
            let id = entry
                .get("id")
                .and_then(|v| v.as_integer())
                .and_then(|v| u32::try_from(v).ok())
                .ok_or_else(|| ConfigError::Invalid("initial_cluster entries need an id".into()))?;
            let raft_addr = entry
                .get("address")
                .and_then(|v| v.as_str())
                .ok_or_else(|| {
                    ConfigError::Invalid(format!("initial_cluster entry {id} needs an address"))
                })?
                .to_string();
            let role = entry.get("role").and_then(|v| v.as_integer()).unwrap_or(1) as i32;
            initial_cluster.push(InitialMember {
                id,
                raft_addr,
                role,
            });
        }
        if !initial_cluster.iter().any(|m| m.id == node_id) {
            return Err(ConfigError::Invalid(format!(
                "node {node_id} is not listed in cluster.initial_cluster"
            )));
        }
        Ok(Self {
            settings,
            node_id,
            raft_addr,
            data_dir,
            initial_cluster,
            raw,
        })
    }

    /// URL clients use for this node's API.
    pub fn api_url(&self) -> String {
        self.settings
            .advertise_api_url
            .clone()
            .unwrap_or_else(|| format!("http://{}", self.settings.api_addr))
    }

    /// URL balancers use for this node's health checks.
    pub fn health_url(&self) -> String {
        self.settings
            .advertise_health_url
            .clone()
            .unwrap_or_else(|| format!("http://{}", self.settings.health_addr))
    }

    /// Start from the membership this node stored (see [`crate::membership`])
    /// instead of the file's `initial_cluster`: d-engine gets it as its
    /// `initial_cluster`, and the node's own view starts from it.
    pub fn adopt_membership(&mut self, stored: &crate::membership::StoredMembership) {
        let entries: Vec<toml::Value> = stored
            .members
            .iter()
            .map(|m| {
                let mut t = toml::Table::new();
                t.insert("id".into(), toml::Value::Integer(i64::from(m.id)));
                t.insert("address".into(), toml::Value::String(m.address.clone()));
                t.insert("role".into(), toml::Value::Integer(i64::from(m.role)));
                t.insert("status".into(), toml::Value::Integer(i64::from(m.status)));
                toml::Value::Table(t)
            })
            .collect();
        if let Some(cluster) = self.raw.get_mut("cluster").and_then(|c| c.as_table_mut()) {
            cluster.insert("initial_cluster".into(), toml::Value::Array(entries));
        }
        self.initial_cluster = stored
            .members
            .iter()
            .map(|m| InitialMember {
                id: m.id,
                raft_addr: m.address.clone(),
                role: m.role,
            })
            .collect();
    }

    /// Whether this node starts as a learner (joins a running cluster).
    pub fn starts_as_learner(&self) -> bool {
        self.initial_cluster
            .iter()
            .any(|m| m.id == self.node_id && m.role == 4)
    }

    /// The admin token: `KV_ADMIN_TOKEN` wins over the file.
    pub fn admin_token(&self) -> Option<String> {
        std::env::var("KV_ADMIN_TOKEN")
            .ok()
            .filter(|t| !t.is_empty())
            .or_else(|| self.settings.admin_token.clone().filter(|t| !t.is_empty()))
    }

    /// Write the d-engine part of the config, overrides applied, into the data
    /// directory and return its path (d-engine reads config from a file).
    pub fn write_effective(&self) -> Result<PathBuf, ConfigError> {
        let write_err = |path: &Path, source| ConfigError::Write {
            path: path.to_path_buf(),
            source,
        };
        std::fs::create_dir_all(&self.data_dir).map_err(|e| write_err(&self.data_dir, e))?;
        let path = self.data_dir.join("effective-config.toml");
        let text = toml::to_string(&self.raw)
            .map_err(|e| ConfigError::Invalid(format!("cannot serialise config: {e}")))?;
        std::fs::write(&path, text).map_err(|e| write_err(&path, e))?;
        Ok(path)
    }
}

/// The table at `path` under `root`, created (empty) where missing; `None`
/// when a key on the way holds something other than a table.
fn table_at<'a>(root: &'a mut toml::Table, path: &[&str]) -> Option<&'a mut toml::Table> {
    let mut table = root;
    for key in path {
        table = table
            .entry(*key)
            .or_insert_with(|| toml::Value::Table(toml::Table::new()))
            .as_table_mut()?;
    }
    Some(table)
}
#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = r#"
[node]
api_addr = "127.0.0.1:8082"
health_addr = "127.0.0.1:10002"
labels = { zone = "b" }

[cluster]
node_id = 2
listen_address = "127.0.0.1:9082"
initial_cluster = [
  { id = 1, address = "127.0.0.1:9081", role = 1, status = 3 },
  { id = 2, address = "127.0.0.1:9082", role = 1, status = 3 },
]
db_root_dir = "./data/n2"
"#;

    #[test]
    fn parses_node_and_cluster_sections() {
        let cfg = NodeConfig::from_toml(Path::new("n2.toml"), SAMPLE, &Overrides::default())
            .expect("valid");
        assert_eq!(cfg.node_id, 2);
        assert_eq!(cfg.raft_addr, "127.0.0.1:9082");
        assert_eq!(cfg.api_url(), "http://127.0.0.1:8082");
        assert_eq!(cfg.health_url(), "http://127.0.0.1:10002");
        assert_eq!(
            cfg.settings.labels.get("zone").map(String::as_str),
            Some("b")
        );
        assert_eq!(cfg.initial_cluster.len(), 2);
        assert!(!cfg.starts_as_learner());
        assert_eq!(cfg.settings.max_key_bytes, 4096);
        assert_eq!(cfg.settings.max_value_bytes, 1 << 20);
    }

    #[test]
    fn overrides_apply_to_ports_and_data_dir() {
        let o = Overrides {
            port: Some(18082),
            health_port: Some(20002),
            data_dir: Some(PathBuf::from("/tmp/x")),
        };
        let cfg = NodeConfig::from_toml(Path::new("n2.toml"), SAMPLE, &o).expect("valid");
        assert_eq!(cfg.settings.api_addr.port(), 18082);
        assert_eq!(cfg.settings.health_addr.port(), 20002);
        assert_eq!(cfg.data_dir, PathBuf::from("/tmp/x"));
        let cluster = cfg.raw["cluster"].as_table().expect("table");
        assert_eq!(cluster["db_root_dir"].as_str(), Some("/tmp/x"));
        assert_eq!(cluster["log_dir"].as_str(), Some("/tmp/x/logs"));
        let snapshots = cfg.raw["raft"]["snapshot"]["snapshots_dir"].as_str();
        assert_eq!(snapshots, Some("/tmp/x/snapshots"));
    }

    #[test]
    fn d_engine_reads_the_snapshot_defaults_from_the_effective_config() {
        let dir = tempfile::tempdir().expect("tempdir");
        let o = Overrides {
            data_dir: Some(dir.path().to_path_buf()),
            ..Overrides::default()
        };
        let cfg = NodeConfig::from_toml(Path::new("n2.toml"), SAMPLE, &o).expect("valid");
        let path = cfg.write_effective().expect("written");
        let raft = d_engine_core::RaftNodeConfig::default()
            .with_override_config(path.to_str().expect("utf-8"))
            .expect("d-engine accepts the effective config")
            .raft;
        assert_eq!(raft.snapshot.max_log_entries_before_snapshot, 100_000);
        assert_eq!(raft.snapshot.chunk_size, 1 << 20);
        assert_eq!(raft.snapshot.max_bandwidth_mbps, 0);
    }

    #[test]
    fn rejects_unknown_node_keys_and_missing_self() {
        let bad = SAMPLE.replace("labels", "lables");
        assert!(NodeConfig::from_toml(Path::new("x"), &bad, &Overrides::default()).is_err());
        let not_member = SAMPLE.replace("node_id = 2", "node_id = 7");
        let err = NodeConfig::from_toml(Path::new("x"), &not_member, &Overrides::default())
            .expect_err("node 7 is not in initial_cluster");
        assert!(err.to_string().contains("not listed"));
    }

    #[test]
    fn weight_defaults_to_one_and_zero_is_refused() {
        let cfg = NodeConfig::from_toml(Path::new("x"), SAMPLE, &Overrides::default()).expect("ok");
        assert_eq!(cfg.settings.weight, 1);
        let heavy = SAMPLE.replace("labels = {", "weight = 3\nlabels = {");
        let cfg = NodeConfig::from_toml(Path::new("x"), &heavy, &Overrides::default()).expect("ok");
        assert_eq!(cfg.settings.weight, 3);
        let zero = SAMPLE.replace("labels = {", "weight = 0\nlabels = {");
        let err = NodeConfig::from_toml(Path::new("x"), &zero, &Overrides::default())
            .expect_err("weight 0");
        assert!(err.to_string().contains("node.weight"), "{err}");
    }
}
