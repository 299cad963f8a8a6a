//! Publishing the chain's head outside the log, and reading it back.
//!
//! A hash chain cannot tell a log cut at a line boundary from an older copy
//! of itself. So the log publishes its head — sequence number, hash and
//! file, no patient data — every `head_every_s` seconds (when it changed),
//! at start and at close, to places the log's own volume does not hold: an
//! `info` log line `audit chain head` (shipped off the host with the rest
//! of the operational log) and, when `anchor_file` is set, one JSON line
//! appended to that file (its own volume). `GET /v1/audit/head` serves the
//! same to operators. `icr audit verify --head SEQ:HASH` and `--anchors
//! FILE` then check that the log still holds each published head with its
//! hash ([`read_anchors`] reads the file).
//!
//! An anchor is `(chain, sequence, hash)` once logs are shipped to a
//! central store (each replica's log is its own chain); the file's lines
//! are JSON objects so that such fields can be added without breaking
//! readers: unknown members are ignored.

use std::fs::OpenOptions;
use std::io::{self, BufRead, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};

use crate::chain::{ChainPoint, EntryHash, Sequence};
use crate::record::Timestamp;

/// The chain's head as published: when, the sequence and hash of the last
/// entry written and synced, and the file it is in. One line of the anchor
/// file, and the body of `GET /v1/audit/head`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Anchor {
    /// When it was published.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time: Option<Timestamp>,
    /// The last entry's sequence number (0: the log is empty).
    pub seq: Sequence,
    /// The last entry's hash (the genesis value for an empty log).
    pub hash: EntryHash,
    /// The log file the entry is in (file name only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
}

impl Anchor {
    /// The anchor as a point on the chain, as the verifier takes it.
    pub fn point(&self) -> ChainPoint {
        ChainPoint {
            seq: self.seq,
            hash: self.hash,
        }
    }
}

/// The longest line of an anchor file that is read.
const MAX_ANCHOR_LINE: u64 = 4096;

/// Why an anchor file cannot be read: its 1-based line and what is wrong.
#[derive(Debug, thiserror::Error)]
pub enum AnchorError {
    /// The file could not be read.
    #[error("cannot read it: {0}")]
    Io(#[from] io::Error),
    /// A line is not an anchor.
    #[error("{line}: {why}")]
    Line {
        /// The line.
        line: u64,
        /// What is wrong.
        why: &'static str,
    },
}

/// Reads an anchor file: one anchor a line, as the log appends them
/// (`{"time":…,"seq":N,"hash":"…","file":…}`) or as `SEQ:HASH`; blank lines
/// and lines starting with `#` are skipped. Lines are at most 4 KiB.
pub fn read_anchors(reader: impl BufRead) -> Result<Vec<ChainPoint>, AnchorError> {
    let mut out = Vec::new();
    let mut reader = reader;
    let mut buf = Vec::new();
    let mut line = 0u64;
    loop {
        buf.clear();
        let n = (&mut reader)
            .take(MAX_ANCHOR_LINE + 1)
            .read_until(b'\n', &mut buf)?;
        if n == 0 {
            return Ok(out);
        }
        line += 1;
        if buf.last() != Some(&b'\n') && n as u64 > MAX_ANCHOR_LINE {
            return Err(AnchorError::Line {
                line,
                why: "the line is longer than 4096 bytes",
            });
        }
        let text = std::str::from_utf8(&buf)
            .map_err(|_| AnchorError::Line {
                line,
                why: "the line is not UTF-8",
            })?
            .trim();
        if text.is_empty() || text.starts_with('#') {
            continue;
        }
        let point = if text.starts_with('{') {
            serde_json::from_str::<Anchor>(text)
                .map(|a| a.point())
                .map_err(|_| AnchorError::Line {
                    line,
                    why: "not an anchor: a JSON object with \"seq\" (a number) and \"hash\" (64 lower-case hex digits) is expected",
                })?
        } else {
            ChainPoint::parse(text).ok_or(AnchorError::Line {
                line,
                why: "not an anchor: SEQ:HASH (a number, a colon, 64 lower-case hex digits) is expected",
            })?
        };
        out.push(point);
    }
}

/// Publishes heads: the `audit chain head` log line and the anchor file.
pub(crate) struct HeadPublisher {
    anchor_file: Option<PathBuf>,
    last: Mutex<Option<ChainPoint>>,
    published: AtomicU64,
    failures: AtomicU64,
}

impl HeadPublisher {
    pub(crate) fn new(anchor_file: Option<PathBuf>) -> Self {
        Self {
            anchor_file,
            last: Mutex::new(None),
            published: AtomicU64::new(0),
            failures: AtomicU64::new(0),
        }
    }

