//! The contract's example messages, read and mapped field by field; XML
//! edge cases (prefixes, default namespaces, CDATA, entities, order,
//! unknown elements, whitespace); hostile documents refused.

use std::sync::Arc;

use icr_adapter_sdk::SourceError;
use icr_adapter_soap_xml::answer::{Expected, ReadLimits, read_answer};
use icr_adapter_soap_xml::xml::{Element, Limits, Ns, parse};
use icr_model::*;

const NHS: &str = "9990000018";
const CORRELATION: &str = "5f0c8a52-4d1e-4b7a-9a53-2f9a8c1d7e01";
const SERVICE_TYPE: &str = "urn:icr:socialcare:personsummary:1:service-type";

fn schema_file(name: &str) -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("schema")
        .join(name);
    std::fs::read(path).unwrap()
}

fn meta() -> Arc<SourceMeta> {
    Arc::new(SourceMeta {
        id: SourceId::parse("wiltshire-sc").unwrap(),
        organisation: "Wiltshire Council".into(),
        ods_code: OdsCode::parse("E06000054").unwrap(),
        system: "Adult social care (SOAP)".into(),
    })
}

fn expected(sections: SectionSet) -> Expected<'static> {
    Expected {
        nhs_number: NhsNumber::parse(NHS).unwrap(),
        correlation_id: CORRELATION,
        sections,
    }
}

fn read_with(status: u16, body: &[u8], sections: SectionSet) -> Result<SourceRecord, SourceError> {
    read_answer(
        status,
        body,
        &expected(sections),
        &ReadLimits::default(),
        &meta(),
    )
}

fn read(body: &[u8]) -> Result<SourceRecord, SourceError> {
    read_with(200, body, SectionSet::all())
}

fn d(s: &str) -> PartialDateTime {
    PartialDateTime::parse(s).unwrap()
}

fn ts(s: &str) -> icr_model::time::OffsetDateTime {
    match d(s) {
        PartialDateTime::DateTime(t) => t,
        other => panic!("{other:?}"),
    }
}

fn coding(system: &str, code: &str, display: &str) -> Concept {
    Concept::coded(Coding::new(CodeSystem::from_uri(system), code, display))
}

fn sct(code: &str, display: &str) -> Concept {
    coding("http://snomed.info/sct", code, display)
}

fn phone(value: &str, use_: Option<ContactUse>) -> Telecom {
    Telecom {
        system: TelecomSystem::Phone,
        value: value.into(),
        use_,
    }
}

fn item<'a>(record: &'a SourceRecord, local: &str) -> &'a Item {
    record
        .items
        .iter()
        .find(|i| i.provenance.record.local() == local)
        .unwrap_or_else(|| panic!("no item {local}"))
}

