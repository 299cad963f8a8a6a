//! One line of the log: how an entry is sealed into bytes and read back.
//! Pure, no I/O; [`parse_line`] is the parser that is fuzzed.
//!
//! A line is the canonical JSON of the entry (compact, fields in a fixed
//! order) with its hash appended as the last member, then a newline:
//!
//! ```text
//! {"seq":7,"prev":"<64 hex>","access":{…the AuditRecord…},"hash":"<64 hex>"}
//! ```
//!
//! `hash` is the SHA-256 of the same line without its `hash` member, that
//! is of `{"seq":7,"prev":"…","access":{…}}`. `prev` is the previous
//! entry's `hash` ([`EntryHash::GENESIS`] for sequence 1).
//!
//! Three kinds of entry: `access` (a whole access: one allowed or refused
//! request), `begun` (an access begun, before its sources are asked: who,
//! whose record, why, which sections; see [`AccessBegun`]) and `recovery`
//! (a torn tail moved aside at start-up). An `access` that completes a
//! begun one names it after the record, as `"completes":SEQ` (that
//! entry's sequence, always earlier):
//!
//! ```text
//! {"seq":9,"prev":"<64 hex>","access":{…},"completes":7,"hash":"<64 hex>"}
//! ```
//!
//! **Versions.** Format 2 adds the `begun` kind and the `completes`
//! member to format 1, and changes nothing else: every format-1 log is a
//! format-2 log without them, and verifies as before. Format 3 (this one)
//! adds the access record's `shown` member (the source records released,
//! by source; see [`ReleasedRecords`](crate::ReleasedRecords)), written
//! after `items_withheld` and only when something was released: every
//! format-2 line is a format-3 line without it, byte for byte, and
//! verifies as before. A reader of an older format refuses a newer line
//! (an unknown member) rather than misread it.

use std::fmt;

use serde::{Deserialize, Serialize};

use icr_model::NhsNumber;

use crate::chain::{ChainPoint, EntryHash, Sequence};
use crate::record::{AccessBegun, AuditRecord, Timestamp};

/// The longest line the log writes or reads, newline excluded. An access
/// record larger than this is refused at `append`, never truncated.
pub const MAX_LINE_BYTES: usize = 64 * 1024;

/// `,"hash":"` + 64 hex digits + `"}`.
const HASH_SUFFIX_LEN: usize = 9 + 64 + 2;
const HASH_PREFIX: &[u8] = b",\"hash\":\"";

/// A torn tail found at start-up and moved aside, as recorded in the chain.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Recovery {
    /// When the log was reopened and the tail moved aside.
    pub time: Timestamp,
    /// The log file the tail was cut from (file name only).
    pub file: String,
    /// The byte offset in that file where the torn tail began.
    pub offset: u64,
    /// How many bytes were moved aside.
    pub length: u64,
    /// The file (in the same directory) the bytes were saved to.
    pub saved_as: String,
}

/// What an entry records.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Event {
    /// An access attempt, whole; or the completion of a begun one (see
    /// [`Entry::completes`]).
    Access(Box<AuditRecord>),
    /// An access begun: its completion follows, unless the process died
    /// in between.
    Begun(Box<AccessBegun>),
    /// A torn tail moved aside after a crash.
    Recovery(Recovery),
}

/// One entry of the log, as read back and checked against its own hash.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Entry {
    /// Its sequence number.
    pub seq: Sequence,
    /// The hash of the entry before it.
    pub prev: EntryHash,
    /// What it records.
    pub event: Event,
    /// For an access that completes a begun one: that entry's sequence
    /// (always earlier). `None` for every other entry.
    pub completes: Option<Sequence>,
    /// Its own hash.
    pub hash: EntryHash,
}

impl Entry {
    /// This entry as a point on the chain.
    pub fn point(&self) -> ChainPoint {
        ChainPoint {
            seq: self.seq,
            hash: self.hash,
        }
    }

    /// When it was written: the event's `time`.
    pub fn time(&self) -> Timestamp {
        match &self.event {
            Event::Access(r) => r.time,
            Event::Begun(b) => b.time,
            Event::Recovery(r) => r.time,
        }
    }

    /// The access record, if this entry is one (whole, or a completion).
    pub fn access(&self) -> Option<&AuditRecord> {
        match &self.event {
            Event::Access(r) => Some(r),
            Event::Begun(_) | Event::Recovery(_) => None,
        }
    }

