//! The tamper-evident audit log: hash-chained JSON lines, group-committed
//! with fsync, verified.
//!
//! **Place in the request flow.** Nothing is released before a durable
//! record of who accessed whose record. A record request is recorded in
//! two entries: once the caller is authenticated and the policy lets them
//! ask (before any source is asked), the gateway queues an
//! [`AccessBegun`] with [`AuditLog::begin`] — who, whose record, why,
//! which sections — whose sync runs while the sources answer; after the
//! merge it awaits that entry's durability ([`Pending::durable`]), queues
//! the completion (the whole [`AuditRecord`]: outcome, status, sources,
//! counts, and the source records released — what the user was shown, by
//! id: [`ReleasedRecords`]) with [`AuditLog::complete`] *without waiting
//! for its sync* (it rides the next group commit), and releases. A refusal, and every other
//! access (audit reads, further pages), is one [`AuditRecord`] awaited
//! with [`AuditLog::append`] before it is answered. If an entry cannot be
//! queued or synced, the gateway answers 503 and releases nothing. A
//! crash between the two entries leaves an access whose outcome was not
//! recorded, which readers show as such ([`Logged::OutcomeNotRecorded`]).
//! This crate is the one place patient identifiers are written to disk, by
//! design (see `docs/audit.md`).
//!
//! **Format.** Append-only files `audit-000001.jsonl`, `audit-000002.jsonl`,
//! … in one directory, one entry per line (see [`line`](mod@line) for the exact
//! bytes and the format's versions). Each line carries its sequence number, `prev` (the previous
//! line's hash; [`EntryHash::GENESIS`] for the first) and `hash` (SHA-256 of
//! the line's canonical JSON without `hash`). The chain runs across files:
//! a new file is started when the next line would take the current one
//! past `max_file_bytes`, and its first line chains from the last line of
//! the file before.
//!
//! **Time.** The writer stamps each entry's `time` when it writes it: the
//! wall clock ([`Clock`]; [`SystemClock`] in production), or the previous
//! entry's time when the clock is behind it (stepped back) — counted in
//! [`AuditStats::clock_behind`] and warned about once per step. Entries'
//! times therefore never go backwards, across files and restarts, and the
//! verifier reports one that does ([`ProblemKind::TimeBackwards`]).
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
//! appended to the chain, with a warning (what was cut and where, never
//! what it said) and [`AuditStats::torn_tails_recovered`]. Any other damage
//! refuses to open.
//!
//! **The head, published.** A hash chain cannot tell a log cut at a line
//! boundary from an older copy of itself, so the head (sequence, hash,
//! file: no patient data) is published outside the log every
//! `head_every_s`, at start and at close: an `audit chain head` log line
//! and, with `anchor_file`, a line of that file ([`Anchor`]).
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
//! [`verify_with`] takes [`VerifyOptions`] (an archived start, heads
//! published earlier — [`read_anchors`] reads an anchor file — and a time
//! tolerance for logs written before times were kept in order) and visits
//! every entry while streaming.
//!
//! **Reading** (`GET /v1/audit?patient=…`): the log keeps an index by NHS
//! number (built by one scan in the background once the log is open,
//! extended on append; 32 bytes per access). [`AuditLog::reader`] takes
//! one of `max_concurrent_reads` permits (none free, or the index not yet
//! built: refuse with 503), and [`AuditReader::page`] reads
//! one page ([`AccessQuery`]: `_count`, a `before` cursor, dates) of that
//! person's lines only, newest first, on a blocking thread; then
//! [`audit_bundle`] makes a FHIR R4 searchset of
//! [`AuditEvent`](icr_fhir::AuditEvent)s. [`read_for_patient`] streams
//! whole files instead, for archives and tools. Either shows one access
//! per request ([`LoggedAccess`]): an access in two entries is indexed and
//! numbered by its begun entry and shown with its completion's record; one
//! whose completion is missing is shown as begun, its outcome not
//! recorded. The gateway awaits [`AuditLog::flushed`] before a read, so
//! that the completions queued before it are written first.

#![warn(missing_docs)]

mod chain;
mod clock;
mod fhir;
mod files;
mod head;
mod index;
pub mod line;
mod log;
mod query;
mod read;
mod record;
mod shown;
pub mod storage;
mod verify;

pub use chain::{ChainPoint, EntryHash, Sequence};
pub use clock::{Clock, SystemClock};
pub use fhir::{OUTCOME_NOT_RECORDED, Observer, audit_bundle, audit_event};
pub use files::{Line, LineReader, compare_paths, file_name, file_number, log_files};
pub use head::{Anchor, AnchorError, read_anchors};
pub use line::{
    ChainError, ChainVerifier, Entry, Event, LineError, MAX_LINE_BYTES, Recovery, parse_line, seal,
    seal_entry,
};
pub use log::{AuditConfig, AuditError, AuditLog, AuditStats, LogEnv, NoReader, Pending};
pub use query::{
    AccessQuery, DEFAULT_PAGE, DateRange, MAX_PAGE, MAX_PAGE_BYTES, QueryError, page_count,
};
pub use read::{
    AccessPage, AuditReader, Incomplete, Logged, LoggedAccess, PatientAccesses, ReadError,
    read_for_patient,
};
pub use record::{
    AccessBegun, AuditRecord, Basis, Decision, Interaction, ReasonCode, RequestId, SourceAsked,
    SourceStatus, Timestamp, User,
};
pub use shown::{MAX_SHOWN_ID_BYTES, ReleasedRecords, SourceRecords};
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

/// Checks arbitrary bytes as the outside data the audit's readers take:
/// as a query's search parameters (`k=v&…`, through
/// [`AccessQuery::from_params`]) and as an anchor file ([`read_anchors`]).
/// Returns whether a query it accepted writes back (for `next` links) to
/// the same query — true when none was accepted. The entry point for
/// fuzzing; it must never panic.
pub fn fuzz_search(data: &[u8]) -> bool {
    let text = String::from_utf8_lossy(data);
    let pairs: Vec<(&str, &str)> = text
        .split('&')
        .map(|p| p.split_once('=').unwrap_or((p, "")))
        .collect();
    if let Ok(q) = AccessQuery::from_params(pairs.iter().copied()) {
        let again: Vec<(String, String)> = q
            .to_query()
            .split('&')
            .filter_map(|p| p.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        let back = AccessQuery::from_params(again.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        let _ = read_anchors(data);
        return back == Ok(q);
    }
    let _ = read_anchors(data);
    true
}
