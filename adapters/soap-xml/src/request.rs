//! The `GetPersonSummary` request: what the adapter sends, bounded and
//! cleaned here, written by the contract's codec (`icr-soap`), so every
//! value is escaped. Pure: no I/O.

use icr_adapter_sdk::RequestContext;
use icr_model::{NhsNumber, SectionSet};
use icr_soap::{GetPersonSummary, List};

use crate::map::lists_for;

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
    let ctx = request.context;
    let include = std::iter::once(INCLUDE_PERSON)
        .chain(lists_for(request.sections).map(List::name))
        .map(str::to_string)
        .collect();
    let message = GetPersonSummary {
        correlation_id: clean(&ctx.trace_id),
        user_id: clean(&ctx.requester.user_id),
        name: clean(&ctx.requester.name),
        role: clean(&ctx.requester.role),
        organisation: clean(ctx.requester.organisation.as_str()),
        purpose: clean(&ctx.requester.purpose),
        nhs_number: clean(request.nhs_number.as_str()),
        include,
    };
    Ok(message.write())
}

/// A value stripped of characters XML cannot carry, bounded and trimmed.
fn clean(value: &str) -> String {
    let clean: String = value
        .chars()
        .filter(|c| !c.is_control() || matches!(c, '\t' | '\n'))
        .filter(|c| !matches!(c, '\u{FFFE}' | '\u{FFFF}'))
        .take(MAX_REQUESTER_CHARS)
        .collect();
    clean.trim().to_string()
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
