//! The writer under failure and load: an injected write or sync error
//! poisons the log until restart; 1,000 concurrent appends all land in
//! sequence order with far fewer fsyncs than appends; a full queue refuses
//! at once.

mod support;

use std::collections::BTreeSet;
use std::io;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use icr_audit::storage::{FileOpener, LogFile, StdFiles};
use icr_audit::{AuditConfig, AuditError, AuditLog, Sequence, VerifyOptions, verify, verify_with};
use support::{files, record, temp_dir};

/// Files that fail on command: the `fail_write`-th write writes half its
/// bytes and fails; the `fail_sync`-th sync fails; every sync can be slowed.
#[derive(Default)]
struct Faults {
    writes: AtomicU64,
    syncs: AtomicU64,
    fail_write: AtomicU64,
    fail_sync: AtomicU64,
    slow_sync_ms: AtomicU64,
    hold: AtomicBool,
}

struct FaultyOpener(Arc<Faults>);

struct FaultyFile {
    inner: Box<dyn LogFile>,
    faults: Arc<Faults>,
}

impl FileOpener for FaultyOpener {
    fn open_append(&self, path: &Path) -> io::Result<Box<dyn LogFile>> {
        Ok(Box::new(FaultyFile {
            inner: StdFiles.open_append(path)?,
            faults: self.0.clone(),
        }))
    }
}

impl LogFile for FaultyFile {
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        let n = self.faults.writes.fetch_add(1, Ordering::SeqCst) + 1;
        if n == self.faults.fail_write.load(Ordering::SeqCst) {
            self.inner.write_all(&buf[..buf.len() / 2])?;
            return Err(io::Error::other("injected: device full"));
        }
        self.inner.write_all(buf)
    }

    fn sync_data(&mut self) -> io::Result<()> {
        while self.faults.hold.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(1));
        }
        std::thread::sleep(Duration::from_millis(
            self.faults.slow_sync_ms.load(Ordering::SeqCst),
        ));
        let n = self.faults.syncs.fetch_add(1, Ordering::SeqCst) + 1;
        if n == self.faults.fail_sync.load(Ordering::SeqCst) {
            return Err(io::Error::other("injected: I/O error"));
        }
        self.inner.sync_data()
    }
}

fn faulty(dir: &Path) -> (AuditLog, Arc<Faults>) {
    let faults = Arc::new(Faults::default());
    let log = AuditLog::open_with(
        &AuditConfig::new(dir),
        Arc::new(FaultyOpener(faults.clone())),
    )
    .unwrap();
    (log, faults)
}

#[tokio::test]
async fn a_failed_write_poisons_the_log_until_restart() {
    let dir = temp_dir("poison-write");
    let (log, faults) = faulty(&dir);
    for i in 0..3 {
        log.append(&record(i, 1)).await.unwrap();
    }
    faults.fail_write.store(4, Ordering::SeqCst);
    let err = log.append(&record(3, 1)).await.unwrap_err();
    assert!(matches!(err, AuditError::Poisoned { .. }), "{err}");
    assert!(
        err.to_string()
            .contains("writing audit-000001.jsonl failed: injected: device full")
    );
    assert!(log.is_poisoned());
    assert!(log.stats().poisoned);
    // Every later append fails at once, though the file would now work.
    for i in 4..10 {
        assert!(matches!(
            log.append(&record(i, 1)).await,
            Err(AuditError::Poisoned { .. })
        ));
    }
    assert_eq!(faults.writes.load(Ordering::SeqCst), 4);
    assert_eq!(log.head().seq, Sequence::new(3));
    assert!(matches!(
        log.close().await,
        Err(AuditError::Poisoned { .. })
    ));

    // The half-written line is a torn tail: a restart moves it aside and
    // the chain goes on from the three acknowledged records.
    let log = AuditLog::open(&AuditConfig::new(&dir)).unwrap();
    assert_eq!(log.head().seq, Sequence::new(4));
    assert_eq!(log.append(&record(10, 1)).await.unwrap(), Sequence::new(5));
    log.close().await.unwrap();
    let report = verify(&files(&dir)).unwrap();
    assert_eq!(report.accesses, 4);
    assert_eq!(report.recoveries.len(), 1);
}

