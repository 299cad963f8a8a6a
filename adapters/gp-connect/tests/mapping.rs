//! A representative set of the GP Connect examples mapped field by field,
//! and the List warnings, empty lists, identity checks and bounds on
//! answers built from them.

mod common;

use common::*;
use icr_adapter_gp_connect::answer;
use icr_adapter_gp_connect::record::{RecordContext, read_record};
use icr_adapter_sdk::SourceError;
use icr_model::{IssueKind as K, Section as S, SectionSet, SourceIssue, SourceRecord};
use serde_json::{Value, json};

fn example(file: &str) -> String {
    let (_, bytes) = icr_testkit::corpus_files("gpconnect-stu3", "json")
        .into_iter()
        .find(|(n, _)| n == file)
        .unwrap_or_else(|| panic!("{file} is not in the corpus"));
    // The examples' 9999999999 passes the check digit but is never issued.
    String::from_utf8(bytes)
        .unwrap()
        .replace("9999999999", "9990000026")
}

fn wanted(sections: &[S]) -> SectionSet {
    let mut w: SectionSet = sections.iter().copied().collect();
    w.insert(S::Demographics);
    w
}

fn record(text: &str, sections: &[S], resolved: bool, issues: bool) -> SourceRecord {
    read(
        text.as_bytes(),
        nhs("9990000026"),
        wanted(sections),
        resolved,
        issues,
    )
    .unwrap()
}

/// The items as (local id, entry JSON).
fn items(r: &SourceRecord) -> Vec<(String, Value)> {
    r.items
        .iter()
        .map(|i| {
            (
                i.provenance.record.local().to_string(),
                serde_json::to_value(&i.entry).unwrap(),
            )
        })
        .collect()
}

fn snomed(code: &str, display: &str) -> Value {
    json!({"codings": [{"system": "http://snomed.info/sct", "code": code, "display": display}]})
}

#[test]
fn the_patient_is_the_demographics() {
    icr_testkit::require_corpora!(GpConnect);
    let r = record(
        &example("allergies_response1.json"),
        &[S::Allergies],
        true,
        false,
    );
    let p = r.patient.unwrap();
    assert_eq!(
        p.provenance.record.to_string(),
        "gp-y90001:Patient/04603d77-1a4e-4d63-b246-d7504f8bd833"
    );
    assert_eq!(p.provenance.origin.organisation, "The Trevelyan Practice");
    assert_eq!(
        serde_json::to_value(&p.demographics).unwrap(),
        json!({
            "nhs_number": "9990000026",
            "names": [{"use": "official", "prefix": ["Miss"], "given": ["Jane"], "family": "Jackson", "text": "JACKSON Jane (Miss)"}],
            "birth_date": "1952-05-31",
            "gender": "female",
            "addresses": [{"use": "home", "lines": ["Cable Place", "Roundhay"], "city": "Leeds", "district": "West Yorkshire", "postcode": "LS1 5HT"}],
            "telecom": [{"system": "phone", "value": "01454587554", "use": "home"}],
            "registered_practice": "O001"
        })
    );
}

