//! The audit's HTTP face: who accessed a person's record (`/v1/audit`,
//! `/fhir/r4/AuditEvent`), the chain head for operators, and the privacy
//! officer's break-glass review. Reads come from the shared audit store
//! when one is configured, else from this replica's log.

use http::header::ALLOW;
use http::{HeaderValue, Method, Request, StatusCode};
use hyper::body::Incoming;
use icr_audit::{QueryError, Timestamp};
use icr_audit_store::{AccessRef, BreakGlassQuery, ReplicaId, ReviewOutcome};

use crate::operator::operator;
use crate::pipeline::audit_read::{AuditAsk, AuditPageAsk, AuditRead};
use crate::pipeline::break_glass::{OfficerAsk, ReviewAsk};
use crate::request::{bounded_body, calling_system, param, query_pairs};
use crate::respond::{
    Resp, fhir_bytes, fhir_response, json, problem, stop_fhir, stop_json, with_request_id,
};
use crate::{Gateway, fhir, headers, view};

/// Who accessed a person's record: `GET /v1/audit?patient={nhs}` or
/// `GET /fhir/r4/AuditEvent?patient={nhs}`, a page at a time (`_count`,
/// `before`, `date`), newest first. Reads take a permit from the audit
/// log's own small pool at admission: when none is free, or the log's
/// index is still being built after a start, 503 with `Retry-After` at
/// once.
pub(crate) async fn audit(gw: &Gateway, req: &Request<Incoming>, fhir: bool) -> Resp {
    let reader = match gw.access().audit.reader() {
        Ok(r) => r,
        Err(why) => return audit_busy(fhir, why),
    };
    let params = query_pairs(req.uri().query());
    let ask = AuditAsk {
        authorization: headers::authorization(req.headers()),
        calling_system: calling_system(req),
        patient: param(&params, "patient"),
        query: audit_query(&params, gw.shared_audit().is_some()),
        reader,
    };
    let path = if fhir {
        "/fhir/r4/AuditEvent"
    } else {
        "/v1/audit"
    };
    match gw.access_audit(ask).await {
        Ok(read) if fhir => {
            let next = next_page(path, &read, gw.shared_audit().is_some());
            let bundle = icr_audit::audit_bundle(&read.page, &gw.observer(), next.as_deref());
            match serde_json::to_vec(&icr_fhir::Resource::Bundle(bundle)) {
                Ok(body) => with_request_id(fhir_bytes(StatusCode::OK, body), &read.request_id),
                Err(_) => fhir_response(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    fhir::outcome_error("exception", "the Bundle could not be rendered"),
                ),
            }
        }
        Ok(read) => match view::render_audit(
            &read,
            next_page(path, &read, gw.shared_audit().is_some()).as_deref(),
        ) {
            Ok(body) => with_request_id(json(StatusCode::OK, body), &read.request_id),
            Err(_) => problem(
                StatusCode::INTERNAL_SERVER_ERROR,
                "render_failed",
                "the audit could not be rendered",
            ),
        },
        Err(stop) if fhir => stop_fhir(&stop),
        Err(stop) => stop_json(&stop),
    }
}

/// An audit read's page asked for. With a shared store, `before` is the
/// store's cursor (`MICROS.REPLICA.SEQ`, as its next links give it);
/// without one, a sequence in this replica's log.
pub(crate) fn audit_query(
    params: &[(String, String)],
    shared: bool,
) -> Result<AuditPageAsk, QueryError> {
    let pairs = params
        .iter()
        .filter(|(k, _)| !(shared && k == "before"))
        .map(|(k, v)| (k.as_str(), v.as_str()));
    let query = icr_audit::AccessQuery::from_params(pairs)?;
    let mut cursor = None;
    if shared && let Some(v) = param(params, "before") {
        cursor = Some(v.parse().map_err(|_| QueryError {
            param: "before",
            why: "must be the cursor a page's next link gives",
        })?);
    }
    Ok(AuditPageAsk { query, cursor })
}

