//! Connections to one MLLP source: at most `max_connections` open, idle
//! ones kept for `idle_timeout` and then closed, a connection that failed
//! in any way never reused.
//!
//! The caller bounds every call with the request's deadline (dropping a
//! call's future drops its connection). A pooled connection that the
//! source closed while idle is found before use; one that fails before
//! any byte of the answer arrives is replaced once by a new connection
//! (the query only reads, so sending it again is safe).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use icr_adapter_sdk::SourceError;
use icr_hl7v2::mllp::{Deframer, MllpError};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

/// Bytes read from the socket at a time.
const READ_CHUNK: usize = 16 * 1024;

/// The connections to one source.
#[derive(Clone)]
pub(crate) struct Pool {
    inner: Arc<Inner>,
}

struct Inner {
    host: String,
    port: u16,
    idle_timeout: Duration,
    permits: Arc<Semaphore>,
    idle: Mutex<Vec<Idle>>,
    opened: AtomicU64,
    /// True while a task is closing idle connections as they expire.
    reaping: AtomicBool,
}

struct Idle {
    stream: TcpStream,
    since: Instant,
}

/// One connection in use, with its place in the pool.
pub(crate) struct Lease {
    stream: TcpStream,
    reused: bool,
    /// True when the last exchange ended cleanly at a frame's end.
    clean: bool,
    _permit: OwnedSemaphorePermit,
}

/// Why an exchange failed, and whether the source had sent anything yet.
struct Failure {
    error: SourceError,
    before_answer: bool,
}

impl Pool {
    pub(crate) fn new(host: String, port: u16, max_connections: usize, idle: Duration) -> Self {
        Self {
            inner: Arc::new(Inner {
                host,
                port,
                idle_timeout: idle,
                permits: Arc::new(Semaphore::new(max_connections)),
                idle: Mutex::new(Vec::new()),
                opened: AtomicU64::new(0),
                reaping: AtomicBool::new(false),
            }),
        }
    }

    /// Connections opened so far.
    pub(crate) fn opened(&self) -> u64 {
        self.inner.opened.load(Ordering::Relaxed)
    }

    /// Connections idle in the pool now.
    pub(crate) fn idle(&self) -> usize {
        self.inner.idle_count()
    }

    /// Sends `frame` and reads one answer frame of at most `max` bytes.
    /// Returns the answer and the connection, to give back with
    /// [`release`](Self::release) if the answer proves the connection in
    /// step.
    pub(crate) async fn exchange(
        &self,
        frame: &[u8],
        max: usize,
    ) -> Result<(Vec<u8>, Lease), SourceError> {
        let permit = Arc::clone(&self.inner.permits)
            .acquire_owned()
            .await
            .map_err(|_| SourceError::Unavailable("the connection pool is closed".into()))?;
        let mut lease = match self.take_idle() {
            Some(stream) => Lease {
                stream,
                reused: true,
                clean: false,
                _permit: permit,
            },
            None => Lease {
                stream: self.connect().await?,
                reused: false,
                clean: false,
                _permit: permit,
            },
        };
        match lease.round_trip(frame, max).await {
            Ok(answer) => Ok((answer, lease)),
            Err(f) if f.before_answer && lease.reused => {
                // The source dropped a pooled connection: once more, anew.
                lease.stream = self.connect().await?;
                lease.reused = false;
                match lease.round_trip(frame, max).await {
                    Ok(answer) => Ok((answer, lease)),
                    Err(f) => Err(f.error),
                }
            }
            Err(f) => Err(f.error),
        }
    }

