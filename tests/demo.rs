//! End to end: the `icr` binary runs the demo region (simulated sources and
//! the gateway) on ephemeral loopback ports, and the record of a story
//! patient is asked for over HTTP, with every source up and with one stopped.

mod common;

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{copy_example, mint, start_demo};
use serde_json::Value;

static TOKEN: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// A break-glass reason the demo policy accepts.
const GLASS: &str = "Unconscious in the emergency department; no records to hand";

/// GET as a clinician at Great Western Hospitals.
async fn get(url: &str) -> (u16, Value) {
    get_as(url, Some(TOKEN.get_or_init(|| mint("R8000", "RN3")))).await
}

/// GET as that clinician, breaking glass.
async fn get_with(url: &str, reason: Option<&str>) -> (u16, Value) {
    let token = TOKEN.get_or_init(|| mint("R8000", "RN3"));
    let mut request = reqwest::Client::new().get(url).bearer_auth(token);
    if let Some(r) = reason {
        request = request.header("X-Break-Glass-Reason", r);
    }
    let r = request.send().await.expect("the gateway answers");
    let status = r.status().as_u16();
    let body = r.bytes().await.expect("a body");
    (status, serde_json::from_slice(&body).expect("a JSON body"))
}

async fn get_as(url: &str, token: Option<&str>) -> (u16, Value) {
    let mut request = reqwest::Client::new().get(url);
    if let Some(t) = token {
        request = request.bearer_auth(t);
    }
    let r = request.send().await.expect("the gateway answers");
    let status = r.status().as_u16();
    let body = r.bytes().await.expect("a body");
    (status, serde_json::from_slice(&body).expect("a JSON body"))
}

