//! Operations end to end: the demo running from a copy of its
//! configuration, changed while it runs. A new file in `sources.d`
//! registers a source live (in `/v1/sources` and in records); a broken
//! file is refused whole, the running configuration stays, and `/readyz`
//! and `/metrics` say why; removing a file deregisters its source.

mod common;

use std::time::Duration;

use common::{copy_config, mint, start_demo_in};
use serde_json::Value;

/// Polls `check` every 100 ms for up to 10 s (the gateway looks for
/// changes every 2 s).
async fn eventually<F, Fut>(what: &str, check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    common::eventually_within(what, Duration::from_secs(10), check).await;
}

async fn json(http: &reqwest::Client, url: &str, token: Option<&str>) -> (u16, Value) {
    let mut r = http.get(url);
    if let Some(t) = token {
        r = r.bearer_auth(t);
    }
    let r = r.send().await.unwrap();
    let status = r.status().as_u16();
    (
        status,
        serde_json::from_slice(&r.bytes().await.unwrap()).unwrap_or(Value::Null),
    )
}

fn source_ids(list: &Value) -> Vec<String> {
    list["sources"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|s| s["source"].as_str().unwrap_or("").to_owned())
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sources_come_and_go_without_a_restart_and_a_broken_file_is_refused() {
    let dir = copy_config("demo");
    let demo = start_demo_in(&dir);
    let http = reqwest::Client::new();
    let operator = mint("R8015", "X26");
    let clinician = mint("R8000", "RN3");
    let sources = format!("{}/v1/sources", demo.gateway);
    let (status, list) = json(&http, &sources, Some(&operator)).await;
    assert_eq!(status, 200);
    let before = source_ids(&list);
    assert!(before.contains(&"gwh".to_owned()) && !before.contains(&"gwh-mirror".to_owned()));

    // A new registration: a second view of gwh's system (its simulator's
    // ephemeral endpoint, from the control API).
    let (_, sims) = json(&http, &format!("{}/sources", demo.control), None).await;
    let endpoint = sims
        .as_array()
        .or_else(|| sims["sources"].as_array())
        .unwrap()
        .iter()
        .find(|s| s["id"] == "gwh")
        .and_then(|s| s["endpoint"].as_str())
        .unwrap()
        .to_owned();
    let mirror = dir.join("sources.d/gwh-mirror.toml");
    std::fs::write(
        &mirror,
        format!(
            "id = \"gwh-mirror\"\norganisation = \"Great Western Hospitals NHS Foundation Trust\"\nods_code = \"RN3\"\nkind = \"fhir-r4\"\nendpoint = \"{endpoint}\"\nsections = [\"allergies\"]\ncache_ttl_s = 0\n"
        ),
    )
    .unwrap();
    eventually("the new source is registered", || async {
        source_ids(&json(&http, &sources, Some(&operator)).await.1)
            .contains(&"gwh-mirror".to_owned())
    })
    .await;
    let record = format!("{}/v1/patients/9990000050/record", demo.gateway);
    let (status, view) = json(&http, &record, Some(&clinician)).await;
    assert_eq!(status, 200);
    let mirror_status = view["sources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["source"] == "gwh-mirror")
        .map(|s| s["status"].clone());
    assert_eq!(
        mirror_status,
        Some(Value::from("ok")),
        "{}",
        view["sources"]
    );

    // The organisation checks its system before going live.
    let check = |nhs: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_icr"))
            .args(["source", "check"])
            .arg(&mirror)
            .args(["--nhs", nhs])
            .output()
            .unwrap()
    };
    let out = check("9990000050");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("  allergies     "), "{text}");
    assert!(
        text.ends_with("OK: the source answered in full\n"),
        "{text}"
    );
    let out = check("9990000999");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("FAILED"));

    // A broken file: refused whole; the running sources stay; /readyz and
    // /metrics say so.
    let broken = dir.join("sources.d/broken.toml");
    std::fs::write(
        &broken,
        "id = \"broken\"\nkind = \"fhir-r4\"\nsections = [\"no-such-section\"]\n",
    )
    .unwrap();
    let readyz = format!("{}/readyz", demo.gateway);
    eventually("the refusal is in /readyz", || async {
        json(&http, &readyz, None).await.1["config_change_refused"].is_string()
    })
    .await;
    let (status, ready) = json(&http, &readyz, None).await;
    assert_eq!(status, 200, "still serving the configuration it had");
    let problem = ready["config_change_refused"].as_str().unwrap();
    assert!(problem.contains("broken.toml"), "{problem}");
    let ids = source_ids(&json(&http, &sources, Some(&operator)).await.1);
    assert!(ids.contains(&"gwh-mirror".to_owned()) && !ids.contains(&"broken".to_owned()));
    // icr check-config says the same, with the file and key, and fails.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_icr"))
        .args(["check-config", "--config"])
        .arg(&dir)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let errors = String::from_utf8_lossy(&out.stderr);
    assert!(errors.contains("broken.toml"), "{errors}");
    assert!(errors.contains("sections"), "{errors}");
    let metrics = http
        .get(format!("{}/metrics", demo.gateway))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("icr_config_reload_problem 1\n"),
        "{metrics}"
    );
    assert!(!metrics.contains("icr_config_reload_failures_total 0\n"));
    check_prometheus_text(&metrics);
    for name in [
        "icr_http_requests_total{route=\"record\",status=\"200\"}",
        "icr_http_request_duration_seconds_bucket{route=\"record\",le=\"+Inf\"}",
        "icr_source_duration_seconds_count{source=\"gwh\"}",
        "icr_source_outcomes_total{source=\"gwh\",status=\"ok\"}",
        "icr_source_circuit_state{source=\"gwh\",state=\"closed\"} 1",
        "icr_cache_hits_total",
        "icr_cache_misses_total",
        "icr_cache_bytes",
        "icr_audit_appends_total",
        "icr_audit_poisoned 0",
        "icr_break_glass_total",
        "icr_requests_shed_total",
        "icr_audit_write_duration_seconds_count",
    ] {
        assert!(metrics.contains(name), "{name} missing");
    }

    // Fixed (removed), and the mirror deregistered.
    std::fs::remove_file(&broken).unwrap();
    std::fs::remove_file(&mirror).unwrap();
    eventually("the mirror is gone and the problem cleared", || async {
        let ids = source_ids(&json(&http, &sources, Some(&operator)).await.1);
        let ready = json(&http, &readyz, None).await.1;
        !ids.contains(&"gwh-mirror".to_owned()) && ready.get("config_change_refused").is_none()
    })
    .await;
    assert_eq!(
        source_ids(&json(&http, &sources, Some(&operator)).await.1),
        before
    );
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_icr"))
        .args(["check-config", "--config"])
        .arg(&dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("configuration OK — 36 sources"));
    drop(demo);
    let _ = std::fs::remove_dir_all(&dir);
}

