//! HTTP: routes, request validation, responses. hyper 1 on tokio, HTTP/1.1
//! and HTTP/2, graceful shutdown.

use std::convert::Infallible;
use std::future::Future;
use std::time::Duration;

use bytes::Bytes;
use http::header::{ALLOW, AUTHORIZATION, CACHE_CONTROL, CONTENT_TYPE, WWW_AUTHENTICATE};
use http::{HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use icr_model::{NhsNumber, SectionSet};
use tokio::net::TcpListener;

use icr_auth::Identity;

use crate::{Gateway, fhir, view};

/// How long in-flight requests may take to finish after shutdown begins.
const DRAIN: Duration = Duration::from_secs(10);

/// Serves the gateway on `listener` until `shutdown` resolves, then stops
/// accepting and lets in-flight requests finish (for at most 10 s).
pub async fn serve(
    listener: TcpListener,
    gateway: Gateway,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let graceful = GracefulShutdown::new();
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(Duration::from_secs(10))
        .max_buf_size(64 * 1024);
    builder.http2().max_concurrent_streams(256);
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, _) = match accepted {
                    Ok(a) => a,
                    Err(e) => {
                        // Too many open files and the like: back off, keep serving.
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                let gw = gateway.clone();
                let service = hyper::service::service_fn(move |req| {
                    let gw = gw.clone();
                    async move { Ok::<_, Infallible>(handle(&gw, req).await) }
                });
                let conn = builder.serve_connection_with_upgrades(TokioIo::new(stream), service);
                let conn = graceful.watch(conn.into_owned());
                tokio::spawn(async move {
                    let _ = conn.await;
                });
            }
            () = &mut shutdown => break,
        }
    }
    drop(listener);
    if tokio::time::timeout(DRAIN, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("in-flight requests did not finish within the drain time");
    }
    Ok(())
}

type Resp = Response<Full<Bytes>>;

