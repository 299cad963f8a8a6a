//! Plumbing shared by every simulated source and the control API: an
//! accept loop per listener that can be stopped (closing the listener and
//! every open connection), bounded HTTP request reading, and the faults
//! applied around an HTTP protocol module, chaos modes included.
//!
//! Healthy answers are a `Full` body, sent as it is. Chaos answers that
//! must be cut short or paced (`reset`, `truncate`, `trickle`, `garbage`,
//! `oversize`) are a [`ChaosBody`], which generates what it sends a chunk
//! at a time and can end its connection: each connection's socket is
//! wrapped ([`ChaosIo`]) so that a `reset` drops it with `SO_LINGER` 0 (a
//! TCP RST), and the connection is dropped as soon as the body asks, for
//! HTTP/1.1 and HTTP/2 alike. `silent` is decided when a connection is
//! accepted, before hyper reads from it.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use bytes::Bytes;
use http::header::{CACHE_CONTROL, CONTENT_LENGTH, CONTENT_TYPE, HOST};
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Either, Full, Limited};
use hyper::body::{Body, Frame, Incoming};
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpListener;
use tokio::net::TcpStream;
use tokio::sync::Notify;
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};

use crate::chaos::{self, Chaos, Filler, HOLD_LIMIT};
use crate::protocol::{
    Answer, BoxFuture, HttpModule, HttpRequest, MAX_REQUEST_BODY_BYTES, SourceCtx, TcpModule,
};

/// Largest request head (request line and headers) a server reads.
pub const MAX_HEAD_BYTES: usize = 16 * 1024;

/// How long a client may take to send its request head.
pub const HEAD_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a `reset` answer waits after half its body before the RST,
/// so the client has read what was sent.
pub const RESET_PAUSE: Duration = Duration::from_millis(100);

/// How long a `truncate` answer waits after half its body before closing,
/// so the half is flushed.
pub const TRUNCATE_PAUSE: Duration = Duration::from_millis(50);

/// A response body: a healthy answer as it is, or a chaos answer.
pub(crate) type SimBody = Either<Full<Bytes>, ChaosBody>;

/// A response future, boxed so handlers can be stored behind one type.
pub(crate) type Reply = Pin<Box<dyn Future<Output = Response<SimBody>> + Send>>;

/// Something that answers requests on a listener.
pub(crate) trait Handler: Send + Sync + 'static {
    /// Answers one request.
    fn handle(self: Arc<Self>, req: Request<Incoming>) -> Reply;

    /// Whether to hold a newly accepted connection silent: never read
    /// from nor written to (the `silent` chaos mode).
    fn silent(&self) -> bool {
        false
    }
}

/// A healthy response as a [`SimBody`] response.
pub(crate) fn full(r: Response<Full<Bytes>>) -> Response<SimBody> {
    r.map(Either::Left)
}

/// One connection's chaos state, shared by its requests (through the
/// request extensions) and its socket.
#[derive(Debug, Default)]
pub(crate) struct Conn {
    rst: AtomicBool,
    abort: Notify,
}

impl Conn {
    /// Drops the connection now; with a TCP RST when `rst`.
    pub fn abort(&self, rst: bool) {
        if rst {
            self.rst.store(true, Ordering::SeqCst);
        }
        self.abort.notify_one();
    }
}

/// A connection's socket: a plain `TcpStream` that, when its connection
/// asked for a reset, is closed with `SO_LINGER` 0 so the peer gets a RST.
pub(crate) struct ChaosIo {
    stream: TcpStream,
    conn: Arc<Conn>,
}

impl Drop for ChaosIo {
    fn drop(&mut self) {
        if self.conn.rst.load(Ordering::SeqCst) {
            let _ = self.stream.set_zero_linger();
        }
    }
}

