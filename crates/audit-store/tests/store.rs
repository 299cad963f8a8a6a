//! The audit store against a real PostgreSQL (a private cluster per test,
//! `icr_testkit::postgres`), fed with logs written by icr-audit's own
//! writer: migrations, verified and idempotent ingest, completions
//! attached, anchors, pages, concurrent replicas, and PostgreSQL stopped
//! mid-ingest.

#[path = "../../audit/tests/support/mod.rs"]
mod support;

use std::collections::HashSet;

use icr_audit::{
    AuditConfig, AuditLog, AuditRecord, Basis, ChainError, LineError, Logged, ProblemKind,
    ReasonCode, Sequence, Timestamp, VerifyError,
};
use icr_audit_store::{
    AccessRef, AuditStore, BreakGlassQuery, FeedStats, IngestLimits, NewReview, PersonQuery,
    ReplicaId, ReviewOutcome, StoreConfig, StoreError, StoreTls, VerifyAgainstStore, feed,
};
use icr_testkit::postgres::PgCluster;
use support::{nhs, record, refused, temp_dir};

/// A private cluster and a migrated store on it; `None` (skipped) without
/// PostgreSQL outside CI.
async fn store(what: &str) -> Option<(PgCluster, AuditStore)> {
    let pg = PgCluster::start(what)?;
    let store = AuditStore::connect(&pg.url(), 4).await.unwrap();
    store.migrate().await.unwrap();
    Some((pg, store))
}

fn replica(name: &str) -> ReplicaId {
    ReplicaId::parse(name).unwrap()
}

/// Begins `r`'s access, waits for it to be durable, and completes it
/// without waiting (the gateway's order); the begun entry's sequence.
async fn begin_and_complete(log: &AuditLog, r: &AuditRecord) -> Sequence {
    let begun = log
        .begin(&r.begun().unwrap())
        .unwrap()
        .durable()
        .await
        .unwrap();
    drop(log.complete(r, begun).unwrap());
    begun
}

/// A break-glass access to `patient`.
fn break_glass(i: u32, patient: u32) -> AuditRecord {
    AuditRecord {
        basis: Basis::BreakGlass,
        break_glass_reason: Some(format!("unconscious in ED ({i})")),
        reason: ReasonCode::parse("break-glass").unwrap(),
        ..record(i, patient)
    }
}

/// A log in a new directory with `n` whole accesses to patients 0..3.
async fn log_of(name: &str, n: u32) -> std::path::PathBuf {
    log_in_files_of(name, n, AuditConfig::default().max_file_bytes).await
}

/// [`log_of`], its files at most `max_file_bytes` each.
async fn log_in_files_of(name: &str, n: u32, max_file_bytes: u64) -> std::path::PathBuf {
    let dir = temp_dir(name);
    let config = AuditConfig {
        max_file_bytes,
        ..AuditConfig::new(&dir)
    };
    let log = AuditLog::open(&config).unwrap();
    for i in 0..n {
        log.append(&record(i, i % 3)).await.unwrap();
    }
    log.close().await.unwrap();
    dir
}

