//! The council social care module (kind `soap-xml`): each council's SOAP
//! 1.1 person-summary service, answering `GetPersonSummary` from what the
//! council holds in the population, after the contract in
//! `adapters/soap-xml/README.md` (namespace `urn:icr:socialcare:personsummary:1`).
//!
//! - `POST {base}` with `SOAPAction: "urn:icr:socialcare:personsummary:1/GetPersonSummary"`
//!   and a `text/xml` `GetPersonSummary` envelope answers `200` with a
//!   `GetPersonSummaryResponse`: the `Person` and the lists asked for by
//!   `Include` (all of them when none is named). The base path is
//!   `/{ODS code}/PersonSummaryService/v1`, so the councils can share a
//!   listener.
//! - Faults are SOAP 1.1 faults with HTTP 500 and a `ps:PersonSummaryFault`
//!   detail: `soap:Client` `PersonNotKnown` for a person the council does
//!   not hold, `soap:Client` `InvalidRequest` for a request that does not
//!   follow the contract (not XML, a DOCTYPE, no NHS number, an unknown
//!   `Include`, a wrong `SOAPAction`), `soap:VersionMismatch` for a SOAP
//!   1.2 envelope, `soap:Server` `InternalError` for the error-rate fault.
//!   A wrong path answers 404, another method 405, another content type 415,
//!   each with a fault body. Fault strings never carry patient data or the
//!   request's values.
//!
//! The request is read, and faults are written, by the contract's codec
//! (`icr-soap`, over the shared hardened reader `icr-xml`: namespace-aware;
//! no DOCTYPE, only the predefined entities, limited depth, elements and
//! text); the answer is written by the contract's person-summary writer
//! (`icr_soap::summary`), every value escaped. What is the council's own
//! here is which model record becomes which part of the contract:
//!
//! | model | list |
//! |---|---|
//! | `CareTeam` with a worker (a participant whose role is not "Care provider") | `Allocation`: team name, type, phone; the worker and their role |
//! | other `CareTeam` | `Service`: type (from the name: home care, reablement, telecare, day care, …, else the category), name, provider (the "Care provider" participant, else the managing organisation), status |
//! | `Contact` | `Contact`: the relationship, and next of kin / emergency contact / carer codings as `Role`s |
//! | `Alert` | `Alert`: the code (or its text) as `Type`, the text as `Description`, the author as `ContactPerson` |
//! | `Document` | `Document`, with the first http(s) link as `Url` |
//! | `Appointment` (not an encounter) with a start | `Visit` |

use icr_model::{
    Appointment, AppointmentKind, Attachment, CareTeam, CareTeamStatus, Coding, Contact, Document,
    Entry, NhsNumber, TelecomSystem,
};
use icr_soap::summary::{
    self, Allocation, Coded, ContactPoint, Party, Person, Record, Service, SummaryWriter,
};
use icr_soap::{FaultMessage, GetPersonSummary, List, REQUEST_LIMITS, Style};

use crate::org::Org;
use crate::population::{Holding, OrgRecord};
use crate::protocol::{Answer, HttpModule, HttpRequest, SourceCtx};

pub use icr_soap::request::{LISTS, SOAP_ACTION};
/// The service's namespace.
pub use icr_soap::xml::PERSON_SUMMARY_NS as NS;
/// The SOAP 1.1 envelope namespace.
pub use icr_soap::xml::SOAP11_ENVELOPE_NS as SOAP_ENV;
/// The SOAP 1.2 envelope namespace (answered with `VersionMismatch`).
pub use icr_soap::xml::SOAP12_ENVELOPE_NS as SOAP12_ENV;
/// The media type of every answer.
pub const CONTENT_TYPE: &str = "text/xml; charset=utf-8";
/// The contract's service-type code system.
pub const SERVICE_TYPE_SYSTEM: &str = "urn:icr:socialcare:personsummary:1:service-type";

/// The SOAP person-summary module.
#[derive(Clone, Copy, Debug, Default)]
pub struct Soap;

impl HttpModule for Soap {
    fn base_path(&self, org: Org) -> String {
        format!("/{}/PersonSummaryService/v1", org.ods_code())
    }