#[test]
fn allergies_current_and_ended() {
    icr_testkit::require_corpora!(GpConnect);
    let r = record(
        &example("allergies_response1.json"),
        &[S::Allergies],
        true,
        false,
    );
    let got = items(&r);
    assert_eq!(got.len(), 4);
    assert_eq!(
        got[0],
        (
            "AllergyIntolerance/6bff710a-0bdc-4c9b-b98b-40db0a107edc".into(),
            json!({
                "code": snomed("323509004", "Amoxicillin 250mg capsules"),
                "clinical_status": "active",
                "verification": "unconfirmed",
                "category": ["medication"],
                "criticality": "low",
                "reactions": [{"manifestations": [snomed("304386008", "O/E - itchy rash")], "severity": "mild"}],
                "recorded": "2012-05-07T00:00:00Z",
                "notes": ["Certainty: Likely, Severity: Minimal, NOTES: Some freetext notes"]
            })
        )
    );
    assert_eq!(
        got[1].1,
        json!({
            "code": {"codings": [{"system": "http://snomed.info/sct", "code": "256349002", "display": "Peanut - dietary"}], "text": "Nut allergy"},
            "clinical_status": "active",
            "verification": "unconfirmed",
            "category": ["environment"],
            "criticality": "high",
            "reactions": [{
                "manifestations": [{"codings": [{"system": "http://snomed.info/sct", "code": "241933001", "display": "Peanut-induced anaphylaxis"}], "text": "Anaphalactic shock"}],
                "severity": "severe"
            }],
            "recorded": "2016-02-08T10:57:34Z",
            "notes": ["Certainty: Certain, Severity: Life Threatening, NOTES: notes on the peanut allergy"]
        })
    );
    assert_eq!(
        got[2].0,
        "AllergyIntolerance/d92b7d42-554d-4c92-b829-e76508185702"
    );
    // The ended allergy is contained in its List and keeps why it ended.
    assert_eq!(
        got[3],
        (
            "AllergyIntolerance/Resolved-1".into(),
            json!({
                "code": snomed("319773006", "Aspirin 75mg dispersible tablet"),
                "clinical_status": "resolved",
                "verification": "unconfirmed",
                "category": ["medication"],
                "criticality": "low",
                "reactions": [{"manifestations": [snomed("422400008", "Vomiting")], "severity": "severe"}],
                "recorded": "2011-05-07T00:00:00Z",
                "notes": [
                    "Allergy Type: Adverse Reaction, Certainty: Absolute, Severity: Very Severe, NOTES: Some freetext notes",
                    "Reason ended: Patient reports no subsequent recurrence on same medication"
                ]
            })
        )
    );
    // Without ended allergies asked for, the ended List is not read.
    let r = record(
        &example("allergies_response1.json"),
        &[S::Allergies],
        false,
        false,
    );
    assert_eq!(r.items.len(), 3);
}

#[test]
fn medication_statements_resolve_their_medicine_and_prescriber_and_issues_are_prescriptions() {
    icr_testkit::require_corpora!(GpConnect);
    let text = example("meds_response.json");
    let r = record(&text, &[S::Medications], true, false);
    let got = items(&r);
    assert_eq!(got.len(), 3, "without issues asked for, statements only");
    assert_eq!(
        got[0],
        (
            "MedicationStatement/6bff710a-0bdc-4c9b-b98b-40db0a107edc".into(),
            json!({
                "medication": snomed("323509004", "Amoxicillin 250mg capsules"),
                "kind": "statement",
                "status": "completed",
                "dosage": "TAKE ONE DAILY",
                "start": "2016-05-10",
                "recorded": "2016-05-10",
                "prescriber": "Miss Nichole Gilbert",
                "notes": ["Pharmacy Notes: NOTES FOR PHARMACY"]
            })
        )
    );
    assert_eq!(
        got[2].1,
        json!({
            "medication": snomed("319773006", "Aspirin 75mg dispersible tablets"),
            "kind": "statement",
            "status": "active",
            "dosage": "TAKE ONE DAILY",
            "start": "2016-08-11",
            "recorded": "2016-08-11",
            "prescriber": "Miss Nichole Gilbert",
            "notes": ["SOME NOTES"]
        })
    );
    let r = record(&text, &[S::Medications], true, true);
    let ids: Vec<String> = items(&r).into_iter().map(|(id, _)| id).collect();
    assert_eq!(
        ids,
        [
            "MedicationStatement/6bff710a-0bdc-4c9b-b98b-40db0a107edc",
            "MedicationRequest/ca89c863-1569-4e0f-ae8c-31bf98367555",
            "MedicationStatement/985eba1d-e4fd-41ad-90aa-f840dff453d9",
            "MedicationStatement/791ceb40-db0a-491d-ab0f-22f5a08509fd",
            "MedicationRequest/8afe3af9-995d-4ccc-9211-f8c2620be670",
            "MedicationRequest/a946012a-283b-46c4-8312-e1312a54ab9c",
        ]
    );
    assert_eq!(
        items(&r)[5].1,
        json!({
            "medication": snomed("319773006", "Aspirin 75mg dispersible tablets"),
            "kind": "prescription",
            "status": "completed",
            "dosage": "TAKE ONE 3 TIMES/DAY",
            "start": "2016-09-11",
            "prescriber": "Miss Nichole Gilbert",
            "notes": ["NOTES FOR PHARMACY"]
        })
    );
}

