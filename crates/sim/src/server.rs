//! HTTP plumbing shared by the simulated sources and the control API: an
//! accept loop per listener that can be stopped (closing the listener and
//! every open connection), bounded request reading, and the FHIR handler
//! with its faults.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use bytes::Bytes;
use http::header::{CACHE_CONTROL, CONTENT_TYPE, HOST};
use http::{Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};

use crate::config::{Fault, SimSourceConfig};
use crate::fhir;
use crate::org::Org;
use crate::population::Population;
use crate::rng::SplitMix64;

/// Largest request head (request line and headers) a server reads.
pub const MAX_HEAD_BYTES: usize = 16 * 1024;

/// How long a client may take to send its request head.
pub const HEAD_TIMEOUT: Duration = Duration::from_secs(10);

/// A response future, boxed so handlers can be stored behind one type.
pub(crate) type Reply = Pin<Box<dyn Future<Output = Response<Full<Bytes>>> + Send>>;

/// Something that answers requests on a listener.
pub(crate) trait Handler: Send + Sync + 'static {
    /// Answers one request.
    fn handle(self: Arc<Self>, req: Request<Incoming>) -> Reply;
}

/// A running accept loop; dropping it stops the loop too.
pub(crate) struct Running {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl Running {
    /// Closes the listener and every open connection, and waits for that.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

/// Binds a listener, naming what it is for in the error.
pub(crate) async fn bind(addr: SocketAddr, what: &str) -> Result<TcpListener, crate::SimError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| crate::SimError::Bind {
            what: what.to_string(),
            addr,
            source,
        })
}

/// Serves `handler` on `listener` until stopped.
pub(crate) fn spawn<H: Handler>(listener: TcpListener, handler: Arc<H>) -> Running {
    let (stop, mut stopped) = watch::channel(false);
    let task = tokio::spawn(async move {
        let mut conns = JoinSet::new();
        loop {
            tokio::select! {
                _ = stopped.changed() => break,
                accepted = listener.accept() => match accepted {
                    Ok((stream, _)) => {
                        let handler = Arc::clone(&handler);
                        conns.spawn(serve_connection(stream, handler));
                    }
                    Err(e) => {
                        // Out of file descriptors and the like: back off briefly.
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                },
                Some(_) = conns.join_next(), if !conns.is_empty() => {}
            }
        }
        drop(listener);
        conns.shutdown().await;
    });
    Running { stop, task }
}

async fn serve_connection<H: Handler>(stream: tokio::net::TcpStream, handler: Arc<H>) {
    let io = TokioIo::new(stream);
    let svc = service_fn(move |req| {
        let h = Arc::clone(&handler);
        async move { Ok::<_, Infallible>(h.handle(req).await) }
    });
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(HEAD_TIMEOUT)
        .max_buf_size(MAX_HEAD_BYTES);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_header_list_size(MAX_HEAD_BYTES as u32);
    if let Err(e) = builder.serve_connection(io, svc).await {
        tracing::debug!(error = %e, "connection ended with an error");
    }
}

/// A response with a body and content type; `no-store` because it may
/// carry (synthetic) patient data.
pub(crate) fn response(status: u16, content_type: &str, body: Vec<u8>) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(body)));
    *r.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    if let Ok(v) = http::HeaderValue::from_str(content_type) {
        r.headers_mut().insert(CONTENT_TYPE, v);
    }
    r.headers_mut()
        .insert(CACHE_CONTROL, http::HeaderValue::from_static("no-store"));
    r
}

/// The address to show for a bound socket: an unspecified IP (`0.0.0.0`,
/// `::`) is shown as loopback, which a local client can connect to.
pub(crate) fn reachable(addr: SocketAddr) -> SocketAddr {
    let mut a = addr;
    if a.ip().is_unspecified() {
        a.set_ip(match a.ip() {
            std::net::IpAddr::V4(_) => std::net::Ipv4Addr::LOCALHOST.into(),
            std::net::IpAddr::V6(_) => std::net::Ipv6Addr::LOCALHOST.into(),
        });
    }
    a
}

/// The host (and port) the request was sent to, if it is a plausible
/// host: from the URI authority (HTTP/2) or the `Host` header.
fn request_host(req: &Request<Incoming>) -> Option<String> {
    let host = req
        .uri()
        .authority()
        .map(|a| a.as_str().to_string())
        .or_else(|| {
            req.headers()
                .get(HOST)
                .and_then(|h| h.to_str().ok())
                .map(str::to_string)
        })?;
    let ok = (1..=255).contains(&host.len())
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-.:[]".contains(&b));
    ok.then_some(host)
}

/// One simulated FHIR R4 source: whose records it serves and its faults.
pub(crate) struct FhirSource {
    pub config: SimSourceConfig,
    pub org: Org,
    pub addr: SocketAddr,
    pub population: Arc<Population>,
    pub fault: RwLock<Fault>,
    pub rng: Mutex<SplitMix64>,
}

impl FhirSource {
    /// The base URL clients reach the source at.
    pub fn endpoint(&self) -> String {
        format!("http://{}{}", reachable(self.addr), fhir::BASE_PATH)
    }

    /// The current faults.
    pub fn fault(&self) -> Fault {
        self.fault
            .read()
            .map(|f| f.clone())
            .unwrap_or_else(|e| e.into_inner().clone())
    }

    /// Replaces the faults.
    pub fn set_fault(&self, fault: Fault) {
        match self.fault.write() {
            Ok(mut f) => *f = fault,
            Err(e) => *e.into_inner() = fault,
        }
    }

    /// The delay and whether to fail, drawn for one request.
    fn draw(&self) -> (u64, bool) {
        let fault = self.fault();
        let mut rng = match self.rng.lock() {
            Ok(r) => r,
            Err(e) => e.into_inner(),
        };
        let delay = fault.latency_ms.map_or(0, |l| l.sample(&mut rng));
        let fail = fault.error_rate > 0.0 && rng.next_f64() < fault.error_rate;
        (delay, fail)
    }
}

impl Handler for FhirSource {
    fn handle(self: Arc<Self>, req: Request<Incoming>) -> Reply {
        Box::pin(async move {
            let (delay, fail) = self.draw();
            if delay > 0 {
                tokio::time::sleep(Duration::from_millis(delay)).await;
            }
            let answer = if fail {
                fhir::outcome(
                    500,
                    "transient",
                    "simulated failure (error_rate fault); try again",
                )
            } else {
                let host = request_host(&req).unwrap_or_else(|| reachable(self.addr).to_string());
                let base = format!("http://{host}{}", fhir::BASE_PATH);
                let population = Arc::clone(&self.population);
                let org = self.org;
                let method = req.method().as_str().to_string();
                let path = req.uri().path().to_string();
                let query = req.uri().query().map(str::to_string);
                // Rendering a large page is CPU work: keep it off the reactor.
                tokio::task::spawn_blocking(move || {
                    fhir::respond(&population, org, &base, &method, &path, query.as_deref())
                })
                .await
                .unwrap_or_else(|_| fhir::outcome(500, "exception", "the request failed"))
            };
            tracing::debug!(source = %self.config.id, status = answer.status, "answered");
            response(answer.status, fhir::FHIR_JSON, answer.body)
        })
    }
}
