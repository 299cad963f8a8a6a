//! The connection layer: the accept loop, each connection's HTTP/1.1 or
//! HTTP/2 session (over TLS when configured), and graceful drain at
//! shutdown. What a request means is the routes' business
//! ([`crate::server`]); this module hands requests over and bounds what a
//! caller can hold:
//!
//! - time: a connection that has not sent a whole request within
//!   `request_timeout` of being accepted (silent, a partial request, a TLS
//!   handshake, an HTTP/2 preface and nothing more) is closed, and so is
//!   one with no request in progress for `idle_timeout` after its last
//!   answer; HTTP/2 peers are pinged to find dead ones.
//! - connections: at most `max_open` are open. At the cap, a new one
//!   makes room by closing the oldest connection with no request in
//!   progress (those that never sent a byte first); if every one is busy,
//!   the new one is closed at once. Running out of file descriptors on
//!   accept pauses accepting (100 ms doubling to 1 s), never a busy loop.
//! - unread answers: each answer not yet written holds its bytes from a
//!   per-connection and a global budget; a request on a connection that
//!   already holds its share, or when the gateway holds its whole budget,
//!   is answered `503` at once (a connection holding nothing is always
//!   served). An answer whose writing makes no progress for
//!   `stall_timeout` is abandoned: its HTTP/2 stream reset, or its
//!   connection closed when the socket itself accepts nothing.
//! - HEAD: the GET answer's headers, its `content-length`, never a body.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::header::CONTENT_LENGTH;
use http::{HeaderValue, Method, Request, Response};
use hyper::body::{Body, Frame, Incoming, SizeHint};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore, mpsc, watch};
use tokio::time::Instant;

use crate::server::Resp;

/// How long requests in progress may take to finish after shutdown begins.
const DRAIN: Duration = Duration::from_secs(10);
/// How long a connection closed for a timeout may take to say goodbye
/// (an HTTP/2 GOAWAY) before it is dropped.
const CLOSE_GRACE: Duration = Duration::from_secs(1);
/// File descriptors kept back from connections, when their cap is derived
/// from the open-file limit: sources' connections, the audit log, files.
const FD_RESERVE: u64 = 64;
/// The most connections a cap derived from the open-file limit allows.
const MAX_OPEN_CEILING: u64 = 16_384;
/// An answer is handed to HTTP this many bytes at a time: the unit of
/// progress a stalled caller is measured by.
const CHUNK: usize = 16 * 1024;
/// What a request holds from the unwritten-answer budgets while its answer
/// is being made, at least (its size is not known yet: the size of the
/// connection's last answer is the guess).
const PROVISIONAL: u64 = 64 * 1024;
/// How long the accept loop waits for an evicted connection to close.
const EVICTION_WAIT: Duration = Duration::from_secs(1);
/// Connections waiting to be accepted, at most (the kernel may lower it:
/// `net.core.somaxconn`).
const BACKLOG: u32 = 1024;
/// HTTP/1.1: the most a request's line and headers may take.
const H1_MAX_BUF: usize = 64 * 1024;
/// HTTP/2: bytes one stream may have queued for sending (hyper's default
/// is 400 KiB; answers are handed over in [`CHUNK`]s anyway).
const H2_SEND_BUFFER: usize = 64 * 1024;
/// HTTP/2 receive windows: no route reads more than a small request body.
const H2_STREAM_WINDOW: u32 = 64 * 1024;
const H2_CONNECTION_WINDOW: u32 = 256 * 1024;
/// HTTP/2: the most a request's decoded headers may take, as HTTP/1.1's.
const H2_MAX_HEADER_LIST: u32 = 64 * 1024;
/// HTTP/2 keep-alive pings, to find peers that have gone away.
const H2_PING_INTERVAL: Duration = Duration::from_secs(20);
const H2_PING_TIMEOUT: Duration = Duration::from_secs(10);
/// Pauses between accepts after running out of file descriptors.
const ACCEPT_PAUSE_FIRST: Duration = Duration::from_millis(100);
const ACCEPT_PAUSE_MOST: Duration = Duration::from_secs(1);

/// What answers each request a connection carries.
pub(crate) trait Handler: Clone + Send + Sync + 'static {
    /// The answer to one request.
    fn call(&self, req: Request<Incoming>) -> impl Future<Output = Resp> + Send + use<Self>;

    /// The TLS a new connection is served with, when the handler's own
    /// configuration has one (a reload rotates certificates); `None`
    /// leaves the listener's own.
    fn current_tls(&self) -> Option<icr_tls::ServerTls> {
        None
    }
}

/// The calling system's identity from its TLS client certificate, carried
/// in each request's extensions.
#[derive(Clone, Debug)]
pub(crate) struct CallingSystem(pub(crate) Arc<str>);

/// The connection limits in force: `[connections]` in `gateway.toml`, the
/// cap on open connections derived from the open-file limit when not set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnectionLimits {
    request_timeout: Duration,
    idle_timeout: Duration,
    stall_timeout: Duration,
    max_open: usize,
    h2_max_streams: u32,
    max_unsent: u64,
    max_unsent_per_connection: u64,
}

impl ConnectionLimits {
    /// The limits `config` sets; when it sets no `max_open`, 80 % of this
    /// process's open-file soft limit now, less 64 (at most 16384).
    pub fn from_config(config: &icr_config::ConnectionsConfig) -> Self {
        let ms = Duration::from_millis;
        Self {
            request_timeout: ms(config.request_timeout_ms),
            idle_timeout: ms(config.idle_timeout_ms),
            stall_timeout: ms(config.stall_timeout_ms),
            max_open: config
                .max_open
                .map_or_else(|| max_open_for(open_file_limit()), |n| n as usize),
            h2_max_streams: config.h2_max_streams,
            max_unsent: config.max_unsent_bytes,
            max_unsent_per_connection: config.max_unsent_bytes_per_connection,
        }
    }
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        Self::from_config(&icr_config::ConnectionsConfig::default())
    }
}

/// This process's open-file soft limit; `None` when unlimited.
fn open_file_limit() -> Option<u64> {
    rustix::process::getrlimit(rustix::process::Resource::Nofile).current
}

/// The cap on open connections for an open-file soft limit (`None`:
/// unlimited): 80 % of it less [`FD_RESERVE`], never under a quarter of
/// it, at most [`MAX_OPEN_CEILING`].
fn max_open_for(soft: Option<u64>) -> usize {
    let cap = match soft {
        None => MAX_OPEN_CEILING,
        Some(n) => (n.saturating_mul(4) / 5)
            .saturating_sub(FD_RESERVE)
            .max(n / 4)
            .clamp(1, MAX_OPEN_CEILING),
    };
    usize::try_from(cap).unwrap_or(usize::MAX)
}

/// Counters for `/metrics`.
#[derive(Debug, Default)]
struct Stats {
    accepted: AtomicU64,
    refused: AtomicU64,
    evicted: AtomicU64,
    timed_out_request: AtomicU64,
    timed_out_idle: AtomicU64,
    stalled_connections: AtomicU64,
    accept_errors: AtomicU64,
    stalled_responses: AtomicU64,
    refused_responses: AtomicU64,
}

fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// What every connection of one listener shares.
struct Shared {
    limits: ConnectionLimits,
    /// A permit per open connection (held until its socket is closed).
    permits: Arc<Semaphore>,
    /// Open connections that may be evicted, by accept order (ids only
    /// grow); an evicted one leaves at once, its permit when it is closed.
    open: Mutex<BTreeMap<u64, Arc<Conn>>>,
    next_id: AtomicU64,
    /// Bytes of answers not yet written, across connections.
    unsent: AtomicU64,
    stats: Arc<Stats>,
}

/// One connection's state, shared by its task, its requests' answers and
/// the accept loop (which may evict it).
struct Conn {
    accepted: Instant,
    /// Answers in progress and answers finished; the supervisor watches it.
    activity: watch::Sender<Activity>,
    /// Bytes of this connection's answers not yet written.
    unsent: AtomicU64,
    /// What its next request is guessed to hold ([`Shared::guess`]).
    guess: AtomicU64,
    io: Arc<IoState>,
    evict: Notify,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Activity {
    /// Requests whose answer is being made or written.
    active: u32,
    /// Requests finished (answered, or abandoned by either side).
    served: u64,
}

impl Conn {
    fn is_idle(&self) -> bool {
        self.activity.borrow().active == 0
    }
}

/// A connection's place among the open ones, given up when dropped (after
/// its socket: see [`connection`]).
struct Slot {
    shared: Arc<Shared>,
    id: u64,
    conn: Arc<Conn>,
    _permit: OwnedSemaphorePermit,
}

impl Drop for Slot {
    fn drop(&mut self) {
        lock(&self.shared.open).remove(&self.id);
    }
}

impl Shared {
    fn new(limits: ConnectionLimits) -> Self {
        Self {
            permits: Arc::new(Semaphore::new(limits.max_open)),
            limits,
            open: Mutex::default(),
            next_id: AtomicU64::new(0),
            unsent: AtomicU64::new(0),
            stats: Arc::default(),
        }
    }

    /// A place for a newly accepted connection. At the cap, the oldest idle
    /// connection is evicted and its closing awaited (at most
    /// [`EVICTION_WAIT`]); `None` when none is idle (the new one is
    /// refused).
    async fn admit_connection(self: &Arc<Self>) -> Option<Slot> {
        let permit = match Arc::clone(&self.permits).try_acquire_owned() {
            Ok(p) => Some(p),
            Err(_) if self.evict_idle() => {
                let freed = Arc::clone(&self.permits).acquire_owned();
                tokio::time::timeout(EVICTION_WAIT, freed)
                    .await
                    .ok()
                    .and_then(Result::ok)
            }
            Err(_) => None,
        };
        let Some(permit) = permit else {
            bump(&self.stats.refused);
            return None;
        };
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let now = Instant::now();
        let conn = Arc::new(Conn {
            accepted: now,
            activity: watch::Sender::new(Activity::default()),
            unsent: AtomicU64::new(0),
            guess: AtomicU64::new(PROVISIONAL),
            io: Arc::new(IoState::new(now)),
            evict: Notify::new(),
        });
        lock(&self.open).insert(id, Arc::clone(&conn));
        bump(&self.stats.accepted);
        Some(Slot {
            shared: Arc::clone(self),
            id,
            conn,
            _permit: permit,
        })
    }

    /// Closes the oldest idle connection (to free a file descriptor);
    /// whether there was one.
    fn evict_idle(&self) -> bool {
        let evicted = evict_one(&mut lock(&self.open));
        if evicted {
            bump(&self.stats.evicted);
        }
        evicted
    }

    /// Connections open now (evicted ones until they are closed).
    fn open_now(&self) -> usize {
        self.limits
            .max_open
            .saturating_sub(self.permits.available_permits())
    }

    /// Adds `by` bytes to what `conn` holds from the unwritten-answer
    /// budgets, `own` of which are already the caller's: a connection
    /// holding nothing else always may; one holding more, only within its
    /// own budget and the gateway's. Whether it was added.
    fn grow(&self, conn: &Conn, own: u64, by: u64) -> bool {
        let per_connection = self.limits.max_unsent_per_connection;
        let Ok(mine) = conn
            .unsent
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |m| {
                (m == own || m.saturating_add(by) <= per_connection).then(|| m + by)
            })
        else {
            return false;
        };
        let grown = self
            .unsent
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |a| {
                (mine == own || a.saturating_add(by) <= self.limits.max_unsent).then(|| a + by)
            })
            .is_ok();
        if !grown {
            conn.unsent.fetch_sub(by, Ordering::AcqRel);
        }
        grown
    }

    /// Records that `conn`'s last answer held `bytes`: what its next
    /// request is reserved while its answer is made. At least
    /// [`PROVISIONAL`]; at most what lets every stream of a connection
    /// holding nothing else be admitted at once.
    fn guess(&self, conn: &Conn, bytes: u64) {
        let most =
            self.limits.max_unsent_per_connection / u64::from(self.limits.h2_max_streams.max(1));
        conn.guess
            .store(bytes.min(most).max(PROVISIONAL), Ordering::Relaxed);
    }

    /// The HTTP/1.1 and HTTP/2 settings every connection is served with.
    fn builder(&self) -> auto::Builder<StreamExecutor> {
        let l = &self.limits;
        let mut builder = auto::Builder::new(StreamExecutor {
            stall_timeout: l.stall_timeout,
            stats: Arc::clone(&self.stats),
        });
        builder
            .http1()
            .timer(TokioTimer::new())
            // A backstop, later than the supervisor's own timers.
            .header_read_timeout(l.request_timeout.max(l.idle_timeout) + CLOSE_GRACE)
            .max_buf_size(H1_MAX_BUF);
        builder
            .http2()
            .timer(TokioTimer::new())
            .max_concurrent_streams(l.h2_max_streams)
            .max_send_buf_size(H2_SEND_BUFFER)
            .initial_stream_window_size(H2_STREAM_WINDOW)
            .initial_connection_window_size(H2_CONNECTION_WINDOW)
            .max_header_list_size(H2_MAX_HEADER_LIST)
            .keep_alive_interval(H2_PING_INTERVAL)
            .keep_alive_timeout(H2_PING_TIMEOUT);
        builder
    }
}

/// Tells the oldest idle connection in `open` to close, and forgets it:
/// one that never sent a byte if there is one. Whether there was one.
fn evict_one(open: &mut BTreeMap<u64, Arc<Conn>>) -> bool {
    let mut quiet = None;
    let mut idle = None;
    for (id, conn) in open.iter() {
        if !conn.is_idle() {
            continue;
        }
        if !conn.io.ever_read.load(Ordering::Relaxed) {
            quiet = Some(*id);
            break;
        }
        idle = idle.or(Some(*id));
    }
    match quiet.or(idle).and_then(|id| open.remove(&id)) {
        Some(conn) => {
            conn.evict.notify_one();
            true
        }
        None => false,
    }
}

