//! Who may see what, end to end over HTTP: roles, relationship and
//! break-glass, objections (and their reloading), sensitive items, and the
//! audit record every attempt leaves.

mod common;

use std::sync::atomic::Ordering;
use std::time::Duration;

use common::*;
use icr_model::*;

const ALL: &str = "demographics,contacts,care_team,medications,allergies,conditions,results,documents,procedures,referrals,appointments,alerts";

/// gwh (RN3) holds the person: an allergy, a result, and an HIV diagnosis
/// (sensitive by code); one medication its source labels restricted.
fn gwh() -> Vec<(icr_adapter_sdk::SourceSpec, Script)> {
    let m = meta("gwh");
    let hiv = Entry::Condition(Condition {
        code: snomed("86406008", "Human immunodeficiency virus infection"),
        recorded: Some(day(2015, 5, 1)),
        ..Default::default()
    });
    let potassium = Entry::Result(TestResult {
        code: Concept::coded(Coding::new(CodeSystem::Loinc, "2823-3", "Potassium")),
        effective: Some(day(2026, 9, 3)),
        ..Default::default()
    });
    let labelled = Entry::Medication(Medication {
        medication: Concept::coded(Coding::new(
            CodeSystem::Dmd,
            "39732311000001104",
            "Amoxicillin 250mg capsules",
        )),
        start: Some(day(2026, 1, 1)),
        ..Default::default()
    });
    let mut record = record(
        &m,
        vec![
            ("AllergyIntolerance/1", penicillin()),
            ("Observation/2", potassium),
            ("Condition/3", hiv),
            ("MedicationStatement/4", labelled),
        ],
    );
    record.items[3].provenance.restricted = true;
    vec![(
        spec("gwh", ALL, 1000, 0),
        Script::Answer(record, Duration::ZERO),
    )]
}

fn url(base: &str) -> String {
    format!("{base}/v1/patients/9990000018/record")
}

async fn audit_entries(dir: &std::path::Path) -> Vec<icr_audit::AuditRecord> {
    // Every outcome written first: a completion being written is a torn
    // last line to the verifier.
    let records = common::audited(dir, &nhs(), 1000).await;
    let report = icr_audit::verify(&icr_audit::log_files(dir).unwrap()).unwrap();
    assert!(report.to_string().contains("entries"), "{report}");
    records
}

#[tokio::test]
async fn roles_see_what_their_job_needs_and_sensitive_items_are_withheld() {
    let s = start_with(2000, gwh(), Setup::default()).await;
    // A clinician: everything but the two sensitive items, and told how many.
    let (status, _, view) = get(&url(&s.base)).await;
    assert_eq!(status, 200);
    assert_valid_view(&view);
    assert_eq!(view["sections"]["allergies"].as_array().unwrap().len(), 1);
    assert_eq!(view["sections"]["results"].as_array().unwrap().len(), 1);
    assert!(
        view["sections"]["conditions"]
            .as_array()
            .unwrap()
            .is_empty(),
        "HIV diagnosis withheld"
    );
    assert!(
        view["sections"]["medications"]
            .as_array()
            .unwrap()
            .is_empty(),
        "restricted item withheld"
    );
    assert_eq!(
        view["withheld"],
        serde_json::json!({"count": 2, "by_section": {"conditions": 1, "medications": 1}})
    );
    assert!(
        !view.to_string().contains("86406008"),
        "never what was withheld"
    );
    // The same in FHIR: an OperationOutcome says how many.
    let (_, _, bundle) = get(&format!(
        "{}/fhir/r4/Patient/9990000018/$everything",
        s.base
    ))
    .await;
    assert_valid_fhir(&bundle);
    assert!(!bundle.to_string().contains("86406008"));
    assert!(bundle.to_string().contains("2 items withheld"));

    // A social worker sees no results.
    let (status, _, view) = get_as(&url(&s.base), Some(&token("R8014", "RN3"))).await;
    assert_eq!(status, 200);
    assert!(view["sections"].get("results").is_none());
    assert!(view["sections"].get("allergies").is_none());
    assert!(view["sections"].get("alerts").is_some());
    let (status, _, body) = get_as(
        &format!("{}?sections=results", url(&s.base)),
        Some(&token("R8014", "RN3")),
    )
    .await;
    assert_eq!((status, body["code"].as_str()), (403, Some("NO_SECTIONS")));

    // An unknown role is refused before any source is asked.
    let before = s.calls[0].load(Ordering::SeqCst);
    let (status, _, body) = get_as(&url(&s.base), Some(&token("R9999", "RN3"))).await;
    assert_eq!((status, body["code"].as_str()), (403, Some("UNKNOWN_ROLE")));
    assert_eq!(s.calls[0].load(Ordering::SeqCst), before);

    // A patient: their own record, not someone else's.
    let mine = token_for("patient", "RN3", Some("9990000018"));
    let (status, _, _) = get_as(&url(&s.base), Some(&mine)).await;
    assert_eq!(status, 200);
    let (status, _, body) = get_as(
        &format!("{}/v1/patients/9990000026/record", s.base),
        Some(&mine),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("NOT_OWN_RECORD"))
    );
}

