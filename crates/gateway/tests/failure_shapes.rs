//! End to end: a source that says "I failed" inside a successful
//! transport answer, one shape per adapter, reached through the gateway
//! over real loopback servers of its protocol. In the JSON view its status
//! is `error` — not `not_found`, not `ok` with nothing — with the source's
//! own words in its message; in the FHIR `$everything` Bundle its
//! OperationOutcome names it, with the same words.

mod common;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use common::*;
use icr_adapter_sdk::{BuildError, SourceAdapter, SourceSpec};
use icr_config::{LoadedSource, parse_toml};
use icr_testkit::Mismatches;
use icr_testkit::serve::{self, Canned};
use serde_json::{Value, json};

const NHS: &str = "9990000018";

/// One source: its registration and the adapter its kind builds.
fn source(
    toml: &str,
    build: fn(&SourceSpec) -> Result<Arc<dyn SourceAdapter>, BuildError>,
) -> LoadedSource {
    let spec: SourceSpec = parse_toml(toml, Path::new("source.toml")).unwrap();
    LoadedSource {
        file: format!("{}.toml", spec.id).into(),
        adapter: build(&spec).unwrap(),
        spec,
    }
}

fn pds(addr: SocketAddr) -> LoadedSource {
    source(
        &format!(
            r#"id = "pds"
organisation = "NHS England (PDS)"
ods_code = "X26"
kind = "pds"
endpoint = "http://{addr}/personal-demographics/FHIR/R4"
sections = ["demographics"]
routing = "demographics"
timeout_ms = 2000
"#
        ),
        icr_adapter_pds::build,
    )
}

/// A FHIR OperationOutcome of one issue.
fn outcome(severity: &str, code: &str, spine: Option<&str>, diagnostics: &str) -> Value {
    let mut issue = json!({"severity": severity, "code": code, "diagnostics": diagnostics});
    if let Some(s) = spine {
        issue["details"] = json!({"coding": [{"code": s}]});
    }
    json!({"resourceType": "OperationOutcome", "issue": [issue]})
}

/// One row: the sources (one of them failing), which one fails, the
/// message it must have, and the answer's HTTP status.
struct Row {
    name: &'static str,
    sources: Vec<LoadedSource>,
    failing: &'static str,
    message: &'static str,
    http_status: u16,
}

async fn pds_row() -> Row {
    let addr = serve::http(|_| {
        Canned::fhir(
            200,
            &outcome("error", "processing", None, "Spine PDS backend unreachable"),
        )
    })
    .await
    .addr;
    Row {
        name: "pds: a 200 OperationOutcome instead of the Patient",
        sources: vec![pds(addr)],
        failing: "pds",
        message: "the source refused or failed the request: PDS answered the Patient read with an OperationOutcome instead of a Patient (error: processing): the source said \"Spine PDS backend unreachable\"",
        http_status: 502,
    }
}

async fn gp_connect_row() -> Row {
    let patient = json!({
        "resourceType": "Patient",
        "id": NHS,
        "identifier": [{"system": "https://fhir.nhs.uk/Id/nhs-number", "value": NHS}],
        "name": [{"family": "Testperson", "given": ["Alex"]}],
        "birthDate": "1980-02-03",
        "generalPractitioner": [{"identifier": {"system": "https://fhir.nhs.uk/Id/ods-organization-code", "value": "Y90001"}}]
    });
    let pds_addr = serve::http(move |_| Canned::fhir(200, &patient)).await.addr;
    let gp_addr = serve::http(|_| {
        Canned::fhir(
            200,
            &outcome(
                "error",
                "exception",
                Some("INTERNAL_SERVER_ERROR"),
                "GP system database unavailable",
            ),
        )
    })
    .await
    .addr;
    let gp = source(
        &format!(
            r#"id = "gp-y90001"
organisation = "The Trevelyan Practice"
ods_code = "Y90001"
kind = "gp-connect"
endpoint = "http://{gp_addr}/Y90001/STU3/1/gpconnect/structured/fhir"
sections = ["allergies", "medications", "conditions"]
routing = "registered-practice"
timeout_ms = 2000
[options]
consumer_asid = "200000000115"
provider_asid = "918999198738"
issuer = "https://icr.example.nhs.uk/"
"#
        ),
        icr_adapter_gp_connect::build,
    );
    Row {
        name: "gp-connect: a 200 OperationOutcome INTERNAL_SERVER_ERROR",
        sources: vec![pds(pds_addr), gp],
        failing: "gp-y90001",
        message: "the source refused or failed the request: GP Connect $gpc.getstructuredrecord answered with an OperationOutcome instead of the structured record (INTERNAL_SERVER_ERROR): the source said \"GP system database unavailable\"",
        http_status: 200,
    }
}

