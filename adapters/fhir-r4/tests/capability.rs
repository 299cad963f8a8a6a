//! Searches planned from what the server says it supports (its
//! CapabilityStatement, read by `prepare`), against a real server on
//! loopback: a server without the Appointment search no longer leaves every
//! record `partial`, and the registration's options override the statement.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use icr_adapter_sdk::{Mismatch, Preparation};
use icr_model::{IssueKind, Section, SourceIssue};
use serde_json::{Value, json};
use support::*;
use tokio::time::Instant;

/// A statement declaring a search of every type in `types`, with `_sort`.
fn statement(types: &[&str]) -> Value {
    let resources: Vec<Value> = types
        .iter()
        .map(|t| json!({"type": t, "interaction": [{"code": "read"}, {"code": "search-type"}]}))
        .collect();
    json!({"resourceType": "CapabilityStatement", "status": "active", "kind": "instance",
           "fhirVersion": "4.0.1", "format": ["json"],
           "rest": [{"mode": "server", "searchParam": [{"name": "_sort"}], "resource": resources}]})
}

/// A server without the Appointment search (404, as a real one answered),
/// whose statement says so unless `appointments` is set.
async fn server_without_appointments(appointments: Arc<AtomicBool>) -> Server {
    serve(move |a, _| match a.what.as_str() {
        "metadata" if appointments.load(Ordering::SeqCst) => {
            ok(statement(&["Patient", "Appointment", "Encounter"]))
        }
        "metadata" => ok(statement(&["Patient", "Encounter"])),
        "Patient" => ok(bundle(vec![matched(patient("p1", nhs()))], None)),
        "Appointment" if !appointments.load(Ordering::SeqCst) => status(
            404,
            outcome("error", "not-supported", "Unknown resource type"),
        ),
        "Encounter" => ok(bundle(
            vec![matched(
                json!({"resourceType": "Encounter", "id": "e1", "status": "finished",
                "class": {"code": "AMB"}, "subject": {"reference": "Patient/p1"}}),
            )],
            None,
        )),
        _ => ok(bundle(vec![], None)),
    })
    .await
}

const APPOINTMENTS: &[Section] = &[Section::Appointments];

fn soon() -> Instant {
    Instant::now() + Duration::from_secs(3)
}

#[tokio::test]
async fn a_search_the_server_does_not_declare_is_not_run_and_the_source_is_not_partial() {
    let server = server_without_appointments(Arc::new(AtomicBool::new(false))).await;
    let source = adapter(&spec(server.addr, APPOINTMENTS, "", ""));

    // Before the statement is read, the adapter plans from its registration
    // (and the missing search shows as a failed part).
    let before = source.fetch(&request(APPOINTMENTS)).await.unwrap();
    assert_eq!(before.issues.len(), 1);
    assert_eq!(before.issues[0].kind, IssueKind::SectionFailed);

    let prepared = source.prepare(soon()).await;
    assert_eq!(
        prepared,
        Preparation {
            notes: vec![
                "CapabilityStatement read: 1 of the 2 resource types this source's sections need are searchable; _sort declared".into(),
                "records are read Patient search first, then the searches by its id (search_plan \"patient-first\")".into(),
            ],
            mismatches: vec![Mismatch {
                section: Section::Appointments,
                undeclared: vec!["Appointment".into()],
                whole_section: false,
            }],
        }
    );
    assert_eq!(server.asked_for("metadata").len(), 1);

    let asked_before = server.asked_for("Appointment").len();
    let after = source.fetch(&request(APPOINTMENTS)).await.unwrap();
    assert_eq!(after.items.len(), 1);
    assert_eq!(
        after.issues,
        vec![SourceIssue {
            kind: IssueKind::Note,
            section: Some(Section::Appointments),
            message: "this source does not offer Appointment searches".into(),
        }]
    );
    assert!(!after.issues.iter().any(SourceIssue::loses_data));
    assert_eq!(server.asked_for("Appointment").len(), asked_before);
}

#[tokio::test]
async fn the_statement_is_read_again_on_every_prepare() {
    let appointments = Arc::new(AtomicBool::new(false));
    let server = server_without_appointments(Arc::clone(&appointments)).await;
    let source = adapter(&spec(server.addr, APPOINTMENTS, "", ""));
    source.prepare(soon()).await;
    source.fetch(&request(APPOINTMENTS)).await.unwrap();
    assert_eq!(server.asked_for("Appointment").len(), 0);

    // The server gains the search; the next preparation (a reload) sees it.
    appointments.store(true, Ordering::SeqCst);
    let prepared = source.prepare(soon()).await;
    assert_eq!(prepared.mismatches, vec![]);
    let record = source.fetch(&request(APPOINTMENTS)).await.unwrap();
    assert_eq!(record.issues, vec![]);
    assert_eq!(server.asked_for("Appointment").len(), 1);
}

#[tokio::test]
async fn options_override_the_statement() {
    let server = server_without_appointments(Arc::new(AtomicBool::new(false))).await;

    // `skip`: never searched, even before any statement is read.
    let skipping = adapter(&spec(
        server.addr,
        APPOINTMENTS,
        "skip = [\"Appointment\"]",
        "",
    ));
    let record = skipping.fetch(&request(APPOINTMENTS)).await.unwrap();
    assert_eq!(record.issues, vec![]);
    assert_eq!(server.asked_for("Appointment").len(), 0);

    // `searches = "all"`: the statement is not read, every type is searched.
    let all = adapter(&spec(server.addr, APPOINTMENTS, "searches = \"all\"", ""));
    let prepared = all.prepare(soon()).await;
    assert_eq!(
        prepared.notes,
        [
            "searches = \"all\": the CapabilityStatement is not read; every type of the offered sections is searched"
        ]
    );
    assert_eq!(server.asked_for("metadata").len(), 0);
    let record = all.fetch(&request(APPOINTMENTS)).await.unwrap();
    assert_eq!(record.issues[0].kind, IssueKind::SectionFailed);
    assert_eq!(server.asked_for("Appointment").len(), 1);
}

#[tokio::test]
async fn an_unreadable_statement_leaves_the_plan_from_the_registration() {
    let server = serve(|a, _| match a.what.as_str() {
        "metadata" => status(404, outcome("error", "not-found", "no metadata here")),
        "Patient" => ok(bundle(vec![matched(patient("p1", nhs()))], None)),
        _ => ok(bundle(vec![], None)),
    })
    .await;
    let source = adapter(&spec(server.addr, APPOINTMENTS, "", ""));
    let prepared = source.prepare(soon()).await;
    assert_eq!(
        prepared,
        Preparation {
            notes: vec![
                "the CapabilityStatement could not be read (HTTP 404 from CapabilityStatement: error (not-found): \"no metadata here\"); searches are planned from the registration".into()
            ],
            mismatches: vec![],
        }
    );
    let record = source.fetch(&request(APPOINTMENTS)).await.unwrap();
    assert_eq!(record.issues, vec![]);
    assert_eq!(server.asked_for("Appointment").len(), 1);
    assert_eq!(server.asked_for("Encounter").len(), 1);
}
