//! The FHIR R4 HTTP face, everything under `/fhir/` (and the SMART
//! discovery document at the root):
//!
//! - `GET|POST /fhir/r4/Patient/{nhs}/$everything` — the record, in pages
//!   of `_count` matches (default [`DEFAULT_PAGE`], at most [`MAX_PAGE`]),
//!   further pages by the Bundle's `next` link ([`crate::fhir_pages`]);
//! - `GET /fhir/r4/metadata` — the CapabilityStatement;
//! - `GET /fhir/r4/.well-known/smart-configuration` and
//!   `GET /.well-known/smart-configuration` — SMART discovery.
//!
//! JSON only: a request that accepts no JSON (`Accept`, `_format`) is
//! answered `406`. Every error answer under `/fhir/` is an
//! OperationOutcome (`application/fhir+json`), whichever part of the
//! gateway produced it ([`as_outcome`]).

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::header::{ACCEPT, ALLOW, CONTENT_LENGTH, CONTENT_TYPE, HOST};
use http::{HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt as _, Full, Limited};
use hyper::body::Incoming;
use icr_audit::{AuditRecord, Decision, Interaction, Timestamp};
use icr_model::{NhsNumber, SectionSet};
use serde_json::Value;

use crate::Gateway;
use crate::fhir;
use crate::fhir_pages::{Group, Owner, Paged};
use crate::headers::{self, HeaderError};
use crate::outcome::{Stop, Why};
use crate::pipeline::RecordRequest;
use crate::pipeline::audit::Draft;
use crate::server::{
    Resp, calling_system, fhir_bytes, fhir_response, prefer_wait, query_pairs, stop_fhir,
    with_request_id,
};

/// A header that says how to answer (not who asks): its text, or none when
/// absent or not visible ASCII.
fn header<B>(req: &Request<B>, name: http::header::HeaderName) -> Option<&str> {
    req.headers().get(name).and_then(|v| v.to_str().ok())
}

/// Matches per page when the caller does not say (`_count`): a typical
/// record (the demo's story patients hold 12 to 60 items) is one page,
/// and a large one comes in pages of a few hundred kilobytes.
pub const DEFAULT_PAGE: usize = 200;

/// The most matches a page holds, whatever `_count` asks: bounds a page at
/// a few megabytes.
pub const MAX_PAGE: usize = 1000;

/// The largest `$everything` POST body read (a Parameters resource).
const MAX_BODY: usize = 64 * 1024;

/// How long a POST body may take to arrive.
const BODY_TIME: Duration = Duration::from_secs(10);

/// The most parameters a Parameters body may hold.
const MAX_PARAMETERS: usize = 100;

/// Routes a request under `/fhir/` (`segments` is the whole path, split).
/// The AuditEvent search is routed by the server, after [`precheck`].
pub(crate) async fn route(
    gw: &Gateway,
    req: Request<Incoming>,
    segments: &[&str],
) -> (&'static str, Resp) {
    match segments {
        ["fhir", "r4", ".well-known", "smart-configuration"] => (
            "smart-configuration",
            only(&req, &[Method::GET], "GET, HEAD").unwrap_or_else(|| smart_configuration(gw)),
        ),
        ["fhir", "r4", "metadata"] => (
            "fhir-metadata",
            precheck(&req, &[Method::GET], "GET, HEAD").unwrap_or_else(|| {
                fhir_bytes(
                    StatusCode::OK,
                    fhir::capability_statement(&gw.trusted_issuers()),
                )
            }),
        ),
        ["fhir", "r4", "Patient", nhs, op]
            if *op == "$everything" || op.eq_ignore_ascii_case("%24everything") =>
        {
            let resp = match precheck(&req, &[Method::GET, Method::POST], "GET, HEAD, POST") {
                Some(r) => r,
                None => match gw.admit() {
                    None => crate::server::shed(),
                    // Held until the answer is written: unread answers
                    // count against the in-flight limit.
                    Some(permit) => {
                        crate::listener::hold_until_sent(everything(gw, req, nhs).await, permit)
                    }
                },
            };
            ("fhir-everything", resp)
        }
        _ => (
            "unknown",
            outcome(
                StatusCode::NOT_FOUND,
                "not-found",
                "NOT_FOUND",
                "no such FHIR route; the CapabilityStatement (/fhir/r4/metadata) lists what is served",
            ),
        ),
    }
}

/// `.well-known/smart-configuration`: JSON whatever the `Accept`, as the
/// SMART App Launch specification asks.
pub(crate) fn smart_configuration(gw: &Gateway) -> Resp {
    let mut r = Response::new(Full::new(Bytes::from(fhir::smart_configuration(
        &gw.trusted_issuers(),
    ))));
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    r
}

