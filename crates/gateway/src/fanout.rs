//! The request flow from a valid request to a merged view: plan, fan out
//! under deadlines through the cache, merge, decide the overall status.

use std::sync::Arc;
use std::time::Duration;

use icr_adapter_sdk::{
    FetchRequest, RequestContext, Requester, Routing, SourceAdapter, SourceError, SourceSpec,
};
use icr_audit::AuditLog;
use icr_auth::{AuthError, Identity};
use icr_policy::SourceFilter;
use std::sync::atomic::AtomicU64;

use crate::access::{Access, ObjectionRegister};
use icr_config::Config;
use icr_merge::{MergedRecord, Warning, merge_with};
use icr_model::time::OffsetDateTime;
use icr_model::{
    NhsNumber, OdsCode, SectionSet, SourceId, SourceIssue, SourceMeta, SourceRecord, SourceStatus,
};
use serde::Serialize;
use tokio::time::Instant;
use tracing::Instrument as _;

use crate::cache::{CacheKey, Received, SourceCache};
use crate::resilience::{CircuitState, Guard};

/// Why the practice was not asked when the demographics service was too slow.
const PDS_TOO_SLOW: &str = "the GP practice was not asked: the demographics service, which names it, did not answer in time";

/// A source's answer and whether it came from the cache.
type Fetched = Result<(Arc<SourceRecord>, Received), SourceError>;

/// One registered source, ready to ask.
struct Source {
    spec: SourceSpec,
    meta: Arc<SourceMeta>,
    adapter: Arc<dyn SourceAdapter>,
    guard: Guard,
    /// Outcomes and latency for `/metrics`.
    measured: crate::metrics::SourceMeasurements,
    /// The latest parts of record requests (latency, failed), for
    /// operators' recent percentiles and error rate.
    recent: std::sync::Mutex<std::collections::VecDeque<(u64, bool)>>,
}

/// How many of a source's latest outcomes `/v1/sources` summarises.
const RECENT: usize = 256;

impl Source {
    fn remember(&self, latency_ms: u64, failed: bool) {
        let mut recent = self.recent.lock().unwrap_or_else(|e| e.into_inner());
        if recent.len() == RECENT {
            recent.pop_front();
        }
        recent.push_back((latency_ms, failed));
    }

    /// The latest outcomes: count, p50/p95/p99 latency and error rate.
    fn recent_summary(&self) -> serde_json::Value {
        let recent = self.recent.lock().unwrap_or_else(|e| e.into_inner());
        let mut latencies: Vec<u64> = recent.iter().map(|(l, _)| *l).collect();
        latencies.sort_unstable();
        let at = |q: f64| -> Option<u64> {
            let last = latencies.len().checked_sub(1)?;
            latencies.get(((last as f64) * q).round() as usize).copied()
        };
        let failed = recent.iter().filter(|(_, f)| *f).count();
        serde_json::json!({
            "calls": recent.len(),
            "p50_ms": at(0.5),
            "p95_ms": at(0.95),
            "p99_ms": at(0.99),
            "error_rate": if recent.is_empty() { 0.0 } else { failed as f64 / recent.len() as f64 },
        })
    }
}

/// The status of one source in a response.
#[derive(Clone, Debug, Serialize)]
pub struct SourceReport {
    /// Source id.
    pub source: SourceId,
    /// Organisation name.
    pub organisation: String,
    /// Organisation ODS code.
    pub ods_code: OdsCode,
    /// Adapter kind.
    pub kind: String,
    /// How it went.
    pub status: SourceStatus,
    /// Time spent on this source, in milliseconds.
    pub latency_ms: u64,
    /// Items it contributed (before de-duplication).
    pub items: usize,
    /// Whether the answer came from the cache (or from a concurrent
    /// request's fetch) rather than this request's own call.
    pub cached: bool,
    /// When the source's answer was received (a cached answer keeps the
    /// time it was fetched); absent when the source gave no answer.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "icr_model::rfc3339_opt::serialize"
    )]
    pub fetched_at: Option<OffsetDateTime>,
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
    pub sources: Vec<SourceReport>,
    /// The HTTP status the answer should have: 200 if any source answered
    /// or withheld its record (or none was asked), 404 if every source asked
    /// holds no record, otherwise 502.
    pub http_status: u16,
    /// How long the request waited for its sources (from the first call
    /// to the last answer, the practice after PDS included): what is left
    /// of the request's time is what the gateway itself added.
    pub waited: Duration,
    /// Organisations whose systems gave no definite answer — timed out,
    /// unreachable, failed, or a GP practice that could not be asked
    /// because the demographics service that names it failed — so that
    /// whether they hold a record for the person is unknown.
    pub unanswered: Vec<OdsCode>,
}

/// The gateway's state: the registered sources, the cache and the limits.
#[derive(Clone)]
pub struct Gateway {
    inner: Arc<Inner>,
}

