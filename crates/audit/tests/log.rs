//! The log on a real directory: round trip, the exact line format, resuming
//! after a restart, refusing bad records, the lock and the permissions.

mod support;

use icr_audit::{
    AuditConfig, AuditError, AuditLog, Basis, ChainPoint, Decision, EntryHash, ProblemKind,
    Sequence, VerifyError, VerifyOptions, verify, verify_with,
};
use support::{files, record, refused, temp_dir};

fn read_all(dir: &std::path::Path) -> Vec<icr_audit::Entry> {
    let mut out = Vec::new();
    verify_with(&files(dir), &VerifyOptions::default(), |_, _, e| {
        out.push(e.clone())
    })
    .unwrap();
    out
}

#[tokio::test]
async fn records_round_trip_in_order() {
    let dir = temp_dir("roundtrip");
    let log = AuditLog::open(&AuditConfig::new(&dir)).unwrap();
    let mut written = Vec::new();
    for i in 0..20 {
        let r = if i % 4 == 3 {
            refused(i, i % 5)
        } else {
            record(i, i % 5)
        };
        let seq = log.append(&r).await.unwrap();
        assert_eq!(seq, Sequence::new(u64::from(i) + 1));
        written.push(r);
    }
    let head = log.head();
    assert_eq!(head.seq, Sequence::new(20));
    log.close().await.unwrap();

    let entries = read_all(&dir);
    assert_eq!(entries.len(), 20);
    let mut prev = EntryHash::GENESIS;
    for (i, (e, r)) in entries.iter().zip(&written).enumerate() {
        assert_eq!(e.seq, Sequence::new(i as u64 + 1));
        assert_eq!(e.prev, prev);
        // The time is the log's, when it wrote the entry; the rest is the
        // record as given.
        let mut r = r.clone();
        r.time = e.time();
        assert_eq!(e.access(), Some(&r));
        prev = e.hash;
    }
    assert!(entries.windows(2).all(|w| w[0].time() <= w[1].time()));
    assert_eq!(entries.last().unwrap().point(), head);

    let report = verify(&files(&dir)).unwrap();
    assert_eq!(report.entries, 20);
    assert_eq!(report.accesses, 20);
    assert_eq!(report.head, head);
    assert!(report.recoveries.is_empty());
    assert_eq!(report.files.len(), 1);
    assert_eq!(
        report.files[0].range,
        Some((Sequence::new(1), Sequence::new(20)))
    );
}

#[tokio::test]
async fn lines_are_canonical_json_with_the_hash_last() {
    let dir = temp_dir("format");
    let log = support::open_at(&AuditConfig::new(&dir), "2026-11-26T09:00:01.000007Z");
    log.append(&record(1, 1)).await.unwrap();
    log.append(&record(2, 1)).await.unwrap();
    log.close().await.unwrap();
    let text = std::fs::read_to_string(dir.join("audit-000001.jsonl")).unwrap();
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    assert_eq!(lines.len(), 2);
    let nhs = support::nhs(1).to_string();
    let expected_body = format!(
        concat!(
            r#"{{"seq":1,"prev":"{genesis}","access":{{"time":"2026-11-26T09:00:01.000007Z","#,
            r#""request_id":"req-00000001","interaction":"record","#,
            r#""user":{{"sub":"user-1","name":"Dr Test Clinician 1","role":"R8000","org":"RN3"}},"#,
            r#""nhs_number":"{nhs}","purpose":"directcare","basis":"involved","#,
            r#""sections_requested":["medications","allergies","conditions"],"#,
            r#""sections_released":["medications","allergies","conditions"],"#,
            r#""sources":[{{"source":"gwh","status":"ok"}},{{"source":"ruh","status":"not_found"}}],"#,
            r#""items_released":1,"items_withheld":1,"decision":"allowed","reason":"involved","http_status":200}}}}"#
        ),
        genesis = "0".repeat(64),
        nhs = nhs
    );
    let hash = EntryHash::of(expected_body.as_bytes());
    let expected_line = format!(
        "{},\"hash\":\"{}\"}}\n",
        &expected_body[..expected_body.len() - 1],
        hash
    );
    assert_eq!(lines[0], expected_line);
    let second: serde_json::Value = serde_json::from_str(lines[1]).unwrap();
    assert_eq!(second["seq"], 2);
    assert_eq!(second["prev"], hash.to_hex());
}

#[tokio::test]
async fn a_restart_resumes_the_chain() {
    let dir = temp_dir("restart");
    for round in 0..3u32 {
        let log = AuditLog::open(&AuditConfig::new(&dir)).unwrap();
        assert_eq!(log.head().seq, Sequence::new(u64::from(round) * 5));
        for i in 0..5 {
            let seq = log.append(&record(round * 5 + i, 2)).await.unwrap();
            assert_eq!(seq, Sequence::new(u64::from(round * 5 + i) + 1));
        }
        log.close().await.unwrap();
    }
    let report = verify(&files(&dir)).unwrap();
    assert_eq!(report.entries, 15);
    assert!(report.recoveries.is_empty());
}

