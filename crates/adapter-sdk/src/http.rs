//! The HTTP client every HTTP adapter shares: connection pooling, a
//! deadline on the whole exchange (body included), gzip asked for and
//! decoded (also when a server sends it unasked), a cap on the decoded
//! body's size, no redirects, and errors mapped to [`SourceError`] without
//! URLs (which can carry NHS numbers).

use std::time::Duration;

use bytes::{Bytes, BytesMut};
use tokio::time::Instant;

use crate::{BuildError, SourceError, SourceSpec};

/// A response read in full, within the size limit.
#[derive(Debug, Clone)]
pub struct HttpResponse {
    /// The HTTP status code.
    pub status: u16,
    /// The `Content-Type` header, if any.
    pub content_type: Option<String>,
    /// The body.
    pub body: Bytes,
}

impl HttpResponse {
    /// True for 2xx.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// A pooled HTTP client bound to one source's limits.
#[derive(Clone, Debug)]
pub struct HttpSource {
    client: reqwest::Client,
    max_body_bytes: usize,
}

impl HttpSource {
    /// Builds the client for `spec`: connect timeout bounded by the source's
    /// timeout, keep-alive pool, no redirects, rustls.
    pub fn new(spec: &SourceSpec) -> Result<Self, BuildError> {
        let mut builder = reqwest::Client::builder();
        if let Some(tls) = &spec.tls {
            builder = with_tls(builder, tls)?;
        }
        let timeout = Duration::from_millis(spec.timeout_ms);
        Self::built(
            builder,
            timeout,
            idle_connections(spec),
            spec.max_body_bytes,
        )
    }

    /// A client for an HTTP lookup that is not a registered source (the
    /// gateway's record-location index): no client certificate, the same
    /// bounds on connecting, redirects and the body.
    pub fn plain(timeout: Duration, max_body_bytes: usize) -> Result<Self, BuildError> {
        Self::built(
            reqwest::Client::builder(),
            timeout,
            REQUESTS_PER_CALL,
            max_body_bytes,
        )
    }

    fn built(
        builder: reqwest::ClientBuilder,
        timeout: Duration,
        idle: usize,
        max_body_bytes: usize,
    ) -> Result<Self, BuildError> {
        let client = builder
            .connect_timeout(timeout.min(Duration::from_secs(5)))
            .pool_idle_timeout(Duration::from_secs(60))
            .pool_max_idle_per_host(idle)
            .tcp_nodelay(true)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("icr-gateway/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| BuildError::Option {
                key: "endpoint".into(),
                message: format!("cannot build an HTTP client: {}", describe(&e)),
            })?;
        Ok(Self {
            client,
            max_body_bytes,
        })
    }

    /// The underlying client, to build requests (`client().post(url)`).
    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }

    /// The body size limit in bytes.
    pub fn max_body_bytes(&self) -> usize {
        self.max_body_bytes
    }

    /// Sends `request` and reads the whole body by `deadline`. `what` names
    /// the request in errors (e.g. `AllergyIntolerance search`).
    pub async fn send(
        &self,
        request: reqwest::RequestBuilder,
        deadline: Instant,
        what: &str,
    ) -> Result<HttpResponse, SourceError> {
        let started = Instant::now();
        let request = with_trace_context(request);
        match tokio::time::timeout_at(deadline, self.exchange(request, what)).await {
            Ok(result) => result,
            Err(_) => Err(SourceError::Timeout {
                after_ms: started.elapsed().as_millis() as u64,
            }),
        }
    }

    /// `GET url` with an `Accept` header, read by `deadline`.
    pub async fn get(
        &self,
        url: url::Url,
        accept: &str,
        deadline: Instant,
        what: &str,
    ) -> Result<HttpResponse, SourceError> {
        let request = self.client.get(url).header(reqwest::header::ACCEPT, accept);
        self.send(request, deadline, what).await
    }

    async fn exchange(
        &self,
        request: reqwest::RequestBuilder,
        what: &str,
    ) -> Result<HttpResponse, SourceError> {
        let mut response = request.send().await.map_err(|e| map_error(e, what))?;
        let limit = self.max_body_bytes;
        if response.content_length().is_some_and(|n| n > limit as u64) {
            return Err(SourceError::TooLarge { limit });
        }
        // gzip is decoded on the way in (and the header removed); what is
        // left is gzip spelt another way (`GZIP`, `x-gzip`), decoded here,
        // or an encoding that would otherwise be read as garbage.
        let encoding = response
            .headers()
            .get(reqwest::header::CONTENT_ENCODING)
            .map(|v| {
                String::from_utf8_lossy(v.as_bytes())
                    .trim()
                    .to_ascii_lowercase()
            })
            .filter(|e| !e.is_empty() && e != "identity");
        let gunzip = match encoding.as_deref() {
            None => false,
            Some("gzip" | "x-gzip") => true,
            Some(other) => {
                let shown: String = other.chars().take(20).collect();
                return Err(SourceError::Malformed(format!(
                    "{what}: the answer is encoded as {shown:?}, which the gateway cannot decode (it asks for gzip)"
                )));
            }
        };
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let mut body = BytesMut::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| map_error(e, what))? {
            if body.len() + chunk.len() > limit {
                return Err(SourceError::TooLarge { limit });
            }
            body.extend_from_slice(&chunk);
        }
        let body = if gunzip {
            gunzip_bounded(&body, limit, what)?
        } else {
            body.freeze()
        };
        Ok(HttpResponse {
            status,
            content_type,
            body,
        })
    }
}