#[tokio::test]
async fn no_relationship_is_refused_and_break_glass_is_recorded() {
    let s = start_with(2000, gwh(), Setup::default()).await;
    let ruh = token("R8000", "RD1");
    let (status, headers, body) = get_as(&url(&s.base), Some(&ruh)).await;
    assert_eq!(status, 403);
    assert_eq!(body["error"], "forbidden");
    assert_eq!(body["code"], "NO_RELATIONSHIP");
    assert!(
        body.get("sections").is_none() && body.get("sources").is_none(),
        "nothing released: {body}"
    );
    assert!(headers.contains_key("x-request-id"));
    // A reason that is no reason.
    let (status, _, body) = get_with(&url(&s.base), Some(&ruh), Some("because")).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("BREAK_GLASS_REASON_INVALID"))
    );
    // Breaking glass with a real reason.
    let (status, _, view) = get_with(&url(&s.base), Some(&ruh), Some(GLASS)).await;
    assert_eq!(status, 200);
    assert_eq!(view["sections"]["allergies"].as_array().unwrap().len(), 1);
    // Self-declared: the demo's emergency department (Y9E01).
    let (status, _, _) = get_as(&url(&s.base), Some(&token("R8000", "Y9E01"))).await;
    assert_eq!(status, 200);

    let entries = audit_entries(&s.audit_dir).await;
    let summary: Vec<(String, String, String, u16)> = entries
        .iter()
        .map(|e| {
            (
                e.user
                    .as_ref()
                    .map(|u| u.org.to_string())
                    .unwrap_or_default(),
                format!("{:?}", e.decision),
                e.reason.as_str().to_string(),
                e.http_status,
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (
                "RD1".into(),
                "Refused".into(),
                "no-relationship".into(),
                403
            ),
            (
                "RD1".into(),
                "Refused".into(),
                "break-glass-reason-invalid".into(),
                403
            ),
            ("RD1".into(), "Allowed".into(), "break-glass".into(), 200),
            (
                "Y9E01".into(),
                "Allowed".into(),
                "self-declared".into(),
                200
            ),
        ]
    );
    assert_eq!(entries[2].break_glass_reason.as_deref(), Some(GLASS));
    assert_eq!(entries[2].basis, icr_audit::Basis::BreakGlass);
    assert_eq!(
        entries[0].sources.len(),
        1,
        "the refused attempt still records what was asked"
    );
    assert_eq!(entries[0].items_released, 0);
    assert!(entries[2].items_released > 0);
    assert_eq!(entries[2].items_withheld, 2);
}

