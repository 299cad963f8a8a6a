//! Any request to the simulated PDS and FHIR R4 servers: the bytes are
//! split on newlines into method, path, query and `X-Request-ID`. The
//! pure request handlers must never panic, and always answer a status the
//! protocol uses with a JSON resource.
#![no_main]

use std::sync::OnceLock;

use icr_sim::{Org, Population};
use libfuzzer_sys::fuzz_target;

fn population() -> &'static Population {
    static POP: OnceLock<Population> = OnceLock::new();
    POP.get_or_init(|| Population::generate(1, 12))
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut parts = text.split('\n');
    let method = parts.next().unwrap_or("GET");
    let path = parts.next().unwrap_or("");
    let query = parts.next();
    let request_id = parts.next();
    let pop = population();

    let a = icr_sim::pds::respond(pop, method, path, request_id);
    assert!([200, 400, 404, 405].contains(&a.status), "pds {}", a.status);
    let v: serde_json::Value = serde_json::from_slice(&a.body).expect("PDS answers JSON");
    assert!(v["resourceType"].is_string());

    let a = icr_sim::fhir::respond(pop, Org::GWH, "http://h/fhir/r4", method, path, query);
    assert!([200, 400, 404, 405].contains(&a.status), "fhir {}", a.status);
    let v: serde_json::Value = serde_json::from_slice(&a.body).expect("FHIR answers JSON");
    assert!(v["resourceType"].is_string());
});
