//! The chaos suite: the demo region (`icr demo --ephemeral`, every
//! protocol) with its simulators set, through their control API, to every
//! fault mode a real source shows — hanging, silent, reset mid-body, slow
//! trickle, truncated, garbage, far over the size cap, HTTP/MLLP errors
//! with Retry-After, and answering about another patient — and, for each,
//! Robert Pennington's record (9990000050, held by every kind of source)
//! asked for while one source of each protocol misbehaves.
//!
//! For every case: the status code; each faulted source's status (and for
//! the wrong patient, `identity mismatch`); nothing from a faulted source in
//! the record; every healthy source's items exactly as without faults; the
//! answer within the deadline plus a margin; and, at the end, the process's
//! peak memory. Sources are given short time limits (700 ms, deadline
//! 2 s) and a circuit breaker that never opens, so every case meets the
//! fault itself, not a circuit opened by the one before.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use common::{Demo, copy_config, mint, start_demo_in, start_demo_with};
use serde_json::{Value, json};

const STORY: &str = "9990000050";
const DEADLINE: Duration = Duration::from_millis(2000);
/// Scheduling, merging and rendering on a loaded 2-core machine.
const MARGIN: Duration = Duration::from_millis(1000);

/// (simulator listener, gateway source id) misbehaving together: one of
/// each protocol apart from PDS (which routes to the practice, so it has
/// its own round).
const ONE_OF_EACH: [(&str, &str); 5] = [
    ("awp", "awp"),                             // FHIR R4
    ("gp", "gp-y90012"),                        // GP Connect
    ("pathology", "pathology"),                 // HL7 v2 over MLLP
    ("wiltshire-council", "wiltshire-council"), // SOAP
    ("medvivo", "medvivo"),                     // CDA
];

/// Sources that stay healthy throughout; their items must always be there.
const HEALTHY: [&str; 5] = ["gwh", "ruh", "sft", "whc", "radiology"];

/// The demo configuration with short source limits (time and body size)
/// and no circuit breaking.
fn config() -> std::path::PathBuf {
    let dir = copy_config("demo");
    let gateway = std::fs::read_to_string(dir.join("gateway.toml"))
        .unwrap()
        .replace("request_deadline_ms = 5000", "request_deadline_ms = 2000");
    assert!(gateway.contains("request_deadline_ms = 2000"));
    std::fs::write(dir.join("gateway.toml"), gateway).unwrap();
    for entry in std::fs::read_dir(dir.join("sources.d")).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        // A 4 MiB body cap (the demo's is 16 MiB): an oversized answer is
        // cut at the cap well within the 700 ms, however loaded the
        // machine running the debug build is.
        let mut out: String = text
            .lines()
            .filter(|l| !l.starts_with("max_body_bytes = "))
            .map(|l| {
                if l.starts_with("timeout_ms = ") {
                    "timeout_ms = 700\nmax_body_bytes = 4194304"
                } else {
                    l
                }
            })
            .collect::<Vec<_>>()
            .join("\n");
        assert!(out.contains("timeout_ms = 700"), "{}", path.display());
        out.push_str("\n\n[resilience]\ncircuit_failures = 1000\n");
        std::fs::write(&path, out).unwrap();
    }
    dir
}

struct Chaos {
    demo: Demo,
    http: reqwest::Client,
    clinician: String,
    operator: String,
}

impl Chaos {
    /// Stops and starts a simulated source, closing every connection the
    /// gateway holds to it (`silent` strikes new connections only).
    async fn restart(&self, sim_source: &str) {
        for action in ["stop", "start"] {
            let r = self
                .http
                .post(format!(
                    "{}/sources/{sim_source}/{action}",
                    self.demo.control
                ))
                .send()
                .await
                .unwrap();
            assert!(r.status().is_success(), "{action} {sim_source}");
        }
    }

    async fn fault(&self, sim_source: &str, fault: Value) {
        let r = self
            .http
            .put(format!("{}/sources/{sim_source}/fault", self.demo.control))
            .header("content-type", "application/json")
            .body(fault.to_string())
            .send()
            .await
            .unwrap();
        assert!(
            r.status().is_success(),
            "{sim_source}: {}",
            r.text().await.unwrap()
        );
    }

