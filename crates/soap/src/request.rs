//! `GetPersonSummary`: the request, written by the adapter and read by the
//! simulated councils.

use icr_xml::{Limits, Writer, XmlError};

use crate::xml::{Element, Ns, PERSON_SUMMARY_NS, SOAP11_ENVELOPE_NS, parse};

/// The `SOAPAction` the operation is called with.
pub const SOAP_ACTION: &str = "urn:icr:socialcare:personsummary:1/GetPersonSummary";

/// The lists of a person summary an `Include` may name, in the contract's
/// order (`Person` may be named too: the person's details are always sent).
pub const LISTS: [&str; 6] = [
    "Allocations",
    "Services",
    "Contacts",
    "Alerts",
    "Documents",
    "Visits",
];

/// Bounds on a request read by a service: a request is small.
pub const REQUEST_LIMITS: Limits = Limits {
    max_depth: 16,
    max_elements: 512,
    max_attributes: 64,
    max_text_bytes: 4096,
};

/// What one `GetPersonSummary` says. Absent values read as empty.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GetPersonSummary {
    /// `CorrelationId`: the caller's id for the request, echoed back.
    pub correlation_id: String,
    /// `RequestedBy/UserId`.
    pub user_id: String,
    /// `RequestedBy/Name`.
    pub name: String,
    /// `RequestedBy/Role`.
    pub role: String,
    /// `RequestedBy/Organisation`: an ODS code.
    pub organisation: String,
    /// `Purpose`.
    pub purpose: String,
    /// `NhsNumber`, as written.
    pub nhs_number: String,
    /// Each `Include`, trimmed, in order.
    pub include: Vec<String>,
}

/// Why a request could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    /// A SOAP 1.2 envelope.
    #[error("the request is a SOAP 1.2 envelope")]
    Version,
    /// Not XML the reader accepts.
    #[error(transparent)]
    Xml(#[from] XmlError),
    /// XML, but not a SOAP 1.1 envelope.
    #[error("the request is not a SOAP 1.1 envelope")]
    NotEnvelope,
    /// An envelope whose Body holds no `GetPersonSummary`.
    #[error("the SOAP Body holds no GetPersonSummary")]
    NoOperation,
}

impl GetPersonSummary {
    /// The request envelope as UTF-8 XML, every value escaped.
    pub fn write(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.open(
            "soap:Envelope",
            &[
                ("xmlns:soap", SOAP11_ENVELOPE_NS),
                ("xmlns:ps", PERSON_SUMMARY_NS),
            ],
        );
        w.open("soap:Body", &[]);
        w.open("ps:GetPersonSummary", &[]);
        w.leaf("ps:CorrelationId", &[], &self.correlation_id);
        w.open("ps:RequestedBy", &[]);
        w.leaf("ps:UserId", &[], &self.user_id);
        w.leaf("ps:Name", &[], &self.name);
        w.leaf("ps:Role", &[], &self.role);
        w.leaf("ps:Organisation", &[], &self.organisation);
        w.close("ps:RequestedBy");
        w.leaf("ps:Purpose", &[], &self.purpose);
        w.leaf("ps:NhsNumber", &[], &self.nhs_number);
        for include in &self.include {
            w.leaf("ps:Include", &[], include);
        }
        w.close("ps:GetPersonSummary");
        w.close("soap:Body");
        w.close("soap:Envelope");
        w.finish().into_bytes()
    }

