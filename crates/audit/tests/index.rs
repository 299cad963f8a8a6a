//! Reading the live log through its index: one person's accesses a page at
//! a time, newest first, with a cursor and dates, across rotation and
//! restarts; only their own lines are read, each checked; a log damaged
//! before it was opened, or changed since, is said to be incomplete; reads
//! are bounded in number; the index is built in the background.

mod support;

use icr_audit::{
    AccessPage, AccessQuery, AuditConfig, AuditLog, ChainPoint, DateRange, Event, NoReader,
    ProblemKind, Sequence, seal,
};
use support::{nhs, open_at, record, refused, temp_dir};

async fn page(log: &AuditLog, patient: u32, query: AccessQuery) -> AccessPage {
    support::reader(log)
        .await
        .page(nhs(patient), query)
        .await
        .unwrap()
}

fn seqs(p: &AccessPage) -> Vec<u64> {
    p.records.iter().map(|a| a.seq.get()).collect()
}

fn query(count: usize, before: Option<u64>) -> AccessQuery {
    AccessQuery {
        count,
        before: before.map(Sequence::new),
        ..AccessQuery::default()
    }
}

/// 60 accesses to three people in turn (person 1: sequences 2, 5, 8, …),
/// in small files so that they rotate.
async fn three_people(dir: &std::path::Path) -> AuditConfig {
    let config = AuditConfig {
        max_file_bytes: 4096,
        ..AuditConfig::new(dir)
    };
    let log = AuditLog::open(&config).unwrap();
    for i in 0..60u32 {
        let r = if i % 7 == 0 {
            refused(i, i % 3)
        } else {
            record(i, i % 3)
        };
        log.append(&r).await.unwrap();
    }
    log.close().await.unwrap();
    config
}

#[tokio::test]
async fn a_persons_accesses_come_a_page_at_a_time_newest_first_across_files_and_restarts() {
    let dir = temp_dir("index-pages");
    let config = three_people(&dir).await;
    assert!(support::files(&dir).len() > 5);
    // Reopened: the index is built by one scan, then extended by appends.
    let log = AuditLog::open(&config).unwrap();
    drop(support::reader(&log).await);
    assert_eq!(log.stats().indexed, 60);
    log.append(&record(60, 1)).await.unwrap();
    assert_eq!(log.stats().indexed, 61);

    let first = page(&log, 1, query(8, None)).await;
    assert_eq!(seqs(&first), [61, 59, 56, 53, 50, 47, 44, 41]);
    assert_eq!(first.total, 21);
    assert_eq!(first.older, 13);
    assert_eq!(first.next, Some(Sequence::new(41)));
    assert!(!first.is_complete());
    assert!(first.problem.is_none());
    // Following the cursor visits every access once, newest first.
    let mut all = seqs(&first);
    let mut next = first.next;
    while let Some(before) = next {
        let p = page(&log, 1, query(8, Some(before.get()))).await;
        assert_eq!(p.total, 21);
        all.extend(seqs(&p));
        next = p.next;
    }
    let expected: Vec<u64> = std::iter::once(61)
        .chain((0..60u64).rev().filter(|i| i % 3 == 1).map(|i| i + 1))
        .collect();
    assert_eq!(all, expected);
    // Each record is the one appended (the time is the log's).
    let last = page(&log, 1, query(1, Some(3))).await;
    assert_eq!(seqs(&last), [2]);
    assert!(last.is_complete());
    let mut expected = record(1, 1);
    expected.time = last.records[0].record().unwrap().time;
    assert_eq!(last.records[0].record(), Some(&expected));
    // Nobody's accesses: an empty, complete page.
    let none = page(&log, 99, AccessQuery::default()).await;
    assert!(none.records.is_empty() && none.is_complete() && none.total == 0);
    log.close().await.unwrap();
}

