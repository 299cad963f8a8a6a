use super::connection::serve_io;
use super::*;
use http_body_util::Full;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _, DuplexStream};

const SECOND: Duration = Duration::from_secs(1);

pub(super) fn limits() -> ConnectionLimits {
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