/// The Prometheus text exposition format, checked line by line: every
/// sample is `name{labels} value` with a number, every metric has a TYPE
/// before its samples (histograms: buckets, sum and count), and no label
/// carries anything like an NHS number.
fn check_prometheus_text(text: &str) {
    let mut typed: std::collections::HashMap<String, String> = std::collections::HashMap::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').expect("TYPE name kind");
            assert!(["counter", "gauge", "histogram"].contains(&kind), "{line}");
            typed.insert(name.to_owned(), kind.to_owned());
            continue;
        }
        if line.starts_with("# HELP ") || line.is_empty() {
            continue;
        }
        let (series, value) = line.rsplit_once(' ').expect("a sample");
        assert!(value.parse::<f64>().is_ok(), "not a number: {line}");
        let name = series.split('{').next().unwrap();
        assert!(
            !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
            "{line}"
        );
        let labels = &series[name.len()..];
        if !labels.is_empty() {
            assert!(labels.starts_with('{') && labels.ends_with('}'), "{line}");
            for pair in labels[1..labels.len() - 1].split("\",") {
                let (k, v) = pair.split_once('=').expect("label=value");
                assert!(
                    k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
                    "{line}"
                );
                assert!(v.starts_with('"'), "{line}");
            }
        }
        let base = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|suffix| {
                name.strip_suffix(suffix)
                    .filter(|b| typed.get(*b).is_some_and(|k| k == "histogram"))
            })
            .unwrap_or(name);
        assert!(typed.contains_key(base), "no TYPE before {line}");
        assert!(!series.contains("999"), "{line}");
    }
}
