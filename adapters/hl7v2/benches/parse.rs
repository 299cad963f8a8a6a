//! Parser throughput of the HL7 v2 adapter, in bytes of answer per second.
//! Benchmarks:
//!
//! - `read_answer/sim-pathology-rsp-k11`: `answer::read_answer`, what the
//!   adapter runs on every answer it reads off MLLP (tokenize the message,
//!   check MSA, QAK and every PID, map the ORC/OBR/OBX/NTE groups into the
//!   icr-model types), on the simulated pathology network's RSP^K11 answer
//!   (demo population, seed 20261101, 1,200 people; the demo registration,
//!   so up to 500 hits) to the query the adapter writes, for the person it
//!   holds the most results for. (The imaging network holds at most one
//!   report a person: its answers, under 1 KB, measure the fixed cost of an
//!   answer, not throughput, and are left out.)
//! - `tokenize/sim-pathology-rsp-k11`: `icr_hl7v2::Message::parse` alone on
//!   the pathology answer, to tell the tokenizer's share from the mapping's;
//! - `map_results/corpus-result-messages`: every result message of the
//!   shared corpus (ORU^R01, the lab ORUs, OUL, LRI), each tokenized and
//!   mapped from its first PID as `tests/corpus.rs` does (they are
//!   unsolicited messages, not RSP^K11 answers, so the answer's checks do
//!   not apply).
//!
//! Payload sizes are printed to stderr before the runs.
//!
//!     cargo bench -p icr-adapter-hl7v2 --bench parse
//!     cargo bench -p icr-adapter-hl7v2 --bench parse -- --warm-up-time 1 --measurement-time 2

/// The allocator the `icr` binary ships with, so that the figures are the
/// gateway's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::hint::black_box;
use std::sync::Arc;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use icr_adapter_hl7v2::answer::{Expected, ReadContext, read_answer};
use icr_adapter_hl7v2::map::{MapContext, map_results};
use icr_adapter_hl7v2::query::{Query, write_query};
use icr_adapter_hl7v2::{Hl7v2Options, Settings};
use icr_adapter_sdk::SourceSpec;
use icr_hl7v2::dtm::LocalZone;
use icr_hl7v2::{Limits, Message};
use icr_model::time::OffsetDateTime;
use icr_model::{NhsNumber, SectionSet, SourceMeta};
use icr_sim::org::{Kind, Org};
use icr_sim::protocol::SourceCtx;
use icr_sim::{Population, hl7v2};

/// The demo region's population (`config/demo/sim.toml`).
const SEED: u64 = 20261101;
const SIZE: usize = 1200;
const CONTROL_ID: &str = "BENCH0000000000000001";
const QUERY_TAG: &str = "BENCH0000000000000002";

/// A demo registration (`config/demo/sources.d/{name}.toml`).
fn registration(name: &str) -> (SourceSpec, Settings) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../config/demo/sources.d")
        .join(format!("{name}.toml"));
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let spec: SourceSpec = toml::from_str(&text).expect("a valid registration");
    let options: Hl7v2Options = spec.options().expect("valid options");
    let settings = options.settings(&spec).expect("valid settings");
    (spec, settings)
}

/// One answer and how the adapter reads it.
struct Answer {
    bytes: Vec<u8>,
    nhs_number: NhsNumber,
    meta: Arc<SourceMeta>,
    limits: Limits,
    zone: LocalZone,
}

impl Answer {
    fn read(&self) -> Result<icr_model::SourceRecord, icr_adapter_sdk::SourceError> {
        let expected = Expected {
            control_id: CONTROL_ID,
            query_tag: QUERY_TAG,
            nhs_number: self.nhs_number,
        };
        let ctx = ReadContext {
            meta: &self.meta,
            local_zone: self.zone,
            limits: self.limits,
            sections: SectionSet::all(),
        };
        read_answer(&self.bytes, &expected, &ctx)
    }
}