/// (source, status) of every source in a JSON view.
fn statuses(view: &Value) -> Vec<(String, String)> {
    view["sources"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| {
            (
                s["source"].as_str().unwrap_or("").to_owned(),
                s["status"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect()
}

/// Every (section, source record id) in a view that does not come from `except`.
fn records_not_from(view: &Value, except: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for (section, items) in view["sections"].as_object().into_iter().flatten() {
        for item in items.as_array().into_iter().flatten() {
            for p in item["provenance"].as_array().into_iter().flatten() {
                if p["source"] != except {
                    out.insert(format!(
                        "{section} {}",
                        p["source_id"].as_str().unwrap_or("")
                    ));
                }
            }
        }
    }
    out
}

#[tokio::test]
async fn the_demo_serves_a_merged_record_and_survives_a_source_going_down() {
    let demo = start_demo();
    let gw = &demo.gateway;
    let control = &demo.control;
    // Robert Pennington, held by all four trusts, his practice, the lab,
    // radiology, his council and the out-of-hours service.
    let story = "9990000050";

    // awp down from the start, so nothing of it can be in the cache.
    let stop = reqwest::Client::new()
        .post(format!("{control}/sources/awp/stop"))
        .send()
        .await
        .unwrap();
    assert!(stop.status().is_success(), "control API stops awp");
    let (status, down) = get(&format!("{gw}/v1/patients/{story}/record")).await;
    assert_eq!(status, 200);
    let st = statuses(&down);
    for (source, status) in &st {
        match source.as_str() {
            "awp" => assert_eq!(status, "unavailable"),
            // The councils and the providers that do not hold him say so.
            "swindon-council" | "banes-council" | "oxford-health" | "hcrg" => {
                assert_eq!(status, "not_found", "{source}")
            }
            _ => assert_eq!(status, "ok", "{source}"),
        }
    }
    assert!(st.len() >= 12, "{st:?}");
    let awp = down["sources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["source"] == "awp")
        .unwrap();
    assert!(
        awp["message"]
            .as_str()
            .unwrap_or("")
            .contains("cannot connect")
    );

    // awp back: failures were not cached, so it is asked again.
    let start = reqwest::Client::new()
        .post(format!("{control}/sources/awp/start"))
        .send()
        .await
        .unwrap();
    assert!(start.status().is_success());
    let (status, up) = get(&format!("{gw}/v1/patients/{story}/record")).await;
    assert_eq!(status, 200);
    // Everyone answers; the councils he does not live in hold nothing.
    assert!(
        statuses(&up)
            .iter()
            .all(|(_, s)| s == "ok" || s == "not_found"),
        "{:?}",
        statuses(&up)
    );
    assert!(statuses(&up).contains(&("awp".into(), "ok".into())));

    // With awp down, everything the other three hold was still there.
    assert_eq!(records_not_from(&down, "awp"), records_not_from(&up, "awp"));
    assert!(!records_not_from(&up, "awp").is_empty());

    // The whole region: all twelve sections filled, from at least eight
    // organisations, each item with full provenance; the GP's medication
    // list and the hospitals' merged into one item per medicine.
    assert!(up["patient"]["names"].is_array(), "demographics");
    for section in [
        "contacts",
        "care_team",
        "medications",
        "allergies",
        "conditions",
        "results",
        "documents",
        "procedures",
        "referrals",
        "appointments",
        "alerts",
    ] {
        assert!(
            !up["sections"][section].as_array().unwrap().is_empty(),
            "{section} is empty"
        );
    }
    let metformin: Vec<&Value> = up["sections"]["medications"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| {
            m["medication"]["codings"][0]["display"]
                .as_str()
                .unwrap_or("")
                .starts_with("Metformin")
        })
        .collect();
    assert_eq!(metformin.len(), 1, "metformin once");
    let holders: Vec<&str> = metformin[0]["provenance"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["source"].as_str().unwrap())
        .collect();
    assert!(
        holders.iter().any(|s| s.starts_with("gp-")),
        "the GP's copy: {holders:?}"
    );
    assert!(holders.contains(&"gwh"), "and the hospital's: {holders:?}");
    // Duplicates merged: diabetes once, with every source that holds it.
    let mut organisations = BTreeSet::new();
    for item in up["sections"]
        .as_object()
        .unwrap()
        .values()
        .flat_map(|v| v.as_array().unwrap())
    {
        let provenance = item["provenance"].as_array().unwrap();
        assert!(!provenance.is_empty());
        for p in provenance {
            for key in ["source", "organisation", "ods_code", "system", "source_id"] {
                assert!(p[key].is_string(), "provenance lacks {key}: {p}");
            }
            organisations.insert(p["ods_code"].as_str().unwrap().to_owned());
        }
    }
    assert!(organisations.len() >= 8, "{organisations:?}");
    for ods in ["RD1", "RN3", "RNZ", "RVN", "Y9P01", "Y9L01", "Y9U01"] {
        assert!(
            organisations.contains(ods),
            "{ods} missing from {organisations:?}"
        );
    }
    let diabetes: Vec<&Value> = up["sections"]["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["code"]["codings"][0]["code"] == "44054006")
        .collect();
    assert_eq!(diabetes.len(), 1, "type 2 diabetes appears once");
    assert!(
        diabetes[0]["provenance"].as_array().unwrap().len() >= 5,
        "with every source that holds it: the four trusts and the GP"
    );

    // The same record as FHIR: a valid R4 searchset.
    let (status, bundle) = get(&format!("{gw}/fhir/r4/Patient/{story}/$everything")).await;
    assert_eq!(status, 200);
    icr_testkit::assert_fhir_r4(&bundle);
    assert_eq!(bundle["type"], "searchset");
    assert!(
        bundle["entry"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["resource"]["resourceType"] == "Provenance")
    );

    // Who may see what. A social worker (R8014) sees no results.
    let social = mint("R8014", "RN3");
    let (status, body) = get_as(&format!("{gw}/v1/patients/{story}/record"), Some(&social)).await;
    assert_eq!(status, 200);
    assert!(body["sections"].get("results").is_none(), "{body}");
    assert!(body["sections"].get("care_team").is_some());
    // A clinician at an organisation not involved: refused; breaking glass: served.
    let outsider = mint("R8000", "RTE");
    let (status, body) = get_as(&format!("{gw}/v1/patients/{story}/record"), Some(&outsider)).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("NO_RELATIONSHIP"))
    );
    let r = reqwest::Client::new()
        .get(format!("{gw}/v1/patients/{story}/record"))
        .bearer_auth(&outsider)
        .header("X-Break-Glass-Reason", GLASS)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // The demo register's patient who objects to all sharing.
    let (status, body) = get(&format!("{gw}/v1/patients/9990000115/record")).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("NO_PATIENT_CONSENT"))
    );
    // Kwame Begum objects to AWP's records being shared: a clinician at
    // ruh sees ruh's and the others', with awp withheld and never asked;
    // an AWP clinician still sees AWP's own.
    let ruh = mint("R8000", "RD1");
    let (status, body) = get_as(&format!("{gw}/v1/patients/9996391582/record"), Some(&ruh)).await;
    assert_eq!(status, 200, "{body}");
    let st = statuses(&body);
    assert!(st.contains(&("awp".into(), "withheld".into())), "{st:?}");
    assert!(st.contains(&("ruh".into(), "ok".into())), "{st:?}");
    let from_awp: Vec<&Value> = icr_testkit::view_provenance(&body)
        .filter(|p| p["ods_code"] == "RVN")
        .collect();
    assert!(from_awp.is_empty(), "nothing of AWP's: {from_awp:?}");
    let awp = mint("R8000", "RVN");
    let (status, body) = get_as(&format!("{gw}/v1/patients/9996391582/record"), Some(&awp)).await;
    assert_eq!(status, 200, "{body}");
    assert!(statuses(&body).contains(&("awp".into(), "ok".into())));

    // Rachel Cartwright has dissented from sharing her GP record: her
    // practice says so, and everything else is served.
    let (status, body) = get(&format!("{gw}/v1/patients/9996420493/record")).await;
    assert_eq!(status, 200, "{body}");
    let st = statuses(&body);
    assert!(
        st.contains(&("gp-y90008".into(), "withheld".into())),
        "{st:?}"
    );
    assert!(st.contains(&("gwh".into(), "ok".into())), "{st:?}");

    // Hannah Stainton is restricted in PDS: her council and the
    // out-of-hours service hold her address, and none of it is shown. (Her
    // practice, as GP Connect providers do for sensitive patients, answers
    // that it has no record.)
    let ooh = mint("R8000", "Y9U01");
    let (status, body) = get_as(&format!("{gw}/v1/patients/9990000069/record"), Some(&ooh)).await;
    assert_eq!(status, 200, "{body}");
    let text = body.to_string();
    assert!(!text.contains("SN2 7HQ"), "her postcode leaked");
    assert!(
        body["patient"]["addresses"]
            .as_array()
            .is_none_or(|a| a.is_empty())
    );
    assert!(
        body["patient"]["telecoms"]
            .as_array()
            .is_none_or(|a| a.is_empty())
    );
    assert!(!body["sections"]["alerts"].as_array().unwrap().is_empty());

    // No token, no record.
    let (status, body) = get_as(&format!("{gw}/v1/patients/{story}/record"), None).await;
    assert_eq!(status, 401);
    assert_eq!(body["reason"], "missing_token");

    // Bad and unknown NHS numbers.
    let (status, body) = get(&format!("{gw}/v1/patients/9990000019/record")).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"], "invalid_nhs_number");
    assert!(body["message"].as_str().unwrap().contains("check digit"));
    // No one holds 9990000999: without a basis, the same refusal as for a
    // record someone else holds; breaking glass, 404.
    let (status, body) = get(&format!("{gw}/v1/patients/9990000999/record")).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("NO_RELATIONSHIP"))
    );
    let (status, body) =
        get_with(&format!("{gw}/v1/patients/9990000999/record"), Some(GLASS)).await;
    assert_eq!(status, 404);

    // Every one of those attempts is in the audit log, and its chain holds;
    // a single changed byte breaks it.
    let verify = |path: &str| {
        Command::new(env!("CARGO_BIN_EXE_icr"))
            .args(["audit", "verify", path])
            .output()
            .expect("icr audit verify runs")
    };
    let out = verify(&demo.audit);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(report.starts_with("audit log verified: "), "{report}");
    let file = std::path::Path::new(&demo.audit).join("audit-000001.jsonl");
    let mut bytes = std::fs::read(&file).unwrap();
    let at = bytes.len() / 2;
    bytes[at] = if bytes[at] == b'7' { b'8' } else { b'7' };
    let copy = std::env::temp_dir().join(format!("icr-tampered-{}", std::process::id()));
    std::fs::create_dir_all(&copy).unwrap();
    std::fs::write(copy.join("audit-000001.jsonl"), &bytes).unwrap();
    let out = verify(copy.to_str().unwrap());
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("FAILS verification"));
    let _ = std::fs::remove_dir_all(&copy);
    assert!(statuses(&body).iter().all(|(_, s)| s == "not_found"));
}

