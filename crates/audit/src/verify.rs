//! Verifying a log: every line against its own hash, every entry against
//! the one before it, across files, with the first problem reported by
//! file and line. Streaming: one line in memory at a time.

use std::collections::HashMap;
use std::fmt;
use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::{Path, PathBuf};

use crate::chain::{ChainPoint, Sequence};
use crate::files::{Line, LineReader, compare_paths, file_name, file_number};
use crate::line::{ChainError, ChainVerifier, Entry, Event, LineError, Recovery, parse_line};

/// What to verify against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VerifyOptions {
    /// The point the first entry must follow: [`ChainPoint::GENESIS`] (the
    /// default) for a whole log, or the last entry of an earlier, archived
    /// part.
    pub start: ChainPoint,
    /// An entry the log must contain and reach: a head recorded elsewhere
    /// earlier (from [`AuditLog::head`](crate::AuditLog::head)). Without
    /// one, a log cut at a line boundary (its last lines or last files
    /// removed) cannot be told from an older copy of itself.
    pub anchor: Option<ChainPoint>,
}

impl Default for VerifyOptions {
    fn default() -> Self {
        Self {
            start: ChainPoint::GENESIS,
            anchor: None,
        }
    }
}

/// What is wrong at a place in the log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProblemKind {
    /// The line is not a valid entry, or was altered.
    Line(LineError),
    /// The entry does not follow the one before it.
    Chain(ChainError),
    /// The file ends with an incomplete line (no newline).
    Torn {
        /// Bytes after the last newline.
        bytes: u64,
    },
    /// A log file is missing from the sequence of files.
    MissingFile {
        /// The name of the file that should be there.
        expected: String,
    },
    /// The log ends before the anchor.
    EndsEarly {
        /// The last entry found.
        found: ChainPoint,
        /// The anchor it should reach.
        anchor: ChainPoint,
    },
    /// The entry at the anchor's sequence has another hash.
    AnchorMismatch {
        /// The anchor.
        anchor: ChainPoint,
    },
}

impl fmt::Display for ProblemKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProblemKind::Line(e) => e.fmt(f),
            ProblemKind::Chain(e) => e.fmt(f),
            ProblemKind::Torn { bytes } => write!(
                f,
                "the file ends with an incomplete line ({bytes} bytes with no newline): it was truncated, or a write was interrupted"
            ),
            ProblemKind::MissingFile { expected } => {
                write!(f, "log file {expected} is missing before this file")
            }
            ProblemKind::EndsEarly { found, anchor } => write!(
                f,
                "the log ends at entry {} but should reach entry {} ({anchor}): it was truncated, or its last files are missing",
                found.seq, anchor.seq
            ),
            ProblemKind::AnchorMismatch { anchor } => write!(
                f,
                "entry {} does not have the anchored hash {}: the log was rewritten from here or before",
                anchor.seq, anchor.hash
            ),
        }
    }
}

/// The first problem found, and where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// The file.
    pub file: PathBuf,
    /// The 1-based line number (the last line, for a log that ends early).
    pub line: u64,
    /// What is wrong.
    pub kind: ProblemKind,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.file.display(), self.line, self.kind)
    }
}

/// One file's part of the log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileReport {
    /// The file.
    pub path: PathBuf,
    /// Valid entries in it.
    pub entries: u64,
    /// The first and last sequence numbers in it.
    pub range: Option<(Sequence, Sequence)>,
}

/// A torn tail that was moved aside at start-up, as its recovery entry says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecoveryNote {
    /// The file holding the recovery entry.
    pub file: PathBuf,
    /// Its line.
    pub line: u64,
    /// Its sequence number.
    pub seq: Sequence,
    /// What was moved aside.
    pub recovery: Recovery,
}

/// What was verified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifyReport {
    /// Each file, in chain order.
    pub files: Vec<FileReport>,
    /// Valid entries, all files together.
    pub entries: u64,
    /// Of which access records.
    pub accesses: u64,
    /// Recovery entries: crashes after which a torn tail was moved aside.
    pub recoveries: Vec<RecoveryNote>,
    /// The point the log was verified from.
    pub start: ChainPoint,
    /// The last valid entry (the log's head, when nothing is wrong).
    pub head: ChainPoint,
    /// Bytes of an incomplete last line that were left out without being a
    /// problem: only when reading a live log, whose writer may be mid-write
    /// ([`read_for_patient`](crate::read_for_patient)); `verify` treats them
    /// as a problem.
    pub unfinished_tail: u64,
}

