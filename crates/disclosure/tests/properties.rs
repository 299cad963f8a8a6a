//! Properties of suppression over arbitrary tables, and the audit checked
//! against a brute-force search that shares none of its reasoning.

use icr_disclosure::{
    At, CountTable, Disclosure, Published, Rules, SUPPRESSED, Suppressed, Suppression, audit,
    to_csv, to_markdown,
};
use proptest::prelude::*;

/// Counts weighted towards the small and the zero, where suppression bites.
fn count() -> impl Strategy<Value = u64> + Clone {
    prop_oneof![3 => 0u64..12, 1 => Just(0u64), 2 => 10u64..60]
}

/// Counts mostly 1s and 2s, where the bounds (every suppressed entry ≥ 1) pin values down.
fn tiny() -> impl Strategy<Value = u64> + Clone {
    prop_oneof![4 => 1u64..3, 1 => 0u64..12]
}

fn table<S: Strategy<Value = u64> + Clone>(
    max_rows: usize,
    max_columns: usize,
    count: S,
) -> impl Strategy<Value = CountTable> {
    (1..=max_rows, 1..=max_columns)
        .prop_flat_map(move |(r, c)| {
            proptest::collection::vec(proptest::collection::vec(count.clone(), c), r)
        })
        .prop_map(|rows| {
            let c = rows[0].len();
            CountTable::new(
                (0..rows.len()).map(|i| format!("row {i}")).collect(),
                (0..c).map(|i| format!("col {i}")).collect(),
                rows,
            )
            .expect("a well-formed table")
        })
}

/// The positions a rendered field at (`line`, `field`) stands for (see
/// `to_csv`: a one-column table has no totals' column, a one-row table no
/// totals' row, and their cells stand for the margin too).
fn stands_for(t: &CountTable, line: usize, field: usize) -> Vec<At> {
    let (rows, columns) = (t.rows(), t.columns());
    let row = (line <= rows).then(|| line - 1);
    let column = (field <= columns).then(|| field - 1);
    let at = |row: Option<usize>, column: Option<usize>| match (row, column) {
        (Some(row), Some(column)) => At::Cell { row, column },
        (Some(row), None) => At::RowTotal(row),
        (None, Some(column)) => At::ColumnTotal(column),
        (None, None) => At::GrandTotal,
    };
    let mut ats = vec![at(row, column)];
    if columns == 1 {
        ats.push(at(row, None));
    }
    if rows == 1 {
        ats.push(at(None, column));
    }
    if rows == 1 && columns == 1 {
        ats.push(At::GrandTotal);
    }
    ats
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn suppression_is_safe_deterministic_and_never_rendered(t in table(7, 6, count()), threshold in 1u64..16) {
        let rules = Rules::new(threshold).expect("threshold ≥ 1");
        let s = rules.suppress(t.clone());
        prop_assert_eq!(audit(&s), Ok(()));
        prop_assert_eq!(&s, &rules.suppress(t.clone()), "deterministic");
        prop_assert_eq!(audit(&s.row_margin("people")), Ok(()));
        prop_assert_eq!(audit(&s.column_margin("people")), Ok(()));
        for at in t.positions() {
            let v = t.get(at).expect("in the table");
            match s.suppression(at) {
                Some(Suppression::Primary) => prop_assert!(v >= 1 && v < threshold),
                Some(Suppression::Complement) => prop_assert!(v >= 1),
                None => prop_assert!(v == 0 || v >= threshold),
            }
        }
        let csv = to_csv(&s);
        let lines: Vec<&str> = csv.split("\r\n").filter(|l| !l.is_empty()).collect();
        let expected_lines = 1 + t.rows() + usize::from(t.rows() > 1);
        prop_assert_eq!(lines.len(), expected_lines);
        for (n, line) in lines.iter().enumerate().skip(1) {
            // Labels have no commas here, so a split is a parse.
            for (k, field) in line.split(',').enumerate().skip(1) {
                let ats = stands_for(&t, n, k);
                if ats.iter().any(|&at| s.suppression(at).is_some()) {
                    prop_assert_eq!(field, SUPPRESSED);
                } else {
                    for at in ats {
                        prop_assert_eq!(Some(Published::Count(field.parse().expect("a count"))), s.published(at));
                    }
                }
            }
        }
        // The Markdown holds the same fields between pipes.
        let md = to_markdown(&s);
        let md_fields: Vec<Vec<&str>> = md
            .lines()
            .filter(|l| l.starts_with("| "))
            .map(|l| l.trim_matches('|').split(" | ").map(str::trim).collect())
            .collect();
        let csv_fields: Vec<Vec<&str>> = lines.iter().map(|l| l.split(',').collect()).collect();
        prop_assert_eq!(md_fields, csv_fields);
    }

    /// Marks chosen at random (not by the suppressor): the audit calls an
    /// entry recomputable exactly when enumerating every completion near the
    /// true one finds no other value for it.
    #[test]
    fn the_audit_agrees_with_brute_force(t in table(3, 3, tiny()), picks in proptest::collection::vec(any::<bool>(), 16)) {
        let hidden: Vec<At> = t
            .positions()
            .zip(picks.iter().cycle())
            .filter(|&(at, &pick)| pick && t.get(at) != Some(0))
            .map(|(at, _)| at)
            .take(6)
            .collect();
        let marks = hidden.iter().map(|&at| (at, Suppression::Complement));
        // Threshold 1: nothing is small, so only recomputability is judged.
        let s = Suppressed::with_marks(t.clone(), Rules::new(1).expect("1 ≥ 1"), marks);
        let expected = first_pinned(&t, &hidden).map(Disclosure::Recomputable).map_or(Ok(()), Err);
        prop_assert_eq!(audit(&s), expected);
    }
}

