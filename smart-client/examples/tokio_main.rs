//! The smart client from a plain `#[tokio::main]` program.
//!
//! Start a cluster (`just cluster`), then:
//! `cargo run -p smart-client --example tokio_main -- http://127.0.0.1:8081`

use std::time::Duration;

use smart_client::{ReadConsistency, SmartClient};

#[tokio::main]
async fn main() -> smart_client::Result<()> {
    tracing_subscriber::fmt::init();
    let seeds: Vec<String> = std::env::args().skip(1).collect();
    let seeds = if seeds.is_empty() {
        vec!["http://127.0.0.1:8081".to_owned()]
    } else {
        seeds
    };
    let client = SmartClient::builder()
        .seeds(seeds)
        .request_timeout(Duration::from_secs(5))
        .build()
        .await?;
    println!("topology: {:?}", client.topology());
    // The handle is Send + Sync + Clone: share it across spawned tasks.
    let tasks: Vec<_> = (0..4)
        .map(|t| {
            let client = client.clone();
            tokio::spawn(async move {
                for i in 0..25 {
                    let key = format!("example-{t}-{i}");
                    client.put_str(&key, "value").await?;
                    client.get_str(&key, ReadConsistency::Eventual).await?;
                }
                smart_client::Result::Ok(())
            })
        })
        .collect();
    for t in tasks {
        t.await.expect("task panicked")?;
    }
    println!("stats: {:#?}", client.stats());
    Ok(())
}
