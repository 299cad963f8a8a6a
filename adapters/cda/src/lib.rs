//! Source adapter for out-of-hours and letter documents in HL7 CDA R2 (kind cda)
