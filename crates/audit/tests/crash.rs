//! A crash test: a real process (`icr-audit-crash`) records accesses from
//! many tasks as the gateway does — begun (awaited), then completed
//! (queued, unawaited) — printing every acknowledged begun entry and every
//! completion queued; it is killed with SIGKILL mid-run, five times over
//! the same directory (32 or 512 tasks, so that batches — and the writes a
//! kill can cut — are small or large). After each kill the log is
//! reopened (recovering a torn tail if the kill left one), the chain
//! verifies, every acknowledged begun entry is in the log, and every
//! completion queued before a later acknowledged entry of the same task
//! is in the log too, naming its begun entry, as it was sent.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use icr_audit::{AuditConfig, AuditLog, Decision, Event, VerifyOptions, verify_with};
use support::{files, temp_dir};

#[test]
fn every_acknowledged_append_survives_sigkill() {
    let dir = temp_dir("crash");
    let mut acknowledged: BTreeSet<u64> = BTreeSet::new();
    // Completions (by their begun entry) that must be durable.
    let mut completed: BTreeSet<u64> = BTreeSet::new();
    for round in 0..5u32 {
        let start_lines = lines_on_disk(&dir);
        let tasks = if round.is_multiple_of(2) { "32" } else { "512" };
        let mut child = Command::new(env!("CARGO_BIN_EXE_icr-audit-crash"))
            .arg(&dir)
            .arg(tasks)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let reader = std::thread::spawn(move || {
            let mut lines = Vec::new();
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                lines.push(line);
            }
            lines
        });
        // Let it run until it has acknowledged a good number, then kill it.
        let started = Instant::now();
        let target = start_lines + 700 + 400 * round as usize;
        loop {
            std::thread::sleep(Duration::from_millis(5));
            if lines_on_disk(&dir) >= target || started.elapsed() > Duration::from_secs(30) {
                break;
            }
        }
        child.kill().unwrap(); // SIGKILL
        let status = child.wait().unwrap();
        assert!(!status.success());
        let lines = reader.join().unwrap();
        let head_line = lines.first().expect("the helper printed its head");
        assert!(head_line.starts_with("head "), "{head_line}");
        let mut round_acks: Vec<u64> = Vec::new();
        // Per task, the completion queued since its last acknowledged begin.
        let mut queued: BTreeMap<u32, u64> = BTreeMap::new();
        for line in &lines[1..] {
            let mut words = line.split(' ');
            let (kind, task, seq) = (words.next(), words.next(), words.next());
            let task: u32 = task.unwrap().parse().unwrap();
            let seq: u64 = seq.unwrap().parse().unwrap();
            match kind {
                Some("b") => {
                    round_acks.push(seq);
                    // Queued before this acknowledged entry: durable.
                    completed.extend(queued.remove(&task));
                }
                Some("c") => {
                    queued.insert(task, seq);
                }
                _ => panic!("unexpected line {line:?}"),
            }
        }
        assert!(
            round_acks.len() > 50,
            "round {round}: only {} accesses begun and acknowledged",
            round_acks.len()
        );
        acknowledged.extend(&round_acks);

        // Reopen (recovering a torn tail, if any), then verify.
        let log = AuditLog::open(&AuditConfig::new(&dir)).unwrap();
        let head = log.head();
        drop(log);
        let mut in_log: BTreeSet<u64> = BTreeSet::new();
        let mut completions: BTreeSet<u64> = BTreeSet::new();
        let report = verify_with(&files(&dir), &VerifyOptions::default(), |_, _, e| {
            match (&e.event, e.completes) {
                (Event::Begun(_), None) => {
                    in_log.insert(e.seq.get());
                }
                (Event::Access(r), Some(begun)) => {
                    assert_eq!((r.http_status, r.decision), (200, Decision::Allowed));
                    assert!(completions.insert(begun.get()), "completed twice");
                }
                (Event::Recovery(_), None) => {}
                other => panic!("unexpected entry {other:?}"),
            }
        })
        .unwrap();
        assert!(report.head.seq >= head.seq);
        let missing: Vec<&u64> = acknowledged.difference(&in_log).collect();
        assert!(
            missing.is_empty(),
            "round {round}: acknowledged but not in the log: {missing:?}"
        );
        let lost: Vec<&u64> = completed.difference(&completions).collect();
        assert!(
            lost.is_empty(),
            "round {round}: completions queued before an acknowledged entry but not in the log: {lost:?}"
        );
        assert!(
            completions.is_subset(&in_log),
            "round {round}: a completion names no begun entry"
        );
        eprintln!(
            "round {round} ({tasks} tasks): {} begun and acknowledged this round, {} entries in the log ({} completions), {} recoveries, {} files",
            round_acks.len(),
            report.entries,
            report.completions,
            report.recoveries.len(),
            report.files.len()
        );
    }
}

/// Lines on disk so far (a cheap progress measure while the helper runs).
fn lines_on_disk(dir: &std::path::Path) -> usize {
    files(dir)
        .iter()
        .map(|f| {
            std::fs::read(f)
                .map(|b| b.iter().filter(|c| **c == b'\n').count())
                .unwrap_or(0)
        })
        .sum()
}
