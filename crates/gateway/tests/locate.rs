//! Asking only who may hold a record: a source that answered lately that it
//! holds no record is skipped, and so is a source the record-location
//! index does not name — each reported `skipped` with the reason, in JSON
//! and FHIR; a failed index asks everyone, with a warning; a refresh
//! (`Cache-Control: no-cache`) asks everyone; a purge forgets the person;
//! the registered practice is remembered and a change of it costs one
//! more round trip, once.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use icr_adapter_sdk::{FetchRequest, Routing, SourceAdapter, SourceError, SourceSpec};
use icr_config::{CacheConfig, IndexConfig, IndexFile, LoadedSource};
use icr_model::*;

const NHS: &str = "9990000018";

fn record_url(base: &str) -> String {
    format!("{base}/v1/patients/{NHS}/record?sections=allergies")
}

fn fhir_url(base: &str) -> String {
    format!("{base}/fhir/r4/Patient/{NHS}/$everything")
}

/// A source of `ods`, answering no record (or, `holds`, an allergy).
fn hospital(id: &str, ods: &str, holds: bool, located: bool) -> (SourceSpec, Script) {
    let mut s = spec(id, "allergies", 1000, 0);
    s.ods_code = OdsCode::parse(ods).unwrap();
    s.located = located;
    let script = if holds {
        Script::Answer(
            record(&s.meta(), vec![("AllergyIntolerance/1", penicillin())]),
            Duration::ZERO,
        )
    } else {
        Script::Fail(SourceError::PatientNotFound, Duration::ZERO)
    };
    (s, script)
}

fn remembering(not_found_ttl_s: u64) -> Setup {
    Setup {
        cache: Some(CacheConfig {
            not_found_ttl_s,
            ..CacheConfig::default()
        }),
        ..Setup::default()
    }
}

/// (source, status, message) of every source in a view.
fn statuses(view: &serde_json::Value) -> Vec<(String, String, String)> {
    view["sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["source"].as_str().unwrap().into(),
                s["status"].as_str().unwrap().into(),
                s["message"].as_str().unwrap_or("").into(),
            )
        })
        .collect()
}

async fn get_refreshing(url: &str) -> (u16, serde_json::Value) {
    let r = reqwest::Client::new()
        .get(url)
        .bearer_auth(token("R8000", "RN3"))
        .header("Cache-Control", "no-cache")
        .send()
        .await
        .unwrap();
    let (status, _, body) = answer(r).await;
    (status, body)
}

/// The OperationOutcome issue the FHIR Bundle gives `source`.
fn fhir_issue(bundle: &serde_json::Value, source: &str) -> serde_json::Value {
    bundle["entry"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["resource"]["resourceType"] == "OperationOutcome")
        .flat_map(|e| e["resource"]["issue"].as_array().unwrap().clone())
        .find(|i| {
            i["details"]["text"]
                .as_str()
                .is_some_and(|t| t.contains(&format!("({source}, ")))
        })
        .unwrap_or_else(|| panic!("no issue for {source}: {bundle}"))
}

