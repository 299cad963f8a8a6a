//! The `GetPersonSummary` request: a SOAP 1.1 envelope written with
//! quick-xml's writer, so every value is escaped. Pure: no I/O.

use icr_adapter_sdk::RequestContext;
use icr_model::{NhsNumber, SectionSet};
use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};

use crate::map::Part;
use crate::xml::{PERSON_SUMMARY_NS, SOAP11_ENVELOPE_NS};

/// Longest requester value sent (user id, name, role, purpose), in characters.
pub const MAX_REQUESTER_CHARS: usize = 256;

/// The `<ps:Include>` value that asks for the person's details (always sent:
/// the adapter checks the NHS number of every answer).
pub const INCLUDE_PERSON: &str = "Person";

/// What one request asks.
#[derive(Clone, Copy, Debug)]
pub struct PersonSummaryRequest<'a> {
    /// The person.
    pub nhs_number: NhsNumber,
    /// Who asks and why; the trace id is sent as the correlation id.
    pub context: &'a RequestContext,
    /// The sections wanted: they choose the lists asked for.
    pub sections: SectionSet,
}

/// Writes the request envelope as UTF-8 XML.
pub fn write_request(request: &PersonSummaryRequest<'_>) -> std::io::Result<Vec<u8>> {
    let mut w = Writer::new_with_indent(Vec::new(), b' ', 2);
    w.write_event(Event::Decl(BytesDecl::new("1.0", Some("utf-8"), None)))?;
    let envelope = BytesStart::new("soap:Envelope").with_attributes([
        ("xmlns:soap", SOAP11_ENVELOPE_NS),
        ("xmlns:ps", PERSON_SUMMARY_NS),
    ]);
    w.write_event(Event::Start(envelope))?;
    w.write_event(Event::Start(BytesStart::new("soap:Body")))?;
    w.write_event(Event::Start(BytesStart::new("ps:GetPersonSummary")))?;
    let ctx = request.context;
    leaf(&mut w, "ps:CorrelationId", &ctx.trace_id)?;
    w.write_event(Event::Start(BytesStart::new("ps:RequestedBy")))?;
    leaf(&mut w, "ps:UserId", &ctx.requester.user_id)?;
    leaf(&mut w, "ps:Name", &ctx.requester.name)?;
    leaf(&mut w, "ps:Role", &ctx.requester.role)?;
    leaf(
        &mut w,
        "ps:Organisation",
        ctx.requester.organisation.as_str(),
    )?;
    w.write_event(Event::End(BytesEnd::new("ps:RequestedBy")))?;
    leaf(&mut w, "ps:Purpose", &ctx.requester.purpose)?;
    leaf(&mut w, "ps:NhsNumber", request.nhs_number.as_str())?;
    leaf(&mut w, "ps:Include", INCLUDE_PERSON)?;
    for part in Part::for_sections(request.sections) {
        leaf(&mut w, "ps:Include", part.list())?;
    }
    w.write_event(Event::End(BytesEnd::new("ps:GetPersonSummary")))?;
    w.write_event(Event::End(BytesEnd::new("soap:Body")))?;
    w.write_event(Event::End(BytesEnd::new("soap:Envelope")))?;
    let mut out = w.into_inner();
    out.push(b'\n');
    Ok(out)
}

/// `<name>value</name>`, the value escaped, stripped of characters XML
/// cannot carry, and bounded.
fn leaf(w: &mut Writer<Vec<u8>>, name: &str, value: &str) -> std::io::Result<()> {
    let clean: String = value
        .chars()
        .filter(|c| !c.is_control() || matches!(c, '\t' | '\n'))
        .filter(|c| !matches!(c, '\u{FFFE}' | '\u{FFFF}'))
        .take(MAX_REQUESTER_CHARS)
        .collect();
    let escaped = quick_xml::escape::partial_escape(clean.trim());
    w.create_element(name)
        .write_text_content(BytesText::from_escaped(escaped))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use icr_adapter_sdk::Requester;
    use icr_model::{OdsCode, Section};

    #[test]
    fn writes_the_documented_request() {
        let context = RequestContext {
            trace_id: "5f0c8a52-4d1e-4b7a-9a53-2f9a8c1d7e01".into(),
            requester: Requester {
                user_id: "555021935107".into(),
                name: "Dr Sam O'Neill & Partner <locum>\u{0}".into(),
                role: "R8000".into(),
                organisation: OdsCode::parse("RN3").unwrap(),
                purpose: "directcare".into(),
            },
        };
        let request = PersonSummaryRequest {
            nhs_number: NhsNumber::parse("9990000018").unwrap(),
            context: &context,
            sections: [Section::Alerts, Section::CareTeam, Section::Medications]
                .into_iter()
                .collect(),
        };
        let xml = String::from_utf8(write_request(&request).unwrap()).unwrap();
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
      <ps:Include>Allocations</ps:Include>
      <ps:Include>Services</ps:Include>
      <ps:Include>Alerts</ps:Include>
    </ps:GetPersonSummary>
  </soap:Body>
</soap:Envelope>
"#
        );
    }
}
