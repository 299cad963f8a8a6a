//! The unified patient-record model.
//!
//! Every adapter translates its protocol into these types; merge, policy and
//! the renderers work only on them. The model depends on nothing else of
//! ours, does no I/O, and its identifier types cannot hold invalid values:
//! an [`NhsNumber`] exists only with a valid check digit, an [`OdsCode`] only
//! in ODS form, and a [`RecordId`] is always namespaced by its source.

mod codes;
mod coding;
mod date;
mod demographics;
pub mod heap;
mod ids;
mod items;
mod nhs;
mod record;
mod section;
mod status;

pub use coding::{CodeSystem, Coding, Concept};
pub use date::{DateError, PartialDateTime, rfc3339_opt};
pub use demographics::{
    Address, ContactUse, Deceased, Demographics, Gender, HumanName, NameUse, Telecom, TelecomSystem,
};
pub use ids::{IdError, OdsCode, RecordId, SourceId};
pub use items::*;
pub use nhs::{NhsNumber, NhsNumberError};
pub use record::{
    IssueKind, Item, PatientRecord, Provenance, SourceIssue, SourceMeta, SourceRecord,
};
pub use section::{Section, SectionSet, UnknownSection};
pub use status::SourceStatus;

/// Re-exported so adapters share one version of the date types.
pub use time;
