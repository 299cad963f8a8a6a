//! Every way a document registry and its document server can say "I
//! failed" — an OperationOutcome instead of the searchset or beside its
//! entries, a later page failing, a document URL answering an
//! OperationOutcome, an HTML page or nothing — and the outcome it must
//! have. A source from which nothing could be read because it failed is
//! an error quoting its own words, never `ok` with no documents; what was
//! read beside a failure is kept, with an issue that loses data. Only the
//! registry saying `not-found` (a 404, or a searchset holding only that)
//! is `not_found`. One loopback registry per row.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use icr_adapter_sdk::{FetchRequest, SourceError};
use icr_model::*;
use icr_testkit::Mismatches;
use icr_testkit::serve::{self, Asked, Canned};
use serde_json::{Value, json};
use tokio::time::Instant;

fn nhs() -> NhsNumber {
    NhsNumber::parse("9990000018").unwrap()
}

fn outcome(severity: &str, code: &str, diagnostics: &str) -> Value {
    json!({"resourceType": "OperationOutcome", "issue": [
        {"severity": severity, "code": code, "diagnostics": diagnostics}
    ]})
}

/// A searchset entry holding an OperationOutcome.
fn outcome_entry(severity: &str, code: &str, diagnostics: &str) -> Value {
    json!({"search": {"mode": "outcome"}, "resource": outcome(severity, code, diagnostics)})
}

/// An entry listing `Binary/{name}` for the person.
fn listed(name: &str) -> Value {
    docref(
        name,
        &format!("Binary/{name}"),
        by_nhs(nhs()),
        "application/hl7-v3+xml",
        "2024-03-15",
    )
}

/// A readable CDA document about the person.
fn document() -> Canned {
    Canned::new(
        200,
        "application/hl7-v3+xml",
        cda(
            Some(nhs()),
            "Out-of-hours report",
            "N",
            "20240315031500+0000",
        ),
    )
}

