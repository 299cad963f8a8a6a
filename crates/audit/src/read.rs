//! Reading the log for one patient: who accessed their record, when, from
//! which organisation and why — for privacy officers, and for patients
//! about their own record. The live log is read a page at a time through
//! its index ([`AuditReader`]); [`read_for_patient`] streams whole files
//! (archives, tools).

use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use icr_model::NhsNumber;

use crate::chain::{ChainPoint, Sequence};
use crate::files::{file_name, file_number};
use crate::index::{Index, Position};
use crate::line::{Entry, Event, MAX_LINE_BYTES, parse_line};
use crate::query::{AccessQuery, MAX_PAGE_BYTES};
use crate::record::{AccessBegun, AuditRecord};
use crate::verify::{Problem, ProblemKind, VerifyError, Walk, walk};

/// One access as read from the log: one request, whether it was recorded
/// in one entry or begun and completed in two.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoggedAccess {
    /// Its first entry's sequence number in the log (the begun entry's,
    /// for an access in two): it identifies the access, and pages by it.
    pub seq: Sequence,
    /// The replica whose log holds it, when read from the shared audit
    /// store (where sequences are per replica); `None`: this gateway's own
    /// log.
    pub replica: Option<String>,
    /// What is recorded of it.
    pub logged: Logged,
}

/// What is recorded of one access.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Logged {
    /// The whole access, outcome included: one entry, or a begun entry and
    /// its completion (this is the completion's record).
    Whole(AuditRecord),
    /// An access begun whose completion is not in the log: it was in
    /// progress when read, or the gateway stopped (a crash) before
    /// recording its outcome. It may have been answered — never shown as
    /// refused, nor left out.
    OutcomeNotRecorded(AccessBegun),
}

impl LoggedAccess {
    /// A whole access, as entry `seq`.
    pub fn whole(seq: Sequence, record: AuditRecord) -> Self {
        Self {
            seq,
            replica: None,
            logged: Logged::Whole(record),
        }
    }

    /// Its id among every access shown: the sequence, prefixed by the
    /// replica when it is from the shared store (`icr-1.42`).
    pub fn id(&self) -> String {
        match &self.replica {
            Some(r) => format!("{r}.{}", self.seq),
            None => self.seq.to_string(),
        }
    }

    /// The whole record, if its outcome was recorded.
    pub fn record(&self) -> Option<&AuditRecord> {
        match &self.logged {
            Logged::Whole(r) => Some(r),
            Logged::OutcomeNotRecorded(_) => None,
        }
    }

