//! The audit read from the shared store (a real PostgreSQL): two replicas'
//! accesses in one person's history, paged across replicas; a replica not
//! yet caught up named on the page; the store down answered from the
//! replica's own log, saying what is missing; and the privacy officer's
//! break-glass review, listed and recorded.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use icr_audit::Timestamp;
use icr_audit_store::{AuditStore, FeedStats, ReplicaId};
use icr_gateway::SharedStore;
use icr_testkit::postgres::PgCluster;
use serde_json::{Value, json};

const PATIENT: &str = "9990000018";

/// A gateway reading the audit from the store at `url` as `replica`.
async fn replica(url: &str, replica: &str) -> (Started, ReplicaId) {
    let s = start_with(2000, allergy_source(), Setup::default()).await;
    let id = ReplicaId::parse(replica).unwrap();
    s.gateway.use_shared_audit(SharedStore {
        store: AuditStore::lazy(url, 2).unwrap(),
        replica: id.clone(),
        feed: Arc::new(FeedStats::default()),
        feed_every: Duration::from_millis(100),
    });
    (s, id)
}

/// Feeds a replica's log into the store, as its feed does: everything up
/// to now, recorded as caught up when `caught_up`.
async fn feed(store: &AuditStore, s: &Started, id: &ReplicaId, caught_up: bool) {
    s.gateway.flush_audit().await;
    let from = Timestamp::now();
    let report = store.ingest(id, &s.audit_dir).await.unwrap();
    assert!(report.reached_end);
    if caught_up {
        store.mark_caught_up(id, from, false).await.unwrap();
    }
}

/// Every access on every page of `url`, following `next` links.
async fn all_pages(base: &str, url: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let mut next = Some(url.to_owned());
    let mut pages = 0;
    while let Some(u) = next {
        let (status, _, page) = get_as(&format!("{base}{u}"), Some(&officer())).await;
        assert_eq!(status, 200, "{page}");
        out.extend(page["accesses"].as_array().unwrap().iter().cloned());
        next = page["next"].as_str().map(str::to_owned);
        pages += 1;
        assert!(pages < 50, "the pages do not end");
    }
    out
}

async fn post_review(base: &str, path: &str, token: &str, body: Value) -> (u16, Value) {
    let r = reqwest::Client::new()
        .post(format!("{base}{path}"))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    let (status, _, body) = answer(r).await;
    (status, body)
}

