//! The log itself: opening (and recovering) a directory of log files, and
//! appending with group commit through a single writer thread.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, oneshot};

use crate::chain::{ChainPoint, Sequence};
use crate::clock::{Clock, SystemClock};
use crate::files::{Line, LineReader, file_name, file_number, log_files};
use crate::head::{Anchor, HeadPublisher};
use crate::index::{Index, Indexed, Position};
use crate::line::{
    ChainVerifier, LineError, MAX_LINE_BYTES, PreparedEvent, Recovery, parse_line, seal_into,
};
use crate::read::AuditReader;
use crate::record::{AccessBegun, AuditRecord, Timestamp};
use crate::storage::{FileOpener, LogFile, StdFiles, sync_dir};
use crate::verify::ProblemKind;

/// The `[audit]` settings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuditConfig {
    /// The directory of the log files. Created (mode 0700) if missing; it
    /// must not be accessible to other users, since the log holds NHS
    /// numbers and names.
    pub dir: PathBuf,
    /// A file is closed and the next one started when the next line would
    /// take it past this size (a single line larger than this still gets a
    /// file of its own). Default 64 MiB.
    pub max_file_bytes: u64,
    /// Appends waiting for the writer, at most; when full, `append` fails
    /// at once (the gateway answers 503) rather than queue without bound.
    /// Default 4096.
    pub queue_capacity: usize,
    /// Appends written and synced together in one group commit, at most.
    /// Default 512.
    pub max_batch: usize,
    /// How often the chain's head (sequence, hash, file: no patient data)
    /// is published, when it changed since: logged at `info` as `audit
    /// chain head` and appended to `anchor_file`. Also at start and at
    /// close. 1 to 86400 seconds; default 60.
    pub head_every_s: u64,
    /// A file the published heads are appended to, one JSON line each, for
    /// `icr audit verify --anchors`. Put it on another volume than `dir`
    /// (it must not be inside `dir`), ideally one the gateway can only
    /// append to. Its directory must exist. Default: none (the log line
    /// only).
    pub anchor_file: Option<PathBuf>,
    /// Reads of the log (`GET /v1/audit`, the AuditEvent search) served at
    /// once, at most; more are refused at once (503 with `Retry-After`).
    /// 1 to 256; default 4.
    pub max_concurrent_reads: usize,
}

impl Default for AuditConfig {
    fn default() -> Self {
        Self {
            dir: PathBuf::from("audit"),
            max_file_bytes: 64 * 1024 * 1024,
            queue_capacity: 4096,
            max_batch: 512,
            head_every_s: 60,
            anchor_file: None,
            max_concurrent_reads: 4,
        }
    }
}

impl AuditConfig {
    /// The settings with `dir`, and defaults for the rest.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self {
            dir: dir.into(),
            ..Self::default()
        }
    }

    /// Checks the values, naming the key that is wrong.
    pub fn check(&self) -> Result<(), AuditError> {
        let bad = |key: &'static str, why: &'static str| Err(AuditError::Config { key, why });
        if self.dir.as_os_str().is_empty() {
            return bad("dir", "must name a directory");
        }
        if self.max_file_bytes < 1024 {
            return bad("max_file_bytes", "must be at least 1024");
        }
        if !(1..=1_000_000).contains(&self.queue_capacity) {
            return bad("queue_capacity", "must be 1 to 1000000");
        }
        if !(1..=65_536).contains(&self.max_batch) {
            return bad("max_batch", "must be 1 to 65536");
        }
        if !(1..=86_400).contains(&self.head_every_s) {
            return bad("head_every_s", "must be 1 to 86400");
        }
        if let Some(f) = &self.anchor_file {
            if f.file_name().is_none() {
                return bad("anchor_file", "must name a file");
            }
            if f.starts_with(&self.dir) {
                return bad(
                    "anchor_file",
                    "must be outside the log directory (on another volume): anchors kept beside the log are cut with it",
                );
            }
        }
        if !(1..=256).contains(&self.max_concurrent_reads) {
            return bad("max_concurrent_reads", "must be 1 to 256");
        }
        Ok(())
    }
}

/// Why the log could not be opened, or an append failed. Messages name
/// files and protocol problems only, never record content.
#[derive(Clone, Debug, thiserror::Error)]
pub enum AuditError {
    /// A setting is out of range.
    #[error("audit.{key} {why}")]
    Config {
        /// The key.
        key: &'static str,
        /// What is wrong with it.
        why: &'static str,
    },
    /// A file or the directory could not be used.
    #[error("audit log: {what} {}: {source}", path.display())]
    Io {
        /// What was being done.
        what: &'static str,
        /// The path.
        path: PathBuf,
        /// The error.
        source: Arc<io::Error>,
    },
    /// The directory is accessible to other users.
    #[error(
        "audit log directory {} has mode {mode:o}: it must not be accessible to other users (chmod o-rwx), since the log holds patient identifiers",
        dir.display()
    )]
    Permissions {
        /// The directory.
        dir: PathBuf,
        /// Its mode bits.
        mode: u32,
    },
    /// Another process has the log open.
    #[error("audit log directory {} is in use by another process", dir.display())]
    Locked {
        /// The directory.
        dir: PathBuf,
    },
    /// The newest file is damaged in a way a crash cannot cause, so it is
    /// not repaired automatically.
    #[error(
        "audit log {}:{line} is damaged ({problem}); this is not an interrupted write, so it is not repaired automatically: run `icr audit verify` on the directory's files, keep the damaged file as evidence, and see docs/audit.md",
        file.display()
    )]
    Damaged {
        /// The file.
        file: PathBuf,
        /// The 1-based line (0: the last line of the file before the
        /// newest, read from its end).
        line: u64,
        /// What is wrong.
        problem: ProblemKind,
    },
    /// The record contradicts itself (see [`AuditRecord::check`]).
    #[error("audit record refused: {0}")]
    Inconsistent(&'static str),
    /// The record is too large for one line.
    #[error("audit record refused: {bytes} bytes is more than the {limit}-byte line limit")]
    TooLarge {
        /// Its size as a line.
        bytes: usize,
        /// The limit.
        limit: usize,
    },
    /// The queue of appends is full.
    #[error("audit log is overloaded: {capacity} appends are already waiting")]
    QueueFull {
        /// The queue's capacity.
        capacity: usize,
    },
    /// An earlier write or sync failed; nothing more is appended until the
    /// process restarts.
    #[error(
        "audit log is out of service until restart: {cause} (a failed write or sync leaves the file's durable content unknown)"
    )]
    Poisoned {
        /// The failure that poisoned it.
        cause: Arc<str>,
    },
    /// The log was closed.
    #[error("audit log is closed")]
    Closed,
}

