//! Feeding a replica's log into the store: from the stored progress, in
//! bounded batches, one transaction each, idempotent on (replica, sequence).

use std::collections::HashSet;
use std::fs::File;
use std::io::{Read as _, Seek, SeekFrom};
use std::path::Path;

use icr_audit::{
    ChainPoint, Decision, EntryHash, Event, Interaction, MAX_LINE_BYTES, Sequence, Timestamp,
    log_files, parse_line,
};
use time::OffsetDateTime;
use tokio_postgres::Transaction;

use crate::anchor::hash_from;
use crate::error::StoreError;
use crate::pool::AuditStore;
use crate::replica::ReplicaId;
use crate::tail::{Position, Read, Tail};

/// Bounds on one ingest run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IngestLimits {
    /// Entries per batch (one transaction), 1 to 10,000.
    pub batch_entries: usize,
    /// About this many bytes of lines per batch.
    pub batch_bytes: usize,
    /// Entries per run: the rest waits for the next run (and counts in
    /// the lag).
    pub max_entries: u64,
}

impl Default for IngestLimits {
    fn default() -> Self {
        Self {
            batch_entries: 500,
            batch_bytes: 4 * 1024 * 1024,
            max_entries: 1_000_000,
        }
    }
}

/// How far behind the log's end the store is.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Lag {
    /// Entries in the log not yet in the store.
    pub entries: u64,
    /// The log's last entry's time minus the last stored entry's (0 when
    /// nothing is behind).
    pub seconds: f64,
}

/// What one ingest run did.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct IngestReport {
    /// Entries read from the log (each verified).
    pub read: u64,
    /// Of which newly stored.
    pub inserted: u64,
    /// Of which already stored, with the same hash (another run, or
    /// another ingester, stored them first).
    pub already_present: u64,
    /// The last entry stored for the replica after the run.
    pub stored: ChainPoint,
    /// Its time (`None` while nothing is stored).
    pub stored_time: Option<Timestamp>,
    /// What is left behind the log's end.
    pub lag: Lag,
    /// The run read to the end of the log as it then was (not stopped by
    /// `max_entries`): every entry written before the run began is stored.
    pub reached_end: bool,
}

/// How far a replica's log has been ingested.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Progress {
    /// The last entry stored.
    pub head: ChainPoint,
    /// Its time.
    pub time: Option<Timestamp>,
}

/// The last complete entry of the log in `dir` and its time, read from the
/// end of its newest file (or the one before, when the newest has none
/// yet); `None` for an empty log, or one whose last line is not an entry
/// (verification says why). Blocking.
pub fn log_head(dir: &Path) -> std::io::Result<Option<(ChainPoint, Timestamp)>> {
    let files = log_files(dir)?;
    for path in files.iter().rev().take(2) {
        let mut file = File::open(path)?;
        let len = file.metadata()?.len();
        let window = (2 * (MAX_LINE_BYTES as u64 + 1)).min(len);
        file.seek(SeekFrom::Start(len - window))?;
        let mut buf = Vec::with_capacity(window as usize);
        file.take(window).read_to_end(&mut buf)?;
        let Some(end) = buf.iter().rposition(|b| *b == b'\n') else {
            continue;
        };
        let start = buf[..end]
            .iter()
            .rposition(|b| *b == b'\n')
            .map_or(0, |i| i + 1);
        if start == 0 && window < len {
            // The window began mid-line: no whole line in it.
            return Ok(None);
        }
        return Ok(parse_line(&buf[start..end])
            .ok()
            .map(|e| (e.point(), e.time())));
    }
    Ok(None)
}

pub(crate) fn to_i64(seq: Sequence) -> Result<i64, StoreError> {
    i64::try_from(seq.get()).map_err(|_| StoreError::Invalid("sequence beyond the store's range"))
}

pub(crate) fn interaction_str(i: Interaction) -> &'static str {
    match i {
        Interaction::Record => "record",
        Interaction::FhirEverything => "fhir-everything",
        Interaction::AuditRead => "audit-read",
        Interaction::BreakGlassReview => "break-glass-review",
        Interaction::Viewer => "viewer",
        Interaction::Extract => "extract",
    }
}

