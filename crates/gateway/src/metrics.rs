//! Request and source-call measurements for `/metrics`: counters by route
//! and status, and latency histograms with fixed buckets. Labels are route
//! names, status codes and source ids: never patient data.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Bucket upper bounds in seconds: from 1 ms (a cache hit) to 30 s.
const BOUNDS: [f64; 14] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// Bucket upper bounds for the time the gateway adds to a request, in
/// seconds: from 50 µs (the target is under 1 ms) to 1 s.
const ADDED_BOUNDS: [f64; 14] = [
    0.00005, 0.0001, 0.00025, 0.0005, 0.00075, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
    1.0,
];

/// A latency histogram with the Prometheus bucket semantics (cumulative
/// counts per upper bound, plus sum and count).
#[derive(Debug)]
pub struct Histogram {
    bounds: &'static [f64; 14],
    buckets: [AtomicU64; 14],
    count: AtomicU64,
    sum_micros: AtomicU64,
}

impl Default for Histogram {
    fn default() -> Self {
        Self::with_bounds(&BOUNDS)
    }
}

impl Histogram {
    /// An empty histogram with these bucket upper bounds (seconds).
    fn with_bounds(bounds: &'static [f64; 14]) -> Self {
        Self {
            bounds,
            buckets: Default::default(),
            count: AtomicU64::new(0),
            sum_micros: AtomicU64::new(0),
        }
    }

