//! The simulated FHIR R4 servers, over real sockets.

mod common;

use std::time::{Duration, Instant};

use common::{all, client, get, link, resources};
use icr_sim::{Fault, Latency, Org};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const NHS_SYSTEM: &str = "https://fhir.nhs.uk/Id/nhs-number";

#[tokio::test]
async fn metadata_is_a_capability_statement() {
    let sim = common::start(50).await;
    let c = client();
    let ep = sim.endpoint("ruh").unwrap();
    let (s, ct, v) = get(&c, &format!("{ep}/metadata")).await;
    assert_eq!(s, 200);
    assert_eq!(ct, "application/fhir+json");
    assert_eq!(v["resourceType"], "CapabilityStatement");
    assert_eq!(v["fhirVersion"], "4.0.1");
    assert_eq!(v["implementation"]["url"], ep.as_str());
    let types: Vec<&str> = v["rest"][0]["resource"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["type"].as_str().unwrap())
        .collect();
    assert_eq!(types.len(), 17);
    for t in ["Patient", "Flag", "Immunization", "CarePlan"] {
        assert!(types.contains(&t), "{t}");
    }
    sim.shutdown().await;
}

#[tokio::test]
async fn patient_search_with_encoded_and_plain_bar() {
    let sim = common::start(50).await;
    let c = client();
    let story1 = sim.population().iter().next().unwrap().clone();
    let nhs = story1.nhs_number.to_string();
    let gwh = story1.holding(Org::GWH).unwrap();
    let ep = sim.endpoint("gwh").unwrap();

    let plain = format!("{ep}/Patient?identifier={NHS_SYSTEM}|{nhs}");
    // The client sends the bar as it is.
    assert!(reqwest::Url::parse(&plain).unwrap().as_str().contains('|'));
    let encoded =
        format!("{ep}/Patient?identifier=https%3A%2F%2Ffhir.nhs.uk%2FId%2Fnhs-number%7C{nhs}");
    let bare = format!("{ep}/Patient?identifier={nhs}");
    for url in [plain, encoded, bare] {
        let (s, ct, b) = get(&c, &url).await;
        assert_eq!(s, 200, "{url}");
        assert_eq!(ct, "application/fhir+json");
        assert_eq!(b["resourceType"], "Bundle");
        assert_eq!(b["type"], "searchset");
        assert_eq!(b["total"], 1);
        let p = &b["entry"][0]["resource"];
        assert_eq!(p["resourceType"], "Patient");
        assert_eq!(p["id"], gwh.patient_id.as_str());
        assert_ne!(p["id"], nhs.as_str());
        assert_eq!(
            b["entry"][0]["fullUrl"],
            format!("{ep}/Patient/{}", gwh.patient_id)
        );
        assert_eq!(b["entry"][0]["search"]["mode"], "match");
        assert_eq!(p["identifier"][0]["system"], NHS_SYSTEM);
        assert_eq!(p["identifier"][0]["value"], nhs.as_str());
        assert_eq!(p["name"][0]["family"], "Ellery");
        assert_eq!(
            p["name"][0]["given"],
            serde_json::json!(["Margaret", "Rose"])
        );
        assert_eq!(p["birthDate"], "1941-03-14");
        assert_eq!(p["gender"], "female");
        assert_eq!(p["address"][0]["postalCode"], "SN8 1QT");
        assert_eq!(p["managingOrganization"]["identifier"]["value"], "RN3");
        assert_eq!(p["meta"]["lastUpdated"], "2026-09-03T10:41:00Z");
        assert!(link(&b, "next").is_none());
        assert!(
            link(&b, "self")
                .unwrap()
                .starts_with(&format!("{ep}/Patient?identifier="))
        );
    }

    // ruh does not hold story patient 1; a valid number nobody holds; a
    // number with a bad check digit; another identifier system.
    for (source, id) in [
        ("ruh", format!("{NHS_SYSTEM}|{nhs}")),
        ("gwh", format!("{NHS_SYSTEM}|9990000999")),
        ("gwh", format!("{NHS_SYSTEM}|9990000019")),
        ("gwh", format!("https://example.org/mrn|{nhs}")),
    ] {
        let ep = sim.endpoint(source).unwrap();
        let (s, _, b) = get(&c, &format!("{ep}/Patient?identifier={id}")).await;
        assert_eq!(s, 200);
        assert_eq!(b["total"], 0);
        assert!(b.get("entry").is_none());
    }
    sim.shutdown().await;
}