    fn respond(&self, ctx: &SourceCtx, req: &HttpRequest<'_>) -> Answer {
        let Some(org) = ctx
            .orgs()
            .iter()
            .copied()
            .find(|o| req.path.trim_end_matches('/') == self.base_path(*o))
        else {
            return fault(
                404,
                "Client",
                "InvalidRequest",
                "unknown path; the service is at /{ODS code}/PersonSummaryService/v1",
                None,
            );
        };
        if req.method != "POST" {
            return fault(
                405,
                "Client",
                "InvalidRequest",
                "the service answers POST only",
                None,
            )
            .with_header("Allow", "POST");
        }
        let xml_type = req.header("content-type").is_some_and(|t| {
            t.split(';')
                .next()
                .is_some_and(|m| m.trim().eq_ignore_ascii_case("text/xml"))
        });
        if !xml_type {
            return fault(
                415,
                "Client",
                "InvalidRequest",
                "the request must be text/xml",
                None,
            );
        }
        let action = req.header("soapaction").map(|a| a.trim().trim_matches('"'));
        if action != Some(SOAP_ACTION) {
            return fault(
                500,
                "Client",
                "InvalidRequest",
                "SOAPAction must be urn:icr:socialcare:personsummary:1/GetPersonSummary",
                None,
            );
        }
        let request = match read_request(req.body) {
            Ok(r) => r,
            Err(RequestError::Version) => {
                return fault(
                    500,
                    "VersionMismatch",
                    "InvalidRequest",
                    "the service speaks SOAP 1.1",
                    None,
                );
            }
            Err(RequestError::Invalid(why, correlation)) => {
                return fault(
                    500,
                    "Client",
                    "InvalidRequest",
                    &why,
                    correlation.as_deref(),
                );
            }
        };
        let correlation = request.correlation_id.as_deref();
        let holding = ctx
            .population()
            .get(&request.nhs_number)
            .and_then(|p| p.holding(org));
        match holding {
            Some(h) => Answer::new(
                200,
                CONTENT_TYPE,
                person_summary(h, request.nhs_number, &request.lists, correlation).into_bytes(),
            ),
            None => fault(
                500,
                "Client",
                "PersonNotKnown",
                "no person with this NHS number is known to the council",
                correlation,
            ),
        }
    }

    fn error(&self, status: u16, message: &str) -> Answer {
        let (class, code) = match status {
            400..=499 => ("Client", "InvalidRequest"),
            _ => ("Server", "InternalError"),
        };
        fault(status, class, code, message, None)
    }
}

/// A SOAP 1.1 fault answer. `message` must not carry patient data.
pub fn fault(
    status: u16,
    class: &str,
    code: &str,
    message: &str,
    correlation: Option<&str>,
) -> Answer {
    let body = FaultMessage {
        class,
        code,
        message,
        correlation_id: correlation,
    }
    .write();
    Answer::new(status, CONTENT_TYPE, body.into_bytes())
}

// ---- the request ----

/// What a `GetPersonSummary` asks.
#[derive(Debug, PartialEq, Eq)]
struct Request {
    nhs_number: NhsNumber,
    correlation_id: Option<String>,
    /// The lists asked for, in the contract's order.
    lists: Vec<List>,
}

#[derive(Debug, PartialEq, Eq)]
enum RequestError {
    /// A SOAP 1.2 envelope.
    Version,
    /// Not a request of the contract: why (no patient data), and the
    /// correlation id when one could be read.
    Invalid(String, Option<String>),
}

fn read_request(body: &[u8]) -> Result<Request, RequestError> {
    let op = match GetPersonSummary::read(body, &REQUEST_LIMITS) {
        Ok(op) => op,
        Err(icr_soap::RequestError::Version) => return Err(RequestError::Version),
        Err(e) => return Err(RequestError::Invalid(e.to_string(), None)),
    };
    let correlation_id = Some(op.correlation_id.as_str())
        .filter(|c| (1..=64).contains(&c.len()) && c.bytes().all(|b| b.is_ascii_graphic()))
        .map(str::to_string);
    let bad = |why: &str| RequestError::Invalid(why.into(), correlation_id.clone());
    let nhs_number = NhsNumber::parse_formatted(&op.nhs_number)
        .map_err(|_| bad("NhsNumber is missing or not a valid NHS number"))?;
    if op.organisation.is_empty() {
        return Err(bad(
            "RequestedBy/Organisation is required for the council's audit",
        ));
    }
    let mut wanted = Vec::new();
    for include in &op.include {
        match include.as_str() {
            "Person" => {}
            other => match List::of_name(other) {
                Some(l) => wanted.push(l),
                None => return Err(bad("an Include names no part of the person summary")),
            },
        }
    }
    let lists = List::ALL
        .into_iter()
        .filter(|l| op.include.is_empty() || wanted.contains(l))
        .collect();
    Ok(Request {
        nhs_number,
        correlation_id,
        lists,
    })
}

// ---- the answer ----

/// A record's attributes: its id and when it last changed.
fn record(r: &OrgRecord) -> Record<'_> {
    Record {
        id: &r.id,
        last_updated: Some(r.last_updated),
        restricted: false,
    }
}

