//! The FHIR face over real HTTP on loopback, as FHIR clients use it:
//! `$everything` by GET and POST, paging with `next` links, content
//! negotiation, every error as an OperationOutcome, the CapabilityStatement
//! and SMART discovery.

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use common::*;
use icr_adapter_sdk::SourceError;
use icr_model::*;
use serde_json::{Value, json};

const ALL: &str = "demographics,contacts,care_team,medications,allergies,conditions,results,documents,procedures,referrals,appointments,alerts";

/// A record of the demographics and `n` distinct conditions, from `gwh`
/// (RN3), and a source that fails (an outcome entry on the first page).
async fn gateway_with_conditions(n: usize) -> Started {
    let gwh = meta("gwh");
    let ids: Vec<String> = (0..n).map(|i| format!("Condition/{i}")).collect();
    let items = ids
        .iter()
        .enumerate()
        .map(|(i, id)| {
            (
                id.as_str(),
                Entry::Condition(Condition {
                    code: snomed(&format!("{}", 100_000 + i), &format!("Condition {i}")),
                    ..Default::default()
                }),
            )
        })
        .collect();
    start_with(
        2000,
        vec![
            (
                spec("gwh", ALL, 1000, 0),
                Script::Answer(record(&gwh, items), Duration::ZERO),
            ),
            (
                spec("down", ALL, 500, 0),
                Script::Fail(
                    SourceError::Unavailable("cannot connect".into()),
                    Duration::ZERO,
                ),
            ),
        ],
        Setup::default(),
    )
    .await
}

fn everything(base: &str) -> String {
    format!("{base}/fhir/r4/Patient/9990000018/$everything")
}

struct Answer {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: Value,
}

/// Sends `request` with a clinician's token at gwh (RN3).
async fn send(request: reqwest::RequestBuilder) -> Answer {
    answer(request.bearer_auth(token("R8000", "RN3"))).await
}

/// Sends `request` as it is.
async fn answer(request: reqwest::RequestBuilder) -> Answer {
    let r = request.send().await.expect("the gateway answers");
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    let bytes = r.bytes().await.expect("a body");
    Answer {
        status,
        headers,
        body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    }
}

fn full_urls(pages: &[Value]) -> BTreeSet<String> {
    pages
        .iter()
        .flat_map(|p| p["entry"].as_array().cloned().unwrap_or_default())
        .filter(|e| e["search"]["mode"] != "outcome")
        .map(|e| e["fullUrl"].as_str().unwrap_or_default().to_owned())
        .collect()
}

fn link(page: &Value, relation: &str) -> Option<String> {
    page["link"]
        .as_array()?
        .iter()
        .find(|l| l["relation"] == relation)
        .and_then(|l| l["url"].as_str())
        .map(str::to_owned)
}

fn count_mode(page: &Value, mode: &str) -> usize {
    page["entry"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["search"]["mode"] == mode)
        .count()
}