fn decision_str(d: Decision) -> &'static str {
    match d {
        Decision::Allowed => "allowed",
        Decision::Refused => "refused",
    }
}

/// One row of `audit_accesses`, as ingest writes it.
#[derive(Default)]
struct AccessRows {
    seq: Vec<i64>,
    time: Vec<OffsetDateTime>,
    nhs: Vec<Option<String>>,
    interaction: Vec<String>,
    sub: Vec<Option<String>>,
    name: Vec<Option<String>>,
    org: Vec<Option<String>>,
    role: Vec<Option<String>>,
    purpose: Vec<String>,
    reason: Vec<Option<String>>,
    completed_by: Vec<Option<i64>>,
    decision: Vec<Option<String>>,
    status: Vec<Option<i32>>,
}

impl AccessRows {
    /// The access that entry `seq` records (a whole access, or its
    /// completion standing alone), or the access it begins.
    fn push(&mut self, seq: i64, event: &Event) {
        match event {
            Event::Access(r) => {
                let user = r.user.as_ref();
                self.seq.push(seq);
                self.time.push(r.time.as_offset());
                self.nhs.push(r.nhs_number.map(|n| n.as_str().to_owned()));
                self.interaction.push(interaction_str(r.interaction).into());
                self.sub.push(user.map(|u| u.sub.clone()));
                self.name.push(user.map(|u| u.name.clone()));
                self.org.push(user.map(|u| u.org.as_str().to_owned()));
                self.role.push(user.map(|u| u.role.clone()));
                self.purpose.push(r.purpose.clone());
                self.reason.push(r.break_glass_reason.clone());
                self.completed_by.push(Some(seq));
                self.decision.push(Some(decision_str(r.decision).into()));
                self.status.push(Some(i32::from(r.http_status)));
            }
            Event::Begun(b) => {
                self.seq.push(seq);
                self.time.push(b.time.as_offset());
                self.nhs.push(Some(b.nhs_number.as_str().to_owned()));
                self.interaction.push(interaction_str(b.interaction).into());
                self.sub.push(Some(b.user.sub.clone()));
                self.name.push(Some(b.user.name.clone()));
                self.org.push(Some(b.user.org.as_str().to_owned()));
                self.role.push(Some(b.user.role.clone()));
                self.purpose.push(b.purpose.clone());
                self.reason.push(b.break_glass_reason.clone());
                self.completed_by.push(None);
                self.decision.push(None);
                self.status.push(None);
            }
            Event::Recovery(_) => {}
        }
    }

    async fn insert(&self, tx: &Transaction<'_>, replica: &str) -> Result<(), StoreError> {
        if self.seq.is_empty() {
            return Ok(());
        }
        tx.execute(
            "INSERT INTO audit_accesses (replica, seq, time, nhs_number, interaction, user_sub,
                 user_name, organisation, role, purpose, break_glass_reason, completed_by,
                 decision, http_status)
             SELECT $1, * FROM UNNEST($2::int8[], $3::timestamptz[], $4::text[], $5::text[],
                 $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[],
                 $12::int8[], $13::text[], $14::int4[])
             ON CONFLICT (replica, seq) DO NOTHING",
            &[
                &replica,
                &self.seq,
                &self.time,
                &self.nhs,
                &self.interaction,
                &self.sub,
                &self.name,
                &self.org,
                &self.role,
                &self.purpose,
                &self.reason,
                &self.completed_by,
                &self.decision,
                &self.status,
            ],
        )
        .await
        .map_err(StoreError::db("store accesses"))?;
        Ok(())
    }
}

