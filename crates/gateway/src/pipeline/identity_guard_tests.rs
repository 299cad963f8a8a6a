use std::sync::Arc;
use std::time::Duration;

use icr_adapter_sdk::SourceError;
use icr_model::NhsNumber;

use super::*;
use crate::pipeline::test_support::answer;

const ASKED: &str = "9990000018";

fn asked() -> NhsNumber {
    NhsNumber::parse(ASKED).unwrap()
}

#[test]
fn an_answer_naming_another_nhs_number_is_a_mismatch() {
    let other = answer(Some("9990000026"), None, None);
    assert_eq!(
        check_nhs_number(&other, asked()),
        Err(SourceError::IdentityMismatch(
            "the source answered with a record for another NHS number; nothing from it is shown"
                .into()
        ))
    );
    assert_eq!(
        check_nhs_number(&answer(Some(ASKED), None, None), asked()),
        Ok(())
    );
    // No NHS number in the answer: nothing to judge it by.
    assert_eq!(check_nhs_number(&answer(None, None, None), asked()), Ok(()));
    assert_eq!(check_nhs_number(&Default::default(), asked()), Ok(()));
}

#[test]
fn only_full_dates_of_birth_are_judged() {
    assert_eq!(
        birth_date(&answer(None, Some("1970-03-04"), None)),
        Some((1970, 3, 4))
    );
    assert_eq!(
        birth_date(&answer(None, Some("1970-03-04T10:00:00Z"), None)),
        Some((1970, 3, 4))
    );
    assert_eq!(birth_date(&answer(None, Some("1970-03"), None)), None);
    assert_eq!(birth_date(&answer(None, Some("1970"), None)), None);
    assert_eq!(birth_date(&answer(None, None, None)), None);
}

#[test]
fn the_reference_is_the_demographics_services_else_a_strict_majority_of_two_or_more() {
    let a = answer(None, Some("1970-03-04"), None);
    let b = answer(None, Some("1980-01-01"), None);
    let c = answer(None, Some("1980-01-01"), None);
    let none = answer(None, None, None);
    // The demographics service (index 0) wins even against a majority.
    assert_eq!(
        reference_birth_date(&[(0, &a), (1, &b), (2, &c)], Some(0)),
        Some((1970, 3, 4))
    );
    // The demographics service holds no date: the majority of two.
    assert_eq!(
        reference_birth_date(&[(0, &none), (1, &b), (2, &c), (3, &a)], Some(0)),
        Some((1980, 1, 1))
    );
    // One against one, or a single source: no reference.
    assert_eq!(reference_birth_date(&[(1, &a), (2, &b)], None), None);
    assert_eq!(reference_birth_date(&[(1, &a)], None), None);
    // A tie of two against two: no reference.
    let d = answer(None, Some("1970-03-04"), None);
    assert_eq!(
        reference_birth_date(&[(1, &a), (2, &b), (3, &c), (4, &d)], None),
        None
    );
}

#[test]
fn answers_disagreeing_with_the_reference_become_mismatches() {
    let ok = |birth: &str| {
        Some((
            Ok((Arc::new(answer(None, Some(birth), None)), ())),
            Duration::from_millis(7),
        ))
    };
    let mut results: Vec<Slot<()>> = vec![
        ok("1970-03-04"),
        ok("1980-01-01"),
        ok("1970-03"),
        None,
        Some((Err(SourceError::PatientNotFound), Duration::ZERO)),
    ];
    guard_birth_dates(&mut results, Some(0));
    let shape: Vec<&str> = results
        .iter()
        .map(|r| match r {
            Some((Ok(_), _)) => "ok",
            Some((Err(SourceError::IdentityMismatch(_)), d)) => {
                assert_eq!(*d, Duration::from_millis(7));
                "mismatch"
            }
            Some((Err(_), _)) => "other",
            None => "none",
        })
        .collect();
    assert_eq!(shape, ["ok", "mismatch", "ok", "none", "other"]);
    // No reference (one source each): nothing changes.
    let mut lone: Vec<Slot<()>> = vec![ok("1970-03-04"), ok("1980-01-01")];
    guard_birth_dates(&mut lone, None);
    assert!(lone.iter().all(|r| matches!(r, Some((Ok(_), _)))));
}
