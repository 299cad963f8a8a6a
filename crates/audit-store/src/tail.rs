//! Following a replica's log from a position: the log's own line reader,
//! parser and chain verifier, read a bounded batch at a time. Blocking
//! (file I/O): run it on a blocking thread.

use std::fs::File;
use std::io::{BufReader, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use icr_audit::{
    ChainPoint, ChainVerifier, Entry, Line, LineError, LineReader, ProblemKind, file_name,
    file_number, log_files, parse_line,
};

use crate::error::StoreError;
use crate::replica::ReplicaId;

/// Where the next line of a log starts: its file's number and the byte
/// offset in it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Position {
    pub file: u64,
    pub offset: u64,
}

impl Position {
    /// The start of a log.
    pub const START: Position = Position { file: 1, offset: 0 };
}

/// One entry read, with its line and where the next line starts.
#[derive(Debug)]
pub(crate) struct Read {
    pub entry: Entry,
    pub line: String,
    pub after: Position,
}

/// A log followed from a position, its chain checked from the point before
/// it.
#[derive(Debug)]
pub(crate) struct Tail {
    replica: ReplicaId,
    dir: PathBuf,
    at: Position,
    chain: ChainVerifier,
    /// The point ingest started from: the log must still hold it.
    stored: ChainPoint,
    /// A problem met after the entries already returned: returned by the
    /// next call, so that everything before it is stored first.
    failed: Option<StoreError>,
}

impl Tail {
    pub fn new(replica: ReplicaId, dir: &Path, stored: ChainPoint, at: Position) -> Self {
        Self {
            replica,
            dir: dir.to_path_buf(),
            at,
            chain: ChainVerifier::new(stored),
            stored,
            failed: None,
        }
    }

    /// The next entries, at most `max_entries` and about `max_bytes` of
    /// lines; empty at the end of the log. An incomplete last line of the
    /// newest file is the writer's, mid-write: left for the next read. A
    /// problem is returned after the entries before it (by the next call
    /// when some were read in this one).
    pub fn next_batch(
        &mut self,
        max_entries: usize,
        max_bytes: usize,
    ) -> Result<Vec<Read>, StoreError> {
        if let Some(e) = self.failed.take() {
            return Err(e);
        }
        let mut out = Vec::new();
        match self.read_into(&mut out, max_entries, max_bytes) {
            Ok(()) => Ok(out),
            Err(e) if out.is_empty() => Err(e),
            Err(e) => {
                self.failed = Some(e);
                Ok(out)
            }
        }
    }

    fn read_into(
        &mut self,
        out: &mut Vec<Read>,
        max_entries: usize,
        max_bytes: usize,
    ) -> Result<(), StoreError> {
        let mut bytes = 0usize;
        while out.len() < max_entries && bytes < max_bytes {
            let path = self.dir.join(file_name(self.at.file));
            let file = match File::open(&path) {
                Ok(f) => f,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    let later = self.later_file_exists()?;
                    if self.stored.seq.get() == 0 && self.at.offset == 0 && later {
                        // Never ingested, and the log does not start at its
                        // first file (archived away): not from its genesis.
                        let expected = file_name(self.at.file);
                        return Err(self.broken(path, 0, ProblemKind::MissingFile { expected }));
                    }
                    if self.at.offset > 0 || later {
                        return Err(self.behind(path));
                    }
                    return Ok(());
                }
                Err(source) => return Err(self.io(path, source)),
            };
            let len = file
                .metadata()
                .map_err(|source| self.io(path.clone(), source))?
                .len();
            if len < self.at.offset {
                return Err(self.behind(path));
            }
            let mut reader = BufReader::with_capacity(64 * 1024, file);
            reader
                .seek(SeekFrom::Start(self.at.offset))
                .map_err(|source| self.io(path.clone(), source))?;
            let mut lines = LineReader::new(reader);
            while out.len() < max_entries && bytes < max_bytes {
                let line = lines
                    .next_line()
                    .map_err(|source| self.io(path.clone(), source))?;
                let at = self.at.offset;
                let (raw, len) = match line {
                    None => break,
                    Some(Line::Complete { bytes, .. }) => (bytes, bytes.len() as u64 + 1),
                    Some(Line::Torn { len, .. }) => {
                        if self.later_file_exists()? {
                            return Err(self.broken(path, at, ProblemKind::Torn { bytes: len }));
                        }
                        return Ok(());
                    }
                    Some(Line::TooLong { .. }) => {
                        return Err(self.broken(path, at, ProblemKind::Line(LineError::TooLong)));
                    }
                };
                let entry = parse_line(raw)
                    .map_err(|e| self.broken(path.clone(), at, ProblemKind::Line(e)))?;
                self.chain
                    .push(&entry)
                    .map_err(|e| self.broken(path.clone(), at, ProblemKind::Chain(e)))?;
                // `parse_line` accepted it: valid JSON, so valid UTF-8.
                let line = String::from_utf8_lossy(raw).into_owned();
                bytes += line.len();
                self.at.offset += len;
                out.push(Read {
                    entry,
                    line,
                    after: self.at,
                });
            }
            if out.len() >= max_entries || bytes >= max_bytes {
                break;
            }
            // The end of this file: on to the next, if there is one.
            if !self.dir.join(file_name(self.at.file + 1)).exists() {
                break;
            }
            self.at = Position {
                file: self.at.file + 1,
                offset: 0,
            };
        }
        Ok(())
    }

    fn later_file_exists(&self) -> Result<bool, StoreError> {
        let files = log_files(&self.dir).map_err(|source| self.io(self.dir.clone(), source))?;
        Ok(files.iter().any(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .and_then(file_number)
                .is_some_and(|n| n > self.at.file)
        }))
    }

    fn io(&self, path: PathBuf, source: std::io::Error) -> StoreError {
        StoreError::LogIo {
            replica: self.replica.clone(),
            path,
            source,
        }
    }

    fn broken(&self, file: PathBuf, offset: u64, kind: ProblemKind) -> StoreError {
        StoreError::LogBroken {
            replica: self.replica.clone(),
            file,
            offset,
            kind: Box::new(kind),
        }
    }

    fn behind(&self, file: PathBuf) -> StoreError {
        StoreError::LogBehindStore {
            replica: self.replica.clone(),
            stored: self.stored,
            file,
            offset: self.at.offset,
        }
    }
}
