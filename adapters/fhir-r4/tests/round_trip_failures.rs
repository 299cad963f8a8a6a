//! How each round-trip plan fails, against scripted servers on loopback:
//! a search failing inside a batch is that section's issue exactly as a
//! failed GET is; a refused batch is read Patient first, and the record
//! says so; no Patient, or a failed Patient search, discards everything
//! else; a server ignoring a chain shows nothing.

mod support;

use icr_adapter_sdk::SourceError;
use icr_model::{IssueKind, Section, SourceIssue, SourceRecord};
use serde_json::{Value, json};
use support::*;

const SECTIONS: [Section; 2] = [Section::Allergies, Section::Conditions];

/// A search's query parameters, by name.
type Query<'a> = &'a dyn Fn(&str) -> Option<String>;

/// A server's answer to a GET search of a type.
type Route = fn(&str, Query<'_>) -> Reply;

fn allergy(patient: &str) -> Value {
    json!({"resourceType": "AllergyIntolerance", "id": "a1",
        "patient": {"reference": format!("Patient/{patient}")}, "code": {"text": "Peanut"}})
}

/// The GET searches of a server whose Condition search fails: the Patient
/// `p1`, found by NHS number; an allergy; a 500 for conditions.
fn search(what: &str, q: Query<'_>) -> Reply {
    let about_p1 = q("patient").as_deref() == Some("p1")
        || q("patient.identifier").is_some_and(|i| i.ends_with(nhs().as_str()));
    match what {
        "Patient" => ok(bundle(vec![matched(patient("p1", nhs()))], None)),
        "AllergyIntolerance" if about_p1 => ok(bundle(vec![matched(allergy("p1"))], None)),
        "Condition" if about_p1 => status(500, outcome("error", "processing", "Database offline")),
        _ => status(400, outcome("error", "invalid", "unexpected search")),
    }
}

/// A `batch-response` answering each GET of a `batch` request body with
/// `answer`.
fn batch_response(body: &[u8], answer: Route) -> Reply {
    let request: Value = serde_json::from_slice(body).unwrap();
    let entries: Vec<Value> = request["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let url = e["request"]["url"].as_str().unwrap();
            let (what, query) = url.split_once('?').unwrap_or((url, ""));
            let pairs: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
                .into_owned()
                .collect();
            let q = |k: &str| {
                pairs
                    .iter()
                    .find(|(key, _)| key == k)
                    .map(|(_, v)| v.clone())
            };
            let reply = answer(what, &q);
            let resource: Value = serde_json::from_slice(&reply.body).unwrap_or(Value::Null);
            if reply.status == 200 {
                json!({"resource": resource, "response": {"status": "200 OK"}})
            } else {
                json!({"response": {"status": reply.status.to_string(), "outcome": resource}})
            }
        })
        .collect();
    ok(json!({"resourceType": "Bundle", "type": "batch-response", "entry": entries}))
}

/// A server answering GETs with `get` and a batch POST with `post`.
async fn server(get: Route, post: fn(&[u8]) -> Reply) -> Server {
    serve(move |a, _| {
        if a.request.method == "POST" {
            post(&a.request.body)
        } else {
            get(&a.what, &|k| a.q(k).map(str::to_string))
        }
    })
    .await
}

/// What the adapter with `search_plan = plan` reads from `server`, the
/// bytes received (which differ by plan) left out.
async fn read(server: &Server, plan: &str) -> Result<SourceRecord, SourceError> {
    read_with(server, plan, "").await
}

/// As [`read`], with the registration's top-level lines `extra`.
async fn read_with(server: &Server, plan: &str, extra: &str) -> Result<SourceRecord, SourceError> {
    let spec = spec(
        server.addr,
        &SECTIONS,
        &format!("search_plan = \"{plan}\""),
        extra,
    );
    adapter(&spec)
        .fetch(&request(&SECTIONS))
        .await
        .map(|mut r| {
            r.wire_bytes = 0;
            r
        })
}

/// The requests `server` saw, as `METHOD what`.
fn requests(server: &Server) -> Vec<String> {
    server
        .asked()
        .iter()
        .map(|a| format!("{} {}", a.request.method, a.what))
        .collect()
}

#[tokio::test]
async fn a_search_failing_inside_a_batch_is_that_sections_issue_as_a_failed_get_is() {
    let s = server(search, |body| batch_response(body, search)).await;
    let batch = read(&s, "batch").await.unwrap();
    assert_eq!(requests(&s), ["POST "]);
    let chained = read(&s, "chained").await.unwrap();
    let first = read(&s, "patient-first").await.unwrap();
    assert_eq!(batch, first);
    assert_eq!(chained, first);
    assert_eq!(first.items.len(), 1);
    assert_eq!(
        first.issues,
        [SourceIssue {
            kind: IssueKind::SectionFailed,
            section: Some(Section::Conditions),
            message: "Condition search failed: HTTP 500 from Condition search: error (processing): \"Database offline\"".into(),
        }]
    );
}

#[tokio::test]
async fn a_batch_refused_with_405_is_read_patient_first_and_says_so() {
    let s = server(search, |_| {
        status(405, outcome("error", "not-supported", "no batches here"))
    })
    .await;
    let record = read(&s, "batch").await.unwrap();
    let mut asked = requests(&s);
    asked[2..].sort();
    assert_eq!(
        asked,
        [
            "POST ",
            "GET Patient",
            "GET AllergyIntolerance",
            "GET Condition"
        ]
    );
    let mut first = read(&s, "patient-first").await.unwrap();
    first.issues.insert(
        0,
        SourceIssue {
            kind: IssueKind::Note,
            section: None,
            message: "the source refused the batch request (HTTP 405); this record was read Patient search first".into(),
        },
    );
    // The note comes after the plan's notes (none here) and before the
    // searches' issues.
    assert_eq!(record, first);
}