#[tokio::test]
async fn paging_with_total_and_next_links() {
    let sim = common::start(50).await;
    let c = client();
    let story1 = sim.population().iter().next().unwrap().clone();
    let gwh = story1.holding(Org::GWH).unwrap();
    let ep = sim.endpoint("gwh").unwrap();
    let expected: Vec<&str> = gwh
        .records_of("Observation")
        .map(|r| r.id.as_str())
        .collect();
    assert_eq!(expected.len(), 8);

    // Pages of 3: 3 + 3 + 2, each with the total; the last has no next.
    let first = format!("{ep}/Observation?patient={}&_count=3", gwh.patient_id);
    let (s, _, b) = get(&c, &first).await;
    assert_eq!(s, 200);
    assert_eq!(b["total"], 8);
    assert_eq!(resources(&b).len(), 3);
    let addr = sim.source_addr("gwh").unwrap();
    assert_eq!(
        link(&b, "self"),
        Some(
            format!(
                "http://{addr}/fhir/r4/Observation?patient={}&_count=3&_offset=0",
                gwh.patient_id
            )
            .as_str()
        )
    );
    assert_eq!(
        link(&b, "next"),
        Some(
            format!(
                "http://{addr}/fhir/r4/Observation?patient={}&_count=3&_offset=3",
                gwh.patient_id
            )
            .as_str()
        )
    );
    let paged = all(&c, &ep, "Observation", &gwh.patient_id, 3).await;
    let ids: Vec<&str> = paged.iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(ids, expected);
    let (_, _, last) = get(&c, &format!("{first}&_offset=6")).await;
    assert_eq!(resources(&last).len(), 2);
    assert!(link(&last, "next").is_none());
    let (_, _, past) = get(&c, &format!("{first}&_offset=100")).await;
    assert_eq!(past["total"], 8);
    assert!(past.get("entry").is_none());
    assert!(link(&past, "next").is_none());

    // Default 50, at most 500.
    let (_, _, d) = get(&c, &format!("{ep}/Observation?patient={}", gwh.patient_id)).await;
    assert!(link(&d, "self").unwrap().contains("&_count=50&"));
    assert_eq!(resources(&d).len(), 8);
    let (s, _, big) = get(
        &c,
        &format!("{ep}/Observation?patient={}&_count=100000", gwh.patient_id),
    )
    .await;
    assert_eq!(s, 200);
    assert!(link(&big, "self").unwrap().contains("&_count=500&"));
    for bad in ["0", "-1", "ten", "1.5"] {
        let (s, ct, oo) = get(
            &c,
            &format!("{ep}/Observation?patient={}&_count={bad}", gwh.patient_id),
        )
        .await;
        assert_eq!(s, 400, "_count={bad}");
        assert_eq!(ct, "application/fhir+json");
        assert_eq!(oo["resourceType"], "OperationOutcome");
        assert_eq!(oo["issue"][0]["code"], "invalid");
    }

    // Next links use the host the request came to.
    let r = c
        .get(&first)
        .header(reqwest::header::HOST, "sim.example:8443")
        .send()
        .await
        .unwrap();
    let b: Value = serde_json::from_str(&r.text().await.unwrap()).unwrap();
    assert!(
        link(&b, "next")
            .unwrap()
            .starts_with("http://sim.example:8443/fhir/r4/Observation?")
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn many_pages_of_a_busy_patient() {
    let sim = common::start(300).await;
    let c = client();
    // The patient with most records at one FHIR R4 organisation.
    let (org, pid, n) = sim
        .population()
        .iter()
        .flat_map(|p| p.holdings.iter())
        .filter(|h| h.org.kind() == icr_sim::Kind::FhirR4)
        .map(|h| {
            (
                h.org,
                h.patient_id.clone(),
                h.records_of("Observation").count(),
            )
        })
        .max_by_key(|x| x.2)
        .unwrap();
    assert!(n >= 10, "{n}");
    let ep = sim.endpoint(org.id()).unwrap();
    let got = all(&c, &ep, "Observation", &pid, 2).await;
    assert_eq!(got.len(), n);
    let ids: std::collections::HashSet<&str> =
        got.iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), n);
    sim.shutdown().await;
}

