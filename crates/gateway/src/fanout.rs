//! The request flow from a valid request to a merged view: plan, fan out
//! under deadlines through the cache, merge, decide the overall status.

use std::sync::Arc;
use std::time::Duration;

use icr_adapter_sdk::{FetchRequest, RequestContext, SourceAdapter, SourceError, SourceSpec};
use icr_config::Config;
use icr_merge::{MergedRecord, Warning, merge};
use icr_model::{NhsNumber, OdsCode, SectionSet, SourceId, SourceIssue, SourceMeta, SourceRecord};
use serde::Serialize;
use tokio::time::Instant;

use crate::cache::{CacheKey, SourceCache};

/// A source's answer and whether it came from the cache.
type Fetched = Result<(Arc<SourceRecord>, bool), SourceError>;

/// One registered source, ready to ask.
struct Source {
    spec: SourceSpec,
    meta: Arc<SourceMeta>,
    adapter: Arc<dyn SourceAdapter>,
}

/// How one source's part of a request went.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Answered in full.
    Ok,
    /// Answered, but some of what it holds could not be fetched or read.
    Partial,
    /// Answered that it holds no record for the person.
    NotFound,
    /// Did not answer in time.
    Timeout,
    /// Could not be reached.
    Unavailable,
    /// Answered with an error or with something unreadable.
    Error,
}

impl Status {
    /// True when the source's items are in the view.
    pub fn answered(self) -> bool {
        matches!(self, Status::Ok | Status::Partial)
    }

    fn from_error(e: &SourceError) -> Self {
        match e {
            SourceError::Timeout { .. } => Status::Timeout,
            SourceError::Unavailable(_) => Status::Unavailable,
            SourceError::PatientNotFound => Status::NotFound,
            SourceError::HttpStatus { .. }
            | SourceError::TooLarge { .. }
            | SourceError::Malformed(_) => Status::Error,
        }
    }
}

/// The status of one source in a response.
#[derive(Clone, Debug, Serialize)]
pub struct SourceStatus {
    /// Source id.
    pub source: SourceId,
    /// Organisation name.
    pub organisation: String,
    /// Organisation ODS code.
    pub ods_code: OdsCode,
    /// Adapter kind.
    pub kind: String,
    /// How it went.
    pub status: Status,
    /// Time spent on this source, in milliseconds.
    pub latency_ms: u64,
    /// Items it contributed (before de-duplication).
    pub items: usize,
    /// Whether the answer came from the cache (or from a concurrent
    /// request's fetch) rather than this request's own call.
    pub cached: bool,
    /// What went wrong, for any status but `ok`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Problems with parts of its answer.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub issues: Vec<SourceIssue>,
}

/// Everything a renderer needs to answer one record request.
#[derive(Debug)]
pub struct RecordOutcome {
    /// The person.
    pub nhs_number: NhsNumber,
    /// The sections asked for.
    pub sections: SectionSet,
    /// The merged view.
    pub merged: MergedRecord,
    /// A status for every source asked, in registration order.
    pub sources: Vec<SourceStatus>,
    /// The HTTP status the answer should have: 200 if any source answered
    /// (or none was asked), 404 if every source asked holds no record,
    /// otherwise 502.
    pub http_status: u16,
}

/// The gateway's state: the registered sources, the cache and the limits.
#[derive(Clone)]
pub struct Gateway {
    inner: Arc<Inner>,
}

struct Inner {
    sources: Vec<Source>,
    cache: Option<SourceCache>,
    deadline: Duration,
    identity: OdsCode,
}

impl Gateway {
    /// Builds the gateway from a loaded configuration.
    pub fn new(config: &Config) -> Self {
        let sources = config
            .sources
            .iter()
            .map(|s| Source {
                meta: s.spec.meta(),
                spec: s.spec.clone(),
                adapter: Arc::clone(&s.adapter),
            })
            .collect();
        let cache = config
            .gateway
            .cache
            .enabled
            .then(|| SourceCache::new(config.gateway.cache.max_bytes));
        Self {
            inner: Arc::new(Inner {
                sources,
                cache,
                deadline: Duration::from_millis(config.gateway.request_deadline_ms),
                identity: config.gateway.identity.ods_code.clone(),
            }),
        }
    }

    /// Number of registered sources.
    pub fn source_count(&self) -> usize {
        self.inner.sources.len()
    }

    /// The sections some registered source offers.
    pub fn offered_sections(&self) -> SectionSet {
        self.inner
            .sources
            .iter()
            .fold(SectionSet::EMPTY, |acc, s| acc.union(s.spec.sections))
    }

