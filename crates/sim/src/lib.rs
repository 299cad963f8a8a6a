//! Simulated source systems serving a deterministic synthetic population.
//!
//! This crate is the region's stand-in for the hospital and mental-health
//! trusts' systems during demos and tests. It sits outside the gateway:
//! the gateway reaches it over HTTP exactly as it reaches real sources,
//! through the `fhir-r4` adapter and the registrations in
//! `config/demo/sources.d/`.
//!
//! - [`population`]: the synthetic people (NHS numbers from the 999 test
//!   range, invented names and addresses), what is true about them, and what
//!   each of the four organisations holds, as unified-model entries. Pure and
//!   deterministic for a seed; the first five patients are hand-written
//!   stories described in `config/demo/README.md`.
//! - [`Sim`]: one FHIR R4 server per organisation, each on its own listener
//!   under `/fhir/r4`, rendering resources with `icr_fhir::render`; faults
//!   (latency, error rate, down) set in [`SimConfig`] or changed at run time
//!   with [`Sim::set_fault`] or the control API.
//!
//! Only synthetic data exists here, and no patient data is logged.

#![warn(missing_docs)]

mod config;
mod control;
pub mod fhir;
pub mod org;
pub mod population;
pub mod rng;
mod server;
mod sim;

pub use config::{
    Fault, KIND_FHIR_R4, Latency, MAX_LATENCY_MS, MAX_POPULATION, SimConfig, SimConfigError,
    SimSourceConfig,
};
pub use control::MAX_BODY_BYTES;
pub use org::Org;
pub use population::{Population, STORY_COUNT, Story};
pub use server::{HEAD_TIMEOUT, MAX_HEAD_BYTES};
pub use sim::{Sim, SimError};
