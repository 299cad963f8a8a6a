//! SOAP 1.1 faults as the contract writes them: a `faultcode` in the SOAP
//! namespace and a `ps:PersonSummaryFault` detail.

use icr_xml::Writer;

use crate::xml::{PERSON_SUMMARY_NS, SOAP11_ENVELOPE_NS};

/// One fault a service sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FaultMessage<'a> {
    /// The SOAP fault class, written `soap:{class}` (`Client`, `Server`,
    /// `VersionMismatch`).
    pub class: &'a str,
    /// The contract's code (`PersonNotKnown`, `InvalidRequest`, …).
    pub code: &'a str,
    /// The `faultstring`: must not carry patient data.
    pub message: &'a str,
    /// The request's correlation id, when one could be read.
    pub correlation_id: Option<&'a str>,
}

impl FaultMessage<'_> {
    /// The fault envelope as UTF-8 XML.
    pub fn write(&self) -> String {
        let mut x = Writer::new();
        x.open("soap:Envelope", &[("xmlns:soap", SOAP11_ENVELOPE_NS)]);
        x.open("soap:Body", &[]);
        x.open("soap:Fault", &[]);
        x.leaf("faultcode", &[], &format!("soap:{}", self.class));
        x.leaf("faultstring", &[("xml:lang", "en")], self.message);
        x.open("detail", &[]);
        x.open("ps:PersonSummaryFault", &[("xmlns:ps", PERSON_SUMMARY_NS)]);
        x.leaf("ps:Code", &[], self.code);
        if let Some(c) = self.correlation_id {
            x.leaf("ps:CorrelationId", &[], c);
        }
        x.close("ps:PersonSummaryFault");
        x.close("detail");
        x.close("soap:Fault");
        x.close("soap:Body");
        x.close("soap:Envelope");
        x.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_the_contract_fault() {
        let fault = FaultMessage {
            class: "Client",
            code: "PersonNotKnown",
            message: "no person <here> & now",
            correlation_id: Some("c-1"),
        };
        assert_eq!(
            fault.write(),
            r#"<?xml version="1.0" encoding="utf-8"?>
<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/">
  <soap:Body>
    <soap:Fault>
      <faultcode>soap:Client</faultcode>
      <faultstring xml:lang="en">no person &lt;here&gt; &amp; now</faultstring>
      <detail>
        <ps:PersonSummaryFault xmlns:ps="urn:icr:socialcare:personsummary:1">
          <ps:Code>PersonNotKnown</ps:Code>
          <ps:CorrelationId>c-1</ps:CorrelationId>
        </ps:PersonSummaryFault>
      </detail>
    </soap:Fault>
  </soap:Body>
</soap:Envelope>
"#
        );
        let none = FaultMessage {
            correlation_id: None,
            ..fault
        };
        assert!(!none.write().contains("CorrelationId"));
    }
}
