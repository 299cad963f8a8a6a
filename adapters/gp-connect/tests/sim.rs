//! The adapter against the simulated region's GP practices over real
//! HTTP: every registered person's practice record comes back item for
//! item (id, content, last update), confidential problems as a withheld
//! issue, sensitive and unregistered people as not found, and the
//! simulator's faults as the statuses they are.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use icr_adapter_sdk::{FetchRequest, Registry, SourceAdapter, SourceError, SourceSpec};
use icr_model::*;
use icr_sim::gpconnect::{dissents, provider_asid, withholds_a_problem};
use icr_sim::org::{Kind, Org};
use icr_sim::{Fault, Latency, Sim, SimConfig, SimSourceConfig};
use tokio::time::Instant;

const SECTIONS: &str = r#""demographics", "allergies", "medications", "conditions", "results", "procedures", "referrals", "appointments""#;

async fn sim(size: usize) -> Sim {
    let config = SimConfig {
        seed: 7,
        size,
        as_of: None,
        control_listen: None,
        sources: vec![SimSourceConfig {
            id: "gp".into(),
            kind: Kind::GpConnect,
            orgs: Org::of_kind(Kind::GpConnect).collect(),
            listen: "127.0.0.1:0".parse().unwrap(),
            fault: Fault::default(),
            fhir_search: Default::default(),
        }],
    };
    Sim::start(config).await.unwrap()
}

fn adapter(sim: &Sim, org: Org) -> Arc<dyn SourceAdapter> {
    let spec: SourceSpec = toml::from_str(&format!(
        r#"id = "{}"
organisation = "{}"
ods_code = "{}"
kind = "gp-connect"
endpoint = "{}"
sections = [{SECTIONS}]
timeout_ms = 3000
routing = "registered-practice"
[options]
consumer_asid = "200000000115"
provider_asid = "{}"
issuer = "https://icr.example.nhs.uk/"
include_prescription_issues = true
most_recent_consultations = 1000
"#,
        org.id(),
        org.name(),
        org.ods_code(),
        sim.endpoint(org.id()).unwrap(),
        provider_asid(org)
    ))
    .unwrap();
    let mut registry = Registry::new();
    registry.register(&icr_adapter_gp_connect::KIND);
    registry.build(&spec).unwrap()
}

fn request(nhs: NhsNumber, within: Duration) -> FetchRequest {
    FetchRequest::system(nhs, SectionSet::all(), Instant::now() + within)
}

/// The local id the adapter gives a practice record: the GP Connect
/// resource type it is served as, and its id.
fn local_id(entry: &Entry, id: &str) -> Option<String> {
    let ty = match entry {
        Entry::Allergy(_) => "AllergyIntolerance",
        Entry::Condition(_) => "Condition",
        Entry::Medication(m) if m.kind == Some(MedicationKind::Prescription) => "MedicationRequest",
        Entry::Medication(_) => "MedicationStatement",
        Entry::Result(r) if r.kind == Some(ResultKind::Report) => "DiagnosticReport",
        Entry::Result(_) => "Observation",
        Entry::Procedure(_) => "Immunization",
        Entry::Referral(_) => "ReferralRequest",
        Entry::Appointment(a) if a.kind == Some(AppointmentKind::Encounter) => "Encounter",
        // Booked appointments, contacts, care teams: not in GP Connect's
        // structured record.
        _ => return None,
    };
    Some(format!("{ty}/{id}"))
}

