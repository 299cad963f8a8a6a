//! Entries' times never go backwards, whatever the wall clock does — within
//! a run, across rotation and across restarts — and the verifier flags a
//! log whose times do.

mod support;

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, OnceLock};

use icr_audit::{
    AuditConfig, AuditLog, ChainPoint, Clock, Event, LogEnv, ProblemKind, Timestamp, VerifyOptions,
    seal, verify, verify_with,
};
use support::{files, record, temp_dir};

fn at(s: &str) -> Timestamp {
    Timestamp::parse(s).unwrap()
}

/// A wall clock the test sets: it reads the given times in turn, then
/// stays at the last.
struct Stepped(Mutex<VecDeque<Timestamp>>);

impl Stepped {
    fn new(times: &[&str]) -> Arc<Self> {
        Arc::new(Self(Mutex::new(times.iter().map(|t| at(t)).collect())))
    }

    fn set(&self, times: &[&str]) {
        *self.0.lock().unwrap() = times.iter().map(|t| at(t)).collect();
    }
}

impl Clock for Stepped {
    fn now(&self) -> Timestamp {
        let mut q = self.0.lock().unwrap();
        if q.len() > 1 {
            q.pop_front().unwrap()
        } else {
            *q.front().unwrap()
        }
    }
}

fn open(config: &AuditConfig, clock: &Arc<Stepped>) -> AuditLog {
    AuditLog::open_in(
        config,
        LogEnv {
            clock: clock.clone(),
            ..LogEnv::default()
        },
    )
    .unwrap()
}

/// Every entry's time, in log order.
fn times(dir: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    verify_with(&files(dir), &VerifyOptions::default(), |_, _, e| {
        out.push(e.time().to_rfc3339())
    })
    .unwrap();
    out
}

/// What the writer thread logs, from every test in this file (a global
/// subscriber: the writer runs on its own thread).
fn global_log() -> &'static support::LogBuffer {
    static BUFFER: OnceLock<support::LogBuffer> = OnceLock::new();
    BUFFER.get_or_init(|| {
        let buffer = support::LogBuffer::default();
        tracing::subscriber::set_global_default(buffer.subscriber()).unwrap();
        buffer
    })
}

fn warnings_with(needle: &str) -> usize {
    global_log()
        .text()
        .lines()
        .filter(|l| l.contains("WARN") && l.contains("wall clock is behind") && l.contains(needle))
        .count()
}

#[tokio::test]
async fn a_clock_stepped_back_never_takes_entries_back_in_time() {
    global_log();
    let clock = Stepped::new(&["2026-11-26T15:00:00Z"]);
    let dir = temp_dir("clock-back");
    let log = open(&AuditConfig::new(&dir), &clock);
    // The wall clock as the issue saw it: 15:39, 14:39, 16:41, 15:39.
    let wall = [
        "2026-11-26T15:39:00Z",
        "2026-11-26T14:39:00Z",
        "2026-11-26T16:41:00Z",
        "2026-11-26T15:39:00Z",
    ];
    for (i, now) in wall.iter().enumerate() {
        clock.set(&[now]);
        // The caller's own time is not what the log keeps.
        let mut r = record(i as u32, 1);
        r.time = at("2020-01-01T00:00:00Z");
        log.append(&r).await.unwrap();
    }
    assert_eq!(log.stats().clock_behind, 2);
    log.close().await.unwrap();
    assert_eq!(
        times(&dir),
        [
            "2026-11-26T15:39:00Z",
            "2026-11-26T15:39:00Z",
            "2026-11-26T16:41:00Z",
            "2026-11-26T16:41:00Z",
        ]
    );
    verify(&files(&dir)).unwrap();
    // Each step back is warned about once, saying by how much.
    assert_eq!(warnings_with("behind_ms=3600000"), 1);
    assert_eq!(warnings_with("behind_ms=3720000"), 1);
}

