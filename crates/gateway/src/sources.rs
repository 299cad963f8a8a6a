//! The reloadable source set: the configuration in force as one snapshot
//! ([`State`]: the sources, the access machinery, the cache and the
//! limits), how a reload replaces it whole ([`Reloadable`]), and each
//! source's health (its guard's counters, its measurements and a ring of
//! its latest outcomes). A request takes the snapshot once and keeps it,
//! whatever reloads happen while it runs.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use icr_adapter_sdk::{Routing, SourceAdapter, SourceSpec};
use icr_audit::AuditLog;
use icr_config::Config;
use icr_model::{OdsCode, SectionSet, SourceId, SourceMeta};
use icr_policy::Policy;
use tokio::time::Instant;

use crate::cache::SourceCache;
use crate::extract_lane::Lane;
use crate::locate::RecordLocator;
use crate::memory::Memory;
use crate::metrics::{Recent, SourceMeasurements};
use crate::objections::ObjectionRegister;
use crate::resilience::Guard;
use crate::views::Views;

/// One registered source, ready to ask.
pub(crate) struct Source {
    pub(crate) spec: SourceSpec,
    pub(crate) meta: Arc<SourceMeta>,
    pub(crate) adapter: Arc<dyn SourceAdapter>,
    pub(crate) guard: Guard,
    /// Outcomes and latency for `/metrics`.
    pub(crate) measured: SourceMeasurements,
    /// The latest parts of record requests, for operators.
    pub(crate) recent: Recent,
    /// How population-health extracts' calls yield to interactive ones.
    pub(crate) lane: Lane,
}

impl Source {
    /// A source registered as `spec`, reached through `adapter`, with a
    /// closed circuit and no history.
    pub(crate) fn new(spec: SourceSpec, adapter: Arc<dyn SourceAdapter>) -> Self {
        Self {
            recent: Recent::default(),
            measured: SourceMeasurements::default(),
            meta: spec.meta(),
            guard: Guard::new(&spec.resilience, Duration::from_millis(spec.timeout_ms)),
            lane: Lane::new(&spec.extract, spec.timeout_ms),
            spec,
            adapter,
        }
    }
}

/// The access machinery: who is trusted to ask, the policy and objections
/// that decide, and the audit that records. A reload replaces it whole
/// (the audit log and the break-glass count carry over).
pub(crate) struct Access {
    pub(crate) verifier: Arc<icr_auth::Verifier>,
    pub(crate) policy: Arc<Policy>,
    pub(crate) objections: Arc<ObjectionRegister>,
    pub(crate) audit: AuditLog,
    pub(crate) break_glass: Arc<AtomicU64>,
}

/// Everything a reload replaces: the access machinery, the sources, the
/// cache and the limits, as one snapshot.
pub(crate) struct State {
    /// Who may ask, what the policy allows, the audit.
    pub(crate) access: Arc<Access>,
    /// The registered sources.
    pub(crate) sources: Arc<[Arc<Source>]>,
    /// The sections some registered source offers.
    pub(crate) offered: SectionSet,
    /// The cache of source answers, when on.
    pub(crate) cache: Option<SourceCache>,
    /// Views merged from cached answers, merged once (with the cache; a
    /// quarter of its size on top of it; new at every reload, since the
    /// policy that read them may have changed).
    pub(crate) views: Option<Views>,
    /// What is remembered of where people's records are.
    pub(crate) memory: Memory,
    /// The record-location index, when configured.
    pub(crate) locator: Option<Arc<dyn RecordLocator>>,
    /// The longest a request may take.
    pub(crate) deadline: Duration,
    /// The gateway's own organisation, as the observer of accesses.
    pub(crate) identity: OdsCode,
    /// Permits for record requests in flight (load shedding).
    pub(crate) in_flight: Arc<tokio::sync::Semaphore>,
    pub(crate) max_in_flight: u32,
    /// Roles that may use the operator endpoints.
    pub(crate) operator_roles: Vec<String>,
    /// The listener's TLS for new connections, when on.
    pub(crate) tls: Option<icr_tls::ServerTls>,
    /// gateway.toml as loaded, to tell what a reload changes.
    gateway: icr_config::GatewayConfig,
}

impl State {
    /// Whether `source` is the demographics service.
    pub(crate) fn is_demographics_service(&self, source: &SourceId) -> bool {
        self.sources
            .iter()
            .any(|s| &s.spec.id == source && s.spec.routing == Routing::Demographics)
    }
}

/// What a reload applied.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Reloaded {
    /// Sources registered.
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

/// Why a reload was refused: nothing of it was applied.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ReloadError {
    /// The change touches keys that take effect only at a restart.
    #[error(
        "gateway.toml changes {} — which take effect only when the gateway restarts; nothing of this change was applied (restart to apply it, or undo it)",
        keys.join(", ")
    )]
    RestartOnly {
        /// The keys, as written in gateway.toml.
        keys: Vec<&'static str>,
    },
}

/// The configuration in force, replaced whole by a reload, and why the
/// last reload was refused if it was.
pub(crate) struct Reloadable {
    state: RwLock<Arc<State>>,
    problem: Mutex<Option<String>>,
    /// Reloads applied.
    pub(crate) reloads: AtomicU64,
    /// Configuration changes refused.
    pub(crate) failures: AtomicU64,
}

