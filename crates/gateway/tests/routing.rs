//! Routing: the demographics service is asked for everyone, names the
//! registered GP practice, and only that practice is asked; its copy of the
//! demographics is the reference.

mod common;

use std::time::Duration;

use common::*;
use icr_adapter_sdk::{Routing, SourceError, SourceSpec};
use icr_model::*;
use std::sync::atomic::Ordering;

fn routed(id: &str, ods: &str, sections: &str, routing: Routing) -> SourceSpec {
    let mut s = spec(id, sections, 1000, 0);
    s.ods_code = OdsCode::parse(ods).unwrap();
    s.routing = routing;
    s
}

/// PDS's answer: the person registered at `practice`, maybe sensitive.
fn pds_record(practice: Option<&str>, sensitive: bool) -> SourceRecord {
    let pds = routed("pds", "X26", "demographics", Routing::Demographics).meta();
    let mut r = record(&pds, Vec::new());
    if let Some(p) = r.patient.as_mut() {
        p.demographics.registered_practice = practice.map(|o| OdsCode::parse(o).unwrap());
        p.demographics.sensitive = sensitive;
        p.demographics.addresses = vec![Address {
            postcode: Some("SN1 1AA".into()),
            ..Default::default()
        }];
    }
    r
}

fn practices_and_hospital(pds: Script) -> Vec<(SourceSpec, Script)> {
    let gp1 = routed(
        "gp-y90001",
        "Y90001",
        "allergies,medications",
        Routing::RegisteredPractice,
    );
    let gp2 = routed(
        "gp-y90002",
        "Y90002",
        "allergies,medications",
        Routing::RegisteredPractice,
    );
    let gwh = spec("gwh", "demographics,allergies", 1000, 0);
    let gp2_meta = gp2.meta();
    let gwh_meta = gwh.meta();
    vec![
        (
            routed("pds", "X26", "demographics", Routing::Demographics),
            pds,
        ),
        (gp1, Script::Answer(SourceRecord::default(), Duration::ZERO)),
        (
            gp2,
            Script::Answer(
                record(&gp2_meta, vec![("AllergyIntolerance/a1", penicillin())]),
                Duration::ZERO,
            ),
        ),
        (
            gwh,
            Script::Answer(
                record(&gwh_meta, vec![("AllergyIntolerance/9", penicillin())]),
                Duration::ZERO,
            ),
        ),
    ]
}

fn statuses(view: &serde_json::Value) -> Vec<(String, String)> {
    view["sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["source"].as_str().unwrap().into(),
                s["status"].as_str().unwrap().into(),
            )
        })
        .collect()
}

