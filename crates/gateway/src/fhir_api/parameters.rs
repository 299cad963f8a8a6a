//! `$everything`'s parameters, from the query or a POST body (a
//! Parameters resource or a form): read strictly and bounded.

use std::time::Duration;

use http::StatusCode;
use http_body_util::{BodyExt as _, Limited};
use hyper::body::Incoming;
use serde_json::Value;

use crate::respond::{Resp, outcome};

use super::*;

/// The largest `$everything` POST body read (a Parameters resource).
pub(crate) const MAX_BODY: usize = 64 * 1024;

/// How long a POST body may take to arrive.
pub(crate) const BODY_TIME: Duration = Duration::from_secs(10);

/// The most parameters a Parameters body may hold.
pub(crate) const MAX_PARAMETERS: usize = 100;

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
pub(crate) async fn body_parameters(
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
pub(crate) fn parameters(body: &[u8]) -> Result<Vec<(String, String)>, String> {
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
