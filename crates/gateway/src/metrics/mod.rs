//! Everything `/metrics` shows, in one place: the request and source-call
//! measurements (counters by route and status, latency histograms with
//! fixed buckets), and the Prometheus text rendered from one [`Snapshot`]
//! of the gateway's counters. Labels are route names, status codes, source
//! ids and states: never patient data.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::resilience::CircuitState;

mod snapshot;
pub(crate) use snapshot::{CacheSnapshot, Snapshot, SourceSnapshot};

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
    pub fn observe(&self, status: icr_model::SourceStatus, took: Duration) {
        self.count(status);
        self.latency.observe(took);
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

    /// One request waited `took` for its audit entry to be written and
    /// synced (or to fail).
    pub fn audit_write(&self, took: Duration) {
        self.audit_write.observe(took);
    }

    /// The Prometheus text for everything measured.
    pub fn render(&self, out: &mut String) {
        let _ = writeln!(
            out,
            "# HELP icr_audit_write_duration_seconds Time a request waited for its audit entry to be written and synced (group commit included); for a record, what remained of its begun entry's sync after the merge.\n# TYPE icr_audit_write_duration_seconds histogram"
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

/// The Prometheus text for a snapshot.
pub(crate) fn render(s: &Snapshot<'_>) -> String {
    let mut out = String::new();
    let mut metric = |name: &str, kind: &str, help: &str, value: u64| {
        let _ = writeln!(
            out,
            "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}"
        );
    };
    metric(
        "icr_break_glass_total",
        "counter",
        "Accesses granted by breaking glass, for privacy-officer review.",
        s.break_glass,
    );
    metric(
        "icr_audit_appends_total",
        "counter",
        "Audit entries written and synced (a released record is two: begun, then its completion).",
        s.audit.appended,
    );
    metric(
        "icr_audit_syncs_total",
        "counter",
        "Audit log syncs (group commits share one).",
        s.audit.syncs,
    );
    metric(
        "icr_audit_rotations_total",
        "counter",
        "Audit log files started.",
        s.audit.rotations,
    );
    metric(
        "icr_audit_poisoned",
        "gauge",
        "1 when the audit log cannot be written (nothing is released).",
        u64::from(s.audit.poisoned),
    );
    metric(
        "icr_fhir_paged_records",
        "gauge",
        "Records whose further $everything pages are kept in memory.",
        s.paged.0 as u64,
    );
    metric(
        "icr_fhir_paged_bytes",
        "gauge",
        "Bytes of rendered $everything pages kept in memory.",
        s.paged.1 as u64,
    );
    metric(
        "icr_audit_torn_tail_recovered_total",
        "counter",
        "Torn last lines of the audit log recovered at start (a write cut off by a crash).",
        s.audit.torn_tails_recovered,
    );
    metric(
        "icr_audit_clock_behind_total",
        "counter",
        "Audit entries given the previous entry's time because the wall clock was behind it.",
        s.audit.clock_behind,
    );
    metric(
        "icr_audit_completions_pending",
        "gauge",
        "Records released whose audit completion (outcome) is queued but not yet synced: a crash now would leave them recorded as begun, their outcome not recorded.",
        s.audit.completions_pending,
    );
    metric(
        "icr_audit_completions_failed_total",
        "counter",
        "Audit completions queued but never written (the log failed or closed first): accesses recorded as begun, their outcome not recorded.",
        s.audit.completions_failed,
    );
    if let Some(cache) = &s.cache {
        metric(
            "icr_cache_bytes",
            "gauge",
            "Estimated bytes of source answers held in the cache.",
            cache.bytes,
        );
    }
    metric(
        "icr_sources",
        "gauge",
        "Registered sources.",
        s.sources as u64,
    );
    metric(
        "icr_config_reloads_total",
        "counter",
        "Source configuration reloads applied.",
        s.reloads,
    );
    metric(
        "icr_config_reload_failures_total",
        "counter",
        "Source configuration changes refused as invalid (the running configuration stays).",
        s.reload_failures,
    );
    metric(
        "icr_config_reload_problem",
        "gauge",
        "1 while the last configuration change was refused.",
        u64::from(s.reload_problem),
    );
    metric(
        "icr_requests_shed_total",
        "counter",
        "Record requests answered 503 because the in-flight limit was reached.",
        s.shed,
    );
    metric(
        "icr_requests_in_flight",
        "gauge",
        "Record requests being served now.",
        s.in_flight,
    );
    for (name, kind, help, value) in s.memory.families() {
        metric(name, kind, help, value);
    }
    if let Some(cache) = &s.cache {
        for (name, kind, help, value) in [
            (
                "icr_cache_hits_total",
                "counter",
                "Source answers served from the cache (or shared with a concurrent fetch).",
                cache.hits,
            ),
            (
                "icr_cache_misses_total",
                "counter",
                "Source answers fetched because the cache had none.",
                cache.misses,
            ),
            (
                "icr_cache_evictions_total",
                "counter",
                "Cached answers evicted to stay within cache.max_bytes.",
                cache.evictions,
            ),
            (
                "icr_cache_purged_total",
                "counter",
                "Cached answers removed by operators' purges.",
                cache.purged,
            ),
            (
                "icr_cache_entries",
                "gauge",
                "Cached source answers held.",
                cache.entries,
            ),
            (
                "icr_views_merged_total",
                "counter",
                "Merged views made from cached answers, to be served again while those answers are.",
                cache.views_merged,
            ),
            (
                "icr_view_hits_total",
                "counter",
                "Record requests served a view merged before from the same cached answers.",
                cache.view_hits,
            ),
            ("icr_views", "gauge", "Merged views held.", cache.views),
        ] {
            metric(name, kind, help, value);
        }
    }
    s.measurements.render(&mut out);
    render_sources(&mut out, &s.per_source);
    out
}

/// The per-source families: outcomes, latency, the guard's counters and
/// the circuit's state.
fn render_sources(out: &mut String, sources: &[SourceSnapshot<'_>]) {
    let _ = writeln!(
        out,
        "# HELP icr_source_outcomes_total Sources' parts of record requests, by status (ok, partial, not_found, timeout, unavailable, error, withheld, skipped).\n# TYPE icr_source_outcomes_total counter"
    );
    for s in sources {
        for (status, n) in lock(&s.measured.outcomes).iter() {
            let _ = writeln!(
                out,
                "icr_source_outcomes_total{{source=\"{}\",status=\"{status}\"}} {n}",
                s.id
            );
        }
    }
    let _ = writeln!(
        out,
        "# HELP icr_source_duration_seconds Time each source took for its part of a record request (cache hits included).\n# TYPE icr_source_duration_seconds histogram"
    );
    for s in sources {
        s.measured.latency.render(
            out,
            "icr_source_duration_seconds",
            &format!("source=\"{}\"", s.id),
        );
    }
    let mut family =
        |name: &str, kind: &str, help: &str, value: &dyn Fn(&SourceSnapshot<'_>) -> u64| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
            for s in sources {
                let _ = writeln!(out, "{name}{{source=\"{}\"}} {}", s.id, value(s));
            }
        };
    family(
        "icr_source_calls_total",
        "counter",
        "Calls made to the source (first attempts and retries).",
        &|s| s.calls,
    );
    family(
        "icr_source_retries_total",
        "counter",
        "Retries after a transient failure.",
        &|s| s.retries,
    );
    family(
        "icr_source_short_circuited_total",
        "counter",
        "Calls not made because the source's circuit was open.",
        &|s| s.short_circuited,
    );
    family(
        "icr_source_rejected_total",
        "counter",
        "Calls not made because the source's concurrency limit was reached.",
        &|s| s.rejected,
    );
    family(
        "icr_source_in_flight",
        "gauge",
        "Calls to the source in flight now.",
        &|s| u64::from(s.in_flight),
    );
    let _ = writeln!(
        out,
        "# HELP icr_source_circuit_state 1 for the source's current circuit state (closed, open, half_open).\n# TYPE icr_source_circuit_state gauge"
    );
    for s in sources {
        for state in [
            CircuitState::Closed,
            CircuitState::Open,
            CircuitState::HalfOpen,
        ] {
            let _ = writeln!(
                out,
                "icr_source_circuit_state{{source=\"{}\",state=\"{}\"}} {}",
                s.id,
                state.as_str(),
                u8::from(s.circuit == state)
            );
        }
    }
    let _ = writeln!(
        out,
        "# HELP icr_extract_waits_total Population-health extract calls that waited in the source's lane, by why (interactive: an interactive call was in flight; circuit_open; rate).\n# TYPE icr_extract_waits_total counter"
    );
    for s in sources {
        for (why, n) in s.extract_waits {
            let _ = writeln!(
                out,
                "icr_extract_waits_total{{source=\"{}\",reason=\"{why}\"}} {n}",
                s.id
            );
        }
    }
    let _ = writeln!(
        out,
        "# HELP icr_extract_rate The population-health extract's current rate to the source (calls per second; halved when the source slows or fails).\n# TYPE icr_extract_rate gauge"
    );
    for s in sources {
        let _ = writeln!(
            out,
            "icr_extract_rate{{source=\"{}\"}} {}",
            s.id, s.extract_rate
        );
    }
}

mod memory;
pub(crate) use memory::MemorySnapshot;
mod recent;
pub(crate) use recent::Recent;
pub(crate) mod store;

#[cfg(test)]
mod tests;