/// The answer to a FHIR request the route cannot serve as asked: `406`
/// when the caller accepts no JSON, `405` (with `Allow`) for another
/// method; `None` to go on.
pub(crate) fn precheck(
    req: &Request<Incoming>,
    methods: &[Method],
    allow: &'static str,
) -> Option<Resp> {
    if let Err(message) = accepts_json(req) {
        return Some(outcome(
            StatusCode::NOT_ACCEPTABLE,
            "not-supported",
            "NOT_ACCEPTABLE",
            &message,
        ));
    }
    only(req, methods, allow)
}

fn only(req: &Request<Incoming>, methods: &[Method], allow: &'static str) -> Option<Resp> {
    // HEAD is GET whose body the listener leaves out.
    let asked = if req.method() == Method::HEAD {
        &Method::GET
    } else {
        req.method()
    };
    if methods.contains(asked) {
        return None;
    }
    let mut r = outcome(
        StatusCode::METHOD_NOT_ALLOWED,
        "not-supported",
        "METHOD_NOT_ALLOWED",
        &format!("only {allow} is supported here"),
    );
    r.headers_mut()
        .insert(ALLOW, HeaderValue::from_static(allow));
    Some(r)
}

/// JSON media types a FHIR client may ask for.
fn is_json(media: &str) -> bool {
    matches!(
        media,
        "json" | "application/json" | "application/fhir+json" | "application/json+fhir"
    )
}

/// Whether the caller accepts JSON, by its `_format` and `Accept`.
pub(crate) fn accepts_json<B>(req: &Request<B>) -> Result<(), String> {
    let format = query_pairs(req.uri().query())
        .into_iter()
        .find(|(k, _)| k == "_format")
        .map(|(_, v)| v);
    let accept: Vec<&str> = req
        .headers()
        .get_all(ACCEPT)
        .iter()
        .map(|v| v.to_str().unwrap_or("\u{0}"))
        .collect();
    negotiate(format.as_deref(), &accept)
}

/// Whether JSON may be answered: `_format` wins over `Accept`; a media
/// range with `q=0` is refused; no `Accept` accepts anything.
pub(crate) fn negotiate(format: Option<&str>, accept: &[&str]) -> Result<(), String> {
    if let Some(f) = format {
        let media = f
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        return if is_json(&media) {
            Ok(())
        } else {
            let shown: String = f.chars().take(60).collect();
            Err(format!(
                "_format {shown:?} is not served: only JSON (application/fhir+json)"
            ))
        };
    }
    let mut ranges = accept
        .iter()
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .peekable();
    if ranges.peek().is_none() {
        return Ok(());
    }
    let mut asked = Vec::new();
    for range in ranges {
        let mut parts = range.split(';');
        let media = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
        let refused = parts.any(|p| {
            p.trim()
                .strip_prefix("q=")
                .and_then(|q| q.trim().parse::<f32>().ok())
                .is_some_and(|q| q <= 0.0)
        });
        if !refused && (media == "*/*" || media == "application/*" || is_json(&media)) {
            return Ok(());
        }
        asked.push(media);
    }
    let shown: String = asked.join(", ").chars().take(120).collect();
    Err(format!(
        "Accept {shown} is not served: only JSON (application/fhir+json)"
    ))
}

/// An OperationOutcome answer with one error issue.
fn outcome(code: StatusCode, issue: &str, icr_code: &str, message: &str) -> Resp {
    fhir_response(code, fhir::outcome_error_coded(issue, icr_code, message))
}

/// The FHIR issue type for an HTTP error status.
pub(crate) fn issue_type(code: StatusCode) -> &'static str {
    match code.as_u16() {
        400 => "invalid",
        401 => "login",
        403 => "forbidden",
        404 | 410 => "not-found",
        405 | 406 | 415 => "not-supported",
        413 => "too-long",
        429 => "throttled",
        502 | 503 => "transient",
        504 => "timeout",
        _ => "exception",
    }
}

/// Makes any error answer under `/fhir/` an OperationOutcome: an answer
/// that is already FHIR, or not an error, is left as it is; the gateway's
/// plain JSON problems (`{"error", "code"|"reason", "message"}`, from any
/// part of it: load shedding, header checks, refusals) are rewritten, their
/// status and headers (`Allow`, `Retry-After`, `WWW-Authenticate`, the
/// request id) kept.
pub(crate) async fn as_outcome(resp: Resp) -> Resp {
    let is_fhir = resp
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/fhir+json"));
    if resp.status().as_u16() < 400 || is_fhir {
        return resp;
    }
    let (mut parts, body) = resp.into_parts();
    let bytes = body
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let problem: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    let text = |k: &str| problem[k].as_str().filter(|s| !s.is_empty());
    let icr_code = text("code")
        .or_else(|| text("reason"))
        .map(str::to_owned)
        .or_else(|| text("error").map(str::to_ascii_uppercase))
        .unwrap_or_else(|| parts.status.as_str().to_owned());
    let message = text("message")
        .or_else(|| parts.status.canonical_reason())
        .unwrap_or("error")
        .to_owned();
    let fresh = outcome(parts.status, issue_type(parts.status), &icr_code, &message);
    let (fresh_parts, fresh_body) = fresh.into_parts();
    parts.headers.remove(CONTENT_LENGTH);
    for (name, value) in &fresh_parts.headers {
        parts.headers.insert(name, value.clone());
    }
    Response::from_parts(parts, fresh_body)
}

