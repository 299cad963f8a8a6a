//! The SOAP 1.1 envelope around an answer, and SOAP faults: pure, no I/O.
//!
//! An answer is a SOAP 1.1 `Envelope` whose `Body` holds either one
//! `GetPersonSummaryResponse` or one `Fault`. A fault's `faultcode` is a
//! qualified name (`soap:Client`, `soap:Server`, with an optional dotted
//! refinement such as `soap:Client.Authentication`), its prefix resolved
//! against the declarations in scope. The service says what went wrong in
//! `detail/ps:PersonSummaryFault/ps:Code`, one of [`FaultCode`]. The
//! `faultstring` is free text that may name the person, so it is never
//! read into a message.

use icr_adapter_sdk::SourceError;

use crate::xml::{Element, Ns};

/// What a SOAP Body holds.
#[derive(Debug, PartialEq)]
pub enum Body<'a> {
    /// The `GetPersonSummaryResponse` element.
    Response(&'a Element),
    /// A SOAP fault.
    Fault(Fault),
}

/// The class of a fault, from `faultcode` (SOAP 1.1 section 4.4.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultClass {
    /// `Client`: the request was at fault.
    Client,
    /// `Server`: the service failed.
    Server,
    /// `VersionMismatch`: the envelope's namespace was not understood.
    VersionMismatch,
    /// `MustUnderstand`: a mandatory header was not understood.
    MustUnderstand,
    /// Any other or missing fault code.
    Other,
}

impl FaultClass {
    fn as_str(self) -> &'static str {
        match self {
            FaultClass::Client => "Client",
            FaultClass::Server => "Server",
            FaultClass::VersionMismatch => "VersionMismatch",
            FaultClass::MustUnderstand => "MustUnderstand",
            FaultClass::Other => "unrecognised fault code",
        }
    }
}

/// The service's own fault codes (`ps:PersonSummaryFault/ps:Code`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultCode {
    /// The council holds no record for the NHS number (`soap:Client`).
    PersonNotKnown,
    /// The requester or their organisation may not see this person's
    /// summary (`soap:Client`).
    AccessDenied,
    /// The request did not follow the contract (`soap:Client`).
    InvalidRequest,
    /// The service is temporarily unavailable (`soap:Server`).
    ServiceUnavailable,
    /// The service failed (`soap:Server`).
    InternalError,
    /// A code this adapter does not know.
    Other,
}

impl FaultCode {
    /// Every code the contract defines.
    pub const DEFINED: [FaultCode; 5] = [
        FaultCode::PersonNotKnown,
        FaultCode::AccessDenied,
        FaultCode::InvalidRequest,
        FaultCode::ServiceUnavailable,
        FaultCode::InternalError,
    ];

    /// The code as the contract spells it.
    pub const fn as_str(self) -> &'static str {
        match self {
            FaultCode::PersonNotKnown => "PersonNotKnown",
            FaultCode::AccessDenied => "AccessDenied",
            FaultCode::InvalidRequest => "InvalidRequest",
            FaultCode::ServiceUnavailable => "ServiceUnavailable",
            FaultCode::InternalError => "InternalError",
            FaultCode::Other => "an unrecognised code",
        }
    }

    /// The code for a value of `ps:Code`.
    pub fn parse(s: &str) -> Self {
        Self::DEFINED
            .into_iter()
            .find(|c| c.as_str() == s)
            .unwrap_or(FaultCode::Other)
    }

    /// The class of fault the contract sends the code with.
    pub const fn class(self) -> FaultClass {
        match self {
            FaultCode::PersonNotKnown | FaultCode::AccessDenied | FaultCode::InvalidRequest => {
                FaultClass::Client
            }
            FaultCode::ServiceUnavailable | FaultCode::InternalError => FaultClass::Server,
            FaultCode::Other => FaultClass::Other,
        }
    }
}

/// A SOAP fault, as far as it can be told without reading free text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fault {
    /// The class, from `faultcode`.
    pub class: FaultClass,
    /// The service's code, from `detail`, when it gave one.
    pub code: Option<FaultCode>,
}

impl Fault {
    /// The source error the fault means; `http_status` is the status it came with.
    pub fn into_error(self, http_status: u16) -> SourceError {
        let described = match self.code {
            Some(code) => format!("SOAP fault {}/{}", self.class.as_str(), code.as_str()),
            None => format!("SOAP fault {}", self.class.as_str()),
        };
        match self.code {
            Some(FaultCode::PersonNotKnown) => SourceError::PatientNotFound,
            Some(FaultCode::ServiceUnavailable) => SourceError::Unavailable(format!(
                "GetPersonSummary: the service reports itself unavailable ({described})"
            )),
            Some(FaultCode::AccessDenied) => SourceError::HttpStatus {
                status: http_status,
                what: format!("GetPersonSummary: access denied to this requester ({described})"),
            },
            Some(FaultCode::InvalidRequest) => SourceError::HttpStatus {
                status: http_status,
                what: format!(
                    "GetPersonSummary: the service refused the request as invalid ({described})"
                ),
            },
            _ => SourceError::HttpStatus {
                status: http_status,
                what: format!("GetPersonSummary ({described})"),
            },
        }
    }
}

