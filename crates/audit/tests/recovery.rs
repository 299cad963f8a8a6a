//! Rotation keeps the chain across files; a restart resumes it; a torn last
//! line left by a crash is moved aside and recorded in the chain; any other
//! damage refuses to open.

mod support;

use std::io::Write;

use icr_audit::{
    AuditConfig, AuditError, AuditLog, EntryHash, Event, LineError, ProblemKind, Sequence,
    VerifyOptions, verify, verify_with,
};
use support::{files, record, temp_dir};

fn small_files(dir: &std::path::Path) -> AuditConfig {
    AuditConfig {
        max_file_bytes: 3000,
        ..AuditConfig::new(dir)
    }
}

#[tokio::test]
async fn rotation_keeps_the_chain_across_files_and_restarts() {
    let dir = temp_dir("rotation");
    let config = small_files(&dir);
    let log = AuditLog::open(&config).unwrap();
    for i in 0..30 {
        log.append(&record(i, 4)).await.unwrap();
    }
    let rotations = log.stats().rotations;
    log.close().await.unwrap();
    let fs = files(&dir);
    assert_eq!(fs.len() as u64, rotations + 1);
    for (i, f) in fs.iter().enumerate() {
        assert_eq!(
            f.file_name().unwrap().to_str().unwrap(),
            format!("audit-{:06}.jsonl", i + 1)
        );
        let len = std::fs::metadata(f).unwrap().len();
        assert!(len <= 3000, "{} is {len} bytes", f.display());
    }
    // Each file's first entry chains from the previous file's last.
    let mut per_file: Vec<(std::path::PathBuf, Vec<icr_audit::Entry>)> = Vec::new();
    verify_with(&fs, &VerifyOptions::default(), |p, _, e| {
        match per_file.last_mut() {
            Some((q, v)) if q == p => v.push(e.clone()),
            _ => per_file.push((p.to_path_buf(), vec![e.clone()])),
        }
    })
    .unwrap();
    assert_eq!(per_file.len(), fs.len());
    for pair in per_file.windows(2) {
        let last = pair[0].1.last().unwrap();
        let first = &pair[1].1[0];
        assert_eq!(first.prev, last.hash);
        assert_eq!(first.seq, last.seq.next().unwrap());
    }
    assert_eq!(per_file[0].1[0].prev, EntryHash::GENESIS);

    // A restart appends to the newest file and goes on rotating.
    let log = AuditLog::open(&config).unwrap();
    for i in 30..60 {
        assert_eq!(
            log.append(&record(i, 4)).await.unwrap(),
            Sequence::new(u64::from(i) + 1)
        );
    }
    log.close().await.unwrap();
    let report = verify(&files(&dir)).unwrap();
    assert_eq!(report.entries, 60);
    assert!(report.files.len() > fs.len());
}

#[tokio::test]
async fn a_line_larger_than_a_file_gets_a_file_of_its_own() {
    let dir = temp_dir("bigline");
    let config = AuditConfig {
        max_file_bytes: 1024,
        ..AuditConfig::new(&dir)
    };
    let log = AuditLog::open(&config).unwrap();
    for i in 0..3 {
        log.append(&record(i, 1)).await.unwrap();
    }
    log.close().await.unwrap();
    let report = verify(&files(&dir)).unwrap();
    assert_eq!(report.files.len(), 3);
    assert!(report.files.iter().all(|f| f.entries == 1));
}

/// Appends `n` records, closes, and returns the bytes of the newest file.
/// The clock is stopped, so that two such logs are the same bytes.
async fn log_with(dir: &std::path::Path, config: &AuditConfig, n: u32) -> Vec<u8> {
    let log = support::open_at(config, "2026-11-26T09:00:00Z");
    for i in 0..n {
        log.append(&record(i, 5)).await.unwrap();
    }
    log.close().await.unwrap();
    std::fs::read(files(dir).last().unwrap()).unwrap()
}

