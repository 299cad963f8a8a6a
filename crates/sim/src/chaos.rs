//! Chaos fault modes: answers that go wrong the way real systems and
//! networks go wrong, for every simulated protocol.
//!
//! A [`Fault`](crate::Fault) may carry one [`Chaos`] mode and a
//! `chaos_rate`, the fraction of requests (HTTP) or messages (MLLP) it
//! strikes (of connections, for `silent`). As JSON (the control API) or an
//! inline TOML table (`sim.toml`), tagged by `mode`:
//!
//! | mode | HTTP modules | HL7 v2 over MLLP |
//! |---|---|---|
//! | `hang` | reads the request, never answers | reads the query, never answers |
//! | `silent` | accepts the connection, never reads nor writes (decided per connection, before HTTP is spoken) | the same |
//! | `reset` | the head (with the full `Content-Length`) and half the body, then a TCP RST | the start block and half the message, then a TCP RST |
//! | `trickle` | the real answer, `bytes` bytes every `interval_ms` | the real frame, the same way |
//! | `truncate` | the head (full `Content-Length`) and half the body, then a clean close | the start block and half the message, never the end block, then a clean close |
//! | `garbage` | `200`, the module's content type, `bytes` pseudo-random bytes | a valid frame of pseudo-random bytes |
//! | `oversize` | the real answer padded with spaces to `bytes` bytes, streamed (chunked, no `Content-Length`) | one frame of the real answer padded with `NTE` segments to `bytes` bytes |
//! | `status` | status `code`, `Retry-After: retry_after_s`, the module's error body | an `AR` (4xx) or `AE` (5xx) answer with an `ERR` segment |
//! | `failed` | `200` carrying the module's own way of saying it failed (an error OperationOutcome, a SOAP `Server` fault) — a failure inside a success | an `AE` answer with an `ERR` segment |
//! | `wrong_patient` | a full answer about another person ([`wrong_patient_for`]) | the same |
//!
//! Held connections (`hang`, `silent`) are closed after [`HOLD_LIMIT`], or
//! when the source is stopped. Streamed bodies are generated as they are
//! sent, so `oversize` never holds its answer in memory.
//!
//! `wrong_patient` finds the first 10-digit NHS number of the population in
//! the request (path, query, body, or the HL7 message) and substitutes the
//! other person's everywhere in it before the module sees the request.
//! Requests that name a person only by the source's own logical id (FHIR
//! R4 searches by `patient=p…`, CDA `Binary/{id}`) are not changed: they
//! follow on from a first answer that was already about the other person.

use bytes::Bytes;
use icr_model::NhsNumber;
use serde::{Deserialize, Serialize};

use crate::org::{Kind, Org};
use crate::population::{Patient, Population};
use crate::rng::SplitMix64;

/// Most bytes `oversize` or `garbage` may send: 1 GiB.
pub const MAX_CHAOS_BYTES: u64 = 1 << 30;

/// Largest `trickle` chunk: 1 MiB.
pub const MAX_TRICKLE_BYTES: u64 = 1 << 20;

/// Longest `trickle` interval, in milliseconds.
pub const MAX_TRICKLE_INTERVAL_MS: u64 = 60_000;

/// Longest `Retry-After` a `status` answer may give, in seconds.
pub const MAX_RETRY_AFTER_S: u64 = 86_400;

/// Longest a `hang` or `silent` connection is held open before it is closed.
pub const HOLD_LIMIT: std::time::Duration = std::time::Duration::from_secs(300);

/// Garbage bytes sent when `garbage` gives no `bytes` and the real answer
/// is empty.
pub const DEFAULT_GARBAGE_BYTES: u64 = 1024;

