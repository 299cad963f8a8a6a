//! The HL7 v2 protocol module: a laboratory or imaging system answering
//! QBP^Q11 "results for patient" queries over MLLP, from the results its
//! organisation (the pathology or the imaging network) holds in the
//! population.
//!
//! The query is the one the `hl7v2` adapter sends:
//!
//! ```text
//! MSH|^~\&|ICR|ICR|...|...|{time}||QBP^Q11^QBP_Q11|{control id}|P|2.5.1
//! QPD|ICR_RESULTS^Results for patient^HL70471|{query tag}|{NHS number}^^^NHS^NH
//! RCP|I|{quantity limit}^RD
//! ```
//!
//! and the answer an RSP^K11^RSP_K11 (v2.5.1):
//!
//! - someone the organisation holds: `MSA|AA`, `QAK|{tag}|OK|…|{hits}|{sent}|{remaining}`,
//!   the QPD echoed, a PID (NHS number `^^^NHS^NH` and the local id), then
//!   the observations that belong to no report as OBX (+ NTE), then each
//!   report as ORC, OBR (+ NTE) and its observations as OBX (+ NTE); an
//!   imaging report's conclusion as TX lines under its OBR. At most the
//!   RCP-2 quantity of hits (a report or a lone observation; 500 by
//!   default) is sent, and QAK says how many remain;
//! - someone it does not hold: `MSA|AA`, `QAK|{tag}|NF`;
//! - a query it cannot read (not HL7, not QBP^Q11, not the ICR_RESULTS
//!   query, no valid NHS number): `MSA|AR` with an ERR naming the HL7
//!   table 0357 code (100, 101, 102, 103, 200, 201, 202, 203);
//! - the error-rate fault: `MSA|AE`, `QAK|{tag}|AE` and `ERR` 207
//!   (application internal error) — an application error, not a dropped
//!   connection, so the gateway sees a source that answered and failed.
//!
//! Latency is added before every answer; `down` is the shared listener's.
//! The chaos modes (`crate::chaos`) are applied here, per message
//! (`silent`: per connection): `hang` reads the query and never answers;
//! `silent` never reads; `reset` sends the start block and half the
//! message, then a TCP RST; `truncate` the same, then a clean close (never
//! the end block); `trickle` sends the frame `bytes` at a time;
//! `garbage` a valid frame of pseudo-random bytes (never a start or end
//! byte; the first is `0xFF`); `oversize` one frame of the answer padded
//! with `NTE|1||xxx…` segments to `bytes`; `status` an `AR` (4xx) or `AE`
//! (5xx) answer with ERR 207 and the code in ERR-5 ([`status_error`]);
//! `wrong_patient` answers about another person ([`other_person`]).
//! A connection is bounded: a query of at most [`MAX_MESSAGE_BYTES`], which
//! must arrive within [`MESSAGE_TIMEOUT`] once begun, and at most
//! [`IDLE_TIMEOUT`] between queries; anything out of MLLP step closes it.

use std::sync::Arc;
use std::time::Duration;

use icr_hl7v2::dtm::{format_dtm, format_instant};
use icr_hl7v2::mllp::{CR, Deframer, END, START, encode_frame};
use icr_hl7v2::{Delimiters, FieldValue, Limits, Message, MessageWriter, Segment};
use icr_model::{
    CodeSystem, Concept, Entry, Gender, NhsNumber, Quantity, RecordId, ReferenceRange, ResultKind,
    ResultStatus, ResultValue, TestResult,
};
use time::OffsetDateTime;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;

use crate::chaos::{self, Chaos, Filler, HOLD_LIMIT};
use crate::org::Org;
use crate::population::{Holding, OrgRecord};
use crate::protocol::{BoxFuture, SourceCtx, TcpModule};
use crate::server::RESET_PAUSE;

/// Largest query read, in bytes (a query is a few hundred).
pub const MAX_MESSAGE_BYTES: usize = 64 * 1024;
/// How long a query may take to arrive once its first byte has.
pub const MESSAGE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a connection may sit idle between queries.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// The query name (QPD-1) this module answers.
pub const QUERY_NAME: &str = "ICR_RESULTS";
/// Hits sent when the query gives no quantity limit.
pub const DEFAULT_QUANTITY: usize = 500;
/// The most hits one answer carries, whatever the query asks.
pub const MAX_QUANTITY: usize = 10_000;

/// The HL7 v2 over MLLP module.
pub struct Mllp;

impl TcpModule for Mllp {
    fn scheme(&self) -> &'static str {
        "mllp"
    }

    fn serve(&self, stream: TcpStream, ctx: Arc<SourceCtx>) -> BoxFuture {
        Box::pin(serve(stream, ctx))
    }
}

/// Serves one connection: frames in, one answer per frame out.
async fn serve(mut stream: TcpStream, ctx: Arc<SourceCtx>) {
    if ctx.draw_silent() {
        // Never read nor written; closed after the hold limit, or when the
        // listener stops.
        tokio::time::sleep(HOLD_LIMIT).await;
        return;
    }
    let mut deframer = Deframer::new(MAX_MESSAGE_BYTES);
    let mut buf = vec![0u8; 8192];
    let mut begun: Option<Instant> = None;
    loop {
        let until = match begun {
            Some(start) => start + MESSAGE_TIMEOUT,
            None => Instant::now() + IDLE_TIMEOUT,
        };
        let n = match tokio::time::timeout_at(until, stream.read(&mut buf)).await {
            Ok(Ok(n)) if n > 0 => n,
            _ => return,
        };
        if deframer.push(&buf[..n]).is_err() {
            return;
        }
        while let Some(frame) = deframer.next_frame() {
            let fault = ctx.draw_fault();
            if !fault.delay.is_zero() {
                tokio::time::sleep(fault.delay).await;
            }
            let now = OffsetDateTime::now_utc();
            let answer = match fault.chaos {
                Some(Chaos::Hang) => {
                    hold(&mut stream).await;
                    return;
                }
                Some(Chaos::Status {
                    code,
                    retry_after_s,
                }) => status_error(&ctx, &frame, code, retry_after_s, now),
                Some(Chaos::Failed) => status_error(&ctx, &frame, 500, None, now),
                Some(Chaos::WrongPatient) => match other_person(&ctx, &frame) {
                    Some(query) => respond(&ctx, &query, now),
                    None => respond(&ctx, &frame, now),
                },
                None if fault.fail => application_error(&ctx, &frame, now),
                _ => respond(&ctx, &frame, now),
            };
            if !send(&mut stream, answer.as_bytes(), fault.chaos, fault.seed).await {
                return;
            }
        }
        begun = match deframer.pending() {
            Some(_) => begun.or_else(|| Some(Instant::now())),
            None => None,
        };
    }
}

