//! FHIR R4 (JSON) wire types, and the FHIR data types STU3 shares with R4.
//!
//! The FHIR R4 and PDS adapters read sources' answers into these types, and
//! the gateway's FHIR renderer and the simulators write them. They are a
//! hand-kept subset (see DEPENDENCIES.md for why no crate is used): every
//! element optional, unknown elements ignored, dates as strings.
//!
//! - [`datatypes`]: Coding, CodeableConcept, Identifier, Reference,
//!   HumanName, Address, … defined once for both FHIR versions (the GP
//!   Connect crate `icr-fhir-stu3` is made of them), read with plain serde
//!   or, inside a GP Connect answer, tolerantly ([`lenient`]);
//! - [`to_model`]: those data types read into the unified model (text,
//!   dates, codings, quantities, names, addresses, observation values), used
//!   by the FHIR R4 and GP Connect adapters alike;
//! - [`from_model`]: the model written as FHIR primitives, codings and
//!   concepts, used by both renderers;
//! - [`render`]: the unified model as these types, valid against the
//!   official R4 JSON schema.

#![warn(missing_docs)]

// The tolerant-element macro names this crate by its path from outside.
extern crate self as icr_fhir;

mod bundle;
pub mod datatypes;
mod elements;
pub mod from_model;
mod json_tree;
pub mod lenient;
mod record_type;
pub mod render;
pub mod to_model;
mod types;

pub use bundle::{
    Bundle, BundleEntry, BundleIn, CONFIDENTIALITY_SYSTEM, EntryIn, NHS_NUMBER_SYSTEM,
    ODS_ORGANISATION_SYSTEM, Resource, is_restricted_label, peek_resource_type,
};
pub use datatypes::*;
pub use record_type::RecordType;
pub use types::*;
