//! The SOAP 1.1 envelope around an answer, and SOAP faults, read: pure,
//! no I/O.
//!
//! An answer is a SOAP 1.1 `Envelope` whose `Body` holds either one
//! `GetPersonSummaryResponse` or one `Fault`. A fault's `faultcode` is a
//! qualified name (`soap:Client`, `soap:Server`, with an optional dotted
//! refinement such as `soap:Client.Authentication`), its prefix resolved
//! against the declarations in scope. The service says what went wrong in
//! `detail/ps:PersonSummaryFault/ps:Code`, one of [`FaultCode`], and in
//! the `faultstring`, free text kept as [`Fault::said`].
//!
//! Services get faults wrong in ways that must still read as failures: a
//! `ps:PersonSummaryFault` straight in the Body (or in the answer) with no
//! `soap:Fault` around it, and a SOAP 1.2 fault from a service that is
//! SOAP 1.1 are read as faults, never as "not known".

use crate::xml::{Element, Ns};

/// Why an answer is not an envelope of the contract. Messages describe
/// what is missing, never what is there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum EnvelopeError {
    /// A SOAP 1.2 envelope with no fault in it.
    #[error("the answer is a SOAP 1.2 envelope; the service is SOAP 1.1")]
    Soap12,
    /// Not a SOAP envelope.
    #[error("the answer is not a SOAP 1.1 envelope")]
    NotEnvelope,
    /// An envelope without a Body.
    #[error("the SOAP envelope has no Body")]
    NoBody,
    /// A Body with neither an answer nor a fault.
    #[error("the SOAP Body holds neither a GetPersonSummaryResponse nor a Fault")]
    NoAnswer,
}

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
    /// No `soap:Fault` at all: a `ps:PersonSummaryFault` sent bare.
    Bare,
    /// A SOAP 1.2 fault, from a service that is SOAP 1.1.
    Soap12,
}

impl FaultClass {
    fn as_str(self) -> &'static str {
        match self {
            FaultClass::Client => "Client",
            FaultClass::Server => "Server",
            FaultClass::VersionMismatch => "VersionMismatch",
            FaultClass::MustUnderstand => "MustUnderstand",
            FaultClass::Other => "unrecognised fault code",
            FaultClass::Bare => "no SOAP fault",
            FaultClass::Soap12 => "SOAP 1.2",
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

/// A SOAP fault: its class and code, and what the service said.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fault {
    /// The class, from `faultcode`.
    pub class: FaultClass,
    /// The service's code, from `detail`, when it gave one.
    pub code: Option<FaultCode>,
    /// The `CorrelationId` of the detail, when it gave one.
    pub correlation_id: Option<String>,
    /// The service's own words (`faultstring`, or a SOAP 1.2 `Reason`), as
    /// sent; to be quoted only as a source's words, never logged.
    pub said: String,
}

impl Fault {
    /// How the fault is named in messages: its class and code, never its
    /// words.
    pub fn described(&self) -> String {
        match (self.class, self.code) {
            (FaultClass::Soap12, _) => "a SOAP 1.2 fault from a SOAP 1.1 service".into(),
            (FaultClass::Bare, Some(code)) => {
                format!("PersonSummaryFault {} outside a SOAP fault", code.as_str())
            }
            (class, Some(code)) => format!("SOAP fault {}/{}", class.as_str(), code.as_str()),
            (class, None) => format!("SOAP fault {}", class.as_str()),
        }
    }
}

/// A `ps:PersonSummaryFault` element read on its own (no `soap:Fault`
/// around it): a fault with no class and no words.
pub fn bare_fault(detail: &Element) -> Fault {
    let (code, correlation_id) = fault_detail(detail);
    Fault {
        class: FaultClass::Bare,
        code: Some(code),
        correlation_id,
        said: String::new(),
    }
}

/// The code and correlation id of a `ps:PersonSummaryFault`.
fn fault_detail(detail: &Element) -> (FaultCode, Option<String>) {
    let code = detail
        .child(Ns::PersonSummary, "Code")
        .and_then(Element::value)
        .map_or(FaultCode::Other, FaultCode::parse);
    let correlation_id = detail
        .child(Ns::PersonSummary, "CorrelationId")
        .and_then(Element::value)
        .map(str::to_string);
    (code, correlation_id)
}

/// Reads the envelope: what its Body holds. The errors describe what is
/// missing, never what is there.
pub fn read_envelope(root: &Element) -> Result<Body<'_>, EnvelopeError> {
    if root.is(Ns::Soap12, "Envelope") {
        if let Some(fault) = root
            .child(Ns::Soap12, "Body")
            .and_then(|b| b.child(Ns::Soap12, "Fault"))
        {
            return Ok(Body::Fault(soap12_fault(fault)));
        }
        return Err(EnvelopeError::Soap12);
    }
    if !root.is(Ns::Soap11, "Envelope") {
        return Err(EnvelopeError::NotEnvelope);
    }
    let Some(body) = root.child(Ns::Soap11, "Body") else {
        return Err(EnvelopeError::NoBody);
    };
    if let Some(fault) = body.child(Ns::Soap11, "Fault") {
        let scope = [root, body, fault];
        return Ok(Body::Fault(read_fault(fault, &scope)));
    }
    if let Some(response) = body.child(Ns::PersonSummary, "GetPersonSummaryResponse") {
        return Ok(Body::Response(response));
    }
    match body.child(Ns::PersonSummary, "PersonSummaryFault") {
        Some(detail) => Ok(Body::Fault(bare_fault(detail))),
        None => Err(EnvelopeError::NoAnswer),
    }
}

