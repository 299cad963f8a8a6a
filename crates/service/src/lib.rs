//! Running the gateway as a service, around the request flow
//! (`icr_gateway`): the configuration directory loaded and checked, the
//! listener bound, requests served until SIGINT or SIGTERM, and changes to
//! the configuration applied while it runs. `icr serve` and `icr demo`
//! both run through [`run`]; `icr check-config` is [`check`].

pub mod extract;
mod hosted;
mod reload;
mod signal;

pub use hosted::HostedRuns;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use icr_adapter_sdk::Registry;
use icr_config::{Config, ConfigErrors};
use icr_gateway::Gateway;

pub use signal::shutdown_signal;

/// Why the gateway could not start or stopped serving.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// The configuration does not load.
    #[error("{0}")]
    Config(#[from] ConfigErrors),
    /// The listen address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        /// The address asked for.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// The audit log could not be opened.
    #[error("cannot open the audit log: {0}")]
    AuditLog(#[from] icr_audit::AuditError),
    /// The shared audit store's settings cannot be used.
    #[error("{0}")]
    AuditStore(#[from] icr_audit_store::FeedError),
    /// The shared audit store cannot be used.
    #[error("{0}")]
    Store(#[from] icr_audit_store::StoreError),
    /// The viewer could not be set up.
    #[error("{0}")]
    Viewer(#[from] icr_gateway::ViewerError),
    /// Serving failed (or the bound address could not be read).
    #[error("{0}")]
    Serve(#[from] std::io::Error),
    /// An extract could not run or finish.
    #[error("{0}")]
    Extract(#[from] extract::ExtractError),
}

/// The gateway, bound and about to serve: what is announced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Listening {
    /// The address bound.
    pub addr: SocketAddr,
    /// Whether it serves HTTPS.
    pub tls: bool,
    /// Sources configured.
    pub sources: usize,
    /// Where the audit log is written.
    pub audit_dir: PathBuf,
    /// Where the browser viewer is reached, when `[viewer]` is configured.
    pub viewer: Option<String>,
}

impl std::fmt::Display for Listening {
    /// The line that says the gateway is up (scripts and tests wait for it).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let scheme = if self.tls { "https" } else { "http" };
        write!(
            f,
            "icr gateway listening on {scheme}://{} with {} sources",
            self.addr, self.sources
        )
    }
}

/// `icr serve`: the gateway on the configuration in `dir` (and `listen`,
/// when given, instead of gateway.toml's address), announced on stdout.
pub async fn serve(
    dir: &Path,
    listen: Option<SocketAddr>,
    registry: Registry,
) -> Result<(), ServiceError> {
    run(
        dir,
        listen,
        move |dir: &Path| Config::load(dir, &registry),
        |up| say(&up.to_string()),
    )
    .await
}

/// Runs the gateway on the configuration `load` reads from `dir` until
/// SIGINT or SIGTERM: binds `listen` (else gateway.toml's address), opens
/// the audit log, applies configuration changes as they come (read again
/// with `load`, polled every 2 s and on SIGHUP), calls `announce` once
/// bound, serves (over TLS when `[tls]` is configured, within
/// `[connections]`' limits), then closes the audit log.
pub async fn run<L>(
    dir: &Path,
    listen: Option<SocketAddr>,
    load: L,
    announce: impl FnOnce(&Listening),
) -> Result<(), ServiceError>
where
    L: Fn(&Path) -> Result<Config, ConfigErrors> + Send + 'static,
{
    let config = load(dir)?;
    let addr = listen.unwrap_or(config.gateway.listen);
    let listener =
        icr_gateway::bind(addr).map_err(|source| ServiceError::Listen { addr, source })?;
    let gateway = Gateway::new(&config)?;
    let feed = match &config.gateway.audit_store {
        Some(store) => Some(start_feed(store, dir, &config, &gateway)?),
        None => None,
    };
    if !config.gateway.extracts.is_empty() {
        let runs = HostedRuns::new(config.gateway.extracts.clone());
        gateway.use_extract_runs(std::sync::Arc::new(runs));
    }
    let bound = listener.local_addr()?;
    let viewer = match &config.gateway.viewer {
        Some(v) => {
            let viewer = icr_gateway::Viewer::new(
                v,
                &config.gateway.auth,
                dir,
                bound,
                config.tls.is_some(),
            )?;
            let url = viewer.url().to_string();
            gateway.use_viewer(viewer);
            Some(url)
        }
        None => None,
    };
    let reload_dir = dir.to_path_buf();
    let watched = [dir.to_path_buf(), dir.join(&config.gateway.sources_dir)];
    reload::watch(gateway.clone(), watched, config.files(), move || {
        load(&reload_dir)
    });
    announce(&Listening {
        addr: bound,
        tls: config.tls.is_some(),
        sources: gateway.source_count(),
        audit_dir: config.gateway.audit.dir.clone(),
        viewer,
    });
    let limits = icr_gateway::ConnectionLimits::from_config(&config.gateway.connections);
    let served = match config.tls.clone() {
        Some(tls) => {
            icr_gateway::serve_tls(listener, gateway.clone(), limits, tls, shutdown_signal()).await
        }
        None => icr_gateway::serve(listener, gateway.clone(), limits, shutdown_signal()).await,
    };
    // The log closed first (every completion written), then one last feed
    // of what was served, bounded by the feed's period: the store then
    // holds this replica's whole log, and records that it stopped cleanly.
    gateway.close().await;
    if let Some((stop, task)) = feed {
        let _ = stop.send(());
        let _ = task.await;
    }
    Ok(served?)
}

/// Starts feeding this replica's audit log into the shared store (in the
/// background: requests never wait for it); the sender stops it.
fn start_feed(
    store: &icr_audit_store::StoreConfig,
    dir: &Path,
    config: &Config,
    gateway: &Gateway,
) -> Result<
    (
        tokio::sync::oneshot::Sender<()>,
        tokio::task::JoinHandle<()>,
    ),
    ServiceError,
> {
    let settings = resolve_store(store, dir)?;
    tracing::info!(replica = %settings.replica, "feeding the audit log into the shared audit store");
    let stats = std::sync::Arc::new(icr_audit_store::FeedStats::default());
    gateway.use_shared_audit(icr_gateway::SharedStore {
        store: settings.reader()?,
        replica: settings.replica.clone(),
        feed: std::sync::Arc::clone(&stats),
        feed_every: settings.every(),
    });
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let head = {
        let gateway = gateway.clone();
        move || gateway.audit_head()
    };
    let task = tokio::spawn(icr_audit_store::feed(
        settings,
        config.gateway.audit.dir.clone(),
        head,
        stats,
        async move {
            let _ = stopped.await;
        },
    ));
    Ok((stop, task))
}

/// The shared store's settings resolved here: the replica id defaults to
/// this host's `HOSTNAME` (a StatefulSet's pod name).
fn resolve_store(
    store: &icr_audit_store::StoreConfig,
    dir: &Path,
) -> Result<icr_audit_store::Resolved, icr_audit_store::FeedError> {
    store.resolve(dir, std::env::var("HOSTNAME").ok().as_deref())
}

/// `icr check-config`: the configuration in `dir` loaded as [`serve`]
/// loads it; the line that sums it up, or every problem.
pub fn check(dir: &Path, registry: &Registry) -> Result<String, ConfigErrors> {
    let config = Config::load(dir, registry)?;
    let mut line = summary(dir, &config);
    // The shared audit store's settings as `serve` resolves them: the
    // replica id and the URL's file, read and parsed (never printed: it may
    // hold a password). The store itself is not contacted.
    if let Some(store) = &config.gateway.audit_store {
        match resolve_store(store, dir) {
            Ok(settings) => line.push_str(&format!(
                ", shared audit store as replica {} (URL from {})",
                settings.replica,
                store.url_file.display()
            )),
            Err(e) => {
                return Err(ConfigErrors(vec![icr_config::ConfigError {
                    file: dir.join("gateway.toml"),
                    line: None,
                    key: Some("audit_store".into()),
                    message: e.to_string(),
                }]));
            }
        }
    }
    // The viewer as `serve` builds it: its client secret read, the demo's
    // provider given its signing key. The provider is not contacted.
    if let Some(v) = &config.gateway.viewer {
        match icr_gateway::Viewer::new(
            v,
            &config.gateway.auth,
            dir,
            config.gateway.listen,
            config.tls.is_some(),
        ) {
            Ok(viewer) => line.push_str(&format!(
                ", viewer at {} signing in with {}{}",
                viewer.url(),
                v.oidc.issuer,
                if v.oidc.demo {
                    " (the demo's own provider: demonstration only)"
                } else {
                    ""
                }
            )),
            Err(e) => {
                return Err(ConfigErrors(vec![icr_config::ConfigError {
                    file: dir.join("gateway.toml"),
                    line: None,
                    key: Some("viewer".into()),
                    message: e.to_string(),
                }]));
            }
        }
    }
    // Each [[extract]] as a run would read it: its specification (the key
    // file, the opt-out list), its cohort, and the policy's leave. The
    // sources are not asked.
    let mut problems = Vec::new();
    for (i, x) in config.gateway.extracts.iter().enumerate() {
        if let Err(message) = extract::check(&config, x) {
            problems.push(icr_config::ConfigError {
                file: dir.join("gateway.toml"),
                line: None,
                key: Some(format!("extract[{i}]")),
                message,
            });
        }
    }
    if !problems.is_empty() {
        return Err(ConfigErrors(problems));
    }
    if !config.gateway.extracts.is_empty() {
        line.push_str(&format!(
            ", {} population-health extract(s) for operators",
            config.gateway.extracts.len()
        ));
    }
    Ok(line)
}

/// One line summing up a configuration that loads.
fn summary(dir: &Path, config: &Config) -> String {
    let mut kinds: Vec<&str> = config
        .sources
        .iter()
        .map(|s| s.spec.kind.as_str())
        .collect();
    kinds.sort_unstable();
    kinds.dedup();
    format!(
        "{}: configuration OK — {} sources ({}), TLS {}, objection register {}, audit log in {}",
        dir.display(),
        config.sources.len(),
        kinds.join(", "),
        if config.tls.is_some() { "on" } else { "off" },
        match &config.objections_file {
            Some(f) => format!("{} ({} objections)", f.display(), config.objections.len()),
            None => "none".into(),
        },
        config.gateway.audit.dir.display()
    )
}

/// Prints a line to stdout, ignoring failure: a closed stdout (`icr demo |
/// head`) must not take the gateway down with it.
pub fn say(line: &str) {
    use std::io::Write as _;
    let _ = writeln!(std::io::stdout(), "{line}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_listening_line_names_the_scheme_address_and_sources() {
        let mut up = Listening {
            addr: SocketAddr::from(([127, 0, 0, 1], 8080)),
            tls: false,
            sources: 12,
            audit_dir: PathBuf::from("audit"),
            viewer: None,
        };
        assert_eq!(
            up.to_string(),
            "icr gateway listening on http://127.0.0.1:8080 with 12 sources"
        );
        up.tls = true;
        assert_eq!(
            up.to_string(),
            "icr gateway listening on https://127.0.0.1:8080 with 12 sources"
        );
    }

    #[test]
    fn errors_say_what_could_not_be_done() {
        let listen = ServiceError::Listen {
            addr: SocketAddr::from(([127, 0, 0, 1], 80)),
            source: std::io::Error::from(std::io::ErrorKind::PermissionDenied),
        };
        assert_eq!(
            listen.to_string(),
            "cannot listen on 127.0.0.1:80: permission denied"
        );
    }

    #[test]
    fn a_configuration_with_no_sources_dir_is_refused_with_its_problems() {
        let dir = std::env::temp_dir().join(format!("icr-service-empty-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let errors = check(&dir, &Registry::new()).unwrap_err();
        assert!(!errors.0.is_empty());
        assert!(
            errors.to_string().starts_with("the configuration has "),
            "{errors}"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