    /// Whose record the entry is about: an access's or a begun access's
    /// NHS number.
    pub fn nhs_number(&self) -> Option<NhsNumber> {
        match &self.event {
            Event::Access(r) => r.nhs_number,
            Event::Begun(b) => Some(b.nhs_number),
            Event::Recovery(_) => None,
        }
    }
}

/// The wire form of an entry without its hash: the bytes that are hashed.
#[derive(Serialize)]
struct UnsealedOut<'a> {
    seq: Sequence,
    prev: EntryHash,
    #[serde(skip_serializing_if = "Option::is_none")]
    access: Option<&'a AuditRecord>,
    #[serde(skip_serializing_if = "Option::is_none")]
    completes: Option<Sequence>,
    #[serde(skip_serializing_if = "Option::is_none")]
    begun: Option<&'a AccessBegun>,
    #[serde(skip_serializing_if = "Option::is_none")]
    recovery: Option<&'a Recovery>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UnsealedIn {
    seq: Sequence,
    prev: EntryHash,
    #[serde(default)]
    access: Option<Box<AuditRecord>>,
    #[serde(default)]
    completes: Option<Sequence>,
    #[serde(default)]
    begun: Option<Box<AccessBegun>>,
    #[serde(default)]
    recovery: Option<Recovery>,
}

/// An event already serialized by the caller, ready to be chained: the
/// expensive part of sealing, done outside the single writer. Its JSON is
/// kept without its leading `time`, which the writer stamps (see
/// [`seal_into`]).
#[derive(Clone, Debug)]
pub(crate) struct PreparedEvent {
    /// `access`, `begun` or `recovery`.
    kind: &'static str,
    /// The event's canonical JSON after its `"time":"…"` member (from the
    /// comma after it to the closing brace).
    rest: Vec<u8>,
    /// The time the event was built with, for [`seal`].
    time: Timestamp,
    /// Whose record, for the index.
    pub(crate) nhs: Option<NhsNumber>,
    /// The begun entry an access completes, written after the event as
    /// `"completes":SEQ`.
    pub(crate) completes: Option<Sequence>,
}

/// `,"completes":` — the member naming the begun entry an access completes.
const COMPLETES_PREFIX: &[u8] = b",\"completes\":";

/// `{"time":` — every kind of event starts with its time.
const TIME_PREFIX: &[u8] = b"{\"time\":";

/// The longest `"time":"…"` a [`Timestamp`] writes: `{"time":` and a quoted
/// RFC 3339 time to the microsecond (27 characters).
const MAX_TIME_LEN: usize = TIME_PREFIX.len() + 2 + 27;

impl PreparedEvent {
    fn new(
        kind: &'static str,
        json: Vec<u8>,
        time: Timestamp,
        nhs: Option<NhsNumber>,
    ) -> Result<Self, serde_json::Error> {
        let mut prefix = TIME_PREFIX.to_vec();
        serde_json::to_writer(&mut prefix, &time)?;
        let rest = json
            .strip_prefix(prefix.as_slice())
            .ok_or_else(|| serde::ser::Error::custom("the event does not start with its time"))?
            .to_vec();
        Ok(Self {
            kind,
            rest,
            time,
            nhs,
            completes: None,
        })
    }

    /// Serializes an access record.
    pub(crate) fn access(record: &AuditRecord) -> Result<Self, serde_json::Error> {
        Self::new(
            "access",
            serde_json::to_vec(record)?,
            record.time,
            record.nhs_number,
        )
    }

    /// Serializes the completion of the access begun as entry `begun`.
    pub(crate) fn completion(
        record: &AuditRecord,
        begun: Sequence,
    ) -> Result<Self, serde_json::Error> {
        let mut event = Self::access(record)?;
        event.completes = Some(begun);
        Ok(event)
    }

    /// Serializes a begun access.
    pub(crate) fn begun(begun: &AccessBegun) -> Result<Self, serde_json::Error> {
        Self::new(
            "begun",
            serde_json::to_vec(begun)?,
            begun.time,
            Some(begun.nhs_number),
        )
    }

    /// Serializes a recovery note.
    pub(crate) fn recovery(r: &Recovery) -> Result<Self, serde_json::Error> {
        Self::new("recovery", serde_json::to_vec(r)?, r.time, None)
    }

