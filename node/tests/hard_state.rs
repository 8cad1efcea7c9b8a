//! d-engine patch 7: a node's Raft term and vote survive a crash.
//!
//! d-engine 0.2.4 wrote its hard state (current term, vote) only when the
//! engine was dropped, i.e. on a clean shutdown. After a SIGKILL every node
//! restarted in term 1 with no vote, so it could vote a second time in a term
//! it had already voted in, and a new leader could be elected in a term that
//! already had one. Found by the robustness suite (`kill_follower`: nodes
//! logged "No hard state found" and "Start node with role: 1 and term: 1"
//! after every SIGKILL).

use std::time::Duration;

use kv_harness::Cluster;

fn term(cluster: &Cluster, id: u32) -> u64 {
    cluster.topology(id).expect("topology").term
}

#[test]
fn terms_and_votes_survive_sigkill_of_every_node() {
    let mut cluster = Cluster::three();
    let leader = cluster.wait_for_leader(Duration::from_secs(30));
    let before = term(&cluster, leader);
    for id in cluster.ids() {
        cluster.kill(id);
    }
    for id in cluster.ids() {
        let path = cluster
            .node(id)
            .data_dir
            .join("storage/meta/hard_state.bin");
        assert!(
            path.is_file(),
            "node {id}: no hard state on disk after SIGKILL ({})",
            path.display()
        );
    }
    for id in cluster.ids() {
        cluster.restart(id);
    }
    let leader = cluster.wait_for_leader(Duration::from_secs(30));
    let after = term(&cluster, leader);
    assert!(
        after > before,
        "leader elected in term {after} after a restart, not after the term {before} of the old one"
    );
}
