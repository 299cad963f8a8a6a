//! Recall and learn: before planning, what the gateway knows of where the
//! person's records are — the sources that answered lately that they hold
//! none, the practice last named as theirs (both [`crate::memory`]), the
//! record-location index ([`crate::locate`]) — read into [`Hints`] for the
//! pure plan; after fetching, what the sources said taught back to the
//! memories. A refresh recalls nothing, but still teaches.
//!
//! A failed or slow index lookup means "unknown": every source is asked,
//! and the record carries a warning saying so.

use std::sync::atomic::Ordering;
use std::time::Duration;

use icr_adapter_sdk::{Routing, SourceError};
use icr_merge::Warning;
use icr_model::time::OffsetDateTime;
use icr_model::{NhsNumber, OdsCode};
use tokio::time::Instant;

use super::fetch::Gathered;
use super::plan::{Hints, Plan, Skip};
use crate::sources::State;

/// What was recalled for one request.
#[derive(Default)]
pub(crate) struct Recalled {
    not_found: Vec<Option<(Duration, OffsetDateTime)>>,
    located: Option<Vec<OdsCode>>,
    practice: Option<OdsCode>,
    /// Why the index could not be used, when its lookup failed.
    pub warning: Option<Warning>,
}

impl Recalled {
    /// As hints for the plan.
    pub(crate) fn hints(&self) -> Hints<'_> {
        Hints {
            not_found: self.not_found.clone(),
            located: self.located.as_deref(),
            practice: self.practice.as_ref(),
            fresh: false,
        }
    }
}

/// Reads the memories and the index for `nhs` (the lookup bounded by its
/// own limit and the request's `deadline`).
pub(crate) async fn recall(state: &State, nhs: NhsNumber, deadline: Instant) -> Recalled {
    let now = OffsetDateTime::now_utc();
    let mut recalled = Recalled {
        not_found: vec![None; state.sources.len()],
        ..Recalled::default()
    };
    for (i, s) in state.sources.iter().enumerate() {
        if s.spec.routing != Routing::All {
            continue;
        }
        if let Some((at, until)) = state.memory.not_found_at(&s.spec.id, nhs).await
            && until > now
        {
            let ago = Duration::try_from(now - at).unwrap_or_default();
            recalled.not_found[i] = Some((ago, until));
        }
    }
    recalled.practice = state.memory.practice(nhs).await;
    let Some(locator) = &state.locator else {
        return recalled;
    };
    if !state.sources.iter().any(|s| s.spec.located) {
        return recalled;
    }
    let failed = match tokio::time::timeout_at(deadline, locator.locate(nhs)).await {
        Ok(Ok(holders)) => {
            recalled.located = holders;
            return recalled;
        }
        Ok(Err(e)) => e.to_string(),
        Err(_) => "no answer within the request's deadline".into(),
    };
    state
        .memory
        .stats()
        .index_failures
        .fetch_add(1, Ordering::Relaxed);
    // No NHS number in the log: only why.
    tracing::warn!(error = %failed, "the record-location index failed; every source is asked");
    recalled.warning = Some(Warning {
        code: "index-unavailable",
        message: format!(
            "the record-location index could not be read ({failed}); every source was asked"
        ),
        sources: Vec::new(),
    });
    recalled
}

/// Counts the sources the plan skips, by why.
pub(crate) fn count_skips(state: &State, plan: &Plan) {
    let stats = state.memory.stats();
    for ask in &plan.asks {
        match ask.skip {
            Some(Skip::NotFoundLately { .. }) => &stats.not_found_skips,
            Some(Skip::NotLocated) => &stats.index_skips,
            _ => continue,
        }
        .fetch_add(1, Ordering::Relaxed);
    }
    if plan.remembered_practice.is_some() {
        stats.practice_first_wave.fetch_add(1, Ordering::Relaxed);
    }
}

/// Teaches the memories what the sources said about `nhs`: each source
/// routed to everyone that answered it holds no record, and the practice
/// the demographics service (at `demographics`) names now, or none.
pub(crate) async fn learn(
    state: &State,
    gathered: &Gathered,
    nhs: NhsNumber,
    demographics: Option<usize>,
) {
    let memory = &state.memory;
    for ask in &gathered.asks {
        let source = &state.sources[ask.index];
        match ask.skip {
            Some(Skip::NoLongerPractice | Skip::PracticeUnconfirmed) => {
                memory
                    .stats()
                    .practice_unconfirmed
                    .fetch_add(1, Ordering::Relaxed);
                continue;
            }
            Some(_) => continue,
            None => {}
        }
        // Learnt from the source's own answer, not from one cached: a
        // cached "no record" would otherwise be remembered anew each time.
        if source.spec.routing == Routing::All
            && matches!(
                gathered.results[ask.index],
                Some((Err(SourceError::PatientNotFound), _))
            )
            && !gathered.no_record[ask.index].is_some_and(|r| r.cached)
        {
            memory.remember_not_found(&source.spec.id, nhs).await;
        }
    }
    let Some(index) = demographics else { return };
    match &gathered.results[index] {
        Some((Ok((record, _)), _)) => {
            let named = record
                .patient
                .as_ref()
                .and_then(|p| p.demographics.registered_practice.clone());
            memory.remember_practice(nhs, named).await;
        }
        Some((Err(SourceError::PatientNotFound), _)) => {
            memory.remember_practice(nhs, None).await;
        }
        _ => {}
    }
}