    /// The longest line (newline excluded) this event can make, whatever
    /// its sequence number and time: what is checked against
    /// [`MAX_LINE_BYTES`].
    pub(crate) fn max_line_len(&self) -> usize {
        // {"seq":N,"prev":"<64>","KIND":{"time":"<27>"REST[,"completes":M]
        // ,"hash":"<64>"} with N and M at most 20 digits.
        let completes = if self.completes.is_some() {
            COMPLETES_PREFIX.len() + 20
        } else {
            0
        };
        7 + 20
            + 9
            + 64
            + 3
            + self.kind.len()
            + 2
            + MAX_TIME_LEN
            + self.rest.len()
            + completes
            + HASH_SUFFIX_LEN
    }
}

/// Seals `event` as the entry after `after`, with `time` as its time:
/// appends its line (newline included) to `out` and returns the new head
/// of the chain.
///
/// The bytes are exactly `serde_json`'s compact serialization of the entry,
/// so [`parse_line`]'s canonical check holds for every line written.
pub(crate) fn seal_into(
    out: &mut Vec<u8>,
    after: ChainPoint,
    event: &PreparedEvent,
    time: Timestamp,
) -> Option<ChainPoint> {
    let seq = after.seq.next()?;
    let start = out.len();
    out.extend_from_slice(b"{\"seq\":");
    out.extend_from_slice(seq.get().to_string().as_bytes());
    out.extend_from_slice(b",\"prev\":\"");
    out.extend_from_slice(after.hash.to_hex().as_bytes());
    out.extend_from_slice(b"\",\"");
    out.extend_from_slice(event.kind.as_bytes());
    out.extend_from_slice(b"\":");
    out.extend_from_slice(TIME_PREFIX);
    // RFC 3339 needs no JSON escaping.
    out.push(b'"');
    out.extend_from_slice(time.to_rfc3339().as_bytes());
    out.push(b'"');
    out.extend_from_slice(&event.rest);
    if let Some(begun) = event.completes {
        out.extend_from_slice(COMPLETES_PREFIX);
        out.extend_from_slice(begun.get().to_string().as_bytes());
    }
    out.push(b'}');
    let hash = EntryHash::of(&out[start..]);
    out.pop();
    out.extend_from_slice(HASH_PREFIX);
    out.extend_from_slice(hash.to_hex().as_bytes());
    out.extend_from_slice(b"\"}\n");
    Some(ChainPoint { seq, hash })
}

/// Seals `event` as the entry after `after`, with the time it holds: its
/// line, newline included, and the new head. `None` if the event cannot be
/// serialized or the sequence is exhausted. This is how the log writes
/// (the log itself stamps each entry with the time it writes it), exposed
/// for tools and tests that build logs in memory.
pub fn seal(after: ChainPoint, event: &Event) -> Option<(Vec<u8>, ChainPoint)> {
    seal_entry(after, event, None)
}

/// [`seal`], for an access that completes the begun entry `completes`
/// when it is `Some` (see [`Entry::completes`]).
pub fn seal_entry(
    after: ChainPoint,
    event: &Event,
    completes: Option<Sequence>,
) -> Option<(Vec<u8>, ChainPoint)> {
    let prepared = match (event, completes) {
        (Event::Access(r), None) => PreparedEvent::access(r),
        (Event::Access(r), Some(begun)) => PreparedEvent::completion(r, begun),
        (Event::Begun(b), None) => PreparedEvent::begun(b),
        (Event::Recovery(r), None) => PreparedEvent::recovery(r),
        (Event::Begun(_) | Event::Recovery(_), Some(_)) => return None,
    }
    .ok()?;
    let mut out = Vec::with_capacity(prepared.max_line_len() + 1);
    let head = seal_into(&mut out, after, &prepared, prepared.time)?;
    Some((out, head))
}

/// Why one line is not a valid entry. Messages describe the format only and
/// never quote the line, which holds patient identifiers.
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
pub enum LineError {
    /// Longer than [`MAX_LINE_BYTES`].
    #[error("the line is longer than {MAX_LINE_BYTES} bytes")]
    TooLong,
    /// Does not end with a well-formed `"hash"` member.
    #[error("the line does not end with its \"hash\" (64 lower-case hex digits)")]
    NoHash,
    /// Not JSON (column of the first error, counted in the line).
    #[error("the line is not valid JSON (at column {0})")]
    Syntax(usize),
    /// JSON, but not an audit entry (unknown or missing fields, a value of
    /// the wrong form, not exactly one of `access`, `begun` and
    /// `recovery`, `completes` on another entry than an access or not
    /// naming an earlier one).
    #[error("the line is not an audit entry in this format (at column {0})")]
    Format(usize),
    /// The content does not match the hash: the line was altered.
    #[error("the line's content does not match its hash: it was altered after it was written")]
    HashMismatch,
    /// The content matches its hash but is not in the canonical form the
    /// log writes: it was not written by this log.
    #[error("the line is not in the canonical form the log writes")]
    NotCanonical,
}

