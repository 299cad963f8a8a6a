//! Reading the RSP^K11 answer (pure, no I/O): is it the answer to our
//! query, did the source succeed, is it about the person asked for; then
//! the results, by [`map_results`].
//!
//! | answer | outcome |
//! |---|---|
//! | not HL7, no MSA, MSA-2 not our control id, MSA-1 not an acknowledgment code | `Malformed` |
//! | MSA-1 `AE`/`CE` (application error) | `Refused` |
//! | MSA-1 `AR`/`CR` (rejected) | `Refused` |
//! | MSA-1 `AA` with an ERR of severity `E`/`F` (whatever QAK-2 says) | `Refused` |
//! | not RSP^K11 (an ACK with `AA`), no QAK, QAK-1 not our query tag, QAK-2 empty or unknown | `Malformed` |
//! | QAK-2 `NF` with results (OBR/OBX): a contradiction | `Malformed` |
//! | QAK-2 `NF` | `PatientNotFound`: the only "no record" |
//! | QAK-2 `AE`/`AR` | `Refused` |
//! | QAK-2 `OK`: a PID whose NHS number is not the one asked for, or none | `IdentityMismatch`, nothing used |
//! | QAK-2 `OK` | the results; `truncated` when QAK-6 or DSC says there is more; ERR warnings are notes |
//!
//! A refusal names the acknowledgment or query status, the ERR codes with
//! their HL7 table 0357 meaning, and quotes the source's own words —
//! MSA-3, then each ERR's ERR-8 (user message), ERR-7 (diagnostic
//! information) and ERR-5's text — through
//! [`quoting_source`](icr_adapter_sdk::quoting_source), which bounds them
//! and flattens control characters. They go to the caller who asked about
//! this person, never to a log. Every shape is tested against a loopback
//! lab in `tests/failure_shapes.rs`.

use std::sync::Arc;

use icr_adapter_sdk::{SourceError, quoting_source};
use icr_hl7v2::dtm::LocalZone;
use icr_hl7v2::{Limits, Message, Segment};
use icr_model::{IssueKind, NhsNumber, Section, SectionSet, SourceIssue, SourceMeta, SourceRecord};

use crate::map::{MapContext, map_results};

/// The NHS number's OID, as some senders give the assigning authority.
const NHS_NUMBER_OID: &str = "2.16.840.1.113883.2.1.4.1";

/// What the answer must match.
#[derive(Clone, Copy, Debug)]
pub struct Expected<'a> {
    /// The query's MSH-10, which MSA-2 must echo.
    pub control_id: &'a str,
    /// The query's QPD-2, which QAK-1 must echo (when the source fills it).
    pub query_tag: &'a str,
    /// The person asked about.
    pub nhs_number: NhsNumber,
}

/// How to read the answer.
#[derive(Clone, Debug)]
pub struct ReadContext<'a> {
    /// The source, for provenance.
    pub meta: &'a Arc<SourceMeta>,
    /// Zone of times without an offset when MSH-7 has none.
    pub local_zone: LocalZone,
    /// Bounds on the message.
    pub limits: Limits,
    /// The sections asked for: results are read only when `results` is
    /// among them.
    pub sections: SectionSet,
}

