//! Every way a FHIR R4 server can say "I failed" inside an answer, against
//! a real server on loopback: one table, failure shape → what the gateway
//! shows (the source's status, and the issues of an answered source). A
//! source that failed must never look like one with nothing to say, and the
//! server's own diagnostics are quoted.

mod support;

use icr_adapter_sdk::SourceError;
use icr_model::{IssueKind, Section, SourceIssue};
use serde_json::{Value, json};
use support::*;

fn allergy() -> Value {
    json!({"resourceType": "AllergyIntolerance", "id": "a1",
           "patient": {"reference": "Patient/p1"}, "code": {"text": "Penicillin"}})
}

fn condition() -> Value {
    json!({"resourceType": "Condition", "id": "c1",
           "subject": {"reference": "Patient/p1"}, "code": {"text": "Asthma"}})
}

/// The Patient search finding the person.
fn found() -> Reply {
    ok(bundle(vec![matched(patient("p1", nhs()))], None))
}

/// Section searches that succeed: one allergy, one condition.
fn fine(a: &Asked, _base: &str) -> Reply {
    match a.what.as_str() {
        "AllergyIntolerance" => ok(bundle(vec![matched(allergy())], None)),
        "Condition" => ok(bundle(vec![matched(condition())], None)),
        _ => ok(bundle(vec![], None)),
    }
}

/// What the gateway shows for a source.
#[derive(Debug)]
enum Shown {
    /// The source failed: its status and message.
    Failed(&'static str, &'static str),
    /// It answered with this many items, this status, and these issues.
    Answered(usize, &'static str, Vec<(IssueKind, Section, &'static str)>),
}

struct Shape {
    name: &'static str,
    patient: fn() -> Reply,
    searches: fn(&Asked, &str) -> Reply,
    sections: &'static [Section],
    shown: Shown,
}

const ALLERGIES: &[Section] = &[Section::Allergies];
const BOTH: &[Section] = &[Section::Allergies, Section::Conditions];