#[test]
fn investigations_are_reports_with_their_results() {
    icr_testkit::require_corpora!(GpConnect);
    let text = example("pathology_response2.json").replace("9432003812", "9990000026");
    let r = record(&text, &[S::Results], true, false);
    let got = items(&r);
    assert_eq!(got.len(), 2);
    // The report has no date of its own: its specimen's collection date.
    assert_eq!(
        got[0],
        (
            "DiagnosticReport/efae5859-28df-4e7d-be91-6df56d8215e4".into(),
            json!({
                "kind": "report",
                "code": snomed("721981007", "Diagnostic studies report"),
                "status": "final",
                "effective": "2017-11-01T11:00:00Z",
                "issued": "2019-03-03T12:00:00Z",
                "members": ["gp-y90001:Observation/dacb177a-9501-4dcc-8b22-b941791ae0db"],
                "performer": "ST JAMES'S UNIVERSITY HOSPITAL"
            })
        )
    );
    assert_eq!(
        got[1],
        (
            "Observation/dacb177a-9501-4dcc-8b22-b941791ae0db".into(),
            json!({
                "kind": "observation",
                "category": [snomed("394595002", "Pathology")],
                "code": snomed("1030791000000100", "Prostate specific antigen level"),
                "status": "final",
                "effective": "2017-11-01T15:00:00Z",
                "value": {"quantity": {"value": 5.9, "unit": "ug/L"}},
                "reference_range": [{"low": {"value": 0.0}, "high": {"value": 4.0}}],
                "performer": "ST JAMES'S UNIVERSITY HOSPITAL"
            })
        )
    );
    // A full blood count: the report, its test group, and the group's 18 results.
    let text = example("pathology_response1.json").replace("9432003812", "9990000026");
    let r = record(&text, &[S::Results], true, false);
    let got = items(&r);
    assert_eq!(got.len(), 20);
    assert_eq!(got[1].1["members"].as_array().unwrap().len(), 18);
    assert_eq!(
        got[1].1["code"],
        snomed("26604007", "FBC - Full blood count")
    );
    let wbc = got
        .iter()
        .find(|(id, _)| id == "Observation/dacb177a-9501-4dcc-8b22-b941791ae067")
        .unwrap();
    assert_eq!(
        wbc.1["value"],
        json!({"quantity": {"value": 5.7, "unit": "10*9/L"}})
    );
    assert_eq!(
        wbc.1["reference_range"],
        json!([{"low": {"value": 3.5}, "high": {"value": 11.0}}])
    );
    assert_eq!(wbc.1["effective"], json!("2019-04-01T11:00:00Z"));
}

#[test]
fn immunisations_are_procedures_marked_as_immunisations() {
    icr_testkit::require_corpora!(GpConnect);
    let r = record(
        &example("immunizations_response2.json"),
        &[S::Procedures],
        true,
        false,
    );
    let got = items(&r);
    let site = json!([snomed("368209003", "Right upper arm")]);
    assert_eq!(
        got,
        vec![
            (
                "Immunization/eba25af1-5b74-4790-aa5a-2134fd27ad45".to_string(),
                json!({
                    "code": snomed("170378007", "First hepatitis A vaccination"),
                    "status": "completed",
                    "performed": "2019-06-28",
                    "body_site": site,
                    "performers": ["Miss Nichole Gilbert"],
                    "notes": ["Notes on adminstration of vaccine"],
                    // The vaccine is a NullFlavor: not known, so empty.
                    "immunisation": {"vaccine": {}, "lot_number": "AAJN11K"}
                })
            ),
            (
                "Immunization/eba25af1-5b74-4790-aa5a-2134fd27ad46".to_string(),
                json!({
                    "code": snomed("6041000175108", "Hepatitis A vaccination not done"),
                    "status": "not-done",
                    "performed": "2019-09-28",
                    "body_site": site,
                    "performers": ["Miss Nichole Gilbert"],
                    "notes": ["Notes on adminstration of vaccine"],
                    "immunisation": {"vaccine": {}, "lot_number": "AAJN11K"}
                })
            ),
        ]
    );
}

