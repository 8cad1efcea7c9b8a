//! Metrics: a Prometheus recorder behind the `metrics` facade (which d-engine
//! also reports through), and the per-request middleware that counts requests,
//! records latency histograms and stamps every answer with this node's view
//! of the leader.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::web;
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
    method: Method,
    state: Option<web::Data<AppState>>,
}

/// Request counter and latency histogram of one (route, method, status).
type RequestMetrics = (metrics::Counter, metrics::Histogram);

thread_local! {
    /// Metric handles per (route, method, status), per HTTP worker thread:
    /// registering labels costs string formatting and a registry lookup,
    /// a cached handle one atomic add.
    static REQUEST_METRICS: RefCell<HashMap<(String, Method, u16), RequestMetrics>> =
        RefCell::new(HashMap::new());
}

impl RequestTimer {
    /// Capture the start time, method and shared state of `req`.
    pub fn start(req: &ServiceRequest) -> Self {
        Self {
            started: Instant::now(),
            method: req.method().clone(),
            state: req.app_data::<web::Data<AppState>>().cloned(),
        }
    }

    /// Count and time the finished request and stamp the view headers.
    pub fn finish(self, mut res: ServiceResponse) -> ServiceResponse {
        let route = res
            .request()
            .match_pattern()
            .unwrap_or_else(|| "unmatched".to_string());
        let status = res.status().as_u16();
        let elapsed = self.started.elapsed().as_secs_f64();
        REQUEST_METRICS.with(|cache| {
            let mut cache = cache.borrow_mut();
            let (requests, duration) = cache
                .entry((route, self.method, status))
                .or_insert_with_key(|(route, method, status)| {
                    let labels = [
                        ("route", route.clone()),
                        ("method", method.to_string()),
                        ("status", status.to_string()),
                    ];
                    (
                        metrics::counter!("kv_http_requests_total", &labels),
                        metrics::histogram!("kv_http_request_duration_seconds", &labels),
                    )
                });
            requests.increment(1);
            duration.record(elapsed);
        });
        if let Some(state) = self.state {
            let view = state.topology();
            let out = res.headers_mut();
            for (name, value) in &view.headers {
                out.insert(name.clone(), value.clone());
            }
        }
        res
    }
}