#[tokio::test]
async fn times_stay_in_order_across_rotation_and_restarts() {
    global_log();
    let dir = temp_dir("clock-restart");
    let config = AuditConfig {
        max_file_bytes: 2000,
        ..AuditConfig::new(&dir)
    };
    let clock = Stepped::new(&["2026-11-26T12:00:00.5Z"]);
    let log = open(&config, &clock);
    log.append(&record(1, 1)).await.unwrap();
    log.close().await.unwrap();
    // Restarted with the clock an hour behind: the log resumes from its
    // last entry's time, across every rotation that follows.
    clock.set(&["2026-11-26T11:00:00Z"]);
    let log = open(&config, &clock);
    for i in 2..12 {
        log.append(&record(i, 1)).await.unwrap();
    }
    assert!(log.stats().rotations >= 3, "{:?}", log.stats());
    assert_eq!(log.stats().clock_behind, 10);
    log.close().await.unwrap();
    // Restarted again with the clock on time.
    clock.set(&["2026-11-26T12:30:00Z"]);
    let log = open(&config, &clock);
    log.append(&record(12, 1)).await.unwrap();
    assert_eq!(log.stats().clock_behind, 0);
    log.close().await.unwrap();

    let times = times(&dir);
    assert_eq!(times.len(), 12);
    assert!(
        times[..11].iter().all(|t| t == "2026-11-26T12:00:00.5Z"),
        "{times:?}"
    );
    assert_eq!(times[11], "2026-11-26T12:30:00Z");
    assert!(files(&dir).len() >= 4);
    verify(&files(&dir)).unwrap();
    assert_eq!(warnings_with("last_entry=2026-11-26T12:00:00.5Z"), 1);
}

#[test]
fn a_time_edited_backwards_and_rehashed_fails_verification() {
    // Five entries a minute apart; the third's time is moved an hour back
    // and every entry from it on is sealed again, so the chain is valid.
    let seal_all = |third: &str| {
        let mut bytes = Vec::new();
        let mut head = ChainPoint::GENESIS;
        for i in 0..5u32 {
            let mut r = record(i, 1);
            r.time = at(&format!("2026-11-26T10:0{i}:00Z"));
            if i == 2 {
                r.time = at(third);
            }
            let (line, next) = seal(head, &Event::Access(Box::new(r))).unwrap();
            bytes.extend_from_slice(&line);
            head = next;
        }
        bytes
    };
    let dir = temp_dir("time-tamper");
    let path = dir.join("audit-000001.jsonl");
    std::fs::write(&path, seal_all("2026-11-26T10:02:00Z")).unwrap();
    verify(&files(&dir)).unwrap();

    std::fs::write(&path, seal_all("2026-11-26T09:02:00Z")).unwrap();
    let err = verify(&files(&dir)).expect_err("time going backwards is flagged");
    let problem = err.problem().unwrap();
    assert_eq!(problem.file, path);
    assert_eq!(problem.line, 3);
    assert_eq!(
        problem.kind,
        ProblemKind::TimeBackwards {
            previous: at("2026-11-26T10:01:00Z"),
            found: at("2026-11-26T09:02:00Z"),
        }
    );
    let text = err.to_string();
    assert!(text.contains("audit-000001.jsonl:3:"), "{text}");
    assert!(
        text.contains("the entry's time 2026-11-26T09:02:00Z is before the previous entry's 2026-11-26T10:01:00Z"),
        "{text}"
    );
    // A log written before the log stamped times (request start times,
    // concurrent requests out of order) verifies with a tolerance.
    let tolerant = VerifyOptions {
        time_tolerance: std::time::Duration::from_secs(59 * 60),
        ..VerifyOptions::default()
    };
    verify_with(&files(&dir), &tolerant, |_, _, _| {}).unwrap();
    let short = VerifyOptions {
        time_tolerance: std::time::Duration::from_secs(59 * 60 - 1),
        ..VerifyOptions::default()
    };
    assert!(verify_with(&files(&dir), &short, |_, _, _| {}).is_err());
    // Any tolerance, however large, is taken without overflowing.
    let most = VerifyOptions {
        time_tolerance: std::time::Duration::MAX,
        ..VerifyOptions::default()
    };
    verify_with(&files(&dir), &most, |_, _, _| {}).unwrap();
}