#[tokio::test]
async fn dates_narrow_a_page_using_the_index() {
    let dir = temp_dir("index-dates");
    let config = AuditConfig::new(&dir);
    for (day, n) in [("2026-11-24", 2u32), ("2026-11-25", 3), ("2026-11-26", 4)] {
        let log = open_at(&config, &format!("{day}T12:00:00Z"));
        for i in 0..n {
            log.append(&record(i, 4)).await.unwrap();
        }
        log.close().await.unwrap();
    }
    let log = AuditLog::open(&config).unwrap();
    let on = |value: &str| AccessQuery {
        dates: DateRange::parse(value).unwrap(),
        ..AccessQuery::default()
    };
    assert_eq!(seqs(&page(&log, 4, on("2026-11-25")).await), [5, 4, 3]);
    assert_eq!(page(&log, 4, on("ge2026-11-25")).await.total, 7);
    assert_eq!(page(&log, 4, on("lt2026-11-25")).await.total, 2);
    assert_eq!(page(&log, 4, on("gt2026-11-26T12:00:00Z")).await.total, 0);
    let both = AccessQuery {
        dates: DateRange::parse("ge2026-11-25")
            .unwrap()
            .and(DateRange::parse("le2026-11-25").unwrap()),
        count: 2,
        ..AccessQuery::default()
    };
    let p = page(&log, 4, both).await;
    assert_eq!(
        (seqs(&p), p.total, p.next),
        (vec![5, 4], 3, Some(Sequence::new(4)))
    );
    log.close().await.unwrap();
}

#[tokio::test]
async fn a_read_touches_only_the_persons_own_lines_and_checks_each() {
    let dir = temp_dir("index-own-lines");
    let config = AuditConfig::new(&dir);
    let log = AuditLog::open(&config).unwrap();
    for i in 0..9u32 {
        log.append(&record(i, i % 3)).await.unwrap();
    }
    // Every line of person 0 (sequences 1, 4, 7) altered in place while
    // the log runs, one byte each: reading person 1 does not notice, since
    // it reads only person 1's lines.
    let path = dir.join("audit-000001.jsonl");
    let mut bytes = std::fs::read(&path).unwrap();
    let starts = support::line_starts(&bytes);
    for line in [0, 3, 6] {
        let at = starts[line] + 150;
        bytes[at] = if bytes[at] == b'a' { b'b' } else { b'a' };
    }
    std::fs::write(&path, &bytes).unwrap();
    let other = page(&log, 1, AccessQuery::default()).await;
    assert_eq!(seqs(&other), [8, 5, 2]);
    assert!(other.is_complete());
    // Person 0's read checks each of its lines: the altered ones are left
    // out, and the page says where and why.
    let mine = page(&log, 0, AccessQuery::default()).await;
    assert!(mine.records.is_empty());
    let problem = mine.problem.expect("the alteration is reported");
    assert_eq!((problem.file, problem.line), (path.clone(), 7));
    assert!(
        matches!(problem.kind, ProblemKind::Line(_)),
        "{:?}",
        problem.kind
    );
    log.close().await.unwrap();
}

/// A log in small files with `n` accesses to `patient`, still open.
async fn small_files_of(dir: &std::path::Path, patient: u32, n: u32) -> (AuditLog, AuditConfig) {
    let config = AuditConfig {
        max_file_bytes: 4096,
        ..AuditConfig::new(dir)
    };
    let log = AuditLog::open(&config).unwrap();
    for i in 0..n {
        log.append(&record(i, patient)).await.unwrap();
    }
    (log, config)
}

