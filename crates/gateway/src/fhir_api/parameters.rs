//! `$everything`'s parameters, from the query or a POST body (a
//! Parameters resource or a form): read strictly and bounded.

use std::time::Duration;

use http::StatusCode;
use hyper::body::Incoming;
use serde_json::Value;

use crate::request::{BodyError, bounded_body};
use crate::respond::{Resp, outcome};

use super::MAX_PAGE;
use super::negotiate::is_json;

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

/// A parameter of `$everything` refused (`400`).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub(crate) enum ParameterError {
    /// `_count` is not a whole number: its first 20 characters.
    #[error("_count {0:?} is not a whole number (0 or more)")]
    Count(String),
}

impl ParameterError {
    /// The error family answered (`error` in JSON, the OperationOutcome's
    /// code upper-cased).
    pub(crate) const fn family(&self) -> &'static str {
        match self {
            ParameterError::Count(_) => "invalid_parameter",
        }
    }
}

/// Reads `$everything`'s parameters (query and body alike). Unknown ones
/// (`start`, `end`, `_since`, …) are ignored, as FHIR servers do.
pub(crate) fn asked(pairs: &[(String, String)]) -> Result<Asked, ParameterError> {
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
                let n: u64 = value
                    .trim()
                    .parse()
                    .map_err(|_| ParameterError::Count(value.chars().take(20).collect()))?;
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
    let bytes = match bounded_body(body, MAX_BODY, BODY_TIME).await {
        Ok(b) => b,
        Err(BodyError::TooLarge) => {
            return Err(outcome(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too-long",
                "BODY_TOO_LARGE",
                &format!("the body is over {} KiB, or was cut short", MAX_BODY / 1024),
            ));
        }
        Err(BodyError::Timeout) => {
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
        BodyRefusal::Invalid(why) => outcome(
            StatusCode::BAD_REQUEST,
            "invalid",
            "INVALID_PARAMETERS",
            &why.to_string(),
        ),
    })
}

/// Why a POST body's parameters cannot be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum BodyRefusal {
    /// Neither JSON nor a form (`415`).
    MediaType,
    /// Not a Parameters resource the gateway reads (`400`), and why.
    Invalid(ParametersError),
}

/// Why a body is not a Parameters resource the gateway reads. Messages
/// quote at most a parameter's name, bounded.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub(crate) enum ParametersError {
    /// Not JSON: what is wrong and where, with no values
    /// ([`icr_adapter_sdk::json_error`]).
    #[error("{0}")]
    NotJson(String),
    /// JSON, but not a Parameters resource.
    #[error("the body is not a Parameters resource (resourceType Parameters)")]
    NotParameters,
    /// `parameter` is not a list.
    #[error("Parameters.parameter is not a list")]
    NotAList,
    /// More than [`MAX_PARAMETERS`] parameters.
    #[error("more than {MAX_PARAMETERS} parameters")]
    TooMany,
    /// A parameter with no `name`.
    #[error("a parameter has no name")]
    Unnamed,
    /// A parameter whose value is not a primitive: its name's first 40
    /// characters.
    #[error("parameter {0:?} has no primitive value")]
    NoValue(String),
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
pub(crate) fn parameters(body: &[u8]) -> Result<Vec<(String, String)>, ParametersError> {
    let v: Value = serde_json::from_slice(body).map_err(|e| {
        ParametersError::NotJson(icr_adapter_sdk::json_error(
            "the body is not a Parameters resource",
            &e,
        ))
    })?;
    if v["resourceType"] != "Parameters" {
        return Err(ParametersError::NotParameters);
    }
    let list = match &v["parameter"] {
        Value::Null => return Ok(Vec::new()),
        Value::Array(list) if list.len() <= MAX_PARAMETERS => list,
        Value::Array(_) => return Err(ParametersError::TooMany),
        _ => return Err(ParametersError::NotAList),
    };
    let mut out = Vec::new();
    for p in list {
        let Some(name) = p["name"].as_str() else {
            return Err(ParametersError::Unnamed);
        };
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
            .ok_or_else(|| ParametersError::NoValue(name.chars().take(40).collect()))?;
        out.push((name.to_owned(), value));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fhir_api::tests::pairs;

    #[test]
    fn a_count_refused_says_which_bounded() {
        let e = asked(&pairs(&[("_count", "ten")])).unwrap_err();
        assert_eq!(e, ParameterError::Count("ten".into()));
        assert_eq!(e.family(), "invalid_parameter");
        assert_eq!(
            e.to_string(),
            r#"_count "ten" is not a whole number (0 or more)"#
        );
        let long = "9".repeat(19) + "x" + &"9".repeat(30);
        assert_eq!(
            asked(&pairs(&[("_count", &long)])).unwrap_err(),
            ParameterError::Count(long.chars().take(20).collect())
        );
    }

    #[test]
    fn a_parameters_body_refused_says_why() {
        let refused = |body: &[u8]| parameters(body).unwrap_err();
        assert_eq!(
            refused(b"{\"resourceType\":").to_string(),
            "the body is not a Parameters resource: truncated JSON at line 1 column 16"
        );
        assert_eq!(
            refused(br#"{"resourceType":"Patient"}"#),
            ParametersError::NotParameters
        );
        assert_eq!(
            ParametersError::NotParameters.to_string(),
            "the body is not a Parameters resource (resourceType Parameters)"
        );
        assert_eq!(
            refused(br#"{"resourceType":"Parameters","parameter":{}}"#).to_string(),
            "Parameters.parameter is not a list"
        );
        let many = format!(
            r#"{{"resourceType":"Parameters","parameter":[{}]}}"#,
            vec![r#"{"name":"x","valueString":"y"}"#; MAX_PARAMETERS + 1].join(",")
        );
        assert_eq!(
            refused(many.as_bytes()).to_string(),
            "more than 100 parameters"
        );
        assert_eq!(
            refused(br#"{"resourceType":"Parameters","parameter":[{"valueInteger":1}]}"#)
                .to_string(),
            "a parameter has no name"
        );
        let name = "n".repeat(50);
        let body = format!(
            r#"{{"resourceType":"Parameters","parameter":[{{"name":"{name}","part":[]}}]}}"#
        );
        assert_eq!(
            refused(body.as_bytes()),
            ParametersError::NoValue("n".repeat(40))
        );
        assert_eq!(
            ParametersError::NoValue("_count".into()).to_string(),
            r#"parameter "_count" has no primitive value"#
        );
        assert_eq!(
            body_pairs(Some("application/json"), br#"{"resourceType":"Patient"}"#),
            Err(BodyRefusal::Invalid(ParametersError::NotParameters))
        );
    }
}
