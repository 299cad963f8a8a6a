//! What the supervisor learns from a connection's socket.

use super::*;

/// What the supervisor learns from a connection's socket.
#[derive(Debug)]
pub(super) struct IoState {
    pub(super) base: Instant,
    /// Whether the peer ever sent a byte.
    pub(super) ever_read: AtomicBool,
    /// Nanoseconds after `base`, plus one, since when writes have been
    /// refused; 0 when they are not.
    pub(super) write_blocked: AtomicU64,
    /// Signalled when writes start being refused.
    pub(super) changed: Notify,
}

impl IoState {
    pub(super) fn new(base: Instant) -> Self {
        Self {
            base,
            ever_read: AtomicBool::new(false),
            write_blocked: AtomicU64::new(0),
            changed: Notify::new(),
        }
    }

    pub(super) fn write_blocked_since(&self) -> Option<Instant> {
        match self.write_blocked.load(Ordering::Acquire) {
            0 => None,
            n => Some(self.base + Duration::from_nanos(n - 1)),
        }
    }

    pub(super) fn wrote<T>(&self, result: &Poll<io::Result<T>>, progress: impl Fn(&T) -> bool) {
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
pub(super) struct WatchedIo<I> {
    pub(super) inner: I,
    pub(super) state: Arc<IoState>,
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