/// Reads an answer to the query described by `expected`.
pub fn read_answer(
    bytes: &[u8],
    expected: &Expected<'_>,
    ctx: &ReadContext<'_>,
) -> Result<SourceRecord, SourceError> {
    let message = Message::parse(bytes, &ctx.limits).map_err(|e| {
        SourceError::Malformed(format!("the answer is not a readable HL7 v2 message: {e}"))
    })?;
    let mut issues = Vec::new();
    check_acknowledgement(&message, expected, &mut issues)?;
    let [code, event, _] = message.message_type();
    if code != "RSP" || !(event.is_empty() || event == "K11") {
        return Err(SourceError::Malformed(format!(
            "expected an RSP^K11 answer, got {}",
            protocol_token(&format!("{code}^{event}"))
        )));
    }
    let qak = message
        .segment("QAK")
        .ok_or_else(|| SourceError::Malformed("the answer has no QAK segment".into()))?;
    if let Some(tag) = qak.field(1).value()
        && tag != expected.query_tag
    {
        return Err(SourceError::Malformed(
            "the answer is for another query (QAK-1 is not our query tag)".into(),
        ));
    }
    match qak.field(2).text().trim() {
        "OK" => {}
        "NF" if has_results(&message) => {
            return Err(SourceError::Malformed(
                "the answer says nothing was found (QAK-2 NF) yet carries results".into(),
            ));
        }
        "NF" => return Err(SourceError::PatientNotFound),
        "AE" => {
            return Err(refused(
                &message,
                "the source reported an application error for the query (QAK-2 AE)",
            ));
        }
        "AR" => {
            return Err(refused(
                &message,
                "the source rejected the query (QAK-2 AR)",
            ));
        }
        "" => {
            return Err(SourceError::Malformed(
                "the answer has no query response status (QAK-2)".into(),
            ));
        }
        other => {
            return Err(SourceError::Malformed(format!(
                "unknown query response status {} in QAK-2",
                protocol_token(other)
            )));
        }
    }
    let first_pid = check_identity(&message, expected.nhs_number)?;
    if more_available(&message, qak) {
        issues.push(SourceIssue {
            kind: IssueKind::Truncated,
            section: Some(Section::Results),
            message: "the source holds more results than one answer carries (QAK-6 or DSC); \
                      only the first answer was read"
                .into(),
        });
    }
    let mut record = SourceRecord {
        wire_bytes: bytes.len(),
        ..SourceRecord::default()
    };
    if let Some(from) = first_pid
        && ctx.sections.contains(Section::Results)
    {
        let zone = LocalZone::for_message(&message.msh().field(7).text(), ctx.local_zone);
        let mapped = map_results(
            &message,
            from,
            &MapContext {
                meta: ctx.meta,
                zone,
            },
        );
        record.items = mapped.items;
        issues.extend(mapped.issues);
    }
    record.issues = issues;
    Ok(record)
}

/// MSA: our control id, and success; ERR warnings become notes.
fn check_acknowledgement(
    message: &Message,
    expected: &Expected<'_>,
    issues: &mut Vec<SourceIssue>,
) -> Result<(), SourceError> {
    let msa = message
        .segment("MSA")
        .ok_or_else(|| SourceError::Malformed("the answer has no MSA segment".into()))?;
    if msa.field(2).text().trim() != expected.control_id {
        return Err(SourceError::Malformed(
            "the answer acknowledges another message (MSA-2 is not our control id)".into(),
        ));
    }
    match msa.field(1).text().trim() {
        "AA" | "CA" => {}
        code @ ("AE" | "CE") => {
            return Err(refused(
                message,
                &format!("the source answered with an application error (MSA-1 {code})"),
            ));
        }
        code @ ("AR" | "CR") => {
            return Err(refused(
                message,
                &format!("the source rejected the query (MSA-1 {code})"),
            ));
        }
        _ => {
            return Err(SourceError::Malformed(
                "MSA-1 is not an acknowledgment code".into(),
            ));
        }
    }
    let errors = message.segments().filter(|s| s.id() == "ERR");
    let (mut fatal, mut warnings) = (false, 0);
    for err in errors {
        match err.field(4).text().trim() {
            "E" | "F" => fatal = true,
            _ => warnings += 1,
        }
    }
    if fatal {
        return Err(refused(
            message,
            "the source reported an error (ERR severity E)",
        ));
    }
    if warnings > 0 {
        issues.push(SourceIssue {
            kind: IssueKind::Note,
            section: None,
            message: quoting_source(
                format!(
                    "the source sent {warnings} warning(s) with its answer{}",
                    err_codes(message)
                ),
                &words(message),
            ),
        });
    }
    Ok(())
}

/// The source refusing or failing the query: `what`, the ERR codes, and
/// the source's own words.
fn refused(message: &Message, what: &str) -> SourceError {
    SourceError::Refused(quoting_source(
        format!("{what}{}", err_codes(message)),
        &words(message),
    ))
}

/// Most ERR segments read for codes and words.
const MAX_ERR: usize = 5;

/// The source's own words about what went wrong: MSA-3 (text message),
/// then each ERR's ERR-8 (user message), ERR-7 (diagnostic information)
/// and ERR-5's text (the application error), each once, joined with `; `.
/// Quoted only through [`quoting_source`], which bounds them.
fn words(message: &Message) -> String {
    let mut said: Vec<String> = Vec::new();
    let mut add = |text: std::borrow::Cow<'_, str>| {
        let text = text.trim();
        if !text.is_empty() && !said.iter().any(|s| s == text) {
            said.push(text.to_string());
        }
    };
    if let Some(msa) = message.segment("MSA") {
        add(msa.field(3).repetition(1).full_text());
    }
    for err in message.segments().filter(|s| s.id() == "ERR").take(MAX_ERR) {
        add(err.field(8).repetition(1).full_text());
        add(err.field(7).repetition(1).full_text());
        add(err.field(5).component(2).full_text());
    }
    said.join("; ")
}