#[tokio::test]
async fn unknown_patient_gives_an_empty_bundle() {
    let sim = common::start(50).await;
    let c = client();
    let ep = sim.endpoint("sft").unwrap();
    // A patient id gwh uses, asked of sft; and one nobody uses.
    let gwh_id = &sim
        .population()
        .iter()
        .next()
        .unwrap()
        .holding(Org::GWH)
        .unwrap()
        .patient_id;
    for id in [gwh_id.as_str(), "p1", "Patient/nobody"] {
        let (s, _, b) = get(&c, &format!("{ep}/Condition?patient={id}")).await;
        assert_eq!(s, 200, "{id}");
        assert_eq!(b["resourceType"], "Bundle");
        assert_eq!(b["total"], 0);
        assert!(b.get("entry").is_none());
        assert!(link(&b, "next").is_none());
    }
    sim.shutdown().await;
}

#[tokio::test]
async fn not_found_and_bad_requests_are_operation_outcomes() {
    let sim = common::start(20).await;
    let c = client();
    let ep = sim.endpoint("awp").unwrap();
    let addr = sim.source_addr("awp").unwrap();
    for path in [
        format!("{ep}/Medication?patient=p1"),
        format!("{ep}/Patient/p730001"),
        format!("{ep}/"),
        format!("http://{addr}/"),
        format!("http://{addr}/fhir/r5/Condition?patient=p1"),
        format!("{ep}/Condition/123"),
    ] {
        let (s, ct, b) = get(&c, &path).await;
        assert_eq!(s, 404, "{path}");
        assert_eq!(ct, "application/fhir+json");
        assert_eq!(b["resourceType"], "OperationOutcome");
        assert_eq!(b["issue"][0]["severity"], "error");
        assert_eq!(b["issue"][0]["code"], "not-found");
    }
    for query in [
        "",
        "?_count=5",
        "?patient=",
        "?patient=p1&patient=p2",
        "?patient=has%20space",
        "?patient=p1&_offset=x",
        &format!("?patient={}", "a".repeat(65)),
    ] {
        let (s, ct, b) = get(&c, &format!("{ep}/Flag{query}")).await;
        assert_eq!(s, 400, "{query}");
        assert_eq!(ct, "application/fhir+json");
        assert_eq!(b["resourceType"], "OperationOutcome");
    }
    let (s, _, b) = get(&c, &format!("{ep}/Patient")).await;
    assert_eq!(s, 400);
    assert_eq!(b["issue"][0]["code"], "required");
    let r = c
        .post(format!("{ep}/Flag?patient=p1"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 405);
    sim.shutdown().await;
}

#[tokio::test]
async fn hostile_requests_do_not_break_the_server() {
    let sim = common::start(20).await;
    let c = client();
    let ep = sim.endpoint("gwh").unwrap();
    let addr = sim.source_addr("gwh").unwrap();
    // An enormous URI and header are refused, not read without bound.
    let long = format!("{ep}/Flag?patient=p1&x={}", "a".repeat(64 * 1024));
    if let Ok(r) = c.get(&long).send().await {
        assert!(r.status().is_client_error(), "{}", r.status());
    }
    // Garbage and a half-sent request.
    for raw in [
        &b"\x00\xff\x13garbage\r\n\r\n"[..],
        b"GET /fhir/r4/metadata HTTP/1.1\r\nHost: x",
    ] {
        let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
        s.write_all(raw).await.unwrap();
        let _ = s.shutdown().await;
        let mut buf = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut buf)).await;
    }
    // More parameters than allowed.
    let many: String = (0..40).map(|i| format!("&k{i}=v")).collect();
    let (s, _, _) = get(&c, &format!("{ep}/Flag?patient=p1{many}")).await;
    assert_eq!(s, 400);
    // Still serving.
    let (s, _, _) = get(&c, &format!("{ep}/metadata")).await;
    assert_eq!(s, 200);
    sim.shutdown().await;
}