#[test]
fn example_response_maps_field_by_field() {
    let record = read(&schema_file("GetPersonSummary-response.xml")).unwrap();

    // demographics
    let patient = record.patient.as_ref().unwrap();
    assert_eq!(
        patient.provenance.record.to_string(),
        "wiltshire-sc:Person/P-204117"
    );
    assert_eq!(
        patient.provenance.last_updated,
        Some(ts("2025-05-14T09:12:00Z"))
    );
    assert_eq!(patient.provenance.origin.organisation, "Wiltshire Council");
    assert_eq!(
        patient.demographics,
        Demographics {
            nhs_number: Some(NhsNumber::parse(NHS).unwrap()),
            names: vec![
                HumanName {
                    use_: Some(NameUse::Official),
                    prefix: vec!["Mrs".into()],
                    given: vec!["Margaret".into(), "Rose".into()],
                    family: Some("Ashdown".into()),
                    text: None,
                },
                HumanName {
                    use_: Some(NameUse::Nickname),
                    given: vec!["Peggy".into()],
                    ..HumanName::default()
                },
            ],
            birth_date: Some(d("1938-04-12")),
            gender: Some(Gender::Female),
            addresses: vec![Address {
                use_: Some(ContactUse::Home),
                lines: vec!["12 Orchard Close".into(), "Hardenhuish".into()],
                city: Some("Chippenham".into()),
                district: Some("Wiltshire".into()),
                postcode: Some("SN15 9ZZ".into()),
                country: None,
            }],
            telecom: vec![phone("01632 960001", Some(ContactUse::Home))],
            deceased: None,
            registered_practice: None,
            sensitive: false,
        }
    );

    // every record, in list order, with its id
    let ids: Vec<&str> = record
        .items
        .iter()
        .map(|i| i.provenance.record.local())
        .collect();
    assert_eq!(
        ids,
        [
            "Allocation/AL-88213",
            "Service/SV-30451",
            "Service/SV-29980",
            "Service/SV-31002",
            "Service/SV-33870",
            "Contact/CT-5521",
            "Contact/CT-5522",
            "Alert/AT-1207",
            "Alert/AT-0934",
            "Document/DOC-77102",
            "Document/DOC-76540",
            "Document/DOC-79013",
            "Visit/VS-900311",
            "Visit/VS-900312",
            "Visit/VS-900420",
        ]
    );

    // the allocated worker and team
    let allocation = item(&record, "Allocation/AL-88213");
    assert_eq!(
        allocation.provenance.last_updated,
        Some(ts("2024-02-05T14:30:00Z"))
    );
    assert_eq!(
        allocation.entry,
        Entry::CareTeam(CareTeam {
            name: Some("Adult Care Chippenham Locality Team".into()),
            status: Some(CareTeamStatus::Active),
            category: vec![coding(
                "urn:icr:socialcare:personsummary:1:team-type",
                "locality-team",
                "Adult social care locality team"
            )],
            period_start: Some(d("2024-02-05")),
            period_end: None,
            participants: vec![CareTeamMember {
                roles: vec![sct("106328005", "Social worker")],
                name: Some("Priya Raman".into()),
            }],
            managing_organisations: vec![],
            telecom: vec![
                phone("01632 960100", Some(ContactUse::Work)),
                phone("01632 960101", Some(ContactUse::Work)),
            ],
        })
    );

    // services
    assert_eq!(
        item(&record, "Service/SV-30451").entry,
        Entry::CareTeam(CareTeam {
            name: Some("Home care, four calls a day".into()),
            status: Some(CareTeamStatus::Active),
            category: vec![coding(SERVICE_TYPE, "home-care", "Home care")],
            period_start: Some(d("2024-03-01")),
            period_end: None,
            participants: vec![],
            managing_organisations: vec!["Meadowbank Care Ltd".into()],
            telecom: vec![phone("01632 960202", Some(ContactUse::Work))],
        })
    );
    assert_eq!(
        item(&record, "Service/SV-29980").entry,
        Entry::CareTeam(CareTeam {
            name: None,
            status: Some(CareTeamStatus::Inactive),
            category: vec![coding(SERVICE_TYPE, "reablement", "Reablement")],
            period_start: Some(d("2024-01-10")),
            period_end: Some(d("2024-02-28")),
            managing_organisations: vec!["Wiltshire Council Reablement Service".into()],
            ..CareTeam::default()
        })
    );
    let Entry::CareTeam(respite) = &item(&record, "Service/SV-33870").entry else {
        panic!()
    };
    assert_eq!(respite.status, Some(CareTeamStatus::Proposed));
    assert_eq!(respite.category[0].label(), Some("Respite care"));

    // contacts: relationship (SNOMED CT) then the roles
    assert_eq!(
        item(&record, "Contact/CT-5521").entry,
        Entry::Contact(Contact {
            name: HumanName {
                use_: Some(NameUse::Official),
                prefix: vec!["Mrs".into()],
                given: vec!["Susan".into()],
                family: Some("Clarke".into()),
                text: None,
            },
            relationship: vec![
                sct("66089001", "Daughter"),
                coding(
                    "http://terminology.hl7.org/CodeSystem/v2-0131",
                    "N",
                    "Next-of-Kin"
                ),
                sct("407543004", "Primary caregiver"),
            ],
            telecom: vec![
                phone("07700 900123", Some(ContactUse::Mobile)),
                Telecom {
                    system: TelecomSystem::Email,
                    value: "susan.clarke@example.org".into(),
                    use_: Some(ContactUse::Home),
                },
            ],
            address: Some(Address {
                use_: Some(ContactUse::Home),
                lines: vec!["4 Mill Lane".into()],
                city: Some("Corsham".into()),
                postcode: Some("SN13 9ZZ".into()),
                ..Address::default()
            }),
            active: Some(true),
            period_start: Some(d("2019-06-01")),
        })
    );
    assert_eq!(
        item(&record, "Contact/CT-5522").entry,
        Entry::Contact(Contact {
            name: HumanName {
                given: vec!["Derek".into()],
                family: Some("Hollis".into()),
                ..HumanName::default()
            },
            relationship: vec![
                Concept::text("Neighbour"),
                coding(
                    "urn:icr:socialcare:personsummary:1:contact-role",
                    "key-holder",
                    "Key holder"
                ),
                coding(
                    "http://terminology.hl7.org/CodeSystem/v2-0131",
                    "C",
                    "Emergency Contact"
                ),
            ],
            telecom: vec![phone("01632 960404", Some(ContactUse::Home))],
            ..Contact::default()
        })
    );

    // alerts: the description is the alert's text, whom to contact its
    // author; the safeguarding alert is restricted, and only it
    let restricted: Vec<&str> = record
        .items
        .iter()
        .filter(|i| i.provenance.restricted)
        .map(|i| i.provenance.record.local())
        .collect();
    assert_eq!(restricted, ["Alert/AT-1207"]);
    assert_eq!(
        item(&record, "Alert/AT-1207").entry,
        Entry::Alert(Alert {
            code: Concept {
                codings: vec![Coding::new(CodeSystem::Snomed, "417430008", "Vulnerable adult")],
                text: Some("Section 42 enquiry open: concern about financial abuse by a third party. Speak to the allocated worker before discussing money or visitors with anyone at the home.".into()),
            },
            status: Some(AlertStatus::Active),
            category: vec![coding(
                "urn:icr:socialcare:personsummary:1:alert-category",
                "safeguarding-adults",
                "Safeguarding adults"
            )],
            period_start: Some(d("2025-05-14")),
            period_end: None,
            author: Some("Priya Raman, Social worker, 01632 960101".into()),
        })
    );
    let Entry::Alert(falls) = &item(&record, "Alert/AT-0934").entry else {
        panic!()
    };
    assert_eq!(falls.code, sct("129839007", "At risk for falls"));
    assert_eq!(
        falls.author.as_deref(),
        Some("Adult Care Chippenham Locality Team, 01632 960100")
    );

    // documents: the link kept, a draft shown without a status
    assert_eq!(
        item(&record, "Document/DOC-77102").entry,
        Entry::Document(Document {
            doc_type: sct("734163000", "Care plan"),
            category: vec![],
            title: Some("Care and support plan".into()),
            status: Some(DocumentStatus::Current),
            date: Some(d("2024-03-01")),
            authors: vec!["Priya Raman".into()],
            content: vec![Attachment {
                content_type: Some("application/pdf".into()),
                url: Some("https://socialcare.wiltshire.example/documents/DOC-77102".into()),
                ..Attachment::default()
            }],
            text: None,
            care_plan: None,
        })
    );
    let Entry::Document(draft) = &item(&record, "Document/DOC-79013").entry else {
        panic!()
    };
    assert_eq!(draft.status, None);
    assert!(draft.content.is_empty());
    assert_eq!(
        draft.doc_type,
        coding(
            "urn:icr:socialcare:personsummary:1:document-type",
            "carers-assessment",
            "Carer's assessment"
        )
    );

    // visits
    assert_eq!(
        item(&record, "Visit/VS-900312").entry,
        Entry::Appointment(Appointment {
            kind: Some(AppointmentKind::Appointment),
            status: Some(AppointmentStatus::Booked),
            class: None,
            service_type: vec![coding(SERVICE_TYPE, "home-care", "Home care")],
            description: None,
            start: Some(d("2025-06-02T08:00:00+01:00")),
            end: Some(d("2025-06-02T08:45:00+01:00")),
            location: Some("Home".into()),
            participants: vec![
                "Tom Evans (Meadowbank Care)".into(),
                "Aisha Patel (Meadowbank Care)".into()
            ],
            reasons: vec![],
        })
    );
    let Entry::Appointment(missed) = &item(&record, "Visit/VS-900311").entry else {
        panic!()
    };
    assert_eq!(missed.status, Some(AppointmentStatus::Noshow));
    let Entry::Appointment(review) = &item(&record, "Visit/VS-900420").entry else {
        panic!()
    };
    assert_eq!(
        review.description.as_deref(),
        Some("Review of the care and support plan")
    );

    // the one withheld alert is said, and nothing else is
    assert_eq!(
        record.issues,
        vec![SourceIssue {
            kind: IssueKind::Withheld,
            section: Some(Section::Alerts),
            message: "the council withheld 1 Alert record(s) from this requester".into(),
        }]
    );
    assert_eq!(
        record.wire_bytes,
        schema_file("GetPersonSummary-response.xml").len()
    );
}

