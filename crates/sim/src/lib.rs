//! Simulated source systems serving a deterministic synthetic population
