//! The connection layer: the accept loop, each connection's HTTP/1.1 or
//! HTTP/2 session (over TLS when configured, the handshake bounded), and
//! graceful drain at shutdown. What a request means is the routes'
//! business ([`crate::server`]); this module only hands requests over.

use std::convert::Infallible;
use std::future::Future;
use std::time::Duration;

use http::Request;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;

use crate::server::Resp;

/// How long in-flight requests may take to finish after shutdown begins.
const DRAIN: Duration = Duration::from_secs(10);

/// What answers each request a connection carries.
pub(crate) trait Handler: Clone + Send + Sync + 'static {
    /// The answer to one request.
    fn call(&self, req: Request<Incoming>) -> impl Future<Output = Resp> + Send + use<Self>;
}

/// The calling system's identity from its TLS client certificate, carried
/// in each request's extensions.
#[derive(Clone, Debug)]
pub(crate) struct CallingSystem(pub(crate) std::sync::Arc<str>);

/// Accepts connections on `listener` (TLS when `tls` is given) and serves
/// their requests with `handler` until `shutdown` resolves; then stops
/// accepting and lets in-flight requests finish (for at most [`DRAIN`]).
pub(crate) async fn serve_with<H: Handler>(
    listener: TcpListener,
    tls: Option<icr_tls::ServerTls>,
    handler: H,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let graceful = GracefulShutdown::new();
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(Duration::from_secs(10))
        .max_buf_size(64 * 1024);
    builder.http2().max_concurrent_streams(256);
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, _) = match accepted {
                    Ok(a) => a,
                    Err(e) => {
                        // Too many open files and the like: back off, keep serving.
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                let handler = handler.clone();
                let builder = builder.clone();
                let watcher = graceful.watcher();
                match tls.clone() {
                    None => {
                        tokio::spawn(serve_connection(builder, watcher, TokioIo::new(stream), handler, None));
                    }
                    Some(tls) => {
                        tokio::spawn(async move {
                            match tls.accept(stream).await {
                                Ok((stream, peer)) => {
                                    let peer = peer.map(|p| CallingSystem(p.subject.into()));
                                    serve_connection(builder, watcher, TokioIo::new(stream), handler, peer).await;
                                }
                                // The peer's address and certificate are not
                                // patient data; the failure is for operators.
                                Err(e) => tracing::info!(error = %e, "TLS connection refused"),
                            }
                        });
                    }
                }
            }
            () = &mut shutdown => break,
        }
    }
    drop(listener);
    if tokio::time::timeout(DRAIN, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("in-flight requests did not finish within the drain time");
    }
    Ok(())
}

/// Serves one connection's requests, tracked for graceful shutdown.
async fn serve_connection<I, H: Handler>(
    builder: auto::Builder<TokioExecutor>,
    watcher: hyper_util::server::graceful::Watcher,
    io: TokioIo<I>,
    handler: H,
    peer: Option<CallingSystem>,
) where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(move |mut req: Request<Incoming>| {
        if let Some(p) = &peer {
            req.extensions_mut().insert(p.clone());
        }
        let answer = handler.call(req);
        async move { Ok::<_, Infallible>(answer.await) }
    });
    let conn = builder.serve_connection_with_upgrades(io, service);
    let _ = watcher.watch(conn.into_owned()).await;
}