#[test]
fn referrals() {
    icr_testkit::require_corpora!(GpConnect);
    let r = record(
        &example("referrals_response1.json"),
        &[S::Referrals],
        true,
        false,
    );
    let got = items(&r);
    assert_eq!(
        got[1],
        (
            "ReferralRequest/Consultation1-Topic5-Category-Plan-ReferralRequest-1".into(),
            json!({
                "code": snomed("308447003", "Referral to physiotherapist"),
                "status": "unknown",
                "priority": "routine",
                "authored": "2019-03-28T10:30:00Z",
                "performers": ["Dr Dave"],
                "reasons": [snomed("308447003", "Referral to physiotherapist")],
                "notes": ["Referral due to swollen legs"]
            })
        )
    );
}

#[test]
fn consultations_and_problems() {
    icr_testkit::require_corpora!(GpConnect);
    // The example's problems and consultations name another Patient id than
    // its Patient's; made consistent here to read their fields.
    let text = example("consultations_response1.json").replace(
        "9340157B-6973-4209-9B57-BF6C64F29E46",
        "04603d77-1a4e-4d63-b246-d7504f8bd833",
    );
    let r = record(&text, &[S::Appointments, S::Conditions], true, false);
    let got = items(&r);
    let ids: Vec<&str> = got.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "Condition/Problem-A-Anxiety-With-Depression",
            "Condition/Problem-B-Swollen-Legs",
            "Condition/Problem-D-URTI",
            "Condition/Problem-E-Post-viral-cough",
            "Encounter/Encounter1",
            "Encounter/Encounter2",
            "Encounter/Encounter3",
        ]
    );
    assert_eq!(
        got[1].1,
        json!({
            "code": {"codings": [{"system": "http://snomed.info/sct", "code": "449614009", "display": "Swelling of lower limb"}], "text": "Swollen legs"},
            "clinical_status": "active",
            "category": [{"text": "problem-list-item"}],
            "onset": "2019-03-28T10:30:00Z",
            "recorded": "2019-03-28T10:30:00Z",
            "notes": ["due to obesity and poor mobility and previous DVT"]
        })
    );
    assert_eq!(
        got[4].1,
        json!({
            "kind": "encounter",
            "status": "finished",
            "service_type": [{"text": "Surgery Consultation"}],
            "start": "2019-03-28T10:30:00Z",
            "end": "2019-03-28T10:38:00Z",
            "participants": ["Miss Nichole Gilbert"]
        })
    );
}

/// allergies_response2 with the List's extensions replaced by warnings.
fn with_warnings(codes: &[&str], empty: bool) -> String {
    let mut v: Value = serde_json::from_str(&example("allergies_response2.json")).unwrap();
    for e in v["entry"].as_array_mut().unwrap() {
        if e["resource"]["resourceType"] == "List" {
            let list = &mut e["resource"];
            list["extension"] = codes
                .iter()
                .map(|c| {
                    json!({
                        "url": "https://fhir.nhs.uk/STU3/StructureDefinition/Extension-CareConnect-GPC-ListWarningCode-1",
                        "valueCode": c
                    })
                })
                .collect();
            if empty {
                list["entry"] = json!([]);
                list["emptyReason"] = json!({"coding": [{
                    "system": "https://fhir.nhs.uk/STU3/CodeSystem/CareConnect-ListEmptyReasonCode-1",
                    "code": "no-content-recorded"
                }]});
            }
        }
    }
    v.to_string()
}

fn issues(r: &SourceRecord) -> Vec<(K, Option<S>, String)> {
    r.issues
        .iter()
        .map(
            |SourceIssue {
                 kind,
                 section,
                 message,
             }| (*kind, *section, message.clone()),
        )
        .collect()
}

