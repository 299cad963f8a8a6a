//! Every GP Connect 1.6 example of the shared corpus: the 23 structured
//! record Bundles are read and mapped (each against the sections its
//! request asked for, asserting the items per section and every issue
//! exactly), and the 15 request Parameters are read, checked as a
//! provider checks them, and rebuilt by the adapter's request builder.
//!
//! The pathology and uncategorised examples carry the NHS number
//! 9432003812, whose check digit is wrong: their requests are refused as a
//! provider refuses them (INVALID_NHS_NUMBER). The other examples carry
//! 9999999999, one digit repeated, which passes the check digit but is
//! never issued. To map the Bundles and rebuild the requests, both are
//! replaced by the valid test number 9990000026.

mod common;

use std::collections::BTreeMap;

use common::*;
use icr_fhir_stu3::{Resource, SpineCode, StructuredRequest, read_bundle, read_resource};
use icr_model::{IssueKind as K, Section as S, SectionSet};

const FILES: usize = 38;
const REQUESTS: usize = 15;
const BUNDLES: usize = 23;

fn corpus() -> Vec<(String, Vec<u8>)> {
    let files = icr_testkit::corpus_files("gpconnect-stu3", "json");
    assert_eq!(files.len(), FILES, "the GP Connect corpus has changed");
    files
}

fn valid_nhs(bytes: &[u8]) -> Vec<u8> {
    String::from_utf8(bytes.to_vec())
        .unwrap()
        .replace("9432003812", "9990000026")
        .replace("9999999999", "9990000026")
        .into_bytes()
}

type Issue = (K, Option<S>, &'static str);

struct Expect {
    file: &'static str,
    sections: &'static [S],
    resolved: bool,
    items: &'static [(&'static str, usize)],
    issues: &'static [Issue],
}

