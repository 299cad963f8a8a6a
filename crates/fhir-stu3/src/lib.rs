//! FHIR STU3 wire types for GP Connect, shared by its adapter and simulator