#[tokio::test]
async fn a_failed_sync_poisons_the_log_and_may_over_record() {
    let dir = temp_dir("poison-sync");
    let (log, faults) = faulty(&dir);
    log.append(&record(0, 1)).await.unwrap();
    faults.fail_sync.store(2, Ordering::SeqCst);
    let err = log.append(&record(1, 1)).await.unwrap_err();
    assert!(
        err.to_string()
            .contains("syncing audit-000001.jsonl failed"),
        "{err}"
    );
    assert!(matches!(
        log.append(&record(2, 1)).await,
        Err(AuditError::Poisoned { .. })
    ));
    let _ = log.close().await;
    // The line whose sync failed was written (the kernel may or may not
    // have kept it): after the restart it is in the chain. The log can
    // over-record a request that was answered 503, never under-record.
    let log = AuditLog::open(&AuditConfig::new(&dir)).unwrap();
    assert_eq!(log.head().seq, Sequence::new(2));
    log.close().await.unwrap();
    assert_eq!(verify(&files(&dir)).unwrap().accesses, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_thousand_concurrent_appends_share_few_fsyncs() {
    let dir = temp_dir("concurrent");
    let (log, faults) = faulty(&dir);
    // Each sync takes 2 ms, as a real disk's might, so that appends pile up.
    faults.slow_sync_ms.store(2, Ordering::SeqCst);
    let mut tasks = Vec::new();
    for t in 0..50u32 {
        let log = log.clone();
        tasks.push(tokio::spawn(async move {
            let mut seqs = Vec::new();
            for i in 0..20u32 {
                let r = record(t * 20 + i, t);
                seqs.push((log.append(&r).await.unwrap(), r));
            }
            seqs
        }));
    }
    let mut acked = Vec::new();
    for t in tasks {
        acked.extend(t.await.unwrap());
    }
    log.close().await.unwrap();
    let stats = log.stats();
    assert_eq!(acked.len(), 1000);
    let seqs: BTreeSet<u64> = acked.iter().map(|(s, _)| s.get()).collect();
    assert_eq!(seqs, (1..=1000).collect());
    assert_eq!(stats.appended, 1000);
    eprintln!(
        "1000 appends from 50 tasks: {} batches, {} fsyncs",
        stats.batches, stats.syncs
    );
    assert_eq!(stats.syncs, faults.syncs.load(Ordering::SeqCst));
    assert!(
        stats.syncs <= 200,
        "{} fsyncs for 1000 appends: group commit is not grouping",
        stats.syncs
    );
    // In the file in sequence order, chain valid, each record where its
    // append said.
    let mut in_file = Vec::new();
    let report = verify_with(&files(&dir), &VerifyOptions::default(), |_, _, e| {
        in_file.push((e.seq, e.access().cloned().unwrap()))
    })
    .unwrap();
    assert_eq!(report.entries, 1000);
    // Concurrent batches or not, entries' times never go backwards; each
    // is the log's, when it wrote the entry.
    assert!(in_file.windows(2).all(|w| w[0].1.time <= w[1].1.time));
    acked.sort_by_key(|(s, _)| *s);
    for ((_, written), (_, asked)) in in_file.iter().zip(acked.iter_mut()) {
        asked.time = written.time;
    }
    assert_eq!(in_file, acked);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn on_the_real_disk_too() {
    let dir = temp_dir("concurrent-disk");
    let log = AuditLog::open(&AuditConfig::new(&dir)).unwrap();
    let mut tasks = Vec::new();
    for t in 0..100u32 {
        let log = log.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..10u32 {
                log.append(&record(t * 10 + i, t)).await.unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    log.close().await.unwrap();
    let stats = log.stats();
    eprintln!(
        "1000 appends from 100 tasks on disk: {} fsyncs",
        stats.syncs
    );
    assert_eq!(stats.appended, 1000);
    assert!(stats.syncs < 500, "{} fsyncs", stats.syncs);
    assert_eq!(verify(&files(&dir)).unwrap().entries, 1000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_queue_refuses_at_once() {
    let dir = temp_dir("queue");
    let faults = Arc::new(Faults::default());
    let config = AuditConfig {
        queue_capacity: 4,
        max_batch: 1,
        ..AuditConfig::new(&dir)
    };
    let log = AuditLog::open_with(&config, Arc::new(FaultyOpener(faults.clone()))).unwrap();
    // The writer is stuck in a sync: the queue fills up.
    faults.hold.store(true, Ordering::SeqCst);
    let mut pending = Vec::new();
    for i in 0..5 {
        let log = log.clone();
        pending.push(tokio::spawn(async move { log.append(&record(i, 1)).await }));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let started = std::time::Instant::now();
    let err = log.append(&record(9, 1)).await.unwrap_err();
    assert!(started.elapsed() < Duration::from_millis(100));
    assert!(
        matches!(err, AuditError::QueueFull { capacity: 4 }),
        "{err}"
    );
    faults.hold.store(false, Ordering::SeqCst);
    for p in pending {
        assert!(p.await.unwrap().is_ok());
    }
    log.close().await.unwrap();
    assert_eq!(verify(&files(&dir)).unwrap().entries, 5);
}

#[tokio::test]
async fn close_flushes_what_was_queued_before_it() {
    let dir = temp_dir("close");
    let log = AuditLog::open_with(&AuditConfig::new(&dir), Arc::new(StdFiles)).unwrap();
    let mut pending = Vec::new();
    for i in 0..50 {
        let log = log.clone();
        pending.push(tokio::spawn(async move { log.append(&record(i, 1)).await }));
    }
    tokio::task::yield_now().await;
    log.close().await.unwrap();
    let mut ok = 0;
    for p in pending {
        match p.await.unwrap() {
            Ok(_) => ok += 1,
            Err(AuditError::Closed) => {}
            Err(e) => panic!("{e}"),
        }
    }
    // Every append acknowledged is in the log, and nothing else.
    assert_eq!(verify(&files(&dir)).unwrap().entries, ok);
}
