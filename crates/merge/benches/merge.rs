//! Merge throughput at 100 to 100k items (three sources, a third of facts
//! held twice). `cargo bench -p icr-merge`.

/// The allocator the `icr` binary ships with, so that the figures are the
/// gateway's (merging is allocation-heavy: the system allocator is 10-20 %
/// slower here).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use icr_model::{SectionSet, SourceRecord};

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("merge");
    for n in [100usize, 1_000, 10_000, 100_000] {
        let records = icr_merge::testdata::records(n, 3);
        let refs: Vec<&SourceRecord> = records.iter().collect();
        group.throughput(Throughput::Elements(n as u64));
        group.bench_with_input(BenchmarkId::from_parameter(n), &refs, |b, refs| {
            b.iter(|| icr_merge::merge(refs, SectionSet::all()))
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