/// A SOAP 1.2 fault's words (`Reason/Text`); never "not known", whatever
/// it says.
fn soap12_fault(fault: &Element) -> Fault {
    let said = fault
        .child(Ns::Soap12, "Reason")
        .and_then(|r| r.child(Ns::Soap12, "Text"))
        .and_then(Element::value)
        .unwrap_or("")
        .to_string();
    Fault {
        class: FaultClass::Soap12,
        code: None,
        correlation_id: None,
        said,
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
    let detail = fault_part(fault, "detail")
        .and_then(|d| d.child(Ns::PersonSummary, "PersonSummaryFault"))
        .map(fault_detail);
    let said = fault_part(fault, "faultstring")
        .and_then(Element::value)
        .unwrap_or("")
        .to_string();
    Fault {
        class,
        code: detail.as_ref().map(|(code, _)| *code),
        correlation_id: detail.and_then(|(_, c)| c),
        said,
    }
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
        let detail = r#"<detail><ps:PersonSummaryFault xmlns:ps="urn:icr:socialcare:personsummary:1"><ps:Code>PersonNotKnown</ps:Code><ps:CorrelationId>c-1</ps:CorrelationId></ps:PersonSummaryFault></detail>"#;
        let f = body(&fault("<faultcode>s:Client</faultcode>", detail)).unwrap();
        assert_eq!(
            f,
            Fault {
                class: FaultClass::Client,
                code: Some(FaultCode::PersonNotKnown),
                correlation_id: Some("c-1".into()),
                said: "No person 9990000018 (Jane Doe)".into(),
            }
        );
        assert_eq!(f.described(), "SOAP fault Client/PersonNotKnown");
        let f = body(&fault(
            r#"<faultcode xmlns:e="http://schemas.xmlsoap.org/soap/envelope/">e:Server.Busy</faultcode>"#,
            "",
        ))
        .unwrap();
        assert_eq!((f.class, f.code), (FaultClass::Server, None));
        let f = body(&fault(
            r#"<faultcode xmlns:x="urn:x">x:Client</faultcode>"#,
            "",
        ))
        .unwrap();
        assert_eq!(f.class, FaultClass::Other);
        let f = body(&fault("<faultcode>zz:Client</faultcode>", "")).unwrap();
        assert_eq!(f.class, FaultClass::Other);
        let f = body(&fault("<faultcode>Client</faultcode>", "")).unwrap();
        assert_eq!(f.class, FaultClass::Client);
    }

    #[test]
    fn faults_written_wrong_still_read_as_faults() {
        let bare = body(r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><PersonSummaryFault xmlns="urn:icr:socialcare:personsummary:1"><Code>InternalError</Code></PersonSummaryFault></s:Body></s:Envelope>"#).unwrap();
        assert_eq!(
            (bare.class, bare.code),
            (FaultClass::Bare, Some(FaultCode::InternalError))
        );
        assert_eq!(
            bare.described(),
            "PersonSummaryFault InternalError outside a SOAP fault"
        );
        let v12 = body(r#"<e:Envelope xmlns:e="http://www.w3.org/2003/05/soap-envelope"><e:Body><e:Fault><e:Reason><e:Text>down</e:Text></e:Reason></e:Fault></e:Body></e:Envelope>"#).unwrap();
        assert_eq!((v12.class, v12.said.as_str()), (FaultClass::Soap12, "down"));
        assert_eq!(FaultCode::parse("Jane Doe"), FaultCode::Other);
        assert_eq!(FaultCode::InternalError.class(), FaultClass::Server);
    }

    #[test]
    fn what_is_not_an_envelope_of_the_contract() {
        let cases = [
            (
                r#"<Envelope xmlns="http://www.w3.org/2003/05/soap-envelope"><Body/></Envelope>"#,
                EnvelopeError::Soap12,
            ),
            ("<Envelope><Body/></Envelope>", EnvelopeError::NotEnvelope),
            (
                r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"/>"#,
                EnvelopeError::NoBody,
            ),
            (
                r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><GetPersonSummaryResponse/></s:Body></s:Envelope>"#,
                EnvelopeError::NoAnswer,
            ),
        ];
        for (xml, want) in cases {
            assert_eq!(body(xml), Err(want.to_string()), "{xml}");
        }
    }
}
