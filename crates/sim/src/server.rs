//! Plumbing shared by every simulated source and the control API: an
//! accept loop per listener that can be stopped (closing the listener and
//! every open connection), bounded HTTP request reading, and the faults
//! applied around an HTTP protocol module.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::header::{CACHE_CONTROL, CONTENT_TYPE, HOST};
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};

use crate::protocol::{
    Answer, BoxFuture, HttpModule, HttpRequest, MAX_REQUEST_BODY_BYTES, SourceCtx, TcpModule,
};

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

/// What to do with each accepted connection.
pub(crate) type OnConnection = Arc<dyn Fn(tokio::net::TcpStream) -> BoxFuture + Send + Sync>;

/// Serves HTTP with `handler` on `listener` until stopped.
pub(crate) fn spawn_http<H: Handler>(listener: TcpListener, handler: Arc<H>) -> Running {
    spawn(
        listener,
        Arc::new(move |stream| Box::pin(serve_connection(stream, Arc::clone(&handler)))),
    )
}

/// Serves a raw TCP module on `listener` until stopped.
pub(crate) fn spawn_tcp(
    listener: TcpListener,
    module: &'static dyn TcpModule,
    ctx: Arc<SourceCtx>,
) -> Running {
    spawn(
        listener,
        Arc::new(move |stream| module.serve(stream, Arc::clone(&ctx))),
    )
}

/// Runs `on_connection` for every connection accepted on `listener` until
/// stopped; stopping closes the listener and drops every connection.
fn spawn(listener: TcpListener, on_connection: OnConnection) -> Running {
    let (stop, mut stopped) = watch::channel(false);
    let task = tokio::spawn(async move {
        let mut conns = JoinSet::new();
        loop {
            tokio::select! {
                _ = stopped.changed() => break,
                accepted = listener.accept() => match accepted {
                    Ok((stream, _)) => {
                        conns.spawn(on_connection(stream));
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

/// The HTTP response for a module's answer, with `Cache-Control:
/// no-store`; headers that are not valid HTTP are left out.
pub(crate) fn answer_response(answer: Answer) -> Response<Full<Bytes>> {
    let mut r = response(answer.status, &answer.content_type, answer.body);
    for (name, value) in answer.headers {
        if let (Ok(n), Ok(v)) = (
            http::HeaderName::from_bytes(name.as_bytes()),
            http::HeaderValue::from_str(&value),
        ) {
            r.headers_mut().insert(n, v);
        }
    }
    r
}

/// How long a client may take to send a request body.
pub const BODY_TIMEOUT: Duration = Duration::from_secs(10);

/// A listener serving an HTTP protocol module, with its faults.
pub(crate) struct HttpSource {
    pub ctx: Arc<SourceCtx>,
    pub module: &'static dyn HttpModule,
}

impl Handler for HttpSource {
    fn handle(self: Arc<Self>, req: Request<Incoming>) -> Reply {
        Box::pin(async move {
            let module = self.module;
            let draw = self.ctx.draw_fault();
            if !draw.delay.is_zero() {
                tokio::time::sleep(draw.delay).await;
            }
            if draw.fail {
                tracing::debug!(source = %self.ctx.id(), "failed (error_rate fault)");
                return answer_response(
                    module.error(500, "simulated failure (error_rate fault); try again"),
                );
            }
            let origin = format!(
                "http://{}",
                request_host(&req).unwrap_or_else(|| reachable(self.ctx.addr()).to_string())
            );
            let (parts, body) = req.into_parts();
            let limited = Limited::new(body, MAX_REQUEST_BODY_BYTES);
            let body = match tokio::time::timeout(BODY_TIMEOUT, limited.collect()).await {
                Err(_) => {
                    return answer_response(
                        module.error(408, "the request body took too long to arrive"),
                    );
                }
                Ok(Err(e)) => {
                    let answer = if e
                        .downcast_ref::<http_body_util::LengthLimitError>()
                        .is_some()
                    {
                        module.error(
                            413,
                            &format!(
                                "the request body is larger than {MAX_REQUEST_BODY_BYTES} bytes"
                            ),
                        )
                    } else {
                        module.error(400, "the request body could not be read")
                    };
                    return answer_response(answer);
                }
                Ok(Ok(b)) => b.to_bytes(),
            };
            let ctx = Arc::clone(&self.ctx);
            // Rendering a large answer is CPU work: keep it off the reactor.
            let answer = tokio::task::spawn_blocking(move || {
                let request = HttpRequest {
                    method: parts.method.as_str(),
                    path: parts.uri.path(),
                    query: parts.uri.query(),
                    headers: &parts.headers,
                    body: &body,
                    origin: &origin,
                };
                module.respond(&ctx, &request)
            })
            .await
            .unwrap_or_else(|_| module.error(500, "the request failed"));
            tracing::debug!(source = %self.ctx.id(), status = answer.status, "answered");
            answer_response(answer)
        })
    }
}
