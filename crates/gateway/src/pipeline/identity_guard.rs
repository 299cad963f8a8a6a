//! Guard identity: the wrong-patient checks on what sources answered.
//! Pure: no I/O.
//!
//! Two checks, at two moments. [`check_nhs_number`] runs on each answer as
//! it arrives, before the cache sees it, so that an answer whose
//! demographics name another NHS number is never cached and never shown.
//! [`guard_birth_dates`] runs once every answer is in: an answer whose full
//! date of birth differs from the reference ([`reference_birth_date`]:
//! the demographics service's, else one most sources agree on) is about
//! someone else, and is replaced by an identity-mismatch failure.

use std::sync::Arc;
use std::time::Duration;

use icr_adapter_sdk::SourceError;
use icr_model::SourceRecord;

/// The wrong-patient guard on one answer (a source whose demographics name
/// another NHS number is about someone else): the one every adapter shares.
pub(crate) use icr_adapter_sdk::identity::check_nhs_number;

/// A full date of birth as (year, month, day); partial dates (a year, a
/// month) are never judged a mismatch.
pub(crate) type Birth = (i32, u8, u8);

/// The full date of birth an answer holds, if it holds one.
pub(crate) fn birth_date(record: &SourceRecord) -> Option<Birth> {
    use icr_model::PartialDateTime as P;
    let date = match record.patient.as_ref()?.demographics.birth_date.as_ref()? {
        P::Date(d) => *d,
        P::DateTime(t) => t.date(),
        P::Year(_) | P::YearMonth(..) => return None,
    };
    Some((date.year(), u8::from(date.month()), date.day()))
}

/// The date of birth the others are checked against: the demographics
/// service's when it answered with one, else one that at least two
/// sources agree on and no other date has as many.
pub(crate) fn reference_birth_date(
    answers: &[(usize, &SourceRecord)],
    demographics: Option<usize>,
) -> Option<Birth> {
    if let Some(d) = demographics
        .and_then(|d| answers.iter().find(|(i, _)| *i == d))
        .and_then(|(_, r)| birth_date(r))
    {
        return Some(d);
    }
    let mut counts: Vec<(Birth, usize)> = Vec::new();
    for (_, r) in answers {
        if let Some(d) = birth_date(r) {
            match counts.iter_mut().find(|(c, _)| *c == d) {
                Some((_, n)) => *n += 1,
                None => counts.push((d, 1)),
            }
        }
    }
    counts.sort_by_key(|c| std::cmp::Reverse(c.1));
    match counts.as_slice() {
        [(d, n), rest @ ..] if *n >= 2 && rest.first().is_none_or(|(_, m)| m < n) => Some(*d),
        _ => None,
    }
}

/// One source's answer (with whatever the fetch adds, `R`) and how long it
/// took; `None` when it gave no answer by the deadline.
pub(crate) type Slot<R> = Option<(Result<(Arc<SourceRecord>, R), SourceError>, Duration)>;

/// The wrong-patient guard across sources: every answer whose full date of
/// birth differs from the reference's becomes an identity mismatch
/// (`demographics`: the demographics service's index).
pub(crate) fn guard_birth_dates<R>(results: &mut [Slot<R>], demographics: Option<usize>) {
    let reference = {
        let answers: Vec<(usize, &SourceRecord)> = results
            .iter()
            .enumerate()
            .filter_map(|(i, r)| match r {
                Some((Ok((record, _)), _)) => Some((i, record.as_ref())),
                _ => None,
            })
            .collect();
        reference_birth_date(&answers, demographics)
    };
    let Some(reference) = reference else {
        return;
    };
    for slot in results {
        if let Some((Ok((record, _)), elapsed)) = slot
            && birth_date(record).is_some_and(|d| d != reference)
        {
            *slot = Some((
                Err(SourceError::IdentityMismatch(
                    "the date of birth this source holds differs from the demographics service's (or most sources'); nothing from it is shown".into(),
                )),
                *elapsed,
            ));
        }
    }
}

#[cfg(test)]
#[path = "identity_guard_tests.rs"]
mod tests;