#[tokio::test]
async fn a_source_that_answered_no_record_is_skipped_with_its_reason_in_json_and_fhir() {
    let s = start_with(
        2000,
        vec![
            hospital("rn3", "RN3", true, false),
            hospital("council", "RX2", false, false),
        ],
        remembering(300),
    )
    .await;
    let (status, _, first) = get(&record_url(&s.base)).await;
    assert_eq!(status, 200);
    assert_eq!(statuses(&first)[1].1, "not_found");
    let (status, _, view) = get(&record_url(&s.base)).await;
    assert_eq!(status, 200);
    assert_valid_view(&view);
    let seen = statuses(&view);
    assert_eq!((seen[0].0.as_str(), seen[0].1.as_str()), ("rn3", "ok"));
    assert_eq!(
        (seen[1].0.as_str(), seen[1].1.as_str()),
        ("council", "skipped")
    );
    let reason = &seen[1].2;
    assert!(
        reason.starts_with(
            "answered that it holds no record for this person 0 seconds ago; not asked again until "
        ) || reason.starts_with(
            "answered that it holds no record for this person 1 second ago; not asked again until "
        ),
        "{reason}"
    );
    assert!(
        reason.ends_with(" (a refresh, Cache-Control: no-cache, asks it now)"),
        "{reason}"
    );
    assert_eq!(view["sources"][1]["items"], 0);
    assert_eq!(view["sources"][1]["latency_ms"], 0);
    assert_eq!(s.calls[1].load(Ordering::SeqCst), 1, "not asked again");
    assert_eq!(s.calls[0].load(Ordering::SeqCst), 2);

    // FHIR: an OperationOutcome issue with the status coded and the reason.
    let (status, _, bundle) = get(&fhir_url(&s.base)).await;
    assert_eq!(status, 200);
    assert_valid_fhir(&bundle);
    let issue = fhir_issue(&bundle, "council");
    assert_eq!(issue["severity"], "warning");
    assert_eq!(
        issue["details"]["coding"][0]["system"],
        "urn:icr:source-status"
    );
    assert_eq!(issue["details"]["coding"][0]["code"], "skipped");
    assert!(
        issue["diagnostics"]
            .as_str()
            .unwrap()
            .starts_with("answered that it holds no record for this person "),
        "{issue}"
    );
    assert_eq!(s.calls[1].load(Ordering::SeqCst), 1);

    // Counted, for operators: the metric and /v1/sources.
    let metrics = reqwest::get(format!("{}/metrics", s.base))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("icr_source_outcomes_total{source=\"council\",status=\"skipped\"} 2\n"),
        "{metrics}"
    );
    assert!(metrics.contains("icr_memory_not_found_skips_total 2\n"));
    assert!(metrics.contains("icr_memory_not_found_remembered_total 1\n"));
    let (_, _, sources) = get_as(
        &format!("{}/v1/sources", s.base),
        Some(&token("R8015", "X26")),
    )
    .await;
    assert_eq!(sources["sources"][1]["skipped"], 2, "{sources}");
}

#[tokio::test]
async fn a_refresh_asks_everyone_bypassing_the_cache_the_memory_and_the_index() {
    let (mut rn3, rn3_script) = hospital("rn3", "RN3", true, false);
    rn3.cache_ttl_s = 60;
    let index = IndexFile {
        holders: [(
            NhsNumber::parse(NHS).unwrap(),
            vec![OdsCode::parse("RN3").unwrap()],
        )]
        .into(),
    };
    let mut setup = remembering(300);
    setup.index = Some((
        IndexConfig {
            file: Some("index.toml".into()),
            url: None,
            timeout_ms: 250,
            max_body_bytes: 65536,
        },
        Some(index),
    ));
    let s = start_with(
        2000,
        vec![
            (rn3, rn3_script),
            hospital("council", "RX2", false, false),
            hospital("lab", "RX3", true, true),
        ],
        setup,
    )
    .await;
    get(&record_url(&s.base)).await;
    let (_, _, view) = get(&record_url(&s.base)).await;
    let seen: Vec<(String, String)> = statuses(&view)
        .into_iter()
        .map(|(a, b, _)| (a, b))
        .collect();
    assert_eq!(
        seen,
        [
            ("rn3".into(), "ok".into()),
            ("council".into(), "skipped".into()),
            ("lab".into(), "skipped".into())
        ]
    );
    assert_eq!(view["sources"][0]["cached"], true);
    assert_eq!(
        view["sources"][2]["message"],
        "not asked: the record-location index names other organisations as holding this person's records (a refresh, Cache-Control: no-cache, asks it)"
    );
    let calls =
        |s: &Started| -> Vec<usize> { s.calls.iter().map(|c| c.load(Ordering::SeqCst)).collect() };
    assert_eq!(calls(&s), [1, 1, 0]);

    // JSON: the refresh asks every source itself.
    let (status, view) = get_refreshing(&record_url(&s.base)).await;
    assert_eq!(status, 200);
    let seen: Vec<(String, String)> = statuses(&view)
        .into_iter()
        .map(|(a, b, _)| (a, b))
        .collect();
    assert_eq!(
        seen,
        [
            ("rn3".into(), "ok".into()),
            ("council".into(), "not_found".into()),
            ("lab".into(), "ok".into())
        ]
    );
    assert_eq!(view["sources"][0]["cached"], false);
    assert_eq!(calls(&s), [2, 2, 1]);
    // The lab's allergy is shown: the index did not know of it.
    assert_eq!(
        view["sections"]["allergies"][0]["provenance"]
            .as_array()
            .unwrap()
            .len(),
        2
    );

    // FHIR: the same.
    let (status, bundle) = get_refreshing(&fhir_url(&s.base)).await;
    assert_eq!(status, 200);
    assert_valid_fhir(&bundle);
    assert_eq!(calls(&s), [3, 3, 2]);
    assert_eq!(
        fhir_issue(&bundle, "council")["details"]["coding"][0]["code"],
        "not_found"
    );

    // Without the refresh, the memory and the index apply again.
    get(&record_url(&s.base)).await;
    assert_eq!(calls(&s), [3, 3, 2]);
}

