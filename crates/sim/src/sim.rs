//! The running simulator: one listener per source, the control API, and
//! run-time faults.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::Arc;

use time::OffsetDateTime;

use crate::config::{Fault, SimConfig, SimSourceConfig};
use crate::control::Control;
use crate::org::{Kind, Org};
use crate::population::Population;
use crate::protocol::{self, Module, SourceCtx};
use crate::server::{self, HttpSource, Running, reachable};

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

/// One listener as the simulator runs it.
pub(crate) struct SourceSlot {
    pub config: SimSourceConfig,
    pub ctx: Arc<SourceCtx>,
    pub module: Module,
    /// The accept loop, when the listener is up. The async lock serialises
    /// stops and starts.
    pub running: tokio::sync::Mutex<Option<Running>>,
}

impl SourceSlot {
    /// The endpoint a client reaches `org` at on this listener.
    pub fn endpoint(&self, org: Org) -> String {
        let addr = reachable(self.ctx.addr());
        match self.module {
            Module::Http(m) => format!("http://{addr}{}", m.base_path(org)),
            Module::Tcp(m) => format!("{}://{addr}", m.scheme()),
        }
    }

    /// Starts serving on `listener`.
    fn serve(&self, listener: tokio::net::TcpListener) -> Running {
        match self.module {
            Module::Http(m) => server::spawn_http(
                listener,
                Arc::new(HttpSource {
                    ctx: Arc::clone(&self.ctx),
                    module: m,
                }),
            ),
            Module::Tcp(m) => server::spawn_tcp(listener, m, Arc::clone(&self.ctx)),
        }
    }
}

/// What the control API shares with [`Sim`].
pub(crate) struct Inner {
    pub population: Arc<Population>,
    pub sources: Vec<SourceSlot>,
}

impl Inner {
    /// The listener called `id`, or else the one serving the organisation
    /// with source id `id`.
    pub fn slot(&self, id: &str) -> Option<&SourceSlot> {
        self.sources.iter().find(|s| s.config.id == id).or_else(|| {
            let org = Org::from_id(id)?;
            self.sources.iter().find(|s| s.ctx.serves(org))
        })
    }

    /// Applies a fault to a listener: stores it, and closes or re-binds it.
    pub async fn set_fault(&self, id: &str, fault: Fault) -> Result<(), SimError> {
        fault.validate().map_err(SimError::InvalidFault)?;
        let slot = self
            .slot(id)
            .ok_or_else(|| SimError::UnknownSource(id.chars().take(64).collect()))?;
        let name = slot.config.id.as_str();
        let mut running = slot.running.lock().await;
        let down = fault.down;
        slot.ctx.set_fault(fault.clone());
        if down {
            if let Some(r) = running.take() {
                r.stop().await;
                tracing::info!(source = %name, "source stopped");
            }
        } else if running.is_none() {
            match server::bind(slot.ctx.addr(), name).await {
                Ok(listener) => {
                    *running = Some(slot.serve(listener));
                    tracing::info!(source = %name, "source started");
                }
                Err(e) => {
                    slot.ctx.set_fault(Fault {
                        down: true,
                        ..fault
                    });
                    return Err(e);
                }
            }
        }
        Ok(())
    }

