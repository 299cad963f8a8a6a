//! End to end: what the gateway writes is read by real FHIR clients, and no
//! source's own address reaches a caller.
//!
//! The `icr` binary runs the demo region on ephemeral loopback ports. Every
//! story patient's `$everything` is fetched page by page (following `next`
//! links), checked against the official R4 schema, then read by Python
//! `fhirclient` (strict parse) and validated by FHIR.js; fhir-kit-client
//! reads the same records from the running gateway as an application
//! would (POST `$everything`, then `nextPage`). The clients are installed
//! by `bash tools/fhir-clients/install.sh`; without them these checks say
//! loudly that they were skipped, except under `CI=true`, where they fail.

mod common;

use std::path::PathBuf;

use common::{Demo, mint, start_demo};
use serde_json::Value;

/// The story patients, each with an organisation that holds their record
/// (config/demo/README.md): a clinician there may see it.
const STORIES: [(&str, &str); 6] = [
    ("9990000018", "RN3"),
    ("9990000026", "RN3"),
    ("9990000034", "RN3"),
    ("9990000042", "RD1"),
    ("9990000050", "RN3"),
    ("9990000069", "Y9U01"),
];

/// The page size asked for when paging on purpose: small, and prime, so
/// that page boundaries fall in different places for every record.
const SMALL_PAGE: u32 = 7;

/// A fresh directory for this test's files.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("icr-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a scratch directory");
    dir
}

async fn get_text(url: &str, token: &str) -> (u16, String) {
    let r = reqwest::Client::new()
        .get(url)
        .bearer_auth(token)
        .send()
        .await
        .expect("the gateway answers");
    let status = r.status().as_u16();
    (status, r.text().await.expect("a body"))
}

/// Every page of a patient's `$everything` (with `_count` when given), as
/// (raw text, parsed), following `next` links to the end.
async fn everything_pages(
    demo: &Demo,
    token: &str,
    nhs: &str,
    count: Option<u32>,
) -> Vec<(String, Value)> {
    let mut url = format!("{}/fhir/r4/Patient/{nhs}/$everything", demo.gateway);
    if let Some(n) = count {
        url.push_str(&format!("?_count={n}"));
    }
    let mut pages = Vec::new();
    loop {
        let (status, text) = get_text(&url, token).await;
        assert_eq!(status, 200, "{nhs} page {}: {text}", pages.len() + 1);
        let page: Value = serde_json::from_str(&text).expect("a JSON page");
        let next = page["link"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|l| l["relation"] == "next")
            .and_then(|l| l["url"].as_str())
            .map(str::to_owned);
        pages.push((text, page));
        match next {
            Some(n) => url = n,
            None => break,
        }
        assert!(pages.len() < 1000, "{nhs}: paging does not end");
    }
    pages
}

/// Every string value in `v` that is empty, by its JSON path.
fn empty_strings(v: &Value, path: &str, out: &mut Vec<String>) {
    match v {
        Value::String(s) if s.is_empty() => out.push(path.to_owned()),
        Value::Array(items) => {
            for (i, x) in items.iter().enumerate() {
                empty_strings(x, &format!("{path}[{i}]"), out);
            }
        }
        Value::Object(fields) => {
            for (k, x) in fields {
                empty_strings(x, &format!("{path}.{k}"), out);
            }
        }
        _ => {}
    }
}

fn matches(page: &Value) -> usize {
    page["entry"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["search"]["mode"] == "match")
        .count()
}

