//! Simulated source systems serving a deterministic synthetic population.

pub mod org;
pub mod population;
pub mod rng;