impl Reloadable {
    /// The first configuration, its sources preparing in the background.
    pub(crate) fn new(config: &Config, audit: AuditLog) -> Self {
        let state = State::build(config, None, audit, Arc::new(AtomicU64::new(0)));
        prepare_in_background(&state.sources);
        Self {
            state: RwLock::new(Arc::new(state)),
            problem: Mutex::new(None),
            reloads: AtomicU64::new(0),
            failures: AtomicU64::new(0),
        }
    }

    /// The configuration in force now.
    pub(crate) fn current(&self) -> Arc<State> {
        match self.state.read() {
            Ok(s) => Arc::clone(&s),
            Err(e) => Arc::clone(&e.into_inner()),
        }
    }

    /// Applies a changed configuration, all of it or none of it (see
    /// [`crate::Gateway::reload`]).
    pub(crate) fn reload(&self, config: &Config) -> Result<Reloaded, ReloadError> {
        let old = self.current();
        let keys = old.gateway.restart_only_changes(&config.gateway);
        if !keys.is_empty() {
            let refused = ReloadError::RestartOnly { keys };
            self.failed(refused.to_string());
            return Err(refused);
        }
        let new = State::build(
            config,
            Some(&old),
            old.access.audit.clone(),
            Arc::clone(&old.access.break_glass),
        );
        prepare_in_background(&new.sources);
        let known = |list: &[Arc<Source>], id: &SourceId| list.iter().any(|s| &s.spec.id == id);
        let report = Reloaded {
            added: new
                .sources
                .iter()
                .filter(|n| !known(&old.sources, &n.spec.id))
                .count(),
            removed: old
                .sources
                .iter()
                .filter(|o| !known(&new.sources, &o.spec.id))
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
        match self.state.write() {
            Ok(mut s) => *s = Arc::new(new),
            Err(e) => *e.into_inner() = Arc::new(new),
        }
        self.set_problem(None);
        self.reloads.fetch_add(1, Ordering::Relaxed);
        Ok(report)
    }

    /// Records that a reload was refused (the running configuration stays).
    pub(crate) fn failed(&self, problem: String) {
        self.set_problem(Some(problem));
        self.failures.fetch_add(1, Ordering::Relaxed);
    }

    fn set_problem(&self, problem: Option<String>) {
        match self.problem.lock() {
            Ok(mut p) => *p = problem,
            Err(e) => *e.into_inner() = problem,
        }
    }

    /// Why the last configuration change was refused, if it was.
    pub(crate) fn problem(&self) -> Option<String> {
        match self.problem.lock() {
            Ok(p) => p.clone(),
            Err(e) => e.into_inner().clone(),
        }
    }
}

/// Every source's settings and health now, for operators: no patient data.
pub(crate) fn health(sources: &[Arc<Source>]) -> Vec<serde_json::Value> {
    let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
    sources
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
                "located": s.spec.located,
                "skipped": s.measured.counted(icr_model::SourceStatus::Skipped),
                "circuit": s.guard.circuit().as_str(),
                "in_flight": s.guard.in_flight(),
                "calls": load(&s.guard.calls),
                "retries": load(&s.guard.retried),
                "short_circuited": load(&s.guard.short_circuited),
                "rejected": load(&s.guard.rejected),
                "recent": s.recent.summary(),
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
        let views = cache.as_ref().map(|_| {
            let stats = previous
                .and_then(|p| p.views.as_ref())
                .map_or_else(Default::default, |v| Arc::clone(v.stats()));
            Views::new(g.cache.max_bytes / 4, stats)
        });
        let memory = match previous {
            Some(p) if p.gateway.cache == g.cache => p.memory.clone(),
            // Counters carry on; what was remembered goes with the old one.
            _ => Memory::new(
                &g.cache,
                previous.map_or_else(Default::default, |p| p.memory.shared_stats()),
            ),
        };
        let in_flight = match previous {
            // Requests in flight hold the old limit's permits; the new one
            // starts full, so the two may briefly add up.
            Some(p) if p.max_in_flight == g.max_in_flight => Arc::clone(&p.in_flight),
            _ => Arc::new(tokio::sync::Semaphore::new(g.max_in_flight as usize)),
        };
        let sources = build_sources(
            &config.sources,
            previous.map_or(&[][..], |p| &p.sources[..]),
        );
        Self {
            access: Arc::new(Access {
                verifier: Arc::clone(&config.verifier),
                policy: Arc::clone(&config.policy),
                objections,
                audit,
                break_glass,
            }),
            offered: sources
                .iter()
                .fold(SectionSet::EMPTY, |acc, s| acc.union(s.spec.sections)),
            sources,
            cache,
            views,
            memory,
            locator: crate::locate::build(g.index.as_ref(), config.index_file.as_ref()),
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
                .unwrap_or_else(|| Arc::new(Source::new(s.spec.clone(), Arc::clone(&s.adapter))))
        })
        .collect()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_reload_names_the_keys_only_a_restart_applies() {
        let e = ReloadError::RestartOnly {
            keys: vec!["listen", "audit.dir"],
        };
        assert_eq!(
            e.to_string(),
            "gateway.toml changes listen, audit.dir — which take effect only when the gateway restarts; nothing of this change was applied (restart to apply it, or undo it)"
        );
    }
}
