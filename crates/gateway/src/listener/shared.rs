//! What every connection of one listener shares: the open connections,
//! their places and eviction, the unwritten-answer budgets, the counters.

use super::*;

/// Counters for `/metrics`.
#[derive(Debug, Default)]
pub(super) struct Stats {
    pub(super) accepted: AtomicU64,
    pub(super) refused: AtomicU64,
    pub(super) evicted: AtomicU64,
    pub(super) timed_out_request: AtomicU64,
    pub(super) timed_out_idle: AtomicU64,
    pub(super) stalled_connections: AtomicU64,
    pub(super) accept_errors: AtomicU64,
    pub(super) stalled_responses: AtomicU64,
    pub(super) refused_responses: AtomicU64,
}

/// What every connection of one listener shares.
pub(super) struct Shared {
    pub(super) limits: ConnectionLimits,
    /// A permit per open connection (held until its socket is closed).
    pub(super) permits: Arc<Semaphore>,
    /// Open connections that may be evicted, by accept order (ids only
    /// grow); an evicted one leaves at once, its permit when it is closed.
    pub(super) open: Mutex<BTreeMap<u64, Arc<Conn>>>,
    pub(super) next_id: AtomicU64,
    /// Bytes of answers not yet written, across connections.
    pub(super) unsent: AtomicU64,
    pub(super) stats: Arc<Stats>,
}

/// One connection's state, shared by its task, its requests' answers and
/// the accept loop (which may evict it).
pub(super) struct Conn {
    pub(super) accepted: Instant,
    /// Answers in progress and answers finished; the supervisor watches it.
    pub(super) activity: watch::Sender<Activity>,
    /// Bytes of this connection's answers not yet written.
    pub(super) unsent: AtomicU64,
    /// What its next request is guessed to hold ([`Shared::guess`]).
    pub(super) guess: AtomicU64,
    pub(super) io: Arc<IoState>,
    pub(super) evict: Notify,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct Activity {
    /// Requests whose answer is being made or written.
    pub(super) active: u32,
    /// Requests finished (answered, or abandoned by either side).
    pub(super) served: u64,
}

impl Conn {
    pub(super) fn is_idle(&self) -> bool {
        self.activity.borrow().active == 0
    }
}

/// A connection's place among the open ones, given up when dropped (after
/// its socket: see [`connection`]).
pub(super) struct Slot {
    pub(super) shared: Arc<Shared>,
    pub(super) id: u64,
    pub(super) conn: Arc<Conn>,
    pub(super) _permit: OwnedSemaphorePermit,
}

impl Drop for Slot {
    fn drop(&mut self) {
        lock(&self.shared.open).remove(&self.id);
    }
}

impl Shared {
    pub(super) fn new(limits: ConnectionLimits) -> Self {
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
    pub(super) async fn admit_connection(self: &Arc<Self>) -> Option<Slot> {
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
    pub(super) fn evict_idle(&self) -> bool {
        let evicted = evict_one(&mut lock(&self.open));
        if evicted {
            bump(&self.stats.evicted);
        }
        evicted
    }

    /// Connections open now (evicted ones until they are closed).
    pub(super) fn open_now(&self) -> usize {
        self.limits
            .max_open
            .saturating_sub(self.permits.available_permits())
    }

    /// Adds `by` bytes to what `conn` holds from the unwritten-answer
    /// budgets, `own` of which are already the caller's: a connection
    /// holding nothing else always may; one holding more, only within its
    /// own budget and the gateway's. Whether it was added.
    pub(super) fn grow(&self, conn: &Conn, own: u64, by: u64) -> bool {
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
    pub(super) fn guess(&self, conn: &Conn, bytes: u64) {
        let most =
            self.limits.max_unsent_per_connection / u64::from(self.limits.h2_max_streams.max(1));
        conn.guess
            .store(bytes.min(most).max(PROVISIONAL), Ordering::Relaxed);
    }

    /// The HTTP/1.1 and HTTP/2 settings every connection is served with.
    pub(super) fn builder(&self) -> auto::Builder<StreamExecutor> {
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