    /// Publishes `anchor` unless it is the head published last. An anchor
    /// file that cannot be written is an error (the log line is written
    /// first, whatever happens to the file); it is counted.
    pub(crate) fn publish(&self, anchor: &Anchor) -> io::Result<()> {
        let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        if *last == Some(anchor.point()) {
            return Ok(());
        }
        tracing::info!(
            seq = %anchor.seq,
            hash = %anchor.hash,
            file = anchor.file.as_deref().unwrap_or_default(),
            "audit chain head"
        );
        if let Some(path) = &self.anchor_file
            && let Err(e) = append_anchor(path, anchor)
        {
            self.failures.fetch_add(1, Ordering::Relaxed);
            return Err(e);
        }
        *last = Some(anchor.point());
        self.published.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// Heads published, and anchor-file writes that failed.
    pub(crate) fn counts(&self) -> (u64, u64) {
        (
            self.published.load(Ordering::Relaxed),
            self.failures.load(Ordering::Relaxed),
        )
    }

    /// The anchor file, if any.
    pub(crate) fn anchor_file(&self) -> Option<&Path> {
        self.anchor_file.as_deref()
    }
}

/// Appends one anchor line to `path` (created with mode 0640) and syncs it.
fn append_anchor(path: &Path, anchor: &Anchor) -> io::Result<()> {
    let mut line = serde_json::to_vec(anchor)?;
    line.push(b'\n');
    let mut options = OpenOptions::new();
    options.append(true).create(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o640);
    }
    let mut file = options.open(path)?;
    file.write_all(&line)?;
    file.sync_data()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anchor_lines_and_heads_are_read_and_bad_ones_named_by_line() {
        let h = EntryHash::of(b"x");
        let text = format!(
            "# published heads\n\n{{\"time\":\"2026-11-26T10:00:00Z\",\"seq\":3,\"hash\":\"{h}\",\"file\":\"audit-000001.jsonl\",\"chain\":\"replica-1\"}}\n7:{h}\n{{\"seq\":0,\"hash\":\"{}\"}}",
            EntryHash::GENESIS
        );
        let points = read_anchors(text.as_bytes()).unwrap();
        assert_eq!(
            points,
            [
                ChainPoint {
                    seq: Sequence::new(3),
                    hash: h
                },
                ChainPoint {
                    seq: Sequence::new(7),
                    hash: h
                },
                ChainPoint::GENESIS,
            ]
        );
        for (bad, line) in [
            ("{\"seq\":1}\n", 1),
            ("\n7:abc\n", 2),
            ("1:2:3", 1),
            ("{\"seq\":-1,\"hash\":\"00\"}", 1),
        ] {
            match read_anchors(bad.as_bytes()) {
                Err(AnchorError::Line { line: l, .. }) => assert_eq!(l, line, "{bad}"),
                other => panic!("{bad}: {other:?}"),
            }
        }
        let long = format!("{}\n", "#".repeat(5000));
        assert!(matches!(
            read_anchors(long.as_bytes()),
            Err(AnchorError::Line { line: 1, .. })
        ));
    }

    #[test]
    fn an_anchor_is_one_json_line_without_patient_data() {
        let a = Anchor {
            time: Timestamp::parse("2026-11-26T10:00:00Z"),
            seq: Sequence::new(12),
            hash: EntryHash::GENESIS,
            file: Some("audit-000001.jsonl".into()),
        };
        let json = serde_json::to_string(&a).unwrap();
        assert_eq!(
            json,
            format!(
                "{{\"time\":\"2026-11-26T10:00:00Z\",\"seq\":12,\"hash\":\"{}\",\"file\":\"audit-000001.jsonl\"}}",
                "0".repeat(64)
            )
        );
        assert_eq!(serde_json::from_str::<Anchor>(&json).unwrap(), a);
    }
}
