//! Fetch: execute a [`Plan`] — ask every planned source at once (those
//! planned skipped or objected aside), each through its per-source chain,
//! the whole under the request's deadline; when the demographics service
//! answers, ask the registered practice it names (routing is planned by
//! [`plan::route_to_practice`], not here). A practice asked at once because
//! it was remembered is kept only if the demographics service names it
//! now; otherwise its answer is dropped, it is marked skipped (why), and
//! the practice named is asked as without the memory: one more round trip.
//!
//! The per-source chain, outermost first: the cache (single-flight: one
//! fetch per key, shared by concurrent requests) → the identity check on
//! the answer (never cached if it names someone else) → the guard (circuit
//! breaker, bulkhead, retries: [`crate::resilience::Guard`]) → the adapter,
//! all under the source's time limit within the request's deadline. An
//! answer the cache already holds (a record or "no record") is taken in the
//! request's own task; a task is spawned only for a source to be called.
//!
//! Why not tower layers, as Apollo Router builds a subgraph service from
//! `ServiceBuilder` layers in its traffic-shaping plugin? Apollo composes
//! layers that operators switch on per subgraph, over one request type;
//! here the chain is fixed, four stages, and each stage needs what tower's
//! `Service` shape does not give cheaply: the cache wraps a *future* (its
//! single-flight `get_or_fetch`), the time limit is a per-request deadline
//! `Instant` rather than a per-layer `Duration`, and the guard's counters
//! are read by `/metrics` and `/v1/sources`. As tower services each stage
//! would need `poll_ready`, a cloned service per call and a boxed future
//! (`BoxCloneService`), allocations the warm path (every answer cached: one
//! cache lookup, nothing else) does not make today. So the chain stays two
//! plain functions, [`fetch_one`] and `Guard::call`, and reads top to bottom.

use std::sync::Arc;
use std::time::Duration;

use icr_adapter_sdk::{FetchRequest, RequestContext, Routing, SourceError};
use icr_merge::Warning;
use icr_model::{NhsNumber, SectionSet, SourceRecord};
use icr_policy::SourceFilter;
use tokio::time::Instant;
use tracing::Instrument as _;

use super::identity_guard::{Slot, check_nhs_number};
use super::plan::{self, Ask, Plan, Registered, Skip};
use crate::cache::{Answer, CacheKey, Received, SourceCache, kept};
use crate::extract_lane::Traffic;
use crate::sources::Source;

/// A source's answer and whether it came from the cache.
pub(crate) type Fetched = Result<(Arc<SourceRecord>, Received), SourceError>;

/// One source's call as it ended.
struct Called {
    /// The source's registration index.
    index: usize,
    /// Its record, or why there is none.
    result: Fetched,
    /// When its "no record" answer was received, and whether from the
    /// cache, if that was the answer.
    no_record: Option<Received>,
    /// How long the call took.
    elapsed: Duration,
}

/// A source's answer as the cache gives it, as the call's result.
fn answered(answer: Answer) -> (Fetched, Option<Received>) {
    match answer {
        (Some(record), received) => (Ok((record, received)), None),
        (None, received) => (Err(SourceError::PatientNotFound), Some(received)),
    }
}

impl Registered for Arc<Source> {
    fn routing(&self) -> Routing {
        self.spec.routing
    }
    fn sections(&self) -> SectionSet {
        self.spec.sections
    }
    fn ods_code(&self) -> &icr_model::OdsCode {
        &self.spec.ods_code
    }
    fn located(&self) -> bool {
        self.spec.located
    }
}

/// What the sources said, by registration index.
pub(crate) struct Gathered {
    /// Every source asked (the practice included), in registration order.
    pub asks: Vec<Ask>,
    /// Each source's answer, by registration index (`None`: not asked, or
    /// no answer by the deadline).
    pub results: Vec<Slot<Received>>,
    /// When each source's "no record" answer was received (and whether
    /// from the cache), by registration index.
    pub no_record: Vec<Option<Received>>,
    /// Why the registered practice was not asked, if it was not.
    pub warnings: Vec<Warning>,
    /// The registered practice could not be found out (the demographics
    /// service failed or was too slow), so any practice might hold a record.
    pub practice_unknown: bool,
    /// From the first call to the last answer.
    pub waited: Duration,
}

/// The answer reported for a source the person's objection excludes.
fn not_shared() -> Slot<Received> {
    Some((
        Err(SourceError::Withheld(
            "not shared: the person has objected to this organisation sharing their record".into(),
        )),
        Duration::ZERO,
    ))
}

