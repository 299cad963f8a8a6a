//! The record page rendered from merged views of 100 to 10k items (three
//! sources, a third of facts held twice: the merge bench's data), at each
//! tab: the summary listing every current medication and active problem,
//! the full record, the timeline, problems, results (a third of the items,
//! spread over ten tests, each value numeric with a reference range, so
//! every test is charted) and documents (none in this data: the frame
//! only). `cargo bench -p icr-viewer`.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use icr_model::{NhsNumber, SectionSet, SourceRecord, SourceStatus};
use icr_policy::Withheld;
use icr_viewer::{RecordTab, RecordView, SourceLine, record_page};

fn bench(c: &mut Criterion) {
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
    let merged: Vec<(usize, icr_merge::MergedRecord)> = [100usize, 1_000, 10_000]
        .into_iter()
        .map(|n| {
            let records = icr_merge::testdata::records(n, 3);
            let refs: Vec<&SourceRecord> = records.iter().collect();
            let mut record = icr_merge::merge(&refs, SectionSet::all());
            repeat_tests(&mut record);
            (n, record)
        })
        .collect();
    for segment in [
        None,
        Some("sections"),
        Some("timeline"),
        Some("problems"),
        Some("results"),
        Some("documents"),
    ] {
        let tab = RecordTab::parse(segment, None).expect("a known tab");
        let mut group = c.benchmark_group(format!("record_page/{}", segment.unwrap_or("summary")));
        for (n, record) in &merged {
            let view = RecordView {
                nhs_number: nhs,
                record,
                sources: &sources,
                withheld: &withheld,
                gathered: &[],
                today: time::macros::date!(2026 - 12 - 07),
                chrome: icr_viewer::Chrome::default(),
            };
            group.throughput(Throughput::Elements(*n as u64));
            group.bench_with_input(BenchmarkId::from_parameter(n), &view, |b, view| {
                b.iter(|| record_page(view, &tab))
            });
        }
        group.finish();
    }
}

/// Makes the synthetic results ten repeated tests with numeric values and
/// a reference range, as a person's blood tests over the years are.
fn repeat_tests(record: &mut icr_merge::MergedRecord) {
    use icr_model::{
        CodeSystem, Coding, Concept, Entry, Quantity, ReferenceRange, ResultValue, Section,
    };
    let quantity = |v: f64| Quantity {
        value: Some(v),
        unit: Some("mmol/L".into()),
        ..Default::default()
    };
    let results = record
        .sections
        .get_mut(&Section::Results)
        .into_iter()
        .flatten();
    for (i, item) in results.enumerate() {
        if let Entry::Result(r) = &mut item.entry {
            let test = i % 10;
            r.code = Concept::coded(Coding::new(
                CodeSystem::Loinc,
                format!("{test}"),
                format!("Test {test}"),
            ));
            r.value = Some(ResultValue::Quantity(quantity((i % 7) as f64)));
            r.reference_range = vec![ReferenceRange {
                low: Some(quantity(1.0)),
                high: Some(quantity(5.0)),
                text: None,
            }];
        }
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