/// For `hang`: reads and drops whatever arrives, never answering, until
/// the peer closes the connection or [`HOLD_LIMIT`] passes.
async fn hold(stream: &mut TcpStream) {
    let mut buf = [0u8; 1024];
    let _ = tokio::time::timeout(HOLD_LIMIT, async {
        while let Ok(n) = stream.read(&mut buf).await {
            if n == 0 {
                break;
            }
        }
    })
    .await;
}

/// Sends one answer, framed, as the chaos mode says. False when the
/// connection is to be closed (a write failed, or the mode cut it).
async fn send(stream: &mut TcpStream, message: &[u8], chaos: Option<Chaos>, seed: u64) -> bool {
    let Ok(framed) = encode_frame(message) else {
        return false;
    };
    // The start block and half the message.
    let half = framed.get(..1 + message.len() / 2).unwrap_or_default();
    match chaos {
        Some(Chaos::Reset) => {
            let _ = stream.write_all(half).await;
            let _ = stream.flush().await;
            tokio::time::sleep(RESET_PAUSE).await;
            let _ = stream.set_zero_linger();
            false
        }
        Some(Chaos::Truncate) => {
            let _ = stream.write_all(half).await;
            let _ = stream.shutdown().await;
            false
        }
        Some(Chaos::Trickle { bytes, interval_ms }) => {
            let chunk = usize::try_from(bytes).unwrap_or(usize::MAX).max(1);
            for (i, part) in framed.chunks(chunk).enumerate() {
                if i > 0 {
                    tokio::time::sleep(Duration::from_millis(interval_ms)).await;
                }
                if stream.write_all(part).await.is_err() {
                    return false;
                }
            }
            true
        }
        Some(Chaos::Garbage { bytes }) => {
            let n = match bytes.unwrap_or(message.len() as u64) {
                0 => chaos::DEFAULT_GARBAGE_BYTES,
                n => n,
            };
            let filler = Filler::garbage(n, seed, &[START, END]);
            send_padded(stream, &[], filler).await
        }
        Some(Chaos::Oversize { bytes }) => {
            let mut message = message.to_vec();
            if !message.is_empty() && !message.ends_with(b"\r") {
                message.push(b'\r');
            }
            let filler = Filler::notes(bytes.saturating_sub(message.len() as u64 + 3));
            send_padded(stream, &message, filler).await
        }
        _ => stream.write_all(&framed).await.is_ok(),
    }
}

/// Sends one frame of `message` followed by generated bytes, a chunk at a
/// time.
async fn send_padded(stream: &mut TcpStream, message: &[u8], mut filler: Filler) -> bool {
    let mut start = vec![START];
    start.extend_from_slice(message);
    if stream.write_all(&start).await.is_err() {
        return false;
    }
    while let Some(chunk) = filler.next_chunk() {
        if stream.write_all(&chunk).await.is_err() {
            return false;
        }
    }
    stream.write_all(&[END, CR]).await.is_ok()
}

/// A query, as read.
struct Query<'m> {
    control_id: String,
    tag: String,
    nhs: NhsNumber,
    limit: usize,
    message: &'m Message,
}

/// Why a query is refused: the table 0357 code, its text, and where.
struct Refusal {
    code: &'static str,
    text: &'static str,
    location: &'static str,
}

const fn refusal(code: &'static str, text: &'static str, location: &'static str) -> Refusal {
    Refusal {
        code,
        text,
        location,
    }
}

/// The answer to one framed message. Pure: `now` is the answer's MSH-7.
pub fn respond(ctx: &SourceCtx, request: &[u8], now: OffsetDateTime) -> String {
    let Some(org) = ctx.orgs().first().copied() else {
        return String::new();
    };
    let limits = Limits {
        max_message_bytes: MAX_MESSAGE_BYTES,
        ..Limits::default()
    };
    let Ok(message) = Message::parse(request, &limits) else {
        let r = refusal("100", "Segment sequence error", "MSH");
        return refuse(org, None, &r, now);
    };
    let query = match read_query(&message) {
        Ok(q) => q,
        Err(r) => return refuse(org, Some(&message), &r, now),
    };
    let holding = ctx
        .population()
        .get(&query.nhs)
        .and_then(|p| p.holding(org));
    answer(org, &query, holding, now)
}

/// The answer to a query when the error-rate fault strikes: an application
/// error (AE) with ERR 207.
pub fn application_error(ctx: &SourceCtx, request: &[u8], now: OffsetDateTime) -> String {
    error_answer(ctx, request, "AE", &[], now)
}

/// The answer to a query when the `status` chaos mode strikes: an
/// application reject (`AR`) for a 4xx `code`, an application error (`AE`)
/// for a 5xx, with ERR 207; ERR-5 carries the code as `{code}^HTTP status`
/// and ERR-8 says when to retry.
pub fn status_error(
    ctx: &SourceCtx,
    request: &[u8],
    code: u16,
    retry_after_s: Option<u64>,
    now: OffsetDateTime,
) -> String {
    let ack = if code < 500 { "AR" } else { "AE" };
    let message = match retry_after_s {
        Some(s) => format!("simulated status {code} (chaos fault); retry after {s} s"),
        None => format!("simulated status {code} (chaos fault); try again later"),
    };
    let code = code.to_string();
    let extra = [
        FieldValue::components([code.as_str(), "HTTP status"]),
        FieldValue::empty(),
        FieldValue::empty(),
        message.into(),
    ];
    error_answer(ctx, request, ack, &extra, now)
}

/// An `ack` (AE or AR) answer with ERR 207 and `extra` ERR fields from
/// ERR-5 on.
fn error_answer(
    ctx: &SourceCtx,
    request: &[u8],
    ack: &str,
    extra: &[FieldValue],
    now: OffsetDateTime,
) -> String {
    let Some(org) = ctx.orgs().first().copied() else {
        return String::new();
    };
    let message = Message::parse(request, &Limits::default()).ok();
    let control_id = message
        .as_ref()
        .map(|m| m.msh().field(10).text().into_owned())
        .unwrap_or_default();
    let tag = message
        .as_ref()
        .and_then(|m| m.segment("QPD"))
        .map(|q| q.field(2).text().into_owned())
        .unwrap_or_default();
    let mut w = header(org, message.as_ref(), "RSP", now);
    push(&mut w, "MSA", &[ack.into(), control_id.into()]);
    let mut err = vec![
        FieldValue::empty(),
        FieldValue::empty(),
        FieldValue::components(["207", "Application internal error", "HL70357"]),
        "E".into(),
    ];
    err.extend_from_slice(extra);
    push(&mut w, "ERR", &err);
    push(&mut w, "QAK", &[tag.into(), ack.into()]);
    w.finish()
}

