//! Every resource of a type the adapter reads, in every file of the UK Core
//! R4 example corpus (inside Bundles and `contained` too), maps without
//! error and renders back as valid R4; the whole corpus also goes through
//! the fuzzing entry point.

use std::collections::BTreeMap;

use icr_adapter_fhir_r4::map::{Content, MapContext, Medications, RecordType, map_resource};
use icr_fhir::Resource;
use icr_fhir::render::{self, RenderContext};
use icr_model::{NhsNumber, RecordId, SourceId};
use serde_json::Value;
use serde_json::value::RawValue;

fn resolve(id: &RecordId) -> Option<String> {
    Some(id.local().to_string())
}

/// Every resource in `v`: itself, its contained resources, its Bundle entries.
fn resources<'a>(v: &'a Value, out: &mut Vec<&'a Value>) {
    if v.get("resourceType").is_none() {
        return;
    }
    out.push(v);
    for c in v
        .get("contained")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        resources(c, out);
    }
    for e in v
        .get("entry")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let Some(r) = e.get("resource") {
            resources(r, out);
        }
    }
}

fn corpus_files() -> Vec<(String, Vec<u8>)> {
    icr_testkit::corpus_files("fhir-r4-ukcore", "json")
}

#[test]
fn every_corpus_resource_maps() {
    icr_testkit::require_corpora!(UkCore, R4Schema);
    let files = corpus_files();
    assert_eq!(files.len(), 211, "the corpus has 211 files");
    let source = SourceId::parse("corpus").unwrap();
    let mut counts: BTreeMap<&'static str, usize> = BTreeMap::new();
    let mut medications = 0;
    let mut bad_dates = 0;
    let mut ignored = 0;
    let mut rendered_valid = 0;
    for (name, bytes) in &files {
        let doc: Value = serde_json::from_slice(bytes).unwrap();
        let mut all = Vec::new();
        resources(&doc, &mut all);
        assert!(!all.is_empty(), "{name} holds no resource");
        for r in all {
            let raw = RawValue::from_string(r.to_string()).unwrap();
            let ty = r["resourceType"].as_str().unwrap();
            if ty == "Medication" {
                let mut meds = Medications::new();
                meds.add(&raw, None, None)
                    .unwrap_or_else(|e| panic!("{name}: Medication: {e}"));
                assert_eq!(meds.len(), 1, "{name}");
                medications += 1;
                continue;
            }
            let Some(read) = RecordType::from_name(ty) else {
                ignored += 1;
                continue;
            };
            let meds = Medications::new();
            let ctx = MapContext {
                source: &source,
                base: None,
                medications: &meds,
            };
            let mapped = map_resource(&raw, &ctx).unwrap_or_else(|e| panic!("{name}: {ty}: {e}"));
            assert_eq!(mapped.resource_type, read);
            assert_eq!(
                matches!(mapped.content, Content::Patient { .. }),
                read == RecordType::Patient
            );
            bad_dates += mapped.bad_dates;
            *counts.entry(read.name()).or_default() += 1;
            // and what was read renders back as valid R4
            let rendered = match &mapped.content {
                Content::Patient { demographics, .. } => Resource::Patient(render::patient(
                    "p1",
                    demographics
                        .nhs_number
                        .unwrap_or_else(|| NhsNumber::parse("9990000018").unwrap()),
                    demographics,
                )),
                Content::Entry(e) => render::entry(
                    e,
                    "x1",
                    &RenderContext {
                        patient: "Patient/p1",
                        resolve: &resolve,
                    },
                ),
            };
            let json = serde_json::to_value(&rendered).unwrap();
            assert!(
                icr_testkit::fhir_r4().is_valid(&json),
                "{name}: not valid R4: {json:#}"
            );
            rendered_valid += 1;
        }
    }
    let expected: BTreeMap<&str, usize> = [
        ("AllergyIntolerance", 10),
        ("Appointment", 3),
        ("CarePlan", 1),
        ("CareTeam", 1),
        ("Condition", 8),
        ("DiagnosticReport", 8),
        ("DocumentReference", 1),
        ("Encounter", 6),
        ("Flag", 1),
        ("Immunization", 13),
        ("MedicationRequest", 9),
        ("MedicationStatement", 5),
        ("Observation", 44),
        ("Patient", 24),
        ("Procedure", 1),
        ("RelatedPerson", 2),
        ("ServiceRequest", 10),
    ]
    .into_iter()
    .collect();
    assert_eq!(counts, expected);
    assert_eq!(counts.values().sum::<usize>(), 147);
    assert_eq!(medications, 6);
    assert_eq!(ignored, 73, "resources of types the adapter does not read");
    assert_eq!(bad_dates, 0, "the corpus dates are all valid");
    assert_eq!(rendered_valid, 147);
}

#[test]
fn the_corpus_goes_through_the_fuzz_entry_point() {
    icr_testkit::require_corpora!(UkCore);
    for (_, bytes) in corpus_files() {
        icr_adapter_fhir_r4::fuzz_bundle(&bytes);
    }
}
