//! A FHIR R4 source that fails inside a successful answer (HTTP 200, a
//! searchset Bundle holding only an OperationOutcome), through the real
//! adapter and the whole gateway on loopback: both views show the source
//! failed, with the server's own diagnostics — never "no record".

mod common;
mod loaded;

use common::*;
use icr_testkit::http::{Answer, serve as serve_http};
use loaded::{config, registration, serve};

/// A FHIR R4 server whose Patient search answers 200 with a searchset
/// Bundle holding only an error OperationOutcome.
async fn failing_fhir_server() -> String {
    let body = serde_json::json!({
        "resourceType": "Bundle", "type": "searchset",
        "entry": [{"search": {"mode": "outcome"}, "resource": {
            "resourceType": "OperationOutcome",
            "issue": [{"severity": "error", "code": "processing",
                       "diagnostics": "Unable to process request: patient index offline"}]
        }}]
    });
    let server = serve_http(move |_, _| Answer::fhir(200, &body)).await;
    format!("{}/fhir", server.origin())
}

/// The gateway with one `fhir-r4` source at `endpoint`, built by the real
/// adapter; returns its base URL.
async fn gateway_with_fhir_source(endpoint: &str) -> String {
    let spec = registration(&format!(
        "id = \"trust-a\"\norganisation = \"Test Trust\"\nods_code = \"RXX\"\nkind = \"fhir-r4\"\nendpoint = \"{endpoint}\"\nsections = [\"demographics\", \"allergies\"]\ntimeout_ms = 2000\ncache_ttl_s = 0\n"
    ));
    let adapter = icr_adapter_fhir_r4::build(&spec).unwrap();
    serve(&config(vec![(spec, adapter)])).await.0
}

const SAID: &str = "the source refused or failed the request: Patient search: error (processing): \"Unable to process request: patient index offline\"";

#[tokio::test]
async fn fhir_r4_source_failing_inside_http_200_is_shown_as_error_with_its_diagnostics() {
    let base = gateway_with_fhir_source(&failing_fhir_server().await).await;

    let (status, _, view) =
        get_breaking_glass(&format!("{base}/v1/patients/9990000018/record"), GLASS).await;
    assert_valid_view(&view);
    assert_eq!(view["sources"][0]["source"], "trust-a");
    assert_eq!(view["sources"][0]["status"], "error", "{view}");
    assert_eq!(view["sources"][0]["message"], SAID);
    // Every source failed: a gateway error, not "no record anywhere".
    assert_eq!(status, 502);

    let (status, _, bundle) = get_breaking_glass(
        &format!("{base}/fhir/r4/Patient/9990000018/$everything"),
        GLASS,
    )
    .await;
    assert_eq!(status, 502);
    assert_valid_fhir(&bundle);
    let outcome = bundle["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["resource"])
        .find(|r| r["id"] == "source-trust-a")
        .unwrap_or_else(|| panic!("no OperationOutcome for the source: {bundle}"));
    assert_eq!(outcome["resourceType"], "OperationOutcome");
    let issue = &outcome["issue"][0];
    assert_eq!(issue["severity"], "error");
    assert_eq!(issue["details"]["coding"][0]["code"], "error");
    assert_eq!(issue["details"]["text"], "Test Trust (trust-a, RXX): error");
    assert_eq!(issue["diagnostics"], SAID);
}
