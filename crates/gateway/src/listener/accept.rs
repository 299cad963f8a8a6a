//! Binding and the accept loop: admission at the connection cap, pauses
//! when out of file descriptors, graceful drain at shutdown.

use super::*;

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
    pub(super) last: Option<Duration>,
}

impl AcceptPause {
    /// How long to pause after `e`; `None` for an error that concerns
    /// only the connection being accepted (try the next one at once).
    pub(super) fn after(&mut self, e: &io::Error) -> Option<Duration> {
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
    pub(super) fn reset(&mut self) {
        if self.last.take().is_some() {
            tracing::info!("accepting connections again");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
