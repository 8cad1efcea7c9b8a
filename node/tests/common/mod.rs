//! HTTP helpers shared by the node's integration tests.
#![allow(dead_code)]

use std::collections::HashMap;
use std::time::Duration;

use kv_contract::PostBody;
use serde_json::Value;

/// A parsed answer: status, lower-cased headers, JSON body (Null if not JSON).
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: HashMap<String, String>,
    pub json: Value,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(String::as_str)
    }
}

fn agent() -> ureq::Agent {
    ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(10))
        .build()
}

/// Send a request; panics only on transport errors.
pub fn call(method: &str, url: &str, body: Option<&str>) -> Answer {
    try_call(method, url, body).unwrap_or_else(|e| panic!("{method} {url}: {e}"))
}

/// Send a request; transport errors are returned.
pub fn try_call(method: &str, url: &str, body: Option<&str>) -> Result<Answer, String> {
    try_call_as(method, url, body, None)
}

/// Send a request with `Authorization: Bearer <token>` (admin endpoints);
/// panics only on transport errors.
pub fn call_as(method: &str, url: &str, body: Option<&str>, token: Option<&str>) -> Answer {
    try_call_as(method, url, body, token).unwrap_or_else(|e| panic!("{method} {url}: {e}"))
}

fn try_call_as(
    method: &str,
    url: &str,
    body: Option<&str>,
    token: Option<&str>,
) -> Result<Answer, String> {
    let mut req = agent()
        .request(method, url)
        .set("Content-Type", "application/json");
    if let Some(t) = token {
        req = req.set("Authorization", &format!("Bearer {t}"));
    }
    let res = match body {
        Some(b) => req.send_string(b),
        None => req.call(),
    };
    let resp = match res {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => return Err(e.to_string()),
    };
    let status = resp.status();
    let headers = resp
        .headers_names()
        .into_iter()
        .filter_map(|n| {
            resp.header(&n)
                .map(|v| (n.to_ascii_lowercase(), v.to_string()))
        })
        .collect();
    let text = resp.into_string().unwrap_or_default();
    let json = serde_json::from_str(&text).unwrap_or(Value::Null);
    Ok(Answer {
        status,
        headers,
        json,
    })
}

/// The `POST /kv` body writing `value` to `key`.
pub fn post_body(key: &str, value: &str) -> String {
    let body = PostBody {
        key: key.into(),
        value: value.into(),
        ttl_secs: None,
    };
    serde_json::to_string(&body).expect("encode")
}

pub fn put(base: &str, key: &str, value: &str) -> Answer {
    call("POST", &format!("{base}/kv"), Some(&post_body(key, value)))
}

pub fn get(base: &str, key: &str, consistency: &str) -> Answer {
    call(
        "GET",
        &format!("{base}/kv/{key}?consistency={consistency}"),
        None,
    )
}

/// Write like a client would: retry 5xx and transport errors (elections happen)
/// until `deadline`; panics if the write was never acknowledged.
pub fn put_acked(base: &str, key: &str, value: &str, deadline: Duration) -> Answer {
    let body = post_body(key, value);
    let until = std::time::Instant::now() + deadline;
    loop {
        match try_call("POST", &format!("{base}/kv"), Some(&body)) {
            Ok(a) if a.status == 200 => return a,
            Ok(a) if a.status < 500 => panic!("write {key} rejected: {a:?}"),
            other if std::time::Instant::now() > until => {
                panic!("write {key} not acknowledged within {deadline:?}: {other:?}")
            }
            _ => std::thread::sleep(Duration::from_millis(50)),
        }
    }
}
