//! A crash test: a real process (`icr-audit-crash`) appends from many
//! tasks and prints every acknowledged sequence; it is killed with SIGKILL
//! mid-run, five times over the same directory (32 or 512 appenders, so
//! that batches — and the writes a kill can cut — are small or large). After each kill the log is
//! reopened (recovering a torn tail if the kill left one), the chain
//! verifies, and every acknowledged sequence is in the log.

mod support;

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use icr_audit::{AuditConfig, AuditLog, VerifyOptions, verify_with};
use support::{files, temp_dir};

#[test]
fn every_acknowledged_append_survives_sigkill() {
    let dir = temp_dir("crash");
    let mut acknowledged: BTreeSet<u64> = BTreeSet::new();
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
        let round_acks: Vec<u64> = lines[1..].iter().map(|l| l.parse().unwrap()).collect();
        assert!(
            round_acks.len() > 50,
            "round {round}: only {} appends acknowledged",
            round_acks.len()
        );
        acknowledged.extend(&round_acks);

        // Reopen (recovering a torn tail, if any), then verify.
        let log = AuditLog::open(&AuditConfig::new(&dir)).unwrap();
        let head = log.head();
        drop(log);
        let mut in_log: BTreeSet<u64> = BTreeSet::new();
        let report = verify_with(&files(&dir), &VerifyOptions::default(), |_, _, e| {
            if e.access().is_some() {
                in_log.insert(e.seq.get());
            }
        })
        .unwrap();
        assert!(report.head.seq >= head.seq);
        let missing: Vec<&u64> = acknowledged.difference(&in_log).collect();
        assert!(
            missing.is_empty(),
            "round {round}: acknowledged but not in the log: {missing:?}"
        );
        eprintln!(
            "round {round} ({tasks} appenders): {} acknowledged this round, {} entries in the log, {} recoveries, {} files",
            round_acks.len(),
            report.entries,
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
