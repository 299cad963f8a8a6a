//! The cache of source answers: per (source, person, sections), in memory
//! only, weighed in bytes, each entry living as long as its source's TTL.
//! Concurrent requests for the same key share one upstream call. A
//! source's "no record for this person" is an answer too and is kept like
//! a record (reported `not_found`, cached, with when it was received);
//! failures are never cached.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use icr_adapter_sdk::SourceError;
use icr_model::time::OffsetDateTime;
use icr_model::{NhsNumber, SectionSet, SourceId, SourceRecord};
use moka::future::Cache;

/// What a cache entry is for.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct CacheKey {
    /// The source.
    pub source: SourceId,
    /// The person.
    pub nhs_number: NhsNumber,
    /// The sections fetched.
    pub sections: SectionSet,
}

#[derive(Clone)]
struct Cached {
    /// The record, or `None`: the source holds no record for the person.
    record: Option<Arc<SourceRecord>>,
    ttl: Duration,
    fetched_at: OffsetDateTime,
}

/// What a "no record" answer weighs in the cache (its key and entry).
const NO_RECORD_WEIGHT: u32 = 128;

/// A source's answer as the cache gives it: the record, or that the source
/// holds none (`None`), with when it was received.
pub type Answer = (Option<Arc<SourceRecord>>, Received);

/// What a source's call answered, as an answer: its record, or `None`
/// when it holds no record for the person; any other error is a failure.
pub(crate) fn kept(
    result: Result<SourceRecord, SourceError>,
) -> Result<Option<Arc<SourceRecord>>, SourceError> {
    match result {
        Ok(record) => Ok(Some(Arc::new(record))),
        Err(SourceError::PatientNotFound) => Ok(None),
        Err(e) => Err(e),
    }
}

/// When a source's answer was received, and whether this request had it
/// from the cache (or from a concurrent request's fetch) rather than its
/// own call: a cached answer is as old as its `at`, not as the request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Received {
    /// When the source's answer arrived (UTC).
    pub at: OffsetDateTime,
    /// Whether it came from the cache.
    pub cached: bool,
}

impl Received {
    /// An answer this request fetched itself, just now.
    pub fn now() -> Self {
        Self {
            at: OffsetDateTime::now_utc(),
            cached: false,
        }
    }
}

struct PerEntryTtl;

impl moka::Expiry<CacheKey, Cached> for PerEntryTtl {
    fn expire_after_create(&self, _: &CacheKey, value: &Cached, _: Instant) -> Option<Duration> {
        Some(value.ttl)
    }
}

/// Counters of the cache's use, for metrics.
#[derive(Default, Debug)]
pub struct CacheStats {
    /// Answers served from the cache (or shared with a concurrent fetch).
    pub hits: AtomicU64,
    /// Answers fetched from the source by this request.
    pub misses: AtomicU64,
    /// Entries evicted to stay within the size bound.
    pub evictions: AtomicU64,
    /// Entries removed by an operator's purge.
    pub purged: AtomicU64,
}

/// Cached source answers, bounded by total size in bytes.
#[derive(Clone)]
pub struct SourceCache {
    inner: Cache<CacheKey, Cached>,
    stats: Arc<CacheStats>,
}

impl SourceCache {
    /// A cache holding at most about `max_bytes` of source answers.
    pub fn new(max_bytes: u64) -> Self {
        Self::counting_into(max_bytes, Arc::new(CacheStats::default()))
    }

    /// A new, empty cache of `max_bytes` that counts into `stats` (a
    /// reload's new cache carries on its predecessor's counters).
    pub fn counting_into(max_bytes: u64, stats: Arc<CacheStats>) -> Self {
        let evictions = Arc::clone(&stats);
        let inner = Cache::builder()
            .max_capacity(max_bytes)
            .weigher(|_, v: &Cached| match &v.record {
                Some(r) => u32::try_from(r.approx_size()).unwrap_or(u32::MAX),
                None => NO_RECORD_WEIGHT,
            })
            .expire_after(PerEntryTtl)
            .eviction_listener(move |_, _, cause| {
                if cause == moka::notification::RemovalCause::Size {
                    evictions.evictions.fetch_add(1, Ordering::Relaxed);
                }
            })
            .build();
        Self { inner, stats }
    }

