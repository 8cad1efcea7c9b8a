//! The HA guide's curl walk-through, forwarding, headers, health checks,
//! metrics, bad input and the admin token, against a real 3-node cluster.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::{call, call_as, get, put};
use kv_contract::Role;
use kv_harness::{wait_until, Cluster, ClusterOptions};

/// The leader, once elected, and a follower.
fn leader_and_follower(cluster: &Cluster) -> (u32, u32) {
    let leader = cluster.wait_for_leader(Duration::from_secs(30));
    let follower = *cluster
        .ids()
        .iter()
        .find(|id| **id != leader)
        .expect("a follower");
    (leader, follower)
}

#[test]
fn curl_walkthrough_forwarding_and_headers() {
    let cluster = Cluster::three();
    let (leader, follower) = leader_and_follower(&cluster);
    let (lurl, furl) = (cluster.api_url(leader), cluster.api_url(follower));

    // A write on the leader is not forwarded.
    let a = put(&lurl, "username", "alice");
    assert_eq!(a.status, 200, "{a:?}");
    assert_eq!(a.json["ok"], true);
    assert_eq!(a.header("x-kv-node"), Some(leader.to_string().as_str()));
    assert_eq!(a.header("x-kv-leader"), Some(leader.to_string().as_str()));
    assert_eq!(a.header("x-kv-forwarded-to"), None);

    // A write on a follower is forwarded one hop and says so.
    let a = put(&furl, "k-from-follower", "v1");
    assert_eq!(a.status, 200, "{a:?}");
    assert_eq!(a.header("x-kv-node"), Some(follower.to_string().as_str()));
    assert_eq!(
        a.header("x-kv-forwarded-to"),
        Some(leader.to_string().as_str())
    );
    assert_eq!(a.header("x-kv-leader-url"), Some(lurl.as_str()));

    // Linearizable and lease reads on a follower see the write at once (served by the leader).
    for c in ["linearizable", "lease"] {
        let a = get(&furl, "k-from-follower", c);
        assert_eq!(
            (a.status, a.json["value"].as_str()),
            (200, Some("v1")),
            "{c}: {a:?}"
        );
    }
    // Eventual reads on every node converge.
    for id in cluster.ids() {
        let url = cluster.api_url(id);
        let seen = wait_until(Duration::from_secs(5), || {
            let a = get(&url, "username", "eventual");
            (a.json["value"] == "alice").then_some(())
        });
        assert!(seen.is_some(), "node {id} never saw the write");
    }
    // Default consistency (lease) on a plain GET, as in the guide.
    let a = call("GET", &format!("{furl}/kv/username"), None);
    assert_eq!(a.json, serde_json::json!({ "value": "alice" }));

    // PUT and DELETE (idempotent), missing key is 404 {"value":null}.
    let a = call("PUT", &format!("{furl}/kv/k2"), Some(r#"{"value":"v2"}"#));
    assert_eq!(a.status, 200, "{a:?}");
    assert_eq!(get(&lurl, "k2", "linearizable").json["value"], "v2");
    for _ in 0..2 {
        let a = call("DELETE", &format!("{furl}/kv/k2"), None);
        assert_eq!(a.status, 200, "{a:?}");
    }
    let a = get(&furl, "k2", "linearizable");
    assert_eq!(a.status, 404);
    assert_eq!(a.json, serde_json::json!({ "value": null }));

    // Keys with slashes and percent-encoded characters round-trip.
    let a = call(
        "PUT",
        &format!("{lurl}/kv/a%2Fb%20c"),
        Some(r#"{"value":"x"}"#),
    );
    assert_eq!(a.status, 200);
    assert_eq!(get(&lurl, "a%2Fb%20c", "linearizable").json["value"], "x");
}

#[test]
fn health_checks_on_both_ports_and_topology() {
    let cluster = Cluster::three();
    let leader = cluster.wait_for_leader(Duration::from_secs(30));
    for id in cluster.ids() {
        let node = cluster.node(id);
        for base in [node.api_url(), node.health_url()] {
            let p = call("GET", &format!("{base}/primary"), None);
            let r = call("GET", &format!("{base}/replica"), None);
            if id == leader {
                assert_eq!((p.status, r.status), (200, 503), "node {id} at {base}");
            } else {
                assert_eq!((p.status, r.status), (503, 200), "node {id} at {base}");
            }
        }
        let topo = cluster.topology(id).expect("topology");
        assert_eq!(topo.node_id, id);
        assert_eq!(topo.leader_id, Some(leader));
        assert_eq!(topo.members.len(), 3);
        for m in &topo.members {
            let mid = m.id;
            let want = if mid == leader {
                Role::Leader
            } else {
                Role::Follower
            };
            assert_eq!(m.role, want);
            assert_eq!(m.api_url, Some(cluster.api_url(mid)));
            assert_eq!(m.health_url, Some(cluster.node(mid).health_url()));
            assert_eq!(
                m.raft_addr,
                Some(format!("127.0.0.1:{}", cluster.node(mid).raft_port))
            );
            assert_eq!(m.labels.get("zone"), Some(&format!("z{mid}")));
        }
        assert!(topo.term >= 1);
    }
}

/// A second process started with a running node's config cannot listen on
/// that node's Raft port: it exits at once with a clear error, instead of
/// running without a Raft listener (which d-engine alone would do).
#[test]
fn a_node_whose_raft_port_is_taken_refuses_to_start() {
    struct KillOnDrop(std::process::Child);
    impl Drop for KillOnDrop {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let cluster = Cluster::three();
    cluster.wait_for_leader(Duration::from_secs(30));
    let ports = kv_harness::free_ports(2);
    let mut cmd = std::process::Command::new(kv_harness::node_binary_or_build().expect("binary"));
    cmd.arg("--config-path")
        .arg(cluster.dir().join("n1.toml"))
        .arg("--data-dir")
        .arg(cluster.dir().join("second-n1"))
        .args(["--port", &ports[0].to_string()])
        .args(["--health-port", &ports[1].to_string()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped());
    kv_harness::die_with_parent(&mut cmd);
    let mut second = KillOnDrop(cmd.spawn().expect("spawn a second node 1"));
    let status = wait_until(Duration::from_secs(20), || {
        second.0.try_wait().ok().flatten()
    });
    let status = status.expect("the second node 1 kept running with its Raft port taken");
    assert!(!status.success(), "{status:?}");
    let mut stderr = String::new();
    second
        .0
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut stderr)
        .expect("read");
    assert!(
        stderr.contains("cannot listen on the Raft address"),
        "{stderr}"
    );
    // The running node 1 did not notice.
    let a = get(&cluster.api_url(1), "x", "eventual");
    assert_eq!(a.status, 404, "{a:?}");
}

#[test]
fn metrics_in_prometheus_text() {
    let cluster = Cluster::three();
    let (leader, follower) = leader_and_follower(&cluster);
    assert_eq!(put(&cluster.api_url(follower), "m", "1").status, 200);
    let furl = cluster.api_url(follower);
    let seen = wait_until(Duration::from_secs(5), || {
        (get(&furl, "m", "eventual").status == 200).then_some(())
    });
    assert!(seen.is_some(), "follower never applied the write");
    let text = |id: u32| {
        ureq::get(&format!("{}/metrics", cluster.api_url(id)))
            .call()
            .expect("metrics")
            .into_string()
            .expect("text")
    };
    let f = text(follower);
    assert!(f.contains("kv_http_requests_total{"), "{f}");
    assert!(f.contains("route=\"/kv\""), "{f}");
    assert!(
        f.contains("kv_http_request_duration_seconds_bucket{"),
        "{f}"
    );
    assert!(f.contains("kv_forwarded_total{kind=\"write\"} 1"), "{f}");
    assert!(f.contains("kv_raft_term "), "{f}");
    assert!(f.contains("kv_is_leader 0"), "{f}");
    let l = text(leader);
    assert!(l.contains("kv_is_leader 1"), "{l}");
    assert!(l.contains("kv_leader_changes_total"), "{l}");
    // d-engine's own metrics come through the same recorder.
    let own = l
        .lines()
        .filter(|line| !line.starts_with('#') && !line.starts_with("kv_"))
        .count();
    assert!(own > 0, "no d-engine metrics in:\n{l}");
}

fn raw_http(port: u16, request: &[u8]) -> (u16, String) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(15)))
        .expect("timeout");
    s.write_all(request).expect("write");
    let mut buf = Vec::new();
    let _ = s.read_to_end(&mut buf);
    let text = String::from_utf8_lossy(&buf).to_string();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, text)
}

