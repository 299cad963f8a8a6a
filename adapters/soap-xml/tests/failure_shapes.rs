//! Every way a council's person-summary service can say "I failed" — a
//! SOAP fault with HTTP 200 (as real services send them) or 500, a fault
//! with no code, a `PersonSummaryFault` outside a fault or inside the
//! answer, a SOAP 1.2 fault — and the outcome it must have: a failure
//! quoting the service's `faultstring`. Only a `soap:Client` fault coded
//! `PersonNotKnown`, for this request, is `not_found`. One loopback
//! service per row.

use std::time::Duration;

use icr_adapter_sdk::{FetchRequest, SourceError, SourceSpec};
use icr_model::*;
use icr_testkit::Mismatches;
use icr_testkit::serve::{self, Canned};
use tokio::time::Instant;

/// The correlation id of a request the gateway makes itself.
const SENT: &str = "00000000-0000-0000-0000-000000000000";

fn envelope(body: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>{body}</soap:Body></soap:Envelope>"#
    )
}

/// The contract's fault detail, with `code` and a correlation id.
fn detail(code: &str, correlation: &str) -> String {
    format!(
        r#"<ps:PersonSummaryFault xmlns:ps="urn:icr:socialcare:personsummary:1"><ps:Code>{code}</ps:Code><ps:CorrelationId>{correlation}</ps:CorrelationId></ps:PersonSummaryFault>"#
    )
}

/// A SOAP 1.1 fault of `class`, with a `faultstring` and, when given, the
/// contract's detail.
fn fault(class: &str, faultstring: &str, code: Option<&str>) -> String {
    let detail = code.map_or(String::new(), |c| {
        format!("<detail>{}</detail>", detail(c, SENT))
    });
    envelope(&format!(
        "<soap:Fault><faultcode>soap:{class}</faultcode><faultstring>{faultstring}</faultstring>{detail}</soap:Fault>"
    ))
}

/// The contract's example answer, for the request the gateway sends.
fn example() -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("schema/GetPersonSummary-response.xml");
    std::fs::read_to_string(path)
        .unwrap()
        .replace("5f0c8a52-4d1e-4b7a-9a53-2f9a8c1d7e01", SENT)
}

fn xml(status: u16, body: String) -> Canned {
    Canned::new(status, "text/xml; charset=utf-8", body)
}

/// What a row expects.
#[derive(Debug)]
enum Expect {
    Fails(SourceError),
    /// Answered with items, and this issue (one that loses data) among
    /// the issues.
    Partial(SourceIssue),
}

impl Expect {
    fn matches(&self, got: &Result<SourceRecord, SourceError>) -> bool {
        match (got, self) {
            (Err(e), Expect::Fails(x)) => e == x,
            (Ok(r), Expect::Partial(issue)) => {
                !r.items.is_empty() && r.issues.contains(issue) && issue.loses_data()
            }
            _ => false,
        }
    }
}

fn refused(message: &str) -> Expect {
    Expect::Fails(SourceError::Refused(message.into()))
}

fn http(status: u16, what: &str) -> Expect {
    Expect::Fails(SourceError::HttpStatus {
        status,
        what: what.into(),
    })
}

fn spec(addr: std::net::SocketAddr) -> SourceSpec {
    toml::from_str(&format!(
        r#"id = "wiltshire-asc"
organisation = "Wiltshire Council"
ods_code = "E06000054"
kind = "soap-xml"
endpoint = "http://{addr}/PersonSummaryService/v1"
sections = ["demographics", "contacts", "care_team", "alerts", "documents", "appointments"]
timeout_ms = 3000
"#
    ))
    .unwrap()
}

