//! Answers as they are written: chunked hand-over, the bytes each holds
//! from the budgets until written or abandoned, and HTTP/2 streams reset
//! when their answer stalls.

use super::*;

/// What a body of `len` bytes is counted as holding: twice its length, the
/// most a buffer grown by doubling as it was rendered can hold.
pub(super) fn held_bytes(len: u64) -> u64 {
    len.saturating_mul(2)
}

/// `resp` as it is written: its body handed over in chunks, holding its
/// request's place, its reservation and what the route asked to be held
/// until written or abandoned. HEAD's answer keeps the length and drops
/// the body.
pub(super) fn sending(
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
pub(super) struct Active(pub(super) Arc<Conn>);

impl Active {
    pub(super) fn begin(conn: &Arc<Conn>) -> Self {
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
pub(super) struct Reservation {
    pub(super) shared: Arc<Shared>,
    pub(super) conn: Arc<Conn>,
    pub(super) bytes: u64,
}

impl Reservation {
    /// `bytes` from `conn`'s budget and the gateway's, if they allow it.
    pub(super) fn take(shared: &Arc<Shared>, conn: &Arc<Conn>, bytes: u64) -> Option<Self> {
        shared.grow(conn, 0, bytes).then(|| Self {
            shared: Arc::clone(shared),
            conn: Arc::clone(conn),
            bytes,
        })
    }

    /// Makes the reservation `bytes`; false, and unchanged, when the
    /// budgets do not allow the growth.
    pub(super) fn resize(&mut self, bytes: u64) -> bool {
        if bytes <= self.bytes {
            self.release(self.bytes - bytes);
        } else if !self.shared.grow(&self.conn, self.bytes, bytes - self.bytes) {
            return false;
        }
        self.bytes = bytes;
        true
    }

    pub(super) fn release(&self, bytes: u64) {
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
pub(super) struct Sending {
    pub(super) rest: Bytes,
    pub(super) _active: Active,
    pub(super) _reservation: Option<Reservation>,
    pub(super) _held: Option<HeldUntilSent>,
    pub(super) stream: Option<Arc<StreamProgress>>,
}

impl Sending {
    pub(super) fn new(
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
    pub(super) static STREAM: Arc<StreamProgress>;
}

/// When an HTTP/2 stream's answer last made progress (`None`: its handler
/// is still making it).
#[derive(Debug, Default)]
pub(super) struct StreamProgress {
    pub(super) last: Mutex<Option<Instant>>,
}

impl StreamProgress {
    pub(super) fn progressed(&self) {
        *lock(&self.last) = Some(Instant::now());
    }

    pub(super) fn last(&self) -> Option<Instant> {
        *lock(&self.last)
    }

    /// Resolves once the answer has made no progress for `stall`.
    pub(super) async fn stalled(&self, stall: Duration) {
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
pub(super) struct StreamExecutor {
    pub(super) stall_timeout: Duration,
    pub(super) stats: Arc<Stats>,
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
