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
use crate::files::{Line, LineReader, file_name, file_number, log_files};
use crate::line::{
    ChainVerifier, LineError, MAX_LINE_BYTES, PreparedEvent, Recovery, parse_line, seal_into,
};
use crate::record::{AuditRecord, Timestamp};
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
}

impl Default for AuditConfig {
    fn default() -> Self {
        Self {
            dir: PathBuf::from("audit"),
            max_file_bytes: 64 * 1024 * 1024,
            queue_capacity: 4096,
            max_batch: 512,
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
    fn io(what: &'static str, path: &Path, source: io::Error) -> Self {
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
    /// Entries written and synced (acknowledged).
    pub appended: u64,
    /// Group commits (batches written).
    pub batches: u64,
    /// `fdatasync` calls on log files.
    pub syncs: u64,
    /// New files started.
    pub rotations: u64,
    /// Whether the log is poisoned.
    pub poisoned: bool,
}

#[derive(Default)]
struct Shared {
    appended: AtomicU64,
    batches: AtomicU64,
    syncs: AtomicU64,
    rotations: AtomicU64,
    poisoned: AtomicBool,
    head: Mutex<Option<ChainPoint>>,
}

impl Shared {
    fn set_head(&self, p: ChainPoint) {
        *self.head.lock().unwrap_or_else(|e| e.into_inner()) = Some(p);
    }
}

type Reply<T> = oneshot::Sender<Result<T, AuditError>>;

enum Msg {
    Append(PreparedEvent, Reply<Sequence>),
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
    /// torn last line (moved aside, with a `recovery` entry in the chain),
    /// and starts the writer thread. Blocking: call it at start-up, before
    /// serving.
    pub fn open(config: &AuditConfig) -> Result<AuditLog, AuditError> {
        Self::open_with(config, Arc::new(StdFiles))
    }

    /// [`open`](Self::open) with another way to open the files the writer
    /// appends to: for tests that inject write and sync failures.
    pub fn open_with(
        config: &AuditConfig,
        opener: Arc<dyn FileOpener>,
    ) -> Result<AuditLog, AuditError> {
        config.check()?;
        let dir = config.dir.clone();
        prepare_dir(&dir)?;
        let lock = lock_dir(&dir)?;
        let state = resume(&dir)?;
        let shared = Arc::new(Shared::default());
        shared.set_head(state.head);
        let path = dir.join(file_name(state.file_no));
        let file = opener
            .open_append(&path)
            .map_err(|e| AuditError::io("opening", &path, e))?;
        if state.created {
            sync_dir(&dir).map_err(|e| AuditError::io("syncing directory", &dir, e))?;
        }
        let mut writer = Writer {
            dir: dir.clone(),
            opener,
            file,
            file_no: state.file_no,
            file_size: state.file_size,
            max_file_bytes: config.max_file_bytes,
            head: state.head,
            poisoned: None,
            shared: shared.clone(),
            _lock: lock,
        };
        if let Some(recovery) = state.recovery {
            let event = PreparedEvent::recovery(&recovery)
                .map_err(|_| AuditError::Inconsistent("cannot serialize a recovery entry"))?;
            writer
                .commit(std::slice::from_ref(&event))
                .map_err(|cause| AuditError::Poisoned { cause })?;
        }
        let (tx, rx) = mpsc::channel(config.queue_capacity);
        let max_batch = config.max_batch;
        std::thread::Builder::new()
            .name("icr-audit-writer".into())
            .spawn(move || writer.run(rx, max_batch))
            .map_err(|e| AuditError::io("starting the writer thread for", &dir, e))?;
        Ok(AuditLog {
            tx,
            shared,
            dir: config.dir.clone(),
            capacity: config.queue_capacity,
        })
    }

    /// Appends `record`, returning its sequence number once its line is
    /// written and synced to disk — and only then. Concurrent appends share
    /// one write and one sync.
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
        self.tx
            .try_send(Msg::Append(event, reply))
            .map_err(|e| match e {
                mpsc::error::TrySendError::Full(_) => AuditError::QueueFull {
                    capacity: self.capacity,
                },
                mpsc::error::TrySendError::Closed(_) => AuditError::Closed,
            })?;
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
    /// Record it somewhere else from time to time (the operational log, a
    /// metric): verifying against it ([`VerifyOptions::anchor`](crate::VerifyOptions))
    /// detects a log cut back to before it.
    pub fn head(&self) -> ChainPoint {
        self.shared
            .head
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .unwrap_or(ChainPoint::GENESIS)
    }

    /// Counters since the log was opened.
    pub fn stats(&self) -> AuditStats {
        AuditStats {
            appended: self.shared.appended.load(Ordering::Relaxed),
            batches: self.shared.batches.load(Ordering::Relaxed),
            syncs: self.shared.syncs.load(Ordering::Relaxed),
            rotations: self.shared.rotations.load(Ordering::Relaxed),
            poisoned: self.shared.poisoned.load(Ordering::Acquire),
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

    /// The log's files, in order (for [`read_for_patient`](crate::read_for_patient)
    /// and [`verify`](crate::verify)).
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
    file_no: u64,
    file_size: u64,
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
            file_no: 1,
            file_size: 0,
            created: true,
            recovery: pending_recovery(dir, ChainPoint::GENESIS, &dir.join(file_name(1)), 0)?,
        });
    };
    let file_no = newest
        .file_name()
        .and_then(|n| n.to_str())
        .and_then(file_number)
        .unwrap_or(1);
    let before = match files.len().checked_sub(2).and_then(|i| files.get(i)) {
        Some(previous) => Some(last_entry(previous)?),
        None if file_no == 1 => Some(ChainPoint::GENESIS),
        // Earlier files were archived elsewhere: trust the newest file's
        // first entry for where the chain stood.
        None => None,
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
        file_no,
        file_size: size,
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
    valid_len: u64,
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
        valid_len: 0,
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
                scan.valid_len = offset + bytes.len() as u64 + 1;
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

/// The last entry of a completed (not newest) file: read from its end.
fn last_entry(path: &Path) -> Result<ChainPoint, AuditError> {
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
    Ok(entry.point())
}

/// The single writer: owns the current file and the head of the chain.
struct Writer {
    dir: PathBuf,
    opener: Arc<dyn FileOpener>,
    file: Box<dyn LogFile>,
    file_no: u64,
    file_size: u64,
    max_file_bytes: u64,
    head: ChainPoint,
    poisoned: Option<Arc<str>>,
    shared: Arc<Shared>,
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
                        Msg::Append(_, r) => {
                            let _ = r.send(Err(AuditError::Closed));
                        }
                        Msg::Close(r) => {
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
                // Close the file and release the directory's lock before
                // answering, so that the log can be reopened at once.
                drop(self);
                let _ = reply.send(result);
                return;
            }
        }
    }

    /// Commits the appends of one batch; returns the reply of a `Close`
    /// in it (appends after the close are refused).
    fn handle(&mut self, batch: &mut Vec<Msg>) -> Option<Reply<()>> {
        let mut events = Vec::with_capacity(batch.len());
        let mut waiters = Vec::with_capacity(batch.len());
        let mut close = None;
        for m in batch.drain(..) {
            match m {
                Msg::Append(ev, reply) if close.is_none() => {
                    events.push(ev);
                    waiters.push(reply);
                }
                Msg::Append(_, reply) => {
                    let _ = reply.send(Err(AuditError::Closed));
                }
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
            if let Some(cause) = &self.poisoned {
                for w in waiters {
                    let _ = w.send(Err(AuditError::Poisoned {
                        cause: cause.clone(),
                    }));
                }
            } else {
                match self.commit(&events) {
                    Ok(seqs) => {
                        for (w, seq) in waiters.into_iter().zip(seqs) {
                            let _ = w.send(Ok(seq));
                        }
                    }
                    Err(cause) => {
                        for w in waiters {
                            let _ = w.send(Err(AuditError::Poisoned {
                                cause: cause.clone(),
                            }));
                        }
                    }
                }
            }
        }
        close
    }

    /// Seals, writes and syncs `events` as consecutive entries, starting a
    /// new file whenever the next line would take the current one past its
    /// size. Any failure poisons the writer.
    fn commit(&mut self, events: &[PreparedEvent]) -> Result<Vec<Sequence>, Arc<str>> {
        if let Some(cause) = &self.poisoned {
            return Err(cause.clone());
        }
        let result = self.try_commit(events);
        match result {
            Ok((seqs, head)) => {
                self.head = head;
                self.shared.set_head(head);
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

    fn try_commit(
        &mut self,
        events: &[PreparedEvent],
    ) -> Result<(Vec<Sequence>, ChainPoint), String> {
        let mut out = Vec::with_capacity(events.iter().map(|e| e.max_line_len() + 1).sum());
        let mut head = self.head;
        let mut seqs = Vec::with_capacity(events.len());
        for ev in events {
            let before = out.len();
            let next = seal_into(&mut out, head, ev)
                .ok_or_else(|| "the sequence number is exhausted".to_string())?;
            let used = self.file_size + before as u64;
            if used > 0 && used + (out.len() - before) as u64 > self.max_file_bytes {
                let line = out.split_off(before);
                self.flush(&out)?;
                out = line;
                self.rotate()?;
            }
            head = next;
            seqs.push(next.seq);
        }
        self.flush(&out)?;
        Ok((seqs, head))
    }

    fn flush(&mut self, buf: &[u8]) -> Result<(), String> {
        if buf.is_empty() {
            return Ok(());
        }
        let name = file_name(self.file_no);
        self.file
            .write_all(buf)
            .map_err(|e| format!("writing {name} failed: {e}"))?;
        self.file_size += buf.len() as u64;
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
        self.shared.rotations.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
}