/// Reads one line (without its newline) as an entry and checks it against
/// its own hash. The chain (sequence, `prev`) is checked by
/// [`ChainVerifier`].
pub fn parse_line(line: &[u8]) -> Result<Entry, LineError> {
    if line.len() > MAX_LINE_BYTES {
        return Err(LineError::TooLong);
    }
    let body_len = line
        .len()
        .checked_sub(HASH_SUFFIX_LEN)
        .ok_or(LineError::NoHash)?;
    let (body, suffix) = line.split_at(body_len);
    let (prefix, rest) = suffix.split_at(HASH_PREFIX.len());
    let (hex, close) = rest.split_at(64);
    if prefix != HASH_PREFIX || close != b"\"}" {
        return Err(LineError::NoHash);
    }
    let hash = EntryHash::parse_hex(hex).ok_or(LineError::NoHash)?;
    let mut unsealed = Vec::with_capacity(body.len() + 1);
    unsealed.extend_from_slice(body);
    unsealed.push(b'}');
    let parsed: UnsealedIn = serde_json::from_slice(&unsealed).map_err(|e| {
        if e.is_syntax() || e.is_eof() {
            LineError::Syntax(e.column())
        } else {
            LineError::Format(e.column())
        }
    })?;
    if EntryHash::of(&unsealed) != hash {
        return Err(LineError::HashMismatch);
    }
    let out = UnsealedOut {
        seq: parsed.seq,
        prev: parsed.prev,
        access: parsed.access.as_deref(),
        completes: parsed.completes,
        begun: parsed.begun.as_deref(),
        recovery: parsed.recovery.as_ref(),
    };
    if serde_json::to_vec(&out).ok().as_deref() != Some(unsealed.as_slice()) {
        return Err(LineError::NotCanonical);
    }
    let event = match (parsed.access, parsed.begun, parsed.recovery) {
        (Some(a), None, None) => Event::Access(a),
        (None, Some(b), None) => Event::Begun(b),
        (None, None, Some(r)) => Event::Recovery(r),
        _ => return Err(LineError::Format(1)),
    };
    if let Some(begun) = parsed.completes
        && (!matches!(event, Event::Access(_)) || begun >= parsed.seq)
    {
        return Err(LineError::Format(1));
    }
    Ok(Entry {
        seq: parsed.seq,
        prev: parsed.prev,
        event,
        completes: parsed.completes,
        hash,
    })
}

/// Why the chain is broken at an entry.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum ChainError {
    /// The sequence number is not one more than the previous entry's.
    Sequence {
        /// The sequence that should come next.
        expected: Sequence,
        /// The sequence found.
        found: Sequence,
    },
    /// `prev` is not the previous entry's hash.
    Prev {
        /// The previous entry's hash.
        expected: EntryHash,
        /// The `prev` found.
        found: EntryHash,
    },
}

impl fmt::Display for ChainError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ChainError::Sequence { expected, found } => write!(
                f,
                "sequence {found} where {expected} should come next: entries are missing, duplicated, reordered or inserted"
            ),
            ChainError::Prev { expected, found } => write!(
                f,
                "\"prev\" is {found} but the entry before it has hash {expected}: an entry before it was removed, replaced or reordered, or it was appended out of chain"
            ),
        }
    }
}

/// Checks the chain one entry at a time: each entry's sequence must be one
/// more than the last, and its `prev` the last entry's hash. Pure; the file
/// readers and the start-up recovery are built on it.
#[derive(Clone, Debug)]
pub struct ChainVerifier {
    head: ChainPoint,
}

impl ChainVerifier {
    /// A verifier expecting the entry after `start` ([`ChainPoint::GENESIS`]
    /// for a whole log).
    pub fn new(start: ChainPoint) -> Self {
        Self { head: start }
    }

    /// Checks that `entry` follows the head, and makes it the head.
    pub fn push(&mut self, entry: &Entry) -> Result<(), ChainError> {
        let expected = self.head.seq.next().unwrap_or(self.head.seq);
        if entry.seq != expected {
            return Err(ChainError::Sequence {
                expected,
                found: entry.seq,
            });
        }
        if entry.prev != self.head.hash {
            return Err(ChainError::Prev {
                expected: self.head.hash,
                found: entry.prev,
            });
        }
        self.head = entry.point();
        Ok(())
    }

