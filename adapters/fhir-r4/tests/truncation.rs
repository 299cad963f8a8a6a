//! A search cut short by `max_pages`, against a real server on loopback
//! whose first pages hold only old, inactive medications: the current
//! items (here the active ones) are never the ones left out, the most
//! recent are asked for first where the server sorts, and the warning says
//! what was read.

mod support;

use std::time::Duration;

use icr_model::{Entry, IssueKind, MedicationStatus, Section};
use serde_json::{Value, json};
use support::*;
use tokio::time::Instant;

/// 10 old completed statements, then 3 recent active ones: the server's
/// own order puts the old ones first.
fn statements() -> Vec<Value> {
    let old = (1..=10).map(|i| {
        json!({"resourceType": "MedicationStatement", "id": format!("old{i}"), "status": "completed",
               "subject": {"reference": "Patient/p1"},
               "medicationCodeableConcept": {"text": format!("Old medicine {i}")},
               "effectiveDateTime": format!("{}-01-01", 2004 + i)})
    });
    let active = (1..=3).map(|i| {
        json!({"resourceType": "MedicationStatement", "id": format!("active{i}"), "status": "active",
               "subject": {"reference": "Patient/p1"},
               "medicationCodeableConcept": {"text": format!("Current medicine {i}")},
               "effectiveDateTime": format!("2024-0{i}-01")})
    });
    old.chain(active).collect()
}

/// The server: pages of `_count` by `_offset`, `status` filtered,
/// `_sort=-effective` honoured when `sorts`; its statement declares the
/// `status` parameter when `takes_status`.
async fn medication_server(sorts: bool, takes_status: bool) -> Server {
    serve(move |a, base| match a.what.as_str() {
        "metadata" => {
            let mut params = vec![json!({"name": "patient"}), json!({"name": "effective"})];
            if takes_status {
                params.push(json!({"name": "status"}));
            }
            let rest_params = if sorts { json!([{"name": "_sort"}]) } else { json!([]) };
            ok(json!({"resourceType": "CapabilityStatement", "rest": [{"mode": "server",
                "searchParam": rest_params,
                "resource": [
                    {"type": "Patient", "interaction": [{"code": "search-type"}]},
                    {"type": "MedicationStatement", "interaction": [{"code": "search-type"}], "searchParam": params}
                ]}]}))
        }
        "Patient" => ok(bundle(vec![matched(patient("p1", nhs()))], None)),
        "MedicationStatement" => {
            let mut all = statements();
            if let Some(status) = a.q("status") {
                all.retain(|s| s["status"] == status);
            }
            if sorts && a.q("_sort") == Some("-effective") {
                all.sort_by(|x, y| {
                    y["effectiveDateTime"]
                        .as_str()
                        .cmp(&x["effectiveDateTime"].as_str())
                });
            }
            let count: usize = a.q("_count").and_then(|c| c.parse().ok()).unwrap_or(2);
            let offset: usize = a.q("_offset").and_then(|c| c.parse().ok()).unwrap_or(0);
            let total = all.len();
            let page: Vec<Value> = all.into_iter().skip(offset).take(count).map(matched).collect();
            let mut next_query: Vec<String> = a
                .request
                .query
                .iter()
                .filter(|(k, _)| k != "_offset" && k != "_count")
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            next_query.push(format!("_count={count}"));
            next_query.push(format!("_offset={}", offset + count));
            let next = (offset + count < total)
                .then(|| format!("{base}/MedicationStatement?{}", next_query.join("&")));
            let mut b = bundle(page, next);
            b["total"] = json!(total);
            ok(b)
        }
        _ => ok(bundle(vec![], None)),
    })
    .await
}

const MEDICATIONS: &[Section] = &[Section::Medications];

/// Fetches medications from `server`, two per page and at most
/// `max_pages` pages, after the adapter has read the server's statement.
async fn medications(server: &Server, max_pages: u32) -> icr_model::SourceRecord {
    let source = adapter(&spec(
        server.addr,
        MEDICATIONS,
        &format!("page_size = 2\nmax_pages = {max_pages}\nuse_medication_request = false"),
        "",
    ));
    source
        .prepare(Instant::now() + Duration::from_secs(3))
        .await;
    source.fetch(&request(MEDICATIONS)).await.unwrap()
}