impl fmt::Display for VerifyReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} file(s), {} entries ({} accesses, {} recoveries)",
            self.files.len(),
            self.entries,
            self.accesses,
            self.recoveries.len()
        )?;
        if self.entries > 0 {
            write!(
                f,
                ", sequence {} to {}",
                self.start.seq.get() + 1,
                self.head.seq
            )?;
        }
        writeln!(f)?;
        for file in &self.files {
            write!(f, "  {}: {} entries", file.path.display(), file.entries)?;
            if let Some((a, b)) = file.range {
                write!(f, " ({a} to {b})")?;
            }
            writeln!(f)?;
        }
        for r in &self.recoveries {
            writeln!(
                f,
                "  recovery at {}:{} (entry {}): after a crash, {} bytes of an incomplete line at offset {} of {} were moved to {} on {}",
                r.file.display(),
                r.line,
                r.seq,
                r.recovery.length,
                r.recovery.offset,
                r.recovery.file,
                r.recovery.saved_as,
                r.recovery.time
            )?;
        }
        write!(f, "head: {}", self.head)
    }
}

/// The verified part of a log that has a problem, and the problem.
#[derive(Debug)]
pub struct Failure {
    /// The first problem.
    pub problem: Problem,
    /// Everything verified before it.
    pub report: VerifyReport,
}

/// Why a log could not be verified.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
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
    /// The log is damaged, altered or incomplete.
    #[error("the audit log fails verification: {}", .0.problem)]
    Failed(Box<Failure>),
}

impl VerifyError {
    /// The problem found, if the log was read and failed.
    pub fn problem(&self) -> Option<&Problem> {
        match self {
            VerifyError::Failed(f) => Some(&f.problem),
            _ => None,
        }
    }
}

/// Verifies the log made of `paths` (given in any order: they are put in
/// the log's file order by name) from its genesis: every line must match
/// its hash, every entry follow the one before it (sequence and `prev`), no
/// file may be missing, and no file end with an incomplete line. The first
/// problem is reported with its file and line.
///
/// This is what `icr audit verify FILE…` runs: print the report on `Ok`,
/// print the error (and the report of what was verified before the problem)
/// and exit non-zero on `Err`.
pub fn verify(paths: &[PathBuf]) -> Result<VerifyReport, VerifyError> {
    verify_with(paths, &VerifyOptions::default(), |_, _, _| {})
}

/// [`verify`] with options, calling `visit(file, line, entry)` for every
/// valid entry in order: the streaming form for large logs and for tools
/// built on the log (it never holds more than one line in memory).
pub fn verify_with<F>(
    paths: &[PathBuf],
    options: &VerifyOptions,
    visit: F,
) -> Result<VerifyReport, VerifyError>
where
    F: FnMut(&Path, u64, &Entry),
{
    walk(
        paths,
        |p: &Path| File::open(p),
        Some(options.start),
        options.anchor,
        false,
        visit,
    )
}

/// [`verify_with`] over streams instead of files: each `(name, reader)`
/// is one file of the log, put in order by its name as files are. For logs
/// kept elsewhere (an archive, object storage) and for tests.
pub fn verify_streams<R, F>(
    files: Vec<(PathBuf, R)>,
    options: &VerifyOptions,
    visit: F,
) -> Result<VerifyReport, VerifyError>
where
    R: Read,
    F: FnMut(&Path, u64, &Entry),
{
    let paths: Vec<PathBuf> = files.iter().map(|(p, _)| p.clone()).collect();
    let mut streams: HashMap<PathBuf, R> = files.into_iter().collect();
    let open = |p: &Path| {
        streams.remove(p).ok_or_else(|| {
            io::Error::new(io::ErrorKind::InvalidInput, "the same name was given twice")
        })
    };
    walk(
        &paths,
        open,
        Some(options.start),
        options.anchor,
        false,
        visit,
    )
}