/// For `wrong_patient`: the query with the NHS number of its QPD segment
/// replaced by the other person's ([`chaos::wrong_patient_for`]), when it
/// names someone in the population.
pub fn other_person(ctx: &SourceCtx, request: &[u8]) -> Option<Vec<u8>> {
    let org = ctx.orgs().first().copied()?;
    let at = request.windows(4).position(|w| w == b"QPD|")?;
    let (head, qpd) = request.split_at(at);
    let asked = chaos::find_nhs(ctx.population(), qpd)?;
    let other = chaos::wrong_patient_for(ctx.population(), org, asked)?;
    let mut out = head.to_vec();
    out.extend_from_slice(&chaos::substitute(qpd, asked, other));
    Some(out)
}

fn read_query(m: &Message) -> Result<Query<'_>, Refusal> {
    let [code, event, _] = m.message_type();
    if code != "QBP" {
        return Err(refusal("200", "Unsupported message type", "MSH^1^9"));
    }
    if event != "Q11" {
        return Err(refusal("201", "Unsupported event code", "MSH^1^9"));
    }
    if !m.version().starts_with("2.") {
        return Err(refusal("203", "Unsupported version id", "MSH^1^12"));
    }
    let processing = m.msh().field(11).text();
    if !matches!(processing.trim(), "P" | "T" | "D") {
        return Err(refusal("202", "Unsupported processing id", "MSH^1^11"));
    }
    let control_id = m.msh().field(10).text().trim().to_string();
    if control_id.is_empty() {
        return Err(refusal("101", "Required field missing", "MSH^1^10"));
    }
    let qpd = m
        .segment("QPD")
        .ok_or(refusal("101", "Required field missing", "QPD"))?;
    if qpd.field(1).component(1).text().trim() != QUERY_NAME {
        return Err(refusal("103", "Table value not found", "QPD^1^1"));
    }
    let tag = qpd.field(2).text().trim().to_string();
    if tag.is_empty() {
        return Err(refusal("101", "Required field missing", "QPD^1^2"));
    }
    let nhs = nhs_number(qpd)?;
    let limit = match m
        .segment("RCP")
        .and_then(|r| r.field(2).component(1).value())
    {
        None => DEFAULT_QUANTITY,
        Some(q) => match q.trim().parse::<usize>() {
            Ok(n) if n > 0 => n.min(MAX_QUANTITY),
            _ => return Err(refusal("102", "Data type error", "RCP^1^2")),
        },
    };
    Ok(Query {
        control_id,
        tag,
        nhs,
        limit,
        message: m,
    })
}

/// QPD-3: an NHS number, assigned by `NHS` or of type `NH`.
fn nhs_number(qpd: Segment<'_>) -> Result<NhsNumber, Refusal> {
    let cx = qpd.field(3).repetition(1);
    let value = cx.component(1).text();
    if value.trim().is_empty() {
        return Err(refusal("101", "Required field missing", "QPD^1^3"));
    }
    let is_nhs = cx.component(4).text().trim() == "NHS" || cx.component(5).text().trim() == "NH";
    match NhsNumber::parse(value.trim()) {
        Ok(n) if is_nhs => Ok(n),
        _ => Err(refusal("102", "Data type error", "QPD^1^3")),
    }
}

/// MSH of an answer: this system to the querying one.
fn header(org: Org, query: Option<&Message>, kind: &str, now: OffsetDateTime) -> MessageWriter {
    let from_query = |n: usize| {
        query
            .map(|m| m.msh().field(n).text().into_owned())
            .unwrap_or_default()
    };
    let control = from_query(10);
    let mut own_id: String = format!("A{control}").chars().take(20).collect();
    if control.is_empty() {
        own_id = "A".into();
    }
    let processing = match from_query(11).trim() {
        p @ ("P" | "T" | "D") => p.to_string(),
        _ => "P".to_string(),
    };
    let structure = match kind {
        "RSP" => FieldValue::components(["RSP", "K11", "RSP_K11"]),
        _ => FieldValue::components(["ACK", "Q11", "ACK"]),
    };
    MessageWriter::new(
        Delimiters::default(),
        &[
            org.id().to_ascii_uppercase().into(),
            org.ods_code().into(),
            from_query(3).into(),
            from_query(4).into(),
            format_instant(now).into(),
            FieldValue::empty(),
            structure,
            own_id.into(),
            processing.into(),
            "2.5.1".into(),
        ],
    )
}

/// Appends a segment; every id used here is valid.
fn push(w: &mut MessageWriter, id: &str, fields: &[FieldValue]) {
    let _ = w.segment(id, fields);
}

/// An application reject (AR) with the reason as an ERR.
fn refuse(org: Org, query: Option<&Message>, r: &Refusal, now: OffsetDateTime) -> String {
    let is_qbp = query.is_some_and(|m| m.message_type()[0] == "QBP");
    let mut w = header(org, query, if is_qbp { "RSP" } else { "ACK" }, now);
    let control = query
        .map(|m| m.msh().field(10).text().into_owned())
        .unwrap_or_default();
    push(&mut w, "MSA", &["AR".into(), control.into()]);
    let location: Vec<&str> = r.location.split('^').collect();
    push(
        &mut w,
        "ERR",
        &[
            FieldValue::empty(),
            FieldValue::components(location),
            FieldValue::components([r.code, r.text, "HL70357"]),
            "E".into(),
        ],
    );
    if is_qbp {
        let tag = query
            .and_then(|m| m.segment("QPD"))
            .map(|q| q.field(2).text().into_owned())
            .unwrap_or_default();
        push(&mut w, "QAK", &[tag.into(), "AR".into()]);
    }
    w.finish()
}

