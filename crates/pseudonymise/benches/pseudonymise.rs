//! Pseudonymising one person's merged record of 100 to 10k items (three
//! sources, a third of facts held twice), and writing it as JSON as an
//! NDJSON writer would. `cargo bench -p icr-pseudonymise`.

/// The allocator the `icr` binary ships with, so the figures are the
/// gateway's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use icr_model::time::{Date, Month};
use icr_model::{NhsNumber, SectionSet, SourceRecord};
use icr_pseudonymise::{ProjectKey, Pseudonymiser, Spec};

fn bench(c: &mut Criterion) {
    let key = ProjectKey::from_bytes(&[0x42; 32]).expect("bench key");
    let spec = Spec::from_toml(
        "sections = [\"demographics\", \"medications\", \"conditions\", \"results\"]\ndate_of_birth = \"age_band\"\npostcode = \"district\"\n",
    )
    .expect("bench spec");
    let today = Date::from_calendar_date(2026, Month::December, 7).expect("bench date");
    let p = Pseudonymiser::new(&key, &spec, today, None).expect("bench pseudonymiser");
    let nhs = NhsNumber::parse("9434765919").expect("bench NHS number");
    let mut group = c.benchmark_group("pseudonymise");
    for n in [100usize, 1_000, 10_000] {
        let records = icr_merge::testdata::records(n, 3);
        let refs: Vec<&SourceRecord> = records.iter().collect();
        let merged = icr_merge::merge(&refs, SectionSet::all());
        group.throughput(Throughput::Elements(n as u64));
        group.bench_with_input(BenchmarkId::new("transform", n), &merged, |b, m| {
            b.iter(|| p.pseudonymise(nhs, m))
        });
        group.bench_with_input(BenchmarkId::new("transform+json", n), &merged, |b, m| {
            b.iter(|| serde_json::to_vec(&p.pseudonymise(nhs, m)).map(|v| v.len()))
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