/// The two organisations the region published as taking part, Oxford
/// Health (RNU) and HCRG Care Group (NDA), answer through the gateway over
/// FHIR R4 for Isla Carthew, story 7: each `ok`, each item with its
/// provenance, their copies merged with her practice's.
#[tokio::test]
async fn oxford_health_and_hcrg_answer_for_isla_carthew_with_their_provenance() {
    let demo = start_demo();
    let gw = &demo.gateway;
    let story = "9990000077";
    let camhs = mint("R8000", "RNU");
    let (status, view) = get_as(&format!("{gw}/v1/patients/{story}/record"), Some(&camhs)).await;
    assert_eq!(status, 200, "{view}");

    // Every source asked has a status; she is known to these five.
    let mut held: Vec<(String, String)> = statuses(&view)
        .into_iter()
        .filter(|(_, s)| s != "not_found")
        .collect();
    held.sort();
    let ok = |id: &str| (id.to_owned(), "ok".to_owned());
    assert_eq!(
        held,
        [
            ok("gp-y90010"),
            ok("hcrg"),
            ok("oxford-health"),
            ok("pathology"),
            ok("pds")
        ]
    );
    let items = |id: &str| {
        view["sources"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["source"] == id)
            .map(|s| s["items"].clone())
    };
    assert_eq!(items("oxford-health"), Some(17.into()));
    assert_eq!(items("hcrg"), Some(11.into()));

    // Each item from them says who holds it, in which system, under what id.
    let from = |id: &str| -> Vec<&Value> {
        icr_testkit::view_provenance(&view)
            .filter(|p| p["source"] == id)
            .collect()
    };
    for (id, organisation, ods, system) in [
        (
            "oxford-health",
            "Oxford Health NHS Foundation Trust",
            "RNU",
            "Simulated mental health and community record (FHIR R4)",
        ),
        (
            "hcrg",
            "HCRG Care Group",
            "NDA",
            "Simulated community record (FHIR R4)",
        ),
    ] {
        let provenance = from(id);
        assert!(!provenance.is_empty(), "nothing from {id}");
        for p in provenance {
            assert_eq!(p["organisation"], organisation, "{p}");
            assert_eq!(p["ods_code"], ods, "{p}");
            assert_eq!(p["system"], system, "{p}");
            let local = p["source_id"].as_str().unwrap();
            assert!(local.starts_with(&format!("{id}:")), "{p}");
            assert!(p["last_updated"].is_string(), "{p}");
        }
    }

    // Anorexia nervosa once, from CAMHS and her practice; her mother once,
    // from both (the practices are not asked for contacts); the school
    // nurse's referral and CAMHS's alert.
    let sources_of = |section: &str, code: &str| -> Vec<String> {
        let found: Vec<&Value> = view["sections"][section]
            .as_array()
            .unwrap()
            .iter()
            .filter(|i| i.to_string().contains(code))
            .collect();
        assert_eq!(found.len(), 1, "{section} {code}: {found:?}");
        let mut s: Vec<String> = found[0]["provenance"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["source"].as_str().unwrap().to_owned())
            .collect();
        s.sort();
        s
    };
    assert_eq!(
        sources_of("conditions", "56882008"),
        ["gp-y90010", "oxford-health"]
    );
    assert_eq!(sources_of("contacts", "Joanne"), ["hcrg", "oxford-health"]);
    assert_eq!(sources_of("referrals", "183524004"), ["hcrg"]);
    assert_eq!(sources_of("alerts", "01632 960771"), ["oxford-health"]);

    // The same as FHIR R4, valid, with both organisations in it.
    let (status, bundle) = get_as(
        &format!("{gw}/fhir/r4/Patient/{story}/$everything"),
        Some(&camhs),
    )
    .await;
    assert_eq!(status, 200);
    icr_testkit::assert_fhir_r4(&bundle);
    let text = bundle.to_string();
    assert!(
        text.contains("Oxford Health NHS Foundation Trust") && text.contains("HCRG Care Group")
    );

    // HCRG's staff are involved too; a hospital that holds nothing is not.
    let school = mint("R8000", "NDA");
    let (status, _) = get_as(&format!("{gw}/v1/patients/{story}/record"), Some(&school)).await;
    assert_eq!(status, 200);
    let (status, body) = get(&format!("{gw}/v1/patients/{story}/record")).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("NO_RELATIONSHIP"))
    );
}