struct Inner {
    /// The configuration in force and the sources built from it: replaced
    /// whole by a reload, so that a request keeps what it started with.
    state: std::sync::RwLock<Arc<State>>,
    /// Why the last reload was refused, if it was.
    reload_problem: std::sync::Mutex<Option<String>>,
    reloads: AtomicU64,
    reload_failures: AtomicU64,
    /// Requests answered 503 because the in-flight limit was reached.
    shed: AtomicU64,
    /// Requests and source calls measured for `/metrics`.
    measurements: crate::metrics::Measurements,
    /// The FHIR face's pages and discovery.
    fhir: crate::fhir_api::FhirState,
}

/// Everything a reload replaces: the access machinery, the sources, the
/// cache and the limits, as one snapshot.
pub(crate) struct State {
    /// Who may ask, what the policy allows, the audit.
    pub(crate) access: Arc<Access>,
    /// The registered sources.
    sources: Arc<[Arc<Source>]>,
    /// The cache of source answers, when on.
    cache: Option<SourceCache>,
    /// The longest a request may take.
    deadline: Duration,
    /// The gateway's own organisation, as the observer of accesses.
    identity: OdsCode,
    /// Permits for record requests in flight (load shedding).
    in_flight: Arc<tokio::sync::Semaphore>,
    max_in_flight: u32,
    /// Roles that may use the operator endpoints.
    operator_roles: Vec<String>,
    /// The listener's TLS for new connections, when on.
    tls: Option<icr_tls::ServerTls>,
    /// gateway.toml as loaded, to tell what a reload changes.
    gateway: icr_config::GatewayConfig,
}

/// What a reload applied.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Reloaded {
    /// Sources registered, deregistered and changed.
    pub added: usize,
    /// Sources deregistered.
    pub removed: usize,
    /// Sources whose registration changed.
    pub changed: usize,
    /// The parts of gateway.toml that changed and were applied (`auth`,
    /// `access`, `cache`, …); keys, policy, objections and certificates
    /// are re-read on every reload whether or not their names changed.
    pub settings: Vec<&'static str>,
}

impl Gateway {
    /// Builds the gateway from a loaded configuration, opening its audit
    /// log (which resumes the chain, recovering a torn last line).
    pub fn new(config: &Config) -> Result<Self, icr_audit::AuditError> {
        let audit = AuditLog::open(&config.gateway.audit)?;
        let state = State::build(config, None, audit, Arc::new(AtomicU64::new(0)));
        prepare_in_background(&state.sources);
        Ok(Self {
            inner: Arc::new(Inner {
                state: std::sync::RwLock::new(Arc::new(state)),
                reload_problem: std::sync::Mutex::new(None),
                reloads: AtomicU64::new(0),
                reload_failures: AtomicU64::new(0),
                shed: AtomicU64::new(0),
                measurements: crate::metrics::Measurements::default(),
                fhir: crate::fhir_api::FhirState::new(config),
            }),
        })
    }

    /// The configuration in force now.
    pub(crate) fn state(&self) -> Arc<State> {
        match self.inner.state.read() {
            Ok(s) => Arc::clone(&s),
            Err(e) => Arc::clone(&e.into_inner()),
        }
    }

    /// The sources registered now.
    fn sources(&self) -> Arc<[Arc<Source>]> {
        Arc::clone(&self.state().sources)
    }

    /// Applies a changed configuration, all of it or none of it: the
    /// sources (a source whose registration is unchanged keeps its adapter,
    /// circuit and counters), the issuers and their keys, the policy, the
    /// access settings and objection register, the cache settings, the
    /// limits, and the listener's certificates for new connections.
    /// Requests in flight finish with what they started with. A change to
    /// a key that only a restart can apply (see
    /// [`icr_config::GatewayConfig::restart_only_changes`]) refuses the
    /// whole change, naming the keys; the running configuration stays and
    /// the refusal is shown by `/readyz` until a reload succeeds.
    pub fn reload(&self, config: &Config) -> Result<Reloaded, String> {
        let old = self.state();
        let restart = old.gateway.restart_only_changes(&config.gateway);
        if !restart.is_empty() {
            let problem = format!(
                "gateway.toml changes {} — which take effect only when the gateway restarts; nothing of this change was applied (restart to apply it, or undo it)",
                restart.join(", ")
            );
            self.reload_failed(problem.clone());
            return Err(problem);
        }
        let new = State::build(
            config,
            Some(&old),
            old.access.audit.clone(),
            Arc::clone(&old.access.break_glass),
        );
        prepare_in_background(&new.sources);
        let report = Reloaded {
            added: new
                .sources
                .iter()
                .filter(|n| !old.sources.iter().any(|o| o.spec.id == n.spec.id))
                .count(),
            removed: old
                .sources
                .iter()
                .filter(|o| !new.sources.iter().any(|n| n.spec.id == o.spec.id))
                .count(),
            changed: new
                .sources
                .iter()
                .filter(|n| {
                    old.sources
                        .iter()
                        .any(|o| o.spec.id == n.spec.id && !Arc::ptr_eq(o, n))
                })
                .count(),
            settings: old.gateway.live_changes(&config.gateway),
        };
        match self.inner.state.write() {
            Ok(mut s) => *s = Arc::new(new),
            Err(e) => *e.into_inner() = Arc::new(new),
        }
        self.set_reload_problem(None);
        self.inner
            .reloads
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Ok(report)
    }

