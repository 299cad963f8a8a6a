//! A source's latest outcomes, for the operators' `/v1/sources` summary.

use std::collections::VecDeque;
use std::sync::Mutex;

/// How many of a source's latest outcomes `/v1/sources` summarises.
const RECENT: usize = 256;

/// A source's latest parts of record requests (latency in ms, failed),
/// at most [`RECENT`], for operators' recent percentiles and error rate.
#[derive(Default)]
pub(crate) struct Recent(Mutex<VecDeque<(u64, bool)>>);

impl Recent {
    /// Remembers one part, forgetting the oldest beyond [`RECENT`].
    pub(crate) fn remember(&self, latency_ms: u64, failed: bool) {
        let mut recent = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if recent.len() == RECENT {
            recent.pop_front();
        }
        recent.push_back((latency_ms, failed));
    }

    /// The latest outcomes: count, p50/p95/p99 latency and error rate.
    pub(crate) fn summary(&self) -> serde_json::Value {
        let recent = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let mut latencies: Vec<u64> = recent.iter().map(|(l, _)| *l).collect();
        latencies.sort_unstable();
        let at = |q: f64| -> Option<u64> {
            let last = latencies.len().checked_sub(1)?;
            latencies.get(((last as f64) * q).round() as usize).copied()
        };
        let failed = recent.iter().filter(|(_, f)| *f).count();
        serde_json::json!({
            "calls": recent.len(),
            "p50_ms": at(0.5),
            "p95_ms": at(0.95),
            "p99_ms": at(0.99),
            "error_rate": if recent.is_empty() { 0.0 } else { failed as f64 / recent.len() as f64 },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_recent_ring_keeps_the_latest_outcomes_and_summarises_them() {
        let recent = Recent::default();
        assert_eq!(
            recent.summary(),
            serde_json::json!({"calls": 0, "p50_ms": null, "p95_ms": null, "p99_ms": null, "error_rate": 0.0})
        );
        for ms in 1..=4 {
            recent.remember(ms * 10, ms == 4);
        }
        assert_eq!(
            recent.summary(),
            serde_json::json!({"calls": 4, "p50_ms": 30, "p95_ms": 40, "p99_ms": 40, "error_rate": 0.25})
        );
        // Bounded: the oldest are forgotten.
        for _ in 0..RECENT {
            recent.remember(5, false);
        }
        assert_eq!(
            recent.summary(),
            serde_json::json!({"calls": RECENT, "p50_ms": 5, "p95_ms": 5, "p99_ms": 5, "error_rate": 0.0})
        );
    }
}
