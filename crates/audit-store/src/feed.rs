//! The background task each replica runs when a store is configured
//! (`[audit_store]` in gateway.toml): feed the replica's log into the
//! store every `ingest_every_ms`, record its chain head every
//! `anchor_every_s`, and count how it goes for `/metrics`. Requests never
//! wait for it; when PostgreSQL is down it says so in its counters and
//! catches up once it is back.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use icr_audit::ChainPoint;
use serde::Deserialize;

use crate::ingest::lag_behind;
use crate::{AuditStore, Lag, Progress, ReplicaId, StoreError, log_head};

fn default_pool_size() -> usize {
    4
}
fn default_ingest_every_ms() -> u64 {
    1000
}
fn default_anchor_every_s() -> u64 {
    60
}

/// `[audit_store]` in gateway.toml: the shared store the replicas feed.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct StoreConfig {
    /// A file holding the PostgreSQL connection URL (it may carry a
    /// password, so it is not written in gateway.toml); relative to the
    /// configuration directory.
    pub url_file: PathBuf,
    /// This replica's id (a DNS label, unique among the replicas). Default:
    /// the `HOSTNAME` environment variable (a StatefulSet's pod name).
    #[serde(default)]
    pub replica: Option<String>,
    /// Connections to the store, at most (1 to 64).
    #[serde(default = "default_pool_size")]
    pub pool_size: usize,
    /// How often the log is fed into the store, in milliseconds (100 to
    /// 600000).
    #[serde(default = "default_ingest_every_ms")]
    pub ingest_every_ms: u64,
    /// How often the replica's chain head is recorded in the store, in
    /// seconds (1 to 86400).
    #[serde(default = "default_anchor_every_s")]
    pub anchor_every_s: u64,
    /// A PEM file of the CA certificates the store's server certificate
    /// must chain to (relative to the configuration directory). With it,
    /// every connection is TLS and the server is verified against it and
    /// the URL's host name; without it, connections are plain TCP, for
    /// loopback or a sidecar only.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
}

/// Why the feed cannot start.
#[derive(Debug, thiserror::Error)]
pub enum FeedError {
    /// A setting is out of its range.
    #[error("[audit_store] {0}")]
    Setting(&'static str),
    /// No replica id was given and `HOSTNAME` is not one.
    #[error(
        "[audit_store] replica is not set and HOSTNAME is not a valid replica id (a DNS label of at most 63 characters)"
    )]
    Replica,
    /// The connection URL's file cannot be read.
    #[error("[audit_store] url_file {}: {source}", path.display())]
    UrlFile {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The CA file cannot be used, or the URL asks for TLS without one.
    #[error("[audit_store] {0}")]
    Tls(String),
    /// The file does not hold a PostgreSQL connection URL.
    #[error("[audit_store] url_file {}: not a PostgreSQL connection URL ({why})", path.display())]
    Url {
        /// The file.
        path: PathBuf,
        /// Why.
        why: String,
    },
}

impl StoreConfig {
    /// The settings checked, the replica resolved (`hostname`: the
    /// `HOSTNAME` environment variable, if set) and the URL read from its
    /// file (relative to `base`).
    pub fn resolve(&self, base: &Path, hostname: Option<&str>) -> Result<Resolved, FeedError> {
        if !(1..=crate::MAX_POOL).contains(&self.pool_size) {
            return Err(FeedError::Setting("pool_size must be 1 to 64"));
        }
        if !(100..=600_000).contains(&self.ingest_every_ms) {
            return Err(FeedError::Setting("ingest_every_ms must be 100 to 600000"));
        }
        if !(1..=86_400).contains(&self.anchor_every_s) {
            return Err(FeedError::Setting("anchor_every_s must be 1 to 86400"));
        }
        let replica = self
            .replica
            .as_deref()
            .or(hostname)
            .and_then(|r| ReplicaId::parse(r).ok())
            .ok_or(FeedError::Replica)?;
        let path = base.join(&self.url_file);
        let url = std::fs::read_to_string(&path)
            .map_err(|source| FeedError::UrlFile {
                path: path.clone(),
                source,
            })?
            .trim()
            .to_owned();
        // Checked now, so that a mistyped URL stops the start (and
        // `icr check-config`) rather than every feed; the error never
        // quotes the URL, which may hold a password.
        if let Err(e) = url.parse::<tokio_postgres::Config>() {
            return Err(FeedError::Url {
                path,
                why: e.to_string(),
            });
        }
        let tls = match &self.ca_file {
            Some(ca) => Some(
                crate::StoreTls::from_ca_file(&base.join(ca))
                    .map_err(|e| FeedError::Tls(format!("ca_file: {e}")))?,
            ),
            None => None,
        };
        // The URL and the TLS settings together, as a connection takes
        // them (nothing is connected to).
        if let Err(e) = AuditStore::lazy_with(&url, self.pool_size, tls.clone()) {
            return Err(FeedError::Tls(e.to_string()));
        }
        Ok(Resolved {
            url,
            tls,
            replica,
            pool_size: self.pool_size,
            every: Duration::from_millis(self.ingest_every_ms),
            anchor_every: Duration::from_secs(self.anchor_every_s),
        })
    }
}

