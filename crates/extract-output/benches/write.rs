//! Writing 1,000 people of 17 items each (every section): the lines alone
//! (no I/O), the NDJSON and OMOP row files as the run goes (with the
//! fsyncs of create and checkpoint), then the Parquet tables at finish.
//! `cargo bench -p icr-extract-output`.

#[path = "../tests/common/mod.rs"]
mod common;

use criterion::{Criterion, criterion_group, criterion_main};
use icr_extract_output::{Writers, fhir, omop};

const PEOPLE: u32 = 1_000;

fn bench(c: &mut Criterion) {
    let people = common::population(PEOPLE);
    let dir = common::temp_dir("bench");
    let mut g = c.benchmark_group("extract-output");
    g.sample_size(10);
    g.bench_function("lines of 1000 people (no I/O)", |b| {
        b.iter(|| {
            let mut bytes = 0;
            for r in &people {
                for resource in fhir::resources(r) {
                    bytes += serde_json::to_vec(&resource).expect("json").len();
                }
                for row in omop::rows(r) {
                    bytes += serde_json::to_vec(&row.cells).expect("json").len();
                }
            }
            bytes
        })
    });
    g.bench_function("write 1000 people", |b| {
        b.iter(|| {
            let mut w = Writers::create(&dir).expect("the bench folder");
            for r in &people {
                w.write(r).expect("written");
            }
            w.checkpoint().expect("synced")
        })
    });
    g.bench_function("write 1000 people + finish", |b| {
        b.iter(|| {
            let mut w = Writers::create(&dir).expect("the bench folder");
            for r in &people {
                w.write(r).expect("written");
            }
            w.finish().expect("finished")
        })
    });
    g.finish();
    // What the files weigh, for BENCHMARKS.md.
    let mut w = Writers::create(&dir).expect("the bench folder");
    for r in &people {
        w.write(r).expect("written");
    }
    let entries = w.finish().expect("finished");
    for kind in [icr_extract_output::KIND_FHIR, icr_extract_output::KIND_OMOP] {
        let of_kind = entries.iter().filter(|e| e.kind == kind);
        let (rows, bytes) = of_kind.fold((0, 0), |(r, b), e| (r + e.rows, b + e.bytes));
        eprintln!("{kind}: {rows} rows, {bytes} bytes");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

criterion_group!(benches, bench);
criterion_main!(benches);
