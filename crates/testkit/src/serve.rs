//! Loopback test servers that answer what a test scripts: an HTTP server
//! ([`http`]), which also records every request it answered, and an MLLP
//! server ([`mllp`]), each on `127.0.0.1` at an ephemeral port, running
//! until the test's runtime ends. For tests of adapters and of the whole
//! gateway against a source that answers what the test says (a failure
//! shape per row of a table, pages that link back to the server) without
//! writing a server each time.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// The most a test server reads of one request body or MLLP frame.
const MAX_REQUEST_BYTES: usize = 4 << 20;

/// A listener on an ephemeral loopback port, and its address.
async fn listen() -> (TcpListener, SocketAddr) {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a loopback port");
    let addr = listener.local_addr().expect("a bound address");
    (listener, addr)
}

/// The most requests a [`Scripted`] server records for [`Scripted::asked`].
const MAX_RECORDED: usize = 4096;

/// One HTTP request, as the server saw it.
#[derive(Clone, Debug)]
pub struct Asked {
    /// The server's own origin, `http://127.0.0.1:{port}`, for answers
    /// that link back to it (a Bundle's `next` link, say).
    pub origin: String,
    /// The method.
    pub method: String,
    /// The path, percent-encoded as sent, e.g. `/fhir/Patient`.
    pub path: String,
    /// The query parameters, decoded, in order.
    pub query: Vec<(String, String)>,
    /// The headers, names in lower case.
    pub headers: Vec<(String, String)>,
    /// The body (empty when it was larger than the server reads).
    pub body: Vec<u8>,
}