/// The feed's settings, checked.
#[derive(Clone)]
pub struct Resolved {
    url: String,
    tls: Option<crate::StoreTls>,
    /// This replica.
    pub replica: ReplicaId,
    pool_size: usize,
    every: Duration,
    anchor_every: Duration,
}

impl Resolved {
    /// A handle for reading the store (`pool_size` connections at most),
    /// connecting when first used: the replica starts while PostgreSQL is
    /// down.
    pub fn reader(&self) -> Result<AuditStore, StoreError> {
        AuditStore::lazy_with(&self.url, self.pool_size, self.tls.clone())
    }

    /// How often the log is fed into the store.
    pub fn every(&self) -> Duration {
        self.every
    }
}

impl std::fmt::Debug for Resolved {
    /// Never the URL: it may hold a password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Resolved")
            .field("replica", &self.replica)
            .field("tls", &self.tls.is_some())
            .field("pool_size", &self.pool_size)
            .field("every", &self.every)
            .field("anchor_every", &self.anchor_every)
            .finish_non_exhaustive()
    }
}

/// How the feed is going, for `/metrics`.
#[derive(Default, Debug)]
pub struct FeedStats {
    /// Whether the last attempt reached the store.
    pub up: AtomicBool,
    /// Entries of this replica's log not yet in the store, after the last
    /// run. A run that fails reckons it from the last entry the store was
    /// seen to hold (before the first successful run: the log's head when
    /// the feed started, so at least what was written since), so that it
    /// grows while the store cannot be reached.
    pub lag_entries: AtomicU64,
    /// How far behind the log's end the store is, in milliseconds, after
    /// the last run, reckoned as `lag_entries` is (0 while the time of the
    /// last entry stored is unknown).
    pub lag_millis: AtomicU64,
    /// Entries this replica stored.
    pub inserted: AtomicU64,
    /// Runs that failed (store unreachable, or a chain problem).
    pub failures: AtomicU64,
    /// Runs that succeeded.
    pub runs: AtomicU64,
    /// Chain heads recorded.
    pub anchors: AtomicU64,
}