#[tokio::test]
async fn every_error_under_fhir_is_an_operation_outcome() {
    let s = gateway_with_conditions(3).await;
    let base = &s.base;
    let nobody_answers = start_with(
        1000,
        vec![(
            spec("a", ALL, 500, 0),
            Script::Fail(
                SourceError::Unavailable("cannot connect".into()),
                Duration::ZERO,
            ),
        )],
        Setup::default(),
    )
    .await;
    let full = start_with(
        1000,
        vec![(
            spec("a", ALL, 500, 0),
            Script::Answer(SourceRecord::default(), Duration::ZERO),
        )],
        Setup {
            max_in_flight: Some(0),
            ..Setup::default()
        },
    )
    .await;
    let http = reqwest::Client::new();
    let no_token = answer;
    let cases: Vec<(&str, Answer, u16, &str)> = vec![
        (
            "an invalid NHS number",
            send(http.get(format!("{base}/fhir/r4/Patient/9434765918/$everything"))).await,
            400,
            "invalid",
        ),
        (
            "a _count that is not a number",
            send(http.get(format!("{}?_count=ten", everything(base)))).await,
            400,
            "invalid",
        ),
        (
            "no token",
            no_token(http.get(everything(base))).await,
            401,
            "login",
        ),
        (
            "no relationship",
            answer(
                http.get(everything(base))
                    .bearer_auth(token("R8000", "RTE")),
            )
            .await,
            403,
            "forbidden",
        ),
        (
            "an unknown route",
            no_token(http.get(format!("{base}/fhir/r4/Nothing/here"))).await,
            404,
            "not-found",
        ),
        (
            "another FHIR version",
            no_token(http.get(format!("{base}/fhir/stu3/metadata"))).await,
            404,
            "not-found",
        ),
        (
            "DELETE on the CapabilityStatement",
            no_token(http.delete(format!("{base}/fhir/r4/metadata"))).await,
            405,
            "not-supported",
        ),
        (
            "PUT on $everything",
            send(http.put(everything(base))).await,
            405,
            "not-supported",
        ),
        (
            "POST on the AuditEvent search",
            send(http.post(format!("{base}/fhir/r4/AuditEvent?patient=9990000018"))).await,
            405,
            "not-supported",
        ),
        (
            "XML asked for",
            send(
                http.get(everything(base))
                    .header("Accept", "application/fhir+xml"),
            )
            .await,
            406,
            "not-supported",
        ),
        (
            "_format=xml",
            send(http.get(format!("{}?_format=xml", everything(base)))).await,
            406,
            "not-supported",
        ),
        (
            "XML audit asked for",
            send(
                http.get(format!("{base}/fhir/r4/AuditEvent?patient=9990000018"))
                    .header("Accept", "application/xml"),
            )
            .await,
            406,
            "not-supported",
        ),
        (
            "a page no longer kept",
            send(http.get(format!(
                "{}?_page_token={}&_offset=10&_count=10",
                everything(base),
                "0".repeat(32)
            )))
            .await,
            410,
            "not-found",
        ),
        (
            "a body too large",
            send(
                http.post(everything(base))
                    .header("Content-Type", "application/fhir+json")
                    .body(vec![b' '; 70 * 1024]),
            )
            .await,
            413,
            "too-long",
        ),
        (
            "a body that is no Parameters",
            send(
                http.post(everything(base))
                    .header("Content-Type", "text/plain")
                    .body("_count=5"),
            )
            .await,
            415,
            "not-supported",
        ),
        (
            "a Parameters body that is not one",
            send(
                http.post(everything(base))
                    .header("Content-Type", "application/fhir+json")
                    .body(r#"{"resourceType":"Patient"}"#),
            )
            .await,
            400,
            "invalid",
        ),
        (
            "no source answered",
            send(
                http.get(everything(&nobody_answers.base))
                    .header("X-Break-Glass-Reason", GLASS),
            )
            .await,
            502,
            "transient",
        ),
        (
            "overloaded",
            send(http.get(everything(&full.base))).await,
            503,
            "transient",
        ),
    ];
    for (what, answer, status, issue) in cases {
        assert_eq!(answer.status, status, "{what}: {:#}", answer.body);
        assert!(
            answer.headers["content-type"]
                .to_str()
                .unwrap()
                .starts_with("application/fhir+json"),
            "{what}: {:?}",
            answer.headers["content-type"]
        );
        assert_eq!(answer.body["resourceType"], "OperationOutcome", "{what}");
        assert_eq!(answer.body["issue"][0]["code"], issue, "{what}");
        assert!(
            answer.body["issue"][0]["diagnostics"]
                .as_str()
                .is_some_and(|d| !d.is_empty()),
            "{what}: says why"
        );
        assert_valid_fhir(&answer.body);
        match status {
            405 => assert!(answer.headers.contains_key("allow"), "{what}"),
            503 => assert_eq!(answer.headers["retry-after"], "1", "{what}"),
            401 => assert!(answer.headers.contains_key("www-authenticate"), "{what}"),
            _ => {}
        }
    }
}

#[tokio::test]
async fn everything_by_post_is_served_as_by_get() {
    let s = gateway_with_conditions(4).await;
    let http = reqwest::Client::new();
    let got = send(http.get(everything(&s.base))).await;
    assert_eq!(got.status, 200);
    assert_eq!(got.body["total"], 5);
    let whole = full_urls(std::slice::from_ref(&got.body));
    // fhir-kit-client's default: POST, no body, Content-Type fhir+json.
    for request in [
        http.post(everything(&s.base))
            .header("Content-Type", "application/fhir+json"),
        http.post(everything(&s.base)),
        http.post(everything(&s.base))
            .header("Content-Type", "application/fhir+json")
            .body(r#"{"resourceType":"Parameters"}"#),
    ] {
        let posted = send(request).await;
        assert_eq!(posted.status, 200, "{:#}", posted.body);
        assert_valid_fhir(&posted.body);
        assert_eq!(posted.body["total"], 5);
        assert_eq!(full_urls(std::slice::from_ref(&posted.body)), whole);
    }
    // Parameters in a Parameters resource, or a form, as in the query.
    let by_parameters = send(
        http.post(everything(&s.base))
            .header("Content-Type", "application/fhir+json")
            .body(
                json!({"resourceType": "Parameters", "parameter": [
                    {"name": "_type", "valueString": "Condition"},
                    {"name": "_count", "valueInteger": 2}
                ]})
                .to_string(),
            ),
    )
    .await;
    assert_eq!(by_parameters.status, 200, "{:#}", by_parameters.body);
    assert_eq!(by_parameters.body["total"], 4, "only the conditions");
    assert_eq!(count_mode(&by_parameters.body, "match"), 2, "in pages of 2");
    assert!(link(&by_parameters.body, "next").is_some());
    let by_form = send(
        http.post(everything(&s.base))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body("_type=Patient"),
    )
    .await;
    assert_eq!(by_form.status, 200);
    assert_eq!(by_form.body["total"], 1);
}

#[tokio::test]
async fn count_pages_the_record_by_next_links_for_the_same_caller_only() {
    let s = gateway_with_conditions(25).await;
    let http = reqwest::Client::new();
    let whole = send(http.get(everything(&s.base))).await;
    assert_eq!(whole.status, 200);
    assert_eq!(whole.body["total"], 26, "the Patient and 25 conditions");
    assert_eq!(link(&whole.body, "next"), None, "one page by default");
    assert_eq!(count_mode(&whole.body, "outcome"), 1);

    let mut pages = Vec::new();
    let mut url = format!("{}?_count=10", everything(&s.base));
    loop {
        let page = send(http.get(&url)).await;
        assert_eq!(page.status, 200, "{:#}", page.body);
        assert_valid_fhir(&page.body);
        assert_eq!(page.body["total"], 26, "every page gives the total");
        assert!(link(&page.body, "self").is_some());
        let next = link(&page.body, "next");
        pages.push(page.body);
        match next {
            Some(n) => {
                assert!(n.starts_with(&s.base), "an absolute link: {n}");
                url = n;
            }
            None => break,
        }
    }
    let matches: Vec<usize> = pages.iter().map(|p| count_mode(p, "match")).collect();
    assert_eq!(matches, [10, 10, 6]);
    let outcomes: Vec<usize> = pages.iter().map(|p| count_mode(p, "outcome")).collect();
    assert_eq!(outcomes, [1, 0, 0], "outcomes on the first page");
    assert_eq!(
        full_urls(&pages),
        full_urls(std::slice::from_ref(&whole.body))
    );
    // Each match comes with its Provenance on the same page.
    for p in &pages {
        assert_eq!(count_mode(p, "include"), count_mode(p, "match"));
    }

    // _count=0: the total alone, and nothing to page through.
    let none = send(http.get(format!("{}?_count=0", everything(&s.base)))).await;
    assert_eq!(none.status, 200);
    assert_eq!(none.body["total"], 26);
    assert_eq!(count_mode(&none.body, "match"), 0);
    assert_eq!(link(&none.body, "next"), None);
    // A next link's page size is at least one match.
    let zero = link(&pages[0], "next")
        .unwrap()
        .replace("_count=10", "_count=0");
    let one = send(http.get(&zero)).await;
    assert_eq!(one.status, 200);
    assert_eq!(count_mode(&one.body, "match"), 1);

    // The next link is for the caller who asked, and that person.
    let second = link(&pages[0], "next").unwrap();
    let other = answer(http.get(&second).bearer_auth(token("R8000", "RD1"))).await;
    assert_eq!(other.status, 403);
    assert_eq!(
        other.body["issue"][0]["details"]["coding"][0]["code"],
        "NOT_YOUR_PAGES"
    );
    let wrong_person = second.replace("9990000018", "9990000026");
    assert_eq!(send(http.get(&wrong_person)).await.status, 400);
    assert_eq!(answer(http.get(&second)).await.status, 401);

    // Every page read is audited as an access, refusals too.
    let accesses = audited(&s.audit_dir, &nhs(), 1000).await;
    let fhir: Vec<(icr_audit::Decision, u16, u32)> = accesses
        .iter()
        .filter(|r| r.interaction == icr_audit::Interaction::FhirEverything)
        .map(|r| (r.decision, r.http_status, r.items_released))
        .collect();
    use icr_audit::Decision::{Allowed, Refused};
    assert_eq!(
        fhir,
        [
            (Allowed, 200, 26),
            (Allowed, 200, 26),
            (Allowed, 200, 10),
            (Allowed, 200, 6),
            (Allowed, 200, 26),
            (Allowed, 200, 1),
            (Refused, 403, 0),
            (Refused, 401, 0),
        ]
    );
    // The attempt to read them as another person's is on that person's.
    let other = NhsNumber::parse("9990000026").unwrap();
    let theirs = audited(&s.audit_dir, &other, 1000).await;
    let refused: Vec<(icr_audit::Decision, u16, &str)> = theirs
        .iter()
        .map(|r| (r.decision, r.http_status, r.reason.as_str()))
        .collect();
    assert_eq!(refused, [(Refused, 400, "wrong-patient")]);
}

#[tokio::test]
async fn json_is_negotiated_and_xml_is_refused() {
    let s = gateway_with_conditions(1).await;
    let http = reqwest::Client::new();
    let served = [
        ("Accept", "*/*"),
        ("Accept", "application/json"),
        ("Accept", "application/fhir+json; fhirVersion=4.0"),
        (
            "Accept",
            "application/fhir+xml;q=1, application/fhir+json;q=0.5",
        ),
        ("Accept", "text/html, application/*;q=0.1"),
        ("X-None", ""),
    ];
    for (name, value) in served {
        let a = send(http.get(everything(&s.base)).header(name, value)).await;
        assert_eq!(a.status, 200, "{name}: {value}");
    }
    let json_format = send(
        http.get(format!(
            "{}?_format=application/fhir%2Bjson",
            everything(&s.base)
        ))
        .header("Accept", "application/fhir+xml"),
    )
    .await;
    assert_eq!(json_format.status, 200, "_format wins over Accept");
    for value in [
        "application/fhir+xml",
        "application/xml, text/html",
        "application/fhir+json;q=0",
    ] {
        let a = send(http.get(everything(&s.base)).header("Accept", value)).await;
        assert_eq!(a.status, 406, "{value}");
    }
    for format in ["xml", "application/fhir+xml", "html"] {
        let a = send(http.get(format!("{}?_format={format}", everything(&s.base)))).await;
        assert_eq!(a.status, 406, "{format}");
    }
}

#[tokio::test]
async fn the_capability_statement_lists_what_is_served_and_smart_discovery_names_the_issuers() {
    let s = gateway_with_conditions(1).await;
    let http = reqwest::Client::new();
    let cap: Value = http
        .get(format!("{}/fhir/r4/metadata", s.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_valid_fhir(&cap);
    let rest = &cap["rest"][0];
    let types: Vec<&str> = rest["resource"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["type"].as_str().unwrap())
        .collect();
    assert_eq!(types, ["Patient", "AuditEvent"]);
    assert_eq!(rest["resource"][0]["operation"][0]["name"], "everything");
    assert_eq!(rest["resource"][1]["interaction"][0]["code"], "search-type");
    assert_eq!(rest["resource"][1]["searchParam"][0]["name"], "patient");
    assert_eq!(
        rest["security"]["service"][0]["coding"][0],
        json!({"system": "http://terminology.hl7.org/CodeSystem/restful-security-service", "code": "SMART-on-FHIR", "display": "SMART-on-FHIR"})
    );
    assert!(
        rest["security"]["description"]
            .as_str()
            .unwrap()
            .contains("https://login.icr-demo.example")
    );
    for path in [
        "/.well-known/smart-configuration",
        "/fhir/r4/.well-known/smart-configuration",
    ] {
        // JSON whatever the Accept, and no token needed.
        let r = http
            .get(format!("{}{path}", s.base))
            .header("Accept", "application/fhir+xml")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{path}");
        assert_eq!(r.headers()["content-type"], "application/json", "{path}");
        let smart: Value = r.json().await.unwrap();
        assert_eq!(
            smart["trusted_issuers"],
            json!([{"issuer": "https://login.icr-demo.example", "audience": "icr-gateway"}]),
            "{path}"
        );
        assert_eq!(smart["capabilities"], json!([]), "{path}: claims none");
        assert!(
            smart["description"]
                .as_str()
                .unwrap()
                .contains("runs no authorization server")
        );
    }
}

#[tokio::test]
async fn a_host_that_is_not_a_url_authority_is_refused_rather_than_written_into_links() {
    let s = gateway_with_conditions(3).await;
    let http = reqwest::Client::new();
    let url = format!("{}?_count=2", everything(&s.base));
    // Links on these would be no URL at all: no client could follow them.
    for host in ["127.0.0.1:80:80", "localhost:99999", "gw:8a", "a]b", "[::1"] {
        let a = send(http.get(&url).header("host", host)).await;
        assert_eq!(a.status, 400, "Host {host}: {:#}", a.body);
        assert_eq!(a.body["resourceType"], "OperationOutcome", "{host}");
        assert_eq!(
            a.body["issue"][0]["details"]["coding"][0]["code"], "NO_HOST",
            "{host}"
        );
    }
    // Another name for the gateway, and an IPv6 literal: links on it.
    for host in ["localhost:8080", "[::1]:8080", "gw.example"] {
        let a = send(http.get(&url).header("host", host)).await;
        assert_eq!(a.status, 200, "Host {host}: {:#}", a.body);
        for relation in ["self", "next"] {
            let l = link(&a.body, relation).expect("a link");
            let parsed = url::Url::parse(&l).expect("a link is a URL");
            assert_eq!(
                parsed.path(),
                "/fhir/r4/Patient/9990000018/$everything",
                "{l}"
            );
        }
    }
}

/// The source records a page's Provenances name, as `source:id`.
fn provenance_records(page: &Value) -> BTreeSet<String> {
    page["entry"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["resource"]["resourceType"] == "Provenance")
        .map(|e| {
            let id = &e["resource"]["entity"][0]["what"]["identifier"];
            let source = id["system"].as_str().unwrap();
            let source = source.strip_prefix("urn:icr:source:").unwrap();
            format!("{source}:{}", id["value"].as_str().unwrap())
        })
        .collect()
}

/// Each `$everything` page's audit entry lists the source records on that
/// page, and only those: the first page's (its completion), then each
/// further page read's; a page of none (`_count=0`) lists none.
#[tokio::test]
async fn each_page_of_everything_is_audited_with_the_source_records_on_it() {
    let s = gateway_with_conditions(25).await;
    let http = reqwest::Client::new();
    let mut pages = Vec::new();
    let mut url = format!("{}?_count=10", everything(&s.base));
    loop {
        let page = send(http.get(&url)).await;
        assert_eq!(page.status, 200, "{:#}", page.body);
        let next = link(&page.body, "next");
        pages.push(page.body);
        match next {
            Some(n) => url = n,
            None => break,
        }
    }
    let none = send(http.get(format!("{}?_count=0", everything(&s.base)))).await;
    assert_eq!(none.status, 200);
    let whole = send(http.get(everything(&s.base))).await;
    assert_eq!(whole.status, 200);

    let accesses = audited(&s.audit_dir, &nhs(), 1000).await;
    let listed: Vec<BTreeSet<String>> = accesses.iter().map(listed_shown).collect();
    let on_pages: Vec<BTreeSet<String>> = pages.iter().map(provenance_records).collect();
    assert_eq!(
        on_pages.iter().map(BTreeSet::len).collect::<Vec<_>>(),
        [10, 10, 6]
    );
    assert!(on_pages[0].contains("gwh:Patient/1"));
    assert_eq!(listed[..3], on_pages[..]);
    assert!(listed[3].is_empty(), "_count=0 shows no record");
    let all = provenance_records(&whole.body);
    assert_eq!(all.len(), 26);
    assert_eq!(listed[4], all);
    assert_eq!(listed.len(), 5);
}
