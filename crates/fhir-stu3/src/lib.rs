//! FHIR STU3 wire types for GP Connect Access Record: Structured, shared by
//! the `gp-connect` adapter and the GP Connect simulator.
//!
//! In the request flow this crate is the edge between a GP practice's
//! system and the gateway: the adapter writes a [`StructuredRequest`] as
//! the `$gpc.getstructuredrecord` Parameters, and reads the structured
//! Bundle the practice answers with into these types before mapping it to
//! the unified model; the simulator reads the same Parameters and writes
//! the Bundle with `render`.
//!
//! The types are a hand-written subset (see DEPENDENCIES.md for why no
//! crate is used): the resources are this crate's, the data types STU3
//! shares with R4 (Coding, Identifier, HumanName, …) are `icr-fhir`'s, and
//! so is their reading into the model ([`to_model`]). Every element is
//! optional, unknown elements ignored, dates kept as strings, and every
//! element read tolerantly ([`lenient`]), since
//! GP Connect providers and the specification's own examples break STU3 in
//! small ways. What had to be tolerated is counted, never echoed.
//!
//! - [`gpc`]: the operation, headers' values, list codes, warning codes and
//!   Spine error codes of GP Connect 1.6;
//! - [`params`]: the request, written and read (with a provider's checks);
//! - [`bundle`]: Bundles read lazily and written;
//! - [`outcome`]: OperationOutcomes with Spine codes;
//! - `render` (cargo feature `render`, off by default: only the simulator
//!   and tests write answers): the unified model as a GP Connect structured
//!   Bundle.

#![warn(missing_docs)]

pub mod bundle;
pub mod gpc;
pub mod jwt;
pub use icr_fhir::{lenient, to_model};
pub mod outcome;
pub mod params;
#[cfg(feature = "render")]
pub mod render;
mod resources;
mod types;

pub use bundle::{
    Bundle, BundleEntry, BundleIn, EntryIn, Resource, peek_resource_type, read_bundle,
    read_resource,
};
pub use gpc::{ClinicalArea, SpineCode, WarningCode};
pub use lenient::{RawJson, ReadError, ReadErrorKind, Tolerated, read};
pub use params::StructuredRequest;
pub use resources::*;
pub use types::*;
