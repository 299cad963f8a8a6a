//! The record page rendered from merged views of 100 to 10k items (three
//! sources, a third of facts held twice: the merge bench's data), the
//! summary listing every current medication and active problem.
//! `cargo bench -p icr-viewer`.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use icr_model::{NhsNumber, SectionSet, SourceRecord, SourceStatus};
use icr_policy::Withheld;
use icr_viewer::{RecordView, SourceLine, record_page};

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("record_page");
    let nhs = NhsNumber::parse("9990000050").expect("a valid test number");
    let meta = icr_merge::testdata::meta("s0");
    let sources: Vec<SourceLine<'_>> = SourceStatus::ALL
        .into_iter()
        .map(|status| SourceLine {
            organisation: &meta.organisation,
            ods_code: &meta.ods_code,
            status,
            fetched_at: None,
            cached: false,
            issues: &[],
        })
        .collect();
    let withheld = Withheld::default();
    for n in [100usize, 1_000, 10_000] {
        let records = icr_merge::testdata::records(n, 3);
        let refs: Vec<&SourceRecord> = records.iter().collect();
        let record = icr_merge::merge(&refs, SectionSet::all());
        let view = RecordView {
            nhs_number: nhs,
            record: &record,
            sources: &sources,
            withheld: &withheld,
            gathered: &[],
            today: time::macros::date!(2026 - 12 - 07),
            chrome: icr_viewer::Chrome::default(),
        };
        group.throughput(Throughput::Elements(n as u64));
        group.bench_with_input(BenchmarkId::from_parameter(n), &view, |b, view| {
            b.iter(|| record_page(view))
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
