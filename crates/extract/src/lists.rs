//! Lists of NHS numbers read from files: the cohort, the practices'
//! registered lists and the national data opt-out list.
//!
//! One NHS number a line (ten digits, or grouped `943 476 5919`); blank
//! lines and lines starting with `#` are skipped; surrounding whitespace
//! is ignored. A registered-list file (`<ODS code>.csv`) is the same with
//! the NHS number as the first comma-separated field and an optional
//! header line starting `nhs_number`. A line that is not an NHS number is
//! an error naming the file and the line number — never the line itself,
//! which may be (nearly) someone's NHS number.

use std::collections::BTreeSet;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use icr_model::NhsNumber;

/// The longest line read, in bytes: an NHS number with separators and a
/// registered list's other columns fit many times over.
pub const MAX_LINE_BYTES: usize = 1024;

/// Why a list of NHS numbers could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ListError {
    /// The file could not be opened or read.
    #[error("{}: cannot read: {source}", file.display())]
    Io {
        /// The file.
        file: PathBuf,
        /// What went wrong.
        source: std::io::Error,
    },
    /// A line is not an NHS number (the line is not shown).
    #[error("{}: line {line}: not an NHS number ({reason})", file.display())]
    NotAnNhsNumber {
        /// The file.
        file: PathBuf,
        /// The line, counting from 1.
        line: usize,
        /// Why, without the digits themselves.
        reason: &'static str,
    },
    /// A line is longer than [`MAX_LINE_BYTES`] or not UTF-8.
    #[error("{}: line {line}: longer than {MAX_LINE_BYTES} bytes or not UTF-8", file.display())]
    BadLine {
        /// The file.
        file: PathBuf,
        /// The line, counting from 1.
        line: usize,
    },
    /// The list holds more people than allowed.
    #[error("{}: more than {max} different NHS numbers", file.display())]
    TooMany {
        /// The file.
        file: PathBuf,
        /// The most allowed.
        max: usize,
    },
}

/// How a line holds its NHS number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LineFormat {
    /// The whole line is the NHS number.
    Plain,
    /// The first comma-separated field is; a first line starting
    /// `nhs_number` is a header.
    Csv,
}

/// Reads the NHS numbers of `file` into `into` (duplicates merge), refusing
/// more than `max` different ones in `into` in all.
pub fn read_into(
    file: &Path,
    format: LineFormat,
    max: usize,
    into: &mut BTreeSet<NhsNumber>,
) -> Result<(), ListError> {
    let opened = File::open(file).map_err(|source| ListError::Io {
        file: file.to_path_buf(),
        source,
    })?;
    read_from(BufReader::new(opened), file, format, max, into)
}

/// [`read_into`] from a reader: the bytes of `file` (named in errors).
pub fn read_from(
    mut reader: impl BufRead,
    file: &Path,
    format: LineFormat,
    max: usize,
    into: &mut BTreeSet<NhsNumber>,
) -> Result<(), ListError> {
    let io = |source| ListError::Io {
        file: file.to_path_buf(),
        source,
    };
    let mut buf = Vec::new();
    let mut line = 0;
    loop {
        buf.clear();
        line += 1;
        // Read at most one byte past the limit, so a huge line is refused
        // without being held.
        let n = (&mut reader)
            .take(MAX_LINE_BYTES as u64 + 1)
            .read_until(b'\n', &mut buf)
            .map_err(io)?;
        if n == 0 {
            return Ok(());
        }
        let bad = || ListError::BadLine {
            file: file.to_path_buf(),
            line,
        };
        if n > MAX_LINE_BYTES {
            return Err(bad());
        }
        let text = std::str::from_utf8(&buf).map_err(|_| bad())?.trim();
        if text.is_empty() || text.starts_with('#') {
            continue;
        }
        let field = match format {
            LineFormat::Plain => text,
            LineFormat::Csv => {
                if line == 1 && text.starts_with("nhs_number") {
                    continue;
                }
                text.split(',').next().unwrap_or("").trim()
            }
        };
        let nhs = NhsNumber::parse_formatted(field).map_err(|e| ListError::NotAnNhsNumber {
            file: file.to_path_buf(),
            line,
            reason: reason(&e),
        })?;
        if into.insert(nhs) && into.len() > max {
            return Err(ListError::TooMany {
                file: file.to_path_buf(),
                max,
            });
        }
    }
}