/// The `GetPersonSummaryResponse` envelope for what `h` holds, with `lists`.
fn person_summary(
    h: &Holding,
    nhs: NhsNumber,
    lists: &[List],
    correlation: Option<&str>,
) -> String {
    let person = Person {
        id: &h.patient_id,
        last_updated: Some(h.last_updated),
        nhs_number: Some(nhs),
        demographics: &h.demographics,
    };
    let mut x = SummaryWriter::new(Style::Prefix("ps"), correlation, &person);
    for &list in lists {
        x.list(list, |x| {
            for r in &h.records {
                match (list, &r.entry) {
                    (List::Allocations, Entry::CareTeam(c)) if !is_service(c) => {
                        x.allocation(&allocation(r, c));
                    }
                    (List::Services, Entry::CareTeam(c)) if is_service(c) => {
                        x.service(&service(r, c));
                    }
                    (List::Contacts, Entry::Contact(c)) => x.contact(&contact(r, c)),
                    (List::Alerts, Entry::Alert(a)) => x.alert(&record(r), a),
                    (List::Documents, Entry::Document(d)) => {
                        x.document(&record(r), d, document_link(d));
                    }
                    (List::Visits, Entry::Appointment(a)) if is_visit(a) => {
                        x.visit(&record(r), a);
                    }
                    _ => {}
                }
            }
        });
    }
    x.finish()
}

/// The participant who provides a service on the council's behalf.
fn provider(c: &CareTeam) -> Option<&icr_model::CareTeamMember> {
    c.participants
        .iter()
        .find(|m| m.roles.iter().any(|r| r.label() == Some("Care provider")))
}

/// A care team is a service (rather than an allocation to a worker) when
/// nobody in it is a worker of the council's own.
fn is_service(c: &CareTeam) -> bool {
    c.participants.is_empty() || provider(c).is_some()
}

/// The team's phone, written without its use.
fn phone_of(c: &CareTeam) -> Option<ContactPoint<'_>> {
    c.telecom
        .iter()
        .find(|t| t.system != TelecomSystem::Email)
        .map(|t| ContactPoint::phone(&t.value))
}

/// An allocation: the team always, the first participant as the worker;
/// with no status, active until it ends.
fn allocation<'a>(r: &'a OrgRecord, c: &'a CareTeam) -> Allocation<'a> {
    let status = match c.status {
        Some(s) => s,
        None if c.period_end.is_some() => CareTeamStatus::Inactive,
        None => CareTeamStatus::Active,
    };
    Allocation {
        record: record(r),
        team: Some(Party {
            name: c.name.as_deref(),
            kind: c.category.first().map(Coded::of),
            phone: phone_of(c),
        }),
        worker: c.participants.first().map(|w| Party {
            name: w.name.as_deref(),
            kind: w.roles.first().map(Coded::of),
            phone: None,
        }),
        status: Some(status),
        start: c.period_start.as_ref(),
        end: c.period_end.as_ref(),
    }
}

/// The contract's service type for a service, from its name.
fn service_type(c: &CareTeam) -> Option<(&'static str, &'static str)> {
    let name = c.name.as_deref()?.to_ascii_lowercase();
    const TYPES: [(&str, &str, &str); 10] = [
        ("home care", "home-care", "Home care"),
        ("reablement", "reablement", "Reablement"),
        ("telecare", "telecare", "Telecare"),
        ("day ", "day-care", "Day care"),
        ("respite", "respite-care", "Respite care"),
        ("meals", "meals", "Meals"),
        ("equipment", "equipment", "Equipment"),
        ("direct payment", "direct-payment", "Direct payment"),
        ("shared lives", "shared-lives", "Shared lives"),
        ("residential", "residential-care", "Residential care"),
    ];
    TYPES
        .iter()
        .find(|(prefix, _, _)| name.starts_with(prefix))
        .map(|(_, code, display)| (*code, *display))
}

/// A service: its type from its name, else its category, else its name;
/// the provider is the "Care provider" participant, else the managing
/// organisation.
fn service<'a>(r: &'a OrgRecord, c: &'a CareTeam) -> Service<'a> {
    let kind = match (service_type(c), c.category.first()) {
        (Some((code, display)), _) => Coded::Coding {
            code,
            system: SERVICE_TYPE_SYSTEM,
            display,
        },
        (None, Some(category)) => Coded::of(category),
        (None, None) => Coded::Text(c.name.as_deref().unwrap_or("Service")),
    };
    let provider_name = provider(c)
        .and_then(|p| p.name.as_deref())
        .or(c.managing_organisations.first().map(String::as_str));
    let phone = phone_of(c);
    Service {
        record: record(r),
        kind: Some(kind),
        name: c.name.as_deref(),
        provider: (provider_name.is_some() || phone.is_some()).then_some(Party {
            name: provider_name,
            kind: None,
            phone,
        }),
        status: c.status,
        start: c.period_start.as_ref(),
        end: c.period_end.as_ref(),
    }
}