#[test]
fn the_example_configuration_is_valid_and_a_broken_one_is_refused() {
    // A copy of the example, its audit log in the copy rather than in
    // /var/lib.
    let dir = copy_example("example");
    let mut child = Command::new(env!("CARGO_BIN_EXE_icr"))
        .args(["serve", "--listen", "127.0.0.1:0", "--config"])
        .arg(&dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("icr runs");
    let mut first = String::new();
    let stdout = child.stdout.take().expect("stdout is piped");
    BufReader::new(stdout)
        .read_line(&mut first)
        .expect("a line");
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        first.starts_with("icr gateway listening on http://127.0.0.1:"),
        "{first}"
    );
    assert!(first.trim_end().ends_with("with 1 sources"), "{first}");

    // One broken source file: refused, naming file, line and key.
    std::fs::write(
        dir.join("sources.d/b.toml"),
        std::fs::read_to_string(dir.join("sources.d/example-acute.toml"))
            .unwrap()
            .replace("\"example-acute\"", "\"b\"")
            .replace("\"allergies\"", "\"allergy\""),
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_icr"))
        .args(["serve", "--config"])
        .arg(&dir)
        .output()
        .expect("icr runs");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("the configuration has 1 problem:"),
        "{stderr}"
    );
    assert!(
        stderr.contains("b.toml:17: sections[4]: unknown section \"allergy\""),
        "{stderr}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// A copy of config/example in a fresh temporary directory, with the audit
/// log inside it.
/// kill -9 under load: the gateway is killed while 32 clients are asking
/// for records (allowed and refused). After recovery — what the next start
/// does to a torn last line — the chain verifies, and every answer a client
/// received, 200 or 403, has a durable record of the access: every 200 its
/// begun entry (synced before release); every answer its whole record with
/// that status, except possibly each client's last answer, whose
/// completion may have been queued but not yet synced (it rides the group
/// commit after the answer), and which then has its begun entry. A
/// client's earlier answers have theirs for certain: its next request's
/// first entry was synced after them, in queue order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_answer_received_before_a_kill_is_in_the_audit_log() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    let mut demo = start_demo();
    let gw = demo.gateway.clone();
    let insider = mint("R8000", "RN3");
    let outsider = mint("R8000", "RTE");
    let stop = Arc::new(AtomicBool::new(false));
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(usize, String, u16)>();
    let mut clients = Vec::new();
    for client in 0..32usize {
        let (gw, stop, tx) = (gw.clone(), stop.clone(), tx.clone());
        let token = if client % 4 == 3 {
            outsider.clone()
        } else {
            insider.clone()
        };
        clients.push(tokio::spawn(async move {
            let http = reqwest::Client::new();
            let patients = ["9990000018", "9990000026", "9990000034", "9990000050"];
            let mut n = client;
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                let url = format!("{gw}/v1/patients/{}/record", patients[n % 4]);
                let Ok(r) = http.get(&url).bearer_auth(&token).send().await else {
                    break;
                };
                let status = r.status().as_u16();
                let id = r
                    .headers()
                    .get("x-request-id")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned);
                // Only an answer received in full counts as released.
                if r.bytes().await.is_err() {
                    break;
                }
                if let Some(id) = id {
                    let _ = tx.send((client, id, status));
                }
            }
        }));
    }
    drop(tx);
    // Let a good number of answers through, then kill mid-stream.
    let mut received = Vec::new();
    while received.len() < 400 {
        match tokio::time::timeout(Duration::from_secs(60), rx.recv()).await {
            Ok(Some(answer)) => received.push(answer),
            _ => panic!("only {} answers in a minute", received.len()),
        }
    }
    demo.child.kill().expect("SIGKILL"); // kill -9
    let _ = demo.child.wait();
    stop.store(true, Ordering::Relaxed);
    for c in clients {
        let _ = c.await;
    }
    while let Some(answer) = rx.recv().await {
        received.push(answer);
    }
    assert!(received.iter().any(|(_, _, s)| *s == 200));
    assert!(received.iter().any(|(_, _, s)| *s == 403));

    // What the next start does: open the log, recovering a torn tail.
    let dir = std::path::PathBuf::from(&demo.audit);
    drop(icr_audit::AuditLog::open(&icr_audit::AuditConfig::new(&dir)).expect("the log reopens"));
    let out = Command::new(env!("CARGO_BIN_EXE_icr"))
        .args(["audit", "verify", &demo.audit])
        .output()
        .expect("icr audit verify runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Request id -> the status its whole record (or completion) says; and
    // the request ids of accesses begun.
    let mut logged = std::collections::HashMap::new();
    let mut begun = std::collections::HashSet::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "jsonl") {
            for line in std::fs::read_to_string(&path).unwrap().lines() {
                let v: Value = serde_json::from_str(line).unwrap();
                if let Some(id) = v["access"]["request_id"].as_str() {
                    logged.insert(id.to_owned(), v["access"]["http_status"].as_u64());
                }
                if let Some(id) = v["begun"]["request_id"].as_str() {
                    begun.insert(id.to_owned());
                }
            }
        }
    }
    // Each client's last answer received: the only one whose completion
    // may be missing.
    let mut last = std::collections::HashMap::new();
    for (i, (client, _, _)) in received.iter().enumerate() {
        last.insert(*client, i);
    }
    let mut outcome_not_recorded = 0;
    let missing: Vec<&(usize, String, u16)> = received
        .iter()
        .enumerate()
        .filter(|(i, (client, id, status))| {
            if *status == 200 && !begun.contains(id) {
                return true;
            }
            match logged.get(id) {
                Some(logged) => *logged != Some(u64::from(*status)),
                None if last.get(client) == Some(i) && begun.contains(id) => {
                    outcome_not_recorded += 1;
                    false
                }
                None => true,
            }
        })
        .map(|(_, answer)| answer)
        .collect();
    assert!(
        missing.is_empty(),
        "{} of {} answers not in the audit log as sent: {:?}",
        missing.len(),
        received.len(),
        &missing[..missing.len().min(5)]
    );
    eprintln!(
        "{} answers received ({} refused), {} access records and {} accesses begun in the log, {} answers whose outcome was not recorded (a client's last)",
        received.len(),
        received.iter().filter(|(_, _, s)| *s == 403).count(),
        logged.len(),
        begun.len(),
        outcome_not_recorded
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// `icr demo --ephemeral` keeps its audit log (synthetic NHS numbers) in a
/// private temporary directory that does not outlive the run: removed when
/// the demo is stopped, as by Ctrl-C or SIGTERM.
#[tokio::test]
async fn an_ephemeral_demo_removes_its_audit_log_when_it_stops() {
    let mut demo = start_demo();
    let token = mint("R8000", "RN3");
    let r = reqwest::Client::new()
        .get(format!("{}/v1/patients/9990000018/record", demo.gateway))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let dir = std::path::PathBuf::from(&demo.audit);
    assert!(dir.starts_with(std::env::temp_dir()), "{}", dir.display());
    assert!(
        std::fs::read_dir(&dir).unwrap().count() > 0,
        "the access was logged"
    );
    let stopped = Command::new("kill")
        .args(["-TERM", &demo.child.id().to_string()])
        .status()
        .unwrap();
    assert!(stopped.success());
    let started = std::time::Instant::now();
    while demo.child.try_wait().unwrap().is_none() {
        assert!(started.elapsed() < Duration::from_secs(15), "still running");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(!dir.exists(), "{} left behind", dir.display());
}
