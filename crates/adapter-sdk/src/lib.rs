//! The adapter SDK: the one trait every source adapter implements, the
//! descriptor of an adapter kind ([`Kind`]: name, endpoints, sections,
//! typed options, build — every registration checked once, before the
//! adapter sees it), the registry that maps a config `kind` to it, the HTTP client
//! code every HTTP adapter shares, the FHIR search client ([`fhir_search`]:
//! paging, bounds, same-origin `next` links) of every FHIR-speaking one,
//! and how a source's own failure reports
//! are read ([`outcome`], for FHIR OperationOutcomes) and quoted
//! ([`source_said`], [`quoting_source`]).
//!
//! In the request flow it sits between the gateway's fan-out and the
//! source: the gateway hands an adapter a [`FetchRequest`] (one NHS number,
//! the wanted sections, a deadline) and gets back a
//! [`SourceRecord`](icr_model::SourceRecord) or a typed [`SourceError`].
//! Outside any request, the gateway lets each adapter read what its source
//! says it supports ([`SourceAdapter::prepare`]), at start and on every
//! configuration reload, in the background.

mod error;
pub mod fhir_search;
pub mod http;
pub mod identity;
mod ids;
mod kind;
mod origin;
pub mod outcome;
mod registry;
mod spec;

use std::sync::Arc;

use async_trait::async_trait;
use icr_model::{NhsNumber, OdsCode, Section, SectionSet, SourceRecord};
use tokio::time::Instant;

pub use error::{SourceError, json_error, quoting_source, source_said};
pub use ids::local_id_from_full_url;
pub use kind::{AdapterKind, Build, Endpoint, Kind, KindOptions, NoOptions, Offers, within};
pub use origin::Origins;
pub use registry::{BuildError, Registry};
pub use spec::{ExtractLimits, Resilience, Routing, SourceSpec, SourceTls};

/// What the gateway asks one source for.
#[derive(Clone, Debug)]
pub struct FetchRequest {
    /// The person.
    pub nhs_number: NhsNumber,
    /// The sections wanted from this source (already narrowed to what it offers).
    pub sections: SectionSet,
    /// When the answer must be complete; work past it is wasted.
    pub deadline: Instant,
    /// Who is asking and why, for sources that require it (GP Connect's
    /// audit claims) and for tracing.
    pub context: Arc<RequestContext>,
}

/// Who is asking for a record, and the request's trace id. Sources that
/// audit their consumers (GP Connect) are sent these.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestContext {
    /// Correlation id of the request, sent to sources that take one
    /// (`Ssp-TraceID`); a UUID.
    pub trace_id: String,
    /// The person asking.
    pub requester: Requester,
}

/// The person a request is made for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Requester {
    /// Their user id (SDS user id or the identity provider's subject).
    pub user_id: String,
    /// Their name, as sources show it in their own audit.
    pub name: String,
    /// Their national RBAC job role code (e.g. `R8000`).
    pub role: String,
    /// The organisation they work for, where the request originates.
    pub organisation: OdsCode,
    /// Why they are asking (GP Connect `reason_for_request`, e.g. `directcare`).
    pub purpose: String,
}

impl RequestContext {
    /// The context of a request made by the gateway itself (tests, checks),
    /// attributed to `organisation`.
    pub fn system(organisation: OdsCode) -> Self {
        Self {
            trace_id: "00000000-0000-0000-0000-000000000000".into(),
            requester: Requester {
                user_id: "icr-gateway".into(),
                name: "ICR gateway".into(),
                role: "system".into(),
                organisation,
                purpose: "directcare".into(),
            },
        }
    }
}

/// A deadline a little before `deadline` (a tenth of the time left, at most
/// 200 ms), so that an adapter stopping its own work there can still return
/// what it has before the gateway's own timeout discards everything.
pub fn soft_deadline(deadline: Instant) -> Instant {
    let remaining = deadline.saturating_duration_since(Instant::now());
    let margin = (remaining / 10).min(std::time::Duration::from_millis(200));
    deadline.checked_sub(margin).unwrap_or(deadline)
}

impl FetchRequest {
    /// A request on behalf of the gateway itself (no user): for tests and
    /// for source checks.
    pub fn system(nhs_number: NhsNumber, sections: SectionSet, deadline: Instant) -> Self {
        // X26: NHS England's own ODS code, for requests made by no user.
        let organisation = OdsCode::parse("X26").expect("X26 is a valid ODS code");
        Self {
            nhs_number,
            sections,
            deadline,
            context: Arc::new(RequestContext::system(organisation)),
        }
    }

    /// Time left before the deadline, or zero.
    pub fn remaining(&self) -> std::time::Duration {
        self.deadline.saturating_duration_since(Instant::now())
    }
}

/// What an adapter learnt about its source in [`SourceAdapter::prepare`]:
/// for operators' logs and `icr source check`. It never holds patient data.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Preparation {
    /// What was read, or why it could not be (one line each).
    pub notes: Vec<String>,
    /// The sections the registration offers with parts the source does not
    /// declare.
    pub mismatches: Vec<Mismatch>,
}

/// A section a source's registration offers, of which the source does not
/// declare some parts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mismatch {
    /// The section.
    pub section: Section,
    /// What the source does not declare, in its protocol's words (FHIR
    /// resource types, …).
    pub undeclared: Vec<String>,
    /// True when the source declares no part of the section: it is not
    /// asked of the source at all.
    pub whole_section: bool,
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

    /// Reads what the source says it supports (a FHIR server's
    /// CapabilityStatement, …) so that later fetches ask only what it
    /// offers, and says what was learnt. The gateway calls it for every
    /// source at start and after every configuration reload, in the
    /// background and bounded by `deadline`: no request waits for it, and
    /// until it has read anything the adapter plans from its registration.
    /// The default reads nothing.
    async fn prepare(&self, deadline: Instant) -> Preparation {
        let _ = deadline;
        Preparation::default()
    }
}