/// Field `n` of the segment starting `id` in an HL7 v2 message.
fn hl7_field(message: &str, id: &str, n: usize) -> String {
    message
        .split('\r')
        .find(|s| s.starts_with(id))
        .and_then(|s| {
            // MSH-1 is the field separator itself: MSH's fields are one off.
            let n = if id == "MSH" { n - 1 } else { n };
            s.split('|').nth(n)
        })
        .unwrap_or("")
        .to_string()
}

async fn hl7v2_row() -> Row {
    let addr = serve::mllp(|query| {
        let query = String::from_utf8_lossy(query);
        let control_id = hl7_field(&query, "MSH", 10);
        let tag = hl7_field(&query, "QPD", 2);
        format!(
            "MSH|^~\\&|WINPATH|RD1|ICR|ICR|20240501101500+0100||RSP^K11^RSP_K11|A1|P|2.5.1\rMSA|AE|{control_id}\rQAK|{tag}|AE\rERR|||207^Application internal error^HL70357|E||||Results database offline\r"
        )
        .into_bytes()
    })
    .await;
    Row {
        name: "hl7v2: MSA-1 AE with an ERR",
        sources: vec![source(
            &format!(
                r#"id = "lab"
organisation = "Royal Devon Pathology"
ods_code = "RD1"
kind = "hl7v2"
endpoint = "mllp://{addr}"
sections = ["results"]
timeout_ms = 2000
"#
            ),
            icr_adapter_hl7v2::build,
        )],
        failing: "lab",
        message: "the source refused or failed the request: the source answered with an application error (MSA-1 AE): ERR code 207 (application internal error): the source said \"Results database offline\"",
        http_status: 502,
    }
}

async fn soap_xml_row() -> Row {
    let addr = serve::http(|_| {
        Canned::new(
            200,
            "text/xml; charset=utf-8",
            r#"<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><soap:Fault><faultcode>soap:Server</faultcode><faultstring>Object reference not set</faultstring><detail><ps:PersonSummaryFault xmlns:ps="urn:icr:socialcare:personsummary:1"><ps:Code>InternalError</ps:Code></ps:PersonSummaryFault></detail></soap:Fault></soap:Body></soap:Envelope>"#,
        )
    })
    .await.addr;
    Row {
        name: "soap-xml: a soap:Fault with HTTP 200",
        sources: vec![source(
            &format!(
                r#"id = "wiltshire-asc"
organisation = "Wiltshire Council"
ods_code = "E06000054"
kind = "soap-xml"
endpoint = "http://{addr}/PersonSummaryService/v1"
sections = ["demographics", "contacts", "care_team", "alerts", "documents", "appointments"]
timeout_ms = 2000
"#
            ),
            icr_adapter_soap_xml::build,
        )],
        failing: "wiltshire-asc",
        message: "the source refused or failed the request: GetPersonSummary (SOAP fault Server/InternalError): the source said \"Object reference not set\"",
        http_status: 502,
    }
}

async fn cda_row() -> Row {
    let addr = serve::http(|_| {
        Canned::fhir(
            200,
            &json!({"resourceType": "Bundle", "type": "searchset", "total": 0, "entry": [
                {"search": {"mode": "outcome"}, "resource": outcome("error", "processing", None, "Query timed out")}
            ]}),
        )
    })
    .await.addr;
    Row {
        name: "cda: a searchset holding only an error OperationOutcome",
        sources: vec![source(
            &format!(
                r#"id = "medvivo"
organisation = "Medvivo"
ods_code = "NLO"
kind = "cda"
endpoint = "http://{addr}/fhir"
sections = ["documents", "appointments"]
timeout_ms = 2000
"#
            ),
            icr_adapter_cda::build,
        )],
        failing: "medvivo",
        message: "the source refused or failed the request: registry search: the registry reported an error and listed nothing (error: processing): the source said \"Query timed out\"",
        http_status: 502,
    }
}