#[tokio::test]
async fn every_registered_persons_practice_record_comes_back_item_for_item() {
    let sim = sim(200).await;
    let mut fetched = 0;
    let mut sensitive = 0;
    let mut dissenting = 0;
    let mut withheld = 0;
    let mut items = 0;
    let mut statements_written = 0;
    for p in sim.population().iter() {
        let Some(org) = p.registered_practice() else {
            continue;
        };
        let result = adapter(&sim, org)
            .fetch(&request(p.nhs_number, Duration::from_secs(5)))
            .await;
        if p.is_sensitive() {
            // GP Connect answers a sensitive patient as not found.
            assert_eq!(result.unwrap_err(), SourceError::PatientNotFound);
            sensitive += 1;
            continue;
        }
        if dissents(p) {
            // Dissent is the source's own withholding, never "not found".
            assert!(
                matches!(result, Err(SourceError::Withheld(ref m)) if m.contains("NO_PATIENT_CONSENT")),
                "{result:?}"
            );
            dissenting += 1;
            continue;
        }
        let record = result.unwrap_or_else(|e| panic!("{}: {e}", org.id()));
        fetched += 1;
        let holding = p.holding(org).unwrap();
        let patient = record.patient.as_ref().unwrap();
        assert_eq!(patient.demographics.nhs_number, Some(p.nhs_number));
        assert_eq!(patient.demographics.names, holding.demographics.names);
        assert_eq!(
            patient
                .demographics
                .registered_practice
                .as_ref()
                .map(OdsCode::as_str),
            Some(org.ods_code())
        );
        let hidden = withholds_a_problem(p, org);
        let expected: BTreeMap<String, (&Entry, _)> = holding
            .records
            .iter()
            .filter(|r| hidden.as_deref() != Some(r.id.as_str()))
            .filter_map(|r| Some((local_id(&r.entry, &r.id)?, (&r.entry, r.last_updated))))
            .collect();
        let mut got: BTreeMap<String, (&Entry, _)> = record
            .items
            .iter()
            .map(|i| {
                (
                    i.provenance.record.local().to_string(),
                    (&i.entry, i.provenance.last_updated.unwrap()),
                )
            })
            .collect();
        // A prescription with no statement for its medicine is served, as
        // GP Connect serves every medicine, under a statement written for
        // it: that statement is read too.
        let written: Vec<String> = got
            .keys()
            .filter(|k| k.ends_with("-statement"))
            .cloned()
            .collect();
        for key in written {
            let (entry, _) = got.remove(&key).unwrap();
            let issue = key
                .strip_prefix("MedicationStatement/")
                .and_then(|k| k.strip_suffix("-statement"))
                .map(|id| format!("MedicationRequest/{id}"))
                .unwrap();
            let (Entry::Medication(stmt), Some((Entry::Medication(rx), _))) =
                (entry, expected.get(&issue))
            else {
                panic!("{key} is not the statement of a prescription");
            };
            assert_eq!(stmt.kind, Some(MedicationKind::Statement));
            assert_eq!(stmt.medication, rx.medication);
            assert!(!holding.records.iter().any(|r| matches!(&r.entry,
                Entry::Medication(m) if m.kind != Some(MedicationKind::Prescription)
                    && m.medication == rx.medication)));
            statements_written += 1;
        }
        assert_eq!(got, expected, "{}", p.nhs_number.as_str());
        items += got.len();
        if hidden.is_some() {
            withheld += 1;
            assert_eq!(
                record.issues,
                vec![SourceIssue {
                    kind: IssueKind::Withheld,
                    section: Some(Section::Conditions),
                    message: "items withheld by the source (confidential)".into()
                }]
            );
        } else {
            assert!(record.issues.is_empty(), "{:?}", record.issues);
        }
    }
    // Counted from the population, so that the test follows it as it grows.
    let registered: Vec<_> = sim
        .population()
        .iter()
        .filter(|p| p.registered_practice().is_some())
        .collect();
    assert_eq!(fetched + sensitive + dissenting, registered.len());
    assert_eq!(
        dissenting,
        registered
            .iter()
            .filter(|p| !p.is_sensitive() && dissents(p))
            .count()
    );
    assert_eq!(
        sensitive,
        registered.iter().filter(|p| p.is_sensitive()).count()
    );
    assert!(
        sensitive > 0 && withheld > 0 && dissenting > 0,
        "{sensitive} {withheld} {dissenting}"
    );
    assert!(items > 5 * fetched, "{items} items for {fetched} people");
    assert!(statements_written > 0);
}

#[tokio::test]
async fn another_practice_does_not_know_the_person() {
    let sim = sim(40).await;
    let p = sim
        .population()
        .iter()
        .find(|p| p.registered_practice().is_some() && !p.is_sensitive())
        .unwrap();
    let home = p.registered_practice().unwrap();
    let elsewhere = Org::of_kind(Kind::GpConnect).find(|o| *o != home).unwrap();
    let e = adapter(&sim, elsewhere)
        .fetch(&request(p.nhs_number, Duration::from_secs(3)))
        .await
        .unwrap_err();
    assert_eq!(e, SourceError::PatientNotFound);
}

#[tokio::test]
async fn faults_are_statuses() {
    let sim = sim(40).await;
    let p = sim
        .population()
        .iter()
        .find(|p| p.registered_practice().is_some() && !p.is_sensitive())
        .unwrap();
    let org = p.registered_practice().unwrap();
    let source = adapter(&sim, org);

    sim.set_fault(
        "gp",
        Fault {
            error_rate: 1.0,
            ..Fault::default()
        },
    )
    .await
    .unwrap();
    let e = source
        .fetch(&request(p.nhs_number, Duration::from_secs(3)))
        .await
        .unwrap_err();
    assert_eq!(
        e,
        SourceError::HttpStatus {
            status: 500,
            what: "GP Connect $gpc.getstructuredrecord (INTERNAL_SERVER_ERROR): the source said \"simulated failure (error_rate fault); try again\"".into()
        }
    );

    sim.set_fault(
        "gp",
        Fault {
            latency_ms: Some(Latency::Fixed(2_000)),
            ..Fault::default()
        },
    )
    .await
    .unwrap();
    let started = std::time::Instant::now();
    let e = source
        .fetch(&request(p.nhs_number, Duration::from_millis(300)))
        .await
        .unwrap_err();
    assert!(matches!(e, SourceError::Timeout { .. }), "{e:?}");
    assert!(started.elapsed() < Duration::from_millis(1_500));

    sim.set_fault(
        "gp",
        Fault {
            down: true,
            ..Fault::default()
        },
    )
    .await
    .unwrap();
    let e = source
        .fetch(&request(p.nhs_number, Duration::from_secs(3)))
        .await
        .unwrap_err();
    assert!(matches!(e, SourceError::Unavailable(_)), "{e:?}");

    sim.set_fault("gp", Fault::default()).await.unwrap();
    assert!(
        source
            .fetch(&request(p.nhs_number, Duration::from_secs(3)))
            .await
            .is_ok()
    );
}