#[tokio::test]
async fn incoherent_or_oversized_records_are_refused_and_nothing_is_written() {
    let dir = temp_dir("refuse");
    let log = AuditLog::open(&AuditConfig::new(&dir)).unwrap();

    let mut r = refused(1, 1);
    r.items_released = 3;
    assert!(matches!(
        log.append(&r).await,
        Err(AuditError::Inconsistent(m)) if m.contains("refused")
    ));
    // Nor may a refusal list records shown.
    let mut r = refused(1, 1);
    r.shown = icr_audit::ReleasedRecords::of(&[icr_model::RecordId::parse("gwh:C/1").unwrap()]);
    assert!(matches!(
        log.append(&r).await,
        Err(AuditError::Inconsistent(m)) if m.contains("refused")
    ));
    let mut r = record(1, 1);
    r.basis = Basis::BreakGlass;
    assert!(matches!(
        log.append(&r).await,
        Err(AuditError::Inconsistent(m)) if m.contains("break-glass")
    ));
    let mut r = record(1, 1);
    r.sections_requested = icr_model::SectionSet::EMPTY;
    assert!(matches!(
        log.append(&r).await,
        Err(AuditError::Inconsistent(_))
    ));
    let mut r = record(1, 1);
    r.nhs_number = None;
    assert!(matches!(
        log.append(&r).await,
        Err(AuditError::Inconsistent(_))
    ));
    let mut r = record(1, 1);
    r.http_status = 42;
    assert!(matches!(
        log.append(&r).await,
        Err(AuditError::Inconsistent(_))
    ));
    let mut r = refused(1, 1);
    r.user = None;
    r.nhs_number = None;
    r.decision = Decision::Refused;
    assert_eq!(log.append(&r).await.unwrap(), Sequence::new(1));

    let mut big = record(2, 1);
    big.break_glass_reason = Some("x".repeat(icr_audit::MAX_LINE_BYTES));
    let err = log.append(&big).await.unwrap_err();
    assert!(matches!(err, AuditError::TooLarge { .. }), "{err}");
    assert!(!err.to_string().contains("xxx"));

    log.close().await.unwrap();
    assert!(matches!(
        log.append(&record(3, 1)).await,
        Err(AuditError::Closed)
    ));
    assert_eq!(verify(&files(&dir)).unwrap().entries, 1);
}

#[tokio::test]
async fn one_process_at_a_time() {
    let dir = temp_dir("lock");
    let log = AuditLog::open(&AuditConfig::new(&dir)).unwrap();
    let second = AuditLog::open(&AuditConfig::new(&dir));
    assert!(matches!(second, Err(AuditError::Locked { .. })));
    log.close().await.unwrap();
    // Closing releases the lock before `close` returns.
    let reopened = AuditLog::open(&AuditConfig::new(&dir)).unwrap();
    reopened.close().await.unwrap();
}

#[cfg(unix)]
#[tokio::test]
async fn a_directory_others_can_read_is_refused_and_a_new_one_is_private() {
    use std::os::unix::fs::PermissionsExt;
    let dir = temp_dir("perms");
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let err = AuditLog::open(&AuditConfig::new(&dir)).unwrap_err();
    assert!(
        matches!(err, AuditError::Permissions { mode: 0o755, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("o-rwx"));

    let fresh = dir.join("new");
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    let log = AuditLog::open(&AuditConfig::new(&fresh)).unwrap();
    log.append(&record(1, 1)).await.unwrap();
    log.close().await.unwrap();
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&fresh), 0o700);
    assert_eq!(mode(&fresh.join("audit-000001.jsonl")), 0o600);
}

#[test]
fn config_is_checked_and_deserialized() {
    let c: AuditConfig = serde_json::from_str(
        r#"{"dir": "/var/lib/icr/audit", "max_file_bytes": 1048576,
            "queue_capacity": 100, "max_batch": 10}"#,
    )
    .unwrap();
    assert_eq!(c.dir, std::path::PathBuf::from("/var/lib/icr/audit"));
    assert_eq!(c.max_file_bytes, 1_048_576);
    c.check().unwrap();
    let d: AuditConfig = serde_json::from_str(r#"{"dir": "a"}"#).unwrap();
    assert_eq!(d.max_file_bytes, 64 * 1024 * 1024);
    assert_eq!(d.queue_capacity, 4096);
    assert_eq!(d.max_batch, 512);
    assert!(serde_json::from_str::<AuditConfig>(r#"{"dri": "a"}"#).is_err());
    let bad = AuditConfig {
        queue_capacity: 0,
        ..d.clone()
    };
    assert_eq!(
        bad.check().unwrap_err().to_string(),
        "audit.queue_capacity must be 1 to 1000000"
    );
}

#[tokio::test]
async fn an_empty_log_verifies_and_an_anchor_beyond_it_does_not() {
    let dir = temp_dir("empty");
    let log = AuditLog::open(&AuditConfig::new(&dir)).unwrap();
    log.close().await.unwrap();
    let report = verify(&files(&dir)).unwrap();
    assert_eq!(report.entries, 0);
    assert_eq!(report.head, ChainPoint::GENESIS);
    let anchor = ChainPoint {
        seq: Sequence::new(3),
        hash: EntryHash::of(b"x"),
    };
    let err = verify_with(
        &files(&dir),
        &VerifyOptions {
            anchors: vec![anchor],
            ..Default::default()
        },
        |_, _, _| {},
    )
    .unwrap_err();
    assert!(matches!(
        err.problem().map(|p| &p.kind),
        Some(ProblemKind::EndsEarly { .. })
    ));
    assert!(matches!(verify(&[]), Err(VerifyError::NoFiles)));
}
