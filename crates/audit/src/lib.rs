//! The tamper-evident audit log: hash-chained JSON lines, group-committed
//! with fsync, verified.
//!
//! **Place in the request flow.** After the policy has decided and the
//! record is merged, and *before* anything is released, the gateway builds
//! one [`AuditRecord`] per request — allowed or refused — and awaits
//! [`AuditLog::append`]. Only when it returns `Ok` (the line is written and
//! `fdatasync`ed) is the answer sent; if it fails, the gateway answers 503
//! and releases nothing. This crate is the one place patient identifiers
//! are written to disk, by design (see `docs/audit.md`).
//!
//! **Format.** Append-only files `audit-000001.jsonl`, `audit-000002.jsonl`,
//! … in one directory, one entry per line (see [`line`](mod@line) for the exact
//! bytes). Each line carries its sequence number, `prev` (the previous
//! line's hash; [`EntryHash::GENESIS`] for the first) and `hash` (SHA-256 of
//! the line's canonical JSON without `hash`). The chain runs across files:
//! a new file is started when the next line would take the current one
//! past `max_file_bytes`, and its first line chains from the last line of
//! the file before.
//!
//! **Durability.** One writer thread drains a bounded queue, writes every
//! pending line, syncs once and then answers every waiter (group commit).
//! A failed write or sync *poisons* the log: every later append fails until
//! the process restarts, because after a failed `fsync` the kernel may have
//! dropped the dirty pages, so neither the file's durable content nor the
//! chain's head can be known in-process; a restart re-reads the file and
//! resumes from what is really there. At start-up [`AuditLog::open`]
//! resumes from the last complete line of the newest file; an incomplete
//! last line (a write cut off by a crash) is moved aside to
//! `audit-NNNNNN.jsonl.torn-SEQ` and a `recovery` entry recording it is
//! appended to the chain. Any other damage refuses to open.
//!
//! **Verifying** (`icr audit verify FILE…`): call [`verify`] with the files
//! in any order; print the [`VerifyReport`] on `Ok` and exit 0; on `Err`
//! print the error (for [`VerifyError::Failed`], also the report of what
//! was verified before the problem) and exit non-zero:
//!
//! ```no_run
//! # use std::path::PathBuf;
//! fn audit_verify(files: &[PathBuf]) -> std::process::ExitCode {
//!     match icr_audit::verify(files) {
//!         Ok(report) => {
//!             println!("audit log verified: {report}");
//!             std::process::ExitCode::SUCCESS
//!         }
//!         Err(icr_audit::VerifyError::Failed(failure)) => {
//!             eprintln!("audit log FAILS verification: {}", failure.problem);
//!             eprintln!("verified before the problem: {}", failure.report);
//!             std::process::ExitCode::FAILURE
//!         }
//!         Err(e) => {
//!             eprintln!("{e}");
//!             std::process::ExitCode::from(2)
//!         }
//!     }
//! }
//! ```
//!
//! [`verify_with`] takes [`VerifyOptions`] (an archived start, an anchor
//! head recorded elsewhere) and visits every entry while streaming.
//!
//! **Reading** (`GET /v1/audit?patient=…`): [`read_for_patient`] over
//! [`AuditLog::files`] (from `spawn_blocking`), then [`audit_bundle`] for a
//! FHIR R4 searchset of [`AuditEvent`](icr_fhir::AuditEvent)s.

#![warn(missing_docs)]

mod chain;
mod fhir;
mod files;
pub mod line;
mod log;
mod read;
mod record;
pub mod storage;
mod verify;

pub use chain::{ChainPoint, EntryHash, Sequence};
pub use fhir::{Observer, audit_bundle, audit_event};
pub use files::{compare_paths, file_name, file_number, log_files};
pub use line::{
    ChainError, ChainVerifier, Entry, Event, LineError, MAX_LINE_BYTES, Recovery, parse_line, seal,
};
pub use log::{AuditConfig, AuditError, AuditLog, AuditStats};
pub use read::{LoggedAccess, PatientAccesses, ReadError, read_for_patient};
pub use record::{
    AuditRecord, Basis, Decision, Interaction, ReasonCode, RequestId, SourceAsked, SourceStatus,
    Timestamp, User,
};
pub use verify::{
    Failure, FileReport, Problem, ProblemKind, RecoveryNote, VerifyError, VerifyOptions,
    VerifyReport, verify, verify_streams, verify_with,
};

/// Checks arbitrary bytes as a log: line by line through the parser and
/// the chain check, then as two log files (split where the first two bytes
/// say) through [`verify_streams`], rendering any report or problem. The
/// entry point for fuzzing; it must never panic.
pub fn fuzz_log(data: &[u8]) {
    let mut chain = ChainVerifier::new(ChainPoint::GENESIS);
    for line in data.split(|b| *b == b'\n') {
        if let Ok(entry) = parse_line(line) {
            let _ = chain.push(&entry);
        }
    }
    let split = match data {
        [a, b, ..] => usize::from(u16::from_le_bytes([*a, *b])).min(data.len()),
        _ => 0,
    };
    let (first, second) = data.split_at(split);
    let files = vec![
        (std::path::PathBuf::from("audit-000001.jsonl"), first),
        (std::path::PathBuf::from("audit-000002.jsonl"), second),
    ];
    let mut seen = 0u64;
    let _ = match verify_streams(files, &VerifyOptions::default(), |_, _, _| seen += 1) {
        Ok(report) => report.to_string(),
        Err(e) => e.to_string(),
    };
}