    /// Records that a reload was refused (the running configuration
    /// stays): the problem is shown by `/readyz` until a reload succeeds.
    pub fn reload_failed(&self, problem: String) {
        self.set_reload_problem(Some(problem));
        self.inner
            .reload_failures
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }

    fn set_reload_problem(&self, problem: Option<String>) {
        match self.inner.reload_problem.lock() {
            Ok(mut p) => *p = problem,
            Err(e) => *e.into_inner() = problem,
        }
    }

    /// Why the last configuration change was refused, if it was.
    pub fn reload_problem(&self) -> Option<String> {
        match self.inner.reload_problem.lock() {
            Ok(p) => p.clone(),
            Err(e) => e.into_inner().clone(),
        }
    }

    /// The access machinery in force now.
    pub(crate) fn access(&self) -> Arc<Access> {
        Arc::clone(&self.state().access)
    }

    /// The listener's TLS for a new connection, as configured now (a
    /// reload rotates certificates for connections made after it).
    pub(crate) fn current_tls(&self) -> Option<icr_tls::ServerTls> {
        self.state().tls.clone()
    }

    /// Whether `source` is the demographics service.
    pub(crate) fn is_demographics_service(&self, source: &SourceId) -> bool {
        self.sources()
            .iter()
            .any(|s| &s.spec.id == source && s.spec.routing == Routing::Demographics)
    }

    /// Records what a released record request added beyond waiting for its
    /// sources (`started`: when its handler began).
    pub(crate) fn measure_added(&self, started: std::time::Instant, outcome: &RecordOutcome) {
        self.inner
            .measurements
            .added(started.elapsed().saturating_sub(outcome.waited));
    }

    /// The gateway as the observer of the accesses it records.
    pub(crate) fn observer(&self) -> icr_audit::Observer {
        icr_audit::Observer {
            name: "ICR gateway".into(),
            organisation: Some(self.state().identity.clone()),
        }
    }

    /// Break-glass accesses since start, for the privacy officers' metric.
    pub fn break_glass_count(&self) -> u64 {
        self.access()
            .break_glass
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// What stops the gateway from releasing records now, if anything.
    pub fn readiness_problems(&self) -> Vec<&'static str> {
        let mut problems = Vec::new();
        let access = self.access();
        if access.audit.is_poisoned() {
            problems.push(
                "the audit log cannot be written: restart the gateway once its storage is fixed",
            );
        }
        if access.objections.current().is_err() {
            problems.push("the objection register cannot be read");
        }
        problems
    }

