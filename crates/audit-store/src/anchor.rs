//! Chain anchors: each replica's head recorded in the store at intervals,
//! and a replica's log verified against them.

use std::path::Path;

use icr_audit::{
    ChainPoint, EntryHash, Sequence, VerifyError, VerifyOptions, VerifyReport, log_files,
    verify_with,
};

use crate::error::StoreError;
use crate::ingest::to_i64;
use crate::pool::AuditStore;
use crate::replica::ReplicaId;

/// What [`AuditStore::record_anchor`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AnchorRecorded {
    /// The head is recorded.
    Recorded,
    /// It was already recorded, with the same hash.
    AlreadyRecorded,
}

/// Why a log could not be verified against the store.
#[derive(Debug, thiserror::Error)]
pub enum VerifyAgainstStore {
    /// The store could not be read.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The log fails verification against the store's anchors (or could
    /// not be read): [`VerifyError::Failed`] holds the problem and what
    /// was verified before it.
    #[error(transparent)]
    Log(#[from] VerifyError),
}

impl AuditStore {
    /// Records `head` (a replica's published chain head: [`icr_audit::AuditLog::anchor`])
    /// as an anchor. The same sequence with another hash is a
    /// [`StoreError::ChainConflict`].
    pub async fn record_anchor(
        &self,
        replica: &ReplicaId,
        head: ChainPoint,
    ) -> Result<AnchorRecorded, StoreError> {
        let conn = self.conn().await?;
        let seq = to_i64(head.seq)?;
        let n = conn
            .execute(
                "INSERT INTO audit_anchors (replica, seq, hash) VALUES ($1, $2, $3)
                 ON CONFLICT (replica, seq) DO NOTHING",
                &[&replica.as_str(), &seq, &head.hash.as_bytes().as_slice()],
            )
            .await
            .map_err(StoreError::db("record an anchor"))?;
        if n == 1 {
            return Ok(AnchorRecorded::Recorded);
        }
        let stored: Vec<u8> = conn
            .query_one(
                "SELECT hash FROM audit_anchors WHERE replica = $1 AND seq = $2",
                &[&replica.as_str(), &seq],
            )
            .await
            .map_err(StoreError::db("read an anchor"))?
            .get(0);
        if stored.as_slice() == head.hash.as_bytes() {
            Ok(AnchorRecorded::AlreadyRecorded)
        } else {
            Err(StoreError::ChainConflict {
                replica: replica.clone(),
                seq: head.seq,
                stored: hash_from(&stored).unwrap_or(EntryHash::GENESIS),
                found: head.hash,
            })
        }
    }

    /// The anchors recorded for `replica`, and the last entry ingested
    /// from its log: every point its log must still hold.
    pub async fn anchors(&self, replica: &ReplicaId) -> Result<Vec<ChainPoint>, StoreError> {
        let conn = self.conn().await?;
        let rows = conn
            .query(
                "SELECT seq, hash FROM audit_anchors WHERE replica = $1
                 UNION
                 SELECT seq, hash FROM audit_ingest_progress WHERE replica = $1
                 ORDER BY 1",
                &[&replica.as_str()],
            )
            .await
            .map_err(StoreError::db("read the anchors"))?;
        rows.iter()
            .map(|row| {
                let seq: i64 = row.get(0);
                let hash: Vec<u8> = row.get(1);
                let corrupt = || StoreError::Corrupt {
                    replica: replica.to_string(),
                    seq,
                    why: "anchor".into(),
                };
                Ok(ChainPoint {
                    seq: Sequence::new(u64::try_from(seq).map_err(|_| corrupt())?),
                    hash: hash_from(&hash).ok_or_else(corrupt)?,
                })
            })
            .collect()
    }

    /// Verifies `replica`'s log in `dir` from its genesis against
    /// [`anchors`](Self::anchors): `icr audit verify --store`. A log cut
    /// at a line boundary (its last lines or files removed, or an older
    /// copy restored) fails with
    /// [`ProblemKind::EndsEarly`](icr_audit::ProblemKind::EndsEarly).
    pub async fn verify_log(
        &self,
        replica: &ReplicaId,
        dir: &Path,
    ) -> Result<VerifyReport, VerifyAgainstStore> {
        let anchors = self.anchors(replica).await?;
        let dir = dir.to_path_buf();
        tokio::task::spawn_blocking(move || {
            let files = log_files(&dir).map_err(|source| VerifyError::Io {
                path: dir.clone(),
                source,
            })?;
            let options = VerifyOptions {
                anchors,
                ..VerifyOptions::default()
            };
            verify_with(&files, &options, |_, _, _| {})
        })
        .await
        .map_err(|_| StoreError::Interrupted)?
        .map_err(VerifyAgainstStore::Log)
    }
}

/// A stored hash, if it is 32 bytes (the schema checks the length).
pub(crate) fn hash_from(bytes: &[u8]) -> Option<EntryHash> {
    <[u8; 32]>::try_from(bytes).ok().map(EntryHash::from_bytes)
}
