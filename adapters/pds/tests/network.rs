//! The PDS adapter against a real HTTP server on loopback.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use icr_adapter_sdk::{FetchRequest, SourceError, SourceSpec};
use icr_model::{NhsNumber, Section, SectionSet};
use serde_json::json;
use tokio::time::Instant;

type Seen = Arc<Mutex<Vec<HashMap<String, String>>>>;

/// Serves `routes` (path → status, body); records each request's headers.
async fn serve(routes: HashMap<String, (u16, String)>) -> (String, Seen) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let routes = Arc::new(routes);
    let seen: Seen = Arc::default();
    let seen2 = Arc::clone(&seen);
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let routes = Arc::clone(&routes);
            let seen = Arc::clone(&seen2);
            tokio::spawn(async move {
                let svc = hyper::service::service_fn(move |req: Request<Incoming>| {
                    let routes = Arc::clone(&routes);
                    let seen = Arc::clone(&seen);
                    async move {
                        let mut headers: HashMap<String, String> = req
                            .headers()
                            .iter()
                            .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_string()))
                            .collect();
                        headers.insert(":path".into(), req.uri().path().to_string());
                        seen.lock().unwrap().push(headers);
                        let (status, body) = routes
                            .get(req.uri().path())
                            .cloned()
                            .unwrap_or((404, json!({"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": "not-found"}]}).to_string()));
                        if body == "SLOW" {
                            tokio::time::sleep(Duration::from_secs(10)).await;
                        }
                        let mut r = Response::new(Full::new(Bytes::from(body)));
                        *r.status_mut() = hyper::StatusCode::from_u16(status).unwrap();
                        Ok::<_, Infallible>(r)
                    }
                });
                let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
    (format!("http://{addr}/personal-demographics/FHIR/R4"), seen)
}

fn spec(endpoint: &str, extra: &str) -> SourceSpec {
    toml::from_str(&format!(
        "id = \"pds\"\norganisation = \"NHS England (PDS)\"\nods_code = \"X26\"\nkind = \"pds\"\nendpoint = \"{endpoint}\"\nsections = [\"demographics\"]\nrouting = \"demographics\"\ntimeout_ms = 2000\n{extra}"
    ))
    .unwrap()
}

fn patient(nhs: &str, security: Option<&str>) -> String {
    let mut p = json!({
        "resourceType": "Patient",
        "id": nhs,
        "meta": {"versionId": "3"},
        "identifier": [{"system": "https://fhir.nhs.uk/Id/nhs-number", "value": nhs}],
        "name": [{"use": "usual", "family": "Ellery", "given": ["Margaret", "Rose"], "prefix": ["Mrs"]}],
        "gender": "female",
        "birthDate": "1941-03-09",
        "address": [{"use": "home", "line": ["1 Test Row"], "city": "Swindon", "postalCode": "SN1 1AA"}],
        "telecom": [{"system": "phone", "value": "01632 960001", "use": "home"}],
        "generalPractitioner": [{"type": "Organization", "identifier": {"system": "https://fhir.nhs.uk/Id/ods-organization-code", "value": "Y90001"}}]
    });
    if let Some(code) = security {
        p["meta"]["security"] = json!([{"system": "http://terminology.hl7.org/CodeSystem/v3-Confidentiality", "code": code}]);
    }
    p.to_string()
}

fn request(nhs: &str, within: Duration) -> FetchRequest {
    FetchRequest::system(
        NhsNumber::parse(nhs).unwrap(),
        [Section::Demographics].into_iter().collect::<SectionSet>(),
        Instant::now() + within,
    )
}

