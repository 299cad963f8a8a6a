//! The story patients read back through the real `fhir-r4` adapter and
//! merged by `icr-merge`, as the gateway does: what `config/demo/README.md`
//! says a clinician sees is what the sources' answers merge into.

mod common;

use std::time::Duration;

use icr_adapter_sdk::{FetchRequest, SourceError, SourceSpec};
use icr_merge::{MergedRecord, merge};
use icr_model::{Entry, MedicationStatus, NhsNumber, Section, SectionSet, SourceRecord};
use icr_sim::{Fault, Kind, Sim};

fn spec(sim: &Sim, id: &str) -> SourceSpec {
    let org = icr_sim::Org::from_id(id).unwrap();
    let text = format!(
        r#"
id = "{id}"
organisation = "{}"
ods_code = "{}"
kind = "fhir-r4"
system = "Simulated (FHIR R4)"
endpoint = "{}"
sections = ["demographics", "contacts", "care_team", "medications", "allergies", "conditions",
            "results", "documents", "procedures", "referrals", "appointments", "alerts"]
timeout_ms = 10000
"#,
        org.name(),
        org.ods_code(),
        sim.endpoint(id).unwrap()
    );
    toml::from_str(&text).expect("a source registration")
}

/// The FHIR R4 sources the simulator serves.
fn fhir_sources(sim: &Sim) -> Vec<String> {
    sim.sources()
        .into_iter()
        .filter(|id| sim.kind(id) == Some(Kind::FhirR4))
        .collect()
}

/// Fetches `nhs` from every FHIR R4 source; the records of those that hold
/// the person, and the ids of those that said "not found".
async fn fetch_all(sim: &Sim, nhs: &str) -> (Vec<(String, SourceRecord)>, Vec<String>) {
    let nhs = NhsNumber::parse(nhs).unwrap();
    let mut found = Vec::new();
    let mut not_found = Vec::new();
    for id in fhir_sources(sim) {
        let adapter = icr_adapter_fhir_r4::build(&spec(sim, &id)).unwrap();
        let request = FetchRequest::system(
            nhs,
            SectionSet::all(),
            tokio::time::Instant::now() + Duration::from_secs(10),
        );
        match adapter.fetch(&request).await {
            Ok(r) => {
                assert!(
                    r.issues.iter().all(|i| !i.loses_data()),
                    "{id}: {:?}",
                    r.issues
                );
                found.push((id, r));
            }
            Err(SourceError::PatientNotFound) => not_found.push(id),
            Err(e) => panic!("{id}: {e}"),
        }
    }
    (found, not_found)
}

async fn merged(sim: &Sim, nhs: &str) -> (MergedRecord, Vec<String>) {
    let (found, not_found) = fetch_all(sim, nhs).await;
    let records: Vec<&SourceRecord> = found.iter().map(|(_, r)| r).collect();
    let ids = found.iter().map(|(id, _)| id.clone()).collect();
    assert_eq!(not_found.len() + records.len(), fhir_sources(sim).len());
    (merge(&records, SectionSet::all()), ids)
}

fn section(m: &MergedRecord, s: Section) -> &[icr_merge::MergedItem] {
    m.sections.get(&s).map(Vec::as_slice).unwrap_or(&[])
}

fn sources(item: &icr_merge::MergedItem) -> Vec<&str> {
    item.provenance
        .iter()
        .map(|p| p.origin.id.as_str())
        .collect()
}

fn code(item: &icr_merge::MergedItem) -> String {
    item.entry
        .code()
        .and_then(|c| c.primary())
        .map(|c| c.code.clone())
        .unwrap_or_default()
}

