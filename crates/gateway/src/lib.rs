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
mod headers;
mod listener;
pub mod metrics;
pub mod resilience;
mod server;
pub mod view;

pub use cache::SourceCache;
pub use fanout::{Gateway, RecordOutcome, Reloaded, SourceStatus, Status};
pub use listener::{ConnectionLimits, bind};
pub use server::{serve, serve_tls};
