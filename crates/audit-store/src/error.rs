//! What can go wrong with the store, with the context to act on it. No
//! message quotes a log line or a patient identifier.

use std::path::PathBuf;

use icr_audit::{ChainPoint, EntryHash, ProblemKind, Sequence};

use crate::replica::ReplicaId;

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The connection string is not one PostgreSQL's client takes.
    #[error("the audit store's connection string is invalid: {0}")]
    Config(String),
    /// The TLS settings cannot be used (the CA file).
    #[error("the audit store's TLS settings: {0}")]
    Tls(String),
    /// No connection could be made, or one was lost.
    #[error("cannot reach the audit store: {0}")]
    Connect(#[source] tokio_postgres::Error),
    /// A connection or a statement took longer than its bound.
    #[error("the audit store did not answer in time ({what})")]
    Timeout {
        /// What was waited for.
        what: &'static str,
    },
    /// A statement failed.
    #[error("the audit store failed to {what}: {source}")]
    Db {
        /// What was being done.
        what: &'static str,
        /// The database's error.
        #[source]
        source: tokio_postgres::Error,
    },
    /// A migration could not be applied (nothing of it was).
    #[error("audit store migration {version} ({name}) failed: {source}")]
    Migration {
        /// Its version.
        version: i32,
        /// Its name.
        name: &'static str,
        /// The database's error.
        #[source]
        source: tokio_postgres::Error,
    },
    /// The store's schema is newer than this build knows.
    #[error("the audit store's schema is at version {found}, newer than this build's {known}")]
    SchemaTooNew {
        /// The newest version applied.
        found: i32,
        /// The newest this build has.
        known: i32,
    },
    /// The replica's log directory or a file in it could not be read.
    #[error("cannot read replica {replica}'s audit log at {}: {source}", path.display())]
    LogIo {
        /// The replica.
        replica: ReplicaId,
        /// The file or directory.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The replica's log fails verification where ingest reached: nothing
    /// from that line on was ingested.
    #[error("replica {replica}'s audit log fails verification at {} byte {offset}: {kind}", file.display())]
    LogBroken {
        /// The replica.
        replica: ReplicaId,
        /// The file.
        file: PathBuf,
        /// The byte offset where the line starts.
        offset: u64,
        /// What is wrong (the log verifier's words).
        kind: Box<ProblemKind>,
    },
    /// The log no longer holds what was ingested from it: its file is gone
    /// or shorter than the stored position (cut, replaced or restored from
    /// an older copy).
    #[error("replica {replica}'s audit log no longer holds entry {stored} that the store ingested from it (file {}, offset {offset}): it was cut or replaced", file.display())]
    LogBehindStore {
        /// The replica.
        replica: ReplicaId,
        /// The last entry stored.
        stored: ChainPoint,
        /// The file it should be in.
        file: PathBuf,
        /// Where the next line should start.
        offset: u64,
    },
    /// An entry is already stored with another hash: two different chains
    /// under one replica id, or a log rewritten after it was ingested.
    #[error(
        "replica {replica}'s entry {seq} is stored with hash {stored} but is {found} now: two chains under one replica id, or a rewritten log"
    )]
    ChainConflict {
        /// The replica.
        replica: ReplicaId,
        /// The entry.
        seq: Sequence,
        /// The hash in the store.
        stored: EntryHash,
        /// The hash met now.
        found: EntryHash,
    },
    /// A row in the store is not what ingest writes (altered in the
    /// database).
    #[error("the audit store's row {replica}/{seq} is damaged: {why}")]
    Corrupt {
        /// The replica.
        replica: String,
        /// The sequence.
        seq: i64,
        /// What is wrong.
        why: String,
    },
    /// The access named is not in the store, or is not a break-glass one.
    #[error("no break-glass access {replica}/{seq} in the audit store")]
    NoSuchBreakGlass {
        /// The replica.
        replica: ReplicaId,
        /// The sequence.
        seq: Sequence,
    },
    /// A value given is out of its bounds.
    #[error("invalid {0}")]
    Invalid(&'static str),
    /// A blocking read was interrupted (its thread panicked or was
    /// cancelled).
    #[error("the audit log read was interrupted")]
    Interrupted,
}

impl StoreError {
    pub(crate) fn db(what: &'static str) -> impl FnOnce(tokio_postgres::Error) -> StoreError {
        move |source| StoreError::Db { what, source }
    }

    /// Whether the store could not be reached (or went away mid-way): a
    /// later retry may succeed, and nothing half-done was kept.
    pub fn is_unavailable(&self) -> bool {
        match self {
            StoreError::Connect(_) | StoreError::Timeout { .. } => true,
            // Connection lost (no SQL state), a connection exception (08),
            // the server shutting down (57: operator intervention) or out
            // of resources (53).
            StoreError::Db { source, .. } | StoreError::Migration { source, .. } => {
                source.is_closed()
                    || source.code().is_none_or(|c| {
                        ["08", "53", "57"]
                            .iter()
                            .any(|class| c.code().starts_with(class))
                    })
            }
            _ => false,
        }
    }
}
