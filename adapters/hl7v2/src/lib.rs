//! Source adapter for labs and radiology over HL7 v2 and MLLP (kind hl7v2)
