//! The [`Gateway`] handle: the reloadable configuration in force, the
//! counters that outlive reloads, and the small reads the HTTP edge and
//! the pipeline make of them. The request itself runs in
//! [`crate::pipeline`].

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use icr_audit::AuditLog;
use icr_config::Config;
use icr_model::{NhsNumber, SectionSet};

use crate::extract_runs::ExtractRuns;
use crate::fhir_pages::FhirState;
use crate::metrics::{CacheSnapshot, Measurements, MemorySnapshot, Snapshot, SourceSnapshot};
use crate::shared_audit::SharedStore;
use crate::sources::{Access, ReloadError, Reloadable, Reloaded, State};
use crate::views::ViewStats;

/// The gateway's state: the registered sources, the cache and the limits.
#[derive(Clone)]
pub struct Gateway {
    inner: Arc<Inner>,
}

struct Inner {
    /// The configuration in force and the sources built from it.
    config: Reloadable,
    /// Requests answered 503 because the in-flight limit was reached.
    shed: AtomicU64,
    /// Requests and source calls measured for `/metrics`.
    measurements: Measurements,
    /// The FHIR face's pages.
    fhir: FhirState,
    /// The shared audit store, when there is one.
    shared_audit: OnceLock<SharedStore>,
    /// The browser viewer, when `[viewer]` is configured.
    viewer: OnceLock<crate::viewer_state::Viewer>,
    /// The extract runs hosted, when `[[extract]]` is configured.
    extract_runs: OnceLock<Arc<dyn ExtractRuns>>,
}

impl Gateway {
    /// Builds the gateway from a loaded configuration, opening its audit
    /// log (which resumes the chain, recovering a torn last line).
    pub fn new(config: &Config) -> Result<Self, icr_audit::AuditError> {
        let audit = AuditLog::open(&config.gateway.audit)?;
        Ok(Self {
            inner: Arc::new(Inner {
                config: Reloadable::new(config, audit),
                shed: AtomicU64::new(0),
                measurements: Measurements::default(),
                fhir: FhirState::new(config),
                shared_audit: OnceLock::new(),
                viewer: OnceLock::new(),
                extract_runs: OnceLock::new(),
            }),
        })
    }

    /// The configuration in force now: a request takes it once and keeps it.
    pub(crate) fn state(&self) -> Arc<State> {
        self.inner.config.current()
    }

