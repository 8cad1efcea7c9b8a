//! Runs the built demo end to end (its own local cluster, a leader kill and
//! a restart) and checks the JSON summary on the last line of stdout.

use std::process::Command;

use serde_json::Value;

#[test]
fn demo_json_summary_after_leader_kill() {
    let out = Command::new(env!("CARGO_BIN_EXE_demo"))
        .args(["--json", "--duration-secs", "10", "--kill-after-secs", "3"])
        .output()
        .expect("run the demo binary");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "demo failed: {:?}\nstdout:\n{stdout}\nstderr:\n{stderr}",
        out.status
    );
    let last = stdout.lines().last().expect("some stdout");
    let summary: Value = serde_json::from_str(last)
        .unwrap_or_else(|e| panic!("last line is not JSON ({e}): {last}\nstderr:\n{stderr}"));
    for key in [
        "acked_writes",
        "lost_writes",
        "failed_writes",
        "failed_reads",
        "write_unavailable_ms",
        "old_leader",
        "new_leader",
        "reads_by_node",
        "forwarded_writes",
    ] {
        assert!(summary.get(key).is_some(), "missing {key} in {summary}");
    }
    assert_eq!(summary["lost_writes"], 0, "{summary}");
    assert!(summary["acked_writes"].as_u64().unwrap() > 0, "{summary}");
    assert!(summary["old_leader"].is_u64(), "{summary}");
    assert_ne!(summary["old_leader"], summary["new_leader"], "{summary}");
    assert!(summary["reads_by_node"].is_object(), "{summary}");
}
