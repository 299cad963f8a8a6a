//! `next` links on another name for the same server, against a real server
//! on loopback: a server registered as `127.0.0.1` that writes its links on
//! `localhost` is followed only when its file lists that origin in
//! `extra_origins`.

mod support;

use icr_model::{IssueKind, Section};
use serde_json::json;
use support::*;

/// A server whose allergy search has two pages, the second linked on
/// `localhost` at the same port.
async fn server_linking_on_localhost() -> Server {
    serve(|a, base| match (a.what.as_str(), a.q("page")) {
        ("Patient", _) => ok(bundle(vec![matched(patient("p1", nhs()))], None)),
        ("AllergyIntolerance", None) => ok(bundle(
            vec![matched(
                json!({"resourceType": "AllergyIntolerance", "id": "a1",
                "patient": {"reference": "Patient/p1"}, "code": {"text": "Penicillin"}}),
            )],
            Some(format!(
                "{}/AllergyIntolerance?patient=p1&page=2",
                base.replace("127.0.0.1", "localhost")
            )),
        )),
        ("AllergyIntolerance", Some(_)) => ok(bundle(
            vec![matched(
                json!({"resourceType": "AllergyIntolerance", "id": "a2",
                "patient": {"reference": "Patient/p1"}, "code": {"text": "Latex"}}),
            )],
            None,
        )),
        _ => ok(bundle(vec![], None)),
    })
    .await
}

#[tokio::test]
async fn next_link_on_localhost_is_followed_only_when_listed_in_extra_origins() {
    let server = server_linking_on_localhost().await;
    let port = server.addr.port();
    let sections = &[Section::Allergies];

    // Listed: both pages read.
    let listed = spec(
        server.addr,
        sections,
        "",
        &format!("extra_origins = [\"http://localhost:{port}\"]"),
    );
    let record = adapter(&listed).fetch(&request(sections)).await.unwrap();
    let ids: Vec<&str> = record
        .items
        .iter()
        .map(|i| i.provenance.record.local())
        .collect();
    assert_eq!(ids, ["AllergyIntolerance/a1", "AllergyIntolerance/a2"]);
    assert_eq!(record.issues, vec![]);
    assert_eq!(server.asked_for("AllergyIntolerance").len(), 2);

    // Not listed: the second page is not asked for, and the answer says so
    // (the current allergies are asked for separately: the same server
    // ignores the filter here).
    let strict = spec(server.addr, sections, "", "");
    let record = adapter(&strict).fetch(&request(sections)).await.unwrap();
    let ids: Vec<&str> = record
        .items
        .iter()
        .map(|i| i.provenance.record.local())
        .collect();
    assert_eq!(ids, ["AllergyIntolerance/a1"]);
    assert_eq!(record.issues.len(), 1);
    assert_eq!(record.issues[0].kind, IssueKind::Truncated);
    assert_eq!(
        record.issues[0].message,
        "read 1 AllergyIntolerance, not all (the first 1 in the server's order, and 1 active one; there are more active ones, not read): the next page is on another server and was not read"
    );
    let asked = server.asked_for("AllergyIntolerance");
    let current: Vec<Option<&str>> = asked.iter().map(|a| a.q("clinical-status")).collect();
    assert_eq!(current, [None, None, None, Some("active")]);
}
