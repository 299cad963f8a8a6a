//! The writers over synthetic records: resumed runs equal uninterrupted
//! ones byte for byte, every NDJSON line is valid FHIR R4 against the
//! official schema, and the files listed are the files written.

mod common;

use std::collections::BTreeSet;

use common::{population, temp_dir};
use icr_extract_output::{FileEntry, KIND_FHIR, KIND_OMOP, Offsets, Writers};
use icr_testkit::files_under as all_files;
use serde_json::Value;

fn write_all(dir: &std::path::Path, n: u32) -> Vec<FileEntry> {
    common::write_records(dir, &population(n))
}

#[test]
fn a_stopped_and_resumed_run_writes_the_same_bytes() {
    let people = population(40);
    let whole = temp_dir("whole");
    let entries = write_all(&whole, 40);

    let resumed = temp_dir("resumed");
    let mut w = Writers::create(&resumed).unwrap();
    for r in &people[..17] {
        w.write(r).unwrap();
    }
    let offsets = w.checkpoint().unwrap();
    // What a run writes after its last checkpoint, before it is stopped:
    // other people, half a line, part of a table.
    for r in &people[30..] {
        w.write(r).unwrap();
    }
    w.checkpoint().unwrap();
    drop(w);
    let torn = resumed.join("fhir/Condition.ndjson");
    let mut bytes = std::fs::read(&torn).unwrap();
    bytes.extend_from_slice(b"{\"resourceType\":\"Cond");
    std::fs::write(&torn, bytes).unwrap();
    // And a table half written by a finish that was stopped.
    std::fs::write(resumed.join("omop/person.parquet"), b"PAR1 torn").unwrap();

    // The checkpoint as the run stored it.
    let stored = serde_json::to_string(&offsets).unwrap();
    let offsets: Offsets = serde_json::from_str(&stored).unwrap();
    let mut w = Writers::resume(&resumed, &offsets).unwrap();
    for r in &people[17..] {
        w.write(r).unwrap();
    }
    let resumed_entries = w.finish().unwrap();

    assert_eq!(resumed_entries, entries);
    let a = all_files(&whole);
    let b = all_files(&resumed);
    assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>());
    for ((path, x), (_, y)) in a.iter().zip(&b) {
        assert!(x == y, "{path} differs after resuming");
    }
}

#[test]
fn the_same_records_give_the_same_bytes() {
    let a = temp_dir("same-a");
    let b = temp_dir("same-b");
    assert_eq!(write_all(&a, 12), write_all(&b, 12));
    assert_eq!(all_files(&a), all_files(&b));
}

#[test]
fn a_checkpoint_longer_than_the_file_is_refused() {
    let dir = temp_dir("short");
    let mut w = Writers::create(&dir).unwrap();
    w.write(&population(1)[0]).unwrap();
    let mut offsets = w.checkpoint().unwrap();
    drop(w);
    offsets.files.get_mut("fhir/Patient.ndjson").unwrap().bytes += 1;
    let err = Writers::resume(&dir, &offsets).err().unwrap();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidData);
    assert!(err.to_string().contains("Patient.ndjson"), "{err}");
}

#[test]
fn the_listing_names_every_file_with_its_rows_size_and_digest() {
    use sha2::{Digest, Sha256};
    let dir = temp_dir("listing");
    let entries = write_all(&dir, 5);
    let on_disk: BTreeSet<String> = all_files(&dir).into_keys().collect();
    let listed: BTreeSet<String> = entries.iter().map(|e| e.path.clone()).collect();
    assert_eq!(on_disk, listed, "no intermediate file is left behind");
    for e in &entries {
        let bytes = std::fs::read(dir.join(&e.path)).unwrap();
        assert_eq!(e.bytes, bytes.len() as u64, "{}", e.path);
        assert_eq!(e.sha256, hex::encode(Sha256::digest(&bytes)), "{}", e.path);
        if e.kind == KIND_FHIR {
            let lines = bytes
                .split(|b| *b == b'\n')
                .filter(|l| !l.is_empty())
                .count();
            assert_eq!(e.rows, lines as u64, "{}", e.path);
        } else {
            assert_eq!(e.kind, KIND_OMOP);
            assert!(bytes.starts_with(b"PAR1") && bytes.ends_with(b"PAR1"));
        }
    }
    let rows = |p: &str| entries.iter().find(|e| e.path == p).unwrap().rows;
    // Five people, one of each item that has a table.
    assert_eq!(rows("fhir/Patient.ndjson"), 5);
    assert_eq!(rows("omop/person.parquet"), 5);
    assert_eq!(rows("omop/condition_occurrence.parquet"), 5);
    // a statement, a prescription and a vaccine
    assert_eq!(rows("omop/drug_exposure.parquet"), 15);
    // the observation, and a blood pressure's two parts (its panel row
    // too); the report groups them
    assert_eq!(rows("omop/measurement.parquet"), 20);
    assert_eq!(rows("omop/procedure_occurrence.parquet"), 5);
    // the encounter; the booked appointment did not take place yet
    assert_eq!(rows("omop/visit_occurrence.parquet"), 5);
    // allergy, referral, alert
    assert_eq!(rows("omop/observation.parquet"), 15);
}