#[tokio::test]
async fn only_the_registered_practice_is_asked() {
    let (base, calls) = start(
        2000,
        practices_and_hospital(Script::Answer(
            pds_record(Some("Y90002"), false),
            Duration::from_millis(30),
        )),
    )
    .await;
    let (status, _, view) = get(&format!(
        "{base}/v1/patients/9990000018/record?sections=demographics,allergies"
    ))
    .await;
    assert_eq!(status, 200);
    assert_valid_view(&view);
    assert_eq!(
        statuses(&view),
        [
            ("pds".into(), "ok".into()),
            ("gp-y90002".into(), "ok".into()),
            ("gwh".into(), "ok".into())
        ]
    );
    assert_eq!(
        calls[1].load(Ordering::SeqCst),
        0,
        "the other practice is never asked"
    );
    assert_eq!(calls[2].load(Ordering::SeqCst), 1);
    // The GP's and the hospital's penicillin allergy are one item.
    let allergies = view["sections"]["allergies"].as_array().unwrap();
    assert_eq!(allergies.len(), 1);
    assert_eq!(allergies[0]["provenance"].as_array().unwrap().len(), 2);
    // PDS's copy is shown, though gwh's is as recent.
    assert_eq!(view["patient"]["provenance"][0]["source"], "pds");
    assert_eq!(view["patient"]["registered_practice"], "Y90002");

    // Sections no practice offers: no practice asked, no warning.
    let (_, _, view) = get(&format!(
        "{base}/v1/patients/9990000018/record?sections=demographics"
    ))
    .await;
    assert_eq!(
        statuses(&view),
        [("pds".into(), "ok".into()), ("gwh".into(), "ok".into())]
    );
    assert!(view["warnings"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn when_the_practice_cannot_be_found_the_reader_is_told_why() {
    let cases = [
        (
            Script::Answer(pds_record(Some("Y99999"), false), Duration::ZERO),
            "the registered GP practice (Y99999) was not asked: it has no endpoint in the practice directory",
        ),
        (
            Script::Answer(pds_record(None, false), Duration::ZERO),
            "no GP practice was asked: the demographics service records no registered practice",
        ),
        (
            Script::Fail(SourceError::PatientNotFound, Duration::ZERO),
            "the GP practice was not asked: the demographics service holds no record for this NHS number",
        ),
        (
            Script::Fail(
                SourceError::HttpStatus {
                    status: 503,
                    what: "PDS Patient read".into(),
                },
                Duration::ZERO,
            ),
            "the GP practice was not asked: the demographics service, which names it, failed (error)",
        ),
        (
            Script::Answer(pds_record(Some("Y90002"), false), Duration::from_secs(30)),
            "the GP practice was not asked: the demographics service, which names it, did not answer in time",
        ),
    ];
    for (pds, message) in cases {
        let (base, calls) = start(500, practices_and_hospital(pds)).await;
        let (status, _, view) = get(&format!(
            "{base}/v1/patients/9990000018/record?sections=allergies"
        ))
        .await;
        assert_eq!(status, 200, "{message}");
        assert_valid_view(&view);
        assert_eq!(
            calls[1].load(Ordering::SeqCst) + calls[2].load(Ordering::SeqCst),
            0,
            "{message}"
        );
        let warnings: Vec<(&str, &str)> = view["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|w| (w["code"].as_str().unwrap(), w["message"].as_str().unwrap()))
            .collect();
        assert_eq!(warnings, [("practice-not-asked", message)]);
        // The hospital's record is still there.
        assert_eq!(view["sections"]["allergies"].as_array().unwrap().len(), 1);
    }
}

#[tokio::test]
async fn a_sensitive_record_hides_address_everywhere_and_a_withholding_source_says_so() {
    let mut sources = practices_and_hospital(Script::Answer(
        pds_record(Some("Y90002"), true),
        Duration::ZERO,
    ));
    sources[2].1 = Script::Fail(
        SourceError::Withheld("the patient has dissented from sharing".into()),
        Duration::ZERO,
    );
    let (base, _) = start(2000, sources).await;
    let (status, _, view) = get(&format!("{base}/v1/patients/9990000018/record")).await;
    assert_eq!(status, 200);
    assert_valid_view(&view);
    assert_eq!(view["patient"]["sensitive"], true);
    assert!(view["patient"].get("addresses").is_none());
    assert!(!view.to_string().contains("SN1 1AA"));
    assert_eq!(view["sources"][1]["status"], "withheld");
    assert_eq!(
        view["sources"][1]["message"],
        "withheld by the source: the patient has dissented from sharing"
    );
    let (_, _, bundle) = get(&format!("{base}/fhir/r4/Patient/9990000018/$everything")).await;
    assert_valid_fhir(&bundle);
    assert!(!bundle.to_string().contains("SN1 1AA"));
    assert_eq!(
        bundle["entry"][0]["resource"]["meta"]["security"][0]["code"],
        "R"
    );
}

/// A practice clinician asks while the demographics service, which names
/// the person's practice, fails: whether their practice holds a record is
/// unknown, so the answer is a retryable 503 — and once the service names
/// another practice, a refusal.
#[tokio::test]
async fn a_practice_whose_involvement_is_unknown_because_pds_failed_is_told_to_retry() {
    let (base, _) = start(
        2000,
        practices_and_hospital(Script::Fail(
            SourceError::Unavailable("connection refused".into()),
            Duration::ZERO,
        )),
    )
    .await;
    let gp = token("R8000", "Y90001");
    let (status, headers, body) =
        get_as(&format!("{base}/v1/patients/9990000018/record"), Some(&gp)).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (503, Some("RELATIONSHIP_UNDECIDED")),
        "{body}"
    );
    assert!(headers.get("retry-after").is_some());

    let (base, _) = start(
        2000,
        practices_and_hospital(Script::Answer(
            pds_record(Some("Y90002"), false),
            Duration::ZERO,
        )),
    )
    .await;
    let (status, _, body) =
        get_as(&format!("{base}/v1/patients/9990000018/record"), Some(&gp)).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("NO_RELATIONSHIP")),
        "{body}"
    );
}
