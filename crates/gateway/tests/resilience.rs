//! Resilience over HTTP with scripted sources: the wrong-patient guard
//! (another NHS number, another date of birth), retries, the circuit
//! breaker, `Prefer: wait`, load shedding, and the operators' cache purge.

mod common;

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use common::*;
use icr_model::*;

fn url(base: &str) -> String {
    format!("{base}/v1/patients/9990000018/record")
}

/// A source answering with the penicillin allergy, its demographics edited.
fn answering(id: &str, edit: impl Fn(&mut Demographics)) -> (icr_adapter_sdk::SourceSpec, Script) {
    let m = meta(id);
    let mut r = record(&m, vec![("AllergyIntolerance/1", penicillin())]);
    if let Some(p) = r.patient.as_mut() {
        edit(&mut p.demographics);
    }
    (
        spec(id, "demographics,allergies", 1000, 0),
        Script::Answer(r, Duration::ZERO),
    )
}

fn status_of<'a>(view: &'a serde_json::Value, source: &str) -> (&'a str, &'a str) {
    let s = view["sources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["source"] == source)
        .unwrap_or_else(|| panic!("{source} not in {view}"));
    (
        s["status"].as_str().unwrap(),
        s["message"].as_str().unwrap_or(""),
    )
}

fn provenance_sources(view: &serde_json::Value) -> Vec<String> {
    let mut out: Vec<String> = icr_testkit::view_provenance(view)
        .map(|p| p["source"].as_str().unwrap().to_owned())
        .collect();
    out.sort();
    out.dedup();
    out
}

#[tokio::test]
async fn an_answer_about_another_nhs_number_is_dropped_whole() {
    let other = NhsNumber::parse("9990000026").unwrap();
    let (base, _) = start(
        2000,
        vec![
            answering("gwh", |_| {}),
            answering("liar", move |d| d.nhs_number = Some(other)),
        ],
    )
    .await;
    let (status, _, view) = get(&url(&base)).await;
    assert_eq!(status, 200, "{view}");
    let (st, message) = status_of(&view, "liar");
    assert_eq!(st, "error");
    assert!(message.starts_with("identity mismatch"), "{message}");
    assert_eq!(provenance_sources(&view), ["gwh"]);
    assert!(!view.to_string().contains("9990000026"));
}

#[tokio::test]
async fn an_answer_with_another_date_of_birth_is_dropped_whole() {
    // Two sources agree on 2 March 1950; the third says 1961.
    let (base, _) = start(
        2000,
        vec![
            answering("gwh", |_| {}),
            answering("ruh", |_| {}),
            answering("sft", |d| {
                d.birth_date = Some(PartialDateTime::parse("1961-07-19").unwrap())
            }),
            // A year only is not a contradiction.
            answering("awp", |d| {
                d.birth_date = Some(PartialDateTime::parse("1950").unwrap())
            }),
        ],
    )
    .await;
    let (status, _, view) = get(&url(&base)).await;
    assert_eq!(status, 200);
    let (st, message) = status_of(&view, "sft");
    assert_eq!(st, "error");
    assert!(message.contains("date of birth"), "{message}");
    assert_eq!(status_of(&view, "awp").0, "ok");
    assert_eq!(provenance_sources(&view), ["awp", "gwh", "ruh"]);
}

#[tokio::test]
async fn transient_failures_are_retried_and_a_failing_source_is_short_circuited() {
    let down = icr_adapter_sdk::SourceError::Unavailable("connection refused".into());
    let (base, calls) = start(
        3000,
        vec![
            answering("gwh", |_| {}),
            (
                spec("awp", "allergies", 1000, 0),
                Script::Fail(down, Duration::ZERO),
            ),
        ],
    )
    .await;
    // Each request: one call and two retries, then unavailable.
    let (_, _, view) = get(&url(&base)).await;
    assert_eq!(status_of(&view, "awp").0, "unavailable");
    assert_eq!(calls[1].load(Ordering::SeqCst), 3);
    // Five failed requests open the circuit (the default threshold).
    for _ in 0..4 {
        get(&url(&base)).await;
    }
    assert_eq!(calls[1].load(Ordering::SeqCst), 15);
    let (status, _, view) = get(&url(&base)).await;
    assert_eq!(status, 200);
    let (st, message) = status_of(&view, "awp");
    assert_eq!(st, "unavailable");
    assert!(message.contains("circuit open"), "{message}");
    assert_eq!(calls[1].load(Ordering::SeqCst), 15, "not asked while open");
    assert_eq!(status_of(&view, "gwh").0, "ok");
    let metrics = reqwest::get(format!("{base}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.contains("icr_source_circuit_state{source=\"awp\",state=\"open\"} 1"));
    assert!(metrics.contains("icr_source_circuit_state{source=\"gwh\",state=\"closed\"} 1"));
    assert!(metrics.contains("icr_source_retries_total{source=\"awp\"} 10"));
    assert!(metrics.contains("icr_source_short_circuited_total{source=\"awp\"} 1"));
    // Operators see the same in /v1/sources; clinicians may not.
    let http = reqwest::Client::new();
    let url = format!("{base}/v1/sources");
    let r = http
        .get(&url)
        .bearer_auth(token("R8000", "RN3"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let r = http
        .get(&url)
        .bearer_auth(token("R8015", "X26"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let list: serde_json::Value = r.json().await.unwrap();
    let awp = list["sources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["source"] == "awp")
        .unwrap();
    assert_eq!(awp["circuit"], "open");
    assert_eq!(awp["calls"], 15);
    assert_eq!(awp["retries"], 10);
    assert_eq!(awp["kind"], "scripted");
    // The latest six parts of record requests: all failed.
    assert_eq!(awp["recent"]["calls"], 6);
    assert_eq!(awp["recent"]["error_rate"], 1.0);
    assert!(awp["recent"]["p95_ms"].is_u64());
}

#[tokio::test]
async fn prefer_wait_shortens_the_deadline_and_the_rest_is_served() {
    let m = meta("slow");
    let slow = record(&m, vec![("AllergyIntolerance/9", penicillin())]);
    let (base, _) = start(
        5000,
        vec![
            answering("gwh", |_| {}),
            (
                spec("slow", "allergies", 5000, 0),
                Script::Answer(slow, Duration::from_secs(3)),
            ),
        ],
    )
    .await;
    let started = Instant::now();
    let r = reqwest::Client::new()
        .get(url(&base))
        .bearer_auth(token("R8000", "RN3"))
        .header("Prefer", "return=representation, wait=0.3")
        .send()
        .await
        .unwrap();
    let took = started.elapsed();
    assert_eq!(r.status(), 200);
    let view: serde_json::Value = r.json().await.unwrap();
    assert_eq!(status_of(&view, "slow").0, "timeout");
    assert_eq!(status_of(&view, "gwh").0, "ok");
    assert!(took < Duration::from_millis(1500), "{took:?}");
}

#[tokio::test]
async fn past_the_in_flight_limit_requests_are_shed_with_retry_after() {
    let m = meta("slow");
    let slow = record(&m, vec![("AllergyIntolerance/9", penicillin())]);
    let s = start_with(
        3000,
        vec![(
            spec("slow", "allergies", 3000, 0),
            Script::Answer(slow, Duration::from_millis(800)),
        )],
        Setup {
            max_in_flight: Some(1),
            ..Setup::default()
        },
    )
    .await;
    let first = tokio::spawn({
        let u = url(&s.base);
        async move { get(&u).await.0 }
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    let r = reqwest::Client::new()
        .get(url(&s.base))
        .bearer_auth(token("R8000", "RN3"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 503);
    assert_eq!(r.headers()["retry-after"], "1");
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["error"], "overloaded");
    assert_eq!(first.await.unwrap(), 200);
    // Room again.
    assert_eq!(get(&url(&s.base)).await.0, 200);
}

#[tokio::test]
async fn operators_purge_a_persons_cached_answers() {
    let m = meta("gwh");
    let r = record(&m, vec![("AllergyIntolerance/1", penicillin())]);
    let (base, calls) = start(
        2000,
        vec![(
            spec("gwh", "demographics,allergies", 1000, 60),
            Script::Answer(r, Duration::ZERO),
        )],
    )
    .await;
    get(&url(&base)).await;
    get(&url(&base)).await;
    assert_eq!(
        calls[0].load(Ordering::SeqCst),
        1,
        "the second from the cache"
    );
    let purge = format!("{base}/v1/cache/patients/9990000018");
    let http = reqwest::Client::new();
    // A clinician may not; an operator (R8015) may.
    let r = http
        .delete(&purge)
        .bearer_auth(token("R8000", "RN3"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let r = http.delete(&purge).send().await.unwrap();
    assert_eq!(r.status(), 401);
    let r = http
        .delete(&purge)
        .bearer_auth(token("R8015", "X26"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["purged"], 1);
    get(&url(&base)).await;
    assert_eq!(
        calls[0].load(Ordering::SeqCst),
        2,
        "asked again after the purge"
    );
    let r = http
        .delete(format!("{base}/v1/cache/patients/9990000019"))
        .bearer_auth(token("R8015", "X26"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let metrics = reqwest::get(format!("{base}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.contains("icr_cache_hits_total 1\n"), "{metrics}");
    assert!(metrics.contains("icr_cache_misses_total 2\n"), "{metrics}");
    assert!(metrics.contains("icr_cache_purged_total 1\n"), "{metrics}");
}

/// Warm views are merged once: while every answer comes from the cache,
/// the view merged from those answers is found again rather than merged
/// again, and shows the same; the operator's purge drops it with the
/// answers, so the next request merges what the sources say now.
#[tokio::test]
async fn warm_views_are_merged_once_and_purged_with_the_person() {
    let gwh = meta("gwh");
    let ruh = meta("ruh");
    let (base, calls) = start(
        2000,
        vec![
            (
                spec("gwh", "demographics,allergies", 1000, 60),
                Script::Answer(
                    record(&gwh, vec![("AllergyIntolerance/1", penicillin())]),
                    Duration::ZERO,
                ),
            ),
            (
                spec("ruh", "demographics,allergies", 1000, 60),
                Script::Answer(
                    record(&ruh, vec![("AllergyIntolerance/9", penicillin())]),
                    Duration::ZERO,
                ),
            ),
        ],
    )
    .await;
    let metric = |text: &str, name: &str| -> String {
        text.lines()
            .find(|l| l.starts_with(&format!("{name} ")))
            .unwrap_or_else(|| panic!("{name} not in {text}"))
            .to_owned()
    };
    let metrics = || async {
        reqwest::get(format!("{base}/metrics"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    };
    let (_, _, first) = get(&url(&base)).await;
    let (_, _, second) = get(&url(&base)).await;
    let (_, _, third) = get(&url(&base)).await;
    assert_eq!(calls[0].load(Ordering::SeqCst), 1);
    assert_eq!(calls[1].load(Ordering::SeqCst), 1);
    for view in [&second, &third] {
        assert_eq!(view["sections"], first["sections"]);
        assert_eq!(view["patient"], first["patient"]);
        assert_eq!(view["warnings"], first["warnings"]);
    }
    // One allergy held by both sources: merged into one item naming both.
    assert_eq!(provenance_sources(&first), ["gwh", "ruh"]);
    assert_eq!(first["sections"]["allergies"].as_array().unwrap().len(), 1);
    let m = metrics().await;
    assert_eq!(
        metric(&m, "icr_views_merged_total"),
        "icr_views_merged_total 1"
    );
    assert_eq!(metric(&m, "icr_view_hits_total"), "icr_view_hits_total 2");
    let r = reqwest::Client::new()
        .delete(format!("{base}/v1/cache/patients/9990000018"))
        .bearer_auth(token("R8015", "X26"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let m = metrics().await;
    assert_eq!(
        metric(&m, "icr_views"),
        "icr_views 0",
        "purged with the person"
    );
    let (_, _, fourth) = get(&url(&base)).await;
    assert_eq!(fourth["sections"], first["sections"]);
    let m = metrics().await;
    assert_eq!(
        metric(&m, "icr_views_merged_total"),
        "icr_views_merged_total 2"
    );
    assert_eq!(metric(&m, "icr_view_hits_total"), "icr_view_hits_total 2");
    assert_eq!(
        calls[0].load(Ordering::SeqCst),
        2,
        "asked again after the purge"
    );
}
