//! The protocol scaffold over real sockets: the PDS module, a group of
//! organisations sharing one listener, faults per listener, and a raw TCP
//! module.

mod common;

use std::sync::Arc;
use std::time::Duration;

use icr_sim::protocol::{Answer, BoxFuture, HttpModule, HttpRequest, Module, SourceCtx, TcpModule};
use icr_sim::{Fault, Kind, Org, Sim, SimConfig, SimSourceConfig};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

const REQUEST_ID: &str = "5b7b2f3e-2c0a-4d4e-9f1e-0c9a3c6d8e21";

async fn pds_get(c: &reqwest::Client, url: &str, request_id: Option<&str>) -> reqwest::Response {
    let mut r = c.get(url);
    if let Some(id) = request_id {
        r = r.header("X-Request-ID", id);
    }
    r.send().await.expect("PDS answers")
}

async fn json(r: reqwest::Response) -> Value {
    serde_json::from_slice(&r.bytes().await.expect("a body")).expect("a JSON body")
}

fn spine_code(v: &Value) -> &str {
    v["issue"][0]["details"]["coding"][0]["code"]
        .as_str()
        .unwrap_or("")
}

#[tokio::test]
async fn pds_serves_the_reference_demographics() {
    let sim = Sim::start(SimConfig::only(common::SEED, 400, &[Org::PDS]))
        .await
        .unwrap();
    let c = common::client();
    let base = sim.endpoint("pds").unwrap();
    assert_eq!(
        base,
        format!(
            "http://{}/personal-demographics/FHIR/R4",
            sim.source_addr("pds").unwrap()
        )
    );

    // Found: Margaret Ellery, registered at Tannery Row Surgery (Y90007).
    let r = pds_get(&c, &format!("{base}/Patient/9990000018"), Some(REQUEST_ID)).await;
    assert_eq!(r.status(), 200);
    let h = r.headers().clone();
    assert_eq!(h["content-type"], "application/fhir+json");
    assert_eq!(h["cache-control"], "no-store");
    assert_eq!(h["etag"], "W/\"3\"");
    assert_eq!(h["x-request-id"], REQUEST_ID);
    let p: Value = json(r).await;
    icr_testkit::assert_fhir_r4(&p);
    assert_eq!(p["resourceType"], "Patient");
    assert_eq!(p["id"], "9990000018");
    assert_eq!(
        p["identifier"][0]["system"],
        "https://fhir.nhs.uk/Id/nhs-number"
    );
    assert_eq!(p["identifier"][0]["value"], "9990000018");
    assert_eq!(
        p["identifier"][0]["extension"][0]["valueCodeableConcept"]["coding"][0]["code"],
        "01"
    );
    assert_eq!(p["name"][0]["family"], "Ellery");
    assert_eq!(p["name"][0]["given"], json!(["Margaret", "Rose"]));
    assert_eq!(p["name"][0]["prefix"], json!(["Mrs"]));
    assert_eq!(p["gender"], "female");
    assert_eq!(p["birthDate"], "1941-03-14");
    assert_eq!(p["address"][0]["postalCode"], "SN8 1QT");
    assert_eq!(p["address"][0]["line"], json!(["14 Tannery Row"]));
    assert_eq!(p["telecom"][0]["value"], "01632 960118");
    assert_eq!(
        p["generalPractitioner"],
        json!([{
            "type": "Organization",
            "identifier": {"system": "https://fhir.nhs.uk/Id/ods-organization-code", "value": "Y90007"}
        }])
    );
    assert_eq!(
        p["meta"],
        json!({
            "versionId": "3",
            "security": [{
                "system": "http://terminology.hl7.org/CodeSystem/v3-Confidentiality",
                "code": "U",
                "display": "unrestricted"
            }]
        })
    );

    // A sensitive (restricted) record: labelled R, no address or telecom,
    // the practice kept.
    let sensitive = sim
        .population()
        .iter()
        .find(|p| p.is_sensitive())
        .expect("about 1% of people are restricted")
        .clone();
    let nhs = sensitive.nhs_number.to_string();
    let practice = sensitive.registered_practice().unwrap();
    let r = pds_get(&c, &format!("{base}/Patient/{nhs}"), Some(REQUEST_ID)).await;
    assert_eq!(r.status(), 200);
    let p: Value = json(r).await;
    icr_testkit::assert_fhir_r4(&p);
    assert_eq!(p["meta"]["security"][0]["code"], "R");
    assert_eq!(p["meta"]["security"][0]["display"], "restricted");
    assert!(p.get("address").is_none(), "{p}");
    assert!(p.get("telecom").is_none(), "{p}");
    assert_eq!(
        p["generalPractitioner"][0]["identifier"]["value"],
        practice.ods_code()
    );
    assert!(p["name"][0]["family"].is_string());

    // Unknown, invalid, and without the request id PDS requires.
    let r = pds_get(&c, &format!("{base}/Patient/9990000999"), Some(REQUEST_ID)).await;
    assert_eq!(r.status(), 404);
    let v: Value = json(r).await;
    assert_eq!(v["resourceType"], "OperationOutcome");
    assert_eq!(spine_code(&v), "RESOURCE_NOT_FOUND");
    let r = pds_get(&c, &format!("{base}/Patient/9990000019"), Some(REQUEST_ID)).await;
    assert_eq!(r.status(), 400);
    let v: Value = json(r).await;
    assert_eq!(spine_code(&v), "INVALID_RESOURCE_ID");
    assert!(!v.to_string().contains("9990000019"));
    let r = pds_get(&c, &format!("{base}/Patient/9990000018"), None).await;
    assert_eq!(r.status(), 400);
    let v: Value = json(r).await;
    assert_eq!(spine_code(&v), "MISSING_VALUE");
    let r = c
        .post(format!("{base}/Patient/9990000018"))
        .header("X-Request-ID", REQUEST_ID)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 405);

    // Faults: a failed request is a 500 OperationOutcome.
    sim.set_fault(
        "pds",
        Fault {
            error_rate: 1.0,
            ..Fault::default()
        },
    )
    .await
    .unwrap();
    let r = pds_get(&c, &format!("{base}/Patient/9990000018"), Some(REQUEST_ID)).await;
    assert_eq!(r.status(), 500);
    let v: Value = json(r).await;
    assert_eq!(v["resourceType"], "OperationOutcome");
    sim.shutdown().await;
}