#[tokio::test]
async fn a_persons_history_is_read_across_replicas_and_says_what_may_be_missing() {
    let Some(pg) = PgCluster::start("the audit read from the shared store") else {
        return;
    };
    let store = AuditStore::connect(&pg.url(), 2).await.unwrap();
    store.migrate().await.unwrap();
    let (a, a_id) = replica(&pg.url(), "icr-a").await;
    let (b, b_id) = replica(&pg.url(), "icr-b").await;
    let record = |s: &Started| format!("{}/v1/patients/{PATIENT}/record", s.base);

    // Two break-glass accesses on A, one on B.
    for s in [&a, &a, &b] {
        let (status, _, body) = get_breaking_glass(&record(s), GLASS).await;
        assert_eq!(status, 200, "{body}");
    }

    // Nothing fed yet: the page (from the store) is empty, and names this
    // replica as not in the store at all (B is unknown to the store).
    let (status, _, page) = get_as(
        &format!("{}/v1/audit?patient={PATIENT}", a.base),
        Some(&officer()),
    )
    .await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["accesses"], json!([]));
    assert_eq!(page["complete"], false);
    assert_eq!(
        page["incomplete"],
        json!([
            "accesses served by gateway replica icr-a may not be shown yet: its audit log has not reached the shared audit store"
        ])
    );

    // Both fed, only A recorded as caught up: B is named.
    feed(&store, &a, &a_id, true).await;
    feed(&store, &b, &b_id, false).await;
    let (_, _, page) = get_as(
        &format!("{}/v1/audit?patient={PATIENT}", b.base),
        Some(&officer()),
    )
    .await;
    assert_eq!(
        page["incomplete"],
        json!([
            "accesses served by gateway replica icr-b may not be shown yet: its audit log has not reached the shared audit store"
        ])
    );
    // A's three entries about the person (two records, then the audit
    // read) and B's one record: newest first across the replicas.
    let replicas: Vec<&str> = page["accesses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["replica"].as_str().unwrap())
        .collect();
    assert_eq!(replicas, ["icr-a", "icr-b", "icr-a", "icr-a"], "{page}");
    assert_eq!(page["total"], 4);

    // Both caught up: complete, and paged one at a time through the store's
    // cursor, each access once.
    feed(&store, &a, &a_id, true).await;
    feed(&store, &b, &b_id, true).await;
    let (_, _, page) = get_as(
        &format!("{}/v1/audit?patient={PATIENT}", a.base),
        Some(&officer()),
    )
    .await;
    assert!(page.get("incomplete").is_none(), "{page}");
    assert_eq!(page["complete"], true);
    let total = page["total"].as_u64().unwrap();
    assert_eq!(total, 5, "{page}");
    let paged = all_pages(&a.base, &format!("/v1/audit?patient={PATIENT}&_count=1")).await;
    let mut ids: Vec<String> = paged
        .iter()
        .map(|a| format!("{}.{}", a["replica"].as_str().unwrap(), a["seq"]))
        .collect();
    let times: Vec<&str> = paged.iter().map(|a| a["time"].as_str().unwrap()).collect();
    assert!(times.windows(2).all(|w| w[0] >= w[1]), "{times:?}");
    // (The reads since the last feed are not in the store yet.)
    assert_eq!(ids.len() as u64, total);
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len() as u64, total, "an access shown twice");

    // The FHIR face: each AuditEvent named by its replica and sequence.
    let (status, _, bundle) = get_as(
        &format!("{}/fhir/r4/AuditEvent?patient={PATIENT}", b.base),
        Some(&officer()),
    )
    .await;
    assert_eq!(status, 200, "{bundle}");
    assert_valid_fhir(&bundle);
    for e in bundle["entry"].as_array().unwrap() {
        let id = e["resource"]["id"].as_str().unwrap();
        let rest = id.strip_prefix("icr-audit-").unwrap();
        assert!(
            rest.starts_with("icr-a.") || rest.starts_with("icr-b."),
            "{id}"
        );
        assert_eq!(e["fullUrl"], format!("urn:icr:audit:{rest}"));
    }

    // The store down: a first page is A's own log, saying so; a later page
    // (a store cursor) cannot be read.
    let (_, _, one) = get_as(
        &format!("{}/v1/audit?patient={PATIENT}&_count=1", a.base),
        Some(&officer()),
    )
    .await;
    let next = one["next"].as_str().unwrap().to_owned();
    pg.stop();
    let (status, _, page) = get_as(
        &format!("{}/v1/audit?patient={PATIENT}", a.base),
        Some(&officer()),
    )
    .await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(
        page["incomplete"],
        json!([
            "the shared audit store cannot be read: only the accesses served by gateway replica icr-a are shown, and those served by other replicas are missing"
        ])
    );
    assert!(
        page["accesses"]
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a.get("replica").is_none())
    );
    assert!(
        page.get("next").is_none(),
        "no link a store cursor would not follow"
    );
    let (status, _, body) = get_as(&format!("{}{next}", a.base), Some(&officer())).await;
    assert_eq!(status, 503, "{body}");
    let (status, headers, body) = get_as(
        &format!("{}/v1/audit/break-glass", a.base),
        Some(&officer()),
    )
    .await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["error"], "audit_store_unavailable");
    assert_eq!(headers["retry-after"], "5");
    pg.start_again();
}