#[test]
fn only_the_wanted_sections_are_taken() {
    let body = schema_file("GetPersonSummary-response.xml");
    let record = read_with(200, &body, [Section::Alerts].into_iter().collect()).unwrap();
    assert!(record.patient.is_none());
    assert_eq!(record.items.len(), 2);
    assert!(
        record
            .items
            .iter()
            .all(|i| i.entry.section() == Section::Alerts)
    );
    // sections a person summary does not hold are not asked for, and not missing
    let record = read_with(
        200,
        &body,
        [Section::Medications, Section::Demographics]
            .into_iter()
            .collect(),
    )
    .unwrap();
    assert!(record.patient.is_some());
    assert!(record.items.is_empty());
    assert!(record.issues.is_empty());
}

#[test]
fn the_example_request_is_what_the_adapter_writes() {
    use icr_adapter_sdk::{RequestContext, Requester};
    use icr_adapter_soap_xml::request::{PersonSummaryRequest, write_request};
    let context = RequestContext {
        trace_id: CORRELATION.into(),
        requester: Requester {
            user_id: "555021935107".into(),
            name: "Dr Alex Morgan".into(),
            role: "R8000".into(),
            organisation: OdsCode::parse("RN3").unwrap(),
            purpose: "directcare".into(),
        },
    };
    let written = write_request(&PersonSummaryRequest {
        nhs_number: NhsNumber::parse(NHS).unwrap(),
        context: &context,
        sections: SectionSet::all(),
    })
    .unwrap();
    assert_eq!(
        String::from_utf8(written).unwrap(),
        String::from_utf8(schema_file("GetPersonSummary-request.xml")).unwrap()
    );
}

