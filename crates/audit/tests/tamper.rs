//! Tampering with a log is detected: every single-byte change anywhere,
//! removing, swapping, duplicating or inserting lines, appending out of
//! chain, truncating at any byte, and files missing from a rotated log.

mod support;

use std::path::{Path, PathBuf};

use icr_audit::{
    AuditConfig, AuditLog, ChainError, ChainPoint, LineError, ProblemKind, Sequence, VerifyError,
    VerifyOptions, VerifyReport, verify, verify_streams, verify_with,
};
use support::{files, record, refused, temp_dir};

const N: u32 = 3;

/// A small real log of N records in one file, and its bytes; `variant`
/// makes another log with other records.
async fn small_log(name: &str, variant: u32) -> (PathBuf, Vec<u8>) {
    log_of(name, variant, N).await
}

async fn log_of(name: &str, variant: u32, n: u32) -> (PathBuf, Vec<u8>) {
    let dir = temp_dir(name);
    let log = AuditLog::open(&AuditConfig::new(&dir)).unwrap();
    for i in 0..n {
        let k = i + variant * 100;
        let r = match i {
            0 => {
                let mut r = refused(k, 7);
                r.user = None;
                r
            }
            2 => {
                let mut r = record(k, 7);
                r.basis = icr_audit::Basis::BreakGlass;
                r.break_glass_reason = Some("Unconscious in ED, \"no\" history".into());
                r.calling_system = Some("CN=portal.example.nhs.uk".into());
                r
            }
            _ => record(k, 7),
        };
        log.append(&r).await.unwrap();
    }
    log.close().await.unwrap();
    let path = dir.join("audit-000001.jsonl");
    let bytes = std::fs::read(&path).unwrap();
    (path, bytes)
}

fn check(bytes: &[u8], options: &VerifyOptions) -> Result<VerifyReport, VerifyError> {
    verify_streams(
        vec![(PathBuf::from("audit-000001.jsonl"), bytes)],
        options,
        |_, _, _| {},
    )
}

fn head_of(bytes: &[u8]) -> ChainPoint {
    check(bytes, &VerifyOptions::default()).unwrap().head
}

fn lines(bytes: &[u8]) -> Vec<Vec<u8>> {
    bytes
        .split_inclusive(|b| *b == b'\n')
        .map(<[u8]>::to_vec)
        .collect()
}

fn problem_line(r: Result<VerifyReport, VerifyError>) -> (u64, ProblemKind) {
    match r {
        Err(VerifyError::Failed(f)) => (f.problem.line, f.problem.kind),
        Ok(report) => panic!("tampering not detected: {report}"),
        Err(e) => panic!("{e}"),
    }
}

