//! HTTP: routes, request validation, responses. The connections they are
//! served on (HTTP/1.1 and HTTP/2, TLS, graceful shutdown) are
//! [`crate::listener`]'s.

use std::future::Future;

use bytes::Bytes;
use http::header::{ALLOW, CONTENT_TYPE};
use http::{HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use icr_model::SectionSet;
use tokio::net::TcpListener;
use tracing::Instrument as _;

use icr_audit::Interaction;

use crate::listener::{self, ConnectionLimits, ConnectionMetrics};
use crate::request::{calling_system, no_cache, prefer_wait, query_pairs};
// The listener names these here.
use crate::operator::operator;
use crate::pipeline::RecordRequest;
use crate::respond::{Resp, shed};
use crate::respond::{json, problem, stop_json, with_request_id};
use crate::{Gateway, audit_api, fhir_api, headers, view, viewer};

/// Serves the gateway over plain HTTP on `listener`, its connections
/// within `limits`, until `shutdown` resolves; then stops accepting and
/// lets in-flight requests finish (for at most 10 s). For loopback and
/// behind a TLS-terminating proxy.
pub async fn serve(
    listener: TcpListener,
    gateway: Gateway,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    listener::serve_with(listener, limits, None, Routes(gateway), shutdown).await
}

/// As [`serve`], over TLS: each connection's handshake runs (within the
/// request timeout) in its own task, and the calling system's verified
/// client certificate, if any, is recorded with every request made on
/// that connection. When the gateway's configuration has `[tls]`, new
/// connections use its certificates as last loaded (a reload rotates
/// them); `tls` serves otherwise.
pub async fn serve_tls(
    listener: TcpListener,
    gateway: Gateway,
    limits: ConnectionLimits,
    tls: icr_tls::ServerTls,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    listener::serve_with(listener, limits, Some(tls), Routes(gateway), shutdown).await
}

/// The gateway's routes, as the listener calls them for each request.
#[derive(Clone)]
struct Routes(Gateway);

impl listener::Handler for Routes {
    fn current_tls(&self) -> Option<icr_tls::ServerTls> {
        self.0.current_tls()
    }

    fn call(&self, req: Request<Incoming>) -> impl Future<Output = Resp> + Send + use<> {
        let gw = self.0.clone();
        // One span per request: route, method, status and time; the path
        // (which holds the NHS number) is never recorded.
        let span = tracing::info_span!(
            "request",
            otel.kind = "server",
            http.request.method = %req.method(),
            route = tracing::field::Empty,
            http.response.status_code = tracing::field::Empty,
        );
        async move { handle(&gw, req).await }.instrument(span)
    }
}

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
        ["metrics"] => (
            "metrics",
            only_get(&req).unwrap_or_else(|| metrics(gw, &req)),
        ),
        ["v1", "patients", nhs, "record"] => (
            "record",
            match only_get(&req) {
                Some(r) => r,
                None => match gw.admit() {
                    None => shed(),
                    Some(permit) => listener::hold_until_sent(record(gw, &req, nhs).await, permit),
                },
            },
        ),
        ["v1", "cache", "patients", nhs] => ("cache-purge", purge(gw, &req, nhs).await),
        ["v1", "extracts"] => ("extracts", crate::extracts_api::route(gw, req, None).await),
        ["v1", "extracts", run] => (
            "extracts",
            crate::extracts_api::route(gw, req, Some(run)).await,
        ),
        ["v1", "sources"] => (
            "sources",
            match only_get(&req) {
                Some(r) => r,
                None => sources(gw, &req).await,
            },
        ),
        ["v1", "audit"] => (
            "audit",
            match only_get(&req) {
                Some(r) => r,
                None => audit_api::audit(gw, &req, false).await,
            },
        ),
        ["v1", "audit", "head"] => (
            "audit-head",
            match only_get(&req) {
                Some(r) => r,
                None => audit_api::audit_head(gw, &req),
            },
        ),
        ["fhir", "r4", "AuditEvent"] => (
            "fhir-audit",
            match fhir_api::precheck(&req, &[Method::GET], "GET, HEAD") {
                Some(r) => r,
                None => audit_api::audit(gw, &req, true).await,
            },
        ),
        [".well-known", "smart-configuration"] => (
            "smart-configuration",
            only_get(&req).unwrap_or_else(|| fhir_api::smart_configuration(gw)),
        ),
        ["fhir", ..] => fhir_api::route(gw, req, &segments).await,
        ["v1", "audit", "break-glass", ..] => audit_api::break_glass(gw, req, &segments).await,
        [first, ..] if viewer::owns(first) => viewer::route(gw, req, &segments).await,
        _ => (
            "unknown",
            problem(
                StatusCode::NOT_FOUND,
                "not_found",
                "no such route; see the API description in docs/openapi.yaml",
            ),
        ),
    };
    // Every answer under /fhir/ is FHIR, whichever part produced it.
    let resp = if segments.first() == Some(&"fhir") {
        crate::respond::as_outcome(resp).await
    } else {
        resp
    };
    let took = started.elapsed();
    gw.measure_request(route, resp.status().as_u16(), took);
    let span = tracing::Span::current();
    span.record("route", route);
    span.record("http.response.status_code", resp.status().as_u16());
    tracing::info!(
        route,
        status = resp.status().as_u16(),
        latency_ms = took.as_millis() as u64,
        "request"
    );
    resp
}