const ALL_ITEMS: &[Expect] = &[
    Expect {
        file: "allergies_response1.json",
        sections: &[S::Allergies],
        resolved: true,
        items: &[("allergies", 4)],
        issues: &[(
            K::Unreadable,
            Some(S::Allergies),
            "1 allergies list entry refers to resources not in the answer and is missing",
        )],
    },
    Expect {
        file: "allergies_response2.json",
        sections: &[S::Allergies],
        resolved: false,
        items: &[("allergies", 1)],
        issues: &[],
    },
    Expect {
        file: "allergies_response3.json",
        sections: &[S::Allergies],
        resolved: false,
        items: &[],
        issues: &[],
    },
    Expect {
        file: "consultations_forwards_response1.json",
        sections: &[S::Allergies, S::Medications, S::Conditions, S::Appointments],
        resolved: true,
        items: &[("allergies", 4), ("medications", 5)],
        issues: &[
            (
                K::Note,
                Some(S::Medications),
                "14 element(s) of medications resources were not in the STU3 shape and were read in the nearest STU3 shape",
            ),
            (
                K::Unreadable,
                Some(S::Allergies),
                "1 allergies list entry refers to resources not in the answer and is missing",
            ),
            (
                K::SectionFailed,
                Some(S::Conditions),
                "the source does not support problems (includeProblems is not implemented there); they are missing",
            ),
            (
                K::SectionFailed,
                Some(S::Appointments),
                "the source does not support consultations (includeConsultations is not implemented there); they are missing",
            ),
        ],
    },
    Expect {
        file: "consultations_response1.json",
        sections: &[S::Appointments, S::Conditions, S::Medications],
        resolved: true,
        items: &[("medications", 4)],
        issues: &[
            (
                K::Unreadable,
                Some(S::Conditions),
                "4 element(s) of problems resources could not be read and were left out",
            ),
            (
                K::Note,
                Some(S::Conditions),
                "10 element(s) of problems resources were not in the STU3 shape and were read in the nearest STU3 shape",
            ),
            (
                K::Note,
                Some(S::Conditions),
                "4 problems resource(s) refer to a Patient not in the answer and were left out",
            ),
            (
                K::Note,
                Some(S::Appointments),
                "3 consultations resource(s) refer to a Patient not in the answer and were left out",
            ),
        ],
    },
    Expect {
        file: "consultations_response2.json",
        sections: &[S::Appointments],
        resolved: true,
        items: &[],
        issues: &[(
            K::SectionFailed,
            Some(S::Appointments),
            "the source returned no consultations list; they are missing",
        )],
    },
    Expect {
        file: "consultations_response3.json",
        sections: &[S::Appointments],
        resolved: true,
        items: &[],
        issues: &[(
            K::SectionFailed,
            Some(S::Appointments),
            "the source returned no consultations list; they are missing",
        )],
    },
    Expect {
        file: "diaryentries_response1.json",
        sections: &[],
        resolved: true,
        items: &[],
        issues: &[],
    },
    Expect {
        file: "immunizations_response1.json",
        sections: &[S::Procedures],
        resolved: true,
        items: &[("procedures", 1)],
        issues: &[],
    },
    Expect {
        file: "immunizations_response2.json",
        sections: &[S::Procedures],
        resolved: true,
        items: &[("procedures", 2)],
        issues: &[],
    },
    Expect {
        file: "immunizations_response3.json",
        sections: &[S::Procedures],
        resolved: true,
        items: &[],
        issues: &[(
            K::Note,
            Some(S::Procedures),
            "1 immunisations resource(s) refer to a Patient not in the answer and were left out",
        )],
    },
    Expect {
        file: "meds_response.json",
        sections: &[S::Medications],
        resolved: true,
        items: &[("medications", 6)],
        issues: &[(
            K::Note,
            Some(S::Medications),
            "11 element(s) of medications resources were not in the STU3 shape and were read in the nearest STU3 shape",
        )],
    },
    Expect {
        file: "pathology_response1.json",
        sections: &[S::Results],
        resolved: true,
        items: &[("results", 20)],
        issues: &[],
    },
    Expect {
        file: "pathology_response2.json",
        sections: &[S::Results],
        resolved: true,
        items: &[("results", 2)],
        issues: &[],
    },
    Expect {
        file: "problems_response1.json",
        sections: &[S::Conditions],
        resolved: true,
        items: &[],
        issues: &[(
            K::SectionFailed,
            Some(S::Conditions),
            "the source returned no problems list; they are missing",
        )],
    },
    Expect {
        file: "problems_response2.json",
        sections: &[S::Conditions],
        resolved: true,
        items: &[],
        issues: &[(
            K::SectionFailed,
            Some(S::Conditions),
            "the source returned no problems list; they are missing",
        )],
    },
    Expect {
        file: "problems_response3.json",
        sections: &[S::Conditions],
        resolved: true,
        items: &[],
        issues: &[(
            K::SectionFailed,
            Some(S::Conditions),
            "the source returned no problems list; they are missing",
        )],
    },
    Expect {
        file: "referrals_response1.json",
        sections: &[S::Referrals],
        resolved: true,
        items: &[("referrals", 2)],
        issues: &[],
    },
    Expect {
        file: "skeleton_full_record.json",
        sections: &[
            S::Allergies,
            S::Medications,
            S::Conditions,
            S::Appointments,
            S::Procedures,
        ],
        resolved: true,
        items: &[],
        issues: &[
            (
                K::Note,
                None,
                "the Patient in the answer carries no NHS number; it is matched only by the number asked for",
            ),
            (
                K::SectionFailed,
                Some(S::Medications),
                "the source returned no medications list; they are missing",
            ),
            (
                K::SectionFailed,
                Some(S::Allergies),
                "the source returned no allergies list; they are missing",
            ),
            (
                K::SectionFailed,
                Some(S::Allergies),
                "the source returned no ended allergies list; they are missing",
            ),
            (
                K::SectionFailed,
                Some(S::Conditions),
                "the source returned no problems list; they are missing",
            ),
            (
                K::SectionFailed,
                Some(S::Procedures),
                "the source returned no immunisations list; they are missing",
            ),
            (
                K::SectionFailed,
                Some(S::Appointments),
                "the source returned no consultations list; they are missing",
            ),
        ],
    },
    Expect {
        file: "uncategorised_response1.json",
        sections: &[],
        resolved: true,
        items: &[],
        issues: &[],
    },
    Expect {
        file: "uncategorised_response2.json",
        sections: &[],
        resolved: true,
        items: &[],
        issues: &[],
    },
    Expect {
        file: "uncategorised_response3.json",
        sections: &[],
        resolved: true,
        items: &[],
        issues: &[],
    },
];

/// The one example that is not a whole structured record: it has no Patient.
const NOT_A_RECORD: &str = "split_plan.json";