#[test]
fn every_line_is_valid_fhir_r4_and_names_people_by_pseudonym() {
    let dir = temp_dir("schema");
    let entries = write_all(&dir, 3);
    let people: Vec<String> = population(3)
        .iter()
        .map(|r| r.person.person_id.to_string())
        .collect();
    let mut types = BTreeSet::new();
    for e in entries.iter().filter(|e| e.kind == KIND_FHIR) {
        let text = std::fs::read_to_string(dir.join(&e.path)).unwrap();
        for line in text.lines() {
            let resource: Value = serde_json::from_str(line).unwrap();
            icr_testkit::assert_fhir_r4(&resource);
            let ty = resource["resourceType"].as_str().unwrap().to_string();
            assert_eq!(e.path, format!("fhir/{ty}.ndjson"));
            let id = resource["id"].as_str().unwrap();
            assert_eq!(id.len(), 64, "{ty} id is a pseudonym");
            if ty == "Patient" {
                assert!(people.contains(&id.to_string()));
            } else {
                let subject = ["subject", "patient"]
                    .iter()
                    .find_map(|k| resource[k]["reference"].as_str())
                    .or_else(|| resource["participant"][0]["actor"]["reference"].as_str())
                    .unwrap_or_else(|| panic!("{ty} names no patient"));
                let who = subject.strip_prefix("Patient/").unwrap();
                assert!(people.contains(&who.to_string()), "{ty}");
                let holder = &resource["identifier"][0];
                assert_eq!(holder["system"], "urn:icr:source:gp-system");
                assert_eq!(holder["value"], id);
                assert_eq!(holder["assigner"]["identifier"]["value"], "A81001");
            }
            types.insert(ty);
        }
    }
    let expected: BTreeSet<String> = icr_extract_output::fhir::RESOURCE_TYPES
        .iter()
        .map(|t| t.to_string())
        .collect();
    assert_eq!(types, expected, "the sample covers every resource type");
}

#[test]
fn codes_keep_their_system_uris_and_the_patient_its_generalised_details() {
    let dir = temp_dir("codes");
    write_all(&dir, 3);
    // person 0's resource
    let text = |f: &str| {
        let all = std::fs::read_to_string(dir.join(f)).unwrap();
        all.lines().next().unwrap().to_string()
    };
    let condition: Value = serde_json::from_str(text("fhir/Condition.ndjson").trim()).unwrap();
    assert_eq!(
        condition["code"]["coding"],
        serde_json::json!([
            { "system": "http://snomed.info/sct", "code": "44054006" },
            { "system": "http://hl7.org/fhir/sid/icd-10", "code": "E11" }
        ])
    );
    assert_eq!(condition["identifier"].as_array().unwrap().len(), 2);
    assert_eq!(condition["meta"]["tag"][0]["code"], "true");
    let med: Value = serde_json::from_str(text("fhir/MedicationStatement.ndjson").trim()).unwrap();
    assert_eq!(
        med["medicationCodeableConcept"]["coding"][0],
        serde_json::json!({ "system": "https://dmd.nhs.uk", "code": "322236009" })
    );
    let obs: Value = serde_json::from_str(text("fhir/Observation.ndjson").trim()).unwrap();
    assert_eq!(obs["code"]["coding"][0]["system"], "http://loinc.org");
    assert_eq!(obs["valueQuantity"]["system"], "http://unitsofmeasure.org");
    let patient: Value = serde_json::from_str(text("fhir/Patient.ndjson").trim()).unwrap();
    assert_eq!(patient["birthDate"], "1940-01");
    assert_eq!(patient["gender"], "female");
    assert_eq!(patient["address"][0]["postalCode"], "SN15");
    assert_eq!(
        patient["generalPractitioner"][0]["identifier"]["value"],
        "A81001"
    );
    assert_eq!(patient["deceasedDateTime"], "2024");
    // person 2's specification gave an age band
    let all = std::fs::read_to_string(dir.join("fhir/Patient.ndjson")).unwrap();
    let third: Value = serde_json::from_str(all.lines().nth(2).unwrap()).unwrap();
    assert_eq!(third.get("birthDate"), None);
    assert_eq!(
        third["extension"],
        serde_json::json!([{ "url": "urn:icr:extract:age-band", "valueString": "20-24" }])
    );
    let doc: Value = serde_json::from_str(text("fhir/DocumentReference.ndjson").trim()).unwrap();
    assert_eq!(
        doc["content"][0]["attachment"]["extension"][0]["valueCode"],
        "masked"
    );
}
