//! Metrics: a Prometheus recorder behind the `metrics` facade (which d-engine
//! also reports through), and the per-request middleware that counts requests,
//! records latency histograms and stamps every answer with this node's view
//! of the leader.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::web;
use kv_contract::headers;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::state::AppState;

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Install the process-wide Prometheus recorder once and return its handle.
pub fn install_recorder() -> PrometheusHandle {
    HANDLE
        .get_or_init(|| {
            let buckets = [
                0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
                1.0, 2.5, 5.0,
            ];
            let builder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), &buckets)
                .expect("non-empty buckets");
            let handle = builder
                .install_recorder()
                .unwrap_or_else(|_| PrometheusBuilder::new().build_recorder().handle());
            let upkeep = handle.clone();
            std::thread::Builder::new()
                .name("metrics-upkeep".into())
                .spawn(move || loop {
                    std::thread::sleep(Duration::from_secs(5));
                    upkeep.run_upkeep();
                })
                .ok();
            handle
        })
        .clone()
}

/// What the middleware captures before a request runs.
pub struct RequestTimer {
    started: Instant,
    method: String,
    state: Option<web::Data<AppState>>,
}

impl RequestTimer {
    /// Capture the start time, method and shared state of `req`.
    pub fn start(req: &ServiceRequest) -> Self {
        Self {
            started: Instant::now(),
            method: req.method().to_string(),
            state: req.app_data::<web::Data<AppState>>().cloned(),
        }
    }

    /// Count and time the finished request and stamp the view headers.
    pub fn finish(self, mut res: ServiceResponse) -> ServiceResponse {
        let route = res
            .request()
            .match_pattern()
            .unwrap_or_else(|| "unmatched".to_string());
        let status = res.status().as_u16().to_string();
        let labels = [
            ("route", route),
            ("method", self.method),
            ("status", status),
        ];
        metrics::counter!("kv_http_requests_total", &labels).increment(1);
        metrics::histogram!("kv_http_request_duration_seconds", &labels)
            .record(self.started.elapsed().as_secs_f64());
        if let Some(state) = self.state {
            let view = state.topology();
            let topo = &view.topology;
            let out = res.headers_mut();
            let mut set = |name: &'static str, value: String| {
                if let Ok(v) = HeaderValue::from_str(&value) {
                    out.insert(HeaderName::from_static(name), v);
                }
            };
            set(headers::NODE, state.node_id.to_string());
            set(headers::TERM, topo.term.to_string());
            if let Some(leader) = topo.leader_id {
                set(headers::LEADER, leader.to_string());
            }
            if let Some(url) = view.leader_url() {
                set(headers::LEADER_URL, url.to_string());
            }
        }
        res
    }
}