/// What `$everything` is asked: the resource types and the page size.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Asked {
    /// `_type`: the resource types, when asked.
    pub types: Option<Vec<String>>,
    /// `_count`: the page size, when asked (at most [`MAX_PAGE`]).
    pub count: Option<usize>,
}

/// A parameter refused: the error family and the message.
pub(crate) type Refusal = (&'static str, String);

/// Reads `$everything`'s parameters (query and body alike). Unknown ones
/// (`start`, `end`, `_since`, …) are ignored, as FHIR servers do.
pub(crate) fn asked(pairs: &[(String, String)]) -> Result<Asked, Refusal> {
    let mut asked = Asked {
        types: None,
        count: None,
    };
    for (key, value) in pairs {
        match key.as_str() {
            "_type" => asked.types.get_or_insert_with(Vec::new).extend(
                value
                    .split(',')
                    .map(str::trim)
                    .filter(|t| !t.is_empty())
                    .map(str::to_owned),
            ),
            "_count" => {
                let n: u64 = value.trim().parse().map_err(|_| {
                    let shown: String = value.chars().take(20).collect();
                    (
                        "invalid_parameter",
                        format!("_count {shown:?} is not a whole number (0 or more)"),
                    )
                })?;
                asked.count = Some(usize::try_from(n).unwrap_or(MAX_PAGE).min(MAX_PAGE));
            }
            _ => {}
        }
    }
    Ok(asked)
}

/// The parameters of a POST body: a Parameters resource (JSON), a form, or
/// nothing. Bounded in size and time.
async fn body_parameters(
    content_type: Option<&str>,
    body: Incoming,
) -> Result<Vec<(String, String)>, Resp> {
    let read = tokio::time::timeout(BODY_TIME, Limited::new(body, MAX_BODY).collect()).await;
    let bytes = match read {
        Ok(Ok(b)) => b.to_bytes(),
        Ok(Err(_)) => {
            return Err(outcome(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too-long",
                "BODY_TOO_LARGE",
                &format!("the body is over {} KiB, or was cut short", MAX_BODY / 1024),
            ));
        }
        Err(_) => {
            return Err(outcome(
                StatusCode::REQUEST_TIMEOUT,
                "timeout",
                "BODY_TIMEOUT",
                "the body did not arrive in time",
            ));
        }
    };
    body_pairs(content_type, &bytes).map_err(|refused| match refused {
        BodyRefusal::MediaType => outcome(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "not-supported",
            "UNSUPPORTED_MEDIA_TYPE",
            "send a Parameters resource as application/fhir+json, or a form",
        ),
        BodyRefusal::Invalid(message) => outcome(
            StatusCode::BAD_REQUEST,
            "invalid",
            "INVALID_PARAMETERS",
            &message,
        ),
    })
}

/// Why a POST body's parameters cannot be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum BodyRefusal {
    /// Neither JSON nor a form (`415`).
    MediaType,
    /// Not a Parameters resource the gateway reads (`400`), and why.
    Invalid(String),
}

/// The parameters of a POST body as received, by its `Content-Type`: a
/// Parameters resource (JSON), a form, or nothing (only whitespace). Pure.
pub(crate) fn body_pairs(
    content_type: Option<&str>,
    bytes: &[u8],
) -> Result<Vec<(String, String)>, BodyRefusal> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Vec::new());
    }
    let media = content_type
        .and_then(|c| c.split(';').next())
        .map(|c| c.trim().to_ascii_lowercase())
        .unwrap_or_default();
    if media == "application/x-www-form-urlencoded" {
        return Ok(url::form_urlencoded::parse(bytes).into_owned().collect());
    }
    if !is_json(&media) {
        return Err(BodyRefusal::MediaType);
    }
    parameters(bytes).map_err(BodyRefusal::Invalid)
}

