//! The log's files: their names (`audit-000001.jsonl`, …), listing and
//! ordering them, and reading them line by line with a bound on each line.

use std::cmp::Ordering;
use std::fs;
use std::io::{self, BufRead, Read};
use std::path::{Path, PathBuf};

use crate::line::MAX_LINE_BYTES;

const PREFIX: &str = "audit-";
const SUFFIX: &str = ".jsonl";

/// The name of log file number `n` (`audit-000001.jsonl`; more digits past
/// 999,999).
pub fn file_name(n: u64) -> String {
    format!("{PREFIX}{n:06}{SUFFIX}")
}

/// The number of a log file's name, if it is one (`audit-000001.jsonl` → 1).
pub fn file_number(name: &str) -> Option<u64> {
    let digits = name.strip_prefix(PREFIX)?.strip_suffix(SUFFIX)?;
    if digits.len() < 6 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

fn name_of(p: &Path) -> &str {
    p.file_name().and_then(|n| n.to_str()).unwrap_or_default()
}

/// Orders paths as the log's files follow each other: log files by their
/// number (which is their name order while numbers have six digits), other
/// names by name, after them.
pub fn compare_paths(a: &Path, b: &Path) -> Ordering {
    let (na, nb) = (name_of(a), name_of(b));
    match (file_number(na), file_number(nb)) {
        (Some(x), Some(y)) => x.cmp(&y).then_with(|| a.cmp(b)),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => na.cmp(nb).then_with(|| a.cmp(b)),
    }
}

/// The log files in `dir` (`audit-NNNNNN.jsonl`), in order. Anything else
/// in the directory (the lock file, torn tails moved aside) is ignored.
pub fn log_files(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = fs::read_dir(dir)?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| file_number(name_of(p)).is_some() && p.is_file())
        .collect();
    files.sort_by(|a, b| compare_paths(a, b));
    Ok(files)
}

/// One line read from a file. Numbers and offsets count from where the
/// [`LineReader`] started reading.
#[derive(Debug, PartialEq, Eq)]
pub enum Line<'a> {
    /// A complete line (without its newline), its 1-based number and the
    /// byte offset where it starts.
    Complete {
        /// The line, without its newline.
        bytes: &'a [u8],
        /// Its 1-based number.
        number: u64,
        /// The byte offset where it starts.
        offset: u64,
    },
    /// Bytes at the end of the file with no newline after them.
    Torn {
        /// How many.
        len: u64,
        /// Their 1-based line number.
        number: u64,
        /// The byte offset where they start.
        offset: u64,
    },
    /// A line longer than [`MAX_LINE_BYTES`]; reading stops there.
    TooLong {
        /// Its 1-based number.
        number: u64,
        /// The byte offset where it starts.
        offset: u64,
    },
}

/// Reads lines of at most [`MAX_LINE_BYTES`] from `R`, never holding more
/// than one line in memory: the log's own reader, public for tools that
/// follow a log from a position (the audit store's ingest).
pub struct LineReader<R> {
    inner: R,
    buf: Vec<u8>,
    number: u64,
    offset: u64,
    done: bool,
}

impl<R: BufRead> LineReader<R> {
    /// Reads from `inner`'s current position.
    pub fn new(inner: R) -> Self {
        Self {
            inner,
            buf: Vec::new(),
            number: 0,
            offset: 0,
            done: false,
        }
    }

    /// The next line, or `None` at the end.
    pub fn next_line(&mut self) -> io::Result<Option<Line<'_>>> {
        if self.done {
            return Ok(None);
        }
        self.buf.clear();
        let limit = MAX_LINE_BYTES as u64 + 1;
        let n = (&mut self.inner)
            .take(limit)
            .read_until(b'\n', &mut self.buf)?;
        if n == 0 {
            self.done = true;
            return Ok(None);
        }
        self.number += 1;
        let offset = self.offset;
        self.offset += n as u64;
        let number = self.number;
        if self.buf.last() == Some(&b'\n') {
            self.buf.pop();
            return Ok(Some(Line::Complete {
                bytes: &self.buf,
                number,
                offset,
            }));
        }
        self.done = true;
        if n as u64 >= limit {
            return Ok(Some(Line::TooLong { number, offset }));
        }
        Ok(Some(Line::Torn {
            len: n as u64,
            number,
            offset,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(file_name(1), "audit-000001.jsonl");
        assert_eq!(file_name(1_234_567), "audit-1234567.jsonl");
        assert_eq!(file_number("audit-000001.jsonl"), Some(1));
        assert_eq!(file_number("audit-1234567.jsonl"), Some(1_234_567));
        for bad in [
            "audit-1.jsonl",
            "audit-000001.jsonl.torn",
            "x-000001.jsonl",
            "audit-00000a.jsonl",
        ] {
            assert_eq!(file_number(bad), None, "{bad}");
        }
        let mut v = vec![
            PathBuf::from("/x/audit-1000000.jsonl"),
            PathBuf::from("other"),
            PathBuf::from("/y/audit-000002.jsonl"),
            PathBuf::from("/x/audit-000010.jsonl"),
        ];
        v.sort_by(|a, b| compare_paths(a, b));
        assert_eq!(
            v,
            [
                PathBuf::from("/y/audit-000002.jsonl"),
                PathBuf::from("/x/audit-000010.jsonl"),
                PathBuf::from("/x/audit-1000000.jsonl"),
                PathBuf::from("other"),
            ]
        );
    }

    fn lines(data: &[u8]) -> Vec<String> {
        let mut r = LineReader::new(data);
        let mut out = Vec::new();
        while let Some(l) = r.next_line().unwrap() {
            out.push(match l {
                Line::Complete {
                    bytes,
                    number,
                    offset,
                } => {
                    format!("{number}@{offset}:{}", String::from_utf8_lossy(bytes))
                }
                Line::Torn {
                    len,
                    number,
                    offset,
                } => format!("{number}@{offset}:torn {len}"),
                Line::TooLong { number, offset } => format!("{number}@{offset}:too long"),
            });
        }
        out
    }

    #[test]
    fn reads_bounded_lines() {
        assert_eq!(lines(b"a\nbc\n"), ["1@0:a", "2@2:bc"]);
        assert_eq!(lines(b"a\nbc"), ["1@0:a", "2@2:torn 2"]);
        assert_eq!(lines(b""), Vec::<String>::new());
        assert_eq!(lines(b"\n"), ["1@0:"]);
        let mut long = vec![b'x'; MAX_LINE_BYTES];
        long.push(b'\n');
        assert_eq!(lines(&long).len(), 1);
        let mut longer = vec![b'x'; MAX_LINE_BYTES + 1];
        longer.extend_from_slice(b"\nmore\n");
        assert_eq!(lines(&longer), ["1@0:too long"]);
    }
}