#[test]
fn bad_input_gets_json_4xx_and_the_node_keeps_serving() {
    let cluster = Cluster::start(ClusterOptions {
        node_extra: vec![
            "max_key_bytes = 64".into(),
            "max_value_bytes = 1024".into(),
            "request_timeout_ms = 1000".into(),
        ],
        ..ClusterOptions::default()
    });
    let (leader, follower) = leader_and_follower(&cluster);
    for id in [leader, follower] {
        let base = cluster.api_url(id);
        let big_key = "k".repeat(65);
        let big_value = "v".repeat(1025);
        let cases: Vec<(&str, String, Option<String>, u16, &str)> = vec![
            (
                "POST",
                "/kv".into(),
                Some("{bad".into()),
                400,
                "invalid_json",
            ),
            (
                "POST",
                "/kv".into(),
                Some("[1,2]".into()),
                400,
                "invalid_body",
            ),
            ("POST", "/kv".into(), Some("42".into()), 400, "invalid_body"),
            ("POST", "/kv".into(), Some("".into()), 400, "empty_body"),
            (
                "POST",
                "/kv".into(),
                Some(r#"{"value":"v"}"#.into()),
                400,
                "missing_field",
            ),
            (
                "POST",
                "/kv".into(),
                Some(r#"{"key":"k"}"#.into()),
                400,
                "missing_field",
            ),
            (
                "POST",
                "/kv".into(),
                Some(r#"{"key":7,"value":"v"}"#.into()),
                400,
                "invalid_field",
            ),
            (
                "POST",
                "/kv".into(),
                Some(r#"{"key":"k","value":[1]}"#.into()),
                400,
                "invalid_field",
            ),
            (
                "POST",
                "/kv".into(),
                Some(r#"{"key":"","value":"v"}"#.into()),
                400,
                "empty_key",
            ),
            (
                "PUT",
                "/kv/k".into(),
                Some(r#"{"value":true}"#.into()),
                400,
                "invalid_field",
            ),
            (
                "PUT",
                "/kv/".into(),
                Some(r#"{"value":"v"}"#.into()),
                400,
                "empty_key",
            ),
            ("GET", "/kv/%FF%FE".into(), None, 400, "invalid_utf8"),
            (
                "GET",
                "/kv/k?consistency=strong".into(),
                None,
                400,
                "invalid_consistency",
            ),
            (
                "PATCH",
                "/kv/k".into(),
                Some("{}".into()),
                405,
                "method_not_allowed",
            ),
            ("DELETE", "/kv".into(), None, 405, "method_not_allowed"),
            (
                "PUT",
                "/kv/k".into(),
                Some(r#"{"value":"v","ttl_secs":5}"#.into()),
                400,
                "ttl_disabled",
            ),
            ("GET", "/kv?limit=0".into(), None, 400, "invalid_limit"),
            (
                "DELETE",
                "/topology".into(),
                None,
                405,
                "method_not_allowed",
            ),
            ("GET", "/nope".into(), None, 404, "not_found"),
            ("GET", format!("/kv/{big_key}"), None, 413, "key_too_large"),
            (
                "POST",
                "/kv".into(),
                Some(format!(r#"{{"key":"{big_key}","value":"v"}}"#)),
                413,
                "key_too_large",
            ),
            (
                "PUT",
                "/kv/k".into(),
                Some(format!(r#"{{"value":"{big_value}"}}"#)),
                413,
                "value_too_large",
            ),
            (
                "PUT",
                "/kv/k".into(),
                Some(format!(r#"{{"value":"{}"}}"#, "v".repeat(5000))),
                413,
                "payload_too_large",
            ),
        ];
        for (method, path, body, status, code) in cases {
            let a = call(method, &format!("{base}{path}"), body.as_deref());
            assert_eq!(a.status, status, "{method} {path} on node {id}: {a:?}");
            assert_eq!(a.json["error"], code, "{method} {path} on node {id}: {a:?}");
            assert!(a.json["message"].is_string(), "{a:?}");
        }
        // Invalid UTF-8 inside a JSON body.
        let port = cluster.node(id).api_port;
        let mut req = b"POST /kv HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 24\r\nConnection: close\r\n\r\n".to_vec();
        req.extend_from_slice(b"{\"key\":\"\xff\xfe\",\"value\":\"v\"}");
        let (status, text) = raw_http(port, &req);
        assert_eq!(status, 400, "{text}");
        assert!(text.contains("invalid_utf8"), "{text}");
        // A client that stalls mid-body gets a 408 after the request timeout.
        let started = Instant::now();
        let (status, text) = raw_http(
            port,
            b"POST /kv HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"key\":",
        );
        assert_eq!(status, 408, "{text}");
        assert!(text.contains("request_timeout"), "{text}");
        assert!(started.elapsed() < Duration::from_secs(10));
        // The node still serves.
        let a = put(&base, &format!("after-bad-{id}"), "ok");
        assert_eq!(a.status, 200, "{a:?}");
    }
}

#[test]
fn admin_endpoints_need_the_token_when_one_is_configured() {
    let cluster = Cluster::start(ClusterOptions {
        node_extra: vec!["admin_token = \"s3cret\"".into()],
        ..ClusterOptions::default()
    });
    // Registration (POST /internal/members) uses the token too, so a leader
    // with every URL published shows it works.
    let leader = cluster.wait_for_leader(Duration::from_secs(30));
    let follower = *cluster
        .ids()
        .iter()
        .find(|i| **i != leader)
        .expect("follower");
    for base in [cluster.api_url(leader), cluster.api_url(follower)] {
        for path in ["/admin/promote", "/admin/remove", "/internal/members"] {
            let a = call_as(
                "POST",
                &format!("{base}{path}"),
                Some(r#"{"node_id":4}"#),
                None,
            );
            assert_eq!(
                (a.status, a.json["error"].as_str()),
                (401, Some("unauthorized")),
                "{path}"
            );
            let a = call_as(
                "POST",
                &format!("{base}{path}"),
                Some(r#"{"node_id":4}"#),
                Some("wrong"),
            );
            assert_eq!(
                (a.status, a.json["error"].as_str()),
                (401, Some("unauthorized")),
                "{path}"
            );
        }
        let promote = |body| {
            call_as(
                "POST",
                &format!("{base}/admin/promote"),
                Some(body),
                Some("s3cret"),
            )
        };
        let a = promote(r#"{"node_id":3}"#);
        assert_eq!(a.status, 200, "{a:?}");
        let a = promote(r#"{"node_id":9}"#);
        assert_eq!(
            (a.status, a.json["error"].as_str()),
            (409, Some("unknown_node")),
            "{a:?}"
        );
    }
}

/// `?consistency=eventual&min_index=N`: a follower answers only once it has
/// applied `N` (also right after it was SIGSTOPped through the write and
/// resumed), a `min_index` it cannot reach in time is a retryable 503 with
/// its own code, a malformed one a 400; every read answer, forwarded ones
/// too, carries `x-kv-applied-index`.
#[test]
fn min_index_reads_never_answer_older_state() {
    let mut cluster = Cluster::start(ClusterOptions {
        node_extra: vec!["min_index_wait_ms = 3000".into()],
        ..ClusterOptions::default()
    });
    let (leader, follower) = leader_and_follower(&cluster);
    let (lurl, furl) = (cluster.api_url(leader), cluster.api_url(follower));
    let index = |a: &common::Answer| -> u64 {
        a.header("x-kv-index")
            .unwrap_or_else(|| panic!("no x-kv-index: {a:?}"))
            .parse()
            .expect("numeric x-kv-index")
    };
    let applied = |a: &common::Answer| -> u64 {
        a.header("x-kv-applied-index")
            .unwrap_or_else(|| panic!("no x-kv-applied-index: {a:?}"))
            .parse()
            .expect("numeric x-kv-applied-index")
    };
    let read = |base: &str, min: u64| {
        call(
            "GET",
            &format!("{base}/kv/session?consistency=eventual&min_index={min}"),
            None,
        )
    };

    let w1 = put(&lurl, "session", "v1");
    assert_eq!(w1.status, 200, "{w1:?}");
    let a = read(&furl, index(&w1));
    assert_eq!(
        (a.status, a.json["value"].as_str()),
        (200, Some("v1")),
        "{a:?}"
    );
    assert!(applied(&a) >= index(&w1), "{a:?}");

    // The follower misses the second write while stopped; a read with the
    // write's index, sent while it is stopped and served after it resumes,
    // must see v2, never v1.
    cluster.pause(follower);
    let w2 = put(&lurl, "session", "v2");
    assert_eq!(w2.status, 200, "{w2:?}");
    let min = index(&w2);
    let reader = {
        let furl = furl.clone();
        std::thread::spawn(move || read(&furl, min))
    };
    cluster.resume(follower);
    let a = reader.join().expect("reader thread");
    assert_eq!(
        (a.status, a.json["value"].as_str()),
        (200, Some("v2")),
        "{a:?}"
    );
    assert!(applied(&a) >= min, "{a:?}");

    // An index nobody has reached: the bounded wait runs out, 503 with its code.
    let started = Instant::now();
    let far = min + 1_000_000;
    let a = read(&furl, far);
    assert_eq!(a.status, 503, "{a:?}");
    assert_eq!(a.json["error"], "min_index_not_reached", "{a:?}");
    let message = a.json["message"].as_str().unwrap_or_default();
    assert!(message.contains(&format!("< min_index {far}")), "{a:?}");
    assert!(applied(&a) < far, "{a:?}");
    assert!(
        started.elapsed() >= Duration::from_millis(2900),
        "did not wait"
    );

    // Malformed min_index: JSON 400.
    for bad in ["abc", "-1", "", "1e3"] {
        let a = call(
            "GET",
            &format!("{furl}/kv/session?consistency=eventual&min_index={bad}"),
            None,
        );
        assert_eq!(a.status, 400, "{bad}: {a:?}");
        assert_eq!(a.json["error"], "invalid_min_index", "{bad}: {a:?}");
    }

    // Forwarded (lease, linearizable) and missing-key reads carry the header too.
    for c in ["lease", "linearizable"] {
        let a = get(&furl, "session", c);
        assert_eq!(a.status, 200, "{c}: {a:?}");
        assert_eq!(
            a.header("x-kv-forwarded-to"),
            Some(leader.to_string().as_str())
        );
        assert!(applied(&a) >= min, "{c}: {a:?}");
    }
    let a = get(&furl, "no-such-key", "eventual");
    assert_eq!(a.status, 404, "{a:?}");
    applied(&a);
}

/// `GET /kv?prefix=p&limit=N`: sorted items, `truncated`, every consistency
/// on a follower (lease and linearizable forwarded to the leader), eventual
/// listings on every node, and 400s for a bad limit, prefix or consistency.
#[test]
fn prefix_listing_with_limits() {
    let cluster = Cluster::three();
    let (leader, follower) = leader_and_follower(&cluster);
    let (lurl, furl) = (cluster.api_url(leader), cluster.api_url(follower));
    for i in 0..25 {
        let a = put(&lurl, &format!("list/a/{i:02}"), &format!("v{i}"));
        assert_eq!(a.status, 200, "{a:?}");
    }
    for key in ["list/b/1", "list/b/2", "other"] {
        assert_eq!(put(&lurl, key, "x").status, 200);
    }
    let list = |base: &str, query: &str| call("GET", &format!("{base}/kv?{query}"), None);
    let keys = |a: &common::Answer| -> Vec<String> {
        a.json["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(|i| i["key"].as_str().expect("key").to_string())
            .collect()
    };

    for c in ["linearizable", "lease"] {
        let a = list(
            &furl,
            &format!("prefix=list%2Fa%2F&limit=10&consistency={c}"),
        );
        assert_eq!(a.status, 200, "{c}: {a:?}");
        let expected: Vec<String> = (0..10).map(|i| format!("list/a/{i:02}")).collect();
        assert_eq!(keys(&a), expected, "{c}");
        assert_eq!(a.json["truncated"], true, "{c}");
        assert_eq!(a.json["items"][3]["value"], "v3");
        assert!(a.header("x-kv-applied-index").is_some(), "{a:?}");
        let all = list(
            &furl,
            &format!("prefix=list%2Fa%2F&limit=25&consistency={c}"),
        );
        assert_eq!(
            (keys(&all).len(), &all.json["truncated"]),
            (25, &false.into())
        );
    }
    // Eventual listings on every node converge: 27 keys under `list/`, 28 in all.
    for id in cluster.ids() {
        let url = cluster.api_url(id);
        let seen = wait_until(Duration::from_secs(5), || {
            let a = list(&url, "prefix=list%2F&limit=1000&consistency=eventual");
            (keys(&a).len() == 27).then_some(a)
        });
        let a = seen.unwrap_or_else(|| panic!("node {id} never listed the 27 keys"));
        assert_eq!(a.json["truncated"], false);
        let all = list(&url, "consistency=eventual&limit=1000");
        assert_eq!(keys(&all).len(), 28, "no prefix lists every key");
    }
    let none = list(&furl, "prefix=nothing-here&consistency=linearizable");
    assert_eq!(none.status, 200);
    assert_eq!(
        none.json,
        serde_json::json!({ "items": [], "truncated": false })
    );

    for (query, code) in [
        ("prefix=a&limit=0", "invalid_limit"),
        ("prefix=a&limit=1001", "invalid_limit"),
        ("prefix=a&limit=ten", "invalid_limit"),
        ("prefix=a&consistency=strong", "invalid_consistency"),
        (
            "prefix=a&consistency=eventual&min_index=x",
            "invalid_min_index",
        ),
    ] {
        let a = list(&furl, query);
        assert_eq!(
            (a.status, a.json["error"].as_str()),
            (400, Some(code)),
            "{query}: {a:?}"
        );
    }
    let long = "p".repeat(10_000);
    let a = list(&furl, &format!("prefix={long}"));
    assert_eq!(a.json["error"], "prefix_too_large", "{a:?}");
    // The node keeps serving.
    assert_eq!(get(&furl, "other", "linearizable").json["value"], "x");
}

/// The node config that turns on keys with a TTL (off by default).
const TTL_ON: &str = "[raft.state_machine.lease]\nenabled = true";

/// `POST /kv/{key}/cas`: swaps only on the expected value (`null`: absent),
/// 409 `cas_failed` otherwise, forwarded by followers like any write; many
/// clients racing for the same absent key: exactly one wins each round.
#[test]
fn compare_and_swap_on_any_node() {
    let cluster = Cluster::three();
    let (_, follower) = leader_and_follower(&cluster);
    let furl = cluster.api_url(follower);
    let urls: Vec<String> = cluster.ids().iter().map(|i| cluster.api_url(*i)).collect();
    let cas = |base: &str, key: &str, body: &str| {
        call("POST", &format!("{base}/kv/{key}/cas"), Some(body))
    };
    let a = cas(&furl, "cfg", r#"{"expected":null,"value":"v1"}"#);
    assert_eq!((a.status, &a.json["ok"]), (200, &true.into()), "{a:?}");
    assert!(a.header("x-kv-index").is_some(), "{a:?}");
    let a = cas(&furl, "cfg", r#"{"expected":null,"value":"v1b"}"#);
    assert_eq!(
        (a.status, a.json["error"].as_str()),
        (409, Some("cas_failed")),
        "{a:?}"
    );
    let a = cas(&furl, "cfg", r#"{"expected":"v0","value":"v2"}"#);
    assert_eq!(a.status, 409, "{a:?}");
    let a = cas(&furl, "cfg", r#"{"expected":"v1","value":"v2"}"#);
    assert_eq!(a.status, 200, "{a:?}");
    assert_eq!(get(&furl, "cfg", "linearizable").json["value"], "v2");
    // Keys with a slash: only the last `/cas` is the operation.
    let a = cas(&furl, "a%2Fcas", r#"{"expected":null,"value":"x"}"#);
    assert_eq!(a.status, 200, "{a:?}");
    assert_eq!(get(&furl, "a%2Fcas", "linearizable").json["value"], "x");
    // A POST on a key path without /cas, and bad bodies.
    let a = call("POST", &format!("{furl}/kv/cfg"), Some("{}"));
    assert_eq!(
        (a.status, a.json["error"].as_str()),
        (405, Some("method_not_allowed"))
    );
    for (body, code) in [
        (r#"{"value":"x"}"#, "missing_field"),
        (r#"{"expected":3,"value":"x"}"#, "invalid_field"),
        // TTLs are off on this cluster (the TTL test turns them on).
        (
            r#"{"expected":null,"value":"x","ttl_secs":5}"#,
            "ttl_disabled",
        ),
        ("not json", "invalid_json"),
    ] {
        let a = cas(&furl, "cfg", body);
        assert_eq!(
            (a.status, a.json["error"].as_str()),
            (400, Some(code)),
            "{body}: {a:?}"
        );
    }

    // Races: 6 clients per round, each on its own node (followers forward).
    for round in 0..5 {
        let key = format!("lock-{round}");
        let winners: Vec<u16> = std::thread::scope(|s| {
            let racers: Vec<_> = (0..6)
                .map(|i| {
                    let (base, key) = (urls[i % urls.len()].clone(), key.clone());
                    s.spawn(move || {
                        let body = format!(r#"{{"expected":null,"value":"racer-{i}"}}"#);
                        call("POST", &format!("{base}/kv/{key}/cas"), Some(&body)).status
                    })
                })
                .collect();
            racers
                .into_iter()
                .map(|r| r.join().expect("racer"))
                .collect()
        });
        let won = winners.iter().filter(|s| **s == 200).count();
        let lost = winners.iter().filter(|s| **s == 409).count();
        assert_eq!((won, lost), (1, 5), "round {round}: {winners:?}");
        let holder = get(&furl, &key, "linearizable");
        assert!(
            holder.json["value"]
                .as_str()
                .is_some_and(|v| v.starts_with("racer-")),
            "{holder:?}"
        );
    }
}

/// `ttl_secs` on `POST /kv` and `PUT /kv/{key}`: the key is served until it
/// expires and then disappears on every node, also after the leader that
/// accepted it is gone; keys without a TTL stay.
#[test]
fn keys_with_a_ttl_expire_on_every_node() {
    let mut cluster = Cluster::start(ClusterOptions {
        config_extra: vec![TTL_ON.into()],
        ..ClusterOptions::default()
    });
    let leader = cluster.wait_for_leader(Duration::from_secs(30));
    let lurl = cluster.api_url(leader);
    let a = call(
        "POST",
        &format!("{lurl}/kv"),
        Some(r#"{"key":"ephemeral","value":"x","ttl_secs":2}"#),
    );
    assert_eq!(a.status, 200, "{a:?}");
    let a = call(
        "PUT",
        &format!("{lurl}/kv/ephemeral-put"),
        Some(r#"{"value":"y","ttl_secs":2}"#),
    );
    assert_eq!(a.status, 200, "{a:?}");
    // A compare-and-swap with a TTL (a lock with a lease): the swapped-in
    // value expires; a failed swap changes nothing.
    let cas = |key: &str, body: &str| call("POST", &format!("{lurl}/kv/{key}/cas"), Some(body));
    let a = cas(
        "lease",
        r#"{"expected":null,"value":"holder-1","ttl_secs":2}"#,
    );
    assert_eq!(a.status, 200, "{a:?}");
    let a = cas(
        "lease",
        r#"{"expected":null,"value":"holder-2","ttl_secs":2}"#,
    );
    assert_eq!(a.status, 409, "{a:?}");
    assert_eq!(put(&lurl, "permanent", "p").status, 200);
    assert_eq!(get(&lurl, "ephemeral", "linearizable").json["value"], "x");
    assert_eq!(
        get(&lurl, "lease", "linearizable").json["value"],
        "holder-1"
    );
    let a = call(
        "PUT",
        &format!("{lurl}/kv/k"),
        Some(r#"{"value":"v","ttl_secs":0}"#),
    );
    assert_eq!(
        (a.status, a.json["error"].as_str()),
        (400, Some("invalid_ttl"))
    );

    // Survives a leader change: the survivors expire it too.
    let a = call(
        "POST",
        &format!("{lurl}/kv"),
        Some(r#"{"key":"ephemeral-2","value":"z","ttl_secs":4}"#),
    );
    assert_eq!(a.status, 200, "{a:?}");
    cluster.kill(leader);
    let survivors = cluster.live_ids();
    // The survivors first keep naming the dead leader: wait for one of them.
    let new_leader = wait_until(Duration::from_secs(30), || {
        cluster
            .agreed_leader(&survivors)
            .filter(|l| survivors.contains(l))
    })
    .expect("a new leader among the survivors");
    let nurl = cluster.api_url(new_leader);
    let started = std::time::Instant::now();
    for key in ["ephemeral", "ephemeral-put", "lease", "ephemeral-2"] {
        for id in &survivors {
            let url = cluster.api_url(*id);
            let gone = wait_until(Duration::from_secs(15), || {
                let a = get(&url, key, "eventual");
                (a.status == 404).then_some(())
            });
            assert!(gone.is_some(), "{key} still on node {id} after its TTL");
        }
        assert_eq!(get(&nurl, key, "linearizable").status, 404, "{key}");
    }
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "expired too early"
    );
    assert_eq!(get(&nurl, "permanent", "linearizable").json["value"], "p");
}

/// Reads the `data:` of the next `n` SSE events (comments skipped).
fn sse_events(reader: &mut impl std::io::BufRead, n: usize) -> Vec<serde_json::Value> {
    let mut events = Vec::new();
    let mut line = String::new();
    while events.len() < n {
        line.clear();
        let read = reader.read_line(&mut line).expect("SSE read");
        assert!(read > 0, "stream ended after {events:?}");
        if let Some(data) = line.strip_prefix("data: ") {
            events.push(serde_json::from_str(data.trim_end()).expect("event JSON"));
        }
    }
    events
}

/// A watcher that stops reading does not stall the node: writes and reads go
/// on, and once its buffer (256 events) is full the watch ends with
/// `event: canceled` after the events it did get, in order.
#[test]
fn a_slow_watch_consumer_is_cancelled_and_the_node_keeps_serving() {
    let cluster = Cluster::three();
    let (leader, follower) = leader_and_follower(&cluster);
    let (lurl, furl) = (cluster.api_url(leader), cluster.api_url(follower));
    // A raw connection that the test does not read while the writes go on.
    let addr = furl.trim_start_matches("http://").to_string();
    let mut watcher = TcpStream::connect(&addr).expect("connect");
    write!(
        watcher,
        "GET /watch/slow HTTP/1.1\r\nhost: {addr}\r\naccept: text/event-stream\r\n\r\n"
    )
    .unwrap();

    // 400 changes of 64 KiB (25 MiB): far more than the socket buffers and
    // the watcher's 256-event buffer hold.
    let value = "v".repeat(64 * 1024);
    let started = Instant::now();
    for i in 0..400 {
        let a = put(&lurl, "slow", &format!("{i}-{value}"));
        assert_eq!(
            a.status, 200,
            "write {i} while the watcher does not read: {a:?}"
        );
        if i % 100 == 0 {
            let r = get(&furl, "slow", "eventual");
            assert!(
                r.status == 200 || r.status == 404,
                "read on the watch's node: {r:?}"
            );
        }
    }
    assert!(
        started.elapsed() < Duration::from_secs(120),
        "400 writes took {:?}",
        started.elapsed()
    );

    // Now read what the watcher got: events in order, then the cancel notice.
    watcher
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut text = Vec::new();
    let mut buf = [0u8; 64 * 1024];
    let until = Instant::now() + Duration::from_secs(60);
    while !String::from_utf8_lossy(&text).contains("event: canceled") {
        assert!(
            Instant::now() < until,
            "no cancel notice within 60 s; {} events read, last bytes {:?}",
            String::from_utf8_lossy(&text).matches("data: ").count(),
            String::from_utf8_lossy(&text[text.len().saturating_sub(200)..])
        );
        match watcher.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => text.extend_from_slice(&buf[..n]),
            Err(e) => panic!("reading the watch: {e}"),
        }
    }
    let text = String::from_utf8_lossy(&text);
    assert!(
        text.contains("event: canceled"),
        "the watch was not cancelled"
    );
    let firsts: Vec<u64> = text
        .lines()
        .filter_map(|l| l.strip_prefix("data: {\"kind\":\"put\",\"key\":\"slow\",\"value\":\""))
        .map(|v| v.split('-').next().unwrap().parse().expect("value number"))
        .collect();
    assert!(!firsts.is_empty(), "events before the cancel");
    assert!(
        firsts.windows(2).all(|w| w[1] == w[0] + 1),
        "events in order without a hole before the cancel"
    );
    assert!(
        firsts.len() < 400,
        "the watcher fell behind: {} events",
        firsts.len()
    );
    // The node still serves.
    assert_eq!(put(&lurl, "after", "1").status, 200);
    assert_eq!(get(&furl, "slow", "lease").status, 200);
}

/// `GET /watch/{key}` and `GET /watch?prefix=p` on a follower: Server-Sent
/// Events, one per change, in order, with increasing indexes; changes to
/// other keys are not sent.
#[test]
fn watch_events_over_sse() {
    let cluster = Cluster::three();
    let (leader, follower) = leader_and_follower(&cluster);
    let (lurl, furl) = (cluster.api_url(leader), cluster.api_url(follower));
    let agent = ureq::AgentBuilder::new()
        .timeout_read(Duration::from_secs(10))
        .build();
    let open = |url: String| {
        let resp = match agent.get(&url).call() {
            Ok(r) => r,
            Err(ureq::Error::Status(code, r)) => {
                panic!(
                    "watch {url}: {code} {}",
                    r.into_string().unwrap_or_default()
                )
            }
            Err(e) => panic!("watch {url}: {e}"),
        };
        assert_eq!(resp.status(), 200);
        assert_eq!(resp.header("content-type"), Some("text/event-stream"));
        std::io::BufReader::new(resp.into_reader())
    };
    let mut on_key = open(format!("{furl}/watch/%2Fw%2Fk"));
    let mut on_prefix = open(format!("{furl}/watch?prefix=%2Fw%2F"));

    assert_eq!(put(&lurl, "/w/k", "1").status, 200);
    assert_eq!(put(&lurl, "/w/other", "x").status, 200);
    assert_eq!(put(&lurl, "elsewhere", "y").status, 200);
    assert_eq!(put(&lurl, "/w/k", "2").status, 200);
    assert_eq!(
        call("DELETE", &format!("{lurl}/kv/%2Fw%2Fk"), None).status,
        200
    );

    let seen = |events: &[serde_json::Value]| -> Vec<(String, String, Option<String>)> {
        events
            .iter()
            .map(|e| {
                (
                    e["kind"].as_str().unwrap_or_default().to_string(),
                    e["key"].as_str().unwrap_or_default().to_string(),
                    e["value"].as_str().map(str::to_string),
                )
            })
            .collect()
    };
    let increasing = |events: &[serde_json::Value]| {
        let idx: Vec<u64> = events
            .iter()
            .map(|e| e["index"].as_u64().expect("index"))
            .collect();
        assert!(idx.windows(2).all(|w| w[0] < w[1]), "indexes {idx:?}");
    };
    let key_events = sse_events(&mut on_key, 3);
    let own = |k: &str, v: Option<&str>, kind: &str| {
        (kind.to_string(), k.to_string(), v.map(str::to_string))
    };
    assert_eq!(
        seen(&key_events),
        vec![
            own("/w/k", Some("1"), "put"),
            own("/w/k", Some("2"), "put"),
            own("/w/k", None, "delete")
        ]
    );
    increasing(&key_events);
    let prefix_events = sse_events(&mut on_prefix, 4);
    assert_eq!(
        seen(&prefix_events),
        vec![
            own("/w/k", Some("1"), "put"),
            own("/w/other", Some("x"), "put"),
            own("/w/k", Some("2"), "put"),
            own("/w/k", None, "delete"),
        ]
    );
    increasing(&prefix_events);
    // Bad input.
    let a = call(
        "GET",
        &format!("{furl}/watch?prefix={}", "p".repeat(10_000)),
        None,
    );
    assert_eq!(a.json["error"], "prefix_too_large", "{a:?}");
    let a = call("GET", &format!("{furl}/watch?prefix=w"), None);
    assert_eq!(
        (a.status, a.json["error"].as_str()),
        (400, Some("invalid_prefix")),
        "{a:?}"
    );
    let a = call("POST", &format!("{furl}/watch/k"), Some("{}"));
    assert_eq!(a.status, 405, "{a:?}");
}