impl AsyncRead for ChaosIo {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for ChaosIo {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

/// One step of a chaos body.
enum Step {
    /// Send these bytes.
    Data(Bytes),
    /// Send these bytes `chunk` at a time, `interval` apart.
    Trickle {
        data: Bytes,
        chunk: usize,
        interval: Duration,
    },
    /// Send generated bytes.
    Fill(Filler),
    /// Wait.
    Wait(Duration),
    /// Drop the connection (with a RST when `rst`).
    Abort { rst: bool },
}

/// The body of a chaos answer: steps played in order, generated as sent.
pub(crate) struct ChaosBody {
    steps: VecDeque<Step>,
    sleep: Option<Pin<Box<tokio::time::Sleep>>>,
    conn: Option<Arc<Conn>>,
}

impl Body for ChaosBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        let this = self.get_mut();
        loop {
            if let Some(sleep) = this.sleep.as_mut() {
                ready!(sleep.as_mut().poll(cx));
                this.sleep = None;
            }
            let Some(step) = this.steps.front_mut() else {
                return Poll::Ready(None);
            };
            let out = match step {
                Step::Data(b) => Some(std::mem::take(b)),
                Step::Trickle {
                    data,
                    chunk,
                    interval,
                } => {
                    let out = data.split_to((*chunk).min(data.len()));
                    if !data.is_empty() {
                        this.sleep = Some(Box::pin(tokio::time::sleep(*interval)));
                    }
                    Some(out)
                }
                Step::Fill(f) => f.next_chunk(),
                Step::Wait(d) => {
                    this.sleep = Some(Box::pin(tokio::time::sleep(*d)));
                    None
                }
                Step::Abort { rst } => {
                    if let Some(c) = &this.conn {
                        c.abort(*rst);
                    }
                    return Poll::Ready(Some(Err(std::io::Error::new(
                        std::io::ErrorKind::ConnectionAborted,
                        "connection cut (chaos fault)",
                    ))));
                }
            };
            let done = match this.steps.front() {
                Some(Step::Data(_) | Step::Wait(_)) => true,
                Some(Step::Trickle { data, .. }) => data.is_empty(),
                Some(Step::Fill(f)) => f.remaining() == 0,
                Some(Step::Abort { .. }) | None => false,
            };
            if done {
                this.steps.pop_front();
            }
            match out {
                Some(b) if !b.is_empty() => return Poll::Ready(Some(Ok(Frame::data(b)))),
                _ => {}
            }
        }
    }
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

async fn serve_connection<H: Handler>(stream: TcpStream, handler: Arc<H>) {
    if handler.silent() {
        // Never read nor written; closed after the hold limit, or when the
        // listener stops (which drops this future).
        tracing::debug!("connection held silent (chaos fault)");
        tokio::time::sleep(HOLD_LIMIT).await;
        drop(stream);
        return;
    }
    let conn = Arc::new(Conn::default());
    let io = TokioIo::new(ChaosIo {
        stream,
        conn: Arc::clone(&conn),
    });
    let for_requests = Arc::clone(&conn);
    let svc = service_fn(move |mut req: Request<Incoming>| {
        req.extensions_mut().insert(Arc::clone(&for_requests));
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
    let served = builder.serve_connection(io, svc);
    tokio::select! {
        r = served => if let Err(e) = r {
            tracing::debug!(error = %e, "connection ended with an error");
        },
        () = conn.abort.notified() => tracing::debug!("connection cut (chaos fault)"),
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
    fn silent(&self) -> bool {
        self.ctx.draw_silent()
    }

    fn handle(self: Arc<Self>, mut req: Request<Incoming>) -> Reply {
        Box::pin(async move {
            let conn = req.extensions_mut().remove::<Arc<Conn>>();
            let module = self.module;
            let draw = self.ctx.draw_fault();
            if !draw.delay.is_zero() {
                tokio::time::sleep(draw.delay).await;
            }
            if let Some(Chaos::Status {
                code,
                retry_after_s,
            }) = draw.chaos
            {
                tracing::debug!(source = %self.ctx.id(), code, "status (chaos fault)");
                let mut answer = module.error(
                    code,
                    &format!("simulated status {code} (chaos fault); try again later"),
                );
                if let Some(s) = retry_after_s {
                    answer = answer.with_header("Retry-After", s.to_string());
                }
                return full(answer_response(answer));
            }
            if draw.chaos == Some(Chaos::Failed) {
                tracing::debug!(source = %self.ctx.id(), "failed inside a 200 (chaos fault)");
                let mut answer = module.error(
                    500,
                    "simulated failure reported inside a successful answer (chaos fault)",
                );
                answer.status = 200;
                return full(answer_response(answer));
            }
            if draw.fail && draw.chaos.is_none() {
                tracing::debug!(source = %self.ctx.id(), "failed (error_rate fault)");
                return full(answer_response(
                    module.error(500, "simulated failure (error_rate fault); try again"),
                ));
            }
            let origin = format!(
                "http://{}",
                request_host(&req).unwrap_or_else(|| reachable(self.ctx.addr()).to_string())
            );
            let (parts, body) = req.into_parts();
            let limited = Limited::new(body, MAX_REQUEST_BODY_BYTES);
            let body = match tokio::time::timeout(BODY_TIMEOUT, limited.collect()).await {
                Err(_) => {
                    return full(answer_response(
                        module.error(408, "the request body took too long to arrive"),
                    ));
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
                    return full(answer_response(answer));
                }
                Ok(Ok(b)) => b.to_bytes(),
            };
            if draw.chaos == Some(Chaos::Hang) {
                tracing::debug!(source = %self.ctx.id(), "hanging (chaos fault)");
                tokio::time::sleep(HOLD_LIMIT).await;
                if let Some(c) = &conn {
                    c.abort(false);
                }
                return std::future::pending().await;
            }
            let ctx = Arc::clone(&self.ctx);
            let wrong_patient = draw.chaos == Some(Chaos::WrongPatient);
            // Rendering a large answer is CPU work: keep it off the reactor.
            let answer = tokio::task::spawn_blocking(move || {
                let rewritten = if wrong_patient {
                    other_person(&ctx, module, &parts.uri, &body)
                } else {
                    None
                };
                let request = match &rewritten {
                    Some((path, query, body)) => HttpRequest {
                        method: parts.method.as_str(),
                        path,
                        query: query.as_deref(),
                        headers: &parts.headers,
                        body,
                        origin: &origin,
                    },
                    None => HttpRequest {
                        method: parts.method.as_str(),
                        path: parts.uri.path(),
                        query: parts.uri.query(),
                        headers: &parts.headers,
                        body: &body,
                        origin: &origin,
                    },
                };
                module.respond(&ctx, &request)
            })
            .await
            .unwrap_or_else(|_| module.error(500, "the request failed"));
            tracing::debug!(source = %self.ctx.id(), status = answer.status, "answered");
            match draw.chaos {
                Some(c) => chaos_response(c, answer, conn, draw.seed),
                None => full(answer_response(answer)),
            }
        })
    }
}

/// For `wrong_patient`: the request's path, query and body with the NHS
/// number it names replaced by the other person's, when it names one.
fn other_person(
    ctx: &SourceCtx,
    module: &dyn HttpModule,
    uri: &http::Uri,
    body: &[u8],
) -> Option<(String, Option<String>, Vec<u8>)> {
    let pop = ctx.population();
    let (path, query) = (uri.path(), uri.query());
    let asked = chaos::find_nhs(pop, path.as_bytes())
        .or_else(|| query.and_then(|q| chaos::find_nhs(pop, q.as_bytes())))
        .or_else(|| chaos::find_nhs(pop, body))?;
    let org = ctx
        .orgs()
        .iter()
        .copied()
        .find(|o| path.starts_with(&module.base_path(*o)))
        .or_else(|| ctx.orgs().first().copied())?;
    let other = chaos::wrong_patient_for(pop, org, asked)?;
    tracing::debug!(source = %ctx.id(), "answering about another person (chaos fault)");
    Some((
        chaos::substitute_str(path, asked, other),
        query.map(|q| chaos::substitute_str(q, asked, other)),
        chaos::substitute(body, asked, other),
    ))
}

/// The answer as a chaos mode sends it (modes that only change the
/// request, or strike before the answer, send it as it is).
fn chaos_response(
    chaos: Chaos,
    answer: Answer,
    conn: Option<Arc<Conn>>,
    seed: u64,
) -> Response<SimBody> {
    let body = Bytes::from(answer.body);
    let len = body.len();
    let half = body.slice(..len / 2);
    let mut head = answer_response(Answer {
        body: Vec::new(),
        ..answer
    });
    let (length, steps) = match chaos {
        Chaos::Reset => (
            Some(len as u64),
            vec![
                Step::Data(half),
                Step::Wait(RESET_PAUSE),
                Step::Abort { rst: true },
            ],
        ),
        Chaos::Truncate => (
            Some(len as u64),
            vec![
                Step::Data(half),
                Step::Wait(TRUNCATE_PAUSE),
                Step::Abort { rst: false },
            ],
        ),
        Chaos::Trickle { bytes, interval_ms } => (
            Some(len as u64),
            vec![Step::Trickle {
                data: body,
                chunk: usize::try_from(bytes).unwrap_or(usize::MAX).max(1),
                interval: Duration::from_millis(interval_ms),
            }],
        ),
        Chaos::Garbage { bytes } => {
            let n = bytes.unwrap_or(len as u64);
            let n = if n == 0 {
                chaos::DEFAULT_GARBAGE_BYTES
            } else {
                n
            };
            *head.status_mut() = StatusCode::OK;
            (Some(n), vec![Step::Fill(Filler::garbage(n, seed, &[]))])
        }
        Chaos::Oversize { bytes } => (
            None,
            vec![
                Step::Data(body),
                Step::Fill(Filler::spaces(bytes.saturating_sub(len as u64))),
            ],
        ),
        Chaos::Hang
        | Chaos::Silent
        | Chaos::Status { .. }
        | Chaos::Failed
        | Chaos::WrongPatient => {
            return head.map(|_| Either::Left(Full::new(body)));
        }
    };
    tracing::debug!(mode = chaos.name(), "chaos answer");
    if let Some(n) = length {
        head.headers_mut()
            .insert(CONTENT_LENGTH, http::HeaderValue::from(n));
    }
    head.map(|_| {
        Either::Right(ChaosBody {
            steps: steps.into(),
            sleep: None,
            conn,
        })
    })
}