    /// The access machinery in force now.
    pub(crate) fn access(&self) -> Arc<Access> {
        Arc::clone(&self.state().access)
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
    pub fn reload(&self, config: &Config) -> Result<Reloaded, ReloadError> {
        self.inner.config.reload(config)
    }

    /// Records that a reload was refused (the running configuration
    /// stays): the problem is shown by `/readyz` until a reload succeeds.
    pub fn reload_failed(&self, problem: String) {
        self.inner.config.failed(problem);
    }

    /// Why the last configuration change was refused, if it was.
    pub fn reload_problem(&self) -> Option<String> {
        self.inner.config.problem()
    }

    /// The listener's TLS for a new connection, as configured now (a
    /// reload rotates certificates for connections made after it).
    pub(crate) fn current_tls(&self) -> Option<icr_tls::ServerTls> {
        self.state().tls.clone()
    }

    /// Counts a record request shed at the in-flight limit.
    pub(crate) fn count_shed(&self) {
        self.inner.shed.fetch_add(1, Ordering::Relaxed);
    }

    /// The requests and source calls measured.
    pub(crate) fn measurements(&self) -> &Measurements {
        &self.inner.measurements
    }

    /// Records what a released record request added beyond waiting for its
    /// sources (`started`: when its handler began; `waited`: for sources).
    pub(crate) fn measure_added(&self, started: std::time::Instant, waited: Duration) {
        self.inner
            .measurements
            .added(started.elapsed().saturating_sub(waited));
    }

    /// Records one answered request for `/metrics`.
    pub(crate) fn measure_request(&self, route: &'static str, status: u16, took: Duration) {
        self.inner.measurements.request(route, status, took);
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
        self.access().break_glass.load(Ordering::Relaxed)
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
        let state = self.state();
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let cache = state.cache.as_ref().map(|c| {
            let s = c.stats();
            let views = state.views.as_ref();
            let view_stat =
                |f: fn(&ViewStats) -> &AtomicU64| views.map_or(0, |v| load(f(v.stats())));
            CacheSnapshot {
                bytes: c.weighted_size(),
                hits: load(&s.hits),
                misses: load(&s.misses),
                evictions: load(&s.evictions),
                purged: load(&s.purged),
                entries: c.entry_count(),
                views_merged: view_stat(|v| &v.merged),
                view_hits: view_stat(|v| &v.hits),
                views: views.map_or(0, |v| v.entry_count()),
            }
        });
        let memory = state.memory.stats();
        let (not_found_entries, practice_entries) = state.memory.entry_counts();
        let snapshot = Snapshot {
            memory: MemorySnapshot {
                not_found_remembered: load(&memory.not_found_remembered),
                not_found_skips: load(&memory.not_found_skips),
                index_skips: load(&memory.index_skips),
                index_failures: load(&memory.index_failures),
                practice_first_wave: load(&memory.practice_first_wave),
                practice_unconfirmed: load(&memory.practice_unconfirmed),
                purged: load(&memory.purged),
                not_found_entries,
                practice_entries,
            },
            break_glass: load(&state.access.break_glass),
            audit: state.access.audit.stats(),
            paged: self.inner.fhir.pages_kept(),
            cache,
            sources: state.sources.len(),
            reloads: load(&self.inner.config.reloads),
            reload_failures: load(&self.inner.config.failures),
            reload_problem: self.reload_problem().is_some(),
            shed: load(&self.inner.shed),
            in_flight: u64::from(state.max_in_flight)
                .saturating_sub(state.in_flight.available_permits() as u64),
            measurements: &self.inner.measurements,
            per_source: state
                .sources
                .iter()
                .map(|s| SourceSnapshot {
                    id: s.spec.id.as_str(),
                    measured: &s.measured,
                    calls: load(&s.guard.calls),
                    retries: load(&s.guard.retried),
                    short_circuited: load(&s.guard.short_circuited),
                    rejected: load(&s.guard.rejected),
                    in_flight: s.guard.in_flight(),
                    circuit: s.guard.circuit(),
                    extract_waits: s.lane.waits_by_reason(),
                    extract_rate: s.lane.rate(),
                })
                .collect(),
        };
        let mut text = crate::metrics::render(&snapshot);
        if let Some(shared) = self.inner.shared_audit.get() {
            crate::metrics::store::render(&mut text, &shared.feed);
        }
        if let Some(viewer) = self.inner.viewer.get() {
            viewer.render_metrics(&mut text);
        }
        if let Some(runs) = self.inner.extract_runs.get() {
            runs.render_metrics(&mut text);
        }
        text
    }

    /// Reads the audit from the shared store from now on, and shows in
    /// `/metrics` how this replica's feed into it goes (set once, at
    /// start).
    pub fn use_shared_audit(&self, shared: SharedStore) {
        let _ = self.inner.shared_audit.set(shared);
    }

    /// Serves the browser viewer at `/` and below from now on (set once,
    /// at start, when the address it is reached at is known).
    pub fn use_viewer(&self, viewer: crate::viewer_state::Viewer) {
        let _ = self.inner.viewer.set(viewer);
    }

    /// Hosts population-health extract runs, started, watched and
    /// cancelled through `/v1/extracts` from now on (set once, at start).
    pub fn use_extract_runs(&self, runs: Arc<dyn ExtractRuns>) {
        let _ = self.inner.extract_runs.set(runs);
    }

    /// The extract runs hosted, if any.
    pub(crate) fn extract_runs(&self) -> Option<&Arc<dyn ExtractRuns>> {
        self.inner.extract_runs.get()
    }

    /// The browser viewer, when one is configured.
    pub(crate) fn viewer(&self) -> Option<&crate::viewer_state::Viewer> {
        self.inner.viewer.get()
    }

    /// The shared audit store, when one is configured.
    pub(crate) fn shared_audit(&self) -> Option<&SharedStore> {
        self.inner.shared_audit.get()
    }

    /// The audit log's chain head now (sequence and hash: no patient data),
    /// to record as an anchor.
    pub fn audit_head(&self) -> icr_audit::ChainPoint {
        self.access().audit.anchor().point()
    }

    /// The FHIR face's state.
    pub(crate) fn fhir_state(&self) -> &FhirState {
        &self.inner.fhir
    }

    /// Whether `role` may run operator actions.
    pub(crate) fn is_operator(&self, role: &str) -> bool {
        self.state()
            .operator_roles
            .iter()
            .any(|r| r.eq_ignore_ascii_case(role))
    }

    /// Removes every cached answer about `nhs_number` and every view
    /// merged from them, and forgets what was remembered of where their
    /// records are (which sources hold none, their practice); how many of
    /// each (answers, remembered).
    pub async fn purge(&self, nhs_number: NhsNumber) -> (u64, u64) {
        let state = self.state();
        if let Some(views) = &state.views {
            views.purge(nhs_number);
        }
        let answers = match &state.cache {
            Some(cache) => cache.purge(nhs_number).await,
            None => 0,
        };
        (answers, state.memory.purge(nhs_number).await)
    }

    /// Every registered source's settings and health now, for operators:
    /// no patient data.
    pub fn sources_health(&self) -> Vec<serde_json::Value> {
        crate::sources::health(&self.state().sources)
    }

    /// Waits until the audit entries queued so far (completions) are
    /// written, so that whatever reads the log's files — the feed into the
    /// shared store — finds them.
    pub async fn flush_audit(&self) {
        if let Err(e) = self.access().audit.flushed().await {
            tracing::warn!(error = %e, "flushing the audit log failed");
        }
    }

    /// Flushes and closes the audit log (at shutdown).
    pub async fn close(&self) {
        if let Err(e) = self.access().audit.close().await {
            tracing::error!(error = %e, "closing the audit log failed");
        }
    }

    /// Number of registered sources.
    pub fn source_count(&self) -> usize {
        self.state().sources.len()
    }

    /// The sections some registered source offers.
    pub fn offered_sections(&self) -> SectionSet {
        self.state().offered
    }
}
