//! The replicas' audit logs in one PostgreSQL database: ingested with each
//! chain verified, anchored, and queried across replicas.
//!
//! **Place in the request flow.** None: requests never wait for the store.
//! Each replica keeps writing its own hash-chained log ([`icr_audit`]), the
//! durable record made before anything is released. A background task in
//! each replica feeds its log into the store ([`AuditStore::ingest`]) and
//! records its chain head at intervals ([`AuditStore::record_anchor`]); the
//! audit's readers (`/v1/audit`, the privacy officer's break-glass list)
//! read from the store when one is configured, so that a person's history
//! is complete across replicas. If PostgreSQL is down, ingest fails
//! cleanly, the replicas serve on their local logs, and the next ingest
//! catches up from the stored progress: nothing lost, nothing duplicated.
//!
//! **When a deployment needs it.** One replica: never — its file log is
//! the whole truth and `/v1/audit` reads it. More than one replica: each
//! log holds only the accesses that replica served, so "who looked at my
//! record" and the break-glass review need the store.
//!
//! **Ingest** ([`AuditStore::ingest`]) follows a replica's log directory
//! from the stored progress (the last entry stored, and the file and byte
//! offset after it; the first run from the log's genesis, so a log whose
//! first files were archived away is refused), reading lines with the log's own reader and checking
//! each with the log's own parser and chain verifier: the first line read
//! must chain from the stored (sequence, hash). Entries go in bounded
//! batches ([`IngestLimits`]), one transaction each, idempotent on
//! (replica, sequence); an entry already stored with another hash is a
//! [`StoreError::ChainConflict`], never accepted. A completion is attached
//! to its begun access, so the store holds one row per access with its
//! outcome, or none ("outcome not recorded"). The [`IngestReport`] counts
//! what was read, inserted and already present, and the [`Lag`] behind the
//! log's end (for a metric).
//!
//! **Anchors.** [`AuditStore::verify_log`] verifies a replica's log against
//! the heads recorded in the store and the last entry ingested: a log cut
//! at a line boundary fails, which the log alone cannot show.
//!
//! **Queries.** [`AuditStore::person_accesses`] (newest first, keyset-paged
//! by [`AccessCursor`], at most [`icr_audit::MAX_PAGE`] a page, twelve
//! months by default), [`AuditStore::break_glass`] with each access's latest
//! review, and [`AuditStore::record_review`].
//!
//! **The feed** ([`feed`], started by `icr serve` when gateway.toml has
//! `[audit_store]`, [`StoreConfig`]): every `ingest_every_ms` it ingests
//! the replica's log and, every `anchor_every_s`, records its chain head;
//! a store that cannot be reached is retried at the next run (the replica
//! serves on its local log meanwhile), and [`FeedStats`] carries how it
//! goes to `/metrics` (`icr_audit_store_up`, `…_lag_entries`,
//! `…_lag_seconds`, `…_failures_total`; while runs fail, the lag is
//! reckoned from the last entry the store was seen to hold, so it grows
//! through an outage). Each run that reads to the end of
//! the log records the replica caught up ([`AuditStore::mark_caught_up`],
//! from a time taken before the run began), and its last run as it stops
//! records that it stopped cleanly: [`AuditStore::coverage`] lets a reader
//! name the replicas whose latest accesses may be missing.
//!
//! **Readers.** With `[audit_store]`, the gateway reads `/v1/audit` and the
//! AuditEvent search from the store (falling back to its own log, saying
//! so, when the store cannot be read), and the privacy officer's
//! break-glass review lists and records reviews here.
//!
//! **Schema.** `migrations/NNNN_name.sql`, embedded; [`AuditStore::migrate`]
//! applies the missing ones in order in one transaction under an advisory
//! lock, so replicas starting together migrate once.
//!
//! **Connections.** A small bounded pool of `tokio-postgres` connections
//! ([`AuditStore::connect`], [`AuditStore::lazy`]). Across a network, TLS
//! ([`StoreTls`], `[audit_store] ca_file`): rustls with the workspace's
//! aws-lc-rs, every connection TLS (`sslmode=require`), the server's
//! certificate verified against the given CA certificates and the URL's
//! host name (no channel binding: SCRAM-SHA-256, the server authenticated
//! by its certificate). Without a CA file, plain TCP (loopback or a
//! sidecar); a URL asking for TLS without one is refused, never connected
//! to unverified.
//!
//! **Tests** run a private PostgreSQL (`icr_testkit::postgres`: `initdb`
//! and `pg_ctl` on a loopback port, as the `postgres` user when run as
//! root): `cargo test -p icr-audit-store`. Without PostgreSQL installed
//! they are skipped with a message, and fail under `CI=true`.

#![warn(missing_docs)]

mod anchor;
mod coverage;
mod error;
mod feed;
mod ingest;
mod migrate;
mod pool;
mod query;
mod replica;
mod tail;
mod tls;

pub use anchor::{AnchorRecorded, VerifyAgainstStore};
pub use coverage::Coverage;
pub use error::StoreError;
pub use feed::{FeedError, FeedStats, Resolved, StoreConfig, feed};
pub use ingest::{IngestLimits, IngestReport, Lag, Progress, log_head};
pub use migrate::{MIGRATIONS, Migration};
pub use pool::{AuditStore, MAX_POOL};
pub use query::{
    AccessCursor, AccessRef, BreakGlassAccess, BreakGlassQuery, CursorError, NewReview,
    PersonQuery, Review, ReviewOutcome, StorePage, StoredAccess,
};
pub use replica::{ReplicaError, ReplicaId};
pub use tls::StoreTls;