    /// Gives a connection back for reuse, if its exchange ended cleanly and
    /// connections are kept at all; otherwise closes it.
    pub(crate) fn release(&self, lease: Lease) {
        if !lease.clean || self.inner.idle_timeout.is_zero() {
            return;
        }
        if let Ok(mut idle) = self.inner.idle.lock() {
            idle.push(Idle {
                stream: lease.stream,
                since: Instant::now(),
            });
        }
        // Close it once it has been idle too long, even with no traffic:
        // one reaper per pool, alive while connections are idle.
        if !self.inner.reaping.swap(true, Ordering::AcqRel) {
            let weak: Weak<Inner> = Arc::downgrade(&self.inner);
            let every = self.inner.idle_timeout;
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(every).await;
                    let Some(inner) = weak.upgrade() else { return };
                    inner.prune();
                    if inner.idle_count() > 0 {
                        continue;
                    }
                    inner.reaping.store(false, Ordering::Release);
                    // A connection released since the count was taken saw
                    // a reaper running: keep going for it.
                    if inner.idle_count() == 0 || inner.reaping.swap(true, Ordering::AcqRel) {
                        return;
                    }
                }
            });
        }
    }

    /// The most recently used idle connection still open, if any.
    fn take_idle(&self) -> Option<TcpStream> {
        self.inner.prune();
        let mut idle = self.inner.idle.lock().ok()?;
        while let Some(conn) = idle.pop() {
            if is_open(&conn.stream) {
                return Some(conn.stream);
            }
        }
        None
    }

    async fn connect(&self) -> Result<TcpStream, SourceError> {
        let stream = TcpStream::connect((self.inner.host.as_str(), self.inner.port))
            .await
            .map_err(|e| SourceError::Unavailable(format!("cannot connect: {}", e.kind())))?;
        let _ = stream.set_nodelay(true);
        self.inner.opened.fetch_add(1, Ordering::Relaxed);
        Ok(stream)
    }
}

impl Inner {
    fn idle_count(&self) -> usize {
        self.idle.lock().map(|v| v.len()).unwrap_or(0)
    }

    /// Closes connections idle longer than the idle timeout.
    fn prune(&self) {
        if let Ok(mut idle) = self.idle.lock() {
            let timeout = self.idle_timeout;
            idle.retain(|c| c.since.elapsed() < timeout);
        }
    }
}

/// True when an idle connection is still open: nothing to read yet, or only
/// whitespace left over after the last frame (which is read and dropped).
fn is_open(stream: &TcpStream) -> bool {
    let mut buf = [0u8; 256];
    loop {
        match stream.try_read(&mut buf) {
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return true,
            Ok(0) | Err(_) => return false,
            Ok(n) => {
                if !buf[..n].iter().all(u8::is_ascii_whitespace) {
                    return false;
                }
            }
        }
    }
}

impl Lease {
    async fn round_trip(&mut self, frame: &[u8], max: usize) -> Result<Vec<u8>, Failure> {
        self.clean = false;
        self.stream.write_all(frame).await.map_err(|e| Failure {
            error: SourceError::Unavailable(format!("sending the query failed: {}", e.kind())),
            before_answer: true,
        })?;
        let mut deframer = Deframer::new(max);
        let mut buf = vec![0u8; READ_CHUNK];
        let mut received = 0usize;
        loop {
            let n = match self.stream.read(&mut buf).await {
                Ok(0) => {
                    let error = match deframer.finish() {
                        Err(MllpError::Truncated { .. }) => SourceError::Unavailable(
                            "the connection closed in the middle of the answer (truncated MLLP frame)"
                                .into(),
                        ),
                        _ => SourceError::Unavailable(
                            "the connection closed before an answer".into(),
                        ),
                    };
                    return Err(Failure {
                        error,
                        before_answer: received == 0,
                    });
                }
                Ok(n) => n,
                Err(e) => {
                    let while_ = if deframer.pending().is_some() {
                        "in the middle of the answer"
                    } else {
                        "before an answer"
                    };
                    return Err(Failure {
                        error: SourceError::Unavailable(format!(
                            "the connection failed {while_}: {}",
                            e.kind()
                        )),
                        before_answer: received == 0,
                    });
                }
            };
            received += n;
            deframer.push(&buf[..n]).map_err(|e| Failure {
                error: mllp_error(e),
                before_answer: false,
            })?;
            if let Some(answer) = deframer.next_frame() {
                // Anything after the frame (a second frame, garbage) means
                // the stream is out of step: the connection is not reused.
                self.clean = deframer.is_idle();
                return Ok(answer);
            }
        }
    }
}

fn mllp_error(e: MllpError) -> SourceError {
    match e {
        MllpError::TooLarge { limit } => SourceError::TooLarge { limit },
        other => SourceError::Malformed(other.to_string()),
    }
}