#[tokio::test]
async fn story_patients_merge_as_documented() {
    let sim = common::start(20).await;

    // 1: duplicates at gwh and sft merge; metformin's status conflicts.
    let (m, ids) = merged(&sim, "9990000018").await;
    assert_eq!(ids, ["gwh", "sft"]);
    assert!(m.warnings.is_empty(), "{:?}", m.warnings);
    let conditions = section(&m, Section::Conditions);
    assert_eq!(conditions.len(), 4);
    assert!(conditions.iter().all(|c| sources(c) == ["gwh", "sft"]));
    assert!(conditions.iter().all(|c| c.conflicts.is_empty()));
    let meds = section(&m, Section::Medications);
    assert_eq!(meds.len(), 3);
    assert!(meds.iter().all(|x| sources(x) == ["gwh", "sft"]));
    let metformin = meds.iter().find(|x| code(x) == "325278007").unwrap();
    let fields: Vec<&str> = metformin
        .conflicts
        .iter()
        .map(|c| c.field.as_str())
        .collect();
    assert_eq!(fields, ["end", "status"]);
    // sft stopped it in June 2026, so sft's copy is the more recent one shown.
    let Entry::Medication(shown) = &metformin.entry else {
        panic!("a medication")
    };
    assert_eq!(shown.status, Some(MedicationStatus::Stopped));
    assert!(
        meds.iter()
            .filter(|x| code(x) != "325278007")
            .all(|x| x.conflicts.is_empty())
    );
    let allergies = section(&m, Section::Allergies);
    assert_eq!(allergies.len(), 1);
    assert_eq!(sources(&allergies[0]), ["gwh", "sft"]);
    let contacts = section(&m, Section::Contacts);
    assert_eq!(contacts.len(), 1);
    assert_eq!(sources(&contacts[0]), ["gwh", "sft"]);
    assert_eq!(section(&m, Section::CareTeam).len(), 2);
    assert_eq!(section(&m, Section::Alerts).len(), 1);
    assert_eq!(section(&m, Section::Documents).len(), 2);
    assert_eq!(section(&m, Section::Results).len(), 8 + 3 + 5 + 1);

    // 2: the safeguarding alert from awp; self-harm, citalopram and his
    // mother merge across awp and gwh.
    let (m, ids) = merged(&sim, "9990000026").await;
    assert_eq!(ids, ["gwh", "awp"]);
    let alerts = section(&m, Section::Alerts);
    assert_eq!(alerts.len(), 1);
    assert_eq!(sources(&alerts[0]), ["awp"]);
    let Entry::Alert(alert) = &alerts[0].entry else {
        panic!()
    };
    assert!(alert.code.label().unwrap().starts_with("Safeguarding:"));
    let conditions = section(&m, Section::Conditions);
    assert_eq!(conditions.len(), 2);
    let self_harm = conditions.iter().find(|c| code(c) == "248062006").unwrap();
    assert_eq!(sources(self_harm), ["awp", "gwh"]);
    assert_eq!(
        sources(&section(&m, Section::Medications)[0]),
        ["awp", "gwh"]
    );
    assert_eq!(sources(&section(&m, Section::Contacts)[0]), ["awp", "gwh"]);
    let docs: Vec<String> = section(&m, Section::Documents)
        .iter()
        .filter_map(|d| match &d.entry {
            Entry::Document(d) => d.title.clone(),
            _ => None,
        })
        .collect();
    assert!(docs.contains(&"Crisis and contingency plan".to_string()));

    // 3: one penicillin allergy from three organisations.
    let (m, ids) = merged(&sim, "9990000034").await;
    assert_eq!(ids, ["gwh", "ruh", "sft"]);
    let allergies = section(&m, Section::Allergies);
    assert_eq!(allergies.len(), 2);
    let penicillin = allergies.iter().find(|a| code(a) == "91936005").unwrap();
    assert_eq!(sources(penicillin), ["gwh", "ruh", "sft"]);
    assert!(penicillin.conflicts.is_empty());
    let peanut = allergies.iter().find(|a| code(a) == "91935009").unwrap();
    assert_eq!(sources(peanut), ["ruh"]);

    // 4: the demographics disagree; ruh's newer copy is shown.
    let (m, ids) = merged(&sim, "9990000042").await;
    assert_eq!(ids, ["ruh", "sft"]);
    let shown = m.patient.as_ref().unwrap();
    assert_eq!(shown.provenance[0].origin.id.as_str(), "ruh");
    assert_eq!(
        shown
            .demographics
            .home_address()
            .unwrap()
            .postcode
            .as_deref(),
        Some("BA1 6RL")
    );
    assert_eq!(m.warnings.len(), 1, "{:?}", m.warnings);
    assert_eq!(m.warnings[0].code, "demographics-differ");
    assert!(
        m.warnings[0].message.contains("postcode"),
        "{}",
        m.warnings[0].message
    );
    assert_eq!(
        sources(&section(&m, Section::Conditions)[0]),
        ["ruh", "sft"]
    );

    // 5: held by all four trusts (and community services, whc, over FHIR
    // too); diabetes, metformin merge fourfold, his wife fivefold.
    let (m, ids) = merged(&sim, "9990000050").await;
    assert_eq!(ids, ["gwh", "ruh", "awp", "sft", "whc"]);
    let diabetes = section(&m, Section::Conditions)
        .iter()
        .find(|c| code(c) == "44054006")
        .unwrap();
    assert_eq!(sources(diabetes), ["awp", "gwh", "ruh", "sft"]);
    assert!(diabetes.conflicts.is_empty());
    let metformin = section(&m, Section::Medications)
        .iter()
        .find(|c| code(c) == "325278007")
        .unwrap();
    assert_eq!(sources(metformin), ["awp", "gwh", "ruh", "sft"]);
    let contacts = section(&m, Section::Contacts);
    assert_eq!(contacts.len(), 1);
    assert_eq!(sources(&contacts[0]), ["awp", "gwh", "ruh", "sft", "whc"]);
    assert_eq!(section(&m, Section::CareTeam).len(), 5);
    assert!(m.warnings.is_empty());
    // What the FHIR R4 sources alone show of his twelve sections (the
    // allergy, referral and alert come from his practice and the council).
    let mut shown: Vec<Section> = Section::ALL
        .iter()
        .copied()
        .filter(|s| !section(&m, *s).is_empty())
        .collect();
    if m.patient.is_some() {
        shown.insert(0, Section::Demographics);
    }
    assert_eq!(
        shown,
        [
            Section::Demographics,
            Section::Contacts,
            Section::CareTeam,
            Section::Medications,
            Section::Conditions,
            Section::Results,
            Section::Documents,
            Section::Procedures,
            Section::Appointments,
        ]
    );
    let mut from: Vec<&str> = m
        .sections
        .values()
        .flatten()
        .flat_map(|i| i.provenance.iter().map(|p| p.origin.id.as_str()))
        .collect();
    from.sort();
    from.dedup();
    assert_eq!(from, ["awp", "gwh", "ruh", "sft", "whc"]);

    // Nobody knows 9990000999.
    let (found, not_found) = fetch_all(&sim, "9990000999").await;
    assert!(found.is_empty());
    assert_eq!(not_found.len(), fhir_sources(&sim).len());
    sim.shutdown().await;
}