#[tokio::test]
async fn objections_are_honoured_and_re_read_when_the_register_changes() {
    let dir = std::env::temp_dir().join(format!("icr-objections-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let register = dir.join("objections.toml");
    std::fs::write(&register, "").unwrap();
    let s = start_with(
        2000,
        gwh(),
        Setup {
            objections_file: Some(register.clone()),
            ..Default::default()
        },
    )
    .await;
    let (status, _, _) = get(&url(&s.base)).await;
    assert_eq!(status, 200);

    // The person objects: from the next request on, nothing.
    std::thread::sleep(Duration::from_millis(20));
    std::fs::write(
        &register,
        "[[objection]]\nnhs_number = \"9990000018\"\nscope = \"all\"\n",
    )
    .unwrap();
    let (status, _, body) = get(&url(&s.base)).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("NO_PATIENT_CONSENT"))
    );
    // Break-glass does not override an objection in the demo policy.
    let (status, _, body) = get_breaking_glass(&url(&s.base), GLASS).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("NO_PATIENT_CONSENT"))
    );

    // Objecting to gwh's sharing only: others do not see gwh's record.
    std::thread::sleep(Duration::from_millis(20));
    std::fs::write(
        &register,
        "[[objection]]\nnhs_number = \"9990000018\"\nscope = \"organisations\"\norganisations = [\"RN3\"]\n",
    )
    .unwrap();
    let (status, _, view) =
        get_with(&url(&s.base), Some(&token("R8000", "RD1")), Some(GLASS)).await;
    assert_eq!(status, 200, "{view}");
    assert_eq!(view["sources"][0]["status"], "withheld");
    assert_eq!(
        view["sources"][0]["message"],
        "withheld by the source: not shared: the person has objected to this organisation sharing their record"
    );
    assert!(view["sections"]["allergies"].as_array().unwrap().is_empty());
    assert_eq!(
        s.calls[0].load(Ordering::SeqCst),
        1,
        "the objected organisation is never asked"
    );
    // gwh's own staff still see their own organisation's record.
    let (status, _, view) = get(&url(&s.base)).await;
    assert_eq!(status, 200, "{view}");

    // A broken register: no one's objections can be known, so everyone is refused.
    std::thread::sleep(Duration::from_millis(20));
    std::fs::write(&register, "[[objection]\nnhs_number = ").unwrap();
    let (status, _, body) = get(&url(&s.base)).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (503, Some("OBJECTIONS_UNAVAILABLE"))
    );
    std::fs::write(&register, "").unwrap();
    let (status, _, _) = get(&url(&s.base)).await;
    assert_eq!(status, 200);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn every_attempt_is_audited_and_nothing_is_released_when_the_audit_fails() {
    let s = start_with(
        2000,
        gwh(),
        Setup {
            audit_max_file_bytes: Some(1024),
            ..Default::default()
        },
    )
    .await;
    let (status, _, _) = get(&url(&s.base)).await;
    assert_eq!(status, 200);
    let (status, _, _) = get_as(&url(&s.base), None).await;
    assert_eq!(status, 401);
    let (status, _, _) = get(&format!("{}/v1/patients/9990000019/record", s.base)).await;
    assert_eq!(status, 400);
    let files = icr_audit::log_files(&s.audit_dir).unwrap();
    assert!(files.len() >= 2, "small files rotate: {files:?}");
    let report = icr_audit::verify(&files).unwrap();
    // The record released in two entries (begun, completed; the completion
    // is synced before the refusals after it), each refusal in one.
    assert!(
        report.to_string().contains(
            " 4 entries (3 accesses, 1 begun (0 with no outcome recorded), 0 recoveries)"
        ),
        "{report}"
    );

    // The audit directory becomes unusable: the next file cannot be made.
    // (The last answer's completion is written first: removing the
    // directory while the writer starts a file in it would race.)
    s.gateway.flush_audit().await;
    std::fs::remove_dir_all(&s.audit_dir).unwrap();
    std::fs::write(&s.audit_dir, b"not a directory").unwrap();
    let (status, _, body) = get(&url(&s.base)).await;
    assert_eq!(status, 503);
    assert_eq!(body["code"], "AUDIT_UNAVAILABLE");
    assert!(body.get("sections").is_none());
    let _ = std::fs::remove_file(&s.audit_dir);
}