impl AuditStore {
    /// How far `replica`'s log has been ingested; `None` before its first
    /// ingest.
    pub async fn progress(&self, replica: &ReplicaId) -> Result<Option<Progress>, StoreError> {
        let conn = self.conn().await?;
        let row = conn
            .query_opt(
                "SELECT seq, hash, time FROM audit_ingest_progress WHERE replica = $1",
                &[&replica.as_str()],
            )
            .await
            .map_err(StoreError::db("read the ingest progress"))?;
        row.map(|row| progress_of(replica, &row).map(|(p, _)| p))
            .transpose()
    }

    /// Ingests `replica`'s log in `dir` with the default [`IngestLimits`].
    pub async fn ingest(
        &self,
        replica: &ReplicaId,
        dir: &Path,
    ) -> Result<IngestReport, StoreError> {
        self.ingest_with(replica, dir, IngestLimits::default())
            .await
    }

    /// Ingests `replica`'s log in `dir` from the stored progress to its end
    /// (or `limits.max_entries`), verifying each entry's chain link from
    /// the last one stored. Each batch is one transaction: on an error,
    /// the batches before it are kept and the next run resumes after them;
    /// nothing of the failing batch is.
    pub async fn ingest_with(
        &self,
        replica: &ReplicaId,
        dir: &Path,
        limits: IngestLimits,
    ) -> Result<IngestReport, StoreError> {
        if !(1..=10_000).contains(&limits.batch_entries) || limits.batch_bytes == 0 {
            return Err(StoreError::Invalid("ingest batch limits"));
        }
        let mut conn = self.conn().await?;
        let row = conn
            .query_opt(
                "SELECT seq, hash, time, file_number, file_offset FROM audit_ingest_progress
                 WHERE replica = $1",
                &[&replica.as_str()],
            )
            .await
            .map_err(StoreError::db("read the ingest progress"))?;
        let (mut stored, at) = match row {
            Some(row) => progress_of(replica, &row)?,
            None => (
                Progress {
                    head: ChainPoint::GENESIS,
                    time: None,
                },
                Position::START,
            ),
        };
        let mut report = IngestReport {
            read: 0,
            inserted: 0,
            already_present: 0,
            stored: stored.head,
            stored_time: stored.time,
            lag: Lag {
                entries: 0,
                seconds: 0.0,
            },
            reached_end: false,
        };
        let mut tail = Tail::new(replica.clone(), dir, stored.head, at);
        while report.read < limits.max_entries {
            let max = limits
                .batch_entries
                .min(usize::try_from(limits.max_entries - report.read).unwrap_or(usize::MAX));
            let (t, batch) = tokio::task::spawn_blocking(move || {
                let batch = tail.next_batch(max, limits.batch_bytes);
                (tail, batch)
            })
            .await
            .map_err(|_| StoreError::Interrupted)?;
            tail = t;
            let batch = batch?;
            let Some(last) = batch.last() else {
                report.reached_end = true;
                break;
            };
            let (inserted, present) = write_batch(&mut conn, replica, &batch).await?;
            report.read += batch.len() as u64;
            report.inserted += inserted;
            report.already_present += present;
            stored = Progress {
                head: last.entry.point(),
                time: Some(last.entry.time()),
            };
            report.stored = stored.head;
            report.stored_time = stored.time;
        }
        let dir = dir.to_path_buf();
        report.lag = tokio::task::spawn_blocking(move || lag_behind(&dir, stored))
            .await
            .map_err(|_| StoreError::Interrupted)?;
        Ok(report)
    }
}

/// How far the log in `dir` is ahead of `stored`: its entries after it,
/// and its last entry's time minus `stored`'s (0 when that is unknown,
/// or nothing is behind). Blocking.
pub(crate) fn lag_behind(dir: &Path, stored: Progress) -> Lag {
    match log_head(dir).ok().flatten() {
        Some((head, time)) if head.seq > stored.head.seq => {
            let behind = stored
                .time
                .map_or(0.0, |t| (time.unix_micros() - t.unix_micros()) as f64 / 1e6);
            Lag {
                entries: head.seq.get() - stored.head.seq.get(),
                seconds: behind.max(0.0),
            }
        }
        _ => Lag {
            entries: 0,
            seconds: 0.0,
        },
    }
}