/// One chaos mode, tagged by `mode` (see the module documentation). A
/// field the mode does not take, or an unknown one, is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "snake_case", try_from = "RawChaos")]
pub enum Chaos {
    /// Read the request, never answer.
    Hang,
    /// Accept the connection, never read nor write.
    Silent,
    /// Half the answer, then a TCP reset.
    Reset,
    /// The real answer, slowly.
    Trickle {
        /// Bytes per chunk (1 to [`MAX_TRICKLE_BYTES`]).
        bytes: u64,
        /// Pause between chunks, in milliseconds (1 to [`MAX_TRICKLE_INTERVAL_MS`]).
        interval_ms: u64,
    },
    /// Half the answer, then a clean close.
    Truncate,
    /// Pseudo-random bytes where the answer should be.
    Garbage {
        /// How many (1 to [`MAX_CHAOS_BYTES`]); the real answer's length
        /// when not given.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        bytes: Option<u64>,
    },
    /// The real answer padded to a huge size.
    Oversize {
        /// Total bytes (1 to [`MAX_CHAOS_BYTES`]).
        bytes: u64,
    },
    /// An error status (HTTP) or an error acknowledgement (HL7 v2).
    Status {
        /// The HTTP status, 400 to 599 (4xx is an HL7 `AR`, 5xx an `AE`).
        code: u16,
        /// The `Retry-After` header, in seconds (at most [`MAX_RETRY_AFTER_S`]).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        retry_after_s: Option<u64>,
    },
    /// A failure said inside a success: HTTP 200 whose body is the
    /// module's error (an OperationOutcome, a SOAP fault); over HL7 v2, an
    /// `AE` answer.
    Failed,
    /// A full answer about someone else.
    WrongPatient,
}

/// Every mode's name, as in JSON.
pub const MODES: [&str; 10] = [
    "hang",
    "silent",
    "reset",
    "trickle",
    "truncate",
    "garbage",
    "oversize",
    "status",
    "failed",
    "wrong_patient",
];

/// A chaos mode as written: every field any mode takes.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawChaos {
    mode: String,
    #[serde(default)]
    bytes: Option<u64>,
    #[serde(default)]
    interval_ms: Option<u64>,
    #[serde(default)]
    code: Option<u16>,
    #[serde(default)]
    retry_after_s: Option<u64>,
}

impl TryFrom<RawChaos> for Chaos {
    type Error = String;

    fn try_from(r: RawChaos) -> Result<Self, String> {
        let mode = r.mode.chars().take(32).collect::<String>();
        let given = [
            ("bytes", r.bytes.is_some()),
            ("interval_ms", r.interval_ms.is_some()),
            ("code", r.code.is_some()),
            ("retry_after_s", r.retry_after_s.is_some()),
        ];
        let takes: &[&str] = match mode.as_str() {
            "trickle" => &["bytes", "interval_ms"],
            "garbage" | "oversize" => &["bytes"],
            "status" => &["code", "retry_after_s"],
            _ => &[],
        };
        if let Some((field, _)) = given.iter().find(|(f, g)| *g && !takes.contains(f)) {
            return Err(format!("chaos mode {mode:?} takes no field {field:?}"));
        }
        let need = |v: Option<u64>, field: &str| {
            v.ok_or_else(|| format!("chaos mode {mode:?} needs {field:?}"))
        };
        Ok(match mode.as_str() {
            "hang" => Chaos::Hang,
            "silent" => Chaos::Silent,
            "reset" => Chaos::Reset,
            "trickle" => Chaos::Trickle {
                bytes: need(r.bytes, "bytes")?,
                interval_ms: need(r.interval_ms, "interval_ms")?,
            },
            "truncate" => Chaos::Truncate,
            "garbage" => Chaos::Garbage { bytes: r.bytes },
            "oversize" => Chaos::Oversize {
                bytes: need(r.bytes, "bytes")?,
            },
            "status" => Chaos::Status {
                code: r
                    .code
                    .ok_or_else(|| format!("chaos mode {mode:?} needs \"code\""))?,
                retry_after_s: r.retry_after_s,
            },
            "failed" => Chaos::Failed,
            "wrong_patient" => Chaos::WrongPatient,
            _ => {
                return Err(format!(
                    "unknown chaos mode {mode:?}; modes: {}",
                    MODES.join(", ")
                ));
            }
        })
    }
}

