//! The OpenAPI description (`GET /openapi.json`): it declares every route
//! the node serves, and schemathesis (PyPI, through `tools/schemathesis`)
//! fuzzes a live 3-node cluster through it with 0 failures: no undeclared
//! 5xx, every answer matches the description, schema-invalid input is
//! refused with a 4xx, undeclared methods answer 405 with `Allow`.

mod common;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use common::{call, call_as};
use kv_harness::{Cluster, ClusterOptions};
use serde_json::Value;

const TOKEN: &str = "fuzz-token";

/// Every route the node's API port serves, as `METHOD path`.
const ROUTES: &[&str] = &[
    "GET /kv",
    "POST /kv",
    "GET /kv/{key}",
    "PUT /kv/{key}",
    "DELETE /kv/{key}",
    "POST /kv/{key}/cas",
    "GET /watch",
    "GET /watch/{key}",
    "GET /topology",
    "GET /primary",
    "GET /replica",
    "GET /metrics",
    "GET /openapi.json",
    "POST /admin/promote",
    "POST /admin/remove",
    "POST /internal/members",
    "POST /internal/removed",
];

fn cluster() -> Cluster {
    Cluster::start(ClusterOptions {
        // With a token, loopback peers get no admin rights: the fuzzer
        // (which has no token) cannot remove nodes from under the run.
        node_extra: vec![format!("admin_token = \"{TOKEN}\"")],
        config_extra: vec!["[raft.state_machine.lease]\nenabled = true".into()],
        ..ClusterOptions::default()
    })
}

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

#[test]
fn the_description_declares_every_route_with_its_statuses() {
    let cluster = cluster();
    let leader = cluster.wait_for_leader(Duration::from_secs(30));
    let follower = cluster.ids().into_iter().find(|id| *id != leader).unwrap();
    let answer = call(
        "GET",
        &format!("{}/openapi.json", cluster.api_url(follower)),
        None,
    );
    assert_eq!(answer.status, 200, "{answer:?}");
    let doc = &answer.json;
    assert_eq!(doc["openapi"], "3.1.0");

    let declared: BTreeSet<String> = doc["paths"]
        .as_object()
        .expect("paths")
        .iter()
        .flat_map(|(path, ops)| {
            let ops = ops.as_object().expect("operations");
            ops.keys()
                .map(move |m| format!("{} {path}", m.to_uppercase()))
        })
        .collect();
    let routes: BTreeSet<String> = ROUTES.iter().map(|r| r.to_string()).collect();
    assert_eq!(declared, routes);

    let op = |route: &str| -> &Value {
        let (method, path) = route.split_once(' ').unwrap();
        &doc["paths"][path][method.to_lowercase()]
    };
    let statuses = |route: &str| -> BTreeSet<String> {
        op(route)["responses"]
            .as_object()
            .unwrap_or_else(|| panic!("{route} has no responses"))
            .keys()
            .cloned()
            .collect()
    };
    for write in ["POST /kv", "PUT /kv/{key}", "POST /kv/{key}/cas"] {
        for code in ["200", "400", "408", "413", "502", "503", "504", "507"] {
            assert!(statuses(write).contains(code), "{write} lacks {code}");
        }
    }
    assert!(statuses("POST /kv/{key}/cas").contains("409"));
    for code in ["200", "404", "400", "503", "504"] {
        assert!(statuses("GET /kv/{key}").contains(code), "GET lacks {code}");
    }
    let write_ok = &op("PUT /kv/{key}")["responses"]["200"];
    assert!(write_ok["headers"]["x-kv-index"].is_object(), "{write_ok}");
    let read_ok = &op("GET /kv/{key}")["responses"]["200"];
    assert!(read_ok["headers"]["x-kv-applied-index"].is_object());
    assert!(op("GET /watch/{key}")["responses"]["200"]["content"]["text/event-stream"].is_object());

    // Admin and internal endpoints name the bearer scheme.
    let scheme = &doc["components"]["securitySchemes"]["admin_token"];
    assert_eq!(
        (&scheme["type"], &scheme["scheme"]),
        (&"http".into(), &"bearer".into())
    );
    for admin in [
        "POST /admin/promote",
        "POST /admin/remove",
        "POST /internal/members",
    ] {
        assert_eq!(
            op(admin)["security"][0]["admin_token"],
            serde_json::json!([]),
            "{admin}"
        );
        assert!(statuses(admin).contains("401"), "{admin}");
    }

    // The node's limits are in the schemas.
    assert_eq!(doc["components"]["schemas"]["Key"]["maxLength"], 4096);
    assert_eq!(doc["components"]["schemas"]["Value"]["maxLength"], 1 << 20);

    // A method a path does not declare: 405 with Allow.
    let a = call(
        "PATCH",
        &format!("{}/kv/k", cluster.api_url(follower)),
        None,
    );
    assert_eq!(
        (a.status, a.header("allow")),
        (405, Some("GET, PUT, DELETE"))
    );
    let a = call(
        "DELETE",
        &format!("{}/openapi.json", cluster.api_url(leader)),
        None,
    );
    assert_eq!((a.status, a.header("allow")), (405, Some("GET")));
    // The admin token is needed, also from loopback, once one is set.
    let body = r#"{"node_id":3}"#;
    let url = format!("{}/admin/remove", cluster.api_url(leader));
    assert_eq!(call_as("POST", &url, Some(body), None).status, 401);
}

/// Runs schemathesis against `base`'s description; panics with its report on
/// any failure.
fn schemathesis(cluster: &Cluster, base: &str) {
    let root = repo_root();
    let max_examples = std::env::var("SCHEMATHESIS_MAX_EXAMPLES").unwrap_or_else(|_| "30".into());
    let out = Command::new(root.join("tools/schemathesis"))
        .current_dir(&root)
        .env(
            "SCHEMATHESIS_HOOKS",
            root.join("tools/schemathesis_hooks.py"),
        )
        .env("NO_COLOR", "1")
        .args(["--config-file", "tools/schemathesis.toml", "run"])
        .arg(format!("{base}/openapi.json"))
        .args(["--max-examples", &max_examples])
        .args(["--request-timeout", "10", "--workers", "2"])
        .output()
        .expect("tools/schemathesis runs (it needs python3 with venv and pip)");
    let report = String::from_utf8_lossy(&out.stdout);
    let summary: String = report
        .lines()
        .rev()
        .take(25)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect::<Vec<_>>()
        .join("\n");
    eprintln!("schemathesis against {base}:\n{summary}");
    assert!(
        out.status.success(),
        "schemathesis found failures against {base} (exit {:?}):\n{report}\n{}\nnode logs:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr),
        cluster.log_tails(20)
    );
    assert!(report.contains(" passed"), "no test case ran:\n{report}");
}

#[test]
fn schemathesis_finds_no_failure_on_a_follower_and_on_the_leader() {
    let cluster = cluster();
    let leader = cluster.wait_for_leader(Duration::from_secs(30));
    let follower = cluster.ids().into_iter().find(|id| *id != leader).unwrap();
    // On a follower every write and strong read is forwarded to the leader.
    schemathesis(&cluster, &cluster.api_url(follower));
    schemathesis(&cluster, &cluster.api_url(leader));
    // The cluster still serves.
    cluster.wait_for_leader(Duration::from_secs(10));
    let a = common::put(&cluster.api_url(follower), "after-fuzz", "v");
    assert_eq!(a.status, 200, "{a:?}");
}