    /// The record, from the sources (the cache purged first), and how long
    /// it took.
    async fn record(&self) -> (u16, Value, Duration) {
        let purge = self
            .http
            .delete(format!("{}/v1/cache/patients/{STORY}", self.demo.gateway))
            .bearer_auth(&self.operator)
            .send()
            .await
            .unwrap();
        assert_eq!(purge.status(), 200);
        let started = Instant::now();
        let r = self
            .http
            .get(format!("{}/v1/patients/{STORY}/record", self.demo.gateway))
            .bearer_auth(&self.clinician)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        let body: Value = serde_json::from_slice(&r.bytes().await.unwrap()).unwrap();
        (status, body, started.elapsed())
    }

    /// Peak resident memory of the demo process (gateway and simulators).
    fn peak_rss_kib(&self) -> u64 {
        let status =
            std::fs::read_to_string(format!("/proc/{}/status", self.demo.child.id())).unwrap();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap()
    }
}

/// Each source's status and message.
fn statuses(view: &Value) -> BTreeMap<String, (String, String)> {
    view["sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["source"].as_str().unwrap().to_owned(),
                (
                    s["status"].as_str().unwrap().to_owned(),
                    s["message"].as_str().unwrap_or("").to_owned(),
                ),
            )
        })
        .collect()
}