#[tokio::test]
async fn reads_the_reference_demographics_and_the_registered_practice() {
    let routes = HashMap::from([
        (
            "/personal-demographics/FHIR/R4/Patient/9990000018".to_string(),
            (200, patient("9990000018", None)),
        ),
        (
            "/personal-demographics/FHIR/R4/Patient/9990000026".to_string(),
            (200, patient("9990000026", Some("R"))),
        ),
        (
            "/personal-demographics/FHIR/R4/Patient/9990000034".to_string(),
            (200, patient("9990000042", None)),
        ),
        (
            "/personal-demographics/FHIR/R4/Patient/9990000050".to_string(),
            (200, "{\"resourceType\": \"Patient\", ".to_string()),
        ),
        (
            "/personal-demographics/FHIR/R4/Patient/9990000069".to_string(),
            (503, String::new()),
        ),
        (
            "/personal-demographics/FHIR/R4/Patient/9990000077".to_string(),
            (200, "SLOW".to_string()),
        ),
    ]);
    let (endpoint, seen) = serve(routes).await;
    let pds = icr_adapter_pds::build(&spec(&endpoint, "")).unwrap();

    let r = pds
        .fetch(&request("9990000018", Duration::from_secs(5)))
        .await
        .unwrap();
    let p = r.patient.unwrap();
    assert_eq!(p.demographics.nhs_number.unwrap().as_str(), "9990000018");
    assert_eq!(
        p.demographics.registered_practice.unwrap().as_str(),
        "Y90001"
    );
    assert_eq!(
        p.demographics.addresses[0].postcode.as_deref(),
        Some("SN1 1AA")
    );
    assert!(!p.demographics.sensitive);
    assert_eq!(p.provenance.record.to_string(), "pds:Patient/9990000018");
    assert!(r.items.is_empty() && r.issues.is_empty());
    let headers = seen.lock().unwrap()[0].clone();
    assert_eq!(
        headers[":path"],
        "/personal-demographics/FHIR/R4/Patient/9990000018"
    );
    assert_eq!(headers["accept"], "application/fhir+json");
    assert_eq!(headers["nhsd-end-user-organisation-ods"], "X26");
    assert_eq!(
        headers["x-request-id"],
        "00000000-0000-0000-0000-000000000000"
    );

    // Sensitive: marked, and no address or contact details even if sent.
    let p = pds
        .fetch(&request("9990000026", Duration::from_secs(5)))
        .await
        .unwrap()
        .patient
        .unwrap();
    assert!(p.demographics.sensitive);
    assert!(p.demographics.addresses.is_empty() && p.demographics.telecom.is_empty());
    assert_eq!(
        p.demographics.registered_practice.unwrap().as_str(),
        "Y90001"
    );

    // A record for another NHS number is refused.
    let e = pds
        .fetch(&request("9990000034", Duration::from_secs(5)))
        .await
        .unwrap_err();
    assert!(
        matches!(&e, SourceError::IdentityMismatch(m) if m.contains("another NHS number")),
        "{e:?}"
    );

    let e = pds
        .fetch(&request("9990000050", Duration::from_secs(5)))
        .await
        .unwrap_err();
    assert_eq!(
        e,
        SourceError::Malformed("PDS Patient: truncated JSON at line 1 column 28".into())
    );

    let e = pds
        .fetch(&request("9990000069", Duration::from_secs(5)))
        .await
        .unwrap_err();
    assert_eq!(
        e,
        SourceError::HttpStatus {
            status: 503,
            what: "PDS Patient read".into()
        }
    );

    let e = pds
        .fetch(&request("9990000085", Duration::from_secs(5)))
        .await
        .unwrap_err();
    assert_eq!(e, SourceError::PatientNotFound);

    let started = std::time::Instant::now();
    let e = pds
        .fetch(&request("9990000077", Duration::from_millis(200)))
        .await
        .unwrap_err();
    assert!(matches!(e, SourceError::Timeout { .. }), "{e:?}");
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[test]
fn registration_is_checked() {
    let bad_sections = toml::from_str::<SourceSpec>(
        "id = \"pds\"\norganisation = \"PDS\"\nods_code = \"X26\"\nkind = \"pds\"\nendpoint = \"http://127.0.0.1:1/\"\nsections = [\"demographics\", \"allergies\"]\nrouting = \"demographics\"\n",
    )
    .unwrap();
    assert_eq!(
        icr_adapter_pds::build(&bad_sections)
            .err()
            .unwrap()
            .to_string(),
        "sections: a pds source provides exactly [\"demographics\"]"
    );
    let no_routing = spec("http://127.0.0.1:1/", "").clone();
    let mut no_routing = no_routing;
    no_routing.routing = icr_adapter_sdk::Routing::All;
    assert_eq!(
        icr_adapter_pds::build(&no_routing)
            .err()
            .unwrap()
            .to_string(),
        "routing: a pds source has routing = \"demographics\""
    );
    let typo = spec("http://127.0.0.1:1/", "[options]\nmode = 1\n");
    assert_eq!(
        icr_adapter_pds::build(&typo).err().unwrap().to_string(),
        "options.mode: unknown field `mode`, there are no fields"
    );
}

#[test]
fn any_bytes_are_safe() {
    for data in [
        &b""[..],
        b"{",
        b"[]",
        b"{\"resourceType\":\"Patient\",\"id\":\"\\u0000\"}",
        b"{\"resourceType\":\"Flag\"}",
    ] {
        icr_adapter_pds::fuzz_patient(data);
    }
}