#[test]
fn example_fault_is_person_not_found() {
    let body = schema_file("fault.xml");
    assert_eq!(
        read_with(500, &body, SectionSet::all()),
        Err(SourceError::PatientNotFound)
    );
    // a fault sent with 200 is still a fault
    assert_eq!(
        read_with(200, &body, SectionSet::all()),
        Err(SourceError::PatientNotFound)
    );
}

// ---- XML edge cases ----

/// A response envelope around `inner` (the response element's children),
/// with the person asked for.
fn envelope(inner: &str) -> String {
    format!(
        r#"<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><ps:GetPersonSummaryResponse xmlns:ps="urn:icr:socialcare:personsummary:1"><ps:Person id="p"><ps:NhsNumber>{NHS}</ps:NhsNumber></ps:Person>{inner}</ps:GetPersonSummaryResponse></soap:Body></soap:Envelope>"#
    )
}

fn only_entry(body: &str) -> Entry {
    let record = read(body.as_bytes()).unwrap();
    assert_eq!(record.items.len(), 1, "{:?}", record.items);
    record.items.into_iter().next().unwrap().entry
}

#[test]
fn any_prefixes_and_default_namespaces() {
    let alert = Entry::Alert(Alert {
        code: sct("417430008", "Vulnerable adult"),
        status: Some(AlertStatus::Active),
        ..Alert::default()
    });
    let bodies = [
        // prefixes other than the contract's
        format!(
            r#"<S:Envelope xmlns:S="http://schemas.xmlsoap.org/soap/envelope/"><S:Body><x:GetPersonSummaryResponse xmlns:x="urn:icr:socialcare:personsummary:1"><x:Person id="p"><x:NhsNumber>{NHS}</x:NhsNumber></x:Person><x:Alerts><x:Alert id="a"><x:Type code="417430008" system="http://snomed.info/sct">Vulnerable adult</x:Type><x:Status>active</x:Status></x:Alert></x:Alerts></x:GetPersonSummaryResponse></S:Body></S:Envelope>"#
        ),
        // default namespaces, for the envelope and for the response
        format!(
            r#"<Envelope xmlns="http://schemas.xmlsoap.org/soap/envelope/"><Body><GetPersonSummaryResponse xmlns="urn:icr:socialcare:personsummary:1"><Person id="p"><NhsNumber>{NHS}</NhsNumber></Person><Alerts><Alert id="a"><Type code="417430008" system="http://snomed.info/sct">Vulnerable adult</Type><Status>active</Status></Alert></Alerts></GetPersonSummaryResponse></Body></Envelope>"#
        ),
        // namespaces declared on the root, the prefix rebound lower down
        format!(
            r#"<a:Envelope xmlns:a="http://schemas.xmlsoap.org/soap/envelope/" xmlns:b="urn:icr:socialcare:personsummary:1"><a:Body><b:GetPersonSummaryResponse><b:Person id="p"><b:NhsNumber>{NHS}</b:NhsNumber></b:Person><a:Alerts xmlns:a="urn:icr:socialcare:personsummary:1"><a:Alert id="a"><a:Type code="417430008" system="http://snomed.info/sct">Vulnerable adult</a:Type><b:Status>active</b:Status></a:Alert></a:Alerts></b:GetPersonSummaryResponse></a:Body></a:Envelope>"#
        ),
        // attributes before or after namespace declarations, children in any
        // order, a SOAP Header, comments and processing instructions
        format!(
            r#"<?xml version="1.0"?><!-- c --><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Header><h:Trace xmlns:h="urn:h">1</h:Trace></soap:Header><soap:Body><?pi x?><GetPersonSummaryResponse xmlns="urn:icr:socialcare:personsummary:1"><Alerts><Alert><Status>active</Status><!-- c --><Type system="http://snomed.info/sct" code="417430008">Vulnerable adult</Type></Alert></Alerts><Person id="p"><NhsNumber>{NHS}</NhsNumber></Person></GetPersonSummaryResponse></soap:Body></soap:Envelope>"#
        ),
    ];
    for body in &bodies {
        assert_eq!(only_entry(body), alert, "{body}");
    }
}

