//! The adapter against the simulated out-of-hours service (`icr_sim::cda`)
//! over real HTTP, and the round trip model → CDA (the simulator's
//! writer) → model.

use std::sync::LazyLock;
use std::time::Duration;

use icr_adapter_cda::KIND;
use icr_adapter_cda::cda::{ReadLimits, read};
use icr_adapter_cda::map::{Identity, Origin, check_identity, map_document};
use icr_adapter_sdk::{FetchRequest, Registry, SourceAdapter, SourceError, SourceSpec};
use icr_model::time::{Date, Month, PrimitiveDateTime, Time, UtcOffset};
use icr_model::*;
use icr_sim::cda::{Block, Report, ReportSection, local_id_root, organisation, write};
use icr_sim::{Fault, Org, Population, Sim, SimConfig};
use proptest::prelude::*;
use proptest::sample::select;
use tokio::time::Instant;

const SEED: u64 = 20261101;
const SIZE: usize = 300;

static POP: LazyLock<Population> = LazyLock::new(|| Population::generate(SEED, SIZE));

fn spec(endpoint: &str) -> SourceSpec {
    toml::from_str(&format!(
        r#"id = "medvivo"
organisation = "Medvivo"
ods_code = "Y9U01"
kind = "cda"
system = "Medvivo out-of-hours documents (CDA)"
endpoint = "{endpoint}"
sections = ["documents", "appointments"]
timeout_ms = 5000
"#
    ))
    .unwrap()
}

fn adapter(endpoint: &str) -> std::sync::Arc<dyn SourceAdapter> {
    let mut registry = Registry::new();
    registry.register(&KIND);
    registry.build(&spec(endpoint)).unwrap()
}

fn request(nhs: NhsNumber) -> FetchRequest {
    FetchRequest::system(
        nhs,
        [Section::Documents, Section::Appointments]
            .into_iter()
            .collect(),
        Instant::now() + Duration::from_secs(5),
    )
}