/// Why a field is not an NHS number, in words that hold none of its
/// characters.
fn reason(e: &icr_model::NhsNumberError) -> &'static str {
    use icr_model::NhsNumberError as E;
    match e {
        E::WrongLength(_) => "not ten digits",
        E::NotADigit(_) => "not only digits",
        E::RepeatedDigit => "one digit repeated",
        E::CheckDigitTen | E::CheckDigitMismatch { .. } => "wrong check digit",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: impl AsRef<[u8]>, format: LineFormat, max: usize) -> Result<Vec<String>, String> {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("list.txt");
        std::fs::write(&file, text).unwrap();
        let mut set = BTreeSet::new();
        read_into(&file, format, max, &mut set)
            .map(|()| set.iter().map(|n| n.as_str().to_string()).collect())
            .map_err(|e| {
                e.to_string()
                    .replace(&dir.path().display().to_string(), "D")
            })
    }

    #[test]
    fn reads_numbers_comments_blanks_and_groups() {
        let text = "# the cohort\n9434765919\n\n  943 476 5870 \r\n9434765919\n# end\n";
        assert_eq!(
            read(text, LineFormat::Plain, 10).unwrap(),
            ["9434765870", "9434765919"]
        );
        let csv = "nhs_number,registered\n9434765919,2020-01-01\n943-476-5870\n";
        assert_eq!(
            read(csv, LineFormat::Csv, 10).unwrap(),
            ["9434765870", "9434765919"]
        );
        assert_eq!(
            read("", LineFormat::Plain, 10).unwrap(),
            Vec::<String>::new()
        );
    }

    #[test]
    fn a_bad_line_is_named_by_number_and_never_shown() {
        let err = read("9434765919\n9434765918\n", LineFormat::Plain, 10).unwrap_err();
        assert_eq!(
            err,
            "D/list.txt: line 2: not an NHS number (wrong check digit)"
        );
        assert!(!err.contains("943476591"), "{err}");
        assert_eq!(
            read("#\n94347659x9\n", LineFormat::Plain, 10).unwrap_err(),
            "D/list.txt: line 2: not an NHS number (not only digits)"
        );
        assert_eq!(
            read("943476591\n", LineFormat::Plain, 10).unwrap_err(),
            "D/list.txt: line 1: not an NHS number (not ten digits)"
        );
        // A header is only a header on the first line.
        assert_eq!(
            read("9434765919\nnhs_number\n", LineFormat::Csv, 10).unwrap_err(),
            "D/list.txt: line 2: not an NHS number (not only digits)"
        );
        let long = format!("9434765919\n{}\n", "9".repeat(MAX_LINE_BYTES + 1));
        assert_eq!(
            read(&long, LineFormat::Plain, 10).unwrap_err(),
            format!("D/list.txt: line 2: longer than {MAX_LINE_BYTES} bytes or not UTF-8")
        );
        assert_eq!(
            read(b"\n\xff\n", LineFormat::Plain, 10).unwrap_err(),
            format!("D/list.txt: line 2: longer than {MAX_LINE_BYTES} bytes or not UTF-8")
        );
    }

    #[test]
    fn the_list_is_bounded_by_different_numbers() {
        assert_eq!(
            read("9434765919\n9434765919\n9434765870\n", LineFormat::Plain, 2)
                .unwrap()
                .len(),
            2
        );
        assert_eq!(
            read("9434765919\n9434765870\n9999999468\n", LineFormat::Plain, 2).unwrap_err(),
            "D/list.txt: more than 2 different NHS numbers"
        );
    }
}