impl Chaos {
    /// The mode's name, as in JSON.
    pub fn name(&self) -> &'static str {
        match self {
            Chaos::Hang => "hang",
            Chaos::Silent => "silent",
            Chaos::Reset => "reset",
            Chaos::Trickle { .. } => "trickle",
            Chaos::Truncate => "truncate",
            Chaos::Garbage { .. } => "garbage",
            Chaos::Oversize { .. } => "oversize",
            Chaos::Status { .. } => "status",
            Chaos::Failed => "failed",
            Chaos::WrongPatient => "wrong_patient",
        }
    }

    /// Checks the values are within their bounds.
    pub fn validate(&self) -> Result<(), String> {
        let name = self.name();
        match *self {
            Chaos::Trickle { bytes, interval_ms } => {
                if !(1..=MAX_TRICKLE_BYTES).contains(&bytes) {
                    return Err(format!(
                        "chaos {name}: bytes must be between 1 and {MAX_TRICKLE_BYTES}, not {bytes}"
                    ));
                }
                if !(1..=MAX_TRICKLE_INTERVAL_MS).contains(&interval_ms) {
                    return Err(format!(
                        "chaos {name}: interval_ms must be between 1 and {MAX_TRICKLE_INTERVAL_MS}, not {interval_ms}"
                    ));
                }
            }
            Chaos::Garbage { bytes: Some(bytes) } | Chaos::Oversize { bytes }
                if !(1..=MAX_CHAOS_BYTES).contains(&bytes) =>
            {
                return Err(format!(
                    "chaos {name}: bytes must be between 1 and {MAX_CHAOS_BYTES}, not {bytes}"
                ));
            }
            Chaos::Status {
                code,
                retry_after_s,
            } => {
                if !(400..=599).contains(&code) {
                    return Err(format!(
                        "chaos {name}: code must be an HTTP error status, 400 to 599, not {code}"
                    ));
                }
                if let Some(s) = retry_after_s
                    && s > MAX_RETRY_AFTER_S
                {
                    return Err(format!(
                        "chaos {name}: retry_after_s must be at most {MAX_RETRY_AFTER_S}, not {s}"
                    ));
                }
            }
            _ => {}
        }
        Ok(())
    }
}

/// Whether `org`'s module answers a request about `patient` with their
/// full record: `org` holds them, and for a GP practice they are
/// registered there, not restricted and have not dissented (which GP
/// Connect answers with `404` or `403`).
pub fn answers_in_full(patient: &Patient, org: Org) -> bool {
    if patient.holding(org).is_none() {
        return false;
    }
    match org.kind() {
        Kind::GpConnect => {
            patient.registered_practice() == Some(org)
                && !patient.is_sensitive()
                && !crate::gpconnect::dissents(patient)
        }
        _ => true,
    }
}

/// The person `wrong_patient` answers about when `org` is asked about
/// `nhs`: the next person after them in population order (wrapping round)
/// whom `org` answers in full ([`answers_in_full`]). `None` when `nhs` is
/// not in the population or nobody else qualifies; the request is then
/// answered as it is.
pub fn wrong_patient_for(population: &Population, org: Org, nhs: NhsNumber) -> Option<NhsNumber> {
    let patients = population.iter().as_slice();
    let start = population.position(&nhs)?;
    let n = patients.len();
    (1..n)
        .filter_map(|k| patients.get((start + k) % n))
        .find(|p| answers_in_full(p, org))
        .map(|p| p.nhs_number)
}

/// The first run of exactly ten ASCII digits in `text` that is the NHS
/// number of someone in the population.
pub(crate) fn find_nhs(population: &Population, text: &[u8]) -> Option<NhsNumber> {
    digit_runs(text)
        .filter(|(s, e)| e - s == 10)
        .filter_map(|(s, e)| std::str::from_utf8(text.get(s..e)?).ok())
        .filter_map(|t| NhsNumber::parse(t).ok())
        .find(|n| population.get(n).is_some())
}

/// `text` with every run of exactly ten digits equal to `from` replaced
/// by `to`.
pub(crate) fn substitute(text: &[u8], from: NhsNumber, to: NhsNumber) -> Vec<u8> {
    let (from, to) = (from.as_str().as_bytes(), to.as_str().as_bytes());
    let mut out = Vec::with_capacity(text.len());
    let mut last = 0;
    for (s, e) in digit_runs(text) {
        if text.get(s..e) == Some(from) && to.len() == from.len() {
            out.extend_from_slice(text.get(last..s).unwrap_or_default());
            out.extend_from_slice(to);
            last = e;
        }
    }
    out.extend_from_slice(text.get(last..).unwrap_or_default());
    out
}

/// The same for a string (digits are ASCII, so the result is UTF-8).
pub(crate) fn substitute_str(text: &str, from: NhsNumber, to: NhsNumber) -> String {
    String::from_utf8(substitute(text.as_bytes(), from, to)).unwrap_or_else(|_| text.to_string())
}

/// The `(start, end)` of every maximal run of ASCII digits.
fn digit_runs(text: &[u8]) -> impl Iterator<Item = (usize, usize)> + '_ {
    let mut i = 0;
    std::iter::from_fn(move || {
        while i < text.len() && !text[i].is_ascii_digit() {
            i += 1;
        }
        if i >= text.len() {
            return None;
        }
        let start = i;
        while i < text.len() && text[i].is_ascii_digit() {
            i += 1;
        }
        Some((start, i))
    })
}