/// One hit: a report with its observations, or an observation of no report.
enum Hit<'h> {
    Report(&'h OrgRecord, &'h TestResult, Vec<&'h TestResult>),
    Lone(&'h TestResult),
}

/// The results `holding` has, as hits: lone observations first, then
/// reports with their members, in the holding's order.
fn hits(org: Org, holding: &Holding) -> Vec<Hit<'_>> {
    let results: Vec<(&OrgRecord, &TestResult)> = holding
        .records
        .iter()
        .filter_map(|r| match &r.entry {
            Entry::Result(t) => Some((r, t)),
            _ => None,
        })
        .collect();
    let id_of = |r: &OrgRecord| r.record_id(org);
    let members: Vec<RecordId> = results
        .iter()
        .filter(|(_, t)| t.kind == Some(ResultKind::Report))
        .flat_map(|(_, t)| t.members.iter().cloned())
        .collect();
    let mut out: Vec<Hit<'_>> = results
        .iter()
        .filter(|(r, t)| {
            t.kind != Some(ResultKind::Report) && id_of(r).is_none_or(|id| !members.contains(&id))
        })
        .map(|(_, t)| Hit::Lone(t))
        .collect();
    for (r, t) in results
        .iter()
        .filter(|(_, t)| t.kind == Some(ResultKind::Report))
    {
        let of_report: Vec<&TestResult> = t
            .members
            .iter()
            .filter_map(|m| {
                results
                    .iter()
                    .find(|(rec, _)| id_of(rec).as_ref() == Some(m))
                    .map(|(_, obs)| *obs)
            })
            .collect();
        out.push(Hit::Report(r, t, of_report));
    }
    out
}

/// The RSP^K11 for a query the system can read.
fn answer(org: Org, q: &Query<'_>, holding: Option<&Holding>, now: OffsetDateTime) -> String {
    let mut w = header(org, Some(q.message), "RSP", now);
    push(&mut w, "MSA", &["AA".into(), q.control_id.clone().into()]);
    let query_name = FieldValue::components([QUERY_NAME, "Results for patient", "HL70471"]);
    let Some(holding) = holding else {
        push(
            &mut w,
            "QAK",
            &[q.tag.clone().into(), "NF".into(), query_name],
        );
        echo_qpd(&mut w, q);
        return w.finish();
    };
    let all = hits(org, holding);
    let sent = all.len().min(q.limit);
    push(
        &mut w,
        "QAK",
        &[
            q.tag.clone().into(),
            "OK".into(),
            query_name,
            all.len().to_string().into(),
            sent.to_string().into(),
            (all.len() - sent).to_string().into(),
        ],
    );
    echo_qpd(&mut w, q);
    pid(&mut w, org, q.nhs, holding);
    for hit in all.iter().take(sent) {
        match hit {
            Hit::Lone(t) => observation(&mut w, 1, t),
            Hit::Report(r, t, members) => report(&mut w, org, r, t, members),
        }
    }
    w.finish()
}

fn echo_qpd(w: &mut MessageWriter, q: &Query<'_>) {
    push(
        w,
        "QPD",
        &[
            FieldValue::components([QUERY_NAME, "Results for patient", "HL70471"]),
            q.tag.clone().into(),
            FieldValue::components([q.nhs.as_str(), "", "", "NHS", "NH"]),
        ],
    );
}

fn pid(w: &mut MessageWriter, org: Org, nhs: NhsNumber, holding: &Holding) {
    let d = &holding.demographics;
    let name = d.preferred_name();
    let family = name.and_then(|n| n.family.clone()).unwrap_or_default();
    let given = name
        .and_then(|n| n.given.first().cloned())
        .unwrap_or_default();
    let gender = match d.gender {
        Some(Gender::Male) => "M",
        Some(Gender::Female) => "F",
        Some(Gender::Other) => "O",
        Some(Gender::Unknown) => "U",
        None => "",
    };
    let ids = FieldValue::components([nhs.as_str(), "", "", "NHS", "NH"]).repeat(
        FieldValue::components([holding.patient_id.as_str(), "", "", org.ods_code(), "PI"]),
    );
    push(
        w,
        "PID",
        &[
            "1".into(),
            FieldValue::empty(),
            ids,
            FieldValue::empty(),
            FieldValue::components([family, given]),
            FieldValue::empty(),
            d.birth_date
                .as_ref()
                .map(format_dtm)
                .unwrap_or_default()
                .into(),
            gender.into(),
        ],
    );
}

/// The HL7 v2 name of a coding system: LN, SCT, I10, UCUM, else its URI.
fn system_name(s: &CodeSystem) -> String {
    match s {
        CodeSystem::Loinc => "LN".into(),
        CodeSystem::Snomed => "SCT".into(),
        CodeSystem::Icd10 => "I10".into(),
        CodeSystem::Ucum => "UCUM".into(),
        other => other.uri().to_string(),
    }
}

/// A concept as a CWE: the first two codings as the identifier and
/// alternate triplets, the text as CWE-9 (original text).
fn cwe(c: &Concept) -> FieldValue {
    let mut parts: Vec<String> = Vec::new();
    for coding in c.codings.iter().take(2) {
        parts.push(coding.code.clone());
        parts.push(coding.display.clone().unwrap_or_default());
        parts.push(system_name(&coding.system));
    }
    if let Some(text) = &c.text {
        parts.resize(8, String::new());
        parts.push(text.clone());
    }
    FieldValue::components(parts)
}

/// OBR-25, table 0123.
fn report_status(s: Option<ResultStatus>) -> &'static str {
    match s {
        Some(ResultStatus::Registered) => "I",
        Some(ResultStatus::Partial) => "A",
        Some(ResultStatus::Preliminary) => "P",
        Some(ResultStatus::Final | ResultStatus::Appended) => "F",
        Some(ResultStatus::Amended | ResultStatus::Corrected) => "C",
        Some(ResultStatus::Cancelled | ResultStatus::EnteredInError) => "X",
        Some(ResultStatus::Unknown) | None => "",
    }
}

/// OBX-11, table 0085.
fn observation_status(s: Option<ResultStatus>) -> &'static str {
    match s {
        Some(ResultStatus::Registered) => "I",
        Some(ResultStatus::Partial | ResultStatus::Preliminary) => "P",
        Some(ResultStatus::Final) => "F",
        Some(ResultStatus::Amended) => "A",
        Some(ResultStatus::Appended) => "B",
        Some(ResultStatus::Corrected) => "C",
        Some(ResultStatus::Cancelled) => "X",
        Some(ResultStatus::EnteredInError) => "W",
        Some(ResultStatus::Unknown) | None => "",
    }
}

fn dtm(d: &Option<icr_model::PartialDateTime>) -> FieldValue {
    d.as_ref().map(format_dtm).unwrap_or_default().into()
}