    /// The last entry checked (or the start).
    pub fn head(&self) -> ChainPoint {
        self.head
    }
}

#[cfg(test)]
mod tests {
    use icr_model::{OdsCode, SectionSet};

    use super::*;
    use crate::record::{Interaction, RequestId, User};

    fn begun() -> AccessBegun {
        AccessBegun {
            time: Timestamp::parse("2026-11-26T09:14:03.120512Z").unwrap(),
            request_id: RequestId::parse("r-1").unwrap(),
            interaction: Interaction::Record,
            user: User {
                issuer: None,
                sub: "u".into(),
                name: "Dr U".into(),
                role: "R8000".into(),
                org: OdsCode::parse("RN3").unwrap(),
            },
            calling_system: None,
            nhs_number: NhsNumber::parse("9990000018").unwrap(),
            purpose: "directcare".into(),
            break_glass_reason: None,
            sections_requested: SectionSet::EMPTY,
        }
    }

    /// The line without its newline, re-sealed after `edit` (so that only
    /// the format, not the hash, can be wrong).
    fn resealed(line: &[u8], edit: impl Fn(&str) -> String) -> Vec<u8> {
        let text = std::str::from_utf8(&line[..line.len() - 1 - HASH_SUFFIX_LEN]).unwrap();
        let body = format!("{}}}", edit(text));
        let hash = EntryHash::of(body.as_bytes());
        format!(
            "{},\"hash\":\"{}\"}}",
            &body[..body.len() - 1],
            hash.to_hex()
        )
        .into_bytes()
    }

    /// A whole access by the same user to the same record.
    fn completion() -> AuditRecord {
        let b = begun();
        AuditRecord {
            time: b.time,
            request_id: b.request_id,
            interaction: b.interaction,
            user: Some(b.user),
            calling_system: None,
            nhs_number: Some(b.nhs_number),
            purpose: b.purpose,
            break_glass_reason: None,
            basis: crate::record::Basis::Involved,
            sections_requested: SectionSet::EMPTY,
            sections_released: SectionSet::EMPTY,
            sources: Vec::new(),
            items_released: 0,
            items_withheld: 0,
            shown: crate::shown::ReleasedRecords::NONE,
            decision: crate::record::Decision::Allowed,
            reason: crate::record::ReasonCode::parse("involved").unwrap(),
            http_status: 200,
        }
    }

    #[test]
    fn a_begun_entry_and_its_completion_are_sealed_and_read_back_exactly() {
        let (line, head) = seal(ChainPoint::GENESIS, &Event::Begun(Box::new(begun()))).unwrap();
        assert!(
            line.starts_with(
                b"{\"seq\":1,\"prev\":\"0000000000000000000000000000000000000000000000000000000000000000\",\"begun\":{\"time\":\"2026-11-26T09:14:03.120512Z\",\"request_id\":\"r-1\",\"interaction\":\"record\",\"user\":{\"sub\":\"u\","
            ),
            "{}",
            String::from_utf8_lossy(&line)
        );
        let entry = parse_line(&line[..line.len() - 1]).unwrap();
        assert_eq!(entry.event, Event::Begun(Box::new(begun())));
        assert_eq!(
            (entry.completes, entry.nhs_number()),
            (None, Some(begun().nhs_number))
        );

        // The completion names the begun entry after the record.
        let event = Event::Access(Box::new(completion()));
        let (line, _) = seal_entry(head, &event, Some(Sequence::new(1))).unwrap();
        assert!(
            std::str::from_utf8(&line)
                .unwrap()
                .contains("\"http_status\":200},\"completes\":1,\"hash\":\""),
            "{}",
            String::from_utf8_lossy(&line)
        );
        let entry = parse_line(&line[..line.len() - 1]).unwrap();
        assert_eq!(entry.event, event);
        assert_eq!(entry.completes, Some(Sequence::new(1)));
        assert_eq!(entry.seq, Sequence::new(2));
        // Without `completes`, the same record is a format-1 line.
        let (line, _) = seal(head, &event).unwrap();
        assert!(!std::str::from_utf8(&line).unwrap().contains("completes"));
        assert_eq!(parse_line(&line[..line.len() - 1]).unwrap().completes, None);
    }

