//! The gateway: the part that wires the request flow together.
//!
//! A request names a person (NHS number) and the sections wanted. The
//! gateway validates it, plans which registered sources to ask (those that
//! offer any wanted section), fans out to them in parallel — each through
//! the cache and under its own timeout, the whole under the request's
//! deadline — merges what came back, and renders the merged view as JSON
//! ([`view`]), as a FHIR R4 Bundle ([`fhir`]) or as the browser viewer's
//! pages ([`Viewer`], when `[viewer]` is configured), with a status for every
//! source asked — or skipped, with why: a source that answered lately
//! that it holds no record for the person, or that the record-location
//! index ([`locate`]) does not name, need not be asked, and a clinician's
//! refresh (`Cache-Control: no-cache`) asks everyone. It holds no clinical
//! data beyond the in-memory cache; between requests it remembers only
//! where people's records are (which sources hold none, their registered
//! practice), bounded and purged with the person.
//!
//! The crate's modules, in dependency order: each uses only those above
//! it (`grep -rn "use crate::" crates/gateway/src`).
//!
//! ```text
//! leaves    outcome     typed stops and verdicts, and their HTTP statuses
//!           cache  memory  locate  resilience  objections  fhir_pages
//!           shared_audit  the shared audit store's reads, and what a page
//!                       read from it may be missing
//!           metrics     (→ resilience) every /metrics family, from a Snapshot
//!           extract_lane  (→ resilience) how an extract's source calls yield
//!                       to interactive ones: waits, concurrency, rate
//!           extract_runs  the extract runs hosted (a trait the service
//!                       implements)
//! state     sources     (→ cache, memory, locate, resilience, metrics,
//!                       objections, extract_lane)
//!                       the reloadable configuration and each source's health
//!           viewer_state  the browser viewer's sessions and sign-in client
//!           gateway     (→ sources, metrics, fhir_pages, shared_audit,
//!                       viewer_state, extract_runs)
//!                       the handle
//! input     headers     (→ outcome) Authorization, break-glass reason
//! pipeline  pipeline::{plan, identity_guard}   pure
//!           pipeline::{admit, authenticate, decide, fetch, report,
//!                      merge, audit}  (→ gateway, sources, cache, memory,
//!                      locate, outcome)
//!           pipeline    the flow, step by step; pipeline::audit_read and
//!                       pipeline::break_glass (→ shared_audit);
//!                       pipeline::extract: one person of a population-
//!                       health extract, the same flow without a caller
//!           views       merged views, merged once (→ nothing in the crate)
//! render    view  fhir  (→ pipeline's RecordOutcome, fhir_pages)
//! edge      respond     (→ fhir, outcome) how every answer is written
//!           listener    (→ respond) connections, their limits and bounds
//!           request     (→ listener) query, Prefer: wait, calling system
//!           fhir_api    (→ pipeline, fhir, respond, request, headers)
//!           operator    (→ gateway, headers, respond) the operator check
//!           audit_api   (→ pipeline, view, respond, request, headers,
//!                       operator) the audit's routes
//!           extracts_api  (→ extract_runs, operator, request, respond)
//!                       /v1/extracts: start, watch, cancel extract runs
//!           viewer      (→ pipeline, audit_api, respond, request,
//!                       listener, gateway) the browser viewer's routes:
//!                       sign-in (icr_sign_in), sessions, the pages
//!                       (icr_viewer), each record page a record access
//!           server      (→ fhir_api, audit_api, viewer, operator,
//!                       pipeline, respond, request, headers, listener)
//!           fuzz
//! ```
//!
//! A request's way: server (or fhir_api) → pipeline, whose steps run in
//! the order of the flow in README.md (admit, authenticate, decide, plan,
//! fetch, guard identity, report, decide, merge and filter, render with
//! the edge's renderer, audit — listing the source records the answer
//! holds) → back to the edge, which sends the record or the typed stop,
//! with the HTTP status [`outcome`] gives it.

mod audit_api;
mod cache;
mod extract_lane;
mod extract_runs;
mod extracts_api;
pub mod fhir;
mod fhir_api;
mod fhir_pages;
mod fuzz;
mod gateway;
mod headers;
mod listener;
pub mod locate;
mod memory;
pub mod metrics;
mod objections;
mod operator;
mod outcome;
mod pipeline;
mod request;
pub mod resilience;
mod respond;
mod server;
mod shared_audit;
mod sources;
pub mod view;
mod viewer;
mod viewer_state;
mod views;

pub use cache::SourceCache;
pub use extract_runs::{ExtractRuns, ExtractRunsError, StartExtract};
pub use gateway::Gateway;
pub use icr_model::SourceStatus;
pub use listener::{ConnectionLimits, bind};
pub use memory::MemoryStats;
pub use outcome::Verdict;
pub use pipeline::extract::{EXTRACT_ROLE, ExtractRun, ExtractRunError, ExtractedPerson};
pub use pipeline::merge::RecordOutcome;
pub use pipeline::report::SourceReport;
pub use server::{serve, serve_tls};
pub use shared_audit::SharedStore;
pub use sources::{ReloadError, Reloaded};
pub use viewer_state::{Viewer, ViewerError};
pub use views::View;

/// Any bytes as a `$everything` POST (first line the `Content-Type`, then
/// the body: a Parameters resource or a form): must never panic, and a
/// body read asks for the same as the equivalent GET and the equivalent
/// Parameters resource, and its `self` link reads back. The entry point
/// for fuzzing.
#[doc(hidden)]
pub fn fuzz_parameters(data: &[u8]) {
    fuzz::parameters(data);
}

/// Any bytes as a request target and header lines: the `Authorization`
/// and break-glass readers (duplicates refused), `Accept`/`_format`
/// negotiation, `Host`/`X-Forwarded-Proto` and `Prefer` must never panic
/// and keep their bounds, and a page link on the base URL read back. The
/// entry point for fuzzing.
#[doc(hidden)]
pub fn fuzz_headers(data: &[u8]) {
    fuzz::headers(data);
}

/// Any bytes as a page read's query, and as a page token whose `next`
/// link must read back to the same position. The entry point for fuzzing.
#[doc(hidden)]
pub fn fuzz_page_link(data: &[u8]) {
    fuzz::page_link(data);
}
