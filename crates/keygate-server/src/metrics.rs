//! What the server has done, in Prometheus' text format at `GET /metrics`: requests by route
//! and status, authentications by outcome and reason, and a latency histogram. Labels are
//! route templates and fixed reasons, never ids or credentials.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 10] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0];

/// The server's counters.
#[derive(Debug, Default)]
pub(crate) struct Metrics {
    requests: Mutex<BTreeMap<(String, String, u16), u64>>,
    authentications: Mutex<BTreeMap<(&'static str, &'static str), u64>>,
    latency: [AtomicU64; BUCKETS.len()],
    latency_count: AtomicU64,
    latency_micros: AtomicU64,
}

impl Metrics {
    /// A request to `route` (its template) answered with `status` after `elapsed`.
    pub(crate) fn request(&self, method: &str, route: &str, status: u16, elapsed: Duration) {
        let mut requests = self.requests.lock().unwrap_or_else(PoisonError::into_inner);
        *requests.entry((method.to_owned(), route.to_owned(), status)).or_default() += 1;
        drop(requests);
        let seconds = elapsed.as_secs_f64();
        for (bound, counter) in BUCKETS.iter().zip(&self.latency) {
            if seconds <= *bound {
                counter.fetch_add(1, Ordering::Relaxed);
            }
        }
        self.latency_count.fetch_add(1, Ordering::Relaxed);
        let micros = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
        self.latency_micros.fetch_add(micros, Ordering::Relaxed);
    }

    /// An authentication's outcome (`success`, `failure`, `refused`) and, unless it succeeded,
    /// why.
    pub(crate) fn authentication(&self, outcome: &'static str, reason: &'static str) {
        let mut map = self.authentications.lock().unwrap_or_else(PoisonError::into_inner);
        *map.entry((outcome, reason)).or_default() += 1;
    }

    /// The text exposition.
    pub(crate) fn render(&self) -> String {
        let mut out = String::new();
        out.push_str(
            "# HELP keygate_server_requests_total Requests answered, by method, route and status.\n\
             # TYPE keygate_server_requests_total counter\n",
        );
        let requests = self.requests.lock().unwrap_or_else(PoisonError::into_inner).clone();
        for ((method, route, status), count) in &requests {
            let _ = writeln!(
                out,
                "keygate_server_requests_total{{method=\"{method}\",route=\"{}\",status=\"{status}\"}} {count}",
                escape(route)
            );
        }
        out.push_str(
            "# HELP keygate_server_authentications_total Authentications, by outcome and reason.\n\
             # TYPE keygate_server_authentications_total counter\n",
        );
        let authentications =
            self.authentications.lock().unwrap_or_else(PoisonError::into_inner).clone();
        for ((outcome, reason), count) in &authentications {
            let _ = writeln!(
                out,
                "keygate_server_authentications_total{{outcome=\"{outcome}\",reason=\"{reason}\"}} {count}"
            );
        }
        out.push_str(
            "# HELP keygate_server_request_duration_seconds Time to answer a request.\n\
             # TYPE keygate_server_request_duration_seconds histogram\n",
        );
        for (bound, counter) in BUCKETS.iter().zip(&self.latency) {
            let _ = writeln!(
                out,
                "keygate_server_request_duration_seconds_bucket{{le=\"{bound}\"}} {}",
                counter.load(Ordering::Relaxed)
            );
        }
        let count = self.latency_count.load(Ordering::Relaxed);
        let sum = self.latency_micros.load(Ordering::Relaxed) as f64 / 1e6;
        let _ =
            writeln!(out, "keygate_server_request_duration_seconds_bucket{{le=\"+Inf\"}} {count}");
        let _ = writeln!(out, "keygate_server_request_duration_seconds_sum {sum}");
        let _ = writeln!(out, "keygate_server_request_duration_seconds_count {count}");
        out
    }
}

/// A label value with `\`, `"` and newlines escaped, as the format asks.
fn escape(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_render_with_their_labels() {
        let metrics = Metrics::default();
        metrics.request("GET", "/v1/api-keys", 200, Duration::from_millis(2));
        metrics.request("GET", "/v1/api-keys", 200, Duration::from_millis(20));
        metrics.authentication("failure", "wrong_resource");
        let text = metrics.render();
        assert!(text.contains(
            "keygate_server_requests_total{method=\"GET\",route=\"/v1/api-keys\",status=\"200\"} 2"
        ));
        assert!(text.contains(
            "keygate_server_authentications_total{outcome=\"failure\",reason=\"wrong_resource\"} 1"
        ));
        assert!(text.contains("keygate_server_request_duration_seconds_bucket{le=\"0.0025\"} 1"));
        assert!(text.contains("keygate_server_request_duration_seconds_count 2"));
    }
}