    /// Reads a request envelope, within `limits` (a service uses
    /// [`REQUEST_LIMITS`]).
    pub fn read(body: &[u8], limits: &Limits) -> Result<Self, RequestError> {
        let root = parse(body, limits)?;
        if root.is(Ns::Soap12, "Envelope") {
            return Err(RequestError::Version);
        }
        if !root.is(Ns::Soap11, "Envelope") {
            return Err(RequestError::NotEnvelope);
        }
        let op = root
            .child(Ns::Soap11, "Body")
            .and_then(|b| b.child(Ns::PersonSummary, "GetPersonSummary"))
            .ok_or(RequestError::NoOperation)?;
        let text = |el: Option<&Element>| {
            el.and_then(Element::value)
                .map(str::to_string)
                .unwrap_or_default()
        };
        let ps = |name| op.child(Ns::PersonSummary, name);
        let by = |name| ps("RequestedBy").and_then(|r| r.child(Ns::PersonSummary, name));
        Ok(Self {
            correlation_id: text(ps("CorrelationId")),
            user_id: text(by("UserId")),
            name: text(by("Name")),
            role: text(by("Role")),
            organisation: text(by("Organisation")),
            purpose: text(ps("Purpose")),
            nhs_number: text(ps("NhsNumber")),
            include: op
                .children_named(Ns::PersonSummary, "Include")
                .map(|i| text(Some(i)))
                .collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> GetPersonSummary {
        GetPersonSummary {
            correlation_id: "5f0c8a52-4d1e-4b7a-9a53-2f9a8c1d7e01".into(),
            user_id: "555021935107".into(),
            name: "Dr Sam O'Neill & Partner <locum>".into(),
            role: "R8000".into(),
            organisation: "RN3".into(),
            purpose: "directcare".into(),
            nhs_number: "9990000018".into(),
            include: vec!["Person".into(), "Alerts".into()],
        }
    }

    #[test]
    fn writes_the_documented_request() {
        let xml = String::from_utf8(request().write()).unwrap();
        assert_eq!(
            xml,
            r#"<?xml version="1.0" encoding="utf-8"?>
<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:ps="urn:icr:socialcare:personsummary:1">
  <soap:Body>
    <ps:GetPersonSummary>
      <ps:CorrelationId>5f0c8a52-4d1e-4b7a-9a53-2f9a8c1d7e01</ps:CorrelationId>
      <ps:RequestedBy>
        <ps:UserId>555021935107</ps:UserId>
        <ps:Name>Dr Sam O'Neill &amp; Partner &lt;locum&gt;</ps:Name>
        <ps:Role>R8000</ps:Role>
        <ps:Organisation>RN3</ps:Organisation>
      </ps:RequestedBy>
      <ps:Purpose>directcare</ps:Purpose>
      <ps:NhsNumber>9990000018</ps:NhsNumber>
      <ps:Include>Person</ps:Include>
      <ps:Include>Alerts</ps:Include>
    </ps:GetPersonSummary>
  </soap:Body>
</soap:Envelope>
"#
        );
    }

    #[test]
    fn reads_back_what_it_writes_and_any_prefixes() {
        let r = request();
        assert_eq!(GetPersonSummary::read(&r.write(), &REQUEST_LIMITS), Ok(r));
        let bare = br#"<Envelope xmlns="http://schemas.xmlsoap.org/soap/envelope/"><Body><GetPersonSummary xmlns="urn:icr:socialcare:personsummary:1"><NhsNumber> 999 000 0018 </NhsNumber><RequestedBy><Organisation>RN3</Organisation></RequestedBy></GetPersonSummary></Body></Envelope>"#;
        let read = GetPersonSummary::read(bare, &REQUEST_LIMITS).unwrap();
        assert_eq!(read.nhs_number, "999 000 0018");
        assert_eq!(read.organisation, "RN3");
        assert_eq!((read.correlation_id.as_str(), read.include.len()), ("", 0));
    }

    #[test]
    fn the_fuzzing_entry_point_round_trips() {
        crate::fuzz_request(&request().write());
        crate::fuzz_request(b"<a/>");
        crate::fuzz_request(
            "<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\"><s:Body><GetPersonSummary xmlns=\"urn:icr:socialcare:personsummary:1\"><Name> a&#13;\r\n&amp;<x/>b </Name><Include/></GetPersonSummary></s:Body></s:Envelope>".as_bytes(),
        );
    }

    #[test]
    fn what_is_not_a_request() {
        let read = |b: &[u8]| GetPersonSummary::read(b, &REQUEST_LIMITS).unwrap_err();
        assert_eq!(
            read(br#"<Envelope xmlns="http://www.w3.org/2003/05/soap-envelope"/>"#),
            RequestError::Version
        );
        assert_eq!(read(b"<Envelope/>"), RequestError::NotEnvelope);
        assert_eq!(
            read(br#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body/></s:Envelope>"#),
            RequestError::NoOperation
        );
        assert_eq!(
            read(b"<!DOCTYPE a><a/>"),
            RequestError::Xml(XmlError::Doctype)
        );
        let deep = format!("{}{}", "<a>".repeat(17), "</a>".repeat(17));
        assert_eq!(
            read(deep.as_bytes()),
            RequestError::Xml(XmlError::TooDeep { limit: 16 })
        );
        let long = format!("<a>{}</a>", "x".repeat(4097));
        assert_eq!(
            read(long.as_bytes()),
            RequestError::Xml(XmlError::TextTooLong { limit: 4096 })
        );
    }
}