/// The v2-0074 code among a report's categories (`LAB`, `RAD`, …).
fn service_section(t: &TestResult) -> Option<&str> {
    t.category
        .iter()
        .flat_map(|c| c.codings.iter())
        .find(|c| c.system.uri().ends_with("/v2-0074"))
        .map(|c| c.code.as_str())
}

fn report(
    w: &mut MessageWriter,
    org: Org,
    record: &OrgRecord,
    t: &TestResult,
    members: &[&TestResult],
) {
    let filler = FieldValue::components([record.id.as_str(), org.ods_code()]);
    push(
        w,
        "ORC",
        &["RE".into(), FieldValue::empty(), filler.clone()],
    );
    let section = service_section(t).unwrap_or_default().to_string();
    let mut obr = vec![FieldValue::empty(); 32];
    obr[0] = "1".into();
    obr[2] = filler;
    obr[3] = cwe(&t.code);
    obr[6] = dtm(&t.effective);
    obr[21] = dtm(&t.issued);
    obr[23] = section.clone().into();
    obr[24] = report_status(t.status).into();
    // OBR-32 names a person (CNN); the report's performer is shown as the
    // family name, which the adapter reads back as the whole display.
    if let Some(p) = &t.performer {
        obr[31] = FieldValue::from_parts(vec![vec![vec![String::new(), p.clone()]]]);
    }
    push(w, "OBR", &obr);
    let mut notes: Vec<&String> = t.notes.iter().collect();
    // An imaging report, or one with no results, carries its conclusion
    // as TX lines; a panel's conclusion goes with its notes.
    let as_lines = section == "RAD" || members.is_empty();
    if let Some(c) = &t.conclusion
        && !as_lines
    {
        notes.push(c);
    }
    nte(w, &notes);
    for (n, obs) in members.iter().enumerate() {
        observation(w, n + 1, obs);
    }
    if let Some(c) = &t.conclusion
        && as_lines
    {
        for (n, line) in c.lines().enumerate() {
            push(
                w,
                "OBX",
                &[
                    (members.len() + n + 1).to_string().into(),
                    "TX".into(),
                    cwe(&t.code),
                    FieldValue::empty(),
                    line.into(),
                    FieldValue::empty(),
                    FieldValue::empty(),
                    FieldValue::empty(),
                    FieldValue::empty(),
                    FieldValue::empty(),
                    report_status(t.status).into(),
                ],
            );
        }
    }
}

fn nte(w: &mut MessageWriter, notes: &[&String]) {
    for (n, note) in notes.iter().enumerate() {
        let lines = note
            .lines()
            .map(FieldValue::text)
            .fold(FieldValue::empty(), FieldValue::repeat);
        push(
            w,
            "NTE",
            &[(n + 1).to_string().into(), FieldValue::empty(), lines],
        );
    }
}

/// A number as labs write it.
fn number(v: f64) -> String {
    format!("{v}")
}

/// OBX-6 for a quantity: `code^unit^UCUM` when coded, else the unit.
fn units(q: &Quantity) -> FieldValue {
    match (&q.code, &q.unit) {
        (Some(code), unit) => FieldValue::components([
            code.clone(),
            unit.clone().unwrap_or_default(),
            "UCUM".into(),
        ]),
        (None, Some(unit)) => unit.as_str().into(),
        (None, None) => FieldValue::empty(),
    }
}

/// OBX-2, OBX-5 and OBX-6 for a value.
fn value(v: &Option<ResultValue>) -> (&'static str, FieldValue, FieldValue) {
    match v {
        None => ("", FieldValue::empty(), FieldValue::empty()),
        Some(ResultValue::Quantity(q)) => {
            let n = q.value.map(number).unwrap_or_default();
            match q.comparator.as_deref() {
                Some(c) => ("SN", FieldValue::components([c.to_string(), n]), units(q)),
                None => ("NM", n.into(), units(q)),
            }
        }
        Some(ResultValue::Integer(i)) => ("NM", i.to_string().into(), FieldValue::empty()),
        Some(ResultValue::Coded(c)) => ("CWE", cwe(c), FieldValue::empty()),
        Some(ResultValue::Text(t)) if t.contains('\n') => (
            "TX",
            t.lines()
                .map(FieldValue::text)
                .fold(FieldValue::empty(), FieldValue::repeat),
            FieldValue::empty(),
        ),
        Some(ResultValue::Text(t)) => ("ST", t.as_str().into(), FieldValue::empty()),
        Some(ResultValue::Boolean(b)) => ("ST", b.to_string().into(), FieldValue::empty()),
        Some(ResultValue::Range { low, high }) => {
            let n = |q: &Option<Quantity>| {
                q.as_ref()
                    .and_then(|q| q.value)
                    .map(number)
                    .unwrap_or_default()
            };
            let u = low
                .as_ref()
                .or(high.as_ref())
                .map(units)
                .unwrap_or_default();
            (
                "SN",
                FieldValue::components([String::new(), n(low), "-".into(), n(high)]),
                u,
            )
        }
        Some(ResultValue::DateTime(d)) => ("DTM", format_dtm(d).into(), FieldValue::empty()),
    }
}

/// OBX-7: `low-high`, `<high`, `>low`, else the text.
fn range(ranges: &[ReferenceRange]) -> FieldValue {
    let Some(r) = ranges.first() else {
        return FieldValue::empty();
    };
    let v = |q: &Option<Quantity>| q.as_ref().and_then(|q| q.value);
    let text = match (v(&r.low), v(&r.high)) {
        (Some(lo), Some(hi)) => format!("{}-{}", number(lo), number(hi)),
        (None, Some(hi)) => format!("<{}", number(hi)),
        (Some(lo), None) => format!(">{}", number(lo)),
        (None, None) => r.text.clone().unwrap_or_default(),
    };
    text.into()
}