/// Asks the planned sources, and the registered practice once the
/// demographics service names it, until `deadline`.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn execute(
    sources: &[Arc<Source>],
    cache: Option<&SourceCache>,
    plan: Plan,
    nhs_number: NhsNumber,
    sections: SectionSet,
    permitted: &SourceFilter,
    context: RequestContext,
    deadline: Instant,
    traffic: Traffic,
) -> Gathered {
    let Plan {
        mut asks,
        practices_wanted,
        remembered_practice,
        fresh,
    } = plan;
    let context = Arc::new(context);
    let mut results: Vec<Slot<Received>> = vec![None; sources.len()];
    let mut no_record: Vec<Option<Received>> = vec![None; sources.len()];
    let mut tasks = tokio::task::JoinSet::new();
    let started = Instant::now();
    let spawn = |tasks: &mut tokio::task::JoinSet<_>, ask: &Ask| {
        let cache = cache.cloned();
        let source = Arc::clone(&sources[ask.index]);
        let ctx = Arc::clone(&context);
        let (index, wanted) = (ask.index, ask.sections);
        let span = source_span(&source);
        tasks.spawn(
            async move {
                let started = Instant::now();
                let cache = cache.as_ref().map(|c| (c, fresh));
                let (result, no_record) =
                    fetch_one(cache, &source, nhs_number, wanted, deadline, ctx, traffic).await;
                let elapsed = started.elapsed();
                record_outcome(&tracing::Span::current(), &result, elapsed);
                Called {
                    index,
                    result,
                    no_record,
                    elapsed,
                }
            }
            .instrument(span),
        );
    };
    // Answers the cache holds are taken here, in the request's own task;
    // a task is spawned only for a source that must be called (or whose
    // answer another request is fetching now: the cache shares that fetch).
    let mut ready: Vec<Called> = Vec::new();
    for ask in &asks {
        if ask.objected {
            results[ask.index] = not_shared();
        } else if ask.skip.is_none() {
            match held(cache, sources, ask, nhs_number, fresh).await {
                Some(called) => ready.push(called),
                None => spawn(&mut tasks, ask),
            }
        }
    }
    let mut warnings: Vec<Warning> = Vec::new();
    let mut routed = false;
    let mut practice_unknown = false;
    // The remembered practice, once the demographics service did not
    // confirm it: its answer is dropped, whenever it comes.
    let mut dropped: Option<usize> = None;
    let drop_practice = |asks: &mut Vec<Ask>, results: &mut Vec<Slot<Received>>, why| {
        let index = remembered_practice?;
        if let Some(a) = asks.iter_mut().find(|a| a.index == index) {
            a.skip = Some(why);
        }
        results[index] = None;
        Some(index)
    };
    // Every task ends by the deadline (each is bounded by it); a small
    // grace covers scheduling.
    let collect = async {
        loop {
            let called = match ready.pop() {
                Some(called) => called,
                None => match tasks.join_next().await {
                    Some(Ok(called)) => called,
                    Some(Err(_)) => continue,
                    None => break,
                },
            };
            let index = called.index;
            if dropped == Some(index) {
                continue;
            }
            if practices_wanted && !routed && sources[index].spec.routing == Routing::Demographics {
                routed = true;
                let named = called.result.as_ref().map(|(record, _)| record.as_ref());
                match plan::route_to_practice(sources, named, sections, permitted) {
                    // The practice remembered is the one named: already asked.
                    Ok(Some(practice)) if remembered_practice == Some(practice.index) => {}
                    Ok(Some(practice)) => {
                        dropped = drop_practice(&mut asks, &mut results, Skip::NoLongerPractice);
                        asks.push(practice);
                        if practice.objected {
                            results[practice.index] = not_shared();
                        } else {
                            match held(cache, sources, &practice, nhs_number, fresh).await {
                                Some(called) => ready.push(called),
                                None => spawn(&mut tasks, &practice),
                            }
                        }
                    }
                    // The practice named offers nothing wanted, so it is
                    // not the remembered one (which was asked for some).
                    Ok(None) => {
                        dropped = drop_practice(&mut asks, &mut results, Skip::NoLongerPractice);
                    }
                    Err(not_asked) => {
                        dropped = drop_practice(&mut asks, &mut results, Skip::PracticeUnconfirmed);
                        practice_unknown |= not_asked.unknown;
                        warnings.push(not_asked.warning);
                    }
                }
            }
            no_record[index] = called.no_record;
            results[index] = Some((called.result, called.elapsed));
        }
    };
    let _ = tokio::time::timeout_at(deadline + Duration::from_millis(50), collect).await;
    let waited = started.elapsed();
    tasks.abort_all();
    if practices_wanted && !routed {
        // The demographics service was still pending at the deadline.
        drop_practice(&mut asks, &mut results, Skip::PracticeUnconfirmed);
        let not_asked = plan::demographics_too_slow();
        practice_unknown |= not_asked.unknown;
        warnings.push(not_asked.warning);
    }
    asks.sort_by_key(|a| a.index);
    Gathered {
        asks,
        results,
        no_record,
        warnings,
        practice_unknown,
        waited,
    }
}