    /// Fetches, merges and judges the record of one person.
    pub async fn record(&self, nhs_number: NhsNumber, sections: SectionSet) -> RecordOutcome {
        let deadline = Instant::now() + self.inner.deadline;
        let plan: Vec<(usize, SectionSet)> = self
            .inner
            .sources
            .iter()
            .enumerate()
            .filter_map(|(i, s)| {
                let wanted = s.spec.sections.intersection(sections);
                (!wanted.is_empty()).then_some((i, wanted))
            })
            .collect();

        let context = Arc::new(self.context());
        let mut tasks = tokio::task::JoinSet::new();
        for (index, wanted) in &plan {
            let gw = self.clone();
            let ctx = Arc::clone(&context);
            let (index, wanted) = (*index, *wanted);
            tasks.spawn(async move {
                let started = Instant::now();
                let result = gw.fetch_one(index, nhs_number, wanted, deadline, ctx).await;
                (index, result, started.elapsed())
            });
        }
        let mut results: Vec<Option<(Fetched, Duration)>> = vec![None; self.inner.sources.len()];
        // Every task ends by the deadline (each is bounded by it); a small
        // grace covers scheduling.
        let collect = async {
            while let Some(joined) = tasks.join_next().await {
                if let Ok((index, result, elapsed)) = joined {
                    results[index] = Some((result, elapsed));
                }
            }
        };
        let _ = tokio::time::timeout_at(deadline + Duration::from_millis(50), collect).await;
        tasks.abort_all();

        let mut statuses = Vec::with_capacity(plan.len());
        let mut answered: Vec<Arc<SourceRecord>> = Vec::new();
        for (index, wanted) in &plan {
            let source = &self.inner.sources[*index];
            let (status, latency, items, cached, message, issues) = match results[*index].take() {
                Some((Ok((record, cached)), elapsed)) => {
                    let items = record
                        .items
                        .iter()
                        .filter(|i| wanted.contains(i.entry.section()))
                        .count();
                    let loses = record.issues.iter().any(SourceIssue::loses_data);
                    let status = if loses { Status::Partial } else { Status::Ok };
                    let message = loses.then(|| {
                        "some of this source's record could not be fetched or read; see issues"
                            .to_string()
                    });
                    let issues = record.issues.clone();
                    answered.push(record);
                    (status, elapsed, items, cached, message, issues)
                }
                Some((Err(e), elapsed)) => (
                    Status::from_error(&e),
                    elapsed,
                    0,
                    false,
                    Some(e.to_string()),
                    Vec::new(),
                ),
                None => (
                    Status::Timeout,
                    self.inner.deadline,
                    0,
                    false,
                    Some(format!(
                        "no answer within the request deadline of {} ms",
                        self.inner.deadline.as_millis()
                    )),
                    Vec::new(),
                ),
            };
            statuses.push(SourceStatus {
                source: source.spec.id.clone(),
                organisation: source.meta.organisation.clone(),
                ods_code: source.meta.ods_code.clone(),
                kind: source.spec.kind.clone(),
                status,
                latency_ms: latency.as_millis() as u64,
                items,
                cached,
                message,
                issues,
            });
        }

        let refs: Vec<&SourceRecord> = answered.iter().map(Arc::as_ref).collect();
        let mut merged = merge(&refs, sections);
        let offered = self.offered_sections();
        let unoffered: Vec<&str> = sections
            .iter()
            .filter(|s| !offered.contains(*s))
            .map(|s| s.as_str())
            .collect();
        if !unoffered.is_empty() {
            merged.warnings.push(Warning {
                code: "section-not-offered",
                message: format!("no registered source provides: {}", unoffered.join(", ")),
                sources: Vec::new(),
            });
        }
        let http_status = if statuses.is_empty() || statuses.iter().any(|s| s.status.answered()) {
            200
        } else if statuses.iter().all(|s| s.status == Status::NotFound) {
            404
        } else {
            502
        };
        tracing::info!(
            sources = statuses.len(),
            answered = statuses.iter().filter(|s| s.status.answered()).count(),
            failed = statuses
                .iter()
                .filter(|s| !s.status.answered() && s.status != Status::NotFound)
                .count(),
            http_status,
            "record assembled"
        );
        RecordOutcome {
            nhs_number,
            sections,
            merged,
            sources: statuses,
            http_status,
        }
    }

    /// The context sources are told: a fresh trace id, and until callers
    /// are authenticated the gateway itself (its identity from
    /// gateway.toml) as the requester.
    fn context(&self) -> RequestContext {
        let mut context = RequestContext::system(self.inner.identity.clone());
        context.trace_id = uuid::Uuid::new_v4().to_string();
        context
    }

    async fn fetch_one(
        &self,
        index: usize,
        nhs_number: NhsNumber,
        sections: SectionSet,
        request_deadline: Instant,
        context: Arc<RequestContext>,
    ) -> Fetched {
        let source = &self.inner.sources[index];
        let budget = Duration::from_millis(source.spec.timeout_ms);
        let deadline = request_deadline.min(Instant::now() + budget);
        let request = FetchRequest {
            nhs_number,
            sections,
            deadline,
            context,
        };
        let adapter = Arc::clone(&source.adapter);
        let fetch = async move { adapter.fetch(&request).await };
        let ttl = Duration::from_secs(source.spec.cache_ttl_s);
        let work = async {
            match (&self.inner.cache, ttl.is_zero()) {
                (Some(cache), false) => {
                    let key = CacheKey {
                        source: source.spec.id.clone(),
                        nhs_number,
                        sections,
                    };
                    cache.get_or_fetch(key, ttl, fetch).await
                }
                _ => fetch.await.map(|r| (Arc::new(r), false)),
            }
        };
        let started = Instant::now();
        match tokio::time::timeout_at(deadline, work).await {
            Ok(result) => result,
            Err(_) => Err(SourceError::Timeout {
                after_ms: started.elapsed().as_millis() as u64,
            }),
        }
    }
}
