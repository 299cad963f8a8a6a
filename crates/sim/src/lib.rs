//! Simulated source systems serving a deterministic synthetic population.
//!
//! This crate is the region's stand-in for its organisations' systems
//! during demos and tests: hospital and mental health trusts, community
//! providers, the demographics service, GP practices, the pathology and
//! imaging networks, councils and the out-of-hours service. It sits outside the
//! gateway: the gateway reaches it over the network exactly as it reaches
//! real sources, through its adapters and the registrations in
//! `config/demo/sources.d/`.
//!
//! - [`org`]: the organisations, as a table: id, name, ODS code, protocol
//!   kind and role.
//! - [`population`]: the synthetic people (NHS numbers from the 999 test
//!   range, invented names and addresses), what is true about them, and what
//!   each organisation holds, as unified-model entries. Pure and
//!   deterministic for a seed; the first patients are hand-written stories
//!   described in `config/demo/README.md`.
//! - [`protocol`]: the interface a protocol module implements
//!   ([`protocol::HttpModule`], [`protocol::TcpModule`]) and the dispatch
//!   from a kind to its module; [`fhir`] (FHIR R4) and [`pds`] (the
//!   demographics service) are modules.
//! - [`Sim`]: one listener per `[[source]]` of [`SimConfig`], serving one
//!   organisation or a group of one kind; faults (latency, error rate,
//!   down, and the [`chaos`] modes: hang, silent, reset, trickle,
//!   truncate, garbage, oversize, status, wrong patient) per listener, set
//!   in the configuration or changed at run time with [`Sim::set_fault`]
//!   or the control API.
//!
//! Only synthetic data exists here, and no patient data is logged.

#![warn(missing_docs)]

pub mod cda;
pub mod chaos;
mod config;
mod control;
pub mod fhir;
pub mod gpconnect;
pub mod hl7v2;
pub mod org;
pub mod pds;
pub mod population;
pub mod protocol;
pub mod rng;
mod server;
mod sim;
pub mod soap;

pub use chaos::{Chaos, wrong_patient_for};
pub use config::{
    Fault, Latency, MAX_LATENCY_MS, MAX_LOG_NORMAL_MS, MAX_POPULATION, SimConfig, SimConfigError,
    SimSourceConfig,
};
pub use control::MAX_BODY_BYTES;
pub use org::{Kind, Org, Role};
pub use population::{Population, STORY_COUNT, Story};
pub use server::{BODY_TIMEOUT, HEAD_TIMEOUT, MAX_HEAD_BYTES, RESET_PAUSE, TRUNCATE_PAUSE};
pub use sim::{Sim, SimError};
