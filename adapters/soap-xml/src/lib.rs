//! Source adapter for council social care person-summary services over SOAP 1.1 (kind soap-xml)