/// A module for tests: every organisation at `/{ods}/test`, answering
/// which one was asked.
struct ByPath;

impl HttpModule for ByPath {
    fn base_path(&self, org: Org) -> String {
        format!("/{}/test", org.ods_code())
    }

    fn respond(&self, ctx: &SourceCtx, req: &HttpRequest<'_>) -> Answer {
        let ods = req
            .path
            .trim_start_matches('/')
            .split('/')
            .next()
            .unwrap_or("");
        match ctx.org_by_ods(ods) {
            Some(org) if req.path == self.base_path(org) => Answer::new(
                200,
                "application/json",
                json!({"org": org.id(), "origin": req.origin, "body": req.body.len()})
                    .to_string()
                    .into_bytes(),
            )
            .with_header("X-Test", "yes"),
            _ => self.error(404, "no such organisation here"),
        }
    }

    fn error(&self, status: u16, message: &str) -> Answer {
        Answer::new(status, "text/plain", message.as_bytes().to_vec())
    }
}

/// A raw TCP module for tests: echoes each line, upper-cased; `fail`
/// answers `ERR`.
struct Echo;

impl TcpModule for Echo {
    fn scheme(&self) -> &'static str {
        "echo"
    }

    fn serve(&self, stream: tokio::net::TcpStream, ctx: Arc<SourceCtx>) -> BoxFuture {
        Box::pin(async move {
            let (read, mut write) = stream.into_split();
            let mut lines = BufReader::new(read).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                let draw = ctx.draw_fault();
                tokio::time::sleep(draw.delay).await;
                let reply = if draw.fail {
                    "ERR".to_string()
                } else {
                    format!("{} {}", ctx.orgs()[0].id(), line.to_uppercase())
                };
                if write
                    .write_all(format!("{reply}\n").as_bytes())
                    .await
                    .is_err()
                {
                    break;
                }
            }
        })
    }
}

fn test_modules(kind: Kind) -> Option<Module> {
    match kind {
        Kind::GpConnect => Some(Module::Http(&ByPath)),
        Kind::Hl7v2 => Some(Module::Tcp(&Echo)),
        other => icr_sim::protocol::module(other),
    }
}

fn group_config() -> SimConfig {
    let any = "127.0.0.1:0".parse().unwrap();
    let practices: Vec<Org> = Org::practices().take(3).collect();
    let mut c = SimConfig::only(common::SEED, 20, &[Org::PDS, Org::PATHOLOGY]);
    c.sources.push(SimSourceConfig {
        id: "gp".into(),
        kind: Kind::GpConnect,
        orgs: practices,
        listen: any,
        fault: Fault::default(),
        fhir_search: Default::default(),
    });
    c
}