/// Enumerates every assignment of the hidden entries within ±2 of their
/// true values (each ≥ 1) that keeps every row, column and grand total
/// relation, and returns the first hidden entry (in position order) that
/// takes one value only. ±2 is enough: an entry that can move at all can
/// move by one.
fn first_pinned(t: &CountTable, hidden: &[At]) -> Option<At> {
    let truth: Vec<i64> = hidden
        .iter()
        .map(|&at| t.get(at).expect("in the table") as i64)
        .collect();
    let mut varies = vec![false; hidden.len()];
    let mut offsets = vec![-2i64; hidden.len()];
    loop {
        let trial: Vec<i64> = truth.iter().zip(&offsets).map(|(v, o)| v + o).collect();
        if trial.iter().all(|&v| v >= 1) && consistent(t, hidden, &trial) {
            for (k, o) in offsets.iter().enumerate() {
                varies[k] |= *o != 0;
            }
        }
        // Next offset vector, odometer style.
        let mut k = 0;
        loop {
            if k == offsets.len() {
                return hidden
                    .iter()
                    .zip(&varies)
                    .find(|&(_, v)| !v)
                    .map(|(&at, _)| at);
            }
            offsets[k] += 1;
            if offsets[k] <= 2 {
                break;
            }
            offsets[k] = -2;
            k += 1;
        }
    }
}

/// Whether the table with `hidden` replaced by `trial` still adds up.
fn consistent(t: &CountTable, hidden: &[At], trial: &[i64]) -> bool {
    let value = |at: At| -> i64 {
        hidden
            .iter()
            .position(|&h| h == at)
            .map_or_else(|| t.get(at).expect("in the table") as i64, |k| trial[k])
    };
    let (r, c) = (t.rows(), t.columns());
    let rows_ok = (0..r).all(|row| {
        (0..c)
            .map(|column| value(At::Cell { row, column }))
            .sum::<i64>()
            == value(At::RowTotal(row))
    });
    let columns_ok = (0..c).all(|column| {
        (0..r)
            .map(|row| value(At::Cell { row, column }))
            .sum::<i64>()
            == value(At::ColumnTotal(column))
    });
    let grand = value(At::GrandTotal);
    rows_ok
        && columns_ok
        && (0..r).map(|row| value(At::RowTotal(row))).sum::<i64>() == grand
        && (0..c)
            .map(|column| value(At::ColumnTotal(column)))
            .sum::<i64>()
            == grand
}
