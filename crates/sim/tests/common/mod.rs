//! Helpers shared by the tests that run real servers.
#![allow(dead_code)]

use std::time::Duration;

use icr_sim::{Sim, SimConfig};
use serde_json::Value;

/// The demo seed.
pub const SEED: u64 = 20_261_101;

/// A simulator of all four sources on ephemeral ports with `size` patients.
pub async fn start(size: usize) -> Sim {
    Sim::start(SimConfig::all_sources(SEED, size))
        .await
        .expect("the simulator starts")
}

/// A client that does not reuse connections between tests' phases.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .expect("client")
}

/// GET a URL; status, content type and parsed JSON body.
pub async fn get(client: &reqwest::Client, url: &str) -> (u16, String, Value) {
    let r = client.get(url).send().await.expect("request sent");
    let status = r.status().as_u16();
    let ct = r
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let text = r.text().await.expect("body");
    let json = serde_json::from_str(&text).unwrap_or(Value::Null);
    (status, ct, json)
}

/// The `relation` link of a Bundle, if any.
pub fn link<'a>(bundle: &'a Value, relation: &str) -> Option<&'a str> {
    bundle["link"]
        .as_array()?
        .iter()
        .find(|l| l["relation"] == relation)
        .and_then(|l| l["url"].as_str())
}

/// The resources of a Bundle's entries.
pub fn resources(bundle: &Value) -> Vec<&Value> {
    bundle["entry"]
        .as_array()
        .map(|e| e.iter().map(|x| &x["resource"]).collect())
        .unwrap_or_default()
}

/// Every resource of `type_` the source serves for `patient_id`, following
/// next links; checks each page's `total`.
pub async fn all(
    client: &reqwest::Client,
    endpoint: &str,
    type_: &str,
    patient_id: &str,
    count: usize,
) -> Vec<Value> {
    let mut url = format!("{endpoint}/{type_}?patient={patient_id}&_count={count}");
    let mut out = Vec::new();
    let mut total = None;
    loop {
        let (status, _, b) = get(client, &url).await;
        assert_eq!(status, 200, "{url}: {b}");
        let t = b["total"].as_u64().expect("total");
        assert_eq!(*total.get_or_insert(t), t);
        out.extend(resources(&b).into_iter().cloned());
        match link(&b, "next") {
            Some(next) => url = next.to_string(),
            None => break,
        }
    }
    assert_eq!(out.len() as u64, total.unwrap_or(0));
    out
}