#[tokio::test]
async fn no_patient_in_the_batch_discards_everything_else() {
    fn empty_patient(what: &str, q: Query<'_>) -> Reply {
        match what {
            "Patient" => ok(bundle(vec![], None)),
            _ => search(what, q),
        }
    }
    let s = server(empty_patient, |body| batch_response(body, empty_patient)).await;
    for plan in ["batch", "chained"] {
        assert_eq!(
            read(&s, plan).await,
            Err(SourceError::PatientNotFound),
            "{plan}"
        );
    }
    fn not_found(what: &str, q: Query<'_>) -> Reply {
        match what {
            "Patient" => status(404, outcome("error", "not-found", "no such patient")),
            _ => search(what, q),
        }
    }
    let s = server(not_found, |body| batch_response(body, not_found)).await;
    for plan in ["batch", "chained", "revinclude", "patient-first"] {
        assert_eq!(
            read(&s, plan).await,
            Err(SourceError::PatientNotFound),
            "{plan}"
        );
    }
}

#[tokio::test]
async fn a_failed_patient_search_fails_the_source_whatever_the_plan() {
    fn failing(what: &str, q: Query<'_>) -> Reply {
        match what {
            "Patient" => status(503, outcome("fatal", "transient", "PAS offline")),
            _ => search(what, q),
        }
    }
    let s = server(failing, |body| batch_response(body, failing)).await;
    let failed = Err(SourceError::HttpStatus {
        status: 503,
        what: "Patient search: fatal (transient): \"PAS offline\"".into(),
    });
    for plan in ["batch", "chained", "revinclude", "patient-first"] {
        assert_eq!(read(&s, plan).await, failed, "{plan}");
    }
    // A batch answer that cannot be matched to its searches fails it too.
    let s = server(search, |_| {
        ok(json!({"resourceType": "Bundle", "type": "batch-response", "entry": [{}]}))
    })
    .await;
    assert_eq!(
        read(&s, "batch").await,
        Err(SourceError::Malformed(
            "the batch response has 1 entries for 3 searches".into()
        ))
    );
    let s = server(search, |_| {
        status(500, outcome("fatal", "exception", "boom"))
    })
    .await;
    assert_eq!(
        read(&s, "batch").await,
        Err(SourceError::HttpStatus {
            status: 500,
            what: "batch of searches: fatal (exception): \"boom\"".into()
        })
    );
}

#[tokio::test]
async fn a_server_ignoring_the_chain_shows_nothing() {
    // It answers `patient.identifier=` as if unfiltered: someone else's
    // allergy among the Patient's.
    fn ignoring(what: &str, q: Query<'_>) -> Reply {
        match what {
            "AllergyIntolerance" => ok(bundle(
                vec![matched(allergy("p1")), matched(allergy("someone-else"))],
                None,
            )),
            _ => search(what, q),
        }
    }
    let s = server(ignoring, |body| batch_response(body, ignoring)).await;
    for plan in ["batch", "chained"] {
        assert_eq!(
            read(&s, plan).await,
            Err(SourceError::IdentityMismatch(
                "1 resource(s) in the source's answer are about another patient; nothing from it is shown".into()
            )),
            "{plan}"
        );
    }
}

#[tokio::test]
async fn a_revinclude_answer_with_the_servers_issues_is_read_again_type_by_type() {
    fn revinclude(what: &str, q: Query<'_>) -> Reply {
        match what {
            "Patient" if q("_revinclude").is_some() => ok(bundle(
                vec![
                    matched(patient("p1", nhs())),
                    json!({"resource": allergy("p1"), "search": {"mode": "include"}}),
                    outcome_entry("error", "processing", "Condition index offline"),
                ],
                None,
            )),
            _ => search(what, q),
        }
    }
    let s = server(revinclude, |_| status(405, json!({}))).await;
    let record = read(&s, "revinclude").await.unwrap();
    let mut asked = requests(&s);
    asked[1..].sort();
    assert_eq!(
        asked,
        ["GET Patient", "GET AllergyIntolerance", "GET Condition"]
    );
    assert_eq!(record, read(&s, "patient-first").await.unwrap());
}

#[tokio::test]
async fn an_answer_over_the_body_limit_is_read_patient_first_and_says_so() {
    /// An answer of more than a kilobyte.
    fn big() -> Reply {
        let padding = vec![matched(
            json!({"resourceType": "Basic", "id": "x".repeat(2048)}),
        )];
        ok(bundle(padding, None))
    }
    fn route(what: &str, q: Query<'_>) -> Reply {
        match what {
            "Patient" if q("_revinclude").is_some() => big(),
            _ => search(what, q),
        }
    }
    let s = server(route, |_| big()).await;
    let limit = "max_body_bytes = 1024";
    let first = read_with(&s, "patient-first", limit).await.unwrap();
    for (plan, what) in [
        ("batch", "the source's answer to the batch request"),
        (
            "revinclude",
            "the source's answer to the Patient search with _revinclude",
        ),
    ] {
        let mut expected = first.clone();
        expected.issues.insert(
            0,
            SourceIssue {
                kind: IssueKind::Note,
                section: None,
                message: format!(
                    "{what} was over the 1024 byte limit; this record was read Patient search first"
                ),
            },
        );
        assert_eq!(read_with(&s, plan, limit).await, Ok(expected), "{plan}");
    }
}