impl AuditError {
    pub(crate) fn io(what: &'static str, path: &Path, source: io::Error) -> Self {
        AuditError::Io {
            what,
            path: path.to_path_buf(),
            source: Arc::new(source),
        }
    }
}

/// Counters of the log's work since it was opened, for metrics and tests.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AuditStats {
    /// Entries written and synced (acknowledged; a record request's
    /// begun entry and its completion are two).
    pub appended: u64,
    /// Group commits (batches written).
    pub batches: u64,
    /// `fdatasync` calls on log files.
    pub syncs: u64,
    /// New files started.
    pub rotations: u64,
    /// Whether the log is poisoned.
    pub poisoned: bool,
    /// Entries stamped with the previous entry's time because the wall
    /// clock was behind it (stepped back): their order is kept.
    pub clock_behind: u64,
    /// Torn last lines recovered at open (moved aside, recorded in the
    /// chain): 1 when this start found one, else 0.
    pub torn_tails_recovered: u64,
    /// Heads published (log line and anchor file).
    pub heads_published: u64,
    /// Heads the anchor file could not take.
    pub head_publish_failures: u64,
    /// Access records in the index.
    pub indexed: u64,
    /// Whether the files there were at open are indexed (reads are
    /// refused until then).
    pub index_ready: bool,
    /// Reads refused because `max_concurrent_reads` were running.
    pub reads_refused: u64,
    /// Completions queued ([`AuditLog::complete`]) and not yet written
    /// and synced: what a crash now would leave as accesses whose outcome
    /// was not recorded.
    pub completions_pending: u64,
    /// Completions queued that were never written (the log was poisoned
    /// or closed first): accesses whose outcome is not recorded.
    pub completions_failed: u64,
}

/// Why [`AuditLog::reader`] gave no permit to read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum NoReader {
    /// `max_concurrent_reads` reads are running.
    #[error("the audit log is serving as many reads as it allows")]
    Busy,
    /// The index is being built after the start.
    #[error("the audit log's index is being built after a restart")]
    Indexing,
}

/// The head of the chain, and the file it is in.
#[derive(Clone, Copy, Debug)]
struct Tip {
    point: ChainPoint,
    file_no: u64,
}

struct Shared {
    appended: AtomicU64,
    batches: AtomicU64,
    syncs: AtomicU64,
    rotations: AtomicU64,
    poisoned: AtomicBool,
    clock_behind: AtomicU64,
    torn_tails_recovered: AtomicU64,
    reads_refused: AtomicU64,
    completions_pending: AtomicU64,
    completions_failed: AtomicU64,
    head: Mutex<Tip>,
}

impl Shared {
    fn new(head: Tip) -> Self {
        Self {
            appended: AtomicU64::new(0),
            batches: AtomicU64::new(0),
            syncs: AtomicU64::new(0),
            rotations: AtomicU64::new(0),
            poisoned: AtomicBool::new(false),
            clock_behind: AtomicU64::new(0),
            torn_tails_recovered: AtomicU64::new(0),
            reads_refused: AtomicU64::new(0),
            completions_pending: AtomicU64::new(0),
            completions_failed: AtomicU64::new(0),
            head: Mutex::new(head),
        }
    }

    fn set_head(&self, tip: Tip) {
        *self.head.lock().unwrap_or_else(|e| e.into_inner()) = tip;
    }