#[test]
fn confidential_items_are_withheld_and_other_warnings_are_notes() {
    icr_testkit::require_corpora!(GpConnect);
    let r = record(
        &with_warnings(&["confidential-items"], false),
        &[S::Allergies],
        false,
        false,
    );
    assert_eq!(r.items.len(), 1);
    assert_eq!(
        issues(&r),
        [(
            K::Withheld,
            Some(S::Allergies),
            "items withheld by the source (confidential)".to_string()
        )]
    );
    // Only confidential items recorded: an empty List with both.
    let r = record(
        &with_warnings(&["confidential-items"], true),
        &[S::Allergies],
        false,
        false,
    );
    assert!(r.items.is_empty());
    assert_eq!(issues(&r)[0].0, K::Withheld);
    let r = record(
        &with_warnings(
            &["data-in-transit", "data-awaiting-filing", "new-code"],
            false,
        ),
        &[S::Allergies],
        false,
        false,
    );
    assert_eq!(
        issues(&r),
        [
            (
                K::Note,
                Some(S::Allergies),
                "the record is still being transferred from the patient's previous practice; allergies recorded there may be missing".to_string()
            ),
            (
                K::Note,
                Some(S::Allergies),
                "some allergies are awaiting filing at the practice and have not been reviewed for sharing".to_string()
            ),
            (
                K::Note,
                Some(S::Allergies),
                "the source flagged the allergies list with warning code new-code".to_string()
            ),
        ]
    );
    // A code that is not a plain code is not echoed.
    let r = record(
        &with_warnings(&["<b>Jane Smith</b>"], false),
        &[S::Allergies],
        false,
        false,
    );
    assert_eq!(
        issues(&r),
        [(
            K::Note,
            Some(S::Allergies),
            "the source put an unreadable warning code on the allergies list".to_string()
        )]
    );
}

#[test]
fn an_empty_list_is_nothing_recorded_not_a_failure() {
    icr_testkit::require_corpora!(GpConnect);
    let r = record(&with_warnings(&[], true), &[S::Allergies], false, false);
    assert!(r.items.is_empty());
    assert!(r.issues.is_empty(), "{:?}", r.issues);
    assert!(r.patient.is_some());
}

#[test]
fn the_answer_must_be_about_the_person_asked_for() {
    icr_testkit::require_corpora!(GpConnect);
    let text = example("allergies_response2.json");
    let e = read(
        text.as_bytes(),
        nhs("9990000018"),
        wanted(&[S::Allergies]),
        false,
        false,
    )
    .unwrap_err();
    assert_eq!(
        e,
        SourceError::IdentityMismatch(
            "the Patient in the answer has an NHS number other than the one asked for".into()
        )
    );
    assert!(!e.to_string().contains("9990000026"));
    // Two Patients.
    let mut v: Value = serde_json::from_str(&text).unwrap();
    let patient = v["entry"][0].clone();
    v["entry"].as_array_mut().unwrap().push(patient);
    let e = read(
        v.to_string().as_bytes(),
        nhs("9990000026"),
        wanted(&[]),
        false,
        false,
    )
    .unwrap_err();
    assert_eq!(
        e,
        SourceError::IdentityMismatch("the structured record has more than one Patient".into())
    );
    // An item about someone else (by NHS number): the whole answer mixes
    // people, and nothing of it is used.
    let mut v: Value = serde_json::from_str(&text).unwrap();
    for e in v["entry"].as_array_mut().unwrap() {
        if e["resource"]["resourceType"] == "AllergyIntolerance" {
            e["resource"]["patient"] = json!({"identifier": {"system": "https://fhir.nhs.uk/Id/nhs-number", "value": "9990000018"}});
        }
    }
    let e = read(
        v.to_string().as_bytes(),
        nhs("9990000026"),
        wanted(&[S::Allergies]),
        false,
        false,
    )
    .unwrap_err();
    assert!(
        matches!(&e, SourceError::IdentityMismatch(m) if m.contains("about another NHS number")),
        "{e:?}"
    );
}