/// True when the answer carries results (an OBR or OBX).
fn has_results(message: &Message) -> bool {
    message.segments().any(|s| matches!(s.id(), "OBR" | "OBX"))
}

/// The ERR segments' error codes (ERR-3, or ERR-1.4 before v2.5) with
/// their table 0357 meaning: `: ERR code 204 (unknown key identifier)`.
fn err_codes(message: &Message) -> String {
    let codes: Vec<String> = message
        .segments()
        .filter(|s| s.id() == "ERR")
        .filter_map(|err| {
            let v25 = err.field(3).component(1).value();
            let v23 = err.field(1).component(4).subcomponent(1).value();
            let code = v25.or(v23)?;
            let code = protocol_token(code.trim());
            Some(match error_meaning(&code) {
                Some(m) => format!("{code} ({m})"),
                None => code,
            })
        })
        .take(MAX_ERR)
        .collect();
    if codes.is_empty() {
        String::new()
    } else {
        format!(": ERR code {}", codes.join(", "))
    }
}

/// HL7 table 0357, message error condition codes.
fn error_meaning(code: &str) -> Option<&'static str> {
    Some(match code {
        "0" => "message accepted",
        "100" => "segment sequence error",
        "101" => "required field missing",
        "102" => "data type error",
        "103" => "table value not found",
        "104" => "value too long",
        "200" => "unsupported message type",
        "201" => "unsupported event code",
        "202" => "unsupported processing id",
        "203" => "unsupported version id",
        "204" => "unknown key identifier",
        "205" => "duplicate key identifier",
        "206" => "application record locked",
        "207" => "application internal error",
        _ => return None,
    })
}

/// A protocol code from the answer as safe to show: short, letters, digits
/// and `^ _ . -` only; anything else is shown as `?`.
fn protocol_token(s: &str) -> String {
    let ok = !s.is_empty()
        && s.len() <= 20
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'^' | b'_' | b'.' | b'-'));
    if ok { s.to_string() } else { "?".into() }
}

/// Every PID must carry the NHS number asked for (PID-3, or PID-2 as
/// older UK interfaces send it). Returns the first PID's position.
fn check_identity(message: &Message, asked: NhsNumber) -> Result<Option<usize>, SourceError> {
    let mut first = None;
    let mut has_results = false;
    for (i, seg) in message.segments().enumerate() {
        match seg.id() {
            "PID" => {
                first.get_or_insert(i);
                let numbers = nhs_numbers(seg);
                if numbers.is_empty() {
                    return Err(SourceError::IdentityMismatch(
                        "the answer's PID carries no NHS number".into(),
                    ));
                }
                if numbers.iter().any(|n| *n != Some(asked)) {
                    return Err(SourceError::IdentityMismatch(
                        "the answer's PID is about another NHS number".into(),
                    ));
                }
            }
            "OBR" | "OBX" => has_results = true,
            _ => {}
        }
    }
    if first.is_none() && has_results {
        return Err(SourceError::IdentityMismatch(
            "the answer has results but no PID".into(),
        ));
    }
    Ok(first)
}

/// The NHS numbers a PID carries: identifiers of type `NH` (or `NHS`,
/// `NHSNMBR`) or assigned by `NHS` (or the NHS number OID); `None` for one
/// that is not a valid NHS number.
fn nhs_numbers(pid: Segment<'_>) -> Vec<Option<NhsNumber>> {
    [pid.field(3), pid.field(2)]
        .into_iter()
        .flat_map(|f| f.repetitions())
        .filter(|cx| {
            let kind = cx.component(5).text().trim().to_ascii_uppercase();
            let authority = cx.component(4);
            let namespace = authority.subcomponent(1).text().trim().to_ascii_uppercase();
            let oid = authority.subcomponent(2).text();
            matches!(kind.as_str(), "NH" | "NHS" | "NHSNMBR" | "NHSNBR")
                || matches!(namespace.as_str(), "NHS" | "NHSNBR" | "NHSNMBR")
                || oid.trim() == NHS_NUMBER_OID
        })
        .map(|cx| NhsNumber::parse_formatted(&cx.component(1).text()).ok())
        .collect()
}

/// QAK-6 (hits remaining) above zero, or a DSC continuation pointer.
fn more_available(message: &Message, qak: Segment<'_>) -> bool {
    let remaining = qak
        .field(6)
        .value()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .unwrap_or(0);
    let dsc = message
        .segment("DSC")
        .is_some_and(|d| d.field(1).value().is_some());
    remaining > 0 || dsc
}