/// The link to the page after `read` (older accesses), if there is one:
/// the same query, before the last access shown. With a shared store, a
/// page read from this replica's log instead (the store down) has none:
/// its cursor would not be the store's.
pub(crate) fn next_page(path: &str, read: &AuditRead, shared: bool) -> Option<String> {
    if let Some(cursor) = &read.cursor {
        return Some(format!(
            "{path}?patient={}&{}&before={cursor}",
            read.nhs_number,
            read.query.to_query()
        ));
    }
    if shared {
        return None;
    }
    let before = read.page.next?;
    let query = icr_audit::AccessQuery {
        before: Some(before),
        ..read.query
    };
    Some(format!(
        "{path}?patient={}&{}",
        read.nhs_number,
        query.to_query()
    ))
}

/// The answer to an audit read refused at admission: nothing was read,
/// and the caller may try again shortly.
fn audit_busy(fhir: bool, why: icr_audit::NoReader) -> Resp {
    let (error, retry) = match why {
        icr_audit::NoReader::Busy => ("overloaded", "1"),
        icr_audit::NoReader::Indexing => ("audit_indexing", "5"),
    };
    let message = format!("{why}; try again shortly");
    let mut r = if fhir {
        fhir_response(
            StatusCode::SERVICE_UNAVAILABLE,
            fhir::outcome_error("transient", &message),
        )
    } else {
        problem(StatusCode::SERVICE_UNAVAILABLE, error, &message)
    };
    r.headers_mut()
        .insert(http::header::RETRY_AFTER, HeaderValue::from_static(retry));
    r
}

/// `GET /v1/audit/head`: the audit chain's head now (sequence, hash, file,
/// time; no patient data), for operators to record outside the gateway and
/// verify the log against (`icr audit verify --head SEQ:HASH`).
pub(crate) fn audit_head(gw: &Gateway, req: &Request<Incoming>) -> Resp {
    if let Err(r) = operator(gw, req) {
        return *r;
    }
    match serde_json::to_vec(&gw.access().audit.anchor()) {
        Ok(body) => json(StatusCode::OK, body),
        Err(_) => problem(
            StatusCode::INTERNAL_SERVER_ERROR,
            "render_failed",
            "the head could not be rendered",
        ),
    }
}

/// The largest review body read (an outcome and a note of at most 4 KiB).
const MAX_REVIEW_BODY: usize = 16 * 1024;

/// How long a review body may take to arrive.
const REVIEW_BODY_TIME: std::time::Duration = std::time::Duration::from_secs(10);

/// The privacy officer's break-glass review, from the shared store:
/// `GET /v1/audit/break-glass` lists break-glass accesses across the
/// replicas (`since`, a date or time, default a year ago; `unreviewed=true`;
/// `_count`; `before`, the next link's cursor), and
/// `POST /v1/audit/break-glass/{replica}/{seq}/review` records a review
/// (`{"outcome": "justified" | "not-justified" | "referred", "note": …}`).
pub(crate) async fn break_glass(
    gw: &Gateway,
    req: Request<Incoming>,
    segments: &[&str],
) -> (&'static str, Resp) {
    match segments {
        ["v1", "audit", "break-glass"] => {
            if let Some(r) = only(&req, &[Method::GET, Method::HEAD], "GET, HEAD") {
                return ("break-glass", r);
            }
            let params = query_pairs(req.uri().query());
            let query = break_glass_query(&params);
            let resp = match gw.break_glass_list(officer(&req), query.clone()).await {
                Ok((request_id, page)) => {
                    let next = page.next.as_ref().and_then(|cursor| {
                        query.as_ref().ok().map(|q| {
                            format!(
                                "/v1/audit/break-glass?since={}&unreviewed={}&_count={}&before={cursor}",
                                q.since.to_rfc3339(),
                                q.unreviewed_only,
                                q.count
                            )
                        })
                    });
                    match view::render_break_glass(&page, next.as_deref()) {
                        Ok(body) => with_request_id(json(StatusCode::OK, body), &request_id),
                        Err(_) => problem(
                            StatusCode::INTERNAL_SERVER_ERROR,
                            "render_failed",
                            "the break-glass list could not be rendered",
                        ),
                    }
                }
                Err(stop) => stop_json(&stop),
            };
            ("break-glass", resp)
        }
        ["v1", "audit", "break-glass", replica, seq, "review"] => {
            if let Some(r) = only(&req, &[Method::POST], "POST") {
                return ("break-glass-review", r);
            }
            let access = access_ref(replica, seq);
            let (parts, body) = req.into_parts();
            let head = Request::from_parts(parts, ());
            let officer = officer(&head);
            let body = bounded_body(body, MAX_REVIEW_BODY, REVIEW_BODY_TIME).await;
            let review = match body {
                Ok(bytes) => access.and_then(|access| review_body(access, &bytes)),
                Err(_) => Err(format!(
                    "the body is over {} KiB, was cut short or did not arrive in time",
                    MAX_REVIEW_BODY / 1024
                )),
            };
            let resp = match gw.break_glass_review(officer, review).await {
                Ok(request_id) => {
                    let body =
                        serde_json::json!({"replica": replica, "seq": seq, "recorded": true});
                    with_request_id(
                        json(StatusCode::CREATED, body.to_string().into_bytes()),
                        &request_id,
                    )
                }
                Err(stop) => stop_json(&stop),
            };
            ("break-glass-review", resp)
        }
        _ => (
            "unknown",
            problem(StatusCode::NOT_FOUND, "not_found", "no such route"),
        ),
    }
}