#[test]
fn what_is_not_a_structured_record_is_an_error() {
    let w = wanted(&[S::Allergies]);
    let n = nhs("9990000026");
    for (body, expected) in [
        (
            &b"\xff\xfe"[..],
            "malformed response: the answer is not UTF-8 text",
        ),
        (
            b"[]",
            "malformed response: the structured record cannot be read: Bundle: not a JSON object",
        ),
        (
            b"{\"resourceType\":\"Bundle\",\"entry\":[",
            "malformed response: the structured record cannot be read: Bundle: truncated JSON at line 1 column 34",
        ),
        (
            b"{\"resourceType\":\"Patient\"}",
            "malformed response: the answer is not a Bundle",
        ),
        (
            b"{\"resourceType\":\"Bundle\"}",
            "malformed response: the structured record has no Patient",
        ),
    ] {
        let e = read(body, n, w, false, false).unwrap_err();
        assert_eq!(e.to_string(), expected);
    }
    // An OperationOutcome with a 200 still means what its code says.
    let oo = serde_json::to_vec(&icr_fhir_stu3::Resource::OperationOutcome(
        icr_fhir_stu3::outcome::operation_outcome(
            "error",
            icr_fhir_stu3::SpineCode::NoPatientConsent,
            None,
        ),
    ))
    .unwrap();
    assert_eq!(
        read(&oo, n, w, false, false).unwrap_err(),
        answer::withheld()
    );
}

#[test]
fn entries_beyond_the_limit_are_reported_as_truncated() {
    icr_testkit::require_corpora!(GpConnect);
    let text = example("meds_response.json");
    let meta = meta();
    let ctx = RecordContext {
        meta: &meta,
        nhs_number: nhs("9990000026"),
        wanted: wanted(&[S::Medications]),
        include_resolved_allergies: false,
        include_prescription_issues: false,
        max_entries: 5,
    };
    let r = read_record(text.as_bytes(), &ctx).unwrap();
    assert!(r.items.is_empty());
    let got = issues(&r);
    assert_eq!(
        got[0],
        (
            K::Truncated,
            None,
            "the answer had 17 Bundle entries; only the first 5 were read".to_string()
        )
    );
    assert_eq!(
        got[1],
        (
            K::Unreadable,
            Some(S::Medications),
            "3 medications list entries refer to resources not in the answer and are missing"
                .to_string()
        )
    );
}

#[test]
fn resources_named_many_times_are_read_once() {
    icr_testkit::require_corpora!(GpConnect);
    // The allergies List three times over: one item, no duplicates.
    let mut v: Value = serde_json::from_str(&example("allergies_response2.json")).unwrap();
    let list = v["entry"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["resource"]["resourceType"] == "List")
        .unwrap()
        .clone();
    v["entry"]
        .as_array_mut()
        .unwrap()
        .extend([list.clone(), list]);
    let r = record(&v.to_string(), &[S::Allergies], false, false);
    assert_eq!(r.items.len(), 1);
    assert!(r.issues.is_empty(), "{:?}", r.issues);

    // 600 reports each grouping the same 600 results (12 MB, within the
    // default body limit): every result is read once, so reading is linear
    // in the answer's size (the bound only catches a quadratic regression
    // on a slow debug build).
    let n = 600;
    let patient = json!({"resource": {"resourceType": "Patient", "id": "p1",
        "identifier": [{"system": "https://fhir.nhs.uk/Id/nhs-number", "value": "9990000026"}]}});
    let results: Vec<Value> = (0..n)
        .map(|i| json!({"reference": format!("Observation/o{i}")}))
        .collect();
    let mut entries = vec![
        patient,
        json!({"resource": {"resourceType": "List",
            "code": {"coding": [{"system": "http://snomed.info/sct", "code": "887191000000108"}]},
            "entry": (0..n).map(|i| json!({"item": {"reference": format!("DiagnosticReport/r{i}")}})).collect::<Vec<_>>()}}),
    ];
    entries.extend((0..n).map(|i| {
        json!({"resource": {"resourceType": "DiagnosticReport", "id": format!("r{i}"), "status": "final",
            "code": {"text": "Panel"}, "result": results}})
    }));
    entries.extend((0..n).map(|i| {
        json!({"resource": {"resourceType": "Observation", "id": format!("o{i}"), "status": "final",
            "code": {"text": "Result"}, "valueQuantity": {"value": i}}})
    }));
    let bundle = json!({"resourceType": "Bundle", "type": "collection", "entry": entries});
    let started = std::time::Instant::now();
    let r = record(&bundle.to_string(), &[S::Results], false, false);
    assert_eq!(r.items.len(), 2 * n);
    assert!(r.issues.is_empty(), "{:?}", r.issues);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(60),
        "{:?}",
        started.elapsed()
    );
}
