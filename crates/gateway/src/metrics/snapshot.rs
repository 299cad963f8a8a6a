//! What `/metrics` renders: the gateway's counters at one moment.

use super::{Measurements, MemorySnapshot, SourceMeasurements};
use crate::resilience::CircuitState;

/// The gateway's counters at one moment, as `/metrics` shows them.
pub(crate) struct Snapshot<'a> {
    /// Accesses granted by breaking glass.
    pub break_glass: u64,
    /// The audit log's counters.
    pub audit: icr_audit::AuditStats,
    /// Records whose further `$everything` pages are kept, and their bytes.
    pub paged: (usize, usize),
    /// The cache's counters, when the cache is on.
    pub cache: Option<CacheSnapshot>,
    /// The memories' and the record-location index's counters.
    pub memory: MemorySnapshot,
    /// Registered sources.
    pub sources: usize,
    /// Reloads applied, and configuration changes refused.
    pub reloads: u64,
    /// Configuration changes refused.
    pub reload_failures: u64,
    /// Whether the last configuration change was refused.
    pub reload_problem: bool,
    /// Record requests shed at the in-flight limit.
    pub shed: u64,
    /// Record requests being served now.
    pub in_flight: u64,
    /// The requests measured.
    pub measurements: &'a Measurements,
    /// Every registered source's measurements and guard, in registration order.
    pub per_source: Vec<SourceSnapshot<'a>>,
}

/// The cache's counters at one moment.
pub(crate) struct CacheSnapshot {
    /// Estimated bytes held.
    pub bytes: u64,
    /// Answers served from the cache.
    pub hits: u64,
    /// Answers fetched because the cache had none.
    pub misses: u64,
    /// Answers evicted to stay within the bound.
    pub evictions: u64,
    /// Answers removed by purges.
    pub purged: u64,
    /// Answers held.
    pub entries: u64,
    /// Views merged from cached answers (and kept).
    pub views_merged: u64,
    /// Requests served a view merged before.
    pub view_hits: u64,
    /// Views held.
    pub views: u64,
}

/// One source's counters at one moment.
pub(crate) struct SourceSnapshot<'a> {
    /// The source's id.
    pub id: &'a str,
    /// Its outcomes and latency.
    pub measured: &'a SourceMeasurements,
    /// Calls made, retries, short circuits, rejections.
    pub calls: u64,
    /// Retries after a transient failure.
    pub retries: u64,
    /// Calls not made because the circuit was open.
    pub short_circuited: u64,
    /// Calls not made at the concurrency limit.
    pub rejected: u64,
    /// Calls in flight now.
    pub in_flight: u32,
    /// The circuit's state now.
    pub circuit: CircuitState,
    /// Extract calls that waited in the source's lane, by why (label).
    pub extract_waits: [(&'static str, u64); 3],
    /// The extract's current rate to the source, calls per second.
    pub extract_rate: f64,
}