/// The simulated network's answer about the person it holds the most
/// records for, to the adapter's query.
fn sim_answer(pop: &Arc<Population>, org: Org, registration_name: &str) -> (Answer, String) {
    let (spec, settings) = registration(registration_name);
    let (person, holding) = pop
        .iter()
        .filter_map(|p| Some((p, p.holding(org)?)))
        .max_by_key(|(_, h)| h.records.len())
        .expect("the network holds someone");
    let query = write_query(&Query {
        settings: &settings,
        control_id: CONTROL_ID,
        query_tag: QUERY_TAG,
        nhs_number: person.nhs_number,
        now: OffsetDateTime::now_utc(),
    });
    let ctx = SourceCtx::new(
        org.id(),
        Kind::Hl7v2,
        vec![org],
        "127.0.0.1:9301".parse().expect("an address"),
        Arc::clone(pop),
        SEED,
    );
    let bytes = hl7v2::respond(&ctx, query.as_bytes(), OffsetDateTime::now_utc()).into_bytes();
    let what = format!("{} results at {}", holding.records.len(), org.id());
    (
        Answer {
            bytes,
            nhs_number: person.nhs_number,
            meta: spec.meta(),
            limits: Limits {
                max_message_bytes: settings.max_message_bytes,
                ..Limits::default()
            },
            zone: settings.local_time_zone,
        },
        what,
    )
}

/// Tokenizes and maps a message from its first PID.
fn parse_and_map(bytes: &[u8], meta: &Arc<SourceMeta>) -> Option<icr_adapter_hl7v2::map::Mapped> {
    let m = Message::parse(bytes, &Limits::default()).ok()?;
    let from = m.segments().position(|s| s.id() == "PID").unwrap_or(0);
    let zone = LocalZone::for_message(&m.msh().field(7).text(), LocalZone::EuropeLondon);
    Some(map_results(&m, from, &MapContext { meta, zone }))
}

fn bench(c: &mut Criterion) {
    let pop = Arc::new(Population::generate(SEED, SIZE));
    let (pathology, pathology_what) = sim_answer(&pop, Org::PATHOLOGY, "pathology");

    let mut group = c.benchmark_group("hl7v2");
    // The answer must read, or the figure would be an error path's.
    let record = pathology.read().expect("the answer reads");
    eprintln!(
        "hl7v2/read_answer/sim-pathology-rsp-k11: {} bytes, {} items ({pathology_what})",
        pathology.bytes.len(),
        record.items.len()
    );
    group.throughput(Throughput::Bytes(pathology.bytes.len() as u64));
    group.bench_function("read_answer/sim-pathology-rsp-k11", |b| {
        b.iter(|| black_box(black_box(&pathology).read().ok()))
    });

    let limits = pathology.limits;
    let segments = Message::parse(&pathology.bytes, &limits)
        .expect("the answer tokenizes")
        .len();
    eprintln!(
        "hl7v2/tokenize/sim-pathology-rsp-k11: {} bytes, {segments} segments",
        pathology.bytes.len()
    );
    group.throughput(Throughput::Bytes(pathology.bytes.len() as u64));
    group.bench_function("tokenize/sim-pathology-rsp-k11", |b| {
        b.iter(|| black_box(Message::parse(black_box(&pathology.bytes), &limits).ok()))
    });

    let corpus: Vec<(String, Vec<u8>)> = icr_testkit::corpus_files("hl7v2", "hl7")
        .into_iter()
        .filter(|(name, _)| {
            ["ORU-R01", "LAB-ORU", "OUL", "LRI"]
                .iter()
                .any(|p| name.starts_with(p))
        })
        .collect();
    let meta = &pathology.meta;
    let bytes: usize = corpus.iter().map(|(_, b)| b.len()).sum();
    let items: usize = corpus
        .iter()
        .map(|(name, b)| {
            parse_and_map(b, meta)
                .unwrap_or_else(|| panic!("{name} does not tokenize"))
                .items
                .len()
        })
        .sum();
    eprintln!(
        "hl7v2/map_results/corpus-result-messages: {bytes} bytes in {} messages, {items} items",
        corpus.len()
    );
    group.throughput(Throughput::Bytes(bytes as u64));
    group.bench_function("map_results/corpus-result-messages", |b| {
        b.iter(|| {
            for (_, message) in &corpus {
                black_box(parse_and_map(black_box(message), meta));
            }
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
