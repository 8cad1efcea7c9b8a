//! A write whose attempt ends with an unknown outcome is not sent again
//! (unless the application opts in): sending it again could apply it twice,
//! around another client's write, which the robustness suite caught as a
//! linearizability violation (`kill_all`: a value seen, overwritten, seen again).
//!
//! A fake one-node cluster answers `/topology` and holds every `PUT` past the
//! client's attempt timeout, as a leader does that applied the write and died
//! or stalled before answering.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use actix_web::{web, App, HttpResponse, HttpServer};
use smart_client::{Error, SmartClient};

/// Start the fake node; returns its URL and the count of `PUT`s it received.
fn fake_leader() -> (String, Arc<AtomicUsize>, actix_web::dev::ServerHandle) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let puts = Arc::new(AtomicUsize::new(0));
    let topology = serde_json::json!({
        "node_id": 1, "term": 1, "leader_id": 1,
        "members": [{ "id": 1, "role": "leader", "api_url": url }]
    });
    let (p, t) = (puts.clone(), topology);
    let server = HttpServer::new(move || {
        let (p, t) = (p.clone(), t.clone());
        App::new()
            .route(
                "/topology",
                web::get().to(move || {
                    let t = t.clone();
                    async move { HttpResponse::Ok().json(t) }
                }),
            )
            .route(
                "/kv/{key}",
                web::put().to(move || {
                    let p = p.clone();
                    async move {
                        p.fetch_add(1, Ordering::SeqCst);
                        actix_web::rt::time::sleep(Duration::from_millis(1500)).await;
                        HttpResponse::Ok().json(serde_json::json!({ "ok": true }))
                    }
                }),
            )
    })
    .workers(1)
    .listen(listener)
    .unwrap()
    .run();
    let handle = server.handle();
    actix_web::rt::spawn(server);
    (url, puts, handle)
}

async fn client(url: &str, retry_unknown_writes: bool) -> SmartClient {
    SmartClient::builder()
        .seeds([url])
        .attempt_timeout(Duration::from_millis(300))
        .request_timeout(Duration::from_secs(2))
        .retry_unknown_writes(retry_unknown_writes)
        .build()
        .await
        .expect("client bootstraps")
}

#[actix_web::test]
async fn a_write_with_an_unknown_outcome_is_sent_once_and_reported_as_timeout() {
    let (url, puts, handle) = fake_leader();
    let c = client(&url, false).await;
    assert_eq!(c.put_str("k", "v").await, Err(Error::Timeout));
    assert_eq!(puts.load(Ordering::SeqCst), 1, "the write was sent again");
    handle.stop(false).await;
}

#[actix_web::test]
async fn opting_in_retries_it() {
    let (url, puts, handle) = fake_leader();
    let c = client(&url, true).await;
    assert_eq!(c.put_str("k", "v").await, Err(Error::Timeout));
    assert!(puts.load(Ordering::SeqCst) >= 2);
    handle.stop(false).await;
}