    /// The access `entry` shows at position `seq` for `nhs`: a whole access
    /// (at `seq`, or completing the begun one there), or a begun one.
    fn at(seq: Sequence, entry: Entry, nhs: &NhsNumber) -> Option<Self> {
        let logged = match entry.event {
            Event::Access(r)
                if (entry.seq == seq || entry.completes == Some(seq))
                    && r.nhs_number.as_ref() == Some(nhs) =>
            {
                Logged::Whole(*r)
            }
            Event::Begun(b) if entry.seq == seq && b.nhs_number == *nhs => {
                Logged::OutcomeNotRecorded(*b)
            }
            _ => return None,
        };
        Some(Self {
            seq,
            replica: None,
            logged,
        })
    }
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
    /// The read was stopped before it finished (its thread was cancelled
    /// or panicked).
    #[error("the read of the audit log was interrupted")]
    Interrupted,
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
    // The first of this person's entries read: a completion of an earlier
    // begun entry (archived away) is an access of its own.
    let mut first: Option<Sequence> = None;
    let how = Walk {
        start,
        anchors: &[],
        time_tolerance: None,
        live_tail: true,
    };
    let result = walk(
        paths,
        |p: &std::path::Path| std::fs::File::open(p),
        &how,
        |_, entry| {
            if entry.nhs_number().as_ref() != Some(nhs) {
                return;
            }
            if let (Some(begun), Some(record)) = (entry.completes, entry.access()) {
                // Its begun access, shown whole; if that was left out for
                // the limit, so is this.
                if let Some(a) = records.iter_mut().rev().find(|a| a.seq == begun) {
                    a.logged = Logged::Whole(record.clone());
                    return;
                }
                if first.is_some_and(|f| begun >= f) {
                    return;
                }
            }
            first.get_or_insert(entry.seq);
            if max_records == 0 {
                omitted += 1;
                return;
            }
            if records.len() == max_records {
                records.pop_front();
                omitted += 1;
            }
            let access = match &entry.event {
                Event::Begun(b) => Logged::OutcomeNotRecorded((**b).clone()),
                Event::Access(r) => Logged::Whole((**r).clone()),
                Event::Recovery(_) => return,
            };
            records.push_back(LoggedAccess {
                seq: entry.seq,
                replica: None,
                logged: access,
            });
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

/// One page of a person's accesses, newest first, as the log's index finds
/// them (see [`AuditLog::reader`](crate::AuditLog::reader)).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccessPage {
    /// The accesses on this page, most recent first.
    pub records: Vec<LoggedAccess>,
    /// Accesses matching the query's dates in the whole log, on every page.
    pub total: u64,
    /// Matching accesses older than this page's last: on later pages.
    pub older: u64,
    /// The cursor for the next (older) page: ask again with `before` set
    /// to it. `None` on the last page. (On a page from the shared store,
    /// whose cursor is the store's, this is the last access's sequence: it
    /// says only that there is a next page.)
    pub next: Option<Sequence>,
    /// Why the trail may be incomplete, if it may: the log failed
    /// verification when it was opened, or a line on this page is not as
    /// it was indexed. Must be shown.
    pub problem: Option<Problem>,
    /// Why a page read from the shared audit store may be missing
    /// accesses, if it may. Must be shown.
    pub incomplete: Vec<Incomplete>,
}

impl AccessPage {
    /// Whether this page shows every matching access and the log is
    /// intact: no later page, no problem, nothing possibly missing.
    pub fn is_complete(&self) -> bool {
        self.problem.is_none() && self.next.is_none() && self.incomplete.is_empty()
    }
}

/// Why a page read from the shared audit store (or instead of it) may be
/// missing accesses that other replicas served.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Incomplete {
    /// Replica `replica`'s log has not been wholly fed into the store since
    /// `since` (`None`: not yet at all): its later accesses may be missing.
    Behind {
        /// The replica.
        replica: String,
        /// Since when its accesses may be missing.
        since: Option<crate::Timestamp>,
    },
    /// The store could not be read: the page is this replica's own log
    /// only, and accesses other replicas served are not shown.
    StoreUnavailable {
        /// The replica whose log is shown.
        replica: String,
    },
}

impl std::fmt::Display for Incomplete {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Incomplete::Behind {
                replica,
                since: Some(t),
            } => write!(
                f,
                "accesses served by gateway replica {replica} after {} may not be shown yet: its audit log has not reached the shared audit store since then",
                t.to_rfc3339()
            ),
            Incomplete::Behind {
                replica,
                since: None,
            } => write!(
                f,
                "accesses served by gateway replica {replica} may not be shown yet: its audit log has not reached the shared audit store"
            ),
            Incomplete::StoreUnavailable { replica } => write!(
                f,
                "the shared audit store cannot be read: only the accesses served by gateway replica {replica} are shown, and those served by other replicas are missing"
            ),
        }
    }
}

impl From<PatientAccesses> for AccessPage {
    /// The most recent accesses read by [`read_for_patient`] as one page.
    fn from(a: PatientAccesses) -> Self {
        let next = (a.omitted > 0)
            .then(|| a.records.first().map(|r| r.seq))
            .flatten();
        AccessPage {
            total: a.records.len() as u64 + a.omitted,
            older: a.omitted,
            next,
            records: a.records.into_iter().rev().collect(),
            problem: a.problem,
            incomplete: Vec::new(),
        }
    }
}