    /// The cache's counters.
    pub fn stats(&self) -> &CacheStats {
        &self.stats
    }

    /// The cache's counters, to share with a successor.
    pub fn shared_stats(&self) -> Arc<CacheStats> {
        Arc::clone(&self.stats)
    }

    /// Entries held now (approximate, as the cache's own count).
    pub fn entry_count(&self) -> u64 {
        self.inner.entry_count()
    }

    /// Removes every cached answer about `nhs_number` (after a source
    /// reports a correction); returns how many were removed.
    pub async fn purge(&self, nhs_number: NhsNumber) -> u64 {
        let keys: Vec<Arc<CacheKey>> = self
            .inner
            .iter()
            .filter(|(k, _)| k.nhs_number == nhs_number)
            .map(|(k, _)| k)
            .collect();
        for k in &keys {
            self.inner.invalidate(k.as_ref()).await;
        }
        let n = keys.len() as u64;
        self.stats.purged.fetch_add(n, Ordering::Relaxed);
        n
    }

    /// The cached answer for `key`, or the result of `fetch` (shared with
    /// any concurrent caller for the same key, and cached for `ttl` if it is
    /// a record or "no record"), with when it was received and whether from
    /// the cache.
    pub async fn get_or_fetch<F>(
        &self,
        key: CacheKey,
        ttl: Duration,
        fetch: F,
    ) -> Result<Answer, SourceError>
    where
        F: Future<Output = Result<SourceRecord, SourceError>>,
    {
        let entry = self
            .inner
            .entry(key)
            .or_try_insert_with(async move {
                let record = kept(fetch.await)?;
                Ok(Cached {
                    record,
                    ttl,
                    fetched_at: OffsetDateTime::now_utc(),
                })
            })
            .await
            .map_err(|e: Arc<SourceError>| {
                self.stats.misses.fetch_add(1, Ordering::Relaxed);
                (*e).clone()
            })?;
        let cached = !entry.is_fresh();
        let counter = if cached {
            &self.stats.hits
        } else {
            &self.stats.misses
        };
        counter.fetch_add(1, Ordering::Relaxed);
        let value = entry.into_value();
        Ok((
            value.record,
            Received {
                at: value.fetched_at,
                cached,
            },
        ))
    }

    /// The answer cached for `key`, if there is one now, counted as a hit:
    /// the warm path's lookup, made in the request's own task so that no
    /// task is spawned for an answer already held. A miss is not counted
    /// here (the fetch that follows counts it).
    pub async fn cached(&self, key: &CacheKey) -> Option<Answer> {
        let value = self.inner.get(key).await?;
        self.stats.hits.fetch_add(1, Ordering::Relaxed);
        Some((
            value.record,
            Received {
                at: value.fetched_at,
                cached: true,
            },
        ))
    }

    /// The result of `fetch`, whatever is cached for `key` (a clinician's
    /// refresh), cached for `ttl` in place of any older one if it is a
    /// record or "no record".
    pub async fn fetch_fresh<F>(
        &self,
        key: CacheKey,
        ttl: Duration,
        fetch: F,
    ) -> Result<Answer, SourceError>
    where
        F: Future<Output = Result<SourceRecord, SourceError>>,
    {
        self.stats.misses.fetch_add(1, Ordering::Relaxed);
        let record = kept(fetch.await)?;
        let received = Received::now();
        let value = Cached {
            record: record.clone(),
            ttl,
            fetched_at: received.at,
        };
        self.inner.insert(key, value).await;
        Ok((record, received))
    }

    /// Approximate bytes held.
    pub fn weighted_size(&self) -> u64 {
        self.inner.weighted_size()
    }
}