#[test]
fn cdata_entities_and_whitespace() {
    let body = envelope(
        r#"<ps:Alerts>
            <ps:Alert id="a">
                <ps:Type>
                    Risk &amp; safety &#8212; &#x201C;visit in pairs&#x201D; &lt;always&gt;
                </ps:Type>
                <ps:Description><![CDATA[Dog at the property <large> & "nervous"]]> &apos;Rex&apos;</ps:Description>
                <ps:Start>
                    2024-02-05
                </ps:Start>
            </ps:Alert>
        </ps:Alerts>"#,
    );
    assert_eq!(
        only_entry(&body),
        Entry::Alert(Alert {
            code: Concept {
                codings: vec![],
                text: Some("Dog at the property <large> & \"nervous\" 'Rex'".into()),
            },
            period_start: Some(d("2024-02-05")),
            ..Alert::default()
        })
    );
    // the type's text stands when there is no description
    let body = envelope(
        "<ps:Alerts><ps:Alert id=\"a\"><ps:Type>\r\n Risk &amp; safety &#8212; &#x201C;visit in pairs&#x201D;\r\n</ps:Type></ps:Alert></ps:Alerts>",
    );
    let Entry::Alert(a) = only_entry(&body) else {
        panic!()
    };
    assert_eq!(
        a.code.text.as_deref(),
        Some("Risk & safety \u{2014} \u{201C}visit in pairs\u{201D}")
    );
}