/// Binds a listener on `addr` for [`crate::serve`] with a longer backlog
/// than the standard library's 128, so that a burst of connections waits
/// to be accepted instead of being dropped by the kernel.
pub fn bind(addr: std::net::SocketAddr) -> io::Result<TcpListener> {
    let socket = match addr {
        std::net::SocketAddr::V4(_) => tokio::net::TcpSocket::new_v4()?,
        std::net::SocketAddr::V6(_) => tokio::net::TcpSocket::new_v6()?,
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(BACKLOG)
}

/// Accepts connections on `listener` (TLS when `tls` is given) and serves
/// their requests with `handler` within `limits` until `shutdown`
/// resolves; then stops accepting, closes idle connections and lets
/// requests in progress finish (for at most [`DRAIN`]).
pub(crate) async fn serve_with<H: Handler>(
    listener: TcpListener,
    limits: ConnectionLimits,
    tls: Option<icr_tls::ServerTls>,
    handler: H,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    let soft = open_file_limit();
    if soft.is_some_and(|n| limits.max_open as u64 + FD_RESERVE > n) {
        tracing::warn!(
            max_open = limits.max_open,
            open_file_limit = soft,
            "connections.max_open leaves fewer than 64 file descriptors for sources and the audit log; raise the open-file limit"
        );
    }
    tracing::info!(
        max_open = limits.max_open,
        open_file_limit = soft,
        "accepting connections"
    );
    let shared = Arc::new(Shared::new(limits));
    let builder = Arc::new(shared.builder());
    let (stop, stopping) = watch::channel(false);
    // Every connection task holds a sender: when all are gone, the drain is over.
    let (alive, mut drained) = mpsc::channel::<Infallible>(1);
    let mut pause = AcceptPause::default();
    tokio::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut shutdown => break,
        };
        let stream = match accepted {
            Ok((stream, _)) => {
                pause.reset();
                stream
            }
            Err(e) => {
                let Some(wait) = pause.after(&e) else {
                    continue;
                };
                bump(&shared.stats.accept_errors);
                if is_out_of_descriptors(&e) {
                    // Free one for the connections waiting in the backlog.
                    shared.evict_idle();
                }
                tokio::select! {
                    () = tokio::time::sleep(wait) => continue,
                    () = &mut shutdown => break,
                }
            }
        };
        let admitted = tokio::select! {
            admitted = shared.admit_connection() => admitted,
            () = &mut shutdown => break,
        };
        let Some(slot) = admitted else {
            drop(stream);
            continue;
        };
        // The certificates in force now: a reload rotates them for
        // connections made after it.
        let tls = tls
            .as_ref()
            .map(|given| handler.current_tls().unwrap_or_else(|| given.clone()));
        tokio::spawn(connection(
            stream,
            slot,
            Arc::clone(&builder),
            tls,
            handler.clone(),
            stopping.clone(),
            alive.clone(),
        ));
        // Let the new connection read what it was sent before the next
        // accept: a request already waiting makes it busy, so that a flood
        // of new connections evicts the quiet ones and not it.
        tokio::task::yield_now().await;
    }
    drop(listener);
    let _ = stop.send(true);
    drop(alive);
    if tokio::time::timeout(DRAIN + CLOSE_GRACE, drained.recv())
        .await
        .is_err()
    {
        tracing::warn!("in-flight requests did not finish within the drain time");
    }
    Ok(())
}

/// Whether `e` is accept's "too many open files" (the process's or the
/// system's).
fn is_out_of_descriptors(e: &io::Error) -> bool {
    use rustix::io::Errno;
    matches!(Errno::from_io_error(e), Some(Errno::MFILE | Errno::NFILE))
}

/// Pauses between accepts while the process is out of file descriptors
/// (or memory): 100 ms, doubling to 1 s; one warning per episode.
#[derive(Debug, Default)]
struct AcceptPause {
    last: Option<Duration>,
}

impl AcceptPause {
    /// How long to pause after `e`; `None` for an error that concerns
    /// only the connection being accepted (try the next one at once).
    fn after(&mut self, e: &io::Error) -> Option<Duration> {
        let per_connection = matches!(
            e.kind(),
            io::ErrorKind::ConnectionAborted
                | io::ErrorKind::ConnectionReset
                | io::ErrorKind::Interrupted
        );
        let exhausted = is_out_of_descriptors(e)
            || matches!(
                rustix::io::Errno::from_io_error(e),
                Some(rustix::io::Errno::NOBUFS | rustix::io::Errno::NOMEM)
            );
        if per_connection && !exhausted {
            return None;
        }
        let wait = match self.last {
            None => {
                tracing::warn!(error = %e, "accept failed: pausing new connections until it succeeds again");
                ACCEPT_PAUSE_FIRST
            }
            Some(last) => (last * 2).min(ACCEPT_PAUSE_MOST),
        };
        self.last = Some(wait);
        Some(wait)
    }

    /// An accept succeeded: the episode, if any, is over.
    fn reset(&mut self) {
        if self.last.take().is_some() {
            tracing::info!("accepting connections again");
        }
    }
}

/// One accepted connection, from the TLS handshake (if any) to its close.
async fn connection<H: Handler>(
    stream: TcpStream,
    slot: Slot,
    builder: Arc<auto::Builder<StreamExecutor>>,
    tls: Option<icr_tls::ServerTls>,
    handler: H,
    mut stopping: watch::Receiver<bool>,
    _alive: mpsc::Sender<Infallible>,
) {
    let _ = stream.set_nodelay(true);
    let Some(tls) = tls else {
        return serve_io(stream, None, &slot, &builder, handler, stopping).await;
    };
    let deadline = slot.conn.accepted + slot.shared.limits.request_timeout;
    let handshake = tokio::select! {
        h = tokio::time::timeout_at(deadline, tls.accept(stream)) => h,
        () = slot.conn.evict.notified() => return,
        _ = stopping.wait_for(|s| *s) => return,
    };
    match handshake {
        Ok(Ok((stream, peer))) => {
            let peer = peer.map(|p| CallingSystem(p.subject.into()));
            serve_io(stream, peer, &slot, &builder, handler, stopping).await;
        }
        Err(_) | Ok(Err(icr_tls::AcceptError::Timeout)) => {
            bump(&slot.shared.stats.timed_out_request);
        }
        // The peer's address and certificate are not patient data; the
        // failure is for operators.
        Ok(Err(e)) => tracing::info!(error = %e, "TLS connection refused"),
    }
}

/// Why the gateway closes a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Close {
    /// No whole request within `request_timeout` of the accept.
    RequestTimeout,
    /// No request in progress for `idle_timeout` after the last answer.
    Idle,
    /// The socket accepted nothing for `stall_timeout`.
    Stalled,
    /// Made room for a new connection at the cap.
    Evicted,
    /// The gateway is stopping.
    Shutdown,
}

/// What the supervisor knows of a connection.
#[derive(Clone, Copy, Debug)]
struct Watched {
    /// Since when no request has been in progress (the accept, at first).
    idle_since: Instant,
    activity: Activity,
    /// Since when the socket has refused to take more bytes, if it has.
    write_blocked_since: Option<Instant>,
}

/// When the connection must next be looked at (`None`: only when something
/// changes), or why it must be closed now.
fn due(now: Instant, w: &Watched, limits: &ConnectionLimits) -> Result<Option<Instant>, Close> {
    let mut next = None;
    if let Some(blocked) = w.write_blocked_since {
        let at = blocked + limits.stall_timeout;
        if now >= at {
            return Err(Close::Stalled);
        }
        next = Some(at);
    }
    if w.activity.active == 0 {
        let (limit, reason) = if w.activity.served == 0 {
            (limits.request_timeout, Close::RequestTimeout)
        } else {
            (limits.idle_timeout, Close::Idle)
        };
        let at = w.idle_since + limit;
        if now >= at {
            return Err(reason);
        }
        next = Some(next.map_or(at, |n: Instant| n.min(at)));
    }
    Ok(next)
}

