//! The control API, over real sockets.

mod common;

use common::{client, get};
use icr_sim::{Fault, Latency, Org};
use serde_json::{Value, json};

async fn send(c: &reqwest::Client, req: reqwest::RequestBuilder) -> (u16, Value) {
    let _ = c;
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    assert_eq!(
        r.headers().get(reqwest::header::CONTENT_TYPE).unwrap(),
        "application/json"
    );
    (
        status,
        serde_json::from_str(&r.text().await.unwrap()).unwrap(),
    )
}

#[tokio::test]
async fn lists_stops_starts_and_sets_faults() {
    let sim = common::start(20).await;
    let c = client();
    let base = format!("http://{}", sim.control_addr().unwrap());

    let (s, list) = send(&c, c.get(format!("{base}/sources"))).await;
    assert_eq!(s, 200);
    let list = list.as_array().unwrap();
    let ids: Vec<&str> = list.iter().map(|x| x["id"].as_str().unwrap()).collect();
    // Every organisation whose kind has a simulator module: the FHIR R4
    // and PDS ones first, one listener each; other kinds as their modules
    // arrive.
    assert_eq!(ids, sim.listeners());
    assert_eq!(
        ids[..8],
        [
            "gwh",
            "ruh",
            "awp",
            "sft",
            "whc",
            "oxford-health",
            "hcrg",
            "pds"
        ]
    );
    for x in list {
        let id = x["id"].as_str().unwrap();
        assert_eq!(x["running"], true);
        assert_eq!(
            x["fault"],
            json!({"latency_ms": null, "error_rate": 0.0, "down": false, "chaos": null, "chaos_rate": 1.0})
        );
        let orgs = x["orgs"].as_array().unwrap();
        assert!(!orgs.is_empty());
        for o in orgs {
            let org = Org::from_id(o["id"].as_str().unwrap()).unwrap();
            assert_eq!(x["kind"], org.kind().as_str());
            assert_eq!(
                *o,
                json!({
                    "id": org.id(),
                    "organisation": org.name(),
                    "ods_code": org.ods_code(),
                    "endpoint": sim.endpoint(org.id()).unwrap(),
                })
            );
        }
        if let [one] = orgs.as_slice() {
            assert_eq!(x["endpoint"], one["endpoint"], "{id}");
            assert_eq!(x["organisation"], one["organisation"], "{id}");
            assert_eq!(x["ods_code"], one["ods_code"], "{id}");
        } else {
            assert!(x.get("endpoint").is_none(), "{id}");
        }
    }
    assert_eq!(list[4]["ods_code"], "Y9C01");
    assert_eq!(list[5]["ods_code"], "RNU");
    assert_eq!(list[6]["ods_code"], "NDA");
    assert_eq!(list[7]["kind"], "pds");
    assert_eq!(
        list[7]["endpoint"],
        format!(
            "http://{}/personal-demographics/FHIR/R4",
            sim.source_addr("pds").unwrap()
        )
    );
    assert_eq!(list[0]["ods_code"], "RN3");
    assert_eq!(
        list[0]["organisation"],
        "Great Western Hospitals NHS Foundation Trust"
    );

    // Stop: connection refused; the fault says down.
    let (s, v) = send(&c, c.post(format!("{base}/sources/gwh/stop"))).await;
    assert_eq!(s, 200);
    assert_eq!(v["running"], false);
    assert_eq!(v["fault"]["down"], true);
    let addr = sim.source_addr("gwh").unwrap();
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
    assert!(sim.fault("gwh").unwrap().down);

    // Start: the same port serves again.
    let (s, v) = send(&c, c.post(format!("{base}/sources/gwh/start"))).await;
    assert_eq!(s, 200);
    assert_eq!(v["running"], true);
    assert_eq!(v["listen"], addr.to_string());
    assert_eq!(
        get(&c, &format!("{}/metadata", sim.endpoint("gwh").unwrap()))
            .await
            .0,
        200
    );

    // Set a fault; stop keeps latency and error rate.
    let (s, v) = send(
        &c,
        c.put(format!("{base}/sources/sft/fault"))
            .body(r#"{"latency_ms": {"min": 5, "max": 10}, "error_rate": 0.25}"#),
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(
        v["fault"],
        json!({"latency_ms": {"min": 5, "max": 10}, "error_rate": 0.25, "down": false, "chaos": null, "chaos_rate": 1.0})
    );
    assert_eq!(
        sim.fault("sft").unwrap(),
        Fault {
            latency_ms: Some(Latency::Uniform { min: 5, max: 10 }),
            error_rate: 0.25,
            down: false,
            ..Fault::default()
        }
    );
    let (_, v) = send(&c, c.post(format!("{base}/sources/sft/stop"))).await;
    assert_eq!(
        v["fault"],
        json!({"latency_ms": {"min": 5, "max": 10}, "error_rate": 0.25, "down": true, "chaos": null, "chaos_rate": 1.0})
    );
    let (_, v) = send(
        &c,
        c.put(format!("{base}/sources/sft/fault"))
            .body(r#"{"down": false}"#),
    )
    .await;
    assert_eq!(v["running"], true);
    assert_eq!(
        v["fault"],
        json!({"latency_ms": null, "error_rate": 0.0, "down": false, "chaos": null, "chaos_rate": 1.0})
    );

    let (s, v) = send(&c, c.get(format!("{base}/sources/awp"))).await;
    assert_eq!(s, 200);
    assert_eq!(v["id"], "awp");
    sim.shutdown().await;
}

#[tokio::test]
async fn refuses_bad_requests() {
    let sim = common::start(20).await;
    let c = client();
    let base = format!("http://{}", sim.control_addr().unwrap());
    let cases = [
        (c.get(format!("{base}/nothing")), 404),
        (c.post(format!("{base}/sources/gp/stop")), 404),
        (c.put(format!("{base}/sources/gp/fault")).body("{}"), 404),
        (c.get(format!("{base}/sources/gp")), 404),
        (c.delete(format!("{base}/sources")), 405),
        (c.get(format!("{base}/sources/gwh/stop")), 405),
        (c.post(format!("{base}/sources/gwh/fault")), 405),
        (
            c.put(format!("{base}/sources/gwh/fault")).body("not json"),
            400,
        ),
        (
            c.put(format!("{base}/sources/gwh/fault"))
                .body(r#"{"error_rate": 3}"#),
            400,
        ),
        (
            c.put(format!("{base}/sources/gwh/fault"))
                .body(r#"{"latency_ms": {"min": 9, "max": 1}}"#),
            400,
        ),
        (
            c.put(format!("{base}/sources/gwh/fault"))
                .body(r#"{"slow": true}"#),
            400,
        ),
        (
            c.put(format!("{base}/sources/gwh/fault"))
                .body(vec![b' '; 64 * 1024]),
            413,
        ),
    ];
    for (req, expected) in cases {
        let (s, v) = send(&c, req).await;
        assert_eq!(s, expected, "{v}");
        assert!(v["error"].is_string());
    }
    // Nothing changed.
    assert_eq!(sim.fault("gwh").unwrap(), Fault::default());
    sim.shutdown().await;
}