    /// Whether the listener is open.
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
        Self::start_with(config, protocol::module).await
    }

    /// As [`Sim::start`], with the modules `modules` gives for each kind in
    /// place of the built-in ones: for testing a module before it is
    /// registered in [`protocol::module`].
    pub async fn start_with(
        config: SimConfig,
        modules: fn(Kind) -> Option<Module>,
    ) -> Result<Sim, SimError> {
        let mut seen = HashSet::new();
        let mut served = HashSet::new();
        for s in &config.sources {
            let Some(module) = modules(s.kind) else {
                return Err(SimError::InvalidConfig(format!(
                    "source {} has kind {}, which no simulator module serves",
                    s.id, s.kind
                )));
            };
            let apart = match module {
                Module::Http(m) => {
                    let paths: HashSet<String> = s.orgs.iter().map(|o| m.base_path(*o)).collect();
                    paths.len() == s.orgs.len()
                }
                Module::Tcp(_) => s.orgs.len() <= 1,
            };
            if !apart {
                return Err(SimError::InvalidConfig(format!(
                    "source {} serves several organisations its module cannot tell apart",
                    s.id
                )));
            }
            if s.orgs.is_empty() {
                return Err(SimError::InvalidConfig(format!(
                    "source {} serves no organisation",
                    s.id
                )));
            }
            if let Some(o) = s.orgs.iter().find(|o| o.kind() != s.kind) {
                return Err(SimError::InvalidConfig(format!(
                    "source {} has kind {}, but {} speaks {}",
                    s.id,
                    s.kind,
                    o.id(),
                    o.kind()
                )));
            }
            if !seen.insert(s.id.clone()) {
                return Err(SimError::InvalidConfig(format!(
                    "source {} is configured twice",
                    s.id
                )));
            }
            if let Some(o) = s.orgs.iter().find(|o| !served.insert(**o)) {
                return Err(SimError::InvalidConfig(format!(
                    "{} is served by two sources",
                    o.id()
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
            let Some(module) = modules(sc.kind) else {
                continue;
            };
            let listener = server::bind(sc.listen, &sc.id).await?;
            let addr = listener.local_addr().map_err(|source| SimError::Bind {
                what: sc.id.clone(),
                addr: sc.listen,
                source,
            })?;
            let ctx = SourceCtx::new(
                &sc.id,
                sc.kind,
                sc.orgs.clone(),
                addr,
                Arc::clone(&population),
                crate::rng::SplitMix64::stream(seed ^ 0x5eed_fa17, i as u64).next_u64(),
            )
            .with_fhir_search(sc.fhir_search);
            ctx.set_fault(sc.fault.clone());
            let down = sc.fault.down;
            let slot = SourceSlot {
                config: sc,
                ctx: Arc::new(ctx),
                module,
                running: tokio::sync::Mutex::new(None),
            };
            if down {
                drop(listener);
            } else {
                *slot.running.lock().await = Some(slot.serve(listener));
            }
            tracing::info!(source = %slot.config.id, addr = %addr, down, "source listening");
            sources.push(slot);
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
                (Some(server::spawn_http(listener, handler)), Some(bound))
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

    /// The address of a listener (its port even while it is down), by the
    /// listener's id or the id of an organisation it serves.
    pub fn source_addr(&self, id: &str) -> Option<SocketAddr> {
        self.inner.slot(id).map(|s| s.ctx.addr())
    }

    /// Where the gateway reaches an organisation, by its source id: e.g.
    /// `http://127.0.0.1:9101/fhir/r4` for `gwh`. A listener id that is not
    /// an organisation's (a group such as `gp`) has no one endpoint: `None`.
    pub fn endpoint(&self, id: &str) -> Option<String> {
        let org = Org::from_id(id)?;
        let slot = self.inner.sources.iter().find(|s| s.ctx.serves(org))?;
        Some(slot.endpoint(org))
    }

    /// The source ids of every organisation served, in configuration order
    /// (the ids the gateway registers them under).
    pub fn sources(&self) -> Vec<String> {
        self.inner
            .sources
            .iter()
            .flat_map(|s| s.ctx.orgs().iter().map(|o| o.id().to_string()))
            .collect()
    }

    /// The listeners' ids (the control API's names), in configuration order.
    pub fn listeners(&self) -> Vec<String> {
        self.inner
            .sources
            .iter()
            .map(|s| s.config.id.clone())
            .collect()
    }

    /// The protocol of a listener or organisation.
    pub fn kind(&self, id: &str) -> Option<Kind> {
        self.inner.slot(id).map(|s| s.ctx.kind())
    }

    /// The address of the control API, if it is on.
    pub fn control_addr(&self) -> Option<SocketAddr> {
        self.control_addr
    }

    /// The current faults of a listener (by its id or an organisation's).
    pub fn fault(&self, id: &str) -> Option<Fault> {
        self.inner.slot(id).map(|s| s.ctx.fault())
    }

    /// Changes a listener's faults, by its id or the id of an organisation
    /// it serves (faults belong to the listener: every organisation on it
    /// shares them). `down = true` closes the listener (new connections are
    /// refused, open ones are closed); `down = false` re-binds the same port.
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
