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
use crate::record::Timestamp;

/// What to verify against.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifyOptions {
    /// The point the first entry must follow: [`ChainPoint::GENESIS`] (the
    /// default) for a whole log, or the last entry of an earlier, archived
    /// part.
    pub start: ChainPoint,
    /// Entries the log must contain, each with its hash, and reach: heads
    /// published elsewhere earlier (the `audit chain head` log lines, the
    /// anchor file, `GET /v1/audit/head`; see [`Anchor`](crate::Anchor)).
    /// Without them, a log cut at a line boundary (its last lines or last
    /// files removed) cannot be told from an older copy of itself. Anchors
    /// before `start` cannot be checked and are counted as such.
    pub anchors: Vec<ChainPoint>,
    /// How far an entry's time may be before the previous entry's without
    /// being a problem. Zero (the default): entries' times never go
    /// backwards, as the log writes them. Logs written before the log
    /// stamped times itself hold the time each request *started*, so
    /// concurrent requests' entries may step back by up to a request's
    /// deadline: verify those with that much tolerance.
    pub time_tolerance: std::time::Duration,
}

impl Default for VerifyOptions {
    fn default() -> Self {
        Self {
            start: ChainPoint::GENESIS,
            anchors: Vec::new(),
            time_tolerance: std::time::Duration::ZERO,
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
    /// The entry's time is before the previous entry's.
    TimeBackwards {
        /// The previous entry's time.
        previous: Timestamp,
        /// This entry's time.
        found: Timestamp,
    },
    /// The entry is not what was indexed when the log was opened (found
    /// when reading the live log): its file was removed, cut or rewritten
    /// while the gateway ran.
    NotAsIndexed,
    /// The file could not be read (when indexing the live log).
    Unreadable {
        /// The I/O error.
        why: String,
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
            ProblemKind::TimeBackwards { previous, found } => write!(
                f,
                "the entry's time {found} is before the previous entry's {previous}: the log keeps entries' times in order even when the clock is stepped back, so this entry was altered or inserted (or written by a version that did not stamp times: see --time-tolerance)"
            ),
            ProblemKind::NotAsIndexed => f.write_str(
                "the entry is not the one indexed when the log was opened: its file was removed, cut or rewritten since",
            ),
            ProblemKind::Unreadable { why } => write!(f, "the file could not be read: {why}"),
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
    /// Of which access records (whole accesses, and completions of begun
    /// ones).
    pub accesses: u64,
    /// Of which accesses begun (the first of an access's two entries).
    pub begun: u64,
    /// Of the access records, completions of a begun access: `begun -
    /// completions` accesses have no outcome recorded (the gateway stopped
    /// between the two, or was writing the completion when the log was
    /// read).
    pub completions: u64,
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
    /// Anchors found in the log with their hash.
    pub anchors_checked: u64,
    /// Anchors before the verified part (before `start`), not checked.
    pub anchors_before_start: u64,
}

impl fmt::Display for VerifyReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} file(s), {} entries ({} accesses, ",
            self.files.len(),
            self.entries,
            self.accesses,
        )?;
        if self.begun > 0 {
            write!(
                f,
                "{} begun ({} with no outcome recorded), ",
                self.begun,
                self.begun.saturating_sub(self.completions)
            )?;
        }
        write!(f, "{} recoveries)", self.recoveries.len())?;
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
        if self.anchors_checked > 0 || self.anchors_before_start > 0 {
            write!(f, "  {} anchor(s) checked", self.anchors_checked)?;
            if self.anchors_before_start > 0 {
                write!(
                    f,
                    ", {} before the verified part (not checked)",
                    self.anchors_before_start
                )?;
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
/// its hash, every entry follow the one before it (sequence and `prev`) and
/// not be earlier than it, no file may be missing, and no file end with an
/// incomplete line. The first problem is reported with its file and line.
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
    mut visit: F,
) -> Result<VerifyReport, VerifyError>
where
    F: FnMut(&Path, u64, &Entry),
{
    walk(
        paths,
        |p: &Path| File::open(p),
        &Walk::verifying(options),
        |at, entry| visit(at.path, at.line, entry),
    )
}

/// [`verify_with`] over streams instead of files: each `(name, reader)`
/// is one file of the log, put in order by its name as files are. For logs
/// kept elsewhere (an archive, object storage) and for tests.
pub fn verify_streams<R, F>(
    files: Vec<(PathBuf, R)>,
    options: &VerifyOptions,
    mut visit: F,
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
    walk(&paths, open, &Walk::verifying(options), |at, entry| {
        visit(at.path, at.line, entry)
    })
}

/// How [`walk`] reads a log.
pub(crate) struct Walk<'a> {
    /// The point the first entry must follow; `None`: taken up from the
    /// first entry found (earlier files archived).
    pub start: Option<ChainPoint>,
    /// Entries the log must hold with these hashes, and reach.
    pub anchors: &'a [ChainPoint],
    /// How far back an entry's time may step; `None`: times not checked.
    pub time_tolerance: Option<std::time::Duration>,
    /// Leave out an incomplete last line of the last file (a writer may be
    /// mid-write) rather than report it.
    pub live_tail: bool,
}

impl<'a> Walk<'a> {
    fn verifying(options: &'a VerifyOptions) -> Self {
        Self {
            start: Some(options.start),
            anchors: &options.anchors,
            time_tolerance: Some(options.time_tolerance),
            live_tail: false,
        }
    }
}

/// Where a valid entry was read.
pub(crate) struct At<'a> {
    /// The file.
    pub path: &'a Path,
    /// Its 1-based line.
    pub line: u64,
    /// The byte offset where the line starts.
    pub offset: u64,
}

/// The walk shared by [`verify_with`], the readers and the index.
pub(crate) fn walk<R, O, F>(
    paths: &[PathBuf],
    mut open: O,
    how: &Walk<'_>,
    mut visit: F,
) -> Result<VerifyReport, VerifyError>
where
    R: Read,
    O: FnMut(&Path) -> io::Result<R>,
    F: FnMut(At<'_>, &Entry),
{
    if paths.is_empty() {
        return Err(VerifyError::NoFiles);
    }
    let mut paths = paths.to_vec();
    paths.sort_by(|a, b| compare_paths(a, b));
    paths.dedup();
    let start = how.start;

    let mut report = VerifyReport {
        files: Vec::new(),
        entries: 0,
        accesses: 0,
        begun: 0,
        completions: 0,
        recoveries: Vec::new(),
        start: start.unwrap_or(ChainPoint::GENESIS),
        head: start.unwrap_or(ChainPoint::GENESIS),
        unfinished_tail: 0,
        anchors_checked: 0,
        anchors_before_start: 0,
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
    // Anchors in sequence order; `next_anchor` is the first not yet passed.
    let mut anchors: Vec<ChainPoint> = if start.is_some() {
        how.anchors.to_vec()
    } else {
        Vec::new()
    };
    anchors.sort_by_key(|a| a.seq);
    let mut next_anchor = 0usize;
    if let Some(start) = start {
        while let Some(anchor) = anchors.get(next_anchor)
            && anchor.seq <= start.seq
        {
            if anchor.seq == start.seq && anchor.hash != start.hash {
                return Err(fail(
                    report,
                    &paths[0],
                    1,
                    ProblemKind::AnchorMismatch { anchor: *anchor },
                ));
            }
            if anchor.seq == start.seq {
                report.anchors_checked += 1;
            } else {
                report.anchors_before_start += 1;
            }
            next_anchor += 1;
        }
    }
    let mut last_time: Option<Timestamp> = None;

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
            let (bytes, number, offset) = match line {
                Line::Complete {
                    bytes,
                    number,
                    offset,
                } => (bytes, number, offset),
                Line::Torn { len, number, .. } => {
                    if how.live_tail && i + 1 == count {
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
            let time = entry.time();
            if let (Some(tolerance), Some(previous)) = (how.time_tolerance, last_time)
                && time
                    .unix_micros()
                    .saturating_add(i64::try_from(tolerance.as_micros()).unwrap_or(i64::MAX))
                    < previous.unix_micros()
            {
                report.files.push(file_report);
                return Err(fail(
                    report,
                    path,
                    number,
                    ProblemKind::TimeBackwards {
                        previous,
                        found: time,
                    },
                ));
            }
            last_time = Some(last_time.map_or(time, |t| t.max(time)));
            while let Some(anchor) = anchors.get(next_anchor)
                && anchor.seq == entry.seq
            {
                if anchor.hash != entry.hash {
                    report.files.push(file_report);
                    return Err(fail(
                        report,
                        path,
                        number,
                        ProblemKind::AnchorMismatch { anchor: *anchor },
                    ));
                }
                report.anchors_checked += 1;
                next_anchor += 1;
            }
            visit(
                At {
                    path,
                    line: number,
                    offset,
                },
                &entry,
            );
            report.entries += 1;
            report.head = entry.point();
            file_report.entries += 1;
            file_report.range = Some(match file_report.range {
                Some((first, _)) => (first, entry.seq),
                None => (entry.seq, entry.seq),
            });
            report.completions += u64::from(entry.completes.is_some());
            match entry.event {
                Event::Access(_) => report.accesses += 1,
                Event::Begun(_) => report.begun += 1,
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
    if let Some(anchor) = anchors.last()
        && report.head.seq < anchor.seq
    {
        let (file, line) = last_line;
        let found = report.head;
        return Err(fail(
            report,
            &file,
            line,
            ProblemKind::EndsEarly {
                found,
                anchor: *anchor,
            },
        ));
    }
    Ok(report)
}
