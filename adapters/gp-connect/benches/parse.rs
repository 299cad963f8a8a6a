//! Parser throughput of the GP Connect adapter, in bytes of practice answer
//! per second: `record::read_record`, what the adapter runs on every
//! `$gpc.getstructuredrecord` answer (parse the STU3 Bundle, index it, check
//! the Patient, read each wanted area's primary Lists and map their entries
//! into the icr-model types, with provenance and issues). Payloads:
//!
//! - `read_record/sim-structured-record`: the simulated practice's answer
//!   (demo population, seed 20261101, 1,200 people) for the registered person
//!   whose practice holds the most records, to the request the adapter
//!   writes for every section, with prescription issues, resolved allergies
//!   and up to 1,000 consultations;
//! - `read_record/corpus-consultations`: the GP Connect 1.6 example
//!   `consultations_response1.json` from the shared corpus (the largest);
//! - `read_record/corpus-all-bundles`: every structured record Bundle of the
//!   shared corpus but `split_plan.json` (no Patient, so refused whole), one
//!   after the other (the invalid NHS numbers 9432003812 and 9999999999
//!   of the examples replaced by 9990000026, as `tests/corpus.rs` does).
//!
//! Every payload is read for every section the adapter provides. Payload
//! sizes are printed to stderr before the runs.
//!
//!     cargo bench -p icr-adapter-gp-connect --bench parse
//!     cargo bench -p icr-adapter-gp-connect --bench parse -- --warm-up-time 1 --measurement-time 2

/// The allocator the `icr` binary ships with, so that the figures are the
/// gateway's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::hint::black_box;
use std::sync::Arc;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use icr_adapter_gp_connect::record::{RecordContext, read_record, supported_sections};
use icr_adapter_gp_connect::{GpConnectOptions, GpConnectSource};
use icr_adapter_sdk::SourceSpec;
use icr_model::{NhsNumber, OdsCode, SourceId, SourceMeta};
use icr_sim::Population;
use icr_sim::gpconnect::{self, dissents, provider_asid};

/// The demo region's population (`config/demo/sim.toml`).
const SEED: u64 = 20261101;
const SIZE: usize = 1200;

/// One answer, and the NHS number it must be about.
struct Answer {
    body: Vec<u8>,
    nhs_number: NhsNumber,
}

/// The adapter for a practice, as registered with every section and the
/// whole record asked for.
fn source(ods: &str, asid: &str) -> GpConnectSource {
    let spec: SourceSpec = toml::from_str(&format!(
        r#"id = "gp-bench"
organisation = "Bench practice"
ods_code = "{ods}"
kind = "gp-connect"
endpoint = "http://127.0.0.1:9201/{ods}/STU3/1/gpconnect/structured/fhir"
sections = ["demographics", "allergies", "medications", "conditions", "results",
            "procedures", "referrals", "appointments"]
routing = "registered-practice"
[options]
consumer_asid = "200000000115"
provider_asid = "{asid}"
issuer = "http://127.0.0.1:8080/"
include_resolved_allergies = true
include_prescription_issues = true
most_recent_consultations = 1000
"#
    ))
    .expect("a valid registration");
    let options: GpConnectOptions = spec.options().expect("valid options");
    GpConnectSource::new(&spec, options).expect("the adapter builds")
}

/// The simulated practice's answer for its registered person with the most
/// records.
fn sim_answer() -> (Answer, String) {
    let pop = Population::generate(SEED, SIZE);
    let (person, org, holding) = pop
        .iter()
        .filter(|p| !p.is_sensitive() && !dissents(p))
        .filter_map(|p| {
            let org = p.registered_practice()?;
            Some((p, org, p.holding(org)?))
        })
        .max_by_key(|(_, _, h)| h.records.len())
        .expect("the simulated population has registered people");
    let request = source(org.ods_code(), &provider_asid(org))
        .request_for(person.nhs_number, supported_sections());
    let body = serde_json::to_vec(&icr_fhir_stu3::Resource::Parameters(
        request.to_parameters(),
    ))
    .expect("the request is written");
    let answer = gpconnect::answer(&pop, org, &body, dissents);
    assert_eq!(answer.status, 200, "the simulated practice refused");
    let what = format!("{} records at {}", holding.records.len(), org.id());
    (
        Answer {
            body: answer.body,
            nhs_number: person.nhs_number,
        },
        what,
    )
}

/// The one corpus Bundle that is not a whole structured record (it has no
/// Patient): the adapter refuses it at once.
const NOT_A_RECORD: &str = "split_plan.json";

/// The structured record Bundles of the shared corpus, by file name.
fn corpus_bundles() -> Vec<(String, Answer)> {
    let nhs_number = NhsNumber::parse("9990000026").expect("a valid NHS number");
    icr_testkit::corpus_files("gpconnect-stu3", "json")
        .into_iter()
        .filter(|(name, _)| name != NOT_A_RECORD)
        .filter_map(|(name, bytes)| {
            let text = String::from_utf8(bytes).expect("corpus files are UTF-8");
            let raw: &serde_json::value::RawValue = serde_json::from_str(&text).ok()?;
            if icr_fhir_stu3::peek_resource_type(raw).as_deref() != Some("Bundle") {
                return None;
            }
            let body = text
                .replace("9432003812", "9990000026")
                .replace("9999999999", "9990000026")
                .into_bytes();
            Some((name, Answer { body, nhs_number }))
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let meta = Arc::new(SourceMeta {
        id: SourceId::parse("gp-bench").expect("a valid source id"),
        organisation: "Bench practice".into(),
        ods_code: OdsCode::parse("Y90001").expect("a valid ODS code"),
        system: "GP system (GP Connect)".into(),
    });
    let read = |a: &Answer| {
        let ctx = RecordContext {
            meta: &meta,
            nhs_number: a.nhs_number,
            wanted: supported_sections(),
            include_resolved_allergies: true,
            include_prescription_issues: true,
            max_entries: 10_000,
        };
        read_record(&a.body, &ctx)
    };

    let (sim, sim_what) = sim_answer();
    let corpus = corpus_bundles();
    let (largest_name, largest) = corpus
        .iter()
        .max_by_key(|(_, a)| a.body.len())
        .expect("the corpus has Bundles");

    let payloads: [(&str, Vec<&Answer>, String); 3] = [
        ("sim-structured-record", vec![&sim], sim_what),
        ("corpus-consultations", vec![largest], largest_name.clone()),
        (
            "corpus-all-bundles",
            corpus.iter().map(|(_, a)| a).collect(),
            format!("{} GP Connect 1.6 example Bundles", corpus.len()),
        ),
    ];

    let mut group = c.benchmark_group("gp-connect");
    for (id, answers, what) in &payloads {
        let bytes: usize = answers.iter().map(|a| a.body.len()).sum();
        // Every answer must read, or the figure would be an error path's.
        let mut items = 0;
        for a in answers {
            items += read(a).expect("the payload reads as a record").items.len();
        }
        eprintln!(
            "gp-connect/read_record/{id}: {bytes} bytes in {} answer(s), {items} items ({what})",
            answers.len()
        );
        group.throughput(Throughput::Bytes(bytes as u64));
        group.bench_function(format!("read_record/{id}"), |b| {
            b.iter(|| {
                for a in answers {
                    black_box(read(black_box(a)).ok());
                }
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