/// The walk shared by [`verify_with`] and the readers. Without `start`,
/// the chain is taken up from the first entry found (earlier files were
/// archived). With `live_tail`, an incomplete last line of the last file is
/// left out (a writer may be mid-write) rather than reported.
pub(crate) fn walk<R, O, F>(
    paths: &[PathBuf],
    mut open: O,
    start: Option<ChainPoint>,
    anchor: Option<ChainPoint>,
    live_tail: bool,
    mut visit: F,
) -> Result<VerifyReport, VerifyError>
where
    R: Read,
    O: FnMut(&Path) -> io::Result<R>,
    F: FnMut(&Path, u64, &Entry),
{
    if paths.is_empty() {
        return Err(VerifyError::NoFiles);
    }
    let mut paths = paths.to_vec();
    paths.sort_by(|a, b| compare_paths(a, b));
    paths.dedup();

    let mut report = VerifyReport {
        files: Vec::new(),
        entries: 0,
        accesses: 0,
        recoveries: Vec::new(),
        start: start.unwrap_or(ChainPoint::GENESIS),
        head: start.unwrap_or(ChainPoint::GENESIS),
        unfinished_tail: 0,
    };
    let mut chain = start.map(ChainVerifier::new);
    let fail = |report: VerifyReport, file: &Path, line: u64, kind: ProblemKind| {
        VerifyError::Failed(Box::new(Failure {
            problem: Problem {
                file: file.to_path_buf(),
                line,
                kind,
            },
            report,
        }))
    };

    let mut prev_number: Option<u64> = None;
    let mut last_line: (PathBuf, u64) = (paths[0].clone(), 0);
    let count = paths.len();
    for (i, path) in paths.iter().enumerate() {
        let number = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(file_number);
        let expected_number = match prev_number {
            Some(p) => Some(p + 1),
            None if start == Some(ChainPoint::GENESIS) => Some(1),
            None => None,
        };
        if let (Some(n), Some(e)) = (number, expected_number)
            && n > e
        {
            return Err(fail(
                report,
                path,
                1,
                ProblemKind::MissingFile {
                    expected: file_name(e),
                },
            ));
        }
        prev_number = number;

        let file = open(path).map_err(|source| VerifyError::Io {
            path: path.clone(),
            source,
        })?;
        let mut reader = LineReader::new(BufReader::with_capacity(64 * 1024, file));
        let mut file_report = FileReport {
            path: path.clone(),
            entries: 0,
            range: None,
        };
        let io_err = |source| VerifyError::Io {
            path: path.clone(),
            source,
        };
        loop {
            let line = reader.next_line().map_err(io_err)?;
            let Some(line) = line else { break };
            let (bytes, number) = match line {
                Line::Complete { bytes, number, .. } => (bytes, number),
                Line::Torn { len, number, .. } => {
                    if live_tail && i + 1 == count {
                        report.unfinished_tail = len;
                        break;
                    }
                    report.files.push(file_report);
                    return Err(fail(report, path, number, ProblemKind::Torn { bytes: len }));
                }
                Line::TooLong { number, .. } => {
                    report.files.push(file_report);
                    return Err(fail(
                        report,
                        path,
                        number,
                        ProblemKind::Line(LineError::TooLong),
                    ));
                }
            };
            let entry = match parse_line(bytes) {
                Ok(e) => e,
                Err(e) => {
                    report.files.push(file_report);
                    return Err(fail(report, path, number, ProblemKind::Line(e)));
                }
            };
            let chain = chain.get_or_insert_with(|| {
                let taken_up = ChainPoint {
                    seq: Sequence::new(entry.seq.get().saturating_sub(1)),
                    hash: entry.prev,
                };
                report.start = taken_up;
                ChainVerifier::new(taken_up)
            });
            if let Err(e) = chain.push(&entry) {
                report.files.push(file_report);
                return Err(fail(report, path, number, ProblemKind::Chain(e)));
            }
            if let Some(anchor) = anchor
                && anchor.seq == entry.seq
                && anchor.hash != entry.hash
            {
                report.files.push(file_report);
                return Err(fail(
                    report,
                    path,
                    number,
                    ProblemKind::AnchorMismatch { anchor },
                ));
            }
            visit(path, number, &entry);
            report.entries += 1;
            report.head = entry.point();
            file_report.entries += 1;
            file_report.range = Some(match file_report.range {
                Some((first, _)) => (first, entry.seq),
                None => (entry.seq, entry.seq),
            });
            match entry.event {
                Event::Access(_) => report.accesses += 1,
                Event::Recovery(recovery) => report.recoveries.push(RecoveryNote {
                    file: path.clone(),
                    line: number,
                    seq: entry.seq,
                    recovery,
                }),
            }
            last_line = (path.clone(), number);
        }
        report.files.push(file_report);
    }
    if let Some(anchor) = anchor
        && report.head.seq < anchor.seq
    {
        let (file, line) = last_line;
        let found = report.head;
        return Err(fail(
            report,
            &file,
            line,
            ProblemKind::EndsEarly { found, anchor },
        ));
    }
    Ok(report)
}