#[test]
fn unknown_elements_are_ignored_and_counted() {
    let body = envelope(
        r#"<ps:Religion>kept out</ps:Religion>
        <x:Audit xmlns:x="urn:council:audit"><x:By>someone</x:By></x:Audit>
        <ps:Alerts><ps:Alert id="a"><ps:Type>Risk</ps:Type><ps:Severity>high</ps:Severity><v:Ext xmlns:v="urn:v"/></ps:Alert></ps:Alerts>"#,
    );
    let record = read(body.as_bytes()).unwrap();
    assert_eq!(record.items.len(), 1);
    assert!(record.issues.contains(&SourceIssue {
        kind: IssueKind::Note,
        section: None,
        message: "2 element(s) of the person-summary namespace that this adapter does not know were ignored (the service may be newer than the adapter)".into(),
    }), "{:?}", record.issues);
    assert!(!record.issues.iter().any(|i| i.message.contains("kept out")));
}

#[test]
fn what_cannot_be_read_is_left_out_and_said() {
    let body = envelope(
        r#"<ps:Alerts>
            <ps:Alert id="ok"><ps:Type>Risk</ps:Type><ps:Start>not a date</ps:Start><ps:Status>severe</ps:Status></ps:Alert>
            <ps:Alert id="no-type"><ps:Description>x</ps:Description></ps:Alert>
            <ps:Alert id="ok"><ps:Type>Again</ps:Type></ps:Alert>
            <ps:Alert id="r" restricted="yes"><ps:Type>Restricted, unclearly</ps:Type></ps:Alert>
            <ps:Alert><ps:Type code="X1">Coded without a system</ps:Type></ps:Alert>
        </ps:Alerts>
        <ps:Documents moreAvailable="true">
            <ps:Document id="d1"><ps:Type>Letter</ps:Type><ps:Url>javascript:alert(1)</ps:Url></ps:Document>
        </ps:Documents>"#,
    );
    let sections = [Section::Alerts, Section::Documents, Section::CareTeam]
        .into_iter()
        .collect();
    let record = read_with(200, body.as_bytes(), sections).unwrap();
    let ids: Vec<&str> = record
        .items
        .iter()
        .map(|i| i.provenance.record.local())
        .collect();
    assert_eq!(ids, ["Alert/ok", "Alert/r", "Alert/#5", "Document/d1"]);
    // a restricted label that cannot be read restricts
    assert!(record.items[1].provenance.restricted);
    assert!(!record.items[0].provenance.restricted);
    let Entry::Alert(positional) = &record.items[2].entry else {
        panic!()
    };
    assert_eq!(positional.code, Concept::text("Coded without a system"));
    let issue = |kind, section, message: &str| SourceIssue {
        kind,
        section: Some(section),
        message: message.into(),
    };
    assert_eq!(
        record.issues,
        vec![
            issue(
                IssueKind::SectionFailed,
                Section::CareTeam,
                "the answer has no Allocations list, so its care_team are missing"
            ),
            issue(
                IssueKind::SectionFailed,
                Section::CareTeam,
                "the answer has no Services list, so its care_team are missing"
            ),
            issue(
                IssueKind::Unreadable,
                Section::Alerts,
                "1 Alert record(s) lacked what the contract requires and were left out"
            ),
            issue(
                IssueKind::Unreadable,
                Section::Alerts,
                "1 Alert record(s) repeated an id already read and were left out"
            ),
            issue(
                IssueKind::Note,
                Section::Alerts,
                "1 Alert record(s) had no usable id; positional ids were used"
            ),
            issue(
                IssueKind::Note,
                Section::Alerts,
                "1 Alert date(s) could not be read and were left out"
            ),
            issue(
                IssueKind::Note,
                Section::Alerts,
                "3 Alert coded value(s) were not of the contract (unknown status or code without a system) and were left out"
            ),
            issue(
                IssueKind::Note,
                Section::Documents,
                "1 Document link(s) were not absolute http or https URLs and were left out"
            ),
            issue(
                IssueKind::Truncated,
                Section::Documents,
                "the council returned only part of its Documents list"
            ),
        ]
    );
}