#[tokio::test]
async fn a_group_shares_one_listener_and_its_faults() {
    let sim = Sim::start_with(group_config(), test_modules).await.unwrap();
    let c = common::client();
    assert_eq!(sim.listeners(), ["pds", "pathology", "gp"]);
    assert_eq!(
        sim.sources(),
        ["pds", "pathology", "gp-y90001", "gp-y90002", "gp-y90003"]
    );
    let addr = sim.source_addr("gp").unwrap();
    assert_eq!(sim.source_addr("gp-y90002"), Some(addr));
    assert_eq!(sim.kind("gp-y90003"), Some(Kind::GpConnect));
    assert_eq!(sim.endpoint("gp"), None, "a group has no one endpoint");
    for (id, ods) in [
        ("gp-y90001", "Y90001"),
        ("gp-y90002", "Y90002"),
        ("gp-y90003", "Y90003"),
    ] {
        let endpoint = sim.endpoint(id).unwrap();
        assert_eq!(endpoint, format!("http://{addr}/{ods}/test"));
        let r = c.post(&endpoint).body("abc").send().await.unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["x-test"], "yes");
        assert_eq!(r.headers()["cache-control"], "no-store");
        let v: Value = json(r).await;
        assert_eq!(
            v,
            json!({"org": id, "origin": format!("http://{addr}"), "body": 3})
        );
    }
    // A practice not on this listener.
    let r = c
        .get(format!("http://{addr}/Y90004/test"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);

    // The control API shows the group with each organisation's endpoint.
    let control = format!("http://{}", sim.control_addr().unwrap());
    let v = c.get(format!("{control}/sources/gp")).send().await.unwrap();
    let v = json(v).await;
    assert_eq!(v["id"], "gp");
    assert_eq!(v["kind"], "gp-connect");
    assert!(v.get("endpoint").is_none());
    assert_eq!(v["orgs"].as_array().unwrap().len(), 3);
    assert_eq!(v["orgs"][1]["id"], "gp-y90002");
    assert_eq!(v["orgs"][1]["ods_code"], "Y90002");
    assert_eq!(v["orgs"][1]["endpoint"], sim.endpoint("gp-y90002").unwrap());

    // Faults belong to the listener: failing one practice fails all three,
    // and nothing else.
    sim.set_fault(
        "gp-y90002",
        Fault {
            error_rate: 1.0,
            ..Fault::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(sim.fault("gp").unwrap().error_rate, 1.0);
    for ods in ["Y90001", "Y90003"] {
        let r = c
            .get(format!("http://{addr}/{ods}/test"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 500);
        assert_eq!(
            r.text().await.unwrap(),
            "simulated failure (error_rate fault); try again"
        );
    }
    assert_eq!(sim.fault("pds").unwrap(), Fault::default());
    // Stopping by the group's name closes the port for every practice.
    let r = c
        .post(format!("{control}/sources/gp/stop"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
    let r = c
        .post(format!("{control}/sources/gp-y90001/start"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = c
        .get(format!("http://{addr}/Y90001/test"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 500, "error rate kept across stop and start");
    sim.shutdown().await;
}

#[tokio::test]
async fn a_tcp_module_gets_each_connection_and_the_faults() {
    let sim = Sim::start_with(group_config(), test_modules).await.unwrap();
    assert_eq!(sim.kind("pathology"), Some(Kind::Hl7v2));
    let addr = sim.source_addr("pathology").unwrap();
    assert_eq!(sim.endpoint("pathology").unwrap(), format!("echo://{addr}"));
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read).lines();
    write.write_all(b"hello\n").await.unwrap();
    assert_eq!(lines.next_line().await.unwrap().unwrap(), "pathology HELLO");

    sim.set_fault(
        "pathology",
        Fault {
            error_rate: 1.0,
            ..Fault::default()
        },
    )
    .await
    .unwrap();
    write.write_all(b"again\n").await.unwrap();
    assert_eq!(lines.next_line().await.unwrap().unwrap(), "ERR");

    // Down: the open connection is closed and new ones are refused.
    sim.set_fault(
        "pathology",
        Fault {
            down: true,
            ..Fault::default()
        },
    )
    .await
    .unwrap();
    let end = tokio::time::timeout(Duration::from_secs(5), lines.next_line())
        .await
        .expect("the connection is closed promptly");
    assert!(matches!(end, Ok(None) | Err(_)), "{end:?}");
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
    sim.shutdown().await;
}

#[tokio::test]
async fn start_refuses_what_it_cannot_serve() {
    // A kind with no module.
    let any = "127.0.0.1:0".parse().unwrap();
    let mut c = SimConfig::only(common::SEED, 5, &[Org::PDS]);
    c.sources.push(SimSourceConfig::single(Org::MEDVIVO, any));
    if icr_sim::protocol::module(Kind::Cda).is_none() {
        let e = Sim::start(c).await.err().expect("refused");
        assert!(e.to_string().contains("medvivo has kind cda"), "{e}");
    }
    // FHIR R4 cannot tell two organisations apart on one listener.
    let mut c = SimConfig::only(common::SEED, 5, &[]);
    c.sources.push(SimSourceConfig {
        id: "trusts".into(),
        kind: Kind::FhirR4,
        orgs: vec![Org::GWH, Org::RUH],
        listen: any,
        fault: Fault::default(),
        fhir_search: Default::default(),
    });
    let e = Sim::start(c).await.err().expect("refused");
    assert!(e.to_string().contains("cannot tell apart"), "{e}");
    // An organisation of another kind.
    let mut c = SimConfig::only(common::SEED, 5, &[]);
    c.sources.push(SimSourceConfig {
        id: "x".into(),
        kind: Kind::Pds,
        orgs: vec![Org::GWH],
        listen: any,
        fault: Fault::default(),
        fhir_search: Default::default(),
    });
    let e = Sim::start(c).await.err().expect("refused");
    assert!(e.to_string().contains("gwh speaks fhir-r4"), "{e}");
}
