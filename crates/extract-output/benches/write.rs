//! Writing 1,000 people of 16 items each (every section): the NDJSON and
//! OMOP row files as the run goes, then the Parquet tables at finish.
//! `cargo bench -p icr-extract-output`.

#[path = "../tests/common/mod.rs"]
mod common;

use criterion::{Criterion, criterion_group, criterion_main};
use icr_extract_output::Writers;

const PEOPLE: u32 = 1_000;

fn bench(c: &mut Criterion) {
    let people = common::population(PEOPLE);
    let dir = common::temp_dir("bench");
    let mut g = c.benchmark_group("extract-output");
    g.sample_size(10);
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
    let _ = std::fs::remove_dir_all(&dir);
}

criterion_group!(benches, bench);
criterion_main!(benches);
