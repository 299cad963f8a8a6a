//! The connection layer's metrics for `/metrics`.

use super::*;

/// The connection layer's measurements, carried in each request's
/// extensions for the `/metrics` route.
#[derive(Clone)]
pub(crate) struct ConnectionMetrics(pub(super) Arc<Shared>);

/// One metric family: name, type, help, and its series (labels, value).
type Family<'a> = (&'a str, &'a str, &'a str, &'a [(&'a str, u64)]);

impl ConnectionMetrics {
    /// Appends the connection families in the Prometheus text format.
    pub(crate) fn render(&self, out: &mut String) {
        use std::fmt::Write as _;
        let shared = &self.0;
        let s = &shared.stats;
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let families: [Family<'_>; 10] = [
            (
                "icr_connections_open",
                "gauge",
                "Connections open now.",
                &[("", shared.open_now() as u64)],
            ),
            (
                "icr_connections_max_open",
                "gauge",
                "The most connections open at once ([connections] max_open, or from the open-file limit).",
                &[("", shared.limits.max_open as u64)],
            ),
            (
                "icr_connections_accepted_total",
                "counter",
                "Connections accepted and served.",
                &[("", load(&s.accepted))],
            ),
            (
                "icr_connections_refused_total",
                "counter",
                "Connections closed at once because max_open were open and every one had a request in progress.",
                &[("", load(&s.refused))],
            ),
            (
                "icr_connections_evicted_total",
                "counter",
                "Connections with no request in progress closed to make room for a new one (at max_open, or out of file descriptors).",
                &[("", load(&s.evicted))],
            ),
            (
                "icr_connections_timed_out_total",
                "counter",
                "Connections closed by the gateway: no whole request within request_timeout_ms of the accept (request), no request for idle_timeout_ms (idle), or a socket that took nothing for stall_timeout_ms (stalled).",
                &[
                    ("{reason=\"request\"}", load(&s.timed_out_request)),
                    ("{reason=\"idle\"}", load(&s.timed_out_idle)),
                    ("{reason=\"stalled\"}", load(&s.stalled_connections)),
                ],
            ),
            (
                "icr_accept_errors_total",
                "counter",
                "Accepts that failed for want of file descriptors or memory (accepting pauses, 100 ms to 1 s).",
                &[("", load(&s.accept_errors))],
            ),
            (
                "icr_responses_stalled_total",
                "counter",
                "HTTP/2 streams reset because their answer made no progress for stall_timeout_ms.",
                &[("", load(&s.stalled_responses))],
            ),
            (
                "icr_responses_refused_total",
                "counter",
                "Requests answered 503 at once because their connection, or the gateway, held as many unwritten answer bytes as allowed.",
                &[("", load(&s.refused_responses))],
            ),
            (
                "icr_unsent_response_bytes",
                "gauge",
                "Bytes of answers made but not yet written to their callers (counted at twice their length).",
                &[("", shared.unsent.load(Ordering::Relaxed))],
            ),
        ];
        for (name, kind, help, series) in families {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
            for (labels, value) in series {
                let _ = writeln!(out, "{name}{labels} {value}");
            }
        }
    }
}