fn only_get(req: &Request<Incoming>) -> Option<Resp> {
    // HEAD is GET whose body the listener leaves out.
    if req.method() == Method::GET || req.method() == Method::HEAD {
        return None;
    }
    let mut r = problem(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "only GET (and HEAD) is supported here",
    );
    r.headers_mut()
        .insert(ALLOW, HeaderValue::from_static("GET, HEAD"));
    Some(r)
}

/// Ready unless something that must work to release a record does not:
/// the audit log and the objection register.
fn ready(gw: &Gateway) -> Resp {
    let problems = gw.readiness_problems();
    // A refused configuration change leaves the gateway serving the
    // configuration it had: still ready, and says why the change was not
    // taken.
    let config = gw.reload_problem();
    if problems.is_empty() {
        let mut body = serde_json::json!({"status": "ready", "sources": gw.source_count()});
        if let Some(p) = config {
            body["config_change_refused"] = serde_json::Value::String(p);
        }
        json(StatusCode::OK, body.to_string().into_bytes())
    } else {
        let mut body = serde_json::json!({"status": "not_ready", "sources": gw.source_count(), "problems": problems});
        if let Some(p) = config {
            body["config_change_refused"] = serde_json::Value::String(p);
        }
        json(
            StatusCode::SERVICE_UNAVAILABLE,
            body.to_string().into_bytes(),
        )
    }
}

/// `GET /v1/sources`: every registered source with its settings and its
/// health now (circuit, calls in flight, counters), for operators.
async fn sources(gw: &Gateway, req: &Request<Incoming>) -> Resp {
    if let Err(r) = operator(gw, req) {
        return *r;
    }
    match serde_json::to_vec(&serde_json::json!({ "sources": gw.sources_health() })) {
        Ok(body) => json(StatusCode::OK, body),
        Err(_) => problem(
            StatusCode::INTERNAL_SERVER_ERROR,
            "render_failed",
            "the source list could not be rendered",
        ),
    }
}

/// `DELETE /v1/cache/patients/{nhs}`: operators purge a person's cached
/// answers, for example after a source reports a correction.
async fn purge(gw: &Gateway, req: &Request<Incoming>, nhs: &str) -> Resp {
    if req.method() != Method::DELETE {
        let mut r = problem(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "only DELETE is supported here",
        );
        r.headers_mut()
            .insert(ALLOW, HeaderValue::from_static("DELETE"));
        return r;
    }
    let identity = match operator(gw, req) {
        Ok(i) => i,
        Err(r) => return *r,
    };
    let nhs_number = match icr_model::NhsNumber::parse(nhs) {
        Ok(n) => n,
        Err(e) => {
            return problem(
                StatusCode::BAD_REQUEST,
                "invalid_nhs_number",
                &format!("not a valid NHS number: {e}"),
            );
        }
    };
    let (purged, forgotten) = gw.purge(nhs_number).await;
    // No NHS number in the log: who purged, and how much.
    tracing::info!(user = %identity.sub, purged, forgotten, "cache purged for one person");
    let body = serde_json::json!({"nhs_number": nhs_number.as_str(), "purged": purged, "forgotten": forgotten});
    json(StatusCode::OK, body.to_string().into_bytes())
}

/// Prometheus text metrics (no patient data, no labels carrying any):
/// the gateway's, and its connections' from the listener.
fn metrics(gw: &Gateway, req: &Request<Incoming>) -> Resp {
    let mut text = gw.metrics_text();
    if let Some(connections) = req.extensions().get::<ConnectionMetrics>() {
        connections.render(&mut text);
    }
    let mut r = Response::new(Full::new(Bytes::from(text)));
    r.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    r
}

/// Sections asked for, or the error family and message of a bad query.
type Sections = Result<SectionSet, (&'static str, String)>;

/// The sections `?sections=` asks for (all when absent).
fn sections_query(query: Option<&str>) -> Sections {
    let mut sections: Option<SectionSet> = None;
    for (key, value) in query_pairs(query) {
        match key.as_str() {
            "sections" => match SectionSet::parse_list(&value) {
                Ok(s) if s.is_empty() => {
                    return Err((
                        "invalid_sections",
                        "sections is empty; leave it out to ask for every section".into(),
                    ));
                }
                Ok(s) => sections = Some(sections.unwrap_or_default().union(s)),
                Err(e) => return Err(("invalid_sections", e.to_string())),
            },
            other => {
                let shown: String = other.chars().take(40).collect();
                return Err((
                    "unknown_parameter",
                    format!("unknown query parameter {shown:?}; the only parameter is sections"),
                ));
            }
        }
    }
    Ok(sections.unwrap_or_else(SectionSet::all))
}

async fn record(gw: &Gateway, req: &Request<Incoming>, nhs: &str) -> Resp {
    let started = std::time::Instant::now();
    let request = RecordRequest {
        interaction: Interaction::Record,
        authorization: headers::authorization(req.headers()),
        break_glass: headers::break_glass_reason(req.headers()),
        calling_system: calling_system(req),
        wait: prefer_wait(req),
        nhs,
        refresh: no_cache(req),
        sections: sections_query(req.uri().query()),
    };
    match gw.access_record(request, view::answer).await {
        Ok(released) => match released.body {
            Ok(body) => {
                gw.measure_added(started, released.outcome.waited);
                with_request_id(
                    json(released.outcome.verdict.status(), body),
                    &released.request_id,
                )
            }
            Err(_) => problem(
                StatusCode::INTERNAL_SERVER_ERROR,
                "render_failed",
                "the view could not be rendered",
            ),
        },
        Err(stop) => stop_json(&stop),
    }
}
