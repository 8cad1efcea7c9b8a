//! HAProxy in front of the bench's cluster, with the project's
//! `config/haproxy.cfg` (ports rewritten).

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use kv_contract::headers;
use kv_harness::{self as harness, free_ports};

use super::tempfile_dir;
use super::{run_local, Env};

/// HAProxy child process; killed when dropped.
pub(super) struct Haproxy {
    pub(super) child: Child,
    pub(super) port: u16,
    _dir: tempfile_dir::Dir,
}

impl Drop for Haproxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Env {
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
                    let node = r
                        .headers()
                        .get(headers::NODE)
                        .map(|v| v.as_bytes().to_vec());
                    let forwarded = r.headers().contains_key(headers::FORWARDED_TO);
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
}