#[tokio::test]
async fn every_single_byte_change_is_detected() {
    // Two records (a refusal with no user, an allowed access): every byte
    // position, every other value — about 330,000 verifications.
    let (_, bytes) = log_of("bytes", 0, 2).await;
    assert_eq!(check(&bytes, &VerifyOptions::default()).unwrap().entries, 2);
    let starts = support::line_starts(&bytes);
    // Every position, every other byte value: split over two threads.
    let positions: Vec<usize> = (0..bytes.len()).collect();
    let checked: u64 = std::thread::scope(|scope| {
        let workers: Vec<_> = positions
            .chunks(bytes.len().div_ceil(2))
            .map(|chunk| {
                let (bytes, starts) = (&bytes, &starts);
                scope.spawn(move || {
                    let mut changed = bytes.clone();
                    let mut checked = 0u64;
                    for &pos in chunk {
                        let original = bytes[pos];
                        for value in (0..=255u8).filter(|v| *v != original) {
                            changed[pos] = value;
                            let (line, _) =
                                problem_line(check(&changed, &VerifyOptions::default()));
                            // Reported on the changed line, or (its newline
                            // changed) on the line it runs into.
                            let changed_line = starts.iter().filter(|s| **s <= pos).count() as u64;
                            assert!(
                                line == changed_line || line == changed_line + 1,
                                "byte {pos} set to {value}: reported at line {line}, changed line {changed_line}"
                            );
                            checked += 1;
                        }
                        changed[pos] = original;
                    }
                    checked
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().unwrap()).sum()
    });
    assert_eq!(checked, bytes.len() as u64 * 255);
}

#[tokio::test]
async fn removing_swapping_duplicating_or_inserting_lines_is_detected() {
    let (_, bytes) = small_log("lines", 0).await;
    let ls = lines(&bytes);
    let n = ls.len();
    assert_eq!(n, N as usize);
    let join = |v: &[Vec<u8>]| v.concat();
    let anchored = VerifyOptions {
        anchors: vec![head_of(&bytes)],
        ..Default::default()
    };

    for i in 0..n {
        // Remove line i.
        let mut v = ls.clone();
        v.remove(i);
        let (line, kind) = problem_line(check(&join(&v), &anchored));
        if i + 1 < n {
            assert_eq!(line, i as u64 + 1);
            assert!(matches!(
                kind,
                ProblemKind::Chain(ChainError::Sequence { .. })
            ));
        } else {
            assert!(matches!(kind, ProblemKind::EndsEarly { .. }), "{kind}");
        }

        // Duplicate line i (at every position after it).
        for at in i + 1..=n {
            let mut v = ls.clone();
            v.insert(at, ls[i].clone());
            let (line, kind) = problem_line(check(&join(&v), &anchored));
            assert_eq!(line, at as u64 + 1, "dup {i} at {at}");
            assert!(matches!(kind, ProblemKind::Chain(_)));
        }

        // Swap line i with each later line.
        for j in i + 1..n {
            let mut v = ls.clone();
            v.swap(i, j);
            let (line, _) = problem_line(check(&join(&v), &anchored));
            assert_eq!(line, i as u64 + 1, "swap {i} {j}");
        }
    }

    // Insert a line from another log (valid on its own, same numbering) at
    // every position.
    let (_, other) = small_log("other", 1).await;
    let foreign = lines(&other);
    for (k, line_k) in foreign.iter().enumerate() {
        for at in 0..=n {
            let mut v = ls.clone();
            v.insert(at, line_k.clone());
            let (line, kind) = problem_line(check(&join(&v), &anchored));
            // The other log's first entry is a valid first entry: then the
            // problem is the original first entry after it.
            let expected = if k == 0 && at == 0 { 2 } else { at as u64 + 1 };
            assert_eq!(line, expected, "foreign {k} at {at}");
            assert!(matches!(kind, ProblemKind::Chain(_)), "{kind}");
        }
    }
}

#[tokio::test]
async fn a_record_appended_out_of_chain_is_detected() {
    // A well-formed entry with the right next sequence number, sealed on
    // another chain (as if written by a second process or forged).
    let (_, bytes) = small_log("outofchain", 0).await;
    // A longer foreign log, to take its entry number N+1.
    let dir = temp_dir("outofchain-long");
    let log = AuditLog::open(&AuditConfig::new(&dir)).unwrap();
    for i in 0..=N {
        log.append(&record(100 + i, 9)).await.unwrap();
    }
    log.close().await.unwrap();
    let long = std::fs::read(dir.join("audit-000001.jsonl")).unwrap();
    let next = lines(&long).pop().unwrap();
    let mut tampered = bytes.clone();
    tampered.extend_from_slice(&next);
    let (line, kind) = problem_line(check(&tampered, &VerifyOptions::default()));
    assert_eq!(line, u64::from(N) + 1);
    assert!(
        matches!(kind, ProblemKind::Chain(ChainError::Prev { .. })),
        "{kind}"
    );
    assert!(kind.to_string().contains("out of chain"));
}

#[tokio::test]
async fn truncation_at_any_byte_is_detected() {
    let (_, bytes) = small_log("truncate", 0).await;
    let anchored = VerifyOptions {
        anchors: vec![head_of(&bytes)],
        ..Default::default()
    };
    let boundaries: Vec<usize> = std::iter::once(0)
        .chain(
            bytes
                .iter()
                .enumerate()
                .filter(|(_, b)| **b == b'\n')
                .map(|(i, _)| i + 1),
        )
        .collect();
    for len in 0..bytes.len() {
        let cut = &bytes[..len];
        // With the head recorded elsewhere, every cut fails.
        let (_, kind) = problem_line(check(cut, &anchored));
        if boundaries.contains(&len) {
            assert!(
                matches!(kind, ProblemKind::EndsEarly { .. }),
                "{len}: {kind}"
            );
            // Without it, a cut at a line boundary is an older copy of the
            // log: it verifies, and its report's head shows where it ends.
            let report = check(cut, &VerifyOptions::default()).unwrap();
            assert_eq!(
                report.head.seq,
                Sequence::new(boundaries.iter().position(|b| *b == len).unwrap() as u64)
            );
        } else {
            assert!(matches!(kind, ProblemKind::Torn { .. }), "{len}: {kind}");
            // Mid-line, it fails even without the anchor.
            let (_, kind) = problem_line(check(cut, &VerifyOptions::default()));
            assert!(matches!(kind, ProblemKind::Torn { .. }));
        }
    }
}

async fn rotated_log(name: &str) -> (PathBuf, Vec<PathBuf>) {
    let dir = temp_dir(name);
    let config = AuditConfig {
        max_file_bytes: 2048,
        ..AuditConfig::new(&dir)
    };
    let log = AuditLog::open(&config).unwrap();
    for i in 0..12 {
        log.append(&record(i, 3)).await.unwrap();
    }
    log.close().await.unwrap();
    let fs = files(&dir);
    assert!(fs.len() >= 4, "{fs:?}");
    (dir, fs)
}

fn name(p: &Path) -> String {
    p.file_name().unwrap().to_string_lossy().into_owned()
}

#[tokio::test]
async fn a_missing_file_in_a_rotated_log_is_detected() {
    let (_, fs) = rotated_log("missing").await;
    let full = verify(&fs).unwrap();
    assert_eq!(full.entries, 12);
    let anchored = VerifyOptions {
        anchors: vec![full.head],
        ..Default::default()
    };
    for i in 0..fs.len() {
        let mut some = fs.clone();
        let removed = some.remove(i);
        if i + 1 < fs.len() {
            let err = verify(&some).unwrap_err();
            let p = err.problem().unwrap();
            assert_eq!(
                p.kind,
                ProblemKind::MissingFile {
                    expected: name(&removed)
                }
            );
            assert_eq!(name(&p.file), name(&fs[i + 1]));
            assert_eq!(p.line, 1);
        } else {
            // The last file: only an anchor tells.
            assert!(verify(&some).is_ok());
            let err = verify_with(&some, &anchored, |_, _, _| {}).unwrap_err();
            assert!(matches!(
                err.problem().unwrap().kind,
                ProblemKind::EndsEarly { .. }
            ));
        }
    }
}

#[tokio::test]
async fn a_renamed_file_breaks_the_chain_and_an_altered_one_names_its_line() {
    let (dir, fs) = rotated_log("renamed").await;
    // Files swapped under each other's names: the chain breaks at the first.
    let a = std::fs::read(&fs[1]).unwrap();
    let b = std::fs::read(&fs[2]).unwrap();
    std::fs::write(&fs[1], &b).unwrap();
    std::fs::write(&fs[2], &a).unwrap();
    let err = verify(&fs).unwrap_err();
    let p = err.problem().unwrap();
    assert_eq!(name(&p.file), name(&fs[1]));
    assert_eq!(p.line, 1);
    std::fs::write(&fs[1], &a).unwrap();
    std::fs::write(&fs[2], &b).unwrap();

    // One character of the third file's second line changed.
    let mut c = std::fs::read(&fs[2]).unwrap();
    let second_line = c.iter().position(|x| *x == b'\n').unwrap() + 1;
    let at = second_line + 40;
    c[at] = if c[at] == b'1' { b'2' } else { b'1' };
    std::fs::write(&fs[2], &c).unwrap();
    let err = verify(&fs).unwrap_err();
    let p = err.problem().unwrap().clone();
    assert_eq!(name(&p.file), name(&fs[2]));
    assert_eq!(p.line, 2);
    assert!(matches!(
        p.kind,
        ProblemKind::Line(LineError::HashMismatch) | ProblemKind::Line(LineError::Format(_))
    ));
    let text = err.to_string();
    assert!(text.contains(&format!("{}:2:", fs[2].display())), "{text}");
    // The report says what was verified before the problem.
    let VerifyError::Failed(f) = err else {
        panic!()
    };
    assert_eq!(f.report.files.len(), 3);
    assert!(f.report.entries >= 3);
    let _ = dir;
}

#[tokio::test]
async fn files_given_in_any_order_are_put_in_order() {
    let (_, fs) = rotated_log("order").await;
    let mut shuffled = fs.clone();
    shuffled.reverse();
    shuffled.swap(0, 1);
    let report = verify(&shuffled).unwrap();
    assert_eq!(report.entries, 12);
    let order: Vec<String> = report.files.iter().map(|f| name(&f.path)).collect();
    let expected: Vec<String> = fs.iter().map(|p| name(p)).collect();
    assert_eq!(order, expected);
}