#[tokio::test]
async fn reads_what_the_simulated_service_holds() {
    let sim = Sim::start(SimConfig::only(SEED, SIZE, &[Org::MEDVIVO]))
        .await
        .unwrap();
    let endpoint = sim.endpoint("medvivo").unwrap();
    let source = adapter(&endpoint);
    let held: Vec<_> = POP
        .iter()
        .filter(|p| p.holding(Org::MEDVIVO).is_some())
        .take(12)
        .collect();
    assert_eq!(held.len(), 12);
    let mut documents = 0;
    for p in held {
        let h = p.holding(Org::MEDVIVO).unwrap();
        let record = source.fetch(&request(p.nhs_number)).await.unwrap();
        assert_eq!(record.issues, vec![], "{}", p.nhs_number);
        for r in h.records_of("DocumentReference") {
            let Entry::Document(want) = &r.entry else {
                panic!()
            };
            let local = format!("DocumentReference/{}", r.id);
            let item = record
                .items
                .iter()
                .find(|i| {
                    i.provenance.record.local() == local && matches!(i.entry, Entry::Document(_))
                })
                .unwrap_or_else(|| panic!("{local} missing"));
            let Entry::Document(got) = &item.entry else {
                panic!()
            };
            assert_eq!(got.doc_type, want.doc_type);
            assert_eq!(got.title, want.title);
            assert_eq!(got.date, want.date);
            assert_eq!(
                got.authors,
                want.authors
                    .iter()
                    .map(|a| format!("{a} (Medvivo)"))
                    .collect::<Vec<_>>()
            );
            assert_eq!(got.status, Some(DocumentStatus::Current));
            let url = format!("{endpoint}/Binary/{}", r.id);
            assert_eq!(got.content[0].url.as_deref(), Some(url.as_str()));
            assert_eq!(item.provenance.last_updated, Some(r.last_updated));

            // the encounter the report is about
            let want_enc = icr_sim::cda::encounter_for(h, want).unwrap();
            let enc = record
                .items
                .iter()
                .find(|i| i.provenance.record.local() == format!("{local}#encounter"))
                .unwrap();
            let Entry::Appointment(got_enc) = &enc.entry else {
                panic!()
            };
            assert_eq!(
                *got_enc,
                Appointment {
                    service_type: vec![],
                    reasons: vec![],
                    ..want_enc.clone()
                }
            );
            documents += 1;
        }
        assert_eq!(
            record.items.len(),
            2 * h.records_of("DocumentReference").count()
        );
    }
    assert!(documents >= 12);

    // someone the service never saw
    let stranger = POP
        .iter()
        .find(|p| p.holding(Org::MEDVIVO).is_none())
        .unwrap();
    assert_eq!(
        source
            .fetch(&request(stranger.nhs_number))
            .await
            .unwrap_err(),
        SourceError::PatientNotFound
    );

    // the shared faults
    let someone = POP
        .iter()
        .find(|p| p.holding(Org::MEDVIVO).is_some())
        .unwrap()
        .nhs_number;
    sim.set_fault(
        "medvivo",
        Fault {
            error_rate: 1.0,
            ..Fault::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(
        source.fetch(&request(someone)).await.unwrap_err(),
        SourceError::HttpStatus {
            status: 500,
            what: "registry search (fatal: transient): the source said \"simulated failure (error_rate fault); try again\"".into()
        }
    );
    sim.set_fault(
        "medvivo",
        Fault {
            down: true,
            ..Fault::default()
        },
    )
    .await
    .unwrap();
    assert!(matches!(
        source.fetch(&request(someone)).await.unwrap_err(),
        SourceError::Unavailable(_)
    ));
    sim.set_fault(
        "medvivo",
        Fault {
            latency_ms: Some(icr_sim::Latency::Fixed(3_000)),
            ..Fault::default()
        },
    )
    .await
    .unwrap();
    let slow = FetchRequest::system(
        someone,
        [Section::Documents].into_iter().collect(),
        Instant::now() + Duration::from_millis(800),
    );
    assert!(matches!(
        source.fetch(&slow).await.unwrap_err(),
        SourceError::Timeout { .. }
    ));
}

// ---- the round trip ----

fn word() -> impl Strategy<Value = String> {
    "[A-Za-z0-9&<>\"'(),.%/-]{1,8}"
}

/// Text as a reader sees it: words with single spaces.
fn phrase() -> impl Strategy<Value = String> {
    proptest::collection::vec(word(), 1..4).prop_map(|w| w.join(" "))
}

fn instant() -> impl Strategy<Value = PartialDateTime> {
    (
        1990i32..2030,
        1u8..=12,
        1u8..=28,
        0u8..24,
        0u8..60,
        0u8..60,
        select(vec![(0i8, 0i8), (1, 0), (-5, -30), (5, 30)]),
    )
        .prop_map(|(y, mo, d, h, mi, s, (oh, om))| {
            let date = Date::from_calendar_date(y, Month::try_from(mo).unwrap(), d).unwrap();
            PartialDateTime::DateTime(
                PrimitiveDateTime::new(date, Time::from_hms(h, mi, s).unwrap())
                    .assume_offset(UtcOffset::from_hms(oh, om, 0).unwrap()),
            )
        })
}

fn date() -> impl Strategy<Value = PartialDateTime> {
    prop_oneof![
        3 => instant(),
        1 => (1990i32..2030, 1u8..=12, 1u8..=28).prop_map(|(y, m, d)| PartialDateTime::Date(
            Date::from_calendar_date(y, Month::try_from(m).unwrap(), d).unwrap()
        )),
    ]
}

fn doc_type() -> impl Strategy<Value = Concept> {
    (
        select(vec![CodeSystem::Snomed, CodeSystem::Loinc]),
        "[0-9]{3,10}(-[0-9])?",
        phrase(),
    )
        .prop_map(|(system, code, display)| Concept::coded(Coding::new(system, code, display)))
}

fn encounter() -> impl Strategy<Value = Appointment> {
    (
        select(vec![
            ("AMB", "ambulatory"),
            ("HH", "home health"),
            ("VR", "virtual"),
            ("EMER", "emergency"),
        ]),
        instant(),
        proptest::option::of(0i64..600),
        proptest::option::of(phrase()),
        proptest::collection::btree_set(phrase(), 0..3),
    )
        .prop_map(|((code, display), start, minutes, location, people)| {
            let end = minutes.and_then(|m| match start {
                PartialDateTime::DateTime(t) => Some(PartialDateTime::DateTime(
                    t + icr_model::time::Duration::minutes(m),
                )),
                _ => None,
            });
            Appointment {
                kind: Some(AppointmentKind::Encounter),
                status: end.map(|_| AppointmentStatus::Finished),
                class: Some(Concept::coded(Coding::new(
                    CodeSystem::Other("http://terminology.hl7.org/CodeSystem/v3-ActCode".into()),
                    code,
                    display,
                ))),
                service_type: vec![],
                description: None,
                start: Some(start),
                end,
                location,
                participants: people.into_iter().collect(),
                reasons: vec![],
            }
        })
}

fn block() -> impl Strategy<Value = Block> {
    prop_oneof![
        phrase().prop_map(Block::Paragraph),
        (any::<bool>(), proptest::collection::vec(phrase(), 1..4))
            .prop_map(|(ordered, items)| Block::List { ordered, items }),
        (1usize..4)
            .prop_flat_map(|n| (
                proptest::collection::vec(phrase(), n),
                proptest::collection::vec(proptest::collection::vec(phrase(), n), 0..3)
            ))
            .prop_map(|(head, rows)| Block::Table { head, rows }),
    ]
}

fn section() -> impl Strategy<Value = ReportSection> {
    (
        proptest::option::of(("[0-9]{4,5}-[0-9]", phrase())),
        phrase(),
        proptest::collection::vec(block(), 0..4),
    )
        .prop_map(|(code, title, blocks)| ReportSection {
            code: code.map(|(c, d)| Coding::new(CodeSystem::Loinc, c, d)),
            title,
            blocks,
        })
}

/// The plain text the adapter should make of `sections`.
fn expected_text(sections: &[ReportSection]) -> Option<String> {
    let mut out: Vec<String> = Vec::new();
    for s in sections {
        if !out.is_empty() {
            out.push(String::new());
        }
        out.push(s.title.clone());
        for b in &s.blocks {
            match b {
                Block::Paragraph(t) => out.push(t.clone()),
                Block::List { ordered, items } => {
                    for (n, i) in items.iter().enumerate() {
                        out.push(if *ordered {
                            format!("{}. {i}", n + 1)
                        } else {
                            format!("- {i}")
                        });
                    }
                }
                Block::Table { head, rows } => {
                    out.push(head.join(" | "));
                    for r in rows {
                        out.push(r.join(" | "));
                    }
                }
            }
        }
    }
    (!out.is_empty()).then(|| out.join("\n"))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn model_to_cda_to_model(
        first_nine in 999_000_000u32..999_999_999,
        title in proptest::option::of(phrase()),
        doc_type in doc_type(),
        date in proptest::option::of(date()),
        authors in proptest::collection::vec(phrase(), 0..3),
        encounter in proptest::option::of(encounter()),
        sections in proptest::collection::vec(section(), 0..4),
        id in "[A-Za-z0-9.-]{1,20}",
    ) {
        let Some(nhs) = NhsNumber::from_first_nine(first_nine) else {
            return Ok(());
        };
        let demographics = Demographics {
            names: vec![HumanName { given: vec!["Alex".into()], family: Some("Testperson".into()), ..Default::default() }],
            gender: Some(Gender::Female),
            birth_date: Some(PartialDateTime::parse("1980-02-03").unwrap()),
            ..Default::default()
        };
        let document = Document {
            doc_type: doc_type.clone(),
            title: title.clone(),
            status: Some(DocumentStatus::Current),
            date,
            authors: authors.clone(),
            ..Default::default()
        };
        let root = local_id_root(Org::MEDVIVO);
        let xml = write(&Report {
            organisation: organisation(Org::MEDVIVO, &root),
            id: &id,
            nhs_number: nhs,
            demographics: &demographics,
            document: &document,
            encounter: encounter.as_ref(),
            sections: &sections,
        });
        let doc = read(xml.as_bytes(), &ReadLimits::default())
            .map_err(|e| TestCaseError::fail(format!("{e}\n{xml}")))?;
        prop_assert_eq!(check_identity(&doc, nhs, false), Ok(Identity::Confirmed));
        prop_assert_eq!(doc.bad_dates, 0);
        let url = "https://ooh.example.nhs.uk/Y9U01/fhir/R4/Binary/1";
        let m = map_document(&doc, &Origin { url, size: Some(xml.len() as u64), listed: None });
        prop_assert_eq!(m.document.text.clone(), expected_text(&sections));
        prop_assert_eq!(
            m.document,
            Document {
                authors: authors.iter().map(|a| format!("{a} (Medvivo)")).collect(),
                content: vec![Attachment {
                    content_type: Some("application/hl7-v3+xml".into()),
                    url: Some(url.into()),
                    size: Some(xml.len() as u64),
                    ..Default::default()
                }],
                text: expected_text(&sections),
                ..document
            }
        );
        prop_assert_eq!(m.encounter, encounter);
    }
}

// ---- the demo registration proposed for config/demo ----

/// The registration proposed for `config/demo/sources.d/medvivo.toml`.
const DEMO_REGISTRATION: &str = r#"# Medvivo, the out-of-hours service: a document registry (FHIR R4
# DocumentReference search) and its HL7 CDA R2 encounter reports.
id = "medvivo"
organisation = "Medvivo"
ods_code = "Y9U01"
kind = "cda"
system = "Medvivo out-of-hours reports (CDA R2)"
endpoint = "http://127.0.0.1:9501/Y9U01/fhir/R4"
sections = ["documents", "appointments"]
timeout_ms = 3000
cache_ttl_s = 60
max_body_bytes = 16777216
enabled = true

[options]
page_size = 50
max_registry_pages = 4
max_documents = 50
max_concurrent_fetches = 4
max_text_chars = 100000
"#;

/// The `[[source]]` entry proposed for `config/demo/sim.toml`.
const DEMO_SIM_TOML: &str = r#"
[population]
seed = 20261101
size = 300

[[source]]
id = "medvivo"
organisation = "Medvivo"
ods_code = "Y9U01"
kind = "cda"
listen = "127.0.0.1:9501"
latency_min_ms = 30
latency_max_ms = 150
error_rate = 0.0
down = false
"#;

#[tokio::test]
async fn the_demo_entries_build_start_and_answer() {
    let config = SimConfig::from_toml_str(DEMO_SIM_TOML, "sim.toml")
        .unwrap()
        .with_ephemeral_ports();
    let sim = Sim::start(config).await.unwrap();
    let endpoint = sim.endpoint("medvivo").unwrap();
    assert!(endpoint.ends_with("/Y9U01/fhir/R4"), "{endpoint}");
    // the registration as proposed, pointed at the ephemeral port
    let text = DEMO_REGISTRATION.replace("http://127.0.0.1:9501/Y9U01/fhir/R4", &endpoint);
    let spec: SourceSpec = toml::from_str(&text).unwrap();
    let mut registry = Registry::new();
    registry.register(&KIND);
    let source = registry.build(&spec).unwrap();
    let someone = POP
        .iter()
        .find(|p| p.holding(Org::MEDVIVO).is_some())
        .unwrap();
    let record = source.fetch(&request(someone.nhs_number)).await.unwrap();
    assert!(!record.items.is_empty());
    assert_eq!(record.issues, vec![]);
    assert_eq!(record.items[0].provenance.origin.ods_code.as_str(), "Y9U01");
    sim.shutdown().await;
}