#[tokio::test]
async fn once_the_audit_has_failed_requests_are_refused_at_admission_without_asking_sources() {
    // Small files: the next append must start a new file.
    let setup = Setup {
        audit_max_file_bytes: Some(1024),
        ..Default::default()
    };
    let s = start_with(2000, gwh(), setup).await;
    let (status, _, _) = get(&url(&s.base)).await;
    assert_eq!(status, 200);
    assert_eq!(s.calls[0].load(Ordering::SeqCst), 1);

    // The log's file disappears under it: the next append fails, and the
    // log is poisoned until restart. (The first answer's completion is
    // written first: with files this small it starts a new file, and
    // removing the directory meanwhile would race with it.)
    s.gateway.flush_audit().await;
    std::fs::remove_dir_all(&s.audit_dir).unwrap();
    std::fs::write(&s.audit_dir, b"not a directory").unwrap();
    // The first request after the failure may still have asked its sources
    // (the failure is found when its access is appended)…
    let (status, _, _) = get(&format!(
        "{}/v1/patients/9990000018/record?sections=allergies",
        s.base
    ))
    .await;
    assert_eq!(status, 503);
    let asked = s.calls[0].load(Ordering::SeqCst);
    // …but from then on nobody's sources are asked, and the caller is told
    // when to try again, on both interfaces.
    for path in [
        "/v1/patients/9990000018/record",
        "/fhir/r4/Patient/9990000018/$everything",
    ] {
        let (status, headers, body) = get(&format!("{}{path}", s.base)).await;
        assert_eq!(status, 503, "{path}: {body}");
        assert!(headers.get("retry-after").is_some(), "{path}: {headers:?}");
        let code = body["code"].as_str().or_else(|| {
            body.pointer("/issue/0/details/coding/0/code")
                .and_then(|c| c.as_str())
        });
        assert_eq!(code, Some("AUDIT_UNAVAILABLE"), "{path}: {body}");
    }
    assert_eq!(
        s.calls[0].load(Ordering::SeqCst),
        asked,
        "no source asked once the audit has failed"
    );
    let _ = std::fs::remove_file(&s.audit_dir);
}

#[tokio::test]
async fn who_looked_at_a_record_is_shown_to_privacy_officers_and_to_the_patient() {
    let s = start_with(2000, gwh(), Setup::default()).await;
    get(&url(&s.base)).await;
    get_with(&url(&s.base), Some(&token("R8000", "RD1")), Some(GLASS)).await;
    get_as(&url(&s.base), Some(&token("R8000", "RD1"))).await;

    let audit = format!("{}/v1/audit?patient=9990000018", s.base);
    // A clinician may not read the audit.
    let (status, _, body) = get(&audit).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("AUDIT_NOT_PERMITTED"))
    );
    // A privacy officer may: most recent first, who, from where, why.
    let officer = token("R0001", "X26");
    let (status, headers, view) = get_as(&audit, Some(&officer)).await;
    assert_eq!(status, 200, "{view}");
    assert_eq!(headers["cache-control"], "no-store");
    let accesses = view["accesses"].as_array().unwrap();
    let seen: Vec<(&str, &str, &str)> = accesses
        .iter()
        .map(|a| {
            (
                a["user"]["organisation"].as_str().unwrap(),
                a["decision"].as_str().unwrap(),
                a["basis"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            ("RN3", "refused", "none"),
            ("RD1", "refused", "none"),
            ("RD1", "allowed", "break-glass"),
            ("RN3", "allowed", "involved"),
        ],
        "the clinician's refused audit read is itself recorded"
    );
    assert_eq!(accesses[2]["break_glass_reason"], GLASS);
    assert_eq!(accesses[3]["user"]["name"], "Test User");
    assert_eq!(view["complete"], true);
    // The patient may read their own record's audit, as FHIR AuditEvents.
    let mine = token_for("patient", "RN3", Some("9990000018"));
    let (status, _, bundle) = get_as(
        &format!("{}/fhir/r4/AuditEvent?patient=9990000018", s.base),
        Some(&mine),
    )
    .await;
    assert_eq!(status, 200);
    assert_valid_fhir(&bundle);
    assert_eq!(bundle["type"], "searchset");
    assert!(bundle["entry"].as_array().unwrap().len() >= 5);
    assert_eq!(bundle["entry"][0]["resource"]["resourceType"], "AuditEvent");
    // Not someone else's.
    let (status, _, _) = get_as(
        &format!("{}/v1/audit?patient=9990000026", s.base),
        Some(&mine),
    )
    .await;
    assert_eq!(status, 403);
    let (status, _, _) = get_as(&format!("{}/v1/audit", s.base), Some(&officer)).await;
    assert_eq!(status, 400);

    // Readiness and metrics.
    let (status, _, body) = get_as(&format!("{}/readyz", s.base), None).await;
    assert_eq!((status, body["status"].as_str()), (200, Some("ready")));
    let metrics = reqwest::get(format!("{}/metrics", s.base))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.contains("\nicr_break_glass_total 1\n"), "{metrics}");
    assert!(metrics.contains("icr_audit_poisoned 0"), "{metrics}");
    assert!(!metrics.contains("9990000018"));
}