#[test]
fn the_item_limit_truncates() {
    let alerts: String = (0..5)
        .map(|n| format!("<ps:Alert id=\"a{n}\"><ps:Type>Risk {n}</ps:Type></ps:Alert>"))
        .collect();
    let body = envelope(&format!("<ps:Alerts>{alerts}</ps:Alerts>"));
    let record = read_answer(
        200,
        body.as_bytes(),
        &expected([Section::Alerts].into_iter().collect()),
        &ReadLimits {
            max_items: 3,
            ..ReadLimits::default()
        },
        &meta(),
    )
    .unwrap();
    assert_eq!(record.items.len(), 3);
    assert_eq!(
        record.issues,
        vec![SourceIssue {
            kind: IssueKind::Truncated,
            section: Some(Section::Alerts),
            message: "2 Alert record(s) beyond the limit of 3 items were not read".into(),
        }]
    );
}

#[test]
fn a_confidential_person_is_sensitive() {
    let body = format!(
        r#"<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><ps:GetPersonSummaryResponse xmlns:ps="urn:icr:socialcare:personsummary:1"><ps:Person id="p" confidential="true"><ps:NhsNumber>{NHS}</ps:NhsNumber><ps:DeathDate>2025-01</ps:DeathDate></ps:Person></ps:GetPersonSummaryResponse></soap:Body></soap:Envelope>"#
    );
    let record = read(body.as_bytes()).unwrap();
    let demographics = &record.patient.unwrap().demographics;
    assert!(demographics.sensitive);
    assert_eq!(demographics.deceased, Some(Deceased::At(d("2025-01"))));
}