async fn count(store_url: &str, sql: &str) -> i64 {
    let (client, conn) = tokio_postgres::connect(store_url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    client.query_one(sql, &[]).await.unwrap().get(0)
}

async fn exec(store_url: &str, sql: &str) {
    let (client, conn) = tokio_postgres::connect(store_url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    client.batch_execute(sql).await.unwrap();
}

#[tokio::test]
async fn migrations_apply_once_when_three_replicas_start_together_and_again_do_nothing() {
    let Some(pg) = PgCluster::start("audit store migrations") else {
        return;
    };
    let mut stores = Vec::new();
    for _ in 0..3 {
        stores.push(AuditStore::connect(&pg.url(), 2).await.unwrap());
    }
    let (a, b, c) = tokio::join!(
        stores[0].migrate(),
        stores[1].migrate(),
        stores[2].migrate()
    );
    let mut applied: Vec<Vec<i32>> = vec![a.unwrap(), b.unwrap(), c.unwrap()];
    applied.sort();
    assert_eq!(applied, vec![vec![], vec![], vec![1, 2]]);
    assert_eq!(stores[0].migrate().await.unwrap(), Vec::<i32>::new());
    assert_eq!(
        count(&pg.url(), "SELECT count(*) FROM audit_schema_migrations").await,
        2
    );
    // A schema newer than this build is refused, not used.
    exec(
        &pg.url(),
        "INSERT INTO audit_schema_migrations (version, name) VALUES (99, 'future')",
    )
    .await;
    assert!(matches!(
        stores[1].migrate().await,
        Err(StoreError::SchemaTooNew {
            found: 99,
            known: 2
        })
    ));
}

#[tokio::test]
async fn ingest_stores_each_access_once_with_its_completion_and_again_inserts_nothing() {
    let Some((pg, store)) = store("audit store ingest").await else {
        return;
    };
    let dir = temp_dir("store-ingest");
    let log = AuditLog::open(&AuditConfig::new(&dir)).unwrap();
    log.append(&refused(0, 1)).await.unwrap(); // 1
    let two_entries = begin_and_complete(&log, &record(1, 1)).await; // 2, completed by 3 or 4
    let begun_only = log
        .begin(&record(2, 2).begun().unwrap())
        .unwrap()
        .durable()
        .await
        .unwrap();
    // The records it showed, carried byte for byte and read back.
    let mut shown = record(3, 1);
    shown.shown = icr_audit::ReleasedRecords::of(&[
        icr_model::RecordId::parse("gwh:Condition/1").unwrap(),
        icr_model::RecordId::parse("ruh:Observation/2").unwrap(),
    ]);
    log.append(&shown).await.unwrap();
    log.close().await.unwrap();
    let r = replica("icr-0");

    let report = store.ingest(&r, &dir).await.unwrap();
    assert_eq!(
        (report.read, report.inserted, report.already_present),
        (5, 5, 0)
    );
    assert_eq!(report.stored, log.head());
    assert_eq!((report.lag.entries, report.lag.seconds), (0, 0.0));
    // Four accesses: the completion is attached to its begun access.
    assert_eq!(
        count(&pg.url(), "SELECT count(*) FROM audit_accesses").await,
        4
    );

    // Again: nothing new read, nothing inserted.
    let again = store.ingest(&r, &dir).await.unwrap();
    assert_eq!(
        (again.read, again.inserted, again.already_present),
        (0, 0, 0)
    );
    // With the progress forgotten, every entry is read again and found
    // present with its hash: still nothing inserted.
    exec(&pg.url(), "DELETE FROM audit_ingest_progress").await;
    let again = store.ingest(&r, &dir).await.unwrap();
    assert_eq!(
        (again.read, again.inserted, again.already_present),
        (5, 0, 5)
    );
    assert_eq!(
        count(&pg.url(), "SELECT count(*) FROM audit_entries").await,
        5
    );

    let page = store
        .person_accesses(&nhs(1), &PersonQuery::last_twelve_months(Timestamp::now()))
        .await
        .unwrap();
    let seqs: Vec<u64> = page.items.iter().map(|a| a.access.seq.get()).collect();
    assert_eq!(page.next, None);
    assert_eq!(seqs.len(), 3);
    assert_eq!(seqs[1], two_entries.get());
    let whole = page.items[1].access.record().unwrap();
    assert_eq!(
        (&whole.request_id, whole.http_status),
        (&record(1, 1).request_id, 200)
    );
    assert!(page.items.iter().all(|a| a.replica == r));
    assert_eq!(page.items[0].access.record().unwrap().shown, shown.shown);
    let begun = store
        .person_accesses(&nhs(2), &PersonQuery::last_twelve_months(Timestamp::now()))
        .await
        .unwrap();
    assert_eq!(begun.items.len(), 1);
    assert_eq!(begun.items[0].access.seq, begun_only);
    assert!(matches!(
        begun.items[0].access.logged,
        Logged::OutcomeNotRecorded(_)
    ));
}

#[tokio::test]
async fn ingest_in_bounded_runs_across_files_reports_the_lag_behind_the_log() {
    let Some((_pg, store)) = store("audit store lag").await else {
        return;
    };
    // Three or four lines a file: ingest resumes mid-file and across files.
    let dir = log_in_files_of("store-lag", 10, 2048).await;
    assert!(icr_audit::log_files(&dir).unwrap().len() >= 3);
    let r = replica("icr-0");
    let limits = IngestLimits {
        batch_entries: 2,
        max_entries: 3,
        ..IngestLimits::default()
    };
    let first = store.ingest_with(&r, &dir, limits).await.unwrap();
    assert_eq!(
        (first.read, first.inserted, first.stored.seq.get()),
        (3, 3, 3)
    );
    assert_eq!(first.lag.entries, 7);
    assert!(first.lag.seconds >= 0.0);
    assert!(!first.reached_end, "stopped by max_entries");
    let rest = store.ingest(&r, &dir).await.unwrap();
    assert_eq!((rest.read, rest.inserted, rest.lag.entries), (7, 7, 0));
    assert!(rest.reached_end);
    assert_eq!(
        icr_audit_store::log_head(&dir)
            .unwrap()
            .map(|(head, _)| head),
        Some(rest.stored)
    );

    // A log whose first file is gone (archived) is not ingested from the
    // middle as if it were whole.
    let other = log_in_files_of("store-lag-archived", 10, 2048).await;
    std::fs::remove_file(other.join(icr_audit::file_name(1))).unwrap();
    match store.ingest(&replica("icr-1"), &other).await {
        Err(StoreError::LogBroken { kind, .. }) => assert_eq!(
            *kind,
            ProblemKind::MissingFile {
                expected: icr_audit::file_name(1)
            }
        ),
        other => panic!("expected a missing first file, got {other:?}"),
    }
    assert_eq!(
        store.progress(&r).await.unwrap().unwrap().head.seq.get(),
        10
    );
}

#[tokio::test]
async fn a_tampered_or_removed_line_stops_ingest_there_with_everything_before_it_stored() {
    let Some((pg, store)) = store("audit store tamper").await else {
        return;
    };
    let dir = log_of("store-tamper", 10).await;
    let file = icr_audit::log_files(&dir).unwrap().remove(0);
    let text = std::fs::read_to_string(&file).unwrap();
    let lines: Vec<&str> = text.lines().collect();

    // Line 6 altered (its hash no longer matches).
    let mut altered: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
    altered[5] = altered[5].replacen("directcare", "directcarf", 1);
    std::fs::write(&file, altered.join("\n") + "\n").unwrap();
    let r = replica("icr-0");
    let limits = IngestLimits {
        batch_entries: 4,
        ..IngestLimits::default()
    };
    match store.ingest_with(&r, &dir, limits).await {
        Err(StoreError::LogBroken { offset, kind, .. }) => {
            let line_6 = lines[..5].iter().map(|l| l.len() as u64 + 1).sum::<u64>();
            assert_eq!(
                (offset, *kind),
                (line_6, ProblemKind::Line(LineError::HashMismatch))
            );
        }
        other => panic!("expected a broken log, got {other:?}"),
    }
    assert_eq!(
        count(&pg.url(), "SELECT max(seq) FROM audit_entries").await,
        5
    );
    assert_eq!(store.progress(&r).await.unwrap().unwrap().head.seq.get(), 5);
    // Again: the same error, nothing more stored.
    assert!(matches!(
        store.ingest(&r, &dir).await,
        Err(StoreError::LogBroken { .. })
    ));
    assert_eq!(
        count(&pg.url(), "SELECT count(*) FROM audit_entries").await,
        5
    );

    // Line 6 removed instead: the chain breaks at the line after entry 5.
    let mut removed: Vec<&str> = lines.clone();
    removed.remove(5);
    std::fs::write(&file, removed.join("\n") + "\n").unwrap();
    match store.ingest(&r, &dir).await {
        Err(StoreError::LogBroken { kind, .. }) => assert_eq!(
            *kind,
            ProblemKind::Chain(ChainError::Sequence {
                expected: Sequence::new(6),
                found: Sequence::new(7)
            })
        ),
        other => panic!("expected a broken chain, got {other:?}"),
    }
    assert_eq!(
        count(&pg.url(), "SELECT count(*) FROM audit_entries").await,
        5
    );
}

#[tokio::test]
async fn an_entry_stored_with_another_hash_is_a_chain_conflict_never_accepted() {
    let Some((pg, store)) = store("audit store conflict").await else {
        return;
    };
    let r = replica("icr-0");
    let first = log_of("store-conflict-a", 3).await;
    store.ingest(&r, &first).await.unwrap();
    // Another chain under the same replica id (its progress forgotten, so
    // that ingest reads it from its start).
    let dir = temp_dir("store-conflict-b");
    let log = AuditLog::open(&AuditConfig::new(&dir)).unwrap();
    log.append(&refused(7, 2)).await.unwrap();
    log.close().await.unwrap();
    exec(&pg.url(), "DELETE FROM audit_ingest_progress").await;
    match store.ingest(&r, &dir).await {
        Err(StoreError::ChainConflict { seq, found, .. }) => {
            assert_eq!((seq.get(), found), (1, log.head().hash));
        }
        other => panic!("expected a chain conflict, got {other:?}"),
    }
    assert_eq!(
        count(&pg.url(), "SELECT count(*) FROM audit_entries").await,
        3
    );
    // And an anchor with another hash at a recorded sequence.
    let head = log.head();
    store.record_anchor(&r, head).await.unwrap();
    let other = icr_audit::ChainPoint {
        seq: head.seq,
        hash: icr_audit::EntryHash::of(b"another"),
    };
    assert!(matches!(
        store.record_anchor(&r, other).await,
        Err(StoreError::ChainConflict { .. })
    ));
}

#[tokio::test]
async fn anchors_catch_a_log_cut_at_a_line_boundary_that_verifies_alone() {
    let Some((_pg, store)) = store("audit store anchors").await else {
        return;
    };
    let dir = temp_dir("store-anchors");
    let log = AuditLog::open(&AuditConfig::new(&dir)).unwrap();
    for i in 0..6 {
        log.append(&record(i, 1)).await.unwrap();
    }
    let r = replica("icr-0");
    assert_eq!(
        store.record_anchor(&r, log.anchor().point()).await.unwrap(),
        icr_audit_store::AnchorRecorded::Recorded
    );
    assert_eq!(
        store.record_anchor(&r, log.anchor().point()).await.unwrap(),
        icr_audit_store::AnchorRecorded::AlreadyRecorded
    );
    log.close().await.unwrap();
    let report = store.verify_log(&r, &dir).await.unwrap();
    assert_eq!((report.entries, report.anchors_checked), (6, 1));

    // The last two lines cut at a line boundary: the log alone verifies.
    let file = icr_audit::log_files(&dir).unwrap().remove(0);
    let text = std::fs::read_to_string(&file).unwrap();
    let kept: Vec<&str> = text.lines().take(4).collect();
    std::fs::write(&file, kept.join("\n") + "\n").unwrap();
    assert_eq!(
        icr_audit::verify(std::slice::from_ref(&file))
            .unwrap()
            .entries,
        4
    );
    match store.verify_log(&r, &dir).await {
        Err(VerifyAgainstStore::Log(VerifyError::Failed(f))) => {
            assert!(
                matches!(f.problem.kind, ProblemKind::EndsEarly { found, anchor }
                    if found.seq.get() == 4 && anchor.seq.get() == 6),
                "{}",
                f.problem
            );
        }
        other => panic!("expected the cut to be caught, got {other:?}"),
    }
}

#[tokio::test]
async fn a_log_cut_after_ingest_is_caught_by_ingest_and_by_verify() {
    let Some((_pg, store)) = store("audit store cut").await else {
        return;
    };
    let dir = log_of("store-cut", 6).await;
    let r = replica("icr-0");
    store.ingest(&r, &dir).await.unwrap();
    let file = icr_audit::log_files(&dir).unwrap().remove(0);
    let text = std::fs::read_to_string(&file).unwrap();
    let kept: Vec<&str> = text.lines().take(5).collect();
    std::fs::write(&file, kept.join("\n") + "\n").unwrap();
    match store.ingest(&r, &dir).await {
        Err(StoreError::LogBehindStore { stored, .. }) => assert_eq!(stored.seq.get(), 6),
        other => panic!("expected the log behind the store, got {other:?}"),
    }
    // The last entry ingested is itself an anchor.
    assert!(matches!(
        store.verify_log(&r, &dir).await,
        Err(VerifyAgainstStore::Log(VerifyError::Failed(_)))
    ));
}

/// Three replicas' logs, each with `per` accesses to patient 1 and some to
/// others; returns their directories.
async fn three_logs(name: &str, per: u32) -> Vec<(ReplicaId, std::path::PathBuf)> {
    let mut out = Vec::new();
    for k in 0..3u32 {
        let dir = temp_dir(&format!("{name}-{k}"));
        let log = AuditLog::open(&AuditConfig::new(&dir)).unwrap();
        for i in 0..per {
            let n = k * 1000 + i;
            if i % 4 == 0 {
                begin_and_complete(&log, &record(n, 1)).await;
            } else {
                log.append(&record(n, 1)).await.unwrap();
            }
            log.append(&record(n, 2)).await.unwrap();
        }
        log.close().await.unwrap();
        out.push((replica(&format!("icr-{k}")), dir));
    }
    out
}

#[tokio::test]
async fn three_replicas_ingested_concurrently_give_each_access_exactly_once_in_complete_pages() {
    let Some((pg, store)) = store("audit store replicas").await else {
        return;
    };
    let per = 21u32;
    let logs = three_logs("store-replicas", per).await;
    // Two ingesters per replica at once, as during a rolling restart.
    let mut tasks = Vec::new();
    for (r, dir) in logs.iter().chain(logs.iter()) {
        let (store, r, dir) = (store.clone(), r.clone(), dir.clone());
        tasks.push(tokio::spawn(async move {
            store
                .ingest_with(
                    &r,
                    &dir,
                    IngestLimits {
                        batch_entries: 3,
                        ..IngestLimits::default()
                    },
                )
                .await
                .unwrap()
        }));
    }
    let mut inserted = 0;
    for t in tasks {
        inserted += t.await.unwrap().inserted;
    }
    // Each replica: per/4 rounded up accesses in two entries, the rest in one.
    let two = per.div_ceil(4) as i64;
    let entries_per = 2 * per as i64 + two;
    assert_eq!(inserted as i64, 3 * entries_per);
    assert_eq!(
        count(&pg.url(), "SELECT count(*) FROM audit_entries").await,
        3 * entries_per
    );
    assert_eq!(
        count(&pg.url(), "SELECT count(*) FROM audit_accesses").await,
        3 * 2 * per as i64
    );
    assert_eq!(
        count(
            &pg.url(),
            "SELECT count(*) FROM audit_accesses WHERE decision IS NULL"
        )
        .await,
        0
    );

    // Patient 1's accesses, five a page: all of them, newest first, none twice.
    let mut query = PersonQuery {
        count: 5,
        ..PersonQuery::last_twelve_months(Timestamp::now())
    };
    let mut seen = Vec::new();
    let mut pages = 0;
    loop {
        let page = store.person_accesses(&nhs(1), &query).await.unwrap();
        pages += 1;
        assert!(page.items.len() <= 5);
        for a in &page.items {
            assert!(a.access.record().is_some());
            seen.push((a.time, a.replica.clone(), a.access.seq));
        }
        match page.next {
            Some(next) => query.before = Some(next),
            None => break,
        }
    }
    assert_eq!(seen.len(), 3 * per as usize);
    assert_eq!(pages, (3 * per as usize).div_ceil(5));
    let distinct: HashSet<_> = seen.iter().cloned().collect();
    assert_eq!(distinct.len(), seen.len());
    let mut sorted = seen.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(seen, sorted);
    // A time range that ends before every access shows none.
    let none = store
        .person_accesses(
            &nhs(1),
            &PersonQuery {
                until: Some(Timestamp::parse("2020-01-01T00:00:00Z").unwrap()),
                since: Timestamp::parse("2019-01-01T00:00:00Z").unwrap(),
                ..PersonQuery::last_twelve_months(Timestamp::now())
            },
        )
        .await
        .unwrap();
    assert_eq!((none.items.len(), none.next), (0, None));
    // Each log still verifies against what the store holds.
    for (r, dir) in &logs {
        store.verify_log(r, dir).await.unwrap();
    }
}

#[tokio::test]
async fn break_glass_accesses_are_listed_with_their_review() {
    let Some((_pg, store)) = store("audit store break-glass").await else {
        return;
    };
    let dir = temp_dir("store-break-glass");
    let log = AuditLog::open(&AuditConfig::new(&dir)).unwrap();
    log.append(&record(0, 1)).await.unwrap(); // 1: not break-glass
    let first = begin_and_complete(&log, &break_glass(1, 2)).await;
    log.append(&break_glass(2, 3)).await.unwrap();
    log.close().await.unwrap();
    let r = replica("icr-0");
    store.ingest(&r, &dir).await.unwrap();

    let since = Timestamp::parse("2020-01-01T00:00:00Z").unwrap();
    let query = BreakGlassQuery {
        since,
        unreviewed_only: false,
        count: 10,
        before: None,
    };
    let list = store.break_glass(&query).await.unwrap();
    let got: Vec<(Option<String>, String, Option<bool>)> = list
        .items
        .iter()
        .map(|b| {
            (
                b.nhs_number.map(|n| n.to_string()),
                b.reason.clone(),
                b.allowed,
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            (
                Some(nhs(3).to_string()),
                "unconscious in ED (2)".into(),
                Some(true)
            ),
            (
                Some(nhs(2).to_string()),
                "unconscious in ED (1)".into(),
                Some(true)
            ),
        ]
    );
    assert!(list.items.iter().all(|b| b.review.is_none()));
    assert_eq!(list.items[1].user_sub.as_deref(), Some("user-1"));
    assert_eq!(list.items[1].organisation.as_deref(), Some("RN3"));

    let access = AccessRef {
        replica: r.clone(),
        seq: first,
    };
    let review = NewReview {
        reviewer: "privacy-officer-1".into(),
        outcome: ReviewOutcome::Justified,
        note: "emergency attendance confirmed".into(),
    };
    store.record_review(&access, &review).await.unwrap();
    let list = store.break_glass(&query).await.unwrap();
    let reviewed = list.items[1].review.as_ref().unwrap();
    assert_eq!(
        (
            reviewed.reviewer.as_str(),
            reviewed.outcome,
            reviewed.note.as_str()
        ),
        (
            "privacy-officer-1",
            ReviewOutcome::Justified,
            "emergency attendance confirmed"
        )
    );
    let unreviewed = store
        .break_glass(&BreakGlassQuery {
            unreviewed_only: true,
            ..query.clone()
        })
        .await
        .unwrap();
    assert_eq!(unreviewed.items.len(), 1);
    assert_eq!(unreviewed.items[0].nhs_number, Some(nhs(3)));
    // Not a break-glass access: refused.
    let plain = AccessRef {
        replica: r,
        seq: Sequence::new(1),
    };
    assert!(matches!(
        store.record_review(&plain, &review).await,
        Err(StoreError::NoSuchBreakGlass { .. })
    ));
}

/// Appends `n` whole accesses, 500 at once (group commits).
async fn fill(log: &AuditLog, n: u32) {
    for chunk in (0..n).collect::<Vec<_>>().chunks(500) {
        let appends = chunk.iter().map(|i| {
            let (log, r) = (log.clone(), record(*i, i % 7));
            tokio::spawn(async move { log.append(&r).await.unwrap() })
        });
        for task in appends.collect::<Vec<_>>() {
            task.await.unwrap();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_stopped_mid_ingest_errors_cleanly_and_the_next_run_catches_up() {
    let Some((pg, store)) = store("audit store outage").await else {
        return;
    };
    let dir = temp_dir("store-outage");
    let log = AuditLog::open(&AuditConfig::new(&dir)).unwrap();
    let total = 6000u32;
    fill(&log, total).await;
    log.close().await.unwrap();
    let r = replica("icr-0");
    let limits = IngestLimits {
        batch_entries: 5,
        ..IngestLimits::default()
    };
    let ingest = {
        let (store, r, dir) = (store.clone(), r.clone(), dir.clone());
        tokio::spawn(async move { store.ingest_with(&r, &dir, limits).await })
    };
    // Once some batches are in, PostgreSQL stops (fast shutdown).
    let watcher = AuditStore::connect(&pg.url(), 1).await.unwrap();
    loop {
        let done = watcher
            .progress(&r)
            .await
            .unwrap()
            .map_or(0, |p| p.head.seq.get());
        if done >= 50 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    tokio::task::block_in_place(|| pg.stop());
    let failed = ingest.await.unwrap();
    match &failed {
        Err(e) => assert!(e.is_unavailable(), "not an outage: {e}"),
        Ok(report) => panic!("ingest finished before the outage: {report:?}"),
    }
    // While it is down, a run fails at once, cleanly.
    let down = store.ingest(&r, &dir).await.unwrap_err();
    assert!(down.is_unavailable(), "{down}");

    tokio::task::block_in_place(|| pg.start_again());
    let before = count(&pg.url(), "SELECT count(*) FROM audit_entries").await;
    assert!(before > 0 && before < i64::from(total), "{before}");
    let caught_up = store.ingest_with(&r, &dir, limits).await.unwrap();
    assert_eq!(
        (
            caught_up.read as i64,
            caught_up.inserted as i64,
            caught_up.already_present
        ),
        (i64::from(total) - before, i64::from(total) - before, 0)
    );
    assert_eq!(caught_up.stored, log.head());
    assert_eq!(
        count(&pg.url(), "SELECT count(*) FROM audit_entries").await,
        i64::from(total)
    );
    assert_eq!(
        count(&pg.url(), "SELECT count(DISTINCT seq) FROM audit_accesses").await,
        i64::from(total)
    );
    assert_eq!(
        count(&pg.url(), "SELECT max(seq) FROM audit_accesses").await,
        i64::from(total)
    );
    store.verify_log(&r, &dir).await.unwrap();
}

#[tokio::test]
async fn coverage_says_which_replicas_are_caught_up_and_which_stopped_cleanly() {
    let Some((_pg, store)) = store("audit store coverage").await else {
        return;
    };
    let t = |s: &str| Timestamp::parse(s).unwrap();
    let (a, b) = (replica("icr-a"), replica("icr-b"));
    let dir = log_of("store-coverage", 4).await;
    // A replica with no progress yet is not recorded (nothing to cover).
    store
        .mark_caught_up(&a, t("2026-12-07T10:00:00Z"), false)
        .await
        .unwrap();
    assert_eq!(store.coverage().await.unwrap(), vec![]);
    store.ingest(&a, &dir).await.unwrap();
    store.ingest(&b, &dir).await.unwrap();
    store
        .mark_caught_up(&a, t("2026-12-07T10:00:00Z"), false)
        .await
        .unwrap();
    // An earlier mark (a slower run finishing late) never moves it back.
    store
        .mark_caught_up(&a, t("2026-12-07T09:00:00Z"), false)
        .await
        .unwrap();
    let c = store.coverage().await.unwrap();
    assert_eq!(c.len(), 2);
    assert_eq!(
        (c[0].replica.as_str(), c[0].caught_up_at, c[0].stopped),
        ("icr-a", Some(t("2026-12-07T10:00:00Z")), false)
    );
    assert_eq!(
        (c[1].replica.as_str(), c[1].caught_up_at, c[1].stopped),
        ("icr-b", None, false)
    );
    let cutoff = t("2026-12-07T09:59:00Z");
    assert!(!c[0].behind(cutoff));
    assert!(c[1].behind(cutoff));
    // B's last feed as it stopped: not behind however old.
    store
        .mark_caught_up(&b, t("2026-12-07T08:00:00Z"), true)
        .await
        .unwrap();
    let c = store.coverage().await.unwrap();
    assert!(c[1].stopped && !c[1].behind(cutoff));
}

#[tokio::test]
async fn a_persons_counts_give_the_pages_total_and_what_is_older() {
    let Some((_pg, store)) = store("audit store counts").await else {
        return;
    };
    // Patients 0, 1, 2 in turn: patient 0 has entries 1, 4, 7, 10.
    let dir = log_of("store-counts", 12).await;
    store.ingest(&replica("icr-0"), &dir).await.unwrap();
    let q = PersonQuery {
        since: Timestamp::from_unix_micros(0).unwrap(),
        until: None,
        count: 3,
        before: None,
    };
    let page = store.person_accesses(&nhs(0), &q).await.unwrap();
    assert_eq!(page.items.len(), 3);
    let last = page.next.clone().unwrap();
    assert_eq!(
        store
            .person_access_counts(&nhs(0), &q, Some(&last))
            .await
            .unwrap(),
        (4, 1)
    );
    assert_eq!(
        store.person_access_counts(&nhs(0), &q, None).await.unwrap(),
        (4, 0)
    );
    let later = PersonQuery {
        since: Timestamp::parse("9999-01-01T00:00:00Z").unwrap(),
        ..q
    };
    assert_eq!(
        store
            .person_access_counts(&nhs(0), &later, None)
            .await
            .unwrap(),
        (0, 0)
    );
}

#[tokio::test]
async fn over_tls_the_store_is_reached_only_with_the_servers_ca_and_refused_otherwise() {
    let servers = icr_testkit::pki::Ca::new("ICR Test Store CA");
    let leaf = servers.server();
    let Some(pg) = PgCluster::start_with_tls("audit store over TLS", &leaf.cert, &leaf.key) else {
        return;
    };
    let tls = StoreTls::from_pem(servers.cert_pem().as_bytes()).unwrap();
    // The server's CA: connected, over TLS (the server takes nothing else).
    let store = AuditStore::connect_with(&pg.url(), 2, Some(tls.clone()))
        .await
        .unwrap();
    store.migrate().await.unwrap();
    let dir = log_of("store-tls", 3).await;
    let report = store.ingest(&replica("icr-0"), &dir).await.unwrap();
    assert_eq!(report.inserted, 3);
    let (client, conn) = tokio_postgres::connect(&format!("{} sslmode=require", pg.url()), tls)
        .await
        .unwrap();
    tokio::spawn(conn);
    let row = client
        .query_one(
            "SELECT ssl, version FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
            &[],
        )
        .await
        .unwrap();
    assert!(row.get::<_, bool>(0));
    assert!(row.get::<_, String>(1).starts_with("TLSv1."));

    // Another CA: refused at the handshake, never connected unverified.
    let other = icr_testkit::pki::Ca::new("Someone Else's CA");
    let wrong = StoreTls::from_pem(other.cert_pem().as_bytes()).unwrap();
    match AuditStore::connect_with(&pg.url(), 2, Some(wrong)).await {
        Err(StoreError::Connect(_)) => {}
        other => panic!("expected the handshake refused, got {other:?}"),
    }
    // Without TLS: this server refuses the connection.
    assert!(matches!(
        AuditStore::connect(&pg.url(), 2).await,
        Err(StoreError::Connect(_))
    ));
    // A URL that asks for TLS without a CA to verify the server is refused
    // before anything is connected.
    assert!(matches!(
        AuditStore::lazy(&format!("{} sslmode=require", pg.url()), 2),
        Err(StoreError::Config(_))
    ));
    assert!(matches!(
        StoreTls::from_pem(b"not a certificate"),
        Err(StoreError::Tls(_))
    ));
}

/// The feed's lag while the store cannot be reached: it grows with every
/// entry the replica writes meanwhile (reckoned from the last entry the
/// store was seen to hold), rather than staying at what the last
/// successful run saw — so that the lag alert fires during an outage — and
/// falls back to nothing once the store is back and caught up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_feed_reports_the_lag_growing_while_the_store_is_down_and_gone_once_caught_up() {
    let Some(pg) = PgCluster::start("audit store feed lag") else {
        return;
    };
    let dir = temp_dir("feed-lag");
    let config_dir = temp_dir("feed-lag-config");
    std::fs::write(config_dir.join("store-url"), pg.url()).unwrap();
    let settings = StoreConfig {
        url_file: "store-url".into(),
        replica: Some("icr-feed".into()),
        pool_size: 2,
        ingest_every_ms: 100,
        anchor_every_s: 1,
        ca_file: None,
    }
    .resolve(&config_dir, None)
    .unwrap();
    let log = AuditLog::open(&AuditConfig::new(&dir)).unwrap();
    write_accesses(&log, 0, 3, 3).await;
    let stats = std::sync::Arc::new(FeedStats::default());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let head = {
        let log = log.clone();
        move || log.head()
    };
    let task = tokio::spawn(feed(
        settings,
        dir.clone(),
        head,
        stats.clone(),
        async move {
            let _ = stopped.await;
        },
    ));
    let load = |a: &std::sync::atomic::AtomicU64| a.load(std::sync::atomic::Ordering::Relaxed);
    let up = || stats.up.load(std::sync::atomic::Ordering::Relaxed);
    within("six entries stored", || up() && load(&stats.inserted) == 6).await;
    assert_eq!(load(&stats.lag_entries), 0);

    tokio::task::block_in_place(|| pg.stop());
    within("the store reported down", || !up()).await;
    write_accesses(&log, 3, 5, 5).await;
    within("ten entries behind", || load(&stats.lag_entries) == 10).await;
    assert!(!up());

    tokio::task::block_in_place(|| pg.start_again());
    within("caught up", || {
        up() && load(&stats.inserted) == 16 && load(&stats.lag_entries) == 0
    })
    .await;
    assert_eq!(load(&stats.lag_millis), 0);
    let _ = stop.send(());
    task.await.unwrap();
    log.close().await.unwrap();
}

/// Polls `check` every 50 ms until it holds, failing the test after 20 s.
async fn within(what: &str, check: impl Fn() -> bool) {
    let started = std::time::Instant::now();
    while !check() {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(20),
            "{what}: not within 20 s"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// `n` accesses from request `from` on, in the gateway's order (begun,
/// durable, then the completion queued), by `writers` concurrent callers
/// (the writer's group commit shares their syncs); waits until every
/// completion is synced too.
async fn write_accesses(log: &AuditLog, from: u32, n: u32, writers: u32) {
    let mut tasks = tokio::task::JoinSet::new();
    for w in 0..writers.min(n) {
        let log = log.clone();
        tasks.spawn(async move {
            for i in (from + w..from + n).step_by(writers as usize) {
                begin_and_complete(&log, &record(i, i % 50)).await;
            }
        });
    }
    while let Some(task) = tasks.join_next().await {
        task.unwrap();
    }
    log.flushed().await.unwrap();
}

/// The ingest rate, for BENCHMARKS.md: a measurement, not a check (run it
/// alone, in release). A catch-up of 20,000 accesses written by the log's
/// own writer in the gateway's order (40,000 entries: each begun, then
/// completed), then 200 steady runs of 20 entries each, as the feed makes
/// them every `ingest_every_ms` under load.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement: cargo test --release -p icr-audit-store --test store ingest_rate -- --ignored --nocapture"]
async fn ingest_rate() {
    const ACCESSES: u32 = 20_000;
    const RUNS: u32 = 200;
    const PER_RUN: u32 = 10;
    let Some((_pg, store)) = store("audit store ingest rate").await else {
        return;
    };
    let dir = temp_dir("ingest-rate");
    let log = AuditLog::open(&AuditConfig::new(&dir)).unwrap();
    let r = replica("icr-rate");

    let started = std::time::Instant::now();
    write_accesses(&log, 0, ACCESSES, 64).await;
    let written = started.elapsed();
    let started = std::time::Instant::now();
    let report = store.ingest(&r, &dir).await.unwrap();
    let took = started.elapsed();
    assert_eq!(report.inserted, 2 * u64::from(ACCESSES));
    println!(
        "catch-up: {} entries ({ACCESSES} accesses; written in {:.2} s) ingested in {:.2} s: {:.0} entries/s",
        report.inserted,
        written.as_secs_f64(),
        took.as_secs_f64(),
        report.inserted as f64 / took.as_secs_f64()
    );

    let mut runs = Vec::new();
    let mut entries = 0;
    for k in 0..RUNS {
        write_accesses(&log, ACCESSES + k * PER_RUN, PER_RUN, PER_RUN).await;
        let started = std::time::Instant::now();
        entries += store.ingest(&r, &dir).await.unwrap().inserted;
        runs.push(started.elapsed());
    }
    assert_eq!(entries, u64::from(2 * RUNS * PER_RUN));
    let busy: std::time::Duration = runs.iter().sum();
    runs.sort();
    let ms = |d: std::time::Duration| d.as_secs_f64() * 1000.0;
    println!(
        "steady: {RUNS} runs of {} entries: {:.0} entries/s of ingest time; a run p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        2 * PER_RUN,
        entries as f64 / busy.as_secs_f64(),
        ms(runs[runs.len() / 2]),
        ms(runs[runs.len() * 99 / 100]),
        ms(runs[runs.len() - 1])
    );
    log.close().await.unwrap();
    store.verify_log(&r, &dir).await.unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}
