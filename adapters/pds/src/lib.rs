//! Source adapter for the Personal Demographics Service, FHIR R4 (kind pds)