#[tokio::test]
async fn a_stopped_source_refuses_connections_then_serves_again_on_the_same_port() {
    let sim = common::start(20).await;
    let addr = sim.source_addr("ruh").unwrap();
    let ep = sim.endpoint("ruh").unwrap();
    assert_eq!(ep, format!("http://{addr}/fhir/r4"));
    // A keep-alive client with an open connection.
    let c = client();
    assert_eq!(get(&c, &format!("{ep}/metadata")).await.0, 200);

    sim.set_fault(
        "ruh",
        Fault {
            down: true,
            ..Fault::default()
        },
    )
    .await
    .unwrap();
    let err = c.get(format!("{ep}/metadata")).send().await.unwrap_err();
    assert!(err.is_connect() || err.is_request(), "{err:?}");
    let refused = tokio::net::TcpStream::connect(addr).await.unwrap_err();
    assert_eq!(refused.kind(), std::io::ErrorKind::ConnectionRefused);
    // Other sources are unaffected.
    assert_eq!(
        get(&c, &format!("{}/metadata", sim.endpoint("gwh").unwrap()))
            .await
            .0,
        200
    );

    sim.set_fault("ruh", Fault::default()).await.unwrap();
    assert_eq!(sim.source_addr("ruh"), Some(addr));
    let (s, _, b) = get(&c, &format!("{ep}/metadata")).await;
    assert_eq!(s, 200);
    assert_eq!(b["resourceType"], "CapabilityStatement");

    // Stopping twice and starting twice are harmless.
    for down in [true, true, false, false] {
        sim.set_fault(
            "ruh",
            Fault {
                down,
                ..Fault::default()
            },
        )
        .await
        .unwrap();
    }
    assert_eq!(get(&c, &format!("{ep}/metadata")).await.0, 200);
    assert!(matches!(
        sim.set_fault("gp", Fault::default()).await,
        Err(icr_sim::SimError::UnknownSource(_))
    ));
    assert!(matches!(
        sim.set_fault(
            "ruh",
            Fault {
                error_rate: 2.0,
                ..Fault::default()
            }
        )
        .await,
        Err(icr_sim::SimError::InvalidFault(_))
    ));
    sim.shutdown().await;
}

