//! The client's figures through the `metrics` facade, as an application with
//! a Prometheus recorder sees them (its own test binary: the recorder is
//! process-wide).

use std::time::Duration;

use kv_harness::Cluster;
use metrics_exporter_prometheus::PrometheusBuilder;
use smart_client::{ReadConsistency, SmartClient};

/// The value of the sample line starting with `series` (name and labels).
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find(|l| l.starts_with(series) && l[series.len()..].starts_with(' '))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_errors_retries_and_latency_reach_the_application_recorder() {
    let recorder = PrometheusBuilder::new().build_recorder();
    let handle = recorder.handle();
    metrics::set_global_recorder(recorder).expect("first recorder of this process");

    let mut cluster = Cluster::three();
    let leader = cluster.wait_for_leader(Duration::from_secs(30));
    let client = SmartClient::builder()
        .seeds(cluster.api_urls())
        .request_timeout(Duration::from_secs(5))
        .build()
        .await
        .expect("client bootstraps");
    for i in 0..20 {
        client.put_str(&format!("k{i}"), "v").await.expect("write");
    }
    for i in 0..30 {
        client
            .get_str(&format!("k{}", i % 20), ReadConsistency::Eventual)
            .await
            .expect("read");
    }
    // Over the nodes' 1 MiB value limit: the server refuses it (413).
    let bad = client.put("big", vec![b'x'; 1_100_000]).await;
    assert!(bad.is_err(), "an oversized value is refused: {bad:?}");
    cluster.kill(leader);
    for i in 0..5 {
        client
            .put_str(&format!("after{i}"), "v")
            .await
            .expect("write after failover");
    }

    let text = handle.render();
    let stats = client.stats();
    assert_eq!(
        sample(&text, r#"smart_client_requests_total{op="put"}"#),
        Some(26.0),
        "{text}"
    );
    assert_eq!(
        sample(&text, r#"smart_client_requests_total{op="get_eventual"}"#),
        Some(30.0)
    );
    assert_eq!(
        sample(&text, r#"smart_client_errors_total{op="put"}"#),
        Some(1.0)
    );
    assert_eq!(
        sample(&text, "smart_client_leader_changes_total"),
        Some(stats.leader_changes_seen as f64)
    );
    assert!(stats.leader_changes_seen >= 1, "{stats:?}");
    assert_eq!(
        sample(&text, "smart_client_retries_total"),
        Some(stats.retries as f64)
    );
    // One latency histogram per node that answered; every answer counted.
    let answered: f64 = cluster
        .ids()
        .iter()
        .filter_map(|id| {
            sample(
                &text,
                &format!(r#"smart_client_attempt_duration_seconds_count{{node="{id}"}}"#),
            )
        })
        .sum();
    assert!(answered >= 55.0, "{answered} answers recorded:\n{text}");
}