/// Every (source, record id) behind the items and demographics shown.
fn provenance(view: &Value) -> BTreeSet<(String, String)> {
    icr_testkit::view_provenance(view)
        .map(|p| {
            (
                p["source"].as_str().unwrap().to_owned(),
                p["source_id"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn from(p: &BTreeSet<(String, String)>, sources: &[&str]) -> BTreeSet<(String, String)> {
    p.iter()
        .filter(|(s, _)| sources.contains(&s.as_str()))
        .cloned()
        .collect()
}

/// The fault modes, with the status every protocol's source gets.
fn modes() -> Vec<(&'static str, Value, &'static [&'static str])> {
    vec![
        ("hang", json!({"mode": "hang"}), &["timeout"]),
        ("silent", json!({"mode": "silent"}), &["timeout"]),
        (
            "trickle",
            json!({"mode": "trickle", "bytes": 16, "interval_ms": 100}),
            &["timeout"],
        ),
        ("reset", json!({"mode": "reset"}), &["unavailable", "error"]),
        (
            "truncate",
            json!({"mode": "truncate"}),
            &["unavailable", "error"],
        ),
        (
            "garbage",
            json!({"mode": "garbage", "bytes": 4096}),
            &["error"],
        ),
        (
            "oversize",
            json!({"mode": "oversize", "bytes": 6 * 1024 * 1024}),
            &["error"],
        ),
        (
            "status 503",
            json!({"mode": "status", "code": 503, "retry_after_s": 1}),
            &["error"],
        ),
        (
            "status 500",
            json!({"mode": "status", "code": 500, "retry_after_s": 1}),
            &["error"],
        ),
        (
            "status 429",
            json!({"mode": "status", "code": 429, "retry_after_s": 30}),
            &["error"],
        ),
        ("failed in a 200", json!({"mode": "failed"}), &["error"]),
        (
            "wrong patient",
            json!({"mode": "wrong_patient"}),
            &["error"],
        ),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_fault_of_every_protocol_leaves_the_rest_served_and_nothing_of_the_faulty() {
    let dir = config();
    let chaos = Chaos {
        demo: start_demo_in(&dir),
        http: reqwest::Client::new(),
        clinician: mint("R8000", "RN3"),
        operator: mint("R8015", "X26"),
    };

    // Without faults: everyone answers; what the healthy sources hold.
    let (status, baseline, _) = chaos.record().await;
    assert_eq!(status, 200);
    let st = statuses(&baseline);
    for (_, source) in ONE_OF_EACH {
        assert_eq!(st[source].0, "ok", "{source}");
    }
    assert_eq!(st["pds"].0, "ok");
    let healthy = from(&provenance(&baseline), &HEALTHY);
    for source in HEALTHY {
        assert!(
            healthy.iter().any(|(s, _)| s == source),
            "{source} holds nothing"
        );
    }
    let rss_before = chaos.peak_rss_kib();

    for (name, mode, expected) in modes() {
        // One source of each protocol misbehaves.
        for (sim, _) in ONE_OF_EACH {
            chaos.fault(sim, json!({ "chaos": mode })).await;
            if name == "silent" {
                chaos.restart(sim).await;
            }
        }
        let (status, view, took) = chaos.record().await;
        for (sim, _) in ONE_OF_EACH {
            chaos.fault(sim, json!({})).await;
        }
        assert_eq!(status, 200, "{name}: {view}");
        assert!(took < DEADLINE + MARGIN, "{name}: {took:?}");
        let st = statuses(&view);
        let shown = provenance(&view);
        for (_, source) in ONE_OF_EACH {
            let (got, message) = &st[source];
            assert!(
                expected.contains(&got.as_str()),
                "{name}: {source} is {got} ({message})"
            );
            let says = match name {
                "wrong patient" => "identity mismatch",
                "oversize" => "byte limit",
                "garbage" => "malformed response",
                "status 503" if source == "pathology" => "MSA-1 AE",
                "status 503" => "HTTP 503",
                "status 500" if source == "pathology" => "MSA-1 AE",
                "status 500" => "HTTP 500",
                "status 429" if source == "pathology" => "MSA-1 AR",
                "status 429" => "HTTP 429",
                "failed in a 200" if source == "pathology" => "MSA-1 AE",
                "failed in a 200" => "the source refused or failed the request",
                _ => "",
            };
            assert!(message.contains(says), "{name}: {source}: {message}");
            assert!(
                !shown.iter().any(|(s, _)| s == source),
                "{name}: something of {source} is shown"
            );
        }
        for source in HEALTHY {
            assert_eq!(st[source].0, "ok", "{name}: {source}");
        }
        assert_eq!(
            from(&shown, &HEALTHY),
            healthy,
            "{name}: healthy items differ"
        );
        eprintln!(
            "{name:>13}: {} in {took:?}",
            ONE_OF_EACH
                .iter()
                .map(|(_, s)| format!("{s} {} ({})", st[*s].0, st[*s].1))
                .collect::<Vec<_>>()
                .join(", ")
        );

        // The demographics service misbehaves: the practice cannot be
        // found, so it is not asked, and says so; the rest is served.
        chaos.fault("pds", json!({ "chaos": mode })).await;
        if name == "silent" {
            chaos.restart("pds").await;
        }
        let (status, view, took) = chaos.record().await;
        chaos.fault("pds", json!({})).await;
        assert_eq!(status, 200, "{name} (pds): {view}");
        assert!(took < DEADLINE + MARGIN, "{name} (pds): {took:?}");
        let st = statuses(&view);
        let (got, message) = &st["pds"];
        assert!(
            expected.contains(&got.as_str()),
            "{name}: pds is {got} ({message})"
        );
        if name == "wrong patient" {
            assert!(message.starts_with("identity mismatch"), "pds: {message}");
        }
        assert!(
            !st.keys().any(|s| s.starts_with("gp-")),
            "{name}: a practice was asked"
        );
        assert!(
            view["warnings"]
                .as_array()
                .unwrap()
                .iter()
                .any(|w| w["code"] == "practice-not-asked"),
            "{name}: {}",
            view["warnings"]
        );
        let shown = provenance(&view);
        assert!(!shown.iter().any(|(s, _)| s == "pds"));
        assert_eq!(from(&shown, &HEALTHY), healthy, "{name} (pds)");
        eprintln!("{name:>13}: pds {got} in {took:?}");
    }

    // A long-tailed latency (log-normal, median 150 ms, p99 3 s): each
    // answer within the deadline, each slow source either answered or
    // named as timed out, the healthy ones always there.
    for (sim, _) in ONE_OF_EACH {
        chaos
            .fault(sim, json!({"latency_ms": {"median": 150, "p99": 3000}}))
            .await;
    }
    let mut seen = BTreeSet::new();
    for _ in 0..4 {
        let (status, view, took) = chaos.record().await;
        assert_eq!(status, 200);
        assert!(took < DEADLINE + MARGIN, "latency: {took:?}");
        let st = statuses(&view);
        for (_, source) in ONE_OF_EACH {
            let got = st[source].0.as_str();
            assert!(
                ["ok", "partial", "timeout"].contains(&got),
                "{source}: {got}"
            );
            seen.insert(got.to_owned());
        }
        assert_eq!(from(&provenance(&view), &HEALTHY), healthy, "latency");
    }
    eprintln!("long-tailed latency: statuses seen {seen:?}");
    for (sim, _) in ONE_OF_EACH {
        chaos.fault(sim, json!({})).await;
    }

    // Memory stays bounded: oversized answers are cut at each source's cap
    // (4 MiB here) while streaming, never held whole.
    let rss_after = chaos.peak_rss_kib();
    eprintln!(
        "peak RSS {} MiB before the faults, {} MiB after",
        rss_before / 1024,
        rss_after / 1024
    );
    assert!(
        rss_after < rss_before + 256 * 1024,
        "peak memory grew from {rss_before} KiB to {rss_after} KiB"
    );
    drop(chaos);
    let _ = std::fs::remove_dir_all(&dir);
}

/// SIGTERM while a request waits on a slow source: the gateway stops
/// accepting, the request in flight is answered in full, its access is in
/// the audit log, and the process exits cleanly.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_finishes_the_requests_in_flight_and_flushes_the_audit() {
    let dir = config();
    // The log must outlive the process to be read afterwards.
    let audit = dir.join("audit-kept");
    let mut chaos = Chaos {
        demo: start_demo_with(&dir, &[], &["--audit-dir", audit.to_str().unwrap()]),
        http: reqwest::Client::new(),
        clinician: mint("R8000", "RN3"),
        operator: mint("R8015", "X26"),
    };
    // The council answers its one SOAP request in 500 ms.
    chaos
        .fault("wiltshire-council", json!({"latency_ms": 500}))
        .await;
    let url = format!("{}/v1/patients/{STORY}/record", chaos.demo.gateway);
    let pending = tokio::spawn({
        let (http, token, url) = (chaos.http.clone(), chaos.clinician.clone(), url.clone());
        async move {
            let r = http.get(&url).bearer_auth(&token).send().await.unwrap();
            let id = r.headers()["x-request-id"].to_str().unwrap().to_owned();
            let status = r.status().as_u16();
            let body: Value = serde_json::from_slice(&r.bytes().await.unwrap()).unwrap();
            (status, id, body)
        }
    });
    tokio::time::sleep(Duration::from_millis(150)).await;
    let pid = chaos.demo.child.id().to_string();
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(killed.success());
    let (status, request_id, body) = pending.await.unwrap();
    assert_eq!(status, 200);
    assert_eq!(statuses(&body)["wiltshire-council"].0, "ok", "{body}");
    // The process exits by itself, successfully, within the drain bound.
    let started = Instant::now();
    let exit = loop {
        if let Some(code) = chaos.demo.child.try_wait().unwrap() {
            break code;
        }
        assert!(started.elapsed() < Duration::from_secs(15), "still running");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(exit.success(), "{exit:?}");
    // New requests are refused: nobody is listening.
    assert!(chaos.http.get(&url).send().await.is_err());
    // The answered request's access is in the log, and the chain holds.
    let log: String = std::fs::read_dir(&chaos.demo.audit)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect();
    // Its begun entry, and its completion (queued just after the answer)
    // flushed by the shutdown, with the status sent.
    let entries: Vec<serde_json::Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let id = Some(request_id.as_str());
    assert!(
        entries
            .iter()
            .any(|e| e["begun"]["request_id"].as_str() == id)
    );
    assert!(entries.iter().any(|e| {
        e["access"]["request_id"].as_str() == id
            && e["access"]["http_status"] == 200
            && e["completes"].is_u64()
    }));
    let verify = std::process::Command::new(env!("CARGO_BIN_EXE_icr"))
        .args(["audit", "verify", &chaos.demo.audit])
        .output()
        .unwrap();
    assert!(verify.status.success());
    let _ = std::fs::remove_dir_all(&chaos.demo.audit);
    let _ = std::fs::remove_dir_all(&dir);
}