/// The progress row's stored point and position.
fn progress_of(
    replica: &ReplicaId,
    row: &tokio_postgres::Row,
) -> Result<(Progress, Position), StoreError> {
    let corrupt = |why: &str| StoreError::Corrupt {
        replica: replica.to_string(),
        seq: row.try_get::<_, i64>(0).unwrap_or(-1),
        why: format!("ingest progress: {why}"),
    };
    let seq: i64 = row.try_get(0).map_err(|_| corrupt("seq"))?;
    let hash: Vec<u8> = row.try_get(1).map_err(|_| corrupt("hash"))?;
    let time: Option<OffsetDateTime> = row.try_get(2).map_err(|_| corrupt("time"))?;
    let head = ChainPoint {
        seq: Sequence::new(u64::try_from(seq).map_err(|_| corrupt("negative seq"))?),
        hash: hash_from(&hash).ok_or_else(|| corrupt("hash is not 32 bytes"))?,
    };
    let at = match (row.try_get::<_, i64>(3), row.try_get::<_, i64>(4)) {
        (Ok(file), Ok(offset)) => Position {
            file: u64::try_from(file).map_err(|_| corrupt("file"))?,
            offset: u64::try_from(offset).map_err(|_| corrupt("offset"))?,
        },
        _ => Position::START,
    };
    Ok((
        Progress {
            head,
            time: time.map(Timestamp::from_offset),
        },
        at,
    ))
}