#[test]
fn every_bundle_is_read_and_every_known_resource_in_it_reads() {
    icr_testkit::require_corpora!(GpConnect);
    let files = corpus();
    let bundles: Vec<&(String, Vec<u8>)> = files
        .iter()
        .filter(|(n, _)| !n.contains("request"))
        .collect();
    assert_eq!(bundles.len(), BUNDLES);
    let mut typed = BTreeMap::<String, usize>::new();
    for (name, bytes) in &bundles {
        let text = std::str::from_utf8(bytes).unwrap();
        let b = read_bundle(text).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(b.resource_type.as_deref(), Some("Bundle"), "{name}");
        assert_eq!(b.type_.as_deref(), Some("collection"), "{name}");
        assert!(!b.entries.is_empty(), "{name}");
        for e in &b.entries {
            let ty = e
                .resource_type()
                .unwrap_or_else(|| panic!("{name}: entry without type"));
            let read = match ty.as_str() {
                "Patient" => read_resource::<icr_fhir_stu3::Patient>(&ty, e.resource).map(|_| ()),
                "Organization" => {
                    read_resource::<icr_fhir_stu3::Organization>(&ty, e.resource).map(|_| ())
                }
                "Practitioner" => {
                    read_resource::<icr_fhir_stu3::Practitioner>(&ty, e.resource).map(|_| ())
                }
                "PractitionerRole" => {
                    read_resource::<icr_fhir_stu3::PractitionerRole>(&ty, e.resource).map(|_| ())
                }
                "Location" => read_resource::<icr_fhir_stu3::Location>(&ty, e.resource).map(|_| ()),
                "List" => read_resource::<icr_fhir_stu3::List>(&ty, e.resource).map(|_| ()),
                "AllergyIntolerance" => {
                    read_resource::<icr_fhir_stu3::AllergyIntolerance>(&ty, e.resource).map(|_| ())
                }
                "Condition" => {
                    read_resource::<icr_fhir_stu3::Condition>(&ty, e.resource).map(|_| ())
                }
                "Medication" => {
                    read_resource::<icr_fhir_stu3::Medication>(&ty, e.resource).map(|_| ())
                }
                "MedicationStatement" => {
                    read_resource::<icr_fhir_stu3::MedicationStatement>(&ty, e.resource).map(|_| ())
                }
                "MedicationRequest" => {
                    read_resource::<icr_fhir_stu3::MedicationRequest>(&ty, e.resource).map(|_| ())
                }
                "Encounter" => {
                    read_resource::<icr_fhir_stu3::Encounter>(&ty, e.resource).map(|_| ())
                }
                "Observation" => {
                    read_resource::<icr_fhir_stu3::Observation>(&ty, e.resource).map(|_| ())
                }
                "DiagnosticReport" => {
                    read_resource::<icr_fhir_stu3::DiagnosticReport>(&ty, e.resource).map(|_| ())
                }
                "ProcedureRequest" => {
                    read_resource::<icr_fhir_stu3::ProcedureRequest>(&ty, e.resource).map(|_| ())
                }
                "Specimen" => read_resource::<icr_fhir_stu3::Specimen>(&ty, e.resource).map(|_| ()),
                "Immunization" => {
                    read_resource::<icr_fhir_stu3::Immunization>(&ty, e.resource).map(|_| ())
                }
                "ReferralRequest" => {
                    read_resource::<icr_fhir_stu3::ReferralRequest>(&ty, e.resource).map(|_| ())
                }
                "OperationOutcome" => {
                    read_resource::<icr_fhir_stu3::OperationOutcome>(&ty, e.resource).map(|_| ())
                }
                other => {
                    panic!("{name}: a resource type the corpus was not known to hold: {other}")
                }
            };
            read.unwrap_or_else(|err| panic!("{name}: {ty}: {err}"));
            *typed.entry(ty).or_default() += 1;
        }
    }
    let total: usize = typed.values().sum();
    assert_eq!(total, 332, "{typed:?}");
    assert_eq!(typed["Observation"], 74);
    assert_eq!(typed["List"], 80);
    assert_eq!(typed["Patient"], 22);
}

#[test]
fn every_bundle_maps_as_expected() {
    icr_testkit::require_corpora!(GpConnect);
    let files = corpus();
    let mut checked = 0;
    for (name, bytes) in files.iter().filter(|(n, _)| !n.contains("request")) {
        let bytes = valid_nhs(bytes);
        if name == NOT_A_RECORD {
            let e = read(&bytes, nhs("9990000026"), SectionSet::all(), true, true).unwrap_err();
            assert_eq!(
                e,
                icr_adapter_sdk::SourceError::Malformed(
                    "the structured record has no Patient".into()
                )
            );
            checked += 1;
            continue;
        }
        let x = ALL_ITEMS
            .iter()
            .find(|x| x.file == name)
            .unwrap_or_else(|| panic!("no expectation for {name}"));
        let mut wanted: SectionSet = x.sections.iter().copied().collect();
        wanted.insert(S::Demographics);
        let rec = read(&bytes, nhs("9990000026"), wanted, x.resolved, true)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let patient = rec
            .patient
            .as_ref()
            .unwrap_or_else(|| panic!("{name}: no patient"));
        let expected_nhs = (name != "skeleton_full_record.json").then(|| nhs("9990000026"));
        assert_eq!(patient.demographics.nhs_number, expected_nhs, "{name}");
        let mut items = BTreeMap::new();
        for i in &rec.items {
            *items.entry(i.entry.section().as_str()).or_insert(0usize) += 1;
            assert!(wanted.contains(i.entry.section()), "{name}");
            assert_eq!(i.provenance.origin.id.as_str(), "gp-y90001");
        }
        let expected: BTreeMap<&str, usize> = x.items.iter().copied().collect();
        assert_eq!(items, expected, "{name}");
        let issues: Vec<(K, Option<S>, String)> = rec
            .issues
            .iter()
            .map(|i| (i.kind, i.section, i.message.clone()))
            .collect();
        let expected: Vec<(K, Option<S>, String)> = x
            .issues
            .iter()
            .map(|(k, s, m)| (*k, *s, m.to_string()))
            .collect();
        assert_eq!(issues, expected, "{name}");
        checked += 1;
    }
    assert_eq!(checked, BUNDLES);
}

