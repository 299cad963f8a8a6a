//! The adapter against a real HTTP server on loopback: the exact request
//! (path, Spine headers, audit JWT claims, Parameters body), a structured
//! record with a confidential-items warning and an empty List, the Spine
//! errors, slowness, oversize answers, garbage, an unreachable practice,
//! and registrations refused at build time.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use icr_adapter_gp_connect::{KIND, answer};
use icr_adapter_sdk::{
    BuildError, FetchRequest, Registry, RequestContext, Requester, SourceAdapter, SourceError,
    SourceSpec,
};
use icr_fhir_stu3::gpc::WarningCode;
use icr_fhir_stu3::render::{Practice, RecordInput, RecordItem, structured_record};
use icr_fhir_stu3::{ClinicalArea, Resource, SpineCode, StructuredRequest, jwt, outcome};
use icr_model::*;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::time::Instant;

/// What the server saw of one request.
#[derive(Clone, Debug)]
struct Seen {
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Seen {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

struct People {
    main: NhsNumber,
    no_consent: NhsNumber,
    not_found: NhsNumber,
    slow: NhsNumber,
    big: NhsNumber,
    garbage: NhsNumber,
    broken: NhsNumber,
    empty: NhsNumber,
}

fn people() -> People {
    let mut n = (999_100_001..).filter_map(NhsNumber::from_first_nine);
    let mut next = || n.next().unwrap();
    People {
        main: next(),
        no_consent: next(),
        not_found: next(),
        slow: next(),
        big: next(),
        garbage: next(),
        broken: next(),
        empty: next(),
    }
}

fn pdt(s: &str) -> PartialDateTime {
    PartialDateTime::parse(s).unwrap()
}

fn snomed(code: &str, display: &str) -> Concept {
    Concept::coded(Coding::new(CodeSystem::Snomed, code, display))
}

fn demographics(nhs: NhsNumber) -> Demographics {
    Demographics {
        nhs_number: Some(nhs),
        names: vec![HumanName {
            use_: Some(NameUse::Official),
            given: vec!["Alex".into()],
            family: Some("Testperson".into()),
            ..Default::default()
        }],
        birth_date: Some(pdt("1980-02-03")),
        gender: Some(Gender::Female),
        registered_practice: Some(OdsCode::parse("Y90001").unwrap()),
        ..Default::default()
    }
}

fn entries() -> Vec<(&'static str, Entry)> {
    vec![
        (
            "a1",
            Entry::Allergy(Allergy {
                code: snomed("91936005", "Allergy to penicillin"),
                clinical_status: Some(AllergyClinicalStatus::Active),
                verification: Some(Verification::Confirmed),
                recorded: Some(pdt("2015-04-01")),
                ..Default::default()
            }),
        ),
        (
            "m1",
            Entry::Medication(Medication {
                medication: Concept::coded(Coding::new(
                    CodeSystem::Dmd,
                    "39732311000001104",
                    "Amoxicillin 250mg capsules",
                )),
                kind: Some(MedicationKind::Statement),
                status: Some(MedicationStatus::Active),
                dosage: Some("One three times a day".into()),
                start: Some(pdt("2024-05-01")),
                prescriber: Some("Dr Jo Bloggs".into()),
                ..Default::default()
            }),
        ),
    ]
}

/// The structured record for `request`, from the test practice.
fn answer_for(request: &StructuredRequest, nhs: NhsNumber) -> String {
    let d = demographics(nhs);
    let ods = OdsCode::parse("Y90001").unwrap();
    let entries = entries();
    let input = RecordInput {
        patient_id: "p1",
        demographics: &d,
        patient_last_updated: None,
        practice: Practice {
            ods: &ods,
            name: "Test Surgery",
        },
        items: entries
            .iter()
            .map(|(id, e)| RecordItem {
                id,
                entry: e,
                last_updated: None,
            })
            .collect(),
        warnings: vec![(ClinicalArea::Allergies, WarningCode::ConfidentialItems)],
    };
    serde_json::to_string(&structured_record(&input, request)).unwrap()
}

struct Reply {
    status: u16,
    body: Vec<u8>,
    delay: Duration,
}

fn reply(status: u16, body: impl Into<Vec<u8>>) -> Reply {
    Reply {
        status,
        body: body.into(),
        delay: Duration::ZERO,
    }
}

fn outcome_body(code: SpineCode) -> Vec<u8> {
    serde_json::to_vec(&Resource::OperationOutcome(outcome::operation_outcome(
        "error",
        code,
        Some("patientNHSNumber"),
    )))
    .unwrap()
}

fn route(p: &People, seen: &Seen) -> Reply {
    let Ok(text) = std::str::from_utf8(&seen.body) else {
        return reply(400, outcome_body(SpineCode::BadRequest));
    };
    let Ok((params, _)) = icr_fhir_stu3::read::<icr_fhir_stu3::Parameters>("Parameters", text)
    else {
        return reply(422, outcome_body(SpineCode::InvalidResource));
    };
    let request = match StructuredRequest::from_parameters(&params) {
        Ok(r) => r,
        Err(e) => return reply(e.code.http_status(), outcome_body(e.code)),
    };
    let n = request.nhs_number;
    if n == p.no_consent {
        reply(403, outcome_body(SpineCode::NoPatientConsent))
    } else if n == p.not_found {
        reply(404, outcome_body(SpineCode::PatientNotFound))
    } else if n == p.slow {
        Reply {
            delay: Duration::from_secs(10),
            ..reply(200, answer_for(&request, n))
        }
    } else if n == p.big {
        reply(200, vec![b' '; 200 * 1024])
    } else if n == p.garbage {
        reply(200, "{\"resourceType\": \"Bundle\", \"entry\": [{")
    } else if n == p.broken {
        reply(500, "<html>Internal Server Error</html>")
    } else if n == p.main || n == p.empty {
        reply(200, answer_for(&request, n))
    } else {
        reply(404, outcome_body(SpineCode::PatientNotFound))
    }
}

struct Server {
    addr: SocketAddr,
    seen: Arc<Mutex<Vec<Seen>>>,
}

async fn start() -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&seen);
    let people = Arc::new(people());
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let log = Arc::clone(&log);
            let people = Arc::clone(&people);
            tokio::spawn(async move {
                let service = service_fn(move |req: Request<hyper::body::Incoming>| {
                    let log = Arc::clone(&log);
                    let people = Arc::clone(&people);
                    async move {
                        let method = req.method().to_string();
                        let path = req.uri().path().to_string();
                        let headers = req
                            .headers()
                            .iter()
                            .map(|(n, v)| (n.to_string(), v.to_str().unwrap_or("").to_string()))
                            .collect();
                        let body = req
                            .into_body()
                            .collect()
                            .await
                            .map(|b| b.to_bytes().to_vec())
                            .unwrap_or_default();
                        let s = Seen {
                            method,
                            path,
                            headers,
                            body,
                        };
                        log.lock().unwrap().push(s.clone());
                        let r = route(&people, &s);
                        tokio::time::sleep(r.delay).await;
                        let response = Response::builder()
                            .status(r.status)
                            .header("content-type", "application/fhir+json;charset=utf-8")
                            .body(Full::new(Bytes::from(r.body)))
                            .unwrap();
                        Ok::<_, Infallible>(response)
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    Server { addr, seen }
}

const OPTIONS: &str = r#"consumer_asid = "200000000115"
provider_asid = "918999198738"
issuer = "https://icr.example.nhs.uk/"
"#;

fn spec_text(addr: SocketAddr, sections: &str, max_body: usize, options: &str) -> String {
    format!(
        r#"id = "gp-y90001"
organisation = "Test Surgery"
ods_code = "Y90001"
kind = "gp-connect"
system = "GP system (GP Connect)"
endpoint = "http://{addr}/Y90001/STU3/1/gpconnect/structured/fhir"
sections = [{sections}]
timeout_ms = 3000
max_body_bytes = {max_body}
routing = "registered-practice"
[options]
{options}
"#
    )
}

const ALL_SECTIONS: &str = r#""demographics", "allergies", "medications", "conditions", "results", "procedures", "referrals", "appointments""#;

fn registry() -> Registry {
    let mut r = Registry::new();
    r.register(&KIND);
    r
}

fn adapter(addr: SocketAddr) -> Arc<dyn SourceAdapter> {
    let spec: SourceSpec = toml::from_str(&spec_text(addr, ALL_SECTIONS, 65_536, OPTIONS)).unwrap();
    registry().build(&spec).unwrap()
}

fn context() -> Arc<RequestContext> {
    Arc::new(RequestContext {
        trace_id: "6d1bd1e4-3c5d-4b3e-9a57-2f0c1f1e7a10".into(),
        requester: Requester {
            user_id: "555123456789".into(),
            name: "Dr Sam Example".into(),
            role: "R8000".into(),
            organisation: OdsCode::parse("RN3").unwrap(),
            purpose: "directcare".into(),
        },
    })
}

fn request(nhs: NhsNumber, sections: &[Section], within: Duration) -> FetchRequest {
    FetchRequest {
        nhs_number: nhs,
        sections: sections.iter().copied().collect(),
        deadline: Instant::now() + within,
        context: context(),
    }
}

#[tokio::test]
async fn sends_what_gp_connect_requires_and_reads_the_record() {
    let server = start().await;
    let p = people();
    let source = adapter(server.addr);
    let wanted = [
        Section::Demographics,
        Section::Allergies,
        Section::Medications,
        Section::Referrals,
        Section::Alerts, // not offered: not asked for
    ];
    let record = source
        .fetch(&request(p.main, &wanted, Duration::from_secs(3)))
        .await
        .unwrap();

    let seen = server.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 1);
    let s = &seen[0];
    assert_eq!(s.method, "POST");
    assert_eq!(
        s.path,
        "/Y90001/STU3/1/gpconnect/structured/fhir/Patient/$gpc.getstructuredrecord"
    );
    assert_eq!(
        s.header("Ssp-TraceID"),
        Some("6d1bd1e4-3c5d-4b3e-9a57-2f0c1f1e7a10")
    );
    assert_eq!(s.header("Ssp-From"), Some("200000000115"));
    assert_eq!(s.header("Ssp-To"), Some("918999198738"));
    assert_eq!(
        s.header("Ssp-InteractionID"),
        Some("urn:nhs:names:services:gpconnect:fhir:operation:gpc.getstructuredrecord-1")
    );
    assert_eq!(s.header("Accept"), Some("application/fhir+json"));
    assert_eq!(s.header("Content-Type"), Some("application/fhir+json"));

    // The audit token: unsigned, with GP Connect's claim set.
    let token = s
        .header("Authorization")
        .unwrap()
        .strip_prefix("Bearer ")
        .unwrap();
    assert!(
        token.ends_with('.'),
        "an unsigned JWT has an empty signature"
    );
    let claims = jwt::decode(token).unwrap();
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    assert!((now - 30..=now).contains(&claims.iat), "iat {}", claims.iat);
    assert_eq!(claims.exp, claims.iat + 300);
    let mut as_json = serde_json::to_value(&claims).unwrap();
    as_json.as_object_mut().unwrap().remove("iat");
    as_json.as_object_mut().unwrap().remove("exp");
    assert_eq!(
        as_json,
        json!({
            "iss": "https://icr.example.nhs.uk/",
            "sub": "555123456789",
            "aud": format!("http://{}/Y90001/STU3/1/gpconnect/structured/fhir", server.addr),
            "reason_for_request": "directcare",
            "requested_scope": "patient/*.read",
            "requesting_device": {
                "resourceType": "Device",
                "identifier": [{"system": "https://fhir.nhs.uk/Id/accredited-system", "value": "200000000115"}],
                "model": "ICR gateway",
                "version": env!("CARGO_PKG_VERSION")
            },
            "requesting_organization": {
                "resourceType": "Organization",
                "identifier": [{"system": "https://fhir.nhs.uk/Id/ods-organization-code", "value": "RN3"}],
                "name": "RN3"
            },
            "requesting_practitioner": {
                "resourceType": "Practitioner",
                "id": "555123456789",
                "identifier": [
                    {"system": "https://fhir.nhs.uk/Id/sds-user-id", "value": "555123456789"},
                    {"system": "https://fhir.nhs.uk/Id/sds-role-profile-id", "value": "UNK"},
                    {"system": "https://icr.example.nhs.uk/Id/user-id", "value": "555123456789"}
                ],
                "name": [{"text": "Dr Sam Example", "family": "Example", "given": ["Sam"], "prefix": ["Dr"]}],
                "extension": [{
                    "url": "https://icr.example.nhs.uk/StructureDefinition/sds-job-role-name",
                    "valueCodeableConcept": {"coding": [{
                        "system": "https://fhir.hl7.org.uk/STU3/CodeSystem/CareConnect-SDSJobRoleName-1",
                        "code": "R8000"
                    }]}
                }]
            }
        })
    );
    jwt::check(
        &claims,
        &format!(
            "http://{}/Y90001/STU3/1/gpconnect/structured/fhir",
            server.addr
        ),
        now,
        30,
    )
    .unwrap();

    // The body: the NHS number and the areas of the wanted sections.
    let body: Value = serde_json::from_slice(&s.body).unwrap();
    assert_eq!(
        body,
        json!({
            "resourceType": "Parameters",
            "meta": {"profile": ["https://fhir.nhs.uk/STU3/OperationDefinition/GPConnect-GetStructuredRecord-Operation-1"]},
            "parameter": [
                {"name": "patientNHSNumber", "valueIdentifier": {"system": "https://fhir.nhs.uk/Id/nhs-number", "value": p.main.as_str()}},
                {"name": "includeAllergies", "part": [{"name": "includeResolvedAllergies", "valueBoolean": true}]},
                {"name": "includeMedication", "part": [{"name": "includePrescriptionIssues", "valueBoolean": false}]},
                {"name": "includeReferrals"}
            ]
        })
    );

    // The record: the allergy and the medicine, a withheld issue for the
    // confidential allergies, nothing for the empty referrals List.
    let patient = record.patient.unwrap();
    assert_eq!(patient.demographics, demographics(p.main));
    assert_eq!(
        patient.provenance.record.to_string(),
        "gp-y90001:Patient/p1"
    );
    let ids: Vec<String> = record
        .items
        .iter()
        .map(|i| i.provenance.record.to_string())
        .collect();
    assert_eq!(
        ids,
        [
            "gp-y90001:MedicationStatement/m1",
            "gp-y90001:AllergyIntolerance/a1"
        ]
    );
    assert_eq!(record.items[0].entry, entries()[1].1);
    assert_eq!(record.items[1].entry, entries()[0].1);
    assert_eq!(
        record.issues,
        vec![SourceIssue {
            kind: IssueKind::Withheld,
            section: Some(Section::Allergies),
            message: "items withheld by the source (confidential)".into()
        }]
    );
    assert!(record.wire_bytes > 0);
}

#[tokio::test]
async fn an_empty_list_is_no_issue() {
    let server = start().await;
    let p = people();
    let source = adapter(server.addr);
    let record = source
        .fetch(&request(
            p.empty,
            &[
                Section::Conditions,
                Section::Results,
                Section::Procedures,
                Section::Appointments,
            ],
            Duration::from_secs(3),
        ))
        .await
        .unwrap();
    assert!(record.items.is_empty());
    assert!(record.issues.is_empty(), "{:?}", record.issues);
    assert!(record.patient.is_none(), "demographics were not asked for");
    let seen = server.seen.lock().unwrap().clone();
    let body: Value = serde_json::from_slice(&seen[0].body).unwrap();
    let names: Vec<&str> = body["parameter"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "patientNHSNumber",
            "includeProblems",
            "includeConsultations",
            "includeImmunisations",
            "includeInvestigations"
        ]
    );
    assert_eq!(
        body["parameter"][2]["part"],
        json!([{"name": "includeNumberOfMostRecent", "valuePositiveInt": 20}])
    );
}

#[tokio::test]
async fn spine_errors_are_statuses() {
    let server = start().await;
    let p = people();
    let source = adapter(server.addr);
    let within = Duration::from_secs(3);
    let e = source
        .fetch(&request(p.no_consent, &[Section::Allergies], within))
        .await
        .unwrap_err();
    assert_eq!(e, answer::withheld());
    assert_eq!(e.status_name(), "withheld");
    assert_eq!(
        e.to_string(),
        "withheld by the source: the patient has dissented from sharing their GP record (NO_PATIENT_CONSENT)"
    );
    let e = source
        .fetch(&request(p.not_found, &[Section::Allergies], within))
        .await
        .unwrap_err();
    assert_eq!(e, SourceError::PatientNotFound);
    let e = source
        .fetch(&request(p.broken, &[Section::Allergies], within))
        .await
        .unwrap_err();
    assert_eq!(
        e,
        SourceError::HttpStatus {
            status: 500,
            what: "GP Connect $gpc.getstructuredrecord".into()
        }
    );
    let e = source
        .fetch(&request(p.garbage, &[Section::Allergies], within))
        .await
        .unwrap_err();
    assert_eq!(
        e,
        SourceError::Malformed(
            "the structured record cannot be read: Bundle: truncated JSON at line 1 column 38"
                .into()
        )
    );
}

#[tokio::test]
async fn a_slow_practice_is_a_timeout_within_the_deadline() {
    let server = start().await;
    let p = people();
    let source = adapter(server.addr);
    let started = std::time::Instant::now();
    let e = source
        .fetch(&request(
            p.slow,
            &[Section::Allergies],
            Duration::from_millis(300),
        ))
        .await
        .unwrap_err();
    assert!(matches!(e, SourceError::Timeout { .. }), "{e:?}");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn an_oversize_answer_is_too_large() {
    let server = start().await;
    let p = people();
    let spec: SourceSpec =
        toml::from_str(&spec_text(server.addr, ALL_SECTIONS, 16_384, OPTIONS)).unwrap();
    let source = registry().build(&spec).unwrap();
    let e = source
        .fetch(&request(
            p.big,
            &[Section::Allergies],
            Duration::from_secs(3),
        ))
        .await
        .unwrap_err();
    assert_eq!(e, SourceError::TooLarge { limit: 16_384 });
}

#[tokio::test]
async fn an_unreachable_practice_is_unavailable() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let p = people();
    let e = adapter(addr)
        .fetch(&request(
            p.main,
            &[Section::Allergies],
            Duration::from_secs(3),
        ))
        .await
        .unwrap_err();
    let SourceError::Unavailable(msg) = &e else {
        panic!("{e:?}")
    };
    assert!(
        msg.starts_with("GP Connect $gpc.getstructuredrecord: cannot connect"),
        "{msg}"
    );
    assert!(!msg.contains(p.main.as_str()));
}

#[test]
fn registrations_gp_connect_cannot_serve_are_refused() {
    let addr: SocketAddr = "127.0.0.1:9".parse().unwrap();
    let build_err = |sections: &str, options: &str| -> BuildError {
        let spec: SourceSpec = toml::from_str(&spec_text(addr, sections, 65_536, options)).unwrap();
        match registry().build(&spec) {
            Ok(_) => panic!("built"),
            Err(e) => e,
        }
    };
    assert_eq!(
        build_err(r#""allergies", "documents", "alerts""#, OPTIONS).to_string(),
        "sections: GP Connect Access Record: Structured cannot provide documents, alerts; it provides demographics, allergies, medications, conditions, appointments (consultations), results (investigations), procedures (immunisations) and referrals"
    );
    assert_eq!(
        build_err(ALL_SECTIONS, &OPTIONS.replace("200000000115", "ASID-1")).to_string(),
        "options.consumer_asid: must be an ASID: 1 to 20 digits"
    );
    assert_eq!(
        build_err(
            ALL_SECTIONS,
            &format!("{OPTIONS}most_recent_consultations = 0")
        )
        .to_string(),
        "options.most_recent_consultations: must be between 1 and 1000"
    );
    let unknown = build_err(ALL_SECTIONS, &format!("{OPTIONS}page_size = 10")).to_string();
    assert!(
        unknown.starts_with("options.page_size: unknown field `page_size`"),
        "{unknown}"
    );
    let missing = build_err(ALL_SECTIONS, "consumer_asid = \"1\"").to_string();
    assert!(
        missing.starts_with("options: missing field `provider_asid`"),
        "{missing}"
    );
}
