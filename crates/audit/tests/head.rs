//! The chain's head is published outside the log — an `audit chain head`
//! log line and an anchor file — at start, every `head_every_s` when it
//! changed, and at close; a log cut at a line boundary after an anchor
//! verifies on its own but not against the anchors.

mod support;

use std::time::{Duration, Instant};

use icr_audit::{
    AuditConfig, AuditError, AuditLog, ChainPoint, ProblemKind, Sequence, VerifyOptions,
    read_anchors, verify, verify_with,
};
use support::{files, nhs, record, temp_dir};

fn anchors_in(path: &std::path::Path) -> Vec<ChainPoint> {
    read_anchors(std::io::BufReader::new(std::fs::File::open(path).unwrap())).unwrap()
}

/// Verifies the log in `dir` against every head in the anchor file.
fn verify_against(
    dir: &std::path::Path,
    anchors: &std::path::Path,
) -> Result<icr_audit::VerifyReport, icr_audit::VerifyError> {
    verify_with(
        &files(dir),
        &VerifyOptions {
            anchors: anchors_in(anchors),
            ..VerifyOptions::default()
        },
        |_, _, _| {},
    )
}

#[tokio::test]
async fn the_head_is_published_at_start_when_it_changes_and_at_close() {
    let dir = temp_dir("head-log");
    let anchors = temp_dir("head-anchors").join("anchors.jsonl");
    let config = AuditConfig {
        head_every_s: 1,
        anchor_file: Some(anchors.clone()),
        ..AuditConfig::new(&dir)
    };
    let (log, text) = support::logged(|| AuditLog::open(&config).unwrap());
    // At start: the genesis of an empty log, as a log line and a line of
    // the anchor file.
    let line = text
        .lines()
        .find(|l| l.contains("audit chain head"))
        .unwrap_or_else(|| panic!("no head logged: {text:?}"));
    assert!(line.contains(" INFO "), "{line}");
    assert!(line.contains("seq=0"), "{line}");
    assert!(line.contains(&format!("hash={}", "0".repeat(64))), "{line}");
    assert!(line.contains("file=\"audit-000001.jsonl\""), "{line}");
    assert_eq!(anchors_in(&anchors), [ChainPoint::GENESIS]);

    for i in 0..3 {
        log.append(&record(i, 1)).await.unwrap();
    }
    let head = log.head();
    // Within a period (generously bounded), the new head is published;
    // while it does not change, it is not published again.
    let deadline = Instant::now() + Duration::from_secs(10);
    while anchors_in(&anchors).last() != Some(&head) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(2200)).await;
    let published = anchors_in(&anchors);
    assert_eq!(published.first(), Some(&ChainPoint::GENESIS));
    assert_eq!(published.last(), Some(&head));
    assert!(
        published.windows(2).all(|w| w[0].seq < w[1].seq),
        "{published:?}"
    );
    let anchor = log.anchor();
    assert_eq!(anchor.point(), head);
    assert_eq!(anchor.file.as_deref(), Some("audit-000001.jsonl"));

    // At close, the last head.
    log.append(&record(3, 1)).await.unwrap();
    let last = log.head();
    log.close().await.unwrap();
    assert_eq!(anchors_in(&anchors).last(), Some(&last));
    assert!(log.stats().heads_published >= 3, "{:?}", log.stats());
    assert_eq!(log.stats().head_publish_failures, 0);
    // No patient data in the anchor file.
    let text = std::fs::read_to_string(&anchors).unwrap();
    assert!(!text.contains(&nhs(1).to_string()), "{text}");
    assert!(
        text.lines().all(|l| l.starts_with("{\"time\":\"")),
        "{text}"
    );
    // The log verifies against every anchor it published.
    let report = verify_against(&dir, &anchors).unwrap();
    assert_eq!(report.anchors_checked, anchors_in(&anchors).len() as u64);
    assert!(report.to_string().contains("anchor(s) checked"), "{report}");
}

#[tokio::test]
async fn a_log_cut_at_a_line_boundary_fails_against_its_anchors() {
    let dir = temp_dir("head-cut");
    let anchors = temp_dir("head-cut-anchors").join("anchors.jsonl");
    let config = AuditConfig {
        anchor_file: Some(anchors.clone()),
        ..AuditConfig::new(&dir)
    };
    let log = AuditLog::open(&config).unwrap();
    for i in 0..10 {
        log.append(&record(i, 1)).await.unwrap();
    }
    log.close().await.unwrap();
    assert_eq!(anchors_in(&anchors).last().unwrap().seq, Sequence::new(10));

    // The last three lines removed, exactly at line boundaries.
    let path = dir.join("audit-000001.jsonl");
    let bytes = std::fs::read(&path).unwrap();
    let cut: Vec<u8> = bytes
        .split_inclusive(|b| *b == b'\n')
        .take(7)
        .flatten()
        .copied()
        .collect();
    std::fs::write(&path, &cut).unwrap();
    // On its own the cut log verifies (a hash chain cannot tell) …
    assert_eq!(verify(&files(&dir)).unwrap().head.seq, Sequence::new(7));
    // … against the anchors it does not, and says how.
    let err = verify_against(&dir, &anchors).unwrap_err();
    let problem = err.problem().unwrap();
    assert_eq!((&problem.file, problem.line), (&path, 7));
    assert!(matches!(
        problem.kind,
        ProblemKind::EndsEarly { found, anchor } if found.seq == Sequence::new(7) && anchor.seq == Sequence::new(10)
    ));
    assert!(
        err.to_string()
            .contains("the log ends at entry 7 but should reach entry 10"),
        "{err}"
    );
}

#[tokio::test]
async fn an_anchor_file_beside_the_log_or_unwritable_is_refused_at_open() {
    let dir = temp_dir("head-config");
    let inside = AuditConfig {
        anchor_file: Some(dir.join("anchors.jsonl")),
        ..AuditConfig::new(&dir)
    };
    let err = AuditLog::open(&inside).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("audit.anchor_file must be outside the log directory"),
        "{err}"
    );
    let nowhere = AuditConfig {
        anchor_file: Some(temp_dir("head-config-x").join("missing/anchors.jsonl")),
        ..AuditConfig::new(&dir)
    };
    let err = AuditLog::open(&nowhere).unwrap_err();
    assert!(matches!(err, AuditError::Io { .. }), "{err}");
    assert!(err.to_string().contains("anchor file"), "{err}");
    let zero = AuditConfig {
        head_every_s: 0,
        ..AuditConfig::new(&dir)
    };
    assert_eq!(
        AuditLog::open(&zero).unwrap_err().to_string(),
        "audit.head_every_s must be 1 to 86400"
    );
}