/// The contract's `Role` for a relationship coding that is one.
fn contact_role(c: &Coding) -> Option<&'static str> {
    match (c.system.uri(), c.code.as_str()) {
        ("http://terminology.hl7.org/CodeSystem/v2-0131", "N") => Some("NextOfKin"),
        ("http://terminology.hl7.org/CodeSystem/v2-0131", "C") => Some("EmergencyContact"),
        ("http://snomed.info/sct", "407542009") => Some("Carer"),
        ("http://snomed.info/sct", "407543004") => Some("MainCarer"),
        _ => None,
    }
}

/// A contact: codings that are contact roles become `Role`s (each once);
/// the first other coding (or, failing one, the first free-text
/// relationship) the `Relationship`.
fn contact<'a>(r: &'a OrgRecord, c: &'a Contact) -> summary::Contact<'a> {
    let codings = c.relationship.iter().flat_map(|r| r.codings.iter());
    let relationship = match codings
        .clone()
        .find(|coding| contact_role(coding).is_none())
    {
        Some(coding) => Some(Coded::coding(coding)),
        None => c
            .relationship
            .iter()
            .find(|r| r.codings.is_empty())
            .and_then(|r| r.text.as_deref())
            .map(Coded::Text),
    };
    let mut roles: Vec<&str> = Vec::new();
    for role in codings.filter_map(contact_role) {
        if !roles.contains(&role) {
            roles.push(role);
        }
    }
    summary::Contact {
        record: record(r),
        name: &c.name,
        relationship,
        roles,
        telecom: &c.telecom,
        address: c.address.as_ref(),
        active: c.active,
        start: c.period_start.as_ref(),
    }
}

/// A document's first http(s) link.
fn document_link(d: &Document) -> Option<&Attachment> {
    d.content.iter().find(|a| {
        a.url
            .as_deref()
            .is_some_and(|u| u.starts_with("https://") || u.starts_with("http://"))
    })
}

