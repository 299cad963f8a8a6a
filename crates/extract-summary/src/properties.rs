//! Properties over random populations: every report passes the audit,
//! publishes no small count, and is the same however the cohort is sharded.

use proptest::prelude::*;

use icr_disclosure::{Published, Rules, Suppressed, Suppression};

use crate::counts::tests::person;
use crate::{Counts, Limits, Report};

/// One person: age (or none), practice, codes (code, holder), complete.
type Someone = (Option<u32>, Option<usize>, Vec<(usize, usize)>, bool);

const CODES: [&str; 6] = [
    "44054006",
    "38341003",
    "195967001",
    "73211009",
    "49436004",
    "13645005",
];
const ODS: [&str; 4] = ["Y00001", "Y00002", "RN3", "RA7"];

fn someone() -> impl Strategy<Value = Someone> {
    (
        proptest::option::weighted(0.9, 0u32..100),
        proptest::option::weighted(0.9, 0usize..2),
        proptest::collection::vec((0..CODES.len(), 0..ODS.len()), 0..4),
        proptest::bool::weighted(0.8),
    )
}

/// People clustered into few bands, so that both small and large cells occur.
fn population() -> impl Strategy<Value = Vec<Someone>> {
    proptest::collection::vec(someone(), 0..120).prop_map(|mut people| {
        for p in &mut people {
            p.0 = p.0.map(|age| [3, 42, 67, 88, age][age as usize % 5]);
        }
        people
    })
}

fn counts_of<'a>(people: impl Iterator<Item = (usize, &'a Someone)>) -> Counts {
    let mut c = Counts::default();
    for (n, (age, practice, codes, complete)) in people {
        let conditions: Vec<_> = codes.iter().map(|&(c, o)| (CODES[c], ODS[o])).collect();
        let practice = practice.map(|p| ODS[p]);
        c.add(&person(n as u32, *age, practice, &conditions), *complete);
    }
    c
}

/// Every published count is 0 or at least the threshold; every primary
/// suppression is below it; no zero is hidden.
fn no_small_published(t: &Suppressed) {
    let threshold = t.threshold();
    for at in t.table().positions() {
        let value = t.table().get(at).unwrap();
        match (t.published(at).unwrap(), t.suppression(at)) {
            (Published::Count(v), _) => assert!(v == 0 || v >= threshold, "{at:?}: {v}"),
            (Published::Suppressed, Some(Suppression::Primary)) => {
                assert!((1..threshold).contains(&value), "{at:?}")
            }
            (Published::Suppressed, _) => assert!(value > 0, "{at:?}"),
        }
    }
}

fn tables(r: &Report) -> [Suppressed; 6] {
    [
        r.people().clone(),
        r.conditions().clone(),
        r.organisations().clone(),
        r.per_age_band(),
        r.per_condition(),
        r.per_organisation(),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn every_report_is_safe(
        people in population(),
        threshold in 1u64..15,
        limit in 0usize..8,
    ) {
        let counts = counts_of(people.iter().enumerate());
        let rules = Rules::new(threshold).unwrap();
        // report_with audits every table and margin; it must never refuse
        // what the suppressor made.
        let report = counts.report_with(&rules, Limits::new(limit, limit)).unwrap();
        for t in tables(&report) {
            no_small_published(&t);
            prop_assert_eq!(icr_disclosure::audit(&t), Ok(()));
        }
        let people_total = report.people().table().get(icr_disclosure::At::GrandTotal);
        prop_assert_eq!(people_total, Some(people.len() as u64));
    }

    #[test]
    fn sharding_changes_nothing(people in population(), shards in 1usize..5) {
        let whole = counts_of(people.iter().enumerate());
        let mut merged = Counts::default();
        for s in (0..shards).rev() {
            let shard = counts_of(people.iter().enumerate().filter(|(n, _)| n % shards == s));
            let json = serde_json::to_string(&shard).unwrap();
            merged.merge(&serde_json::from_str(&json).unwrap());
        }
        prop_assert_eq!(&merged, &whole);
        let (a, b) = (whole.report(&Rules::default()).unwrap(), merged.report(&Rules::default()).unwrap());
        prop_assert_eq!(a.csv(), b.csv());
        prop_assert_eq!(a.markdown(), b.markdown());
    }
}