/// How a row's server answers: the registry's pages (page 1 first, each
/// with a `next` link to the one after), and every document by name.
struct Server {
    pages: Vec<Canned>,
    documents: Vec<(&'static str, Canned)>,
}

impl Server {
    fn answer(&self, asked: &Asked) -> Canned {
        if asked.path == "/fhir/DocumentReference" {
            let page = asked
                .q("page")
                .and_then(|n| n.parse::<usize>().ok())
                .unwrap_or(1);
            return self
                .pages
                .get(page - 1)
                .cloned()
                .unwrap_or(Canned::empty(404));
        }
        let name = asked.path.strip_prefix("/fhir/Binary/").unwrap_or("");
        self.documents
            .iter()
            .find(|(n, _)| *n == name)
            .map_or(Canned::empty(404), |(_, c)| c.clone())
    }
}

/// A searchset page of `entries`, with a `next` link to page `next`.
fn page(entries: Vec<Value>, next: Option<usize>) -> Canned {
    Canned::fhir(
        200,
        &searchset(entries, next.map(|n| format!("DocumentReference?page={n}"))),
    )
}

fn registry_only(registry: Canned) -> Server {
    Server {
        pages: vec![registry],
        documents: Vec::new(),
    }
}

/// What a row expects.
#[derive(Debug)]
enum Expect {
    Fails(SourceError),
    /// Answered with this many documents, and this issue (one that loses
    /// data) among the issues.
    Partial {
        documents: usize,
        issue: SourceIssue,
    },
}

impl Expect {
    fn matches(&self, got: &Result<SourceRecord, SourceError>) -> bool {
        match (got, self) {
            (Err(e), Expect::Fails(x)) => e == x,
            (Ok(r), Expect::Partial { documents, issue }) => {
                r.items.len() == *documents && r.issues.contains(issue) && issue.loses_data()
            }
            _ => false,
        }
    }
}

fn refused(message: &str) -> Expect {
    Expect::Fails(SourceError::Refused(message.into()))
}

fn lost(kind: IssueKind, documents: usize, message: &str) -> Expect {
    Expect::Partial {
        documents,
        issue: SourceIssue {
            kind,
            section: Some(Section::Documents),
            message: message.into(),
        },
    }
}

#[tokio::test]
async fn every_cda_failure_shape_is_a_failure_with_its_words_and_never_an_empty_answer() {
    let rows: Vec<(&str, Server, Expect)> = vec![
        (
            "registry: 200 OperationOutcome instead of a searchset",
            registry_only(Canned::fhir(
                200,
                &outcome("error", "processing", "Registry database\nunavailable"),
            )),
            refused(
                "registry search: the registry answered with an OperationOutcome instead of a searchset (error: processing): the source said \"Registry database unavailable\"",
            ),
        ),
        (
            "registry: 200 OperationOutcome not-found instead of a searchset",
            registry_only(Canned::fhir(
                200,
                &outcome("error", "not-found", "Unknown resource type"),
            )),
            refused(
                "registry search: the registry answered with an OperationOutcome instead of a searchset (error: not-found): the source said \"Unknown resource type\"",
            ),
        ),
        (
            "registry: searchset holding only an error OperationOutcome",
            registry_only(page(
                vec![outcome_entry("error", "processing", "Query timed out")],
                None,
            )),
            refused(
                "registry search: the registry reported an error and listed nothing (error: processing): the source said \"Query timed out\"",
            ),
        ),
        (
            "registry: searchset of not-found beside another error",
            registry_only(page(
                vec![
                    outcome_entry("error", "not-found", "No match"),
                    outcome_entry("fatal", "exception", "Index offline"),
                ],
                None,
            )),
            refused(
                "registry search: the registry reported an error and listed nothing (error: not-found, fatal: exception): the source said \"No match; Index offline\"",
            ),
        ),
        (
            "registry: searchset holding only not-found: the person is not known",
            registry_only(page(
                vec![outcome_entry("error", "not-found", "No match")],
                None,
            )),
            Expect::Fails(SourceError::PatientNotFound),
        ),
        (
            "registry: 404 OperationOutcome not-found",
            registry_only(Canned::fhir(
                404,
                &outcome("error", "not-found", "No match"),
            )),
            Expect::Fails(SourceError::PatientNotFound),
        ),
        (
            "registry: 404 OperationOutcome of another error",
            registry_only(Canned::fhir(
                404,
                &outcome("error", "processing", "No such endpoint"),
            )),
            Expect::Fails(SourceError::HttpStatus {
                status: 404,
                what: "registry search (error: processing): the source said \"No such endpoint\""
                    .into(),
            }),
        ),
        (
            "registry: 503 OperationOutcome",
            registry_only(Canned::fhir(
                503,
                &outcome("fatal", "transient", "Try again later"),
            )),
            Expect::Fails(SourceError::HttpStatus {
                status: 503,
                what: "registry search (fatal: transient): the source said \"Try again later\""
                    .into(),
            }),
        ),
        (
            "registry: an error OperationOutcome beside a document",
            Server {
                pages: vec![page(
                    vec![
                        listed("a"),
                        outcome_entry("error", "processing", "One store was not searched"),
                    ],
                    None,
                )],
                documents: vec![("a", document())],
            },
            lost(
                IssueKind::SectionFailed,
                1,
                "the registry reported a problem with the search (error: processing): the source said \"One store was not searched\"",
            ),
        ),
        (
            "registry: page 2 fails after page 1 listed a document",
            Server {
                pages: vec![
                    page(vec![listed("a")], Some(2)),
                    Canned::fhir(500, &outcome("fatal", "exception", "Paging cursor lost")),
                ],
                documents: vec![("a", document())],
            },
            lost(
                IssueKind::SectionFailed,
                1,
                "the registry search failed at page 2; documents listed on earlier pages were read: HTTP 500 from registry search (fatal: exception): the source said \"Paging cursor lost\"",
            ),
        ),
        (
            "registry: page 2 answers an OperationOutcome after an empty page 1",
            Server {
                pages: vec![
                    page(vec![], Some(2)),
                    Canned::fhir(200, &outcome("error", "processing", "Paging cursor lost")),
                ],
                documents: Vec::new(),
            },
            refused(
                "registry search: the registry answered with an OperationOutcome instead of a searchset (error: processing): the source said \"Paging cursor lost\"",
            ),
        ),
        (
            "registry: page 2 holds only an error after page 1 listed a document",
            Server {
                pages: vec![
                    page(vec![listed("a")], Some(2)),
                    page(
                        vec![outcome_entry("error", "processing", "Shard 2 unavailable")],
                        None,
                    ),
                ],
                documents: vec![("a", document())],
            },
            lost(
                IssueKind::SectionFailed,
                1,
                "the registry reported a problem with the search (error: processing): the source said \"Shard 2 unavailable\"",
            ),
        ),
        (
            "document: 200 OperationOutcome instead of CDA",
            Server {
                pages: vec![page(vec![listed("a")], None)],
                documents: vec![(
                    "a",
                    Canned::fhir(
                        200,
                        &outcome("error", "processing", "Document store offline"),
                    ),
                )],
            },
            refused(
                "CDA document: the document server answered with an OperationOutcome instead of a CDA document (error: processing): the source said \"Document store offline\"",
            ),
        ),
        (
            "document: 200 HTML error page",
            Server {
                pages: vec![page(vec![listed("a")], None)],
                documents: vec![(
                    "a",
                    Canned::new(
                        200,
                        "text/html",
                        "<html><body>Service unavailable</body></html>",
                    ),
                )],
            },
            Expect::Fails(SourceError::Malformed(
                "CDA document: the root element is not a CDA ClinicalDocument".into(),
            )),
        ),
        (
            "document: 200 with an empty body",
            Server {
                pages: vec![page(vec![listed("a")], None)],
                documents: vec![("a", Canned::empty(200))],
            },
            Expect::Fails(SourceError::Malformed(
                "CDA document: the document is empty".into(),
            )),
        ),
        (
            "documents: one read, one answering an OperationOutcome",
            Server {
                pages: vec![page(vec![listed("a"), listed("b")], None)],
                documents: vec![
                    ("a", document()),
                    (
                        "b",
                        Canned::fhir(
                            200,
                            &outcome("error", "processing", "Document store offline"),
                        ),
                    ),
                ],
            },
            lost(
                IssueKind::Unreadable,
                1,
                "1 CDA document could not be fetched and was left out (first: the source refused or failed the request: CDA document: the document server answered with an OperationOutcome instead of a CDA document (error: processing): the source said \"Document store offline\")",
            ),
        ),
        (
            "documents: one HTML page, one 500: nothing read",
            Server {
                pages: vec![page(vec![listed("a"), listed("b")], None)],
                documents: vec![
                    ("a", Canned::new(200, "text/html", "<html>oops</html>")),
                    (
                        "b",
                        Canned::fhir(500, &outcome("fatal", "exception", "Crashed")),
                    ),
                ],
            },
            Expect::Fails(SourceError::HttpStatus {
                status: 500,
                what: "CDA document (fatal: exception): the source said \"Crashed\"".into(),
            }),
        ),
    ];
    let mut wrong = Mismatches::default();
    for (name, server, expected) in rows {
        let server = Arc::new(server);
        let addr = serve::http(move |asked| server.answer(asked)).await.addr;
        let registry = icr_adapter_cda::build(&spec(addr, "")).unwrap();
        let got = registry
            .fetch(&FetchRequest::system(
                nhs(),
                [Section::Documents].into_iter().collect(),
                Instant::now() + Duration::from_secs(5),
            ))
            .await;
        let right = expected.matches(&got);
        wrong.check(
            name,
            right,
            got.map(|r| (r.items.len(), r.issues)),
            expected,
        );
    }
    wrong.assert_none();
}