/// What a provider answers each example request with.
const REQUEST_CHECKS: &[(&str, Result<&[S], SpineCode>)] = &[
    ("allergies_request1.json", Ok(&[S::Allergies])),
    ("allergies_request2.json", Ok(&[S::Allergies])),
    ("allergies_request3.json", Ok(&[S::Allergies])),
    // includeProblems takes filterStatus, not includeStatus; and consultations
    // may not be combined with a medication search date.
    (
        "consultations_forwards_request1.json",
        Err(SpineCode::InvalidParameter),
    ),
    ("consultations_request1.json", Ok(&[S::Appointments])),
    ("diaryentries_request1.json", Ok(&[])),
    ("immunizations_request1.json", Ok(&[S::Procedures])),
    ("immunizations_request2.json", Ok(&[S::Procedures])),
    ("immunizations_request3.json", Ok(&[S::Procedures])),
    ("meds_request.json", Ok(&[S::Medications])),
    ("pathology_request1.json", Err(SpineCode::InvalidNhsNumber)),
    ("pathology_request2.json", Err(SpineCode::InvalidNhsNumber)),
    ("problems_request1.json", Ok(&[S::Conditions])),
    // The example spells the part referralsSearchPeriod; 1.6 defines referralSearchPeriod.
    ("referrals_request1.json", Err(SpineCode::InvalidParameter)),
    (
        "uncategorised_request1.json",
        Err(SpineCode::InvalidNhsNumber),
    ),
];

fn without_meta(mut v: serde_json::Value) -> serde_json::Value {
    if let Some(o) = v.as_object_mut() {
        o.remove("meta");
    }
    v
}

#[test]
fn every_request_reads_checks_and_rebuilds_the_same() {
    icr_testkit::require_corpora!(GpConnect);
    let files = corpus();
    let requests: Vec<&(String, Vec<u8>)> = files
        .iter()
        .filter(|(n, _)| n.contains("request"))
        .collect();
    assert_eq!(requests.len(), REQUESTS);
    let mut rebuilt = 0;
    for (name, bytes) in requests {
        // 9999999999 is never issued: the valid test number stands in.
        let bytes = &String::from_utf8(bytes.clone())
            .unwrap()
            .replace("9999999999", "9990000026")
            .into_bytes();
        let (_, expected) = REQUEST_CHECKS
            .iter()
            .find(|(f, _)| f == name)
            .unwrap_or_else(|| panic!("no expectation for {name}"));
        let text = std::str::from_utf8(bytes).unwrap();
        let (p, tolerated) =
            icr_fhir_stu3::read::<icr_fhir_stu3::Parameters>("Parameters", text).unwrap();
        assert!(tolerated.is_clean(), "{name}: {tolerated:?}");
        assert_eq!(
            p.parameter[0].name.as_deref(),
            Some("patientNHSNumber"),
            "{name}"
        );
        match (StructuredRequest::from_parameters(&p), expected) {
            (Ok(r), Ok(sections)) => {
                let mut want: SectionSet = sections.iter().copied().collect();
                want.insert(S::Demographics);
                assert_eq!(sections_of(&r), want, "{name}");
                assert_eq!(r.nhs_number, nhs("9990000026"));
                // The builder writes the same Parameters back.
                let again = serde_json::to_value(Resource::Parameters(r.to_parameters())).unwrap();
                let original: serde_json::Value = serde_json::from_slice(bytes).unwrap();
                assert_eq!(without_meta(again), without_meta(original), "{name}");
                rebuilt += 1;
            }
            (Err(e), Err(code)) => assert_eq!(e.code, *code, "{name}: {e}"),
            (got, want) => panic!("{name}: got {got:?}, expected {want:?}"),
        }
    }
    assert_eq!(rebuilt, 10);
}
