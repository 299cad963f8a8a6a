//! Every Bundle the simulator serves for the story patients validates
//! against the official FHIR R4 JSON schema (draft-06).

mod common;

use common::{client, get, link, resources};
use icr_sim::fhir::SEARCH_TYPES;
use icr_sim::{Kind, Org};
use serde_json::Value;

fn validator() -> &'static jsonschema::Validator {
    icr_testkit::fhir_r4()
}

fn check(v: &jsonschema::Validator, what: &str, doc: &Value) {
    let errors: Vec<String> = v
        .iter_errors(doc)
        .take(5)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{what} is not valid FHIR R4: {errors:#?}"
    );
}

/// What the schema does not check but FHIR requires of a searchset.
fn check_bundle(what: &str, b: &Value) {
    assert_eq!(b["resourceType"], "Bundle", "{what}");
    assert_eq!(b["type"], "searchset", "{what}");
    assert!(b["total"].is_u64(), "{what}");
    assert!(link(b, "self").is_some(), "{what}");
    for e in b["entry"].as_array().into_iter().flatten() {
        let full = e["fullUrl"].as_str().unwrap();
        let r = &e["resource"];
        let rt = r["resourceType"].as_str().unwrap();
        let id = r["id"].as_str().unwrap();
        assert!(full.ends_with(&format!("/{rt}/{id}")), "{what}: {full}");
        assert!(r["meta"]["lastUpdated"].is_string(), "{what}: {rt}/{id}");
    }
}

#[tokio::test]
async fn story_patients_bundles_are_valid_fhir_r4() {
    icr_testkit::require_corpora!(R4Schema);
    let v = validator();
    let sim = common::start(20).await;
    let c = client();
    let mut validated = 0;
    let mut resource_count = 0;
    let stories: Vec<_> = sim
        .population()
        .iter()
        .take(icr_sim::STORY_COUNT)
        .cloned()
        .collect();
    let fhir_r4 = |o: &Org| o.kind() == Kind::FhirR4;
    for p in &stories {
        assert!(p.story.is_some());
        for h in p.holdings.iter().filter(|h| fhir_r4(&h.org)) {
            let ep = sim.endpoint(h.org.id()).unwrap();
            let url = format!(
                "{ep}/Patient?identifier=https://fhir.nhs.uk/Id/nhs-number|{}",
                p.nhs_number
            );
            let (s, _, b) = get(&c, &url).await;
            assert_eq!(s, 200);
            assert_eq!(b["total"], 1);
            check(v, &format!("{} Patient search", h.org), &b);
            check_bundle("Patient search", &b);
            validated += 1;
            for t in SEARCH_TYPES.iter() {
                let expected = h.records_of(t).count();
                // One page with everything, and the first page of pages of two.
                for count in [500, 2] {
                    let url = format!("{ep}/{t}?patient={}&_count={count}", h.patient_id);
                    let (s, ct, b) = get(&c, &url).await;
                    assert_eq!(s, 200, "{url}");
                    assert_eq!(ct, "application/fhir+json");
                    let what = format!("{} {t} for {}", h.org, h.patient_id);
                    check(v, &what, &b);
                    check_bundle(&what, &b);
                    assert_eq!(b["total"].as_u64(), Some(expected as u64), "{what}");
                    let rs = resources(&b);
                    assert_eq!(rs.len(), expected.min(count), "{what}");
                    for r in rs {
                        assert_eq!(r["resourceType"], *t, "{what}");
                    }
                    if count == 500 {
                        resource_count += expected;
                    }
                    validated += 1;
                }
            }
        }
        let outside = sim
            .sources()
            .into_iter()
            .filter(|id| Org::from_id(id).is_some_and(|o| fhir_r4(&o)))
            .filter(|id| !p.orgs().any(|o| o.id() == id))
            .collect::<Vec<_>>();
        for id in outside {
            let ep = sim.endpoint(&id).unwrap();
            let url = format!("{ep}/Patient?identifier={}", p.nhs_number);
            let (_, _, b) = get(&c, &url).await;
            assert_eq!(b["total"], 0);
            check(v, "empty Patient search", &b);
        }
    }
    assert!(validated > 300, "{validated}");
    // Every record of every story patient was served and validated.
    let records: usize = stories
        .iter()
        .flat_map(|p| &p.holdings)
        .filter(|h| fhir_r4(&h.org))
        .map(|h| h.records.len())
        .sum();
    assert_eq!(resource_count, records);
    // 148 at the four trusts (with Margaret Ellery's two immunisations at
    // gwh), Robert Pennington's 6 at whc, and Isla Carthew's 17 at
    // oxford-health and 11 at hcrg.
    assert_eq!(records, 182);

    // The other documents the servers write.
    let ep = sim.endpoint("gwh").unwrap();
    let (_, _, mut cap) = get(&c, &format!("{ep}/metadata")).await;
    // The shipped schema was generated from R4 4.0.0, whose fhirVersion
    // value set predates 4.0.1 (the R4 technical correction every R4 server
    // reports); check everything else.
    assert_eq!(cap["fhirVersion"], "4.0.1");
    cap["fhirVersion"] = "4.0.0".into();
    check(v, "CapabilityStatement", &cap);
    for url in [format!("{ep}/Nothing"), format!("{ep}/Flag")] {
        let (_, _, oo) = get(&c, &url).await;
        assert_eq!(oo["resourceType"], "OperationOutcome");
        check(v, "OperationOutcome", &oo);
    }
    sim.shutdown().await;
}

#[test]
fn the_schema_rejects_what_it_should() {
    icr_testkit::require_corpora!(R4Schema);
    // A guard that the validator is really checking.
    let v = validator();
    let bad = serde_json::json!({"resourceType": "Bundle", "type": "searchset", "total": "one"});
    assert!(!v.is_valid(&bad));
    let bad = serde_json::json!({"resourceType": "Condition", "subject": {"reference": "Patient/p1"}, "onsetDateTime": "last week"});
    assert!(!v.is_valid(&bad));
}
