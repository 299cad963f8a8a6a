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
//!
//! A file each: `limits` (the limits in force), `shared` (what one
//! listener's connections share: their places, eviction, the budgets, the
//! counters), `accept` (binding, the accept loop, drain), `connection` (one
//! connection's supervisor and each request's admission), `sending`
//! (answers as they are written), `watched_io` (the socket as the
//! supervisor sees it), `metrics`.

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

use crate::respond::Resp;

mod accept;
mod connection;
mod limits;
mod metrics;
mod sending;
mod shared;
#[cfg(test)]
mod tests;
mod watched_io;

pub use accept::bind;
pub(crate) use accept::serve_with;
use connection::connection;
pub use limits::ConnectionLimits;
use limits::open_file_limit;
pub(crate) use metrics::ConnectionMetrics;
pub(crate) use sending::hold_until_sent;
use sending::{Active, Reservation, STREAM, Sending, StreamExecutor, held_bytes, sending};
use shared::{Activity, Conn, Shared, Slot, Stats};
use watched_io::{IoState, WatchedIo};

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

fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