/// Decodes a gzip body the client's own decoder left alone, reading at most
/// `limit` decoded bytes.
fn gunzip_bounded(body: &[u8], limit: usize, what: &str) -> Result<Bytes, SourceError> {
    use std::io::Read as _;
    let mut out = Vec::new();
    let read = flate2::read::MultiGzDecoder::new(body)
        .take(limit as u64 + 1)
        .read_to_end(&mut out);
    match read {
        Ok(_) if out.len() > limit => Err(SourceError::TooLarge { limit }),
        Ok(_) => Ok(Bytes::from(out)),
        Err(_) => Err(SourceError::Malformed(format!(
            "{what}: the answer says it is gzip but cannot be decoded"
        ))),
    }
}

/// Adds the W3C `traceparent` (and `tracestate`) of the current span, so a
/// source's own traces join the gateway's. Nothing is added when tracing
/// export is off (the global propagator is then a no-op).
/// Idle connections kept open to a source: as many as its busiest moment
/// uses — every call the bulkhead admits, each running up to
/// [`REQUESTS_PER_CALL`] requests at once — so that bursts reuse
/// connections instead of opening and closing them (a smaller pool closed
/// the excess after every burst: a new TCP connection for most requests
/// under load). Never fewer than 64.
fn idle_connections(spec: &SourceSpec) -> usize {
    (spec.resilience.max_concurrent as usize)
        .saturating_mul(REQUESTS_PER_CALL)
        .max(64)
}

/// Requests one source call usually runs at once (the FHIR adapter's
/// default search concurrency).
const REQUESTS_PER_CALL: usize = 8;

fn with_trace_context(request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
    use tracing_opentelemetry::OpenTelemetrySpanExt as _;
    struct Headers(Vec<(String, String)>);
    impl opentelemetry::propagation::Injector for Headers {
        fn set(&mut self, key: &str, value: String) {
            self.0.push((key.to_owned(), value));
        }
    }
    let context = tracing::Span::current().context();
    let mut headers = Headers(Vec::new());
    opentelemetry::global::get_text_map_propagator(|p| p.inject_context(&context, &mut headers));
    headers
        .0
        .into_iter()
        .fold(request, |r, (k, v)| r.header(k, v))
}

/// The source's `[tls]`: its own CA as the only trust, and the gateway's
/// client certificate. Every problem names its key.
fn with_tls(
    builder: reqwest::ClientBuilder,
    tls: &crate::SourceTls,
) -> Result<reqwest::ClientBuilder, BuildError> {
    let bad = |key: &str, path: &std::path::Path, why: String| BuildError::Option {
        key: key.into(),
        message: format!("{}: {why}", path.display()),
    };
    let mut builder = builder;
    if let Some(ca) = &tls.ca {
        let pem = std::fs::read(ca).map_err(|e| bad("tls.ca", ca, e.to_string()))?;
        let certs = reqwest::Certificate::from_pem_bundle(&pem)
            .map_err(|e| bad("tls.ca", ca, describe(&e)))?;
        if certs.is_empty() {
            return Err(bad("tls.ca", ca, "no certificate in the file".into()));
        }
        builder = builder.tls_certs_only(certs);
    }
    if let (Some(cert), Some(key)) = (&tls.cert, &tls.key) {
        let mut pem = std::fs::read(cert).map_err(|e| bad("tls.cert", cert, e.to_string()))?;
        pem.push(b'\n');
        pem.extend(std::fs::read(key).map_err(|e| bad("tls.key", key, e.to_string()))?);
        let identity =
            reqwest::Identity::from_pem(&pem).map_err(|e| bad("tls.cert", cert, describe(&e)))?;
        builder = builder.identity(identity);
    }
    Ok(builder)
}

