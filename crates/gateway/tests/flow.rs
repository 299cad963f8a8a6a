//! The request flow against scripted sources, over real HTTP on loopback:
//! validation, statuses, deadlines, merging, the cache, both renderings.

mod common;

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use common::*;
use icr_adapter_sdk::SourceError;
use icr_model::*;

const ALL: &str = "demographics,contacts,care_team,medications,allergies,conditions,results,documents,procedures,referrals,appointments,alerts";

#[tokio::test]
async fn invalid_nhs_numbers_are_refused_with_the_reason() {
    let (base, calls) = start(
        1000,
        vec![(
            spec("a", ALL, 500, 0),
            Script::Answer(SourceRecord::default(), Duration::ZERO),
        )],
    )
    .await;
    let cases = [
        (
            "9434765918",
            "\"9434765918\" is not a valid NHS number: the check digit is 8 but the first nine digits require 9",
        ),
        (
            "943476591",
            "\"943476591\" is not a valid NHS number: an NHS number has 10 digits, this has 9 characters",
        ),
        (
            "94347x5919",
            "\"94347x5919\" is not a valid NHS number: an NHS number has only digits 0-9, this has 'x'",
        ),
    ];
    for (nhs, message) in cases {
        let (status, headers, body) = get(&format!("{base}/v1/patients/{nhs}/record")).await;
        assert_eq!(status, 400);
        assert_eq!(
            body,
            serde_json::json!({"error": "invalid_nhs_number", "message": message})
        );
        assert_eq!(headers["cache-control"], "no-store");
        let (status, _, body) = get(&format!("{base}/fhir/r4/Patient/{nhs}/$everything")).await;
        assert_eq!(status, 400);
        assert_eq!(body["resourceType"], "OperationOutcome");
        assert_eq!(body["issue"][0]["diagnostics"], message);
    }
    let (status, _, body) = get(&format!(
        "{base}/v1/patients/9990000018/record?sections=allergies,labs"
    ))
    .await;
    assert_eq!(status, 400);
    assert_eq!(body["error"], "invalid_sections");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .starts_with("unknown section \"labs\"")
    );
    let (status, _, body) = get(&format!(
        "{base}/v1/patients/9990000018/record?section=allergies"
    ))
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("unknown_parameter"))
    );
    let (status, _, body) = get(&format!("{base}/v1/patients/9990000018/record?sections=")).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_sections"))
    );
    assert_eq!(
        calls[0].load(Ordering::SeqCst),
        0,
        "no source is asked for an invalid request"
    );
    let r = reqwest::Client::new()
        .post(format!("{base}/v1/patients/9990000018/record"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 405);
    assert_eq!(r.headers()["allow"], "GET, HEAD");
    let (status, _, _) = get(&format!("{base}/v2/nothing")).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn merged_view_with_provenance_and_statuses() {
    let (a, b) = (meta("gwh"), meta("ruh"));
    let ibuprofen = Entry::Medication(Medication {
        medication: Concept::coded(Coding::new(
            CodeSystem::Dmd,
            "39732311000001104",
            "Amoxicillin 250mg capsules",
        )),
        status: Some(MedicationStatus::Active),
        start: Some(day(2021, 2, 15)),
        ..Default::default()
    });
    let (base, _) = start(
        2000,
        vec![
            (
                spec("gwh", ALL, 1000, 0),
                Script::Answer(
                    record(
                        &a,
                        vec![
                            ("AllergyIntolerance/1", penicillin()),
                            ("MedicationStatement/7", ibuprofen.clone()),
                        ],
                    ),
                    Duration::ZERO,
                ),
            ),
            (
                spec("ruh", ALL, 1000, 0),
                Script::Answer(
                    record(&b, vec![("AllergyIntolerance/x9", penicillin())]),
                    Duration::from_millis(20),
                ),
            ),
            (
                spec("awp", ALL, 1000, 0),
                Script::Fail(SourceError::PatientNotFound, Duration::ZERO),
            ),
            (
                spec("sft", "alerts", 1000, 0),
                Script::Fail(
                    SourceError::Unavailable("cannot connect".into()),
                    Duration::ZERO,
                ),
            ),
        ],
    )
    .await;
    let (status, headers, body) = get(&format!(
        "{base}/v1/patients/9990000018/record?sections=allergies,medications,demographics"
    ))
    .await;
    assert_eq!(status, 200);
    assert_eq!(headers["cache-control"], "no-store");
    assert_eq!(headers["content-type"], "application/json");
    assert_valid_view(&body);
    assert_eq!(body["nhs_number"], "9990000018");
    assert_eq!(body["patient"]["names"][0]["family"], "Example");
    assert_eq!(body["patient"]["provenance"].as_array().unwrap().len(), 2);
    let allergies = body["sections"]["allergies"].as_array().unwrap();
    assert_eq!(
        allergies.len(),
        1,
        "the same allergy from two sources is one item"
    );
    assert_eq!(allergies[0]["code"]["codings"][0]["code"], "91936005");
    let sources: Vec<&str> = allergies[0]["provenance"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["source_id"].as_str().unwrap())
        .collect();
    assert_eq!(
        sources,
        ["gwh:AllergyIntolerance/1", "ruh:AllergyIntolerance/x9"]
    );
    assert_eq!(
        body["sections"]["medications"][0]["medication"]["codings"][0]["system"],
        "https://dmd.nhs.uk"
    );
    assert_eq!(
        body["sections"].as_object().unwrap().len(),
        2,
        "demographics is shown as patient"
    );
    let statuses: Vec<(&str, &str, u64)> = body["sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["source"].as_str().unwrap(),
                s["status"].as_str().unwrap(),
                s["items"].as_u64().unwrap(),
            )
        })
        .collect();
    // sft offers only alerts, which were not asked for: not asked at all.
    assert_eq!(
        statuses,
        [("gwh", "ok", 2), ("ruh", "ok", 1), ("awp", "not_found", 0)]
    );
    assert_eq!(
        body["sources"][2]["message"],
        "the source holds no record for this person"
    );
}

