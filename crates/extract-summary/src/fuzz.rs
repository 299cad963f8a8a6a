//! The body of the fuzzing entry point [`crate::fuzz_counts`]: a shard's
//! `counts.json` read back and reported, with the properties every input
//! must keep. A broken property panics, for the fuzzer.

use icr_disclosure::{Published, Rules, Suppressed};

use crate::{Counts, Limits};

/// Every published count of `t` is 0 or at least its threshold.
fn no_small_count(t: &Suppressed) {
    for at in t.table().positions() {
        if let Some(Published::Count(v)) = t.published(at) {
            assert!(v == 0 || v >= t.threshold(), "{at:?}: {v} published");
        }
    }
}

pub(crate) fn counts(data: &[u8]) {
    let Some((&first, json)) = data.split_first() else {
        return;
    };
    let counts = match Counts::from_json(json) {
        Ok(c) => c,
        Err(e) => {
            // Made of positions and fixed words: nothing of the file.
            let text = e.to_string();
            assert!(text.len() < 200, "{text}");
            return;
        }
    };
    let again = serde_json::to_vec(&counts).unwrap_or_default();
    assert_eq!(
        Counts::from_json(&again).as_ref(),
        Ok(&counts),
        "counts do not read back"
    );
    let threshold = match first {
        0 => u64::MAX,
        t => u64::from(t),
    };
    let Ok(rules) = Rules::new(threshold) else {
        return;
    };
    // Small limits too, so that the `Other` rows are exercised.
    for limits in [Limits::default(), Limits::new(1, 1)] {
        if let Ok(report) = counts.report_with(&rules, limits) {
            for t in [report.people(), report.conditions(), report.organisations()] {
                no_small_count(t);
            }
            let _ = (report.csv(), report.markdown());
            let _ = (report.people_extracted(), report.incomplete());
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::counts;
    use crate::counts::tests::person;

    /// `fuzz/seeds/counts/`, as the fuzzer starts from them.
    #[test]
    fn every_seed_keeps_the_properties() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds/counts");
        let mut n = 0;
        for e in std::fs::read_dir(&dir).unwrap() {
            counts(&std::fs::read(e.unwrap().path()).unwrap());
            n += 1;
        }
        assert!(n >= 2, "{n} seeds");
    }

    #[test]
    fn an_error_quotes_nothing_of_the_file() {
        let e = crate::Counts::from_json(br#"{"conditions": {"0434765919": []}}"#).unwrap_err();
        assert_eq!(
            e.to_string(),
            "line 1 column 28: not counts (an unknown field, a key that is not a code, or a row of the wrong shape)"
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Real counts (people of random ages and codes) as JSON, bytes
        /// then changed, at a random threshold.
        #[test]
        fn changed_counts_keep_the_properties(
            people in proptest::collection::vec((0u32..100, 0usize..3), 0..40),
            threshold in any::<u8>(),
            flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 0..4),
        ) {
            let mut c = crate::Counts::default();
            for (n, (age, code)) in people.iter().enumerate() {
                let code = ["44054006", "38341003", "195967001"][*code];
                c.add(&person(n as u32, Some(*age), Some("Y00001"), &[(code, "RN3")]), n % 3 != 0);
            }
            let mut data = vec![threshold];
            data.extend(serde_json::to_vec(&c).unwrap());
            counts(&data);
            for (at, byte) in flips {
                let i = 1 + at % (data.len() - 1);
                data[i] = byte;
            }
            counts(&data);
        }

        #[test]
        fn random_bytes_keep_the_properties(data in proptest::collection::vec(any::<u8>(), 0..512)) {
            counts(&data);
        }
    }
}