/// The caller's own organisation's system (gwh, RN3) fails in each way a
/// source can fail to answer, while another organisation (ruh, RD1)
/// answers with a record: whether the caller is involved cannot be told.
#[tokio::test]
async fn a_relationship_that_could_not_be_decided_is_a_retryable_503_never_a_refusal() {
    let ruh_spec = {
        let mut s = spec("ruh", ALL, 1000, 0);
        s.ods_code = OdsCode::parse("RD1").unwrap();
        s
    };
    let ruh_record = record(&meta("ruh"), vec![("AllergyIntolerance/9", penicillin())]);
    for failure in [
        icr_adapter_sdk::SourceError::Unavailable("concurrency limit reached".into()),
        icr_adapter_sdk::SourceError::Timeout { after_ms: 900 },
        icr_adapter_sdk::SourceError::HttpStatus {
            status: 500,
            what: "Patient search".into(),
        },
    ] {
        let sources = vec![
            (
                spec("gwh", ALL, 1000, 0),
                Script::Fail(failure.clone(), Duration::ZERO),
            ),
            (
                ruh_spec.clone(),
                Script::Answer(ruh_record.clone(), Duration::ZERO),
            ),
        ];
        let s = start_with(2000, sources, Setup::default()).await;
        // A clinician at Great Western Hospitals (RN3): their own system
        // did not answer, so their involvement is unknown — try again.
        let (status, headers, body) = get(&url(&s.base)).await;
        assert_eq!(status, 503, "{failure:?}: {body}");
        assert_eq!(
            body["code"], "RELATIONSHIP_UNDECIDED",
            "{failure:?}: {body}"
        );
        assert!(body.get("sections").is_none(), "nothing released: {body}");
        assert!(headers.get("retry-after").is_some(), "{headers:?}");
        let (status, headers, body) = get(&format!(
            "{}/fhir/r4/Patient/9990000018/$everything",
            s.base
        ))
        .await;
        assert_eq!(status, 503, "{body}");
        assert_eq!(body["resourceType"], "OperationOutcome", "{body}");
        assert!(headers.get("retry-after").is_some(), "{headers:?}");
        // A clinician at an organisation with no system in the region
        // (RA7) is refused as before: their answer could not change.
        let (status, _, body) = get_as(&url(&s.base), Some(&token("R8000", "RA7"))).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (403, Some("NO_RELATIONSHIP"))
        );
        // A clinician at RUH, which answered with a record, is involved.
        let (status, _, _) = get_as(&url(&s.base), Some(&token("R8000", "RD1"))).await;
        assert_eq!(status, 200);
        // Each attempt is audited with what was decided.
        let audited: Vec<(String, u16)> = audit_entries(&s.audit_dir)
            .await
            .iter()
            .map(|r| (r.reason.as_str().to_string(), r.http_status))
            .collect();
        assert_eq!(
            audited,
            [
                ("relationship-undecided".to_string(), 503),
                ("relationship-undecided".to_string(), 503),
                ("no-relationship".to_string(), 403),
                ("involved".to_string(), 200),
            ],
            "{failure:?}"
        );
    }
}

fn document(title: &str, text: &str) -> Entry {
    Entry::Document(Document {
        doc_type: snomed("371531000", "Report of clinical encounter"),
        title: Some(title.into()),
        date: Some(day(2026, 3, 1)),
        text: Some(text.into()),
        ..Default::default()
    })
}

