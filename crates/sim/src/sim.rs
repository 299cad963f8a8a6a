//! The running simulator: one listener per source, the control API, and
//! run-time faults.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, RwLock};

use time::OffsetDateTime;

use crate::config::{Fault, KIND_FHIR_R4, SimConfig};
use crate::control::Control;
use crate::population::Population;
use crate::rng::SplitMix64;
use crate::server::{self, FhirSource, Running};

/// Why the simulator could not start, or refused a change.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// A listener could not be bound.
    #[error("cannot listen on {addr} for {what}: {source}")]
    Bind {
        /// The source id, or `control`.
        what: String,
        /// The address.
        addr: SocketAddr,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// No source has this id.
    #[error("no simulated source is called {0:?}")]
    UnknownSource(String),
    /// The fault's values are not usable.
    #[error("fault refused: {0}")]
    InvalidFault(String),
    /// The configuration cannot be run.
    #[error("configuration refused: {0}")]
    InvalidConfig(String),
    /// Generating the population failed.
    #[error("generating the population failed")]
    Generate,
}

/// One source as the simulator runs it.
pub(crate) struct SourceSlot {
    pub source: Arc<FhirSource>,
    /// The accept loop, when the source is up. The async lock serialises
    /// stops and starts.
    pub running: tokio::sync::Mutex<Option<Running>>,
}

/// What the control API shares with [`Sim`].
pub(crate) struct Inner {
    pub population: Arc<Population>,
    pub sources: Vec<SourceSlot>,
}

impl Inner {
    pub fn slot(&self, id: &str) -> Option<&SourceSlot> {
        self.sources.iter().find(|s| s.source.config.id == id)
    }

    /// Applies a fault: stores it, and closes or re-binds the listener.
    pub async fn set_fault(&self, id: &str, fault: Fault) -> Result<(), SimError> {
        fault.validate().map_err(SimError::InvalidFault)?;
        let slot = self
            .slot(id)
            .ok_or_else(|| SimError::UnknownSource(id.chars().take(64).collect()))?;
        let mut running = slot.running.lock().await;
        let down = fault.down;
        slot.source.set_fault(fault.clone());
        if down {
            if let Some(r) = running.take() {
                r.stop().await;
                tracing::info!(source = %id, "source stopped");
            }
        } else if running.is_none() {
            match server::bind(slot.source.addr, id).await {
                Ok(listener) => {
                    *running = Some(server::spawn(listener, Arc::clone(&slot.source)));
                    tracing::info!(source = %id, "source started");
                }
                Err(e) => {
                    slot.source.set_fault(Fault {
                        down: true,
                        ..fault
                    });
                    return Err(e);
                }
            }
        }
        Ok(())
    }

    /// Whether the source's listener is open.
    pub async fn is_running(&self, slot: &SourceSlot) -> bool {
        slot.running.lock().await.is_some()
    }
}

/// The running simulator: the population, one FHIR R4 server per source,
/// and the control API.
pub struct Sim {
    inner: Arc<Inner>,
    control: Option<Running>,
    control_addr: Option<SocketAddr>,
}

impl Sim {
    /// Generates the population once and binds every listener (a source
    /// configured as down gets its port reserved, then closed).
    pub async fn start(config: SimConfig) -> Result<Sim, SimError> {
        let mut seen = HashSet::new();
        for s in &config.sources {
            if s.org().is_none() {
                return Err(SimError::InvalidConfig(format!(
                    "source {:?} is not a simulated organisation",
                    s.id
                )));
            }
            if s.kind != KIND_FHIR_R4 {
                return Err(SimError::InvalidConfig(format!(
                    "source {} has kind {:?}; only {KIND_FHIR_R4} is simulated",
                    s.id, s.kind
                )));
            }
            if !seen.insert(s.id.clone()) {
                return Err(SimError::InvalidConfig(format!(
                    "source {} is configured twice",
                    s.id
                )));
            }
            s.fault.validate().map_err(SimError::InvalidFault)?;
        }

        let as_of = config
            .as_of
            .unwrap_or_else(|| OffsetDateTime::now_utc().date());
        let (seed, size) = (config.seed, config.size);
        let population =
            tokio::task::spawn_blocking(move || Population::generate_as_of(seed, size, as_of))
                .await
                .map_err(|_| SimError::Generate)?;
        let population = Arc::new(population);

        let mut sources = Vec::with_capacity(config.sources.len());
        for (i, sc) in config.sources.into_iter().enumerate() {
            let Some(org) = sc.org() else { continue };
            let listener = server::bind(sc.listen, &sc.id).await?;
            let addr = listener.local_addr().map_err(|source| SimError::Bind {
                what: sc.id.clone(),
                addr: sc.listen,
                source,
            })?;
            let down = sc.fault.down;
            let source = Arc::new(FhirSource {
                fault: RwLock::new(sc.fault.clone()),
                rng: Mutex::new(SplitMix64::stream(seed ^ 0x5eed_fa17, i as u64)),
                config: sc,
                org,
                addr,
                population: Arc::clone(&population),
            });
            let running = if down {
                drop(listener);
                None
            } else {
                Some(server::spawn(listener, Arc::clone(&source)))
            };
            tracing::info!(source = %source.config.id, addr = %addr, down, "source listening");
            sources.push(SourceSlot {
                source,
                running: tokio::sync::Mutex::new(running),
            });
        }
        let inner = Arc::new(Inner {
            population,
            sources,
        });

        let (control, control_addr) = match config.control_listen {
            Some(addr) => {
                let listener = server::bind(addr, "control").await?;
                let bound = listener.local_addr().map_err(|source| SimError::Bind {
                    what: "control".into(),
                    addr,
                    source,
                })?;
                let handler = Arc::new(Control {
                    inner: Arc::clone(&inner),
                });
                tracing::info!(addr = %bound, "control API listening");
                (Some(server::spawn(listener, handler)), Some(bound))
            }
            None => (None, None),
        };
        Ok(Sim {
            inner,
            control,
            control_addr,
        })
    }

    /// The population the sources serve.
    pub fn population(&self) -> &Population {
        &self.inner.population
    }

    /// The address a source is bound to (its port even while it is down).
    pub fn source_addr(&self, id: &str) -> Option<SocketAddr> {
        self.inner.slot(id).map(|s| s.source.addr)
    }

    /// The source's FHIR base URL, e.g. `http://127.0.0.1:9101/fhir/r4`.
    pub fn endpoint(&self, id: &str) -> Option<String> {
        self.inner.slot(id).map(|s| s.source.endpoint())
    }

    /// The ids of the sources, in configuration order.
    pub fn sources(&self) -> Vec<String> {
        self.inner
            .sources
            .iter()
            .map(|s| s.source.config.id.clone())
            .collect()
    }

    /// The address of the control API, if it is on.
    pub fn control_addr(&self) -> Option<SocketAddr> {
        self.control_addr
    }

    /// The source's current faults.
    pub fn fault(&self, id: &str) -> Option<Fault> {
        self.inner.slot(id).map(|s| s.source.fault())
    }

    /// Changes a source's faults. `down = true` closes its listener (new
    /// connections are refused, open ones are closed); `down = false`
    /// re-binds the same port.
    pub async fn set_fault(&self, id: &str, fault: Fault) -> Result<(), SimError> {
        self.inner.set_fault(id, fault).await
    }

    /// Closes every listener and connection and waits for them to finish.
    pub async fn shutdown(mut self) {
        if let Some(c) = self.control.take() {
            c.stop().await;
        }
        for slot in &self.inner.sources {
            if let Some(r) = slot.running.lock().await.take() {
                r.stop().await;
            }
        }
    }
}