/// An appointment is a visit when it is not an encounter and has a start.
fn is_visit(a: &Appointment) -> bool {
    a.kind != Some(AppointmentKind::Encounter) && a.start.is_some()
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;
    use std::sync::Arc;

    use icr_model::{
        Alert, CareTeamMember, CodeSystem, Concept, ContactUse, Demographics, Gender, HumanName,
        NameUse, OdsCode, PartialDateTime, Telecom,
    };
    use proptest::prelude::*;
    use time::macros::datetime;

    use super::*;
    use icr_soap::xml::{Element, Limits, Ns, XmlError};

    /// Reads an answer back with the contract's reader.
    fn parse(body: &[u8]) -> Result<Element, XmlError> {
        icr_soap::xml::parse(body, &Limits::default())
    }
    use crate::org::Kind;
    use crate::population::Population;
    use crate::protocol::Module;
    use crate::{Fault, Sim, SimConfig};

    const SEED: u64 = 20261101;
    const SIZE: usize = 300;
    const CORRELATION: &str = "5f0c8a52-4d1e-4b7a-9a53-2f9a8c1d7e01";

    fn request_body(nhs: &str, includes: &[&str]) -> String {
        let includes: String = includes
            .iter()
            .map(|i| format!("<ps:Include>{i}</ps:Include>"))
            .collect();
        format!(
            r#"<?xml version="1.0" encoding="utf-8"?>
<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:ps="urn:icr:socialcare:personsummary:1">
  <soap:Body>
    <ps:GetPersonSummary>
      <ps:CorrelationId>{CORRELATION}</ps:CorrelationId>
      <ps:RequestedBy><ps:UserId>u1</ps:UserId><ps:Name>Dr A &amp; B</ps:Name><ps:Role>R8000</ps:Role><ps:Organisation>RN3</ps:Organisation></ps:RequestedBy>
      <ps:Purpose>directcare</ps:Purpose>
      <ps:NhsNumber>{nhs}</ps:NhsNumber>
      {includes}
    </ps:GetPersonSummary>
  </soap:Body>
</soap:Envelope>"#
        )
    }

    fn ctx(org: Org) -> SourceCtx {
        let addr: SocketAddr = "127.0.0.1:9401".parse().unwrap_or_else(|_| unreachable!());
        SourceCtx::new(
            org.id(),
            Kind::SoapXml,
            vec![org],
            addr,
            Arc::new(Population::generate(SEED, SIZE)),
            1,
        )
    }

    fn call(
        ctx: &SourceCtx,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Answer {
        let mut map = http::HeaderMap::new();
        for (k, v) in headers {
            map.insert(
                http::header::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                http::HeaderValue::from_str(v).unwrap(),
            );
        }
        let req = HttpRequest {
            method,
            path,
            query: None,
            headers: &map,
            body,
            origin: "http://127.0.0.1:9401",
        };
        Soap.respond(ctx, &req)
    }

    const SOAP_HEADERS: [(&str, &str); 2] = [
        ("content-type", "text/xml; charset=utf-8"),
        (
            "soapaction",
            "\"urn:icr:socialcare:personsummary:1/GetPersonSummary\"",
        ),
    ];

    fn post(ctx: &SourceCtx, org: Org, body: &str) -> Answer {
        call(
            ctx,
            "POST",
            &Soap.base_path(org),
            &SOAP_HEADERS,
            body.as_bytes(),
        )
    }

    fn text(a: &Answer) -> String {
        String::from_utf8(a.body.clone()).unwrap()
    }

    /// The fault code of a fault answer, read back.
    fn fault_code(a: &Answer) -> (String, String) {
        let root = parse(&a.body).unwrap();
        let f = root
            .child(Ns::Soap11, "Body")
            .and_then(|b| b.child(Ns::Soap11, "Fault"))
            .unwrap();
        let class = f.child(Ns::None, "faultcode").unwrap().text.clone();
        let code = f
            .child(Ns::None, "detail")
            .and_then(|d| d.child(Ns::PersonSummary, "PersonSummaryFault"))
            .and_then(|p| p.child(Ns::PersonSummary, "Code"))
            .map(|c| c.text.clone())
            .unwrap_or_default();
        (class, code)
    }

    /// A council holding written by hand, with XML's special characters.
    fn holding() -> Holding {
        let updated = datetime!(2026-10-01 09:30:00 UTC);
        let rec = |id: &str, entry: Entry| OrgRecord {
            resource_type: crate::population::resource_type(&entry),
            id: id.to_string(),
            entry,
            last_updated: updated,
        };
        let phone = |v: &str| Telecom {
            system: TelecomSystem::Phone,
            value: v.to_string(),
            use_: Some(ContactUse::Work),
        };
        let day = |s: &str| PartialDateTime::parse(s).ok();
        Holding {
            org: Org::WILTSHIRE_COUNCIL,
            patient_id: "p<1>".into(),
            demographics: Demographics {
                names: vec![HumanName {
                    use_: Some(NameUse::Official),
                    given: vec!["Ann".into()],
                    family: Some("O'Neill & Co".into()),
                    ..HumanName::default()
                }],
                gender: Some(Gender::Female),
                birth_date: day("1940-02-03"),
                sensitive: true,
                ..Demographics::default()
            },
            last_updated: updated,
            version: 1,
            records: vec![
                rec(
                    "1",
                    Entry::CareTeam(CareTeam {
                        name: Some("Devizes Adult Social Care Team".into()),
                        status: Some(CareTeamStatus::Active),
                        participants: vec![CareTeamMember {
                            roles: vec![Concept::coded(Coding::new(
                                CodeSystem::Snomed,
                                "106328005",
                                "Social worker",
                            ))],
                            name: Some("Sam Lee".into()),
                        }],
                        telecom: vec![phone("01632 960100")],
                        period_start: day("2025-01-02"),
                        ..CareTeam::default()
                    }),
                ),
                rec(
                    "2",
                    Entry::CareTeam(CareTeam {
                        name: Some("Home care: two visits a day".into()),
                        status: Some(CareTeamStatus::Active),
                        participants: vec![CareTeamMember {
                            roles: vec![Concept::text("Care provider")],
                            name: Some("Kingfisher Home Care".into()),
                        }],
                        managing_organisations: vec!["Wiltshire Council".into()],
                        telecom: vec![phone("01632 960200")],
                        ..CareTeam::default()
                    }),
                ),
                rec(
                    "3",
                    Entry::Contact(Contact {
                        name: HumanName {
                            given: vec!["Jo".into()],
                            family: Some("Smith".into()),
                            ..HumanName::default()
                        },
                        relationship: vec![
                            Concept::coded(Coding::new(
                                CodeSystem::Other(
                                    "http://terminology.hl7.org/CodeSystem/v3-RoleCode".into(),
                                ),
                                "DAUC",
                                "daughter",
                            )),
                            Concept::coded(Coding::new(
                                CodeSystem::Other(
                                    "http://terminology.hl7.org/CodeSystem/v2-0131".into(),
                                ),
                                "N",
                                "Next-of-Kin",
                            )),
                        ],
                        ..Contact::default()
                    }),
                ),
                rec(
                    "4",
                    Entry::Alert(Alert {
                        code: Concept::text("Enquiry open: call <the team> first & \"only\" them"),
                        author: Some("Sam Lee".into()),
                        ..Alert::default()
                    }),
                ),
            ],
        }
    }

    #[test]
    fn writes_the_contract_with_every_value_escaped() {
        let nhs = NhsNumber::parse("9990000018").unwrap();
        let xml = person_summary(&holding(), nhs, &List::ALL, Some("c&1"));
        assert_eq!(
            xml,
            r#"<?xml version="1.0" encoding="utf-8"?>
<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/">
  <soap:Body>
    <ps:GetPersonSummaryResponse xmlns:ps="urn:icr:socialcare:personsummary:1">
      <ps:CorrelationId>c&amp;1</ps:CorrelationId>
      <ps:Person id="p&lt;1&gt;" lastUpdated="2026-10-01T09:30:00Z" confidential="true">
        <ps:NhsNumber>9990000018</ps:NhsNumber>
        <ps:Name use="official">
          <ps:Given>Ann</ps:Given>
          <ps:Family>O'Neill &amp; Co</ps:Family>
        </ps:Name>
        <ps:Gender>female</ps:Gender>
        <ps:BirthDate>1940-02-03</ps:BirthDate>
      </ps:Person>
      <ps:Allocations>
        <ps:Allocation id="1" lastUpdated="2026-10-01T09:30:00Z">
          <ps:Team>
            <ps:Name>Devizes Adult Social Care Team</ps:Name>
            <ps:Phone>01632 960100</ps:Phone>
          </ps:Team>
          <ps:Worker>
            <ps:Name>Sam Lee</ps:Name>
            <ps:Role code="106328005" system="http://snomed.info/sct">Social worker</ps:Role>
          </ps:Worker>
          <ps:Status>active</ps:Status>
          <ps:Start>2025-01-02</ps:Start>
        </ps:Allocation>
      </ps:Allocations>
      <ps:Services>
        <ps:Service id="2" lastUpdated="2026-10-01T09:30:00Z">
          <ps:Type code="home-care" system="urn:icr:socialcare:personsummary:1:service-type">Home care</ps:Type>
          <ps:Name>Home care: two visits a day</ps:Name>
          <ps:Provider>
            <ps:Name>Kingfisher Home Care</ps:Name>
            <ps:Phone>01632 960200</ps:Phone>
          </ps:Provider>
          <ps:Status>active</ps:Status>
        </ps:Service>
      </ps:Services>
      <ps:Contacts>
        <ps:Contact id="3" lastUpdated="2026-10-01T09:30:00Z">
          <ps:Name>
            <ps:Given>Jo</ps:Given>
            <ps:Family>Smith</ps:Family>
          </ps:Name>
          <ps:Relationship code="DAUC" system="http://terminology.hl7.org/CodeSystem/v3-RoleCode">daughter</ps:Relationship>
          <ps:Role>NextOfKin</ps:Role>
        </ps:Contact>
      </ps:Contacts>
      <ps:Alerts>
        <ps:Alert id="4" lastUpdated="2026-10-01T09:30:00Z">
          <ps:Type>Enquiry open: call &lt;the team&gt; first &amp; "only" them</ps:Type>
          <ps:ContactPerson>
            <ps:Name>Sam Lee</ps:Name>
          </ps:ContactPerson>
        </ps:Alert>
      </ps:Alerts>
      <ps:Documents>
      </ps:Documents>
      <ps:Visits>
      </ps:Visits>
    </ps:GetPersonSummaryResponse>
  </soap:Body>
</soap:Envelope>
"#
        );
        // what it writes, it reads back: the escaped values come back whole
        let root = parse(xml.as_bytes()).unwrap();
        let alert = root
            .child(Ns::Soap11, "Body")
            .and_then(|b| b.child(Ns::PersonSummary, "GetPersonSummaryResponse"))
            .and_then(|r| r.child(Ns::PersonSummary, "Alerts"))
            .and_then(|a| a.child(Ns::PersonSummary, "Alert"))
            .and_then(|a| a.child(Ns::PersonSummary, "Type"))
            .unwrap();
        assert_eq!(
            alert.text,
            "Enquiry open: call <the team> first & \"only\" them"
        );
    }

    #[test]
    fn answers_a_council_person_and_faults_the_rest() {
        let pop = Population::generate(SEED, SIZE);
        let council = Org::WILTSHIRE_COUNCIL;
        let ctx = ctx(council);
        // someone the council holds
        if let Some(p) = pop.iter().find(|p| p.holding(council).is_some()) {
            let a = post(
                &ctx,
                council,
                &request_body(p.nhs_number.as_str(), &["Person", "Alerts"]),
            );
            assert_eq!(a.status, 200, "{}", text(&a));
            assert_eq!(a.content_type, CONTENT_TYPE);
            let body = text(&a);
            assert!(body.contains(&format!("<ps:NhsNumber>{}</ps:NhsNumber>", p.nhs_number)));
            assert!(body.contains(&format!(
                "<ps:CorrelationId>{CORRELATION}</ps:CorrelationId>"
            )));
            assert!(body.contains("<ps:Alerts>") && !body.contains("<ps:Visits>"));
        }
        // someone it does not hold: PersonNotKnown, the correlation id echoed
        let stranger = pop
            .iter()
            .find(|p| p.holding(council).is_none())
            .map(|p| p.nhs_number)
            .unwrap();
        let a = post(&ctx, council, &request_body(stranger.as_str(), &[]));
        assert_eq!(a.status, 500);
        assert_eq!(
            fault_code(&a),
            ("soap:Client".into(), "PersonNotKnown".into())
        );
        assert!(text(&a).contains(CORRELATION));
        assert!(!text(&a).contains(stranger.as_str()));
    }

    #[test]
    fn malformed_requests_are_faults() {
        let council = Org::SWINDON_COUNCIL;
        let ctx = ctx(council);
        let invalid = |a: &Answer| {
            assert_eq!(a.status, 500, "{}", text(a));
            assert_eq!(
                fault_code(a),
                ("soap:Client".into(), "InvalidRequest".into())
            );
        };
        let good = request_body("9990000018", &["Alerts"]);
        for body in [
            "not xml".to_string(),
            good.replace("9990000018", "9990000019"),
            good.replace(
                "<ps:Include>Alerts</ps:Include>",
                "<ps:Include>Medications</ps:Include>",
            ),
            good.replace("<ps:Organisation>RN3</ps:Organisation>", ""),
            format!("<!DOCTYPE x [<!ENTITY e \"e\">]>{good}"),
            good.replace("Dr A &amp; B", "Dr A &e; B"),
            good[..good.len() / 2].to_string(),
            good.replace("ps:GetPersonSummary>", "ps:GetPersonSummaryX>"),
        ] {
            invalid(&post(&ctx, council, &body));
        }
        let v12 = good.replace(SOAP_ENV, SOAP12_ENV);
        let a = post(&ctx, council, &v12);
        assert_eq!(fault_code(&a).0, "soap:VersionMismatch");
        // wrong SOAPAction
        let a = call(
            &ctx,
            "POST",
            &Soap.base_path(council),
            &[
                ("content-type", "text/xml"),
                ("soapaction", "\"urn:other\""),
            ],
            good.as_bytes(),
        );
        invalid(&a);
        // wrong method, content type, path
        let a = call(&ctx, "GET", &Soap.base_path(council), &SOAP_HEADERS, b"");
        assert_eq!(a.status, 405);
        assert_eq!(a.headers, vec![("Allow".to_string(), "POST".to_string())]);
        let a = call(
            &ctx,
            "POST",
            &Soap.base_path(council),
            &[("content-type", "application/json"), SOAP_HEADERS[1]],
            good.as_bytes(),
        );
        assert_eq!(a.status, 415);
        let a = call(
            &ctx,
            "POST",
            &Soap.base_path(Org::BANES_COUNCIL),
            &SOAP_HEADERS,
            good.as_bytes(),
        );
        assert_eq!(a.status, 404);
        assert_eq!(fault_code(&a).1, "InvalidRequest");
        // the shared code's errors, in the protocol's form
        let a = Soap.error(500, "simulated failure (error_rate fault); try again");
        assert_eq!(
            fault_code(&a),
            ("soap:Server".into(), "InternalError".into())
        );
        let a = Soap.error(413, "too large");
        assert_eq!((a.status, fault_code(&a).1), (413, "InvalidRequest".into()));
    }

    #[test]
    fn the_request_reader_is_bounded_and_namespace_aware() {
        let deep = format!("{}{}", "<a>".repeat(40), "</a>".repeat(40));
        assert!(read_request(deep.as_bytes()).is_err());
        let wide = format!("<a>{}</a>", "<b/>".repeat(600));
        assert!(read_request(wide.as_bytes()).is_err());
        let long = format!("<a>{}</a>", "x".repeat(5000));
        assert!(read_request(long.as_bytes()).is_err());
        assert!(read_request(b"<p:a/>").is_err());
        // default namespaces and other prefixes
        let r = read_request(
            request_body("9990000018", &["Visits", "Person"])
                .replace("ps:", "x:")
                .replace("xmlns:ps=", "xmlns:x=")
                .as_bytes(),
        )
        .unwrap();
        assert_eq!(r.lists, vec![List::Visits]);
        assert_eq!(r.correlation_id.as_deref(), Some(CORRELATION));
        let r = read_request(
            br#"<Envelope xmlns="http://schemas.xmlsoap.org/soap/envelope/"><Body><GetPersonSummary xmlns="urn:icr:socialcare:personsummary:1"><NhsNumber>999 000 0018</NhsNumber><RequestedBy><Organisation>RN3</Organisation></RequestedBy></GetPersonSummary></Body></Envelope>"#,
        )
        .unwrap();
        assert_eq!(r.lists, List::ALL.to_vec());
        assert_eq!(r.nhs_number.as_str(), "9990000018");
    }

    #[tokio::test]
    async fn serves_over_http_with_the_shared_faults() {
        let council = Org::BANES_COUNCIL;
        let sim = Sim::start_with(SimConfig::only(SEED, SIZE, &[council]), with_soap)
            .await
            .unwrap();
        let url = sim.endpoint(council.id()).unwrap();
        assert!(url.ends_with("/Y9L03/PersonSummaryService/v1"), "{url}");
        let client = reqwest::Client::new();
        let held = sim
            .population()
            .iter()
            .find(|p| p.holding(council).is_some())
            .map(|p| p.nhs_number);
        let nhs = held.unwrap_or(NhsNumber::parse("9990000018").unwrap());
        let send = || {
            client
                .post(&url)
                .header("content-type", "text/xml; charset=utf-8")
                .header(
                    "soapaction",
                    "\"urn:icr:socialcare:personsummary:1/GetPersonSummary\"",
                )
                .body(request_body(nhs.as_str(), &[]))
                .send()
        };
        let r = send().await.unwrap();
        let status = r.status().as_u16();
        assert_eq!(r.headers()["content-type"], CONTENT_TYPE);
        assert_eq!(r.headers()["cache-control"], "no-store");
        let body = r.text().await.unwrap();
        if held.is_some() {
            assert_eq!(status, 200, "{body}");
            for list in LISTS {
                assert!(body.contains(&format!("<ps:{list}>")), "{list}");
            }
        } else {
            assert_eq!(status, 500);
        }
        // every request fails: a Server fault
        sim.set_fault(
            council.id(),
            Fault {
                error_rate: 1.0,
                ..Fault::default()
            },
        )
        .await
        .unwrap();
        let r = send().await.unwrap();
        assert_eq!(r.status().as_u16(), 500);
        let body = r.text().await.unwrap();
        assert!(
            body.contains("<faultcode>soap:Server</faultcode>"),
            "{body}"
        );
        assert!(body.contains("<ps:Code>InternalError</ps:Code>"), "{body}");
        // down: connections refused
        sim.set_fault(
            council.id(),
            Fault {
                down: true,
                ..Fault::default()
            },
        )
        .await
        .unwrap();
        assert!(send().await.is_err());
        sim.shutdown().await;
    }

    #[test]
    fn ods_codes_of_the_councils_are_paths() {
        for org in [
            Org::WILTSHIRE_COUNCIL,
            Org::SWINDON_COUNCIL,
            Org::BANES_COUNCIL,
        ] {
            assert!(OdsCode::parse(org.ods_code()).is_ok());
            assert_eq!(
                Soap.base_path(org),
                format!("/{}/PersonSummaryService/v1", org.ods_code())
            );
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

        #[test]
        fn never_panics_and_answers_a_contract_status(
            body in proptest::collection::vec(any::<u8>(), 0..1024),
            mangle in any::<bool>(),
            cut in any::<usize>(),
        ) {
            let council = Org::WILTSHIRE_COUNCIL;
            let ctx = ctx_cached();
            let data = if mangle {
                let good = request_body("9990000018", &["Alerts"]).into_bytes();
                let at = cut % good.len();
                let mut d = good[..at].to_vec();
                d.extend_from_slice(&body);
                d
            } else {
                body
            };
            let a = call(ctx, "POST", &Soap.base_path(council), &SOAP_HEADERS, &data);
            prop_assert!(matches!(a.status, 200 | 500), "{}", a.status);
            prop_assert_eq!(a.content_type.as_str(), CONTENT_TYPE);
            if a.status == 500 {
                prop_assert!(fault_code(&a).0.starts_with("soap:"));
            } else {
                prop_assert!(a.body.starts_with(b"<?xml"));
            }
        }
    }

    /// The registered modules, with this one (whether or not it is
    /// registered yet).
    fn with_soap(kind: Kind) -> Option<Module> {
        match kind {
            Kind::SoapXml => Some(Module::Http(&Soap)),
            other => crate::protocol::module(other),
        }
    }

    fn ctx_cached() -> &'static SourceCtx {
        static CTX: std::sync::OnceLock<SourceCtx> = std::sync::OnceLock::new();
        CTX.get_or_init(|| ctx(Org::WILTSHIRE_COUNCIL))
    }
}
