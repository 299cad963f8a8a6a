//! The store handle: a small bounded pool of PostgreSQL connections.

use std::ops::{Deref, DerefMut};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_postgres::config::SslMode;
use tokio_postgres::tls::MakeTlsConnect;
use tokio_postgres::{Client, Config, NoTls, Socket};

use crate::error::StoreError;
use crate::tls::StoreTls;

/// How long to wait for a free connection, or to open one.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// The server-side bound on each statement (PostgreSQL's
/// `statement_timeout`), set when the connection string sets no `options`.
const STATEMENT_TIMEOUT: &str = "-c statement_timeout=30000";

/// The most connections one handle opens.
pub const MAX_POOL: usize = 64;

/// The audit store: a handle to one PostgreSQL database, cheap to clone,
/// holding at most `pool_size` connections.
#[derive(Clone)]
pub struct AuditStore {
    inner: Arc<Inner>,
}

struct Inner {
    config: Config,
    tls: Option<StoreTls>,
    idle: Mutex<Vec<Client>>,
    permits: Arc<Semaphore>,
}

impl std::fmt::Debug for AuditStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The connection string may hold a password: never printed.
        f.debug_struct("AuditStore")
            .field("available", &self.inner.permits.available_permits())
            .finish_non_exhaustive()
    }
}

/// A connection taken from the pool, given back when dropped (unless it
/// was closed).
pub(crate) struct Conn {
    client: Option<Client>,
    inner: Arc<Inner>,
    _permit: OwnedSemaphorePermit,
}

impl Deref for Conn {
    type Target = Client;
    fn deref(&self) -> &Client {
        // Set at creation, taken only in drop.
        self.client.as_ref().unwrap_or_else(|| unreachable!())
    }
}

impl DerefMut for Conn {
    fn deref_mut(&mut self) -> &mut Client {
        self.client.as_mut().unwrap_or_else(|| unreachable!())
    }
}

impl Drop for Conn {
    fn drop(&mut self) {
        if let Some(c) = self.client.take()
            && !c.is_closed()
            && let Ok(mut idle) = self.inner.idle.lock()
        {
            idle.push(c);
        }
    }
}

impl AuditStore {
    /// A handle to the database at `url` (`postgresql://user@host:port/db`
    /// or `host=… port=… user=… dbname=…`), with at most `pool_size`
    /// connections (1 to [`MAX_POOL`]). Connects once to check that it can.
    pub async fn connect(url: &str, pool_size: usize) -> Result<AuditStore, StoreError> {
        Self::connect_with(url, pool_size, None).await
    }

    /// [`AuditStore::connect`], over TLS when `tls` is given.
    pub async fn connect_with(
        url: &str,
        pool_size: usize,
        tls: Option<StoreTls>,
    ) -> Result<AuditStore, StoreError> {
        let store = Self::lazy_with(url, pool_size, tls)?;
        drop(store.conn().await?);
        Ok(store)
    }

    /// A handle to the database at `url` that connects only when first
    /// used (and again after a connection is lost): for a reader that must
    /// start while PostgreSQL is down.
    pub fn lazy(url: &str, pool_size: usize) -> Result<AuditStore, StoreError> {
        Self::lazy_with(url, pool_size, None)
    }

    /// [`AuditStore::lazy`], over TLS when `tls` is given: then every
    /// connection is TLS (`sslmode=require`), the server's certificate
    /// verified against `tls`'s CA certificates and the URL's host name.
    /// Without it, a URL asking for TLS (`sslmode=require`) is refused
    /// rather than connected to without verifying the server.
    pub fn lazy_with(
        url: &str,
        pool_size: usize,
        tls: Option<StoreTls>,
    ) -> Result<AuditStore, StoreError> {
        if !(1..=MAX_POOL).contains(&pool_size) {
            return Err(StoreError::Invalid("pool size (1 to 64)"));
        }
        let mut config: Config = url
            .parse()
            .map_err(|e: tokio_postgres::Error| StoreError::Config(e.to_string()))?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        // Every statement bounded, unless the connection string says
        // otherwise.
        if config.get_options().is_none() {
            config.options(STATEMENT_TIMEOUT);
        }
        if config.get_application_name().is_none() {
            config.application_name("icr-audit-store");
        }
        match (&tls, config.get_ssl_mode()) {
            (Some(_), SslMode::Disable) => {
                return Err(StoreError::Config(
                    "sslmode=disable, yet a CA file is given for TLS".into(),
                ));
            }
            (Some(_), _) => {
                config.ssl_mode(SslMode::Require);
            }
            (None, SslMode::Require) => {
                return Err(StoreError::Config(
                    "sslmode=require needs the CA certificates to verify the server with ([audit_store] ca_file)".into(),
                ));
            }
            (None, _) => {
                config.ssl_mode(SslMode::Disable);
            }
        }
        Ok(AuditStore {
            inner: Arc::new(Inner {
                config,
                tls,
                idle: Mutex::new(Vec::new()),
                permits: Arc::new(Semaphore::new(pool_size)),
            }),
        })
    }

    /// A connection: an idle one, or a new one; waits at most
    /// [`CONNECT_TIMEOUT`] for a free one.
    pub(crate) async fn conn(&self) -> Result<Conn, StoreError> {
        let permit =
            tokio::time::timeout(CONNECT_TIMEOUT, self.inner.permits.clone().acquire_owned())
                .await
                .map_err(|_| StoreError::Timeout {
                    what: "a free connection",
                })?
                .map_err(|_| StoreError::Invalid("closed pool"))?;
        let reused = {
            let mut idle = self
                .inner
                .idle
                .lock()
                .map_err(|_| StoreError::Interrupted)?;
            let mut found = None;
            while let Some(c) = idle.pop() {
                if !c.is_closed() {
                    found = Some(c);
                    break;
                }
            }
            found
        };
        let client = match reused {
            Some(c) => c,
            None => self.open().await?,
        };
        Ok(Conn {
            client: Some(client),
            inner: self.inner.clone(),
            _permit: permit,
        })
    }

    /// A new connection (TLS when configured), its connection task
    /// spawned; bounded by [`CONNECT_TIMEOUT`].
    async fn open(&self) -> Result<Client, StoreError> {
        match &self.inner.tls {
            Some(tls) => open_with(&self.inner.config, tls.clone()).await,
            None => open_with(&self.inner.config, NoTls).await,
        }
    }
}

/// Connects with `tls`, spawning the connection's task.
async fn open_with<T>(config: &Config, tls: T) -> Result<Client, StoreError>
where
    T: MakeTlsConnect<Socket>,
    T::Stream: Send + 'static,
{
    let (client, connection) = tokio::time::timeout(CONNECT_TIMEOUT, config.connect(tls))
        .await
        .map_err(|_| StoreError::Timeout {
            what: "a new connection",
        })?
        .map_err(StoreError::Connect)?;
    tokio::spawn(watch(connection));
    Ok(client)
}

/// Drives a connection until it closes, saying why when it fails.
async fn watch<F: Future<Output = Result<(), tokio_postgres::Error>>>(connection: F) {
    if let Err(e) = connection.await {
        tracing::warn!(error = %e, "audit store connection closed");
    }
}