/// An out-of-hours report names, in its free text, a diagnosis that is
/// withheld as sensitive by its code: the report is withheld too from a
/// role not cleared for sensitive items, and counted; reports that name
/// nothing sensitive stay. A word that merely contains a term (archive,
/// hearing aids) does not count.
#[tokio::test]
async fn documents_whose_text_names_a_sensitive_condition_are_withheld_with_it() {
    let m = meta("medvivo");
    let hiv = Entry::Condition(Condition {
        code: snomed("86406008", "Human immunodeficiency virus infection"),
        recorded: Some(day(2015, 5, 1)),
        ..Default::default()
    });
    let record = record(
        &m,
        vec![
            ("Condition/1", hiv),
            (
                "DocumentReference/2",
                document(
                    "Out-of-hours report",
                    "Seen at home. PMH: human immunodeficiency virus infection, on ART. Advised fluids.",
                ),
            ),
            (
                "DocumentReference/3",
                document(
                    "Out-of-hours report",
                    "Known HIV, viral load undetectable. Chest clear.",
                ),
            ),
            (
                "DocumentReference/4",
                document(
                    "Out-of-hours report",
                    "Sprained ankle; wears hearing aids. Letter filed in the archive.",
                ),
            ),
            ("AllergyIntolerance/5", penicillin()),
        ],
    );
    let sources = vec![(
        spec("medvivo", ALL, 1000, 0),
        Script::Answer(record, Duration::ZERO),
    )];
    let s = start_with(2000, sources, Setup::default()).await;
    let (status, _, view) = get(&url(&s.base)).await;
    assert_eq!(status, 200);
    let documents = view["sections"]["documents"].as_array().unwrap();
    let ids: Vec<&str> = documents
        .iter()
        .map(|d| d["provenance"][0]["source_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["medvivo:DocumentReference/4"], "{view}");
    assert_eq!(
        view["withheld"],
        serde_json::json!({"count": 3, "by_section": {"conditions": 1, "documents": 2}})
    );
    let text = view.to_string();
    assert!(
        !text.contains("immunodeficiency") && !text.contains("HIV"),
        "{text}"
    );
    // The FHIR view withholds the same.
    let (_, _, bundle) = get(&format!(
        "{}/fhir/r4/Patient/9990000018/$everything",
        s.base
    ))
    .await;
    let text = bundle.to_string();
    assert!(
        !text.contains("immunodeficiency") && !text.contains("HIV"),
        "{text}"
    );
    assert!(text.contains("3 items withheld"), "{text}");
}

/// A client that goes away while the sources are asked: nothing is
/// released, and the access — begun before the sources were asked — is
/// completed as such (refused, 499, `client-closed-request`), so that an
/// access begun with no completion means a crash, not a client gone.
#[tokio::test]
async fn a_request_abandoned_by_its_client_is_audited_as_nothing_released() {
    let mut slow = gwh();
    if let Script::Answer(_, delay) = &mut slow[0].1 {
        *delay = Duration::from_millis(800);
    }
    let s = start_with(2000, slow, Setup::default()).await;
    let abandoned = reqwest::Client::new()
        .get(url(&s.base))
        .bearer_auth(token("R8000", "RN3"))
        .timeout(Duration::from_millis(200))
        .send()
        .await;
    assert!(abandoned.is_err(), "the client gave up first");
    let entries = audited(&s.audit_dir, &nhs(), 10).await;
    let shown: Vec<(icr_audit::Decision, u16, &str, u32)> = entries
        .iter()
        .map(|r| {
            (
                r.decision,
                r.http_status,
                r.reason.as_str(),
                r.items_released,
            )
        })
        .collect();
    assert_eq!(
        shown,
        [(
            icr_audit::Decision::Refused,
            499,
            "client-closed-request",
            0
        )]
    );
    assert!(entries[0].sections_released.is_empty());
    assert_eq!(entries[0].user.as_ref().unwrap().org.to_string(), "RN3");
}

/// Every `source_id` in a JSON value (a view's provenance, at any depth).
fn source_ids(v: &serde_json::Value, out: &mut std::collections::BTreeSet<String>) {
    match v {
        serde_json::Value::Object(map) => {
            for (k, v) in map {
                match (k.as_str(), v.as_str()) {
                    ("source_id", Some(id)) => {
                        out.insert(id.to_owned());
                    }
                    _ => source_ids(v, out),
                }
            }
        }
        serde_json::Value::Array(list) => list.iter().for_each(|v| source_ids(v, out)),
        _ => {}
    }
}

/// What a user was shown can be rebuilt from the audit: each release's
/// entry lists exactly the source records in the answer, by source (the
/// same allergy from two sources is both their records), never one the
/// policy withheld; a role that sees fewer sections is listed fewer; a
/// refusal lists none.
#[tokio::test]
async fn the_audit_lists_exactly_the_source_records_each_user_was_shown() {
    let m = meta("ruh");
    let asthma = Entry::Condition(Condition {
        code: snomed("195967001", "Asthma"),
        recorded: Some(day(2001, 2, 3)),
        ..Default::default()
    });
    let ruh = record(
        &m,
        vec![
            ("AllergyIntolerance/9", penicillin()),
            ("Condition/8", asthma),
        ],
    );
    let mut sources = gwh();
    sources.push((
        spec("ruh", ALL, 1000, 0),
        Script::Answer(ruh, Duration::ZERO),
    ));
    let s = start_with(2000, sources, Setup::default()).await;

    let (status, _, clinician) = get(&url(&s.base)).await;
    assert_eq!(status, 200);
    let (status, _, social) = get_as(&url(&s.base), Some(&token("R8014", "RN3"))).await;
    assert_eq!(status, 200);
    let (status, _, _) = get_as(&url(&s.base), Some(&token("R9999", "RN3"))).await;
    assert_eq!(status, 403);

    let entries = audit_entries(&s.audit_dir).await;
    assert_eq!(entries.len(), 3);
    let mut in_view = std::collections::BTreeSet::new();
    source_ids(&clinician, &mut in_view);
    let expected = [
        "gwh:AllergyIntolerance/1",
        "gwh:Observation/2",
        "gwh:Patient/1",
        "ruh:AllergyIntolerance/9",
        "ruh:Condition/8",
        "ruh:Patient/1",
    ];
    assert_eq!(in_view, expected.map(String::from).into(), "{clinician}");
    assert_eq!(listed_shown(&entries[0]), in_view);
    assert_eq!(
        serde_json::to_value(&entries[0].shown).unwrap(),
        serde_json::json!([
            {"source": "gwh", "ids": ["AllergyIntolerance/1", "Observation/2", "Patient/1"]},
            {"source": "ruh", "ids": ["AllergyIntolerance/9", "Condition/8", "Patient/1"]},
        ])
    );

    // The social worker sees no allergies nor results: fewer records.
    let mut in_view = std::collections::BTreeSet::new();
    source_ids(&social, &mut in_view);
    assert_eq!(listed_shown(&entries[1]), in_view);
    assert!(in_view.len() < expected.len(), "{in_view:?}");
    for not_shown in ["gwh:AllergyIntolerance/1", "gwh:Observation/2"] {
        assert!(!in_view.contains(not_shown), "{in_view:?}");
    }
    // Withheld by policy, never listed; a refusal lists nothing.
    for r in &entries[..2] {
        let listed = listed_shown(r);
        assert!(!listed.contains("gwh:Condition/3"));
        assert!(!listed.contains("gwh:MedicationStatement/4"));
    }
    assert!(entries[2].shown.is_empty());

    // The audit's readers show the list too.
    let audit = format!("{}/v1/audit?patient=9990000018", s.base);
    let (status, _, view) = get_as(&audit, Some(&token("R0001", "X26"))).await;
    assert_eq!(status, 200, "{view}");
    let accesses = view["accesses"].as_array().unwrap();
    assert_eq!(accesses[0]["shown"], serde_json::json!([]));
    assert_eq!(
        accesses[2]["shown"],
        serde_json::to_value(&entries[0].shown).unwrap()
    );
}