/// Size of one generated chunk of a streamed body.
pub(crate) const CHUNK: usize = 64 * 1024;

/// Spaces: the padding of an `oversize` HTTP answer (trailing whitespace
/// is allowed after a JSON or XML document).
static SPACES: [u8; CHUNK] = [b' '; CHUNK];

/// Generated bytes, produced a chunk at a time.
#[derive(Debug)]
pub(crate) struct Filler {
    remaining: u64,
    kind: FillKind,
}

#[derive(Debug)]
enum FillKind {
    Spaces,
    /// Lines of `NTE|1||xxx…` (HL7 v2 padding).
    Notes,
    /// Pseudo-random bytes; the first is `0xFF` (never valid UTF-8, so
    /// never JSON, XML or HL7); `avoid` bytes are replaced.
    Garbage {
        rng: SplitMix64,
        first: bool,
        avoid: &'static [u8],
    },
}

impl Filler {
    /// `n` spaces.
    pub fn spaces(n: u64) -> Self {
        Self {
            remaining: n,
            kind: FillKind::Spaces,
        }
    }

    /// `n` bytes of HL7 v2 `NTE` segments.
    pub fn notes(n: u64) -> Self {
        Self {
            remaining: n,
            kind: FillKind::Notes,
        }
    }

    /// `n` pseudo-random bytes from `seed`, none of them in `avoid`.
    pub fn garbage(n: u64, seed: u64, avoid: &'static [u8]) -> Self {
        Self {
            remaining: n,
            kind: FillKind::Garbage {
                rng: SplitMix64::new(seed),
                first: true,
                avoid,
            },
        }
    }

    /// Bytes still to come.
    pub fn remaining(&self) -> u64 {
        self.remaining
    }

    /// The next chunk (at most [`CHUNK`] bytes), or `None` when done.
    pub fn next_chunk(&mut self) -> Option<Bytes> {
        if self.remaining == 0 {
            return None;
        }
        let n = usize::try_from(self.remaining).unwrap_or(CHUNK).min(CHUNK);
        self.remaining -= n as u64;
        Some(match &mut self.kind {
            FillKind::Spaces => Bytes::from_static(&SPACES[..n]),
            FillKind::Notes => Bytes::from_static(&NOTES.get_or_init(notes_block)[..n]),
            FillKind::Garbage { rng, first, avoid } => {
                let mut out = Vec::with_capacity(n + 8);
                while out.len() < n {
                    out.extend_from_slice(&rng.next_u64().to_le_bytes());
                }
                out.truncate(n);
                for b in &mut out {
                    if avoid.contains(b) {
                        *b = b'?';
                    }
                }
                if *first && let Some(b) = out.first_mut() {
                    *b = 0xFF;
                }
                *first = false;
                Bytes::from(out)
            }
        })
    }
}

static NOTES: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();