fn map_error(e: reqwest::Error, what: &str) -> SourceError {
    if e.is_timeout() {
        return SourceError::Timeout { after_ms: 0 };
    }
    let detail = describe(&e);
    if e.is_connect() {
        SourceError::Unavailable(format!("{what}: cannot connect: {detail}"))
    } else if e.is_body() || e.is_decode() {
        SourceError::Unavailable(format!("{what}: connection failed while reading: {detail}"))
    } else {
        SourceError::Unavailable(format!("{what}: {detail}"))
    }
}

/// The error and its causes, with any URL removed.
fn describe(e: &reqwest::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut current: Option<&dyn std::error::Error> = Some(e);
    while let Some(err) = current {
        let text = err.to_string();
        // reqwest puts the URL in its own message; skip any text carrying one.
        if !text.contains("://") && !parts.iter().any(|p| p == &text) {
            parts.push(text);
        }
        current = err.source();
    }
    if parts.is_empty() {
        "request failed".to_string()
    } else {
        parts.join(": ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    fn spec(endpoint: &str, max: usize) -> SourceSpec {
        toml::from_str(&format!(
            r#"id = "t"
organisation = "Test"
ods_code = "ABC"
kind = "x"
endpoint = "{endpoint}"
sections = ["allergies"]
max_body_bytes = {max}
"#
        ))
        .unwrap()
    }

    /// Serves `reply` to every connection, after `delay`.
    async fn serve(reply: &'static [u8], delay: Duration) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            loop {
                let Ok((mut sock, _)) = listener.accept().await else {
                    return;
                };
                tokio::spawn(async move {
                    let mut buf = [0u8; 4096];
                    let _ = sock.read(&mut buf).await;
                    tokio::time::sleep(delay).await;
                    let _ = sock.write_all(reply).await;
                    let _ = sock.shutdown().await;
                });
            }
        });
        format!("http://{addr}/")
    }

    #[tokio::test]
    async fn reads_body_within_limit() {
        let url = serve(b"HTTP/1.1 200 OK\r\ncontent-type: application/fhir+json\r\ncontent-length: 2\r\n\r\n{}", Duration::ZERO).await;
        let http = HttpSource::new(&spec(&url, 1024)).unwrap();
        let r = http
            .get(
                url.parse().unwrap(),
                "application/json",
                Instant::now() + Duration::from_secs(5),
                "test",
            )
            .await
            .unwrap();
        assert_eq!(r.status, 200);
        assert_eq!(&r.body[..], b"{}");
        assert_eq!(r.content_type.as_deref(), Some("application/fhir+json"));
    }

    #[tokio::test]
    async fn refuses_declared_and_undeclared_oversize() {
        let declared = serve(
            b"HTTP/1.1 200 OK\r\ncontent-length: 5000\r\n\r\n",
            Duration::ZERO,
        )
        .await;
        let http = HttpSource::new(&spec(&declared, 1024)).unwrap();
        let err = http
            .get(
                declared.parse().unwrap(),
                "*/*",
                Instant::now() + Duration::from_secs(5),
                "test",
            )
            .await
            .unwrap_err();
        assert_eq!(err, SourceError::TooLarge { limit: 1024 });

        static BIG: std::sync::LazyLock<&'static [u8]> = std::sync::LazyLock::new(|| {
            let mut v = b"HTTP/1.1 200 OK\r\nconnection: close\r\n\r\n".to_vec();
            v.extend(std::iter::repeat_n(b'x', 4096));
            Box::leak(v.into_boxed_slice())
        });
        let chunked = serve(&BIG, Duration::ZERO).await;
        let err = http
            .get(
                chunked.parse().unwrap(),
                "*/*",
                Instant::now() + Duration::from_secs(5),
                "test",
            )
            .await
            .unwrap_err();
        assert_eq!(err, SourceError::TooLarge { limit: 1024 });
    }

    fn gzip(data: &[u8]) -> Vec<u8> {
        use std::io::Write as _;
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    /// Serves `body` with `content-encoding: {encoding}` whatever was
    /// asked, and sends back the request's `accept-encoding`.
    async fn serve_encoded(
        encoding: &'static str,
        body: Vec<u8>,
    ) -> (String, tokio::sync::mpsc::Receiver<String>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = tokio::sync::mpsc::channel(4);
        tokio::spawn(async move {
            loop {
                let Ok((mut sock, _)) = listener.accept().await else {
                    return;
                };
                let body = body.clone();
                let tx = tx.clone();
                tokio::spawn(async move {
                    let mut buf = vec![0u8; 8192];
                    let n = sock.read(&mut buf).await.unwrap_or(0);
                    let head = String::from_utf8_lossy(&buf[..n]).to_ascii_lowercase();
                    let asked = head
                        .lines()
                        .find_map(|l| l.strip_prefix("accept-encoding:"))
                        .unwrap_or("")
                        .trim()
                        .to_string();
                    let _ = tx.send(asked).await;
                    let head = format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: application/fhir+json\r\ncontent-encoding: {encoding}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                        body.len()
                    );
                    let _ = sock.write_all(head.as_bytes()).await;
                    let _ = sock.write_all(&body).await;
                    let _ = sock.shutdown().await;
                });
            }
        });
        (format!("http://{addr}/"), rx)
    }

    async fn get(url: &str, limit: usize) -> Result<HttpResponse, SourceError> {
        HttpSource::new(&spec(url, limit))
            .unwrap()
            .get(
                url.parse().unwrap(),
                "application/fhir+json",
                Instant::now() + Duration::from_secs(5),
                "Patient search",
            )
            .await
    }

    #[tokio::test]
    async fn asks_for_gzip_and_decodes_it_asked_or_not() {
        let json = br#"{"resourceType":"Bundle","type":"searchset","total":0}"#;
        let (url, mut asked) = serve_encoded("gzip", gzip(json)).await;
        let r = get(&url, 1024).await.unwrap();
        assert_eq!(&r.body[..], &json[..]);
        assert_eq!(asked.recv().await.unwrap(), "gzip");

        // A server that gzips though nobody asked (the gateway always
        // asks; the header is what a server sees): the same bytes come out.
        let (url, _) = serve_encoded("GZIP", gzip(json)).await;
        let r = get(&url, 1024).await.unwrap();
        assert_eq!(&r.body[..], &json[..]);
    }

    #[tokio::test]
    async fn the_body_limit_applies_to_the_decoded_bytes() {
        // 1 MiB of spaces compresses to about a kilobyte: under the limit
        // on the wire, far over it decoded.
        let bomb = gzip(&vec![b' '; 1024 * 1024]);
        assert!(bomb.len() < 8 * 1024, "{}", bomb.len());
        for encoding in ["gzip", "x-gzip"] {
            let (url, _) = serve_encoded(encoding, bomb.clone()).await;
            let err = get(&url, 64 * 1024).await.unwrap_err();
            assert_eq!(
                err,
                SourceError::TooLarge { limit: 64 * 1024 },
                "{encoding}"
            );
        }
    }

    #[tokio::test]
    async fn an_encoding_it_cannot_decode_is_named_not_read_as_garbage() {
        let (url, _) = serve_encoded("br", b"\x1b\x00\x00".to_vec()).await;
        let err = get(&url, 1024).await.unwrap_err();
        assert_eq!(
            err,
            SourceError::Malformed(
                "Patient search: the answer is encoded as \"br\", which the gateway cannot decode (it asks for gzip)".into()
            )
        );
    }

    #[tokio::test]
    async fn deadline_covers_the_whole_exchange() {
        let url = serve(
            b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}",
            Duration::from_secs(5),
        )
        .await;
        let http = HttpSource::new(&spec(&url, 1024)).unwrap();
        let started = std::time::Instant::now();
        let err = http
            .get(
                url.parse().unwrap(),
                "*/*",
                Instant::now() + Duration::from_millis(150),
                "test",
            )
            .await
            .unwrap_err();
        assert!(matches!(err, SourceError::Timeout { .. }), "{err:?}");
        assert!(started.elapsed() < Duration::from_secs(2));
    }

    #[tokio::test]
    async fn connection_refused_is_unavailable_without_url() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener);
        let url = format!(
            "http://{addr}/Patient?identifier=https://fhir.nhs.uk/Id/nhs-number|9434765919"
        );
        let http = HttpSource::new(&spec(&format!("http://{addr}/"), 1024)).unwrap();
        let err = http
            .get(
                url.parse().unwrap(),
                "*/*",
                Instant::now() + Duration::from_secs(5),
                "Patient search",
            )
            .await
            .unwrap_err();
        let SourceError::Unavailable(msg) = &err else {
            panic!("{err:?}")
        };
        assert!(msg.starts_with("Patient search: cannot connect"), "{msg}");
        assert!(!msg.contains("9434765919"), "{msg}");
    }
}