/// A permit to read the log, taken from the log's small pool of concurrent
/// reads (`[audit] max_concurrent_reads`): reads are bounded whoever makes
/// them. Reading consumes it.
pub struct AuditReader {
    pub(crate) _permit: tokio::sync::OwnedSemaphorePermit,
    pub(crate) index: std::sync::Arc<crate::index::Index>,
    pub(crate) dir: PathBuf,
}

impl std::fmt::Debug for AuditReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditReader")
            .field("dir", &self.dir)
            .finish()
    }
}

impl AuditReader {
    /// One page of `nhs`'s accesses: the index gives their positions, and
    /// only those lines are read (each checked against its own hash and
    /// against what was indexed), on a blocking thread, at most
    /// [`query.count`](AccessQuery::count) of them and at most
    /// [`MAX_PAGE_BYTES`] of lines.
    pub async fn page(self, nhs: NhsNumber, query: AccessQuery) -> Result<AccessPage, ReadError> {
        tokio::task::spawn_blocking(move || read_page(&self.index, &self.dir, &nhs, &query))
            .await
            .map_err(|_| ReadError::Interrupted)
    }
}

/// Reads the lines of one page.
fn read_page(index: &Index, dir: &Path, nhs: &NhsNumber, query: &AccessQuery) -> AccessPage {
    let selection = index.select(nhs, query);
    let mut page = AccessPage {
        records: Vec::with_capacity(selection.positions.len()),
        total: selection.total,
        older: selection.older,
        next: None,
        problem: selection.problem,
        incomplete: Vec::new(),
    };
    let mut open: Option<(u32, BufReader<File>)> = None;
    let mut bytes = 0usize;
    let mut line = Vec::new();
    let mut read_problem = None;
    let count = selection.positions.len();
    // Positions read, the last of which is the cursor for the next page.
    let mut read = 0usize;
    for (i, p) in selection.positions.iter().enumerate() {
        read = i;
        let path = dir.join(file_name(u64::from(p.file)));
        let not_as_indexed = |kind| Problem {
            file: path.clone(),
            line: u64::from(p.line),
            kind,
        };
        let checked = match read_line_at(&mut open, &path, p, &mut line) {
            Ok(()) => parse_line(&line).map_err(ProblemKind::Line).and_then(|e| {
                LoggedAccess::at(Sequence::new(p.seq), e, nhs).ok_or(ProblemKind::NotAsIndexed)
            }),
            Err(_) => Err(ProblemKind::NotAsIndexed),
        };
        match checked {
            Ok(access) => {
                bytes += line.len();
                page.records.push(access);
            }
            // Left out, and the page says why it is incomplete.
            Err(kind) => {
                read_problem.get_or_insert_with(|| not_as_indexed(kind));
            }
        }
        if bytes >= MAX_PAGE_BYTES && i + 1 < count {
            page.older += (count - i - 1) as u64;
            break;
        }
    }
    if page.older > 0 {
        page.next = selection.positions.get(read).map(|p| Sequence::new(p.seq));
    }
    if read_problem.is_some() {
        page.problem = read_problem;
    }
    page
}

/// Reads the line at `p` into `out` (without its newline), reusing the
/// file opened for the previous line when it is the same file.
fn read_line_at(
    open: &mut Option<(u32, BufReader<File>)>,
    path: &Path,
    p: &Position,
    out: &mut Vec<u8>,
) -> io::Result<()> {
    let reader = match open {
        Some((n, r)) if *n == p.file => r,
        _ => {
            &mut open
                .insert((
                    p.file,
                    BufReader::with_capacity(8 * 1024, File::open(path)?),
                ))
                .1
        }
    };
    reader.seek(SeekFrom::Start(p.offset))?;
    out.clear();
    let n = reader
        .take(MAX_LINE_BYTES as u64 + 1)
        .read_until(b'\n', out)?;
    if n == 0 || out.pop() != Some(b'\n') {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "no complete line at the indexed offset",
        ));
    }
    Ok(())
}