/// 64 lines of 1024 bytes: `NTE|1||` then `x`s then a carriage return.
fn notes_block() -> Vec<u8> {
    let mut out = Vec::with_capacity(CHUNK);
    while out.len() < CHUNK {
        out.extend_from_slice(b"NTE|1||");
        out.resize(out.len() + 1016, b'x');
        out.push(b'\r');
    }
    out.truncate(CHUNK);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_shapes() {
        let cases = [
            (r#"{"mode":"hang"}"#, Chaos::Hang),
            (r#"{"mode":"silent"}"#, Chaos::Silent),
            (r#"{"mode":"reset"}"#, Chaos::Reset),
            (
                r#"{"mode":"trickle","bytes":64,"interval_ms":200}"#,
                Chaos::Trickle {
                    bytes: 64,
                    interval_ms: 200,
                },
            ),
            (r#"{"mode":"truncate"}"#, Chaos::Truncate),
            (r#"{"mode":"garbage"}"#, Chaos::Garbage { bytes: None }),
            (
                r#"{"mode":"garbage","bytes":10}"#,
                Chaos::Garbage { bytes: Some(10) },
            ),
            (
                r#"{"mode":"oversize","bytes":67108864}"#,
                Chaos::Oversize { bytes: 67_108_864 },
            ),
            (
                r#"{"mode":"status","code":503,"retry_after_s":5}"#,
                Chaos::Status {
                    code: 503,
                    retry_after_s: Some(5),
                },
            ),
            (r#"{"mode":"wrong_patient"}"#, Chaos::WrongPatient),
        ];
        for (json, want) in cases {
            let got: Chaos = serde_json::from_str(json).unwrap();
            assert_eq!(got, want, "{json}");
            assert_eq!(serde_json::to_string(&got).unwrap(), json);
            assert!(got.validate().is_ok());
        }
        for bad in [
            r#"{"mode":"hang","bytes":1}"#,
            r#"{"mode":"trickle","bytes":64}"#,
            r#"{"mode":"trickle","bytes":64,"interval_ms":1,"x":1}"#,
            r#"{"mode":"explode"}"#,
            r#"{"bytes":1}"#,
            r#"{"mode":"status","code":-1}"#,
        ] {
            assert!(serde_json::from_str::<Chaos>(bad).is_err(), "{bad}");
        }
        for bad in [
            Chaos::Trickle {
                bytes: 0,
                interval_ms: 1,
            },
            Chaos::Trickle {
                bytes: 1,
                interval_ms: 60_001,
            },
            Chaos::Oversize {
                bytes: MAX_CHAOS_BYTES + 1,
            },
            Chaos::Garbage { bytes: Some(0) },
            Chaos::Status {
                code: 200,
                retry_after_s: None,
            },
            Chaos::Status {
                code: 503,
                retry_after_s: Some(MAX_RETRY_AFTER_S + 1),
            },
        ] {
            assert!(bad.validate().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn substitution_takes_exact_runs_only() {
        let a = NhsNumber::parse("9990000018").unwrap();
        let b = NhsNumber::parse("9990000026").unwrap();
        let text = b"x=9990000018&y=19990000018&z=9990000018|9990000018";
        assert_eq!(
            substitute(text, a, b),
            b"x=9990000026&y=19990000018&z=9990000026|9990000026".to_vec()
        );
        assert_eq!(substitute(b"", a, b), b"".to_vec());
        assert_eq!(
            substitute_str("/Patient/9990000018", a, b),
            "/Patient/9990000026"
        );
    }

    #[test]
    fn wrong_patient_is_the_next_one_held_and_never_the_same() {
        let pop = Population::generate(7, 120);
        for org in [Org::GWH, Org::PDS, Org::PATHOLOGY, Org::MEDVIVO] {
            let held: Vec<&Patient> = pop.iter().filter(|p| answers_in_full(p, org)).collect();
            assert!(held.len() > 2, "{}", org.id());
            for w in held.windows(2) {
                assert_eq!(
                    wrong_patient_for(&pop, org, w[0].nhs_number),
                    Some(w[1].nhs_number)
                );
            }
            let last = held[held.len() - 1].nhs_number;
            assert_eq!(wrong_patient_for(&pop, org, last), Some(held[0].nhs_number));
        }
        let nobody = NhsNumber::parse("9990000999").ok();
        if let Some(n) = nobody.filter(|n| pop.get(n).is_none()) {
            assert_eq!(wrong_patient_for(&pop, Org::GWH, n), None);
        }
        let text = format!("a 123 {} b", pop.iter().nth(3).unwrap().nhs_number);
        assert_eq!(
            find_nhs(&pop, text.as_bytes()),
            Some(pop.iter().nth(3).unwrap().nhs_number)
        );
    }

    #[test]
    fn fillers_are_bounded_and_deterministic() {
        let mut f = Filler::garbage(CHUNK as u64 + 10, 3, &[0x0B, 0x1C]);
        let a = f.next_chunk().unwrap();
        let b = f.next_chunk().unwrap();
        assert_eq!((a.len(), b.len()), (CHUNK, 10));
        assert!(f.next_chunk().is_none());
        assert_eq!(a[0], 0xFF);
        assert!(!a.iter().chain(b.iter()).any(|x| *x == 0x0B || *x == 0x1C));
        let again = Filler::garbage(5, 3, &[0x0B, 0x1C]).next_chunk().unwrap();
        assert_eq!(&again[1..], &a[1..5]);
        let notes = Filler::notes(2048).next_chunk().unwrap();
        assert!(notes.starts_with(b"NTE|1||x"));
        assert_eq!(notes[1023], b'\r');
        assert_eq!(Filler::spaces(3).next_chunk().unwrap(), &b"   "[..]);
    }
}
