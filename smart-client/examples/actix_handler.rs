//! The smart client inside actix-web handlers.
//!
//! Start a cluster (`just cluster`), then:
//! `cargo run -p smart-client --example actix_handler -- http://127.0.0.1:8081`
//! and `curl -X PUT localhost:8080/items/a -d hello; curl localhost:8080/items/a`.

use actix_web::{web, App, HttpResponse, HttpServer};
use smart_client::{Error, ReadConsistency, SmartClient};

async fn get_item(client: web::Data<SmartClient>, key: web::Path<String>) -> HttpResponse {
    match client.get_str(&key, ReadConsistency::Eventual).await {
        Ok(Some(v)) => HttpResponse::Ok().body(v),
        Ok(None) => HttpResponse::NotFound().finish(),
        Err(e) => error_response(&e),
    }
}

async fn put_item(
    client: web::Data<SmartClient>,
    key: web::Path<String>,
    body: String,
) -> HttpResponse {
    match client.put_str(&key, &body).await {
        Ok(()) => HttpResponse::NoContent().finish(),
        Err(e) => error_response(&e),
    }
}

fn error_response(e: &Error) -> HttpResponse {
    match e {
        Error::BadRequest { .. } => HttpResponse::BadRequest().body(e.to_string()),
        _ => HttpResponse::ServiceUnavailable().body(e.to_string()),
    }
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    tracing_subscriber::fmt::init();
    let seeds: Vec<String> = std::env::args().skip(1).collect();
    let seeds = if seeds.is_empty() {
        vec!["http://127.0.0.1:8081".to_owned()]
    } else {
        seeds
    };
    let client = SmartClient::builder()
        .seeds(seeds)
        .build()
        .await
        .map_err(std::io::Error::other)?;
    // One client for every worker: the handle is Send + Sync + Clone.
    let data = web::Data::new(client);
    HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .route("/items/{key}", web::get().to(get_item))
            .route("/items/{key}", web::put().to(put_item))
    })
    .bind(("127.0.0.1", 8080))?
    .run()
    .await
}