/// The parameters of a FHIR Parameters resource, each primitive value as
/// text.
fn parameters(body: &[u8]) -> Result<Vec<(String, String)>, String> {
    let v: Value = serde_json::from_slice(body)
        .map_err(|e| icr_adapter_sdk::json_error("the body is not a Parameters resource", &e))?;
    if v["resourceType"] != "Parameters" {
        return Err("the body is not a Parameters resource (resourceType Parameters)".into());
    }
    let list = match &v["parameter"] {
        Value::Null => return Ok(Vec::new()),
        Value::Array(list) if list.len() <= MAX_PARAMETERS => list,
        Value::Array(_) => return Err(format!("more than {MAX_PARAMETERS} parameters")),
        _ => return Err("Parameters.parameter is not a list".into()),
    };
    let mut out = Vec::new();
    for p in list {
        let Some(name) = p["name"].as_str() else {
            return Err("a parameter has no name".into());
        };
        let shown: String = name.chars().take(40).collect();
        let value = p
            .as_object()
            .into_iter()
            .flatten()
            .find(|(k, _)| k.starts_with("value"))
            .and_then(|(_, v)| match v {
                Value::String(s) => Some(s.clone()),
                Value::Number(n) => Some(n.to_string()),
                Value::Bool(b) => Some(b.to_string()),
                _ => None,
            })
            .ok_or_else(|| format!("parameter {shown:?} has no primitive value"))?;
        out.push((name.to_owned(), value));
    }
    Ok(out)
}

/// The FHIR base URL the caller reached the gateway by, for the links it
/// is given: the scheme of the request (HTTP/2), else `X-Forwarded-Proto`
/// from a TLS-terminating proxy, else the listener's; the host of the
/// request. `None` when the request names no usable host: none, one too
/// long, or one that is not a URL's host (and port).
pub(crate) fn base_url<B>(tls: bool, req: &Request<B>) -> Option<String> {
    let forwarded = header(
        req,
        http::header::HeaderName::from_static("x-forwarded-proto"),
    )
    .map(|p| {
        p.split(',')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase()
    })
    .filter(|p| p == "http" || p == "https");
    let scheme = req
        .uri()
        .scheme_str()
        .map(str::to_owned)
        .or(forwarded)
        .unwrap_or_else(|| if tls { "https" } else { "http" }.to_owned());
    let host = req
        .uri()
        .authority()
        .map(|a| a.as_str().to_owned())
        .or_else(|| header(req, HOST).map(str::to_owned))?;
    let fits = !host.is_empty()
        && host.len() <= 255
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b".-:[]_".contains(&b));
    let base = format!("{scheme}://{host}/fhir/r4");
    // The links are written on it: it must be a URL a client can follow
    // (a host and at most a port), not merely made of harmless bytes.
    let follows = url::Url::parse(&base)
        .is_ok_and(|u| u.host().is_some() && u.username().is_empty() && u.password().is_none());
    (fits && follows).then_some(base)
}

fn everything_url(base: &str, nhs: &str) -> String {
    format!("{base}/Patient/{nhs}/$everything")
}

/// The `self` link of a first page: what was understood.
pub(crate) fn first_url(base: &str, nhs: &str, types: Option<&[String]>, count: usize) -> String {
    let mut q = url::form_urlencoded::Serializer::new(String::new());
    if let Some(t) = types {
        q.append_pair("_type", &t.join(","));
    }
    q.append_pair("_count", &count.to_string());
    format!("{}?{}", everything_url(base, nhs), q.finish())
}

/// The link to the page of a kept record from `offset`: read back by
/// [`page_at`]. (The gateway's tokens are hex; the token is encoded all
/// the same, so that any token reads back as written.)
pub(crate) fn page_url(base: &str, nhs: &str, token: &str, offset: usize, count: usize) -> String {
    let q = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("_page_token", token)
        .append_pair("_offset", &offset.to_string())
        .append_pair("_count", &count.to_string())
        .finish();
    format!("{}?{q}", everything_url(base, nhs))
}

/// Where a page read asks to start, as its query says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct PageAt<'a> {
    /// `_page_token`: the kept record's token (empty when absent).
    pub token: &'a str,
    /// `_offset`: the first match, when a whole number (checked against
    /// the record once it is found).
    pub offset: Option<usize>,
    /// `_count`: matches per page, 1 to [`MAX_PAGE`] ([`DEFAULT_PAGE`]
    /// when absent or unreadable).
    pub count: usize,
}

/// Reads a page read's query: the first of each parameter counts. Pure.
pub(crate) fn page_at(query: &[(String, String)]) -> PageAt<'_> {
    let q = |k: &str| {
        query
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.as_str())
    };
    PageAt {
        token: q("_page_token").unwrap_or_default(),
        offset: q("_offset").and_then(|o| o.parse::<usize>().ok()),
        count: q("_count")
            .and_then(|c| c.parse::<usize>().ok())
            .unwrap_or(DEFAULT_PAGE)
            .clamp(1, MAX_PAGE),
    }
}

