//! FHIR R4 (JSON) wire types.
//!
//! The FHIR R4 adapter reads sources' answers into these types, and the
//! gateway's FHIR renderer and the simulators write them. They are a
//! hand-kept subset (see DEPENDENCIES.md for why no crate is used): every
//! element optional, unknown elements ignored, dates as strings.

mod bundle;
mod types;

pub use bundle::{
    Bundle, BundleEntry, BundleIn, EntryIn, Resource, peek_resource_type, NHS_NUMBER_SYSTEM,
    ODS_ORGANISATION_SYSTEM,
};
pub use types::*;
