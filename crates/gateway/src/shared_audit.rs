//! The shared audit store, when `[audit_store]` is configured: where the
//! audit's readers read a person's accesses across every replica, and the
//! privacy officer's break-glass review. The feed that fills it runs in the
//! service (`icr_audit_store::feed`); this is the gateway's handle to read
//! it, and how a page read from it says it may be incomplete.

use std::sync::Arc;
use std::time::Duration;

use icr_audit::{AccessPage, AccessQuery, Incomplete, Timestamp};
use icr_audit_store::{AccessCursor, AuditStore, FeedStats, PersonQuery, ReplicaId, StoreError};
use icr_model::NhsNumber;

/// The shortest time a replica may go without catching up before a page
/// says its latest accesses may be missing.
const MIN_STALE: Duration = Duration::from_secs(5);

/// The gateway's handle on the shared audit store.
pub struct SharedStore {
    /// Reads (connecting when first used, and again after a loss).
    pub store: AuditStore,
    /// This replica.
    pub replica: ReplicaId,
    /// How this replica's feed goes, for `/metrics`.
    pub feed: Arc<FeedStats>,
    /// How often the replicas feed the store.
    pub feed_every: Duration,
}

/// A page of a person's accesses from the store, and the cursor of the
/// next one.
pub(crate) struct StorePage {
    /// The page, in the log's terms (each access names its replica).
    pub page: AccessPage,
    /// The next (older) page's cursor, if there is one.
    pub next: Option<AccessCursor>,
}

impl SharedStore {
    /// How long a replica may go without catching up before its latest
    /// accesses are said to be possibly missing: three feeds, at least
    /// [`MIN_STALE`].
    fn stale_after(&self) -> Duration {
        (self.feed_every * 3).max(MIN_STALE)
    }

    /// One page of `nhs`'s accesses across the replicas, newest first,
    /// with the replicas whose latest accesses may be missing.
    pub(crate) async fn person_page(
        &self,
        nhs: &NhsNumber,
        query: &AccessQuery,
        before: Option<AccessCursor>,
    ) -> Result<StorePage, StoreError> {
        let (from, until) = query.dates.micros();
        let empty = StorePage {
            page: AccessPage {
                records: Vec::new(),
                total: 0,
                older: 0,
                next: None,
                problem: None,
                incomplete: Vec::new(),
            },
            next: None,
        };
        // A range the store's times cannot hold (after year 9999) matches
        // nothing.
        let since = match from {
            None => Timestamp::from_unix_micros(0),
            Some(m) => Timestamp::from_unix_micros(m),
        };
        let Some(since) = since else {
            return Ok(empty);
        };
        if query.dates.is_empty() {
            return Ok(empty);
        }
        let person = PersonQuery {
            since,
            until: until.and_then(Timestamp::from_unix_micros),
            count: query.count,
            before,
        };
        let found = self.store.person_accesses(nhs, &person).await?;
        let last = found.items.last().map(|a| AccessCursor {
            time: a.time,
            access: icr_audit_store::AccessRef {
                replica: a.replica.clone(),
                seq: a.access.seq,
            },
        });
        let (total, older) = self
            .store
            .person_access_counts(nhs, &person, last.as_ref())
            .await?;
        let incomplete = self.behind().await?;
        Ok(StorePage {
            page: AccessPage {
                next: found.next.as_ref().map(|c| c.access.seq),
                records: found.items.into_iter().map(|a| a.access).collect(),
                total,
                older,
                problem: None,
                incomplete,
            },
            next: found.next,
        })
    }

    /// The replicas whose latest accesses may not be in the store: not
    /// caught up within [`Self::stale_after`], and not stopped cleanly.
    async fn behind(&self) -> Result<Vec<Incomplete>, StoreError> {
        let now = Timestamp::now();
        let cutoff = Timestamp::from_offset(now.as_offset() - self.stale_after());
        let coverage = self.store.coverage().await?;
        let known = coverage.iter().any(|c| c.replica == self.replica);
        let mut behind: Vec<Incomplete> = coverage
            .into_iter()
            .filter(|c| c.behind(cutoff))
            .map(|c| Incomplete::Behind {
                replica: c.replica.to_string(),
                since: c.caught_up_at,
            })
            .collect();
        // This replica, if its feed has not reached the store at all yet
        // (other replicas the store has never heard of cannot be named).
        if !known {
            behind.push(Incomplete::Behind {
                replica: self.replica.to_string(),
                since: None,
            });
        }
        Ok(behind)
    }
}