/// `$everything` (GET or POST): a page of a kept record when the query
/// names one, else the record, through the whole access pipeline.
async fn everything(gw: &Gateway, req: Request<Incoming>, nhs: &str) -> Resp {
    let started = std::time::Instant::now();
    let query = query_pairs(req.uri().query());
    // Owned: a POST's body is read (consuming the request) before the
    // pipeline runs.
    let authorization: Result<Option<String>, HeaderError> =
        headers::authorization(req.headers()).map(|a| a.map(str::to_owned));
    let system = calling_system(&req).map(str::to_owned);
    let Some(base) = base_url(gw.fhir_state().tls, &req) else {
        return outcome(
            StatusCode::BAD_REQUEST,
            "invalid",
            "NO_HOST",
            "the request names no usable host (Host)",
        );
    };
    if query.iter().any(|(k, _)| k == "_page_token") {
        let read = PageRead {
            authorization: authorization.as_ref().map(Option::as_deref).map_err(|e| *e),
            calling_system: system.as_deref(),
            nhs,
            base: &base,
        };
        return page(gw, read, &query).await;
    }
    let glass: Result<Option<String>, HeaderError> =
        headers::break_glass_reason(req.headers()).map(|g| g.map(std::borrow::Cow::into_owned));
    let wait = prefer_wait(&req);
    let mut pairs = query;
    if req.method() == Method::POST {
        let content_type = header(&req, CONTENT_TYPE).map(str::to_owned);
        match body_parameters(content_type.as_deref(), req.into_body()).await {
            Ok(more) => pairs.extend(more),
            Err(resp) => return resp,
        }
    }
    let asked = asked(&pairs);
    let types = asked.as_ref().ok().and_then(|a| a.types.clone());
    let count = asked
        .as_ref()
        .ok()
        .and_then(|a| a.count)
        .unwrap_or(DEFAULT_PAGE);
    let sections = asked.and_then(|a| match &a.types {
        None => Ok(SectionSet::all()),
        Some(list) => fhir::sections_for_types(list).map_err(|m| ("not_supported", m)),
    });
    let request = RecordRequest {
        interaction: Interaction::FhirEverything,
        authorization: authorization.as_ref().map(Option::as_deref).map_err(|e| *e),
        break_glass: glass
            .as_ref()
            .map(|g| g.as_deref().map(std::borrow::Cow::Borrowed))
            .map_err(|e| *e),
        calling_system: system.as_deref(),
        wait,
        nhs,
        sections,
    };
    let released = match gw.access_record(request).await {
        Ok(r) => r,
        Err(stop) => return stop_fhir(&stop),
    };
    gw.measure_added(started, released.outcome.waited);
    let code = released.outcome.verdict.status();
    if code.as_u16() >= 400 {
        return with_request_id(
            fhir_response(code, fhir::record_not_shown(&released.outcome)),
            &released.request_id,
        );
    }
    let rendered =
        match fhir::render_record(&released.outcome, types.as_deref(), &released.withheld) {
            Ok(r) => r,
            Err(_) => return render_failed(),
        };
    let total = rendered.groups.len() as u64;
    let self_url = first_url(&base, nhs, types.as_deref(), count);
    let body = if count == 0 || rendered.groups.len() <= count {
        // One page: all of it, or (`_count=0`) the total alone.
        let groups = if count == 0 {
            &[][..]
        } else {
            &rendered.groups[..]
        };
        fhir::page_bundle(nhs, total, &rendered.outcomes, groups, &self_url, None)
    } else {
        let paged = Paged {
            owner: owner_of(&released.audited, system.as_deref()),
            nhs: released.outcome.nhs_number,
            released: released.audited.clone(),
            outcomes: rendered.outcomes,
            groups: rendered.groups,
        };
        match gw.fhir_state().pages.insert(paged, Instant::now()) {
            Ok((token, kept)) => fhir::page_bundle(
                nhs,
                total,
                &kept.outcomes,
                &kept.groups[..count],
                &self_url,
                Some(&page_url(&base, nhs, &token, count, count)),
            ),
            // Too large to keep: all of it on this one page, rather than
            // any of it lost.
            Err(paged) => {
                fhir::page_bundle(nhs, total, &paged.outcomes, &paged.groups, &self_url, None)
            }
        }
    };
    match body {
        Ok(b) => with_request_id(fhir_bytes(code, b), &released.request_id),
        Err(_) => render_failed(),
    }
}

fn render_failed() -> Resp {
    fhir_response(
        StatusCode::INTERNAL_SERVER_ERROR,
        fhir::outcome_error("exception", "the Bundle could not be rendered"),
    )
}