impl CacheKey {
    /// The entry for `source`'s answer about `nhs_number`'s `sections`.
    fn of(source: &Source, nhs_number: NhsNumber, sections: SectionSet) -> Self {
        CacheKey {
            source: source.spec.id.clone(),
            nhs_number,
            sections,
        }
    }
}

/// The answer the cache holds now for one source, if any (never on a
/// refresh, nor for a source whose answers are not cached), with the time
/// the lookup took; its span is recorded as a call's would be.
async fn held(
    cache: Option<&SourceCache>,
    sources: &[Arc<Source>],
    ask: &Ask,
    nhs_number: NhsNumber,
    fresh: bool,
) -> Option<Called> {
    let source = &sources[ask.index];
    let cache = cache.filter(|_| !fresh && source.spec.cache_ttl_s > 0)?;
    let started = Instant::now();
    let key = CacheKey::of(source, nhs_number, ask.sections);
    let (result, no_record) = answered(cache.cached(&key).await?);
    let elapsed = started.elapsed();
    record_outcome(&source_span(source), &result, elapsed);
    Some(Called {
        index: ask.index,
        result,
        no_record,
        elapsed,
    })
}

/// One span per source call: ids, kind and outcome only, never the person
/// or anything clinical.
fn source_span(source: &Source) -> tracing::Span {
    tracing::info_span!(
        "source",
        source = %source.spec.id,
        kind = %source.spec.kind,
        status = tracing::field::Empty,
        cache_hit = tracing::field::Empty,
        items = tracing::field::Empty,
        latency_ms = tracing::field::Empty,
    )
}

/// Records how a call went on its span.
fn record_outcome(span: &tracing::Span, result: &Fetched, elapsed: Duration) {
    match result {
        Ok((record, received)) => {
            span.record("status", "answered");
            span.record("cache_hit", received.cached);
            span.record("items", record.items.len() as u64);
        }
        Err(e) => {
            span.record("status", e.status().as_str());
            span.record("cache_hit", false);
        }
    }
    span.record("latency_ms", elapsed.as_millis() as u64);
}

/// Asks one source, through the cache when there is one (on a refresh,
/// `(cache, true)`, the source itself, its answer then cached), under the
/// source's own time limit within the request's deadline.
async fn fetch_one(
    cache: Option<(&SourceCache, bool)>,
    source: &Source,
    nhs_number: NhsNumber,
    sections: SectionSet,
    request_deadline: Instant,
    context: Arc<RequestContext>,
    traffic: Traffic,
) -> (Fetched, Option<Received>) {
    // Interactive calls are marked in flight, so that extract calls wait
    // for them; an extract call waits for its lane before its own time
    // limit starts.
    let (_interactive, _extract) = match traffic {
        Traffic::Interactive => (Some(source.lane.interactive()), None),
        Traffic::Extract => (None, source.lane.admit(|| source.guard.circuit()).await),
    };
    let budget = Duration::from_millis(source.spec.timeout_ms);
    let deadline = request_deadline.min(Instant::now() + budget);
    let request = FetchRequest {
        nhs_number,
        sections,
        deadline,
        context,
    };
    let adapter = Arc::clone(&source.adapter);
    let guard = &source.guard;
    let fetch = async move {
        let record = guard.call(deadline, || adapter.fetch(&request)).await?;
        // An answer about someone else is never cached, never shown.
        check_nhs_number(&record, nhs_number)?;
        Ok(record)
    };
    let ttl = Duration::from_secs(source.spec.cache_ttl_s);
    let work = async {
        match (cache, ttl.is_zero()) {
            (Some((cache, fresh)), false) => {
                let key = CacheKey::of(source, nhs_number, sections);
                if fresh {
                    cache.fetch_fresh(key, ttl, fetch).await
                } else {
                    cache.get_or_fetch(key, ttl, fetch).await
                }
            }
            _ => kept(fetch.await).map(|r| (r, Received::now())),
        }
    };
    let started = Instant::now();
    let answer = match tokio::time::timeout_at(deadline, work).await {
        Ok(Ok(answer)) => answered(answer),
        Ok(Err(e)) => (Err(e), None),
        Err(_) => (
            Err(SourceError::Timeout {
                after_ms: started.elapsed().as_millis() as u64,
            }),
            None,
        ),
    };
    if traffic == Traffic::Extract {
        // "Not known here" is an answer, not a failure: only what counts
        // against the source's health slows the extract.
        let failed = answer.0.as_ref().is_err_and(crate::resilience::is_failure);
        source.lane.observed(started.elapsed(), failed);
    }
    answer
}

#[cfg(test)]
#[path = "fetch_tests.rs"]
mod tests;