#[tokio::test]
async fn a_privacy_officer_lists_break_glass_across_replicas_and_records_reviews() {
    let Some(pg) = PgCluster::start("the break-glass review") else {
        return;
    };
    let store = AuditStore::connect(&pg.url(), 2).await.unwrap();
    store.migrate().await.unwrap();
    let (a, a_id) = replica(&pg.url(), "icr-a").await;
    let (b, b_id) = replica(&pg.url(), "icr-b").await;
    for s in [&a, &b] {
        let url = format!("{}/v1/patients/{PATIENT}/record", s.base);
        let (status, _, body) = get_breaking_glass(&url, GLASS).await;
        assert_eq!(status, 200, "{body}");
    }
    // An access without breaking the glass is not listed.
    let (status, _, _) = get(&format!("{}/v1/patients/{PATIENT}/record", a.base)).await;
    assert_eq!(status, 200);
    feed(&store, &a, &a_id, true).await;
    feed(&store, &b, &b_id, true).await;

    let list = format!("{}/v1/audit/break-glass", b.base);
    let (status, _, page) = get_as(&list, Some(&officer())).await;
    assert_eq!(status, 200, "{page}");
    let accesses = page["accesses"].as_array().unwrap();
    assert_eq!(accesses.len(), 2, "{page}");
    assert_eq!(accesses[0]["replica"], "icr-b");
    assert_eq!(accesses[1]["replica"], "icr-a");
    for x in accesses {
        assert_eq!(x["nhs_number"], PATIENT);
        assert_eq!(x["reason"], GLASS);
        assert_eq!(x["role"], "R8000");
        assert_eq!(x["organisation"], "RN3");
        assert_eq!(x["decision"], "allowed");
        assert_eq!(x["review"], Value::Null);
    }
    let on_a = accesses[1]["review_url"].as_str().unwrap().to_owned();
    assert_eq!(
        on_a,
        format!("/v1/audit/break-glass/icr-a/{}/review", accesses[1]["seq"])
    );

    // Only privacy officers; a review as the API takes it.
    let clinician = token("R8000", "RN3");
    let (status, body) =
        post_review(&b.base, &on_a, &clinician, json!({"outcome": "justified"})).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("NOT_PRIVACY_OFFICER")),
        "{body}"
    );
    let (status, _, body) = get_as(&list, Some(&clinician)).await;
    assert_eq!(status, 403, "{body}");
    let (status, body) = post_review(&b.base, &on_a, &officer(), json!({"outcome": "maybe"})).await;
    assert_eq!(status, 400, "{body}");
    let (status, body) = post_review(
        &b.base,
        "/v1/audit/break-glass/icr-a/99999/review",
        &officer(),
        json!({"outcome": "justified"}),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (404, Some("NO_SUCH_BREAK_GLASS")),
        "{body}"
    );

    let (status, body) = post_review(
        &b.base,
        &on_a,
        &officer(),
        json!({"outcome": "not-justified", "note": "no emergency recorded"}),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let (_, _, page) = get_as(&list, Some(&officer())).await;
    let reviewed = &page["accesses"][1];
    assert_eq!(reviewed["review"]["outcome"], "not-justified");
    assert_eq!(reviewed["review"]["note"], "no emergency recorded");
    assert!(
        reviewed["review"]["reviewer"]
            .as_str()
            .is_some_and(|r| !r.is_empty())
    );
    let (_, _, page) = get_as(&format!("{list}?unreviewed=true"), Some(&officer())).await;
    let left: Vec<&str> = page["accesses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["replica"].as_str().unwrap())
        .collect();
    assert_eq!(left, ["icr-b"]);

    // Paged by the store's cursor.
    let (_, _, first) = get_as(&format!("{list}?_count=1"), Some(&officer())).await;
    let next = first["next"].as_str().unwrap();
    let (_, _, second) = get_as(&format!("{}{next}", b.base), Some(&officer())).await;
    assert_eq!(second["accesses"][0]["replica"], "icr-a");
    assert_eq!(second["next"], Value::Null);

    // Every list and review is itself audited (as break-glass-review),
    // refusals included.
    b.gateway.flush_audit().await;
    let text = std::fs::read_dir(&b.audit_dir)
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap_or_default())
        .collect::<String>();
    assert_eq!(text.matches("\"break-glass-review\"").count(), 10, "{text}");

    // A gateway with no shared store has no break-glass review.
    let plain = start_with(2000, allergy_source(), Setup::default()).await;
    let (status, _, body) = get_as(
        &format!("{}/v1/audit/break-glass", plain.base),
        Some(&officer()),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (404, Some("NO_SHARED_AUDIT_STORE")),
        "{body}"
    );
}