/// Who asked, as the release's audit record names them.
fn owner_of(released: &AuditRecord, calling_system: Option<&str>) -> Owner {
    let user = released.user.as_ref();
    Owner {
        issuer: user.and_then(|u| u.issuer.clone()).unwrap_or_default(),
        sub: user.map(|u| u.sub.clone()).unwrap_or_default(),
        role: user.map(|u| u.role.clone()).unwrap_or_default(),
        org: user.map(|u| u.org.to_string()).unwrap_or_default(),
        calling_system: calling_system.map(str::to_owned),
    }
}

/// A request for a page of a kept record.
struct PageRead<'a> {
    authorization: Result<Option<&'a str>, HeaderError>,
    calling_system: Option<&'a str>,
    nhs: &'a str,
    base: &'a str,
}

/// A page of a kept record: for the caller who asked for the record only,
/// audited as an access like the first page (refusals too).
async fn page(gw: &Gateway, read: PageRead<'_>, query: &[(String, String)]) -> Resp {
    let request_id = uuid::Uuid::new_v4().to_string();
    let mut draft = Draft::new(&request_id, Interaction::FhirEverything);
    draft.record.nhs_number = NhsNumber::parse(read.nhs).ok();
    draft.record.calling_system = read.calling_system.map(str::to_owned);
    let authorization = match read.authorization {
        Ok(a) => a,
        Err(e) => return stop_fhir(&gw.audit_stop(draft, e.stop(request_id)).await),
    };
    let identity = match gw.authenticate(authorization) {
        Ok(i) => i,
        Err(e) => {
            let stop = Stop::unauthenticated(request_id, &e);
            return stop_fhir(&gw.audit_stop(draft, stop).await);
        }
    };
    let user = crate::pipeline::audit::user(&identity);
    draft.record.user = Some(user.clone());
    draft.record.purpose = identity.purpose.clone();
    let at = page_at(query);
    let token = at.token;
    let (kept, offset) = match kept_pages(
        gw,
        &identity,
        &read,
        draft.record.nhs_number,
        token,
        at.offset,
    ) {
        Ok(k) => k,
        Err((why, message)) => {
            let stop = Stop::new(request_id, why, message);
            return stop_fhir(&gw.audit_stop(draft, stop).await);
        }
    };
    let count = at.count;
    let end = offset.saturating_add(count).min(kept.groups.len());
    let groups: &[Group] = &kept.groups[offset..end];
    let self_url = page_url(read.base, read.nhs, token, offset, count);
    let next = (end < kept.groups.len()).then(|| page_url(read.base, read.nhs, token, end, count));
    let outcomes: &[Box<serde_json::value::RawValue>] =
        if offset == 0 { &kept.outcomes } else { &[] };
    let body = match fhir::page_bundle(
        read.nhs,
        kept.groups.len() as u64,
        outcomes,
        groups,
        &self_url,
        next.as_deref(),
    ) {
        Ok(b) => b,
        Err(_) => return render_failed(),
    };
    let record = AuditRecord {
        time: Timestamp::now(),
        request_id: draft.record.request_id,
        user: Some(user),
        calling_system: draft.record.calling_system,
        sources: Vec::new(),
        items_released: u32::try_from(groups.len()).unwrap_or(u32::MAX),
        items_withheld: 0,
        decision: Decision::Allowed,
        http_status: 200,
        ..kept.released.clone()
    };
    if let Err(stop) = gw.audit_release(&record, &request_id).await {
        return stop_fhir(&stop);
    }
    with_request_id(fhir_bytes(StatusCode::OK, body), &request_id)
}

/// Why a page may not be read, and what it means.
type PageRefusal = (Why, String);