/// Who asks for the break-glass review.
fn officer<B>(req: &Request<B>) -> OfficerAsk<'_> {
    OfficerAsk {
        authorization: headers::authorization(req.headers()),
        calling_system: calling_system(req),
    }
}

/// A 405 naming the methods `allow`ed, unless the request's is one of
/// `methods`.
fn only(req: &Request<Incoming>, methods: &[Method], allow: &'static str) -> Option<Resp> {
    if methods.contains(req.method()) {
        return None;
    }
    let mut r = problem(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        &format!("only {allow} is supported here"),
    );
    r.headers_mut()
        .insert(ALLOW, HeaderValue::from_static(allow));
    Some(r)
}

/// The break-glass list's query: `since` (a date or a time; default a year
/// ago), `unreviewed`, `_count`, `before`.
fn break_glass_query(params: &[(String, String)]) -> Result<BreakGlassQuery, String> {
    let mut q = BreakGlassQuery::last_twelve_months(Timestamp::now());
    for (key, value) in params {
        match key.as_str() {
            "since" => {
                let range = icr_audit::DateRange::parse(&format!("ge{value}")).map_err(
                    |_| "since must be a date (2026-11-26) or a time (2026-11-26T09:14:03Z)",
                )?;
                q.since = range
                    .micros()
                    .0
                    .and_then(Timestamp::from_unix_micros)
                    .ok_or("since is out of range")?;
            }
            "unreviewed" => {
                q.unreviewed_only = match value.as_str() {
                    "true" => true,
                    "false" => false,
                    _ => return Err("unreviewed must be true or false".into()),
                }
            }
            "_count" => q.count = icr_audit::page_count(value).map_err(|e| e.to_string())?,
            "before" => {
                q.before = Some(
                    value
                        .parse()
                        .map_err(|_| "before must be the cursor a page's next link gives")?,
                );
            }
            _ => {}
        }
    }
    Ok(q)
}

/// The access a review path names (`{replica}/{seq}`).
fn access_ref(replica: &str, seq: &str) -> Result<AccessRef, String> {
    let replica =
        ReplicaId::parse(replica).map_err(|_| "the path's replica is not a replica id")?;
    let seq = seq
        .parse::<u64>()
        .ok()
        .filter(|s| *s > 0 && seq.len() <= 20)
        .ok_or("the path's sequence is not a whole number from 1")?;
    Ok(AccessRef {
        replica,
        seq: icr_audit::Sequence::new(seq),
    })
}

/// A review's body: `{"outcome": …, "note": …}` (the note optional).
fn review_body(access: AccessRef, bytes: &[u8]) -> Result<ReviewAsk, String> {
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Body {
        outcome: String,
        #[serde(default)]
        note: String,
    }
    let body: Body = serde_json::from_slice(bytes)
        .map_err(|_| "the body must be JSON: {\"outcome\": …, \"note\": …}")?;
    let outcome = ReviewOutcome::parse(&body.outcome)
        .ok_or("outcome must be justified, not-justified or referred")?;
    Ok(ReviewAsk {
        access,
        outcome,
        note: body.note,
    })
}
