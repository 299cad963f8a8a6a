//! `/v1/extracts`: operators start, watch and cancel population-health
//! extract runs (`POST /v1/extracts` with `{"extract": NAME}` or
//! `{"resume": RUN}`; `GET /v1/extracts`; `GET` and `DELETE
//! /v1/extracts/{run}`). Operator roles only; not an access to a record
//! (each person a run reads is audited as one). A start answers 202 with
//! the run's status; 404 for an unknown extract or run; 409 while a run of
//! the extract is running, or when the run asked for has written its
//! files already.

use std::time::Duration;

use http::{Method, Request, StatusCode};
use hyper::body::Incoming;

use crate::Gateway;
use crate::extract_runs::{ExtractRunsError, StartExtract};
use crate::operator::operator;
use crate::request::bounded_body;
use crate::respond::{Resp, json, problem};

/// The largest start request read.
const MAX_BODY: usize = 4 * 1024;

/// Routes `/v1/extracts` and `/v1/extracts/{run}`.
pub(crate) async fn route(gw: &Gateway, req: Request<Incoming>, run: Option<&str>) -> Resp {
    let identity = match operator(gw, &req) {
        Ok(i) => i,
        Err(r) => return *r,
    };
    let Some(runs) = gw.extract_runs() else {
        return problem(
            StatusCode::NOT_FOUND,
            "no_extracts",
            "this gateway hosts no extract runs (no [[extract]] in gateway.toml)",
        );
    };
    let starting = req.method() == Method::POST;
    let answer = match (req.method().clone(), run) {
        (Method::GET, None) => Ok(runs.list()),
        (Method::POST, None) => {
            let body = match bounded_body(req.into_body(), MAX_BODY, Duration::from_secs(10)).await
            {
                Ok(b) => b,
                Err(_) => {
                    return problem(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        "body_too_large",
                        "a start request is at most 4 KiB, sent within 10 s",
                    );
                }
            };
            match serde_json::from_slice::<StartExtract>(&body) {
                Ok(ask) => {
                    tracing::info!(user = %identity.sub, extract = ?ask.extract, resume = ?ask.resume, "extract run asked for");
                    runs.start(gw.clone(), ask)
                }
                Err(e) => Err(ExtractRunsError::Invalid(format!(
                    "expected {{\"extract\": NAME}} or {{\"resume\": RUN}}: {e}"
                ))),
            }
        }
        (Method::GET, Some(run)) => runs.status(run),
        (Method::DELETE, Some(run)) => {
            tracing::info!(user = %identity.sub, "extract run cancelled");
            runs.cancel(run)
        }
        _ => {
            return problem(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "GET or POST /v1/extracts; GET or DELETE /v1/extracts/{run}",
            );
        }
    };
    match answer {
        Ok(body) => {
            let status = if starting {
                StatusCode::ACCEPTED
            } else {
                StatusCode::OK
            };
            json(status, body.to_string().into_bytes())
        }
        Err(e) => {
            let (status, code) = match &e {
                ExtractRunsError::UnknownExtract(_) => (StatusCode::NOT_FOUND, "unknown_extract"),
                ExtractRunsError::UnknownRun => (StatusCode::NOT_FOUND, "unknown_run"),
                ExtractRunsError::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
                ExtractRunsError::Invalid(_) => (StatusCode::BAD_REQUEST, "invalid"),
                ExtractRunsError::Failed(_) => (StatusCode::INTERNAL_SERVER_ERROR, "not_started"),
            };
            problem(status, code, &e.to_string())
        }
    }
}
