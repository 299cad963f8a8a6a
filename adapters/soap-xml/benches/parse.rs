//! Parser throughput of the SOAP/XML adapter, in bytes of answer per
//! second: `answer::read_answer`, what the adapter runs on every
//! `GetPersonSummary` answer (parse the XML into a bounded,
//! namespace-resolved tree, read the SOAP envelope, map the person summary
//! into the icr-model types, check the person and the correlation id).
//! Payloads:
//!
//! - `read_answer/sim-person-summary`: the simulated council's answer (demo
//!   population, seed 20261101, 1,200 people; the council's demo
//!   registration) to the request the adapter writes, for the person a
//!   council holds the most records about, every list asked for;
//! - `read_answer/contract-example`: the example answer of the service
//!   contract, `schema/GetPersonSummary-response.xml`.
//!
//! Payload sizes are printed to stderr before the runs.
//!
//!     cargo bench -p icr-adapter-soap-xml --bench parse
//!     cargo bench -p icr-adapter-soap-xml --bench parse -- --warm-up-time 1 --measurement-time 2

/// The allocator the `icr` binary ships with, so that the figures are the
/// gateway's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::hint::black_box;
use std::sync::Arc;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use icr_adapter_sdk::{RequestContext, SourceSpec};
use icr_adapter_soap_xml::answer::{Expected, ReadLimits, read_answer};
use icr_adapter_soap_xml::map::provided_sections;
use icr_adapter_soap_xml::request::{PersonSummaryRequest, write_request};
use icr_adapter_soap_xml::{CONTENT_TYPE, SoapXmlOptions};
use icr_model::{NhsNumber, OdsCode, SourceMeta};
use icr_sim::org::Kind;
use icr_sim::protocol::{HttpModule, HttpRequest, SourceCtx};
use icr_sim::{Population, soap};

/// The demo region's population (`config/demo/sim.toml`).
const SEED: u64 = 20261101;
const SIZE: usize = 1200;
/// The example answer's person and correlation id.
const EXAMPLE_NHS: &str = "9990000018";
const EXAMPLE_CORRELATION: &str = "5f0c8a52-4d1e-4b7a-9a53-2f9a8c1d7e01";

/// One answer and what it must match.
struct Answer {
    body: Vec<u8>,
    nhs_number: NhsNumber,
    correlation_id: String,
    meta: Arc<SourceMeta>,
    limits: ReadLimits,
}

impl Answer {
    fn read(&self) -> Result<icr_model::SourceRecord, icr_adapter_sdk::SourceError> {
        let expected = Expected {
            nhs_number: self.nhs_number,
            correlation_id: &self.correlation_id,
            sections: provided_sections(),
        };
        read_answer(200, &self.body, &expected, &self.limits, &self.meta)
    }
}

/// A demo registration (`config/demo/sources.d/{id}.toml`).
fn registration(id: &str) -> (SourceSpec, SoapXmlOptions) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../config/demo/sources.d")
        .join(format!("{id}.toml"));
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let spec: SourceSpec = toml::from_str(&text).expect("a valid registration");
    let options: SoapXmlOptions = spec.options().expect("valid options");
    (spec, options)
}

/// The simulated council's answer about the person it holds the most
/// records about.
fn sim_answer() -> (Answer, String) {
    let pop = Arc::new(Population::generate(SEED, SIZE));
    let (person, holding) = pop
        .iter()
        .flat_map(|p| p.holdings.iter().map(move |h| (p, h)))
        .filter(|(_, h)| h.org.kind() == Kind::SoapXml)
        .max_by_key(|(_, h)| h.records.len())
        .expect("the councils hold someone");
    let org = holding.org;
    let (spec, options) = registration(org.id());
    let context = RequestContext::system(OdsCode::parse("X26").expect("a valid ODS code"));
    let request = write_request(&PersonSummaryRequest {
        nhs_number: person.nhs_number,
        context: &context,
        sections: spec.sections,
    })
    .expect("the request is written");
    let mut headers = http::HeaderMap::new();
    headers.insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static(CONTENT_TYPE),
    );
    let action = format!("\"{}\"", options.soap_action.trim());
    headers.insert(
        "soapaction",
        http::HeaderValue::from_str(&action).expect("a valid header"),
    );
    let ctx = SourceCtx::new(
        org.id(),
        Kind::SoapXml,
        vec![org],
        "127.0.0.1:9401".parse().expect("an address"),
        Arc::clone(&pop),
        SEED,
    );
    let path = soap::Soap.base_path(org);
    let answer = soap::Soap.respond(
        &ctx,
        &HttpRequest {
            method: "POST",
            path: &path,
            query: None,
            headers: &headers,
            body: &request,
            origin: "http://127.0.0.1:9401",
        },
    );
    assert_eq!(answer.status, 200, "the simulated council refused");
    let what = format!("{} records at {}", holding.records.len(), org.id());
    (
        Answer {
            body: answer.body,
            nhs_number: person.nhs_number,
            correlation_id: context.trace_id.clone(),
            meta: spec.meta(),
            limits: options.limits(),
        },
        what,
    )
}

fn bench(c: &mut Criterion) {
    let (sim, sim_what) = sim_answer();
    let example_path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("schema/GetPersonSummary-response.xml");
    let example = Answer {
        body: std::fs::read(&example_path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", example_path.display())),
        nhs_number: NhsNumber::parse(EXAMPLE_NHS).expect("a valid NHS number"),
        correlation_id: EXAMPLE_CORRELATION.into(),
        meta: Arc::clone(&sim.meta),
        limits: sim.limits,
    };

    let mut group = c.benchmark_group("soap-xml");
    for (id, answer, what) in [
        ("sim-person-summary", &sim, sim_what),
        (
            "contract-example",
            &example,
            "the contract's example".into(),
        ),
    ] {
        // The answer must read, or the figure would be an error path's.
        let record = answer.read().expect("the answer reads");
        eprintln!(
            "soap-xml/read_answer/{id}: {} bytes, {} items ({what})",
            answer.body.len(),
            record.items.len()
        );
        group.throughput(Throughput::Bytes(answer.body.len() as u64));
        group.bench_function(format!("read_answer/{id}"), |b| {
            b.iter(|| black_box(black_box(answer).read().ok()))
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
