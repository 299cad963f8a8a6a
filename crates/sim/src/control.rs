//! The control API: list the sources and change their faults at run time.
//!
//! | request | does |
//! |---|---|
//! | `GET /sources` | every listener with its organisations, endpoints, fault and whether it is up |
//! | `GET /sources/{id}` | one listener |
//! | `POST /sources/{id}/stop` | closes the listener (keeps latency and error rate) |
//! | `POST /sources/{id}/start` | re-binds the same port |
//! | `PUT /sources/{id}/fault` | replaces the fault with the JSON body (see [`Fault`]): latency, error rate, down, and a chaos mode with its rate (see `crate::chaos`) |
//!
//! `{id}` is a listener's id, or the source id of an organisation it
//! serves: faults belong to the listener, so stopping one GP practice of a
//! shared listener stops them all. Answers are JSON; errors are
//! `{"error": "..."}` with 400, 404, 405 or 413.

use std::sync::Arc;
use std::time::Duration;

use http::{Method, Request};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use serde::Serialize;

use crate::config::Fault;
use crate::server::{Handler, Reply, full, response};
use crate::sim::{Inner, SimError, SourceSlot};

/// Largest body the control API reads.
pub const MAX_BODY_BYTES: usize = 16 * 1024;

/// How long a client may take to send a body.
const BODY_TIMEOUT: Duration = Duration::from_secs(10);

/// The control API's request handler.
pub(crate) struct Control {
    pub inner: Arc<Inner>,
}

/// One listener as the control API shows it. `organisation`, `ods_code`
/// and `endpoint` are given when it serves one organisation; `orgs` lists
/// every organisation it serves.
#[derive(Serialize)]
struct SourceView {
    id: String,
    kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    organisation: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ods_code: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    endpoint: Option<String>,
    listen: String,
    running: bool,
    fault: Fault,
    orgs: Vec<OrgView>,
}

/// One organisation a listener serves.
#[derive(Serialize)]
struct OrgView {
    id: &'static str,
    organisation: &'static str,
    ods_code: &'static str,
    endpoint: String,
}

async fn view(inner: &Inner, slot: &SourceSlot) -> SourceView {
    let single = slot.config.org();
    SourceView {
        id: slot.config.id.clone(),
        kind: slot.ctx.kind().as_str(),
        organisation: single.map(|o| o.name()),
        ods_code: single.map(|o| o.ods_code()),
        endpoint: single.map(|o| slot.endpoint(o)),
        listen: slot.ctx.addr().to_string(),
        running: inner.is_running(slot).await,
        fault: slot.ctx.fault(),
        orgs: slot
            .ctx
            .orgs()
            .iter()
            .map(|o| OrgView {
                id: o.id(),
                organisation: o.name(),
                ods_code: o.ods_code(),
                endpoint: slot.endpoint(*o),
            })
            .collect(),
    }
}

fn json(status: u16, value: &impl Serialize) -> http::Response<http_body_util::Full<bytes::Bytes>> {
    match serde_json::to_vec(value) {
        Ok(body) => response(status, "application/json", body),
        Err(_) => error(500, "could not write the answer"),
    }
}

fn error(status: u16, message: &str) -> http::Response<http_body_util::Full<bytes::Bytes>> {
    let body = serde_json::json!({ "error": message });
    response(
        status,
        "application/json",
        serde_json::to_vec(&body).unwrap_or_default(),
    )
}

fn sim_error(e: &SimError) -> http::Response<http_body_util::Full<bytes::Bytes>> {
    match e {
        SimError::UnknownSource(_) => error(404, &e.to_string()),
        SimError::InvalidFault(_) => error(400, &e.to_string()),
        _ => error(500, &e.to_string()),
    }
}

impl Handler for Control {
    fn handle(self: Arc<Self>, req: Request<Incoming>) -> Reply {
        Box::pin(async move { full(self.route(req).await) })
    }
}

impl Control {
    async fn route(
        &self,
        req: Request<Incoming>,
    ) -> http::Response<http_body_util::Full<bytes::Bytes>> {
        {
            let inner = &self.inner;
            let method = req.method().clone();
            let path = req.uri().path().to_string();
            let parts: Vec<&str> = path.trim_end_matches('/').split('/').skip(1).collect();
            match parts.as_slice() {
                ["sources"] => {
                    if method != Method::GET {
                        return error(405, "use GET /sources");
                    }
                    let mut all = Vec::new();
                    for slot in &inner.sources {
                        all.push(view(inner, slot).await);
                    }
                    json(200, &all)
                }
                ["sources", id] => {
                    if method != Method::GET {
                        return error(405, "use GET /sources/{id}");
                    }
                    match inner.slot(id) {
                        Some(slot) => json(200, &view(inner, slot).await),
                        None => sim_error(&SimError::UnknownSource((*id).to_string())),
                    }
                }
                ["sources", id, action @ ("stop" | "start")] => {
                    if method != Method::POST {
                        return error(405, "use POST");
                    }
                    let Some(slot) = inner.slot(id) else {
                        return sim_error(&SimError::UnknownSource((*id).to_string()));
                    };
                    let fault = Fault {
                        down: *action == "stop",
                        ..slot.ctx.fault()
                    };
                    match inner.set_fault(id, fault).await {
                        Ok(()) => json(200, &view(inner, slot).await),
                        Err(e) => sim_error(&e),
                    }
                }
                ["sources", id, "fault"] => {
                    if method != Method::PUT {
                        return error(405, "use PUT with a JSON fault body");
                    }
                    let Some(slot) = inner.slot(id) else {
                        return sim_error(&SimError::UnknownSource((*id).to_string()));
                    };
                    let limited = Limited::new(req.into_body(), MAX_BODY_BYTES);
                    let body = match tokio::time::timeout(BODY_TIMEOUT, limited.collect()).await {
                        Err(_) => return error(408, "the body took too long to arrive"),
                        Ok(Err(e)) => {
                            if e.downcast_ref::<http_body_util::LengthLimitError>()
                                .is_some()
                            {
                                return error(
                                    413,
                                    &format!("the body is larger than {MAX_BODY_BYTES} bytes"),
                                );
                            }
                            return error(400, "the body could not be read");
                        }
                        Ok(Ok(b)) => b.to_bytes(),
                    };
                    let fault: Fault = match serde_json::from_slice(&body) {
                        Ok(f) => f,
                        Err(e) => {
                            return error(
                                400,
                                &format!(
                                    "expected a fault such as {{\"latency_ms\": 200, \"error_rate\": 0.1, \"down\": false, \"chaos\": {{\"mode\": \"hang\"}}, \"chaos_rate\": 1.0}}: {e}"
                                ),
                            );
                        }
                    };
                    match inner.set_fault(id, fault).await {
                        Ok(()) => json(200, &view(inner, slot).await),
                        Err(e) => sim_error(&e),
                    }
                }
                _ => error(
                    404,
                    "unknown path; try GET /sources, POST /sources/{id}/stop|start, PUT /sources/{id}/fault",
                ),
            }
        }
    }
}