impl Asked {
    /// The first value of query parameter `name`.
    pub fn q(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The first value of header `name` (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// What the HTTP server answers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Canned {
    /// The status code.
    pub status: u16,
    /// The `Content-Type`, if any.
    pub content_type: Option<String>,
    /// The body.
    pub body: Vec<u8>,
}

impl Canned {
    /// An answer of `status` with a body of `content_type`.
    pub fn new(status: u16, content_type: &str, body: impl Into<Vec<u8>>) -> Self {
        Self {
            status,
            content_type: Some(content_type.to_string()),
            body: body.into(),
        }
    }

    /// An answer of `status` with `value` as `application/fhir+json`.
    pub fn fhir(status: u16, value: &serde_json::Value) -> Self {
        Self::new(status, "application/fhir+json", value.to_string())
    }

    /// An answer of `status` with no body and no `Content-Type`.
    pub fn empty(status: u16) -> Self {
        Self {
            status,
            content_type: None,
            body: Vec::new(),
        }
    }
}

/// A running scripted HTTP server; it stops when the test's runtime does.
pub struct Scripted {
    /// Its address.
    pub addr: SocketAddr,
    asked: Arc<Mutex<Vec<Asked>>>,
    late: Arc<std::sync::atomic::AtomicUsize>,
}

impl Scripted {
    /// `http://{addr}`.
    pub fn origin(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every request answered so far (the first 4096), in order.
    pub fn asked(&self) -> Vec<Asked> {
        self.asked.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// For a server from [`http_gated`]: the answers the gate did not
    /// release, because fewer requests than it waits for had arrived when
    /// its wait ran out.
    pub fn late(&self) -> usize {
        self.late.load(std::sync::atomic::Ordering::SeqCst)
    }
}

/// The request as [`Asked`], its body read up to [`MAX_REQUEST_BYTES`].
async fn asked(req: Request<Incoming>, origin: String) -> Asked {
    let (parts, body) = req.into_parts();
    let body = Limited::new(body, MAX_REQUEST_BYTES)
        .collect()
        .await
        .map(|b| b.to_bytes().to_vec())
        .unwrap_or_default();
    Asked {
        origin,
        method: parts.method.to_string(),
        path: parts.uri.path().to_string(),
        query: url::form_urlencoded::parse(parts.uri.query().unwrap_or("").as_bytes())
            .into_owned()
            .collect(),
        headers: parts
            .headers
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect(),
        body,
    }
}

/// `canned` as a response.
fn response(canned: Canned) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(canned.body)));
    *response.status_mut() = hyper::StatusCode::from_u16(canned.status)
        .unwrap_or(hyper::StatusCode::INTERNAL_SERVER_ERROR);
    if let Some(ct) = canned
        .content_type
        .and_then(|c| hyper::header::HeaderValue::from_str(&c).ok())
    {
        response
            .headers_mut()
            .insert(hyper::header::CONTENT_TYPE, ct);
    }
    response
}

/// An HTTP/1.1 server (HTTP/2 too) answering every request with what
/// `answer` says, and recording each request for [`Scripted::asked`].
pub async fn http(answer: impl Fn(&Asked) -> Canned + Send + Sync + 'static) -> Scripted {
    http_gated(0, std::time::Duration::ZERO, answer).await
}

/// As [`http`], but holding every answer until `gate` requests have
/// arrived in all, or `wait` has passed (then it counts in
/// [`Scripted::late`]): requests a client sends at once are all answered;
/// one it sends only after another's answer makes that one late. A test
/// of "one wave" asserts no answer was late; the wait only bounds a
/// failing test.
pub async fn http_gated(
    gate: usize,
    wait: std::time::Duration,
    answer: impl Fn(&Asked) -> Canned + Send + Sync + 'static,
) -> Scripted {
    let (arrived, _) = tokio::sync::watch::channel(0usize);
    let arrived = Arc::new(arrived);
    let late = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let gate_late = Arc::clone(&late);
    let gated = move |asked: Asked| {
        let (arrived, late) = (Arc::clone(&arrived), Arc::clone(&gate_late));
        async move {
            arrived.send_modify(|n| *n += 1);
            let mut rx = arrived.subscribe();
            if gate > 0
                && tokio::time::timeout(wait, rx.wait_for(|n| *n >= gate))
                    .await
                    .is_err()
            {
                late.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            }
            asked
        }
    };
    let gated = Arc::new(gated);
    let (listener, addr) = listen().await;
    let origin = format!("http://{addr}");
    let answer = Arc::new(answer);
    let recorded = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&recorded);
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let (answer, log, origin, gated) = (
                Arc::clone(&answer),
                Arc::clone(&log),
                origin.clone(),
                Arc::clone(&gated),
            );
            tokio::spawn(async move {
                let service = service_fn(move |req: Request<Incoming>| {
                    let (answer, log, origin, gated) = (
                        Arc::clone(&answer),
                        Arc::clone(&log),
                        origin.clone(),
                        Arc::clone(&gated),
                    );
                    async move {
                        let asked = gated(asked(req, origin).await).await;
                        let canned = answer(&asked);
                        let mut log = log.lock().unwrap_or_else(|e| e.into_inner());
                        if log.len() < MAX_RECORDED {
                            log.push(asked);
                        }
                        Ok::<_, Infallible>(response(canned))
                    }
                });
                let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    Scripted {
        addr,
        asked: recorded,
        late,
    }
}

/// MLLP's start of block.
const SB: u8 = 0x0b;
/// MLLP's end of block.
const EB: u8 = 0x1c;
/// The carriage return after the end of block.
const CR: u8 = 0x0d;

/// An MLLP server answering each framed message with the message `answer`
/// returns for it (both unframed), on the same connection; returns its
/// address.
pub async fn mllp(answer: impl Fn(&[u8]) -> Vec<u8> + Send + Sync + 'static) -> SocketAddr {
    let (listener, addr) = listen().await;
    let answer = Arc::new(answer);
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            let answer = Arc::clone(&answer);
            tokio::spawn(async move {
                let mut pending: Vec<u8> = Vec::new();
                let mut buf = [0u8; 8192];
                loop {
                    let n = match sock.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => n,
                    };
                    pending.extend_from_slice(&buf[..n]);
                    if pending.len() > MAX_REQUEST_BYTES {
                        return;
                    }
                    while let Some(end) = pending.windows(2).position(|w| w == [EB, CR]) {
                        let frame: Vec<u8> = pending.drain(..end + 2).collect();
                        let start = frame.iter().position(|b| *b == SB).map_or(0, |i| i + 1);
                        let reply = answer(&frame[start..end]);
                        let mut out = Vec::with_capacity(reply.len() + 3);
                        out.push(SB);
                        out.extend_from_slice(&reply);
                        out.extend_from_slice(&[EB, CR]);
                        if sock.write_all(&out).await.is_err() {
                            return;
                        }
                    }
                }
            });
        }
    });
    addr
}
