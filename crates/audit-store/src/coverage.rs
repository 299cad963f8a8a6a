//! How far the store covers each replica's log: recorded by the feed each
//! time it finds the log wholly ingested, read by the audit's readers to
//! say when a page may be missing a replica's latest accesses.

use icr_audit::Timestamp;
use time::OffsetDateTime;

use crate::error::StoreError;
use crate::pool::AuditStore;
use crate::replica::ReplicaId;

/// How far the store holds one replica's accesses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Coverage {
    /// The replica.
    pub replica: ReplicaId,
    /// Every entry its log held at this time (the replica's clock) is in
    /// the store; `None`: its feed has never caught up.
    pub caught_up_at: Option<Timestamp>,
    /// It stopped cleanly after catching up: nothing of its log is
    /// missing until it starts again.
    pub stopped: bool,
}

impl Coverage {
    /// Whether accesses this replica served after `cutoff` may be missing
    /// from the store: it has not caught up since `cutoff`, and did not stop
    /// cleanly.
    pub fn behind(&self, cutoff: Timestamp) -> bool {
        !self.stopped && self.caught_up_at.is_none_or(|t| t < cutoff)
    }
}

impl AuditStore {
    /// Records that `replica`'s log, as it was at `read_from` (taken before
    /// the ingest that reached its end began), is wholly in the store; and
    /// whether the replica is stopping (its last feed). A replica the store
    /// has no progress for yet is not recorded.
    pub async fn mark_caught_up(
        &self,
        replica: &ReplicaId,
        read_from: Timestamp,
        stopping: bool,
    ) -> Result<(), StoreError> {
        let conn = self.conn().await?;
        conn.execute(
            "UPDATE audit_ingest_progress
             SET caught_up_at = greatest(coalesce(caught_up_at, $2), $2), stopped = $3
             WHERE replica = $1",
            &[&replica.as_str(), &read_from.as_offset(), &stopping],
        )
        .await
        .map_err(StoreError::db("record a replica caught up"))?;
        Ok(())
    }

    /// How far the store covers each replica it has been fed by.
    pub async fn coverage(&self) -> Result<Vec<Coverage>, StoreError> {
        let conn = self.conn().await?;
        let rows = conn
            .query(
                "SELECT replica, caught_up_at, stopped FROM audit_ingest_progress
                 ORDER BY replica",
                &[],
            )
            .await
            .map_err(StoreError::db("read the replicas' coverage"))?;
        rows.iter()
            .map(|row| {
                let replica: String = row.get(0);
                let caught_up_at: Option<OffsetDateTime> = row.get(1);
                Ok(Coverage {
                    replica: ReplicaId::parse(&replica).map_err(|_| StoreError::Corrupt {
                        replica: replica.clone(),
                        seq: 0,
                        why: "replica id".into(),
                    })?,
                    caught_up_at: caught_up_at.map(Timestamp::from_offset),
                    stopped: row.get(2),
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_replica_is_behind_unless_it_caught_up_since_the_cutoff_or_stopped_cleanly() {
        let t = |s: &str| Timestamp::parse(s).unwrap();
        let c = |at: Option<&str>, stopped| Coverage {
            replica: ReplicaId::parse("icr-0").unwrap(),
            caught_up_at: at.map(t),
            stopped,
        };
        let cutoff = t("2026-12-07T10:00:00Z");
        assert!(!c(Some("2026-12-07T10:00:00Z"), false).behind(cutoff));
        assert!(!c(Some("2026-12-07T10:00:01Z"), false).behind(cutoff));
        assert!(c(Some("2026-12-07T09:59:59Z"), false).behind(cutoff));
        assert!(c(None, false).behind(cutoff));
        assert!(!c(Some("2026-12-07T09:00:00Z"), true).behind(cutoff));
        assert!(!c(None, true).behind(cutoff));
    }
}