/// The kept record a page read names, and the page's first match, when
/// this caller may read it.
fn kept_pages(
    gw: &Gateway,
    identity: &icr_auth::Identity,
    read: &PageRead<'_>,
    nhs: Option<NhsNumber>,
    token: &str,
    offset: Option<usize>,
) -> Result<(Arc<Paged>, usize), PageRefusal> {
    let kept = gw
        .fhir_state()
        .pages
        .get(token, Instant::now())
        .ok_or_else(|| {
            (
                Why::Gone("PAGES_EXPIRED"),
                "these pages are no longer kept (they are kept for five minutes) or never were: \
                 ask for the record again ($everything) and follow its next links"
                    .to_owned(),
            )
        })?;
    let caller = Owner {
        issuer: identity.issuer.clone(),
        sub: identity.sub.clone(),
        role: identity.role.clone(),
        org: identity.org.to_string(),
        calling_system: read.calling_system.map(str::to_owned),
    };
    if caller != kept.owner {
        return Err((
            Why::Forbidden("NOT_YOUR_PAGES"),
            "these pages belong to another caller's request: ask for the record yourself".into(),
        ));
    }
    if nhs != Some(kept.nhs) {
        return Err((
            Why::Invalid {
                error: "invalid_parameter",
                code: "WRONG_PATIENT".into(),
            },
            "these pages are of another person's record: follow the next link as given".into(),
        ));
    }
    let offset = offset.filter(|o| *o <= kept.groups.len()).ok_or_else(|| {
        (
            Why::Invalid {
                error: "invalid_parameter",
                code: "INVALID_OFFSET".into(),
            },
            format!(
                "_offset must be a whole number from 0 to {}",
                kept.groups.len()
            ),
        )
    })?;
    Ok((kept, offset))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn count_and_types_are_read_and_bounded() {
        let a = asked(&pairs(&[
            ("_count", "7"),
            ("_type", "Patient, Flag"),
            ("_since", "x"),
        ]))
        .unwrap();
        assert_eq!(a.count, Some(7));
        assert_eq!(a.types, Some(vec!["Patient".into(), "Flag".into()]));
        assert_eq!(
            asked(&pairs(&[("_count", "999999999999")])).unwrap().count,
            Some(MAX_PAGE)
        );
        assert_eq!(asked(&pairs(&[("_count", "0")])).unwrap().count, Some(0));
        for bad in ["-1", "ten", "1.5", ""] {
            let e = asked(&pairs(&[("_count", bad)])).err().unwrap();
            assert_eq!(e.0, "invalid_parameter", "{bad}");
        }
    }

    #[test]
    fn a_parameters_body_is_read_strictly() {
        let body = br#"{"resourceType":"Parameters","parameter":[
            {"name":"_count","valueInteger":25},{"name":"_type","valueString":"Flag"},
            {"name":"_since","valueInstant":"2026-01-01T00:00:00Z"}]}"#;
        assert_eq!(
            parameters(body).unwrap(),
            pairs(&[
                ("_count", "25"),
                ("_type", "Flag"),
                ("_since", "2026-01-01T00:00:00Z")
            ])
        );
        assert_eq!(
            parameters(br#"{"resourceType":"Parameters"}"#).unwrap(),
            pairs(&[])
        );
        for bad in [
            &br#"{"resourceType":"Patient"}"#[..],
            br#"{"resourceType":"Parameters","parameter":{}}"#,
            br#"{"resourceType":"Parameters","parameter":[{"valueInteger":1}]}"#,
            br#"{"resourceType":"Parameters","parameter":[{"name":"_count","part":[]}]}"#,
            b"not json",
        ] {
            assert!(parameters(bad).is_err(), "{}", String::from_utf8_lossy(bad));
        }
        let many = format!(
            r#"{{"resourceType":"Parameters","parameter":[{}]}}"#,
            vec![r#"{"name":"x","valueString":"y"}"#; MAX_PARAMETERS + 1].join(",")
        );
        assert!(parameters(many.as_bytes()).is_err());
    }

    proptest::proptest! {
        #[test]
        fn any_body_or_parameter_is_read_or_refused_never_a_panic(
            body in proptest::collection::vec(proptest::num::u8::ANY, 0..512),
            key in "[_a-z]{1,8}",
            value in "\\PC{0,24}",
        ) {
            let _ = parameters(&body);
            let _ = negotiate(Some(&value), &[&value]);
            let _ = negotiate(None, &[&value, &key]);
            let _ = asked(&[(key, value.clone()), ("_count".into(), value)]);
        }

        #[test]
        fn any_parameters_resource_is_read_or_refused_never_a_panic(
            names in proptest::collection::vec("\\PC{0,12}", 0..8),
            numbers in proptest::collection::vec(proptest::num::i64::ANY, 0..8),
        ) {
            let parameter: Vec<Value> = names
                .iter()
                .zip(numbers.iter().chain(std::iter::repeat(&0)))
                .map(|(n, x)| serde_json::json!({"name": n, "valueInteger": x}))
                .collect();
            let body = serde_json::json!({"resourceType": "Parameters", "parameter": parameter});
            let read = parameters(body.to_string().as_bytes()).unwrap();
            proptest::prop_assert_eq!(read.len(), names.len());
            let _ = asked(&read);
        }
    }

    #[test]
    fn a_page_link_is_written_as_before_and_reads_back_to_its_position() {
        let token = "0123456789abcdef0123456789abcdef";
        let link = page_url(
            "http://127.0.0.1:8080/fhir/r4",
            "9990000018",
            token,
            400,
            200,
        );
        assert_eq!(
            link,
            "http://127.0.0.1:8080/fhir/r4/Patient/9990000018/$everything\
             ?_page_token=0123456789abcdef0123456789abcdef&_offset=400&_count=200"
        );
        let query = query_pairs(url::Url::parse(&link).unwrap().query());
        assert_eq!(
            page_at(&query),
            PageAt {
                token,
                offset: Some(400),
                count: 200
            }
        );
        // A token that is not the gateway's reads back all the same.
        let odd = "a&_offset=0#x+y%";
        let link = page_url("http://h/fhir/r4", "9990000018", odd, 0, 1);
        let query = query_pairs(url::Url::parse(&link).unwrap().query());
        assert_eq!(page_at(&query).token, odd);
        // The first of each counts; a page size out of range is bounded.
        let query = pairs(&[
            ("_offset", "x"),
            ("_offset", "3"),
            ("_count", "0"),
            ("_page_token", "t"),
        ]);
        assert_eq!(
            page_at(&query),
            PageAt {
                token: "t",
                offset: None,
                count: 1
            }
        );
        assert_eq!(page_at(&pairs(&[("_count", "5000")])).count, MAX_PAGE);
        assert_eq!(page_at(&[]).count, DEFAULT_PAGE);
    }

    #[test]
    fn a_post_body_is_read_by_its_content_type() {
        let form = body_pairs(
            Some("application/x-www-form-urlencoded; charset=utf-8"),
            b"_count=3&_type=Flag%2CPatient",
        );
        assert_eq!(
            form,
            Ok(pairs(&[("_count", "3"), ("_type", "Flag,Patient")]))
        );
        assert_eq!(
            body_pairs(Some("application/fhir+xml"), b" \r\n"),
            Ok(vec![])
        );
        assert_eq!(
            body_pairs(Some("application/fhir+xml"), b"<Parameters/>"),
            Err(BodyRefusal::MediaType)
        );
        assert_eq!(body_pairs(None, b"{}"), Err(BodyRefusal::MediaType));
        assert!(matches!(
            body_pairs(Some("Application/JSON"), b"{}"),
            Err(BodyRefusal::Invalid(_))
        ));
    }

    #[test]
    fn json_is_negotiated_from_format_then_accept() {
        let table: [(Option<&str>, &[&str], bool); 12] = [
            (None, &[], true),
            (None, &["*/*"], true),
            (None, &["application/fhir+json; fhirVersion=4.0"], true),
            (None, &["APPLICATION/JSON"], true),
            (None, &["text/html", "application/*;q=0.2"], true),
            (None, &["application/fhir+xml"], false),
            (None, &["application/fhir+json;q=0"], false),
            (
                None,
                &["application/fhir+json; q=0.0, application/xml"],
                false,
            ),
            (Some("json"), &["application/fhir+xml"], true),
            (Some("application/fhir+json"), &[], true),
            (Some("xml"), &["*/*"], false),
            (Some("application/fhir+xml"), &[], false),
        ];
        for (format, accept, ok) in table {
            assert_eq!(
                negotiate(format, accept).is_ok(),
                ok,
                "{format:?} {accept:?}"
            );
        }
    }

    #[test]
    fn error_statuses_have_fhir_issue_types() {
        for (code, issue) in [
            (400, "invalid"),
            (401, "login"),
            (403, "forbidden"),
            (404, "not-found"),
            (405, "not-supported"),
            (406, "not-supported"),
            (410, "not-found"),
            (500, "exception"),
            (502, "transient"),
            (503, "transient"),
        ] {
            assert_eq!(
                issue_type(StatusCode::from_u16(code).unwrap()),
                issue,
                "{code}"
            );
        }
    }

    #[tokio::test]
    async fn a_plain_json_problem_becomes_an_operation_outcome_keeping_its_headers() {
        let mut plain = Response::new(Full::new(Bytes::from_static(
            br#"{"error":"overloaded","message":"try again shortly"}"#,
        )));
        *plain.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
        plain
            .headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        plain
            .headers_mut()
            .insert(http::header::RETRY_AFTER, HeaderValue::from_static("1"));
        let r = as_outcome(plain).await;
        assert_eq!(r.status(), 503);
        assert_eq!(r.headers()[http::header::RETRY_AFTER], "1");
        assert_eq!(
            r.headers()[CONTENT_TYPE],
            "application/fhir+json; fhirVersion=4.0"
        );
        let body = r.into_body().collect().await.unwrap().to_bytes();
        let v: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["resourceType"], "OperationOutcome");
        assert_eq!(v["issue"][0]["code"], "transient");
        assert_eq!(v["issue"][0]["details"]["coding"][0]["code"], "OVERLOADED");
        assert_eq!(v["issue"][0]["diagnostics"], "try again shortly");
    }
}
