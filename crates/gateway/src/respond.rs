//! Answers: the response builders every route uses — JSON and FHIR
//! bodies with the headers every answer carries (`Cache-Control:
//! no-store`), the request id, and a typed [`Stop`] as a JSON problem or an
//! OperationOutcome with its status, `Retry-After` and challenge. The
//! HTTP edge's one place for how an answer is written.

use bytes::Bytes;
use http::header::{CACHE_CONTROL, CONTENT_LENGTH, CONTENT_TYPE, WWW_AUTHENTICATE};
use http::{HeaderValue, Response, StatusCode};
use http_body_util::{BodyExt as _, Full};
use serde_json::Value;

use crate::fhir;
use crate::outcome::Stop;

/// An answer.
pub(crate) type Resp = Response<Full<Bytes>>;

/// The answer to a request shed under load: nothing was fetched, and the
/// caller may try again shortly.
pub(crate) fn shed() -> Resp {
    let mut r = problem(
        StatusCode::SERVICE_UNAVAILABLE,
        "overloaded",
        "the gateway is serving as many requests as it allows; try again shortly",
    );
    r.headers_mut()
        .insert(http::header::RETRY_AFTER, HeaderValue::from_static("1"));
    r
}

pub(crate) fn with_request_id(mut r: Resp, id: &str) -> Resp {
    if !id.is_empty()
        && let Ok(v) = HeaderValue::from_str(id)
    {
        r.headers_mut().insert("x-request-id", v);
    }
    r
}

pub(crate) fn with_challenge(mut r: Resp, stop: &Stop) -> Resp {
    if let Some(seconds) = stop.retry_after() {
        r.headers_mut()
            .insert(http::header::RETRY_AFTER, HeaderValue::from(seconds));
    }
    if let Some(c) = stop
        .challenge()
        .and_then(|c| HeaderValue::from_str(&c).ok())
    {
        r.headers_mut().insert(WWW_AUTHENTICATE, c);
    }
    with_request_id(r, &stop.request_id)
}

/// A refusal as JSON: `{"error", "code", "message"}` (`reason` for 401s).
pub(crate) fn stop_json(stop: &Stop) -> Resp {
    let status = stop.status();
    let body = if status == StatusCode::UNAUTHORIZED {
        serde_json::json!({"error": stop.error(), "reason": stop.code(), "message": stop.message})
    } else if status == StatusCode::BAD_REQUEST {
        serde_json::json!({"error": stop.error(), "message": stop.message})
    } else {
        serde_json::json!({"error": stop.error(), "code": stop.code(), "message": stop.message})
    };
    with_challenge(json(status, body.to_string().into_bytes()), stop)
}

/// A refusal as an OperationOutcome.
pub(crate) fn stop_fhir(stop: &Stop) -> Resp {
    let status = stop.status();
    let code = if stop.error() == "not_supported" {
        "not-supported"
    } else {
        issue_type(status)
    };
    let outcome = fhir::outcome_error_coded(code, stop.code(), &stop.message);
    with_challenge(fhir_response(status, outcome), stop)
}

pub(crate) fn with_headers(code: StatusCode, content_type: &'static str, body: Vec<u8>) -> Resp {
    let mut r = Response::new(Full::new(Bytes::from(body)));
    *r.status_mut() = code;
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    // Every answer may carry patient data or reveal that a record exists.
    r.headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

pub(crate) fn json(code: StatusCode, body: Vec<u8>) -> Resp {
    with_headers(code, "application/json", body)
}

pub(crate) fn problem(code: StatusCode, error: &str, message: &str) -> Resp {
    let body = serde_json::json!({"error": error, "message": message});
    json(code, body.to_string().into_bytes())
}

pub(crate) fn fhir_bytes(code: StatusCode, body: Vec<u8>) -> Resp {
    with_headers(code, "application/fhir+json; fhirVersion=4.0", body)
}

pub(crate) fn fhir_response(code: StatusCode, resource: icr_fhir::Resource) -> Resp {
    match serde_json::to_vec(&resource) {
        Ok(body) => fhir_bytes(code, body),
        Err(_) => fhir_bytes(StatusCode::INTERNAL_SERVER_ERROR, Vec::new()),
    }
}

/// An OperationOutcome answer with one error issue.
pub(crate) fn outcome(code: StatusCode, issue: &str, icr_code: &str, message: &str) -> Resp {
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

#[cfg(test)]
mod tests {
    use super::*;

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
