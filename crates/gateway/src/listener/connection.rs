//! One connection, from the TLS handshake to its close: the supervisor
//! that closes it when due (request, idle and stall timeouts, eviction,
//! shutdown), and each request's admission against the budgets.

use super::*;

/// One accepted connection, from the TLS handshake (if any) to its close.
pub(super) async fn connection<H: Handler>(
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
    pub(super) idle_since: Instant,
    pub(super) activity: Activity,
    /// Since when the socket has refused to take more bytes, if it has.
    pub(super) write_blocked_since: Option<Instant>,
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
pub(super) async fn serve_io<I, H>(
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
        return Ok(sending(crate::respond::shed(), head, active, None, stream));
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
        return Ok(sending(crate::respond::shed(), head, active, None, stream));
    }
    Ok(sending(resp, head, active, Some(reservation), stream))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::listener::tests::limits;

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
}