#[test]
fn answers_not_about_this_person_or_request_are_refused() {
    let with_person = |person: &str, correlation: &str| {
        format!(
            r#"<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><ps:GetPersonSummaryResponse xmlns:ps="urn:icr:socialcare:personsummary:1">{correlation}{person}</ps:GetPersonSummaryResponse></soap:Body></soap:Envelope>"#
        )
    };
    let other = NhsNumber::from_first_nine(999_000_002).unwrap();
    let cases = [
        (
            with_person("", ""),
            "the answer has no Person, so it cannot be shown to be about the person asked for",
        ),
        (
            with_person("<ps:Person id=\"p\"/>", ""),
            "the answer's Person has no NHS number",
        ),
        (
            with_person(
                "<ps:Person id=\"p\"><ps:NhsNumber>9990000019</ps:NhsNumber></ps:Person>",
                "",
            ),
            "the answer's Person has an NHS number that is not valid",
        ),
        (
            with_person(
                &format!("<ps:Person id=\"p\"><ps:NhsNumber>{other}</ps:NhsNumber></ps:Person>"),
                "",
            ),
            "the answer's Person has another NHS number than the one asked for",
        ),
        (
            with_person(
                &format!("<ps:Person id=\"p\"><ps:NhsNumber>{NHS}</ps:NhsNumber></ps:Person>"),
                "<ps:CorrelationId>another</ps:CorrelationId>",
            ),
            "the answer's CorrelationId is not the one sent with the request",
        ),
    ];
    for (body, message) in cases {
        // Another NHS number is proof of a wrong-patient answer.
        let expected = if message.contains("another NHS number") {
            SourceError::IdentityMismatch(message.into())
        } else {
            SourceError::Malformed(message.into())
        };
        assert_eq!(read(body.as_bytes()), Err(expected), "{body}");
    }
    // the number may be written in groups
    let spaced = with_person(
        "<ps:Person id=\"p\"><ps:NhsNumber>999 000 0018</ps:NhsNumber></ps:Person>",
        "",
    );
    assert!(read(spaced.as_bytes()).is_ok());
}

#[test]
fn hostile_documents_are_refused_without_expansion() {
    let xxe = format!(
        r#"<?xml version="1.0"?><!DOCTYPE soap:Envelope [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>{}"#,
        envelope("<ps:Alerts><ps:Alert id=\"a\"><ps:Type>&xxe;</ps:Type></ps:Alert></ps:Alerts>")
    );
    let laughs = r#"<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<lolz>&lol9;</lolz>"#;
    let doctype_message = "malformed response: GetPersonSummary answer: a DOCTYPE is not accepted (document type and entity declarations are refused)";
    for body in [xxe.as_str(), laughs] {
        let err = read(body.as_bytes()).unwrap_err();
        assert_eq!(err.to_string(), doctype_message);
    }
    // an entity used without any declaration is refused, not left as text
    let undeclared =
        envelope("<ps:Alerts><ps:Alert id=\"a\"><ps:Type>&xxe;</ps:Type></ps:Alert></ps:Alerts>");
    let err = read(undeclared.as_bytes()).unwrap_err();
    assert!(
        err.to_string()
            .contains("is not one of the five predefined XML entities"),
        "{err}"
    );
    // a DOCTYPE in an HTTP 500 answer is an HTTP error, never read further
    assert_eq!(
        read_with(500, laughs.as_bytes(), SectionSet::all()),
        Err(SourceError::HttpStatus {
            status: 500,
            what: "GetPersonSummary".into()
        })
    );
}

#[test]
fn messages_never_quote_the_document() {
    let secret = "Jane Q Testperson 9990000018";
    let bodies = [
        format!("<a>{secret}</b>"),
        format!("<a>{secret}&unknown;</a>"),
        format!("<a x='{secret}' x='1'/>"),
        format!("<{secret}>"),
        format!("<p:a xmlns:q='u'>{secret}</p:a>"),
        format!("<a>{secret}</a><b/>"),
        format!("<a>{secret}&#xD800;</a>"),
    ];
    for body in &bodies {
        let err = read(body.as_bytes()).unwrap_err().to_string();
        assert!(!err.contains("Jane") && !err.contains("999000"), "{err}");
    }
}

#[test]
fn the_tree_reader_is_usable_alone() {
    let root: Element = parse(
        b"<r xmlns='urn:icr:socialcare:personsummary:1'><a>1</a><a>2</a></r>",
        &Limits::default(),
    )
    .unwrap();
    let values: Vec<&str> = root
        .children_named(Ns::PersonSummary, "a")
        .filter_map(Element::value)
        .collect();
    assert_eq!(values, ["1", "2"]);
}