#[tokio::test]
async fn a_torn_last_line_is_moved_aside_and_recorded() {
    let dir = temp_dir("torn");
    let config = AuditConfig::new(&dir);
    let good = log_with(&dir, &config, 5).await;
    let path = dir.join("audit-000001.jsonl");
    // A crash cut the sixth line short: append part of a real line.
    let sixth = {
        let other = temp_dir("torn-source");
        let bytes = log_with(&other, &AuditConfig::new(&other), 6).await;
        bytes[good.len()..].to_vec()
    };
    let torn = &sixth[..sixth.len() / 2];
    std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap()
        .write_all(torn)
        .unwrap();
    let err = verify(&files(&dir)).unwrap_err();
    assert_eq!(err.problem().unwrap().line, 6);
    assert!(matches!(
        err.problem().unwrap().kind,
        ProblemKind::Torn { bytes } if bytes == torn.len() as u64
    ));

    let log = AuditLog::open(&config).unwrap();
    // The recovery entry took sequence 6.
    assert_eq!(log.head().seq, Sequence::new(6));
    assert_eq!(log.append(&record(6, 5)).await.unwrap(), Sequence::new(7));
    log.close().await.unwrap();

    let saved = std::fs::read(dir.join("audit-000001.jsonl.torn-6")).unwrap();
    assert_eq!(saved, torn);
    let report = verify(&files(&dir)).unwrap();
    assert_eq!(report.entries, 7);
    assert_eq!(report.accesses, 6);
    assert_eq!(report.recoveries.len(), 1);
    let note = &report.recoveries[0];
    assert_eq!(note.seq, Sequence::new(6));
    assert_eq!(note.line, 6);
    assert_eq!(note.recovery.file, "audit-000001.jsonl");
    assert_eq!(note.recovery.offset, good.len() as u64);
    assert_eq!(note.recovery.length, torn.len() as u64);
    assert_eq!(note.recovery.saved_as, "audit-000001.jsonl.torn-6");
    let text = report.to_string();
    assert!(text.contains("recovery at"), "{text}");
    assert!(text.contains("audit-000001.jsonl.torn-6"), "{text}");
    // The five acknowledged records are untouched.
    let now = std::fs::read(&path).unwrap();
    assert_eq!(&now[..good.len()], &good[..]);
}

#[tokio::test]
async fn a_crash_during_recovery_still_records_it() {
    // The torn tail was saved and cut, but the process died before the
    // recovery entry was written: the next start writes it.
    let dir = temp_dir("torn-twice");
    let config = AuditConfig::new(&dir);
    let good = log_with(&dir, &config, 3).await;
    std::fs::write(dir.join("audit-000001.jsonl.torn-4"), b"{\"seq\":4,\"pr").unwrap();
    let log = AuditLog::open(&config).unwrap();
    assert_eq!(log.head().seq, Sequence::new(4));
    log.close().await.unwrap();
    let report = verify(&files(&dir)).unwrap();
    assert_eq!(report.recoveries.len(), 1);
    assert_eq!(report.recoveries[0].recovery.offset, good.len() as u64);
    assert_eq!(report.recoveries[0].recovery.length, 12);
    // And it is not recorded twice.
    let log = AuditLog::open(&config).unwrap();
    assert_eq!(log.head().seq, Sequence::new(4));
    log.close().await.unwrap();
}

#[tokio::test]
async fn a_torn_first_line_of_a_new_file_resumes_from_the_previous_file() {
    let dir = temp_dir("torn-rotated");
    let config = small_files(&dir);
    log_with(&dir, &config, 8).await;
    let fs = files(&dir);
    assert!(fs.len() >= 2);
    let before = verify(&fs).unwrap().head;
    let next = dir.join(format!("audit-{:06}.jsonl", fs.len() + 1));
    std::fs::write(&next, b"{\"seq\":9,\"prev\":\"ab").unwrap();
    let log = AuditLog::open(&config).unwrap();
    assert_eq!(log.head().seq, before.seq.next().unwrap());
    log.append(&record(100, 5)).await.unwrap();
    log.close().await.unwrap();
    let report = verify(&files(&dir)).unwrap();
    assert_eq!(report.recoveries.len(), 1);
    assert_eq!(report.entries, before.seq.get() + 2);
    // An empty newest file (a crash right after it was created) is reused.
    let n = files(&dir).len();
    let empty = dir.join(format!("audit-{:06}.jsonl", n + 1));
    std::fs::write(&empty, b"").unwrap();
    let log = AuditLog::open(&config).unwrap();
    log.append(&record(101, 5)).await.unwrap();
    log.close().await.unwrap();
    assert!(std::fs::metadata(&empty).unwrap().len() > 0);
    assert_eq!(verify(&files(&dir)).unwrap().recoveries.len(), 1);
}