/// Stores one batch in one transaction: the entries (new ones inserted,
/// present ones checked against their stored hash), the accesses they
/// record or complete, and the progress. Returns (inserted, already
/// present).
async fn write_batch(
    conn: &mut tokio_postgres::Client,
    replica: &ReplicaId,
    batch: &[Read],
) -> Result<(u64, u64), StoreError> {
    let r = replica.as_str();
    let tx = conn
        .transaction()
        .await
        .map_err(StoreError::db("begin an ingest batch"))?;
    // One ingester per replica at a time: the others wait here, then find
    // the entries present.
    tx.execute(
        "INSERT INTO audit_ingest_progress (replica, seq, hash, file_number, file_offset)
         VALUES ($1, 0, $2, 1, 0) ON CONFLICT (replica) DO NOTHING",
        &[&r, &EntryHash::GENESIS.as_bytes().as_slice()],
    )
    .await
    .map_err(StoreError::db("create the ingest progress"))?;
    tx.execute(
        "SELECT 1 FROM audit_ingest_progress WHERE replica = $1 FOR UPDATE",
        &[&r],
    )
    .await
    .map_err(StoreError::db("lock the ingest progress"))?;

    let mut seqs = Vec::with_capacity(batch.len());
    let mut hashes = Vec::with_capacity(batch.len());
    let mut prevs = Vec::with_capacity(batch.len());
    let mut times = Vec::with_capacity(batch.len());
    let mut kinds = Vec::with_capacity(batch.len());
    let mut lines = Vec::with_capacity(batch.len());
    for read in batch {
        let e = &read.entry;
        seqs.push(to_i64(e.seq)?);
        hashes.push(e.hash.as_bytes().to_vec());
        prevs.push(e.prev.as_bytes().to_vec());
        times.push(e.time().as_offset());
        kinds.push(match (&e.event, e.completes) {
            (Event::Access(_), None) => "access",
            (Event::Access(_), Some(_)) => "completion",
            (Event::Begun(_), _) => "begun",
            (Event::Recovery(_), _) => "recovery",
        });
        lines.push(read.line.as_str());
    }
    let inserted: HashSet<i64> = tx
        .query(
            "INSERT INTO audit_entries (replica, seq, hash, prev, time, kind, line)
             SELECT $1, * FROM UNNEST($2::int8[], $3::bytea[], $4::bytea[], $5::timestamptz[],
                 $6::text[], $7::text[])
             ON CONFLICT (replica, seq) DO NOTHING
             RETURNING seq",
            &[&r, &seqs, &hashes, &prevs, &times, &kinds, &lines],
        )
        .await
        .map_err(StoreError::db("store entries"))?
        .iter()
        .map(|row| row.get(0))
        .collect();
    let present: Vec<i64> = seqs
        .iter()
        .copied()
        .filter(|s| !inserted.contains(s))
        .collect();
    if !present.is_empty() {
        let rows = tx
            .query(
                "SELECT seq, hash FROM audit_entries WHERE replica = $1 AND seq = ANY($2)",
                &[&r, &present],
            )
            .await
            .map_err(StoreError::db("check stored entries"))?;
        for row in rows {
            let seq: i64 = row.get(0);
            let stored: Vec<u8> = row.get(1);
            let Some(read) = batch.iter().find(|b| to_i64(b.entry.seq).ok() == Some(seq)) else {
                continue;
            };
            if stored.as_slice() != read.entry.hash.as_bytes() {
                return Err(StoreError::ChainConflict {
                    replica: replica.clone(),
                    seq: read.entry.seq,
                    stored: hash_from(&stored).unwrap_or(EntryHash::GENESIS),
                    found: read.entry.hash,
                });
            }
        }
    }

    // The accesses the new entries record, then the completions attached
    // to their begun access (a completion whose begun entry is not stored
    // stands alone).
    let mut rows = AccessRows::default();
    let mut completions: Vec<(i64, i64, &Event)> = Vec::new();
    for read in batch {
        let e = &read.entry;
        let seq = to_i64(e.seq)?;
        if !inserted.contains(&seq) {
            continue;
        }
        match e.completes {
            Some(begun) => completions.push((to_i64(begun)?, seq, &e.event)),
            None => rows.push(seq, &e.event),
        }
    }
    rows.insert(&tx, r).await?;
    if !completions.is_empty() {
        let begun: Vec<i64> = completions.iter().map(|c| c.0).collect();
        let by: Vec<i64> = completions.iter().map(|c| c.1).collect();
        let (decision, status): (Vec<&str>, Vec<i32>) = completions
            .iter()
            .map(|(_, _, e)| match e {
                Event::Access(rec) => (decision_str(rec.decision), i32::from(rec.http_status)),
                _ => ("refused", 0),
            })
            .unzip();
        let attached: HashSet<i64> = tx
            .query(
                "UPDATE audit_accesses a
                 SET completed_by = u.by, decision = u.decision, http_status = u.status
                 FROM UNNEST($2::int8[], $3::int8[], $4::text[], $5::int4[])
                     AS u(begun, by, decision, status)
                 WHERE a.replica = $1 AND a.seq = u.begun AND a.completed_by IS NULL
                 RETURNING a.completed_by",
                &[&r, &begun, &by, &decision, &status],
            )
            .await
            .map_err(StoreError::db("attach completions"))?
            .iter()
            .map(|row| row.get(0))
            .collect();
        let mut alone = AccessRows::default();
        for (_, seq, event) in completions.iter().filter(|c| !attached.contains(&c.1)) {
            alone.push(*seq, event);
        }
        alone.insert(&tx, r).await?;
    }

    let Some(last) = batch.last() else {
        return Ok((0, 0));
    };
    tx.execute(
        "UPDATE audit_ingest_progress
         SET seq = $2, hash = $3, file_number = $4, file_offset = $5, time = $6, updated_at = now()
         WHERE replica = $1 AND seq < $2",
        &[
            &r,
            &to_i64(last.entry.seq)?,
            &last.entry.hash.as_bytes().as_slice(),
            &i64::try_from(last.after.file).map_err(|_| StoreError::Invalid("file number"))?,
            &i64::try_from(last.after.offset).map_err(|_| StoreError::Invalid("file offset"))?,
            &last.entry.time().as_offset(),
        ],
    )
    .await
    .map_err(StoreError::db("record the ingest progress"))?;
    tx.commit()
        .await
        .map_err(StoreError::db("commit an ingest batch"))?;
    Ok((inserted.len() as u64, present.len() as u64))
}