#[tokio::test]
async fn a_log_damaged_before_it_was_opened_is_read_as_incomplete() {
    let dir = temp_dir("index-damaged");
    let (log, config) = small_files_of(&dir, 2, 30).await;
    log.close().await.unwrap();
    // The second file's second line altered: the newest file is intact,
    // so the log opens; its reads say the trail is incomplete.
    let files = support::files(&dir);
    assert!(files.len() >= 4);
    let mut bytes = std::fs::read(&files[1]).unwrap();
    let second = bytes.iter().position(|b| *b == b'\n').unwrap() + 100;
    bytes[second] ^= 0x01;
    std::fs::write(&files[1], &bytes).unwrap();
    let log = AuditLog::open(&config).unwrap();
    log.append(&record(30, 2)).await.unwrap();
    let p = page(&log, 2, query(500, None)).await;
    let problem = p.problem.clone().expect("the damage is shown");
    assert_eq!((&problem.file, problem.line), (&files[1], 2));
    assert!(!p.is_complete());
    // What could be indexed is shown: everything but the damaged file's
    // lines from the damage on; the newest (and the new) included.
    assert_eq!(p.records.first().unwrap().seq, Sequence::new(31));
    assert!(p.records.iter().any(|a| a.seq == Sequence::new(1)));
    assert!(p.records.len() < 31);
    log.close().await.unwrap();
}

#[tokio::test]
async fn a_file_archived_while_running_makes_its_reads_incomplete() {
    let dir = temp_dir("index-archived");
    let (log, _) = small_files_of(&dir, 3, 20).await;
    let first = dir.join("audit-000001.jsonl");
    let archive = temp_dir("index-archive").join("audit-000001.jsonl");
    std::fs::rename(&first, &archive).unwrap();
    let p = page(&log, 3, query(500, None)).await;
    let problem = p.problem.clone().expect("the missing file is shown");
    assert_eq!(problem.file, first);
    assert_eq!(problem.kind, ProblemKind::NotAsIndexed);
    assert!(!p.records.is_empty() && p.records.len() < 20);
    log.close().await.unwrap();
}

#[tokio::test]
async fn reads_are_bounded_by_a_small_pool_of_permits() {
    let dir = temp_dir("index-permits");
    let log = AuditLog::open(&AuditConfig {
        max_concurrent_reads: 2,
        ..AuditConfig::new(&dir)
    })
    .unwrap();
    let a = support::reader(&log).await;
    let b = log.reader().unwrap();
    assert_eq!(
        log.reader().unwrap_err(),
        NoReader::Busy,
        "a third read at once is refused"
    );
    assert_eq!(log.stats().reads_refused, 1);
    drop(a);
    let c = log.reader().expect("a permit is back when a read ends");
    // A read gives its permit back when it has finished.
    let p = c.page(nhs(1), AccessQuery::default()).await.unwrap();
    assert!(p.records.is_empty());
    assert!(log.reader().is_ok());
    drop(b);
    log.close().await.unwrap();
}

#[tokio::test]
async fn the_index_is_built_in_the_background_while_appends_go_on() {
    use std::io::Write;
    // 20,000 accesses written straight to disk (person 5: every tenth).
    let dir = temp_dir("index-background");
    let mut out =
        std::io::BufWriter::new(std::fs::File::create(dir.join("audit-000001.jsonl")).unwrap());
    let mut head = ChainPoint::GENESIS;
    for i in 0..20_000u32 {
        let r = record(i % 3000, if i % 10 == 0 { 5 } else { 6 + i % 7 });
        let (line, next) = seal(head, &Event::Access(Box::new(r))).unwrap();
        out.write_all(&line).unwrap();
        head = next;
    }
    drop(out);
    let config = AuditConfig::new(&dir);
    let log = AuditLog::open(&config).unwrap();
    // The log is open before its index is built: reads wait, appends go on
    // and are indexed meanwhile.
    assert_eq!(log.reader().unwrap_err(), NoReader::Indexing);
    assert!(!log.stats().index_ready);
    assert_eq!(
        log.append(&record(1, 5)).await.unwrap(),
        Sequence::new(20_001)
    );
    let p = page(&log, 5, query(3, None)).await;
    assert!(log.stats().index_ready);
    assert_eq!(log.stats().indexed, 20_001);
    // The new access first, then the older ones, each once.
    assert_eq!(seqs(&p), [20_001, 19_991, 19_981]);
    assert_eq!(p.total, 2_001);
    log.close().await.unwrap();
}