#[tokio::test]
async fn faults_reach_the_adapter_as_source_errors() {
    let sim = common::start(20).await;
    let nhs = NhsNumber::parse("9990000018").unwrap();
    let adapter = icr_adapter_fhir_r4::build(&spec(&sim, "gwh")).unwrap();
    let request = || {
        FetchRequest::system(
            nhs,
            SectionSet::all(),
            tokio::time::Instant::now() + Duration::from_secs(5),
        )
    };
    assert!(adapter.fetch(&request()).await.is_ok());

    sim.set_fault(
        "gwh",
        Fault {
            down: true,
            ..Fault::default()
        },
    )
    .await
    .unwrap();
    let e = adapter.fetch(&request()).await.unwrap_err();
    assert!(matches!(e, SourceError::Unavailable(_)), "{e:?}");

    sim.set_fault(
        "gwh",
        Fault {
            error_rate: 1.0,
            ..Fault::default()
        },
    )
    .await
    .unwrap();
    let e = adapter.fetch(&request()).await.unwrap_err();
    assert!(matches!(e, SourceError::HttpStatus { .. }), "{e:?}");

    sim.set_fault("gwh", Fault::default()).await.unwrap();
    assert!(adapter.fetch(&request()).await.is_ok());
    sim.shutdown().await;
}

/// Everything the sources serve for generated patients is read back by the
/// adapter without loss, and stale demographics raise the warning.
#[tokio::test]
async fn generated_patients_read_back_whole() {
    let sim = common::start(120).await;
    let patients: Vec<_> = sim.population().iter().cloned().collect();
    let mut warned = 0;
    for p in &patients {
        let (found, not_found) = fetch_all(&sim, p.nhs_number.as_str()).await;
        let held = p
            .holdings
            .iter()
            .filter(|h| h.org.kind() == Kind::FhirR4)
            .count();
        assert_eq!(found.len(), held, "{}", p.nhs_number);
        assert_eq!(not_found.len(), fhir_sources(&sim).len() - held);
        for (id, record) in &found {
            let h = p.holdings.iter().find(|h| h.org.id() == id).unwrap();
            assert_eq!(
                record.items.len(),
                h.records.len(),
                "{} at {id}",
                p.nhs_number
            );
            assert!(record.patient.is_some());
        }
        let records: Vec<&SourceRecord> = found.iter().map(|(_, r)| r).collect();
        let m = merge(&records, SectionSet::all());
        let fetched = || p.holdings.iter().filter(|h| h.org.kind() == Kind::FhirR4);
        let stale = fetched().any(|h| h.demographics != p.truth.demographics);
        let postcode_differs = fetched().any(|h| {
            h.demographics
                .home_address()
                .and_then(|a| a.postcode.clone())
                != p.truth
                    .demographics
                    .home_address()
                    .and_then(|a| a.postcode.clone())
        });
        if postcode_differs {
            assert!(m.warnings.iter().any(|w| w.code == "demographics-differ"));
            warned += 1;
        }
        if !stale {
            assert!(m.warnings.is_empty(), "{}: {:?}", p.nhs_number, m.warnings);
        }
    }
    assert!(warned >= 1);
    sim.shutdown().await;
}