fn observation(w: &mut MessageWriter, set_id: usize, t: &TestResult) {
    let (vt, v, u) = value(&t.value);
    let flags = t
        .interpretation
        .iter()
        .filter_map(|c| c.codings.first())
        .map(|c| FieldValue::text(c.code.clone()))
        .fold(FieldValue::empty(), FieldValue::repeat);
    let mut obx = vec![FieldValue::empty(); 23];
    obx[0] = set_id.to_string().into();
    obx[1] = vt.into();
    obx[2] = cwe(&t.code);
    obx[4] = v;
    obx[5] = u;
    obx[6] = range(&t.reference_range);
    obx[7] = flags;
    obx[10] = observation_status(t.status).into();
    obx[13] = dtm(&t.effective);
    if let Some(p) = &t.performer {
        obx[22] = p.as_str().into();
    }
    push(w, "OBX", &obx);
    let notes: Vec<&String> = t.notes.iter().collect();
    nte(w, &notes);
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;

    use icr_adapter_hl7v2::Hl7v2Source;
    use icr_adapter_sdk::{FetchRequest, SourceAdapter, SourceError, SourceSpec};
    use icr_model::{Section, SectionSet};
    use proptest::prelude::*;

    use super::*;
    use crate::config::{Fault, Latency, SimConfig};
    use crate::org::Kind;
    use crate::population::Population;
    use crate::protocol::Module;
    use crate::sim::Sim;

    const SEED: u64 = 20261101;
    const SIZE: usize = 300;

    fn population() -> Arc<Population> {
        static POP: std::sync::OnceLock<Arc<Population>> = std::sync::OnceLock::new();
        Arc::clone(POP.get_or_init(|| Arc::new(Population::generate(SEED, SIZE))))
    }

    fn ctx(org: Org) -> SourceCtx {
        let addr: SocketAddr = "127.0.0.1:0".parse().unwrap();
        SourceCtx::new(org.id(), Kind::Hl7v2, vec![org], addr, population(), 1)
    }

    fn now() -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(1_764_000_000).unwrap()
    }

    /// The first people `org` holds results for, and the count of those
    /// it holds.
    fn held(org: Org) -> Vec<NhsNumber> {
        population()
            .iter()
            .filter(|p| {
                p.holding(org).is_some_and(|h| {
                    h.records
                        .iter()
                        .any(|r| matches!(r.entry, Entry::Result(_)))
                })
            })
            .map(|p| p.nhs_number)
            .collect()
    }

    fn not_held(org: Org) -> NhsNumber {
        population()
            .iter()
            .find(|p| p.holding(org).is_none())
            .map(|p| p.nhs_number)
            .expect("someone the organisation does not hold")
    }

    fn query(nhs: &str, extra: &str) -> Vec<u8> {
        format!(
            "MSH|^~\\&|ICR|ICR|LAB|Y9P01|20251124120000+0000||QBP^Q11^QBP_Q11|C1|P|2.5.1\r\
             QPD|ICR_RESULTS^Results for patient^HL70471|T1|{nhs}^^^NHS^NH\r{extra}"
        )
        .into_bytes()
    }

    fn parse(s: &str) -> Message {
        Message::parse(s.as_bytes(), &Limits::default()).unwrap()
    }

    #[test]
    fn the_region_has_results_at_both_networks() {
        assert!(
            !held(Org::PATHOLOGY).is_empty(),
            "the pathology network holds results"
        );
        assert!(
            !held(Org::RADIOLOGY).is_empty(),
            "the imaging network holds reports"
        );
    }

    #[test]
    fn answers_what_the_laboratory_holds() {
        let org = Org::PATHOLOGY;
        let ctx = ctx(org);
        let nhs = held(org)[0];
        let text = respond(&ctx, &query(nhs.as_str(), ""), now());
        let m = parse(&text);
        assert_eq!(m.message_type(), ["RSP", "K11", "RSP_K11"]);
        assert_eq!(m.version(), "2.5.1");
        assert_eq!(m.msh().field(4).text(), org.ods_code());
        assert_eq!(m.msh().field(5).text(), "ICR");
        assert_eq!(m.msh().field(7).text(), "20251124160000+0000");
        assert_eq!(m.msh().field(10).text(), "AC1");
        let msa = m.segment("MSA").unwrap();
        assert_eq!(
            (msa.field(1).text(), msa.field(2).text()),
            ("AA".into(), "C1".into())
        );
        let qak = m.segment("QAK").unwrap();
        assert_eq!(qak.field(1).text(), "T1");
        assert_eq!(qak.field(2).text(), "OK");
        let local_id = population()
            .get(&nhs)
            .unwrap()
            .holding(org)
            .unwrap()
            .patient_id
            .clone();
        let pid = m.segment("PID").unwrap();
        assert_eq!(
            pid.field(3).raw(),
            format!("{nhs}^^^NHS^NH~{local_id}^^^{}^PI", org.ods_code())
        );
        // every result the laboratory holds is in the answer
        let holding = population()
            .get(&nhs)
            .unwrap()
            .holding(org)
            .unwrap()
            .clone();
        let observations = holding
            .records
            .iter()
            .filter(
                |r| matches!(&r.entry, Entry::Result(t) if t.kind == Some(ResultKind::Observation)),
            )
            .count();
        let reports = holding
            .records
            .iter()
            .filter(|r| matches!(&r.entry, Entry::Result(t) if t.kind == Some(ResultKind::Report)))
            .count();
        let count = |id: &str| m.segments().filter(|s| s.id() == id).count();
        assert_eq!(count("OBR"), reports);
        assert_eq!(count("ORC"), reports);
        assert_eq!(count("OBX"), observations);
        let hits: usize = qak.field(4).text().parse().unwrap();
        assert_eq!(qak.field(6).text(), "0");
        assert!(hits >= reports);
    }

    #[test]
    fn not_held_and_refused() {
        let ctx = ctx(Org::PATHOLOGY);
        let m = parse(&respond(
            &ctx,
            &query(not_held(Org::PATHOLOGY).as_str(), ""),
            now(),
        ));
        assert_eq!(m.segment("MSA").unwrap().field(1).text(), "AA");
        assert_eq!(m.segment("QAK").unwrap().field(2).text(), "NF");
        assert!(m.segment("PID").is_none());

        let refused = |bytes: &[u8]| -> (String, String, String) {
            let m = parse(&respond(&ctx, bytes, now()));
            (
                m.message_type()[0].to_string(),
                m.segment("MSA").unwrap().field(1).text().into_owned(),
                m.segment("ERR")
                    .unwrap()
                    .field(3)
                    .component(1)
                    .text()
                    .into_owned(),
            )
        };
        let rsp = |code: &str| ("RSP".to_string(), "AR".to_string(), code.to_string());
        assert_eq!(
            refused(b"garbage"),
            ("ACK".into(), "AR".into(), "100".into())
        );
        assert_eq!(
            refused(b"MSH|^~\\&|A|B|C|D|2025||ADT^A01|1|P|2.5.1\r"),
            ("ACK".into(), "AR".into(), "200".into())
        );
        let q = String::from_utf8(query("9990000018", "")).unwrap();
        assert_eq!(
            refused(q.replace("QBP^Q11", "QBP^Q22").as_bytes()),
            rsp("201")
        );
        assert_eq!(
            refused(q.replace("|P|2.5.1", "|X|2.5.1").as_bytes()),
            rsp("202")
        );
        assert_eq!(
            refused(q.replace("|P|2.5.1", "|P|3.0").as_bytes()),
            rsp("203")
        );
        assert_eq!(
            refused(q.replace("ICR_RESULTS", "OTHER").as_bytes()),
            rsp("103")
        );
        assert_eq!(refused(q.replace("|T1|", "||").as_bytes()), rsp("101"));
        assert_eq!(
            refused(&query("9990000019", "")),
            rsp("102"),
            "bad check digit"
        );
        assert_eq!(refused(&query("", "")), rsp("101"));
        assert_eq!(
            refused(q.replace("^^^NHS^NH", "^^^RD1^MR").as_bytes()),
            rsp("102"),
            "not an NHS number"
        );
        assert_eq!(refused(&query("9990000018", "RCP|I|lots^RD\r")), rsp("102"));
        let only_msh = b"MSH|^~\\&|A|B|C|D|2025||QBP^Q11^QBP_Q11|C9|P|2.5.1\r";
        let m = parse(&respond(&ctx, only_msh, now()));
        assert_eq!(m.segment("MSA").unwrap().field(2).text(), "C9");
        assert_eq!(m.segment("QAK").unwrap().field(2).text(), "AR");
    }

    #[test]
    fn the_quantity_limit_is_honoured() {
        let org = Org::PATHOLOGY;
        let ctx = ctx(org);
        let nhs = population()
            .iter()
            .filter_map(|p| {
                let h = p.holding(org)?;
                (hits(org, h).len() >= 3).then_some(p.nhs_number)
            })
            .next()
            .expect("someone with three or more results at the laboratory");
        let m = parse(&respond(&ctx, &query(nhs.as_str(), "RCP|I|2^RD\r"), now()));
        let qak = m.segment("QAK").unwrap();
        let total: usize = qak.field(4).text().parse().unwrap();
        assert_eq!(qak.field(5).text(), "2");
        assert_eq!(qak.field(6).text(), (total - 2).to_string());
    }

    #[test]
    fn an_error_fault_is_an_application_error() {
        let ctx = ctx(Org::RADIOLOGY);
        let m = parse(&application_error(&ctx, &query("9990000018", ""), now()));
        assert_eq!(m.segment("MSA").unwrap().field(1).text(), "AE");
        assert_eq!(m.segment("MSA").unwrap().field(2).text(), "C1");
        assert_eq!(
            m.segment("ERR").unwrap().field(3).raw(),
            "207^Application internal error^HL70357"
        );
        assert_eq!(m.segment("QAK").unwrap().field(2).text(), "AE");
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

        #[test]
        fn respond_never_panics_and_always_acknowledges(bytes in proptest::collection::vec(any::<u8>(), 0..300), nhs_i in 0usize..SIZE) {
            let ctx = ctx(Org::PATHOLOGY);
            for input in [bytes.clone(), {
                let mut q = query(population().iter().nth(nhs_i).unwrap().nhs_number.as_str(), "");
                q.extend_from_slice(&bytes);
                q
            }] {
                let text = respond(&ctx, &input, now());
                let m = Message::parse(text.as_bytes(), &Limits::default()).unwrap();
                let ack = m.segment("MSA").unwrap().field(1).text().into_owned();
                prop_assert!(matches!(ack.as_str(), "AA" | "AR"), "{}", ack);
                prop_assert!(encode_frame(text.as_bytes()).is_ok());
            }
        }
    }

    /// The `[[source]]` entries proposed for `config/demo/sim.toml`.
    const DEMO_SIM_TOML: &str = r#"