/// Reads the envelope: what its Body holds. The errors describe what is
/// missing, never what is there.
pub fn read_envelope(root: &Element) -> Result<Body<'_>, SourceError> {
    if root.is(Ns::Soap12, "Envelope") {
        return Err(SourceError::Malformed(
            "the answer is a SOAP 1.2 envelope; the service is SOAP 1.1".into(),
        ));
    }
    if !root.is(Ns::Soap11, "Envelope") {
        return Err(SourceError::Malformed(
            "the answer is not a SOAP 1.1 envelope".into(),
        ));
    }
    let Some(body) = root.child(Ns::Soap11, "Body") else {
        return Err(SourceError::Malformed(
            "the SOAP envelope has no Body".into(),
        ));
    };
    if let Some(fault) = body.child(Ns::Soap11, "Fault") {
        let scope = [root, body, fault];
        return Ok(Body::Fault(read_fault(fault, &scope)));
    }
    match body.child(Ns::PersonSummary, "GetPersonSummaryResponse") {
        Some(response) => Ok(Body::Response(response)),
        None => Err(SourceError::Malformed(
            "the SOAP Body holds neither a GetPersonSummaryResponse nor a Fault".into(),
        )),
    }
}

/// A fault's parts are unqualified in SOAP 1.1; some services qualify them
/// with the envelope's namespace, which is tolerated.
fn fault_part<'a>(fault: &'a Element, name: &str) -> Option<&'a Element> {
    fault
        .child(Ns::None, name)
        .or_else(|| fault.child(Ns::Soap11, name))
}

fn read_fault(fault: &Element, scope: &[&Element]) -> Fault {
    let class = fault_part(fault, "faultcode")
        .map(|fc| {
            let mut scope = scope.to_vec();
            scope.push(fc);
            fault_class(fc.value().unwrap_or(""), &scope)
        })
        .unwrap_or(FaultClass::Other);
    let code = fault_part(fault, "detail")
        .and_then(|d| d.child(Ns::PersonSummary, "PersonSummaryFault"))
        .map(|f| {
            f.child(Ns::PersonSummary, "Code")
                .and_then(Element::value)
                .map_or(FaultCode::Other, FaultCode::parse)
        });
    Fault { class, code }
}

/// The class named by a `faultcode` value, its prefix resolved in `scope`
/// (outermost element first). An unprefixed value is read as the SOAP
/// class it names, as lenient clients do.
fn fault_class(value: &str, scope: &[&Element]) -> FaultClass {
    let (ns, local) = match value.split_once(':') {
        Some((prefix, local)) => (resolve_prefix(prefix, scope), local),
        None => (Some(Ns::Soap11), value),
    };
    if ns != Some(Ns::Soap11) {
        return FaultClass::Other;
    }
    let class = local.split('.').next().unwrap_or("");
    match class {
        "Client" => FaultClass::Client,
        "Server" => FaultClass::Server,
        "VersionMismatch" => FaultClass::VersionMismatch,
        "MustUnderstand" => FaultClass::MustUnderstand,
        _ => FaultClass::Other,
    }
}

/// The namespace `prefix` is bound to where the innermost element of
/// `scope` is.
fn resolve_prefix(prefix: &str, scope: &[&Element]) -> Option<Ns> {
    scope.iter().rev().find_map(|el| {
        el.prefixes
            .iter()
            .rev()
            .find(|(p, _)| &**p == prefix)
            .map(|(_, ns)| *ns)
    })
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
    fn fault_codes_resolve_their_prefix() {
        let detail = r#"<detail><ps:PersonSummaryFault xmlns:ps="urn:icr:socialcare:personsummary:1"><ps:Code>PersonNotKnown</ps:Code></ps:PersonSummaryFault></detail>"#;
        let f = body(&fault("<faultcode>s:Client</faultcode>", detail)).unwrap();
        assert_eq!(
            f,
            Fault {
                class: FaultClass::Client,
                code: Some(FaultCode::PersonNotKnown)
            }
        );
        assert_eq!(f.into_error(500), SourceError::PatientNotFound);
        // a prefix declared on faultcode itself; a dotted refinement
        let f = body(&fault(
            r#"<faultcode xmlns:e="http://schemas.xmlsoap.org/soap/envelope/">e:Server.Busy</faultcode>"#,
            "",
        ))
        .unwrap();
        assert_eq!(f.class, FaultClass::Server);
        assert_eq!(f.code, None);
        // a prefix bound to another namespace is not a SOAP class
        let f = body(&fault(
            r#"<faultcode xmlns:x="urn:x">x:Client</faultcode>"#,
            "",
        ))
        .unwrap();
        assert_eq!(f.class, FaultClass::Other);
        // an undeclared prefix inside text is not an XML error, just unknown
        let f = body(&fault("<faultcode>zz:Client</faultcode>", "")).unwrap();
        assert_eq!(f.class, FaultClass::Other);
    }

    #[test]
    fn fault_messages_carry_no_free_text() {
        let f = body(&fault("<s:faultcode>s:Client</s:faultcode>", r#"<detail><PersonSummaryFault xmlns="urn:icr:socialcare:personsummary:1"><Code>AccessDenied</Code></PersonSummaryFault></detail>"#)).unwrap();
        let e = f.into_error(500);
        assert_eq!(
            e.to_string(),
            "HTTP 500 from GetPersonSummary: access denied to this requester (SOAP fault Client/AccessDenied)"
        );
        let f = body(&fault(
            "<faultcode>s:Server</faultcode>",
            r#"<detail><PersonSummaryFault xmlns="urn:icr:socialcare:personsummary:1"><Code>Jane Doe</Code></PersonSummaryFault></detail>"#,
        ))
        .unwrap();
        let e = f.into_error(500).to_string();
        assert_eq!(
            e,
            "HTTP 500 from GetPersonSummary (SOAP fault Server/an unrecognised code)"
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
