//! Parser throughput of the PDS adapter, in bytes of answer per second:
//! `read_patient`, what the adapter runs on every PDS Patient read answer
//! (parse the JSON, map the Patient into the icr-model demographics with the
//! FHIR R4 adapter's mapping, with provenance). Payloads:
//!
//! - `read_patient/sim-pds-patient`: the simulated PDS's answer (demo
//!   population, seed 20261101, 1,200 people) for the person whose answer
//!   is the largest;
//! - `read_patient/ukcore-richard-smith`: the UK Core Patient example
//!   `UKCore-Patient-RichardSmith-Example.json` of the shared corpus.
//!
//! Payload sizes are printed to stderr before the runs.
//!
//!     cargo bench -p icr-adapter-pds --bench parse
//!     cargo bench -p icr-adapter-pds --bench parse -- --warm-up-time 1 --measurement-time 2

/// The allocator the `icr` binary ships with, so that the figures are the
/// gateway's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use icr_adapter_pds::read_patient;
use icr_adapter_sdk::SourceSpec;
use icr_sim::{Population, pds};

/// The demo region's population (`config/demo/sim.toml`).
const SEED: u64 = 20261101;
const SIZE: usize = 1200;
/// An `X-Request-ID`, as the adapter sends.
const REQUEST_ID: &str = "60a3fd22-9f4b-4b6e-8f6b-3f0d5c2a11e7";

fn bench(c: &mut Criterion) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../config/demo/sources.d/pds.toml");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let spec: SourceSpec = toml::from_str(&text).expect("a valid registration");
    let meta = spec.meta();
    let mut base = spec.endpoint.clone();
    base.set_path(&format!("{}/", spec.endpoint.path().trim_end_matches('/')));

    let pop = Population::generate(SEED, SIZE);
    let sim = pop
        .iter()
        .map(|p| {
            let path = format!("{}/Patient/{}", pds::BASE_PATH, p.nhs_number.as_str());
            pds::respond(&pop, "GET", &path, Some(REQUEST_ID))
        })
        .filter(|a| a.status == 200)
        .map(|a| a.body)
        .max_by_key(Vec::len)
        .expect("the simulated PDS knows someone");
    let example = icr_testkit::corpus_files("fhir-r4-ukcore", "json")
        .into_iter()
        .find(|(name, _)| name == "UKCore-Patient-RichardSmith-Example.json")
        .map(|(_, body)| body)
        .expect("the UK Core Patient example is in the shared corpus");

    let mut group = c.benchmark_group("pds");
    for (id, body) in [
        ("sim-pds-patient", &sim),
        ("ukcore-richard-smith", &example),
    ] {
        // The answer must read, or the figure would be an error path's.
        let record = read_patient(body, &meta, &base).expect("the answer reads");
        let d = &record.demographics;
        eprintln!(
            "pds/read_patient/{id}: {} bytes ({} names, {} addresses, {} telecoms)",
            body.len(),
            d.names.len(),
            d.addresses.len(),
            d.telecom.len()
        );
        group.throughput(Throughput::Bytes(body.len() as u64));
        group.bench_function(format!("read_patient/{id}"), |b| {
            b.iter(|| black_box(read_patient(black_box(body), &meta, &base).ok()))
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
