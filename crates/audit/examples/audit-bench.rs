//! Append throughput of the audit log with fsync, under 1, 8, 64 and 512
//! concurrent appenders, on this machine's disk.
//!
//!     cargo run -p icr-audit --release --example audit-bench -- [DIR] [SECONDS]
//!
//! DIR (default: a new directory under the system temp dir) must be on the
//! disk to measure; each level runs SECONDS (default 5) on a fresh log.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use icr_audit::{
    AuditConfig, AuditLog, AuditRecord, Basis, Decision, Interaction, ReasonCode, RequestId,
    SourceAsked, SourceStatus, Timestamp, User,
};
use icr_model::{NhsNumber, OdsCode, Section, SectionSet, SourceId};

fn record(task: usize, n: u64) -> AuditRecord {
    let sections: SectionSet = [
        Section::Allergies,
        Section::Medications,
        Section::Conditions,
        Section::Results,
    ]
    .into_iter()
    .collect();
    let source = |id: &str, status| SourceAsked {
        source: SourceId::parse(id).expect("valid source id"),
        status,
    };
    AuditRecord {
        time: Timestamp::now(),
        request_id: RequestId::parse(&format!("bench-{task}-{n}")).expect("valid id"),
        interaction: Interaction::Record,
        user: Some(User {
            issuer: Some("https://idp.example.nhs.uk".into()),
            sub: format!("user-{task}"),
            name: format!("Dr Bench Clinician {task}"),
            role: "R8000".into(),
            org: OdsCode::parse("RN3").expect("valid ODS code"),
        }),
        calling_system: Some("CN=portal.example.nhs.uk".into()),
        nhs_number: Some(NhsNumber::parse("9990000018").expect("valid NHS number")),
        purpose: "directcare".into(),
        break_glass_reason: None,
        basis: Basis::Involved,
        sections_requested: sections,
        sections_released: sections,
        sources: vec![
            source("gwh", SourceStatus::Ok),
            source("ruh", SourceStatus::Ok),
            source("sft", SourceStatus::NotFound),
            source("awp", SourceStatus::Timeout),
        ],
        items_released: 31,
        items_withheld: 2,
        shown: icr_audit::ReleasedRecords::NONE,
        decision: Decision::Allowed,
        reason: ReasonCode::parse("involved").expect("valid code"),
        http_status: 200,
    }
}

fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let base = args.next().map(PathBuf::from).unwrap_or_else(|| {
        std::env::temp_dir().join(format!("icr-audit-bench-{}", std::process::id()))
    });
    let seconds: u64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(5);
    println!("audit log append throughput, fdatasync per group commit, {seconds} s per level");
    println!("directory: {}", base.display());
    println!(
        "{:>10} {:>12} {:>10} {:>10} {:>10} {:>10} {:>12}",
        "appenders", "appends/s", "p50 ms", "p99 ms", "max ms", "fsyncs/s", "appends/fsync"
    );
    for &concurrency in &[1usize, 8, 64, 512] {
        let dir = base.join(format!("c{concurrency}"));
        let _ = std::fs::remove_dir_all(&dir);
        let log = AuditLog::open(&AuditConfig::new(&dir)).expect("open the log");
        let deadline = Instant::now() + Duration::from_secs(seconds);
        let start = Instant::now();
        let mut tasks = Vec::new();
        for task in 0..concurrency {
            let log = log.clone();
            tasks.push(tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut n = 0u64;
                while Instant::now() < deadline {
                    let r = record(task, n);
                    let t = Instant::now();
                    log.append(&r).await.expect("append");
                    latencies.push(t.elapsed().as_micros() as u64);
                    n += 1;
                }
                latencies
            }));
        }
        let mut all = Vec::new();
        for t in tasks {
            all.extend(t.await.expect("task"));
        }
        let elapsed = start.elapsed().as_secs_f64();
        log.close().await.expect("close");
        let stats = log.stats();
        all.sort_unstable();
        println!(
            "{:>10} {:>12.0} {:>10.2} {:>10.2} {:>10.2} {:>10.0} {:>12.1}",
            concurrency,
            all.len() as f64 / elapsed,
            percentile(&all, 0.50) as f64 / 1000.0,
            percentile(&all, 0.99) as f64 / 1000.0,
            all.last().copied().unwrap_or(0) as f64 / 1000.0,
            stats.syncs as f64 / elapsed,
            stats.appended as f64 / stats.syncs.max(1) as f64,
        );
        let report = icr_audit::verify(&log.files().expect("list files")).expect("verifies");
        assert_eq!(report.entries, all.len() as u64);
        let _ = std::fs::remove_dir_all(&dir);
    }
    let _ = std::fs::remove_dir_all(&base);
}