#[tokio::test]
async fn latency_faults_delay_answers() {
    let sim = common::start(20).await;
    let c = client();
    let ep = sim.endpoint("sft").unwrap();
    let url = format!("{ep}/metadata");
    assert_eq!(get(&c, &url).await.0, 200);

    sim.set_fault(
        "sft",
        Fault {
            latency_ms: Some(Latency::Fixed(300)),
            ..Fault::default()
        },
    )
    .await
    .unwrap();
    let t = Instant::now();
    assert_eq!(get(&c, &url).await.0, 200);
    assert!(
        t.elapsed() >= Duration::from_millis(300),
        "{:?}",
        t.elapsed()
    );

    sim.set_fault(
        "sft",
        Fault {
            latency_ms: Some(Latency::Uniform { min: 100, max: 200 }),
            ..Fault::default()
        },
    )
    .await
    .unwrap();
    for _ in 0..3 {
        let t = Instant::now();
        assert_eq!(get(&c, &url).await.0, 200);
        let e = t.elapsed();
        assert!(e >= Duration::from_millis(100), "{e:?}");
        assert!(e < Duration::from_millis(2000), "{e:?}");
    }

    // Other sources keep their own faults.
    sim.set_fault(
        "sft",
        Fault {
            latency_ms: Some(Latency::Fixed(5000)),
            ..Fault::default()
        },
    )
    .await
    .unwrap();
    let t = Instant::now();
    assert_eq!(
        get(&c, &format!("{}/metadata", sim.endpoint("gwh").unwrap()))
            .await
            .0,
        200
    );
    assert!(t.elapsed() < Duration::from_millis(2500));
    assert_eq!(
        sim.fault("sft").unwrap().latency_ms,
        Some(Latency::Fixed(5000))
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn error_rate_faults_fail_a_share_of_requests() {
    let sim = common::start(20).await;
    let c = client();
    let ep = sim.endpoint("awp").unwrap();
    let url = format!("{ep}/metadata");

    sim.set_fault(
        "awp",
        Fault {
            error_rate: 1.0,
            ..Fault::default()
        },
    )
    .await
    .unwrap();
    for _ in 0..5 {
        let (s, ct, b) = get(&c, &url).await;
        assert_eq!(s, 500);
        assert_eq!(ct, "application/fhir+json");
        assert_eq!(b["resourceType"], "OperationOutcome");
        assert_eq!(b["issue"][0]["code"], "transient");
    }

    sim.set_fault(
        "awp",
        Fault {
            error_rate: 0.5,
            ..Fault::default()
        },
    )
    .await
    .unwrap();
    let mut failed = 0;
    for _ in 0..60 {
        if get(&c, &url).await.0 == 500 {
            failed += 1;
        }
    }
    assert!((10..=50).contains(&failed), "{failed} of 60 failed");

    sim.set_fault("awp", Fault::default()).await.unwrap();
    for _ in 0..10 {
        assert_eq!(get(&c, &url).await.0, 200);
    }
    sim.shutdown().await;
}

#[tokio::test]
async fn a_source_configured_down_starts_closed() {
    let mut config = icr_sim::SimConfig::all_sources(common::SEED, 20);
    config.sources[1].fault.down = true;
    let sim = icr_sim::Sim::start(config).await.unwrap();
    let addr = sim.source_addr("ruh").unwrap();
    assert_ne!(addr.port(), 0);
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
    sim.set_fault("ruh", Fault::default()).await.unwrap();
    assert_eq!(
        get(
            &client(),
            &format!("{}/metadata", sim.endpoint("ruh").unwrap())
        )
        .await
        .0,
        200
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn diagnostic_report_results_reference_served_observations() {
    let sim = common::start(20).await;
    let c = client();
    let story1 = sim.population().iter().next().unwrap().clone();
    let gwh = story1.holding(Org::GWH).unwrap();
    let ep = sim.endpoint("gwh").unwrap();
    let obs = all(&c, &ep, "Observation", &gwh.patient_id, 50).await;
    let reports = all(&c, &ep, "DiagnosticReport", &gwh.patient_id, 50).await;
    assert_eq!(reports.len(), 3);
    let obs_ids: Vec<String> = obs
        .iter()
        .map(|o| format!("Observation/{}", o["id"].as_str().unwrap()))
        .collect();
    let mut members = 0;
    for r in &reports {
        for res in r["result"].as_array().into_iter().flatten() {
            let reference = res["reference"].as_str().unwrap();
            assert!(obs_ids.iter().any(|o| o == reference), "{reference}");
            members += 1;
        }
        assert_eq!(
            r["subject"]["reference"],
            format!("Patient/{}", gwh.patient_id)
        );
        assert!(r["meta"]["lastUpdated"].is_string());
    }
    assert_eq!(members, 7);
    sim.shutdown().await;
}

#[tokio::test]
async fn each_listener_takes_and_declares_the_fhir_searches_its_configuration_gives_it() {
    let config = icr_sim::SimConfig::from_toml_str(
        r#"
[population]
seed = 20261101
size = 40

[[source]]
id = "gwh"
kind = "fhir-r4"
listen = "127.0.0.1:0"

[[source]]
id = "hcrg"
kind = "fhir-r4"
listen = "127.0.0.1:0"
fhir_search = []
"#,
        "test",
    )
    .unwrap();
    let sim = icr_sim::Sim::start(config).await.unwrap();
    let c = client();
    let batch = serde_json::json!({"resourceType": "Bundle", "type": "batch", "entry": [
        {"request": {"method": "GET", "url": format!("Patient?identifier={NHS_SYSTEM}%7C9990000018")}}
    ]})
    .to_string();
    for (id, interaction, posted) in [("gwh", "batch", 200), ("hcrg", "", 405)] {
        let ep = sim.endpoint(id).unwrap();
        let (_, _, statement) = get(&c, &format!("{ep}/metadata")).await;
        let declared: Vec<&str> = statement["rest"][0]["interaction"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|i| i["code"].as_str())
            .collect();
        assert_eq!(declared.join(","), interaction, "{id}");
        let r = c
            .post(&ep)
            .header("content-type", "application/fhir+json")
            .body(batch.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), posted, "{id}");
        let v: Value = serde_json::from_slice(&r.bytes().await.unwrap()).unwrap();
        let expected = if posted == 200 {
            "Bundle"
        } else {
            "OperationOutcome"
        };
        assert_eq!(v["resourceType"], expected, "{id}");
    }
    sim.shutdown().await;
}
