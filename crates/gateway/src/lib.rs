//! The gateway: the part that wires the request flow together.
//!
//! A request names a person (NHS number) and the sections wanted. The
//! gateway validates it, plans which registered sources to ask (those that
//! offer any wanted section), fans out to them in parallel — each through
//! the cache and under its own timeout, the whole under the request's
//! deadline — merges what came back, and renders the merged view as JSON
//! ([`view`]) or as a FHIR R4 Bundle ([`fhir`]), with a status for every
//! source asked. It holds no clinical data beyond the in-memory cache.

mod access;
mod cache;
mod fanout;
pub mod fhir;
mod fhir_api;
mod fhir_pages;
mod fuzz;
mod headers;
mod listener;
pub mod metrics;
pub mod resilience;
mod server;
pub mod view;

pub use cache::SourceCache;
pub use fanout::{Gateway, RecordOutcome, Reloaded, SourceReport};
pub use icr_model::SourceStatus;
pub use listener::{ConnectionLimits, bind};
pub use server::{serve, serve_tls};

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
