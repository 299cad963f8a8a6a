//! The shared hardened reader ([`icr_xml`]) with the namespaces of the
//! person-summary contract told apart.

pub use icr_xml::{Limits, XmlError};

/// The SOAP 1.1 envelope namespace.
pub const SOAP11_ENVELOPE_NS: &str = "http://schemas.xmlsoap.org/soap/envelope/";
/// The SOAP 1.2 envelope namespace (recognised only to be refused clearly).
pub const SOAP12_ENVELOPE_NS: &str = "http://www.w3.org/2003/05/soap-envelope";
/// The person-summary service's namespace.
pub const PERSON_SUMMARY_NS: &str = "urn:icr:socialcare:personsummary:1";

/// The namespace a name belongs to. Only the namespaces of the contract
/// are told apart; every other URI is [`Ns::Other`].
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Ns {
    /// No namespace (an unprefixed name with no default namespace in scope,
    /// or any unprefixed attribute).
    None,
    /// The SOAP 1.1 envelope namespace.
    Soap11,
    /// The SOAP 1.2 envelope namespace.
    Soap12,
    /// The person-summary service's namespace.
    PersonSummary,
    /// Any other namespace.
    Other,
}

impl icr_xml::Namespace for Ns {
    fn of_uri(uri: &str) -> Self {
        match uri {
            SOAP11_ENVELOPE_NS => Ns::Soap11,
            SOAP12_ENVELOPE_NS => Ns::Soap12,
            PERSON_SUMMARY_NS => Ns::PersonSummary,
            "" => Ns::None,
            _ => Ns::Other,
        }
    }
}

/// One element of a SOAP message.
pub type Element = icr_xml::Element<Ns>;

/// Reads a SOAP message into its root element.
pub fn parse(input: &[u8], limits: &Limits) -> Result<Element, XmlError> {
    icr_xml::parse(input, limits)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tells_the_contract_namespaces_apart() {
        let doc = parse(
            br#"<e:Envelope xmlns:e="http://schemas.xmlsoap.org/soap/envelope/"><e:Body><R xmlns="urn:icr:socialcare:personsummary:1"><x:Y xmlns:x="urn:other"/><Z xmlns=""/></R></e:Body></e:Envelope>"#,
            &Limits::default(),
        )
        .unwrap();
        assert!(doc.is(Ns::Soap11, "Envelope"));
        let r = doc
            .child(Ns::Soap11, "Body")
            .and_then(|b| b.child(Ns::PersonSummary, "R"))
            .unwrap();
        assert_eq!(r.children[0].ns, Ns::Other);
        assert_eq!(r.children[1].ns, Ns::None);
        let v12 = parse(
            br#"<Envelope xmlns="http://www.w3.org/2003/05/soap-envelope"/>"#,
            &Limits::default(),
        )
        .unwrap();
        assert!(v12.is(Ns::Soap12, "Envelope"));
    }
}