/// Serves one connection's requests over `io` until it ends or must be
/// closed, then closes it as its reason calls for.
async fn serve_io<I, H>(
    io: I,
    peer: Option<CallingSystem>,
    slot: &Slot,
    builder: &auto::Builder<StreamExecutor>,
    handler: H,
    mut stopping: watch::Receiver<bool>,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    H: Handler,
{
    let (shared, conn) = (&slot.shared, &slot.conn);
    let service = {
        let (shared, conn) = (Arc::clone(shared), Arc::clone(conn));
        hyper::service::service_fn(move |req| {
            respond(
                req,
                handler.clone(),
                Arc::clone(&shared),
                Arc::clone(&conn),
                peer.clone(),
            )
        })
    };
    let io = TokioIo::new(WatchedIo {
        inner: io,
        state: Arc::clone(&conn.io),
    });
    let http = builder.serve_connection(io, service);
    tokio::pin!(http);
    let mut activity = conn.activity.subscribe();
    let mut w = Watched {
        idle_since: slot.conn.accepted,
        activity: *activity.borrow_and_update(),
        write_blocked_since: None,
    };
    let reason = loop {
        w.write_blocked_since = conn.io.write_blocked_since();
        let next = match due(Instant::now(), &w, &shared.limits) {
            Ok(next) => next,
            Err(reason) => break reason,
        };
        let wake = async {
            match next {
                Some(at) => tokio::time::sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = http.as_mut() => return,
            () = wake => {}
            changed = activity.changed() => {
                if changed.is_err() {
                    return;
                }
                let now = *activity.borrow_and_update();
                if now.active == 0 && (w.activity.active > 0 || now.served != w.activity.served) {
                    w.idle_since = Instant::now();
                }
                w.activity = now;
            }
            () = conn.io.changed.notified() => {}
            () = conn.evict.notified() => break Close::Evicted,
            _ = stopping.wait_for(|s| *s) => break Close::Shutdown,
        }
    };
    let stats = &shared.stats;
    let grace = match reason {
        Close::RequestTimeout => {
            bump(&stats.timed_out_request);
            Some(CLOSE_GRACE)
        }
        Close::Idle => {
            bump(&stats.timed_out_idle);
            Some(CLOSE_GRACE)
        }
        Close::Stalled => {
            bump(&stats.stalled_connections);
            None
        }
        Close::Evicted => None,
        Close::Shutdown => Some(DRAIN),
    };
    if let Some(grace) = grace {
        http.as_mut().graceful_shutdown();
        let _ = tokio::time::timeout(grace, http).await;
    }
}

/// Answers one request: admission against the unwritten-answer budgets,
/// the handler, then the answer wrapped to be written within its limits.
async fn respond<H: Handler>(
    mut req: Request<Incoming>,
    handler: H,
    shared: Arc<Shared>,
    conn: Arc<Conn>,
    peer: Option<CallingSystem>,
) -> Result<Response<Sending>, Infallible> {
    let active = Active::begin(&conn);
    let stream = STREAM.try_with(Arc::clone).ok();
    let head = req.method() == Method::HEAD;
    let guess = conn.guess.load(Ordering::Relaxed);
    let Some(mut reservation) = Reservation::take(&shared, &conn, guess) else {
        bump(&shared.stats.refused_responses);
        return Ok(sending(crate::server::shed(), head, active, None, stream));
    };
    if let Some(p) = peer {
        req.extensions_mut().insert(p);
    }
    req.extensions_mut()
        .insert(ConnectionMetrics(Arc::clone(&shared)));
    // Boxed: a stream whose answer waits to be written keeps only the
    // answer, not the handler's state, which is far larger.
    let resp = Box::pin(handler.call(req)).await;
    if head {
        return Ok(sending(resp, head, active, None, None));
    }
    let held = held_bytes(resp.body().size_hint().exact().unwrap_or(0));
    shared.guess(&conn, held);
    if !reservation.resize(held) {
        bump(&shared.stats.refused_responses);
        return Ok(sending(crate::server::shed(), head, active, None, stream));
    }
    Ok(sending(resp, head, active, Some(reservation), stream))
}

/// What a body of `len` bytes is counted as holding: twice its length, the
/// most a buffer grown by doubling as it was rendered can hold.
fn held_bytes(len: u64) -> u64 {
    len.saturating_mul(2)
}

/// `resp` as it is written: its body handed over in chunks, holding its
/// request's place, its reservation and what the route asked to be held
/// until written or abandoned. HEAD's answer keeps the length and drops
/// the body.
fn sending(
    resp: Resp,
    head: bool,
    active: Active,
    reservation: Option<Reservation>,
    stream: Option<Arc<StreamProgress>>,
) -> Response<Sending> {
    let (mut parts, body) = resp.into_parts();
    let held = parts.extensions.remove::<HeldUntilSent>();
    let bytes = body.into_inner().unwrap_or_default();
    if head {
        parts
            .headers
            .insert(CONTENT_LENGTH, HeaderValue::from(bytes.len()));
        let empty = Sending::new(Bytes::new(), active, None, None, None);
        return Response::from_parts(parts, empty);
    }
    Response::from_parts(
        parts,
        Sending::new(bytes, active, reservation, held, stream),
    )
}

/// A request in progress on its connection, until its answer is written
/// or abandoned.
struct Active(Arc<Conn>);

impl Active {
    fn begin(conn: &Arc<Conn>) -> Self {
        conn.activity.send_modify(|a| a.active += 1);
        Self(Arc::clone(conn))
    }
}

impl Drop for Active {
    fn drop(&mut self) {
        self.0.activity.send_modify(|a| {
            a.active = a.active.saturating_sub(1);
            a.served += 1;
        });
    }
}

/// Bytes of an unwritten answer, held from the connection's budget and the
/// gateway's until the answer is written or abandoned.
struct Reservation {
    shared: Arc<Shared>,
    conn: Arc<Conn>,
    bytes: u64,
}

impl Reservation {
    /// `bytes` from `conn`'s budget and the gateway's, if they allow it.
    fn take(shared: &Arc<Shared>, conn: &Arc<Conn>, bytes: u64) -> Option<Self> {
        shared.grow(conn, 0, bytes).then(|| Self {
            shared: Arc::clone(shared),
            conn: Arc::clone(conn),
            bytes,
        })
    }

    /// Makes the reservation `bytes`; false, and unchanged, when the
    /// budgets do not allow the growth.
    fn resize(&mut self, bytes: u64) -> bool {
        if bytes <= self.bytes {
            self.release(self.bytes - bytes);
        } else if !self.shared.grow(&self.conn, self.bytes, bytes - self.bytes) {
            return false;
        }
        self.bytes = bytes;
        true
    }

    fn release(&self, bytes: u64) {
        self.conn.unsent.fetch_sub(bytes, Ordering::AcqRel);
        self.shared.unsent.fetch_sub(bytes, Ordering::AcqRel);
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        self.release(self.bytes);
    }
}

/// Something an answer holds until its body is written or abandoned (a
/// record request's in-flight permit), so that unread answers count in
/// admission. Routes put it in the response's extensions
/// ([`hold_until_sent`]); the listener keeps it with the body.
#[derive(Clone)]
pub(crate) struct HeldUntilSent(#[allow(dead_code)] Arc<dyn std::any::Any + Send + Sync>);

/// `resp`, holding `held` until its body is written or abandoned.
pub(crate) fn hold_until_sent<T: Send + Sync + 'static>(mut resp: Resp, held: T) -> Resp {
    resp.extensions_mut().insert(HeldUntilSent(Arc::new(held)));
    resp
}

/// An answer's body as written: handed over [`CHUNK`] bytes at a time,
/// each hand-over progress for the stall timer; holding its request's
/// place on the connection, its bytes' reservation and whatever the route
/// asked to be held, until written or dropped.
struct Sending {
    rest: Bytes,
    _active: Active,
    _reservation: Option<Reservation>,
    _held: Option<HeldUntilSent>,
    stream: Option<Arc<StreamProgress>>,
}

impl Sending {
    fn new(
        rest: Bytes,
        active: Active,
        reservation: Option<Reservation>,
        held: Option<HeldUntilSent>,
        stream: Option<Arc<StreamProgress>>,
    ) -> Self {
        if let Some(s) = &stream {
            s.progressed();
        }
        Self {
            rest,
            _active: active,
            _reservation: reservation,
            _held: held,
            stream,
        }
    }
}

impl Body for Sending {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let this = self.get_mut();
        if this.rest.is_empty() {
            return Poll::Ready(None);
        }
        if let Some(s) = &this.stream {
            s.progressed();
        }
        let n = this.rest.len().min(CHUNK);
        Poll::Ready(Some(Ok(Frame::data(this.rest.split_to(n)))))
    }

    fn is_end_stream(&self) -> bool {
        self.rest.is_empty()
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.rest.len() as u64)
    }
}

