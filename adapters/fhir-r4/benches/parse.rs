//! Parser throughput of the FHIR R4 adapter, in bytes of source answer per
//! second: `page::read_page`, what the adapter runs on every search answer
//! it receives (parse the searchset Bundle, index its Medications, map each
//! entry of the searched type into the icr-model types). Payloads:
//!
//! - `read_page/sim-observations`: one Observation searchset page from the
//!   simulated FHIR R4 servers (demo population, seed 20261101, 1,200
//!   people) for the person one server holds the most Observations about,
//!   asked for with `_count=500`;
//! - `read_page/sim-person-searches`: every answer the adapter reads for the
//!   person one server holds the most records about: the Patient search,
//!   then each resource type's search in pages of 100 (the default
//!   `page_size`), each read for its own type. This is the adapter's
//!   "$everything": it never asks for `$everything`, only type by type;
//! - `read_page/ukcore-news2-bundle`: the UK Core NEWS2 Observations Bundle
//!   from the shared corpus, read as an Observation page.
//!
//! Payload sizes are printed to stderr before the runs.
//!
//!     cargo bench -p icr-adapter-fhir-r4 --bench parse
//!     cargo bench -p icr-adapter-fhir-r4 --bench parse -- --warm-up-time 1 --measurement-time 2

/// The allocator the `icr` binary ships with, so that the figures are the
/// gateway's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use icr_adapter_fhir_r4::map::RecordType;
use icr_adapter_fhir_r4::page::{PageContext, read_page};
use icr_model::SourceId;
use icr_sim::org::{Kind, Org};
use icr_sim::population::Holding;
use icr_sim::{Population, fhir};
use url::Url;

/// The demo region's population (`config/demo/sim.toml`).
const SEED: u64 = 20261101;
const SIZE: usize = 1200;
/// Where the simulated server is pretended to be.
const BASE: &str = "http://127.0.0.1:9101/fhir/r4";

/// One answer, and the type it was searched for.
struct Answer {
    body: Vec<u8>,
    searched: RecordType,
}

fn get(pop: &Population, org: Org, path: &str, query: &str) -> Vec<u8> {
    let answer = fhir::respond(pop, org, BASE, "GET", path, Some(query));
    assert_eq!(answer.status, 200, "the simulator refused {path}?{query}");
    answer.body
}

/// The FHIR R4 server's holding (what it holds about one person) with the
/// most records of `ty`, or of any type when `ty` is `None`, and the server.
fn largest<'p>(pop: &'p Population, ty: Option<&str>) -> (Org, &'p Holding) {
    pop.iter()
        .flat_map(|p| p.holdings.iter())
        .filter(|h| h.org.kind() == Kind::FhirR4)
        .max_by_key(|h| match ty {
            Some(t) => h.records_of(t).count(),
            None => h.records.len(),
        })
        .map(|h| (h.org, h))
        .expect("the simulated population has FHIR R4 holdings")
}

/// Every page of every search the adapter makes for one person.
fn person_searches(pop: &Population, org: Org, h: &Holding, nhs: &str) -> Vec<Answer> {
    let mut answers = vec![Answer {
        body: get(
            pop,
            org,
            "/fhir/r4/Patient",
            &format!("identifier=https://fhir.nhs.uk/Id/nhs-number|{nhs}"),
        ),
        searched: RecordType::Patient,
    }];
    for &ty in RecordType::ALL {
        if ty == RecordType::Patient {
            continue;
        }
        let total = h.records_of(ty.name()).count();
        let mut offset = 0;
        loop {
            answers.push(Answer {
                body: get(
                    pop,
                    org,
                    &format!("/fhir/r4/{}", ty.name()),
                    &format!("patient={}&_count=100&_offset={offset}", h.patient_id),
                ),
                searched: ty,
            });
            offset += 100;
            if offset >= total {
                break;
            }
        }
    }
    answers
}

fn bench(c: &mut Criterion) {
    let pop = Population::generate(SEED, SIZE);
    let source = SourceId::parse("bench").expect("a valid source id");
    let base = Url::parse(&format!("{BASE}/")).expect("a valid base URL");

    let (obs_org, obs) = largest(&pop, Some("Observation"));
    let observations = vec![Answer {
        body: get(
            &pop,
            obs_org,
            "/fhir/r4/Observation",
            &format!("patient={}&_count=500", obs.patient_id),
        ),
        searched: RecordType::Observation,
    }];

    let (org, h) = largest(&pop, None);
    let nhs = pop
        .by_local_id(org, &h.patient_id)
        .map(|(p, _)| p.nhs_number)
        .expect("the holding's person");
    let searches = person_searches(&pop, org, h, nhs.as_str());

    let news2 = icr_testkit::corpus_files("fhir-r4-ukcore", "json")
        .into_iter()
        .find(|(name, _)| name == "UKCore-Bundle-NEWS2Observations-Example.json")
        .map(|(_, body)| body)
        .expect("the UK Core NEWS2 Bundle is in the shared corpus");
    let news2 = vec![Answer {
        body: news2,
        searched: RecordType::Observation,
    }];

    let payloads = [
        (
            "sim-observations",
            observations,
            format!(
                "{} Observations at {}",
                obs.records_of("Observation").count(),
                obs_org.id()
            ),
        ),
        (
            "sim-person-searches",
            searches,
            format!("{} records at {}", h.records.len(), org.id()),
        ),
        (
            "ukcore-news2-bundle",
            news2,
            "8 Observations, UK Core example".to_string(),
        ),
    ];

    let mut group = c.benchmark_group("fhir-r4");
    for (id, answers, what) in &payloads {
        let bytes: usize = answers.iter().map(|a| a.body.len()).sum();
        // Every answer must read, or the figure would be an error path's.
        let (mut found, mut unreadable) = (0, 0);
        for a in answers {
            let ctx = PageContext {
                source: &source,
                base: Some(&base),
                searched: a.searched,
            };
            let page = read_page(&a.body, &ctx).expect("the payload reads as a search answer");
            found += page.found.len();
            unreadable += page.unreadable;
        }
        eprintln!(
            "fhir-r4/read_page/{id}: {bytes} bytes in {} answer(s), {found} resources mapped, \
             {unreadable} unreadable ({what})",
            answers.len()
        );
        group.throughput(Throughput::Bytes(bytes as u64));
        group.bench_function(format!("read_page/{id}"), |b| {
            b.iter(|| {
                for a in answers {
                    let ctx = PageContext {
                        source: &source,
                        base: Some(&base),
                        searched: a.searched,
                    };
                    black_box(read_page(black_box(&a.body), &ctx).ok());
                }
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
