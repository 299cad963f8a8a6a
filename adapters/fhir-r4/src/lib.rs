//! Source adapter for FHIR R4 REST servers (kind fhir-r4)