fn active_ids(record: &icr_model::SourceRecord) -> Vec<String> {
    let mut ids: Vec<String> = record
        .items
        .iter()
        .filter(|i| matches!(&i.entry, Entry::Medication(m) if m.status == Some(MedicationStatus::Active)))
        .map(|i| i.provenance.record.local().to_string())
        .collect();
    ids.sort();
    ids
}

fn truncation(record: &icr_model::SourceRecord) -> Vec<(IssueKind, String)> {
    record
        .issues
        .iter()
        .map(|i| (i.kind, i.message.clone()))
        .collect()
}

const EVERY_ACTIVE: [&str; 3] = [
    "MedicationStatement/active1",
    "MedicationStatement/active2",
    "MedicationStatement/active3",
];

#[tokio::test]
async fn a_cut_short_search_keeps_every_active_medication_when_the_server_does_not_sort() {
    let server = medication_server(false, true).await;
    let record = medications(&server, 2).await;
    assert_eq!(active_ids(&record), EVERY_ACTIVE);
    assert_eq!(
        record.items.len(),
        7,
        "the server's first 4, and the 3 active"
    );
    assert_eq!(
        truncation(&record),
        [(
            IssueKind::Truncated,
            "read 7 of 13 MedicationStatement (the first 4 in the server's order, and every active one): the search had more than 2 pages".to_string()
        )]
    );
    let current: Vec<_> = server
        .asked_for("MedicationStatement")
        .into_iter()
        .filter(|a| a.q("status") == Some("active"))
        .collect();
    assert_eq!(current.len(), 2, "the active ones, in two pages");
    assert!(current.iter().all(|a| a.q("patient") == Some("p1")));
}

#[tokio::test]
async fn a_server_that_sorts_is_asked_for_the_most_recent_first() {
    let server = medication_server(true, true).await;
    let record = medications(&server, 2).await;
    assert_eq!(active_ids(&record), EVERY_ACTIVE);
    let ids: Vec<&str> = record
        .items
        .iter()
        .map(|i| i.provenance.record.local())
        .collect();
    assert_eq!(
        ids,
        [
            "MedicationStatement/active3",
            "MedicationStatement/active2",
            "MedicationStatement/active1",
            "MedicationStatement/old10",
        ]
    );
    assert_eq!(
        truncation(&record),
        [(
            IssueKind::Truncated,
            "read 4 of 13 MedicationStatement (the most recent, and every active one): the search had more than 2 pages".to_string()
        )]
    );
    let first = &server.asked_for("MedicationStatement")[0];
    assert_eq!(first.q("_sort"), Some("-effective"));
}

#[tokio::test]
async fn current_items_beyond_the_page_limit_are_said_to_be_missing() {
    let server = medication_server(false, true).await;
    let record = medications(&server, 1).await;
    assert_eq!(record.items.len(), 4, "the server's first 2, and 2 active");
    assert_eq!(
        truncation(&record),
        [(
            IssueKind::Truncated,
            "read 4 of 13 MedicationStatement (the first 2 in the server's order, and 2 active ones; there are more active ones, not read): the search had more than 1 page".to_string()
        )]
    );
}

#[tokio::test]
async fn a_server_without_the_status_search_is_not_asked_for_it_and_the_warning_says_so() {
    let server = medication_server(false, false).await;
    let record = medications(&server, 2).await;
    assert_eq!(record.items.len(), 4);
    assert_eq!(
        truncation(&record),
        [(
            IssueKind::Truncated,
            "read 4 of 13 MedicationStatement (the first 4 in the server's order; active ones could not be asked for: the server does not declare the status search parameter): the search had more than 2 pages".to_string()
        )]
    );
    assert!(
        server
            .asked_for("MedicationStatement")
            .iter()
            .all(|a| a.q("status").is_none())
    );
}