fn shapes() -> Vec<Shape> {
    use IssueKind::*;
    use Section::*;
    vec![
        Shape {
            name: "an OperationOutcome-only Bundle with HTTP 200 on the Patient search",
            patient: || {
                ok(bundle(
                    vec![outcome_entry(
                        "error",
                        "processing",
                        "Unable to process request: index unavailable",
                    )],
                    None,
                ))
            },
            searches: fine,
            sections: ALLERGIES,
            shown: Shown::Failed(
                "error",
                "the source refused or failed the request: Patient search: error (processing): \"Unable to process request: index unavailable\"",
            ),
        },
        Shape {
            name: "an OperationOutcome resource with HTTP 200 on the Patient search",
            patient: || ok(outcome("fatal", "exception", "Database connection lost")),
            searches: fine,
            sections: ALLERGIES,
            shown: Shown::Failed(
                "error",
                "the source refused or failed the request: Patient search: fatal (exception): \"Database connection lost\"",
            ),
        },
        Shape {
            name: "HTTP 500 with an OperationOutcome on the Patient search",
            patient: || status(500, outcome("fatal", "exception", "Index service down")),
            searches: fine,
            sections: ALLERGIES,
            shown: Shown::Failed(
                "error",
                "HTTP 500 from Patient search: fatal (exception): \"Index service down\"",
            ),
        },
        Shape {
            name: "HTTP 404 with a not-found OperationOutcome on the Patient search",
            patient: || {
                status(
                    404,
                    outcome("error", "not-found", "No patient with this identifier"),
                )
            },
            searches: fine,
            sections: ALLERGIES,
            shown: Shown::Failed("not_found", "the source holds no record for this person"),
        },
        Shape {
            name: "an empty searchset (total 0, no OperationOutcome) on the Patient search",
            patient: || ok(json!({"resourceType": "Bundle", "type": "searchset", "total": 0})),
            searches: fine,
            sections: ALLERGIES,
            shown: Shown::Failed("not_found", "the source holds no record for this person"),
        },
        Shape {
            name: "error and fatal OperationOutcome entries beside results in a section search",
            patient: found,
            searches: |a, _| match a.what.as_str() {
                "AllergyIntolerance" => ok(bundle(
                    vec![
                        matched(allergy()),
                        outcome_entry("error", "incomplete", "2 records could not be retrieved"),
                        outcome_entry("fatal", "exception", "Reader thread died"),
                    ],
                    None,
                )),
                _ => ok(bundle(vec![], None)),
            },
            sections: ALLERGIES,
            shown: Shown::Answered(
                1,
                "partial",
                vec![(
                    SectionFailed,
                    Allergies,
                    "the source reported a problem with the AllergyIntolerance search: error (incomplete): \"2 records could not be retrieved\"; fatal (exception): \"Reader thread died\"",
                )],
            ),
        },
        Shape {
            name: "warning and information OperationOutcome entries beside results",
            patient: found,
            searches: |a, _| match a.what.as_str() {
                "AllergyIntolerance" => ok(bundle(
                    vec![
                        matched(allergy()),
                        outcome_entry(
                            "warning",
                            "informational",
                            "Search parameter _sort was ignored",
                        ),
                        outcome_entry("information", "informational", "Served from replica"),
                    ],
                    None,
                )),
                _ => ok(bundle(vec![], None)),
            },
            sections: ALLERGIES,
            shown: Shown::Answered(
                1,
                "ok",
                vec![(
                    Note,
                    Allergies,
                    "the source warned about the AllergyIntolerance search: warning (informational): \"Search parameter _sort was ignored\"",
                )],
            ),
        },
        Shape {
            name: "an OperationOutcome-only Bundle with HTTP 200 on one section search",
            patient: found,
            searches: |a, base| match a.what.as_str() {
                "AllergyIntolerance" => ok(bundle(
                    vec![outcome_entry(
                        "error",
                        "processing",
                        "Timeout reading allergies",
                    )],
                    None,
                )),
                _ => fine(a, base),
            },
            sections: BOTH,
            shown: Shown::Answered(
                1,
                "partial",
                vec![(
                    SectionFailed,
                    Allergies,
                    "AllergyIntolerance search failed: the source refused or failed the request: AllergyIntolerance search: error (processing): \"Timeout reading allergies\"",
                )],
            ),
        },
        Shape {
            name: "an OperationOutcome-only Bundle with HTTP 200 on the only section search",
            patient: found,
            searches: |_, _| {
                ok(bundle(
                    vec![outcome_entry(
                        "error",
                        "processing",
                        "Timeout reading allergies",
                    )],
                    None,
                ))
            },
            sections: ALLERGIES,
            shown: Shown::Failed(
                "error",
                "the source refused or failed the request: AllergyIntolerance search: error (processing): \"Timeout reading allergies\"",
            ),
        },
        Shape {
            name: "an OperationOutcome resource with HTTP 200 on a section search",
            patient: found,
            searches: |a, base| match a.what.as_str() {
                "AllergyIntolerance" => ok(outcome("error", "too-costly", "Too many results")),
                _ => fine(a, base),
            },
            sections: BOTH,
            shown: Shown::Answered(
                1,
                "partial",
                vec![(
                    SectionFailed,
                    Allergies,
                    "AllergyIntolerance search failed: the source refused or failed the request: AllergyIntolerance search: error (too-costly): \"Too many results\"",
                )],
            ),
        },
        Shape {
            name: "an OperationOutcome-only Bundle on the second page of a section search",
            patient: found,
            searches: |a, base| match (a.what.as_str(), a.q("page")) {
                ("AllergyIntolerance", None) => ok(bundle(
                    vec![matched(allergy())],
                    Some(format!("{base}/AllergyIntolerance?patient=p1&page=2")),
                )),
                ("AllergyIntolerance", Some(_)) => ok(bundle(
                    vec![outcome_entry("error", "processing", "Cursor expired")],
                    None,
                )),
                _ => ok(bundle(vec![], None)),
            },
            sections: ALLERGIES,
            shown: Shown::Answered(
                1,
                "partial",
                vec![(
                    SectionFailed,
                    Allergies,
                    "AllergyIntolerance search failed at page 2; earlier pages were read: the source refused or failed the request: AllergyIntolerance search: error (processing): \"Cursor expired\"",
                )],
            ),
        },
        Shape {
            name: "HTTP 500 with an OperationOutcome on one section search",
            patient: found,
            searches: |a, base| match a.what.as_str() {
                "Condition" => status(
                    500,
                    outcome("fatal", "exception", "Null pointer in ConditionProvider"),
                ),
                _ => fine(a, base),
            },
            sections: BOTH,
            shown: Shown::Answered(
                1,
                "partial",
                vec![(
                    SectionFailed,
                    Conditions,
                    "Condition search failed: HTTP 500 from Condition search: fatal (exception): \"Null pointer in ConditionProvider\"",
                )],
            ),
        },
        Shape {
            name: "empty section searches without an OperationOutcome",
            patient: found,
            searches: |_, _| ok(json!({"resourceType": "Bundle", "type": "searchset", "total": 0})),
            sections: BOTH,
            shown: Shown::Answered(0, "ok", vec![]),
        },
    ]
}

/// What the gateway would show for one fetch's result.
fn shown(result: Result<icr_model::SourceRecord, SourceError>) -> String {
    match result {
        Err(e) => format!("Failed({:?}, {:?})", e.status_name(), e.to_string()),
        Ok(r) => {
            let status = if r.issues.iter().any(SourceIssue::loses_data) {
                "partial"
            } else {
                "ok"
            };
            let issues: Vec<String> = r
                .issues
                .iter()
                .map(|i| format!("({:?}, {:?}, {:?})", i.kind, i.section, i.message))
                .collect();
            format!(
                "Answered({}, {status:?}, [{}])",
                r.items.len(),
                issues.join(", ")
            )
        }
    }
}

fn expected(s: &Shown) -> String {
    match s {
        Shown::Failed(status, message) => format!("Failed({status:?}, {message:?})"),
        Shown::Answered(items, status, issues) => {
            let issues: Vec<String> = issues
                .iter()
                .map(|(k, s, m)| format!("({k:?}, {:?}, {m:?})", Some(*s)))
                .collect();
            format!("Answered({items}, {status:?}, [{}])", issues.join(", "))
        }
    }
}

#[tokio::test]
async fn every_failure_shape_maps_to_a_failure_status_never_to_not_found_or_empty() {
    let mut wrong = Vec::new();
    for shape in shapes() {
        let (patient, searches) = (shape.patient, shape.searches);
        let server = serve(move |a, base| match a.what.as_str() {
            "Patient" => patient(),
            _ => searches(a, base),
        })
        .await;
        let source = adapter(&spec(server.addr, shape.sections, "", ""));
        let got = shown(source.fetch(&request(shape.sections)).await);
        let want = expected(&shape.shown);
        if got != want {
            wrong.push(format!("{}:\n   got {got}\n  want {want}", shape.name));
        }
    }
    assert!(wrong.is_empty(), "\n{}", wrong.join("\n"));
}
