//! Shared test support: fresh log directories and synthetic access records
//! (NHS numbers from the 999 test range).
#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use icr_audit::{
    AuditRecord, Basis, Decision, Interaction, ReasonCode, RequestId, SourceAsked, SourceStatus,
    Timestamp, User,
};
use icr_model::{NhsNumber, OdsCode, Section, SectionSet, SourceId};

/// A new, empty directory (mode 0700) for one test's log.
pub fn temp_dir(name: &str) -> PathBuf {
    static N: AtomicU64 = AtomicU64::new(0);
    let base = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("icr-audit-tests");
    let dir = base.join(format!(
        "{name}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&base, std::fs::Permissions::from_mode(0o700)).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    }
    dir
}

/// The `i`-th valid NHS number of the 999 test range.
pub fn nhs(i: u32) -> NhsNumber {
    (0..)
        .filter_map(|k| NhsNumber::from_first_nine(999_000_000 + i * 11 + k))
        .next()
        .unwrap()
}

/// A synthetic allowed access by a clinician to patient `patient`, varied
/// by `i`.
pub fn record(i: u32, patient: u32) -> AuditRecord {
    let sections: SectionSet = [
        Section::Allergies,
        Section::Medications,
        Section::Conditions,
    ]
    .into_iter()
    .collect();
    AuditRecord {
        time: Timestamp::parse(&format!(
            "2026-11-26T09:{:02}:{:02}.{:06}Z",
            (i / 60) % 60,
            i % 60,
            i * 7 % 1_000_000
        ))
        .unwrap(),
        request_id: RequestId::parse(&format!("req-{i:08}")).unwrap(),
        interaction: Interaction::Record,
        user: Some(User {
            issuer: None,
            sub: format!("user-{}", i % 17),
            name: format!("Dr Test Clinician {}", i % 17),
            role: "R8000".into(),
            org: OdsCode::parse("RN3").unwrap(),
        }),
        calling_system: None,
        nhs_number: Some(nhs(patient)),
        purpose: "directcare".into(),
        break_glass_reason: None,
        basis: Basis::Involved,
        sections_requested: sections,
        sections_released: sections,
        sources: vec![
            SourceAsked {
                source: SourceId::parse("gwh").unwrap(),
                status: SourceStatus::Ok,
            },
            SourceAsked {
                source: SourceId::parse("ruh").unwrap(),
                status: SourceStatus::NotFound,
            },
        ],
        items_released: i % 40,
        items_withheld: i % 3,
        shown: icr_audit::ReleasedRecords::NONE,
        decision: Decision::Allowed,
        reason: ReasonCode::parse("involved").unwrap(),
        http_status: 200,
    }
}

/// A refused access: not involved in the patient's care.
pub fn refused(i: u32, patient: u32) -> AuditRecord {
    AuditRecord {
        basis: Basis::None,
        sections_released: SectionSet::EMPTY,
        sources: Vec::new(),
        items_released: 0,
        items_withheld: 0,
        shown: icr_audit::ReleasedRecords::NONE,
        decision: Decision::Refused,
        reason: ReasonCode::parse("not-involved").unwrap(),
        http_status: 403,
        ..record(i, patient)
    }
}

/// The log files of `dir`, in order.
pub fn files(dir: &std::path::Path) -> Vec<PathBuf> {
    icr_audit::log_files(dir).unwrap()
}

/// Where a test's log lines (`tracing`) go: a shared buffer.
#[derive(Clone, Default)]
pub struct LogBuffer(pub std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for LogBuffer {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl LogBuffer {
    /// A subscriber writing `info` and above, as text, to this buffer.
    pub fn subscriber(&self) -> impl tracing::Subscriber + Send + Sync + 'static {
        let writer = self.clone();
        tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .with_max_level(tracing::Level::INFO)
            .finish()
    }

    /// What was logged so far.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

/// What the code under test logs (`tracing`), as text, while `f` runs on
/// this thread.
pub fn logged<T>(f: impl FnOnce() -> T) -> (T, String) {
    let buffer = LogBuffer::default();
    let out = tracing::subscriber::with_default(buffer.subscriber(), f);
    (out, buffer.text())
}

/// The byte offset where each line of `bytes` starts.
pub fn line_starts(bytes: &[u8]) -> Vec<usize> {
    std::iter::once(0)
        .chain(
            bytes
                .iter()
                .enumerate()
                .filter(|(_, b)| **b == b'\n')
                .map(|(i, _)| i + 1),
        )
        .collect()
}

/// A wall clock stopped at one time.
pub struct FixedClock(pub Timestamp);

impl icr_audit::Clock for FixedClock {
    fn now(&self) -> Timestamp {
        self.0
    }
}

/// Opens the log with its clock stopped at `time` (RFC 3339, UTC): every
/// entry is stamped with it.
pub fn open_at(config: &icr_audit::AuditConfig, time: &str) -> icr_audit::AuditLog {
    icr_audit::AuditLog::open_in(
        config,
        icr_audit::LogEnv {
            clock: std::sync::Arc::new(FixedClock(Timestamp::parse(time).unwrap())),
            ..icr_audit::LogEnv::default()
        },
    )
    .unwrap()
}

/// A permit to read `log`, once its index is built (within a generous
/// bound).
pub async fn reader(log: &icr_audit::AuditLog) -> icr_audit::AuditReader {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        match log.reader() {
            Ok(r) => return r,
            Err(icr_audit::NoReader::Indexing) if std::time::Instant::now() < deadline => {
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
            Err(e) => panic!("no reader: {e}"),
        }
    }
}
