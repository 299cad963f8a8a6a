//! `icr source check` against a FHIR R4 server on loopback that lacks a
//! search its registration offers: the check reads the server's
//! CapabilityStatement, names per section the types the file offers that
//! the server does not declare, and fails.

use icr_testkit::serve::{self, Canned};
use serde_json::json;

/// A FHIR R4 server that knows one patient and has no Appointment search.
async fn server_without_appointments() -> String {
    let server = serve::http(|asked| {
        Canned::fhir(
            200,
            &match asked.path.as_str() {
                "/fhir/metadata" => json!({"resourceType": "CapabilityStatement",
                    "status": "active", "kind": "instance", "fhirVersion": "4.0.1",
                    "rest": [{"mode": "server", "resource": [
                        {"type": "Patient", "interaction": [{"code": "search-type"}]},
                        {"type": "Encounter", "interaction": [{"code": "search-type"}]}
                    ]}]}),
                "/fhir/Patient" => json!({"resourceType": "Bundle", "type": "searchset",
                    "entry": [{"resource": {"resourceType": "Patient", "id": "p1",
                        "identifier": [{"system": "https://fhir.nhs.uk/Id/nhs-number", "value": "9990000018"}],
                        "name": [{"family": "Example"}], "birthDate": "1950-03-02"}}]}),
                _ => json!({"resourceType": "Bundle", "type": "searchset", "total": 0}),
            },
        )
    })
    .await;
    format!("{}/fhir", server.origin())
}

#[tokio::test(flavor = "multi_thread")]
async fn source_check_reports_searches_the_file_offers_that_the_server_does_not_declare() {
    let endpoint = server_without_appointments().await;
    let dir = std::env::temp_dir().join(format!("icr-source-check-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("sources.d")).unwrap();
    let file = dir.join("sources.d/trust-a.toml");
    std::fs::write(
        &file,
        format!(
            "id = \"trust-a\"\norganisation = \"Test Trust\"\nods_code = \"RXX\"\nkind = \"fhir-r4\"\nendpoint = \"{endpoint}\"\nsections = [\"demographics\", \"appointments\"]\n"
        ),
    )
    .unwrap();
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_icr"))
        .args(["source", "check"])
        .arg(&file)
        .args(["--nhs", "9990000018"])
        .output()
        .await
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    let lines: Vec<&str> = text.lines().collect();
    for expected in [
        "  the source says: CapabilityStatement read: 1 of the 2 resource types this source's sections need are searchable; _sort not declared",
        "  appointments  nothing recorded",
        "      PROBLEM (undeclared): the file offers Appointment, which the source does not declare searchable",
        "      note (note): this source does not offer Appointment searches",
        "1 problem(s): the file offers searches the source does not declare",
    ] {
        assert!(
            lines.contains(&expected),
            "missing {expected:?} in:\n{text}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