#[tokio::test]
async fn a_purge_forgets_the_person_and_they_are_asked_again() {
    let s = start_with(
        2000,
        vec![
            hospital("rn3", "RN3", true, false),
            hospital("council", "RX2", false, false),
        ],
        remembering(300),
    )
    .await;
    get(&record_url(&s.base)).await;
    get(&record_url(&s.base)).await;
    assert_eq!(s.calls[1].load(Ordering::SeqCst), 1);
    let r = reqwest::Client::new()
        .delete(format!("{}/v1/cache/patients/{NHS}", s.base))
        .bearer_auth(token("R8015", "X26"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["purged"], 0);
    assert_eq!(body["forgotten"], 1);
    let (_, _, view) = get(&record_url(&s.base)).await;
    assert_eq!(view["sources"][1]["status"], "not_found");
    assert_eq!(
        s.calls[1].load(Ordering::SeqCst),
        2,
        "asked again after the purge"
    );
}

#[tokio::test]
async fn the_memory_is_off_by_default() {
    let s = start_with(
        2000,
        vec![
            hospital("rn3", "RN3", true, false),
            hospital("council", "RX2", false, false),
        ],
        Setup::default(),
    )
    .await;
    get(&record_url(&s.base)).await;
    let (_, _, view) = get(&record_url(&s.base)).await;
    assert_eq!(view["sources"][1]["status"], "not_found");
    assert_eq!(s.calls[1].load(Ordering::SeqCst), 2);
}

/// An index on loopback answering every lookup with `status` and `body`
/// after `delay`, counting lookups; its URL template.
async fn http_index(
    status: u16,
    body: &'static str,
    delay: Duration,
) -> (String, Arc<AtomicUsize>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let lookups = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&lookups);
    tokio::spawn(async move {
        loop {
            let Ok((mut conn, _)) = listener.accept().await else {
                return;
            };
            let counted = Arc::clone(&counted);
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = conn.read(&mut buf).await;
                counted.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(delay).await;
                let answer = format!(
                    "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = conn.write_all(answer.as_bytes()).await;
            });
        }
    });
    (format!("http://{addr}/holders/{{nhs}}"), lookups)
}

fn indexed_by(url: String) -> Setup {
    Setup {
        index: Some((
            IndexConfig {
                file: None,
                url: Some(url),
                timeout_ms: 200,
                max_body_bytes: 1024,
            },
            None,
        )),
        ..Setup::default()
    }
}

fn located_region() -> Vec<(SourceSpec, Script)> {
    vec![
        hospital("rn3", "RN3", true, false),
        hospital("lab", "RX3", true, true),
    ]
}

