//! The audit store feed's families (only when `[audit_store]` is
//! configured): whether the store is reachable, how far this replica's log
//! is behind it, and what the feed stored.

use std::fmt::Write as _;
use std::sync::atomic::Ordering;

use icr_audit_store::FeedStats;

/// Appends the feed's families to `out`.
pub(crate) fn render(out: &mut String, s: &FeedStats) {
    let load = |a: &std::sync::atomic::AtomicU64| a.load(Ordering::Relaxed);
    let families: [(&str, &str, &str, String); 7] = [
        (
            "icr_audit_store_up",
            "gauge",
            "1 when the last feed of this replica's audit log reached the shared store.",
            u64::from(s.up.load(Ordering::Relaxed)).to_string(),
        ),
        (
            "icr_audit_store_lag_entries",
            "gauge",
            "Entries of this replica's audit log not yet in the shared store, after the last feed (while feeds fail: everything written since the store was last seen to hold it).",
            load(&s.lag_entries).to_string(),
        ),
        (
            "icr_audit_store_lag_seconds",
            "gauge",
            "How far the shared store is behind this replica's audit log, in seconds, after the last feed (reckoned as icr_audit_store_lag_entries).",
            format!("{:.3}", load(&s.lag_millis) as f64 / 1000.0),
        ),
        (
            "icr_audit_store_inserted_total",
            "counter",
            "Audit entries this replica stored in the shared store.",
            load(&s.inserted).to_string(),
        ),
        (
            "icr_audit_store_feeds_total",
            "counter",
            "Feeds of this replica's audit log into the shared store that succeeded.",
            load(&s.runs).to_string(),
        ),
        (
            "icr_audit_store_failures_total",
            "counter",
            "Feeds that failed (the store unreachable, or a chain problem an operator must see).",
            load(&s.failures).to_string(),
        ),
        (
            "icr_audit_store_anchors_total",
            "counter",
            "Chain heads of this replica recorded in the shared store.",
            load(&s.anchors).to_string(),
        ),
    ];
    for (name, kind, help, value) in families {
        let _ = writeln!(
            out,
            "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_feed_is_rendered_as_its_counters_say() {
        let s = FeedStats::default();
        s.up.store(true, Ordering::Relaxed);
        s.lag_entries.store(12, Ordering::Relaxed);
        s.lag_millis.store(1500, Ordering::Relaxed);
        s.inserted.store(40, Ordering::Relaxed);
        let mut out = String::new();
        render(&mut out, &s);
        for line in [
            "icr_audit_store_up 1",
            "icr_audit_store_lag_entries 12",
            "icr_audit_store_lag_seconds 1.500",
            "icr_audit_store_inserted_total 40",
            "icr_audit_store_failures_total 0",
            "# TYPE icr_audit_store_anchors_total counter",
        ] {
            assert!(out.lines().any(|l| l == line), "{line} in\n{out}");
        }
    }
}
