//! What the gateway remembers between requests of where a person's
//! records are — never the records themselves: which sources answered
//! lately that they hold no record for a person (`[cache]
//! not_found_ttl_s`), and which practice the demographics service last
//! named as the person's registered one (`[cache] practice_ttl_s`).
//! Both in memory only, bounded in entries, each entry living its TTL,
//! and forgotten with the person by the operator's purge.
//!
//! The pipeline reads them before planning (as data: [`crate::pipeline::plan::Hints`])
//! and teaches them after fetching; a clinician's refresh reads neither.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use icr_model::time::OffsetDateTime;
use icr_model::{NhsNumber, OdsCode, SourceId};
use moka::future::Cache;

/// Counters of the memories' use, for metrics.
#[derive(Default, Debug)]
pub struct MemoryStats {
    /// "No record" answers remembered.
    pub not_found_remembered: AtomicU64,
    /// Sources skipped because they answered "no record" lately.
    pub not_found_skips: AtomicU64,
    /// Sources skipped because the record-location index names others.
    pub index_skips: AtomicU64,
    /// Index lookups that failed (every source was asked).
    pub index_failures: AtomicU64,
    /// Remembered practices asked at once with the demographics service.
    pub practice_first_wave: AtomicU64,
    /// Of those, the ones the demographics service did not confirm (a
    /// change of practice, or no answer): their answers were not shown.
    pub practice_unconfirmed: AtomicU64,
    /// Entries forgotten by operators' purges.
    pub purged: AtomicU64,
}

/// Per source and person: when the source answered it holds no record.
type NotFound = Cache<(SourceId, NhsNumber), OffsetDateTime>;

/// The memories, as configured (each `None` when its TTL is 0).
#[derive(Clone)]
pub(crate) struct Memory {
    not_found: Option<(NotFound, Duration)>,
    practice: Option<Cache<NhsNumber, OdsCode>>,
    stats: Arc<MemoryStats>,
}

/// A bounded memory of `max` entries, each living `ttl`.
fn bounded<K, V>(max: u64, ttl: Duration) -> Cache<K, V>
where
    K: std::hash::Hash + Eq + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    Cache::builder().max_capacity(max).time_to_live(ttl).build()
}

impl Memory {
    /// The memories `config` asks for, counting into `stats` (a reload's
    /// new memories carry on their predecessors' counters).
    pub(crate) fn new(config: &icr_config::CacheConfig, stats: Arc<MemoryStats>) -> Self {
        let ttl = |s: u64| (s > 0).then(|| Duration::from_secs(s));
        Self {
            not_found: ttl(config.not_found_ttl_s).map(|t| (bounded(config.max_remembered, t), t)),
            practice: ttl(config.practice_ttl_s).map(|t| bounded(config.max_remembered, t)),
            stats,
        }
    }

    /// The counters.
    pub(crate) fn stats(&self) -> &MemoryStats {
        &self.stats
    }

    /// The counters, to share with a successor.
    pub(crate) fn shared_stats(&self) -> Arc<MemoryStats> {
        Arc::clone(&self.stats)
    }

    /// Entries held now: (not-found answers, practices).
    pub(crate) fn entry_counts(&self) -> (u64, u64) {
        (
            self.not_found.as_ref().map_or(0, |(c, _)| c.entry_count()),
            self.practice.as_ref().map_or(0, Cache::entry_count),
        )
    }

    /// When `source` answered that it holds no record for `nhs`, and until
    /// when that is remembered, if it is.
    pub(crate) async fn not_found_at(
        &self,
        source: &SourceId,
        nhs: NhsNumber,
    ) -> Option<(OffsetDateTime, OffsetDateTime)> {
        let (cache, ttl) = self.not_found.as_ref()?;
        let at = cache.get(&(source.clone(), nhs)).await?;
        Some((at, at + *ttl))
    }

    /// Remembers that `source` answered now that it holds no record for `nhs`.
    pub(crate) async fn remember_not_found(&self, source: &SourceId, nhs: NhsNumber) {
        if let Some((cache, _)) = &self.not_found {
            cache
                .insert((source.clone(), nhs), OffsetDateTime::now_utc())
                .await;
            self.stats
                .not_found_remembered
                .fetch_add(1, Ordering::Relaxed);
        }
    }

    /// The practice last named as `nhs`'s registered one, if remembered.
    pub(crate) async fn practice(&self, nhs: NhsNumber) -> Option<OdsCode> {
        self.practice.as_ref()?.get(&nhs).await
    }

