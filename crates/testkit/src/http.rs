//! A scripted HTTP/1.1 server on a loopback port: each request is answered
//! by a function of its path and query, and every request is recorded.
//! For tests of adapters and of the whole gateway against a source that
//! answers what the test says.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::Full;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

/// One request as the server saw it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Asked {
    /// The path, e.g. `/fhir/Patient`.
    pub path: String,
    /// The decoded query parameters, in order.
    pub query: Vec<(String, String)>,
}

impl Asked {
    /// The first value of query parameter `name`.
    pub fn q(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// An answer: status, `Content-Type` and body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Answer {
    /// The HTTP status.
    pub status: u16,
    /// The `Content-Type` header.
    pub content_type: &'static str,
    /// The body.
    pub body: Vec<u8>,
}

impl Answer {
    /// `status` with a FHIR JSON body.
    pub fn fhir(status: u16, body: &serde_json::Value) -> Self {
        Self {
            status,
            content_type: "application/fhir+json",
            body: body.to_string().into_bytes(),
        }
    }
}

/// A running scripted server; it stops when the test's runtime does.
pub struct Scripted {
    /// Its address.
    pub addr: SocketAddr,
    asked: Arc<Mutex<Vec<Asked>>>,
}

impl Scripted {
    /// `http://{addr}`.
    pub fn origin(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every request seen so far, in order.
    pub fn asked(&self) -> Vec<Asked> {
        self.asked.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

/// Serves `answer(request, origin)` on a loopback port, where `origin` is
/// `http://127.0.0.1:{port}` (for links back to the server).
pub async fn serve(answer: impl Fn(&Asked, &str) -> Answer + Send + Sync + 'static) -> Scripted {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a loopback port");
    let addr = listener.local_addr().expect("a bound address");
    let origin = format!("http://{addr}");
    let asked = Arc::new(Mutex::new(Vec::new()));
    let answer = Arc::new(answer);
    let log = Arc::clone(&asked);
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let (log, answer, origin) = (Arc::clone(&log), Arc::clone(&answer), origin.clone());
            tokio::spawn(async move {
                let service = service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                    let query = req.uri().query().unwrap_or("");
                    let asked = Asked {
                        path: req.uri().path().to_string(),
                        query: url::form_urlencoded::parse(query.as_bytes())
                            .into_owned()
                            .collect(),
                    };
                    log.lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .push(asked.clone());
                    let a = answer(&asked, &origin);
                    let response = hyper::Response::builder()
                        .status(a.status)
                        .header("content-type", a.content_type)
                        .body(Full::new(Bytes::from(a.body)));
                    async move { Ok::<_, Infallible>(response.unwrap_or_default()) }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    Scripted { addr, asked }
}