tokio::task_local! {
    /// The HTTP/2 stream whose task this is.
    static STREAM: Arc<StreamProgress>;
}

/// When an HTTP/2 stream's answer last made progress (`None`: its handler
/// is still making it).
#[derive(Debug, Default)]
struct StreamProgress {
    last: Mutex<Option<Instant>>,
}

impl StreamProgress {
    fn progressed(&self) {
        *lock(&self.last) = Some(Instant::now());
    }

    fn last(&self) -> Option<Instant> {
        *lock(&self.last)
    }

    /// Resolves once the answer has made no progress for `stall`.
    async fn stalled(&self, stall: Duration) {
        loop {
            let check = self.last().unwrap_or_else(Instant::now) + stall;
            tokio::time::sleep_until(check).await;
            if self.last().is_some_and(|t| t + stall <= Instant::now()) {
                return;
            }
        }
    }
}

/// Runs each HTTP/2 stream (hyper hands them over) in its own task, which
/// is dropped — the stream reset — when its answer stalls.
#[derive(Clone)]
struct StreamExecutor {
    stall_timeout: Duration,
    stats: Arc<Stats>,
}

impl<F> hyper::rt::Executor<F> for StreamExecutor
where
    F: Future<Output = ()> + Send + 'static,
{
    fn execute(&self, stream: F) {
        let progress = Arc::new(StreamProgress::default());
        let stream = STREAM.scope(Arc::clone(&progress), stream);
        let (stall, stats) = (self.stall_timeout, Arc::clone(&self.stats));
        tokio::spawn(async move {
            tokio::select! {
                () = stream => {}
                () = progress.stalled(stall) => bump(&stats.stalled_responses),
            }
        });
    }
}

/// What the supervisor learns from a connection's socket.
#[derive(Debug)]
struct IoState {
    base: Instant,
    /// Whether the peer ever sent a byte.
    ever_read: AtomicBool,
    /// Nanoseconds after `base`, plus one, since when writes have been
    /// refused; 0 when they are not.
    write_blocked: AtomicU64,
    /// Signalled when writes start being refused.
    changed: Notify,
}

impl IoState {
    fn new(base: Instant) -> Self {
        Self {
            base,
            ever_read: AtomicBool::new(false),
            write_blocked: AtomicU64::new(0),
            changed: Notify::new(),
        }
    }

    fn write_blocked_since(&self) -> Option<Instant> {
        match self.write_blocked.load(Ordering::Acquire) {
            0 => None,
            n => Some(self.base + Duration::from_nanos(n - 1)),
        }
    }

    fn wrote<T>(&self, result: &Poll<io::Result<T>>, progress: impl Fn(&T) -> bool) {
        match result {
            Poll::Pending => {
                if self.write_blocked.load(Ordering::Acquire) == 0 {
                    let since = u64::try_from(self.base.elapsed().as_nanos()).unwrap_or(u64::MAX);
                    self.write_blocked
                        .store(since.saturating_add(1), Ordering::Release);
                    self.changed.notify_one();
                }
            }
            Poll::Ready(Ok(t)) if progress(t) => {
                if self.write_blocked.load(Ordering::Acquire) != 0 {
                    self.write_blocked.store(0, Ordering::Release);
                }
            }
            Poll::Ready(_) => {}
        }
    }
}

/// A connection's socket, telling [`IoState`] what it sees.
struct WatchedIo<I> {
    inner: I,
    state: Arc<IoState>,
}

impl<I: AsyncRead + Unpin> AsyncRead for WatchedIo<I> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let result = Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before && !self.state.ever_read.load(Ordering::Relaxed) {
            self.state.ever_read.store(true, Ordering::Relaxed);
        }
        result
    }
}

impl<I: AsyncWrite + Unpin> AsyncWrite for WatchedIo<I> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let result = Pin::new(&mut self.inner).poll_write(cx, buf);
        self.state.wrote(&result, |n| *n > 0);
        result
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let result = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        self.state.wrote(&result, |n| *n > 0);
        result
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let result = Pin::new(&mut self.inner).poll_flush(cx);
        self.state.wrote(&result, |()| true);
        result
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// The connection layer's measurements, carried in each request's
/// extensions for the `/metrics` route.
#[derive(Clone)]
pub(crate) struct ConnectionMetrics(Arc<Shared>);

/// One metric family: name, type, help, and its series (labels, value).
type Family<'a> = (&'a str, &'a str, &'a str, &'a [(&'a str, u64)]);

