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

use bytes::Bytes;
use http::header::{ALLOW, CONTENT_TYPE};
use http::{HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;

use crate::Gateway;
use crate::fhir;
use crate::respond::{Resp, fhir_bytes, outcome};

mod everything;
mod links;
mod negotiate;
mod pages;
mod parameters;

use self::everything::everything;

// What the fuzzing entry points (crate::fuzz) run.
pub(crate) use self::links::{PageAt, base_url, first_url, page_at, page_url};
pub(crate) use self::negotiate::accepts_json;
pub(crate) use self::parameters::{Asked, BodyRefusal, asked, body_pairs};

/// A header that says how to answer (not who asks): its text, or none when
/// absent or not visible ASCII.
pub(crate) fn header<B>(req: &Request<B>, name: http::header::HeaderName) -> Option<&str> {
    req.headers().get(name).and_then(|v| v.to_str().ok())
}

/// Matches per page when the caller does not say (`_count`): a typical
/// record (the demo's story patients hold 12 to 60 items) is one page,
/// and a large one comes in pages of a few hundred kilobytes.
pub const DEFAULT_PAGE: usize = 200;

/// The most matches a page holds, whatever `_count` asks: bounds a page at
/// a few megabytes.
pub const MAX_PAGE: usize = 1000;

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
                    fhir::capability_statement(&trusted_issuers(gw)),
                )
            }),
        ),
        ["fhir", "r4", "Patient", nhs, op]
            if *op == "$everything" || op.eq_ignore_ascii_case("%24everything") =>
        {
            let resp = match precheck(&req, &[Method::GET, Method::POST], "GET, HEAD, POST") {
                Some(r) => r,
                None => match gw.admit() {
                    None => crate::respond::shed(),
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
        &trusted_issuers(gw),
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
    if let Err(refused) = accepts_json(req) {
        return Some(outcome(
            StatusCode::NOT_ACCEPTABLE,
            "not-supported",
            "NOT_ACCEPTABLE",
            &refused.to_string(),
        ));
    }
    only(req, methods, allow)
}

pub(crate) fn only(
    req: &Request<Incoming>,
    methods: &[Method],
    allow: &'static str,
) -> Option<Resp> {
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

/// The issuers whose tokens are trusted now, for discovery.
fn trusted_issuers(gw: &Gateway) -> Vec<fhir::TrustedIssuer> {
    gw.access()
        .verifier
        .issuers()
        .map(|(issuer, audience)| fhir::TrustedIssuer {
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
        })
        .collect()
}

#[cfg(test)]
mod tests;
