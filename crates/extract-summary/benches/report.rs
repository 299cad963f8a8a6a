//! The report at the end of a region's extract: 2,000 condition codes held
//! by from 1 to a few thousand people each (most by few), 300 organisations,
//! the default limits (the top 200 codes × 20 age columns, 300 organisation
//! rows). `cargo bench -p icr-extract-summary`.

use criterion::{Criterion, criterion_group, criterion_main};
use icr_disclosure::Rules;
use icr_extract_summary::{AGE_COLUMNS, Counts};
use serde_json::{Value, json};

/// A fixed pseudo-random sequence: the same figures every run.
struct Figures(u64);

impl Figures {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n.max(1)
    }

    fn bands(&mut self, scale: u64) -> Value {
        (0..AGE_COLUMNS).map(|_| self.below(scale + 1)).collect()
    }
}

fn counts() -> Counts {
    let mut f = Figures(0x9e37_79b9_7f4a_7c15);
    // Code k is held by about 5,000 / (k + 1) people per band: a long tail.
    let conditions: serde_json::Map<String, Value> = (0..2_000u64)
        .map(|k| (format!("{}", 100_000 + k * 10), f.bands(5_000 / (k + 1))))
        .collect();
    let organisations: serde_json::Map<String, Value> = (0..300u64)
        .map(|k| (format!("Y{k:05}"), json!([f.below(3_000), f.below(300)])))
        .collect();
    let none = vec![0u64; AGE_COLUMNS];
    serde_json::from_value(json!({
        "complete": f.bands(30_000),
        "incomplete": f.bands(2_000),
        "conditions": conditions,
        "conditions_untracked": none,
        "organisations": organisations,
        "organisations_untracked": [0, 0],
    }))
    .expect("counts.json of the shape Counts writes")
}

fn bench(c: &mut Criterion) {
    let counts = counts();
    let rules = Rules::default();
    c.bench_function("report_region_default_limits", |b| {
        b.iter(|| counts.report(&rules).expect("an audited report"))
    });
    let report = counts.report(&rules).expect("an audited report");
    c.bench_function("report_region_csv", |b| b.iter(|| report.csv()));
}

criterion_group!(benches, bench);
criterion_main!(benches);
