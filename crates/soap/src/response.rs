//! Writing a `GetPersonSummaryResponse`: the envelope around it, the
//! service's namespace written as a prefix or as the default namespace,
//! and every element of the answer named in that namespace. The simulated
//! councils write their answers with it and the adapter's tests build
//! their fixtures with it; what goes inside (the person and the lists) is
//! the writer's to say.

use icr_xml::Writer;

use crate::xml::{PERSON_SUMMARY_NS, SOAP11_ENVELOPE_NS};

/// How the service's namespace is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Style {
    /// A prefix (`ps`) on every element of the answer.
    Prefix(&'static str),
    /// A default namespace on the response element.
    Default,
}

/// Writes one response envelope; element names are the contract's local
/// names, every value escaped.
#[derive(Debug)]
pub struct ResponseWriter {
    w: Writer,
    prefix: String,
}

impl ResponseWriter {
    /// Opens the envelope, its Body and the response, with the
    /// `CorrelationId` when there is one.
    pub fn new(style: Style, correlation_id: Option<&str>) -> Self {
        let (prefix, ns_attr) = match style {
            Style::Prefix(p) => (format!("{p}:"), format!("xmlns:{p}")),
            Style::Default => (String::new(), "xmlns".to_string()),
        };
        let mut w = Writer::new();
        w.open("soap:Envelope", &[("xmlns:soap", SOAP11_ENVELOPE_NS)]);
        w.open("soap:Body", &[]);
        let mut this = Self { w, prefix };
        let response = this.name("GetPersonSummaryResponse");
        this.w
            .open(&response, &[(ns_attr.as_str(), PERSON_SUMMARY_NS)]);
        if let Some(c) = correlation_id {
            this.leaf("CorrelationId", &[], c);
        }
        this
    }

    fn name(&self, local: &str) -> String {
        format!("{}{local}", self.prefix)
    }

    /// A start tag.
    pub fn open(&mut self, local: &str, attrs: &[(&str, &str)]) {
        let name = self.name(local);
        self.w.open(&name, attrs);
    }

    /// The end tag of the element last opened.
    pub fn close(&mut self, local: &str) {
        let name = self.name(local);
        self.w.close(&name);
    }

    /// An element holding only text.
    pub fn leaf(&mut self, local: &str, attrs: &[(&str, &str)], text: &str) {
        let name = self.name(local);
        self.w.leaf(&name, attrs, text);
    }

    /// A leaf when `text` is present and not blank, its value trimmed.
    pub fn opt(&mut self, local: &str, text: Option<&str>) {
        let name = self.name(local);
        self.w.opt(&name, text);
    }

    /// Closes the response, the Body and the envelope.
    pub fn finish(mut self) -> String {
        self.close("GetPersonSummaryResponse");
        self.w.close("soap:Body");
        self.w.close("soap:Envelope");
        self.w.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xml::{Limits, Ns, parse};

    #[test]
    fn writes_the_envelope_in_either_style() {
        let mut w = ResponseWriter::new(Style::Prefix("ps"), Some("c-1"));
        w.open("Alerts", &[]);
        w.leaf("Type", &[("code", "a&b")], "x < y");
        w.opt("None", Some(" "));
        w.close("Alerts");
        assert_eq!(
            w.finish(),
            r#"<?xml version="1.0" encoding="utf-8"?>
<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/">
  <soap:Body>
    <ps:GetPersonSummaryResponse xmlns:ps="urn:icr:socialcare:personsummary:1">
      <ps:CorrelationId>c-1</ps:CorrelationId>
      <ps:Alerts>
        <ps:Type code="a&amp;b">x &lt; y</ps:Type>
      </ps:Alerts>
    </ps:GetPersonSummaryResponse>
  </soap:Body>
</soap:Envelope>
"#
        );
        let mut w = ResponseWriter::new(Style::Default, None);
        w.leaf("Person", &[], "p");
        let xml = w.finish();
        let root = parse(xml.as_bytes(), &Limits::default()).unwrap();
        let response = root
            .child(Ns::Soap11, "Body")
            .and_then(|b| b.child(Ns::PersonSummary, "GetPersonSummaryResponse"))
            .unwrap();
        assert_eq!(
            response
                .child(Ns::PersonSummary, "Person")
                .and_then(|p| p.value()),
            Some("p")
        );
        assert!(response.child(Ns::PersonSummary, "CorrelationId").is_none());
    }
}