/// Feeds one replica's log directory into the store until `stop` ends;
/// `head` gives the log's chain head to record as an anchor. One last run
/// is made after `stop` (bounded by `every`), so that a replica stopping
/// leaves little behind.
pub async fn feed(
    settings: Resolved,
    dir: PathBuf,
    head: impl Fn() -> ChainPoint,
    stats: Arc<FeedStats>,
    stop: impl Future<Output = ()>,
) {
    let mut tick = tokio::time::interval(settings.every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut state = FeedState {
        store: None,
        anchored_at: None,
        known: started_at(&dir).await,
    };
    tokio::pin!(stop);
    loop {
        let stopping = tokio::select! {
            _ = tick.tick() => false,
            () = &mut stop => true,
        };
        let run = once(&settings, &dir, &mut state, &head, &stats, stopping);
        if stopping {
            let _ = tokio::time::timeout(settings.every, run).await;
            return;
        }
        run.await;
    }
}

/// What the feed carries from one run to the next.
struct FeedState {
    /// The store, once connected (and migrated); `None` after a loss.
    store: Option<AuditStore>,
    /// When the chain head was last recorded.
    anchored_at: Option<tokio::time::Instant>,
    /// The store's progress as last seen (for the lag while runs fail).
    known: Progress,
}

/// What the feed knows of the store's progress before its first run: at
/// least the log's head as it starts (what was behind then is counted once
/// the store is reached).
async fn started_at(dir: &Path) -> Progress {
    let dir = dir.to_path_buf();
    let head = tokio::task::spawn_blocking(move || log_head(&dir)).await;
    match head {
        Ok(Ok(Some((head, time)))) => Progress {
            head,
            time: Some(time),
        },
        _ => Progress {
            head: ChainPoint::GENESIS,
            time: None,
        },
    }
}

/// One run: connect (and migrate) if not connected, ingest, record the
/// replica caught up when the ingest reached the log's end (and whether it
/// is stopping), anchor when due; the store's progress as last seen,
/// updated.
async fn once(
    settings: &Resolved,
    dir: &Path,
    state: &mut FeedState,
    head: &impl Fn() -> ChainPoint,
    stats: &FeedStats,
    stopping: bool,
) {
    let FeedState {
        store,
        anchored_at,
        known,
    } = state;
    let result = async {
        let connected = match store.take() {
            Some(s) => s,
            None => {
                let s = AuditStore::connect_with(
                    &settings.url,
                    settings.pool_size,
                    settings.tls.clone(),
                )
                .await?;
                s.migrate().await?;
                s
            }
        };
        let store = store.insert(connected);
        let read_from = icr_audit::Timestamp::now();
        let report = store.ingest(&settings.replica, dir).await?;
        if report.reached_end {
            store
                .mark_caught_up(&settings.replica, read_from, stopping)
                .await?;
        }
        let due = anchored_at.is_none_or(|at| at.elapsed() >= settings.anchor_every);
        if due {
            store.record_anchor(&settings.replica, head()).await?;
            *anchored_at = Some(tokio::time::Instant::now());
            stats.anchors.fetch_add(1, Ordering::Relaxed);
        }
        Ok::<_, StoreError>(report)
    }
    .await;
    let lag: Option<Lag> = match result {
        Ok(report) => {
            stats.up.store(true, Ordering::Relaxed);
            stats.runs.fetch_add(1, Ordering::Relaxed);
            stats.inserted.fetch_add(report.inserted, Ordering::Relaxed);
            *known = Progress {
                head: report.stored,
                time: report.stored_time,
            };
            Some(report.lag)
        }
        Err(e) => {
            stats.up.store(!e.is_unavailable(), Ordering::Relaxed);
            stats.failures.fetch_add(1, Ordering::Relaxed);
            if e.is_unavailable() {
                // Reconnect at the next run.
                *store = None;
                tracing::warn!(error = %e, replica = %settings.replica, "audit store unavailable: serving on the local log, catching up when it is back");
            } else {
                tracing::error!(error = %e, replica = %settings.replica, "audit store ingest refused: an operator must look at this replica's log");
            }
            // Behind by everything written since the store was last seen.
            let (dir, known) = (dir.to_path_buf(), *known);
            tokio::task::spawn_blocking(move || lag_behind(&dir, known))
                .await
                .ok()
        }
    };
    let Some(lag) = lag else { return };
    stats.lag_entries.store(lag.entries, Ordering::Relaxed);
    let millis = (lag.seconds.max(0.0) * 1000.0).round();
    stats.lag_millis.store(millis as u64, Ordering::Relaxed);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(replica: Option<&str>) -> StoreConfig {
        StoreConfig {
            url_file: PathBuf::from("store-url"),
            replica: replica.map(str::to_owned),
            pool_size: 4,
            ingest_every_ms: 1000,
            anchor_every_s: 60,
            ca_file: None,
        }
    }

    #[test]
    fn the_replica_is_named_or_the_host_and_the_url_read_from_its_file() {
        let dir = std::env::temp_dir().join(format!("icr-feed-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("store-url"), "postgresql://icr@127.0.0.1:1/icr\n").unwrap();
        let r = config(Some("icr-1")).resolve(&dir, Some("host-0")).unwrap();
        assert_eq!(r.replica.as_str(), "icr-1");
        assert_eq!(r.url, "postgresql://icr@127.0.0.1:1/icr");
        assert!(!format!("{r:?}").contains("postgresql"));
        let r = config(None).resolve(&dir, Some("icr-2")).unwrap();
        assert_eq!(r.replica.as_str(), "icr-2");
        assert!(matches!(
            config(None).resolve(&dir, None),
            Err(FeedError::Replica)
        ));
        assert!(matches!(
            config(None).resolve(&dir, Some("not a label")),
            Err(FeedError::Replica)
        ));
        let mut bad = config(Some("icr-1"));
        bad.ingest_every_ms = 10;
        assert_eq!(
            bad.resolve(&dir, None).unwrap_err().to_string(),
            "[audit_store] ingest_every_ms must be 100 to 600000"
        );
        // Not a connection URL: refused at start (and by check-config),
        // without quoting what the file holds.
        std::fs::write(
            dir.join("store-url"),
            "postgresql://icr:s3cret@[::1:5432/icr\n",
        )
        .unwrap();
        let e = config(Some("icr-1")).resolve(&dir, None).unwrap_err();
        assert!(matches!(e, FeedError::Url { .. }), "{e}");
        assert!(!e.to_string().contains("s3cret"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(matches!(
            config(Some("icr-1")).resolve(&dir, None),
            Err(FeedError::UrlFile { .. })
        ));
    }
}