    /// Records one duration.
    pub fn observe(&self, d: Duration) {
        let secs = d.as_secs_f64();
        if let Some(i) = self.bounds.iter().position(|b| secs <= *b) {
            self.buckets[i].fetch_add(1, Ordering::Relaxed);
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_micros.fetch_add(
            u64::try_from(d.as_micros()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
    }

    /// Writes the histogram's series for `name` with `labels` (already
    /// formatted, `key="value",…`, or empty).
    fn render(&self, out: &mut String, name: &str, labels: &str) {
        let sep = if labels.is_empty() { "" } else { "," };
        let mut cumulative = 0;
        for (bound, bucket) in self.bounds.iter().zip(&self.buckets) {
            cumulative += bucket.load(Ordering::Relaxed);
            let _ = writeln!(
                out,
                "{name}_bucket{{{labels}{sep}le=\"{bound}\"}} {cumulative}"
            );
        }
        let count = self.count.load(Ordering::Relaxed);
        let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"+Inf\"}} {count}");
        let sum = self.sum_micros.load(Ordering::Relaxed) as f64 / 1e6;
        let braces = |s: &str| {
            if s.is_empty() {
                String::new()
            } else {
                format!("{{{s}}}")
            }
        };
        let _ = writeln!(out, "{name}_sum{} {sum}", braces(labels));
        let _ = writeln!(out, "{name}_count{} {count}", braces(labels));
    }
}

/// Counters and histograms keyed by a small label set.
#[derive(Debug)]
pub struct Measurements {
    requests: Mutex<BTreeMap<(&'static str, u16), u64>>,
    request_latency: Mutex<BTreeMap<&'static str, std::sync::Arc<Histogram>>>,
    audit_write: Histogram,
    added: Histogram,
}

impl Default for Measurements {
    fn default() -> Self {
        Self {
            requests: Mutex::default(),
            request_latency: Mutex::default(),
            audit_write: Histogram::default(),
            added: Histogram::with_bounds(&ADDED_BOUNDS),
        }
    }
}

/// One source's outcomes and latency; kept with the source, so that a
/// request's measurement touches no shared map.
#[derive(Debug, Default)]
pub struct SourceMeasurements {
    outcomes: Mutex<BTreeMap<&'static str, u64>>,
    latency: Histogram,
}

impl SourceMeasurements {
    /// The source's part of one record request: its status and latency.
    pub fn observe(&self, status: &'static str, took: Duration) {
        *lock(&self.outcomes).entry(status).or_insert(0) += 1;
        self.latency.observe(took);
    }
}

/// The per-source families for `/metrics`, over (source id, measurements).
pub fn render_sources<'a>(out: &mut String, sources: &[(&'a str, &'a SourceMeasurements)]) {
    let _ = writeln!(
        out,
        "# HELP icr_source_outcomes_total Sources' parts of record requests, by status (ok, partial, not_found, timeout, unavailable, error, withheld).\n# TYPE icr_source_outcomes_total counter"
    );
    for (source, m) in sources {
        for (status, n) in lock(&m.outcomes).iter() {
            let _ = writeln!(
                out,
                "icr_source_outcomes_total{{source=\"{source}\",status=\"{status}\"}} {n}"
            );
        }
    }
    let _ = writeln!(
        out,
        "# HELP icr_source_duration_seconds Time each source took for its part of a record request (cache hits included).\n# TYPE icr_source_duration_seconds histogram"
    );
    for (source, m) in sources {
        m.latency.render(
            out,
            "icr_source_duration_seconds",
            &format!("source=\"{source}\""),
        );
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Measurements {
    /// One request answered on `route` with `status` after `took`.
    pub fn request(&self, route: &'static str, status: u16, took: Duration) {
        *lock(&self.requests).entry((route, status)).or_insert(0) += 1;
        let h = std::sync::Arc::clone(lock(&self.request_latency).entry(route).or_default());
        h.observe(took);
    }

    /// The time one record request spent in the gateway beyond waiting for
    /// its sources: authentication, policy, merge, audit and rendering.
    pub fn added(&self, took: Duration) {
        self.added.observe(took);
    }

    /// One audit record written and synced (or failed) after `took`.
    pub fn audit_write(&self, took: Duration) {
        self.audit_write.observe(took);
    }

    /// The Prometheus text for everything measured.
    pub fn render(&self, out: &mut String) {
        let _ = writeln!(
            out,
            "# HELP icr_audit_write_duration_seconds Time to write and sync one access to the audit log (group commit included).\n# TYPE icr_audit_write_duration_seconds histogram"
        );
        self.audit_write
            .render(out, "icr_audit_write_duration_seconds", "");
        let _ = writeln!(
            out,
            "# HELP icr_record_added_seconds Time a record request spent in the gateway beyond waiting for its sources (authentication, policy, merge, audit, rendering).\n# TYPE icr_record_added_seconds histogram"
        );
        self.added.render(out, "icr_record_added_seconds", "");
        let _ = writeln!(
            out,
            "# HELP icr_http_requests_total Requests answered, by route and HTTP status.\n# TYPE icr_http_requests_total counter"
        );
        for ((route, status), n) in lock(&self.requests).iter() {
            let _ = writeln!(
                out,
                "icr_http_requests_total{{route=\"{route}\",status=\"{status}\"}} {n}"
            );
        }
        let _ = writeln!(
            out,
            "# HELP icr_http_request_duration_seconds Time to answer, by route.\n# TYPE icr_http_request_duration_seconds histogram"
        );
        for (route, h) in lock(&self.request_latency).iter() {
            h.render(
                out,
                "icr_http_request_duration_seconds",
                &format!("route=\"{route}\""),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histograms_are_cumulative_with_sum_and_count() {
        let m = Measurements::default();
        m.request("record", 200, Duration::from_millis(3));
        m.request("record", 200, Duration::from_millis(40));
        m.request("record", 403, Duration::from_secs(60));
        let mut out = String::new();
        m.render(&mut out);
        assert!(out.contains("icr_http_requests_total{route=\"record\",status=\"200\"} 2\n"));
        assert!(out.contains("icr_http_requests_total{route=\"record\",status=\"403\"} 1\n"));
        assert!(out.contains(
            "icr_http_request_duration_seconds_bucket{route=\"record\",le=\"0.0025\"} 0\n"
        ));
        assert!(out.contains(
            "icr_http_request_duration_seconds_bucket{route=\"record\",le=\"0.005\"} 1\n"
        ));
        assert!(out.contains(
            "icr_http_request_duration_seconds_bucket{route=\"record\",le=\"0.05\"} 2\n"
        ));
        assert!(
            out.contains(
                "icr_http_request_duration_seconds_bucket{route=\"record\",le=\"30\"} 2\n"
            )
        );
        assert!(out.contains(
            "icr_http_request_duration_seconds_bucket{route=\"record\",le=\"+Inf\"} 3\n"
        ));
        assert!(out.contains("icr_http_request_duration_seconds_count{route=\"record\"} 3\n"));
        assert!(out.contains("icr_http_request_duration_seconds_sum{route=\"record\"} 60.043\n"));
    }

    #[test]
    fn added_time_has_sub_millisecond_buckets() {
        let m = Measurements::default();
        m.added(Duration::from_micros(80));
        m.added(Duration::from_micros(600));
        m.added(Duration::from_millis(3));
        let mut out = String::new();
        m.render(&mut out);
        assert!(out.contains("icr_record_added_seconds_bucket{le=\"0.00005\"} 0\n"));
        assert!(out.contains("icr_record_added_seconds_bucket{le=\"0.0001\"} 1\n"));
        assert!(out.contains("icr_record_added_seconds_bucket{le=\"0.00075\"} 2\n"));
        assert!(out.contains("icr_record_added_seconds_bucket{le=\"0.005\"} 3\n"));
        assert!(out.contains("icr_record_added_seconds_count 3\n"));
        assert!(out.contains("icr_record_added_seconds_sum 0.00368\n"));
    }
}
