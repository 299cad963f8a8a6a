//! Reading the log for one patient: who accessed their record, when, from
//! which organisation and why — for privacy officers, and for patients
//! about their own record.

use std::collections::VecDeque;
use std::io;
use std::path::PathBuf;

use icr_model::NhsNumber;

use crate::chain::{ChainPoint, Sequence};
use crate::files::file_number;
use crate::record::AuditRecord;
use crate::verify::{Problem, VerifyError, walk};

/// One access record as read from the log, with its sequence number.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoggedAccess {
    /// Its sequence number in the log.
    pub seq: Sequence,
    /// The record.
    pub record: AuditRecord,
}

/// The accesses to one patient's record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PatientAccesses {
    /// The most recent accesses, oldest first (at most the limit asked for).
    pub records: Vec<LoggedAccess>,
    /// Older accesses left out because of the limit.
    pub omitted: u64,
    /// Where the log fails verification, if it does: the records are those
    /// read before that point, and must be presented as incomplete.
    pub problem: Option<Problem>,
}

impl PatientAccesses {
    /// Whether every access in the log is included: the log verified and
    /// nothing was left out for the limit.
    pub fn is_complete(&self) -> bool {
        self.problem.is_none() && self.omitted == 0
    }
}

/// Why the log could not be read at all.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// No files were given.
    #[error("no audit log files given")]
    NoFiles,
    /// A file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
}

/// The accesses to `nhs`'s record in the log made of `paths` (any order; see
/// [`AuditLog::files`](crate::AuditLog::files)), keeping the most recent
/// `max_records`. Streaming and bounded: one line and at most `max_records`
/// records in memory.
///
/// The chain is verified while reading, from the genesis when the first
/// file is `audit-000001.jsonl`, else from the first entry found (earlier
/// files archived). A problem stops the reading and is returned with what
/// was read before it. An incomplete last line of the newest file is left
/// out without being a problem: the writer may be writing it, and it is
/// not acknowledged. Blocking: call it from `spawn_blocking`.
pub fn read_for_patient(
    paths: &[PathBuf],
    nhs: &NhsNumber,
    max_records: usize,
) -> Result<PatientAccesses, ReadError> {
    let from_genesis = paths
        .iter()
        .any(|p| p.file_name().and_then(|n| n.to_str()).and_then(file_number) == Some(1));
    let start = from_genesis.then_some(ChainPoint::GENESIS);
    let mut records: VecDeque<LoggedAccess> = VecDeque::new();
    let mut omitted = 0u64;
    let result = walk(
        paths,
        |p: &std::path::Path| std::fs::File::open(p),
        start,
        None,
        true,
        |_, _, entry| {
            if let Some(record) = entry.access()
                && record.nhs_number.as_ref() == Some(nhs)
            {
                if max_records == 0 {
                    omitted += 1;
                } else {
                    if records.len() == max_records {
                        records.pop_front();
                        omitted += 1;
                    }
                    records.push_back(LoggedAccess {
                        seq: entry.seq,
                        record: record.clone(),
                    });
                }
            }
        },
    );
    let problem = match result {
        Ok(_) => None,
        Err(VerifyError::Failed(f)) => Some(f.problem),
        Err(VerifyError::NoFiles) => return Err(ReadError::NoFiles),
        Err(VerifyError::Io { path, source }) => return Err(ReadError::Io { path, source }),
    };
    Ok(PatientAccesses {
        records: records.into(),
        omitted,
        problem,
    })
}
