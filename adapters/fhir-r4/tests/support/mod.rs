//! A scripted FHIR R4 server on a loopback port for the adapter's tests:
//! each test gives a function from a request (resource type and query) to
//! an answer, and reads back the requests the server saw.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use icr_adapter_fhir_r4::KIND;
use icr_adapter_sdk::{FetchRequest, Registry, SourceAdapter, SourceSpec};
use icr_model::{NhsNumber, Section};
use icr_testkit::serve::{self, Canned, Scripted};
use serde_json::{Value, json};
use tokio::time::Instant;

/// One request as the server saw it.
#[derive(Clone, Debug)]
pub struct Asked {
    /// The path after `/fhir/`: a resource type, or `metadata`.
    pub what: String,
    /// The request itself.
    pub request: serve::Asked,
}

impl Asked {
    /// The first value of query parameter `k`.
    pub fn q(&self, k: &str) -> Option<&str> {
        self.request.q(k)
    }
}

impl From<&serve::Asked> for Asked {
    fn from(a: &serve::Asked) -> Self {
        Asked {
            what: a.path.strip_prefix("/fhir/").unwrap_or("").to_string(),
            request: a.clone(),
        }
    }
}

/// An answer.
pub type Reply = Canned;

/// A 200 with a JSON body.
pub fn ok(v: Value) -> Reply {
    Canned::fhir(200, &v)
}

/// An answer with `status` and a JSON body.
pub fn status(code: u16, v: Value) -> Reply {
    Canned::fhir(code, &v)
}

/// A searchset Bundle of `entries`, with a `next` link when given.
pub fn bundle(entries: Vec<Value>, next: Option<String>) -> Value {
    let mut b = json!({"resourceType": "Bundle", "type": "searchset", "entry": entries});
    if let Some(n) = next {
        b["link"] = json!([{"relation": "self", "url": "x"}, {"relation": "next", "url": n}]);
    }
    b
}

/// An entry of search mode `match`.
pub fn matched(resource: Value) -> Value {
    json!({"resource": resource, "search": {"mode": "match"}})
}

/// An OperationOutcome with one issue.
pub fn outcome(severity: &str, code: &str, diagnostics: &str) -> Value {
    json!({"resourceType": "OperationOutcome", "issue": [
        {"severity": severity, "code": code, "diagnostics": diagnostics}
    ]})
}

/// An OperationOutcome as a Bundle entry of search mode `outcome`.
pub fn outcome_entry(severity: &str, code: &str, diagnostics: &str) -> Value {
    json!({"resource": outcome(severity, code, diagnostics), "search": {"mode": "outcome"}})
}

/// A Patient with logical id `id` and NHS number `nhs`.
pub fn patient(id: &str, nhs: NhsNumber) -> Value {
    json!({
        "resourceType": "Patient", "id": id,
        "identifier": [{"system": "https://fhir.nhs.uk/Id/nhs-number", "value": nhs.as_str()}],
        "name": [{"family": "Testperson", "given": ["Alex"]}],
        "birthDate": "1980-02-03"
    })
}

/// The NHS number every scripted server knows.
pub fn nhs() -> NhsNumber {
    NhsNumber::parse("9990000018").unwrap()
}

/// A running scripted server.
pub struct Server {
    pub addr: SocketAddr,
    scripted: Scripted,
}

impl Server {
    /// The requests seen so far.
    pub fn asked(&self) -> Vec<Asked> {
        self.scripted.asked().iter().map(Asked::from).collect()
    }

    /// The requests for `what` (a resource type or `metadata`).
    pub fn asked_for(&self, what: &str) -> Vec<Asked> {
        self.asked()
            .into_iter()
            .filter(|a| a.what == what)
            .collect()
    }
}

/// Serves `route` on a loopback port under `/fhir/`; its second argument
/// is the server's base, `http://127.0.0.1:PORT/fhir`.
pub async fn serve(route: impl Fn(&Asked, &str) -> Reply + Send + Sync + 'static) -> Server {
    let scripted =
        serve::http(move |a| route(&Asked::from(a), &format!("{}/fhir", a.origin))).await;
    Server {
        addr: scripted.addr,
        scripted,
    }
}

/// A registration of the server at `addr` offering `sections`, with the
/// `[options]` lines `options` and the top-level lines `extra`.
pub fn spec(addr: SocketAddr, sections: &[Section], options: &str, extra: &str) -> SourceSpec {
    let list: Vec<String> = sections
        .iter()
        .map(|s| format!("{:?}", s.as_str()))
        .collect();
    toml::from_str(&format!(
        r#"id = "trust-a"
organisation = "Test Trust"
ods_code = "RXX"
kind = "fhir-r4"
endpoint = "http://{addr}/fhir"
sections = [{}]
timeout_ms = 3000
{extra}
[options]
{options}
"#,
        list.join(", ")
    ))
    .unwrap()
}

/// The adapter for `spec`, built through the registry as the gateway does.
pub fn adapter(spec: &SourceSpec) -> Arc<dyn SourceAdapter> {
    let mut registry = Registry::new();
    registry.register(&KIND);
    registry.build(spec).unwrap()
}

/// A request for `sections` of [`nhs`], due in three seconds.
pub fn request(sections: &[Section]) -> FetchRequest {
    FetchRequest::system(
        nhs(),
        sections.iter().copied().collect(),
        Instant::now() + Duration::from_secs(3),
    )
}
