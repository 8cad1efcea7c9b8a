//! The example programs run as a user runs them, against a real 3-node
//! cluster. `cargo test` builds the examples next to the test binaries
//! (`target/<profile>/examples/`).

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use kv_harness::Cluster;

/// `target/<profile>/examples/{name}` (this test runs from `.../deps/`).
fn example(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let profile_dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target/<profile>/deps");
    let path = profile_dir.join("examples").join(name);
    assert!(
        path.exists(),
        "{} not built (cargo test builds the examples)",
        path.display()
    );
    path
}

/// `examples/lock.rs`: alpha takes the lock and dies without releasing it;
/// beta gets it once alpha's lease ran out, with a higher fencing token (the
/// program checks both and exits non-zero otherwise).
#[test]
fn the_lock_example_passes_the_lock_to_a_second_holder() {
    let cluster = Cluster::three();
    cluster.wait_for_leader(Duration::from_secs(30));
    let out = Command::new(example("lock"))
        .args(cluster.api_urls())
        .output()
        .expect("run the lock example");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "lock example failed: {}\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("alpha holds the lock"), "{stdout}");
    assert!(stdout.contains("beta holds the lock"), "{stdout}");
    assert!(stdout.contains("beta released the lock"), "{stdout}");
}