#[tokio::test]
async fn a_slow_source_times_out_and_the_rest_is_served_within_the_deadline() {
    let a = meta("gwh");
    let (base, _) = start(
        600,
        vec![
            (
                spec("gwh", ALL, 1000, 0),
                Script::Answer(record(&a, vec![("A/1", penicillin())]), Duration::ZERO),
            ),
            (
                spec("slow", ALL, 200, 0),
                Script::Answer(SourceRecord::default(), Duration::from_secs(30)),
            ),
            (
                spec("slower", ALL, 5000, 0),
                Script::Answer(SourceRecord::default(), Duration::from_secs(30)),
            ),
        ],
    )
    .await;
    let started = Instant::now();
    let (status, _, body) = get(&format!("{base}/v1/patients/9990000018/record")).await;
    let took = started.elapsed();
    assert_eq!(status, 200);
    assert!(
        took < Duration::from_millis(600 + 400),
        "answered in {took:?}"
    );
    assert_eq!(body["sources"][0]["status"], "ok");
    assert_eq!(
        body["sources"][1]["status"], "timeout",
        "own 200 ms timeout"
    );
    assert!(body["sources"][1]["latency_ms"].as_u64().unwrap() < 400);
    assert_eq!(
        body["sources"][2]["status"], "timeout",
        "request deadline of 600 ms"
    );
    assert_eq!(body["sections"]["allergies"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn all_unknown_is_404_and_all_failed_is_502_once_a_relationship_is_established() {
    let (base, _) = start(
        1000,
        vec![
            (
                spec("a", ALL, 500, 0),
                Script::Fail(SourceError::PatientNotFound, Duration::ZERO),
            ),
            (
                spec("b", ALL, 500, 0),
                Script::Fail(SourceError::PatientNotFound, Duration::ZERO),
            ),
        ],
    )
    .await;
    // With no organisation holding a record, no one is involved: without a
    // basis the answer is the same refusal as for a record someone holds,
    // so it tells nothing about whether one exists.
    let (status, _, body) = get(&format!("{base}/v1/patients/9990000018/record")).await;
    assert_eq!(status, 403);
    assert_eq!(body["code"], "NO_RELATIONSHIP");
    assert!(body.get("sources").is_none());
    let (status, _, body) =
        get_breaking_glass(&format!("{base}/v1/patients/9990000018/record"), GLASS).await;
    assert_eq!(status, 404);
    assert_valid_view(&body);
    assert!(body["patient"].is_null());
    let (status, _, outcome) = get_breaking_glass(
        &format!("{base}/fhir/r4/Patient/9990000018/$everything"),
        GLASS,
    )
    .await;
    assert_eq!(status, 404);
    assert_valid_fhir(&outcome);
    assert_eq!(outcome["resourceType"], "OperationOutcome");
    assert_eq!(outcome["issue"][0]["code"], "not-found");

    let (base, _) = start(
        1000,
        vec![
            (
                spec("a", ALL, 500, 0),
                Script::Fail(SourceError::PatientNotFound, Duration::ZERO),
            ),
            (
                spec("b", ALL, 500, 0),
                Script::Fail(
                    SourceError::HttpStatus {
                        status: 500,
                        what: "Patient search".into(),
                    },
                    Duration::ZERO,
                ),
            ),
            (
                spec("c", ALL, 500, 0),
                Script::Fail(
                    SourceError::Malformed("invalid JSON at line 1 column 2".into()),
                    Duration::ZERO,
                ),
            ),
        ],
    )
    .await;
    let (status, _, body) =
        get_breaking_glass(&format!("{base}/v1/patients/9990000018/record"), GLASS).await;
    assert_eq!(status, 502);
    assert_valid_view(&body);
    let statuses: Vec<(&str, &str)> = body["sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["status"].as_str().unwrap(),
                s["message"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        statuses,
        [
            ("not_found", "the source holds no record for this person"),
            ("error", "HTTP 500 from Patient search"),
            (
                "error",
                "malformed response: invalid JSON at line 1 column 2"
            ),
        ]
    );
    // As FHIR, an error answer is an OperationOutcome: why no record is
    // shown, then each source's status.
    let (status, _, outcome) = get_breaking_glass(
        &format!("{base}/fhir/r4/Patient/9990000018/$everything"),
        GLASS,
    )
    .await;
    assert_eq!(status, 502);
    assert_valid_fhir(&outcome);
    assert_eq!(outcome["resourceType"], "OperationOutcome");
    let issues: Vec<(&str, &str, &str)> = outcome["issue"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["severity"].as_str().unwrap(),
                i["code"].as_str().unwrap(),
                i["diagnostics"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        issues,
        [
            (
                "error",
                "transient",
                "no source answered, so no record can be shown; try again later"
            ),
            (
                "information",
                "not-found",
                "the source holds no record for this person"
            ),
            ("error", "exception", "HTTP 500 from Patient search"),
            (
                "error",
                "exception",
                "malformed response: invalid JSON at line 1 column 2"
            ),
        ]
    );
    assert_eq!(
        outcome["issue"][2]["details"]["coding"][0]["code"], "error",
        "each source's status, coded"
    );
}

#[tokio::test]
async fn cache_shares_one_upstream_call_and_never_keeps_failures() {
    let a = meta("gwh");
    let (base, calls) = start(
        2000,
        vec![
            (
                spec("gwh", ALL, 1000, 60),
                Script::Answer(
                    record(&a, vec![("A/1", penicillin())]),
                    Duration::from_millis(150),
                ),
            ),
            (
                spec("bad", ALL, 1000, 60),
                Script::Fail(
                    SourceError::HttpStatus {
                        status: 503,
                        what: "Patient search".into(),
                    },
                    Duration::from_millis(10),
                ),
            ),
        ],
    )
    .await;
    let url = format!("{base}/v1/patients/9990000018/record");
    let (r1, r2, r3) = tokio::join!(get(&url), get(&url), get(&url));
    for (status, _, _) in [&r1, &r2, &r3] {
        assert_eq!(*status, 200);
    }
    assert_eq!(
        calls[0].load(Ordering::SeqCst),
        1,
        "concurrent requests share one call"
    );
    let cached: Vec<bool> = [&r1, &r2, &r3]
        .iter()
        .map(|r| r.2["sources"][0]["cached"].as_bool().unwrap())
        .collect();
    assert_eq!(
        cached.iter().filter(|c| !**c).count(),
        1,
        "exactly one request made the call: {cached:?}"
    );
    let (_, _, again) = get(&url).await;
    assert_eq!(again["sources"][0]["cached"], true);
    assert_eq!(again["sections"]["allergies"].as_array().unwrap().len(), 1);
    assert_eq!(calls[0].load(Ordering::SeqCst), 1);
    // A different set of sections is a different entry.
    let (_, _, narrow) = get(&format!("{url}?sections=allergies")).await;
    assert_eq!(narrow["sources"][0]["cached"], false);
    assert_eq!(calls[0].load(Ordering::SeqCst), 2);
    // Failures are not cached: every request asked the failing source again
    // (the three concurrent ones may have shared one fetch), and a 503 is
    // transient, so each fetch is one call and two retries.
    let bad = calls[1].load(Ordering::SeqCst);
    assert!(
        bad % 3 == 0 && (9..=15).contains(&bad),
        "failing source called {bad} times"
    );
    assert_eq!(again["sources"][1]["status"], "error");
}

/// A source's "no record for this person" is an answer, cached like a
/// record for the source's TTL so that a warm record makes no call: it
/// stays `not_found` (never skipped, never empty-looking), says it is
/// cached and when it was received, and a clinician's refresh asks again.
#[tokio::test]
async fn a_no_record_answer_is_cached_like_a_record_and_says_so() {
    let a = meta("gwh");
    let (base, calls) = start(
        2000,
        vec![
            (
                spec("gwh", ALL, 1000, 60),
                Script::Answer(record(&a, vec![("A/1", penicillin())]), Duration::ZERO),
            ),
            (
                spec("none", ALL, 1000, 60),
                Script::Fail(SourceError::PatientNotFound, Duration::ZERO),
            ),
        ],
    )
    .await;
    let url = format!("{base}/v1/patients/9990000018/record");
    let (status, _, first) = get(&url).await;
    assert_eq!(status, 200);
    assert_eq!(first["sources"][1]["status"], "not_found");
    assert_eq!(first["sources"][1]["cached"], false);
    let received = first["sources"][1]["fetched_at"]
        .as_str()
        .unwrap()
        .to_owned();
    let (_, _, again) = get(&url).await;
    assert_eq!(again["sources"][1]["status"], "not_found");
    assert_eq!(again["sources"][1]["cached"], true);
    assert_eq!(again["sources"][1]["fetched_at"], received.as_str());
    assert_eq!(again["sources"][0]["cached"], true);
    assert_eq!(calls[1].load(Ordering::SeqCst), 1, "asked once");
    assert_eq!(calls[0].load(Ordering::SeqCst), 1);
    let r = reqwest::Client::new()
        .get(&url)
        .bearer_auth(token("R8000", "RN3"))
        .header("Cache-Control", "no-cache")
        .send()
        .await
        .unwrap();
    let (_, _, fresh) = answer(r).await;
    assert_eq!(fresh["sources"][1]["status"], "not_found");
    assert_eq!(fresh["sources"][1]["cached"], false);
    assert_eq!(calls[1].load(Ordering::SeqCst), 2, "a refresh asks again");
}

/// Clinical safety (stale data shown as current): an answer served from
/// the cache carries the time it was fetched from the source — in the
/// view, and in the FHIR Bundle as an OperationOutcome saying so — never
/// the time of the request that read it.
#[tokio::test]
async fn a_cached_answer_says_when_it_was_fetched_in_the_view_and_the_bundle() {
    let a = meta("gwh");
    let (base, calls) = start(
        2000,
        vec![
            (
                spec("gwh", ALL, 1000, 60),
                Script::Answer(record(&a, vec![("A/1", penicillin())]), Duration::ZERO),
            ),
            (
                spec("bad", ALL, 1000, 60),
                Script::Fail(SourceError::Malformed("no".into()), Duration::ZERO),
            ),
        ],
    )
    .await;
    let url = format!("{base}/v1/patients/9990000018/record");
    let before = icr_model::time::OffsetDateTime::now_utc();
    let (_, _, first) = get(&url).await;
    let after = icr_model::time::OffsetDateTime::now_utc();
    let fetched = first["sources"][0]["fetched_at"]
        .as_str()
        .unwrap_or_else(|| panic!("no fetched_at: {first}"))
        .to_string();
    let at = icr_model::time::OffsetDateTime::parse(
        &fetched,
        &icr_model::time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    assert!(before <= at && at <= after, "{fetched} outside the request");
    assert_eq!(first["sources"][0]["cached"], false);
    // A source that gave no answer has no time of answer.
    assert_eq!(first["sources"][1]["status"], "error");
    assert!(first["sources"][1].get("fetched_at").is_none(), "{first}");

    tokio::time::sleep(Duration::from_millis(1100)).await;
    let (_, _, again) = get(&url).await;
    assert_valid_view(&again);
    assert_eq!(calls[0].load(Ordering::SeqCst), 1);
    assert_eq!(again["sources"][0]["cached"], true);
    assert_eq!(again["sources"][0]["fetched_at"], fetched.as_str());

    let (status, _, bundle) = get(&format!("{base}/fhir/r4/Patient/9990000018/$everything")).await;
    assert_eq!(status, 200);
    assert_valid_fhir(&bundle);
    let outcome = bundle["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["resource"])
        .find(|r| r["id"] == "source-gwh")
        .unwrap_or_else(|| panic!("no OperationOutcome for the cached source: {bundle}"));
    let said: Vec<(&str, &str, &str, &str)> = outcome["issue"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["severity"].as_str().unwrap(),
                i["code"].as_str().unwrap(),
                i["details"]["text"].as_str().unwrap(),
                i["diagnostics"].as_str().unwrap_or(""),
            )
        })
        .collect();
    // The source gives no last-updated time: its Provenances say when the
    // answer was fetched, not when this request read it from the cache.
    let recorded: Vec<&str> = bundle["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["resource"])
        .filter(|r| r["resourceType"] == "Provenance")
        .map(|r| r["recorded"].as_str().unwrap())
        .collect();
    assert_eq!(recorded, vec![fetched.as_str(); 2], "{bundle}");
    let cached_said =
        format!("served from the gateway's cache: fetched from the source at {fetched}");
    assert_eq!(
        said,
        vec![
            (
                "information",
                "informational",
                "Organisation gwh (gwh, RN3): ok",
                ""
            ),
            (
                "information",
                "informational",
                "Organisation gwh (gwh): cached",
                cached_said.as_str()
            ),
        ]
    );
}

/// Clinical safety (a conflict hidden): two sources holding one allergy
/// with different statuses are one item showing both values — in the view
/// as its `conflicts`, in the FHIR Bundle as a `sources-differ` warning
/// pointing at the resource.
#[tokio::test]
async fn a_conflict_between_sources_reaches_the_view_and_the_bundle() {
    let (a, b) = (meta("gwh"), meta("ruh"));
    let resolved = match penicillin() {
        Entry::Allergy(mut x) => {
            x.clinical_status = Some(AllergyClinicalStatus::Resolved);
            Entry::Allergy(x)
        }
        other => other,
    };
    let (base, _) = start(
        2000,
        vec![
            (
                spec("gwh", ALL, 1000, 0),
                Script::Answer(record(&a, vec![("A/1", penicillin())]), Duration::ZERO),
            ),
            (
                spec("ruh", ALL, 1000, 0),
                Script::Answer(record(&b, vec![("A/2", resolved)]), Duration::ZERO),
            ),
        ],
    )
    .await;
    let (status, _, view) = get(&format!("{base}/v1/patients/9990000018/record")).await;
    assert_eq!(status, 200);
    assert_valid_view(&view);
    let allergies = view["sections"]["allergies"].as_array().unwrap();
    assert_eq!(allergies.len(), 1, "{view}");
    let mut values: Vec<(String, String)> = allergies[0]["conflicts"][0]["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| (v["sources"][0].to_string(), v["value"].to_string()))
        .collect();
    values.sort();
    assert_eq!(allergies[0]["conflicts"][0]["field"], "clinical_status");
    assert_eq!(
        values,
        vec![
            ("\"gwh\"".to_string(), "\"active\"".to_string()),
            ("\"ruh\"".to_string(), "\"resolved\"".to_string())
        ]
    );

    let (status, _, bundle) = get(&format!("{base}/fhir/r4/Patient/9990000018/$everything")).await;
    assert_eq!(status, 200);
    assert_valid_fhir(&bundle);
    let entries = bundle["entry"].as_array().unwrap();
    let allergy = entries
        .iter()
        .find(|e| e["resource"]["resourceType"] == "AllergyIntolerance")
        .unwrap();
    let warnings = entries
        .iter()
        .map(|e| &e["resource"])
        .find(|r| r["id"] == "warnings")
        .unwrap_or_else(|| panic!("no warnings OperationOutcome: {bundle}"));
    let differ: Vec<(&str, &str, String)> = warnings["issue"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["details"]["coding"][0]["code"] == "sources-differ")
        .map(|i| {
            (
                i["severity"].as_str().unwrap(),
                i["diagnostics"].as_str().unwrap(),
                i["expression"][0].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        differ,
        vec![(
            "warning",
            "Allergy to penicillin (allergies): sources holding it differ on clinical_status",
            format!(
                "Bundle.entry.where(fullUrl = '{}')",
                allergy["fullUrl"].as_str().unwrap()
            )
        )]
    );
}

#[tokio::test]
async fn fhir_everything_is_a_valid_searchset_with_provenance() {
    let (a, b) = (meta("gwh"), meta("ruh"));
    let (base, _) = start(
        2000,
        vec![
            (
                spec("gwh", ALL, 1000, 0),
                Script::Answer(
                    record(&a, vec![("AllergyIntolerance/1", penicillin())]),
                    Duration::ZERO,
                ),
            ),
            (
                spec("ruh", ALL, 1000, 0),
                Script::Answer(
                    record(&b, vec![("AllergyIntolerance/x9", penicillin())]),
                    Duration::ZERO,
                ),
            ),
            (
                spec("awp", ALL, 100, 0),
                Script::Answer(SourceRecord::default(), Duration::from_secs(10)),
            ),
        ],
    )
    .await;
    let (status, headers, bundle) =
        get(&format!("{base}/fhir/r4/Patient/9990000018/$everything")).await;
    assert_eq!(status, 200);
    assert_eq!(
        headers["content-type"],
        "application/fhir+json; fhirVersion=4.0"
    );
    assert_eq!(headers["cache-control"], "no-store");
    assert_valid_fhir(&bundle);
    assert_eq!(bundle["resourceType"], "Bundle");
    assert_eq!(bundle["type"], "searchset");
    assert_eq!(bundle["total"], 2, "Patient and one merged allergy");
    let entries = bundle["entry"].as_array().unwrap();
    let kinds: Vec<(&str, &str)> = entries
        .iter()
        .map(|e| {
            (
                e["resource"]["resourceType"].as_str().unwrap(),
                e["search"]["mode"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        [
            ("Patient", "match"),
            ("Provenance", "include"),
            ("Provenance", "include"),
            ("AllergyIntolerance", "match"),
            ("Provenance", "include"),
            ("Provenance", "include"),
            ("OperationOutcome", "outcome"),
        ]
    );
    assert_eq!(entries[0]["resource"]["id"], "9990000018");
    assert_eq!(
        entries[0]["resource"]["identifier"][0]["system"],
        "https://fhir.nhs.uk/Id/nhs-number"
    );
    let allergy_url = entries[3]["fullUrl"].as_str().unwrap();
    let prov = &entries[4]["resource"];
    assert_eq!(prov["target"][0]["reference"], allergy_url);
    assert_eq!(prov["agent"][0]["who"]["identifier"]["value"], "RN3");
    assert_eq!(prov["agent"][0]["who"]["display"], "Organisation gwh");
    assert_eq!(
        prov["entity"][0]["what"]["identifier"]["system"],
        "urn:icr:source:gwh"
    );
    assert_eq!(
        prov["entity"][0]["what"]["identifier"]["value"],
        "AllergyIntolerance/1"
    );
    assert_eq!(
        entries[5]["resource"]["entity"][0]["what"]["identifier"]["system"],
        "urn:icr:source:ruh"
    );
    assert_eq!(
        entries[3]["resource"]["patient"]["reference"],
        entries[0]["fullUrl"]
    );
    let oo = &entries[6]["resource"];
    assert_eq!(oo["id"], "source-awp");
    assert_eq!(oo["issue"][0]["code"], "timeout");
    assert_eq!(
        oo["issue"][0]["details"]["text"],
        "Organisation awp (awp, RN3): timeout"
    );

    // _type narrows; an unknown type is refused.
    let (status, _, narrow) = get(&format!(
        "{base}/fhir/r4/Patient/9990000018/%24everything?_type=AllergyIntolerance"
    ))
    .await;
    assert_eq!(status, 200);
    assert_valid_fhir(&narrow);
    assert_eq!(narrow["total"], 1);
    let (status, _, bad) = get(&format!(
        "{base}/fhir/r4/Patient/9990000018/$everything?_type=Basic"
    ))
    .await;
    assert_eq!(status, 400);
    assert_eq!(bad["issue"][0]["code"], "not-supported");

    let (status, _, cap) = get(&format!("{base}/fhir/r4/metadata")).await;
    assert_eq!(status, 200);
    assert_valid_fhir(&cap);
    assert_eq!(cap["fhirVersion"], "4.0.1");
}

#[tokio::test]
async fn health_and_readiness() {
    let (base, _) = start(
        1000,
        vec![(
            spec("a", ALL, 500, 0),
            Script::Answer(SourceRecord::default(), Duration::ZERO),
        )],
    )
    .await;
    let (status, _, body) = get(&format!("{base}/healthz")).await;
    assert_eq!((status, body), (200, serde_json::json!({"status": "ok"})));
    let (status, _, body) = get(&format!("{base}/readyz")).await;
    assert_eq!(
        (status, body),
        (200, serde_json::json!({"status": "ready", "sources": 1}))
    );
}

#[tokio::test]
async fn every_record_request_needs_a_valid_token() {
    let (base, calls) = start(
        1000,
        vec![(
            spec("a", ALL, 500, 0),
            Script::Answer(SourceRecord::default(), Duration::ZERO),
        )],
    )
    .await;
    let url = format!("{base}/v1/patients/9990000018/record");
    let (status, headers, body) = get_as(&url, None).await;
    assert_eq!(status, 401);
    assert_eq!(
        body,
        serde_json::json!({"error": "unauthenticated", "reason": "missing_token", "message": "no Authorization header: send Authorization: Bearer <JWT>"})
    );
    // No token at all: a challenge with no error code (RFC 6750 §3.1).
    assert_eq!(headers["www-authenticate"], "Bearer realm=\"icr-gateway\"");
    let (status, _, body) = get_as(&url, Some("not.a.jwt")).await;
    assert_eq!(
        (status, body["reason"].as_str()),
        (401, Some("malformed_token"))
    );
    // Authentication comes first: an invalid NHS number is not even looked at.
    let (status, _, _) = get_as(&format!("{base}/v1/patients/123/record"), None).await;
    assert_eq!(status, 401);
    let (status, _, outcome) = get_as(
        &format!("{base}/fhir/r4/Patient/9990000018/$everything"),
        None,
    )
    .await;
    assert_eq!(status, 401);
    assert_eq!(outcome["resourceType"], "OperationOutcome");
    assert_eq!(outcome["issue"][0]["code"], "login");
    assert_valid_fhir(&outcome);
    assert_eq!(
        calls[0].load(Ordering::SeqCst),
        0,
        "no source is asked without a token"
    );
    // The CapabilityStatement is public, as FHIR clients discover servers with it.
    let (status, _, _) = get_as(&format!("{base}/fhir/r4/metadata"), None).await;
    assert_eq!(status, 200);
    let (status, _, _) = get(&url).await;
    assert_eq!(status, 200);
}