#[tokio::test]
async fn damage_that_is_not_a_torn_tail_refuses_to_open() {
    let dir = temp_dir("damaged");
    let config = AuditConfig::new(&dir);
    let good = log_with(&dir, &config, 4).await;
    let path = dir.join("audit-000001.jsonl");
    // One byte of the second line altered.
    let second = good.iter().position(|b| *b == b'\n').unwrap() + 1;
    let mut bad = good.clone();
    bad[second + 30] ^= 0x01;
    std::fs::write(&path, &bad).unwrap();
    let err = AuditLog::open(&config).unwrap_err();
    match &err {
        AuditError::Damaged {
            file,
            line,
            problem,
        } => {
            assert_eq!(file, &path);
            assert_eq!(*line, 2);
            assert!(matches!(
                problem,
                ProblemKind::Line(
                    LineError::HashMismatch | LineError::Format(_) | LineError::Syntax(_)
                )
            ));
        }
        other => panic!("{other}"),
    }
    assert!(err.to_string().contains("icr audit verify"));
    // Nothing was written or moved.
    assert_eq!(std::fs::read(&path).unwrap(), bad);

    // A complete line out of chain at the end is not a torn tail either.
    let mut doubled = good.clone();
    let last_start = good[..good.len() - 1]
        .iter()
        .rposition(|b| *b == b'\n')
        .unwrap()
        + 1;
    doubled.extend_from_slice(&good[last_start..]);
    std::fs::write(&path, &doubled).unwrap();
    assert!(matches!(
        AuditLog::open(&config),
        Err(AuditError::Damaged { line: 5, .. })
    ));
}

#[tokio::test]
async fn archived_earlier_files_do_not_stop_a_restart() {
    let dir = temp_dir("archived");
    let config = small_files(&dir);
    log_with(&dir, &config, 12).await;
    let fs = files(&dir);
    assert!(fs.len() >= 3);
    let head = verify(&fs).unwrap().head;
    // The operator moves all but the newest file to the archive.
    let archive = temp_dir("archive");
    for f in &fs[..fs.len() - 1] {
        std::fs::rename(f, archive.join(f.file_name().unwrap())).unwrap();
    }
    let log = AuditLog::open(&config).unwrap();
    assert_eq!(log.head(), head);
    log.append(&record(50, 5)).await.unwrap();
    log.close().await.unwrap();
    // The directory alone verifies only from an archived start point...
    assert!(verify(&files(&dir)).is_err());
    // ...and archive plus directory verify as one log.
    let mut all = files(&archive);
    all.extend(files(&dir));
    let report = verify(&all).unwrap();
    assert_eq!(report.entries, head.seq.get() + 1);
    let last_archived = {
        let mut p = None;
        verify_with(&files(&archive), &VerifyOptions::default(), |_, _, e| {
            p = Some(e.point())
        })
        .unwrap();
        p.unwrap()
    };
    let tail = verify_with(
        &files(&dir),
        &VerifyOptions {
            start: last_archived,
            ..VerifyOptions::default()
        },
        |_, _, e| assert!(matches!(e.event, Event::Access(_))),
    )
    .unwrap();
    assert_eq!(tail.head.seq, head.seq.next().unwrap());
}

#[tokio::test]
async fn recovering_a_torn_tail_warns_and_is_counted() {
    let dir = temp_dir("torn-warn");
    let config = AuditConfig::new(&dir);
    let good = log_with(&dir, &config, 4).await;
    // A crash cut a fifth line short (its first 300 bytes: a real line's
    // start, with the patient's NHS number in it).
    let fifth = {
        let other = temp_dir("torn-warn-source");
        let bytes = log_with(&other, &AuditConfig::new(&other), 5).await;
        let start = bytes[..bytes.len() - 1]
            .iter()
            .rposition(|b| *b == b'\n')
            .unwrap()
            + 1;
        bytes[start..start + 300].to_vec()
    };
    std::fs::OpenOptions::new()
        .append(true)
        .open(dir.join("audit-000001.jsonl"))
        .unwrap()
        .write_all(&fifth)
        .unwrap();

    let (log, text) = support::logged(|| AuditLog::open(&config).unwrap());
    let warning = text
        .lines()
        .find(|l| l.contains("WARN") && l.contains("torn"))
        .unwrap_or_else(|| panic!("no warning about the torn tail in: {text:?}"));
    // What was cut and where, never what it said.
    assert!(warning.contains("bytes=300"), "{warning}");
    assert!(
        warning.contains(&format!("offset={}", good.len())),
        "{warning}"
    );
    assert!(warning.contains("seq=5"), "{warning}");
    assert!(warning.contains("audit-000001.jsonl.torn-5"), "{warning}");
    assert!(!text.contains(&support::nhs(5).to_string()), "{text}");
    assert_eq!(log.stats().torn_tails_recovered, 1);
    log.close().await.unwrap();

    // A clean restart recovers nothing and says nothing about it.
    let (log, text) = support::logged(|| AuditLog::open(&config).unwrap());
    assert!(!text.contains("torn"), "{text}");
    assert_eq!(log.stats().torn_tails_recovered, 0);
    log.close().await.unwrap();
}
