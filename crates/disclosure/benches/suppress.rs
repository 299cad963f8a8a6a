//! Suppressing a 200 × 20 table (organisations × age bands), with a
//! quarter of its cells small (most lines then hide two already) and with one
//! in forty (most small cells need complements). `cargo bench -p icr-disclosure`.

use criterion::{Criterion, criterion_group, criterion_main};
use icr_disclosure::{CountTable, Rules, audit};

fn table(one_small_in: u64) -> CountTable {
    // A fixed pseudo-random table: the same figures every run.
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let rows = (0..200)
        .map(|_| {
            (0..20)
                .map(|_| {
                    if next() % one_small_in == 0 {
                        next() % 10
                    } else {
                        10 + next() % 200
                    }
                })
                .collect()
        })
        .collect();
    CountTable::new(
        (0..200).map(|i| format!("Y{i:05}")).collect(),
        (0..20)
            .map(|i| format!("{}-{}", i * 5, i * 5 + 4))
            .collect(),
        rows,
    )
    .expect("a well-formed table")
}

/// Every cell 1 and every row total 20: each row's cells are pinned by its
/// total until the totals are suppressed, one complement at a time.
fn ones() -> CountTable {
    CountTable::new(
        (0..200).map(|i| format!("Y{i:05}")).collect(),
        (0..20)
            .map(|i| format!("{}-{}", i * 5, i * 5 + 4))
            .collect(),
        vec![vec![1; 20]; 200],
    )
    .expect("a well-formed table")
}

fn bench(c: &mut Criterion) {
    let cases = [
        ("a quarter small", table(4)),
        ("one in forty small", table(40)),
        ("every cell 1", ones()),
    ];
    for (name, t) in cases {
        c.bench_function(&format!("suppress 200x20, {name}"), |b| {
            b.iter(|| Rules::default().suppress(t.clone()))
        });
        let s = Rules::default().suppress(t);
        c.bench_function(&format!("audit 200x20, {name}"), |b| b.iter(|| audit(&s)));
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
