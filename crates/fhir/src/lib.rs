//! FHIR R4 (JSON) wire types.
//!
//! The FHIR R4 adapter reads sources' answers into these types, and the
//! gateway's FHIR renderer and the simulators write them. They are a
//! hand-kept subset (see DEPENDENCIES.md for why no crate is used): every
//! element optional, unknown elements ignored, dates as strings.
//!
//! [`render`] turns the unified model into these types, valid against the
//! official R4 JSON schema.

#![warn(missing_docs)]

mod bundle;
mod record_type;
pub mod render;
mod types;

pub use bundle::{
    Bundle, BundleEntry, BundleIn, CONFIDENTIALITY_SYSTEM, EntryIn, NHS_NUMBER_SYSTEM,
    ODS_ORGANISATION_SYSTEM, Resource, is_restricted_label, peek_resource_type,
};
pub use record_type::RecordType;
pub use types::*;