    /// The gateway's metrics in the Prometheus text format.
    pub fn metrics_text(&self) -> String {
        use std::fmt::Write as _;
        let state = self.state();
        let audit = state.access.audit.stats();
        let mut out = String::new();
        let mut metric = |name: &str, kind: &str, help: &str, value: u64| {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}"
            );
        };
        metric(
            "icr_break_glass_total",
            "counter",
            "Accesses granted by breaking glass, for privacy-officer review.",
            self.break_glass_count(),
        );
        metric(
            "icr_audit_appends_total",
            "counter",
            "Audit records written and synced.",
            audit.appended,
        );
        metric(
            "icr_audit_syncs_total",
            "counter",
            "Audit log syncs (group commits share one).",
            audit.syncs,
        );
        metric(
            "icr_audit_rotations_total",
            "counter",
            "Audit log files started.",
            audit.rotations,
        );
        metric(
            "icr_audit_poisoned",
            "gauge",
            "1 when the audit log cannot be written (nothing is released).",
            u64::from(audit.poisoned),
        );
        let (paged, paged_bytes) = self.inner.fhir.pages_kept();
        metric(
            "icr_fhir_paged_records",
            "gauge",
            "Records whose further $everything pages are kept in memory.",
            paged as u64,
        );
        metric(
            "icr_fhir_paged_bytes",
            "gauge",
            "Bytes of rendered $everything pages kept in memory.",
            paged_bytes as u64,
        );
        metric(
            "icr_audit_torn_tail_recovered_total",
            "counter",
            "Torn last lines of the audit log recovered at start (a write cut off by a crash).",
            audit.torn_tails_recovered,
        );
        metric(
            "icr_audit_clock_behind_total",
            "counter",
            "Audit entries given the previous entry's time because the wall clock was behind it.",
            audit.clock_behind,
        );
        if let Some(cache) = &state.cache {
            metric(
                "icr_cache_bytes",
                "gauge",
                "Estimated bytes of source answers held in the cache.",
                cache.weighted_size(),
            );
        }
        metric(
            "icr_sources",
            "gauge",
            "Registered sources.",
            self.sources().len() as u64,
        );
        metric(
            "icr_config_reloads_total",
            "counter",
            "Source configuration reloads applied.",
            self.inner
                .reloads
                .load(std::sync::atomic::Ordering::Relaxed),
        );
        metric(
            "icr_config_reload_failures_total",
            "counter",
            "Source configuration changes refused as invalid (the running configuration stays).",
            self.inner
                .reload_failures
                .load(std::sync::atomic::Ordering::Relaxed),
        );
        metric(
            "icr_config_reload_problem",
            "gauge",
            "1 while the last configuration change was refused.",
            u64::from(self.reload_problem().is_some()),
        );
        metric(
            "icr_requests_shed_total",
            "counter",
            "Record requests answered 503 because the in-flight limit was reached.",
            self.inner.shed.load(std::sync::atomic::Ordering::Relaxed),
        );
        metric(
            "icr_requests_in_flight",
            "gauge",
            "Record requests being served now.",
            u64::from(state.max_in_flight)
                .saturating_sub(state.in_flight.available_permits() as u64),
        );
        if let Some(cache) = &state.cache {
            let s = cache.stats();
            let load = |a: &AtomicU64| a.load(std::sync::atomic::Ordering::Relaxed);
            metric(
                "icr_cache_hits_total",
                "counter",
                "Source answers served from the cache (or shared with a concurrent fetch).",
                load(&s.hits),
            );
            metric(
                "icr_cache_misses_total",
                "counter",
                "Source answers fetched because the cache had none.",
                load(&s.misses),
            );
            metric(
                "icr_cache_evictions_total",
                "counter",
                "Cached answers evicted to stay within cache.max_bytes.",
                load(&s.evictions),
            );
            metric(
                "icr_cache_purged_total",
                "counter",
                "Cached answers removed by operators' purges.",
                load(&s.purged),
            );
            metric(
                "icr_cache_entries",
                "gauge",
                "Cached source answers held.",
                cache.entry_count(),
            );
        }
        self.inner.measurements.render(&mut out);
        let sources = self.sources();
        let measured: Vec<(&str, &crate::metrics::SourceMeasurements)> = sources
            .iter()
            .map(|s| (s.spec.id.as_str(), &s.measured))
            .collect();
        crate::metrics::render_sources(&mut out, &measured);
        // Per source: labels are source ids and states, never patient data.
        let mut family = |name: &str, kind: &str, help: &str, value: &dyn Fn(&Source) -> u64| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
            for s in self.sources().iter() {
                let _ = writeln!(out, "{name}{{source=\"{}\"}} {}", s.spec.id, value(s));
            }
        };
        let load = |a: &AtomicU64| a.load(std::sync::atomic::Ordering::Relaxed);
        family(
            "icr_source_calls_total",
            "counter",
            "Calls made to the source (first attempts and retries).",
            &|s| load(&s.guard.calls),
        );
        family(
            "icr_source_retries_total",
            "counter",
            "Retries after a transient failure.",
            &|s| load(&s.guard.retried),
        );
        family(
            "icr_source_short_circuited_total",
            "counter",
            "Calls not made because the source's circuit was open.",
            &|s| load(&s.guard.short_circuited),
        );
        family(
            "icr_source_rejected_total",
            "counter",
            "Calls not made because the source's concurrency limit was reached.",
            &|s| load(&s.guard.rejected),
        );
        family(
            "icr_source_in_flight",
            "gauge",
            "Calls to the source in flight now.",
            &|s| u64::from(s.guard.in_flight()),
        );
        let _ = writeln!(
            out,
            "# HELP icr_source_circuit_state 1 for the source's current circuit state (closed, open, half_open).\n# TYPE icr_source_circuit_state gauge"
        );
        for s in self.sources().iter() {
            let now = s.guard.circuit();
            for state in [
                CircuitState::Closed,
                CircuitState::Open,
                CircuitState::HalfOpen,
            ] {
                let _ = writeln!(
                    out,
                    "icr_source_circuit_state{{source=\"{}\",state=\"{}\"}} {}",
                    s.spec.id,
                    state.as_str(),
                    u8::from(now == state)
                );
            }
        }
        out
    }

    /// Appends an access to the audit log (synced before it returns),
    /// timing the write for `/metrics`.
    pub(crate) async fn append_audit(
        &self,
        record: &icr_audit::AuditRecord,
    ) -> Result<icr_audit::Sequence, icr_audit::AuditError> {
        let started = Instant::now();
        let result = self.access().audit.append(record).await;
        self.inner.measurements.audit_write(started.elapsed());
        result
    }

    /// Records one answered request for `/metrics`.
    pub(crate) fn measure_request(&self, route: &'static str, status: u16, took: Duration) {
        self.inner.measurements.request(route, status, took);
    }

    /// A permit to serve one record request, or `None` when the in-flight
    /// limit is reached (the request is shed: 503 with `Retry-After`).
    pub fn admit(&self) -> Option<tokio::sync::OwnedSemaphorePermit> {
        let permit = Arc::clone(&self.state().in_flight).try_acquire_owned().ok();
        if permit.is_none() {
            self.inner
                .shed
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        permit
    }

    /// The FHIR face's state.
    pub(crate) fn fhir_state(&self) -> &crate::fhir_api::FhirState {
        &self.inner.fhir
    }

    /// The issuers whose tokens are trusted now, for discovery.
    pub(crate) fn trusted_issuers(&self) -> Vec<crate::fhir::TrustedIssuer> {
        self.access()
            .verifier
            .issuers()
            .map(|(issuer, audience)| crate::fhir::TrustedIssuer {
                issuer: issuer.to_owned(),
                audience: audience.to_owned(),
            })
            .collect()
    }

    /// Whether `role` may run operator actions.
    pub(crate) fn is_operator(&self, role: &str) -> bool {
        self.state()
            .operator_roles
            .iter()
            .any(|r| r.eq_ignore_ascii_case(role))
    }

    /// Removes every cached answer about `nhs_number`; how many.
    pub async fn purge(&self, nhs_number: NhsNumber) -> u64 {
        match &self.state().cache {
            Some(cache) => cache.purge(nhs_number).await,
            None => 0,
        }
    }

    /// Every registered source's settings and health now, for operators:
    /// no patient data.
    pub fn sources_health(&self) -> Vec<serde_json::Value> {
        let load = |a: &AtomicU64| a.load(std::sync::atomic::Ordering::Relaxed);
        self.sources()
            .iter()
            .map(|s| {
                let routing = match s.spec.routing {
                    Routing::All => "all",
                    Routing::Demographics => "demographics",
                    Routing::RegisteredPractice => "registered-practice",
                };
                serde_json::json!({
                    "source": s.spec.id,
                    "organisation": s.meta.organisation,
                    "ods_code": s.meta.ods_code,
                    "kind": s.spec.kind,
                    "system": s.meta.system,
                    "routing": routing,
                    "sections": s.spec.sections.iter().map(|x| x.as_str()).collect::<Vec<_>>(),
                    "timeout_ms": s.spec.timeout_ms,
                    "cache_ttl_s": s.spec.cache_ttl_s,
                    "circuit": s.guard.circuit().as_str(),
                    "in_flight": s.guard.in_flight(),
                    "calls": load(&s.guard.calls),
                    "retries": load(&s.guard.retried),
                    "short_circuited": load(&s.guard.short_circuited),
                    "rejected": load(&s.guard.rejected),
                    "recent": s.recent_summary(),
                })
            })
            .collect()
    }

    /// Flushes and closes the audit log (at shutdown).
    pub async fn close(&self) {
        if let Err(e) = self.access().audit.close().await {
            tracing::error!(error = %e, "closing the audit log failed");
        }
    }

    /// Number of registered sources.
    pub fn source_count(&self) -> usize {
        self.sources().len()
    }

    /// The sections some registered source offers.
    pub fn offered_sections(&self) -> SectionSet {
        self.sources()
            .iter()
            .fold(SectionSet::EMPTY, |acc, s| acc.union(s.spec.sections))
    }

    /// Fetches, merges and judges the record of one person.
    ///
    /// Sources routed to everyone and the demographics service are asked at
    /// once; when the demographics service answers, the person's registered
    /// GP practice (if it is in the directory and offers a wanted section)
    /// is asked too, within the same deadline.
    pub async fn record(
        &self,
        context: RequestContext,
        nhs_number: NhsNumber,
        sections: SectionSet,
        permitted: &SourceFilter,
        wait: Option<Duration>,
    ) -> RecordOutcome {
        let state = self.state();
        self.record_in(&state, context, nhs_number, sections, permitted, wait)
            .await
    }

    /// As [`Gateway::record`], with the configuration `state` (the one the
    /// request started with, whatever reloads happen meanwhile).
    pub(crate) async fn record_in(
        &self,
        state: &Arc<State>,
        context: RequestContext,
        nhs_number: NhsNumber,
        sections: SectionSet,
        permitted: &SourceFilter,
        wait: Option<Duration>,
    ) -> RecordOutcome {
        // The caller may ask for less time than the configured deadline
        // (`Prefer: wait=N`), never more.
        let budget = wait.map_or(state.deadline, |w| w.min(state.deadline));
        let deadline = Instant::now() + budget;
        let sources = Arc::clone(&state.sources);
        let mut plan: Vec<(usize, SectionSet)> = sources
            .iter()
            .enumerate()
            .filter_map(|(i, s)| {
                let wanted = match s.spec.routing {
                    Routing::All => s.spec.sections.intersection(sections),
                    // Always asked: it routes to the practice and is the
                    // reference for everyone's demographics.
                    Routing::Demographics => s.spec.sections,
                    Routing::RegisteredPractice => return None,
                };
                (!wanted.is_empty()).then_some((i, wanted))
            })
            .collect();
        let practices_wanted = sources.iter().any(|s| {
            s.spec.routing == Routing::RegisteredPractice
                && !s.spec.sections.intersection(sections).is_empty()
        });

        let context = Arc::new(context);
        let mut results: Vec<Option<(Fetched, Duration)>> = vec![None; sources.len()];
        // A source the person's objection excludes is never asked; it is
        // reported as withheld.
        let objected = |index: usize| !permitted.permits(&sources[index].spec.ods_code);
        let not_shared = || {
            Some((
                Err(SourceError::Withheld(
                    "not shared: the person has objected to this organisation sharing their record"
                        .into(),
                )),
                Duration::ZERO,
            ))
        };
        let mut tasks = tokio::task::JoinSet::new();
        let fanout_started = Instant::now();
        let spawn = |tasks: &mut tokio::task::JoinSet<_>, index: usize, wanted: SectionSet| {
            let cache = state.cache.clone();
            let source = Arc::clone(&sources[index]);
            let ctx = Arc::clone(&context);
            // One span per source call: ids, kind and outcome only, never
            // the person or anything clinical.
            let span = tracing::info_span!(
                "source",
                source = %source.spec.id,
                kind = %source.spec.kind,
                status = tracing::field::Empty,
                cache_hit = tracing::field::Empty,
                items = tracing::field::Empty,
                latency_ms = tracing::field::Empty,
            );
            tasks.spawn(
                async move {
                    let started = Instant::now();
                    let result =
                        fetch_one(cache.as_ref(), &source, nhs_number, wanted, deadline, ctx).await;
                    let elapsed = started.elapsed();
                    let current = tracing::Span::current();
                    match &result {
                        Ok((record, received)) => {
                            current.record("status", "answered");
                            current.record("cache_hit", received.cached);
                            current.record("items", record.items.len() as u64);
                        }
                        Err(e) => {
                            current.record("status", e.status_name());
                            current.record("cache_hit", false);
                        }
                    }
                    current.record("latency_ms", elapsed.as_millis() as u64);
                    (index, result, elapsed)
                }
                .instrument(span),
            );
        };
        for (index, wanted) in &plan {
            if objected(*index) {
                results[*index] = not_shared();
            } else {
                spawn(&mut tasks, *index, *wanted);
            }
        }
        let mut routing_warnings: Vec<Warning> = Vec::new();
        let mut routed = false;
        // The registered practice could not be found out (PDS failed or was
        // too slow), so any practice might hold a record.
        let mut practice_unknown = false;
        // Every task ends by the deadline (each is bounded by it); a small
        // grace covers scheduling.
        let collect = async {
            while let Some(joined) = tasks.join_next().await {
                let Ok((index, result, elapsed)) = joined else {
                    continue;
                };
                if practices_wanted
                    && !routed
                    && sources[index].spec.routing == Routing::Demographics
                {
                    routed = true;
                    match self.route_to_practice(&sources, &result, sections) {
                        Ok(Some((practice, wanted))) => {
                            plan.push((practice, wanted));
                            if objected(practice) {
                                results[practice] = not_shared();
                            } else {
                                spawn(&mut tasks, practice, wanted);
                            }
                        }
                        Ok(None) => {}
                        Err((warning, unknown)) => {
                            practice_unknown |= unknown;
                            routing_warnings.push(warning);
                        }
                    }
                }
                results[index] = Some((result, elapsed));
            }
        };
        // `results` is written both by the loop and for objected sources;
        // the loop only ever fills sources it spawned.
        let _ = tokio::time::timeout_at(deadline + Duration::from_millis(50), collect).await;
        let waited = fanout_started.elapsed();
        tasks.abort_all();
        if practices_wanted && !routed {
            // The demographics service was still pending at the deadline.
            practice_unknown = true;
            routing_warnings.push(Warning {
                code: "practice-not-asked",
                message: PDS_TOO_SLOW.into(),
                sources: Vec::new(),
            });
        }
        plan.sort_by_key(|(index, _)| *index);

        // The wrong-patient guard across sources: an answer whose full date
        // of birth differs from the reference's is about someone else.
        let demographics = sources
            .iter()
            .position(|s| s.spec.routing == Routing::Demographics);
        let reference_birth = {
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
        if let Some(reference) = reference_birth {
            for slot in &mut results {
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

        let mut statuses = Vec::with_capacity(plan.len());
        let mut answered: Vec<Arc<SourceRecord>> = Vec::new();
        for (index, wanted) in &plan {
            let source = &sources[*index];
            let (status, latency, items, received, message, issues) = match results[*index].take() {
                Some((Ok((record, received)), elapsed)) => {
                    let items = record
                        .items
                        .iter()
                        .filter(|i| wanted.contains(i.entry.section()))
                        .count();
                    let loses = record.issues.iter().any(SourceIssue::loses_data);
                    let status = if loses {
                        SourceStatus::Partial
                    } else {
                        SourceStatus::Ok
                    };
                    let message = loses.then(|| {
                        "some of this source's record could not be fetched or read; see issues"
                            .to_string()
                    });
                    let issues = record.issues.clone();
                    answered.push(record);
                    (status, elapsed, items, Some(received), message, issues)
                }
                Some((Err(e), elapsed)) => (
                    e.status(),
                    elapsed,
                    0,
                    None,
                    Some(e.to_string()),
                    Vec::new(),
                ),
                None => (
                    SourceStatus::Timeout,
                    budget,
                    0,
                    None,
                    Some(format!(
                        "no answer within the request deadline of {} ms",
                        budget.as_millis()
                    )),
                    Vec::new(),
                ),
            };
            source.measured.observe(status.as_str(), latency);
            source.remember(
                latency.as_millis() as u64,
                matches!(
                    status,
                    SourceStatus::Timeout | SourceStatus::Unavailable | SourceStatus::Error
                ),
            );
            statuses.push(SourceReport {
                source: source.spec.id.clone(),
                organisation: source.meta.organisation.clone(),
                ods_code: source.meta.ods_code.clone(),
                kind: source.spec.kind.clone(),
                status,
                latency_ms: latency.as_millis() as u64,
                items,
                cached: received.is_some_and(|r| r.cached),
                fetched_at: received.map(|r| r.at),
                message,
                issues,
            });
        }

        let mut unanswered: Vec<OdsCode> = statuses
            .iter()
            .filter(|s| {
                matches!(
                    s.status,
                    SourceStatus::Timeout | SourceStatus::Unavailable | SourceStatus::Error
                )
            })
            .map(|s| s.ods_code.clone())
            .collect();
        if practice_unknown {
            unanswered.extend(
                sources
                    .iter()
                    .filter(|s| s.spec.routing == Routing::RegisteredPractice)
                    .map(|s| s.spec.ods_code.clone()),
            );
        }
        unanswered.sort();
        unanswered.dedup();
        let refs: Vec<&SourceRecord> = answered.iter().map(Arc::as_ref).collect();
        let reference = sources
            .iter()
            .find(|s| s.spec.routing == Routing::Demographics)
            .map(|s| &s.spec.id);
        let mut merged = merge_with(&refs, sections, reference);
        merged.warnings.extend(routing_warnings);
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
        // A source withholding its record has answered: that is not a
        // failure of the gateway's upstreams, and its status says why.
        let http_status = if statuses.is_empty()
            || statuses
                .iter()
                .any(|s| s.status.answered() || s.status == SourceStatus::Withheld)
        {
            200
        } else if statuses.iter().all(|s| s.status == SourceStatus::NotFound) {
            404
        } else {
            502
        };
        tracing::info!(
            sources = statuses.len(),
            answered = statuses.iter().filter(|s| s.status.answered()).count(),
            failed = statuses
                .iter()
                .filter(|s| !s.status.answered() && s.status != SourceStatus::NotFound)
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
            waited,
            unanswered,
        }
    }

    /// The registered practice to ask, from the demographics service's
    /// answer: `Ok(None)` when no practice source offers a wanted section
    /// or none is wanted; when the practice cannot be asked, a warning and
    /// whether that leaves the practice unknown (the service failed) rather
    /// than known to be none of the directory's.
    fn route_to_practice(
        &self,
        sources: &[Arc<Source>],
        pds: &Fetched,
        sections: SectionSet,
    ) -> Result<Option<(usize, SectionSet)>, (Warning, bool)> {
        let not_asked = |message: String| Warning {
            code: "practice-not-asked",
            message,
            sources: Vec::new(),
        };
        let record = match pds {
            Ok((record, _)) => record,
            Err(SourceError::Timeout { .. }) => {
                return Err((not_asked(PDS_TOO_SLOW.into()), true));
            }
            Err(SourceError::PatientNotFound) => {
                return Err((not_asked(
                    "the GP practice was not asked: the demographics service holds no record for this NHS number".into(),
                ), false));
            }
            Err(e) => {
                return Err((
                    not_asked(format!(
                        "the GP practice was not asked: the demographics service, which names it, failed ({})",
                        e.status().as_str()
                    )),
                    true,
                ));
            }
        };
        let Some(ods) = record
            .patient
            .as_ref()
            .and_then(|p| p.demographics.registered_practice.as_ref())
        else {
            return Err((
                not_asked(
                    "no GP practice was asked: the demographics service records no registered practice"
                        .into(),
                ),
                false,
            ));
        };
        let Some((index, source)) = sources.iter().enumerate().find(|(_, s)| {
            s.spec.routing == Routing::RegisteredPractice && &s.spec.ods_code == ods
        }) else {
            return Err((
                not_asked(format!(
                    "the registered GP practice ({ods}) was not asked: it has no endpoint in the practice directory"
                )),
                false,
            ));
        };
        let wanted = source.spec.sections.intersection(sections);
        Ok((!wanted.is_empty()).then_some((index, wanted)))
    }

    /// The context sources are told: the request's trace id and the
    /// authenticated caller as the requester.
    pub fn context(identity: &Identity, trace_id: &str) -> RequestContext {
        RequestContext {
            trace_id: trace_id.to_string(),
            requester: Requester {
                user_id: identity.sub.clone(),
                name: identity.name.clone(),
                role: identity.role.clone(),
                organisation: identity.org.clone(),
                purpose: identity.purpose.clone(),
            },
        }
    }

    /// Verifies an `Authorization` header value now, against the issuers
    /// and keys in force.
    pub fn authenticate(&self, authorization: Option<&str>) -> Result<Identity, AuthError> {
        self.access().authenticate(authorization)
    }
}

/// Asks one source, through the cache when there is one, under the
/// source's own time limit within the request's deadline.
async fn fetch_one(
    cache: Option<&SourceCache>,
    source: &Source,
    nhs_number: NhsNumber,
    sections: SectionSet,
    request_deadline: Instant,
    context: Arc<RequestContext>,
) -> Fetched {
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
            (Some(cache), false) => {
                let key = CacheKey {
                    source: source.spec.id.clone(),
                    nhs_number,
                    sections,
                };
                cache.get_or_fetch(key, ttl, fetch).await
            }
            _ => fetch.await.map(|r| (Arc::new(r), Received::now())),
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

/// The wrong-patient guard on one answer: a source whose demographics name
/// another NHS number is about someone else.
fn check_nhs_number(record: &SourceRecord, asked: NhsNumber) -> Result<(), SourceError> {
    match record
        .patient
        .as_ref()
        .and_then(|p| p.demographics.nhs_number)
    {
        Some(n) if n != asked => Err(SourceError::IdentityMismatch(
            "the source answered with a record for another NHS number; nothing from it is shown"
                .into(),
        )),
        _ => Ok(()),
    }
}

/// A full date of birth as (year, month, day); partial dates (a year, a
/// month) are never judged a mismatch.
type Birth = (i32, u8, u8);

fn birth_date(record: &SourceRecord) -> Option<Birth> {
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
fn reference_birth_date(
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

/// Sources whose preparations run at once.
const PREPARING_AT_ONCE: usize = 8;

/// Lets every source's adapter read what its source supports
/// ([`SourceAdapter::prepare`]), in one background task: at most
/// [`PREPARING_AT_ONCE`] at a time, each given up after its source's
/// timeout. What each learns is logged with the source's id (never patient
/// data); no request waits for it. Called wherever sources are built (at
/// start and on every reload). Without a Tokio runtime it does nothing.
fn prepare_in_background(sources: &[Arc<Source>]) {
    use futures::StreamExt as _;
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        return;
    };
    let work: Vec<(SourceId, Arc<dyn SourceAdapter>, Duration)> = sources
        .iter()
        .map(|s| {
            (
                s.spec.id.clone(),
                Arc::clone(&s.adapter),
                Duration::from_millis(s.spec.timeout_ms),
            )
        })
        .collect();
    runtime.spawn(futures::stream::iter(work).for_each_concurrent(
        PREPARING_AT_ONCE,
        |(source, adapter, timeout)| async move {
            let deadline = Instant::now() + timeout;
            let Ok(prepared) = tokio::time::timeout_at(deadline, adapter.prepare(deadline)).await
            else {
                tracing::warn!(%source, "the source did not say what it supports in time; it is asked as registered");
                return;
            };
            for note in &prepared.notes {
                tracing::info!(%source, %note, "source prepared");
            }
            for m in &prepared.mismatches {
                tracing::warn!(
                    %source,
                    section = %m.section,
                    undeclared = %m.undeclared.join(", "),
                    whole_section = m.whole_section,
                    "the source does not declare all its registration offers"
                );
            }
        },
    ));
}

/// The gateway's sources for `loaded`, reusing each of `previous` whose
/// registration is unchanged (its adapter, circuit and counters).
fn build_sources(
    loaded: &[icr_config::LoadedSource],
    previous: &[Arc<Source>],
) -> Arc<[Arc<Source>]> {
    loaded
        .iter()
        .map(|s| {
            previous
                .iter()
                .find(|p| p.spec == s.spec)
                .map(Arc::clone)
                .unwrap_or_else(|| {
                    Arc::new(Source {
                        recent: std::sync::Mutex::new(std::collections::VecDeque::new()),
                        measured: crate::metrics::SourceMeasurements::default(),
                        meta: s.spec.meta(),
                        guard: Guard::new(
                            &s.spec.resilience,
                            Duration::from_millis(s.spec.timeout_ms),
                        ),
                        spec: s.spec.clone(),
                        adapter: Arc::clone(&s.adapter),
                    })
                })
        })
        .collect()
}

impl State {
    /// The state for `config`: reusing `previous`'s sources whose
    /// registration is unchanged, its objection register when the file is
    /// the same, its cache when the cache settings are, and its in-flight
    /// permits when the limit is; `audit` and `break_glass` carry over.
    fn build(
        config: &Config,
        previous: Option<&State>,
        audit: AuditLog,
        break_glass: Arc<AtomicU64>,
    ) -> Self {
        let g = &config.gateway;
        let objections = match previous {
            Some(p) if p.access.objections.file == config.objections_file => {
                Arc::clone(&p.access.objections)
            }
            _ => Arc::new(ObjectionRegister::new(
                config.objections_file.clone(),
                Arc::clone(&config.objections),
            )),
        };
        let cache = match previous {
            Some(p) if p.gateway.cache == g.cache => p.cache.clone(),
            _ => g
                .cache
                .enabled
                .then(|| match previous.and_then(|p| p.cache.as_ref()) {
                    // Counters carry on; the entries go with the old cache.
                    Some(old) => SourceCache::counting_into(g.cache.max_bytes, old.shared_stats()),
                    None => SourceCache::new(g.cache.max_bytes),
                }),
        };
        let in_flight = match previous {
            // Requests in flight hold the old limit's permits; the new one
            // starts full, so the two may briefly add up.
            Some(p) if p.max_in_flight == g.max_in_flight => Arc::clone(&p.in_flight),
            _ => Arc::new(tokio::sync::Semaphore::new(g.max_in_flight as usize)),
        };
        Self {
            access: Arc::new(Access {
                verifier: Arc::clone(&config.verifier),
                policy: Arc::clone(&config.policy),
                objections,
                audit,
                break_glass,
            }),
            sources: build_sources(
                &config.sources,
                previous.map_or(&[][..], |p| &p.sources[..]),
            ),
            cache,
            deadline: Duration::from_millis(g.request_deadline_ms),
            identity: g.identity.ods_code.clone(),
            in_flight,
            max_in_flight: g.max_in_flight,
            operator_roles: g.access.operator_roles.clone(),
            tls: config.tls.clone(),
            gateway: g.clone(),
        }
    }
}