[population]
seed = 20261101
size = 50

[[source]]
id = "pathology"
organisation = "Wiltshire and Bath Pathology Network"
ods_code = "Y9P01"
kind = "hl7v2"
listen = "127.0.0.1:9301"
latency_min_ms = 30
latency_max_ms = 150
error_rate = 0.0
down = false

[[source]]
id = "radiology"
organisation = "Wiltshire and Bath Imaging Network"
ods_code = "Y9R01"
kind = "hl7v2"
listen = "127.0.0.1:9302"
latency_min_ms = 40
latency_max_ms = 200
error_rate = 0.0
down = false
"#;

    #[tokio::test]
    async fn the_demo_entries_start_both_networks() {
        let config = SimConfig::from_toml_str(DEMO_SIM_TOML, "sim.toml")
            .unwrap()
            .with_ephemeral_ports();
        let sim = Sim::start(config).await.unwrap();
        for org in [Org::PATHOLOGY, Org::RADIOLOGY] {
            assert_eq!(sim.kind(org.id()), Some(Kind::Hl7v2));
            assert!(
                sim.endpoint(org.id())
                    .unwrap()
                    .starts_with("mllp://127.0.0.1:")
            );
        }
        sim.shutdown().await;
    }

    // ---- over real TCP, through the adapter ----

    fn modules(kind: Kind) -> Option<Module> {
        match kind {
            Kind::Hl7v2 => Some(Module::Tcp(&Mllp)),
            other => crate::protocol::module(other),
        }
    }

    async fn start(org: Org) -> Sim {
        Sim::start_with(SimConfig::only(SEED, SIZE, &[org]), modules)
            .await
            .unwrap()
    }

    fn adapter(sim: &Sim, org: Org) -> Hl7v2Source {
        let spec: SourceSpec = toml::from_str(&format!(
            r#"id = "{id}"
organisation = "{name}"
ods_code = "{ods}"
kind = "hl7v2"
endpoint = "{endpoint}"
sections = ["results"]
"#,
            id = org.id(),
            name = org.name(),
            ods = org.ods_code(),
            endpoint = sim.endpoint(org.id()).unwrap(),
        ))
        .unwrap();
        Hl7v2Source::new(&spec, icr_adapter_hl7v2::KIND.check(&spec).unwrap()).unwrap()
    }

    fn request(nhs: NhsNumber, ms: u64) -> FetchRequest {
        FetchRequest::system(
            nhs,
            [Section::Results].into_iter().collect::<SectionSet>(),
            Instant::now() + Duration::from_millis(ms),
        )
    }

    fn results(record: &icr_model::SourceRecord) -> Vec<&TestResult> {
        record
            .items
            .iter()
            .filter_map(|i| match &i.entry {
                Entry::Result(t) => Some(t),
                _ => None,
            })
            .collect()
    }

    #[tokio::test]
    async fn the_adapter_reads_back_what_the_laboratory_holds() {
        let org = Org::PATHOLOGY;
        let sim = start(org).await;
        let src = adapter(&sim, org);
        assert!(
            sim.endpoint(org.id())
                .unwrap()
                .starts_with("mllp://127.0.0.1:")
        );
        let mut checked = 0;
        for nhs in held(org).into_iter().take(5) {
            let record = src.fetch(&request(nhs, 5000)).await.unwrap();
            assert!(record.issues.is_empty(), "{:?}", record.issues);
            let holding = population()
                .get(&nhs)
                .unwrap()
                .holding(org)
                .unwrap()
                .clone();
            let held: Vec<&TestResult> = holding
                .records
                .iter()
                .filter_map(|r| match &r.entry {
                    Entry::Result(t) => Some(t),
                    _ => None,
                })
                .collect();
            let got = results(&record);
            assert_eq!(got.len(), held.len());
            // every held observation comes back with its code, value,
            // status, time, range bounds and flags
            for want in held
                .iter()
                .filter(|t| t.kind == Some(ResultKind::Observation))
            {
                let found = got
                    .iter()
                    .find(|g| {
                        g.kind == want.kind
                            && g.code.primary() == want.code.primary()
                            && g.effective == want.effective
                    })
                    .unwrap_or_else(|| panic!("{:?} not read back", want.code));
                assert_eq!(found.value, want.value);
                assert_eq!(found.status, want.status);
                assert_eq!(found.performer, want.performer);
                let bounds = |t: &TestResult| {
                    t.reference_range.first().map(|r| {
                        (
                            r.low.as_ref().and_then(|q| q.value),
                            r.high.as_ref().and_then(|q| q.value),
                        )
                    })
                };
                assert_eq!(bounds(found), bounds(want));
                let flags = |t: &TestResult| -> Vec<String> {
                    t.interpretation
                        .iter()
                        .map(|c| c.codings[0].code.clone())
                        .collect()
                };
                assert_eq!(flags(found), flags(want));
                checked += 1;
            }
            for want in held.iter().filter(|t| t.kind == Some(ResultKind::Report)) {
                let found = got
                    .iter()
                    .find(|g| {
                        g.kind == want.kind
                            && g.code.primary() == want.code.primary()
                            && g.effective == want.effective
                    })
                    .unwrap();
                assert_eq!(found.members.len(), want.members.len());
                assert_eq!(found.issued, want.issued);
            }
        }
        assert!(checked > 0, "observations were compared");
        // one connection served them all
        assert_eq!(src.connections_opened(), 1);
        sim.shutdown().await;
    }

    #[tokio::test]
    async fn the_adapter_reads_imaging_reports_as_conclusions() {
        let org = Org::RADIOLOGY;
        let sim = start(org).await;
        let src = adapter(&sim, org);
        let nhs = held(org)[0];
        let record = src.fetch(&request(nhs, 5000)).await.unwrap();
        let holding = population()
            .get(&nhs)
            .unwrap()
            .holding(org)
            .unwrap()
            .clone();
        let want: Vec<&TestResult> = holding
            .records
            .iter()
            .filter_map(|r| match &r.entry {
                Entry::Result(t) => Some(t),
                _ => None,
            })
            .collect();
        let got = results(&record);
        assert_eq!(got.len(), want.len());
        for (g, w) in got.iter().zip(&want) {
            assert_eq!(g.kind, Some(ResultKind::Report));
            assert_eq!(g.conclusion, w.conclusion);
            assert_eq!(g.code.primary(), w.code.primary());
            assert_eq!(g.effective, w.effective);
            assert_eq!(g.category[0].codings[0].code, "RAD");
        }
        sim.shutdown().await;
    }

    #[tokio::test]
    async fn not_found_faults_and_down_through_the_adapter() {
        let org = Org::PATHOLOGY;
        let sim = start(org).await;
        let src = adapter(&sim, org);
        assert_eq!(
            src.fetch(&request(not_held(org), 5000)).await,
            Err(SourceError::PatientNotFound)
        );
        let nhs = held(org)[0];
        sim.set_fault(
            org.id(),
            Fault {
                error_rate: 1.0,
                ..Fault::default()
            },
        )
        .await
        .unwrap();
        assert_eq!(
            src.fetch(&request(nhs, 5000)).await,
            Err(SourceError::Refused(
                "the source answered with an application error (MSA-1 AE): ERR code 207 (application internal error)".into()
            ))
        );
        sim.set_fault(
            org.id(),
            Fault {
                latency_ms: Some(Latency::Fixed(1000)),
                ..Fault::default()
            },
        )
        .await
        .unwrap();
        assert!(matches!(
            src.fetch(&request(nhs, 200)).await,
            Err(SourceError::Timeout { .. })
        ));
        sim.set_fault(
            org.id(),
            Fault {
                down: true,
                ..Fault::default()
            },
        )
        .await
        .unwrap();
        let err = src.fetch(&request(nhs, 2000)).await.unwrap_err();
        assert_eq!(err.status_name(), "unavailable", "{err:?}");
        sim.set_fault(org.id(), Fault::default()).await.unwrap();
        let record = src.fetch(&request(nhs, 5000)).await.unwrap();
        assert!(!record.items.is_empty());
        sim.shutdown().await;
    }

    #[tokio::test]
    async fn a_connection_is_closed_on_garbage_and_bounded_in_size() {
        let org = Org::PATHOLOGY;
        let sim = start(org).await;
        let addr = sim.source_addr(org.id()).unwrap();
        let mut s = TcpStream::connect(addr).await.unwrap();
        s.write_all(b"GET / HTTP/1.1\r\n\r\n").await.unwrap();
        let mut buf = [0u8; 64];
        let n = tokio::time::timeout(Duration::from_secs(5), s.read(&mut buf))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(n, 0, "closed without an answer");

        let mut s = TcpStream::connect(addr).await.unwrap();
        let mut big = vec![0x0b];
        big.extend(std::iter::repeat_n(b'x', MAX_MESSAGE_BYTES + 10));
        let _ = s.write_all(&big).await;
        let n = tokio::time::timeout(Duration::from_secs(5), s.read(&mut buf))
            .await
            .unwrap();
        assert!(matches!(n, Ok(0) | Err(_)), "closed");
        sim.shutdown().await;
    }
}
