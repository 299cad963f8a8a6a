//! The SOAP 1.1 envelope around an answer, and SOAP faults: pure, no I/O.
//!
//! An answer is a SOAP 1.1 `Envelope` whose `Body` holds either one
//! `GetPersonSummaryResponse` or one `Fault`. A fault's `faultcode` is a
//! qualified name (`soap:Client`, `soap:Server`, with an optional dotted
//! refinement such as `soap:Client.Authentication`), its prefix resolved
//! against the declarations in scope. The service says what went wrong in
//! `detail/ps:PersonSummaryFault/ps:Code`, one of [`FaultCode`], and in
//! the `faultstring`, free text quoted to the caller through
//! [`quoting_source`] (bounded, on one line) and never logged.
//!
//! The envelope and faults are read by the contract's codec
//! (`icr_soap::envelope`); what a fault means to the gateway is here.
//!
//! Services get faults wrong in ways that must still read as failures: a
//! `ps:PersonSummaryFault` straight in the Body (or in the answer) with no
//! `soap:Fault` around it, and a SOAP 1.2 fault from a service that is
//! SOAP 1.1 are read as faults, never as "not known".

use icr_adapter_sdk::{SourceError, quoting_source};

use crate::xml::Element;

pub use icr_soap::envelope::{Body, Fault, FaultClass, FaultCode, bare_fault};

/// Reads the envelope: what its Body holds. The errors describe what is
/// missing, never what is there.
pub fn read_envelope(root: &Element) -> Result<Body<'_>, SourceError> {
    icr_soap::envelope::read_envelope(root).map_err(|e| SourceError::Malformed(e.to_string()))
}

/// What a fault means to the gateway.
pub trait FaultError {
    /// The source error the fault means; `http_status` is the status it
    /// came with. Only a `soap:Client` fault coded `PersonNotKnown` is
    /// `PatientNotFound`; `ServiceUnavailable` is `Unavailable`; any other
    /// fault is `Refused` when it came with a 2xx (the service says it
    /// failed inside a success) and `HttpStatus` otherwise.
    fn into_error(self, http_status: u16) -> SourceError;
}

impl FaultError for Fault {
    fn into_error(self, http_status: u16) -> SourceError {
        let described = self.described();
        let quoted = |message: String| quoting_source(message, &self.said);
        let message = match self.code {
            Some(FaultCode::PersonNotKnown) if self.class == FaultClass::Client => {
                return SourceError::PatientNotFound;
            }
            Some(FaultCode::ServiceUnavailable) => {
                return SourceError::Unavailable(quoted(format!(
                    "GetPersonSummary: the service reports itself unavailable ({described})"
                )));
            }
            Some(FaultCode::AccessDenied) => {
                format!("GetPersonSummary: access denied to this requester ({described})")
            }
            Some(FaultCode::InvalidRequest) => {
                format!(
                    "GetPersonSummary: the service refused the request as invalid ({described})"
                )
            }
            _ => format!("GetPersonSummary ({described})"),
        };
        if (200..300).contains(&http_status) {
            SourceError::Refused(quoted(message))
        } else {
            SourceError::HttpStatus {
                status: http_status,
                what: quoted(message),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xml::{Limits, parse};

    fn body(xml: &str) -> Result<Fault, String> {
        let root = parse(xml.as_bytes(), &Limits::default()).map_err(|e| e.to_string())?;
        match read_envelope(&root).map_err(|e| e.to_string())? {
            Body::Fault(f) => Ok(f),
            Body::Response(_) => Err("response".into()),
        }
    }

    fn fault(code_xml: &str, detail: &str) -> String {
        format!(
            r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><s:Fault>{code_xml}<faultstring>No person 9990000018 (Jane Doe)</faultstring>{detail}</s:Fault></s:Body></s:Envelope>"#
        )
    }

    #[test]
    fn only_a_client_person_not_known_is_not_found() {
        // how the codes and their prefixes are read: icr_soap::envelope
        let detail = |code: &str| {
            format!(
                r#"<detail><ps:PersonSummaryFault xmlns:ps="urn:icr:socialcare:personsummary:1"><ps:Code>{code}</ps:Code></ps:PersonSummaryFault></detail>"#
            )
        };
        let f = body(&fault(
            "<faultcode>s:Client</faultcode>",
            &detail("PersonNotKnown"),
        ))
        .unwrap();
        assert_eq!(f.into_error(500), SourceError::PatientNotFound);
        let f = body(&fault(
            "<faultcode>s:Server</faultcode>",
            &detail("PersonNotKnown"),
        ))
        .unwrap();
        assert!(matches!(
            f.into_error(500),
            SourceError::HttpStatus { status: 500, .. }
        ));
        let f = body(&fault(
            "<faultcode>s:Server</faultcode>",
            &detail("ServiceUnavailable"),
        ))
        .unwrap();
        assert!(matches!(f.into_error(200), SourceError::Unavailable(_)));
        let f = body(&fault(
            "<faultcode>s:Client</faultcode>",
            &detail("InvalidRequest"),
        ))
        .unwrap();
        assert!(matches!(f.into_error(200), SourceError::Refused(_)));
    }

    #[test]
    fn fault_messages_quote_only_the_faultstring() {
        let f = body(&fault("<s:faultcode>s:Client</s:faultcode>", r#"<detail><PersonSummaryFault xmlns="urn:icr:socialcare:personsummary:1"><Code>AccessDenied</Code></PersonSummaryFault></detail>"#)).unwrap();
        let e = f.into_error(500);
        assert_eq!(
            e.to_string(),
            "HTTP 500 from GetPersonSummary: access denied to this requester (SOAP fault Client/AccessDenied): the source said \"No person 9990000018 (Jane Doe)\""
        );
        // a code the contract does not define is never echoed
        let f = body(&fault(
            "<faultcode>s:Server</faultcode>",
            r#"<detail><PersonSummaryFault xmlns="urn:icr:socialcare:personsummary:1"><Code>Jane Doe</Code></PersonSummaryFault></detail>"#,
        ))
        .unwrap();
        let e = f.into_error(500).to_string();
        assert_eq!(
            e,
            "HTTP 500 from GetPersonSummary (SOAP fault Server/an unrecognised code): the source said \"No person 9990000018 (Jane Doe)\""
        );
    }

    #[test]
    fn envelopes_that_are_not_ours() {
        assert_eq!(
            body(r#"<Envelope xmlns="http://www.w3.org/2003/05/soap-envelope"><Body/></Envelope>"#),
            Err(
                "malformed response: the answer is a SOAP 1.2 envelope; the service is SOAP 1.1"
                    .into()
            )
        );
        assert_eq!(
            body("<Envelope><Body/></Envelope>"),
            Err("malformed response: the answer is not a SOAP 1.1 envelope".into())
        );
        assert_eq!(
            body(r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"/>"#),
            Err("malformed response: the SOAP envelope has no Body".into())
        );
        assert_eq!(
            body(r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><GetPersonSummaryResponse/></s:Body></s:Envelope>"#),
            Err("malformed response: the SOAP Body holds neither a GetPersonSummaryResponse nor a Fault".into())
        );
    }
}