async fn fhir_r4_row() -> Row {
    let addr = serve::http(|_| {
        Canned::fhir(
            200,
            &json!({"resourceType": "Bundle", "type": "searchset", "entry": [
                {"search": {"mode": "outcome"}, "resource": outcome("error", "processing", None, "Unable to process request: patient index offline")}
            ]}),
        )
    })
    .await.addr;
    Row {
        name: "fhir-r4: a searchset holding only an error OperationOutcome",
        sources: vec![source(
            &format!(
                r#"id = "trust-a"
organisation = "Test Trust"
ods_code = "RXX"
kind = "fhir-r4"
endpoint = "http://{addr}/fhir"
sections = ["demographics", "allergies"]
timeout_ms = 2000
cache_ttl_s = 0
"#
            ),
            icr_adapter_fhir_r4::build,
        )],
        failing: "trust-a",
        message: "the source refused or failed the request: Patient search: error (processing): \"Unable to process request: patient index offline\"",
        http_status: 502,
    }
}

#[tokio::test]
async fn a_source_that_says_it_failed_is_an_error_with_its_words_in_the_view_and_the_bundle() {
    let rows = vec![
        pds_row().await,
        gp_connect_row().await,
        hl7v2_row().await,
        soap_xml_row().await,
        cda_row().await,
        fhir_r4_row().await,
    ];
    let mut wrong = Mismatches::default();
    for row in rows {
        let name = row.name;
        let organisation = row
            .sources
            .iter()
            .find(|s| s.spec.id.as_str() == row.failing)
            .map(|s| {
                format!(
                    "{} ({}, {})",
                    s.spec.organisation, s.spec.id, s.spec.ods_code
                )
            })
            .unwrap();
        let gateway = start_loaded(3000, row.sources, Setup::default()).await;

        let (status, _, view) =
            get_breaking_glass(&format!("{}/v1/patients/{NHS}/record", gateway.base), GLASS).await;
        assert_valid_view(&view);
        let failing = view["sources"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["source"] == row.failing)
            .unwrap_or_else(|| panic!("{name}: {view}"));
        let got = (
            status,
            &failing["status"],
            &failing["message"],
            &failing["items"],
        );
        let expected = (
            row.http_status,
            &json!("error"),
            &json!(row.message),
            &json!(0),
        );
        wrong.check(
            &format!("{name}, JSON view (HTTP status, source status, message, items)"),
            got == expected,
            got,
            expected,
        );

        let (status, _, bundle) = get_breaking_glass(
            &format!("{}/fhir/r4/Patient/{NHS}/$everything", gateway.base),
            GLASS,
        )
        .await;
        assert_valid_fhir(&bundle);
        // With some source answering, the source's failure is an
        // OperationOutcome entry of the Bundle; with none answering, the
        // answer is itself an OperationOutcome, one issue per source.
        let details = format!("{organisation}: error");
        let issue = if bundle["resourceType"] == "OperationOutcome" {
            bundle["issue"]
                .as_array()
                .unwrap()
                .iter()
                .find(|i| i["details"]["text"] == details.as_str())
        } else {
            bundle["entry"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| &e["resource"])
                .find(|r| {
                    r["resourceType"] == "OperationOutcome"
                        && r["id"] == format!("source-{}", row.failing)
                })
                .map(|r| &r["issue"][0])
        }
        .unwrap_or_else(|| panic!("{name}: no OperationOutcome for the source: {bundle}"));
        let got = (
            status,
            &issue["severity"],
            &issue["code"],
            &issue["details"]["text"],
            &issue["diagnostics"],
        );
        let expected = (
            row.http_status,
            &json!("error"),
            &json!("exception"),
            &json!(details),
            &json!(row.message),
        );
        wrong.check(
            &format!("{name}, FHIR Bundle (HTTP status, severity, code, details, diagnostics)"),
            got == expected,
            got,
            expected,
        );
    }
    wrong.assert_none();
}