#[tokio::test]
async fn every_story_patients_everything_is_read_by_fhirclient_fhir_js_and_fhir_kit_client() {
    let Some(clients) = icr_testkit::fhir_clients::installed("tests/fhir_clients.rs") else {
        return;
    };
    let demo = start_demo();
    let dir = scratch("fhir-clients");
    let mut files = Vec::new();
    for (nhs, org) in STORIES {
        let token = mint("R8000", org);
        // Whole, at the gateway's own page size, and in small pages.
        for count in [None, Some(SMALL_PAGE)] {
            let pages = everything_pages(&demo, &token, nhs, count).await;
            let total = pages[0].1["total"].as_u64().expect("a total");
            let mut seen = 0;
            for (i, (text, page)) in pages.iter().enumerate() {
                icr_testkit::assert_fhir_r4(page);
                let mut empty = Vec::new();
                empty_strings(page, "Bundle", &mut empty);
                assert!(empty.is_empty(), "{nhs}: empty strings at {empty:?}");
                if let Some(n) = count {
                    assert!(matches(page) <= n as usize, "{nhs} page {}", i + 1);
                }
                seen += matches(page);
                let file = dir.join(format!(
                    "{nhs}-count{}-page{}.json",
                    count.unwrap_or(0),
                    i + 1
                ));
                std::fs::write(&file, text).expect("a page written");
                files.push(file);
            }
            assert_eq!(seen as u64, total, "{nhs}: the pages add up to the total");
            if count.is_some() {
                assert!(
                    total <= SMALL_PAGE as u64 || pages.len() > 1,
                    "{nhs}: {total} matches in pages of {SMALL_PAGE} need more than one page"
                );
            }
        }
    }
    // fhir-kit-client, as an application reads a record: POST, then pages.
    let base = format!("{}/fhir/r4", demo.gateway);
    for org in ["RN3", "RD1", "Y9U01"] {
        let token = mint("R8000", org);
        let patients: Vec<&str> = STORIES
            .iter()
            .filter(|(_, o)| *o == org)
            .map(|(n, _)| *n)
            .collect();
        for count in [None, Some(SMALL_PAGE)] {
            let kit = clients.fhir_kit_client(&base, &token, &dir, count, &patients);
            assert!(kit.ok, "fhir-kit-client:\n{}", kit.output);
            assert!(kit.output.contains(" 0 failed"), "{}", kit.output);
        }
    }
    let kit_files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("the scratch directory")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("kit-"))
        })
        .collect();
    assert!(kit_files.len() >= STORIES.len() * 2, "{kit_files:?}");
    files.extend(kit_files);

    let read = clients.fhirclient(&files);
    assert!(read.ok, "fhirclient:\n{}", read.output);
    assert!(
        read.output
            .contains(&format!("{} passed, 0 failed", files.len())),
        "{}",
        read.output
    );
    let validated = clients.fhir_js(&files);
    assert!(validated.ok, "FHIR.js:\n{}", validated.output);
    assert!(
        validated
            .output
            .contains(&format!("{} passed, 0 failed", files.len())),
        "{}",
        validated.output
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Every address of every simulated source: its listening `host:port` and
/// its endpoint URLs, from the simulator control API.
async fn source_addresses(demo: &Demo) -> Vec<String> {
    let text = reqwest::get(format!("{}/sources", demo.control))
        .await
        .expect("the control API answers")
        .text()
        .await
        .expect("a body");
    let sources: Value = serde_json::from_str(&text).expect("a JSON list");
    let mut out = Vec::new();
    for s in sources.as_array().expect("a list of sources") {
        out.extend(s["listen"].as_str().map(str::to_owned));
        out.extend(s["endpoint"].as_str().map(str::to_owned));
        for o in s["orgs"].as_array().into_iter().flatten() {
            out.extend(o["endpoint"].as_str().map(str::to_owned));
        }
    }
    out.sort();
    out.dedup();
    assert!(out.len() > 20, "{out:?}");
    out
}

fn assert_no_address(text: &str, addresses: &[String], what: &str) {
    for a in addresses {
        assert!(
            !text.contains(a.as_str()),
            "{what} passes on a source's address {a:?}"
        );
    }
}

/// Everything a caller is given about each story patient: the JSON view,
/// and every page of `$everything` whole and in small pages; with
/// `all_up`, each must be a 200 with no empty string anywhere.
async fn every_answer(demo: &Demo, all_up: bool) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (nhs, org) in STORIES {
        let token = mint("R8000", org);
        let (status, view) = get_text(
            &format!("{}/v1/patients/{nhs}/record", demo.gateway),
            &token,
        )
        .await;
        if all_up {
            assert_eq!(status, 200, "{nhs}: {view}");
            let parsed: Value = serde_json::from_str(&view).expect("a JSON view");
            let mut empty = Vec::new();
            empty_strings(&parsed, "view", &mut empty);
            assert!(empty.is_empty(), "{nhs}: empty strings at {empty:?}");
        }
        out.push((format!("{nhs}'s JSON view ({status})"), view));
        if !all_up {
            let (status, first) = get_text(
                &format!("{}/fhir/r4/Patient/{nhs}/$everything", demo.gateway),
                &token,
            )
            .await;
            out.push((format!("{nhs}'s $everything ({status})"), first));
            continue;
        }
        for count in [None, Some(SMALL_PAGE)] {
            for (i, (text, _)) in everything_pages(demo, &token, nhs, count)
                .await
                .into_iter()
                .enumerate()
            {
                out.push((format!("{nhs}'s $everything page {}", i + 1), text));
            }
        }
    }
    out
}

#[tokio::test]
async fn no_source_address_reaches_a_caller_in_the_view_or_any_fhir_page() {
    let demo = start_demo();
    let mut addresses = source_addresses(&demo).await;
    // The simulated sources' document stores (attachment links).
    addresses.push(".sim.invalid".into());
    for (what, text) in every_answer(&demo, true).await {
        assert_no_address(&text, &addresses, &what);
    }

    // With one source of each protocol stopped, and nothing cached, failures
    // are described without the failed source's address.
    let operator = mint("R8015", "RN3");
    for (nhs, _) in STORIES {
        let r = reqwest::Client::new()
            .delete(format!("{}/v1/cache/patients/{nhs}", demo.gateway))
            .bearer_auth(&operator)
            .send()
            .await
            .expect("the gateway answers");
        assert_eq!(r.status(), 200, "{nhs}'s cached answers purged");
    }
    for id in ["awp", "medvivo", "wiltshire-council", "pathology", "pds"] {
        let r = reqwest::Client::new()
            .post(format!("{}/sources/{id}/stop", demo.control))
            .send()
            .await
            .expect("the control API answers");
        assert!(r.status().is_success(), "{id} stops");
    }
    for (what, text) in every_answer(&demo, false).await {
        assert_no_address(&text, &addresses, &format!("with sources stopped, {what}"));
    }
}