    /// Remembers the practice the demographics service named for `nhs`
    /// now (`None`: it names none, and none is remembered).
    pub(crate) async fn remember_practice(&self, nhs: NhsNumber, practice: Option<OdsCode>) {
        let Some(cache) = &self.practice else { return };
        match practice {
            Some(ods) => cache.insert(nhs, ods).await,
            None => cache.invalidate(&nhs).await,
        }
    }

    /// Forgets everything remembered about `nhs`; how many entries.
    pub(crate) async fn purge(&self, nhs: NhsNumber) -> u64 {
        let mut n = 0;
        if let Some((cache, _)) = &self.not_found {
            let keys: Vec<Arc<(SourceId, NhsNumber)>> = cache
                .iter()
                .filter(|(k, _)| k.1 == nhs)
                .map(|(k, _)| k)
                .collect();
            for k in &keys {
                cache.invalidate(k.as_ref()).await;
            }
            n += keys.len() as u64;
        }
        if let Some(cache) = &self.practice
            && cache.remove(&nhs).await.is_some()
        {
            n += 1;
        }
        self.stats.purged.fetch_add(n, Ordering::Relaxed);
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(not_found_ttl_s: u64, practice_ttl_s: u64) -> icr_config::CacheConfig {
        icr_config::CacheConfig {
            not_found_ttl_s,
            practice_ttl_s,
            max_remembered: 10,
            ..Default::default()
        }
    }

    #[tokio::test]
    async fn remembers_per_source_and_person_until_purged() {
        let m = Memory::new(&config(300, 600), Arc::default());
        let (a, b) = (SourceId::parse("a").unwrap(), SourceId::parse("b").unwrap());
        let (p, q) = (
            NhsNumber::parse("9990000018").unwrap(),
            NhsNumber::parse("9990000026").unwrap(),
        );
        m.remember_not_found(&a, p).await;
        m.remember_not_found(&a, q).await;
        m.remember_practice(p, Some(OdsCode::parse("A81001").unwrap()))
            .await;
        let (at, until) = m.not_found_at(&a, p).await.unwrap();
        assert_eq!(until - at, icr_model::time::Duration::seconds(300));
        assert_eq!(m.not_found_at(&b, p).await, None);
        assert_eq!(m.practice(p).await.unwrap().as_str(), "A81001");
        assert_eq!(m.practice(q).await, None);
        // The purge forgets the person, and only them.
        assert_eq!(m.purge(p).await, 2);
        assert_eq!(m.not_found_at(&a, p).await, None);
        assert_eq!(m.practice(p).await, None);
        assert!(m.not_found_at(&a, q).await.is_some());
        assert_eq!(m.stats().purged.load(Ordering::Relaxed), 2);
        assert_eq!(m.stats().not_found_remembered.load(Ordering::Relaxed), 2);
        // No practice named: none remembered.
        m.remember_practice(q, Some(OdsCode::parse("A81001").unwrap()))
            .await;
        m.remember_practice(q, None).await;
        assert_eq!(m.practice(q).await, None);
    }

    #[tokio::test]
    async fn a_ttl_of_zero_remembers_nothing() {
        let m = Memory::new(&config(0, 0), Arc::default());
        let a = SourceId::parse("a").unwrap();
        let p = NhsNumber::parse("9990000018").unwrap();
        m.remember_not_found(&a, p).await;
        m.remember_practice(p, Some(OdsCode::parse("A81001").unwrap()))
            .await;
        assert_eq!(m.not_found_at(&a, p).await, None);
        assert_eq!(m.practice(p).await, None);
        assert_eq!(m.stats().not_found_remembered.load(Ordering::Relaxed), 0);
    }

    #[tokio::test]
    async fn each_memory_is_bounded_in_entries() {
        let m = Memory::new(&config(300, 300), Arc::default());
        let a = SourceId::parse("a").unwrap();
        for i in 0..100u64 {
            let nhs = NhsNumber::parse(&format!("999{:07}", i * 10)).ok();
            if let Some(nhs) = nhs {
                m.remember_not_found(&a, nhs).await;
            }
        }
        if let Some((cache, _)) = &m.not_found {
            cache.run_pending_tasks().await;
        }
        assert!(m.entry_counts().0 <= 10, "{:?}", m.entry_counts());
    }
}
