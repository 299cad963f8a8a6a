//! The families of what the gateway remembers of where records are
//! ([`crate::memory`]) and of the record-location index, and the count of
//! each source's skips (a skip has no latency of its own).

use super::{SourceMeasurements, lock};

impl SourceMeasurements {
    /// The source's part of one record request that took no time of its
    /// own (it was skipped): its status only.
    pub fn count(&self, status: icr_model::SourceStatus) {
        *lock(&self.outcomes).entry(status.as_str()).or_insert(0) += 1;
    }

    /// How many of the source's parts ended with `status`.
    pub fn counted(&self, status: icr_model::SourceStatus) -> u64 {
        lock(&self.outcomes)
            .get(status.as_str())
            .copied()
            .unwrap_or(0)
    }
}

/// What is remembered of where records are, and the index, at one moment.
#[derive(Default)]
pub(crate) struct MemorySnapshot {
    /// "No record" answers remembered.
    pub not_found_remembered: u64,
    /// Sources skipped for a remembered "no record".
    pub not_found_skips: u64,
    /// Sources skipped because the index names other holders.
    pub index_skips: u64,
    /// Index lookups that failed (every source asked).
    pub index_failures: u64,
    /// Remembered practices asked with the demographics service.
    pub practice_first_wave: u64,
    /// Of those, the ones it did not confirm.
    pub practice_unconfirmed: u64,
    /// Entries forgotten by purges.
    pub purged: u64,
    /// "No record" answers held now.
    pub not_found_entries: u64,
    /// Practices held now.
    pub practice_entries: u64,
}

impl MemorySnapshot {
    /// Each family: name, type, help, value.
    pub(crate) fn families(&self) -> [(&'static str, &'static str, &'static str, u64); 9] {
        let m = self;
        [
            (
                "icr_memory_not_found_remembered_total",
                "counter",
                "Sources' answers that they hold no record for a person, remembered (cache.not_found_ttl_s).",
                m.not_found_remembered,
            ),
            (
                "icr_memory_not_found_skips_total",
                "counter",
                "Sources not asked because they answered lately that they hold no record for the person.",
                m.not_found_skips,
            ),
            (
                "icr_index_skips_total",
                "counter",
                "Sources not asked because the record-location index names other holders.",
                m.index_skips,
            ),
            (
                "icr_index_failures_total",
                "counter",
                "Record-location index lookups that failed or were too slow (every source asked).",
                m.index_failures,
            ),
            (
                "icr_memory_practice_first_wave_total",
                "counter",
                "Remembered registered practices asked at once with the demographics service.",
                m.practice_first_wave,
            ),
            (
                "icr_memory_practice_unconfirmed_total",
                "counter",
                "Remembered practices the demographics service did not confirm (their answers not shown).",
                m.practice_unconfirmed,
            ),
            (
                "icr_memory_purged_total",
                "counter",
                "Remembered entries forgotten by operators' purges.",
                m.purged,
            ),
            (
                "icr_memory_not_found_entries",
                "gauge",
                "Remembered 'no record' answers held.",
                m.not_found_entries,
            ),
            (
                "icr_memory_practice_entries",
                "gauge",
                "Remembered registered practices held.",
                m.practice_entries,
            ),
        ]
    }
}