impl ConnectionMetrics {
    /// Appends the connection families in the Prometheus text format.
    pub(crate) fn render(&self, out: &mut String) {
        use std::fmt::Write as _;
        let shared = &self.0;
        let s = &shared.stats;
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let families: [Family<'_>; 10] = [
            (
                "icr_connections_open",
                "gauge",
                "Connections open now.",
                &[("", shared.open_now() as u64)],
            ),
            (
                "icr_connections_max_open",
                "gauge",
                "The most connections open at once ([connections] max_open, or from the open-file limit).",
                &[("", shared.limits.max_open as u64)],
            ),
            (
                "icr_connections_accepted_total",
                "counter",
                "Connections accepted and served.",
                &[("", load(&s.accepted))],
            ),
            (
                "icr_connections_refused_total",
                "counter",
                "Connections closed at once because max_open were open and every one had a request in progress.",
                &[("", load(&s.refused))],
            ),
            (
                "icr_connections_evicted_total",
                "counter",
                "Connections with no request in progress closed to make room for a new one (at max_open, or out of file descriptors).",
                &[("", load(&s.evicted))],
            ),
            (
                "icr_connections_timed_out_total",
                "counter",
                "Connections closed by the gateway: no whole request within request_timeout_ms of the accept (request), no request for idle_timeout_ms (idle), or a socket that took nothing for stall_timeout_ms (stalled).",
                &[
                    ("{reason=\"request\"}", load(&s.timed_out_request)),
                    ("{reason=\"idle\"}", load(&s.timed_out_idle)),
                    ("{reason=\"stalled\"}", load(&s.stalled_connections)),
                ],
            ),
            (
                "icr_accept_errors_total",
                "counter",
                "Accepts that failed for want of file descriptors or memory (accepting pauses, 100 ms to 1 s).",
                &[("", load(&s.accept_errors))],
            ),
            (
                "icr_responses_stalled_total",
                "counter",
                "HTTP/2 streams reset because their answer made no progress for stall_timeout_ms.",
                &[("", load(&s.stalled_responses))],
            ),
            (
                "icr_responses_refused_total",
                "counter",
                "Requests answered 503 at once because their connection, or the gateway, held as many unwritten answer bytes as allowed.",
                &[("", load(&s.refused_responses))],
            ),
            (
                "icr_unsent_response_bytes",
                "gauge",
                "Bytes of answers made but not yet written to their callers (counted at twice their length).",
                &[("", shared.unsent.load(Ordering::Relaxed))],
            ),
        ];
        for (name, kind, help, series) in families {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
            for (labels, value) in series {
                let _ = writeln!(out, "{name}{labels} {value}");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::Full;
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _, DuplexStream};

    const SECOND: Duration = Duration::from_secs(1);

    fn limits() -> ConnectionLimits {
        ConnectionLimits {
            request_timeout: 10 * SECOND,
            idle_timeout: 75 * SECOND,
            stall_timeout: 15 * SECOND,
            max_open: 100,
            h2_max_streams: 32,
            max_unsent: 32 << 20,
            max_unsent_per_connection: 8 << 20,
        }
    }

    /// Answers every request with `body` after `delay`, holding one of
    /// `permits` (when given) until the answer is written.
    #[derive(Clone)]
    struct Fixed {
        body: Bytes,
        delay: Duration,
        permits: Option<Arc<Semaphore>>,
    }

    impl Fixed {
        fn new(len: usize) -> Self {
            Self {
                body: Bytes::from(vec![b'x'; len]),
                delay: Duration::ZERO,
                permits: None,
            }
        }
    }

    impl Handler for Fixed {
        fn call(&self, _: Request<Incoming>) -> impl Future<Output = Resp> + Send + use<> {
            let this = self.clone();
            async move {
                tokio::time::sleep(this.delay).await;
                let resp = Response::new(Full::new(this.body));
                match this.permits.and_then(|p| p.try_acquire_owned().ok()) {
                    Some(permit) => hold_until_sent(resp, permit),
                    None => resp,
                }
            }
        }
    }

    /// One connection served over an in-memory pipe of `buffer` bytes each
    /// way: the client's end, and the task serving the other.
    async fn connect(
        shared: &Arc<Shared>,
        handler: Fixed,
        buffer: usize,
    ) -> (DuplexStream, tokio::task::JoinHandle<()>) {
        let (client, server) = tokio::io::duplex(buffer);
        let slot = shared.admit_connection().await.expect("below the cap");
        let builder = shared.builder();
        let task = tokio::spawn(async move {
            let (_stop, stopping) = watch::channel(false);
            serve_io(server, None, &slot, &builder, handler, stopping).await;
        });
        (client, task)
    }

    /// Reads until the gateway closes the connection: what it sent, and
    /// when (from the start of the read).
    async fn read_to_close(client: &mut DuplexStream) -> (Vec<u8>, Duration) {
        let started = Instant::now();
        let mut out = Vec::new();
        let _ = client.read_to_end(&mut out).await;
        (out, started.elapsed())
    }

    fn count(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }

    #[test]
    fn max_open_is_derived_from_the_open_file_limit() {
        for (soft, max_open) in [
            (None, 16_384),
            (Some(512), 345),
            (Some(1_024), 755),
            (Some(100), 25),
            (Some(40), 10),
            (Some(1), 1),
            (Some(0), 1),
            (Some(65_536), 16_384),
            (Some(u64::MAX), 16_384),
        ] {
            assert_eq!(max_open_for(soft), max_open, "soft limit {soft:?}");
        }
    }

    #[test]
    fn a_connection_is_closed_when_due_and_never_while_a_request_is_in_progress() {
        let l = limits();
        let t0 = Instant::now();
        let at = |s: u64| t0 + Duration::from_secs(s);
        let fresh = Watched {
            idle_since: t0,
            activity: Activity::default(),
            write_blocked_since: None,
        };
        let busy = Watched {
            activity: Activity {
                active: 1,
                served: 0,
            },
            ..fresh
        };
        let served_idle = Watched {
            idle_since: at(5),
            activity: Activity {
                active: 0,
                served: 3,
            },
            ..fresh
        };
        let blocked = Watched {
            write_blocked_since: Some(at(2)),
            ..busy
        };
        for (what, w, now, expected) in [
            ("no request yet", fresh, at(9), Ok(Some(at(10)))),
            ("no request yet", fresh, at(10), Err(Close::RequestTimeout)),
            ("request in progress", busy, at(3_600), Ok(None)),
            ("idle after answers", served_idle, at(79), Ok(Some(at(80)))),
            ("idle after answers", served_idle, at(80), Err(Close::Idle)),
            ("socket refusing writes", blocked, at(16), Ok(Some(at(17)))),
            (
                "socket refusing writes",
                blocked,
                at(17),
                Err(Close::Stalled),
            ),
        ] {
            assert_eq!(due(now, &w, &l), expected, "{what}");
        }
    }

    #[test]
    fn accept_pauses_double_to_a_second_only_when_out_of_resources() {
        let mut pause = AcceptPause::default();
        let emfile = io::Error::from_raw_os_error(rustix::io::Errno::MFILE.raw_os_error());
        let aborted = io::Error::from(io::ErrorKind::ConnectionAborted);
        assert_eq!(pause.after(&aborted), None, "that connection's own problem");
        let waits: Vec<_> = (0..6).filter_map(|_| pause.after(&emfile)).collect();
        let ms = Duration::from_millis;
        assert_eq!(
            waits,
            [ms(100), ms(200), ms(400), ms(800), ms(1_000), ms(1_000)]
        );
        pause.reset();
        assert_eq!(pause.after(&emfile), Some(ms(100)), "a new episode");
    }

    #[tokio::test(start_paused = true)]
    async fn a_silent_connection_is_closed_after_the_request_timeout() {
        let shared = Arc::new(Shared::new(limits()));
        let (mut client, task) = connect(&shared, Fixed::new(10), 64 * 1024).await;
        let (sent, took) = read_to_close(&mut client).await;
        assert!(sent.is_empty());
        assert!(
            (10 * SECOND..11 * SECOND).contains(&took),
            "closed after {took:?}"
        );
        task.await.unwrap();
        assert_eq!(count(&shared.stats.timed_out_request), 1);
        assert_eq!(shared.open_now(), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn a_partial_request_is_closed_after_the_request_timeout() {
        let shared = Arc::new(Shared::new(limits()));
        let (mut client, task) = connect(&shared, Fixed::new(10), 64 * 1024).await;
        client
            .write_all(b"GET /healthz HTTP/1.1\r\nhost: g")
            .await
            .unwrap();
        let (_, took) = read_to_close(&mut client).await;
        assert!(took <= 10 * SECOND + CLOSE_GRACE, "closed after {took:?}");
        task.await.unwrap();
        assert_eq!(count(&shared.stats.timed_out_request), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn an_http2_preface_and_nothing_more_is_closed_with_a_goaway_after_the_request_timeout() {
        let shared = Arc::new(Shared::new(limits()));
        let (mut client, task) = connect(&shared, Fixed::new(10), 64 * 1024).await;
        client
            .write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00")
            .await
            .unwrap();
        let (sent, took) = read_to_close(&mut client).await;
        assert!(took <= 10 * SECOND + CLOSE_GRACE, "closed after {took:?}");
        // SETTINGS (frame type 4) first, and a GOAWAY (7) before the close.
        let mut frames = Vec::new();
        let mut rest = &sent[..];
        while rest.len() >= 9 {
            let len = usize::from(rest[0]) << 16 | usize::from(rest[1]) << 8 | usize::from(rest[2]);
            frames.push(rest[3]);
            rest = &rest[(9 + len).min(rest.len())..];
        }
        assert_eq!(frames.first(), Some(&4), "{frames:?}");
        assert!(frames.contains(&7), "{frames:?}");
        task.await.unwrap();
        assert_eq!(count(&shared.stats.timed_out_request), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn a_slow_answer_is_not_cut_by_the_request_timeout_and_the_idle_timeout_follows() {
        let shared = Arc::new(Shared::new(limits()));
        let slow = Fixed {
            delay: 30 * SECOND,
            ..Fixed::new(10)
        };
        let (mut client, task) = connect(&shared, slow, 64 * 1024).await;
        client
            .write_all(b"GET / HTTP/1.1\r\nhost: gateway\r\n\r\n")
            .await
            .unwrap();
        let started = Instant::now();
        let mut head = vec![0; 1024];
        let n = client.read(&mut head).await.unwrap();
        let answered = started.elapsed();
        assert!(head[..n].starts_with(b"HTTP/1.1 200 OK\r\n"));
        assert!((30 * SECOND..31 * SECOND).contains(&answered));
        let (_, idle) = read_to_close(&mut client).await;
        assert!((75 * SECOND..76 * SECOND).contains(&idle), "{idle:?}");
        task.await.unwrap();
        assert_eq!(count(&shared.stats.timed_out_request), 0);
        assert_eq!(count(&shared.stats.timed_out_idle), 1);
    }

    /// An HTTP/2 client over `io` whose streams have a zero window.
    async fn zero_window_client(io: DuplexStream) -> h2::client::SendRequest<Bytes> {
        let (client, connection) = h2::client::Builder::new()
            .initial_window_size(0)
            .handshake(io)
            .await
            .unwrap();
        tokio::spawn(connection);
        client.ready().await.unwrap()
    }

    fn get(method: Method) -> Request<()> {
        Request::builder()
            .method(method)
            .uri("http://gateway/")
            .body(())
            .unwrap()
    }

    #[tokio::test(start_paused = true)]
    async fn an_http2_stream_with_a_zero_window_is_reset_after_the_stall_timeout_and_lets_go_of_what_it_held()
     {
        let shared = Arc::new(Shared::new(limits()));
        let permits = Arc::new(Semaphore::new(4));
        let handler = Fixed {
            permits: Some(Arc::clone(&permits)),
            ..Fixed::new(100_000)
        };
        let (io, _task) = connect(&shared, handler, 1 << 20).await;
        let mut client = zero_window_client(io).await;
        let (stalled, _) = client.send_request(get(Method::GET), true).unwrap();
        let stalled = stalled.await.unwrap();
        let opened = Instant::now();
        assert_eq!(stalled.status(), 200);
        assert_eq!(shared.unsent.load(Ordering::Relaxed), 200_000);
        assert_eq!(permits.available_permits(), 3, "held until written");

        let reset = stalled.into_body().data().await.expect("no data, a reset");
        assert!(reset.unwrap_err().is_reset());
        let took = opened.elapsed();
        assert!(
            (15 * SECOND..16 * SECOND).contains(&took),
            "reset after {took:?}"
        );
        tokio::task::yield_now().await;
        assert_eq!(shared.unsent.load(Ordering::Relaxed), 0);
        assert_eq!(permits.available_permits(), 4);
        assert_eq!(count(&shared.stats.stalled_responses), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn an_http1_caller_that_reads_nothing_is_closed_after_the_stall_timeout() {
        let shared = Arc::new(Shared::new(limits()));
        let (mut client, task) = connect(&shared, Fixed::new(1 << 20), 4096).await;
        client
            .write_all(b"GET / HTTP/1.1\r\nhost: gateway\r\n\r\n")
            .await
            .unwrap();
        let started = Instant::now();
        task.await.unwrap();
        let took = started.elapsed();
        assert!(
            (15 * SECOND..17 * SECOND).contains(&took),
            "closed after {took:?}"
        );
        assert_eq!(count(&shared.stats.stalled_connections), 1);
        assert_eq!(shared.unsent.load(Ordering::Relaxed), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn past_its_budget_a_connection_is_answered_503_at_once_and_a_fresh_one_is_served() {
        let shared = Arc::new(Shared::new(ConnectionLimits {
            max_unsent_per_connection: 256 * 1024,
            ..limits()
        }));
        let (io, _task) = connect(&shared, Fixed::new(100_000), 1 << 20).await;
        let mut client = zero_window_client(io).await;
        let mut statuses = Vec::new();
        let mut held = Vec::new();
        for _ in 0..3 {
            let (r, _) = client.send_request(get(Method::GET), true).unwrap();
            let r = r.await.unwrap();
            statuses.push(r.status().as_u16());
            held.push(r);
        }
        // Each answer is counted at twice its length: the first (200 kB)
        // is served as the connection's only one; a second would make it
        // hold 400 kB, over its 256 KiB.
        assert_eq!(statuses, [200, 503, 503]);
        assert_eq!(count(&shared.stats.refused_responses), 2);

        let (io, _task) = connect(&shared, Fixed::new(100_000), 1 << 20).await;
        let mut fresh = zero_window_client(io).await;
        let (r, _) = fresh.send_request(get(Method::GET), true).unwrap();
        assert_eq!(r.await.unwrap().status(), 200);
    }

    #[tokio::test(start_paused = true)]
    async fn head_keeps_the_length_and_sends_no_body_over_http1_and_http2() {
        let shared = Arc::new(Shared::new(limits()));
        let (mut client, task) = connect(&shared, Fixed::new(5_000), 64 * 1024).await;
        client
            .write_all(b"HEAD / HTTP/1.1\r\nhost: gateway\r\nconnection: close\r\n\r\n")
            .await
            .unwrap();
        let (sent, _) = read_to_close(&mut client).await;
        let text = String::from_utf8(sent).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        assert!(head.contains("\r\ncontent-length: 5000"), "{head}");
        assert_eq!(body, "");
        task.await.unwrap();

        let (io, _task) = connect(&shared, Fixed::new(5_000), 64 * 1024).await;
        let (client, connection) = h2::client::handshake(io).await.unwrap();
        tokio::spawn(connection);
        let mut client = client.ready().await.unwrap();
        let (r, _) = client.send_request(get(Method::HEAD), true).unwrap();
        let r = r.await.unwrap();
        assert_eq!(r.headers()["content-length"], "5000");
        assert!(r.body().is_end_stream(), "no DATA after HEAD");
        assert_eq!(shared.unsent.load(Ordering::Relaxed), 0);
    }

    /// A gateway on loopback with `limits`, its address, and its shared
    /// state; it stops when `stop` is dropped or sent to.
    async fn serve_loopback(
        limits: ConnectionLimits,
        handler: Fixed,
    ) -> (
        std::net::SocketAddr,
        tokio::sync::oneshot::Sender<()>,
        tokio::task::JoinHandle<io::Result<()>>,
    ) {
        serve_loopback_tls(limits, None, handler).await
    }

    async fn serve_loopback_tls(
        limits: ConnectionLimits,
        tls: Option<icr_tls::ServerTls>,
        handler: Fixed,
    ) -> (
        std::net::SocketAddr,
        tokio::sync::oneshot::Sender<()>,
        tokio::task::JoinHandle<io::Result<()>>,
    ) {
        let listener = bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(serve_with(listener, limits, tls, handler, async {
            let _ = stopped.await;
        }));
        (addr, stop, task)
    }

    async fn get_over_http1(addr: std::net::SocketAddr) -> (TcpStream, String) {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        stream
            .write_all(b"GET / HTTP/1.1\r\nhost: gateway\r\n\r\n")
            .await
            .unwrap();
        let mut head = vec![0; 1024];
        let n = tokio::time::timeout(5 * SECOND, stream.read(&mut head))
            .await
            .unwrap()
            .unwrap_or(0);
        (stream, String::from_utf8_lossy(&head[..n]).into_owned())
    }

    /// Whether the gateway has closed `stream` (within 2 s).
    async fn is_closed(stream: &mut TcpStream) -> bool {
        let mut buf = [0u8; 64];
        matches!(
            tokio::time::timeout(2 * SECOND, stream.read(&mut buf)).await,
            Ok(Ok(0) | Err(_))
        )
    }

    #[tokio::test]
    async fn at_the_cap_the_oldest_quiet_connection_makes_room_and_busy_ones_are_never_evicted() {
        let (addr, _stop, _task) = serve_loopback(
            ConnectionLimits {
                max_open: 2,
                ..limits()
            },
            Fixed::new(10),
        )
        .await;
        let mut quiet = TcpStream::connect(addr).await.unwrap();
        let (mut talker, head) = get_over_http1(addr).await;
        assert!(head.starts_with("HTTP/1.1 200 OK"), "{head}");
        // At the cap: the quiet one goes, not the talker.
        let (_third, head) = get_over_http1(addr).await;
        assert!(head.starts_with("HTTP/1.1 200 OK"), "{head}");
        assert!(is_closed(&mut quiet).await, "the quiet one was evicted");
        talker
            .write_all(b"GET / HTTP/1.1\r\nhost: gateway\r\n\r\n")
            .await
            .unwrap();
        let mut buf = [0u8; 64];
        let n = talker.read(&mut buf).await.unwrap();
        assert!(buf[..n].starts_with(b"HTTP/1.1 200 OK"), "the talker stays");
    }

    #[tokio::test]
    async fn at_the_cap_with_every_connection_busy_a_new_one_is_closed_at_once() {
        let slow = Fixed {
            delay: 3 * SECOND,
            ..Fixed::new(10)
        };
        let (addr, _stop, _task) = serve_loopback(
            ConnectionLimits {
                max_open: 1,
                ..limits()
            },
            slow,
        )
        .await;
        let mut busy = TcpStream::connect(addr).await.unwrap();
        busy.write_all(b"GET / HTTP/1.1\r\nhost: gateway\r\n\r\n")
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(200)).await;
        let mut refused = TcpStream::connect(addr).await.unwrap();
        let started = Instant::now();
        assert!(is_closed(&mut refused).await);
        assert!(started.elapsed() < SECOND, "closed at once");
        let mut buf = [0u8; 64];
        let n = busy.read(&mut buf).await.unwrap();
        assert!(
            buf[..n].starts_with(b"HTTP/1.1 200 OK"),
            "the busy one is served"
        );
    }

    #[tokio::test]
    async fn shutdown_closes_idle_connections_and_lets_a_request_in_progress_finish() {
        let slow = Fixed {
            delay: SECOND,
            ..Fixed::new(10)
        };
        let (addr, stop, task) = serve_loopback(limits(), slow).await;
        let mut idle = TcpStream::connect(addr).await.unwrap();
        let mut busy = TcpStream::connect(addr).await.unwrap();
        busy.write_all(b"GET / HTTP/1.1\r\nhost: gateway\r\n\r\n")
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(200)).await;
        stop.send(()).unwrap();
        assert!(is_closed(&mut idle).await);
        let mut answer = Vec::new();
        busy.read_to_end(&mut answer).await.unwrap();
        assert!(answer.starts_with(b"HTTP/1.1 200 OK"));
        tokio::time::timeout(2 * SECOND, task)
            .await
            .expect("the drain ends with the last request")
            .unwrap()
            .unwrap();
    }

    #[tokio::test]
    async fn a_tls_handshake_that_never_finishes_is_closed_after_the_request_timeout() {
        let ca = icr_testkit::pki::Ca::new("listener test CA");
        let server = ca.server();
        let dir = std::env::temp_dir().join(format!("icr-listener-tls-{}", std::process::id()));
        icr_testkit::pki::write(&dir, "server.crt", &server.cert);
        icr_testkit::pki::write(&dir, "server.key", &server.key);
        let config = icr_tls::TlsConfig {
            cert: "server.crt".into(),
            key: "server.key".into(),
            client_ca: None,
            client_auth: icr_tls::ClientAuth::Optional,
            allowed_clients: Vec::new(),
        };
        let tls = icr_tls::ServerTls::load(&config, &dir).unwrap();
        let limits = ConnectionLimits {
            request_timeout: 2 * SECOND,
            ..limits()
        };
        let (addr, _stop, _task) = serve_loopback_tls(limits, Some(tls), Fixed::new(10)).await;
        let mut silent = TcpStream::connect(addr).await.unwrap();
        let mut partial = TcpStream::connect(addr).await.unwrap();
        // The first bytes of a ClientHello record, and no more.
        partial
            .write_all(&[0x16, 0x03, 0x01, 0x02, 0x00])
            .await
            .unwrap();
        let started = Instant::now();
        let mut buf = [0u8; 64];
        for stream in [&mut silent, &mut partial] {
            let closed = tokio::time::timeout(4 * SECOND, stream.read(&mut buf)).await;
            assert!(matches!(closed, Ok(Ok(0) | Err(_))), "{closed:?}");
        }
        let took = started.elapsed();
        assert!(
            (2 * SECOND..3 * SECOND).contains(&took),
            "closed after {took:?}"
        );
    }
}