/// Routes one request.
pub(crate) async fn handle(gw: &Gateway, req: Request<Incoming>) -> Resp {
    let started = std::time::Instant::now();
    let path = req.uri().path().to_string();
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let (route, resp) = match segments.as_slice() {
        ["healthz"] => (
            "healthz",
            only_get(&req).unwrap_or_else(|| json(StatusCode::OK, br#"{"status":"ok"}"#.to_vec())),
        ),
        ["readyz"] => ("readyz", only_get(&req).unwrap_or_else(|| ready(gw))),
        ["v1", "patients", nhs, "record"] => (
            "record",
            match only_get(&req) {
                Some(r) => r,
                None => match authenticate(gw, &req, false) {
                    Ok(identity) => record(gw, &identity, nhs, req.uri().query()).await,
                    Err(r) => *r,
                },
            },
        ),
        ["fhir", "r4", "metadata"] => (
            "fhir-metadata",
            only_get(&req)
                .unwrap_or_else(|| fhir_bytes(StatusCode::OK, fhir::capability_statement())),
        ),
        ["fhir", "r4", "Patient", nhs, op]
            if *op == "$everything" || op.eq_ignore_ascii_case("%24everything") =>
        {
            (
                "fhir-everything",
                match only_get(&req) {
                    Some(r) => r,
                    None => match authenticate(gw, &req, true) {
                        Ok(identity) => everything(gw, &identity, nhs, req.uri().query()).await,
                        Err(r) => *r,
                    },
                },
            )
        }
        _ => (
            "unknown",
            problem(
                StatusCode::NOT_FOUND,
                "not_found",
                "no such route; see the API description in docs/openapi.yaml",
            ),
        ),
    };
    tracing::info!(
        route,
        status = resp.status().as_u16(),
        latency_ms = started.elapsed().as_millis() as u64,
        "request"
    );
    resp
}

fn only_get(req: &Request<Incoming>) -> Option<Resp> {
    if req.method() == Method::GET {
        return None;
    }
    let mut r = problem(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "only GET is supported here",
    );
    r.headers_mut()
        .insert(ALLOW, HeaderValue::from_static("GET"));
    Some(r)
}

fn ready(gw: &Gateway) -> Resp {
    let body = serde_json::json!({"status": "ready", "sources": gw.source_count()});
    json(StatusCode::OK, body.to_string().into_bytes())
}

/// Query parameters, with repeated keys kept.
fn query_pairs(query: Option<&str>) -> Vec<(String, String)> {
    url::form_urlencoded::parse(query.unwrap_or("").as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn parse_nhs(raw: &str) -> Result<NhsNumber, String> {
    NhsNumber::parse(raw).map_err(|e| {
        let shown: String = raw
            .chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .take(16)
            .collect();
        format!("{shown:?} is not a valid NHS number: {e}")
    })
}

/// The caller, or the 401 to answer (as an OperationOutcome on the FHIR
/// routes). Nothing about the request is looked at before this.
fn authenticate(gw: &Gateway, req: &Request<Incoming>, fhir: bool) -> Result<Identity, Box<Resp>> {
    let header = req
        .headers()
        .get(AUTHORIZATION)
        .map(|v| v.to_str().unwrap_or("\u{0}"));
    gw.authenticate(header).map_err(|e| {
        let mut r = if fhir {
            fhir_response(StatusCode::UNAUTHORIZED, fhir::outcome_error("login", &e.to_string()))
        } else {
            let body = serde_json::json!({"error": "unauthenticated", "reason": e.reason(), "message": e.to_string()});
            json(StatusCode::UNAUTHORIZED, body.to_string().into_bytes())
        };
        let challenge = format!("Bearer error=\"invalid_token\", error_description=\"{}\"", e.reason());
        if let Ok(v) = HeaderValue::from_str(&challenge) {
            r.headers_mut().insert(WWW_AUTHENTICATE, v);
        }
        Box::new(r)
    })
}

async fn record(gw: &Gateway, identity: &Identity, nhs: &str, query: Option<&str>) -> Resp {
    let nhs = match parse_nhs(nhs) {
        Ok(n) => n,
        Err(msg) => return problem(StatusCode::BAD_REQUEST, "invalid_nhs_number", &msg),
    };
    let mut sections: Option<SectionSet> = None;
    for (key, value) in query_pairs(query) {
        match key.as_str() {
            "sections" => match SectionSet::parse_list(&value) {
                Ok(s) if s.is_empty() => {
                    return problem(
                        StatusCode::BAD_REQUEST,
                        "invalid_sections",
                        "sections is empty; leave it out to ask for every section",
                    );
                }
                Ok(s) => sections = Some(sections.unwrap_or_default().union(s)),
                Err(e) => {
                    return problem(StatusCode::BAD_REQUEST, "invalid_sections", &e.to_string());
                }
            },
            other => {
                let shown: String = other.chars().take(40).collect();
                return problem(
                    StatusCode::BAD_REQUEST,
                    "unknown_parameter",
                    &format!("unknown query parameter {shown:?}; the only parameter is sections"),
                );
            }
        }
    }
    let outcome = gw
        .record(identity, nhs, sections.unwrap_or_else(SectionSet::all))
        .await;
    match view::render(&outcome) {
        Ok(body) => json(status(outcome.http_status), body),
        Err(_) => problem(
            StatusCode::INTERNAL_SERVER_ERROR,
            "render_failed",
            "the view could not be rendered",
        ),
    }
}

async fn everything(gw: &Gateway, identity: &Identity, nhs: &str, query: Option<&str>) -> Resp {
    let nhs = match parse_nhs(nhs) {
        Ok(n) => n,
        Err(msg) => {
            return fhir_response(
                StatusCode::BAD_REQUEST,
                fhir::outcome_error("invalid", &msg),
            );
        }
    };
    let mut types: Option<Vec<String>> = None;
    for (key, value) in query_pairs(query) {
        match key.as_str() {
            "_type" => types.get_or_insert_with(Vec::new).extend(
                value
                    .split(',')
                    .map(str::trim)
                    .filter(|t| !t.is_empty())
                    .map(str::to_owned),
            ),
            "_format"
                if matches!(
                    value.as_str(),
                    "json" | "application/json" | "application/fhir+json"
                ) => {}
            "_format" => {
                return fhir_response(
                    StatusCode::NOT_ACCEPTABLE,
                    fhir::outcome_error("not-supported", "only JSON is supported (_format=json)"),
                );
            }
            // FHIR servers ignore parameters they do not know, unless asked to be strict.
            _ => {}
        }
    }
    let sections = match &types {
        None => SectionSet::all(),
        Some(list) => match fhir::sections_for_types(list) {
            Ok(s) => s,
            Err(msg) => {
                return fhir_response(
                    StatusCode::BAD_REQUEST,
                    fhir::outcome_error("not-supported", &msg),
                );
            }
        },
    };
    let outcome = gw.record(identity, nhs, sections).await;
    match fhir::render_everything(&outcome, types.as_deref()) {
        Ok(body) => fhir_bytes(status(outcome.http_status), body),
        Err(_) => fhir_response(
            StatusCode::INTERNAL_SERVER_ERROR,
            fhir::outcome_error("exception", "the Bundle could not be rendered"),
        ),
    }
}

fn status(code: u16) -> StatusCode {
    StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

fn with_headers(code: StatusCode, content_type: &'static str, body: Vec<u8>) -> Resp {
    let mut r = Response::new(Full::new(Bytes::from(body)));
    *r.status_mut() = code;
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    // Every answer may carry patient data or reveal that a record exists.
    r.headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

fn json(code: StatusCode, body: Vec<u8>) -> Resp {
    with_headers(code, "application/json", body)
}

fn problem(code: StatusCode, error: &str, message: &str) -> Resp {
    let body = serde_json::json!({"error": error, "message": message});
    json(code, body.to_string().into_bytes())
}

fn fhir_bytes(code: StatusCode, body: Vec<u8>) -> Resp {
    with_headers(code, "application/fhir+json; fhirVersion=4.0", body)
}

fn fhir_response(code: StatusCode, resource: icr_fhir::Resource) -> Resp {
    match serde_json::to_vec(&resource) {
        Ok(body) => fhir_bytes(code, body),
        Err(_) => fhir_bytes(StatusCode::INTERNAL_SERVER_ERROR, Vec::new()),
    }
}