#[tokio::test]
async fn the_http_index_skips_located_sources_it_does_not_name() {
    let (url, lookups) = http_index(200, r#"{"holders": ["RN3"]}"#, Duration::ZERO).await;
    let s = start_with(2000, located_region(), indexed_by(url)).await;
    let (status, _, view) = get(&record_url(&s.base)).await;
    assert_eq!(status, 200);
    assert_eq!(view["sources"][1]["status"], "skipped");
    assert_eq!(s.calls[1].load(Ordering::SeqCst), 0);
    assert_eq!(lookups.load(Ordering::SeqCst), 1);
    assert!(view["warnings"].as_array().unwrap().is_empty());
    // A person the index does not know (404): everyone is asked, no warning.
    let (url, _) = http_index(404, "", Duration::ZERO).await;
    let s = start_with(2000, located_region(), indexed_by(url)).await;
    let (_, _, view) = get(&record_url(&s.base)).await;
    assert_eq!(view["sources"][1]["status"], "ok");
    assert!(view["warnings"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn a_failed_or_slow_index_lookup_asks_everyone_and_warns() {
    for (status, body, delay, why) in [
        (500, "", Duration::ZERO, "HTTP 500"),
        (200, "not json", Duration::ZERO, "unreadable answer: "),
        (
            200,
            r#"{"holders": ["RN3"]}"#,
            Duration::from_secs(2),
            "no answer within 200 ms",
        ),
    ] {
        let (url, _) = http_index(status, body, delay).await;
        let s = start_with(2000, located_region(), indexed_by(url)).await;
        let (code, _, view) = get(&record_url(&s.base)).await;
        assert_eq!(code, 200);
        assert_eq!(view["sources"][1]["status"], "ok", "{why}");
        assert_eq!(s.calls[1].load(Ordering::SeqCst), 1);
        let warnings = view["warnings"].as_array().unwrap();
        assert_eq!(warnings.len(), 1, "{view}");
        assert_eq!(warnings[0]["code"], "index-unavailable");
        let message = warnings[0]["message"].as_str().unwrap();
        assert!(
            message.starts_with(&format!(
                "the record-location index could not be read ({why}"
            )),
            "{message}"
        );
        assert!(message.ends_with("); every source was asked"), "{message}");
    }
    // Nothing listening at all: the same.
    let s = start_with(
        2000,
        located_region(),
        indexed_by("http://127.0.0.1:1/{nhs}".into()),
    )
    .await;
    let (_, _, view) = get(&record_url(&s.base)).await;
    assert_eq!(view["sources"][1]["status"], "ok");
    assert_eq!(view["warnings"][0]["code"], "index-unavailable");
}

/// A demographics service whose registered practice can be changed.
struct Pds {
    practice: Mutex<&'static str>,
    meta: Arc<SourceMeta>,
}

#[async_trait::async_trait]
impl SourceAdapter for Pds {
    async fn fetch(&self, _: &FetchRequest) -> Result<SourceRecord, SourceError> {
        let practice = *self.practice.lock().unwrap();
        let mut r = record(&self.meta, Vec::new());
        if let Some(p) = r.patient.as_mut() {
            p.demographics.registered_practice = Some(OdsCode::parse(practice).unwrap());
        }
        // Slower than the practices, so a practice asked at once answers first.
        tokio::time::sleep(Duration::from_millis(30)).await;
        Ok(r)
    }
}

#[tokio::test]
async fn a_change_of_practice_costs_one_more_round_trip_once_and_shows_only_the_named_one() {
    let mut pds_spec = spec("pds", "demographics", 1000, 0);
    pds_spec.ods_code = OdsCode::parse("X26").unwrap();
    pds_spec.routing = Routing::Demographics;
    let pds = Arc::new(Pds {
        practice: Mutex::new("Y90001"),
        meta: pds_spec.meta(),
    });
    let mut loaded = vec![LoadedSource {
        file: "pds.toml".into(),
        spec: pds_spec,
        adapter: pds.clone(),
    }];
    // The caller's own hospital answers (with nothing): the relationship.
    let (rn3, _) = hospital("rn3", "RN3", true, false);
    loaded.push(LoadedSource {
        file: "rn3.toml".into(),
        spec: rn3,
        adapter: Arc::new(Scripted {
            script: Script::Answer(SourceRecord::default(), Duration::ZERO),
            calls: Arc::default(),
        }),
    });
    let mut calls = Vec::new();
    for ods in ["Y90001", "Y90002"] {
        let (mut s, script) = hospital(&format!("gp-{}", ods.to_lowercase()), ods, true, false);
        s.routing = Routing::RegisteredPractice;
        let counter = Arc::new(AtomicUsize::new(0));
        calls.push(Arc::clone(&counter));
        loaded.push(LoadedSource {
            file: format!("{}.toml", s.id).into(),
            spec: s,
            adapter: Arc::new(Scripted {
                script,
                calls: counter,
            }),
        });
    }
    let s = start_loaded(2000, loaded, Setup::default()).await;
    let url = format!(
        "{}/v1/patients/{NHS}/record?sections=demographics,allergies",
        s.base
    );
    let count = |c: &[Arc<AtomicUsize>]| -> Vec<usize> {
        c.iter().map(|c| c.load(Ordering::SeqCst)).collect()
    };
    let metric = |text: &str, name: &str| -> String {
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{name} ")))
            .unwrap_or("absent")
            .to_string()
    };
    let metrics = || async {
        reqwest::get(format!("{}/metrics", s.base))
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    };
    let (_, _, view) = get(&url).await;
    assert_eq!(view["patient"]["registered_practice"], "Y90001");
    // Remembered: asked at once with PDS and confirmed.
    let (_, _, view) = get(&url).await;
    let seen: Vec<(String, String)> = statuses(&view)
        .into_iter()
        .map(|(a, b, _)| (a, b))
        .collect();
    assert_eq!(
        seen,
        [
            ("pds".into(), "ok".into()),
            ("rn3".into(), "ok".into()),
            ("gp-y90001".into(), "ok".into())
        ]
    );
    assert_eq!(count(&calls), [2, 0]);
    assert_eq!(
        metric(&metrics().await, "icr_memory_practice_first_wave_total"),
        "1"
    );

    // The person moves practice: the remembered one is asked (and not
    // shown), the named one is asked once PDS names it.
    *pds.practice.lock().unwrap() = "Y90002";
    let (_, _, view) = get(&url).await;
    let seen = statuses(&view);
    assert_eq!(seen.len(), 4, "{view}");
    assert_eq!(
        (seen[2].0.as_str(), seen[2].1.as_str()),
        ("gp-y90001", "skipped")
    );
    assert_eq!(
        seen[2].2,
        "no longer the registered practice: the demographics service now names another practice, which was asked; this practice's answer is not shown"
    );
    assert_eq!(
        (seen[3].0.as_str(), seen[3].1.as_str()),
        ("gp-y90002", "ok")
    );
    assert_eq!(view["patient"]["registered_practice"], "Y90002");
    // Only the named practice's allergy is shown.
    let allergies = view["sections"]["allergies"].as_array().unwrap();
    assert_eq!(allergies.len(), 1);
    assert_eq!(allergies[0]["provenance"][0]["source"], "gp-y90002");
    assert_eq!(count(&calls), [3, 1]);
    // Once: the new practice is remembered.
    let (_, _, view) = get(&url).await;
    assert_eq!(statuses(&view).len(), 3);
    assert_eq!(count(&calls), [3, 2]);
    let text = metrics().await;
    assert_eq!(metric(&text, "icr_memory_practice_first_wave_total"), "3");
    assert_eq!(metric(&text, "icr_memory_practice_unconfirmed_total"), "1");
}
