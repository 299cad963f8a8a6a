//! Test helper for `tests/crash.rs` (not an operator tool): opens the audit
//! log in the directory given, then records accesses from many tasks at
//! once, for ever, as the gateway does: each task begins an access, waits
//! for it to be durable, prints `b TASK SEQ`, queues its completion
//! without waiting and prints `c TASK SEQ` (SEQ: the begun entry's), then
//! begins the next. A printed `b` is an entry the log promised was on
//! disk; a `c` followed by a later `b` of the same task is a completion
//! queued before an entry the log promised was on disk. The test kills it
//! with SIGKILL mid-run.
//!
//! Usage: `icr-audit-crash DIR [TASKS]` (default 32 tasks). The first line
//! printed is `head SEQ`, where the chain stood after opening.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use icr_audit::{
    AuditConfig, AuditLog, AuditRecord, Basis, Decision, Interaction, ReasonCode, RequestId,
    SourceAsked, SourceStatus, Timestamp, User,
};
use icr_model::{NhsNumber, OdsCode, Section, SectionSet, SourceId};

fn record(task: u32, n: u64) -> Option<AuditRecord> {
    let sections: SectionSet = [Section::Allergies, Section::Medications]
        .into_iter()
        .collect();
    Some(AuditRecord {
        time: Timestamp::now(),
        request_id: RequestId::parse(&format!("crash-{task}-{n}"))?,
        interaction: Interaction::Record,
        user: Some(User {
            issuer: None,
            sub: format!("user-{task}"),
            name: format!("Test User {task}"),
            role: "R8000".into(),
            org: OdsCode::parse("RN3").ok()?,
        }),
        calling_system: None,
        nhs_number: Some(NhsNumber::parse("9990000018").ok()?),
        purpose: "directcare".into(),
        break_glass_reason: None,
        basis: Basis::Involved,
        sections_requested: sections,
        sections_released: sections,
        sources: vec![SourceAsked {
            source: SourceId::parse("gwh").ok()?,
            status: SourceStatus::Ok,
        }],
        items_released: 3,
        items_withheld: 0,
        shown: icr_audit::ReleasedRecords::NONE,
        decision: Decision::Allowed,
        reason: ReasonCode::parse("involved")?,
        http_status: 200,
    })
}

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let Some(dir) = args.next().map(PathBuf::from) else {
        eprintln!("usage: icr-audit-crash DIR [TASKS]");
        return ExitCode::from(2);
    };
    let tasks: u32 = args.next().and_then(|t| t.parse().ok()).unwrap_or(32);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async move {
        let config = AuditConfig {
            max_file_bytes: 256 * 1024,
            ..AuditConfig::new(&dir)
        };
        let log = match AuditLog::open(&config) {
            Ok(l) => l,
            Err(e) => {
                eprintln!("{e}");
                return ExitCode::FAILURE;
            }
        };
        let out = Arc::new(Mutex::new(std::io::stdout()));
        {
            let mut o = out.lock().unwrap_or_else(|e| e.into_inner());
            let _ = writeln!(o, "head {}", log.head().seq);
            let _ = o.flush();
        }
        let mut handles = Vec::new();
        for task in 0..tasks {
            let (log, out) = (log.clone(), out.clone());
            handles.push(tokio::spawn(async move {
                let print = |line: String| {
                    let mut o = out.lock().unwrap_or_else(|e| e.into_inner());
                    writeln!(o, "{line}").and_then(|()| o.flush()).is_ok()
                };
                for n in 0.. {
                    let Some(r) = record(task, n) else { return };
                    let Some(begun) = r.begun() else { return };
                    let seq = match log.begin(&begun) {
                        Ok(pending) => pending.durable().await,
                        Err(e) => Err(e),
                    };
                    let seq = match seq {
                        Ok(seq) => seq,
                        Err(e) => {
                            eprintln!("begin failed: {e}");
                            return;
                        }
                    };
                    if !print(format!("b {task} {seq}")) {
                        return;
                    }
                    if let Err(e) = log.complete(&r, seq) {
                        eprintln!("complete failed: {e}");
                        return;
                    }
                    if !print(format!("c {task} {seq}")) {
                        return;
                    }
                }
            }));
        }
        for h in handles {
            let _ = h.await;
        }
        ExitCode::SUCCESS
    })
}
