//! The fuzzing entry points on stable, so that CI covers them without a
//! fuzzer: every seed in `fuzz/seeds/<target>/` as it is, then random
//! bytes and the seeds mutated (bytes flipped, cut, spliced).

use std::path::PathBuf;

use proptest::prelude::*;

/// The seeds of `target`, as bytes.
fn seeds(target: &str) -> Vec<Vec<u8>> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/seeds")
        .join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no seed for {target}");
    files.iter().map(|f| std::fs::read(f).unwrap()).collect()
}

fn checkpoint(data: &[u8]) {
    icr_extract::fuzz_checkpoint::<serde_json::Value, icr_extract_summary::Counts>(data);
}

type Target = (&'static str, fn(&[u8]));

const TARGETS: [Target; 5] = [
    ("list", icr_extract::fuzz_list),
    ("config", icr_extract::fuzz_config),
    ("area_lookup", icr_extract::fuzz_area_lookup),
    ("checkpoint", checkpoint),
    ("manifest", icr_extract::fuzz_manifest),
];

#[test]
fn every_seed_keeps_the_properties() {
    for (target, entry) in TARGETS {
        for seed in seeds(target) {
            entry(&seed);
        }
    }
}

/// A seed of some target, changed: a byte set at each of `flips`, cut at
/// `cut` (when given), with `tail` spliced on.
fn mutated(seed: &[u8], flips: &[(usize, u8)], cut: Option<usize>, tail: &[u8]) -> Vec<u8> {
    let mut b = seed.to_vec();
    for &(at, byte) in flips {
        if !b.is_empty() {
            let i = at % b.len();
            b[i] = byte;
        }
    }
    if let Some(cut) = cut {
        b.truncate(cut % (b.len() + 1));
    }
    b.extend_from_slice(tail);
    b
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn random_bytes_keep_the_properties(data in proptest::collection::vec(any::<u8>(), 0..512)) {
        for (_, entry) in TARGETS {
            entry(&data);
        }
    }

    #[test]
    fn mutated_seeds_keep_the_properties(
        pick in any::<usize>(),
        flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 0..6),
        cut in any::<usize>(),
        tail in proptest::collection::vec(any::<u8>(), 0..16),
    ) {
        for (target, entry) in TARGETS {
            let all = seeds(target);
            let seed = &all[pick % all.len()];
            entry(&mutated(seed, &flips, None, &tail));
            entry(&mutated(seed, &flips, Some(cut), &tail));
        }
    }
}