    fn tip(&self) -> Tip {
        *self.head.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// An event has left the queue (written, failed or refused): a
    /// completion is no longer pending, and is counted failed unless it
    /// was written.
    fn settled(&self, event: &PreparedEvent, written: bool) {
        if event.completes.is_some() {
            self.completions_pending.fetch_sub(1, Ordering::Relaxed);
            if !written {
                self.completions_failed.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

/// What the log runs on: the files it appends to and the clock it stamps
/// entries with. The default is the real ones; tests replace either (to
/// inject write failures, or a clock that is stepped back).
#[derive(Clone)]
pub struct LogEnv {
    /// Opens the files the writer appends to.
    pub files: Arc<dyn FileOpener>,
    /// The wall clock.
    pub clock: Arc<dyn Clock>,
}

impl Default for LogEnv {
    fn default() -> Self {
        Self {
            files: Arc::new(StdFiles),
            clock: Arc::new(SystemClock),
        }
    }
}

type Reply<T> = oneshot::Sender<Result<T, AuditError>>;

/// An entry queued for the writer: await [`durable`](Self::durable) for
/// its sequence number once it is written and synced. Dropping it does not
/// take the entry back: it is written with the next group commit all the
/// same, unawaited.
#[derive(Debug)]
pub struct Pending {
    answer: oneshot::Receiver<Result<Sequence, AuditError>>,
}

impl Pending {
    /// The entry's sequence number, once its line is written and synced —
    /// and only then; or why it never will be (the write or sync failed,
    /// which poisons the log, or the log was closed).
    pub async fn durable(self) -> Result<Sequence, AuditError> {
        self.answer.await.unwrap_or(Err(AuditError::Closed))
    }
}

enum Msg {
    Append(PreparedEvent, Reply<Sequence>),
    /// Answered once everything queued before it is written and synced.
    Flush(Reply<()>),
    Close(Reply<()>),
}

/// The audit log: a directory of hash-chained JSON-lines files, appended to
/// by one writer thread that commits many appends with one `fdatasync`.
/// Cheap to clone; every clone appends to the same log.
#[derive(Clone)]
pub struct AuditLog {
    tx: mpsc::Sender<Msg>,
    shared: Arc<Shared>,
    dir: PathBuf,
    capacity: usize,
    index: Arc<Index>,
    reads: Arc<tokio::sync::Semaphore>,
    publisher: Arc<HeadPublisher>,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for AuditLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditLog")
            .field("dir", &self.dir)
            .field("head", &self.head())
            .finish()
    }
}

impl AuditLog {
    /// Opens the log in `config.dir` (creating it if needed), resumes the
    /// chain from the last complete line of the newest file, recovers a
    /// torn last line (moved aside, with a `recovery` entry in the chain,
    /// a warning and [`AuditStats::torn_tails_recovered`]), publishes the
    /// head, and starts the writer, the head's publisher and the building
    /// of the index (in the background: reads wait for it, appends do
    /// not). Blocking: call it at start-up, before serving.
    pub fn open(config: &AuditConfig) -> Result<AuditLog, AuditError> {
        Self::open_in(config, LogEnv::default())
    }

    /// [`open`](Self::open) with another way to open the files the writer
    /// appends to: for tests that inject write and sync failures.
    pub fn open_with(
        config: &AuditConfig,
        opener: Arc<dyn FileOpener>,
    ) -> Result<AuditLog, AuditError> {
        Self::open_in(
            config,
            LogEnv {
                files: opener,
                ..LogEnv::default()
            },
        )
    }

    /// [`open`](Self::open) on other files or another clock (see [`LogEnv`]).
    pub fn open_in(config: &AuditConfig, env: LogEnv) -> Result<AuditLog, AuditError> {
        config.check()?;
        let dir = config.dir.clone();
        prepare_dir(&dir)?;
        let lock = lock_dir(&dir)?;
        let state = resume(&dir)?;
        let tip = Tip {
            point: state.head,
            file_no: state.file_no,
        };
        let shared = Arc::new(Shared::new(tip));
        let path = dir.join(file_name(state.file_no));
        let file = env
            .files
            .open_append(&path)
            .map_err(|e| AuditError::io("opening", &path, e))?;
        if state.created {
            sync_dir(&dir).map_err(|e| AuditError::io("syncing directory", &dir, e))?;
        }
        let index = Arc::new(Index::building());
        let publisher = Arc::new(HeadPublisher::new(config.anchor_file.clone()));
        let mut writer = Writer {
            dir: dir.clone(),
            opener: env.files,
            file,
            file_no: state.file_no,
            file_size: state.file_size,
            file_lines: state.file_lines,
            max_file_bytes: config.max_file_bytes,
            head: state.head,
            last_time: state.last_time,
            clock: Arc::clone(&env.clock),
            clock_behind: false,
            index: Arc::clone(&index),
            publisher: Arc::clone(&publisher),
            poisoned: None,
            shared: shared.clone(),
            _stop_publishing: None,
            _lock: lock,
        };
        if let Some(recovery) = state.recovery {
            let event = PreparedEvent::recovery(&recovery)
                .map_err(|_| AuditError::Inconsistent("cannot serialize a recovery entry"))?;
            let seqs = writer
                .commit(std::slice::from_ref(&event))
                .map_err(|cause| AuditError::Poisoned { cause })?;
            // What was cut and where; never what it said.
            tracing::warn!(
                file = %recovery.file,
                offset = recovery.offset,
                bytes = recovery.length,
                seq = %seqs.first().copied().unwrap_or(Sequence::ZERO),
                saved_as = %recovery.saved_as,
                "audit log: recovered a torn last line (a write cut off by a crash): it was moved aside and the recovery recorded in the chain"
            );
            shared.torn_tails_recovered.fetch_add(1, Ordering::Relaxed);
        }
        writer.publish_head().map_err(|e| {
            AuditError::io(
                "writing the head to the anchor file",
                publisher.anchor_file().unwrap_or(Path::new("")),
                e,
            )
        })?;
        // Index the files there are now in the background: records are
        // served meanwhile (and audited, and indexed as they are written);
        // audit reads wait for it.
        let files = log_files(&dir).map_err(|e| AuditError::io("listing", &dir, e))?;
        let up_to = writer.head.seq;
        let building = Arc::clone(&index);
        std::thread::Builder::new()
            .name("icr-audit-index".into())
            .spawn(move || {
                let started = std::time::Instant::now();
                building.build(&files, up_to);
                tracing::info!(
                    accesses = building.entries(),
                    files = files.len(),
                    took_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
                    "audit log indexed: reads of the audit are served"
                );
            })
            .map_err(|e| AuditError::io("starting the index builder for", &dir, e))?;
        let every = std::time::Duration::from_secs(config.head_every_s);
        writer._stop_publishing = Some(spawn_head_publisher(
            every,
            Arc::clone(&publisher),
            Arc::clone(&shared),
            Arc::clone(&env.clock),
        )?);
        let (tx, rx) = mpsc::channel(config.queue_capacity);
        let max_batch = config.max_batch;
        std::thread::Builder::new()
            .name("icr-audit-writer".into())
            .spawn(move || writer.run(rx, max_batch))
            .map_err(|e| AuditError::io("starting the writer thread for", &config.dir, e))?;
        Ok(AuditLog {
            tx,
            shared,
            dir: config.dir.clone(),
            capacity: config.queue_capacity,
            index,
            reads: Arc::new(tokio::sync::Semaphore::new(config.max_concurrent_reads)),
            publisher,
            clock: env.clock,
        })
    }

    /// Appends `record`, returning its sequence number once its line is
    /// written and synced to disk — and only then. Concurrent appends share
    /// one write and one sync.
    ///
    /// The entry's `time` is the time the log writes it — the wall clock
    /// then, or the previous entry's time if the clock is behind that — not
    /// the record's own: entries' times never go backwards.
    ///
    /// Fails at once when the record contradicts itself or is too large,
    /// when the queue is full, when the log is poisoned or closed; fails
    /// after the batch when the write or sync fails (which poisons the
    /// log). A failed append may still have left its line in the file (the
    /// log may over-record, never under-record): release nothing unless
    /// this returns `Ok`.
    pub async fn append(&self, record: &AuditRecord) -> Result<Sequence, AuditError> {
        record.check().map_err(AuditError::Inconsistent)?;
        let event = PreparedEvent::access(record)
            .map_err(|_| AuditError::Inconsistent("the record cannot be serialized"))?;
        self.enqueue(event)?.durable().await
    }

    /// Queues the first entry of an access in two ([`AccessBegun`]), to be
    /// written and synced with the next group commit while the caller goes
    /// on (asking the sources); await [`Pending::durable`] before releasing
    /// anything. Its sequence number is what the completion names.
    ///
    /// Fails at once, queueing nothing, when the entry is too large, the
    /// queue is full, or the log is poisoned or closed. (Every begun entry
    /// is coherent: it says only who asks for whose record, and why.)
    pub fn begin(&self, begun: &AccessBegun) -> Result<Pending, AuditError> {
        let event = PreparedEvent::begun(begun)
            .map_err(|_| AuditError::Inconsistent("the entry cannot be serialized"))?;
        self.enqueue(event)
    }

    /// Queues the completion of the access begun as entry `begun` (its
    /// outcome: `record`, whole, as [`append`](Self::append) takes it),
    /// without waiting for it to be synced: it is written with the next
    /// group commit, before any entry queued after it. Await the returned
    /// [`Pending`] to wait for it, or drop it. Until it is synced it counts
    /// in [`AuditStats::completions_pending`]; a crash before then leaves
    /// the access begun with its outcome not recorded.
    ///
    /// Fails at once, queueing nothing, like [`begin`](Self::begin), and
    /// when `record` contradicts itself.
    pub fn complete(&self, record: &AuditRecord, begun: Sequence) -> Result<Pending, AuditError> {
        record.check().map_err(AuditError::Inconsistent)?;
        let event = PreparedEvent::completion(record, begun)
            .map_err(|_| AuditError::Inconsistent("the record cannot be serialized"))?;
        self.shared
            .completions_pending
            .fetch_add(1, Ordering::Relaxed);
        self.enqueue(event).inspect_err(|_| {
            self.shared
                .completions_pending
                .fetch_sub(1, Ordering::Relaxed);
        })
    }

    /// Queues a prepared entry for the writer.
    fn enqueue(&self, event: PreparedEvent) -> Result<Pending, AuditError> {
        let bytes = event.max_line_len();
        if bytes > MAX_LINE_BYTES {
            return Err(AuditError::TooLarge {
                bytes,
                limit: MAX_LINE_BYTES,
            });
        }
        if self.shared.poisoned.load(Ordering::Acquire) {
            return Err(self.poison_error());
        }
        let (reply, answer) = oneshot::channel();
        self.send(Msg::Append(event, reply))?;
        Ok(Pending { answer })
    }

    /// Queues a message for the writer, failing at once when the queue is
    /// full or closed.
    fn send(&self, msg: Msg) -> Result<(), AuditError> {
        self.tx.try_send(msg).map_err(|e| match e {
            mpsc::error::TrySendError::Full(_) => AuditError::QueueFull {
                capacity: self.capacity,
            },
            mpsc::error::TrySendError::Closed(_) => AuditError::Closed,
        })
    }

    /// Returns once everything queued before it — completions included —
    /// is written and synced (or failed, which poisons the log): what a
    /// read of the log waits for, so that it shows every access whose
    /// answer has left. Writes nothing itself. Fails at once when the
    /// queue is full or the log closed.
    pub async fn flushed(&self) -> Result<(), AuditError> {
        let (reply, answer) = oneshot::channel();
        self.send(Msg::Flush(reply))?;
        answer.await.unwrap_or(Err(AuditError::Closed))
    }

    /// Writes and syncs everything queued before it, then stops the writer:
    /// later appends fail with [`AuditError::Closed`]. Returns the poison
    /// error if the log was poisoned.
    pub async fn close(&self) -> Result<(), AuditError> {
        let (reply, answer) = oneshot::channel();
        if self.tx.send(Msg::Close(reply)).await.is_err() {
            return Ok(());
        }
        answer.await.unwrap_or(Ok(()))
    }

    /// The last entry written and synced: its sequence number and hash.
    /// It is published every `head_every_s` ([`anchor`](Self::anchor));
    /// verifying against it ([`VerifyOptions::anchors`](crate::VerifyOptions))
    /// detects a log cut back to before it.
    pub fn head(&self) -> ChainPoint {
        self.shared.tip().point
    }

    /// The head as published now: its sequence, hash and file, and the
    /// time (for `GET /v1/audit/head`). No patient data.
    pub fn anchor(&self) -> Anchor {
        anchor_of(self.shared.tip(), self.clock.now())
    }

    /// Counters since the log was opened.
    pub fn stats(&self) -> AuditStats {
        let (heads_published, head_publish_failures) = self.publisher.counts();
        AuditStats {
            appended: self.shared.appended.load(Ordering::Relaxed),
            batches: self.shared.batches.load(Ordering::Relaxed),
            syncs: self.shared.syncs.load(Ordering::Relaxed),
            rotations: self.shared.rotations.load(Ordering::Relaxed),
            poisoned: self.shared.poisoned.load(Ordering::Acquire),
            clock_behind: self.shared.clock_behind.load(Ordering::Relaxed),
            torn_tails_recovered: self.shared.torn_tails_recovered.load(Ordering::Relaxed),
            heads_published,
            head_publish_failures,
            indexed: self.index.entries(),
            index_ready: self.index.is_ready(),
            reads_refused: self.shared.reads_refused.load(Ordering::Relaxed),
            completions_pending: self.shared.completions_pending.load(Ordering::Relaxed),
            completions_failed: self.shared.completions_failed.load(Ordering::Relaxed),
        }
    }

    /// A permit to read the log ([`AuditReader::page`]), or why there is
    /// none now: `max_concurrent_reads` reads are running, or the index is
    /// still being built after the start. Refuse the request at once (503
    /// with `Retry-After`) rather than queue it.
    pub fn reader(&self) -> Result<AuditReader, NoReader> {
        if !self.index.is_ready() {
            return Err(NoReader::Indexing);
        }
        match Arc::clone(&self.reads).try_acquire_owned() {
            Ok(permit) => Ok(AuditReader {
                _permit: permit,
                index: Arc::clone(&self.index),
                dir: self.dir.clone(),
            }),
            Err(_) => {
                self.shared.reads_refused.fetch_add(1, Ordering::Relaxed);
                Err(NoReader::Busy)
            }
        }
    }

    /// Whether an earlier write or sync failed (readiness: a poisoned log
    /// means the gateway cannot release records until it restarts).
    pub fn is_poisoned(&self) -> bool {
        self.shared.poisoned.load(Ordering::Acquire)
    }

    /// The log's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The log's files, in order (for [`verify`](crate::verify), and for
    /// [`read_for_patient`](crate::read_for_patient) on a copy).
    pub fn files(&self) -> io::Result<Vec<PathBuf>> {
        log_files(&self.dir)
    }

    fn poison_error(&self) -> AuditError {
        AuditError::Poisoned {
            cause: "an earlier write or sync failed".into(),
        }
    }
}

/// Creates the directory (0700) if missing and refuses one that other users
/// can reach.
fn prepare_dir(dir: &Path) -> Result<(), AuditError> {
    if !dir.exists() {
        let mut b = fs::DirBuilder::new();
        b.recursive(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::DirBuilderExt;
            b.mode(0o700);
        }
        b.create(dir)
            .map_err(|e| AuditError::io("creating directory", dir, e))?;
    }
    let meta = fs::metadata(dir).map_err(|e| AuditError::io("reading directory", dir, e))?;
    if !meta.is_dir() {
        return Err(AuditError::io(
            "using",
            dir,
            io::Error::new(io::ErrorKind::NotADirectory, "not a directory"),
        ));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o007 != 0 {
            return Err(AuditError::Permissions {
                dir: dir.to_path_buf(),
                mode,
            });
        }
    }
    Ok(())
}

/// Takes the directory's lock file, so that two processes never append to
/// one chain.
fn lock_dir(dir: &Path) -> Result<File, AuditError> {
    let path = dir.join("audit.lock");
    let mut options = OpenOptions::new();
    options.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let file = options
        .open(&path)
        .map_err(|e| AuditError::io("opening lock file", &path, e))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(fs::TryLockError::WouldBlock) => Err(AuditError::Locked {
            dir: dir.to_path_buf(),
        }),
        Err(fs::TryLockError::Error(e)) => Err(AuditError::io("locking", &path, e)),
    }
}

/// Where the chain stands when the log is opened.
#[derive(Debug)]
struct Resumed {
    head: ChainPoint,
    /// The last entry's time, which the next entry's may not precede.
    last_time: Option<Timestamp>,
    file_no: u64,
    file_size: u64,
    /// Complete lines in the newest file.
    file_lines: u64,
    created: bool,
    recovery: Option<Recovery>,
}

fn damaged(file: &Path, line: u64, problem: ProblemKind) -> AuditError {
    AuditError::Damaged {
        file: file.to_path_buf(),
        line,
        problem,
    }
}

/// Finds the head of the chain, recovering a torn tail of the newest file.
fn resume(dir: &Path) -> Result<Resumed, AuditError> {
    let files = log_files(dir).map_err(|e| AuditError::io("listing", dir, e))?;
    let Some(newest) = files.last() else {
        return Ok(Resumed {
            head: ChainPoint::GENESIS,
            last_time: None,
            file_no: 1,
            file_size: 0,
            file_lines: 0,
            created: true,
            recovery: pending_recovery(dir, ChainPoint::GENESIS, &dir.join(file_name(1)), 0)?,
        });
    };
    let file_no = newest
        .file_name()
        .and_then(|n| n.to_str())
        .and_then(file_number)
        .unwrap_or(1);
    let (before, before_time) = match files.len().checked_sub(2).and_then(|i| files.get(i)) {
        Some(previous) => {
            let (point, time) = last_entry(previous)?;
            (Some(point), Some(time))
        }
        None if file_no == 1 => (Some(ChainPoint::GENESIS), None),
        // Earlier files were archived elsewhere: trust the newest file's
        // first entry for where the chain stood.
        None => (None, None),
    };
    let scan = scan_file(newest, before)?;
    let mut size = scan.valid_len;
    if let Some(torn) = scan.torn {
        save_torn(dir, newest, scan.head, scan.valid_len, torn)?;
        size = scan.valid_len;
    }
    let recovery = pending_recovery(dir, scan.head, newest, size)?;
    Ok(Resumed {
        head: scan.head,
        last_time: scan.last_time.or(before_time),
        file_no,
        file_size: size,
        file_lines: scan.lines,
        created: false,
        recovery,
    })
}

/// The name a torn tail is saved under: the log file's name and the
/// sequence number of the recovery entry that records it.
fn torn_name(log_file: &str, seq: Sequence) -> String {
    format!("{log_file}.torn-{seq}")
}

/// Copies the torn tail aside (synced), then cuts it from the log file
/// (synced). A crash in between repeats the same steps on the next start.
fn save_torn(
    dir: &Path,
    file: &Path,
    head: ChainPoint,
    offset: u64,
    len: u64,
) -> Result<(), AuditError> {
    let name = file
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    let seq = head.seq.next().unwrap_or(head.seq);
    let aside = dir.join(torn_name(name, seq));
    let mut bytes = Vec::new();
    let mut f = File::open(file).map_err(|e| AuditError::io("opening", file, e))?;
    f.seek(SeekFrom::Start(offset))
        .map_err(|e| AuditError::io("reading", file, e))?;
    f.take(len)
        .read_to_end(&mut bytes)
        .map_err(|e| AuditError::io("reading", file, e))?;
    let mut options = OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut out = options
        .open(&aside)
        .map_err(|e| AuditError::io("creating", &aside, e))?;
    out.write_all(&bytes)
        .and_then(|()| out.sync_all())
        .map_err(|e| AuditError::io("writing", &aside, e))?;
    let log = OpenOptions::new()
        .write(true)
        .open(file)
        .map_err(|e| AuditError::io("opening", file, e))?;
    log.set_len(offset)
        .and_then(|()| log.sync_all())
        .map_err(|e| AuditError::io("truncating", file, e))?;
    sync_dir(dir).map_err(|e| AuditError::io("syncing directory", dir, e))
}

/// The recovery entry still to be written: a saved torn tail named for the
/// entry after `head` (saved by this start, or by one that crashed before
/// writing its recovery entry).
fn pending_recovery(
    dir: &Path,
    head: ChainPoint,
    newest: &Path,
    offset: u64,
) -> Result<Option<Recovery>, AuditError> {
    let Some(seq) = head.seq.next() else {
        return Ok(None);
    };
    let name = newest
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default()
        .to_owned();
    let aside = torn_name(&name, seq);
    let path = dir.join(&aside);
    match fs::metadata(&path) {
        Ok(meta) => Ok(Some(Recovery {
            time: Timestamp::now(),
            file: name,
            offset,
            length: meta.len(),
            saved_as: aside,
        })),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(AuditError::io("reading", &path, e)),
    }
}

/// The newest file's valid part.
struct Scan {
    head: ChainPoint,
    last_time: Option<Timestamp>,
    valid_len: u64,
    lines: u64,
    torn: Option<u64>,
}

/// Reads the newest file line by line, checking every line and the chain
/// from `before` (or from its own first entry when earlier files were
/// archived). Only an incomplete last line — what an interrupted write
/// leaves — is tolerated.
fn scan_file(path: &Path, before: Option<ChainPoint>) -> Result<Scan, AuditError> {
    let file = File::open(path).map_err(|e| AuditError::io("opening", path, e))?;
    let mut reader = LineReader::new(BufReader::with_capacity(64 * 1024, file));
    let mut chain = before.map(ChainVerifier::new);
    let mut scan = Scan {
        head: before.unwrap_or(ChainPoint::GENESIS),
        last_time: None,
        valid_len: 0,
        lines: 0,
        torn: None,
    };
    loop {
        let line = reader
            .next_line()
            .map_err(|e| AuditError::io("reading", path, e))?;
        match line {
            None => break,
            Some(Line::Complete {
                bytes,
                number,
                offset,
            }) => {
                let entry =
                    parse_line(bytes).map_err(|e| damaged(path, number, ProblemKind::Line(e)))?;
                let chain = chain.get_or_insert_with(|| {
                    ChainVerifier::new(ChainPoint {
                        seq: crate::chain::Sequence::new(entry.seq.get().saturating_sub(1)),
                        hash: entry.prev,
                    })
                });
                chain
                    .push(&entry)
                    .map_err(|e| damaged(path, number, ProblemKind::Chain(e)))?;
                scan.head = entry.point();
                // The latest, should an older log's times step back.
                scan.last_time = Some(scan.last_time.map_or(entry.time(), |t| t.max(entry.time())));
                scan.valid_len = offset + bytes.len() as u64 + 1;
                scan.lines = number;
            }
            Some(Line::Torn { len, .. }) => scan.torn = Some(len),
            Some(Line::TooLong { number, .. }) => {
                return Err(damaged(path, number, ProblemKind::Line(LineError::TooLong)));
            }
        }
    }
    if chain.is_none() && before.is_none() {
        return Err(damaged(
            path,
            1,
            ProblemKind::MissingFile {
                expected: "the file before this one (needed to resume the chain)".into(),
            },
        ));
    }
    Ok(scan)
}

/// The last entry of a completed (not newest) file, read from its end: its
/// point on the chain and its time.
fn last_entry(path: &Path) -> Result<(ChainPoint, Timestamp), AuditError> {
    let mut f = File::open(path).map_err(|e| AuditError::io("opening", path, e))?;
    let len = f
        .metadata()
        .map_err(|e| AuditError::io("reading", path, e))?
        .len();
    let window = len.min(MAX_LINE_BYTES as u64 + 2);
    f.seek(SeekFrom::Start(len - window))
        .map_err(|e| AuditError::io("reading", path, e))?;
    let mut buf = Vec::with_capacity(window as usize);
    f.take(window)
        .read_to_end(&mut buf)
        .map_err(|e| AuditError::io("reading", path, e))?;
    let Some(body) = buf.strip_suffix(b"\n") else {
        return Err(damaged(
            path,
            0,
            ProblemKind::Torn {
                bytes: buf.len() as u64,
            },
        ));
    };
    let start = match body.iter().rposition(|b| *b == b'\n') {
        Some(i) => i + 1,
        None if window == len => 0,
        None => return Err(damaged(path, 0, ProblemKind::Line(LineError::TooLong))),
    };
    let entry = parse_line(&body[start..]).map_err(|e| damaged(path, 0, ProblemKind::Line(e)))?;
    Ok((entry.point(), entry.time()))
}

/// The head as an anchor published at `time`.
fn anchor_of(tip: Tip, time: Timestamp) -> Anchor {
    Anchor {
        time: Some(time),
        seq: tip.point.seq,
        hash: tip.point.hash,
        file: Some(file_name(tip.file_no)),
    }
}

/// Starts the thread that publishes the head every `every` (when it
/// changed). It stops when the returned sender is dropped (the writer
/// holds it, and publishes the last head itself when it stops).
fn spawn_head_publisher(
    every: std::time::Duration,
    publisher: Arc<HeadPublisher>,
    shared: Arc<Shared>,
    clock: Arc<dyn Clock>,
) -> Result<std::sync::mpsc::Sender<()>, AuditError> {
    let (stop, stopped) = std::sync::mpsc::channel::<()>();
    std::thread::Builder::new()
        .name("icr-audit-head".into())
        .spawn(move || {
            while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(every)
            {
                if let Err(e) = publisher.publish(&anchor_of(shared.tip(), clock.now())) {
                    tracing::warn!(error = %e, "audit log: the head could not be written to the anchor file");
                }
            }
        })
        .map_err(|e| AuditError::io("starting the head publisher for", Path::new(""), e))?;
    Ok(stop)
}

/// What one group commit wrote.
struct Committed {
    seqs: Vec<Sequence>,
    head: ChainPoint,
    time: Timestamp,
    positions: Vec<Indexed>,
}

/// The single writer: owns the current file and the head of the chain.
struct Writer {
    dir: PathBuf,
    opener: Arc<dyn FileOpener>,
    file: Box<dyn LogFile>,
    file_no: u64,
    file_size: u64,
    /// Complete lines in the current file.
    file_lines: u64,
    max_file_bytes: u64,
    head: ChainPoint,
    /// The last entry's time: no entry is stamped earlier.
    last_time: Option<Timestamp>,
    clock: Arc<dyn Clock>,
    /// Whether the clock was behind the last entry's time at the last
    /// commit (so that a step back is warned about once).
    clock_behind: bool,
    index: Arc<Index>,
    publisher: Arc<HeadPublisher>,
    poisoned: Option<Arc<str>>,
    shared: Arc<Shared>,
    /// Dropped when the writer stops, which stops the head's publisher.
    _stop_publishing: Option<std::sync::mpsc::Sender<()>>,
    _lock: File,
}

impl Writer {
    fn run(mut self, mut rx: mpsc::Receiver<Msg>, max_batch: usize) {
        let mut batch: Vec<Msg> = Vec::with_capacity(max_batch);
        while let Some(first) = rx.blocking_recv() {
            batch.push(first);
            while batch.len() < max_batch {
                match rx.try_recv() {
                    Ok(m) => batch.push(m),
                    Err(_) => break,
                }
            }
            let closing = self.handle(&mut batch);
            if let Some(reply) = closing {
                rx.close();
                while let Ok(m) = rx.try_recv() {
                    match m {
                        Msg::Append(ev, r) => {
                            self.shared.settled(&ev, false);
                            let _ = r.send(Err(AuditError::Closed));
                        }
                        Msg::Close(r) | Msg::Flush(r) => {
                            let _ = r.send(Ok(()));
                        }
                    }
                }
                let result = match &self.poisoned {
                    Some(cause) => Err(AuditError::Poisoned {
                        cause: cause.clone(),
                    }),
                    None => Ok(()),
                };
                self.publish_last_head();
                // Close the file and release the directory's lock before
                // answering, so that the log can be reopened at once.
                drop(self);
                let _ = reply.send(result);
                return;
            }
        }
        // Every handle to the log was dropped without closing it.
        self.publish_last_head();
    }

    /// Publishes the head now (at open).
    fn publish_head(&self) -> io::Result<()> {
        self.publisher.publish(&anchor_of(
            Tip {
                point: self.head,
                file_no: self.file_no,
            },
            self.clock.now(),
        ))
    }

    /// Publishes the head as the writer stops.
    fn publish_last_head(&self) {
        if let Err(e) = self.publish_head() {
            tracing::warn!(error = %e, "audit log: the last head could not be written to the anchor file");
        }
    }

    /// The time to stamp the next entries with: the wall clock, or the
    /// last entry's time if the clock is behind it (counted, and warned
    /// about once per step back).
    fn stamp(&mut self, entries: usize) -> Timestamp {
        let now = self.clock.now();
        match self.last_time {
            Some(last) if now < last => {
                self.shared
                    .clock_behind
                    .fetch_add(entries as u64, Ordering::Relaxed);
                if !self.clock_behind {
                    self.clock_behind = true;
                    let behind = last.as_offset() - now.as_offset();
                    tracing::warn!(
                        behind_ms = i64::try_from(behind.whole_milliseconds()).unwrap_or(i64::MAX),
                        last_entry = %last,
                        clock = %now,
                        "audit log: the wall clock is behind the last entry's time (it was stepped back): new entries keep that time, in order, until the clock catches up"
                    );
                }
                last
            }
            _ => {
                if self.clock_behind {
                    self.clock_behind = false;
                    tracing::info!(clock = %now, "audit log: the wall clock has caught up with the entries' times");
                }
                now
            }
        }
    }

    /// Commits the appends of one batch; returns the reply of a `Close`
    /// in it (appends after the close are refused).
    fn handle(&mut self, batch: &mut Vec<Msg>) -> Option<Reply<()>> {
        let mut events = Vec::with_capacity(batch.len());
        let mut waiters = Vec::with_capacity(batch.len());
        let mut close = None;
        let mut flushes = Vec::new();
        for m in batch.drain(..) {
            match m {
                Msg::Append(ev, reply) if close.is_none() => {
                    events.push(ev);
                    waiters.push(reply);
                }
                Msg::Append(ev, reply) => {
                    self.shared.settled(&ev, false);
                    let _ = reply.send(Err(AuditError::Closed));
                }
                Msg::Flush(reply) => flushes.push(reply),
                Msg::Close(reply) => {
                    if close.is_none() {
                        close = Some(reply);
                    } else {
                        let _ = reply.send(Ok(()));
                    }
                }
            }
        }
        if !events.is_empty() {
            let written = self.commit_and_answer(&events, waiters);
            for ev in &events {
                self.shared.settled(ev, written);
            }
        }
        for reply in flushes {
            let _ = reply.send(match &self.poisoned {
                Some(cause) => Err(AuditError::Poisoned {
                    cause: cause.clone(),
                }),
                None => Ok(()),
            });
        }
        close
    }

    /// Commits `events` and answers their waiters; whether they were
    /// written.
    fn commit_and_answer(
        &mut self,
        events: &[PreparedEvent],
        waiters: Vec<Reply<Sequence>>,
    ) -> bool {
        match self.commit(events) {
            Ok(seqs) => {
                for (w, seq) in waiters.into_iter().zip(seqs) {
                    let _ = w.send(Ok(seq));
                }
                true
            }
            Err(cause) => {
                for w in waiters {
                    let _ = w.send(Err(AuditError::Poisoned {
                        cause: cause.clone(),
                    }));
                }
                false
            }
        }
    }

    /// Seals, writes and syncs `events` as consecutive entries stamped with
    /// one time, starting a new file whenever the next line would take the
    /// current one past its size, then indexes them. Any failure poisons
    /// the writer.
    fn commit(&mut self, events: &[PreparedEvent]) -> Result<Vec<Sequence>, Arc<str>> {
        if let Some(cause) = &self.poisoned {
            return Err(cause.clone());
        }
        let result = self.try_commit(events);
        match result {
            Ok(Committed {
                seqs,
                head,
                time,
                positions,
            }) => {
                self.head = head;
                self.last_time = Some(time);
                self.index.add(positions);
                self.shared.set_head(Tip {
                    point: head,
                    file_no: self.file_no,
                });
                self.shared
                    .appended
                    .fetch_add(seqs.len() as u64, Ordering::Relaxed);
                self.shared.batches.fetch_add(1, Ordering::Relaxed);
                Ok(seqs)
            }
            Err(cause) => {
                let cause: Arc<str> = cause.into();
                self.poisoned = Some(cause.clone());
                self.shared.poisoned.store(true, Ordering::Release);
                Err(cause)
            }
        }
    }

    fn try_commit(&mut self, events: &[PreparedEvent]) -> Result<Committed, String> {
        let time = self.stamp(events.len());
        let mut out = Vec::with_capacity(events.iter().map(|e| e.max_line_len() + 1).sum());
        let mut head = self.head;
        let mut seqs = Vec::with_capacity(events.len());
        let mut positions = Vec::new();
        // Lines in `out`, which holds what goes to the current file.
        let mut lines = 0u64;
        for ev in events {
            let mut before = out.len();
            let next = seal_into(&mut out, head, ev, time)
                .ok_or_else(|| "the sequence number is exhausted".to_string())?;
            let used = self.file_size + before as u64;
            if used > 0 && used + (out.len() - before) as u64 > self.max_file_bytes {
                let line = out.split_off(before);
                self.flush(&out, lines)?;
                out = line;
                lines = 0;
                before = 0;
                self.rotate()?;
            }
            lines += 1;
            if let Some(nhs) = ev.nhs {
                // File and line numbers past u32::MAX are not indexable:
                // reading them reports the record not as indexed.
                positions.push((
                    nhs,
                    Position {
                        seq: next.seq.get(),
                        time: time.unix_micros(),
                        offset: self.file_size + before as u64,
                        file: u32::try_from(self.file_no).unwrap_or(u32::MAX),
                        line: u32::try_from(self.file_lines + lines).unwrap_or(u32::MAX),
                    },
                    ev.completes,
                ));
            }
            head = next;
            seqs.push(next.seq);
        }
        self.flush(&out, lines)?;
        Ok(Committed {
            seqs,
            head,
            time,
            positions,
        })
    }

    fn flush(&mut self, buf: &[u8], lines: u64) -> Result<(), String> {
        if buf.is_empty() {
            return Ok(());
        }
        let name = file_name(self.file_no);
        self.file
            .write_all(buf)
            .map_err(|e| format!("writing {name} failed: {e}"))?;
        self.file_size += buf.len() as u64;
        self.file_lines += lines;
        self.file
            .sync_data()
            .map_err(|e| format!("syncing {name} failed: {e}"))?;
        self.shared.syncs.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    fn rotate(&mut self) -> Result<(), String> {
        let next = self.file_no + 1;
        let name = file_name(next);
        let path = self.dir.join(&name);
        if path.exists() {
            return Err(format!("starting {name} failed: it already exists"));
        }
        self.file = self
            .opener
            .open_append(&path)
            .map_err(|e| format!("creating {name} failed: {e}"))?;
        sync_dir(&self.dir).map_err(|e| format!("syncing the directory for {name} failed: {e}"))?;
        self.file_no = next;
        self.file_size = 0;
        self.file_lines = 0;
        self.shared.rotations.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
}
