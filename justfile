# Task runner for the project. Install just: `cargo install just` or `pip install rust-just`.
set shell := ["bash", "-euo", "pipefail", "-c"]

node_bin := "target/release/kv-node"

# List recipes.
default:
    @just --list

# Build the node binary (release).
build:
    cargo build --release -p kv-node

# Start nodes 1-3 from config/n1.toml..n3.toml; log lines prefixed with the node id; Ctrl-C stops all.
cluster: build
    #!/usr/bin/env bash
    set -uo pipefail
    pids=()
    stop() { trap - INT TERM; kill -TERM "${pids[@]}" 2>/dev/null; wait; exit 0; }
    trap stop INT TERM
    for i in 1 2 3; do
        {{node_bin}} --config-path config/n$i.toml > >(sed -u "s/^/[n$i] /") 2>&1 &
        pids+=($!)
    done
    echo "nodes 1-3 starting: API 127.0.0.1:8081-8083, health 10001-10003, Raft 9081-9083 (Ctrl-C stops)"
    wait

# Start one node in the foreground, e.g. `just node 2`.
node id: build
    {{node_bin}} --config-path config/n{{id}}.toml 2>&1 | sed -u "s/^/[n{{id}}] /"

# Run HAProxy with the HA guide's pattern in front of `just cluster` (frontend 127.0.0.1:8080).
haproxy:
    haproxy -db -f config/haproxy.cfg

# Remove local node data (./data).
clean:
    rm -rf data

# The failover demo (starts its own local cluster).
demo *args:
    cargo run --release -p demo -- {{args}}

# Smart client vs HAProxy vs pinned benchmark.
bench *args:
    cargo run --release -p demo -- bench {{args}}

# The test suite (same command as README and CI).
test:
    SPEC_TESTS_DIR=${SPEC_TESTS_DIR:-../shared/spec-tests} cargo test --workspace

# The whole robustness list: every fault (2 rounds each), histories checked for linearizability.
# ROBUSTNESS_SEED=N re-runs a selection, ROBUSTNESS_FAULTS=kill_leader,... narrows it.
robustness:
    cargo test -p kv-robustness --test robustness full_list -- --ignored --nocapture

# Random faults for MINUTES (failures saved under target/robustness/). ROBUSTNESS_FAULTS=power_cut_all,...
# narrows them, ROBUSTNESS_WRITERS=32 adds 32 write-only clients on write-once keys (all read back at the end).
soak minutes="10":
    ROBUSTNESS_SOAK_MINUTES={{minutes}} cargo test -p kv-robustness --test robustness soak -- --ignored --nocapture

# Everything CI does: install, fmt, clippy, tests.
ci:
    bash .ci/run

# Start node 4 (config/n4.toml) as a learner joining the running cluster.
join-node4: build
    {{node_bin}} --config-path config/n4.toml 2>&1 | sed -u "s/^/[n4] /"

# Start node 5 (config/n5.toml) as a learner joining the running cluster.
join-node5: build
    {{node_bin}} --config-path config/n5.toml 2>&1 | sed -u "s/^/[n5] /"

# Ask for a learner's promotion to voter, e.g. `just promote 4` (any node forwards to the leader).
promote id:
    curl -sS -X POST localhost:8081/admin/promote -H 'Content-Type: application/json' \
        ${KV_ADMIN_TOKEN:+-H "Authorization: Bearer $KV_ADMIN_TOKEN"} -d '{"node_id":{{id}}}'; echo

# Take a member out of the cluster, e.g. `just remove 4` (any node forwards to the leader).
remove id:
    curl -sS -X POST localhost:8081/admin/remove -H 'Content-Type: application/json' \
        ${KV_ADMIN_TOKEN:+-H "Authorization: Bearer $KV_ADMIN_TOKEN"} -d '{"node_id":{{id}}}'; echo
