//! The adapter SDK: the one trait every source adapter implements, the
//! registry that maps a config `kind` to an adapter, and the HTTP client
//! code every HTTP adapter shares.
//!
//! In the request flow it sits between the gateway's fan-out and the
//! source: the gateway hands an adapter a [`FetchRequest`] (one NHS number,
//! the wanted sections, a deadline) and gets back a
//! [`SourceRecord`](icr_model::SourceRecord) or a typed [`SourceError`].

mod error;
pub mod http;
mod registry;
mod spec;

use async_trait::async_trait;
use icr_model::{NhsNumber, SectionSet, SourceRecord};
use tokio::time::Instant;

pub use error::{SourceError, json_error};
pub use registry::{BuildError, Factory, Registry};
pub use spec::SourceSpec;

/// What the gateway asks one source for.
#[derive(Clone, Debug)]
pub struct FetchRequest {
    /// The person.
    pub nhs_number: NhsNumber,
    /// The sections wanted from this source (already narrowed to what it offers).
    pub sections: SectionSet,
    /// When the answer must be complete; work past it is wasted.
    pub deadline: Instant,
}

impl FetchRequest {
    /// Time left before the deadline, or zero.
    pub fn remaining(&self) -> std::time::Duration {
        self.deadline.saturating_duration_since(Instant::now())
    }
}

/// A source system, reached through its own protocol.
///
/// An implementation must honour the request's deadline, bound everything it
/// reads, never panic on what the source sends, and report anything it could
/// not read as a [`SourceIssue`](icr_model::SourceIssue) or a [`SourceError`],
/// never as an empty answer.
#[async_trait]
pub trait SourceAdapter: Send + Sync + 'static {
    /// Fetches what this source holds for one person.
    async fn fetch(&self, request: &FetchRequest) -> Result<SourceRecord, SourceError>;
}