    #[test]
    fn completes_names_an_earlier_entry_and_only_on_an_access() {
        let (begun_line, head) =
            seal(ChainPoint::GENESIS, &Event::Begun(Box::new(begun()))).unwrap();
        assert!(
            seal_entry(
                head,
                &Event::Begun(Box::new(begun())),
                Some(Sequence::new(1))
            )
            .is_none()
        );
        // A begun entry carrying `completes` is not an entry of this format.
        let forged = resealed(&begun_line, |t| {
            t.replacen("\"begun\":", "\"completes\":1,\"begun\":", 1)
        });
        assert_eq!(parse_line(&forged), Err(LineError::Format(1)));
        // Nor a completion naming itself or a later entry.
        let event = Event::Access(Box::new(completion()));
        for (completes, ok) in [(1, true), (2, false), (3, false)] {
            let (line, _) = seal_entry(head, &event, Some(Sequence::new(completes))).unwrap();
            let parsed = parse_line(&line[..line.len() - 1]);
            assert_eq!(parsed.is_ok(), ok, "{completes}");
            if !ok {
                assert_eq!(parsed, Err(LineError::Format(1)));
            }
        }
    }

    /// A completion line as format 2 wrote it, before `shown` existed.
    const FORMAT_2_LINE: &str = r#"{"seq":1,"prev":"0000000000000000000000000000000000000000000000000000000000000000","access":{"time":"2026-11-26T09:14:03.120512Z","request_id":"r-1","interaction":"record","user":{"sub":"u","name":"Dr U","role":"R8000","org":"RN3"},"nhs_number":"9990000018","purpose":"directcare","basis":"involved","sections_requested":[],"sections_released":[],"sources":[],"items_released":0,"items_withheld":0,"decision":"allowed","reason":"involved","http_status":200},"hash":"0abb9e0b10ad5d578712f2e6479717f506c49bf46e329bbc185cf1dbd8e90bad"}"#;

    #[test]
    fn a_line_written_before_shown_existed_reads_and_reseals_byte_for_byte() {
        let entry = parse_line(FORMAT_2_LINE.as_bytes()).unwrap();
        let record = entry.access().unwrap();
        assert!(record.shown.is_empty());
        assert_eq!(record, &completion());
        // Sealed again, the same bytes and hash: old chains verify unchanged.
        let (line, head) = seal(ChainPoint::GENESIS, &entry.event).unwrap();
        assert_eq!(line, format!("{FORMAT_2_LINE}\n").into_bytes());
        assert_eq!(head.hash, entry.hash);
    }

    #[test]
    fn the_records_shown_are_sealed_after_the_counts_and_hashed_with_the_rest() {
        let mut record = completion();
        let ids = [
            icr_model::RecordId::parse("ruh:Condition/2").unwrap(),
            icr_model::RecordId::parse("gwh:Observation/7").unwrap(),
            icr_model::RecordId::parse("gwh:Condition/1").unwrap(),
        ];
        record.shown = crate::shown::ReleasedRecords::of(&ids);
        let event = Event::Access(Box::new(record));
        let (line, _) = seal(ChainPoint::GENESIS, &event).unwrap();
        let text = std::str::from_utf8(&line).unwrap();
        assert!(
            text.contains(
                r#""items_withheld":0,"shown":[{"source":"gwh","ids":["Condition/1","Observation/7"]},{"source":"ruh","ids":["Condition/2"]}],"decision":"allowed""#
            ),
            "{text}"
        );
        assert_eq!(parse_line(&line[..line.len() - 1]).unwrap().event, event);
        // An id changed after writing breaks the hash.
        let altered = text
            .trim_end()
            .replacen("Observation/7", "Observation/8", 1);
        assert_eq!(parse_line(altered.as_bytes()), Err(LineError::HashMismatch));
        // An empty list is not how the log writes "nothing shown".
        let empty = resealed(&line, |t| {
            let start = t.find(",\"shown\":").unwrap();
            let end = t.find(",\"decision\"").unwrap();
            format!("{}{}{}", &t[..start], ",\"shown\":[]", &t[end..])
        });
        assert_eq!(parse_line(&empty), Err(LineError::NotCanonical));
        // Nor are ids out of order.
        let unordered = resealed(&line, |t| {
            t.replacen(
                r#"["Condition/1","Observation/7"]"#,
                r#"["Observation/7","Condition/1"]"#,
                1,
            )
        });
        assert!(matches!(parse_line(&unordered), Err(LineError::Format(_))));
    }
}