#[tokio::test]
async fn every_soap_failure_shape_is_a_failure_with_its_words_and_only_person_not_known_is_not_found()
 {
    let npe = "Object reference not set to an instance of an object.";
    let rows: Vec<(&str, Canned, Expect)> = vec![
        (
            "200 soap:Fault Server/InternalError",
            xml(200, fault("Server", npe, Some("InternalError"))),
            refused(
                "GetPersonSummary (SOAP fault Server/InternalError): the source said \"Object reference not set to an instance of an object.\"",
            ),
        ),
        (
            "500 soap:Fault Server/InternalError",
            xml(500, fault("Server", npe, Some("InternalError"))),
            http(
                500,
                "GetPersonSummary (SOAP fault Server/InternalError): the source said \"Object reference not set to an instance of an object.\"",
            ),
        ),
        (
            "200 soap:Fault Client/PersonNotKnown",
            xml(200, fault("Client", "No such person", Some("PersonNotKnown"))),
            Expect::Fails(SourceError::PatientNotFound),
        ),
        (
            "500 soap:Fault Client/PersonNotKnown",
            xml(500, fault("Client", "No such person", Some("PersonNotKnown"))),
            Expect::Fails(SourceError::PatientNotFound),
        ),
        (
            "500 soap:Fault Server/PersonNotKnown: the service says it failed",
            xml(500, fault("Server", "Lookup failed", Some("PersonNotKnown"))),
            http(
                500,
                "GetPersonSummary (SOAP fault Server/PersonNotKnown): the source said \"Lookup failed\"",
            ),
        ),
        (
            "500 PersonNotKnown for another request",
            xml(
                500,
                envelope(&format!(
                    "<soap:Fault><faultcode>soap:Client</faultcode><faultstring>No such person</faultstring><detail>{}</detail></soap:Fault>",
                    detail("PersonNotKnown", "11111111-2222-3333-4444-555555555555")
                )),
            ),
            Expect::Fails(SourceError::Malformed(
                "the fault's CorrelationId is not the one sent with the request".into(),
            )),
        ),
        (
            "200 soap:Fault with no code whose words say 'not found'",
            xml(
                200,
                fault("Client", "Person not found for this NHS number", None),
            ),
            refused(
                "GetPersonSummary (SOAP fault Client): the source said \"Person not found for this NHS number\"",
            ),
        ),
        (
            "200 soap:Fault Client/AccessDenied",
            xml(
                200,
                fault("Client", "Requester not authorised", Some("AccessDenied")),
            ),
            refused(
                "GetPersonSummary: access denied to this requester (SOAP fault Client/AccessDenied): the source said \"Requester not authorised\"",
            ),
        ),
        (
            "500 soap:Fault Client/InvalidRequest",
            xml(
                500,
                fault("Client", "Include is not a Part", Some("InvalidRequest")),
            ),
            http(
                500,
                "GetPersonSummary: the service refused the request as invalid (SOAP fault Client/InvalidRequest): the source said \"Include is not a Part\"",
            ),
        ),
        (
            "200 soap:Fault Server/ServiceUnavailable",
            xml(
                200,
                fault(
                    "Server",
                    "Down for maintenance until 22:00",
                    Some("ServiceUnavailable"),
                ),
            ),
            Expect::Fails(SourceError::Unavailable(
                "GetPersonSummary: the service reports itself unavailable (SOAP fault Server/ServiceUnavailable): the source said \"Down for maintenance until 22:00\"".into(),
            )),
        ),
        (
            "200 Body holding a PersonSummaryFault outside a soap:Fault",
            xml(200, envelope(&detail("InternalError", SENT))),
            refused("GetPersonSummary (PersonSummaryFault InternalError outside a SOAP fault)"),
        ),
        (
            "200 Body holding PersonNotKnown outside a soap:Fault: not clearly 'not known'",
            xml(200, envelope(&detail("PersonNotKnown", SENT))),
            refused("GetPersonSummary (PersonSummaryFault PersonNotKnown outside a SOAP fault)"),
        ),
        (
            "200 answer holding a PersonSummaryFault and no Person",
            xml(
                200,
                envelope(&format!(
                    r#"<ps:GetPersonSummaryResponse xmlns:ps="urn:icr:socialcare:personsummary:1"><ps:CorrelationId>{SENT}</ps:CorrelationId>{}</ps:GetPersonSummaryResponse>"#,
                    detail("InternalError", SENT)
                )),
            ),
            refused("GetPersonSummary (PersonSummaryFault InternalError outside a SOAP fault)"),
        ),
        (
            "200 answer with its lists and a PersonSummaryFault beside them",
            xml(
                200,
                example().replace(
                    "<ps:Allocations>",
                    &format!("{}<ps:Allocations>", detail("InternalError", SENT)),
                ),
            ),
            Expect::Partial(SourceIssue {
                kind: IssueKind::SectionFailed,
                section: None,
                message: "the service reported a fault beside its answer (PersonSummaryFault InternalError outside a SOAP fault); some of what it holds may be missing".into(),
            }),
        ),
        (
            "200 answer missing a list asked for",
            xml(
                200,
                {
                    let full = example();
                    let start = full.find("<ps:Alerts").unwrap();
                    let end = full.find("</ps:Alerts>").unwrap() + "</ps:Alerts>".len();
                    format!("{}{}", &full[..start], &full[end..])
                },
            ),
            Expect::Partial(SourceIssue {
                kind: IssueKind::SectionFailed,
                section: Some(Section::Alerts),
                message: "the answer has no Alerts list, so its alerts are missing".into(),
            }),
        ),
        (
            "200 SOAP 1.2 fault",
            xml(
                200,
                r#"<env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope"><env:Body><env:Fault><env:Code><env:Value>env:Receiver</env:Value></env:Code><env:Reason><env:Text xml:lang="en">Service failure</env:Text></env:Reason></env:Fault></env:Body></env:Envelope>"#.into(),
            ),
            refused(
                "GetPersonSummary (a SOAP 1.2 fault from a SOAP 1.1 service): the source said \"Service failure\"",
            ),
        ),
        (
            "200 HTML error page",
            Canned::new(200, "text/html", "<html><body>Service unavailable</body></html>"),
            Expect::Fails(SourceError::Malformed(
                "the answer is not a SOAP 1.1 envelope".into(),
            )),
        ),
        (
            "500 HTML error page",
            Canned::new(500, "text/html", "<html><body>Server Error</body></html>"),
            http(500, "GetPersonSummary"),
        ),
    ];
    let nhs = NhsNumber::parse("9990000018").unwrap();
    let wanted: SectionSet = [
        Section::Demographics,
        Section::Contacts,
        Section::CareTeam,
        Section::Alerts,
        Section::Documents,
        Section::Appointments,
    ]
    .into_iter()
    .collect();
    let mut wrong = Mismatches::default();
    for (name, answer, expected) in rows {
        let addr = serve::http(move |_| answer.clone()).await.addr;
        let council = icr_adapter_soap_xml::build(&spec(addr)).unwrap();
        let got = council
            .fetch(&FetchRequest::system(
                nhs,
                wanted,
                Instant::now() + Duration::from_secs(5),
            ))
            .await;
        let right = expected.matches(&got);
        wrong.check(
            name,
            right,
            got.map(|r| (r.items.len(), r.issues)),
            expected,
        );
    }
    wrong.assert_none();
}
